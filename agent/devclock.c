/*
 * devclock.c: the devices' time of day (see devclock.h).  Called by agentd
 * wherever an interval needs its time of day (forecast, standing bids,
 * logs, dashboard state).
 */
#include "agent/devclock.h"

#include <stdio.h>
#include <time.h>

#define DAY_MS 86400000LL

void
devclock_local(struct devclock *c)
{
	c->simulated = 0;
	c->epoch_s = 0;
	c->start_s = 0;
	c->speed = 1;
}

pw_err
devclock_sim(struct devclock *c, int64_t epoch_s, uint32_t start_s, uint32_t speed)
{
	if (epoch_s < 0 || epoch_s > DEVCLOCK_MAX_EPOCH || start_s > 86400 || speed < 1 ||
	    speed > DEVCLOCK_MAX_SPEED)
		return PW_ERR_RANGE;
	c->simulated = 1;
	c->epoch_s = epoch_s;
	c->start_s = start_s % 86400;
	c->speed = speed;
	return PW_OK;
}

uint32_t
devclock_tod(const struct devclock *c, int64_t unix_ms)
{
	if (!c->simulated) {
		struct tm tm;
		time_t t = (time_t)(unix_ms / 1000);
		if (localtime_r(&t, &tm) == NULL)
			return (uint32_t)((t % 86400 + 86400) % 86400);
		return (uint32_t)(tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
	}
	/* Bounded: |unix_ms - epoch| < 2^43 ms and speed <= 86400 < 2^17,
	 * so the product stays below 2^60. */
	int64_t rel_ms = unix_ms - c->epoch_s * 1000;
	if (rel_ms > (1LL << 43))
		rel_ms = 1LL << 43;
	if (rel_ms < -(1LL << 43))
		rel_ms = -(1LL << 43);
	int64_t dev_ms = ((int64_t)c->start_s * 1000 + rel_ms * (int64_t)c->speed) % DAY_MS;
	if (dev_ms < 0)
		dev_ms += DAY_MS;
	return (uint32_t)(dev_ms / 1000);
}

int64_t
devclock_day_start_ms(const struct devclock *c, int64_t unix_ms)
{
	if (!c->simulated)
		return unix_ms - (int64_t)devclock_tod(c, unix_ms) * 1000 - unix_ms % 1000;
	/* simulated ms since the devices' midnight, in real ms */
	int64_t rel_ms = unix_ms - c->epoch_s * 1000;
	if (rel_ms > (1LL << 43))
		rel_ms = 1LL << 43;
	if (rel_ms < -(1LL << 43))
		rel_ms = -(1LL << 43);
	int64_t dev_ms = ((int64_t)c->start_s * 1000 + rel_ms * (int64_t)c->speed) % DAY_MS;
	if (dev_ms < 0)
		dev_ms += DAY_MS;
	return unix_ms - dev_ms / (int64_t)c->speed;
}

uint64_t
devclock_day_wall_s(const struct devclock *c)
{
	uint32_t v = c->simulated ? c->speed : 1;
	return (86400 + (uint64_t)v - 1) / v;
}

uint64_t
devclock_span_s(const struct devclock *c, uint64_t wall_s)
{
	if (!c->simulated)
		return wall_s;
	if (wall_s > UINT64_MAX / DEVCLOCK_MAX_SPEED)
		return UINT64_MAX;
	return wall_s * c->speed;
}

char *
devclock_hhmm(const struct devclock *c, int64_t unix_ms, char *buf, size_t cap)
{
	uint32_t t = devclock_tod(c, unix_ms);
	snprintf(buf, cap, "%02u:%02u", t / 3600, t % 3600 / 60);
	return buf;
}
