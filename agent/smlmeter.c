/*
 * smlmeter.c: SML transport assembler, frame checker and register extraction
 * over libsml (see smlmeter.h).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sml/sml_crc16.h>
#include <sml/sml_message.h>
#include <sml/sml_shared.h>

#include "agent/smlmeter.h"

static const uint8_t start_seq[8] = { 0x1b, 0x1b, 0x1b, 0x1b, 0x01, 0x01, 0x01, 0x01 };
static const uint8_t esc4[4] = { 0x1b, 0x1b, 0x1b, 0x1b };

enum { HUNT = 0, BODY = 1, ESC = 2 };

#define SML_UNIT_W  27
#define SML_UNIT_WH 30

/* --- transport assembler -------------------------------------------------------- */

void
smlm_asm_init(struct smlm_asm *a)
{
	a->state = HUNT;
	a->hunt = 0;
	a->len = 0;
	a->esc_at = 0;
}

static void
begin(struct smlm_asm *a)
{
	memcpy(a->buf, start_seq, sizeof(start_seq));
	a->len = sizeof(start_seq);
	a->state = BODY;
	a->hunt = 0;
}

/* Advance the rolling match of the start sequence by one byte. */
static int
hunt_step(int hunt, uint8_t c)
{
	if (c == start_seq[hunt])
		return hunt + 1;
	/* five 1B in a row: the last four may still start the sequence */
	if (c == 0x1b)
		return hunt == 4 ? 4 : 1;
	return 0;
}

enum smlm_event
smlm_asm_feed(struct smlm_asm *a, uint8_t c)
{
	a->hunt = hunt_step(a->hunt, c);
	if (a->state == HUNT) {
		if (a->hunt == (int)sizeof(start_seq))
			begin(a);
		return SMLM_NONE;
	}
	if (a->hunt == (int)sizeof(start_seq)) {
		/*
		 * A start sequence inside a transmission, aligned or not: the
		 * previous one was cut short.  Watching every byte (not only the
		 * 4-byte groups) resynchronises at once after a lost byte.
		 */
		begin(a);
		return SMLM_TRUNCATED;
	}
	if (a->len >= sizeof(a->buf)) {
		smlm_asm_init(a);
		return SMLM_OVERFLOW;
	}
	a->buf[a->len++] = c;
	if (a->len % 4 != 0)
		return SMLM_NONE;
	if (a->state == BODY) {
		if (memcmp(a->buf + a->len - 4, esc4, 4) == 0) {
			a->state = ESC;
			a->esc_at = a->len;
		}
		return SMLM_NONE;
	}
	/* the group after an escape */
	a->state = BODY;
	if (memcmp(a->buf + a->esc_at, esc4, 4) == 0) {
		a->hunt = 0; /* escaped data: 1B1B1B1B 01010101 after it is data too */
		return SMLM_NONE;
	}
	if (a->buf[a->esc_at] == 0x1a) {
		a->state = HUNT;
		a->hunt = 0;
		return SMLM_FRAME;
	}
	smlm_asm_init(a);
	return SMLM_GARBLED;
}

/* --- frame checker -------------------------------------------------------------- */

uint16_t
smlm_crc16(const uint8_t *data, size_t n)
{
	/* libsml returns the X-25 CRC byte-swapped, i.e. as the wire's first byte << 8 */
	return sml_crc16_calculate((unsigned char *)data, (int)n);
}

/* One TL field at *pos: its type (0x00, 0x40, 0x50, 0x60, 0x70), its length
 * nibbles and the TL's own size. */
static pw_err
read_tl(const uint8_t *b, size_t n, size_t pos, unsigned *type, size_t *len, size_t *ntl)
{
	uint8_t c = b[pos];

	*type = c & 0x70u;
	*len = c & 0x0fu;
	*ntl = 1;
	while (c & 0x80u) {
		if (*ntl >= 4 || pos + *ntl >= n)
			return PW_ERR_LENGTH;
		c = b[pos + *ntl];
		if ((c & 0x70u) != 0)
			return PW_ERR_PARSE; /* a continuation TL byte carries no type */
		*len = (*len << 4) | (c & 0x0fu);
		(*ntl)++;
	}
	return PW_OK;
}

