/*
 * sim_controls.c: models 121 and 123 (or 702 and 704) of peerwatt-sim (see
 * sim_controls.h).
 */
#include "tests/sim/sim_controls.h"

#include <math.h>
#include <string.h>

#include "agent/sunspec.h"
#include "peerwatt/log.h"

/* read-write points: offsets 2 .. 2 + n - 1 from the model's ID register */
#define RW_121 20
#define RW_123 21

static uint16_t *
reg(struct simctl *c, uint32_t addr)
{
	return &c->map->tab_registers[addr - c->base];
}

static uint16_t
off(uint16_t id, const char *name)
{
	const struct sunspec_point *p = sunspec_point_find(sunspec_model_find(id), name, false);
	if (p != NULL)
		return p->offset;
	fatalx("sim: model %u has no point %s", id, name);
}

int
simctl_mode_parse(const char *word, enum simctl_mode *mode)
{
	if (strcmp(word, "ok") == 0)
		*mode = SIMCTL_OK;
	else if (strcmp(word, "ignore") == 0)
		*mode = SIMCTL_IGNORE;
	else if (strcmp(word, "refuse") == 0)
		*mode = SIMCTL_REFUSE;
	else
		return -1;
	return 0;
}

static uint16_t
wmax_of(uint16_t lim_id)
{
	return lim_id == 704 ? 702 : 121;
}

uint32_t
simctl_len(uint16_t lim_id)
{
	uint16_t id = lim_id == 704 ? 704 : 123;
	return 4u + sunspec_model_find(wmax_of(id))->fixed_len + sunspec_model_find(id)->fixed_len;
}

static uint32_t
lay(struct simctl *c, uint32_t addr, uint16_t id)
{
	const struct sunspec_model_def *def = sunspec_model_find(id);
	*reg(c, addr) = id;
	*reg(c, addr + 1) = def->fixed_len;
	for (uint16_t i = 2; i < def->nfixed; i++)
		sunspec_sentinel(def->fixed[i].type, def->fixed[i].size,
		                 reg(c, addr + def->fixed[i].offset));
	return addr + 2u + def->fixed_len;
}

static void
put32(struct simctl *c, uint32_t addr, uint32_t v)
{
	*reg(c, addr) = (uint16_t)(v >> 16);
	*reg(c, addr + 1) = (uint16_t)v;
}

static uint32_t
get32(struct simctl *c, uint32_t addr)
{
	return (uint32_t)*reg(c, addr) << 16 | *reg(c, addr + 1);
}

uint32_t
simctl_layout(struct simctl *c, modbus_mapping_t *map, uint16_t base, uint32_t addr, double wmax_w,
              uint16_t lim_id)
{
	int sf = 0;
	uint16_t w;

	memset(c, 0, sizeof(*c));
	c->map = map;
	c->base = base;
	c->lim_id = lim_id == 704 ? 704 : 123;
	c->wmax_id = wmax_of(c->lim_id);
	c->wmax_w = wmax_w > 0 ? wmax_w : 1;
	c->a_wmax = addr;
	addr = lay(c, addr, c->wmax_id);
	c->a_lim = addr;
	addr = lay(c, addr, c->lim_id);
	while (c->wmax_w / pow(10.0, sf) > 65000.0)
		sf++;
	w = (uint16_t)llround(c->wmax_w / pow(10.0, sf));
	if (c->lim_id == 704) {
		/* 702: the rating and the setting; 704: whole tenths of a percent */
		*reg(c, c->a_wmax + off(702, "WMaxRtg")) = w;
		*reg(c, c->a_wmax + off(702, "WMax")) = w;
		*reg(c, c->a_wmax + off(702, "W_SF")) = (uint16_t)(int16_t)sf;
		*reg(c, c->a_lim + off(704, "WMaxLimPctEna")) = 0; /* DISABLED */
		*reg(c, c->a_lim + off(704, "WMaxLimPct")) = 1000;
		*reg(c, c->a_lim + off(704, "WMaxLimPctRvrt")) = 1000;
		*reg(c, c->a_lim + off(704, "WMaxLimPctEnaRvrt")) = 0;
		put32(c, c->a_lim + off(704, "WMaxLimPctRvrtTms"), 0);
		put32(c, c->a_lim + off(704, "WMaxLimPctRvrtRem"), 0);
		*reg(c, c->a_lim + off(704, "WMaxLimPct_SF")) = (uint16_t)(int16_t)-1; /* 0.1 % */
		return addr;
	}
	*reg(c, c->a_wmax + off(121, "WMax")) = w;
	*reg(c, c->a_wmax + off(121, "WMax_SF")) = (uint16_t)(int16_t)sf;
	*reg(c, c->a_lim + off(123, "Conn")) = 1; /* CONNECT */
	*reg(c, c->a_lim + off(123, "WMaxLimPct")) = 10000;
	*reg(c, c->a_lim + off(123, "WMaxLimPct_SF")) = (uint16_t)(int16_t)-2; /* 0.01 % */
	*reg(c, c->a_lim + off(123, "WMaxLimPct_WinTms")) = 0;
	*reg(c, c->a_lim + off(123, "WMaxLimPct_RvrtTms")) = 0;
	*reg(c, c->a_lim + off(123, "WMaxLimPct_RmpTms")) = 0;
	*reg(c, c->a_lim + off(123, "WMaxLim_Ena")) = 0; /* DISABLED */
	return addr;
}

