/*
 * pw-demo-watch.c: the market ticker of `make demo` (tests/demo.sh).
 *
 *   pw-demo-watch --db FILE [--sim-epoch UNIX --sim-start HH:MM --speed X]
 *                 [--battery NAME=AGENT_DB]...
 *
 * Reads the exchange's database read-only (SQLite WAL readers never block
 * the exchange) and prints one line per settled interval: the interval as
 * times of day, its clearing price, volume and trades and the net money of
 * every household from its signed STATEMENT (signature checked against the
 * market id stored in params; one that does not verify is left out and
 * counted in the summary).  With the sim clock options the times are the simulated time of
 * day of the devices (peerwatt-sim --start-time / --speed), the one time base
 * of the demo; without them local wall-clock time.  A line is at most 100
 * columns: households beyond what fits are summed in an "others" column.
 * On SIGTERM or SIGINT it reads what was settled meanwhile and prints a
 * summary that counts what peerwatt-audit counts (auctions cleared, trades,
 * Wh; intervals with statements; intervals cleared but not settled yet and
 * intervals with orders not cleared yet, which the summary explains) and the
 * totals per household, then exits 0.
 * When standard output is a pipe that breaks (`make demo | tee log`, Ctrl-C
 * kills tee too) the rest goes to standard error: the summary is never lost.
 * --battery names a household with a home battery and its agent's database
 * (read-only, like the exchange's): a "battery" column then shows the
 * energy those households sold from their batteries in each interval (their
 * offers of stored energy, tagged by the agent: docs/agent-energy.md
 * "Battery plan"), and the summary the totals.  The exchange cannot tell
 * stored energy from PV; only the household's own agent knows it.
 * Every row is bounded before use.
 * Exit: 0, 64 usage, 66 the database cannot be read (after 30 s of tries).
 *
 * Called only by tests/demo.sh; no other program depends on its output
 * (tests/integration/demo.sh reads its summary lines).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "peerwatt/keys.h"
#include "peerwatt/wire.h"

#define EX_USAGE        64
#define EX_NOINPUT      66
#define MAX_HH          32 /* households read; more are summed as "others" */
#define NAME_MAX_       7  /* a name is cut to the width of its column */
#define LINE_COLS       100
#define LEFT_COLS       37 /* "07:00-07:30  ct/kWh  Wh trades |" */
#define CELL_COLS       (NAME_MAX_ + 1)
#define MAX_BAT         8     /* --battery households */
#define TAG_BATTERY_SQL "100" /* agent/aledger.h ALEDGER_TAG_BATTERY */

static volatile sig_atomic_t stop_flag;

struct hh {
	uint8_t pk[PW_PK_LEN];
	char name[NAME_MAX_ + 1];
	int64_t net_u, saving_u;
	uint64_t bought_wh, sold_wh;
	unsigned statements;
};

/* a household with a battery (--battery NAME=AGENT_DB) */
struct bat {
	char name[NAME_MAX_ + 1];
	const char *path;
	sqlite3 *db; /* NULL until the agent has created it */
	uint64_t sold_wh;
};

struct watch {
	sqlite3 *db;
	struct bat bat[MAX_BAT];
	size_t n_bat;
	uint64_t market_id;
	int64_t interval_s;
	struct hh hh[MAX_HH];
	size_t n_hh;
	size_t n_cols; /* households with a column of their own; the rest in "others" */
	bool others_col;
	int64_t others_net_u;
	int64_t grace_s;
	int64_t last_ivl; /* last interval printed */
	/* simulated clock (optional) */
	bool sim;
	int64_t sim_epoch, sim_start_s;
	double speed;
	/* totals */
	unsigned intervals, with_statements;
	unsigned bad;
};

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/*
 * One line of output.  When standard output is a pipe whose reader died
 * (tee killed by the same Ctrl-C as the demo), the line and all that follow
 * go to standard error instead (SIGPIPE is ignored in main).
 */
