/*
 * policy.h: the agent's trading decisions, as pure functions (no I/O, no
 * clock): how much to offer and at what price for an interval, whether an
 * open offer must be adjusted or cancelled because the forecast moved, and
 * which standing bids apply.  Called by agentd before each gate closure;
 * the rules are documented in docs/agent.md "Selling policy".
 * Thread-safe (no state).
 */
#ifndef AGENT_POLICY_H
#define AGENT_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "peerwatt/error.h"

enum policy_strategy {
	POLICY_PRICE_MIN = 0, /* offer at the minimum price */
	POLICY_PRICE_FIXED,   /* offer at a fixed price */
	POLICY_PRICE_FOLLOW,  /* offer at the last clearing price, never below min */
};

/*
 * What a configured price is measured from (docs/agent-energy.md "Prices relative
 * to the interval's bounds"): an absolute price, or an offset from the
 * feed-in tariff (the interval's price floor) or the retail tariff (its
 * ceiling) of the interval the order is for.  "feedin+0.03" is
 * { POLICY_BASE_FEEDIN, 30000 }, "retail-0.05" { POLICY_BASE_RETAIL, -50000 }.
 */
enum policy_base {
	POLICY_BASE_ABS = 0,
	POLICY_BASE_FEEDIN,
	POLICY_BASE_RETAIL,
};

/* The exchange's bounds of one interval: feed-in <= every price <=
 * retail.  Either may be negative; known 0 means "not known for this
 * interval" (a relative price then has no value). */
struct policy_bounds {
	int known;
	int32_t feedin_uper_kwh, retail_uper_kwh;
};

struct policy_params {
	enum policy_strategy strategy;
	/* prices may be negative (a seller paying to export, docs/market.md);
	 * each is an absolute price or, by its base, an offset from the
	 * interval's feed-in or retail tariff */
	int32_t min_price_uper_kwh;
	enum policy_base min_base;
	int32_t fixed_price_uper_kwh;
	enum policy_base fixed_base;
	uint32_t safety_pct;    /* offer this share of the forecast, 0..100 */
	uint64_t reserve_wh;    /* kept back per interval */
	uint64_t capacity_wh;   /* registered max export x interval length */
	uint32_t adjust_pct;    /* re-offer only when qty moves more than this */
	uint64_t adjust_min_wh; /* ... and more than this many Wh */
};

struct policy_offer {
	uint32_t qty_wh; /* 0 = none */
	int32_t price_uper_kwh;
};

/* Offer quantity: firm forecast (forecast_firm_wh: the forecast less its
 * expected error) * safety - reserve, clamped to [0, capacity] and to
 * UINT32_MAX (the wire's width). */
uint32_t policy_offer_qty(const struct policy_params *p, uint64_t forecast_export_wh);

/* What the agent knows, now, about its ability to deliver. */
struct policy_supply {
	int device_ok;           /* the meter was read recently (not unreachable) */
	int has_pv;              /* the inverter reports its AC power ... */
	int64_t pv_w;            /* ... and this is it */
	int have_last;           /* an interval's export has been measured ... */
	uint64_t last_export_wh; /* ... and this is the latest */
	int meter_suspect;       /* the meter's last sample was refused (agent/mcheck.h) */
	int battery;             /* a home battery: the export may be its, not the PV's */
	/* the battery (policy_battery_block only) */
	int battery_failed; /* its setpoint is not in force (ASTATUS_BATTERY_FAILED) */
	int soc_known;      /* its state of charge was read */
};

enum policy_block {
	POLICY_SELL_OK = 0,
	POLICY_SELL_DEVICE_DOWN, /* meter or inverter unreachable */
	POLICY_SELL_NO_SUPPLY,   /* PV produces nothing and nothing was exported */
	POLICY_SELL_METER_FAULT, /* the meter's registers jumped: samples are refused */
	/* offers of stored energy only (policy_battery_block) */
	POLICY_SELL_BATTERY_FAILED, /* the battery's setpoint is not in force */
	POLICY_SELL_SOC_UNKNOWN,    /* the battery's state of charge is not known */
};

