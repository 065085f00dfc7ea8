/*
 * peerwatt-sim: a SunSpec device on Modbus TCP for tests and the demo.
 *
 * Serves the common model, an inverter (103, or 113 with --models float), a
 * grid meter (203 or 213) and the inverter's settings and controls (121
 * WMax, 123 the export limit with its revert timeout: sim_controls.c) at
 * --base, answering only --unit.  The physics is a
 * clear-sky PV day with seeded clouds, a household load profile, and a meter
 * that sees load minus PV (positive = import, the SunSpec convention);
 * accumulators integrate the powers.  The simulated clock starts at
 * --start-time and runs --speed times faster than the real one; with
 * --epoch UNIX it read --start-time at that Unix time (within a day of now),
 * so that every process given the same three values (the agents' [sim]
 * section, pw-demo-watch) agrees on the simulated time of day.
 *
 * Faults (--fault): sleep (no answers while the sun is down, accumulators read
 * 0 for 2 s after waking), drop (every 9th request closes the connection),
 * sfchange (scale factors change every 3 requests, values stay consistent),
 * reset (meter and inverter accumulators restart from 1 every 4 s),
 * slow (every 10th reply comes 2.5 s late), garbage (every 7th reply is
 * malformed), trickle (every 10th reply dribbles one byte every
 * --trickle-ms, default 450 ms, until the client leaves).  --reply-delay MS
 * delays every reply.  SIGUSR1 makes the meter's export register jump by
 * 10^9 Wh (a meter glitch, e.g. while the agent is stopped).  Periods count requests over the sim's
 * life, not per connection, so a reader that reconnects always gets through eventually.
 *
 * --listen rtu:/dev/X:BAUD:8N1 serves Modbus RTU on a serial line instead
 * (tests use one end of a socat pty pair); drop and garbage are TCP-only.
 * --listen sml:/dev/X or p1:/dev/X makes it a utility smart meter writing
 * telegrams instead (smeter_sim.c).
 *
 * --template NAME serves that register-map template (agent/tmpl.c, found in
 * --template-dir or the default search path) instead of SunSpec: the same
 * household written with the template's types, scales and signs, at the
 * template's unit ids (tests/sim/sim_tmpl.c).
 *
 * One client at a time, like a real device: a new connection replaces the
 * old one.  Idle CPU use is a select() with a 200 ms timeout.
 *
 * Its parts (tests/sim/sim.h): this file (options, the server, faults),
 * sim_physics.c (the simulated household) and sim_regs.c (the register
 * map, laid out with the SunSpec tables of agent/sunspec.c).
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <modbus.h>

#include "agent/modbus_link.h"
#include "agent/smeter.h"
#include "agent/tmpl.h"
#include "peerwatt/cli.h"
#include "peerwatt/log.h"
#include "tests/sim/sim.h"
#include "tests/sim/sim_battery.h"
#include "tests/sim/sim_controls.h"
#include "tests/sim/sim_tmpl.h"
#include "tests/sim/smeter_sim.h"

#define EX_UNAVAILABLE 69

/* SIGUSR1: the meter's export register jumps by SIM_JUMP_WH at the next request */
#define SIM_JUMP_WH 1000000000.0

static volatile sig_atomic_t quit_flag;
static volatile sig_atomic_t jump_flag;

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		jump_flag = 1;
	else
		quit_flag = 1;
}

static double
real_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- faults -------------------------------------------------------------------------- */

/* A reply the client must refuse: wrong length, function, byte count or truncated. */
static void
send_garbage(struct sim *s, int fd, const uint8_t *q)
{
	uint8_t b[16];
	size_t n;
	switch (hash32(s->seed + (uint32_t)s->requests) % 4) {
	case 0: /* byte count that disagrees with the request */
		memcpy(b, q, 7);
		b[4] = 0, b[5] = 5, b[7] = 0x03, b[8] = 2, b[9] = 0x12, b[10] = 0x34;
		n = 11;
		break;
	case 1: /* wrong function code */
		memcpy(b, q, 7);
		b[4] = 0, b[5] = 5, b[7] = 0x10, b[8] = 2, b[9] = 0, b[10] = 0;
		n = 11;
		break;
	case 2: /* wrong transaction id */
		memcpy(b, q, 7);
		b[0] ^= 0x5A;
		b[4] = 0, b[5] = 5, b[7] = 0x03, b[8] = 2, b[9] = 0, b[10] = 1;
		n = 11;
		break;
	default: /* truncated: a header that promises more than comes */
		memcpy(b, q, 7);
		b[4] = 0, b[5] = 200, b[7] = 0x03;
		n = 8;
		break;
	}
	if (write(fd, b, n) < 0)
		log_debug("sim: garbage write: %s", strerror(errno));
}

