/*
 * book.c: the open order book in memory (book.h).  Four open addressing
 * hash tables (linear probing, at most half full, doubling from 64 slots)
 * of fixed-size records whose first bytes are the key.  A table doubles
 * incrementally: the former slots stay beside the new ones and each later
 * insert moves TAB_MOVE_PER_INSERT of them over, so no single request pays
 * for moving the whole table (at 10^5 open orders that took 25-50 ms, the
 * ACK tail of bench_ingest; docs/performance-ingest.md).  The doubled
 * slots of a large table are allocated and faulted in beforehand, a page
 * every few inserts from 5/16 full on (tab_prepare): on the virtual
 * machines peerwatt runs on, the first touch of a fresh 4 KiB page costs
 * ~10 us, and the slots of a table of 2^18 open orders doubling are 7000
 * of them, which fell on the next ~5000 inserts and made bench_ingest's
 * batches take 3-7 ms to apply for ~150 ms.  Sums are never
 * removed one by one: a quantity that drops to 0 stays until its interval
 * is cleared (book_drop_interval), so those tables hold at most one entry
 * per (household, interval, side) and (interval, side, price) that had an
 * open order since the last clearing.  An open order leaves its table
 * when it closes (book_order_del), so that table holds the open orders
 * only.  Called only by exchange/store.c.
 */
#include "exchange/book.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "peerwatt/log.h"

struct hh_rec {
	uint8_t pk[PW_PK_LEN];
	uint64_t interval;
	uint64_t side;
	uint64_t open_wh;
};

struct lvl_rec {
	uint64_t interval;
	uint64_t side;
	int64_t price_uper_kwh;
	uint64_t open_wh;
};

/* key pk; `seq` the largest ORDER/CANCEL sequence noted since the last
 * load, `complete` once the database's part (seqs row, orders no longer
 * open) was folded in */
struct seq_rec {
	uint8_t pk[PW_PK_LEN];
	uint64_t seq;
	uint64_t complete;
};

/* an open order: key (pk, seq) */
struct ord_rec {
	uint8_t pk[PW_PK_LEN];
	uint64_t seq;
	uint64_t log_idx;
	uint64_t interval;
};

/* No padding: the key bytes are compared and hashed as they are. */
_Static_assert(sizeof(struct hh_rec) == PW_PK_LEN + 24, "hh_rec padded");
_Static_assert(sizeof(struct lvl_rec) == 32, "lvl_rec padded");
_Static_assert(sizeof(struct seq_rec) == PW_PK_LEN + 16, "seq_rec padded");
_Static_assert(sizeof(struct ord_rec) == PW_PK_LEN + 24, "ord_rec padded");

/* slot states of `used` */
enum { SLOT_FREE = 0, SLOT_USED = 1, SLOT_MOVED = 2 /* former slots only */ };

/* Former slots moved to the new ones per insert while a table grows: the
 * cap/2 former slots are all moved after cap/64 inserts, long before the
 * new slots are half full (cap/4 inserts later). */
#define TAB_MOVE_PER_INSERT 32

/* The doubled slots of a table of at least this many bytes of slots are
 * prepared ahead (tab_prepare): from 5/16 full, over the next cap/8
 * inserts, before the doubling at half full (cap/16 inserts later). */
#define TAB_PREPARE_MIN_BYTES ((size_t)1 << 20)
#define TAB_PAGE              4096

struct tab {
	unsigned char *rec; /* cap records of rsize bytes, the first ksize the key */
	unsigned char *used;
	size_t cap, n, rsize, ksize, max; /* n counts both slot sets */
	/* while growing: the former slots, moved over from old_pos on; a key
	 * is in exactly one of the two sets (a moved slot is SLOT_MOVED, which
	 * a probe of the former set passes over) */
	unsigned char *old_rec, *old_used;
	size_t old_cap, old_pos;
	/* prepared for the next doubling (2 * cap slots, tab_prepare): its
	 * pages touched so far, and the touches owed (in units of cap/8) */
	unsigned char *next_rec, *next_used;
	size_t next_cap, next_pages, next_credit;
};

/* The best price levels of an interval, as book_depth returns them: kept
 * up to date by book_add, so that a depth does not read every price
 * level (1-2 ms at 10^5 levels, every second).  Invalid (read again from
 * the table at the next book_depth) when one of its levels empties, as
 * the next best one is not known then. */
