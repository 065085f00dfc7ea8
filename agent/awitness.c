/*
 * awitness.c: cosignatures of the exchange's checkpoints, this household's
 * and its neighbours' (see awitness.h).
 */
#include "agent/awitness.h"

#include <stdlib.h>
#include <string.h>

#include "agent/adispute.h"

/* A neighbour's key and whether it is a registered household. */
struct wkey {
	uint8_t pk[PW_PK_LEN]; /* first: the sort key */
	int st;                /* 0 not known yet, 1 registered, -1 not */
};

struct awitness {
	uint64_t cosigned; /* the largest tree size this household cosigned (0: none) */
	int loaded;
	/* cosignatures of checkpoint `size`: distinct keys, sorted; nreg of
	 * them registered households (the ones counted) */
	uint64_t size;
	struct wkey *keys;
	unsigned n, nreg;
	int heard;       /* a cosignature of a held checkpoint came since the start */
	uint64_t pruned; /* table witnesses holds no size below this */
};

static int
key_cmp(const void *x, const void *y)
{
	return memcmp(x, y, PW_PK_LEN);
}

/* Whether checkpoint `size` is one this household holds and trusts (the
 * largest trusted one with a cosignature is the one counted). */
static int
trusted(struct agentd *a, uint64_t size)
{
	struct pw_checkpoint cp;
	return aledger_latest_checkpoint(a->led, &cp) == PW_OK && cp.tree_size >= size &&
	       aledger_prev_checkpoint(a->led, size + 1, &cp) == PW_OK && cp.tree_size == size;
}

/* The witnesses counted before a restart (table witnesses: the keys of
 * the largest counted checkpoint), each row checked, the checkpoint
 * still trusted. */
static pw_err
load_witnesses(struct agentd *a)
{
	struct awitness *w = a->wit;
	sqlite3 *db = agentd_db(a);
	sqlite3_stmt *st;
	sqlite3_int64 size = 0;
	unsigned bad = 0;

	if (sqlite3_exec(db,
	                 "CREATE TABLE IF NOT EXISTS witnesses(tree_size INTEGER NOT NULL,"
	                 " pk BLOB NOT NULL, PRIMARY KEY(tree_size, pk))",
	                 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT max(tree_size) FROM witnesses", -1, &st, NULL) !=
	        SQLITE_OK) {
		log_warnx("witness: %s", sqlite3_errmsg(db));
		return PW_ERR_DB;
	}
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER)
		size = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (size <= 0 || !trusted(a, (uint64_t)size))
		return PW_OK;
	if (sqlite3_prepare_v2(db, "SELECT pk FROM witnesses WHERE tree_size = ?1", -1, &st,
	                       NULL) != SQLITE_OK)
		return PW_ERR_DB;
	sqlite3_bind_int64(st, 1, size);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const void *pk = sqlite3_column_blob(st, 0);
		if (pk == NULL || sqlite3_column_bytes(st, 0) != PW_PK_LEN ||
		    w->n >= AWITNESS_MAX) {
			bad++;
			continue;
		}
		memcpy(w->keys[w->n].pk, pk, PW_PK_LEN);
		w->keys[w->n++].st = 1;
	}
	sqlite3_finalize(st);
	if (bad > 0)
		log_warnx("witness: %u stored witness(es) out of bounds, not counted", bad);
	if (w->n == 0)
		return PW_OK;
	qsort(w->keys, w->n, sizeof(*w->keys), key_cmp);
	w->size = (uint64_t)size;
	w->nreg = w->n;
	w->heard = 1;
	log_info("witness: the checkpoint of tree size %llu witnessed by %u neighbour(s), as "
	         "counted before the restart",
	         (unsigned long long)w->size, w->n);
	return PW_OK;
}

