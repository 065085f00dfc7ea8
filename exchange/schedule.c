/*
 * schedule.c: parse and check the tariff schedule file (schedule.h).
 * Called by the exchange's configuration loading and reload.  Strict: a
 * schedule is a market input every household is bound by, so nothing is
 * guessed (no default zone, no rounding of prices, no reordering).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "schedule.h"
#include "exchange/registry.h"

#define CT_UPER_KWH 10000 /* 1 ct/kWh = 0.01/kWh = 10000 micro-units per kWh */

static pw_err fail(char *msg, size_t cap, pw_err rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static pw_err
fail(char *msg, size_t cap, pw_err rc, const char *fmt, ...)
{
	if (msg != NULL && cap > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, cap, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static int
digits(const char *p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil), for y >= 1970. */
static int64_t
days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	const int64_t era = y / 400;
	const int64_t yoe = y - era * 400;
	const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
days_in_month(int y, int m)
{
	static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

pw_err
schedule_parse_time(const char *text, uint64_t *t_s)
{
	int y, mo, d, h, mi, s, oh = 0, om = 0, sign = 0;
	if (text == NULL || t_s == NULL)
		return PW_ERR_ARG;
	size_t n = strlen(text);
	/* YYYY-MM-DDTHH:MM:SS is 19 characters, then Z or +HH:MM */
	if (n != 20 && n != 25)
		return PW_ERR_PARSE;
	if (text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
	    text[16] != ':')
		return PW_ERR_PARSE;
	if (digits(text, 4, &y) || digits(text + 5, 2, &mo) || digits(text + 8, 2, &d) ||
	    digits(text + 11, 2, &h) || digits(text + 14, 2, &mi) || digits(text + 17, 2, &s))
		return PW_ERR_PARSE;
	if (n == 20) {
		if (text[19] != 'Z')
			return PW_ERR_PARSE;
	} else {
		if (text[19] == '+')
			sign = 1;
		else if (text[19] == '-')
			sign = -1;
		else
			return PW_ERR_PARSE;
		if (text[22] != ':' || digits(text + 20, 2, &oh) || digits(text + 23, 2, &om))
			return PW_ERR_PARSE;
		if (oh > 23 || om > 59)
			return PW_ERR_PARSE;
	}
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
	    mi > 59 || s > 59)
		return PW_ERR_PARSE;
	int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
	t -= sign * (oh * 3600 + om * 60);
	if (t < 0)
		return PW_ERR_PARSE;
	*t_s = (uint64_t)t;
	return PW_OK;
}

pw_err
schedule_parse_ct(const char *text, int32_t *uper_kwh)
{
	if (text == NULL || uper_kwh == NULL)
		return PW_ERR_ARG;
	const char *p = text;
	int neg = 0;
	if (*p == '-') {
		neg = 1;
		p++;
	}
	int64_t whole = 0, frac = 0;
	int nw = 0, nf = 0;
	while (*p >= '0' && *p <= '9') {
		whole = whole * 10 + (*p++ - '0');
		if (++nw > 9)
			return PW_ERR_RANGE;
	}
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			if (++nf > 4)
				return PW_ERR_PARSE;
			frac = frac * 10 + (*p++ - '0');
		}
		if (nf == 0)
			return PW_ERR_PARSE;
	}
	if (*p != '\0' || nw == 0)
		return PW_ERR_PARSE;
	for (int i = nf; i < 4; i++)
		frac *= 10;
	int64_t v = whole * CT_UPER_KWH + frac;
	if (neg)
		v = -v;
	if (v < INT32_MIN || v > INT32_MAX)
		return PW_ERR_RANGE;
	*uper_kwh = (int32_t)v;
	return PW_OK;
}

/* Split `line` (NUL-terminated, modified) at commas into at most `max`
 * fields; returns the count, or max + 1 when there are more. */
static size_t
split(char *line, char **f, size_t max)
{
	size_t n = 0;
	char *p = line;
	for (;;) {
		if (n == max)
			return max + 1;
		f[n++] = p;
		char *c = strchr(p, ',');
		if (c == NULL)
			return n;
		*c = '\0';
		p = c + 1;
	}
}

static void
fmt_ct(int32_t uper_kwh, char *out, size_t cap)
{
	int64_t v = uper_kwh;
	uint64_t mag = v < 0 ? (uint64_t)-v : (uint64_t)v;
	snprintf(out, cap, "%s%llu.%04llu", v < 0 ? "-" : "",
	         (unsigned long long)(mag / CT_UPER_KWH), (unsigned long long)(mag % CT_UPER_KWH));
}

/* The reader of both CSV files: one line at a time, each at most
 * SCHEDULE_MAX_LINE characters and without NUL, a trailing CR dropped,
 * blank lines and `#` comments skipped, the header required first. */
struct csv {
	const char *text;
	size_t len, pos;
	size_t lineno; /* of the line in `line` */
	const char *header;
	int seen_header;
	char line[SCHEDULE_MAX_LINE + 2];
};

/* 1 with the next data line in r->line, 0 at the end of the text, -1 with
 * *rc and `msg` naming the line that is refused. */
static int
csv_next(struct csv *r, char *msg, size_t msgcap, pw_err *rc)
{
	while (r->pos < r->len) {
		size_t e = r->pos;
		while (e < r->len && r->text[e] != '\n')
			e++;
		size_t ll = e - r->pos;
		r->lineno++;
		if (ll > SCHEDULE_MAX_LINE) {
			*rc = fail(msg, msgcap, PW_ERR_PARSE, "line %zu: longer than %d characters",
			           r->lineno, SCHEDULE_MAX_LINE);
			return -1;
		}
		memcpy(r->line, r->text + r->pos, ll);
		r->line[ll] = '\0';
		r->pos = e < r->len ? e + 1 : e;
		if (ll > 0 && r->line[ll - 1] == '\r')
			r->line[--ll] = '\0';
		if (memchr(r->line, '\0', ll) != NULL) {
			*rc = fail(msg, msgcap, PW_ERR_PARSE, "line %zu: holds a NUL byte",
			           r->lineno);
			return -1;
		}
		if (ll == 0 || r->line[0] == '#')
			continue;
		if (!r->seen_header) {
			if (strcmp(r->line, r->header) != 0) {
				*rc = fail(msg, msgcap, PW_ERR_PARSE,
				           "line %zu: the first line must be the header '%s'",
				           r->lineno, r->header);
				return -1;
			}
			r->seen_header = 1;
			continue;
		}
		return 1;
	}
	return 0;
}

/* The `from` field of line `lineno`: an ISO 8601 time on an interval
 * boundary. */
static pw_err
parse_from(const char *text, uint32_t interval_s, size_t lineno, uint64_t *from_s, char *msg,
           size_t msgcap)
{
	if (schedule_parse_time(text, from_s) != PW_OK)
		return fail(msg, msgcap, PW_ERR_PARSE,
		            "line %zu: from '%s' is not an ISO 8601 time with a zone, like "
		            "2026-12-07T00:00:00Z",
		            lineno, text);
	if (*from_s % interval_s != 0)
		return fail(msg, msgcap, PW_ERR_PARSE,
		            "line %zu: from %s is not on an interval boundary (the interval "
		            "is %u s)",
		            lineno, text, interval_s);
	return PW_OK;
}

pw_err
schedule_parse(const char *text, size_t len, uint32_t interval_s, struct schedule *out, char *msg,
               size_t msgcap)
{
	if (text == NULL || out == NULL || interval_s == 0)
		return PW_ERR_ARG;
	if (len > SCHEDULE_MAX_BYTES)
		return fail(msg, msgcap, PW_ERR_FULL, "file longer than %u bytes",
		            (unsigned)SCHEDULE_MAX_BYTES);
	struct schedule s = { 0 };
	struct csv rd = { text, len, 0, 0, SCHEDULE_HEADER, 0, "" };
	size_t cap_rows = 0, lineno = 0, prev_line = 0;
	int got;
	pw_err rc = PW_OK;
	while ((got = csv_next(&rd, msg, msgcap, &rc)) > 0) {
		char *line = rd.line;
		lineno = rd.lineno;
		char *f[3];
		size_t nf = split(line, f, 3);
		if (nf != 3) {
			rc = fail(msg, msgcap, PW_ERR_PARSE,
			          "line %zu: expected 3 fields (from,retail_ct_kwh,feedin_ct_kwh), "
			          "found %s",
			          lineno, nf > 3 ? "more" : "fewer");
			goto out;
		}
		struct schedule_row r;
		if ((rc = parse_from(f[0], interval_s, lineno, &r.from_s, msg, msgcap)) != PW_OK)
			goto out;
		pw_err prc;
		if ((prc = schedule_parse_ct(f[1], &r.retail_uper_kwh)) != PW_OK) {
			rc = fail(
			    msg, msgcap, prc,
			    "line %zu: retail_ct_kwh '%s' is not a price in ct/kWh with at most 4 "
			    "decimals",
			    lineno, f[1]);
			goto out;
		}
		if ((prc = schedule_parse_ct(f[2], &r.feedin_uper_kwh)) != PW_OK) {
			rc = fail(
			    msg, msgcap, prc,
			    "line %zu: feedin_ct_kwh '%s' is not a price in ct/kWh with at most 4 "
			    "decimals",
			    lineno, f[2]);
			goto out;
		}
		if (r.retail_uper_kwh < r.feedin_uper_kwh) {
			char a[32], b[32];
			fmt_ct(r.retail_uper_kwh, a, sizeof a);
			fmt_ct(r.feedin_uper_kwh, b, sizeof b);
			rc = fail(msg, msgcap, PW_ERR_RANGE,
			          "line %zu: retail %s ct/kWh is below feed-in %s ct/kWh", lineno,
			          a, b);
			goto out;
		}
		if (s.n_rows > 0) {
			const struct schedule_row *p = &s.rows[s.n_rows - 1];
			if (r.from_s == p->from_s) {
				rc = fail(msg, msgcap, PW_ERR_PARSE,
				          "line %zu: overlaps line %zu (both start at %s)", lineno,
				          prev_line, f[0]);
				goto out;
			}
			if (r.from_s < p->from_s) {
				rc = fail(
				    msg, msgcap, PW_ERR_PARSE,
				    "line %zu: not in time order (%s is before line %zu's start)",
				    lineno, f[0], prev_line);
				goto out;
			}
		}
		if (s.n_rows == SCHEDULE_MAX_ROWS) {
			rc = fail(msg, msgcap, PW_ERR_FULL, "line %zu: more than %d rows", lineno,
			          SCHEDULE_MAX_ROWS);
			goto out;
		}
		if (s.n_rows == cap_rows) {
			size_t nc = cap_rows ? cap_rows * 2 : 128;
			struct schedule_row *nr = realloc(s.rows, nc * sizeof *nr);
			if (nr == NULL) {
				rc = PW_ERR_NOMEM;
				goto out;
			}
			s.rows = nr;
			cap_rows = nc;
		}
		r.line = (uint32_t)lineno;
		s.rows[s.n_rows++] = r;
		prev_line = lineno;
	}
	if (got < 0)
		goto out;
	lineno = rd.lineno;
	if (!rd.seen_header) {
		rc = fail(msg, msgcap, PW_ERR_PARSE, "line %zu: no header '%s'", lineno + 1,
		          SCHEDULE_HEADER);
		goto out;
	}
	if (s.n_rows == 0) {
		rc = fail(msg, msgcap, PW_ERR_PARSE, "line %zu: no rows after the header",
		          lineno + 1);
		goto out;
	}
	*out = s;
	return PW_OK;
out:
	free(s.rows);
	return rc;
}

/* Read the file at `path` (at most SCHEDULE_MAX_BYTES) into *buf (caller
 * frees), *n its length. */
static pw_err
read_file(const char *path, char **bufp, size_t *np, char *msg, size_t msgcap)
{
	if (path == NULL)
		return PW_ERR_ARG;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return fail(msg, msgcap, errno == ENOENT ? PW_ERR_NOTFOUND : PW_ERR_IO, "%s: %s",
		            path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(msg, msgcap, PW_ERR_IO, "%s: not a regular file", path);
	}
	if (st.st_size > (off_t)SCHEDULE_MAX_BYTES) {
		close(fd);
		return fail(msg, msgcap, PW_ERR_FULL, "%s: longer than %u bytes", path,
		            (unsigned)SCHEDULE_MAX_BYTES);
	}
	size_t n = (size_t)st.st_size, got = 0;
	char *buf = malloc(n + 1);
	if (buf == NULL) {
		close(fd);
		return PW_ERR_NOMEM;
	}
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got != n) {
		free(buf);
		return fail(msg, msgcap, PW_ERR_IO, "%s: short read", path);
	}
	*bufp = buf;
	*np = n;
	return PW_OK;
}

