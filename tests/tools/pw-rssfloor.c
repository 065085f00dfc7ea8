/* pw-rssfloor: the resident-memory floor of the agent's dependencies.
 *
 * The smallest program that uses every library peerwatt-agent needs, once
 * each and the way the agent does: libsodium (a key, a signature), libzmq (a
 * context, CURVE DEALER and SUB sockets connecting to loopback), SQLite (a WAL
 * database file with a table, a row and a query), libmicrohttpd (a daemon
 * on a loopback port, epoll, as the dashboard starts it), libmodbus (a TCP
 * context), jansson (an object dumped to text), inih (a string parsed),
 * zlib (a buffer gzip-compressed, as the dashboard sends its files) and
 * libm.  It prints its own VmRSS afterwards:
 *
 *     BENCH agent_rss_floor_kb N kB
 *
 * tests/bench/bench_agent.sh prints it beside agent_rss_kb, so that the part
 * of the agent's resident set that the agent itself adds can be told from the
 * shared-library pages that any user of these libraries carries
 * (docs/performance.md).  Usage: pw-rssfloor DIR (a writable directory for
 * the database file, removed again).  Exit 0, or 1 when a library call fails.
 */
#include <arpa/inet.h>
#include <ini.h>
#include <jansson.h>
#include <math.h>
#include <microhttpd.h>
#include <modbus.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>
#include <zmq.h>

static int
on_ini(void *user, const char *section, const char *name, const char *value)
{
	(void)section;
	(void)name;
	(void)value;
	++*(int *)user;
	return 1;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
           const char *version, const char *data, size_t *size, void **state)
{
	(void)cls;
	(void)c;
	(void)url;
	(void)method;
	(void)version;
	(void)data;
	(void)size;
	(void)state;
	return MHD_NO;
}

/* VmRSS of this process in kB, or -1. */
static long
rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0) {
			char *end;
			kb = strtol(line + 6, &end, 10);
		}
	fclose(f);
	return kb;
}

struct zmq_use {
	void *ctx, *dealer, *sub;
};

static int
use_zmq(struct zmq_use *z)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	unsigned char cpk[32], csk[32], spk[32];
	unsigned char sig[crypto_sign_BYTES];
	void *dealer, *sub;
	int linger = 0;

	z->ctx = zmq_ctx_new();
	if (z->ctx == NULL)
		return -1;
	crypto_sign_keypair(pk, sk);
	crypto_sign_detached(sig, NULL, pk, sizeof pk, sk);
	if (crypto_sign_verify_detached(sig, pk, sizeof pk, pk) != 0 ||
	    crypto_sign_ed25519_pk_to_curve25519(cpk, pk) != 0 ||
	    crypto_sign_ed25519_sk_to_curve25519(csk, sk) != 0)
		return -1;
	randombytes_buf(spk, sizeof spk);
	z->dealer = dealer = zmq_socket(z->ctx, ZMQ_DEALER);
	z->sub = sub = zmq_socket(z->ctx, ZMQ_SUB);
	if (dealer == NULL || sub == NULL)
		return -1;
	sodium_memzero(sk, sizeof sk);
	sodium_memzero(csk, sizeof csk);
	if (zmq_setsockopt(dealer, ZMQ_CURVE_SERVERKEY, spk, 32) != 0 ||
	    zmq_setsockopt(dealer, ZMQ_CURVE_PUBLICKEY, cpk, 32) != 0 ||
	    zmq_setsockopt(dealer, ZMQ_CURVE_SECRETKEY, csk, 32) != 0 ||
	    zmq_setsockopt(dealer, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
	    zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
	    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0) != 0)
		return -1;
	/* nothing listens there: the I/O thread keeps trying, as an agent
	 * whose exchange is down */
	if (zmq_connect(dealer, "tcp://127.0.0.1:9") != 0 ||
	    zmq_connect(sub, "tcp://127.0.0.1:9") != 0)
		return -1;
	return 0;
}

static int
use_sqlite(const char *dir)
{
	char path[4096];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int ok;

	if ((size_t)snprintf(path, sizeof path, "%s/floor.db", dir) >= sizeof path)
		return -1;
	ok = sqlite3_open(path, &db) == SQLITE_OK &&
	     sqlite3_exec(db,
	                  "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
	                  "CREATE TABLE t(a INTEGER PRIMARY KEY, b BLOB);"
	                  "INSERT INTO t(b) VALUES (randomblob(200));",
	                  NULL, NULL, NULL) == SQLITE_OK &&
	     sqlite3_prepare_v2(db, "SELECT length(b) FROM t WHERE a = 1", -1, &st, NULL) ==
	         SQLITE_OK &&
	     sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 200;
	sqlite3_finalize(st);
	sqlite3_close(db);
	unlink(path);
	return ok ? 0 : -1;
}

static struct MHD_Daemon *
use_mhd(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_INTERNAL_POLLING_THREAD, 0,
	                        NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR,
	                        (struct sockaddr *)&sa, MHD_OPTION_END);
}

static int
use_small_libs(void)
{
	int n = 0;
	modbus_t *mb = modbus_new_tcp("127.0.0.1", 502);
	json_t *o = json_pack("{s:i,s:s}", "polls", 1, "state", "ok");
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	int ok = mb != NULL && text != NULL && ini_parse_string("[a]\nb = 1\n", on_ini, &n) == 0 &&
	         n == 1 && lround(exp(log(2.0))) == 2;
	/* a gzip member at zlib's default level, as agent/dash_reply.c makes */
	static const char page[] = "<!doctype html><title>peerwatt</title><p>floor</p>";
	unsigned char gz[256];
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	if (ok && deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK) {
		zs.next_in = (unsigned char *)(uintptr_t)page;
		zs.avail_in = (uInt)(sizeof(page) - 1);
		zs.next_out = gz;
		zs.avail_out = (uInt)sizeof(gz);
		ok = deflate(&zs, Z_FINISH) == Z_STREAM_END;
		deflateEnd(&zs);
	} else {
		ok = 0;
	}

	free(text);
	json_decref(o);
	if (mb != NULL)
		modbus_free(mb);
	return ok ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct zmq_use z = { 0 };
	struct MHD_Daemon *mhd = NULL;
	int rc = 0;
	long kb;

	if (argc != 2) {
		fprintf(stderr, "usage: pw-rssfloor DIR\n");
		return 64;
	}
	if (sodium_init() < 0 || use_zmq(&z) != 0 || use_sqlite(argv[1]) != 0 ||
	    use_small_libs() != 0 || (mhd = use_mhd()) == NULL) {
		fprintf(stderr, "pw-rssfloor: a library call failed\n");
		rc = 1;
	} else {
		usleep(200 * 1000); /* the library threads start and settle */
		if ((kb = rss_kb()) < 0) {
			fprintf(stderr, "pw-rssfloor: cannot read /proc/self/status\n");
			rc = 1;
		} else
			printf("BENCH agent_rss_floor_kb %ld kB\n", kb);
	}
	if (mhd != NULL)
		MHD_stop_daemon(mhd);
	if (z.dealer != NULL)
		zmq_close(z.dealer);
	if (z.sub != NULL)
		zmq_close(z.sub);
	if (z.ctx != NULL)
		zmq_ctx_term(z.ctx);
	return rc;
}
