/*
 * config.h: INI configuration files (inih) read through a table of typed
 * options with defaults and ranges, used by every program.
 *
 * Errors read "file:line: message" (line 0 for a missing required key or
 * the file as a whole); callers that check across keys report at the line
 * of a key involved, which the loader hands back in `lines`;
 * unknown sections and keys are errors unless an `extra` handler accepts
 * them (used for open-ended keys such as the exchange's zone fees);
 * a key given twice is an error.  Loading is all-or-nothing: on error the
 * target struct is left as it was, so SIGHUP with a bad file keeps the old
 * configuration.  Thread-safe (no shared state).
 */
#ifndef PEERWATT_CONFIG_H
#define PEERWATT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "peerwatt/error.h"

enum pw_cfg_type {
	PW_CFG_INT,   /* int64_t; decimal, range [min, max] */
	PW_CFG_BOOL,  /* int: yes/no/true/false/on/off/1/0 */
	PW_CFG_STR,   /* char[size]; length 1..size-1 (min/max ignored) */
	PW_CFG_MONEY, /* int64_t micro-units from decimal text ("0.25"), range [min, max] */
	PW_CFG_KEY,   /* uint8_t[32] from 64 hex digits (a public key) */
};

struct pw_cfg_opt {
	const char *section; /* "" for keys before any [section] */
	const char *name;
	enum pw_cfg_type type;
	size_t offset;    /* offsetof() into the target struct */
	size_t size;      /* sizeof the member */
	int64_t min, max; /* for INT and MONEY */
	const char *def;  /* default as text; NULL = required */
	const char *help; /* one line, for docs and --help */
};

#define PW_CFG_ERRLEN 512
/* Largest configuration file accepted, in bytes. */
#define PW_CFG_MAX_FILE (1024 * 1024)
/* Longest line, in characters (inih's fixed line buffer, less its margin). */
#define PW_CFG_MAX_LINE 197

/*
 * Called for a key the table does not name.  Return PW_OK to accept it,
 * anything else to reject it with `msg` (the loader adds "file:line: ").
 * `ctx` is the caller's, `target` is the struct being filled (a scratch copy),
 * `line` the key's line (for the caller's own checks across keys).
 */
typedef pw_err (*pw_cfg_extra_fn)(void *ctx, void *target, const char *section, const char *name,
                                  const char *value, int line, char *msg, size_t msglen);

/*
 * Load `path` into `target` (a struct of `target_size` bytes).  Fields the
 * table does not name keep their values, then defaults are applied, then
 * the file.  On error `err` holds "file:line: msg" (line 0: the file as a
 * whole, e.g. cannot open or a required key is missing) and `target` is
 * unchanged.  Returns PW_ERR_CONFIG for bad content, PW_ERR_NOTFOUND /
 * PW_ERR_IO when the file cannot be read, PW_ERR_ARG for a bad table (a bug).
 *
 * Rules: values are taken whole after inih strips blanks and a " ;" inline
 * comment; leading blanks of a line are ignored (no continuation lines);
 * lines longer than PW_CFG_MAX_LINE, NUL and control characters are errors.
 * STR values need 1..size-1 characters (an empty default "" means unset).
 * The first error wins.  Anything `extra` allocates must be tracked through
 * `ctx` so that the caller can drop it when loading fails.
 * `lines` (NULL or `nopts` ints, the caller's) receives on PW_OK the line
 * each option was given on, 0 for a default.
 */
pw_err pw_config_load(const char *path, const struct pw_cfg_opt *opts, size_t nopts, void *target,
                      size_t target_size, pw_cfg_extra_fn extra, void *ctx, int *lines, char *err,
                      size_t errlen) __attribute__((warn_unused_result));

/* The same from memory: `name` is used in messages only (fuzzing, tests,
 * configs received from elsewhere).  `buf` need not be NUL-terminated. */
pw_err pw_config_load_buffer(const char *name, const char *buf, size_t len,
                             const struct pw_cfg_opt *opts, size_t nopts, void *target,
                             size_t target_size, pw_cfg_extra_fn extra, void *ctx, int *lines,
                             char *err, size_t errlen) __attribute__((warn_unused_result));

/* The line of [section] name in `lines` as pw_config_load filled it for
 * `opts` (0: its default, or no such option). */
int pw_config_line(const struct pw_cfg_opt *opts, size_t nopts, const int *lines,
                   const char *section, const char *name);

/* Strict integer parse for command lines and config: whole string, base 10,
 * range checked.  PW_ERR_PARSE or PW_ERR_RANGE. */
pw_err pw_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
    __attribute__((warn_unused_result));

#endif
