/*
 * test_energy.c: accumulator deltas, acc32 wrap, resets, zero at wake-up,
 * plausibility, power integration and the meter sign, case by case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agent/energy.h"

static struct energy_sample
smp(int64_t t_ms, double power_w, uint64_t exp_raw, uint64_t imp_raw, int sf, int bits)
{
	struct energy_sample s;
	memset(&s, 0, sizeof(s));
	s.t_ms = t_ms;
	s.has_power = true;
	s.power_w = power_w;
	s.exp.has = true;
	s.exp.raw = exp_raw;
	s.exp.sf = sf;
	s.exp.bits = bits;
	s.imp = s.exp;
	s.imp.raw = imp_raw;
	return s;
}

static void
init(struct energy *e, enum energy_sign sign, int64_t rated)
{
	struct energy_cfg cfg = { sign, rated, 60000 };
	energy_init(e, &cfg);
}

static void
take(struct energy *e, int64_t want_exp, int64_t want_imp)
{
	int64_t x, i;
	energy_take(e, &x, &i);
	assert_int_equal(x, want_exp);
	assert_int_equal(i, want_imp);
}

static void
test_plain_deltas(void **state)
{
	struct energy e;
	struct energy_sample s;
	(void)state;

	init(&e, ENERGY_SIGN_AUTO, 10000);
	s = smp(0, -3000, 1000, 500, 0, 32);
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	take(&e, 0, 0); /* the first sample is only a base */
	s = smp(10000, -3000, 1008, 500, 0, 32);
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	s = smp(20000, 2000, 1008, 506, 0, 32);
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	take(&e, 8, 6);
	take(&e, 0, 0); /* taken once */
	/* A sample not later than the previous one is refused and changes nothing. */
	s = smp(20000, 0, 2000, 2000, 0, 32);
	assert_int_equal(energy_sample(&e, &s), PW_ERR_ARG);
	s = smp(30000, 0, 1009, 506, 0, 32);
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	take(&e, 1, 0);
}

static void
test_acc32_wrap(void **state)
{
	struct energy e;
	struct energy_sample s;
	(void)state;

	init(&e, ENERGY_SIGN_AUTO, 10000);
	s = smp(0, 0, 0xFFFFFFF0u, 100, 0, 32);
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	s = smp(60000, 0, 0x10, 100, 0, 32); /* +32 Wh across the wrap in a minute */
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	assert_int_equal(e.wraps, 1);
	assert_int_equal(e.resets, 0);
	take(&e, 32, 0);
	/* The same drop over a too short time is not a wrap but a reset. */
	init(&e, ENERGY_SIGN_AUTO, 10000);
	s = smp(0, 0, 0xFFFFFFF0u, 100, 0, 32);
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	s = smp(1, 0, 0x10, 100, 0, 32);
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	assert_int_equal(e.wraps, 0);
	assert_int_equal(e.resets, 1);
	take(&e, 0, 0);
	/* Without a rating, a counter near its top coming back near zero wraps. */
	init(&e, ENERGY_SIGN_AUTO, 0);
	s = smp(0, 0, 0xFFFFFF00u, 100, 0, 32);
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	s = smp(1000, 0, 5, 100, 0, 32);
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	assert_int_equal(e.wraps, 1);
	take(&e, 0x100 + 5, 0);
	/* A 64-bit (or float) counter never wraps: a drop is a reset. */
	init(&e, ENERGY_SIGN_AUTO, 10000);
	s = smp(0, 0, 0xFFFFFFF0u, 100, 0, 0);
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	s = smp(60000, 0, 0x10, 100, 0, 0);
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	assert_int_equal(e.resets, 1);
	take(&e, 0, 0);
}

static void
test_reset_rebases(void **state)
{
	struct energy e;
	struct energy_sample s;
	(void)state;

	init(&e, ENERGY_SIGN_AUTO, 10000);
	s = smp(0, 0, 5000000, 2500000, 0, 32);
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	s = smp(1000, 0, 5000001, 2500000, 0, 32);
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	s = smp(2000, 0, 3, 1, 0, 32); /* both counters cleared */
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	assert_int_equal(e.resets, 2);
	s = smp(3000, 0, 5, 2, 0, 32);
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	take(&e, 1 + 2, 1);
}

