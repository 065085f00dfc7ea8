/*
 * test_engine_pool.c: the exchange's crypto pool (exchange/engine_pool.c).
 * Whatever the number of workers (none, one, two, four) and however many
 * of them a job wakes (a job whose caller runs its first chunk itself
 * wakes one worker fewer), every slot of every job is done when the wait
 * returns: each signature check says exactly which frames were signed
 * correctly, with two jobs queued at once as in the pipeline, and each
 * REJECT built on the pool is signed by the exchange.  A job grown while
 * it runs (the requests received during a COMMIT) or after it finished is
 * done to its last slot, with the main thread taking chunks of it as it
 * waits for the COMMIT.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "exchange/engine_int.h"
#include "peerwatt/keys.h"
#include "peerwatt/wire.h"

#define MARKET 0x0102030405060708ll
#define N_MAX  64
#define CAP    512

struct fx {
	struct xconfig cfg;
	struct pw_keypair exch, hh[3];
	struct engine e;
	struct engine_slot *slots;
	uint8_t *bufs;
};

static void
key(struct pw_keypair *kp, uint8_t b)
{
	uint8_t seed[PW_SEED_LEN];
	memset(seed, b, sizeof(seed));
	assert_int_equal(pw_key_from_seed(kp, seed), PW_OK);
}

/* A signed ORDER in every slot; every third one's signature broken. */
static void
fill(struct fx *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct engine_slot *s = &f->slots[i];
		struct pw_msg m;
		memset(&m, 0, sizeof(m));
		m.type = PW_MSG_ORDER;
		m.u.order.seq = i + 1;
		m.u.order.interval = 7;
		m.u.order.expiry_s = 2000000000;
		m.u.order.qty_wh = 100 + (uint32_t)i;
		m.u.order.price_uper_kwh = (int32_t)i - 10;
		m.u.order.side = PW_SIDE_SELL;
		assert_int_equal(pw_wire_encode(&m, (uint64_t)MARKET, &f->hh[i % 3], s->req.buf,
		                                s->req.cap, &s->req.len),
		                 PW_OK);
		if (i % 3 == 2)
			s->req.buf[s->req.len - 1] ^= 0x40; /* last byte of the signature */
		s->state = SLOT_APPLY;
		s->sig_ok = -1;
		s->reply_len = 0;
	}
}

static void
check(const struct fx *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(f->slots[i].sig_ok, i % 3 == 2 ? 0 : 1);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->cfg.market_id = MARKET;
	key(&f->exch, 0x51);
	for (uint8_t k = 0; k < 3; k++)
		key(&f->hh[k], (uint8_t)(0x61 + k));
	f->slots = calloc(2 * N_MAX, sizeof(*f->slots));
	f->bufs = malloc(2 * N_MAX * CAP);
	assert_non_null(f->slots);
	assert_non_null(f->bufs);
	for (size_t i = 0; i < 2 * N_MAX; i++) {
		f->slots[i].req.buf = f->bufs + i * CAP;
		f->slots[i].req.cap = CAP;
	}
	f->e.cfg = &f->cfg;
	f->e.kp = &f->exch;
	f->e.slots = f->slots;
	f->e.n_slots = N_MAX;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	free(f->slots);
	free(f->bufs);
	free(f);
	return 0;
}

/* Every job size against every pool size, the caller running the first
 * chunk itself or not. */
static void
test_every_slot_checked(void **state)
{
	struct fx *f = *state;
	static const size_t threads[] = { 0, 1, 2, 4 };
	static const size_t sizes[] = { 1, 2, 3, 5, 17, N_MAX };
	for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
		struct engine_pool *p = engine_pool_new(&f->e, threads[t]);
		assert_non_null(p);
		for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
			for (size_t keep = 0; keep <= 1; keep++) {
				struct engine_job j;
				memset(&j, 0, sizeof(j));
				fill(f, sizes[z]);
				engine_pool_submit(p, &j, f->slots, sizes[z], PAR_VERIFY, 0, keep);
				engine_pool_wait(p, &j);
				assert_int_equal(j.done, sizes[z]);
				check(f, sizes[z]);
			}
		}
		engine_pool_free(&p);
		assert_null(p);
	}
}

/* As in the pipeline: the next batch's checks queued, then this batch's
 * receipts (REJECTs, signed on the pool) queued behind them, waited for in
 * the other order. */
static void
test_two_jobs_queued(void **state)
{
	struct fx *f = *state;
	struct engine_pool *p = engine_pool_new(&f->e, 2);
	struct engine_job v, s;
	struct engine_slot *rej = f->slots + N_MAX;
	assert_non_null(p);
	fill(f, 9);
	for (size_t i = 0; i < 5; i++) {
		rej[i].state = SLOT_REJECT;
		rej[i].reason = PW_REASON_BAD_SIGNATURE;
		rej[i].decoded = 0;
		rej[i].req.len = 0;
		rej[i].reply_len = 0;
	}
	memset(&v, 0, sizeof(v));
	memset(&s, 0, sizeof(s));
	engine_pool_submit(p, &v, f->slots, 9, PAR_VERIFY, 0, 0);
	engine_pool_submit(p, &s, rej, 5, PAR_SIGN, 1700000000, 0);
	engine_pool_wait(p, &s);
	engine_pool_wait(p, &v);
	check(f, 9);
	for (size_t i = 0; i < 5; i++) {
		struct pw_msg m;
		assert_true(rej[i].reply_len > 0);
		assert_int_equal(pw_wire_verify(rej[i].reply, rej[i].reply_len, (uint64_t)MARKET),
		                 PW_OK);
		assert_int_equal(pw_wire_decode(rej[i].reply, rej[i].reply_len, &m), PW_OK);
		assert_int_equal(m.type, PW_MSG_REJECT);
		assert_memory_equal(m.author, f->exch.pk, PW_PK_LEN);
		assert_int_equal(m.u.receipt.reason, PW_REASON_BAD_SIGNATURE);
	}
	engine_pool_free(&p);
}

/* A job grown in steps, some while queued, one after it was done; the
 * caller runs chunks of it itself in between, as during a COMMIT. */
static void
test_grown_job(void **state)
{
	struct fx *f = *state;
	static const size_t threads[] = { 0, 1, 2 };
	for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
		struct engine_pool *p = engine_pool_new(&f->e, threads[t]);
		struct engine_job j;
		assert_non_null(p);
		memset(&j, 0, sizeof(j));
		fill(f, 40);
		engine_pool_submit(p, &j, f->slots, 3, PAR_VERIFY, 0, 1);
		engine_pool_extend(p, &j, 4, 1); /* slots 3..6 */
		while (engine_pool_help(p, &j))
			;
		engine_pool_wait(p, &j);
		assert_int_equal(j.done, 7);
		engine_pool_extend(p, &j, 1, 1);  /* after it was done: slot 7 */
		engine_pool_extend(p, &j, 32, 0); /* slots 8..39, workers woken */
		engine_pool_wait(p, &j);
		assert_int_equal(j.done, 40);
		assert_int_equal(engine_pool_help(p, &j), 0);
		check(f, 40);
		engine_pool_free(&p);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_slot_checked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_jobs_queued, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grown_job, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
