/*
 * config.c: INI files read through a table of typed options (see
 * include/peerwatt/config.h).  Owns the reading of a configuration file into
 * a caller's struct; called by every program's config module (xconfig,
 * aconfig) at start and on SIGHUP, and by pw_parse_i64 users for argv.
 *
 * inih does the lexing; this file feeds it one line at a time through its
 * own reader so that it knows the line number of every handler call (the
 * Debian inih is built without INI_HANDLER_LINENO), rejects what inih would
 * silently mangle (over-long lines split in two, NUL bytes, continuation
 * lines), and keeps only the first error.  No state outside the call.
 */
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "peerwatt/config.h"
#include "peerwatt/money.h"

/* One parse: the source text, where the reader is, and the first error. */
struct cfg_run {
	const char *name; /* file name for messages */
	const char *buf;
	size_t len, pos;
	int line;     /* number of the line last handed to inih */
	int err_line; /* first error's line, 0 = none yet */
	char msg[PW_CFG_ERRLEN];
	pw_err rc;
	const struct pw_cfg_opt *opts;
	size_t nopts;
	int *seen;    /* per option: the line it was given on, 0 = not given */
	void *target; /* the scratch copy being filled */
	pw_cfg_extra_fn extra;
	void *ctx;
};

static void cfg_fail(struct cfg_run *r, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Keep the first error only: later ones are often consequences of it. */
static void
cfg_fail(struct cfg_run *r, int line, const char *fmt, ...)
{
	va_list ap;
	if (r->err_line != 0)
		return;
	r->err_line = line;
	r->rc = PW_ERR_CONFIG;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof r->msg, fmt, ap);
	va_end(ap);
}

pw_err
pw_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	if (s == NULL || out == NULL)
		return PW_ERR_ARG;
	/* strtoll would skip leading blanks and accept "0x" in base 0: neither */
	const char *p = s;
	if (*p == '-' || *p == '+')
		p++;
	if (*p < '0' || *p > '9')
		return PW_ERR_PARSE;
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (end == s || *end != '\0')
		return PW_ERR_PARSE;
	if (errno == ERANGE || v < min || v > max)
		return PW_ERR_RANGE;
	*out = (int64_t)v;
	return PW_OK;
}

static int
cfg_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Convert `value` for option `o` into `dst` (inside the scratch target).
 * On failure write a message naming the key and what is allowed.
 */
