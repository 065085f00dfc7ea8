/*
 * p1.c: DSMR P1 telegram assembler, CRC check and decoder (see p1.h).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "agent/p1.h"

enum { HUNT = 0, BODY = 1, CRC = 2 };

void
p1_asm_init(struct p1_asm *a)
{
	a->state = HUNT;
	a->len = 0;
	a->line_len = 0;
	a->crc_digits = 0;
}

static bool
is_hex(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

static void
start(struct p1_asm *a)
{
	a->state = BODY;
	a->buf[0] = '/';
	a->len = 1;
	a->line_len = 1;
	a->crc_digits = 0;
}

enum p1_event
p1_asm_feed(struct p1_asm *a, uint8_t c)
{
	switch (a->state) {
	case HUNT:
		if (c == '/')
			start(a);
		return P1_NONE;
	case BODY:
		if (c == '/') {
			/* a telegram cut short (the meter restarted, bytes were lost) */
			start(a);
			return P1_TRUNCATED;
		}
		if (c != '\r' && c != '\n' && (c < 0x20 || c > 0x7e)) {
			p1_asm_init(a);
			return P1_GARBLED;
		}
		if (a->len >= sizeof(a->buf)) {
			p1_asm_init(a);
			return P1_OVERFLOW;
		}
		a->buf[a->len++] = (char)c;
		if (c == '\n') {
			a->line_len = 0;
		} else if (++a->line_len > P1_LINE_MAX) {
			p1_asm_init(a);
			return P1_OVERFLOW;
		}
		if (c == '!')
			a->state = CRC;
		return P1_NONE;
	case CRC:
		if (a->crc_digits == 0 && (c == '\r' || c == '\n')) {
			/* "!" without a CRC (DSMR 2.2/3): complete, p1_parse refuses it */
			a->state = HUNT;
			return P1_TELEGRAM;
		}
		if (!is_hex(c) || a->len >= sizeof(a->buf)) {
			bool slash = c == '/';
			p1_asm_init(a);
			if (slash) {
				start(a);
				return P1_TRUNCATED;
			}
			return P1_GARBLED;
		}
		a->buf[a->len++] = (char)c;
		if (++a->crc_digits == 4) {
			a->state = HUNT;
			return P1_TELEGRAM;
		}
		return P1_NONE;
	default:
		p1_asm_init(a);
		return P1_NONE;
	}
}

uint16_t
p1_crc16(const void *data, size_t n)
{
	const uint8_t *p = data;
	uint16_t crc = 0;

	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int b = 0; b < 8; b++)
			crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xA001) : (uint16_t)(crc >> 1);
	}
	return crc;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* --- one line --------------------------------------------------------------------- */

/* The registers we read, by OBIS "A-B:C.D.E". */
enum reg {
	R_NONE = SMETER_OBIS_NONE,
	R_IMP_TOTAL = SMETER_OBIS_IMP,
	R_IMP_TARIFF = SMETER_OBIS_IMP_T, /* + tariff 1..9 */
	R_EXP_TOTAL = SMETER_OBIS_EXP,
	R_EXP_TARIFF = SMETER_OBIS_EXP_T,
	R_POWER_NET = SMETER_OBIS_PNET,
	R_POWER_IMP = SMETER_OBIS_PIMP,
	R_POWER_EXP = SMETER_OBIS_PEXP,
	R_ID = SMETER_OBIS__N,
	R_ID_LDN, /* 0-0:42.0.0, the logical device name: the id of meters without 96.1.1 */
};

struct obis {
	unsigned v[5];
};

