/*
 * pw-fakexch: a fake exchange that lies, for tests/integration/agent_liar.sh
 * (docs/agent-checks.md "What the agent checks").  Written from docs/protocol.md
 * with the REAL exchange key (the test generates it): binds a CURVE ROUTER
 * and PUB on loopback, ACKs orders, cancels and readings with log indices,
 * keeps an RFC 6962 tree of what it logs (so that its proofs verify),
 * publishes a HEARTBEAT every second, clears every interval at its gate
 * (in even intervals each of a household's orders filled by a fake
 * counterparty at the order's limit; odd ones trade nothing; each RESULT
 * published twice, the same bytes), settles each
 * interval at its end + 2 s with
 * settle_household, signs a CHECKPOINT after each settlement and answers
 * QUERY (checkpoint, consistency, inclusion, statement, statement proof,
 * result, market, market proof, registry and registry proof by key).  Its
 * log starts with a MARKET entry (fees: 0.01 same zone, 0.05 default, 0.02
 * between north and south) and the REGISTRY entry of the counterparty "bob"
 * (zone south); a household's REGISTRY entry (zone north) is logged before
 * its first request, so every trade crosses zones.  A REGISTRY query with
 * the key all zero (the agent's check of its own entry, which would compare
 * the meter serial) is refused as bad_query.  Per SCENARIO it signs one
 * lie, and prints "lie KIND N" (N: the interval, or the tree size of a
 * checkpoint) when it does:
 *
 *   honest       none
 *   overfill     the 2nd interval with an order: 50 x its quantity at 3 x its limit
 *   unknown      the 2nd interval with an order: one more trade for order 424242
 *   equivocate   the 2nd interval with an order: a second RESULT (another price)
 *   money        the 2nd traded interval's statement: net -99 more than
 *                peer + grid - fee; the 1st interval without trade: 5000 Wh bought
 *                at 3.00/kWh without a trade
 *   missing      the 2nd interval with a reading: "reading missing" although ACKed
 *   fork_refuse  after the 2nd checkpoint one of a forked tree one entry larger,
 *                whose consistency proofs it refuses (REJECT bad_query)
 *   fork_between after the 3rd checkpoint one of a forked tree between the 2nd
 *                and 3rd sizes: consistent with the 2nd, not with the 3rd
 *   retariff     no lie: from 3 intervals after the 2nd checkpoint on, the retail
 *                tariff is 0.35 (a MARKET entry, HEARTBEATs and statements; prints
 *                "retariff N")
 *   fee          the 2nd traded interval's statement: fee_u 1 micro-unit more (net
 *                and saving following from it)
 *   badmarket    every MARKET_PROOF answer: a path that does not verify
 *   wrongentry   a REGISTRY query about the household's own key: answered with
 *                bob's entry (another household's zone)
 *   split        a split view: once the agent cosigned a checkpoint of size S,
 *                COSIGNED shows it a neighbour's cosignature of size S over
 *                another history's root (with that history's CHECKPOINT of
 *                size S), then a CHECKPOINT of that other history, larger,
 *                whose consistency proofs come from it (they fail against
 *                the agent's root of S); prints "lie split N" (N: its size)
 *
 * Every COSIGN is ACKed and logged; it prints "cosign N" (N: its tree size).
 *
 *   pw-fakexch EXKEY REQ_PORT PUB_PORT MARKET_ID INTERVAL_S SCENARIO
 *
 * Runs until SIGTERM.  Tariffs 0.08 / 0.30, gate 1 s.
 * Loopback test traffic only.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "peerwatt/keys.h"
#include "peerwatt/merkle.h"
#include "peerwatt/wire.h"
#include "rules/settle.h"

#define FEEDIN      80000
#define RETAIL      300000
#define RETAIL2     350000 /* retariff: the retail tariff from the change on */
#define FEE_SAME    10000  /* same zone */
#define FEE_DEFAULT 50000  /* other zones */
#define FEE_NS      20000  /* north <-> south */
#define MAXR        64
#define GATE_S      1
#define GRACE       2
#define MAXN        4096

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

struct ord {
	uint8_t pk[PW_PK_LEN];
	uint64_t seq, iv;
	uint8_t side;
	uint32_t qty;
	int32_t price;
	int cancelled;
};

struct rdg {
	uint8_t pk[PW_PK_LEN];
	uint64_t iv, exp, imp, ack_s;
};

struct ivres {
	uint64_t iv;
	int32_t price;
	struct pw_trade t[16];
	uint16_t n;
	uint8_t frame[2048];
	size_t len;
};

struct stmt {
	uint8_t pk[PW_PK_LEN];
	uint64_t iv, idx;
	uint8_t frame[512];
	size_t len;
};

struct cpt {
	uint64_t size;
	uint64_t iv; /* the last interval settled into it */
	uint8_t frame[256];
	size_t len;
	int fork;
};

/* A MARKET or REGISTRY entry of the log. */
struct rule {
	uint8_t type;
	uint64_t idx, eff;       /* MARKET: effective_interval */
	uint8_t key[PW_PK_LEN];  /* REGISTRY: the household */
	char zone[PW_TOKEN_LEN]; /* REGISTRY */
	uint8_t frame[512];
	size_t len;
};

