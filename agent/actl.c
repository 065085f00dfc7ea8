/*
 * actl.c: export curtailment, the loop's side (see agentd_int.h,
 * docs/agent-energy.md "Curtailment").  Owns when the inverter's export is
 * limited: in an interval whose feed-in tariff (the exchange's HEARTBEAT
 * of that interval, else the signed outlook's rule when it is final) is
 * below [device] export_floor, the inverter may put
 * out the household's load plus what it sold in the interval's auction
 * (agent/control.c decides, the device thread writes and reads back); the
 * limit is lifted when the interval ends or the reason goes.  Also owns
 * the record of the limited intervals the dashboard shows (table
 * `curtailments` of the agent's database, one row per limited interval;
 * the last ACTL_EVENTS held in memory and read back at start), with an
 * estimate of what the limit saved.
 *
 * Nothing is asked of the device unless [device] control = on.
 * Called by the loop (agentd.c: actl_tick), ameter.c (actl_on_result),
 * astatus.c (actl_problems) and adash.c (actl_json*).
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/agentd_int.h"
#include "agent/control.h"
#include "agent/devpoll.h"
#include "peerwatt/fmt.h"

#define ACTL_EVENTS 96
/* a write not answered within this is asked again */
#define ACTL_RETRY_MS 5000
/* a limit is re-written when the wanted power moves by more than this
 * share (%) of the last written one, and this many W */
#define ACTL_MOVE_PCT 10
#define ACTL_MOVE_W   100
/* the new interval's HEARTBEAT is waited for this long before a limit of
 * the interval before is lifted */
#define ACTL_HB_WAIT_MS 5000

/* One interval with a limit (perhaps lifted and written again in it). */
struct actl_event {
	uint64_t iv;
	int64_t from_ms;    /* first limited */
	int64_t span_ms;    /* the current span's start; 0: not limited now */
	int64_t to_ms;      /* the last span's end */
	int64_t limited_ms; /* the spans ended */
	int64_t feedin_uper_kwh, floor_uper_kwh;
	uint64_t sold_wh;
	int64_t limit_w; /* the last written */
	int ok;          /* every write read back equal */
	int have_fc;     /* the interval's forecast export, for the estimate */
	uint64_t forecast_wh;
};

struct actl {
	uint64_t gen;        /* last ask sent */
	uint64_t done_gen;   /* last ask answered */
	int64_t sent_ms;     /* when the last ask was sent */
	struct ctl_cmd sent; /* it */
	uint64_t sent_iv;
	int limiting; /* a limit may be in force (asked, not lifted yet) */
	int have_res;
	struct ctl_result res; /* the last answer */
	int failed;            /* the last answer was an error */
	char why[160];         /* the reason of the current limit */
	struct actl_event ev[ACTL_EVENTS];
	size_t nev; /* events held, newest at (head + nev - 1) */
	size_t head;
	unsigned long n_limited; /* intervals limited since the start (/metrics) */
};

pw_err
actl_new(struct actl **out)
{
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return PW_ERR_NOMEM;
	return PW_OK;
}

/* --- the record in the database ---------------------------------------------------- */

