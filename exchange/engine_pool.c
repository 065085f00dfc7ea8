/*
 * engine_pool.c: the exchange's crypto threads (signature checks and
 * receipts of a batch, engine.c) and the request path's statistics (stage
 * histograms, counters, the book summary; logged on SIGUSR1).
 */
#include "exchange/engine_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "peerwatt/log.h"

int64_t
engine_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
engine_hist_add(struct engine_hist *h, uint64_t v)
{
	unsigned b = 0;
	while (b + 1 < ENGINE_HIST_BUCKETS && (v >> b) != 0)
		b++;
	h->n++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
	h->bucket[b]++;
}

void
engine_stage_add(struct engine *e, enum engine_stage st, int64_t t0_us, int64_t t1_us)
{
	engine_hist_add(&e->stage_us[st], t1_us > t0_us ? (uint64_t)(t1_us - t0_us) : 0);
}

/* Run slots [a, b) of job j (thread-safe: touches only those slots). */
static void
job_run(const struct engine *e, struct engine_job *j, size_t a, size_t b)
{
	for (size_t i = a; i < b; i++) {
		struct engine_slot *s = &j->slots[i];
		if (j->what == PAR_VERIFY) {
			if (s->state == SLOT_APPLY)
				s->sig_ok = pw_wire_verify(s->req.buf, s->req.len,
				                           (uint64_t)e->cfg->market_id) == PW_OK;
		} else if (s->state != SLOT_QUERY && s->state != SLOT_DROP) {
			engine_build_receipt(e, s, j->now_s);
		}
	}
}

/* Under p->mu: account for [a, b) of j done; dequeue j when complete. */
static void
job_done_locked(struct engine_pool *p, struct engine_job *j, size_t count)
{
	j->done += count;
	if (j->done < j->n)
		return;
	for (size_t i = 0; i < p->nq; i++) {
		if (p->q[i] == j) {
			memmove(&p->q[i], &p->q[i + 1], (p->nq - i - 1) * sizeof(p->q[0]));
			p->nq--;
			break;
		}
	}
	pthread_cond_broadcast(&p->done);
}

/* Under p->mu: the first queued job with slots left, or NULL. */
static struct engine_job *
job_pick_locked(struct engine_pool *p)
{
	for (size_t i = 0; i < p->nq; i++)
		if (p->q[i]->next < p->q[i]->n)
			return p->q[i];
	return NULL;
}

/* Under p->mu: take a chunk of j, run it unlocked, account for it. */
static void
job_take_locked(struct engine_pool *p, struct engine_job *j)
{
	size_t a = j->next;
	size_t b = a + ENGINE_JOB_CHUNK < j->n ? a + ENGINE_JOB_CHUNK : j->n;
	j->next = b;
	pthread_mutex_unlock(&p->mu);
	job_run(p->e, j, a, b);
	pthread_mutex_lock(&p->mu);
	job_done_locked(p, j, b - a);
}

static void *
pool_worker(void *arg)
{
	struct engine_pool *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct engine_job *j;
		while (!p->stop && (j = job_pick_locked(p)) == NULL)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->stop)
			break;
		job_take_locked(p, j);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Queue job j over slots[0, n) (main thread).  Nothing to do for n = 0. */
void
engine_pool_submit(struct engine_pool *p, struct engine_job *j, struct engine_slot *slots, size_t n,
                   enum par_what what, int64_t now_s, size_t keep)
{
	j->slots = slots;
	j->n = j->next = j->done = 0;
	j->what = what;
	j->now_s = now_s;
	engine_pool_extend(p, j, n, keep);
}

void
engine_pool_extend(struct engine_pool *p, struct engine_job *j, size_t n, size_t keep)
{
	int queued = 0;
	if (n == 0)
		return;
	pthread_mutex_lock(&p->mu);
	for (size_t i = 0; i < p->nq; i++)
		if (p->q[i] == j)
			queued = 1;
	j->n += n;
	if (!queued) {
		if (p->nq == ENGINE_JOBS_MAX)
			fatalx("engine: crypto job queue full"); /* the pipeline queues at most 3 */
		p->q[p->nq++] = j;
	}
	/* wake as many workers as the new slots have chunks beyond those the
	 * caller runs itself, not all of them: a wake-up costs ~12 us of CPU on
	 * the usual VM whether or not it finds work (docs/performance-ingest.md) */
	size_t chunks = (n + ENGINE_JOB_CHUNK - 1) / ENGINE_JOB_CHUNK;
	for (size_t i = keep; i < chunks && i - keep < p->n_tid; i++)
		pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
}

int
engine_pool_help(struct engine_pool *p, struct engine_job *j)
{
	int ran = 0;
	if (j->n == 0)
		return 0;
	pthread_mutex_lock(&p->mu);
	if (j->next < j->n) {
		job_take_locked(p, j);
		ran = 1;
	}
	pthread_mutex_unlock(&p->mu);
	return ran;
}

