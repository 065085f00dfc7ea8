/*
 * smprobe.h: `peerwatt-agent probe [--json] [--count N] [--wait MS]
 * [--stall MS] [--rated-power W] sml:/dev/X[:BAUD] | p1:/dev/X[:BAUD]`:
 * waits (up to --wait, default 15 s) for the meter's next telegram that
 * passes every check and prints it with the SunSpec probe's keys
 * (meter{power_w,export_wh,import_wh}, common{serial}) plus "template":
 * "sml" or "p1".  --count N reads N telegrams, one JSON line each
 * ({"error":"read",...} for a wait without a good one), then a summary with
 * the reader's counters (CRC errors, malformed, truncated, stalls).
 * Called by probe_main when its URL is a smart meter's; uses smeter.
 */
#ifndef AGENT_SMPROBE_H
#define AGENT_SMPROBE_H

/* argv[0] is "probe".  Returns a sysexits code: 0, 64 usage, 69 no good telegram. */
int smprobe_main(int argc, char **argv);

#endif
