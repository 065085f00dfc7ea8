/*
 * engine_int.h: what the request path's files share (engine.c the batch
 * and its rules, engine_pool.c the crypto threads and the statistics,
 * engine_query.c the QUERY answers and the REJECT log).  Not for other
 * modules: engine.h is the interface.
 */
#ifndef PEERWATT_ENGINE_INT_H
#define PEERWATT_ENGINE_INT_H

#include "exchange/engine.h"

#include <pthread.h>

/* Largest reply: a RESULT part with PW_RESULT_MAX_TRADES trades. */
#define ENGINE_OUT_MAX (PW_WIRE_HEADER_LEN + 64 + PW_RESULT_MAX_TRADES * PW_TRADE_WIRE_LEN + 256)

/* The longest receipt: an ACK with a 64-hash path (a REJECT is 157 bytes). */
#define ENGINE_RECEIPT_MAX PW_RECEIPT_MAX_LEN
#define ENGINE_THREADS_MAX 16
/* Frames read per engine_ingest() call at most, in batches: dropped frames
 * take no slot, so a flood could otherwise keep one call reading. */
#define ENGINE_DRAIN_FACTOR 4
/* REJECT log lines per second at most (log_reject) */
#define ENGINE_REJECT_LOG_PER_S 20

enum slot_state {
	SLOT_REJECT,   /* answer REJECT slot->reason */
	SLOT_APPLY,    /* state-changing request passed the stateless checks */
	SLOT_ACCEPTED, /* applied; ACK with slot->log_idx after commit */
	SLOT_QUERY,    /* answer after commit */
	SLOT_DROP,     /* over the rate, already told this second: no reply */
};

struct engine_slot {
	struct gw_request req;
	enum slot_state state;
	enum pw_reason reason;
	int decoded;
	int stateful; /* went to the transaction (SLOT_APPLY) */
	struct pw_msg msg;
	const struct household *h;
	uint64_t log_idx;
	int sig_ok;                        /* set by the parallel verify */
	uint8_t reply[ENGINE_RECEIPT_MAX]; /* signed receipt (parallel sign) */
	size_t reply_len;
};

/*
 * Signature checks and receipt signatures are pure functions of one slot,
 * and they are most of the CPU a request costs: a pool of worker threads
 * (started once, [network] threads of them) does them while the main
 * thread does everything touching the store, the log or the sockets.  The
 * two overlap (docs/performance.md): the next batch's signatures are
 * checked while this batch is applied and committed, and this batch's
 * receipts are signed while its COMMIT waits for the fsync.  A thread
 * waiting for a job takes slots of it itself instead of sleeping.
 */
enum par_what { PAR_VERIFY, PAR_SIGN };

#define ENGINE_JOBS_MAX  4 /* verify (2) of the next batch, sign of this one */
#define ENGINE_JOB_CHUNK 2 /* slots taken at once: a verify is ~50 us */

struct engine_job {
	struct engine_slot *slots;
	size_t n, next, done; /* next and done under pool.mu */
	enum par_what what;
	int64_t now_s;
};

/* One batch of the pipeline: its slots and its two crypto jobs. */
struct engine_batch {
	struct engine_slot *slots;
	size_t n;
	int64_t t_start_us;
	struct engine_job verify, verify_more, sign;
};

struct engine_pool {
	const struct engine *e; /* read-only for the workers: cfg, kp */
	pthread_mutex_t mu;
	pthread_cond_t work; /* a job was queued, or stop */
	pthread_cond_t done; /* a job finished */
	struct engine_job *q[ENGINE_JOBS_MAX];
	size_t nq;
	int stop;
	pthread_t tid[ENGINE_THREADS_MAX];
	size_t n_tid;
	struct engine_batch batch[2]; /* the pipeline's two batches */
};

/* engine.c */
uint64_t engine_msg_seq(const struct pw_msg *m);
void engine_send_frames(struct engine *e, const struct gw_request *r, const uint8_t *const *f,
                        const size_t *l, size_t n);
/* Build the slot's receipt into s->reply (thread-safe: touches only `s`). */
void engine_build_receipt(const struct engine *e, struct engine_slot *s, int64_t now_s);
void engine_send_receipt(struct engine *e, struct engine_slot *s, int64_t now_s);

/* engine_pool.c */
int64_t engine_mono_us(void);
void engine_hist_add(struct engine_hist *h, uint64_t v);
void engine_stage_add(struct engine *e, enum engine_stage st, int64_t t0_us, int64_t t1_us);
/* The pool with `threads` workers (fewer, even none, when threads cannot
 * be created); NULL when out of memory. */
struct engine_pool *engine_pool_new(struct engine *e, size_t threads);
void engine_pool_free(struct engine_pool **pp);
/* Queue job j over slots[0, n) (main thread).  Nothing to do for n = 0.
 * `keep`: chunks no worker is woken for, because the caller waits for the
 * job next and runs them itself (0 when it has other work first). */
void engine_pool_submit(struct engine_pool *p, struct engine_job *j, struct engine_slot *slots,
                        size_t n, enum par_what what, int64_t now_s, size_t keep);
/* Wait until job j is complete, running its remaining slots here. */
void engine_pool_wait(struct engine_pool *p, struct engine_job *j);
/* Run one chunk of job j here if one is left: 1, else 0 (no waiting). */
int engine_pool_help(struct engine_pool *p, struct engine_job *j);
/* Add n slots to job j, queued with engine_pool_submit before (the slots
 * follow its others); queued again if its first ones are done. */
void engine_pool_extend(struct engine_pool *p, struct engine_job *j, size_t n, size_t keep);

/* engine_commit.c: the COMMIT on its own thread (NULL when none could be
 * started: then the main thread commits itself) */
struct engine_committer *engine_committer_new(void);
void engine_committer_free(struct engine_committer **cp);
/* Readable (an eventfd, for zmq_poll) once the COMMIT asked for returned. */
int engine_committer_fd(const struct engine_committer *c);
/* Run COMMIT on `st` there; nothing may touch `st` until it is done. */
void engine_committer_start(struct engine_committer *c, struct store *st);
/* 1 and its result in *rc when the COMMIT returned, else 0. */
int engine_committer_done(struct engine_committer *c, pw_err *rc);

/* engine_query.c */
void engine_log_reject(struct engine *e, const struct engine_slot *s, int64_t now_s);
void engine_answer_query(struct engine *e, struct engine_slot *s, int64_t now_s);
/* PUB COSIGNED after the COMMIT that logged new cosignatures. */
void engine_publish_cosigned(struct engine *e, const struct engine_slot *slots, size_t n,
                             int64_t now_ms);

#endif
