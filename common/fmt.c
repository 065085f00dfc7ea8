/*
 * fmt.c: prices, intervals and powers for log lines and the dashboard (see
 * fmt.h).  Called by the exchange's market clock and the agent's trading,
 * metering, exchange link and registry check.
 */
#include "peerwatt/fmt.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void
pw_fmt_price(int64_t price_uper_kwh, char *out, size_t cap)
{
	/* 1 ct = 10000 micro-units: four decimals of a cent are exact.  A
	 * negative price keeps its sign in front of the magnitude ("-3.50"),
	 * also between 0 and -1 ct ("-0.0001"); INT64_MIN has no positive
	 * int64 counterpart, hence the unsigned magnitude. */
	uint64_t mag =
	    price_uper_kwh < 0 ? (uint64_t)0 - (uint64_t)price_uper_kwh : (uint64_t)price_uper_kwh;
	char frac[8];
	size_t n;

	snprintf(frac, sizeof(frac), "%04" PRIu64, mag % 10000);
	n = strlen(frac);
	while (n > 2 && frac[n - 1] == '0')
		frac[--n] = '\0';
	snprintf(out, cap, "%s%" PRIu64 ".%s ct/kWh", price_uper_kwh < 0 ? "-" : "", mag / 10000,
	         frac);
}

void
pw_fmt_interval(uint64_t interval, int64_t interval_s, char *out, size_t cap)
{
	struct tm tm;
	char when[32];
	time_t t;

	/* beyond year 9999 or a nonsense length: the number alone */
	if (interval_s <= 0 || interval > (uint64_t)253402300799 / (uint64_t)interval_s) {
		snprintf(out, cap, "%" PRIu64, interval);
		return;
	}
	t = (time_t)(interval * (uint64_t)interval_s);
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		snprintf(out, cap, "%" PRIu64, interval);
		return;
	}
	snprintf(out, cap, "%" PRIu64 " (%s)", interval, when);
}

void
pw_fmt_power(uint64_t w, char *out, size_t cap)
{
	uint64_t div = w >= 1000000 ? 1000000 : 1000;
	const char *unit = w >= 1000000 ? "MW" : "kW";
	char frac[8];
	size_t n;

	if (w < 1000) {
		snprintf(out, cap, "%" PRIu64 " W", w);
		return;
	}
	snprintf(frac, sizeof(frac), div == 1000 ? "%03" PRIu64 : "%06" PRIu64, w % div);
	n = strlen(frac);
	while (n > 0 && frac[n - 1] == '0')
		frac[--n] = '\0';
	snprintf(out, cap, "%" PRIu64 "%s%s %s", w / div, n > 0 ? "." : "", frac, unit);
}
