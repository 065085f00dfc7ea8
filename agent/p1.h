/*
 * p1.h: DSMR 4/5 P1 telegrams (the Dutch and Belgian utility meter's port).
 *
 * Owns: the frame assembler that cuts telegrams out of the byte stream
 * ('/' header ... '!' + CRC), the CRC check (CRC-16/ARC, polynomial 0xA001
 * reflected, initial 0, over '/' to '!' inclusive, sent as 4 hex digits) and
 * the decoding of the registers peerwatt needs:
 *   1-0:1.8.0 import, else the sum of the tariffs 1-0:1.8.1 .. 1-0:1.8.9
 *   1-0:2.8.0 export, else the sum of 1-0:2.8.1 .. 1-0:2.8.9
 *   1-0:16.7.0 net power (import positive), else 1-0:1.7.0 - 1-0:2.7.0
 *   0-0:96.1.1 the equipment id (hex-coded ASCII; decoded when printable),
 *              else 0-0:42.0.0 (Luxembourg's Smarty sends its id there)
 * A telegram failing its CRC, without a CRC (DSMR 2.2/3), longer than
 * P1_TELEGRAM_MAX or with a line longer than P1_LINE_MAX, with a non-ASCII
 * byte, a duplicated register or a malformed value never yields a value.
 *
 * Prefix p1_.  Pure (no I/O); called by smeter.c, the tests and fuzz_p1.
 */
#ifndef AGENT_P1_H
#define AGENT_P1_H

#include <stddef.h>
#include <stdint.h>

#include "agent/smeter.h"
#include "peerwatt/error.h"

#define P1_TELEGRAM_MAX 8192 /* DSMR 5 with a full text message and 4 M-Bus devices: ~3 KB */
#define P1_LINE_MAX     2100 /* 0-0:96.13.0 carries up to 1024 bytes as 2048 hex digits */

enum p1_event {
	P1_NONE = 0,  /* keep feeding */
	P1_TELEGRAM,  /* a complete telegram is in buf[0..len): check it with p1_parse */
	P1_OVERFLOW,  /* telegram or line too long: dropped */
	P1_TRUNCATED, /* a new '/' before the end: the partial telegram dropped */
	P1_GARBLED,   /* a byte no telegram holds (not ASCII, or after '!'): dropped */
};

struct p1_asm {
	int state; /* 0 hunting '/', 1 in the telegram, 2 in the CRC digits */
	size_t len, line_len;
	int crc_digits;
	char buf[P1_TELEGRAM_MAX];
};

void p1_asm_init(struct p1_asm *a);
/*
 * Feed one byte.  After P1_TELEGRAM, a->buf and a->len hold the telegram
 * ('/' to the last CRC digit) until the next call.
 */
enum p1_event p1_asm_feed(struct p1_asm *a, uint8_t c);

/* CRC-16/ARC of n bytes (what P1 sends after '!'). */
uint16_t p1_crc16(const void *data, size_t n);

/*
 * Check and decode one telegram ('/' .. '!' + 4 hex digits, optionally
 * followed by CR LF).  PW_OK: r holds what the telegram carried (at least one
 * of import and export).  Errors, r then unspecified and why naming the cause:
 * PW_ERR_CRC (CRC mismatch or absent), PW_ERR_LENGTH (too long, a line too
 * long), PW_ERR_PARSE (framing, a malformed line or value), PW_ERR_FIELD (a
 * register twice, a wrong unit, a negative energy), PW_ERR_OVERFLOW,
 * PW_ERR_NOTFOUND (no energy register).
 */
pw_err p1_parse(const char *t, size_t len, struct smeter_reading *r, char *why, size_t whysz)
    __attribute__((warn_unused_result));

#endif
