/*
 * astatus.c: what is wrong with the agent right now, said plainly (see
 * agentd_int.h, docs/agent.md "Status").  Owns the problems list: a stable
 * code per state, a sentence naming the cause and one saying what to do; the
 * log line when a problem appears and when it clears (once each); and the
 * checks of the exchange's HEARTBEAT (clock skew, market parameters).
 * The other roles only record facts (aexch.c: frames and handshakes,
 * REJECTs of readings; ameter.c: poll results); this file judges them.
 * Called by the loop in agentd.c (astatus_update), by aexch.c
 * (astatus_heartbeat) and by adash.c (astatus_json for /api/state).
 */
#include <stdio.h>
#include <string.h>

#include "agent/adispute.h"
#include "agent/agentd_int.h"
#include "peerwatt/fmt.h"

static const char *const codes[ASTATUS__COUNT] = {
	[ASTATUS_EXCHANGE_REFUSED] = "exchange_refused",
	[ASTATUS_EXCHANGE_UNREACHABLE] = "exchange_unreachable",
	[ASTATUS_MARKET_MISMATCH] = "market_mismatch",
	[ASTATUS_CLOCK_SKEW] = "clock_skew",
	[ASTATUS_METER_SERIAL] = "meter_serial_refused",
	[ASTATUS_NO_SUNSPEC] = "no_sunspec_device",
	[ASTATUS_DEVICE_UNREACHABLE] = "device_unreachable",
	[ASTATUS_NO_METER] = "no_meter_model",
	[ASTATUS_METER_IMPLAUSIBLE] = "meter_implausible",
	[ASTATUS_EXCHANGE_LIED] = "exchange_lied",
	[ASTATUS_STATEMENT_MISMATCH] = "statement_mismatch",
	[ASTATUS_LOG_FORK] = "log_fork",
	[ASTATUS_LOG_UNPROVEN] = "log_unproven",
	[ASTATUS_REGISTRY_MISMATCH] = "registry_mismatch",
	[ASTATUS_PROTOCOL_VERSION] = "protocol_version",
	[ASTATUS_RECEIPT_UNPROVEN] = "receipt_unproven",
	[ASTATUS_CONTROL_FAILED] = "control_failed",
	[ASTATUS_BATTERY_FAILED] = "battery_control_failed",
};

static long long
secs(int64_t ms)
{
	return (long long)((ms + 500) / 1000);
}

/* Appends ", NAME X here, Y at the exchange" for a differing parameter. */
static void
differ(char *buf, size_t cap, const char *name, int64_t mine, int64_t theirs, int *n)
{
	size_t len = strlen(buf);
	if (mine == theirs || len >= cap)
		return;
	snprintf(buf + len, cap - len, "%s%s %lld here, %lld at the exchange", *n ? "; " : "", name,
	         (long long)mine, (long long)theirs);
	(*n)++;
}

void
astatus_heartbeat(struct agentd *a, const struct pw_heartbeat *hb, int64_t now)
{
	int64_t skew = now - (int64_t)hb->time_ms;

	a->hb = *hb;
	a->have_hb = 1;
	a->hb_rx_ms = now;
	a->skew_ms = skew;
	/* delivery delay only adds to the difference: two in a row beyond
	 * the bound is the clock, not a slow turn of the loop */
	if (skew > AGENTD_SKEW_MAX_MS || skew < -AGENTD_SKEW_MAX_MS) {
		if (a->skew_over < 2)
			a->skew_over++;
	} else {
		a->skew_over = 0;
	}
	astatus_tariffs(a);
}

