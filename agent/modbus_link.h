/*
 * modbus_link.h: the agent's one Modbus connection to its inverter/meter.
 *
 * Owns: the URL syntax (tcp://HOST:PORT, rtu:/dev/X:BAUD:8N1|8E1|8N2), the
 * libmodbus context, the response timeout, the quiet time after connecting,
 * and the reconnect policy: while the device does not answer, connection
 * attempts are spaced by an exponential backoff (base doubling up to a cap);
 * reads in between fail at once with PW_ERR_UNAVAILABLE instead of blocking.
 * A read either fills every register asked for or returns an error: a
 * timeout, an exception or a malformed reply never yields a value.  A whole
 * transaction has a hard deadline (mlink_deadline_ms), enforced by a
 * watchdog thread of the link whatever libmodbus's per-byte timeout does.
 *
 * Prefix mlink_.  Called by agent/probe.c and the agent daemon's poller;
 * mlink_read_cb() plugs a link into struct sunspec_io.
 * Thread-safety: one struct mlink serialises one connection and is used by
 * one thread at a time (real devices accept one client and one request);
 * only mlink_interrupt() may be called from another thread.  The link's
 * own watchdog thread (started at the first read, joined by
 * mlink_destroy) shares nothing with the reader but the transaction state
 * under its mutex.
 */
#ifndef AGENT_MODBUS_LINK_H
#define AGENT_MODBUS_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "peerwatt/error.h"

#define MLINK_HOST_MAX 253
#define MLINK_DEV_MAX  255

enum mlink_kind { MLINK_TCP, MLINK_RTU };

struct mlink_url {
	enum mlink_kind kind;
	char host[MLINK_HOST_MAX + 1]; /* tcp: name or address ([::1] stored as ::1) */
	uint16_t port;
	char device[MLINK_DEV_MAX + 1]; /* rtu: /dev/... */
	uint32_t baud;
	char parity; /* 'N' or 'E' */
	int data_bits, stop_bits;
};

/* Parse `url` strictly (see the top); PW_ERR_PARSE names nothing, log says what. */
pw_err mlink_url_parse(const char *url, struct mlink_url *out) __attribute__((warn_unused_result));

/* Time source, injectable for tests: milliseconds of a monotonic clock, and a sleep. */
struct mlink_clock {
	uint64_t (*now_ms)(void *arg);
	void (*sleep_ms)(void *arg, uint32_t ms);
	void *arg;
};

struct mlink_cfg {
	int unit;                 /* Modbus unit id: tcp 0..255, rtu 1..247 */
	uint32_t timeout_ms;      /* response timeout, default 2000 */
	uint32_t quiet_ms;        /* pause after connecting, default 0 */
	uint32_t backoff_base_ms; /* first retry delay, default 1000 */
	uint32_t backoff_cap_ms;  /* longest retry delay, default 60000 */
	uint32_t deadline_ms;     /* a whole transaction, 0: mlink_deadline_ms() */
};

/* Added to the response timeout for a whole transaction's deadline. */
#define MLINK_DEADLINE_SLACK_MS 1000

struct mlink_stats {
	unsigned long connect_attempts, connects, reads_ok, timeouts, exceptions, malformed,
	    skipped,   /* skipped: reads refused during a backoff */
	    deadlines, /* transactions ended at their deadline (counted in timeouts too) */
	    writes_ok; /* writes acknowledged (counted in reads_ok too) */
};

struct mlink;

/* Defaults above, unit 1. */
void mlink_cfg_defaults(struct mlink_cfg *cfg);

/*
 * The hard deadline of one transaction (request and whole reply): the
 * configured deadline_ms, else timeout_ms + MLINK_DEADLINE_SLACK_MS, plus on
 * a serial line the time 256 bytes of 11 bits take at its speed.  libmodbus
 * only bounds the wait for the first byte (the response timeout) and the
 * gap between bytes (its byte timeout, restarted at every byte): a device
 * that dribbles its reply would hold a read for minutes.
 */
