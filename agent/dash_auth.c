/*
 * dash_auth.c: the dashboard's token, sessions and per-source failure
 * budget (see dash_auth.h).  Every credential is compared in constant time;
 * sessions are 32 random bytes from libsodium.
 */
#include "agent/dash_auth.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "agent/dash.h"

struct dash_auth_source {
	struct dash_src src;
	bool used;
	unsigned fails;          /* counted failures in the window */
	int64_t window_start_ms; /* first counted failure of the window */
	uint8_t last_wrong[16];  /* hash of the last wrong credential */
	bool have_last;
};

struct dash_auth_session {
	char id[DASH_AUTH_SESSION_LEN + 1];
	int64_t created_ms;
	bool used;
};

struct dash_auth {
	char token[DASH_TOKEN_MAX + 1];
	bool has_token;
	struct dash_auth_session sessions[DASH_AUTH_SESSIONS];
	struct dash_auth_source sources[DASH_AUTH_SOURCES];
	struct dash_auth_source shared; /* for sources beyond the table */
	uint64_t failures, lockouts;
};

struct dash_auth *
dash_auth_new(void)
{
	if (sodium_init() < 0)
		return NULL;
	return calloc(1, sizeof(struct dash_auth));
}

void
dash_auth_destroy(struct dash_auth **ap)
{
	if (ap == NULL || *ap == NULL)
		return;
	sodium_memzero(*ap, sizeof **ap);
	free(*ap);
	*ap = NULL;
}

/* Constant-time comparison of two strings of possibly different length:
 * both are hashed first so the time does not depend on where they differ. */
static bool
dash_auth__secret_eq(const char *x, const char *y)
{
	unsigned char hx[32], hy[32];

	crypto_generichash(hx, sizeof hx, (const unsigned char *)x, strlen(x), NULL, 0);
	crypto_generichash(hy, sizeof hy, (const unsigned char *)y, strlen(y), NULL, 0);
	return sodium_memcmp(hx, hy, sizeof hx) == 0;
}

static void
dash_auth__end_sessions(struct dash_auth *a)
{
	sodium_memzero(a->sessions, sizeof a->sessions);
}

bool
dash_auth_set_token(struct dash_auth *a, const char *token)
{
	bool want = token != NULL && token[0] != '\0';

	if (want == a->has_token && (!want || dash_auth__secret_eq(token, a->token)))
		return false;
	sodium_memzero(a->token, sizeof a->token);
	if (want)
		snprintf(a->token, sizeof a->token, "%s", token);
	a->has_token = want;
	dash_auth__end_sessions(a);
	return true;
}

bool
dash_auth_has_token(const struct dash_auth *a)
{
	return a->has_token;
}

void
dash_auth_src(const struct sockaddr *sa, struct dash_src *out)
{
	memset(out, 0, sizeof *out);
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
		out->key[0] = 4;
		memcpy(out->key + 1, &s4->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			out->key[0] = 4;
			memcpy(out->key + 1, s6->sin6_addr.s6_addr + 12, 4);
		} else {
			out->key[0] = 6;
			memcpy(out->key + 1, s6->sin6_addr.s6_addr, 8);
		}
	}
}

void
dash_auth_src_text(const struct dash_src *src, char out[DASH_AUTH_SRC_TEXT])
{
	char buf[INET6_ADDRSTRLEN];
	unsigned char a6[16];

	if (src->key[0] == 4 && inet_ntop(AF_INET, src->key + 1, buf, sizeof buf) != NULL) {
		snprintf(out, DASH_AUTH_SRC_TEXT, "%s", buf);
		return;
	}
	if (src->key[0] == 6) {
		memset(a6, 0, sizeof a6);
		memcpy(a6, src->key + 1, 8);
		if (inet_ntop(AF_INET6, a6, buf, sizeof buf) != NULL) {
			snprintf(out, DASH_AUTH_SRC_TEXT, "%s/64", buf);
			return;
		}
	}
	snprintf(out, DASH_AUTH_SRC_TEXT, "(unknown)");
}

/* The budget entry of a source: its own, a free or expired slot, or the
 * shared one when the table is full of sources failing right now. */
static struct dash_auth_source *
dash_auth__source(struct dash_auth *a, const struct dash_src *src, int64_t now_ms)
{
	struct dash_auth_source *spare = NULL;
	size_t i;

	for (i = 0; i < DASH_AUTH_SOURCES; i++) {
		struct dash_auth_source *s = &a->sources[i];
		if (s->used && memcmp(s->src.key, src->key, sizeof src->key) == 0)
			return s;
		if (spare == NULL &&
		    (!s->used || now_ms - s->window_start_ms >= DASH_AUTH_WINDOW_MS))
			spare = s;
	}
	if (spare == NULL)
		return &a->shared;
	memset(spare, 0, sizeof *spare);
	spare->used = true;
	spare->src = *src;
	return spare;
}

