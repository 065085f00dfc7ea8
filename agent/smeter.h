/*
 * smeter.h: the utility smart meter read through its optical or P1 port.
 *
 * Owns: the URL syntax (sml:/dev/X[:BAUD], p1:/dev/X[:BAUD]), the reading a
 * telegram yields (struct smeter_reading, filled by p1.c and smlmeter.c), and
 * the serial reader: a termios line opened non-blocking, bytes fed to the
 * protocol's frame assembler, each complete frame checked (CRCs first) and
 * decoded.  A frame that fails any check is counted and dropped: it never
 * becomes a value.  A stream that delivers no good frame for stall_ms is
 * stalled; the caller treats that as a fault (no offers), never as zero.
 *
 * Prefix smeter_.  Called by agent/smprobe.c (`probe sml:...|p1:...`), the
 * simulator's tests and, through the device layer, the agent daemon.
 * Thread-safety: one struct smeter is used by one thread at a time.
 */
#ifndef AGENT_SMETER_H
#define AGENT_SMETER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peerwatt/error.h"

#define SMETER_DEV_MAX    255
#define SMETER_SERIAL_MAX 64  /* printable characters of the meter's id */
#define SMETER_WHY_MAX    128 /* a rejected frame's reason, for logs and probe */

enum smeter_kind { SMETER_SML, SMETER_P1 };

struct smeter_url {
	enum smeter_kind kind;
	char device[SMETER_DEV_MAX + 1]; /* absolute path, /dev/... */
	uint32_t baud;                   /* sml: 9600 default, p1: 115200 default */
};

/* True when url starts with "sml:" or "p1:" (then smeter_url_parse decides). */
bool smeter_url_is(const char *url);
/*
 * Parse "sml:/dev/X[:BAUD]" or "p1:/dev/X[:BAUD]" strictly: an absolute
 * device path of printable characters without ':' or "..", BAUD one of 300,
 * 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200.  PW_ERR_PARSE otherwise.
 */
pw_err smeter_url_parse(const char *url, struct smeter_url *out)
    __attribute__((warn_unused_result));
const char *smeter_kind_name(enum smeter_kind k); /* "sml" or "p1" */

/*
 * An energy register as the meter sent it: value = raw * 10^sf Wh.  P1's
 * "001581.123*kWh" is raw 1581123, sf 0; SML's value with scaler -1 is raw
 * with sf -1.  Never negative.
 */
struct smeter_acc {
	bool has;
	uint64_t raw;
	int sf; /* -12..12 */
};

/*
 * One decoded frame.  A register the frame does not carry has its has flag
 * false: it is never reported as 0.  Power is import positive (drawing from
 * the grid), the SunSpec convention.
 */
struct smeter_reading {
	struct smeter_acc imp, exp;   /* 1.8.0 (else 1.8.1+1.8.2...), 2.8.0 likewise */
	bool has_import, has_export;  /* the same as imp.has, exp.has */
	int64_t import_wh, export_wh; /* whole Wh, rounded down */
	bool has_power;
	int64_t power_w;                    /* 16.7.0, else 1.7.0 - 2.7.0; rounded to W */
	char serial[SMETER_SERIAL_MAX + 1]; /* meter id, printable; "" when absent */
};

/* Whole Wh of an accumulator (floor); PW_ERR_OVERFLOW when it does not fit. */
pw_err smeter_acc_wh(const struct smeter_acc *a, int64_t *wh);
/*
 * a += b, both non-negative, aligned to the finer resolution.
 * PW_ERR_OVERFLOW when the sum does not fit.
 */
pw_err smeter_acc_add(struct smeter_acc *a, const struct smeter_acc *b);
/* Fill import_wh/export_wh/has_* from imp/exp; PW_ERR_OVERFLOW as above. */
pw_err smeter_reading_finish(struct smeter_reading *r);

/*
 * The grid registers both readers (P1 and SML) take, by the C.D.E of an
 * electricity OBIS code (A-B = 1-0, which the caller checks): totals x.8.0,
 * tariffs x.8.1..x.8.9 (*tariff set to 1..9, else 0) and power 16.7.0 (net),
 * 1.7.0 (import), 2.7.0 (export).  The energy kinds come first: a kind is an
 * energy when it is <= SMETER_OBIS_EXP_T.
 */
enum smeter_obis {
	SMETER_OBIS_NONE = 0,
	SMETER_OBIS_IMP,
	SMETER_OBIS_IMP_T,
	SMETER_OBIS_EXP,
	SMETER_OBIS_EXP_T,
	SMETER_OBIS_PNET,
	SMETER_OBIS_PIMP,
	SMETER_OBIS_PEXP,
	SMETER_OBIS__N
};
enum smeter_obis smeter_obis_cde(unsigned c, unsigned d, unsigned e, int *tariff);

/* --- the serial reader ------------------------------------------------------- */

struct smeter_cfg {
	uint32_t stall_ms; /* no good frame for this long: stalled.  Default 30000 */
	bool defer_open;   /* a device that cannot be opened yet is tried again by reads */
};

struct smeter_stats {
	unsigned long bytes, frames_ok, crc_errors, malformed, truncated, overflows, stalls;
};

struct smeter;

void smeter_cfg_defaults(struct smeter_cfg *cfg);

/*
 * Parse url, open the device (O_RDONLY|O_NOCTTY|O_NONBLOCK, raw 8N1 at the
 * baud) and create the reader.  Caller owns *out (smeter_destroy).
 * PW_ERR_PARSE (url), PW_ERR_RANGE (cfg), PW_ERR_IO (open/termios; errno kept;
 * not with defer_open: then the first read opens it), PW_ERR_NOMEM.
 */
pw_err smeter_open(const char *url, const struct smeter_cfg *cfg, struct smeter **out)
    __attribute__((warn_unused_result));
/* Close and free *sp, then set it to NULL; NULL-safe. */
void smeter_destroy(struct smeter **sp);

/*
 * Read what the line holds, waiting at most wait_ms for a good frame.
 * PW_OK: *r holds the newest good frame completed during this call (older
 * ones it replaced are counted, not returned).
 * PW_ERR_TIMEOUT: no good frame within wait_ms (bad frames, if any, are in
 * the stats and the last reason in smeter_last_error()).
 * PW_ERR_IO: the device failed (read error, hang-up): reopen it.
 * wait_ms 0 only drains what is already there.
 */
pw_err smeter_read(struct smeter *s, uint32_t wait_ms, struct smeter_reading *r)
    __attribute__((warn_unused_result));

/* True when no good frame arrived in the last stall_ms (or ever, after stall_ms). */
bool smeter_stalled(struct smeter *s);
/* The descriptor, for a caller's poll loop. */
int smeter_fd(const struct smeter *s);
const struct smeter_stats *smeter_stats(const struct smeter *s);
/* Why the last bad frame was refused ("" when none yet). */
const char *smeter_last_error(const struct smeter *s);
const struct smeter_url *smeter_url(const struct smeter *s);

#endif
