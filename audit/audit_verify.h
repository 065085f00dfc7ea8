/*
 * audit_verify.h: the auditor's verification of an exchange database
 * (docs/audit.md "What peerwatt-audit verify checks" is the specification).
 *
 * Owns the replay of the log: every entry's leaf, decoding and signature;
 * the Merkle root at every checkpoint (database and agents' files); the
 * entry rules (registration, sequences, price bounds, capacity, one side,
 * meter continuity); every auction (rules/auction.h) and every
 * statement (rules/settle.h) recomputed and compared; each settled
 * interval's money and energy balance.
 *
 * Called by audit/main.c (peerwatt-audit verify) and the unit tests.
 * Reads only (the caller opens the database read-only).  Not thread-safe
 * per report; no global state.
 */
#ifndef AUDIT_VERIFY_H
#define AUDIT_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "peerwatt/error.h"
#include "peerwatt/keys.h"
#include "peerwatt/wire.h"

#define AUDIT_REASON_LEN 256
/* A CHECKPOINT frame: header, origin, interval, size, root, time, signature. */
#define AUDIT_CHECKPOINT_FRAME_LEN                                                                 \
	(PW_WIRE_HEADER_LEN + PW_ORIGIN_LEN + 8 + 8 + PW_HASH_LEN + 8 + PW_SIG_LEN)
#define AUDIT_WHERE_LEN 320

/* The first failure (the audit stops checking at it). */
struct audit_failure {
	int failed;
	uint64_t index;                /* log index, UINT64_MAX when not an entry */
	char type[16];                 /* message type name of the entry, "" otherwise */
	char where[AUDIT_WHERE_LEN];   /* "entry 17", "checkpoint 40", "FILE:3", "database" */
	char reason[AUDIT_REASON_LEN]; /* technical detail */
	char plain[AUDIT_REASON_LEN];  /* the same in plain words ("" : none set) */
};

/* Where the exchange key the audit checks against comes from. */
enum audit_key_source {
	AUDIT_KEY_FROM_DB = 0,   /* table params only: nothing outside pins it */
	AUDIT_KEY_PINNED = 1,    /* --exchange-key, equal to the database's */
	AUDIT_KEY_WITNESSED = 2, /* the database's, and households' evidence signed by it */
};

/* Warnings: the audit passed or failed, but covered less than it could. */
#define AUDIT_WARN_NO_FILES      0x01u /* no checkpoint files given */
#define AUDIT_WARN_NO_EVIDENCE   0x02u /* no agent database given */
#define AUDIT_WARN_UNPINNED      0x04u /* exchange key taken from the database */
#define AUDIT_WARN_AFTER_CP      0x08u /* entries after the latest checkpoint */
#define AUDIT_WARN_WAL           0x10u /* a -wal file beside the database */
#define AUDIT_WARN_NO_CHECKPOINT 0x20u /* the database holds no checkpoint */
#define AUDIT_WARN_OLD_EVIDENCE  0x40u /* an agent database without signed receipts */
#define AUDIT_WARN_MIGRATED      0x80u /* rules and registry written at migration */

#define AUDIT_MAX_FEE_ROWS  PW_MARKET_MAX_FEES /* fee rows of one MARKET entry */
#define AUDIT_MAX_RULE_SETS 32                 /* MARKET entries shown in the report */

/* The tariffs and fees of one MARKET entry, from its first interval on. */
struct audit_rule_set {
	uint64_t first_interval;                  /* its effective_interval */
	uint64_t index;                           /* its log index */
	uint64_t time_s;                          /* when the exchange signed it */
	int32_t feedin_uper_kwh, retail_uper_kwh; /* may be negative */
	uint32_t fee_same_uper_kwh, fee_default_uper_kwh;
	size_t n_fee_rows;
	struct {
		char zone_a[PW_TOKEN_LEN + 1], zone_b[PW_TOKEN_LEN + 1];
		uint32_t fee_uper_kwh;
	} fee_rows[AUDIT_MAX_FEE_ROWS];
};

struct audit_options {
	const char *const *files; /* checkpoint files */
	size_t n_files;
	const char *const *agents; /* agents' databases (read-only) */
	size_t n_agents;
	const uint8_t *pinned_pk; /* --exchange-key, NULL: none */
	int wal_beside;           /* the caller saw DB-wal (warning only) */
	/* --witnesses K: at least K registered households cosigned one
	 * checkpoint (0: not required; the figures are reported anyway) */
	unsigned witnesses;
};

