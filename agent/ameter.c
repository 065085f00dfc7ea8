/*
 * ameter.c: the agent's metering (see agentd_int.h, docs/metering.md).
 * Owns opening the device sources ([device], and [meter] when the grid
 * meter is apart: agent/device.c) and handing them to the device thread
 * (agent/devpoll.c, which polls them: the meter's values each poll and
 * everything every 8th; a separate inverter every 4th poll for the PV
 * power), then, on the loop's thread, the samples it delivers: the
 * plausibility check of register steps (agent/mcheck.c), and turning the
 * grid meter's registers into one signed METER reading per closed interval
 * (via ivacct), naming the meter actually read, and one forecast
 * observation.  Called by agentd.c (ameter_open, ameter_receive,
 * ameter_tick, ameter_close, ameter_check for --check-config).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/timex.h>

#include "agent/agentd_int.h"
#include "agent/devpoll.h"
#include "peerwatt/fmt.h"

#define READINGS_STEP 16

static uint8_t
time_status(struct agentd *a)
{
	struct timex tx;
	memset(&tx, 0, sizeof(tx));
	/* adjtimex with modes 0 only reads (glibc: clock_adjtime(CLOCK_REALTIME));
	 * STA_UNSYNC: not synchronised.  A seccomp filter may deny the call
	 * (systemd's ProtectClock=yes and @system-service do; the shipped unit
	 * allows it, docs/operations.md): say so instead of silently marking
	 * every reading unsynced. */
	if (adjtimex(&tx) < 0) {
		log_rated(&a->rate_clock, LOG_LEVEL_WARN,
		          "cannot read the clock's synchronisation (adjtimex: %s): readings are "
		          "marked unsynced",
		          strerror(errno));
		return PW_TIME_UNSYNCED;
	}
	if ((tx.status & STA_UNSYNC) != 0)
		return PW_TIME_UNSYNCED;
	return PW_TIME_SYNCED;
}

