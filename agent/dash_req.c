/*
 * dash_req.c: pure checks and parsers of dashboard requests (see
 * dash_req.h).  Every input here is attacker-controlled: lengths are bounded
 * by the caller (DASH_MAX_BODY) and every number is range-checked before it
 * reaches the agent.
 */
#include "agent/dash_req.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

static void dash_req__msg(char *msg, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
dash_req__msg(char *msg, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (msg == NULL || cap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, cap, fmt, ap);
	va_end(ap);
}

const char *
dash_req_mime(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
		{ ".json", "application/json" },
		{ ".txt", "text/plain; charset=utf-8" },
	};
	const char *dot = strrchr(path, '.');
	size_t i;

	if (dot == NULL || strchr(dot, '/') != NULL)
		return NULL;
	for (i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return NULL;
}

bool
dash_req_path_ok(const char *url)
{
	size_t i, n = strnlen(url, DASH_REQ_PATH_MAX);

	if (n < 2 || n >= DASH_REQ_PATH_MAX || url[0] != '/')
		return false;
	for (i = 0; i < n; i++) {
		char ch = url[i];
		bool okc = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		           (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-' ||
		           ch == '/';
		if (!okc)
			return false;
		/* No dotfiles, no "..", no empty segment. */
		if (ch == '/' && (url[i + 1] == '.' || url[i + 1] == '/'))
			return false;
	}
	return url[n - 1] != '/' && dash_req_mime(url) != NULL;
}

bool
dash_req_is_loopback(const char *addr)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, addr, &a6) == 1) {
		if (IN6_IS_ADDR_LOOPBACK(&a6))
			return true;
		if (IN6_IS_ADDR_V4MAPPED(&a6))
			return a6.s6_addr[12] == 127;
	}
	return false;
}

bool
dash_req_host_is_loopback(const char *host)
{
	char name[64];
	const char *end, *rest;
	size_t n;

	if (host == NULL)
		return false;
	if (host[0] == '[') {
		end = strchr(host, ']');
		if (end == NULL)
			return false;
		n = (size_t)(end - host - 1);
		rest = end + 1;
		if (n >= sizeof name)
			return false;
		memcpy(name, host + 1, n);
	} else {
		end = strchr(host, ':');
		n = end ? (size_t)(end - host) : strlen(host);
		rest = host + n;
		if (n >= sizeof name)
			return false;
		memcpy(name, host, n);
	}
	name[n] = '\0';
	/* Whatever follows the name is a port: ":digits" or nothing. */
	if (*rest == ':') {
		rest++;
		if (*rest == '\0' || strspn(rest, "0123456789") != strlen(rest) || strlen(rest) > 5)
			return false;
	} else if (*rest != '\0') {
		return false;
	}
	return strcasecmp(name, "localhost") == 0 || dash_req_is_loopback(name);
}

bool
dash_req_same_origin(const char *host, const char *origin, const char *referer)
{
	char want[300];
	size_t wn;
	int n;

	if (host == NULL || host[0] == '\0' || strpbrk(host, "/?#@ ") != NULL)
		return false;
	n = snprintf(want, sizeof want, "http://%s", host);
	if (n < 0 || (size_t)n >= sizeof want)
		return false;
	wn = (size_t)n;
	if (origin != NULL)
		return strcmp(origin, want) == 0 ||
		       (strncmp(origin, "https://", 8) == 0 && strcmp(origin + 8, host) == 0);
	if (referer != NULL)
		return strncmp(referer, want, wn) == 0 &&
		       (referer[wn] == '/' || referer[wn] == '\0');
	return false;
}

bool
dash_req_token_ok(const char *t)
{
	size_t n = strnlen(t, DASH_TOKEN_MAX + 1), i;

	if (n < DASH_TOKEN_MIN || n > DASH_TOKEN_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (t[i] <= ' ' || t[i] > '~' || t[i] == ';' || t[i] == ',')
			return false;
	return true;
}

/* Integer field in [lo, hi]; absent or null -> *present false when allowed. */
static pw_err
dash_req__u64(const json_t *o, const char *key, uint64_t lo, uint64_t hi, bool required,
              uint64_t *out, bool *present, char *msg, size_t cap)
{
	const json_t *v = json_object_get(o, key);
	json_int_t i;

	if (present != NULL)
		*present = false;
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return PW_OK;
		dash_req__msg(msg, cap, "%s is missing", key);
		return PW_ERR_ARG;
	}
	if (!json_is_integer(v)) {
		dash_req__msg(msg, cap, "%s must be a whole number", key);
		return PW_ERR_ARG;
	}
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i < lo || (uint64_t)i > hi) {
		dash_req__msg(msg, cap, "%s must be between %llu and %llu", key,
		              (unsigned long long)lo, (unsigned long long)hi);
		return PW_ERR_RANGE;
	}
	*out = (uint64_t)i;
	if (present != NULL)
		*present = true;
	return PW_OK;
}