struct fx {
	struct pw_keypair kp;
	uint64_t market;
	int64_t L;
	const char *scen;
	void *router, *pub;
	uint8_t (*leaves)[PW_HASH_LEN];
	size_t n_leaves, cap_leaves;
	uint64_t fork_at; /* the fork tree differs from here */
	struct ord ord[MAXN];
	size_t n_ord;
	struct rdg rdg[MAXN];
	size_t n_rdg;
	struct ivres res[MAXN];
	size_t n_res;
	struct stmt st[MAXN];
	size_t n_st;
	struct cpt cp[MAXN];
	size_t n_cp;
	uint64_t fork_size;
	unsigned ivs_with_orders, ivs_traded, ivs_untraded, ivs_read, n_honest_cp;
	uint64_t retail_from; /* retariff: the interval from which RETAIL2 governs (0: never) */
	int split_done;
	uint64_t heads[MAXN]; /* tree sizes of the heads its ACKs carried */
	size_t n_heads;
	uint8_t bob[PW_PK_LEN];
	struct rule rules[MAXR];
	size_t n_rules;
	int said_badmarket, said_wrongentry;
	uint64_t phantom_at; /* forkhead: the head's tree has a phantom entry here (0: none yet) */
};

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
is(const struct fx *f, const char *s)
{
	return strcmp(f->scen, s) == 0;
}

static pw_err
honest_leaf(void *ctx, uint64_t idx, uint8_t out[MERKLE_HASH_LEN])
{
	struct fx *f = ctx;
	if (idx >= f->n_leaves)
		return PW_ERR_RANGE;
	memcpy(out, f->leaves[idx], MERKLE_HASH_LEN);
	return PW_OK;
}

/* The forked history: the same entries up to fork_at, others after. */
static pw_err
fork_leaf(void *ctx, uint64_t idx, uint8_t out[MERKLE_HASH_LEN])
{
	struct fx *f = ctx;
	if (idx < f->fork_at && idx < f->n_leaves) {
		memcpy(out, f->leaves[idx], MERKLE_HASH_LEN);
		return PW_OK;
	}
	uint8_t e[16] = "fork";
	memcpy(e + 8, &idx, sizeof(idx));
	merkle_leaf_hash(e, sizeof(e), out);
	return PW_OK;
}

/* forkhead: the honest entries before phantom_at, then one the honest
 * tree never gets (so the head holds the household's entry, but no
 * published checkpoint extends it). */
static pw_err
phantom_leaf(void *ctx, uint64_t idx, uint8_t out[MERKLE_HASH_LEN])
{
	struct fx *f = ctx;
	if (idx < f->phantom_at)
		return honest_leaf(ctx, idx, out);
	uint8_t e[16] = "phantom";
	memcpy(e + 8, &idx, sizeof(idx));
	merkle_leaf_hash(e, sizeof(e), out);
	return PW_OK;
}

static uint64_t
append(struct fx *f, const uint8_t *frame, size_t len)
{
	if (f->n_leaves == f->cap_leaves) {
		f->cap_leaves = f->cap_leaves ? f->cap_leaves * 2 : 1024;
		f->leaves = realloc(f->leaves, f->cap_leaves * sizeof(*f->leaves));
		if (f->leaves == NULL)
			exit(70);
	}
	merkle_leaf_hash(frame, len, f->leaves[f->n_leaves]);
	return f->n_leaves++;
}

static size_t
sign(struct fx *f, struct pw_msg *m, uint8_t *out, size_t cap)
{
	size_t len = 0;
	if (pw_wire_encode(m, f->market, &f->kp, out, cap, &len) != PW_OK) {
		fprintf(stderr, "pw-fakexch: cannot encode a %s\n", pw_msg_type_name(m->type));
		exit(70);
	}
	return len;
}

static void
publish(struct fx *f, const uint8_t *frame, size_t len, uint8_t type)
{
	const char *topic = pw_msg_type_name(type);
	(void)zmq_send(f->pub, topic, strlen(topic), ZMQ_SNDMORE);
	(void)zmq_send(f->pub, frame, len, 0);
}

static void
say(const char *kind, unsigned long long n)
{
	printf("lie %s %llu\n", kind, n);
	fflush(stdout);
}

/* ---- rules and registry in the log ------------------------------------ */

static void
log_market(struct fx *f, uint64_t eff, int32_t retail)
{
	struct pw_msg m;
	struct rule *r;

	if (f->n_rules == MAXR)
		return;
	r = &f->rules[f->n_rules++];
	memset(&m, 0, sizeof(m));
	m.type = PW_MSG_MARKET;
	m.u.market.time_s = (uint64_t)(now_ms() / 1000);
	m.u.market.effective_interval = eff;
	snprintf(m.u.market.name, sizeof(m.u.market.name), "fake");
	memcpy(m.u.market.currency, "EUR", PW_CURRENCY_LEN);
	m.u.market.interval_s = (uint32_t)f->L;
	m.u.market.gate_s = GATE_S;
	m.u.market.grace_s = GRACE;
	m.u.market.max_ahead_s = 86400;
	m.u.market.feedin_uper_kwh = FEEDIN;
	m.u.market.retail_uper_kwh = retail;
	m.u.market.fee_same_zone_uper_kwh = FEE_SAME;
	m.u.market.fee_default_uper_kwh = FEE_DEFAULT;
	m.u.market.n_fees = 1;
	snprintf(m.u.market.fees[0].zone_a, PW_TOKEN_LEN, "north");
	snprintf(m.u.market.fees[0].zone_b, PW_TOKEN_LEN, "south");
	m.u.market.fees[0].fee_uper_kwh = FEE_NS;
	r->type = PW_MSG_MARKET;
	r->eff = eff;
	r->len = sign(f, &m, r->frame, sizeof(r->frame));
	r->idx = append(f, r->frame, r->len);
}

