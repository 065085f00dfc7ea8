/*
 * fuzz_sunspec.c: libFuzzer harness for the SunSpec decoder (agent/sunspec.c)
 * on arbitrary register images.  The input is a register image placed at
 * one of the discovery bases (the first byte picks which); reads outside it
 * answer with an exception, like a device.  Checks promises, not just
 * survival: no read larger than 125 registers, a discovered chain obeys the
 * guards, every decoded block stays within its model's length, strings are
 * printable, "not implemented" is never returned as a value, and the
 * storage reading (agent/storage.c) holds only plausible battery values.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/storage.h"
#include "agent/sunspec.h"

struct fimg {
	uint32_t start, n;
	const uint16_t *regs;
};

static pw_err
fimg_read(void *arg, uint16_t addr, uint16_t count, uint16_t *out)
{
	const struct fimg *im = arg;

	if (count < 1 || count > SUNSPEC_MAX_READ)
		abort();
	if (addr < im->start || (uint32_t)addr + count > im->start + im->n)
		return PW_ERR_MODBUS_EXC;
	memcpy(out, &im->regs[addr - im->start], count * sizeof(uint16_t));
	return PW_OK;
}

static void
check_block(const struct sunspec_block *b)
{
	const struct sunspec_model_def *d = b->def;
	char s[400];

	if (d == NULL)
		abort();
	if (b->nregs > 2u + b->ref.len || b->nregs > SUNSPEC_BLOCK_MAX)
		abort();
	for (int rep = -1; rep < b->nrepeats; rep++) {
		const struct sunspec_point *pts = rep < 0 ? d->fixed : d->rep;
		uint16_t n = rep < 0 ? d->nfixed : d->nrep;
		for (uint16_t i = 0; i < n; i++) {
			double v;
			int64_t raw;
			int sf;
			uint32_t e;
			const char *sym;
			pw_err rc = sunspec_get_number(b, pts[i].name, rep, &v);
			if (rc == PW_OK && !isfinite(v))
				abort();
			rc = sunspec_get_raw(b, pts[i].name, rep, &raw, &sf);
			if (rc == PW_OK && (sf < -10 || sf > 10))
				abort();
			if (sunspec_get_string(b, pts[i].name, rep, s, sizeof(s)) == PW_OK) {
				size_t l = strlen(s);
				if (l == 0)
					abort();
				for (size_t k = 0; k < l; k++)
					if (s[k] < 0x20 || s[k] > 0x7E)
						abort();
			}
			(void)sunspec_get_symbol(b, pts[i].name, rep, &e, &sym);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t bases[] = { 40000, 0, 50000 };
	static uint16_t regs[65536];
	struct fimg im;
	struct sunspec_io io = { fimg_read, &im, NULL };
	struct sunspec_dev dev;
	struct sunspec_reading r;
	struct storage_reading st;
	struct sunspec_block *blk;
	size_t n;

	if (size < 1)
		return 0;
	im.start = bases[data[0] % 3];
	n = (size - 1) / 2;
	if (n > 65536 - im.start)
		n = 65536 - im.start;
	for (size_t i = 0; i < n; i++)
		regs[i] = (uint16_t)(data[1 + 2 * i] << 8 | data[2 + 2 * i]);
	im.n = (uint32_t)n;
	im.regs = regs;

	/* Every type decodes any register contents without reading past them. */
	for (int t = 0; t < SUNSPEC_T__COUNT; t++) {
		struct sunspec_value v;
		uint16_t w = t == SUNSPEC_T_STRING ? 8 : t == SUNSPEC_T_IPV6ADDR ? 8 : 4;
		if (n >= w)
			for (uint16_t k = 1; k <= w; k++)
				(void)sunspec_decode((enum sunspec_type)t, regs, k, &v);
	}

	if (sunspec_discover(&io, &dev, NULL) != PW_OK)
		return 0;
	if (dev.nmodels < 1 || dev.nmodels > SUNSPEC_MAX_MODELS)
		abort();
	for (int i = 0; i < dev.nmodels; i++) {
		const struct sunspec_model_ref *m = &dev.models[i];
		if (m->id == 0 || m->id == 0xFFFF || m->addr + 2u + m->len > 65536u)
			abort();
		if (m->id == 1 && m->len != 65 && m->len != 66)
			abort();
	}
	blk = malloc(sizeof(*blk));
	if (blk == NULL)
		return 0;
	for (int i = 0; i < dev.nmodels; i++)
		if (sunspec_read_block(&io, &dev.models[i], blk) == PW_OK)
			check_block(blk);
	free(blk);
	if (sunspec_poll(&io, &dev, &r) == PW_OK) {
		if (r.has_ac_energy && r.ac_energy_wh < 0)
			abort();
		if ((r.has_export && r.export_wh < 0) || (r.has_import && r.import_wh < 0))
			abort();
		if (r.has_export && r.export_raw == 0 && r.acc_bits != 0)
			abort(); /* an acc of 0 is "not implemented", never a reading */
	}
	/* storage (124, 802, 713): whatever the registers, only plausible values */
	if (storage_poll(&io, &dev, &st) == PW_OK) {
		if ((st.has_soc && !(st.soc_pct >= 0 && st.soc_pct <= 100)) ||
		    (st.has_soh && !(st.soh_pct >= 0 && st.soh_pct <= 100)) ||
		    (st.has_reserve && !(st.reserve_pct >= 0 && st.reserve_pct <= 100)))
			abort();
		if (st.has_capacity &&
		    (st.capacity_wh < 1 || st.capacity_wh > STORAGE_CAPACITY_MAX_WH))
			abort();
		if ((st.has_power && !(fabs(st.power_w) <= STORAGE_POWER_MAX_W)) ||
		    (st.has_max_charge && !(st.max_charge_w >= 0)) ||
		    (st.has_max_discharge && !(st.max_discharge_w >= 0)))
			abort();
		if (st.has_charge_status && st.charge_status_name == NULL)
			abort();
		if (st.has_controls && st.ctl_mode > 3)
			abort();
		if (st.present != (st.model != 0))
			abort();
	}
	return 0;
}
