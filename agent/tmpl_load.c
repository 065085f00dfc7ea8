/*
 * tmpl_load.c: register-map templates: the loader (a template file is
 * untrusted text: every key is checked against its range at the line it is
 * on, and the checks across keys run before the template is handed out, so
 * that the poll never meets an address past 65535, a read longer than 125
 * registers or a value without the unit the agent needs) and the search
 * along the template path (see tmpl.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/sunspec.h"
#include "agent/tmpl.h"
#include "peerwatt/config.h"

/* Keys of a value or [identify] section, one bit each (for "given twice"). */
enum {
	K_FC = 1 << 0,
	K_ADDR = 1 << 1,
	K_TYPE = 1 << 2,
	K_WORDS = 1 << 3,
	K_SCALE = 1 << 4,
	K_SCALE_ADDR = 1 << 5,
	K_UNIT = 1 << 6,
	K_SIGN = 1 << 7,
	K_UNIT_ID = 1 << 8,
	K_LENGTH = 1 << 9,
	K_EQUALS = 1 << 10,
	K_MIN = 1 << 11,
	K_MAX = 1 << 12,
	K_PREFIX = 1 << 13,
	K_WORDS_SET = 1 << 14,
};

/* [template] keys. */
enum {
	T_NAME = 1 << 0,
	T_DESC = 1 << 1,
	T_MANUF = 1 << 2,
	T_MODEL = 1 << 3,
	T_MANUAL = 1 << 4,
	T_ROLE = 1 << 5,
	T_PORT = 1 << 6,
	T_UNIT = 1 << 7,
	T_TIMEOUT = 1 << 8,
	T_DELAY = 1 << 9,
	T_ONE = 1 << 10,
	T_SENT = 1 << 11,
	T_WORDS = 1 << 12,
};

struct pctx {
	unsigned tkeys;
	unsigned keys[TMPL_V__COUNT + 1]; /* the last one: [identify] */
	int line[TMPL_V__COUNT + 1];      /* line of each section's last key */
	int tline;
};

static pw_err
kfail(char *msg, size_t msglen, const char *fmt, const char *a, const char *b)
{
	snprintf(msg, msglen, fmt, a, b);
	return PW_ERR_CONFIG;
}

/* Decimal or 0x hexadecimal, whole string, in [lo, hi]. */
static bool
parse_num(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	char *end;
	long long v;
	bool neg = s[0] == '-';
	const char *p = neg ? s + 1 : s;

	if (p[0] == '\0' || p[0] == '+' || p[0] == ' ')
		return false;
	errno = 0;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		if (neg || p[2] == '\0' || p[2] == '-' || p[2] == '+' || p[2] == ' ')
			return false;
		v = strtoll(p + 2, &end, 16);
	} else {
		v = strtoll(s, &end, 10);
	}
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool
parse_bool(const char *s, bool *out)
{
	if (strcmp(s, "yes") == 0 || strcmp(s, "true") == 0 || strcmp(s, "on") == 0)
		*out = true;
	else if (strcmp(s, "no") == 0 || strcmp(s, "false") == 0 || strcmp(s, "off") == 0)
		*out = false;
	else
		return false;
	return true;
}

static bool
copy_text(char *dst, size_t dstsz, const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= dstsz)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7E)
			return false;
	memcpy(dst, s, n + 1);
	return true;
}

