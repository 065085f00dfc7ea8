/*
 * dash.h: the neighbour's web dashboard served by peerwatt-agent.
 *
 * Owns the HTTP server (libmicrohttpd), the JSON API under /api/, the
 * Server-Sent Events stream /api/events, /metrics, the static page of
 * agent/web/ and the HTTP security rules (token login, CSRF, same origin,
 * bounded bodies, security headers).  It owns no market state: every
 * document and every action goes through the `struct dash_ops` callbacks the
 * agent supplies.  Called by the agent daemon (agent/agentd.c) and by the
 * test harness tests/tools/pw-dashdemo/.
 *
 * Threading: none.  libmicrohttpd runs in external-polling mode with epoll:
 * the agent adds dash_fd() to its zmq_poll set (ZMQ_POLLIN), and calls
 * dash_run() when that fd is readable or when dash_timeout_ms() has passed.
 * All callbacks therefore run in the caller's thread, inside dash_run(), so
 * the agent needs no locking.  Callbacks must not call dash_destroy(); they
 * may call dash_publish()/dash_notify().
 *
 * Documents (JSON objects returned by dash_ops.get; numbers are integers;
 * keys not listed are passed through to the page untouched):
 *
 *   DASH_DOC_STATE       {"household": str (the name), "now": unix s, "interval": i,
 *                         "interval_s": L, "pv_w": W|null, "house_w": W|null,
 *                         "grid_w": W|null  (> 0 import from grid, < 0 export),
 *                         "surplus_w": W|null, "forecast_wh": Wh|null,
 *                         "exchange": {"reachable": bool, "detail": str},
 *                         "inverter": {"reachable": bool, "detail": str},
 *                         "problems": [{"code": str, "message": str,
 *                                       "action": str}] (docs/agent.md
 *                         "Status"; [] when nothing is wrong),
 *                         "registry": null|{"id", "name", "zone", "serial",
 *                                   "max_export_w", "max_import_w", "revoked",
 *                                   "log_index", "proven", "tree_size",
 *                                   "mismatch", "text"} (docs/agent.md
 *                         "Registry entry"),
 *                         "has_pv": bool (an inverter: the auto-sell card),
 *                         "forecast_firm_wh": Wh (what auto-sell would offer
 *                         from, before safety_pct and reserve),
 *                         "curtailment": {"enabled", "limiting", "limit_w",
 *                                         "why", "floor_uper_kwh", "events"}
 *                         (agent/actl.c, docs/agent-energy.md "Curtailment"),
 *                         "sell_paused": null|"device_unreachable"|
 *                                        "no_production",
 *                         "clock": {"time_of_day": "HH:MM", "tod_s": s,
 *                                   "simulated": bool, "epoch": unix s,
 *                                   "start_s": s, "speed": x}}
 *                        ("clock" is the devices' time of day, [sim]).
 *                        The dashboard adds "csrf" (the CSRF token).
 *   DASH_DOC_MARKET      {"currency": "EUR", "retail_uper_kwh": p,
 *                         "feed_in_uper_kwh": p, "next_interval": i (the
 *                         first interval still open for orders),
 *                         "prices": [{"interval": i, "start": s,
 *                                     "price_uper_kwh": p, "volume_wh": q}],
 *                         "depth": [{"interval": i, "start": s, "gate_close": s,
 *                                    "bids": [{"price_uper_kwh": p, "qty_wh": q}],
 *                                    "asks": [...]}]}
 *   DASH_DOC_ORDERS      {"orders": [{"seq": n, "side": "buy"|"sell",
 *                         "interval": i, "qty_wh": q, "price_uper_kwh": p,
 *                         "status": "queued"|"pending"|"acked"|"rejected"|
 *                                   "partial"|"filled"|"cancelled"|"expired"|
 *                                   "missed",
 *                         "auto": bool (placed by the agent: auto-sell,
 *                         an offer of stored energy, a standing bid),
 *                         "reason": str (REJECT reason; "not yet at the
 *                         exchange" when queued; "exchange unreachable" when
 *                         missed), "verified": bool|null}],
 *                         "more": bool, "before": i|null}  (every open order,
 *                         then the latest page of finished ones)
 *   DASH_DOC_TRADES      {"trades": [{"interval": i, "side": "buy"|"sell",
 *                         "qty_wh": q, "price_uper_kwh": p, "amount_u": m,
 *                         "fee_u": m|null}], "more": bool, "before": i|null}
 *   DASH_DOC_STATEMENTS  {"statements": [{"interval": i, "traded_wh": q
 *                         (> 0 bought, < 0 sold), "delivered_wh": q,
 *                         "battery_sold_wh": q (of the sold, from the battery),
 *                         "imbalance_wh": q, "fees_u": m, "net_u": m (> 0 earned,
 *                         < 0 paid), "baseline_u": m (grid-only net), "saving_u": m,
 *                         "flagged": bool, "log_index": n,
 *                         "verified": bool|null (inclusion proof; null = not yet
 *                         checked)}],
 *                         "totals": {"earned_u": m, "paid_u": m, "saving_u": m},
 *                         "curtailed": [limited intervals, as in "curtailment"],
 *                         "more": bool, "before": i|null}
 *   DASH_DOC_SETTINGS    {"min_price_uper_kwh": p, "min_price_base": "abs"|
 *                         "feedin"|"retail", "min_price_text": str,
 *                         "reserve_wh": q, "auto_sell": bool}
 *   DASH_DOC_TODAY       the agent's day: sums of its statements, energy per
 *                        interval and all-time sums (aledger_json_today)
 *   DASH_DOC_OUTLOOK     the price outlook (docs/dashboard.md "Price outlook"):
 *                        {"state": "none"|"current"|"stale", "message": str,
 *                         "interval_s": L, "now_interval": i, "received": s|null,
 *                         "rules": n, "covered": n,
 *                         "intervals": [{"interval": i, "start": s,
 *                                        "time_of_day": "HH:MM",
 *                                        "feedin_uper_kwh": p,
 *                                        "retail_uper_kwh": p}],
 *                         "cheapest"|"dearest": null|{"interval", "start",
 *                                   "time_of_day", "retail_uper_kwh", "text"},
 *                         "recent": [{"interval", "start", "time_of_day",
 *                                     "price_uper_kwh", "volume_wh"}],
 *                         "heartbeat": null|{"feedin_uper_kwh", "retail_uper_kwh"}}
 *   DASH_DOC_PLAN        the battery's plan (docs/dashboard.md "Battery"):
 *                        {"state": "none"|"off"|"self"|"waiting"|"planned",
 *                         "message": str, "interval_s": L, "now_interval": i,
 *                         "battery": null|{...as in DASH_DOC_STATE},
 *                         "steps": [{"interval", "start", "time_of_day",
 *                                    "action": "store"|"sell"|"cover"|"hold",
 *                                    "charge_wh", "discharge_wh", "sell_wh",
 *                                    "soc_end_pct", "keep_uper_kwh",
 *                                    "local_uper_kwh", "feedin_uper_kwh",
 *                                    "retail_uper_kwh", "reason"}],
 *                         "value_u", "self_value_u", "none_value_u": n|null}
 *
 * Paged documents (orders, trades, statements): "more" says whether older
 * rows exist, GET /api/DOC?before=N (N = "before") asks ops.get_older.
 *
 * HTTP API (docs/dashboard.md is the reference):
 *   GET  /api/state|market|orders|trades|statements|settings|today|outlook
 *   GET  /api/orders|trades|statements?before=N   (older pages)
 *   POST /api/orders {"qty_wh", "max_price_uper_kwh", "price_base"?, "interval"?,
 *                     "intervals"?}
 *   DELETE /api/orders/SEQ   or   POST /api/orders/SEQ/cancel
 *   PUT|POST /api/settings {"min_price_uper_kwh", "min_price_base"?, "reserve_wh",
 *                           "auto_sell"?}
 *   POST /api/login {"token"}     GET /api/events (SSE)     GET /metrics
 */
