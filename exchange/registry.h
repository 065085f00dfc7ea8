/*
 * registry.h: the exchange's household registry, loaded from a text file.
 *
 * File format (docs/exchange.md): one household per line,
 *     id name pk-hex serial zone max_export_w max_import_w
 * separated by blanks; '#' starts a comment; blank lines are ignored.
 * id, name and zone are tokens of [A-Za-z0-9_.-] (1..31 chars), pk-hex is
 * the household's Ed25519 public key (64 hex digits), serial the meter
 * serial (1..32 printable chars, no blank), powers integers 0..1e9 W.
 * Duplicate ids, keys or serials are errors.  Errors read "file:line: msg".
 *
 * Each entry also carries the key converted to Curve25519 so the ZAP
 * handler can map a CURVE client key back to its household.
 *
 * Owned by the exchange daemon (exchange/main.c loads it at start and on
 * SIGHUP; a failed reload keeps the old registry).  Lookups are O(log n).
 * A loaded registry is immutable: thread-safe for readers.
 */
#ifndef EXCHANGE_REGISTRY_H
#define EXCHANGE_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "peerwatt/error.h"
#include "peerwatt/keys.h"
#include "peerwatt/wire.h"

#define REGISTRY_TOKEN_MAX      32 /* id, name, zone: up to 31 chars + NUL */
#define REGISTRY_MAX_HOUSEHOLDS 100000
#define REGISTRY_MAX_POWER_W    1000000000LL

struct household {
	char id[REGISTRY_TOKEN_MAX];
	char name[REGISTRY_TOKEN_MAX];
	uint8_t pk[PW_PK_LEN];
	uint8_t curve_pk[PW_CURVE_LEN];
	char serial[PW_SERIAL_LEN + 1]; /* NUL terminated here; NUL padded on the wire */
	char zone[REGISTRY_TOKEN_MAX];
	int64_t max_export_w;
	int64_t max_import_w;
	size_t line;  /* line in the file, for messages */
	size_t index; /* position in file order (registry_at) */
};

struct registry;

/*
 * Parse `path`.  On PW_OK *out is a new registry (caller owns it:
 * registry_free()); otherwise `err` holds "file:line: message" and *out is
 * untouched.  PW_ERR_CONFIG for content errors, PW_ERR_IO when unreadable.
 */
/* 1 when the `n` characters at `s` make an id, name or zone: 1..31 of
 * [A-Za-z0-9_.-] (also the zones of the exchange's [fees] ZONE/ZONE keys). */
int registry_token_ok(const char *s, size_t n);

pw_err registry_load(const char *path, struct registry **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Parse from a string (tests); `name` is used in messages. */
pw_err registry_parse(const char *name, const char *text, struct registry **out, char *err,
                      size_t errlen) __attribute__((warn_unused_result));

/* Frees and nulls *rp; safe on NULL. */
void registry_free(struct registry **rp);

size_t registry_count(const struct registry *r);
/* Entry i in file order, i < registry_count(). */
const struct household *registry_at(const struct registry *r, size_t i);
/* NULL when not registered.  The pointer lives as long as the registry. */
const struct household *registry_find_pk(const struct registry *r, const uint8_t pk[PW_PK_LEN]);
const struct household *registry_find_curve(const struct registry *r,
                                            const uint8_t curve_pk[PW_CURVE_LEN]);
const struct household *registry_find_id(const struct registry *r, const char *id);

/* Capacity in Wh of a household for one interval of `interval_s` seconds:
 * max power x L, rounded down.  side is PW_SIDE_SELL (export) or BUY. */
uint64_t registry_capacity_wh(const struct household *h, uint8_t side, int64_t interval_s);

#endif
