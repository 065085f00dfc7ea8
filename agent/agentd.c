/*
 * agentd.c: the agent daemon (see agentd.h and docs/agent.md).
 *
 * One thread, one zmq_poll loop over the exchange DEALER and SUB, the
 * dashboard's epoll fd and timers.  Each turn it may:
 *   - poll the device (mlink + sunspec) and feed the grid meter's registers
 *     to ivacct, which yields one METER reading per closed interval
 *     (signed and stored in the outbox) and one forecast observation;
 *   - trade: for the next open intervals, compare the wanted offer (forecast
 *     + policy) with the open one and place, cancel or replace; place
 *     standing bids;
 *   - send the oldest pending outbox item of each stream (one in flight per
 *     stream), resend on timeout with backoff, drop orders past their gate;
 *   - ask one query at a time: the latest checkpoint, consistency of each
 *     new checkpoint with the previous one, missing statements, inclusion
 *     proofs of its own acknowledged entries;
 *   - handle verified frames from xlink: receipts, statements, proofs,
 *     checkpoints, results, depth.
 * Times are Unix milliseconds of the wall clock: the market's intervals are
 * wall-clock intervals and resend times are stored in the database.
 */
#include "agent/agentd.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "agent/aconfig.h"
#include "agent/aledger.h"
#include "agent/dash.h"
#include "agent/forecast.h"
#include "agent/ivacct.h"
#include "agent/modbus_link.h"
#include "agent/outbox.h"
#include "agent/policy.h"
#include "agent/sunspec.h"
#include "agent/xlink.h"
#include "peerwatt/cli.h"
#include "peerwatt/keys.h"
#include "peerwatt/log.h"
#include "peerwatt/merkle.h"
#include "peerwatt/money.h"
#include "peerwatt/sdnotify.h"
#include "peerwatt/wire.h"

#define EX_UNAVAILABLE 69
#define EX_SOFTWARE    70
#define EX_CONFIG      78

#define TAG_MANUAL   0
#define TAG_AUTOSELL 1
#define TAG_BID0     2

#define MAX_VIEWS     256 /* orders looked at per decision */
#define READINGS_STEP 16
#define DEPTH_KEEP    4

/* For results that only deserve a log line: the loop carries on. */
#define CHECKED(expr)                                                                              \
	do {                                                                                       \
		pw_err checked_rc_ = (expr);                                                       \
		if (checked_rc_ != PW_OK)                                                          \
			log_warnx("%s:%d: %s", __FILE__, __LINE__, pw_strerror(checked_rc_));      \
	} while (0)

static volatile sig_atomic_t got_term;
static volatile sig_atomic_t got_hup;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

struct inflight {
	int active;
	uint64_t seq;
	int64_t sent_ms;
};

struct qflight {
	int active;
	uint64_t nonce;
	uint8_t kind;
	uint64_t a, b;
	int64_t sent_ms;
	enum outbox_stream stream; /* inclusion: the item proven */
	uint64_t seq;
};

/* The last query the exchange refused for a transient reason: its resends
 * are logged at debug level only, so a long catch-up under the exchange's
 * rate limit says so once per item rather than once per try. */
struct qdeferred {
	int set;
	uint8_t kind;
	uint64_t a, b;
};

/* One own order as the outbox shows it. */
struct oview {
	uint64_t seq;
	uint64_t interval;
	uint8_t side;
	uint32_t qty_wh, price_uper_kwh;
	enum outbox_state state;
	uint16_t reason;
	int cancelled; /* a CANCEL for it is pending or acknowledged */
	enum outbox_proof proof;
};

