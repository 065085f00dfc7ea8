/* test_config.c: the typed option table, every error message, all-or-nothing
 * loading and the extra handler; plus pw_parse_i64. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "peerwatt/config.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct conf {
	int64_t interval_s;
	int64_t gate_s;
	int64_t retail_u;
	int debug;
	char name[16];
	char db[64];
	uint8_t key[32];
	int untouched; /* not in the table: must survive every load */
};

#define OPT(sec, nm, ty, fld, lo, hi, def)                                                         \
	{                                                                                          \
		sec, nm, ty, offsetof(struct conf, fld), sizeof(((struct conf *)0)->fld), lo, hi,  \
		    def, ""                                                                        \
	}

static const struct pw_cfg_opt opts[] = {
	OPT("", "name", PW_CFG_STR, name, 0, 0, NULL),
	OPT("market", "interval_s", PW_CFG_INT, interval_s, 1, 86400, "900"),
	OPT("market", "gate_s", PW_CFG_INT, gate_s, 0, 3600, "60"),
	OPT("market", "retail", PW_CFG_MONEY, retail_u, 0, 10000000, "0.30"),
	OPT("log", "debug", PW_CFG_BOOL, debug, 0, 0, "no"),
	OPT("store", "db", PW_CFG_STR, db, 0, 0, ""),
	OPT("store", "key", PW_CFG_KEY, key, 0, 0,
	    "0000000000000000000000000000000000000000000000000000000000000000"),
};

static const char KEYHEX[] = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";

static struct conf
sentinel(void)
{
	struct conf c;
	memset(&c, 0x5a, sizeof c);
	c.untouched = 4242;
	return c;
}

static pw_err
load(const char *text, struct conf *c, char *err)
{
	return pw_config_load_buffer("t.conf", text, strlen(text), opts, N(opts), c, sizeof *c,
	                             NULL, NULL, NULL, err, PW_CFG_ERRLEN);
}

static void
test_defaults_and_values(void **state)
{
	(void)state;
	struct conf c = sentinel();
	char err[PW_CFG_ERRLEN];
	assert_int_equal(load("name = home\n", &c, err), PW_OK);
	assert_string_equal(err, "");
	assert_string_equal(c.name, "home");
	assert_true(c.interval_s == 900 && c.gate_s == 60 && c.retail_u == 300000);
	assert_int_equal(c.debug, 0);
	assert_string_equal(c.db, "");
	for (size_t i = 0; i < 32; i++)
		assert_int_equal(c.key[i], 0);
	assert_int_equal(c.untouched, 4242);

	c = sentinel();
	char text[1024];
	snprintf(text, sizeof text,
	         "; comment\n# another\nname = x ; inline comment\n\n[market]\n  interval_s = 5\r\n"
	         "gate_s=0\nretail = 0.251234\n[log]\ndebug = on\n[store]\ndb = /var/lib/pw.db\n"
	         "key = %s\n",
	         KEYHEX);
	assert_int_equal(load(text, &c, err), PW_OK);
	assert_string_equal(c.name, "x");
	assert_true(c.interval_s == 5 && c.gate_s == 0 && c.retail_u == 251234);
	assert_int_equal(c.debug, 1);
	assert_string_equal(c.db, "/var/lib/pw.db");
	assert_int_equal(c.key[0], 0x00);
	assert_int_equal(c.key[1], 0x11);
	assert_int_equal(c.key[15], 0xff);
	assert_int_equal(c.key[31], 0xff);
	assert_int_equal(c.untouched, 4242);
}

/* `lines`: where each option was given (for the callers' checks across
 * keys), 0 for a default; left alone when loading fails. */