void
astatus_tariffs(struct agentd *a)
{
	const struct pw_heartbeat *hb = &a->hb;
	char ps[PW_FMT_LEN];

	if (!a->have_hb)
		return;
	/* configured tariffs that differ from the HEARTBEAT's are a mismatch,
	 * unless the exchange's signed outlook sets the HEARTBEAT's tariffs for
	 * the interval it was signed in: a tariff schedule (or a reload's
	 * MARKET entry) changed them, the configuration did not go wrong */
	struct outlook_rule r;
	int scheduled =
	    a->cfg.interval_s > 0 &&
	    outlook_rule_at(&a->aol.ol, hb->time_ms / 1000 / (uint64_t)a->cfg.interval_s, &r) &&
	    r.feedin_uper_kwh == hb->feedin_uper_kwh && r.retail_uper_kwh == hb->retail_uper_kwh;
	/* a tariff the config leaves at 0 follows the exchange's, which a
	 * tariff schedule changes from interval to interval (docs/agent-energy.md
	 * "Prices relative to the interval's bounds"); a configured one too
	 * while the signed outlook sets the HEARTBEAT's */
	if ((a->conf_feedin_uper_kwh == 0 || scheduled) &&
	    a->cfg.feedin_uper_kwh != hb->feedin_uper_kwh) {
		pw_fmt_price(hb->feedin_uper_kwh, ps, sizeof(ps));
		log_info("market: feed-in tariff %s %s the exchange", ps,
		         a->cfg.feedin_uper_kwh == 0 ? "learned from" : "now, as set by");
		a->cfg.feedin_uper_kwh = hb->feedin_uper_kwh;
	} else if (a->conf_feedin_uper_kwh != 0 && !scheduled) {
		a->cfg.feedin_uper_kwh = a->conf_feedin_uper_kwh; /* compared as configured */
	}
	if ((a->conf_retail_uper_kwh == 0 || scheduled) &&
	    a->cfg.retail_uper_kwh != hb->retail_uper_kwh) {
		pw_fmt_price(hb->retail_uper_kwh, ps, sizeof(ps));
		log_info("market: retail tariff %s %s the exchange", ps,
		         a->cfg.retail_uper_kwh == 0 ? "learned from" : "now, as set by");
		a->cfg.retail_uper_kwh = hb->retail_uper_kwh;
	} else if (a->conf_retail_uper_kwh != 0 && !scheduled) {
		a->cfg.retail_uper_kwh = a->conf_retail_uper_kwh;
	}
	a->market_mismatch = a->cfg.interval_s != (int64_t)hb->interval_s ||
	                     a->cfg.gate_s != (int64_t)hb->gate_s ||
	                     (!scheduled && a->conf_feedin_uper_kwh != 0 &&
	                      a->conf_feedin_uper_kwh != (int64_t)hb->feedin_uper_kwh) ||
	                     (!scheduled && a->conf_retail_uper_kwh != 0 &&
	                      a->conf_retail_uper_kwh != (int64_t)hb->retail_uper_kwh);
}

