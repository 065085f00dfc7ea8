/*
 * xrules.h: the market's rules and household registry as the log states
 * them (issue 15; docs/exchange.md "Rules and registry in the log").
 *
 * The exchange runs on exactly what its log says.  Log entry 0 of a new
 * database is the genesis MARKET entry, followed by one REGISTRY entry per
 * registered household, before any household's entry.  A database of the
 * old format (no MARKET entry) gets them at its first open, built from its
 * tables params, fees and households and appended at the end of the log in
 * one transaction (a loud warning names the index).  After that the
 * configuration and the registry file only ever change the rules by
 * appending entries: xrules_sync_registry() appends one REGISTRY entry per
 * new, changed or revoked household; a configuration with other tariffs or
 * fees appends a MARKET entry effective from the first interval no
 * accepted order can yet target (xrules_append_market()); one that changes
 * anything else of the market (name, currency, interval, gate, grace,
 * max_ahead) is refused (xrules_check_config()).  Validation, settlement
 * and HEARTBEAT take the rules in force for their interval
 * (xrules_market_at()).
 *
 * Tables params, fees and households are caches of the log, kept for the
 * request path and for readers of the database: xrules_caches() compares
 * them with the log at every start and reload and rebuilds them from the
 * log (with a warning when they were edited behind it), never the other
 * way round.
 *
 * Owned by exchange/main.c (one struct xrules per daemon); the engine
 * answers QUERY REGISTRY / REGISTRY_PROOF with xrules_find_entry() and MARKET /
 * MARKET_PROOF with xrules_find_market().  Every
 * function that appends runs its own store transaction (none may be open).
 * Not thread-safe.
 */
#ifndef EXCHANGE_XRULES_H
#define EXCHANGE_XRULES_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "exchange/mlog.h"
#include "exchange/registry.h"
#include "exchange/store.h"
#include "exchange/xconfig.h"
#include "peerwatt/error.h"
#include "peerwatt/keys.h"
#include "peerwatt/wire.h"

/* The latest REGISTRY entry of one household key. */
struct xrules_hh {
	struct pw_registry r;
	uint64_t idx; /* its log index */
};

/*
 * One MARKET entry as validation, settlement, HEARTBEAT and the price
 * outlook need it: ~40 bytes instead of the 4.4 KB of a struct pw_market,
 * so that a year of quarter-hour tariffs (35,040 entries) costs ~1.4 MB.
 * Its fee table is interned: entries with equal tables share one
 * (x->tables[table]).
 */
struct xrules_rule {
	uint64_t effective_interval;
	uint64_t idx; /* its log index */
	int32_t feedin_uper_kwh;
	int32_t retail_uper_kwh;
	uint32_t fee_same_zone_uper_kwh;
	uint32_t fee_default_uper_kwh;
	uint32_t table;
};

/* One distinct fee table (canonical, as a MARKET entry states it). */
struct xrules_fees {
	uint64_t hash;
	uint16_t n_fees;
	struct pw_market_fee *fees; /* owned; NULL when n_fees is 0 */
};

struct xrules {
	uint64_t market_id;
	uint8_t exchange_pk[PW_PK_LEN];
	struct pw_market market; /* the latest MARKET entry */
	uint64_t market_idx;     /* its log index */
	/* every MARKET entry in log order (effective_interval never
	 * decreases: xrules_read() refuses a log where it does); owned */
	struct xrules_rule *markets;
	size_t n_markets, cap_markets;
	struct xrules_fees *tables; /* the distinct fee tables; owned */
	size_t n_tables, cap_tables;
	uint32_t *table_slot; /* open addressing by hash: table index + 1, 0 free */
	size_t cap_slots;     /* a power of two, > 2 x n_tables */
	struct xrules_hh *hh; /* sorted by key; owned */
	size_t n_hh, cap_hh;
	/* what xrules_open() did: 1 genesis, 2 migration of an old database */
	int created;
	uint64_t created_idx; /* index of the MARKET entry it appended */
};

/*
 * Bring the log's rules up at start: a new (empty) log gets the genesis
 * MARKET entry built from `c` (effective_interval 0) and one REGISTRY entry
 * per household of `file`; a log without a MARKET entry (the old format)
 * gets one built from tables params and fees and one REGISTRY entry per
 * households row, appended in one transaction; then every MARKET and
 * REGISTRY entry is read into `x` (each must decode, be signed by `kp` for
 * c->market_id, MARKET entries in increasing effective_interval).
 * PW_ERR_CORRUPT or PW_ERR_CONFIG with `err` saying why (nothing appended).
 * The caller frees `x` with xrules_free().
 */
