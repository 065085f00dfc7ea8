/* test_registry.c: registry file parsing (file:line errors) and lookups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "exchange/registry.h"

/* Deterministic key i: Ed25519 from a seed of byte i. */
static void
key_hex(int i, uint8_t pk[32], char hex[65])
{
	uint8_t seed[32], sk[64];
	memset(seed, i, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_bin2hex(hex, 65, pk, 32);
}

static void
test_parse_ok(void **state)
{
	(void)state;
	uint8_t pk1[32], pk2[32], c1[32];
	char h1[65], h2[65], text[1024];
	struct registry *r = NULL;
	char err[256] = "";

	key_hex(1, pk1, h1);
	key_hex(2, pk2, h2);
	snprintf(text, sizeof(text),
	         "# households\n\n"
	         "h1 alice %s SN-1 north 5000 8000   # comment\n"
	         "\th2\tbob\t%s\tSN-2\tsouth\t0\t3000\r\n",
	         h1, h2);
	assert_int_equal(registry_parse("reg", text, &r, err, sizeof(err)), PW_OK);
	assert_int_equal(registry_count(r), 2);
	const struct household *a = registry_find_pk(r, pk1);
	assert_non_null(a);
	assert_string_equal(a->id, "h1");
	assert_string_equal(a->name, "alice");
	assert_string_equal(a->serial, "SN-1");
	assert_string_equal(a->zone, "north");
	assert_int_equal(a->max_export_w, 5000);
	assert_int_equal(a->max_import_w, 8000);
	assert_int_equal(a->line, 3);
	assert_int_equal(crypto_sign_ed25519_pk_to_curve25519(c1, pk1), 0);
	assert_ptr_equal(registry_find_curve(r, c1), a);
	assert_ptr_equal(registry_find_id(r, "h2"), registry_find_pk(r, pk2));
	assert_ptr_equal(registry_at(r, 1), registry_find_pk(r, pk2));
	assert_null(registry_find_id(r, "h3"));
	uint8_t other[32];
	memset(other, 7, sizeof(other));
	assert_null(registry_find_pk(r, other));
	assert_null(registry_find_curve(r, pk1)); /* an Ed25519 key is not its curve key */
	/* capacity: 5000 W x 900 s = 1250 Wh; 3000 W x 2 s = 1.66 Wh -> 1 */
	assert_int_equal(registry_capacity_wh(a, PW_SIDE_SELL, 900), 1250);
	assert_int_equal(registry_capacity_wh(a, PW_SIDE_BUY, 900), 2000);
	assert_int_equal(registry_capacity_wh(registry_find_id(r, "h2"), PW_SIDE_BUY, 2), 1);
	assert_int_equal(registry_capacity_wh(registry_find_id(r, "h2"), PW_SIDE_SELL, 900), 0);
	registry_free(&r);
	assert_null(r);
	registry_free(&r);
}

static void
test_many_lookups(void **state)
{
	(void)state;
	enum { N = 200 };
	static char text[N * 160];
	size_t off = 0;
	uint8_t pks[N][32];
	struct registry *r = NULL;
	char err[256];
	for (int i = 0; i < N; i++) {
		char hex[65];
		key_hex(i + 3, pks[i], hex);
		off += (size_t)snprintf(text + off, sizeof(text) - off, "id%d n%d %s S%d z 1 1\n",
		                        i, i, hex, i);
	}
	assert_int_equal(registry_parse("big", text, &r, err, sizeof(err)), PW_OK);
	for (int i = 0; i < N; i++) {
		const struct household *h = registry_find_pk(r, pks[i]);
		char id[16];
		assert_non_null(h);
		snprintf(id, sizeof(id), "id%d", i);
		assert_string_equal(h->id, id);
		assert_ptr_equal(registry_find_curve(r, h->curve_pk), h);
		/* by id too (a binary search over the ids sorted by strcmp: id10
		 * sorts before id2) */
		assert_ptr_equal(registry_find_id(r, id), h);
	}
	assert_null(registry_find_id(r, "id"));     /* a prefix of every id */
	assert_null(registry_find_id(r, "id1990")); /* longer than any */
	assert_null(registry_find_id(r, "id200"));
	assert_null(registry_find_id(r, ""));
	assert_null(registry_find_id(r, "zz"));
	registry_free(&r);
}

struct bad_case {
	const char *line; /* %s = a valid key, %t = the same key again */
	const char *want; /* expected error text (after "bad:LINE: ") */
	size_t lineno;
};

static void
test_bad_lines(void **state)
{
	(void)state;
	uint8_t pk[32], pk2[32];
	char h[65], h2[65];
	key_hex(9, pk, h);
	key_hex(10, pk2, h2);
	char ok_line[256];
	snprintf(ok_line, sizeof(ok_line), "a alice %s SN1 z 10 10\n", h);
	struct {
		const char *fmt;
		const char *want;
		size_t line;
	} cases[] = {
		{ "b bob %s SN2 z 10\n", "expected 7 fields", 2 },
		{ "b bob %s SN2 z 10 10 extra\n", "expected 7 fields", 2 },
		{ "b bob %.63s SN2 z 10 10\n", "64 hex digits", 2 },
		{ "b bob %.62szz SN2 z 10 10\n", "64 hex digits", 2 },
		{ "b b@b %s SN2 z 10 10\n", "bad name", 2 },
		{ "b/ bob %s SN2 z 10 10\n", "bad household id", 2 },
		{ "b bob %s SN2 z! 10 10\n", "bad zone", 2 },
		{ "b bob %s SN2 z -1 10\n", "max_export_w", 2 },
		{ "b bob %s SN2 z 10 1x\n", "max_import_w", 2 },
		{ "b bob %s SN2 z 10 99999999999\n", "max_import_w", 2 },
		{ "b bob %s 0123456789012345678901234567890123 z 10 10\n", "meter serial", 2 },
		{ "a bob %s SN2 z 10 10\n", "household id 'a' registered twice", 2 },
		{ "b bob %s SN1 z 10 10\n", "meter serial 'SN1' registered twice", 2 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[1024], second[512], err[256] = "";
		struct registry *r = NULL;
		snprintf(second, sizeof(second), cases[i].fmt, h2);
		snprintf(text, sizeof(text), "%s%s", ok_line, second);
		assert_int_equal(registry_parse("bad", text, &r, err, sizeof(err)), PW_ERR_CONFIG);
		assert_null(r);
		char prefix[32];
		snprintf(prefix, sizeof(prefix), "bad:%zu: ", cases[i].line);
		if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, cases[i].want))
			fail_msg("case %zu: got '%s', want '%s...%s'", i, err, prefix,
			         cases[i].want);
	}
	/* the same key twice is refused, naming the second line */
	char text[1024], err[256] = "";
	struct registry *r = NULL;
	snprintf(text, sizeof(text), "%s\n# x\nb bob %s SN2 z 1 1\n", ok_line, h);
	assert_int_equal(registry_parse("dup", text, &r, err, sizeof(err)), PW_ERR_CONFIG);
	assert_string_equal(err, "dup:4: public key registered twice");
}

