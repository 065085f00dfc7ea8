/*
 * abat.c: the home battery's setpoints, the loop's side (see agentd_int.h,
 * docs/agent-energy.md "Battery").  Owns when a setpoint is asked of the device
 * thread: once per interval, with a revert timeout that ends shortly after
 * the interval (agent/control.c's ctl_revert_s), again after a failure.
 * What is asked today is the battery's own controller (auto), which the
 * rules of agent/storage_ctl.c turn into "no discharge" while the state of
 * charge is at or below [battery] reserve_pct; the plan of issue 20 point 3
 * will ask for charge and discharge setpoints through the same path.
 *
 * Nothing is asked of the device unless [battery] control = on.
 * Called by the loop (agentd.c: abat_tick) and ameter.c (abat_on_result).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agentd_int.h"
#include "agent/control.h"
#include "agent/devpoll.h"
#include "agent/storage_ctl.h"

/* a setpoint not answered within this is asked again */
#define ABAT_RETRY_MS 5000

struct abat {
	uint64_t gen;      /* last ask sent */
	uint64_t done_gen; /* last ask answered */
	int64_t sent_ms;
	uint64_t sent_iv;
	int failed; /* the last answer was an error */
	int have_res;
	pw_err last_rc; /* of the last answer, to log changes only */
	enum stctl_mode last_planned;
	char detail[STCTL_DETAIL_MAX + 64]; /* of the last failure */
	uint64_t shown_iv;                  /* the interval the page's plan was sent for */
};

pw_err
abat_new(struct abat **out)
{
	*out = calloc(1, sizeof(**out));
	return *out == NULL ? PW_ERR_NOMEM : PW_OK;
}

void
abat_destroy(struct abat **bp)
{
	if (bp == NULL || *bp == NULL)
		return;
	free(*bp);
	*bp = NULL;
}

void
abat_tick(struct agentd *a, int64_t now)
{
	struct abat *b = a->bat;
	uint64_t iv = (uint64_t)(now / agentd_interval_ms(a));
	struct stctl_cfg cfg;
	struct stctl_cmd cmd;
	int64_t end_ms;

	if (b == NULL || !agentd_iv_ok(a, iv + 1))
		return;
	if (iv != b->shown_iv && a->dash != NULL) { /* the page's plan moves on */
		b->shown_iv = iv;
		(void)dash_notify(a->dash, DASH_DOC_PLAN);
	}
	if (!a->cfg.battery_control || a->dp == NULL)
		return;
	if ((b->gen != b->done_gen || b->failed) && now - b->sent_ms < ABAT_RETRY_MS)
		return; /* under way, or failed a moment ago */
	if (b->gen != 0 && b->gen == b->done_gen && !b->failed && b->sent_iv == iv)
		return; /* this interval's is in force */
	end_ms = agentd_iv_start_s(a, iv + 1) * 1000;
	cfg.reserve_pct = (double)a->cfg.battery_reserve_pct;
	cfg.grid_charge = a->cfg.battery_grid_charge != 0;
	memset(&cmd, 0, sizeof(cmd));
	cmd.mode = STCTL_AUTO;
	cmd.revert_s = ctl_revert_s(end_ms - now, a->clock.simulated ? a->clock.speed : 1);
	b->gen++;
	b->sent_ms = now;
	b->sent_iv = iv;
	devpoll_set_storage(a->dp, &cfg, &cmd, b->gen);
}

void
abat_on_result(struct agentd *a, uint64_t gen, const struct stctl_result *r, int64_t now)
{
	struct abat *b = a->bat;
	bool changed;

	(void)now;
	if (b == NULL || gen != b->gen)
		return; /* an older ask's answer */
	b->done_gen = gen;
	b->failed = r->rc != PW_OK;
	changed = !b->have_res || r->rc != b->last_rc || r->planned != b->last_planned;
	b->have_res = 1;
	b->last_rc = r->rc;
	b->last_planned = r->planned;
	if (r->rc != PW_OK)
		snprintf(b->detail, sizeof(b->detail), "%s%s%s", pw_strerror(r->rc),
		         r->detail[0] ? ": " : "", r->detail);
	if (!changed)
		return;
	if (r->rc != PW_OK)
		log_warnx("battery: setpoint %s not in force: %s%s%s", stctl_mode_name(r->asked),
		          pw_strerror(r->rc), r->detail[0] ? ": " : "", r->detail);
	else
		log_info("battery: %s%s%s (revert timeout %u s, read back)",
		         stctl_mode_name(r->planned), r->detail[0] ? ": " : "", r->detail,
		         r->want.revert_s);
}