static void
log_registry(struct fx *f, const uint8_t pk[PW_PK_LEN], const char *id, const char *zone)
{
	struct pw_msg m;
	struct rule *r;

	if (f->n_rules == MAXR)
		return;
	r = &f->rules[f->n_rules++];
	memset(&m, 0, sizeof(m));
	m.type = PW_MSG_REGISTRY;
	m.u.registry.time_s = (uint64_t)(now_ms() / 1000);
	memcpy(m.u.registry.household, pk, PW_PK_LEN);
	snprintf(m.u.registry.id, PW_TOKEN_LEN, "%s", id);
	snprintf(m.u.registry.name, PW_TOKEN_LEN, "%s", id);
	snprintf(m.u.registry.serial, PW_SERIAL_LEN, "SER-%s", id);
	snprintf(m.u.registry.zone, PW_TOKEN_LEN, "%s", zone);
	m.u.registry.max_export_w = 1200000;
	m.u.registry.max_import_w = 1200000;
	r->type = PW_MSG_REGISTRY;
	memcpy(r->key, pk, PW_PK_LEN);
	snprintf(r->zone, sizeof(r->zone), "%s", zone);
	r->len = sign(f, &m, r->frame, sizeof(r->frame));
	r->idx = append(f, r->frame, r->len);
}

/* The entry a MARKET (key NULL: interval iv) or REGISTRY (key) query
 * names among the first `size` entries. */
static const struct rule *
find_rule(const struct fx *f, const uint8_t *key, uint64_t iv, uint64_t size)
{
	for (size_t i = f->n_rules; i-- > 0;) {
		const struct rule *r = &f->rules[i];
		if (r->idx >= size)
			continue;
		if (key == NULL ? r->type == PW_MSG_MARKET && r->eff <= iv
		                : r->type == PW_MSG_REGISTRY && memcmp(r->key, key, PW_PK_LEN) == 0)
			return r;
	}
	return NULL;
}

/* The zone of a household (north for any but bob). */
static const char *
zone_of(const struct fx *f, const uint8_t pk[PW_PK_LEN])
{
	const struct rule *r = find_rule(f, pk, 0, f->n_leaves);
	return r != NULL ? r->zone : "north";
}

static uint32_t
fee_of(const struct fx *f, const uint8_t a[PW_PK_LEN], const uint8_t b[PW_PK_LEN])
{
	const char *za = zone_of(f, a), *zb = zone_of(f, b);
	if (strcmp(za, zb) == 0)
		return FEE_SAME;
	if ((strcmp(za, "north") == 0 && strcmp(zb, "south") == 0) ||
	    (strcmp(za, "south") == 0 && strcmp(zb, "north") == 0))
		return FEE_NS;
	return FEE_DEFAULT;
}

static void checkpoint(struct fx *f, uint64_t iv, uint64_t size, int fork);

/* split: the agent cosigned size s of the true history; the other
 * history leaves it at entry s - 1 (docs/agent-checks.md "Witnessing the log"). */
static void
split_view(struct fx *f, uint64_t s)
{
	struct pw_keypair nb;
	uint8_t seed[PW_SEED_LEN], cpf[256], csf[256];
	struct pw_msg m, c;
	size_t cpl, csl;
	const char *topic = "COSIGNED";

	f->split_done = 1;
	f->fork_at = s - 1;
	memset(&m, 0, sizeof(m));
	m.type = PW_MSG_CHECKPOINT;
	snprintf(m.u.checkpoint.origin, sizeof(m.u.checkpoint.origin), "fake");
	m.u.checkpoint.interval = (uint64_t)(now_ms() / 1000 / f->L);
	m.u.checkpoint.tree_size = s;
	if (merkle_subtree_root(fork_leaf, f, 0, s, m.u.checkpoint.root) != PW_OK)
		exit(70);
	m.u.checkpoint.time_s = (uint64_t)(now_ms() / 1000);
	cpl = sign(f, &m, cpf, sizeof(cpf));
	/* a neighbour who was shown the other history cosigned it */
	memset(seed, 0x77, sizeof(seed));
	if (pw_key_from_seed(&nb, seed) != PW_OK)
		exit(70);
	memset(&c, 0, sizeof(c));
	c.type = PW_MSG_COSIGN;
	memcpy(c.u.cosign.origin, m.u.checkpoint.origin, PW_ORIGIN_LEN);
	c.u.cosign.tree_size = s;
	memcpy(c.u.cosign.root, m.u.checkpoint.root, PW_HASH_LEN);
	c.u.cosign.time_s = m.u.checkpoint.time_s;
	if (pw_wire_encode(&c, f->market, &nb, csf, sizeof(csf), &csl) != PW_OK)
		exit(70);
	pw_key_wipe(&nb);
	(void)zmq_send(f->pub, topic, strlen(topic), ZMQ_SNDMORE);
	(void)zmq_send(f->pub, cpf, cpl, ZMQ_SNDMORE);
	(void)zmq_send(f->pub, csf, csl, 0);
	/* and that history's next checkpoint, larger than anything true */
	f->fork_size = f->n_leaves + 1;
	checkpoint(f, m.u.checkpoint.interval, f->fork_size, 1);
	say("split", (unsigned long long)f->fork_size);
}

/* ---- requests --------------------------------------------------------- */

static void
reply(struct fx *f, zmq_msg_t *id, uint8_t (*frames)[2048], const size_t *lens, int n)
{
	(void)zmq_send(f->router, zmq_msg_data(id), zmq_msg_size(id), ZMQ_SNDMORE);
	for (int i = 0; i < n; i++)
		(void)zmq_send(f->router, frames[i], lens[i], i + 1 < n ? ZMQ_SNDMORE : 0);
}

