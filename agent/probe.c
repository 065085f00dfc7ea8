/*
 * probe.c: the probe subcommand (see probe.h).
 *
 *   peerwatt-agent probe [--json] [--template NAME] [--template-dir PATH]
 *        [--unit N] [--timeout MS] [--quiet-time MS]
 *        [--count N --interval MS] [--rated-power W] URL | --modbus URL
 *   peerwatt-agent probe --scan [--json] [--unit N] URL
 *
 * One read prints one JSON object (--json) or a table: what the agent would
 * see through the same device module (agent/device.c), with "template"
 * naming the source ("sunspec", a template, or another backend's name).
 * With --count N the device is polled N times, one JSON line per poll
 * ({"error":...} when a poll fails: nothing is printed that was not read),
 * then a summary line with the link's counters; it is how the integration
 * tests watch the reader ride through the simulator's faults.  The summary
 * also gives the energy the agent's accounting (energy.c) made of the
 * registers over the run, with --rated-power W as its plausibility bound.
 * --scan tries SunSpec discovery, then each template's identification
 * register, and says which matched.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "agent/control.h"
#include "agent/device.h"
#include "agent/energy.h"
#include "agent/probe.h"
#include "agent/smeter.h"
#include "agent/smprobe.h"
#include "agent/storage_ctl.h"
#include "peerwatt/cli.h"
#include "peerwatt/log.h"

#define PROG           "peerwatt-agent probe"
#define EX_UNAVAILABLE 69

struct probe_opts {
	const char *url;
	const char *tmpl;
	const char *tmpl_dir;
	long unit;
	bool json, scan;
	long timeout_ms, quiet_ms, count, interval_ms, rated_power_w;
	/* --battery-set: a setpoint through model 124 instead of printing the reading */
	const char *battery_set;
	long revert_s, reserve_pct;
	bool grid_charge;
};

static void
usage(FILE *f)
{
	fprintf(
	    f, "usage: peerwatt-agent probe [--json] [--template NAME] [--template-dir PATH]\n"
	       "                            [--unit N] [--timeout MS] [--quiet-time MS]\n"
	       "                            [--count N] [--interval MS] [--rated-power W]\n"
	       "                            URL | --modbus URL\n"
	       "       peerwatt-agent probe --battery-set auto|hold|protect|charge:W|discharge:W\n"
	       "                            [--revert S] [--reserve PCT] [--grid-charge] [--json]\n"
	       "                            [--unit N] URL\n"
	       "       peerwatt-agent probe --scan [--json] [--unit N] [--template-dir PATH] "
	       "URL\n"
	       "       peerwatt-agent probe [--json] [--template sml|p1] [--count N] [--wait MS]\n"
	       "                            [--stall MS] sml:/dev/X[:BAUD] | p1:/dev/X[:BAUD]\n"
	       "URL: tcp://HOST:PORT or rtu:/dev/X:BAUD:8N1\n");
}

static bool
parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static json_t *
jreal_or_null(bool has, double v)
{
	return has ? json_real(v) : json_null();
}

static json_t *
jint_or_null(bool has, int64_t v)
{
	return has ? json_integer((json_int_t)v) : json_null();
}

