/*
 * sunspec.c: SunSpec discovery, chain walk, read plan and decoding (see sunspec.h).
 *
 * Every register image that reaches this file came from a device and is
 * untrusted: lengths are checked against the tables and the 16-bit address
 * space before any index is formed, and a sentinel is reported as
 * PW_ERR_NOT_IMPL, never as a number.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "agent/sunspec.h"
#include "peerwatt/log.h"

#include "agent/sunspec_models.inc"

#define NMODELS (sizeof(sunspec_model_defs) / sizeof(sunspec_model_defs[0]))
#define MARK_HI 0x5375 /* "Su" */
#define MARK_LO 0x6e53 /* "nS" */

static const uint16_t discovery_bases[] = { 40000, 0, 50000 };

const struct sunspec_model_def *
sunspec_model_find(uint16_t id)
{
	for (size_t i = 0; i < NMODELS; i++)
		if (sunspec_model_defs[i].id == id)
			return &sunspec_model_defs[i];
	return NULL;
}

const struct sunspec_model_def *
sunspec_model_all(size_t *n)
{
	*n = NMODELS;
	return sunspec_model_defs;
}

const struct sunspec_point *
sunspec_point_find(const struct sunspec_model_def *def, const char *name, bool rep)
{
	const struct sunspec_point *pts = rep ? def->rep : def->fixed;
	uint16_t n = rep ? def->nrep : def->nfixed;

	for (uint16_t i = 0; i < n; i++)
		if (strcmp(pts[i].name, name) == 0)
			return &pts[i];
	return NULL;
}

const char *
sunspec_type_name(enum sunspec_type t)
{
	static const char *const names[SUNSPEC_T__COUNT] = {
		[SUNSPEC_T_INT16] = "int16",           [SUNSPEC_T_UINT16] = "uint16",
		[SUNSPEC_T_ACC16] = "acc16",           [SUNSPEC_T_ENUM16] = "enum16",
		[SUNSPEC_T_BITFIELD16] = "bitfield16", [SUNSPEC_T_SUNSSF] = "sunssf",
		[SUNSPEC_T_COUNT] = "count",           [SUNSPEC_T_PAD] = "pad",
		[SUNSPEC_T_INT32] = "int32",           [SUNSPEC_T_UINT32] = "uint32",
		[SUNSPEC_T_ACC32] = "acc32",           [SUNSPEC_T_ENUM32] = "enum32",
		[SUNSPEC_T_BITFIELD32] = "bitfield32", [SUNSPEC_T_IPADDR] = "ipaddr",
		[SUNSPEC_T_FLOAT32] = "float32",       [SUNSPEC_T_INT64] = "int64",
		[SUNSPEC_T_UINT64] = "uint64",         [SUNSPEC_T_ACC64] = "acc64",
		[SUNSPEC_T_BITFIELD64] = "bitfield64", [SUNSPEC_T_FLOAT64] = "float64",
		[SUNSPEC_T_STRING] = "string",         [SUNSPEC_T_IPV6ADDR] = "ipv6addr",
		[SUNSPEC_T_EUI48] = "eui48",
	};
	if ((unsigned)t >= (unsigned)SUNSPEC_T__COUNT)
		return "?";
	return names[t];
}

/* --- decoding -------------------------------------------------------------- */

static uint64_t
be_words(const uint16_t *regs, uint16_t n)
{
	uint64_t v = 0;
	for (uint16_t i = 0; i < n; i++)
		v = (v << 16) | regs[i];
	return v;
}

