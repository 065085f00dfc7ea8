/*
 * test_tmpl.c: the register-map templates.
 *
 * The first table is transcribed from each device's public manual (the one
 * each template names), independently of the template files: every shipped
 * template is loaded from templates/ and each value's function code,
 * addresses, type, word order, scale and unit must equal the manual's, so a
 * typo in a template fails here.  Then the loader's refusals (table), the
 * decoding of every type in both word orders with and without sentinels,
 * encode/decode round trips, scale registers, summed powers, the split grid
 * power, identification, and a poll through a fake register image.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <math.h>

#include <cmocka.h>

#include "agent/tmpl.h"

#define L true  /* least significant word first */
#define B false /* big: most significant word first */

struct row {
	enum tmpl_val v;
	int fc;
	uint16_t addr[8];
	int naddr;
	enum tmpl_type type;
	bool little;
	int scale;
	enum tmpl_unit unit;
	int sign_export; /* 1: export/charge positive in the manual */
};

struct manual {
	const char *name;
	int unit_id;
	struct {
		int fc;
		uint16_t addr;
		enum tmpl_type type;
		int64_t equals0; /* first accepted value; strings: 0 */
		const char *prefix;
	} ident;
	struct row rows[12];
};

#define W    TMPL_UNIT_W
#define KWH  TMPL_UNIT_KWH
#define WH   TMPL_UNIT_WH
#define PCT  TMPL_UNIT_PCT
#define NONE TMPL_UNIT_NONE

