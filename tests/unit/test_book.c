/* test_book.c: the exchange's in-memory book (exchange/book.h): open
 * quantity per household and per price level, DEPTH order and truncation,
 * dropping a cleared interval, the bound, the sequence cache, and the
 * summary two books holding the same open quantity agree on. */
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
	/* the sequence cache has the same bound */
	for (int i = 0; i < 3; i++) {
		pk_of(10 + i, a);
		assert_int_equal(book_seq_put(b, a, 5), PW_OK);
	}
	pk_of(20, a);
	assert_int_equal(book_seq_put(b, a, 5), PW_ERR_FULL);
	book_free(&b);
}

static void
test_seq_cache(void **state)
{
	(void)state;
	struct book *b = NULL;
	uint8_t a[PW_PK_LEN], c[PW_PK_LEN];
	uint64_t v = 0;
	pk_of(1, a);
	pk_of(2, c);
	assert_int_equal(book_new(100, &b), PW_OK);
	assert_false(book_seq_get(b, a, &v));
	assert_int_equal(book_seq_put(b, a, 7), PW_OK);
	assert_int_equal(book_seq_put(b, c, UINT64_MAX), PW_OK);
	assert_int_equal(book_seq_put(b, a, 9), PW_OK);
	assert_true(book_seq_get(b, a, &v));
	assert_int_equal(v, 9);
	assert_true(book_seq_get(b, c, &v));
	assert_true(v == UINT64_MAX);
	/* clearing the book keeps the sequences; clearing them forgets them */
	book_clear(b);
	assert_true(book_seq_get(b, a, &v));
	book_seq_clear(b);
	assert_false(book_seq_get(b, a, &v));
	assert_false(book_seq_get(b, c, &v));
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_close), cmocka_unit_test(test_depth_best_first),
		cmocka_unit_test(test_bound),      cmocka_unit_test(test_seq_cache),
		cmocka_unit_test(test_summary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