#define BOOK_DEPTH_HALF   (PW_DEPTH_MAX_LEVELS / 2)
#define BOOK_DEPTH_CACHES 4 /* intervals; as many as the exchange publishes */
struct depth_cache {
	int valid;
	uint64_t interval, used;                 /* used: when last asked for (a counter) */
	struct lvl_rec best[2][BOOK_DEPTH_HALF]; /* [0] buy, highest first; [1] sell, lowest */
	size_t n[2];
};

struct book {
	struct tab hh, lvl, seq, ord;
	struct depth_cache depth[BOOK_DEPTH_CACHES];
	uint64_t depth_clock;
};

static uint64_t
hash_key(const unsigned char *k, size_t len)
{
	uint64_t h = 0x243f6a8885a308d3u;
	for (size_t i = 0; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, k + i, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15u;
		h ^= h >> 32;
	}
	/* splitmix64 finaliser: prices and intervals are small, close numbers */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9u;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebu;
	return h ^ (h >> 31);
}

static void
tab_free_old(struct tab *t)
{
	free(t->old_rec);
	free(t->old_used);
	t->old_rec = t->old_used = NULL;
	t->old_cap = t->old_pos = 0;
}

static void
tab_free_next(struct tab *t)
{
	free(t->next_rec);
	free(t->next_used);
	t->next_rec = t->next_used = NULL;
	t->next_cap = t->next_pages = t->next_credit = 0;
}

static void
tab_free(struct tab *t)
{
	tab_free_next(t);
	free(t->rec);
	free(t->used);
	t->rec = t->used = NULL;
	t->cap = t->n = 0;
	tab_free_old(t);
}

/* Slot of `key` among `cap` slots: *found says whether it holds it (else
 * it is the free slot ending its probe run). */
static size_t
slot_in(const unsigned char *rec, const unsigned char *used, size_t cap, size_t rsize, size_t ksize,
        const unsigned char *key, int *found)
{
	size_t mask = cap - 1;
	size_t i = (size_t)hash_key(key, ksize) & mask;
	while (used[i] != SLOT_FREE) {
		if (used[i] == SLOT_USED && memcmp(rec + i * rsize, key, ksize) == 0) {
			*found = 1;
			return i;
		}
		i = (i + 1) & mask;
	}
	*found = 0;
	return i;
}

static size_t
tab_slot(const struct tab *t, const unsigned char *key, int *found)
{
	return slot_in(t->rec, t->used, t->cap, t->rsize, t->ksize, key, found);
}

/* The record of `key` among the former slots, or NULL. */
static unsigned char *
old_find(const struct tab *t, const unsigned char *key, size_t *slot)
{
	int found;
	if (!t->old_rec)
		return NULL;
	size_t i = slot_in(t->old_rec, t->old_used, t->old_cap, t->rsize, t->ksize, key, &found);
	*slot = i;
	return found ? t->old_rec + i * t->rsize : NULL;
}

static unsigned char *
tab_find(const struct tab *t, const unsigned char *key)
{
	int found;
	size_t j;
	if (t->n == 0)
		return NULL;
	size_t i = tab_slot(t, key, &found);
	return found ? t->rec + i * t->rsize : old_find(t, key, &j);
}

/* Every record, former slots included: for i in [0, tab_span(t)),
 * tab_at(t, i) is a record or NULL. */
static size_t
tab_span(const struct tab *t)
{
	return t->cap + t->old_cap;
}

static const unsigned char *
tab_at(const struct tab *t, size_t i)
{
	if (i < t->cap)
		return t->used[i] == SLOT_USED ? t->rec + i * t->rsize : NULL;
	i -= t->cap;
	return t->old_used[i] == SLOT_USED ? t->old_rec + i * t->rsize : NULL;
}

/* Copy record r (whose key is not among the new slots) into them. */
static unsigned char *
new_put(struct tab *t, const unsigned char *r)
{
	int found;
	size_t j = tab_slot(t, r, &found);
	memcpy(t->rec + j * t->rsize, r, t->rsize);
	t->used[j] = SLOT_USED;
	return t->rec + j * t->rsize;
}

/* Move up to `k` former slots over; free them once all are. */
static void
tab_move(struct tab *t, size_t k)
{
	while (t->old_rec && k-- > 0) {
		if (t->old_pos == t->old_cap) {
			tab_free_old(t);
			return;
		}
		size_t i = t->old_pos++;
		if (t->old_used[i] == SLOT_USED) {
			new_put(t, t->old_rec + i * t->rsize);
			t->old_used[i] = SLOT_MOVED;
		}
	}
}

