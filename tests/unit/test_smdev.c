/*
 * test_smdev.c: p1: and sml: behind the device module (dev_open/dev_poll)
 * on a pseudo-terminal: a telegram becomes a dev_reading with the meter's
 * registers, power and id; the newest good one is served again until the
 * stall limit (timeout_ms), then polls fail; a CRC error never becomes a
 * value; a device missing at start is opened once it exists; bad URLs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "agent/device.h"
#include "agent/p1.h"
#include "tests/sim/smlenc.h"

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

struct ptyp {
	int master, slave;
	char path[128];
};

static void
pty_open(struct ptyp *p)
{
	struct termios tio;

	assert_int_equal(openpty(&p->master, &p->slave, p->path, NULL, NULL), 0);
	tcgetattr(p->slave, &tio);
	cfmakeraw(&tio);
	tcsetattr(p->slave, TCSANOW, &tio);
}

static void
pty_close(struct ptyp *p)
{
	close(p->master);
	close(p->slave);
}

/* Write to the master; return once the slave side has the bytes queued. */
static void
put(const struct ptyp *p, const void *b, size_t n)
{
	struct pollfd pfd = { .fd = p->slave, .events = POLLIN };

	assert_int_equal(write(p->master, b, n), (ssize_t)n);
	assert_int_equal(poll(&pfd, 1, 5000), 1);
}

static size_t
p1_tg(char *out, size_t outsz, const char *imp, bool break_crc)
{
	int n = snprintf(out, outsz,
	                 "/PWS5\\2SIM\r\n\r\n0-0:96.1.1(4B384547303034303436333935353037)\r\n"
	                 "1-0:1.8.0(%s*kWh)\r\n1-0:2.8.0(000042.100*kWh)\r\n"
	                 "1-0:16.7.0(-00.750*kW)\r\n!",
	                 imp);
	n += snprintf(out + n, outsz - (size_t)n, "%04X\r\n",
	              (unsigned)(p1_crc16(out, (size_t)n) ^ (break_crc ? 1u : 0u)));
	return (size_t)n;
}

static void
test_p1_backend(void **state)
{
	struct ptyp p;
	struct dev_cfg cfg;
	struct dev *d;
	struct dev_reading r;
	char url[160], err[256], tg[512];
	size_t n;

	(void)state;
	pty_open(&p);
	snprintf(url, sizeof(url), "p1:%s", p.path);
	dev_cfg_defaults(&cfg);
	cfg.url = url;
	cfg.timeout_ms = 600; /* the stall limit */
	assert_true(dev_url_ok(url));
	assert_int_equal(dev_open(&cfg, &d, err, sizeof(err)), PW_OK);
	assert_string_equal(dev_source(d), "p1");
	/* nothing yet: no value */
	assert_int_equal(dev_poll(d, DEV_WANT_ALL, &r), PW_ERR_TIMEOUT);
	assert_false(r.has_meter);

	n = p1_tg(tg, sizeof(tg), "001234.567", false);
	put(&p, tg, n);
	assert_int_equal(dev_poll(d, DEV_WANT_METER, &r), PW_OK);
	assert_string_equal(r.source, "p1");
	assert_true(r.has_meter && r.has_import && r.has_export && r.has_meter_power);
	assert_int_equal(r.import_wh, 1234567);
	assert_int_equal(r.import_raw, 1234567);
	assert_int_equal(r.import_sf, 0);
	assert_int_equal(r.import_bits, 0);
	assert_int_equal(r.export_wh, 42100);
	assert_true(r.meter_power_w == -750.0);
	assert_string_equal(r.meter_serial, "K8EG004046395507");

	/* no new telegram: the newest good one again, while it is fresh */
	assert_int_equal(dev_poll(d, DEV_WANT_ALL, &r), PW_OK);
	assert_int_equal(r.import_wh, 1234567);
	/* a telegram with a bad CRC: never a value, the good one stays */
	n = p1_tg(tg, sizeof(tg), "009999.999", true);
	put(&p, tg, n);
	assert_int_equal(dev_poll(d, DEV_WANT_ALL, &r), PW_OK);
	assert_int_equal(r.import_wh, 1234567);
	/* a newer good one */
	n = p1_tg(tg, sizeof(tg), "001234.600", false);
	put(&p, tg, n);
	assert_int_equal(dev_poll(d, DEV_WANT_ALL, &r), PW_OK);
	assert_int_equal(r.import_wh, 1234600);
	/* stalled: past the limit, polls fail and nothing is served */
	sleep_ms(900);
	assert_int_equal(dev_poll(d, DEV_WANT_ALL, &r), PW_ERR_TIMEOUT);
	assert_false(r.has_meter);
	assert_int_equal(dev_poll(d, DEV_WANT_ALL, &r), PW_ERR_TIMEOUT);
	/* garbled telegrams only: still stalled */
	n = p1_tg(tg, sizeof(tg), "001234.700", true);
	put(&p, tg, n);
	assert_int_equal(dev_poll(d, DEV_WANT_ALL, &r), PW_ERR_TIMEOUT);
	/* and back */
	n = p1_tg(tg, sizeof(tg), "001234.800", false);
	put(&p, tg, n);
	assert_int_equal(dev_poll(d, DEV_WANT_ALL, &r), PW_OK);
	assert_int_equal(r.import_wh, 1234800);
	dev_destroy(&d);
	assert_null(d);
	pty_close(&p);
}

