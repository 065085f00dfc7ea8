/* test_aconfig.c: the agent's configuration: defaults, the example file,
 * enumerations, bids and every cross-key check, with file:line errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/aconfig.h"

static const char base[] = "[household]\n"
                           "key_file = /tmp/k\n"
                           "db = /tmp/a.db\n"
                           "max_export_w = 3600\n"
                           "max_import_w = 7200\n"
                           "[device]\n"
                           "modbus = tcp://127.0.0.1:1502\n"
                           "rated_power_w = 8000\n"
                           "[exchange]\n"
                           "request = tcp://127.0.0.1:7001\n"
                           "pub = tcp://127.0.0.1:7002\n"
                           "public_key = "
                           "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
                           "market_id = 7\n";

static char path[64];

static void
write_cfg(const char *extra)
{
	FILE *f;
	snprintf(path, sizeof(path), "/tmp/test_aconfig.%ld.conf", (long)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(base, f);
	fputs(extra, f);
	fclose(f);
}

static void
test_defaults(void **state)
{
	struct aconfig c;
	struct policy_params p;
	char err[PW_CFG_ERRLEN];
	(void)state;
	write_cfg("");
	assert_int_equal(aconfig_load(path, &c, err, sizeof(err)), PW_OK);
	assert_string_equal(c.key_file, "/tmp/k");
	assert_string_equal(c.name, ""); /* the dashboard shows the serial */
	assert_int_equal(c.unit, 1);
	assert_int_equal(c.interval_s, 900);
	assert_int_equal(c.gate_s, 60);
	assert_int_equal(c.poll_ms, 1000);
	assert_int_equal(c.market_id, 7);
	assert_int_equal(c.public_key[0], 0x00);
	assert_int_equal(c.public_key[31], 0xff);
	assert_int_equal(c.strategy, POLICY_PRICE_MIN);
	assert_int_equal(c.meter_sign, ACONFIG_SIGN_AUTO);
	assert_int_equal(c.log_level, LOG_LEVEL_INFO);
	assert_int_equal(c.safety_pct, 80);
	assert_int_equal(c.horizon, 2);
	assert_true(c.auto_sell);
	assert_true(c.dash_enabled);
	assert_string_equal(c.dash_listen, "127.0.0.1:8080");
	assert_int_equal(c.n_bids, 0);
	/* [battery]: the plan, 90 % round trip, 0.03 per kWh of wear, the
	 * device's capacity and limits, 24 h ahead */
	assert_int_equal(c.battery_strategy, ACONFIG_BAT_PLAN);
	assert_int_equal(c.battery_efficiency_pct, 90);
	assert_int_equal(c.battery_wear_uper_kwh, 30000);
	assert_int_equal(c.battery_capacity_wh, 0);
	assert_int_equal(c.battery_max_charge_w, 0);
	assert_int_equal(c.battery_max_discharge_w, 0);
	assert_int_equal(c.battery_horizon_h, 24);
	aconfig_policy(&c, &p);
	assert_int_equal(p.capacity_wh, 900); /* 3600 W for 900 s */
	/* never above what the rated power delivers in an interval */
	c.rated_power_w = 2000;
	aconfig_policy(&c, &p);
	assert_int_equal(p.capacity_wh, 500);
	unlink(path);
}