/* Registers each fixed-size type needs; 0 for variable-size (string). */
static uint16_t
type_size(enum sunspec_type t)
{
	switch (t) {
	case SUNSPEC_T_INT16:
	case SUNSPEC_T_UINT16:
	case SUNSPEC_T_ACC16:
	case SUNSPEC_T_ENUM16:
	case SUNSPEC_T_BITFIELD16:
	case SUNSPEC_T_SUNSSF:
	case SUNSPEC_T_COUNT:
	case SUNSPEC_T_PAD:
		return 1;
	case SUNSPEC_T_INT32:
	case SUNSPEC_T_UINT32:
	case SUNSPEC_T_ACC32:
	case SUNSPEC_T_ENUM32:
	case SUNSPEC_T_BITFIELD32:
	case SUNSPEC_T_IPADDR:
	case SUNSPEC_T_FLOAT32:
		return 2;
	case SUNSPEC_T_INT64:
	case SUNSPEC_T_UINT64:
	case SUNSPEC_T_ACC64:
	case SUNSPEC_T_BITFIELD64:
	case SUNSPEC_T_FLOAT64:
	case SUNSPEC_T_EUI48:
		return 4;
	case SUNSPEC_T_IPV6ADDR:
		return 8;
	default:
		return 0;
	}
}

pw_err
sunspec_decode(enum sunspec_type type, const uint16_t *regs, uint16_t size, struct sunspec_value *v)
{
	uint16_t need = type_size(type);
	uint64_t w;

	memset(v, 0, sizeof(*v));
	v->type = type;
	if ((unsigned)type >= (unsigned)SUNSPEC_T__COUNT)
		return PW_ERR_ARG;
	if (type == SUNSPEC_T_STRING || type == SUNSPEC_T_IPV6ADDR) {
		if (size == 0 || (need && size != need))
			return PW_ERR_LENGTH;
		v->impl = false;
		for (uint16_t i = 0; i < size; i++)
			if (regs[i] != 0)
				v->impl = true;
		return PW_OK;
	}
	if (size != need)
		return PW_ERR_LENGTH;
	w = be_words(regs, size);
	switch (type) {
	case SUNSPEC_T_INT16:
	case SUNSPEC_T_SUNSSF:
		v->i = (int16_t)w;
		v->impl = w != 0x8000;
		break;
	case SUNSPEC_T_UINT16:
	case SUNSPEC_T_ENUM16:
	case SUNSPEC_T_BITFIELD16:
	case SUNSPEC_T_COUNT:
		v->u = w;
		v->impl = w != 0xFFFF;
		break;
	case SUNSPEC_T_ACC16:
	case SUNSPEC_T_ACC32:
	case SUNSPEC_T_ACC64:
	case SUNSPEC_T_IPADDR:
		/* An accumulator starts at 1: 0 means "not implemented". */
		v->u = w;
		v->impl = w != 0;
		break;
	case SUNSPEC_T_PAD:
		v->impl = false;
		break;
	case SUNSPEC_T_INT32:
		v->i = (int32_t)(uint32_t)w;
		v->impl = w != 0x80000000u;
		break;
	case SUNSPEC_T_UINT32:
	case SUNSPEC_T_ENUM32:
	case SUNSPEC_T_BITFIELD32:
		v->u = w;
		v->impl = w != 0xFFFFFFFFu;
		break;
	case SUNSPEC_T_FLOAT32: {
		float f;
		uint32_t w32 = (uint32_t)w;
		memcpy(&f, &w32, sizeof(f));
		v->f = (double)f;
		v->impl = !isnan(f);
		break;
	}
	case SUNSPEC_T_INT64:
		v->i = (int64_t)w;
		v->impl = w != 0x8000000000000000u;
		break;
	case SUNSPEC_T_UINT64:
	case SUNSPEC_T_BITFIELD64:
		v->u = w;
		v->impl = w != UINT64_MAX;
		break;
	case SUNSPEC_T_FLOAT64: {
		double d;
		memcpy(&d, &w, sizeof(d));
		v->f = d;
		v->impl = !isnan(d);
		break;
	}
	case SUNSPEC_T_EUI48:
		/* Two registers of padding then six bytes of address. */
		v->u = w & 0xFFFFFFFFFFFFu;
		v->impl = v->u != 0xFFFFFFFFFFFFu;
		break;
	default:
		return PW_ERR_ARG;
	}
	return PW_OK;
}

