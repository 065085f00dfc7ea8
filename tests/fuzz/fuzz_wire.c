/*
 * fuzz_wire.c: libFuzzer harness for the wire decoder (common/wire.c).
 *
 * Feeds arbitrary bytes to pw_wire_decode, pw_wire_verify and pw_wire_open,
 * and to the stored-frame functions (version 1 as well as 2), and checks an
 * ACK that decodes against the input's own first bytes as a request.
 * Beyond not crashing it checks the codec's promises: what decodes is
 * re-encodable (encode and decode apply the same field rules) to a frame of
 * the same length whose version, type and body bytes equal the input's (only
 * the author and signature differ, being another key's, and in an ACK the
 * head's author too); a version-1 frame never decodes as a network frame;
 * a decoded RESULT's
 * trades are all readable and the one past the end is refused; a frame that
 * opens also decodes.  Every type is covered, MARKET and REGISTRY included
 * (their fee table and tokens go through the same round trip).  Seeds:
 * tests/fuzz/corpus/fuzz_wire/ (the vectors of tests/vectors/ as binary
 * frames, written by tests/vectors/gen.py).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "peerwatt/keys.h"
#include "peerwatt/wire.h"

#define FUZZ_MARKET 0x123456789abcdef0ull /* the vectors' market */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (pw_crypto_init() != PW_OK)
		abort();
	return 0;
}

static void
round_trip(const uint8_t *data, size_t size, struct pw_msg *m)
{
	static const uint8_t seed[PW_SEED_LEN] = { 7 };
	struct pw_keypair kp;
	struct pw_trade t;
	uint8_t *out;
	size_t len = 0;

	if (pw_wire_size(m) != size)
		abort();
	if (m->type == PW_MSG_RESULT) {
		for (uint16_t i = 0; i < m->u.result.n_trades; i++)
			if (pw_wire_result_trade(&m->u.result, i, &t) != PW_OK)
				abort();
		if (pw_wire_result_trade(&m->u.result, m->u.result.n_trades, &t) != PW_ERR_RANGE)
			abort();
	}
	if (pw_key_from_seed(&kp, seed) != PW_OK)
		abort();
	out = malloc(size);
	if (out == NULL)
		abort();
	if (pw_wire_encode(m, FUZZ_MARKET, &kp, out, size, &len) != PW_OK || len != size)
		abort();
	/* an ACK's head names the author again: compare around it */
	size_t body_end = size - PW_SIG_LEN;
	if (m->type == PW_MSG_ACK) {
		size_t h = size - PW_CHECKPOINT_FRAME_LEN;
		if (memcmp(out + h + 2, kp.pk, PW_PK_LEN) != 0 ||
		    memcmp(out + h + 2 + PW_PK_LEN, data + h + 2 + PW_PK_LEN,
		           body_end - h - 2 - PW_PK_LEN) != 0)
			abort();
		body_end = h + 2;
	}
	if (memcmp(out, data, 2) != 0 || memcmp(out + PW_WIRE_HEADER_LEN, data + PW_WIRE_HEADER_LEN,
	                                        body_end - PW_WIRE_HEADER_LEN) != 0)
		abort();
	if (pw_wire_verify(out, len, FUZZ_MARKET) != PW_OK)
		abort();
	free(out);
	pw_key_wipe(&kp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_msg m;
	pw_err dec, open;

	pw_err sdec = pw_wire_decode_stored(data, size, &m);
	(void)pw_wire_open_stored(data, size, FUZZ_MARKET, &m);
	if (sdec == PW_OK && m.version != 1 && m.version != PW_PROTO_VERSION)
		abort();
	dec = pw_wire_decode(data, size, &m);
	(void)pw_wire_verify(data, size, FUZZ_MARKET);
	open = pw_wire_open(data, size, FUZZ_MARKET, &m);
	if (open == PW_OK && dec != PW_OK)
		abort();
	/* the stored decoder takes every network frame, and only version 1 more */
	if ((dec == PW_OK && sdec != PW_OK) || (size >= 2 && data[0] == 1 && dec != PW_ERR_VERSION))
		abort();
	if (dec == PW_OK && m.type == PW_MSG_ACK && size > PW_CHECKPOINT_FRAME_LEN)
		(void)pw_wire_ack_check(&m, data, size - PW_CHECKPOINT_FRAME_LEN);
	if (dec == PW_OK) {
		if (pw_wire_decode(data, size, &m) != PW_OK)
			abort();
		round_trip(data, size, &m);
	}
	return 0;
}
