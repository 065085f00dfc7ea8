/*
 * schedule.h: the exchange's tariff schedule file (`[market] tariff_file`,
 * the dynamic-tariff issue; the parser and its checks come first, the
 * exchange reads the file once the schedule can enter the log).
 *
 * A CSV with the header `from,retail_ct_kwh,feedin_ct_kwh`; each row sets
 * the retail tariff (the auction's price ceiling) and the feed-in tariff
 * (its floor) from its time on, until the next row.  `from` is an ISO 8601
 * time with a zone (`2026-12-07T00:00:00Z`, `2026-12-07T01:00:00+01:00`) on
 * an interval boundary; prices are ct/kWh with at most 4 decimals (1 micro-
 * unit per kWh), feed-in may be negative, retail never below feed-in.  Rows
 * strictly in time order; blank lines and lines starting with `#` are
 * skipped.  Every refusal names the line.
 *
 * Caller owns the parsed schedule (schedule_free).  No global state;
 * thread-safe.
 */
#ifndef PEERWATT_SCHEDULE_H
#define PEERWATT_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "peerwatt/error.h"

#define SCHEDULE_MAX_ROWS  70080      /* two years of quarter hours */
#define SCHEDULE_MAX_BYTES (4u << 20) /* the file */
#define SCHEDULE_MAX_LINE  256
#define SCHEDULE_HEADER    "from,retail_ct_kwh,feedin_ct_kwh"

struct schedule_row {
	uint64_t from_s;         /* Unix seconds, a multiple of the interval */
	int32_t retail_uper_kwh; /* ceiling, >= feedin */
	int32_t feedin_uper_kwh; /* floor, may be negative */
	uint32_t line;           /* its line in the file, for messages */
};

struct schedule {
	struct schedule_row *rows; /* ascending from_s */
	size_t n_rows;
};

/*
 * Parse `len` bytes of CSV text for a market of interval `interval_s`.
 * PW_OK with `out` filled (caller frees), else PW_ERR_PARSE / PW_ERR_RANGE
 * / PW_ERR_FULL with `msg` "line N: what is wrong" and `out` untouched.
 */
pw_err schedule_parse(const char *text, size_t len, uint32_t interval_s, struct schedule *out,
                      char *msg, size_t msgcap) __attribute__((warn_unused_result));

/* Read and parse the file at `path` (at most SCHEDULE_MAX_BYTES); `msg`
 * then starts with the path. */
pw_err schedule_load(const char *path, uint32_t interval_s, struct schedule *out, char *msg,
                     size_t msgcap) __attribute__((warn_unused_result));

/* The row governing Unix time `t_s`: NULL before the first row. */
const struct schedule_row *schedule_at(const struct schedule *s, uint64_t t_s);

/*
 * Whether `next` may replace `cur` at time `now_s` when every interval
 * starting before `frozen_s` has passed its gate (or may hold orders):
 * `next` must govern every instant before `frozen_s` exactly as `cur` does
 * (rows may only be appended or changed from `frozen_s` on).  PW_ERR_STATE
 * with `msg` naming the first instant that would change otherwise.
 */
pw_err schedule_check_append(const struct schedule *cur, const struct schedule *next,
                             uint64_t frozen_s, char *msg, size_t msgcap)
    __attribute__((warn_unused_result));

/* ISO 8601 "YYYY-MM-DDTHH:MM:SS" + "Z" or "+HH:MM"/"-HH:MM" to Unix seconds
 * (years 1970..9999); PW_ERR_PARSE otherwise. */
pw_err schedule_parse_time(const char *text, uint64_t *t_s) __attribute__((warn_unused_result));

/* "25.1234" ct/kWh to micro-units per kWh (251234); at most 4 decimals,
 * within int32; PW_ERR_PARSE / PW_ERR_RANGE otherwise. */
pw_err schedule_parse_ct(const char *text, int32_t *uper_kwh) __attribute__((warn_unused_result));

void schedule_free(struct schedule *s);

/*
 * The grid-fee schedule file (`[market] fee_file`): a CSV with the header
 * `from,zone_a,zone_b,fee_ct_kwh`.  The rows sharing one `from` (written
 * one after the other) form the fee table in force from that time until the
 * next `from`: `ZONE,ZONE,FEE` an explicit pair (either order, a zone may
 * be paired with itself), `=,=,FEE` the same-zone fee (buyer and seller in
 * one zone without an explicit pair), `*,*,FEE` the default fee (zones
 * without an explicit pair); a table without `=,=` or `*,*` takes
 * `[fees] same_zone` / `default`.  Fees are ct/kWh >= 0 with at most 4
 * decimals.  Tables strictly in time order, at most FEE_SCHEDULE_MAX_PAIRS
 * pairs each, a pair (or `=,=`, `*,*`) at most once per table.  Every
 * refusal names the line.
 */
#define FEE_SCHEDULE_HEADER    "from,zone_a,zone_b,fee_ct_kwh"
#define FEE_SCHEDULE_MAX_PAIRS 64 /* PW_MARKET_MAX_FEES */
#define FEE_SCHEDULE_MAX_ROWS  (SCHEDULE_MAX_ROWS * 4)
#define FEE_ZONE_MAX           32 /* REGISTRY_TOKEN_MAX */

struct fee_pair {
	char zone_a[FEE_ZONE_MAX]; /* NUL-terminated tokens, as written */
	char zone_b[FEE_ZONE_MAX];
	uint32_t fee_uper_kwh;
};

struct fee_table {
	uint64_t from_s; /* Unix seconds, a multiple of the interval */
	uint32_t line;   /* the line of its first row */
	int has_same, has_default;
	uint32_t same_zone_uper_kwh, default_uper_kwh;
	size_t first, n_pairs; /* its pairs: pairs[first .. first + n_pairs) */
};

struct fee_schedule {
	struct fee_table *tables; /* ascending from_s */
	size_t n_tables;
	struct fee_pair *pairs;
	size_t n_pairs;
};

pw_err fee_schedule_parse(const char *text, size_t len, uint32_t interval_s,
                          struct fee_schedule *out, char *msg, size_t msgcap)
    __attribute__((warn_unused_result));
pw_err fee_schedule_load(const char *path, uint32_t interval_s, struct fee_schedule *out, char *msg,
                         size_t msgcap) __attribute__((warn_unused_result));
/* The table governing Unix time `t_s`: NULL before the first. */
const struct fee_table *fee_schedule_at(const struct fee_schedule *f, uint64_t t_s);
void fee_schedule_free(struct fee_schedule *f);

#endif
