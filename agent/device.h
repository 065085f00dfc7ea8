/*
 * device.h: the agent's device abstraction: one source of readings (an
 * inverter, a grid meter, or both in one box) behind a URL and a backend.
 *
 * Owns: the choice of backend from the URL and the template name, the
 * reading every backend yields (struct dev_reading: PV power and energy,
 * grid power, the export/import registers with their resolution and wrap,
 * the serial of the meter actually read, the battery's), the SunSpec
 * discovery state (walk again when the layout moved), the template's poll
 * plan, and `probe --scan` (dev_scan).
 *
 * Backends:
 *   tcp://HOST:PORT, rtu:/dev/X:BAUD:8N1   Modbus; template "sunspec" (the
 *                                          default: discovery) or a register
 *                                          map from agent/tmpl.c
 *   further URL schemes                    a struct dev_backend in the table
 *                                          `extra_backends` at the top of
 *                                          device.c (see "Adding a backend")
 *
 * Adding a backend (e.g. p1:/dev/ttyX[:BAUD], sml:/dev/ttyX[:BAUD]): write
 * `const struct dev_backend NAME_backend = { "p1:", "p1", open, poll, close,
 * NULL };` in its own file with its header, include the header in device.c
 * and add `&NAME_backend` to `extra_backends`.  Its poll fills a zeroed
 * struct dev_reading: has_meter, the registers (export_raw/export_sf/
 * export_bits, the whole Wh in export_wh; the same for import), the power
 * when it has one (import positive) and meter_serial (the meter's id).  It
 * must never invent a value: a field it did not read stays has_ false, and
 * a stalled or garbled source is an error (PW_ERR_TIMEOUT, PW_ERR_CORRUPT,
 * ...), which the agent counts as a failed poll (no sample, offers stop).
 * `want` DEV_WANT_METER may be ignored by a backend that reads everything in
 * one go.  open() gets the URL as configured and refuses a bad one with
 * PW_ERR_PARSE and a message in err.
 *
 * Called by agent/probe.c, the agent daemon's meter polling and the tests.
 * Thread-safety: a struct dev is used by one thread at a time (in the
 * agent daemon its device thread, agent/devpoll.c), but for dev_interrupt.
 */
#ifndef AGENT_DEVICE_H
#define AGENT_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/modbus_link.h"
#include "agent/storage.h"
#include "agent/sunspec.h"
#include "agent/tmpl.h"
#include "peerwatt/error.h"

#define DEV_SOURCE_MAX 32
#define DEV_URL_MAX    288 /* longest URL, with its NUL */
#define DEV_SCAN_MAX   (TMPL_LIST_MAX + 1)

/* What one poll read.  A field the source does not give has its has_ false. */
struct dev_reading {
	char source[DEV_SOURCE_MAX + 1]; /* "sunspec", a template name, "p1", "sml" */
	bool has_common;
	char manufacturer[33], model[33], version[17], serial[33];
	bool has_inverter;
	uint16_t inverter_model; /* SunSpec model id; 0 for a template */
	bool has_ac_power;
	double ac_power_w;
	bool has_ac_energy;
	int64_t ac_energy_wh;
	bool has_status;
	uint32_t status;
	const char *status_name;
	bool has_meter;
	uint16_t meter_model; /* SunSpec model id; 0 otherwise */
	bool has_meter_power;
	double meter_power_w; /* import positive (the SunSpec convention) */
	/* registers as read: value = raw x 10^sf Wh; bits 16/32/64 wrap there, 0 never */
	bool has_export, has_import;
	int64_t export_wh, import_wh; /* whole Wh, rounded down */
	uint64_t export_raw, import_raw;
	int export_sf, import_sf;
	int export_bits, import_bits;
	char meter_serial[33]; /* the meter actually read; "" unknown */
	/* a home battery: SunSpec 124/802/713 or a template's battery_* values
	 * (agent/storage.h); storage.present false when the source has none, and
	 * on a meter-only poll */
	struct storage_reading storage;
};

enum dev_want {
	DEV_WANT_ALL = 0,  /* everything the source has */
	DEV_WANT_METER = 1 /* the grid meter's values only (a cheaper poll) */
};

struct dev_cfg {
	const char *url;
	const char *template_name; /* NULL, "" or "sunspec": SunSpec discovery */
	const char *template_path; /* NULL: tmpl_default_path() */
	int unit;                  /* -1: the template's (SunSpec: 1) */
	uint32_t timeout_ms;       /* 0: the template's, else 2000 */
	int32_t quiet_ms;          /* -1: the template's connect delay */
	uint32_t backoff_base_ms;  /* 0: the link's default */
	uint32_t backoff_cap_ms;   /* 0: the link's default */
};

