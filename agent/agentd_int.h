/*
 * agentd_int.h: what the agent daemon's files share, and nothing else sees:
 * struct agentd (the one context every part works on), the small time
 * helpers and the functions each role exports to the others.
 *
 *   agent/agentd.c  setup, reload, restart state, the zmq_poll loop;
 *                   signing into the outbox (agentd_sign_cb)
 *   agent/atrade.c  placing orders and cancels, the outbox seen as orders,
 *                   the auto-sell and standing-bid decisions
 *   agent/ameter.c  the device's samples (polled by the device thread,
 *                   agent/devpoll.c), plausibility, interval readings
 *   agent/aexch.c   the exchange link: sending the outbox and queries,
 *                   handling receipts, statements, checkpoints, proofs, depth
 *   agent/adash.c   the dashboard's documents and actions
 *   agent/astatus.c what is wrong right now: the problems list, its log
 *
 * Private to agent/a*.c and agent/agentd.c; agent/agentd.h is the public
 * entry point.  Everything here belongs to the loop's thread; the device
 * thread (agent/devpoll.c) shares nothing with it but its mailbox.
 */
#ifndef AGENT_AGENTD_INT_H
#define AGENT_AGENTD_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "agent/aconfig.h"
#include "agent/aledger.h"
#include "agent/dash.h"
#include "agent/devclock.h"
#include "agent/forecast.h"
#include "agent/ivacct.h"
#include "agent/mcheck.h"
#include "agent/modbus_link.h"
#include "agent/outbox.h"
#include "agent/outlook.h"
#include "agent/policy.h"
#include "agent/device.h"
#include "agent/sunspec.h"
#include "agent/xlink.h"
#include "peerwatt/error.h"
#include "peerwatt/keys.h"
#include "peerwatt/log.h"
#include "peerwatt/wire.h"

#define TAG_MANUAL   0
#define TAG_AUTOSELL 1
#define TAG_BID0     2 /* 2 + k: standing bid k (k < ACONFIG_MAX_BIDS) */
/* an offer of stored energy from the battery's plan (abat.c): what it sells
 * is what "sold from the battery" counts (docs/agent-energy.md "Battery plan") */
#define TAG_BATTERY ALEDGER_TAG_BATTERY

#define MAX_VIEWS  256 /* orders looked at per decision */
#define DEPTH_KEEP 4
#define FC_NOTES   128 /* forecasts remembered per interval; > the largest horizon */

/* No verified frame from the exchange for this long: unreachable (it sends
 * a HEARTBEAT every 0.5..5 s).  docs/agent.md "Status". */
#define AGENTD_EXCHANGE_TIMEOUT_MS 15000
/* The agent's clock and the exchange's HEARTBEAT time further apart than
 * this (twice in a row): clock skew. */
#define AGENTD_SKEW_MAX_MS 5000
/* No good device poll for this long: the device is unreachable. */
#define AGENTD_DEVICE_TIMEOUT_MS 10000

/* The states astatus.c reports, in the order the banner shows them. */
enum astatus_code {
	ASTATUS_EXCHANGE_REFUSED,
	ASTATUS_EXCHANGE_UNREACHABLE,
	ASTATUS_MARKET_MISMATCH,
	ASTATUS_CLOCK_SKEW,
	ASTATUS_METER_SERIAL,
	ASTATUS_NO_SUNSPEC,
	ASTATUS_DEVICE_UNREACHABLE,
	ASTATUS_NO_METER,
	ASTATUS_METER_IMPLAUSIBLE,
	ASTATUS_EXCHANGE_LIED,      /* adispute.c: a RESULT refused */
	ASTATUS_STATEMENT_MISMATCH, /* ... a STATEMENT refused */
	ASTATUS_LOG_FORK,           /* ... a checkpoint proven inconsistent */
	ASTATUS_LOG_UNPROVEN,       /* ... a checkpoint's proof refused or not given */
	ASTATUS_REGISTRY_MISMATCH,
	ASTATUS_PROTOCOL_VERSION, /* the exchange speaks another protocol version */
	ASTATUS_RECEIPT_UNPROVEN, /* an ACK whose path does not prove the request */
	ASTATUS_CONTROL_FAILED,   /* actl.c: an export limit not written or read back */
	ASTATUS_BATTERY_FAILED,   /* abat.c: a battery setpoint not written or read back */
	ASTATUS__COUNT
};