/* Move every record of t (both slot sets) for which keep() says so into
 * `cap` new slots at once.  PW_ERR_NOMEM leaves t as it was. */
static pw_err
tab_rehash(struct tab *t, size_t cap, int (*keep)(const unsigned char *rec, uint64_t arg),
           uint64_t arg)
{
	struct tab nt = { .cap = cap, .rsize = t->rsize, .ksize = t->ksize, .max = t->max };
	nt.rec = malloc(cap * t->rsize);
	nt.used = calloc(cap, 1);
	if (!nt.rec || !nt.used) {
		tab_free(&nt);
		return PW_ERR_NOMEM;
	}
	for (size_t i = 0; i < tab_span(t); i++) {
		const unsigned char *r = tab_at(t, i);
		if (!r || (keep && !keep(r, arg)))
			continue;
		new_put(&nt, r);
		nt.n++;
	}
	tab_free(t);
	*t = nt;
	return PW_OK;
}

/* Write one byte of page `pg` of the prepared slots (records, then the
 * slot states: a zero, which they are already). */
static void
next_touch(struct tab *t, size_t pg)
{
	size_t rbytes = t->next_cap * t->rsize, off = pg * TAB_PAGE;
	volatile unsigned char *p =
	    off < rbytes ? t->next_rec + off : t->next_used + (off - rbytes);
	*p = 0;
}

/* From 5/16 full on, a large table allocates the slots of its next doubling
 * and faults their pages in a few per insert, so that the doubling finds
 * them mapped (see the top of this file).  No memory: nothing prepared;
 * the doubling allocates as before. */
static void
tab_prepare(struct tab *t)
{
	/* small, not 5/16 full yet, or at its bound (it never doubles again) */
	if (t->cap * t->rsize < TAB_PREPARE_MIN_BYTES || t->n * 16 < t->cap * 5 ||
	    t->cap / 2 >= t->max)
		return;
	if (!t->next_rec) {
		t->next_cap = 2 * t->cap;
		t->next_rec = malloc(t->next_cap * t->rsize);
		t->next_used = calloc(t->next_cap, 1);
		if (!t->next_rec || !t->next_used) {
			tab_free_next(t);
			return;
		}
	}
	size_t total = (t->next_cap * t->rsize + TAB_PAGE - 1) / TAB_PAGE +
	               (t->next_cap + TAB_PAGE - 1) / TAB_PAGE;
	t->next_credit += total;
	while (t->next_credit >= t->cap / 8 && t->next_pages < total) {
		next_touch(t, t->next_pages++);
		t->next_credit -= t->cap / 8;
	}
}

/* Room for one more record: PW_ERR_FULL at t->max, PW_ERR_NOMEM.  Moves
 * a few former slots over; at half full the slots double, the current
 * ones becoming the former (moved over by the next inserts), into the
 * slots prepared for it when there are. */
static pw_err
tab_reserve(struct tab *t)
{
	if (t->n >= t->max)
		return PW_ERR_FULL;
	tab_move(t, TAB_MOVE_PER_INSERT);
	if ((t->n + 1) * 2 <= t->cap) {
		tab_prepare(t);
		return PW_OK;
	}
	if (t->cap == 0)
		return tab_rehash(t, 64, NULL, 0);
	/* never reached with slots still to move (see TAB_MOVE_PER_INSERT);
	 * finish them first if it were */
	tab_move(t, SIZE_MAX);
	unsigned char *rec, *used;
	if (t->next_rec && t->next_cap == 2 * t->cap) {
		rec = t->next_rec;
		used = t->next_used;
		t->next_rec = t->next_used = NULL;
		tab_free_next(t);
	} else {
		tab_free_next(t);
		rec = malloc(2 * t->cap * t->rsize);
		used = calloc(2 * t->cap, 1);
	}
	if (!rec || !used) {
		free(rec);
		free(used);
		return PW_ERR_NOMEM;
	}
	t->old_rec = t->rec;
	t->old_used = t->used;
	t->old_cap = t->cap;
	t->old_pos = 0;
	t->rec = rec;
	t->used = used;
	t->cap *= 2;
	return PW_OK;
}

/* The record of `key`, inserted with value 0 when missing (after
 * tab_reserve: cannot fail).  A record still among the former slots is
 * moved over first, so the pointer returned stays valid until the next
 * tab_reserve. */