/* A URL-scheme backend (see "Adding a backend" above). */
struct dev_backend {
	const char *scheme; /* the URL prefix it owns, e.g. "p1:" */
	const char *name;   /* the readings' source, e.g. "p1" */
	pw_err (*open)(const char *url, const struct dev_cfg *cfg, void **state, char *err,
	               size_t errlen);
	pw_err (*poll)(void *state, unsigned want, struct dev_reading *r);
	void (*close)(void *state);
	void *reserved;
};

struct dev;

/* Defaults: no template (SunSpec), unit -1, template timeouts. */
void dev_cfg_defaults(struct dev_cfg *cfg);

/*
 * Open a source (nothing is read yet: the first poll connects).  Caller owns
 * *out (dev_destroy).  PW_ERR_PARSE (URL), PW_ERR_RANGE (unit, timeouts),
 * PW_ERR_NOTFOUND / PW_ERR_CONFIG (template), each with a message in err.
 */
pw_err dev_open(const struct dev_cfg *cfg, struct dev **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void dev_destroy(struct dev **dp);

/*
 * Read once.  PW_OK: r filled (r->source set).  Errors: the transport's
 * (PW_ERR_UNAVAILABLE during the link's backoff, PW_ERR_TIMEOUT, ...), or
 * PW_ERR_NOT_SUNSPEC when discovery found no marker; a SunSpec layout that
 * moved is walked again at the next poll.
 */
pw_err dev_poll(struct dev *d, unsigned want, struct dev_reading *r)
    __attribute__((warn_unused_result));

/*
 * The only call allowed from another thread than the one polling: ends a
 * Modbus transaction under way at once and makes every later poll fail
 * (mlink_interrupt), for a graceful stop.  NULL-safe.
 */
void dev_interrupt(struct dev *d);

const char *dev_source(const struct dev *d);
const char *dev_url(const struct dev *d);
int dev_unit(const struct dev *d);
/* Link counters of a Modbus source, NULL for other backends. */
const struct mlink_stats *dev_link_stats(const struct dev *d);
/* The discovered SunSpec layout, NULL before discovery or for other sources. */
const struct sunspec_dev *dev_sunspec(const struct dev *d);
/* True when the source is known to have no grid meter: a SunSpec device
 * discovered without a meter model (201-204, 211-214).  NULL-safe. */
bool dev_lacks_meter(const struct dev *d);
/* The template in use, NULL for SunSpec and other backends. */
const struct tmpl *dev_template(const struct dev *d);
/* Whether `url` names a source this build can open (any backend's scheme). */
bool dev_url_ok(const char *url);

/*
 * Write an export limit (or lift it) and read it back: SunSpec devices with
 * model 123 only (agent/control.c); PW_ERR_NOT_IMPL for templates and other
 * backends, PW_ERR_STATE before discovery.  res says what happened.
 */
struct ctl_cmd;
struct ctl_result;
pw_err dev_control(struct dev *d, const struct ctl_cmd *cmd, struct ctl_result *res)
    __attribute__((warn_unused_result));

/* Read the export limit the device holds (nothing written). */
/*
 * A battery setpoint through SunSpec model 124 (agent/storage_ctl.c: the
 * reserve, grid-charging and revert rules, the read-back).  PW_ERR_NOT_IMPL
 * for templates and other backends, PW_ERR_STATE before discovery.
 */
struct stctl_cfg;
struct stctl_cmd;
struct stctl_result;
pw_err dev_storage_control(struct dev *d, const struct stctl_cfg *cfg, const struct stctl_cmd *cmd,
                           struct stctl_result *res) __attribute__((warn_unused_result));

struct ctl_state;
pw_err dev_control_state(struct dev *d, struct ctl_state *st) __attribute__((warn_unused_result));

/* One candidate of a scan. */
struct dev_scan_hit {
	char name[TMPL_NAME_MAX + 1]; /* "sunspec" or a template */
	pw_err rc;                    /* PW_OK matched; else why not */
	bool strong;                  /* matched a model code or text, not mere presence */
	int unit;
};

/*
 * `probe --scan`: try SunSpec discovery, then each template of `path`'s
 * identification register (at `unit`, or each template's own when -1).
 * Fills hits (at most max) in the order tried; returns the count, or -1
 * when the URL is not a Modbus URL.
 */
int dev_scan(const char *url, const char *path, int unit, uint32_t timeout_ms,
             struct dev_scan_hit *hits, size_t max);

#endif