/* The write's address range and values; false when not a write. */
static bool
write_of(const uint8_t *q, int n, int hl, uint16_t *addr, uint16_t *count, const uint8_t **vals)
{
	if (n < hl + 5)
		return false;
	*addr = (uint16_t)(q[hl + 1] << 8 | q[hl + 2]);
	if (q[hl] == 0x06) {
		*count = 1;
		*vals = q + hl + 3;
		return true;
	}
	if (q[hl] != 0x10 || n < hl + 6)
		return false;
	*count = (uint16_t)(q[hl + 3] << 8 | q[hl + 4]);
	*vals = q + hl + 6;
	if (*count < 1 || *count > 123 || q[hl + 5] != 2 * *count || n < hl + 6 + 2 * *count)
		*count = 0; /* malformed: refused */
	return true;
}

static bool
inside(uint32_t a, uint32_t model, uint32_t nrw)
{
	return model != 0 && a >= model + 2 && a < model + 2 + nrw;
}

/* A read-write point of 704 holds register a: every point after ID and L
 * but the scale factors and the remaining reversion times (*Rem). */
static bool
writable_704(const struct simctl *c, uint32_t a)
{
	const struct sunspec_model_def *def = sunspec_model_find(704);

	if (c->a_lim == 0 || a < c->a_lim + 2)
		return false;
	for (uint16_t i = 2; i < def->nfixed; i++) {
		const struct sunspec_point *p = &def->fixed[i];
		size_t len = strlen(p->name);
		if (a < c->a_lim + p->offset || a >= c->a_lim + p->offset + p->size)
			continue;
		return p->type != SUNSPEC_T_SUNSSF &&
		       !(len > 3 && strcmp(p->name + len - 3, "Rem") == 0);
	}
	return false;
}

void
simctl_allow(struct simctl *c, uint32_t lo, uint32_t hi)
{
	c->allow_lo = lo + 2;
	c->allow_hi = hi;
}

int
simctl_check(struct simctl *c, const uint8_t *q, int n, int hl)
{
	uint16_t addr, count, img[80];
	const uint8_t *v;
	uint32_t len123;
	bool der = c->lim_id == 704;

	if (!write_of(q, n, hl, &addr, &count, &v))
		return q[hl] == 0x05 || q[hl] == 0x0F || q[hl] == 0x16 || q[hl] == 0x17
		           ? MODBUS_EXCEPTION_ILLEGAL_FUNCTION
		           : 0;
	if (count == 0)
		return MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE;
	for (uint32_t a = addr; a < (uint32_t)addr + count; a++)
		if (!(der ? writable_704(c, a)
		          : inside(a, c->a_wmax, RW_121) || inside(a, c->a_lim, RW_123)) &&
		    !(a >= c->allow_lo && a < c->allow_hi))
			return MODBUS_EXCEPTION_ILLEGAL_DATA_ADDRESS;
	/* the values the limit's model would hold after the write */
	len123 = 2u + sunspec_model_find(c->lim_id)->fixed_len;
	if (len123 > sizeof(img) / sizeof(img[0]))
		return MODBUS_EXCEPTION_SLAVE_OR_SERVER_FAILURE;
	for (uint32_t i = 0; i < len123; i++)
		img[i] = c->map->tab_registers[c->a_lim + i - c->base];
	for (uint16_t i = 0; i < count; i++) {
		uint32_t a = (uint32_t)addr + i;
		uint16_t val = (uint16_t)(v[2 * i] << 8 | v[2 * i + 1]);
		if (a >= c->a_lim && a < c->a_lim + len123)
			img[a - c->a_lim] = val;
		else if (!der && a == c->a_wmax + off(121, "WMax") && val == 0)
			return MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE;
	}
	if (c->mode == SIMCTL_REFUSE)
		return MODBUS_EXCEPTION_SLAVE_OR_SERVER_FAILURE;
	if (c->mode == SIMCTL_IGNORE) /* simctl_after puts them back */
		for (uint32_t i = 0; i < len123; i++)
			c->saved[i] = c->map->tab_registers[c->a_lim + i - c->base];
	/* 123 at -2: 100 % is 10000; 704 at -1: 1000 */
	if (der ? img[off(704, "WMaxLimPct")] > 1000 || img[off(704, "WMaxLimPctRvrt")] > 1000 ||
	              img[off(704, "WMaxLimPctEna")] > 1 || img[off(704, "WMaxLimPctEnaRvrt")] > 1
	        : img[off(123, "WMaxLimPct")] > 10000 || img[off(123, "WMaxLim_Ena")] > 1 ||
	              img[off(123, "Conn")] > 1)
		return MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE;
	return 0;
}