/* Walk one element (recursively for lists), keeping inside [0, n). */
static pw_err
walk(const uint8_t *b, size_t n, size_t *pos, int depth)
{
	unsigned type;
	size_t len, ntl, data;
	pw_err rc;

	if (*pos >= n)
		return PW_ERR_LENGTH;
	if ((rc = read_tl(b, n, *pos, &type, &len, &ntl)) != PW_OK)
		return rc;
	if (type == 0x70) {
		if (depth >= SMLM_DEPTH_MAX)
			return PW_ERR_PARSE;
		*pos += ntl;
		if (len > n - *pos)
			return PW_ERR_LENGTH; /* every element takes at least one byte */
		for (size_t i = 0; i < len; i++)
			if ((rc = walk(b, n, pos, depth + 1)) != PW_OK)
				return rc;
		return PW_OK;
	}
	if (len < ntl)
		return PW_ERR_PARSE; /* 0x00 (end of message) or a TL longer than its field */
	data = len - ntl;
	switch (type) {
	case 0x00: /* octet string; 0x01 is "optional, absent" */
		break;
	case 0x40: /* boolean */
		if (data != 1)
			return PW_ERR_PARSE;
		break;
	case 0x50: /* integer */
	case 0x60: /* unsigned */
		if (data < 1 || data > 8 || ntl != 1)
			return PW_ERR_PARSE;
		break;
	default:
		return PW_ERR_PARSE;
	}
	if (len > n - *pos)
		return PW_ERR_LENGTH;
	*pos += len;
	return PW_OK;
}

/* --- the shape libsml 2018 accepts ----------------------------------------------- */

/*
 * Debian's libsml (2018) leaks what it allocated when it refuses a message,
 * and leaks a timestamp sent as a list even when it accepts one.  A meter
 * whose every message it refuses would leak with every transmission, so a
 * message goes to libsml only when it has the shape libsml takes: these
 * checks mirror its parse functions (sml_message_parse,
 * sml_get_list_response_parse, sml_list_entry_parse, sml_time_parse) field
 * by field.  They run on a message that walk() already kept in bounds.
 */
static bool
f_skip(const uint8_t *b, size_t *p)
{
	if (b[*p] != 0x01)
		return false;
	(*p)++;
	return true;
}

/* A field of `type` (0x00 octet, 0x50 int, 0x60 uint) with at most maxbytes of data. */
static bool
f_scalar(const uint8_t *b, size_t n, size_t *p, unsigned type, size_t maxbytes, bool optional)
{
	unsigned t;
	size_t len, ntl;

	if (optional && f_skip(b, p))
		return true;
	if (read_tl(b, n, *p, &t, &len, &ntl) != PW_OK || t != type || len < ntl ||
	    len - ntl > maxbytes)
		return false;
	return walk(b, n, p, 0) == PW_OK;
}

static bool
f_list(const uint8_t *b, size_t n, size_t *p, size_t *count)
{
	unsigned t;
	size_t len, ntl;

	if (read_tl(b, n, *p, &t, &len, &ntl) != PW_OK || t != 0x70)
		return false;
	*count = len;
	*p += ntl;
	return true;
}

/* SML_Time: optional, or a list of 2: tag (u8) and seconds (u32). */
static bool
f_time(const uint8_t *b, size_t n, size_t *p)
{
	size_t k;

	if (f_skip(b, p))
		return true;
	return f_list(b, n, p, &k) && k == 2 && f_scalar(b, n, p, 0x60, 1, false) &&
	       f_scalar(b, n, p, 0x60, 4, false);
}

/* SML_Value: optional, octet string, boolean, integer or unsigned (walk() bounds them). */
static bool
f_value(const uint8_t *b, size_t n, size_t *p)
{
	unsigned t;
	size_t len, ntl;

	if (f_skip(b, p))
		return true;
	if (read_tl(b, n, *p, &t, &len, &ntl) != PW_OK || t == 0x70)
		return false;
	return walk(b, n, p, 0) == PW_OK;
}

static bool
f_entry(const uint8_t *b, size_t n, size_t *p)
{
	size_t k;

	return f_list(b, n, p, &k) && k == 7 && f_scalar(b, n, p, 0x00, SIZE_MAX, true) &&
	       f_scalar(b, n, p, 0x60, 8, true) && f_time(b, n, p) &&
	       f_scalar(b, n, p, 0x60, 1, true) && f_scalar(b, n, p, 0x50, 1, true) &&
	       f_value(b, n, p) && f_scalar(b, n, p, 0x00, SIZE_MAX, true);
}

