/*
 * registry.c: parsing and lookup of the household registry (registry.h).
 * Called by exchange/main.c (load, reload) and by the request path
 * (lookups by Ed25519 key, by Curve25519 key from ZAP, by id).
 */
#include "exchange/registry.h"
#include "rules/validate.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "peerwatt/log.h"

#define REGISTRY_LINE_MAX 1024
#define REGISTRY_FILE_MAX (64u << 20)

struct registry {
	struct household *h; /* file order */
	size_t n;
	size_t *by_pk;    /* indexes sorted by pk */
	size_t *by_curve; /* indexes sorted by curve_pk */
	size_t *by_id;    /* indexes sorted by id (strcmp): every request looks it up */
};

/* The key at `off`: 32 bytes, or a NUL-terminated string when off is the
 * id's offset. */
static int
key_cmp(const uint8_t *a, const uint8_t *b, size_t off)
{
	if (off == offsetof(struct household, id))
		return strcmp((const char *)a, (const char *)b);
	return memcmp(a, b, PW_PK_LEN);
}

/* qsort has no context argument and globals are banned: a small merge sort
 * of index arrays keyed by the key at `off` in each household. */
static void
sort_idx(size_t *idx, size_t n, const struct household *h, size_t off, size_t *tmp)
{
	if (n < 2)
		return;
	size_t mid = n / 2;
	sort_idx(idx, mid, h, off, tmp);
	sort_idx(idx + mid, n - mid, h, off, tmp);
	size_t i = 0, j = mid, k = 0;
	while (i < mid && j < n) {
		const uint8_t *a = (const uint8_t *)&h[idx[i]] + off;
		const uint8_t *b = (const uint8_t *)&h[idx[j]] + off;
		if (key_cmp(a, b, off) <= 0)
			tmp[k++] = idx[i++];
		else
			tmp[k++] = idx[j++];
	}
	while (i < mid)
		tmp[k++] = idx[i++];
	while (j < n)
		tmp[k++] = idx[j++];
	memcpy(idx, tmp, n * sizeof(*idx));
}

static const struct household *
find_sorted(const struct registry *r, const size_t *idx, size_t off, const uint8_t *key)
{
	size_t lo = 0, hi = r->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const uint8_t *k = (const uint8_t *)&r->h[idx[mid]] + off;
		int c = key_cmp(k, key, off);
		if (c == 0)
			return &r->h[idx[mid]];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static pw_err fail(char *err, size_t errlen, const char *name, size_t line, const char *fmt, ...)
    PW_PRINTF(5, 6);

static pw_err
fail(char *err, size_t errlen, const char *name, size_t line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err && errlen)
		snprintf(err, errlen, "%s:%zu: %s", name, line, msg);
	return PW_ERR_CONFIG;
}