static void
test_lines(void **state)
{
	(void)state;
	static const char text[] = "; comment\nname = x\n\n[market]\n  gate_s = 5\n[log]\n"
	                           "debug = on\n[market]\ninterval_s = 10\n";
	int lines[N(opts)];
	struct conf c = sentinel();
	char err[PW_CFG_ERRLEN];
	memset(lines, 0x7f, sizeof lines);
	assert_int_equal(pw_config_load_buffer("t.conf", text, strlen(text), opts, N(opts), &c,
	                                       sizeof c, NULL, NULL, lines, err, sizeof err),
	                 PW_OK);
	int want[N(opts)] = { 2, 9, 5, 0, 7, 0, 0 }; /* name interval gate retail debug db key */
	for (size_t i = 0; i < N(opts); i++)
		assert_int_equal(lines[i], want[i]);
	assert_int_equal(pw_config_line(opts, N(opts), lines, "market", "interval_s"), 9);
	assert_int_equal(pw_config_line(opts, N(opts), lines, "market", "retail"), 0);
	assert_int_equal(pw_config_line(opts, N(opts), lines, "log", "interval_s"), 0);
	memset(lines, 0x7f, sizeof lines);
	static const char bad[] = "name = x\ngate_s = 1\n"; /* gate_s outside [market] */
	assert_int_equal(pw_config_load_buffer("t.conf", bad, strlen(bad), opts, N(opts), &c,
	                                       sizeof c, NULL, NULL, lines, err, sizeof err),
	                 PW_ERR_CONFIG);
	assert_int_equal(lines[0], 0x7f7f7f7f);
}

static void
test_bool_spellings(void **state)
{
	(void)state;
	static const struct {
		const char *v;
		int want;
	} t[] = { { "yes", 1 }, { "true", 1 },  { "on", 1 },  { "1", 1 },
		  { "no", 0 },  { "false", 0 }, { "off", 0 }, { "0", 0 } };
	for (size_t i = 0; i < N(t); i++) {
		struct conf c = sentinel();
		char text[128], err[PW_CFG_ERRLEN];
		snprintf(text, sizeof text, "name=a\n[log]\ndebug = %s\n", t[i].v);
		assert_int_equal(load(text, &c, err), PW_OK);
		assert_int_equal(c.debug, t[i].want);
	}
}

