/*
 * smeter.c: smart-meter URLs, readings and the serial reader (see smeter.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "agent/p1.h"
#include "agent/smeter.h"
#include "agent/smlmeter.h"
#include "peerwatt/log.h"

struct smeter {
	char url_text[SMETER_DEV_MAX + 32];
	struct smeter_url url;
	struct smeter_cfg cfg;
	int fd;
	uint64_t last_ok_ms;
	bool stalled;
	struct smeter_stats st;
	char last_error[SMETER_WHY_MAX];
	union {
		struct p1_asm p1;
		struct smlm_asm sml;
	} as;
};

/* --- URL ------------------------------------------------------------------------ */

bool
smeter_url_is(const char *url)
{
	return url != NULL && (strncmp(url, "sml:", 4) == 0 || strncmp(url, "p1:", 3) == 0);
}

const char *
smeter_kind_name(enum smeter_kind k)
{
	return k == SMETER_SML ? "sml" : "p1";
}

pw_err
smeter_url_parse(const char *url, struct smeter_url *out)
{
	static const uint32_t bauds[] = {
		300, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200
	};
	const char *dev, *colon;
	size_t dlen;

	memset(out, 0, sizeof(*out));
	if (url == NULL)
		return PW_ERR_PARSE;
	if (strncmp(url, "sml:", 4) == 0) {
		out->kind = SMETER_SML;
		out->baud = 9600;
		dev = url + 4;
	} else if (strncmp(url, "p1:", 3) == 0) {
		out->kind = SMETER_P1;
		out->baud = 115200;
		dev = url + 3;
	} else {
		return PW_ERR_PARSE;
	}
	colon = strchr(dev, ':');
	dlen = colon ? (size_t)(colon - dev) : strlen(dev);
	if (dlen < 2 || dlen > SMETER_DEV_MAX || dev[0] != '/')
		return PW_ERR_PARSE;
	for (size_t i = 0; i < dlen; i++)
		if (dev[i] <= 0x20 || dev[i] >= 0x7f)
			return PW_ERR_PARSE;
	memcpy(out->device, dev, dlen);
	out->device[dlen] = '\0';
	if (strstr(out->device, "..") != NULL)
		return PW_ERR_PARSE;
	if (colon != NULL) {
		const char *b = colon + 1;
		uint32_t v = 0;
		size_t n = strlen(b);
		bool ok = false;

		if (n == 0 || n > 6)
			return PW_ERR_PARSE;
		for (size_t i = 0; i < n; i++) {
			if (b[i] < '0' || b[i] > '9')
				return PW_ERR_PARSE;
			v = v * 10 + (uint32_t)(b[i] - '0');
		}
		for (size_t i = 0; i < sizeof(bauds) / sizeof(bauds[0]); i++)
			ok = ok || bauds[i] == v;
		if (!ok)
			return PW_ERR_PARSE;
		out->baud = v;
	}
	return PW_OK;
}

/* --- accumulators --------------------------------------------------------------- */

pw_err
smeter_acc_wh(const struct smeter_acc *a, int64_t *wh)
{
	uint64_t v = a->raw;

	if (a->sf < -12 || a->sf > 12)
		return PW_ERR_RANGE;
	if (a->sf >= 0) {
		for (int k = 0; k < a->sf; k++) {
			if (v > (uint64_t)INT64_MAX / 10)
				return PW_ERR_OVERFLOW;
			v *= 10;
		}
	} else {
		for (int k = 0; k < -a->sf; k++)
			v /= 10;
	}
	if (v > (uint64_t)INT64_MAX)
		return PW_ERR_OVERFLOW;
	*wh = (int64_t)v;
	return PW_OK;
}

pw_err
smeter_acc_add(struct smeter_acc *a, const struct smeter_acc *b)
{
	struct smeter_acc x = *a, y = *b;

	if (!y.has)
		return PW_OK;
	if (!x.has) {
		*a = y;
		return PW_OK;
	}
	if (x.sf < -12 || x.sf > 12 || y.sf < -12 || y.sf > 12)
		return PW_ERR_RANGE;
	/* align to the finer resolution */
	while (x.sf > y.sf) {
		if (x.raw > UINT64_MAX / 10)
			return PW_ERR_OVERFLOW;
		x.raw *= 10;
		x.sf--;
	}
	while (y.sf > x.sf) {
		if (y.raw > UINT64_MAX / 10)
			return PW_ERR_OVERFLOW;
		y.raw *= 10;
		y.sf--;
	}
	if (x.raw > UINT64_MAX - y.raw)
		return PW_ERR_OVERFLOW;
	x.raw += y.raw;
	*a = x;
	return PW_OK;
}

