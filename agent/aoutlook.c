/*
 * aoutlook.c: the agent's price outlook (see agentd_int.h, docs/agent-energy.md
 * "Price outlook").  Owns asking QUERY SCHEDULE (at start, after every
 * re-connection, and when no MARKET publication came for a while; last in
 * the query queue but before the ACK heads' proofs), reading its answer and
 * the PUB topic MARKET into agent/outlook.c, the tariffs each interval is
 * traded under (aoutlook_bounds: the outlook's, else the last HEARTBEAT's,
 * said so), and the dashboard's outlook document.  Every frame it sees was
 * verified by xlink (decoded, signed by the pinned exchange key under this
 * market's id).  Called by aexch.c (queries, frames), atrade.c and adash.c.
 */
#include <stdio.h>
#include <string.h>

#include "agent/agentd_int.h"
#include "peerwatt/fmt.h"

/* Ask again when no outlook arrived for this many intervals (the exchange
 * publishes one at every interval start), and at least this long apart. */
#define AOUTLOOK_QUIET_IVS  3
#define AOUTLOOK_MIN_GAP_MS 30000
/* After a final refusal (an exchange that does not answer SCHEDULE). */
#define AOUTLOOK_RETRY_MS 300000
/* Intervals the dashboard's outlook document covers at most. */
#define AOUTLOOK_DOC_IVS 96

static void
outlook_market(struct agentd *a, struct outlook_market *mk, char *name, size_t cap)
{
	struct pw_checkpoint cp;

	mk->interval_s = (uint32_t)a->cfg.interval_s;
	mk->gate_s = (uint32_t)a->cfg.gate_s;
	mk->name = NULL;
	/* the market's name is the origin of its checkpoints */
	if (cap > PW_ORIGIN_LEN && aledger_latest_checkpoint(a->led, &cp) == PW_OK) {
		memcpy(name, cp.origin, PW_ORIGIN_LEN);
		name[PW_ORIGIN_LEN] = '\0';
		mk->name = name;
	}
}

int
aoutlook_next_query(struct agentd *a, int64_t now, uint64_t *qa)
{
	struct aoutlook *o = &a->aol;
	int64_t quiet = agentd_interval_ms(a) * AOUTLOOK_QUIET_IVS;

	if (quiet < AOUTLOOK_MIN_GAP_MS)
		quiet = AOUTLOOK_MIN_GAP_MS;
	if (!o->want && o->ol.rx_ms != 0 && now - o->ol.rx_ms >= quiet &&
	    now - o->asked_ms >= quiet)
		o->want = 1; /* no publication for a while: ask */
	if (!o->want || now < o->next_ask_ms)
		return 0;
	*qa = (uint64_t)(now / agentd_interval_ms(a));
	o->asked_ms = now;
	return 1;
}

void
aoutlook_relinked(struct agentd *a)
{
	a->aol.want = 1;
	a->aol.next_ask_ms = 0;
	outlook_abort(&a->aol.msg[0]);
	outlook_abort(&a->aol.msg[1]);
}

void
aoutlook_query_refused(struct agentd *a, uint16_t reason, int64_t now)
{
	a->aol.want = 1;
	a->aol.next_ask_ms = now + AOUTLOOK_RETRY_MS;
	outlook_abort(&a->aol.msg[0]);
	log_info("price outlook: the exchange refused QUERY SCHEDULE (%s); asking again in %d s",
	         pw_reason_name(reason), AOUTLOOK_RETRY_MS / 1000);
}

void
aoutlook_query_lost(struct agentd *a)
{
	outlook_abort(&a->aol.msg[0]);
}

void
aoutlook_frame_seen(struct agentd *a, int from_sub)
{
	struct xlink_pos pos;
	struct outlook_msg *g = &a->aol.msg[from_sub ? 1 : 0];

	if (!g->building)
		return;
	xlink_msg_pos(a->xl, from_sub, &pos);
	if (pos.first) {
		/* the message being read ended with a frame that was dropped */
		snprintf(a->aol.ol.why, sizeof(a->aol.ol.why),
		         "the last frame of an outlook failed its check on the way");
		a->aol.refused++;
		outlook_abort(g);
	}
}

