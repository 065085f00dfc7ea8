/* log.c: stderr logging with priority prefixes (see include/peerwatt/log.h). */
#include "peerwatt/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Written once by log_init() before threads start, read-only afterwards. */
static struct {
	const char *prog;
	enum log_level level;
} log_cfg = { "peerwatt", LOG_LEVEL_INFO };

void
log_init(const char *prog, enum log_level level)
{
	log_cfg.prog = prog != NULL ? prog : "peerwatt";
	log_cfg.level = level;
}

int
log_level_parse(const char *name, enum log_level *out)
{
	static const struct {
		const char *name;
		enum log_level level;
	} names[] = {
		{ "error", LOG_LEVEL_ERR },
		{ "warning", LOG_LEVEL_WARN },
		{ "info", LOG_LEVEL_INFO },
		{ "debug", LOG_LEVEL_DEBUG },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i].name) == 0) {
			*out = names[i].level;
			return 0;
		}
	}
	return -1;
}

static void
log_line(enum log_level level, const char *suffix, const char *fmt, va_list ap)
{
	char line[2048];
	int n, m;

	if (level > log_cfg.level)
		return;
	n = snprintf(line, sizeof(line), "<%d>%s: ", (int)level, log_cfg.prog);
	if (n < 0)
		return;
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (m < 0)
		return;
	size_t len = strnlen(line, sizeof(line) - 2);
	if (suffix != NULL) {
		int k = snprintf(line + len, sizeof(line) - 1 - len, ": %s", suffix);
		if (k > 0)
			len = strnlen(line, sizeof(line) - 2);
	}
	line[len++] = '\n';
	/* One write per line keeps lines whole across threads. */
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}

void
log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	log_line(level, NULL, fmt, ap);
}

#define LOG_BODY(level, suffix)                                                                    \
	do {                                                                                       \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		log_line(level, suffix, fmt, ap);                                                  \
		va_end(ap);                                                                        \
	} while (0)

void
log_warn(const char *fmt, ...)
{
	const char *e = strerror(errno);
	LOG_BODY(LOG_LEVEL_WARN, e);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, NULL);
}

void
log_error(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERR, NULL);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_INFO, NULL);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_DEBUG, NULL);
}

void
log_rated(struct log_rate *r, enum log_level level, const char *fmt, ...)
{
	struct timespec ts;
	long long now;
	char more[96];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (now < r->next_ms) {
		if (r->held++ == 0)
			r->since_ms = now;
		return;
	}
	more[0] = '\0';
	if (r->held > 0)
		snprintf(more, sizeof(more), "(%llu more like it in the last %lld s)", r->held,
		         (now - r->since_ms) / 1000 + 1);
	r->held = 0;
	r->next_ms = now + LOG_RATE_MS;
	LOG_BODY(level, more[0] ? more : NULL);
}

void
fatal(const char *fmt, ...)
{
	const char *e = strerror(errno);
	LOG_BODY(LOG_LEVEL_ERR, e);
	exit(70);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERR, NULL);
	exit(70);
}
