/*
 * device.c: one source of readings behind a URL (see device.h).
 *
 * The Modbus backend serves both SunSpec (discovery, then the meter model
 * alone on DEV_WANT_METER polls so that a device failing one request in N
 * still gives most samples) and templates (DEV_WANT_METER reads the grid
 * values only).  The serial of the meter read is cached from the last full
 * poll so that every reading names it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/control.h"
#include "agent/device.h"
#include "agent/storage_ctl.h"
#include "agent/smdev.h"
#include "peerwatt/log.h"

/* URL-scheme backends beyond Modbus (see device.h, "Adding a backend"). */
static const struct dev_backend *const extra_backends[] = {
	&smdev_p1_backend,  /* p1:/dev/X[:BAUD], DSMR 4/5 (agent/smdev.c) */
	&smdev_sml_backend, /* sml:/dev/X[:BAUD], SML 1.04 */
	NULL,               /* keeps the table non-empty */
};

#define NEXTRA (sizeof(extra_backends) / sizeof(extra_backends[0]))

struct dev {
	char url[DEV_URL_MAX];
	char source[DEV_SOURCE_MAX + 1];
	int unit;
	/* Modbus */
	struct mlink *ml;
	struct sunspec_io sio;
	struct log_rate rate_chain; /* a bad model chain: one line per LOG_RATE_MS */
	struct tmpl_io tio;
	bool is_tmpl;
	struct tmpl t;
	bool have_layout, have_meter;
	bool have_storage;               /* the last full poll read a storage model */
	struct sunspec_dev sd, sd_meter; /* sd_meter: sd with only the meter model */
	char serial[33];
	char manufacturer[33], model[33], version[17];
	/* another backend */
	const struct dev_backend *be;
	void *state;
};

static const uint16_t meter_ids[] = { 201, 202, 203, 204, 211, 212, 213, 214 };

void
dev_cfg_defaults(struct dev_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->unit = -1;
	cfg->quiet_ms = -1;
}

static const struct dev_backend *
backend_for(const char *url)
{
	for (size_t i = 0; i < NEXTRA; i++)
		if (extra_backends[i] != NULL &&
		    strncmp(url, extra_backends[i]->scheme, strlen(extra_backends[i]->scheme)) == 0)
			return extra_backends[i];
	return NULL;
}

bool
dev_url_ok(const char *url)
{
	struct mlink_url u;
	return backend_for(url) != NULL || mlink_url_parse(url, &u) == PW_OK;
}

static bool
is_sunspec(const char *name)
{
	return name == NULL || name[0] == '\0' || strcmp(name, "sunspec") == 0;
}

