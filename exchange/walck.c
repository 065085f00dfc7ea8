/*
 * walck.c: WAL checkpoints on a thread of their own (walck.h).
 */
#include "exchange/walck.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "peerwatt/log.h"

/* How long each connection waits for a lock the other holds, polling every
 * 100 us instead of SQLite's default sleeps (1, 2, 5, 10 ... ms), so that
 * the writer's wait stays near the time a RESTART really holds it off:
 *   - the writer up to 5 s (as before);
 *   - the thread's RESTART up to 20 ms.  A RESTART holds the writer off
 *     while it waits, and a reader (an operator's online backup) can make
 *     it wait: 20 ms bounds that stall; when it gives up, the next RESTART
 *     is tried only after WALCK_RESTART_PAGES more pages. */
#define WALCK_POLL_NS       100000L
#define WALCK_WRITER_POLLS  50000 /* 5 s */
#define WALCK_RESTART_POLLS 200   /* 20 ms */

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
	int restart_at; /* thread only: WAL pages for its next RESTART */
	int writer_at;  /* writer only: WAL pages for its own next RESTART */
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
	if (pages < w->writer_at - WALCK_RESTART_PAGES)
		w->writer_at = WALCK_WRITER_PAGES; /* the WAL started over */
	if (pages >= w->writer_at) {
		/* the thread's RESTART keeps losing the lock to this writer:
		 * start the WAL over here, between two transactions (a stall
		 * like SQLite's own checkpoint in COMMIT, but rare).  Without
		 * waiting: a reader that holds it off (a backup) must not stall
		 * the writer; then it is tried again 4000 pages later. */
		w->writer_at = pages + WALCK_RESTART_PAGES;
		sqlite3_busy_handler(db, NULL, NULL);
		int rc = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
		sqlite3_busy_handler(db, busy_poll, &w->writer_polls);
		pthread_mutex_lock(&w->mu);
		if (rc == SQLITE_OK)
			w->st.writer_restart++;
		else if (rc != SQLITE_BUSY)
			w->st.failed++;
		pthread_mutex_unlock(&w->mu);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
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
	int log_pages = 0, done = 0, rrc = SQLITE_DONE; /* DONE: no RESTART */
	int rc =
	    sqlite3_wal_checkpoint_v2(w->db, "main", SQLITE_CHECKPOINT_PASSIVE, &log_pages, &done);
	if (log_pages < w->restart_at - WALCK_RESTART_PAGES)
		w->restart_at = WALCK_RESTART_PAGES; /* the WAL started over */
	if (rc == SQLITE_OK && log_pages >= w->restart_at) {
		rrc =
		    sqlite3_wal_checkpoint_v2(w->db, "main", SQLITE_CHECKPOINT_RESTART, NULL, NULL);
		/* done: the next COMMIT starts the WAL over; BUSY (the writer
		 * or a reader held on for 20 ms): again 4000 pages later */
		w->restart_at =
		    rrc == SQLITE_OK ? WALCK_RESTART_PAGES : log_pages + WALCK_RESTART_PAGES;
	}
	pthread_mutex_lock(&w->mu);
	w->st.passive += rc == SQLITE_OK ? 1u : 0u;
	w->st.restart += rrc == SQLITE_OK ? 1u : 0u;
	w->st.failed += (rc != SQLITE_OK && rc != SQLITE_BUSY) ? 1u : 0u;
	w->st.failed += (rrc != SQLITE_OK && rrc != SQLITE_BUSY && rrc != SQLITE_DONE) ? 1u : 0u;
	pthread_mutex_unlock(&w->mu);
	if ((rc != SQLITE_OK && rc != SQLITE_BUSY) ||
	    (rrc != SQLITE_OK && rrc != SQLITE_BUSY && rrc != SQLITE_DONE))
		log_warnx("store: WAL checkpoint: %s (tried again after the next %d pages)",
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
	w->restart_at = WALCK_RESTART_PAGES;
	w->writer_at = WALCK_WRITER_PAGES;
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