void
abat_problems(struct agentd *a, unsigned *active)
{
	struct abat *b = a->bat;

	if (b == NULL || !a->cfg.battery_control || !b->failed)
		return;
	*active |= 1u << ASTATUS_BATTERY_FAILED;
	snprintf(a->st_msg[ASTATUS_BATTERY_FAILED], sizeof(a->st_msg[0]),
	         "The battery's setpoint is not in force: %s.", b->detail);
	snprintf(a->st_action[ASTATUS_BATTERY_FAILED], sizeof(a->st_action[0]),
	         "The agent tries again every few seconds; a setpoint it wrote reverts by itself"
	         " after its revert timeout. Check that the battery accepts SunSpec model 124"
	         " writes over Modbus (some need it enabled), or set [battery] control = off.");
}

const struct bplan_step *
abat_step(const struct agentd *a, uint64_t iv)
{
	(void)a;
	(void)iv;
	return NULL; /* the plan (issue 20 point 3) is not made yet */
}

static json_t *
num_or_null(bool has, double v)
{
	return has ? json_real(v) : json_null();
}

json_t *
abat_state_json(struct agentd *a)
{
	const struct storage_reading *st = &a->rd.storage;
	struct abat *b = a->bat;
	json_t *doc;

	if (!a->have_rd || !st->present)
		return json_null();
	doc = json_pack("{s:o, s:o, s:o, s:o, s:b, s:s}", "soc_pct",
	                num_or_null(st->has_soc, st->soc_pct), "power_w",
	                num_or_null(st->has_power, st->power_w), "capacity_wh",
	                st->has_capacity ? json_integer((json_int_t)st->capacity_wh) : json_null(),
	                "reserve_pct",
	                a->cfg.battery_reserve_pct > 0 || !st->has_reserve
	                    ? json_real((double)a->cfg.battery_reserve_pct)
	                    : json_real(st->reserve_pct),
	                "control", a->cfg.battery_control != 0, "strategy", "self");
	if (doc == NULL)
		return NULL;
	if (b != NULL && a->cfg.battery_control && b->have_res && b->last_rc == PW_OK) {
		json_object_set_new(doc, "setpoint", json_string(stctl_mode_name(b->last_planned)));
	} else {
		json_object_set_new(doc, "setpoint", json_null());
	}
	return doc;
}

json_t *
abat_plan_json(struct agentd *a, int64_t now)
{
	const char *state, *msg;
	char buf[256];

	if (!a->have_rd || !a->rd.storage.present) {
		state = "none";
		msg = "No battery: the device reports no storage model.";
	} else if (!a->cfg.battery_control) {
		state = "off";
		msg = "The battery is left to its own controller ([battery] control = off): the "
		      "agent writes nothing to it and makes no plan.";
	} else {
		snprintf(buf, sizeof(buf),
		         "The battery runs its own controller (self-consumption); the agent only "
		         "keeps it from discharging below the reserve of %lld %%.",
		         (long long)a->cfg.battery_reserve_pct);
		state = "self";
		msg = buf;
	}
	return json_pack("{s:s, s:s, s:I, s:I, s:o, s:[], s:n, s:n, s:n}", "state", state,
	                 "message", msg, "interval_s", (json_int_t)a->cfg.interval_s,
	                 "now_interval", (json_int_t)(now / agentd_interval_ms(a)), "battery",
	                 abat_state_json(a), "steps", "value_u", "self_value_u", "none_value_u");
}