/* Whole-string decimal integer in [min, max]. */
static int
parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
registry_token_ok(const char *s, size_t n)
{
	if (n == 0 || n >= REGISTRY_TOKEN_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

static int
serial_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > PW_SERIAL_LEN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return 0;
	return 1;
}

/* Split `line` (modified) into at most `max` blank-separated fields. */
static size_t
split(char *line, char **f, size_t max)
{
	size_t n = 0;
	char *p = line;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (n == max)
			return max + 1;
		f[n++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (*p)
			*p++ = '\0';
	}
	return n;
}

static pw_err
parse_line(const char *name, size_t lineno, char *line, struct household *h, char *err,
           size_t errlen)
{
	char *f[8];
	size_t n = split(line, f, 7);
	if (n != 7)
		return fail(err, errlen, name, lineno,
		            "expected 7 fields (id name pk-hex serial zone max_export_w "
		            "max_import_w), got %s",
		            n > 7 ? "more" : (n == 0 ? "none" : "fewer"));
	memset(h, 0, sizeof(*h));
	h->line = lineno;
	if (!registry_token_ok(f[0], strlen(f[0])))
		return fail(err, errlen, name, lineno, "bad household id '%.40s'", f[0]);
	if (!registry_token_ok(f[1], strlen(f[1])))
		return fail(err, errlen, name, lineno, "bad name '%.40s'", f[1]);
	if (!registry_token_ok(f[4], strlen(f[4])))
		return fail(err, errlen, name, lineno, "bad zone '%.40s'", f[4]);
	if (!serial_ok(f[3]))
		return fail(err, errlen, name, lineno, "bad meter serial (1..32 printable chars)");
	snprintf(h->id, sizeof(h->id), "%s", f[0]);
	snprintf(h->name, sizeof(h->name), "%s", f[1]);
	snprintf(h->zone, sizeof(h->zone), "%s", f[4]);
	snprintf(h->serial, sizeof(h->serial), "%s", f[3]);
	size_t binlen = 0;
	if (strlen(f[2]) != PW_PK_HEX_LEN ||
	    sodium_hex2bin(h->pk, sizeof(h->pk), f[2], PW_PK_HEX_LEN, NULL, &binlen, NULL) != 0 ||
	    binlen != PW_PK_LEN)
		return fail(err, errlen, name, lineno, "public key must be 64 hex digits");
	if (crypto_sign_ed25519_pk_to_curve25519(h->curve_pk, h->pk) != 0)
		return fail(err, errlen, name, lineno, "public key is not a valid Ed25519 point");
	if (parse_int(f[5], 0, REGISTRY_MAX_POWER_W, &h->max_export_w) != 0)
		return fail(err, errlen, name, lineno, "max_export_w must be an integer 0..%lld",
		            (long long)REGISTRY_MAX_POWER_W);
	if (parse_int(f[6], 0, REGISTRY_MAX_POWER_W, &h->max_import_w) != 0)
		return fail(err, errlen, name, lineno, "max_import_w must be an integer 0..%lld",
		            (long long)REGISTRY_MAX_POWER_W);
	return PW_OK;
}

void
registry_free(struct registry **rp)
{
	if (!rp || !*rp)
		return;
	free((*rp)->h);
	free((*rp)->by_pk);
	free((*rp)->by_curve);
	free((*rp)->by_id);
	free(*rp);
	*rp = NULL;
}

static pw_err
check_dups(const char *name, struct registry *r, char *err, size_t errlen)
{
	for (size_t i = 1; i < r->n; i++) {
		const struct household *a = &r->h[r->by_pk[i - 1]], *b = &r->h[r->by_pk[i]];
		if (memcmp(a->pk, b->pk, PW_PK_LEN) == 0) {
			size_t l = a->line > b->line ? a->line : b->line;
			return fail(err, errlen, name, l, "public key registered twice");
		}
	}
	return PW_OK;
}

static int
cmp_str_ptr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static pw_err
check_dup_strings(const char *name, struct registry *r, size_t off, const char *what, char *err,
                  size_t errlen)
{
	if (r->n < 2)
		return PW_OK;
	const char **v = calloc(r->n, sizeof(*v));
	if (!v)
		return PW_ERR_NOMEM;
	for (size_t i = 0; i < r->n; i++)
		v[i] = (const char *)&r->h[i] + off;
	qsort(v, r->n, sizeof(*v), cmp_str_ptr);
	for (size_t i = 1; i < r->n; i++) {
		if (strcmp(v[i - 1], v[i]) == 0) {
			/* report the later line of the two */
			const struct household *a =
			    (const struct household *)(const void *)(v[i - 1] - off);
			const struct household *b =
			    (const struct household *)(const void *)(v[i] - off);
			size_t l = a->line > b->line ? a->line : b->line;
			pw_err rc =
			    fail(err, errlen, name, l, "%s '%s' registered twice", what, v[i]);
			free(v);
			return rc;
		}
	}
	free(v);
	return PW_OK;
}

pw_err
registry_parse(const char *name, const char *text, struct registry **out, char *err, size_t errlen)
{
	struct registry *r = calloc(1, sizeof(*r));
	size_t cap = 0, lineno = 0;
	pw_err rc = PW_OK;
	const char *p = text;

	if (!r)
		return PW_ERR_NOMEM;
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char line[REGISTRY_LINE_MAX];
		lineno++;
		if (len >= sizeof(line)) {
			rc = fail(err, errlen, name, lineno, "line too long");
			goto out;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		p += len + (eol ? 1 : 0);
		if (len && line[len - 1] == '\r')
			line[len - 1] = '\0';
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *q = line;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q == '\0')
			continue;
		if (r->n == REGISTRY_MAX_HOUSEHOLDS) {
			rc = fail(err, errlen, name, lineno, "more than %d households",
			          REGISTRY_MAX_HOUSEHOLDS);
			goto out;
		}
		if (r->n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct household *nh = realloc(r->h, ncap * sizeof(*nh));
			if (!nh) {
				rc = PW_ERR_NOMEM;
				goto out;
			}
			r->h = nh;
			cap = ncap;
		}
		if ((rc = parse_line(name, lineno, q, &r->h[r->n], err, errlen)) != PW_OK)
			goto out;
		r->n++;
	}
	r->by_pk = calloc(r->n + 1, sizeof(size_t));
	r->by_curve = calloc(r->n + 1, sizeof(size_t));
	r->by_id = calloc(r->n + 1, sizeof(size_t));
	size_t *tmp = calloc(r->n + 1, sizeof(size_t));
	if (!r->by_pk || !r->by_curve || !r->by_id || !tmp) {
		free(tmp);
		rc = PW_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < r->n; i++) {
		r->by_pk[i] = r->by_curve[i] = r->by_id[i] = i;
		r->h[i].index = i;
	}
	sort_idx(r->by_pk, r->n, r->h, offsetof(struct household, pk), tmp);
	sort_idx(r->by_curve, r->n, r->h, offsetof(struct household, curve_pk), tmp);
	sort_idx(r->by_id, r->n, r->h, offsetof(struct household, id), tmp);
	free(tmp);
	if ((rc = check_dups(name, r, err, errlen)) != PW_OK)
		goto out;
	if ((rc = check_dup_strings(name, r, offsetof(struct household, id), "household id", err,
	                            errlen)) != PW_OK)
		goto out;
	if ((rc = check_dup_strings(name, r, offsetof(struct household, serial), "meter serial",
	                            err, errlen)) != PW_OK)
		goto out;
	*out = r;
	return PW_OK;
out:
	registry_free(&r);
	return rc;
}

