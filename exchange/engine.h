/*
 * engine.h: the exchange's state machine: the request path (group commit
 * of ORDER / CANCEL / METER, answers to QUERY) in exchange/engine.c and
 * the market clock (gate closure, clearing, settlement, DEPTH,
 * checkpoints) in exchange/market.c.
 *
 * struct engine is the daemon's context: exchange/main.c builds it (config,
 * key, registry, store, log, gateway), calls engine_ingest() when the
 * ROUTER is readable and market_tick() on every loop iteration, and swaps
 * the configuration and registry on SIGHUP.  The engine owns nothing it
 * did not allocate itself: main.c closes the components.  Called from one
 * thread; engine_init starts the crypto pool (signature checks and receipt
 * signatures), which only ever touches the requests of a batch.
 */
#ifndef EXCHANGE_ENGINE_H
#define EXCHANGE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "exchange/gateway.h"
#include "exchange/mlog.h"
#include "exchange/registry.h"
#include "exchange/store.h"
#include "exchange/xconfig.h"
#include "exchange/xrules.h"
#include "peerwatt/keys.h"
#include "peerwatt/wire.h"

struct engine_rate {
	double tokens;
	int64_t last_ms;
	int64_t limited_s; /* second of the last REJECT rate_limited, -1 none */
};

struct engine_slot;      /* one request of a batch (engine_int.h) */
struct engine_committer; /* the COMMIT's thread (engine_commit.c) */
struct engine_pool;      /* crypto threads and the batch pipeline (engine_int.h, engine_pool.c) */

/* Where a batch's time goes (docs/performance.md): per stage, a count, a
 * sum, a maximum and a log2 histogram of durations in microseconds
 * (bucket i holds [2^(i-1), 2^i) us, bucket 0 holds 0 us).  Logged with
 * the other counters on SIGUSR1 and at exit. */
enum engine_stage {
	ENGINE_ST_RECV,   /* drain the ROUTER, frame checks */
	ENGINE_ST_VERIFY, /* waiting for the signature checks */
	ENGINE_ST_APPLY,  /* stateful rules, log and store statements */
	ENGINE_ST_COMMIT, /* COMMIT: WAL write and fsync */
	ENGINE_ST_SIGN,   /* waiting for the receipt signatures */
	ENGINE_ST_SEND,   /* replies handed to ZeroMQ */
	ENGINE_ST_BATCH,  /* first receive to last reply of a batch */
	ENGINE_ST__COUNT
};
#define ENGINE_HIST_BUCKETS 26

struct engine_hist {
	uint64_t n, sum, max;
	uint64_t bucket[ENGINE_HIST_BUCKETS];
};

/* COSIGNED: one publication per checkpoint and this many ms at most (a
 * neighbourhood's agents cosign a checkpoint within about a second: one
 * publication per cosignature would have each agent verify n^2/2
 * signatures), and the checkpoints followed at once. */
#define ENGINE_COSIGNED_GAP_MS 1000
#define ENGINE_COSPUB_MAX      8

struct engine {
	const struct xconfig *cfg;
	const struct pw_keypair *kp; /* the exchange's signing key */
	const struct registry *reg;
	/* the log's rules: tariffs and fees per interval (xrules_market_at) */
	const struct xrules *rules;
	struct store *store;
	struct mlog *log;
	struct gateway *gw;

	/* counters since start; rejects are also added to table stats */
	uint64_t accepted[PW_MSG_COSIGN + 1];
	uint64_t rejects[PW_REASON__COUNT];
	uint64_t rejects_unflushed[PW_REASON__COUNT];
	uint64_t batches, commits, replies_dropped;
	struct engine_hist stage_us[ENGINE_ST__COUNT];
	struct engine_hist batch_size;   /* requests per batch */
	struct engine_hist commit_pages; /* WAL pages per batch COMMIT */
	/* frames over the rate dropped unanswered (one REJECT rate_limited
	 * per household and second is sent, the rest cost no signature) */
	uint64_t rate_dropped;
	/* REJECT log lines: at most ENGINE_REJECT_LOG_PER_S a second, the
	 * rest counted and summed up in one line */
	int64_t rejlog_s;
	unsigned rejlog_n;
	uint64_t rejlog_skipped;

