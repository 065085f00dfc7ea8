/*
 * dash_conn.c: connection deadlines, gone peers and held answers of the
 * dashboard (see dash_conn.h).
 */
#include "agent/dash_conn.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define DASH_CONN_POLL_MAX 256 /* connections checked for a gone peer per sweep */

int64_t
dash_conn_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
dash_conns_init(struct dash_conns *cs, unsigned request_s)
{
	memset(cs, 0, sizeof *cs);
	cs->request_ms = (int64_t)request_s * 1000;
	cs->next_sweep_ms = dash_conn_now_ms() + DASH_CONN_SWEEP_MS;
}

void
dash_conns_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                  enum MHD_ConnectionNotificationCode code)
{
	struct dash_conns *cs = cls;
	struct dash_conn *dc = *socket_context;
	const union MHD_ConnectionInfo *info;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		dc = calloc(1, sizeof *dc);
		if (dc == NULL)
			return; /* untracked: MHD's own timeout still ends it */
		dc->mhd = c;
		info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		dc->fd = info ? info->connect_fd : -1;
		info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		dash_auth_src(info ? info->client_addr : NULL, &dc->src);
		dc->phase_ms = dash_conn_now_ms();
		dc->next = cs->head;
		if (cs->head != NULL)
			cs->head->prev = dc;
		cs->head = dc;
		cs->count++;
		*socket_context = dc;
		return;
	}
	if (dc == NULL)
		return;
	if (dc->prev != NULL)
		dc->prev->next = dc->next;
	else
		cs->head = dc->next;
	if (dc->next != NULL)
		dc->next->prev = dc->prev;
	cs->count--;
	free(dc);
	*socket_context = NULL;
}

struct dash_conn *
dash_conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *info =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return info ? info->socket_context : NULL;
}

void
dash_conn_request(struct dash_conn *dc)
{
	if (dc != NULL)
		dc->answering = true;
}

void
dash_conn_completed(struct dash_conn *dc)
{
	if (dc == NULL)
		return;
	dc->answering = false;
	dc->phase_ms = dash_conn_now_ms();
}

void
dash_conn_hold(struct dash_conns *cs, struct dash_conn *dc, int64_t ms)
{
	int64_t due = dash_conn_now_ms() + ms;

	dc->held = true;
	dc->hold_until_ms = due;
	if (due < cs->next_sweep_ms)
		cs->next_sweep_ms = due;
	MHD_suspend_connection(dc->mhd);
}

static void
dash_conns__close(struct dash_conn *dc)
{
	/* libmicrohttpd sees the hang-up on its epoll set and closes the fd */
	if (dc->fd >= 0)
		(void)shutdown(dc->fd, SHUT_RDWR);
}

bool
dash_conns_sweep(struct dash_conns *cs, bool all)
{
	struct pollfd pf[DASH_CONN_POLL_MAX];
	struct dash_conn *who[DASH_CONN_POLL_MAX];
	struct dash_conn *dc;
	int64_t now = dash_conn_now_ms(), next = now + DASH_CONN_SWEEP_MS;
	bool resumed = false;
	nfds_t n = 0, i;

	if (!all && now < cs->next_sweep_ms)
		return false;
	for (dc = cs->head; dc != NULL; dc = dc->next) {
		if (dc->held) {
			if (all || now >= dc->hold_until_ms) {
				dc->held = false;
				MHD_resume_connection(dc->mhd);
				resumed = true;
			} else if (dc->hold_until_ms < next) {
				next = dc->hold_until_ms;
			}
			continue;
		}
		if (dc->stream || all)
			continue;
		if (cs->request_ms > 0 && now - dc->phase_ms >= cs->request_ms) {
			dash_conns__close(dc);
			cs->timed_out++;
			dc->phase_ms = now; /* once is enough */
			continue;
		}
		if (!dc->answering && dc->fd >= 0 && n < DASH_CONN_POLL_MAX) {
			pf[n].fd = dc->fd;
			pf[n].events = POLLRDHUP;
			pf[n].revents = 0;
			who[n++] = dc;
		}
	}
	if (n > 0 && poll(pf, n, 0) > 0) {
		for (i = 0; i < n; i++) {
			if (pf[i].revents & (POLLRDHUP | POLLHUP | POLLERR)) {
				dash_conns__close(who[i]);
				cs->gone++;
			}
		}
	}
	cs->next_sweep_ms = next;
	return resumed;
}

long
dash_conns_timeout_ms(const struct dash_conns *cs)
{
	int64_t now;

	if (cs->head == NULL)
		return -1;
	now = dash_conn_now_ms();
	return cs->next_sweep_ms > now ? (long)(cs->next_sweep_ms - now) : 0;
}

unsigned
dash_conns_held(const struct dash_conns *cs)
{
	const struct dash_conn *dc;
	unsigned n = 0;

	for (dc = cs->head; dc != NULL; dc = dc->next)
		n += dc->held;
	return n;
}