/*
 * Whether the household may offer energy at all (docs/agent.md "Selling
 * policy"): not while its device is unreachable (no reading can be signed,
 * and the exchange settles a missing reading as nothing delivered), and not
 * while its PV produces nothing and the last measured interval exported
 * nothing (night), or, with a home battery, while its PV produces nothing
 * whatever was exported (the battery's export is offered by its own offer,
 * policy_battery_offers, never as PV), and not while the meter's samples
 * are refused as implausible.  A blocked
 * household's open automatic offers are cancelled.
 */
enum policy_block policy_sell_block(const struct policy_supply *s);

/*
 * Whether the household may offer stored energy (the battery plan's sell
 * steps, docs/agent.md "Selling policy"): not while the device is
 * unreachable or the meter's samples are refused (as above), nor while the
 * battery's setpoint is not in force (the plan's discharge may not happen)
 * or its state of charge is unknown (nothing proves the energy is there).
 * No production is no block: stored energy is sold at night.
 */
enum policy_block policy_battery_block(const struct policy_supply *s);

/* "ok" | "device_unreachable" | "no_production" | "meter_implausible" |
 * "battery_failed" | "soc_unknown" (stable, for the API). */
const char *policy_block_name(enum policy_block b);

/*
 * A configured price for one interval: `v` itself (base ABS) or the
 * interval's feed-in / retail tariff plus `v`.  PW_OK and *out;
 * PW_ERR_NOTFOUND when relative and the bounds are not known;
 * PW_ERR_RANGE when the sum leaves the wire's i32.
 */
pw_err policy_price_eval(enum policy_base base, int32_t v, const struct policy_bounds *b,
                         int32_t *out) __attribute__((warn_unused_result));

/*
 * The ask of the strategy for an interval with bounds `b`: the lowest
 * price the household accepts is min_price (strategies min and follow)
 * or fixed_price (fixed), each evaluated in `b`; follow asks the last
 * clearing price (`have_last`, `last_clearing_uper_kwh`, any sign) when it
 * is higher.  An ask below the feed-in tariff is raised to it (the
 * exchange refuses lower asks, and the household gets more).  1 and
 * *price; 0 when no offer may be made: the lowest acceptable price lies
 * above the interval's retail tariff (no ask above retail is accepted,
 * and lowering it would sell below what the household accepts), or a
 * relative price meets unknown bounds.  Never returns a price outside
 * known bounds.
 */
int policy_offer_price(const struct policy_params *p, const struct policy_bounds *b, int have_last,
                       int32_t last_clearing_uper_kwh, int32_t *price);

enum policy_action {
	POLICY_KEEP = 0, /* nothing to do */
	POLICY_PLACE,    /* no open offer: place `want` */
	POLICY_CANCEL,   /* open offer, want none: cancel it */
	POLICY_REPLACE,  /* cancel the open offer, then place `want` */
};

/* Decide what to do with the open offer `open` (qty 0 = none) given the
 * wanted offer `want` (qty 0 = none).  A change of price, or of quantity
 * beyond both adjust thresholds, replaces; a wanted qty below the open one
 * by any amount beyond the thresholds always replaces (never over-sell). */
enum policy_action policy_decide(const struct policy_params *p, const struct policy_offer *open,
                                 const struct policy_offer *want);

/* ---- offers of stored energy (docs/agent.md "Selling policy") ------ */

/* The battery plan's step for one interval (agent/bplan.h), as the
 * offers see it. */
struct policy_bstep {
	int64_t sell_wh;       /* stored energy the plan sells (firm); <= 0: none */
	int64_t charge_wh;     /* energy the plan stores: not also offered as PV */
	int32_t keep_uper_kwh; /* what a kWh kept is worth: never sold below it */
};

/*
 * The price of an offer of stored energy in an interval with bounds `b`:
 * the higher of the household's ask (policy_offer_price) and the plan's
 * keep value, raised to the feed-in tariff.  1 and *price; 0 when no offer
 * may be made: the bounds are not known, or that price lies above the
 * interval's retail tariff (keeping the energy is worth more than any
 * neighbour may pay).
 */
