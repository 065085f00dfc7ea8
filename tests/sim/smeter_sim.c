/*
 * smeter_sim.c: peerwatt-sim as a utility smart meter writing SML or DSMR P1
 * telegrams to a serial device (tests use one end of a socat pty pair):
 *
 *   peerwatt-sim --listen sml:/dev/X[:BAUD]|p1:/dev/X[:BAUD] [--power W]
 *                [--interval MS] [--speed X] [--seed N]
 *                [--fault crc|truncate|garble|stall]
 *
 * The meter sees a constant net power (--power, import positive, default
 * -1500: exporting); its import and export registers integrate it at
 * --speed times real time from seeded starting values.  Every telegram is
 * complete and correct unless --fault says otherwise:
 *   crc       every 3rd telegram has a value changed after its CRC was
 *             computed (SML: alternately with the end CRC re-sealed, so only
 *             the message CRC catches it, and with both CRCs stale)
 *   truncate  every 3rd telegram stops half way; the next starts at once
 *   garble    every 3rd telegram has 6 bytes overwritten with noise
 *   stall     after 3 telegrams, 4 s of silence, then telegrams again
 * SML telegrams carry 21 list entries (per-phase voltages, currents and
 * powers, as real meters do), so their value list needs a two-byte TL field.
 * The SML encoder is tests/sim/smlenc.h, written apart from the reader.
 * Prints "peerwatt-sim: writing sml|p1 to DEV" when the device is open.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "agent/p1.h"
#include "agent/smeter.h"
#include "peerwatt/cli.h"
#include "peerwatt/log.h"
#include "tests/sim/smeter_sim.h"
#include "tests/sim/smlenc.h"

#define PROG           "peerwatt-sim"
#define EX_UNAVAILABLE 69

enum smfault { SF_NONE, SF_CRC, SF_TRUNCATE, SF_GARBLE, SF_STALL };

static volatile sig_atomic_t smsim_quit;

static void
on_signal(int sig)
{
	(void)sig;
	smsim_quit = 1;
}

struct smsim {
	struct smeter_url url;
	double power_w, speed;
	long interval_ms;
	uint32_t seed;
	enum smfault fault;
	double imp_wh, exp_wh; /* the registers, in Wh */
	unsigned long seq;
	uint32_t rng;
};

