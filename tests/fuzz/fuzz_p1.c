/*
 * fuzz_p1.c: libFuzzer harness for the DSMR P1 reader (agent/p1.c).
 * The input goes (1) to p1_parse as one telegram, (2) through the frame
 * assembler byte by byte, each telegram it completes to p1_parse, and
 * (3) when its first byte is odd, to p1_parse with the correct CRC
 * appended after its last '!', so that the line decoder is reached.
 * Checks promises, not just survival: a telegram is accepted only when its
 * CRC (recomputed here, bitwise) matches; an accepted one carries import or
 * export; whole Wh agree with raw * 10^sf; the id is printable; the
 * assembler never hands out more than P1_TELEGRAM_MAX bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/p1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint16_t
arc(const char *p, size_t n)
{
	uint16_t crc = 0;
	for (size_t i = 0; i < n; i++) {
		crc ^= (uint8_t)p[i];
		for (int b = 0; b < 8; b++)
			crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xA001) : (uint16_t)(crc >> 1);
	}
	return crc;
}

static void
check(const char *t, size_t n)
{
	struct smeter_reading r;
	char why[SMETER_WHY_MAX];
	size_t len = n;

	if (p1_parse(t, n, &r, why, sizeof(why)) != PW_OK)
		return;
	while (len > 0 && (t[len - 1] == '\r' || t[len - 1] == '\n'))
		len--;
	if (len < 6 || t[0] != '/' || t[len - 5] != '!')
		abort();
	{
		unsigned sent = 0;
		for (size_t i = len - 4; i < len; i++) {
			char c = t[i];
			int v = c >= '0' && c <= '9'   ? c - '0'
			        : c >= 'A' && c <= 'F' ? c - 'A' + 10
			        : c >= 'a' && c <= 'f' ? c - 'a' + 10
			                               : -1;
			if (v < 0)
				abort();
			sent = sent * 16 + (unsigned)v;
		}
		if (arc(t, len - 4) != sent)
			abort();
	}
	if (!r.has_import && !r.has_export)
		abort();
	if (r.has_import != r.imp.has || r.has_export != r.exp.has)
		abort();
	if (r.import_wh < 0 || r.export_wh < 0)
		abort();
	{
		int64_t wh;
		if (r.imp.has && (smeter_acc_wh(&r.imp, &wh) != PW_OK || wh != r.import_wh))
			abort();
		if (r.exp.has && (smeter_acc_wh(&r.exp, &wh) != PW_OK || wh != r.export_wh))
			abort();
	}
	for (const char *s = r.serial; *s; s++)
		if (*s < 0x21 || *s > 0x7e)
			abort();
	if (strnlen(r.serial, sizeof(r.serial)) >= sizeof(r.serial))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct p1_asm a;
	static char t[P1_TELEGRAM_MAX + 16];

	if (size > 3 * P1_TELEGRAM_MAX)
		return 0;
	check((const char *)data, size);

	p1_asm_init(&a);
	for (size_t i = 0; i < size; i++) {
		if (p1_asm_feed(&a, data[i]) == P1_TELEGRAM) {
			if (a.len > P1_TELEGRAM_MAX || a.len < 2 || a.buf[0] != '/')
				abort();
			check(a.buf, a.len);
		}
	}

	if (size > 1 && (data[0] & 1) && size - 1 <= P1_TELEGRAM_MAX) {
		const char *body = (const char *)data + 1;
		size_t n = size - 1, bang = n;
		while (bang > 0 && body[bang - 1] != '!')
			bang--;
		if (bang > 0) {
			static const char hx[] = "0123456789ABCDEF";
			uint16_t crc = arc(body, bang);
			memcpy(t, body, bang);
			t[bang] = hx[crc >> 12];
			t[bang + 1] = hx[(crc >> 8) & 15];
			t[bang + 2] = hx[(crc >> 4) & 15];
			t[bang + 3] = hx[crc & 15];
			check(t, bang + 4);
		}
	}
	return 0;
}
