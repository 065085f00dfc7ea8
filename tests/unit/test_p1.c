/*
 * test_p1.c: DSMR P1 telegrams.  Real telegrams with the CRCs their meters
 * sent (transcribed from the public test data of the dsmr_parser project,
 * ndokter/dsmr_parser test/example_telegrams.py: a DSMR 5.0 Iskra AM550, a
 * DSMR 4.2 Kaifa and a Sagemcom T210-D; a Fluvius eMUCS 1.7.1 and a
 * Luxembourg Smarty from the meterlogger project's tests), CRC errors, every
 * refusal, the
 * assembler on a stream with garbage, truncation and overflow.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "agent/p1.h"

/* DSMR 5.0 (ISk5\2MT382-1000), CRC 6EEE as sent */
static const char tg_v5[] = "/ISk5\\2MT382-1000\r\n"
                            "\r\n"
                            "1-3:0.2.8(50)\r\n"
                            "0-0:1.0.0(170102192002W)\r\n"
                            "0-0:96.1.1(4B384547303034303436333935353037)\r\n"
                            "1-0:1.8.1(000004.426*kWh)\r\n"
                            "1-0:1.8.2(000002.399*kWh)\r\n"
                            "1-0:2.8.1(000002.444*kWh)\r\n"
                            "1-0:2.8.2(000000.000*kWh)\r\n"
                            "0-0:96.14.0(0002)\r\n"
                            "1-0:1.7.0(00.244*kW)\r\n"
                            "1-0:2.7.0(00.000*kW)\r\n"
                            "0-0:96.7.21(00013)\r\n"
                            "0-0:96.7.9(00000)\r\n"
                            "1-0:99.97.0(0)(0-0:96.7.19)\r\n"
                            "1-0:32.32.0(00000)\r\n"
                            "1-0:52.32.0(00000)\r\n"
                            "1-0:72.32.0(00000)\r\n"
                            "1-0:32.36.0(00000)\r\n"
                            "1-0:52.36.0(00000)\r\n"
                            "1-0:72.36.0(00000)\r\n"
                            "0-0:96.13.0()\r\n"
                            "1-0:32.7.0(0230.0*V)\r\n"
                            "1-0:52.7.0(0230.0*V)\r\n"
                            "1-0:72.7.0(0229.0*V)\r\n"
                            "1-0:31.7.0(0.48*A)\r\n"
                            "1-0:51.7.0(0.44*A)\r\n"
                            "1-0:71.7.0(0.86*A)\r\n"
                            "1-0:21.7.0(00.070*kW)\r\n"
                            "1-0:41.7.0(00.032*kW)\r\n"
                            "1-0:61.7.0(00.142*kW)\r\n"
                            "1-0:22.7.0(00.000*kW)\r\n"
                            "1-0:42.7.0(00.000*kW)\r\n"
                            "1-0:62.7.0(00.000*kW)\r\n"
                            "0-1:24.1.0(003)\r\n"
                            "0-1:96.1.0(3232323241424344313233343536373839)\r\n"
                            "0-1:24.2.1(170102161005W)(00000.107*m3)\r\n"
                            "0-2:24.1.0(003)\r\n"
                            "0-2:96.1.0()\r\n"
                            "!6EEE\r\n";