/* Transcribed from the manuals; addresses are PDU addresses (register - 30001 / 40001). */
static const struct manual manuals[] = {
	{ "sdm630",
	  1,
	  { 3, 0xFC02, TMPL_U16, 0x0070, NULL },
	  { { TMPL_V_GRID_POWER, 4, { 52 }, 1, TMPL_F32, B, 0, W, 0 },
	    { TMPL_V_IMPORT_ENERGY, 4, { 72 }, 1, TMPL_F32, B, 0, KWH, 0 },
	    { TMPL_V_EXPORT_ENERGY, 4, { 74 }, 1, TMPL_F32, B, 0, KWH, 0 },
	    { TMPL_V_SERIAL, 3, { 64512 }, 1, TMPL_U32, B, 0, NONE, 0 } } },
	{ "sdm72",
	  1,
	  { 3, 0xFC02, TMPL_U16, 0x0084, NULL },
	  { { TMPL_V_GRID_POWER, 4, { 52 }, 1, TMPL_F32, B, 0, W, 0 },
	    { TMPL_V_IMPORT_ENERGY, 4, { 72 }, 1, TMPL_F32, B, 0, KWH, 0 },
	    { TMPL_V_EXPORT_ENERGY, 4, { 74 }, 1, TMPL_F32, B, 0, KWH, 0 },
	    { TMPL_V_SERIAL, 3, { 64512 }, 1, TMPL_U32, B, 0, NONE, 0 } } },
	{ "sdm120",
	  1,
	  { 3, 0xFC02, TMPL_U16, 0x0020, NULL },
	  { { TMPL_V_GRID_POWER, 4, { 12 }, 1, TMPL_F32, B, 0, W, 0 },
	    { TMPL_V_IMPORT_ENERGY, 4, { 72 }, 1, TMPL_F32, B, 0, KWH, 0 },
	    { TMPL_V_EXPORT_ENERGY, 4, { 74 }, 1, TMPL_F32, B, 0, KWH, 0 },
	    { TMPL_V_SERIAL, 3, { 64512 }, 1, TMPL_U32, B, 0, NONE, 0 } } },
	{ "abb-b23",
	  1,
	  { 3, 0x8960, TMPL_STRING, 0, "B23" },
	  { { TMPL_V_GRID_POWER, 3, { 0x5B14 }, 1, TMPL_S32, B, -2, W, 0 },
	    { TMPL_V_IMPORT_ENERGY, 3, { 0x5000 }, 1, TMPL_U64, B, -2, KWH, 0 },
	    { TMPL_V_EXPORT_ENERGY, 3, { 0x5004 }, 1, TMPL_U64, B, -2, KWH, 0 },
	    { TMPL_V_SERIAL, 3, { 0x8900 }, 1, TMPL_U32, B, 0, NONE, 0 } } },
	{ "cg-em24",
	  1,
	  { 3, 0x000B, TMPL_U16, 1648, NULL },
	  { { TMPL_V_GRID_POWER, 3, { 0x28 }, 1, TMPL_S32, L, -1, W, 0 },
	    { TMPL_V_IMPORT_ENERGY, 3, { 0x34 }, 1, TMPL_S32, L, -1, KWH, 0 },
	    { TMPL_V_EXPORT_ENERGY, 3, { 0x4E }, 1, TMPL_S32, L, -1, KWH, 0 },
	    { TMPL_V_SERIAL, 3, { 0x5000 }, 1, TMPL_STRING, L, 0, NONE, 0 } } },
	{ "huawei-sun2000",
	  1,
	  { 3, 30000, TMPL_STRING, 0, "SUN2000" },
	  { { TMPL_V_PV_POWER, 3, { 32080 }, 1, TMPL_S32, B, 0, W, 0 },
	    { TMPL_V_AC_ENERGY, 3, { 32106 }, 1, TMPL_U32, B, -2, KWH, 0 },
	    { TMPL_V_GRID_POWER, 3, { 37113 }, 1, TMPL_S32, B, 0, W, 1 },
	    { TMPL_V_EXPORT_ENERGY, 3, { 37119 }, 1, TMPL_S32, B, -2, KWH, 0 },
	    { TMPL_V_IMPORT_ENERGY, 3, { 37121 }, 1, TMPL_S32, B, -2, KWH, 0 },
	    { TMPL_V_SERIAL, 3, { 30015 }, 1, TMPL_STRING, B, 0, NONE, 0 },
	    { TMPL_V_BATTERY_SOC, 3, { 37760 }, 1, TMPL_U16, B, -1, PCT, 0 },
	    { TMPL_V_BATTERY_POWER, 3, { 37765 }, 1, TMPL_S32, B, 0, W, 1 } } },
	{ "growatt",
	  1,
	  { 3, 23, TMPL_STRING, 0, "" },
	  { { TMPL_V_PV_POWER, 4, { 1 }, 1, TMPL_U32, B, -1, W, 0 },
	    { TMPL_V_AC_ENERGY, 4, { 91 }, 1, TMPL_U32, B, -1, KWH, 0 },
	    { TMPL_V_GRID_POWER_IMPORT, 4, { 1021 }, 1, TMPL_U32, B, -1, W, 0 },
	    { TMPL_V_GRID_POWER_EXPORT, 4, { 1029 }, 1, TMPL_U32, B, -1, W, 0 },
	    { TMPL_V_IMPORT_ENERGY, 4, { 1046 }, 1, TMPL_U32, B, -1, KWH, 0 },
	    { TMPL_V_EXPORT_ENERGY, 4, { 1050 }, 1, TMPL_U32, B, -1, KWH, 0 },
	    { TMPL_V_SERIAL, 3, { 23 }, 1, TMPL_STRING, B, 0, NONE, 0 },
	    { TMPL_V_BATTERY_SOC, 4, { 1014 }, 1, TMPL_U16, B, 0, PCT, 0 } } },
	{ "goodwe",
	  247,
	  { 3, 35011, TMPL_STRING, 0, "GW" },
	  { { TMPL_V_PV_POWER, 3, { 35105, 35109, 35113, 35117 }, 4, TMPL_U32, B, 0, W, 0 },
	    { TMPL_V_AC_ENERGY, 3, { 35191 }, 1, TMPL_U32, B, -1, KWH, 0 },
	    { TMPL_V_GRID_POWER, 3, { 36025 }, 1, TMPL_S32, B, 0, W, 1 },
	    { TMPL_V_EXPORT_ENERGY, 3, { 36015 }, 1, TMPL_F32, B, 0, KWH, 0 },
	    { TMPL_V_IMPORT_ENERGY, 3, { 36017 }, 1, TMPL_F32, B, 0, KWH, 0 },
	    { TMPL_V_SERIAL, 3, { 35003 }, 1, TMPL_STRING, B, 0, NONE, 0 },
	    { TMPL_V_BATTERY_SOC, 3, { 37007 }, 1, TMPL_U16, B, 0, PCT, 0 },
	    { TMPL_V_BATTERY_POWER, 3, { 35182 }, 1, TMPL_S32, B, 0, W, 0 } } },
	{ "solax",
	  1,
	  { 3, 0x0007, TMPL_STRING, 0, "" },
	  { { TMPL_V_PV_POWER, 4, { 0x0A, 0x0B }, 2, TMPL_U16, L, 0, W, 0 },
	    { TMPL_V_AC_ENERGY, 4, { 0x94 }, 1, TMPL_U32, L, -1, KWH, 0 },
	    { TMPL_V_GRID_POWER, 4, { 0x46 }, 1, TMPL_S32, L, 0, W, 1 },
	    { TMPL_V_EXPORT_ENERGY, 4, { 0x48 }, 1, TMPL_U32, L, -2, KWH, 0 },
	    { TMPL_V_IMPORT_ENERGY, 4, { 0x4A }, 1, TMPL_U32, L, -2, KWH, 0 },
	    { TMPL_V_SERIAL, 3, { 0x00 }, 1, TMPL_STRING, L, 0, NONE, 0 },
	    { TMPL_V_BATTERY_SOC, 4, { 0x1C }, 1, TMPL_U16, L, 0, PCT, 0 },
	    { TMPL_V_BATTERY_POWER, 4, { 0x16 }, 1, TMPL_S16, L, 0, W, 1 } } },
	{ "deye",
	  1,
	  { 3, 0, TMPL_U16, 5, NULL },
	  { { TMPL_V_PV_POWER, 3, { 672, 673, 674, 675 }, 4, TMPL_U16, L, 0, W, 0 },
	    { TMPL_V_AC_ENERGY, 3, { 534 }, 1, TMPL_U32, L, -1, KWH, 0 },
	    { TMPL_V_GRID_POWER, 3, { 625 }, 1, TMPL_S16, L, 0, W, 0 },
	    { TMPL_V_IMPORT_ENERGY, 3, { 522 }, 1, TMPL_U32, L, -1, KWH, 0 },
	    { TMPL_V_EXPORT_ENERGY, 3, { 524 }, 1, TMPL_U32, L, -1, KWH, 0 },
	    { TMPL_V_SERIAL, 3, { 3 }, 1, TMPL_STRING, L, 0, NONE, 0 },
	    { TMPL_V_BATTERY_SOC, 3, { 588 }, 1, TMPL_U16, L, 0, PCT, 0 },
	    { TMPL_V_BATTERY_POWER, 3, { 590 }, 1, TMPL_S16, L, 0, W, 0 } } },
	{ "victron-gx",
	  100,
	  { 4, 800, TMPL_STRING, 0, "" },
	  { { TMPL_V_PV_POWER, 4, { 808, 809, 810, 811, 812, 813, 850 }, 7, TMPL_U16, B, 0, W, 0 },
	    { TMPL_V_GRID_POWER, 4, { 820, 821, 822 }, 3, TMPL_S16, B, 0, W, 0 },
	    { TMPL_V_IMPORT_ENERGY, 4, { 2634 }, 1, TMPL_U32, B, -2, KWH, 0 },
	    { TMPL_V_EXPORT_ENERGY, 4, { 2636 }, 1, TMPL_U32, B, -2, KWH, 0 },
	    { TMPL_V_SERIAL, 4, { 2609 }, 1, TMPL_STRING, B, 0, NONE, 0 },
	    { TMPL_V_BATTERY_SOC, 4, { 843 }, 1, TMPL_U16, B, 0, PCT, 0 },
	    { TMPL_V_BATTERY_POWER, 4, { 842 }, 1, TMPL_S16, B, 0, W, 1 } } },
	{ "sma",
	  3,
	  { 3, 30051, TMPL_U32, 8001, NULL },
	  { { TMPL_V_PV_POWER, 3, { 30775 }, 1, TMPL_S32, B, 0, W, 0 },
	    { TMPL_V_AC_ENERGY, 3, { 30513 }, 1, TMPL_U64, B, 0, WH, 0 },
	    { TMPL_V_GRID_POWER_IMPORT, 3, { 30865 }, 1, TMPL_U32, B, 0, W, 0 },
	    { TMPL_V_GRID_POWER_EXPORT, 3, { 30867 }, 1, TMPL_U32, B, 0, W, 0 },
	    { TMPL_V_IMPORT_ENERGY, 3, { 30581 }, 1, TMPL_U32, B, 0, WH, 0 },
	    { TMPL_V_EXPORT_ENERGY, 3, { 30583 }, 1, TMPL_U32, B, 0, WH, 0 },
	    { TMPL_V_SERIAL, 3, { 30057 }, 1, TMPL_U32, B, 0, NONE, 0 },
	    { TMPL_V_BATTERY_SOC, 3, { 30845 }, 1, TMPL_U32, B, 0, PCT, 0 } } },
};

