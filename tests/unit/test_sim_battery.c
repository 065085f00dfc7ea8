/*
 * test_sim_battery.c: peerwatt-sim's home battery (tests/sim/sim_battery.c,
 * compiled in here: the simulator is a program, not a library).
 *
 * A simulated week of a household with PV and a battery left to itself:
 * energy is conserved at every step (PV + import = load + export + change of
 * the stored energy + losses), the reserve and the capacity are never
 * crossed, the battery lowers both export and import against no battery, and
 * its losses match the round-trip efficiency.  Then the model-124 controls:
 * the window on the battery's power, grid charging only when allowed, the
 * revert timeout, and the registers the agent reads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agent/storage.h"
#include "tests/sim/sim_battery.c"

static struct simbat_cfg
cfg_default(void)
{
	struct simbat_cfg c = { 10000, 4000, 5000, 0.9, 50, 10 };
	return c;
}

/* A deterministic household: PV from 06:00 to 20:00 up to 6 kW with dips, load
 * 300-2300 W with an evening peak. */
static double
pv_w(double t)
{
	double tod = fmod(t, 86400.0), x;
	if (tod < 6 * 3600.0 || tod >= 20 * 3600.0)
		return 0;
	x = sin(M_PI * (tod - 6 * 3600.0) / (14 * 3600.0));
	return 6000.0 * x * x * (fmod(t, 1800.0) < 300.0 ? 0.4 : 1.0);
}

static double
load_w(double t)
{
	double h = fmod(t, 86400.0) / 3600.0;
	return 300.0 + 2000.0 * exp(-pow((h - 19.5) / 1.5, 2)) + 600.0 * exp(-pow((h - 7.5), 2));
}

static void
test_week_conserves_energy(void **state)
{
	struct simbat_cfg c = cfg_default();
	struct simbat b;
	double pv = 0, load = 0, exp_wh = 0, imp_wh = 0, exp0 = 0, imp0 = 0;
	double start_wh, min_soc = 100, max_soc = 0;
	const double dt = 60;
	(void)state;

	simbat_init(&b, &c);
	start_wh = b.stored_wh;
	for (double t = 0; t < 7 * 86400.0; t += dt) {
		double p = pv_w(t), l = load_w(t), net = l - p;
		double before = b.stored_wh, loss0 = b.loss_wh;
		double bw = simbat_step(&b, net, dt), grid = net - bw;
		double e_imp = grid > 0 ? grid * dt / 3600 : 0,
		       e_exp = grid < 0 ? -grid * dt / 3600 : 0;
		/* every step balances */
		assert_true(fabs(p * dt / 3600 + e_imp -
		                 (l * dt / 3600 + e_exp + (b.stored_wh - before) +
		                  (b.loss_wh - loss0))) < 1e-6);
		/* self-consumption never exports while charging nor imports while discharging */
		assert_true(!(bw < 0 && grid > 1e-9));
		assert_true(!(bw > 0 && grid < -1e-9));
		pv += p * dt / 3600, load += l * dt / 3600;
		imp_wh += e_imp, exp_wh += e_exp;
		if (net > 0)
			imp0 += net * dt / 3600;
		else
			exp0 += -net * dt / 3600;
		double soc = simbat_soc_pct(&b);
		min_soc = soc < min_soc ? soc : min_soc;
		max_soc = soc > max_soc ? soc : max_soc;
	}
	/* the week as a whole */
	assert_true(fabs(pv + imp_wh - (load + exp_wh + (b.stored_wh - start_wh) + b.loss_wh)) <
	            1e-3);
	assert_true(fabs(b.charged_wh * sqrt(0.9) - b.discharged_wh / sqrt(0.9) -
	                 (b.stored_wh - start_wh)) < 1e-3);
	/* limits held, and the battery was used both ways */
	assert_true(min_soc >= 10.0 - 1e-9);
	assert_true(max_soc <= 100.0 + 1e-9);
	assert_true(max_soc > 99.0 && min_soc < 11.0);
	assert_true(b.charged_wh > 20000 && b.discharged_wh > 15000);
	/* against no battery: less export and less import, by what it moved */
	assert_true(exp_wh < exp0 - 20000 && imp_wh < imp0 - 15000);
	assert_true(fabs((exp0 - exp_wh) - b.charged_wh) < 1e-3);
	assert_true(fabs((imp0 - imp_wh) - b.discharged_wh) < 1e-3);
	/* losses: 10 % round trip, split evenly */
	assert_true(fabs(b.loss_wh - (b.charged_wh * (1 - sqrt(0.9)) +
	                              b.discharged_wh * (1 / sqrt(0.9) - 1))) < 1e-3);
}

