/* test_money.c: the trade-amount rule, overflow checks and the text form. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "peerwatt/money.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void
test_amount_rounds_half_up(void **state)
{
	(void)state;
	static const struct {
		uint64_t qty_wh;
		int64_t price;
		int64_t want_u;
	} t[] = {
		{ 0, 250000, 0 },
		{ 1000, 250000, 250000 },                      /* 1 kWh at 0.25 */
		{ 1, 250000, 250 },                            /* exact */
		{ 1, 1, 0 },                                   /* 0.001 -> 0 */
		{ 1, 499, 0 },                                 /* 0.499 -> 0 */
		{ 1, 500, 1 },                                 /* 0.5 -> 1 (half up) */
		{ 1, 501, 1 },                                 /* 0.501 -> 1 */
		{ 3, 1500, 5 },                                /* 4.5 -> 5 */
		{ 7, 214286, 1500 },                           /* 1500.002 -> 1500 */
		{ 1234, 123457, 152346 },                      /* 152345.938 -> 152346 */
		{ 2500, 1, 3 },                                /* 2.5 -> 3 */
		{ 1500, 1, 2 },                                /* 1.5 -> 2 */
		{ 999, 1, 1 },                                 /* 0.999 -> 1 */
		{ UINT32_MAX, UINT32_MAX, 18446744065119617 }, /* big but fits */
	};
	for (size_t i = 0; i < N(t); i++) {
		int64_t got = -1;
		assert_int_equal(pw_money_amount(t[i].qty_wh, t[i].price, &got), PW_OK);
		assert_true(got == t[i].want_u);
	}
}

static void
test_amount_overflow_at_int64_limit(void **state)
{
	(void)state;
	int64_t got = 0;
	/* qty * price = INT64_MAX * 1000: exactly INT64_MAX */
	assert_int_equal(pw_money_amount((uint64_t)INT64_MAX, 1000, &got), PW_OK);
	assert_true(got == INT64_MAX);
	/* one Wh more at 1000 -> INT64_MAX + 1: overflow */
	got = 7;
	assert_int_equal(pw_money_amount((uint64_t)INT64_MAX + 1u, 1000, &got), PW_ERR_OVERFLOW);
	assert_true(got == 7); /* untouched on error */
	/* (INT64_MAX*1000 + 500) / 1000 rounds up past the limit */
	assert_int_equal(pw_money_amount((uint64_t)INT64_MAX * 2u + 1u, 500, &got),
	                 PW_ERR_OVERFLOW);
	assert_int_equal(pw_money_amount(UINT64_MAX, INT64_MAX, &got), PW_ERR_OVERFLOW);
	/* the negative side: INT64_MIN itself fits, one micro-unit below does not */
	assert_int_equal(pw_money_amount((uint64_t)INT64_MAX + 1u, -1000, &got), PW_OK);
	assert_true(got == INT64_MIN);
	got = 7;
	assert_int_equal(pw_money_amount((uint64_t)INT64_MAX + 2u, -1000, &got), PW_ERR_OVERFLOW);
	assert_true(got == 7);
	assert_int_equal(pw_money_amount(UINT64_MAX, INT64_MIN, &got), PW_ERR_OVERFLOW);
	assert_int_equal(pw_money_amount(UINT64_MAX, 0, &got), PW_OK);
	assert_true(got == 0);
	assert_int_equal(pw_money_amount(1, 1, NULL), PW_ERR_ARG);
}

static void
test_amount_is_monotonic_and_symmetric(void **state)
{
	(void)state;
	/* the rule depends only on the product: qty and price commute */
	for (uint64_t q = 0; q < 200; q += 7)
		for (uint64_t p = 0; p < 5000; p += 37) {
			int64_t a, b;
			assert_int_equal(pw_money_amount(q, (int64_t)p, &a), PW_OK);
			assert_int_equal(pw_money_amount(p, (int64_t)q, &b), PW_OK);
			assert_true(a == b);
			int64_t c;
			assert_int_equal(pw_money_amount(q + 1, (int64_t)p, &c), PW_OK);
			assert_true(c >= a);
			/* within half a micro-unit of the exact value */
			int64_t exact_x1000 = (int64_t)(q * p);
			assert_true(a * 1000 - exact_x1000 <= 500);
			assert_true(exact_x1000 - a * 1000 < 500);
		}
}