/* Keep a counted witness (the smaller sizes' go first, once per size). */
static void
store_witness(struct agentd *a, uint64_t size, const uint8_t pk[PW_PK_LEN])
{
	sqlite3 *db = agentd_db(a);
	sqlite3_stmt *st;

	if (size > a->wit->pruned &&
	    sqlite3_prepare_v2(db, "DELETE FROM witnesses WHERE tree_size < ?1", -1, &st, NULL) ==
	        SQLITE_OK) {
		a->wit->pruned = size;
		sqlite3_bind_int64(st, 1, agentd_i64(size));
		(void)sqlite3_step(st);
		sqlite3_finalize(st);
	}
	if (sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO witnesses(tree_size, pk) VALUES(?1, ?2)",
	                       -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, agentd_i64(size));
	sqlite3_bind_blob(st, 2, pk, PW_PK_LEN, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_warnx("witness: cannot keep a witness: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
}

pw_err
awitness_open(struct agentd *a)
{
	struct awitness *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return PW_ERR_NOMEM;
	w->keys = calloc(AWITNESS_MAX, sizeof(*w->keys));
	if (w->keys == NULL) {
		free(w);
		return PW_ERR_NOMEM;
	}
	a->wit = w;
	return load_witnesses(a);
}

void
awitness_close(struct agentd *a)
{
	if (a->wit == NULL)
		return;
	free(a->wit->keys);
	free(a->wit);
	a->wit = NULL;
}

/* The largest size this household ever stored a COSIGN for (whatever the
 * exchange answered): never cosign that size or a smaller one again. */
static void
load_cosigned(struct agentd *a)
{
	struct outbox_item it;
	if (a->wit->loaded)
		return;
	if (outbox_last(a->ob, OUTBOX_COSIGN, &it) == PW_OK)
		a->wit->cosigned = it.seq;
	a->wit->loaded = 1;
}

void
awitness_tick(struct agentd *a, int64_t now)
{
	struct awitness *w = a->wit;
	struct pw_checkpoint cp;
	struct pw_msg m;
	uint8_t frame[PW_WIRE_MAX_REQUEST];
	size_t len;
	pw_err rc;

	(void)now;
	if (w == NULL)
		return;
	load_cosigned(a);
	/* trusted: proven consistent with the trusted checkpoints around it,
	 * among them every one this household cosigned */
	if (aledger_latest_checkpoint(a->led, &cp) != PW_OK || cp.tree_size == 0 ||
	    cp.tree_size <= w->cosigned || cp.tree_size > (uint64_t)INT64_MAX)
		return;
	memset(&m, 0, sizeof(m));
	m.type = PW_MSG_COSIGN;
	memcpy(m.u.cosign.origin, cp.origin, PW_ORIGIN_LEN);
	m.u.cosign.tree_size = cp.tree_size;
	memcpy(m.u.cosign.root, cp.root, PW_HASH_LEN);
	m.u.cosign.time_s = cp.time_s;
	if (pw_wire_encode(&m, (uint64_t)a->cfg.market_id, &a->kp, frame, sizeof(frame), &len) !=
	    PW_OK)
		return;
	rc = outbox_put(a->ob, OUTBOX_COSIGN, cp.tree_size, PW_MSG_COSIGN, 0, frame, len);
	if (rc != PW_OK && rc != PW_ERR_EXISTS) {
		log_warnx("witness: cannot store the cosignature of checkpoint %llu: %s",
		          (unsigned long long)cp.tree_size, pw_strerror(rc));
		return;
	}
	w->cosigned = cp.tree_size;
	log_info("witness: cosigning the checkpoint of tree size %llu (interval %llu)",
	         (unsigned long long)cp.tree_size, (unsigned long long)cp.interval);
}

void
awitness_on_cosign(struct agentd *a, const uint8_t *frame, size_t len, const struct pw_msg *m,
                   int64_t now)
{
	struct awitness *w = a->wit;
	const struct pw_cosign *c = &m->u.cosign;
	uint8_t root[PW_HASH_LEN];
	char who[17];

	if (w == NULL || c->tree_size > (uint64_t)INT64_MAX)
		return;
	pw_hex_encode(m->author, 8, who);
	/* the checkpoint of its size as this household holds it (the
	 * COSIGNED message's CHECKPOINT came first and is held by now,
	 * unless it was refused as a fork: then the held one differs) */
	if (aledger_root(a->led, c->tree_size, root) != PW_OK)
		return; /* not held: its CHECKPOINT is proven first, then counted */
	if (memcmp(root, c->root, PW_HASH_LEN) != 0) {
		a->forks++;
		log_error("LOG FORK: neighbour %s... cosigned the checkpoint of tree size %llu with"
		          " another root than the one this household holds: the exchange showed"
		          " two histories",
		          who, (unsigned long long)c->tree_size);
		adispute_cosign_fork(a, frame, len, c, now);
		return;
	}
	w->heard = 1;
	/* counted once the checkpoint is trusted: the largest trusted one
	 * with a cosignature is the one shown */
	if (!trusted(a, c->tree_size))
		return; /* not held, or held but not trusted (yet) */
	if (c->tree_size < w->size)
		return;
	if (c->tree_size > w->size) {
		w->size = c->tree_size;
		w->n = w->nreg = 0;
	}
	if (w->n >= AWITNESS_MAX ||
	    bsearch(m->author, w->keys, w->n, sizeof(*w->keys), key_cmp) != NULL)
		return;
	/* counted once its author is shown a registered household
	 * (awitness_next_query): a key the exchange made up is no neighbour */
	memcpy(w->keys[w->n].pk, m->author, PW_PK_LEN);
	w->keys[w->n++].st = 0;
	qsort(w->keys, w->n, sizeof(*w->keys), key_cmp);
}

int
awitness_next_query(struct agentd *a, struct afee_query *q)
{
	struct awitness *w = a->wit;
	char why[200], who[17];

	if (w == NULL)
		return 0;
	for (unsigned i = 0; i < w->n; i++) {
		struct wkey *k = &w->keys[i];
		int r;
		if (k->st != 0)
			continue;
		why[0] = '\0';
		r = afee_registered(a, k->pk, w->size, q, why, sizeof(why));
		if (r == 0 && q->kind != 0)
			return 1;
		if (r == 0)
			continue;
		k->st = r;
		pw_hex_encode(k->pk, 8, who);
		if (r > 0) {
			w->nreg++;
			store_witness(a, w->size, k->pk);
			log_info(
			    "witness: %s... (a registered household) witnessed the checkpoint of "
			    "tree size %llu: %u neighbour(s)",
			    who, (unsigned long long)w->size, w->nreg);
		} else
			log_error(
			    "EXCHANGE: a cosignature of the checkpoint of tree size %llu by %s... "
			    "is not counted: %s",
			    (unsigned long long)w->size, who, why);
		if (a->dash != NULL)
			(void)dash_notify(a->dash, DASH_DOC_STATE);
	}
	return 0;
}

void
awitness_counts(const struct agentd *a, uint64_t *tree_size, unsigned *count)
{
	*tree_size = a->wit != NULL ? a->wit->size : 0;
	*count = a->wit != NULL ? a->wit->nreg : 0;
}

json_t *
awitness_json(const struct agentd *a)
{
	uint64_t size;
	unsigned n;
	char text[128];

	awitness_counts(a, &size, &n);
	if (n == 0 && (a->wit == NULL || !a->wit->heard))
		/* nothing heard since the start (the exchange publishes the
		 * cosignatures of a checkpoint as they come): unknown, which is
		 * not "none" */
		snprintf(text, sizeof(text),
		         "witnesses not known yet (none heard of since the agent"
		         " started)");
	else if (n == 0 && a->wit->n > 0)
		/* cosignatures whose authors' registry entries are being checked */
		snprintf(text, sizeof(text), "witnesses being checked (%u cosignature%s)",
		         a->wit->n, a->wit->n == 1 ? "" : "s");
	else if (n == 0)
		snprintf(text, sizeof(text), "log not witnessed by any neighbour yet");
	else
		snprintf(text, sizeof(text), "log witnessed by %u neighbour%s (up to entry %llu)",
		         n, n == 1 ? "" : "s", (unsigned long long)(size - 1));
	return json_pack("{s:I, s:I, s:I, s:s}", "count", (json_int_t)n, "tree_size",
	                 (json_int_t)size, "cosigned",
	                 (json_int_t)(a->wit != NULL ? a->wit->cosigned : 0), "text", text);
}