static unsigned char *
tab_upsert(struct tab *t, const unsigned char *key)
{
	int found;
	size_t i = tab_slot(t, key, &found), j;
	unsigned char *r = t->rec + i * t->rsize;
	if (found)
		return r;
	unsigned char *o = old_find(t, key, &j);
	if (o) {
		memcpy(r, o, t->rsize);
		t->old_used[j] = SLOT_MOVED;
	} else {
		memset(r, 0, t->rsize);
		memcpy(r, key, t->ksize);
		t->n++;
	}
	t->used[i] = SLOT_USED;
	return r;
}

/* Remove the record of `key` if present (backward-shift deletion: the
 * records after it in its probe run move up, no tombstones). */
static void
tab_del(struct tab *t, const unsigned char *key)
{
	int found;
	if (t->n == 0)
		return;
	size_t mask = t->cap - 1, i = tab_slot(t, key, &found), j = i;
	if (!found) {
		/* among the former slots: marked moved (their probe runs
		 * pass over it), never shifted */
		if (old_find(t, key, &j)) {
			t->old_used[j] = SLOT_MOVED;
			t->n--;
		}
		return;
	}
	for (;;) {
		j = (j + 1) & mask;
		if (!t->used[j])
			break;
		size_t home = (size_t)hash_key(t->rec + j * t->rsize, t->ksize) & mask;
		/* j stays when its home lies cyclically in (i, j] */
		int stays = i < j ? (home > i && home <= j) : (home > i || home <= j);
		if (!stays) {
			memcpy(t->rec + i * t->rsize, t->rec + j * t->rsize, t->rsize);
			i = j;
		}
	}
	t->used[i] = SLOT_FREE;
	t->n--;
}

static void
tab_clear(struct tab *t)
{
	if (t->used)
		memset(t->used, 0, t->cap);
	t->n = 0;
	tab_free_old(t);
}

pw_err
book_new(size_t max_entries, struct book **out)
{
	if (max_entries == 0 || max_entries > BOOK_MAX_ENTRIES)
		return PW_ERR_ARG;
	struct book *b = calloc(1, sizeof(*b));
	if (!b)
		return PW_ERR_NOMEM;
	b->hh.max = b->lvl.max = b->seq.max = max_entries;
	b->hh.rsize = sizeof(struct hh_rec);
	b->hh.ksize = offsetof(struct hh_rec, open_wh);
	b->lvl.rsize = sizeof(struct lvl_rec);
	b->lvl.ksize = offsetof(struct lvl_rec, open_wh);
	b->seq.rsize = sizeof(struct seq_rec);
	b->seq.ksize = PW_PK_LEN;
	b->ord.rsize = sizeof(struct ord_rec);
	b->ord.ksize = offsetof(struct ord_rec, log_idx);
	b->ord.max = max_entries;
	*out = b;
	return PW_OK;
}

void
book_free(struct book **bp)
{
	if (!bp || !*bp)
		return;
	tab_free(&(*bp)->hh);
	tab_free(&(*bp)->lvl);
	tab_free(&(*bp)->seq);
	tab_free(&(*bp)->ord);
	free(*bp);
	*bp = NULL;
}

void
book_clear(struct book *b)
{
	tab_clear(&b->hh);
	tab_clear(&b->lvl);
	tab_clear(&b->seq);
	tab_clear(&b->ord);
	memset(b->depth, 0, sizeof(b->depth));
}

int
book_room(const struct book *b)
{
	return b->hh.n < b->hh.max && b->lvl.n < b->lvl.max && b->ord.n < b->ord.max;
}

static void
hh_key(struct hh_rec *k, const uint8_t pk[PW_PK_LEN], uint64_t interval, uint8_t side)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->pk, pk, PW_PK_LEN);
	k->interval = interval;
	k->side = side;
}

static void
lvl_key(struct lvl_rec *k, uint64_t interval, uint8_t side, int64_t price)
{
	memset(k, 0, sizeof(*k));
	k->interval = interval;
	k->side = side;
	k->price_uper_kwh = price;
}

/* v + delta, never below 0 (a close larger than what is open would be a
 * bug of the caller: logged). */
static uint64_t
add_wh(uint64_t v, int64_t delta, const char *what)
{
	if (delta >= 0)
		return v + (uint64_t)delta;
	uint64_t d = (uint64_t)(-(delta + 1)) + 1;
	if (d > v) {
		log_warnx("book: %s: closing %llu Wh of %llu open", what, (unsigned long long)d,
		          (unsigned long long)v);
		return 0;
	}
	return v - d;
}

