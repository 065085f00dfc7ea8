/*
 * test_control.c: the curtailment decision (negative feed-in, the floor,
 * the sold quantity, the load), WMaxLimPct's register value, the revert
 * timeout, and the model 123 and 704 writes with their read-back on a
 * register image behind a fake ctl_io (agent/control.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/control.h"
#include "peerwatt/log.h"

/* --- the decision -------------------------------------------------------------- */

static void
test_decide_table(void **state)
{
	static const struct {
		int64_t feedin, floor;
		uint64_t sold_wh;
		uint32_t interval_s;
		int64_t load_w;
		bool limit;
		int64_t sold_w, limit_w;
	} t[] = {
		/* a positive feed-in over the default floor 0: no limit */
		{ 80000, 0, 0, 900, 500, false, 0, 0 },
		/* zero is not below zero */
		{ 0, 0, 0, 900, 500, false, 0, 0 },
		/* negative: the load alone */
		{ -21000, 0, 0, 900, 500, true, 0, 500 },
		{ -1, 0, 0, 900, 500, true, 0, 500 },
		/* sold 250 Wh in 15 min: 1000 W more */
		{ -21000, 0, 250, 900, 500, true, 1000, 1500 },
		/* rounded up: 1 Wh in 900 s is 4 W, not 0 */
		{ -21000, 0, 1, 900, 0, true, 4, 4 },
		/* a floor above a positive feed-in */
		{ 30000, 50000, 100, 3600, 300, true, 100, 400 },
		{ 50000, 50000, 100, 3600, 300, false, 100, 0 },
		/* a negative floor: a slightly negative feed-in is accepted */
		{ -10000, -20000, 0, 900, 300, false, 0, 0 },
		{ -30000, -20000, 0, 900, 300, true, 0, 300 },
		/* a negative load (a reading glitch) counts as none: never below 0 */
		{ -21000, 0, 0, 900, -700, true, 0, 0 },
		{ -21000, 0, 0, 900, 0, true, 0, 0 },
		/* nothing overflows */
		{ -21000, 0, UINT64_MAX, 1, INT64_MAX, true, INT64_MAX / 3600, INT64_MAX },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct ctl_in in = { t[i].feedin, t[i].floor, t[i].sold_wh, t[i].interval_s,
			             t[i].load_w };
		struct ctl_decision d;
		ctl_decide(&in, &d);
		print_message("case %zu\n", i);
		assert_int_equal(d.limit, t[i].limit);
		assert_int_equal(d.sold_w, t[i].sold_w);
		assert_int_equal(d.limit_w, t[i].limit_w);
	}
}

