/*
 * modbus_link.c: one libmodbus connection with timeouts and backoff (see modbus_link.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

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
	/* The transaction deadline: a watchdog thread (started at the first
	 * read) ends a transaction that outlives tx_limit_ms by shutting its
	 * socket down (TCP) or putting /dev/null in place of its line (RTU).
	 * wd_mu guards everything below; the fd is only touched while in_tx,
	 * and the reading thread closes it only after clearing in_tx. */
	pthread_mutex_t wd_mu;
	pthread_cond_t wd_cv;
	pthread_t wd_thread;
	bool wd_started, wd_quit;
	bool in_tx, tx_expired, interrupted;
	int tx_fd;
	uint64_t tx_deadline_ms; /* CLOCK_MONOTONIC, real even under a test clock */
	uint32_t tx_limit_ms;
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
	cfg->deadline_ms = 0;
}

uint32_t
mlink_deadline_ms(const struct mlink_url *u, const struct mlink_cfg *cfg)
{
	uint64_t ms;

	if (cfg->deadline_ms != 0)
		return cfg->deadline_ms;
	ms = (uint64_t)cfg->timeout_ms + MLINK_DEADLINE_SLACK_MS;
	/* a serial line also needs the time the longest frame (256 bytes of
	 * 11 bits) takes at its speed */
	if (u->kind == MLINK_RTU && u->baud > 0)
		ms += 256u * 11u * 1000u / u->baud + 1;
	return (uint32_t)ms;
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
	    cfg->backoff_cap_ms > 3600000 ||
	    (cfg->deadline_ms != 0 &&
	     (cfg->deadline_ms < cfg->timeout_ms || cfg->deadline_ms > 120000)))
		return PW_ERR_RANGE;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return PW_ERR_NOMEM;
	{
		pthread_condattr_t ca;
		if (pthread_condattr_init(&ca) != 0 ||
		    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
		    pthread_cond_init(&l->wd_cv, &ca) != 0) {
			free(l);
			return PW_ERR_NOMEM;
		}
		pthread_condattr_destroy(&ca);
		if (pthread_mutex_init(&l->wd_mu, NULL) != 0) {
			pthread_cond_destroy(&l->wd_cv);
			free(l);
			return PW_ERR_NOMEM;
		}
	}
	l->tx_fd = -1;
	l->tx_limit_ms = mlink_deadline_ms(&u, cfg);
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
	struct mlink *l;

	if (lp == NULL || *lp == NULL)
		return;
	l = *lp;
	pthread_mutex_lock(&l->wd_mu);
	l->wd_quit = true;
	pthread_cond_broadcast(&l->wd_cv);
	pthread_mutex_unlock(&l->wd_mu);
	if (l->wd_started)
		pthread_join(l->wd_thread, NULL);
	mlink_close(l);
	pthread_cond_destroy(&l->wd_cv);
	pthread_mutex_destroy(&l->wd_mu);
	free(l);
	*lp = NULL;
}

/* --- the transaction deadline ---------------------------------------------------- */

static uint64_t
mono_ms(void)
{
	return real_now_ms(NULL);
}

/* Ends the transaction under way at once (wd_mu held, in_tx): the pending
 * select() or recv() of libmodbus returns, and the read fails. */
static void
tx_kill(struct mlink *l)
{
	if (l->tx_fd < 0)
		return;
	if (l->url.kind == MLINK_TCP) {
		(void)shutdown(l->tx_fd, SHUT_RDWR); /* wakes the select at once */
	} else {
		/* a serial line cannot be shut down: /dev/null takes its place,
		 * whose end-of-file the next read (at the next byte or the byte
		 * timeout) sees; mlink_close() then closes it */
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (nul >= 0) {
			(void)dup2(nul, l->tx_fd);
			close(nul);
		}
	}
}

static void *
wd_main(void *arg)
{
	struct mlink *l = arg;

	pthread_mutex_lock(&l->wd_mu);
	while (!l->wd_quit) {
		if (!l->in_tx || l->tx_expired) {
			pthread_cond_wait(&l->wd_cv, &l->wd_mu);
			continue;
		}
		if (mono_ms() >= l->tx_deadline_ms) {
			tx_kill(l);
			l->tx_expired = true;
			continue;
		}
		struct timespec ts = { (time_t)(l->tx_deadline_ms / 1000),
			               (long)(l->tx_deadline_ms % 1000) * 1000000L };
		pthread_cond_timedwait(&l->wd_cv, &l->wd_mu, &ts);
	}
	pthread_mutex_unlock(&l->wd_mu);
	return NULL;
}

/* Before a transaction: false when the link was interrupted. */
static bool
tx_begin(struct mlink *l)
{
	bool ok;

	pthread_mutex_lock(&l->wd_mu);
	ok = !l->interrupted;
	if (ok && !l->wd_started) {
		if (pthread_create(&l->wd_thread, NULL, wd_main, l) == 0)
			l->wd_started = true;
		else
			log_warnx("modbus %s: cannot start the deadline watchdog", l->url_text);
	}
	if (ok) {
		l->in_tx = true;
		l->tx_expired = false;
		l->tx_fd = modbus_get_socket(l->ctx);
		l->tx_deadline_ms = mono_ms() + l->tx_limit_ms;
		pthread_cond_broadcast(&l->wd_cv);
	}
	pthread_mutex_unlock(&l->wd_mu);
	return ok;
}

