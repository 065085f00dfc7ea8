/*
 * wire_int.h: what the wire codec's two files share (common/wire.c: byte
 * layout, signing, encode and decode; common/wire_rules.c: type and reason
 * names, the field rules that encode and decode both apply, lengths).
 * Not for use outside common/wire*.c.
 */
#ifndef COMMON_WIRE_INT_H
#define COMMON_WIRE_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "peerwatt/wire.h"

/* --- big-endian cursors ----------------------------------------------------
 * Callers check the total length first, so these never bounds-check. */

static inline void
put_u8(uint8_t **p, uint8_t v)
{
	*(*p)++ = v;
}

static inline void
put_u16(uint8_t **p, uint16_t v)
{
	put_u8(p, (uint8_t)(v >> 8));
	put_u8(p, (uint8_t)v);
}

static inline void
put_u32(uint8_t **p, uint32_t v)
{
	for (int s = 24; s >= 0; s -= 8)
		put_u8(p, (uint8_t)(v >> s));
}

static inline void
put_u64(uint8_t **p, uint64_t v)
{
	for (int s = 56; s >= 0; s -= 8)
		put_u8(p, (uint8_t)(v >> s));
}

static inline void
put_i64(uint8_t **p, int64_t v)
{
	put_u64(p, (uint64_t)v); /* two's complement */
}

static inline void
put_i32(uint8_t **p, int32_t v)
{
	put_u32(p, (uint32_t)v); /* two's complement */
}

static inline void
put_bytes(uint8_t **p, const void *src, size_t n)
{
	memcpy(*p, src, n);
	*p += n;
}

static inline uint8_t
get_u8(const uint8_t **p)
{
	return *(*p)++;
}

static inline uint16_t
get_u16(const uint8_t **p)
{
	uint16_t v = (uint16_t)(get_u8(p) << 8);
	return (uint16_t)(v | get_u8(p));
}

static inline uint32_t
get_u32(const uint8_t **p)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v = (v << 8) | get_u8(p);
	return v;
}

/* Every price is an i32 (docs/protocol.md section 1). */
static inline int32_t
get_i32(const uint8_t **p)
{
	uint32_t u = get_u32(p);
	/* Two's complement back to signed without implementation-defined casts. */
	if (u <= (uint32_t)INT32_MAX)
		return (int32_t)u;
	return -(int32_t)(~u) - 1;
}

static inline uint64_t
get_u64(const uint8_t **p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | get_u8(p);
	return v;
}

static inline int64_t
get_i64(const uint8_t **p)
{
	uint64_t u = get_u64(p);
	/* Two's complement back to signed without implementation-defined casts. */
	if (u <= (uint64_t)INT64_MAX)
		return (int64_t)u;
	return -(int64_t)(~u) - 1;
}

static inline void
get_bytes(const uint8_t **p, void *dst, size_t n)
{
	memcpy(dst, *p, n);
	*p += n;
}

/* Fixed body lengths (without counted arrays); docs/protocol.md has the layouts. */
#define BODY_ORDER   33
#define BODY_CANCEL  24
#define BODY_METER   (8 + 8 + PW_SERIAL_LEN + 4 * 8 + 1)
#define BODY_QUERY   (8 + 1 + 8 + 8 + PW_PK_LEN)
#define BODY_COSIGN  (PW_ORIGIN_LEN + 8 + PW_HASH_LEN + 8)
#define BODY_RECEIPT (PW_HASH_LEN + 1 + 8 + 2 + 8 + 8) /* REJECT */
/* ACK: ref_hash, ref_type, ref_seq, log_index, n_hashes, (path), then the
 * head CHECKPOINT frame up to its signature (which ends the ACK) */
#define ACK_COUNT_AT    (PW_HASH_LEN + 1 + 8 + 8)
#define ACK_PATH_AT     (ACK_COUNT_AT + 1)
#define BODY_ACK        (ACK_PATH_AT + PW_CHECKPOINT_FRAME_LEN - PW_SIG_LEN)
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
/* The RFC 6962 inclusion path length of leaf `idx` in a tree of `size`
 * leaves (idx < size). */
unsigned wire_path_len(uint64_t idx, uint64_t size);
/* Strict decode of a version-1 frame with its version-1 layout (wire_v1.c). */
pw_err wire_v1_decode(const uint8_t *buf, size_t len, struct pw_msg *m);

#endif