#define NMANUALS (sizeof(manuals) / sizeof(manuals[0]))

static void
test_shipped_match_manuals(void **state)
{
	char names[TMPL_LIST_MAX][TMPL_NAME_MAX + 1];
	size_t n = tmpl_list("templates", names, TMPL_LIST_MAX);
	(void)state;

	/* every shipped template has a manual row and the other way round */
	assert_int_equal(n, NMANUALS);
	for (size_t m = 0; m < NMANUALS; m++) {
		const struct manual *mu = &manuals[m];
		struct tmpl t;
		char err[256] = "";
		pw_err rc = tmpl_load("templates", mu->name, &t, err, sizeof(err));
		if (rc != PW_OK)
			fail_msg("%s: %s", mu->name, err);
		assert_string_equal(t.name, mu->name);
		assert_true(t.manual[0] != '\0');
		assert_int_equal(t.unit_id, mu->unit_id);
		assert_true(t.ident.present);
		assert_int_equal(t.ident.v.fc, mu->ident.fc);
		assert_int_equal(t.ident.v.addr[0], mu->ident.addr);
		assert_int_equal(t.ident.v.type, mu->ident.type);
		if (mu->ident.prefix != NULL)
			assert_string_equal(t.ident.prefix, mu->ident.prefix);
		else
			assert_int_equal(t.ident.equals[0], mu->ident.equals0);
		int nrows = 0;
		for (size_t r = 0; r < sizeof(mu->rows) / sizeof(mu->rows[0]); r++) {
			const struct row *w = &mu->rows[r];
			if (w->fc == 0)
				continue;
			nrows++;
			const struct tmpl_value *v = &t.v[w->v];
			if (!v->present)
				fail_msg("%s: [%s] missing", mu->name, tmpl_val_name(w->v));
			if (v->fc != w->fc || v->naddr != w->naddr || v->type != w->type ||
			    (w->type != TMPL_STRING && v->little != w->little) ||
			    v->scale != w->scale || v->unit != w->unit ||
			    v->export_positive != (w->sign_export == 1))
				fail_msg("%s: [%s] differs from the manual", mu->name,
				         tmpl_val_name(w->v));
			for (int a = 0; a < w->naddr; a++)
				if (v->addr[a] != w->addr[a])
					fail_msg("%s: [%s] address %d is %u, the manual says %u",
					         mu->name, tmpl_val_name(w->v), a, v->addr[a],
					         w->addr[a]);
		}
		/* no value in the file that the manual table does not name */
		int present = 0;
		for (int i = 0; i < TMPL_V__COUNT; i++)
			present += t.v[i].present;
		assert_int_equal(present, nrows);
	}
}