/* How the last device poll failed (ameter.c). */
enum ameter_fault { AMETER_OK = 0, AMETER_UNREACHABLE, AMETER_NOT_SUNSPEC };

/* For results that only deserve a log line: the loop carries on. */
/* For results that only deserve a log line: the loop carries on. */
#define CHECKED(expr)                                                                              \
	do {                                                                                       \
		pw_err checked_rc_ = (expr);                                                       \
		if (checked_rc_ != PW_OK)                                                          \
			log_warnx("%s:%d: %s", __FILE__, __LINE__, pw_strerror(checked_rc_));      \
	} while (0)

struct inflight {
	int active;
	uint64_t seq;
	int64_t sent_ms;
};

/* The household's own REGISTRY entry as the exchange's log holds it
 * (aregistry.c, docs/agent.md "Registry entry"). */
#define AREGISTRY_FRAME_MAX 512
struct aregistry {
	int have;                           /* an entry for this key received and verified */
	struct pw_registry e;               /* it */
	uint8_t frame[AREGISTRY_FRAME_MAX]; /* its exact signed frame (the leaf) */
	size_t len;
	uint64_t asked_size;  /* tree size of the last REGISTRY query answered (0: none) */
	int want_proof;       /* the entry held is not proven yet */
	uint64_t index;       /* its log index (from the proof) */
	uint64_t proven_size; /* the checkpoint it was proven against; 0: not proven */
	int proof_failed;
	int unregistered;   /* the exchange has no entry for this key (REJECT bad_query) */
	char mismatch[512]; /* what differs from this agent's configuration ("" none) */
};

struct qflight {
	int active;
	uint64_t nonce;
	uint8_t kind;
	uint64_t a, b;
	uint8_t key[PW_PK_LEN]; /* REGISTRY, REGISTRY_PROOF: the household asked about */
	int fee;                /* asked by afee.c (a statement's rules and zones) */
	int head;               /* asked by aheads.c (an ACK's head proven) */
	int64_t sent_ms;
	enum outbox_stream stream; /* inclusion: the item proven */
	uint64_t seq;
};

/* The last query the exchange refused for a transient reason: its resends
 * are logged at debug level only, so a long catch-up under the exchange's
 * rate limit says so once per item rather than once per try. */
struct qdeferred {
	int set;
	uint8_t kind;
	uint64_t a, b;
};

/* The last forecast made for an interval before its gate, logged next to
 * the export measured in it (forecast error, docs/agent.md "Forecast"). */
struct fc_note {
	int set;
	uint64_t interval;
	uint64_t forecast_wh, firm_wh;
	uint32_t horizon;
};

/* One own order as the outbox shows it. */
struct oview {
	uint64_t seq;
	uint64_t interval;
	uint8_t side;
	uint32_t qty_wh;
	int32_t price_uper_kwh;
	enum outbox_state state;
	uint16_t reason;
	int cancelled; /* a CANCEL for it is pending or acknowledged */
	enum outbox_proof proof;
};

/* Readings kept in memory while the database refuses them (a store is
 * tried again every AGENTD_PENDING_RETRY_MS; 256 intervals is over two days
 * at 15 min). */
#define AGENTD_PENDING_MAX      256
#define AGENTD_PENDING_RETRY_MS 1000

/* The price outlook (agent/aoutlook.c): the one held, the messages being
 * read (0: the DEALER's answer, 1: the SUB's publication), when to ask. */
struct aoutlook {
	struct outlook ol;
	struct outlook_msg msg[2];
	int want;            /* ask QUERY SCHEDULE (start, re-connection, quiet) */
	int64_t next_ask_ms; /* not before this (after a refusal) */
	int64_t asked_ms;
	unsigned long refused; /* outlooks refused (a frame failed a check) */
	uint64_t shown_iv;     /* aoutlook_tick: what the page was last sent */
	int shown_stale;
};

struct adispute; /* agent/adispute.c: what the household refused */
struct actl;     /* agent/actl.c: export curtailment */
struct abat;     /* agent/abat.c: the battery's setpoints */
struct awitness; /* agent/awitness.c: cosignatures, the neighbours' */

