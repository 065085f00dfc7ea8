/*
 * pw-mkdb.c: a fake exchange run for testing and benchmarking peerwatt-audit.
 *
 *   pw-mkdb gen --out DB [--households N] [--intervals N] [--orders N]
 *               [--part-trades N] [--seed N] [--checkpoints FILE] [--fork]
 *               [--old-format | --migrated] [--tariff-change] [--tariff-rows N]
 *               [--exchange-key-out FILE]
 *   pw-mkdb tamper DB KIND [--seed N]
 *
 * gen writes an exchange database through the real modules (exchange/store.c
 * for params and households, exchange/mlog.c for the log, rules/auction.c
 * and rules/settle.c for clearing and settlement, common/wire.c for
 * signed frames): per interval every household places orders (some cancel
 * one), the interval clears into RESULT parts, households send METER
 * readings (one skips some), every household with a trade or a reading gets
 * a STATEMENT, and a CHECKPOINT is signed; the checkpoints are appended to
 * FILE as an agent would keep them.  --fork drops the first order of the
 * last interval: the same history up to there, then another one, all signed.
 * The log starts with the market's rules (a MARKET entry) and one REGISTRY
 * entry per household, as a new exchange database does; --old-format
 * writes neither (a database of an exchange before them), --migrated
 * writes them at the end of the log, as the exchange's migration of such a
 * database does; --tariff-change logs a MARKET entry with higher retail
 * tariff and pair fee, effective from the middle interval on, before it
 * (a reload the audit must accept); --tariff-rows N logs N MARKET entries
 * right after the registry, one per interval after the last generated one
 * (retail moving by 0-6 ct/kWh, as a year of quarter-hour tariff rows does:
 * N = 35040), so that every checkpoint covers them (bench_start.sh).  Keys derive from --seed, so a
 * second run with the same seed reproduces the same keys (tamper re-signs with them);
 * --exchange-key-out saves the exchange's key as a key file (pw-forge).
 *
 * tamper alters DB the way a cheating exchange (or a broken disk) would, and
 * prints where peerwatt-audit must report the failure ("entry N" or
 * "checkpoint N").  KIND: order-price, delete, reorder, reading,
 * reading-resign, result-price, statement, checkpoint.
 *
 * Exit: 0, 64 usage, 70 on an internal failure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "rules/auction.h"
#include "exchange/mlog.h"
#include "exchange/registry.h"
#include "rules/settle.h"
#include "exchange/store.h"
#include "peerwatt/keys.h"
#include "peerwatt/merkle.h"
#include "peerwatt/wire.h"

#define MARKET_ID   0x70776d6b6462ull
#define MARKET_NAME "mkdb-market"
#define L_S         60
#define GATE_S      10
#define FIRST_IVL   1000
#define FEEDIN      80000
#define RETAIL      300000
#define FEE_PAIR    20000
#define FEE_SAME    5000
#define FEE_DEFAULT 30000
#define MAX_W       6000
#define GRACE_S     5
#define MAX_AHEAD_S 86400
#define MAX_HH      4096

struct house {
	struct pw_keypair kp;
	char serial[PW_SERIAL_LEN + 1];
	char zone[8];
	uint64_t seq, meter_seq, exp_reg, imp_reg;
};

struct ord {
	uint64_t idx;
	uint32_t hh;
	uint64_t seq;
	uint32_t qty;
	int32_t price;
	uint64_t expiry_s;
	uint8_t side, cancelled;
};

struct gen {
	uint64_t rng;
	size_t n_hh;
	struct house *hh;
	struct pw_keypair exch;
	struct store *s;
	struct mlog *m;
	FILE *cpf;
	uint8_t *buf;   /* PW_WIRE_MAX_LEN: one frame being encoded */
	int32_t retail; /* in force (--tariff-change raises it and fee_pair) */
	uint32_t fee_pair;
};

static _Noreturn void
die(const char *what, pw_err rc)
{
	fprintf(stderr, "pw-mkdb: %s: %s\n", what, pw_strerror(rc));
	exit(70);
}