	/* per-household rate limit, indexed like the registry */
	struct engine_rate *rate;
	size_t n_rate;

	/* batch buffers (engine_init) */
	struct engine_slot *slots;
	uint8_t *bufs;
	size_t n_slots;
	size_t n_threads; /* for signature checks and receipt signatures */
	struct engine_pool *pool;
	struct engine_committer *committer; /* NULL: COMMIT on the main thread */
	uint8_t *out;                       /* one encoded reply */
	/* the receipts of the batch being finished (exchange/receipt.h): the
	 * inclusion paths and the one head signed for all its ACKs */
	struct receipt_batch receipts;
	uint8_t head[PW_CHECKPOINT_FRAME_LEN];
	size_t head_len; /* 0: no head (nothing appended, or it failed) */

	/* market clock (market.c) */
	int64_t next_depth_ms;
	int64_t next_heartbeat_ms;
	int have_cleared;
	uint64_t last_cleared;
	/* PUB MARKET once per interval: the last interval it was published */
	int have_outlook;
	uint64_t outlook_iv;
	/* PUB COSIGNED at most once per ENGINE_COSIGNED_GAP_MS and checkpoint
	 * (engine_query.c): the checkpoints cosigned lately, when each was
	 * last published, and whether cosignatures wait for the next turn */
	struct engine_cospub {
		uint64_t size;
		int64_t last_ms;
		int pending;
	} cospub[ENGINE_COSPUB_MAX];
	size_t n_cospub;
};

/* Allocate the batch buffers for cfg->batch_max requests.  The other
 * fields are set by the caller before. */
pw_err engine_init(struct engine *e) __attribute__((warn_unused_result));
void engine_fini(struct engine *e);

/* Swap in a new registry (rate buckets reset; the gateway follows). */
void engine_set_registry(struct engine *e, const struct registry *reg);

/* Drain up to batch_max queued requests, apply them in one transaction,
 * commit, then reply.  Frames dropped by the rate limit take no batch slot;
 * a batch reads at most a few times batch_max frames, so its requests never
 * wait behind a flood.  Returns the number of requests handled (dropped
 * frames not counted). */
size_t engine_ingest(struct engine *e, int64_t now_s, int64_t now_ms);

/* Log the counters (SIGUSR1 and exit). */
void engine_log_stats(const struct engine *e);
/* Log what the in-memory book holds (at start, SIGUSR1 and exit): counts,
 * sums and a digest that a restart must reproduce. */
void engine_log_book(struct store *st);

/* PUB COSIGNED of the checkpoints whose cosignatures waited for their gap
 * (called by market_tick); returns the milliseconds until the next one is
 * due, or INT64_MAX when none waits. */
int64_t engine_cosigned_due(struct engine *e, int64_t now_ms);

/* Market clock (market.c): clear every interval whose gate has closed,
 * settle every interval whose grace has passed (then checkpoint), publish
 * DEPTH when due.  Returns the milliseconds until it wants to run again. */
int64_t market_tick(struct engine *e, int64_t now_s, int64_t now_ms);

/* Sign and encode `m` into e->out; *len its length.  Used by both halves. */
pw_err engine_sign(struct engine *e, struct pw_msg *m, size_t *len)
    __attribute__((warn_unused_result));

/* PUB topic MARKET: the price outlook from `interval` on, as QUERY
 * SCHEDULE answers it (after a MARKET entry was logged; market_tick()
 * publishes it at the start of every interval). */
void engine_publish_schedule(struct engine *e, uint64_t interval);

/* Add pending rejection counts to table stats (inside a transaction). */
pw_err engine_flush_stats(struct engine *e) __attribute__((warn_unused_result));

#endif