static pw_err
template_key(struct tmpl *t, struct pctx *x, const char *name, const char *value, char *msg,
             size_t msglen)
{
	unsigned bit;
	int64_t v;
	bool b;

	if (strcmp(name, "name") == 0) {
		bit = T_NAME;
		if (!tmpl_name_ok(value))
			return kfail(msg, msglen,
			             "name: \"%s\" is not 1..32 of a-z, 0-9 and '-' (and not "
			             "sunspec)%s",
			             value, "");
		memcpy(t->name, value, strlen(value) + 1);
	} else if (strcmp(name, "description") == 0 || strcmp(name, "manual") == 0) {
		bool desc = name[0] == 'd';
		bit = desc ? T_DESC : T_MANUAL;
		if (!copy_text(desc ? t->description : t->manual, sizeof(t->manual), value))
			return kfail(msg, msglen, "%s: 1..160 printable characters%s", name, "");
	} else if (strcmp(name, "manufacturer") == 0 || strcmp(name, "model") == 0) {
		bool man = name[1] == 'a';
		bit = man ? T_MANUF : T_MODEL;
		if (!copy_text(man ? t->manufacturer : t->model, sizeof(t->model), value))
			return kfail(msg, msglen, "%s: 1..32 printable characters%s", name, "");
	} else if (strcmp(name, "role") == 0) {
		bit = T_ROLE;
		if (strcmp(value, "inverter") == 0)
			t->roles = TMPL_ROLE_INVERTER;
		else if (strcmp(value, "meter") == 0)
			t->roles = TMPL_ROLE_METER;
		else if (strcmp(value, "inverter+meter") == 0)
			t->roles = TMPL_ROLE_INVERTER | TMPL_ROLE_METER;
		else
			return kfail(msg, msglen,
			             "role: \"%s\" is not inverter, meter or inverter+meter%s",
			             value, "");
	} else if (strcmp(name, "port") == 0) {
		bit = T_PORT;
		if (!parse_num(value, 1, 65535, &v))
			return kfail(msg, msglen, "port: \"%s\" is not 1..65535%s", value, "");
		t->port = (uint16_t)v;
	} else if (strcmp(name, "unit") == 0) {
		bit = T_UNIT;
		if (!parse_num(value, 0, 255, &v))
			return kfail(msg, msglen, "unit: \"%s\" is not a unit id 0..255%s", value,
			             "");
		t->unit_id = (int)v;
	} else if (strcmp(name, "timeout_ms") == 0 || strcmp(name, "connect_delay_ms") == 0) {
		bool to = name[0] == 't';
		bit = to ? T_TIMEOUT : T_DELAY;
		if (!parse_num(value, to ? 10 : 0, 60000, &v))
			return kfail(msg, msglen, "%s: \"%s\" is not in 10..60000 ms", name, value);
		if (to)
			t->timeout_ms = (uint32_t)v;
		else
			t->quiet_ms = (uint32_t)v;
	} else if (strcmp(name, "one_client") == 0 || strcmp(name, "sentinels") == 0) {
		bool one = name[0] == 'o';
		bit = one ? T_ONE : T_SENT;
		if (!parse_bool(value, &b))
			return kfail(msg, msglen, "%s: \"%s\" is not yes or no", name, value);
		if (one)
			t->one_client = b;
		else
			t->sentinels = b;
	} else if (strcmp(name, "word_order") == 0) {
		bit = T_WORDS;
		if (strcmp(value, "big") == 0)
			t->little = false;
		else if (strcmp(value, "little") == 0)
			t->little = true;
		else
			return kfail(msg, msglen, "word_order: \"%s\" is not big or little%s",
			             value, "");
	} else {
		return kfail(msg, msglen, "unknown key %s in [template]%s", name, "");
	}
	if (x->tkeys & bit)
		return kfail(msg, msglen, "%s: given twice in [%s]", name, "template");
	x->tkeys |= bit;
	return PW_OK;
}

/* A comma-separated list of up to max numbers. */
static bool
parse_list(const char *s, int64_t lo, int64_t hi, int64_t *out, size_t max, size_t *n)
{
	char buf[PW_CFG_MAX_LINE + 1];
	size_t len = strlen(s), k = 0;
	char *p, *save = NULL;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len + 1);
	if (buf[0] == ',' || buf[len - 1] == ',' || strstr(buf, ",,") != NULL)
		return false;
	for (p = strtok_r(buf, ",", &save); p != NULL; p = strtok_r(NULL, ",", &save)) {
		while (*p == ' ')
			p++;
		size_t pl = strlen(p);
		while (pl > 0 && p[pl - 1] == ' ')
			p[--pl] = '\0';
		if (k == max || !parse_num(p, lo, hi, &out[k]))
			return false;
		k++;
	}
	*n = k;
	return k > 0;
}

