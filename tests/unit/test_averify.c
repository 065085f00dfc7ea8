/*
 * test_averify.c: the household's checks of what the exchange signs to it
 * (agent/averify.c, docs/agent-checks.md "What the agent checks").  RESULTs
 * against the household's own orders (own sequence numbers, side,
 * quantity over all parts, limit against the uniform price, cancels, the
 * header), and STATEMENTs recomputed to the micro-unit (the worked example
 * of docs/market.md "Settlement"), each rule accepted and refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "agent/averify.h"
#include "peerwatt/keys.h"
#include "peerwatt/wire.h"
#include "rules/settle.h"

#define B PW_SIDE_BUY
#define S PW_SIDE_SELL

static const uint8_t ME[PW_PK_LEN] = { 0xaa, 0xaa, 0xaa };
static const uint8_t BOB[PW_PK_LEN] = { 0xbb, 0xbb, 0xbb };
static const uint8_t CAROL[PW_PK_LEN] = { 0xcc, 0xcc, 0xcc };

struct rbuf {
	uint8_t frame[4096];
	struct pw_msg m;
};

/* Signs and decodes a RESULT part, so the trades are read from wire bytes
 * exactly as the agent gets them. */
static const struct pw_result *
mkresult(struct rbuf *b, uint64_t iv, int32_t price, uint64_t volume, uint32_t total, uint16_t part,
         uint16_t parts, const struct pw_trade *t, uint16_t n)
{
	struct pw_keypair kp;
	uint8_t seed[PW_SEED_LEN] = { 7 };
	size_t len;
	struct pw_msg m;

	assert_int_equal(pw_key_from_seed(&kp, seed), PW_OK);
	memset(&m, 0, sizeof(m));
	m.type = PW_MSG_RESULT;
	m.u.result.interval = iv;
	m.u.result.price_uper_kwh = price;
	m.u.result.volume_wh = volume;
	m.u.result.n_trades_total = total;
	m.u.result.part = part;
	m.u.result.parts = parts;
	m.u.result.n_trades = n;
	m.u.result.trades = t;
	assert_int_equal(pw_wire_encode(&m, 1, &kp, b->frame, sizeof(b->frame), &len), PW_OK);
	assert_int_equal(pw_wire_decode(b->frame, len, &b->m), PW_OK);
	return &b->m.u.result;
}

static struct pw_trade
trade(const uint8_t *buyer, const uint8_t *seller, uint64_t bs, uint64_t ss, uint32_t qty)
{
	struct pw_trade t;
	memcpy(t.buyer, buyer, PW_PK_LEN);
	memcpy(t.seller, seller, PW_PK_LEN);
	t.buy_seq = bs;
	t.sell_seq = ss;
	t.qty_wh = qty;
	return t;
}

/* The household's orders of interval 100: offer 10 (400 Wh at >= 200000),
 * bid 11 is of another interval and not here; bid 17 (100 Wh at <= 250000)
 * is in interval 101. */
static struct averify_order offer10 = { 10, S, 400, 200000, 0, 0 };

static void
test_result_honest(void **state)
{
	(void)state;
	struct rbuf b;
	struct averify_order o[1] = { offer10 };
	struct averify_trade out[8];
	struct averify_finding f;
	size_t n;
	/* market.md example 1 seen by A1 (seq 10): two sales of 200 Wh, and
	 * a trade of others that is none of its business */
	struct pw_trade t[3] = { trade(BOB, CAROL, 3, 2, 300), trade(BOB, ME, 3, 10, 200),
		                 trade(CAROL, ME, 4, 10, 200) };
	const struct pw_result *r = mkresult(&b, 100, 205000, 700, 3, 0, 1, t, 3);

	assert_int_equal(averify_result(r, ME, o, 1, out, 8, &n, &f), AVERIFY_OK);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].seq, 10);
	assert_int_equal(out[0].side, S);
	assert_int_equal(out[0].qty_wh, 200);
	assert_int_equal(out[1].qty_wh, 200);
	assert_int_equal(o[0].filled_wh, 400); /* filled exactly: allowed */

	/* no trade of ours at all, and an empty interval */
	struct averify_order o2[1] = { offer10 };
	r = mkresult(&b, 100, 205000, 300, 1, 0, 1, t, 1);
	assert_int_equal(averify_result(r, ME, o2, 1, out, 8, &n, &f), AVERIFY_OK);
	assert_int_equal(n, 0);
	r = mkresult(&b, 100, 0, 0, 0, 0, 1, NULL, 0);
	assert_int_equal(averify_result(r, ME, o2, 1, out, 8, &n, &f), AVERIFY_OK);
	assert_int_equal(o2[0].filled_wh, 0);

	/* a limit equal to the price trades, on both sides */
	struct averify_order o3[2] = { { 20, B, 100, 205000, 0, 0 }, { 21, S, 50, 205000, 0, 0 } };
	struct pw_trade t3[1] = { trade(ME, BOB, 20, 5, 100) };
	r = mkresult(&b, 100, 205000, 100, 1, 0, 1, t3, 1);
	assert_int_equal(averify_result(r, ME, o3, 2, out, 8, &n, &f), AVERIFY_OK);
	t3[0] = trade(BOB, ME, 5, 21, 50);
	r = mkresult(&b, 100, 205000, 50, 1, 0, 1, t3, 1);
	assert_int_equal(averify_result(r, ME, o3, 2, out, 8, &n, &f), AVERIFY_OK);
}

