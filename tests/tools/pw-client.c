/*
 * pw-client: a minimal household client for tests and operators: sends one
 * crafted request over DEALER + CURVE and prints the signed reply, or
 * listens on the PUB socket.  Flags corrupt the request to exercise every
 * rejection of the exchange (tests/integration/exchange*.sh).
 *
 *   pw-client keygen FILE                       new key file; prints the public key
 *   pw-client pubkey FILE                       prints the public key of a key file
 *   pw-client [opts] order SEQ IV buy|sell QTY PRICE EXPIRY
 *   pw-client [opts] cancel SEQ IV ORDER_SEQ
 *   pw-client [opts] meter SEQ IV SERIAL EXP_START EXP_END IMP_START IMP_END [TIME_STATUS]
 *   pw-client [opts] query statement|inclusion|consistency|checkpoint|result|
 *                          statement_proof|registry|registry_proof|market|
 *                          market_proof|cosigned|schedule A B [KEY_HEX]
 *   pw-client [opts] cosign latest|badroot|badsize|SIZE   COSIGN the latest
 *                          CHECKPOINT (asked first on a connection of its own;
 *                          badroot/badsize: a root or size the exchange never
 *                          signed), or the one of SIZE (asked by QUERY COSIGNED:
 *                          one somebody cosigned already)
 *   pw-client [opts] sub TOPIC COUNT            prints COUNT messages of TOPIC
 * opts: -e ENDPOINT (requests or PUB) -s SERVER_PK_HEX -k KEYFILE (connection)
 *       -a KEYFILE (author, default -k) -m MARKET_ID -L INTERVAL_S -t TIMEOUT_MS
 *       -r N (send the same frame N times) -x sig|trunc|big|frames|type|huge|v1
 *       (v1: the version byte set to 1, as a protocol-1 client sends it)
 * IV may be "+N" (current interval + N, with -L); EXPIRY may be "+N" (now + N s).
 * Prints one line per reply frame: "ACK <log_index>", "REJECT <reason>",
 * "RESULT iv price volume trades parts", "STATEMENT iv flags net_u",
 * "PROOF n a b HASH...", "CHECKPOINT size iv", "DEPTH iv levels",
 * "HEARTBEAT time_ms interval_s feedin retail",
 * "REGISTRY id zone serial max_export_w max_import_w revoked LEAF_HEX",
 * "MARKET effective_interval feedin retail fee_same fee_default n_fees LEAF_HEX",
 * "COSIGN size author_hex" (a household's frame; "BADSIG" when its own
 * signature fails); "BADSIG" when the
 * exchange's signature does not verify.  Exit 0 when every reply came,
 * 1 on timeout, 64 on usage errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "peerwatt/config.h"
#include "peerwatt/keys.h"
#include "peerwatt/merkle.h"
#include "peerwatt/wire.h"

struct opts {
	const char *endpoint, *server_hex, *key, *author_key, *corrupt;
	int64_t market_id, interval_s, timeout_ms, repeat;
};

static void
usage(void)
{
	fprintf(stderr,
	        "usage: pw-client keygen FILE | pubkey FILE\n"
	        "       pw-client -e EP -s SERVER_PK -k KEY -m MARKET [-a KEY] [-L S] [-t MS]\n"
	        "                 [-r N] [-x sig|trunc|big|frames|type|huge|v1] KIND ARGS...\n");
	exit(64);
}

static int64_t
num(const char *s, int64_t min, int64_t max)
{
	int64_t v;
	if (pw_parse_i64(s, min, max, &v) != PW_OK) {
		fprintf(stderr, "pw-client: bad number '%s'\n", s);
		exit(64);
	}
	return v;
}

/* "+N" relative to `base`, else absolute. */
static uint64_t
rel(const char *s, int64_t base)
{
	if (s[0] == '+')
		return (uint64_t)(base + num(s + 1, 0, INT64_MAX / 2));
	return (uint64_t)num(s, 0, INT64_MAX);
}

static void
load_key(const char *path, struct pw_keypair *kp)
{
	pw_err rc = pw_key_load(path, kp);
	if (rc != PW_OK) {
		fprintf(stderr, "pw-client: %s: %s\n", path, pw_strerror(rc));
		exit(64);
	}
}