/* ids, names and zones (and the exchange's fee zones): 1..31 of [A-Za-z0-9_.-] */
static void
test_token(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int ok;
	} t[] = {
		{ "north", 1 },
		{ "a.b-c_D9", 1 },
		{ "", 0 },
		{ "a b", 0 },
		{ "a/b", 0 },
		{ "zone!", 0 },
		{ "\xc3\xa9", 0 },
		{ "0123456789012345678901234567890", 1 },
		{ "01234567890123456789012345678901", 0 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (registry_token_ok(t[i].s, strlen(t[i].s)) != t[i].ok)
			fail_msg("'%s': want %d", t[i].s, t[i].ok);
	assert_int_equal(registry_token_ok("north/south", 5), 1); /* a prefix, not NUL-ended */
}

static void
test_load_file(void **state)
{
	(void)state;
	char path[] = "/tmp/test_registry.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	uint8_t pk[32];
	char h[65], line[256], err[256];
	key_hex(4, pk, h);
	int n = snprintf(line, sizeof(line), "x y %s S z 1 2\n", h);
	assert_int_equal(write(fd, line, (size_t)n), n);
	close(fd);
	struct registry *r = NULL;
	assert_int_equal(registry_load(path, &r, err, sizeof(err)), PW_OK);
	assert_int_equal(registry_count(r), 1);
	registry_free(&r);
	unlink(path);
	assert_int_equal(registry_load(path, &r, err, sizeof(err)), PW_ERR_IO);
	assert_non_null(strstr(err, ":0: cannot open"));
	assert_null(r);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),  cmocka_unit_test(test_many_lookups),
		cmocka_unit_test(test_bad_lines), cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_token),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
