/*
 * pw-demo-watch.c: the market ticker of `make demo` (tests/demo.sh).
 *
 *   pw-demo-watch --db FILE [--sim-epoch UNIX --sim-start HH:MM --speed X]
 *
 * Reads the exchange's database read-only (SQLite WAL readers never block
 * the exchange) and prints one line per settled interval: the clearing
 * price, volume and trades of the interval and the net money of every
 * household from its signed STATEMENT (signature checked against the market
 * id stored in params; a statement that does not verify is shown as "BAD").
 * With the sim clock options the line also shows the simulated time of day
 * at which the interval starts (peerwatt-sim --start-time / --speed).
 * On SIGTERM or SIGINT it reads what was settled meanwhile, prints the
 * totals per household and exits 0.  Every row is bounded before use.
 * Exit: 0, 64 usage, 66 the database cannot be read (after 30 s of tries).
 *
 * Called only by tests/demo.sh; no other program depends on its output
 * (tests/integration/demo.sh reads its summary lines).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "peerwatt/keys.h"
#include "peerwatt/wire.h"

#define EX_USAGE   64
#define EX_NOINPUT 66
#define MAX_HH     32 /* columns on one line; more households are summed as "others" */
#define NAME_MAX_  10

static volatile sig_atomic_t stop_flag;

struct hh {
	uint8_t pk[PW_PK_LEN];
	char name[NAME_MAX_ + 1];
	int width;
	int64_t net_u, saving_u;
	uint64_t bought_wh, sold_wh;
	unsigned statements;
};

struct watch {
	sqlite3 *db;
	uint64_t market_id;
	int64_t interval_s;
	struct hh hh[MAX_HH];
	size_t n_hh;
	int64_t others_net_u;
	int64_t last_ivl; /* last interval printed */
	/* simulated clock (optional) */
	bool sim;
	int64_t sim_epoch, sim_start_s;
	double speed;
	/* totals */
	unsigned intervals, trades;
	uint64_t volume_wh;
	unsigned bad;
};

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: pw-demo-watch --db FILE [--sim-epoch UNIX --sim-start HH:MM "
	                "--speed X]\n");
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
		h->width = len < 6 ? 7 : (int)len + 1;
		w->n_hh++;
	}
	sqlite3_finalize(st);
	return w->n_hh > 0;
}

static void
print_header(const struct watch *w)
{
	size_t i;

	printf("%10s %s %13s %9s %6s |", "interval", w->sim ? " sim " : "", "price ct/kWh",
	       "volume Wh", "trades");
	for (i = 0; i < w->n_hh; i++)
		printf(" %*s", w->hh[i].width, w->hh[i].name);
	printf("   (net ct per household)\n");
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
	char cell[MAX_HH][32], buf[32];
	sqlite3_stmt *st;
	int64_t n_trades = 0;
	size_t i;

	for (i = 0; i < w->n_hh; i++)
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
			int n = sqlite3_column_bytes(st, 0);
			struct pw_msg m;
			const struct pw_statement *s = &m.u.statement;
			struct hh *h;

			if (f == NULL || n <= 0 || (size_t)n > PW_WIRE_MAX_LEN ||
			    pw_wire_open(f, (size_t)n, w->market_id, &m) != PW_OK ||
			    m.type != PW_MSG_STATEMENT || s->interval != (uint64_t)ivl) {
				w->bad++;
				continue;
			}
			h = find_hh(w, s->household);
			if (h == NULL) {
				w->others_net_u += s->net_u;
				continue;
			}
			h->net_u += s->net_u;
			h->saving_u += s->saving_u;
			h->bought_wh += s->bought_wh;
			h->sold_wh += s->sold_wh;
			h->statements++;
			fmt_ct(s->net_u, cell[h - w->hh], sizeof(cell[0]));
		}
		sqlite3_finalize(st);
	}
	w->intervals++;
	w->trades += (unsigned)n_trades;
	w->volume_wh += volume_wh;

	printf("%10" PRId64 " ", ivl);
	if (w->sim) {
		int64_t tod = w->sim_start_s +
		              (int64_t)((double)(ivl * w->interval_s - w->sim_epoch) * w->speed);
		tod = ((tod % 86400) + 86400) % 86400;
		printf("%02d:%02d ", (int)(tod / 3600), (int)(tod % 3600 / 60));
	}
	if (volume_wh > 0)
		fmt_price(price, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "-");
	printf("%13s %9" PRIu64 " %6" PRId64 " |", buf, volume_wh, n_trades);
	for (i = 0; i < w->n_hh; i++)
		printf(" %*s", w->hh[i].width, cell[i]);
	printf("\n");
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

static void
print_summary(const struct watch *w)
{
	char net[32], sav[32];
	size_t i;

	printf("\nsummary: %u intervals settled, %u trades, %" PRIu64 " Wh traded between "
	       "neighbours\n",
	       w->intervals, w->trades, w->volume_wh);
	for (i = 0; i < w->n_hh; i++) {
		const struct hh *h = &w->hh[i];

		fmt_ct(h->net_u, net, sizeof(net));
		fmt_ct(h->saving_u, sav, sizeof(sav));
		printf("  %-10s %3u statements  sold %7" PRIu64 " Wh  bought %7" PRIu64
		       " Wh  net %9s ct  saving vs grid only %9s ct\n",
		       h->name, h->statements, h->sold_wh, h->bought_wh, net, sav);
	}
	if (w->bad)
		printf("  %u statements did not verify\n", w->bad);
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
			       "--speed X]\n");
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
		} else {
			usage();
		}
	}
	if (path == NULL || have_epoch != have_start)
		usage();
	w.sim = have_epoch;
	setvbuf(stdout, NULL, _IOLBF, 0);
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
	sqlite3_close(w.db);
	return 0;
}