static void
test_sml_backend(void **state)
{
	static struct smlenc e;
	static const uint8_t server[10] = { 0x0a, 0x01, 'E', 'M', 'H', 0, 0, 0, 0x12, 0x34 };
	static const uint8_t ob_imp[6] = { 1, 0, 1, 8, 0, 0xff },
	                     ob_exp[6] = { 1, 0, 2, 8, 0, 0xff },
	                     ob_pow[6] = { 1, 0, 16, 7, 0, 0xff };
	struct ptyp p;
	struct dev_cfg cfg;
	struct dev *d;
	struct dev_reading r;
	char url[160], err[256];
	uint8_t tx[1024];
	size_t n;

	(void)state;
	pty_open(&p);
	snprintf(url, sizeof(url), "sml:%s:9600", p.path);
	dev_cfg_defaults(&cfg);
	cfg.url = url;
	assert_int_equal(dev_open(&cfg, &d, err, sizeof(err)), PW_OK);
	assert_string_equal(dev_source(d), "sml");
	smlenc_init(&e);
	smlenc_msg_begin(&e, 7, 0x0701);
	smlenc_list(&e, 7);
	smlenc_skip(&e);
	smlenc_octets(&e, server, sizeof(server));
	smlenc_skip(&e);
	smlenc_skip(&e);
	smlenc_list(&e, 3);
	smlenc_entry_int(&e, ob_imp, 30, -1, 123456789, 8, false);
	smlenc_entry_int(&e, ob_exp, 30, -1, 5, 8, false);
	smlenc_entry_int(&e, ob_pow, 27, 0, 321, 4, false);
	smlenc_skip(&e);
	smlenc_skip(&e);
	smlenc_msg_end(&e);
	n = smlenc_frame(&e, tx, sizeof(tx));
	assert_true(n > 0);
	put(&p, tx, n);
	assert_int_equal(dev_poll(d, DEV_WANT_ALL, &r), PW_OK);
	assert_int_equal(r.import_raw, 123456789);
	assert_int_equal(r.import_sf, -1);
	assert_int_equal(r.import_wh, 12345678);
	assert_int_equal(r.export_wh, 0);
	assert_true(r.has_export);
	assert_true(r.meter_power_w == 321.0);
	assert_string_equal(r.meter_serial, "0a01454d480000001234");
	dev_destroy(&d);
	pty_close(&p);
}

static void
test_urls_and_late_device(void **state)
{
	struct dev_cfg cfg;
	struct dev *d;
	struct dev_reading r;
	char err[256], path[64], url[96];
	const char *bad[] = { "p1:", "p1:dev/x", "sml:/dev/x:123", "p1:/dev/../x", "sml:/dev/x:" };

	(void)state;
	dev_cfg_defaults(&cfg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cfg.url = bad[i];
		err[0] = '\0';
		assert_int_equal(dev_open(&cfg, &d, err, sizeof(err)), PW_ERR_PARSE);
		assert_non_null(strstr(err, "smart-meter URL"));
	}
	/* a template is for Modbus only */
	cfg.url = "p1:/dev/ttyUSB0";
	cfg.template_name = "sdm630";
	assert_int_not_equal(dev_open(&cfg, &d, err, sizeof(err)), PW_OK);
	cfg.template_name = NULL;
	/* a stall limit out of range */
	cfg.timeout_ms = 50;
	assert_int_equal(dev_open(&cfg, &d, err, sizeof(err)), PW_ERR_RANGE);
	cfg.timeout_ms = 0;

	/* a device that does not exist yet: open succeeds, polls fail, then it reads */
	snprintf(path, sizeof(path), "/tmp/pw-smdev-%d", (int)getpid());
	unlink(path);
	snprintf(url, sizeof(url), "p1:%s", path);
	cfg.url = url;
	assert_int_equal(dev_open(&cfg, &d, err, sizeof(err)), PW_OK);
	assert_int_equal(dev_poll(d, DEV_WANT_ALL, &r), PW_ERR_UNAVAILABLE);
	assert_false(r.has_meter);
	{
		struct ptyp p;
		char tg[512];
		size_t n;
		pty_open(&p);
		assert_int_equal(symlink(p.path, path), 0);
		assert_int_equal(dev_poll(d, DEV_WANT_ALL, &r),
		                 PW_ERR_TIMEOUT); /* open, nothing yet */
		n = p1_tg(tg, sizeof(tg), "000001.000", false);
		put(&p, tg, n);
		assert_int_equal(dev_poll(d, DEV_WANT_ALL, &r), PW_OK);
		assert_int_equal(r.import_wh, 1000);
		unlink(path);
		pty_close(&p);
	}
	dev_destroy(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_p1_backend),
		cmocka_unit_test(test_sml_backend),
		cmocka_unit_test(test_urls_and_late_device),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