static void
receipt(struct fx *f, zmq_msg_t *id, const uint8_t *req, size_t rlen, const struct pw_msg *rm,
        uint64_t seq, uint16_t reason, uint64_t idx)
{
	uint8_t out[1][2048];
	size_t len, n = 0;
	struct pw_msg m;

	memset(&m, 0, sizeof(m));
	m.type = reason == 0 ? PW_MSG_ACK : PW_MSG_REJECT;
	pw_sha256(req, rlen, m.u.receipt.ref_hash);
	m.u.receipt.ref_type = rm->type;
	m.u.receipt.ref_seq = seq;
	m.u.receipt.reason = reason;
	m.u.receipt.log_index = reason == 0 ? idx : UINT64_MAX;
	m.u.receipt.time_s = (uint64_t)(now_ms() / 1000);
	if (reason == 0) {
		/* protocol 2: the ACK embeds a signed head of the honest tree
		 * after this entry and the entry's inclusion path (never of a
		 * forked checkpoint's size: the lie is the fork, not a head) */
		struct pw_checkpoint *h = &m.u.receipt.head;
		if (f->fork_size != 0 && f->n_leaves == f->fork_size) {
			uint8_t filler[8] = "filler";
			(void)append(f, filler, sizeof(filler));
		}
		if (f->n_heads < MAXN)
			f->heads[f->n_heads++] = f->n_leaves;
		for (size_t i = f->n_cp; i-- > 0;)
			if (!f->cp[i].fork) {
				h->interval = f->cp[i].iv; /* the last settled */
				break;
			}
		snprintf(h->origin, sizeof(h->origin), "fake");
		h->tree_size = f->n_leaves;
		h->time_s = m.u.receipt.time_s;
		merkle_leaf_fn leaf = honest_leaf;
		/* forkhead: one ORDER, once the agent trusts checkpoints, is
		 * ACKed with a head of a tree that has one more (phantom) entry
		 * after it: the inclusion path is true, the head is a fork */
		if (is(f, "forkhead") && f->phantom_at == 0 && rm->type == PW_MSG_ORDER &&
		    f->n_honest_cp >= 2) {
			f->phantom_at = f->n_leaves;
			h->tree_size = f->n_leaves + 1;
			leaf = phantom_leaf;
			say("forkhead", (unsigned long long)h->tree_size);
		}
		if (merkle_subtree_root(leaf, f, 0, h->tree_size, h->root) != PW_OK ||
		    merkle_prove_inclusion(leaf, f, idx, h->tree_size, m.u.receipt.path,
		                           PW_PROOF_MAX_HASHES, &n) != PW_OK)
			exit(70);
		m.u.receipt.n_hashes = (uint8_t)n;
	}
	len = sign(f, &m, out[0], sizeof(out[0]));
	reply(f, id, out, &len, 1);
}

static uint64_t
latest_size(const struct fx *f)
{
	for (size_t i = f->n_cp; i-- > 0;)
		if (!f->cp[i].fork)
			return f->cp[i].size;
	return 0;
}

