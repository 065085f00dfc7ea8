/* test_xconfig.c: exchange configuration: defaults, prices, zone fees,
 * file:line errors, all-or-nothing reload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "exchange/xconfig.h"

static const char good[] = "[market]\n"
                           "name = riverside\n"
                           "id = 7\n"
                           "interval_s = 300\n"
                           "feedin = 0.08\n"
                           "retail = 0.3\n"
                           "[fees]\n"
                           "same_zone = 0.01\n"
                           "default = 0.03\n"
                           "north/south = 0.02\n"
                           "[files]\n"
                           "registry = households\n"
                           "db = x.db\n"
                           "key = x.key\n";

static void
test_good(void **state)
{
	(void)state;
	struct xconfig c;
	char err[512] = "";
	memset(&c, 0, sizeof(c));
	assert_int_equal(xconfig_load_buffer("x.conf", good, &c, err, sizeof(err)), PW_OK);
	assert_string_equal(c.market_name, "riverside");
	assert_string_equal(c.currency, "EUR"); /* default */
	assert_int_equal(c.market_id, 7);
	assert_int_equal(c.interval_s, 300);
	assert_int_equal(c.gate_s, 60); /* default */
	assert_int_equal(c.max_ahead_s, 86400);
	assert_int_equal(c.feedin_uper_kwh, 80000);
	assert_int_equal(c.retail_uper_kwh, 300000);
	assert_string_equal(c.request_endpoint, "tcp://127.0.0.1:7700");
	assert_string_equal(c.db_path, "x.db");
	assert_int_equal(c.n_fees, 1);
	assert_int_equal(xconfig_fee(&c, "north", "south"), 20000);
	assert_int_equal(xconfig_fee(&c, "south", "north"), 20000);
	assert_int_equal(xconfig_fee(&c, "north", "north"), 10000);
	assert_int_equal(xconfig_fee(&c, "north", "east"), 30000);
	/* loading again does not accumulate fees */
	assert_int_equal(xconfig_load_buffer("x.conf", good, &c, err, sizeof(err)), PW_OK);
	assert_int_equal(c.n_fees, 1);
}

static void
test_bad_keeps_old(void **state)
{
	(void)state;
	struct {
		const char *append; /* appended to `good` */
		const char *want;
	} cases[] = {
		{ "[fees]\nnorth/south = 0.05\n",
		  "x.conf:16: fee for zones north/south given twice" },
		{ "[fees]\nsouth/north = 0.05\n",
		  "x.conf:16: fee for zones south/north given twice" },
		{ "[fees]\nnorthsouth = 0.05\n", "x.conf:16: unknown key northsouth in [fees]" },
		{ "[fees]\na/b = -1\n", "x.conf:16: a/b: '-1' is not a fee" },
		{ "[fees]\na!/b = 1\n", "x.conf:16: unknown key a!/b" },
		{ "[market]\n", "" }, /* repeated section is fine, keys are not */
		{ "[network]\nbogus = 1\n", "x.conf:16: unknown key bogus in [network]" },
		/* checks across keys: at the line of the later key, never line 0 */
		{ "[log]\nlevel = loud\n", "x.conf:16: [log] level" },
		{ "[network]\nrequest = udp://x\n", "x.conf:16: [network] request" },
		{ "[network]\npublish = udp://x\n", "x.conf:16: [network] publish" },
		{ "[market]\ngate_s = 300\n",
		  "x.conf:16: [market] gate_s must be below interval_s" },
		{ "[market]\ngate_s = 600\n",
		  "x.conf:16: [market] gate_s must be below interval_s" },
		{ "[market]\nmax_ahead_s = 0\n",
		  "x.conf:16: [market] max_ahead_s must be at least" },
		{ "[market]\nmax_ahead_s = 359\n",
		  "x.conf:16: [market] max_ahead_s must be at least" },
		{ "[market]\nmax_ahead_s = 360\n", "" }, /* L + G: an interval is always open */
		{ "[market]\ncurrency = CHF\n", "" },
		{ "[market]\ncurrency = eur\n",
		  "x.conf:16: [market] currency must be an ISO 4217" },
		{ "[market]\ncurrency = EURO\n", "x.conf:16: currency: value too long" },
		{ "[market]\ncurrency = E1R\n",
		  "x.conf:16: [market] currency must be an ISO 4217" },
		{ "[market]\ngate_s = 299\nmax_ahead_s = 598\n",
		  "x.conf:17: [market] max_ahead_s" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[2048], err[512] = "";
		struct xconfig c, before;
		memset(&c, 0, sizeof(c));
		assert_int_equal(xconfig_load_buffer("x.conf", good, &c, err, sizeof(err)), PW_OK);
		before = c;
		snprintf(text, sizeof(text), "%s%s", good, cases[i].append);
		pw_err rc = xconfig_load_buffer("x.conf", text, &c, err, sizeof(err));
		if (cases[i].want[0] == '\0') {
			assert_int_equal(rc, PW_OK);
			continue;
		}
		if (rc != PW_ERR_CONFIG || strncmp(err, cases[i].want, strlen(cases[i].want)) != 0)
			fail_msg("case %zu: rc %d err '%s', want '%s'", i, rc, err, cases[i].want);
		assert_memory_equal(&c, &before, sizeof(c));
	}
	struct xconfig c;
	char err[512];
	memset(&c, 0, sizeof(c));
	assert_int_equal(
	    xconfig_load_buffer("y.conf",
	                        "[market]\nname = a\nid = 1\nfeedin = 0.4\n"
	                        "retail = 0.3\n[files]\nregistry = r\ndb = d\nkey = k\n",
	                        &c, err, sizeof(err)),
	    PW_ERR_CONFIG);
	assert_string_equal(err, "y.conf:5: [market] feedin must not exceed retail");
	assert_int_equal(
	    xconfig_load_buffer("y.conf",
	                        "[market]\nname = a\nid = 1\n[files]\n"
	                        "registry = r\ndb = d\nkey = k\n[market]\nretail = 0.3\n"
	                        "feedin = 0.4\n",
	                        &c, err, sizeof(err)),
	    PW_ERR_CONFIG);
	assert_string_equal(err, "y.conf:10: [market] feedin must not exceed retail"); /* later */
	assert_int_equal(
	    xconfig_load_buffer("y.conf", "[market]\nname = a\n", &c, err, sizeof(err)),
	    PW_ERR_CONFIG);
	assert_non_null(strstr(err, "y.conf:0: missing required key")); /* the file as a whole */
}

/* The shipped examples load (tests run from the repository root). */
static void
test_examples(void **state)
{
	(void)state;
	struct xconfig c;
	char err[512] = "";
	struct registry *r = NULL;
	memset(&c, 0, sizeof(c));
	if (xconfig_load("config/exchange.conf.example", &c, err, sizeof(err)) != PW_OK)
		fail_msg("%s", err);
	assert_int_equal(c.interval_s, 900);
	assert_int_equal(xconfig_fee(&c, "south", "north"), 20000);
	if (registry_load("config/households.example", &r, err, sizeof(err)) != PW_OK)
		fail_msg("%s", err);
	assert_int_equal(registry_count(r), 3);
	registry_free(&r);
}

static void
usage_line(void *ctx, const char *text)
{
	int *n = ctx;
	assert_true(strlen(text) > 8);
	(*n)++;
}

static void
test_usage(void **state)
{
	(void)state;
	int n = 0;
	xconfig_usage(usage_line, &n);
	assert_true(n > 15);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad_keeps_old),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_examples),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