static int
cfg_convert(const struct pw_cfg_opt *o, const char *value, void *dst, char *msg, size_t msglen)
{
	int64_t v;
	pw_err rc;
	char lo[32], hi[32];

	switch (o->type) {
	case PW_CFG_INT:
		rc = pw_parse_i64(value, o->min, o->max, &v);
		if (rc != PW_OK) {
			snprintf(msg, msglen, "%s: '%.40s' is %s; allowed: integer in [%lld, %lld]",
			         o->name, value,
			         rc == PW_ERR_RANGE ? "out of range" : "not an integer",
			         (long long)o->min, (long long)o->max);
			return -1;
		}
		memcpy(dst, &v, sizeof v);
		return 0;
	case PW_CFG_MONEY:
		rc = pw_money_parse(value, &v);
		if (rc == PW_OK && (v < o->min || v > o->max))
			rc = PW_ERR_RANGE;
		if (rc != PW_OK) {
			pw_money_format(o->min, lo, sizeof lo);
			pw_money_format(o->max, hi, sizeof hi);
			snprintf(
			    msg, msglen,
			    "%s: '%.40s' is %s; allowed: decimal amount (at most 6 decimals) in "
			    "[%s, %s]",
			    o->name, value, rc == PW_ERR_RANGE ? "out of range" : "not an amount",
			    lo, hi);
			return -1;
		}
		memcpy(dst, &v, sizeof v);
		return 0;
	case PW_CFG_BOOL: {
		static const char *const yes[] = { "yes", "true", "on", "1" };
		static const char *const no[] = { "no", "false", "off", "0" };
		for (size_t i = 0; i < 4; i++) {
			int b = -1;
			if (strcmp(value, yes[i]) == 0)
				b = 1;
			else if (strcmp(value, no[i]) == 0)
				b = 0;
			if (b >= 0) {
				memcpy(dst, &b, sizeof b);
				return 0;
			}
		}
		snprintf(msg, msglen,
		         "%s: '%.40s' is not a boolean; allowed: yes/no/true/false/on/off/1/0",
		         o->name, value);
		return -1;
	}
	case PW_CFG_STR: {
		size_t n = strlen(value);
		if (n == 0 || n >= o->size) {
			snprintf(msg, msglen, "%s: %s; allowed: 1 to %zu characters", o->name,
			         n == 0 ? "empty value" : "value too long", o->size - 1);
			return -1;
		}
		memcpy(dst, value, n + 1);
		return 0;
	}
	case PW_CFG_KEY: {
		uint8_t key[32];
		size_t n = strlen(value);
		int ok = n == 64;
		for (size_t i = 0; ok && i < 32; i++) {
			int h = cfg_hexval(value[2 * i]), l = cfg_hexval(value[2 * i + 1]);
			if (h < 0 || l < 0)
				ok = 0;
			else
				key[i] = (uint8_t)(h << 4 | l);
		}
		if (!ok) {
			snprintf(msg, msglen,
			         "%s: not a key; allowed: exactly 64 hex digits (32 bytes)",
			         o->name);
			return -1;
		}
		memcpy(dst, key, sizeof key);
		return 0;
	}
	}
	snprintf(msg, msglen, "%s: unknown option type", o->name);
	return -1;
}

/* A table entry the loader can use safely (a programming error otherwise). */
static int
cfg_opt_ok(const struct pw_cfg_opt *o, size_t target_size)
{
	if (o->section == NULL || o->name == NULL || o->offset > target_size ||
	    o->size > target_size - o->offset)
		return 0;
	switch (o->type) {
	case PW_CFG_INT:
	case PW_CFG_MONEY:
		return o->size == sizeof(int64_t) && o->min <= o->max;
	case PW_CFG_BOOL:
		return o->size == sizeof(int);
	case PW_CFG_STR:
		return o->size >= 2;
	case PW_CFG_KEY:
		return o->size == 32;
	}
	return 0;
}

static int
cfg_section_known_n(const struct cfg_run *r, const char *section, size_t len)
{
	for (size_t i = 0; i < r->nopts; i++)
		if (strlen(r->opts[i].section) == len &&
		    memcmp(r->opts[i].section, section, len) == 0)
			return 1;
	return 0;
}

/*
 * inih's reader: hand over one line per call, counting lines.  Leading
 * blanks are dropped so that an indented line is never read as the
 * continuation of the previous value (INI_ALLOW_MULTILINE is on in Debian).
 */
static char *
cfg_reader(char *str, int num, void *stream)
{
	struct cfg_run *r = stream;
	if (r->pos >= r->len || num < 4)
		return NULL;
	r->line++;
	const char *p = r->buf + r->pos;
	size_t rest = r->len - r->pos;
	const char *nl = memchr(p, '\n', rest);
	size_t n = nl != NULL ? (size_t)(nl - p) : rest;
	r->pos += n + (nl != NULL);
	if (n > 0 && p[n - 1] == '\r')
		n--;
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			cfg_fail(r, r->line, "control character 0x%02x in line", c);
			n = 0;
			break;
		}
	}
	/* room for the text, '\n' and '\0', minus one for inih's own margin */
	size_t max = (size_t)num - 3;
	if (max > PW_CFG_MAX_LINE)
		max = PW_CFG_MAX_LINE;
	if (n > max) {
		cfg_fail(r, r->line, "line longer than %zu characters", max);
		n = 0;
	}
	/* inih never calls the handler for a section without keys: catch a
	 * misspelt empty section here when no extra handler may claim it */
	if (n > 1 && p[0] == '[' && r->extra == NULL) {
		const char *close = memchr(p, ']', n);
		if (close != NULL) {
			size_t sl = (size_t)(close - p - 1);
			if (!cfg_section_known_n(r, p + 1, sl))
				cfg_fail(r, r->line, "unknown section [%.*s]",
				         (int)(sl > 60 ? 60 : sl), p + 1);
		}
	}
	memcpy(str, p, n);
	str[n] = '\n';
	str[n + 1] = '\0';
	return str;
}