static json_t *
jstr_or_null(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

static json_t *
status_json(const struct dev_reading *r)
{
	char buf[16];

	if (!r->has_status)
		return json_null();
	if (r->status_name != NULL)
		return json_string(r->status_name);
	snprintf(buf, sizeof(buf), "%u", r->status);
	return json_string(buf);
}

static json_t *
jmodel(uint16_t id)
{
	return id != 0 ? json_integer(id) : json_null();
}

static json_t *
storage_json(const struct storage_reading *st)
{
	json_t *o =
	    json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "model", jmodel(st->model),
	              "soc_pct", jreal_or_null(st->has_soc, st->soc_pct), "capacity_wh",
	              jint_or_null(st->has_capacity, st->capacity_wh), "power_w",
	              jreal_or_null(st->has_power, st->power_w), "max_charge_w",
	              jreal_or_null(st->has_max_charge, st->max_charge_w), "max_discharge_w",
	              jreal_or_null(st->has_max_discharge, st->max_discharge_w), "soh_pct",
	              jreal_or_null(st->has_soh, st->soh_pct), "reserve_pct",
	              jreal_or_null(st->has_reserve, st->reserve_pct), "charge_status",
	              st->has_charge_status ? json_string(st->charge_status_name) : json_null());

	if (st->has_controls)
		json_object_set_new(
		    o, "controls",
		    json_pack("{s:i,s:o,s:o,s:o}", "mode", (int)st->ctl_mode, "in_rate_pct",
		              jreal_or_null(st->has_in_rate, st->in_rate_pct), "out_rate_pct",
		              jreal_or_null(st->has_out_rate, st->out_rate_pct), "revert_s",
		              jint_or_null(st->has_revert, st->revert_s)));
	return o;
}

static json_t *
reading_json(const struct dev *d, const struct dev_reading *r)
{
	const struct sunspec_dev *sd = dev_sunspec(d);
	json_t *o = json_object();

	json_object_set_new(o, "template", json_string(r->source));
	if (sd != NULL) {
		json_t *models = json_array();
		json_object_set_new(o, "base", json_integer(sd->base));
		for (int i = 0; i < sd->nmodels; i++)
			json_array_append_new(models,
			                      json_pack("{s:i,s:I,s:i}", "id", sd->models[i].id,
			                                "addr", (json_int_t)sd->models[i].addr,
			                                "len", sd->models[i].len));
		json_object_set_new(o, "models", models);
	}
	if (dev_link_stats(d) != NULL)
		json_object_set_new(o, "unit", json_integer(dev_unit(d)));
	if (r->has_common)
		json_object_set_new(
		    o, "common",
		    json_pack("{s:o,s:o,s:o,s:o}", "manufacturer", jstr_or_null(r->manufacturer),
		              "model", jstr_or_null(r->model), "version", jstr_or_null(r->version),
		              "serial", jstr_or_null(r->serial)));
	if (r->has_inverter)
		json_object_set_new(
		    o, "inverter",
		    json_pack("{s:o,s:o,s:o,s:o}", "model", jmodel(r->inverter_model), "ac_power_w",
		              jreal_or_null(r->has_ac_power, r->ac_power_w), "ac_energy_wh",
		              jint_or_null(r->has_ac_energy, r->ac_energy_wh), "status",
		              status_json(r)));
	if (r->has_meter)
		json_object_set_new(
		    o, "meter",
		    json_pack("{s:o,s:o,s:o,s:o,s:o}", "model", jmodel(r->meter_model), "power_w",
		              jreal_or_null(r->has_meter_power, r->meter_power_w), "export_wh",
		              jint_or_null(r->has_export, r->export_wh), "import_wh",
		              jint_or_null(r->has_import, r->import_wh), "serial",
		              jstr_or_null(r->meter_serial)));
	if (r->storage.present)
		json_object_set_new(o, "storage", storage_json(&r->storage));
	return o;
}

/* The export limit (SunSpec model 123, else 704) as the device holds it;
 * NULL without. */
static json_t *
controls_json(struct dev *d)
{
	struct ctl_state st;

	if (dev_control_state(d, &st) != PW_OK)
		return NULL;
	return json_pack("{s:i,s:b,s:i,s:i,s:i,s:o,s:o}", "model", st.model, "limit_enabled",
	                 st.ena, "limit_pct_raw", st.pct_raw, "limit_pct_sf", st.pct_sf, "revert_s",
	                 st.revert_s, "revert_left_s",
	                 st.has_revert_left ? json_integer((json_int_t)st.revert_left_s)
	                                    : json_null(),
	                 "wmax_w", st.has_wmax ? json_integer((json_int_t)st.wmax_w) : json_null());
}

static void
print_json(json_t *o, bool compact)
{
	char *s = json_dumps(o, compact ? JSON_COMPACT : JSON_INDENT(2));
	if (s != NULL) {
		printf("%s\n", s);
		free(s);
	}
	fflush(stdout);
}