static pw_err
value_key(struct tmpl *t, struct pctx *x, int vi, const char *name, const char *value, char *msg,
          size_t msglen)
{
	bool ident = vi == TMPL_V__COUNT;
	struct tmpl_value *v = ident ? &t->ident.v : &t->v[vi];
	const char *sec = ident ? "identify" : tmpl_val_name((enum tmpl_val)vi);
	unsigned bit;
	int64_t n, list[TMPL_EQUALS_MAX];
	size_t cnt;

	v->present = true;
	if (ident)
		t->ident.present = true;
	if (strcmp(name, "fc") == 0) {
		bit = K_FC;
		if (strcmp(value, "3") != 0 && strcmp(value, "4") != 0)
			return kfail(msg, msglen,
			             "fc: \"%s\" is not 3 (holding) or 4 (input registers)%s",
			             value, "");
		v->fc = (uint8_t)(value[0] - '0');
	} else if (strcmp(name, "address") == 0) {
		bit = K_ADDR;
		if (!parse_list(value, 0, 65535, list, tmpl_is_power(vi) ? TMPL_ADDRS_MAX : 1,
		                &cnt))
			return kfail(msg, msglen,
			             "address: \"%s\" is not a register 0..65535 (powers: up to 8, "
			             "comma-separated, summed)%s",
			             value, "");
		v->naddr = (uint8_t)cnt;
		for (size_t i = 0; i < cnt; i++)
			v->addr[i] = (uint16_t)list[i];
	} else if (strcmp(name, "type") == 0) {
		bit = K_TYPE;
		size_t i;
		for (i = 0; i <= TMPL_STRING; i++)
			if (strcmp(value, tmpl_type_name((enum tmpl_type)i)) == 0)
				break;
		if (i > TMPL_STRING)
			return kfail(msg, msglen,
			             "type: \"%s\" is not u16, s16, u32, s32, u64, float32 or "
			             "string%s",
			             value, "");
		v->type = (enum tmpl_type)i;
	} else if (strcmp(name, "word_order") == 0) {
		bit = K_WORDS;
		if (strcmp(value, "big") == 0)
			v->little = false;
		else if (strcmp(value, "little") == 0)
			v->little = true;
		else
			return kfail(msg, msglen, "word_order: \"%s\" is not big or little%s",
			             value, "");
		x->keys[vi] |= K_WORDS_SET;
	} else if (strcmp(name, "scale") == 0) {
		bit = K_SCALE;
		if (!parse_num(value, -6, 6, &n))
			return kfail(msg, msglen,
			             "scale: \"%s\" is not a power of ten -6..6 (value = raw x "
			             "10^scale)%s",
			             value, "");
		v->scale = (int8_t)n;
	} else if (strcmp(name, "scale_address") == 0) {
		bit = K_SCALE_ADDR;
		if (!parse_num(value, 0, 65535, &n))
			return kfail(msg, msglen,
			             "scale_address: \"%s\" is not a register 0..65535%s", value,
			             "");
		v->scale_reg = true;
		v->scale_addr = (uint16_t)n;
	} else if (strcmp(name, "unit") == 0) {
		static const char *const units[] = { "", "W", "kW", "Wh", "kWh", "%" };
		bit = K_UNIT;
		size_t i;
		for (i = 1; i < sizeof(units) / sizeof(units[0]); i++)
			if (strcmp(value, units[i]) == 0)
				break;
		if (i == sizeof(units) / sizeof(units[0]))
			return kfail(msg, msglen, "unit: \"%s\" is not W, kW, Wh, kWh or %%%s",
			             value, "");
		v->unit = (enum tmpl_unit)i;
	} else if (strcmp(name, "sign") == 0) {
		bit = K_SIGN;
		if (vi == TMPL_V_GRID_POWER && strcmp(value, "import_positive") == 0)
			v->export_positive = false;
		else if (vi == TMPL_V_GRID_POWER && strcmp(value, "export_positive") == 0)
			v->export_positive = true;
		else if (vi == TMPL_V_BATTERY_POWER && strcmp(value, "discharge_positive") == 0)
			v->export_positive = false;
		else if (vi == TMPL_V_BATTERY_POWER && strcmp(value, "charge_positive") == 0)
			v->export_positive = true;
		else
			return kfail(msg, msglen,
			             "sign: \"%s\" is not import_positive or export_positive "
			             "(grid_power), discharge_positive or charge_positive "
			             "(battery_power)%s",
			             value, "");
	} else if (strcmp(name, "unit_id") == 0) {
		bit = K_UNIT_ID;
		if (!parse_num(value, 0, 255, &n))
			return kfail(msg, msglen, "unit_id: \"%s\" is not 0..255%s", value, "");
		v->unit_id = (int)n;
	} else if (strcmp(name, "length") == 0) {
		bit = K_LENGTH;
		if (!parse_num(value, 1, TMPL_STR_REGS, &n))
			return kfail(msg, msglen, "length: \"%s\" is not 1..16 registers%s", value,
			             "");
		v->length = (uint16_t)n;
	} else if (ident && strcmp(name, "equals") == 0) {
		bit = K_EQUALS;
		if (!parse_list(value, INT64_MIN / 2, INT64_MAX / 2, list, TMPL_EQUALS_MAX, &cnt))
			return kfail(msg, msglen,
			             "equals: \"%s\" is not a list of up to 8 numbers%s", value,
			             "");
		t->ident.nequals = (uint8_t)cnt;
		memcpy(t->ident.equals, list, cnt * sizeof(list[0]));
	} else if (ident && (strcmp(name, "min") == 0 || strcmp(name, "max") == 0)) {
		bool lo = name[1] == 'i';
		bit = lo ? K_MIN : K_MAX;
		if (!parse_num(value, INT64_MIN / 2, INT64_MAX / 2, &n))
			return kfail(msg, msglen, "%s: \"%s\" is not a number", name, value);
		t->ident.has_range = true;
		if (lo)
			t->ident.min = n;
		else
			t->ident.max = n;
	} else if (ident && strcmp(name, "prefix") == 0) {
		bit = K_PREFIX;
		if (!copy_text(t->ident.prefix, sizeof(t->ident.prefix), value))
			return kfail(msg, msglen, "prefix: 1..32 printable characters%s%s", "", "");
	} else {
		return kfail(msg, msglen, "unknown key %s in [%s]", name, sec);
	}
	if (x->keys[vi] & bit)
		return kfail(msg, msglen, "%s: given twice in [%s]", name, sec);
	x->keys[vi] |= bit;
	return PW_OK;
}