static void
test_pct_raw(void **state)
{
	static const struct {
		int64_t limit_w, wmax_w;
		int sf;
		pw_err rc;
		uint16_t raw;
	} t[] = {
		{ 500, 5000, -2, PW_OK, 1000 },   /* 10.00 % */
		{ 501, 5000, -2, PW_OK, 1002 },   /* 10.02 % */
		{ 5011, 50000, -2, PW_OK, 1003 }, /* 10.022 %: rounded up */
		{ 500, 5000, 0, PW_OK, 10 },      /* 10 % */
		{ 501, 5000, 0, PW_OK, 11 },      /* up: never below the need */
		{ 500, 5000, -1, PW_OK, 100 },    /* 10.0 % */
		{ 500, 5000, 1, PW_OK, 1 },       /* 10 % in tens */
		{ 500, 5000, 2, PW_OK, 1 },       /* 100 % in hundreds: up */
		{ 0, 5000, -2, PW_OK, 0 },        /* export nothing */
		{ -5, 5000, -2, PW_OK, 0 },       /* never below 0 */
		{ 5000, 5000, -2, PW_OK, 10000 }, /* 100 % */
		{ 9000, 5000, -2, PW_OK, 10000 }, /* at most 100 % */
		{ 9000, 5000, 0, PW_OK, 100 },
		{ INT64_MAX, 5000, -2, PW_OK, 10000 },
		{ 1, CTL_WMAX_MAX_W, -2, PW_OK, 1 },
		{ 1, CTL_WMAX_MAX_W + 1, -2, PW_ERR_RANGE, 0 },
		{ 500, 0, -2, PW_ERR_RANGE, 0 }, /* no WMax */
		{ 500, -1, -2, PW_ERR_RANGE, 0 },
		{ 500, 5000, -3, PW_ERR_RANGE, 0 }, /* 100 % would not fit */
		{ 500, 5000, 3, PW_ERR_RANGE, 0 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint16_t raw = 0xBEEF;
		print_message("case %zu\n", i);
		assert_int_equal(ctl_pct_raw(t[i].limit_w, t[i].wmax_w, t[i].sf, &raw), t[i].rc);
		if (t[i].rc == PW_OK)
			assert_int_equal(raw, t[i].raw);
		else
			assert_int_equal(raw, 0xBEEF); /* untouched */
	}
}

static void
test_revert(void **state)
{
	(void)state;
	assert_int_equal(ctl_revert_s(0, 1), CTL_MARGIN_S);
	assert_int_equal(ctl_revert_s(-5000, 1), CTL_MARGIN_S);
	assert_int_equal(ctl_revert_s(1, 1), CTL_MARGIN_S + 1); /* rounded up */
	assert_int_equal(ctl_revert_s(890000, 1), 900);
	/* the simulated clock runs faster: its seconds */
	assert_int_equal(ctl_revert_s(2000, 60), (2 + CTL_MARGIN_S) * 60);
	assert_int_equal(ctl_revert_s(2000, 0), 2 + CTL_MARGIN_S);
	/* at most what the register holds */
	assert_int_equal(ctl_revert_s(INT64_MAX, 1000), 65535);
}

static void
test_saved(void **state)
{
	(void)state;
	/* forecast 1000 Wh, 200 sold, the whole interval limited: 800 Wh */
	assert_int_equal(ctl_not_exported_wh(1000, 200, 900000, 900000), 800);
	/* half of it limited */
	assert_int_equal(ctl_not_exported_wh(1000, 200, 450000, 900000), 400);
	/* longer than the interval counts as the interval */
	assert_int_equal(ctl_not_exported_wh(1000, 200, 2000000, 900000), 800);
	/* sold more than forecast: nothing held back */
	assert_int_equal(ctl_not_exported_wh(100, 200, 900000, 900000), 0);
	assert_int_equal(ctl_not_exported_wh(1000, 0, 0, 900000), 0);
	assert_int_equal(ctl_not_exported_wh(1000, 0, 1, 0), -1);
	assert_int_equal(ctl_not_exported_wh(UINT64_MAX, 0, 1, 900000), -1);
	/* 800 Wh at -2.1 ct/kWh (-21000 per kWh): 16800 micro-units saved */
	assert_int_equal(ctl_saved_u(800, -21000), 16800);
	/* truncated toward zero: 1 Wh x 21000 / 1000 = 21 */
	assert_int_equal(ctl_saved_u(1, -21000), 21);
	assert_int_equal(ctl_saved_u(1, -999), 0);
	/* a positive feed-in under a higher floor: the limit cost that */
	assert_int_equal(ctl_saved_u(800, 30000), -24000);
	assert_int_equal(ctl_saved_u(-1, -21000), 0);
	assert_int_equal(ctl_saved_u(0, -21000), 0);
}

/* --- the writes --------------------------------------------------------------- */

#define BASE 40000

struct image {
	uint16_t regs[65536];
	int writes, reads;
	uint16_t last_addr, last_count;
	bool ignore_writes; /* a device that acknowledges and keeps nothing */
	pw_err write_rc;
};

static pw_err
image_read(void *arg, uint16_t addr, uint16_t count, uint16_t *regs)
{
	struct image *im = arg;
	assert_true(count >= 1 && count <= 125);
	im->reads++;
	memcpy(regs, &im->regs[addr], count * sizeof(uint16_t));
	return PW_OK;
}

static pw_err
image_write(void *arg, uint16_t addr, uint16_t count, const uint16_t *regs)
{
	struct image *im = arg;
	assert_true(count >= 1 && count <= 32);
	im->writes++;
	im->last_addr = addr;
	im->last_count = count;
	if (im->write_rc != PW_OK)
		return im->write_rc;
	if (!im->ignore_writes)
		memcpy(&im->regs[addr], regs, count * sizeof(uint16_t));
	return PW_OK;
}

/* A device with models 121 (WMax 5000 W, or none) and 123 (SF -2). */
static void
image_init(struct image *im, struct sunspec_dev *dev, bool with121, bool with123)
{
	uint32_t a = BASE + 2;

	memset(im, 0, sizeof(*im));
	memset(dev, 0, sizeof(*dev));
	dev->base = BASE;
	if (with121) {
		const struct sunspec_model_def *d = sunspec_model_find(121);
		im->regs[a] = 121;
		im->regs[a + 1] = d->fixed_len;
		im->regs[a + sunspec_point_find(d, "WMax", false)->offset] = 5000;
		im->regs[a + sunspec_point_find(d, "WMax_SF", false)->offset] = 0;
		dev->models[dev->nmodels++] = (struct sunspec_model_ref){ 121, d->fixed_len, a };
		a += 2u + d->fixed_len;
	}
	if (with123) {
		const struct sunspec_model_def *d = sunspec_model_find(123);
		im->regs[a] = 123;
		im->regs[a + 1] = d->fixed_len;
		im->regs[a + sunspec_point_find(d, "WMaxLimPct", false)->offset] = 10000;
		im->regs[a + sunspec_point_find(d, "WMaxLimPct_RmpTms", false)->offset] = 7;
		im->regs[a + sunspec_point_find(d, "WMaxLimPct_SF", false)->offset] =
		    (uint16_t)(int16_t)-2;
		dev->models[dev->nmodels++] = (struct sunspec_model_ref){ 123, d->fixed_len, a };
	}
}

static uint16_t
reg123(const struct image *im, const struct sunspec_dev *dev, const char *name)
{
	const struct sunspec_model_ref *r = &dev->models[dev->nmodels - 1];
	return im->regs[r->addr + sunspec_point_find(sunspec_model_find(123), name, false)->offset];
}

static void
test_apply_limit_and_lift(void **state)
{
	static struct image im;
	struct sunspec_dev dev;
	struct ctl_io io = { image_read, image_write, &im };
	struct ctl_cmd cmd = { 1, true, 1234, 905 };
	struct ctl_result res;
	struct ctl_state st;
	(void)state;

	image_init(&im, &dev, true, true);
	assert_int_equal(ctl_sunspec_apply(&io, &dev, &cmd, &res), PW_OK);
	assert_int_equal(res.gen, 1);
	assert_true(res.wrote && res.readback);
	assert_int_equal(res.wmax_w, 5000);
	assert_int_equal(res.pct_sf, -2);
	assert_int_equal(res.pct_raw, 2468); /* 24.68 % of 5000 W = 1234 W */
	/* one write of the five registers, at WMaxLimPct */
	assert_int_equal(im.writes, 1);
	assert_int_equal(im.last_count, 5);
	assert_int_equal(reg123(&im, &dev, "WMaxLimPct"), 2468);
	assert_int_equal(reg123(&im, &dev, "WMaxLimPct_WinTms"), 0);
	assert_int_equal(reg123(&im, &dev, "WMaxLimPct_RvrtTms"), 905);
	assert_int_equal(reg123(&im, &dev, "WMaxLimPct_RmpTms"), 7); /* kept */
	assert_int_equal(reg123(&im, &dev, "WMaxLim_Ena"), 1);
	assert_int_equal(ctl_sunspec_read(&io, &dev, &st), PW_OK);
	assert_true(st.ena);
	assert_int_equal(st.pct_raw, 2468);
	assert_int_equal(st.revert_s, 905);
	assert_int_equal(st.wmax_w, 5000);

	/* lifting writes WMaxLim_Ena alone */
	struct ctl_cmd lift = { 2, false, 0, 0 };
	assert_int_equal(ctl_sunspec_apply(&io, &dev, &lift, &res), PW_OK);
	assert_int_equal(im.writes, 2);
	assert_int_equal(im.last_count, 1);
	assert_int_equal(reg123(&im, &dev, "WMaxLim_Ena"), 0);
	assert_int_equal(reg123(&im, &dev, "WMaxLimPct"), 2468);
	assert_int_equal(ctl_sunspec_read(&io, &dev, &st), PW_OK);
	assert_false(st.ena);
}

static void
test_apply_refusals(void **state)
{
	static struct image im;
	struct sunspec_dev dev;
	struct ctl_io io = { image_read, image_write, &im };
	struct ctl_cmd cmd = { 5, true, 1000, 60 };
	struct ctl_result res;
	(void)state;

	/* a read-back that differs is an error naming the register */
	image_init(&im, &dev, true, true);
	im.ignore_writes = true;
	assert_int_equal(ctl_sunspec_apply(&io, &dev, &cmd, &res), PW_ERR_STATE);
	assert_true(res.wrote && res.readback);
	assert_non_null(strstr(res.detail, "WMaxLimPct reads back 10000 after 2000"));

	/* a write the device refuses */
	image_init(&im, &dev, true, true);
	im.write_rc = PW_ERR_MODBUS_EXC;
	assert_int_equal(ctl_sunspec_apply(&io, &dev, &cmd, &res), PW_ERR_MODBUS_EXC);
	assert_false(res.wrote);
	assert_non_null(strstr(res.detail, "writing model 123"));

	/* no model 123: nothing written */
	image_init(&im, &dev, true, false);
	assert_int_equal(ctl_sunspec_apply(&io, &dev, &cmd, &res), PW_ERR_NOT_IMPL);
	assert_int_equal(im.writes, 0);
	assert_non_null(strstr(res.detail, "model 123"));

	/* no WMax: no percentage, nothing written */
	image_init(&im, &dev, false, true);
	assert_int_equal(ctl_sunspec_apply(&io, &dev, &cmd, &res), PW_ERR_NOT_IMPL);
	assert_int_equal(im.writes, 0);

	/* a scale factor 100 % does not fit: nothing written */
	image_init(&im, &dev, true, true);
	{
		const struct sunspec_model_ref *r = &dev.models[1];
		im.regs[r->addr +
		        sunspec_point_find(sunspec_model_find(123), "WMaxLimPct_SF", false)
		            ->offset] = (uint16_t)(int16_t)-3;
	}
	assert_int_equal(ctl_sunspec_apply(&io, &dev, &cmd, &res), PW_ERR_RANGE);
	assert_int_equal(im.writes, 0);
}

/* A DER with models 702 (WMax 4000 W at W_SF 0, WMaxRtg 6000 W; or no
 * WMax: WMaxRtg alone) and 704 (WMaxLimPct_SF -1), and optionally 123 too. */
static void
image_init_der(struct image *im, struct sunspec_dev *dev, bool wmax_set, bool with123)
{
	const struct sunspec_model_def *d702 = sunspec_model_find(702),
	                               *d704 = sunspec_model_find(704);
	uint32_t a = BASE + 2;

	memset(im, 0, sizeof(*im));
	memset(dev, 0, sizeof(*dev));
	dev->base = BASE;
	im->regs[a] = 702;
	im->regs[a + 1] = d702->fixed_len;
	im->regs[a + sunspec_point_find(d702, "WMaxRtg", false)->offset] = 6000;
	im->regs[a + sunspec_point_find(d702, "WMax", false)->offset] = wmax_set ? 4000 : 0xFFFF;
	dev->models[dev->nmodels++] = (struct sunspec_model_ref){ 702, d702->fixed_len, a };
	a += 2u + d702->fixed_len;
	im->regs[a] = 704;
	im->regs[a + 1] = d704->fixed_len;
	im->regs[a + sunspec_point_find(d704, "WMaxLimPct", false)->offset] = 1000;
	im->regs[a + sunspec_point_find(d704, "WMaxLimPctRvrt", false)->offset] = 500;
	im->regs[a + sunspec_point_find(d704, "WMaxLimPctEnaRvrt", false)->offset] = 1;
	im->regs[a + sunspec_point_find(d704, "WMaxLimPct_SF", false)->offset] =
	    (uint16_t)(int16_t)-1;
	/* the points past the write stay as they were */
	im->regs[a + sunspec_point_find(d704, "WSetEna", false)->offset] = 1;
	dev->models[dev->nmodels++] = (struct sunspec_model_ref){ 704, d704->fixed_len, a };
	a += 2u + d704->fixed_len;
	if (with123) {
		const struct sunspec_model_def *d = sunspec_model_find(123);
		im->regs[a] = 123;
		im->regs[a + 1] = d->fixed_len;
		im->regs[a + sunspec_point_find(d, "WMaxLimPct_SF", false)->offset] = 0;
		dev->models[dev->nmodels++] = (struct sunspec_model_ref){ 123, d->fixed_len, a };
	}
}

static uint32_t
reg704(const struct image *im, const struct sunspec_dev *dev, const char *name)
{
	const struct sunspec_model_ref *r = &dev->models[1];
	const struct sunspec_point *p = sunspec_point_find(sunspec_model_find(704), name, false);
	assert_int_equal(r->id, 704);
	if (p->size == 2)
		return (uint32_t)im->regs[r->addr + p->offset] << 16 |
		       im->regs[r->addr + p->offset + 1];
	return im->regs[r->addr + p->offset];
}

static void
test_apply_704(void **state)
{
	static struct image im;
	struct sunspec_dev dev;
	struct ctl_io io = { image_read, image_write, &im };
	struct ctl_cmd cmd = { 3, true, 1234, 905 };
	struct ctl_result res;
	struct ctl_state st;
	uint16_t wsetena_before;
	(void)state;

	image_init_der(&im, &dev, true, false);
	wsetena_before = (uint16_t)reg704(&im, &dev, "WSetEna");
	assert_int_equal(ctl_sunspec_apply(&io, &dev, &cmd, &res), PW_OK);
	assert_int_equal(res.model, 704);
	assert_true(res.wrote && res.readback);
	/* a percentage of 702's WMax setting, not of its rating */
	assert_int_equal(res.wmax_w, 4000);
	assert_int_equal(res.pct_sf, -1);
	assert_int_equal(res.pct_raw, 309); /* 30.85 % of 4000 W up to 30.9 % */
	/* one write of six registers, WMaxLimPctEna .. WMaxLimPctRvrtTms */
	assert_int_equal(im.writes, 1);
	assert_int_equal(im.last_count, 6);
	assert_int_equal(reg704(&im, &dev, "WMaxLimPctEna"), 1);
	assert_int_equal(reg704(&im, &dev, "WMaxLimPct"), 309);
	/* the reversion lifts the limit: 100 %, disabled */
	assert_int_equal(reg704(&im, &dev, "WMaxLimPctRvrt"), 1000);
	assert_int_equal(reg704(&im, &dev, "WMaxLimPctEnaRvrt"), 0);
	assert_int_equal(reg704(&im, &dev, "WMaxLimPctRvrtTms"), 905);
	assert_int_equal(reg704(&im, &dev, "WSetEna"), wsetena_before);
	assert_int_equal(ctl_sunspec_read(&io, &dev, &st), PW_OK);
	assert_int_equal(st.model, 704);
	assert_true(st.ena);
	assert_int_equal(st.pct_raw, 309);
	assert_int_equal(st.pct_sf, -1);
	assert_int_equal(st.revert_s, 905);
	assert_true(st.has_revert_left);
	assert_int_equal(st.wmax_w, 4000);

	/* lifting writes WMaxLimPctEna alone */
	struct ctl_cmd lift = { 4, false, 0, 0 };
	assert_int_equal(ctl_sunspec_apply(&io, &dev, &lift, &res), PW_OK);
	assert_int_equal(im.writes, 2);
	assert_int_equal(im.last_count, 1);
	assert_int_equal(
	    im.last_addr,
	    dev.models[1].addr +
	        sunspec_point_find(sunspec_model_find(704), "WMaxLimPctEna", false)->offset);
	assert_int_equal(reg704(&im, &dev, "WMaxLimPctEna"), 0);
	assert_int_equal(reg704(&im, &dev, "WMaxLimPct"), 309);
	assert_string_equal(ctl_ena_name(res.model), "WMaxLimPctEna");

	/* without the WMax setting: the rating, 6000 W */
	image_init_der(&im, &dev, false, false);
	assert_int_equal(ctl_sunspec_apply(&io, &dev, &cmd, &res), PW_OK);
	assert_int_equal(res.wmax_w, 6000);
	assert_int_equal(res.pct_raw, 206); /* 20.57 % up to 20.6 % */

	/* model 123 beside 704: 123 is written, 704 untouched */
	image_init_der(&im, &dev, true, true);
	assert_int_equal(ctl_sunspec_apply(&io, &dev, &cmd, &res), PW_ERR_NOT_IMPL);
	assert_int_equal(res.model, 123); /* its WMax (121/120) is missing */
	assert_int_equal(im.writes, 0);

	/* a read-back that differs names the 704 point */
	image_init_der(&im, &dev, true, false);
	im.ignore_writes = true;
	assert_int_equal(ctl_sunspec_apply(&io, &dev, &cmd, &res), PW_ERR_STATE);
	assert_non_null(strstr(res.detail, "model 704 WMaxLimPctEna reads back 0 after 1"));

	/* a 704 too short for the write: nothing written */
	image_init_der(&im, &dev, true, false);
	dev.models[1].len = 17; /* ends before WMaxLimPctRvrtTms */
	assert_int_equal(ctl_sunspec_apply(&io, &dev, &cmd, &res), PW_ERR_NOT_IMPL);
	assert_int_equal(im.writes, 0);
	assert_non_null(strstr(res.detail, "model 704 is too short"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide_table),
		cmocka_unit_test(test_pct_raw),
		cmocka_unit_test(test_revert),
		cmocka_unit_test(test_saved),
		cmocka_unit_test(test_apply_limit_and_lift),
		cmocka_unit_test(test_apply_refusals),
		cmocka_unit_test(test_apply_704),
	};
	log_init("test_control", LOG_LEVEL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
