/*
 * agent/main.c: peerwatt-agent's subcommand dispatcher, nothing else.
 *
 *   peerwatt-agent probe ...      agent/probe.c   (metering helper)
 *   peerwatt-agent keygen ...     agent/keygen.c
 *   peerwatt-agent evidence ...   agent/evidence.c (the household's evidence for an audit)
 *   peerwatt-agent -c FILE ...    the daemon (agent/agentd.c)
 */
#include <stdio.h>
#include <string.h>

#include "agent/agentd.h"
#include "agent/evidence.h"
#include "agent/keygen.h"
#include "agent/probe.h"
#include "peerwatt/cli.h"
#include "peerwatt/log.h"

#define EX_UNAVAILABLE 69

static void
usage(FILE *f)
{
	fprintf(f, "usage: peerwatt-agent -c FILE [--check-config]   run the agent daemon\n"
	           "       peerwatt-agent keygen --out FILE ...       create a household key\n"
	           "       peerwatt-agent probe --modbus URL --unit N [--json] ...\n"
	           "                                                  read a SunSpec device once\n"
	           "       peerwatt-agent evidence --db AGENT_DB --out FILE\n"
	           "                                                  the household's evidence for "
	           "an audit\n"
	           "       peerwatt-agent --help | --version\n\n"
	           "  -c, --config FILE   configuration (peerwatt.conf(5), docs/agent.md)\n"
	           "  --check-config      load and check the configuration, the device URL and\n"
	           "                      the key file, print any error as file:line, then exit\n"
	           "'peerwatt-agent keygen --help' and 'peerwatt-agent probe --help' list the\n"
	           "options of those commands.\n");
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		return pw_cli_usage_error("peerwatt-agent",
		                          "-c FILE or a command (keygen, probe) is required");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("peerwatt-agent %s\n", PW_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "probe") == 0) {
		log_init("peerwatt-agent", LOG_LEVEL_ERR);
		return probe_main(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "keygen") == 0)
		return keygen_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "evidence") == 0)
		return evidence_main(argc - 1, argv + 1);
	/* the daemon, `-c FILE [--check-config]` (agent/agentd.c) */
	return agentd_main(argc, argv);
}
