/* test_store.c: the exchange store: schema, orders, sequences, intervals,
 * meters, statements, stats; persistence across close/reopen; rollback;
 * store_close leaves the database file complete (WAL checkpointed, emptied). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "exchange/store.h"

static void
pk_of(int i, uint8_t pk[PW_PK_LEN])
{
	memset(pk, i, PW_PK_LEN);
}

static struct store_order
order(int who, uint64_t idx, uint64_t seq, uint64_t iv, uint8_t side, uint32_t qty, int32_t price)
{
	struct store_order o = { .log_idx = idx,
		                 .seq = seq,
		                 .interval = iv,
		                 .side = side,
		                 .qty_wh = qty,
		                 .price_uper_kwh = price,
		                 .expiry_s = 1000 + idx };
	pk_of(who, o.pk);
	return o;
}

static void
test_orders_and_seqs(void **state)
{
	(void)state;
	struct store *s = NULL;
	uint8_t a[PW_PK_LEN], b[PW_PK_LEN];
	uint64_t v = 99;
	pk_of(1, a);
	pk_of(2, b);
	assert_int_equal(store_open(":memory:", &s), PW_OK);
	assert_int_equal(store_last_seq(s, a, &v), PW_OK);
	assert_int_equal(v, 0);
	assert_int_equal(store_begin(s), PW_OK);
	assert_int_equal(store_begin(s), PW_ERR_STATE);
	struct store_order o1 = order(1, 5, 1, 100, PW_SIDE_SELL, 300, 150000);
	struct store_order o2 = order(1, 6, 2, 100, PW_SIDE_SELL, 200, 160000);
	struct store_order o3 = order(2, 7, 1, 100, PW_SIDE_BUY, 400, 200000);
	struct store_order o4 = order(2, 8, 2, 101, PW_SIDE_BUY, 50, 200000);
	assert_int_equal(store_order_insert(s, &o1, 10), PW_OK);
	assert_int_equal(store_order_insert(s, &o2, 10), PW_OK);
	assert_int_equal(store_order_insert(s, &o3, 10), PW_OK);
	assert_int_equal(store_order_insert(s, &o4, 10), PW_OK);
	/* (pk, seq) is unique: among the open orders (in memory) ... */
	struct store_order dup = order(1, 9, 2, 100, PW_SIDE_SELL, 1, 1);
	assert_int_equal(store_order_insert(s, &dup, 10), PW_ERR_EXISTS);
	assert_int_equal(store_set_seq(s, a, 2), PW_OK);
	assert_int_equal(store_set_seq(s, b, 2), PW_OK);
	assert_int_equal(store_commit(s), PW_OK);
	assert_int_equal(store_commit(s), PW_ERR_STATE);

	assert_int_equal(store_last_seq(s, a, &v), PW_OK);
	assert_int_equal(v, 2);
	assert_int_equal(store_open_qty(s, a, 100, PW_SIDE_SELL, &v), PW_OK);
	assert_int_equal(v, 500);
	/* the intervals with open orders (100 three times, 101), ascending */
	uint64_t ivs[4] = { 0 };
	size_t niv = 9;
	assert_int_equal(store_open_intervals(s, 0, ivs, 4, &niv), PW_OK);
	assert_int_equal(niv, 2);
	assert_int_equal(ivs[0], 100);
	assert_int_equal(ivs[1], 101);
	assert_int_equal(store_open_intervals(s, 0, ivs, 1, &niv), PW_OK);
	assert_int_equal(niv, 1);
	assert_int_equal(ivs[0], 100);
	assert_int_equal(store_open_intervals(s, 101, ivs, 4, &niv), PW_OK);
	assert_int_equal(niv, 1);
	assert_int_equal(ivs[0], 101);
	assert_int_equal(store_open_intervals(s, 102, ivs, 4, &niv), PW_OK);
	assert_int_equal(niv, 0);
	assert_int_equal(store_open_qty(s, a, 100, PW_SIDE_BUY, &v), PW_OK);
	assert_int_equal(v, 0);
	struct store_order g;
	assert_int_equal(store_order_get(s, b, 1, &g), PW_OK);
	assert_int_equal(g.log_idx, 7);
	assert_int_equal(g.qty_wh, 400);
	assert_int_equal(g.price_uper_kwh, 200000);
	assert_int_equal(g.side, PW_SIDE_BUY);
	assert_int_equal(g.expiry_s, 1007);
	assert_int_equal(store_order_get(s, b, 3, &g), PW_ERR_NOTFOUND);

	/* depth: buys best (highest) first, then sells best (lowest) first */
	struct pw_depth d;
	assert_int_equal(store_depth(s, 100, &d), PW_OK);
	assert_int_equal(d.n_levels, 3);
	assert_int_equal(d.levels[0].side, PW_SIDE_BUY);
	assert_int_equal(d.levels[0].qty_wh, 400);
	assert_int_equal(d.levels[1].side, PW_SIDE_SELL);
	assert_int_equal(d.levels[1].price_uper_kwh, 150000);
	assert_int_equal(d.levels[2].price_uper_kwh, 160000);

	/* cancel o2: no longer open, no longer in depth or open qty */
	assert_int_equal(store_begin(s), PW_OK);
	assert_int_equal(store_order_set_status(s, 6, STORE_ORDER_CANCELLED, 0), PW_OK);
	assert_int_equal(store_commit(s), PW_OK);
	assert_int_equal(store_open_qty(s, a, 100, PW_SIDE_SELL, &v), PW_OK);
	assert_int_equal(v, 300);

	struct store_order *open = NULL;
	size_t n = 0;
	assert_int_equal(store_open_orders(s, 100, &open, &n), PW_OK);
	assert_int_equal(n, 2);
	assert_int_equal(open[0].log_idx, 5); /* arrival order */
	assert_int_equal(open[1].log_idx, 7);
	assert_memory_equal(open[1].pk, b, PW_PK_LEN);
	free(open);
	assert_int_equal(store_first_open_interval(s, &v), PW_OK);
	assert_int_equal(v, 100);

	/* clearing closes the orders and drops the interval's book and depth */
	assert_int_equal(store_begin(s), PW_OK);
	assert_int_equal(store_order_set_status(s, 5, STORE_ORDER_CLOSED, 300), PW_OK);
	assert_int_equal(store_order_set_status(s, 7, STORE_ORDER_CLOSED, 300), PW_OK);
	assert_int_equal(store_interval_cleared(s, 100, 175000, 300, 1, 20), PW_OK);
	assert_int_equal(store_commit(s), PW_OK);
	assert_int_equal(store_open_qty(s, a, 100, PW_SIDE_SELL, &v), PW_OK);
	assert_int_equal(v, 0);
	assert_int_equal(store_depth(s, 100, &d), PW_OK);
	assert_int_equal(d.n_levels, 0);
	assert_int_equal(store_order_get(s, a, 1, &g), PW_OK);
	assert_int_equal(g.status, STORE_ORDER_CLOSED);
	assert_int_equal(g.filled_wh, 300);
	assert_int_equal(store_order_get(s, a, 2, &g), PW_OK); /* the cancelled one */
	assert_int_equal(g.status, STORE_ORDER_CANCELLED);
	assert_int_equal(g.log_idx, 6);
	/* ... and among the others (index orders_done) */
	assert_int_equal(store_begin(s), PW_OK);
	dup = order(1, 9, 1, 100, PW_SIDE_SELL, 1, 1);
	dup.status = STORE_ORDER_CLOSED;
	assert_int_equal(store_order_insert(s, &dup, 10), PW_ERR_DB);
	store_rollback(s);
	/* interval 101 is untouched */
	assert_int_equal(store_open_qty(s, b, 101, PW_SIDE_BUY, &v), PW_OK);
	assert_int_equal(v, 50);
	assert_int_equal(store_first_open_interval(s, &v), PW_OK);
	assert_int_equal(v, 101);
	store_close(&s);
	assert_null(s);
}