struct agentd {
	struct aconfig cfg;
	struct pw_keypair kp;
	char pk_hex[2 * PW_PK_LEN + 1];
	struct outbox *ob;
	struct aledger *led;
	struct adispute *disp;
	struct actl *ctl; /* NULL until agentd's setup */
	struct abat *bat; /* NULL until agentd's setup */
	void *zctx;
	struct xlink *xl;
	struct log_rate rate_wire;  /* exchange frames with out-of-range fields */
	struct log_rate rate_store; /* readings that wait for the database */
	struct log_rate rate_ckpt;  /* the checkpoints file cannot be written */
	struct log_rate rate_clock; /* the clock's sync status cannot be read */
	struct log_rate rate_fc;    /* forecast observations held or refused */
	/* readings computed but not stored yet (the database was locked or
	 * failed): kept in order and stored before any newer one */
	struct ivacct_reading pending[AGENTD_PENDING_MAX];
	size_t n_pending;
	int64_t pending_retry_ms;
	unsigned long readings_dropped;
	/* the device thread (agent/devpoll.c): it owns the [device] and
	 * [meter] sources and hands samples over; the loop sees only those */
	struct devpoll *dp;
	int dev_has_meter;                  /* the meter source has a grid meter (last sample) */
	int dev_lacks_meter;                /* a SunSpec device discovered without a meter model */
	char dev_serial[PW_SERIAL_LEN + 1]; /* the serial of the meter read */
	int has_pv;
	double pv_w;
	/* the household's consumption (PV + grid import) from PV and grid
	 * power read in the same round, for curtailment (actl.c) */
	int have_load;
	double load_w;
	int64_t load_ms;
	/* PV energy of the dashboard's chart: pv_w integrated over the polls
	 * of interval pv_iv; pv_prev_wh is that of the interval before */
	uint64_t pv_iv, pv_prev_iv;
	double pv_acc_wh, pv_prev_wh;
	int64_t pv_last_ms;
	/* battery energy per interval (abat.c's forecasts, the ledger's energy
	 * rows): the storage's power integrated over the polls on the devices'
	 * clock, charged and discharged apart; bat_prev_* those of the interval
	 * before (bat_prev_iv) */
	uint64_t bat_iv, bat_prev_iv;
	double bat_chg_wh, bat_dis_wh, bat_prev_chg_wh, bat_prev_dis_wh;
	int64_t bat_last_ms;       /* the last poll integrated */
	int64_t bat_read_ms;       /* when the storage was last read (a full poll) */
	int bat_has, bat_prev_has; /* the storage's power was read in that interval */
	int bat_seen;              /* the device has reported a battery since the start */
	struct dev_reading rd;     /* the meter's last reading (storage: of the last full poll) */
	int have_rd;
	int dev_ok;
	char dev_detail[128];
	struct dash *dash;
	struct devclock clock; /* the devices' time of day ([sim] or local) */
	/* the export the household can sell (with a battery: the PV surplus
	 * the grid would see without it) and the home's need beyond its PV
	 * (fc_load: import; with a battery, before it), learned per interval */
	struct forecast fc;
	struct forecast fc_load;
	int have_fc_iv;
	uint64_t fc_last_iv;
	struct fc_note fc_notes[FC_NOTES];
	enum policy_block sell_block; /* why auto-sell offers nothing, logged on change */
	int sell_block_set;
	/* why offers of stored energy are paused (policy_battery_block, atrade.c) */
	enum policy_block bat_block;
	int bat_block_set;
	uint64_t bat_note_iv; /* atrade.c: a sell step not offered, logged once per interval */
	struct ivacct acct;
	/* every meter sample passes mcheck first (ameter.c): refused ones
	 * count for nothing; meter_suspect while the last one was refused,
	 * meter_rebased_ms when a jump was last taken as the new base (shown
	 * until the next reading is signed) */
	struct mcheck mc;
	int meter_suspect;
	int64_t meter_rebased_ms;
	int64_t meter_jump_exp_wh, meter_jump_imp_wh; /* the jump taken */
	struct log_rate rate_meter;
	struct policy_params pol;
	int auto_sell;
	struct inflight fl[OUTBOX_COSIGN + 1]; /* by stream (2, 3 unused) */
	/* witnessing the log (agent/awitness.c) */
	struct awitness *wit;
	struct qflight q;
	struct qdeferred qdefer;
	uint64_t nonce;
	int want_checkpoint;
	uint64_t stmt_after;
	uint64_t proof_after;
	uint64_t stmt_proof_after; /* statement proofs asked for intervals above */
	int64_t last_rx_ms;
	int64_t next_poll_ms, next_trade_ms, next_pump_ms, next_state_ms;
	struct pw_depth depth[DEPTH_KEEP];
	uint64_t skip_note_iv, fallback_note_iv; /* atrade.c: logged once per interval */
	int autosell_failed_iv_set;
	uint64_t autosell_failed_iv;
	/* status inputs (astatus.c) */
	int64_t started_ms;
	int have_hb;
	struct pw_heartbeat hb;
	int64_t hb_rx_ms;
	int64_t skew_ms;     /* our clock minus the exchange's at the last HEARTBEAT */
	unsigned skew_over;  /* HEARTBEATs in a row beyond AGENTD_SKEW_MAX_MS */
	int market_mismatch; /* config differs from the last HEARTBEAT: no trading */
	/* the tariffs as the configuration file gives them (0: follow the
	 * exchange's HEARTBEAT, which a tariff schedule changes) */
	int64_t conf_feedin_uper_kwh, conf_retail_uper_kwh;
	struct aoutlook aol;
	struct aregistry reg; /* our own registry entry (aregistry.c) */
	int serial_refused;   /* a reading was refused meter_serial, none ACKed since */
	char serial_sent[PW_SERIAL_LEN + 1];
	uint64_t serial_iv;
	/* ACKs refused because their receipt does not prove the request
	 * (aexch.c): the last one and the last good one (wall ms) */
	int64_t receipt_bad_ms, receipt_ok_ms;
	char receipt_bad[160];
	enum ameter_fault dev_fault;
	int64_t dev_ok_ms;  /* last good poll */
	unsigned st_active; /* bit per enum astatus_code */
	char st_msg[ASTATUS__COUNT][768];
	char st_action[ASTATUS__COUNT][768];
	int64_t next_status_ms;
	/* counters (/metrics, logs) */
	unsigned long polls, poll_errors, readings, orders, cancels, proofs_ok, proofs_failed,
	    forks, mismatches, statements, receipts_bad;
};

