/*
 * test_xrules.c: the market's rules and registry in the log
 * (exchange/xrules.c): genesis, the canonical MARKET entry of a
 * configuration, configurations refused against the log, registry changes
 * appended (and nothing when nothing changed), the registry the exchange
 * runs on, cache tables rebuilt from the log, migration of an old-format
 * database (and its refusals), QUERY REGISTRY's lookup by tree size,
 * the entries a signed checkpoint covers read without a signature each.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "agent/averify.h"
#include "exchange/mlog.h"
#include "exchange/registry.h"
#include "exchange/store.h"
#include "exchange/xconfig.h"
#include "exchange/xrules.h"
#include "peerwatt/keys.h"
#include "peerwatt/merkle.h"
#include "peerwatt/wire.h"

#define NOW 1710000000u

static const char conf[] = "[market]\n"
                           "name = riverside\n"
                           "id = 7\n"
                           "interval_s = 300\n"
                           "feedin = 0.08\n"
                           "retail = 0.30\n"
                           "[fees]\n"
                           "same_zone = 0.01\n"
                           "default = 0.03\n"
                           "south/north = 0.02\n"
                           "east/east = 0.01\n"
                           "[files]\n"
                           "registry = households\n"
                           "db = x.db\n"
                           "key = x.key\n";

struct env {
	struct store *s;
	struct mlog *log;
	struct pw_keypair kp, hk[4];
	struct xconfig c;
	struct xrules x;
	char err[512];
};

static void
keypair(struct pw_keypair *kp, uint8_t salt)
{
	uint8_t seed[PW_SEED_LEN];
	memset(seed, salt, sizeof(seed));
	assert_int_equal(pw_key_from_seed(kp, seed), PW_OK);
}

/* A registry of households 0..n-1 (h0 north, h1 south, ...). */
static struct registry *
reg_of(struct env *e, const char *zones[], size_t n)
{
	char text[2048] = "", hex[2 * PW_PK_LEN + 1], err[256];
	struct registry *r = NULL;
	for (size_t i = 0; i < n; i++) {
		if (zones[i] == NULL)
			continue;
		pw_hex_encode(e->hk[i].pk, PW_PK_LEN, hex);
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
		         "h%zu house%zu %s SER-%zu %s 5000 9000\n", i, i, hex, i, zones[i]);
	}
	assert_int_equal(registry_parse("reg", text, &r, err, sizeof(err)), PW_OK);
	return r;
}

static void
env_open(struct env *e)
{
	memset(e, 0, sizeof(*e));
	keypair(&e->kp, 0xe1);
	for (int i = 0; i < 4; i++)
		keypair(&e->hk[i], (uint8_t)(0x10 + i));
	assert_int_equal(xconfig_load_buffer("x.conf", conf, &e->c, e->err, sizeof(e->err)), PW_OK);
	assert_int_equal(store_open(":memory:", &e->s), PW_OK);
	assert_int_equal(mlog_open(&e->log, store_db(e->s)), PW_OK);
}

static void
env_close(struct env *e)
{
	xrules_free(&e->x);
	mlog_close(&e->log);
	store_close(&e->s);
}

static uint8_t
entry_type(struct env *e, uint64_t idx, struct pw_msg *m)
{
	uint8_t buf[8192], type = 0;
	size_t len = 0;
	assert_int_equal(mlog_get(e->log, idx, buf, sizeof(buf), &len, &type), PW_OK);
	if (m != NULL)
		assert_int_equal(pw_wire_open(buf, len, 7, m), PW_OK);
	return type;
}