static void
print_reply(const uint8_t *buf, size_t len, uint64_t market_id, const uint8_t server_pk[32],
            const uint8_t *req, size_t req_len)
{
	struct pw_msg m;
	if (pw_wire_decode(buf, len, &m) != PW_OK) {
		printf("UNDECODABLE %zu\n", len);
		return;
	}
	if (m.type == PW_MSG_COSIGN) {
		char hex[65];
		pw_hex_encode(m.author, 32, hex);
		if (pw_wire_verify(buf, len, market_id) != PW_OK)
			printf("BADSIG\n");
		else
			printf("COSIGN %llu %s\n", (unsigned long long)m.u.cosign.tree_size, hex);
		return;
	}
	if (memcmp(m.author, server_pk, 32) != 0 || pw_wire_verify(buf, len, market_id) != PW_OK) {
		printf("BADSIG\n");
		return;
	}
	switch (m.type) {
	case PW_MSG_ACK:
		/* a receipt counts only when it proves the request in its head */
		if (req != NULL && pw_wire_ack_check(&m, req, req_len) != PW_OK)
			printf("BADRECEIPT %llu\n", (unsigned long long)m.u.receipt.log_index);
		else
			printf("ACK %llu\n", (unsigned long long)m.u.receipt.log_index);
		break;
	case PW_MSG_REJECT:
		printf("REJECT %s\n", pw_reason_name(m.u.receipt.reason));
		break;
	case PW_MSG_RESULT:
		printf("RESULT %llu %d %llu %u %u\n", (unsigned long long)m.u.result.interval,
		       m.u.result.price_uper_kwh, (unsigned long long)m.u.result.volume_wh,
		       m.u.result.n_trades_total, m.u.result.parts);
		break;
	case PW_MSG_STATEMENT:
		printf("STATEMENT %llu %u %lld\n", (unsigned long long)m.u.statement.interval,
		       m.u.statement.flags, (long long)m.u.statement.net_u);
		break;
	case PW_MSG_PROOF:
		printf("PROOF %u %llu %llu", m.u.proof.n_hashes, (unsigned long long)m.u.proof.a,
		       (unsigned long long)m.u.proof.b);
		for (unsigned i = 0; i < m.u.proof.n_hashes; i++) {
			putchar(' ');
			for (unsigned j = 0; j < PW_HASH_LEN; j++)
				printf("%02x", m.u.proof.hashes[i][j]);
		}
		putchar('\n');
		break;
	case PW_MSG_CHECKPOINT:
		printf("CHECKPOINT %llu %llu\n", (unsigned long long)m.u.checkpoint.tree_size,
		       (unsigned long long)m.u.checkpoint.interval);
		break;
	case PW_MSG_HEARTBEAT:
		printf("HEARTBEAT %llu %u %lld %lld\n", (unsigned long long)m.u.heartbeat.time_ms,
		       m.u.heartbeat.interval_s, (long long)m.u.heartbeat.feedin_uper_kwh,
		       (long long)m.u.heartbeat.retail_uper_kwh);
		break;
	case PW_MSG_DEPTH:
		printf("DEPTH %llu %u\n", (unsigned long long)m.u.depth.interval,
		       m.u.depth.n_levels);
		break;
	case PW_MSG_REGISTRY: {
		uint8_t leaf[MERKLE_HASH_LEN];
		merkle_leaf_hash(buf, len, leaf);
		printf("REGISTRY %.31s %.31s %.32s %u %u %u ", m.u.registry.id, m.u.registry.zone,
		       m.u.registry.serial, m.u.registry.max_export_w, m.u.registry.max_import_w,
		       m.u.registry.revoked);
		for (unsigned j = 0; j < MERKLE_HASH_LEN; j++)
			printf("%02x", leaf[j]);
		putchar('\n');
		break;
	}
	case PW_MSG_MARKET: {
		uint8_t leaf[MERKLE_HASH_LEN];
		const struct pw_market *k = &m.u.market;
		merkle_leaf_hash(buf, len, leaf);
		printf("MARKET %llu %lld %lld %u %u %u ", (unsigned long long)k->effective_interval,
		       (long long)k->feedin_uper_kwh, (long long)k->retail_uper_kwh,
		       k->fee_same_zone_uper_kwh, k->fee_default_uper_kwh, k->n_fees);
		for (unsigned j = 0; j < MERKLE_HASH_LEN; j++)
			printf("%02x", leaf[j]);
		putchar('\n');
		break;
	}
	default:
		printf("%s\n", pw_msg_type_name(m.type));
	}
}

