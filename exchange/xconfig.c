/*
 * xconfig.c: the exchange's option table and the [fees] zone-pair keys
 * (xconfig.h).  Called by exchange/main.c at start, for --check-config
 * and on SIGHUP.
 */
#include "exchange/xconfig.h"

#include <stdio.h>
#include <string.h>

#include "peerwatt/config.h"
#include "peerwatt/log.h"
#include "peerwatt/money.h"

/* Prices are i32 on the wire, fees u32 (docs/protocol.md). */
#define PRICE_MIN ((int64_t)INT32_MIN)
#define PRICE_MAX ((int64_t)INT32_MAX)
#define FEE_MAX   4000000000LL

#define OPT(sec, nm, ty, field, lo, hi, dflt, hlp)                                                 \
	{                                                                                          \
		sec, nm, ty, offsetof(struct xconfig, field),                                      \
		    sizeof(((struct xconfig *)0)->field), lo, hi, dflt, hlp                        \
	}

static const struct pw_cfg_opt opts[] = {
	OPT("market", "name", PW_CFG_STR, market_name, 0, 0, NULL,
	    "market name, also the checkpoint origin (1..31 chars)"),
	OPT("market", "currency", PW_CFG_STR, currency, 0, 0, "EUR",
	    "ISO 4217 code of every price and amount (3 capital letters)"),
	OPT("market", "id", PW_CFG_INT, market_id, 1, INT64_MAX, NULL,
	    "market id bound into every signature"),
	OPT("market", "interval_s", PW_CFG_INT, interval_s, 1, 86400, "900",
	    "length L of a delivery interval, seconds"),
	OPT("market", "gate_s", PW_CFG_INT, gate_s, 0, 86400, "60",
	    "gate closure G: orders for interval i close at i*L - G (G < L)"),
	OPT("market", "grace_s", PW_CFG_INT, grace_s, 0, 86400, "60",
	    "meter readings awaited until interval end + grace, then settlement"),
	OPT("market", "max_ahead_s", PW_CFG_INT, max_ahead_s, 0, 7 * 86400, "86400",
	    "orders accepted for intervals starting at most this far ahead (>= G + L)"),
	OPT("market", "feedin", PW_CFG_MONEY, feedin_uper_kwh, PRICE_MIN, PRICE_MAX, NULL,
	    "feed-in tariff per kWh (lowest allowed price; negative: export is charged)"),
	OPT("market", "retail", PW_CFG_MONEY, retail_uper_kwh, PRICE_MIN, PRICE_MAX, NULL,
	    "retail tariff per kWh (highest allowed price)"),
	OPT("market", "tariff_file", PW_CFG_STR, tariff_path, 0, 0, "",
	    "tariff schedule CSV from,retail_ct_kwh,feedin_ct_kwh (default: fixed tariffs)"),
	OPT("market", "fee_file", PW_CFG_STR, fee_path, 0, 0, "",
	    "grid-fee schedule CSV from,zone_a,zone_b,fee_ct_kwh (default: [fees])"),
	OPT("fees", "same_zone", PW_CFG_MONEY, fee_same_zone_uper_kwh, 0, FEE_MAX, "0",
	    "grid fee per kWh, buyer and seller in the same zone"),
	OPT("fees", "default", PW_CFG_MONEY, fee_default_uper_kwh, 0, FEE_MAX, "0",
	    "grid fee per kWh between zones without an explicit ZONE/ZONE entry"),
	OPT("network", "request", PW_CFG_STR, request_endpoint, 0, 0, "tcp://127.0.0.1:7700",
	    "ROUTER endpoint for requests"),
	OPT("network", "publish", PW_CFG_STR, publish_endpoint, 0, 0, "tcp://127.0.0.1:7701",
	    "PUB endpoint for market data"),
	OPT("network", "rate_per_s", PW_CFG_INT, rate_per_s, 0, 1000000, "0",
	    "requests per second per household (0 = unlimited)"),
	OPT("network", "rate_burst", PW_CFG_INT, rate_burst, 1, 1000000, "100",
	    "burst allowance of the per-household rate limit"),
	OPT("network", "batch_max", PW_CFG_INT, batch_max, 1, 65536, "256",
	    "requests applied per group commit"),
	OPT("network", "depth_ms", PW_CFG_INT, depth_ms, 100, 3600000, "1000",
	    "period of DEPTH publications, milliseconds"),
	OPT("network", "heartbeat_ms", PW_CFG_INT, heartbeat_ms, 500, 5000, "2000",
	    "period of HEARTBEAT publications, milliseconds"),
	OPT("network", "max_msg_bytes", PW_CFG_INT, max_msg_bytes, 512, 65536, "4096",
	    "ZMQ_MAXMSGSIZE of the request socket (larger: connection dropped)"),
	OPT("network", "threads", PW_CFG_INT, threads, 0, 16, "0",
	    "threads checking signatures and signing receipts (0 = one per CPU)"),
	OPT("files", "registry", PW_CFG_STR, registry_path, 0, 0, NULL, "household registry file"),
	OPT("files", "db", PW_CFG_STR, db_path, 0, 0, NULL, "SQLite database"),
	OPT("files", "key", PW_CFG_STR, key_path, 0, 0, NULL, "exchange Ed25519 key file"),
	OPT("log", "level", PW_CFG_STR, log_level, 0, 0, "info", "error|warning|info|debug"),
};