/* Signs and stores one reading; PW_OK or the store's error. */
static pw_err
store_reading(struct agentd *a, const struct ivacct_reading *r)
{
	struct agentd_signer s;
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
	s.m.u.meter.time_status = r->estimated ? PW_TIME_ESTIMATED : time_status(a);
	if ((rc = outbox_add(a->ob, OUTBOX_METER, agentd_sign_cb, &s, &seq)) != PW_OK)
		return rc;
	a->readings++;
	a->next_pump_ms = 0;
	char ivs[PW_FMT_LEN];
	pw_fmt_interval(r->interval, a->cfg.interval_s, ivs, sizeof(ivs));
	log_info("reading %llu for interval %s: export %llu Wh, import %llu Wh%s",
	         (unsigned long long)seq, ivs,
	         (unsigned long long)(r->export_end_wh - r->export_start_wh),
	         (unsigned long long)(r->import_end_wh - r->import_start_wh),
	         r->estimated ? " (estimated)" : "");
	const struct fc_note *fn = &a->fc_notes[r->interval % FC_NOTES];
	if (fn->set && fn->interval == r->interval) {
		char hhmm[8];
		log_info("interval %llu (%s): exported %llu Wh; forecast %llu Wh, firm %llu Wh at "
		         "the gate (horizon %u)",
		         (unsigned long long)r->interval,
		         devclock_hhmm(&a->clock, agentd_iv_start_s(a, r->interval) * 1000, hhmm,
		                       sizeof(hhmm)),
		         (unsigned long long)(r->export_end_wh - r->export_start_wh),
		         (unsigned long long)fn->forecast_wh, (unsigned long long)fn->firm_wh,
		         fn->horizon);
	}
	/* with a battery the forecasts learn what the grid would have seen
	 * without it (abat_net_wh); without one, export and import as is */
	uint64_t exp_wh = r->export_end_wh - r->export_start_wh;
	uint64_t imp_wh = r->import_end_wh - r->import_start_wh;
	uint64_t chg_wh = 0, dis_wh = 0, need_wh;
	int has_bat = a->bat_prev_has && a->bat_prev_iv == r->interval;
	if (has_bat) {
		chg_wh = (uint64_t)(a->bat_prev_chg_wh + 0.5);
		dis_wh = (uint64_t)(a->bat_prev_dis_wh + 0.5);
	}
	uint64_t surplus_wh = abat_net_wh(exp_wh, imp_wh, has_bat, chg_wh, dis_wh, &need_wh);
	(void)forecast_observe(&a->fc_load, agentd_iv_tod(a, r->interval), need_wh);
	switch (forecast_observe(&a->fc, agentd_iv_tod(a, r->interval), surplus_wh)) {
	case FORECAST_IMPOSSIBLE:
		log_rated(&a->rate_fc, LOG_LEVEL_WARN,
		          "forecast: interval %llu's %s of %llu Wh is more than rated_power_w "
		          "allows in an interval (%llu Wh): not learned",
		          (unsigned long long)r->interval,
		          has_bat ? "surplus before the battery" : "export",
		          (unsigned long long)surplus_wh, (unsigned long long)a->fc.max_wh);
		break;
	case FORECAST_HELD:
		log_info("forecast: interval %llu's %s of %llu Wh is far above the forecast; "
		         "learned only if the next interval confirms it",
		         (unsigned long long)r->interval,
		         has_bat ? "surplus before the battery" : "export",
		         (unsigned long long)surplus_wh);
		break;
	case FORECAST_DROPPED:
		log_info("forecast: the export held before interval %llu was not confirmed: "
		         "dropped as an outlier",
		         (unsigned long long)r->interval);
		/* fall through */
	case FORECAST_LEARNED:
	default:
		a->have_fc_iv = 1;
		a->fc_last_iv = r->interval;
		break;
	}
	a->meter_rebased_ms = 0; /* the chain runs again after a jump */
	/* the dashboard's energy chart: PV unknown (-1) unless integrated over
	 * this very interval; 0 where there is no inverter */
	int64_t pv_wh = !a->has_pv                     ? 0
	                : a->pv_prev_iv == r->interval ? (int64_t)(a->pv_prev_wh + 0.5)
	                                               : -1;
	if (aledger_add_energy(a->led, r->interval, pv_wh, imp_wh, exp_wh,
	                       has_bat ? (int64_t)chg_wh : -1,
	                       has_bat ? (int64_t)dis_wh : -1) == PW_OK)
		(void)dash_notify(a->dash, DASH_DOC_TODAY);
	return PW_OK;
}

/* Stores the readings kept in memory, oldest first, until one fails. */
static void
flush_pending(struct agentd *a, int64_t now)
{
	size_t done = 0;
	pw_err rc = PW_OK;

	if (a->n_pending == 0 || now < a->pending_retry_ms)
		return;
	while (done < a->n_pending && (rc = store_reading(a, &a->pending[done])) == PW_OK)
		done++;
	if (done > 0) {
		memmove(a->pending, a->pending + done,
		        (a->n_pending - done) * sizeof(a->pending[0]));
		a->n_pending -= done;
		if (a->pending_retry_ms != 0)
			log_info("stored %zu reading(s) kept while the database refused them; %zu "
			         "still waiting",
			         done, a->n_pending);
	}
	if (a->n_pending == 0) {
		a->pending_retry_ms = 0;
	} else {
		a->pending_retry_ms = now + AGENTD_PENDING_RETRY_MS;
		log_rated(&a->rate_store, LOG_LEVEL_ERR,
		          "cannot store the reading of interval %llu yet: %s (%zu kept in memory, "
		          "retrying every %d ms)",
		          (unsigned long long)a->pending[0].interval, pw_strerror(rc), a->n_pending,
		          AGENTD_PENDING_RETRY_MS);
	}
}

/* A reading is computed once: stored now, or kept in memory (in order)
 * until the database takes it. */
