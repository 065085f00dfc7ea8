/*
 * modbus_link.c: one libmodbus connection with timeouts and backoff (see modbus_link.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <modbus.h>

#include "agent/modbus_link.h"
#include "peerwatt/log.h"

struct mlink {
	char url_text[MLINK_DEV_MAX + 64];
	struct mlink_url url;
	struct mlink_cfg cfg;
	struct mlink_clock clock;
	modbus_t *ctx;
	bool connected;
	unsigned fails;       /* consecutive failures: sets the backoff */
	uint64_t next_try_ms; /* no connection attempt before this */
	struct mlink_stats st;
};

/* --- URL ------------------------------------------------------------------------ */

/* Decimal digits only, value in [lo, hi]. */
static bool
parse_uint(const char *s, size_t n, unsigned long lo, unsigned long hi, unsigned long *out)
{
	unsigned long v = 0;

	if (n == 0 || n > 10)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool
host_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '_';
}

static pw_err
parse_tcp(const char *s, struct mlink_url *u)
{
	const char *colon, *hs = s, *he;
	unsigned long port;

	if (s[0] == '[') {
		/* [IPv6]:port */
		const char *rb = strchr(s, ']');
		if (rb == NULL || rb[1] != ':')
			return PW_ERR_PARSE;
		hs = s + 1;
		he = rb;
		colon = rb + 1;
		for (const char *p = hs; p < he; p++)
			if (!(host_char_ok(*p) || *p == ':') || *p == '_')
				return PW_ERR_PARSE;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return PW_ERR_PARSE;
		he = colon;
		for (const char *p = hs; p < he; p++)
			if (!host_char_ok(*p))
				return PW_ERR_PARSE;
	}
	if (he == hs || (size_t)(he - hs) > MLINK_HOST_MAX)
		return PW_ERR_PARSE;
	if (!parse_uint(colon + 1, strlen(colon + 1), 1, 65535, &port))
		return PW_ERR_PARSE;
	u->kind = MLINK_TCP;
	memcpy(u->host, hs, (size_t)(he - hs));
	u->host[he - hs] = '\0';
	u->port = (uint16_t)port;
	return PW_OK;
}

static pw_err
parse_rtu(const char *s, struct mlink_url *u)
{
	static const unsigned long bauds[] = { 1200,  2400,  4800,   9600,  19200,
		                               38400, 57600, 115200, 230400 };
	const char *c1 = strchr(s, ':'), *c2;
	unsigned long baud;
	bool baud_ok = false;

	if (s[0] != '/' || c1 == NULL || (size_t)(c1 - s) > MLINK_DEV_MAX || c1 - s < 2)
		return PW_ERR_PARSE;
	for (const char *p = s; p < c1; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p > '~')
			return PW_ERR_PARSE;
	c2 = strchr(c1 + 1, ':');
	if (c2 == NULL || !parse_uint(c1 + 1, (size_t)(c2 - c1 - 1), 1, 4000000, &baud))
		return PW_ERR_PARSE;
	for (size_t i = 0; i < sizeof(bauds) / sizeof(bauds[0]); i++)
		if (bauds[i] == baud)
			baud_ok = true;
	if (!baud_ok)
		return PW_ERR_PARSE;
	if (strcmp(c2 + 1, "8N1") == 0)
		u->parity = 'N', u->stop_bits = 1;
	else if (strcmp(c2 + 1, "8E1") == 0)
		u->parity = 'E', u->stop_bits = 1;
	else if (strcmp(c2 + 1, "8N2") == 0)
		u->parity = 'N', u->stop_bits = 2;
	else
		return PW_ERR_PARSE;
	u->kind = MLINK_RTU;
	u->data_bits = 8;
	u->baud = (uint32_t)baud;
	memcpy(u->device, s, (size_t)(c1 - s));
	u->device[c1 - s] = '\0';
	return PW_OK;
}