/* Insert `l` into best[0..*n) (at most max, best first) if it ranks. */
static void
best_insert(struct lvl_rec *best, size_t *n, size_t max, const struct lvl_rec *l, int higher)
{
	size_t i = *n;
	while (i > 0 && (higher ? l->price_uper_kwh > best[i - 1].price_uper_kwh
	                        : l->price_uper_kwh < best[i - 1].price_uper_kwh))
		i--;
	if (i >= max)
		return;
	size_t last = *n < max ? *n : max - 1;
	memmove(&best[i + 1], &best[i], (last - i) * sizeof(*best));
	best[i] = *l;
	if (*n < max)
		(*n)++;
}

/* The level `l` of the book changed: its depth cache follows. */
static void
depth_note(struct book *b, const struct lvl_rec *l)
{
	size_t side = l->side == PW_SIDE_BUY ? 0 : l->side == PW_SIDE_SELL ? 1 : 2;
	for (size_t c = 0; c < BOOK_DEPTH_CACHES && side < 2; c++) {
		struct depth_cache *d = &b->depth[c];
		if (!d->valid || d->interval != l->interval)
			continue;
		struct lvl_rec *best = d->best[side];
		size_t i = 0;
		while (i < d->n[side] && best[i].price_uper_kwh != l->price_uper_kwh)
			i++;
		if (i < d->n[side]) {
			best[i].open_wh = l->open_wh;
			if (l->open_wh == 0)
				d->valid = 0; /* the next best level is not known */
		} else if (l->open_wh > 0) {
			best_insert(best, &d->n[side], BOOK_DEPTH_HALF, l, side == 0);
		}
	}
}

pw_err
book_add(struct book *b, const uint8_t pk[PW_PK_LEN], uint64_t interval, uint8_t side,
         int64_t price_uper_kwh, int64_t delta_wh)
{
	struct hh_rec hk;
	struct lvl_rec lk;
	pw_err rc;
	hh_key(&hk, pk, interval, side);
	lvl_key(&lk, interval, side, price_uper_kwh);
	if (delta_wh < 0) {
		struct hh_rec *h = (struct hh_rec *)(void *)tab_find(&b->hh, (unsigned char *)&hk);
		struct lvl_rec *l =
		    (struct lvl_rec *)(void *)tab_find(&b->lvl, (unsigned char *)&lk);
		if (h)
			h->open_wh = add_wh(h->open_wh, delta_wh, "household");
		if (l) {
			l->open_wh = add_wh(l->open_wh, delta_wh, "price level");
			depth_note(b, l);
		}
		if (!h || !l)
			log_warnx("book: closing an order that is not in the book");
		return PW_OK;
	}
	/* room for what is new reserved first: a failure changes nothing */
	if (!tab_find(&b->hh, (unsigned char *)&hk) && (rc = tab_reserve(&b->hh)) != PW_OK)
		return rc;
	if (!tab_find(&b->lvl, (unsigned char *)&lk) && (rc = tab_reserve(&b->lvl)) != PW_OK)
		return rc;
	struct hh_rec *h = (struct hh_rec *)(void *)tab_upsert(&b->hh, (unsigned char *)&hk);
	struct lvl_rec *l = (struct lvl_rec *)(void *)tab_upsert(&b->lvl, (unsigned char *)&lk);
	h->open_wh = add_wh(h->open_wh, delta_wh, "household");
	l->open_wh = add_wh(l->open_wh, delta_wh, "price level");
	depth_note(b, l);
	return PW_OK;
}

uint64_t
book_open_qty(const struct book *b, const uint8_t pk[PW_PK_LEN], uint64_t interval, uint8_t side)
{
	struct hh_rec k;
	hh_key(&k, pk, interval, side);
	const struct hh_rec *h =
	    (const struct hh_rec *)(const void *)tab_find(&b->hh, (const unsigned char *)&k);
	return h ? h->open_wh : 0;
}

