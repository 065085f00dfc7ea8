/*
 * rules.c: pw-forge's attacks on the rules in the log (forge.h): a
 * household's REGISTRY entry rewritten, moved after its first order, or
 * revoked before its last entry; a MARKET entry raising the retail tariff
 * retroactively.
 */
#include <stdio.h>
#include <string.h>

#include "forge.h"

/* The position of the household's first REGISTRY entry. */
static size_t
registry_of(struct forge *f, const uint8_t pk[PW_PK_LEN])
{
	for (size_t i = 0; i < f->n; i++)
		if (f->e[i].msg.type == PW_MSG_REGISTRY &&
		    memcmp(f->e[i].msg.u.registry.household, pk, PW_PK_LEN) == 0)
			return i;
	die("the household has no REGISTRY entry");
}

static void
hexkey(const char *pkhex, uint8_t pk[PW_PK_LEN])
{
	if (pw_hex_decode(pkhex, pk, PW_PK_LEN) != PW_OK)
		die("PKHEX");
}

/* The position of the household's first (or last) ORDER, CANCEL or METER. */
static size_t
household_entry(struct forge *f, const uint8_t pk[PW_PK_LEN], uint8_t type, int last)
{
	size_t at = SIZE_MAX;
	for (size_t i = 0; i < f->n; i++)
		if (f->e[i].msg.type <= PW_MSG_METER && (type == 0 || f->e[i].msg.type == type) &&
		    memcmp(f->e[i].msg.author, pk, PW_PK_LEN) == 0 && (last || at == SIZE_MAX))
			at = i;
	if (at == SIZE_MAX)
		die("the household has no such entry");
	return at;
}

/* The household's REGISTRY entry rewritten with another meter serial (the
 * table households too): its readings no longer match its registry. */
int
registry_rewrite(struct forge *f, const char *pkhex)
{
	uint8_t pk[PW_PK_LEN];
	char q[256];
	hexkey(pkhex, pk);
	size_t r = registry_of(f, pk);
	memset(f->e[r].msg.u.registry.serial, 0, PW_SERIAL_LEN);
	memcpy(f->e[r].msg.u.registry.serial, "FORGED-1", 8);
	resign(f, &f->e[r], &f->ex);
	size_t m = household_entry(f, pk, PW_MSG_METER, 0);
	rewrite(f, &f->ex, -1);
	snprintf(q, sizeof(q),
	         "UPDATE households SET serial = 'FORGED-1' WHERE hex(pk) = upper('%s')", pkhex);
	sql(f->db, q);
	printf("entry %llu\n", (unsigned long long)pos_index(f, m));
	return 0;
}

/* The household's REGISTRY entry moved after its first order: it traded
 * before it was registered. */
int
register_late(struct forge *f, const char *pkhex)
{
	uint8_t pk[PW_PK_LEN];
	hexkey(pkhex, pk);
	size_t r = registry_of(f, pk);
	size_t o = household_entry(f, pk, PW_MSG_ORDER, 0);
	struct pw_msg m = f->e[r].msg;
	f->e[r].drop = 1;
	insert_at(f, o + 1, &m);
	rewrite(f, &f->ex, -1);
	printf("entry %llu\n", (unsigned long long)pos_index(f, o));
	return 0;
}

/* A REGISTRY entry revoking the household logged before its last order,
 * cancel or reading (the table households says revoked too). */
int
revoke(struct forge *f, const char *pkhex)
{
	uint8_t pk[PW_PK_LEN];
	char q[256];
	hexkey(pkhex, pk);
	size_t r = registry_of(f, pk);
	size_t last = household_entry(f, pk, 0, 1);
	struct pw_msg m = f->e[r].msg;
	m.u.registry.revoked = 1;
	insert_at(f, last, &m);
	rewrite(f, &f->ex, -1);
	snprintf(q, sizeof(q), "UPDATE households SET revoked = 1 WHERE hex(pk) = upper('%s')",
	         pkhex);
	sql(f->db, q);
	printf("entry %llu\n", (unsigned long long)pos_index(f, last + 1));
	return 0;
}

/* A MARKET entry with a higher retail tariff, effective from the last
 * interval that traded, appended (table params too). */
int
retro_tariff(struct forge *f)
{
	uint64_t iv = traded_interval(f);
	size_t g = SIZE_MAX;
	char q[256];
	for (size_t i = 0; i < f->n && g == SIZE_MAX; i++)
		if (f->e[i].msg.type == PW_MSG_MARKET)
			g = i;
	if (g == SIZE_MAX)
		die("no MARKET entry");
	struct pw_msg m = f->e[g].msg;
	m.u.market.effective_interval = iv;
	m.u.market.retail_uper_kwh += 10000;
	m.u.market.time_s = ((uint64_t)iv + 2) * (uint64_t)f->interval_s;
	insert_at(f, f->n, &m);
	rewrite(f, &f->ex, -1);
	snprintf(q, sizeof(q), "UPDATE params SET value = %d WHERE key = 'retail_uper_kwh'",
	         m.u.market.retail_uper_kwh);
	sql(f->db, q);
	printf("entry %llu\n", (unsigned long long)pos_index(f, f->n - 1));
	return 0;
}