static void
log_change(struct agentd *a, int64_t now)
{
	struct outlook_rule r;
	uint64_t iv = (uint64_t)(now / agentd_interval_ms(a));
	char ivs[PW_FMT_LEN], fs[PW_FMT_LEN], rs[PW_FMT_LEN];

	if (!outlook_rule_at(&a->aol.ol, iv, &r))
		return;
	pw_fmt_interval(iv, a->cfg.interval_s, ivs, sizeof(ivs));
	pw_fmt_price(r.feedin_uper_kwh, fs, sizeof(fs));
	pw_fmt_price(r.retail_uper_kwh, rs, sizeof(rs));
	log_info("price outlook: %zu rule(s) from interval %s on (now feed-in %s, retail %s)",
	         a->aol.ol.n, ivs, fs, rs);
}

void
aoutlook_on_market(struct agentd *a, int from_sub, const struct pw_msg *m, int64_t now)
{
	struct aoutlook *o = &a->aol;
	struct outlook_msg *g = &o->msg[from_sub ? 1 : 0];
	struct outlook_market mk;
	struct xlink_pos pos;
	char name[PW_ORIGIN_LEN + 1];
	int changed;

	xlink_msg_pos(a->xl, from_sub, &pos);
	if (pos.first)
		outlook_begin(g);
	else if (!g->building)
		return; /* the rest of a message whose start was refused */
	outlook_market(a, &mk, name, sizeof(name));
	(void)outlook_add(g, &mk, &m->u.market);
	if (pos.more)
		return;
	if (!from_sub && a->q.active && a->q.kind == PW_QUERY_SCHEDULE)
		a->q.active = 0;
	if (outlook_end(&o->ol, g, pos.dropped, now, &changed) != PW_OK) {
		o->refused++;
		log_rated(&a->rate_wire, LOG_LEVEL_ERR,
		          "price outlook refused (%s): %s; the one held stays",
		          from_sub ? "published" : "answer", o->ol.why);
		return;
	}
	/* a publication does not stand for the QUERY asked at start and after
	 * a re-connection: under load it often came first and the query,
	 * still queued, was dropped (agent_outlook checks the query) */
	if (!from_sub)
		o->want = 0;
	astatus_tariffs(a); /* configured tariffs a schedule explains */
	log_debug("price outlook %s: %zu rule(s)%s",
	          from_sub ? "published" : "answer to QUERY SCHEDULE", o->ol.n,
	          changed ? ", changed" : "");
	if (changed)
		log_change(a, now);
	if (a->dash != NULL)
		(void)dash_notify(a->dash, DASH_DOC_OUTLOOK);
}

enum aoutlook_src
aoutlook_bounds(struct agentd *a, uint64_t iv, struct policy_bounds *b)
{
	struct outlook_rule r;

	memset(b, 0, sizeof(*b));
	if (outlook_rule_at(&a->aol.ol, iv, &r)) {
		b->known = 1;
		b->feedin_uper_kwh = r.feedin_uper_kwh;
		b->retail_uper_kwh = r.retail_uper_kwh;
		return AOUTLOOK_SRC_OUTLOOK;
	}
	if (a->have_hb) {
		/* the tariffs in force now: another interval's may differ */
		b->known = 1;
		b->feedin_uper_kwh = a->hb.feedin_uper_kwh;
		b->retail_uper_kwh = a->hb.retail_uper_kwh;
		return AOUTLOOK_SRC_HEARTBEAT;
	}
	if (a->cfg.feedin_uper_kwh != 0 && a->cfg.retail_uper_kwh != 0 &&
	    a->cfg.feedin_uper_kwh <= a->cfg.retail_uper_kwh) {
		b->known = 1;
		b->feedin_uper_kwh = (int32_t)a->cfg.feedin_uper_kwh;
		b->retail_uper_kwh = (int32_t)a->cfg.retail_uper_kwh;
		return AOUTLOOK_SRC_CONFIG;
	}
	return AOUTLOOK_SRC_NONE;
}

