/*
 * walck.c: WAL checkpoints on a thread of their own (walck.h).
 */
#include "exchange/walck.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "peerwatt/log.h"

/* How long either connection waits for the other's lock: the writer up to
 * 5 s (as before), the checkpointer's RESTART up to 1 s (then it is tried
 * again after the next 1000 pages).  Polling every 100 us instead of
 * SQLite's default sleeps (1, 2, 5, 10 ... ms) keeps the writer's wait
 * near the few hundred microseconds a RESTART holds it off. */
#define WALCK_POLL_NS       100000L
#define WALCK_WRITER_POLLS  50000 /* 5 s */
#define WALCK_RESTART_POLLS 10000 /* 1 s */

struct walck {
	sqlite3 *writer; /* the store's; only its wal hook is ours */
	sqlite3 *db;     /* the thread's own connection */
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* under mu */
	int stop;
	int woken_at; /* pages in the WAL when the thread was last woken */
	int pending;  /* woken, not yet run */
	struct walck_stats st;
	/* busy-handler limits (read-only once started) */
	int writer_polls, restart_polls;
};

static int
busy_poll(void *arg, int n)
{
	int limit = *(const int *)arg;
	if (n >= limit)
		return 0;
	struct timespec ts = { 0, WALCK_POLL_NS };
	nanosleep(&ts, NULL);
	return 1;
}

/* The writer's wal hook: runs in the writer's thread after each COMMIT. */
static int
on_commit(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct walck *w = arg;
	if (pages >= WALCK_WRITER_PAGES) {
		/* the thread's RESTART keeps losing the lock to this writer:
		 * start the WAL over here, between two transactions (a stall
		 * like SQLite's own checkpoint in COMMIT, but rare) */
		int rc = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
		pthread_mutex_lock(&w->mu);
		if (rc == SQLITE_OK)
			w->st.writer_restart++;
		else
			w->st.failed++;
		pthread_mutex_unlock(&w->mu);
		if (rc != SQLITE_OK)
			log_warnx("store: WAL checkpoint: %s", sqlite3_errmsg(db));
		return SQLITE_OK;
	}
	pthread_mutex_lock(&w->mu);
	if (pages < w->woken_at)
		w->woken_at = 0; /* the WAL started over */
	if (pages - w->woken_at >= WALCK_PASSIVE_PAGES && !w->pending) {
		w->woken_at = pages;
		w->pending = 1;
		pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return SQLITE_OK;
}

/* One round: PASSIVE, then RESTART when the WAL is long.  Thread only. */
static void
checkpoint(struct walck *w)
{
	int log_pages = 0, done = 0;
	int rc =
	    sqlite3_wal_checkpoint_v2(w->db, "main", SQLITE_CHECKPOINT_PASSIVE, &log_pages, &done);
	int restart = rc == SQLITE_OK && log_pages >= WALCK_RESTART_PAGES;
	if (restart)
		rc = sqlite3_wal_checkpoint_v2(w->db, "main", SQLITE_CHECKPOINT_RESTART, &log_pages,
		                               &done);
	pthread_mutex_lock(&w->mu);
	if (rc == SQLITE_OK) {
		w->st.passive++;
		w->st.restart += restart ? 1u : 0u;
	} else if (rc != SQLITE_BUSY) {
		/* BUSY: the writer held its lock for 1 s; the next round retries */
		w->st.failed++;
	}
	pthread_mutex_unlock(&w->mu);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		log_warnx("store: WAL checkpoint: %s (retried after the next %d pages)",
		          sqlite3_errmsg(w->db), WALCK_PASSIVE_PAGES);
}

static void *
run(void *arg)
{
	struct walck *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->stop && !w->pending)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stop)
			break;
		pthread_mutex_unlock(&w->mu);
		checkpoint(w);
		pthread_mutex_lock(&w->mu);
		w->pending = 0;
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

pw_err
walck_start(sqlite3 *writer, const char *path, struct walck **out)
{
	struct walck *w = calloc(1, sizeof(*w));
	*out = NULL;
	if (!w)
		return PW_ERR_NOMEM;
	w->writer = writer;
	w->writer_polls = WALCK_WRITER_POLLS;
	w->restart_polls = WALCK_RESTART_POLLS;
	if (sqlite3_open_v2(path, &w->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		log_warnx("store: WAL checkpointer: open %s: %s; SQLite checkpoints in COMMIT",
		          path, w->db ? sqlite3_errmsg(w->db) : "no memory");
		sqlite3_close(w->db);
		free(w);
		return PW_ERR_DB;
	}
	sqlite3_busy_handler(w->db, busy_poll, &w->restart_polls);
	if (pthread_mutex_init(&w->mu, NULL) != 0) {
		sqlite3_close(w->db);
		free(w);
		return PW_ERR_NOMEM;
	}
	if (pthread_cond_init(&w->cv, NULL) != 0) {
		pthread_mutex_destroy(&w->mu);
		sqlite3_close(w->db);
		free(w);
		return PW_ERR_NOMEM;
	}
	if (pthread_create(&w->tid, NULL, run, w) != 0) {
		log_warnx("store: WAL checkpointer: no thread; SQLite checkpoints in COMMIT");
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		sqlite3_close(w->db);
		free(w);
		return PW_ERR_NOMEM;
	}
	/* replaces SQLite's automatic checkpoint (itself a wal hook) */
	sqlite3_wal_hook(writer, on_commit, w);
	sqlite3_busy_handler(writer, busy_poll, &w->writer_polls);
	*out = w;
	return PW_OK;
}

void
walck_stop(struct walck **wp)
{
	if (!wp || !*wp)
		return;
	struct walck *w = *wp;
	/* from here on the writer checkpoints itself again (and at close),
	 * and its busy handler no longer points into *w */
	sqlite3_wal_autocheckpoint(w->writer, WALCK_PASSIVE_PAGES);
	sqlite3_busy_timeout(w->writer, 5000);
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->tid, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	sqlite3_close(w->db);
	free(w);
	*wp = NULL;
}

void
walck_stats(struct walck *w, struct walck_stats *st)
{
	pthread_mutex_lock(&w->mu);
	*st = w->st;
	pthread_mutex_unlock(&w->mu);
}
