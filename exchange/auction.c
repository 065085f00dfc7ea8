/*
 * auction.c: the uniform-price double auction of one delivery interval
 * (rules: docs/market.md "Clearing"; interface: exchange/auction.h).
 *
 * Owns nothing beyond one call: it ranks the orders by arrival, builds one
 * 64-bit sort key per order (price in the high half, arrival rank in the
 * low half, so every key is distinct and the order is total), radix-sorts
 * bids and asks, and matches them greedily.  Radix sorting keeps a
 * 10^6-order book well under the 100 ms target on one core, and because
 * the keys are distinct the result does not depend on the input order.
 *
 * Called by the exchange at gate closure and by peerwatt-audit on replay.
 */
#include "exchange/auction.h"

#include <stdlib.h>
#include <string.h>

#include "peerwatt/wire.h"

/* Below this, insertion sort beats the histogram passes. */
#define AUCTION_SMALL_SORT 48

/* One order's position in arrival order: the arrival number and its index. */
struct arrival_rank {
	uint64_t arrival;
	uint32_t idx;
};

static void
insertion_sort_u64(uint64_t *a, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		uint64_t v = a[i];
		size_t j = i;
		while (j > 0 && a[j - 1] > v) {
			a[j] = a[j - 1];
			j--;
		}
		a[j] = v;
	}
}

/*
 * LSD radix sort of distinct-or-not u64 keys, 8 passes of 8 bits, skipping
 * the passes whose digit is the same in every key (arrival ranks and
 * prices use few of the 64 bits).  `tmp` has room for n keys.  The result
 * ends up in `a`.
 */
static void
radix_sort_u64(uint64_t *a, uint64_t *tmp, size_t n)
{
	if (n < AUCTION_SMALL_SORT) {
		insertion_sort_u64(a, n);
		return;
	}
	static const unsigned passes = 8;
	size_t count[8][256];
	memset(count, 0, sizeof(count));
	for (size_t i = 0; i < n; i++) {
		uint64_t k = a[i];
		for (unsigned p = 0; p < passes; p++)
			count[p][(k >> (8 * p)) & 0xffu]++;
	}
	uint64_t *src = a, *dst = tmp;
	for (unsigned p = 0; p < passes; p++) {
		size_t *c = count[p];
		/* A digit that is equal in every key does not reorder anything. */
		if (c[(src[0] >> (8 * p)) & 0xffu] == n)
			continue;
		size_t sum = 0;
		for (unsigned d = 0; d < 256; d++) {
			size_t t = c[d];
			c[d] = sum;
			sum += t;
		}
		for (size_t i = 0; i < n; i++) {
			uint64_t k = src[i];
			dst[c[(k >> (8 * p)) & 0xffu]++] = k;
		}
		uint64_t *t = src;
		src = dst;
		dst = t;
	}
	if (src != a)
		memcpy(a, src, n * sizeof(*a));
}

static int
cmp_arrival(const void *pa, const void *pb)
{
	const struct arrival_rank *a = pa, *b = pb;
	if (a->arrival != b->arrival)
		return a->arrival < b->arrival ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/*
 * rank_to_idx[r] = the caller's index of the r-th order by arrival.  The
 * exchange passes its orders already in arrival order (store order id),
 * so the usual cost is one linear check.  PW_ERR_FIELD on a repeated
 * arrival number: ties by arrival must be impossible.
 */
static pw_err
rank_by_arrival(const struct auction_order *orders, size_t n, uint32_t *rank_to_idx)
{
	int sorted = 1;
	for (size_t i = 1; i < n; i++) {
		if (orders[i].arrival <= orders[i - 1].arrival) {
			sorted = 0;
			break;
		}
	}
	if (sorted) {
		for (size_t i = 0; i < n; i++)
			rank_to_idx[i] = (uint32_t)i;
		return PW_OK;
	}
	struct arrival_rank *ar = malloc(n * sizeof(*ar));
	if (ar == NULL)
		return PW_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		ar[i].arrival = orders[i].arrival;
		ar[i].idx = (uint32_t)i;
	}
	qsort(ar, n, sizeof(*ar), cmp_arrival);
	pw_err rc = PW_OK;
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && ar[i].arrival == ar[i - 1].arrival) {
			rc = PW_ERR_FIELD;
			break;
		}
		rank_to_idx[i] = ar[i].idx;
	}
	free(ar);
	return rc;
}

/* Append a trade, growing the array geometrically; `cap` <= `max`. */
static pw_err
push_trade(struct auction_result *r, size_t *cap, size_t max, size_t buy, size_t sell,
           uint32_t qty_wh)
{
	if (r->n_trades == *cap) {
		size_t ncap = *cap == 0 ? 64 : *cap * 2;
		if (ncap > max)
			ncap = max;
		struct auction_trade *t = realloc(r->trades, ncap * sizeof(*t));
		if (t == NULL)
			return PW_ERR_NOMEM;
		r->trades = t;
		*cap = ncap;
	}
	r->trades[r->n_trades].buy = buy;
	r->trades[r->n_trades].sell = sell;
	r->trades[r->n_trades].qty_wh = qty_wh;
	r->n_trades++;
	return PW_OK;
}

