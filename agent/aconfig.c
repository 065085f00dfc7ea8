/*
 * aconfig.c: the agent's option table and cross-key checks (see aconfig.h).
 * Enumerations (strategy, meter sign, log level) and the open-ended
 * [bid.NAME] sections go through the loader's `extra` handler so that their
 * errors carry the line number too.
 */
#include "agent/aconfig.h"
#include "agent/device.h"
#include "agent/modbus_link.h"
#include "agent/tmpl.h"

#include "peerwatt/money.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#define OPT(sec, key, type, member, min, max, def, help)                                           \
	{                                                                                          \
		sec, key, type, offsetof(struct aconfig, member),                                  \
		    sizeof(((struct aconfig *)0)->member), min, max, def, help                     \
	}

static const struct pw_cfg_opt opts[] = {
	OPT("household", "name", PW_CFG_STR, name, 0, 0, "",
	    "the household's name on the dashboard; default: the meter serial"),
	OPT("household", "key_file", PW_CFG_STR, key_file, 0, 0, NULL,
	    "Ed25519 key file of the household (peerwatt-agent keygen)"),
	OPT("household", "db", PW_CFG_STR, db, 0, 0, NULL, "the agent's SQLite database"),
	OPT("household", "serial", PW_CFG_STR, serial, 0, 0, "",
	    "registered meter serial; default: the one the meter reports"),
	OPT("household", "zone", PW_CFG_STR, zone, 0, 0, "",
	    "registered zone, checked against the exchange's log; default: not checked"),
	OPT("household", "max_export_w", PW_CFG_INT, max_export_w, 0, 100000000, NULL,
	    "registered export capacity, W"),
	OPT("household", "max_import_w", PW_CFG_INT, max_import_w, 0, 100000000, NULL,
	    "registered import capacity, W"),
	OPT("device", "modbus", PW_CFG_STR, modbus, 0, 0, NULL,
	    "tcp://HOST:PORT or rtu:/dev/X:BAUD:8N1"),
	OPT("device", "unit", PW_CFG_INT, unit, 0, 255, "1",
	    "Modbus unit id (0..255 over TCP, 1..247 on a serial line)"),
	OPT("device", "rated_power_w", PW_CFG_INT, rated_power_w, 1, 100000000, NULL,
	    "rated power, W: energy deltas above rated power x time are rejected"),
	OPT("device", "poll_ms", PW_CFG_INT, poll_ms, 100, 60000, "1000", "poll period, ms"),
	OPT("device", "timeout_ms", PW_CFG_INT, timeout_ms, 100, 30000, "2000",
	    "Modbus response timeout, ms"),
	OPT("device", "backoff_max_ms", PW_CFG_INT, backoff_max_ms, 100, 600000, "60000",
	    "longest wait between reconnect attempts, ms"),
	OPT("device", "template", PW_CFG_STR, device_template, 0, 0, "sunspec",
	    "sunspec (discovery) or the name of a register-map template"),
	OPT("device", "template_dir", PW_CFG_STR, template_dir, 0, 0, "",
	    "folders of the templates, colon-separated; default: the installed ones, then "
	    "./templates"),
	OPT("device", "control", PW_CFG_BOOL, control, 0, 0, "off",
	    "limit the inverter's export when exporting earns less than export_floor "
	    "(SunSpec model 123; docs/agent.md \"Curtailment\")"),
	OPT("device", "export_floor", PW_CFG_MONEY, export_floor_uper_kwh, -1000000, 1000000, "0",
	    "with control on: limit export in intervals whose feed-in tariff is below this, "
	    "per kWh"),
	OPT("battery", "control", PW_CFG_BOOL, battery_control, 0, 0, "off",
	    "write the home battery's setpoints (SunSpec model 124; docs/agent.md \"Battery\")"),
	OPT("battery", "reserve_pct", PW_CFG_INT, battery_reserve_pct, 0, 99, "0",
	    "with control on: the battery never discharges at or below this state of charge, %"),
	OPT("battery", "grid_charge", PW_CFG_BOOL, battery_grid_charge, 0, 0, "off",
	    "with control on: the battery may charge from the grid (else from PV only)"),
	OPT("battery", "efficiency_pct", PW_CFG_INT, battery_efficiency_pct, 50, 100, "90",
	    "the battery's round-trip efficiency, % (the plan's loss from charge to discharge)"),
	OPT("battery", "wear_cost", PW_CFG_MONEY, battery_wear_uper_kwh, 0, 1000000, "0.03",
	    "the plan's cost of each kWh discharged (battery wear), per kWh"),
	OPT("battery", "capacity_wh", PW_CFG_INT, battery_capacity_wh, 0, 10000000, "0",
	    "the battery's usable capacity, Wh; 0: the device's"),
	OPT("battery", "max_charge_w", PW_CFG_INT, battery_max_charge_w, 0, 10000000, "0",
	    "the battery's maximum charge power, W; 0: the device's"),
	OPT("battery", "max_discharge_w", PW_CFG_INT, battery_max_discharge_w, 0, 10000000, "0",
	    "the battery's maximum discharge power, W; 0: the device's"),
	OPT("battery", "horizon_h", PW_CFG_INT, battery_horizon_h, 1, 48, "24",
	    "hours the battery's plan looks ahead"),
	OPT("meter", "url", PW_CFG_STR, meter_url, 0, 0, "",
	    "the grid meter when it is not the device: tcp://, rtu: (or another reader's "
	    "URL)"),
	OPT("meter", "template", PW_CFG_STR, meter_template, 0, 0, "sunspec",
	    "sunspec or the meter's register-map template"),
	OPT("meter", "unit", PW_CFG_INT, meter_unit, -1, 255, "-1",
	    "the meter's Modbus unit id; -1: the template's (else 1)"),
	OPT("meter", "timeout_ms", PW_CFG_INT, meter_timeout_ms, 0, 30000, "0",
	    "the meter's response timeout, ms; 0: the template's (else 2000)"),
	OPT("exchange", "request", PW_CFG_STR, request, 0, 0, NULL,
	    "exchange request endpoint (ROUTER), tcp://HOST:PORT"),
	OPT("exchange", "pub", PW_CFG_STR, pub, 0, 0, NULL,
	    "exchange market data endpoint (PUB), tcp://HOST:PORT"),
	OPT("exchange", "public_key", PW_CFG_KEY, public_key, 0, 0, NULL,
	    "the exchange's Ed25519 public key, 64 hex digits (pinned)"),
	OPT("exchange", "market_id", PW_CFG_INT, market_id, 0, INT64_MAX, NULL,
	    "market id (part of every signature)"),
	OPT("exchange", "interval_s", PW_CFG_INT, interval_s, 1, 86400, "900",
	    "trading interval length, s (as the exchange's)"),
	OPT("exchange", "gate_s", PW_CFG_INT, gate_s, 0, 86400, "60",
	    "gate closure before interval start, s (as the exchange's)"),
	OPT("exchange", "feedin_price", PW_CFG_MONEY, feedin_uper_kwh, INT32_MIN, INT32_MAX, "0",
	    "the exchange's feed-in price per kWh (ask floor, may be negative; 0 unknown)"),
	OPT("exchange", "retail_price", PW_CFG_MONEY, retail_uper_kwh, INT32_MIN, INT32_MAX, "0",
	    "the exchange's retail price per kWh (bid ceiling; 0 unknown)"),
	OPT("exchange", "reply_timeout_ms", PW_CFG_INT, reply_timeout_ms, 100, 600000, "3000",
	    "resend a request not answered within this time, ms"),
	OPT("exchange", "checkpoints", PW_CFG_STR, checkpoints, 0, 0, "",
	    "append every verified checkpoint to this file (for peerwatt-audit)"),
	OPT("policy", "auto_sell", PW_CFG_BOOL, auto_sell, 0, 0, "yes",
	    "offer the forecast surplus automatically"),
	OPT("policy", "safety_pct", PW_CFG_INT, safety_pct, 0, 100, "80",
	    "offer this share of the forecast, %"),
	OPT("policy", "reserve_wh", PW_CFG_INT, reserve_wh, 0, UINT32_MAX, "0",
	    "kept back per interval, Wh"),
	OPT("policy", "horizon", PW_CFG_INT, horizon, 1, 96, "2",
	    "intervals ahead to trade (1 = only the next open one)"),
	OPT("policy", "adjust_pct", PW_CFG_INT, adjust_pct, 0, 100, "10",
	    "re-offer when the wanted quantity moves more than this, %"),
	OPT("policy", "adjust_min_wh", PW_CFG_INT, adjust_min_wh, 0, UINT32_MAX, "1",
	    "... and more than this, Wh"),
	OPT("sim", "epoch", PW_CFG_INT, sim_epoch_s, 0, DEVCLOCK_MAX_EPOCH, "0",
	    "tests and demo: Unix time at which the devices' simulated clock read [sim] start"),
	OPT("sim", "speed", PW_CFG_INT, sim_speed, 1, DEVCLOCK_MAX_SPEED, "1",
	    "tests and demo: simulated seconds per real second (peerwatt-sim --speed)"),
	OPT("dashboard", "enabled", PW_CFG_BOOL, dash_enabled, 0, 0, "yes", "serve the dashboard"),
	OPT("dashboard", "listen", PW_CFG_STR, dash_listen, 0, 0, "127.0.0.1:8080",
	    "HOST:PORT of the dashboard"),
	OPT("dashboard", "token", PW_CFG_STR, dash_token, 0, 0, "",
	    "login token, required for a non-loopback listen address"),
	OPT("dashboard", "web_root", PW_CFG_STR, dash_web_root, 0, 0, "agent/web",
	    "directory of the dashboard's static files"),
	OPT("test", "clock_offset_s", PW_CFG_INT, clock_offset_s, -86400, 86400, "0",
	    "tests only: seconds added to the wall clock (to provoke clock skew)"),
};

