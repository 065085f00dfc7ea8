/*
 * smlmeter.h: SML 1.04 transmissions from a German utility meter's optical port.
 *
 * Owns: the transport assembler (start 1B1B1B1B 01010101, 4-byte groups,
 * escape 1B1B1B1B 1B1B1B1B, end 1B1B1B1B 1A pp cc cc), the frame checker and
 * the extraction of the registers peerwatt needs from the GetListResponse:
 *   1-0:1.8.0 import, else the sum of 1-0:1.8.1 .. 1-0:1.8.9 (unit Wh)
 *   1-0:2.8.0 export, else the sum of 1-0:2.8.1 .. 1-0:2.8.9 (unit Wh)
 *   1-0:16.7.0 net power (unit W, import positive), else 1-0:1.7.0 - 1-0:2.7.0
 *   the list's server id (hex) as the meter's id
 * each value with its scaler.  The messages are decoded by Debian's libsml,
 * but only after this module has checked, itself, what that libsml (a 2018
 * snapshot) does not: the end-of-transmission CRC, the padding, that every
 * type-length field of every message stays inside the message (a walk that
 * understands multi-byte TL fields, nesting at most SMLM_DEPTH_MAX deep), and
 * each message's CRC (CRC-16/X-25, libsml's sml_crc16_calculate, sent low
 * byte first).  A transmission that fails any of these is never decoded.
 *
 * Prefix smlm_.  No I/O; called by smeter.c, the tests and fuzz_sml.
 */
#ifndef AGENT_SMLMETER_H
#define AGENT_SMLMETER_H

#include <stddef.h>
#include <stdint.h>

#include "agent/smeter.h"
#include "peerwatt/error.h"

#define SMLM_FRAME_MAX 4096 /* a transmission on the wire; real meters send 200-600 bytes */
#define SMLM_MSGS_MAX  16   /* messages in one transmission (real: 3) */
#define SMLM_DEPTH_MAX 12   /* list nesting (SML 1.04 needs 6) */

enum smlm_event {
	SMLM_NONE = 0,  /* keep feeding */
	SMLM_FRAME,     /* a complete transmission in buf[0..len): smlm_parse it */
	SMLM_OVERFLOW,  /* longer than SMLM_FRAME_MAX: dropped */
	SMLM_TRUNCATED, /* a new start sequence before the end: dropped */
	SMLM_GARBLED,   /* an unknown escape sequence: dropped */
};

struct smlm_asm {
	int state; /* 0 hunting the start sequence, 1 in the body, 2 after an escape */
	int hunt;  /* bytes of the start sequence matched */
	size_t len;
	size_t esc_at; /* where the 4 bytes after an escape begin */
	uint8_t buf[SMLM_FRAME_MAX];
};

void smlm_asm_init(struct smlm_asm *a);
/* Feed one byte.  After SMLM_FRAME, a->buf/a->len hold it until the next call. */
enum smlm_event smlm_asm_feed(struct smlm_asm *a, uint8_t c);

/* The messages of a checked transmission, unescaped, padding removed. */
struct smlm_frame {
	uint8_t body[SMLM_FRAME_MAX];
	size_t len;
	int nmsgs;
	size_t msg_off[SMLM_MSGS_MAX], msg_len[SMLM_MSGS_MAX]; /* each ends with its 0x00 */
};

/*
 * The frame checker: framing, end CRC, escapes, padding, the TL walk of
 * every message and every message CRC.  PW_OK: f holds the messages.
 * PW_ERR_CRC (an end or message CRC), PW_ERR_LENGTH (short, not a multiple
 * of 4, a TL running past its message or too many messages), PW_ERR_PARSE
 * (anything else malformed); why names it.
 */
pw_err smlm_check(const uint8_t *tx, size_t n, struct smlm_frame *f, char *why, size_t whysz)
    __attribute__((warn_unused_result));

/*
 * smlm_check, then libsml on each message, then the registers.  PW_OK: r
 * holds at least one of import and export.  Errors as smlm_check, plus
 * PW_ERR_PARSE (libsml refused a message), PW_ERR_FIELD (a register twice, a
 * wrong or missing unit, a negative energy, a scaler outside -10..10),
 * PW_ERR_OVERFLOW, PW_ERR_NOTFOUND (no energy register).
 */
pw_err smlm_parse(const uint8_t *tx, size_t n, struct smeter_reading *r, char *why, size_t whysz)
    __attribute__((warn_unused_result));

/* CRC-16/X-25 as SML sends it (libsml's sml_crc16_calculate, byte-swapped back). */
uint16_t smlm_crc16(const uint8_t *data, size_t n);

#endif
