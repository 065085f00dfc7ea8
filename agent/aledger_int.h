/*
 * aledger_int.h: what the ledger's files (agent/aledger.c,
 * agent/aledger_energy.c) share and nothing else sees.
 */
#ifndef AGENT_ALEDGER_INT_H
#define AGENT_ALEDGER_INT_H

#include <stdint.h>

#include <sqlite3.h>

struct aledger {
	sqlite3 *db;
};

/* A u64 as an SQLite integer, saturating. */
static inline int64_t
aledger_clamp64(uint64_t v)
{
	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

#endif
