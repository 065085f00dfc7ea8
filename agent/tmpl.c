/*
 * tmpl.c: register-map templates: names, decoding and poll (see tmpl.h;
 * the loader and the template search are in tmpl_load.c).
 *
 * The poll reads only what a checked template names (tmpl_load.c refuses
 * an address past 65535, a read longer than TMPL_MAX_READ registers or a
 * value without the unit the agent needs); a value that does not decode
 * (a sentinel, a negative or non-finite energy, a failed read) is left out
 * of the reading rather than guessed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/sunspec.h"
#include "agent/tmpl.h"
#include "peerwatt/config.h"

static const char *const val_names[TMPL_V__COUNT] = {
	[TMPL_V_PV_POWER] = "pv_power",
	[TMPL_V_AC_ENERGY] = "ac_energy",
	[TMPL_V_GRID_POWER] = "grid_power",
	[TMPL_V_GRID_POWER_IMPORT] = "grid_power_import",
	[TMPL_V_GRID_POWER_EXPORT] = "grid_power_export",
	[TMPL_V_EXPORT_ENERGY] = "export_energy",
	[TMPL_V_IMPORT_ENERGY] = "import_energy",
	[TMPL_V_SERIAL] = "serial",
	[TMPL_V_BATTERY_SOC] = "battery_soc",
	[TMPL_V_BATTERY_POWER] = "battery_power",
	[TMPL_V_BATTERY_CAPACITY] = "battery_capacity",
	[TMPL_V_BATTERY_MAX_CHARGE] = "battery_max_charge",
	[TMPL_V_BATTERY_MAX_DISCHARGE] = "battery_max_discharge",
	[TMPL_V_BATTERY_SOH] = "battery_soh",
};

static const char *const type_names[] = { "u16", "s16", "u32", "s32", "u64", "float32", "string" };

const char *
tmpl_val_name(enum tmpl_val v)
{
	return (unsigned)v < TMPL_V__COUNT ? val_names[v] : "?";
}

const char *
tmpl_type_name(enum tmpl_type t)
{
	return (unsigned)t <= TMPL_STRING ? type_names[t] : "?";
}

uint16_t
tmpl_type_regs(enum tmpl_type t)
{
	switch (t) {
	case TMPL_U16:
	case TMPL_S16:
		return 1;
	case TMPL_U32:
	case TMPL_S32:
	case TMPL_F32:
		return 2;
	case TMPL_U64:
		return 4;
	default:
		return 0;
	}
}

uint16_t
tmpl_value_regs(const struct tmpl_value *v)
{
	return v->type == TMPL_STRING ? v->length : tmpl_type_regs(v->type);
}

bool
tmpl_is_power(int v)
{
	return v == TMPL_V_PV_POWER || v == TMPL_V_GRID_POWER || v == TMPL_V_GRID_POWER_IMPORT ||
	       v == TMPL_V_GRID_POWER_EXPORT || v == TMPL_V_BATTERY_POWER ||
	       v == TMPL_V_BATTERY_MAX_CHARGE || v == TMPL_V_BATTERY_MAX_DISCHARGE;
}

bool
tmpl_is_energy(int v)
{
	return v == TMPL_V_AC_ENERGY || v == TMPL_V_EXPORT_ENERGY || v == TMPL_V_IMPORT_ENERGY;
}

bool
tmpl_name_ok(const char *name)
{
	size_t n = strnlen(name, TMPL_NAME_MAX + 1);

	if (n == 0 || n > TMPL_NAME_MAX || name[0] == '-' || strcmp(name, "sunspec") == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

/* --- decoding -------------------------------------------------------------------------- */

static uint64_t
words(const uint16_t *regs, uint16_t n, bool little)
{
	uint64_t w = 0;
	for (uint16_t i = 0; i < n; i++)
		w = (w << 16) | regs[little ? n - 1 - i : i];
	return w;
}

static double
pow10d(int e)
{
	return pow(10.0, e);
}

pw_err
tmpl_decode(const struct tmpl_value *v, bool sentinels, const uint16_t *regs, int scale_exp,
            double *num, int64_t *raw)
{
	uint16_t n = tmpl_type_regs(v->type);
	uint64_t w;
	int64_t r;

	if (n == 0)
		return PW_ERR_ARG;
	w = words(regs, n, v->little);
	switch (v->type) {
	case TMPL_U16:
		if (sentinels && w == 0xFFFFu)
			return PW_ERR_NOT_IMPL;
		r = (int64_t)w;
		break;
	case TMPL_S16:
		if (sentinels && w == 0x8000u)
			return PW_ERR_NOT_IMPL;
		r = (int16_t)(uint16_t)w;
		break;
	case TMPL_U32:
		if (sentinels && w == 0xFFFFFFFFu)
			return PW_ERR_NOT_IMPL;
		r = (int64_t)w;
		break;
	case TMPL_S32:
		if (sentinels && w == 0x80000000u)
			return PW_ERR_NOT_IMPL;
		r = (int32_t)(uint32_t)w;
		break;
	case TMPL_U64:
		if (sentinels && w == UINT64_MAX)
			return PW_ERR_NOT_IMPL;
		if (w > (uint64_t)INT64_MAX)
			return PW_ERR_RANGE;
		r = (int64_t)w;
		break;
	case TMPL_F32: {
		float f;
		uint32_t w32 = (uint32_t)w;
		memcpy(&f, &w32, sizeof(f));
		if (!isfinite(f))
			return PW_ERR_FIELD;
		*num = (double)f * pow10d(scale_exp);
		*raw = 0;
		return PW_OK;
	}
	default:
		return PW_ERR_ARG;
	}
	*raw = r;
	*num = (double)r * pow10d(scale_exp);
	return PW_OK;
}