static void
test_rollback_discards(void **state)
{
	(void)state;
	struct store *s = NULL;
	uint8_t a[PW_PK_LEN];
	uint64_t v;
	pk_of(3, a);
	assert_int_equal(store_open(":memory:", &s), PW_OK);
	assert_int_equal(store_begin(s), PW_OK);
	assert_int_equal(store_set_seq(s, a, 42), PW_OK);
	store_rollback(s);
	assert_int_equal(store_last_seq(s, a, &v), PW_OK);
	assert_int_equal(v, 0);
	assert_int_equal(store_first_open_interval(s, &v), PW_ERR_NOTFOUND);
	store_close(&s);
}

/* The open sums live in memory (exchange/book.h): a reopen rebuilds the
 * same book from table orders, a rollback undoes what the transaction
 * did to it, the last sequence is the largest of the orders' and the
 * seqs table's, COMMITs write WAL pages only for the rows, and a
 * database with the tables book and depth of earlier versions opens
 * (they are dropped). */
static void
test_book_rebuilt(void **state)
{
	(void)state;
	char path[] = "/tmp/test_store_book.XXXXXX", wal[64], shm[64];
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	snprintf(shm, sizeof(shm), "%s-shm", path);
	struct store *s = NULL;
	struct book_summary before, after;
	struct pw_depth d1, d2;
	uint8_t a[PW_PK_LEN], b[PW_PK_LEN];
	uint64_t v;
	sqlite3 *db = NULL;
	pk_of(1, a);
	pk_of(2, b);

	/* a database of an earlier version, with its book and depth tables */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	                              "CREATE TABLE book(pk BLOB NOT NULL, interval INTEGER NOT "
	                              "NULL, side INTEGER NOT NULL, open_wh INTEGER NOT NULL, "
	                              "PRIMARY KEY(pk, interval, side)) WITHOUT ROWID;"
	                              "CREATE TABLE depth(interval INTEGER NOT NULL, side INTEGER "
	                              "NOT NULL, price_uper_kwh INTEGER NOT NULL, open_wh INTEGER "
	                              "NOT NULL, PRIMARY KEY(interval, side, price_uper_kwh)) "
	                              "WITHOUT ROWID;"
	                              "CREATE TABLE orders(log_idx INTEGER PRIMARY KEY, pk BLOB "
	                              "NOT NULL, seq INTEGER NOT NULL, interval INTEGER NOT NULL, "
	                              "side INTEGER NOT NULL, qty_wh INTEGER NOT NULL, "
	                              "price_uper_kwh INTEGER NOT NULL, expiry_s INTEGER NOT NULL,"
	                              " status INTEGER NOT NULL, filled_wh INTEGER NOT NULL "
	                              "DEFAULT 0, received_s INTEGER NOT NULL, UNIQUE(pk, seq));"
	                              "INSERT INTO orders VALUES (1, zeroblob(32), 4, 101, 1, 33, "
	                              "150000, 9999, 0, 0, 1), (2, zeroblob(32), 6, 101, 1, 44, "
	                              "150000, 9999, 1, 0, 1);",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	/* opened: table orders rebuilt without UNIQUE(pk, seq), its rows kept */
	uint8_t z[PW_PK_LEN] = { 0 };
	struct store_order g;
	assert_int_equal(store_open(path, &s), PW_OK);
	assert_int_equal(store_open_qty(s, z, 101, PW_SIDE_BUY, &v), PW_OK);
	assert_int_equal(v, 33);
	assert_int_equal(store_order_get(s, z, 4, &g), PW_OK);
	assert_int_equal(g.log_idx, 1);
	assert_int_equal(g.status, STORE_ORDER_OPEN);
	assert_int_equal(store_order_get(s, z, 6, &g), PW_OK);
	assert_int_equal(g.status, STORE_ORDER_CANCELLED);
	assert_int_equal(store_order_get(s, z, 5, &g), PW_ERR_NOTFOUND);
	assert_int_equal(store_last_seq(s, z, &v), PW_OK);
	assert_int_equal(v, 6);
	store_close(&s);

	assert_int_equal(store_open(path, &s), PW_OK);
	assert_int_equal(store_begin(s), PW_OK);
	for (uint64_t i = 0; i < 200; i++) {
		struct store_order o =
		    order((int)(1 + i % 2), 10 + i, 1 + i / 2, 100 + i % 3,
		          i % 2 ? PW_SIDE_BUY : PW_SIDE_SELL, (uint32_t)(1 + i % 7),
		          (int32_t)(100000 + (i * 37) % 50 * 100));
		assert_int_equal(store_order_insert(s, &o, 10), PW_OK);
	}
	/* a cancel (its seq in table seqs) and an order closed by clearing */
	assert_int_equal(store_order_set_status(s, 10, STORE_ORDER_CANCELLED, 0), PW_OK);
	assert_int_equal(store_set_seq(s, a, 1000), PW_OK);
	assert_int_equal(store_order_set_status(s, 11, STORE_ORDER_CLOSED, 0), PW_OK);
	assert_int_equal(store_commit(s), PW_OK);
	assert_true(store_commit_pages(s) > 0);
	assert_int_equal(store_last_seq(s, a, &v), PW_OK);
	assert_int_equal(v, 1000);
	assert_int_equal(store_last_seq(s, b, &v), PW_OK);
	assert_int_equal(v, 100);
	assert_int_equal(store_book_summary(s, &before), PW_OK);
	assert_int_equal(store_depth(s, 101, &d1), PW_OK);
	assert_true(d1.n_levels > 0);

	/* a rolled back transaction leaves the book and the sequences as they were */
	assert_int_equal(store_begin(s), PW_OK);
	struct store_order extra = order(2, 500, 5000, 101, PW_SIDE_BUY, 77, 299000);
	assert_int_equal(store_order_insert(s, &extra, 10), PW_OK);
	assert_int_equal(store_order_set_status(s, 12, STORE_ORDER_CANCELLED, 0), PW_OK);
	assert_int_equal(store_last_seq(s, b, &v), PW_OK);
	assert_int_equal(v, 5000);
	store_rollback(s);
	assert_int_equal(store_last_seq(s, b, &v), PW_OK);
	assert_int_equal(v, 100);
	assert_int_equal(store_book_summary(s, &after), PW_OK);
	assert_memory_equal(&before, &after, sizeof(before));

	/* a reopen rebuilds the same book from the open orders */
	store_close(&s);
	assert_int_equal(store_open(path, &s), PW_OK);
	assert_int_equal(store_book_summary(s, &after), PW_OK);
	assert_memory_equal(&before, &after, sizeof(before));
	assert_int_equal(store_depth(s, 101, &d2), PW_OK);
	assert_memory_equal(&d1, &d2, sizeof(d1));
	assert_int_equal(store_last_seq(s, a, &v), PW_OK);
	assert_int_equal(v, 1000);
	assert_int_equal(store_last_seq(s, b, &v), PW_OK);
	assert_int_equal(v, 100);
	/* what an order adds is the orders row only: no seqs row */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT (SELECT count(*) FROM seqs), (SELECT count(*) "
	                                    "FROM sqlite_master WHERE name IN ('book', 'depth', "
	                                    "'sqlite_autoindex_orders_1'))",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1); /* the cancel's */
	assert_int_equal(sqlite3_column_int(st, 1), 0); /* dropped, the (pk, seq) index too */
	sqlite3_finalize(st);
	sqlite3_close(db);

	/* a seq above INT64_MAX (stored negative) is still the largest */
	assert_int_equal(store_begin(s), PW_OK);
	struct store_order big = order(2, 600, UINT64_MAX - 1, 102, PW_SIDE_BUY, 1, 100000);
	assert_int_equal(store_order_insert(s, &big, 10), PW_OK);
	assert_int_equal(store_commit(s), PW_OK);
	store_close(&s);
	assert_int_equal(store_open(path, &s), PW_OK);
	assert_int_equal(store_last_seq(s, b, &v), PW_OK);
	assert_true(v == UINT64_MAX - 1);
	store_close(&s);
	unlink(path);
	unlink(wal);
	unlink(shm);
}