void
sunspec_sentinel(enum sunspec_type type, uint16_t size, uint16_t *regs)
{
	uint16_t fill = 0;

	switch (type) {
	case SUNSPEC_T_INT16:
	case SUNSPEC_T_SUNSSF:
	case SUNSPEC_T_INT32:
	case SUNSPEC_T_INT64:
		/* 0x8000 then zeros: the most negative value of the width. */
		for (uint16_t i = 0; i < size; i++)
			regs[i] = i == 0 ? 0x8000 : 0;
		return;
	case SUNSPEC_T_FLOAT32:
		regs[0] = 0x7FC0;
		if (size > 1)
			regs[1] = 0;
		return;
	case SUNSPEC_T_FLOAT64:
		for (uint16_t i = 0; i < size; i++)
			regs[i] = i == 0 ? 0x7FF8 : 0;
		return;
	case SUNSPEC_T_UINT16:
	case SUNSPEC_T_ENUM16:
	case SUNSPEC_T_BITFIELD16:
	case SUNSPEC_T_COUNT:
	case SUNSPEC_T_UINT32:
	case SUNSPEC_T_ENUM32:
	case SUNSPEC_T_BITFIELD32:
	case SUNSPEC_T_UINT64:
	case SUNSPEC_T_BITFIELD64:
	case SUNSPEC_T_EUI48:
		fill = 0xFFFF;
		break;
	default: /* acc, ipaddr, string, ipv6addr, pad: zeros */
		break;
	}
	for (uint16_t i = 0; i < size; i++)
		regs[i] = fill;
}

/* --- blocks and points ------------------------------------------------------- */

/* Registers of def covered by a reported length: the fixed part plus whole repetitions. */
static uint16_t
covered_len(const struct sunspec_model_def *def, uint16_t len, int *nrep)
{
	*nrep = 0;
	if (def->rep == NULL || def->rep_len == 0 || len <= def->fixed_len)
		return len < def->fixed_len ? len : def->fixed_len;
	int n = (len - def->fixed_len) / def->rep_len;
	if (n > SUNSPEC_MAX_REPEATS)
		n = SUNSPEC_MAX_REPEATS;
	*nrep = n;
	return (uint16_t)(def->fixed_len + n * def->rep_len);
}

pw_err
sunspec_block_load(struct sunspec_block *blk, const struct sunspec_model_ref *ref,
                   const uint16_t *regs, size_t nregs_avail)
{
	const struct sunspec_model_def *def = sunspec_model_find(ref->id);
	int nrep;
	uint16_t n;

	memset(blk, 0, offsetof(struct sunspec_block, regs));
	blk->ref = *ref;
	if (def == NULL)
		return PW_ERR_NOTFOUND;
	n = (uint16_t)(2 + covered_len(def, ref->len, &nrep));
	if (n > SUNSPEC_BLOCK_MAX)
		return PW_ERR_INTERNAL; /* the limits above make this impossible */
	if (nregs_avail < n)
		return PW_ERR_LENGTH;
	if (regs[0] != ref->id || regs[1] != ref->len)
		return PW_ERR_STATE;
	blk->def = def;
	blk->nregs = n;
	blk->nrepeats = nrep;
	memcpy(blk->regs, regs, n * sizeof(uint16_t));
	return PW_OK;
}

/* Locate a point: its registers in blk, or an error. */
static pw_err
point_locate(const struct sunspec_block *blk, const char *name, int rep,
             const struct sunspec_point **pp, const uint16_t **regs)
{
	const struct sunspec_point *p;
	uint32_t off;

	if (blk->def == NULL)
		return PW_ERR_NOTFOUND;
	if (rep < 0) {
		p = sunspec_point_find(blk->def, name, false);
		if (p == NULL)
			return PW_ERR_NOTFOUND;
		off = p->offset;
	} else {
		if (blk->def->rep == NULL || rep >= blk->nrepeats)
			return PW_ERR_NOTFOUND;
		p = sunspec_point_find(blk->def, name, true);
		if (p == NULL)
			return PW_ERR_NOTFOUND;
		off = 2u + blk->def->fixed_len + (uint32_t)rep * blk->def->rep_len + p->offset;
	}
	if (off + p->size > blk->nregs)
		return PW_ERR_NOTFOUND; /* the device's block is shorter than the model */
	*pp = p;
	*regs = &blk->regs[off];
	return PW_OK;
}