void
book_depth(struct book *b, uint64_t interval, struct pw_depth *d)
{
	struct depth_cache *c = NULL;
	for (size_t i = 0; i < BOOK_DEPTH_CACHES; i++)
		if (b->depth[i].valid && b->depth[i].interval == interval)
			c = &b->depth[i];
	if (!c) { /* read the levels: into the cache asked for the longest ago */
		c = &b->depth[0];
		for (size_t i = 1; i < BOOK_DEPTH_CACHES && c->valid; i++)
			if (!b->depth[i].valid || b->depth[i].used < c->used)
				c = &b->depth[i];
		memset(c, 0, sizeof(*c));
		for (size_t i = 0; i < tab_span(&b->lvl); i++) {
			const struct lvl_rec *l =
			    (const struct lvl_rec *)(const void *)tab_at(&b->lvl, i);
			if (!l || l->interval != interval || l->open_wh == 0)
				continue;
			if (l->side == PW_SIDE_BUY)
				best_insert(c->best[0], &c->n[0], BOOK_DEPTH_HALF, l, 1);
			else if (l->side == PW_SIDE_SELL)
				best_insert(c->best[1], &c->n[1], BOOK_DEPTH_HALF, l, 0);
		}
		c->interval = interval;
		c->valid = 1;
	}
	c->used = ++b->depth_clock;
	memset(d, 0, sizeof(*d));
	d->interval = interval;
	for (size_t side = 0; side < 2; side++)
		for (size_t i = 0; i < c->n[side]; i++) {
			const struct lvl_rec *l = &c->best[side][i];
			struct pw_depth_level *o = &d->levels[d->n_levels++];
			o->side = (uint8_t)l->side;
			o->price_uper_kwh = (int32_t)l->price_uper_kwh;
			o->qty_wh = l->open_wh;
		}
}

static int
hh_other_interval(const unsigned char *rec, uint64_t interval)
{
	return ((const struct hh_rec *)(const void *)rec)->interval != interval;
}

static int
lvl_other_interval(const unsigned char *rec, uint64_t interval)
{
	return ((const struct lvl_rec *)(const void *)rec)->interval != interval;
}

static int
ord_other_interval(const unsigned char *rec, uint64_t interval)
{
	return ((const struct ord_rec *)(const void *)rec)->interval != interval;
}

/* Drop the records keep() refuses, into a table sized for what is left
 * (so the memory of a large cleared interval is given back).  On
 * PW_ERR_NOMEM nothing changes: the entries stay, with quantity 0 once
 * their orders are closed, which no rule reads. */
static void
tab_drop(struct tab *t, int (*keep)(const unsigned char *rec, uint64_t arg), uint64_t arg)
{
	size_t kept = 0, cap = 64;
	for (size_t i = 0; i < tab_span(t); i++) {
		const unsigned char *r = tab_at(t, i);
		if (r && keep(r, arg))
			kept++;
	}
	if (kept == t->n)
		return;
	while (cap < 2 * (kept + 1))
		cap *= 2;
	if (tab_rehash(t, cap, keep, arg) != PW_OK)
		log_warnx("book: no memory to drop interval %llu", (unsigned long long)arg);
}

void
book_drop_interval(struct book *b, uint64_t interval)
{
	tab_drop(&b->hh, hh_other_interval, interval);
	tab_drop(&b->lvl, lvl_other_interval, interval);
	tab_drop(&b->ord, ord_other_interval, interval);
	for (size_t i = 0; i < BOOK_DEPTH_CACHES; i++)
		if (b->depth[i].interval == interval)
			b->depth[i].valid = 0;
}

static struct seq_rec *
seq_find(const struct book *b, const uint8_t pk[PW_PK_LEN])
{
	return (struct seq_rec *)(void *)tab_find(&b->seq, pk);
}

int
book_seq_get(const struct book *b, const uint8_t pk[PW_PK_LEN], uint64_t *seq)
{
	const struct seq_rec *r = seq_find(b, pk);
	if (!r || !r->complete)
		return 0;
	*seq = r->seq;
	return 1;
}

pw_err
book_seq_note(struct book *b, const uint8_t pk[PW_PK_LEN], uint64_t seq)
{
	struct seq_rec *r = seq_find(b, pk);
	pw_err rc;
	if (!r) {
		if ((rc = tab_reserve(&b->seq)) != PW_OK)
			return rc;
		r = (struct seq_rec *)(void *)tab_upsert(&b->seq, pk);
	}
	if (seq > r->seq)
		r->seq = seq;
	return PW_OK;
}

