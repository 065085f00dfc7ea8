/* test_schedule.c: the tariff schedule file: times, prices, every refusal
 * named by its line, lookups and the rule that a reload only appends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "exchange/schedule.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define L    900u

static void
test_time(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		uint64_t want;
	} ok[] = {
		{ "1970-01-01T00:00:00Z", 0 },
		{ "2026-12-07T00:00:00Z", 1796601600 },
		{ "2026-12-07T01:00:00+01:00", 1796601600 },
		{ "2026-12-06T19:00:00-05:00", 1796601600 },
		{ "2024-02-29T12:30:15Z", 1709209815 },
		{ "2000-03-01T00:00:00Z", 951868800 },
	};
	for (size_t i = 0; i < N(ok); i++) {
		uint64_t t = 1;
		assert_int_equal(schedule_parse_time(ok[i].text, &t), PW_OK);
		assert_int_equal(t, ok[i].want);
	}
	static const char *bad[] = {
		"2026-12-07T00:00:00",       /* no zone */
		"2026-12-07 00:00:00Z",      /* space */
		"2026-02-29T00:00:00Z",      /* not a leap year */
		"2026-13-01T00:00:00Z",      /* month */
		"2026-12-07T24:00:00Z",      /* hour */
		"2026-12-07T00:60:00Z",      /* minute */
		"2026-12-07T00:00:00+0100",  /* offset without colon */
		"2026-12-07T00:00:00+24:00", /* offset hour */
		"1969-12-31T23:59:59Z",      /* before 1970 */
		"1970-01-01T00:30:00+01:00", /* before 1970 once offset */
		"2026-12-07T00:00:00z",      /* lower-case zone */
		"",
	};
	for (size_t i = 0; i < N(bad); i++) {
		uint64_t t = 7;
		assert_int_equal(schedule_parse_time(bad[i], &t), PW_ERR_PARSE);
		assert_int_equal(t, 7);
	}
}

static void
test_ct(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int32_t want;
	} ok[] = {
		{ "25", 250000 },
		{ "25.1234", 251234 },
		{ "0.0001", 1 },
		{ "-3.5", -35000 },
		{ "0", 0 },
		{ "-0.0001", -1 },
		{ "214748.3647", INT32_MAX },
		{ "-214748.3648", INT32_MIN },
	};
	for (size_t i = 0; i < N(ok); i++) {
		int32_t v = 0;
		assert_int_equal(schedule_parse_ct(ok[i].text, &v), PW_OK);
		assert_int_equal(v, ok[i].want);
	}
	static const char *bad[] = { "",   "-",  "1.", ".5",  "1.23456", "1,5",
		                     "+3", " 3", "3 ", "1e3", "abc" };
	for (size_t i = 0; i < N(bad); i++) {
		int32_t v = 9;
		assert_int_equal(schedule_parse_ct(bad[i], &v), PW_ERR_PARSE);
		assert_int_equal(v, 9);
	}
	int32_t v = 9;
	assert_int_equal(schedule_parse_ct("214748.3648", &v), PW_ERR_RANGE);
	assert_int_equal(schedule_parse_ct("99999999999", &v), PW_ERR_RANGE);
	assert_int_equal(v, 9);
}

static const char GOOD[] = "# a dynamic day\r\n"
                           "from,retail_ct_kwh,feedin_ct_kwh\r\n"
                           "2026-12-07T00:00:00Z,28.5,8.2\r\n"
                           "\r\n"
                           "2026-12-07T11:00:00Z,12.0,-1.5\n"
                           "2026-12-07T13:00:00+01:00,30.0001,7\n";

static void
test_parse_and_lookup(void **state)
{
	(void)state;
	struct schedule s;
	char msg[256] = "";
	assert_int_equal(schedule_parse(GOOD, strlen(GOOD), L, &s, msg, sizeof msg), PW_OK);
	assert_int_equal(s.n_rows, 3);
	assert_int_equal(s.rows[0].from_s, 1796601600);
	assert_int_equal(s.rows[1].feedin_uper_kwh, -15000);
	assert_int_equal(s.rows[2].from_s, 1796601600 + 12 * 3600);
	assert_int_equal(s.rows[2].retail_uper_kwh, 300001);
	assert_null(schedule_at(&s, 1796601599));
	assert_ptr_equal(schedule_at(&s, 1796601600), &s.rows[0]);
	assert_ptr_equal(schedule_at(&s, 1796601600 + 11 * 3600 - 1), &s.rows[0]);
	assert_ptr_equal(schedule_at(&s, 1796601600 + 11 * 3600), &s.rows[1]);
	assert_ptr_equal(schedule_at(&s, UINT64_MAX), &s.rows[2]);
	schedule_free(&s);
	assert_null(s.rows);
}