static const char *
fmt_real(char *buf, size_t n, bool has, double v, const char *unit)
{
	if (!has)
		snprintf(buf, n, "n/a");
	else
		snprintf(buf, n, "%.1f %s", v, unit);
	return buf;
}

static const char *
fmt_int(char *buf, size_t n, bool has, int64_t v, const char *unit)
{
	if (!has)
		snprintf(buf, n, "n/a");
	else
		snprintf(buf, n, "%lld %s", (long long)v, unit);
	return buf;
}

static const char *
or_na(const char *s)
{
	return s[0] ? s : "n/a";
}

/* The controls line of a single read: whether [device] control = on can
 * limit this device's export, and the limit it holds. */
static void
print_controls(struct dev *d)
{
	struct ctl_state st;
	double pct;

	if (dev_sunspec(d) == NULL) {
		printf(
		    "controls    export limit: none (register-map templates write no controls)\n");
		return;
	}
	if (dev_control_state(d, &st) != PW_OK) {
		printf(
		    "controls    export limit: none (no SunSpec model 123 or 704): [device] control"
		    " = on cannot limit this device\n");
		return;
	}
	if (!st.ena) {
		printf("controls    export limit: model %u, not limited", st.model);
		if (st.has_wmax)
			printf(" (WMax %lld W)", (long long)st.wmax_w);
		printf("\n");
		return;
	}
	pct = st.pct_raw;
	for (int k = st.pct_sf; k > 0; k--)
		pct *= 10;
	for (int k = st.pct_sf; k < 0; k++)
		pct /= 10;
	printf("controls    export limit: model %u, limited to %.2f %%", st.model, pct);
	if (st.has_wmax)
		printf(" of WMax %lld W (%.0f W)", (long long)st.wmax_w,
		       (double)st.wmax_w * pct / 100.0);
	if (st.has_revert_left)
		printf(", lifted by the device in %u s", st.revert_left_s);
	else if (st.revert_s > 0)
		printf(", revert timeout %u s", st.revert_s);
	printf("\n");
}