pw_err
schedule_load(const char *path, uint32_t interval_s, struct schedule *out, char *msg, size_t msgcap)
{
	char *buf = NULL;
	size_t n = 0;
	pw_err rc0 = read_file(path, &buf, &n, msg, msgcap);
	if (rc0 != PW_OK)
		return rc0;
	char inner[256] = "";
	pw_err rc = schedule_parse(buf, n, interval_s, out, inner, sizeof inner);
	free(buf);
	if (rc != PW_OK)
		return fail(msg, msgcap, rc, "%s: %s", path, inner);
	return PW_OK;
}

const struct schedule_row *
schedule_at(const struct schedule *s, uint64_t t_s)
{
	if (s == NULL || s->n_rows == 0 || t_s < s->rows[0].from_s)
		return NULL;
	size_t lo = 0, hi = s->n_rows; /* rows[lo].from_s <= t_s < rows[hi].from_s */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->rows[mid].from_s <= t_s)
			lo = mid;
		else
			hi = mid;
	}
	return &s->rows[lo];
}

static void
fmt_time(uint64_t t_s, char *out, size_t cap)
{
	time_t t = (time_t)t_s;
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL || strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, cap, "%llu", (unsigned long long)t_s);
}

static int
same_row(const struct schedule_row *a, const struct schedule_row *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return a->retail_uper_kwh == b->retail_uper_kwh && a->feedin_uper_kwh == b->feedin_uper_kwh;
}

