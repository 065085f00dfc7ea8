/* test_book.c: the exchange's in-memory book (exchange/book.h): open
 * quantity per household and per price level, DEPTH order and truncation,
 * dropping a cleared interval, the bound, the sequence cache, the
 * summary two books holding the same open quantity agree on, and growth
 * through many incremental doublings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "exchange/book.h"

static void
pk_of(int i, uint8_t pk[PW_PK_LEN])
{
	memset(pk, 0, PW_PK_LEN);
	pk[0] = (uint8_t)i;
	pk[31] = (uint8_t)(i * 7);
}

static void
test_open_close(void **state)
{
	(void)state;
	struct book *b = NULL;
	uint8_t a[PW_PK_LEN], c[PW_PK_LEN];
	pk_of(1, a);
	pk_of(2, c);
	assert_int_equal(book_new(0, &b), PW_ERR_ARG);
	assert_int_equal(book_new(BOOK_MAX_ENTRIES + 1, &b), PW_ERR_ARG);
	assert_int_equal(book_new(1000, &b), PW_OK);
	assert_int_equal(book_open_qty(b, a, 100, PW_SIDE_SELL), 0);
	assert_int_equal(book_add(b, a, 100, PW_SIDE_SELL, 150000, 300), PW_OK);
	assert_int_equal(book_add(b, a, 100, PW_SIDE_SELL, 160000, 200), PW_OK);
	assert_int_equal(book_add(b, c, 100, PW_SIDE_BUY, 200000, 400), PW_OK);
	assert_int_equal(book_add(b, c, 101, PW_SIDE_BUY, 200000, 50), PW_OK);
	assert_int_equal(book_open_qty(b, a, 100, PW_SIDE_SELL), 500);
	assert_int_equal(book_open_qty(b, a, 100, PW_SIDE_BUY), 0);
	assert_int_equal(book_open_qty(b, a, 101, PW_SIDE_SELL), 0);
	assert_int_equal(book_open_qty(b, c, 100, PW_SIDE_BUY), 400);
	/* closing takes the quantity off both sums */
	assert_int_equal(book_add(b, a, 100, PW_SIDE_SELL, 160000, -200), PW_OK);
	assert_int_equal(book_open_qty(b, a, 100, PW_SIDE_SELL), 300);
	struct pw_depth d;
	book_depth(b, 100, &d);
	assert_int_equal(d.interval, 100);
	assert_int_equal(d.n_levels, 2); /* the emptied 160000 level is not shown */
	assert_int_equal(d.levels[0].side, PW_SIDE_BUY);
	assert_int_equal(d.levels[0].price_uper_kwh, 200000);
	assert_int_equal(d.levels[0].qty_wh, 400);
	assert_int_equal(d.levels[1].side, PW_SIDE_SELL);
	assert_int_equal(d.levels[1].price_uper_kwh, 150000);
	assert_int_equal(d.levels[1].qty_wh, 300);
	/* clearing interval 100 forgets it, 101 stays */
	book_drop_interval(b, 100);
	assert_int_equal(book_open_qty(b, a, 100, PW_SIDE_SELL), 0);
	book_depth(b, 100, &d);
	assert_int_equal(d.n_levels, 0);
	assert_int_equal(book_open_qty(b, c, 101, PW_SIDE_BUY), 50);
	book_depth(b, 101, &d);
	assert_int_equal(d.n_levels, 1);
	assert_int_equal(d.levels[0].qty_wh, 50);
	book_free(&b);
	assert_null(b);
	book_free(&b); /* safe on NULL */
}