/* Every error: the exact "file:line: message", and the target unchanged. */
static void
test_every_error(void **state)
{
	(void)state;
	char longline[300];
	memset(longline, 'a', sizeof longline);
	memcpy(longline, "name = ", 7);
	longline[7 + 191] = '\0'; /* 198 characters: one too many */
	char okline[300];
	memcpy(okline, longline, sizeof okline);
	okline[7 + 190] = '\0'; /* 197: accepted by the reader, too long for name */

	static char nul[] = "name = a\n[market]\ngate_s = 1\0\n";
	const struct {
		const char *text;
		pw_err rc;
		const char *want;
	} t[] = {
		{ "", PW_ERR_CONFIG, "t.conf:0: missing required key name in []" },
		{ "[market]\ninterval_s = 5\n", PW_ERR_CONFIG,
		  "t.conf:0: missing required key name in []" },
		{ "name = a\n[market]\ninterval_s = 0\n", PW_ERR_CONFIG,
		  "t.conf:3: interval_s: '0' is out of range; allowed: integer in [1, 86400]" },
		{ "name = a\n[market]\ninterval_s = 86401\n", PW_ERR_CONFIG,
		  "t.conf:3: interval_s: '86401' is out of range; allowed: integer in [1, 86400]" },
		{ "name = a\n[market]\ninterval_s = 99999999999999999999\n", PW_ERR_CONFIG,
		  "t.conf:3: interval_s: '99999999999999999999' is out of range; allowed: integer "
		  "in "
		  "[1, 86400]" },
		{ "name = a\n[market]\ninterval_s = 5s\n", PW_ERR_CONFIG,
		  "t.conf:3: interval_s: '5s' is not an integer; allowed: integer in [1, 86400]" },
		{ "name = a\n[market]\ninterval_s = 0x10\n", PW_ERR_CONFIG,
		  "t.conf:3: interval_s: '0x10' is not an integer; allowed: integer in [1, "
		  "86400]" },
		{ "name = a\n[market]\ninterval_s =\n", PW_ERR_CONFIG,
		  "t.conf:3: interval_s: '' is not an integer; allowed: integer in [1, 86400]" },
		{ "name = a\n[market]\nretail = 10.000001\n", PW_ERR_CONFIG,
		  "t.conf:3: retail: '10.000001' is out of range; allowed: decimal amount (at most "
		  "6 "
		  "decimals) in [0.000000, 10.000000]" },
		{ "name = a\n[market]\nretail = -0.1\n", PW_ERR_CONFIG,
		  "t.conf:3: retail: '-0.1' is out of range; allowed: decimal amount (at most 6 "
		  "decimals) in [0.000000, 10.000000]" },
		{ "name = a\n[market]\nretail = 0.1234567\n", PW_ERR_CONFIG,
		  "t.conf:3: retail: '0.1234567' is not an amount; allowed: decimal amount (at "
		  "most 6 "
		  "decimals) in [0.000000, 10.000000]" },
		{ "name = a\n[log]\ndebug = maybe\n", PW_ERR_CONFIG,
		  "t.conf:3: debug: 'maybe' is not a boolean; allowed: "
		  "yes/no/true/false/on/off/1/0" },
		{ "name =\n", PW_ERR_CONFIG,
		  "t.conf:1: name: empty value; allowed: 1 to 15 characters" },
		{ "name = 0123456789abcdef\n", PW_ERR_CONFIG,
		  "t.conf:1: name: value too long; allowed: 1 to 15 characters" },
		{ "name = a\n[store]\nkey = 00\n", PW_ERR_CONFIG,
		  "t.conf:3: key: not a key; allowed: exactly 64 hex digits (32 bytes)" },
		{ "name = a\n[store]\nkey = "
		  "g0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
		  PW_ERR_CONFIG,
		  "t.conf:3: key: not a key; allowed: exactly 64 hex digits (32 bytes)" },
		{ "name = a\n[market]\nbogus = 1\n", PW_ERR_CONFIG,
		  "t.conf:3: unknown key bogus in [market]" },
		{ "name = a\n\n[nope]\nx = 1\n", PW_ERR_CONFIG,
		  "t.conf:3: unknown section [nope]" },
		{ "name = a\n[nope]\n", PW_ERR_CONFIG, "t.conf:2: unknown section [nope]" },
		{ "name = a\n[market]\ngate_s = 1\ngate_s = 2\n", PW_ERR_CONFIG,
		  "t.conf:4: gate_s: given twice in [market]" },
		{ "name = a\nname = b\n", PW_ERR_CONFIG, "t.conf:2: name: given twice in []" },
		{ "name = a\n[market\n", PW_ERR_CONFIG,
		  "t.conf:2: syntax error; expected [section], key = value or a ; comment" },
		{ "name = a\njust words\n", PW_ERR_CONFIG,
		  "t.conf:2: syntax error; expected [section], key = value or a ; comment" },
		/* the first error wins, whatever its kind */
		{ "name = a\nwords\n[market]\ngate_s = -1\n", PW_ERR_CONFIG,
		  "t.conf:2: syntax error; expected [section], key = value or a ; comment" },
		{ "name = a\n[market]\ngate_s = -1\nwords\n", PW_ERR_CONFIG,
		  "t.conf:3: gate_s: '-1' is out of range; allowed: integer in [0, 3600]" },
		{ "name = a\n[market]\ngate_s = 1\x01\n", PW_ERR_CONFIG,
		  "t.conf:3: control character 0x01 in line" },
		{ longline, PW_ERR_CONFIG, "t.conf:1: line longer than 197 characters" },
		{ okline, PW_ERR_CONFIG,
		  "t.conf:1: name: value too long; allowed: 1 to 15 characters" },
	};
	for (size_t i = 0; i < N(t); i++) {
		struct conf c = sentinel(), before = c;
		char err[PW_CFG_ERRLEN];
		pw_err rc = load(t[i].text, &c, err);
		if (rc != t[i].rc || strcmp(err, t[i].want) != 0)
			fail_msg("case %zu: rc %d, err '%s', want '%s'", i, rc, err, t[i].want);
		assert_memory_equal(&c, &before, sizeof c);
	}
	/* a NUL byte inside the buffer */
	struct conf c = sentinel(), before = c;
	char err[PW_CFG_ERRLEN];
	assert_int_equal(pw_config_load_buffer("t.conf", nul, sizeof nul - 1, opts, N(opts), &c,
	                                       sizeof c, NULL, NULL, NULL, err, sizeof err),
	                 PW_ERR_CONFIG);
	assert_string_equal(err, "t.conf:3: control character 0x00 in line");
	assert_memory_equal(&c, &before, sizeof c);
}