struct agentd {
	struct aconfig cfg;
	struct pw_keypair kp;
	char pk_hex[2 * PW_PK_LEN + 1];
	struct outbox *ob;
	struct aledger *led;
	void *zctx;
	struct xlink *xl;
	struct mlink *ml;
	struct sunspec_io io;
	struct sunspec_dev dev;
	struct sunspec_dev dev_meter; /* dev with only the meter model */
	int have_dev, have_meter;
	char dev_serial[PW_SERIAL_LEN + 1];
	int has_pv;
	double pv_w;
	struct sunspec_reading rd;
	int have_rd;
	int dev_ok;
	char dev_detail[128];
	struct dash *dash;
	struct forecast fc;
	int have_fc_iv;
	uint64_t fc_last_iv;
	struct ivacct acct;
	int have_prev_sample;
	int64_t prev_ms;
	uint64_t prev_exp_wh, prev_imp_wh;
	unsigned implausible;
	struct policy_params pol;
	int auto_sell;
	struct inflight fl[2];
	struct qflight q;
	struct qdeferred qdefer;
	uint64_t nonce;
	int want_checkpoint;
	uint64_t stmt_after;
	uint64_t proof_after;
	uint64_t stmt_proof_after; /* statement proofs asked for intervals above */
	int64_t last_rx_ms;
	int64_t next_poll_ms, next_trade_ms, next_pump_ms, next_state_ms;
	struct pw_depth depth[DEPTH_KEEP];
	int autosell_failed_iv_set;
	uint64_t autosell_failed_iv;
	/* counters (/metrics, logs) */
	unsigned long polls, poll_errors, readings, orders, cancels, proofs_ok, proofs_failed,
	    forks, mismatches, statements;
};

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t
tod_of(int64_t unix_s)
{
	struct tm tm;
	time_t t = (time_t)unix_s;
	if (localtime_r(&t, &tm) == NULL)
		return (uint32_t)(unix_s % 86400);
	return (uint32_t)(tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
}

static uint8_t
time_status(void)
{
	struct timex tx;
	memset(&tx, 0, sizeof(tx));
	/* adjtimex with modes 0 only reads; STA_UNSYNC: not synchronised */
	if (adjtimex(&tx) < 0 || (tx.status & STA_UNSYNC) != 0)
		return PW_TIME_UNSYNCED;
	return PW_TIME_SYNCED;
}

static int64_t
L_ms(const struct agentd *a)
{
	return a->cfg.interval_s * 1000;
}

static int64_t
gate_ms(const struct agentd *a, uint64_t iv)
{
	return (int64_t)iv * L_ms(a) - a->cfg.gate_s * 1000;
}

/* Time an order needs to reach the exchange before its gate. */
static int64_t
margin_ms(const struct agentd *a)
{
	int64_t m = L_ms(a) / 4;
	return m > 1000 ? 1000 : m;
}

/* The first interval whose gate is still ahead by the margin. */
static uint64_t
first_open_interval(const struct agentd *a, int64_t now)
{
	uint64_t iv = (uint64_t)(now / L_ms(a)) + 1;
	while (gate_ms(a, iv) - margin_ms(a) <= now)
		iv++;
	return iv;
}

/* ---- signing into the outbox ------------------------------------------ */

struct signer {
	struct agentd *a;
	struct pw_msg m;
};

static pw_err
sign_cb(void *ctx, uint64_t seq, uint8_t *frame, size_t cap, size_t *len, uint8_t *type,
        uint64_t *interval)
{
	struct signer *s = ctx;
	switch (s->m.type) {
	case PW_MSG_ORDER:
		s->m.u.order.seq = seq;
		*interval = s->m.u.order.interval;
		break;
	case PW_MSG_CANCEL:
		s->m.u.cancel.seq = seq;
		*interval = s->m.u.cancel.interval;
		break;
	case PW_MSG_METER:
		s->m.u.meter.seq = seq;
		*interval = s->m.u.meter.interval;
		break;
	default:
		return PW_ERR_INTERNAL;
	}
	*type = s->m.type;
	return pw_wire_encode(&s->m, (uint64_t)s->a->cfg.market_id, &s->a->kp, frame, cap, len);
}

static pw_err
place_order(struct agentd *a, uint8_t side, uint64_t iv, uint32_t qty_wh, uint32_t price, int tag,
            uint64_t *seq_out)
{
	struct signer s;
	uint64_t seq;
	pw_err rc;

	memset(&s, 0, sizeof(s));
	s.a = a;
	s.m.type = PW_MSG_ORDER;
	s.m.u.order.interval = iv;
	/* valid until the interval ends: the auction runs at the gate */
	s.m.u.order.expiry_s = (iv + 1) * (uint64_t)a->cfg.interval_s;
	s.m.u.order.qty_wh = qty_wh;
	s.m.u.order.price_uper_kwh = price;
	s.m.u.order.side = side;
	if ((rc = outbox_add(a->ob, OUTBOX_ORDERS, sign_cb, &s, &seq)) != PW_OK) {
		log_warnx("cannot store an order: %s", pw_strerror(rc));
		return rc;
	}
	if (aledger_tag_order(a->led, seq, tag) != PW_OK)
		log_warnx("cannot tag order %llu", (unsigned long long)seq);
	a->orders++;
	a->next_pump_ms = 0;
	log_info("order %llu: %s %u Wh at %u uper_kwh for interval %llu%s", (unsigned long long)seq,
	         side == PW_SIDE_SELL ? "sell" : "buy", qty_wh, price, (unsigned long long)iv,
	         tag == TAG_AUTOSELL ? " (auto)" : "");
	if (seq_out != NULL)
		*seq_out = seq;
	return PW_OK;
}

static pw_err
place_cancel(struct agentd *a, uint64_t iv, uint64_t order_seq)
{
	struct signer s;
	uint64_t seq;
	pw_err rc;

	memset(&s, 0, sizeof(s));
	s.a = a;
	s.m.type = PW_MSG_CANCEL;
	s.m.u.cancel.interval = iv;
	s.m.u.cancel.order_seq = order_seq;
	if ((rc = outbox_add(a->ob, OUTBOX_ORDERS, sign_cb, &s, &seq)) != PW_OK) {
		log_warnx("cannot store a cancel: %s", pw_strerror(rc));
		return rc;
	}
	a->cancels++;
	a->next_pump_ms = 0;
	log_info("cancel %llu of order %llu (interval %llu)", (unsigned long long)seq,
	         (unsigned long long)order_seq, (unsigned long long)iv);
	return PW_OK;
}

/* ---- the outbox as a list of orders --------------------------------- */

struct collect {
	struct oview *v;
	size_t n, cap;
	uint64_t max_iv;
};

static int
collect_cb(void *ctx, const struct outbox_item *it)
{
	struct collect *c = ctx;
	struct pw_msg m;

	if (it->interval > c->max_iv)
		return 0;
	if (pw_wire_decode(it->frame, it->len, &m) != PW_OK)
		return 0;
	if (m.type == PW_MSG_ORDER && c->n < c->cap) {
		struct oview *o = &c->v[c->n++];
		memset(o, 0, sizeof(*o));
		o->seq = it->seq;
		o->interval = it->interval;
		o->side = m.u.order.side;
		o->qty_wh = m.u.order.qty_wh;
		o->price_uper_kwh = m.u.order.price_uper_kwh;
		o->state = it->state;
		o->reason = it->reason;
		o->proof = it->proof;
	} else if (m.type == PW_MSG_CANCEL &&
	           (it->state == OUTBOX_PENDING || it->state == OUTBOX_ACKED)) {
		for (size_t i = 0; i < c->n; i++)
			if (c->v[i].seq == m.u.cancel.order_seq)
				c->v[i].cancelled = 1;
	}
	return 0;
}

static size_t
collect_orders(struct agentd *a, uint64_t min_iv, uint64_t max_iv, struct oview *v, size_t cap)
{
	struct collect c = { v, 0, cap, max_iv };
	if (outbox_foreach(a->ob, OUTBOX_ORDERS, min_iv, collect_cb, &c) != PW_OK)
		log_warnx("cannot read the outbox");
	return c.n;
}

static int
is_open(const struct oview *o)
{
	return !o->cancelled && (o->state == OUTBOX_PENDING || o->state == OUTBOX_ACKED);
}

/* ---- trading -------------------------------------------------------- */

static void
trade_interval(struct agentd *a, uint64_t iv, uint64_t horizon, struct oview *v, size_t n)
{
	const struct oview *sell = NULL;
	int buy_open = 0, auto_rejected = 0;
	uint32_t tod = tod_of((int64_t)iv * a->cfg.interval_s);

	for (size_t i = 0; i < n; i++) {
		if (v[i].interval != iv)
			continue;
		int tag = aledger_order_tag(a->led, v[i].seq);
		if (v[i].side == PW_SIDE_SELL && is_open(&v[i]))
			sell = &v[i];
		if (v[i].side == PW_SIDE_BUY && is_open(&v[i]))
			buy_open = 1;
		if (v[i].side == PW_SIDE_SELL && tag == TAG_AUTOSELL &&
		    v[i].state == OUTBOX_REJECTED)
			auto_rejected = 1;
	}
	if (a->auto_sell && !buy_open && !auto_rejected) {
		uint64_t f = forecast_export_wh(&a->fc, tod, (uint32_t)horizon);
		struct policy_offer want = { policy_offer_qty(&a->pol, f), 0 };
		struct policy_offer open = { 0, 0 };
		if (want.qty_wh > 0)
			want.price_uper_kwh =
			    policy_offer_price(&a->pol, aledger_last_price(a->led));
		if (sell != NULL) {
			open.qty_wh = sell->qty_wh;
			open.price_uper_kwh = sell->price_uper_kwh;
		}
		switch (policy_decide(&a->pol, &open, &want)) {
		case POLICY_PLACE:
			(void)place_order(a, PW_SIDE_SELL, iv, want.qty_wh, want.price_uper_kwh,
			                  TAG_AUTOSELL, NULL);
			return;
		case POLICY_CANCEL:
			(void)place_cancel(a, iv, sell->seq);
			return;
		case POLICY_REPLACE:
			if (place_cancel(a, iv, sell->seq) == PW_OK)
				(void)place_order(a, PW_SIDE_SELL, iv, want.qty_wh,
				                  want.price_uper_kwh, TAG_AUTOSELL, NULL);
			return;
		case POLICY_KEEP:
		default:
			if (sell != NULL || want.qty_wh > 0)
				return;
		}
	}
	if (sell != NULL)
		return; /* one side per household per interval */
	for (size_t k = 0; k < a->cfg.n_bids; k++) {
		const struct policy_bid *b = &a->cfg.bids[k].bid;
		int placed = 0;
		if (!policy_bid_active(b, tod))
			continue;
		for (size_t i = 0; i < n; i++)
			if (v[i].interval == iv && v[i].side == PW_SIDE_BUY &&
			    aledger_order_tag(a->led, v[i].seq) == TAG_BID0 + (int)k)
				placed = 1;
		if (!placed)
			(void)place_order(a, PW_SIDE_BUY, iv, b->qty_wh, b->max_price_uper_kwh,
			                  TAG_BID0 + (int)k, NULL);
	}
}

static void
trade(struct agentd *a, int64_t now)
{
	static struct oview v[MAX_VIEWS];
	uint64_t first = first_open_interval(a, now);
	uint64_t last = first + (uint64_t)a->cfg.horizon - 1;
	size_t n = collect_orders(a, first, last, v, MAX_VIEWS);

	for (uint64_t iv = first; iv <= last; iv++) {
		uint64_t h = a->have_fc_iv && iv > a->fc_last_iv ? iv - a->fc_last_iv : 1;
		trade_interval(a, iv, h, v, n);
	}
}

/* ---- device --------------------------------------------------------- */

static void
add_reading(struct agentd *a, const struct ivacct_reading *r)
{
	struct signer s;
	uint64_t seq;
	const char *serial = a->cfg.serial[0] != '\0' ? a->cfg.serial : a->dev_serial;
	pw_err rc;

	memset(&s, 0, sizeof(s));
	s.a = a;
	s.m.type = PW_MSG_METER;
	s.m.u.meter.interval = r->interval;
	memcpy(s.m.u.meter.serial, serial, strnlen(serial, PW_SERIAL_LEN));
	s.m.u.meter.export_start_wh = r->export_start_wh;
	s.m.u.meter.export_end_wh = r->export_end_wh;
	s.m.u.meter.import_start_wh = r->import_start_wh;
	s.m.u.meter.import_end_wh = r->import_end_wh;
	s.m.u.meter.time_status = r->estimated ? PW_TIME_ESTIMATED : time_status();
	if ((rc = outbox_add(a->ob, OUTBOX_METER, sign_cb, &s, &seq)) != PW_OK) {
		log_error("cannot store the reading of interval %llu: %s",
		          (unsigned long long)r->interval, pw_strerror(rc));
		return;
	}
	a->readings++;
	a->next_pump_ms = 0;
	log_info("reading %llu for interval %llu: export %llu Wh, import %llu Wh%s",
	         (unsigned long long)seq, (unsigned long long)r->interval,
	         (unsigned long long)(r->export_end_wh - r->export_start_wh),
	         (unsigned long long)(r->import_end_wh - r->import_start_wh),
	         r->estimated ? " (estimated)" : "");
	forecast_observe(&a->fc, tod_of((int64_t)r->interval * a->cfg.interval_s),
	                 r->export_end_wh - r->export_start_wh);
	a->have_fc_iv = 1;
	a->fc_last_iv = r->interval;
}

/* A register step above rated power x time (with 10 % and 1 Wh slack) is
 * a glitch, not energy; three in a row mean the meter really jumped. */
static int
plausible(struct agentd *a, int64_t t, uint64_t e, uint64_t i)
{
	if (!a->have_prev_sample || t <= a->prev_ms || e < a->prev_exp_wh || i < a->prev_imp_wh)
		return 1; /* backwards steps are ivacct's business */
	unsigned __int128 max = (unsigned __int128)(uint64_t)a->cfg.rated_power_w *
	                            (uint64_t)(t - a->prev_ms) * 11 / 36000000 +
	                        1;
	if ((e - a->prev_exp_wh) <= max && (i - a->prev_imp_wh) <= max)
		return 1;
	return 0;
}

static void
feed_sample(struct agentd *a, int64_t t, uint64_t e, uint64_t i)
{
	struct ivacct_reading r[READINGS_STEP];
	size_t n;

	if (!plausible(a, t, e, i)) {
		if (++a->implausible < 3) {
			log_warnx(
			    "meter: implausible step (export +%llu, import +%llu Wh in %lld ms);"
			    " sample skipped",
			    (unsigned long long)(e - a->prev_exp_wh),
			    (unsigned long long)(i - a->prev_imp_wh), (long long)(t - a->prev_ms));
			return;
		}
		log_error(
		    "meter: registers jumped; the reading chain restarts at the next boundary");
		ivacct_init(&a->acct, (uint32_t)a->cfg.interval_s,
		            (uint32_t)(a->cfg.poll_ms * 5 / 2));
	}
	a->implausible = 0;
	uint64_t resets = a->acct.resets;
	do {
		n = ivacct_sample(&a->acct, t, e, i, r, READINGS_STEP);
		for (size_t k = 0; k < n; k++)
			add_reading(a, &r[k]);
	} while (n == READINGS_STEP);
	if (a->acct.resets != resets)
		log_error(
		    "meter: a register went backwards (reset or wrap); readings restart at the"
		    " next boundary");
	a->have_prev_sample = 1;
	a->prev_ms = t;
	a->prev_exp_wh = e;
	a->prev_imp_wh = i;
}

static void
poll_failed(struct agentd *a, pw_err rc)
{
	a->poll_errors++;
	a->dev_ok = 0;
	a->have_rd = 0;
	if (rc == PW_ERR_STATE || rc == PW_ERR_CORRUPT)
		a->have_dev = 0; /* layout changed: discover again */
	snprintf(a->dev_detail, sizeof(a->dev_detail), "%s: %s", mlink_url(a->ml), pw_strerror(rc));
}

/*
 * Every poll reads the meter model only (one request: a device that fails
 * one request in N still gives most samples); every 8th poll, and until the
 * meter's serial is known, reads common, inverter and meter.
 */
static void
poll_device(struct agentd *a, int64_t now)
{
	static const uint16_t meters[] = { 201, 202, 203, 204, 211, 212, 213, 214 };
	pw_err rc, last = PW_OK;
	int full;

	a->polls++;
	if (!a->have_dev) {
		const struct sunspec_model_ref *m;
		rc = sunspec_discover(&a->io, &a->dev, &last);
		if (rc != PW_OK) {
			poll_failed(a, last != PW_OK ? last : rc);
			return;
		}
		a->have_dev = 1;
		m = sunspec_dev_find(&a->dev, meters, sizeof(meters) / sizeof(meters[0]));
		a->have_meter = m != NULL;
		if (m != NULL) {
			a->dev_meter = a->dev;
			a->dev_meter.nmodels = 1;
			a->dev_meter.models[0] = *m;
		}
		log_info("device: SunSpec at base %u, %d models%s", a->dev.base, a->dev.nmodels,
		         a->have_meter ? "" : ", no meter model: no readings can be signed");
	}
	full = !a->have_meter || a->polls % 8 == 1 ||
	       (a->cfg.serial[0] == '\0' && a->dev_serial[0] == '\0');
	rc = sunspec_poll(&a->io, full ? &a->dev : &a->dev_meter, &a->rd);
	if (rc != PW_OK) {
		poll_failed(a, rc);
		return;
	}
	if (full) {
		a->has_pv = a->rd.has_ac_power;
		a->pv_w = a->rd.ac_power_w;
		if (a->rd.has_common && a->rd.serial[0] != '\0')
			memcpy(a->dev_serial, a->rd.serial, sizeof(a->dev_serial));
	}
	a->have_rd = 1;
	if (!a->dev_ok)
		log_info("device: reading");
	a->dev_ok = 1;
	snprintf(a->dev_detail, sizeof(a->dev_detail), "%s", mlink_url(a->ml));
	/* only the accumulators make money; a meter asleep (not implemented
	 * or zero at wake-up) gives no sample at all */
	if (a->rd.has_export && a->rd.has_import && a->rd.export_wh >= 0 && a->rd.import_wh >= 0 &&
	    (a->cfg.serial[0] != '\0' || a->dev_serial[0] != '\0'))
		feed_sample(a, now, (uint64_t)a->rd.export_wh, (uint64_t)a->rd.import_wh);
}

/* ---- sending -------------------------------------------------------- */

static int64_t
backoff_ms(const struct agentd *a, uint32_t attempts)
{
	int64_t d = a->cfg.reply_timeout_ms;
	for (uint32_t i = 1; i < attempts && d < 60000; i++)
		d *= 2;
	return d > 60000 ? 60000 : d;
}

static void
pump_stream(struct agentd *a, enum outbox_stream s, int64_t now)
{
	struct outbox_item it;
	struct inflight *f = &a->fl[s];
	pw_err rc;

	if (f->active && now - f->sent_ms < a->cfg.reply_timeout_ms)
		return;
	f->active = 0;
	for (;;) {
		if (outbox_next(a->ob, s, &it) != PW_OK)
			return;
		if (it.type != PW_MSG_METER && gate_ms(a, it.interval) <= now) {
			/* the exchange would refuse it; later numbers stay higher */
			if (outbox_settle(a->ob, s, it.seq, OUTBOX_DROPPED, PW_REASON_GATE_CLOSED,
			                  OUTBOX_NO_INDEX) != PW_OK)
				return;
			log_warnx("%s %llu for interval %llu dropped: gate closed before delivery",
			          pw_msg_type_name(it.type), (unsigned long long)it.seq,
			          (unsigned long long)it.interval);
			continue;
		}
		break;
	}
	if (it.next_ms > now)
		return;
	rc = xlink_send(a->xl, it.frame, it.len);
	if (rc == PW_ERR_FULL)
		return; /* not connected: try again on the next turn */
	if (rc != PW_OK)
		return;
	f->active = 1;
	f->seq = it.seq;
	f->sent_ms = now;
	if (outbox_sent(a->ob, s, it.seq, now + backoff_ms(a, it.attempts + 1)) != PW_OK)
		log_warnx("outbox: cannot count a send");
	if (it.attempts > 0)
		log_info("resent %s %llu (attempt %u)", pw_msg_type_name(it.type),
		         (unsigned long long)it.seq, it.attempts + 1);
}

static void
send_query(struct agentd *a, uint8_t kind, uint64_t qa, uint64_t qb, int64_t now)
{
	struct pw_msg m;
	uint8_t frame[PW_WIRE_MAX_REQUEST];
	size_t len;

	memset(&m, 0, sizeof(m));
	m.type = PW_MSG_QUERY;
	m.u.query.nonce = ++a->nonce;
	m.u.query.kind = kind;
	m.u.query.a = qa;
	m.u.query.b = qb;
	if (pw_wire_encode(&m, (uint64_t)a->cfg.market_id, &a->kp, frame, sizeof(frame), &len) !=
	    PW_OK)
		return;
	if (xlink_send(a->xl, frame, len) != PW_OK)
		return;
	a->q.active = 1;
	a->q.nonce = m.u.query.nonce;
	a->q.kind = kind;
	a->q.a = qa;
	a->q.b = qb;
	a->q.sent_ms = now;
}

static void
pump_queries(struct agentd *a, int64_t now)
{
	struct pw_checkpoint cp, c2, prev;
	struct outbox_item it;
	uint64_t iv;

	if (a->q.active) {
		if (now - a->q.sent_ms < a->cfg.reply_timeout_ms)
			return;
		a->q.active = 0; /* lost: ask again below */
	}
	if (a->want_checkpoint) {
		send_query(a, PW_QUERY_CHECKPOINT, 0, 0, now);
		return;
	}
	if (aledger_latest_checkpoint(a->led, &cp) != PW_OK)
		return;
	if (aledger_unchecked_checkpoint(a->led, &c2) == PW_OK &&
	    aledger_prev_checkpoint(a->led, c2.tree_size, &prev) == PW_OK) {
		if (prev.tree_size == 0) {
			/* every tree extends the empty one */
			CHECKED(aledger_set_consistent(a->led, c2.tree_size, 1));
			return;
		}
		send_query(a, PW_QUERY_CONSISTENCY, prev.tree_size, c2.tree_size, now);
		return;
	}
	if (aledger_missing_statement(a->led, a->stmt_after, cp.interval, &iv) == PW_OK) {
		send_query(a, PW_QUERY_STATEMENT, iv, 0, now);
		return;
	}
	if (outbox_unproven(a->ob, cp.tree_size, a->proof_after, &it) == PW_OK) {
		send_query(a, PW_QUERY_INCLUSION, it.log_index, cp.tree_size, now);
		a->q.stream = it.stream;
		a->q.seq = it.seq;
		return;
	}
	/* a statement of an interval the checkpoint has settled is in its
	 * tree: the exchange appends the statements, then signs the
	 * checkpoint, in one transaction */
	if (aledger_unproven_statement(a->led, a->stmt_proof_after, cp.interval, &iv) == PW_OK)
		send_query(a, PW_QUERY_STATEMENT_PROOF, iv, cp.tree_size, now);
}

/* ---- receiving ------------------------------------------------------ */

/* outbox_resequence: the same reading under the number before it. */
static pw_err
resign_meter(void *ctx, uint64_t new_seq, const uint8_t *old, size_t old_len, uint8_t *frame,
             size_t cap, size_t *len)
{
	struct agentd *a = ctx;
	struct pw_msg m;
	pw_err rc;

	if ((rc = pw_wire_decode(old, old_len, &m)) != PW_OK)
		return rc;
	if (m.type != PW_MSG_METER)
		return PW_ERR_TYPE;
	m.u.meter.seq = new_seq;
	return pw_wire_encode(&m, (uint64_t)a->cfg.market_id, &a->kp, frame, cap, len);
}

static int
transient(uint16_t reason)
{
	return reason == PW_REASON_RATE_LIMITED || reason == PW_REASON_UNAVAILABLE ||
	       reason == PW_REASON_METER_TOO_EARLY;
}

static const char *
query_name(uint8_t kind)
{
	switch (kind) {
	case PW_QUERY_STATEMENT:
		return "statement";
	case PW_QUERY_STATEMENT_PROOF:
		return "statement proof";
	case PW_QUERY_INCLUSION:
		return "inclusion proof";
	case PW_QUERY_CONSISTENCY:
		return "consistency proof";
	case PW_QUERY_CHECKPOINT:
		return "checkpoint";
	case PW_QUERY_RESULT:
		return "result";
	default:
		return "query";
	}
}

/*
 * A REJECT of the query in flight.  A transient one (the exchange's rate
 * limit, its store failing) says nothing about the item: the query stays
 * outstanding, so pump_queries() asks again after reply_timeout_ms exactly
 * as for a lost answer (no tight loop of re-asks), and no cursor moves.
 * Any other refusal is final until the agent restarts.
 */
static void
on_query_refused(struct agentd *a, uint16_t reason)
{
	struct qdeferred *d = &a->qdefer;

	if (transient(reason)) {
		if (d->set && d->kind == a->q.kind && d->a == a->q.a && d->b == a->q.b) {
			log_debug("query %s %llu refused again: %s, asking again later",
			          query_name(a->q.kind), (unsigned long long)a->q.a,
			          pw_reason_name(reason));
			return;
		}
		d->set = 1;
		d->kind = a->q.kind;
		d->a = a->q.a;
		d->b = a->q.b;
		log_info("query %s %llu refused: %s, asking again later", query_name(a->q.kind),
		         (unsigned long long)a->q.a, pw_reason_name(reason));
		return;
	}
	a->q.active = 0;
	log_warnx("query %s %llu refused: %s", query_name(a->q.kind), (unsigned long long)a->q.a,
	          pw_reason_name(reason));
	if (a->q.kind == PW_QUERY_STATEMENT)
		a->stmt_after = a->q.a;
	else if (a->q.kind == PW_QUERY_STATEMENT_PROOF)
		a->stmt_proof_after = a->q.a;
	else if (a->q.kind == PW_QUERY_INCLUSION)
		a->proof_after = a->q.a + 1;
	else if (a->q.kind == PW_QUERY_CONSISTENCY)
		CHECKED(aledger_set_consistent(a->led, a->q.b, 2));
	else if (a->q.kind == PW_QUERY_CHECKPOINT)
		a->want_checkpoint = 0; /* none yet: the PUB brings one */
}

static void
on_receipt(struct agentd *a, const struct pw_msg *m, int64_t now)
{
	const struct pw_receipt *r = &m->u.receipt;
	enum outbox_stream s;
	struct outbox_item it;
	uint8_t h[PW_HASH_LEN];
	int ack = m->type == PW_MSG_ACK;

	if (r->ref_type == PW_MSG_QUERY) {
		if (!a->q.active || r->ref_seq != a->q.nonce)
			return;
		on_query_refused(a, r->reason);
		return;
	}
	if (r->ref_type == PW_MSG_ORDER || r->ref_type == PW_MSG_CANCEL)
		s = OUTBOX_ORDERS;
	else if (r->ref_type == PW_MSG_METER)
		s = OUTBOX_METER;
	else
		return;
	if (outbox_get(a->ob, s, r->ref_seq, &it) != PW_OK)
		return;
	pw_sha256(it.frame, it.len, h);
	if (memcmp(h, r->ref_hash, PW_HASH_LEN) != 0) {
		log_error("%s for %s %llu does not answer the frame we stored: ignored",
		          ack ? "ACK" : "REJECT", pw_msg_type_name(r->ref_type),
		          (unsigned long long)r->ref_seq);
		return;
	}
	if (a->fl[s].active && a->fl[s].seq == it.seq)
		a->fl[s].active = 0;
	a->next_pump_ms = 0;
	if (it.state != OUTBOX_PENDING)
		return; /* a late duplicate answer */
	if (ack) {
		CHECKED(outbox_settle(a->ob, s, it.seq, OUTBOX_ACKED, 0, r->log_index));
		log_debug("ACK %s %llu: log index %llu", pw_msg_type_name(it.type),
		          (unsigned long long)it.seq, (unsigned long long)r->log_index);
		/* the page shows the order as acknowledged right away */
		if (a->dash != NULL && s == OUTBOX_ORDERS)
			(void)dash_notify(a->dash, DASH_DOC_ORDERS);
		return;
	}
	if (r->reason == PW_REASON_REPLAY && it.attempts > 0) {
		/* Sent before, one in flight, in order: the exchange can only
		 * know this number from this frame (docs/agent.md "Outbox"). */
		CHECKED(outbox_settle(a->ob, s, it.seq, OUTBOX_ACKED, 0, OUTBOX_NO_INDEX));
		log_info("%s %llu: replay of a frame already accepted; delivered",
		         pw_msg_type_name(it.type), (unsigned long long)it.seq);
		return;
	}
	if (transient(r->reason)) {
		CHECKED(outbox_sent(a->ob, s, it.seq, now + backoff_ms(a, it.attempts + 1)));
		log_info("%s %llu: %s, retrying", pw_msg_type_name(it.type),
		         (unsigned long long)it.seq, pw_reason_name(r->reason));
		return;
	}
	CHECKED(outbox_settle(a->ob, s, it.seq, OUTBOX_REJECTED, r->reason, OUTBOX_NO_INDEX));
	if (s == OUTBOX_METER) {
		pw_err rrc;
		log_error("reading %llu for interval %llu rejected: %s", (unsigned long long)it.seq,
		          (unsigned long long)it.interval, pw_reason_name(r->reason));
		/* the exchange wants readings numbered without gaps: the next
		 * (never sent) readings take over this number */
		rrc = outbox_resequence(a->ob, OUTBOX_METER, it.seq, resign_meter, a);
		if (rrc != PW_OK)
			log_error("cannot renumber the readings after %llu: %s",
			          (unsigned long long)it.seq, pw_strerror(rrc));
		else
			log_warnx("readings after %llu renumbered from %llu",
			          (unsigned long long)it.seq, (unsigned long long)it.seq);
	} else
		log_warnx("%s %llu for interval %llu rejected: %s", pw_msg_type_name(it.type),
		          (unsigned long long)it.seq, (unsigned long long)it.interval,
		          pw_reason_name(r->reason));
	if (a->dash != NULL)
		(void)dash_notify(a->dash, DASH_DOC_ORDERS);
}

struct find_meter {
	uint64_t interval;
	int found;
	struct pw_meter m;
};

static int
find_meter_cb(void *ctx, const struct outbox_item *it)
{
	struct find_meter *f = ctx;
	struct pw_msg m;
	if (it->interval != f->interval || it->state != OUTBOX_ACKED)
		return 0;
	if (pw_wire_decode(it->frame, it->len, &m) != PW_OK)
		return 0;
	f->m = m.u.meter;
	f->found = 1;
	return 1;
}

static void
on_statement(struct agentd *a, const uint8_t *frame, size_t len, const struct pw_msg *m)
{
	const struct pw_statement *st = &m->u.statement;
	struct find_meter f;
	char net[32];
	pw_err rc;

	if (a->q.active && a->q.kind == PW_QUERY_STATEMENT && a->q.a == st->interval)
		a->q.active = 0;
	if (memcmp(st->household, a->kp.pk, PW_PK_LEN) != 0) {
		log_warnx("statement for another household ignored");
		return;
	}
	rc = aledger_add_statement(a->led, frame, len, st);
	if (rc == PW_ERR_EXISTS)
		return;
	if (rc == PW_ERR_CORRUPT) {
		a->forks++;
		log_error("EXCHANGE SIGNED TWO DIFFERENT STATEMENTS for interval %llu",
		          (unsigned long long)st->interval);
		return;
	}
	if (rc != PW_OK)
		return;
	a->statements++;
	pw_money_format(st->net_u, net, sizeof(net));
	log_info("statement for interval %llu: bought %llu Wh, sold %llu Wh, exported %llu Wh,"
	         " imported %llu Wh, net %s%s",
	         (unsigned long long)st->interval, (unsigned long long)st->bought_wh,
	         (unsigned long long)st->sold_wh, (unsigned long long)st->export_wh,
	         (unsigned long long)st->import_wh, net,
	         (st->flags & PW_STMT_READING_MISSING) ? " (reading missing)" : "");
	/* the statement must settle exactly what this household signed */
	memset(&f, 0, sizeof(f));
	f.interval = st->interval;
	if (outbox_foreach(a->ob, OUTBOX_METER, st->interval, find_meter_cb, &f) == PW_OK &&
	    f.found && !(st->flags & PW_STMT_READING_MISSING)) {
		if (st->export_wh != f.m.export_end_wh - f.m.export_start_wh ||
		    st->import_wh != f.m.import_end_wh - f.m.import_start_wh) {
			a->mismatches++;
			log_error(
			    "STATEMENT MISMATCH for interval %llu: statement export %llu import "
			    "%llu Wh, signed reading export %llu import %llu Wh",
			    (unsigned long long)st->interval, (unsigned long long)st->export_wh,
			    (unsigned long long)st->import_wh,
			    (unsigned long long)(f.m.export_end_wh - f.m.export_start_wh),
			    (unsigned long long)(f.m.import_end_wh - f.m.import_start_wh));
		}
	}
	if (a->dash != NULL)
		(void)dash_notify(a->dash, DASH_DOC_STATEMENTS);
}

static void
append_checkpoint_file(struct agentd *a, const uint8_t *frame, size_t len)
{
	char line[2 * 512 + 2];
	int fd;

	if (a->cfg.checkpoints[0] == '\0' || len > 512)
		return;
	pw_hex_encode(frame, len, line);
	line[2 * len] = '\n';
	/* docs/audit.md: O_APPEND, one write per line */
	fd = open(a->cfg.checkpoints, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		log_warn("%s", a->cfg.checkpoints);
		return;
	}
	if (write(fd, line, 2 * len + 1) != (ssize_t)(2 * len + 1))
		log_warn("%s: write", a->cfg.checkpoints);
	close(fd);
}

static void
on_checkpoint(struct agentd *a, const uint8_t *frame, size_t len, const struct pw_msg *m)
{
	const struct pw_checkpoint *cp = &m->u.checkpoint;
	pw_err rc;

	if (a->q.active && a->q.kind == PW_QUERY_CHECKPOINT)
		a->q.active = 0;
	a->want_checkpoint = 0;
	rc = aledger_add_checkpoint(a->led, frame, len, cp);
	if (rc == PW_ERR_EXISTS)
		return;
	if (rc == PW_ERR_CORRUPT) {
		a->forks++;
		log_error("LOG FORK: two checkpoints of tree size %llu with different roots",
		          (unsigned long long)cp->tree_size);
		append_checkpoint_file(a, frame, len); /* evidence for the auditor */
		return;
	}
	if (rc != PW_OK)
		return;
	append_checkpoint_file(a, frame, len);
	log_debug("checkpoint: interval %llu, tree size %llu", (unsigned long long)cp->interval,
	          (unsigned long long)cp->tree_size);
}

static void
on_proof(struct agentd *a, const struct pw_msg *m)
{
	const struct pw_proof *p = &m->u.proof;
	uint8_t root[PW_HASH_LEN], root2[PW_HASH_LEN], leaf[PW_HASH_LEN];
	struct outbox_item it;
	pw_err rc;

	/* a STATEMENT_PROOF answer names the leaf index in `a`; the others echo it */
	if (!a->q.active || p->nonce != a->q.nonce || p->b != a->q.b ||
	    (a->q.kind != PW_QUERY_STATEMENT_PROOF && p->a != a->q.a))
		return;
	a->q.active = 0;
	if (a->q.kind == PW_QUERY_STATEMENT_PROOF && p->kind == PW_PROOF_INCLUSION) {
		uint8_t sframe[1024]; /* a STATEMENT frame is 258 bytes */
		size_t slen;
		/* the exact bytes we hold, not the exchange's word for them */
		if (aledger_root(a->led, p->b, root) != PW_OK ||
		    aledger_statement_frame(a->led, a->q.a, sframe, sizeof(sframe), &slen) != PW_OK)
			return;
		merkle_leaf_hash(sframe, slen, leaf);
		rc = merkle_verify_inclusion(p->a, p->b, leaf,
		                             (const uint8_t(*)[MERKLE_HASH_LEN])p->hashes,
		                             p->n_hashes, root);
		if (rc == PW_OK) {
			a->proofs_ok++;
			CHECKED(aledger_set_statement_proof(a->led, a->q.a, p->a, 1));
			log_debug("inclusion of the statement for interval %llu at %llu verified",
			          (unsigned long long)a->q.a, (unsigned long long)p->a);
		} else {
			a->proofs_failed++;
			CHECKED(aledger_set_statement_proof(a->led, a->q.a, p->a, 2));
			log_error(
			    "INCLUSION PROOF FAILED: statement for interval %llu at log index "
			    "%llu is not in the checkpointed tree of size %llu",
			    (unsigned long long)a->q.a, (unsigned long long)p->a,
			    (unsigned long long)p->b);
		}
		if (a->dash != NULL)
			(void)dash_notify(a->dash, DASH_DOC_STATEMENTS);
	} else if (a->q.kind == PW_QUERY_INCLUSION && p->kind == PW_PROOF_INCLUSION) {
		if (aledger_root(a->led, p->b, root) != PW_OK ||
		    outbox_get(a->ob, a->q.stream, a->q.seq, &it) != PW_OK)
			return;
		merkle_leaf_hash(it.frame, it.len, leaf);
		rc = merkle_verify_inclusion(p->a, p->b, leaf,
		                             (const uint8_t(*)[MERKLE_HASH_LEN])p->hashes,
		                             p->n_hashes, root);
		if (rc == PW_OK) {
			a->proofs_ok++;
			CHECKED(outbox_set_proof(a->ob, it.stream, it.seq, OUTBOX_PROOF_OK));
			log_debug("inclusion of %s %llu at %llu verified",
			          pw_msg_type_name(it.type), (unsigned long long)it.seq,
			          (unsigned long long)p->a);
		} else {
			a->proofs_failed++;
			CHECKED(outbox_set_proof(a->ob, it.stream, it.seq, OUTBOX_PROOF_FAILED));
			log_error("INCLUSION PROOF FAILED: %s %llu at log index %llu is not in the "
			          "checkpointed tree of size %llu",
			          pw_msg_type_name(it.type), (unsigned long long)it.seq,
			          (unsigned long long)p->a, (unsigned long long)p->b);
		}
	} else if (a->q.kind == PW_QUERY_CONSISTENCY && p->kind == PW_PROOF_CONSISTENCY) {
		if (aledger_root(a->led, p->a, root) != PW_OK ||
		    aledger_root(a->led, p->b, root2) != PW_OK)
			return;
		rc = merkle_verify_consistency(p->a, p->b, root, root2,
		                               (const uint8_t(*)[MERKLE_HASH_LEN])p->hashes,
		                               p->n_hashes);
		CHECKED(aledger_set_consistent(a->led, p->b, rc == PW_OK ? 1 : -1));
		if (rc != PW_OK) {
			a->forks++;
			log_error(
			    "LOG FORK: checkpoint of size %llu is not an extension of size %llu",
			    (unsigned long long)p->b, (unsigned long long)p->a);
		}
	}
}

static void
on_depth(struct agentd *a, const struct pw_msg *m)
{
	int slot = 0;
	for (int i = 0; i < DEPTH_KEEP; i++) {
		if (a->depth[i].interval == m->u.depth.interval) {
			slot = i;
			break;
		}
		if (a->depth[i].interval < a->depth[slot].interval)
			slot = i;
	}
	a->depth[slot] = m->u.depth;
}

static void
receive(struct agentd *a, int from_sub, int64_t now)
{
	const uint8_t *frame;
	size_t len;
	struct pw_msg *m = malloc(sizeof(*m));
	unsigned mine;

	if (m == NULL)
		return;
	while (xlink_recv(a->xl, from_sub, &frame, &len, m) == PW_OK) {
		a->last_rx_ms = now;
		switch (m->type) {
		case PW_MSG_ACK:
		case PW_MSG_REJECT:
			on_receipt(a, m, now);
			break;
		case PW_MSG_STATEMENT:
			on_statement(a, frame, len, m);
			break;
		case PW_MSG_CHECKPOINT:
			on_checkpoint(a, frame, len, m);
			break;
		case PW_MSG_PROOF:
			on_proof(a, m);
			break;
		case PW_MSG_RESULT:
			if (aledger_add_result(a->led, &m->u.result, a->kp.pk, &mine) == PW_OK &&
			    mine > 0)
				log_info(
				    "interval %llu cleared at %u uper_kwh: %u trade(s) of ours",
				    (unsigned long long)m->u.result.interval,
				    m->u.result.price_uper_kwh, mine);
			if (a->q.active && a->q.kind == PW_QUERY_RESULT)
				a->q.active = 0;
			if (a->dash != NULL) {
				(void)dash_notify(a->dash, DASH_DOC_MARKET);
				(void)dash_notify(a->dash, DASH_DOC_TRADES);
			}
			break;
		case PW_MSG_DEPTH:
			on_depth(a, m);
			break;
		default:
			break;
		}
	}
	free(m);
}

/* ---- dashboard ------------------------------------------------------ */

static int
exchange_reachable(const struct agentd *a, int64_t now)
{
	/* something verified from the exchange lately, or nothing waiting */
	if (a->last_rx_ms != 0 && now - a->last_rx_ms < 2 * L_ms(a) + a->cfg.reply_timeout_ms)
		return 1;
	for (int s = 0; s < 2; s++)
		if (a->fl[s].active && now - a->fl[s].sent_ms >= a->cfg.reply_timeout_ms)
			return 0;
	return a->last_rx_ms != 0;
}

static json_t *
num_or_null(int has, double v)
{
	return has ? json_integer((json_int_t)(v >= 0 ? v + 0.5 : v - 0.5)) : json_null();
}

static json_t *
doc_state(struct agentd *a)
{
	int64_t now = now_ms();
	uint64_t iv = (uint64_t)(now / L_ms(a));
	int has_grid = a->have_rd && a->rd.has_meter_power;
	double grid = has_grid ? a->rd.meter_power_w : 0;
	int has_pv = a->dev_ok && a->has_pv;
	uint64_t first = first_open_interval(a, now);

	if (a->cfg.meter_sign == ACONFIG_SIGN_EXPORT_POSITIVE)
		grid = -grid;
	return json_pack(
	    "{s:s, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:I, s:{s:b, s:s},"
	    " s:{s:b, s:s}}",
	    "household", a->cfg.serial[0] ? a->cfg.serial : a->pk_hex, "now",
	    (json_int_t)(now / 1000), "interval", (json_int_t)iv, "interval_s",
	    (json_int_t)a->cfg.interval_s, "pv_w", num_or_null(has_pv, a->pv_w), "house_w",
	    num_or_null(has_pv && has_grid, a->pv_w + grid), "grid_w", num_or_null(has_grid, grid),
	    "surplus_w", num_or_null(has_grid, grid < 0 ? -grid : 0), "forecast_wh",
	    (json_int_t)forecast_export_wh(&a->fc, tod_of((int64_t)first * a->cfg.interval_s), 1),
	    "exchange", "reachable", exchange_reachable(a, now), "detail", a->cfg.request,
	    "inverter", "reachable", a->dev_ok, "detail", a->dev_detail);
}

static json_t *
doc_market(struct agentd *a)
{
	int64_t now = now_ms();
	json_t *depth = json_array();
	for (int i = 0; i < DEPTH_KEEP; i++) {
		const struct pw_depth *d = &a->depth[i];
		json_t *bids = json_array(), *asks = json_array();
		if (d->interval == 0 || gate_ms(a, d->interval) <= now) {
			json_decref(bids);
			json_decref(asks);
			continue;
		}
		for (unsigned k = 0; k < d->n_levels; k++)
			json_array_append_new(d->levels[k].side == PW_SIDE_BUY ? bids : asks,
			                      json_pack("{s:I, s:I}", "price_uper_kwh",
			                                (json_int_t)d->levels[k].price_uper_kwh,
			                                "qty_wh", (json_int_t)d->levels[k].qty_wh));
		json_array_append_new(
		    depth,
		    json_pack("{s:I, s:I, s:I, s:o, s:o}", "interval", (json_int_t)d->interval,
		              "start", (json_int_t)(d->interval * (uint64_t)a->cfg.interval_s),
		              "gate_close", (json_int_t)(gate_ms(a, d->interval) / 1000), "bids",
		              bids, "asks", asks));
	}
	json_t *prices = aledger_json_prices(a->led, (uint32_t)a->cfg.interval_s, 96);
	return json_pack("{s:s, s:I, s:I, s:I, s:o, s:o}", "currency", "EUR", "retail_uper_kwh",
	                 (json_int_t)a->cfg.retail_uper_kwh, "feed_in_uper_kwh",
	                 (json_int_t)a->cfg.feedin_uper_kwh, "next_interval",
	                 (json_int_t)first_open_interval(a, now), "prices",
	                 prices != NULL ? prices : json_array(), "depth", depth);
}

static const char *
order_status(const struct agentd *a, const struct oview *o, int64_t now)
{
	uint64_t traded_wh;

	switch (o->state) {
	case OUTBOX_PENDING:
		return o->cancelled ? "cancelled" : "pending";
	case OUTBOX_REJECTED:
		return "rejected";
	case OUTBOX_DROPPED:
		return "expired";
	case OUTBOX_ACKED:
	default:
		/* trades are known once the interval's RESULT is in; they win over
		 * a cancel that came too late */
		traded_wh = aledger_order_traded_wh(a->led, o->side, o->seq);
		if (traded_wh > 0)
			return traded_wh >= o->qty_wh ? "filled" : "partial";
		if (o->cancelled)
			return "cancelled";
		return gate_ms(a, o->interval) <= now ? "expired" : "acked";
	}
}

static json_t *
doc_orders(struct agentd *a)
{
	static struct oview v[MAX_VIEWS];
	int64_t now = now_ms();
	uint64_t iv = (uint64_t)(now / L_ms(a));
	size_t n = collect_orders(a, iv > 8 ? iv - 8 : 0, UINT64_MAX, v, MAX_VIEWS);
	json_t *arr = json_array();

	for (size_t i = n; i-- > 0;) {
		const struct oview *o = &v[i];
		int tag = aledger_order_tag(a->led, o->seq);
		json_array_append_new(
		    arr,
		    json_pack(
		        "{s:I, s:s, s:I, s:I, s:I, s:s, s:b, s:s, s:o}", "seq", (json_int_t)o->seq,
		        "side", o->side == PW_SIDE_BUY ? "buy" : "sell", "interval",
		        (json_int_t)o->interval, "qty_wh", (json_int_t)o->qty_wh, "price_uper_kwh",
		        (json_int_t)o->price_uper_kwh, "status", order_status(a, o, now), "auto",
		        tag != TAG_MANUAL, "reason",
		        o->state == OUTBOX_REJECTED ? pw_reason_name(o->reason) : "", "verified",
		        o->proof == OUTBOX_PROOF_NONE ? json_null()
		                                      : json_boolean(o->proof == OUTBOX_PROOF_OK)));
	}
	return json_pack("{s:o}", "orders", arr);
}

static json_t *
dash_get(void *ctx, enum dash_doc doc)
{
	struct agentd *a = ctx;
	switch (doc) {
	case DASH_DOC_STATE:
		return doc_state(a);
	case DASH_DOC_MARKET:
		return doc_market(a);
	case DASH_DOC_ORDERS:
		return doc_orders(a);
	case DASH_DOC_TRADES:
		return aledger_json_trades(a->led, a->kp.pk);
	case DASH_DOC_STATEMENTS:
		return aledger_json_statements(a->led);
	case DASH_DOC_SETTINGS:
		return json_pack("{s:I, s:I, s:b}", "min_price_uper_kwh",
		                 (json_int_t)a->pol.min_price_uper_kwh, "reserve_wh",
		                 (json_int_t)a->pol.reserve_wh, "auto_sell", a->auto_sell);
	case DASH_DOC__COUNT:
	default:
		return NULL;
	}
}

static pw_err
dash_place_bid(void *ctx, const struct dash_bid *bid, uint64_t *seq_out, char *msg, size_t cap)
{
	static struct oview v[MAX_VIEWS];
	struct agentd *a = ctx;
	int64_t now = now_ms();
	uint64_t first = first_open_interval(a, now), iv = bid->interval ? bid->interval : first;
	uint64_t cap_wh = (uint64_t)a->cfg.max_import_w * (uint64_t)a->cfg.interval_s / 3600;
	size_t n;

	if (iv < first) {
		snprintf(msg, cap, "interval %llu is closed; the next open one is %llu",
		         (unsigned long long)iv, (unsigned long long)first);
		return PW_ERR_STATE;
	}
	if (bid->qty_wh > cap_wh) {
		snprintf(msg, cap, "at most %llu Wh per interval (registered import capacity)",
		         (unsigned long long)cap_wh);
		return PW_ERR_RANGE;
	}
	if ((a->cfg.retail_uper_kwh != 0 && bid->max_price_uper_kwh > a->cfg.retail_uper_kwh) ||
	    bid->max_price_uper_kwh < a->cfg.feedin_uper_kwh) {
		snprintf(msg, cap, "the price must be between the feed-in and the retail tariff");
		return PW_ERR_RANGE;
	}
	n = collect_orders(a, iv, iv + bid->intervals - 1, v, MAX_VIEWS);
	for (size_t i = 0; i < n; i++)
		if (v[i].side == PW_SIDE_SELL && is_open(&v[i])) {
			snprintf(msg, cap, "an offer to sell is open in interval %llu",
			         (unsigned long long)v[i].interval);
			return PW_ERR_STATE;
		}
	for (uint32_t k = 0; k < bid->intervals; k++) {
		uint64_t seq;
		pw_err rc = place_order(a, PW_SIDE_BUY, iv + k, (uint32_t)bid->qty_wh,
		                        bid->max_price_uper_kwh, TAG_MANUAL, &seq);
		if (rc != PW_OK) {
			snprintf(msg, cap, "cannot store the order: %s", pw_strerror(rc));
			return rc;
		}
		if (k == 0)
			*seq_out = seq;
	}
	snprintf(msg, cap, "bid stored; it is sent to the exchange now");
	(void)dash_notify(a->dash, DASH_DOC_ORDERS);
	return PW_OK;
}

static pw_err
dash_cancel(void *ctx, uint64_t seq, char *msg, size_t cap)
{
	struct agentd *a = ctx;
	struct outbox_item it;
	struct pw_msg m;
	int64_t now = now_ms();

	if (outbox_get(a->ob, OUTBOX_ORDERS, seq, &it) != PW_OK || it.type != PW_MSG_ORDER ||
	    pw_wire_decode(it.frame, it.len, &m) != PW_OK) {
		snprintf(msg, cap, "no order %llu", (unsigned long long)seq);
		return PW_ERR_NOTFOUND;
	}
	if (it.state == OUTBOX_REJECTED || it.state == OUTBOX_DROPPED ||
	    gate_ms(a, it.interval) - margin_ms(a) <= now) {
		snprintf(msg, cap, "order %llu is no longer open", (unsigned long long)seq);
		return PW_ERR_STATE;
	}
	if (aledger_order_tag(a->led, seq) == TAG_AUTOSELL)
		a->autosell_failed_iv_set = 0;
	pw_err rc = place_cancel(a, it.interval, seq);
	if (rc != PW_OK) {
		snprintf(msg, cap, "cannot store the cancel: %s", pw_strerror(rc));
		return rc;
	}
	(void)dash_notify(a->dash, DASH_DOC_ORDERS);
	return PW_OK;
}

static pw_err
dash_settings(void *ctx, const struct dash_settings *s, char *msg, size_t cap)
{
	struct agentd *a = ctx;

	if (a->cfg.retail_uper_kwh != 0 && s->min_price_uper_kwh > a->cfg.retail_uper_kwh) {
		snprintf(msg, cap, "the minimum price is above the retail tariff");
		return PW_ERR_RANGE;
	}
	if (aledger_setting_set(a->led, "min_price_uper_kwh", s->min_price_uper_kwh) != PW_OK ||
	    aledger_setting_set(a->led, "reserve_wh",
	                        s->reserve_wh > INT64_MAX ? INT64_MAX : (int64_t)s->reserve_wh) !=
	        PW_OK ||
	    aledger_setting_set(a->led, "auto_sell", s->auto_sell) != PW_OK) {
		snprintf(msg, cap, "cannot store the settings");
		return PW_ERR_DB;
	}
	a->pol.min_price_uper_kwh = s->min_price_uper_kwh;
	a->pol.reserve_wh = s->reserve_wh;
	a->auto_sell = s->auto_sell;
	log_info("settings: min price %u uper_kwh, reserve %llu Wh, auto-sell %s",
	         s->min_price_uper_kwh, (unsigned long long)s->reserve_wh,
	         s->auto_sell ? "on" : "off");
	a->next_trade_ms = 0;
	return PW_OK;
}

static void
dash_metrics(void *ctx, FILE *out)
{
	struct agentd *a = ctx;
	uint64_t pending = 0;
	CHECKED(outbox_count(a->ob, OUTBOX_PENDING, &pending));
	fprintf(out,
	        "# TYPE peerwatt_agent_outbox_pending gauge\npeerwatt_agent_outbox_pending %llu\n"
	        "peerwatt_agent_polls_total %lu\npeerwatt_agent_poll_errors_total %lu\n"
	        "peerwatt_agent_readings_total %lu\npeerwatt_agent_orders_total %lu\n"
	        "peerwatt_agent_proofs_verified_total %lu\npeerwatt_agent_proofs_failed_total %lu\n"
	        "peerwatt_agent_forks_total %lu\npeerwatt_agent_statement_mismatches_total %lu\n",
	        (unsigned long long)pending, a->polls, a->poll_errors, a->readings, a->orders,
	        a->proofs_ok, a->proofs_failed, a->forks, a->mismatches);
}

static void
start_dash(struct agentd *a)
{
	struct dash_ops ops = { a,           dash_get,      dash_place_bid,
		                dash_cancel, dash_settings, dash_metrics };
	struct dash_config dc;
	char addr[64], msg[256];
	uint16_t port;

	if (!a->cfg.dash_enabled)
		return;
	if (dash_listen_parse(a->cfg.dash_listen, addr, sizeof(addr), &port) != PW_OK) {
		log_error("dashboard: bad listen address %s", a->cfg.dash_listen);
		return;
	}
	memset(&dc, 0, sizeof(dc));
	dc.bind_addr = addr;
	dc.port = port;
	dc.web_root = a->cfg.dash_web_root;
	dc.token = a->cfg.dash_token[0] ? a->cfg.dash_token : NULL;
	if (dash_new(&dc, &ops, &a->dash, msg, sizeof(msg)) != PW_OK) {
		log_error("dashboard not started: %s", msg);
		a->dash = NULL;
		return;
	}
	log_info("dashboard on http://%s:%u/", addr, dash_port(a->dash));
}

/* ---- setup, reload, loop -------------------------------------------- */

static void
apply_policy(struct agentd *a)
{
	int64_t v;
	aconfig_policy(&a->cfg, &a->pol);
	a->auto_sell = a->cfg.auto_sell;
	/* dashboard edits win over the file until changed again there */
	if (aledger_setting_get(a->led, "min_price_uper_kwh", &v) == PW_OK && v >= 0 &&
	    v <= UINT32_MAX)
		a->pol.min_price_uper_kwh = (uint32_t)v;
	if (aledger_setting_get(a->led, "reserve_wh", &v) == PW_OK && v >= 0)
		a->pol.reserve_wh = (uint64_t)v;
	if (aledger_setting_get(a->led, "auto_sell", &v) == PW_OK)
		a->auto_sell = v != 0;
}

/* systemd Type=notify (config/peerwatt-agent.service); a no-op elsewhere */
static void
sd_state(const char *state)
{
	if (pw_sd_notify(state) != PW_OK)
		log_warnx("sd_notify %s failed", state);
}

static void
reload(struct agentd *a, const char *path)
{
	struct aconfig n;
	char err[PW_CFG_ERRLEN];

	if (aconfig_load(path, &n, err, sizeof(err)) != PW_OK) {
		log_error("reload: %s (keeping the old configuration)", err);
		return;
	}
	if (strcmp(n.key_file, a->cfg.key_file) != 0 || strcmp(n.db, a->cfg.db) != 0 ||
	    strcmp(n.modbus, a->cfg.modbus) != 0 || strcmp(n.request, a->cfg.request) != 0 ||
	    strcmp(n.pub, a->cfg.pub) != 0 || n.interval_s != a->cfg.interval_s ||
	    n.market_id != a->cfg.market_id ||
	    memcmp(n.public_key, a->cfg.public_key, PW_PK_LEN) != 0 ||
	    strcmp(n.dash_listen, a->cfg.dash_listen) != 0)
		log_warnx("reload: key, database, device, exchange, interval and dashboard changes "
		          "take effect after a restart");
	/* take over what is safe to change while running */
	memcpy(a->cfg.serial, n.serial, sizeof(n.serial));
	a->cfg.max_export_w = n.max_export_w;
	a->cfg.max_import_w = n.max_import_w;
	a->cfg.rated_power_w = n.rated_power_w;
	a->cfg.poll_ms = n.poll_ms;
	a->cfg.meter_sign = n.meter_sign;
	a->cfg.gate_s = n.gate_s;
	a->cfg.feedin_uper_kwh = n.feedin_uper_kwh;
	a->cfg.retail_uper_kwh = n.retail_uper_kwh;
	a->cfg.reply_timeout_ms = n.reply_timeout_ms;
	memcpy(a->cfg.checkpoints, n.checkpoints, sizeof(n.checkpoints));
	a->cfg.auto_sell = n.auto_sell;
	a->cfg.strategy = n.strategy;
	a->cfg.min_price_uper_kwh = n.min_price_uper_kwh;
	a->cfg.fixed_price_uper_kwh = n.fixed_price_uper_kwh;
	a->cfg.safety_pct = n.safety_pct;
	a->cfg.reserve_wh = n.reserve_wh;
	a->cfg.horizon = n.horizon;
	a->cfg.adjust_pct = n.adjust_pct;
	a->cfg.adjust_min_wh = n.adjust_min_wh;
	memcpy(a->cfg.bids, n.bids, sizeof(n.bids));
	a->cfg.n_bids = n.n_bids;
	a->cfg.log_level = n.log_level;
	log_init("peerwatt-agent", a->cfg.log_level);
	apply_policy(a);
	log_info("configuration reloaded from %s", path);
}

struct replay_fc {
	struct agentd *a;
	struct pw_msg m;
};

static int
replay_fc_cb(void *ctx, const struct outbox_item *it)
{
	struct replay_fc *r = ctx;
	if (pw_wire_decode(it->frame, it->len, &r->m) != PW_OK || r->m.type != PW_MSG_METER)
		return 0;
	forecast_observe(&r->a->fc, tod_of((int64_t)it->interval * r->a->cfg.interval_s),
	                 r->m.u.meter.export_end_wh - r->m.u.meter.export_start_wh);
	r->a->have_fc_iv = 1;
	r->a->fc_last_iv = it->interval;
	return 0;
}

/* After a restart: continue the reading chain and the forecast's memory
 * from what the outbox holds. */
static void
resume_state(struct agentd *a, int64_t now)
{
	struct outbox_item it;
	struct replay_fc *r;
	struct pw_msg m;
	uint64_t week = (uint64_t)(7 * 86400 / a->cfg.interval_s);
	uint64_t iv_now = (uint64_t)(now / L_ms(a));

	if (outbox_last(a->ob, OUTBOX_METER, &it) == PW_OK &&
	    pw_wire_decode(it.frame, it.len, &m) == PW_OK && m.type == PW_MSG_METER) {
		ivacct_resume(&a->acct, m.u.meter.interval, m.u.meter.export_end_wh,
		              m.u.meter.import_end_wh);
		log_info("resuming readings after interval %llu (reading %llu)",
		         (unsigned long long)m.u.meter.interval, (unsigned long long)it.seq);
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return;
	r->a = a;
	if (outbox_foreach(a->ob, OUTBOX_METER, iv_now > week ? iv_now - week : 0, replay_fc_cb,
	                   r) != PW_OK)
		log_warnx("cannot replay the forecast history");
	free(r);
}

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: peerwatt-agent -c FILE [--check-config]\n"
	        "Runs the household agent: reads the meter, trades the surplus, signs readings.\n");
}

