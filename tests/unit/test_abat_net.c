/* test_abat_net.c: what the battery household's forecasts learn from a
 * closed interval (abat_net_wh, docs/agent-energy.md "Battery"): the
 * surplus and the need the grid would have shown without the battery;
 * without a battery export and import as they are. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "agent/agentd_int.h"

static void
test_net(void **state)
{
	(void)state;
	static const struct {
		uint64_t exp, imp;
		int has_bat;
		uint64_t chg, dis;
		uint64_t surplus, need;
	} cases[] = {
		/* no battery: export and import as they are, both at once too */
		{ 300, 0, 0, 0, 0, 300, 0 },
		{ 0, 250, 0, 0, 0, 0, 250 },
		{ 120, 80, 0, 999, 999, 120, 80 },
		/* midday: the battery took 400 of a 500 Wh surplus, 100 exported */
		{ 100, 0, 1, 400, 0, 500, 0 },
		/* evening: the battery covered 300 Wh of load and sold 500 */
		{ 500, 0, 1, 0, 800, 0, 300 },
		/* the battery covered part of the load, the rest imported */
		{ 0, 120, 1, 0, 200, 0, 320 },
		/* charged from the grid: the household's own need is the rest */
		{ 0, 900, 1, 700, 0, 0, 200 },
		/* a battery that did nothing */
		{ 40, 0, 1, 0, 0, 40, 0 },
		{ 0, 0, 1, 0, 0, 0, 0 },
		/* absurd values saturate instead of wrapping */
		{ UINT64_MAX, 0, 1, 0, 0, UINT64_C(1) << 60, 0 },
		{ 0, UINT64_MAX, 1, 0, 0, 0, UINT64_C(1) << 60 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t need = 12345;
		uint64_t sur = abat_net_wh(cases[i].exp, cases[i].imp, cases[i].has_bat,
		                           cases[i].chg, cases[i].dis, &need);
		if (sur != cases[i].surplus || need != cases[i].need)
			fail_msg("case %zu: surplus %llu need %llu, want %llu %llu", i,
			         (unsigned long long)sur, (unsigned long long)need,
			         (unsigned long long)cases[i].surplus,
			         (unsigned long long)cases[i].need);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_net),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