static void
exchange_problems(struct agentd *a, int64_t now, unsigned *active)
{
	unsigned code = 0;
	enum xlink_handshake hs = xlink_handshake(a->xl, &code);
	int reachable = aexch_reachable(a, now);
	unsigned peer_version = xlink_stats(a->xl)->peer_version;

	if (peer_version != 0) {
		*active |= 1u << ASTATUS_PROTOCOL_VERSION;
		snprintf(a->st_msg[ASTATUS_PROTOCOL_VERSION], sizeof(a->st_msg[0]),
		         "The exchange at %s speaks protocol version %u; this agent speaks version"
		         " %d: nothing it sends is understood here, nothing this agent sends is"
		         " accepted there.",
		         a->cfg.request, peer_version, PW_PROTO_VERSION);
		snprintf(a->st_action[ASTATUS_PROTOCOL_VERSION], sizeof(a->st_action[0]),
		         "Run the same peerwatt release as the exchange: ask the operator which"
		         " one it runs. Bids, offers and readings wait here, queued.");
	}
	if (a->receipt_bad_ms != 0 && a->receipt_bad_ms >= a->receipt_ok_ms) {
		*active |= 1u << ASTATUS_RECEIPT_UNPROVEN;
		snprintf(a->st_msg[ASTATUS_RECEIPT_UNPROVEN], sizeof(a->st_msg[0]),
		         "The exchange acknowledged %s with a receipt that does not prove it is in"
		         " the log (%lu such receipts): the acknowledgement was not taken.",
		         a->receipt_bad, a->receipts_bad);
		snprintf(
		    a->st_action[ASTATUS_RECEIPT_UNPROVEN], sizeof(a->st_action[0]),
		    "The request is sent again. The exchange signed a receipt that does not"
		    " hold: keep this agent's database for the auditor and tell the operator.");
	}

	if (!reachable && (hs == XLINK_HS_REFUSED || hs == XLINK_HS_FAILED)) {
		*active |= 1u << ASTATUS_EXCHANGE_REFUSED;
		if (hs == XLINK_HS_REFUSED)
			snprintf(a->st_msg[ASTATUS_EXCHANGE_REFUSED], sizeof(a->st_msg[0]),
			         "The exchange at %s refused this household's key (status %u).",
			         a->cfg.request, code);
		else
			snprintf(
			    a->st_msg[ASTATUS_EXCHANGE_REFUSED], sizeof(a->st_msg[0]),
			    "The exchange at %s refused the connection: the encrypted handshake"
			    " failed.",
			    a->cfg.request);
		snprintf(a->st_action[ASTATUS_EXCHANGE_REFUSED], sizeof(a->st_action[0]),
		         "Either [exchange] public_key in %s is not this exchange's key, or this"
		         " household (key %.16s...) is not registered at the exchange or was"
		         " revoked: compare the key with the operator's and ask the operator to"
		         " register the household.",
		         a->cfg.path, a->pk_hex);
		return;
	}
	if (!reachable &&
	    (a->last_rx_ms != 0 || now - a->started_ms >= AGENTD_EXCHANGE_TIMEOUT_MS)) {
		*active |= 1u << ASTATUS_EXCHANGE_UNREACHABLE;
		if (a->last_rx_ms != 0)
			snprintf(a->st_msg[ASTATUS_EXCHANGE_UNREACHABLE], sizeof(a->st_msg[0]),
			         "Exchange unreachable: nothing from %s for %lld s (it is stopped,"
			         " hung or the network to it is cut).",
			         a->cfg.request, secs(now - a->last_rx_ms));
		else
			snprintf(a->st_msg[ASTATUS_EXCHANGE_UNREACHABLE], sizeof(a->st_msg[0]),
			         "Exchange unreachable: nothing from %s since the agent started"
			         " %lld s ago (it is stopped, hung or the network to it is cut).",
			         a->cfg.request, secs(now - a->started_ms));
		snprintf(a->st_action[ASTATUS_EXCHANGE_UNREACHABLE], sizeof(a->st_action[0]),
		         "New bids and offers wait here, queued, and are sent when it is back"
		         " (those whose gate passes first are missed). Check the network, or ask"
		         " the exchange's operator.");
	}
	/* market data flows but requests get no answer: the request socket is
	 * dead (xlink re-creates it with backoff), and orders and readings
	 * wait; say so rather than "reachable" */
	int64_t unanswered = xlink_unanswered_ms(a->xl);
	if (reachable && unanswered >= AGENTD_EXCHANGE_TIMEOUT_MS) {
		*active |= 1u << ASTATUS_EXCHANGE_UNREACHABLE;
		snprintf(a->st_msg[ASTATUS_EXCHANGE_UNREACHABLE], sizeof(a->st_msg[0]),
		         "Exchange unreachable for requests: its market data arrives, but %s has"
		         " answered no request for %lld s.",
		         a->cfg.request, secs(unanswered));
		snprintf(a->st_action[ASTATUS_EXCHANGE_UNREACHABLE], sizeof(a->st_action[0]),
		         "Bids, offers and readings wait here, queued, and are sent again when it"
		         " answers (the agent re-connects by itself). If it lasts, ask the"
		         " exchange's operator.");
	}
	if (!a->have_hb || !reachable)
		return;
	if (a->market_mismatch) {
		char d[256] = "";
		int n = 0;
		*active |= 1u << ASTATUS_MARKET_MISMATCH;
		differ(d, sizeof(d), "interval_s", a->cfg.interval_s, a->hb.interval_s, &n);
		differ(d, sizeof(d), "gate_s", a->cfg.gate_s, a->hb.gate_s, &n);
		differ(d, sizeof(d), "feed-in uper_kwh", a->cfg.feedin_uper_kwh,
		       a->hb.feedin_uper_kwh, &n);
		differ(d, sizeof(d), "retail uper_kwh", a->cfg.retail_uper_kwh,
		       a->hb.retail_uper_kwh, &n);
		snprintf(a->st_msg[ASTATUS_MARKET_MISMATCH], sizeof(a->st_msg[0]),
		         "This agent's market settings differ from the exchange's: %s.", d);
		snprintf(a->st_action[ASTATUS_MARKET_MISMATCH], sizeof(a->st_action[0]),
		         "Set [exchange] interval_s = %u, gate_s = %u (and the tariffs) in %s as"
		         " the exchange has them, then restart the agent; it places no orders"
		         " until then.",
		         a->hb.interval_s, a->hb.gate_s, a->cfg.path);
	}
	if (a->skew_over >= 2) {
		*active |= 1u << ASTATUS_CLOCK_SKEW;
		snprintf(a->st_msg[ASTATUS_CLOCK_SKEW], sizeof(a->st_msg[0]),
		         "This computer's clock is %lld s %s the exchange's (more than %d s):"
		         " orders miss their gate and readings are refused as too early.",
		         secs(a->skew_ms < 0 ? -a->skew_ms : a->skew_ms),
		         a->skew_ms < 0 ? "behind" : "ahead of", AGENTD_SKEW_MAX_MS / 1000);
		snprintf(a->st_action[ASTATUS_CLOCK_SKEW], sizeof(a->st_action[0]),
		         "Synchronise the clock (NTP, e.g. systemd-timesyncd or chrony).");
	}
}