/* The scale exponent of point p: PW_OK with *sf (0 without one), NOT_IMPL, FIELD. */
static pw_err
point_sf(const struct sunspec_block *blk, const struct sunspec_point *p, int *sf)
{
	const struct sunspec_point *s;
	struct sunspec_value v;
	pw_err rc;

	*sf = 0;
	if (p->sf < 0)
		return PW_OK;
	if (p->sf >= blk->def->nfixed)
		return PW_ERR_INTERNAL;
	s = &blk->def->fixed[p->sf];
	if (s->offset + s->size > blk->nregs)
		return PW_ERR_NOT_IMPL;
	if ((rc = sunspec_decode(s->type, &blk->regs[s->offset], s->size, &v)) != PW_OK)
		return rc;
	if (!v.impl)
		return PW_ERR_NOT_IMPL;
	if (v.i < -10 || v.i > 10)
		return PW_ERR_FIELD;
	*sf = (int)v.i;
	return PW_OK;
}

pw_err
sunspec_get_raw(const struct sunspec_block *blk, const char *name, int rep, int64_t *raw, int *sf)
{
	const struct sunspec_point *p;
	const uint16_t *r;
	struct sunspec_value v;
	pw_err rc;

	if ((rc = point_locate(blk, name, rep, &p, &r)) != PW_OK)
		return rc;
	if ((rc = sunspec_decode(p->type, r, p->size, &v)) != PW_OK)
		return rc;
	switch (p->type) {
	case SUNSPEC_T_FLOAT32:
	case SUNSPEC_T_FLOAT64:
	case SUNSPEC_T_STRING:
	case SUNSPEC_T_IPV6ADDR:
	case SUNSPEC_T_PAD:
		return PW_ERR_ARG;
	default:
		break;
	}
	if (!v.impl)
		return PW_ERR_NOT_IMPL;
	if ((rc = point_sf(blk, p, sf)) != PW_OK)
		return rc;
	switch (p->type) {
	case SUNSPEC_T_INT16:
	case SUNSPEC_T_SUNSSF:
	case SUNSPEC_T_INT32:
	case SUNSPEC_T_INT64:
		*raw = v.i;
		break;
	default:
		if (v.u > (uint64_t)INT64_MAX)
			return PW_ERR_RANGE;
		*raw = (int64_t)v.u;
		break;
	}
	return PW_OK;
}

pw_err
sunspec_get_number(const struct sunspec_block *blk, const char *name, int rep, double *out)
{
	const struct sunspec_point *p;
	const uint16_t *r;
	struct sunspec_value v;
	int64_t raw;
	int sf;
	pw_err rc;

	if ((rc = point_locate(blk, name, rep, &p, &r)) != PW_OK)
		return rc;
	if (p->type == SUNSPEC_T_FLOAT32 || p->type == SUNSPEC_T_FLOAT64) {
		if ((rc = sunspec_decode(p->type, r, p->size, &v)) != PW_OK)
			return rc;
		if (!v.impl)
			return PW_ERR_NOT_IMPL;
		if (!isfinite(v.f))
			return PW_ERR_FIELD;
		if ((rc = point_sf(blk, p, &sf)) != PW_OK)
			return rc;
		*out = v.f * pow(10.0, sf);
		return PW_OK;
	}
	if ((rc = sunspec_get_raw(blk, name, rep, &raw, &sf)) != PW_OK)
		return rc;
	/* dividing by an exact power of ten: 502 x 10^-1 reads 50.2, not 50.2000...03 */
	*out = sf < 0 ? (double)raw / pow(10.0, -sf) : (double)raw * pow(10.0, sf);
	return PW_OK;
}

