/*
 * keygen.h: `peerwatt-agent keygen --out FILE`: creates a household's
 * Ed25519 key file (0600, never overwriting) and prints the public key and
 * the line to add to the exchange's household registry.  Called by
 * agent/main.c's dispatcher.
 */
#ifndef AGENT_KEYGEN_H
#define AGENT_KEYGEN_H

/* Returns a sysexits code (0, 64 usage, 73 cannot create, 70 software). */
int keygen_main(int argc, char **argv);

#endif
