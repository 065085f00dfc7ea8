/*
 * agentd.h: the peerwatt-agent daemon, `peerwatt-agent -c FILE
 * [--check-config]`: setup (config, key, database, device, exchange link,
 * dashboard) and the single-threaded zmq_poll loop that drives polling,
 * interval accounting, trading, the outbox, queries and the dashboard.
 * Called by agent/main.c.  docs/agent.md describes the behaviour.
 */
#ifndef AGENT_AGENTD_H
#define AGENT_AGENTD_H

/* Returns a sysexits code: 0 after SIGTERM/SIGINT, 64 usage, 69 a service
 * cannot start, 70 internal error, 78 configuration or key file error. */
int agentd_main(int argc, char **argv);

#endif