/* --- loader refusals --------------------------------------------------------------- */

#define HEAD "[template]\nname = t\nmanual = m\nrole = meter\n"
#define EXP  "[export_energy]\nfc = 3\naddress = 10\ntype = u32\nunit = Wh\n"
#define IMP  "[import_energy]\nfc = 3\naddress = 12\ntype = u32\nunit = Wh\n"

static const struct {
	const char *text;
	const char *msg; /* expected in the error, with its line */
} bad[] = {
	{ "[template]\nname = t\nrole = meter\n" EXP IMP, "t.ini:3: [template] needs name" },
	{ HEAD "colour = red\n" EXP IMP, "t.ini:5: unknown key colour" },
	{ HEAD "unit = 256\n" EXP IMP, "t.ini:5: unit" },
	{ HEAD "port = 0\n" EXP IMP, "t.ini:5: port" },
	{ HEAD "name = u\n" EXP IMP, "t.ini:5: name: given twice" },
	{ HEAD EXP, "needs [export_energy] and [import_energy]" },
	{ HEAD EXP IMP "[grid_power]\nfc = 5\n", "t.ini:16: fc" },
	{ HEAD EXP IMP "[grid_power]\nfc = 3\naddress = 70000\n", "t.ini:17: address" },
	{ HEAD EXP IMP "[grid_power]\nfc = 3\naddress = 1,2\ntype = u32\nunit = Wh\n",
	  "needs unit W or kW" },
	{ HEAD "[export_energy]\nfc = 3\naddress = 1, 3\ntype = u32\nunit = Wh\n" IMP,
	  "t.ini:7: address" },
	{ HEAD EXP IMP "[grid_power]\nfc = 3\naddress = 65535\ntype = u32\nunit = W\n",
	  "runs past register 65535" },
	{ HEAD EXP IMP "[grid_power]\nfc = 3\naddress = 1\ntype = u32\nunit = W\nscale = 7\n",
	  "t.ini:20: scale" },
	{ HEAD EXP IMP
	  "[grid_power]\nfc = 3\naddress = 1\ntype = u32\nunit = W\nscale_address = 200\n",
	  "within 125 registers" },
	{ HEAD EXP IMP "[grid_power]\nfc = 3\naddress = 1\ntype = u32\nunit = W\nscale = 1\n"
	               "scale_address = 3\n",
	  "exclude each other" },
	{ HEAD EXP IMP "[grid_power_import]\nfc = 3\naddress = 1\ntype = u32\nunit = W\n",
	  "come together" },
	{ HEAD EXP IMP "[serial]\nfc = 3\naddress = 1\ntype = string\n", "needs length" },
	{ HEAD EXP IMP "[serial]\nfc = 3\naddress = 1\ntype = string\nlength = 17\n",
	  "t.ini:19: length" },
	{ HEAD EXP IMP "[battery_soc]\nfc = 3\naddress = 1\ntype = u16\nunit = W\n",
	  "needs unit %" },
	{ HEAD EXP IMP "[battery_soh]\nfc = 3\naddress = 1\ntype = u16\nunit = Wh\n",
	  "[battery_soh] needs unit %" },
	{ HEAD EXP IMP "[battery_capacity]\nfc = 3\naddress = 1\ntype = u16\nunit = kW\n",
	  "[battery_capacity] needs unit Wh or kWh" },
	{ HEAD EXP IMP "[battery_max_charge]\nfc = 3\naddress = 1\ntype = u16\nunit = %\n",
	  "[battery_max_charge] needs unit W or kW" },
	{ HEAD EXP IMP "[battery_max_discharge]\nfc = 3\naddress = 1\ntype = u16\nunit = W\n"
	               "sign = charge_positive\n",
	  "t.ini:20: sign" },
	{ HEAD EXP IMP "[identify]\nfc = 3\naddress = 1\ntype = u16\n", "equals or min/max" },
	{ HEAD EXP IMP "[identify]\nfc = 3\naddress = 1\ntype = u16\nmin = 4\nmax = 3\n",
	  "min above max" },
	{ HEAD EXP IMP "[export_energy]\nfc = 4\n", "fc: given twice" },
	{ HEAD EXP IMP "[colour]\nx = 1\n", "unknown section [colour]" },
	{ "[template]\nname = Bad\nmanual = m\nrole = meter\n" EXP IMP, "t.ini:2: name" },
	{ "[template]\nname = sunspec\nmanual = m\nrole = meter\n" EXP IMP, "t.ini:2: name" },
	{ "[template]\nname = t\nmanual = m\nrole = meter\nrole = meter\n" EXP IMP, "given twice" },
	{ "[template]\nname = other\nmanual = m\nrole = meter\n" EXP IMP, "the file is for t" },
	{ "[template]\nname = t\nmanual = m\nrole = inverter\n", "needs [pv_power]" },
	{ "[template]\nname = t\nmanual = m\nrole = inverter\n[pv_power]\nfc = 3\naddress = "
	  "1\ntype = s16\nunit = W\n" EXP,
	  "grid values need role meter" },
	{ HEAD EXP IMP "[grid_power]\nfc = 3\naddress = 1\ntype = u16\nunit = W\nsign = up\n",
	  "t.ini:20: sign" },
	{ HEAD EXP IMP "[serial]\nfc = 3\naddress = 1\ntype = float32\n", "[serial] is a string" },
	{ HEAD EXP IMP "[grid_power]\nfc = 3\naddress = 0x\ntype = u16\nunit = W\n",
	  "t.ini:17: address" },
	{ HEAD EXP IMP "[grid_power]\nfc = 3\naddress = -1\ntype = u16\nunit = W\n",
	  "t.ini:17: address" },
};