/* DSMR 4.2 (KFM5KAIFA-METER), CRC 6796 as sent */
static const char tg_v42[] =
    "/KFM5KAIFA-METER\r\n"
    "\r\n"
    "1-3:0.2.8(42)\r\n"
    "0-0:1.0.0(161113205757W)\r\n"
    "0-0:96.1.1(3960221976967177082151037881335713)\r\n"
    "1-0:1.8.1(001581.123*kWh)\r\n"
    "1-0:1.8.2(001435.706*kWh)\r\n"
    "1-0:2.8.1(000000.000*kWh)\r\n"
    "1-0:2.8.2(000000.000*kWh)\r\n"
    "0-0:96.14.0(0002)\r\n"
    "1-0:1.7.0(02.027*kW)\r\n"
    "1-0:2.7.0(00.000*kW)\r\n"
    "0-0:96.7.21(00015)\r\n"
    "0-0:96.7.9(00007)\r\n"
    "1-0:99.97.0(3)(0-0:96.7.19)(000104180320W)(0000237126*s)(000101000001W)"
    "(2147583646*s)(000102000003W)(2317482647*s)\r\n"
    "1-0:32.32.0(00000)\r\n"
    "1-0:52.32.0(00000)\r\n"
    "1-0:72.32.0(00000)\r\n"
    "1-0:32.36.0(00000)\r\n"
    "1-0:52.36.0(00000)\r\n"
    "1-0:72.36.0(00000)\r\n"
    "0-0:96.13.1()\r\n"
    "0-0:96.13.0()\r\n"
    "1-0:31.7.0(000*A)\r\n"
    "1-0:51.7.0(006*A)\r\n"
    "1-0:71.7.0(002*A)\r\n"
    "1-0:21.7.0(00.170*kW)\r\n"
    "1-0:22.7.0(00.000*kW)\r\n"
    "1-0:41.7.0(01.247*kW)\r\n"
    "1-0:42.7.0(00.000*kW)\r\n"
    "1-0:61.7.0(00.209*kW)\r\n"
    "1-0:62.7.0(00.000*kW)\r\n"
    "0-1:24.1.0(003)\r\n"
    "0-1:96.1.0(4819243993373755377509728609491464)\r\n"
    "0-1:24.2.1(161129200000W)(00981.443*m3)\r\n"
    "!6796\r\n";

/* Sagemcom T210-D (Luxembourg): Wh and W units, totals and tariffs both sent, CRC 7EF9 */
static const char tg_t210[] = "/EST5\\253710000_A\r\n"
                              "\r\n"
                              "1-3:0.2.8(50)\r\n"
                              "0-0:1.0.0(221006155014S)\r\n"
                              "1-0:1.8.0(006545766*Wh)\r\n"
                              "1-0:1.8.1(005017120*Wh)\r\n"
                              "1-0:1.8.2(001528646*Wh)\r\n"
                              "1-0:1.7.0(000000286*W)\r\n"
                              "1-0:2.8.0(000000058*Wh)\r\n"
                              "1-0:2.8.1(000000000*Wh)\r\n"
                              "1-0:2.8.2(000000058*Wh)\r\n"
                              "1-0:2.7.0(000000000*W)\r\n"
                              "1-0:3.8.0(000000747*varh)\r\n"
                              "1-0:3.8.1(000000000*varh)\r\n"
                              "1-0:3.8.2(000000747*varh)\r\n"
                              "1-0:3.7.0(000000000*var)\r\n"
                              "1-0:4.8.0(003897726*varh)\r\n"
                              "1-0:4.8.1(002692848*varh)\r\n"
                              "1-0:4.8.2(001204878*varh)\r\n"
                              "1-0:4.7.0(000000166*var)\r\n"
                              "!7EF9\r\n";

/* Fluvius eMUCS-P1 1.7.1 (Belgium), CRC 3AD7; from the e-MUCS P1 specification's example */
static const char tg_fluvius[] =
    "/FLU5\\253769484_A\r\n\r\n0-0:96.1.4(50217)\r\n"
    "0-0:96.1.1(3153414733313031303231363035)\r\n0-0:1.0.0(200512135409S)\r\n"
    "1-0:1.8.1(000000.034*kWh)\r\n1-0:1.8.2(000015.758*kWh)\r\n"
    "1-0:2.8.1(000000.000*kWh)\r\n1-0:2.8.2(000000.011*kWh)\r\n1-0:1.4.0(02.351*kW)\r\n"
    "1-0:1.6.0(200509134558S)(02.589*kW)\r\n"
    "0-0:98.1.0(3)(1-0:1.6.0)(1-0:1.6.0)(200501000000S)(200423192538S)(03.695*kW)"
    "(200401000000S)(200305122139S)(05.980*kW)(200301000000S)(200210035421W)(04.318*kW)\r\n"
    "0-0:96.14.0(0001)\r\n1-0:1.7.0(00.000*kW)\r\n1-0:2.7.0(00.000*kW)\r\n"
    "1-0:21.7.0(00.000*kW)\r\n1-0:41.7.0(00.000*kW)\r\n1-0:61.7.0(00.000*kW)\r\n"
    "1-0:22.7.0(00.000*kW)\r\n1-0:42.7.0(00.000*kW)\r\n1-0:62.7.0(00.000*kW)\r\n"
    "1-0:32.7.0(234.7*V)\r\n1-0:52.7.0(234.7*V)\r\n1-0:72.7.0(234.7*V)\r\n"
    "1-0:31.7.0(000.00*A)\r\n1-0:51.7.0(000.00*A)\r\n1-0:71.7.0(000.00*A)\r\n"
    "0-0:96.3.10(1)\r\n0-0:17.0.0(999.9*kW)\r\n1-0:31.4.0(999*A)\r\n0-0:96.13.0()\r\n"
    "0-1:24.1.0(003)\r\n0-1:96.1.1(37464C4F32313139303333373333)\r\n0-1:24.4.0(1)\r\n"
    "0-1:24.2.3(200512134558S)(00112.384*m3)\r\n0-2:24.1.0(007)\r\n"
    "0-2:96.1.1(3853414731323334353637383930)\r\n0-2:24.2.1(200512134558S)(00872.234*m3)\r\n"
    "!3AD7\r\n";