static void *
connect_sock(void *ctx, int type, const struct opts *o, const struct pw_keypair *conn,
             const uint8_t server_pk[32])
{
	uint8_t spk[32], cpk[32], csk[32];
	void *s = zmq_socket(ctx, type);
	int zero = 0;
	if (pw_key_curve_public(server_pk, spk) != PW_OK ||
	    pw_key_curve_public(conn->pk, cpk) != PW_OK ||
	    pw_key_curve_secret(conn, csk) != PW_OK) {
		fprintf(stderr, "pw-client: key conversion failed\n");
		exit(1);
	}
	zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, spk, 32);
	zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, cpk, 32);
	zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, csk, 32);
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
	/* A DEALER whose handshake was refused (ZAP) has no pipe left, and a
	 * send would block for ever: bound it by the same timeout. */
	int sndtimeo = (int)o->timeout_ms;
	zmq_setsockopt(s, ZMQ_SNDTIMEO, &sndtimeo, sizeof(sndtimeo));
	if (zmq_connect(s, o->endpoint) != 0) {
		fprintf(stderr, "pw-client: connect %s: %s\n", o->endpoint,
		        zmq_strerror(zmq_errno()));
		exit(1);
	}
	return s;
}

/* Receive one message; print each frame.  0 on success, 1 on timeout. */
static int
recv_reply(void *s, const struct opts *o, const uint8_t server_pk[32], int skip_topic,
           const uint8_t *req, size_t req_len)
{
	zmq_pollitem_t it = { .socket = s, .events = ZMQ_POLLIN };
	if (zmq_poll(&it, 1, (long)o->timeout_ms) <= 0) {
		printf("TIMEOUT\n");
		return 1;
	}
	int more = 1, first = 1;
	while (more) {
		zmq_msg_t m;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, s, 0) < 0) {
			zmq_msg_close(&m);
			return 1;
		}
		more = zmq_msg_more(&m);
		if (!(skip_topic && first))
			print_reply(zmq_msg_data(&m), zmq_msg_size(&m), (uint64_t)o->market_id,
			            server_pk, req, req_len);
		first = 0;
		zmq_msg_close(&m);
	}
	fflush(stdout);
	return 0;
}

/* m = a COSIGN of the exchange's latest CHECKPOINT (QUERY CHECKPOINT on a
 * connection of its own), tampered as `how` says.  0 on success. */
static int
cosign_latest(void *ctx, const struct opts *o, const struct pw_keypair *conn,
              const struct pw_keypair *author, const uint8_t server_pk[32], const char *how,
              struct pw_msg *m)
{
	struct pw_msg q, cp;
	uint8_t frame[512];
	size_t len;
	int rc = 1;
	memset(&q, 0, sizeof(q));
	q.type = PW_MSG_QUERY;
	q.u.query.nonce = 1;
	q.u.query.kind = PW_QUERY_CHECKPOINT;
	if (how[0] >= '1' && how[0] <= '9') {
		q.u.query.kind = PW_QUERY_COSIGNED;
		q.u.query.a = (uint64_t)num(how, 1, INT64_MAX);
	}
	if (pw_wire_encode(&q, (uint64_t)o->market_id, author, frame, sizeof(frame), &len) != PW_OK)
		return 1;
	void *s = connect_sock(ctx, ZMQ_DEALER, o, conn, server_pk);
	zmq_pollitem_t it = { .socket = s, .events = ZMQ_POLLIN };
	if (zmq_send(s, frame, len, 0) >= 0 && zmq_poll(&it, 1, (long)o->timeout_ms) > 0) {
		uint8_t buf[1024];
		int more = 0;
		size_t ml = sizeof(more);
		int n = zmq_recv(s, buf, sizeof(buf), 0);
		/* the rest of a COSIGNED answer (its cosignatures) is dropped */
		while (zmq_getsockopt(s, ZMQ_RCVMORE, &more, &ml) == 0 && more) {
			uint8_t skip[512];
			if (zmq_recv(s, skip, sizeof(skip), 0) < 0)
				break;
		}
		if (n > 0 && (size_t)n <= sizeof(buf) &&
		    pw_wire_open(buf, (size_t)n, (uint64_t)o->market_id, &cp) == PW_OK &&
		    cp.type == PW_MSG_CHECKPOINT && memcmp(cp.author, server_pk, 32) == 0)
			rc = 0;
	}
	zmq_close(s);
	if (rc != 0) {
		printf("NOCHECKPOINT\n");
		return 1;
	}
	memset(m, 0, sizeof(*m));
	m->type = PW_MSG_COSIGN;
	memcpy(m->u.cosign.origin, cp.u.checkpoint.origin, PW_ORIGIN_LEN);
	m->u.cosign.tree_size = cp.u.checkpoint.tree_size;
	memcpy(m->u.cosign.root, cp.u.checkpoint.root, PW_HASH_LEN);
	m->u.cosign.time_s = cp.u.checkpoint.time_s;
	if (strcmp(how, "badroot") == 0)
		m->u.cosign.root[0] ^= 0x01;
	else if (strcmp(how, "badsize") == 0)
		m->u.cosign.tree_size++;
	else if (strcmp(how, "latest") != 0 && q.u.query.kind != PW_QUERY_COSIGNED)
		usage();
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts o = { .market_id = 1, .interval_s = 900, .timeout_ms = 5000, .repeat = 1 };
	struct pw_keypair conn, author;
	uint8_t server_pk[32];
	int i = 1;

