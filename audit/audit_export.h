/*
 * audit_export.h: peerwatt-audit export, the log as CSV for spreadsheets
 * (docs/audit.md "CSV export" lists the columns).
 *
 * Writes trades.csv, readings.csv, statements.csv and households.csv into a
 * directory (created when missing), from the logged frames (RESULT, METER,
 * STATEMENT; names, zones, interval and currency from the REGISTRY and
 * MARKET entries, or the tables households and params of an old-format
 * database without them).  It does not verify: run verify for
 * that.  Money columns are decimal currency units with six decimals (exact
 * micro-units); energy in Wh.  Called by audit/main.c.  Reads only.
 */
#ifndef AUDIT_EXPORT_H
#define AUDIT_EXPORT_H

#include <stddef.h>

#include <sqlite3.h>

#include "peerwatt/error.h"

/* PW_ERR_IO when a file cannot be written, PW_ERR_CORRUPT when an entry
 * does not decode; `err` (room for `cap` bytes) then says what. */
pw_err audit_export_csv(sqlite3 *db, const char *dir, char *err, size_t cap)
    __attribute__((warn_unused_result));

#endif