static void
ev_save(struct agentd *a, const struct actl_event *e)
{
	sqlite3_stmt *st;
	sqlite3 *db = agentd_db(a);

	if (sqlite3_prepare_v2(db,
	                       "INSERT OR REPLACE INTO curtailments(interval, from_ms, span_ms,"
	                       " to_ms, limited_ms, feedin, floor, sold_wh, limit_w, ok,"
	                       " forecast_wh) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	                       -1, &st, NULL) != SQLITE_OK) {
		log_warnx("curtailment: cannot record interval %llu: %s", (unsigned long long)e->iv,
		          sqlite3_errmsg(db));
		return;
	}
	sqlite3_bind_int64(st, 1, agentd_i64(e->iv));
	sqlite3_bind_int64(st, 2, e->from_ms);
	sqlite3_bind_int64(st, 3, e->span_ms);
	sqlite3_bind_int64(st, 4, e->to_ms);
	sqlite3_bind_int64(st, 5, e->limited_ms);
	sqlite3_bind_int64(st, 6, e->feedin_uper_kwh);
	sqlite3_bind_int64(st, 7, e->floor_uper_kwh);
	sqlite3_bind_int64(st, 8, agentd_i64(e->sold_wh));
	sqlite3_bind_int64(st, 9, e->limit_w);
	sqlite3_bind_int(st, 10, e->ok);
	if (e->have_fc)
		sqlite3_bind_int64(st, 11, agentd_i64(e->forecast_wh));
	if (sqlite3_step(st) != SQLITE_DONE)
		log_warnx("curtailment: cannot record interval %llu: %s", (unsigned long long)e->iv,
		          sqlite3_errmsg(db));
	sqlite3_finalize(st);
}

/* A row as read back: every figure within what the agent writes (times
 * after 2001, tariffs within the wire's i32, an energy within a u32). */
static int
row_ok(const struct actl_event *e)
{
	const int64_t money = INT64_C(1) << 31, t0 = INT64_C(1000000000000);
	return e->iv < (uint64_t)INT64_MAX && e->from_ms > t0 &&
	       (e->span_ms == 0 || e->span_ms >= e->from_ms) &&
	       (e->to_ms == 0 || e->to_ms >= e->from_ms) && e->limited_ms >= 0 &&
	       e->feedin_uper_kwh > -money && e->feedin_uper_kwh < money &&
	       e->floor_uper_kwh > -money && e->floor_uper_kwh < money &&
	       e->sold_wh <= UINT32_MAX && e->limit_w >= 0 && (e->ok == 0 || e->ok == 1) &&
	       e->forecast_wh <= UINT32_MAX;
}

pw_err
actl_open(struct agentd *a, int64_t now)
{
	struct actl *c = a->ctl;
	sqlite3 *db = agentd_db(a);
	sqlite3_stmt *st;
	struct actl_event rows[ACTL_EVENTS];
	size_t n = 0;
	unsigned bad = 0;
	char *err = NULL;

	if (sqlite3_exec(db,
	                 "CREATE TABLE IF NOT EXISTS curtailments(interval INTEGER PRIMARY KEY,"
	                 " from_ms INTEGER NOT NULL, span_ms INTEGER NOT NULL, to_ms INTEGER NOT"
	                 " NULL, limited_ms INTEGER NOT NULL, feedin INTEGER NOT NULL, floor"
	                 " INTEGER NOT NULL, sold_wh INTEGER NOT NULL, limit_w INTEGER NOT NULL,"
	                 " ok INTEGER NOT NULL, forecast_wh INTEGER)",
	                 NULL, NULL, &err) != SQLITE_OK) {
		log_warnx("curtailment: %s", err != NULL ? err : "cannot create the table");
		sqlite3_free(err);
		return PW_ERR_DB;
	}
	if (sqlite3_prepare_v2(db,
	                       "SELECT interval, from_ms, span_ms, to_ms, limited_ms, feedin,"
	                       " floor, sold_wh, limit_w, ok, forecast_wh FROM curtailments"
	                       " ORDER BY interval DESC LIMIT ?1",
	                       -1, &st, NULL) != SQLITE_OK)
		return PW_ERR_DB;
	sqlite3_bind_int(st, 1, ACTL_EVENTS);
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct actl_event e;
		int i;
		memset(&e, 0, sizeof(e));
		/* (a negative interval, energy or forecast becomes a number
		 * row_ok refuses) */
		for (i = 0; i < 10 && sqlite3_column_type(st, i) == SQLITE_INTEGER; i++)
			;
		if (i < 10 || (sqlite3_column_type(st, 10) != SQLITE_NULL &&
		               sqlite3_column_type(st, 10) != SQLITE_INTEGER)) {
			bad++;
			continue;
		}
		e.iv = (uint64_t)sqlite3_column_int64(st, 0);
		e.from_ms = sqlite3_column_int64(st, 1);
		e.span_ms = sqlite3_column_int64(st, 2);
		e.to_ms = sqlite3_column_int64(st, 3);
		e.limited_ms = sqlite3_column_int64(st, 4);
		e.feedin_uper_kwh = sqlite3_column_int64(st, 5);
		e.floor_uper_kwh = sqlite3_column_int64(st, 6);
		e.sold_wh = (uint64_t)sqlite3_column_int64(st, 7);
		e.limit_w = sqlite3_column_int64(st, 8);
		/* read whole: sqlite3_column_int keeps the low 32 bits only */
		e.ok = sqlite3_column_int64(st, 9) == 1   ? 1
		       : sqlite3_column_int64(st, 9) == 0 ? 0
		                                          : -1;
		if (sqlite3_column_type(st, 10) == SQLITE_INTEGER) {
			e.have_fc = 1;
			e.forecast_wh = (uint64_t)sqlite3_column_int64(st, 10);
		}
		if (!row_ok(&e)) {
			bad++;
			continue;
		}
		rows[n++] = e;
	}
	sqlite3_finalize(st);
	if (bad > 0)
		log_warnx("curtailment: %u record(s) of limited intervals out of bounds in the "
		          "database: not shown",
		          bad);
	/* oldest first into the ring */
	for (size_t k = n; k-- > 0;) {
		struct actl_event *e = &c->ev[(c->head + c->nev) % ACTL_EVENTS];
		*e = rows[k];
		c->nev++;
		if (e->span_ms != 0) {
			/* the agent stopped without lifting (killed, crashed): the
			 * inverter's revert timeout lifted the limit by the
			 * interval's end (plus CTL_MARGIN_S) */
			int64_t end = agentd_iv_start_s(a, e->iv + 1) * 1000;
			if (end > now)
				end = now;
			if (end > e->span_ms)
				e->limited_ms += end - e->span_ms;
			e->to_ms = end > e->span_ms ? end : e->span_ms;
			e->span_ms = 0;
			ev_save(a, e);
		}
	}
	if (n > 0)
		log_info("curtailment: %zu limited interval(s) on record", n);
	return PW_OK;
}

