/*
 * fuzz_dash_req.c: libFuzzer harness for the dashboard's request checks and
 * body parsers (agent/dash_req.c).  The first byte picks the function, the
 * rest is the network input.  Checks promises, not only survival: an
 * accepted static path never leaves the web root or names a dotfile; an
 * accepted Host is a loopback name; same-origin never accepts an origin that
 * differs from http(s)://HOST; every accepted bid and setting is inside the
 * ranges dash.h promises the agent; an accepted order number round-trips.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/dash.h"
#include "agent/dash_req.h"

#define FUZZ_MAX 8192

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_dash_req: broken promise: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[FUZZ_MAX + 1];
	char msg[DASH_MSG_MAX], tok[DASH_TOKEN_MAX + 1], want[400];
	struct dash_bid bid;
	struct dash_settings st;
	uint64_t seq;
	bool given, suffix;
	size_t n;

	if (size < 1 || size > FUZZ_MAX)
		return 0;
	n = size - 1;
	memcpy(buf, data + 1, n);
	buf[n] = '\0';
	switch (data[0] % 8) {
	case 0:
		if (dash_req_path_ok(buf)) {
			check(buf[0] == '/', "path starts with /");
			check(strstr(buf, "/.") == NULL, "no dot segment");
			check(strstr(buf, "//") == NULL, "no empty segment");
			check(strlen(buf) < DASH_REQ_PATH_MAX, "path bounded");
			check(dash_req_mime(buf) != NULL, "known type");
		}
		break;
	case 1:
		if (dash_req_host_is_loopback(buf)) {
			check(strncasecmp(buf, "localhost", 9) == 0 ||
			          strncmp(buf, "127.", 4) == 0 || buf[0] == '[',
			      "loopback host name");
		}
		break;
	case 2:
		/* first half: Host, second half: Origin or Referer (no NUL inside) */
		if (memchr(buf, '\0', n) == NULL) {
			size_t h = n / 2;
			char host[FUZZ_MAX / 2 + 1];
			memcpy(host, buf, h);
			host[h] = '\0';
			if (dash_req_same_origin(host, buf + h, NULL)) {
				snprintf(want, sizeof want, "http://%s", host);
				check(strcmp(buf + h, want) == 0 ||
				          (strncmp(buf + h, "https://", 8) == 0 &&
				           strcmp(buf + h + 8, host) == 0),
				      "origin equals host");
			}
			if (dash_req_same_origin(host, NULL, buf + h)) {
				int w = snprintf(want, sizeof want, "http://%s", host);
				check(w > 0 && strncmp(buf + h, want, (size_t)w) == 0,
				      "referer prefix");
				check(buf[h + (size_t)w] == '/' || buf[h + (size_t)w] == '\0',
				      "referer boundary");
			}
		}
		break;
	case 3:
		if (dash_req_bid(buf, n, &bid, msg, sizeof msg) == PW_OK) {
			check(bid.qty_wh >= 1 && bid.qty_wh <= 1000000000ULL, "qty range");
			check(bid.max_price_uper_kwh >= -DASH_PRICE_MAX &&
			          bid.max_price_uper_kwh <= DASH_PRICE_MAX,
			      "price range");
			check(bid.price_base <= DASH_BASE_RETAIL, "price base");
			check(bid.intervals >= 1 && bid.intervals <= DASH_MAX_INTERVALS,
			      "intervals range");
			check(bid.interval <= (uint64_t)INT64_MAX, "interval range");
		} else {
			check(memchr(msg, '\0', sizeof msg) != NULL && msg[0] != '\0', "a message");
		}
		break;
	case 4:
		if (dash_req_settings(buf, n, &st, &given, msg, sizeof msg) == PW_OK) {
			check(st.min_price_uper_kwh >= -DASH_PRICE_MAX &&
			          st.min_price_uper_kwh <= DASH_PRICE_MAX,
			      "min price range");
			check(st.min_price_base <= DASH_BASE_RETAIL, "min price base");
			check(st.reserve_wh <= 1000000000ULL, "reserve range");
			check(given || !st.auto_sell, "auto_sell only when given");
		}
		break;
	case 5:
		if (dash_req_login(buf, n, tok, sizeof tok, msg, sizeof msg) == PW_OK)
			check(strlen(tok) < sizeof tok, "token bounded");
		break;
	case 6:
		if (dash_req_seq(buf, &seq, &suffix) == PW_OK) {
			char back[64];
			snprintf(back, sizeof back, "%" PRIu64 "%s", seq, suffix ? "/cancel" : "");
			check(seq <= (uint64_t)INT64_MAX, "seq range");
			/* Leading zeros are the only other spelling accepted. */
			check(strlen(buf) >= strlen(back), "no shorter spelling");
		}
		break;
	default:
		(void)dash_req_token_ok(buf);
		(void)dash_req_is_loopback(buf);
		break;
	}
	return 0;
}