static int
setup(struct agentd *a, const char *path)
{
	struct mlink_cfg mc;
	struct xlink_cfg xc;
	pw_err rc;
	int64_t now = now_ms();

	if ((rc = pw_key_load(a->cfg.key_file, &a->kp)) != PW_OK) {
		log_error("%s: %s", a->cfg.key_file, pw_strerror(rc));
		return EX_CONFIG;
	}
	pw_hex_encode(a->kp.pk, PW_PK_LEN, a->pk_hex);
	if ((rc = outbox_open(&a->ob, a->cfg.db, (uint64_t)now * 1000)) != PW_OK) {
		log_error("%s: cannot open the database: %s", a->cfg.db, pw_strerror(rc));
		return EX_UNAVAILABLE;
	}
	(void)sqlite3_exec(outbox_db(a->ob), "PRAGMA cache_size=-512", NULL, NULL, NULL);
	if ((rc = aledger_open(&a->led, outbox_db(a->ob))) != PW_OK) {
		log_error("%s: %s", a->cfg.db, pw_strerror(rc));
		return EX_UNAVAILABLE;
	}
	if ((rc = forecast_init(&a->fc, (uint32_t)a->cfg.interval_s)) != PW_OK)
		return EX_SOFTWARE;
	ivacct_init(&a->acct, (uint32_t)a->cfg.interval_s, (uint32_t)(a->cfg.poll_ms * 5 / 2));
	apply_policy(a);
	resume_state(a, now);

	mlink_cfg_defaults(&mc);
	mc.unit = (int)a->cfg.unit;
	mc.timeout_ms = (uint32_t)a->cfg.timeout_ms;
	mc.backoff_cap_ms = (uint32_t)a->cfg.backoff_max_ms;
	if (mc.backoff_base_ms > mc.backoff_cap_ms)
		mc.backoff_base_ms = mc.backoff_cap_ms;
	if ((rc = mlink_new(a->cfg.modbus, &mc, NULL, &a->ml)) != PW_OK) {
		log_error("%s: [device] modbus %s: %s", path, a->cfg.modbus, pw_strerror(rc));
		return EX_CONFIG;
	}
	a->io.read = mlink_read_cb;
	a->io.arg = a->ml;

	a->zctx = zmq_ctx_new();
	if (a->zctx == NULL)
		return EX_UNAVAILABLE;
	memset(&xc, 0, sizeof(xc));
	xc.request = a->cfg.request;
	xc.pub = a->cfg.pub;
	xc.exchange_pk = a->cfg.public_key;
	xc.market_id = (uint64_t)a->cfg.market_id;
	xc.kp = &a->kp;
	if ((rc = xlink_new(a->zctx, &xc, &a->xl)) != PW_OK) {
		log_error("exchange link: %s", pw_strerror(rc));
		return rc == PW_ERR_CRYPTO ? EX_CONFIG : EX_UNAVAILABLE;
	}
	a->want_checkpoint = 1;
	start_dash(a);
	log_info("household %s, market %lld, intervals of %lld s, gate %lld s; device %s; "
	         "exchange %s",
	         a->pk_hex, (long long)a->cfg.market_id, (long long)a->cfg.interval_s,
	         (long long)a->cfg.gate_s, a->cfg.modbus, a->cfg.request);
	return 0;
}