static pw_err
extra(void *vctx, void *target, const char *section, const char *name, const char *value, int line,
      char *msg, size_t msglen)
{
	struct pctx *x = vctx;
	struct tmpl *t = target;

	if (strcmp(section, "template") == 0) {
		x->tline = line;
		return template_key(t, x, name, value, msg, msglen);
	}
	if (strcmp(section, "identify") == 0) {
		x->line[TMPL_V__COUNT] = line;
		return value_key(t, x, TMPL_V__COUNT, name, value, msg, msglen);
	}
	for (int i = 0; i < TMPL_V__COUNT; i++)
		if (strcmp(section, tmpl_val_name((enum tmpl_val)i)) == 0) {
			x->line[i] = line;
			return value_key(t, x, i, name, value, msg, msglen);
		}
	return kfail(msg, msglen,
	             "unknown section [%s] (template, identify, or a value such as "
	             "grid_power)%s",
	             section, "");
}

static pw_err
cfail(char *err, size_t errlen, const char *name, int line, const char *fmt, const char *a,
      const char *b)
{
	char m[200];
	snprintf(m, sizeof(m), fmt, a, b);
	snprintf(err, errlen, "%s:%d: %s", name, line, m);
	return PW_ERR_CONFIG;
}

/* The checks of one value section across its keys. */
static pw_err
check_value(const struct tmpl *t, const struct pctx *x, int vi, const char *fname, char *err,
            size_t errlen)
{
	bool ident = vi == TMPL_V__COUNT;
	const struct tmpl_value *v = ident ? &t->ident.v : &t->v[vi];
	const char *sec = ident ? "identify" : tmpl_val_name((enum tmpl_val)vi);
	unsigned k = x->keys[vi];
	int line = x->line[vi];
	uint16_t regs;

	if ((k & (K_FC | K_ADDR | K_TYPE)) != (K_FC | K_ADDR | K_TYPE))
		return cfail(err, errlen, fname, line, "[%s] needs fc, address and type%s", sec,
		             "");
	if (v->type == TMPL_STRING) {
		if (!(k & K_LENGTH))
			return cfail(err, errlen, fname, line, "[%s]: a string needs length%s", sec,
			             "");
		if (k & (K_SCALE | K_SCALE_ADDR | K_UNIT | K_WORDS_SET | K_EQUALS | K_MIN | K_MAX))
			return cfail(err, errlen, fname, line,
			             "[%s]: a string takes no scale, unit, word_order or number "
			             "checks%s",
			             sec, "");
		if (!ident && vi != TMPL_V_SERIAL)
			return cfail(err, errlen, fname, line, "[%s] cannot be a string%s", sec,
			             "");
	} else {
		if (k & (K_LENGTH | K_PREFIX))
			return cfail(err, errlen, fname, line,
			             "[%s]: length and prefix are for strings only%s", sec, "");
	}
	if ((k & K_SCALE) && (k & K_SCALE_ADDR))
		return cfail(err, errlen, fname, line,
		             "[%s]: scale and scale_address exclude each other%s", sec, "");
	if (v->type == TMPL_F32 && (k & K_SCALE_ADDR))
		return cfail(err, errlen, fname, line, "[%s]: a float32 takes a fixed scale only%s",
		             sec, "");
	regs = tmpl_value_regs(v);
	for (int i = 0; i < v->naddr; i++)
		if ((uint32_t)v->addr[i] + regs > 65536u)
			return cfail(err, errlen, fname, line,
			             "[%s]: the value runs past register 65535%s", sec, "");
	if (v->scale_reg) {
		/* the value and its exponent come in one request, as SunSpec's do */
		uint32_t lo = v->scale_addr < v->addr[0] ? v->scale_addr : v->addr[0];
		uint32_t hi = (uint32_t)v->addr[0] + regs > (uint32_t)v->scale_addr + 1u
		                  ? (uint32_t)v->addr[0] + regs
		                  : (uint32_t)v->scale_addr + 1u;
		if (v->naddr != 1 || hi - lo > TMPL_MAX_READ)
			return cfail(err, errlen, fname, line,
			             "[%s]: scale_address must be within 125 registers of a single "
			             "address (one request)%s",
			             sec, "");
	}
	if (ident) {
		const struct tmpl_ident *d = &t->ident;
		if (v->type == TMPL_STRING ? false : !(k & (K_EQUALS | K_MIN | K_MAX)))
			return cfail(err, errlen, fname, line,
			             "[identify]: a number needs equals or min/max%s%s", "", "");
		if ((k & (K_MIN | K_MAX)) && (k & (K_MIN | K_MAX)) != (K_MIN | K_MAX))
			return cfail(err, errlen, fname, line, "[identify]: min needs max%s%s", "",
			             "");
		if (d->has_range && d->min > d->max)
			return cfail(err, errlen, fname, line, "[identify]: min above max%s%s", "",
			             "");
		if (k & K_SIGN)
			return cfail(err, errlen, fname, line, "[identify] takes no sign%s%s", "",
			             "");
		return PW_OK;
	}
	if (tmpl_is_power(vi)) {
		if (v->unit != TMPL_UNIT_W && v->unit != TMPL_UNIT_KW)
			return cfail(err, errlen, fname, line, "[%s] needs unit W or kW%s", sec,
			             "");
		if (v->type == TMPL_U64)
			return cfail(err, errlen, fname, line, "[%s]: a power is not a u64%s", sec,
			             "");
	} else if (tmpl_is_energy(vi)) {
		if (v->unit != TMPL_UNIT_WH && v->unit != TMPL_UNIT_KWH)
			return cfail(err, errlen, fname, line, "[%s] needs unit Wh or kWh%s", sec,
			             "");
	} else if (vi == TMPL_V_BATTERY_CAPACITY) {
		if (v->unit != TMPL_UNIT_WH && v->unit != TMPL_UNIT_KWH)
			return cfail(err, errlen, fname, line, "[%s] needs unit Wh or kWh%s", sec,
			             "");
	} else if (vi == TMPL_V_BATTERY_SOC || vi == TMPL_V_BATTERY_SOH) {
		if (v->unit != TMPL_UNIT_PCT)
			return cfail(err, errlen, fname, line, "[%s] needs unit %%%s", sec, "");
	} else if (vi == TMPL_V_SERIAL) {
		if (v->type != TMPL_STRING && v->type != TMPL_U32 && v->type != TMPL_U16 &&
		    v->type != TMPL_U64)
			return cfail(err, errlen, fname, line,
			             "[serial] is a string or an unsigned number%s%s", "", "");
		if (k & (K_SCALE | K_SCALE_ADDR | K_UNIT))
			return cfail(err, errlen, fname, line,
			             "[serial] takes no scale or unit%s%s", "", "");
	}
	if ((k & K_SIGN) && vi != TMPL_V_GRID_POWER && vi != TMPL_V_BATTERY_POWER)
		return cfail(err, errlen, fname, line, "[%s] takes no sign%s", sec, "");
	return PW_OK;
}

