/*
 * bench_verify.c: the Ed25519 verify ceiling (docs/performance.md).
 *
 * How many signatures libsodium verifies per second over frames of the
 * largest request size (PW_WIRE_MAX_REQUEST bytes: header, body, signature;
 * the signed message is the domain prefix plus the frame without its
 * signature, as in common/wire.c).  Nothing the exchange or the auditor
 * does per message can be faster than this, so their throughput is quoted
 * as a fraction of it.
 *
 *   BENCH verify_ceiling_per_s    one thread (the exchange and the auditor
 *                                 verify on one thread)
 *   BENCH verify_all_cores_per_s  one thread per online CPU
 *
 * and, for the per-order CPU budget of docs/performance-ingest.md (one thread):
 *
 *   BENCH sign_per_s              Ed25519 signatures of a receipt-sized
 *                                 message (the exchange's ACK)
 *   BENCH curve_box_per_s         crypto_box_easy_afternm + open_afternm of
 *                                 a request-sized message (what CURVE does
 *                                 per message, once on each end)
 *
 * PW_BENCH_SECONDS (default 1) is the length of one measurement; the best
 * of three is printed, since other processes on the machine only ever slow
 * a run down.  Exit 0 on success, 1 if a signature fails to verify.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "peerwatt/wire.h"

#define N_FRAMES 64 /* distinct keys and messages, cycled */
#define PREFIX   "peerwatt/1/METER"
/* prefix, NUL, market id, frame without signature */
#define MSG_LEN (sizeof(PREFIX) + 8 + PW_WIRE_MAX_REQUEST - crypto_sign_BYTES)

struct frames {
	uint8_t pk[N_FRAMES][crypto_sign_PUBLICKEYBYTES];
	uint8_t msg[N_FRAMES][MSG_LEN];
	uint8_t sig[N_FRAMES][crypto_sign_BYTES];
};

struct worker {
	const struct frames *f;
	double seconds;
	uint64_t done;
	int bad;
	pthread_t tid;
};

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
make_frames(struct frames *f)
{
	for (size_t i = 0; i < N_FRAMES; i++) {
		uint8_t sk[crypto_sign_SECRETKEYBYTES];
		crypto_sign_keypair(f->pk[i], sk);
		uint8_t *m = f->msg[i];
		memcpy(m, PREFIX, sizeof(PREFIX)); /* tag and its NUL */
		randombytes_buf(m + sizeof(PREFIX), MSG_LEN - sizeof(PREFIX));
		/* frame header: version, type, author */
		uint8_t *frame = m + sizeof(PREFIX) + 8;
		frame[0] = PW_PROTO_VERSION;
		frame[1] = PW_MSG_METER;
		memcpy(frame + 2, f->pk[i], crypto_sign_PUBLICKEYBYTES);
		crypto_sign_detached(f->sig[i], NULL, m, MSG_LEN, sk);
		sodium_memzero(sk, sizeof(sk));
	}
}

/* Verify in batches of N_FRAMES until `seconds` have passed. */
static void *
work(void *arg)
{
	struct worker *w = arg;
	double end = now_s() + w->seconds;
	do {
		for (size_t i = 0; i < N_FRAMES; i++) {
			if (crypto_sign_verify_detached(w->f->sig[i], w->f->msg[i], MSG_LEN,
			                                w->f->pk[i]) != 0)
				w->bad = 1;
		}
		w->done += N_FRAMES;
	} while (now_s() < end);
	return NULL;
}

/* Operations per second of `batch` (which does BATCH_OPS of them each
 * call), one thread, best of 3 runs of `seconds`. */
#define BATCH_OPS 64
static double
best_rate(void (*batch)(void *ctx), void *ctx, double seconds)
{
	double best = 0;
	for (int r = 0; r < 3; r++) {
		uint64_t n = 0;
		double t0 = now_s(), t;
		do {
			batch(ctx);
			n += BATCH_OPS;
		} while ((t = now_s()) < t0 + seconds);
		if ((double)n / (t - t0) > best)
			best = (double)n / (t - t0);
	}
	return best;
}

/* Ed25519 signatures of a 160-byte message (a receipt is shorter than a
 * request). */
struct sign_ctx {
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	uint8_t msg[160], sig[crypto_sign_BYTES];
};

static void
sign_batch(void *arg)
{
	struct sign_ctx *c = arg;
	for (int i = 0; i < BATCH_OPS; i++) {
		c->msg[0] = (uint8_t)i;
		crypto_sign_detached(c->sig, NULL, c->msg, sizeof(c->msg), c->sk);
	}
}

static double
sign_rate(double seconds)
{
	struct sign_ctx c;
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	crypto_sign_keypair(pk, c.sk);
	randombytes_buf(c.msg, sizeof(c.msg));
	double r = best_rate(sign_batch, &c, seconds);
	sodium_memzero(c.sk, sizeof(c.sk));
	return r;
}