static uint64_t
rnd(struct gen *g)
{
	/* splitmix64: deterministic across platforms */
	uint64_t z = (g->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t
rnd_in(struct gen *g, uint64_t lo, uint64_t hi)
{
	return lo + rnd(g) % (hi - lo + 1);
}

static void
derive_key(uint64_t seed, const char *who, uint64_t i, struct pw_keypair *kp)
{
	char text[96];
	uint8_t s[PW_SEED_LEN];
	int n = snprintf(text, sizeof(text), "pw-mkdb %s %llu %llu", who, (unsigned long long)seed,
	                 (unsigned long long)i);
	pw_sha256((const uint8_t *)text, (size_t)n, s);
	if (pw_key_from_seed(kp, s) != PW_OK)
		die("key", PW_ERR_CRYPTO);
}

static void
append(struct gen *g, struct pw_msg *msg, const struct pw_keypair *kp, uint64_t *idx)
{
	uint8_t *frame = g->buf;
	size_t len;
	pw_err rc;
	uint64_t dummy;

	if ((rc = pw_wire_encode(msg, MARKET_ID, kp, frame, PW_WIRE_MAX_LEN, &len)) != PW_OK)
		die("encode", rc);
	if ((rc = mlog_append(g->m, frame, len, idx ? idx : &dummy)) != PW_OK)
		die("append", rc);
	/* the tables the exchange serves households from, as market.c fills them */
	uint64_t at = mlog_size(g->m) - 1;
	if (msg->type == PW_MSG_RESULT)
		rc = store_result_insert(g->s, msg->u.result.interval, msg->u.result.part, frame,
		                         len, at);
	else if (msg->type == PW_MSG_STATEMENT)
		rc = store_statement_insert(g->s, msg->u.statement.household,
		                            msg->u.statement.interval, frame, len, at);
	if (rc != PW_OK)
		die("served tables", rc);
}

/* Log entry 0, the market's rules, then one REGISTRY entry per household
 * (docs/audit.md "What is logged"), as the exchange writes a new database. */
static void
market_entry(struct gen *g, struct pw_msg *msg, uint64_t time_s, uint64_t effective)
{
	memset(msg, 0, sizeof(*msg));
	msg->type = PW_MSG_MARKET;
	msg->u.market.time_s = time_s;
	msg->u.market.effective_interval = effective;
	snprintf(msg->u.market.name, sizeof(msg->u.market.name), "%s", MARKET_NAME);
	memcpy(msg->u.market.currency, "EUR", 3);
	msg->u.market.interval_s = L_S;
	msg->u.market.gate_s = GATE_S;
	msg->u.market.grace_s = GRACE_S;
	msg->u.market.max_ahead_s = MAX_AHEAD_S;
	msg->u.market.feedin_uper_kwh = FEEDIN;
	msg->u.market.retail_uper_kwh = g->retail;
	msg->u.market.fee_same_zone_uper_kwh = FEE_SAME;
	msg->u.market.fee_default_uper_kwh = FEE_DEFAULT;
	msg->u.market.n_fees = 1;
	snprintf(msg->u.market.fees[0].zone_a, PW_TOKEN_LEN, "north");
	snprintf(msg->u.market.fees[0].zone_b, PW_TOKEN_LEN, "south");
	msg->u.market.fees[0].fee_uper_kwh = g->fee_pair;
}

/* A reload with higher tariffs and fees, effective from interval `from`
 * (no entry names it yet), and the tables params and fees with them. */
static void
tariff_change(struct gen *g, uint64_t from)
{
	struct pw_msg msg;
	char sql[256];
	pw_err rc;

	g->retail += 20000;
	g->fee_pair += 5000;
	if ((rc = store_begin(g->s)) != PW_OK)
		die("begin", rc);
	market_entry(g, &msg, (from - 1) * L_S, from);
	append(g, &msg, &g->exch, NULL);
	snprintf(sql, sizeof(sql),
	         "UPDATE params SET value = %d WHERE key = 'retail_uper_kwh';"
	         " UPDATE fees SET fee_uper_kwh = %u",
	         g->retail, g->fee_pair);
	if (sqlite3_exec(store_db(g->s), sql, NULL, NULL, NULL) != SQLITE_OK)
		die("params", PW_ERR_DB);
	if ((rc = store_commit(g->s)) != PW_OK)
		die("commit", rc);
}

/* N tariff rows published ahead: effective from interval `from` on, one
 * per interval, beyond every interval an order targets. */
static void
tariff_rows(struct gen *g, uint64_t from, uint64_t n)
{
	struct pw_msg msg;
	pw_err rc;

	if ((rc = store_begin(g->s)) != PW_OK)
		die("begin", rc);
	for (uint64_t i = 0; i < n; i++) {
		market_entry(g, &msg, FIRST_IVL * L_S - 1800, from + i);
		msg.u.market.retail_uper_kwh = g->retail + (int32_t)(i % 7) * 10000;
		append(g, &msg, &g->exch, NULL);
	}
	if (n > 0) {
		/* table params follows the latest MARKET entry, as the exchange
		 * keeps it */
		char sql[128];
		snprintf(sql, sizeof(sql),
		         "UPDATE params SET value = %d WHERE key = 'retail_uper_kwh'",
		         g->retail + (int32_t)((n - 1) % 7) * 10000);
		if (sqlite3_exec(store_db(g->s), sql, NULL, NULL, NULL) != SQLITE_OK)
			die("params", PW_ERR_DB);
	}
	if ((rc = store_commit(g->s)) != PW_OK)
		die("commit", rc);
}

static void
genesis(struct gen *g, uint64_t time_s)
{
	struct pw_msg msg;
	pw_err rc;

	if ((rc = store_begin(g->s)) != PW_OK)
		die("begin", rc);
	market_entry(g, &msg, time_s, 0);
	append(g, &msg, &g->exch, NULL);
	for (size_t h = 0; h < g->n_hh; h++) {
		struct pw_registry *r = &msg.u.registry;
		memset(&msg, 0, sizeof(msg));
		msg.type = PW_MSG_REGISTRY;
		r->time_s = time_s;
		memcpy(r->household, g->hh[h].kp.pk, PW_PK_LEN);
		snprintf(r->id, sizeof(r->id), "h%zu", h);
		snprintf(r->name, sizeof(r->name), "House%zu", h);
		memcpy(r->serial, g->hh[h].serial, strlen(g->hh[h].serial));
		snprintf(r->zone, sizeof(r->zone), "%s", g->hh[h].zone);
		r->max_export_w = MAX_W;
		r->max_import_w = MAX_W;
		append(g, &msg, &g->exch, NULL);
	}
	if ((rc = store_commit(g->s)) != PW_OK)
		die("commit", rc);
}

static uint64_t
cap_wh(void)
{
	return (uint64_t)MAX_W * L_S / 3600;
}

static void
run_interval(struct gen *g, uint64_t ivl, size_t orders_per_hh, size_t part_trades, int drop)
{
	struct ord *os = calloc(g->n_hh * orders_per_hh + 1, sizeof(*os));
	size_t n = 0;
	pw_err rc;
	struct pw_msg msg;

	if (os == NULL)
		die("orders", PW_ERR_NOMEM);
	if ((rc = store_begin(g->s)) != PW_OK)
		die("begin", rc);
	/* orders, interleaved across households like real arrivals */
	for (size_t k = 0; k < orders_per_hh; k++) {
		for (size_t h = 0; h < g->n_hh; h++) {
			struct house *hs = &g->hh[h];
			uint8_t side = ((h + ivl) % 2) ? PW_SIDE_BUY : PW_SIDE_SELL;
			uint64_t each = cap_wh() / orders_per_hh;
			memset(&msg, 0, sizeof(msg));
			msg.type = PW_MSG_ORDER;
			msg.u.order.seq = ++hs->seq;
			msg.u.order.interval = ivl;
			/* one order in ten expires at gate closure: closed unfilled */
			msg.u.order.expiry_s = ivl * L_S - (rnd(g) % 10 == 0 ? GATE_S : 0);
			msg.u.order.qty_wh = (uint32_t)rnd_in(g, 1, each ? each : 1);
			msg.u.order.price_uper_kwh =
			    (int32_t)rnd_in(g, FEEDIN, (uint64_t)g->retail);
			msg.u.order.side = side;
			if (drop && h == 0 && k == 0)
				continue; /* the fork: this order vanishes from history */
			struct ord *o = &os[n++];
			append(g, &msg, &hs->kp, &o->idx);
			o->hh = (uint32_t)h;
			o->seq = msg.u.order.seq;
			o->qty = msg.u.order.qty_wh;
			o->price = msg.u.order.price_uper_kwh;
			o->side = side;
			o->expiry_s = msg.u.order.expiry_s;
		}
	}
	/* about one household in eight cancels its latest order */
	for (size_t h = 0; h < g->n_hh; h++) {
		if (rnd(g) % 8 != 0)
			continue;
		struct ord *last = NULL;
		for (size_t i = 0; i < n; i++)
			if (os[i].hh == h && !os[i].cancelled)
				last = &os[i];
		if (last == NULL)
			continue;
		memset(&msg, 0, sizeof(msg));
		msg.type = PW_MSG_CANCEL;
		msg.u.cancel.seq = ++g->hh[h].seq;
		msg.u.cancel.interval = ivl;
		msg.u.cancel.order_seq = last->seq;
		append(g, &msg, &g->hh[h].kp, NULL);
		last->cancelled = 1;
	}
	/* clearing */
	struct auction_order *in = calloc(n + 1, sizeof(*in));
	size_t *map = calloc(n + 1, sizeof(*map)), m = 0;
	struct auction_result res = { 0 };
	if (in == NULL || map == NULL)
		die("clear", PW_ERR_NOMEM);
	for (size_t i = 0; i < n; i++) {
		if (os[i].cancelled || os[i].expiry_s <= ivl * L_S - GATE_S)
			continue;
		in[m] = (struct auction_order){ os[i].idx, os[i].qty, os[i].price, os[i].side };
		map[m++] = i;
	}
	if ((rc = auction_clear(in, m, &res)) != PW_OK)
		die("auction", rc);
	struct pw_trade *tr = calloc(res.n_trades + 1, sizeof(*tr));
	if (tr == NULL)
		die("trades", PW_ERR_NOMEM);
	for (size_t i = 0; i < res.n_trades; i++) {
		const struct ord *b = &os[map[res.trades[i].buy]],
		                 *s = &os[map[res.trades[i].sell]];
		memcpy(tr[i].buyer, g->hh[b->hh].kp.pk, PW_PK_LEN);
		memcpy(tr[i].seller, g->hh[s->hh].kp.pk, PW_PK_LEN);
		tr[i].buy_seq = b->seq;
		tr[i].sell_seq = s->seq;
		tr[i].qty_wh = res.trades[i].qty_wh;
	}
	size_t parts = res.n_trades ? (res.n_trades + part_trades - 1) / part_trades : 1;
	for (size_t p = 0; p < parts; p++) {
		size_t first = p * part_trades;
		size_t cnt =
		    res.n_trades - first < part_trades ? res.n_trades - first : part_trades;
		memset(&msg, 0, sizeof(msg));
		msg.type = PW_MSG_RESULT;
		msg.u.result.interval = ivl;
		msg.u.result.price_uper_kwh = res.price_uper_kwh;
		msg.u.result.volume_wh = res.volume_wh;
		msg.u.result.n_trades_total = (uint32_t)res.n_trades;
		msg.u.result.part = (uint16_t)p;
		msg.u.result.parts = (uint16_t)parts;
		msg.u.result.n_trades = (uint16_t)(res.n_trades ? cnt : 0);
		msg.u.result.trades = tr + first;
		append(g, &msg, &g->exch, NULL);
	}
	/* readings: household 1 misses every third interval */
	int *has_reading = calloc(g->n_hh, sizeof(*has_reading));
	uint64_t *dexp = calloc(g->n_hh, sizeof(*dexp)), *dimp = calloc(g->n_hh, sizeof(*dimp));
	if (has_reading == NULL || dexp == NULL || dimp == NULL)
		die("readings", PW_ERR_NOMEM);
	for (size_t h = 0; h < g->n_hh; h++) {
		struct house *hs = &g->hh[h];
		if (h == 1 && ivl % 3 == 0)
			continue;
		dexp[h] = rnd_in(g, 0, cap_wh());
		dimp[h] = rnd_in(g, 0, cap_wh());
		memset(&msg, 0, sizeof(msg));
		msg.type = PW_MSG_METER;
		msg.u.meter.seq = ++hs->meter_seq;
		msg.u.meter.interval = ivl;
		memcpy(msg.u.meter.serial, hs->serial, strlen(hs->serial));
		msg.u.meter.export_start_wh = hs->exp_reg;
		msg.u.meter.export_end_wh = hs->exp_reg + dexp[h];
		msg.u.meter.import_start_wh = hs->imp_reg;
		msg.u.meter.import_end_wh = hs->imp_reg + dimp[h];
		msg.u.meter.time_status = PW_TIME_SYNCED;
		append(g, &msg, &hs->kp, NULL);
		hs->exp_reg += dexp[h];
		hs->imp_reg += dimp[h];
		has_reading[h] = 1;
	}
	/* statements */
	struct settle_fee pair = { "north", "south", g->fee_pair };
	struct settle_fees fees = { &pair, 1, FEE_SAME, FEE_DEFAULT };
	struct settle_tariffs tariffs = { FEEDIN, g->retail };
	struct settle_trade *st = calloc(res.n_trades + 1, sizeof(*st));
	if (st == NULL)
		die("statements", PW_ERR_NOMEM);
	for (size_t h = 0; h < g->n_hh; h++) {
		size_t k = 0;
		for (size_t i = 0; i < res.n_trades; i++) {
			int buys = memcmp(tr[i].buyer, g->hh[h].kp.pk, PW_PK_LEN) == 0;
			int sells = memcmp(tr[i].seller, g->hh[h].kp.pk, PW_PK_LEN) == 0;
			if (!buys && !sells)
				continue;
			const struct house *b = &g->hh[os[map[res.trades[i].buy]].hh];
			const struct house *s = &g->hh[os[map[res.trades[i].sell]].hh];
			st[k++] =
			    (struct settle_trade){ buys ? PW_SIDE_BUY : PW_SIDE_SELL, tr[i].qty_wh,
				                   settle_fee_lookup(&fees, b->zone, s->zone) };
		}
		if (k == 0 && !has_reading[h])
			continue;
		struct settle_reading rd = { !has_reading[h], 0, dexp[h], dimp[h] };
		memset(&msg, 0, sizeof(msg));
		msg.type = PW_MSG_STATEMENT;
		memcpy(msg.u.statement.household, g->hh[h].kp.pk, PW_PK_LEN);
		msg.u.statement.interval = ivl;
		if ((rc = settle_household(&tariffs, res.price_uper_kwh, st, k, &rd,
		                           &msg.u.statement)) != PW_OK)
			die("settle", rc);
		append(g, &msg, &g->exch, NULL);
	}
	/* checkpoint */
	uint8_t cp[512];
	size_t cplen;
	if ((rc = mlog_checkpoint(g->m, &g->exch, MARKET_ID, MARKET_NAME, ivl, (ivl + 1) * L_S + 5,
	                          cp, sizeof(cp), &cplen)) != PW_OK)
		die("checkpoint", rc);
	if ((rc = store_commit(g->s)) != PW_OK)
		die("commit", rc);
	if (g->cpf) {
		char hex[2 * 512 + 1];
		pw_hex_encode(cp, cplen, hex);
		fprintf(g->cpf, "%s\n", hex);
	}
	free(st);
	free(has_reading);
	free(dexp);
	free(dimp);
	free(tr);
	auction_result_free(&res);
	free(in);
	free(map);
	free(os);
}

static int
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end != '\0' || s[0] == '-' || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
cmd_gen(int argc, char **argv)
{
	const char *out = NULL, *cpfile = NULL;
	uint64_t n_hh = 8, n_ivl = 6, orders = 2, part_trades = PW_RESULT_MAX_TRADES, seed = 1;
	uint64_t rows = 0;
	int fork = 0, old_format = 0, migrated = 0, change = 0;
	const char *keyout = NULL;
	struct gen g;
	pw_err rc;

	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int bad = 0;
		if (strcmp(a, "--tariff-change") == 0) {
			change = 1;
			continue;
		}
		if (strcmp(a, "--fork") == 0 || strcmp(a, "--old-format") == 0 ||
		    strcmp(a, "--migrated") == 0) {
			fork |= strcmp(a, "--fork") == 0;
			old_format |= strcmp(a, "--old-format") == 0;
			migrated |= strcmp(a, "--migrated") == 0;
			continue;
		}
		if (v == NULL)
			bad = 1;
		else if (strcmp(a, "--out") == 0)
			out = v;
		else if (strcmp(a, "--checkpoints") == 0)
			cpfile = v;
		else if (strcmp(a, "--exchange-key-out") == 0)
			keyout = v;
		else if (strcmp(a, "--tariff-rows") == 0)
			bad = parse_u64(v, 1000000, &rows);
		else if (strcmp(a, "--households") == 0)
			bad = parse_u64(v, MAX_HH, &n_hh) || n_hh < 2;
		else if (strcmp(a, "--intervals") == 0)
			bad = parse_u64(v, 100000, &n_ivl) || n_ivl < 1;
		else if (strcmp(a, "--orders") == 0)
			bad = parse_u64(v, 100, &orders) || orders < 1;
		else if (strcmp(a, "--part-trades") == 0)
			bad = parse_u64(v, PW_RESULT_MAX_TRADES, &part_trades) || part_trades < 1;
		else if (strcmp(a, "--seed") == 0)
			bad = parse_u64(v, UINT64_MAX, &seed);
		else
			bad = 1;
		if (bad) {
			fprintf(stderr, "pw-mkdb: bad argument '%s'\n", a);
			return 64;
		}
		i++;
	}
	if (out == NULL) {
		fprintf(stderr, "usage: pw-mkdb gen --out DB [options]\n");
		return 64;
	}
	memset(&g, 0, sizeof(g));
	g.rng = seed;
	g.n_hh = n_hh;
	g.retail = RETAIL;
	g.fee_pair = FEE_PAIR;
	if ((g.hh = calloc(n_hh, sizeof(*g.hh))) == NULL ||
	    (g.buf = malloc(PW_WIRE_MAX_LEN)) == NULL)
		die("households", PW_ERR_NOMEM);
	derive_key(seed, "exchange", 0, &g.exch);
	if (keyout != NULL && (rc = pw_key_save(keyout, &g.exch)) != PW_OK)
		die(keyout, rc);
	/* registry text for the real parser, then the store's snapshot */
	size_t cap = n_hh * 200 + 1;
	char *reg = malloc(cap), err[256];
	size_t off = 0;
	if (reg == NULL)
		die("registry", PW_ERR_NOMEM);
	for (size_t h = 0; h < n_hh; h++) {
		char hex[2 * PW_PK_LEN + 1];
		derive_key(seed, "household", h, &g.hh[h].kp);
		snprintf(g.hh[h].serial, sizeof(g.hh[h].serial), "MTR-%04zu", h);
		snprintf(g.hh[h].zone, sizeof(g.hh[h].zone), "%s", h % 3 == 2 ? "south" : "north");
		g.hh[h].exp_reg = 1000000 + h * 1000;
		g.hh[h].imp_reg = 2000000 + h * 1000;
		pw_hex_encode(g.hh[h].kp.pk, PW_PK_LEN, hex);
		off += (size_t)snprintf(reg + off, cap - off, "h%zu House%zu %s %s %s %d %d\n", h,
		                        h, hex, g.hh[h].serial, g.hh[h].zone, MAX_W, MAX_W);
	}
	struct registry *r = NULL;
	if ((rc = registry_parse("pw-mkdb", reg, &r, err, sizeof(err))) != PW_OK) {
		fprintf(stderr, "pw-mkdb: %s\n", err);
		return 70;
	}
	free(reg);
	if ((rc = store_open(out, &g.s)) != PW_OK)
		die(out, rc);
	struct store_params p = { MARKET_ID, MARKET_NAME, L_S,    GATE_S,
		                  GRACE_S,   FEEDIN,      RETAIL, { 0 } };
	memcpy(p.exchange_pk, g.exch.pk, PW_PK_LEN);
	if ((rc = store_begin(g.s)) != PW_OK || (rc = store_put_params(g.s, &p)) != PW_OK ||
	    (rc = store_put_fee(g.s, "north", "south", FEE_PAIR)) != PW_OK ||
	    (rc = store_sync_households(g.s, r)) != PW_OK)
		die("store", rc);
	/* the same-zone and default fees (params of docs/audit.md) */
	char sql[256];
	snprintf(sql, sizeof(sql),
	         "INSERT OR REPLACE INTO params(key, value) VALUES ('fee_same_zone_uper_kwh', %d),"
	         " ('fee_default_uper_kwh', %d), ('max_ahead_s', %d)",
	         FEE_SAME, FEE_DEFAULT, MAX_AHEAD_S);
	if (sqlite3_exec(store_db(g.s), sql, NULL, NULL, NULL) != SQLITE_OK)
		die("params", PW_ERR_DB);
	if ((rc = store_commit(g.s)) != PW_OK)
		die("commit", rc);
	registry_free(&r);
	if ((rc = mlog_open(&g.m, store_db(g.s))) != PW_OK)
		die("mlog", rc);
	if (!old_format && !migrated)
		genesis(&g, FIRST_IVL * L_S - 3600);
	if (rows > 0 && !old_format && !migrated)
		tariff_rows(&g, FIRST_IVL + n_ivl + 1, rows);
	if (cpfile && (g.cpf = fopen(cpfile, "w")) == NULL) {
		fprintf(stderr, "pw-mkdb: %s: %s\n", cpfile, strerror(errno));
		return 70;
	}
	if (g.cpf)
		fprintf(g.cpf, "# checkpoints of %s as an agent keeps them\n", MARKET_NAME);
	for (uint64_t i = 0; i < n_ivl; i++) {
		if (change && i == n_ivl / 2 && i > 0)
			tariff_change(&g, FIRST_IVL + i);
		run_interval(&g, FIRST_IVL + i, (size_t)orders, (size_t)part_trades,
		             fork && i + 1 == n_ivl);
	}
	if (migrated) /* as the exchange migrates an old database: at the end */
		genesis(&g, (FIRST_IVL + n_ivl + 10) * L_S);
	printf("%llu entries\n", (unsigned long long)mlog_size(g.m));
	mlog_close(&g.m);
	store_close(&g.s);
	if (g.cpf && fclose(g.cpf) != 0)
		die("checkpoint file", PW_ERR_IO);
	free(g.hh);
	free(g.buf);
	return 0;
}

/* --- tamper ---------------------------------------------------------------------- */

struct entry {
	uint64_t idx;
	uint8_t frame[65536];
	size_t len;
	struct pw_msg msg;
};

/* The n-th entry (0-based) of `type` matching `pred` (NULL: any). */
static int
find_entry(sqlite3 *db, uint8_t type, size_t nth, struct entry *e)
{
	sqlite3_stmt *st;
	size_t seen = 0;
	int found = 0;
	if (sqlite3_prepare_v2(db, "SELECT idx, frame FROM log WHERE type = ?1 ORDER BY idx", -1,
	                       &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_int(st, 1, type);
	while (!found && sqlite3_step(st) == SQLITE_ROW) {
		if (seen++ != nth)
			continue;
		e->idx = (uint64_t)sqlite3_column_int64(st, 0);
		e->len = (size_t)sqlite3_column_bytes(st, 1);
		if (e->len > sizeof(e->frame))
			break;
		memcpy(e->frame, sqlite3_column_blob(st, 1), e->len);
		found = pw_wire_decode_stored(e->frame, e->len, &e->msg) == PW_OK;
	}
	sqlite3_finalize(st);
	return found;
}

static void
put_entry(sqlite3 *db, uint64_t idx, const uint8_t *frame, size_t len)
{
	uint8_t leaf[PW_HASH_LEN];
	sqlite3_stmt *st;
	merkle_leaf_hash(frame, len, leaf);
	if (sqlite3_prepare_v2(db, "UPDATE log SET frame = ?2, leaf = ?3, type = ?4 WHERE idx = ?1",
	                       -1, &st, NULL) != SQLITE_OK)
		die("update", PW_ERR_DB);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)idx);
	sqlite3_bind_blob(st, 2, frame, (int)len, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 3, leaf, PW_HASH_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 4, frame[1]);
	if (sqlite3_step(st) != SQLITE_DONE)
		die("update", PW_ERR_DB);
	sqlite3_finalize(st);
}

static void
resign(struct entry *e, const struct pw_keypair *kp)
{
	if (pw_wire_encode(&e->msg, MARKET_ID, kp, e->frame, sizeof(e->frame), &e->len) != PW_OK)
		die("re-sign", PW_ERR_CRYPTO);
}

static int
cmd_tamper(int argc, char **argv)
{
	uint64_t seed = 1;
	sqlite3 *db;
	struct entry *e = calloc(2, sizeof(*e));
	struct pw_keypair exch;

	if (e == NULL)
		die("tamper", PW_ERR_NOMEM);
	if (argc < 4 || (argc == 6 && (strcmp(argv[4], "--seed") != 0 ||
	                               parse_u64(argv[5], UINT64_MAX, &seed) != 0))) {
		fprintf(stderr, "usage: pw-mkdb tamper DB KIND [--seed N]\n");
		free(e);
		return 64;
	}
	derive_key(seed, "exchange", 0, &exch);
	if (sqlite3_open_v2(argv[2], &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		die(argv[2], PW_ERR_DB);
	const char *kind = argv[3];
	if (strcmp(kind, "order-price") == 0) {
		/* a price changed in a household's signed order */
		if (!find_entry(db, PW_MSG_ORDER, 5, e))
			die("no order", PW_ERR_NOTFOUND);
		e->frame[e->len - PW_SIG_LEN - 2] ^=
		    0x01; /* low byte of the price, not re-signed */
		put_entry(db, e->idx, e->frame, e->len);
		printf("entry %llu\n", (unsigned long long)e->idx);
	} else if (strcmp(kind, "delete") == 0) {
		if (!find_entry(db, PW_MSG_CANCEL, 0, e))
			die("no cancel", PW_ERR_NOTFOUND);
		char sql[96];
		snprintf(sql, sizeof(sql), "DELETE FROM log WHERE idx = %llu",
		         (unsigned long long)e->idx);
		if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
			die("delete", PW_ERR_DB);
		printf("entry %llu\n", (unsigned long long)e->idx);
	} else if (strcmp(kind, "reorder") == 0) {
		/* the two orders of one household in one interval swapped: arrival
		 * order (and sequence) no longer as received */
		size_t k = 0;
		int done = 0;
		while (!done && find_entry(db, PW_MSG_ORDER, k, &e[0])) {
			for (size_t j = k + 1; !done && find_entry(db, PW_MSG_ORDER, j, &e[1]); j++)
				if (memcmp(e[0].msg.author, e[1].msg.author, PW_PK_LEN) == 0 &&
				    e[0].msg.u.order.interval == e[1].msg.u.order.interval)
					done = 1;
			k++;
		}
		if (!done)
			die("no two orders of one household", PW_ERR_NOTFOUND);
		put_entry(db, e[0].idx, e[1].frame, e[1].len);
		put_entry(db, e[1].idx, e[0].frame, e[0].len);
		printf("entry %llu\n", (unsigned long long)e[1].idx);
	} else if (strcmp(kind, "reading") == 0) {
		if (!find_entry(db, PW_MSG_METER, 3, e))
			die("no reading", PW_ERR_NOTFOUND);
		e->frame[e->len - PW_SIG_LEN - 2] ^= 0x04; /* import_end, not re-signed */
		put_entry(db, e->idx, e->frame, e->len);
		printf("entry %llu\n", (unsigned long long)e->idx);
	} else if (strcmp(kind, "reading-resign") == 0) {
		/* a reading altered and signed again by its household: the first
		 * entry that disagrees is that household's statement */
		if (!find_entry(db, PW_MSG_METER, 3, &e[0]))
			die("no reading", PW_ERR_NOTFOUND);
		struct pw_keypair hk;
		int found = 0;
		for (uint64_t h = 0; h < MAX_HH && !found; h++) {
			derive_key(seed, "household", h, &hk);
			found = memcmp(hk.pk, e[0].msg.author, PW_PK_LEN) == 0;
		}
		if (!found)
			die("household key", PW_ERR_NOTFOUND);
		e[0].msg.u.meter.export_end_wh += 1;
		resign(&e[0], &hk);
		put_entry(db, e[0].idx, e[0].frame, e[0].len);
		for (size_t k = 0; find_entry(db, PW_MSG_STATEMENT, k, &e[1]); k++)
			if (memcmp(e[1].msg.u.statement.household, hk.pk, PW_PK_LEN) == 0 &&
			    e[1].msg.u.statement.interval == e[0].msg.u.meter.interval) {
				printf("entry %llu\n", (unsigned long long)e[1].idx);
				break;
			}
	} else if (strcmp(kind, "result-price") == 0) {
		/* the exchange re-signs a clearing result with another price */
		size_t k = 0;
		while (find_entry(db, PW_MSG_RESULT, k, e) && e->msg.u.result.volume_wh == 0)
			k++;
		e->msg.u.result.price_uper_kwh += 1;
		resign(e, &exch);
		put_entry(db, e->idx, e->frame, e->len);
		printf("entry %llu\n", (unsigned long long)e->idx);
	} else if (strcmp(kind, "statement") == 0) {
		/* a forged statement: the household is charged more */
		if (!find_entry(db, PW_MSG_STATEMENT, 2, e))
			die("no statement", PW_ERR_NOTFOUND);
		e->msg.u.statement.grid_u -= 1000;
		e->msg.u.statement.net_u -= 1000;
		e->msg.u.statement.saving_u -= 1000;
		resign(e, &exch);
		put_entry(db, e->idx, e->frame, e->len);
		printf("entry %llu\n", (unsigned long long)e->idx);
	} else if (strcmp(kind, "checkpoint") == 0) {
		/* a checkpoint replaced by one over another root, properly signed */
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(
		        db,
		        "SELECT tree_size, frame FROM checkpoints ORDER BY tree_size "
		        "LIMIT 1 OFFSET 1",
		        -1, &st, NULL) != SQLITE_OK ||
		    sqlite3_step(st) != SQLITE_ROW)
			die("no checkpoint", PW_ERR_NOTFOUND);
		uint64_t ts = (uint64_t)sqlite3_column_int64(st, 0);
		e->len = (size_t)sqlite3_column_bytes(st, 1);
		memcpy(e->frame, sqlite3_column_blob(st, 1), e->len);
		sqlite3_finalize(st);
		if (pw_wire_decode_stored(e->frame, e->len, &e->msg) != PW_OK)
			die("checkpoint", PW_ERR_CORRUPT);
		e->msg.u.checkpoint.root[0] ^= 0x80;
		resign(e, &exch);
		if (sqlite3_prepare_v2(db, "UPDATE checkpoints SET frame = ?2 WHERE tree_size = ?1",
		                       -1, &st, NULL) != SQLITE_OK)
			die("update", PW_ERR_DB);
		sqlite3_bind_int64(st, 1, (sqlite3_int64)ts);
		sqlite3_bind_blob(st, 2, e->frame, (int)e->len, SQLITE_TRANSIENT);
		if (sqlite3_step(st) != SQLITE_DONE)
			die("update", PW_ERR_DB);
		sqlite3_finalize(st);
		printf("checkpoint %llu\n", (unsigned long long)ts);
	} else {
		fprintf(stderr, "pw-mkdb: unknown tamper kind '%s'\n", kind);
		sqlite3_close(db);
		free(e);
		return 64;
	}
	sqlite3_close(db);
	free(e);
	return 0;
}

int
main(int argc, char **argv)
{
	if (pw_crypto_init() != PW_OK)
		return 70;
	if (argc >= 2 && strcmp(argv[1], "gen") == 0)
		return cmd_gen(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "tamper") == 0)
		return cmd_tamper(argc, argv);
	fprintf(stderr,
	        "usage: pw-mkdb gen --out DB [--households N] [--intervals N] [--orders N]\n"
	        "                   [--part-trades N] [--seed N] [--checkpoints FILE] "
	        "[--fork]\n"
	        "                   [--old-format | --migrated] [--tariff-change] "
	        "[--tariff-rows N]\n"
	        "                   [--exchange-key-out FILE]\n"
	        "       pw-mkdb tamper DB KIND [--seed N]\n");
	return 64;
}