static void
test_refusals_name_the_line(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		pw_err rc;
		const char *want; /* prefix of the message */
	} t[] = {
		{ "", PW_ERR_PARSE, "line 1: no header" },
		{ "from,retail,feedin\n2026-12-07T00:00:00Z,1,0\n", PW_ERR_PARSE,
		  "line 1: the first line" },
		{ "from,retail_ct_kwh,feedin_ct_kwh\n", PW_ERR_PARSE, "line 2: no rows" },
		{ "from,retail_ct_kwh,feedin_ct_kwh\n2026-12-07T00:00:00Z,1\n", PW_ERR_PARSE,
		  "line 2: expected 3 fields" },
		{ "from,retail_ct_kwh,feedin_ct_kwh\n2026-12-07T00:00:00Z,1,0,5\n", PW_ERR_PARSE,
		  "line 2: expected 3 fields" },
		{ "from,retail_ct_kwh,feedin_ct_kwh\n2026-12-07 00:00,1,0\n", PW_ERR_PARSE,
		  "line 2: from '2026-12-07 00:00' is not an ISO 8601" },
		{ "from,retail_ct_kwh,feedin_ct_kwh\n2026-12-07T00:05:00Z,1,0\n", PW_ERR_PARSE,
		  "line 2: from 2026-12-07T00:05:00Z is not on an interval boundary" },
		{ "from,retail_ct_kwh,feedin_ct_kwh\n2026-12-07T00:00:00Z,1.23456,0\n",
		  PW_ERR_PARSE, "line 2: retail_ct_kwh '1.23456'" },
		{ "from,retail_ct_kwh,feedin_ct_kwh\n2026-12-07T00:00:00Z,1,x\n", PW_ERR_PARSE,
		  "line 2: feedin_ct_kwh 'x'" },
		{ "from,retail_ct_kwh,feedin_ct_kwh\n2026-12-07T00:00:00Z,5,6\n", PW_ERR_RANGE,
		  "line 2: retail 5.0000 ct/kWh is below feed-in 6.0000 ct/kWh" },
		{ "from,retail_ct_kwh,feedin_ct_kwh\n2026-12-07T00:00:00Z,5,-6\n"
		  "# comment\n2026-12-07T00:00:00Z,5,1\n",
		  PW_ERR_PARSE, "line 4: overlaps line 2" },
		{ "from,retail_ct_kwh,feedin_ct_kwh\n2026-12-07T01:00:00Z,5,1\n"
		  "2026-12-07T00:00:00Z,5,1\n",
		  PW_ERR_PARSE, "line 3: not in time order" },
	};
	for (size_t i = 0; i < N(t); i++) {
		struct schedule s = { .rows = (void *)&s, .n_rows = 77 };
		char msg[256] = "";
		assert_int_equal(
		    schedule_parse(t[i].text, strlen(t[i].text), L, &s, msg, sizeof msg), t[i].rc);
		if (strncmp(msg, t[i].want, strlen(t[i].want)) != 0)
			fail_msg("case %zu: message '%s', expected '%s...'", i, msg, t[i].want);
		assert_int_equal(s.n_rows, 77); /* untouched */
	}
	/* a long line */
	char big[600];
	snprintf(big, sizeof big, "from,retail_ct_kwh,feedin_ct_kwh\n%0400d\n", 1);
	struct schedule s;
	char msg[256] = "";
	assert_int_equal(schedule_parse(big, strlen(big), L, &s, msg, sizeof msg), PW_ERR_PARSE);
	assert_string_equal(msg, "line 2: longer than 256 characters");
	/* a NUL byte inside a line */
	static const char nul[] = "from,retail_ct_kwh,feedin_ct_kwh\n2026-12-07T00:00:00Z,1\0,0\n";
	assert_int_equal(schedule_parse(nul, sizeof nul - 1, L, &s, msg, sizeof msg), PW_ERR_PARSE);
	assert_string_equal(msg, "line 2: holds a NUL byte");
}

