/*
 * aconfig.h: the agent's configuration file (INI, read by the table-driven
 * loader of peerwatt/config.h).  Owns the option table, its defaults and
 * ranges, and the checks that need more than one key.  Called by agentd at
 * start and on SIGHUP (all-or-nothing: a bad file keeps the old config) and
 * by `peerwatt-agent -c FILE --check-config`.  docs/agent.md lists every key;
 * config/agent.conf.example shows them.  Thread-safe (no shared state).
 */
#ifndef AGENT_ACONFIG_H
#define AGENT_ACONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "agent/devclock.h"
#include "agent/policy.h"
#include "peerwatt/config.h"
#include "peerwatt/error.h"
#include "peerwatt/keys.h"
#include "peerwatt/log.h"
#include "peerwatt/wire.h"

#define ACONFIG_MAX_BIDS 8
#define ACONFIG_PATH_LEN 256
#define ACONFIG_URL_LEN  128
#define ACONFIG_NAME_LEN 49 /* [household] name: up to 48 bytes of UTF-8 */

enum aconfig_meter_sign {
	ACONFIG_SIGN_AUTO = 0,
	ACONFIG_SIGN_IMPORT_POSITIVE,
	ACONFIG_SIGN_EXPORT_POSITIVE,
};

/* [battery] strategy (docs/agent-energy.md "Battery") */
enum aconfig_bat_strategy {
	ACONFIG_BAT_PLAN = 0, /* the agent's plan (agent/bplan.h) */
	ACONFIG_BAT_SELF,     /* the battery's own controller, the reserve kept */
};

struct aconfig_bid {
	char name[32];
	struct policy_bid bid;
	unsigned set; /* bit per key given: qty, price, from, to */
	int line;     /* line of its last key (for the check across keys) */
};

struct aconfig {
	/* [household] */
	char name[ACONFIG_NAME_LEN]; /* shown on the dashboard ("" = the serial) */
	char key_file[ACONFIG_PATH_LEN];
	char db[ACONFIG_PATH_LEN];
	char serial[PW_SERIAL_LEN + 1]; /* registered meter serial ("" = the device's) */
	char zone[PW_TOKEN_LEN];        /* registered zone ("" = not checked) */
	int64_t max_export_w;           /* registered capacity */
	int64_t max_import_w;
	/* [device] */
	char modbus[ACONFIG_URL_LEN];
	int64_t unit;
	int64_t rated_power_w; /* plausibility of energy deltas */
	int64_t poll_ms;
	int64_t timeout_ms;
	int64_t backoff_max_ms;
	enum aconfig_meter_sign meter_sign;
	char device_template[33];            /* "sunspec" (discovery) or a template */
	char template_dir[ACONFIG_PATH_LEN]; /* "" = the default search path */
	int unit_given;                      /* [device] unit set (else the template's) */
	int control; /* write export limits (docs/agent-energy.md "Curtailment") */
	int64_t export_floor_uper_kwh; /* ... when feed-in is below this */
	/* [battery]: setpoints through SunSpec model 124 (docs/agent-energy.md "Battery") */
	int battery_control;
	int64_t battery_reserve_pct; /* never discharge at or below it */
	int battery_grid_charge;     /* charging may draw from the grid */
	enum aconfig_bat_strategy battery_strategy;
	int64_t battery_efficiency_pct; /* round trip, 50..100 */
	int64_t battery_wear_uper_kwh;  /* per kWh discharged */
	int64_t battery_capacity_wh;    /* 0: the device's */
	int64_t battery_max_charge_w;   /* 0: the device's */
	int64_t battery_max_discharge_w;
	int64_t battery_horizon_h; /* the plan's horizon, 1..48 h */
	/* [meter]: a grid meter apart from the device ("" = the device's own) */
	char meter_url[ACONFIG_URL_LEN];
	char meter_template[33];
	int64_t meter_unit;       /* -1: the template's, else 1 */
	int64_t meter_timeout_ms; /* 0: the template's, else 2000 */
	/* [exchange] */
	char request[ACONFIG_URL_LEN]; /* ROUTER endpoint */
	char pub[ACONFIG_URL_LEN];     /* PUB endpoint */
	uint8_t public_key[PW_PK_LEN]; /* pinned exchange key */
	int64_t market_id;
	int64_t interval_s;
	int64_t gate_s;
	int64_t feedin_uper_kwh; /* price bounds (0 = unknown) */
	int64_t retail_uper_kwh;
	int obsolete_fee_line; /* line of an obsolete [exchange] fee_min/fee_max (ignored), 0 none
	                        */
	int64_t reply_timeout_ms;
	char checkpoints[ACONFIG_PATH_LEN]; /* checkpoint file for peerwatt-audit */
	/* [policy] */
	int auto_sell;
	enum policy_strategy strategy;
	int64_t min_price_uper_kwh; /* the price, or the offset from min_base */
	enum policy_base min_base;
	int64_t fixed_price_uper_kwh; /* likewise */
	enum policy_base fixed_base;
	int64_t safety_pct;
	int64_t reserve_wh;
	int64_t horizon; /* intervals ahead to trade */
	int64_t adjust_pct;
	int64_t adjust_min_wh;
	/* [bid.NAME] */
	struct aconfig_bid bids[ACONFIG_MAX_BIDS];
	size_t n_bids;
	/* [sim] (tests and demo): the devices' simulated clock */
	int64_t sim_epoch_s; /* 0: the local wall clock */
	uint32_t sim_start_s;
	int64_t sim_speed;
	/* [dashboard] */
	int dash_enabled;
	char dash_listen[64];
	char dash_token[128];
	char dash_web_root[ACONFIG_PATH_LEN];
	/* [log] */
	enum log_level log_level;
	/* [test] */
	int64_t clock_offset_s; /* added to the wall clock; tests only */
	/* where it came from, for messages */
	char path[ACONFIG_PATH_LEN];
};

/*
 * Load `path` into `cfg`.  On error `err` holds "file:line: message" and
 * `cfg` is unchanged (PW_ERR_CONFIG for bad content, PW_ERR_NOTFOUND /
 * PW_ERR_IO when unreadable).
 */
pw_err aconfig_load(const char *path, struct aconfig *cfg, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The devices' clock the config implies ([sim], else the local clock). */
void aconfig_devclock(const struct aconfig *cfg, struct devclock *c);

/* The policy parameters the config implies (capacity from max_export_w). */
void aconfig_policy(const struct aconfig *cfg, struct policy_params *p);

#endif