/* Keys that the extra handler owns: bit per key, for "given twice". */
enum {
	X_STRATEGY = 1,
	X_SIGN = 2,
	X_LEVEL = 4,
	X_SIM_START = 8,
	X_MIN = 16,
	X_FIXED = 32,
	X_BAT_STRATEGY = 64
};

struct xctx {
	unsigned seen;
	int strategy_line;  /* line of [policy] strategy, 0 = default */
	int min_line;       /* line of [policy] min_price, 0 = default */
	int fixed_line;     /* line of [policy] fixed_price, 0 = default */
	int sim_start_line; /* line of [sim] start, 0 = default */
};

static pw_err
xfail(char *msg, size_t msglen, const char *fmt, const char *a, const char *b)
{
	snprintf(msg, msglen, fmt, a, b);
	return PW_ERR_CONFIG;
}

static pw_err
bid_key(struct aconfig *c, const char *bname, const char *name, const char *value, int line,
        char *msg, size_t msglen)
{
	struct aconfig_bid *b = NULL;
	int64_t v;
	unsigned bit;

	if (bname[0] == '\0' || strlen(bname) >= sizeof(b->name))
		return xfail(msg, msglen, "bid name \"%s\" must have 1..31 characters%s", bname,
		             "");
	for (size_t i = 0; i < c->n_bids; i++)
		if (strcmp(c->bids[i].name, bname) == 0)
			b = &c->bids[i];
	if (b == NULL) {
		if (c->n_bids == ACONFIG_MAX_BIDS)
			return xfail(msg, msglen, "[bid.%s]: more than 8 bids%s", bname, "");
		b = &c->bids[c->n_bids++];
		memset(b, 0, sizeof(*b));
		memcpy(b->name, bname, strlen(bname) + 1);
	}
	b->line = line; /* a key missing from the section is reported at its last line */
	if (strcmp(name, "qty_wh") == 0) {
		bit = 1;
		if (pw_parse_i64(value, 1, UINT32_MAX, &v) != PW_OK)
			return xfail(msg, msglen,
			             "qty_wh: \"%s\" is not an integer in 1..4294967295%s", value,
			             "");
		b->bid.qty_wh = (uint32_t)v;
	} else if (strcmp(name, "max_price") == 0) {
		bit = 2;
		if (policy_price_parse(value, &b->bid.max_base, &b->bid.max_price_uper_kwh) !=
		    PW_OK)
			return xfail(msg, msglen,
			             "max_price: \"%s\" is not a price like 0.25 or retail-0.05%s",
			             value, "");
	} else if (strcmp(name, "from") == 0 || strcmp(name, "to") == 0) {
		bit = name[0] == 'f' ? 4 : 8;
		if (policy_parse_tod(value, name[0] == 'f' ? &b->bid.from_s : &b->bid.to_s) !=
		    PW_OK)
			return xfail(msg, msglen, "%s: \"%s\" is not a time HH:MM", name, value);
	} else {
		return xfail(msg, msglen, "unknown key %s in [bid.%s]", name, bname);
	}
	if (b->set & bit)
		return xfail(msg, msglen, "%s: given twice in [bid.%s]", name, bname);
	b->set |= bit;
	return PW_OK;
}

