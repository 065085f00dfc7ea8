/*
 * tests/tools/pw-dashdemo/demo.h: what the parts of pw-dashdemo share (the
 * fake household's state and the functions one part calls in another):
 *   main.c     options, the dashboard and the loop
 *   world.c    the fake world: power, the market's clearing, the actions of
 *              the page (bid, cancel, settings)
 *   docs.c     the JSON documents the page reads (as agent/dash.h says them)
 *   battery.c  the fake battery and its plan (--battery, --battery-off)
 *
 * What the tool does and its options: main.c.
 */
#ifndef PW_DASHDEMO_H
#define PW_DASHDEMO_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "agent/dash.h"

#define DEMO_MAX_ORDERS     512
#define DEMO_MAX_TRADES     256
#define DEMO_MAX_STATEMENTS 256
#define DEMO_HISTORY        48
#define DEMO_RETAIL         320000 /* uper_kwh */
#define DEMO_FEED_IN        80000
#define DEMO_FEED_IN_NEG    (-50000) /* --negative */
#define DEMO_FEE            10000    /* grid fee per kWh, paid by the buyer */
#define DEMO_MAX_IMPORT_WH  20000    /* per interval */
#define DEMO_PAGE           20       /* rows of a page, as the agent's */
#define DEMO_SUMS           8        /* running sums of Today and all time */
#define DEMO_ENERGY         96       /* intervals of the energy chart */

struct demo_order {
	uint64_t seq, interval, qty_wh;
	int32_t price;
	char side[5];
	char status[10];
	bool is_auto;
	int age; /* seconds since placed: verified after one */
};

struct demo_trade {
	uint64_t interval, qty_wh;
	int32_t price;
	bool buy;
	int64_t amount_u, fee_u;
};

struct demo_statement {
	uint64_t interval;
	int64_t traded_wh, fees_u, net_u, baseline_u;
	int64_t battery_sold_wh; /* of the energy sold, what came from the battery */
	int age;
};

/* Energy of one cleared interval, for the Today chart. */
struct demo_energy {
	uint64_t interval;
	int64_t pv_wh, house_wh, bought_wh, sold_wh, battery_sold_wh;
};

/* The fake battery (battery.c): 10 kWh, a reserve of 10 %, on a fake
 * devices' clock on which each interval lasts 30 minutes and the interval
 * under way at start begins at 19:00 (so the 12 intervals of history before
 * it are 13:00-18:30: storing at midday, selling from 17:00). */
struct demo_battery {
	bool on;             /* --battery or --battery-off */
	bool control_off;    /* --battery-off: [battery] control = off, no plan */
	bool paused;         /* --battery-paused: its offers paused (battery_failed) */
	uint64_t start_iv;   /* the interval that began at 19:00 */
	int64_t stored_wh;   /* now */
	int64_t power_w;     /* > 0 discharging, < 0 charging */
	int64_t today_wh[3]; /* charged, discharged, sold today */
	uint64_t today_day;  /* first interval of the day of today_wh */
};

struct demo {
	struct dash *dash;
	unsigned interval_s;
	bool exchange_down, inverter_down, no_pv;
	bool negative;   /* --negative: feed-in and clearing prices below zero */
	bool no_outlook; /* --no-outlook: the exchange sent no price outlook */
	uint64_t seq;
	unsigned rng;
	int64_t pv_w, house_w;
	struct dash_settings settings;
	struct demo_order orders[DEMO_MAX_ORDERS];
	size_t norders;
	struct demo_trade trades[DEMO_MAX_TRADES];
	size_t ntrades;
	struct demo_statement stmts[DEMO_MAX_STATEMENTS];
	size_t nstmts;
	uint64_t hist_interval[DEMO_HISTORY];
	int32_t hist_price[DEMO_HISTORY];
	uint64_t hist_volume[DEMO_HISTORY];
	size_t nhist;
	struct demo_energy energy[DEMO_ENERGY];
	size_t nenergy;
	/* running sums of every statement and of the day's (sold, bought,
	 * earned, paid, net, saving, count, sold from the battery): the rings
	 * above forget */
	int64_t all_sums[DEMO_SUMS], day_sums[DEMO_SUMS];
	uint64_t sums_day; /* first interval of the day of day_sums */
	struct demo_battery bat;
};

/* world.c */
uint64_t demo_now_interval(const struct demo *dm);
unsigned demo_rand(struct demo *dm, unsigned mod);
int32_t demo_feed_in(const struct demo *dm);
int32_t demo_price(const struct demo *dm, uint64_t i);
int64_t demo_amount(uint64_t qty_wh, int32_t price);
bool demo_order_open(const struct demo_order *o);
uint64_t demo_day_first(const struct demo *dm);
void demo_tick_power(struct demo *dm);
void demo_clear_interval(struct demo *dm, uint64_t i);
void demo_tick(struct demo *dm, uint64_t *last_interval);
pw_err demo_bid(void *ctx, const struct dash_bid *bid, uint64_t *seq_out, char *msg, size_t cap);
pw_err demo_cancel(void *ctx, uint64_t seq, char *msg, size_t cap);
pw_err demo_settings(void *ctx, const struct dash_settings *s, char *msg, size_t cap);
void demo_metrics(void *ctx, FILE *out);

/* battery.c */
void demo_bat_init(struct demo *dm, bool control_off);
int64_t demo_bat_clear(struct demo *dm, uint64_t i);
void demo_bat_tick(struct demo *dm);
json_t *demo_bat_state(struct demo *dm);
json_t *demo_bat_plan(struct demo *dm);

/* docs.c */
json_t *demo_get(void *ctx, enum dash_doc doc);
json_t *demo_older(void *ctx, enum dash_doc doc, uint64_t before);

#endif
