/*
 * cli.h: usage errors on the command line, worded the same by every
 * program (peerwatt-agent and its subcommands, peerwatt-exchange,
 * peerwatt-audit, peerwatt-sim):
 *
 *     PROG: what was wrong
 *     Try 'PROG --help'.
 *
 * on stderr, and exit status 64 (EX_USAGE).  PROG is the program's name
 * with its subcommand ("peerwatt-agent keygen"), never argv[0]: that is
 * often a path, and the rest of a program's messages use its name.
 * No state of its own (pw_cli_getopt_error reads getopt's globals).
 */
#ifndef PEERWATT_CLI_H
#define PEERWATT_CLI_H

#define PW_EX_USAGE 64

/* Prints "PROG: message" and the Try line; returns PW_EX_USAGE. */
int pw_cli_usage_error(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints the Try line alone (after getopt_long printed what was wrong);
 * returns PW_EX_USAGE. */
int pw_cli_usage_try(const char *prog);

/*
 * After getopt_long returned '?' or ':' (its optstring must begin with ':'
 * so that it prints nothing itself): names the option that was unknown,
 * lacked its value or had one it takes none, in the words above; returns
 * PW_EX_USAGE.  Reads getopt's optind and optopt.
 */
int pw_cli_getopt_error(const char *prog, int c, char *const *argv);

#endif