static void
test_intervals_results_meters(void **state)
{
	(void)state;
	char path[] = "/tmp/test_store.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	struct store *s = NULL;
	uint8_t a[PW_PK_LEN], buf[512];
	uint64_t v;
	size_t len;
	uint32_t parts;
	int st;
	pk_of(4, a);

	assert_int_equal(store_open(path, &s), PW_OK);
	assert_int_equal(store_last_cleared(s, &v), PW_ERR_NOTFOUND);
	assert_int_equal(store_begin(s), PW_OK);
	assert_int_equal(store_interval_cleared(s, 7, 123456, 900, 1, 50), PW_OK);
	struct store_trade t = { .interval = 7, .n = 0, .qty_wh = 900, .price_uper_kwh = 123456 };
	pk_of(5, t.buyer);
	pk_of(6, t.seller);
	t.buy_seq = 3;
	t.sell_seq = 4;
	assert_int_equal(store_trade_insert(s, &t), PW_OK);
	const uint8_t frame[] = { 1, 18, 3, 4, 5 };
	assert_int_equal(store_result_insert(s, 7, 0, frame, sizeof(frame), 11), PW_OK);
	struct store_meter m = { .interval = 7,
		                 .seq = 1,
		                 .export_start_wh = 10,
		                 .export_end_wh = 20,
		                 .import_start_wh = 30,
		                 .import_end_wh = 35,
		                 .log_idx = 12,
		                 .received_s = 60 };
	memcpy(m.pk, a, PW_PK_LEN);
	assert_int_equal(store_meter_insert(s, &m), PW_OK);
	assert_int_equal(store_statement_insert(s, a, 7, frame, 3, 13), PW_OK);
	assert_int_equal(store_stat_add(s, 2, "bad_signature", 3), PW_OK);
	assert_int_equal(store_stat_add(s, 2, "bad_signature", 4), PW_OK);
	assert_int_equal(store_commit(s), PW_OK);
	store_close(&s);

	/* everything committed survives a reopen */
	assert_int_equal(store_open(path, &s), PW_OK);
	assert_int_equal(store_last_cleared(s, &v), PW_OK);
	assert_int_equal(v, 7);
	assert_int_equal(store_first_unsettled(s, &v), PW_OK);
	assert_int_equal(v, 7);
	int32_t price;
	assert_int_equal(store_interval_state(s, 7, &st, &price, &v), PW_OK);
	assert_int_equal(st, 1);
	assert_int_equal(price, 123456);
	assert_int_equal(v, 900);
	assert_int_equal(store_interval_state(s, 8, &st, NULL, NULL), PW_OK);
	assert_int_equal(st, 0);
	struct store_trade *tr = NULL;
	size_t n;
	assert_int_equal(store_trades(s, 7, &tr, &n), PW_OK);
	assert_int_equal(n, 1);
	assert_memory_equal(&tr[0], &t, sizeof(t));
	free(tr);
	assert_int_equal(store_result_get(s, 7, 0, buf, sizeof(buf), &len, &parts), PW_OK);
	assert_int_equal(len, sizeof(frame));
	assert_memory_equal(buf, frame, len);
	assert_int_equal(parts, 1);
	assert_int_equal(store_result_get(s, 7, 0, buf, 2, &len, &parts), PW_ERR_FULL);
	assert_int_equal(store_result_get(s, 7, 1, buf, sizeof(buf), &len, &parts),
	                 PW_ERR_NOTFOUND);
	struct store_meter_state ms;
	assert_int_equal(store_meter_state(s, a, &ms), PW_OK);
	assert_int_equal(ms.last_seq, 1);
	assert_int_equal(ms.last_interval, 7);
	assert_int_equal(ms.export_end_wh, 20);
	assert_int_equal(ms.import_end_wh, 35);
	struct store_meter mg;
	assert_int_equal(store_meter_get(s, a, 7, &mg), PW_OK);
	assert_memory_equal(&mg, &m, sizeof(m));
	assert_int_equal(store_meter_get(s, a, 8, &mg), PW_ERR_NOTFOUND);
	assert_int_equal(store_statement_get(s, a, 7, buf, sizeof(buf), &len), PW_OK);
	assert_int_equal(len, 3);
	assert_int_equal(store_stat_get(s, 2, &v), PW_OK);
	assert_int_equal(v, 7);
	assert_int_equal(store_stat_get(s, 3, &v), PW_OK);
	assert_int_equal(v, 0);

	/* a second reading for the same interval is refused by the schema */
	assert_int_equal(store_begin(s), PW_OK);
	m.seq = 2;
	assert_int_equal(store_meter_insert(s, &m), PW_ERR_DB);
	store_rollback(s);
	assert_int_equal(store_begin(s), PW_OK);
	assert_int_equal(store_interval_settled(s, 7, 70), PW_OK);
	assert_int_equal(store_commit(s), PW_OK);
	assert_int_equal(store_first_unsettled(s, &v), PW_ERR_NOTFOUND);
	store_close(&s);

	char side[64];
	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
}