/* Signed integer field in [lo, hi] (a price may be negative); required. */
static pw_err
dash_req__i64(const json_t *o, const char *key, int64_t lo, int64_t hi, int64_t *out, char *msg,
              size_t cap)
{
	const json_t *v = json_object_get(o, key);
	json_int_t i;

	if (v == NULL || json_is_null(v)) {
		dash_req__msg(msg, cap, "%s is missing", key);
		return PW_ERR_ARG;
	}
	if (!json_is_integer(v)) {
		dash_req__msg(msg, cap, "%s must be a whole number", key);
		return PW_ERR_ARG;
	}
	i = json_integer_value(v);
	if (i < lo || i > hi) {
		dash_req__msg(msg, cap, "%s must be between %lld and %lld", key, (long long)lo,
		              (long long)hi);
		return PW_ERR_RANGE;
	}
	*out = (int64_t)i;
	return PW_OK;
}

/* A JSON object from the body, or NULL with the reason in msg. */
static json_t *
dash_req__object(const char *body, size_t len, char *msg, size_t cap)
{
	json_error_t err;
	json_t *j;

	if (body == NULL || len == 0) {
		dash_req__msg(msg, cap, "empty request body");
		return NULL;
	}
	if (len > DASH_MAX_BODY) {
		dash_req__msg(msg, cap, "request body too large");
		return NULL;
	}
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
	if (j == NULL) {
		dash_req__msg(msg, cap, "malformed JSON: %s", err.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		dash_req__msg(msg, cap, "JSON body must be an object");
		return NULL;
	}
	return j;
}

/* Optional "KEY": "abs" | "feedin" | "retail" (what the price is measured
 * from, enum dash_price_base); absent: absolute. */
static pw_err
dash_req__base(const json_t *j, const char *key, uint8_t *out, char *msg, size_t cap)
{
	static const char *const names[] = { "abs", "feedin", "retail" };
	const json_t *v = json_object_get(j, key);

	*out = DASH_BASE_ABS;
	if (v == NULL)
		return PW_OK;
	if (json_is_string(v))
		for (uint8_t i = 0; i < 3; i++)
			if (strcmp(json_string_value(v), names[i]) == 0) {
				*out = i;
				return PW_OK;
			}
	snprintf(msg, cap, "%s must be \"abs\", \"feedin\" or \"retail\"", key);
	return PW_ERR_ARG;
}

pw_err
dash_req_bid(const char *body, size_t len, struct dash_bid *out, char *msg, size_t cap)
{
	struct dash_bid bid;
	uint64_t v;
	int64_t p;
	bool present;
	json_t *j;
	pw_err rc;

	j = dash_req__object(body, len, msg, cap);
	if (j == NULL)
		return PW_ERR_PARSE;
	memset(&bid, 0, sizeof bid);
	if ((rc = dash_req__u64(j, "qty_wh", 1, 1000000000ULL, true, &bid.qty_wh, NULL, msg,
	                        cap)) != PW_OK)
		goto out;
	if ((rc = dash_req__i64(j, "max_price_uper_kwh", -DASH_PRICE_MAX, DASH_PRICE_MAX, &p, msg,
	                        cap)) != PW_OK)
		goto out;
	bid.max_price_uper_kwh = (int32_t)p;
	if ((rc = dash_req__base(j, "price_base", &bid.price_base, msg, cap)) != PW_OK)
		goto out;
	if ((rc = dash_req__u64(j, "interval", 0, (uint64_t)INT64_MAX, false, &bid.interval, NULL,
	                        msg, cap)) != PW_OK)
		goto out;
	if ((rc = dash_req__u64(j, "intervals", 1, DASH_MAX_INTERVALS, false, &v, &present, msg,
	                        cap)) != PW_OK)
		goto out;
	bid.intervals = present ? (uint32_t)v : 1;
	*out = bid;
out:
	json_decref(j);
	return rc;
}

pw_err
dash_req_settings(const char *body, size_t len, struct dash_settings *out, bool *auto_sell_given,
                  char *msg, size_t cap)
{
	struct dash_settings s;
	const json_t *as;
	int64_t p;
	json_t *j;
	pw_err rc;

	j = dash_req__object(body, len, msg, cap);
	if (j == NULL)
		return PW_ERR_PARSE;
	memset(&s, 0, sizeof s);
	if ((rc = dash_req__i64(j, "min_price_uper_kwh", -DASH_PRICE_MAX, DASH_PRICE_MAX, &p, msg,
	                        cap)) != PW_OK)
		goto out;
	s.min_price_uper_kwh = (int32_t)p;
	if ((rc = dash_req__base(j, "min_price_base", &s.min_price_base, msg, cap)) != PW_OK)
		goto out;
	if ((rc = dash_req__u64(j, "reserve_wh", 0, 1000000000ULL, true, &s.reserve_wh, NULL, msg,
	                        cap)) != PW_OK)
		goto out;
	as = json_object_get(j, "auto_sell");
	if (as != NULL && !json_is_boolean(as)) {
		dash_req__msg(msg, cap, "auto_sell must be true or false");
		rc = PW_ERR_ARG;
		goto out;
	}
	s.auto_sell = as != NULL && json_is_true(as);
	*auto_sell_given = as != NULL;
	*out = s;
out:
	json_decref(j);
	return rc;
}

pw_err
dash_req_login(const char *body, size_t len, char *out, size_t cap, char *msg, size_t msgcap)
{
	const json_t *t;
	json_t *j;
	pw_err rc = PW_OK;

	j = dash_req__object(body, len, msg, msgcap);
	if (j == NULL)
		return PW_ERR_PARSE;
	t = json_object_get(j, "token");
	if (!json_is_string(t)) {
		dash_req__msg(msg, msgcap, "token must be a string");
		rc = PW_ERR_ARG;
	} else if (json_string_length(t) >= cap ||
	           strlen(json_string_value(t)) != json_string_length(t)) {
		dash_req__msg(msg, msgcap, "wrong token"); /* too long or with NUL: cannot match */
		rc = PW_ERR_RANGE;
	} else {
		memcpy(out, json_string_value(t), json_string_length(t) + 1);
	}
	json_decref(j);
	return rc;
}

pw_err
dash_req_seq(const char *text, uint64_t *seq, bool *cancel_suffix)
{
	unsigned long long v;
	char *end;

	if (*text < '0' || *text > '9')
		return PW_ERR_PARSE;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno != 0 || v > INT64_MAX)
		return PW_ERR_RANGE;
	if (*end == '\0')
		*cancel_suffix = false;
	else if (strcmp(end, "/cancel") == 0)
		*cancel_suffix = true;
	else
		return PW_ERR_PARSE;
	*seq = (uint64_t)v;
	return PW_OK;
}