pw_err
tmpl_encode(const struct tmpl_value *v, double num, const char *text, int scale_exp, uint16_t *regs)
{
	uint16_t n = tmpl_type_regs(v->type);
	uint64_t w;
	double r;

	if (v->type == TMPL_STRING) {
		size_t tl = text != NULL ? strlen(text) : 0;
		for (uint16_t i = 0; i < v->length; i++) {
			unsigned hi = 2u * i < tl ? (unsigned char)text[2 * i] : 0;
			unsigned lo = 2u * i + 1 < tl ? (unsigned char)text[2 * i + 1] : 0;
			regs[i] = (uint16_t)(hi << 8 | lo);
		}
		return tl <= 2u * v->length ? PW_OK : PW_ERR_RANGE;
	}
	if (v->type == TMPL_F32) {
		float f = (float)(num / pow10d(scale_exp));
		uint32_t w32;
		memcpy(&w32, &f, sizeof(w32));
		w = w32;
	} else {
		r = round(num / pow10d(scale_exp));
		switch (v->type) {
		case TMPL_U16:
			if (r < 0 || r > 65535)
				return PW_ERR_RANGE;
			break;
		case TMPL_S16:
			if (r < -32768 || r > 32767)
				return PW_ERR_RANGE;
			break;
		case TMPL_U32:
			if (r < 0 || r > 4294967295.0)
				return PW_ERR_RANGE;
			break;
		case TMPL_S32:
			if (r < -2147483648.0 || r > 2147483647.0)
				return PW_ERR_RANGE;
			break;
		default:
			if (r < 0 || r > 9.0e18)
				return PW_ERR_RANGE;
			break;
		}
		w = (uint64_t)(int64_t)r;
	}
	for (uint16_t i = 0; i < n; i++) {
		uint16_t word = (uint16_t)(w >> (16 * (n - 1 - i)));
		regs[v->little ? n - 1 - i : i] = word;
	}
	return PW_OK;
}

/* --- poll ----------------------------------------------------------------------------- */

static bool
transport(pw_err rc)
{
	return rc != PW_OK && rc != PW_ERR_MODBUS_EXC;
}

/* One register range of a value (and its scale register) in one request. */
static pw_err
read_one(const struct tmpl_value *v, const struct tmpl_io *io, int i, uint16_t *buf,
         const uint16_t **val, int *sf_reg)
{
	uint16_t regs = tmpl_value_regs(v);
	uint32_t lo = v->addr[i], hi = (uint32_t)v->addr[i] + regs;
	pw_err rc;

	if (v->scale_reg) {
		if (v->scale_addr < lo)
			lo = v->scale_addr;
		if ((uint32_t)v->scale_addr + 1u > hi)
			hi = (uint32_t)v->scale_addr + 1u;
	}
	if (hi - lo > TMPL_MAX_READ || hi > 65536u)
		return PW_ERR_INTERNAL; /* the loader refuses such templates */
	rc = io->read(io->arg, v->fc, v->unit_id, (uint16_t)lo, (uint16_t)(hi - lo), buf);
	if (rc != PW_OK)
		return rc;
	*val = &buf[v->addr[i] - lo];
	*sf_reg = 0;
	if (v->scale_reg) {
		int16_t e = (int16_t)buf[v->scale_addr - lo];
		if (e < -10 || e > 10)
			return PW_ERR_FIELD;
		*sf_reg = e;
	}
	return PW_OK;
}

static void
text_of(const uint16_t *regs, uint16_t n, char *out, size_t outsz)
{
	size_t k = 0;
	for (uint16_t i = 0; i < n && k + 2 < outsz; i++) {
		out[k++] = (char)(regs[i] >> 8);
		out[k++] = (char)(regs[i] & 0xFF);
	}
	out[k] = '\0';
	k = strlen(out);
	while (k > 0 && out[k - 1] == ' ')
		out[--k] = '\0';
	for (size_t i = 0; i < k; i++)
		if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] > 0x7E)
			out[i] = '?';
}