/* An indented line is a key of its own, never the continuation of a value. */
static void
test_no_continuation_lines(void **state)
{
	(void)state;
	struct conf c = sentinel();
	char err[PW_CFG_ERRLEN];
	assert_int_equal(load("name = a\n[market]\ngate_s = 1\n  interval_s = 7\n", &c, err),
	                 PW_OK);
	assert_true(c.gate_s == 1 && c.interval_s == 7);
	assert_int_equal(load("name = a\n[market]\ngate_s = 1\n  2\n", &c, err), PW_ERR_CONFIG);
	assert_string_equal(err, "t.conf:4: syntax error; expected [section], key = value or a ; "
	                         "comment");
}

/* The extra handler: repeated entries accepted, its message used, scratch copy. */
struct extra_ctx {
	int calls;
	int64_t fees[4];
	int fee_lines[4];
	int nfees;
};

static pw_err
extra_fees(void *vctx, void *target, const char *section, const char *name, const char *value,
           int line, char *msg, size_t msglen)
{
	struct extra_ctx *x = vctx;
	struct conf *c = target;
	x->calls++;
	if (strcmp(section, "fees") != 0)
		return PW_ERR_CONFIG; /* no message: the loader names the key */
	if (strcmp(name, "fee") != 0) {
		snprintf(msg, msglen, "%s: only 'fee' lines belong in [fees]", name);
		return PW_ERR_CONFIG;
	}
	if (x->nfees >= 4) {
		snprintf(msg, msglen, "fee: at most 4 entries");
		return PW_ERR_FULL;
	}
	int64_t v;
	if (pw_parse_i64(value, 0, 1000, &v) != PW_OK) {
		snprintf(msg, msglen, "fee: '%s' is not in [0, 1000]", value);
		return PW_ERR_CONFIG;
	}
	x->fee_lines[x->nfees] = line;
	x->fees[x->nfees++] = v;
	c->gate_s = 99; /* writes go to the scratch copy */
	return PW_OK;
}

