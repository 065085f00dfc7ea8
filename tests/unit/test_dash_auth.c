/*
 * test_dash_auth.c: the dashboard's per-source failure budget and sessions
 * (agent/dash_auth.c) with made-up sources and clocks: login, Bearer and
 * cookie guesses share one budget per source; the right token is accepted
 * from a locked source and from any other; a repeated wrong value counts
 * once; the window ends; a changed token ends every session; each login
 * gets a fresh session; sources beyond the table share one budget.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "agent/dash_auth.h"

#define TOKEN "correct-horse-battery-staple"

static struct dash_src
src4(const char *text)
{
	struct sockaddr_in sin;
	struct dash_src s;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, text, &sin.sin_addr), 1);
	dash_auth_src((struct sockaddr *)&sin, &s);
	return s;
}

static struct dash_src
src6(const char *text)
{
	struct sockaddr_in6 sin6;
	struct dash_src s;

	memset(&sin6, 0, sizeof sin6);
	sin6.sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, text, &sin6.sin6_addr), 1);
	dash_auth_src((struct sockaddr *)&sin6, &s);
	return s;
}

static void
test_shared_budget_and_right_token(void **state)
{
	struct dash_auth *a = dash_auth_new();
	struct dash_src evil = src4("192.0.2.66"), owner = src4("192.0.2.10");
	char session[DASH_AUTH_SESSION_LEN + 1], h[64], cookie[80];
	int i;

	(void)state;
	assert_non_null(a);
	assert_true(dash_auth_set_token(a, TOKEN));
	/* Nothing presented: not a failure. */
	assert_int_equal(dash_auth_check(a, &evil, 0, NULL, NULL), DASH_AUTH_MISSING);
	assert_int_equal(dash_auth_failures(a), 0);
	/* Login, Bearer and cookie guesses all count against one budget. */
	for (i = 0; i < 4; i++) {
		snprintf(h, sizeof h, "login-guess-%d-xxxxxxxx", i);
		assert_int_equal(dash_auth_login(a, &evil, 1000 + i, h, session), DASH_AUTH_WRONG);
		assert_string_equal(session, "");
	}
	for (i = 0; i < 3; i++) {
		snprintf(h, sizeof h, "Bearer guess-number-%08d", i);
		assert_int_equal(dash_auth_check(a, &evil, 2000 + i, NULL, h), DASH_AUTH_WRONG);
	}
	for (i = 0; i < 3; i++) {
		snprintf(cookie, sizeof cookie, "%064d", i);
		assert_int_equal(dash_auth_check(a, &evil, 3000 + i, cookie, NULL),
		                 DASH_AUTH_WRONG);
	}
	assert_int_equal(dash_auth_failures(a), 10);
	assert_int_equal(dash_auth_lockouts(a), 0);
	/* The 11th wrong credential, of any kind, finds the budget spent. */
	assert_int_equal(dash_auth_check(a, &evil, 4000, "f00d", NULL), DASH_AUTH_LOCKED);
	assert_int_equal(dash_auth_login(a, &evil, 4001, NULL, session), DASH_AUTH_LOCKED);
	assert_int_equal(dash_auth_lockouts(a), 1);
	/* Another source is untouched: its wrong guess is WRONG, its right
	 * token logs in. */
	assert_int_equal(dash_auth_check(a, &owner, 4002, NULL, "Bearer nope-nope-nope-nope"),
	                 DASH_AUTH_WRONG);
	assert_int_equal(dash_auth_login(a, &owner, 4003, TOKEN, session), DASH_AUTH_OK);
	assert_int_equal(strlen(session), DASH_AUTH_SESSION_LEN);
	/* The right token from the locked source itself is still accepted,
	 * by Bearer and by login, and the session works. */
	assert_int_equal(dash_auth_check(a, &evil, 4004, NULL, "Bearer " TOKEN), DASH_AUTH_OK);
	assert_int_equal(dash_auth_login(a, &evil, 4005, TOKEN, session), DASH_AUTH_OK);
	assert_int_equal(dash_auth_check(a, &evil, 4006, session, NULL), DASH_AUTH_OK);
	/* A wrong cookie next to the right Bearer does not matter. */
	assert_int_equal(dash_auth_check(a, &evil, 4007, "stale", "Bearer " TOKEN), DASH_AUTH_OK);
	/* After the window the budget is back. */
	assert_int_equal(dash_auth_check(a, &evil, 1000 + DASH_AUTH_WINDOW_MS, NULL, "Bearer x"),
	                 DASH_AUTH_WRONG);
	dash_auth_destroy(&a);
	assert_null(a);
}

