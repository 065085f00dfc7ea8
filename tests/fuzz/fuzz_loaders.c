/*
 * fuzz_loaders.c: one libFuzzer harness for the programs' file loaders and
 * the Modbus device URL, dispatching on the first input byte (one harness
 * instead of four keeps `make fuzz` of .ci/run short):
 *   0  household registry (exchange/registry.c, registry_parse)
 *   1  exchange configuration (exchange/xconfig.c, xconfig_load_buffer)
 *   2  agent configuration (agent/aconfig.c, aconfig_load on a memfd file)
 *   3  Modbus URL (agent/modbus_link.c, mlink_url_parse)
 *   4  tariff schedule (exchange/schedule.c, schedule_parse)
 *   5  grid-fee schedule (exchange/schedule.c, fee_schedule_parse)
 * The rest of the input is the file text.  Checks promises, not survival:
 * errors read "NAME:LINE: ..." and leave the target untouched; a loaded
 * registry has valid tokens and every entry is found by id, key and curve
 * key; loaded configs obey their cross-key rules; a parsed URL is one of
 * the documented forms with NUL-terminated fields; a parsed schedule is in
 * strict time order on interval boundaries, retail >= feed-in, every fee
 * table within its limits with each pair once, and every row is the one
 * its own time looks up.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "agent/aconfig.h"
#include "agent/modbus_link.h"
#include "exchange/registry.h"
#include "exchange/schedule.h"
#include "exchange/xconfig.h"
#include "peerwatt/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
token_ok(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	if (n == 0 || n >= max)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

static void
fuzz_registry(const char *text)
{
	struct registry *r = NULL;
	char err[256] = "";
	pw_err rc = registry_parse("fuzz.reg", text, &r, err, sizeof err);
	if (rc != PW_OK) {
		if (r != NULL || (rc != PW_ERR_NOMEM && strncmp(err, "fuzz.reg:", 9) != 0))
			abort();
		return;
	}
	for (size_t i = 0; i < registry_count(r); i++) {
		const struct household *h = registry_at(r, i);
		if (h->index != i || !token_ok(h->id, sizeof h->id) ||
		    !token_ok(h->name, sizeof h->name) || !token_ok(h->zone, sizeof h->zone) ||
		    strnlen(h->serial, sizeof h->serial) >= sizeof h->serial ||
		    h->max_export_w < 0 || h->max_export_w > REGISTRY_MAX_POWER_W ||
		    h->max_import_w < 0 || h->max_import_w > REGISTRY_MAX_POWER_W)
			abort();
		if (registry_find_id(r, h->id) != h || registry_find_pk(r, h->pk) != h ||
		    registry_find_curve(r, h->curve_pk) != h)
			abort();
		/* the largest interval the exchange accepts must not overflow */
		(void)registry_capacity_wh(h, PW_SIDE_SELL, 86400);
		(void)registry_capacity_wh(h, PW_SIDE_BUY, 86400);
	}
	registry_free(&r);
	if (r != NULL)
		abort();
}

