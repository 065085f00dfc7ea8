/*
 * sha256.c: SHA-256 through the x86 SHA extensions or libsodium (see
 * include/peerwatt/sha256.h).  Only the block function differs from the
 * textbook: buffering and padding are FIPS 180-4 section 5.1.1 as written.
 */
#include "peerwatt/sha256.h"

#include <string.h>

/* clang is left out: before version 19 it rejects __builtin_cpu_supports("sha"),
 * and the cpuid instruction traps to the hypervisor of a VM (~1.7 us here) */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SHA256_NI 1
#include <immintrin.h>
#endif

#ifdef SHA256_NI
static const uint32_t sha256__k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

static const uint32_t sha256__h0[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

/*
 * Compresses `n` blocks into h.  The instructions keep the state in two
 * vectors, ABEF and CDGH (lanes 3..0, so A is the top lane), take the
 * message words big-endian four to a vector, and sha256rnds2 does two
 * rounds with the low two words of W + K.
 */
__attribute__((target("sha,sse4.1,ssse3"))) static void
sha256__blocks_ni(uint32_t h[8], const uint8_t *p, size_t n)
{
	const __m128i bswap = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
	__m128i dcba = _mm_loadu_si128((const __m128i *)&h[0]); /* lanes 3..0 */
	__m128i hgfe = _mm_loadu_si128((const __m128i *)&h[4]);
	__m128i cdab = _mm_shuffle_epi32(dcba, 0xb1);
	__m128i efgh = _mm_shuffle_epi32(hgfe, 0x1b);
	__m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
	__m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xf0);

	for (; n > 0; n--, p += SHA256_BLOCK_LEN) {
		const __m128i abef0 = abef, cdgh0 = cdgh;
		__m128i w[4]; /* w[i % 4]: the words 4i .. 4i+3 of the schedule */

		for (int i = 0; i < 4; i++)
			w[i] =
			    _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
#pragma GCC unroll 16
		for (int i = 0; i < 16; i++) {
			if (i >= 4) {
				/* W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16]:
				 * msg1 adds s0, alignr brings W[t-7], msg2 adds s1 */
				__m128i x = _mm_sha256msg1_epu32(w[i % 4], w[(i + 1) % 4]);
				x = _mm_add_epi32(
				    x, _mm_alignr_epi8(w[(i + 3) % 4], w[(i + 2) % 4], 4));
				w[i % 4] = _mm_sha256msg2_epu32(x, w[(i + 3) % 4]);
			}
			__m128i wk = _mm_add_epi32(
			    w[i % 4], _mm_loadu_si128((const __m128i *)&sha256__k[4 * i]));
			/* after two rounds the old ABEF is the new CDGH: the two
			 * variables swap roles and are back in place after four */
			cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
			abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0e));
		}
		abef = _mm_add_epi32(abef, abef0);
		cdgh = _mm_add_epi32(cdgh, cdgh0);
	}
	__m128i feba = _mm_shuffle_epi32(abef, 0x1b);
	__m128i dchg = _mm_shuffle_epi32(cdgh, 0xb1);
	_mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(feba, dchg, 0xf0));
	_mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(dchg, feba, 8));
}

static void
sha256__update_ni(struct sha256_ctx *c, const uint8_t *in, size_t len)
{
	size_t used = (size_t)(c->u.ni.bytes % SHA256_BLOCK_LEN);

	c->u.ni.bytes += len;
	if (used > 0) {
		size_t take = SHA256_BLOCK_LEN - used < len ? SHA256_BLOCK_LEN - used : len;
		memcpy(c->u.ni.buf + used, in, take);
		in += take;
		len -= take;
		if (used + take < SHA256_BLOCK_LEN)
			return;
		sha256__blocks_ni(c->u.ni.h, c->u.ni.buf, 1);
	}
	if (len >= SHA256_BLOCK_LEN) {
		sha256__blocks_ni(c->u.ni.h, in, len / SHA256_BLOCK_LEN);
		in += len - len % SHA256_BLOCK_LEN;
		len %= SHA256_BLOCK_LEN;
	}
	if (len > 0)
		memcpy(c->u.ni.buf, in, len);
}

static void
sha256__final_ni(struct sha256_ctx *c, uint8_t out[SHA256_LEN])
{
	uint8_t *b = c->u.ni.buf;
	size_t used = (size_t)(c->u.ni.bytes % SHA256_BLOCK_LEN);
	uint64_t bits = c->u.ni.bytes * 8;

	/* 0x80, zeros, then the length in bits, big-endian, ending a block */
	b[used++] = 0x80;
	if (used > SHA256_BLOCK_LEN - 8) {
		memset(b + used, 0, SHA256_BLOCK_LEN - used);
		sha256__blocks_ni(c->u.ni.h, b, 1);
		used = 0;
	}
	memset(b + used, 0, SHA256_BLOCK_LEN - 8 - used);
	for (int i = 0; i < 8; i++)
		b[SHA256_BLOCK_LEN - 8 + i] = (uint8_t)(bits >> (56 - 8 * i));
	sha256__blocks_ni(c->u.ni.h, b, 1);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(c->u.ni.h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(c->u.ni.h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(c->u.ni.h[i] >> 8);
		out[4 * i + 3] = (uint8_t)c->u.ni.h[i];
	}
}
#endif

int
sha256_have_ni(void)
{
#ifdef SHA256_NI
	/* reads what libgcc found at start-up: cheap enough to ask per hash */
	return __builtin_cpu_supports("sha") && __builtin_cpu_supports("sse4.1") &&
	       __builtin_cpu_supports("ssse3");
#else
	return 0;
#endif
}

void
sha256_init_portable(struct sha256_ctx *c)
{
	c->ni = 0;
	crypto_hash_sha256_init(&c->u.sodium);
}

void
sha256_init(struct sha256_ctx *c)
{
#ifdef SHA256_NI
	if (sha256_have_ni()) {
		c->ni = 1;
		memcpy(c->u.ni.h, sha256__h0, sizeof(sha256__h0));
		c->u.ni.bytes = 0;
		return;
	}
#endif
	sha256_init_portable(c);
}

void
sha256_update(struct sha256_ctx *c, const uint8_t *in, size_t len)
{
	if (len == 0)
		return;
#ifdef SHA256_NI
	if (c->ni) {
		sha256__update_ni(c, in, len);
		return;
	}
#endif
	crypto_hash_sha256_update(&c->u.sodium, in, len);
}

void
sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_LEN])
{
#ifdef SHA256_NI
	if (c->ni) {
		sha256__final_ni(c, out);
		return;
	}
#endif
	crypto_hash_sha256_final(&c->u.sodium, out);
}

void
sha256_hash(const uint8_t *in, size_t len, uint8_t out[SHA256_LEN])
{
	struct sha256_ctx c;

	sha256_init(&c);
	sha256_update(&c, in, len);
	sha256_final(&c, out);
}