/* Luxembourg Smarty: totals only, the id on 0-0:42.0.0, CRC 80F6 */
static const char tg_lux[] =
    "/Lux5\\253663629_D\r\n\r\n1-3:0.2.8(42)\r\n0-0:1.0.0(260403175431S)\r\n"
    "0-0:42.0.0(53414731303330373030303132373031)\r\n1-0:1.8.0(000273.764*kWh)\r\n"
    "1-0:2.8.0(112743.030*kWh)\r\n1-0:3.8.0(000462.590*kvarh)\r\n"
    "1-0:4.8.0(007109.230*kvarh)\r\n1-0:1.7.0(00.000*kW)\r\n1-0:2.7.0(00.897*kW)\r\n"
    "1-0:3.7.0(00.000*kvar)\r\n1-0:4.7.0(00.154*kvar)\r\n0-0:17.0.0(027.6*kVA)\r\n"
    "1-0:9.7.0(00.000*kVA)\r\n1-0:10.7.0(00.913*kVA)\r\n1-1:31.4.0(040*A)(-040*A)\r\n"
    "0-0:96.3.10(1)\r\n0-1:96.3.10(0)\r\n0-2:96.3.10(0)\r\n0-0:96.7.21(01067)\r\n"
    "1-0:32.32.0(00014)\r\n1-0:52.32.0(00015)\r\n1-0:72.32.0(00012)\r\n"
    "1-0:32.36.0(00000)\r\n1-0:52.36.0(00000)\r\n1-0:72.36.0(00000)\r\n0-0:96.13.0()\r\n"
    "0-0:96.13.2()\r\n0-0:96.13.3()\r\n0-0:96.13.4()\r\n0-0:96.13.5()\r\n"
    "1-0:32.7.0(231.0*V)\r\n1-0:52.7.0(229.0*V)\r\n1-0:72.7.0(230.0*V)\r\n"
    "1-0:31.7.0(001*A)\r\n1-0:51.7.0(001*A)\r\n1-0:71.7.0(001*A)\r\n"
    "1-0:21.7.0(00.000*kW)\r\n1-0:41.7.0(00.000*kW)\r\n1-0:61.7.0(00.000*kW)\r\n"
    "1-0:22.7.0(00.319*kW)\r\n1-0:42.7.0(00.300*kW)\r\n1-0:62.7.0(00.277*kW)\r\n"
    "1-0:23.7.0(00.000*kvar)\r\n1-0:43.7.0(00.000*kvar)\r\n1-0:63.7.0(00.000*kvar)\r\n"
    "1-0:24.7.0(00.046*kvar)\r\n1-0:44.7.0(00.065*kvar)\r\n1-0:64.7.0(00.041*kvar)\r\n"
    "0-1:24.1.0(003)\r\n0-1:96.1.0(464C4F313832333730313230333530)\r\n"
    "0-1:24.2.1(260403174542S)(14239.771*m3)\r\n0-1:24.4.0(1)\r\n!80F6\r\n";

