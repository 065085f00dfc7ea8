/*
 * pw-dashdemo (tests/tools/pw-dashdemo/, its parts in demo.h): the
 * dashboard (agent/dash.c) with a fake household behind it, for the browser
 * tests of the page and for trying the page by hand.
 *
 * Power values change every second; every --interval-s seconds the fake
 * market clears the interval that just closed at a price that follows a slow
 * wave: own bids at or above it become trades and statements, auto-sell
 * offers sell the surplus above the reserve when the price reaches the
 * minimum.  Orders, trades and statements live in memory only.  Prints
 * "pw-dashdemo: listening on http://HOST:PORT/" on stdout when ready.
 *
 * Orders, trades and statements come in pages of 20 rows like the agent's
 * (GET /api/DOC?before=N for older ones); "today" sums the statements of
 * the local day and charts the cleared intervals' energy.
 *
 *   pw-dashdemo [--listen HOST:PORT] [--web DIR] [--interval-s N] [--token T]
 *               [--exchange-down] [--inverter-down] [--no-pv] [--seed N]
 *               [--negative] [--no-outlook] [--battery | --battery-off]
 *               [--battery-paused]
 *
 * --negative: a market with a negative feed-in tariff (-5.0 ct/kWh) whose
 * clearing prices lie between -3.0 and -1.0 ct/kWh (sellers pay), and the
 * interval under way with its export limited (curtailment, an example
 * saving in the statements).
 *
 * The price outlook (GET /api/outlook) is a dynamic day of 24 intervals
 * from the current one: a morning and an evening peak, a cheap middle
 * with a negative feed-in stretch.  --exchange-down makes it "stale",
 * --no-outlook "none" (no outlook received).
 *
 * --battery: a 10 kWh battery (battery.c) on a fake devices' clock of
 * 30-minute intervals that starts at 19:00: /api/state "battery" (state of
 * charge, power, the setpoint in force, today's energy), /api/plan
 * "planned" with the next 48 intervals (store at midday, sell in the
 * evening peak, cover at night, hold) and their reasons, and the energy it
 * sold in the statements, trades and Today ("battery_sold_wh"; the 12
 * intervals of history before the start, 13:00-18:30, store and then sell).
 * --battery-off: the same battery on its own controller ([battery] control
 * = off): /api/plan "off" with its message, nothing sold from it.  Without
 * either, "battery" is null and /api/plan says "none".  Both combine with
 * the other options.  --battery-paused: --battery whose offers of stored
 * energy are paused ("offers_paused": "battery_failed": the battery does
 * not hold the setpoint).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "demo.h"
#include "peerwatt/log.h"

static volatile sig_atomic_t demo_stop;

static void
on_signal(int sig)
{
	(void)sig;
	demo_stop = 1;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: pw-dashdemo [--listen HOST:PORT] [--web DIR] [--interval-s N] "
	           "[--token T]\n                   [--exchange-down] [--inverter-down] "
	           "[--no-pv] [--seed N] [--negative] [--no-outlook]\n"
	           "                   [--battery | --battery-off] [--battery-paused]\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "web", required_argument, NULL, 'w' },
		{ "interval-s", required_argument, NULL, 'i' },
		{ "token", required_argument, NULL, 't' },
		{ "exchange-down", no_argument, NULL, 'X' },
		{ "inverter-down", no_argument, NULL, 'I' },
		{ "no-pv", no_argument, NULL, 'P' },
		{ "seed", required_argument, NULL, 's' },
		{ "negative", no_argument, NULL, 'N' },
		{ "no-outlook", no_argument, NULL, 'O' },
		{ "battery", no_argument, NULL, 'B' },
		{ "battery-off", no_argument, NULL, 'b' },
		{ "battery-paused", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct demo dm; /* large: not on the stack */
	struct dash_config cfg = { 0 };
	struct dash_ops ops = { 0 };
	char addr[64] = "127.0.0.1", msg[DASH_MSG_MAX] = "";
	uint16_t port = 0;
	const char *web = "agent/web", *token = NULL;
	struct sigaction sa;
	uint64_t last_interval;
	time_t next_tick;
	char *end;
	long v;
	int c, i, battery = 0;
	bool paused = false;

	log_init("pw-dashdemo", LOG_LEVEL_INFO);
	dm.interval_s = 10;
	dm.rng = 42;
	dm.settings.min_price_uper_kwh = 120000;
	dm.settings.reserve_wh = 0;
	dm.settings.auto_sell = true;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (dash_listen_parse(optarg, addr, sizeof addr, &port) != PW_OK) {
				fprintf(stderr, "pw-dashdemo: bad --listen '%s'\n", optarg);
				return 64;
			}
			break;
		case 'w':
			web = optarg;
			break;
		case 'i':
		case 's':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || v < 1 || v > 3600) {
				fprintf(stderr, "pw-dashdemo: bad number '%s'\n", optarg);
				return 64;
			}
			if (c == 'i')
				dm.interval_s = (unsigned)v;
			else
				dm.rng = (unsigned)v;
			break;
		case 't':
			token = optarg;
			break;
		case 'X':
			dm.exchange_down = true;
			break;
		case 'I':
			dm.inverter_down = true;
			break;
		case 'P':
			dm.no_pv = true;
			break;
		case 'O':
			dm.no_outlook = true;
			break;
		case 'p':
			paused = true;
			battery = 1;
			break;
		case 'B':
		case 'b':
			battery = c == 'B' ? 1 : 2;
			break;
		case 'N':
			dm.negative = true;
			dm.settings.min_price_uper_kwh = -40000;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("pw-dashdemo %s\n", PW_VERSION);
			return 0;
		default:
			usage(stderr);
			return 64;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 64;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* A little price history so the chart has a line from the start. */
	last_interval = demo_now_interval(&dm);
	if (battery) {
		demo_bat_init(&dm, battery == 2);
		dm.bat.paused = paused;
	}
	demo_tick_power(&dm);
	for (i = 12; i > 0; i--)
		demo_clear_interval(&dm, last_interval - (uint64_t)i);

	ops.ctx = &dm;
	ops.get = demo_get;
	ops.place_bid = demo_bid;
	ops.cancel = demo_cancel;
	ops.update_settings = demo_settings;
	ops.metrics = demo_metrics;
	ops.get_older = demo_older;
	cfg.bind_addr = addr;
	cfg.port = port;
	cfg.web_root = web;
	cfg.token = token;
	if (dash_new(&cfg, &ops, &dm.dash, msg, sizeof msg) != PW_OK) {
		fprintf(stderr, "pw-dashdemo: %s\n", msg);
		return 69;
	}
	printf("pw-dashdemo: listening on http://%s%s%s:%u/\n", strchr(addr, ':') ? "[" : "", addr,
	       strchr(addr, ':') ? "]" : "", (unsigned)dash_port(dm.dash));
	fflush(stdout);

	next_tick = time(NULL) + 1;
	while (!demo_stop) {
		struct pollfd pfd = { dash_fd(dm.dash), POLLIN, 0 };
		long to = dash_timeout_ms(dm.dash);
		time_t now = time(NULL);
		long tick_ms = next_tick > now ? (long)(next_tick - now) * 1000 : 0;
		if (to < 0 || to > tick_ms)
			to = tick_ms;
		if (poll(&pfd, 1, (int)to) < 0 && errno != EINTR)
			break;
		if (dash_run(dm.dash) != PW_OK)
			log_warnx("dash_run failed");
		if (time(NULL) >= next_tick) {
			next_tick = time(NULL) + 1;
			demo_tick(&dm, &last_interval);
		}
	}
	dash_destroy(&dm.dash);
	return 0;
}