/*
 * Walk bids (best first) and asks (best first) while the bid's limit is at
 * least the ask's, filling min(remaining) each step.  Keys were built as
 * (price' << 32 | arrival rank); `rank_to_idx` maps back to the caller.
 */
static pw_err
match(const struct auction_order *orders, const uint32_t *rank_to_idx, const uint64_t *bids,
      size_t nb, const uint64_t *asks, size_t na, struct auction_result *out)
{
	size_t ib = 0, ia = 0, cap = 0;
	/* At most one trade per step and each step exhausts a bid or an ask. */
	size_t max_trades = nb + na;
	uint32_t bid_left = 0, ask_left = 0;
	uint32_t last_bid = 0, last_ask = 0;

	if (nb > 0)
		bid_left = orders[rank_to_idx[(uint32_t)bids[0]]].qty_wh;
	if (na > 0)
		ask_left = orders[rank_to_idx[(uint32_t)asks[0]]].qty_wh;
	while (ib < nb && ia < na) {
		size_t bi = rank_to_idx[(uint32_t)bids[ib]];
		size_t ai = rank_to_idx[(uint32_t)asks[ia]];
		uint32_t bp = orders[bi].price_uper_kwh, ap = orders[ai].price_uper_kwh;
		if (bp < ap)
			break;
		uint32_t q = bid_left < ask_left ? bid_left : ask_left;
		pw_err rc = push_trade(out, &cap, max_trades, bi, ai, q);
		if (rc != PW_OK)
			return rc;
		out->volume_wh += q;
		last_bid = bp;
		last_ask = ap;
		bid_left -= q;
		ask_left -= q;
		if (bid_left == 0 && ++ib < nb)
			bid_left = orders[rank_to_idx[(uint32_t)bids[ib]]].qty_wh;
		if (ask_left == 0 && ++ia < na)
			ask_left = orders[rank_to_idx[(uint32_t)asks[ia]]].qty_wh;
	}
	if (out->n_trades > 0) {
		/* The marginal pair's midpoint, rounded down; in u64 so it cannot wrap. */
		out->price_uper_kwh = (uint32_t)(((uint64_t)last_bid + last_ask) / 2);
	}
	return PW_OK;
}

pw_err
auction_clear(const struct auction_order *orders, size_t n, struct auction_result *out)
{
	memset(out, 0, sizeof(*out));
	if (n == 0)
		return PW_OK;
	if (orders == NULL)
		return PW_ERR_ARG;
	/* The arrival rank lives in 32 bits of the sort key. */
	if (n > UINT32_MAX)
		return PW_ERR_RANGE;
	size_t nb = 0, na = 0;
	for (size_t i = 0; i < n; i++) {
		if (orders[i].qty_wh == 0)
			return PW_ERR_FIELD;
		if (orders[i].side == PW_SIDE_BUY)
			nb++;
		else if (orders[i].side == PW_SIDE_SELL)
			na++;
		else
			return PW_ERR_FIELD;
	}

	uint32_t *rank_to_idx = malloc(n * sizeof(*rank_to_idx));
	uint64_t *keys = malloc(n * sizeof(*keys));
	uint64_t *tmp = malloc(n * sizeof(*tmp));
	pw_err rc = PW_ERR_NOMEM;
	if (rank_to_idx == NULL || keys == NULL || tmp == NULL)
		goto done;
	if ((rc = rank_by_arrival(orders, n, rank_to_idx)) != PW_OK)
		goto done;

	/* Bids first in keys[0..nb), asks in keys[nb..n). */
	uint64_t *bids = keys, *asks = keys + nb;
	size_t jb = 0, ja = 0;
	for (size_t r = 0; r < n; r++) {
		const struct auction_order *o = &orders[rank_to_idx[r]];
		if (o->side == PW_SIDE_BUY) /* highest price first: sort the complement */
			bids[jb++] = ((uint64_t)(UINT32_MAX - o->price_uper_kwh) << 32) | r;
		else
			asks[ja++] = ((uint64_t)o->price_uper_kwh << 32) | r;
	}
	radix_sort_u64(bids, tmp, nb);
	radix_sort_u64(asks, tmp, na);
	rc = match(orders, rank_to_idx, bids, nb, asks, na, out);
done:
	free(rank_to_idx);
	free(keys);
	free(tmp);
	if (rc != PW_OK)
		auction_result_free(out);
	return rc;
}

void
auction_result_free(struct auction_result *r)
{
	if (r == NULL)
		return;
	free(r->trades);
	memset(r, 0, sizeof(*r));
}
