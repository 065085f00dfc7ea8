/* test_validate.c: the entry rules of ORDER, CANCEL and METER, table-driven,
 * including the boundaries (gate second, capacity exact, price bounds) and
 * the order of the checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rules/validate.h"

/* L = 900, G = 60; now = interval 1000's start - 61 s: 1000 is still open */
static const struct validate_market M = { .now_s = 1000 * 900 - 61,
	                                  .interval_s = 900,
	                                  .gate_s = 60,
	                                  .max_ahead_s = 86400,
	                                  .feedin_uper_kwh = 80000,
	                                  .retail_uper_kwh = 300000 };

/* The one capacity rule (docs/market.md): orders round down, the meter's
 * plausibility bound rounds up; the exchange (registry_capacity_wh) and
 * peerwatt-audit both call these. */
static void
test_capacity(void **state)
{
	static const struct {
		int64_t w, l;
		uint64_t cap, meter;
	} t[] = {
		{ 3600, 900, 900, 900 }, /* exact */
		{ 1000, 900, 250, 250 }, /* exact */
		{ 1001, 900, 250, 251 }, /* 250.25 Wh: down for orders, up for meters */
		{ 7, 60, 0, 1 },         /* 0.1167 Wh */
		{ 0, 900, 0, 0 },        /* no capacity */
		{ -5, 900, 0, 0 },       /* nonsense power */
		{ 1000000000, 86400, 24000000000ull, 24000000000ull },
		{ INT64_MAX, 86400, UINT64_MAX, UINT64_MAX }, /* saturates, no overflow */
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(validate_capacity_wh(t[i].w, t[i].l), t[i].cap);
		assert_int_equal(validate_meter_max_wh(t[i].w, t[i].l), t[i].meter);
	}
}

static void
test_frame(void **state)
{
	(void)state;
	assert_int_equal(validate_frame(1, 100), PW_REASON_OK);
	assert_int_equal(validate_frame(1, PW_WIRE_MAX_REQUEST), PW_REASON_OK);
	assert_int_equal(validate_frame(1, PW_WIRE_MAX_REQUEST + 1), PW_REASON_OVERSIZE);
	assert_int_equal(validate_frame(2, 100), PW_REASON_MALFORMED);
	assert_int_equal(validate_frame(0, 0), PW_REASON_MALFORMED);
	assert_int_equal(validate_frame(1, 10), PW_REASON_MALFORMED);
}

static void
test_orders(void **state)
{
	(void)state;
	const struct validate_book B = { .last_seq = 5, .capacity_wh = 1000, .open_same_wh = 400 };
	const struct pw_order O = { .seq = 6,
		                    .interval = 1000,
		                    .expiry_s = 1000 * 900,
		                    .qty_wh = 600,
		                    .price_uper_kwh = 150000,
		                    .side = PW_SIDE_SELL };
	struct {
		const char *name;
		struct validate_market m;
		struct validate_book b;
		struct pw_order o;
		enum pw_reason want;
	} cases[20];
	size_t n = 0;
#define CASE(nm, field_m, field_b, field_o, w)                                                     \
	do {                                                                                       \
		cases[n].name = nm;                                                                \
		cases[n].m = M;                                                                    \
		cases[n].b = B;                                                                    \
		cases[n].o = O;                                                                    \
		field_m;                                                                           \
		field_b;                                                                           \
		field_o;                                                                           \
		cases[n].want = w;                                                                 \
		n++;                                                                               \
	} while (0)
	CASE("valid, capacity filled exactly", (void)0, (void)0, (void)0, PW_REASON_OK);
	CASE("seq equal to last", (void)0, (void)0, cases[n].o.seq = 5, PW_REASON_REPLAY);
	CASE("replay wins over expiry", (void)0, (void)0,
	     (cases[n].o.seq = 1, cases[n].o.expiry_s = 1), PW_REASON_REPLAY);
	CASE("expiry = now", (void)0, (void)0, cases[n].o.expiry_s = (uint64_t)M.now_s,
	     PW_REASON_EXPIRED);
	CASE("expiry huge", (void)0, (void)0, cases[n].o.expiry_s = UINT64_MAX, PW_REASON_EXPIRED);
	CASE("gate closes at i*L - G", cases[n].m.now_s = 1000 * 900 - 60, (void)0, (void)0,
	     PW_REASON_GATE_CLOSED);
	CASE("past interval", (void)0, (void)0, cases[n].o.interval = 5, PW_REASON_GATE_CLOSED);
	CASE("just within 24 h", (void)0, (void)0,
	     (cases[n].o.interval = (uint64_t)(M.now_s + 86400) / 900,
	      cases[n].o.expiry_s = UINT32_MAX),
	     PW_REASON_OK);
	CASE("beyond 24 h", (void)0, (void)0,
	     (cases[n].o.interval = (uint64_t)(M.now_s + 86400) / 900 + 1,
	      cases[n].o.expiry_s = UINT32_MAX),
	     PW_REASON_TOO_FAR_AHEAD);
	CASE("interval overflowing i*L", (void)0, (void)0, cases[n].o.interval = UINT64_MAX / 2,
	     PW_REASON_TOO_FAR_AHEAD);
	CASE("zero quantity", (void)0, (void)0, cases[n].o.qty_wh = 0, PW_REASON_BAD_QUANTITY);
	CASE("price = feed-in", (void)0, (void)0, cases[n].o.price_uper_kwh = 80000, PW_REASON_OK);
	CASE("price below feed-in", (void)0, (void)0, cases[n].o.price_uper_kwh = 79999,
	     PW_REASON_PRICE_BOUNDS);
	CASE("price = retail", (void)0, (void)0, cases[n].o.price_uper_kwh = 300000, PW_REASON_OK);
	CASE("price above retail", (void)0, (void)0, cases[n].o.price_uper_kwh = 300001,
	     PW_REASON_PRICE_BOUNDS);
	CASE("other side open", (void)0, cases[n].b.open_other_wh = 1, (void)0,
	     PW_REASON_SELF_TRADE);
	CASE("one Wh over capacity", (void)0, (void)0, cases[n].o.qty_wh = 601, PW_REASON_CAPACITY);
	CASE("no capacity at all", (void)0,
	     (cases[n].b.capacity_wh = 0, cases[n].b.open_same_wh = 0), (void)0,
	     PW_REASON_CAPACITY);
	CASE("bad side", (void)0, (void)0, cases[n].o.side = 3, PW_REASON_MALFORMED);
#undef CASE
	for (size_t i = 0; i < n; i++) {
		enum pw_reason r = validate_order(&cases[i].m, &cases[i].b, &cases[i].o);
		if (r != cases[i].want)
			fail_msg("%s: got %s, want %s", cases[i].name, pw_reason_name(r),
			         pw_reason_name(cases[i].want));
	}
}

