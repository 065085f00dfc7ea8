/*
 * test_storage_ctl.c: battery setpoints through model 124 (agent/storage_ctl.c).
 *
 * The plan's rules as a table (reserve, unknown state of charge, revert
 * timeout, scale factor, unknown maximum powers, rounding that keeps the
 * setpoint inside the window), then the writes and read-back on a register
 * image that peerwatt-sim's battery (tests/sim/sim_battery.c, compiled in)
 * takes its controls from, so that what the agent writes is checked by what
 * the battery then does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agent/storage_ctl.h"
#include "tests/sim/sim_battery.c"

static struct storage_reading
battery(double soc, double reserve)
{
	struct storage_reading st;
	memset(&st, 0, sizeof(st));
	st.present = true;
	st.model = 802;
	st.has_soc = soc >= 0;
	st.soc_pct = soc;
	st.has_reserve = reserve >= 0;
	st.reserve_pct = reserve;
	st.has_max_charge = st.has_max_discharge = true;
	st.max_charge_w = 4000;
	st.max_discharge_w = 4600;
	return st;
}

static void
test_plan_rules(void **state)
{
	struct {
		double soc, dev_reserve, cfg_reserve;
		bool grid;
		enum stctl_mode mode;
		int64_t w;
		uint16_t revert;
		int sf;
		pw_err rc;
		enum stctl_mode planned;
		uint16_t reg_mode;
		int16_t in_raw, out_raw;
	} t[] = {
		/* setpoints: windows that hold the power (rates rounded up) */
		{ 60, 10, 0, false, STCTL_CHARGE, 2000, 60, -1, PW_OK, STCTL_CHARGE, 3, 500, -434 },
		{ 60, 10, 0, false, STCTL_DISCHARGE, 2000, 60, -1, PW_OK, STCTL_DISCHARGE, 3, -500,
		  435 },
		{ 60, 10, 0, false, STCTL_DISCHARGE, 2000, 60, 0, PW_OK, STCTL_DISCHARGE, 3, -50,
		  44 },
		{ 60, 10, 0, false, STCTL_CHARGE, 9000, 60, -2, PW_OK, STCTL_CHARGE, 3, 10000,
		  -10000 },
		{ 60, 10, 0, false, STCTL_HOLD, 0, 60, -1, PW_OK, STCTL_HOLD, 3, 0, 0 },
		{ 60, 10, 0, false, STCTL_AUTO, 0, 60, -1, PW_OK, STCTL_AUTO, 0, 0, 0 },
		/* the reserve: the device's, the configured one, whichever is higher */
		{ 10, 10, 0, false, STCTL_DISCHARGE, 500, 60, -1, PW_OK, STCTL_PROTECT, 2, 0, 0 },
		{ 25, 10, 30, false, STCTL_DISCHARGE, 500, 60, -1, PW_OK, STCTL_PROTECT, 2, 0, 0 },
		{ 35, 10, 30, false, STCTL_DISCHARGE, 500, 60, -1, PW_OK, STCTL_DISCHARGE, 3, -125,
		  109 },
		{ -1, 10, 0, false, STCTL_DISCHARGE, 500, 60, -1, PW_OK, STCTL_PROTECT, 2, 0, 0 },
		{ 25, 10, 30, false, STCTL_AUTO, 0, 60, -1, PW_OK, STCTL_PROTECT, 2, 0, 0 },
		{ 25, 40, 30, false, STCTL_AUTO, 0, 60, -1, PW_OK, STCTL_AUTO, 0, 0, 0 },
		{ 5, 10, 0, false, STCTL_CHARGE, 1000, 60, -1, PW_OK, STCTL_CHARGE, 3, 250, -217 },
		/* refusals */
		{ 60, 10, 0, false, STCTL_CHARGE, 1000, 0, -1, PW_ERR_RANGE, STCTL_CHARGE, 0, 0,
		  0 },
		{ 60, 10, 0, false, STCTL_CHARGE, 1000, 60, 3, PW_ERR_RANGE, STCTL_CHARGE, 0, 0,
		  0 },
		{ 60, 10, 0, false, STCTL_CHARGE, 0, 60, -1, PW_ERR_RANGE, STCTL_CHARGE, 0, 0, 0 },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct storage_reading st = battery(t[i].soc, t[i].dev_reserve);
		struct stctl_cfg cfg = { t[i].cfg_reserve, t[i].grid };
		struct stctl_cmd cmd = { t[i].mode, t[i].w, t[i].revert };
		struct stctl_regs r;
		enum stctl_mode planned;
		char why[STCTL_DETAIL_MAX];
		pw_err rc = stctl_plan(&cfg, &st, t[i].sf, &cmd, &r, &planned, why, sizeof(why));
		if (rc != t[i].rc)
			fail_msg("case %zu: rc %d (%s)", i, rc, why);
		if (rc != PW_OK) {
			assert_true(why[0] != '\0');
			continue;
		}
		if (planned != t[i].planned || r.mode != t[i].reg_mode || r.in_raw != t[i].in_raw ||
		    r.out_raw != t[i].out_raw)
			fail_msg("case %zu: %s mode %u in %d out %d", i, stctl_mode_name(planned),
			         r.mode, r.in_raw, r.out_raw);
		assert_int_equal(r.revert_s, t[i].revert);
		assert_int_equal(r.grid, 0);
		assert_true((planned != t[i].mode) == (why[0] != '\0'));
	}
	/* grid charging only when configured; no maximum discharge: no setpoint */
	{
		struct storage_reading st = battery(50, 10);
		struct stctl_cfg cfg = { 0, true };
		struct stctl_cmd cmd = { STCTL_CHARGE, 1000, 30 };
		struct stctl_regs r;
		enum stctl_mode planned;
		char why[STCTL_DETAIL_MAX];
		assert_int_equal(stctl_plan(&cfg, &st, -1, &cmd, &r, &planned, why, sizeof(why)),
		                 PW_OK);
		assert_int_equal(r.grid, 1);
		st.has_max_discharge = false;
		assert_int_equal(stctl_plan(&cfg, &st, -1, &cmd, &r, &planned, why, sizeof(why)),
		                 PW_ERR_NOT_IMPL);
		cmd.mode = STCTL_HOLD; /* a hold needs no maximum */
		assert_int_equal(stctl_plan(&cfg, &st, -1, &cmd, &r, &planned, why, sizeof(why)),
		                 PW_OK);
	}
}