/*
 * The message's tag into *tag; for a GetListResponse, true only when libsml
 * can take the whole message.  Other messages are not decoded at all.
 */
static bool
shape_ok(const uint8_t *b, size_t n, uint32_t *tag, const char **bad)
{
	size_t p = 0, k, nent;
	unsigned t;
	size_t len, ntl;

	*tag = 0;
	*bad = "message header";
	if (!f_list(b, n, &p, &k) || k != 6 || !f_scalar(b, n, &p, 0x00, SIZE_MAX, true) ||
	    !f_scalar(b, n, &p, 0x60, 1, true) || !f_scalar(b, n, &p, 0x60, 1, true) ||
	    !f_list(b, n, &p, &k) || k != 2)
		return false;
	if (read_tl(b, n, p, &t, &len, &ntl) != PW_OK || t != 0x60 || len < ntl + 1 ||
	    len - ntl > 4)
		return false;
	for (size_t i = ntl; i < len; i++)
		*tag = *tag << 8 | b[p + i];
	p += len;
	if (*tag != SML_MESSAGE_GET_LIST_RESPONSE)
		return true;
	*bad = "GetListResponse header";
	if (!f_list(b, n, &p, &k) || k != 7 || !f_scalar(b, n, &p, 0x00, SIZE_MAX, true) ||
	    !f_scalar(b, n, &p, 0x00, SIZE_MAX, true) ||
	    !f_scalar(b, n, &p, 0x00, SIZE_MAX, true) || !f_time(b, n, &p))
		return false;
	*bad = "value list entry";
	if (!f_skip(b, &p)) {
		if (!f_list(b, n, &p, &nent))
			return false;
		for (size_t i = 0; i < nent; i++)
			if (!f_entry(b, n, &p))
				return false;
	}
	*bad = "GetListResponse trailer";
	return f_scalar(b, n, &p, 0x00, SIZE_MAX, true) && f_time(b, n, &p);
}

static pw_err
fail(pw_err rc, char *why, size_t whysz, const char *msg, size_t at)
{
	snprintf(why, whysz, "%s (byte %zu)", msg, at);
	return rc;
}

/* One message at body[*pos]: list of 6, CRC over everything before the CRC field. */
static pw_err
check_message(const uint8_t *b, size_t n, size_t *pos, char *why, size_t whysz)
{
	size_t start = *pos, p = *pos, crc_at;
	uint16_t sent, calc;
	pw_err rc;

	if (b[p] != 0x76)
		return fail(PW_ERR_PARSE, why, whysz, "message is not a list of 6", p);
	p++;
	for (int i = 0; i < 4; i++) {
		if ((rc = walk(b, n, &p, 1)) != PW_OK)
			return fail(rc, why, whysz,
			            rc == PW_ERR_LENGTH ? "TL field runs past the transmission"
			                                : "malformed TL field",
			            p);
	}
	crc_at = p;
	if (p + 1 >= n)
		return fail(PW_ERR_LENGTH, why, whysz, "message ends before its CRC", p);
	if (b[p] == 0x63 && p + 3 < n)
		sent = (uint16_t)(b[p + 1] << 8 | b[p + 2]);
	else if (b[p] == 0x62 && p + 2 < n)
		sent = b[p + 1]; /* a CRC whose first byte is 0, sent short */
	else
		return fail(PW_ERR_PARSE, why, whysz, "message CRC field is not unsigned16", p);
	p += (size_t)(b[p] & 0x0f);
	if (p >= n || b[p] != 0x00)
		return fail(PW_ERR_PARSE, why, whysz, "no end-of-message after the CRC", p);
	p++;
	calc = smlm_crc16(b + start, crc_at - start);
	if (calc != sent) {
		snprintf(why, whysz, "message CRC mismatch at byte %zu (sent %04X, computed %04X)",
		         start, sent, calc);
		return PW_ERR_CRC;
	}
	*pos = p;
	return PW_OK;
}