pw_err xrules_open(struct xrules *x, struct store *s, struct mlog *log, const struct pw_keypair *kp,
                   const struct xconfig *c, const struct registry *file, uint64_t now_s, char *err,
                   size_t errlen) __attribute__((warn_unused_result));
void xrules_free(struct xrules *x);

/* The number of MARKET and REGISTRY entries in the log (0 when it cannot
 * be read), counted on the index xrules_open() keeps for them. */
uint64_t xrules_entry_count(sqlite3 *db);

/* Re-read every MARKET and REGISTRY entry of the log into `x`
 * (market_id and exchange_pk set by the caller).  Entries below
 * `signed_below` are taken as authenticated (mlog_signed_size(): the
 * exchange's signed checkpoint covers them) and only decoded; each later
 * one's signature is checked.  Every entry must be the exchange's. */
pw_err xrules_read(struct xrules *x, sqlite3 *db, uint64_t signed_below, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The MARKET entry the configuration `c` states (canonical fee table: pairs
 * ordered, a zone's own pair at the same-zone fee left out). */
pw_err xrules_market_of(const struct xconfig *c, uint64_t time_s, uint64_t effective_interval,
                        struct pw_market *out) __attribute__((warn_unused_result));
/* The REGISTRY entry of household `h`. */
void xrules_entry_of(const struct household *h, uint64_t time_s, uint8_t revoked,
                     struct pw_registry *out);

/*
 * PW_OK when `c` states the market the log states: name, currency,
 * interval_s, gate_s, grace_s and max_ahead_s can never change (else
 * PW_ERR_CONFIG and `why` names the setting); tariffs and fees may differ
 * (xrules_tariffs_differ()).  PW_ERR_CONFIG too when the fee table does
 * not fit a MARKET entry.
 */
pw_err xrules_check_config(const struct xrules *x, const struct xconfig *c, char *why, size_t len)
    __attribute__((warn_unused_result));

/* 1 when `c`'s tariffs or fees differ from the log's latest MARKET entry. */
int xrules_tariffs_differ(const struct xrules *x, const struct xconfig *c);

/*
 * E for a MARKET entry appended at `now_s` (xrules_append_market()): the
 * first interval no accepted order can yet target, and after the latest
 * entry's effective_interval.  PW_ERR_RANGE when there is none.
 */
pw_err xrules_next_effective(const struct xrules *x, uint64_t now_s, uint64_t *effective)
    __attribute__((warn_unused_result));

/*
 * Append a MARKET entry with `c`'s tariffs and fees (the rest as the log
 * states it), effective from E = the first interval no accepted order can
 * yet target: floor((now_s + max_ahead_s) / interval_s) + 1, so no entry
 * logged before it concerns an interval >= E (and, published being final,
 * after the latest MARKET entry's effective_interval).  One transaction; logged; *effective (may be
 * NULL) gets E.  On an error nothing is appended and `x` is unchanged.
 */
pw_err xrules_append_market(struct xrules *x, struct store *s, struct mlog *log,
                            const struct pw_keypair *kp, const struct xconfig *c, uint64_t now_s,
                            uint64_t *effective) __attribute__((warn_unused_result));

/*
 * Append the MARKET entries `next` produces (one per call into *out,
 * returning 1; 0 when there are no more; < 0 an error) in one transaction,
 * each logged: time_s, effective_interval, tariffs and fees as produced;
 * name, currency, interval, gate, grace and max_ahead set to the log's.
 * Their effective_interval must be strictly increasing and above the
 * latest entry's (else PW_ERR_STATE).  *n (may be NULL) gets their number.
 * On an error nothing is appended and `x` is unchanged.  The entries are
 * produced one at a time: a year of quarter hours never sits in memory as
 * struct pw_market.
 */
pw_err xrules_append_markets(struct xrules *x, struct store *s, struct mlog *log,
                             const struct pw_keypair *kp,
                             int (*next)(void *ctx, struct pw_market *out), void *ctx, size_t *n)
    __attribute__((warn_unused_result));

/* 1 when rule `r` of `x` states the tariffs and fees of `mk`. */
int xrules_rule_same(const struct xrules *x, const struct xrules_rule *r,
                     const struct pw_market *mk);

/* The MARKET entry governing `interval`: the latest whose
 * effective_interval <= interval (a binary search).  Never NULL after
 * xrules_open(). */
const struct xrules_rule *xrules_market_at(const struct xrules *x, uint64_t interval);

/* Grid fee per kWh between zones a and b under rule `r` of `x`: the
 * explicit pair (either order), else the same-zone fee when a == b, else
 * the default. */
uint32_t xrules_fee(const struct xrules *x, const struct xrules_rule *r, const char *zone_a,
                    const char *zone_b);

/*
 * QUERY SCHEDULE and PUB MARKET (docs/protocol.md): the log indices of the
 * MARKET entries governing the intervals from `interval` on, one per change
 * of rules: first the entry governing `interval`, then each later entry in
 * ascending effective_interval, an entry superseded by a later one with the
 * same effective_interval left out.  At most `cap` (PW_SCHEDULE_MAX) into
 * idx[]; returns their number (>= 1 after xrules_open()).
 */
size_t xrules_schedule(const struct xrules *x, uint64_t interval, uint64_t *idx, size_t cap);

/* One REGISTRY entry xrules_sync_registry() appends, and why: "new",
 * "changed", "registered again" or "revoked". */
struct xrules_change {
	struct pw_registry r;
	const char *what; /* static text */
};

/*
 * The REGISTRY entries xrules_sync_registry() would append for `file` at
 * `now_s`, in its order, into *out (*n of them; the caller frees *out, set
 * also when *n is 0).  Writes nothing.
 */
pw_err xrules_registry_plan(const struct xrules *x, const struct registry *file, uint64_t now_s,
                            struct xrules_change **out, size_t *n)
    __attribute__((warn_unused_result));

/*
 * What change `ch` makes to the household's latest entry in `x`: ""
 * unless it is "changed", else the fields that differ, old and new
 * ("max_export_w 5000 -> 6000, zone north -> south"), cut to `len`.
 */
void xrules_change_text(const struct xrules *x, const struct xrules_change *ch, char *out,
                        size_t len);

/*
 * Append one REGISTRY entry for each household of `file` that the log
 * does not hold as registered with the same fields (new, changed, or
 * revoked before), and one with revoked = 1 for each household the log
 * holds as registered that `file` lacks; all in one transaction, each
 * logged.  *appended their number (0: nothing changed, nothing written).
 * On an error nothing is appended and `x` is unchanged.
 */
pw_err xrules_sync_registry(struct xrules *x, struct store *s, struct mlog *log,
                            const struct pw_keypair *kp, const struct registry *file,
                            uint64_t now_s, size_t *appended) __attribute__((warn_unused_result));

/* The registry the exchange runs on: the households the log holds as
 * registered (not revoked).  Caller frees *out with registry_free(). */
pw_err xrules_registry(const struct xrules *x, struct registry **out)
    __attribute__((warn_unused_result));

/* The latest REGISTRY entry of `pk` in the log, NULL when none. */
const struct xrules_hh *xrules_find(const struct xrules *x, const uint8_t pk[PW_PK_LEN]);

/*
 * Compare tables params, fees and households with the log's rules and
 * registry; when they differ, rewrite them from the log (one transaction)
 * and, when `warn`, log a warning naming the tables.  *rebuilt (may be
 * NULL) gets a bit per rewritten table: 1 params, 2 fees, 4 households.
 */
pw_err xrules_caches(const struct xrules *x, struct store *s, int warn, int *rebuilt)
    __attribute__((warn_unused_result));

/*
 * QUERY REGISTRY: the latest REGISTRY entry whose household is `pk` among
 * the log's first `size` entries; its index and frame (room for `cap`
 * bytes).  PW_ERR_NOTFOUND when there is none.
 */
pw_err xrules_find_entry(sqlite3 *db, const uint8_t pk[PW_PK_LEN], uint64_t size, uint64_t *idx,
                         uint8_t *buf, size_t cap, size_t *len) __attribute__((warn_unused_result));

/*
 * QUERY MARKET: the MARKET entry governing `interval` among the log's first
 * `size` entries (the latest one whose effective_interval <= interval, the
 * rule of xrules_market_at()); its index and frame.  PW_ERR_NOTFOUND when
 * there is none.
 */
pw_err xrules_find_market(sqlite3 *db, uint64_t interval, uint64_t size, uint64_t *idx,
                          uint8_t *buf, size_t cap, size_t *len)
    __attribute__((warn_unused_result));

#endif