/*
 * Negative prices: the same formula floor((qty * price + 500) / 1000) with a
 * true floor, so half a micro-unit still rounds up (toward plus infinity):
 * -0.5 -> 0, -1.5 -> -1, -0.501 -> -1.  C division alone would truncate
 * toward zero and give -0.501 -> 0.
 */
static void
test_amount_negative_price_rounds_half_up(void **state)
{
	(void)state;
	static const struct {
		uint64_t qty_wh;
		int64_t price;
		int64_t want_u;
	} t[] = {
		{ 0, -250000, 0 },
		{ 1000, -250000, -250000 }, /* 1 kWh at -0.25 */
		{ 1, -250000, -250 },       /* exact */
		{ 1, -1, 0 },               /* -0.001 -> 0 */
		{ 1, -499, 0 },             /* -0.499 -> 0 */
		{ 1, -500, 0 },             /* -0.5 -> 0 (half up, not away from 0) */
		{ 1, -501, -1 },            /* -0.501 -> -1 (truncation would say 0) */
		{ 1, -999, -1 },            /* -0.999 -> -1 */
		{ 1, -1000, -1 },           /* exact */
		{ 1, -1500, -1 },           /* -1.5 -> -1 */
		{ 1, -1501, -2 },           /* -1.501 -> -2 */
		{ 3, -1500, -4 },           /* -4.5 -> -4 */
		{ 333, -205001, -68265 },   /* -68265.333 -> -68265 */
		{ 333, -205003, -68266 },   /* -68265.999 -> -68266 */
		{ 2500, -1, -2 },           /* -2.5 -> -2 */
		{ 7, -214286, -1500 },      /* -1500.002 -> -1500 */
		{ UINT32_MAX, INT32_MIN, -9223372034707292 }, /* -9223372034707292.16 */
	};
	for (size_t i = 0; i < N(t); i++) {
		int64_t got = 99;
		assert_int_equal(pw_money_amount(t[i].qty_wh, t[i].price, &got), PW_OK);
		assert_true(got == t[i].want_u);
	}
	/* against the exact rational value, for every sign: amount is the unique
	 * integer with amount - 1/2 <= exact < amount + 1/2 */
	for (int64_t p = -5000; p <= 5000; p += 13)
		for (uint64_t q = 0; q < 120; q += 7) {
			int64_t a;
			assert_int_equal(pw_money_amount(q, p, &a), PW_OK);
			int64_t exact_x1000 = (int64_t)q * p;
			assert_true(a * 1000 - 500 <= exact_x1000);
			assert_true(exact_x1000 < a * 1000 + 500);
		}
}

enum op { ADD, SUB, MUL };

static void
test_arithmetic_overflow(void **state)
{
	(void)state;
	static const struct {
		enum op op;
		int64_t a, b;
		pw_err rc;
		int64_t want;
	} t[] = {
		{ ADD, 1, 2, PW_OK, 3 },
		{ ADD, -5, 3, PW_OK, -2 },
		{ ADD, INT64_MAX, 0, PW_OK, INT64_MAX },
		{ ADD, INT64_MAX, 1, PW_ERR_OVERFLOW, 0 },
		{ ADD, INT64_MIN, -1, PW_ERR_OVERFLOW, 0 },
		{ ADD, INT64_MIN, INT64_MAX, PW_OK, -1 },
		{ SUB, 0, INT64_MIN, PW_ERR_OVERFLOW, 0 },
		{ SUB, -1, INT64_MIN, PW_OK, INT64_MAX },
		{ SUB, INT64_MIN, 1, PW_ERR_OVERFLOW, 0 },
		{ SUB, 10, 25, PW_OK, -15 },
		{ MUL, -3, 4, PW_OK, -12 },
		{ MUL, INT64_MIN, -1, PW_ERR_OVERFLOW, 0 },
		{ MUL, INT64_MAX, 2, PW_ERR_OVERFLOW, 0 },
		{ MUL, INT64_MIN, 1, PW_OK, INT64_MIN },
		{ MUL, 3037000499, 3037000499, PW_OK, 9223372030926249001 },
		{ MUL, 3037000500, 3037000500, PW_ERR_OVERFLOW, 0 },
	};
	for (size_t i = 0; i < N(t); i++) {
		int64_t out = 42;
		pw_err rc = t[i].op == ADD   ? pw_money_add(t[i].a, t[i].b, &out)
		            : t[i].op == SUB ? pw_money_sub(t[i].a, t[i].b, &out)
		                             : pw_money_mul(t[i].a, t[i].b, &out);
		assert_int_equal(rc, t[i].rc);
		if (rc == PW_OK)
			assert_true(out == t[i].want);
		else
			assert_true(out == 42);
	}
	assert_int_equal(pw_money_add(1, 1, NULL), PW_ERR_ARG);
	assert_int_equal(pw_money_sub(1, 1, NULL), PW_ERR_ARG);
	assert_int_equal(pw_money_mul(1, 1, NULL), PW_ERR_ARG);
}