pw_err
schedule_check_append(const struct schedule *cur, const struct schedule *next, uint64_t frozen_s,
                      char *msg, size_t msgcap)
{
	if (cur == NULL || next == NULL)
		return PW_ERR_ARG;
	/* The governing row can only change at a row boundary of either
	 * schedule, so comparing at every boundary before frozen_s (and at the
	 * start of time) covers every instant. */
	const struct schedule *both[2] = { cur, next };
	uint64_t first_change = UINT64_MAX;
	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i < both[k]->n_rows; i++) {
			uint64_t t = both[k]->rows[i].from_s;
			if (t >= frozen_s)
				break;
			if (!same_row(schedule_at(cur, t), schedule_at(next, t)) &&
			    t < first_change)
				first_change = t;
		}
	}
	if (first_change == UINT64_MAX)
		return PW_OK;
	char a[32], b[32];
	fmt_time(first_change, a, sizeof a);
	fmt_time(frozen_s, b, sizeof b);
	return fail(msg, msgcap, PW_ERR_STATE,
	            "the new schedule changes the tariffs from %s, before %s: an interval whose "
	            "gate has passed or that may already hold orders keeps its tariffs; only rows "
	            "from %s on may be added or changed",
	            a, b, b);
}

void
schedule_free(struct schedule *s)
{
	if (s == NULL)
		return;
	free(s->rows);
	s->rows = NULL;
	s->n_rows = 0;
}