static void
query(struct fx *f, zmq_msg_t *id, const uint8_t *req, size_t rlen, const struct pw_msg *rm)
{
	const struct pw_query *q = &rm->u.query;
	static uint8_t out[8][2048];
	size_t lens[8];
	struct pw_msg m;
	size_t n = 0;
	int nf = 0;

	memset(&m, 0, sizeof(m));
	m.type = PW_MSG_PROOF;
	m.u.proof.nonce = q->nonce;
	switch (q->kind) {
	case PW_QUERY_CHECKPOINT:
		for (size_t i = f->n_cp; i-- > 0 && nf == 0;)
			if (!f->cp[i].fork) {
				memcpy(out[0], f->cp[i].frame, f->cp[i].len);
				lens[0] = f->cp[i].len;
				nf = 1;
			}
		break;
	case PW_QUERY_STATEMENT:
		for (size_t i = 0; i < f->n_st && nf == 0; i++)
			if (f->st[i].iv == q->a &&
			    memcmp(f->st[i].pk, rm->author, PW_PK_LEN) == 0) {
				memcpy(out[0], f->st[i].frame, f->st[i].len);
				lens[0] = f->st[i].len;
				nf = 1;
			}
		break;
	case PW_QUERY_RESULT:
		for (size_t i = 0; i < f->n_res && nf == 0; i++)
			if (f->res[i].iv == q->a) {
				memcpy(out[0], f->res[i].frame, f->res[i].len);
				lens[0] = f->res[i].len;
				nf = 1;
			}
		break;
	case PW_QUERY_INCLUSION:
	case PW_QUERY_STATEMENT_PROOF: {
		uint64_t size = q->b ? q->b : latest_size(f), idx = q->a;
		int found = q->kind == PW_QUERY_INCLUSION;
		for (size_t i = 0; !found && i < f->n_st; i++)
			if (f->st[i].iv == q->a &&
			    memcmp(f->st[i].pk, rm->author, PW_PK_LEN) == 0) {
				idx = f->st[i].idx;
				found = 1;
			}
		if (!found || size > f->n_leaves ||
		    merkle_prove_inclusion(honest_leaf, f, idx, size, m.u.proof.hashes,
		                           PW_PROOF_MAX_HASHES, &n) != PW_OK)
			break;
		m.u.proof.kind = PW_PROOF_INCLUSION;
		m.u.proof.a = idx;
		m.u.proof.b = size;
		m.u.proof.n_hashes = (uint8_t)n;
		lens[0] = sign(f, &m, out[0], sizeof(out[0]));
		nf = 1;
		break;
	}
	case PW_QUERY_MARKET:
	case PW_QUERY_MARKET_PROOF:
	case PW_QUERY_REGISTRY:
	case PW_QUERY_REGISTRY_PROOF: {
		static const uint8_t zero[PW_PK_LEN];
		uint64_t size = q->b ? q->b : latest_size(f);
		int market = q->kind == PW_QUERY_MARKET || q->kind == PW_QUERY_MARKET_PROOF;
		if (!market && memcmp(q->key, zero, PW_PK_LEN) == 0)
			break; /* not the agent's own-entry check (see the top) */
		const struct rule *r = find_rule(f, market ? NULL : q->key, q->a, size);
		if (r == NULL || size > f->n_leaves)
			break;
		if (!market && is(f, "wrongentry") && memcmp(q->key, f->bob, PW_PK_LEN) != 0) {
			const struct rule *b = find_rule(f, f->bob, 0, size);
			if (b != NULL) {
				r = b;
				if (!f->said_wrongentry++)
					say("wrongentry", (unsigned long long)size);
			}
		}
		if (q->kind == PW_QUERY_MARKET || q->kind == PW_QUERY_REGISTRY) {
			memcpy(out[0], r->frame, r->len);
			lens[0] = r->len;
			nf = 1;
			break;
		}
		if (merkle_prove_inclusion(honest_leaf, f, r->idx, size, m.u.proof.hashes,
		                           PW_PROOF_MAX_HASHES, &n) != PW_OK ||
		    n == 0)
			break;
		if (market && is(f, "badmarket")) {
			m.u.proof.hashes[0][0] ^= 0x01; /* a path that does not verify */
			if (!f->said_badmarket++)
				say("badmarket", (unsigned long long)q->a);
		}
		m.u.proof.kind = PW_PROOF_INCLUSION;
		m.u.proof.a = r->idx;
		m.u.proof.b = size;
		m.u.proof.n_hashes = (uint8_t)n;
		lens[0] = sign(f, &m, out[0], sizeof(out[0]));
		nf = 1;
		break;
	}
	case PW_QUERY_CONSISTENCY: {
		int forked = f->fork_size != 0 && (q->a == f->fork_size || q->b == f->fork_size);
		if (forked && is(f, "fork_refuse"))
			break; /* it will not link its two histories */
		if (q->a > q->b || (!forked && q->b > f->n_leaves) ||
		    merkle_prove_consistency(forked ? fork_leaf : honest_leaf, f, q->a, q->b,
		                             m.u.proof.hashes, PW_PROOF_MAX_HASHES, &n) != PW_OK)
			break;
		m.u.proof.kind = PW_PROOF_CONSISTENCY;
		m.u.proof.a = q->a;
		m.u.proof.b = q->b;
		m.u.proof.n_hashes = (uint8_t)n;
		lens[0] = sign(f, &m, out[0], sizeof(out[0]));
		nf = 1;
		break;
	}
	default:
		break;
	}
	if (nf == 0) {
		receipt(f, id, req, rlen, rm, q->nonce, PW_REASON_BAD_QUERY, 0);
		return;
	}
	reply(f, id, out, lens, nf);
}

static void
request(struct fx *f)
{
	zmq_msg_t id, body;
	struct pw_msg m;
	int more = 0;
	size_t ml = sizeof(more);
	uint64_t now_s = (uint64_t)(now_ms() / 1000);

	zmq_msg_init(&id);
	zmq_msg_init(&body);
	if (zmq_msg_recv(&id, f->router, ZMQ_DONTWAIT) < 0 || zmq_msg_recv(&body, f->router, 0) < 0)
		goto out;
	(void)zmq_getsockopt(f->router, ZMQ_RCVMORE, &more, &ml);
	while (more) { /* not one frame: drop the rest */
		zmq_msg_t x;
		zmq_msg_init(&x);
		(void)zmq_msg_recv(&x, f->router, 0);
		zmq_msg_close(&x);
		(void)zmq_getsockopt(f->router, ZMQ_RCVMORE, &more, &ml);
	}
	const uint8_t *req = zmq_msg_data(&body);
	size_t rlen = zmq_msg_size(&body);
	if (pw_wire_open(req, rlen, f->market, &m) != PW_OK)
		goto out;
	/* a new household: its REGISTRY entry (zone north) before its first
	 * entry in the log */
	if (m.type != PW_MSG_QUERY && find_rule(f, m.author, 0, f->n_leaves) == NULL)
		log_registry(f, m.author, "household", "north");
	if (m.type == PW_MSG_ORDER) {
		if (f->n_ord < MAXN) {
			struct ord *o = &f->ord[f->n_ord++];
			memcpy(o->pk, m.author, PW_PK_LEN);
			o->seq = m.u.order.seq;
			o->iv = m.u.order.interval;
			o->side = m.u.order.side;
			o->qty = m.u.order.qty_wh;
			o->price = m.u.order.price_uper_kwh;
			o->cancelled = 0;
		}
		receipt(f, &id, req, rlen, &m, m.u.order.seq, 0, append(f, req, rlen));
	} else if (m.type == PW_MSG_CANCEL) {
		for (size_t i = 0; i < f->n_ord; i++)
			if (f->ord[i].seq == m.u.cancel.order_seq &&
			    memcmp(f->ord[i].pk, m.author, PW_PK_LEN) == 0)
				f->ord[i].cancelled = 1;
		receipt(f, &id, req, rlen, &m, m.u.cancel.seq, 0, append(f, req, rlen));
	} else if (m.type == PW_MSG_METER) {
		const struct pw_meter *r = &m.u.meter;
		if ((uint64_t)((int64_t)(r->interval + 1) * f->L) > now_s) {
			receipt(f, &id, req, rlen, &m, r->seq, PW_REASON_METER_TOO_EARLY, 0);
			goto out;
		}
		if (f->n_rdg < MAXN) {
			struct rdg *d = &f->rdg[f->n_rdg++];
			memcpy(d->pk, m.author, PW_PK_LEN);
			d->iv = r->interval;
			d->exp = r->export_end_wh - r->export_start_wh;
			d->imp = r->import_end_wh - r->import_start_wh;
			d->ack_s = now_s;
		}
		receipt(f, &id, req, rlen, &m, r->seq, 0, append(f, req, rlen));
	} else if (m.type == PW_MSG_QUERY) {
		query(f, &id, req, rlen, &m);
	} else if (m.type == PW_MSG_COSIGN) {
		printf("cosign %llu\n", (unsigned long long)m.u.cosign.tree_size);
		fflush(stdout);
		receipt(f, &id, req, rlen, &m, m.u.cosign.tree_size, 0, append(f, req, rlen));
		if (is(f, "split") && !f->split_done && m.u.cosign.tree_size >= 2)
			split_view(f, m.u.cosign.tree_size);
	}
out:
	zmq_msg_close(&id);
	zmq_msg_close(&body);
}