void
actl_destroy(struct actl **cp)
{
	if (cp == NULL || *cp == NULL)
		return;
	free(*cp);
	*cp = NULL;
}

static struct actl_event *
ev_last(struct actl *c)
{
	return c->nev == 0 ? NULL : &c->ev[(c->head + c->nev - 1) % ACTL_EVENTS];
}

/* The event of interval iv: the last one, or a new one (*fresh 1). */
static struct actl_event *
ev_open(struct actl *c, uint64_t iv, int *fresh)
{
	struct actl_event *e = ev_last(c);

	*fresh = 0;
	if (e != NULL && e->iv == iv)
		return e;
	*fresh = 1;
	if (c->nev == ACTL_EVENTS) {
		c->head = (c->head + 1) % ACTL_EVENTS;
		c->nev--;
	}
	e = &c->ev[(c->head + c->nev) % ACTL_EVENTS];
	c->nev++;
	c->n_limited++;
	memset(e, 0, sizeof(*e));
	e->iv = iv;
	e->ok = 1;
	return e;
}

static void
ev_close(struct agentd *a, int64_t now)
{
	struct actl_event *e = ev_last(a->ctl);
	if (e == NULL || e->span_ms == 0)
		return;
	if (now > e->span_ms)
		e->limited_ms += now - e->span_ms;
	e->to_ms = now > e->span_ms ? now : e->span_ms;
	e->span_ms = 0;
	ev_save(a, e);
}

static void
ask(struct agentd *a, const struct ctl_cmd *cmd, uint64_t iv, int64_t now)
{
	struct actl *c = a->ctl;

	c->sent = *cmd;
	c->sent.gen = ++c->gen;
	c->sent_ms = now;
	c->sent_iv = iv;
	devpoll_set_control(a->dp, &c->sent);
}