pw_err
dev_open(const struct dev_cfg *cfg, struct dev **out, char *err, size_t errlen)
{
	struct dev *d;
	struct mlink_cfg mc;
	pw_err rc;

	*out = NULL;
	if (cfg->url == NULL || strlen(cfg->url) >= DEV_URL_MAX) {
		snprintf(err, errlen, "no device URL, or one longer than %d characters",
		         DEV_URL_MAX - 1);
		return PW_ERR_PARSE;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return PW_ERR_NOMEM;
	memcpy(d->url, cfg->url, strlen(cfg->url) + 1);
	if ((d->be = backend_for(cfg->url)) != NULL) {
		if (!is_sunspec(cfg->template_name)) {
			snprintf(err, errlen, "%s: a template applies to Modbus URLs only",
			         cfg->url);
			free(d);
			return PW_ERR_ARG;
		}
		snprintf(d->source, sizeof(d->source), "%s", d->be->name);
		if ((rc = d->be->open(cfg->url, cfg, &d->state, err, errlen)) != PW_OK) {
			free(d);
			return rc;
		}
		*out = d;
		return PW_OK;
	}
	mlink_cfg_defaults(&mc);
	if (!is_sunspec(cfg->template_name)) {
		char defpath[TMPL_PATH_MAX];
		const char *path = cfg->template_path != NULL && cfg->template_path[0] != '\0'
		                       ? cfg->template_path
		                       : tmpl_default_path(defpath, sizeof(defpath));
		if ((rc = tmpl_load(path, cfg->template_name, &d->t, err, errlen)) != PW_OK) {
			free(d);
			return rc;
		}
		d->is_tmpl = true;
		snprintf(d->source, sizeof(d->source), "%s", d->t.name);
		mc.unit = d->t.unit_id;
		if (d->t.timeout_ms > 0)
			mc.timeout_ms = d->t.timeout_ms;
		mc.quiet_ms = d->t.quiet_ms;
	} else {
		snprintf(d->source, sizeof(d->source), "sunspec");
	}
	if (cfg->unit >= 0)
		mc.unit = cfg->unit;
	if (cfg->timeout_ms > 0)
		mc.timeout_ms = cfg->timeout_ms;
	if (cfg->quiet_ms >= 0)
		mc.quiet_ms = (uint32_t)cfg->quiet_ms;
	if (cfg->backoff_base_ms > 0)
		mc.backoff_base_ms = cfg->backoff_base_ms;
	if (cfg->backoff_cap_ms > 0)
		mc.backoff_cap_ms = cfg->backoff_cap_ms;
	if (mc.backoff_base_ms > mc.backoff_cap_ms)
		mc.backoff_base_ms = mc.backoff_cap_ms;
	d->unit = mc.unit;
	if ((rc = mlink_new(cfg->url, &mc, NULL, &d->ml)) != PW_OK) {
		snprintf(err, errlen, "%s: %s", cfg->url,
		         rc == PW_ERR_RANGE ? "unit id or timeout out of range for this transport"
		                            : "not a device URL (tcp://HOST:PORT, "
		                              "rtu:/dev/X:BAUD:8N1)");
		free(d);
		return rc;
	}
	d->sio.read = mlink_read_cb;
	d->sio.arg = d->ml;
	d->sio.rate = &d->rate_chain;
	d->tio.read = mlink_read_ex_cb;
	d->tio.arg = d->ml;
	*out = d;
	return PW_OK;
}

void
dev_destroy(struct dev **dp)
{
	if (dp == NULL || *dp == NULL)
		return;
	if ((*dp)->be != NULL && (*dp)->be->close != NULL)
		(*dp)->be->close((*dp)->state);
	mlink_destroy(&(*dp)->ml);
	free(*dp);
	*dp = NULL;
}

void
dev_interrupt(struct dev *d)
{
	/* other backends never block: their polls drain what came */
	if (d != NULL && d->ml != NULL)
		mlink_interrupt(d->ml);
}

const char *
dev_source(const struct dev *d)
{
	return d->source;
}

const char *
dev_url(const struct dev *d)
{
	return d->url;
}

int
dev_unit(const struct dev *d)
{
	return d->unit;
}

const struct mlink_stats *
dev_link_stats(const struct dev *d)
{
	return d->ml != NULL ? mlink_stats(d->ml) : NULL;
}

const struct sunspec_dev *
dev_sunspec(const struct dev *d)
{
	return d->ml != NULL && !d->is_tmpl && d->have_layout ? &d->sd : NULL;
}

bool
dev_lacks_meter(const struct dev *d)
{
	return d != NULL && d->ml != NULL && !d->is_tmpl && d->have_layout && !d->have_meter;
}

const struct tmpl *
dev_template(const struct dev *d)
{
	return d->is_tmpl ? &d->t : NULL;
}

/* --- SunSpec ------------------------------------------------------------------------- */

static void
from_sunspec(struct dev *d, const struct sunspec_reading *s, struct dev_reading *r)
{
	if (s->has_common) {
		memcpy(d->manufacturer, s->manufacturer, sizeof(d->manufacturer));
		memcpy(d->model, s->model, sizeof(d->model));
		memcpy(d->version, s->version, sizeof(d->version));
		memcpy(d->serial, s->serial, sizeof(d->serial));
	}
	r->has_common = s->has_common;
	memcpy(r->manufacturer, s->manufacturer, sizeof(r->manufacturer));
	memcpy(r->model, s->model, sizeof(r->model));
	memcpy(r->version, s->version, sizeof(r->version));
	memcpy(r->serial, s->serial, sizeof(r->serial));
	r->has_inverter = s->has_inverter;
	r->inverter_model = s->inverter_model;
	r->has_ac_power = s->has_ac_power;
	r->ac_power_w = s->ac_power_w;
	r->has_ac_energy = s->has_ac_energy;
	r->ac_energy_wh = s->ac_energy_wh;
	r->has_status = s->has_status;
	r->status = s->status;
	r->status_name = s->status_name;
	r->has_meter = s->has_meter;
	r->meter_model = s->meter_model;
	r->has_meter_power = s->has_meter_power;
	r->meter_power_w = s->meter_power_w;
	r->has_export = s->has_export;
	r->has_import = s->has_import;
	r->export_wh = s->export_wh;
	r->import_wh = s->import_wh;
	r->export_raw = s->export_raw;
	r->import_raw = s->import_raw;
	r->export_sf = s->export_sf;
	r->import_sf = s->import_sf;
	r->export_bits = r->import_bits = s->acc_bits;
	/* the SunSpec device's serial names its meter model (the same box) */
	if (r->has_meter)
		memcpy(r->meter_serial, d->serial, sizeof(r->meter_serial));
}

static pw_err
poll_sunspec(struct dev *d, unsigned want, struct dev_reading *r)
{
	struct sunspec_reading s;
	pw_err rc, last = PW_OK;
	bool meter_only;

	if (!d->have_layout) {
		const struct sunspec_model_ref *m;
		/* a walk a transport error ended resumes where it stopped: a
		 * device failing one request in N still gets discovered */
		if (d->sd.walk_next != 0)
			rc = sunspec_walk_resume(&d->sio, &d->sd);
		else
			rc = sunspec_discover(&d->sio, &d->sd, &last);
		if (rc != PW_OK) {
			if (!(rc == PW_ERR_TIMEOUT || rc == PW_ERR_MODBUS ||
			      rc == PW_ERR_UNAVAILABLE || rc == PW_ERR_MODBUS_EXC))
				d->sd.walk_next = 0; /* anything else: from the marker again */
			return rc == PW_ERR_NOT_SUNSPEC && last != PW_OK ? last : rc;
		}
		d->have_layout = true;
		m = sunspec_dev_find(&d->sd, meter_ids, sizeof(meter_ids) / sizeof(meter_ids[0]));
		d->have_meter = m != NULL;
		if (m != NULL) {
			d->sd_meter = d->sd;
			d->sd_meter.nmodels = 1;
			d->sd_meter.models[0] = *m;
		}
		log_info("device %s: SunSpec at base %u, %d models%s", d->url, d->sd.base,
		         d->sd.nmodels, d->have_meter ? "" : ", no meter model");
	}
	/* the meter model alone needs the serial from an earlier full poll */
	meter_only = want == DEV_WANT_METER && d->have_meter && d->serial[0] != '\0';
	rc = sunspec_poll(&d->sio, meter_only ? &d->sd_meter : &d->sd, &s);
	if (rc != PW_OK) {
		if (rc == PW_ERR_STATE || rc == PW_ERR_CORRUPT || rc == PW_ERR_NOTFOUND) {
			d->have_layout = false; /* the layout moved: discover again */
			d->sd.walk_next = 0;
		}
		return rc;
	}
	from_sunspec(d, &s, r);
	/* a battery is read every poll, the meter-only ones too: its power is
	 * integrated into the interval's charged and discharged energy
	 * (agent/ameter.c), which a value 8 polls old would get wrong for a
	 * setpoint that changed meanwhile */
	if ((!meter_only || d->have_storage) &&
	    (rc = storage_poll(&d->sio, &d->sd, &r->storage)) != PW_OK) {
		if (rc == PW_ERR_STATE || rc == PW_ERR_CORRUPT || rc == PW_ERR_NOTFOUND)
			d->have_layout = false;
		return rc;
	}
	if (!meter_only)
		d->have_storage = r->storage.present;
	return PW_OK;
}

/* --- templates ------------------------------------------------------------------------- */

#define METER_MASK                                                                                 \
	((1u << TMPL_V_GRID_POWER) | (1u << TMPL_V_GRID_POWER_IMPORT) |                            \
	 (1u << TMPL_V_GRID_POWER_EXPORT) | (1u << TMPL_V_EXPORT_ENERGY) |                         \
	 (1u << TMPL_V_IMPORT_ENERGY))

static bool
limit_ok(const struct tmpl_reading *t, int vi, double *out)
{
	if (!t->has[vi] || !(t->num[vi] >= 0 && t->num[vi] <= STORAGE_POWER_MAX_W))
		return false;
	*out = t->num[vi];
	return true;
}

/* A template's battery values, with the bounds of the SunSpec path. */
static void
from_template_battery(const struct tmpl_reading *t, struct storage_reading *st)
{
	double soc = t->num[TMPL_V_BATTERY_SOC], p = t->num[TMPL_V_BATTERY_POWER];

	memset(st, 0, sizeof(*st));
	st->has_soc = t->has[TMPL_V_BATTERY_SOC] && soc >= 0 && soc <= 100;
	st->soc_pct = st->has_soc ? soc : 0;
	st->has_power = t->has[TMPL_V_BATTERY_POWER] && fabs(p) <= STORAGE_POWER_MAX_W;
	st->power_w = st->has_power ? p : 0;
	st->has_capacity = t->has[TMPL_V_BATTERY_CAPACITY] &&
	                   t->num[TMPL_V_BATTERY_CAPACITY] >= 1 &&
	                   t->num[TMPL_V_BATTERY_CAPACITY] <= STORAGE_CAPACITY_MAX_WH;
	/* a nameplate value: the nearest Wh (13.5 kWh at 10^-1 is 13499.999... in binary) */
	st->capacity_wh = st->has_capacity ? (int64_t)llround(t->num[TMPL_V_BATTERY_CAPACITY]) : 0;
	st->has_max_charge = limit_ok(t, TMPL_V_BATTERY_MAX_CHARGE, &st->max_charge_w);
	st->has_max_discharge = limit_ok(t, TMPL_V_BATTERY_MAX_DISCHARGE, &st->max_discharge_w);
	st->has_soh = t->has[TMPL_V_BATTERY_SOH] && t->num[TMPL_V_BATTERY_SOH] >= 0 &&
	              t->num[TMPL_V_BATTERY_SOH] <= 100;
	st->soh_pct = st->has_soh ? t->num[TMPL_V_BATTERY_SOH] : 0;
	st->present = false;
	for (int i = TMPL_V_BATTERY_SOC; i <= TMPL_V_BATTERY_SOH; i++)
		st->present = st->present || t->has[i];
}

static pw_err
poll_template(struct dev *d, unsigned want, struct dev_reading *r)
{
	struct tmpl_reading t;
	uint32_t mask = 0xFFFFFFFFu;
	pw_err rc;

	if (want == DEV_WANT_METER && d->serial[0] != '\0')
		mask = METER_MASK;
	if ((rc = tmpl_poll(&d->t, &d->tio, mask, &t)) != PW_OK)
		return rc;
	/* a device that answers none of the template's registers is not this device */
	{
		bool any = false;
		for (int i = 0; i < TMPL_V__COUNT; i++)
			any = any || t.has[i];
		if (!any)
			return PW_ERR_NOTFOUND;
	}
	if (t.has[TMPL_V_SERIAL])
		memcpy(d->serial, t.serial, sizeof(d->serial));
	r->has_common = d->serial[0] != '\0' || d->t.manufacturer[0] != '\0';
	snprintf(r->manufacturer, sizeof(r->manufacturer), "%s", d->t.manufacturer);
	snprintf(r->model, sizeof(r->model), "%s", d->t.model);
	memcpy(r->serial, d->serial, sizeof(r->serial));
	if ((d->t.roles & TMPL_ROLE_INVERTER) && mask != METER_MASK) {
		r->has_inverter = true;
		r->has_ac_power = t.has[TMPL_V_PV_POWER];
		r->ac_power_w = t.num[TMPL_V_PV_POWER];
		r->has_ac_energy = t.has[TMPL_V_AC_ENERGY];
		r->ac_energy_wh = t.wh[TMPL_V_AC_ENERGY];
	}
	if (d->t.roles & TMPL_ROLE_METER) {
		r->has_meter = true;
		r->has_meter_power = t.has[TMPL_V_GRID_POWER];
		r->meter_power_w = t.num[TMPL_V_GRID_POWER];
		r->has_export = t.has[TMPL_V_EXPORT_ENERGY];
		r->export_wh = t.wh[TMPL_V_EXPORT_ENERGY];
		r->export_raw = t.raw[TMPL_V_EXPORT_ENERGY];
		r->export_sf = t.sf[TMPL_V_EXPORT_ENERGY];
		r->export_bits = t.bits[TMPL_V_EXPORT_ENERGY];
		r->has_import = t.has[TMPL_V_IMPORT_ENERGY];
		r->import_wh = t.wh[TMPL_V_IMPORT_ENERGY];
		r->import_raw = t.raw[TMPL_V_IMPORT_ENERGY];
		r->import_sf = t.sf[TMPL_V_IMPORT_ENERGY];
		r->import_bits = t.bits[TMPL_V_IMPORT_ENERGY];
		memcpy(r->meter_serial, d->serial, sizeof(r->meter_serial));
	}
	from_template_battery(&t, &r->storage);
	return PW_OK;
}

pw_err
dev_poll(struct dev *d, unsigned want, struct dev_reading *r)
{
	pw_err rc;

	memset(r, 0, sizeof(*r));
	memcpy(r->source, d->source, sizeof(r->source));
	if (d->be != NULL)
		rc = d->be->poll(d->state, want, r);
	else if (d->is_tmpl)
		rc = poll_template(d, want, r);
	else
		rc = poll_sunspec(d, want, r);
	if (rc != PW_OK) {
		memset(r, 0, sizeof(*r));
		memcpy(r->source, d->source, sizeof(r->source));
	}
	return rc;
}

/* --- controls (docs/agent-energy.md "Curtailment") ----------------------------------------- */

pw_err
dev_control(struct dev *d, const struct ctl_cmd *cmd, struct ctl_result *res)
{
	struct ctl_io io;

	if (d->ml == NULL || d->is_tmpl || d->be != NULL) {
		memset(res, 0, sizeof(*res));
		res->gen = cmd->gen;
		res->limit = cmd->limit;
		snprintf(res->detail, sizeof(res->detail),
		         "the %s source has no export controls (SunSpec models 123 and 704 only)",
		         d->source);
		return res->rc = PW_ERR_NOT_IMPL;
	}
	if (!d->have_layout) {
		memset(res, 0, sizeof(*res));
		res->gen = cmd->gen;
		res->limit = cmd->limit;
		snprintf(res->detail, sizeof(res->detail), "the SunSpec layout is not known yet");
		return res->rc = PW_ERR_STATE;
	}
	io.read = mlink_read_cb;
	io.write = mlink_write_cb;
	io.arg = d->ml;
	return ctl_sunspec_apply(&io, &d->sd, cmd, res);
}

pw_err
dev_storage_control(struct dev *d, const struct stctl_cfg *cfg, const struct stctl_cmd *cmd,
                    struct stctl_result *res)
{
	struct ctl_io io = { mlink_read_cb, mlink_write_cb, d->ml };

	memset(res, 0, sizeof(*res));
	res->asked = res->planned = cmd->mode;
	if (d->ml == NULL || d->is_tmpl || d->be != NULL) {
		snprintf(res->detail, sizeof(res->detail),
		         "the %s source has no storage controls (SunSpec model 124 only)",
		         d->source);
		return res->rc = PW_ERR_NOT_IMPL;
	}
	if (!d->have_layout) {
		snprintf(res->detail, sizeof(res->detail), "the SunSpec layout is not known yet");
		return res->rc = PW_ERR_STATE;
	}
	return stctl_apply(&io, &d->sd, cfg, cmd, res);
}

pw_err
dev_control_state(struct dev *d, struct ctl_state *st)
{
	struct ctl_io io = { mlink_read_cb, mlink_write_cb, d->ml };

	if (d->ml == NULL || d->is_tmpl || d->be != NULL || !d->have_layout)
		return PW_ERR_NOT_IMPL;
	return ctl_sunspec_read(&io, &d->sd, st);
}

/* --- scan ----------------------------------------------------------------------------- */

int
dev_scan(const char *url, const char *path, int unit, uint32_t timeout_ms,
         struct dev_scan_hit *hits, size_t max)
{
	char names[TMPL_LIST_MAX][TMPL_NAME_MAX + 1];
	struct mlink_cfg mc;
	struct mlink *ml;
	struct sunspec_io sio;
	struct tmpl_io tio;
	struct sunspec_dev sd;
	size_t n = 0, nt;
	pw_err rc, last = PW_OK;

	mlink_cfg_defaults(&mc);
	mc.unit = unit >= 0 ? unit : 1;
	if (timeout_ms > 0)
		mc.timeout_ms = timeout_ms;
	/* a scan tries many registers: retry a dropped link at once, not after 1 s */
	mc.backoff_base_ms = 1;
	mc.backoff_cap_ms = 1;
	if (mlink_new(url, &mc, NULL, &ml) != PW_OK)
		return -1;
	sio.read = mlink_read_cb;
	sio.arg = ml;
	sio.rate = NULL; /* a scan: every warning */
	tio.read = mlink_read_ex_cb;
	tio.arg = ml;
	if (max == 0) {
		mlink_destroy(&ml);
		return 0;
	}
	rc = sunspec_discover(&sio, &sd, &last);
	memset(&hits[n], 0, sizeof(hits[n]));
	snprintf(hits[n].name, sizeof(hits[n].name), "sunspec");
	hits[n].rc = rc == PW_ERR_NOT_SUNSPEC && last != PW_OK ? last : rc;
	hits[n].strong = rc == PW_OK;
	hits[n].unit = mc.unit;
	n++;
	nt = tmpl_list(path, names, TMPL_LIST_MAX);
	for (size_t i = 0; i < nt && n < max; i++) {
		struct tmpl t;
		char err[256];
		int u;
		memset(&hits[n], 0, sizeof(hits[n]));
		memcpy(hits[n].name, names[i], strnlen(names[i], TMPL_NAME_MAX));
		if ((rc = tmpl_load(path, names[i], &t, err, sizeof(err))) != PW_OK) {
			log_warnx("%s", err);
			hits[n].rc = rc;
			n++;
			continue;
		}
		/* the template's unit id unless one was given (a gateway's ids differ) */
		u = unit >= 0 ? unit : t.unit_id;
		if (t.ident.v.unit_id < 0)
			t.ident.v.unit_id = u;
		hits[n].unit = t.ident.v.unit_id;
		rc = tmpl_identify(&t, &tio);
		hits[n].rc = rc;
		hits[n].strong = rc == PW_OK && (t.ident.nequals > 0 || t.ident.prefix[0] != '\0');
		n++;
	}
	mlink_destroy(&ml);
	return (int)n;
}