static void
add_reading(struct agentd *a, const struct ivacct_reading *r, int64_t now)
{
	if (a->n_pending == AGENTD_PENDING_MAX) {
		a->readings_dropped++;
		log_error(
		    "reading of interval %llu lost: %d readings already wait for the database",
		    (unsigned long long)a->pending[0].interval, AGENTD_PENDING_MAX);
		memmove(a->pending, a->pending + 1, (a->n_pending - 1) * sizeof(a->pending[0]));
		a->n_pending--;
	}
	a->pending[a->n_pending++] = *r;
	if (a->n_pending == 1)
		flush_pending(a, now); /* else the queue waits for its retry time */
}

/* Integrates PV power over the polls, per interval (for the chart only:
 * the money comes from the meter's registers). */
static void
pv_energy(struct agentd *a, int64_t now)
{
	uint64_t iv = (uint64_t)(now / agentd_interval_ms(a));

	if (iv != a->pv_iv) {
		a->pv_prev_iv = a->pv_iv;
		a->pv_prev_wh = a->pv_acc_wh;
		a->pv_iv = iv;
		a->pv_acc_wh = 0;
	}
	/* a gap (device away, agent stopped) adds nothing rather than a guess */
	if (a->has_pv && a->pv_last_ms != 0 && now > a->pv_last_ms &&
	    now - a->pv_last_ms <= 5 * a->cfg.poll_ms && a->pv_w > 0)
		/* on the devices' clock, as the meter's registers count (a
		 * simulator's interval is interval_s x speed of its seconds) */
		a->pv_acc_wh += a->pv_w * (double)(now - a->pv_last_ms) *
		                (double)(a->clock.simulated ? a->clock.speed : 1) / 3600000.0;
	a->pv_last_ms = now;
}

/*
 * Integrates the battery's power over the polls, per interval, on the
 * devices' clock (a simulator's Wh of one interval are those of interval_s
 * x speed of its seconds): charged and discharged apart.  The storage is
 * read every full poll (agent/devpoll.c) and its power held in between; a
 * gap (device away, a storage reading older than a few full polls) adds
 * nothing, and an interval with no storage reading has no battery energy
 * (bat_has).
 */
static void
bat_energy(struct agentd *a, int64_t now)
{
	uint64_t iv = (uint64_t)(now / agentd_interval_ms(a));
	const struct storage_reading *st = &a->rd.storage;
	uint32_t speed = a->clock.simulated ? a->clock.speed : 1;

	if (iv != a->bat_iv) {
		a->bat_prev_iv = a->bat_iv;
		a->bat_prev_chg_wh = a->bat_chg_wh;
		a->bat_prev_dis_wh = a->bat_dis_wh;
		a->bat_prev_has = a->bat_has;
		a->bat_iv = iv;
		a->bat_chg_wh = a->bat_dis_wh = 0;
		a->bat_has = 0;
	}
	if (st->present && st->has_power && a->bat_read_ms != 0 &&
	    now - a->bat_read_ms <= 20 * a->cfg.poll_ms) {
		a->bat_has = 1;
		if (a->bat_last_ms != 0 && now > a->bat_last_ms &&
		    now - a->bat_last_ms <= 5 * a->cfg.poll_ms) {
			double wh = st->power_w * (double)(now - a->bat_last_ms) * (double)speed /
			            3600000.0;
			if (wh > 0)
				a->bat_dis_wh += wh;
			else
				a->bat_chg_wh -= wh;
		}
	}
	a->bat_last_ms = now;
}

/* One count of the coarser register, whole Wh (at least 1). */
static uint64_t
resolution_wh(const struct dev_reading *r)
{
	int sf = r->export_sf > r->import_sf ? r->export_sf : r->import_sf;
	uint64_t res = 1;
	for (int k = 0; k < sf && k < 18; k++)
		res *= 10;
	return res;
}

static void
feed_ivacct(struct agentd *a, int64_t t, uint64_t e, uint64_t i)
{
	struct ivacct_reading r[READINGS_STEP];
	size_t n;

	do {
		n = ivacct_sample(&a->acct, t, e, i, r, READINGS_STEP);
		for (size_t k = 0; k < n; k++)
			add_reading(a, &r[k], t);
	} while (n == READINGS_STEP);
}