/* Where the feed-in tariff of an interval came from. */
enum feedin_src { FEEDIN_NONE, FEEDIN_HEARTBEAT, FEEDIN_OUTLOOK };

/* The feed-in tariff of interval iv: from a HEARTBEAT signed in it, else
 * from the signed outlook when its rule for iv is final (a later rule
 * follows it: outlook_final_at), so that neither the wait for the
 * interval's first HEARTBEAT nor an exchange out of reach lets unpaid
 * export through; FEEDIN_NONE when neither says. */
static enum feedin_src
feedin_of(const struct agentd *a, uint64_t iv, int64_t *feedin)
{
	struct outlook_rule r;

	if (a->have_hb && (uint64_t)(a->hb.time_ms / (uint64_t)agentd_interval_ms(a)) == iv) {
		*feedin = a->hb.feedin_uper_kwh;
		return FEEDIN_HEARTBEAT;
	}
	if (outlook_final_at(&a->aol.ol, iv, &r)) {
		*feedin = r.feedin_uper_kwh;
		return FEEDIN_OUTLOOK;
	}
	return FEEDIN_NONE;
}

/* The household's consumption now: PV + grid (import positive) read in
 * one round (ameter.c), at most a few full polls old; 0 when unknown. */
static int
load_of(const struct agentd *a, int64_t now, int64_t *load_w)
{
	double l = a->load_w;

	if (!a->have_load || !a->dev_ok ||
	    now - a->load_ms > 16 * a->cfg.poll_ms + a->cfg.timeout_ms + AGENTD_DEVICE_TIMEOUT_MS)
		return 0;
	*load_w = l <= 0 ? 0 : l >= 1e9 ? 1000000000 : (int64_t)(l + 0.5);
	return 1;
}

static int
moved(int64_t was, int64_t now_w)
{
	int64_t d = was > now_w ? was - now_w : now_w - was;
	return d > ACTL_MOVE_W && d * 100 > was * ACTL_MOVE_PCT;
}

