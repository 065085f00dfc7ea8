/*
 * audit_int.h: what the files of peerwatt-audit's verification share
 * (audit_verify.c: tables, intervals, entry point; audit_cp.c: checkpoints
 * and checkpoint files; audit_log.c: the pass over the log;
 * audit_evidence.c: served tables and households' evidence).  Internal to
 * audit/: nothing outside includes it.
 */
#ifndef AUDIT_INT_H
#define AUDIT_INT_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "audit/audit_verify.h"
#include "peerwatt/merkle.h"
#include "peerwatt/wire.h"
#include "rules/settle.h"

#define AUDIT_MAX_ITEMS  (1u << 26) /* bound of every growable array */
#define AUDIT_MAX_FILE   (64u << 20)
#define AUDIT_MAX_LINE   4096
#define CHECKPOINT_FRAME AUDIT_CHECKPOINT_FRAME_LEN

#define AUDIT_LABEL_LEN 80 /* "name (id)" of a household */

/* A household as the REGISTRY entries of the log state it: its latest
 * entry so far in the pass (append-only array: an index into it is stable). */
struct hh {
	uint8_t pk[PW_PK_LEN];
	char label[AUDIT_LABEL_LEN]; /* "name (id)" of its latest REGISTRY entry */
	char id[PW_TOKEN_LEN + 1], name[PW_TOKEN_LEN + 1];
	char zone[SETTLE_ZONE_MAX];
	char serial[PW_SERIAL_LEN]; /* NUL padded like the wire field */
	int64_t max_export_w, max_import_w;
	uint64_t reg_idx;   /* log index of the entry in force (UINT64_MAX: none yet) */
	uint64_t first_idx; /* log index of its first REGISTRY entry */
	int revoked;
	uint64_t last_seq; /* ORDER/CANCEL */
	uint64_t meter_seq, meter_interval, export_end_wh, import_end_wh;
	uint64_t cosign_size; /* its latest COSIGN's tree size (0: none) */
};

/* One logged COSIGN (audit_witness.c): a household's cosignature of the
 * checkpoint of `size`, checked against the log's root at that size. */
struct acosig {
	uint64_t size;
	uint64_t idx; /* its log index */
	uint32_t hh;  /* index into hhs */
};

struct aorder {
	uint64_t idx;
	uint32_t hh;
	uint64_t seq;
	uint64_t expiry_s;
	uint32_t qty_wh;
	int32_t price_uper_kwh;
	uint8_t side, cancelled;
};

struct areading {
	uint64_t idx;
	uint32_t hh;
	uint64_t export_wh, import_wh;
};

struct astmt {
	uint64_t idx;
	uint32_t hh;
	struct pw_statement st;
};

struct ivl {
	uint64_t interval;
	struct aorder *orders;
	size_t n_orders, cap_orders;
	uint16_t parts, next_part; /* RESULT parts seen */
	int cleared;
	int32_t price_uper_kwh;
	uint32_t n_total;
	uint64_t volume_wh, result_idx;
	uint64_t first_order_idx;  /* UINT64_MAX: no order */
	uint64_t result_first_idx; /* part 0; UINT64_MAX: no RESULT */
	uint64_t first_stmt_idx;   /* UINT64_MAX: no statement */
	struct pw_trade *trades;
	size_t n_trades, cap_trades;
	struct areading *readings;
	size_t n_readings, cap_readings;
	struct astmt *stmts;
	size_t n_stmts, cap_stmts;
};

struct cp {
	char where[AUDIT_WHERE_LEN];
	int decoded;
	char decode_err[64];
	uint64_t row_size; /* database rows: the tree_size column */
	uint8_t frame[CHECKPOINT_FRAME];
	size_t len;
	struct pw_msg msg;
	uint8_t recomputed[PW_HASH_LEN];
	int have_root;
};

/* What the pass keeps of every entry, for the checks that look back at
 * it afterwards (evidence, times): its type and interval. */
struct ament {
	uint8_t type;
	uint64_t interval;
};

/* The rules of one MARKET entry (what may change between them: tariffs
 * and fees; interval, gate, grace, max_ahead, name and currency never). */