static void
test_loader_refusals(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tmpl t;
		char err[512] = "";
		memset(&t, 0xA5, sizeof(t));
		struct tmpl before = t;
		pw_err rc = tmpl_parse("t.ini", bad[i].text, strlen(bad[i].text), "t", &t, err,
		                       sizeof(err));
		if (rc == PW_OK)
			fail_msg("case %zu accepted", i);
		if (strstr(err, bad[i].msg) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, bad[i].msg);
		assert_memory_equal(&t, &before, sizeof(t)); /* unchanged */
	}
}

static void
test_loader_accepts_minimal(void **state)
{
	static const char text[] = HEAD EXP IMP "word_order = little\n";
	struct tmpl t;
	char err[256] = "";
	(void)state;
	assert_int_equal(tmpl_parse("t.ini", text, strlen(text), "t", &t, err, sizeof(err)), PW_OK);
	assert_int_equal(t.roles, TMPL_ROLE_METER);
	assert_int_equal(t.unit_id, 1);
	assert_false(t.v[TMPL_V_EXPORT_ENERGY].little);
	assert_true(t.v[TMPL_V_IMPORT_ENERGY].little);
	assert_int_equal(t.v[TMPL_V_EXPORT_ENERGY].unit_id, -1);
	assert_false(tmpl_name_ok(""));
	assert_false(tmpl_name_ok("-x"));
	assert_false(tmpl_name_ok("a/b"));
	assert_false(tmpl_name_ok("abcdefghijabcdefghijabcdefghijabc"));
	assert_true(tmpl_name_ok("huawei-sun2000"));
}

static void
test_load_not_found(void **state)
{
	struct tmpl t;
	char err[256] = "";
	(void)state;
	assert_int_equal(tmpl_load("templates:/nonexistent", "nosuch", &t, err, sizeof(err)),
	                 PW_ERR_NOTFOUND);
	assert_non_null(strstr(err, "nosuch.ini"));
	assert_int_equal(tmpl_load("templates", "../etc", &t, err, sizeof(err)), PW_ERR_ARG);
}