pw_err
sunspec_get_string(const struct sunspec_block *blk, const char *name, int rep, char *buf,
                   size_t bufsz)
{
	const struct sunspec_point *p;
	const uint16_t *r;
	size_t n = 0;
	pw_err rc;

	if ((rc = point_locate(blk, name, rep, &p, &r)) != PW_OK)
		return rc;
	if (p->type != SUNSPEC_T_STRING)
		return PW_ERR_ARG;
	if (bufsz < (size_t)p->size * 2 + 1)
		return PW_ERR_FULL;
	for (uint16_t i = 0; i < p->size; i++) {
		buf[n++] = (char)(r[i] >> 8);
		buf[n++] = (char)(r[i] & 0xFF);
	}
	buf[n] = '\0';
	/* The string ends at the first NUL; then drop trailing padding spaces. */
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == ' ')
		buf[--n] = '\0';
	if (n == 0)
		return PW_ERR_NOT_IMPL;
	/* Keep the text printable: a device's junk must not reach a terminal or JSON raw. */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] > 0x7E)
			buf[i] = '?';
	return PW_OK;
}

pw_err
sunspec_get_symbol(const struct sunspec_block *blk, const char *name, int rep, uint32_t *value,
                   const char **symbol)
{
	const struct sunspec_point *p;
	const uint16_t *r;
	struct sunspec_value v;
	pw_err rc;

	if ((rc = point_locate(blk, name, rep, &p, &r)) != PW_OK)
		return rc;
	if (p->type != SUNSPEC_T_ENUM16 && p->type != SUNSPEC_T_ENUM32)
		return PW_ERR_ARG;
	if ((rc = sunspec_decode(p->type, r, p->size, &v)) != PW_OK)
		return rc;
	if (!v.impl)
		return PW_ERR_NOT_IMPL;
	*value = (uint32_t)v.u;
	*symbol = NULL;
	for (uint16_t i = 0; i < p->nsyms; i++)
		if (p->syms[i].value == *value)
			*symbol = p->syms[i].name;
	return PW_OK;
}

/* --- read plan ----------------------------------------------------------------- */

#define PLAN_MAXPTS (256 + SUNSPEC_MAX_REPEATS * 16)

struct plan_pt {
	uint16_t start, end; /* [start, end) in block registers */
	int32_t sf;          /* register of the scale factor, -1 none */
};

static int
plan_points(const struct sunspec_model_def *def, uint16_t nregs, int nrep, struct plan_pt *pts)
{
	int n = 0;

	for (uint16_t i = 0; i < def->nfixed && n < PLAN_MAXPTS; i++) {
		const struct sunspec_point *p = &def->fixed[i];
		if (p->offset + p->size > nregs)
			break;
		pts[n].start = p->offset;
		pts[n].end = (uint16_t)(p->offset + p->size);
		pts[n].sf = p->sf >= 0 ? def->fixed[p->sf].offset : -1;
		n++;
	}
	for (int r = 0; r < nrep; r++) {
		for (uint16_t i = 0; i < def->nrep && n < PLAN_MAXPTS; i++) {
			const struct sunspec_point *p = &def->rep[i];
			uint32_t off = 2u + def->fixed_len + (uint32_t)r * def->rep_len + p->offset;
			if (off + p->size > nregs)
				break;
			pts[n].start = (uint16_t)off;
			pts[n].end = (uint16_t)(off + p->size);
			pts[n].sf = p->sf >= 0 ? def->fixed[p->sf].offset : -1;
			n++;
		}
	}
	return n;
}