/* --- server ------------------------------------------------------------------------------ */

static void
close_client(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* The trickle fault: the reply, built by libmodbus into a socket pair,
 * goes to the client one byte every trickle_ms (libmodbus's byte timeout
 * restarts at every byte); stops when the client is gone. */
static void
trickle_reply(struct sim *s, modbus_t *ctx, const uint8_t *q, int n, int *client)
{
	uint8_t r[MODBUS_TCP_MAX_ADU_LENGTH];
	int sp[2];
	ssize_t len;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == -1) {
		log_warn("sim: socketpair");
		return;
	}
	modbus_set_socket(ctx, sp[0]);
	len = modbus_reply(ctx, q, n, s->map) < 0 ? -1 : read(sp[1], r, sizeof(r));
	modbus_set_socket(ctx, *client);
	close(sp[0]);
	close(sp[1]);
	log_info("sim: trickling a %zd-byte reply, one byte every %u ms", len, s->trickle_ms);
	for (ssize_t i = 0; i < len && !quit_flag; i++) {
		struct timespec ts = { (time_t)(s->trickle_ms / 1000),
			               (long)(s->trickle_ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		if (send(*client, r + i, 1, MSG_NOSIGNAL) != 1) {
			log_info("sim: the client left after %zd bytes", i);
			close_client(client);
			return;
		}
	}
}

/* After a reply: a write (function 6 or 16) that touched model 124 sets the
 * battery's controls (pdu: function code first). */
static void
storage_written(struct sim *s, const uint8_t *pdu, int len)
{
	uint32_t addr, count = 1, lo = s->a_124, hi = s->a_713;

	if (len < 5 || (pdu[0] != 0x06 && pdu[0] != 0x10))
		return;
	addr = (uint32_t)pdu[1] << 8 | pdu[2];
	if (pdu[0] == 0x10)
		count = (uint32_t)pdu[3] << 8 | pdu[4];
	if (addr + count <= lo || addr >= hi)
		return;
	if (simbat_regs_written(&s->bat, reg(s, s->a_124)))
		log_info("sim: battery controls: StorCtl_Mod %u InWRte %.1f%% OutWRte %.1f%% "
		         "revert %.0f s%s",
		         s->bat.ctl.mode, s->bat.ctl.in_pct, s->bat.ctl.out_pct,
		         s->bat.ctl.revert_s, s->bat.ctl.grid_charge ? ", grid charging" : "");
	/* the registers say at once what the battery now does */
	advance(s, real_now());
	simbat_regs(&s->bat, s->bat_w, reg(s, s->a_124), reg(s, s->a_713), reg(s, s->a_802));
}

static void
serve_one(struct sim *s, modbus_t *ctx, int *client)
{
	uint8_t q[MODBUS_TCP_MAX_ADU_LENGTH];
	int n, hl = modbus_get_header_length(ctx);
	double now;

	if (client != NULL)
		modbus_set_socket(ctx, *client);
	n = modbus_receive(ctx, q);
	if (n <= 0) {
		if (n < 0 && client != NULL)
			close_client(client);
		else if (n < 0)
			modbus_flush(ctx); /* a serial line with noise or a bad CRC: resync */
		return;
	}
	s->requests++;
	now = real_now();
	advance(s, now);
	if (s->fault == F_SLEEP) {
		bool day = s->pv_w > 0;
		if (day && !s->awake) {
			s->woke_real = now;
			log_info("sim: waking up");
		}
		s->awake = day;
		if (!day)
			return; /* asleep: the request goes unanswered */
	}
	if (s->t != NULL ? !simtmpl_unit_ok(s->t, q[hl - 1]) : q[hl - 1] != s->unit) {
		/* TCP: tell the client; on a serial bus another slave's request is not ours. */
		if (client != NULL)
			modbus_reply_exception(ctx, q, MODBUS_EXCEPTION_GATEWAY_TARGET);
		return;
	}
	if (client == NULL) {
		/* serial: drop and garbage are TCP faults (refused at start-up) */
	} else if (s->fault == F_DROP && s->requests % 9 == 0) {
		close_client(client);
		return;
	}
	if (client != NULL && s->fault == F_GARBAGE && s->requests % 7 == 0) {
		send_garbage(s, *client, q);
		return;
	}
	if (s->fault == F_SLOW && s->requests % 10 == 0) {
		struct timespec ts = { 2, 500000000L };
		nanosleep(&ts, NULL);
	}
	if (s->reply_delay_ms > 0) {
		struct timespec ts = { (time_t)(s->reply_delay_ms / 1000),
			               (long)(s->reply_delay_ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}
	if (jump_flag) {
		jump_flag = 0;
		s->exp_wh += SIM_JUMP_WH;
		log_info("sim: the export register jumps by %.0f Wh", SIM_JUMP_WH);
	}
	refresh(s, now);
	if (client != NULL && s->fault == F_TRICKLE && s->requests % 10 == 0) {
		trickle_reply(s, ctx, q, n, client);
		return;
	}
	{
		/* writes: only to the controls (and a battery's model 124), with
		 * values in range */
		int exc = simctl_check(&s->ctl, q, n, hl);
		if (exc != 0) {
			modbus_reply_exception(ctx, q, (unsigned)exc);
			return;
		}
	}
	if (modbus_reply(ctx, q, n, s->map) < 0) {
		if (client != NULL)
			close_client(client);
		return;
	}
	simctl_after(&s->ctl, q, hl);
	if (s->battery && s->t == NULL)
		storage_written(s, q + hl, n - hl);
}

/* Modbus RTU on a serial line (or one end of a socat pty pair). */
static int
run_rtu(struct sim *s)
{
	modbus_t *ctx = modbus_new_rtu(s->url.device, (int)s->url.baud, s->url.parity,
	                               s->url.data_bits, s->url.stop_bits);

	if (ctx == NULL || modbus_set_slave(ctx, s->unit) == -1 || modbus_connect(ctx) == -1) {
		log_warnx("sim: cannot open %s: %s", s->url.device, modbus_strerror(errno));
		if (ctx != NULL)
			modbus_free(ctx);
		modbus_mapping_free(s->map);
		return EX_UNAVAILABLE;
	}
	printf("peerwatt-sim: listening on %s unit %d base %u models %s\n", s->listen, s->unit,
	       s->base, s->floats ? "float" : "int");
	fflush(stdout);
	while (!quit_flag) {
		fd_set rfds;
		struct timeval tv = { 0, 200000 };
		int fd = modbus_get_socket(ctx);
		FD_ZERO(&rfds);
		FD_SET(fd, &rfds);
		int r = select(fd + 1, &rfds, NULL, NULL, &tv);
		if (r < 0 && errno != EINTR) {
			log_warn("sim: select");
			break;
		}
		if (r > 0)
			serve_one(s, ctx, NULL);
	}
	modbus_close(ctx);
	modbus_free(ctx);
	modbus_mapping_free(s->map);
	return 0;
}

static int
run(struct sim *s)
{
	modbus_t *ctx = modbus_new_tcp(s->host, s->port);
	int lfd, client = -1;

	if (ctx == NULL)
		fatalx("sim: modbus_new_tcp failed");
	lfd = modbus_tcp_listen(ctx, 4);
	if (lfd < 0) {
		log_warnx("sim: cannot listen on %s:%u: %s", s->host, s->port,
		          modbus_strerror(errno));
		modbus_free(ctx);
		modbus_mapping_free(s->map);
		return EX_UNAVAILABLE;
	}
	if (s->t != NULL)
		printf("peerwatt-sim: listening on tcp://%s:%u unit %d template %s\n", s->host,
		       s->port, s->unit, s->t->name);
	else
		printf("peerwatt-sim: listening on tcp://%s:%u unit %d base %u models %s\n",
		       s->host, s->port, s->unit, s->base, s->floats ? "float" : "int");
	fflush(stdout);
	while (!quit_flag) {
		fd_set rfds;
		struct timeval tv = { 0, 200000 };
		int maxfd = lfd;
		FD_ZERO(&rfds);
		FD_SET(lfd, &rfds);
		if (client >= 0) {
			FD_SET(client, &rfds);
			if (client > maxfd)
				maxfd = client;
		}
		int r = select(maxfd + 1, &rfds, NULL, NULL, &tv);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			log_warn("sim: select");
			break;
		}
		if (FD_ISSET(lfd, &rfds)) {
			modbus_set_socket(ctx, lfd);
			int fd = modbus_tcp_accept(ctx, &lfd);
			if (fd >= 0) {
				/* One client at a time: the newest wins, like a device after a
				 * reboot of its peer. */
				close_client(&client);
				client = fd;
			}
			continue;
		}
		if (client >= 0 && FD_ISSET(client, &rfds))
			serve_one(s, ctx, &client);
	}
	close_client(&client);
	close(lfd);
	modbus_free(ctx);
	modbus_mapping_free(s->map);
	return 0;
}

/* --- options -------------------------------------------------------------------------------- */

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: peerwatt-sim --listen tcp://127.0.0.1:PORT|rtu:/dev/X:BAUD:8N1 [--unit N]\n"
	        "                    [--base 40000|0|50000] [--models int|float] [--pv-peak W]\n"
	        "                    [--load W] [--speed X]\n"
	        "                    [--fault sleep|drop|sfchange|reset|slow|garbage|trickle]\n"
	        "                    [--trickle-ms MS] [--reply-delay MS] [--seed N]\n"
	        "                    [--start-time HH:MM [--epoch UNIX]] [--template NAME]\n"
	        "                    [--template-dir PATH]\n"
	        "                    [--battery-wh WH [--battery-charge-w W]\n"
	        "                    [--battery-discharge-w W] [--battery-efficiency PCT]\n"
	        "                    [--battery-soc PCT] [--battery-reserve PCT]]\n"
	        "                    [--controls ok|ignore|refuse] [--control-model 123|704]\n"
	        "       peerwatt-sim --listen sml:/dev/X[:BAUD]|p1:/dev/X[:BAUD] [--power W]\n"
	        "                    [--interval MS] [--speed X] [--seed N]\n"
	        "                    [--fault crc|truncate|garble|stall]\n"
	        "       peerwatt-sim --help | --version\n");
}

/* Every option takes a value: an unknown one is named as such, not as one
 * missing its value. */
static bool
known_option(const char *o)
{
	static const char *const opts[] = { "--listen",
		                            "--unit",
		                            "--base",
		                            "--models",
		                            "--pv-peak",
		                            "--load",
		                            "--speed",
		                            "--seed",
		                            "--fault",
		                            "--start-time",
		                            "--epoch",
		                            "--template",
		                            "--template-dir",
		                            "--trickle-ms",
		                            "--reply-delay",
		                            "--battery-wh",
		                            "--battery-charge-w",
		                            "--battery-discharge-w",
		                            "--battery-efficiency",
		                            "--battery-soc",
		                            "--battery-reserve",
		                            "--controls",
		                            "--control-model" };
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (strcmp(o, opts[i]) == 0)
			return true;
	return false;
}

static bool
num(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi))
		return false;
	*out = v;
	return true;
}

