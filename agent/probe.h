/*
 * probe.h: `peerwatt-agent probe --modbus URL --unit N [--json]`: discovers a
 * SunSpec device, reads it once (or --count times) and prints what the agent
 * would see.  Called by agent/main.c's dispatcher; uses modbus_link and sunspec.
 */
#ifndef AGENT_PROBE_H
#define AGENT_PROBE_H

/* argv[0] is "probe".  Returns a sysexits code: 0, 64 usage, 69 no device. */
int probe_main(int argc, char **argv);

#endif