static void
test_result_lies(void **state)
{
	(void)state;
	struct rbuf b;
	struct averify_trade out[8];
	struct averify_finding f;
	size_t n;
	const struct pw_result *r;

	/* 50 times the bid's quantity at 3 times its limit (issue 16) */
	struct averify_order bid[1] = { { 17, B, 100, 250000, 0, 0 } };
	struct pw_trade t[1] = { trade(ME, BOB, 17, 9, 5000) };
	r = mkresult(&b, 101, 750000, 5000, 1, 0, 1, t, 1);
	assert_int_equal(averify_result(r, ME, bid, 1, out, 8, &n, &f), AVERIFY_RESULT_OVERFILL);
	assert_int_equal(f.code, AVERIFY_RESULT_OVERFILL);
	assert_non_null(strstr(f.text, "5000 Wh"));
	assert_non_null(strstr(f.text, "100 Wh"));
	assert_int_equal(n, 0);
	assert_int_equal(bid[0].filled_wh, 0); /* nothing of a refused part counts */

	/* within the quantity, beyond the limit: a buy above, a sell below */
	t[0] = trade(ME, BOB, 17, 9, 100);
	r = mkresult(&b, 101, 250001, 100, 1, 0, 1, t, 1);
	assert_int_equal(averify_result(r, ME, bid, 1, out, 8, &n, &f), AVERIFY_RESULT_LIMIT);
	assert_non_null(strstr(f.text, "250001"));
	struct averify_order o[1] = { offer10 };
	t[0] = trade(BOB, ME, 3, 10, 100);
	r = mkresult(&b, 100, 199999, 100, 1, 0, 1, t, 1);
	assert_int_equal(averify_result(r, ME, o, 1, out, 8, &n, &f), AVERIFY_RESULT_LIMIT);

	/* an order number the household never placed, as buyer and seller */
	t[0] = trade(ME, BOB, 999, 9, 10);
	r = mkresult(&b, 101, 200000, 10, 1, 0, 1, t, 1);
	assert_int_equal(averify_result(r, ME, bid, 1, out, 8, &n, &f), AVERIFY_RESULT_UNKNOWN);
	assert_non_null(strstr(f.text, "999"));
	t[0] = trade(BOB, ME, 9, 17, 10);
	r = mkresult(&b, 101, 200000, 10, 1, 0, 1, t, 1);
	assert_int_equal(averify_result(r, ME, bid, 1, out, 8, &n, &f), AVERIFY_RESULT_SIDE);
	/* no orders at all in the interval */
	assert_int_equal(averify_result(r, ME, NULL, 0, out, 8, &n, &f), AVERIFY_RESULT_UNKNOWN);

	/* with itself; a cancelled order */
	t[0] = trade(ME, ME, 17, 17, 10);
	r = mkresult(&b, 101, 200000, 10, 1, 0, 1, t, 1);
	assert_int_equal(averify_result(r, ME, bid, 1, out, 8, &n, &f), AVERIFY_RESULT_SELF);
	struct averify_order gone[1] = { { 17, B, 100, 250000, 1, 0 } };
	t[0] = trade(ME, BOB, 17, 9, 10);
	r = mkresult(&b, 101, 200000, 10, 1, 0, 1, t, 1);
	assert_int_equal(averify_result(r, ME, gone, 1, out, 8, &n, &f), AVERIFY_RESULT_CANCELLED);

	/* a trade without energy; volume and count that do not add up; a
	 * price with no volume; a part beyond the parts */
	t[0] = trade(ME, BOB, 17, 9, 0);
	r = mkresult(&b, 101, 200000, 10, 1, 0, 1, t, 1);
	assert_int_equal(averify_result(r, ME, bid, 1, out, 8, &n, &f), AVERIFY_RESULT_SHAPE);
	t[0] = trade(ME, BOB, 17, 9, 10);
	r = mkresult(&b, 101, 200000, 11, 1, 0, 1, t, 1);
	assert_int_equal(averify_result(r, ME, bid, 1, out, 8, &n, &f), AVERIFY_RESULT_SHAPE);
	r = mkresult(&b, 101, 200000, 10, 2, 0, 1, t, 1);
	assert_int_equal(averify_result(r, ME, bid, 1, out, 8, &n, &f), AVERIFY_RESULT_SHAPE);
	r = mkresult(&b, 101, 200000, 0, 0, 0, 1, NULL, 0);
	assert_int_equal(averify_result(r, ME, bid, 1, out, 8, &n, &f), AVERIFY_RESULT_SHAPE);
	/* a price of 0 with volume (a feed-in tariff of 0) is no lie */
	r = mkresult(&b, 101, 0, 10, 1, 0, 1, t, 1);
	assert_int_equal(averify_result(r, ME, bid, 1, out, 8, &n, &f), AVERIFY_OK);
	assert_string_equal(averify_code_name(AVERIFY_RESULT_SHAPE), "result_shape");
}