/* --- decoding ------------------------------------------------------------------------ */

static const struct {
	enum tmpl_type type;
	bool little;
	uint16_t regs[4];
	bool sentinels;
	pw_err rc;
	int64_t raw;
} dec[] = {
	{ TMPL_U16, B, { 0xFFFE }, true, PW_OK, 65534 },
	{ TMPL_U16, B, { 0xFFFF }, true, PW_ERR_NOT_IMPL, 0 },
	{ TMPL_U16, B, { 0xFFFF }, false, PW_OK, 65535 },
	{ TMPL_S16, B, { 0xFFFE }, true, PW_OK, -2 },
	{ TMPL_S16, B, { 0x8000 }, true, PW_ERR_NOT_IMPL, 0 },
	{ TMPL_S16, B, { 0x8000 }, false, PW_OK, -32768 },
	{ TMPL_U32, B, { 0x0001, 0x0002 }, true, PW_OK, 0x00010002 },
	{ TMPL_U32, L, { 0x0001, 0x0002 }, true, PW_OK, 0x00020001 },
	{ TMPL_U32, B, { 0xFFFF, 0xFFFF }, true, PW_ERR_NOT_IMPL, 0 },
	{ TMPL_S32, B, { 0xFFFF, 0xFFFE }, true, PW_OK, -2 },
	{ TMPL_S32, L, { 0xFFFE, 0xFFFF }, true, PW_OK, -2 },
	{ TMPL_S32, B, { 0x8000, 0x0000 }, true, PW_ERR_NOT_IMPL, 0 },
	{ TMPL_S32, L, { 0x0000, 0x8000 }, true, PW_ERR_NOT_IMPL, 0 },
	{ TMPL_U64, B, { 0, 0, 1, 2 }, true, PW_OK, 0x00010002 },
	{ TMPL_U64, L, { 2, 1, 0, 0 }, true, PW_OK, 0x00010002 },
	{ TMPL_U64, B, { 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF }, true, PW_ERR_NOT_IMPL, 0 },
	{ TMPL_U64, B, { 0x8000, 0, 0, 0 }, false, PW_ERR_RANGE, 0 },
	{ TMPL_F32, B, { 0x7FC0, 0x0000 }, false, PW_ERR_FIELD, 0 }, /* NaN */
	{ TMPL_F32, B, { 0x7F80, 0x0000 }, false, PW_ERR_FIELD, 0 }, /* inf */
	{ TMPL_F32, L, { 0x0000, 0x7FC0 }, false, PW_ERR_FIELD, 0 },
};

static void
test_decode_types(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(dec) / sizeof(dec[0]); i++) {
		struct tmpl_value v;
		double num = 0;
		int64_t raw = 0;
		memset(&v, 0, sizeof(v));
		v.type = dec[i].type;
		v.little = dec[i].little;
		pw_err rc = tmpl_decode(&v, dec[i].sentinels, dec[i].regs, 0, &num, &raw);
		if (rc != dec[i].rc)
			fail_msg("case %zu: %d, want %d", i, rc, dec[i].rc);
		if (rc == PW_OK && dec[i].type != TMPL_F32)
			assert_int_equal(raw, dec[i].raw);
	}
	/* float32 in both word orders: 1234.5 = 0x449A5000 */
	struct tmpl_value v = { .type = TMPL_F32 };
	uint16_t be[2] = { 0x449A, 0x5000 }, le[2] = { 0x5000, 0x449A };
	double num;
	int64_t raw;
	assert_int_equal(tmpl_decode(&v, false, be, 0, &num, &raw), PW_OK);
	assert_true(num == 1234.5);
	v.little = true;
	assert_int_equal(tmpl_decode(&v, false, le, -3, &num, &raw), PW_OK);
	assert_true(num > 1.23449 && num < 1.23451);
}