struct arules {
	uint64_t idx; /* its log index */
	uint64_t effective_interval;
	uint64_t time_s;
	int32_t feedin_uper_kwh, retail_uper_kwh; /* may be negative */
	uint32_t fee_same_uper_kwh, fee_default_uper_kwh;
	/* the fee table, interned: entries with equal tables share one (a
	 * year of quarter-hour MARKET entries holds a few distinct tables,
	 * not 35,040 copies of 4.5 KB); owned by a->fee_tabs */
	const struct settle_fee *fees;
	size_t n_fees;
};

/* One distinct fee table of the MARKET entries. */
struct afees {
	uint64_t hash;
	size_t n;
	struct settle_fee *pairs; /* owned; NULL when n is 0 */
};

struct audit {
	sqlite3 *db;
	sqlite3_stmt *frame_q; /* SELECT frame FROM log WHERE idx = ?1, prepared once */
	struct audit_report *r;
	const struct audit_options *opt;
	uint64_t market_id; /* table params, confirmed by the signature of the first MARKET */
	/* the market's rules: the MARKET entries (audit_rules.c) */
	int64_t interval_s, gate_s, grace_s, max_ahead_s; /* never change */
	struct pw_market genesis;                         /* the first MARKET entry */
	uint64_t first_market_idx; /* its index: 0, or where the migration wrote it */
	struct arules *rules;      /* by log order; effective intervals never go down */
	size_t n_rules, cap_rules;
	struct afees *fee_tabs; /* the distinct fee tables */
	size_t n_fee_tabs, cap_fee_tabs;
	uint32_t *fee_slot; /* open addressing by hash: index + 1, 0 free */
	size_t cap_fee_slots;
	uint64_t max_iv,
	    max_iv_idx; /* the highest interval an entry so far names, and that entry */
	int have_max_iv;
	/* the registry: the REGISTRY entries */
	struct hh *hhs;     /* append-only */
	uint32_t *hh_by_pk; /* indices into hhs, sorted by key */
	size_t n_hhs, cap_hhs, cap_by_pk;
	struct ament *ents; /* one per log entry, by index */
	size_t cap_ents;
	uint64_t last_result_interval; /* of the latest RESULT part 0 */
	int have_result;
	struct ivl **ivls; /* sorted by interval */
	size_t n_ivls, cap_ivls;
	struct acosig *cosigs; /* the COSIGN entries, in log order */
	size_t n_cosigs, cap_cosigs;
	struct cp *cps; /* database checkpoints, then file checkpoints */
	size_t n_cps, n_db_cps, cap_cps;
	struct cp **by_size; /* cps sorted by tree size, for the roots */
	size_t next_root;
	struct merkle_range range;
	/* every perfect subtree root, level by level, for consistency proofs */
	uint8_t (*lv[MERKLE_MAX_LEVELS])[PW_HASH_LEN];
	size_t lv_n[MERKLE_MAX_LEVELS], lv_cap[MERKLE_MAX_LEVELS];
};

void audit_fail(struct audit *a, uint64_t idx, const char *type, const char *where, const char *fmt,
                ...) __attribute__((format(printf, 5, 6)));
#define FAIL_ENTRY(a, idx, type, ...)                                                              \
	audit_fail((a), (idx), pw_msg_type_name(type), NULL, __VA_ARGS__)
#define FAIL_AT(a, where, ...) audit_fail((a), UINT64_MAX, "", (where), __VA_ARGS__)

