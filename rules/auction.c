/*
 * auction.c: the uniform-price double auction of one delivery interval
 * (rules: docs/market.md "Clearing"; interface: rules/auction.h).
 *
 * Owns nothing beyond one call.  It lays the orders out in arrival order
 * (one check when they come that way, a radix sort otherwise), splits them
 * into bids and asks, sorts each side with a stable LSD radix sort on the
 * distance from the side's best price (stable, so equal prices stay in
 * arrival order: price-time priority without comparing arrivals again),
 * and walks both sides once.  Radix sorting keeps a 10^6-order book well
 * under the 100 ms target on one core, and since the order of the result
 * depends only on prices and arrival numbers, shuffled input clears the
 * same.
 *
 * Called by the exchange at gate closure and by peerwatt-audit on replay.
 */
#include "rules/auction.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "peerwatt/wire.h"

/* Below this, insertion sort beats the histogram passes. */
#define AUCTION_SMALL_SORT 64
/* Radix digit width: 2048 counters stay in the L1 cache. */
#define DIGIT_BITS 11
#define DIGIT_MASK ((1u << DIGIT_BITS) - 1)

/*
 * One order on its way through the sorts.  `key` low 32 bits: the sort key
 * (arrival offset, or the price distance from the side's best price); high
 * 32 bits: the limit price offset by 2^31 (PRICE_BIAS, so that a signed
 * price is an unsigned field), so the greedy walk never goes back to the
 * caller's array.  Sixteen bytes keep the walk sequential in memory.
 */
struct rec {
	uint64_t key;
	uint32_t qty_wh;
	uint32_t idx; /* the caller's index */
};

#define PRICE_BIAS       ((int64_t)1 << 31)
#define REC_PRICE(r)     ((int32_t)((int64_t)((r)->key >> 32) - PRICE_BIAS))
#define REC_PRICE_KEY(p) ((uint64_t)((int64_t)(p) + PRICE_BIAS) << 32)

/*
 * The sort buffers of a large book (one block for the three): a mapping
 * of their own that the kernel may back with 2 MiB pages (transparent
 * huge pages, on request), so touching 32 MB of fresh memory takes a few
 * dozen page faults instead of 8192.  A page fault is several us in a VM:
 * 10^6 orders took 100 ms in small pages, 15 ms when the memory was
 * already mapped (docs/performance.md).  Small blocks come from malloc.
 */
#define BIG_ALLOC_MIN ((size_t)4 << 20)

static void *
big_alloc(size_t bytes)
{
#if defined(MADV_HUGEPAGE)
	if (bytes >= BIG_ALLOC_MIN) {
		void *p =
		    mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		(void)madvise(p, bytes, MADV_HUGEPAGE); /* a hint: small pages work too */
		return p;
	}
#endif
	return malloc(bytes);
}

static void
big_free(void *p, size_t bytes)
{
	if (p == NULL)
		return;
#if defined(MADV_HUGEPAGE)
	if (bytes >= BIG_ALLOC_MIN) {
		(void)munmap(p, bytes);
		return;
	}
#endif
	free(p);
}

/* Number of bits needed for values 0 .. max. */
static unsigned
bits_for(uint64_t max)
{
	unsigned b = 0;
	while (max != 0) {
		b++;
		max >>= 1;
	}
	return b;
}

/* Stable insertion sort on the low `bits` bits of key (the value `mask`). */
static void
insertion_sort(struct rec *a, size_t n, uint64_t mask)
{
	for (size_t i = 1; i < n; i++) {
		struct rec v = a[i];
		size_t j = i;
		while (j > 0 && (a[j - 1].key & mask) > (v.key & mask)) {
			a[j] = a[j - 1];
			j--;
		}
		a[j] = v;
	}
}

/*
 * Stable LSD radix sort of `a` on the low `bits` bits of `key`, in digits of
 * DIGIT_BITS, skipping a digit that is the same in every record.  `tmp` has
 * room for n records; the result ends up in `a`.  Stability is what makes
 * ties fall back on the order the records came in (arrival order).
 */