uint64_t
book_seq_complete(struct book *b, const uint8_t pk[PW_PK_LEN], uint64_t db_seq)
{
	struct seq_rec *r = seq_find(b, pk);
	if (!r) {
		/* nothing noted: no open order; cached when there is room */
		if (tab_reserve(&b->seq) != PW_OK)
			return db_seq;
		r = (struct seq_rec *)(void *)tab_upsert(&b->seq, pk);
	}
	if (db_seq > r->seq)
		r->seq = db_seq;
	r->complete = 1;
	return r->seq;
}

static void
ord_key(struct ord_rec *k, const uint8_t pk[PW_PK_LEN], uint64_t seq)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->pk, pk, PW_PK_LEN);
	k->seq = seq;
}

pw_err
book_order_put(struct book *b, const uint8_t pk[PW_PK_LEN], uint64_t seq, uint64_t log_idx,
               uint64_t interval)
{
	struct ord_rec k;
	pw_err rc;
	ord_key(&k, pk, seq);
	if (tab_find(&b->ord, (unsigned char *)&k))
		return PW_ERR_EXISTS;
	if ((rc = tab_reserve(&b->ord)) != PW_OK)
		return rc;
	struct ord_rec *r = (struct ord_rec *)(void *)tab_upsert(&b->ord, (unsigned char *)&k);
	r->log_idx = log_idx;
	r->interval = interval;
	return PW_OK;
}

int
book_order_find(const struct book *b, const uint8_t pk[PW_PK_LEN], uint64_t seq, uint64_t *log_idx)
{
	struct ord_rec k;
	ord_key(&k, pk, seq);
	const struct ord_rec *r =
	    (const struct ord_rec *)(const void *)tab_find(&b->ord, (unsigned char *)&k);
	if (!r)
		return 0;
	*log_idx = r->log_idx;
	return 1;
}

void
book_order_del(struct book *b, const uint8_t pk[PW_PK_LEN], uint64_t seq)
{
	struct ord_rec k;
	ord_key(&k, pk, seq);
	tab_del(&b->ord, (unsigned char *)&k);
}

static int
cmp_hh(const void *a, const void *b)
{
	return memcmp(a, b, offsetof(struct hh_rec, open_wh));
}

static int
cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int
cmp_lvl(const void *pa, const void *pb)
{
	const struct lvl_rec *a = pa, *b = pb;
	int c = cmp_u64(a->interval, b->interval);
	if (!c)
		c = cmp_u64(a->side, b->side);
	if (!c)
		c = a->price_uper_kwh < b->price_uper_kwh ? -1
		                                          : a->price_uper_kwh > b->price_uper_kwh;
	return c;
}

/* The records of t with a non-zero value, sorted by cmp; *n of them. */
static unsigned char *
tab_sorted(const struct tab *t, int (*cmp)(const void *, const void *), size_t *n)
{
	unsigned char *v = malloc((t->n ? t->n : 1) * t->rsize);
	uint64_t val;
	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < tab_span(t); i++) {
		const unsigned char *r = tab_at(t, i);
		if (!r)
			continue;
		memcpy(&val, r + t->rsize - 8, 8);
		if (val != 0)
			memcpy(v + (*n)++ * t->rsize, r, t->rsize);
	}
	qsort(v, *n, t->rsize, cmp);
	return v;
}

pw_err
book_summary(const struct book *b, struct book_summary *out)
{
	size_t nh, nl;
	unsigned char *h = tab_sorted(&b->hh, cmp_hh, &nh);
	unsigned char *l = tab_sorted(&b->lvl, cmp_lvl, &nl);
	unsigned char *all = NULL;
	size_t hbytes = nh * b->hh.rsize, lbytes = nl * b->lvl.rsize;
	if (h && l)
		all = malloc(hbytes + lbytes + 1);
	if (!all) {
		free(h);
		free(l);
		return PW_ERR_NOMEM;
	}
	memset(out, 0, sizeof(*out));
	out->households = nh;
	out->levels = nl;
	for (size_t i = 0; i < nh; i++)
		out->hh_wh += ((const struct hh_rec *)(const void *)(h + i * b->hh.rsize))->open_wh;
	for (size_t i = 0; i < nl; i++)
		out->level_wh +=
		    ((const struct lvl_rec *)(const void *)(l + i * b->lvl.rsize))->open_wh;
	if (hbytes)
		memcpy(all, h, hbytes);
	if (lbytes)
		memcpy(all + hbytes, l, lbytes);
	pw_sha256(all, hbytes + lbytes, out->digest);
	free(all);
	free(h);
	free(l);
	return PW_OK;
}