static void
test_encode_roundtrip(void **state)
{
	static const double vals[] = { 0, 1, -1, 123.4, -3000, 65535, 4000.1, 2500100 };
	(void)state;
	for (int ty = TMPL_U16; ty <= TMPL_F32; ty++)
		for (int lit = 0; lit < 2; lit++)
			for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
				struct tmpl_value v = { .type = (enum tmpl_type)ty,
					                .little = lit != 0 };
				uint16_t regs[4];
				double num;
				int64_t raw;
				int sc = ty == TMPL_F32 ? 0 : -1;
				if (tmpl_encode(&v, vals[i], NULL, sc, regs) != PW_OK)
					continue; /* does not fit the type: refused, fine */
				assert_int_equal(tmpl_decode(&v, false, regs, sc, &num, &raw),
				                 PW_OK);
				double tol = ty == TMPL_F32 ? 0.001 * (1 + fabs(vals[i])) : 0.051;
				if (num - vals[i] > tol || vals[i] - num > tol)
					fail_msg("type %d little %d: %f came back %f", ty, lit,
					         vals[i], num);
			}
	struct tmpl_value u = { .type = TMPL_U16 };
	uint16_t r[4];
	assert_int_equal(tmpl_encode(&u, -1, NULL, 0, r), PW_ERR_RANGE);
	assert_int_equal(tmpl_encode(&u, 70000, NULL, 0, r), PW_ERR_RANGE);
	struct tmpl_value s = { .type = TMPL_STRING, .length = 2 };
	assert_int_equal(tmpl_encode(&s, 0, "B23", 0, r), PW_OK);
	assert_int_equal(r[0], 0x4232);
	assert_int_equal(r[1], 0x3300);
	assert_int_equal(tmpl_encode(&s, 0, "B23 long", 0, r), PW_ERR_RANGE);
}

/* --- poll through a register image ----------------------------------------------------- */

struct image {
	uint16_t hold[256], input[256];
	int reads;
	pw_err fail; /* returned for every read when set */
	int last_unit;
};

static pw_err
img_read(void *arg, int fc, int unit, uint16_t addr, uint16_t count, uint16_t *regs)
{
	struct image *im = arg;
	im->reads++;
	im->last_unit = unit;
	if (im->fail != PW_OK)
		return im->fail;
	if ((uint32_t)addr + count > 256)
		return PW_ERR_MODBUS_EXC;
	memcpy(regs, (fc == 3 ? im->hold : im->input) + addr, count * sizeof(uint16_t));
	return PW_OK;
}

static const char poll_text[] =
    "[template]\nname = p\nmanual = m\nrole = inverter+meter\nsentinels = yes\n"
    "[identify]\nfc = 4\naddress = 0\ntype = u16\nequals = 7, 9\n"
    "[pv_power]\nfc = 4\naddress = 1, 2\ntype = u16\nunit = kW\nscale = -3\n"
    "[ac_energy]\nfc = 4\naddress = 10\ntype = u32\nunit = kWh\nscale_address = 12\n"
    "[grid_power_import]\nfc = 3\naddress = 20\ntype = s16\nunit = W\n"
    "[grid_power_export]\nfc = 3\naddress = 21\ntype = s16\nunit = W\n"
    "[export_energy]\nfc = 3\naddress = 30\ntype = u32\nword_order = little\nunit = Wh\n"
    "[import_energy]\nfc = 3\naddress = 32\ntype = float32\nunit = kWh\n"
    "[serial]\nfc = 3\naddress = 40\ntype = string\nlength = 4\n"
    "[battery_capacity]\nfc = 3\naddress = 60\ntype = u16\nunit = kWh\nscale = -1\n"
    "[battery_max_charge]\nfc = 3\naddress = 61\ntype = u16\nunit = kW\nscale = -2\n"
    "[battery_max_discharge]\nfc = 3\naddress = 62\ntype = u16\nunit = W\n"
    "[battery_soh]\nfc = 3\naddress = 63\ntype = u16\nunit = %\n"
    "[battery_power]\nfc = 3\naddress = 50\ntype = s16\nunit = W\nsign = charge_positive\n"
    "unit_id = 9\n";

