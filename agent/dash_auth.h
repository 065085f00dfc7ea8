/*
 * dash_auth.h: who may use the dashboard.  Owns the login token, the
 * sessions that logins create (a fresh random one per login) and one failure
 * budget per source address that every way of presenting a credential counts
 * against: the login body, `Authorization: Bearer`, the session cookie.
 *
 * The budget never locks out the right token: a right credential is always
 * accepted, even from a source that spent its budget (the owner may share an
 * address with the attacker: one NAT, one IPv6 /64).  What a spent budget
 * changes is the answer to a wrong credential: 429, and dash.c holds it back
 * DASH_AUTH_DELAY_MS, so that the guesses one source can make are bounded by
 * its connections (MHD's per-source limit) over that delay.  A wrong value
 * sent again and again (a stale cookie, a scraper with an old token) counts
 * once: it guesses nothing.
 *
 * Pure: no sockets, the clock is passed in.  Called by agent/dash.c; driven
 * by tests/unit/test_dash_auth.c with made-up sources and times.  Not
 * thread-safe (the dashboard runs on one thread).
 */
#ifndef AGENT_DASH_AUTH_H
#define AGENT_DASH_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define DASH_AUTH_FAILS       10    /* wrong credentials per source and window */
#define DASH_AUTH_WINDOW_MS   60000 /* the budget's window */
#define DASH_AUTH_DELAY_MS    5000  /* a wrong credential from a spent source waits */
#define DASH_AUTH_SOURCES     256   /* sources remembered; beyond, they share one */
#define DASH_AUTH_SESSIONS    16    /* live sessions; one more login ends the oldest */
#define DASH_AUTH_SESSION_MS  (30LL * 86400 * 1000) /* a session's lifetime */
#define DASH_AUTH_SESSION_LEN 64                    /* hex characters of a session id */
#define DASH_AUTH_SRC_TEXT    56                    /* bytes of dash_auth_src_text() */

/* A source: an IPv4 address, or the /64 of an IPv6 address (one host on a
 * LAN has a whole /64 to pick addresses from). */
struct dash_src {
	uint8_t key[17]; /* [0]: 4 or 6, then the address bytes that count */
};

enum dash_auth_result {
	DASH_AUTH_OK,      /* right credential, or no token configured */
	DASH_AUTH_MISSING, /* no credential presented: not counted */
	DASH_AUTH_WRONG,   /* wrong; counted; the source is within its budget */
	DASH_AUTH_LOCKED,  /* wrong; the source spent its budget: 429, after
	                      DASH_AUTH_DELAY_MS */
};

struct dash_auth;

/* NULL when out of memory.  The caller owns it (dash_auth_destroy). */
struct dash_auth *dash_auth_new(void);
/* Wipes the token and sessions; *ap becomes NULL.  NULL-safe. */
void dash_auth_destroy(struct dash_auth **ap);

/* Sets the token (NULL or "" = none; the caller checked its syntax).
 * Returns true when it changed; a changed token ends every session. */
bool dash_auth_set_token(struct dash_auth *a, const char *token);
bool dash_auth_has_token(const struct dash_auth *a);

/* The source of a peer address (AF_INET, AF_INET6; anything else is one
 * shared source). */
void dash_auth_src(const struct sockaddr *sa, struct dash_src *out);
/* "192.0.2.7" or "2001:db8:1:2::/64", for logs. */
void dash_auth_src_text(const struct dash_src *src, char out[DASH_AUTH_SRC_TEXT]);

/* The credentials of one request: the session cookie's value and the
 * Authorization header (each NULL when absent). */
enum dash_auth_result dash_auth_check(struct dash_auth *a, const struct dash_src *src,
                                      int64_t now_ms, const char *cookie,
                                      const char *authorization);
/* A login with `token` (NULL: the body held no usable token, a failure).
 * On DASH_AUTH_OK writes a new random session id (NUL-terminated) into
 * session; without a token configured, OK and session stays "". */
enum dash_auth_result dash_auth_login(struct dash_auth *a, const struct dash_src *src,
                                      int64_t now_ms, const char *token,
                                      char session[DASH_AUTH_SESSION_LEN + 1]);

/* Counters for /metrics and logs. */
uint64_t dash_auth_failures(const struct dash_auth *a); /* counted failures */
uint64_t dash_auth_lockouts(const struct dash_auth *a); /* times a source spent its budget */
unsigned dash_auth_sessions(const struct dash_auth *a, int64_t now_ms); /* live ones */

#endif