/* DSMR 2.2: no CRC at all */
static const char tg_v22[] = "/ISk5\\2MT382-1004\r\n"
                             "\r\n"
                             "0-0:96.1.1(00000000000000)\r\n"
                             "1-0:1.8.1(00001.001*kWh)\r\n"
                             "1-0:2.8.1(00001.001*kWh)\r\n"
                             "!\r\n";

static pw_err
parse(const char *t, size_t n, struct smeter_reading *r, char *why)
{
	return p1_parse(t, n, r, why, SMETER_WHY_MAX);
}

static void
test_real_telegrams(void **state)
{
	struct smeter_reading r;
	char why[SMETER_WHY_MAX];

	(void)state;
	assert_int_equal(parse(tg_v5, strlen(tg_v5), &r, why), PW_OK);
	assert_true(r.has_import && r.has_export && r.has_power);
	assert_int_equal(r.import_wh, 4426 + 2399);
	assert_int_equal(r.export_wh, 2444);
	assert_int_equal(r.power_w, 244);
	assert_string_equal(r.serial, "K8EG004046395507");

	assert_int_equal(parse(tg_v42, strlen(tg_v42), &r, why), PW_OK);
	assert_int_equal(r.import_wh, 1581123 + 1435706);
	assert_int_equal(r.export_wh, 0);
	assert_true(r.has_export); /* a zero register is a value, not an absence */
	assert_int_equal(r.power_w, 2027);
	/* its id decodes to a control byte: kept as sent */
	assert_string_equal(r.serial, "3960221976967177082151037881335713");

	/* 1.8.0 wins over the tariffs; Wh and W units */
	assert_int_equal(parse(tg_t210, strlen(tg_t210), &r, why), PW_OK);
	assert_int_equal(r.import_wh, 6545766);
	assert_int_equal(r.export_wh, 58);
	assert_int_equal(r.power_w, 286);
	assert_string_equal(r.serial, "");
	/* Belgium: tariffs, M-Bus ids on 0-1/0-2 (not the meter's) */
	assert_int_equal(parse(tg_fluvius, strlen(tg_fluvius), &r, why), PW_OK);
	assert_int_equal(r.import_wh, 34 + 15758);
	assert_int_equal(r.export_wh, 0 + 11);
	assert_true(r.has_power);
	assert_int_equal(r.power_w, 0);
	assert_string_equal(r.serial, "1SAG3101021605");
	/* Luxembourg: totals, exporting, the id on 0-0:42.0.0 */
	assert_int_equal(parse(tg_lux, strlen(tg_lux), &r, why), PW_OK);
	assert_int_equal(r.import_wh, 273764);
	assert_int_equal(r.export_wh, 112743030);
	assert_int_equal(r.power_w, -897);
	assert_string_equal(r.serial, "SAG1030700012701");
	/* without CR LF after the CRC too */
	assert_int_equal(parse(tg_v5, strlen(tg_v5) - 2, &r, why), PW_OK);
}

static void
test_crc(void **state)
{
	const char *all[] = { tg_v5, tg_v42, tg_t210, tg_fluvius, tg_lux };
	struct smeter_reading r;
	char why[SMETER_WHY_MAX];
	char t[4096];

	(void)state;
	assert_int_equal(p1_crc16("123456789", 9), 0xBB3D); /* CRC-16/ARC check value */
	for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++) {
		size_t n = strlen(all[k]);
		memcpy(t, all[k], n + 1);
		/* flip one bit in every position of the body: always refused */
		for (size_t i = 0; i + 7 < n; i += 13) {
			t[i] ^= 0x01;
			assert_int_not_equal(parse(t, n, &r, why), PW_OK);
			t[i] ^= 0x01;
		}
		/* a digit of a value changed: a well-formed telegram with a wrong CRC */
		char *d = strstr(t, "1-0:1.8.");
		assert_non_null(d);
		d += 12; /* a digit of the first import register */
		*d = *d == '9' ? '8' : (char)(*d + 1);
		assert_int_equal(parse(t, n, &r, why), PW_ERR_CRC);
		assert_non_null(strstr(why, "CRC mismatch"));
	}
	assert_int_equal(parse(tg_v22, strlen(tg_v22), &r, why), PW_ERR_CRC);
	assert_non_null(strstr(why, "without CRC"));
}