static void
radix_sort(struct rec *a, struct rec *tmp, size_t n, unsigned bits)
{
	uint64_t mask = bits >= 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
	if (n < AUCTION_SMALL_SORT) {
		insertion_sort(a, n, mask);
		return;
	}
	struct rec *src = a, *dst = tmp;
	for (unsigned shift = 0; shift < bits; shift += DIGIT_BITS) {
		uint32_t hist[1u << DIGIT_BITS];
		memset(hist, 0, sizeof(hist));
		for (size_t i = 0; i < n; i++)
			hist[((src[i].key & mask) >> shift) & DIGIT_MASK]++;
		/* A digit equal in every record would not reorder anything. */
		if (hist[((src[0].key & mask) >> shift) & DIGIT_MASK] == n)
			continue;
		uint32_t sum = 0;
		for (unsigned d = 0; d <= DIGIT_MASK; d++) {
			uint32_t t = hist[d];
			hist[d] = sum;
			sum += t;
		}
		for (size_t i = 0; i < n; i++)
			dst[hist[((src[i].key & mask) >> shift) & DIGIT_MASK]++] = src[i];
		struct rec *t = src;
		src = dst;
		dst = t;
	}
	if (src != a)
		memcpy(a, src, n * sizeof(*a));
}
/*
 * Append the records of `orders` in arrival order to `bids` / `asks`, with
 * key = (price << 32) | distance from the side's best price.  The exchange
 * passes orders sorted by arrival (store order id), so the usual cost is
 * one check; otherwise the orders are radix-sorted by arrival first.
 * PW_ERR_FIELD on a repeated arrival number: ties by arrival must be
 * impossible.
 */