int
sunspec_plan(const struct sunspec_model_def *def, uint16_t nregs, int nrep, uint16_t *starts,
             uint16_t *counts, int max)
{
	struct plan_pt pts[PLAN_MAXPTS];
	int npts = plan_points(def, nregs, nrep, pts);
	int nreq = 0, first = 0;
	uint16_t s = 0;

	while (s < nregs) {
		int best_valid = -1, best_any = -1, last_valid = -1, last_any = -1;
		for (int i = first; i < npts; i++) {
			uint16_t e = pts[i].end;
			if (e - s > SUNSPEC_MAX_READ)
				break;
			bool valid = true;
			for (int j = first; j <= i && valid; j++)
				if (pts[j].sf >= 0 && (pts[j].sf < s || pts[j].sf >= e))
					valid = false;
			best_any = e;
			last_any = i;
			if (valid) {
				best_valid = e;
				last_valid = i;
			}
		}
		uint16_t e;
		if (best_valid > 0) {
			e = (uint16_t)best_valid;
			first = last_valid + 1;
		} else if (best_any > 0) {
			/* No split keeps every value with its scale factor: read what fits. */
			e = (uint16_t)best_any;
			first = last_any + 1;
		} else {
			/* Registers past the points (or a point wider than a read). */
			e = (uint16_t)((nregs - s) > SUNSPEC_MAX_READ ? s + SUNSPEC_MAX_READ
			                                              : nregs);
			while (first < npts && pts[first].end <= e)
				first++;
		}
		if (nreq == max)
			return -1;
		starts[nreq] = s;
		counts[nreq] = (uint16_t)(e - s);
		nreq++;
		s = e;
	}
	return nreq;
}

pw_err
sunspec_read_block(const struct sunspec_io *io, const struct sunspec_model_ref *ref,
                   struct sunspec_block *blk)
{
	const struct sunspec_model_def *def = sunspec_model_find(ref->id);
	uint16_t tmp[SUNSPEC_BLOCK_MAX];
	uint16_t starts[32], counts[32];
	int nrep, nreq;
	uint16_t nregs;
	pw_err rc;

	memset(blk, 0, offsetof(struct sunspec_block, regs));
	blk->ref = *ref;
	if (def == NULL)
		return PW_ERR_NOTFOUND;
	nregs = (uint16_t)(2 + covered_len(def, ref->len, &nrep));
	if (ref->addr + nregs > 65536u)
		return PW_ERR_CORRUPT;
	nreq = sunspec_plan(def, nregs, nrep, starts, counts, 32);
	if (nreq < 0)
		return PW_ERR_INTERNAL;
	for (int i = 0; i < nreq; i++) {
		rc = io->read(io->arg, (uint16_t)(ref->addr + starts[i]), counts[i],
		              &tmp[starts[i]]);
		if (rc != PW_OK)
			return rc;
	}
	return sunspec_block_load(blk, ref, tmp, nregs);
}

/* --- discovery ----------------------------------------------------------------- */

static void walk_warn(const struct sunspec_io *io, const char *fmt, ...) PW_PRINTF(2, 3);

static void
walk_warn(const struct sunspec_io *io, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (io->rate != NULL)
		log_rated(io->rate, LOG_LEVEL_WARN, "%s", msg);
	else
		log_warnx("%s", msg);
}

static bool
is_transport_err(pw_err rc)
{
	return rc != PW_OK && rc != PW_ERR_MODBUS_EXC;
}

/* The walk from dev->walk_next on; a transport error leaves walk_next at
 * the header that failed. */
static pw_err
walk_from(const struct sunspec_io *io, struct sunspec_dev *dev)
{
	uint32_t addr = dev->walk_next;
	uint16_t hdr[2];
	pw_err rc;

	for (;;) {
		if (addr + 2 > 65536u) {
			walk_warn(io, "sunspec: model chain runs past register 65535");
			return PW_ERR_CORRUPT;
		}
		rc = io->read(io->arg, (uint16_t)addr, 2, hdr);
		if (rc == PW_ERR_MODBUS_EXC && dev->nmodels > 0) {
			/* Some devices answer the end marker with an exception. */
			log_debug("sunspec: exception at %u taken as the end of the chain", addr);
			break;
		}
		if (rc != PW_OK) {
			dev->walk_next = addr;
			return rc;
		}
		if (hdr[0] == 0xFFFF)
			break;
		if (hdr[0] == 0) {
			walk_warn(io, "sunspec: model id 0 at register %u", addr);
			return PW_ERR_CORRUPT;
		}
		if (dev->nmodels == SUNSPEC_MAX_MODELS) {
			walk_warn(io, "sunspec: more than %d models in the chain",
			          SUNSPEC_MAX_MODELS);
			return PW_ERR_CORRUPT;
		}
		if (hdr[0] == 1 && hdr[1] != 65 && hdr[1] != 66) {
			walk_warn(io, "sunspec: common model with length %u (65 or 66 expected)",
			          hdr[1]);
			return PW_ERR_CORRUPT;
		}
		dev->models[dev->nmodels].id = hdr[0];
		dev->models[dev->nmodels].len = hdr[1];
		dev->models[dev->nmodels].addr = addr;
		dev->nmodels++;
		addr += 2u + hdr[1];
		dev->walk_next = addr;
	}
	dev->walk_next = 0;
	if (dev->nmodels == 0) {
		walk_warn(io, "sunspec: empty model chain at base %u", dev->base);
		return PW_ERR_CORRUPT;
	}
	return PW_OK;
}