/* Box + open pairs of a PW_WIRE_MAX_REQUEST-byte message with a
 * precomputed key (CURVE's per-message work).  bad is set if a box fails
 * to open. */
struct box_ctx {
	uint8_t k[crypto_box_BEFORENMBYTES], nonce[crypto_box_NONCEBYTES];
	uint8_t m[PW_WIRE_MAX_REQUEST], c[PW_WIRE_MAX_REQUEST + crypto_box_MACBYTES];
	int bad;
};

static void
box_batch(void *arg)
{
	struct box_ctx *b = arg;
	for (int i = 0; i < BATCH_OPS; i++) {
		b->nonce[0] = (uint8_t)i;
		crypto_box_easy_afternm(b->c, b->m, sizeof(b->m), b->nonce, b->k);
		if (crypto_box_open_easy_afternm(b->m, b->c, sizeof(b->c), b->nonce, b->k) != 0)
			b->bad = 1;
	}
}

static double
box_rate(double seconds, int *bad)
{
	struct box_ctx b = { .bad = 0 };
	uint8_t apk[crypto_box_PUBLICKEYBYTES], ask[crypto_box_SECRETKEYBYTES];
	uint8_t bpk[crypto_box_PUBLICKEYBYTES], bsk[crypto_box_SECRETKEYBYTES];
	crypto_box_keypair(apk, ask);
	crypto_box_keypair(bpk, bsk);
	if (crypto_box_beforenm(b.k, bpk, ask) != 0)
		*bad = 1;
	randombytes_buf(b.m, sizeof(b.m));
	randombytes_buf(b.nonce, sizeof(b.nonce));
	double r = best_rate(box_batch, &b, seconds);
	*bad |= b.bad;
	sodium_memzero(ask, sizeof(ask));
	sodium_memzero(bsk, sizeof(bsk));
	sodium_memzero(b.k, sizeof(b.k));
	return r;
}

/* Verifications per second with `threads` threads for `seconds`. */
static double
measure(const struct frames *f, unsigned threads, double seconds, int *bad)
{
	struct worker *w = calloc(threads, sizeof(*w));
	if (w == NULL) {
		fprintf(stderr, "bench_verify: out of memory\n");
		exit(1);
	}
	double t0 = now_s();
	for (unsigned i = 0; i < threads; i++) {
		w[i].f = f;
		w[i].seconds = seconds;
		if (i > 0 && pthread_create(&w[i].tid, NULL, work, &w[i]) != 0) {
			fprintf(stderr, "bench_verify: pthread_create failed\n");
			exit(1);
		}
	}
	work(&w[0]); /* the calling thread is worker 0 */
	uint64_t total = w[0].done;
	*bad |= w[0].bad;
	for (unsigned i = 1; i < threads; i++) {
		pthread_join(w[i].tid, NULL);
		total += w[i].done;
		*bad |= w[i].bad;
	}
	double elapsed = now_s() - t0;
	free(w);
	return (double)total / elapsed;
}

static double
best_of_3(const struct frames *f, unsigned threads, double seconds, int *bad)
{
	double best = 0;
	for (int i = 0; i < 3; i++) {
		double r = measure(f, threads, seconds, bad);
		if (r > best)
			best = r;
	}
	return best;
}

int
main(int argc, char **argv)
{
	double seconds = 1.0;
	const char *env = getenv("PW_BENCH_SECONDS");
	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: bench_verify   (PW_BENCH_SECONDS=N sets the run length)\n");
		return 64;
	}
	if (env != NULL) {
		char *end;
		double v = strtod(env, &end);
		if (end == env || *end != '\0' || !(v >= 0.05 && v <= 60)) {
			fprintf(stderr, "bench_verify: PW_BENCH_SECONDS must be 0.05 .. 60\n");
			return 64;
		}
		seconds = v;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "bench_verify: sodium_init failed\n");
		return 1;
	}
	struct frames *f = malloc(sizeof(*f));
	if (f == NULL)
		return 1;
	make_frames(f);

	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = ncpu > 0 && ncpu < 1024 ? (unsigned)ncpu : 1;
	int bad = 0;
	double one = best_of_3(f, 1, seconds, &bad);
	double all = best_of_3(f, threads, seconds, &bad);
	double sign = sign_rate(seconds / 4);
	double box = box_rate(seconds / 4, &bad);
	free(f);
	if (bad) {
		fprintf(stderr, "bench_verify: a valid signature failed to verify\n");
		return 1;
	}
	printf("BENCH verify_ceiling_per_s %.0f verifies/s\n", one);
	printf("BENCH verify_all_cores_per_s %.0f verifies/s\n", all);
	printf("BENCH sign_per_s %.0f signatures/s\n", sign);
	printf("BENCH curve_box_per_s %.0f box+open/s\n", box);
	printf("# %u threads on %ld online CPUs, %zu-byte signed message, best of 3 x %.2f s\n",
	       threads, ncpu, (size_t)MSG_LEN, seconds);
	return 0;
}