static pw_err
split_by_side(const struct auction_order *orders, size_t n, struct rec *bids, struct rec *asks,
              struct rec *scratch, struct rec *tmp, int32_t bid_max, int32_t ask_min)
{
	int sorted = 1;
	uint64_t amin = orders[0].arrival;
	uint64_t amax = amin;
	for (size_t i = 1; i < n; i++) {
		if (orders[i].arrival <= orders[i - 1].arrival)
			sorted = 0;
		if (orders[i].arrival < amin)
			amin = orders[i].arrival;
		if (orders[i].arrival > amax)
			amax = orders[i].arrival;
	}
	if (!sorted) {
		for (size_t i = 0; i < n; i++) {
			scratch[i].key = orders[i].arrival - amin;
			scratch[i].idx = (uint32_t)i;
		}
		radix_sort(scratch, tmp, n, bits_for(amax - amin));
		for (size_t i = 1; i < n; i++)
			if (scratch[i].key == scratch[i - 1].key)
				return PW_ERR_FIELD;
	}
	size_t jb = 0, ja = 0;
	for (size_t r = 0; r < n; r++) {
		uint32_t i = sorted ? (uint32_t)r : scratch[r].idx;
		const struct auction_order *o = &orders[i];
		uint64_t price = REC_PRICE_KEY(o->price_uper_kwh);
		/* distances in 64 bits: they span up to 2^32 - 1 across zero */
		if (o->side == PW_SIDE_BUY) { /* highest price first */
			bids[jb].key = price | (uint32_t)((int64_t)bid_max - o->price_uper_kwh);
			bids[jb].qty_wh = o->qty_wh;
			bids[jb++].idx = i;
		} else {
			asks[ja].key = price | (uint32_t)((int64_t)o->price_uper_kwh - ask_min);
			asks[ja].qty_wh = o->qty_wh;
			asks[ja++].idx = i;
		}
	}
	return PW_OK;
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
 * least the ask's, filling min(remaining) each step; both arrays are
 * consumed in place (their qty_wh is the remaining quantity).
 */
static pw_err
match(struct rec *bids, size_t nb, struct rec *asks, size_t na, struct auction_result *out)
{
	size_t ib = 0, ia = 0, cap = 0;
	/* Each step exhausts a bid or an ask, so there are fewer than nb + na. */
	size_t max_trades = nb + na;
	int32_t last_bid = 0, last_ask = 0;

	while (ib < nb && ia < na) {
		struct rec *b = &bids[ib], *a = &asks[ia];
		int32_t bp = REC_PRICE(b), ap = REC_PRICE(a);
		if (bp < ap)
			break;
		uint32_t q = b->qty_wh < a->qty_wh ? b->qty_wh : a->qty_wh;
		pw_err rc = push_trade(out, &cap, max_trades, b->idx, a->idx, q);
		if (rc != PW_OK)
			return rc;
		out->volume_wh += q;
		last_bid = bp;
		last_ask = ap;
		b->qty_wh -= q;
		a->qty_wh -= q;
		if (b->qty_wh == 0)
			ib++;
		if (a->qty_wh == 0)
			ia++;
	}
	if (out->n_trades > 0) {
		/* The marginal pair's midpoint rounded down (toward minus
		 * infinity, also below zero: C division would truncate toward
		 * zero); in 64 bits so the sum cannot wrap.  It lies between
		 * the two limits, so it fits an int32. */
		int64_t sum = (int64_t)last_bid + last_ask;
		int64_t mid = sum / 2 - (sum % 2 < 0 ? 1 : 0);
		out->price_uper_kwh = (int32_t)mid;
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
	/* Caller indices are kept in 32 bits. */
	if (n > UINT32_MAX || n > SIZE_MAX / (3 * sizeof(struct rec)))
		return PW_ERR_RANGE;
	size_t nb = 0, na = 0;
	int32_t bid_min = INT32_MAX, bid_max = INT32_MIN, ask_min = INT32_MAX, ask_max = INT32_MIN;
	for (size_t i = 0; i < n; i++) {
		const struct auction_order *o = &orders[i];
		if (o->qty_wh == 0)
			return PW_ERR_FIELD;
		if (o->side == PW_SIDE_BUY) {
			nb++;
			bid_min = o->price_uper_kwh < bid_min ? o->price_uper_kwh : bid_min;
			bid_max = o->price_uper_kwh > bid_max ? o->price_uper_kwh : bid_max;
		} else if (o->side == PW_SIDE_SELL) {
			na++;
			ask_min = o->price_uper_kwh < ask_min ? o->price_uper_kwh : ask_min;
			ask_max = o->price_uper_kwh > ask_max ? o->price_uper_kwh : ask_max;
		} else {
			return PW_ERR_FIELD;
		}
	}

	/* one block of three n-record buffers: recs (bids in [0, nb), asks in
	 * [nb, n)); scratch and tmp (the arrival sort and the radix sort's
	 * second buffer); scratch is never touched for a book in arrival
	 * order, so its pages are never faulted in */
	size_t bytes = 3 * n * sizeof(struct rec);
	struct rec *recs = big_alloc(bytes);
	struct rec *scratch = recs ? recs + n : NULL;
	struct rec *tmp = recs ? recs + 2 * n : NULL;
	pw_err rc = PW_ERR_NOMEM;
	if (recs == NULL || scratch == NULL || tmp == NULL)
		goto done;
	struct rec *bids = recs, *asks = recs + nb;
	rc = split_by_side(orders, n, bids, asks, scratch, tmp, bid_max, ask_min);
	if (rc != PW_OK)
		goto done;
	/* Records are in arrival order, so a stable sort on the price distance
	 * alone gives price-then-arrival order. */
	if (nb > 0)
		radix_sort(bids, tmp, nb, bits_for((uint64_t)((int64_t)bid_max - bid_min)));
	if (na > 0)
		radix_sort(asks, tmp, na, bits_for((uint64_t)((int64_t)ask_max - ask_min)));
	rc = match(bids, nb, asks, na, out);
done:
	big_free(recs, bytes);
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
