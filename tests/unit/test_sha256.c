/*
 * test_sha256.c: both implementations of common/sha256.c (the SHA
 * extensions, when this CPU has them, and libsodium's code forced with
 * sha256_init_portable) against libsodium's crypto_hash_sha256 for every
 * length 0..300 and some long inputs split across update calls in several
 * ways, the FIPS 180-2 known answers, the choice of implementation against
 * /proc/cpuinfo, and the Merkle hashes built on them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "peerwatt/merkle.h"
#include "peerwatt/sha256.h"

#define N(a)    (sizeof(a) / sizeof((a)[0]))
#define MAX_LEN 70000

static uint64_t
rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void
fill_random(uint8_t *p, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)rng_next(&seed);
}

typedef void (*init_fn)(struct sha256_ctx *c);

/* The two ways into the module: whatever this CPU gets, and libsodium's. */
static const struct {
	const char *name;
	init_fn init;
} impls[] = {
	{ "auto", sha256_init },
	{ "portable", sha256_init_portable },
};

/* How an input is cut into update() calls: pieces of `step` bytes, or of
 * pseudo-random lengths 0..step when `random` is set. */
static const struct {
	size_t step;
	int random;
} splits[] = {
	{ MAX_LEN, 0 }, { 1, 0 }, { 3, 0 }, { 63, 0 }, { 64, 0 }, { 65, 0 }, { 130, 1 },
};

static void
hash_split(init_fn init, const uint8_t *in, size_t len, size_t step, int random, uint64_t seed,
           uint8_t out[SHA256_LEN])
{
	struct sha256_ctx c;
	size_t at = 0;

	init(&c);
	while (at < len) {
		size_t n = random ? (size_t)(rng_next(&seed) % (step + 1)) : step;
		if (n > len - at)
			n = len - at;
		sha256_update(&c, in + at, n);
		at += n;
	}
	sha256_final(&c, out);
}

static void
check_length(const uint8_t *data, size_t len)
{
	uint8_t want[SHA256_LEN], got[SHA256_LEN];

	crypto_hash_sha256(want, data, len);
	for (size_t i = 0; i < N(impls); i++)
		for (size_t j = 0; j < N(splits); j++) {
			hash_split(impls[i].init, data, len, splits[j].step, splits[j].random,
			           len + j, got);
			if (memcmp(got, want, SHA256_LEN) != 0)
				fail_msg("%s, length %zu, split %zu: digest differs from libsodium",
				         impls[i].name, len, j);
		}
}

static void
test_every_short_length_matches_libsodium(void **state)
{
	uint8_t data[300];

	(void)state;
	fill_random(data, sizeof(data), 1);
	for (size_t len = 0; len <= sizeof(data); len++)
		check_length(data, len);
}

static void
test_long_inputs_match_libsodium(void **state)
{
	static const size_t lens[] = { 1000, 4096, 10000, 65535, MAX_LEN };
	uint8_t *data = malloc(MAX_LEN);

	(void)state;
	assert_non_null(data);
	fill_random(data, MAX_LEN, 2);
	for (size_t i = 0; i < N(lens); i++)
		check_length(data, lens[i]);
	free(data);
}