/* --- the fee schedule ------------------------------------------------------- */

/* Parse a fee in ct/kWh (>= 0, at most 4 decimals, within u32). */
static pw_err
parse_fee(const char *text, uint32_t *out)
{
	int32_t v;
	pw_err rc = schedule_parse_ct(text, &v);
	if (rc != PW_OK)
		return rc;
	if (v < 0 || text[0] == '-')
		return PW_ERR_RANGE;
	*out = (uint32_t)v;
	return PW_OK;
}

/* 1 when zones a/b and c/d are the same unordered pair. */
static int
same_pair(const char *a, const char *b, const char *c, const char *d)
{
	return (strcmp(a, c) == 0 && strcmp(b, d) == 0) || (strcmp(a, d) == 0 && strcmp(b, c) == 0);
}

/* Add one row to the table `t` (the last of fs): a pair, `=,=` or `*,*`. */
static pw_err
fee_row(struct fee_schedule *fs, size_t *cap_pairs, struct fee_table *t, const char *za,
        const char *zb, uint32_t fee, size_t lineno, char *msg, size_t msgcap)
{
	int special_same = strcmp(za, "=") == 0 && strcmp(zb, "=") == 0;
	int special_default = strcmp(za, "*") == 0 && strcmp(zb, "*") == 0;
	if (special_same || special_default) {
		int *has = special_same ? &t->has_same : &t->has_default;
		if (*has)
			return fail(msg, msgcap, PW_ERR_PARSE,
			            "line %zu: the %s fee is given twice in the table from line %u",
			            lineno, special_same ? "same-zone (=,=)" : "default (*,*)",
			            (unsigned)t->line);
		*has = 1;
		if (special_same)
			t->same_zone_uper_kwh = fee;
		else
			t->default_uper_kwh = fee;
		return PW_OK;
	}
	if (!registry_token_ok(za, strlen(za)) || !registry_token_ok(zb, strlen(zb)) ||
	    strlen(za) >= FEE_ZONE_MAX || strlen(zb) >= FEE_ZONE_MAX)
		return fail(msg, msgcap, PW_ERR_PARSE,
		            "line %zu: zones '%.40s','%.40s' are not two zone names (or =,= for "
		            "the same-zone fee, *,* for the default)",
		            lineno, za, zb);
	for (size_t i = 0; i < t->n_pairs; i++) {
		const struct fee_pair *p = &fs->pairs[t->first + i];
		if (same_pair(p->zone_a, p->zone_b, za, zb))
			return fail(
			    msg, msgcap, PW_ERR_PARSE,
			    "line %zu: zones %s/%s are given twice in the table from line %u",
			    lineno, za, zb, (unsigned)t->line);
	}
	if (t->n_pairs == FEE_SCHEDULE_MAX_PAIRS)
		return fail(msg, msgcap, PW_ERR_FULL,
		            "line %zu: more than %d zone pairs in the table from line %u", lineno,
		            FEE_SCHEDULE_MAX_PAIRS, (unsigned)t->line);
	if (fs->n_pairs == FEE_SCHEDULE_MAX_ROWS)
		return fail(msg, msgcap, PW_ERR_FULL, "line %zu: more than %d rows", lineno,
		            FEE_SCHEDULE_MAX_ROWS);
	if (fs->n_pairs == *cap_pairs) {
		size_t nc = *cap_pairs ? *cap_pairs * 2 : 64;
		struct fee_pair *np = realloc(fs->pairs, nc * sizeof(*np));
		if (np == NULL)
			return PW_ERR_NOMEM;
		fs->pairs = np;
		*cap_pairs = nc;
	}
	struct fee_pair *p = &fs->pairs[fs->n_pairs++];
	memset(p, 0, sizeof(*p));
	memcpy(p->zone_a, za, strlen(za));
	memcpy(p->zone_b, zb, strlen(zb));
	p->fee_uper_kwh = fee;
	t->n_pairs++;
	return PW_OK;
}

