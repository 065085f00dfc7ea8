/*
 * smlenc.h: a small SML 1.04 writer for the simulator and the tests.
 *
 * Written from the SML specification (BSI TR-03109-1 Anlage IIIa), separate
 * from the reader under test (agent/smlmeter.c, libsml): its own TL encoder
 * (multi-byte TL fields for long lists and strings), its own CRC-16/X-25
 * (bitwise, not libsml's table), its own transport escaping.  Header-only so
 * that peerwatt-sim and tests/unit/test_smlmeter.c share it.
 *
 * Use: smlenc_init; per message smlenc_msg_begin, the body's fields,
 * smlenc_msg_end (CRC and end-of-message); smlenc_frame wraps the messages
 * into a transmission (start sequence, escapes, padding, end CRC).
 */
#ifndef TESTS_SIM_SMLENC_H
#define TESTS_SIM_SMLENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SMLENC_MAX 4096

struct smlenc {
	uint8_t b[SMLENC_MAX];
	size_t n;
	size_t msg_start;
	bool overflow;
};

static inline uint16_t
smlenc_x25(const uint8_t *p, size_t n)
{
	uint16_t crc = 0xffff;

	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0x8408) : (uint16_t)(crc >> 1);
	}
	return (uint16_t)~crc;
}

static inline void
smlenc_init(struct smlenc *e)
{
	e->n = 0;
	e->msg_start = 0;
	e->overflow = false;
}

static inline void
smlenc_byte(struct smlenc *e, uint8_t c)
{
	if (e->n >= SMLENC_MAX) {
		e->overflow = true;
		return;
	}
	e->b[e->n++] = c;
}

/*
 * A TL field: type 0x00 octet, 0x50 int, 0x60 uint, 0x70 list.  For lists
 * len is the element count; for the others the data length, to which the
 * TL's own bytes are added (the SML rule).
 */
static inline void
smlenc_tl(struct smlenc *e, uint8_t type, size_t len)
{
	size_t total = len, ntl = 1;

	if (type != 0x70) {
		/* the length counts the TL bytes themselves */
		while (len + ntl > (((size_t)1 << (4 * ntl)) - 1))
			ntl++;
		total = len + ntl;
	} else {
		while (len > (((size_t)1 << (4 * ntl)) - 1))
			ntl++;
	}
	for (size_t i = ntl; i-- > 0;) {
		uint8_t nib = (uint8_t)((total >> (4 * i)) & 0x0f);
		uint8_t c = nib;
		if (i == ntl - 1)
			c |= type;
		if (i > 0)
			c |= 0x80;
		smlenc_byte(e, c);
	}
}

static inline void
smlenc_skip(struct smlenc *e)
{
	smlenc_byte(e, 0x01);
}

static inline void
smlenc_octets(struct smlenc *e, const void *p, size_t n)
{
	smlenc_tl(e, 0x00, n);
	for (size_t i = 0; i < n; i++)
		smlenc_byte(e, ((const uint8_t *)p)[i]);
}

/* an unsigned of nbytes (1..8), big-endian */
static inline void
smlenc_uint(struct smlenc *e, uint64_t v, size_t nbytes)
{
	smlenc_tl(e, 0x60, nbytes);
	for (size_t i = nbytes; i-- > 0;)
		smlenc_byte(e, (uint8_t)(v >> (8 * i)));
}

static inline void
smlenc_int(struct smlenc *e, int64_t v, size_t nbytes)
{
	smlenc_tl(e, 0x50, nbytes);
	for (size_t i = nbytes; i-- > 0;)
		smlenc_byte(e, (uint8_t)((uint64_t)v >> (8 * i)));
}

static inline void
smlenc_list(struct smlenc *e, size_t n)
{
	smlenc_tl(e, 0x70, n);
}

/* A message: list of 6, transaction id, group 0, abort 0, then the body (list of 2). */
static inline void
smlenc_msg_begin(struct smlenc *e, uint32_t trans_id, uint16_t tag)
{
	uint8_t tid[4] = { (uint8_t)(trans_id >> 24), (uint8_t)(trans_id >> 16),
		           (uint8_t)(trans_id >> 8), (uint8_t)trans_id };
	e->msg_start = e->n;
	smlenc_list(e, 6);
	smlenc_octets(e, tid, 4);
	smlenc_uint(e, 0, 1);
	smlenc_uint(e, 0, 1);
	smlenc_list(e, 2);
	smlenc_uint(e, tag, 2);
}

/* The message CRC (X-25 over the message so far, sent low byte first) and 0x00. */
static inline void
smlenc_msg_end(struct smlenc *e)
{
	uint16_t crc = smlenc_x25(e->b + e->msg_start, e->n - e->msg_start);
	smlenc_tl(e, 0x60, 2);
	smlenc_byte(e, (uint8_t)(crc & 0xff));
	smlenc_byte(e, (uint8_t)(crc >> 8));
	smlenc_byte(e, 0x00);
}

/* One list entry: objName, status, valTime, unit, scaler, value (int), signature. */
static inline void
smlenc_entry_int(struct smlenc *e, const uint8_t obis[6], uint8_t unit, int8_t scaler, int64_t v,
                 size_t nbytes, bool is_unsigned)
{
	smlenc_list(e, 7);
	smlenc_octets(e, obis, 6);
	smlenc_skip(e);
	smlenc_skip(e);
	smlenc_uint(e, unit, 1);
	smlenc_int(e, scaler, 1);
	if (is_unsigned)
		smlenc_uint(e, (uint64_t)v, nbytes);
	else
		smlenc_int(e, v, nbytes);
	smlenc_skip(e);
}

/* An entry holding a string (manufacturer, id): no unit, no scaler. */
static inline void
smlenc_entry_str(struct smlenc *e, const uint8_t obis[6], const void *s, size_t n)
{
	smlenc_list(e, 7);
	smlenc_octets(e, obis, 6);
	smlenc_skip(e);
	smlenc_skip(e);
	smlenc_skip(e);
	smlenc_skip(e);
	smlenc_octets(e, s, n);
	smlenc_skip(e);
}

/*
 * Wrap the messages in e into a transmission in out (escapes, padding to a
 * multiple of 4, end sequence, end CRC low byte first).  Returns its length,
 * 0 when out is too small.
 */
static inline size_t
smlenc_frame(const struct smlenc *e, uint8_t *out, size_t outsz)
{
	static const uint8_t esc[4] = { 0x1b, 0x1b, 0x1b, 0x1b };
	size_t n = 0, pad = (4 - e->n % 4) % 4;
	uint8_t data[SMLENC_MAX + 4];
	uint16_t crc;

	if (e->overflow || e->n + pad > sizeof(data))
		return 0;
	memcpy(data, e->b, e->n);
	memset(data + e->n, 0, pad);
	if (outsz < 16)
		return 0;
	memcpy(out, esc, 4);
	memset(out + 4, 0x01, 4);
	n = 8;
	for (size_t i = 0; i < e->n + pad; i += 4) {
		bool is_esc = memcmp(data + i, esc, 4) == 0;
		if (n + (is_esc ? 8 : 4) + 8 > outsz)
			return 0;
		memcpy(out + n, data + i, 4);
		n += 4;
		if (is_esc) {
			memcpy(out + n, esc, 4);
			n += 4;
		}
	}
	memcpy(out + n, esc, 4);
	n += 4;
	out[n++] = 0x1a;
	out[n++] = (uint8_t)pad;
	crc = smlenc_x25(out, n);
	out[n++] = (uint8_t)(crc & 0xff);
	out[n++] = (uint8_t)(crc >> 8);
	return n;
}

#endif
