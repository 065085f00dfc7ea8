/*
 * test_cosign.c: the exchange's cosignatures (exchange/cosign.c) over an
 * in-memory database with a real settlement log: a COSIGN of a checkpoint
 * the exchange signed is accepted, one of a root, size or origin it never
 * signed is unknown_head, a second one by a household for the same or a
 * smaller size is replay; QUERY COSIGNED's set is the CHECKPOINT frame then
 * the COSIGN frames in log order, for a size or the largest cosigned.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "exchange/cosign.h"
#include "exchange/mlog.h"
#include "peerwatt/keys.h"
#include "peerwatt/wire.h"

#define MARKET 0x1122334455667788ull
#define ORIGIN "cosign-test"

struct fx {
	sqlite3 *db;
	struct mlog *m;
	struct pw_keypair exch, h1, h2;
	struct pw_msg cp[2]; /* two checkpoints, sizes 3 and 6 */
};

static void
exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err ? err : "?");
}

static void
key(struct pw_keypair *kp, uint8_t b)
{
	uint8_t seed[PW_SEED_LEN];
	memset(seed, b, sizeof(seed));
	assert_int_equal(pw_key_from_seed(kp, seed), PW_OK);
}

/* Three entries, then a checkpoint (into f->cp[k]). */
static void
grow(struct fx *f, int k)
{
	uint8_t frame[256];
	size_t len;
	uint64_t idx;
	exec(f->db, "BEGIN");
	for (int i = 0; i < 3; i++) {
		struct pw_msg o;
		memset(&o, 0, sizeof(o));
		o.type = PW_MSG_ORDER;
		o.u.order.seq = (uint64_t)(10 * k + i + 1);
		o.u.order.interval = 100;
		o.u.order.expiry_s = 1000;
		o.u.order.qty_wh = 5;
		o.u.order.side = PW_SIDE_BUY;
		assert_int_equal(pw_wire_encode(&o, MARKET, &f->h1, frame, sizeof(frame), &len),
		                 PW_OK);
		assert_int_equal(mlog_append(f->m, frame, len, &idx), PW_OK);
	}
	assert_int_equal(mlog_checkpoint(f->m, &f->exch, MARKET, ORIGIN, 100,
	                                 1700000000u + (unsigned)k, frame, sizeof(frame), &len),
	                 PW_OK);
	exec(f->db, "COMMIT");
	assert_int_equal(pw_wire_decode(frame, len, &f->cp[k]), PW_OK);
}

static int
setup(void **state)
{
	static struct fx f;
	memset(&f, 0, sizeof(f));
	assert_int_equal(pw_crypto_init(), PW_OK);
	key(&f.exch, 1);
	key(&f.h1, 2);
	key(&f.h2, 3);
	assert_int_equal(sqlite3_open(":memory:", &f.db), SQLITE_OK);
	assert_int_equal(mlog_open(&f.m, f.db), PW_OK);
	assert_int_equal(cosign_init(f.db), PW_OK);
	assert_int_equal(cosign_init(f.db), PW_OK); /* idempotent */
	grow(&f, 0);
	grow(&f, 1);
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	mlog_close(&f->m);
	sqlite3_close(f->db);
	return 0;
}

/* A COSIGN by kp of checkpoint c (signed, decoded into *m, frame in buf). */
static size_t
cosign_of(const struct pw_keypair *kp, const struct pw_checkpoint *c, struct pw_msg *m,
          uint8_t *buf, size_t cap)
{
	size_t len;
	memset(m, 0, sizeof(*m));
	m->type = PW_MSG_COSIGN;
	memcpy(m->u.cosign.origin, c->origin, PW_ORIGIN_LEN);
	m->u.cosign.tree_size = c->tree_size;
	memcpy(m->u.cosign.root, c->root, PW_HASH_LEN);
	m->u.cosign.time_s = c->time_s;
	assert_int_equal(pw_wire_encode(m, MARKET, kp, buf, cap, &len), PW_OK);
	return len;
}

static enum pw_reason
check(struct fx *f, const struct pw_msg *m)
{
	enum pw_reason r = PW_REASON_MALFORMED;
	assert_int_equal(cosign_check(f->db, m, &r), PW_OK);
	return r;
}

