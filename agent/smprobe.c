/*
 * smprobe.c: `peerwatt-agent probe [--json] sml:/dev/X[:BAUD] | p1:/dev/X[:BAUD]`
 * (see smprobe.h): waits for the meter's next good telegram and prints what
 * the agent would read from it, with the same JSON keys as a SunSpec probe.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "agent/energy.h"
#include "agent/smeter.h"
#include "agent/smprobe.h"
#include "peerwatt/cli.h"
#include "peerwatt/log.h"

#define PROG           "peerwatt-agent probe"
#define EX_UNAVAILABLE 69

struct smprobe_opts {
	const char *url;
	bool json;
	long count, wait_ms, stall_ms, rated_power_w;
};

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
jint_or_null(bool has, int64_t v)
{
	return has ? json_integer((json_int_t)v) : json_null();
}

static json_t *
reading_json(const struct smeter *s, const struct smeter_reading *r)
{
	const struct smeter_url *u = smeter_url(s);

	return json_pack("{s:s,s:s,s:I,s:{s:o},s:{s:o,s:o,s:o}}", "template",
	                 smeter_kind_name(u->kind), "device", u->device, "baud",
	                 (json_int_t)u->baud, "common", "serial",
	                 r->serial[0] ? json_string(r->serial) : json_null(), "meter", "power_w",
	                 jint_or_null(r->has_power, r->power_w), "export_wh",
	                 jint_or_null(r->has_export, r->export_wh), "import_wh",
	                 jint_or_null(r->has_import, r->import_wh));
}

static void
print_json(json_t *o, bool compact)
{
	char *t = json_dumps(o, compact ? JSON_COMPACT : JSON_INDENT(2));
	if (t != NULL) {
		printf("%s\n", t);
		free(t);
	}
	fflush(stdout);
}

static void
print_table(const struct smeter *s, const struct smeter_reading *r)
{
	const struct smeter_url *u = smeter_url(s);
	char p[32] = "n/a", x[32] = "n/a", i[32] = "n/a";

	if (r->has_power)
		snprintf(p, sizeof(p), "%lld W", (long long)r->power_w);
	if (r->has_export)
		snprintf(x, sizeof(x), "%lld Wh", (long long)r->export_wh);
	if (r->has_import)
		snprintf(i, sizeof(i), "%lld Wh", (long long)r->import_wh);
	printf("device      %s %s at %u baud (template %s)\n", smeter_kind_name(u->kind), u->device,
	       u->baud, smeter_kind_name(u->kind));
	printf("common      serial %s\n", r->serial[0] ? r->serial : "n/a");
	printf("meter       power %s, export %s, import %s\n", p, x, i);
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
account(struct energy *e, const struct smeter_reading *r)
{
	struct energy_sample s;

	memset(&s, 0, sizeof(s));
	s.t_ms = mono_ms();
	s.has_power = r->has_power;
	s.power_w = (double)r->power_w;
	s.exp.has = r->has_export;
	s.exp.raw = r->exp.raw;
	s.exp.sf = r->exp.sf;
	s.imp.has = r->has_import;
	s.imp.raw = r->imp.raw;
	s.imp.sf = r->imp.sf;
	(void)energy_sample(e, &s); /* a rejected step is counted in e */
}

