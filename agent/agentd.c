/*
 * agentd.c: the agent daemon (see agentd.h and docs/agent.md): setup,
 * teardown, reload, the state resumed after a restart, and the loop.  The
 * roles live beside it (agentd_int.h lists them): atrade.c trades, ameter.c
 * polls the device and signs readings, aexch.c talks to the exchange,
 * adash.c answers the dashboard.
 *
 * Two threads.  The device thread (agent/devpoll.c) owns the device
 * sources and does all device I/O; this file's loop is one zmq_poll over the
 * exchange DEALER and SUB, the device thread's eventfd, the dashboard's
 * epoll fd and timers, and never waits for a device.  Each turn it may:
 *   - take the device thread's samples and feed the grid meter's registers,
 *     checked (mcheck), to ivacct, which yields one METER reading per closed
 *     interval (signed and stored in the outbox) and one forecast observation;
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
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "agent/adispute.h"
#include "agent/agentd_int.h"
#include "agent/awitness.h"
#include "agent/devpoll.h"
#include "peerwatt/cli.h"
#include "peerwatt/sdnotify.h"

#define EX_UNAVAILABLE 69
#define EX_SOFTWARE    70
#define EX_CONFIG      78

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

int64_t
agentd_now_ms(const struct agentd *a)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + a->cfg.clock_offset_s * 1000;
}

uint32_t
agentd_iv_tod(const struct agentd *a, uint64_t iv)
{
	return devclock_tod(&a->clock, agentd_iv_start_s(a, iv) * 1000);
}

/* ---- signing into the outbox ------------------------------------------ */

