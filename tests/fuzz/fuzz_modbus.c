/*
 * fuzz_modbus.c: libFuzzer harness for Modbus TCP reply handling
 * (agent/modbus_link.c over libmodbus): a loopback server thread answers
 * the link's read request with the fuzz input and closes the connection.
 * Input: byte 0 low bits pick the register count (1..8), bit 7 set makes the
 * server copy the request's transaction id into the reply (so well-formed
 * replies are reachable); the rest is the reply's bytes.
 * Checks the module's promise: a read either fills every register asked
 * for with the values of a well-formed reply, or returns an error; and the
 * registers past the count are never written.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/modbus_link.h"
#include "peerwatt/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct srv {
	int fd;
	uint16_t port;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const uint8_t *reply;
	size_t len;
	int copy_tid, pending;
};

static struct srv S = { .fd = -1, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static void *
srv_main(void *arg)
{
	(void)arg;
	for (;;) {
		int c = accept(S.fd, NULL, NULL);
		if (c < 0)
			continue;
		uint8_t req[260], out[600];
		ssize_t n = recv(c, req, sizeof(req), 0);
		pthread_mutex_lock(&S.mu);
		size_t len = S.len < sizeof(out) ? S.len : sizeof(out);
		memcpy(out, S.reply, len);
		if (S.copy_tid && n >= 2 && len >= 2)
			memcpy(out, req, 2);
		pthread_mutex_unlock(&S.mu);
		if (len)
			(void)!send(c, out, len, MSG_NOSIGNAL);
		close(c);
	}
	return NULL;
}

static void
srv_start(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	pthread_t t;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	S.fd = socket(AF_INET, SOCK_STREAM, 0);
	if (S.fd < 0 || bind(S.fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(S.fd, 8) != 0 || getsockname(S.fd, (struct sockaddr *)&sa, &sl) != 0)
		abort();
	S.port = ntohs(sa.sin_port);
	if (pthread_create(&t, NULL, srv_main, NULL) != 0)
		abort();
	log_init("fuzz_modbus", LOG_LEVEL_ERR);
}

static uint64_t
fake_now(void *arg)
{
	(void)arg;
	return 0;
}

static void
fake_sleep(void *arg, uint32_t ms)
{
	(void)arg;
	(void)ms;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (S.fd < 0)
		srv_start();
	if (size < 1)
		return 0;
	uint16_t count = (uint16_t)(1 + (data[0] & 7));
	pthread_mutex_lock(&S.mu);
	S.reply = data + 1;
	S.len = size - 1;
	S.copy_tid = (data[0] & 0x80) != 0;
	pthread_mutex_unlock(&S.mu);

	char url[64];
	struct mlink_cfg cfg;
	struct mlink_clock clk = { fake_now, fake_sleep, NULL };
	struct mlink *l;
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%u", S.port);
	mlink_cfg_defaults(&cfg);
	cfg.timeout_ms = 200; /* the server closes at once: no wait in practice */
	cfg.backoff_base_ms = 1;
	if (mlink_new(url, &cfg, &clk, &l) != PW_OK)
		abort();
	uint16_t regs[16];
	memset(regs, 0xee, sizeof(regs));
	pw_err rc = mlink_read(l, 40000, count, regs);
	mlink_destroy(&l);
	for (size_t i = count; i < 16; i++)
		if (regs[i] != 0xeeee)
			abort();
	if (rc != PW_OK)
		return 0;
	/* a success must come from a well-formed reply: MBAP (tid, protocol,
	 * length), unit, function 3, byte count 2 x count, then the values.
	 * (libmodbus 3.1 lets a protocol id with one zero byte pass: its check
	 * is "rsp[2] != 0 && rsp[3] != 0"; harmless, the values are intact.) */
	const uint8_t *r = data + 1;
	size_t need = 9 + 2 * (size_t)count;
	if (size - 1 < need || r[7] != 3 || r[8] != 2 * count)
		abort();
	for (uint16_t i = 0; i < count; i++)
		if (regs[i] != (uint16_t)(r[9 + 2 * i] << 8 | r[10 + 2 * i]))
			abort();
	return 0;
}