static uint32_t
rnd(struct smsim *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 17;
	s->rng ^= s->rng << 5;
	return s->rng;
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (!smsim_quit && nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* --- P1 ------------------------------------------------------------------------------ */

static size_t
p1_telegram(struct smsim *s, char *out, size_t outsz)
{
	static const char hx[] = "0123456789ABCDEF";
	char id[40], idhex[81];
	long long imp = (long long)s->imp_wh, exp = (long long)s->exp_wh;
	/* tariff 1 holds a fixed share, tariff 2 the rest (they add up to the total) */
	long long imp1 = 1000000 + (long long)(s->seed % 1000), exp1 = 2000000;
	long long imp2 = imp - imp1, exp2 = exp - exp1;
	long long pimp = s->power_w > 0 ? (long long)s->power_w : 0;
	long long pexp = s->power_w < 0 ? (long long)-s->power_w : 0;
	size_t n, k;
	int w;

	snprintf(id, sizeof(id), "PWSIM-P1-%u", s->seed);
	for (k = 0; id[k] && 2 * k + 2 < sizeof(idhex); k++) {
		idhex[2 * k] = hx[(unsigned char)id[k] >> 4];
		idhex[2 * k + 1] = hx[(unsigned char)id[k] & 15];
	}
	idhex[2 * k] = '\0';
	w = snprintf(out, outsz,
	             "/PWS5\\2SIM-P1\r\n\r\n1-3:0.2.8(50)\r\n0-0:1.0.0(261206120000W)\r\n"
	             "0-0:96.1.1(%s)\r\n"
	             "1-0:1.8.1(%06lld.%03lld*kWh)\r\n1-0:1.8.2(%06lld.%03lld*kWh)\r\n"
	             "1-0:2.8.1(%06lld.%03lld*kWh)\r\n1-0:2.8.2(%06lld.%03lld*kWh)\r\n"
	             "0-0:96.14.0(0002)\r\n"
	             "1-0:1.7.0(%02lld.%03lld*kW)\r\n1-0:2.7.0(%02lld.%03lld*kW)\r\n"
	             "0-0:96.7.21(00004)\r\n0-0:96.7.9(00002)\r\n"
	             "1-0:99.97.0(1)(0-0:96.7.19)(101208152415W)(0000000240*s)\r\n"
	             "0-0:96.13.0()\r\n1-0:32.7.0(230.1*V)\r\n1-0:31.7.0(006*A)\r\n"
	             "1-0:21.7.0(%02lld.%03lld*kW)\r\n1-0:22.7.0(%02lld.%03lld*kW)\r\n"
	             "0-1:24.1.0(003)\r\n0-1:96.1.0(3232323241424344313233343536373839)\r\n"
	             "0-1:24.2.1(261206120000W)(01234.567*m3)\r\n!",
	             idhex, imp1 / 1000, imp1 % 1000, imp2 / 1000, imp2 % 1000, exp1 / 1000,
	             exp1 % 1000, exp2 / 1000, exp2 % 1000, pimp / 1000, pimp % 1000, pexp / 1000,
	             pexp % 1000, pimp / 1000, pimp % 1000, pexp / 1000, pexp % 1000);
	if (w < 0 || (size_t)w + 8 > outsz)
		return 0;
	n = (size_t)w;
	n += (size_t)snprintf(out + n, outsz - n, "%04X\r\n", p1_crc16(out, n));
	return n;
}

/* --- SML ----------------------------------------------------------------------------- */

static size_t
sml_telegram(struct smsim *s, uint8_t *out, size_t outsz)
{
	static struct smlenc e;
	const uint8_t server[10] = {
		0x0a, 0x01, 'P', 'W', 'S', 0, 0, 0, (uint8_t)(s->seed >> 8), (uint8_t)s->seed
	};
	const uint8_t ob_mfr[6] = { 0x81, 0x81, 0xc7, 0x82, 0x03, 0xff };
	const uint8_t ob_id[6] = { 1, 0, 0, 0, 9, 0xff };
	const uint8_t ob_imp[6] = { 1, 0, 1, 8, 0, 0xff }, ob_exp[6] = { 1, 0, 2, 8, 0, 0xff };
	const uint8_t ob_imp1[6] = { 1, 0, 1, 8, 1, 0xff }, ob_exp1[6] = { 1, 0, 2, 8, 1, 0xff };
	const uint8_t ob_pow[6] = { 1, 0, 16, 7, 0, 0xff };
	uint32_t tid = (uint32_t)s->seq * 3;
	int64_t imp_dwh = (int64_t)(s->imp_wh * 10), exp_dwh = (int64_t)(s->exp_wh * 10);

	smlenc_init(&e);
	smlenc_msg_begin(&e, tid, 0x0101); /* OpenResponse */
	smlenc_list(&e, 6);
	smlenc_skip(&e);
	smlenc_skip(&e);
	smlenc_octets(&e, &tid, 4);
	smlenc_octets(&e, server, sizeof(server));
	smlenc_skip(&e);
	smlenc_skip(&e);
	smlenc_msg_end(&e);

	smlenc_msg_begin(&e, tid + 1, 0x0701); /* GetListResponse */
	smlenc_list(&e, 7);
	smlenc_skip(&e);
	smlenc_octets(&e, server, sizeof(server));
	smlenc_skip(&e);
	smlenc_list(&e, 2); /* actSensorTime: secIndex */
	smlenc_uint(&e, 1, 1);
	smlenc_uint(&e, (uint32_t)s->seq, 4);
	smlenc_list(&e, 21);
	smlenc_entry_str(&e, ob_mfr, "PWS", 3);
	smlenc_entry_str(&e, ob_id, server, sizeof(server));
	smlenc_entry_int(&e, ob_imp, 30, -1, imp_dwh, 8, false);
	smlenc_entry_int(&e, ob_imp1, 30, -1, imp_dwh, 8, false);
	smlenc_entry_int(&e, ob_exp, 30, -1, exp_dwh, 8, false);
	smlenc_entry_int(&e, ob_exp1, 30, -1, exp_dwh, 8, false);
	smlenc_entry_int(&e, ob_pow, 27, 0, (int64_t)s->power_w, 4, false);
	for (int ph = 0; ph < 3; ph++) {
		const uint8_t ob_p[6] = { 1, 0, (uint8_t)(36 + 20 * ph), 7, 0, 0xff };
		const uint8_t ob_u[6] = { 1, 0, (uint8_t)(32 + 20 * ph), 7, 0, 0xff };
		const uint8_t ob_i[6] = { 1, 0, (uint8_t)(31 + 20 * ph), 7, 0, 0xff };
		const uint8_t ob_a[6] = { 1, 0, 81, 7, (uint8_t)(1 + ph), 0xff };
		smlenc_entry_int(&e, ob_p, 27, 0, (int64_t)(s->power_w / 3), 4, false);
		smlenc_entry_int(&e, ob_u, 35, -1, 2301 + ph, 2, true);
		smlenc_entry_int(&e, ob_i, 33, -2, 652 + ph, 2, true);
		smlenc_entry_int(&e, ob_a, 8, 0, 120 * ph, 2, true);
	}
	{
		const uint8_t ob_f[6] = { 1, 0, 14, 7, 0, 0xff };
		const uint8_t ob_key[6] = { 0x81, 0x81, 0xc7, 0x82, 0x05, 0xff };
		uint8_t key[48];
		for (size_t i = 0; i < sizeof(key); i++)
			key[i] = (uint8_t)(i * 37 + s->seed);
		smlenc_entry_int(&e, ob_f, 44, -1, 500, 2, true);
		smlenc_entry_str(&e, ob_key, key, sizeof(key));
	}
	smlenc_skip(&e);
	smlenc_skip(&e);
	smlenc_msg_end(&e);

	smlenc_msg_begin(&e, tid + 2, 0x0201); /* CloseResponse */
	smlenc_list(&e, 1);
	smlenc_skip(&e);
	smlenc_msg_end(&e);
	return smlenc_frame(&e, out, outsz);
}

/* Change one byte of a value: the 0x0?th byte of the import register's data. */
static void
corrupt_value(uint8_t *t, size_t n, const uint8_t *pat, size_t m, size_t skip)
{
	for (size_t i = 0; i + m + skip < n; i++) {
		if (memcmp(t + i, pat, m) == 0) {
			t[i + m + skip] ^= 0x04;
			return;
		}
	}
}

/* --- the loop ------------------------------------------------------------------------ */

static int
open_dev(const struct smeter_url *u)
{
	struct termios tio;
	int fd = open(u->device, O_WRONLY | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (tcgetattr(fd, &tio) == 0) {
		cfmakeraw(&tio);
		(void)tcsetattr(fd, TCSANOW, &tio);
	}
	return fd;
}

static bool
write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static int
loop(struct smsim *s)
{
	uint8_t buf[SMLENC_MAX + 64];
	double last = now_s();
	int fd = open_dev(&s->url);

	if (fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", PROG, s->url.device, strerror(errno));
		return EX_UNAVAILABLE;
	}
	printf("peerwatt-sim: writing %s to %s\n", smeter_kind_name(s->url.kind), s->url.device);
	fflush(stdout);
	while (!smsim_quit) {
		double t = now_s();
		size_t n;
		unsigned long k = ++s->seq;
		bool faulty = k % 3 == 0;

		/* the registers integrate the power */
		if (s->power_w > 0)
			s->imp_wh += s->power_w * (t - last) * s->speed / 3600.0;
		else
			s->exp_wh += -s->power_w * (t - last) * s->speed / 3600.0;
		last = t;
		if (s->url.kind == SMETER_P1)
			n = p1_telegram(s, (char *)buf, sizeof(buf));
		else
			n = sml_telegram(s, buf, sizeof(buf));
		if (n == 0) {
			fprintf(stderr, "%s: telegram does not fit\n", PROG);
			close(fd);
			return 1;
		}
		if (s->fault == SF_CRC && faulty) {
			if (s->url.kind == SMETER_P1) {
				corrupt_value(buf, n, (const uint8_t *)"1-0:1.8.2(", 10, 4);
			} else {
				/* the 2.8.0 value's low bytes: 77 07 01 00 02 08 00 ff ... */
				corrupt_value(buf, n, (const uint8_t *)"\x01\x00\x02\x08\x00\xff",
				              6, 14);
				if (k % 2 == 0) {
					uint16_t crc = smlenc_x25(buf, n - 2);
					buf[n - 2] = (uint8_t)(crc & 0xff);
					buf[n - 1] = (uint8_t)(crc >> 8);
				}
			}
		}
		if (s->fault == SF_TRUNCATE && faulty)
			n = n / 2 + 1; /* odd or even, whatever half falls on */
		if (s->fault == SF_GARBLE && faulty) {
			for (int i = 0; i < 6; i++)
				buf[16 + rnd(s) % (n - 32)] = (uint8_t)rnd(s);
		}
		if (!write_all(fd, buf, n)) {
			fprintf(stderr, "%s: write: %s\n", PROG, strerror(errno));
			close(fd);
			return 1;
		}
		if (s->fault == SF_STALL && k == 3)
			sleep_ms(4000);
		sleep_ms(s->interval_ms);
	}
	close(fd);
	return 0;
}

static bool
num(const char *a, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(a, &end);
	if (errno || end == a || *end || !(v >= lo && v <= hi))
		return false;
	*out = v;
	return true;
}

int
smsim_main(int argc, char **argv)
{
	struct smsim s;
	const char *listen = NULL;
	double v;
	struct sigaction sa;

	memset(&s, 0, sizeof(s));
	s.power_w = -1500;
	s.speed = 1;
	s.interval_ms = 1000;
	s.seed = 1;
	log_init(PROG, LOG_LEVEL_INFO);
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *a;
		if (i + 1 >= argc)
			return pw_cli_usage_error(PROG, "option '%s' needs a value", o);
		a = argv[++i];
		if (strcmp(o, "--listen") == 0) {
			listen = a;
		} else if (strcmp(o, "--power") == 0) {
			if (!num(a, -100000, 100000, &s.power_w))
				return pw_cli_usage_error(PROG, "--power: '%s'", a);
		} else if (strcmp(o, "--interval") == 0) {
			if (!num(a, 10, 60000, &v))
				return pw_cli_usage_error(PROG, "--interval: '%s'", a);
			s.interval_ms = (long)v;
		} else if (strcmp(o, "--speed") == 0) {
			if (!num(a, 0.001, 1e6, &s.speed))
				return pw_cli_usage_error(PROG, "--speed: '%s'", a);
		} else if (strcmp(o, "--seed") == 0) {
			if (!num(a, 0, 65535, &v) || v != floor(v))
				return pw_cli_usage_error(PROG, "--seed: '%s'", a);
			s.seed = (uint32_t)v;
		} else if (strcmp(o, "--fault") == 0) {
			static const char *const names[] = { "none", "crc", "truncate", "garble",
				                             "stall" };
			int k = -1;
			for (int j = 0; j < 5; j++)
				if (strcmp(a, names[j]) == 0)
					k = j;
			if (k < 0)
				return pw_cli_usage_error(
				    PROG,
				    "--fault '%s': a smart meter knows crc|truncate|garble|stall",
				    a);
			s.fault = (enum smfault)k;
		} else {
			return pw_cli_usage_error(PROG, "option '%s' is not for a smart meter", o);
		}
	}
	if (listen == NULL || smeter_url_parse(listen, &s.url) != PW_OK)
		return pw_cli_usage_error(PROG,
		                          "--listen: not sml:/dev/X[:BAUD] or p1:/dev/X[:BAUD]");
	s.imp_wh = 2500000.0 + 100.0 * (s.seed % 1000);
	s.exp_wh = 4000000.0 + 100.0 * (s.seed % 1000);
	s.rng = 0x9e3779b9u ^ s.seed;
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	return loop(&s);
}
