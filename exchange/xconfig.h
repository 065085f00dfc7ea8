/*
 * xconfig.h: peerwatt-exchange configuration (docs/exchange.md lists every
 * key; config/exchange.conf.example is a commented example).
 *
 * Loaded through the table-driven loader of peerwatt/config.h: errors read
 * "file:line: message" and loading is all-or-nothing, so a SIGHUP with a
 * bad file keeps the running configuration.  Grid fees by zone pair are
 * open-ended keys of [fees] ("north/south = 0.02"), handled here.
 *
 * Owned by exchange/main.c; the rest of the exchange reads it (read-only).
 */
#ifndef EXCHANGE_XCONFIG_H
#define EXCHANGE_XCONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "exchange/registry.h"
#include "peerwatt/error.h"

#define XCONFIG_PATH_MAX 256
#define XCONFIG_MAX_FEES 64

struct xconfig_fee {
	char zone_a[REGISTRY_TOKEN_MAX];
	char zone_b[REGISTRY_TOKEN_MAX];
	int64_t fee_uper_kwh;
};

struct xconfig {
	/* [market] */
	char market_name[32]; /* also the checkpoint origin */
	char currency[4];     /* ISO 4217 code of prices and amounts, "EUR" */
	int64_t market_id;
	int64_t interval_s; /* L */
	int64_t gate_s;     /* G: orders for interval i close at i*L - G */
	int64_t grace_s;    /* readings accepted until (i+1)*L + grace */
	int64_t max_ahead_s;
	int64_t feedin_uper_kwh; /* lower price bound, paid for excess export */
	int64_t retail_uper_kwh; /* upper price bound, charged for extra import */
	/* tariff and grid-fee schedules (exchange/schedule.h, xsched.h); ""
	 * when not set: the fixed tariffs and [fees] */
	char tariff_path[XCONFIG_PATH_MAX];
	char fee_path[XCONFIG_PATH_MAX];
	/* [fees] */
	int64_t fee_same_zone_uper_kwh;
	int64_t fee_default_uper_kwh;
	size_t n_fees;
	struct xconfig_fee fees[XCONFIG_MAX_FEES];
	/* [network] */
	char request_endpoint[XCONFIG_PATH_MAX];
	char publish_endpoint[XCONFIG_PATH_MAX];
	int64_t rate_per_s; /* per household; 0 = unlimited */
	int64_t rate_burst;
	int64_t batch_max;    /* requests per group commit */
	int64_t depth_ms;     /* DEPTH publishing period */
	int64_t heartbeat_ms; /* HEARTBEAT publishing period */
	int64_t max_msg_bytes;
	int64_t threads; /* signature threads; 0 = one per online CPU */
	/* [files] */
	char registry_path[XCONFIG_PATH_MAX];
	char db_path[XCONFIG_PATH_MAX];
	char key_path[XCONFIG_PATH_MAX];
	/* [log] */
	char log_level[16];
};

/*
 * Load `path` into `cfg`.  On error `err` holds "file:line: message" and
 * `cfg` is unchanged.  Relative file paths are taken as given (relative to
 * the working directory).
 */
pw_err xconfig_load(const char *path, struct xconfig *cfg, char *err, size_t errlen)
    __attribute__((warn_unused_result));
pw_err xconfig_load_buffer(const char *name, const char *text, struct xconfig *cfg, char *err,
                           size_t errlen) __attribute__((warn_unused_result));

/* Grid fee per kWh paid by a buyer in zone_b buying from zone_a: an explicit
 * pair (either order) wins, else same_zone when equal, else default. */
int64_t xconfig_fee(const struct xconfig *cfg, const char *zone_a, const char *zone_b);

/* One line per option for --help. */
void xconfig_usage(void (*line)(void *ctx, const char *text), void *ctx);

#endif