/* body ('/' .. '!') + its CRC */
static size_t
with_crc(const char *body, char *out, size_t outsz)
{
	size_t n = strlen(body);
	int w = snprintf(out, outsz, "%s%04X\r\n", body, p1_crc16(body, n));
	assert_true(w > 0 && (size_t)w < outsz);
	return (size_t)w;
}

static void
test_refusals(void **state)
{
	static const struct {
		const char *body;
		pw_err rc;
		const char *why;
	} cases[] = {
		{ "/X\r\n\r\n1-0:1.8.1(1.000*kWh)\r\n1-0:1.8.1(1.000*kWh)\r\n!", PW_ERR_FIELD,
		  "twice" },
		{ "/X\r\n\r\n1-0:1.8.0(1.000*kWh)\r\n1-0:1.8.0(2.000*kWh)\r\n!", PW_ERR_FIELD,
		  "twice" },
		{ "/X\r\n\r\n1-0:1.8.0(1.000*kW)\r\n!", PW_ERR_FIELD, "unit" },
		{ "/X\r\n\r\n1-0:1.8.0(1.000*MWh)\r\n!", PW_ERR_FIELD, "unit" },
		{ "/X\r\n\r\n1-0:1.8.0(1.000)\r\n!", PW_ERR_PARSE, "no unit" },
		{ "/X\r\n\r\n1-0:1.8.0(-1.000*kWh)\r\n!", PW_ERR_FIELD, "negative" },
		{ "/X\r\n\r\n1-0:1.7.0(-1.000*kW)\r\n1-0:1.8.0(1*kWh)\r\n!", PW_ERR_FIELD,
		  "negative" },
		{ "/X\r\n\r\n1-0:1.8.0(1.0.0*kWh)\r\n!", PW_ERR_PARSE, "number" },
		{ "/X\r\n\r\n1-0:1.8.0(1.*kWh)\r\n!", PW_ERR_PARSE, "number" },
		{ "/X\r\n\r\n1-0:1.8.0(*kWh)\r\n!", PW_ERR_PARSE, "number" },
		{ "/X\r\n\r\n1-0:1.8.0(1234567890123456789*Wh)\r\n!", PW_ERR_PARSE, "number" },
		{ "/X\r\n\r\n1-0:1.8.0(1.000*kWh\r\n!", PW_ERR_PARSE, "unterminated" },
		{ "/X\r\n\r\n1-0:1.8(1.000*kWh)\r\n!", PW_ERR_PARSE, "malformed line" },
		{ "/X\r\n\r\n1-0:1.8.256(1.000*kWh)\r\n!", PW_ERR_PARSE, "malformed line" },
		{ "/X\r\n\r\n1-0:1.8.0*2(1.000*kWh)\r\n!", PW_ERR_PARSE, "malformed line" },
		{ "/X\r\n\r\n1-0:32.7.0(230.0*V)\r\n!", PW_ERR_NOTFOUND, "no energy" },
		{ "/X\r\n\r\n1-0:1.8.0(1*kWh)!", PW_ERR_PARSE, "'!'" },
		{ "/X\r\n\r\n1-0:1.8.0(1*kWh)\r\n\x01\r\n!", PW_ERR_PARSE, "control" },
		{ "/X\r\n\r\n1-0:1.8.0(1*kWh)\r\n\xc3\xa9\r\n!", PW_ERR_PARSE, "non-ASCII" },
		{ "/X", PW_ERR_PARSE, "CRC" },
	};
	struct smeter_reading r;
	char why[SMETER_WHY_MAX], t[8192];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = with_crc(cases[i].body, t, sizeof(t));
		pw_err rc = parse(t, n, &r, why);
		if (rc != cases[i].rc || strstr(why, cases[i].why) == NULL)
			fail_msg("case %zu: rc %d (%s), want %d \"%s\"", i, rc, why, cases[i].rc,
			         cases[i].why);
	}
	/* a line longer than P1_LINE_MAX (a CRC-correct one) */
	{
		char body[P1_LINE_MAX + 200];
		int k = snprintf(body, sizeof(body), "/X\r\n\r\n0-0:96.13.0(");
		memset(body + k, 'A', P1_LINE_MAX);
		snprintf(body + k + P1_LINE_MAX, sizeof(body) - (size_t)k - P1_LINE_MAX,
		         ")\r\n1-0:1.8.0(1*kWh)\r\n!");
		size_t n = with_crc(body, t, sizeof(t));
		assert_int_equal(parse(t, n, &r, why), PW_ERR_LENGTH);
	}
	/* too long as a whole */
	{
		static char big[P1_TELEGRAM_MAX + 100];
		memset(big, 'A', sizeof(big));
		big[0] = '/';
		assert_int_equal(parse(big, sizeof(big), &r, why), PW_ERR_LENGTH);
	}
}