pw_err audit_grow(void **p, size_t *cap, size_t need, size_t elsz);
void audit_hex8(const uint8_t *pk, char out[17]);
/* "name (id)" of a registered key, else its first 16 hex digits. */
const char *audit_who(struct audit *a, const uint8_t pk[PW_PK_LEN], char out[AUDIT_LABEL_LEN]);
/* Set the plain-words explanation of the failure just recorded. */
void audit_plain(struct audit *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Start of interval i, its gate closure and its settlement deadline, in
 * Unix seconds (wide: i is a u64 from a frame). */
__int128 audit_start(const struct audit *a, uint64_t interval);
__int128 audit_gate(const struct audit *a, uint64_t interval);
__int128 audit_deadline(const struct audit *a, uint64_t interval);
/* The logged frame at `idx` (malloc'd copy, caller frees); NULL if none. */
uint8_t *audit_log_frame(struct audit *a, uint64_t idx, size_t *len);
struct hh *audit_hh_find(struct audit *a, const uint8_t pk[PW_PK_LEN]);
/* The household's entry, created when missing (NULL: out of memory). */
struct hh *audit_hh_add(struct audit *a, const uint8_t pk[PW_PK_LEN]);
struct ivl *audit_ivl_find(struct audit *a, uint64_t interval, size_t *pos);
pw_err audit_ivl_get(struct audit *a, uint64_t interval, struct ivl **out);

/* audit_cp.c */
pw_err audit_cp_add(struct audit *a, const char *where, const uint8_t *frame, size_t len,
                    uint64_t row_size);
pw_err audit_cp_load_db(struct audit *a);
pw_err audit_cp_load_file(struct audit *a, const char *path);
pw_err audit_cp_index(struct audit *a);
void audit_cp_take_roots(struct audit *a);
pw_err audit_cp_keep_leaf(struct audit *a, const uint8_t leaf[PW_HASH_LEN]);
void audit_cp_check(struct audit *a, struct cp *c, int from_db, struct cp **prev);
/* The root of the log's first n entries (after the pass; n <= entries):
 * 1, or 0 when the tree levels kept do not cover it. */
int audit_prefix_root(const struct audit *a, uint64_t n, uint8_t out[PW_HASH_LEN]);

/* audit_rules.c: the MARKET and REGISTRY entries, the cache tables */
/* Before the pass: the first MARKET entry (the exchange key, the rules,
 * the migration block); fails when there is none. */
pw_err audit_rules_load(struct audit *a);
/* In the pass, a MARKET or REGISTRY entry (decoded, signature verified,
 * signed by the exchange). */
void audit_rules_market(struct audit *a, uint64_t idx, const struct pw_msg *m);
pw_err audit_rules_registry(struct audit *a, uint64_t idx, const struct pw_msg *m);
/* Before each entry that names an interval: the highest one so far. */
void audit_rules_note_interval(struct audit *a, uint64_t idx, uint64_t interval);
/* The rules in force for `interval` (never NULL once loaded). */
const struct arules *audit_rules_for(const struct audit *a, uint64_t interval);
struct settle_fees audit_rules_fees(const struct arules *r);
/* The author of an ORDER, CANCEL or METER at `idx`: registered and not
 * revoked by the entries before it, else a failure naming it (NULL). */
struct hh *audit_rules_household(struct audit *a, uint64_t idx, const struct pw_msg *m);
/* The first REGISTRY entry of `pk` after log index `idx` (its label in
 * `label`), UINT64_MAX when none (decoded only: the pass checks it). */
uint64_t audit_rules_registered_later(struct audit *a, uint64_t idx, const uint8_t pk[PW_PK_LEN],
                                      char *label, size_t cap);
/* After the pass: tables params, fees and households equal the log. */
void audit_rules_check_tables(struct audit *a);
void audit_rules_free(struct audit *a);

/* audit_log.c */
pw_err audit_log_scan(struct audit *a);

/* audit_witness.c: cosignatures (docs/audit.md "Witnesses") */
/* In the pass, a COSIGN entry (decoded, signature verified, not by the
 * exchange): registered household, its root the log's at its size. */
void audit_witness_entry(struct audit *a, uint64_t idx, const struct pw_msg *m);
/* A COSIGN an agent refused (its disputes, code cosign_fork): when its
 * author is a registered household and its signature verifies, its root
 * must be the log's at its size, else the audit fails at `where`. */
void audit_witness_refused(struct audit *a, const char *where, const void *frame, int len);
/* After the pass: the figures and the --witnesses K verdict. */
void audit_witness_check(struct audit *a);

/* audit_time.c: completeness and time against the signed checkpoints */
void audit_time_check(struct audit *a);

/* audit_evidence.c */
void audit_served_check(struct audit *a);
/* agents' checkpoints join the file checkpoints (before the pass) */
pw_err audit_evidence_load_checkpoints(struct audit *a);
pw_err audit_evidence_check(struct audit *a);

#endif