static void __attribute__((format(printf, 1, 2))) out(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (fputs(line, stdout) < 0 || fflush(stdout) != 0) {
		clearerr(stdout);
		if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
			return;
		fputs(line, stdout);
		fflush(stdout);
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: pw-demo-watch --db FILE [--sim-epoch UNIX --sim-start HH:MM "
	                "--speed X] [--battery NAME=AGENT_DB]...\n");
	exit(EX_USAGE);
}

static bool
parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* "HH:MM" -> seconds of day */
static bool
parse_hhmm(const char *s, int64_t *out)
{
	int64_t h, m;
	char buf[3];

	if (strlen(s) != 5 || s[2] != ':')
		return false;
	memcpy(buf, s, 2);
	buf[2] = '\0';
	if (!parse_i64(buf, 0, 23, &h) || !parse_i64(s + 3, 0, 59, &m))
		return false;
	*out = h * 3600 + m * 60;
	return true;
}

/* Money as cents with one decimal and a sign ("+12.3", "-0.5"); cap >= 32. */
static void
fmt_ct(int64_t u, char *out, size_t cap)
{
	/* 1 ct = 10000 micro-units; tenths of a cent, rounded half away from zero */
	bool neg = u < 0;
	uint64_t a = neg ? (uint64_t)0 - (uint64_t)u : (uint64_t)u;
	uint64_t tenths = (a + 500) / 1000;

	snprintf(out, cap, "%c%" PRIu64 ".%" PRIu64, neg && tenths ? '-' : '+', tenths / 10,
	         tenths % 10);
}

/* Price per kWh in cents with two decimals ("17.50"). */
static void
fmt_price(uint64_t price_uper_kwh, char *out, size_t cap)
{
	uint64_t hundredths = price_uper_kwh / 100;

	snprintf(out, cap, "%" PRIu64 ".%02" PRIu64, hundredths / 100, hundredths % 100);
}

static bool
read_param(struct watch *w, const char *key, int64_t *out)
{
	sqlite3_stmt *st;
	bool ok = false;

	if (sqlite3_prepare_v2(w->db, "SELECT value FROM params WHERE key = ?", -1, &st, NULL) !=
	    SQLITE_OK)
		return false;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		/* params are stored as integers or integer text */
		if (sqlite3_column_type(st, 0) == SQLITE_INTEGER) {
			*out = sqlite3_column_int64(st, 0);
			ok = true;
		} else if (t != NULL) {
			ok = parse_i64((const char *)t, INT64_MIN, INT64_MAX, out);
		}
	}
	sqlite3_finalize(st);
	return ok;
}

/* params and households; false while the exchange has not written them yet. */
static bool
load_market(struct watch *w)
{
	sqlite3_stmt *st;
	int64_t id;

	if (!read_param(w, "market_id", &id) || id < 1 ||
	    !read_param(w, "interval_s", &w->interval_s) || w->interval_s < 1 ||
	    w->interval_s > 86400)
		return false;
	if (!read_param(w, "grace_s", &w->grace_s) || w->grace_s < 0 || w->grace_s > 86400)
		w->grace_s = 0;
	w->market_id = (uint64_t)id;
	if (sqlite3_prepare_v2(w->db, "SELECT pk, name FROM households ORDER BY id", -1, &st,
	                       NULL) != SQLITE_OK)
		return false;
	w->n_hh = 0;
	while (sqlite3_step(st) == SQLITE_ROW && w->n_hh < MAX_HH) {
		struct hh *h = &w->hh[w->n_hh];
		const unsigned char *name = sqlite3_column_text(st, 1);
		size_t len;

		if (sqlite3_column_bytes(st, 0) != PW_PK_LEN || name == NULL)
			continue;
		memset(h, 0, sizeof(*h));
		memcpy(h->pk, sqlite3_column_blob(st, 0), PW_PK_LEN);
		len = strnlen((const char *)name, NAME_MAX_);
		memcpy(h->name, name, len);
		h->name[len] = '\0';
		w->n_hh++;
	}
	sqlite3_finalize(st);
	/* as many columns as fit in LINE_COLS; if not all, one is "others" */
	w->n_cols = (size_t)(LINE_COLS - LEFT_COLS - (w->n_bat > 0 ? CELL_COLS : 0)) / CELL_COLS;
	w->others_col = w->n_hh > w->n_cols;
	if (w->others_col)
		w->n_cols--;
	else
		w->n_cols = w->n_hh;
	return w->n_hh > 0;
}