const char *
aoutlook_src_name(enum aoutlook_src s)
{
	switch (s) {
	case AOUTLOOK_SRC_OUTLOOK:
		return "outlook";
	case AOUTLOOK_SRC_HEARTBEAT:
		return "heartbeat";
	case AOUTLOOK_SRC_CONFIG:
		return "config";
	case AOUTLOOK_SRC_NONE:
	default:
		return "none";
	}
}

int
aoutlook_stale(const struct agentd *a, int64_t now)
{
	const struct outlook *ol = &a->aol.ol;
	int64_t quiet = agentd_interval_ms(a) * AOUTLOOK_QUIET_IVS;

	if (quiet < AOUTLOOK_MIN_GAP_MS)
		quiet = AOUTLOOK_MIN_GAP_MS;
	/* the exchange gone (no verified frame: no HEARTBEAT either), or no
	 * outlook for several interval starts although each brings one */
	return ol->rx_ms != 0 && (!aexch_reachable(a, now) || now - ol->rx_ms > 2 * quiet);
}

void
aoutlook_tick(struct agentd *a, int64_t now)
{
	struct aoutlook *o = &a->aol;
	uint64_t iv = (uint64_t)(now / agentd_interval_ms(a));
	int stale = aoutlook_stale(a, now);

	/* the page follows: a new interval moves the window, an outlook that
	 * went stale (or fresh again) is said so at once */
	if (iv == o->shown_iv && stale == o->shown_stale)
		return;
	o->shown_iv = iv;
	o->shown_stale = stale;
	if (a->dash != NULL)
		(void)dash_notify(a->dash, DASH_DOC_OUTLOOK);
}

/* ---- the dashboard's document (dash.h DASH_DOC_OUTLOOK) -------------- */

static json_t *
hhmm_json(struct agentd *a, uint64_t iv)
{
	char hhmm[8];
	uint32_t tod = agentd_iv_tod(a, iv);
	snprintf(hhmm, sizeof(hhmm), "%02u:%02u", tod / 3600 % 24, tod % 3600 / 60);
	return json_string(hhmm);
}

static json_t *
mark_json(struct agentd *a, uint64_t iv, int32_t price, const char *word)
{
	char ps[PW_FMT_LEN], text[160];
	char hhmm[8];
	uint32_t tod = agentd_iv_tod(a, iv);

	snprintf(hhmm, sizeof(hhmm), "%02u:%02u", tod / 3600 % 24, tod % 3600 / 60);
	pw_fmt_price(price, ps, sizeof(ps));
	snprintf(text, sizeof(text), "%s: the interval from %s, retail %s", word, hhmm, ps);
	return json_pack("{s:I, s:I, s:o, s:I, s:s}", "interval", (json_int_t)iv, "start",
	                 (json_int_t)agentd_iv_start_s(a, iv), "time_of_day", hhmm_json(a, iv),
	                 "retail_uper_kwh", (json_int_t)price, "text", text);
}