static void
test_row_limit(void **state)
{
	(void)state;
	size_t cap = 64 + (size_t)(SCHEDULE_MAX_ROWS + 1) * 40;
	char *buf = malloc(cap);
	assert_non_null(buf);
	size_t n = (size_t)snprintf(buf, cap, "%s\n", SCHEDULE_HEADER);
	for (unsigned i = 0; i <= SCHEDULE_MAX_ROWS; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s,2,1\n", "1970-01-01T00:00:00Z");
	/* all rows at one time: refused at line 3 as an overlap, before the limit */
	struct schedule s;
	char msg[256] = "";
	assert_int_equal(schedule_parse(buf, n, L, &s, msg, sizeof msg), PW_ERR_PARSE);
	assert_string_equal(msg, "line 3: overlaps line 2 (both start at 1970-01-01T00:00:00Z)");
	/* distinct times: the limit */
	n = (size_t)snprintf(buf, cap, "%s\n", SCHEDULE_HEADER);
	for (unsigned i = 0; i <= SCHEDULE_MAX_ROWS; i++) {
		uint64_t t = (uint64_t)i * L;
		char ts[32];
		time_t tt = (time_t)t;
		struct tm tm;
		gmtime_r(&tt, &tm);
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
		n += (size_t)snprintf(buf + n, cap - n, "%s,2,1\n", ts);
	}
	assert_int_equal(schedule_parse(buf, n, L, &s, msg, sizeof msg), PW_ERR_FULL);
	char want[64];
	snprintf(want, sizeof want, "line %d: more than %d rows", SCHEDULE_MAX_ROWS + 2,
	         SCHEDULE_MAX_ROWS);
	assert_string_equal(msg, want);
	free(buf);
}

static struct schedule
parse(const char *text)
{
	struct schedule s;
	char msg[256] = "";
	if (schedule_parse(text, strlen(text), L, &s, msg, sizeof msg) != PW_OK)
		fail_msg("parse: %s", msg);
	return s;
}

static void
test_append_only_after_frozen(void **state)
{
	(void)state;
	struct schedule cur = parse("from,retail_ct_kwh,feedin_ct_kwh\n"
	                            "2026-12-07T00:00:00Z,28,8\n"
	                            "2026-12-07T12:00:00Z,12,-1\n");
	/* appending a later row is fine */
	struct schedule more = parse("from,retail_ct_kwh,feedin_ct_kwh\n"
	                             "2026-12-07T00:00:00Z,28,8\n"
	                             "2026-12-07T12:00:00Z,12,-1\n"
	                             "2026-12-08T00:00:00Z,30,9\n");
	/* changing the noon row: fine only when noon is not yet frozen */
	struct schedule noon = parse("from,retail_ct_kwh,feedin_ct_kwh\n"
	                             "2026-12-07T00:00:00Z,28,8\n"
	                             "2026-12-07T12:00:00Z,13,-1\n");
	/* inserting a row at 06:00 changes 06:00 .. 12:00 */
	struct schedule ins = parse("from,retail_ct_kwh,feedin_ct_kwh\n"
	                            "2026-12-07T00:00:00Z,28,8\n"
	                            "2026-12-07T06:00:00Z,20,8\n"
	                            "2026-12-07T12:00:00Z,12,-1\n");
	/* a new first row earlier than the old one changes what was "no tariff" */
	struct schedule early = parse("from,retail_ct_kwh,feedin_ct_kwh\n"
	                              "2026-12-06T00:00:00Z,28,8\n"
	                              "2026-12-07T12:00:00Z,12,-1\n");
	const uint64_t t0 = 1796601600; /* 2026-12-07T00:00:00Z */
	char msg[320] = "";
	assert_int_equal(schedule_check_append(&cur, &more, t0 + 86400, msg, sizeof msg), PW_OK);
	assert_int_equal(schedule_check_append(&cur, &noon, t0 + 12 * 3600, msg, sizeof msg),
	                 PW_OK);
	assert_int_equal(schedule_check_append(&cur, &noon, t0 + 12 * 3600 + 1, msg, sizeof msg),
	                 PW_ERR_STATE);
	assert_non_null(strstr(msg, "changes the tariffs from 2026-12-07T12:00:00Z, before "
	                            "2026-12-07T12:00:01Z"));
	assert_int_equal(schedule_check_append(&cur, &ins, t0 + 6 * 3600, msg, sizeof msg), PW_OK);
	assert_int_equal(schedule_check_append(&cur, &ins, t0 + 7 * 3600, msg, sizeof msg),
	                 PW_ERR_STATE);
	assert_non_null(strstr(msg, "from 2026-12-07T06:00:00Z"));
	assert_int_equal(schedule_check_append(&cur, &early, t0, msg, sizeof msg), PW_ERR_STATE);
	assert_non_null(strstr(msg, "from 2026-12-06T00:00:00Z"));
	/* identical: always fine */
	assert_int_equal(schedule_check_append(&cur, &cur, UINT64_MAX, msg, sizeof msg), PW_OK);
	schedule_free(&cur);
	schedule_free(&more);
	schedule_free(&noon);
	schedule_free(&ins);
	schedule_free(&early);
}

static void
test_load(void **state)
{
	(void)state;
	char path[] = "/tmp/pw-schedule-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, GOOD, strlen(GOOD)), (ssize_t)strlen(GOOD));
	close(fd);
	struct schedule s;
	char msg[512] = "";
	assert_int_equal(schedule_load(path, L, &s, msg, sizeof msg), PW_OK);
	assert_int_equal(s.n_rows, 3);
	schedule_free(&s);
	/* an interval that the times do not fit: the path and line are named */
	assert_int_equal(schedule_load(path, 7 * 3600, &s, msg, sizeof msg), PW_ERR_PARSE);
	assert_non_null(strstr(msg, path));
	assert_non_null(strstr(msg, ": line 3: from 2026-12-07T00:00:00Z is not on an interval"));
	unlink(path);
	assert_int_equal(schedule_load(path, L, &s, msg, sizeof msg), PW_ERR_NOTFOUND);
	assert_non_null(strstr(msg, path));
}

#define FH FEE_SCHEDULE_HEADER "\n"

static void
test_fee_parse_and_lookup(void **state)
{
	(void)state;
	static const char text[] = "# grid fees, ct/kWh\n" FH "2026-12-07T00:00:00Z,=,=,1\n"
	                           "2026-12-07T00:00:00Z,*,*,2.5\n"
	                           "2026-12-07T00:00:00Z,south,north,1.5\n"
	                           "2026-12-07T00:00:00Z,east,east,0.25\n"
	                           "\n2026-12-07T06:00:00Z,*,*,3\n";
	struct fee_schedule f;
	char msg[256] = "";
	assert_int_equal(fee_schedule_parse(text, strlen(text), L, &f, msg, sizeof msg), PW_OK);
	assert_int_equal(f.n_tables, 2);
	const struct fee_table *t = &f.tables[0];
	assert_int_equal(t->line, 3);
	assert_true(t->has_same && t->has_default);
	assert_int_equal(t->same_zone_uper_kwh, 10000);
	assert_int_equal(t->default_uper_kwh, 25000);
	assert_int_equal(t->n_pairs, 2);
	assert_string_equal(f.pairs[t->first].zone_a, "south");
	assert_string_equal(f.pairs[t->first].zone_b, "north");
	assert_int_equal(f.pairs[t->first].fee_uper_kwh, 15000);
	assert_int_equal(f.pairs[t->first + 1].fee_uper_kwh, 2500);
	t = &f.tables[1];
	assert_int_equal(t->line, 8);
	assert_false(t->has_same);
	assert_true(t->has_default);
	assert_int_equal(t->n_pairs, 0);
	uint64_t t0;
	assert_int_equal(schedule_parse_time("2026-12-07T00:00:00Z", &t0), PW_OK);
	assert_null(fee_schedule_at(&f, t0 - 1));
	assert_ptr_equal(fee_schedule_at(&f, t0), &f.tables[0]);
	assert_ptr_equal(fee_schedule_at(&f, t0 + 6 * 3600 - 1), &f.tables[0]);
	assert_ptr_equal(fee_schedule_at(&f, t0 + 6 * 3600), &f.tables[1]);
	assert_ptr_equal(fee_schedule_at(&f, UINT64_MAX), &f.tables[1]);
	fee_schedule_free(&f);
	assert_null(f.tables);
}

static void
test_fee_refusals_name_the_line(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		pw_err rc;
		const char *want;
	} t[] = {
		{ "", PW_ERR_PARSE, "line 1: no header" },
		{ "from,retail_ct_kwh,feedin_ct_kwh\n", PW_ERR_PARSE, "line 1: the first line" },
		{ FH, PW_ERR_PARSE, "line 2: no rows" },
		{ FH "2026-12-07T00:00:00Z,a,b\n", PW_ERR_PARSE, "line 2: expected 4 fields" },
		{ FH "2026-12-07T00:00:00Z,a,b,1,2\n", PW_ERR_PARSE, "line 2: expected 4 fields" },
		{ FH "yesterday,a,b,1\n", PW_ERR_PARSE, "line 2: from 'yesterday' is not an ISO" },
		{ FH "2026-12-07T00:07:00Z,a,b,1\n", PW_ERR_PARSE,
		  "line 2: from 2026-12-07T00:07:00Z is not on an interval boundary" },
		{ FH "2026-12-07T00:00:00Z,a,b,-1\n", PW_ERR_RANGE,
		  "line 2: fee_ct_kwh '-1' is not a fee" },
		{ FH "2026-12-07T00:00:00Z,a,b,-0\n", PW_ERR_RANGE,
		  "line 2: fee_ct_kwh '-0' is not a fee" },
		{ FH "2026-12-07T00:00:00Z,a,b,0.12345\n", PW_ERR_PARSE,
		  "line 2: fee_ct_kwh '0.12345' is not a fee" },
		{ FH "2026-12-07T00:00:00Z,a b,c,1\n", PW_ERR_PARSE,
		  "line 2: zones 'a b','c' are not two zone names" },
		{ FH "2026-12-07T00:00:00Z,=,a,1\n", PW_ERR_PARSE,
		  "line 2: zones '=','a' are not two zone names" },
		{ FH "2026-12-07T00:00:00Z,*,=,1\n", PW_ERR_PARSE,
		  "line 2: zones '*','=' are not two zone names" },
		{ FH "2026-12-07T00:00:00Z,a,b,1\n2026-12-07T00:00:00Z,b,a,2\n", PW_ERR_PARSE,
		  "line 3: zones b/a are given twice in the table from line 2" },
		{ FH "2026-12-07T00:00:00Z,=,=,1\n2026-12-07T00:00:00Z,=,=,1\n", PW_ERR_PARSE,
		  "line 3: the same-zone (=,=) fee is given twice in the table from line 2" },
		{ FH "2026-12-07T00:00:00Z,*,*,1\n# c\n2026-12-07T00:00:00Z,*,*,1\n", PW_ERR_PARSE,
		  "line 4: the default (*,*) fee is given twice in the table from line 2" },
		{ FH "2026-12-07T01:00:00Z,a,b,1\n2026-12-07T00:00:00Z,a,b,1\n", PW_ERR_PARSE,
		  "line 3: not in time order (2026-12-07T00:00:00Z is before the table from "
		  "line 2)" },
		/* a table's rows one after the other: going back to it is refused */
		{ FH "2026-12-07T00:00:00Z,a,b,1\n2026-12-07T01:00:00Z,a,b,1\n"
		     "2026-12-07T00:00:00Z,c,d,1\n",
		  PW_ERR_PARSE, "line 4: not in time order" },
	};
	for (size_t i = 0; i < N(t); i++) {
		struct fee_schedule f = { .n_tables = 77 };
		char msg[256] = "";
		assert_int_equal(
		    fee_schedule_parse(t[i].text, strlen(t[i].text), L, &f, msg, sizeof msg),
		    t[i].rc);
		if (strncmp(msg, t[i].want, strlen(t[i].want)) != 0)
			fail_msg("case %zu: message '%s', expected '%s...'", i, msg, t[i].want);
		assert_int_equal(f.n_tables, 77); /* untouched */
	}
	/* more than 64 pairs in one table */
	char *buf = malloc(16384);
	assert_non_null(buf);
	size_t n = (size_t)snprintf(buf, 16384, "%s", FH);
	for (int i = 0; i <= FEE_SCHEDULE_MAX_PAIRS; i++)
		n += (size_t)snprintf(buf + n, 16384 - n, "2026-12-07T00:00:00Z,z%d,y,1\n", i);
	struct fee_schedule f;
	char msg[256] = "";
	assert_int_equal(fee_schedule_parse(buf, n, L, &f, msg, sizeof msg), PW_ERR_FULL);
	assert_string_equal(msg, "line 66: more than 64 zone pairs in the table from line 2");
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_ct),
		cmocka_unit_test(test_parse_and_lookup),
		cmocka_unit_test(test_refusals_name_the_line),
		cmocka_unit_test(test_row_limit),
		cmocka_unit_test(test_append_only_after_frozen),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_fee_parse_and_lookup),
		cmocka_unit_test(test_fee_refusals_name_the_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