static void
test_poll_image(void **state)
{
	struct tmpl t;
	struct image im;
	struct tmpl_io io = { img_read, &im };
	struct tmpl_reading r;
	char err[256] = "";
	(void)state;

	assert_int_equal(
	    tmpl_parse("p.ini", poll_text, strlen(poll_text), "p", &t, err, sizeof(err)), PW_OK);
	memset(&im, 0, sizeof(im));
	im.input[0] = 9;
	im.input[1] = 1500; /* 1.5 kW + 0.25 kW */
	im.input[2] = 250;
	im.input[10] = 0x0001; /* 65536 + 4 counts at 10^-1 kWh */
	im.input[11] = 0x0004;
	im.input[12] = (uint16_t)-1;
	im.hold[20] = 100;
	im.hold[21] = 400;
	im.hold[30] = 0x5678; /* little: 0x12345678 Wh */
	im.hold[31] = 0x1234;
	im.hold[32] = 0x447A; /* 1000.25 kWh = 0x447A1000 */
	im.hold[33] = 0x1000;
	im.hold[40] = ('A' << 8) | 'B';
	im.hold[41] = ('C' << 8) | ' ';
	im.hold[50] = (uint16_t)-700; /* discharging 700 W */
	im.hold[60] = 135;            /* 13.5 kWh */
	im.hold[61] = 420;            /* 4.2 kW */
	im.hold[62] = 4600;
	im.hold[63] = 96;
	assert_int_equal(tmpl_identify(&t, &io), PW_OK);
	assert_int_equal(tmpl_poll(&t, &io, 0xFFFFFFFFu, &r), PW_OK);
	assert_true(r.has[TMPL_V_PV_POWER]);
	assert_true(r.num[TMPL_V_PV_POWER] > 1749.99 && r.num[TMPL_V_PV_POWER] < 1750.01);
	assert_true(r.has[TMPL_V_AC_ENERGY]);
	assert_int_equal(r.raw[TMPL_V_AC_ENERGY], 65540);
	assert_int_equal(r.sf[TMPL_V_AC_ENERGY], 2); /* 10^-1 kWh = 10^2 Wh */
	assert_int_equal(r.wh[TMPL_V_AC_ENERGY], 6554000);
	assert_int_equal(r.bits[TMPL_V_AC_ENERGY], 32);
	assert_true(r.has[TMPL_V_GRID_POWER]);
	assert_true(r.num[TMPL_V_GRID_POWER] == -300.0); /* import 100 - export 400 */
	assert_int_equal(r.wh[TMPL_V_EXPORT_ENERGY], 0x12345678);
	assert_int_equal(r.wh[TMPL_V_IMPORT_ENERGY], 1000250);
	assert_int_equal(r.bits[TMPL_V_IMPORT_ENERGY], 0);
	assert_string_equal(r.serial, "ABC");
	assert_true(r.has[TMPL_V_BATTERY_POWER]);
	assert_true(r.num[TMPL_V_BATTERY_POWER] == 700.0); /* normalised: discharge positive */
	assert_true(r.has[TMPL_V_BATTERY_CAPACITY] &&
	            fabs(r.num[TMPL_V_BATTERY_CAPACITY] - 13500.0) < 1e-6);
	assert_true(r.has[TMPL_V_BATTERY_MAX_CHARGE] &&
	            fabs(r.num[TMPL_V_BATTERY_MAX_CHARGE] - 4200.0) < 1e-9);
	assert_true(r.has[TMPL_V_BATTERY_MAX_DISCHARGE] &&
	            r.num[TMPL_V_BATTERY_MAX_DISCHARGE] == 4600.0);
	assert_true(r.has[TMPL_V_BATTERY_SOH] && r.num[TMPL_V_BATTERY_SOH] == 96.0);
	/* battery_power comes from its own unit id (values are read in their enum order,
	 * so it is polled alone to see that) */
	assert_int_equal(tmpl_poll(&t, &io, 1u << TMPL_V_BATTERY_POWER, &r), PW_OK);
	assert_int_equal(im.last_unit, 9);

	/* sentinels and impossible values are left out, never 0 */
	im.input[1] = 0xFFFF;
	im.input[12] = 11;    /* scale exponent out of range */
	im.hold[32] = 0xC47A; /* a negative float energy */
	assert_int_equal(tmpl_poll(&t, &io, 0xFFFFFFFFu, &r), PW_OK);
	assert_false(r.has[TMPL_V_PV_POWER]);
	assert_false(r.has[TMPL_V_AC_ENERGY]);
	assert_false(r.has[TMPL_V_IMPORT_ENERGY]);
	assert_true(r.has[TMPL_V_EXPORT_ENERGY]);

	/* only the values asked for are read */
	im.reads = 0;
	assert_int_equal(tmpl_poll(&t, &io, 1u << TMPL_V_EXPORT_ENERGY, &r), PW_OK);
	assert_int_equal(im.reads, 1);
	assert_false(r.has[TMPL_V_PV_POWER]);

	/* identification: another value, an exception, a transport error */
	im.input[0] = 8;
	assert_int_equal(tmpl_identify(&t, &io), PW_ERR_NOTFOUND);
	im.fail = PW_ERR_MODBUS_EXC;
	assert_int_equal(tmpl_identify(&t, &io), PW_ERR_NOTFOUND);
	assert_int_equal(tmpl_poll(&t, &io, 0xFFFFFFFFu, &r), PW_OK);
	assert_false(r.has[TMPL_V_EXPORT_ENERGY]);
	im.fail = PW_ERR_TIMEOUT;
	assert_int_equal(tmpl_identify(&t, &io), PW_ERR_TIMEOUT);
	assert_int_equal(tmpl_poll(&t, &io, 0xFFFFFFFFu, &r), PW_ERR_TIMEOUT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_match_manuals),
		cmocka_unit_test(test_loader_refusals),
		cmocka_unit_test(test_loader_accepts_minimal),
		cmocka_unit_test(test_load_not_found),
		cmocka_unit_test(test_decode_types),
		cmocka_unit_test(test_encode_roundtrip),
		cmocka_unit_test(test_poll_image),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