/* ---- agentd.c --------------------------------------------------------- */

/* Unix milliseconds of the wall clock (plus [test] clock_offset_s). */
int64_t agentd_now_ms(const struct agentd *a);
/* The devices' time of day (agent/devclock.h) at the start of interval iv:
 * what the forecast's profile, the standing bids and "night" follow. */
uint32_t agentd_iv_tod(const struct agentd *a, uint64_t iv);

/* For outbox_add(): numbers and signs the message in `m` (ORDER, CANCEL or
 * METER) under the sequence number the outbox hands out. */
struct agentd_signer {
	struct agentd *a;
	struct pw_msg m;
};
pw_err agentd_sign_cb(void *ctx, uint64_t seq, uint8_t *frame, size_t cap, size_t *len,
                      uint8_t *type, uint64_t *interval);

/* The agent's database (the outbox's connection). */
static inline sqlite3 *
agentd_db(struct agentd *a)
{
	return outbox_db(a->ob);
}

/* A u64 from the wire or a row as an SQLite integer, saturating. */
static inline int64_t
agentd_i64(uint64_t v)
{
	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

static inline int64_t
agentd_interval_ms(const struct agentd *a)
{
	return a->cfg.interval_s * 1000;
}

/* The intervals of the agent's current day, the devices' day ([sim] in
 * tests and the demo, docs/agent.md "Time of day"): [*from, *to).  The
 * dashboard's Today (adash.c) and the battery's "today" (abat.c). */
static inline void
agentd_day_ivs(struct agentd *a, uint64_t *from, uint64_t *to)
{
	int64_t start_ms = devclock_day_start_ms(&a->clock, agentd_now_ms(a));
	int64_t L_ms = agentd_interval_ms(a);
	uint64_t day_s = devclock_day_wall_s(&a->clock);

	if (start_ms < 0)
		start_ms = 0;
	*from = (uint64_t)((start_ms + L_ms - 1) / L_ms);
	*to = *from + (day_s + (uint64_t)a->cfg.interval_s - 1) / (uint64_t)a->cfg.interval_s;
}

/* Sane intervals start before AGENTD_TIME_MAX_S (2^33 s, the year 2242):
 * every product of one with interval_s (even in ms) fits an int64.  An
 * interval from the dashboard, the wire or a stored row is checked with
 * agentd_iv_ok() before any arithmetic; the helpers below saturate anyway. */
#define AGENTD_TIME_MAX_S (INT64_C(1) << 33)

static inline bool
agentd_iv_ok(const struct agentd *a, uint64_t iv)
{
	return iv < (uint64_t)(AGENTD_TIME_MAX_S / a->cfg.interval_s);
}

/* Start of interval iv in Unix seconds (AGENTD_TIME_MAX_S when not sane). */
static inline int64_t
agentd_iv_start_s(const struct agentd *a, uint64_t iv)
{
	return agentd_iv_ok(a, iv) ? (int64_t)iv * a->cfg.interval_s : AGENTD_TIME_MAX_S;
}

/* Intervals the exchange takes orders for ahead of now (24 h, one more for
 * the interval under way). */
static inline uint64_t
agentd_ahead_ivs(const struct agentd *a)
{
	return (uint64_t)(86400 / a->cfg.interval_s) + 1;
}

static inline int64_t
agentd_gate_ms(const struct agentd *a, uint64_t iv)
{
	return agentd_iv_start_s(a, iv) * 1000 - a->cfg.gate_s * 1000;
}

/* The most the rated power delivers in one interval, Wh: the bound of the
 * forecast and of every offer (rated_power_w <= 10^8, interval <= a day). */
static inline uint64_t
agentd_rated_iv_wh(const struct agentd *a)
{
	return (uint64_t)a->cfg.rated_power_w * (uint64_t)a->cfg.interval_s / 3600;
}

/* Time an order needs to reach the exchange before its gate. */
static inline int64_t
agentd_margin_ms(const struct agentd *a)
{
	int64_t m = agentd_interval_ms(a) / 4;
	return m > 1000 ? 1000 : m;
}

/* The first interval whose gate is still ahead by the margin. */
static inline uint64_t
agentd_first_open(const struct agentd *a, int64_t now)
{
	uint64_t iv = (uint64_t)(now / agentd_interval_ms(a)) + 1;
	while (agentd_gate_ms(a, iv) - agentd_margin_ms(a) <= now)
		iv++;
	return iv;
}

/* ---- atrade.c --------------------------------------------------------- */

/* Signs and stores an order (a CANCEL) in the outbox; the loop sends it. */
pw_err atrade_place_order(struct agentd *a, uint8_t side, uint64_t iv, uint32_t qty_wh,
                          int32_t price, int tag, uint64_t *seq_out);
pw_err atrade_place_cancel(struct agentd *a, uint64_t iv, uint64_t order_seq);
/* The own orders of intervals min_iv..max_iv, oldest first, at most cap. */
size_t atrade_collect_orders(struct agentd *a, uint64_t min_iv, uint64_t max_iv, struct oview *v,
                             size_t cap);
int atrade_is_open(const struct oview *o);
/* One trading turn over the next open intervals. */
void atrade_run(struct agentd *a, int64_t now);

/* ---- ameter.c --------------------------------------------------------- */

/* The samples the device thread delivered (its fd was readable): closed
 * intervals become signed readings. */
void ameter_receive(struct agentd *a, int64_t now);
/* Every poll period: readings kept while the database refused them. */
void ameter_tick(struct agentd *a, int64_t now);
/* [device] poll_ms changed (a reload). */
void ameter_set_period(struct agentd *a);
/* 1 while the device answers: a successful poll within the last
 * 2 x poll_ms + timeout_ms (one failed request in N does not count). */
int ameter_reachable(const struct agentd *a, int64_t now);
/* 1 when the source of the readings has a grid meter (a SunSpec device
 * once discovered with a meter model, a template with role meter, a smart
 * meter reader). */
int ameter_has_meter(const struct agentd *a);
/*
 * Open the sources a->cfg names ([device], and [meter] when set); nothing is
 * read yet.  On error err says which and why.  ameter_close frees them.
 * ameter_check does the same for --check-config and closes them again.
 */
pw_err ameter_open(struct agentd *a, char *err, size_t errlen) __attribute__((warn_unused_result));
void ameter_close(struct agentd *a);
pw_err ameter_check(const struct aconfig *cfg, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* ---- aexch.c ---------------------------------------------------------- */

void aexch_pump_stream(struct agentd *a, enum outbox_stream s, int64_t now);
void aexch_pump_queries(struct agentd *a, int64_t now);
/* Handles every verified frame waiting on the DEALER (from_sub 0) or SUB. */
void aexch_receive(struct agentd *a, int from_sub, int64_t now);
int aexch_reachable(const struct agentd *a, int64_t now);

/* ---- aregistry.c ------------------------------------------------------ */

/* The next registry query to send against checkpoint `cp` (REGISTRY after
 * each new checkpoint, then REGISTRY_PROOF of a changed entry): 1 and the
 * query's kind, a and b, or 0. */
int aregistry_next_query(struct agentd *a, const struct pw_checkpoint *cp, uint8_t *kind,
                         uint64_t *qa, uint64_t *qb);
/* A REGISTRY frame answering the query in flight. */
void aregistry_on_entry(struct agentd *a, const uint8_t *frame, size_t len, const struct pw_msg *m);
/* A PROOF answering the REGISTRY_PROOF query in flight. */
void aregistry_on_proof(struct agentd *a, const struct pw_proof *p);
/* A final REJECT of the registry query in flight. */
void aregistry_refused(struct agentd *a, uint8_t kind, uint64_t b, uint16_t reason);
/* Sets ASTATUS_REGISTRY_MISMATCH in *active with its sentences. */
void aregistry_problems(struct agentd *a, unsigned *active);
/* The "registry" object of /api/state (caller owns it; null when none). */
json_t *aregistry_json(const struct agentd *a);

/* ---- afee.c ----------------------------------------------------------- */

/* Bounds: distinct parties (the household and its counterparties) of one
 * interval whose zones are fetched; cached answers (rows of table
 * rule_entries); the largest answer kept (a MARKET frame with 64 fees is
 * 4535 bytes). */
#define AFEE_MAX_PARTIES 257
#define AFEE_CACHE_MAX   4096
#define AFEE_FRAME_MAX   4608

/* One trade of the household with its counterparty. */
struct afee_trade {
	uint64_t seq; /* the household's order */
	uint8_t side; /* the household's side */
	uint32_t qty_wh;
	uint8_t other[PW_PK_LEN];
};

/* A query afee.c needs sent. */
struct afee_query {
	uint8_t kind; /* MARKET, MARKET_PROOF, REGISTRY, REGISTRY_PROOF */
	uint64_t a, b;
	uint8_t key[PW_PK_LEN];
};

enum { AFEE_READY = 0, AFEE_WAIT = 1, AFEE_FAIL = -1 };

struct averify_stmt_in;
struct averify_trade;

/* Creates its table (called by adispute_open). */
pw_err afee_open(struct agentd *a) __attribute__((warn_unused_result));
/* The next MARKET or REGISTRY query (or its proof) the statement due
 * needs, against the trusted checkpoints held (`latest` the latest): 1 and
 * *q, or 0. */
int afee_next_query(struct agentd *a, const struct pw_checkpoint *latest, struct afee_query *q);
/* A MARKET or REGISTRY frame answering afee's query in flight. */
void afee_on_entry(struct agentd *a, const uint8_t *frame, size_t len, const struct pw_msg *m);
/* A PROOF answering afee's MARKET_PROOF or REGISTRY_PROOF in flight. */
void afee_on_proof(struct agentd *a, const struct pw_proof *p);
/* A final REJECT of afee's query in flight. */
void afee_refused(struct agentd *a, uint16_t reason);
/*
 * Whether household `key` is registered (agent/awitness.c: a neighbour's
 * cosignature counts only then): 1 a proven REGISTRY entry of it, not
 * revoked, at tree size b (or one proven at another size before); -1 the
 * entry at b is revoked, refused, fails its proof or answers another
 * question (*why says which); 0 not known yet: then *q is the query to ask
 * (REGISTRY, then REGISTRY_PROOF, at b), and 0 with q->kind 0 when nothing
 * is to be asked.
 */
int afee_registered(struct agentd *a, const uint8_t key[PW_PK_LEN], uint64_t b,
                    struct afee_query *q, char *why, size_t cap);
/* The inputs of interval iv's statement check that come from the log: the
 * tariffs (in->feedin/retail) and the household's trades with each one's
 * fee (in->trades, n_trades; *tr is the caller's to free).  AFEE_READY;
 * AFEE_WAIT (not fetched or proven yet: "not yet checked"); AFEE_FAIL
 * (why: an entry failed its proof, was refused, or answers another
 * question). */
int afee_inputs(struct agentd *a, uint64_t iv, int have_result, struct averify_stmt_in *in,
                struct averify_trade **tr, char *why, size_t cap);

/* ---- aoutlook.c ------------------------------------------------------- */

/* Where an interval's tariffs come from. */
enum aoutlook_src {
	AOUTLOOK_SRC_NONE = 0,  /* not known: relative prices have no value */
	AOUTLOOK_SRC_OUTLOOK,   /* the signed outlook's rule for that interval */
	AOUTLOOK_SRC_HEARTBEAT, /* no outlook for it: the last HEARTBEAT's (now) */
	AOUTLOOK_SRC_CONFIG,    /* neither yet: [exchange] feedin_price, retail_price */
};

/* The QUERY SCHEDULE to send now: 1 and its first interval, or 0. */
int aoutlook_next_query(struct agentd *a, int64_t now, uint64_t *qa);
/* The link was re-created (ask again), the query was refused finally
 * (ask again later) or lost. */
void aoutlook_relinked(struct agentd *a);
void aoutlook_query_refused(struct agentd *a, uint16_t reason, int64_t now);
void aoutlook_query_lost(struct agentd *a);
/* Every verified frame of socket from_sub, before it is handled: a new
 * message ends an outlook whose last frame was dropped. */
void aoutlook_frame_seen(struct agentd *a, int from_sub);
/* A MARKET frame of the SCHEDULE answer (from_sub 0) or of a MARKET
 * publication (1). */
void aoutlook_on_market(struct agentd *a, int from_sub, const struct pw_msg *m, int64_t now);
/* The tariffs of interval iv (*b) and where they come from. */
enum aoutlook_src aoutlook_bounds(struct agentd *a, uint64_t iv, struct policy_bounds *b);
const char *aoutlook_src_name(enum aoutlook_src s);
/* 1 when the outlook held may be out of date (the exchange unreachable,
 * or no newer one for several intervals). */
int aoutlook_stale(const struct agentd *a, int64_t now);
/* Sends the page the outlook again when the interval or its staleness
 * changed (called with the state document, once a second). */
void aoutlook_tick(struct agentd *a, int64_t now);
/* DASH_DOC_OUTLOOK (caller owns it). */
json_t *aoutlook_json(struct agentd *a);

/* ---- aheads.c --------------------------------------------------------- */

/* Creates its table (called by adispute_open). */
pw_err aheads_open(struct agentd *a) __attribute__((warn_unused_result));
/* The head (a CHECKPOINT frame) of an ACK whose receipt was proven: kept
 * until proven consistent with a trusted checkpoint; a fork when a head or
 * checkpoint of its size has another root. */
void aheads_add(struct agentd *a, const uint8_t *frame, size_t len, const struct pw_checkpoint *h,
                int64_t now);
/* The next head to prove, against `trusted` (the latest trusted
 * checkpoint): 1 and CONSISTENCY(*qa, *qb), or 0 (none due). */
int aheads_next_query(struct agentd *a, const struct pw_checkpoint *trusted, int64_t now,
                      uint64_t *qa, uint64_t *qb);
/* A PROOF answering the head query in flight. */
void aheads_on_proof(struct agentd *a, const struct pw_proof *p, int64_t now);
/* The head query in flight refused (a fork suspected) or lost. */
void aheads_refused(struct agentd *a, int64_t now);
void aheads_lost(struct agentd *a, int64_t now);

/* ---- adash.c ---------------------------------------------------------- */

/* Starts the dashboard if configured; a->dash stays NULL otherwise. */
void adash_start(struct agentd *a);

/* ---- actl.c ----------------------------------------------------------- */

/* Export curtailment (docs/agent-energy.md "Curtailment"); nothing is written
 * unless [device] control = on.  Caller owns *out (actl_destroy). */
pw_err actl_new(struct actl **out) __attribute__((warn_unused_result));
/* The table of limited intervals (created when missing) and the last
 * ACTL_EVENTS of them read back; one left open by an agent that did not
 * lift its limit is closed at its interval's end (or now). */
pw_err actl_open(struct agentd *a, int64_t now) __attribute__((warn_unused_result));
void actl_destroy(struct actl **cp);
/* Every trading turn: decide the current interval's limit, ask the device
 * thread to write it, lift it when the reason is gone. */
void actl_tick(struct agentd *a, int64_t now);
/* A graceful stop: a limit in force is lifted (before ameter_close). */
void actl_stop(struct agentd *a);
/* A device round carried out a control (devpoll_sample.ctl). */
struct ctl_result;
void actl_on_result(struct agentd *a, const struct ctl_result *r, int64_t now);
/* ASTATUS_CONTROL_FAILED while the last write failed or read back wrong. */
void actl_problems(struct agentd *a, unsigned *active);
/* The dashboard: {"enabled", "limiting", "limit_w", "text", "events": [...]}
 * in /api/state; the intervals' estimates for /api/statements. */
json_t *actl_json(struct agentd *a, int64_t now);
/* /metrics: limiting now (0/1) and the intervals limited since the start;
 * nothing unless [device] control = on. */
void actl_metrics(struct agentd *a, FILE *out);
json_t *actl_json_saved(struct agentd *a);

/* ---- abat.c ----------------------------------------------------------- */

/* The battery's setpoints (docs/agent-energy.md "Battery"); nothing is written
 * unless [battery] control = on.  Caller owns *out (abat_destroy). */
pw_err abat_new(struct abat **out) __attribute__((warn_unused_result));
void abat_destroy(struct abat **bp);
/* Every trading turn: the setpoint of the current interval, asked of the
 * device thread once per interval (again after a failure). */
void abat_tick(struct agentd *a, int64_t now);
/* The [battery] keys changed (a reload): plan again now. */
void abat_reconfigured(struct agentd *a);
/* A closed interval's export, import and battery energy (has_bat: the
 * storage was read through it) for the forecasts of surplus and need:
 * returns the surplus the export forecast learns (export itself without a
 * battery) and *deficit_wh the need fc_load learns. */
uint64_t abat_net_wh(uint64_t export_wh, uint64_t import_wh, int has_bat, uint64_t charged_wh,
                     uint64_t discharged_wh, uint64_t *deficit_wh);
/* /metrics lines of the battery (nothing without one). */
void abat_metrics(struct agentd *a, FILE *out);
/* A device round carried out a setpoint (devpoll_sample.st). */
struct stctl_result;
void abat_on_result(struct agentd *a, uint64_t gen, const struct stctl_result *r, int64_t now);
/* ASTATUS_BATTERY_FAILED while the last setpoint failed or read back wrong. */
void abat_problems(struct agentd *a, unsigned *active);
/* The plan's step for interval iv as last planned before its gate; NULL when
 * there is none (no battery, control off, strategy self, not planned yet). */
struct bplan_step;
const struct bplan_step *abat_step(const struct agentd *a, uint64_t iv);
/* DASH_DOC_STATE's "battery": null without a battery, else
 * {"soc_pct", "power_w" (> 0 discharging), "capacity_wh", "reserve_pct":
 * each null when unknown; "control": bool, "strategy": "plan"|"self",
 * "setpoint": null|"auto"|"hold"|"protect"|"charge"|"discharge" (in force),
 * "today": {"charged_wh", "discharged_wh", "sold_wh"} (the devices' day,
 * aledger_json_battery_day; null on a database error)}.
 * Caller owns it. */
json_t *abat_state_json(struct agentd *a);
/* DASH_DOC_PLAN (agent/dash.h).  Caller owns it. */
json_t *abat_plan_json(struct agentd *a, int64_t now);

/* ---- astatus.c -------------------------------------------------------- */

/* Recomputes the problems from the status inputs; logs each one once when
 * it appears and once when it clears. */
void astatus_update(struct agentd *a, int64_t now);
/* A HEARTBEAT arrived: clock skew and the market's parameters. */
void astatus_heartbeat(struct agentd *a, const struct pw_heartbeat *hb, int64_t now);
/* The tariffs the config leaves at 0 follow the last HEARTBEAT's; the
 * configured ones are compared with it (market_mismatch). */
void astatus_tariffs(struct agentd *a);
/* "exchange_unreachable", ... (the stable codes of docs/agent.md "Status"). */
const char *astatus_code_name(enum astatus_code c);
/* The "problems" array of /api/state (caller owns it). */
json_t *astatus_json(const struct agentd *a);
static inline int
astatus_has(const struct agentd *a, enum astatus_code c)
{
	return (a->st_active & (1u << c)) != 0;
}

#endif