static void
test_result_parts(void **state)
{
	(void)state;
	struct rbuf b0, b1, b2;
	struct averify_trade out[8];
	struct averify_finding f;
	size_t n;
	struct averify_order bid[1] = { { 17, B, 100, 250000, 0, 0 } };
	struct pw_trade t0[1] = { trade(ME, BOB, 17, 9, 60) };
	struct pw_trade t1[1] = { trade(ME, CAROL, 17, 4, 50) };

	/* the fill of part 0 counts against part 1: 110 Wh of a 100 Wh bid */
	const struct pw_result *r0 = mkresult(&b0, 101, 200000, 110, 2, 0, 2, t0, 1);
	const struct pw_result *r1 = mkresult(&b1, 101, 200000, 110, 2, 1, 2, t1, 1);
	assert_int_equal(averify_result(r0, ME, bid, 1, out, 8, &n, &f), AVERIFY_OK);
	assert_int_equal(bid[0].filled_wh, 60);
	assert_int_equal(averify_result(r1, ME, bid, 1, out, 8, &n, &f), AVERIFY_RESULT_OVERFILL);
	assert_int_equal(bid[0].filled_wh, 60);
	/* 40 Wh would have fitted */
	t1[0].qty_wh = 40;
	r1 = mkresult(&b1, 101, 200000, 100, 2, 1, 2, t1, 1);
	assert_int_equal(averify_result(r1, ME, bid, 1, out, 8, &n, &f), AVERIFY_OK);
	assert_int_equal(bid[0].filled_wh, 100);

	/* headers: the same RESULT, or another (equivocation) */
	r0 = mkresult(&b0, 101, 200000, 100, 2, 0, 2, t0, 1);
	assert_true(averify_result_same_header(r0, r1));
	const struct pw_result *r2 = mkresult(&b2, 101, 200001, 100, 2, 1, 2, t1, 1);
	assert_false(averify_result_same_header(r0, r2));
	r2 = mkresult(&b2, 101, 200000, 100, 2, 1, 3, t1, 1);
	assert_false(averify_result_same_header(r0, r2));
	r2 = mkresult(&b2, 101, 200000, 101, 2, 1, 2, t1, 1);
	assert_false(averify_result_same_header(r0, r2));
	/* more trades in a part than in all parts */
	r2 = mkresult(&b2, 101, 200000, 100, 1, 0, 2, t0, 1);
	struct pw_result big = *r2;
	big.n_trades_total = 0;
	assert_int_equal(averify_result(&big, ME, bid, 1, out, 8, &n, &f), AVERIFY_RESULT_SHAPE);
}

/* ---- statements: docs/market.md "Settlement", worked example ---------- */

/* Tariffs 80000 / 300000; each trade carries its fee (10000 same zone,
 * 30000 across zones, as the worked example). */