pw_err
fee_schedule_parse(const char *text, size_t len, uint32_t interval_s, struct fee_schedule *out,
                   char *msg, size_t msgcap)
{
	if (text == NULL || out == NULL || interval_s == 0)
		return PW_ERR_ARG;
	if (len > SCHEDULE_MAX_BYTES)
		return fail(msg, msgcap, PW_ERR_FULL, "file longer than %u bytes",
		            (unsigned)SCHEDULE_MAX_BYTES);
	struct fee_schedule fs = { 0 };
	struct csv rd = { text, len, 0, 0, FEE_SCHEDULE_HEADER, 0, "" };
	size_t cap_tables = 0, cap_pairs = 0, lineno = 0;
	int got;
	pw_err rc = PW_OK;
	while ((got = csv_next(&rd, msg, msgcap, &rc)) > 0) {
		char *line = rd.line;
		lineno = rd.lineno;
		char *f[4];
		size_t nf = split(line, f, 4);
		if (nf != 4) {
			rc = fail(msg, msgcap, PW_ERR_PARSE,
			          "line %zu: expected 4 fields (from,zone_a,zone_b,fee_ct_kwh), "
			          "found %s",
			          lineno, nf > 4 ? "more" : "fewer");
			goto out;
		}
		uint64_t from_s;
		if ((rc = parse_from(f[0], interval_s, lineno, &from_s, msg, msgcap)) != PW_OK)
			goto out;
		uint32_t fee;
		pw_err prc = parse_fee(f[3], &fee);
		if (prc != PW_OK) {
			rc = fail(
			    msg, msgcap, prc,
			    "line %zu: fee_ct_kwh '%s' is not a fee in ct/kWh (>= 0, at most 4 "
			    "decimals)",
			    lineno, f[3]);
			goto out;
		}
		struct fee_table *t = fs.n_tables ? &fs.tables[fs.n_tables - 1] : NULL;
		if (t != NULL && from_s < t->from_s) {
			rc = fail(
			    msg, msgcap, PW_ERR_PARSE,
			    "line %zu: not in time order (%s is before the table from line %u)",
			    lineno, f[0], (unsigned)t->line);
			goto out;
		}
		if (t == NULL || from_s > t->from_s) {
			if (fs.n_tables == SCHEDULE_MAX_ROWS) {
				rc = fail(msg, msgcap, PW_ERR_FULL, "line %zu: more than %d tables",
				          lineno, SCHEDULE_MAX_ROWS);
				goto out;
			}
			if (fs.n_tables == cap_tables) {
				size_t nc = cap_tables ? cap_tables * 2 : 16;
				struct fee_table *nt = realloc(fs.tables, nc * sizeof(*nt));
				if (nt == NULL) {
					rc = PW_ERR_NOMEM;
					goto out;
				}
				fs.tables = nt;
				cap_tables = nc;
			}
			t = &fs.tables[fs.n_tables++];
			memset(t, 0, sizeof(*t));
			t->from_s = from_s;
			t->line = (uint32_t)lineno;
			t->first = fs.n_pairs;
		}
		if ((rc = fee_row(&fs, &cap_pairs, t, f[1], f[2], fee, lineno, msg, msgcap)) !=
		    PW_OK)
			goto out;
	}
	if (got < 0)
		goto out;
	lineno = rd.lineno;
	if (!rd.seen_header) {
		rc = fail(msg, msgcap, PW_ERR_PARSE, "line %zu: no header '%s'", lineno + 1,
		          FEE_SCHEDULE_HEADER);
		goto out;
	}
	if (fs.n_tables == 0) {
		rc = fail(msg, msgcap, PW_ERR_PARSE, "line %zu: no rows after the header",
		          lineno + 1);
		goto out;
	}
	*out = fs;
	return PW_OK;
out:
	free(fs.tables);
	free(fs.pairs);
	return rc;
}

pw_err
fee_schedule_load(const char *path, uint32_t interval_s, struct fee_schedule *out, char *msg,
                  size_t msgcap)
{
	char *buf = NULL;
	size_t n = 0;
	pw_err rc = read_file(path, &buf, &n, msg, msgcap);
	if (rc != PW_OK)
		return rc;
	char inner[256] = "";
	rc = fee_schedule_parse(buf, n, interval_s, out, inner, sizeof inner);
	free(buf);
	if (rc != PW_OK)
		return fail(msg, msgcap, rc, "%s: %s", path, inner);
	return PW_OK;
}

const struct fee_table *
fee_schedule_at(const struct fee_schedule *f, uint64_t t_s)
{
	if (f == NULL || f->n_tables == 0 || t_s < f->tables[0].from_s)
		return NULL;
	size_t lo = 0, hi = f->n_tables;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->tables[mid].from_s <= t_s)
			lo = mid;
		else
			hi = mid;
	}
	return &f->tables[lo];
}

void
fee_schedule_free(struct fee_schedule *f)
{
	if (f == NULL)
		return;
	free(f->tables);
	free(f->pairs);
	memset(f, 0, sizeof(*f));
}
