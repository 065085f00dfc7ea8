/*
 * xcheck.h: `peerwatt-exchange --check-config` (docs/exchange.md "Command
 * line"): the configuration, the key, the registry and the schedule files
 * load, and, when the database exists, they are compared with its log
 * exactly as a start or SIGHUP would compare them, without writing
 * anything (the database is opened to read only, so a running exchange is
 * never held up): a market rule that can never change, a schedule that
 * would change a published or passed interval, another market's or
 * exchange key's log are refused with the message a start would give; what
 * a start or SIGHUP would append (MARKET entries, REGISTRY entries, each
 * household named) is listed.
 */
#ifndef EXCHANGE_XCHECK_H
#define EXCHANGE_XCHECK_H

#include <stdint.h>
#include <stdio.h>

#include "exchange/registry.h"
#include "exchange/xconfig.h"
#include "peerwatt/error.h"
#include "peerwatt/keys.h"

/*
 * Check `c` (loaded from `cfg_path`), key `kp` and registry `file` at
 * `now_s`; the report to `out`, the first refusal to `errf`.  PW_OK when a
 * start would accept them; PW_ERR_CONFIG for a refused configuration or
 * schedule; PW_ERR_CORRUPT for a log that does not open with this market
 * id and key; PW_ERR_DB when the database cannot be read.
 */
pw_err xcheck_run(const char *cfg_path, const struct xconfig *c, const struct pw_keypair *kp,
                  const struct registry *file, uint64_t now_s, FILE *out, FILE *errf)
    __attribute__((warn_unused_result));

#endif
