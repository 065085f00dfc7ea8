/*
 * adispute.c: the household refuses what it can show to be false (see
 * adispute.h, docs/agent-checks.md "What the agent checks").  The rules are in
 * agent/averify.c; this file reads their inputs from the agent's database,
 * keeps refused frames as evidence (table disputes), every RESULT part's
 * header and hash (table results: the whole frame when it concerns the
 * household) to recognise a second, different RESULT, and the state of the
 * checkpoint being proven.
 */
#include "agent/adispute.h"

#include <stdlib.h>
#include <string.h>

#include "agent/averify.h"
#include "peerwatt/fmt.h"
#include "peerwatt/merkle.h"
#include "peerwatt/money.h"

/* What the status shows: one class per problem code. */
enum { CL_RESULT, CL_STATEMENT, CL_FORK, CL__N };

/* A checkpoint whose proof the exchange refused or did not give: asked
 * again with backoff, the others are proven meanwhile. */
#define ADISPUTE_REFS 8
struct cpref {
	uint64_t size; /* 0: free slot (the empty tree needs no proof) */
	unsigned tries;
	int64_t next_ms;
	int refused; /* refused, or unanswered ADISPUTE_UNANSWERED_MAX times */
	uint16_t reason;
	uint64_t from, to; /* the query */
};

struct adispute {
	/* the checkpoint being proven */
	uint64_t cp_size;
	int cp_set;
	int cp_lo_done; /* proven from the trusted checkpoint below */
	struct cpref refs[ADISPUTE_REFS];
	/* a RESULT query refused: that interval's statement is checked
	 * without a RESULT */
	int result_refused_set;
	uint64_t result_refused_iv;
	/* the latest dispute of each class, for the status */
	int64_t last_ms[CL__N];
	unsigned long count[CL__N];
	char last[CL__N][AVERIFY_TEXT_LEN + 384];
	struct log_rate rate[CL__N];
	/* new disputes logged in the current minute: each is logged whole
	 * until ADISPUTE_LOG_BURST a minute, then at most one per 10 s */
	int64_t burst_start_ms;
	unsigned burst;
};

#define ADISPUTE_LOG_BURST 10

static int
class_of(uint8_t type)
{
	return type == PW_MSG_RESULT      ? CL_RESULT
	       : type == PW_MSG_STATEMENT ? CL_STATEMENT
	                                  : CL_FORK;
}

pw_err
adispute_open(struct agentd *a)
{
	sqlite3_stmt *st;
	struct adispute *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return PW_ERR_NOMEM;
	a->disp = d;
	if (afee_open(a) != PW_OK || aheads_open(a) != PW_OK)
		return PW_ERR_DB;
	/* the latest dispute of each class and how many there are */
	if (sqlite3_prepare_v2(agentd_db(a),
	                       "SELECT type, detail, time_ms, (SELECT count(*) FROM disputes x"
	                       " WHERE x.type = d.type) FROM disputes d WHERE id IN"
	                       " (SELECT max(id) FROM disputes GROUP BY type)",
	                       -1, &st, NULL) != SQLITE_OK)
		return PW_ERR_DB;
	while (sqlite3_step(st) == SQLITE_ROW) {
		int c = class_of((uint8_t)sqlite3_column_int(st, 0));
		const unsigned char *t = sqlite3_column_text(st, 1);
		int64_t ms = sqlite3_column_int64(st, 2);
		if (ms < d->last_ms[c])
			continue;
		d->last_ms[c] = ms;
		d->count[c] += (unsigned long)sqlite3_column_int64(st, 3);
		snprintf(d->last[c], sizeof(d->last[c]), "%s", t != NULL ? (const char *)t : "");
	}
	sqlite3_finalize(st);
	return PW_OK;
}

void
adispute_close(struct agentd *a)
{
	free(a->disp);
	a->disp = NULL;
}

/* Keeps a refused frame; 1 when it is new (then logged loudly), 0 when it
 * was kept before (a re-delivery) or cannot be stored. */