bool
dash_req_accepts_gzip(const char *ae)
{
	char tok[32];
	size_t len = ae != NULL ? strnlen(ae, 1025) : 0;

	if (ae == NULL || len > 1024)
		return false; /* none, or beyond any sane header: plain */
	while (*ae != '\0') {
		size_t n = strcspn(ae, ",");
		const char *semi = memchr(ae, ';', n);
		size_t tn = semi != NULL ? (size_t)(semi - ae) : n, k = 0;
		bool zero = false;

		for (size_t j = 0; j < tn && k + 1 < sizeof tok; j++)
			if (ae[j] != ' ' && ae[j] != '\t')
				tok[k++] =
				    (char)(ae[j] >= 'A' && ae[j] <= 'Z' ? ae[j] + 32 : ae[j]);
		tok[k] = '\0';
		if (semi != NULL) {
			/* q=0, q=0.0, q=0.00, q=0.000 refuse it */
			const char *q = semi + 1;
			while (q < ae + n && (*q == ' ' || *q == '\t'))
				q++;
			if (q + 1 < ae + n && (q[0] == 'q' || q[0] == 'Q') && q[1] == '=') {
				q += 2;
				zero = *q == '0';
				for (q++; zero && q < ae + n && *q != ' '; q++)
					zero = *q == '.' || *q == '0';
			}
		}
		if ((strcmp(tok, "gzip") == 0 || strcmp(tok, "*") == 0) && !zero)
			return true;
		ae += n;
		if (*ae == ',')
			ae++;
	}
	return false;
}