static pw_err
extra(void *vctx, void *target, const char *section, const char *name, const char *value, int line,
      char *msg, size_t msglen)
{
	struct xctx *x = vctx;
	struct aconfig *c = target;
	unsigned bit = 0;

	if (strncmp(section, "bid.", 4) == 0)
		return bid_key(c, section + 4, name, value, line, msg, msglen);
	if (strcmp(section, "policy") == 0 &&
	    (strcmp(name, "min_price") == 0 || strcmp(name, "fixed_price") == 0)) {
		/* an absolute price or one relative to the interval's bounds */
		int fixed = name[0] == 'f';
		int32_t v;
		bit = fixed ? X_FIXED : X_MIN;
		*(fixed ? &x->fixed_line : &x->min_line) = line;
		if (policy_price_parse(value, fixed ? &c->fixed_base : &c->min_base, &v) != PW_OK)
			return xfail(msg, msglen,
			             "%s: \"%s\" is not a price like 0.25, feedin+0.03 or "
			             "retail-0.05",
			             name, value);
		*(fixed ? &c->fixed_price_uper_kwh : &c->min_price_uper_kwh) = v;
	} else if (strcmp(section, "policy") == 0 && strcmp(name, "strategy") == 0) {
		bit = X_STRATEGY;
		x->strategy_line = line;
		if (policy_strategy_parse(value, &c->strategy) != PW_OK)
			return xfail(msg, msglen, "strategy: \"%s\" is not min, fixed or follow%s",
			             value, "");
	} else if (strcmp(section, "battery") == 0 && strcmp(name, "strategy") == 0) {
		bit = X_BAT_STRATEGY;
		if (strcmp(value, "plan") == 0)
			c->battery_strategy = ACONFIG_BAT_PLAN;
		else if (strcmp(value, "self") == 0)
			c->battery_strategy = ACONFIG_BAT_SELF;
		else
			return xfail(msg, msglen, "strategy: \"%s\" is not plan or self%s", value,
			             "");
	} else if (strcmp(section, "device") == 0 && strcmp(name, "meter_sign") == 0) {
		bit = X_SIGN;
		if (strcmp(value, "auto") == 0)
			c->meter_sign = ACONFIG_SIGN_AUTO;
		else if (strcmp(value, "import_positive") == 0)
			c->meter_sign = ACONFIG_SIGN_IMPORT_POSITIVE;
		else if (strcmp(value, "export_positive") == 0)
			c->meter_sign = ACONFIG_SIGN_EXPORT_POSITIVE;
		else
			return xfail(msg, msglen,
			             "meter_sign: \"%s\" is not auto, import_positive or "
			             "export_positive%s",
			             value, "");
	} else if (strcmp(section, "sim") == 0 && strcmp(name, "start") == 0) {
		bit = X_SIM_START;
		x->sim_start_line = line;
		if (policy_parse_tod(value, &c->sim_start_s) != PW_OK || c->sim_start_s >= 86400)
			return xfail(msg, msglen,
			             "start: \"%s\" is not a time HH:MM (00:00..23:59)%s", value,
			             "");
	} else if (strcmp(section, "exchange") == 0 &&
	           (strcmp(name, "fee_min") == 0 || strcmp(name, "fee_max") == 0)) {
		/* obsolete: the agent checks each statement's fee exactly with
		 * the fees and zones of the log (agent/afee.c); an old
		 * configuration still loads, with a warning */
		if (c->obsolete_fee_line == 0)
			c->obsolete_fee_line = line;
		return PW_OK;
	} else if (strcmp(section, "log") == 0 && strcmp(name, "level") == 0) {
		bit = X_LEVEL;
		if (log_level_parse(value, &c->log_level) != 0)
			return xfail(msg, msglen,
			             "level: \"%s\" is not error, warning, info or debug%s", value,
			             "");
	} else {
		return PW_ERR_NOTFOUND; /* the loader names the unknown key */
	}
	if (x->seen & bit)
		return xfail(msg, msglen, "%s: given twice in [%s]", name, section);
	x->seen |= bit;
	return PW_OK;
}

