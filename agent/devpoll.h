/*
 * devpoll.h: the agent daemon's device thread.  Device I/O never blocks the
 * market loop or the dashboard: a thread of its own owns the device sources
 * (agent/device.c: the Modbus contexts, the SunSpec discovery, a smart
 * meter's reader) and polls them every poll_ms; each round becomes one
 * struct devpoll_sample, a plain value, handed to the loop through a
 * mailbox (a bounded queue under a mutex) and an eventfd the loop's
 * zmq_poll watches.  Nothing else is shared: the loop never touches a
 * struct dev once the thread runs, the thread never touches the agent's
 * state (docs/agent.md "Threads").
 *
 * Stop (devpoll_stop): the flag is set under the mutex, the sleeping thread
 * is woken, a Modbus transaction under way is interrupted at once
 * (dev_interrupt), the thread is joined, then the sources are closed.  A
 * control asked for and not carried out yet (the export limit lifted at a
 * graceful stop) is carried out first instead of the interrupt, within the
 * link's transaction deadlines.
 *
 * Prefix devpoll_.  Called by agent/ameter.c.  Thread-safety: every function
 * is called by the loop's thread; the mailbox is the only thing shared.
 */
#ifndef AGENT_DEVPOLL_H
#define AGENT_DEVPOLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/control.h"
#include "agent/storage_ctl.h"
#include "agent/device.h"
#include "peerwatt/error.h"

/* Samples the mailbox holds; beyond, the oldest is dropped (counted). */
#define DEVPOLL_QUEUE 64

/* One polling round, as the loop receives it. */
struct devpoll_sample {
	int64_t t_ms;          /* Unix ms (+ the clock offset) when the meter poll began */
	pw_err rc;             /* the meter's poll */
	bool discovering;      /* a SunSpec source had no layout before this poll */
	bool full;             /* everything was read (DEV_WANT_ALL), not the meter alone */
	bool has_meter;        /* the source has a grid meter (see ameter_has_meter) */
	bool lacks_meter;      /* dev_lacks_meter(): SunSpec without a meter model */
	struct dev_reading rd; /* rc == PW_OK */
	/* a separate [device] read for its PV power in this round */
	bool inv_polled;
	pw_err inv_rc;
	bool inv_has_pv;
	double inv_pv_w;
	/* an export control carried out in this round (devpoll_set_control) */
	bool ctl_done;
	struct ctl_result ctl;
	/* a battery setpoint carried out in this round (devpoll_set_storage) */
	bool st_done;
	uint64_t st_gen;
	struct stctl_result st;
};

struct devpoll;

/*
 * Takes over `inv` (the [device]) and `meter` (the [meter], NULL when the
 * device is the meter) and starts the thread, which polls at once and then
 * every poll_ms.  clock_offset_ms is added to the wall clock of the samples
 * ([test] clock_offset_s).  *inv and *meter are NULL afterwards, also on
 * error (they are closed then).  Caller owns *out (devpoll_stop).
 * PW_ERR_NOMEM or PW_ERR_IO (no thread, no eventfd).
 */
pw_err devpoll_start(struct dev **inv, struct dev **meter, uint32_t poll_ms,
                     int64_t clock_offset_ms, struct devpoll **out)
    __attribute__((warn_unused_result));

/* Stop and join the thread, close the sources, free; NULL-safe, nulls *dp. */
void devpoll_stop(struct devpoll **dp);

/* Readable while samples wait (an eventfd, for zmq_poll). */
int devpoll_fd(const struct devpoll *d);

/* Moves up to `cap` waiting samples, oldest first, into out; returns how
 * many.  Resets the fd's readiness when the mailbox is empty. */
size_t devpoll_take(struct devpoll *d, struct devpoll_sample *out, size_t cap);

/* A new poll period (a reload), from the next round on. */
void devpoll_set_period(struct devpoll *d, uint32_t poll_ms);

/*
 * Ask the thread to write an export control to the [device] (agent/control.c)
 * in its next round, before its polls; the round's sample carries the
 * result.  A newer ask replaces one not carried out yet.  Only ever called
 * with [device] control = on (docs/agent-energy.md "Curtailment").
 */
void devpoll_set_control(struct devpoll *d, const struct ctl_cmd *cmd);

/*
 * The same for a battery setpoint (agent/storage_ctl.c), gen handed back in
 * the sample's st_gen.  Only ever called with [battery] control = on
 * (docs/agent-energy.md "Battery").
 */
void devpoll_set_storage(struct devpoll *d, const struct stctl_cfg *cfg,
                         const struct stctl_cmd *cmd, uint64_t gen);

/* Samples dropped because the loop did not take them in time. */
unsigned long devpoll_dropped(struct devpoll *d);

/* The URLs of the sources, as configured (copies: safe from the loop). */
const char *devpoll_meter_url(const struct devpoll *d);
const char *devpoll_inv_url(const struct devpoll *d);
/* The meter's source name ("sunspec", a template, "p1", "sml"). */
const char *devpoll_meter_source(const struct devpoll *d);

#endif
