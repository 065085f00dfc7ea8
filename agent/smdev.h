/*
 * smdev.h: the utility smart meters (p1:, sml:) as device backends
 * (agent/device.c's extra_backends), so that the agent's [meter] (or
 * [device]) url may name one.
 *
 * A poll drains what the line holds without waiting.  When a good telegram
 * came since the last poll it is the reading; otherwise the newest good one
 * is served again while it is younger than the stall limit (meters send
 * every 1 to 10 s, the agent polls faster: the same register values, never
 * an interpolated or invented one).  The stall limit is the device's
 * timeout_ms, SMDEV_STALL_MS when 0.  After that long without a good
 * telegram (stalled, or every telegram refused) a poll fails with
 * PW_ERR_TIMEOUT; a device that cannot be opened or hangs up fails with
 * PW_ERR_UNAVAILABLE and is reopened at the next poll.  The device need not
 * exist when the agent starts (an optical head plugged in later is read).
 * Fills has_meter, the export/import registers (raw, sf, whole Wh; no
 * wrap), the power when the telegram has one (import positive) and
 * meter_serial (the meter's id, cut to 32 characters).
 */
#ifndef AGENT_SMDEV_H
#define AGENT_SMDEV_H

#include "agent/device.h"

#define SMDEV_STALL_MS 30000 /* DSMR 4 sends every 10 s: three telegrams */

extern const struct dev_backend smdev_p1_backend;
extern const struct dev_backend smdev_sml_backend;

#endif