#ifndef AGENT_DASH_H
#define AGENT_DASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "peerwatt/error.h"

#define DASH_DEFAULT_ADDR  "127.0.0.1"
#define DASH_DEFAULT_PORT  8080
#define DASH_MAX_BODY      4096 /* bytes of a request body */
#define DASH_MSG_MAX       200  /* bytes of a message for the user, with NUL */
#define DASH_TOKEN_MIN     16   /* characters of a login token */
#define DASH_TOKEN_MAX     128
#define DASH_MAX_INTERVALS 96  /* intervals of one standing bid */
#define DASH_REQUEST_S     10  /* s for a request to arrive and be answered */
#define DASH_PER_SOURCE    16  /* connections from one address at once */
#define DASH_CONN_MAX      128 /* connections at once besides the event streams */

enum dash_doc {
	DASH_DOC_STATE,
	DASH_DOC_MARKET,
	DASH_DOC_ORDERS,
	DASH_DOC_TRADES,
	DASH_DOC_STATEMENTS,
	DASH_DOC_SETTINGS,
	DASH_DOC_TODAY,
	DASH_DOC_OUTLOOK,
	DASH_DOC_PLAN,
	DASH_DOC__COUNT
};

/* What a price from the page is measured from: an absolute price, or an
 * offset from the interval's feed-in or retail tariff (the agent's enum
 * policy_base has the same values). */
