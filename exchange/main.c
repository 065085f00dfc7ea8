/*
 * exchange/main.c: peerwatt-exchange: command line, setup and the event
 * loop (docs/exchange.md).  Everything else lives in the modules:
 * xconfig (configuration), registry (households), store (SQLite), mlog (the
 * Merkle log), gateway (ZeroMQ + ZAP), engine (requests) and market (clock).
 *
 *   peerwatt-exchange -c FILE [--check-config] [--print-public-key]
 *   peerwatt-exchange keygen --out FILE
 *
 * The market's rules and registry are what the log's MARKET and REGISTRY
 * entries say (exchange/xrules.h): at start and on reload the registry file
 * only appends REGISTRY entries, and a configuration whose market rules
 * differ from the log's is refused.
 *
 * Signals: SIGTERM/SIGINT stop after the current batch; SIGHUP reloads the
 * configuration and the registry (a bad file keeps the old one); SIGUSR1
 * logs the counters.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <zmq.h>

#include "exchange/engine.h"
#include "exchange/gateway.h"
#include "exchange/mlog.h"
#include "exchange/registry.h"
#include "exchange/store.h"
#include "exchange/xcheck.h"
#include "exchange/xconfig.h"
#include "exchange/xrules.h"
#include "exchange/xsched.h"
#include "exchange/schedule.h"
#include "peerwatt/cli.h"
#include "peerwatt/config.h"
#include "peerwatt/keys.h"
#include "peerwatt/log.h"
#include "peerwatt/sdnotify.h"

#define EX_OK          0
#define PROG           "peerwatt-exchange"
#define EX_UNAVAILABLE 69
#define EX_SOFTWARE    70
#define EX_CANTCREAT   73
#define EX_CONFIG      78

static volatile sig_atomic_t quit_flag, reload_flag, stats_flag;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_flag = 1;
	else if (sig == SIGUSR1)
		stats_flag = 1;
	else
		quit_flag = 1;
}

static void
usage_line(void *ctx, const char *text)
{
	fprintf(ctx, "%s\n", text);
}

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: peerwatt-exchange -c FILE [--check-config] [--print-public-key]\n"
	        "       peerwatt-exchange keygen --out FILE\n"
	        "       peerwatt-exchange --help | --version\n\n"
	        "Runs the peerwatt market: verifies signed orders and meter readings, clears\n"
	        "one double auction per interval, settles, keeps the Merkle log.\n"
	        "  -c, --config FILE     configuration (see docs/exchange.md)\n"
	        "  --check-config        load the configuration, registry and key, compare them\n"
	        "                        with the database's log (read only), then exit\n"
	        "  --print-public-key    print the exchange's public key (hex) and exit\n\n"
	        "Configuration keys:\n");
	xconfig_usage(usage_line, f);
}

/* systemd readiness; failures are logged and ignored (no systemd). */
static void
notify(const char *state)
{
	if (pw_sd_notify(state) != PW_OK)
		log_warnx("sd_notify %s failed", state);
}

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
keygen(int argc, char **argv)
{
	const char *out = NULL;
	struct pw_keypair kp;
	char hex[2 * PW_PK_LEN + 1];
	static const char prog[] = "peerwatt-exchange keygen";
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			out = argv[++i];
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: peerwatt-exchange keygen --out FILE\n"
			       "Creates the exchange's key file (mode 0600; refuses to overwrite) "
			       "and prints\nits public key.\n");
			return EX_OK;
		} else if (strcmp(argv[i], "--out") == 0) {
			return pw_cli_usage_error(prog, "option '--out' needs a value");
		} else {
			return pw_cli_usage_error(
			    prog, "%s '%s'",
			    argv[i][0] == '-' ? "unknown option" : "unexpected argument", argv[i]);
		}
	}
	if (!out)
		return pw_cli_usage_error(prog, "--out FILE is required");
	if (pw_key_generate(&kp) != PW_OK)
		return EX_SOFTWARE;
	pw_err rc = pw_key_save(out, &kp);
	if (rc != PW_OK) {
		char why[PATH_MAX + 128];
		pw_key_save_message(out, rc, errno, why, sizeof(why));
		fprintf(stderr, "%s: %s\n", prog, why);
		pw_key_wipe(&kp);
		return EX_CANTCREAT;
	}
	pw_hex_encode(kp.pk, PW_PK_LEN, hex);
	printf("%s\n", hex);
	pw_key_wipe(&kp);
	return EX_OK;
}