/* Read and decode value vi into r; PW_OK also when it is left out. */
static pw_err
poll_value(const struct tmpl *t, const struct tmpl_io *io, int vi, struct tmpl_reading *r)
{
	const struct tmpl_value *v = &t->v[vi];
	uint16_t buf[TMPL_MAX_READ];
	const uint16_t *p;
	double sum = 0, num;
	int64_t raw = 0;
	int sf = 0;
	pw_err rc;

	for (int i = 0; i < v->naddr; i++) {
		rc = read_one(v, io, i, buf, &p, &sf);
		if (transport(rc))
			return rc == PW_ERR_FIELD ? PW_OK : rc;
		if (rc != PW_OK)
			return PW_OK;
		if (v->type == TMPL_STRING) {
			text_of(p, v->length, r->serial, sizeof(r->serial));
			r->has[vi] = r->serial[0] != '\0';
			return PW_OK;
		}
		int e = v->scale_reg ? sf : v->scale;
		if (tmpl_decode(v, t->sentinels, p, e, &num, &raw) != PW_OK)
			return PW_OK;
		sum += num;
	}
	if (vi == TMPL_V_SERIAL) {
		snprintf(r->serial, sizeof(r->serial), "%lld", (long long)raw);
		r->has[vi] = true;
		return PW_OK;
	}
	if (tmpl_is_energy(vi)) {
		int e = v->scale_reg ? sf : v->scale;
		int kilo = v->unit == TMPL_UNIT_KWH ? 3 : 0;
		if (v->type == TMPL_F32) {
			double wh = sum * pow10d(kilo);
			/* floats are approximate anyway: the nearest Wh, never below 0 or past 2^53
			 */
			if (!(wh >= 0.0) || wh > 9007199254740992.0)
				return PW_OK;
			r->wh[vi] = (int64_t)llround(wh);
			r->raw[vi] = (uint64_t)r->wh[vi];
			r->sf[vi] = 0;
			r->bits[vi] = 0;
		} else {
			if (raw < 0 || sunspec_scale_wh(raw, e + kilo, &r->wh[vi]) != PW_OK)
				return PW_OK;
			r->raw[vi] = (uint64_t)raw;
			r->sf[vi] = e + kilo;
			r->bits[vi] = v->type == TMPL_U16   ? 16
			              : v->type == TMPL_U32 ? 32
			              : v->type == TMPL_U64 ? 64
			                                    : 0;
		}
		r->num[vi] = (double)r->wh[vi];
		r->has[vi] = true;
		return PW_OK;
	}
	if (v->unit == TMPL_UNIT_KW || v->unit == TMPL_UNIT_KWH) /* kWh: a battery's capacity */
		sum *= 1000.0;
	if (v->export_positive)
		sum = -sum;
	if (!isfinite(sum))
		return PW_OK;
	r->num[vi] = sum;
	r->has[vi] = true;
	return PW_OK;
}

pw_err
tmpl_poll(const struct tmpl *t, const struct tmpl_io *io, uint32_t mask, struct tmpl_reading *r)
{
	pw_err rc;

	memset(r, 0, sizeof(*r));
	for (int i = 0; i < TMPL_V__COUNT; i++) {
		if (!t->v[i].present || !(mask & (1u << i)))
			continue;
		if ((rc = poll_value(t, io, i, r)) != PW_OK)
			return rc;
	}
	/* two unsigned registers, one per direction, make the grid power */
	if (r->has[TMPL_V_GRID_POWER_IMPORT] && r->has[TMPL_V_GRID_POWER_EXPORT]) {
		r->num[TMPL_V_GRID_POWER] =
		    r->num[TMPL_V_GRID_POWER_IMPORT] - r->num[TMPL_V_GRID_POWER_EXPORT];
		r->has[TMPL_V_GRID_POWER] = true;
	}
	return PW_OK;
}

pw_err
tmpl_identify(const struct tmpl *t, const struct tmpl_io *io)
{
	const struct tmpl_ident *d = &t->ident;
	const struct tmpl_value *v = &d->v;
	uint16_t buf[TMPL_MAX_READ];
	const uint16_t *p;
	int sf;
	double num;
	int64_t raw;
	pw_err rc;

	if (!d->present)
		return PW_ERR_STATE;
	rc = read_one(v, io, 0, buf, &p, &sf);
	if (rc == PW_ERR_MODBUS_EXC || rc == PW_ERR_FIELD)
		return PW_ERR_NOTFOUND;
	if (rc != PW_OK)
		return rc;
	if (v->type == TMPL_STRING) {
		char s[TMPL_STR_REGS * 2 + 1];
		text_of(p, v->length, s, sizeof(s));
		if (s[0] == '\0' || strncmp(s, d->prefix, strlen(d->prefix)) != 0)
			return PW_ERR_NOTFOUND;
		return PW_OK;
	}
	if (tmpl_decode(v, t->sentinels, p, 0, &num, &raw) != PW_OK)
		return PW_ERR_NOTFOUND;
	if (v->type == TMPL_F32)
		raw = (int64_t)llround(num);
	if (d->has_range && (raw < d->min || raw > d->max))
		return PW_ERR_NOTFOUND;
	if (d->nequals > 0) {
		for (int i = 0; i < d->nequals; i++)
			if (d->equals[i] == raw)
				return PW_OK;
		return PW_ERR_NOTFOUND;
	}
	return PW_OK;
}