pw_err
smlm_check(const uint8_t *tx, size_t n, struct smlm_frame *f, char *why, size_t whysz)
{
	size_t pad, end, p;
	uint16_t sent, calc;
	pw_err rc;

	f->len = 0;
	f->nmsgs = 0;
	if (whysz > 0)
		why[0] = '\0';
	if (n < 16 || n % 4 != 0 || n > SMLM_FRAME_MAX) {
		snprintf(why, whysz, "transmission of %zu bytes", n);
		return PW_ERR_LENGTH;
	}
	if (memcmp(tx, start_seq, 8) != 0 || memcmp(tx + n - 8, esc4, 4) != 0 ||
	    tx[n - 4] != 0x1a) {
		snprintf(why, whysz, "no start or end sequence");
		return PW_ERR_PARSE;
	}
	sent = (uint16_t)(tx[n - 2] << 8 | tx[n - 1]);
	calc = smlm_crc16(tx, n - 2);
	if (sent != calc) {
		snprintf(why, whysz, "end CRC mismatch (sent %02X%02X, computed %04X)", tx[n - 2],
		         tx[n - 1], calc);
		return PW_ERR_CRC;
	}
	pad = tx[n - 3];
	if (pad > 3) {
		snprintf(why, whysz, "padding of %zu bytes", pad);
		return PW_ERR_PARSE;
	}
	/* unescape the 4-byte groups between the sequences */
	end = n - 8;
	for (p = 8; p < end; p += 4) {
		if (memcmp(tx + p, esc4, 4) == 0) {
			if (p + 8 > end || memcmp(tx + p + 4, esc4, 4) != 0) {
				snprintf(why, whysz, "unknown escape sequence at byte %zu", p);
				return PW_ERR_PARSE;
			}
			p += 4;
		}
		memcpy(f->body + f->len, tx + p, 4);
		f->len += 4;
	}
	if (pad > f->len) {
		snprintf(why, whysz, "padding longer than the data");
		return PW_ERR_PARSE;
	}
	for (size_t i = f->len - pad; i < f->len; i++) {
		if (f->body[i] != 0) {
			snprintf(why, whysz, "padding byte not zero");
			return PW_ERR_PARSE;
		}
	}
	f->len -= pad;
	/* every message, its TL walk and its CRC */
	p = 0;
	while (p < f->len) {
		if (f->body[p] == 0x00) {
			p++; /* fill between messages */
			continue;
		}
		if (f->nmsgs >= SMLM_MSGS_MAX) {
			snprintf(why, whysz, "more than %d messages", SMLM_MSGS_MAX);
			return PW_ERR_LENGTH;
		}
		f->msg_off[f->nmsgs] = p;
		if ((rc = check_message(f->body, f->len, &p, why, whysz)) != PW_OK)
			return rc;
		f->msg_len[f->nmsgs] = p - f->msg_off[f->nmsgs];
		f->nmsgs++;
	}
	if (f->nmsgs == 0) {
		snprintf(why, whysz, "no message");
		return PW_ERR_PARSE;
	}
	return PW_OK;
}

/* --- registers ------------------------------------------------------------------ */

enum reg {
	R_NONE = SMETER_OBIS_NONE,
	R_IMP = SMETER_OBIS_IMP,
	R_IMP_T = SMETER_OBIS_IMP_T,
	R_EXP = SMETER_OBIS_EXP,
	R_EXP_T = SMETER_OBIS_EXP_T,
	R_PNET = SMETER_OBIS_PNET,
	R_PIMP = SMETER_OBIS_PIMP,
	R_PEXP = SMETER_OBIS_PEXP,
	R__N = SMETER_OBIS__N
};

struct work {
	bool seen[R__N];
	bool seen_tariff[2][10];
	struct smeter_acc imp, exp, imp_sum, exp_sum;
	bool has_net, has_pimp, has_pexp;
	int64_t net_w, pimp_w, pexp_w;
	bool has_id;
};

static enum reg
classify(const octet_string *o, int *tariff)
{
	const unsigned char *v;

	*tariff = 0;
	if (o == NULL || o->len != 6 || o->str == NULL)
		return R_NONE;
	v = o->str;
	if (v[0] != 1 || v[1] != 0 || v[5] != 0xff)
		return R_NONE;
	return (enum reg)smeter_obis_cde(v[2], v[3], v[4], tariff);
}