uint32_t mlink_deadline_ms(const struct mlink_url *u, const struct mlink_cfg *cfg);

/*
 * Parse url, check cfg and create a link (not yet connected: the first read
 * connects).  clock NULL: the real monotonic clock.  Caller owns *out and frees
 * it with mlink_destroy().  PW_ERR_PARSE, PW_ERR_RANGE (unit, timeouts), PW_ERR_NOMEM.
 */
pw_err mlink_new(const char *url, const struct mlink_cfg *cfg, const struct mlink_clock *clock,
                 struct mlink **out) __attribute__((warn_unused_result));
/* Close and free *lp, then set it to NULL; NULL-safe. */
void mlink_destroy(struct mlink **lp);

/*
 * Read count (1..125) holding registers at PDU address addr into regs.
 * PW_OK: all of regs filled.  Errors, regs then unspecified:
 *   PW_ERR_UNAVAILABLE  not connected and the backoff delay has not passed,
 *                       or the connection attempt failed
 *   PW_ERR_TIMEOUT      no reply in time (the connection is dropped)
 *   PW_ERR_MODBUS_EXC   the device answered with an exception (link kept)
 *   PW_ERR_MODBUS       malformed reply or broken connection (dropped)
 *   PW_ERR_ARG          count out of range
 */
pw_err mlink_read(struct mlink *l, uint16_t addr, uint16_t count, uint16_t *regs)
    __attribute__((warn_unused_result));
/* The same with the sunspec_io signature: arg is the struct mlink. */
pw_err mlink_read_cb(void *arg, uint16_t addr, uint16_t count, uint16_t *regs);

/*
 * mlink_read with a function code (3 holding, 4 input registers) and a unit
 * id for this request only (-1: the link's; a gateway such as a Victron GX
 * serves several).  Errors as mlink_read; PW_ERR_ARG for another fc or unit.
 */
pw_err mlink_read_ex(struct mlink *l, int fc, int unit, uint16_t addr, uint16_t count,
                     uint16_t *regs) __attribute__((warn_unused_result));
/* The same with the tmpl_io signature: arg is the struct mlink. */
pw_err mlink_read_ex_cb(void *arg, int fc, int unit, uint16_t addr, uint16_t count, uint16_t *regs);

/* Registers one write may carry (function 16; Modbus allows 123). */
#define MLINK_MAX_WRITE 32

/*
 * Write count (1..MLINK_MAX_WRITE) holding registers at PDU address addr
 * with function 16 (write multiple registers), under the same timeout,
 * deadline and backoff as a read.  PW_OK: the device acknowledged the
 * write (what it made of it is for a read-back to tell).  Errors as
 * mlink_read.  Only agent/control.c (docs/agent-energy.md "Curtailment") and
 * agent/storage_ctl.c (battery setpoints, docs/metering.md "Storage
 * controls") write.
 */
pw_err mlink_write(struct mlink *l, uint16_t addr, uint16_t count, const uint16_t *regs)
    __attribute__((warn_unused_result));
/* The same as a callback: arg is the struct mlink. */
pw_err mlink_write_cb(void *arg, uint16_t addr, uint16_t count, const uint16_t *regs);

/*
 * From any thread: end the transaction under way at once (its read fails
 * with PW_ERR_TIMEOUT) and make every later read fail at once with
 * PW_ERR_UNAVAILABLE.  For a graceful stop of the thread that reads.
 */
void mlink_interrupt(struct mlink *l);

/* Drop the connection now (the next read reconnects without waiting). */
void mlink_close(struct mlink *l);
bool mlink_connected(const struct mlink *l);
/* Milliseconds until the next connection attempt is allowed (0: now). */
uint64_t mlink_retry_in_ms(const struct mlink *l);
const struct mlink_stats *mlink_stats(const struct mlink *l);
/* The URL as given, for messages. */
const char *mlink_url(const struct mlink *l);

#endif