static void
test_rules(void **state)
{
	struct fx *f = *state;
	struct pw_msg m;
	uint8_t buf[256];
	size_t len;

	assert_int_equal(f->cp[0].u.checkpoint.tree_size, 3);
	assert_int_equal(f->cp[1].u.checkpoint.tree_size, 6);
	len = cosign_of(&f->h1, &f->cp[0].u.checkpoint, &m, buf, sizeof(buf));
	assert_int_equal(len, 178);
	assert_int_equal(check(f, &m), PW_REASON_OK);
	/* a root, size or origin the exchange never signed */
	m.u.cosign.root[5] ^= 1;
	assert_int_equal(check(f, &m), PW_REASON_UNKNOWN_HEAD);
	m.u.cosign.root[5] ^= 1;
	m.u.cosign.tree_size = 4;
	assert_int_equal(check(f, &m), PW_REASON_UNKNOWN_HEAD);
	m.u.cosign.tree_size = 3;
	m.u.cosign.origin[0] = 'X';
	assert_int_equal(check(f, &m), PW_REASON_UNKNOWN_HEAD);
	m.u.cosign.origin[0] = ORIGIN[0];
	/* accepted once; again for that size or a smaller one: replay */
	assert_int_equal(cosign_insert(f->db, &m, 6, buf, len), PW_OK);
	assert_int_equal(check(f, &m), PW_REASON_REPLAY);
	len = cosign_of(&f->h1, &f->cp[1].u.checkpoint, &m, buf, sizeof(buf));
	assert_int_equal(check(f, &m), PW_REASON_OK);
	assert_int_equal(cosign_insert(f->db, &m, 7, buf, len), PW_OK);
	(void)cosign_of(&f->h1, &f->cp[0].u.checkpoint, &m, buf, sizeof(buf));
	assert_int_equal(check(f, &m), PW_REASON_REPLAY);
	/* another household: its own sizes */
	(void)cosign_of(&f->h2, &f->cp[0].u.checkpoint, &m, buf, sizeof(buf));
	assert_int_equal(check(f, &m), PW_REASON_OK);
}

static void
test_collect(void **state)
{
	struct fx *f = *state;
	struct pw_msg m, d;
	uint8_t b1[256], b2[256];
	size_t l1, l2;
	struct cosign_set set;

	assert_int_equal(cosign_collect(f->db, 0, &set), PW_ERR_NOTFOUND);
	l1 = cosign_of(&f->h2, &f->cp[1].u.checkpoint, &m, b2, sizeof(b2));
	assert_int_equal(cosign_insert(f->db, &m, 9, b2, l1), PW_OK);
	l2 = cosign_of(&f->h1, &f->cp[1].u.checkpoint, &m, b1, sizeof(b1));
	assert_int_equal(cosign_insert(f->db, &m, 10, b1, l2), PW_OK);
	for (int size = 0; size <= 6; size += 6) {
		assert_int_equal(cosign_collect(f->db, (uint64_t)size, &set), PW_OK);
		assert_int_equal(set.tree_size, 6);
		assert_int_equal(set.n, 3);
		assert_int_equal(pw_wire_open(set.frames[0], set.lens[0], MARKET, &d), PW_OK);
		assert_int_equal(d.type, PW_MSG_CHECKPOINT);
		assert_int_equal(d.u.checkpoint.tree_size, 6);
		/* log order: h2's (entry 9), then h1's (entry 10) */
		assert_int_equal(set.lens[1], l1);
		assert_memory_equal(set.frames[1], b2, l1);
		assert_memory_equal(set.frames[2], b1, l2);
		cosign_set_free(&set);
		assert_null(set.frames);
	}
	/* a size with no checkpoint; a checkpoint nobody cosigned */
	assert_int_equal(cosign_collect(f->db, 5, &set), PW_ERR_NOTFOUND);
	assert_int_equal(cosign_collect(f->db, 3, &set), PW_OK);
	assert_int_equal(set.n, 1);
	cosign_set_free(&set);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_collect, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