static void
test_depth_best_first(void **state)
{
	(void)state;
	struct book *b = NULL;
	uint8_t a[PW_PK_LEN];
	assert_int_equal(book_new(10000, &b), PW_OK);
	/* 100 levels a side in a scrambled order, some prices twice */
	for (int k = 0; k < 200; k++) {
		int i = (k * 37) % 100;
		pk_of(i % 5, a);
		assert_int_equal(book_add(b, a, 7, PW_SIDE_BUY, 100000 + i * 10, 1 + i), PW_OK);
		assert_int_equal(book_add(b, a, 7, PW_SIDE_SELL, 200000 + i * 10, 1 + i), PW_OK);
		assert_int_equal(book_add(b, a, 8, PW_SIDE_SELL, 1, 1),
		                 PW_OK); /* another interval */
	}
	struct pw_depth d;
	book_depth(b, 7, &d);
	assert_int_equal(d.n_levels, PW_DEPTH_MAX_LEVELS);
	for (int i = 0; i < PW_DEPTH_MAX_LEVELS / 2; i++) {
		const struct pw_depth_level *buy = &d.levels[i];
		const struct pw_depth_level *sell = &d.levels[PW_DEPTH_MAX_LEVELS / 2 + i];
		assert_int_equal(buy->side, PW_SIDE_BUY); /* highest first */
		assert_int_equal(buy->price_uper_kwh, 100000 + (99 - i) * 10);
		assert_int_equal(buy->qty_wh, 2 * (1 + 99 - i));
		assert_int_equal(sell->side, PW_SIDE_SELL); /* lowest first */
		assert_int_equal(sell->price_uper_kwh, 200000 + i * 10);
		assert_int_equal(sell->qty_wh, 2 * (1 + i));
	}
	book_free(&b);
}

static void
test_bound(void **state)
{
	(void)state;
	struct book *b = NULL;
	uint8_t a[PW_PK_LEN];
	pk_of(1, a);
	assert_int_equal(book_new(3, &b), PW_OK);
	for (int i = 0; i < 3; i++) {
		assert_true(book_room(b));
		assert_int_equal(book_add(b, a, 5, PW_SIDE_SELL, 1000 + i, 10), PW_OK);
	}
	/* three price levels: a fourth does not fit, and changes nothing */
	assert_false(book_room(b));
	assert_int_equal(book_add(b, a, 5, PW_SIDE_SELL, 2000, 10), PW_ERR_FULL);
	assert_int_equal(book_open_qty(b, a, 5, PW_SIDE_SELL), 30);
	/* an existing level still takes more, and a cleared interval frees room */
	assert_int_equal(book_add(b, a, 5, PW_SIDE_SELL, 1000, 10), PW_OK);
	assert_int_equal(book_open_qty(b, a, 5, PW_SIDE_SELL), 40);
	book_drop_interval(b, 5);
	assert_true(book_room(b));
	/* the sequences and the open orders have the same bound */
	for (int i = 0; i < 3; i++) {
		pk_of(10 + i, a);
		assert_int_equal(book_seq_note(b, a, 5), PW_OK);
		assert_int_equal(book_order_put(b, a, 5, 100 + (uint64_t)i, 6), PW_OK);
	}
	pk_of(20, a);
	assert_int_equal(book_seq_note(b, a, 5), PW_ERR_FULL);
	assert_int_equal(book_seq_complete(b, a, 9), 9); /* answered, not kept */
	assert_false(book_seq_get(b, a, &(uint64_t){ 0 }));
	assert_int_equal(book_order_put(b, a, 5, 200, 6), PW_ERR_FULL);
	assert_false(book_room(b));
	pk_of(10, a);
	book_order_del(b, a, 5);
	assert_true(book_room(b));
	book_free(&b);
}

static void
test_seqs(void **state)
{
	(void)state;
	struct book *b = NULL;
	uint8_t a[PW_PK_LEN], c[PW_PK_LEN];
	uint64_t v = 0;
	pk_of(1, a);
	pk_of(2, c);
	assert_int_equal(book_new(100, &b), PW_OK);
	assert_false(book_seq_get(b, a, &v));
	/* noted open orders' seqs are not the whole answer ... */
	assert_int_equal(book_seq_note(b, a, 7), PW_OK);
	assert_int_equal(book_seq_note(b, a, 5), PW_OK);
	assert_false(book_seq_get(b, a, &v));
	/* ... until the database's part is folded in: the larger wins */
	assert_int_equal(book_seq_complete(b, a, 6), 7);
	assert_true(book_seq_get(b, a, &v));
	assert_int_equal(v, 7);
	assert_int_equal(book_seq_note(b, a, 9), PW_OK);
	assert_true(book_seq_get(b, a, &v));
	assert_int_equal(v, 9);
	/* a key with no open order: the database's answer, then cached */
	assert_true(book_seq_complete(b, c, UINT64_MAX - 1) == UINT64_MAX - 1);
	assert_true(book_seq_get(b, c, &v));
	assert_true(v == UINT64_MAX - 1);
	/* clearing the book forgets the sequences too (a rebuild notes them) */
	book_clear(b);
	assert_false(book_seq_get(b, a, &v));
	assert_false(book_seq_get(b, c, &v));
	book_free(&b);
}