static void
teardown(struct agentd *a)
{
	dash_destroy(&a->dash);
	xlink_destroy(&a->xl);
	if (a->zctx != NULL)
		zmq_ctx_term(a->zctx);
	mlink_destroy(&a->ml);
	aledger_close(&a->led);
	outbox_close(&a->ob);
	pw_key_wipe(&a->kp);
}

static long
until(int64_t t, int64_t now)
{
	return t <= now ? 0 : (long)(t - now);
}

static void
loop(struct agentd *a, const char *path)
{
	while (!got_term) {
		int64_t now = now_ms();
		zmq_pollitem_t items[3];
		int n = 2;
		long timeout;

		if (got_hup) {
			got_hup = 0;
			sd_state("RELOADING=1");
			reload(a, path);
			sd_state("READY=1");
		}
		if (now >= a->next_poll_ms) {
			poll_device(a, now);
			a->next_poll_ms = now + a->cfg.poll_ms;
		}
		if (now >= a->next_trade_ms) {
			trade(a, now);
			a->next_trade_ms = now + (a->cfg.poll_ms < 1000 ? a->cfg.poll_ms : 1000);
		}
		if (now >= a->next_pump_ms) {
			pump_stream(a, OUTBOX_ORDERS, now);
			pump_stream(a, OUTBOX_METER, now);
			pump_queries(a, now);
			a->next_pump_ms = now + 100;
		}
		if (a->dash != NULL && now >= a->next_state_ms) {
			(void)dash_notify(a->dash, DASH_DOC_STATE);
			a->next_state_ms = now + 1000;
		}
		memset(items, 0, sizeof(items));
		items[0].socket = xlink_dealer(a->xl);
		items[0].events = ZMQ_POLLIN;
		items[1].socket = xlink_sub(a->xl);
		items[1].events = ZMQ_POLLIN;
		if (a->dash != NULL) {
			items[2].fd = dash_fd(a->dash);
			items[2].events = ZMQ_POLLIN;
			n = 3;
		}
		timeout = until(a->next_poll_ms, now);
		if (until(a->next_trade_ms, now) < timeout)
			timeout = until(a->next_trade_ms, now);
		if (until(a->next_pump_ms, now) < timeout)
			timeout = until(a->next_pump_ms, now);
		if (a->dash != NULL) {
			long dt = dash_timeout_ms(a->dash);
			if (dt >= 0 && dt < timeout)
				timeout = dt;
		}
		if (zmq_poll(items, n, timeout) < 0) {
			if (zmq_errno() == EINTR)
				continue;
			log_error("zmq_poll: %s", zmq_strerror(zmq_errno()));
			break;
		}
		now = now_ms();
		if (items[0].revents & ZMQ_POLLIN)
			receive(a, 0, now);
		if (items[1].revents & ZMQ_POLLIN)
			receive(a, 1, now);
		if (a->dash != NULL)
			(void)dash_run(a->dash);
	}
}

