/*
 * dash_req.h: the pure request checks and parsers of the dashboard.
 *
 * Everything in a dashboard request that comes from the network and is
 * judged without the server: static file paths, Host/Origin/Referer, the
 * JSON bodies of a bid and of the settings, the order number in a cancel
 * URL.  Split from dash.c so that tests/fuzz/fuzz_dash_req.c can drive them
 * without sockets.  Called by agent/dash.c only.  Thread-safe (no state).
 */
#ifndef AGENT_DASH_REQ_H
#define AGENT_DASH_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/dash.h"
#include "peerwatt/error.h"

#define DASH_REQ_PATH_MAX 256

/* Content type of a static file by extension; NULL when not served. */
const char *dash_req_mime(const char *path);
/* A URL path that names a file under the web root: only [A-Za-z0-9._/-],
 * starts with '/', no segment starting with '.', no "//", no trailing '/',
 * shorter than DASH_REQ_PATH_MAX, and a known extension. */
bool dash_req_path_ok(const char *url);
/* 127.0.0.0/8, ::1 or ::ffff:127.x.y.z. */
bool dash_req_is_loopback(const char *addr);
/* The Host header names a loopback host ("localhost", a loopback IP, with
 * or without :port, IPv6 in brackets). */
bool dash_req_host_is_loopback(const char *host);
/* Origin (or, when it is NULL, Referer) is http(s)://HOST of this request;
 * false when host is NULL or both are NULL. */
bool dash_req_same_origin(const char *host, const char *origin, const char *referer);
/* A login token: DASH_TOKEN_MIN..DASH_TOKEN_MAX printable ASCII without
 * space, ';' or ','. */
bool dash_req_token_ok(const char *token);

/* POST /api/orders body -> bid with every range of struct dash_bid checked.
 * PW_ERR_ARG / PW_ERR_RANGE / PW_ERR_PARSE with a message for the user. */
pw_err dash_req_bid(const char *body, size_t len, struct dash_bid *out, char *msg, size_t cap)
    __attribute__((warn_unused_result));
/* PUT /api/settings body.  *auto_sell_given tells whether the body set
 * auto_sell (else the caller keeps the current switch). */
pw_err dash_req_settings(const char *body, size_t len, struct dash_settings *out,
                         bool *auto_sell_given, char *msg, size_t cap)
    __attribute__((warn_unused_result));
/* The login body {"token": "..."}: copies the token into out (cap bytes).
 * PW_ERR_ARG when it is not a string, PW_ERR_RANGE when it cannot be a
 * token (too long, embedded NUL). */
pw_err dash_req_login(const char *body, size_t len, char *out, size_t cap, char *msg, size_t msgcap)
    __attribute__((warn_unused_result));
/* "SEQ" or "SEQ/cancel" after /api/orders/: decimal 0..INT64_MAX without
 * sign or spaces; *cancel_suffix says whether "/cancel" followed. */
pw_err dash_req_seq(const char *text, uint64_t *seq, bool *cancel_suffix)
    __attribute__((warn_unused_result));

/* Whether an Accept-Encoding header value (NULL: none) accepts gzip: a
 * "gzip" or "*" token whose q is not 0 (RFC 9110 12.5.3). */
bool dash_req_accepts_gzip(const char *accept_encoding);

#endif