/* Text for people: UTF-8 without control characters (the dashboard sends
 * it as JSON, which must be UTF-8). */
static int
name_ok(const char *s)
{
	json_t *j;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	j = json_string(s);
	json_decref(j);
	return j != NULL;
}

static int
endpoint_ok(const char *s)
{
	return strncmp(s, "tcp://", 6) == 0 || strncmp(s, "ipc://", 6) == 0;
}

static int
listen_is_loopback(const char *s)
{
	return strncmp(s, "127.", 4) == 0 || strncmp(s, "localhost:", 10) == 0 ||
	       strncmp(s, "[::1]:", 6) == 0;
}

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

/* The line of [sec] key in the file just read (0: its default); the later of two. */
#define LINE(sec, key) pw_config_line(opts, NOPTS, lines, sec, key)
#define LATER(a, b)    ((a) > (b) ? (a) : (b))

static pw_err
cross_fail(char *err, size_t errlen, const char *path, int line, const char *why)
{
	snprintf(err, errlen, "%s:%d: %s", path, line, why);
	return PW_ERR_CONFIG;
}

/*
 * Checks across keys, each reported at the line of the later of its keys
 * (at least one was given: the defaults agree with each other).
 */
static pw_err
cross_check(const struct aconfig *c, const int *lines, const struct xctx *x, char *err,
            size_t errlen)
{
	const char *p = c->path;
	char why[200];

	if (!name_ok(c->name))
		return cross_fail(err, errlen, p, LINE("household", "name"),
		                  "[household] name must be UTF-8 text without control characters");
	if (!endpoint_ok(c->request))
		return cross_fail(err, errlen, p, LINE("exchange", "request"),
		                  "[exchange] request must be a tcp:// or ipc:// endpoint");
	if (!endpoint_ok(c->pub))
		return cross_fail(err, errlen, p, LINE("exchange", "pub"),
		                  "[exchange] pub must be a tcp:// or ipc:// endpoint");
	/* the example's placeholder: no exchange has it, every handshake would fail */
	static const uint8_t zero_key[sizeof(c->public_key)];
	if (memcmp(c->public_key, zero_key, sizeof(zero_key)) == 0)
		return cross_fail(
		    err, errlen, p, LINE("exchange", "public_key"),
		    "[exchange] public_key is the all-zero placeholder: set the "
		    "exchange's key (its operator prints it with peerwatt-exchange -c "
		    "FILE --print-public-key)");
	/* over TCP any unit id reaches the device (255 is usual for a device
	 * addressed directly); on a serial bus only 1..247 are stations */
	struct mlink_url mu;
	if (c->modbus[0] != '\0' && mlink_url_parse(c->modbus, &mu) == PW_OK &&
	    mu.kind == MLINK_RTU && (c->unit < 1 || c->unit > 247))
		return cross_fail(err, errlen, p,
		                  LATER(LINE("device", "unit"), LINE("device", "modbus")),
		                  "[device] unit must be 1..247 on a serial (rtu:) link");
	if (strcmp(c->device_template, "sunspec") != 0 && !tmpl_name_ok(c->device_template))
		return cross_fail(err, errlen, p, LINE("device", "template"),
		                  "[device] template must be sunspec or a template name (a-z, "
		                  "0-9, '-')");
	if (strcmp(c->meter_template, "sunspec") != 0 && !tmpl_name_ok(c->meter_template))
		return cross_fail(err, errlen, p, LINE("meter", "template"),
		                  "[meter] template must be sunspec or a template name (a-z, "
		                  "0-9, '-')");
	if (c->meter_url[0] == '\0' &&
	    (LINE("meter", "template") || LINE("meter", "unit") || LINE("meter", "timeout_ms")))
		return cross_fail(err, errlen, p,
		                  LATER(LINE("meter", "template"),
		                        LATER(LINE("meter", "unit"), LINE("meter", "timeout_ms"))),
		                  "[meter] needs url (without it the device is the meter)");
	if (c->meter_url[0] != '\0') {
		struct mlink_url mm;
		bool modbus = mlink_url_parse(c->meter_url, &mm) == PW_OK;
		if (!dev_url_ok(c->meter_url))
			return cross_fail(
			    err, errlen, p, LINE("meter", "url"),
			    "[meter] url is not a meter this agent can read (tcp://HOST:PORT, "
			    "rtu:/dev/X:BAUD:8N1, p1:/dev/X[:BAUD], sml:/dev/X[:BAUD])");
		if (!modbus && strcmp(c->meter_template, "sunspec") != 0)
			return cross_fail(
			    err, errlen, p, LATER(LINE("meter", "template"), LINE("meter", "url")),
			    "[meter] template applies to Modbus (tcp://, rtu:) meters only");
		if (modbus && mm.kind == MLINK_RTU && c->meter_unit == 0)
			return cross_fail(err, errlen, p,
			                  LATER(LINE("meter", "unit"), LINE("meter", "url")),
			                  "[meter] unit must be 1..247 on a serial (rtu:) link");
		if (modbus && mm.kind == MLINK_RTU && c->meter_unit > 247)
			return cross_fail(err, errlen, p,
			                  LATER(LINE("meter", "unit"), LINE("meter", "url")),
			                  "[meter] unit must be 1..247 on a serial (rtu:) link");
	}
	if (c->gate_s >= c->interval_s)
		return cross_fail(err, errlen, p,
		                  LATER(LINE("exchange", "gate_s"), LINE("exchange", "interval_s")),
		                  "[exchange] gate_s must be below interval_s (as the exchange's)");
	if (c->retail_uper_kwh != 0 && c->feedin_uper_kwh > c->retail_uper_kwh)
		return cross_fail(
		    err, errlen, p,
		    LATER(LINE("exchange", "feedin_price"), LINE("exchange", "retail_price")),
		    "[exchange] feedin_price must not exceed retail_price");
	if (c->strategy == POLICY_PRICE_FIXED && x->fixed_line == 0)
		return cross_fail(err, errlen, p, x->strategy_line,
		                  "[policy] strategy fixed needs fixed_price");
	if (c->strategy == POLICY_PRICE_FIXED && c->fixed_base == POLICY_BASE_ABS &&
	    c->fixed_price_uper_kwh == 0)
		return cross_fail(err, errlen, p, LATER(x->strategy_line, x->fixed_line),
		                  "[policy] strategy fixed needs fixed_price other than 0 (or a "
		                  "relative one like feedin+0.02)");
	/* policy_offer_price makes no offer where the household's lowest price
	 * lies above retail: above a known retail it would never sell */
	int l_retail = LINE("exchange", "retail_price"),
	    l_feedin = LINE("exchange", "feedin_price");
	if (c->min_base == POLICY_BASE_ABS && c->retail_uper_kwh != 0 &&
	    c->min_price_uper_kwh > c->retail_uper_kwh)
		return cross_fail(err, errlen, p, LATER(x->min_line, l_retail),
		                  "[policy] min_price must not exceed [exchange] retail_price (no "
		                  "ask above retail is accepted)");
	if (c->strategy == POLICY_PRICE_FIXED && c->fixed_base == POLICY_BASE_ABS &&
	    c->retail_uper_kwh != 0 && c->fixed_price_uper_kwh > c->retail_uper_kwh)
		return cross_fail(
		    err, errlen, p, LATER(x->fixed_line, l_retail),
		    "[policy] fixed_price must not exceed [exchange] retail_price (no "
		    "ask above retail is accepted)");
	if ((c->min_base == POLICY_BASE_RETAIL && c->min_price_uper_kwh > 0) ||
	    (c->strategy == POLICY_PRICE_FIXED && c->fixed_base == POLICY_BASE_RETAIL &&
	     c->fixed_price_uper_kwh > 0))
		return cross_fail(err, errlen, p,
		                  c->min_base == POLICY_BASE_RETAIL ? x->min_line : x->fixed_line,
		                  "[policy] a price above retail never sells (no ask above "
		                  "retail is accepted): use retail minus an amount");
	for (size_t i = 0; i < c->n_bids; i++) {
		const struct aconfig_bid *b = &c->bids[i];
		if ((b->set & 3) != 3) {
			snprintf(why, sizeof(why), "[bid.%s] needs qty_wh and max_price", b->name);
			return cross_fail(err, errlen, p, b->line, why);
		}
		/* a standing bid above the registered import capacity would be
		 * refused by the exchange every interval (capacity) */
		uint64_t cap_wh = (uint64_t)c->max_import_w * (uint64_t)c->interval_s / 3600;
		if (b->bid.qty_wh > cap_wh) {
			snprintf(why, sizeof(why),
			         "[bid.%s] qty_wh %u is above the registered import capacity "
			         "([household] max_import_w x interval_s: %llu Wh per interval)",
			         b->name, b->bid.qty_wh, (unsigned long long)cap_wh);
			return cross_fail(err, errlen, p,
			                  LATER(b->line, LATER(LINE("household", "max_import_w"),
			                                       LINE("exchange", "interval_s"))),
			                  why);
		}
		if (b->bid.max_base == POLICY_BASE_FEEDIN && b->bid.max_price_uper_kwh < 0) {
			snprintf(why, sizeof(why),
			         "[bid.%s] max_price below feedin never buys (no bid below the "
			         "feed-in tariff is accepted): use feedin plus an amount",
			         b->name);
			return cross_fail(err, errlen, p, b->line, why);
		}
		/* standing bids go out at max_price: outside the tariffs every one
		 * would be refused (price_bounds) */
		if (b->bid.max_base == POLICY_BASE_ABS &&
		    ((c->retail_uper_kwh != 0 && b->bid.max_price_uper_kwh > c->retail_uper_kwh) ||
		     (c->feedin_uper_kwh != 0 && b->bid.max_price_uper_kwh < c->feedin_uper_kwh))) {
			snprintf(why, sizeof(why),
			         "[bid.%s] max_price must be within [exchange] feedin_price and "
			         "retail_price (the exchange refuses other bids)",
			         b->name);
			return cross_fail(err, errlen, p, LATER(b->line, LATER(l_retail, l_feedin)),
			                  why);
		}
	}
	/* [sim]: all or nothing, and a day of simulated time holds at least
	 * one interval (the forecast's profile is per time of day) */
	int l_epoch = LINE("sim", "epoch"), l_speed = LINE("sim", "speed");
	if (c->sim_epoch_s == 0 && (l_speed != 0 || x->sim_start_line != 0))
		return cross_fail(err, errlen, p, LATER(l_speed, x->sim_start_line),
		                  "[sim] start and speed need [sim] epoch (the Unix time at which "
		                  "the simulated clock read start)");
	if (c->sim_epoch_s != 0 && (uint64_t)c->interval_s * (uint64_t)c->sim_speed > 86400)
		return cross_fail(err, errlen, p,
		                  LATER(LATER(l_epoch, l_speed), LINE("exchange", "interval_s")),
		                  "[sim] speed x [exchange] interval_s must not exceed a day "
		                  "(86400 simulated seconds)");
	/* without its page the dashboard would serve nothing: say so now */
	if (c->dash_enabled) {
		struct stat st;
		char idx[sizeof(c->dash_web_root) + 16];
		snprintf(idx, sizeof(idx), "%s/index.html", c->dash_web_root);
		if (stat(c->dash_web_root, &st) != 0 || !S_ISDIR(st.st_mode) ||
		    stat(idx, &st) != 0 || !S_ISREG(st.st_mode)) {
			snprintf(why, sizeof(why),
			         "[dashboard] web_root %.80s is not a directory with index.html "
			         "(make install puts the page in PREFIX/share/peerwatt/web)",
			         c->dash_web_root);
			return cross_fail(
			    err, errlen, p,
			    LATER(LINE("dashboard", "web_root"), LINE("dashboard", "enabled")),
			    why);
		}
	}
	if (c->dash_enabled && !listen_is_loopback(c->dash_listen) && c->dash_token[0] == '\0') {
		snprintf(why, sizeof(why), "[dashboard] listen %s is not loopback: set a token",
		         c->dash_listen);
		return cross_fail(err, errlen, p,
		                  LATER(LINE("dashboard", "listen"), LINE("dashboard", "enabled")),
		                  why);
	}
	return PW_OK;
}