pw_err
registry_load(const char *path, struct registry **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		if (err && errlen)
			snprintf(err, errlen, "%s:0: cannot open: %s", path, strerror(errno));
		return PW_ERR_IO;
	}
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	pw_err rc = PW_OK;
	if (!buf) {
		fclose(f);
		return PW_ERR_NOMEM;
	}
	for (;;) {
		if (len + 1 >= cap) {
			if (cap >= REGISTRY_FILE_MAX) {
				rc = fail(err, errlen, path, 0, "file larger than %u bytes",
				          REGISTRY_FILE_MAX);
				goto out;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				rc = PW_ERR_NOMEM;
				goto out;
			}
			buf = nb;
			cap *= 2;
		}
		size_t got = fread(buf + len, 1, cap - 1 - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		if (err && errlen)
			snprintf(err, errlen, "%s:0: read error", path);
		rc = PW_ERR_IO;
		goto out;
	}
	buf[len] = '\0';
	if (memchr(buf, '\0', len)) {
		rc = fail(err, errlen, path, 0, "file contains a NUL byte");
		goto out;
	}
	rc = registry_parse(path, buf, out, err, errlen);
out:
	free(buf);
	fclose(f);
	return rc;
}

size_t
registry_count(const struct registry *r)
{
	return r ? r->n : 0;
}

const struct household *
registry_at(const struct registry *r, size_t i)
{
	return (r && i < r->n) ? &r->h[i] : NULL;
}

const struct household *
registry_find_pk(const struct registry *r, const uint8_t pk[PW_PK_LEN])
{
	if (!r || r->n == 0)
		return NULL;
	return find_sorted(r, r->by_pk, offsetof(struct household, pk), pk);
}

const struct household *
registry_find_curve(const struct registry *r, const uint8_t curve_pk[PW_CURVE_LEN])
{
	if (!r || r->n == 0)
		return NULL;
	return find_sorted(r, r->by_curve, offsetof(struct household, curve_pk), curve_pk);
}

const struct household *
registry_find_id(const struct registry *r, const char *id)
{
	/* a binary search: the request path looks up every frame's ZAP id */
	if (!r || r->n == 0)
		return NULL;
	return find_sorted(r, r->by_id, offsetof(struct household, id), (const uint8_t *)id);
}

uint64_t
registry_capacity_wh(const struct household *h, uint8_t side, int64_t interval_s)
{
	/* the one capacity rule, shared with the audit */
	return validate_capacity_wh(side == PW_SIDE_SELL ? h->max_export_w : h->max_import_w,
	                            interval_s);
}