static void
print_table(const struct dev *d, const struct dev_reading *r)
{
	const struct sunspec_dev *sd = dev_sunspec(d);
	char a[48], b[48], c[48];

	if (sd != NULL) {
		printf("device      %s unit %d, SunSpec base %u\n", dev_url(d), dev_unit(d),
		       sd->base);
		printf("models     ");
		for (int i = 0; i < sd->nmodels; i++)
			printf(" %u@%u(len %u)", sd->models[i].id, sd->models[i].addr,
			       sd->models[i].len);
		printf("\n");
	} else {
		printf("device      %s unit %d, template %s\n", dev_url(d), dev_unit(d), r->source);
	}
	if (r->has_common)
		printf("common      manufacturer %s, model %s, version %s, serial %s\n",
		       or_na(r->manufacturer), or_na(r->model), or_na(r->version),
		       or_na(r->serial));
	if (r->has_inverter) {
		char st[16];
		if (r->has_status && r->status_name == NULL)
			snprintf(st, sizeof(st), "%u", r->status);
		snprintf(c, sizeof(c), "model %u", r->inverter_model);
		printf("inverter    %s: AC power %s, energy %s, status %s\n",
		       r->inverter_model != 0 ? c : r->source,
		       fmt_real(a, sizeof(a), r->has_ac_power, r->ac_power_w, "W"),
		       fmt_int(b, sizeof(b), r->has_ac_energy, r->ac_energy_wh, "Wh"),
		       !r->has_status   ? "n/a"
		       : r->status_name ? r->status_name
		                        : st);
	}
	if (r->has_meter) {
		char m[48];
		snprintf(m, sizeof(m), "model %u", r->meter_model);
		printf("meter       %s: power %s, export %s, import %s, serial %s\n",
		       r->meter_model != 0 ? m : r->source,
		       fmt_real(a, sizeof(a), r->has_meter_power, r->meter_power_w, "W"),
		       fmt_int(b, sizeof(b), r->has_export, r->export_wh, "Wh"),
		       fmt_int(c, sizeof(c), r->has_import, r->import_wh, "Wh"),
		       or_na(r->meter_serial));
	}
	if (r->storage.present) {
		const struct storage_reading *st = &r->storage;
		char m[48], e[48], f[48];
		snprintf(m, sizeof(m), "model %u", st->model);
		printf("storage     %s: state of charge %s, capacity %s, power %s, max charge %s, "
		       "max discharge %s\n",
		       st->model != 0 ? m : r->source,
		       fmt_real(a, sizeof(a), st->has_soc, st->soc_pct, "%"),
		       fmt_int(b, sizeof(b), st->has_capacity, st->capacity_wh, "Wh"),
		       fmt_real(c, sizeof(c), st->has_power, st->power_w, "W"),
		       fmt_real(e, sizeof(e), st->has_max_charge, st->max_charge_w, "W"),
		       fmt_real(f, sizeof(f), st->has_max_discharge, st->max_discharge_w, "W"));
	}
	fflush(stdout);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
account(struct energy *e, const struct dev_reading *r)
{
	struct energy_sample s;

	memset(&s, 0, sizeof(s));
	s.t_ms = mono_ms();
	s.has_power = r->has_meter_power;
	s.power_w = r->meter_power_w;
	s.exp.has = r->has_export;
	s.exp.raw = r->export_raw;
	s.exp.sf = r->export_sf;
	s.exp.bits = r->export_bits;
	s.imp.has = r->has_import;
	s.imp.raw = r->import_raw;
	s.imp.sf = r->import_sf;
	s.imp.bits = r->import_bits;
	(void)energy_sample(e, &s); /* a rejected step is logged and counted in e */
}

static const char *
sign_name(enum energy_sign s)
{
	return s == ENERGY_SIGN_IMPORT_POSITIVE   ? "import_positive"
	       : s == ENERGY_SIGN_EXPORT_POSITIVE ? "export_positive"
	                                          : "unknown";
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * The next step after a failed discovery, by cause: where the installer
 * should look (address and port, unit id, the device's settings).
 */
static const char *
discovery_hint(const struct probe_opts *o, pw_err cause)
{
	bool rtu = strncmp(o->url, "rtu:", 4) == 0;

	switch (cause) {
	case PW_ERR_UNAVAILABLE:
		return rtu ? "cannot open the serial port: check the device path, that no other "
		             "program holds it and that this user is in group dialout"
		           : "nothing accepts connections there: check the device's address and "
		             "its Modbus TCP port (502 on most devices, some use 1502 or 6607) and "
		             "that Modbus TCP is enabled in its settings";
	case PW_ERR_TIMEOUT:
		return rtu ? "no answer: check the wiring (A/B), the baud rate and framing "
		             "(BAUD:8N1), and the unit id (--unit, 1..247, as set on the device)"
		           : "connected, but no answer in time: check the unit id (--unit: 1 on "
		             "most devices, 126 on SMA, 255 addresses a TCP device directly), or "
		             "give the device more time with --timeout MS";
	case PW_ERR_MODBUS_EXC:
		return "the device refused the request (a Modbus exception): most often a wrong "
		       "unit id; try --unit 1, 126 or 255, or the id set in the device's Modbus "
		       "settings";
	case PW_ERR_NOT_SUNSPEC:
		return "the device answers but has no SunSpec map at this unit id: try another "
		       "--unit (a meter behind an inverter often has its own id) or enable "
		       "SunSpec in the device's settings";
	default:
		return "check the address, the port and the unit id against the device's Modbus "
		       "settings (docs/metering.md)";
	}
}

/* Explain a failed read in words an installer can act on. */
static void
report_failure(const struct probe_opts *o, const struct dev *d, pw_err rc)
{
	if (strcmp(dev_source(d), "sunspec") == 0) {
		const char *why = rc == PW_ERR_UNAVAILABLE   ? "cannot connect"
		                  : rc == PW_ERR_NOT_SUNSPEC ? "no \"SunS\" marker"
		                                             : pw_strerror(rc);
		fprintf(stderr,
		        "peerwatt-agent probe: no SunSpec device at %s unit %d: tried bases 40000, "
		        "0, 50000: %s\nnext step: %s\n",
		        o->url, dev_unit(d), why, discovery_hint(o, rc));
	} else if (rc == PW_ERR_NOTFOUND) {
		fprintf(stderr,
		        "peerwatt-agent probe: no %s device at %s unit %d: it answers none of the "
		        "template's registers\nnext step: check the unit id (--unit) and the "
		        "template (probe --scan %s tries them all)\n",
		        dev_source(d), o->url, dev_unit(d), o->url);
	} else {
		fprintf(stderr,
		        "peerwatt-agent probe: no %s device at %s unit %d: %s\nnext step: %s\n",
		        dev_source(d), o->url, dev_unit(d),
		        rc == PW_ERR_UNAVAILABLE ? "cannot connect" : pw_strerror(rc),
		        discovery_hint(o, rc));
	}
}

/* The URL error, with the fix when it is only the port that is missing. */
static int
url_error(const char *url, pw_err rc)
{
	const char *host = url + 6;
	size_t n, hl;
	bool no_port;

	if (rc == PW_ERR_RANGE)
		return pw_cli_usage_error(PROG, "%s: unit id out of range for this transport", url);
	if (strncmp(url, "tcp://", 6) == 0 && (n = strnlen(host, 256)) > 0 && n < 256 &&
	    strchr(host, '/') == NULL) {
		hl = n;
		no_port = strchr(host, ':') == NULL || host[n - 1] == ']';
		if (host[n - 1] == ':') {
			no_port = true;
			hl = n - 1;
		}
		if (no_port)
			return pw_cli_usage_error(PROG,
			                          "%s: no port: Modbus TCP needs one, e.g. "
			                          "tcp://%.*s:502 (502 on most devices)",
			                          url, (int)hl, host);
	}
	return pw_cli_usage_error(
	    PROG, "%s: not a Modbus URL (tcp://HOST:PORT or rtu:/dev/X:BAUD:8N1)", url);
}

static void
print_summary(const struct probe_opts *o, const struct dev *d, struct energy *en, long ok,
              long errors)
{
	static const struct mlink_stats none;
	const struct mlink_stats *st = dev_link_stats(d) != NULL ? dev_link_stats(d) : &none;

	if (o->json) {
		int64_t xwh, iwh;
		energy_take(en, &xwh, &iwh);
		json_t *s = json_pack(
		    "{s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}}", "summary", "polls",
		    (json_int_t)o->count, "ok", (json_int_t)ok, "errors", (json_int_t)errors,
		    "connects", (json_int_t)st->connects, "timeouts", (json_int_t)st->timeouts,
		    "malformed", (json_int_t)st->malformed, "exceptions",
		    (json_int_t)st->exceptions, "skipped", (json_int_t)st->skipped);
		json_object_set_new(
		    json_object_get(s, "summary"), "energy",
		    json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:s}", "export_wh", (json_int_t)xwh,
		              "import_wh", (json_int_t)iwh, "resets", (json_int_t)en->resets,
		              "wraps", (json_int_t)en->wraps, "rejected", (json_int_t)en->rejected,
		              "zero_skipped", (json_int_t)en->zero_skipped, "sign",
		              sign_name(energy_sign_effective(en))));
		print_json(s, true);
		json_decref(s);
	} else {
		printf("summary     %ld polls, %ld ok, %ld errors, %lu connects, %lu timeouts, "
		       "%lu malformed\n",
		       o->count, ok, errors, st->connects, st->timeouts, st->malformed);
	}
}

static json_t *
stctl_regs_json(const struct stctl_regs *g)
{
	return json_pack("{s:i,s:i,s:i,s:i,s:i}", "mode", g->mode, "in_raw", g->in_raw, "out_raw",
	                 g->out_raw, "revert_s", g->revert_s, "grid", g->grid);
}

/* --battery-set: one setpoint written and read back (the reading is only discovery). */
static int
battery_set_run(const struct probe_opts *o, struct dev *d)
{
	struct stctl_cfg cfg = { (double)o->reserve_pct, o->grid_charge };
	struct stctl_cmd cmd;
	struct stctl_result res;
	pw_err rc;

	if (stctl_parse(o->battery_set, &cmd) != PW_OK)
		return EX_UNAVAILABLE; /* checked with the options */
	cmd.revert_s = (uint16_t)o->revert_s;
	rc = dev_storage_control(d, &cfg, &cmd, &res);
	if (o->json) {
		json_t *j = json_pack(
		    "{s:{s:s,s:s,s:I,s:s,s:s,s:i,s:o,s:o}}", "battery_control", "asked",
		    stctl_mode_name(res.asked), "planned", stctl_mode_name(res.planned), "power_w",
		    (json_int_t)cmd.power_w, "result", rc == PW_OK ? "ok" : pw_strerror(rc),
		    "detail", res.detail, "rate_sf", res.rate_sf, "written",
		    res.wrote ? stctl_regs_json(&res.want) : json_null(), "read_back",
		    res.readback ? stctl_regs_json(&res.got) : json_null());
		print_json(j, false);
		json_decref(j);
	} else if (rc == PW_OK) {
		printf(
		    "battery     %s%s%s: written and read back (StorCtl_Mod %u, InWRte %d, OutWRte "
		    "%d at 10^%d %%, revert %u s, ChaGriSet %s)\n",
		    stctl_mode_name(res.planned), res.detail[0] ? ": " : "", res.detail,
		    res.want.mode, res.want.in_raw, res.want.out_raw, res.rate_sf,
		    res.want.revert_s, res.want.grid ? "GRID" : "PV");
	}
	if (rc != PW_OK)
		fprintf(stderr, "peerwatt-agent probe: %s: battery %s: %s%s%s\n", o->url,
		        stctl_mode_name(res.asked), pw_strerror(rc), res.detail[0] ? ": " : "",
		        res.detail);
	return rc == PW_OK ? 0 : EX_UNAVAILABLE;
}

static int
probe_run(const struct probe_opts *o)
{
	struct dev_cfg cfg;
	struct dev *d;
	struct dev_reading r;
	struct energy en;
	struct energy_cfg ecfg = { ENERGY_SIGN_AUTO, o->rated_power_w, 60000 };
	char err[512];
	long ok = 0, errors = 0;
	pw_err rc;

	dev_cfg_defaults(&cfg);
	cfg.url = o->url;
	cfg.template_name = o->tmpl;
	cfg.template_path = o->tmpl_dir;
	cfg.unit = (int)o->unit;
	cfg.timeout_ms = o->timeout_ms >= 0 ? (uint32_t)o->timeout_ms : 0;
	cfg.quiet_ms = (int32_t)o->quiet_ms;
	/* An interactive tool: retry soon, but still back off from a dead device. */
	cfg.backoff_base_ms = o->interval_ms < 1000 ? (uint32_t)o->interval_ms : 1000;
	if (cfg.backoff_base_ms < 1)
		cfg.backoff_base_ms = 1;
	cfg.backoff_cap_ms = cfg.backoff_base_ms * 8;
	if ((rc = dev_open(&cfg, &d, err, sizeof(err))) != PW_OK) {
		if (rc == PW_ERR_NOTFOUND || rc == PW_ERR_CONFIG) {
			fprintf(stderr, "peerwatt-agent probe: %s\n", err);
			return rc == PW_ERR_CONFIG ? 78 : 64;
		}
		if (rc == PW_ERR_PARSE || rc == PW_ERR_RANGE)
			return url_error(o->url, rc);
		return pw_cli_usage_error(PROG, "%s", err);
	}
	energy_init(&en, &ecfg);
	for (long i = 0; i < o->count; i++) {
		if (i > 0)
			sleep_ms(o->interval_ms);
		rc = dev_poll(d, DEV_WANT_ALL, &r);
		if (rc != PW_OK) {
			errors++;
			if (o->json && o->count > 1) {
				bool disc =
				    strcmp(dev_source(d), "sunspec") == 0 && dev_sunspec(d) == NULL;
				json_t *e =
				    json_pack("{s:s,s:s}", "error", disc ? "discovery" : "poll",
				              "reason", pw_strerror(rc));
				print_json(e, true);
				json_decref(e);
			} else if (dev_sunspec(d) != NULL) {
				fprintf(stderr, "peerwatt-agent probe: %s: read failed: %s\n",
				        o->url, pw_strerror(rc));
			} else {
				report_failure(o, d, rc);
			}
			continue;
		}
		ok++;
		if (o->battery_set != NULL) {
			int ex = battery_set_run(o, d);
			dev_destroy(&d);
			return ex;
		}
		if (r.has_meter)
			account(&en, &r);
		if (o->json) {
			/* one read: the export limit too (a series stays what it was) */
			json_t *j = reading_json(d, &r),
			       *c = o->count == 1 ? controls_json(d) : NULL;
			if (c != NULL)
				json_object_set_new(j, "controls", c);
			print_json(j, o->count > 1);
			json_decref(j);
		} else {
			print_table(d, &r);
			if (o->count == 1)
				print_controls(d);
		}
	}
	if (o->count > 1)
		print_summary(o, d, &en, ok, errors);
	dev_destroy(&d);
	return ok > 0 ? 0 : EX_UNAVAILABLE;
}

static const char *
scan_reason(pw_err rc)
{
	return rc == PW_ERR_NOTFOUND ? "no match" : pw_strerror(rc);
}

static int
scan_run(const struct probe_opts *o)
{
	struct dev_scan_hit hits[DEV_SCAN_MAX];
	char defpath[TMPL_PATH_MAX];
	const char *path =
	    o->tmpl_dir != NULL ? o->tmpl_dir : tmpl_default_path(defpath, sizeof(defpath));
	int n = dev_scan(o->url, path, (int)o->unit,
	                 o->timeout_ms >= 0 ? (uint32_t)o->timeout_ms : 0, hits, DEV_SCAN_MAX);
	int matched = 0;
	json_t *arr, *found;

	if (n < 0)
		return url_error(o->url, PW_ERR_PARSE);
	arr = json_array();
	found = json_array();
	for (int i = 0; i < n; i++) {
		bool m = hits[i].rc == PW_OK;
		matched += m;
		if (m)
			json_array_append_new(found, json_string(hits[i].name));
		json_array_append_new(arr, json_pack("{s:s,s:i,s:b,s:b,s:s}", "template",
		                                     hits[i].name, "unit", hits[i].unit, "match", m,
		                                     "strong", hits[i].strong, "reason",
		                                     m ? "matched" : scan_reason(hits[i].rc)));
		if (!o->json)
			printf("%-16s unit %-3d %s\n", hits[i].name, hits[i].unit,
			       !m ? scan_reason(hits[i].rc)
			       : hits[i].strong
			           ? "MATCH"
			           : "match (the register reads; no model code to check)");
	}
	if (o->json) {
		json_t *j =
		    json_pack("{s:s,s:o,s:o}", "url", o->url, "matched", found, "candidates", arr);
		print_json(j, false);
		json_decref(j);
	} else {
		json_decref(arr);
		json_decref(found);
		if (matched == 0)
			fprintf(stderr,
			        "peerwatt-agent probe: %s: neither SunSpec nor any template's "
			        "identification matched\n",
			        o->url);
	}
	return matched > 0 ? 0 : EX_UNAVAILABLE;
}

int
probe_main(int argc, char **argv)
{
	struct probe_opts o = { NULL, NULL, NULL, -1,   false, false, -1,   -1,
		                1,    1000, 0,    NULL, 60,    0,     false };
	bool ctl_opts = false;

	/* a utility smart meter (sml:, p1:) has a reader of its own */
	for (int i = 1; i < argc; i++)
		if (smeter_url_is(argv[i]))
			return smprobe_main(argc, argv);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		long *target = NULL, lo = 0, hi = 0;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(a, "--grid-charge") == 0) {
			o.grid_charge = ctl_opts = true;
			continue;
		}
		if (strcmp(a, "--battery-set") == 0) {
			struct stctl_cmd c;
			if (i + 1 >= argc)
				return pw_cli_usage_error(PROG, "option '%s' needs a value", a);
			o.battery_set = argv[++i];
			if (stctl_parse(o.battery_set, &c) != PW_OK)
				return pw_cli_usage_error(
				    PROG,
				    "--battery-set: '%s' is not auto, hold, protect, charge:W or "
				    "discharge:W (W 1..%d)",
				    o.battery_set, STORAGE_POWER_MAX_W);
			continue;
		}
		if (strcmp(a, "--json") == 0 || strcmp(a, "--scan") == 0) {
			*(a[2] == 'j' ? &o.json : &o.scan) = true;
			continue;
		}
		if (strcmp(a, "--modbus") == 0 || strcmp(a, "--template") == 0 ||
		    strcmp(a, "--template-dir") == 0) {
			if (i + 1 >= argc)
				return pw_cli_usage_error(PROG, "option '%s' needs a value", a);
			const char **t = a[2] == 'm'                    ? &o.url
			                 : strcmp(a, "--template") == 0 ? &o.tmpl
			                                                : &o.tmpl_dir;
			if (*t != NULL)
				return pw_cli_usage_error(PROG, "%s given twice", a);
			*t = argv[++i];
			continue;
		}
		if (a[0] != '-') {
			if (o.url != NULL)
				return pw_cli_usage_error(PROG, "unexpected argument '%s'", a);
			o.url = a;
			continue;
		}
		if (strcmp(a, "--unit") == 0)
			target = &o.unit, lo = 0, hi = 255;
		else if (strcmp(a, "--timeout") == 0)
			target = &o.timeout_ms, lo = 10, hi = 60000;
		else if (strcmp(a, "--quiet-time") == 0)
			target = &o.quiet_ms, lo = 0, hi = 60000;
		else if (strcmp(a, "--count") == 0)
			target = &o.count, lo = 1, hi = 1000000;
		else if (strcmp(a, "--interval") == 0)
			target = &o.interval_ms, lo = 0, hi = 3600000;
		else if (strcmp(a, "--rated-power") == 0)
			target = &o.rated_power_w, lo = 0, hi = 10000000;
		else if (strcmp(a, "--revert") == 0)
			target = &o.revert_s, lo = 1, hi = 65535, ctl_opts = true;
		else if (strcmp(a, "--reserve") == 0)
			target = &o.reserve_pct, lo = 0, hi = 99, ctl_opts = true;
		if (target == NULL)
			return pw_cli_usage_error(PROG, "unknown option '%s'", a);
		if (i + 1 >= argc)
			return pw_cli_usage_error(PROG, "option '%s' needs a value", a);
		if (!parse_long(argv[++i], lo, hi, target))
			return pw_cli_usage_error(PROG, "%s: '%s' is not an integer in %ld..%ld", a,
			                          argv[i], lo, hi);
	}
	if (o.url == NULL)
		return pw_cli_usage_error(PROG, "a device URL (or --modbus URL) is required");
	if (ctl_opts && o.battery_set == NULL)
		return pw_cli_usage_error(PROG, "--revert, --reserve and --grid-charge go with "
		                                "--battery-set");
	if (o.battery_set != NULL && (o.scan || o.count != 1 || o.tmpl != NULL))
		return pw_cli_usage_error(PROG, "--battery-set writes one SunSpec setpoint: no "
		                                "--scan, --count or --template");
	if (o.scan && (o.tmpl != NULL || o.count != 1))
		return pw_cli_usage_error(PROG, "--scan tries every template: no --template or "
		                                "--count");
	return o.scan ? scan_run(&o) : probe_run(&o);
}