static int
cfg_handler(void *user, const char *section, const char *name, const char *value)
{
	struct cfg_run *r = user;
	char msg[PW_CFG_ERRLEN];

	if (r->err_line != 0)
		return 0;
	for (size_t i = 0; i < r->nopts; i++) {
		const struct pw_cfg_opt *o = &r->opts[i];
		if (strcmp(o->section, section) != 0 || strcmp(o->name, name) != 0)
			continue;
		if (r->seen[i]) {
			cfg_fail(r, r->line, "%s: given twice in [%s]", name, section);
			return 0;
		}
		r->seen[i] = r->line;
		if (cfg_convert(o, value, (char *)r->target + o->offset, msg, sizeof msg) != 0) {
			cfg_fail(r, r->line, "%s", msg);
			return 0;
		}
		return 1;
	}
	if (r->extra != NULL) {
		msg[0] = '\0';
		pw_err rc =
		    r->extra(r->ctx, r->target, section, name, value, r->line, msg, sizeof msg);
		if (rc == PW_OK)
			return 1;
		if (msg[0] != '\0') {
			cfg_fail(r, r->line, "%s", msg);
			return 0;
		}
	}
	if (!cfg_section_known_n(r, section, strlen(section)))
		cfg_fail(r, r->line, "unknown section [%s] (key %s)", section, name);
	else
		cfg_fail(r, r->line, "unknown key %s in [%s]", name, section);
	return 0;
}

pw_err
pw_config_load_buffer(const char *name, const char *buf, size_t len, const struct pw_cfg_opt *opts,
                      size_t nopts, void *target, size_t target_size, pw_cfg_extra_fn extra,
                      void *ctx, int *lines, char *err, size_t errlen)
{
	char dummy[1];
	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof dummy;
	}
	err[0] = '\0';
	if (name == NULL || (buf == NULL && len > 0) || (opts == NULL && nopts > 0) ||
	    target == NULL || target_size == 0) {
		snprintf(err, errlen, "config: invalid arguments");
		return PW_ERR_ARG;
	}
	if (len > PW_CFG_MAX_FILE) {
		snprintf(err, errlen, "%s:0: file larger than %d bytes", name, PW_CFG_MAX_FILE);
		return PW_ERR_CONFIG;
	}

	struct cfg_run r = {
		.name = name,
		.buf = buf,
		.len = len,
		.opts = opts,
		.nopts = nopts,
		.extra = extra,
		.ctx = ctx,
	};
	char msg[PW_CFG_ERRLEN];
	pw_err rc = PW_OK;
	r.seen = calloc(nopts + 1, sizeof(*r.seen));
	r.target = malloc(target_size);
	if (r.seen == NULL || r.target == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		rc = PW_ERR_NOMEM;
		goto out;
	}
	/* Fields outside the table keep their values; defaults come next. */
	memcpy(r.target, target, target_size);
	for (size_t i = 0; i < nopts; i++) {
		const struct pw_cfg_opt *o = &opts[i];
		if (!cfg_opt_ok(o, target_size)) {
			snprintf(err, errlen, "config: bad option table entry %zu (%s)", i,
			         o->name != NULL ? o->name : "?");
			rc = PW_ERR_ARG;
			goto out;
		}
		if (o->def == NULL)
			continue;
		char *dst = (char *)r.target + o->offset;
		if (o->type == PW_CFG_STR && o->def[0] == '\0') {
			dst[0] = '\0'; /* an empty default means "not set" */
			continue;
		}
		if (cfg_convert(o, o->def, dst, msg, sizeof msg) != 0) {
			snprintf(err, errlen, "config: bad default: %s", msg);
			rc = PW_ERR_ARG;
			goto out;
		}
	}

	int irc = ini_parse_stream(cfg_reader, &r, cfg_handler, &r);
	if (irc == -2) {
		snprintf(err, errlen, "%s: out of memory", name);
		rc = PW_ERR_NOMEM;
		goto out;
	}
	if (irc > 0 && (r.err_line == 0 || irc < r.err_line)) {
		r.err_line = 0;
		cfg_fail(&r, irc, "syntax error; expected [section], key = value or a ; comment");
	}
	if (r.err_line == 0) {
		for (size_t i = 0; i < nopts; i++) {
			if (opts[i].def == NULL && !r.seen[i]) {
				cfg_fail(&r, 0, "missing required key %s in [%s]", opts[i].name,
				         opts[i].section);
				break;
			}
		}
	}
	if (r.err_line != 0 || r.rc != PW_OK) {
		snprintf(err, errlen, "%s:%d: %s", name, r.err_line, r.msg);
		rc = PW_ERR_CONFIG;
		goto out;
	}
	memcpy(target, r.target, target_size);
	if (lines != NULL)
		for (size_t i = 0; i < nopts; i++)
			lines[i] = r.seen[i];