enum dash_price_base { DASH_BASE_ABS = 0, DASH_BASE_FEEDIN = 1, DASH_BASE_RETAIL = 2 };

/* Bound of a price typed on the page, u/kWh: 100 per kWh either way. */
#define DASH_PRICE_MAX 100000000LL

/* A bid from the Buy form, already range-checked by the dashboard:
 * 1 <= qty_wh <= 1e9, -100e6 <= max_price_uper_kwh <= 100e6 (100 per kWh either
 * way: a negative price is paid to the buyer),
 * interval 0 = the next open interval, 1 <= intervals <= DASH_MAX_INTERVALS
 * (intervals > 1 is a standing bid: the same bid for that many consecutive
 * intervals).  The agent checks it against the market (tariff bounds, gate
 * closure, capacity) and reports problems through pw_err + message. */
struct dash_bid {
	uint64_t qty_wh;
	int32_t max_price_uper_kwh; /* the price, or the offset from price_base */
	uint8_t price_base;         /* enum dash_price_base ("price_base") */
	uint64_t interval;
	uint32_t intervals;
};

/* Auto-sell settings as edited on the page (min price per kWh, energy kept
 * back from the surplus, auto-sell on/off). */
struct dash_settings {
	int32_t min_price_uper_kwh; /* -DASH_PRICE_MAX .. DASH_PRICE_MAX; offset when relative */
	uint8_t min_price_base;     /* enum dash_price_base ("min_price_base") */
	uint64_t reserve_wh;
	bool auto_sell;
};

/*
 * The agent's side.  Every action returns PW_OK or an error and writes a
 * human-readable message (NUL-terminated, at most msgcap bytes) that the page
 * shows to the user; on success the message may stay empty.  Error to HTTP:
 * ARG/RANGE/PARSE/FIELD -> 400, NOTFOUND -> 404, STATE/REJECTED/EXISTS -> 409,
 * FULL -> 429, UNAVAILABLE/TIMEOUT -> 503, anything else -> 500.
 */
