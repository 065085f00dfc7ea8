/*
 * sha256.h: SHA-256 (FIPS 180-4) with the x86 SHA extensions when the CPU
 * has them, libsodium's portable code otherwise; the digests are the same
 * byte for byte.
 *
 * Owns: the choice of implementation and the SHA-NI block function.  The
 * choice is made in sha256_init() from the CPU (no state kept between
 * calls): on x86-64 built by GCC, __builtin_cpu_supports("sha"); everywhere
 * else (ARM, clang, which before version 19 cannot name the feature, and
 * where cpuid costs more than a hash in a virtual machine) libsodium.
 *
 * Callers: common/merkle.c (leaf and node hashes of the log, the exchange's
 * hot path), common/keys.c (pw_sha256), the tests and bench_mlog.
 * Thread-safe: a context belongs to one caller; nothing is shared.
 */
#ifndef PEERWATT_SHA256_H
#define PEERWATT_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#define SHA256_LEN       32
#define SHA256_BLOCK_LEN 64

/* A hash in progress.  Plain data: no destroy needed. */
struct sha256_ctx {
	int ni; /* 1: u.ni, blocks compressed with the SHA extensions; 0: u.sodium */
	union {
		crypto_hash_sha256_state sodium;
		struct {
			uint32_t h[8];                 /* A..H */
			uint64_t bytes;                /* hashed so far */
			uint8_t buf[SHA256_BLOCK_LEN]; /* the partial block */
		} ni;
	} u;
};

/* 1 when sha256_init() picks the SHA extensions on this CPU, else 0. */
int sha256_have_ni(void);

/* Starts a hash with the fastest implementation this CPU has. */
void sha256_init(struct sha256_ctx *c);
/* Starts a hash with libsodium's code whatever the CPU (tests and bench
 * compare both implementations on one machine). */
void sha256_init_portable(struct sha256_ctx *c);
/* Hashes `len` bytes of `in` (NULL allowed when len is 0); the bytes are
 * consumed or copied before it returns. */
void sha256_update(struct sha256_ctx *c, const uint8_t *in, size_t len);
/* Writes the digest; the context must be initialised again before reuse. */
void sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_LEN]);

/* SHA-256 of one buffer. */
void sha256_hash(const uint8_t *in, size_t len, uint8_t out[SHA256_LEN]);

#endif