static void
device_problems(struct agentd *a, int64_t now, unsigned *active)
{
	/* the device whose readings are signed: [meter] when set */
	const char *url = a->cfg.meter_url[0] != '\0' ? a->cfg.meter_url : a->cfg.modbus;

	if (a->dev_fault == AMETER_NOT_SUNSPEC) {
		*active |= 1u << ASTATUS_NO_SUNSPEC;
		snprintf(a->st_msg[ASTATUS_NO_SUNSPEC], sizeof(a->st_msg[0]),
		         "No SunSpec device at unit %lld of %s: %s.", (long long)a->cfg.unit, url,
		         a->dev_detail);
		snprintf(a->st_action[ASTATUS_NO_SUNSPEC], sizeof(a->st_action[0]),
		         "Check [device] unit in %s: `peerwatt-agent probe %s` lists the unit ids"
		         " that answer.",
		         a->cfg.path, url);
	} else if (a->dev_fault == AMETER_UNREACHABLE &&
	           now - (a->dev_ok_ms != 0 ? a->dev_ok_ms : a->started_ms) >=
	               AGENTD_DEVICE_TIMEOUT_MS) {
		*active |= 1u << ASTATUS_DEVICE_UNREACHABLE;
		snprintf(a->st_msg[ASTATUS_DEVICE_UNREACHABLE], sizeof(a->st_msg[0]),
		         "Inverter unreachable: %s (the inverter or its meter does not answer%s).",
		         a->dev_detail, a->dev_ok_ms != 0 ? "" : " since the agent started");
		snprintf(a->st_action[ASTATUS_DEVICE_UNREACHABLE], sizeof(a->st_action[0]),
		         "Power values are not current and no readings are signed: check that the"
		         " device is on and reachable at [device] modbus = %s.",
		         url);
	}
	if (a->dev_lacks_meter) {
		*active |= 1u << ASTATUS_NO_METER;
		snprintf(a->st_msg[ASTATUS_NO_METER], sizeof(a->st_msg[0]),
		         "The SunSpec device at %s has no meter model (201-204, 211-214): no"
		         " readings can be signed.",
		         url);
		snprintf(a->st_action[ASTATUS_NO_METER], sizeof(a->st_action[0]),
		         "Point [device] modbus and unit at the grid meter (peerwatt-agent probe"
		         " lists the models).");
	}
	if (a->meter_suspect) {
		*active |= 1u << ASTATUS_METER_IMPLAUSIBLE;
		snprintf(a->st_msg[ASTATUS_METER_IMPLAUSIBLE], sizeof(a->st_msg[0]),
		         "The grid meter's registers moved by export %+lld Wh, import %+lld Wh in"
		         " %lld s, more than rated_power_w = %u W can deliver (%llu Wh): its"
		         " samples are refused, no reading is signed from them and nothing is"
		         " offered.",
		         (long long)a->mc.last_dexp_wh, (long long)a->mc.last_dimp_wh,
		         secs(a->mc.last_dt_ms), a->mc.rated_power_w,
		         (unsigned long long)a->mc.last_max_wh);
		snprintf(a->st_action[ASTATUS_METER_IMPLAUSIBLE], sizeof(a->st_action[0]),
		         "A glitch passes by itself. A meter replaced or reset is taken as the new"
		         " base once %u samples in a row agree (the intervals across the jump get"
		         " no reading). If it stays, check the meter and [device] rated_power_w"
		         " in %s.",
		         a->mc.confirm, a->cfg.path);
	} else if (a->meter_rebased_ms != 0) {
		*active |= 1u << ASTATUS_METER_IMPLAUSIBLE;
		snprintf(
		    a->st_msg[ASTATUS_METER_IMPLAUSIBLE], sizeof(a->st_msg[0]),
		    "The grid meter's registers jumped (export %+lld Wh, import %+lld Wh) %lld s"
		    " ago and the samples since agree: the new values are the base and the"
		    " reading chain restarts at the next boundary; the intervals across the"
		    " jump get no reading.",
		    (long long)a->meter_jump_exp_wh, (long long)a->meter_jump_imp_wh,
		    secs(now - a->meter_rebased_ms));
		snprintf(a->st_action[ASTATUS_METER_IMPLAUSIBLE], sizeof(a->st_action[0]),
		         "Nothing, if the meter was replaced or reset; the exchange settles the"
		         " intervals without a reading as \"reading missing\". This clears with"
		         " the next signed reading.");
	}
	if (a->serial_refused) {
		const char *dev = a->dev_serial;
		*active |= 1u << ASTATUS_METER_SERIAL;
		snprintf(
		    a->st_msg[ASTATUS_METER_SERIAL], sizeof(a->st_msg[0]),
		    "The exchange refused the reading of interval %llu: meter serial \"%s\" (%s)"
		    " is not the meter registered for this household%s%s%s.",
		    (unsigned long long)a->serial_iv, a->serial_sent,
		    a->cfg.serial[0] != '\0' ? "[household] serial" : "read from the device",
		    dev[0] != '\0' && strcmp(dev, a->serial_sent) != 0
		        ? "; the device reports serial \""
		        : "",
		    dev[0] != '\0' && strcmp(dev, a->serial_sent) != 0 ? dev : "",
		    dev[0] != '\0' && strcmp(dev, a->serial_sent) != 0 ? "\"" : "");
		snprintf(a->st_action[ASTATUS_METER_SERIAL], sizeof(a->st_action[0]),
		         "Set [household] serial in %s to the registered meter's serial, or ask the"
		         " operator to register meter \"%s\"; the exchange's log names the"
		         " registered one.",
		         a->cfg.path, a->serial_sent);
	}
}

void
astatus_update(struct agentd *a, int64_t now)
{
	unsigned active = 0, was = a->st_active;

	exchange_problems(a, now, &active);
	device_problems(a, now, &active);
	adispute_problems(a, now, &active);
	aregistry_problems(a, &active);
	actl_problems(a, &active);
	abat_problems(a, &active);
	a->st_active = active;
	for (int c = 0; c < ASTATUS__COUNT; c++) {
		unsigned bit = 1u << c;
		if ((active & bit) && !(was & bit))
			log_warnx("status: %s: %s %s", codes[c], a->st_msg[c], a->st_action[c]);
		else if (!(active & bit) && (was & bit))
			log_info("status: %s cleared", codes[c]);
	}
}

const char *
astatus_code_name(enum astatus_code c)
{
	return (unsigned)c < ASTATUS__COUNT ? codes[c] : "unknown";
}

json_t *
astatus_json(const struct agentd *a)
{
	json_t *arr = json_array();
	for (int c = 0; c < ASTATUS__COUNT; c++)
		if (astatus_has(a, (enum astatus_code)c))
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "code", codes[c],
			                                     "message", a->st_msg[c], "action",
			                                     a->st_action[c]));
	return arr;
}