static void
test_limits(void **state)
{
	struct simbat_cfg c = cfg_default();
	struct simbat b;
	(void)state;

	simbat_init(&b, &c);
	/* power limits */
	assert_true(simbat_power(&b, -9000, 0) == -4000);
	assert_true(simbat_power(&b, 9000, 0) == 5000);
	assert_true(simbat_power(&b, -1234, 0) == -1234);
	/* the last step to full fills it exactly */
	b.stored_wh = 9990;
	double p = simbat_step(&b, -4000, 60);
	assert_true(p > -4000 && p < 0);
	assert_true(fabs(b.stored_wh - 10000) < 1e-9);
	assert_true(simbat_power(&b, -4000, 0) == 0);
	assert_int_equal(simbat_charge_status(&b, 0), 5);
	/* the reserve stops it */
	b.stored_wh = 1000;
	assert_true(simbat_power(&b, 3000, 0) == 0);
	assert_int_equal(simbat_charge_status(&b, 0), 2);
	/* below the reserve (a battery started low) it still charges */
	b.stored_wh = 500;
	assert_true(simbat_power(&b, -3000, 0) == -3000);
	assert_int_equal(simbat_charge_status(&b, -3000), 4);
	assert_non_null(simbat_cfg_check(&(struct simbat_cfg){ 0, 1, 1, 0.9, 50, 10 }));
	assert_non_null(simbat_cfg_check(&(struct simbat_cfg){ 100, 1, 1, 1.2, 50, 10 }));
	assert_non_null(simbat_cfg_check(&(struct simbat_cfg){ 100, 1, 1, 0.9, 50, 100 }));
	assert_null(simbat_cfg_check(&c));
}

static void
test_controls(void **state)
{
	struct simbat_cfg c = cfg_default();
	struct simbat b;
	struct simbat_ctl k = { 0 };
	(void)state;

	simbat_init(&b, &c);
	/* hold: both directions limited to 0 % */
	k.mode = SIMBAT_CTL_CHARGE | SIMBAT_CTL_DISCHARGE;
	k.revert_s = 600;
	simbat_control(&b, &k);
	assert_true(simbat_power(&b, -3000, 0) == 0);
	assert_true(simbat_power(&b, 3000, 0) == 0);
	/* a discharge limit of 20 % of 5000 W */
	k.mode = SIMBAT_CTL_DISCHARGE;
	k.out_pct = 20;
	simbat_control(&b, &k);
	assert_true(simbat_power(&b, 3000, 0) == 1000);
	assert_true(simbat_power(&b, -3000, 0) == -3000); /* charging untouched */
	/* a forced discharge (negative InWRte): to the grid while the house exports */
	k.mode = SIMBAT_CTL_CHARGE;
	k.in_pct = -50;
	simbat_control(&b, &k);
	assert_true(simbat_power(&b, -1000, 0) == 2000);
	/* a forced charge (negative OutWRte): from the PV surplus only ... */
	k.mode = SIMBAT_CTL_DISCHARGE;
	k.out_pct = -75; /* 3750 W */
	simbat_control(&b, &k);
	assert_true(simbat_power(&b, -1000, 0) == -1000);
	assert_true(simbat_power(&b, 500, 0) == 0);
	/* ... or from the grid when ChaGriSet says GRID */
	k.grid_charge = true;
	simbat_control(&b, &k);
	assert_true(simbat_power(&b, 500, 0) == -3750);
	/* the reserve holds against a forced discharge */
	b.stored_wh = 1000;
	k.mode = SIMBAT_CTL_CHARGE;
	k.in_pct = -100;
	simbat_control(&b, &k);
	assert_true(simbat_power(&b, 0, 0) == 0);
	/* revert after 600 simulated seconds without a write */
	b.stored_wh = 5000;
	for (int i = 0; i < 10; i++)
		(void)simbat_step(&b, 0, 60);
	assert_int_equal(b.ctl.mode, SIMBAT_CTL_CHARGE);
	(void)simbat_step(&b, 0, 60);
	assert_int_equal(b.ctl.mode, 0);
	assert_int_equal(b.reverts, 1);
	assert_true(simbat_power(&b, 0, 0) == 0);
	assert_true(simbat_power(&b, 800, 0) == 800); /* self-consumption again */
}