static void
test_parse(void **state)
{
	struct stctl_cmd c;
	(void)state;
	assert_int_equal(stctl_parse("discharge:2500", &c), PW_OK);
	assert_int_equal(c.mode, STCTL_DISCHARGE);
	assert_int_equal(c.power_w, 2500);
	assert_int_equal(stctl_parse("hold", &c), PW_OK);
	assert_int_equal(c.mode, STCTL_HOLD);
	assert_int_equal(stctl_parse("charge:0", &c), PW_ERR_PARSE);
	assert_int_equal(stctl_parse("charge:1x", &c), PW_ERR_PARSE);
	assert_int_equal(stctl_parse("charge:", &c), PW_ERR_PARSE);
	assert_int_equal(stctl_parse("charge:2000000", &c), PW_ERR_PARSE);
	assert_int_equal(stctl_parse("sell:100", &c), PW_ERR_PARSE);
	assert_int_equal(stctl_parse("auto:5", &c), PW_ERR_PARSE);
}

/* --- a device: common, 124, 713, 802 on a register image, the sim's battery behind --- */

#define BASE 40000
struct device {
	uint16_t regs[256];
	uint32_t a124, a713, a802;
	struct simbat bat;
	bool ignore_in;  /* a device that keeps InWRte as it was */
	bool fail_write; /* the write times out */
	unsigned writes;
};