static int
run(const struct smprobe_opts *o)
{
	struct smeter_cfg cfg;
	struct smeter *s;
	struct smeter_reading r;
	struct energy en;
	/* a smart meter's power is import positive, like SunSpec */
	struct energy_cfg ecfg = { ENERGY_SIGN_IMPORT_POSITIVE, o->rated_power_w, 60000 };
	long ok = 0, errors = 0;
	pw_err rc;

	smeter_cfg_defaults(&cfg);
	cfg.stall_ms = (uint32_t)o->stall_ms;
	rc = smeter_open(o->url, &cfg, &s);
	if (rc == PW_ERR_PARSE)
		return pw_cli_usage_error(PROG,
		                          "%s: not a smart-meter URL (sml:/dev/X[:BAUD] or "
		                          "p1:/dev/X[:BAUD], BAUD 300..115200)",
		                          o->url);
	if (rc != PW_OK) {
		fprintf(stderr, "%s: %s: cannot open: %s\n", PROG, o->url,
		        rc == PW_ERR_IO ? strerror(errno) : pw_strerror(rc));
		return EX_UNAVAILABLE;
	}
	energy_init(&en, &ecfg);
	for (long i = 0; i < o->count; i++) {
		rc = smeter_read(s, (uint32_t)o->wait_ms, &r);
		if (rc != PW_OK) {
			const char *last = smeter_last_error(s);
			char reason[SMETER_WHY_MAX + 64];
			errors++;
			snprintf(reason, sizeof(reason), "%s%s%s",
			         rc == PW_ERR_TIMEOUT ? "no valid telegram in time"
			                              : pw_strerror(rc),
			         last[0] ? "; last refused: " : "", last);
			if (o->json && o->count > 1) {
				json_t *e = json_pack("{s:s,s:s,s:b}", "error", "read", "reason",
				                      reason, "stalled", smeter_stalled(s));
				print_json(e, true);
				json_decref(e);
			} else {
				fprintf(stderr, "%s: %s: %s\n", PROG, o->url, reason);
			}
			continue;
		}
		ok++;
		account(&en, &r);
		if (o->json) {
			json_t *j = reading_json(s, &r);
			print_json(j, o->count > 1);
			json_decref(j);
		} else {
			print_table(s, &r);
		}
	}
	if (o->count > 1) {
		const struct smeter_stats *st = smeter_stats(s);
		int64_t xwh, iwh;
		energy_take(&en, &xwh, &iwh);
		if (o->json) {
			json_t *j = json_pack(
			    "{s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I}}}",
			    "summary", "polls", (json_int_t)o->count, "ok", (json_int_t)ok,
			    "errors", (json_int_t)errors, "frames_ok", (json_int_t)st->frames_ok,
			    "crc_errors", (json_int_t)st->crc_errors, "malformed",
			    (json_int_t)st->malformed, "truncated", (json_int_t)st->truncated,
			    "overflows", (json_int_t)st->overflows, "stalls",
			    (json_int_t)st->stalls, "energy", "export_wh", (json_int_t)xwh,
			    "import_wh", (json_int_t)iwh, "resets", (json_int_t)en.resets,
			    "rejected", (json_int_t)en.rejected);
			print_json(j, true);
			json_decref(j);
		} else {
			printf("summary     %ld reads, %ld ok, %ld errors, %lu CRC errors, %lu "
			       "malformed, %lu truncated, %lu stalls\n",
			       o->count, ok, errors, st->crc_errors, st->malformed, st->truncated,
			       st->stalls);
		}
	}
	smeter_destroy(&s);
	return ok > 0 ? 0 : EX_UNAVAILABLE;
}

int
smprobe_main(int argc, char **argv)
{
	struct smprobe_opts o = { NULL, false, 1, 15000, 30000, 0 };
	const char *tmpl = NULL;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		long *target = NULL, lo = 0, hi = 0;

		if (strcmp(a, "--json") == 0) {
			o.json = true;
			continue;
		}
		if (smeter_url_is(a)) {
			if (o.url != NULL)
				return pw_cli_usage_error(PROG, "more than one URL");
			o.url = a;
			continue;
		}
		if ((strcmp(a, "--modbus") == 0 || strcmp(a, "--template") == 0) && i + 1 < argc) {
			/* --modbus URL kept for the SunSpec probe's habit */
			if (a[2] == 't')
				tmpl = argv[++i];
			else if (o.url == NULL && smeter_url_is(argv[i + 1]))
				o.url = argv[++i];
			else
				return pw_cli_usage_error(PROG, "more than one URL");
			continue;
		}
		if (strcmp(a, "--count") == 0)
			target = &o.count, lo = 1, hi = 1000000;
		else if (strcmp(a, "--wait") == 0)
			target = &o.wait_ms, lo = 100, hi = 3600000;
		else if (strcmp(a, "--stall") == 0)
			target = &o.stall_ms, lo = 100, hi = 3600000;
		else if (strcmp(a, "--rated-power") == 0)
			target = &o.rated_power_w, lo = 0, hi = 10000000;
		if (target == NULL)
			return pw_cli_usage_error(PROG, "unknown option '%s' for a smart meter", a);
		if (i + 1 >= argc)
			return pw_cli_usage_error(PROG, "option '%s' needs a value", a);
		if (!parse_long(argv[++i], lo, hi, target))
			return pw_cli_usage_error(PROG, "%s: '%s' is not an integer in %ld..%ld", a,
			                          argv[i], lo, hi);
	}
	if (o.url == NULL)
		return pw_cli_usage_error(PROG, "a sml: or p1: URL is required");
	if (tmpl != NULL && strncmp(o.url, tmpl, strlen(tmpl)) != 0)
		return pw_cli_usage_error(PROG, "--template %s does not match %s", tmpl, o.url);
	if (tmpl != NULL && strcmp(tmpl, "sml") != 0 && strcmp(tmpl, "p1") != 0)
		return pw_cli_usage_error(PROG, "--template %s: a smart meter is sml or p1", tmpl);
	return run(&o);
}