pw_err
sunspec_walk(const struct sunspec_io *io, uint16_t base, struct sunspec_dev *dev)
{
	memset(dev, 0, sizeof(*dev));
	dev->base = base;
	dev->walk_next = (uint32_t)base + 2;
	return walk_from(io, dev);
}

pw_err
sunspec_walk_resume(const struct sunspec_io *io, struct sunspec_dev *dev)
{
	if (dev->walk_next == 0)
		return PW_ERR_ARG;
	return walk_from(io, dev);
}

pw_err
sunspec_discover(const struct sunspec_io *io, struct sunspec_dev *dev, pw_err *last_err)
{
	pw_err last = PW_OK;
	uint16_t m[2];

	for (size_t i = 0; i < sizeof(discovery_bases) / sizeof(discovery_bases[0]); i++) {
		pw_err rc = io->read(io->arg, discovery_bases[i], 2, m);
		if (rc != PW_OK) {
			/* The first transport error says most: later ones are often the backoff's.
			 */
			if (last == PW_OK || (last == PW_ERR_MODBUS_EXC && is_transport_err(rc)))
				last = rc;
			continue;
		}
		if (m[0] == MARK_HI && m[1] == MARK_LO) {
			if (last_err)
				*last_err = PW_OK;
			return sunspec_walk(io, discovery_bases[i], dev);
		}
	}
	if (last_err)
		*last_err = last;
	return PW_ERR_NOT_SUNSPEC;
}

const struct sunspec_model_ref *
sunspec_dev_find(const struct sunspec_dev *dev, const uint16_t *ids, size_t n)
{
	for (int i = 0; i < dev->nmodels; i++)
		for (size_t j = 0; j < n; j++)
			if (dev->models[i].id == ids[j])
				return &dev->models[i];
	return NULL;
}

/* --- poll ------------------------------------------------------------------------ */

pw_err
sunspec_scale_wh(int64_t raw, int sf, int64_t *wh)
{
	if (raw < 0 || sf < -10 || sf > 10)
		return PW_ERR_RANGE;
	for (; sf > 0; sf--) {
		if (raw > INT64_MAX / 10)
			return PW_ERR_OVERFLOW;
		raw *= 10;
	}
	for (; sf < 0; sf++)
		raw /= 10;
	*wh = raw;
	return PW_OK;
}

/* An accumulator point as raw count + exponent; floats become whole Wh (floor). */
static bool
read_acc(const struct sunspec_block *blk, const char *name, uint64_t *raw, int *sf, int64_t *wh)
{
	const struct sunspec_point *p = sunspec_point_find(blk->def, name, false);
	int64_t r;

	if (p == NULL)
		return false;
	if (p->type == SUNSPEC_T_FLOAT32 || p->type == SUNSPEC_T_FLOAT64) {
		double f;
		if (sunspec_get_number(blk, name, -1, &f) != PW_OK)
			return false;
		/* An accumulator never counts down from zero, nor beyond 2^53. */
		if (f < 0.0 || f > 9007199254740992.0)
			return false;
		*wh = (int64_t)floor(f);
		*raw = (uint64_t)*wh;
		*sf = 0;
		return true;
	}
	if (sunspec_get_raw(blk, name, -1, &r, sf) != PW_OK)
		return false;
	if (sunspec_scale_wh(r, *sf, wh) != PW_OK)
		return false;
	*raw = (uint64_t)r;
	return true;
}