static pw_err
check_all(struct tmpl *t, struct pctx *x, const char *fname, const char *expect, char *err,
          size_t errlen)
{
	pw_err rc;
	int tl = x->tline;
	const struct tmpl_value *v = t->v;

	if ((x->tkeys & (T_NAME | T_MANUAL | T_ROLE)) != (T_NAME | T_MANUAL | T_ROLE))
		return cfail(err, errlen, fname, tl,
		             "[template] needs name, role and manual (the public register map it "
		             "follows)%s%s",
		             "", "");
	if (expect != NULL && strcmp(t->name, expect) != 0)
		return cfail(err, errlen, fname, tl, "[template] name %s: the file is for %s",
		             t->name, expect);
	/* the template's word order applies to every value that does not set its own */
	for (int i = 0; i <= TMPL_V__COUNT; i++) {
		struct tmpl_value *w = i == TMPL_V__COUNT ? &t->ident.v : &t->v[i];
		if (w->present && !(x->keys[i] & K_WORDS_SET))
			w->little = t->little;
		if (w->present && !(x->keys[i] & K_UNIT_ID))
			w->unit_id = -1;
	}
	for (int i = 0; i <= TMPL_V__COUNT; i++) {
		bool present = i == TMPL_V__COUNT ? t->ident.present : t->v[i].present;
		if (present && (rc = check_value(t, x, i, fname, err, errlen)) != PW_OK)
			return rc;
	}
	if (v[TMPL_V_GRID_POWER].present &&
	    (v[TMPL_V_GRID_POWER_IMPORT].present || v[TMPL_V_GRID_POWER_EXPORT].present))
		return cfail(err, errlen, fname, tl,
		             "grid_power excludes grid_power_import and grid_power_export%s%s", "",
		             "");
	if (v[TMPL_V_GRID_POWER_IMPORT].present != v[TMPL_V_GRID_POWER_EXPORT].present)
		return cfail(err, errlen, fname, tl,
		             "grid_power_import and grid_power_export come together%s%s", "", "");
	if ((t->roles & TMPL_ROLE_METER) &&
	    (!v[TMPL_V_EXPORT_ENERGY].present || !v[TMPL_V_IMPORT_ENERGY].present))
		return cfail(err, errlen, fname, tl,
		             "role %s needs [export_energy] and [import_energy] (only the "
		             "registers settle money)%s",
		             "meter", "");
	if ((t->roles & TMPL_ROLE_INVERTER) && !v[TMPL_V_PV_POWER].present)
		return cfail(err, errlen, fname, tl, "role %s needs [pv_power]%s", "inverter", "");
	if (!(t->roles & TMPL_ROLE_METER) &&
	    (v[TMPL_V_EXPORT_ENERGY].present || v[TMPL_V_IMPORT_ENERGY].present ||
	     v[TMPL_V_GRID_POWER].present || v[TMPL_V_GRID_POWER_IMPORT].present))
		return cfail(err, errlen, fname, tl,
		             "grid values need role meter or inverter+meter%s%s", "", "");
	return PW_OK;
}

