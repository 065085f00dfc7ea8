/*
 * aledger.h: what the agent learns from the exchange, kept in the agent's
 * SQLite database next to the outbox: clearing prices, the household's own
 * trades, its signed statements (exact frames, with the log index and
 * state of their inclusion proof) and every checkpoint seen
 * (exact frames, plus the root by tree size to verify proofs against).
 * Everything stored here has been verified by xlink first.
 *
 * Also builds the JSON documents of the dashboard that come from these
 * tables (trades, statements, price history).  Called by agentd; the
 * database handle is borrowed from the outbox.  Not thread-safe.
 */
#ifndef AGENT_ALEDGER_H
#define AGENT_ALEDGER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "peerwatt/error.h"
#include "peerwatt/wire.h"

struct aledger;

pw_err aledger_open(struct aledger **out, sqlite3 *db) __attribute__((warn_unused_result));
void aledger_close(struct aledger **lp);

/* Records the interval's price (part 0) and the trades of `me` in this
 * part; *mine receives how many trades were the household's. */
pw_err aledger_add_result(struct aledger *l, const struct pw_result *r, const uint8_t me[PW_PK_LEN],
                          unsigned *mine) __attribute__((warn_unused_result));
/* Energy the household's own order `seq` on `side` has traded so far (the
 * sum of its recorded trades); 0 when none or on a database error. */
uint64_t aledger_order_traded_wh(struct aledger *l, uint8_t side, uint64_t seq);
/* Energy the household sold in interval `interval` (its recorded trades);
 * 0 when none or on a database error.  For curtailment (agent/actl.c). */
uint64_t aledger_sold_wh(struct aledger *l, uint64_t interval);
/* The tag of an offer of stored energy (agentd_int.h TAG_BATTERY; the SQL
 * of aledger_battery_sold_wh spells it out). */
#define ALEDGER_TAG_BATTERY 100
/* Of that, what offers tagged ALEDGER_TAG_BATTERY sold: energy sold from the
 * battery (docs/agent-energy.md "Battery plan"); 0 when none or on error. */
uint64_t aledger_battery_sold_wh(struct aledger *l, uint64_t interval);
/* Interval iv's RESULT as recorded: 1 with its clearing price and volume
 * (price 0 without volume), 0 when none is recorded (both 0). */
int aledger_result_price(struct aledger *l, uint64_t iv, int32_t *price, uint64_t *volume_wh);
/* The battery's day for /api/state "battery" "today" (intervals [from_iv,
 * to_iv)): {"charged_wh", "discharged_wh" (aledger_battery_energy),
 * "sold_wh" (aledger_battery_sold_wh summed: traded, settled or not)}; 0
 * each without rows; NULL on a database error.  Caller owns it. */
json_t *aledger_json_battery_day(struct aledger *l, uint64_t from_iv, uint64_t to_iv);
/* The latest clearing price with volume in *price (any sign): 1, or 0
 * when there is none yet (*price then 0). */
int aledger_last_price(struct aledger *l, int32_t *price);

/* Stores a statement (frame as received); PW_ERR_EXISTS when the interval
 * already has the same one, PW_ERR_CORRUPT when it has a different one
 * (the exchange signed two statements for one interval). */
pw_err aledger_add_statement(struct aledger *l, const uint8_t *frame, size_t len,
                             const struct pw_statement *s) __attribute__((warn_unused_result));
int aledger_has_statement(struct aledger *l, uint64_t interval);
/* The stored statement frame of `interval` (the exact bytes received, as
 * the leaf of a statement proof); PW_ERR_NOTFOUND, PW_ERR_FULL when cap is
 * too small. */
pw_err aledger_statement_frame(struct aledger *l, uint64_t interval, uint8_t *buf, size_t cap,
                               size_t *len) __attribute__((warn_unused_result));
/* The first interval in (after, upto] whose statement has no inclusion
 * proof checked yet; PW_ERR_NOTFOUND when none. */
pw_err aledger_unproven_statement(struct aledger *l, uint64_t after, uint64_t upto, uint64_t *iv)
    __attribute__((warn_unused_result));
/* Records the checked proof of the statement of `interval`: its log index
 * and state 1 (verified) or 2 (failed), the codes of the outbox's proofs. */
pw_err aledger_set_statement_proof(struct aledger *l, uint64_t interval, uint64_t log_index,
                                   int state) __attribute__((warn_unused_result));

/* Stores a checkpoint; PW_ERR_EXISTS when known, PW_ERR_CORRUPT when a
 * different root was seen for the same size (a fork: log loudly). */
pw_err aledger_add_checkpoint(struct aledger *l, const uint8_t *frame, size_t len,
                              const struct pw_checkpoint *cp) __attribute__((warn_unused_result));
/* The latest trusted checkpoint (the largest with consistent = 1: the
 * first one seen, or one proven consistent with the trusted ones around
 * it): PW_ERR_NOTFOUND when none.  An unproven one never is. */
pw_err aledger_latest_checkpoint(struct aledger *l, struct pw_checkpoint *cp)
    __attribute__((warn_unused_result));
/* The root of the checkpoint of `size`: PW_ERR_NOTFOUND when none. */
pw_err aledger_root(struct aledger *l, uint64_t size, uint8_t root[PW_HASH_LEN])
    __attribute__((warn_unused_result));
/* Marks checkpoint `size` trusted (1) or proven inconsistent (-1). */
pw_err aledger_set_consistent(struct aledger *l, uint64_t size, int state)
    __attribute__((warn_unused_result));
/* The trusted checkpoint just below (prev) or above (next) `size`, for
 * consistency proofs (a checkpoint between two trusted sizes is checked
 * against both): PW_ERR_NOTFOUND when none. */