/* The dashboard token is a password: warn when the file holding it can be
 * read by others than the agent (world-readable, or group-readable by a
 * group the agent does not run as). */
static void
warn_readable_token(const struct aconfig *c)
{
	struct stat st;

	if (c->dash_token[0] == '\0' || stat(c->path, &st) != 0)
		return;
	if ((st.st_mode & S_IROTH) != 0 || ((st.st_mode & S_IRGRP) != 0 && st.st_gid != getegid()))
		log_warnx("%s: the [dashboard] token sits in a file others can read (mode %03o): "
		          "chmod 600 it, or 640 with the agent's group",
		          c->path, (unsigned)(st.st_mode & 0777));
}

pw_err
aconfig_load(const char *path, struct aconfig *cfg, char *err, size_t errlen)
{
	struct aconfig tmp;
	struct xctx x = { 0 };
	int lines[NOPTS];
	pw_err rc;

	if (strlen(path) >= sizeof(tmp.path)) {
		snprintf(err, errlen, "%.64s...:0: path too long", path);
		return PW_ERR_CONFIG;
	}
	/* Defaults of the keys the extra handler owns (the loader keeps them). */
	memset(&tmp, 0, sizeof(tmp));
	tmp.strategy = POLICY_PRICE_MIN;
	tmp.battery_strategy = ACONFIG_BAT_PLAN;
	tmp.meter_sign = ACONFIG_SIGN_AUTO;
	tmp.log_level = LOG_LEVEL_INFO;
	memcpy(tmp.path, path, strlen(path) + 1);
	rc = pw_config_load(path, opts, NOPTS, &tmp, sizeof(tmp), extra, &x, lines, err, errlen);
	if (rc != PW_OK)
		return rc;
	if ((rc = cross_check(&tmp, lines, &x, err, errlen)) != PW_OK)
		return rc;
	warn_readable_token(&tmp);
	if (tmp.obsolete_fee_line != 0)
		log_warnx("%s:%d: [exchange] fee_min and fee_max are obsolete and ignored: the"
		          " agent checks each statement's grid fee exactly, with the fees and zones"
		          " the exchange's log states",
		          path, tmp.obsolete_fee_line);
	tmp.unit_given = LINE("device", "unit") != 0;
	*cfg = tmp;
	return PW_OK;
}