static pw_err
dev_read(void *arg, uint16_t addr, uint16_t count, uint16_t *regs)
{
	struct device *d = arg;
	if (addr < BASE || addr + count > BASE + 256)
		return PW_ERR_MODBUS_EXC;
	simbat_regs(&d->bat, simbat_power(&d->bat, 0, 0), &d->regs[d->a124 - BASE],
	            &d->regs[d->a713 - BASE], &d->regs[d->a802 - BASE]);
	memcpy(regs, &d->regs[addr - BASE], count * sizeof(uint16_t));
	return PW_OK;
}

static pw_err
dev_write(void *arg, uint16_t addr, uint16_t count, const uint16_t *regs)
{
	struct device *d = arg;
	uint16_t in = d->regs[d->a124 - BASE + 13];
	if (d->fail_write)
		return PW_ERR_TIMEOUT;
	assert_true(addr >= d->a124 && addr + count <= d->a713); /* only model 124 */
	memcpy(&d->regs[addr - BASE], regs, count * sizeof(uint16_t));
	if (d->ignore_in)
		d->regs[d->a124 - BASE + 13] = in;
	d->writes++;
	(void)simbat_regs_written(&d->bat, &d->regs[d->a124 - BASE]);
	return PW_OK;
}

static uint32_t
lay(struct device *d, uint32_t a, uint16_t id)
{
	const struct sunspec_model_def *def = sunspec_model_find(id);
	d->regs[a - BASE] = id;
	d->regs[a - BASE + 1] = def->fixed_len;
	for (uint16_t i = 2; i < def->nfixed; i++)
		sunspec_sentinel(def->fixed[i].type, def->fixed[i].size,
		                 &d->regs[a - BASE + def->fixed[i].offset]);
	return a + 2u + def->fixed_len;
}

static void
device_init(struct device *d, double soc)
{
	struct simbat_cfg c = { 13500, 4000, 4600, 0.9, soc, 15 };
	uint32_t a = BASE + 2;
	memset(d, 0, sizeof(*d));
	d->regs[0] = 0x5375;
	d->regs[1] = 0x6e53;
	a = lay(d, a, 1);
	d->a124 = a;
	a = lay(d, a, 124);
	d->a713 = a;
	a = lay(d, a, 713);
	d->a802 = a;
	a = lay(d, a, 802);
	d->regs[a - BASE] = 0xFFFF;
	simbat_init(&d->bat, &c);
}