pw_err
mlink_url_parse(const char *url, struct mlink_url *out)
{
	pw_err rc = PW_ERR_PARSE;

	memset(out, 0, sizeof(*out));
	if (url == NULL || strlen(url) > MLINK_DEV_MAX + 32)
		return PW_ERR_PARSE;
	if (strncmp(url, "tcp://", 6) == 0)
		rc = parse_tcp(url + 6, out);
	else if (strncmp(url, "rtu:", 4) == 0)
		rc = parse_rtu(url + 4, out);
	if (rc != PW_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

/* --- clock ------------------------------------------------------------------------- */

static uint64_t
real_now_ms(void *arg)
{
	struct timespec ts;
	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
real_sleep_ms(void *arg, uint32_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	(void)arg;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* --- link ---------------------------------------------------------------------------- */

void
mlink_cfg_defaults(struct mlink_cfg *cfg)
{
	cfg->unit = 1;
	cfg->timeout_ms = 2000;
	cfg->quiet_ms = 0;
	cfg->backoff_base_ms = 1000;
	cfg->backoff_cap_ms = 60000;
}

pw_err
mlink_new(const char *url, const struct mlink_cfg *cfg, const struct mlink_clock *clock,
          struct mlink **out)
{
	struct mlink *l;
	struct mlink_url u;
	pw_err rc;

	*out = NULL;
	if ((rc = mlink_url_parse(url, &u)) != PW_OK)
		return rc;
	if (u.kind == MLINK_TCP ? (cfg->unit < 0 || cfg->unit > 255)
	                        : (cfg->unit < 1 || cfg->unit > 247))
		return PW_ERR_RANGE;
	if (cfg->timeout_ms < 10 || cfg->timeout_ms > 60000 || cfg->quiet_ms > 60000 ||
	    cfg->backoff_base_ms < 1 || cfg->backoff_cap_ms < cfg->backoff_base_ms ||
	    cfg->backoff_cap_ms > 3600000)
		return PW_ERR_RANGE;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return PW_ERR_NOMEM;
	snprintf(l->url_text, sizeof(l->url_text), "%s", url);
	l->url = u;
	l->cfg = *cfg;
	if (clock != NULL) {
		l->clock = *clock;
	} else {
		l->clock.now_ms = real_now_ms;
		l->clock.sleep_ms = real_sleep_ms;
	}
	*out = l;
	return PW_OK;
}

void
mlink_close(struct mlink *l)
{
	if (l->ctx != NULL) {
		modbus_close(l->ctx);
		modbus_free(l->ctx);
		l->ctx = NULL;
	}
	l->connected = false;
}

void
mlink_destroy(struct mlink **lp)
{
	if (lp == NULL || *lp == NULL)
		return;
	mlink_close(*lp);
	free(*lp);
	*lp = NULL;
}

bool
mlink_connected(const struct mlink *l)
{
	return l->connected;
}

const struct mlink_stats *
mlink_stats(const struct mlink *l)
{
	return &l->st;
}

const char *
mlink_url(const struct mlink *l)
{
	return l->url_text;
}

uint64_t
mlink_retry_in_ms(const struct mlink *l)
{
	uint64_t now = l->clock.now_ms(l->clock.arg);
	return l->connected || now >= l->next_try_ms ? 0 : l->next_try_ms - now;
}

/* Note a failure: drop the connection and push the next attempt out. */
static void
link_failed(struct mlink *l, const char *what)
{
	uint64_t delay = l->cfg.backoff_base_ms;

	mlink_close(l);
	for (unsigned i = 0; i < l->fails && delay < l->cfg.backoff_cap_ms; i++)
		delay *= 2;
	if (delay > l->cfg.backoff_cap_ms)
		delay = l->cfg.backoff_cap_ms;
	l->fails++;
	l->next_try_ms = l->clock.now_ms(l->clock.arg) + delay;
	/* Say it once per episode loudly, then quietly: a sleeping device is normal. */
	if (l->fails == 1)
		log_warnx("modbus %s: %s; retrying in %llu ms", l->url_text, what,
		          (unsigned long long)delay);
	else
		log_debug("modbus %s: %s; retrying in %llu ms", l->url_text, what,
		          (unsigned long long)delay);
}

static pw_err
link_connect(struct mlink *l)
{
	char port[8];
	uint32_t sec = l->cfg.timeout_ms / 1000, usec = (l->cfg.timeout_ms % 1000) * 1000;

	l->st.connect_attempts++;
	if (l->url.kind == MLINK_TCP) {
		snprintf(port, sizeof(port), "%u", l->url.port);
		l->ctx = modbus_new_tcp_pi(l->url.host, port);
	} else {
		l->ctx = modbus_new_rtu(l->url.device, (int)l->url.baud, l->url.parity,
		                        l->url.data_bits, l->url.stop_bits);
	}
	if (l->ctx == NULL) {
		link_failed(l, "cannot create the Modbus context");
		return PW_ERR_UNAVAILABLE;
	}
	if (modbus_set_slave(l->ctx, l->cfg.unit) == -1 ||
	    modbus_set_response_timeout(l->ctx, sec, usec) == -1) {
		link_failed(l, "cannot configure the Modbus context");
		return PW_ERR_UNAVAILABLE;
	}
	if (modbus_connect(l->ctx) == -1) {
		char msg[160];
		snprintf(msg, sizeof(msg), "connect failed: %s", modbus_strerror(errno));
		link_failed(l, msg);
		return PW_ERR_UNAVAILABLE;
	}
	if (l->url.kind == MLINK_RTU)
		modbus_flush(l->ctx);
	/* Many inverters drop requests sent right after the connection opens. */
	if (l->cfg.quiet_ms > 0)
		l->clock.sleep_ms(l->clock.arg, l->cfg.quiet_ms);
	l->connected = true;
	l->st.connects++;
	log_info("modbus %s: connected (unit %d)", l->url_text, l->cfg.unit);
	return PW_OK;
}

pw_err
mlink_read(struct mlink *l, uint16_t addr, uint16_t count, uint16_t *regs)
{
	return mlink_read_ex(l, 3, -1, addr, count, regs);
}

pw_err
mlink_read_ex(struct mlink *l, int fc, int unit, uint16_t addr, uint16_t count, uint16_t *regs)
{
	int n, err;
	pw_err rc;

	if (count < 1 || count > MODBUS_MAX_READ_REGISTERS || (uint32_t)addr + count > 65536u ||
	    (fc != 3 && fc != 4) || unit < -1 || unit > 255 ||
	    (l->url.kind == MLINK_RTU && unit >= 0 && (unit < 1 || unit > 247)))
		return PW_ERR_ARG;
	if (!l->connected) {
		if (l->clock.now_ms(l->clock.arg) < l->next_try_ms) {
			l->st.skipped++;
			return PW_ERR_UNAVAILABLE;
		}
		if ((rc = link_connect(l)) != PW_OK)
			return rc;
	}
	/* a gateway (a Victron GX, an RS485 bridge) reaches several unit ids */
	if (modbus_set_slave(l->ctx, unit >= 0 ? unit : l->cfg.unit) == -1)
		return PW_ERR_ARG;
	if (fc == 4)
		n = modbus_read_input_registers(l->ctx, addr, count, regs);
	else
		n = modbus_read_registers(l->ctx, addr, count, regs);
	if (n == count) {
		l->fails = 0;
		l->st.reads_ok++;
		return PW_OK;
	}
	err = errno;
	if (n >= 0) {
		l->st.malformed++;
		link_failed(l, "short reply");
		return PW_ERR_MODBUS;
	}
	if (err >= EMBXILFUN && err <= EMBXGTAR) {
		/* The device is alive and answered: keep the link and the backoff clear. */
		l->fails = 0;
		l->st.exceptions++;
		log_debug("modbus %s: exception reading %u+%u: %s", l->url_text, addr, count,
		          modbus_strerror(err));
		return PW_ERR_MODBUS_EXC;
	}
	if (err == ETIMEDOUT) {
		/* A late reply would be taken for the next request's: reconnect instead. */
		l->st.timeouts++;
		link_failed(l, "no reply in time");
		return PW_ERR_TIMEOUT;
	}
	l->st.malformed++;
	{
		char msg[160];
		snprintf(msg, sizeof(msg), "read failed: %s", modbus_strerror(err));
		link_failed(l, msg);
	}
	return PW_ERR_MODBUS;
}

pw_err
mlink_read_cb(void *arg, uint16_t addr, uint16_t count, uint16_t *regs)
{
	return mlink_read(arg, addr, count, regs);
}

pw_err
mlink_read_ex_cb(void *arg, int fc, int unit, uint16_t addr, uint16_t count, uint16_t *regs)
{
	return mlink_read_ex(arg, fc, unit, addr, count, regs);
}