struct dash_ops {
	void *ctx;
	/* A new reference to the document (the dashboard decrefs it); NULL when
	 * the document cannot be produced now (-> 503). */
	json_t *(*get)(void *ctx, enum dash_doc doc);
	/* Places the bid(s); *seq_out: sequence number of the (first) order. */
	pw_err (*place_bid)(void *ctx, const struct dash_bid *bid, uint64_t *seq_out, char *msg,
	                    size_t msgcap);
	/* Cancels the own order `seq` (a buy or a sell). */
	pw_err (*cancel)(void *ctx, uint64_t seq, char *msg, size_t msgcap);
	/* Stores new settings (the agent persists them; config gives defaults). */
	pw_err (*update_settings)(void *ctx, const struct dash_settings *s, char *msg,
	                          size_t msgcap);
	/* Optional: writes more Prometheus text lines for /metrics. */
	void (*metrics)(void *ctx, FILE *out);
	/* Optional: an older page of a paged document (orders, trades,
	 * statements) for GET /api/DOC?before=N: the rows below cursor
	 * `before` (the document's "before" field of the page above).  NULL
	 * (or a NULL answer) -> 404 for that query. */
	json_t *(*get_older)(void *ctx, enum dash_doc doc, uint64_t before);
};

struct dash_config {
	const char *bind_addr; /* IPv4 or IPv6 literal; NULL = DASH_DEFAULT_ADDR */
	uint16_t port;         /* 0 = any free port (tests; see dash_port) */
	const char *web_root;  /* directory holding index.html */
	/* Login token: required when bind_addr is not a loopback address
	 * (dash_new fails with PW_ERR_CONFIG otherwise); optional on loopback.
	 * DASH_TOKEN_MIN..DASH_TOKEN_MAX printable characters. */
	const char *token;
	unsigned max_clients; /* SSE streams at once; 0 = 32 */
	unsigned request_s;   /* 0 = DASH_REQUEST_S (tests shorten it) */
	unsigned per_source;  /* 0 = DASH_PER_SOURCE */
};

struct dash;

/* Starts listening.  *out is owned by the caller (dash_destroy).  The ops are
 * copied; ops->ctx must outlive the dash.  Errors: PW_ERR_CONFIG (bad
 * address, missing or malformed token, web_root not a directory: msg says
 * which), PW_ERR_HTTP (bind failed, port in use). */
pw_err dash_new(const struct dash_config *cfg, const struct dash_ops *ops, struct dash **out,
                char *msg, size_t msgcap) __attribute__((warn_unused_result));
/* Closes every stream and the listener; *dp becomes NULL.  NULL-safe. */
void dash_destroy(struct dash **dp);

/* Sets a new login token (NULL or "" = none, refused on a non-loopback
 * address: PW_ERR_CONFIG, as is a malformed token).  A token that differs
 * from the current one ends every session (SIGHUP with a changed token). */
pw_err dash_set_token(struct dash *d, const char *token, char *msg, size_t msgcap)
    __attribute__((warn_unused_result));

/* The one fd to poll for input (an epoll fd); stable for the dash's life. */
int dash_fd(const struct dash *d);
/* Milliseconds until dash_run() must be called even without input; -1 none. */
long dash_timeout_ms(struct dash *d);
/* Handles whatever is ready; never blocks. */
pw_err dash_run(struct dash *d);
/* The bound TCP port (useful with port 0). */
uint16_t dash_port(const struct dash *d);

/* Sends `doc` as SSE event `event` ([a-z_]{1,31}) to every open
 * /api/events stream.  Does not steal the reference.  A stream that falls
 * too far behind is closed (the page reconnects and refetches). */
pw_err dash_publish(struct dash *d, const char *event, const json_t *doc);
/* dash_publish of ops->get(doc) under the document's name ("state",
 * "market", "orders", "trades", "statements", "settings"). */
pw_err dash_notify(struct dash *d, enum dash_doc doc);
/* Number of open SSE streams. */
unsigned dash_clients(const struct dash *d);

/* "state", "market", ... for a document; NULL when out of range. */
const char *dash_doc_name(enum dash_doc doc);
/* Parses "HOST:PORT" / "[V6]:PORT" / "PORT" (host defaults to 127.0.0.1) into
 * addr (cap >= 46) and *port (1..65535).  PW_ERR_PARSE / PW_ERR_RANGE. */
pw_err dash_listen_parse(const char *text, char *addr, size_t cap, uint16_t *port)
    __attribute__((warn_unused_result));

#endif
