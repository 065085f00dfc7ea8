/*
 * wire_int.h: what the wire codec's two files share (common/wire.c: byte
 * layout, signing, encode and decode; common/wire_rules.c: type and reason
 * names, the field rules that encode and decode both apply, lengths).
 * Not for use outside common/wire*.c.
 */
#ifndef COMMON_WIRE_INT_H
#define COMMON_WIRE_INT_H

#include <stddef.h>

#include "peerwatt/wire.h"

/* Fixed body lengths (without counted arrays); docs/protocol.md has the layouts. */
#define BODY_ORDER      33
#define BODY_CANCEL     24
#define BODY_METER      (8 + 8 + PW_SERIAL_LEN + 4 * 8 + 1)
#define BODY_QUERY      (8 + 1 + 8 + 8 + PW_PK_LEN)
#define BODY_COSIGN     (PW_ORIGIN_LEN + 8 + PW_HASH_LEN + 8)
#define BODY_RECEIPT    (PW_HASH_LEN + 1 + 8 + 2 + 8 + 8)
#define BODY_RESULT     30
#define BODY_STATEMENT  (PW_PK_LEN + 8 + 4 + 4 + 8 * 8 + 6 * 8)
#define BODY_CHECKPOINT (PW_ORIGIN_LEN + 8 + 8 + PW_HASH_LEN + 8)
#define BODY_PROOF      26
#define BODY_DEPTH      9
#define DEPTH_LEVEL_LEN 13
#define BODY_HEARTBEAT  (8 + 5 * 4)
#define BODY_MARKET     (8 + 8 + PW_TOKEN_LEN + PW_CURRENCY_LEN + 8 * 4 + 2)
#define BODY_REGISTRY   (8 + PW_PK_LEN + 3 * PW_TOKEN_LEN + PW_SERIAL_LEN + 4 + 4 + 1)
#define MARKET_COUNT_AT (BODY_MARKET - 2)

#define STMT_KNOWN_FLAGS (PW_STMT_READING_MISSING | PW_STMT_READING_LATE)

/* The name of a message type ("ORDER" ...), NULL when the type is unknown. */
const char *wire_type_name(unsigned type);
/* Every field rule of `m`'s type (encode refuses what decode would refuse). */
pw_err wire_validate(const struct pw_msg *m);
/* Body length for `type` given its count (ignored by fixed types); 0 if unknown. */
size_t wire_body_len(unsigned type, size_t count);

#endif