static void
test_open_orders(void **state)
{
	(void)state;
	struct book *b = NULL;
	uint8_t a[PW_PK_LEN];
	uint64_t idx;
	assert_int_equal(book_new(100000, &b), PW_OK);
	/* many, so that probe runs form; then every third one closed */
	for (uint64_t i = 0; i < 5000; i++) {
		pk_of((int)(i % 7), a);
		assert_int_equal(book_order_put(b, a, i, 1000 + i, 20 + i % 2), PW_OK);
	}
	pk_of(0, a);
	assert_int_equal(book_order_put(b, a, 0, 1, 20), PW_ERR_EXISTS);
	for (uint64_t i = 0; i < 5000; i += 3) {
		pk_of((int)(i % 7), a);
		book_order_del(b, a, i);
		book_order_del(b, a, i); /* twice: nothing */
	}
	for (uint64_t i = 0; i < 5000; i++) {
		pk_of((int)(i % 7), a);
		int open = book_order_find(b, a, i, &idx);
		assert_int_equal(open, i % 3 != 0);
		if (open)
			assert_int_equal(idx, 1000 + i);
		pk_of((int)(i % 7) + 1, a); /* another key, same seq */
		assert_false(book_order_find(b, a, i, &idx));
	}
	/* clearing interval 20 forgets its open orders, 21 keeps them */
	book_drop_interval(b, 20);
	for (uint64_t i = 0; i < 5000; i++) {
		pk_of((int)(i % 7), a);
		assert_int_equal(book_order_find(b, a, i, &idx), i % 3 != 0 && i % 2 == 1);
	}
	book_free(&b);
}

/* Many orders, some closed, into a book; return it. */
static struct book *
filled(int reverse)
{
	struct book *b = NULL;
	uint8_t a[PW_PK_LEN];
	assert_int_equal(book_new(100000, &b), PW_OK);
	for (int k = 0; k < 3000; k++) {
		int i = reverse ? 2999 - k : k;
		pk_of(i % 32, a);
		uint8_t side = (i % 32) % 2 ? PW_SIDE_BUY : PW_SIDE_SELL;
		int64_t price = 80000 + (i * 7919) % 5000;
		assert_int_equal(book_add(b, a, 10 + (uint64_t)(i % 3), side, price, 1 + i % 11),
		                 PW_OK);
	}
	return b;
}

static void
test_summary(void **state)
{
	(void)state;
	struct book *x = filled(0), *y = filled(1);
	struct book_summary sx, sy;
	uint8_t a[PW_PK_LEN];
	assert_int_equal(book_summary(x, &sx), PW_OK);
	assert_int_equal(book_summary(y, &sy), PW_OK);
	assert_memory_equal(&sx, &sy, sizeof(sx));
	assert_int_equal(sx.households, 32 * 3); /* each key: 3 intervals, one side */
	assert_true(sx.hh_wh == sx.level_wh);
	/* an order opened and closed again leaves a zero entry: not counted */
	pk_of(99, a);
	assert_int_equal(book_add(x, a, 10, PW_SIDE_BUY, 1, 5), PW_OK);
	assert_int_equal(book_summary(x, &sx), PW_OK);
	assert_memory_not_equal(sx.digest, sy.digest, sizeof(sx.digest));
	assert_int_equal(book_add(x, a, 10, PW_SIDE_BUY, 1, -5), PW_OK);
	assert_int_equal(book_summary(x, &sx), PW_OK);
	assert_memory_equal(&sx, &sy, sizeof(sx));
	/* a different quantity at one level changes the digest */
	pk_of(3, a);
	assert_int_equal(book_add(y, a, 10, PW_SIDE_BUY, 80000 + (3 * 7919) % 5000, 1), PW_OK);
	assert_int_equal(book_summary(y, &sy), PW_OK);
	assert_memory_not_equal(sx.digest, sy.digest, sizeof(sx.digest));
	book_free(&x);
	book_free(&y);
}