static int
bad(const char *opt, const char *val)
{
	return pw_cli_usage_error("peerwatt-sim", "%s: '%s' is not a valid value", opt, val);
}

int
main(int argc, char **argv)
{
	struct sim s;
	struct mlink_url u;
	const char *listen = NULL;
	double v, epoch = -1;
	bool have_start = false;
	const char *tname = NULL, *tdir = NULL;
	struct tmpl tpl;
	enum simctl_mode ctl_mode = SIMCTL_OK;
	double bv[6] = { 0 };
	unsigned bset = 0;

	/* a utility smart meter (sml:, p1:) writing telegrams: smeter_sim.c */
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--listen") == 0 && smeter_url_is(argv[i + 1]))
			return smsim_main(argc, argv);
	memset(&s, 0, sizeof(s));
	s.unit = 1;
	s.base = 40000;
	s.pv_peak_w = 5000;
	s.load_w = 600;
	s.speed = 1;
	s.seed = 1;
	s.trickle_ms = 450;
	log_init("peerwatt-sim", LOG_LEVEL_INFO);
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(o, "--version") == 0) {
			printf("peerwatt-sim %s\n", PW_VERSION);
			return 0;
		}
		if (!known_option(o))
			return pw_cli_usage_error(
			    "peerwatt-sim", "%s '%s'",
			    o[0] == '-' ? "unknown option" : "unexpected argument", o);
		if (i + 1 >= argc)
			return pw_cli_usage_error("peerwatt-sim", "option '%s' needs a value", o);
		const char *a = argv[++i];
		if (strcmp(o, "--listen") == 0) {
			listen = a;
		} else if (strcmp(o, "--unit") == 0) {
			if (!num(a, 1, 247, &v) || v != floor(v))
				return bad(o, a);
			s.unit = (int)v;
			s.unit_given = true;
		} else if (strcmp(o, "--template") == 0) {
			tname = a;
		} else if (strcmp(o, "--template-dir") == 0) {
			tdir = a;
		} else if (strcmp(o, "--base") == 0) {
			if (strcmp(a, "40000") && strcmp(a, "0") && strcmp(a, "50000"))
				return bad(o, a);
			s.base = (uint16_t)strtoul(a, NULL, 10);
		} else if (strcmp(o, "--models") == 0) {
			if (strcmp(a, "int") && strcmp(a, "float"))
				return bad(o, a);
			s.floats = strcmp(a, "float") == 0;
		} else if (strcmp(o, "--pv-peak") == 0) {
			if (!num(a, 0, 100000, &s.pv_peak_w))
				return bad(o, a);
		} else if (strcmp(o, "--load") == 0) {
			if (!num(a, 0, 100000, &s.load_w))
				return bad(o, a);
		} else if (strcmp(o, "--speed") == 0) {
			if (!num(a, 0.001, 1e6, &s.speed))
				return bad(o, a);
		} else if (strcmp(o, "--seed") == 0) {
			if (!num(a, 0, 4294967295.0, &v) || v != floor(v))
				return bad(o, a);
			s.seed = (uint32_t)v;
		} else if (strcmp(o, "--fault") == 0) {
			static const char *const names[] = { "none",     "sleep",  "drop",
				                             "sfchange", "reset",  "slow",
				                             "garbage",  "trickle" };
			int k = -1;
			for (int j = 0; j < 8; j++)
				if (strcmp(a, names[j]) == 0)
					k = j;
			if (k < 0)
				return bad(o, a);
			s.fault = (enum fault)k;
		} else if (strcmp(o, "--trickle-ms") == 0) {
			if (!num(a, 1, 10000, &v) || v != floor(v))
				return bad(o, a);
			s.trickle_ms = (uint32_t)v;
		} else if (strcmp(o, "--controls") == 0) {
			if (simctl_mode_parse(a, &ctl_mode) != 0)
				return bad(o, a);
		} else if (strcmp(o, "--control-model") == 0) {
			if (strcmp(a, "123") != 0 && strcmp(a, "704") != 0)
				return bad(o, a);
			s.ctl_model = (uint16_t)atoi(a);
		} else if (strcmp(o, "--reply-delay") == 0) {
			if (!num(a, 0, 60000, &v) || v != floor(v))
				return bad(o, a);
			s.reply_delay_ms = (uint32_t)v;
		} else if (strncmp(o, "--battery-", 10) == 0) {
			/* --battery-wh, -charge-w, -discharge-w, -efficiency, -soc, -reserve */
			static const char *const bo[] = { "wh",         "charge-w", "discharge-w",
				                          "efficiency", "soc",      "reserve" };
			static const double hi[] = { 1e6, 1e5, 1e5, 100, 100, 99 };
			int k = 0;
			while (k < 5 && strcmp(o + 10, bo[k]) != 0)
				k++;
			if (!num(a, 0, hi[k], &bv[k]))
				return bad(o, a);
			bset |= 1u << k;
		} else if (strcmp(o, "--start-time") == 0) {
			unsigned hh, mm;
			char tail;
			if (strlen(a) != 5 || sscanf(a, "%2u:%2u%c", &hh, &mm, &tail) != 2 ||
			    hh > 23 || mm > 59)
				return bad(o, a);
			s.start_s = hh * 3600.0 + mm * 60.0;
			have_start = true;
		} else if (strcmp(o, "--epoch") == 0) {
			/* within a day of now: the clock is integrated from it */
			double now = (double)time(NULL);
			if (!num(a, now - 86400, now + 86400, &epoch) || epoch != floor(epoch))
				return bad(o, a);
		} else {
			return pw_cli_usage_error("peerwatt-sim", "unknown option '%s'", o);
		}
	}
	if (listen == NULL)
		return pw_cli_usage_error("peerwatt-sim", "--listen URL is required");
	if (bset != 0) {
		struct simbat_cfg bc;
		const char *why;
		if (!(bset & 1u))
			return pw_cli_usage_error("peerwatt-sim", "--battery-* options need "
			                                          "--battery-wh");
		bc.capacity_wh = bv[0];
		bc.max_charge_w = bset & 2u ? bv[1] : fmin(bv[0] / 2.0, 1e5);
		bc.max_discharge_w = bset & 4u ? bv[2] : bc.max_charge_w;
		bc.efficiency = (bset & 8u ? bv[3] : 90.0) / 100.0;
		bc.soc_pct = bset & 16u ? bv[4] : 50.0;
		bc.reserve_pct = bset & 32u ? bv[5] : 10.0;
		if ((why = simbat_cfg_check(&bc)) != NULL)
			return pw_cli_usage_error("peerwatt-sim", "battery: %s", why);
		simbat_init(&s.bat, &bc);
		s.battery = true;
	}
	if (epoch >= 0 && !have_start)
		return pw_cli_usage_error("peerwatt-sim", "--epoch needs --start-time");
	if (mlink_url_parse(listen, &u) != PW_OK || strlen(u.host) >= sizeof(s.host))
		return bad("--listen", listen);
	if (u.kind == MLINK_RTU &&
	    (s.fault == F_DROP || s.fault == F_GARBAGE || s.fault == F_TRICKLE))
		return pw_cli_usage_error(
		    "peerwatt-sim", "--fault drop, garbage and trickle need a tcp:// --listen");
	s.listen = listen;
	s.url = u;
	snprintf(s.host, sizeof(s.host), "%s", u.host);
	s.port = u.port;
	if (!have_start) {
		time_t now = time(NULL);
		struct tm tm;
		localtime_r(&now, &tm);
		s.start_s = tm.tm_hour * 3600.0 + tm.tm_min * 60.0 + tm.tm_sec;
	}
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	/* Seeded starting counters: a device that has been running for years. */
	s.inv_wh = 12345678.0 + 1000.0 * (s.seed % 1000);
	s.exp_wh = 4000000.0 + 100.0 * (s.seed % 1000);
	s.imp_wh = 2500000.0 + 100.0 * (s.seed % 1000);
	double now0 = real_now();
	s.t0_real = now0;
	if (epoch >= 0) {
		/* the monotonic time at which the wall clock read the epoch */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		s.t0_real -= (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - epoch;
	}
	s.last_reset_real = now0;
	s.woke_real = -1e9;
	s.awake = true;
	if (tname != NULL) {
		char err[512];
		if (u.kind == MLINK_RTU)
			return pw_cli_usage_error("peerwatt-sim",
			                          "--template needs a tcp:// --listen");
		char defpath[TMPL_PATH_MAX];
		if (tmpl_load(tdir != NULL ? tdir : tmpl_default_path(defpath, sizeof(defpath)),
		              tname, &tpl, err, sizeof(err)) != PW_OK)
			return pw_cli_usage_error("peerwatt-sim", "--template %s: %s", tname, err);
		if (s.unit_given)
			tpl.unit_id = s.unit;
		s.unit = tpl.unit_id;
		s.t = &tpl;
		if ((s.map = simtmpl_layout(&tpl)) == NULL)
			return EX_UNAVAILABLE;
	} else {
		layout(&s);
		s.ctl.mode = ctl_mode;
	}
	advance(&s, now0);
	if (s.fault == F_SLEEP && s.pv_w <= 0)
		s.awake = false;
	refresh(&s, now0);
	return u.kind == MLINK_RTU ? run_rtu(&s) : run(&s);
}