/* Counts a wrong credential (kind + value) against the source. */
static enum dash_auth_result
dash_auth__fail(struct dash_auth *a, const struct dash_src *src, int64_t now_ms, char kind,
                const char *value)
{
	struct dash_auth_source *s = dash_auth__source(a, src, now_ms);
	crypto_generichash_state st;
	uint8_t h[16];

	if (now_ms - s->window_start_ms >= DASH_AUTH_WINDOW_MS || s->fails == 0) {
		s->fails = 0;
		s->window_start_ms = now_ms;
		s->have_last = false;
	}
	crypto_generichash_init(&st, NULL, 0, sizeof h);
	crypto_generichash_update(&st, (const unsigned char *)&kind, 1);
	crypto_generichash_update(&st, (const unsigned char *)value, strlen(value));
	crypto_generichash_final(&st, h, sizeof h);
	if (!s->have_last || sodium_memcmp(h, s->last_wrong, sizeof h) != 0) {
		memcpy(s->last_wrong, h, sizeof h);
		s->have_last = true;
		s->fails++;
		a->failures++;
		if (s->fails == DASH_AUTH_FAILS + 1)
			a->lockouts++;
	}
	return s->fails > DASH_AUTH_FAILS ? DASH_AUTH_LOCKED : DASH_AUTH_WRONG;
}

static bool
dash_auth__session_ok(struct dash_auth *a, const char *cookie, int64_t now_ms)
{
	bool ok = false;
	size_t i;

	if (strlen(cookie) != DASH_AUTH_SESSION_LEN)
		return false;
	for (i = 0; i < DASH_AUTH_SESSIONS; i++) {
		struct dash_auth_session *s = &a->sessions[i];
		if (!s->used)
			continue;
		if (now_ms - s->created_ms >= DASH_AUTH_SESSION_MS) {
			sodium_memzero(s, sizeof *s);
			continue;
		}
		/* no early exit: every live session is compared */
		if (sodium_memcmp(s->id, cookie, DASH_AUTH_SESSION_LEN) == 0)
			ok = true;
	}
	return ok;
}

enum dash_auth_result
dash_auth_check(struct dash_auth *a, const struct dash_src *src, int64_t now_ms, const char *cookie,
                const char *authorization)
{
	enum dash_auth_result rc = DASH_AUTH_MISSING;

	if (!a->has_token)
		return DASH_AUTH_OK;
	if (cookie != NULL) {
		if (dash_auth__session_ok(a, cookie, now_ms))
			return DASH_AUTH_OK;
	}
	if (authorization != NULL) {
		if (strncmp(authorization, "Bearer ", 7) == 0 &&
		    dash_auth__secret_eq(authorization + 7, a->token))
			return DASH_AUTH_OK;
		rc = dash_auth__fail(a, src, now_ms, 'b', authorization);
	}
	if (cookie != NULL) {
		enum dash_auth_result c = dash_auth__fail(a, src, now_ms, 'c', cookie);
		if (rc == DASH_AUTH_MISSING || c == DASH_AUTH_LOCKED)
			rc = c;
	}
	return rc;
}

enum dash_auth_result
dash_auth_login(struct dash_auth *a, const struct dash_src *src, int64_t now_ms, const char *token,
                char session[DASH_AUTH_SESSION_LEN + 1])
{
	struct dash_auth_session *slot = NULL;
	unsigned char raw[DASH_AUTH_SESSION_LEN / 2];
	size_t i;

	session[0] = '\0';
	if (!a->has_token)
		return DASH_AUTH_OK;
	if (token == NULL || !dash_auth__secret_eq(token, a->token))
		return dash_auth__fail(a, src, now_ms, 'l', token ? token : "");
	for (i = 0; i < DASH_AUTH_SESSIONS; i++) {
		struct dash_auth_session *s = &a->sessions[i];
		if (!s->used || now_ms - s->created_ms >= DASH_AUTH_SESSION_MS) {
			slot = s;
			break;
		}
		if (slot == NULL || s->created_ms < slot->created_ms)
			slot = s; /* the oldest, if none is free */
	}
	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(slot->id, sizeof slot->id, raw, sizeof raw);
	sodium_memzero(raw, sizeof raw);
	slot->created_ms = now_ms;
	slot->used = true;
	memcpy(session, slot->id, DASH_AUTH_SESSION_LEN + 1);
	return DASH_AUTH_OK;
}

uint64_t
dash_auth_failures(const struct dash_auth *a)
{
	return a->failures;
}

uint64_t
dash_auth_lockouts(const struct dash_auth *a)
{
	return a->lockouts;
}

unsigned
dash_auth_sessions(const struct dash_auth *a, int64_t now_ms)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < DASH_AUTH_SESSIONS; i++)
		if (a->sessions[i].used &&
		    now_ms - a->sessions[i].created_ms < DASH_AUTH_SESSION_MS)
			n++;
	return n;
}
