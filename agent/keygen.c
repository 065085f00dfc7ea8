/*
 * keygen.c: the keygen subcommand (see keygen.h).  The registry line uses
 * the format of exchange/registry.h; fields the household does not know
 * yet can be given as options and otherwise are placeholders to edit.
 */
#include "agent/keygen.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "peerwatt/cli.h"
#include "peerwatt/config.h"
#include "peerwatt/keys.h"

#define PROG "peerwatt-agent keygen"

static void
usage(FILE *f)
{
	fprintf(
	    f, "usage: peerwatt-agent keygen --out FILE [--id ID] [--name NAME] [--serial SERIAL]\n"
	       "                             [--zone ZONE] [--max-export-w W] [--max-import-w W]\n"
	       "Creates a new household key file (mode 0600; refuses to overwrite) and prints\n"
	       "the public key and the line to add to the exchange's household registry.\n");
}

/* Registry tokens: [A-Za-z0-9_.-], 1..31 characters (exchange/registry.h). */
static int
token_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

int
keygen_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "id", required_argument, NULL, 'i' },
		{ "name", required_argument, NULL, 'n' },
		{ "serial", required_argument, NULL, 's' },
		{ "zone", required_argument, NULL, 'z' },
		{ "max-export-w", required_argument, NULL, 'e' },
		{ "max-import-w", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL, *id = "HOUSEHOLD_ID", *name = "NAME", *serial = "METER_SERIAL",
	           *zone = "ZONE";
	int64_t exp_w = 5000, imp_w = 10000;
	struct pw_keypair kp;
	char hex[2 * PW_PK_LEN + 1];
	pw_err rc;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'i':
			id = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 's':
			serial = optarg;
			break;
		case 'z':
			zone = optarg;
			break;
		case 'e':
		case 'm':
			if (pw_parse_i64(optarg, 0, 1000000000, c == 'e' ? &exp_w : &imp_w) !=
			    PW_OK)
				return pw_cli_usage_error(
				    PROG, "%s: '%s' is not a power in W (0..1e9)",
				    c == 'e' ? "--max-export-w" : "--max-import-w", optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return pw_cli_getopt_error(PROG, c, argv);
		}
	}
	if (optind != argc)
		return pw_cli_usage_error(PROG, "unexpected argument '%s'", argv[optind]);
	if (out == NULL)
		return pw_cli_usage_error(PROG, "--out FILE is required");
	if (!token_ok(id, 31) || !token_ok(name, 31) || !token_ok(zone, 31) ||
	    !token_ok(serial, 32))
		return pw_cli_usage_error(PROG,
		                          "id, name, zone and serial must be letters, digits, '_', "
		                          "'.', '-' (id, name, zone up to 31, serial up to 32)");
	if ((rc = pw_crypto_init()) != PW_OK || (rc = pw_key_generate(&kp)) != PW_OK) {
		fprintf(stderr, "peerwatt-agent keygen: %s\n", pw_strerror(rc));
		return 70;
	}
	rc = pw_key_save(out, &kp);
	if (rc != PW_OK) {
		char why[PATH_MAX + 128];
		pw_key_save_message(out, rc, errno, why, sizeof(why));
		pw_key_wipe(&kp);
		fprintf(stderr, "%s: %s\n", PROG, why);
		return 73; /* EX_CANTCREAT */
	}
	pw_hex_encode(kp.pk, PW_PK_LEN, hex);
	pw_key_wipe(&kp);
	printf("public key: %s\n", hex);
	printf("registry line (id name pk serial zone max_export_w max_import_w):\n");
	printf("%s %s %s %s %s %lld %lld\n", id, name, hex, serial, zone, (long long)exp_w,
	       (long long)imp_w);
	return 0;
}