/* Order k of test_growth: household, interval, price, quantity. */
enum { G_N = 60000, G_HH = 50, G_IV = 5 };

static uint64_t
g_iv(int k)
{
	return (k < G_N / 2 ? 100u : 110u) + (uint64_t)((k / 7) % G_IV);
}

static int64_t
g_price(int k)
{
	return 100000 + (k % 997) * 10;
}

static int64_t
g_qty(int k)
{
	return 1 + k % 13;
}

/* The book against a plain model: each order open or not, its log index,
 * each household's open quantity per interval. */
static void
g_check(const struct book *b, const uint8_t *open, int upto)
{
	uint64_t want[G_HH][2 * G_IV];
	memset(want, 0, sizeof(want));
	for (int k = 0; k < upto; k++) {
		uint8_t pk[PW_PK_LEN];
		uint64_t idx = 0;
		pk_of(k % G_HH, pk);
		assert_int_equal(book_order_find(b, pk, (uint64_t)k, &idx), open[k]);
		if (!open[k])
			continue;
		assert_int_equal(idx, (uint64_t)k + 1000);
		uint64_t iv = g_iv(k);
		want[k % G_HH][(iv >= 110 ? G_IV : 0) + iv % 10] += (uint64_t)g_qty(k);
	}
	for (int h = 0; h < G_HH; h++) {
		uint8_t pk[PW_PK_LEN];
		pk_of(h, pk);
		for (int j = 0; j < 2 * G_IV; j++)
			assert_int_equal(
			    book_open_qty(b, pk, (j < G_IV ? 100u : 110u) + (uint64_t)(j % G_IV),
			                  PW_SIDE_SELL),
			    want[h][j]);
	}
}

/* The depth of a plain model: per side the levels with open quantity, buys
 * highest first, sells lowest first, at most PW_DEPTH_MAX_LEVELS / 2. */
enum { DC_IV = 6, DC_PRICES = 80 };
static void
dc_model(const uint64_t qty[DC_IV][2][DC_PRICES], int iv, struct pw_depth *d)
{
	memset(d, 0, sizeof(*d));
	d->interval = (uint64_t)(500 + iv);
	for (int side = 0; side < 2; side++) {
		int taken = 0;
		for (int k = 0; k < DC_PRICES && taken < PW_DEPTH_MAX_LEVELS / 2; k++) {
			int p = side == 0 ? DC_PRICES - 1 - k : k;
			if (qty[iv][side][p] == 0)
				continue;
			struct pw_depth_level *o = &d->levels[d->n_levels++];
			o->side = side == 0 ? PW_SIDE_BUY : PW_SIDE_SELL;
			o->price_uper_kwh = 100000 + p * 10;
			o->qty_wh = qty[iv][side][p];
			taken++;
		}
	}
}

/*
 * book_depth keeps the best levels of the intervals it was asked for and
 * follows every change of the book (book.c, struct depth_cache): through
 * 40000 random opens and closes over 6 intervals (more than it keeps) and
 * 80 prices a side, levels emptying at the top, and intervals dropped,
 * every depth equals the one of a plain model.
 */
static void
test_depth_follows(void **state)
{
	(void)state;
	static uint64_t qty[DC_IV][2][DC_PRICES];
	struct book *b = NULL;
	uint8_t pk[PW_PK_LEN];
	uint64_t r = 0x9e3779b97f4a7c15u;
	memset(qty, 0, sizeof(qty));
	pk_of(1, pk);
	assert_int_equal(book_new(100000, &b), PW_OK);
	for (int k = 0; k < 40000; k++) {
		r = r * 6364136223846793005u + 1442695040888963407u;
		int iv = (int)((r >> 33) % DC_IV), side = (int)((r >> 40) & 1);
		int p = (int)((r >> 41) % DC_PRICES);
		uint8_t s = side == 0 ? PW_SIDE_BUY : PW_SIDE_SELL;
		int64_t price = 100000 + p * 10;
		if ((r >> 20) % 3 == 0 && qty[iv][side][p] > 0) { /* close some or all */
			int64_t q = (r >> 24) % 2 ? (int64_t)qty[iv][side][p] : 1;
			assert_int_equal(book_add(b, pk, (uint64_t)(500 + iv), s, price, -q),
			                 PW_OK);
			qty[iv][side][p] -= (uint64_t)q;
		} else {
			int64_t q = 1 + (int64_t)((r >> 50) % 5);
			assert_int_equal(book_add(b, pk, (uint64_t)(500 + iv), s, price, q), PW_OK);
			qty[iv][side][p] += (uint64_t)q;
		}
		if (k % 9973 == 9972) { /* an interval cleared */
			book_drop_interval(b, (uint64_t)(500 + iv));
			memset(qty[iv], 0, sizeof(qty[iv]));
		}
		if (k % 7 == 0) {
			struct pw_depth got, want;
			int ask = (int)((r >> 12) % DC_IV);
			book_depth(b, (uint64_t)(500 + ask), &got);
			dc_model(qty, ask, &want);
			assert_memory_equal(&got, &want, sizeof(got));
		}
	}
	book_free(&b);
}

