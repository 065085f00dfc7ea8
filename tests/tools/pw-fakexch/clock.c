/*
 * clock.c: pw-fakexch's market clock (fakexch.h): each interval cleared at
 * its gate and settled after its end, a CHECKPOINT after each settlement,
 * a HEARTBEAT every second; the scenarios' lies in the RESULTs, statements
 * and checkpoints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakexch.h"
#include "rules/settle.h"

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

void
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

void
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

void
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

void
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