/* An integer sml_value as int64; false for other types and uint64 above INT64_MAX. */
static bool
value_int(const sml_value *v, int64_t *out)
{
	if (v == NULL || v->data.uint8 == NULL)
		return false;
	switch (v->type) {
	case SML_TYPE_INTEGER | 1:
		*out = *v->data.int8;
		return true;
	case SML_TYPE_INTEGER | 2:
		*out = *v->data.int16;
		return true;
	case SML_TYPE_INTEGER | 4:
		*out = *v->data.int32;
		return true;
	case SML_TYPE_INTEGER | 8:
		*out = *v->data.int64;
		return true;
	case SML_TYPE_UNSIGNED | 1:
		*out = *v->data.uint8;
		return true;
	case SML_TYPE_UNSIGNED | 2:
		*out = *v->data.uint16;
		return true;
	case SML_TYPE_UNSIGNED | 4:
		*out = *v->data.uint32;
		return true;
	case SML_TYPE_UNSIGNED | 8:
		if (*v->data.uint64 > (uint64_t)INT64_MAX)
			return false;
		*out = (int64_t)*v->data.uint64;
		return true;
	default:
		return false;
	}
}

/* W from value * 10^scaler, rounded to the nearest W (away from zero at .5). */
static bool
to_watts(int64_t v, int scaler, int64_t *w)
{
	bool neg = v < 0;
	uint64_t m = neg ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;

	if (scaler > 0) {
		for (int k = 0; k < scaler; k++) {
			if (m > (uint64_t)INT64_MAX / 10)
				return false;
			m *= 10;
		}
	} else if (scaler < 0) {
		uint64_t d = 1;
		for (int k = 0; k < -scaler; k++)
			d *= 10;
		m = m / d + (m % d >= d / 2 + d % 2 ? 1 : 0);
	}
	if (m > (uint64_t)INT64_MAX)
		return false;
	*w = neg ? -(int64_t)m : (int64_t)m;
	return true;
}

static pw_err
take_entry(const sml_list *e, struct work *w, char *why, size_t whysz)
{
	int tariff, scaler;
	enum reg reg = classify(e->obj_name, &tariff);
	bool energy;
	int64_t v;
	const unsigned char *o;

	if (reg == R_NONE)
		return PW_OK;
	o = e->obj_name->str;
	if (reg == R_IMP_T || reg == R_EXP_T) {
		bool *seen = &w->seen_tariff[reg == R_EXP_T][tariff];
		if (*seen) {
			snprintf(why, whysz, "register 1-0:%u.8.%d twice", o[2], tariff);
			return PW_ERR_FIELD;
		}
		*seen = true;
	} else {
		if (w->seen[reg]) {
			snprintf(why, whysz, "register 1-0:%u.%u.%u twice", o[2], o[3], o[4]);
			return PW_ERR_FIELD;
		}
		w->seen[reg] = true;
	}
	energy = reg <= R_EXP_T;
	if (e->unit == NULL || *e->unit != (energy ? SML_UNIT_WH : SML_UNIT_W)) {
		snprintf(why, whysz, "register 1-0:%u.%u.%u: unit %d, not %s", o[2], o[3], o[4],
		         e->unit ? *e->unit : -1, energy ? "Wh (30)" : "W (27)");
		return PW_ERR_FIELD;
	}
	scaler = e->scaler ? *e->scaler : 0;
	if (scaler < -10 || scaler > 10) {
		snprintf(why, whysz, "register 1-0:%u.%u.%u: scaler %d", o[2], o[3], o[4], scaler);
		return PW_ERR_FIELD;
	}
	if (!value_int(e->value, &v)) {
		snprintf(why, whysz, "register 1-0:%u.%u.%u: not an integer", o[2], o[3], o[4]);
		return PW_ERR_FIELD;
	}
	if (energy) {
		struct smeter_acc a = { .has = true, .raw = (uint64_t)v, .sf = scaler };
		if (v < 0) {
			snprintf(why, whysz, "register 1-0:%u.8.%u: negative energy", o[2], o[4]);
			return PW_ERR_FIELD;
		}
		if (reg == R_IMP || reg == R_EXP) {
			*(reg == R_IMP ? &w->imp : &w->exp) = a;
			return PW_OK;
		}
		if (smeter_acc_add(reg == R_IMP_T ? &w->imp_sum : &w->exp_sum, &a) != PW_OK) {
			snprintf(why, whysz, "tariff sum overflows");
			return PW_ERR_OVERFLOW;
		}
		return PW_OK;
	}
	{
		int64_t pw;
		if (!to_watts(v, scaler, &pw) || ((reg == R_PIMP || reg == R_PEXP) && pw < 0)) {
			snprintf(why, whysz, "register 1-0:%u.7.0: power out of range", o[2]);
			return PW_ERR_FIELD;
		}
		if (reg == R_PNET) {
			w->has_net = true;
			w->net_w = pw;
		} else if (reg == R_PIMP) {
			w->has_pimp = true;
			w->pimp_w = pw;
		} else {
			w->has_pexp = true;
			w->pexp_w = pw;
		}
	}
	return PW_OK;
}