static void
print_header(const struct watch *w)
{
	char line[LINE_COLS + 1];
	size_t i, n;

	out("%-11s %6s %9s %6s |  %s\n", "interval", "price", "traded", "",
	    w->n_bat > 0 ? "net money per household, ct; battery: Wh sold from storage"
	                 : "net money of each household in this interval, ct");
	n = (size_t)snprintf(line, sizeof(line), "%-11s %6s %9s %6s |",
	                     w->sim ? "(sim. time)" : "(time)", "ct/kWh", "Wh", "trades");
	for (i = 0; i < w->n_cols && n < sizeof(line); i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " %*s", NAME_MAX_, w->hh[i].name);
	if (w->others_col && n < sizeof(line))
		n += (size_t)snprintf(line + n, sizeof(line) - n, " %*s", NAME_MAX_, "others");
	if (w->n_bat > 0 && n < sizeof(line))
		snprintf(line + n, sizeof(line) - n, " %*s", NAME_MAX_, "battery");
	out("%s\n", line);
}

/* Energy the battery of b sold in interval ivl, from its agent's database
 * (opened read-only once it exists); 0 while it cannot be read. */
static uint64_t
battery_sold(struct bat *b, int64_t ivl)
{
	sqlite3_stmt *st;
	int64_t v = 0;

	if (b->db == NULL) {
		if (sqlite3_open_v2(b->path, &b->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
			sqlite3_close(b->db);
			b->db = NULL;
			return 0;
		}
		sqlite3_busy_timeout(b->db, 1000);
	}
	if (sqlite3_prepare_v2(b->db,
	                       "SELECT coalesce(sum(t.qty_wh), 0) FROM trades t"
	                       " JOIN order_tags g ON g.seq = t.sell_seq"
	                       " WHERE t.side = 2 AND t.interval = ? AND g.tag = " TAG_BATTERY_SQL,
	                       -1, &st, NULL) != SQLITE_OK)
		return 0; /* no tables yet */
	sqlite3_bind_int64(st, 1, ivl);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v > 0 && v < INT64_C(1) << 40 ? (uint64_t)v : 0;
}

/* "HH:MM" of time t (simulated time of day or local wall-clock time) */
static void
fmt_tod(const struct watch *w, int64_t t, char *buf, size_t cap)
{
	if (w->sim) {
		int64_t tod = w->sim_start_s + (int64_t)((double)(t - w->sim_epoch) * w->speed);
		tod = ((tod % 86400) + 86400) % 86400;
		snprintf(buf, cap, "%02d:%02d", (int)(tod / 3600), (int)(tod % 3600 / 60));
	} else {
		time_t tt = (time_t)t;
		struct tm tm;
		if (localtime_r(&tt, &tm) == NULL || strftime(buf, cap, "%H:%M:%S", &tm) == 0)
			snprintf(buf, cap, "?");
	}
}

static struct hh *
find_hh(struct watch *w, const uint8_t *pk)
{
	size_t i;

	for (i = 0; i < w->n_hh; i++)
		if (memcmp(w->hh[i].pk, pk, PW_PK_LEN) == 0)
			return &w->hh[i];
	return NULL;
}

/* Print the line of one settled interval. */
static void
print_interval(struct watch *w, int64_t ivl, uint64_t price, uint64_t volume_wh)
{
	char cell[MAX_HH + 1][32], buf[32], from[16], to[16], when[40], line[LINE_COLS + 64];
	sqlite3_stmt *st;
	int64_t n_trades = 0, others_u = 0;
	bool others_any = false;
	unsigned n_stmts = 0;
	size_t i, n;

	for (i = 0; i <= MAX_HH; i++)
		snprintf(cell[i], sizeof(cell[i]), ".");
	if (sqlite3_prepare_v2(w->db, "SELECT count(*) FROM trades WHERE interval = ?", -1, &st,
	                       NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, ivl);
		if (sqlite3_step(st) == SQLITE_ROW)
			n_trades = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	if (sqlite3_prepare_v2(w->db, "SELECT frame FROM statements WHERE interval = ?", -1, &st,
	                       NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, ivl);
		while (sqlite3_step(st) == SQLITE_ROW) {
			const uint8_t *f = sqlite3_column_blob(st, 0);
			int nb = sqlite3_column_bytes(st, 0);
			struct pw_msg m;
			const struct pw_statement *s = &m.u.statement;
			struct hh *h;
			size_t col;

			if (f == NULL || nb <= 0 || (size_t)nb > PW_WIRE_MAX_LEN ||
			    pw_wire_open(f, (size_t)nb, w->market_id, &m) != PW_OK ||
			    m.type != PW_MSG_STATEMENT || s->interval != (uint64_t)ivl) {
				w->bad++; /* the summary says how many */
				continue;
			}
			n_stmts++;
			h = find_hh(w, s->household);
			if (h == NULL) {
				w->others_net_u += s->net_u;
				others_u += s->net_u;
				others_any = true;
				continue;
			}
			h->net_u += s->net_u;
			h->saving_u += s->saving_u;
			h->bought_wh += s->bought_wh;
			h->sold_wh += s->sold_wh;
			h->statements++;
			col = (size_t)(h - w->hh);
			if (col < w->n_cols) {
				fmt_ct(s->net_u, cell[col], sizeof(cell[0]));
			} else {
				others_u += s->net_u;
				others_any = true;
			}
		}
		sqlite3_finalize(st);
	}
	w->intervals++;
	if (n_stmts > 0)
		w->with_statements++;
	if (others_any)
		fmt_ct(others_u, cell[MAX_HH], sizeof(cell[0]));

	fmt_tod(w, ivl * w->interval_s, from, sizeof(from));
	if (w->sim) {
		fmt_tod(w, (ivl + 1) * w->interval_s, to, sizeof(to));
		snprintf(when, sizeof(when), "%s-%s", from, to);
	} else {
		snprintf(when, sizeof(when), "%s", from);
	}
	if (volume_wh > 0)
		fmt_price(price, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "-");
	n = (size_t)snprintf(line, sizeof(line), "%-11s %6s %9" PRIu64 " %6" PRId64 " |", when, buf,
	                     volume_wh, n_trades);
	for (i = 0; i < w->n_cols && n < sizeof(line); i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " %*s", NAME_MAX_, cell[i]);
	if (w->others_col && n < sizeof(line))
		n += (size_t)snprintf(line + n, sizeof(line) - n, " %*s", NAME_MAX_, cell[MAX_HH]);
	if (w->n_bat > 0 && n < sizeof(line)) {
		uint64_t bat_wh = 0;
		for (i = 0; i < w->n_bat; i++) {
			uint64_t v = battery_sold(&w->bat[i], ivl);
			w->bat[i].sold_wh += v;
			bat_wh += v;
		}
		if (bat_wh > 0)
			snprintf(buf, sizeof(buf), "%" PRIu64, bat_wh);
		else
			snprintf(buf, sizeof(buf), ".");
		snprintf(line + n, sizeof(line) - n, " %*s", NAME_MAX_, buf);
	}
	out("%s\n", line);
}

/* Print every interval settled since the last call. */
static void
poll_db(struct watch *w)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(w->db,
	                       "SELECT interval, price_uper_kwh, volume_wh FROM intervals"
	                       " WHERE state = 2 AND interval > ? ORDER BY interval",
	                       -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, w->last_ivl);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t ivl = sqlite3_column_int64(st, 0);
		int64_t price = sqlite3_column_int64(st, 1);
		int64_t vol = sqlite3_column_int64(st, 2);

		if (ivl <= w->last_ivl || price < 0 || price > UINT32_MAX || vol < 0)
			continue;
		print_interval(w, ivl, (uint64_t)price, (uint64_t)vol);
		w->last_ivl = ivl;
	}
	sqlite3_finalize(st);
}