static void
test_apply_on_the_sim_battery(void **state)
{
	struct device d;
	struct ctl_io io = { dev_read, dev_write, &d };
	struct sunspec_io sio = { dev_read, &d, NULL };
	struct sunspec_dev sd;
	struct stctl_cfg cfg = { 20, false };
	struct stctl_cmd cmd = { STCTL_DISCHARGE, 2000, 300 };
	struct stctl_result res;
	(void)state;

	device_init(&d, 60);
	assert_int_equal(sunspec_walk(&sio, BASE, &sd), PW_OK);
	/* discharge 2000 W: written, read back, and the battery does it whatever the load */
	assert_int_equal(stctl_apply(&io, &sd, &cfg, &cmd, &res), PW_OK);
	assert_true(res.wrote && res.readback);
	assert_int_equal(res.rate_sf, -1);
	assert_int_equal(d.bat.ctl.mode, SIMBAT_CTL_CHARGE | SIMBAT_CTL_DISCHARGE);
	assert_true(d.bat.ctl.revert_s == 300);
	/* (the window is one rate step wide: 0.1 % of 4600 W) */
	assert_true(simbat_power(&d.bat, 500, 0) == 2000);              /* 1500 W go to the grid */
	assert_true(fabs(simbat_power(&d.bat, 3000, 0) - 2000) <= 4.6); /* the rest imported */
	assert_true(simbat_power(&d.bat, -1000, 0) == 2000);            /* even with a PV surplus */
	/* charge 1500 W from PV only: the battery takes no more than the surplus */
	cmd.mode = STCTL_CHARGE;
	cmd.power_w = 1500;
	assert_int_equal(stctl_apply(&io, &sd, &cfg, &cmd, &res), PW_OK);
	assert_true(simbat_power(&d.bat, -3000, 0) == -1500);
	assert_true(simbat_power(&d.bat, -800, 0) == -800);
	assert_true(simbat_power(&d.bat, 1000, 0) == 0); /* never from the grid */
	cfg.grid_charge = true;
	assert_int_equal(stctl_apply(&io, &sd, &cfg, &cmd, &res), PW_OK);
	assert_int_equal(res.want.grid, 1);
	assert_true(fabs(simbat_power(&d.bat, 1000, 0) + 1500) <= 4.6);
	/* the revert timeout: the battery goes back to itself */
	for (int i = 0; i <= 5; i++)
		(void)simbat_step(&d.bat, 0, 60);
	assert_int_equal(d.bat.ctl.mode, 0);
	/* at the configured reserve a discharge becomes "no discharge", charging free */
	d.bat.stored_wh = 13500 * 0.19;
	cmd.mode = STCTL_DISCHARGE;
	cfg.grid_charge = false;
	assert_int_equal(stctl_apply(&io, &sd, &cfg, &cmd, &res), PW_OK);
	assert_int_equal(res.planned, STCTL_PROTECT);
	assert_true(strstr(res.detail, "reserve") != NULL);
	assert_true(simbat_power(&d.bat, 2000, 0) == 0);
	assert_true(simbat_power(&d.bat, -2000, 0) == -2000);
	/* auto: the battery's own controller */
	d.bat.stored_wh = 13500 * 0.5;
	cmd.mode = STCTL_AUTO;
	assert_int_equal(stctl_apply(&io, &sd, &cfg, &cmd, &res), PW_OK);
	assert_int_equal(d.bat.ctl.mode, 0);
	assert_true(simbat_power(&d.bat, 2000, 0) == 2000);
}

static void
test_apply_failures(void **state)
{
	struct device d;
	struct ctl_io io = { dev_read, dev_write, &d };
	struct sunspec_io sio = { dev_read, &d, NULL };
	struct sunspec_dev sd;
	struct stctl_cfg cfg = { 0, false };
	struct stctl_cmd cmd = { STCTL_DISCHARGE, 1000, 60 };
	struct stctl_result res;
	(void)state;

	device_init(&d, 60);
	assert_int_equal(sunspec_walk(&sio, BASE, &sd), PW_OK);
	/* a device that does not keep what was written: the read-back says so */
	d.ignore_in = true;
	assert_int_equal(stctl_apply(&io, &sd, &cfg, &cmd, &res), PW_ERR_STATE);
	assert_true(res.wrote && res.readback);
	assert_true(strstr(res.detail, "read back") != NULL);
	/* a write that times out */
	d.ignore_in = false;
	d.fail_write = true;
	assert_int_equal(stctl_apply(&io, &sd, &cfg, &cmd, &res), PW_ERR_TIMEOUT);
	assert_false(res.wrote);
	/* no revert timeout: nothing is written */
	d.fail_write = false;
	d.writes = 0;
	cmd.revert_s = 0;
	assert_int_equal(stctl_apply(&io, &sd, &cfg, &cmd, &res), PW_ERR_RANGE);
	assert_int_equal(d.writes, 0);
	/* no model 124: nothing to control */
	sd.nmodels = 1;
	cmd.revert_s = 60;
	assert_int_equal(stctl_apply(&io, &sd, &cfg, &cmd, &res), PW_ERR_NOT_IMPL);
	assert_int_equal(d.writes, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_rules),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_apply_on_the_sim_battery),
		cmocka_unit_test(test_apply_failures),
	};
	log_init("test_storage_ctl", LOG_LEVEL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