static void
test_repeated_value_counts_once(void **state)
{
	struct dash_auth *a = dash_auth_new();
	struct dash_src s = src4("198.51.100.1");
	int i;

	(void)state;
	assert_true(dash_auth_set_token(a, TOKEN));
	/* A stale cookie sent with every request of a page guesses nothing. */
	for (i = 0; i < 50; i++)
		assert_int_equal(dash_auth_check(a, &s, i, "stale-cookie", NULL), DASH_AUTH_WRONG);
	assert_int_equal(dash_auth_failures(a), 1);
	/* Alternating values do count. */
	for (i = 0; i < 20; i++)
		(void)dash_auth_check(a, &s, 100 + i, i % 2 ? "value-a" : "value-b", NULL);
	assert_int_equal(dash_auth_failures(a), 21);
	assert_int_equal(dash_auth_check(a, &s, 200, "value-c", NULL), DASH_AUTH_LOCKED);
	dash_auth_destroy(&a);
}

static void
test_sessions(void **state)
{
	struct dash_auth *a = dash_auth_new();
	struct dash_src s = src4("203.0.113.5");
	char s1[DASH_AUTH_SESSION_LEN + 1], s2[DASH_AUTH_SESSION_LEN + 1];
	char first[DASH_AUTH_SESSION_LEN + 1];
	int i;

	(void)state;
	/* Without a token everything is allowed and no session is made. */
	assert_int_equal(dash_auth_check(a, &s, 0, NULL, NULL), DASH_AUTH_OK);
	assert_int_equal(dash_auth_login(a, &s, 0, "anything", s1), DASH_AUTH_OK);
	assert_string_equal(s1, "");
	assert_false(dash_auth_set_token(a, NULL));
	assert_true(dash_auth_set_token(a, TOKEN));
	assert_false(dash_auth_set_token(a, TOKEN)); /* the same: nothing ends */
	/* A fresh random session per login; both live. */
	assert_int_equal(dash_auth_login(a, &s, 10, TOKEN, s1), DASH_AUTH_OK);
	assert_int_equal(dash_auth_login(a, &s, 11, TOKEN, s2), DASH_AUTH_OK);
	assert_string_not_equal(s1, s2);
	assert_int_equal(dash_auth_check(a, &s, 12, s1, NULL), DASH_AUTH_OK);
	assert_int_equal(dash_auth_check(a, &s, 12, s2, NULL), DASH_AUTH_OK);
	assert_int_equal(dash_auth_sessions(a, 12), 2);
	/* A session ends after its lifetime. */
	assert_int_equal(dash_auth_check(a, &s, 10 + DASH_AUTH_SESSION_MS, s1, NULL),
	                 DASH_AUTH_WRONG);
	/* A changed token ends every session; the new token works. */
	assert_int_equal(dash_auth_login(a, &s, 20, TOKEN, s1), DASH_AUTH_OK);
	assert_true(dash_auth_set_token(a, "another-token-1234567"));
	assert_int_equal(dash_auth_sessions(a, 21), 0);
	assert_int_equal(dash_auth_check(a, &s, 21, s1, NULL), DASH_AUTH_WRONG);
	assert_int_equal(dash_auth_check(a, &s, 21, NULL, "Bearer " TOKEN), DASH_AUTH_WRONG);
	assert_int_equal(dash_auth_check(a, &s, 21, NULL, "Bearer another-token-1234567"),
	                 DASH_AUTH_OK);
	/* One login more than the table ends the oldest session only. */
	assert_int_equal(dash_auth_login(a, &s, 30, "another-token-1234567", first), DASH_AUTH_OK);
	for (i = 1; i < DASH_AUTH_SESSIONS; i++)
		assert_int_equal(dash_auth_login(a, &s, 30 + i, "another-token-1234567", s2),
		                 DASH_AUTH_OK);
	assert_int_equal(dash_auth_check(a, &s, 100, first, NULL), DASH_AUTH_OK);
	assert_int_equal(dash_auth_login(a, &s, 100, "another-token-1234567", s1), DASH_AUTH_OK);
	assert_int_not_equal(dash_auth_check(a, &s, 101, first, NULL), DASH_AUTH_OK);
	assert_int_equal(dash_auth_check(a, &s, 101, s2, NULL), DASH_AUTH_OK);
	assert_int_equal(dash_auth_check(a, &s, 101, s1, NULL), DASH_AUTH_OK);
	/* Removing the token opens the door again (loopback only: dash.c). */
	assert_true(dash_auth_set_token(a, ""));
	assert_false(dash_auth_has_token(a));
	dash_auth_destroy(&a);
}