void
simctl_after(struct simctl *c, const uint8_t *q, int hl)
{
	uint16_t addr, count;
	const uint8_t *v;
	int sf;

	/* simctl_check has passed: the request is well formed */
	if (c->a_lim == 0 || !write_of(q, hl + 6 + 2 * 123, hl, &addr, &count, &v))
		return;
	uint32_t len = 2u + sunspec_model_find(c->lim_id)->fixed_len;
	bool der = c->lim_id == 704;
	c->writes++;
	if (!der) {
		sf = (int16_t)*reg(c, c->a_wmax + off(121, "WMax_SF"));
		c->wmax_w = *reg(c, c->a_wmax + off(121, "WMax")) * pow(10.0, sf);
	}
	if (!((uint32_t)addr + count > c->a_lim + 2 && addr < c->a_lim + len))
		return;
	if (c->mode == SIMCTL_IGNORE) {
		for (uint32_t i = 0; i < len; i++)
			c->map->tab_registers[c->a_lim + i - c->base] = c->saved[i];
		log_info("sim: a write to model %u acknowledged and ignored (--controls ignore)",
		         c->lim_id);
		return;
	}
	bool was = c->ena;
	uint32_t rvrt;
	if (der) {
		rvrt = get32(c, c->a_lim + off(704, "WMaxLimPctRvrtTms"));
		c->ena = *reg(c, c->a_lim + off(704, "WMaxLimPctEna")) == 1;
		c->pct = *reg(c, c->a_lim + off(704, "WMaxLimPct")) / 10.0;
	} else {
		rvrt = *reg(c, c->a_lim + off(123, "WMaxLimPct_RvrtTms"));
		c->ena = *reg(c, c->a_lim + off(123, "WMaxLim_Ena")) == 1;
		c->pct = *reg(c, c->a_lim + off(123, "WMaxLimPct")) / 100.0;
	}
	/* every write to the block starts the revert timeout again */
	c->revert = c->ena && rvrt > 0;
	c->rvrt_left_s = c->revert ? rvrt : 0;
	if (der)
		put32(c, c->a_lim + off(704, "WMaxLimPctRvrtRem"), (uint32_t)ceil(c->rvrt_left_s));
	if (c->ena)
		log_info("sim: export limit %.2f %% of %.0f W, revert in %u s%s (model %u)", c->pct,
		         c->wmax_w, rvrt, rvrt == 0 ? " (never)" : "", c->lim_id);
	else if (was)
		log_info("sim: export limit lifted (model %u)", c->lim_id);
}

double
simctl_clip(const struct simctl *c, double pv_w)
{
	double cap;

	if (!c->ena)
		return pv_w;
	cap = floor(c->wmax_w * c->pct / 100.0);
	return pv_w > cap ? cap : pv_w;
}

double
simctl_step(const struct simctl *c, double step_s)
{
	return c->ena && c->revert && c->rvrt_left_s > 0 && c->rvrt_left_s < step_s ? c->rvrt_left_s
	                                                                            : step_s;
}

void
simctl_tick(struct simctl *c, double step_s)
{
	if (!c->ena || !c->revert)
		return;
	c->rvrt_left_s -= step_s;
	if (c->lim_id == 704)
		put32(c, c->a_lim + off(704, "WMaxLimPctRvrtRem"),
		      c->rvrt_left_s > 0 ? (uint32_t)ceil(c->rvrt_left_s) : 0);
	if (c->rvrt_left_s > 1e-9)
		return;
	c->revert = false;
	c->rvrt_left_s = 0;
	if (c->lim_id == 704) {
		/* the reversion values take over (IEEE 1547: the limit's
		 * reversion percent and enable) */
		uint16_t ena = *reg(c, c->a_lim + off(704, "WMaxLimPctEnaRvrt"));
		uint16_t pct = *reg(c, c->a_lim + off(704, "WMaxLimPctRvrt"));
		*reg(c, c->a_lim + off(704, "WMaxLimPctEna")) = ena;
		*reg(c, c->a_lim + off(704, "WMaxLimPct")) = pct;
		c->ena = ena == 1;
		c->pct = pct / 10.0;
		if (c->ena) {
			log_info(
			    "sim: the export limit's revert timeout ran out: reverted to %.1f %%",
			    c->pct);
			return;
		}
	} else {
		/* back to no limit, as the registers say */
		c->ena = false;
		*reg(c, c->a_lim + off(123, "WMaxLim_Ena")) = 0;
	}
	log_info("sim: the export limit's revert timeout ran out: limit lifted");
}
