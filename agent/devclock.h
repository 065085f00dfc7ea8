/*
 * devclock.h: the time of day of the household's devices, which is what
 * the forecast's daily profile, the standing bids' windows and the agent's
 * log of intervals follow (docs/agent.md "Time of day").
 *
 * Normally the local wall clock.  With [sim] in the agent configuration
 * (tests and the demo only) it is the clock of peerwatt-sim: it reads
 * `start` at Unix time `epoch` and runs `speed` times faster than real
 * time, exactly as `peerwatt-sim --epoch EPOCH --start-time START --speed
 * SPEED`, so that a simulated day of a few minutes is a day to the
 * forecast.  The market's intervals stay wall-clock intervals (the
 * exchange's clock decides); only their time of day is the devices'.
 *
 * struct devclock is a plain value owned by the caller; no I/O but
 * localtime_r.  Thread-safe.
 */
#ifndef AGENT_DEVCLOCK_H
#define AGENT_DEVCLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "peerwatt/error.h"

#define DEVCLOCK_MAX_SPEED 86400
#define DEVCLOCK_MAX_EPOCH 4102444800 /* 2100-01-01 */

struct devclock {
	int simulated;    /* 0: the local wall clock */
	int64_t epoch_s;  /* Unix time at which the simulated clock read start_s */
	uint32_t start_s; /* seconds of the day, 0..86399 */
	uint32_t speed;   /* simulated seconds per real second, 1..DEVCLOCK_MAX_SPEED */
};

/* The local wall clock. */
void devclock_local(struct devclock *c);

/* peerwatt-sim's clock; PW_ERR_RANGE when a value is out of range
 * (epoch 0..DEVCLOCK_MAX_EPOCH, start 0..86400, speed 1..DEVCLOCK_MAX_SPEED). */
pw_err devclock_sim(struct devclock *c, int64_t epoch_s, uint32_t start_s, uint32_t speed)
    __attribute__((warn_unused_result));

/* Seconds since the devices' midnight (0..86399) at Unix time `unix_ms`. */
uint32_t devclock_tod(const struct devclock *c, int64_t unix_ms);

/* Unix ms at which the devices' current day (the one holding `unix_ms`)
 * began, to the millisecond with [sim], to the second otherwise. */
int64_t devclock_day_start_ms(const struct devclock *c, int64_t unix_ms);

/* The length of one of the devices' days in real seconds (rounded up). */
uint64_t devclock_day_wall_s(const struct devclock *c);

/* The length on the devices' clock of `wall_s` seconds of real time. */
uint64_t devclock_span_s(const struct devclock *c, uint64_t wall_s);

/* "HH:MM" of devclock_tod into buf (at least 6 bytes); returns buf. */
char *devclock_hhmm(const struct devclock *c, int64_t unix_ms, char *buf, size_t cap);

#endif