/* [fees] ZONE_A/ZONE_B = amount */
static pw_err
fee_extra(void *ctx, void *target, const char *section, const char *name, const char *value,
          int line, char *msg, size_t msglen)
{
	struct xconfig *c = target;
	(void)ctx;
	(void)line;
	if (strcmp(section, "fees") != 0)
		return PW_ERR_NOTFOUND; /* the loader reports the unknown key */
	const char *slash = strchr(name, '/');
	if (!slash || !registry_token_ok(name, (size_t)(slash - name)) ||
	    !registry_token_ok(slash + 1, strlen(slash + 1))) {
		snprintf(msg, msglen, "unknown key %.60s in [fees] (zone pairs read ZONE/ZONE)",
		         name);
		return PW_ERR_CONFIG;
	}
	int64_t fee;
	if (pw_money_parse(value, &fee) != PW_OK || fee < 0 || fee > FEE_MAX) {
		snprintf(msg, msglen, "%.60s: '%.40s' is not a fee per kWh (decimal amount >= 0)",
		         name, value);
		return PW_ERR_CONFIG;
	}
	char a[REGISTRY_TOKEN_MAX], b[REGISTRY_TOKEN_MAX];
	snprintf(a, sizeof(a), "%.*s", (int)(slash - name), name);
	snprintf(b, sizeof(b), "%s", slash + 1);
	for (size_t i = 0; i < c->n_fees; i++) {
		const struct xconfig_fee *f = &c->fees[i];
		if ((strcmp(f->zone_a, a) == 0 && strcmp(f->zone_b, b) == 0) ||
		    (strcmp(f->zone_a, b) == 0 && strcmp(f->zone_b, a) == 0)) {
			snprintf(msg, msglen, "fee for zones %s/%s given twice", a, b);
			return PW_ERR_CONFIG;
		}
	}
	if (c->n_fees == XCONFIG_MAX_FEES) {
		snprintf(msg, msglen, "more than %d zone-pair fees", XCONFIG_MAX_FEES);
		return PW_ERR_CONFIG;
	}
	struct xconfig_fee *f = &c->fees[c->n_fees++];
	snprintf(f->zone_a, sizeof(f->zone_a), "%s", a);
	snprintf(f->zone_b, sizeof(f->zone_b), "%s", b);
	f->fee_uper_kwh = fee;
	return PW_OK;
}

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

/* The line of [sec] key in the file just read (0: its default); the later of two. */
#define LINE(sec, key) pw_config_line(opts, NOPTS, lines, sec, key)
#define LATER(a, b)    ((a) > (b) ? (a) : (b))

/*
 * Rules across keys, which the table cannot express.  Each is reported at
 * the line of the later of its keys (the one that made the pair wrong
 * when read top to bottom); at least one of them was given, since the
 * defaults agree with each other.
 */