pw_err
tmpl_parse(const char *name, const char *buf, size_t len, const char *expect_name, struct tmpl *t,
           char *err, size_t errlen)
{
	struct tmpl tmp;
	struct pctx x;
	pw_err rc;

	if (len > TMPL_FILE_MAX) {
		snprintf(err, errlen, "%s:0: longer than %d bytes", name, TMPL_FILE_MAX);
		return PW_ERR_CONFIG;
	}
	memset(&tmp, 0, sizeof(tmp));
	memset(&x, 0, sizeof(x));
	tmp.unit_id = 1;
	rc = pw_config_load_buffer(name, buf, len, NULL, 0, &tmp, sizeof(tmp), extra, &x, NULL, err,
	                           errlen);
	if (rc != PW_OK)
		return rc == PW_ERR_NOMEM ? rc : PW_ERR_CONFIG;
	if ((rc = check_all(&tmp, &x, name, expect_name, err, errlen)) != PW_OK)
		return rc;
	*t = tmp;
	return PW_OK;
}

/* --- search -------------------------------------------------------------------------- */

const char *
tmpl_default_path(char *buf, size_t cap)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;
	int w;

	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash != NULL) {
			*slash = '\0';
			w = snprintf(buf, cap, "%s/../share/peerwatt/templates:templates", exe);
			if (w > 0 && (size_t)w < cap)
				return buf;
		}
	}
	snprintf(buf, cap, "%s", "/usr/local/share/peerwatt/templates:templates");
	return buf;
}

