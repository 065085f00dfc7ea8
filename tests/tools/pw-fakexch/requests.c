/*
 * requests.c: pw-fakexch's answers to requests (fakexch.h): an ACK (with
 * the signed head of its tree and the entry's inclusion path) or a REJECT
 * for each order, cancel, reading and cosignature, the answers to QUERY,
 * and the split view it shows after a COSIGN (scenario split).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "fakexch.h"

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

/* fakewitness: the checkpoint of size s the agent cosigned (cosign, its
 * frame), shown with that cosignature and one by a made-up key. */
static void
fake_witness(struct fx *f, uint64_t s, const uint8_t *cosign, size_t clen)
{
	struct pw_keypair nb;
	uint8_t seed[PW_SEED_LEN], csf[256];
	struct pw_msg c;
	const struct cpt *cp = NULL;
	size_t csl;
	const char *topic = "COSIGNED";

	for (size_t i = 0; i < f->n_cp; i++)
		if (f->cp[i].size == s && !f->cp[i].fork)
			cp = &f->cp[i];
	if (cp == NULL || pw_wire_decode_stored(cosign, clen, &c) != PW_OK)
		return;
	f->fakewitness_done = 1;
	memset(seed, 0x66, sizeof(seed));
	if (pw_key_from_seed(&nb, seed) != PW_OK ||
	    pw_wire_encode(&c, f->market, &nb, csf, sizeof(csf), &csl) != PW_OK)
		exit(70);
	pw_key_wipe(&nb);
	(void)zmq_send(f->pub, topic, strlen(topic), ZMQ_SNDMORE);
	(void)zmq_send(f->pub, cp->frame, cp->len, ZMQ_SNDMORE);
	(void)zmq_send(f->pub, cosign, clen, ZMQ_SNDMORE);
	(void)zmq_send(f->pub, csf, csl, 0);
	say("fakewitness", (unsigned long long)s);
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

void
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
		/* (a checkpoint the household's own REGISTRY entry is in: it
		 * is logged before its first request, not at the start) */
		if (is(f, "fakewitness") && !f->fakewitness_done &&
		    find_rule(f, m.author, 0, m.u.cosign.tree_size) != NULL)
			fake_witness(f, m.u.cosign.tree_size, req, rlen);
	}
out:
	zmq_msg_close(&id);
	zmq_msg_close(&body);
}