	if (pw_crypto_init() != PW_OK)
		return 1;
	if (argc == 3 && strcmp(argv[1], "keygen") == 0) {
		char hex[65];
		if (pw_key_generate(&conn) != PW_OK || pw_key_save(argv[2], &conn) != PW_OK) {
			fprintf(stderr, "pw-client: cannot write %s\n", argv[2]);
			return 1;
		}
		pw_hex_encode(conn.pk, 32, hex);
		printf("%s\n", hex);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "pubkey") == 0) {
		char hex[65];
		load_key(argv[2], &conn);
		pw_hex_encode(conn.pk, 32, hex);
		printf("%s\n", hex);
		return 0;
	}
	for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0' && i + 1 < argc; i += 2) {
		const char *v = argv[i + 1];
		switch (argv[i][1]) {
		case 'e':
			o.endpoint = v;
			break;
		case 's':
			o.server_hex = v;
			break;
		case 'k':
			o.key = v;
			break;
		case 'a':
			o.author_key = v;
			break;
		case 'x':
			o.corrupt = v;
			break;
		case 'm':
			o.market_id = num(v, 0, INT64_MAX);
			break;
		case 'L':
			o.interval_s = num(v, 1, 86400);
			break;
		case 't':
			o.timeout_ms = num(v, 1, 600000);
			break;
		case 'r':
			o.repeat = num(v, 1, 1000);
			break;
		default:
			usage();
		}
	}
	if (i >= argc || !o.endpoint || !o.server_hex || !o.key)
		usage();
	if (pw_hex_decode(o.server_hex, server_pk, 32) != PW_OK)
		usage();
	load_key(o.key, &conn);
	if (o.author_key)
		load_key(o.author_key, &author);
	else
		author = conn;

	const char *kind = argv[i++];
	int64_t now = (int64_t)time(NULL);
	int64_t cur_iv = now / o.interval_s;
	void *ctx = zmq_ctx_new();

	if (strcmp(kind, "sub") == 0) {
		if (argc - i != 2)
			usage();
		void *s = connect_sock(ctx, ZMQ_SUB, &o, &conn, server_pk);
		zmq_setsockopt(s, ZMQ_SUBSCRIBE, argv[i], strlen(argv[i]));
		int64_t count = num(argv[i + 1], 1, 1000000);
		int rc = 0;
		for (int64_t k = 0; k < count && rc == 0; k++)
			rc = recv_reply(s, &o, server_pk, 1, NULL, 0);
		zmq_close(s);
		zmq_ctx_term(ctx);
		return rc;
	}

	struct pw_msg m;
	memset(&m, 0, sizeof(m));
	int nargs = argc - i;
	char **a = argv + i;
	if (strcmp(kind, "order") == 0 && nargs == 6) {
		m.type = PW_MSG_ORDER;
		m.u.order.seq = (uint64_t)num(a[0], 0, INT64_MAX);
		m.u.order.interval = rel(a[1], cur_iv);
		m.u.order.side = strcmp(a[2], "buy") == 0 ? PW_SIDE_BUY : PW_SIDE_SELL;
		m.u.order.qty_wh = (uint32_t)num(a[3], 0, UINT32_MAX);
		m.u.order.price_uper_kwh = (int32_t)num(a[4], INT32_MIN, INT32_MAX);
		m.u.order.expiry_s = rel(a[5], now);
	} else if (strcmp(kind, "cancel") == 0 && nargs == 3) {
		m.type = PW_MSG_CANCEL;
		m.u.cancel.seq = (uint64_t)num(a[0], 0, INT64_MAX);
		m.u.cancel.interval = rel(a[1], cur_iv);
		m.u.cancel.order_seq = (uint64_t)num(a[2], 0, INT64_MAX);
	} else if (strcmp(kind, "meter") == 0 && (nargs == 7 || nargs == 8)) {
		m.type = PW_MSG_METER;
		m.u.meter.seq = (uint64_t)num(a[0], 0, INT64_MAX);
		m.u.meter.interval = rel(a[1], cur_iv);
		size_t sl = strlen(a[2]);
		memcpy(m.u.meter.serial, a[2], sl < PW_SERIAL_LEN ? sl : PW_SERIAL_LEN);
		m.u.meter.export_start_wh = (uint64_t)num(a[3], 0, INT64_MAX);
		m.u.meter.export_end_wh = (uint64_t)num(a[4], 0, INT64_MAX);
		m.u.meter.import_start_wh = (uint64_t)num(a[5], 0, INT64_MAX);
		m.u.meter.import_end_wh = (uint64_t)num(a[6], 0, INT64_MAX);
		m.u.meter.time_status = nargs == 8 ? (uint8_t)num(a[7], 0, 2) : 0;
	} else if (strcmp(kind, "query") == 0 && (nargs == 3 || nargs == 4)) {
		static const char *const kinds[] = { "",
			                             "statement",
			                             "inclusion",
			                             "consistency",
			                             "checkpoint",
			                             "result",
			                             "statement_proof",
			                             "registry",
			                             "registry_proof",
			                             "market",
			                             "market_proof",
			                             "cosigned",
			                             "schedule" };
		m.type = PW_MSG_QUERY;
		m.u.query.nonce = (uint64_t)now;
		/* the key field as given (a kind that does not use it: refused) */
		if (nargs == 4 && pw_hex_decode(a[3], m.u.query.key, PW_PK_LEN) != PW_OK)
			usage();
		for (uint8_t k = 1; k <= PW_QUERY_SCHEDULE; k++)
			if (strcmp(a[0], kinds[k]) == 0)
				m.u.query.kind = k;
		if (!m.u.query.kind)
			usage();
		m.u.query.a = rel(a[1], cur_iv);
		m.u.query.b = (uint64_t)num(a[2], 0, INT64_MAX);
	} else if (strcmp(kind, "cosign") == 0 && nargs == 1) {
		if (cosign_latest(ctx, &o, &conn, &author, server_pk, a[0], &m) != 0)
			return 1;
	} else {
		usage();
	}

	uint8_t frame[8192];
	size_t len = 0;
	if (pw_wire_encode(&m, (uint64_t)o.market_id, &author, frame, sizeof(frame), &len) !=
	    PW_OK) {
		fprintf(stderr, "pw-client: cannot encode\n");
		return 1;
	}
	int two_frames = 0;
	if (o.corrupt) {
		if (strcmp(o.corrupt, "sig") == 0)
			frame[len - 1] ^= 0x01;
		else if (strcmp(o.corrupt, "v1") == 0)
			frame[0] = PW_PROTO_VERSION_V1;
		else if (strcmp(o.corrupt, "trunc") == 0)
			len--;
		else if (strcmp(o.corrupt, "big") == 0) {
			memset(frame + len, 0, 300 - len);
			len = 300; /* above PW_WIRE_MAX_REQUEST, below ZMQ_MAXMSGSIZE */
		} else if (strcmp(o.corrupt, "huge") == 0) {
			memset(frame + len, 0, 8000 - len);
			len = 8000; /* above ZMQ_MAXMSGSIZE: the connection is dropped */
		} else if (strcmp(o.corrupt, "frames") == 0)
			two_frames = 1;
		else if (strcmp(o.corrupt, "type") == 0) {
			/* a well-formed, correctly signed REJECT sent as a request
			 * (an ACK of protocol 2 is longer than any request) */
			struct pw_msg ack;
			memset(&ack, 0, sizeof(ack));
			ack.type = PW_MSG_REJECT;
			ack.u.receipt.reason = PW_REASON_MALFORMED;
			ack.u.receipt.log_index = UINT64_MAX;
			if (pw_wire_encode(&ack, (uint64_t)o.market_id, &author, frame,
			                   sizeof(frame), &len) != PW_OK)
				return 1;
		} else
			usage();
	}
	void *s = connect_sock(ctx, ZMQ_DEALER, &o, &conn, server_pk);
	int rc = 0;
	for (int64_t k = 0; k < o.repeat && rc == 0; k++) {
		if ((two_frames && zmq_send(s, frame, len, ZMQ_SNDMORE) < 0) ||
		    zmq_send(s, frame, len, 0) < 0) {
			printf("TIMEOUT\n"); /* not sent: nobody to answer */
			rc = 1;
			break;
		}
		rc = recv_reply(s, &o, server_pk, 0, frame, len);
	}
	zmq_close(s);
	zmq_ctx_term(ctx);
	pw_key_wipe(&conn);
	pw_key_wipe(&author);
	return rc;
}