static void
test_zero_at_wakeup_skipped(void **state)
{
	struct energy e;
	struct energy_sample s;
	(void)state;

	/* Zero before the first real value: no base at zero, no huge first delta. */
	init(&e, ENERGY_SIGN_AUTO, 10000);
	s = smp(0, 0, 0, 0, 0, 32);
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	s = smp(1000, 0, 4000000, 2500000, 0, 32);
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	take(&e, 0, 0);
	/* Zero in between: skipped, then the count resumes from the last good value. */
	s = smp(2000, 0, 0, 0, 0, 32);
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	assert_int_equal(e.resets, 0);
	s = smp(3000, 0, 4000002, 2500001, 0, 32);
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	assert_int_equal(e.zero_skipped, 2); /* counted once the meter has shown counters */
	take(&e, 2, 1);
	/* Absent ("not implemented") is skipped the same way. */
	s = smp(4000, 0, 4000003, 2500001, 0, 32);
	s.exp.has = false;
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	s = smp(5000, 0, 4000004, 2500001, 0, 32);
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	take(&e, 2, 0);
}

static void
test_implausible_rejected(void **state)
{
	struct energy e;
	struct energy_sample s;
	(void)state;

	init(&e, ENERGY_SIGN_AUTO, 5000); /* 5 kW: at most ~1.53 Wh per second */
	s = smp(0, 0, 1000, 1000, 0, 32);
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	s = smp(1000, 0, 1100, 1001, 0, 32); /* 100 Wh in a second */
	assert_int_equal(energy_sample(&e, &s), PW_ERR_IMPLAUSIBLE);
	assert_int_equal(e.rejected, 1);
	take(&e, 0, 1); /* the import step was fine */
	s = smp(2000, 0, 1101, 1001, 0, 32);
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	take(&e, 1, 0);
	/* At the limit: 5000 W for an hour is 5000 Wh (within +10 %). */
	s = smp(2000 + 3600000, 0, 1101 + 5400, 1001, 0, 32);
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	take(&e, 5400, 0);
	/* A coarse kWh counter may step one count in a second: that is quantisation. */
	init(&e, ENERGY_SIGN_AUTO, 5000);
	s = smp(0, 0, 4000, 100, 3, 32);
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	s = smp(1000, 0, 4001, 100, 3, 32);
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	take(&e, 1000, 0);
	s = smp(2000, 0, 4003, 100, 3, 32); /* but not two */
	assert_int_equal(energy_sample(&e, &s), PW_ERR_IMPLAUSIBLE);
	take(&e, 0, 0);
}

static void
test_scale_factor_change_and_fractions(void **state)
{
	struct energy e;
	struct energy_sample s;
	(void)state;

	init(&e, ENERGY_SIGN_AUTO, 10000);
	s = smp(0, 0, 4000, 100, 3, 32); /* 4,000,000 Wh as a kWh counter */
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	s = smp(10000, 0, 4000010, 100000, 0, 32); /* same energy in Wh: +10 Wh */
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	assert_int_equal(e.resets, 0);
	take(&e, 10, 0);
	/* A resolution change that rounds down by less than a count is not a reset. */
	s = smp(20000, 0, 400002, 10000, 1, 32); /* 4,000,020 Wh in 10 Wh counts */
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	s = smp(30000, 0, 40000257, 1000000, -1, 32); /* 4,000,025.7 Wh */
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	s = smp(40000, 0, 400002, 10000, 1, 32); /* 4,000,020 again: rounding, not a reset */
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	assert_int_equal(e.resets, 0);
	s = smp(50000, 0, 400003, 10000, 1, 32); /* 4,000,030 */
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	take(&e, 20, 0); /* 4,000,010 -> 4,000,030 exactly, nothing counted twice */
	/* Fractions of a Wh carry over to the next take. */
	init(&e, ENERGY_SIGN_AUTO, 10000);
	s = smp(0, 0, 1000, 1000, -1, 32);
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	s = smp(1000, 0, 1007, 1000, -1, 32); /* +0.7 Wh */
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	take(&e, 0, 0);
	s = smp(2000, 0, 1014, 1000, -1, 32); /* +0.7 Wh: 1.4 in all */
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	take(&e, 1, 0);
	s = smp(3000, 0, 1020, 1000, -1, 32); /* +0.6: 0.4 + 0.6 */
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	take(&e, 1, 0);
}