/* Settings that need a restart: keep the running ones on reload. */
static int
reload_compatible(const struct xrules *rules, const struct xconfig *old, struct xconfig *nw)
{
	char why[PW_CFG_ERRLEN];

	/* The market's rules are the log's MARKET entry: the market id is in
	 * every signature, the rest must state what the log states. */
	if (old->market_id != nw->market_id) {
		log_warnx("reload: [market] id cannot change; keeping the old configuration");
		return 0;
	}
	if (xrules_check_config(rules, nw, why, sizeof(why)) != PW_OK) {
		log_warnx("reload: %s; keeping the old configuration", why);
		return 0;
	}
	if (strcmp(old->request_endpoint, nw->request_endpoint) != 0 ||
	    strcmp(old->publish_endpoint, nw->publish_endpoint) != 0 ||
	    strcmp(old->db_path, nw->db_path) != 0 || strcmp(old->key_path, nw->key_path) != 0 ||
	    old->batch_max != nw->batch_max || old->max_msg_bytes != nw->max_msg_bytes)
		log_warnx(
		    "reload: endpoints, files, batch_max and max_msg_bytes take effect at the "
		    "next start");
	memcpy(nw->request_endpoint, old->request_endpoint, sizeof(nw->request_endpoint));
	memcpy(nw->publish_endpoint, old->publish_endpoint, sizeof(nw->publish_endpoint));
	memcpy(nw->db_path, old->db_path, sizeof(nw->db_path));
	memcpy(nw->key_path, old->key_path, sizeof(nw->key_path));
	nw->batch_max = old->batch_max;
	nw->max_msg_bytes = old->max_msg_bytes;
	return 1;
}

/*
 * Bring the log up to the registry `file`: one REGISTRY entry per new,
 * changed or revoked household; then the registry the exchange runs on is
 * the log's (into *out) and the cache tables follow the log.
 */
static pw_err
registry_from_log(struct xrules *rules, struct store *store, struct mlog *mlog,
                  const struct pw_keypair *kp, const struct registry *file, struct registry **out,
                  size_t *appended)
{
	pw_err rc;
	if ((rc = xrules_sync_registry(rules, store, mlog, kp, file, (uint64_t)time(NULL),
	                               appended)) != PW_OK)
		return rc;
	if ((rc = xrules_registry(rules, out)) != PW_OK)
		return rc;
	if (xrules_caches(rules, store, 0, NULL) != PW_OK)
		log_warnx("cannot bring tables params, fees and households up to the log");
	return PW_OK;
}

static void
reload(const char *path, struct xconfig *cfg, struct registry **reg, struct engine *e,
       struct xrules *rules)
{
	struct xconfig nw = *cfg;
	struct registry *file = NULL, *nreg = NULL;
	char err[PW_CFG_ERRLEN], serr[1024];
	enum log_level lv;
	size_t appended = 0, n_markets = rules->n_markets;

	notify("RELOADING=1");
	if (xconfig_load(path, &nw, err, sizeof(err)) != PW_OK) {
		log_warnx("reload: %s; keeping the old configuration", err);
		goto out;
	}
	if (!reload_compatible(rules, cfg, &nw))
		goto out;
	if (registry_load(nw.registry_path, &file, err, sizeof(err)) != PW_OK) {
		log_warnx("reload: %s; keeping the old configuration and registry", err);
		goto out;
	}
	/* tables edited while running are rebuilt (and said so) first */
	if (xrules_caches(rules, e->store, 1, NULL) != PW_OK)
		log_warnx("reload: cannot compare tables params, fees and households with the log");
	/* new tariffs or fees (a MARKET entry from the first interval no
	 * accepted order can target yet), or the schedule's new rows */
	if (xsched_sync(rules, e->store, e->log, e->kp, &nw, (uint64_t)time(NULL), NULL, serr,
	                sizeof(serr)) != PW_OK) {
		log_warnx("reload: %s; keeping the old configuration and registry", serr);
		registry_free(&file);
		goto out;
	}
	if (registry_from_log(rules, e->store, e->log, e->kp, file, &nreg, &appended) != PW_OK) {
		log_warnx(
		    "reload: cannot append the registry's changes to the log; keeping the old "
		    "configuration and registry");
		registry_free(&file);
		goto out;
	}
	registry_free(&file);
	*cfg = nw;
	if (log_level_parse(cfg->log_level, &lv) == 0)
		log_init("peerwatt-exchange", lv);
	engine_set_registry(e, nreg);
	registry_free(reg);
	*reg = nreg;
	log_info("reload: configuration and %zu households loaded, %zu REGISTRY entries appended",
	         registry_count(*reg), appended);
out:
	/* a MARKET entry was logged: subscribers get the new outlook now */
	if (rules->n_markets != n_markets)
		engine_publish_schedule(e, (uint64_t)time(NULL) / (uint64_t)cfg->interval_s);
	notify("READY=1");
}