static void
fuzz_xconfig(const char *text)
{
	struct xconfig c, before;
	char err[256] = "";
	memset(&c, 0, sizeof c);
	before = c;
	pw_err rc = xconfig_load_buffer("fuzz.conf", text, &c, err, sizeof err);
	if (rc != PW_OK) {
		if (memcmp(&c, &before, sizeof c) != 0 || strncmp(err, "fuzz.conf:", 10) != 0)
			abort();
		return;
	}
	if (c.feedin_uper_kwh > c.retail_uper_kwh || c.n_fees > XCONFIG_MAX_FEES ||
	    c.gate_s >= c.interval_s || c.max_ahead_s < c.gate_s + c.interval_s ||
	    strnlen(c.market_name, sizeof c.market_name) >= sizeof c.market_name ||
	    strnlen(c.db_path, sizeof c.db_path) >= sizeof c.db_path ||
	    (strncmp(c.request_endpoint, "tcp://", 6) != 0 &&
	     strncmp(c.request_endpoint, "ipc://", 6) != 0))
		abort();
	for (size_t i = 0; i < c.n_fees; i++) {
		const struct xconfig_fee *f = &c.fees[i];
		if (!token_ok(f->zone_a, sizeof f->zone_a) ||
		    !token_ok(f->zone_b, sizeof f->zone_b))
			abort();
		/* an explicit pair wins over the defaults, in either order, unless an
		 * earlier entry named the same pair */
		int64_t fee = xconfig_fee(&c, f->zone_b, f->zone_a);
		int earlier = 0;
		for (size_t j = 0; j < i; j++)
			if ((strcmp(c.fees[j].zone_a, f->zone_a) == 0 &&
			     strcmp(c.fees[j].zone_b, f->zone_b) == 0) ||
			    (strcmp(c.fees[j].zone_a, f->zone_b) == 0 &&
			     strcmp(c.fees[j].zone_b, f->zone_a) == 0))
				earlier = 1;
		if (!earlier && fee != f->fee_uper_kwh)
			abort();
	}
}

static void
fuzz_aconfig(const uint8_t *data, size_t size)
{
	struct aconfig c, before;
	struct policy_params p;
	char path[64], err[512] = "";
	int fd = memfd_create("fuzz_aconfig", 0);
	if (fd < 0)
		return;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return;
	}
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	memset(&c, 0x5a, sizeof c);
	before = c;
	pw_err rc = aconfig_load(path, &c, err, sizeof err);
	close(fd);
	if (rc != PW_OK) {
		if (memcmp(&c, &before, sizeof c) != 0 || strncmp(err, path, strlen(path)) != 0 ||
		    err[strlen(path)] != ':')
			abort();
		return;
	}
	if (c.n_bids > ACONFIG_MAX_BIDS || c.gate_s >= c.interval_s ||
	    (c.retail_uper_kwh != 0 && c.feedin_uper_kwh > c.retail_uper_kwh) ||
	    (c.min_base == POLICY_BASE_ABS && c.retail_uper_kwh != 0 &&
	     c.min_price_uper_kwh > c.retail_uper_kwh) ||
	    (c.min_base == POLICY_BASE_RETAIL && c.min_price_uper_kwh > 0) ||
	    (unsigned)c.min_base > POLICY_BASE_RETAIL ||
	    (unsigned)c.fixed_base > POLICY_BASE_RETAIL ||
	    strnlen(c.dash_token, sizeof c.dash_token) >= sizeof c.dash_token ||
	    strnlen(c.modbus, sizeof c.modbus) >= sizeof c.modbus ||
	    strnlen(c.serial, sizeof c.serial) >= sizeof c.serial || strcmp(c.path, path) != 0)
		abort();
	for (size_t i = 0; i < c.n_bids; i++)
		if ((c.bids[i].set & 3) != 3 ||
		    (unsigned)c.bids[i].bid.max_base > POLICY_BASE_RETAIL ||
		    (c.bids[i].bid.max_base == POLICY_BASE_FEEDIN &&
		     c.bids[i].bid.max_price_uper_kwh < 0) ||
		    strnlen(c.bids[i].name, sizeof c.bids[i].name) >= sizeof c.bids[i].name)
			abort();
	aconfig_policy(&c, &p);
}

static void
fuzz_url(const char *text)
{
	struct mlink_url u;
	if (mlink_url_parse(text, &u) != PW_OK)
		return;
	if (u.kind == MLINK_TCP) {
		size_t n = strnlen(u.host, sizeof u.host);
		if (n == 0 || n >= sizeof u.host || u.port == 0 || strncmp(text, "tcp://", 6) != 0)
			abort();
	} else if (u.kind == MLINK_RTU) {
		size_t n = strnlen(u.device, sizeof u.device);
		if (n < 2 || n >= sizeof u.device || u.device[0] != '/' ||
		    (u.parity != 'N' && u.parity != 'E') || u.data_bits != 8 ||
		    (u.stop_bits != 1 && u.stop_bits != 2) || u.baud < 1200 || u.baud > 230400)
			abort();
	} else {
		abort();
	}
}

