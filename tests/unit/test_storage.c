/*
 * test_storage.c: the SunSpec storage models 124, 802 and 713 decoded into a
 * storage_reading: every point "not implemented", real values with their
 * scale factors, values out of a battery's range, which model wins when a
 * device has several, and the poll through a fake register source.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agent/storage.h"
#include "agent/sunspec.h"
#include "peerwatt/log.h"

#define MAXREGS 128

struct model_img {
	uint16_t id;
	uint16_t regs[MAXREGS];
	uint16_t n; /* registers, ID and L included */
};

/* Model id with every point "not implemented". */
static void
img_init(struct model_img *m, uint16_t id)
{
	const struct sunspec_model_def *def = sunspec_model_find(id);

	assert_non_null(def);
	assert_true(def->fixed_len + 2 <= MAXREGS);
	memset(m, 0, sizeof(*m));
	m->id = id;
	m->n = (uint16_t)(def->fixed_len + 2);
	m->regs[0] = id;
	m->regs[1] = def->fixed_len;
	for (uint16_t i = 2; i < def->nfixed; i++)
		sunspec_sentinel(def->fixed[i].type, def->fixed[i].size,
		                 &m->regs[def->fixed[i].offset]);
}

static void
img_set(struct model_img *m, const char *name, int64_t v)
{
	const struct sunspec_point *p = sunspec_point_find(sunspec_model_find(m->id), name, false);
	uint64_t u = (uint64_t)v;

	assert_non_null(p);
	for (int i = p->size - 1; i >= 0; i--) {
		m->regs[p->offset + (uint16_t)i] = (uint16_t)(u & 0xFFFF);
		u >>= 16;
	}
}

static void
decode(const struct model_img *m, struct storage_reading *st)
{
	struct sunspec_block blk;
	struct sunspec_model_ref ref = { m->id, (uint16_t)(m->n - 2), 40000 };

	assert_int_equal(sunspec_block_load(&blk, &ref, m->regs, m->n), PW_OK);
	storage_decode(&blk, st);
}

/* A storage model with nothing implemented: present, every value unknown (never 0). */
static void
test_all_sentinels(void **state)
{
	static const uint16_t ids[] = { 124, 713, 802 };
	(void)state;
	for (size_t i = 0; i < 3; i++) {
		struct model_img m;
		struct storage_reading st;
		memset(&st, 0, sizeof(st));
		img_init(&m, ids[i]);
		decode(&m, &st);
		assert_true(st.present);
		assert_int_equal(st.model, ids[i]);
		assert_false(st.has_soc);
		assert_false(st.has_capacity);
		assert_false(st.has_power);
		assert_false(st.has_max_charge);
		assert_false(st.has_max_discharge);
		assert_false(st.has_soh);
		assert_false(st.has_reserve);
		assert_false(st.has_charge_status);
		assert_false(st.has_controls);
	}
}

static void
test_802_values(void **state)
{
	struct model_img m;
	struct storage_reading st;
	(void)state;

	memset(&st, 0, sizeof(st));
	img_init(&m, 802);
	img_set(&m, "WHRtg", 1350); /* x 10^1 */
	img_set(&m, "WHRtg_SF", 1);
	img_set(&m, "WChaRteMax", 500);
	img_set(&m, "WDisChaRteMax", 460);
	img_set(&m, "WChaDisChaMax_SF", 1);
	img_set(&m, "SoC", 734);
	img_set(&m, "SoCRsvMin", 150);
	img_set(&m, "SoC_SF", -1);
	img_set(&m, "SoH", 97);
	img_set(&m, "SoH_SF", 0);
	img_set(&m, "W", -2500); /* charging */
	img_set(&m, "W_SF", 0);
	img_set(&m, "ChaSt", 4);
	decode(&m, &st);
	assert_true(st.present);
	assert_int_equal(st.model, 802);
	assert_true(st.has_capacity);
	assert_int_equal(st.capacity_wh, 13500);
	assert_true(st.has_max_charge && st.max_charge_w == 5000.0);
	assert_true(st.has_max_discharge && st.max_discharge_w == 4600.0);
	assert_true(st.has_soc && st.soc_pct == 73.4);
	assert_true(st.has_reserve && st.reserve_pct == 15.0);
	assert_true(st.has_soh && st.soh_pct == 97.0);
	assert_true(st.has_power && st.power_w == -2500.0);
	assert_true(st.has_charge_status);
	assert_int_equal(st.charge_status, 4);
	assert_string_equal(st.charge_status_name, "CHARGING");
}

