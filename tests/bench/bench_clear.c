/*
 * bench_clear.c: time to clear one interval's auction (docs/performance.md).
 *
 * Books of 10^3 .. 10^6 orders shaped like a neighbourhood market: limits
 * uniform in [feed-in 80000, retail 300000] u/kWh, quantities 1 .. 5000 Wh,
 * half bids, half asks, arrival numbers increasing (the exchange hands its
 * orders over in arrival order).  The time is one auction_clear() call,
 * allocation of the result included, the fastest of several runs (other
 * load on the machine only ever slows a run down).
 *
 *   BENCH clear_ms_1e3 .. clear_ms_1e6   (target clear_ms_1e6 <= 100)
 *   BENCH clear_100k_ms                  (the same figure as clear_ms_1e5)
 *   BENCH clear_ms_1e6_shuffled          the same book in random order
 *
 * Exit 1 when a book does not clear or clears to a different result when
 * shuffled (a cheap determinism check on big books).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rules/auction.h"
#include "peerwatt/wire.h"

static uint64_t
rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
make_book(struct auction_order *o, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++) {
		o[i].arrival = 1000 + i;
		o[i].qty_wh = 1 + (uint32_t)(rng_next(&seed) % 5000);
		o[i].price_uper_kwh = 80000 + (int32_t)(rng_next(&seed) % 220001);
		o[i].side = (rng_next(&seed) & 1) ? PW_SIDE_BUY : PW_SIDE_SELL;
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Fastest of `runs` clears; the last result is kept in `keep`. */
static int
time_clear(const struct auction_order *o, size_t n, int runs, double *best_ms,
           struct auction_result *keep)
{
	double t[16] = { 0 };
	for (int r = 0; r < runs; r++) {
		struct auction_result res;
		double t0 = now_ms();
		pw_err rc = auction_clear(o, n, &res);
		t[r] = now_ms() - t0;
		if (rc != PW_OK) {
			fprintf(stderr, "bench_clear: auction_clear(%zu): error %d\n", n, (int)rc);
			return -1;
		}
		if (r == runs - 1)
			*keep = res;
		else
			auction_result_free(&res);
	}
	qsort(t, (size_t)runs, sizeof(t[0]), cmp_double);
	*best_ms = t[0];
	return 0;
}

int
main(int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: bench_clear\n");
		return 64;
	}
	static const struct {
		size_t n;
		const char *name;
		int runs;
	} sizes[] = {
		{ 1000, "clear_ms_1e3", 15 },
		{ 10000, "clear_ms_1e4", 11 },
		{ 100000, "clear_ms_1e5", 7 },
		{ 1000000, "clear_ms_1e6", 5 },
	};
	struct auction_order *o = malloc(1000000 * sizeof(*o));
	if (o == NULL)
		return 1;
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		double ms;
		struct auction_result res;
		make_book(o, sizes[s].n, 0xc1ea7 + s);
		if (time_clear(o, sizes[s].n, sizes[s].runs, &ms, &res) != 0)
			return 1;
		printf("BENCH %s %.3f ms%s\n", sizes[s].name, ms,
		       sizes[s].n == 1000000 ? " target <=100" : "");
		if (sizes[s].n == 100000)
			printf("BENCH clear_100k_ms %.3f ms\n", ms);
		printf("# %zu orders: %zu trades, %llu Wh at %d u/kWh\n", sizes[s].n, res.n_trades,
		       (unsigned long long)res.volume_wh, res.price_uper_kwh);
		auction_result_free(&res);
	}

	/* Same 10^6 book handed over in random order: sorted by arrival first. */
	struct auction_result sorted, shuffled;
	make_book(o, 1000000, 0xc1ea7 + 3);
	double ms;
	if (time_clear(o, 1000000, 1, &ms, &sorted) != 0)
		return 1;
	uint64_t seed = 99;
	for (size_t i = 1000000; i > 1; i--) {
		size_t j = (size_t)(rng_next(&seed) % i);
		struct auction_order t = o[i - 1];
		o[i - 1] = o[j];
		o[j] = t;
	}
	if (time_clear(o, 1000000, 5, &ms, &shuffled) != 0)
		return 1;
	printf("BENCH clear_ms_1e6_shuffled %.3f ms\n", ms);
	int same = sorted.price_uper_kwh == shuffled.price_uper_kwh &&
	           sorted.volume_wh == shuffled.volume_wh && sorted.n_trades == shuffled.n_trades;
	auction_result_free(&sorted);
	auction_result_free(&shuffled);
	free(o);
	if (!same) {
		fprintf(stderr, "bench_clear: shuffled book cleared differently\n");
		return 1;
	}
	return 0;
}
