/* test_fmt.c: prices as ct/kWh (exact, two decimals at least) and intervals
 * as their number with the UTC start time, table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "peerwatt/fmt.h"

static void
test_price(void **state)
{
	static const struct {
		int64_t uper;
		const char *want;
	} cases[] = {
		{ 250000, "25.00 ct/kWh" },
		{ 80000, "8.00 ct/kWh" },
		{ 178750, "17.875 ct/kWh" },
		{ 0, "0.00 ct/kWh" },
		{ 1, "0.0001 ct/kWh" },
		{ 175000, "17.50 ct/kWh" },
		{ 4294967295, "429496.7295 ct/kWh" },
		{ -35000, "-3.50 ct/kWh" },
		{ -1, "-0.0001 ct/kWh" },
		{ -9999, "-0.9999 ct/kWh" },
		{ -178750, "-17.875 ct/kWh" },
		{ INT32_MIN, "-214748.3648 ct/kWh" },
		{ INT64_MIN, "-922337203685477.5808 ct/kWh" },
	};
	char buf[PW_FMT_LEN];
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pw_fmt_price(cases[i].uper, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].want);
	}
	/* a short buffer is cut, never overrun */
	pw_fmt_price(250000, buf, 4);
	assert_string_equal(buf, "25.");
}

static void
test_interval(void **state)
{
	char buf[PW_FMT_LEN];
	(void)state;
	pw_fmt_interval(359315281, 5, buf, sizeof(buf));
	assert_string_equal(buf, "359315281 (2026-12-06T17:00:05Z)");
	pw_fmt_interval(1996196, 900, buf, sizeof(buf));
	assert_string_equal(buf, "1996196 (2026-12-06T17:00:00Z)");
	pw_fmt_interval(0, 900, buf, sizeof(buf));
	assert_string_equal(buf, "0 (1970-01-01T00:00:00Z)");
	/* nonsense: the number alone */
	pw_fmt_interval(7, 0, buf, sizeof(buf));
	assert_string_equal(buf, "7");
	pw_fmt_interval(UINT64_MAX, 900, buf, sizeof(buf));
	assert_string_equal(buf, "18446744073709551615");
}

static void
test_power(void **state)
{
	static const struct {
		uint64_t w;
		const char *want;
	} cases[] = {
		{ 0, "0 W" },
		{ 800, "800 W" },
		{ 999, "999 W" },
		{ 1000, "1 kW" },
		{ 3680, "3.68 kW" },
		{ 5001, "5.001 kW" },
		{ 999999, "999.999 kW" },
		{ 1000000, "1 MW" },
		{ 3600000, "3.6 MW" },
		{ 4294967295u, "4294.967295 MW" },
	};
	char buf[PW_FMT_LEN];
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pw_fmt_power(cases[i].w, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].want);
	}
	pw_fmt_power(UINT64_MAX, buf, sizeof(buf));
	assert_string_equal(buf, "18446744073709.551615 MW");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_price),
		cmocka_unit_test(test_interval),
		cmocka_unit_test(test_power),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