static int
acc_bits_of(const struct sunspec_block *blk, const char *name)
{
	const struct sunspec_point *p = sunspec_point_find(blk->def, name, false);
	if (p == NULL)
		return 0;
	switch (p->type) {
	case SUNSPEC_T_ACC16:
		return 16;
	case SUNSPEC_T_ACC32:
		return 32;
	case SUNSPEC_T_ACC64:
		return 64;
	default:
		return 0; /* floats and uint64 counters: no wrap within a lifetime */
	}
}

static void
poll_common(const struct sunspec_block *b, struct sunspec_reading *r)
{
	r->has_common = true;
	if (sunspec_get_string(b, "Mn", -1, r->manufacturer, sizeof(r->manufacturer)) != PW_OK)
		r->manufacturer[0] = '\0';
	if (sunspec_get_string(b, "Md", -1, r->model, sizeof(r->model)) != PW_OK)
		r->model[0] = '\0';
	if (sunspec_get_string(b, "Vr", -1, r->version, sizeof(r->version)) != PW_OK)
		r->version[0] = '\0';
	if (sunspec_get_string(b, "SN", -1, r->serial, sizeof(r->serial)) != PW_OK)
		r->serial[0] = '\0';
}

static void
poll_inverter(const struct sunspec_block *b, struct sunspec_reading *r)
{
	bool der = b->def->id == 701;
	uint64_t raw;
	int sf;

	r->has_inverter = true;
	r->inverter_model = b->def->id;
	r->has_ac_power = sunspec_get_number(b, "W", -1, &r->ac_power_w) == PW_OK;
	r->has_ac_energy = read_acc(b, der ? "TotWhInj" : "WH", &raw, &sf, &r->ac_energy_wh);
	r->has_status =
	    sunspec_get_symbol(b, der ? "InvSt" : "St", -1, &r->status, &r->status_name) == PW_OK;
}

static void
poll_meter(const struct sunspec_block *b, struct sunspec_reading *r)
{
	r->has_meter = true;
	r->meter_model = b->def->id;
	r->has_meter_power = sunspec_get_number(b, "W", -1, &r->meter_power_w) == PW_OK;
	r->has_export = read_acc(b, "TotWhExp", &r->export_raw, &r->export_sf, &r->export_wh);
	r->has_import = read_acc(b, "TotWhImp", &r->import_raw, &r->import_sf, &r->import_wh);
	r->acc_bits = acc_bits_of(b, "TotWhExp");
}

pw_err
sunspec_poll(const struct sunspec_io *io, const struct sunspec_dev *dev, struct sunspec_reading *r)
{
	static const uint16_t common[] = { 1 };
	static const uint16_t inv[] = { 101, 102, 103, 111, 112, 113 };
	static const uint16_t der[] = { 701 };
	static const uint16_t meter[] = { 201, 202, 203, 204, 211, 212, 213, 214 };
	struct sunspec_block blk;
	const struct sunspec_model_ref *ref;
	pw_err rc;

	memset(r, 0, sizeof(*r));
	if ((ref = sunspec_dev_find(dev, common, 1)) != NULL) {
		if ((rc = sunspec_read_block(io, ref, &blk)) != PW_OK)
			return rc;
		poll_common(&blk, r);
	}
	ref = sunspec_dev_find(dev, inv, sizeof(inv) / sizeof(inv[0]));
	if (ref == NULL)
		ref = sunspec_dev_find(dev, der, 1);
	if (ref != NULL) {
		if ((rc = sunspec_read_block(io, ref, &blk)) != PW_OK)
			return rc;
		poll_inverter(&blk, r);
	}
	if ((ref = sunspec_dev_find(dev, meter, sizeof(meter) / sizeof(meter[0]))) != NULL) {
		if ((rc = sunspec_read_block(io, ref, &blk)) != PW_OK)
			return rc;
		poll_meter(&blk, r);
	}
	return PW_OK;
}