/*
 * Every sample passes mcheck (agent/mcheck.h) before it counts: a step the
 * rated power could not make, from the last accepted sample or (after a
 * start) from the last signed reading, is refused: no reading, no
 * forecast, no offer comes from it.  MCHECK_CONFIRM samples that agree with
 * each other after a jump are the new base, and the reading chain restarts
 * at the next boundary, so no signed reading spans the jump.
 */
static void
feed_sample(struct agentd *a, int64_t t, uint64_t e, uint64_t i, uint64_t res_wh)
{
	switch (mcheck_sample(&a->mc, t, e, i, res_wh)) {
	case MCHECK_REJECT:
		a->meter_suspect = 1;
		log_rated(&a->rate_meter, LOG_LEVEL_WARN,
		          "meter: implausible sample refused (export %+lld Wh, import %+lld Wh in "
		          "%lld ms; rated_power_w %u allows %llu Wh): it counts for nothing",
		          (long long)a->mc.last_dexp_wh, (long long)a->mc.last_dimp_wh,
		          (long long)a->mc.last_dt_ms, a->mc.rated_power_w,
		          (unsigned long long)a->mc.last_max_wh);
		return;
	case MCHECK_SKIP:
		return; /* rounding below the base: nothing new */
	case MCHECK_REBASE:
		a->meter_suspect = 0;
		a->meter_rebased_ms = t;
		a->meter_jump_exp_wh = a->mc.last_dexp_wh;
		a->meter_jump_imp_wh = a->mc.last_dimp_wh;
		log_error(
		    "meter: registers jumped (export %+lld Wh, import %+lld Wh) and %u samples "
		    "agree since: taken as the new base; the reading chain restarts at the "
		    "next boundary (no reading spans the jump)",
		    (long long)a->mc.last_dexp_wh, (long long)a->mc.last_dimp_wh, a->mc.confirm);
		ivacct_init(&a->acct, (uint32_t)a->cfg.interval_s,
		            (uint32_t)(a->cfg.poll_ms * 5 / 2));
		break;
	case MCHECK_ACCEPT:
	default:
		a->meter_suspect = 0;
		break;
	}
	feed_ivacct(a, t, e, i);
}

/* discovering: the device answered discovery with exceptions or without
 * the SunSpec marker, which says "no SunSpec device at this unit", not
 * "unreachable". */
static void
poll_failed(struct agentd *a, pw_err rc, int discovering)
{
	a->poll_errors++;
	/* "not SunSpec" stays until a poll succeeds: the device may drop the
	 * connection after its exception replies, which is not news */
	if (discovering && (rc == PW_ERR_NOT_SUNSPEC || rc == PW_ERR_MODBUS_EXC))
		a->dev_fault = AMETER_NOT_SUNSPEC;
	else if (a->dev_fault != AMETER_NOT_SUNSPEC)
		a->dev_fault = AMETER_UNREACHABLE;
	a->dev_ok = 0;
	a->have_rd = 0;
	snprintf(a->dev_detail, sizeof(a->dev_detail), "%s: %s", devpoll_meter_url(a->dp),
	         pw_strerror(rc));
}

static void
cfg_of(const struct aconfig *c, bool meter, struct dev_cfg *dc)
{
	dev_cfg_defaults(dc);
	dc->template_path = c->template_dir[0] != '\0' ? c->template_dir : NULL;
	dc->backoff_cap_ms = (uint32_t)c->backoff_max_ms;
	if (meter) {
		dc->url = c->meter_url;
		dc->template_name = c->meter_template;
		dc->unit = (int)c->meter_unit;
		dc->timeout_ms = (uint32_t)c->meter_timeout_ms;
	} else {
		dc->url = c->modbus;
		dc->template_name = c->device_template;
		dc->unit = c->unit_given ? (int)c->unit : -1;
		/* the [device] timeout is the template's unless it was changed from 2000 */
		dc->timeout_ms = (uint32_t)c->timeout_ms;
		if (strcmp(c->device_template, "sunspec") != 0 && c->timeout_ms == 2000)
			dc->timeout_ms = 0;
	}
}

