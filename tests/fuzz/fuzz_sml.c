/*
 * fuzz_sml.c: libFuzzer harness for the SML frame checker and assembler
 * (agent/smlmeter.c).  The input goes (1) to smlm_check as a transmission,
 * (2) through the transport assembler byte by byte, each transmission it
 * completes to smlm_check, and (3) when its first byte is odd, as the bytes
 * of one message sealed with a correct message CRC, padding and end CRC
 * (tests/sim/smlenc.h), so that the TL walk is reached past the CRCs.
 * Checks: a transmission passes only when its end CRC (recomputed here,
 * bitwise) matches; the messages found lie inside the body, in order, each
 * ending with 0x00; the assembler never hands out more than SMLM_FRAME_MAX.
 * Every transmission smlm_check accepts also goes through smlm_parse, so
 * libsml sees whatever the frame and shape checks let through: a leak or
 * a crash there (Debian's 2018 libsml leaks on every message it refuses)
 * means those checks let through something libsml cannot take.  An
 * accepted reading carries import or export, whole Wh matching raw * 10^sf.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/smlmeter.h"
#include "tests/sim/smlenc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const uint8_t *tx, size_t n)
{
	static struct smlm_frame f;
	char why[SMETER_WHY_MAX];
	size_t prev_end = 0;

	if (smlm_check(tx, n, &f, why, sizeof(why)) != PW_OK)
		return;
	if (n < 16 || n % 4 != 0)
		abort();
	{
		uint16_t crc = smlenc_x25(tx, n - 2);
		if (tx[n - 2] != (crc & 0xff) || tx[n - 1] != (crc >> 8))
			abort();
	}
	if (f.nmsgs < 1 || f.nmsgs > SMLM_MSGS_MAX || f.len > n)
		abort();
	for (int i = 0; i < f.nmsgs; i++) {
		size_t o = f.msg_off[i], l = f.msg_len[i];
		if (o < prev_end || l < 2 || o + l > f.len || f.body[o + l - 1] != 0x00)
			abort();
		prev_end = o + l;
	}
	{
		struct smeter_reading r;
		int64_t wh;
		if (smlm_parse(tx, n, &r, why, sizeof(why)) != PW_OK)
			return;
		if (!r.has_import && !r.has_export)
			abort();
		if (r.imp.has && (smeter_acc_wh(&r.imp, &wh) != PW_OK || wh != r.import_wh))
			abort();
		if (r.exp.has && (smeter_acc_wh(&r.exp, &wh) != PW_OK || wh != r.export_wh))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct smlm_asm a;
	static struct smlenc e;
	static uint8_t tx[SMLM_FRAME_MAX];

	if (size > 3 * SMLM_FRAME_MAX)
		return 0;
	check(data, size);

	smlm_asm_init(&a);
	for (size_t i = 0; i < size; i++) {
		if (smlm_asm_feed(&a, data[i]) == SMLM_FRAME) {
			if (a.len > SMLM_FRAME_MAX || a.len < 16)
				abort();
			check(a.buf, a.len);
		}
	}

	if (size > 1 && (data[0] & 1) && size - 1 < SMLENC_MAX - 8) {
		size_t n;
		smlenc_init(&e);
		memcpy(e.b, data + 1, size - 1);
		e.n = size - 1;
		e.msg_start = 0;
		smlenc_msg_end(&e);
		n = smlenc_frame(&e, tx, sizeof(tx));
		if (n > 0)
			check(tx, n);
	}
	return 0;
}