static void
test_sources(void **state)
{
	struct dash_auth *a = dash_auth_new();
	struct dash_src x, y;
	char text[DASH_AUTH_SRC_TEXT], addr[32];
	int i;

	(void)state;
	/* One IPv6 /64 is one source; a v4-mapped address is the IPv4 one. */
	x = src6("2001:db8:1:2::1");
	y = src6("2001:db8:1:2:ffff:1:2:3");
	assert_memory_equal(x.key, y.key, sizeof x.key);
	dash_auth_src_text(&x, text);
	assert_string_equal(text, "2001:db8:1:2::/64");
	y = src6("2001:db8:1:3::1");
	assert_memory_not_equal(x.key, y.key, sizeof x.key);
	x = src6("::ffff:192.0.2.9");
	y = src4("192.0.2.9");
	assert_memory_equal(x.key, y.key, sizeof x.key);
	dash_auth_src_text(&y, text);
	assert_string_equal(text, "192.0.2.9");
	/* More failing sources than the table holds: the newcomers share one
	 * budget instead of evicting (and so resetting) the others. */
	assert_true(dash_auth_set_token(a, TOKEN));
	for (i = 0; i < DASH_AUTH_SOURCES; i++) {
		snprintf(addr, sizeof addr, "10.0.%d.%d", i / 256, i % 256);
		x = src4(addr);
		assert_int_equal(dash_auth_check(a, &x, 5, NULL, "Bearer a"), DASH_AUTH_WRONG);
	}
	for (i = 0; i < DASH_AUTH_FAILS; i++) {
		snprintf(addr, sizeof addr, "10.9.0.%d", i);
		x = src4(addr);
		snprintf(text, sizeof text, "Bearer b%d", i);
		assert_int_equal(dash_auth_check(a, &x, 6, NULL, text), DASH_AUTH_WRONG);
	}
	x = src4("10.9.1.1");
	assert_int_equal(dash_auth_check(a, &x, 7, NULL, "Bearer c"), DASH_AUTH_LOCKED);
	/* The table's own sources keep their budget; after the window a
	 * newcomer gets a slot of its own. */
	x = src4("10.0.0.1");
	assert_int_equal(dash_auth_check(a, &x, 8, NULL, "Bearer d"), DASH_AUTH_WRONG);
	x = src4("10.9.2.2");
	assert_int_equal(dash_auth_check(a, &x, 5 + DASH_AUTH_WINDOW_MS, NULL, "Bearer e"),
	                 DASH_AUTH_WRONG);
	dash_auth_destroy(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shared_budget_and_right_token),
		cmocka_unit_test(test_repeated_value_counts_once),
		cmocka_unit_test(test_sessions),
		cmocka_unit_test(test_sources),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