static pw_err
open_both(const struct aconfig *c, struct dev **inv, struct dev **meter, char *err, size_t errlen)
{
	struct dev_cfg dc;
	char e[400];
	pw_err rc;

	*inv = *meter = NULL;
	cfg_of(c, false, &dc);
	if ((rc = dev_open(&dc, inv, e, sizeof(e))) != PW_OK) {
		snprintf(err, errlen, "%s: [device] %s", c->path, e);
		return rc;
	}
	if (c->meter_url[0] == '\0')
		return PW_OK;
	cfg_of(c, true, &dc);
	if ((rc = dev_open(&dc, meter, e, sizeof(e))) != PW_OK) {
		snprintf(err, errlen, "%s: [meter] %s", c->path, e);
		dev_destroy(inv);
		return rc;
	}
	return PW_OK;
}

pw_err
ameter_open(struct agentd *a, char *err, size_t errlen)
{
	struct dev *inv, *meter;
	pw_err rc = open_both(&a->cfg, &inv, &meter, err, errlen);
	const struct dev *m;
	const struct tmpl *t;

	if (rc != PW_OK)
		return rc;
	log_info("device %s (%s)%s%s%s", dev_url(inv), dev_source(inv),
	         meter != NULL ? "; grid meter " : "", meter != NULL ? dev_url(meter) : "",
	         meter != NULL
	             ? (strcmp(dev_source(meter), "sunspec") == 0 ? " (sunspec)" : " (template)")
	             : "");
	/* what is known before the first poll (SunSpec: nothing yet) */
	m = meter != NULL ? meter : inv;
	t = dev_template(m);
	a->dev_has_meter =
	    t != NULL ? (t->roles & TMPL_ROLE_METER) != 0 : strcmp(dev_source(m), "sunspec") != 0;
	a->dev_lacks_meter = 0;
	/* from here on the device thread owns the sources */
	rc = devpoll_start(&inv, &meter, (uint32_t)a->cfg.poll_ms, a->cfg.clock_offset_s * 1000,
	                   &a->dp);
	if (rc != PW_OK)
		snprintf(err, errlen, "cannot start the device thread: %s", pw_strerror(rc));
	return rc;
}

void
ameter_close(struct agentd *a)
{
	devpoll_stop(&a->dp);
}

pw_err
ameter_check(const struct aconfig *cfg, char *err, size_t errlen)
{
	struct dev *inv, *meter;
	pw_err rc = open_both(cfg, &inv, &meter, err, errlen);
	dev_destroy(&inv);
	dev_destroy(&meter);
	return rc;
}

void
ameter_set_period(struct agentd *a)
{
	if (a->dp != NULL)
		devpoll_set_period(a->dp, (uint32_t)a->cfg.poll_ms);
}

/* The load from PV and grid power of one round (never a PV power of an
 * earlier round with the grid power of this one: a limited inverter
 * changes both at once). */
static void
note_load(struct agentd *a, const struct devpoll_sample *s, int64_t now)
{
	double pv, grid;

	if (!s->rd.has_meter_power)
		return;
	if (s->full && a->cfg.meter_url[0] == '\0' && s->rd.has_ac_power)
		pv = s->rd.ac_power_w;
	else if (s->inv_polled && s->inv_has_pv)
		pv = s->inv_pv_w;
	else
		return;
	grid = s->rd.meter_power_w;
	if (a->cfg.meter_sign == ACONFIG_SIGN_EXPORT_POSITIVE)
		grid = -grid;
	a->load_w = pv + grid;
	a->load_ms = now;
	a->have_load = 1;
}

/*
 * One round of the device thread: the meter's values (every round), the
 * whole device (every 8th and until the serial is known), a separate
 * inverter's PV power (every 4th; its failure stops no metering).
 */