/* Wait until job j is complete, running its remaining slots here. */
void
engine_pool_wait(struct engine_pool *p, struct engine_job *j)
{
	if (j->n == 0)
		return;
	pthread_mutex_lock(&p->mu);
	while (j->done < j->n) {
		if (j->next < j->n)
			job_take_locked(p, j);
		else
			pthread_cond_wait(&p->done, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
}

static void
pool_stop(struct engine_pool *p)
{
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (size_t i = 0; i < p->n_tid; i++)
		pthread_join(p->tid[i], NULL);
	p->n_tid = 0;
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
}

/* Start n workers; fewer (even none: then the main thread does the
 * crypto in engine_pool_wait) when threads cannot be created. */
static pw_err
pool_start(struct engine_pool *p, const struct engine *e, size_t n)
{
	p->e = e;
	if (pthread_mutex_init(&p->mu, NULL) != 0)
		return PW_ERR_NOMEM;
	if (pthread_cond_init(&p->work, NULL) != 0) {
		pthread_mutex_destroy(&p->mu);
		return PW_ERR_NOMEM;
	}
	if (pthread_cond_init(&p->done, NULL) != 0) {
		pthread_cond_destroy(&p->work);
		pthread_mutex_destroy(&p->mu);
		return PW_ERR_NOMEM;
	}
	for (size_t i = 0; i < n && i < ENGINE_THREADS_MAX; i++) {
		if (pthread_create(&p->tid[p->n_tid], NULL, pool_worker, p) != 0) {
			log_warnx("engine: started %zu of %zu crypto threads", p->n_tid, n);
			break;
		}
		p->n_tid++;
	}
	return PW_OK;
}

struct engine_pool *
engine_pool_new(struct engine *e, size_t threads)
{
	struct engine_pool *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	for (size_t b = 0; b < 2; b++)
		p->batch[b].slots = e->slots + b * e->n_slots;
	if (pool_start(p, e, threads) != PW_OK) {
		free(p);
		return NULL;
	}
	return p;
}

void
engine_pool_free(struct engine_pool **pp)
{
	if (!*pp)
		return;
	pool_stop(*pp);
	free(*pp);
	*pp = NULL;
}

static const char *const stage_name[ENGINE_ST__COUNT] = {
	"recv", "verify-wait", "apply", "commit", "sign-wait", "send", "batch",
};

/* Upper bound of the bucket holding the q-th quantile (0 < q < 1). */
static uint64_t
hist_quantile(const struct engine_hist *h, double q)
{
	uint64_t want = (uint64_t)((double)h->n * q), seen = 0;
	for (unsigned b = 0; b < ENGINE_HIST_BUCKETS; b++) {
		seen += h->bucket[b];
		if (seen > want)
			return b == 0 ? 0 : (uint64_t)1 << b;
	}
	return h->max;
}

static void
hist_log(const char *what, const char *unit, const struct engine_hist *h)
{
	if (h->n == 0)
		return;
	log_info("stats: %s: n %llu mean %.1f p50 <%llu p99 <%llu max %llu %s", what,
	         (unsigned long long)h->n, (double)h->sum / (double)h->n,
	         (unsigned long long)hist_quantile(h, 0.50),
	         (unsigned long long)hist_quantile(h, 0.99), (unsigned long long)h->max, unit);
}

void
engine_log_book(struct store *st)
{
	struct book_summary b;
	char hex[2 * sizeof(b.digest) + 1];
	if (!st || store_book_summary(st, &b) != PW_OK)
		return;
	pw_hex_encode(b.digest, sizeof(b.digest), hex);
	log_info("stats: book: %llu household entries %llu Wh, %llu price levels %llu Wh, "
	         "digest %s",
	         (unsigned long long)b.households, (unsigned long long)b.hh_wh,
	         (unsigned long long)b.levels, (unsigned long long)b.level_wh, hex);
}

void
engine_log_stats(const struct engine *e)
{
	uint64_t zok = 0, zno = 0, hsf = 0;
	if (e->gw) {
		gateway_zap_counts(e->gw, &zok, &zno);
		hsf = gateway_handshakes_failed(e->gw);
	}
	log_info("stats: accepted orders %llu cancels %llu meters %llu queries %llu cosigns %llu; "
	         "batches %llu "
	         "commits %llu; replies dropped %llu; rate_limited dropped %llu; ZAP admitted %llu "
	         "refused %llu; handshakes failed %llu; log size %llu",
	         (unsigned long long)e->accepted[PW_MSG_ORDER],
	         (unsigned long long)e->accepted[PW_MSG_CANCEL],
	         (unsigned long long)e->accepted[PW_MSG_METER],
	         (unsigned long long)e->accepted[PW_MSG_QUERY],
	         (unsigned long long)e->accepted[PW_MSG_COSIGN], (unsigned long long)e->batches,
	         (unsigned long long)e->commits, (unsigned long long)e->replies_dropped,
	         (unsigned long long)e->rate_dropped, (unsigned long long)zok,
	         (unsigned long long)zno, (unsigned long long)hsf,
	         (unsigned long long)(e->log ? mlog_size(e->log) : 0));
	for (unsigned i = 1; i < PW_REASON__COUNT; i++)
		if (e->rejects[i])
			log_info("stats: rejected %s: %llu", pw_reason_name(i),
			         (unsigned long long)e->rejects[i]);
	engine_log_book(e->store);
	hist_log("batch size", "requests", &e->batch_size);
	hist_log("commit pages", "WAL pages", &e->commit_pages);
	for (unsigned i = 0; i < ENGINE_ST__COUNT; i++)
		hist_log(stage_name[i], "us", &e->stage_us[i]);
}