void
actl_tick(struct agentd *a, int64_t now)
{
	struct actl *c = a->ctl;
	uint64_t iv = (uint64_t)(now / agentd_interval_ms(a));
	int64_t feedin = 0, load_w = 0, end_ms;
	int inflight;
	enum feedin_src src;
	struct ctl_in in;
	struct ctl_decision d;
	struct ctl_cmd cmd;

	if (c == NULL || !a->cfg.control || a->dp == NULL || !agentd_iv_ok(a, iv + 1))
		return;
	/* an ask under way, or one that failed: again after ACTL_RETRY_MS */
	inflight = (c->gen != c->done_gen || c->failed) && now - c->sent_ms < ACTL_RETRY_MS;
	if (inflight)
		return;
	end_ms = agentd_iv_start_s(a, iv + 1) * 1000;
	if ((src = feedin_of(a, iv, &feedin)) == FEEDIN_NONE) {
		/* the interval's tariff is not known yet: a limit of the interval
		 * before is lifted unless the news comes soon */
		if (c->limiting && c->sent_iv != iv &&
		    now - agentd_iv_start_s(a, iv) * 1000 >= ACTL_HB_WAIT_MS) {
			memset(&cmd, 0, sizeof(cmd));
			ev_close(a, now);
			log_info("curtailment: the feed-in tariff of the new interval is not known"
			         " yet: lifting the export limit");
			ask(a, &cmd, iv, now);
		}
		return;
	}
	memset(&in, 0, sizeof(in));
	in.feedin_uper_kwh = feedin;
	in.floor_uper_kwh = a->cfg.export_floor_uper_kwh;
	in.sold_wh = aledger_sold_wh(a->led, iv);
	/* the interval's length on the devices' clock: the sold Wh are theirs
	 * (a simulator's clock runs `speed` times faster: its Wh of one
	 * interval are spread over interval_s x speed of its seconds) */
	in.interval_s = (uint32_t)a->cfg.interval_s *
	                (a->clock.simulated && a->clock.speed > 1 ? (uint32_t)a->clock.speed : 1u);
	if (!load_of(a, now, &load_w)) {
		/* without the load a limit could make the household import: none */
		if (c->limiting) {
			memset(&cmd, 0, sizeof(cmd));
			ev_close(a, now);
			log_warnx("curtailment: the household's load is unknown (no PV or grid "
			          "power): lifting the export limit");
			ask(a, &cmd, iv, now);
		}
		return;
	}
	in.load_w = load_w;
	ctl_decide(&in, &d);
	if (!d.limit) {
		if (c->limiting) {
			char fs[PW_FMT_LEN], fl[PW_FMT_LEN];
			pw_fmt_price(feedin, fs, sizeof(fs));
			pw_fmt_price(in.floor_uper_kwh, fl, sizeof(fl));
			memset(&cmd, 0, sizeof(cmd));
			ev_close(a, now);
			log_info(
			    "curtailment: feed-in %s is not below the floor %s: lifting the export"
			    " limit",
			    fs, fl);
			ask(a, &cmd, iv, now);
		}
		return;
	}
	/* a limit: new, for a new interval, after a failure, or a load that moved */
	if (c->limiting && c->sent_iv == iv && !c->failed && !moved(c->sent.limit_w, d.limit_w))
		return;
	memset(&cmd, 0, sizeof(cmd));
	cmd.limit = true;
	cmd.limit_w = d.limit_w;
	cmd.revert_s = ctl_revert_s(end_ms - now, a->clock.simulated ? a->clock.speed : 1);
	if (!c->limiting || c->sent_iv != iv) {
		char fs[PW_FMT_LEN], fl[PW_FMT_LEN], ivs[PW_FMT_LEN];
		struct actl_event *e;
		int fresh;
		if (c->limiting)
			ev_close(a, now);
		e = ev_open(c, iv, &fresh);
		if (fresh)
			e->from_ms = now;
		if (e->span_ms == 0)
			e->span_ms = now; /* limited (again) from now */
		e->feedin_uper_kwh = feedin;
		e->floor_uper_kwh = in.floor_uper_kwh;
		e->sold_wh = in.sold_wh;
		pw_fmt_price(feedin, fs, sizeof(fs));
		pw_fmt_price(in.floor_uper_kwh, fl, sizeof(fl));
		pw_fmt_interval(iv, a->cfg.interval_s, ivs, sizeof(ivs));
		snprintf(c->why, sizeof(c->why), "feed-in %s is below the floor %s", fs, fl);
		log_info("curtailment: interval %s: %s: export limited to the load %lld W plus "
		         "%llu Wh sold (%lld W), revert timeout %u s (feed-in from %s)",
		         ivs, c->why, (long long)load_w, (unsigned long long)in.sold_wh,
		         (long long)d.sold_w, cmd.revert_s,
		         src == FEEDIN_HEARTBEAT ? "the exchange's heartbeat"
		                                 : "the signed price outlook, final for it");
	}
	{
		int fresh;
		struct actl_event *e = ev_open(c, iv, &fresh);
		const struct fc_note *fn = &a->fc_notes[iv % FC_NOTES];
		e->limit_w = d.limit_w;
		e->sold_wh = in.sold_wh;
		if (fn->set && fn->interval == iv) {
			e->have_fc = 1;
			e->forecast_wh = fn->forecast_wh;
		}
		ev_save(a, e);
	}
	c->limiting = 1;
	ask(a, &cmd, iv, now);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
actl_stop(struct agentd *a)
{
	struct actl *c = a->ctl;
	struct ctl_cmd cmd;
	int64_t end;

	if (c == NULL || !a->cfg.control || a->dp == NULL || !c->limiting)
		return;
	memset(&cmd, 0, sizeof(cmd));
	ev_close(a, agentd_now_ms(a));
	log_info("curtailment: stopping: lifting the export limit");
	ask(a, &cmd, c->sent_iv, agentd_now_ms(a));
	/* wait for the device thread's answer (a round's polls, then the read,
	 * write and read-back, each within the link's deadline); if none comes,
	 * devpoll_stop still carries a pending lift out, and the revert
	 * timeout lifts the limit anyway */
	end = mono_ms() + 6 * (a->cfg.timeout_ms + MLINK_DEADLINE_SLACK_MS) + a->cfg.poll_ms;
	while (c->done_gen != c->gen && mono_ms() < end) {
		struct pollfd p = { devpoll_fd(a->dp), POLLIN, 0 };
		struct devpoll_sample s[4];
		size_t n;
		(void)poll(&p, 1, 100);
		n = devpoll_take(a->dp, s, sizeof(s) / sizeof(s[0]));
		for (size_t k = 0; k < n; k++)
			if (s[k].ctl_done)
				actl_on_result(a, &s[k].ctl, agentd_now_ms(a));
	}
}

void
actl_on_result(struct agentd *a, const struct ctl_result *r, int64_t now)
{
	struct actl *c = a->ctl;
	int was_failed;

	(void)now;
	if (c == NULL || r->gen != c->gen)
		return; /* an older ask's answer: a newer one is on its way */
	c->done_gen = r->gen;
	was_failed = c->failed;
	c->res = *r;
	c->have_res = 1;
	c->failed = r->rc != PW_OK;
	if (c->failed) {
		struct actl_event *e = ev_last(c);
		if (r->limit && e != NULL && e->span_ms != 0 && e->ok) {
			e->ok = 0;
			ev_save(a, e);
		}
		/* said once per episode (astatus logs the problem too) */
		if (!was_failed)
			log_warnx("curtailment: %s the export limit failed: %s (%s)",
			          r->limit ? "writing" : "lifting", r->detail, pw_strerror(r->rc));
		/* a lift that failed is asked again at the next turn */
		return;
	}
	if (r->limit)
		log_info("curtailment: model %u WMaxLimPct %u (x 10^%d %%) of WMax %lld W written "
		         "and read back, revert in %u s",
		         r->model, r->pct_raw, r->pct_sf, (long long)r->wmax_w, r->revert_s);
	else {
		c->limiting = 0;
		log_info("curtailment: export limit lifted (model %u %s 0 read back)", r->model,
		         ctl_ena_name(r->model));
	}
}

void
actl_problems(struct agentd *a, unsigned *active)
{
	struct actl *c = a->ctl;

	if (c == NULL || !a->cfg.control || !c->failed)
		return;
	*active |= 1u << ASTATUS_CONTROL_FAILED;
	snprintf(a->st_msg[ASTATUS_CONTROL_FAILED], sizeof(a->st_msg[0]),
	         "%s the inverter's export limit failed: %s.", c->res.limit ? "Writing" : "Lifting",
	         c->res.detail);
	snprintf(
	    a->st_action[ASTATUS_CONTROL_FAILED], sizeof(a->st_action[0]),
	    "The agent tries again every few seconds; a limit it wrote lifts itself after its"
	    " revert timeout. Check that the inverter accepts SunSpec model 123 (or 704) writes"
	    " over Modbus (some need it enabled), or set [device] control = off.");
}

void
actl_metrics(struct agentd *a, FILE *out)
{
	struct actl *c = a->ctl;
	struct actl_event *last;

	if (c == NULL || !a->cfg.control)
		return;
	last = ev_last(c);
	fprintf(out,
	        "# TYPE peerwatt_agent_curtailment_limiting gauge\n"
	        "peerwatt_agent_curtailment_limiting %d\n"
	        "peerwatt_agent_curtailment_intervals_total %lu\n",
	        c->limiting && last != NULL && last->span_ms != 0, c->n_limited);
}

/* "HH:MM-HH:MM" of an event, on the devices' clock. */
static void
ev_text(struct agentd *a, const struct actl_event *e, char *buf, size_t cap)
{
	char h1[8], h2[8], fs[PW_FMT_LEN];
	int64_t start = agentd_iv_start_s(a, e->iv) * 1000;

	pw_fmt_price(e->feedin_uper_kwh, fs, sizeof(fs));
	snprintf(buf, cap, "Export limited %s-%s: feed-in %s",
	         devclock_hhmm(&a->clock, start, h1, sizeof(h1)),
	         devclock_hhmm(&a->clock, start + agentd_interval_ms(a), h2, sizeof(h2)), fs);
}

/*
 * What a limited interval saved, estimated: the export the forecast
 * expected beyond what was sold (for the part of the interval limited)
 * times the negative feed-in price.  An estimate: what the inverter would
 * have produced unlimited is not measured.  *known 0 without a forecast.
 */
static int64_t
ev_saved(struct agentd *a, const struct actl_event *e, int64_t now, int64_t *not_wh, int *known)
{
	int64_t part = e->limited_ms + (e->span_ms != 0 && now > e->span_ms ? now - e->span_ms : 0);

	*known = 0;
	*not_wh = 0;
	if (!e->have_fc || part <= 0)
		return 0;
	*not_wh = ctl_not_exported_wh(e->forecast_wh, e->sold_wh, part, agentd_interval_ms(a));
	if (*not_wh < 0) {
		*not_wh = 0;
		return 0;
	}
	*known = 1;
	return ctl_saved_u(*not_wh, e->feedin_uper_kwh);
}

static json_t *
ev_json(struct agentd *a, const struct actl_event *e, int64_t now)
{
	char text[160];
	int64_t not_wh;
	int known;
	int64_t saved = ev_saved(a, e, now, &not_wh, &known);

	ev_text(a, e, text, sizeof(text));
	return json_pack(
	    "{s:I, s:I, s:o, s:I, s:I, s:I, s:I, s:b, s:s, s:o, s:o, s:b}", "interval",
	    (json_int_t)e->iv, "from", (json_int_t)(e->from_ms / 1000), "to",
	    e->span_ms == 0 ? json_integer((json_int_t)(e->to_ms / 1000)) : json_null(),
	    "feed_in_uper_kwh", (json_int_t)e->feedin_uper_kwh, "floor_uper_kwh",
	    (json_int_t)e->floor_uper_kwh, "sold_wh", (json_int_t)e->sold_wh, "limit_w",
	    (json_int_t)e->limit_w, "ok", e->ok, "text", text, "not_exported_wh",
	    known ? json_integer((json_int_t)not_wh) : json_null(), "saved_u",
	    known ? json_integer((json_int_t)saved) : json_null(), "estimate", 1);
}

json_t *
actl_json(struct agentd *a, int64_t now)
{
	struct actl *c = a->ctl;
	json_t *evs = json_array();
	struct actl_event *last;

	if (c == NULL)
		return json_null();
	/* newest first, the last 8 */
	for (size_t k = 0; k < c->nev && k < 8; k++)
		json_array_append_new(
		    evs, ev_json(a, &c->ev[(c->head + c->nev - 1 - k) % ACTL_EVENTS], now));
	last = ev_last(c);
	return json_pack("{s:b, s:b, s:o, s:s, s:o, s:I}", "enabled", a->cfg.control, "limiting",
	                 c->limiting && last != NULL && last->span_ms != 0, "limit_w",
	                 c->limiting && last != NULL ? json_integer((json_int_t)last->limit_w)
	                                             : json_null(),
	                 "why", c->limiting ? c->why : "", "events", evs, "floor_uper_kwh",
	                 (json_int_t)a->cfg.export_floor_uper_kwh);
}

json_t *
actl_json_saved(struct agentd *a)
{
	struct actl *c = a->ctl;
	int64_t now = agentd_now_ms(a);
	json_t *arr = json_array();

	if (c == NULL)
		return arr;
	for (size_t k = 0; k < c->nev; k++)
		json_array_append_new(
		    arr, ev_json(a, &c->ev[(c->head + c->nev - 1 - k) % ACTL_EVENTS], now));
	return arr;
}