static void
test_extra_handler(void **state)
{
	(void)state;
	static const char good[] = "name = a\n[fees]\nfee = 1\nfee = 2\nfee = 3\n";
	struct extra_ctx x = { 0 };
	struct conf c = sentinel();
	char err[PW_CFG_ERRLEN];
	assert_int_equal(pw_config_load_buffer("t.conf", good, strlen(good), opts, N(opts), &c,
	                                       sizeof c, extra_fees, &x, NULL, err, sizeof err),
	                 PW_OK);
	assert_int_equal(x.nfees, 3);
	assert_true(x.fees[0] == 1 && x.fees[2] == 3);
	assert_true(x.fee_lines[0] == 3 && x.fee_lines[2] == 5); /* each key's own line */
	assert_true(c.gate_s == 99);
	/* an empty unknown section is the handler's business when it exists */
	static const struct {
		const char *text;
		const char *want;
	} t[] = {
		{ "name = a\n[fees]\nfee = 1\nfee = 2000\n",
		  "t.conf:4: fee: '2000' is not in [0, 1000]" },
		{ "name = a\n[fees]\nrate = 1\n",
		  "t.conf:3: rate: only 'fee' lines belong in [fees]" },
		{ "name = a\n[fees]\nfee=1\nfee=1\nfee=1\nfee=1\nfee=1\n",
		  "t.conf:7: fee: at most 4 entries" },
		{ "name = a\n[other]\nz = 1\n", "t.conf:3: unknown section [other] (key z)" },
		{ "name = a\n[market]\nz = 1\n", "t.conf:3: unknown key z in [market]" },
	};
	for (size_t i = 0; i < N(t); i++) {
		struct extra_ctx y = { 0 };
		struct conf d = sentinel(), before = d;
		pw_err rc =
		    pw_config_load_buffer("t.conf", t[i].text, strlen(t[i].text), opts, N(opts), &d,
		                          sizeof d, extra_fees, &y, NULL, err, sizeof err);
		assert_int_equal(rc, PW_ERR_CONFIG);
		if (strcmp(err, t[i].want) != 0)
			fail_msg("case %zu: '%s' want '%s'", i, err, t[i].want);
		assert_memory_equal(&d, &before, sizeof d);
		assert_true(y.calls > 0);
	}
}

static void
test_bad_tables_and_arguments(void **state)
{
	(void)state;
	struct conf c = sentinel();
	char err[PW_CFG_ERRLEN];
	struct pw_cfg_opt bad[] = { OPT("", "name", PW_CFG_STR, name, 0, 0, NULL) };
	bad[0].size = sizeof c.name + sizeof c; /* runs past the struct */
	assert_int_equal(pw_config_load_buffer("t", "", 0, bad, 1, &c, sizeof c, NULL, NULL, NULL,
	                                       err, sizeof err),
	                 PW_ERR_ARG);
	struct pw_cfg_opt badint[] = { OPT("", "x", PW_CFG_INT, debug, 0, 1, "0") };
	assert_int_equal(pw_config_load_buffer("t", "", 0, badint, 1, &c, sizeof c, NULL, NULL,
	                                       NULL, err, sizeof err),
	                 PW_ERR_ARG); /* int, not int64_t */
	struct pw_cfg_opt baddef[] = { OPT("", "x", PW_CFG_INT, gate_s, 0, 1, "7") };
	assert_int_equal(pw_config_load_buffer("t", "", 0, baddef, 1, &c, sizeof c, NULL, NULL,
	                                       NULL, err, sizeof err),
	                 PW_ERR_ARG);
	assert_string_equal(err, "config: bad default: x: '7' is out of range; allowed: integer "
	                         "in [0, 1]");
	assert_int_equal(pw_config_load_buffer(NULL, "", 0, opts, N(opts), &c, sizeof c, NULL, NULL,
	                                       NULL, err, sizeof err),
	                 PW_ERR_ARG);
	struct conf before = sentinel();
	assert_memory_equal(&c, &before, sizeof c);
	/* too big */
	size_t big = PW_CFG_MAX_FILE + 1;
	char *buf = calloc(1, big);
	assert_non_null(buf);
	assert_int_equal(pw_config_load_buffer("t", buf, big, opts, N(opts), &c, sizeof c, NULL,
	                                       NULL, NULL, err, sizeof err),
	                 PW_ERR_CONFIG);
	free(buf);
	/* a NULL error buffer is allowed */
	assert_int_equal(pw_config_load_buffer("t", "x", 1, opts, N(opts), &c, sizeof c, NULL, NULL,
	                                       NULL, NULL, 0),
	                 PW_ERR_CONFIG);
}

