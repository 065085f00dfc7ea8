/*
 * tests/tools/pw-fakexch/fakexch.h: what the parts of pw-fakexch share (the
 * fake exchange's state and the functions one part calls in another):
 *   main.c      usage, the sockets and the loop
 *   log.c       its log: the honest, forked and phantom trees, appending,
 *               signing, publishing; the MARKET and REGISTRY entries
 *   requests.c  the answers to requests: ACKs and REJECTs with their heads,
 *               QUERY answers, the split view shown after a COSIGN
 *   clock.c     the market clock: clearing, settling, checkpoints and
 *               heartbeats, with the lies of the scenarios in them
 *
 * What the tool does and its scenarios: main.c.
 */
#ifndef PW_FAKEXCH_H
#define PW_FAKEXCH_H

#include <stddef.h>
#include <stdint.h>

#include "peerwatt/keys.h"
#include "peerwatt/merkle.h"
#include "peerwatt/wire.h"

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
	int split_done, fakewitness_done;
	uint64_t heads[MAXN]; /* tree sizes of the heads its ACKs carried */
	size_t n_heads;
	uint8_t bob[PW_PK_LEN];
	struct rule rules[MAXR];
	size_t n_rules;
	int said_badmarket, said_wrongentry;
	uint64_t phantom_at; /* forkhead: the head's tree has a phantom entry here (0: none yet) */
};

/* log.c */
int64_t now_ms(void);
int is(const struct fx *f, const char *s);
pw_err honest_leaf(void *ctx, uint64_t idx, uint8_t out[MERKLE_HASH_LEN]);
pw_err fork_leaf(void *ctx, uint64_t idx, uint8_t out[MERKLE_HASH_LEN]);
pw_err phantom_leaf(void *ctx, uint64_t idx, uint8_t out[MERKLE_HASH_LEN]);
uint64_t append(struct fx *f, const uint8_t *frame, size_t len);
size_t sign(struct fx *f, struct pw_msg *m, uint8_t *out, size_t cap);
void publish(struct fx *f, const uint8_t *frame, size_t len, uint8_t type);
void say(const char *kind, unsigned long long n);
void log_market(struct fx *f, uint64_t eff, int32_t retail);
void log_registry(struct fx *f, const uint8_t pk[PW_PK_LEN], const char *id, const char *zone);
const struct rule *find_rule(const struct fx *f, const uint8_t *key, uint64_t iv, uint64_t size);
uint32_t fee_of(const struct fx *f, const uint8_t a[PW_PK_LEN], const uint8_t b[PW_PK_LEN]);

/* requests.c */
void request(struct fx *f);

/* clock.c */
void clear(struct fx *f, uint64_t iv);
void checkpoint(struct fx *f, uint64_t iv, uint64_t size, int fork);
void settle(struct fx *f, uint64_t iv, uint64_t now_s);
void heartbeat(struct fx *f);

#endif
