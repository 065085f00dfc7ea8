/*
 * log.h: logging to stderr with sd-daemon priority prefixes ("<3>", "<4>",
 * "<6>", "<7>"), so journald files each line under its priority and a
 * terminal still reads it.  Format: "<P>prog: message".
 *
 * log_init() is called once by main() before any thread starts; after that
 * the settings are read-only, so the functions are thread-safe (one write(2)
 * per line).
 */
#ifndef PEERWATT_LOG_H
#define PEERWATT_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERR = 3,
	LOG_LEVEL_WARN = 4,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

#define PW_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* prog: name shown on each line; level: lines above it are dropped. */
void log_init(const char *prog, enum log_level level);
/* Parses "error|warning|info|debug"; returns -1 when unknown. */
int log_level_parse(const char *name, enum log_level *out);

void log_warn(const char *fmt, ...) PW_PRINTF(1, 2); /* adds ": strerror(errno)" */
void log_warnx(const char *fmt, ...) PW_PRINTF(1, 2);
void log_error(const char *fmt, ...) PW_PRINTF(1, 2);
void log_info(const char *fmt, ...) PW_PRINTF(1, 2);
void log_debug(const char *fmt, ...) PW_PRINTF(1, 2);
void log_vmsg(enum log_level level, const char *fmt, va_list ap) PW_PRINTF(2, 0);
/*
 * A fault that can repeat (a flood of bad frames, a device failing every
 * poll) logs through its own struct log_rate, kept in the caller's context
 * (zeroed to start): at most one line per LOG_RATE_MS, and the line after a
 * quiet spell says how many like it were not logged ("(N more like it in the
 * last S s)").  Not thread-safe per struct (each belongs to one thread).
 */
#define LOG_RATE_MS 10000
struct log_rate {
	long long next_ms;       /* monotonic ms before which lines are counted only */
	unsigned long long held; /* lines counted since the last one logged */
	long long since_ms;      /* when the first of them came */
};
void log_rated(struct log_rate *r, enum log_level level, const char *fmt, ...) PW_PRINTF(3, 4);

/* Log at error level and exit(70) (EX_SOFTWARE); fatal adds strerror(errno). */
_Noreturn void fatal(const char *fmt, ...) PW_PRINTF(1, 2);
_Noreturn void fatalx(const char *fmt, ...) PW_PRINTF(1, 2);

#endif