pw_err
smeter_reading_finish(struct smeter_reading *r)
{
	pw_err rc;

	r->has_import = r->imp.has;
	r->has_export = r->exp.has;
	r->import_wh = r->export_wh = 0;
	if (r->imp.has && (rc = smeter_acc_wh(&r->imp, &r->import_wh)) != PW_OK)
		return rc;
	if (r->exp.has && (rc = smeter_acc_wh(&r->exp, &r->export_wh)) != PW_OK)
		return rc;
	return PW_OK;
}

/* --- the serial reader ------------------------------------------------------------ */

void
smeter_cfg_defaults(struct smeter_cfg *cfg)
{
	cfg->stall_ms = 30000;
	cfg->defer_open = false;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static speed_t
baud_const(uint32_t baud)
{
	switch (baud) {
	case 300:
		return B300;
	case 1200:
		return B1200;
	case 2400:
		return B2400;
	case 4800:
		return B4800;
	case 19200:
		return B19200;
	case 38400:
		return B38400;
	case 57600:
		return B57600;
	case 115200:
		return B115200;
	default:
		return B9600;
	}
}

static pw_err
open_line(struct smeter *s)
{
	struct termios tio;
	int fd;

	fd = open(s->url.device, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return PW_ERR_IO;
	if (tcgetattr(fd, &tio) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return PW_ERR_IO;
	}
	cfmakeraw(&tio);
	tio.c_cflag &= ~(tcflag_t)(CSTOPB | PARENB | CRTSCTS);
	tio.c_cflag |= CLOCAL | CREAD | CS8;
	tio.c_cc[VMIN] = 0;
	tio.c_cc[VTIME] = 0;
	if (cfsetispeed(&tio, baud_const(s->url.baud)) != 0 ||
	    cfsetospeed(&tio, baud_const(s->url.baud)) != 0 || tcsetattr(fd, TCSANOW, &tio) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return PW_ERR_IO;
	}
	s->fd = fd;
	return PW_OK;
}

pw_err
smeter_open(const char *url, const struct smeter_cfg *cfg, struct smeter **out)
{
	struct smeter *s;
	pw_err rc;

	*out = NULL;
	if (cfg->stall_ms < 100 || cfg->stall_ms > 3600000)
		return PW_ERR_RANGE;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return PW_ERR_NOMEM;
	if ((rc = smeter_url_parse(url, &s->url)) != PW_OK) {
		free(s);
		return rc;
	}
	snprintf(s->url_text, sizeof(s->url_text), "%s", url);
	s->cfg = *cfg;
	s->fd = -1;
	if (s->url.kind == SMETER_P1)
		p1_asm_init(&s->as.p1);
	else
		smlm_asm_init(&s->as.sml);
	if ((rc = open_line(s)) != PW_OK && !cfg->defer_open) {
		int e = errno;
		free(s);
		errno = e;
		return rc;
	}
	s->last_ok_ms = now_ms();
	*out = s;
	return PW_OK;
}

void
smeter_destroy(struct smeter **sp)
{
	if (sp == NULL || *sp == NULL)
		return;
	if ((*sp)->fd >= 0)
		close((*sp)->fd);
	free(*sp);
	*sp = NULL;
}

static void
bad_frame(struct smeter *s, pw_err rc, const char *why)
{
	if (rc == PW_ERR_CRC)
		s->st.crc_errors++;
	else
		s->st.malformed++;
	snprintf(s->last_error, sizeof(s->last_error), "%s", why[0] ? why : pw_strerror(rc));
	log_debug("%s: frame refused: %s", s->url_text, s->last_error);
}

static void
note_event(struct smeter *s, const char *what, unsigned long *counter)
{
	(*counter)++;
	snprintf(s->last_error, sizeof(s->last_error), "%s", what);
	log_debug("%s: %s", s->url_text, what);
}

/* Feed one byte; true when a good frame landed in *r. */
static bool
feed(struct smeter *s, uint8_t c, struct smeter_reading *r)
{
	char why[SMETER_WHY_MAX];
	pw_err rc;

	if (s->url.kind == SMETER_P1) {
		switch (p1_asm_feed(&s->as.p1, c)) {
		case P1_TELEGRAM:
			rc = p1_parse(s->as.p1.buf, s->as.p1.len, r, why, sizeof(why));
			if (rc == PW_OK)
				return true;
			bad_frame(s, rc, why);
			return false;
		case P1_OVERFLOW:
			note_event(s, "telegram or line too long", &s->st.overflows);
			return false;
		case P1_TRUNCATED:
			note_event(s, "truncated telegram", &s->st.truncated);
			return false;
		case P1_GARBLED:
			note_event(s, "garbled bytes", &s->st.malformed);
			return false;
		default:
			return false;
		}
	}
	switch (smlm_asm_feed(&s->as.sml, c)) {
	case SMLM_FRAME:
		rc = smlm_parse(s->as.sml.buf, s->as.sml.len, r, why, sizeof(why));
		if (rc == PW_OK)
			return true;
		bad_frame(s, rc, why);
		return false;
	case SMLM_OVERFLOW:
		note_event(s, "transmission too long", &s->st.overflows);
		return false;
	case SMLM_TRUNCATED:
		note_event(s, "truncated transmission", &s->st.truncated);
		return false;
	case SMLM_GARBLED:
		note_event(s, "unknown escape sequence", &s->st.malformed);
		return false;
	default:
		return false;
	}
}

pw_err
smeter_read(struct smeter *s, uint32_t wait_ms, struct smeter_reading *r)
{
	uint64_t t0 = now_ms(), deadline = t0 + wait_ms;
	struct smeter_reading tmp;
	bool got = false;
	uint8_t buf[512];

	if (s->fd < 0 && open_line(s) != PW_OK) {
		snprintf(s->last_error, sizeof(s->last_error), "cannot open the device: %s",
		         strerror(errno));
		return PW_ERR_IO;
	}
	for (;;) {
		uint64_t now = now_ms();
		int timeout = got || now >= deadline ? 0 : (int)(deadline - now);
		struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
		int n = poll(&pfd, 1, timeout);
		ssize_t got_bytes;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return PW_ERR_IO;
		if (n == 0)
			break;
		got_bytes = read(s->fd, buf, sizeof(buf));
		if (got_bytes < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (got_bytes <= 0) {
			/* hang-up (a pty whose writer went away, an unplugged head): reopen later
			 */
			snprintf(s->last_error, sizeof(s->last_error), "device read: %s",
			         got_bytes == 0 ? "end of file" : strerror(errno));
			close(s->fd);
			s->fd = -1;
			return PW_ERR_IO;
		}
		s->st.bytes += (unsigned long)got_bytes;
		for (ssize_t i = 0; i < got_bytes; i++) {
			if (feed(s, buf[i], &tmp)) {
				if (got)
					log_debug("%s: a newer frame replaced one not yet taken",
					          s->url_text);
				*r = tmp;
				got = true;
				s->st.frames_ok++;
			}
		}
	}
	if (got) {
		s->last_ok_ms = now_ms();
		s->stalled = false;
		return PW_OK;
	}
	(void)smeter_stalled(s);
	return PW_ERR_TIMEOUT;
}

bool
smeter_stalled(struct smeter *s)
{
	bool st = now_ms() - s->last_ok_ms > s->cfg.stall_ms;

	if (st && !s->stalled) {
		s->st.stalls++;
		log_warnx("%s: no valid frame for %u ms%s%s", s->url_text, s->cfg.stall_ms,
		          s->last_error[0] ? "; last refused: " : "", s->last_error);
	}
	s->stalled = st;
	return st;
}

int
smeter_fd(const struct smeter *s)
{
	return s->fd;
}

const struct smeter_stats *
smeter_stats(const struct smeter *s)
{
	return &s->st;
}

const char *
smeter_last_error(const struct smeter *s)
{
	return s->last_error;
}

const struct smeter_url *
smeter_url(const struct smeter *s)
{
	return &s->url;
}

enum smeter_obis
smeter_obis_cde(unsigned c, unsigned d, unsigned e, int *tariff)
{
	*tariff = 0;
	if ((c == 1 || c == 2) && d == 8) {
		if (e == 0)
			return c == 1 ? SMETER_OBIS_IMP : SMETER_OBIS_EXP;
		if (e >= 1 && e <= 9) {
			*tariff = (int)e;
			return c == 1 ? SMETER_OBIS_IMP_T : SMETER_OBIS_EXP_T;
		}
		return SMETER_OBIS_NONE;
	}
	if (d == 7 && e == 0) {
		if (c == 16)
			return SMETER_OBIS_PNET;
		if (c == 1)
			return SMETER_OBIS_PIMP;
		if (c == 2)
			return SMETER_OBIS_PEXP;
	}
	return SMETER_OBIS_NONE;
}
