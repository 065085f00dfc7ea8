/*
 * bench_bplan.c: time to make one battery plan, and the simulated week's
 * gain (docs/performance.md "Battery plan"; docs/agent-energy.md "Battery
 * plan").
 *
 * The plan: bplan_make() over the longest horizon (BPLAN_MAX_IVS = 192
 * intervals) of the simulated week's household (tests/unit/bweek.h: its
 * forecast from yesterday's PV and load, the demo's tariffs, the neighbours'
 * evening bids), 10 kWh battery; the fastest and the median of 41 runs
 * (other load on the machine only ever slows a run down).
 *
 *   BENCH bplan_ms_192         fastest, ms        (target <= 20)
 *   BENCH bplan_ms_192_median  median, ms
 *   BENCH bweek_gain_vs_self   the plan's money over the week minus the
 *                              battery left to itself, currency units
 *                              (target >= 1)
 *   BENCH bweek_gain_vs_none   the same against no battery
 *
 * Exit 1 when a plan cannot be made.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tests/unit/bweek.h"

#define RUNS 41

static double
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	static struct bweek w;
	static struct bplan plan;
	struct bplan_iv fc[BPLAN_MAX_IVS];
	struct bplan_battery b = { 10000, 5000, 2000, 2000, 2000, 90, BW_WEAR, false };
	double t[RUNS];

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: bench_bplan\n");
		return 2;
	}
	bw_truth(&w);
	bw_forecast(&w, BW_IVS + 20, fc, BPLAN_MAX_IVS); /* day 1, 10:00 */
	for (int r = 0; r < RUNS; r++) {
		double t0 = now_ms();
		if (bplan_make(&b, fc, BPLAN_MAX_IVS, &plan) != PW_OK) {
			fprintf(stderr, "bench_bplan: bplan_make failed\n");
			return 1;
		}
		t[r] = now_ms() - t0;
	}
	qsort(t, RUNS, sizeof t[0], cmp_double);
	printf("# plan of %d intervals: value %.2f, self %.2f, none %.2f; first step %s: %s\n",
	       BPLAN_MAX_IVS, (double)plan.value_u / 1e6, (double)plan.self_value_u / 1e6,
	       (double)plan.none_value_u / 1e6, bplan_action_name(plan.step[0].action),
	       plan.step[0].reason);
	printf("BENCH bplan_ms_192 %.3f ms target <=20\n", t[0]);
	printf("BENCH bplan_ms_192_median %.3f ms\n", t[RUNS / 2]);

	if (bweek_run(&w) != 0) {
		fprintf(stderr, "bench_bplan: the week could not be planned\n");
		return 1;
	}
	printf("BENCH bweek_gain_vs_self %.2f units target >=1\n",
	       (double)(w.week_u[BW_PLAN] - w.week_u[BW_SELF]) / 1e6);
	printf("BENCH bweek_gain_vs_none %.2f units\n",
	       (double)(w.week_u[BW_PLAN] - w.week_u[BW_NONE]) / 1e6);
	return 0;
}