/* After it: true when the deadline (or mlink_interrupt) ended it. */
static bool
tx_end(struct mlink *l)
{
	bool expired;

	pthread_mutex_lock(&l->wd_mu);
	l->in_tx = false;
	l->tx_fd = -1;
	expired = l->tx_expired;
	l->tx_expired = false;
	pthread_mutex_unlock(&l->wd_mu);
	return expired;
}

void
mlink_interrupt(struct mlink *l)
{
	pthread_mutex_lock(&l->wd_mu);
	l->interrupted = true;
	if (l->in_tx && !l->tx_expired) {
		tx_kill(l);
		l->tx_expired = true;
	}
	pthread_cond_broadcast(&l->wd_cv); /* a quiet time waiting ends too */
	pthread_mutex_unlock(&l->wd_mu);
}

/* The quiet time after connecting, on the real clock; mlink_interrupt
 * ends it. */
static void
quiet_wait(struct mlink *l, uint32_t ms)
{
	uint64_t end = mono_ms() + ms;

	pthread_mutex_lock(&l->wd_mu);
	while (!l->interrupted && !l->wd_quit && mono_ms() < end) {
		struct timespec ts = { (time_t)(end / 1000), (long)(end % 1000) * 1000000L };
		pthread_cond_timedwait(&l->wd_cv, &l->wd_mu, &ts);
	}
	pthread_mutex_unlock(&l->wd_mu);
}

static bool
is_interrupted(struct mlink *l)
{
	bool v;
	pthread_mutex_lock(&l->wd_mu);
	v = l->interrupted;
	pthread_mutex_unlock(&l->wd_mu);
	return v;
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
	if (l->cfg.quiet_ms > 0) {
		if (l->clock.sleep_ms == real_sleep_ms)
			quiet_wait(l, l->cfg.quiet_ms); /* a stop ends it */
		else
			l->clock.sleep_ms(l->clock.arg, l->cfg.quiet_ms);
	}
	if (is_interrupted(l)) {
		mlink_close(l);
		return PW_ERR_UNAVAILABLE;
	}
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

/* Connects when needed and starts a transaction for `unit` (-1: the
 * link's); PW_OK or why not (the request is not sent then). */
static pw_err
tx_open(struct mlink *l, int unit)
{
	pw_err rc;

	if (is_interrupted(l)) {
		l->st.skipped++;
		return PW_ERR_UNAVAILABLE;
	}
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
	if (!tx_begin(l)) {
		l->st.skipped++;
		return PW_ERR_UNAVAILABLE;
	}
	return PW_OK;
}

/* Ends the transaction: n is what libmodbus returned (registers read or
 * written), err its errno; the same judgement for reads and writes. */
static pw_err
tx_close(struct mlink *l, int n, int err, uint16_t addr, uint16_t count, const char *verb)
{
	if (tx_end(l)) {
		if (is_interrupted(l)) { /* a stop, not a fault of the device */
			mlink_close(l);
			return PW_ERR_TIMEOUT;
		}
		/* a device dribbling its reply (libmodbus's byte timeout restarts
		 * at every byte) is a fault, not a stall; whatever came is dropped */
		char msg[160];
		l->st.timeouts++;
		l->st.deadlines++;
		snprintf(msg, sizeof(msg),
		         "no whole reply within the transaction's deadline of %u ms",
		         l->tx_limit_ms);
		link_failed(l, msg);
		return PW_ERR_TIMEOUT;
	}
	if (n == count) {
		l->fails = 0;
		l->st.reads_ok++;
		return PW_OK;
	}
	if (n >= 0) {
		l->st.malformed++;
		link_failed(l, "short reply");
		return PW_ERR_MODBUS;
	}
	if (err >= EMBXILFUN && err <= EMBXGTAR) {
		/* The device is alive and answered: keep the link and the backoff clear. */
		l->fails = 0;
		l->st.exceptions++;
		log_debug("modbus %s: exception %s %u+%u: %s", l->url_text, verb, addr, count,
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
		snprintf(msg, sizeof(msg), "%s failed: %s", verb, modbus_strerror(err));
		link_failed(l, msg);
	}
	return PW_ERR_MODBUS;
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
	if ((rc = tx_open(l, unit)) != PW_OK)
		return rc;
	if (fc == 4)
		n = modbus_read_input_registers(l->ctx, addr, count, regs);
	else
		n = modbus_read_registers(l->ctx, addr, count, regs);
	err = errno;
	return tx_close(l, n, err, addr, count, "reading");
}

pw_err
mlink_write(struct mlink *l, uint16_t addr, uint16_t count, const uint16_t *regs)
{
	int n, err;
	pw_err rc;

	if (count < 1 || count > MLINK_MAX_WRITE || (uint32_t)addr + count > 65536u)
		return PW_ERR_ARG;
	if ((rc = tx_open(l, -1)) != PW_OK)
		return rc;
	n = modbus_write_registers(l->ctx, addr, count, regs);
	err = errno;
	if ((rc = tx_close(l, n, err, addr, count, "writing")) == PW_OK)
		l->st.writes_ok++;
	return rc;
}

pw_err
mlink_write_cb(void *arg, uint16_t addr, uint16_t count, const uint16_t *regs)
{
	return mlink_write(arg, addr, count, regs);
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