static struct averify_stmt_in
input(uint64_t iv, const struct averify_trade *t, size_t n, int have_reading, uint64_t exp,
      uint64_t imp)
{
	struct averify_stmt_in in;
	memset(&in, 0, sizeof(in));
	in.interval = iv;
	in.have_result = 1;
	in.price_uper_kwh = 205000;
	in.trades = t;
	in.n_trades = n;
	in.have_reading = have_reading;
	in.export_wh = exp;
	in.import_wh = imp;
	in.reading_before_settlement = have_reading;
	in.feedin_uper_kwh = 80000;
	in.retail_uper_kwh = 300000;
	return in;
}

static struct pw_statement
stmt(uint64_t iv, uint32_t flags, uint64_t bought, uint64_t sold, uint64_t exp, uint64_t imp,
     uint64_t shortfall, uint64_t excess, uint64_t extra, uint64_t unused, int64_t peer,
     int64_t grid, int64_t fee, int64_t net, int64_t baseline, int64_t saving)
{
	struct pw_statement s;
	memset(&s, 0, sizeof(s));
	memcpy(s.household, ME, PW_PK_LEN);
	s.interval = iv;
	s.flags = flags;
	s.price_uper_kwh = 205000;
	s.bought_wh = bought;
	s.sold_wh = sold;
	s.export_wh = exp;
	s.import_wh = imp;
	s.shortfall_wh = shortfall;
	s.excess_wh = excess;
	s.extra_import_wh = extra;
	s.unused_wh = unused;
	s.peer_u = peer;
	s.grid_u = grid;
	s.fee_u = fee;
	s.net_u = net;
	s.baseline_u = baseline;
	s.saving_u = saving;
	return s;
}

static void
test_statement_honest(void **state)
{
	(void)state;
	struct averify_stmt_out out;
	struct averify_finding f;
	/* A1: sold 200 + 200, exported 350, imported 10 */
	const struct averify_trade a1[2] = { { 10, S, 200, 0 }, { 10, S, 200, 0 } };
	struct averify_stmt_in in = input(100, a1, 2, 1, 350, 10);
	struct pw_statement s =
	    stmt(100, 0, 0, 400, 350, 10, 50, 0, 10, 0, 82000, -18000, 0, 64000, 25000, 39000);
	assert_int_equal(averify_statement(&in, ME, &s, &out, &f), AVERIFY_OK);
	assert_int_equal(out.mine.net_u, 64000);
	assert_int_equal(out.mine.fee_u, 0);

	/* B3: bought 300 (fee 30000) + 200 (fee 10000), reading missing:
	 * fee 9000 + 2000 = 11000, exactly */
	const struct averify_trade b3[2] = { { 3, B, 300, 30000 }, { 3, B, 200, 10000 } };
	in = input(100, b3, 2, 0, 0, 0);
	s = stmt(100, PW_STMT_READING_MISSING, 500, 0, 0, 500, 0, 0, 0, 0, -102500, 0, 11000,
	         -113500, -150000, 36500);
	assert_int_equal(averify_statement(&in, ME, &s, &out, &f), AVERIFY_OK);
	assert_int_equal(out.mine.fee_u, 11000);
	/* a reading ACKed after the exchange settled: "missing" is right */
	in = input(100, b3, 2, 1, 0, 480);
	in.reading_before_settlement = 0;
	assert_int_equal(averify_statement(&in, ME, &s, &out, &f), AVERIFY_OK);

	/* B4: bought 200 (fee 30000), imported 150, late */
	const struct averify_trade b4[1] = { { 4, B, 200, 30000 } };
	in = input(100, b4, 1, 1, 0, 150);
	s = stmt(100, PW_STMT_READING_LATE, 200, 0, 0, 150, 0, 0, 0, 50, -41000, 4000, 6000, -43000,
	         -45000, 2000);
	assert_int_equal(averify_statement(&in, ME, &s, &out, &f), AVERIFY_OK);

	/* C: no trade (and no RESULT held: the price moves no money) */
	in = input(100, NULL, 0, 1, 7, 1234);
	in.have_result = 0;
	s = stmt(100, 0, 0, 0, 7, 1234, 0, 7, 1234, 0, 0, -369640, 0, -369640, -369640, 0);
	s.price_uper_kwh = 123;
	assert_int_equal(averify_statement(&in, ME, &s, &out, &f), AVERIFY_OK);

	/* without its own ACKed reading the agent takes the statement's
	 * energies and checks the arithmetic */
	in = input(100, NULL, 0, 0, 0, 0);
	s = stmt(100, 0, 0, 0, 7, 1234, 0, 7, 1234, 0, 0, -369640, 0, -369640, -369640, 0);
	assert_int_equal(averify_statement(&in, ME, &s, &out, &f), AVERIFY_OK);
	s.excess_wh = 8;
	assert_int_equal(averify_statement(&in, ME, &s, &out, &f), AVERIFY_STMT_FIGURES);
}