/*
 * The tables double incrementally (book.c): through eleven doublings (the
 * last ones of the open orders' table into slots prepared ahead, from
 * 2^15 slots on), with orders closed and an interval dropped while former
 * slots are still being moved over and while the next ones are prepared,
 * every open order is found with its log index, no closed one is, the
 * open quantities match a plain model, and the depth and summary equal
 * those of a book given only what is left open.
 */
static void
test_growth(void **state)
{
	(void)state;
	struct book *b = NULL, *fresh = NULL;
	uint8_t *open = calloc(G_N, 1);
	assert_non_null(open);
	assert_int_equal(book_new(BOOK_MAX_ENTRIES, &b), PW_OK);
	for (int k = 0; k < G_N; k++) {
		uint8_t pk[PW_PK_LEN];
		pk_of(k % G_HH, pk);
		assert_int_equal(book_order_put(b, pk, (uint64_t)k, (uint64_t)k + 1000, g_iv(k)),
		                 PW_OK);
		assert_int_equal(book_add(b, pk, g_iv(k), PW_SIDE_SELL, g_price(k), g_qty(k)),
		                 PW_OK);
		open[k] = 1;
		if (k % 3 == 0 && open[k / 2]) { /* close an older one */
			int c = k / 2;
			pk_of(c % G_HH, pk);
			book_order_del(b, pk, (uint64_t)c);
			assert_int_equal(
			    book_add(b, pk, g_iv(c), PW_SIDE_SELL, g_price(c), -g_qty(c)), PW_OK);
			open[c] = 0;
		}
		if (k == G_N / 2) { /* interval 102 cleared */
			book_drop_interval(b, 102);
			for (int c = 0; c <= k; c++)
				if (g_iv(c) == 102)
					open[c] = 0;
		}
		if (k % 997 == 0)
			g_check(b, open, k + 1);
	}
	g_check(b, open, G_N);
	assert_int_equal(book_new(BOOK_MAX_ENTRIES, &fresh), PW_OK);
	for (int k = 0; k < G_N; k++) {
		uint8_t pk[PW_PK_LEN];
		if (!open[k])
			continue;
		pk_of(k % G_HH, pk);
		assert_int_equal(book_add(fresh, pk, g_iv(k), PW_SIDE_SELL, g_price(k), g_qty(k)),
		                 PW_OK);
	}
	struct book_summary sb, sf;
	assert_int_equal(book_summary(b, &sb), PW_OK);
	assert_int_equal(book_summary(fresh, &sf), PW_OK);
	assert_true(sb.levels > 4000);
	assert_memory_equal(&sb, &sf, sizeof(sb));
	for (uint64_t iv = 100; iv < 115; iv++) {
		struct pw_depth db, df;
		book_depth(b, iv, &db);
		book_depth(fresh, iv, &df);
		assert_memory_equal(&db, &df, sizeof(db));
	}
	book_free(&b);
	book_free(&fresh);
	free(open);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_close),  cmocka_unit_test(test_depth_best_first),
		cmocka_unit_test(test_bound),       cmocka_unit_test(test_seqs),
		cmocka_unit_test(test_open_orders), cmocka_unit_test(test_summary),
		cmocka_unit_test(test_growth),      cmocka_unit_test(test_depth_follows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