int policy_battery_price(const struct policy_bounds *b, int32_t ask_uper_kwh, int32_t keep_uper_kwh,
                         int32_t *price);

/*
 * The two sell offers of a battery household for one interval.  In: *pv,
 * the auto-sell offer as policy_offer_qty and policy_offer_price make it
 * (qty 0: none); `s` the plan's step (NULL: none); `bat_ok` when
 * policy_battery_block allows; `have_ask` and `ask` the household's ask
 * for the interval (policy_offer_price).  Out: *pv less the energy the
 * plan stores, *bat the offer of stored energy (qty 0: none): s->sell_wh
 * at policy_battery_price.  Together within p->capacity_wh (the exchange
 * refuses more): the stored energy first (the plan discharges it whatever
 * is sold), the PV offer the rest.
 */
void policy_battery_offers(const struct policy_params *p, const struct policy_bounds *b,
                           const struct policy_bstep *s, int bat_ok, int have_ask, int32_t ask,
                           struct policy_offer *pv, struct policy_offer *bat);

/*
 * What to do with both sell offers of one interval, [0] the PV's and [1]
 * the battery's: act[i] is policy_decide(open[i], want[i]), except that an
 * offer kept by the hysteresis is replaced when the two would otherwise
 * exceed p->capacity_wh (the exchange sums a household's open sells of an
 * interval against it).  *first is the one to carry out first: the one
 * that shrinks, so that the exchange never holds more than the capacity in
 * between (a CANCEL and the ORDER after it arrive in order).
 * want[0].qty_wh + want[1].qty_wh <= capacity (policy_battery_offers).
 */
void policy_decide_pair(const struct policy_params *p, const struct policy_offer open[2],
                        const struct policy_offer want[2], enum policy_action act[2], int *first);

/* A standing bid: buy up to qty_wh per interval at most max_price between
 * from_s and to_s (seconds of the local day; from > to wraps midnight,
 * from == to means all day). */
struct policy_bid {
	uint32_t qty_wh;
	int32_t max_price_uper_kwh; /* the price, or the offset from max_base */
	enum policy_base max_base;
	uint32_t from_s, to_s;
};

/*
 * The limit of a bid for an interval with bounds `b`: max_price evaluated
 * in `b`, lowered to the retail tariff when above it (the exchange refuses
 * higher bids; the household pays no more).  1 and *price; 0 when no bid
 * may be made: the limit is below the interval's feed-in tariff (the
 * exchange refuses it, and raising it would pay more than the household
 * accepts), or a relative limit meets unknown bounds.
 */
int policy_bid_price(enum policy_base base, int32_t max_price_uper_kwh,
                     const struct policy_bounds *b, int32_t *price);

/* 1 when the interval starting at local time-of-day `tod_s` is in the
 * bid's window. */
int policy_bid_active(const struct policy_bid *b, uint32_t tod_s);

/* "min" | "fixed" | "follow"; PW_ERR_PARSE otherwise. */
pw_err policy_strategy_parse(const char *s, enum policy_strategy *out)
    __attribute__((warn_unused_result));
const char *policy_strategy_name(enum policy_strategy s);

/* A configured price: "0.25", "-0.02" (absolute), "feedin", "retail",
 * "feedin+0.03", "retail - 0.05" (spaces around the sign allowed).
 * PW_ERR_PARSE otherwise, PW_ERR_RANGE beyond the i32 micro-units. */
pw_err policy_price_parse(const char *s, enum policy_base *base, int32_t *v)
    __attribute__((warn_unused_result));
/* "abs" | "feedin" | "retail" (stable, for the API) and back. */
const char *policy_base_name(enum policy_base b);
pw_err policy_base_parse(const char *s, enum policy_base *out) __attribute__((warn_unused_result));
/* The price as configured, "0.25", "feedin + 0.03", "retail - 0.05". */
void policy_price_format(enum policy_base base, int32_t v, char *out, size_t cap);

/* "HH:MM" (00:00..24:00) to seconds of the day; PW_ERR_PARSE otherwise. */
pw_err policy_parse_tod(const char *s, uint32_t *tod_s) __attribute__((warn_unused_result));

#endif
