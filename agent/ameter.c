/*
 * ameter.c: the agent's metering (see agentd_int.h, docs/metering.md).
 * Owns opening the device sources ([device], and [meter] when the grid
 * meter is apart: agent/device.c), polling them (the meter's values each
 * poll and everything every 8th; a separate inverter every 4th poll for the
 * PV power), the plausibility check of register steps, and turning the
 * grid meter's registers into one signed METER reading per closed interval
 * (via ivacct), naming the meter actually read, and one forecast
 * observation.  Called by agentd.c (ameter_open, ameter_poll, ameter_close,
 * ameter_check for --check-config).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/timex.h>

#include "agent/agentd_int.h"
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
	forecast_observe(&a->fc, agentd_iv_tod(a, r->interval),
	                 r->export_end_wh - r->export_start_wh);
	a->have_fc_iv = 1;
	a->fc_last_iv = r->interval;
	/* the dashboard's energy chart: PV unknown (-1) unless integrated over
	 * this very interval; 0 where there is no inverter */
	int64_t pv_wh = !a->has_pv                     ? 0
	                : a->pv_prev_iv == r->interval ? (int64_t)(a->pv_prev_wh + 0.5)
	                                               : -1;
	if (aledger_add_energy(a->led, r->interval, pv_wh, r->import_end_wh - r->import_start_wh,
	                       r->export_end_wh - r->export_start_wh) == PW_OK)
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
		a->pv_acc_wh += a->pv_w * (double)(now - a->pv_last_ms) / 3600000.0;
	a->pv_last_ms = now;
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
			add_reading(a, &r[k], t);
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

/* discovering: the device answered discovery with exceptions or without
 * the SunSpec marker, which says "no SunSpec device at this unit", not
 * "unreachable". */
static void
poll_failed(struct agentd *a, const struct dev *d, pw_err rc, int discovering)
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
	snprintf(a->dev_detail, sizeof(a->dev_detail), "%s: %s", dev_url(d), pw_strerror(rc));
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
	pw_err rc = open_both(&a->cfg, &a->inv, &a->meter, err, errlen);
	if (rc == PW_OK)
		log_info("device %s (%s)%s%s%s", dev_url(a->inv), dev_source(a->inv),
		         a->meter != NULL ? "; grid meter " : "",
		         a->meter != NULL ? dev_url(a->meter) : "",
		         a->meter != NULL
		             ? (strcmp(dev_source(a->meter), "sunspec") == 0 ? " (sunspec)"
		                                                             : " (template)")
		             : "");
	return rc;
}

void
ameter_close(struct agentd *a)
{
	dev_destroy(&a->inv);
	dev_destroy(&a->meter);
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

/* The PV power from a separate inverter: its failure stops no metering. */
static void
poll_inverter(struct agentd *a)
{
	struct dev_reading r;
	pw_err rc = dev_poll(a->inv, DEV_WANT_ALL, &r);

	if (rc != PW_OK) {
		if (a->has_pv)
			log_warnx("inverter %s: %s", dev_url(a->inv), pw_strerror(rc));
		a->has_pv = 0;
		return;
	}
	a->has_pv = r.has_ac_power;
	a->pv_w = r.ac_power_w;
}

/*
 * The meter's values every poll (one request for a SunSpec meter model: a
 * device that fails one request in N still gives most samples); every 8th
 * poll, and until the meter's serial is known, everything it has.
 */
void
ameter_poll(struct agentd *a, int64_t now)
{
	struct dev *m = a->meter != NULL ? a->meter : a->inv;
	bool full, discovering;
	pw_err rc;

	flush_pending(a, now);

	a->polls++;
	if (a->meter != NULL && a->polls % 4 == 1)
		poll_inverter(a);
	full = a->polls % 8 == 1 || a->dev_serial[0] == '\0';
	/* a SunSpec source without its layout yet discovers in this poll */
	discovering = strcmp(dev_source(m), "sunspec") == 0 && dev_sunspec(m) == NULL;
	rc = dev_poll(m, full ? DEV_WANT_ALL : DEV_WANT_METER, &a->rd);
	if (rc != PW_OK) {
		poll_failed(a, m, rc, discovering);
		return;
	}
	if (full && a->meter == NULL) {
		a->has_pv = a->rd.has_ac_power;
		a->pv_w = a->rd.ac_power_w;
	}
	if (a->rd.meter_serial[0] != '\0' &&
	    strncmp(a->dev_serial, a->rd.meter_serial, sizeof(a->dev_serial)) != 0) {
		snprintf(a->dev_serial, sizeof(a->dev_serial), "%s", a->rd.meter_serial);
		if (a->cfg.serial[0] != '\0' && strcmp(a->cfg.serial, a->dev_serial) != 0)
			log_warnx("meter %s reports serial %s; readings are signed with the "
			          "registered [household] serial %s",
			          dev_url(m), a->dev_serial, a->cfg.serial);
		else
			log_info("meter %s: serial %s", dev_url(m), a->dev_serial);
	}
	a->have_rd = 1;
	pv_energy(a, now);
	if (!a->dev_ok)
		log_info("device: reading");
	a->dev_ok = 1;
	a->dev_fault = AMETER_OK;
	a->dev_ok_ms = now;
	snprintf(a->dev_detail, sizeof(a->dev_detail), "%s", dev_url(m));
	/* only the registers make money; a meter asleep (not implemented, or a
	 * register back at zero while waking up: the last good value stays the
	 * base) gives no sample at all, nor one without its name */
	if (!a->rd.has_meter || !a->rd.has_export || !a->rd.has_import || a->rd.export_wh < 0 ||
	    a->rd.import_wh < 0 || (a->cfg.serial[0] == '\0' && a->dev_serial[0] == '\0'))
		return;
	if (a->have_prev_sample && ((a->rd.export_wh == 0 && a->prev_exp_wh > 0) ||
	                            (a->rd.import_wh == 0 && a->prev_imp_wh > 0)))
		return;
	feed_sample(a, now, (uint64_t)a->rd.export_wh, (uint64_t)a->rd.import_wh);
}

int
ameter_reachable(const struct agentd *a, int64_t now)
{
	return a->dev_ok_ms != 0 && now - a->dev_ok_ms <= 2 * a->cfg.poll_ms + a->cfg.timeout_ms;
}

int
ameter_has_meter(const struct agentd *a)
{
	const struct dev *m = a->meter != NULL ? a->meter : a->inv;
	const struct tmpl *t;

	if (m == NULL)
		return 0;
	if ((t = dev_template(m)) != NULL)
		return (t->roles & TMPL_ROLE_METER) != 0;
	if (strcmp(dev_source(m), "sunspec") == 0)
		return dev_sunspec(m) != NULL && !dev_lacks_meter(m);
	return 1; /* another backend is a meter reader */
}
