/*
 * money.c: the trade-amount rounding rule and overflow-checked arithmetic on
 * int64 micro-units, plus the decimal text form used in configs, logs and
 * the dashboard.  Called by the auction, settlement, the audit, config
 * (PW_CFG_MONEY) and the agent.  No state; thread-safe.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "peerwatt/money.h"

#define MONEY_FRAC_DIGITS 6
#define MONEY_SCALE       1000000

/*
 * amount_u = floor((qty_wh * price + 500) / 1000) with floor the true floor
 * (toward minus infinity) also when the price is negative: the exact
 * product rounded half up, so -0.5 gives 0 and -0.501 gives -1.  C division
 * truncates toward zero, hence the explicit floor.  The product is taken
 * in 128 bits so that every (qty, price) pair whose rounded result fits in
 * int64 is computed exactly rather than rejected early.
 */
pw_err
pw_money_amount(uint64_t qty_wh, int64_t price_uper_kwh, int64_t *amount_u)
{
	if (amount_u == NULL)
		return PW_ERR_ARG;
	/* |qty * price| < 2^64 * 2^63 = 2^127: fits a signed 128-bit product */
	__int128 p = (__int128)qty_wh * price_uper_kwh + 500;
	__int128 q = p / 1000;
	if (p % 1000 < 0)
		q -= 1; /* truncated toward zero: one less is the floor */
	if (q > (__int128)INT64_MAX || q < (__int128)INT64_MIN)
		return PW_ERR_OVERFLOW;
	*amount_u = (int64_t)q;
	return PW_OK;
}

pw_err
pw_money_add(int64_t a, int64_t b, int64_t *out)
{
	int64_t r;
	if (out == NULL)
		return PW_ERR_ARG;
	if (__builtin_add_overflow(a, b, &r))
		return PW_ERR_OVERFLOW;
	*out = r;
	return PW_OK;
}

pw_err
pw_money_sub(int64_t a, int64_t b, int64_t *out)
{
	int64_t r;
	if (out == NULL)
		return PW_ERR_ARG;
	if (__builtin_sub_overflow(a, b, &r))
		return PW_ERR_OVERFLOW;
	*out = r;
	return PW_OK;
}

pw_err
pw_money_mul(int64_t a, int64_t b, int64_t *out)
{
	int64_t r;
	if (out == NULL)
		return PW_ERR_ARG;
	if (__builtin_mul_overflow(a, b, &r))
		return PW_ERR_OVERFLOW;
	*out = r;
	return PW_OK;
}

/*
 * Always six fractional digits so that the text round-trips through
 * pw_money_parse and columns line up.  INT64_MIN has no positive int64
 * counterpart, hence the unsigned magnitude.
 */
void
pw_money_format(int64_t amount_u, char *out, size_t cap)
{
	if (out == NULL || cap == 0)
		return;
	uint64_t mag = amount_u < 0 ? (uint64_t)0 - (uint64_t)amount_u : (uint64_t)amount_u;
	int n = snprintf(out, cap, "%s%llu.%06llu", amount_u < 0 ? "-" : "",
	                 (unsigned long long)(mag / MONEY_SCALE),
	                 (unsigned long long)(mag % MONEY_SCALE));
	if (n < 0 || (size_t)n >= cap)
		out[0] = '\0'; /* never a silently truncated figure */
}

/*
 * Strict: optional sign, at least one digit overall, optional '.' followed by
 * 1..6 digits, nothing else (no spaces, exponents, thousands separators).
 */
pw_err
pw_money_parse(const char *text, int64_t *amount_u)
{
	if (text == NULL || amount_u == NULL)
		return PW_ERR_ARG;
	const char *s = text;
	int neg = 0;
	if (*s == '-' || *s == '+') {
		neg = *s == '-';
		s++;
	}
	/* magnitude limit: |INT64_MIN| for negatives, INT64_MAX otherwise */
	uint64_t limit = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
	uint64_t whole = 0;
	int nint = 0, range = 0;
	for (; *s >= '0' && *s <= '9'; s++, nint++) {
		unsigned d = (unsigned)(*s - '0');
		if (whole > (UINT64_MAX - d) / 10)
			range = 1;
		else
			whole = whole * 10 + d;
	}
	uint64_t frac = 0;
	int nfrac = 0;
	if (*s == '.') {
		s++;
		for (; *s >= '0' && *s <= '9'; s++, nfrac++) {
			if (nfrac >= MONEY_FRAC_DIGITS)
				return PW_ERR_PARSE; /* more precision than a micro-unit */
			frac = frac * 10 + (unsigned)(*s - '0');
		}
		if (nfrac == 0)
			return PW_ERR_PARSE;
	}
	if (*s != '\0' || (nint == 0 && nfrac == 0))
		return PW_ERR_PARSE;
	for (int i = nfrac; i < MONEY_FRAC_DIGITS; i++)
		frac *= 10;
	if (range || whole > limit / MONEY_SCALE)
		return PW_ERR_RANGE;
	uint64_t mag = whole * MONEY_SCALE;
	if (mag > limit - frac)
		return PW_ERR_RANGE;
	mag += frac;
	if (neg)
		*amount_u = mag == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)mag;
	else
		*amount_u = (int64_t)mag;
	return PW_OK;
}