pw_err
agentd_sign_cb(void *ctx, uint64_t seq, uint8_t *frame, size_t cap, size_t *len, uint8_t *type,
               uint64_t *interval)
{
	struct agentd_signer *s = ctx;
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

/* ---- setup, reload, loop -------------------------------------------- */

static void
apply_policy(struct agentd *a)
{
	int64_t v;
	aconfig_policy(&a->cfg, &a->pol);
	a->auto_sell = a->cfg.auto_sell;
	/* dashboard edits win over the file until changed again there */
	if (aledger_setting_get(a->led, "min_price_uper_kwh", &v) == PW_OK && v >= INT32_MIN &&
	    v <= INT32_MAX) {
		a->pol.min_price_uper_kwh = (int32_t)v;
		/* stored before relative prices existed: absolute */
		a->pol.min_base = POLICY_BASE_ABS;
		if (aledger_setting_get(a->led, "min_price_base", &v) == PW_OK &&
		    v >= POLICY_BASE_ABS && v <= POLICY_BASE_RETAIL)
			a->pol.min_base = (enum policy_base)v;
	}
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
	    strcmp(n.device_template, a->cfg.device_template) != 0 ||
	    strcmp(n.meter_url, a->cfg.meter_url) != 0 ||
	    strcmp(n.meter_template, a->cfg.meter_template) != 0 ||
	    strcmp(n.pub, a->cfg.pub) != 0 || n.interval_s != a->cfg.interval_s ||
	    n.market_id != a->cfg.market_id || n.sim_epoch_s != a->cfg.sim_epoch_s ||
	    n.sim_start_s != a->cfg.sim_start_s || n.sim_speed != a->cfg.sim_speed ||
	    memcmp(n.public_key, a->cfg.public_key, PW_PK_LEN) != 0 ||
	    strcmp(n.dash_listen, a->cfg.dash_listen) != 0 ||
	    strcmp(n.dash_web_root, a->cfg.dash_web_root) != 0 ||
	    n.dash_enabled != a->cfg.dash_enabled)
		log_warnx("reload: key, database, device, exchange, interval, [sim] and dashboard "
		          "address changes take effect after a restart");
	/* a changed dashboard token ends every session at once */
	if (a->dash != NULL) {
		char msg[DASH_MSG_MAX] = "";
		if (dash_set_token(a->dash, n.dash_token, msg, sizeof(msg)) != PW_OK)
			log_error("reload: %s (keeping the old dashboard token)", msg);
		else
			memcpy(a->cfg.dash_token, n.dash_token, sizeof(n.dash_token));
	} else {
		memcpy(a->cfg.dash_token, n.dash_token, sizeof(n.dash_token));
	}
	/* take over what is safe to change while running */
	memcpy(a->cfg.serial, n.serial, sizeof(n.serial));
	a->cfg.max_export_w = n.max_export_w;
	a->cfg.max_import_w = n.max_import_w;
	a->cfg.rated_power_w = n.rated_power_w;
	a->mc.rated_power_w = (uint32_t)n.rated_power_w;
	forecast_set_max(&a->fc, agentd_rated_iv_wh(a));
	if (n.poll_ms != a->cfg.poll_ms) {
		a->cfg.poll_ms = n.poll_ms;
		ameter_set_period(a);
	}
	a->cfg.meter_sign = n.meter_sign;
	/* curtailment: turned off, nothing more is written (a limit in force
	 * lifts itself at its revert timeout) */
	a->cfg.control = n.control;
	a->cfg.export_floor_uper_kwh = n.export_floor_uper_kwh;
	/* the battery: likewise (a setpoint in force reverts by itself);
	 * a new plan follows at the next tick */
	a->cfg.battery_control = n.battery_control;
	a->cfg.battery_reserve_pct = n.battery_reserve_pct;
	a->cfg.battery_grid_charge = n.battery_grid_charge;
	a->cfg.battery_strategy = n.battery_strategy;
	a->cfg.battery_efficiency_pct = n.battery_efficiency_pct;
	a->cfg.battery_wear_uper_kwh = n.battery_wear_uper_kwh;
	a->cfg.battery_capacity_wh = n.battery_capacity_wh;
	a->cfg.battery_max_charge_w = n.battery_max_charge_w;
	a->cfg.battery_max_discharge_w = n.battery_max_discharge_w;
	a->cfg.battery_horizon_h = n.battery_horizon_h;
	abat_reconfigured(a);
	a->cfg.gate_s = n.gate_s;
	a->cfg.feedin_uper_kwh = a->conf_feedin_uper_kwh = n.feedin_uper_kwh;
	a->cfg.retail_uper_kwh = a->conf_retail_uper_kwh = n.retail_uper_kwh;
	astatus_tariffs(a); /* a tariff left at 0 follows the HEARTBEAT */
	a->cfg.reply_timeout_ms = n.reply_timeout_ms;
	memcpy(a->cfg.checkpoints, n.checkpoints, sizeof(n.checkpoints));
	a->cfg.auto_sell = n.auto_sell;
	a->cfg.strategy = n.strategy;
	a->cfg.min_price_uper_kwh = n.min_price_uper_kwh;
	a->cfg.min_base = n.min_base;
	a->cfg.fixed_price_uper_kwh = n.fixed_price_uper_kwh;
	a->cfg.fixed_base = n.fixed_base;
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
	/* a stored row is input too: a bad one is skipped, never computed with */
	if (pw_wire_decode_stored(it->frame, it->len, &r->m) != PW_OK ||
	    r->m.type != PW_MSG_METER || !agentd_iv_ok(r->a, it->interval) ||
	    r->m.u.meter.interval != it->interval ||
	    r->m.u.meter.export_end_wh < r->m.u.meter.export_start_wh ||
	    r->m.u.meter.import_end_wh < r->m.u.meter.import_start_wh)
		return 0;
	/* with the battery's energy of the interval when it was read, as
	 * ameter.c learned it (abat_net_wh) */
	uint64_t chg, dis, need;
	int has_bat =
	    aledger_battery_energy(r->a->led, it->interval, it->interval + 1, &chg, &dis) == 1;
	uint64_t surplus = abat_net_wh(r->m.u.meter.export_end_wh - r->m.u.meter.export_start_wh,
	                               r->m.u.meter.import_end_wh - r->m.u.meter.import_start_wh,
	                               has_bat, has_bat ? chg : 0, has_bat ? dis : 0, &need);
	(void)forecast_observe(&r->a->fc_load, agentd_iv_tod(r->a, it->interval), need);
	/* bounded and filtered as when they were measured (a reading stored
	 * before the bound existed is refused now) */
	enum forecast_obs o =
	    forecast_observe(&r->a->fc, agentd_iv_tod(r->a, it->interval), surplus);
	if (o == FORECAST_LEARNED || o == FORECAST_DROPPED) {
		r->a->have_fc_iv = 1;
		r->a->fc_last_iv = it->interval;
	}
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
	uint64_t iv_now = (uint64_t)(now / agentd_interval_ms(a));

	if (outbox_last(a->ob, OUTBOX_METER, &it) == PW_OK &&
	    pw_wire_decode_stored(it.frame, it.len, &m) == PW_OK && m.type == PW_MSG_METER &&
	    !agentd_iv_ok(a, m.u.meter.interval)) {
		log_error("the last stored reading (%llu) names interval %llu, out of range: "
		          "readings start afresh",
		          (unsigned long long)it.seq, (unsigned long long)m.u.meter.interval);
	} else if (outbox_last(a->ob, OUTBOX_METER, &it) == PW_OK &&
	           pw_wire_decode_stored(it.frame, it.len, &m) == PW_OK && m.type == PW_MSG_METER) {
		ivacct_resume(&a->acct, m.u.meter.interval, m.u.meter.export_end_wh,
		              m.u.meter.import_end_wh);
		/* the first sample is checked against these registers, at the
		 * reading's end boundary, like every other sample */
		mcheck_resume(&a->mc, agentd_iv_start_s(a, m.u.meter.interval + 1) * 1000,
		              m.u.meter.export_end_wh, m.u.meter.import_end_wh);
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

/* A queued request of protocol version 1 (stored before an upgrade) signed
 * again in version 2, same fields, same number (outbox_upgrade). */
static pw_err
resign_v1(void *ctx, uint64_t seq, const uint8_t *old, size_t old_len, uint8_t *frame, size_t cap,
          size_t *len)
{
	struct agentd *a = ctx;
	struct pw_msg m;
	pw_err rc;

	if ((rc = pw_wire_decode_stored(old, old_len, &m)) != PW_OK)
		return rc;
	if ((m.type == PW_MSG_ORDER && m.u.order.seq != seq) ||
	    (m.type == PW_MSG_CANCEL && m.u.cancel.seq != seq) ||
	    (m.type == PW_MSG_METER && m.u.meter.seq != seq))
		return PW_ERR_CORRUPT;
	return pw_wire_encode(&m, (uint64_t)a->cfg.market_id, &a->kp, frame, cap, len);
}

static int
setup(struct agentd *a)
{
	struct xlink_cfg xc;
	pw_err rc;
	int64_t now = agentd_now_ms(a);

	if ((rc = pw_key_load(a->cfg.key_file, &a->kp)) != PW_OK) {
		log_error("%s: %s", a->cfg.key_file, pw_strerror(rc));
		return EX_CONFIG;
	}
	pw_hex_encode(a->kp.pk, PW_PK_LEN, a->pk_hex);
	a->conf_feedin_uper_kwh = a->cfg.feedin_uper_kwh;
	a->conf_retail_uper_kwh = a->cfg.retail_uper_kwh;
	if ((rc = outbox_open(&a->ob, a->cfg.db, (uint64_t)now * 1000)) != PW_OK) {
		log_error("%s: cannot open the database: %s", a->cfg.db, pw_strerror(rc));
		return EX_UNAVAILABLE;
	}
	(void)sqlite3_exec(outbox_db(a->ob), "PRAGMA cache_size=-512", NULL, NULL, NULL);
	if ((rc = aledger_open(&a->led, outbox_db(a->ob))) != PW_OK ||
	    (rc = adispute_open(a)) != PW_OK || (rc = awitness_open(a)) != PW_OK ||
	    (rc = actl_new(&a->ctl)) != PW_OK || (rc = actl_open(a, now)) != PW_OK ||
	    (rc = abat_new(&a->bat)) != PW_OK) {
		log_error("%s: %s", a->cfg.db, pw_strerror(rc));
		return EX_UNAVAILABLE;
	}
	unsigned upgraded = 0;
	if ((rc = outbox_upgrade(a->ob, resign_v1, a, &upgraded)) != PW_OK) {
		log_error("%s: the queued version-1 requests cannot be re-signed: %s", a->cfg.db,
		          pw_strerror(rc));
		return EX_UNAVAILABLE;
	}
	if (upgraded > 0)
		log_info("%u queued requests signed in protocol version 1 re-signed in version %d",
		         upgraded, PW_PROTO_VERSION);
	/* the forecast's day is the devices' day: with [sim] an interval is
	 * speed x interval_s of it (aconfig keeps that within a day) */
	aconfig_devclock(&a->cfg, &a->clock);
	if ((rc = forecast_init(&a->fc, (uint32_t)devclock_span_s(
	                                    &a->clock, (uint64_t)a->cfg.interval_s))) != PW_OK)
		return EX_SOFTWARE;
	/* nothing the household exports can exceed what its rated power
	 * delivers in an interval: the forecast's bound */
	forecast_set_max(&a->fc, agentd_rated_iv_wh(a));
	/* the home's need has no such bound (its load is not metered apart) */
	if ((rc = forecast_init(&a->fc_load, a->fc.interval_s)) != PW_OK)
		return EX_SOFTWARE;
	ivacct_init(&a->acct, (uint32_t)a->cfg.interval_s, (uint32_t)(a->cfg.poll_ms * 5 / 2));
	mcheck_init(&a->mc, (uint32_t)a->cfg.rated_power_w, MCHECK_CONFIRM);
	apply_policy(a);
	resume_state(a, now);

	{
		char e[512];
		if ((rc = ameter_open(a, e, sizeof(e))) != PW_OK) {
			log_error("%s", e);
			return EX_CONFIG;
		}
	}

	a->zctx = zmq_ctx_new();
	if (a->zctx == NULL)
		return EX_UNAVAILABLE;
	memset(&xc, 0, sizeof(xc));
	xc.request = a->cfg.request;
	xc.pub = a->cfg.pub;
	xc.exchange_pk = a->cfg.public_key;
	xc.market_id = (uint64_t)a->cfg.market_id;
	xc.kp = &a->kp;
	xc.reply_timeout_ms = a->cfg.reply_timeout_ms;
	if ((rc = xlink_new(a->zctx, &xc, &a->xl)) != PW_OK) {
		log_error("exchange link: %s", pw_strerror(rc));
		return rc == PW_ERR_CRYPTO ? EX_CONFIG : EX_UNAVAILABLE;
	}
	a->want_checkpoint = 1;
	outlook_init(&a->aol.ol);
	a->aol.want = 1;
	a->started_ms = now;
	adash_start(a);
	log_info("household %s, market %lld, intervals of %lld s, gate %lld s; device %s; "
	         "exchange %s",
	         a->pk_hex, (long long)a->cfg.market_id, (long long)a->cfg.interval_s,
	         (long long)a->cfg.gate_s, a->cfg.modbus, a->cfg.request);
	if (a->clock.simulated) {
		char hhmm[8];
		log_info("time of day: the simulated devices' clock ([sim]: %02u:%02u at %lld, "
		         "%ux): now %s",
		         a->clock.start_s / 3600, a->clock.start_s % 3600 / 60,
		         (long long)a->clock.epoch_s, a->clock.speed,
		         devclock_hhmm(&a->clock, now, hhmm, sizeof(hhmm)));
	}
	return 0;
}

static void
teardown(struct agentd *a)
{
	dash_destroy(&a->dash);
	xlink_destroy(&a->xl);
	if (a->zctx != NULL)
		zmq_ctx_term(a->zctx);
	actl_stop(a); /* a limit in force is lifted as the device closes */
	ameter_close(a);
	adispute_close(a);
	awitness_close(a);
	actl_destroy(&a->ctl);
	abat_destroy(&a->bat);
	aledger_close(&a->led);
	outbox_close(&a->ob);
	pw_key_wipe(&a->kp);
}

static long
until(int64_t t, int64_t now)
{
	return t <= now ? 0 : (long)(t - now);
}

/* xlink re-created its sockets: what was in flight went down with the old
 * ones.  The pending items are sent again now, oldest first, one per
 * stream as always (docs/agent.md "Link to the exchange"); the query is
 * asked again. */
static void
relinked(struct agentd *a, int64_t now)
{
	a->fl[OUTBOX_ORDERS].active = 0;
	a->fl[OUTBOX_METER].active = 0;
	a->fl[OUTBOX_COSIGN].active = 0;
	a->q.active = 0;
	aoutlook_relinked(a);
	if (outbox_resend_now(a->ob, now) != PW_OK)
		log_warnx("outbox: cannot schedule the resends after re-connecting");
}

static void
loop(struct agentd *a, const char *path)
{
	while (!got_term) {
		int64_t now = agentd_now_ms(a);
		zmq_pollitem_t items[4];
		int n = 3;
		long timeout;

		if (got_hup) {
			got_hup = 0;
			sd_state("RELOADING=1");
			reload(a, path);
			sd_state("READY=1");
		}
		if (now >= a->next_poll_ms) {
			ameter_tick(a, now);
			a->next_poll_ms = now + a->cfg.poll_ms;
		}
		if (now >= a->next_trade_ms) {
			atrade_run(a, now);
			actl_tick(a, now);
			abat_tick(a, now);
			a->next_trade_ms = now + (a->cfg.poll_ms < 1000 ? a->cfg.poll_ms : 1000);
		}
		if (now >= a->next_pump_ms) {
			if (xlink_tick(a->xl))
				relinked(a, now);
			aexch_pump_stream(a, OUTBOX_ORDERS, now);
			aexch_pump_stream(a, OUTBOX_METER, now);
			awitness_tick(a, now);
			aexch_pump_stream(a, OUTBOX_COSIGN, now);
			aexch_pump_queries(a, now);
			a->next_pump_ms = now + 100;
		}
		if (now >= a->next_status_ms) {
			astatus_update(a, now);
			a->next_status_ms = now + 500;
		}
		if (a->dash != NULL && now >= a->next_state_ms) {
			(void)dash_notify(a->dash, DASH_DOC_STATE);
			aoutlook_tick(a, now);
			a->next_state_ms = now + 1000;
		}
		memset(items, 0, sizeof(items));
		/* a socket between two generations is NULL: fd -1, ignored */
		items[0].socket = xlink_dealer(a->xl);
		items[0].fd = -1;
		items[0].events = ZMQ_POLLIN;
		items[1].socket = xlink_sub(a->xl);
		items[1].fd = -1;
		items[1].events = ZMQ_POLLIN;
		/* the device thread's samples (agent/devpoll.c) */
		items[2].fd = devpoll_fd(a->dp);
		items[2].events = ZMQ_POLLIN;
		if (a->dash != NULL) {
			items[n].fd = dash_fd(a->dash);
			items[n].events = ZMQ_POLLIN;
			n++;
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
		now = agentd_now_ms(a);
		if (items[0].revents & ZMQ_POLLIN)
			aexch_receive(a, 0, now);
		if (items[1].revents & ZMQ_POLLIN)
			aexch_receive(a, 1, now);
		if (items[2].revents & ZMQ_POLLIN)
			ameter_receive(a, now);
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
		char derr[512];
		pw_err kr;
		rc = 0;
		/* the key is loaded like the daemon does it; wiped below */
		if (pw_crypto_init() != PW_OK)
			fatalx("libsodium cannot start");
		/* the device URLs and templates as setup() opens them */
		if (ameter_check(&a->cfg, derr, sizeof(derr)) != PW_OK) {
			fprintf(stderr, "peerwatt-agent: %s\n", derr);
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

	rc = setup(a);
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
