/* test_keys.c: key files, signing, CURVE conversion, SHA-256 and hex. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "peerwatt/keys.h"

/* RFC 8032 section 7.1, TEST 1 (empty message). */
static const char rfc_seed[] = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char rfc_pk[] = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
static const char rfc_sig[] = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                              "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

struct tmpdir {
	char path[256];
};

static int
setup_dir(void **state)
{
	struct tmpdir *d = calloc(1, sizeof(*d));
	const char *base = getenv("BUILD") != NULL ? getenv("BUILD") : "build";

	if (d == NULL)
		return -1;
	snprintf(d->path, sizeof(d->path), "%s/test_keys.XXXXXX", base);
	if (mkdtemp(d->path) == NULL) {
		snprintf(d->path, sizeof(d->path), "/tmp/test_keys.XXXXXX");
		if (mkdtemp(d->path) == NULL) {
			free(d);
			return -1;
		}
	}
	*state = d;
	return 0;
}

static int
teardown_dir(void **state)
{
	struct tmpdir *d = *state;
	DIR *dir = opendir(d->path);
	struct dirent *e;
	char p[512];

	while (dir != NULL && (e = readdir(dir)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", d->path, e->d_name);
		unlink(p);
	}
	if (dir != NULL)
		closedir(dir);
	rmdir(d->path);
	free(d);
	return 0;
}

static int
count_entries(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *e;
	int n = 0;

	assert_non_null(dir);
	while ((e = readdir(dir)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(dir);
	return n;
}

static void
write_file(const char *path, const char *content, size_t len, mode_t mode)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void
test_rfc8032_vector(void **state)
{
	uint8_t seed[PW_SEED_LEN], pk[PW_PK_LEN], sig[PW_SIG_LEN], got[PW_SIG_LEN];
	struct pw_keypair kp;

	(void)state;
	assert_int_equal(pw_hex_decode(rfc_seed, seed, sizeof(seed)), PW_OK);
	assert_int_equal(pw_hex_decode(rfc_pk, pk, sizeof(pk)), PW_OK);
	assert_int_equal(pw_hex_decode(rfc_sig, sig, sizeof(sig)), PW_OK);
	assert_int_equal(pw_key_from_seed(&kp, seed), PW_OK);
	assert_memory_equal(kp.pk, pk, PW_PK_LEN);
	assert_memory_equal(kp.sk, seed, PW_SEED_LEN);
	pw_sign(&kp, (const uint8_t *)"", 0, got);
	assert_memory_equal(got, sig, PW_SIG_LEN);
	assert_int_equal(pw_verify(pk, (const uint8_t *)"", 0, sig), PW_OK);
}

static void
test_sign_verify_and_tamper(void **state)
{
	struct pw_keypair a, b;
	uint8_t msg[100], sig[PW_SIG_LEN];

	(void)state;
	assert_int_equal(pw_key_generate(&a), PW_OK);
	assert_int_equal(pw_key_generate(&b), PW_OK);
	assert_memory_not_equal(a.pk, b.pk, PW_PK_LEN);
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7);
	pw_sign(&a, msg, sizeof(msg), sig);
	assert_int_equal(pw_verify(a.pk, msg, sizeof(msg), sig), PW_OK);
	assert_int_equal(pw_verify(b.pk, msg, sizeof(msg), sig), PW_ERR_BADSIG);
	assert_int_equal(pw_verify(a.pk, msg, sizeof(msg) - 1, sig), PW_ERR_BADSIG);
	msg[50] ^= 1;
	assert_int_equal(pw_verify(a.pk, msg, sizeof(msg), sig), PW_ERR_BADSIG);
	msg[50] ^= 1;
	sig[3] ^= 0x80;
	assert_int_equal(pw_verify(a.pk, msg, sizeof(msg), sig), PW_ERR_BADSIG);
}

static void
test_save_load_round_trip(void **state)
{
	struct tmpdir *d = *state;
	struct pw_keypair kp, back;
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/agent.key", d->path);
	assert_int_equal(pw_key_generate(&kp), PW_OK);
	assert_int_equal(pw_key_save(path, &kp), PW_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 23 + 64 + 1);
	assert_int_equal(count_entries(d->path), 1); /* no temp file left behind */
	assert_int_equal(pw_key_load(path, &back), PW_OK);
	assert_memory_equal(kp.pk, back.pk, PW_PK_LEN);
	assert_memory_equal(kp.sk, back.sk, PW_SK_LEN);
}

static void
test_save_never_overwrites(void **state)
{
	struct tmpdir *d = *state;
	struct pw_keypair first, second, back;
	char path[512];

	snprintf(path, sizeof(path), "%s/exchange.key", d->path);
	assert_int_equal(pw_key_generate(&first), PW_OK);
	assert_int_equal(pw_key_generate(&second), PW_OK);
	assert_int_equal(pw_key_save(path, &first), PW_OK);
	assert_int_equal(pw_key_save(path, &second), PW_ERR_EXISTS);
	assert_int_equal(count_entries(d->path), 1);
	assert_int_equal(pw_key_load(path, &back), PW_OK);
	assert_memory_equal(first.pk, back.pk, PW_PK_LEN);
}

static void
test_save_errors(void **state)
{
	struct tmpdir *d = *state;
	struct pw_keypair kp;
	char path[512];

	assert_int_equal(pw_key_generate(&kp), PW_OK);
	snprintf(path, sizeof(path), "%s/no-such-dir/a.key", d->path);
	assert_int_equal(pw_key_save(path, &kp), PW_ERR_NOTFOUND);
	/* keygen's message names the file and the directory that is missing */
	char msg[1024], want[1024];
	pw_key_save_message(path, PW_ERR_NOTFOUND, errno, msg, sizeof(msg));
	snprintf(want, sizeof(want), "cannot create %s: directory %s/no-such-dir does not exist",
	         path, d->path);
	assert_string_equal(msg, want);
	pw_key_save_message("/a.key", PW_ERR_PERM, EACCES, msg, sizeof(msg));
	assert_string_equal(msg, "cannot create /a.key: directory /: Permission denied");
	/* ENOENT from a directory that exists: no claim that it is missing */
	pw_key_save_message("/proc/a.key", PW_ERR_NOTFOUND, ENOENT, msg, sizeof(msg));
	assert_string_equal(msg, "cannot create /proc/a.key: No such file or directory");
	/* a file where a directory should be */
	snprintf(path, sizeof(path), "%s/plain", d->path);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/plain/a.key", d->path);
	assert_int_equal(pw_key_save(path, &kp), PW_ERR_NOTFOUND);
	assert_int_equal(errno, ENOTDIR);
	pw_key_save_message(path, PW_ERR_NOTFOUND, ENOTDIR, msg, sizeof(msg));
	snprintf(want, sizeof(want), "cannot create %s: %s/plain is not a directory", path,
	         d->path);
	assert_string_equal(msg, want);
	snprintf(path, sizeof(path), "%s/plain", d->path);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(pw_key_save("", &kp), PW_ERR_ARG);
	assert_int_equal(pw_key_save(NULL, &kp), PW_ERR_ARG);
	/* An existing directory (or anything else) at the path is never replaced. */
	snprintf(path, sizeof(path), "%s", d->path);
	assert_int_equal(pw_key_save(path, &kp), PW_ERR_EXISTS);
	assert_int_equal(count_entries(d->path), 0);
}

static void
test_file_format_is_documented_line(void **state)
{
	struct tmpdir *d = *state;
	struct pw_keypair kp;
	uint8_t seed[PW_SEED_LEN];
	char path[512], buf[200];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/fmt.key", d->path);
	assert_int_equal(pw_hex_decode(rfc_seed, seed, sizeof(seed)), PW_OK);
	assert_int_equal(pw_key_from_seed(&kp, seed), PW_OK);
	assert_int_equal(pw_key_save(path, &kp), PW_OK);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	assert_string_equal(buf,
	                    "peerwatt-secret-key-v1 "
	                    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\n");
}

static void
test_load_refuses_shared_files(void **state)
{
	struct tmpdir *d = *state;
	struct pw_keypair kp;
	char path[512], link_path[512];
	const mode_t bad[] = { 0640, 0604, 0644, 0620, 0602, 0610, 0601 };

	snprintf(path, sizeof(path), "%s/shared.key", d->path);
	assert_int_equal(pw_key_generate(&kp), PW_OK);
	assert_int_equal(pw_key_save(path, &kp), PW_OK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(chmod(path, bad[i]), 0);
		assert_int_equal(pw_key_load(path, &kp), PW_ERR_PERM);
	}
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(pw_key_load(path, &kp), PW_OK);
	/* A symlink is not followed (it could point anywhere). */
	snprintf(link_path, sizeof(link_path), "%s/link.key", d->path);
	assert_int_equal(symlink("shared.key", link_path), 0);
	assert_int_not_equal(pw_key_load(link_path, &kp), PW_OK);
}

static void
test_load_rejects_malformed(void **state)
{
	struct tmpdir *d = *state;
	struct pw_keypair kp;
	char path[512];
	static const char good_hex[] =
	    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
	static const char *const bad[] = {
		"",
		"peerwatt-secret-key-v1 \n",
		"peerwatt-secret-key-v2 "
		"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f"
		"60\n",
		"peerwatt-secret-key-v1 "
		"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f"
		"60", /* no newline */
		"peerwatt-secret-key-v1 "
		"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f"
		"60\n\n", /* trailing byte */
		"peerwatt-secret-key-v1 "
		"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f"
		"6\n", /* 63 digits */
		"peerwatt-secret-key-v1 "
		"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f"
		"6g\n", /* not hex */
		"peerwatt-secret-key-v1  "
		"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7"
		"f6\n", /* two spaces */
	};
	char good[200];

	snprintf(path, sizeof(path), "%s/bad.key", d->path);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(path, bad[i], strlen(bad[i]), 0600);
		assert_int_equal(pw_key_load(path, &kp), PW_ERR_PARSE);
	}
	snprintf(good, sizeof(good), "peerwatt-secret-key-v1 %s\n", good_hex);
	write_file(path, good, strlen(good), 0600);
	assert_int_equal(pw_key_load(path, &kp), PW_OK);
	snprintf(path, sizeof(path), "%s/missing.key", d->path);
	assert_int_equal(pw_key_load(path, &kp), PW_ERR_NOTFOUND);
	assert_int_equal(pw_key_load(d->path, &kp), PW_ERR_PARSE); /* a directory */
}

static void
test_wipe_zeroes(void **state)
{
	struct pw_keypair kp, zero;

	(void)state;
	memset(&zero, 0, sizeof(zero));
	assert_int_equal(pw_key_generate(&kp), PW_OK);
	pw_key_wipe(&kp);
	assert_memory_equal(&kp, &zero, sizeof(kp));
}

static void
test_curve_conversion(void **state)
{
	struct pw_keypair kp;
	uint8_t cpk[PW_CURVE_LEN], csk[PW_CURVE_LEN], derived[PW_CURVE_LEN];
	uint8_t bad_pk[PW_PK_LEN];

	(void)state;
	for (int i = 0; i < 8; i++) {
		assert_int_equal(pw_key_generate(&kp), PW_OK);
		assert_int_equal(pw_key_curve_public(kp.pk, cpk), PW_OK);
		assert_int_equal(pw_key_curve_secret(&kp, csk), PW_OK);
		/* The converted secret must own the converted public key. */
		assert_int_equal(crypto_scalarmult_base(derived, csk), 0);
		assert_memory_equal(derived, cpk, PW_CURVE_LEN);
	}
	/* The identity point (y = 1) has small order: no transport key. */
	memset(bad_pk, 0, sizeof(bad_pk));
	bad_pk[0] = 1;
	assert_int_equal(pw_key_curve_public(bad_pk, cpk), PW_ERR_CRYPTO);
}

static void
test_sha256(void **state)
{
	uint8_t h[PW_HASH_LEN];
	char hex[2 * PW_HASH_LEN + 1];

	(void)state;
	pw_sha256((const uint8_t *)"abc", 3, h);
	pw_hex_encode(h, sizeof(h), hex);
	assert_string_equal(hex,
	                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	pw_sha256((const uint8_t *)"", 0, h);
	pw_hex_encode(h, sizeof(h), hex);
	assert_string_equal(hex,
	                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void
test_hex(void **state)
{
	const uint8_t in[] = { 0x00, 0x01, 0xab, 0xff, 0x7f };
	uint8_t out[5];
	char hex[11];

	(void)state;
	pw_hex_encode(in, sizeof(in), hex);
	assert_string_equal(hex, "0001abff7f");
	assert_int_equal(pw_hex_decode("0001ABff7f", out, sizeof(out)), PW_OK);
	assert_memory_equal(in, out, sizeof(in));
	assert_int_equal(pw_hex_decode("0001abff7", out, sizeof(out)), PW_ERR_PARSE);
	assert_int_equal(pw_hex_decode("0001abff7f0", out, sizeof(out)), PW_ERR_PARSE);
	assert_int_equal(pw_hex_decode("0001abff7f00", out, sizeof(out)), PW_ERR_PARSE);
	assert_int_equal(pw_hex_decode("0001abfx7f", out, sizeof(out)), PW_ERR_PARSE);
	assert_int_equal(pw_hex_decode(" 001abff7f", out, sizeof(out)), PW_ERR_PARSE);
	assert_int_equal(pw_hex_decode("", out, 0), PW_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8032_vector),
		cmocka_unit_test(test_sign_verify_and_tamper),
		cmocka_unit_test_setup_teardown(test_save_load_round_trip, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_save_never_overwrites, setup_dir,
		                                teardown_dir),
		cmocka_unit_test_setup_teardown(test_save_errors, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_file_format_is_documented_line, setup_dir,
		                                teardown_dir),
		cmocka_unit_test_setup_teardown(test_load_refuses_shared_files, setup_dir,
		                                teardown_dir),
		cmocka_unit_test_setup_teardown(test_load_rejects_malformed, setup_dir,
		                                teardown_dir),
		cmocka_unit_test(test_wipe_zeroes),
		cmocka_unit_test(test_curve_conversion),
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_hex),
	};
	if (pw_crypto_init() != PW_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
