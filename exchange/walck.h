/*
 * walck.h: SQLite WAL checkpoints of the exchange's database, on a thread
 * of their own (not the settlement log's signed checkpoints: mlog.h).
 *
 * In WAL mode every COMMIT appends pages to the -wal file; a checkpoint
 * copies them back into the database file and fsyncs it.  SQLite's default
 * runs that checkpoint inside the COMMIT that crosses 1000 WAL pages: at a
 * few thousand orders/s that is every ~50 ms and 3-4 ms each, and every
 * ACK waiting for that COMMIT waits for the checkpoint too
 * (docs/performance.md).  walck_start() replaces it with a thread on its
 * own connection:
 *   - after each COMMIT of the writer (its wal hook), once 1000 more pages
 *     are in the WAL, the thread is woken and runs a PASSIVE checkpoint,
 *     which never blocks the writer;
 *   - under continuous writes a PASSIVE checkpoint never catches up with
 *     the end of the WAL, so the WAL would never start over and grow
 *     without bound: once it holds WALCK_RESTART_PAGES pages the thread
 *     runs a RESTART checkpoint, which holds the writer off only for the
 *     pages written since the last PASSIVE one and the database fsync, and
 *     the next COMMIT starts the WAL over.  It waits at most 20 ms for the
 *     writer or a reader (an online backup); then it is tried again once
 *     WALCK_RESTART_PAGES more pages are in the WAL;
 *   - SQLite's locks are not fair: should the writer keep the thread's
 *     RESTART out until the WAL holds WALCK_WRITER_PAGES pages, the writer
 *     runs the RESTART itself after its COMMIT, without waiting for anyone
 *     (tried again every WALCK_RESTART_PAGES pages while a reader holds
 *     it off), so the WAL stays bounded except while a reader pins it.
 * Durability does not depend on any of this: a COMMIT is durable once its
 * pages are in the WAL (synchronous=FULL); a checkpoint that fails (disk
 * full) is logged and tried again later, and nothing is lost on a crash
 * mid-checkpoint (SQLite replays the WAL).
 *
 * Called by exchange/store.c only: walck_start() after the connection is
 * open and in WAL mode, walck_stop() before it is closed.  The writer's
 * connection stays owned by the store; the thread touches only its own.
 */
#ifndef EXCHANGE_WALCK_H
#define EXCHANGE_WALCK_H

#include <sqlite3.h>

#include "peerwatt/error.h"

#define WALCK_PASSIVE_PAGES 1000  /* SQLite's own autocheckpoint threshold */
#define WALCK_RESTART_PAGES 4000  /* 16 MB of 4 KiB pages */
#define WALCK_WRITER_PAGES  16000 /* the writer restarts the WAL itself */

struct walck;

/* Start the checkpointer for `writer`, the open WAL-mode connection on
 * `path`.  On an error (logged) the writer keeps SQLite's automatic
 * checkpoints, so a caller may ignore the result. */
pw_err walck_start(sqlite3 *writer, const char *path, struct walck **out);
/* Stop the thread and close its connection; *wp = NULL.  NULL is fine. */
void walck_stop(struct walck **wp);

struct walck_stats {
	unsigned long long passive, restart, writer_restart, failed;
};
/* Checkpoints so far: passive counts the thread's rounds, restart those
 * of them that also started the WAL over, writer_restart the writer's own
 * RESTARTs, failed those that ended in an error. */
void walck_stats(struct walck *w, struct walck_stats *st);

#endif