/* Parse "A-B:C.D.E" (each 0..255) at s; returns the bytes used, 0 when malformed. */
static size_t
parse_obis(const char *s, size_t n, struct obis *o)
{
	static const char seps[5] = { '-', ':', '.', '.', 0 };
	size_t i = 0;

	for (int k = 0; k < 5; k++) {
		unsigned v = 0;
		size_t d = 0;

		while (i < n && s[i] >= '0' && s[i] <= '9' && d < 4) {
			v = v * 10 + (unsigned)(s[i] - '0');
			i++;
			d++;
		}
		if (d == 0 || v > 255)
			return 0;
		o->v[k] = v;
		if (k < 4) {
			if (i >= n || s[i] != seps[k])
				return 0;
			i++;
		}
	}
	/* an optional "*F" (the billing period, 255 = current) */
	if (i < n && s[i] == '*') {
		size_t d = 0;
		unsigned v = 0;
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9' && d < 4) {
			v = v * 10 + (unsigned)(s[i] - '0');
			i++;
			d++;
		}
		if (d == 0 || v != 255)
			return 0;
	}
	return i;
}

static enum reg
classify(const struct obis *o, int *tariff)
{
	const unsigned *v = o->v;

	*tariff = 0;
	if (v[0] == 0 && v[1] == 0 && v[2] == 96 && v[3] == 1 && v[4] == 1)
		return R_ID;
	if (v[0] == 0 && v[1] == 0 && v[2] == 42 && v[3] == 0 && v[4] == 0)
		return R_ID_LDN;
	if (v[0] != 1 || v[1] != 0)
		return R_NONE;
	return (enum reg)smeter_obis_cde(v[2], v[3], v[4], tariff);
}

/*
 * A decimal "[-]digits[.digits]*UNIT" inside the parentheses; value =
 * raw * 10^sf in Wh (energy) or W (power).
 */
static pw_err
parse_value(const char *s, size_t n, bool energy, bool allow_neg, bool *neg, uint64_t *raw, int *sf,
            char *why, size_t whysz)
{
	size_t i = 0, digits = 0, frac = 0;
	bool dot = false;
	uint64_t v = 0;
	const char *unit;
	size_t ulen;

	*neg = false;
	if (i < n && s[i] == '-') {
		if (!allow_neg) {
			snprintf(why, whysz, "negative energy");
			return PW_ERR_FIELD;
		}
		*neg = true;
		i++;
	}
	for (; i < n && s[i] != '*'; i++) {
		if (s[i] == '.' && !dot && digits > 0) {
			dot = true;
			continue;
		}
		/* 18 digits fit uint64 with room; a power never needs more than 12 */
		if (s[i] < '0' || s[i] > '9' || digits >= (energy ? 18u : 12u)) {
			snprintf(why, whysz, "malformed number");
			return PW_ERR_PARSE;
		}
		v = v * 10 + (uint64_t)(s[i] - '0');
		digits++;
		if (dot)
			frac++;
	}
	if (digits == 0 || (dot && frac == 0) || i >= n) {
		snprintf(why, whysz, "malformed number or no unit");
		return PW_ERR_PARSE;
	}
	unit = s + i + 1;
	ulen = n - i - 1;
	if (energy && ulen == 3 && memcmp(unit, "kWh", 3) == 0)
		*sf = 3;
	else if (energy && ulen == 2 && memcmp(unit, "Wh", 2) == 0)
		*sf = 0;
	else if (!energy && ulen == 2 && memcmp(unit, "kW", 2) == 0)
		*sf = 3;
	else if (!energy && ulen == 1 && unit[0] == 'W')
		*sf = 0;
	else {
		snprintf(why, whysz, "unexpected unit \"%.*s\"", (int)(ulen > 8 ? 8 : ulen), unit);
		return PW_ERR_FIELD;
	}
	*sf -= (int)frac;
	*raw = v;
	return PW_OK;
}

/* W from raw * 10^sf, rounded to the nearest W. */
static int64_t
power_w(uint64_t raw, int sf)
{
	uint64_t w = raw;

	for (int k = 0; k < sf; k++)
		w *= 10; /* sf <= 3, raw < 10^12 (parse_value): fits */
	if (sf < 0) {
		uint64_t d = 1;
		for (int k = 0; k < -sf; k++)
			d *= 10;
		w = (raw + d / 2) / d;
	}
	return w > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)w;
}

