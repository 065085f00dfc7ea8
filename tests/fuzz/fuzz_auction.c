/*
 * fuzz_auction.c: libFuzzer property harness for the auction and the
 * settlement arithmetic (rules/auction.c, rules/settle.c).
 *
 * The input is read as up to 96 orders of 8 bytes (arrival gap, quantity,
 * price, side, reading) so that the fuzzer controls ties, crossings and
 * bad fields.  After clearing it checks what docs/market.md promises and
 * traps on any violation: no trade outside a limit, fills within
 * quantities, volume maximal over every uniform price, the price from the
 * marginal pair, the same result for the reversed input; then it settles
 * every order's household and checks that the statements balance.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules/auction.h"
#include "rules/settle.h"
#include "peerwatt/wire.h"

#define MAX_ORDERS 96
#define REC_LEN    8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

static uint64_t
max_uniform_volume(const struct auction_order *o, size_t n)
{
	uint64_t best = 0;
	for (size_t c = 0; c < n; c++) {
		uint64_t d = 0, s = 0;
		for (size_t i = 0; i < n; i++) {
			if (o[i].side == PW_SIDE_BUY && o[i].price_uper_kwh >= o[c].price_uper_kwh)
				d += o[i].qty_wh;
			if (o[i].side == PW_SIDE_SELL && o[i].price_uper_kwh <= o[c].price_uper_kwh)
				s += o[i].qty_wh;
		}
		uint64_t v = d < s ? d : s;
		best = v > best ? v : best;
	}
	return best;
}

static void
check_settlement(const struct auction_order *o, const uint8_t *rd, size_t n,
                 const struct auction_result *r)
{
	/* a negative feed-in tariff: limits and prices of both signs */
	static const struct settle_tariffs tariffs = { -128000, 300000 };
	struct pw_statement st[MAX_ORDERS];
	for (size_t h = 0; h < n; h++) {
		struct settle_trade t[MAX_ORDERS];
		size_t nt = 0;
		for (size_t k = 0; k < r->n_trades; k++) {
			if (r->trades[k].buy == h || r->trades[k].sell == h) {
				t[nt].side = r->trades[k].buy == h ? PW_SIDE_BUY : PW_SIDE_SELL;
				t[nt].qty_wh = r->trades[k].qty_wh;
				t[nt].fee_uper_kwh =
				    (uint32_t)(r->trades[k].buy + r->trades[k].sell) * 997u;
				nt++;
			}
		}
		struct settle_reading reading = { rd[h] == 0, rd[h] == 1, (uint64_t)rd[h] * 37u,
			                          (uint64_t)rd[h] * 53u };
		memset(&st[h], 0, sizeof(st[h]));
		CHECK(settle_household(&tariffs, r->price_uper_kwh, t, nt, &reading, &st[h]) ==
		      PW_OK);
	}
	struct settle_totals tot;
	CHECK(settle_totals(st, n, &tot) == PW_OK);
	CHECK(tot.bought_wh == r->volume_wh && tot.sold_wh == r->volume_wh);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auction_order o[MAX_ORDERS], rev[MAX_ORDERS];
	uint8_t reading[MAX_ORDERS];
	size_t n = size / REC_LEN;
	if (n > MAX_ORDERS)
		n = MAX_ORDERS;
	int valid = 1;
	uint64_t arrival = 0;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = data + i * REC_LEN;
		/* a gap of 0 repeats an arrival number: must be refused */
		arrival += p[0];
		o[i].arrival = arrival;
		o[i].qty_wh = (uint32_t)p[1] << 8 | p[2];
		/* few distinct prices of both signs so that books cross and tie
		 * often (p[4] - 128 thousand: -128000 .. 127000, odd negative
		 * midpoints); the top bits of p[3] move a price to either end of
		 * the i32 range */
		o[i].price_uper_kwh = (p[3] & 0x80)   ? INT32_MAX - (p[4] & 0x0f)
		                      : (p[3] & 0x40) ? INT32_MIN + (p[4] & 0x0f)
		                                      : ((int32_t)p[4] - 128) * 1000 + (p[3] & 1);
		o[i].side = p[5] % 3 == 0 ? PW_SIDE_BUY : p[5] % 3 == 1 ? PW_SIDE_SELL : p[5];
		reading[i] = p[6];
		if (o[i].qty_wh == 0 || (o[i].side != PW_SIDE_BUY && o[i].side != PW_SIDE_SELL) ||
		    (i > 0 && p[0] == 0))
			valid = 0;
	}

	struct auction_result r;
	pw_err rc = auction_clear(o, n, &r);
	if (!valid) {
		CHECK(rc == PW_ERR_FIELD && r.n_trades == 0 && r.trades == NULL);
		return 0;
	}
	CHECK(rc == PW_OK);

	uint64_t filled[MAX_ORDERS] = { 0 }, vol = 0;
	for (size_t t = 0; t < r.n_trades; t++) {
		const struct auction_trade *tr = &r.trades[t];
		CHECK(tr->buy < n && tr->sell < n && tr->qty_wh > 0);
		CHECK(o[tr->buy].side == PW_SIDE_BUY && o[tr->sell].side == PW_SIDE_SELL);
		CHECK(o[tr->buy].price_uper_kwh >= r.price_uper_kwh);
		CHECK(o[tr->sell].price_uper_kwh <= r.price_uper_kwh);
		filled[tr->buy] += tr->qty_wh;
		filled[tr->sell] += tr->qty_wh;
		vol += tr->qty_wh;
	}
	for (size_t i = 0; i < n; i++)
		CHECK(filled[i] <= o[i].qty_wh);
	CHECK(vol == r.volume_wh && vol == max_uniform_volume(o, n));
	if (r.n_trades > 0) {
		const struct auction_trade *m = &r.trades[r.n_trades - 1];
		/* the floor of the midpoint, also below zero */
		int64_t sum = (int64_t)o[m->buy].price_uper_kwh + o[m->sell].price_uper_kwh;
		CHECK(r.price_uper_kwh == (sum - (sum & 1)) / 2);
	} else {
		CHECK(r.price_uper_kwh == 0);
	}

	/* reversed input, same arrival numbers: the same trades */
	for (size_t i = 0; i < n; i++)
		rev[i] = o[n - 1 - i];
	struct auction_result r2;
	CHECK(auction_clear(rev, n, &r2) == PW_OK);
	CHECK(r2.n_trades == r.n_trades && r2.price_uper_kwh == r.price_uper_kwh);
	for (size_t t = 0; t < r.n_trades; t++) {
		CHECK(r2.trades[t].buy == n - 1 - r.trades[t].buy);
		CHECK(r2.trades[t].sell == n - 1 - r.trades[t].sell);
		CHECK(r2.trades[t].qty_wh == r.trades[t].qty_wh);
	}
	auction_result_free(&r2);

	/* settlement balances whatever the readings; only sane prices here,
	 * the tariffs bound them in the market */
	if (r.price_uper_kwh >= -128000 && r.price_uper_kwh <= 300000)
		check_settlement(o, reading, n, &r);
	auction_result_free(&r);
	return 0;
}