static void
test_format(void **state)
{
	(void)state;
	static const struct {
		int64_t u;
		const char *want;
	} t[] = {
		{ 0, "0.000000" },
		{ 1, "0.000001" },
		{ -1, "-0.000001" },
		{ 250000, "0.250000" },
		{ -12345678, "-12.345678" },
		{ 1000000, "1.000000" },
		{ INT64_MAX, "9223372036854.775807" },
		{ INT64_MIN, "-9223372036854.775808" },
	};
	char buf[32];
	for (size_t i = 0; i < N(t); i++) {
		pw_money_format(t[i].u, buf, sizeof buf);
		assert_string_equal(buf, t[i].want);
	}
	/* too small a buffer gives an empty string, never a truncated figure */
	char small[6] = "xxxxx";
	pw_money_format(1000000, small, sizeof small);
	assert_string_equal(small, "");
	pw_money_format(1, NULL, 10); /* must not crash */
}

static void
test_parse(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		pw_err rc;
		int64_t want;
	} t[] = {
		{ "0", PW_OK, 0 },
		{ "0.25", PW_OK, 250000 },
		{ "+0.25", PW_OK, 250000 },
		{ "-3", PW_OK, -3000000 },
		{ "12.5", PW_OK, 12500000 },
		{ ".5", PW_OK, 500000 },
		{ "5.", PW_ERR_PARSE, 0 },
		{ "0.000001", PW_OK, 1 },
		{ "-0.000001", PW_OK, -1 },
		{ "0.0000001", PW_ERR_PARSE, 0 }, /* finer than a micro-unit */
		{ "9223372036854.775807", PW_OK, INT64_MAX },
		{ "9223372036854.775808", PW_ERR_RANGE, 0 },
		{ "-9223372036854.775808", PW_OK, INT64_MIN },
		{ "-9223372036854.775809", PW_ERR_RANGE, 0 },
		{ "9223372036855", PW_ERR_RANGE, 0 },
		{ "99999999999999999999999", PW_ERR_RANGE, 0 },
		{ "", PW_ERR_PARSE, 0 },
		{ "-", PW_ERR_PARSE, 0 },
		{ ".", PW_ERR_PARSE, 0 },
		{ " 1", PW_ERR_PARSE, 0 },
		{ "1 ", PW_ERR_PARSE, 0 },
		{ "1e3", PW_ERR_PARSE, 0 },
		{ "1,5", PW_ERR_PARSE, 0 },
		{ "--1", PW_ERR_PARSE, 0 },
		{ "0x10", PW_ERR_PARSE, 0 },
		{ "1.2.3", PW_ERR_PARSE, 0 },
	};
	for (size_t i = 0; i < N(t); i++) {
		int64_t out = 42;
		pw_err rc = pw_money_parse(t[i].text, &out);
		if (rc != t[i].rc)
			fail_msg("'%s': got %d want %d", t[i].text, rc, t[i].rc);
		assert_true(out == (rc == PW_OK ? t[i].want : 42));
	}
	int64_t out;
	assert_int_equal(pw_money_parse(NULL, &out), PW_ERR_ARG);
	assert_int_equal(pw_money_parse("1", NULL), PW_ERR_ARG);
}

static void
test_format_parse_round_trip(void **state)
{
	(void)state;
	static const int64_t v[] = { 0,         1,         -1,
		                     999999,    -1000001,  123456789012,
		                     INT64_MAX, INT64_MIN, INT64_MIN + 1 };
	char buf[32];
	for (size_t i = 0; i < N(v); i++) {
		int64_t back = 0;
		pw_money_format(v[i], buf, sizeof buf);
		assert_int_equal(pw_money_parse(buf, &back), PW_OK);
		assert_true(back == v[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_amount_rounds_half_up),
		cmocka_unit_test(test_amount_overflow_at_int64_limit),
		cmocka_unit_test(test_amount_is_monotonic_and_symmetric),
		cmocka_unit_test(test_amount_negative_price_rounds_half_up),
		cmocka_unit_test(test_arithmetic_overflow),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_format_parse_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