/* The id: hex-coded ASCII decoded when it is, else kept as sent. */
static void
set_serial(const char *s, size_t n, char *out, size_t outsz)
{
	size_t k = 0;
	bool decoded = n > 0 && n % 2 == 0 && n / 2 < outsz;

	for (size_t i = 0; decoded && i < n; i += 2) {
		int hi = hexval(s[i]), lo = hexval(s[i + 1]);
		int c = hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
		if (c < 0x21 || c > 0x7e)
			decoded = false;
		else
			out[k++] = (char)c;
	}
	if (!decoded) {
		k = 0;
		for (size_t i = 0; i < n && k + 1 < outsz; i++)
			out[k++] = (s[i] > 0x20 && s[i] < 0x7f) ? s[i] : '?';
	}
	out[k] = '\0';
}

struct p1_work {
	bool seen[16];
	bool seen_tariff[2][10];
	struct smeter_acc imp_total, exp_total, imp_sum, exp_sum;
	bool has_net, has_pimp, has_pexp;
	int64_t net_w, pimp_w, pexp_w;
	char ldn[SMETER_SERIAL_MAX + 1];
};

static pw_err
parse_line(const char *s, size_t n, struct p1_work *w, struct smeter_reading *r, char *why,
           size_t whysz)
{
	struct obis o;
	size_t used, vlen;
	const char *v, *close;
	enum reg reg;
	int tariff;
	bool neg;
	uint64_t raw;
	int sf;
	pw_err rc;

	if (n == 0 || s[0] == '(')
		return PW_OK; /* blank, or a continuation of a DSMR 2/3 gas line */
	used = parse_obis(s, n, &o);
	if (used == 0 || used >= n || s[used] != '(') {
		snprintf(why, whysz, "malformed line \"%.*s\"", (int)(n > 24 ? 24 : n), s);
		return PW_ERR_PARSE;
	}
	close = memchr(s + used, ')', n - used);
	if (close == NULL) {
		snprintf(why, whysz, "unterminated value");
		return PW_ERR_PARSE;
	}
	reg = classify(&o, &tariff);
	if (reg == R_NONE)
		return PW_OK;
	v = s + used + 1;
	vlen = (size_t)(close - v);
	if (reg == R_IMP_TARIFF || reg == R_EXP_TARIFF) {
		bool *seen = &w->seen_tariff[reg == R_EXP_TARIFF][tariff];
		if (*seen) {
			snprintf(why, whysz, "register 1-0:%u.8.%d twice", o.v[2], tariff);
			return PW_ERR_FIELD;
		}
		*seen = true;
	} else {
		if (w->seen[reg]) {
			snprintf(why, whysz, "register %u-%u:%u.%u.%u twice", o.v[0], o.v[1],
			         o.v[2], o.v[3], o.v[4]);
			return PW_ERR_FIELD;
		}
		w->seen[reg] = true;
	}
	if (reg == R_ID) {
		set_serial(v, vlen, r->serial, sizeof(r->serial));
		return PW_OK;
	}
	if (reg == R_ID_LDN) {
		set_serial(v, vlen, w->ldn, sizeof(w->ldn));
		return PW_OK;
	}
	rc = parse_value(v, vlen, reg <= R_EXP_TARIFF, reg == R_POWER_NET, &neg, &raw, &sf, why,
	                 whysz);
	if (rc != PW_OK)
		return rc;
	switch (reg) {
	case R_IMP_TOTAL:
	case R_EXP_TOTAL: {
		struct smeter_acc *a = reg == R_IMP_TOTAL ? &w->imp_total : &w->exp_total;
		a->has = true;
		a->raw = raw;
		a->sf = sf;
		return PW_OK;
	}
	case R_IMP_TARIFF:
	case R_EXP_TARIFF: {
		struct smeter_acc t = { .has = true, .raw = raw, .sf = sf };
		rc = smeter_acc_add(reg == R_IMP_TARIFF ? &w->imp_sum : &w->exp_sum, &t);
		if (rc != PW_OK)
			snprintf(why, whysz, "tariff sum overflows");
		return rc;
	}
	case R_POWER_NET:
		w->has_net = true;
		w->net_w = neg ? -power_w(raw, sf) : power_w(raw, sf);
		return PW_OK;
	case R_POWER_IMP:
		w->has_pimp = true;
		w->pimp_w = power_w(raw, sf);
		return PW_OK;
	case R_POWER_EXP:
		w->has_pexp = true;
		w->pexp_w = power_w(raw, sf);
		return PW_OK;
	default:
		return PW_OK;
	}
}

