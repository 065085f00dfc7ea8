/*
 * evidence.h: `peerwatt-agent evidence`, the household's evidence for an
 * audit as a file of its own (agent/evidence.c).  Called by agent/main.c.
 */
#ifndef AGENT_EVIDENCE_H
#define AGENT_EVIDENCE_H

/* argv[0] is "evidence".  Returns the exit status. */
int evidence_main(int argc, char **argv);

#endif