/* Out of a household battery's range: unknown, not clamped. */
static void
test_out_of_range(void **state)
{
	struct model_img m;
	struct storage_reading st;
	(void)state;

	memset(&st, 0, sizeof(st));
	img_init(&m, 802);
	img_set(&m, "SoC", 1001); /* 100.1 % */
	img_set(&m, "SoC_SF", -1);
	img_set(&m, "WHRtg", 2000); /* 2000 x 10^4 Wh = 20 MWh */
	img_set(&m, "WHRtg_SF", 4);
	img_set(&m, "W", 30000);
	img_set(&m, "W_SF", 2);   /* 3 MW */
	img_set(&m, "ChaSt", 42); /* no such status */
	img_set(&m, "SoH", 150);
	img_set(&m, "SoH_SF", 11); /* a scale factor outside -10..10 */
	decode(&m, &st);
	assert_true(st.present);
	assert_false(st.has_soc);
	assert_false(st.has_capacity);
	assert_false(st.has_power);
	assert_false(st.has_charge_status);
	assert_false(st.has_soh);

	/* a "not implemented" scale factor hides its value */
	memset(&st, 0, sizeof(st));
	img_init(&m, 713);
	img_set(&m, "WHRtg", 10000);
	img_set(&m, "SoC", 500); /* Pct_SF stays 0x8000 */
	decode(&m, &st);
	assert_false(st.has_capacity);
	assert_false(st.has_soc);
	img_set(&m, "WH_SF", 0);
	img_set(&m, "WHRtg", 0); /* a zero capacity is no battery */
	memset(&st, 0, sizeof(st));
	decode(&m, &st);
	assert_false(st.has_capacity);
}

static void
test_124_controls(void **state)
{
	struct model_img m;
	struct storage_reading st;
	(void)state;

	memset(&st, 0, sizeof(st));
	img_init(&m, 124);
	img_set(&m, "WChaMax", 3300);
	img_set(&m, "WChaMax_SF", 0);
	img_set(&m, "ChaState", 555);
	img_set(&m, "ChaState_SF", -1);
	img_set(&m, "MinRsvPct", 20);
	img_set(&m, "MinRsvPct_SF", 0);
	img_set(&m, "ChaSt", 6);
	img_set(&m, "StorCtl_Mod", 2);
	img_set(&m, "OutWRte", -505); /* -50.5 %: a forced charge */
	img_set(&m, "InOutWRte_SF", -1);
	img_set(&m, "InOutWRte_RvrtTms", 900);
	decode(&m, &st);
	assert_int_equal(st.model, 124);
	assert_true(st.has_soc && st.soc_pct == 55.5);
	assert_true(st.has_max_charge && st.max_charge_w == 3300.0);
	assert_false(st.has_max_discharge); /* 124 has none */
	assert_false(st.has_capacity);
	assert_false(st.has_power);
	assert_true(st.has_reserve && st.reserve_pct == 20.0);
	assert_string_equal(st.charge_status_name, "HOLDING");
	assert_true(st.has_controls);
	assert_int_equal(st.ctl_mode, 2);
	assert_true(st.has_out_rate && st.out_rate_pct == -50.5);
	assert_false(st.has_in_rate); /* InWRte not implemented */
	assert_true(st.has_revert);
	assert_int_equal(st.revert_s, 900);

	/* StorCtl_Mod with bits 124 does not define: no controls */
	memset(&st, 0, sizeof(st));
	img_set(&m, "StorCtl_Mod", 4);
	img_set(&m, "InWRte", 2000); /* 200 %: unknown */
	decode(&m, &st);
	assert_false(st.has_controls);
	assert_false(st.has_in_rate);
}

