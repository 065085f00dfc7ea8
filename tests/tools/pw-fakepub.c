/*
 * pw-fakepub: a fake exchange's market-data socket for
 * tests/integration/agent_wire.sh.  Binds a CURVE PUB socket with the
 * exchange's own key on ENDPOINT and publishes, for SECONDS:
 *   - badly signed frames: DEPTH frames signed with the exchange key and one
 *     signature byte flipped, as fast as it can (a flood);
 *   - every 100 ms one correctly signed DEPTH for interval IV (e.g. 2^62).
 * Prints "fakepub sent N bad M depth" at the end.  Loopback test traffic.
 *
 *   pw-fakepub EXKEY ENDPOINT MARKET_ID IV SECONDS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "peerwatt/keys.h"
#include "peerwatt/wire.h"

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
depth_frame(const struct pw_keypair *kp, uint64_t market, uint64_t iv, uint8_t *frame, size_t cap,
            size_t *len)
{
	struct pw_msg m;

	memset(&m, 0, sizeof(m));
	m.type = PW_MSG_DEPTH;
	m.u.depth.interval = iv;
	m.u.depth.n_levels = 1;
	m.u.depth.levels[0].side = PW_SIDE_BUY;
	m.u.depth.levels[0].price_uper_kwh = 200000;
	m.u.depth.levels[0].qty_wh = 500;
	return pw_wire_encode(&m, market, kp, frame, cap, len) == PW_OK ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct pw_keypair kp;
	uint8_t curve_sk[PW_CURVE_LEN], good[1024], bad[1024];
	size_t glen, blen;
	unsigned long long nbad = 0, ngood = 0;
	long long end, next_good = 0;
	const char *topic;
	void *ctx, *pub;
	int one = 1, zero = 0, hwm = 100000;
	uint64_t market, iv;

	if (argc != 6) {
		fprintf(stderr, "usage: pw-fakepub EXKEY ENDPOINT MARKET_ID IV SECONDS\n");
		return 64;
	}
	market = strtoull(argv[3], NULL, 10);
	iv = strtoull(argv[4], NULL, 10);
	if (pw_crypto_init() != PW_OK || pw_key_load(argv[1], &kp) != PW_OK ||
	    pw_key_curve_secret(&kp, curve_sk) != PW_OK) {
		fprintf(stderr, "pw-fakepub: cannot load %s\n", argv[1]);
		return 70;
	}
	if (depth_frame(&kp, market, iv, good, sizeof(good), &glen) != 0 ||
	    depth_frame(&kp, market, 1, bad, sizeof(bad), &blen) != 0)
		return 70;
	bad[blen - 1] ^= 0x01; /* the signature no longer verifies */
	topic = pw_msg_type_name(PW_MSG_DEPTH);
	ctx = zmq_ctx_new();
	pub = zmq_socket(ctx, ZMQ_PUB);
	if (pub == NULL || zmq_setsockopt(pub, ZMQ_CURVE_SERVER, &one, sizeof(one)) != 0 ||
	    zmq_setsockopt(pub, ZMQ_CURVE_SECRETKEY, curve_sk, 32) != 0 ||
	    zmq_setsockopt(pub, ZMQ_SNDHWM, &hwm, sizeof(hwm)) != 0 ||
	    zmq_bind(pub, argv[2]) != 0) {
		fprintf(stderr, "pw-fakepub: %s: %s\n", argv[2], zmq_strerror(zmq_errno()));
		return 69;
	}
	printf("fakepub: listening\n");
	fflush(stdout);
	end = now_ms() + atoll(argv[5]) * 1000;
	while (now_ms() < end) {
		if (now_ms() >= next_good) {
			if (zmq_send(pub, topic, strlen(topic), ZMQ_SNDMORE) >= 0 &&
			    zmq_send(pub, good, glen, 0) >= 0)
				ngood++;
			next_good = now_ms() + 100;
		}
		for (int i = 0; i < 100; i++)
			if (zmq_send(pub, topic, strlen(topic), ZMQ_SNDMORE) >= 0 &&
			    zmq_send(pub, bad, blen, 0) >= 0)
				nbad++;
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	printf("fakepub sent %llu bad %llu depth\n", nbad, ngood);
	(void)zmq_setsockopt(pub, ZMQ_LINGER, &zero, sizeof(zero)); /* stop sending now */
	zmq_close(pub);
	zmq_ctx_term(ctx);
	pw_key_wipe(&kp);
	return 0;
}