static void
test_values(void **state)
{
	struct smeter_reading r;
	char why[SMETER_WHY_MAX], t[1024];
	size_t n;

	(void)state;
	/* 16.7.0 wins over 1.7.0/2.7.0 and may be negative (exporting) */
	n = with_crc("/X\r\n\r\n1-0:1.7.0(00.100*kW)\r\n1-0:2.7.0(00.000*kW)\r\n"
	             "1-0:16.7.0(-01.500*kW)\r\n1-0:2.8.0(000010.5*kWh)\r\n!",
	             t, sizeof(t));
	assert_int_equal(parse(t, n, &r, why), PW_OK);
	assert_int_equal(r.power_w, -1500);
	assert_false(r.has_import);
	assert_true(r.has_export);
	assert_int_equal(r.export_wh, 10500);
	assert_int_equal(r.exp.raw, 105);
	assert_int_equal(r.exp.sf, 2);
	/* 1.7.0 without 2.7.0: no power (the export half is unknown) */
	n = with_crc("/X\r\n\r\n1-0:1.7.0(00.100*kW)\r\n1-0:1.8.0(1*kWh)\r\n!", t, sizeof(t));
	assert_int_equal(parse(t, n, &r, why), PW_OK);
	assert_false(r.has_power);
	/* export power: 1.7.0 - 2.7.0 */
	n = with_crc(
	    "/X\r\n\r\n1-0:1.7.0(00.000*kW)\r\n1-0:2.7.0(03.210*kW)\r\n1-0:1.8.0(1*kWh)\r\n!", t,
	    sizeof(t));
	assert_int_equal(parse(t, n, &r, why), PW_OK);
	assert_int_equal(r.power_w, -3210);
	/* more decimals than a Wh: raw and sf keep them, whole Wh rounded down */
	n = with_crc("/X\r\n\r\n1-0:1.8.0*255(00052185.7825309*kWh)\r\n!", t, sizeof(t));
	assert_int_equal(parse(t, n, &r, why), PW_OK);
	assert_int_equal(r.import_wh, 52185782);
	assert_int_equal(r.imp.raw, 521857825309ULL);
	assert_int_equal(r.imp.sf, -4);
	/* tariffs of different resolutions summed exactly */
	n = with_crc("/X\r\n\r\n1-0:1.8.1(1.5*kWh)\r\n1-0:1.8.2(000000250*Wh)\r\n"
	             "1-0:1.8.3(0.001*kWh)\r\n!",
	             t, sizeof(t));
	assert_int_equal(parse(t, n, &r, why), PW_OK);
	assert_int_equal(r.import_wh, 1500 + 250 + 1);
	/* tariff sum overflow refused */
	n = with_crc("/X\r\n\r\n1-0:1.8.1(999999999999999999*Wh)\r\n"
	             "1-0:1.8.2(999999999999999999*Wh)\r\n1-0:1.8.3(999999999999999999*Wh)\r\n"
	             "1-0:1.8.4(999999999999999999*Wh)\r\n1-0:1.8.5(999999999999999999*Wh)\r\n"
	             "1-0:1.8.6(999999999999999999*Wh)\r\n1-0:1.8.7(999999999999999999*Wh)\r\n"
	             "1-0:1.8.8(999999999999999999*Wh)\r\n1-0:1.8.9(999999999999999999*Wh)\r\n"
	             "1-0:2.8.1(999999999999999999*kWh)\r\n!",
	             t, sizeof(t));
	assert_int_not_equal(parse(t, n, &r, why), PW_OK);
	/* an unprintable id is kept as sent, non-printables replaced */
	n = with_crc("/X\r\n\r\n0-0:96.1.1(AB CD)\r\n1-0:1.8.0(1*kWh)\r\n!", t, sizeof(t));
	assert_int_equal(parse(t, n, &r, why), PW_OK);
	assert_string_equal(r.serial, "AB?CD");
}

