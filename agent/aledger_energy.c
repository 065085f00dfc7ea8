/*
 * aledger_energy.c: the household's energy per closed interval in the
 * ledger (table energy, see aledger.h): grid import and export, PV, and the
 * battery's energy charged and discharged, for the dashboard's chart and
 * the battery's forecasts (agent/ameter.c stores, agent/agentd.c replays,
 * batmarket's "battery.today" sums).
 */
#include <stdint.h>

#include "agent/aledger.h"
#include "agent/aledger_int.h"

pw_err
aledger_add_energy(struct aledger *l, uint64_t interval, int64_t pv_wh, uint64_t import_wh,
                   uint64_t export_wh, int64_t bat_charge_wh, int64_t bat_discharge_wh)
{
	sqlite3_stmt *st;
	int r;

	if (interval > INT64_MAX || import_wh > INT64_MAX || export_wh > INT64_MAX ||
	    (bat_charge_wh < 0) != (bat_discharge_wh < 0))
		return PW_ERR_RANGE;
	if (sqlite3_prepare_v2(
	        l->db,
	        "INSERT OR REPLACE INTO energy(interval, pv_wh, import_wh, export_wh,"
	        " bat_charge_wh, bat_discharge_wh) VALUES (?, ?, ?, ?, ?, ?)",
	        -1, &st, NULL) != SQLITE_OK)
		return PW_ERR_DB;
	sqlite3_bind_int64(st, 1, (int64_t)interval);
	if (pv_wh >= 0)
		sqlite3_bind_int64(st, 2, pv_wh);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_int64(st, 3, (int64_t)import_wh);
	sqlite3_bind_int64(st, 4, (int64_t)export_wh);
	if (bat_charge_wh >= 0) {
		sqlite3_bind_int64(st, 5, bat_charge_wh);
		sqlite3_bind_int64(st, 6, bat_discharge_wh);
	} else {
		sqlite3_bind_null(st, 5);
		sqlite3_bind_null(st, 6);
	}
	r = sqlite3_step(st);
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? PW_OK : PW_ERR_DB;
}

int
aledger_battery_energy(struct aledger *l, uint64_t from_iv, uint64_t to_iv, uint64_t *charged_wh,
                       uint64_t *discharged_wh)
{
	sqlite3_stmt *st;
	int n = -1;

	*charged_wh = *discharged_wh = 0;
	if (sqlite3_prepare_v2(l->db,
	                       "SELECT count(*), total(bat_charge_wh), total(bat_discharge_wh)"
	                       " FROM energy WHERE interval >= ? AND interval < ?"
	                       " AND bat_charge_wh >= 0 AND bat_discharge_wh >= 0",
	                       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, aledger_clamp64(from_iv));
	sqlite3_bind_int64(st, 2, aledger_clamp64(to_iv));
	if (sqlite3_step(st) == SQLITE_ROW) {
		/* a stored row is input too: sums beyond int64 are refused */
		double c = sqlite3_column_double(st, 1), d = sqlite3_column_double(st, 2);
		n = sqlite3_column_int(st, 0);
		if (c < 0 || d < 0 || c > 9.0e18 || d > 9.0e18) {
			n = -1;
		} else {
			*charged_wh = (uint64_t)c;
			*discharged_wh = (uint64_t)d;
		}
	}
	sqlite3_finalize(st);
	return n;
}
