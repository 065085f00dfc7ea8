/*
 * cli.c: usage errors worded alike by every program (include/peerwatt/cli.h).
 * Called by the option parsing of each program's main.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "peerwatt/cli.h"

int
pw_cli_usage_try(const char *prog)
{
	fprintf(stderr, "Try '%s --help'.\n", prog);
	return PW_EX_USAGE;
}

int
pw_cli_usage_error(const char *prog, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return pw_cli_usage_try(prog);
}

int
pw_cli_getopt_error(const char *prog, int c, char *const *argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	size_t n = strcspn(arg, "=");
	int is_long = strncmp(arg, "--", 2) == 0;

	/* a short option may sit in a group ("-nx"): name it by optopt */
	if (c == ':' && is_long)
		return pw_cli_usage_error(prog, "option '%.*s' needs a value", (int)n, arg);
	if (c == ':')
		return pw_cli_usage_error(prog, "option '-%c' needs a value", optopt);
	if (is_long && optopt != 0) /* --flag=value */
		return pw_cli_usage_error(prog, "option '%.*s' takes no value", (int)n, arg);
	if (is_long)
		return pw_cli_usage_error(prog, "unknown option '%.*s'", (int)n, arg);
	return pw_cli_usage_error(prog, "unknown option '-%c'", optopt);
}