#define FUZZ_L 900u /* the schedules' interval */

static void
fuzz_tariffs(const char *text, size_t len)
{
	struct schedule s = { .rows = NULL, .n_rows = 77 };
	char msg[256] = "";
	pw_err rc = schedule_parse(text, len, FUZZ_L, &s, msg, sizeof msg);
	if (rc != PW_OK) {
		if (s.n_rows != 77 || (rc != PW_ERR_NOMEM && strncmp(msg, "line ", 5) != 0 &&
		                       strncmp(msg, "file ", 5) != 0))
			abort();
		return;
	}
	if (s.n_rows == 0 || s.n_rows > SCHEDULE_MAX_ROWS)
		abort();
	for (size_t i = 0; i < s.n_rows; i++) {
		const struct schedule_row *r = &s.rows[i];
		if (r->from_s % FUZZ_L != 0 || r->retail_uper_kwh < r->feedin_uper_kwh ||
		    (i > 0 && r->from_s <= s.rows[i - 1].from_s) || r->line == 0 ||
		    schedule_at(&s, r->from_s) != r)
			abort();
	}
	if (s.rows[0].from_s > 0 && schedule_at(&s, s.rows[0].from_s - 1) != NULL)
		abort();
	schedule_free(&s);
}

static void
fuzz_fees(const char *text, size_t len)
{
	struct fee_schedule f = { .n_tables = 77 };
	char msg[256] = "";
	pw_err rc = fee_schedule_parse(text, len, FUZZ_L, &f, msg, sizeof msg);
	if (rc != PW_OK) {
		if (f.n_tables != 77 || (rc != PW_ERR_NOMEM && strncmp(msg, "line ", 5) != 0 &&
		                         strncmp(msg, "file ", 5) != 0))
			abort();
		return;
	}
	if (f.n_tables == 0)
		abort();
	for (size_t i = 0; i < f.n_tables; i++) {
		const struct fee_table *t = &f.tables[i];
		if (t->from_s % FUZZ_L != 0 || (i > 0 && t->from_s <= f.tables[i - 1].from_s) ||
		    t->n_pairs > FEE_SCHEDULE_MAX_PAIRS || t->first + t->n_pairs > f.n_pairs ||
		    fee_schedule_at(&f, t->from_s) != t || t->line == 0 ||
		    (t->n_pairs == 0 && !t->has_same && !t->has_default))
			abort();
		for (size_t j = 0; j < t->n_pairs; j++) {
			const struct fee_pair *p = &f.pairs[t->first + j];
			if (!token_ok(p->zone_a, sizeof p->zone_a) ||
			    !token_ok(p->zone_b, sizeof p->zone_b))
				abort();
			for (size_t k = 0; k < j; k++) {
				const struct fee_pair *q = &f.pairs[t->first + k];
				if ((strcmp(p->zone_a, q->zone_a) == 0 &&
				     strcmp(p->zone_b, q->zone_b) == 0) ||
				    (strcmp(p->zone_a, q->zone_b) == 0 &&
				     strcmp(p->zone_b, q->zone_a) == 0))
					abort();
			}
		}
	}
	fee_schedule_free(&f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	if (!quiet) {
		log_init("fuzz_loaders", LOG_LEVEL_ERR); /* parse errors are expected */
		quiet = 1;
	}
	if (size < 1)
		return 0;
	unsigned which = data[0] % 6;
	data++;
	size--;
	/* NUL-terminated exact-size copy: ASan sees any read past the text */
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	switch (which) {
	case 0:
		fuzz_registry(text);
		break;
	case 1:
		fuzz_xconfig(text);
		break;
	case 2:
		fuzz_aconfig(data, size);
		break;
	case 3:
		fuzz_url(text);
		break;
	case 4:
		fuzz_tariffs(text, size);
		break;
	default:
		fuzz_fees(text, size);
		break;
	}
	free(text);
	return 0;
}