/* 802 first, then 124, then 713: each value from the first model that has it. */
static void
test_precedence(void **state)
{
	struct model_img a, b, c;
	struct storage_reading st;
	(void)state;

	memset(&st, 0, sizeof(st));
	img_init(&a, 802);
	img_set(&a, "SoC", 40);
	img_set(&a, "SoC_SF", 0);
	img_init(&b, 124);
	img_set(&b, "ChaState", 41);
	img_set(&b, "ChaState_SF", 0);
	img_set(&b, "WChaMax", 2000);
	img_set(&b, "WChaMax_SF", 0);
	img_init(&c, 713);
	img_set(&c, "SoC", 42);
	img_set(&c, "WHRtg", 7000);
	img_set(&c, "WH_SF", 0);
	img_set(&c, "Pct_SF", 0);
	decode(&a, &st);
	decode(&b, &st);
	decode(&c, &st);
	assert_int_equal(st.model, 802);
	assert_true(st.soc_pct == 40.0);
	assert_true(st.has_max_charge && st.max_charge_w == 2000.0); /* 802 lacked it */
	assert_true(st.has_capacity && st.capacity_wh == 7000);      /* so did 802 and 124 */

	/* a model that is not storage changes nothing */
	struct model_img inv;
	struct storage_reading none;
	memset(&none, 0, sizeof(none));
	img_init(&inv, 103);
	decode(&inv, &none);
	assert_false(none.present);
}

/* --- poll through a register source ------------------------------------------------ */

struct fake {
	uint16_t regs[1024]; /* PDU 40000.. */
	bool fail;
};

static pw_err
fake_read(void *arg, uint16_t addr, uint16_t count, uint16_t *regs)
{
	struct fake *f = arg;
	if (f->fail)
		return PW_ERR_TIMEOUT;
	if (addr < 40000 || addr + count > 40000 + 1024)
		return PW_ERR_MODBUS_EXC;
	memcpy(regs, &f->regs[addr - 40000], count * sizeof(uint16_t));
	return PW_OK;
}

static void
test_poll(void **state)
{
	struct fake f;
	struct sunspec_io io = { fake_read, &f, NULL };
	struct sunspec_dev dev;
	struct storage_reading st;
	struct model_img m;
	uint32_t a = 40002;
	(void)state;

	memset(&f, 0, sizeof(f));
	f.regs[0] = 0x5375;
	f.regs[1] = 0x6e53;
	img_init(&m, 1);
	memcpy(&f.regs[a - 40000], m.regs, m.n * sizeof(uint16_t));
	a += m.n;
	img_init(&m, 713);
	img_set(&m, "WHRtg", 9000);
	img_set(&m, "WH_SF", 0);
	img_set(&m, "SoC", 815);
	img_set(&m, "Pct_SF", -1);
	memcpy(&f.regs[a - 40000], m.regs, m.n * sizeof(uint16_t));
	a += m.n;
	f.regs[a - 40000] = 0xFFFF;
	assert_int_equal(sunspec_walk(&io, 40000, &dev), PW_OK);
	assert_int_equal(storage_poll(&io, &dev, &st), PW_OK);
	assert_true(st.present);
	assert_int_equal(st.model, 713);
	assert_int_equal(st.capacity_wh, 9000);
	assert_true(st.soc_pct == 81.5);

	/* a transport error is returned, not a half reading */
	f.fail = true;
	assert_int_equal(storage_poll(&io, &dev, &st), PW_ERR_TIMEOUT);

	/* no storage model: nothing present */
	f.fail = false;
	dev.nmodels = 1;
	assert_int_equal(storage_poll(&io, &dev, &st), PW_OK);
	assert_false(st.present);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_sentinels), cmocka_unit_test(test_802_values),
		cmocka_unit_test(test_out_of_range),  cmocka_unit_test(test_124_controls),
		cmocka_unit_test(test_precedence),    cmocka_unit_test(test_poll),
	};
	log_init("test_storage", LOG_LEVEL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