static long long
sql_int(struct env *e, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v = -1;
	assert_int_equal(sqlite3_prepare_v2(store_db(e->s), sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void
sql(struct env *e, const char *q)
{
	assert_int_equal(sqlite3_exec(store_db(e->s), q, NULL, NULL, NULL), SQLITE_OK);
}

static void
test_genesis(void **state)
{
	struct env e;
	struct pw_msg m;
	const char *zones[] = { "north", "south", "north" };
	(void)state;
	env_open(&e);
	struct registry *r = reg_of(&e, zones, 3);
	assert_int_equal(xrules_open(&e.x, e.s, e.log, &e.kp, &e.c, r, NOW, e.err, sizeof(e.err)),
	                 PW_OK);
	assert_int_equal(e.x.created, 1);
	assert_int_equal(mlog_size(e.log), 4);
	assert_int_equal(entry_type(&e, 0, &m), PW_MSG_MARKET);
	assert_memory_equal(m.author, e.kp.pk, PW_PK_LEN);
	assert_int_equal(m.u.market.effective_interval, 0);
	assert_int_equal(m.u.market.time_s, NOW);
	assert_string_equal(m.u.market.name, "riverside");
	assert_memory_equal(m.u.market.currency, "EUR", 3);
	assert_int_equal(m.u.market.interval_s, 300);
	assert_int_equal(m.u.market.gate_s, 60);
	assert_int_equal(m.u.market.retail_uper_kwh, 300000);
	assert_int_equal(m.u.market.fee_default_uper_kwh, 30000);
	/* east/east at the same-zone fee is left out; south/north is canonical */
	assert_int_equal(m.u.market.n_fees, 1);
	assert_string_equal(m.u.market.fees[0].zone_a, "north");
	assert_string_equal(m.u.market.fees[0].zone_b, "south");
	assert_int_equal(m.u.market.fees[0].fee_uper_kwh, 20000);
	for (uint64_t i = 1; i < 4; i++) {
		assert_int_equal(entry_type(&e, i, &m), PW_MSG_REGISTRY);
		assert_memory_equal(m.u.registry.household, e.hk[i - 1].pk, PW_PK_LEN);
		assert_int_equal(m.u.registry.revoked, 0);
		assert_int_equal(m.u.registry.max_import_w, 9000);
	}
	assert_int_equal(e.x.n_hh, 3);
	assert_int_equal(e.x.n_markets, 1);
	const struct xrules_hh *h = xrules_find(&e.x, e.hk[1].pk);
	assert_non_null(h);
	assert_int_equal(h->idx, 2);
	assert_string_equal(h->r.zone, "south");
	assert_null(xrules_find(&e.x, e.hk[3].pk));
	assert_int_equal(xrules_check_config(&e.x, &e.c, e.err, sizeof(e.err)), PW_OK);
	/* a second open reads the same log and appends nothing */
	xrules_free(&e.x);
	assert_int_equal(
	    xrules_open(&e.x, e.s, e.log, &e.kp, &e.c, r, NOW + 5, e.err, sizeof(e.err)), PW_OK);
	assert_int_equal(e.x.created, 0);
	assert_int_equal(mlog_size(e.log), 4);
	assert_int_equal(e.x.n_hh, 3);
	/* another market id or key: the log's entries do not open for it */
	struct xrules other;
	struct xconfig c2 = e.c;
	c2.market_id = 8;
	assert_int_equal(xrules_open(&other, e.s, e.log, &e.kp, &c2, r, NOW, e.err, sizeof(e.err)),
	                 PW_ERR_CORRUPT);
	assert_non_null(strstr(e.err, "does not open in market 8"));
	xrules_free(&other);
	assert_int_equal(
	    xrules_open(&other, e.s, e.log, &e.hk[0], &e.c, r, NOW, e.err, sizeof(e.err)),
	    PW_ERR_CORRUPT);
	assert_non_null(strstr(e.err, "signed by another key"));
	xrules_free(&other);
	registry_free(&r);
	env_close(&e);
}

static void
test_config_refusals(void **state)
{
	struct env e;
	const char *zones[] = { "north" };
	struct xconfig c;
	(void)state;
	env_open(&e);
	struct registry *r = reg_of(&e, zones, 1);
	assert_int_equal(xrules_open(&e.x, e.s, e.log, &e.kp, &e.c, r, NOW, e.err, sizeof(e.err)),
	                 PW_OK);
	c = e.c;
	c.interval_s = 600;
	assert_int_equal(xrules_check_config(&e.x, &c, e.err, sizeof(e.err)), PW_ERR_CONFIG);
	assert_non_null(strstr(e.err, "interval_s is 300 in the log (entry 0) and 600"));
	c = e.c;
	c.grace_s = 1;
	assert_int_equal(xrules_check_config(&e.x, &c, e.err, sizeof(e.err)), PW_ERR_CONFIG);
	assert_non_null(strstr(e.err, "grace_s"));
	c = e.c;
	memcpy(c.currency, "CHF", 4);
	assert_int_equal(xrules_check_config(&e.x, &c, e.err, sizeof(e.err)), PW_ERR_CONFIG);
	assert_non_null(strstr(e.err, "currency is EUR"));
	c = e.c;
	snprintf(c.market_name, sizeof(c.market_name), "elsewhere");
	assert_int_equal(xrules_check_config(&e.x, &c, e.err, sizeof(e.err)), PW_ERR_CONFIG);
	/* tariffs and fees may differ (a MARKET entry is appended for them) */
	c = e.c;
	c.retail_uper_kwh = 310000;
	assert_int_equal(xrules_check_config(&e.x, &c, e.err, sizeof(e.err)), PW_OK);
	assert_int_equal(xrules_tariffs_differ(&e.x, &c), 1);
	c = e.c;
	c.fees[0].fee_uper_kwh = 20001;
	assert_int_equal(xrules_tariffs_differ(&e.x, &c), 1);
	c = e.c;
	c.fee_default_uper_kwh = 1;
	assert_int_equal(xrules_tariffs_differ(&e.x, &c), 1);
	/* the same pair written the other way round states the same rules */
	c = e.c;
	snprintf(c.fees[0].zone_a, sizeof(c.fees[0].zone_a), "north");
	snprintf(c.fees[0].zone_b, sizeof(c.fees[0].zone_b), "south");
	assert_int_equal(xrules_check_config(&e.x, &c, e.err, sizeof(e.err)), PW_OK);
	assert_int_equal(xrules_tariffs_differ(&e.x, &c), 0);
	registry_free(&r);
	env_close(&e);
}

static void
test_registry_changes(void **state)
{
	struct env e;
	struct pw_msg m;
	size_t n = 99;
	struct registry *running = NULL;
	(void)state;
	env_open(&e);
	const char *z0[] = { "north", "south", "north" };
	struct registry *r = reg_of(&e, z0, 3);
	assert_int_equal(xrules_open(&e.x, e.s, e.log, &e.kp, &e.c, r, NOW, e.err, sizeof(e.err)),
	                 PW_OK);
	assert_int_equal(xrules_sync_registry(&e.x, e.s, e.log, &e.kp, r, NOW, &n), PW_OK);
	assert_int_equal(n, 0);
	assert_int_equal(mlog_size(e.log), 4);
	registry_free(&r);

	/* h1 changes zone, h2 goes, h3 comes */
	const char *z1[] = { "north", "west", NULL, "east" };
	r = reg_of(&e, z1, 4);
	{
		/* the plan names them in the order they are appended, h1's
		 * change field by field; nothing written */
		struct xrules_change *ch = NULL;
		size_t n_ch = 0;
		char diff[256];
		assert_int_equal(xrules_registry_plan(&e.x, r, NOW + 1, &ch, &n_ch), PW_OK);
		assert_int_equal(n_ch, 3);
		assert_string_equal(ch[0].what, "changed");
		xrules_change_text(&e.x, &ch[0], diff, sizeof(diff));
		assert_string_equal(diff, "zone south -> west");
		assert_string_equal(ch[1].what, "new");
		xrules_change_text(&e.x, &ch[1], diff, sizeof(diff));
		assert_string_equal(diff, "");
		assert_string_equal(ch[2].what, "revoked");
		assert_int_equal(ch[2].r.revoked, 1);
		free(ch);
		assert_int_equal(mlog_size(e.log), 4);
	}
	assert_int_equal(xrules_sync_registry(&e.x, e.s, e.log, &e.kp, r, NOW + 1, &n), PW_OK);
	assert_int_equal(n, 3);
	assert_int_equal(mlog_size(e.log), 7);
	assert_int_equal(entry_type(&e, 4, &m), PW_MSG_REGISTRY);
	assert_memory_equal(m.u.registry.household, e.hk[1].pk, PW_PK_LEN);
	assert_string_equal(m.u.registry.zone, "west");
	assert_int_equal(entry_type(&e, 5, &m), PW_MSG_REGISTRY);
	assert_memory_equal(m.u.registry.household, e.hk[3].pk, PW_PK_LEN);
	assert_int_equal(entry_type(&e, 6, &m), PW_MSG_REGISTRY);
	assert_memory_equal(m.u.registry.household, e.hk[2].pk, PW_PK_LEN);
	assert_int_equal(m.u.registry.revoked, 1);
	assert_string_equal(m.u.registry.zone, "north"); /* its last fields, revoked */
	assert_int_equal(m.u.registry.time_s, NOW + 1);
	assert_int_equal(xrules_find(&e.x, e.hk[2].pk)->idx, 6);
	assert_int_equal(xrules_find(&e.x, e.hk[2].pk)->r.revoked, 1);
	/* the running registry: the log's registered households */
	assert_int_equal(xrules_registry(&e.x, &running), PW_OK);
	assert_int_equal(registry_count(running), 3);
	assert_null(registry_find_pk(running, e.hk[2].pk));
	assert_string_equal(registry_find_pk(running, e.hk[1].pk)->zone, "west");
	assert_int_equal(registry_find_pk(running, e.hk[3].pk)->max_export_w, 5000);
	registry_free(&running);
	/* the same file again: nothing */
	assert_int_equal(xrules_sync_registry(&e.x, e.s, e.log, &e.kp, r, NOW + 2, &n), PW_OK);
	assert_int_equal(n, 0);
	registry_free(&r);
	/* h2 registered again */
	const char *z2[] = { "north", "west", "north", "east" };
	r = reg_of(&e, z2, 4);
	assert_int_equal(xrules_sync_registry(&e.x, e.s, e.log, &e.kp, r, NOW + 3, &n), PW_OK);
	assert_int_equal(n, 1);
	assert_int_equal(entry_type(&e, 7, &m), PW_MSG_REGISTRY);
	assert_int_equal(m.u.registry.revoked, 0);
	/* what the log holds is what a new read finds */
	struct xrules again;
	memset(&again, 0, sizeof(again));
	again.market_id = 7;
	memcpy(again.exchange_pk, e.kp.pk, PW_PK_LEN);
	assert_int_equal(xrules_read(&again, store_db(e.s), 0, e.err, sizeof(e.err)), PW_OK);
	assert_int_equal(again.n_hh, e.x.n_hh);
	for (size_t i = 0; i < again.n_hh; i++) {
		assert_memory_equal(&again.hh[i].r, &e.x.hh[i].r, sizeof(again.hh[i].r));
		assert_int_equal(again.hh[i].idx, e.x.hh[i].idx);
	}
	xrules_free(&again);

	/* QUERY REGISTRY: the latest entry of a key among the first `size` */
	uint8_t buf[1024];
	size_t len = 0;
	uint64_t idx = 0;
	assert_int_equal(
	    xrules_find_entry(store_db(e.s), e.hk[1].pk, 8, &idx, buf, sizeof(buf), &len), PW_OK);
	assert_int_equal(idx, 4);
	assert_int_equal(
	    xrules_find_entry(store_db(e.s), e.hk[1].pk, 4, &idx, buf, sizeof(buf), &len), PW_OK);
	assert_int_equal(idx, 2);
	assert_int_equal(len, 2 + 32 + 177 + 64);
	assert_int_equal(pw_wire_open(buf, len, 7, &m), PW_OK);
	assert_string_equal(m.u.registry.zone, "south");
	assert_int_equal(
	    xrules_find_entry(store_db(e.s), e.hk[1].pk, 2, &idx, buf, sizeof(buf), &len),
	    PW_ERR_NOTFOUND);
	assert_int_equal(
	    xrules_find_entry(store_db(e.s), e.hk[3].pk, 5, &idx, buf, sizeof(buf), &len),
	    PW_ERR_NOTFOUND);
	assert_int_equal(xrules_find_entry(store_db(e.s), e.hk[1].pk, 8, &idx, buf, 10, &len),
	                 PW_ERR_FULL);
	/* its inclusion proof verifies against the root of that size */
	struct pw_proof p;
	uint8_t leaf[MERKLE_HASH_LEN], root[MERKLE_HASH_LEN];
	assert_int_equal(
	    xrules_find_entry(store_db(e.s), e.hk[3].pk, 8, &idx, buf, sizeof(buf), &len), PW_OK);
	assert_int_equal(mlog_prove_inclusion(e.log, idx, 8, &p), PW_OK);
	merkle_leaf_hash(buf, len, leaf);
	mlog_root(e.log, root);
	assert_int_equal(mlog_size(e.log), 8);
	assert_int_equal(merkle_verify_inclusion(idx, 8, leaf,
	                                         (const uint8_t(*)[MERKLE_HASH_LEN])p.hashes,
	                                         p.n_hashes, root),
	                 PW_OK);
	registry_free(&r);
	env_close(&e);
}

static void
test_caches(void **state)
{
	struct env e;
	int rebuilt = -1;
	const char *zones[] = { "north", "south" };
	(void)state;
	env_open(&e);
	struct registry *r = reg_of(&e, zones, 2);
	assert_int_equal(xrules_open(&e.x, e.s, e.log, &e.kp, &e.c, r, NOW, e.err, sizeof(e.err)),
	                 PW_OK);
	assert_int_equal(xrules_caches(&e.x, e.s, 0, &rebuilt), PW_OK);
	assert_int_equal(rebuilt, 7); /* a new database: every table written */
	assert_int_equal(xrules_caches(&e.x, e.s, 1, &rebuilt), PW_OK);
	assert_int_equal(rebuilt, 0);
	assert_int_equal(sql_int(&e, "SELECT value FROM params WHERE key = 'gate_s'"), 60);
	assert_int_equal(sql_int(&e, "SELECT value FROM params WHERE key = 'market_id'"), 7);
	assert_int_equal(sql_int(&e, "SELECT count(*) FROM params"), 12);
	/* explicit pair + (zone, zone) at the same-zone fee per zone */
	assert_int_equal(sql_int(&e, "SELECT count(*) FROM fees"), 3);
	assert_int_equal(sql_int(&e, "SELECT fee_uper_kwh FROM fees WHERE zone_a = 'south' AND "
	                             "zone_b = 'south'"),
	                 10000);
	/* edits behind the log, each found and undone */
	sql(&e, "UPDATE params SET value = 61 WHERE key = 'gate_s'");
	assert_int_equal(xrules_caches(&e.x, e.s, 1, &rebuilt), PW_OK);
	assert_int_equal(rebuilt, 1);
	assert_int_equal(sql_int(&e, "SELECT value FROM params WHERE key = 'gate_s'"), 60);
	sql(&e, "INSERT INTO params VALUES ('extra', 1)");
	assert_int_equal(xrules_caches(&e.x, e.s, 1, &rebuilt), PW_OK);
	assert_int_equal(rebuilt, 1);
	sql(&e, "UPDATE params SET value = '60' WHERE key = 'gate_s'"); /* text, not integer */
	assert_int_equal(xrules_caches(&e.x, e.s, 1, &rebuilt), PW_OK);
	assert_int_equal(rebuilt, 1);
	sql(&e, "INSERT INTO fees VALUES ('south', 'north', 1)");
	assert_int_equal(xrules_caches(&e.x, e.s, 1, &rebuilt), PW_OK);
	assert_int_equal(rebuilt, 2);
	/* the pair the other way round at the same fee, and a same-zone row at
	 * the same-zone fee, state the same rules: not an edit */
	sql(&e, "DELETE FROM fees WHERE zone_a = 'north' AND zone_b = 'south'");
	sql(&e, "INSERT INTO fees VALUES ('south', 'north', 20000), ('west', 'west', 10000)");
	assert_int_equal(xrules_caches(&e.x, e.s, 1, &rebuilt), PW_OK);
	assert_int_equal(rebuilt, 0);
	sql(&e, "UPDATE households SET zone = 'west' WHERE id = 'h0'");
	assert_int_equal(xrules_caches(&e.x, e.s, 1, &rebuilt), PW_OK);
	assert_int_equal(rebuilt, 4);
	sql(&e, "UPDATE households SET revoked = 1 WHERE id = 'h1'");
	sql(&e, "UPDATE params SET value = 1 WHERE key = 'retail_uper_kwh'");
	assert_int_equal(xrules_caches(&e.x, e.s, 1, &rebuilt), PW_OK);
	assert_int_equal(rebuilt, 5);
	assert_int_equal(sql_int(&e, "SELECT count(*) FROM households WHERE revoked = 0"), 2);
	sql(&e, "DELETE FROM households WHERE id = 'h1'");
	assert_int_equal(xrules_caches(&e.x, e.s, 1, &rebuilt), PW_OK);
	assert_int_equal(rebuilt, 4);
	assert_int_equal(xrules_caches(&e.x, e.s, 1, &rebuilt), PW_OK);
	assert_int_equal(rebuilt, 0);
	registry_free(&r);
	env_close(&e);
}

static void
test_tariff_change(void **state)
{
	struct env e;
	struct pw_msg m;
	const char *zones[] = { "north", "south" };
	struct xconfig c;
	uint64_t eff = 0;
	int rebuilt = 0;
	(void)state;
	env_open(&e);
	struct registry *r = reg_of(&e, zones, 2);
	assert_int_equal(xrules_open(&e.x, e.s, e.log, &e.kp, &e.c, r, NOW, e.err, sizeof(e.err)),
	                 PW_OK);
	assert_int_equal(xrules_caches(&e.x, e.s, 0, NULL), PW_OK);
	assert_int_equal(xrules_tariffs_differ(&e.x, &e.c), 0);
	c = e.c;
	c.retail_uper_kwh = 250000;
	c.fees[0].fee_uper_kwh = 25000; /* south/north */
	assert_int_equal(xrules_check_config(&e.x, &c, e.err, sizeof(e.err)), PW_OK);
	assert_int_equal(xrules_tariffs_differ(&e.x, &c), 1);
	uint64_t before = mlog_size(e.log);
	assert_int_equal(xrules_append_market(&e.x, e.s, e.log, &e.kp, &c, NOW + 10, &eff), PW_OK);
	/* the first interval beyond now + max_ahead: no order can target it yet */
	assert_int_equal(eff, (NOW + 10 + 86400) / 300 + 1);
	assert_int_equal(mlog_size(e.log), before + 1);
	assert_int_equal(entry_type(&e, before, &m), PW_MSG_MARKET);
	assert_int_equal(m.u.market.effective_interval, eff);
	assert_int_equal(m.u.market.time_s, NOW + 10);
	assert_int_equal(m.u.market.interval_s, 300);
	assert_int_equal(m.u.market.retail_uper_kwh, 250000);
	assert_string_equal(m.u.market.name, "riverside");
	assert_int_equal(e.x.n_markets, 2);
	assert_int_equal(e.x.market_idx, before);
	/* the rules per interval */
	assert_int_equal(xrules_market_at(&e.x, 0)->retail_uper_kwh, 300000);
	assert_int_equal(xrules_market_at(&e.x, eff - 1)->retail_uper_kwh, 300000);
	assert_int_equal(xrules_market_at(&e.x, eff)->retail_uper_kwh, 250000);
	assert_int_equal(xrules_market_at(&e.x, UINT64_MAX)->retail_uper_kwh, 250000);
	assert_int_equal(xrules_fee(&e.x, xrules_market_at(&e.x, eff - 1), "south", "north"),
	                 20000);
	assert_int_equal(xrules_fee(&e.x, xrules_market_at(&e.x, eff), "south", "north"), 25000);
	assert_int_equal(xrules_fee(&e.x, xrules_market_at(&e.x, eff), "north", "south"), 25000);
	assert_int_equal(xrules_fee(&e.x, xrules_market_at(&e.x, eff), "east", "east"), 10000);
	assert_int_equal(xrules_fee(&e.x, xrules_market_at(&e.x, eff), "east", "west"), 30000);
	/* QUERY MARKET: the entry governing an interval among the first `size`
	 * log entries, the exact logged frame */
	{
		static uint8_t buf[8192];
		size_t len = 0;
		uint64_t idx = 99;
		sqlite3 *db = store_db(e.s);
		struct pw_msg *k = malloc(sizeof(*k));
		assert_non_null(k);
		assert_int_equal(
		    xrules_find_market(db, eff - 1, before + 1, &idx, buf, sizeof(buf), &len),
		    PW_OK);
		assert_int_equal(idx, 0);
		assert_int_equal(
		    xrules_find_market(db, eff, before + 1, &idx, buf, sizeof(buf), &len), PW_OK);
		assert_int_equal(idx, before);
		assert_int_equal(pw_wire_open(buf, len, 7, k), PW_OK);
		assert_int_equal(k->type, PW_MSG_MARKET);
		assert_int_equal(k->u.market.retail_uper_kwh, 250000);
		/* the agent's fee rule (agent/averify.c) is the exchange's */
		const char *z[] = { "north", "south", "east", "west" };
		for (int i = 0; i < 4; i++)
			for (int j = 0; j < 4; j++)
				assert_int_equal(
				    averify_market_fee(&k->u.market, z[i], z[j]),
				    xrules_fee(&e.x, xrules_market_at(&e.x, eff), z[i], z[j]));
		assert_int_equal(
		    xrules_find_market(db, UINT64_MAX, before + 1, &idx, buf, sizeof(buf), &len),
		    PW_OK);
		assert_int_equal(idx, before);
		/* among the entries before it: the genesis governs every interval */
		assert_int_equal(xrules_find_market(db, eff, before, &idx, buf, sizeof(buf), &len),
		                 PW_OK);
		assert_int_equal(idx, 0);
		assert_int_equal(xrules_find_market(db, eff, 0, &idx, buf, sizeof(buf), &len),
		                 PW_ERR_NOTFOUND);
		assert_int_equal(xrules_find_market(db, eff, before + 1, &idx, buf, 10, &len),
		                 PW_ERR_FULL);
		free(k);
	}
	/* the configuration now states the log's latest rules */
	assert_int_equal(xrules_tariffs_differ(&e.x, &c), 0);
	assert_int_equal(xrules_tariffs_differ(&e.x, &e.c), 1);
	/* the caches follow the latest entry */
	assert_int_equal(xrules_caches(&e.x, e.s, 0, &rebuilt), PW_OK);
	assert_int_equal(rebuilt, 3);
	assert_int_equal(sql_int(&e, "SELECT value FROM params WHERE key = 'retail_uper_kwh'"),
	                 250000);
	/* a new read finds both entries */
	xrules_free(&e.x);
	assert_int_equal(xrules_open(&e.x, e.s, e.log, &e.kp, &c, r, NOW, e.err, sizeof(e.err)),
	                 PW_OK);
	assert_int_equal(e.x.n_markets, 2);
	assert_int_equal(xrules_market_at(&e.x, eff - 1)->retail_uper_kwh, 300000);
	assert_int_equal(xrules_market_at(&e.x, eff)->retail_uper_kwh, 250000);
	/* back again with the clock behind: never effective before the latest */
	uint64_t eff2 = 0;
	assert_int_equal(xrules_append_market(&e.x, e.s, e.log, &e.kp, &e.c, NOW - 900, &eff2),
	                 PW_OK);
	/* published is final: the entry from eff keeps it, the new one
	 * follows it */
	assert_int_equal(eff2, eff + 1);
	assert_int_equal(xrules_market_at(&e.x, eff)->retail_uper_kwh, 250000);
	assert_int_equal(xrules_market_at(&e.x, eff + 1)->retail_uper_kwh, 300000);
	assert_int_equal(xrules_market_at(&e.x, eff - 1)->retail_uper_kwh, 300000);
	assert_int_equal(e.x.n_markets, 3);
	/* the third entry has the genesis fee table again: interned, shared */
	assert_int_equal(e.x.n_tables, 2);
	assert_int_equal(e.x.markets[2].table, e.x.markets[0].table);
	assert_int_equal(xrules_fee(&e.x, xrules_market_at(&e.x, eff + 1), "north", "south"),
	                 20000);
	/* the outlook: the entry governing interval a, then every later one */
	{
		uint64_t idx[PW_SCHEDULE_MAX], i2 = e.x.markets[1].idx, i3 = e.x.market_idx;
		assert_int_equal(xrules_schedule(&e.x, 0, idx, PW_SCHEDULE_MAX), 3);
		assert_int_equal(idx[0], 0);
		assert_int_equal(idx[1], i2);
		assert_int_equal(idx[2], i3);
		assert_int_equal(xrules_schedule(&e.x, eff, idx, PW_SCHEDULE_MAX), 2);
		assert_int_equal(idx[0], i2);
		assert_int_equal(xrules_schedule(&e.x, eff + 1, idx, PW_SCHEDULE_MAX), 1);
		assert_int_equal(idx[0], i3);
		assert_int_equal(xrules_schedule(&e.x, UINT64_MAX, idx, PW_SCHEDULE_MAX), 1);
		assert_int_equal(xrules_schedule(&e.x, 0, idx, 2), 2);
		assert_int_equal(idx[1], i2);
		/* a log of the old rule (an entry from the same interval as the
		 * one before it, which it replaces): the replaced one governs no
		 * interval and is left out */
		struct pw_msg *k = calloc(1, sizeof(*k));
		uint8_t buf[8192];
		size_t len = 0;
		uint64_t i4 = 0;
		assert_non_null(k);
		k->type = PW_MSG_MARKET;
		assert_int_equal(xrules_market_of(&c, NOW, eff + 1, &k->u.market), PW_OK);
		assert_int_equal(pw_wire_encode(k, 7, &e.kp, buf, sizeof(buf), &len), PW_OK);
		assert_int_equal(store_begin(e.s), PW_OK);
		assert_int_equal(mlog_append(e.log, buf, len, &i4), PW_OK);
		assert_int_equal(store_commit(e.s), PW_OK);
		free(k);
		assert_int_equal(xrules_read(&e.x, store_db(e.s), 0, e.err, sizeof(e.err)), PW_OK);
		assert_int_equal(e.x.n_markets, 4);
		assert_int_equal(xrules_market_at(&e.x, eff + 1)->retail_uper_kwh, 250000);
		assert_int_equal(xrules_schedule(&e.x, 0, idx, PW_SCHEDULE_MAX), 3);
		assert_int_equal(idx[2], i4);
		assert_int_equal(xrules_schedule(&e.x, eff, idx, PW_SCHEDULE_MAX), 2);
		assert_int_equal(idx[1], i4);
		assert_int_equal(e.x.n_tables, 2);
	}
	/* a change of the interval is still refused */
	c.interval_s = 600;
	assert_int_equal(xrules_check_config(&e.x, &c, e.err, sizeof(e.err)), PW_ERR_CONFIG);
	registry_free(&r);
	env_close(&e);
}

/* An old-format database: tables as the exchange before issue 15 wrote
 * them, and a log without MARKET entry. */
static void
old_db(struct env *e, struct registry *r)
{
	struct store_params p = { .market_id = 7,
		                  .market_name = "riverside",
		                  .interval_s = 300,
		                  .gate_s = 60,
		                  .grace_s = 60,
		                  .feedin_uper_kwh = 80000,
		                  .retail_uper_kwh = 300000 };
	struct pw_msg m;
	uint8_t buf[512];
	size_t len;
	uint64_t idx;
	memcpy(p.exchange_pk, e->kp.pk, PW_PK_LEN);
	assert_int_equal(store_begin(e->s), PW_OK);
	assert_int_equal(store_put_params(e->s, &p), PW_OK);
	assert_int_equal(store_put_param(e->s, "fee_default_uper_kwh", 30000), PW_OK);
	assert_int_equal(store_put_param(e->s, "fee_same_zone_uper_kwh", 10000), PW_OK);
	assert_int_equal(store_put_param(e->s, "max_ahead_s", 86400), PW_OK);
	assert_int_equal(store_put_fee(e->s, "south", "north", 20000), PW_OK);
	assert_int_equal(store_put_fee(e->s, "north", "north", 10000), PW_OK);
	assert_int_equal(store_put_fee(e->s, "south", "south", 10000), PW_OK);
	assert_int_equal(store_sync_households(e->s, r), PW_OK);
	/* two household entries before the migration */
	for (int i = 0; i < 2; i++) {
		memset(&m, 0, sizeof(m));
		m.type = PW_MSG_ORDER;
		m.u.order = (struct pw_order){ .seq = 1,
			                       .interval = 5,
			                       .expiry_s = 9,
			                       .qty_wh = 1,
			                       .price_uper_kwh = 90000,
			                       .side = PW_SIDE_SELL };
		assert_int_equal(pw_wire_encode(&m, 7, &e->hk[i], buf, sizeof(buf), &len), PW_OK);
		assert_int_equal(mlog_append(e->log, buf, len, &idx), PW_OK);
	}
	assert_int_equal(store_commit(e->s), PW_OK);
}

static void
test_migration(void **state)
{
	struct env e;
	struct pw_msg m;
	int rebuilt = -1;
	const char *zones[] = { "north", "south", "north" };
	(void)state;
	env_open(&e);
	struct registry *r = reg_of(&e, zones, 3);
	old_db(&e, r);
	sql(&e, "UPDATE households SET revoked = 1 WHERE id = 'h2'");
	assert_int_equal(
	    xrules_open(&e.x, e.s, e.log, &e.kp, &e.c, NULL, NOW, e.err, sizeof(e.err)), PW_OK);
	assert_int_equal(e.x.created, 2);
	assert_int_equal(e.x.created_idx, 2);
	assert_int_equal(mlog_size(e.log), 2 + 1 + 3);
	assert_int_equal(entry_type(&e, 2, &m), PW_MSG_MARKET);
	assert_int_equal(m.u.market.effective_interval, 0);
	assert_int_equal(m.u.market.grace_s, 60);
	assert_int_equal(m.u.market.n_fees, 1); /* (z, z) rows at the same-zone fee left out */
	assert_string_equal(m.u.market.fees[0].zone_a, "north");
	assert_int_equal(entry_type(&e, 5, &m), PW_MSG_REGISTRY);
	assert_memory_equal(m.u.registry.household, e.hk[2].pk, PW_PK_LEN);
	assert_int_equal(m.u.registry.revoked, 1);
	/* the configuration states the same rules; the tables already equal the log
	 * but for the currency the old format did not store */
	assert_int_equal(xrules_check_config(&e.x, &e.c, e.err, sizeof(e.err)), PW_OK);
	assert_int_equal(xrules_caches(&e.x, e.s, 0, &rebuilt), PW_OK);
	assert_int_equal(rebuilt, 1);
	/* once only */
	xrules_free(&e.x);
	assert_int_equal(
	    xrules_open(&e.x, e.s, e.log, &e.kp, &e.c, NULL, NOW, e.err, sizeof(e.err)), PW_OK);
	assert_int_equal(e.x.created, 0);
	assert_int_equal(mlog_size(e.log), 6);
	registry_free(&r);
	env_close(&e);
}

static void
test_migration_refusals(void **state)
{
	static const struct {
		const char *sql;
		pw_err want;
		const char *says;
	} cases[] = {
		{ "UPDATE params SET value = 8 WHERE key = 'market_id'", PW_ERR_CONFIG,
		  "market id 8" },
		{ "UPDATE params SET value = 'ab' WHERE key = 'exchange_pk'", PW_ERR_CONFIG,
		  "signed by exchange key ab" },
		{ "INSERT INTO fees VALUES ('north', 'south', 5)", PW_ERR_CORRUPT,
		  "listed twice with different fees" },
		{ "DELETE FROM params WHERE key = 'interval_s'", PW_ERR_CORRUPT, "no interval_s" },
		{ "UPDATE params SET value = 300 WHERE key = 'gate_s'", PW_ERR_CORRUPT,
		  "do not make a valid MARKET entry" },
		{ "UPDATE households SET zone = 'a b' WHERE id = 'h1'", PW_ERR_CORRUPT,
		  "household h1 does not make a valid REGISTRY entry" },
	};
	const char *zones[] = { "north", "south" };
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct env e;
		env_open(&e);
		struct registry *r = reg_of(&e, zones, 2);
		old_db(&e, r);
		sql(&e, cases[i].sql);
		pw_err rc =
		    xrules_open(&e.x, e.s, e.log, &e.kp, &e.c, NULL, NOW, e.err, sizeof(e.err));
		if (rc != cases[i].want || strstr(e.err, cases[i].says) == NULL)
			fail_msg("%s: got %s '%s'", cases[i].sql, pw_strerror(rc), e.err);
		assert_int_equal(mlog_size(e.log), 2); /* nothing appended */
		registry_free(&r);
		env_close(&e);
	}
}

/* Replace entry idx's frame with one whose last byte (in its signature)
 * is flipped: the stored leaf no longer hashes it. */
static void
flip_signature(struct env *e, uint64_t idx)
{
	uint8_t buf[8192], type = 0;
	size_t len = 0;
	sqlite3_stmt *st = NULL;
	assert_int_equal(mlog_get(e->log, idx, buf, sizeof(buf), &len, &type), PW_OK);
	buf[len - 1] ^= 0x01;
	assert_int_equal(sqlite3_prepare_v2(store_db(e->s),
	                                    "UPDATE log SET frame = ?1 WHERE idx = ?2", -1, &st,
	                                    NULL),
	                 SQLITE_OK);
	sqlite3_bind_blob(st, 1, buf, (int)len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)idx);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

/* The entries a signed checkpoint covers are read without a signature
 * check each (start time: one verification instead of one per MARKET
 * entry), and nothing else is: another key's or market's checkpoint
 * covers nothing; a frame rewritten below the checkpoint is caught by the
 * log's own check at open, before the rules are read. */
static void
test_signed_checkpoint(void **state)
{
	struct env e;
	struct xrules again;
	uint8_t frame[1024];
	size_t len = 0;
	const char *zones[] = { "north", "south", "north" };
	(void)state;
	env_open(&e);
	struct registry *r = reg_of(&e, zones, 3);
	assert_int_equal(xrules_open(&e.x, e.s, e.log, &e.kp, &e.c, r, NOW, e.err, sizeof(e.err)),
	                 PW_OK);
	assert_int_equal(mlog_size(e.log), 4);
	assert_int_equal(mlog_signed_size(e.log, 7, e.kp.pk), 0); /* no checkpoint yet */
	assert_int_equal(
	    mlog_checkpoint(e.log, &e.kp, 7, "riverside", 1, NOW, frame, sizeof(frame), &len),
	    PW_OK);
	assert_int_equal(mlog_signed_size(e.log, 7, e.kp.pk), 4);
	assert_int_equal(mlog_signed_size(e.log, 8, e.kp.pk), 0);    /* another market */
	assert_int_equal(mlog_signed_size(e.log, 7, e.hk[0].pk), 0); /* another key */

	/* entry 2's signature broken behind the log's back: only what the
	 * checkpoint covers is taken unchecked */
	flip_signature(&e, 2);
	memset(&again, 0, sizeof(again));
	again.market_id = 7;
	memcpy(again.exchange_pk, e.kp.pk, PW_PK_LEN);
	assert_int_equal(xrules_read(&again, store_db(e.s), 4, e.err, sizeof(e.err)), PW_OK);
	assert_int_equal(again.n_hh, 3);
	assert_int_equal(xrules_read(&again, store_db(e.s), 2, e.err, sizeof(e.err)),
	                 PW_ERR_CORRUPT);
	assert_non_null(strstr(e.err, "log entry 2 (REGISTRY) does not open in market 7"));
	assert_int_equal(xrules_read(&again, store_db(e.s), 0, e.err, sizeof(e.err)),
	                 PW_ERR_CORRUPT);
	xrules_free(&again);
	/* ... and at open the log refuses the frame its leaf does not hash */
	struct mlog *reopened = NULL;
	assert_int_equal(mlog_open(&reopened, store_db(e.s)), PW_ERR_CORRUPT);
	assert_null(reopened);

	/* a checkpoint signed with another key covers nothing */
	env_close(&e);
	env_open(&e);
	assert_int_equal(xrules_open(&e.x, e.s, e.log, &e.kp, &e.c, r, NOW, e.err, sizeof(e.err)),
	                 PW_OK);
	assert_int_equal(
	    mlog_checkpoint(e.log, &e.hk[1], 7, "riverside", 1, NOW, frame, sizeof(frame), &len),
	    PW_OK);
	assert_int_equal(mlog_signed_size(e.log, 7, e.kp.pk), 0);
	registry_free(&r);
	env_close(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_genesis),
		cmocka_unit_test(test_config_refusals),
		cmocka_unit_test(test_registry_changes),
		cmocka_unit_test(test_caches),
		cmocka_unit_test(test_tariff_change),
		cmocka_unit_test(test_migration),
		cmocka_unit_test(test_migration_refusals),
		cmocka_unit_test(test_signed_checkpoint),
	};
	if (pw_crypto_init() != PW_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
