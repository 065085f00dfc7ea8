/*
 * test_engine_commit.c: the exchange's COMMIT thread
 * (exchange/engine_commit.c) over a real store file.  A transaction begun
 * on the main thread is committed there: its eventfd becomes readable,
 * "done" gives the COMMIT's result, and another connection then sees the
 * rows; twenty transactions in turn through one thread all land; a
 * COMMIT with no transaction open reports the store's error instead of
 * success; the thread stops when freed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <poll.h>
#include <sqlite3.h>
#include <unistd.h>

#include "exchange/engine_int.h"
#include "exchange/store.h"

struct fx {
	char dir[64], path[96];
	struct store *st;
	struct engine_committer *c;
};

static void
exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err ? err : "?");
}

/* Rows of table t as another connection sees them. */
static int
rows_seen(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *q;
	int n = -1;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &q, NULL), SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return n;
}

/* Wait (at most 10 s) for the COMMIT asked for; its result. */
static pw_err
wait_done(struct engine_committer *c)
{
	struct pollfd p = { .fd = engine_committer_fd(c), .events = POLLIN };
	pw_err rc = PW_ERR_INTERNAL;
	for (int i = 0; i < 1000 && !engine_committer_done(c, &rc); i++)
		assert_true(poll(&p, 1, 10) >= 0);
	assert_true(engine_committer_done(c, &rc));
	return rc;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/pw-commit.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/x.db", f->dir);
	assert_int_equal(store_open(f->path, &f->st), PW_OK);
	exec(store_db(f->st), "CREATE TABLE t(x INTEGER)");
	f->c = engine_committer_new();
	assert_non_null(f->c);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char p[128];
	engine_committer_free(&f->c);
	assert_null(f->c);
	store_close(&f->st);
	static const char *const suffix[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static void
test_commit_there(void **state)
{
	struct fx *f = *state;
	assert_int_equal(store_begin(f->st), PW_OK);
	exec(store_db(f->st), "INSERT INTO t VALUES (1), (2), (3)");
	assert_int_equal(rows_seen(f->path), 0); /* not committed yet */
	engine_committer_start(f->c, f->st);
	assert_int_equal(wait_done(f->c), PW_OK);
	assert_int_equal(rows_seen(f->path), 3);
}

static void
test_many_in_turn(void **state)
{
	struct fx *f = *state;
	for (int i = 0; i < 20; i++) {
		assert_int_equal(store_begin(f->st), PW_OK);
		exec(store_db(f->st), "INSERT INTO t VALUES (7)");
		engine_committer_start(f->c, f->st);
		assert_int_equal(wait_done(f->c), PW_OK);
	}
	assert_int_equal(rows_seen(f->path), 20);
}

static void
test_error_reported(void **state)
{
	struct fx *f = *state;
	engine_committer_start(f->c, f->st); /* no transaction open */
	assert_int_equal(wait_done(f->c), PW_ERR_STATE);
	/* and the thread still commits afterwards */
	assert_int_equal(store_begin(f->st), PW_OK);
	exec(store_db(f->st), "INSERT INTO t VALUES (9)");
	engine_committer_start(f->c, f->st);
	assert_int_equal(wait_done(f->c), PW_OK);
	assert_int_equal(rows_seen(f->path), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_there, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_in_turn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_reported, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