pw_err
p1_parse(const char *t, size_t len, struct smeter_reading *r, char *why, size_t whysz)
{
	struct p1_work w;
	size_t body, i, ls;
	unsigned sent = 0;
	pw_err rc;

	memset(r, 0, sizeof(*r));
	memset(&w, 0, sizeof(w));
	if (whysz > 0)
		why[0] = '\0';
	/* CR LF after the CRC is optional */
	while (len > 0 && (t[len - 1] == '\n' || t[len - 1] == '\r'))
		len--;
	if (len > P1_TELEGRAM_MAX) {
		snprintf(why, whysz, "telegram longer than %d bytes", P1_TELEGRAM_MAX);
		return PW_ERR_LENGTH;
	}
	if (len < 2 || t[0] != '/') {
		snprintf(why, whysz, "no telegram header");
		return PW_ERR_PARSE;
	}
	if (t[len - 1] == '!') {
		snprintf(why, whysz, "telegram without CRC (DSMR 2.2/3 is not accepted)");
		return PW_ERR_CRC;
	}
	if (len < 6 || t[len - 5] != '!') {
		snprintf(why, whysz, "no CRC at the end");
		return PW_ERR_PARSE;
	}
	for (i = len - 4; i < len; i++) {
		int h = hexval(t[i]);
		if (h < 0) {
			snprintf(why, whysz, "malformed CRC");
			return PW_ERR_PARSE;
		}
		sent = sent * 16 + (unsigned)h;
	}
	body = len - 4; /* '/' .. '!' */
	if (p1_crc16(t, body) != sent) {
		snprintf(why, whysz, "CRC mismatch (sent %04X, computed %04X)", sent,
		         p1_crc16(t, body));
		return PW_ERR_CRC;
	}
	/* the header line, then one register per line up to '!' */
	for (i = 0; i < body - 1 && t[i] != '\n'; i++)
		;
	ls = i + 1;
	for (i = ls; i < body - 1; i++) {
		unsigned char c = (unsigned char)t[i];
		if ((c < 0x20 && c != '\r' && c != '\n') || c > 0x7e) {
			snprintf(why, whysz, "control or non-ASCII byte in telegram");
			return PW_ERR_PARSE;
		}
		if (t[i] == '\n') {
			size_t e = i;
			if (e > ls && t[e - 1] == '\r')
				e--;
			if (e - ls > P1_LINE_MAX) {
				snprintf(why, whysz, "line longer than %d bytes", P1_LINE_MAX);
				return PW_ERR_LENGTH;
			}
			rc = parse_line(t + ls, e - ls, &w, r, why, whysz);
			if (rc != PW_OK)
				return rc;
			ls = i + 1;
		}
	}
	if (ls != body - 1) {
		snprintf(why, whysz, "'!' not at the start of a line");
		return PW_ERR_PARSE;
	}
	if (r->serial[0] == '\0')
		memcpy(r->serial, w.ldn, sizeof(r->serial));
	r->imp = w.imp_total.has ? w.imp_total : w.imp_sum;
	r->exp = w.exp_total.has ? w.exp_total : w.exp_sum;
	if (w.has_net) {
		r->has_power = true;
		r->power_w = w.net_w;
	} else if (w.has_pimp && w.has_pexp) {
		r->has_power = true;
		r->power_w = w.pimp_w - w.pexp_w;
	}
	if (!r->imp.has && !r->exp.has) {
		snprintf(why, whysz, "no energy register (1-0:1.8.x or 1-0:2.8.x)");
		return PW_ERR_NOTFOUND;
	}
	rc = smeter_reading_finish(r);
	if (rc != PW_OK)
		snprintf(why, whysz, "energy register out of range");
	return rc;
}