/* ---- the market clock --------------------------------------------------- */

static void
result_frame(struct fx *f, struct ivres *r, int32_t price, uint8_t *out, size_t cap, size_t *len)
{
	struct pw_msg m;
	uint64_t vol = 0;
	memset(&m, 0, sizeof(m));
	for (uint16_t i = 0; i < r->n; i++)
		vol += r->t[i].qty_wh;
	m.type = PW_MSG_RESULT;
	m.u.result.interval = r->iv;
	m.u.result.price_uper_kwh = vol ? price : 0;
	m.u.result.volume_wh = vol;
	m.u.result.n_trades_total = r->n;
	m.u.result.parts = 1;
	m.u.result.n_trades = r->n;
	m.u.result.trades = r->t;
	*len = sign(f, &m, out, cap);
}

static void
clear(struct fx *f, uint64_t iv)
{
	struct ivres *r;
	uint64_t bob_seq = 1000;
	int mine = 0;

	if (f->n_res == MAXN)
		return;
	r = &f->res[f->n_res++];
	memset(r, 0, sizeof(*r));
	r->iv = iv;
	/* every order of the interval filled by a counterparty at its limit:
	 * one uniform price, the first order's; the others trade when their
	 * limit allows it */
	for (size_t i = 0; i < f->n_ord && r->n < 8 && iv % 2 == 0; i++) {
		struct ord *o = &f->ord[i];
		if (o->iv != iv || o->cancelled)
			continue;
		if (r->n == 0)
			r->price = o->price;
		if (o->side == PW_SIDE_BUY ? o->price < r->price : o->price > r->price)
			continue;
		struct pw_trade *t = &r->t[r->n++];
		memcpy(t->buyer, o->side == PW_SIDE_BUY ? o->pk : f->bob, PW_PK_LEN);
		memcpy(t->seller, o->side == PW_SIDE_BUY ? f->bob : o->pk, PW_PK_LEN);
		t->buy_seq = o->side == PW_SIDE_BUY ? o->seq : bob_seq++;
		t->sell_seq = o->side == PW_SIDE_BUY ? bob_seq++ : o->seq;
		t->qty_wh = o->qty;
		mine = 1;
	}
	if (mine && ++f->ivs_with_orders == 2) {
		struct pw_trade *t = &r->t[0];
		int buy = memcmp(t->buyer, f->bob, PW_PK_LEN) != 0;
		if (is(f, "overfill")) {
			t->qty_wh *= 50;
			r->price *= 3;
			say("overfill", (unsigned long long)iv);
		} else if (is(f, "unknown")) {
			struct pw_trade *u = &r->t[r->n++];
			*u = *t;
			if (buy)
				u->buy_seq = 424242;
			else
				u->sell_seq = 424242;
			u->qty_wh = 77;
			if (buy)
				u->sell_seq = 999;
			else
				u->buy_seq = 999;
			say("unknown", (unsigned long long)iv);
		}
	}
	result_frame(f, r, r->price, r->frame, sizeof(r->frame), &r->len);
	(void)append(f, r->frame, r->len);
	/* every RESULT twice: a re-delivery of the same frame is no lie */
	publish(f, r->frame, r->len, PW_MSG_RESULT);
	publish(f, r->frame, r->len, PW_MSG_RESULT);
	if (mine && f->ivs_with_orders == 2 && is(f, "equivocate")) {
		uint8_t other[2048];
		size_t olen;
		result_frame(f, r, r->price + 1000, other, sizeof(other), &olen);
		publish(f, other, olen, PW_MSG_RESULT);
		say("equivocate", (unsigned long long)iv);
	}
}

static void
checkpoint(struct fx *f, uint64_t iv, uint64_t size, int fork)
{
	struct pw_msg m;
	struct cpt *c;

	if (f->n_cp == MAXN)
		return;
	c = &f->cp[f->n_cp++];
	memset(&m, 0, sizeof(m));
	m.type = PW_MSG_CHECKPOINT;
	snprintf(m.u.checkpoint.origin, sizeof(m.u.checkpoint.origin), "fake");
	m.u.checkpoint.interval = iv;
	m.u.checkpoint.tree_size = size;
	if (merkle_subtree_root(fork ? fork_leaf : honest_leaf, f, 0, size, m.u.checkpoint.root) !=
	    PW_OK)
		exit(70);
	m.u.checkpoint.time_s = (uint64_t)(now_ms() / 1000);
	c->size = size;
	c->iv = iv;
	c->fork = fork;
	c->len = sign(f, &m, c->frame, sizeof(c->frame));
	publish(f, c->frame, c->len, PW_MSG_CHECKPOINT);
}