out:
	if (r.target != NULL)
		explicit_bzero(r.target, target_size); /* may hold secrets or tokens */
	free(r.target);
	free(r.seen);
	return rc;
}

int
pw_config_line(const struct pw_cfg_opt *opts, size_t nopts, const int *lines, const char *section,
               const char *name)
{
	for (size_t i = 0; i < nopts; i++)
		if (strcmp(opts[i].section, section) == 0 && strcmp(opts[i].name, name) == 0)
			return lines[i];
	return 0;
}

pw_err
pw_config_load(const char *path, const struct pw_cfg_opt *opts, size_t nopts, void *target,
               size_t target_size, pw_cfg_extra_fn extra, void *ctx, int *lines, char *err,
               size_t errlen)
{
	char dummy[1];
	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof dummy;
	}
	if (path == NULL) {
		snprintf(err, errlen, "config: no file name");
		return PW_ERR_ARG;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s:0: cannot open: %s", path, strerror(e));
		return e == ENOENT ? PW_ERR_NOTFOUND : PW_ERR_IO;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s:0: not a regular file", path);
		close(fd);
		return PW_ERR_IO;
	}
	if (st.st_size > PW_CFG_MAX_FILE) {
		snprintf(err, errlen, "%s:0: file larger than %d bytes", path, PW_CFG_MAX_FILE);
		close(fd);
		return PW_ERR_CONFIG;
	}
	/* one byte more than allowed, to notice a file that grew meanwhile */
	size_t cap = (size_t)st.st_size + 1;
	char *buf = malloc(cap);
	if (buf == NULL) {
		close(fd);
		snprintf(err, errlen, "%s: out of memory", path);
		return PW_ERR_NOMEM;
	}
	size_t len = 0;
	while (len < cap) {
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			snprintf(err, errlen, "%s:0: cannot read: %s", path, strerror(e));
			free(buf);
			close(fd);
			return PW_ERR_IO;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len == cap) {
		snprintf(err, errlen, "%s:0: file changed while being read", path);
		free(buf);
		return PW_ERR_IO;
	}
	pw_err rc = pw_config_load_buffer(path, buf, len, opts, nopts, target, target_size, extra,
	                                  ctx, lines, err, errlen);
	explicit_bzero(buf, len);
	free(buf);
	return rc;
}