static void
test_example_file_loads(void **state)
{
	struct aconfig c;
	char err[PW_CFG_ERRLEN];
	char text[8192], *at;
	size_t n;
	FILE *f;
	(void)state;
	/* as shipped: the placeholder exchange key is refused */
	assert_int_equal(aconfig_load("config/agent.conf.example", &c, err, sizeof(err)),
	                 PW_ERR_CONFIG);
	assert_non_null(strstr(err, "public_key is the all-zero placeholder"));
	/* with the exchange's key and the page of this tree, it loads */
	f = fopen("config/agent.conf.example", "r");
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	at = strstr(text, "public_key = 0000");
	assert_non_null(at);
	memset(at + 13, 'a', 64);
	at = strstr(text, "web_root = /usr/local/share/peerwatt/web");
	assert_non_null(at);
	memcpy(at, "web_root = agent/web                    ", 40);
	snprintf(path, sizeof(path), "/tmp/test_aconfig.%ld.conf", (long)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(aconfig_load(path, &c, err, sizeof(err)), PW_OK);
	unlink(path);
	assert_int_equal(c.strategy, POLICY_PRICE_FOLLOW);
	assert_int_equal(c.min_price_uper_kwh, 120000);
	assert_int_equal(c.retail_uper_kwh, 300000);
	assert_int_equal(c.n_bids, 1);
	assert_string_equal(c.bids[0].name, "evening");
	assert_int_equal(c.bids[0].bid.qty_wh, 300);
	assert_int_equal(c.bids[0].bid.max_price_uper_kwh, 220000);
	assert_int_equal(c.bids[0].bid.from_s, 18 * 3600);
	assert_int_equal(c.bids[0].bid.to_s, 22 * 3600);
}

/* [exchange] fee_min and fee_max are obsolete: a configuration that still
 * has them loads (with a warning naming the line), whatever their values. */
static void
test_obsolete_fee_bounds(void **state)
{
	struct aconfig c;
	char err[PW_CFG_ERRLEN];
	(void)state;
	write_cfg("");
	assert_int_equal(aconfig_load(path, &c, err, sizeof(err)), PW_OK);
	assert_int_equal(c.obsolete_fee_line, 0);
	write_cfg("[exchange]\nfee_min = 0.02\nfee_max = 0.01\n");
	assert_int_equal(aconfig_load(path, &c, err, sizeof(err)), PW_OK);
	assert_int_equal(c.obsolete_fee_line, 15);
	write_cfg("[exchange]\nfee_max = not a price\n");
	assert_int_equal(aconfig_load(path, &c, err, sizeof(err)), PW_OK);
	assert_int_equal(c.obsolete_fee_line, 15);
	/* only in [exchange]: elsewhere an unknown key as before */
	write_cfg("[policy]\nfee_min = 0.01\n");
	assert_int_not_equal(aconfig_load(path, &c, err, sizeof(err)), PW_OK);
	assert_non_null(strstr(err, "unknown key fee_min"));
	unlink(path);
}

static void
test_enums_and_bids(void **state)
{
	struct aconfig c;
	char err[PW_CFG_ERRLEN];
	(void)state;
	write_cfg("[device]\nmeter_sign = export_positive\n"
	          "[policy]\nstrategy = fixed\nfixed_price = 0.2\n"
	          "[bid.a]\nqty_wh = 100\nmax_price = 0.25\n"
	          "[bid.b]\nqty_wh = 200\nmax_price = 0.3\nfrom = 22:00\nto = 06:00\n"
	          "[log]\nlevel = debug\n");
	assert_int_equal(aconfig_load(path, &c, err, sizeof(err)), PW_OK);
	assert_int_equal(c.meter_sign, ACONFIG_SIGN_EXPORT_POSITIVE);
	assert_int_equal(c.strategy, POLICY_PRICE_FIXED);
	assert_int_equal(c.fixed_price_uper_kwh, 200000);
	assert_int_equal(c.log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(c.n_bids, 2);
	assert_int_equal(c.bids[0].bid.from_s, c.bids[0].bid.to_s); /* all day */
	assert_int_equal(c.bids[1].bid.from_s, 22 * 3600);
	unlink(path);
}

/* A market with a negative feed-in tariff: the tariffs, asks and bids may be
 * below zero (down to the feed-in price), and the policy gets them signed. */
static void
test_battery_keys(void **state)
{
	struct aconfig c;
	char err[PW_CFG_ERRLEN];
	(void)state;
	write_cfg("[battery]\ncontrol = on\nstrategy = self\nefficiency_pct = 85\n"
	          "wear_cost = 0.05\ncapacity_wh = 13500\nmax_charge_w = 4000\n"
	          "max_discharge_w = 4600\nhorizon_h = 36\n");
	assert_int_equal(aconfig_load(path, &c, err, sizeof(err)), PW_OK);
	assert_true(c.battery_control);
	assert_int_equal(c.battery_strategy, ACONFIG_BAT_SELF);
	assert_int_equal(c.battery_efficiency_pct, 85);
	assert_int_equal(c.battery_wear_uper_kwh, 50000);
	assert_int_equal(c.battery_capacity_wh, 13500);
	assert_int_equal(c.battery_max_charge_w, 4000);
	assert_int_equal(c.battery_max_discharge_w, 4600);
	assert_int_equal(c.battery_horizon_h, 36);
	write_cfg("[battery]\nstrategy = plan\nwear_cost = 0\n");
	assert_int_equal(aconfig_load(path, &c, err, sizeof(err)), PW_OK);
	assert_int_equal(c.battery_strategy, ACONFIG_BAT_PLAN);
	assert_int_equal(c.battery_wear_uper_kwh, 0);
	unlink(path);
}

static void
test_negative_prices(void **state)
{
	struct aconfig c;
	struct policy_params p;
	char err[PW_CFG_ERRLEN];
	(void)state;
	write_cfg("[exchange]\nfeedin_price = -0.05\nretail_price = 0.30\n"
	          "[policy]\nstrategy = fixed\nfixed_price = -0.02\nmin_price = -0.03\n"
	          "[bid.n]\nqty_wh = 100\nmax_price = -0.01\n");
	assert_int_equal(aconfig_load(path, &c, err, sizeof(err)), PW_OK);
	assert_true(c.feedin_uper_kwh == -50000);
	assert_true(c.fixed_price_uper_kwh == -20000);
	assert_true(c.min_price_uper_kwh == -30000);
	assert_true(c.bids[0].bid.max_price_uper_kwh == -10000);
	aconfig_policy(&c, &p);
	assert_true(p.min_price_uper_kwh == -30000 && p.min_base == POLICY_BASE_ABS);
	struct policy_bounds b = { 1, -50000, 300000 };
	int32_t price = 0;
	assert_true(policy_offer_price(&p, &b, 0, 0, &price) && price == -20000);
	/* a bid below the negative feed-in: the exchange would refuse it */
	write_cfg("[exchange]\nfeedin_price = -0.05\n[bid.n]\nqty_wh = 100\nmax_price = -0.06\n");
	assert_int_not_equal(aconfig_load(path, &c, err, sizeof(err)), PW_OK);
	assert_non_null(strstr(err, ":18: [bid.n] max_price must be within"));
	unlink(path);
}

/* Prices relative to the interval's bounds: parsed with their base, handed
 * to the policy, and the ones that could never trade refused with their
 * line. */
static void
test_relative_prices(void **state)
{
	struct aconfig c;
	struct policy_params p;
	char err[PW_CFG_ERRLEN];
	(void)state;
	write_cfg("[policy]\nstrategy = fixed\nfixed_price = retail - 0.05\n"
	          "min_price = feedin+0.03\n"
	          "[bid.r]\nqty_wh = 100\nmax_price = retail-0.02\n");
	assert_int_equal(aconfig_load(path, &c, err, sizeof(err)), PW_OK);
	assert_int_equal(c.fixed_base, POLICY_BASE_RETAIL);
	assert_true(c.fixed_price_uper_kwh == -50000);
	assert_int_equal(c.min_base, POLICY_BASE_FEEDIN);
	assert_true(c.min_price_uper_kwh == 30000);
	assert_int_equal(c.bids[0].bid.max_base, POLICY_BASE_RETAIL);
	assert_true(c.bids[0].bid.max_price_uper_kwh == -20000);
	aconfig_policy(&c, &p);
	assert_int_equal(p.fixed_base, POLICY_BASE_RETAIL);
	assert_int_equal(p.min_base, POLICY_BASE_FEEDIN);
	/* the configured tariffs do not constrain a relative price */
	write_cfg("[exchange]\nretail_price = 0.30\n[policy]\nstrategy = fixed\n"
	          "fixed_price = feedin\n");
	assert_int_equal(aconfig_load(path, &c, err, sizeof(err)), PW_OK);
	write_cfg("[policy]\nmin_price = retail+0.01\n");
	assert_int_not_equal(aconfig_load(path, &c, err, sizeof(err)), PW_OK);
	assert_non_null(strstr(err, ":15: [policy] a price above retail never sells"));
	write_cfg("[bid.x]\nqty_wh = 5\nmax_price = feedin-0.01\n");
	assert_int_not_equal(aconfig_load(path, &c, err, sizeof(err)), PW_OK);
	assert_non_null(strstr(err, ":16: [bid.x] max_price below feedin never buys"));
	write_cfg("[policy]\nmin_price = retail+\n");
	assert_int_not_equal(aconfig_load(path, &c, err, sizeof(err)), PW_OK);
	assert_non_null(strstr(err, ":15: min_price: \"retail+\" is not a price"));
	write_cfg("[policy]\nmin_price = 0.1\nmin_price = 0.2\n");
	assert_int_not_equal(aconfig_load(path, &c, err, sizeof(err)), PW_OK);
	assert_non_null(strstr(err, "given twice"));
	unlink(path);
}

static void
test_name(void **state)
{
	struct aconfig c;
	char err[PW_CFG_ERRLEN];
	(void)state;
	write_cfg("[household]\nname = M\xc3\xbcller family, Lindenweg 4\n");
	assert_int_equal(aconfig_load(path, &c, err, sizeof(err)), PW_OK);
	assert_string_equal(c.name, "M\xc3\xbcller family, Lindenweg 4");
	unlink(path);
}

static void
test_errors(void **state)
{
	/* line numbers count the 13 lines of `base` */
	static const struct {
		const char *text;
		const char *want; /* substring of the message after "file:" */
	} cases[] = {
		{ "[policy]\nstrategy = cheap\n", ":15: strategy" },
		/* [battery]: each key named with its range */
		{ "[battery]\nstrategy = greedy\n",
		  ":15: strategy: \"greedy\" is not plan or self" },
		{ "[battery]\nstrategy = plan\nstrategy = self\n", ":16: strategy: given twice" },
		{ "[battery]\nefficiency_pct = 49\n", ":15: efficiency_pct: '49' is out of range" },
		{ "[battery]\nefficiency_pct = 101\n",
		  ":15: efficiency_pct: '101' is out of range; allowed: integer in [50, 100]" },
		{ "[battery]\nwear_cost = -0.01\n", ":15: wear_cost: '-0.01' is out of range" },
		{ "[battery]\nwear_cost = 0.1.2\n", ":15: wear_cost: '0.1.2' is not an amount" },
		{ "[battery]\ncapacity_wh = -1\n", ":15: capacity_wh" },
		{ "[battery]\nmax_charge_w = 10000001\n",
		  ":15: max_charge_w: '10000001' is out of range; allowed: integer in [0, "
		  "10000000]" },
		{ "[battery]\nmax_discharge_w = x\n", ":15: max_discharge_w" },
		{ "[battery]\nhorizon_h = 0\n", ":15: horizon_h: '0' is out of range" },
		{ "[battery]\nhorizon_h = 49\n",
		  ":15: horizon_h: '49' is out of range; allowed: integer in [1, 48]" },
		{ "[policy]\nstrategy = min\nstrategy = min\n", ":16: strategy: given twice" },
		{ "[device]\nmeter_sign = sideways\n", ":15: meter_sign" },
		{ "[log]\nlevel = loud\n", ":15: level" },
		{ "[bid.x]\nqty_wh = 0\n", ":15: qty_wh" },
		{ "[bid.x]\nmax_price = abc\n", ":15: max_price" },
		{ "[bid.x]\nfrom = 25:00\n", ":15: from" },
		{ "[bid.x]\ncolour = red\n", ":15: unknown key colour" },
		{ "[bid.x]\nqty_wh = 5\nqty_wh = 6\n", ":16: qty_wh: given twice" },
		/* checks across keys: at the line of the later key, never line 0 */
		{ "[bid.x]\nqty_wh = 5\n", ":15: [bid.x] needs qty_wh and max_price" },
		{ "[bid.x]\nfrom = 08:00\nto = 09:00\n[log]\nlevel = info\n",
		  ":16: [bid.x] needs qty_wh and max_price" },
		{ "[policy]\nstrategy = fixed\n",
		  ":15: [policy] strategy fixed needs fixed_price" },
		{ "[policy]\nfixed_price = 0\nstrategy = fixed\n", ":16: [policy] strategy fixed" },
		{ "[dashboard]\nlisten = 0.0.0.0:8080\n", ":15: [dashboard] listen 0.0.0.0:8080" },
		{ "[exchange]\nfeedin_price = 0.3\nretail_price = 0.1\n",
		  ":16: [exchange] feedin" },
		{ "[exchange]\nretail_price = 0.1\nfeedin_price = 0.3\n",
		  ":16: [exchange] feedin" },
		{ "[exchange]\ninterval_s = 5\n",
		  ":15: [exchange] gate_s must be below interval_s" },
		{ "[exchange]\ninterval_s = 5\ngate_s = 5\n",
		  ":16: [exchange] gate_s must be below" },
		{ "[exchange]\ngate_s = 900\n", ":15: [exchange] gate_s must be below interval_s" },
		/* prices the exchange would refuse, or the clamp would undercut */
		{ "[exchange]\nretail_price = 0.30\n[policy]\nmin_price = 0.31\n",
		  ":17: [policy] min_price must not exceed" },
		{ "[policy]\nmin_price = 0.31\n[exchange]\nretail_price = 0.30\n",
		  ":17: [policy] min_price must not exceed" },
		{ "[exchange]\nretail_price = 0.30\n[policy]\nstrategy = fixed\nfixed_price = "
		  "0.5\n",
		  ":18: [policy] fixed_price must not exceed" },
		/* 7200 W for 900 s: 1800 Wh per interval at most */
		{ "[bid.x]\nqty_wh = 1801\nmax_price = 0.25\n",
		  ":16: [bid.x] qty_wh 1801 is above the registered import capacity" },
		{ "[exchange]\nretail_price = 0.30\n[bid.x]\nqty_wh = 5\nmax_price = 0.31\n",
		  ":18: [bid.x] max_price must be within" },
		{ "[exchange]\nfeedin_price = 0.08\n[bid.x]\nqty_wh = 5\nmax_price = 0.05\n",
		  ":18: [bid.x] max_price must be within" },
		{ "[device]\nunit = 300\n", ":15:" },
		/* a dashboard without its page */
		{ "[dashboard]\nweb_root = /nonexistent/peerwatt-web\n",
		  ":15: [dashboard] web_root /nonexistent/peerwatt-web is not a directory with "
		  "index.html" },
		{ "[dashboard]\nweb_root = /\n", ":15: [dashboard] web_root / is not a directory" },
		/* the dashboard's name: JSON needs UTF-8, the header no controls */
		{ "[household]\nname = caf\xe9\n", ":15: [household] name must be UTF-8" },
		{ "[household]\nname = a\x1b[31mred\n", ":15: control character" },
		{ "[household]\nname = 0123456789012345678901234567890123456789012345678\n",
		  ":15:" },
		/* [sim]: the devices' simulated clock, all or nothing */
		{ "[sim]\nstart = 7:00\n", ":15: start" },
		{ "[sim]\nstart = 24:00\n", ":15: start" },
		{ "[sim]\nepoch = 1\nstart = 07:00\nstart = 08:00\n", ":17: start: given twice" },
		{ "[sim]\nspeed = 0\n", ":15:" },
		{ "[sim]\nspeed = 360\n", ":15: [sim] start and speed need [sim] epoch" },
		{ "[sim]\nstart = 07:00\n[log]\nlevel = info\n",
		  ":15: [sim] start and speed need" },
		{ "[sim]\nepoch = 1800000000\nspeed = 100\n",
		  ":16: [sim] speed x [exchange] interval_s" },
		{ "[sim]\nepoch = 1800000000\nspeed = 96\n[exchange]\ninterval_s = 901\n",
		  ":18: [sim] speed x [exchange] interval_s" },
		{ "[policy]\nwhatever = 1\n", ":15: unknown key whatever" },
		{ "[nosuch]\nkey = 1\n", ":15: unknown section" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct aconfig c;
		char err[PW_CFG_ERRLEN] = "";
		memset(&c, 0x5a, sizeof(c));
		write_cfg(cases[i].text);
		assert_int_equal(aconfig_load(path, &c, err, sizeof(err)), PW_ERR_CONFIG);
		if (strncmp(err, path, strlen(path)) != 0 ||
		    strstr(err + strlen(path), cases[i].want) != err + strlen(path)) {
			printf("case %zu: got \"%s\", want \"%s%s...\"\n", i, err, path,
			       cases[i].want);
			fail();
		}
		/* all-or-nothing: the target is untouched */
		for (size_t b = 0; b < sizeof(c); b++)
			assert_int_equal(((unsigned char *)&c)[b], 0x5a);
	}
	unlink(path);
}

/* The example's all-zero exchange key is a placeholder, refused at its line;
 * a web_root that does not exist is fine while the dashboard is off. */
static void
test_placeholder_key_and_web_root_off(void **state)
{
	struct aconfig c;
	char err[PW_CFG_ERRLEN] = "";
	char text[sizeof(base) + 64];
	FILE *f;
	(void)state;
	snprintf(text, sizeof(text), "%s", base);
	char *k = strstr(text, "public_key = ");
	assert_non_null(k);
	memset(k + 13, '0', 64);
	snprintf(path, sizeof(path), "/tmp/test_aconfig.%ld.conf", (long)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(aconfig_load(path, &c, err, sizeof(err)), PW_ERR_CONFIG);
	assert_non_null(strstr(err, ":12: [exchange] public_key is the all-zero placeholder"));

	write_cfg("[dashboard]\nenabled = no\nweb_root = /nonexistent/peerwatt-web\n");
	assert_int_equal(aconfig_load(path, &c, err, sizeof(err)), PW_OK);
	assert_false(c.dash_enabled);
	unlink(path);
}

static void
test_sim_clock(void **state)
{
	struct aconfig c;
	struct devclock dc;
	char err[PW_CFG_ERRLEN];
	(void)state;
	/* no [sim]: the local clock */
	write_cfg("");
	assert_int_equal(aconfig_load(path, &c, err, sizeof(err)), PW_OK);
	aconfig_devclock(&c, &dc);
	assert_false(dc.simulated);
	/* the demo's: 5 s intervals at 360x, from 07:00 at the epoch */
	write_cfg("[exchange]\ninterval_s = 5\ngate_s = 1\n"
	          "[sim]\nepoch = 1800000000\nstart = 07:00\nspeed = 360\n");
	assert_int_equal(aconfig_load(path, &c, err, sizeof(err)), PW_OK);
	aconfig_devclock(&c, &dc);
	assert_true(dc.simulated);
	assert_int_equal(dc.speed, 360);
	assert_int_equal(devclock_tod(&dc, 1800000000000LL), 7 * 3600);
	assert_int_equal(devclock_tod(&dc, 1800000005000LL), 7 * 3600 + 1800);
	assert_int_equal(devclock_span_s(&dc, 5), 1800);
	/* epoch alone: midnight at the epoch, real speed */
	write_cfg("[sim]\nepoch = 1800000000\n");
	assert_int_equal(aconfig_load(path, &c, err, sizeof(err)), PW_OK);
	aconfig_devclock(&c, &dc);
	assert_true(dc.simulated);
	assert_int_equal(devclock_tod(&dc, 1800000000000LL + 3600 * 1000), 3600);
	unlink(path);
}

static void
test_missing_required_and_file(void **state)
{
	struct aconfig c;
	char err[PW_CFG_ERRLEN];
	FILE *f;
	(void)state;
	snprintf(path, sizeof(path), "/tmp/test_aconfig.%ld.conf", (long)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[household]\nkey_file = /tmp/k\n", f);
	fclose(f);
	assert_int_equal(aconfig_load(path, &c, err, sizeof(err)), PW_ERR_CONFIG);
	assert_non_null(strstr(err, ":0:"));
	unlink(path);
	assert_int_not_equal(aconfig_load("/nonexistent/agent.conf", &c, err, sizeof(err)), PW_OK);
}

/* The unit id: 0..255 over TCP (255 addresses a TCP device directly),
 * 1..247 on a serial line, reported at the later of unit and modbus. */
static void
test_unit_by_transport(void **state)
{
	static const struct {
		const char *url;
		int unit;
		const char *want; /* NULL: loads */
	} cases[] = {
		{ "tcp://127.0.0.1:1502", 255, NULL },
		{ "tcp://127.0.0.1:1502", 0, NULL },
		{ "rtu:/dev/ttyUSB0:9600:8N1", 1, NULL },
		{ "rtu:/dev/ttyUSB0:9600:8N1", 247, NULL },
		{ "rtu:/dev/ttyUSB0:9600:8E1", 0, ":15: [device] unit must be 1..247 on a serial" },
		{ "rtu:/dev/ttyUSB0:9600:8N2", 248,
		  ":15: [device] unit must be 1..247 on a serial" },
		{ "tcp://127.0.0.1:1502", 256, ":15:" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct aconfig c;
		char err[PW_CFG_ERRLEN] = "", cfg[1024], extra[64];
		const char *at = strstr(base, "tcp://127.0.0.1:1502");
		FILE *f;
		assert_non_null(at);
		snprintf(extra, sizeof(extra), "[device]\nunit = %d\n", cases[i].unit);
		snprintf(cfg, sizeof(cfg), "%.*s%s%s%s", (int)(at - base), base, cases[i].url,
		         at + strlen("tcp://127.0.0.1:1502"), extra);
		snprintf(path, sizeof(path), "/tmp/test_aconfig.%ld.conf", (long)getpid());
		f = fopen(path, "w");
		assert_non_null(f);
		fputs(cfg, f);
		fclose(f);
		pw_err rc = aconfig_load(path, &c, err, sizeof(err));
		if (cases[i].want == NULL) {
			if (rc != PW_OK)
				fail_msg("case %zu: %s", i, err);
			assert_int_equal(c.unit, cases[i].unit);
		} else {
			assert_int_equal(rc, PW_ERR_CONFIG);
			if (strstr(err, cases[i].want) == NULL)
				fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].want);
		}
		unlink(path);
	}
}

/* [device] template and the separate [meter]: defaults, accepted forms, refusals at their lines. */
static void
test_device_template_and_meter(void **state)
{
	static const struct {
		const char *text;
		const char *want; /* NULL: loads */
	} cases[] = {
		{ "[device]\ntemplate = sdm630\n", NULL },
		{ "[meter]\nurl = rtu:/dev/ttyUSB0:9600:8N1\ntemplate = sdm72\nunit = 3\n", NULL },
		{ "[meter]\nurl = tcp://127.0.0.1:1503\n", NULL },
		{ "[device]\ntemplate = Bad/Name\n", ":15: [device] template must be sunspec" },
		{ "[meter]\nurl = tcp://127.0.0.1:1503\ntemplate = ../x\n",
		  ":16: [meter] template must be sunspec" },
		{ "[meter]\ntemplate = sdm630\n", ":15: [meter] needs url" },
		{ "[meter]\nurl = udp://127.0.0.1:1\n", ":15: [meter] url is not a meter" },
		{ "[meter]\nurl = rtu:/dev/ttyUSB0:9600:8N1\nunit = 0\n",
		  ":16: [meter] unit must be 1..247" },
		{ "[meter]\nurl = rtu:/dev/ttyUSB0:9600:8N1\nunit = 250\n",
		  ":16: [meter] unit must be 1..247" },
		{ "[meter]\nurl = tcp://127.0.0.1:1503\nunit = -2\n", ":16: unit" },
		{ "[meter]\nurl = tcp://127.0.0.1:1503\ncolour = red\n", ":16: unknown key" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct aconfig c;
		char err[PW_CFG_ERRLEN] = "";
		write_cfg(cases[i].text);
		pw_err rc = aconfig_load(path, &c, err, sizeof(err));
		if (cases[i].want == NULL) {
			if (rc != PW_OK)
				fail_msg("case %zu: %s", i, err);
		} else {
			assert_int_equal(rc, PW_ERR_CONFIG);
			if (strstr(err, cases[i].want) == NULL)
				fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].want);
		}
	}
	/* the defaults: SunSpec, no separate meter, the unit not given */
	struct aconfig c;
	char err[PW_CFG_ERRLEN];
	write_cfg("");
	assert_int_equal(aconfig_load(path, &c, err, sizeof(err)), PW_OK);
	assert_string_equal(c.device_template, "sunspec");
	assert_string_equal(c.meter_template, "sunspec");
	assert_string_equal(c.meter_url, "");
	assert_int_equal(c.meter_unit, -1);
	assert_false(c.unit_given);
	write_cfg("[device]\nunit = 1\n[meter]\nurl = tcp://127.0.0.1:1503\ntemplate = sdm630\n");
	assert_int_equal(aconfig_load(path, &c, err, sizeof(err)), PW_OK);
	assert_true(c.unit_given);
	assert_string_equal(c.meter_url, "tcp://127.0.0.1:1503");
	assert_string_equal(c.meter_template, "sdm630");
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_example_file_loads),
		cmocka_unit_test(test_enums_and_bids),
		cmocka_unit_test(test_obsolete_fee_bounds),
		cmocka_unit_test(test_battery_keys),
		cmocka_unit_test(test_negative_prices),
		cmocka_unit_test(test_relative_prices),
		cmocka_unit_test(test_name),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_placeholder_key_and_web_root_off),
		cmocka_unit_test(test_sim_clock),
		cmocka_unit_test(test_missing_required_and_file),
		cmocka_unit_test(test_unit_by_transport),
		cmocka_unit_test(test_device_template_and_meter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