static int32_t
retail_of(const struct fx *f, uint64_t iv)
{
	return f->retail_from != 0 && iv >= f->retail_from ? RETAIL2 : RETAIL;
}

static void
settle(struct fx *f, uint64_t iv, uint64_t now_s)
{
	const uint8_t *pk = NULL;
	const struct ivres *r = NULL;
	struct settle_tariffs tar = { FEEDIN, retail_of(f, iv) };

	for (size_t i = 0; i < f->n_res; i++)
		if (f->res[i].iv == iv)
			r = &f->res[i];
	/* the household: the author of any order or reading */
	if (f->n_ord > 0)
		pk = f->ord[0].pk;
	else if (f->n_rdg > 0)
		pk = f->rdg[0].pk;
	if (pk != NULL) {
		struct settle_trade tr[16];
		size_t n = 0;
		struct settle_reading rd = { 1, 0, 0, 0 };
		int read_before = 0;
		for (uint16_t i = 0; r != NULL && i < r->n; i++) {
			int buy = memcmp(r->t[i].buyer, pk, PW_PK_LEN) == 0;
			if (!buy && memcmp(r->t[i].seller, pk, PW_PK_LEN) != 0)
				continue;
			tr[n].side = buy ? PW_SIDE_BUY : PW_SIDE_SELL;
			tr[n].qty_wh = r->t[i].qty_wh;
			tr[n].fee_uper_kwh = fee_of(f, r->t[i].buyer, r->t[i].seller);
			n++;
		}
		for (size_t i = 0; i < f->n_rdg; i++)
			if (f->rdg[i].iv == iv && memcmp(f->rdg[i].pk, pk, PW_PK_LEN) == 0 &&
			    f->rdg[i].ack_s <= now_s) {
				rd.missing = 0;
				read_before = f->rdg[i].ack_s < now_s;
				rd.export_wh = f->rdg[i].exp;
				rd.import_wh = f->rdg[i].imp;
			}
		if (n > 0 || !rd.missing) {
			struct pw_msg m;
			int32_t price = r != NULL ? r->price : 0;
			memset(&m, 0, sizeof(m));
			m.type = PW_MSG_STATEMENT;
			/* a reading ACKed in an earlier second than this settlement
			 * (and its checkpoint): the agent can tell "missing" is false */
			if (!rd.missing && read_before && ++f->ivs_read == 2 && is(f, "missing")) {
				rd.missing = 1;
				say("missing", (unsigned long long)iv);
			}
			if (n == 0 && !rd.missing && ++f->ivs_untraded == 1 && is(f, "money")) {
				/* bought energy without any trade, at 3.00/kWh */
				tr[0].side = PW_SIDE_BUY;
				tr[0].qty_wh = 5000;
				tr[0].fee_uper_kwh = FEE_SAME;
				n = 1;
				price = 3000000;
				say("money_bought", (unsigned long long)iv);
			}
			if (settle_household(&tar, price, tr, n, &rd, &m.u.statement) != PW_OK)
				exit(70);
			if (n > 0 && r != NULL && r->n > 0 && ++f->ivs_traded == 2 &&
			    is(f, "money")) {
				m.u.statement.net_u -= 99000000; /* not peer + grid - fee */
				say("money_net", (unsigned long long)iv);
			}
			if (n > 0 && r != NULL && r->n > 0 && f->ivs_traded == 2 && is(f, "fee") &&
			    m.u.statement.fee_u > 0) {
				/* one micro-unit more fee, the figures consistent with it */
				m.u.statement.fee_u += 1;
				m.u.statement.net_u -= 1;
				m.u.statement.saving_u -= 1;
				say("fee", (unsigned long long)iv);
			}
			memcpy(m.u.statement.household, pk, PW_PK_LEN);
			m.u.statement.interval = iv;
			if (f->n_st < MAXN) {
				struct stmt *s = &f->st[f->n_st++];
				memcpy(s->pk, pk, PW_PK_LEN);
				s->iv = iv;
				s->len = sign(f, &m, s->frame, sizeof(s->frame));
				s->idx = append(f, s->frame, s->len);
			}
		}
	}
	if (f->fork_size != 0 && f->n_leaves == f->fork_size) {
		/* never an honest checkpoint of the forked one's size */
		uint8_t filler[8] = "filler";
		(void)append(f, filler, sizeof(filler));
	}
	checkpoint(f, iv, f->n_leaves, 0);
	f->n_honest_cp++;
	if (is(f, "retariff") && f->n_honest_cp == 2) {
		/* honest: new tariffs from a later interval on, as a MARKET entry
		 * of the log would set them */
		f->retail_from = iv + 3;
		log_market(f, f->retail_from, RETAIL2);
		printf("retariff %llu\n", (unsigned long long)f->retail_from);
		fflush(stdout);
	}
	if (is(f, "fork_refuse") && f->n_honest_cp == 2) {
		/* a history one entry longer that shares nothing after the
		 * previous checkpoint */
		f->fork_at = f->cp[f->n_cp - 2].size;
		f->fork_size = f->n_leaves + 1;
		checkpoint(f, iv, f->fork_size, 1);
		say("fork_refuse", (unsigned long long)f->fork_size);
	}
	if (is(f, "fork_between") && f->n_honest_cp == 3) {
		/* the 2nd and 3rd are held: one between them, from a history
		 * that leaves the true one after the 2nd */
		uint64_t s2 = 0;
		for (size_t i = 0, k = 0; i < f->n_cp; i++)
			if (!f->cp[i].fork && ++k == 2)
				s2 = f->cp[i].size;
		uint64_t size = s2 + 1;
		/* a size no ACK's head had: else the fork shows as two heads of
		 * one size, not as a failed consistency proof */
		for (size_t i = 0; i < f->n_heads; i++)
			if (f->heads[i] == size) {
				size++;
				i = (size_t)-1;
			}
		if (size < f->n_leaves) {
			f->fork_at = s2;
			f->fork_size = size;
			checkpoint(f, iv, f->fork_size, 1);
			say("fork_between", (unsigned long long)f->fork_size);
		} else {
			f->n_honest_cp--; /* try at the next one */
		}
	}
}