/* A negative clearing price and feed-in tariff (docs/market.md "A negative
 * price"): the seller of 800 Wh at -15001 pays floor(-12000.8 + 0.5) =
 * -12001 u; a statement with the truncated -12000 is refused. */
static void
test_statement_negative(void **state)
{
	(void)state;
	struct averify_stmt_out out;
	struct averify_finding f;
	const struct averify_trade a[1] = { { 10, S, 800, 0 } };
	struct averify_stmt_in in = input(100, a, 1, 1, 1000, 0);
	in.price_uper_kwh = -15001;
	in.feedin_uper_kwh = -50000;
	struct pw_statement s =
	    stmt(100, 0, 0, 800, 1000, 0, 0, 200, 0, 0, -12001, -10000, 0, -22001, -50000, 27999);
	s.price_uper_kwh = -15001;
	assert_int_equal(averify_statement(&in, ME, &s, &out, &f), AVERIFY_OK);
	assert_int_equal(out.mine.peer_u, -12001);
	assert_int_equal(out.mine.grid_u, -10000);
	/* rounded toward zero instead of half up: one micro-unit, refused */
	struct pw_statement t = s;
	t.peer_u = -12000;
	t.net_u = -22000;
	t.saving_u = 28000;
	assert_int_equal(averify_statement(&in, ME, &t, &out, &f), AVERIFY_STMT_FIGURES);
	assert_non_null(strstr(f.text, "peer_u signed -12000, computed -12001"));
	/* another (negative) clearing price than the RESULT's */
	t = s;
	t.price_uper_kwh = -15000;
	assert_int_equal(averify_statement(&in, ME, &t, &out, &f), AVERIFY_STMT_FIGURES);
	assert_non_null(strstr(f.text, "price signed -15000, computed -15001"));
}