pw_err aledger_prev_checkpoint(struct aledger *l, uint64_t size, struct pw_checkpoint *cp)
    __attribute__((warn_unused_result));
pw_err aledger_next_checkpoint(struct aledger *l, uint64_t size, struct pw_checkpoint *cp)
    __attribute__((warn_unused_result));
/* The first checkpoint received that is not proven yet (consistent = 0). */
pw_err aledger_unchecked_checkpoint(struct aledger *l, struct pw_checkpoint *cp)
    __attribute__((warn_unused_result));

/* Dashboard documents (new references; NULL on a database error).
 *
 * Trades and statements come in pages, newest first: the latest page for
 * before = 0, else the rows of intervals below `before`.  A page holds at
 * most ALEDGER_PAGE statements, or the trades of whole intervals until it
 * has ALEDGER_PAGE rows (more only when one interval has more trades than
 * that, at most 200); "more" says whether older rows exist and "before" is
 * the cursor for them (the page's oldest interval; null on an empty page).
 * The statements' "totals" are all-time sums, on every page. */
#define ALEDGER_PAGE 20
json_t *aledger_json_trades_page(struct aledger *l, uint64_t before);
json_t *aledger_json_statements_page(struct aledger *l, uint64_t before);
/* The latest pages (before = 0); `me` is not used. */
json_t *aledger_json_trades(struct aledger *l, const uint8_t me[PW_PK_LEN]);
json_t *aledger_json_statements(struct aledger *l);
json_t *aledger_json_prices(struct aledger *l, uint32_t interval_s, unsigned max);

/* The household's energy of one closed interval for the dashboard's chart:
 * grid import and export from the signed reading, PV from the inverter's
 * lifetime energy register (pv_wh < 0: unknown), the battery's energy
 * charged and discharged (AC side, both < 0: no battery read, stored as
 * NULL; PW_ERR_RANGE when only one is).  Replaces an earlier row of the
 * same interval. */
pw_err aledger_add_energy(struct aledger *l, uint64_t interval, int64_t pv_wh, uint64_t import_wh,
                          uint64_t export_wh, int64_t bat_charge_wh, int64_t bat_discharge_wh)
    __attribute__((warn_unused_result));
/* The battery's energy charged and discharged over intervals [from_iv,
 * to_iv) (sums of the energy rows with battery values): the number of
 * such intervals (0: none, both sums 0), or -1 on a database error or an
 * implausible sum (both sums 0). */
int aledger_battery_energy(struct aledger *l, uint64_t from_iv, uint64_t to_iv,
                           uint64_t *charged_wh, uint64_t *discharged_wh);

/*
 * The Today document for intervals [from_iv, to_iv) (the caller's day in
 * its own time of day):
 *   {"from_interval", "to_interval", "start": from_iv * interval_s,
 *    "sold_wh", "bought_wh", "earned_u", "paid_u", "net_u", "saving_u",
 *    "settled": statements counted,
 *    "unsettled_sold_wh", "unsettled_bought_wh": traded, statement not yet in,
 *    "battery_sold_wh",
 *    "intervals": [{"interval", "start", "pv_wh"|null, "house_wh"|null,
 *                   "import_wh"|null, "export_wh"|null, "sold_wh",
 *                   "bought_wh", "battery_sold_wh"}] (oldest first, the
 *                   latest 288 with data; house_wh = PV + import -
 *                   export + the battery's discharged - charged),
 *    "all_time": {"sold_wh", "bought_wh", "earned_u", "paid_u", "net_u",
 *                 "saving_u", "settled", "battery_sold_wh"}}
 * Energy and money sums come from the signed statements: earned is the sum
 * of the intervals whose net was positive, paid that of the negative ones
 * (as a positive number), net = earned - paid; positive is money or energy
 * to the household.  battery_sold_wh is what the household's orders tagged
 * ALEDGER_TAG_BATTERY sold: per interval from its trades, in the sums over
 * the intervals with a statement (so never above their sold_wh).  The
 * statements' rows carry it too (aledger_json_statements_page).
 */
json_t *aledger_json_today(struct aledger *l, uint64_t from_iv, uint64_t to_iv,
                           uint32_t interval_s);

/* Order origin tags: 0 manual (dashboard), 1 auto-sell, 2 + k standing
 * bid k.  A missing tag reads as 0. */
pw_err aledger_tag_order(struct aledger *l, uint64_t seq, int tag)
    __attribute__((warn_unused_result));
int aledger_order_tag(struct aledger *l, uint64_t seq);

/* Persistent settings edited on the dashboard (name -> integer). */
pw_err aledger_setting_set(struct aledger *l, const char *name, int64_t v)
    __attribute__((warn_unused_result));
pw_err aledger_setting_get(struct aledger *l, const char *name, int64_t *v)
    __attribute__((warn_unused_result));

/* The first interval in (after, upto] for which the household has an
 * acknowledged METER reading or a trade but no statement (reads the
 * outbox table of the same database); PW_ERR_NOTFOUND when none. */
pw_err aledger_missing_statement(struct aledger *l, uint64_t after, uint64_t upto, uint64_t *iv)
    __attribute__((warn_unused_result));

/* The greatest interval below `before` with an own order in the outbox
 * (reads the outbox table); PW_ERR_NOTFOUND when none.  Pages the
 * dashboard's order history. */
pw_err aledger_order_interval_below(struct aledger *l, uint64_t before, uint64_t *iv)
    __attribute__((warn_unused_result));

/* Counters for logs and /metrics. */
pw_err aledger_counts(struct aledger *l, uint64_t *trades, uint64_t *statements,
                      uint64_t *checkpoints) __attribute__((warn_unused_result));

#endif