void
aconfig_devclock(const struct aconfig *cfg, struct devclock *c)
{
	devclock_local(c);
	/* the ranges were checked when the file was loaded */
	if (cfg->sim_epoch_s != 0 &&
	    devclock_sim(c, cfg->sim_epoch_s, cfg->sim_start_s, (uint32_t)cfg->sim_speed) != PW_OK)
		devclock_local(c);
}

void
aconfig_policy(const struct aconfig *cfg, struct policy_params *p)
{
	/* the registered capacity, and never more than the rated power
	 * delivers in an interval */
	int64_t w = cfg->max_export_w < cfg->rated_power_w ? cfg->max_export_w : cfg->rated_power_w;
	uint64_t cap = (uint64_t)w * (uint64_t)cfg->interval_s / 3600;

	memset(p, 0, sizeof(*p));
	p->strategy = cfg->strategy;
	/* each within int32 (the option ranges above) */
	p->min_price_uper_kwh = (int32_t)cfg->min_price_uper_kwh;
	p->min_base = cfg->min_base;
	p->fixed_price_uper_kwh = (int32_t)cfg->fixed_price_uper_kwh;
	p->fixed_base = cfg->fixed_base;
	p->safety_pct = (uint32_t)cfg->safety_pct;
	p->reserve_wh = (uint64_t)cfg->reserve_wh;
	p->capacity_wh = cap;
	p->adjust_pct = (uint32_t)cfg->adjust_pct;
	p->adjust_min_wh = (uint64_t)cfg->adjust_min_wh;
}