/* feed a whole buffer; count events; remember the last telegram */
struct feedres {
	int telegrams, overflow, truncated, garbled;
	char last[P1_TELEGRAM_MAX];
	size_t last_len;
};

static void
feed_all(struct p1_asm *a, const char *s, size_t n, struct feedres *fr)
{
	for (size_t i = 0; i < n; i++) {
		switch (p1_asm_feed(a, (uint8_t)s[i])) {
		case P1_TELEGRAM:
			fr->telegrams++;
			memcpy(fr->last, a->buf, a->len);
			fr->last_len = a->len;
			break;
		case P1_OVERFLOW:
			fr->overflow++;
			break;
		case P1_TRUNCATED:
			fr->truncated++;
			break;
		case P1_GARBLED:
			fr->garbled++;
			break;
		default:
			break;
		}
	}
}

static void
test_assembler(void **state)
{
	static struct p1_asm a;
	struct feedres fr;
	struct smeter_reading r;
	char why[SMETER_WHY_MAX];
	size_t n5 = strlen(tg_v5);

	(void)state;
	memset(&fr, 0, sizeof(fr));
	p1_asm_init(&a);
	/* noise before, the telegram, a half telegram, then a whole one */
	feed_all(&a, "\r\n!1234xx", 9, &fr);
	feed_all(&a, tg_v5, n5, &fr);
	assert_int_equal(fr.telegrams, 1);
	assert_int_equal(fr.last_len, n5 - 2); /* up to the last CRC digit */
	assert_memory_equal(fr.last, tg_v5, n5 - 2);
	assert_int_equal(parse(fr.last, fr.last_len, &r, why), PW_OK);
	feed_all(&a, tg_v42, 300, &fr);
	feed_all(&a, tg_t210, strlen(tg_t210), &fr);
	assert_int_equal(fr.truncated, 1);
	assert_int_equal(fr.telegrams, 2);
	assert_int_equal(parse(fr.last, fr.last_len, &r, why), PW_OK);
	assert_int_equal(r.import_wh, 6545766);
	/* a byte no telegram holds */
	feed_all(&a, tg_v5, 100, &fr);
	feed_all(&a, "\x00", 1, &fr);
	assert_int_equal(fr.garbled, 1);
	/* a non-hex CRC digit */
	feed_all(&a, "/X\r\n!12G4", 9, &fr);
	assert_int_equal(fr.garbled, 2);
	/* "!" + CR: complete without a CRC; p1_parse refuses it */
	feed_all(&a, tg_v22, strlen(tg_v22), &fr);
	assert_int_equal(fr.telegrams, 3);
	assert_int_equal(parse(fr.last, fr.last_len, &r, why), PW_ERR_CRC);
	/* a line longer than allowed, then a whole telegram still gets through */
	feed_all(&a, "/X\r\n\r\n0-0:96.13.0(", 18, &fr);
	for (int i = 0; i < P1_LINE_MAX + 10; i++)
		feed_all(&a, "A", 1, &fr);
	assert_int_equal(fr.overflow, 1);
	feed_all(&a, tg_v5, n5, &fr);
	assert_int_equal(fr.telegrams, 4);
	/* a telegram longer than the buffer (short lines) */
	feed_all(&a, "/X\r\n", 4, &fr);
	for (int i = 0; i < P1_TELEGRAM_MAX / 4 + 10; i++)
		feed_all(&a, "AB\r\n", 4, &fr);
	assert_int_equal(fr.overflow, 2);
	feed_all(&a, tg_v42, strlen(tg_v42), &fr);
	assert_int_equal(fr.telegrams, 5);
	assert_int_equal(parse(fr.last, fr.last_len, &r, why), PW_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_telegrams), cmocka_unit_test(test_crc),
		cmocka_unit_test(test_refusals),       cmocka_unit_test(test_values),
		cmocka_unit_test(test_assembler),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
