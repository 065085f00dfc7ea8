/*
 * pw-fakexch (tests/tools/pw-fakexch/, its parts in fakexch.h): a fake
 * exchange that lies, for tests/integration/agent_liar.sh
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
 *   fakewitness  once the agent cosigned a checkpoint of size S (its own
 *                checkpoint, true), COSIGNED shows it that checkpoint with
 *                the agent's cosignature and one by a key no household has
 *                (made up); its REGISTRY queries are refused; prints "lie
 *                fakewitness S"
 *   forkhead     one ORDER, once two checkpoints are out: ACKed with a head
 *                of a tree holding one more (phantom) entry after it, the
 *                inclusion path true against that head, the head a fork;
 *                prints "lie forkhead N" (N: the head's size)
 *
 * Every COSIGN is ACKed and logged; it prints "cosign N" (N: its tree size).
 *
 *   pw-fakexch EXKEY REQ_PORT PUB_PORT MARKET_ID INTERVAL_S SCENARIO
 *
 * A port of 0 is one the kernel picks (no race with another test drawing
 * the same free port); the ports bound are printed once both are:
 * "fakexch: listening (SCENARIO) REQ_PORT PUB_PORT".
 *
 * Runs until SIGTERM.  Tariffs 0.08 / 0.30, gate 1 s.
 * Loopback test traffic only.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "fakexch.h"

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* binds a CURVE server socket on 127.0.0.1:port ("0": a port the kernel
 * picks); *bound: the port bound */
static void *
curve_socket(void *ctx, int type, const struct pw_keypair *kp, const char *port, unsigned *bound)
{
	uint8_t sk[PW_CURVE_LEN];
	char ep[64];
	size_t len = sizeof(ep);
	int one = 1;
	void *s = zmq_socket(ctx, type);

	snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%s", strcmp(port, "0") == 0 ? "*" : port);
	if (s == NULL || pw_key_curve_secret(kp, sk) != PW_OK ||
	    zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof(one)) != 0 ||
	    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sk, sizeof(sk)) != 0 ||
	    (type == ZMQ_ROUTER &&
	     zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) != 0) ||
	    zmq_bind(s, ep) != 0) {
		fprintf(stderr, "pw-fakexch: %s: %s\n", ep, zmq_strerror(zmq_errno()));
		exit(69);
	}
	const char *colon;
	if (zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &len) != 0 ||
	    (colon = strrchr(ep, ':')) == NULL || sscanf(colon + 1, "%u", bound) != 1) {
		fprintf(stderr, "pw-fakexch: cannot read the port bound\n");
		exit(70);
	}
	return s;
}

int
main(int argc, char **argv)
{
	static struct fx f;
	const char *scen[] = { "honest",     "overfill", "unknown",     "equivocate",
		               "money",      "missing",  "fork_refuse", "fork_between",
		               "retariff",   "fee",      "badmarket",   "split",
		               "wrongentry", "forkhead", "fakewitness" };
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
	unsigned req_port, pub_port;
	f.router = curve_socket(ctx, ZMQ_ROUTER, &f.kp, argv[2], &req_port);
	f.pub = curve_socket(ctx, ZMQ_PUB, &f.kp, argv[3], &pub_port);
	printf("fakexch: listening (%s) %u %u\n", f.scen, req_port, pub_port);
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
