/* test_outlook.c: the price outlook's checks (agent/outlook.c): a message of
 * MARKET entries replaces the outlook only when every frame is this
 * market's and they ascend; lookups per interval, negative tariffs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/outlook.h"

static const struct outlook_market mk = { 900, 60, "lindenweg" };

static struct pw_market
entry(uint64_t from_iv, int32_t feedin, int32_t retail)
{
	struct pw_market m;
	memset(&m, 0, sizeof(m));
	m.time_s = 1000;
	m.effective_interval = from_iv;
	snprintf(m.name, sizeof(m.name), "%s", "lindenweg");
	memcpy(m.currency, "EUR", 3);
	m.interval_s = 900;
	m.gate_s = 60;
	m.grace_s = 5;
	m.max_ahead_s = 86400;
	m.feedin_uper_kwh = feedin;
	m.retail_uper_kwh = retail;
	m.fee_same_zone_uper_kwh = 10000;
	m.fee_default_uper_kwh = 20000;
	return m;
}

/* One message of n entries; the result of outlook_end. */
static pw_err
take(struct outlook *o, struct outlook_msg *g, const struct pw_market *e, size_t n, int dropped,
     int *changed)
{
	outlook_begin(g);
	for (size_t i = 0; i < n; i++)
		(void)outlook_add(g, &mk, &e[i]);
	return outlook_end(o, g, dropped, 5000, changed);
}

static void
test_take_and_lookup(void **state)
{
	struct outlook *o = calloc(1, sizeof(*o));
	struct outlook_msg *g = calloc(1, sizeof(*g));
	struct outlook_rule r;
	int changed = 0;
	(void)state;
	outlook_init(o);
	assert_int_equal(outlook_rule_at(o, 100, &r), 0); /* none held */
	struct pw_market e[3] = { entry(90, 80000, 300000), entry(104, -50000, 120000),
		                  entry(108, 60000, 350000) };
	assert_int_equal(take(o, g, e, 3, 0, &changed), PW_OK);
	assert_int_equal(changed, 1);
	assert_int_equal(o->n, 3);
	assert_true(o->rx_ms == 5000);
	assert_int_equal(outlook_rule_at(o, 89, &r), 0); /* before the first rule */
	assert_int_equal(outlook_rule_at(o, 90, &r), 1);
	assert_int_equal(r.retail_uper_kwh, 300000);
	assert_int_equal(outlook_rule_at(o, 103, &r), 1);
	assert_int_equal(r.feedin_uper_kwh, 80000);
	assert_int_equal(outlook_rule_at(o, 104, &r), 1);
	assert_int_equal(r.feedin_uper_kwh, -50000); /* a negative feed-in hour */
	assert_int_equal(r.retail_uper_kwh, 120000);
	assert_int_equal(outlook_rule_at(o, 107, &r), 1);
	assert_int_equal(r.feedin_uper_kwh, -50000);
	assert_int_equal(outlook_rule_at(o, 108, &r), 1);
	assert_int_equal(r.retail_uper_kwh, 350000);
	assert_int_equal(outlook_rule_at(o, UINT64_MAX, &r), 1); /* the last rule stays */
	assert_int_equal(r.retail_uper_kwh, 350000);
	/* the same again: taken, not a change */
	assert_int_equal(take(o, g, e, 3, 0, &changed), PW_OK);
	assert_int_equal(changed, 0);
	assert_true(o->changes == 1);
	free(g);
	free(o);
}

/* A rule is final for the intervals before the last rule's: the exchange
 * appends only after its latest entry (curtailment may act on it without
 * the interval's HEARTBEAT); from the last rule on, a later entry may
 * still change it. */
static void
test_final(void **state)
{
	struct outlook *o = calloc(1, sizeof(*o));
	struct outlook_msg *g = calloc(1, sizeof(*g));
	struct outlook_rule r;
	int changed = 0;
	(void)state;
	outlook_init(o);
	assert_int_equal(outlook_final_at(o, 100, &r), 0); /* none held */
	struct pw_market e[3] = { entry(90, 80000, 300000), entry(104, -50000, 120000),
		                  entry(108, 60000, 350000) };
	assert_int_equal(take(o, g, e, 3, 0, &changed), PW_OK);
	assert_int_equal(outlook_final_at(o, 89, &r), 0); /* before the first rule */
	assert_int_equal(outlook_final_at(o, 90, &r), 1);
	assert_int_equal(r.feedin_uper_kwh, 80000);
	assert_int_equal(outlook_final_at(o, 105, &r), 1);
	assert_int_equal(r.feedin_uper_kwh, -50000);
	assert_int_equal(outlook_final_at(o, 107, &r), 1);
	assert_int_equal(r.feedin_uper_kwh, -50000);
	assert_int_equal(outlook_final_at(o, 108, &r), 0); /* the last rule: not final */
	assert_int_equal(outlook_final_at(o, 500, &r), 0);
	/* one rule alone (fixed tariffs) is final for no interval */
	assert_int_equal(take(o, g, e, 1, 0, &changed), PW_OK);
	assert_int_equal(outlook_final_at(o, 95, &r), 0);
	assert_int_equal(outlook_rule_at(o, 95, &r), 1);
	free(g);
	free(o);
}