/* Two integers of the first row of sql (missing or NULL: 0). */
static void
query2(const struct watch *w, const char *sql, int64_t *a, int64_t *b)
{
	sqlite3_stmt *st;

	*a = *b = 0;
	if (sqlite3_prepare_v2(w->db, sql, -1, &st, NULL) != SQLITE_OK)
		return;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*a = sqlite3_column_int64(st, 0);
		if (sqlite3_column_count(st) > 1)
			*b = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
}

/*
 * The closing summary.  Its first lines count what peerwatt-audit counts
 * from the same database ("auctions N replayed, T trades, V Wh";
 * "settlement N intervals recomputed and balanced, M not cleared yet") and
 * say why the ticker shows fewer: the last auctions were cleared but not
 * yet settled when the demo stopped.
 */
static void
print_summary(const struct watch *w)
{
	char net[32], sav[32];
	int64_t auctions, unused, trades, wh, stmt_ivls, settled, unsettled, open;
	size_t i;

	query2(w, "SELECT count(*), 0 FROM intervals WHERE state >= 1", &auctions, &unused);
	query2(w, "SELECT count(*), coalesce(sum(qty_wh), 0) FROM trades", &trades, &wh);
	query2(w, "SELECT count(DISTINCT interval), 0 FROM statements", &stmt_ivls, &unused);
	query2(w, "SELECT count(*), 0 FROM intervals WHERE state = 1", &unsettled, &unused);
	query2(w,
	       "SELECT count(DISTINCT interval), 0 FROM orders"
	       " WHERE interval NOT IN (SELECT interval FROM intervals)",
	       &open, &unused);
	out("\nsummary (counted as the audit below counts them, from the same database)\n");
	out("  auctions      %" PRId64 " cleared, %" PRId64 " trades, %" PRId64
	    " Wh between neighbours\n",
	    auctions, trades, wh);
	query2(w, "SELECT count(*), 0 FROM intervals WHERE state = 2", &settled, &unused);
	out("  settlement    %" PRId64 " intervals with statements, %" PRId64
	    " settled with nobody active (%" PRId64 " in the ticker)\n",
	    stmt_ivls, settled > stmt_ivls ? settled - stmt_ivls : 0, settled);
	if (unsettled > 0)
		out("                %" PRId64
		    " cleared, not settled yet: an interval settles %" PRId64 " s after its end,\n"
		    "                with its meter readings, and the demo stopped first (their\n"
		    "                trades are in the auctions line, not in the ticker)\n",
		    unsettled, w->grace_s);
	if (open > 0)
		out("                %" PRId64 " with orders, not cleared yet (the audit's \"not "
		    "cleared yet\")\n",
		    open);
	out("  households    over the %u settled intervals; saving = against buying and selling\n"
	    "                everything at the grid's tariffs (from the signed statements)\n",
	    w->intervals);
	for (i = 0; i < w->n_hh; i++) {
		const struct hh *h = &w->hh[i];

		fmt_ct(h->net_u, net, sizeof(net));
		fmt_ct(h->saving_u, sav, sizeof(sav));
		out("    %-7s %3u statements  sold %6" PRIu64 " Wh  bought %6" PRIu64
		    " Wh  net %8s ct  saving %8s ct\n",
		    h->name, h->statements, h->sold_wh, h->bought_wh, net, sav);
	}
	if (w->others_net_u != 0) {
		fmt_ct(w->others_net_u, net, sizeof(net));
		out("    others (not in the registry when the demo started): net %s ct\n", net);
	}
	for (i = 0; i < w->n_bat; i++)
		out("    %-7s sold %6" PRIu64 " Wh from its battery (its agent's offers of stored"
		    " energy)\n",
		    w->bat[i].name, w->bat[i].sold_wh);
	if (w->bad)
		out("  %u statements did not verify (left out above)\n", w->bad);
}