/* Split path into at most TMPL_DIRS_MAX folders. */
static size_t
split_path(const char *path, char dirs[][256])
{
	size_t n = 0;
	const char *p = path;

	while (*p != '\0' && n < TMPL_DIRS_MAX) {
		const char *c = strchr(p, ':');
		size_t l = c != NULL ? (size_t)(c - p) : strlen(p);
		if (l > 0 && l < 256) {
			memcpy(dirs[n], p, l);
			dirs[n][l] = '\0';
			n++;
		}
		p += l;
		if (*p == ':')
			p++;
	}
	return n;
}

static pw_err
read_file(const char *file, char *buf, size_t max, size_t *len)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;
	size_t got = 0;

	if (fd < 0)
		return errno == ENOENT ? PW_ERR_NOTFOUND : PW_ERR_IO;
	for (;;) {
		n = read(fd, buf + got, max + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got > max)
			break;
	}
	close(fd);
	if (n < 0)
		return PW_ERR_IO;
	if (got > max)
		return PW_ERR_FULL;
	*len = got;
	return PW_OK;
}

pw_err
tmpl_load(const char *path, const char *name, struct tmpl *t, char *err, size_t errlen)
{
	char dirs[TMPL_DIRS_MAX][256], file[300];
	static const size_t cap = TMPL_FILE_MAX;
	char *buf;
	size_t nd, len;
	pw_err rc = PW_ERR_NOTFOUND;

	if (!tmpl_name_ok(name)) {
		snprintf(err, errlen, "template \"%.40s\": not a template name (a-z, 0-9, '-')",
		         name);
		return PW_ERR_ARG;
	}
	nd = split_path(path, dirs);
	if (nd == 0) {
		snprintf(err, errlen, "template %s: empty search path", name);
		return PW_ERR_ARG;
	}
	if ((buf = malloc(cap + 1)) == NULL)
		return PW_ERR_NOMEM;
	for (size_t i = 0; i < nd; i++) {
		snprintf(file, sizeof(file), "%s/%s.ini", dirs[i], name);
		rc = read_file(file, buf, cap, &len);
		if (rc == PW_ERR_NOTFOUND)
			continue;
		if (rc == PW_ERR_FULL)
			snprintf(err, errlen, "%s:0: longer than %d bytes", file, TMPL_FILE_MAX);
		else if (rc != PW_OK)
			snprintf(err, errlen, "%s:0: cannot read: %s", file, strerror(errno));
		else
			rc = tmpl_parse(file, buf, len, name, t, err, errlen);
		free(buf);
		return rc == PW_ERR_FULL || rc == PW_ERR_IO ? PW_ERR_CONFIG : rc;
	}
	free(buf);
	snprintf(err, errlen, "template %s: no %s.ini in %s", name, name, path);
	return PW_ERR_NOTFOUND;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

size_t
tmpl_list(const char *path, char names[][TMPL_NAME_MAX + 1], size_t max)
{
	char dirs[TMPL_DIRS_MAX][256];
	size_t nd = split_path(path, dirs), n = 0;

	for (size_t i = 0; i < nd && n < max; i++) {
		DIR *d = opendir(dirs[i]);
		struct dirent *e;
		if (d == NULL)
			continue;
		while ((e = readdir(d)) != NULL && n < max) {
			size_t l = strlen(e->d_name);
			char nm[TMPL_NAME_MAX + 1];
			bool dup = false;
			if (l < 5 || l - 4 > TMPL_NAME_MAX ||
			    strcmp(e->d_name + l - 4, ".ini") != 0)
				continue;
			memcpy(nm, e->d_name, l - 4);
			nm[l - 4] = '\0';
			if (!tmpl_name_ok(nm))
				continue;
			for (size_t k = 0; k < n; k++)
				if (strcmp(names[k], nm) == 0)
					dup = true;
			if (!dup)
				memcpy(names[n++], nm, l - 3);
		}
		closedir(d);
	}
	qsort(names, n, sizeof(names[0]), cmp_name);
	return n;
}