json_t *
aoutlook_json(struct agentd *a)
{
	int64_t now = agentd_now_ms(a);
	uint64_t cur = (uint64_t)(now / agentd_interval_ms(a));
	uint64_t n_ivs = agentd_ahead_ivs(a);
	const struct outlook *ol = &a->aol.ol;
	json_t *ivs = json_array(), *doc;
	int stale = aoutlook_stale(a, now);
	const char *state = ol->rx_ms == 0 ? "none" : stale ? "stale" : "current";
	char msg[320];
	int have_min = 0;
	uint64_t min_iv = 0, max_iv = 0;
	int32_t min_p = 0, max_p = 0;
	unsigned from_outlook = 0;

	if (ivs == NULL)
		return NULL;
	if (n_ivs > AOUTLOOK_DOC_IVS)
		n_ivs = AOUTLOOK_DOC_IVS;
	for (uint64_t iv = cur; iv < cur + n_ivs && agentd_iv_ok(a, iv); iv++) {
		struct policy_bounds b;
		enum aoutlook_src src = aoutlook_bounds(a, iv, &b);
		if (src != AOUTLOOK_SRC_OUTLOOK)
			continue; /* only what the exchange signed for that interval */
		from_outlook++;
		json_array_append_new(
		    ivs,
		    json_pack("{s:I, s:I, s:o, s:I, s:I}", "interval", (json_int_t)iv, "start",
		              (json_int_t)agentd_iv_start_s(a, iv), "time_of_day", hhmm_json(a, iv),
		              "feedin_uper_kwh", (json_int_t)b.feedin_uper_kwh, "retail_uper_kwh",
		              (json_int_t)b.retail_uper_kwh));
		if (!have_min || b.retail_uper_kwh < min_p) {
			min_p = b.retail_uper_kwh;
			min_iv = iv;
		}
		if (!have_min || b.retail_uper_kwh > max_p) {
			max_p = b.retail_uper_kwh;
			max_iv = iv;
		}
		have_min = 1;
	}
	if (ol->rx_ms == 0)
		snprintf(
		    msg, sizeof(msg),
		    "No price outlook yet: the exchange has not sent its tariffs for the coming "
		    "intervals. %s",
		    a->have_hb ? "Orders use the tariffs in force now (its last HEARTBEAT)."
		               : "No tariffs are known from it yet either.");
	else if (stale)
		snprintf(msg, sizeof(msg),
		         "Outdated: this outlook arrived %lld s ago and the exchange %s; its "
		         "tariffs may have changed since.",
		         (long long)((now - ol->rx_ms) / 1000),
		         aexch_reachable(a, now) ? "has not sent a newer one" : "is unreachable");
	else if (have_min && min_p == max_p)
		snprintf(msg, sizeof(msg), "The tariffs stay the same over the coming intervals.");
	else
		msg[0] = '\0';
	json_t *prices = aledger_json_prices(a->led, (uint32_t)a->cfg.interval_s, 24);
	doc = json_pack(
	    "{s:s, s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:I}", "state", state, "message", msg,
	    "interval_s", (json_int_t)a->cfg.interval_s, "now_interval", (json_int_t)cur,
	    "received", ol->rx_ms != 0 ? json_integer((json_int_t)(ol->rx_ms / 1000)) : json_null(),
	    "intervals", ivs, "cheapest",
	    have_min && min_p != max_p ? mark_json(a, min_iv, min_p, "Cheapest") : json_null(),
	    "dearest",
	    have_min && min_p != max_p ? mark_json(a, max_iv, max_p, "Dearest") : json_null(),
	    "rules", (json_int_t)ol->n);
	if (doc == NULL) {
		json_decref(prices);
		return NULL;
	}
	/* the clearing prices of past intervals, and their time of day */
	if (prices != NULL) {
		size_t i;
		json_t *p;
		json_array_foreach(prices, i, p)
		{
			json_int_t piv = json_integer_value(json_object_get(p, "interval"));
			if (piv >= 0 && agentd_iv_ok(a, (uint64_t)piv))
				json_object_set_new(p, "time_of_day", hhmm_json(a, (uint64_t)piv));
		}
	}
	json_object_set_new(doc, "recent", prices != NULL ? prices : json_array());
	json_object_set_new(doc, "covered", json_integer((json_int_t)from_outlook));
	if (a->have_hb)
		json_object_set_new(doc, "heartbeat",
		                    json_pack("{s:I, s:I}", "feedin_uper_kwh",
		                              (json_int_t)a->hb.feedin_uper_kwh, "retail_uper_kwh",
		                              (json_int_t)a->hb.retail_uper_kwh));
	else
		json_object_set_new(doc, "heartbeat", json_null());
	return doc;
}
