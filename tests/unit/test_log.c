/* test_log.c: priority prefixes, level filtering, errno suffix, long lines,
 * rate-limited lines with their counts. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "peerwatt/log.h"

/* Run `fn` with stderr sent to a temp file; return what it wrote. */
static char *
capture(void (*fn)(void))
{
	char path[] = "/tmp/pwlogXXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	int saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	fn();
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	off_t len = lseek(fd, 0, SEEK_END);
	assert_true(len >= 0);
	char *buf = calloc(1, (size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, (size_t)len, 0), len);
	close(fd);
	return buf;
}

static void
emit_all(void)
{
	log_error("e %d", 1);
	log_warnx("w %s", "x");
	log_info("i");
	log_debug("d");
}

static void
test_levels_and_prefixes(void **state)
{
	(void)state;
	static const struct {
		enum log_level level;
		const char *want;
	} t[] = {
		{ LOG_LEVEL_ERR, "<3>t: e 1\n" },
		{ LOG_LEVEL_WARN, "<3>t: e 1\n<4>t: w x\n" },
		{ LOG_LEVEL_INFO, "<3>t: e 1\n<4>t: w x\n<6>t: i\n" },
		{ LOG_LEVEL_DEBUG, "<3>t: e 1\n<4>t: w x\n<6>t: i\n<7>t: d\n" },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		log_init("t", t[i].level);
		char *out = capture(emit_all);
		assert_string_equal(out, t[i].want);
		free(out);
	}
}

static void
emit_errno(void)
{
	errno = ENOENT;
	log_warn("open %s", "f");
}

static void
test_warn_adds_strerror(void **state)
{
	(void)state;
	log_init("p", LOG_LEVEL_INFO);
	char *out = capture(emit_errno);
	char want[128];
	snprintf(want, sizeof want, "<4>p: open f: %s\n", strerror(ENOENT));
	assert_string_equal(out, want);
	free(out);
}

static void
emit_long(void)
{
	char big[5000];
	memset(big, 'z', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	log_info("%s", big);
	log_info("after");
}

/* A line longer than the buffer is cut, still ends in '\n', and the next
 * line is intact: journald must never see two messages glued together. */
static void
test_long_line_is_cut_not_merged(void **state)
{
	(void)state;
	log_init("p", LOG_LEVEL_INFO);
	char *out = capture(emit_long);
	char *nl = strchr(out, '\n');
	assert_non_null(nl);
	assert_true(strncmp(out, "<6>p: zzz", 9) == 0);
	assert_true(nl - out < 2048);
	assert_true(nl - out > 1000);
	assert_string_equal(nl + 1, "<6>p: after\n");
	free(out);
}

static void
test_level_parse(void **state)
{
	(void)state;
	enum log_level l = LOG_LEVEL_INFO;
	assert_int_equal(log_level_parse("debug", &l), 0);
	assert_int_equal(l, LOG_LEVEL_DEBUG);
	assert_int_equal(log_level_parse("error", &l), 0);
	assert_int_equal(l, LOG_LEVEL_ERR);
	assert_int_equal(log_level_parse("warning", &l), 0);
	assert_int_equal(l, LOG_LEVEL_WARN);
	assert_int_equal(log_level_parse("info", &l), 0);
	assert_int_equal(l, LOG_LEVEL_INFO);
	assert_int_equal(log_level_parse("verbose", &l), -1);
	assert_int_equal(log_level_parse("", &l), -1);
	assert_int_equal(l, LOG_LEVEL_INFO);
}

static void
emit_flood(void)
{
	struct log_rate r = { 0 };
	int i;

	log_init("t", LOG_LEVEL_INFO);
	for (i = 0; i < 1000; i++)
		log_rated(&r, LOG_LEVEL_ERR, "bad frame %d", i);
	/* the window has passed: the next line carries the count */
	r.next_ms = 0;
	log_rated(&r, LOG_LEVEL_ERR, "bad frame %d", 1000);
	log_rated(&r, LOG_LEVEL_ERR, "bad frame %d", 1001);
	/* below the level nothing is written, but it still counts */
	log_rated(&r, LOG_LEVEL_DEBUG, "quiet");
}

static void
test_rated_lines_carry_counts(void **state)
{
	(void)state;
	char *out = capture(emit_flood);
	assert_string_equal(out, "<3>t: bad frame 0\n"
	                         "<3>t: bad frame 1000: (999 more like it in the last 1 s)\n");
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels_and_prefixes),
		cmocka_unit_test(test_warn_adds_strerror),
		cmocka_unit_test(test_long_line_is_cut_not_merged),
		cmocka_unit_test(test_level_parse),
		cmocka_unit_test(test_rated_lines_carry_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