/* Every refusal keeps the outlook held and names why. */
static void
test_refused(void **state)
{
	struct outlook *o = calloc(1, sizeof(*o));
	struct outlook_msg *g = calloc(1, sizeof(*g));
	struct outlook_rule r;
	int changed = 0;
	(void)state;
	outlook_init(o);
	struct pw_market good[2] = { entry(90, 80000, 300000), entry(95, 70000, 290000) };
	assert_int_equal(take(o, g, good, 2, 0, &changed), PW_OK);

	struct pw_market bad[2] = { entry(90, 80000, 300000), entry(95, 1, 2) };
	/* another market's name */
	snprintf(bad[1].name, sizeof(bad[1].name), "%s", "elsewhere");
	assert_int_equal(take(o, g, bad, 2, 0, &changed), PW_ERR_FIELD);
	assert_non_null(strstr(o->why, "another market"));
	/* another interval length, another gate */
	bad[1] = entry(95, 1, 2);
	bad[1].interval_s = 300;
	assert_int_equal(take(o, g, bad, 2, 0, &changed), PW_ERR_FIELD);
	assert_non_null(strstr(o->why, "interval length or gate"));
	bad[1] = entry(95, 1, 2);
	bad[1].gate_s = 30;
	assert_int_equal(take(o, g, bad, 2, 0, &changed), PW_ERR_FIELD);
	/* crossed bounds */
	bad[1] = entry(95, 300000, 100000);
	assert_int_equal(take(o, g, bad, 2, 0, &changed), PW_ERR_FIELD);
	assert_non_null(strstr(o->why, "feed-in tariff is above its retail"));
	/* not ascending, or the same interval twice */
	bad[1] = entry(90, 1, 2);
	assert_int_equal(take(o, g, bad, 2, 0, &changed), PW_ERR_FIELD);
	assert_non_null(strstr(o->why, "ascending"));
	bad[1] = entry(80, 1, 2);
	assert_int_equal(take(o, g, bad, 2, 0, &changed), PW_ERR_FIELD);
	/* a frame dropped on the way, or none at all */
	bad[1] = entry(95, 1, 2);
	assert_int_equal(take(o, g, bad, 2, 1, &changed), PW_ERR_LENGTH);
	assert_non_null(strstr(o->why, "failed its check"));
	assert_int_equal(take(o, g, bad, 0, 0, &changed), PW_ERR_LENGTH);
	/* each refusal left the good outlook in place */
	assert_int_equal(o->n, 2);
	assert_int_equal(outlook_rule_at(o, 96, &r), 1);
	assert_int_equal(r.retail_uper_kwh, 290000);
	assert_int_equal(changed, 0);
	/* an unknown market name (no checkpoint yet) is not compared */
	struct outlook_market anon = { 900, 60, NULL };
	outlook_begin(g);
	bad[1] = entry(95, 1, 2);
	snprintf(bad[1].name, sizeof(bad[1].name), "%s", "elsewhere");
	assert_int_equal(outlook_add(g, &anon, &bad[1]), PW_OK);
	/* end without begin, add without begin */
	outlook_abort(g);
	assert_int_equal(outlook_end(o, g, 0, 1, &changed), PW_ERR_STATE);
	assert_int_equal(outlook_add(g, &mk, &good[0]), PW_ERR_STATE);
	free(g);
	free(o);
}

/* At most OUTLOOK_MAX frames: one more refuses the message. */
static void
test_bounded(void **state)
{
	struct outlook *o = calloc(1, sizeof(*o));
	struct outlook_msg *g = calloc(1, sizeof(*g));
	int changed = 0;
	(void)state;
	outlook_init(o);
	outlook_begin(g);
	for (uint64_t i = 0; i < OUTLOOK_MAX; i++) {
		struct pw_market m = entry(100 + i, -(int32_t)i, 300000);
		assert_int_equal(outlook_add(g, &mk, &m), PW_OK);
	}
	assert_int_equal(outlook_end(o, g, 0, 1, &changed), PW_OK);
	assert_int_equal(o->n, OUTLOOK_MAX);
	outlook_begin(g);
	for (uint64_t i = 0; i < OUTLOOK_MAX; i++) {
		struct pw_market m = entry(100 + i, 0, 300000);
		assert_int_equal(outlook_add(g, &mk, &m), PW_OK);
	}
	struct pw_market extra = entry(100 + OUTLOOK_MAX, 0, 300000);
	assert_int_equal(outlook_add(g, &mk, &extra), PW_ERR_FIELD);
	assert_int_equal(outlook_end(o, g, 0, 2, &changed), PW_ERR_FIELD);
	struct outlook_rule r;
	assert_int_equal(outlook_rule_at(o, 100 + OUTLOOK_MAX - 1, &r), 1);
	assert_int_equal(r.feedin_uper_kwh, -(int32_t)(OUTLOOK_MAX - 1));
	free(g);
	free(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_take_and_lookup),
		cmocka_unit_test(test_final),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