static void
test_cancel(void **state)
{
	(void)state;
	struct validate_cancel_target t = { .found = 1, .open = 1, .interval = 1000 };
	struct pw_cancel c = { .seq = 9, .interval = 1000, .order_seq = 3 };
	assert_int_equal(validate_cancel(&M, 8, &t, &c), PW_REASON_OK);
	assert_int_equal(validate_cancel(&M, 9, &t, &c), PW_REASON_REPLAY);
	t.interval = 1001;
	assert_int_equal(validate_cancel(&M, 8, &t, &c), PW_REASON_UNKNOWN_ORDER);
	t.interval = 1000;
	t.found = 0;
	assert_int_equal(validate_cancel(&M, 8, &t, &c), PW_REASON_UNKNOWN_ORDER);
	t.found = 1;
	t.open = 0;
	assert_int_equal(validate_cancel(&M, 8, &t, &c), PW_REASON_UNKNOWN_ORDER);
	t.open = 1;
	struct validate_market late = M;
	late.now_s += 1;
	assert_int_equal(validate_cancel(&late, 8, &t, &c), PW_REASON_GATE_CLOSED);
}

static void
test_meter(void **state)
{
	(void)state;
	/* interval 1000 ended at 1001*900; 3600 W x 900 s = 900 Wh at most */
	struct validate_market m = M;
	m.now_s = 1001 * 900;
	const struct validate_meter_state S = { .serial = "SN-1",
		                                .max_export_w = 3600,
		                                .max_import_w = 7200,
		                                .last_seq = 4,
		                                .last_interval = 999,
		                                .last_export_end_wh = 100,
		                                .last_import_end_wh = 200 };
	const struct pw_meter R = { .seq = 5,
		                    .interval = 1000,
		                    .serial = "SN-1",
		                    .export_start_wh = 100,
		                    .export_end_wh = 1000,
		                    .import_start_wh = 200,
		                    .import_end_wh = 2000 };
	struct validate_meter_state s;
	struct pw_meter r;
#define RUN(setup, want)                                                                           \
	do {                                                                                       \
		s = S;                                                                             \
		r = R;                                                                             \
		setup;                                                                             \
		assert_int_equal(validate_meter(&m, &s, &r), want);                                \
	} while (0)
	RUN((void)0, PW_REASON_OK);
	RUN(r.serial[3] = '2', PW_REASON_METER_SERIAL);
	RUN(r.seq = 4, PW_REASON_REPLAY);
	RUN(s.has_reading_for_interval = 1, PW_REASON_METER_DUPLICATE);
	RUN(r.seq = 6, PW_REASON_METER_GAP);
	RUN(m.now_s -= 1, PW_REASON_METER_TOO_EARLY);
	m.now_s = 1001 * 900;
	RUN(r.export_end_wh = 99, PW_REASON_METER_BACKWARDS);
	RUN((r.export_start_wh = 99, r.export_end_wh = 500), PW_REASON_METER_BACKWARDS);
	RUN(r.import_start_wh = 201, PW_REASON_METER_CONTINUITY);
	/* after a gap in intervals, only "never backwards" */
	RUN((s.last_interval = 990, r.import_start_wh = 300, r.import_end_wh = 300), PW_REASON_OK);
	RUN(s.last_interval = 1000, PW_REASON_METER_BACKWARDS);
	RUN(r.export_end_wh = 1001, PW_REASON_METER_IMPLAUSIBLE);
	RUN(r.import_end_wh = 2001, PW_REASON_METER_IMPLAUSIBLE);
	RUN(r.export_end_wh = (uint64_t)INT64_MAX + 1, PW_REASON_METER_IMPLAUSIBLE);
	/* the first reading of a household: no continuity to check */
	RUN((s.last_seq = 0, r.seq = 1, r.export_start_wh = 5, r.export_end_wh = 5), PW_REASON_OK);
#undef RUN
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capacity), cmocka_unit_test(test_frame),
		cmocka_unit_test(test_orders),   cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_meter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