static void
test_files(void **state)
{
	(void)state;
	char dir[] = "/tmp/pwcfgXXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128], err[PW_CFG_ERRLEN];
	snprintf(path, sizeof path, "%s/a.conf", dir);
	struct conf c = sentinel();

	assert_int_equal(
	    pw_config_load(path, opts, N(opts), &c, sizeof c, NULL, NULL, NULL, err, sizeof err),
	    PW_ERR_NOTFOUND);
	char want[256];
	snprintf(want, sizeof want, "%s:0: cannot open: No such file or directory", path);
	assert_string_equal(err, want);

	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("name = file\n[market]\ninterval_s = 3\ngate_s = 4000\n", f);
	fclose(f);
	assert_int_equal(
	    pw_config_load(path, opts, N(opts), &c, sizeof c, NULL, NULL, NULL, err, sizeof err),
	    PW_ERR_CONFIG);
	snprintf(want, sizeof want,
	         "%s:4: gate_s: '4000' is out of range; allowed: integer in [0, 3600]", path);
	assert_string_equal(err, want);

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("name = file\n[market]\ninterval_s = 3\n", f);
	fclose(f);
	assert_int_equal(
	    pw_config_load(path, opts, N(opts), &c, sizeof c, NULL, NULL, NULL, err, sizeof err),
	    PW_OK);
	assert_string_equal(c.name, "file");
	assert_true(c.interval_s == 3);

	/* a directory is not a config file */
	assert_int_equal(
	    pw_config_load(dir, opts, N(opts), &c, sizeof c, NULL, NULL, NULL, err, sizeof err),
	    PW_ERR_IO);
	unlink(path);
	rmdir(dir);
}

static void
test_parse_i64(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int64_t min, max;
		pw_err rc;
		int64_t want;
	} t[] = {
		{ "0", 0, 10, PW_OK, 0 },
		{ "10", 0, 10, PW_OK, 10 },
		{ "11", 0, 10, PW_ERR_RANGE, 0 },
		{ "-1", 0, 10, PW_ERR_RANGE, 0 },
		{ "-1", -5, 10, PW_OK, -1 },
		{ "+7", 0, 10, PW_OK, 7 },
		{ "9223372036854775807", INT64_MIN, INT64_MAX, PW_OK, INT64_MAX },
		{ "-9223372036854775808", INT64_MIN, INT64_MAX, PW_OK, INT64_MIN },
		{ "9223372036854775808", INT64_MIN, INT64_MAX, PW_ERR_RANGE, 0 },
		{ "-9223372036854775809", INT64_MIN, INT64_MAX, PW_ERR_RANGE, 0 },
		{ "", 0, 10, PW_ERR_PARSE, 0 },
		{ " 1", 0, 10, PW_ERR_PARSE, 0 },
		{ "1 ", 0, 10, PW_ERR_PARSE, 0 },
		{ "1a", 0, 10, PW_ERR_PARSE, 0 },
		{ "0x1", 0, 10, PW_ERR_PARSE, 0 },
		{ "-", 0, 10, PW_ERR_PARSE, 0 },
		{ "+-1", -10, 10, PW_ERR_PARSE, 0 },
		{ "1.0", 0, 10, PW_ERR_PARSE, 0 },
	};
	for (size_t i = 0; i < N(t); i++) {
		int64_t out = 77;
		pw_err rc = pw_parse_i64(t[i].s, t[i].min, t[i].max, &out);
		if (rc != t[i].rc)
			fail_msg("'%s': rc %d want %d", t[i].s, rc, t[i].rc);
		assert_true(out == (rc == PW_OK ? t[i].want : 77));
	}
	int64_t out;
	assert_int_equal(pw_parse_i64(NULL, 0, 1, &out), PW_ERR_ARG);
	assert_int_equal(pw_parse_i64("1", 0, 1, NULL), PW_ERR_ARG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_values),
		cmocka_unit_test(test_bool_spellings),
		cmocka_unit_test(test_every_error),
		cmocka_unit_test(test_no_continuation_lines),
		cmocka_unit_test(test_extra_handler),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_bad_tables_and_arguments),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_parse_i64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