struct audit_report {
	/* market: the first MARKET entry of the log (the id from table params,
	 * confirmed by that entry's signature; the key is its author) */
	char market_name[PW_ORIGIN_LEN + 1];
	char currency[4];
	uint64_t market_id;
	uint8_t exchange_pk[PW_PK_LEN];
	uint64_t households;         /* keys with a REGISTRY entry */
	uint64_t households_revoked; /* of them, revoked by their latest entry */
	uint64_t registry_entries, market_entries;
	enum audit_key_source key_source;
	/* the market's rules as the MARKET entries state them */
	int have_rules;
	int64_t interval_s, gate_s, grace_s, max_ahead_s;
	size_t n_rule_sets; /* MARKET entries; the first AUDIT_MAX_RULE_SETS kept */
	struct audit_rule_set rule_sets[AUDIT_MAX_RULE_SETS];
	/* a database migrated from the old format: its first MARKET entry and
	 * the REGISTRY entries after it were written at migration, and govern
	 * the entries before them */
	int migrated;
	uint64_t migration_index;  /* the first MARKET entry's index = entries before it */
	uint64_t migration_time_s; /* its time */
	/* period: the first and last interval named by any entry */
	int have_period;
	uint64_t first_interval, last_interval;
	/* entries */
	uint64_t entries;
	uint64_t orders, cancels, readings, results, statements;
	uint64_t signatures; /* verified */
	uint8_t root[PW_HASH_LEN];
	/* checkpoints */
	uint64_t checkpoints_db, checkpoints_files;
	int have_checkpoint;
	uint64_t checkpoint_size; /* the latest database checkpoint */
	uint8_t checkpoint_root[PW_HASH_LEN];
	/* market */
	uint64_t auctions; /* intervals whose RESULT was replayed */
	uint64_t trades;
	uint64_t traded_wh;
	uint64_t intervals_settled; /* with statements, balanced */
	uint64_t intervals_open;    /* orders logged, no RESULT yet */
	uint64_t intervals_pending; /* cleared, no statement yet */
	uint64_t intervals_empty;   /* cleared, settled with no statement (nobody active) */
	/* completeness and time (against the signed checkpoint times) */
	uint64_t time_checks;      /* intervals checked against a checkpoint's time */
	uint64_t after_checkpoint; /* entries after the latest database checkpoint */
	/* served tables equal the logged frames */
	uint64_t served_statements, served_results;
	/* households' evidence */
	uint64_t agents;              /* agent databases read */
	uint64_t ev_acks, ev_rejects; /* signed receipts checked */
	uint64_t ev_records;          /* ACKed items without a signed receipt, checked */
	uint64_t ev_statements, ev_checkpoints;
	uint64_t ev_results; /* RESULT parts households hold (kept or refused) */
	/* witnesses: the COSIGN entries (households' cosignatures) */
	uint64_t cosigns;              /* COSIGN entries checked */
	uint64_t cosigned_checkpoints; /* distinct tree sizes cosigned */
	unsigned witnesses_required;   /* --witnesses K (0: none) */
	int have_cosigned;
	uint64_t latest_cosigned_size; /* the largest cosigned checkpoint */
	uint64_t latest_cosigned_by;   /* distinct households that cosigned it */
	int have_witnessed;
	uint64_t witnessed_size; /* the checkpoint the verdict relies on: the
	                          * largest one cosigned by >= K households
	                          * (K = 0: the largest cosigned) */
	uint64_t witnessed_by;   /* distinct households that cosigned it */
	unsigned warnings;       /* AUDIT_WARN_* */
	/* money over all settled intervals */
	int64_t peer_paid_u, peer_received_u;
	int64_t fee_u;
	int64_t grid_account_u; /* the grid's balance: fees + imbalance payments */
	int64_t net_u;          /* sum of the households' nets */
	struct audit_failure fail;
};

/*
 * Verify the database `db` with the checkpoint files, agents' databases and
 * pinned key of `opt` (may be NULL: the database alone).  PW_OK when the
 * audit ran to a verdict (r->fail.failed tells which); PW_ERR_NOMEM, or
 * PW_ERR_IO when a file cannot be read (the failure names it too).  A
 * database that lacks the tables or holds malformed rows is a failed
 * verification, not an error.
 */
pw_err audit_verify(sqlite3 *db, const struct audit_options *opt, struct audit_report *r)
    __attribute__((warn_unused_result));

/*
 * One item of a checkpoint file: `where` is "NAME:LINE" (hex text) or
 * "NAME#K" (binary); either `frame`/`len` (not yet decoded or verified) or
 * `malformed` (why the line is not a frame) is set.  Returning an error
 * stops the parse and is passed up.
 */
typedef pw_err (*audit_cp_fn)(void *ctx, const char *where, const uint8_t *frame, size_t len,
                              const char *malformed);

/*
 * Split the contents of a checkpoint file (docs/audit.md section 5) into
 * items: binary when it starts with 0x01 0x14 (consecutive frames of
 * AUDIT_CHECKPOINT_FRAME_LEN bytes, a shorter tail is one item), else text
 * (one hex frame per line; blank lines and '#' comments skipped; a line of
 * more than 4096 characters, odd length or a non-hex digit is malformed).
 * Never hands on a frame longer than AUDIT_CHECKPOINT_FRAME_LEN + 1 bytes.
 */
pw_err audit_checkpoint_file_parse(const char *name, const uint8_t *buf, size_t n, audit_cp_fn fn,
                                   void *ctx) __attribute__((warn_unused_result));

#endif