static void
test_statement_lies(void **state)
{
	(void)state;
	struct averify_stmt_out out;
	struct averify_finding f;
	const struct averify_trade a1[2] = { { 10, S, 200, 0 }, { 10, S, 200, 0 } };
	struct averify_stmt_in in = input(100, a1, 2, 1, 350, 10);
	const struct pw_statement good =
	    stmt(100, 0, 0, 400, 350, 10, 50, 0, 10, 0, 82000, -18000, 0, 64000, 25000, 39000);
	struct pw_statement s;

	/* invented money: net is not peer + grid - fee */
	s = good;
	s.net_u = -99000000;
	s.saving_u = s.net_u - s.baseline_u;
	assert_int_equal(averify_statement(&in, ME, &s, &out, &f), AVERIFY_STMT_FIGURES);
	assert_non_null(strstr(f.text, "net_u signed -99000000, computed 64000"));
	/* one micro-unit off anywhere */
	s = good;
	s.saving_u += 1;
	assert_int_equal(averify_statement(&in, ME, &s, &out, &f), AVERIFY_STMT_FIGURES);
	s = good;
	s.peer_u -= 1;
	s.net_u -= 1;
	s.saving_u -= 1;
	assert_int_equal(averify_statement(&in, ME, &s, &out, &f), AVERIFY_STMT_FIGURES);
	assert_non_null(strstr(f.text, "peer_u signed 81999, computed 82000"));
	/* bought energy without a trade, at 3.00/kWh */
	s = stmt(100, 0, 5000, 0, 0, 5000, 0, 0, 0, 0, -15000000, 0, 0, -15000000, -1500000,
	         -13500000);
	s.price_uper_kwh = 3000000;
	in = input(100, NULL, 0, 1, 0, 5000);
	in.have_result = 0;
	assert_int_equal(averify_statement(&in, ME, &s, &out, &f), AVERIFY_STMT_FIGURES);
	assert_non_null(strstr(f.text, "bought_wh signed 5000, computed 0"));
	/* energy other than the signed reading */
	in = input(100, a1, 2, 1, 350, 10);
	s = good;
	s.export_wh = 349;
	assert_int_equal(averify_statement(&in, ME, &s, &out, &f), AVERIFY_STMT_FIGURES);
	assert_non_null(strstr(f.text, "export_wh signed 349, computed 350"));
	/* another clearing price than the RESULT's */
	s = good;
	s.price_uper_kwh = 205001;
	assert_int_equal(averify_statement(&in, ME, &s, &out, &f), AVERIFY_STMT_FIGURES);
	/* "reading missing" for a reading the exchange ACKed before settling */
	in = input(100, a1, 2, 1, 350, 10);
	s = stmt(100, PW_STMT_READING_MISSING, 0, 400, 0, 0, 400, 0, 0, 0, 82000, -120000, 0,
	         -38000, 0, -38000);
	assert_int_equal(averify_statement(&in, ME, &s, &out, &f), AVERIFY_STMT_MISSING_FLAG);
	assert_non_null(strstr(f.text, "export 350 Wh"));
	/* a fee 1 micro-unit off, consistent otherwise (net and saving follow
	 * from it): refused, the figures side by side */
	const struct averify_trade b3[2] = { { 3, B, 300, 30000 }, { 3, B, 200, 10000 } };
	in = input(100, b3, 2, 0, 0, 0);
	s = stmt(100, PW_STMT_READING_MISSING, 500, 0, 0, 500, 0, 0, 0, 0, -102500, 0, 11001,
	         -113501, -150000, 36499);
	assert_int_equal(averify_statement(&in, ME, &s, &out, &f), AVERIFY_STMT_FEE);
	assert_non_null(strstr(f.text, "fee_u signed 11001, computed 11000"));
	s.fee_u = 10999;
	s.net_u = -113499;
	s.saving_u = 36501;
	assert_int_equal(averify_statement(&in, ME, &s, &out, &f), AVERIFY_STMT_FEE);
	assert_non_null(strstr(f.text, "fee_u signed 10999, computed 11000"));
	/* what the old bounds allowed (every purchase at the same-zone fee)
	 * is no longer accepted: the 300 Wh came across zones */
	s.fee_u = 5000;
	s.net_u = -107500;
	s.saving_u = 42500;
	assert_int_equal(averify_statement(&in, ME, &s, &out, &f), AVERIFY_STMT_FEE);
	s.fee_u = 11000;
	s.net_u = -113500;
	s.saving_u = 36500;
	assert_int_equal(averify_statement(&in, ME, &s, &out, &f), AVERIFY_OK);
	/* the right fee but net computed with another one */
	s.net_u -= 1;
	s.saving_u -= 1;
	assert_int_equal(averify_statement(&in, ME, &s, &out, &f), AVERIFY_STMT_FIGURES);
	/* a wrong fee with other figures wrong too: every figure listed */
	s = stmt(100, PW_STMT_READING_MISSING, 500, 0, 0, 500, 0, 0, 0, 0, -102501, 0, 11001,
	         -113502, -150000, 36498);
	assert_int_equal(averify_statement(&in, ME, &s, &out, &f), AVERIFY_STMT_FIGURES);
	assert_non_null(strstr(f.text, "peer_u signed -102501, computed -102500"));
	assert_non_null(strstr(f.text, "fee_u signed 11001, computed 11000"));
	/* a seller pays no fee */
	in = input(100, a1, 2, 1, 350, 10);
	s = good;
	s.fee_u = 1;
	s.net_u -= 1;
	s.saving_u -= 1;
	assert_int_equal(averify_statement(&in, ME, &s, &out, &f), AVERIFY_STMT_FEE);
	/* both flags: the rules never set "late" on a missing reading */
	in = input(100, b3, 2, 0, 0, 0);
	s = stmt(100, PW_STMT_READING_MISSING | PW_STMT_READING_LATE, 500, 0, 0, 500, 0, 0, 0, 0,
	         -102500, 0, 11000, -113500, -150000, 36500);
	assert_int_equal(averify_statement(&in, ME, &s, &out, &f), AVERIFY_STMT_FIGURES);
	/* another household's, another interval's */
	s = good;
	memcpy(s.household, BOB, PW_PK_LEN);
	in = input(100, a1, 2, 1, 350, 10);
	assert_int_equal(averify_statement(&in, ME, &s, &out, &f), AVERIFY_STMT_OTHER);
	s = good;
	s.interval = 99;
	assert_int_equal(averify_statement(&in, ME, &s, &out, &f), AVERIFY_STMT_OTHER);
}