static void
set_id(const octet_string *id, struct smeter_reading *r)
{
	static const char hx[] = "0123456789abcdef";
	size_t k = 0;

	if (id == NULL || id->str == NULL || id->len <= 0)
		return;
	for (int i = 0; i < id->len && k + 2 < sizeof(r->serial); i++) {
		r->serial[k++] = hx[id->str[i] >> 4];
		r->serial[k++] = hx[id->str[i] & 15];
	}
	r->serial[k] = '\0';
}

/* libsml on one checked GetListResponse; its registers into w/r.  Other messages: skipped. */
static pw_err
decode_message(const uint8_t *m, size_t len, struct work *w, struct smeter_reading *r, char *why,
               size_t whysz)
{
	sml_buffer *buf;
	sml_message *msg;
	const char *bad;
	uint32_t tag;
	pw_err rc = PW_OK;

	if (!shape_ok(m, len, &tag, &bad)) {
		snprintf(why, whysz, "%s in a form Debian's libsml (2018) cannot decode", bad);
		return PW_ERR_PARSE;
	}
	if (tag != SML_MESSAGE_GET_LIST_RESPONSE)
		return PW_OK; /* open/close responses: nothing to read (their CRC held) */
	if (w->has_id) {
		snprintf(why, whysz, "more than one GetListResponse");
		return PW_ERR_FIELD;
	}
	/* one zero byte past the message: libsml peeks at the byte after the CRC */
	buf = sml_buffer_init(len + 1);
	if (buf == NULL || buf->buffer == NULL)
		return PW_ERR_NOMEM;
	memcpy(buf->buffer, m, len);
	buf->buffer_len = len;
	msg = sml_message_parse(buf);
	if (msg == NULL || sml_buf_has_errors(buf) || buf->cursor != len ||
	    msg->message_body == NULL || msg->message_body->tag == NULL ||
	    *msg->message_body->tag != SML_MESSAGE_GET_LIST_RESPONSE ||
	    msg->message_body->data == NULL) {
		snprintf(why, whysz, "libsml could not decode a message (%zu bytes)", len);
		rc = PW_ERR_PARSE;
		goto out;
	}
	{
		const sml_get_list_response *gl = msg->message_body->data;
		w->has_id = true;
		set_id(gl->server_id, r);
		for (const sml_list *e = gl->val_list; e != NULL && rc == PW_OK; e = e->next)
			rc = take_entry(e, w, why, whysz);
	}
out:
	if (msg != NULL)
		sml_message_free(msg);
	sml_buffer_free(buf);
	return rc;
}

pw_err
smlm_parse(const uint8_t *tx, size_t n, struct smeter_reading *r, char *why, size_t whysz)
{
	struct smlm_frame f;
	struct work w;
	pw_err rc;

	memset(r, 0, sizeof(*r));
	memset(&w, 0, sizeof(w));
	if ((rc = smlm_check(tx, n, &f, why, whysz)) != PW_OK)
		return rc;
	for (int i = 0; i < f.nmsgs; i++) {
		rc = decode_message(f.body + f.msg_off[i], f.msg_len[i], &w, r, why, whysz);
		if (rc != PW_OK)
			return rc;
	}
	r->imp = w.imp.has ? w.imp : w.imp_sum;
	r->exp = w.exp.has ? w.exp : w.exp_sum;
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
