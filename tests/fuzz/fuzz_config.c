/*
 * fuzz_config.c: libFuzzer harness for the config loader (common/config.c)
 * on a memory buffer, through a table with every option type and an extra
 * handler for repeated entries.  Checks the loader's promises, not just
 * that it survives: on error the target is unchanged and the message reads
 * "fuzz.conf:LINE: ..."; on success every value is within its range.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peerwatt/config.h"

struct fconf {
	int64_t n;
	int64_t price_u;
	int flag;
	char s[24];
	uint8_t key[32];
	int nextra;
};

static const struct pw_cfg_opt fopts[] = {
	{ "", "s", PW_CFG_STR, offsetof(struct fconf, s), sizeof(((struct fconf *)0)->s), 0, 0, "x",
	  "" },
	{ "a", "n", PW_CFG_INT, offsetof(struct fconf, n), sizeof(int64_t), -5, 1000, "1", "" },
	{ "a", "price", PW_CFG_MONEY, offsetof(struct fconf, price_u), sizeof(int64_t), 0, 5000000,
	  "0.25", "" },
	{ "b", "flag", PW_CFG_BOOL, offsetof(struct fconf, flag), sizeof(int), 0, 0, "no", "" },
	{ "b", "key", PW_CFG_KEY, offsetof(struct fconf, key), 32, 0, 0, NULL, "" },
};

static pw_err
fuzz_extra(void *ctx, void *target, const char *section, const char *name, const char *value,
           int line, char *msg, size_t msglen)
{
	(void)ctx;
	(void)line;
	(void)value;
	struct fconf *c = target;
	if (strcmp(section, "list") != 0 || strcmp(name, "item") != 0)
		return PW_ERR_CONFIG;
	if (c->nextra >= 8) {
		snprintf(msg, msglen, "item: at most 8");
		return PW_ERR_FULL;
	}
	c->nextra++;
	return PW_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fconf c, before;
	char err[PW_CFG_ERRLEN];
	memset(&c, 0xa5, sizeof c);
	c.nextra = 0;
	before = c;
	/* an exact-size copy so that ASan sees any read past the end */
	char *buf = malloc(size ? size : 1);
	if (buf == NULL)
		return 0;
	if (size)
		memcpy(buf, data, size);
	pw_err rc =
	    pw_config_load_buffer("fuzz.conf", buf, size, fopts, sizeof fopts / sizeof fopts[0], &c,
	                          sizeof c, fuzz_extra, NULL, NULL, err, sizeof err);
	free(buf);
	if (rc == PW_OK) {
		if (c.n < -5 || c.n > 1000 || c.price_u < 0 || c.price_u > 5000000 ||
		    (c.flag != 0 && c.flag != 1) || strnlen(c.s, sizeof c.s) >= sizeof c.s ||
		    c.nextra > 8)
			abort();
	} else {
		if (memcmp(&c, &before, sizeof c) != 0 || strncmp(err, "fuzz.conf:", 10) != 0)
			abort();
	}
	return 0;
}