/* docs/market.md "Grid fees": the explicit pair (either order), else the
 * same-zone fee for equal zones, else the default. */
static void
test_market_fee(void **state)
{
	(void)state;
	struct pw_market mk;
	char north[PW_TOKEN_LEN] = "north", south[PW_TOKEN_LEN] = "south",
	     west[PW_TOKEN_LEN] = "west", east[PW_TOKEN_LEN] = "east";
	memset(&mk, 0, sizeof(mk));
	mk.fee_same_zone_uper_kwh = 10000;
	mk.fee_default_uper_kwh = 50000;
	mk.n_fees = 3;
	memcpy(mk.fees[0].zone_a, east, PW_TOKEN_LEN);
	memcpy(mk.fees[0].zone_b, east, PW_TOKEN_LEN);
	mk.fees[0].fee_uper_kwh = 1;
	memcpy(mk.fees[1].zone_a, north, PW_TOKEN_LEN);
	memcpy(mk.fees[1].zone_b, south, PW_TOKEN_LEN);
	mk.fees[1].fee_uper_kwh = 20000;
	memcpy(mk.fees[2].zone_a, south, PW_TOKEN_LEN);
	memcpy(mk.fees[2].zone_b, west, PW_TOKEN_LEN);
	mk.fees[2].fee_uper_kwh = 35000;
	assert_int_equal(averify_market_fee(&mk, north, south), 20000);
	assert_int_equal(averify_market_fee(&mk, south, north), 20000);
	assert_int_equal(averify_market_fee(&mk, west, south), 35000);
	assert_int_equal(averify_market_fee(&mk, north, north), 10000);
	assert_int_equal(averify_market_fee(&mk, east, east), 1); /* a zone paired with itself */
	assert_int_equal(averify_market_fee(&mk, north, west), 50000);
	assert_int_equal(averify_market_fee(&mk, west, east), 50000);
	/* a full 32-byte zone (no NUL) compares on its 32 bytes only */
	char z32a[PW_TOKEN_LEN], z32b[PW_TOKEN_LEN];
	memset(z32a, 'z', sizeof(z32a));
	memset(z32b, 'z', sizeof(z32b));
	assert_int_equal(averify_market_fee(&mk, z32a, z32b), 10000);
	z32b[31] = 'y';
	assert_int_equal(averify_market_fee(&mk, z32a, z32b), 50000);

	/* the fee of a statement, trade by trade with each trade's pair: a
	 * household in north buys 300 Wh from south and 200 Wh from north */
	struct averify_stmt_out out;
	struct averify_finding f;
	const struct averify_trade t[2] = {
		{ 3, B, 300, averify_market_fee(&mk, north, south) },
		{ 3, B, 200, averify_market_fee(&mk, north, north) },
	};
	struct averify_stmt_in in = input(100, t, 2, 0, 0, 0);
	/* 300 x 20000 / 1000 = 6000, 200 x 10000 / 1000 = 2000 */
	struct pw_statement s = stmt(100, PW_STMT_READING_MISSING, 500, 0, 0, 500, 0, 0, 0, 0,
	                             -102500, 0, 8000, -110500, -150000, 39500);
	assert_int_equal(averify_statement(&in, ME, &s, &out, &f), AVERIFY_OK);
	s.fee_u = 8001;
	s.net_u = -110501;
	s.saving_u = 39499;
	assert_int_equal(averify_statement(&in, ME, &s, &out, &f), AVERIFY_STMT_FEE);
	/* rounding: 1 Wh at 500 u/kWh is 0.5 -> 1 u (pw_money_amount) */
	const struct averify_trade one[1] = { { 3, B, 1, 500 } };
	in = input(100, one, 1, 1, 0, 1);
	s = stmt(100, 0, 1, 0, 0, 1, 0, 0, 0, 0, -205, 0, 1, -206, -300, 94);
	assert_int_equal(averify_statement(&in, ME, &s, &out, &f), AVERIFY_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_result_honest),  cmocka_unit_test(test_result_lies),
		cmocka_unit_test(test_result_parts),   cmocka_unit_test(test_statement_honest),
		cmocka_unit_test(test_statement_lies), cmocka_unit_test(test_statement_negative),
		cmocka_unit_test(test_market_fee),
	};
	if (pw_crypto_init() != PW_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