static void
heartbeat(struct fx *f)
{
	struct pw_msg m;
	uint8_t out[256];
	size_t len;

	memset(&m, 0, sizeof(m));
	m.type = PW_MSG_HEARTBEAT;
	m.u.heartbeat.time_ms = (uint64_t)now_ms();
	m.u.heartbeat.period_ms = 1000;
	m.u.heartbeat.interval_s = (uint32_t)f->L;
	m.u.heartbeat.gate_s = GATE_S;
	m.u.heartbeat.feedin_uper_kwh = FEEDIN;
	m.u.heartbeat.retail_uper_kwh = retail_of(f, (uint64_t)(now_ms() / 1000 / f->L));
	len = sign(f, &m, out, sizeof(out));
	publish(f, out, len, PW_MSG_HEARTBEAT);
}

static void *
curve_socket(void *ctx, int type, const struct pw_keypair *kp, const char *port)
{
	uint8_t sk[PW_CURVE_LEN];
	char ep[64];
	int one = 1;
	void *s = zmq_socket(ctx, type);

	snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%s", port);
	if (s == NULL || pw_key_curve_secret(kp, sk) != PW_OK ||
	    zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof(one)) != 0 ||
	    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sk, sizeof(sk)) != 0 ||
	    (type == ZMQ_ROUTER &&
	     zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) != 0) ||
	    zmq_bind(s, ep) != 0) {
		fprintf(stderr, "pw-fakexch: %s: %s\n", ep, zmq_strerror(zmq_errno()));
		exit(69);
	}
	return s;
}

int
main(int argc, char **argv)
{
	static struct fx f;
	const char *scen[] = { "honest",    "overfill",    "unknown",      "equivocate", "money",
		               "missing",   "fork_refuse", "fork_between", "retariff",   "fee",
		               "badmarket", "split",       "wrongentry",   "forkhead" };
	int known = 0;

	if (argc != 7) {
		fprintf(
		    stderr,
		    "usage: pw-fakexch EXKEY REQ_PORT PUB_PORT MARKET_ID INTERVAL_S SCENARIO\n");
		return 64;
	}
	for (size_t i = 0; i < sizeof(scen) / sizeof(scen[0]); i++)
		known |= strcmp(argv[6], scen[i]) == 0;
	f.market = strtoull(argv[4], NULL, 10);
	f.L = strtoll(argv[5], NULL, 10);
	f.scen = argv[6];
	if (!known || f.L < 2 || f.L > 3600) {
		fprintf(stderr, "pw-fakexch: bad scenario or interval\n");
		return 64;
	}
	if (pw_crypto_init() != PW_OK || pw_key_load(argv[1], &f.kp) != PW_OK) {
		fprintf(stderr, "pw-fakexch: cannot load %s\n", argv[1]);
		return 70;
	}
	memset(f.bob, 0xb0, sizeof(f.bob));
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	void *ctx = zmq_ctx_new();
	f.router = curve_socket(ctx, ZMQ_ROUTER, &f.kp, argv[2]);
	f.pub = curve_socket(ctx, ZMQ_PUB, &f.kp, argv[3]);
	printf("fakexch: listening (%s)\n", f.scen);
	fflush(stdout);

	int64_t t = now_ms(), next_hb = 0;
	uint64_t next_clear = (uint64_t)(t / 1000 / f.L) + 1, next_settle = next_clear;
	/* the genesis: the market's rules, then bob's registry entry; a
	 * first checkpoint of them, so the agent has one at once */
	log_market(&f, 0, RETAIL);
	log_registry(&f, f.bob, "bob", "south");
	checkpoint(&f, next_clear - 1, f.n_leaves, 0);
	while (!stop) {
		zmq_pollitem_t it = { f.router, 0, ZMQ_POLLIN, 0 };
		if (zmq_poll(&it, 1, 50) > 0)
			for (int i = 0; i < 64; i++)
				request(&f);
		t = now_ms();
		if (t >= next_hb) {
			heartbeat(&f);
			next_hb = t + 1000;
		}
		while ((int64_t)next_clear * f.L - GATE_S <= t / 1000)
			clear(&f, next_clear++);
		while ((int64_t)(next_settle + 1) * f.L + GRACE <= t / 1000 &&
		       next_settle < next_clear)
			settle(&f, next_settle++, (uint64_t)(t / 1000));
	}
	int zero = 0;
	(void)zmq_setsockopt(f.router, ZMQ_LINGER, &zero, sizeof(zero));
	(void)zmq_setsockopt(f.pub, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_close(f.router);
	zmq_close(f.pub);
	zmq_ctx_term(ctx);
	free(f.leaves);
	pw_key_wipe(&f.kp);
	return 0;
}