/* The registers, decoded by the agent's own storage reader. */
static void
test_registers(void **state)
{
	struct simbat_cfg c = cfg_default();
	struct simbat b;
	uint16_t m124[26], m713[9], m802[64];
	struct sunspec_block blk;
	struct storage_reading st;
	uint16_t *imgs[3] = { m802, m124, m713 };
	static const uint16_t ids[3] = { 802, 124, 713 };
	(void)state;

	simbat_init(&b, &c);
	b.stored_wh = 6543;
	for (int i = 0; i < 3; i++) {
		const struct sunspec_model_def *def = sunspec_model_find(ids[i]);
		assert_true(def->fixed_len + 2u <= (i == 0 ? 64u : i == 1 ? 26u : 9u));
		imgs[i][0] = ids[i];
		imgs[i][1] = def->fixed_len;
		for (uint16_t j = 2; j < def->nfixed; j++)
			sunspec_sentinel(def->fixed[j].type, def->fixed[j].size,
			                 &imgs[i][def->fixed[j].offset]);
	}
	simbat_regs(&b, -1500, m124, m713, m802);
	memset(&st, 0, sizeof(st));
	for (int i = 0; i < 3; i++) {
		struct sunspec_model_ref ref = { ids[i], imgs[i][1], 40000 };
		assert_int_equal(sunspec_block_load(&blk, &ref, imgs[i], imgs[i][1] + 2u), PW_OK);
		storage_decode(&blk, &st);
	}
	assert_int_equal(st.model, 802);
	assert_true(st.has_soc && fabs(st.soc_pct - 65.4) < 1e-9);
	assert_true(st.has_capacity && st.capacity_wh == 10000);
	assert_true(st.has_power && st.power_w == -1500);
	assert_true(st.has_max_charge && st.max_charge_w == 4000);
	assert_true(st.has_max_discharge && st.max_discharge_w == 5000);
	assert_true(st.has_reserve && st.reserve_pct == 10);
	assert_true(st.has_soh && st.soh_pct == 100);
	assert_string_equal(st.charge_status_name, "CHARGING");
	assert_true(st.has_controls && st.ctl_mode == 0);

	/* a client writes controls into 124: the battery takes them back */
	m124[sunspec_point_find(sunspec_model_find(124), "StorCtl_Mod", false)->offset] = 2;
	m124[sunspec_point_find(sunspec_model_find(124), "OutWRte", false)->offset] = 250;
	m124[sunspec_point_find(sunspec_model_find(124), "InOutWRte_RvrtTms", false)->offset] = 120;
	assert_true(simbat_regs_written(&b, m124));
	assert_int_equal(b.ctl.mode, SIMBAT_CTL_DISCHARGE);
	assert_true(b.ctl.out_pct == 25.0 && b.ctl.revert_s == 120);
	assert_true(simbat_power(&b, 4000, 0) == 1250);
	/* the same values again: no change, but the revert timer restarts */
	b.ctl.since_write_s = 100;
	assert_false(simbat_regs_written(&b, m124));
	assert_true(b.ctl.since_write_s == 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_week_conserves_energy),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_controls),
		cmocka_unit_test(test_registers),
	};
	log_init("test_sim_battery", LOG_LEVEL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
