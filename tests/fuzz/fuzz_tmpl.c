/*
 * fuzz_tmpl.c: libFuzzer harness for the register-map template loader
 * (agent/tmpl.c, tmpl_parse) and the poll of what it accepts.  The input is
 * a template file; when it loads, its values are read from registers made
 * from the input's bytes (every read answered, as a device that implements
 * everything would, or an exception for every third address).  Checks
 * promises, not just survival: an error reads "NAME:LINE: ..." and leaves
 * the target untouched; an accepted template has every register within
 * 0..65535, reads of 1..125 registers, the function codes 3 or 4, the units
 * its values need, and a poll hands out no NaN, no negative energy, whole
 * Wh that agree with raw x 10^sf, and printable serials.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/tmpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct src {
	const uint8_t *data;
	size_t size;
};

static pw_err
src_read(void *arg, int fc, int unit, uint16_t addr, uint16_t count, uint16_t *regs)
{
	const struct src *s = arg;

	if ((fc != 3 && fc != 4) || count < 1 || count > 125 || (uint32_t)addr + count > 65536u ||
	    unit < -1 || unit > 255)
		abort();
	if (addr % 3 == 2)
		return PW_ERR_MODBUS_EXC;
	for (uint16_t i = 0; i < count; i++) {
		size_t k = ((size_t)addr + i) * 2 % (s->size > 1 ? s->size - 1 : 1);
		regs[i] = s->size > 1 ? (uint16_t)(s->data[k] << 8 | s->data[k + 1]) : 0;
	}
	return PW_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tmpl t, before;
	struct tmpl_reading r;
	struct src s = { data, size };
	struct tmpl_io io = { src_read, &s };
	char err[512] = "";
	pw_err rc;

	memset(&t, 0x5A, sizeof(t));
	before = t;
	rc = tmpl_parse("fuzz.ini", (const char *)data, size, NULL, &t, err, sizeof(err));
	if (rc != PW_OK) {
		if (memcmp(&t, &before, sizeof(t)) != 0 ||
		    (rc != PW_ERR_NOMEM && strncmp(err, "fuzz.ini:", 9) != 0))
			abort();
		return 0;
	}
	if (!tmpl_name_ok(t.name) || t.manual[0] == '\0' || t.roles == 0)
		abort();
	for (int i = 0; i < TMPL_V__COUNT; i++) {
		const struct tmpl_value *v = &t.v[i];
		uint16_t n = v->type == TMPL_STRING ? v->length : tmpl_type_regs(v->type);
		if (!v->present)
			continue;
		if ((v->fc != 3 && v->fc != 4) || v->naddr < 1 || v->naddr > TMPL_ADDRS_MAX ||
		    n < 1)
			abort();
		for (int k = 0; k < v->naddr; k++)
			if ((uint32_t)v->addr[k] + n > 65536u)
				abort();
	}
	if ((t.roles & TMPL_ROLE_METER) &&
	    (!t.v[TMPL_V_EXPORT_ENERGY].present || !t.v[TMPL_V_IMPORT_ENERGY].present))
		abort();
	rc = tmpl_poll(&t, &io, 0xFFFFFFFFu, &r);
	if (rc != PW_OK)
		abort(); /* the source never fails in transport */
	for (int i = 0; i < TMPL_V__COUNT; i++) {
		if (!r.has[i])
			continue;
		if (!isfinite(r.num[i]))
			abort();
		if (i == TMPL_V_AC_ENERGY || i == TMPL_V_EXPORT_ENERGY ||
		    i == TMPL_V_IMPORT_ENERGY) {
			if (r.wh[i] < 0 || r.sf[i] < -10 || r.sf[i] > 10)
				abort();
			if (r.sf[i] >= 0 && r.sf[i] <= 6 && r.raw[i] < 1000000 &&
			    (uint64_t)r.wh[i] != r.raw[i] * (uint64_t)pow(10, r.sf[i]))
				abort();
		}
	}
	for (size_t i = 0; r.serial[i] != '\0'; i++)
		if ((unsigned char)r.serial[i] < 0x20 || (unsigned char)r.serial[i] > 0x7E)
			abort();
	(void)tmpl_identify(&t, &io);
	return 0;
}