int
main(int argc, char **argv)
{
	struct watch w = { .last_ivl = -1, .speed = 1 };
	const char *path = NULL;
	bool have_epoch = false, have_start = false;
	struct sigaction sa = { .sa_handler = on_signal };
	struct timespec tick = { 0, 250 * 1000 * 1000 };
	int i, tries = 0;

	for (i = 1; i < argc; i++) {
		const char *o = argv[i], *a = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(o, "--help") == 0) {
			printf("usage: pw-demo-watch --db FILE [--sim-epoch UNIX --sim-start HH:MM "
			       "--speed X] [--battery NAME=AGENT_DB]...\n");
			return 0;
		}
		if (a == NULL)
			usage();
		i++;
		if (strcmp(o, "--db") == 0) {
			path = a;
		} else if (strcmp(o, "--sim-epoch") == 0) {
			if (!parse_i64(a, 0, INT64_MAX / 4, &w.sim_epoch))
				usage();
			have_epoch = true;
		} else if (strcmp(o, "--sim-start") == 0) {
			if (!parse_hhmm(a, &w.sim_start_s))
				usage();
			have_start = true;
		} else if (strcmp(o, "--speed") == 0) {
			char *end;
			errno = 0;
			w.speed = strtod(a, &end);
			if (errno != 0 || end == a || *end != '\0' || !(w.speed >= 0.001) ||
			    !(w.speed <= 1e6))
				usage();
		} else if (strcmp(o, "--battery") == 0) {
			const char *eq = strchr(a, '=');
			struct bat *b = &w.bat[w.n_bat];
			size_t len = eq != NULL ? (size_t)(eq - a) : 0;
			if (w.n_bat >= MAX_BAT || len == 0 || len > NAME_MAX_ || eq[1] == '\0')
				usage();
			memcpy(b->name, a, len);
			b->name[len] = '\0';
			b->path = eq + 1;
			w.n_bat++;
		} else {
			usage();
		}
	}
	if (path == NULL || have_epoch != have_start)
		usage();
	w.sim = have_epoch;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN); /* a broken stdout: out() moves to stderr */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (pw_crypto_init() != PW_OK)
		return 70;

	/* The exchange creates the database and its params at start: wait. */
	for (;;) {
		if (w.db == NULL &&
		    sqlite3_open_v2(path, &w.db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
			sqlite3_close(w.db);
			w.db = NULL;
		}
		if (w.db != NULL) {
			sqlite3_busy_timeout(w.db, 2000);
			if (load_market(&w))
				break;
		}
		if (stop_flag || ++tries > 120) {
			fprintf(stderr, "pw-demo-watch: %s: no market in this database\n", path);
			sqlite3_close(w.db);
			return EX_NOINPUT;
		}
		nanosleep(&tick, NULL);
	}
	print_header(&w);
	while (!stop_flag) {
		poll_db(&w);
		nanosleep(&tick, NULL);
	}
	poll_db(&w);
	print_summary(&w);
	for (size_t k = 0; k < w.n_bat; k++)
		sqlite3_close(w.bat[k].db);
	sqlite3_close(w.db);
	return 0;
}