static void
test_known_answers(void **state)
{
	/* FIPS 180-2 appendix B */
	static const char msg448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	static const uint8_t abc_digest[SHA256_LEN] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
		0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
		0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
	};
	static const uint8_t msg448_digest[SHA256_LEN] = {
		0x24, 0x8d, 0x6a, 0x61, 0xd2, 0x06, 0x38, 0xb8, 0xe5, 0xc0, 0x26,
		0x93, 0x0c, 0x3e, 0x60, 0x39, 0xa3, 0x3c, 0xe4, 0x59, 0x64, 0xff,
		0x21, 0x67, 0xf6, 0xec, 0xed, 0xd4, 0x19, 0xdb, 0x06, 0xc1,
	};
	static const uint8_t million_a_digest[SHA256_LEN] = {
		0xcd, 0xc7, 0x6e, 0x5c, 0x99, 0x14, 0xfb, 0x92, 0x81, 0xa1, 0xc7,
		0xe2, 0x84, 0xd7, 0x3e, 0x67, 0xf1, 0x80, 0x9a, 0x48, 0xa4, 0x97,
		0x20, 0x0e, 0x04, 0x6d, 0x39, 0xcc, 0xc7, 0x11, 0x2c, 0xd0,
	};
	static const uint8_t empty_digest[SHA256_LEN] = {
		0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
		0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
		0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
	};
	uint8_t a[1000], got[SHA256_LEN];

	(void)state;
	memset(a, 'a', sizeof(a));
	for (size_t i = 0; i < N(impls); i++) {
		struct sha256_ctx c;

		hash_split(impls[i].init, (const uint8_t *)"abc", 3, 1, 0, 0, got);
		assert_memory_equal(got, abc_digest, SHA256_LEN);
		hash_split(impls[i].init, (const uint8_t *)msg448, strlen(msg448), 64, 0, 0, got);
		assert_memory_equal(got, msg448_digest, SHA256_LEN);
		hash_split(impls[i].init, NULL, 0, 1, 0, 0, got);
		assert_memory_equal(got, empty_digest, SHA256_LEN);
		impls[i].init(&c);
		for (int k = 0; k < 1000; k++)
			sha256_update(&c, a, sizeof(a));
		sha256_final(&c, got);
		assert_memory_equal(got, million_a_digest, SHA256_LEN);
	}
	sha256_hash((const uint8_t *)"abc", 3, got);
	assert_memory_equal(got, abc_digest, SHA256_LEN);
	sha256_hash(NULL, 0, got);
	assert_memory_equal(got, empty_digest, SHA256_LEN);
}

static int
cpuinfo_has_sha_ni(void)
{
	char line[4096];
	int found = 0;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (f == NULL)
		return -1;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "flags", 5) == 0)
			found = strstr(line, " sha_ni") != NULL ? 1 : 2;
	fclose(f);
	return found == 1;
}

/* The path taken is the one the CPU allows: on this x86-64 machine with
 * SHA-NI the tests above really ran both implementations. */
static void
test_picks_the_cpu_path(void **state)
{
	struct sha256_ctx c;
	int want = 0;

	(void)state;
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
	want = cpuinfo_has_sha_ni();
	if (want < 0)
		skip();
#else
	(void)cpuinfo_has_sha_ni;
#endif
	assert_int_equal(sha256_have_ni(), want);
	sha256_init(&c);
	assert_int_equal(c.ni, want);
	sha256_init_portable(&c);
	assert_int_equal(c.ni, 0);
}

/* merkle.c's streaming calls (a prefix byte, then the input) equal
 * libsodium over the concatenation; a node hash may write over an input. */
static void
test_merkle_hashes_match_libsodium(void **state)
{
	uint8_t buf[1 + 232], want[SHA256_LEN], got[SHA256_LEN];
	uint8_t l[MERKLE_HASH_LEN], r[MERKLE_HASH_LEN];

	(void)state;
	fill_random(buf, sizeof(buf), 3);
	buf[0] = 0x00;
	crypto_hash_sha256(want, buf, sizeof(buf));
	merkle_leaf_hash(buf + 1, sizeof(buf) - 1, got);
	assert_memory_equal(got, want, SHA256_LEN);

	buf[0] = 0x01;
	memcpy(l, buf + 1, MERKLE_HASH_LEN);
	memcpy(r, buf + 1 + MERKLE_HASH_LEN, MERKLE_HASH_LEN);
	crypto_hash_sha256(want, buf, 1 + 2 * MERKLE_HASH_LEN);
	merkle_node_hash(l, r, got);
	assert_memory_equal(got, want, SHA256_LEN);
	merkle_node_hash(l, r, l);
	assert_memory_equal(l, want, SHA256_LEN);
	memcpy(l, buf + 1, MERKLE_HASH_LEN);
	merkle_node_hash(l, r, r);
	assert_memory_equal(r, want, SHA256_LEN);

	crypto_hash_sha256(want, (const uint8_t *)"", 0);
	merkle_empty_root(got);
	assert_memory_equal(got, want, SHA256_LEN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_short_length_matches_libsodium),
		cmocka_unit_test(test_long_inputs_match_libsodium),
		cmocka_unit_test(test_known_answers),
		cmocka_unit_test(test_picks_the_cpu_path),
		cmocka_unit_test(test_merkle_hashes_match_libsodium),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