static pw_err
check(const char *name, const struct xconfig *c, const int *lines, char *err, size_t errlen)
{
	enum log_level lv;
	const char *why = NULL;
	int line = 0;
	int l_gate = LINE("market", "gate_s");
	int l_len = LINE("market", "interval_s");
	int l_ahead = LINE("market", "max_ahead_s");

	if (strlen(c->currency) != 3 || strspn(c->currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3) {
		why = "[market] currency must be an ISO 4217 code of 3 capital letters (EUR)";
		line = LINE("market", "currency");
	} else if (c->feedin_uper_kwh > c->retail_uper_kwh) {
		why = "[market] feedin must not exceed retail";
		line = LATER(LINE("market", "feedin"), LINE("market", "retail"));
	} else if (c->gate_s >= c->interval_s) {
		/* else the gate of interval i closes before i-1 starts: the
		 * coming interval is never open, only later ones */
		why = "[market] gate_s must be below interval_s (gate closure falls inside the "
		      "previous interval)";
		line = LATER(l_gate, l_len);
	} else if (c->max_ahead_s < c->gate_s + c->interval_s) {
		/* an order needs a start in (now + G, now + max_ahead]: shorter
		 * than L, that window holds no interval start at some times */
		why = "[market] max_ahead_s must be at least gate_s + interval_s (else at times no "
		      "interval is open for orders)";
		line = LATER(LATER(l_gate, l_len), l_ahead);
	} else if (log_level_parse(c->log_level, &lv) != 0) {
		why = "[log] level must be error, warning, info or debug";
		line = LINE("log", "level");
	} else if (strncmp(c->request_endpoint, "tcp://", 6) != 0 &&
	           strncmp(c->request_endpoint, "ipc://", 6) != 0) {
		why = "[network] request must be a tcp:// or ipc:// endpoint";
		line = LINE("network", "request");
	} else if (strncmp(c->publish_endpoint, "tcp://", 6) != 0 &&
	           strncmp(c->publish_endpoint, "ipc://", 6) != 0) {
		why = "[network] publish must be a tcp:// or ipc:// endpoint";
		line = LINE("network", "publish");
	}
	if (why) {
		snprintf(err, errlen, "%s:%d: %s", name, line, why);
		return PW_ERR_CONFIG;
	}
	return PW_OK;
}

static void
reset_fees(struct xconfig *c)
{
	c->n_fees = 0;
	memset(c->fees, 0, sizeof(c->fees));
}

pw_err
xconfig_load(const char *path, struct xconfig *cfg, char *err, size_t errlen)
{
	struct xconfig tmp = *cfg;
	int lines[NOPTS];
	pw_err rc;
	reset_fees(&tmp); /* the loader keeps fields the table does not name */
	rc = pw_config_load(path, opts, NOPTS, &tmp, sizeof(tmp), fee_extra, NULL, lines, err,
	                    errlen);
	if (rc == PW_OK)
		rc = check(path, &tmp, lines, err, errlen);
	if (rc == PW_OK)
		*cfg = tmp;
	return rc;
}

pw_err
xconfig_load_buffer(const char *name, const char *text, struct xconfig *cfg, char *err,
                    size_t errlen)
{
	struct xconfig tmp = *cfg;
	int lines[NOPTS];
	pw_err rc;
	reset_fees(&tmp);
	rc = pw_config_load_buffer(name, text, strlen(text), opts, NOPTS, &tmp, sizeof(tmp),
	                           fee_extra, NULL, lines, err, errlen);
	if (rc == PW_OK)
		rc = check(name, &tmp, lines, err, errlen);
	if (rc == PW_OK)
		*cfg = tmp;
	return rc;
}

int64_t
xconfig_fee(const struct xconfig *cfg, const char *zone_a, const char *zone_b)
{
	for (size_t i = 0; i < cfg->n_fees; i++) {
		const struct xconfig_fee *f = &cfg->fees[i];
		if ((strcmp(f->zone_a, zone_a) == 0 && strcmp(f->zone_b, zone_b) == 0) ||
		    (strcmp(f->zone_a, zone_b) == 0 && strcmp(f->zone_b, zone_a) == 0))
			return f->fee_uper_kwh;
	}
	return strcmp(zone_a, zone_b) == 0 ? cfg->fee_same_zone_uper_kwh
	                                   : cfg->fee_default_uper_kwh;
}

void
xconfig_usage(void (*line)(void *ctx, const char *text), void *ctx)
{
	char buf[256], key[64];
	for (size_t i = 0; i < NOPTS; i++) {
		const struct pw_cfg_opt *o = &opts[i];
		/* one column for "[section] name", whatever the section's length */
		snprintf(key, sizeof(key), "[%s] %s", o->section, o->name);
		snprintf(buf, sizeof(buf), "  %-24s %s%s%s%s", key, o->help,
		         o->def ? " (default " : " (required)", o->def ? o->def : "",
		         o->def ? ")" : "");
		line(ctx, buf);
	}
	snprintf(buf, sizeof(buf), "  %-24s %s", "[fees] ZONE/ZONE",
	         "grid fee per kWh for that pair of zones (either order)");
	line(ctx, buf);
}