int
agentd_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct agentd *a;
	const char *path = NULL;
	char err[PW_CFG_ERRLEN];
	int check = 0, c, rc;
	struct sigaction sa;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":c:nh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return pw_cli_getopt_error("peerwatt-agent", c, argv);
		}
	}
	if (optind != argc)
		return pw_cli_usage_error("peerwatt-agent", "unexpected argument '%s'",
		                          argv[optind]);
	if (path == NULL)
		return pw_cli_usage_error("peerwatt-agent", "-c FILE is required");
	log_init("peerwatt-agent", LOG_LEVEL_INFO);
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		fatalx("out of memory");
	if (aconfig_load(path, &a->cfg, err, sizeof(err)) != PW_OK) {
		fprintf(stderr, "peerwatt-agent: %s\n", err);
		free(a);
		return EX_CONFIG;
	}
	if (check) {
		/* what setup() would refuse with EX_CONFIG must fail the check too */
		struct mlink_url u;
		pw_err kr;
		rc = 0;
		/* the key is loaded like the daemon does it; wiped below */
		if (pw_crypto_init() != PW_OK)
			fatalx("libsodium cannot start");
		if ((kr = mlink_url_parse(a->cfg.modbus, &u)) != PW_OK) {
			fprintf(stderr, "peerwatt-agent: %s: [device] modbus %s: %s\n", path,
			        a->cfg.modbus, pw_strerror(kr));
			rc = EX_CONFIG;
		} else if ((kr = pw_key_load(a->cfg.key_file, &a->kp)) != PW_OK) {
			fprintf(stderr, "peerwatt-agent: %s: %s\n", a->cfg.key_file,
			        pw_strerror(kr));
			rc = EX_CONFIG;
		} else {
			printf("%s: configuration ok\n", path);
		}
		pw_key_wipe(&a->kp);
		free(a);
		return rc;
	}
	log_init("peerwatt-agent", a->cfg.log_level);
	if (pw_crypto_init() != PW_OK)
		fatalx("libsodium cannot start");

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	rc = setup(a, path);
	if (rc == 0) {
		log_info("ready");
		sd_state("READY=1");
		loop(a, path);
		sd_state("STOPPING=1");
		log_info("stopping");
	}
	teardown(a);
	free(a);
	return rc;
}