int
main(int argc, char **argv)
{
	const char *cfg_path = NULL;
	int check_only = 0, print_pk = 0, rc = EX_OK;
	static struct xconfig cfg; /* large; read-only after load except on SIGHUP */
	char err[PW_CFG_ERRLEN];
	struct registry *reg = NULL, *file = NULL;
	struct xrules rules;
	struct store *store = NULL;
	struct mlog *mlog = NULL;
	struct gateway *gw = NULL;
	struct pw_keypair kp;
	struct engine e;
	enum log_level lv = LOG_LEVEL_INFO;

	log_init("peerwatt-exchange", LOG_LEVEL_INFO);
	if (argc > 1 && strcmp(argv[1], "keygen") == 0) {
		if (pw_crypto_init() != PW_OK)
			return EX_SOFTWARE;
		return keygen(argc, argv);
	}
	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc)
			cfg_path = argv[++i];
		else if (strcmp(argv[i], "--check-config") == 0 || strcmp(argv[i], "-n") == 0)
			check_only = 1;
		else if (strcmp(argv[i], "--print-public-key") == 0)
			print_pk = 1;
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return EX_OK;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("peerwatt-exchange %s\n", PW_VERSION);
			return EX_OK;
		} else if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
			return pw_cli_usage_error(PROG, "option '%s' needs a value", argv[i]);
		} else {
			return pw_cli_usage_error(
			    PROG, "%s '%s'",
			    argv[i][0] == '-' ? "unknown option" : "unexpected argument", argv[i]);
		}
	}
	if (!cfg_path)
		return pw_cli_usage_error(PROG, "-c FILE is required");
	if (pw_crypto_init() != PW_OK)
		fatalx("libsodium cannot start");
	memset(&cfg, 0, sizeof(cfg));
	memset(&rules, 0, sizeof(rules));
	if (xconfig_load(cfg_path, &cfg, err, sizeof(err)) != PW_OK) {
		fprintf(stderr, "peerwatt-exchange: %s\n", err);
		return EX_CONFIG;
	}
	if (log_level_parse(cfg.log_level, &lv) == 0)
		log_init("peerwatt-exchange", lv);
	pw_err krc = pw_key_load(cfg.key_path, &kp);
	if (krc != PW_OK) {
		fprintf(stderr, "peerwatt-exchange: key file %s: %s\n", cfg.key_path,
		        pw_strerror(krc));
		return EX_CONFIG;
	}
	if (print_pk) {
		char hex[2 * PW_PK_LEN + 1];
		pw_hex_encode(kp.pk, PW_PK_LEN, hex);
		printf("%s\n", hex);
		pw_key_wipe(&kp);
		return EX_OK;
	}
	if (registry_load(cfg.registry_path, &file, err, sizeof(err)) != PW_OK) {
		fprintf(stderr, "peerwatt-exchange: %s\n", err);
		pw_key_wipe(&kp);
		return EX_CONFIG;
	}
	if (check_only) {
		pw_err crc =
		    xcheck_run(cfg_path, &cfg, &kp, file, (uint64_t)time(NULL), stdout, stderr);
		registry_free(&file);
		pw_key_wipe(&kp);
		return crc == PW_OK ? EX_OK : crc == PW_ERR_CONFIG ? EX_CONFIG : EX_UNAVAILABLE;
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (store_open(cfg.db_path, &store) != PW_OK) {
		log_error("cannot open the database %s", cfg.db_path);
		rc = EX_UNAVAILABLE;
		goto out;
	}
	pw_err mrc = mlog_open(&mlog, store_db(store));
	if (mrc != PW_OK) {
		log_error("cannot load the log from %s: %s", cfg.db_path, pw_strerror(mrc));
		rc = EX_UNAVAILABLE;
		goto out;
	}
	/* the rules and registry the log states (genesis of a new database,
	 * migration of an old one); tables edited behind the log are rebuilt */
	mrc = xrules_open(&rules, store, mlog, &kp, &cfg, file, (uint64_t)time(NULL), err,
	                  sizeof(err));
	if (mrc == PW_OK && xrules_caches(&rules, store, rules.created == 0, NULL) != PW_OK)
		snprintf(err, sizeof(err), "cannot rewrite its tables from the log");
	if (mrc != PW_OK) {
		log_error("%s: %s", cfg.db_path, err);
		rc = mrc == PW_ERR_CONFIG ? EX_CONFIG : EX_UNAVAILABLE;
		goto out;
	}
	if (xrules_check_config(&rules, &cfg, err, sizeof(err)) != PW_OK) {
		log_error("%s: %s (the log's rules govern the database %s)", cfg_path, err,
		          cfg.db_path);
		rc = EX_CONFIG;
		goto out;
	}
	{
		char serr[1024];
		pw_err src = xsched_sync(&rules, store, mlog, &kp, &cfg, (uint64_t)time(NULL), NULL,
		                         serr, sizeof(serr));
		if (src != PW_OK) {
			log_error("%s (the log of %s)", serr, cfg.db_path);
			rc = src == PW_ERR_CONFIG ? EX_CONFIG : EX_UNAVAILABLE;
			goto out;
		}
	}
	{
		size_t appended = 0;
		if (registry_from_log(&rules, store, mlog, &kp, file, &reg, &appended) != PW_OK) {
			log_error("cannot append the registry's changes to the log of %s",
			          cfg.db_path);
			rc = EX_UNAVAILABLE;
			goto out;
		}
		registry_free(&file);
		if (appended > 0)
			log_info("registry %s: %zu REGISTRY entries appended", cfg.registry_path,
			         appended);
	}
	if (gateway_open(&gw, &cfg, &kp, reg) != PW_OK) {
		rc = EX_UNAVAILABLE;
		goto out;
	}
	memset(&e, 0, sizeof(e));
	e.cfg = &cfg;
	e.kp = &kp;
	e.reg = reg;
	e.rules = &rules;
	e.store = store;
	e.log = mlog;
	e.gw = gw;
	if (engine_init(&e) != PW_OK) {
		log_error("cannot initialise the engine");
		rc = EX_SOFTWARE;
		goto out_engine;
	}
	{
		char hex[2 * PW_PK_LEN + 1];
		pw_hex_encode(kp.pk, PW_PK_LEN, hex);
		log_info("market %s (id %lld) serving %zu households on %s, data on %s; exchange "
		         "key %s; log size %llu",
		         cfg.market_name, (long long)cfg.market_id, registry_count(reg),
		         cfg.request_endpoint, cfg.publish_endpoint, hex,
		         (unsigned long long)mlog_size(mlog));
	}
	engine_log_book(store); /* rebuilt from the open orders: same as before a stop */
	notify("READY=1\nSTATUS=serving");

	while (!quit_flag) {
		zmq_pollitem_t items[2];
		int64_t t = now_ms();
		int64_t wait = market_tick(&e, t / 1000, t);
		if (reload_flag) {
			reload_flag = 0;
			reload(cfg_path, &cfg, &reg, &e, &rules);
		}
		if (stats_flag) {
			stats_flag = 0;
			engine_log_stats(&e);
		}
		gateway_handshakes(gw);
		gateway_poll_items(gw, items);
		int n = zmq_poll(items, 2, (long)wait);
		if (n < 0) {
			if (zmq_errno() == EINTR)
				continue;
			log_error("zmq_poll: %s", zmq_strerror(zmq_errno()));
			rc = EX_SOFTWARE;
			break;
		}
		if (items[1].revents & ZMQ_POLLIN)
			gateway_zap(gw);
		if (items[0].revents & ZMQ_POLLIN) {
			t = now_ms();
			engine_ingest(&e, t / 1000, t);
		}
	}
	notify("STOPPING=1");
	log_info("stopping");
	engine_log_stats(&e);
out_engine:
	engine_fini(&e);
out:
	gateway_close(&gw);
	mlog_close(&mlog);
	xrules_free(&rules);
	store_close(&store);
	registry_free(&reg);
	registry_free(&file);
	pw_key_wipe(&kp);
	return rc;
}
