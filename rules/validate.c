/*
 * validate.c: entry rules (validate.h).  Called by exchange/engine.c for
 * every request, inside the batch transaction, with state read from the
 * store.  Arithmetic on untrusted u64 fields is overflow-checked.
 */
#include "rules/validate.h"

#include <string.h>

enum pw_reason
validate_frame(size_t n_frames, size_t len)
{
	if (n_frames != 1)
		return PW_REASON_MALFORMED;
	if (len > PW_WIRE_MAX_REQUEST)
		return PW_REASON_OVERSIZE;
	if (len < PW_WIRE_HEADER_LEN + PW_SIG_LEN)
		return PW_REASON_MALFORMED;
	return PW_REASON_OK;
}

/* Start of interval i in seconds, or -1 when it does not fit in int64. */
static int64_t
interval_start(const struct validate_market *m, uint64_t interval)
{
	if (m->interval_s <= 0 || interval > (uint64_t)(INT64_MAX / m->interval_s))
		return -1;
	return (int64_t)interval * m->interval_s;
}

int
validate_interval_open(const struct validate_market *m, uint64_t interval)
{
	int64_t start = interval_start(m, interval);
	if (start < 0)
		return 1;
	return m->now_s < start - m->gate_s;
}

static int
too_far(const struct validate_market *m, uint64_t interval)
{
	int64_t start = interval_start(m, interval);
	return start < 0 || start > m->now_s + m->max_ahead_s;
}

enum pw_reason
validate_order(const struct validate_market *m, const struct validate_book *b,
               const struct pw_order *o)
{
	if (o->seq <= b->last_seq)
		return PW_REASON_REPLAY;
	if (o->expiry_s > (uint64_t)INT64_MAX || (int64_t)o->expiry_s <= m->now_s)
		return PW_REASON_EXPIRED;
	if (o->side != PW_SIDE_BUY && o->side != PW_SIDE_SELL)
		return PW_REASON_MALFORMED;
	if (!validate_interval_open(m, o->interval))
		return PW_REASON_GATE_CLOSED;
	if (too_far(m, o->interval))
		return PW_REASON_TOO_FAR_AHEAD;
	if (o->qty_wh == 0)
		return PW_REASON_BAD_QUANTITY;
	if (o->price_uper_kwh < m->feedin_uper_kwh || o->price_uper_kwh > m->retail_uper_kwh)
		return PW_REASON_PRICE_BOUNDS;
	if (b->open_other_wh > 0)
		return PW_REASON_SELF_TRADE;
	if (b->open_same_wh > b->capacity_wh || o->qty_wh > b->capacity_wh - b->open_same_wh)
		return PW_REASON_CAPACITY;
	return PW_REASON_OK;
}

enum pw_reason
validate_cancel(const struct validate_market *m, uint64_t last_seq,
                const struct validate_cancel_target *t, const struct pw_cancel *c)
{
	if (c->seq <= last_seq)
		return PW_REASON_REPLAY;
	if (!t->found || t->interval != c->interval)
		return PW_REASON_UNKNOWN_ORDER;
	if (!validate_interval_open(m, c->interval))
		return PW_REASON_GATE_CLOSED;
	if (!t->open)
		return PW_REASON_UNKNOWN_ORDER;
	return PW_REASON_OK;
}

uint64_t
validate_capacity_wh(int64_t power_w, int64_t interval_s)
{
	if (power_w <= 0 || interval_s <= 0)
		return 0;
	unsigned __int128 e = (unsigned __int128)power_w * (uint64_t)interval_s / 3600u;
	return e > UINT64_MAX ? UINT64_MAX : (uint64_t)e;
}

uint64_t
validate_meter_max_wh(int64_t power_w, int64_t interval_s)
{
	if (power_w <= 0 || interval_s <= 0)
		return 0;
	unsigned __int128 e = ((unsigned __int128)power_w * (uint64_t)interval_s + 3599u) / 3600u;
	return e > UINT64_MAX ? UINT64_MAX : (uint64_t)e;
}

enum pw_reason
validate_meter(const struct validate_market *m, const struct validate_meter_state *s,
               const struct pw_meter *r)
{
	char serial[PW_SERIAL_LEN + 1];
	memcpy(serial, r->serial, PW_SERIAL_LEN);
	serial[PW_SERIAL_LEN] = '\0';
	if (strcmp(serial, s->serial) != 0)
		return PW_REASON_METER_SERIAL;
	if (r->seq <= s->last_seq)
		return PW_REASON_REPLAY;
	if (s->has_reading_for_interval)
		return PW_REASON_METER_DUPLICATE;
	if (r->seq != s->last_seq + 1)
		return PW_REASON_METER_GAP;
	int64_t start = interval_start(m, r->interval);
	if (start < 0 || start > INT64_MAX - m->interval_s || m->now_s < start + m->interval_s)
		return PW_REASON_METER_TOO_EARLY;
	/* registers are stored as SQLite integers (int64) */
	if (r->export_end_wh > (uint64_t)INT64_MAX || r->import_end_wh > (uint64_t)INT64_MAX)
		return PW_REASON_METER_IMPLAUSIBLE;
	if (r->export_end_wh < r->export_start_wh || r->import_end_wh < r->import_start_wh)
		return PW_REASON_METER_BACKWARDS;
	if (s->last_seq > 0) {
		if (r->interval <= s->last_interval)
			return PW_REASON_METER_BACKWARDS;
		if (r->export_start_wh < s->last_export_end_wh ||
		    r->import_start_wh < s->last_import_end_wh)
			return PW_REASON_METER_BACKWARDS;
		/* consecutive intervals must join exactly; after a gap in
		 * intervals (agent offline) only "never backwards" applies */
		if (r->interval == s->last_interval + 1 &&
		    (r->export_start_wh != s->last_export_end_wh ||
		     r->import_start_wh != s->last_import_end_wh))
			return PW_REASON_METER_CONTINUITY;
	}
	if (r->export_end_wh - r->export_start_wh >
	        validate_meter_max_wh(s->max_export_w, m->interval_s) ||
	    r->import_end_wh - r->import_start_wh >
	        validate_meter_max_wh(s->max_import_w, m->interval_s))
		return PW_REASON_METER_IMPLAUSIBLE;
	return PW_REASON_OK;
}