static int
keep(struct agentd *a, uint8_t type, uint64_t iv, const char *code, const char *detail,
     const uint8_t *frame, size_t len, int64_t now)
{
	struct adispute *d = a->disp;
	sqlite3_stmt *st;
	int r, c = class_of(type);

	if (sqlite3_prepare_v2(agentd_db(a),
	                       "INSERT OR IGNORE INTO disputes(type, interval, code, detail, frame,"
	                       " time_ms) VALUES (?, ?, ?, ?, ?, ?)",
	                       -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_int(st, 1, type);
	sqlite3_bind_int64(st, 2, agentd_i64(iv));
	sqlite3_bind_text(st, 3, code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, detail, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, frame, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, now);
	r = sqlite3_step(st);
	sqlite3_finalize(st);
	if (r != SQLITE_DONE) {
		log_warnx("disputes: %s", sqlite3_errmsg(agentd_db(a)));
		return 0;
	}
	if (sqlite3_changes(agentd_db(a)) == 0)
		return 0;
	char ivs[PW_FMT_LEN];
	pw_fmt_interval(iv, a->cfg.interval_s, ivs, sizeof(ivs));
	d->count[c]++;
	d->last_ms[c] = now;
	snprintf(d->last[c], sizeof(d->last[c]), "%s for interval %s: %s", pw_msg_type_name(type),
	         ivs, detail);
	if (now - d->burst_start_ms >= 60000) {
		d->burst_start_ms = now;
		d->burst = 0;
	}
	if (++d->burst <= ADISPUTE_LOG_BURST)
		log_error("EXCHANGE %s: %s for interval %s refused (%s): %s",
		          c == CL_FORK ? "LOG FORK" : "LIED", pw_msg_type_name(type), ivs, code,
		          detail);
	else
		log_rated(
		    &d->rate[c], LOG_LEVEL_ERR, "EXCHANGE %s: %s for interval %s refused (%s): %s",
		    c == CL_FORK ? "LOG FORK" : "LIED", pw_msg_type_name(type), ivs, code, detail);
	return 1;
}

/* ---- own orders, trades, reading ------------------------------------ */

struct own {
	uint64_t interval;
	struct averify_order o[AVERIFY_MAX_ORDERS];
	size_t n;
	uint64_t cancels[AVERIFY_MAX_ORDERS];
	size_t n_cancels;
};

static int
own_cb(void *ctx, const struct outbox_item *it)
{
	struct own *w = ctx;
	struct pw_msg m;

	if (it->interval != w->interval || pw_wire_decode_stored(it->frame, it->len, &m) != PW_OK)
		return 0;
	if (m.type == PW_MSG_CANCEL && it->state == OUTBOX_ACKED &&
	    w->n_cancels < AVERIFY_MAX_ORDERS)
		w->cancels[w->n_cancels++] = m.u.cancel.order_seq;
	/* every order the exchange may have accepted: ACKed, or sent and
	 * never answered (the ACK may have been lost); not a refused one */
	if (m.type != PW_MSG_ORDER || w->n >= AVERIFY_MAX_ORDERS ||
	    !(it->state == OUTBOX_ACKED || (it->state != OUTBOX_REJECTED && it->attempts > 0)))
		return 0;
	struct averify_order *o = &w->o[w->n++];
	memset(o, 0, sizeof(*o));
	o->seq = m.u.order.seq;
	o->side = m.u.order.side;
	o->qty_wh = m.u.order.qty_wh;
	o->price_uper_kwh = m.u.order.price_uper_kwh;
	return 0;
}

/* The household's possible orders of interval iv, with what earlier parts
 * of its RESULT filled; NULL on error (caller frees). */
static struct own *
own_orders(struct agentd *a, uint64_t iv)
{
	struct own *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NULL;
	w->interval = iv;
	if (outbox_foreach(a->ob, OUTBOX_ORDERS, iv, own_cb, w) != PW_OK) {
		free(w);
		return NULL;
	}
	for (size_t i = 0; i < w->n; i++) {
		for (size_t k = 0; k < w->n_cancels; k++)
			if (w->cancels[k] == w->o[i].seq)
				w->o[i].cancelled = 1;
		w->o[i].filled_wh = aledger_order_traded_wh(a->led, w->o[i].side, w->o[i].seq);
	}
	return w;
}

static int64_t
count_sql(struct agentd *a, const char *sql, uint64_t iv)
{
	sqlite3_stmt *st;
	int64_t v = 0;
	if (sqlite3_prepare_v2(agentd_db(a), sql, -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_int64(st, 1, agentd_i64(iv));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int
interval_disputed(struct agentd *a, uint64_t iv)
{
	return count_sql(a, "SELECT count(*) FROM disputes WHERE type = 18 AND interval = ?", iv) >
	       0;
}

/* The interval's RESULT no longer counts: its trades and price go. */
static void
drop_interval(struct agentd *a, uint64_t iv)
{
	sqlite3_stmt *st;
	const char *sql[2] = { "DELETE FROM trades WHERE interval = ?",
		               "DELETE FROM prices WHERE interval = ?" };
	for (int i = 0; i < 2; i++) {
		if (sqlite3_prepare_v2(agentd_db(a), sql[i], -1, &st, NULL) != SQLITE_OK)
			continue;
		sqlite3_bind_int64(st, 1, agentd_i64(iv));
		(void)sqlite3_step(st);
		sqlite3_finalize(st);
	}
	if (a->dash != NULL) {
		(void)dash_notify(a->dash, DASH_DOC_TRADES);
		(void)dash_notify(a->dash, DASH_DOC_TODAY);
	}
}

/* ---- RESULT ---------------------------------------------------------- */

struct held_part {
	int found;
	uint8_t hash[PW_HASH_LEN];
	uint8_t *frame; /* malloc'd, NULL when only the hash was kept */
	size_t len;
	struct pw_result hdr;
};

/* A part held for the interval: part `part` when exact, else any. */
static void
held_result(struct agentd *a, uint64_t iv, int part, struct held_part *h)
{
	sqlite3_stmt *st;

	memset(h, 0, sizeof(*h));
	if (sqlite3_prepare_v2(agentd_db(a),
	                       part >= 0
	                           ? "SELECT hash, frame, parts, price, volume_wh, n_total, part"
	                             " FROM results WHERE interval = ?1 AND part = ?2"
	                           : "SELECT hash, frame, parts, price, volume_wh, n_total, part"
	                             " FROM results WHERE interval = ?1 AND ?2 = ?2 LIMIT 1",
	                       -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, agentd_i64(iv));
	sqlite3_bind_int(st, 2, part);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == PW_HASH_LEN) {
		h->found = 1;
		memcpy(h->hash, sqlite3_column_blob(st, 0), PW_HASH_LEN);
		int n = sqlite3_column_bytes(st, 1);
		if (n > 0 && (h->frame = malloc((size_t)n)) != NULL) {
			memcpy(h->frame, sqlite3_column_blob(st, 1), (size_t)n);
			h->len = (size_t)n;
		}
		h->hdr.interval = iv;
		h->hdr.parts = (uint16_t)sqlite3_column_int(st, 2);
		h->hdr.price_uper_kwh = (int32_t)sqlite3_column_int64(st, 3);
		h->hdr.volume_wh = (uint64_t)sqlite3_column_int64(st, 4);
		h->hdr.n_trades_total = (uint32_t)sqlite3_column_int64(st, 5);
		h->hdr.part = (uint16_t)sqlite3_column_int(st, 6);
	}
	sqlite3_finalize(st);
}

static void
store_part(struct agentd *a, const struct pw_result *r, const uint8_t hash[PW_HASH_LEN],
           const uint8_t *frame, size_t len, int whole)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(agentd_db(a),
	                       "INSERT OR IGNORE INTO results(interval, part, parts, price,"
	                       " volume_wh, n_total, hash, frame) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	                       -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, agentd_i64(r->interval));
	sqlite3_bind_int(st, 2, r->part);
	sqlite3_bind_int(st, 3, r->parts);
	sqlite3_bind_int64(st, 4, r->price_uper_kwh);
	sqlite3_bind_int64(st, 5, agentd_i64(r->volume_wh));
	sqlite3_bind_int64(st, 6, r->n_trades_total);
	sqlite3_bind_blob(st, 7, hash, PW_HASH_LEN, SQLITE_STATIC);
	if (whole)
		sqlite3_bind_blob(st, 8, frame, (int)len, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 8);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_warnx("results: %s", sqlite3_errmsg(agentd_db(a)));
	sqlite3_finalize(st);
}

enum adispute_verdict
adispute_result(struct agentd *a, const uint8_t *frame, size_t len, const struct pw_msg *m,
                int64_t now)
{
	const struct pw_result *r = &m->u.result;
	uint8_t hash[PW_HASH_LEN];
	struct held_part same, any;
	struct averify_finding f;
	enum adispute_verdict v = ADISPUTE_REFUSED;
	char detail[AVERIFY_TEXT_LEN + 256];

	pw_sha256(frame, len, hash);
	held_result(a, r->interval, r->part, &same);
	held_result(a, r->interval, -1, &any);
	if (same.found && memcmp(same.hash, hash, PW_HASH_LEN) == 0) {
		v = ADISPUTE_DUPLICATE; /* the same part again: fine */
		goto out;
	}
	if (same.found || (any.found && !averify_result_same_header(&any.hdr, r))) {
		/* two different signed RESULTs for one interval: both are
		 * evidence, neither is the household's truth */
		const struct held_part *h = same.found ? &same : &any;
		snprintf(detail, sizeof(detail),
		         "a second, different RESULT for the interval: price %d u/kWh, volume %llu"
		         " Wh in %u trade(s), where the exchange had signed price %d u/kWh, volume"
		         " %llu Wh in %u trade(s)%s",
		         r->price_uper_kwh, (unsigned long long)r->volume_wh, r->n_trades_total,
		         h->hdr.price_uper_kwh, (unsigned long long)h->hdr.volume_wh,
		         h->hdr.n_trades_total,
		         h->frame != NULL ? ""
		                          : " (the first concerned no order of this household: kept"
		                            " as its hash only)");
		if (h->frame != NULL)
			(void)keep(a, PW_MSG_RESULT, r->interval, "result_equivocation",
			           "the first of two different RESULTs for the interval", h->frame,
			           h->len, now);
		(void)keep(a, PW_MSG_RESULT, r->interval, "result_equivocation", detail, frame, len,
		           now);
		drop_interval(a, r->interval);
		goto out;
	}
	if (interval_disputed(a, r->interval)) {
		/* a part of a RESULT already refused */
		(void)keep(a, PW_MSG_RESULT, r->interval, "result_disputed",
		           "another part of a RESULT this household refused", frame, len, now);
		store_part(a, r, hash, frame, len, 1);
		goto out;
	}
	struct own *w = own_orders(a, r->interval);
	struct averify_trade *out = calloc(r->n_trades > 0 ? r->n_trades : 1, sizeof(*out));
	size_t n = 0;
	enum averify_code c = AVERIFY_RESULT_SHAPE;
	if (w != NULL && out != NULL)
		c = averify_result(r, a->kp.pk, w->o, w->n, out, r->n_trades, &n, &f);
	else
		snprintf(f.text, sizeof(f.text), "out of memory");
	store_part(a, r, hash, frame, len, (w != NULL && w->n > 0) || n > 0 || c != AVERIFY_OK);
	free(out);
	free(w);
	if (c == AVERIFY_OK) {
		v = ADISPUTE_ACCEPT;
		goto out;
	}
	(void)keep(a, PW_MSG_RESULT, r->interval, averify_code_name(c), f.text, frame, len, now);
	drop_interval(a, r->interval);
out:
	free(same.frame);
	free(any.frame);
	return v;
}

/* ---- STATEMENT ------------------------------------------------------- */

struct reading {
	uint64_t interval;
	int found;
	uint64_t export_wh, import_wh;
	int have_time;
	uint64_t time_s; /* the receipt's: the reading was accepted at or before it */
	/* a version-2 ACK names the last interval settled when it was signed
	 * (its head's): the reading was logged before iv was settled exactly
	 * when that interval is below iv */
	int have_head;
	uint64_t head_interval;
};

static void
acked_reading(struct agentd *a, uint64_t iv, struct reading *rd)
{
	sqlite3_stmt *st;
	struct pw_msg m;

	memset(rd, 0, sizeof(*rd));
	if (sqlite3_prepare_v2(agentd_db(a),
	                       "SELECT o.frame, r.frame FROM outbox o LEFT JOIN receipts r"
	                       " ON r.stream = o.stream AND r.seq = o.seq WHERE o.stream = 1"
	                       " AND o.type = 3 AND o.state = 1 AND o.interval = ?"
	                       " ORDER BY o.seq DESC LIMIT 1",
	                       -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, agentd_i64(iv));
	if (sqlite3_step(st) == SQLITE_ROW) {
		const void *f = sqlite3_column_blob(st, 0);
		int n = sqlite3_column_bytes(st, 0);
		if (f != NULL && n > 0 && pw_wire_decode_stored(f, (size_t)n, &m) == PW_OK &&
		    m.type == PW_MSG_METER &&
		    m.u.meter.export_end_wh >= m.u.meter.export_start_wh &&
		    m.u.meter.import_end_wh >= m.u.meter.import_start_wh) {
			rd->found = 1;
			rd->export_wh = m.u.meter.export_end_wh - m.u.meter.export_start_wh;
			rd->import_wh = m.u.meter.import_end_wh - m.u.meter.import_start_wh;
		}
		/* its receipt: an ACK, or a REJECT replay of a frame accepted
		 * before (both signed with the exchange's time) */
		f = sqlite3_column_blob(st, 1);
		n = sqlite3_column_bytes(st, 1);
		if (rd->found && f != NULL && n > 0 &&
		    pw_wire_decode_stored(f, (size_t)n, &m) == PW_OK &&
		    (m.type == PW_MSG_ACK || m.type == PW_MSG_REJECT)) {
			rd->have_time = 1;
			rd->time_s = m.u.receipt.time_s;
			if (m.type == PW_MSG_ACK && m.version == PW_PROTO_VERSION) {
				rd->have_head = 1;
				rd->head_interval = m.u.receipt.head.interval;
			}
		}
	}
	sqlite3_finalize(st);
}

/* The signed time of the latest checkpoint of interval iv or before: the
 * exchange settles iv at or after it (intervals are settled in order and
 * each checkpoint is signed when its interval is settled). */
static int
settled_after(struct agentd *a, uint64_t iv, uint64_t *time_s)
{
	sqlite3_stmt *st;
	struct pw_msg m;
	int ok = 0;

	if (sqlite3_prepare_v2(agentd_db(a),
	                       "SELECT frame FROM checkpoints WHERE interval <= ?"
	                       " ORDER BY tree_size DESC LIMIT 1",
	                       -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_int64(st, 1, agentd_i64(iv));
	if (sqlite3_step(st) == SQLITE_ROW) {
		const void *f = sqlite3_column_blob(st, 0);
		int n = sqlite3_column_bytes(st, 0);
		if (f != NULL && n > 0 && pw_wire_decode_stored(f, (size_t)n, &m) == PW_OK &&
		    m.type == PW_MSG_CHECKPOINT) {
			*time_s = m.u.checkpoint.time_s;
			ok = 1;
		}
	}
	sqlite3_finalize(st);
	return ok;
}

static int
orders_in(struct agentd *a, uint64_t iv)
{
	struct own *w = own_orders(a, iv);
	int n = w != NULL && w->n > 0;
	free(w);
	return n;
}

enum adispute_verdict
adispute_statement(struct agentd *a, const uint8_t *frame, size_t len,
                   const struct pw_statement *st, int64_t now)
{
	struct adispute *d = a->disp;
	uint64_t iv = st->interval;
	uint8_t held[1024];
	size_t hlen;
	struct held_part res;
	struct reading rd;
	struct averify_stmt_in in;
	struct averify_stmt_out out;
	struct averify_finding f;
	struct averify_trade *tr = NULL;
	char detail[AVERIFY_TEXT_LEN + 256], why[256];

	if (aledger_statement_frame(a->led, iv, held, sizeof(held), &hlen) == PW_OK) {
		if (hlen == len && memcmp(held, frame, len) == 0)
			return ADISPUTE_DUPLICATE;
		/* two different signed statements: neither is the truth */
		a->mismatches++;
		(void)keep(a, PW_MSG_STATEMENT, iv, "statement_equivocation",
		           "the first of two different statements for the interval", held, hlen,
		           now);
		(void)keep(a, PW_MSG_STATEMENT, iv, "statement_equivocation",
		           "a second, different statement for the interval", frame, len, now);
		sqlite3_stmt *q;
		if (sqlite3_prepare_v2(agentd_db(a), "DELETE FROM statements WHERE interval = ?",
		                       -1, &q, NULL) == SQLITE_OK) {
			sqlite3_bind_int64(q, 1, agentd_i64(iv));
			(void)sqlite3_step(q);
			sqlite3_finalize(q);
		}
		if (a->dash != NULL)
			(void)dash_notify(a->dash, DASH_DOC_STATEMENTS);
		return ADISPUTE_REFUSED;
	}
	held_result(a, iv, -1, &res);
	free(res.frame);
	int disputed = interval_disputed(a, iv);
	if (!res.found && !disputed && orders_in(a, iv) &&
	    !(d->result_refused_set && d->result_refused_iv == iv))
		return ADISPUTE_DEFER; /* its RESULT is asked first */
	memset(&in, 0, sizeof(in));
	in.interval = iv;
	in.have_result = res.found && !disputed;
	in.price_uper_kwh = res.hdr.price_uper_kwh;
	/* the tariffs and each trade's grid fee from the log's MARKET and
	 * REGISTRY entries, proven against a checkpoint (agent/afee.c) */
	int fr = afee_inputs(a, iv, in.have_result, &in, &tr, why, sizeof(why));
	if (fr == AFEE_WAIT)
		return ADISPUTE_DEFER; /* not yet checked: its entries are asked first */
	if (fr == AFEE_FAIL) {
		a->mismatches++;
		snprintf(detail, sizeof(detail),
		         "the statement cannot be checked: %s; its fee and tariffs are the"
		         " exchange's word only",
		         why);
		(void)keep(a, PW_MSG_STATEMENT, iv, "statement_rules_unproven", detail, frame, len,
		           now);
		return ADISPUTE_REFUSED;
	}
	acked_reading(a, iv, &rd);
	in.have_reading = rd.found;
	in.export_wh = rd.export_wh;
	in.import_wh = rd.import_wh;
	uint64_t settled_s;
	/* the ACK's head says it (signed); a version-1 ACK only has its time,
	 * compared with the checkpoint that settled iv */
	if (rd.have_head)
		in.reading_before_settlement = rd.found && rd.head_interval < iv;
	else
		in.reading_before_settlement = rd.found && rd.have_time &&
		                               settled_after(a, iv, &settled_s) &&
		                               rd.time_s < settled_s;
	enum averify_code c = averify_statement(&in, a->kp.pk, st, &out, &f);
	free(tr);
	if (c == AVERIFY_OK)
		return ADISPUTE_ACCEPT;
	a->mismatches++;
	char sn[32], mn[32];
	pw_money_format(st->net_u, sn, sizeof(sn));
	pw_money_format(out.mine.net_u, mn, sizeof(mn));
	snprintf(detail, sizeof(detail),
	         "signed net %s EUR, bought %llu Wh, sold %llu Wh; computed net %s EUR, bought"
	         " %llu Wh, sold %llu Wh (check failed: %s)%s",
	         sn, (unsigned long long)st->bought_wh, (unsigned long long)st->sold_wh, mn,
	         (unsigned long long)out.mine.bought_wh, (unsigned long long)out.mine.sold_wh,
	         f.text, disputed ? " (the interval's RESULT was refused)" : "");
	(void)keep(a, PW_MSG_STATEMENT, iv, averify_code_name(c), detail, frame, len, now);
	return ADISPUTE_REFUSED;
}

/* ---- checkpoints ----------------------------------------------------- */

void
adispute_checkpoint_fork(struct agentd *a, const uint8_t *frame, size_t len,
                         const struct pw_checkpoint *cp, int64_t now)
{
	char detail[160];
	a->forks++;
	snprintf(detail, sizeof(detail),
	         "a second checkpoint of tree size %llu with another root: the exchange showed"
	         " two histories",
	         (unsigned long long)cp->tree_size);
	(void)keep(a, PW_MSG_CHECKPOINT, cp->interval, "checkpoint_fork", detail, frame, len, now);
}

void
adispute_head_fork(struct agentd *a, const uint8_t *frame, size_t len,
                   const struct pw_checkpoint *h, const char *detail, int64_t now)
{
	a->forks++;
	(void)keep(a, PW_MSG_CHECKPOINT, h->interval, "head_inconsistent", detail, frame, len, now);
}

void
adispute_cosign_fork(struct agentd *a, const uint8_t *frame, size_t len, const struct pw_cosign *c,
                     int64_t now)
{
	char detail[200], who[17];
	struct pw_checkpoint held;
	uint64_t iv = 0;
	pw_hex_encode(frame + 2, 8, who);
	if (aledger_prev_checkpoint(a->led, c->tree_size + 1, &held) == PW_OK &&
	    held.tree_size == c->tree_size)
		iv = held.interval;
	snprintf(detail, sizeof(detail),
	         "neighbour %s... cosigned the checkpoint of tree size %llu with another root"
	         " than this household holds: the exchange showed two histories",
	         who, (unsigned long long)c->tree_size);
	(void)keep(a, PW_MSG_COSIGN, iv, "cosign_fork", detail, frame, len, now);
}

/* A checkpoint proven inconsistent: never trusted, kept as evidence. */
static void
cp_fork(struct agentd *a, uint64_t from, uint64_t to, int64_t now)
{
	struct adispute *d = a->disp;
	uint64_t bad = d->cp_size;
	sqlite3_stmt *st;
	char detail[200];

	a->forks++;
	CHECKED(aledger_set_consistent(a->led, bad, -1));
	snprintf(detail, sizeof(detail),
	         "the checkpoint of tree size %llu is not consistent with the one of size %llu"
	         " (the consistency proof %llu -> %llu fails): the exchange showed two histories",
	         (unsigned long long)bad, (unsigned long long)(from == bad ? to : from),
	         (unsigned long long)from, (unsigned long long)to);
	if (sqlite3_prepare_v2(agentd_db(a),
	                       "SELECT frame, interval FROM checkpoints WHERE tree_size = ?", -1,
	                       &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, agentd_i64(bad));
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) > 0)
			(void)keep(a, PW_MSG_CHECKPOINT, (uint64_t)sqlite3_column_int64(st, 1),
			           "checkpoint_inconsistent", detail, sqlite3_column_blob(st, 0),
			           (size_t)sqlite3_column_bytes(st, 0), now);
		sqlite3_finalize(st);
	}
	d->cp_set = 0;
	for (int i = 0; i < ADISPUTE_REFS; i++)
		if (d->refs[i].size == bad)
			memset(&d->refs[i], 0, sizeof(d->refs[i]));
}

static struct cpref *
ref_find(struct adispute *d, uint64_t size, int create)
{
	struct cpref *free_slot = NULL, *oldest = &d->refs[0];
	for (int i = 0; i < ADISPUTE_REFS; i++) {
		if (d->refs[i].size == size && size != 0)
			return &d->refs[i];
		if (d->refs[i].size == 0 && free_slot == NULL)
			free_slot = &d->refs[i];
		if (d->refs[i].size < oldest->size)
			oldest = &d->refs[i];
	}
	if (!create || size == 0)
		return NULL;
	if (free_slot == NULL)
		free_slot = oldest;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->size = size;
	return free_slot;
}

int
adispute_next_query(struct agentd *a, const struct pw_checkpoint *latest, int64_t now,
                    uint8_t *kind, uint64_t *qa, uint64_t *qb)
{
	struct adispute *d = a->disp;
	struct pw_checkpoint c, lo, hi;
	sqlite3_stmt *st;
	int found = 0;

	/* the first unproven checkpoint received that is not waiting for its
	 * backoff: in the order they came, so that one slipped between two
	 * sizes held is checked against both, once the larger is trusted */
	if (sqlite3_prepare_v2(agentd_db(a),
	                       "SELECT frame FROM checkpoints WHERE consistent = 0"
	                       " ORDER BY arrival, tree_size LIMIT 16",
	                       -1, &st, NULL) != SQLITE_OK)
		return 0;
	while (!found && sqlite3_step(st) == SQLITE_ROW) {
		const void *fr = sqlite3_column_blob(st, 0);
		int n = sqlite3_column_bytes(st, 0);
		struct pw_msg m;
		if (fr == NULL || n <= 0 || pw_wire_decode_stored(fr, (size_t)n, &m) != PW_OK ||
		    m.type != PW_MSG_CHECKPOINT)
			continue;
		const struct cpref *r = ref_find(d, m.u.checkpoint.tree_size, 0);
		if (r != NULL && now < r->next_ms)
			continue;
		c = m.u.checkpoint;
		found = 1;
	}
	sqlite3_finalize(st);
	if (found) {
		if (!d->cp_set || d->cp_size != c.tree_size) {
			d->cp_set = 1;
			d->cp_size = c.tree_size;
			d->cp_lo_done = 0;
		}
		int have_lo = aledger_prev_checkpoint(a->led, c.tree_size, &lo) == PW_OK;
		int have_hi = aledger_next_checkpoint(a->led, c.tree_size, &hi) == PW_OK;
		*kind = PW_QUERY_CONSISTENCY;
		if (have_lo && !d->cp_lo_done && lo.tree_size > 0) {
			*qa = lo.tree_size;
			*qb = c.tree_size;
			return 1;
		}
		if (have_hi && c.tree_size > 0) {
			*qa = c.tree_size;
			*qb = hi.tree_size;
			return 1;
		}
		/* nothing held around it (or only the empty tree, which every
		 * tree extends) */
		CHECKED(aledger_set_consistent(a->led, c.tree_size, 1));
		d->cp_set = 0;
		return -1;
	}
	/* the RESULT of the next statement due, when the household had orders
	 * in its interval and holds none (missed while away) */
	uint64_t iv;
	struct held_part res;
	if (aledger_missing_statement(a->led, a->stmt_after, latest->interval, &iv) != PW_OK)
		return 0;
	held_result(a, iv, -1, &res);
	free(res.frame);
	if (res.found || (d->result_refused_set && d->result_refused_iv == iv) ||
	    interval_disputed(a, iv) || !orders_in(a, iv))
		return 0;
	*kind = PW_QUERY_RESULT;
	*qa = iv;
	*qb = 0;
	return 1;
}

static void
cp_trusted(struct agentd *a)
{
	struct adispute *d = a->disp;
	struct cpref *r = ref_find(d, d->cp_size, 0);
	CHECKED(aledger_set_consistent(a->led, d->cp_size, 1));
	if (r != NULL) {
		if (r->refused)
			log_info("checkpoint of tree size %llu proven consistent after all",
			         (unsigned long long)d->cp_size);
		memset(r, 0, sizeof(*r));
	}
	d->cp_set = 0;
}

void
adispute_consistency(struct agentd *a, const struct pw_proof *p, int64_t now)
{
	struct adispute *d = a->disp;
	uint8_t r1[PW_HASH_LEN], r2[PW_HASH_LEN];
	struct pw_checkpoint hi;

	if (!d->cp_set || (p->a != d->cp_size && p->b != d->cp_size))
		return;
	if (aledger_root(a->led, p->a, r1) != PW_OK || aledger_root(a->led, p->b, r2) != PW_OK)
		return;
	if (merkle_verify_consistency(p->a, p->b, r1, r2,
	                              (const uint8_t(*)[MERKLE_HASH_LEN])p->hashes,
	                              p->n_hashes) != PW_OK) {
		log_error("LOG FORK: checkpoint of size %llu is not an extension of size %llu",
		          (unsigned long long)p->b, (unsigned long long)p->a);
		cp_fork(a, p->a, p->b, now);
		return;
	}
	if (p->b == d->cp_size) {
		/* proven from below; and to the trusted one above, if any */
		d->cp_lo_done = 1;
		if (aledger_next_checkpoint(a->led, d->cp_size, &hi) == PW_OK)
			return;
	}
	cp_trusted(a);
}

static void
cp_not_proven(struct agentd *a, uint16_t reason, int64_t now, int answered)
{
	struct adispute *d = a->disp;
	int64_t wait = a->cfg.reply_timeout_ms;
	struct cpref *r;

	if (!d->cp_set || (a->q.a != d->cp_size && a->q.b != d->cp_size) ||
	    (r = ref_find(d, d->cp_size, 1)) == NULL)
		return;
	d->cp_set = 0; /* the others are proven while this one waits */
	r->tries++;
	for (unsigned i = 1; i < r->tries && wait < 300000; i++)
		wait *= 2;
	r->next_ms = now + (wait > 300000 ? 300000 : wait);
	if (!answered && r->tries < ADISPUTE_UNANSWERED_MAX)
		return; /* a lost answer, or the exchange's rate limit: ask again */
	r->reason = reason;
	r->from = a->q.a;
	r->to = a->q.b;
	if (!r->refused) {
		a->forks++; /* a fork suspected: the exchange will not link them */
		log_error(
		    "LOG FORK SUSPECTED: the exchange %s the consistency proof %llu -> %llu of"
		    " checkpoint %llu; it is not trusted, asked again in %lld s",
		    answered ? "refused" : "did not answer", (unsigned long long)a->q.a,
		    (unsigned long long)a->q.b, (unsigned long long)r->size,
		    (long long)((r->next_ms - now) / 1000));
	} else {
		log_rated(&d->rate[CL_FORK], LOG_LEVEL_WARN,
		          "the exchange still %s the consistency proof of checkpoint %llu (%u"
		          " tries); asked again in %lld s",
		          answered ? "refuses" : "does not answer", (unsigned long long)r->size,
		          r->tries, (long long)((r->next_ms - now) / 1000));
	}
	r->refused = 1;
}

void
adispute_query_refused(struct agentd *a, uint16_t reason, int64_t now)
{
	struct adispute *d = a->disp;
	if (a->q.kind == PW_QUERY_CONSISTENCY) {
		cp_not_proven(a, reason, now, 1);
	} else if (a->q.kind == PW_QUERY_RESULT) {
		/* the statement is then checked without the RESULT: whatever it
		 * says the household traded does not pass */
		d->result_refused_set = 1;
		d->result_refused_iv = a->q.a;
	}
}

void
adispute_query_lost(struct agentd *a, int64_t now)
{
	/* silence while the exchange answers nothing at all is the link's
	 * problem (exchange_unreachable), not the checkpoint's */
	if (a->q.kind == PW_QUERY_CONSISTENCY && aexch_reachable(a, now))
		cp_not_proven(a, 0, now, 0);
}

/* ---- status ---------------------------------------------------------- */

void
adispute_problems(struct agentd *a, int64_t now, unsigned *active)
{
	struct adispute *d = a->disp;
	static const enum astatus_code code[CL__N] = { ASTATUS_EXCHANGE_LIED,
		                                       ASTATUS_STATEMENT_MISMATCH,
		                                       ASTATUS_LOG_FORK };
	static const char *const what[CL__N] = { "clearing result(s)", "statement(s)",
		                                 "checkpoint(s)" };

	if (d == NULL)
		return;
	for (int c = 0; c < CL__N; c++) {
		if (d->count[c] == 0 || now - d->last_ms[c] > ADISPUTE_ALARM_MS)
			continue;
		*active |= 1u << code[c];
		snprintf(a->st_msg[code[c]], sizeof(a->st_msg[0]),
		         "The exchange signed %lu %s that this household's own records contradict;"
		         " refused, not counted in its balance. Latest: %.560s%s",
		         d->count[c], what[c], d->last[c],
		         d->last[c][0] != '\0' && d->last[c][strlen(d->last[c]) - 1] == '.' ? ""
		                                                                            : ".");
		snprintf(a->st_action[code[c]], sizeof(a->st_action[0]),
		         "The signed frames are kept as evidence: export them with `peerwatt-agent"
		         " evidence --db %s --out FILE` and give the file to the market's auditor"
		         " (peerwatt-audit verify --agent FILE).",
		         a->cfg.db);
	}
	const struct cpref *r = NULL;
	for (int i = 0; i < ADISPUTE_REFS; i++)
		if (d->refs[i].size != 0 && d->refs[i].refused &&
		    (r == NULL || d->refs[i].size > r->size))
			r = &d->refs[i];
	if (r != NULL) {
		*active |= 1u << ASTATUS_LOG_UNPROVEN;
		snprintf(
		    a->st_msg[ASTATUS_LOG_UNPROVEN], sizeof(a->st_msg[0]),
		    "The exchange %s to prove that its checkpoint of tree size %llu extends the"
		    " history this household holds (consistency %llu -> %llu%s%s): a possible"
		    " fork; the checkpoint is not trusted.",
		    r->reason != 0 ? "refuses" : "does not answer", (unsigned long long)r->size,
		    (unsigned long long)r->from, (unsigned long long)r->to,
		    r->reason != 0 ? ": " : "", r->reason != 0 ? pw_reason_name(r->reason) : "");
		snprintf(
		    a->st_action[ASTATUS_LOG_UNPROVEN], sizeof(a->st_action[0]),
		    "The agent asks again with backoff (%u tries so far). If it persists, give"
		    " the checkpoints file and `peerwatt-agent evidence` to the market's auditor.",
		    r->tries);
	}
}