/* copy the file at from to to, byte for byte (the ".db alone" an auditor
 * might be handed) */
static void
copy_file(const char *from, const char *to)
{
	char buf[8192];
	size_t n;
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	assert_non_null(in);
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

static void
test_close_checkpoints_wal(void **state)
{
	(void)state;
	char path[] = "/tmp/test_store_wal.XXXXXX", wal[64], shm[64], copy[64];
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	snprintf(shm, sizeof(shm), "%s-shm", path);
	snprintf(copy, sizeof(copy), "%s.copy", path);
	struct store *s = NULL;
	sqlite3 *reader = NULL, *c = NULL;
	sqlite3_stmt *st;
	struct stat sb;

	assert_int_equal(store_open(path, &s), PW_OK);
	/* a reader that stays connected, like the demo's ticker */
	assert_int_equal(sqlite3_open_v2(path, &reader, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	for (uint64_t i = 1; i <= 50; i++) {
		assert_int_equal(store_begin(s), PW_OK);
		assert_int_equal(store_interval_cleared(s, i, 123456, 900, 1, 50), PW_OK);
		assert_int_equal(store_commit(s), PW_OK);
	}
	/* the reader has read (it holds the WAL open, no transaction) */
	assert_int_equal(
	    sqlite3_prepare_v2(reader, "SELECT count(*) FROM intervals", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 50);
	sqlite3_finalize(st);
	/* the commits are in the WAL, not yet all in the file */
	assert_int_equal(stat(wal, &sb), 0);
	assert_true(sb.st_size > 0);
	store_close(&s);
	assert_null(s);
	/* the WAL is gone or empty although a reader is still connected */
	assert_true(stat(wal, &sb) != 0 || sb.st_size == 0);
	sqlite3_close(reader);

	/* the database file alone holds every committed row */
	copy_file(path, copy);
	assert_int_equal(sqlite3_open_v2(copy, &c, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(c, "SELECT count(*) FROM intervals", -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 50);
	sqlite3_finalize(st);
	sqlite3_close(c);
	unlink(copy);
	unlink(path);
	unlink(wal);
	unlink(shm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_orders_and_seqs),
		cmocka_unit_test(test_rollback_discards),
		cmocka_unit_test(test_book_rebuilt),
		cmocka_unit_test(test_intervals_results_meters),
		cmocka_unit_test(test_close_checkpoints_wal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
