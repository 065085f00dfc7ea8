/*
 * dash_conn.h: the dashboard's connections and their deadlines.
 *
 * libmicrohttpd's own timeout (MHD_OPTION_CONNECTION_TIMEOUT) is an
 * inactivity timeout: a client that trickles one byte a second (slowloris)
 * keeps it alive for ever.  And libmicrohttpd 0.9.75 with epoll misses the
 * end of a connection whose request and FIN were both queued before it was
 * accepted (a short read clears its "readable" flag and the edge-triggered
 * epoll never fires again), so connections left behind by an attacker who
 * has gone sat in CLOSE-WAIT until that timeout, a batch at a time.
 *
 * This module tracks every connection (MHD_OPTION_NOTIFY_CONNECTION) and
 * enforces, from dash_run():
 *   - a deadline: each request must arrive and be answered within
 *     request_ms of the connection's start or of the end of the previous
 *     answer (an idle keep-alive connection gets the same); an open event
 *     stream has none (its count is bounded instead);
 *   - a gone peer: a connection still waiting for its request whose peer
 *     has closed (POLLRDHUP) is closed at the next sweep;
 * both by shutdown(2) of the socket, which libmicrohttpd then sees as a
 * hang-up and cleans up itself (the fd stays its own to close).  It also
 * holds back the answer to a connection for a while (dash_auth's delay for
 * a wrong credential from a source that spent its budget) by suspending it.
 *
 * Called by agent/dash.c only, on the dashboard's one thread.
 */
#ifndef AGENT_DASH_CONN_H
#define AGENT_DASH_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include <microhttpd.h>

#include "agent/dash_auth.h"

#define DASH_CONN_SWEEP_MS 500 /* how often deadlines and gone peers are checked */

struct dash_conn {
	struct MHD_Connection *mhd;
	int fd;
	struct dash_src src;
	int64_t phase_ms; /* start of the current request's time */
	bool answering;   /* the handler saw the current request's headers */
	bool stream;      /* an open event stream: no deadline */
	bool held;        /* suspended until hold_until_ms */
	int64_t hold_until_ms;
	struct dash_conn *prev, *next;
};

struct dash_conns {
	struct dash_conn *head;
	unsigned count;
	int64_t request_ms;
	int64_t next_sweep_ms;
	uint64_t timed_out; /* closed at the deadline */
	uint64_t gone;      /* closed because the peer had left */
};

/* Monotonic clock in ms. */
int64_t dash_conn_now_ms(void);

void dash_conns_init(struct dash_conns *cs, unsigned request_s);
/* MHD_OPTION_NOTIFY_CONNECTION callback; cls is the struct dash_conns. */
void dash_conns_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                       enum MHD_ConnectionNotificationCode code);
/* The tracked connection of c (NULL if untracked). */
struct dash_conn *dash_conn_of(struct MHD_Connection *c);
/* The handler saw the headers of a request on this connection. */
void dash_conn_request(struct dash_conn *dc);
/* A request finished (its answer sent, or the connection failed). */
void dash_conn_completed(struct dash_conn *dc);
/* Suspends the connection until now + ms; dash_conns_sweep resumes it. */
void dash_conn_hold(struct dash_conns *cs, struct dash_conn *dc, int64_t ms);
/* Resumes held connections that are due (or all with `all`), closes those
 * past their deadline or whose peer left.  Returns true when it resumed one
 * (libmicrohttpd must run again at once). */
bool dash_conns_sweep(struct dash_conns *cs, bool all);
/* Milliseconds until dash_conns_sweep must run; -1 none. */
long dash_conns_timeout_ms(const struct dash_conns *cs);
/* Number of held connections (for dash_destroy). */
unsigned dash_conns_held(const struct dash_conns *cs);

#endif