static void
test_power_integration(void **state)
{
	struct energy e;
	struct energy_sample s;
	(void)state;

	/* No accumulators: import_positive (also the default), +1000 W for 36 s = 10 Wh import. */
	init(&e, ENERGY_SIGN_AUTO, 10000);
	memset(&s, 0, sizeof(s));
	s.has_power = true;
	s.power_w = 1000;
	for (int i = 0; i <= 36; i++) {
		s.t_ms = i * 1000;
		assert_int_equal(energy_sample(&e, &s), PW_OK);
	}
	take(&e, 0, 10);
	s.power_w = -2000;
	s.t_ms = 37000;
	assert_int_equal(energy_sample(&e, &s), PW_OK); /* still 1000 W over this step */
	s.t_ms = 37000 + 18000;
	assert_int_equal(energy_sample(&e, &s), PW_OK); /* -2000 W for 18 s = 10 Wh export */
	take(&e, 10, 0);                                /* + 0.28 Wh import carried */
	/* A gap longer than max_gap_ms is not bridged. */
	s.t_ms += 3600000;
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	take(&e, 0, 0);

	/* export_positive flips it. */
	init(&e, ENERGY_SIGN_EXPORT_POSITIVE, 10000);
	s.power_w = 1000;
	s.t_ms = 0;
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	s.t_ms = 36000;
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	take(&e, 10, 0);

	/* A power beyond the rating is not integrated. */
	init(&e, ENERGY_SIGN_IMPORT_POSITIVE, 1000);
	s.power_w = 5000;
	s.t_ms = 0;
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	s.t_ms = 1000;
	assert_int_equal(energy_sample(&e, &s), PW_ERR_IMPLAUSIBLE);
	take(&e, 0, 0);

	/* Once the meter has shown an accumulator, power is never integrated. */
	init(&e, ENERGY_SIGN_AUTO, 10000);
	s = smp(0, 1000, 100, 100, 0, 32);
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	s = smp(36000, 1000, 0, 0, 0, 32);
	s.exp.has = s.imp.has = false;
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	s.t_ms = 72000;
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	take(&e, 0, 0);
	assert_int_equal(e.integrated, 0);
}

static void
test_sign_auto_detection(void **state)
{
	struct energy e;
	struct energy_sample s;
	double xp;
	(void)state;

	/* Export grows while power is negative: the meter is import_positive. */
	init(&e, ENERGY_SIGN_AUTO, 10000);
	assert_int_equal(energy_export_power_w(&e, 100, &xp), PW_OK); /* no acc yet: SunSpec */
	for (int i = 0; i <= 4; i++) {
		s = smp(i * 10000, -1500, 1000 + (uint64_t)i * 4, 500, 0, 32);
		assert_int_equal(energy_sample(&e, &s), PW_OK);
		if (i < 3)
			assert_int_equal(energy_sign_effective(&e), ENERGY_SIGN_AUTO);
	}
	assert_int_equal(energy_sign_effective(&e), ENERGY_SIGN_IMPORT_POSITIVE);
	assert_int_equal(energy_export_power_w(&e, -1500, &xp), PW_OK);
	assert_true(xp == 1500);

	/* Import grows while power is negative: export_positive. */
	init(&e, ENERGY_SIGN_AUTO, 10000);
	s = smp(0, -800, 1000, 500, 0, 32);
	assert_int_equal(energy_sample(&e, &s), PW_OK);
	assert_int_equal(energy_export_power_w(&e, 1, &xp), PW_ERR_STATE);
	for (int i = 1; i <= 3; i++) {
		s = smp(i * 10000, -800, 1000, 500 + (uint64_t)i * 3, 0, 32);
		assert_int_equal(energy_sample(&e, &s), PW_OK);
	}
	assert_int_equal(energy_sign_effective(&e), ENERGY_SIGN_EXPORT_POSITIVE);
	assert_int_equal(energy_export_power_w(&e, -800, &xp), PW_OK);
	assert_true(xp == -800);

	/* Near-zero power or both counters moving are no evidence. */
	init(&e, ENERGY_SIGN_AUTO, 10000);
	for (int i = 0; i <= 6; i++) {
		s = smp(i * 10000, i % 2 ? 5 : -900, 1000 + (uint64_t)i, 500 + (uint64_t)i, 0, 32);
		assert_int_equal(energy_sample(&e, &s), PW_OK);
	}
	assert_int_equal(energy_sign_effective(&e), ENERGY_SIGN_AUTO);

	/* A configured sign is kept but checked. */
	init(&e, ENERGY_SIGN_EXPORT_POSITIVE, 10000);
	for (int i = 0; i <= 4; i++) {
		s = smp(i * 10000, -1500, 1000 + (uint64_t)i * 4, 500, 0, 32);
		assert_int_equal(energy_sample(&e, &s), PW_OK);
	}
	assert_int_equal(energy_sign_effective(&e), ENERGY_SIGN_EXPORT_POSITIVE);
	assert_int_equal(e.sign_mismatches, 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_deltas),
		cmocka_unit_test(test_acc32_wrap),
		cmocka_unit_test(test_reset_rebases),
		cmocka_unit_test(test_zero_at_wakeup_skipped),
		cmocka_unit_test(test_implausible_rejected),
		cmocka_unit_test(test_scale_factor_change_and_fractions),
		cmocka_unit_test(test_power_integration),
		cmocka_unit_test(test_sign_auto_detection),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