static void
take_sample(struct agentd *a, const struct devpoll_sample *s, int64_t now)
{
	a->polls++;
	if (s->ctl_done)
		actl_on_result(a, &s->ctl, now);
	if (s->st_done)
		abat_on_result(a, s->st_gen, &s->st, now);
	a->dev_has_meter = s->has_meter;
	a->dev_lacks_meter = s->lacks_meter;
	if (s->inv_polled) {
		if (s->inv_rc != PW_OK && a->has_pv)
			log_warnx("inverter %s: %s", devpoll_inv_url(a->dp),
			          pw_strerror(s->inv_rc));
		a->has_pv = s->inv_has_pv;
		a->pv_w = s->inv_pv_w;
	}
	if (s->rc != PW_OK) {
		poll_failed(a, s->rc, s->discovering);
		return;
	}
	if (s->full && a->cfg.meter_url[0] == '\0') {
		a->has_pv = s->rd.has_ac_power;
		a->pv_w = s->rd.ac_power_w;
	}
	{
		/* a SunSpec battery is read every poll (agent/device.c); a
		 * source that reads it in full polls only keeps it in between */
		struct storage_reading keep = a->rd.storage;
		a->rd = s->rd;
		if (a->rd.storage.present) {
			a->bat_read_ms = s->t_ms;
			a->bat_seen = 1;
		} else if (!s->full) {
			a->rd.storage = keep;
		}
	}
	if (a->rd.meter_serial[0] != '\0' &&
	    strncmp(a->dev_serial, a->rd.meter_serial, sizeof(a->dev_serial)) != 0) {
		snprintf(a->dev_serial, sizeof(a->dev_serial), "%s", a->rd.meter_serial);
		if (a->cfg.serial[0] != '\0' && strcmp(a->cfg.serial, a->dev_serial) != 0)
			log_warnx("meter %s reports serial %s; readings are signed with the "
			          "registered [household] serial %s",
			          devpoll_meter_url(a->dp), a->dev_serial, a->cfg.serial);
		else
			log_info("meter %s: serial %s", devpoll_meter_url(a->dp), a->dev_serial);
	}
	a->have_rd = 1;
	note_load(a, s, now);
	pv_energy(a, s->t_ms);
	bat_energy(a, s->t_ms);
	if (!a->dev_ok)
		log_info("device: reading");
	a->dev_ok = 1;
	a->dev_fault = AMETER_OK;
	a->dev_ok_ms = now; /* it answered just now */
	snprintf(a->dev_detail, sizeof(a->dev_detail), "%s", devpoll_meter_url(a->dp));
	/* only the registers make money; a meter asleep (not implemented, or a
	 * register back at zero while waking up: the last good value stays the
	 * base) gives no sample at all, nor one without its name */
	if (!a->rd.has_meter || !a->rd.has_export || !a->rd.has_import || a->rd.export_wh < 0 ||
	    a->rd.import_wh < 0 || (a->cfg.serial[0] == '\0' && a->dev_serial[0] == '\0'))
		return;
	if (a->mc.have_base && ((a->rd.export_wh == 0 && a->mc.base_exp_wh > 0) ||
	                        (a->rd.import_wh == 0 && a->mc.base_imp_wh > 0)))
		return;
	feed_sample(a, s->t_ms, (uint64_t)a->rd.export_wh, (uint64_t)a->rd.import_wh,
	            resolution_wh(&a->rd));
}

void
ameter_receive(struct agentd *a, int64_t now)
{
	struct devpoll_sample s[4];
	size_t n;

	if (a->dp == NULL)
		return;
	while ((n = devpoll_take(a->dp, s, sizeof(s) / sizeof(s[0]))) > 0)
		for (size_t k = 0; k < n; k++)
			take_sample(a, &s[k], now);
}

void
ameter_tick(struct agentd *a, int64_t now)
{
	flush_pending(a, now);
}

int
ameter_reachable(const struct agentd *a, int64_t now)
{
	return a->dev_ok_ms != 0 && now - a->dev_ok_ms <= 2 * a->cfg.poll_ms + a->cfg.timeout_ms;
}

int
ameter_has_meter(const struct agentd *a)
{
	return a->dev_has_meter;
}
