/*
 * test_sunspec.c: SunSpec decoding, discovery and chain guards, read plans
 * and polls, on synthetic register images behind a fake sunspec_io.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <math.h>

#include <cmocka.h>

#include "agent/sunspec.h"
#include "peerwatt/log.h"

/* --- fake device ------------------------------------------------------------- */

struct image {
	uint16_t regs[65536];
	uint8_t exc[65536]; /* 1: reading this register gives an exception */
	int nreads;
	int fail_after; /* >0: reads beyond this many fail with a timeout */
	uint32_t max_count;
};

static pw_err
image_read(void *arg, uint16_t addr, uint16_t count, uint16_t *regs)
{
	struct image *im = arg;

	/* The code under test must respect the protocol limit. */
	assert_true(count >= 1 && count <= SUNSPEC_MAX_READ);
	im->nreads++;
	if (count > im->max_count)
		im->max_count = count;
	if (im->fail_after > 0 && im->nreads > im->fail_after)
		return PW_ERR_TIMEOUT;
	if ((uint32_t)addr + count > 65536u)
		return PW_ERR_MODBUS_EXC;
	for (uint32_t i = 0; i < count; i++)
		if (im->exc[addr + i])
			return PW_ERR_MODBUS_EXC;
	memcpy(regs, &im->regs[addr], count * sizeof(uint16_t));
	return PW_OK;
}

static struct image *
image_new(void)
{
	struct image *im = calloc(1, sizeof(*im));
	assert_non_null(im);
	/* Registers nobody wrote answer with an exception, like a real device. */
	memset(im->exc, 1, sizeof(im->exc));
	return im;
}

static void
image_put(struct image *im, uint32_t addr, uint16_t v)
{
	assert_true(addr < 65536u);
	im->regs[addr] = v;
	im->exc[addr] = 0;
}

static void
image_marker(struct image *im, uint16_t base)
{
	image_put(im, base, 0x5375);
	image_put(im, base + 1u, 0x6e53);
}

/* Lay out a model at addr with every point "not implemented"; returns the next address. */
static uint32_t
image_model(struct image *im, uint32_t addr, uint16_t id, uint16_t len)
{
	const struct sunspec_model_def *def = sunspec_model_find(id);

	image_put(im, addr, id);
	image_put(im, addr + 1, len);
	for (uint32_t i = 0; i < len; i++)
		image_put(im, addr + 2 + i, 0);
	if (def != NULL) {
		for (uint16_t i = 2; i < def->nfixed; i++) {
			const struct sunspec_point *p = &def->fixed[i];
			if (p->offset + p->size > len + 2)
				break;
			sunspec_sentinel(p->type, p->size, &im->regs[addr + p->offset]);
		}
	}
	return addr + 2 + len;
}

static void
image_end(struct image *im, uint32_t addr)
{
	image_put(im, addr, 0xFFFF);
	image_put(im, addr + 1, 0);
}

static void
set_pt(struct image *im, uint32_t model_addr, uint16_t id, const char *name, uint64_t v)
{
	const struct sunspec_point *p = sunspec_point_find(sunspec_model_find(id), name, false);
	assert_non_null(p);
	for (int i = p->size - 1; i >= 0; i--) {
		im->regs[model_addr + p->offset + (uint32_t)i] = (uint16_t)(v & 0xFFFF);
		v >>= 16;
	}
}

static void
set_f32(struct image *im, uint32_t model_addr, uint16_t id, const char *name, float f)
{
	uint32_t w;
	memcpy(&w, &f, sizeof(w));
	set_pt(im, model_addr, id, name, w);
}

static void
set_str(struct image *im, uint32_t model_addr, uint16_t id, const char *name, const char *s)
{
	const struct sunspec_point *p = sunspec_point_find(sunspec_model_find(id), name, false);
	size_t n = strlen(s);
	assert_non_null(p);
	for (uint16_t i = 0; i < p->size; i++) {
		uint8_t hi = 2u * i < n ? (uint8_t)s[2 * i] : 0;
		uint8_t lo = 2u * i + 1 < n ? (uint8_t)s[2 * i + 1] : 0;
		im->regs[model_addr + p->offset + i] = (uint16_t)(hi << 8 | lo);
	}
}

static struct sunspec_io
io_of(struct image *im)
{
	struct sunspec_io io = { image_read, im, NULL };
	return io;
}

/* --- decoding ---------------------------------------------------------------- */

struct dcase {
	enum sunspec_type t;
	uint16_t size;
	uint16_t r[4];
	bool impl;
	int64_t i;
	uint64_t u;
};

static void
test_decode_every_type(void **state)
{
	static const struct dcase cases[] = {
		{ SUNSPEC_T_INT16, 1, { 0x8000 }, false, 0, 0 },
		{ SUNSPEC_T_INT16, 1, { 0xFFFE }, true, -2, 0 },
		{ SUNSPEC_T_INT16, 1, { 0x0000 }, true, 0, 0 },
		{ SUNSPEC_T_UINT16, 1, { 0xFFFF }, false, 0, 0 },
		{ SUNSPEC_T_UINT16, 1, { 0xFFFE }, true, 0, 0xFFFE },
		{ SUNSPEC_T_UINT16, 1, { 0 }, true, 0, 0 },
		{ SUNSPEC_T_ACC16, 1, { 0 }, false, 0, 0 },
		{ SUNSPEC_T_ACC16, 1, { 0xFFFF }, true, 0, 0xFFFF },
		{ SUNSPEC_T_ENUM16, 1, { 0xFFFF }, false, 0, 0 },
		{ SUNSPEC_T_ENUM16, 1, { 4 }, true, 0, 4 },
		{ SUNSPEC_T_BITFIELD16, 1, { 0xFFFF }, false, 0, 0 },
		{ SUNSPEC_T_BITFIELD16, 1, { 0x7FFF }, true, 0, 0x7FFF },
		{ SUNSPEC_T_SUNSSF, 1, { 0x8000 }, false, 0, 0 },
		{ SUNSPEC_T_SUNSSF, 1, { 0xFFFD }, true, -3, 0 },
		{ SUNSPEC_T_COUNT, 1, { 0xFFFF }, false, 0, 0 },
		{ SUNSPEC_T_COUNT, 1, { 3 }, true, 0, 3 },
		{ SUNSPEC_T_PAD, 1, { 0 }, false, 0, 0 },
		{ SUNSPEC_T_INT32, 2, { 0x8000, 0 }, false, 0, 0 },
		{ SUNSPEC_T_INT32, 2, { 0xFFFF, 0xFFFE }, true, -2, 0 },
		{ SUNSPEC_T_INT32, 2, { 0x0001, 0x0000 }, true, 65536, 0 },
		{ SUNSPEC_T_UINT32, 2, { 0xFFFF, 0xFFFF }, false, 0, 0 },
		{ SUNSPEC_T_UINT32, 2, { 0x0001, 0x0002 }, true, 0, 0x10002 },
		{ SUNSPEC_T_ACC32, 2, { 0, 0 }, false, 0, 0 },
		{ SUNSPEC_T_ACC32, 2, { 0xFFFF, 0xFFFF }, true, 0, 0xFFFFFFFFu },
		{ SUNSPEC_T_ENUM32, 2, { 0xFFFF, 0xFFFF }, false, 0, 0 },
		{ SUNSPEC_T_ENUM32, 2, { 0, 7 }, true, 0, 7 },
		{ SUNSPEC_T_BITFIELD32, 2, { 0xFFFF, 0xFFFF }, false, 0, 0 },
		{ SUNSPEC_T_BITFIELD32, 2, { 0x8000, 0x0001 }, true, 0, 0x80000001u },
		{ SUNSPEC_T_IPADDR, 2, { 0, 0 }, false, 0, 0 },
		{ SUNSPEC_T_IPADDR, 2, { 0xC0A8, 0x0001 }, true, 0, 0xC0A80001u },
		{ SUNSPEC_T_INT64, 4, { 0x8000, 0, 0, 0 }, false, 0, 0 },
		{ SUNSPEC_T_INT64, 4, { 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF }, true, -1, 0 },
		{ SUNSPEC_T_UINT64, 4, { 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF }, false, 0, 0 },
		{ SUNSPEC_T_UINT64, 4, { 0, 1, 0, 0 }, true, 0, 1ull << 32 },
		{ SUNSPEC_T_ACC64, 4, { 0, 0, 0, 0 }, false, 0, 0 },
		{ SUNSPEC_T_ACC64, 4, { 0, 0, 0, 5 }, true, 0, 5 },
		{ SUNSPEC_T_BITFIELD64, 4, { 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF }, false, 0, 0 },
		{ SUNSPEC_T_BITFIELD64, 4, { 0, 0, 0, 1 }, true, 0, 1 },
		{ SUNSPEC_T_EUI48, 4, { 0, 0xFFFF, 0xFFFF, 0xFFFF }, false, 0, 0 },
		{ SUNSPEC_T_EUI48, 4, { 0, 0x0012, 0x3456, 0x789A }, true, 0, 0x00123456789Aull },
	};
	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct dcase *c = &cases[k];
		struct sunspec_value v;
		assert_int_equal(sunspec_decode(c->t, c->r, c->size, &v), PW_OK);
		if (v.impl != c->impl)
			fail_msg("case %zu (%s): impl %d", k, sunspec_type_name(c->t), v.impl);
		if (c->impl) {
			assert_int_equal(v.i, c->i);
			assert_int_equal(v.u, c->u);
		}
		/* The sentinel writer produces what the decoder calls "not implemented". */
		uint16_t s[8];
		sunspec_sentinel(c->t, c->size, s);
		assert_int_equal(sunspec_decode(c->t, s, c->size, &v), PW_OK);
		assert_false(v.impl);
		/* Wrong sizes are refused, never read past. */
		assert_int_equal(sunspec_decode(c->t, c->r, (uint16_t)(c->size + 1), &v),
		                 PW_ERR_LENGTH);
	}
}

static void
test_decode_floats_and_strings(void **state)
{
	struct sunspec_value v;
	uint16_t r[8] = { 0 };
	float f = -1500.5f;
	uint32_t w;
	double d = 12345.25;
	uint64_t dw;
	(void)state;

	memcpy(&w, &f, 4);
	r[0] = (uint16_t)(w >> 16), r[1] = (uint16_t)w;
	assert_int_equal(sunspec_decode(SUNSPEC_T_FLOAT32, r, 2, &v), PW_OK);
	assert_true(v.impl);
	assert_true(v.f == -1500.5);
	r[0] = 0x7FC0, r[1] = 0; /* quiet NaN */
	assert_int_equal(sunspec_decode(SUNSPEC_T_FLOAT32, r, 2, &v), PW_OK);
	assert_false(v.impl);
	r[0] = 0x7F80, r[1] = 1; /* signalling NaN counts too */
	assert_int_equal(sunspec_decode(SUNSPEC_T_FLOAT32, r, 2, &v), PW_OK);
	assert_false(v.impl);
	r[0] = 0, r[1] = 0; /* 0.0 is a real zero */
	assert_int_equal(sunspec_decode(SUNSPEC_T_FLOAT32, r, 2, &v), PW_OK);
	assert_true(v.impl);
	assert_true(v.f == 0.0);

	memcpy(&dw, &d, 8);
	for (int i = 0; i < 4; i++)
		r[i] = (uint16_t)(dw >> (48 - 16 * i));
	assert_int_equal(sunspec_decode(SUNSPEC_T_FLOAT64, r, 4, &v), PW_OK);
	assert_true(v.impl && v.f == d);
	sunspec_sentinel(SUNSPEC_T_FLOAT64, 4, r);
	assert_int_equal(sunspec_decode(SUNSPEC_T_FLOAT64, r, 4, &v), PW_OK);
	assert_false(v.impl);

	memset(r, 0, sizeof(r));
	assert_int_equal(sunspec_decode(SUNSPEC_T_STRING, r, 8, &v), PW_OK);
	assert_false(v.impl);
	r[3] = 0x4100;
	assert_int_equal(sunspec_decode(SUNSPEC_T_STRING, r, 8, &v), PW_OK);
	assert_true(v.impl);
	memset(r, 0, sizeof(r));
	assert_int_equal(sunspec_decode(SUNSPEC_T_IPV6ADDR, r, 8, &v), PW_OK);
	assert_false(v.impl);
}

/* --- discovery and guards ------------------------------------------------------ */

static void
test_discover_each_base(void **state)
{
	static const uint16_t bases[] = { 40000, 0, 50000 };
	(void)state;
	for (size_t b = 0; b < 3; b++) {
		struct image *im = image_new();
		struct sunspec_io io = io_of(im);
		struct sunspec_dev dev;
		pw_err last;
		uint32_t a;

		image_marker(im, bases[b]);
		a = image_model(im, bases[b] + 2u, 1, 66);
		a = image_model(im, a, 103, 50);
		a = image_model(im, a, 999, 7); /* unknown to peerwatt: listed, not decoded */
		a = image_model(im, a, 203, 105);
		image_end(im, a);
		assert_int_equal(sunspec_discover(&io, &dev, &last), PW_OK);
		assert_int_equal(dev.base, bases[b]);
		assert_int_equal(dev.nmodels, 4);
		assert_int_equal(dev.models[0].id, 1);
		assert_int_equal(dev.models[0].addr, bases[b] + 2u);
		assert_int_equal(dev.models[0].len, 66);
		assert_int_equal(dev.models[1].id, 103);
		assert_int_equal(dev.models[1].addr, bases[b] + 70u);
		assert_int_equal(dev.models[2].id, 999);
		assert_int_equal(dev.models[3].addr, bases[b] + 70u + 52u + 9u);
		free(im);
	}
}

static void
test_discover_no_marker(void **state)
{
	struct image *im = image_new();
	struct sunspec_io io = io_of(im);
	struct sunspec_dev dev;
	pw_err last = PW_OK;
	(void)state;

	/* Registers exist but hold no marker. */
	image_put(im, 40000, 0x1234);
	image_put(im, 40001, 0x5678);
	assert_int_equal(sunspec_discover(&io, &dev, &last), PW_ERR_NOT_SUNSPEC);
	assert_int_equal(im->nreads, 3);
	free(im);
	/* A dead device (every read times out): the transport error reaches the caller. */
	im = image_new();
	io = io_of(im);
	im->fail_after = 1;
	im->nreads = 1;
	assert_int_equal(sunspec_discover(&io, &dev, &last), PW_ERR_NOT_SUNSPEC);
	assert_int_equal(last, PW_ERR_TIMEOUT);
	free(im);
}

/* A walk a transport error ends resumes where it stopped, keeping the
 * models found: a chain longer than the device's run of good replies is
 * still walked (peerwatt-sim --fault garbage fails every 7th request). */
static void
test_walk_resume(void **state)
{
	struct image *im = image_new();
	struct sunspec_io io = io_of(im);
	struct sunspec_dev dev;
	pw_err last = PW_OK;
	uint32_t a = 40002, a103, a203;
	(void)state;

	image_marker(im, 40000);
	a = image_model(im, a, 1, 66);
	a103 = a;
	a = image_model(im, a, 103, 50);
	a203 = a;
	a = image_model(im, a, 203, 105);
	a = image_model(im, a, 121, 30);
	a = image_model(im, a, 123, 24);
	image_end(im, a);
	/* the marker and two headers, then a timeout */
	im->fail_after = 3;
	assert_int_equal(sunspec_discover(&io, &dev, &last), PW_ERR_TIMEOUT);
	assert_int_equal(dev.nmodels, 2);
	assert_int_equal(dev.walk_next, a203);
	/* one more header, then a timeout again: the progress is kept */
	im->nreads = 0;
	im->fail_after = 1;
	assert_int_equal(sunspec_walk_resume(&io, &dev), PW_ERR_TIMEOUT);
	assert_int_equal(dev.nmodels, 3);
	im->nreads = 0;
	im->fail_after = 0;
	assert_int_equal(sunspec_walk_resume(&io, &dev), PW_OK);
	assert_int_equal(dev.walk_next, 0);
	assert_int_equal(dev.nmodels, 5);
	assert_int_equal(dev.models[1].addr, a103);
	assert_int_equal(dev.models[4].id, 123);
	/* nothing to resume */
	assert_int_equal(sunspec_walk_resume(&io, &dev), PW_ERR_ARG);
	free(im);
}

/* A bad chain found again at every poll: with io.rate set, one warning per
 * LOG_RATE_MS, not one per walk (stderr captured). */
static void
test_chain_warning_rated(void **state)
{
	struct log_rate rate = { 0 };
	struct image *im = image_new();
	struct sunspec_io io = io_of(im);
	struct sunspec_dev dev;
	char path[] = "/tmp/pw_sunspec_logXXXXXX", buf[4096];
	int fd = mkstemp(path), saved, lines = 0;
	ssize_t n;
	uint32_t a;

	(void)state;
	assert_true(fd >= 0);
	unlink(path);
	image_marker(im, 40000);
	a = image_model(im, 40002, 1, 66);
	image_put(im, a, 0); /* model id 0: a bad chain */
	image_put(im, a + 1, 10);
	io.rate = &rate;
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0 && dup2(fd, STDERR_FILENO) >= 0);
	for (int i = 0; i < 50; i++)
		assert_int_equal(sunspec_walk(&io, 40000, &dev), PW_ERR_CORRUPT);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	for (char *p = buf; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	assert_int_equal(lines, 1);
	assert_non_null(strstr(buf, "model id 0 at register"));
	assert_int_equal(rate.held, 49);
	free(im);
}

static void
test_chain_guards(void **state)
{
	struct image *im;
	struct sunspec_io io;
	struct sunspec_dev dev;
	uint32_t a;
	(void)state;

	/* model id 0 */
	im = image_new();
	io = io_of(im);
	image_marker(im, 40000);
	a = image_model(im, 40002, 1, 66);
	image_put(im, a, 0);
	image_put(im, a + 1, 10);
	assert_int_equal(sunspec_walk(&io, 40000, &dev), PW_ERR_CORRUPT);
	free(im);

	/* a length that runs past register 65535 */
	im = image_new();
	io = io_of(im);
	image_marker(im, 50000);
	a = image_model(im, 50002, 1, 65);
	image_put(im, a, 64000);
	image_put(im, a + 1, 65000);
	assert_int_equal(sunspec_walk(&io, 50000, &dev), PW_ERR_CORRUPT);
	free(im);

	/* more than 64 models */
	im = image_new();
	io = io_of(im);
	image_marker(im, 0);
	a = image_model(im, 2, 1, 66);
	for (int i = 0; i < SUNSPEC_MAX_MODELS; i++)
		a = image_model(im, a, 64000, 1);
	image_end(im, a);
	assert_int_equal(sunspec_walk(&io, 0, &dev), PW_ERR_CORRUPT);
	free(im);

	/* exactly 64 models is fine */
	im = image_new();
	io = io_of(im);
	image_marker(im, 0);
	a = image_model(im, 2, 1, 66);
	for (int i = 0; i < SUNSPEC_MAX_MODELS - 1; i++)
		a = image_model(im, a, 64000, 1);
	image_end(im, a);
	assert_int_equal(sunspec_walk(&io, 0, &dev), PW_OK);
	assert_int_equal(dev.nmodels, SUNSPEC_MAX_MODELS);
	free(im);

	/* common model with a length other than 65/66 */
	im = image_new();
	io = io_of(im);
	image_marker(im, 40000);
	a = image_model(im, 40002, 1, 67);
	image_end(im, a);
	assert_int_equal(sunspec_walk(&io, 40000, &dev), PW_ERR_CORRUPT);
	free(im);

	/* common model of length 65 (no pad) is accepted */
	im = image_new();
	io = io_of(im);
	image_marker(im, 40000);
	a = image_model(im, 40002, 1, 65);
	image_end(im, a);
	assert_int_equal(sunspec_walk(&io, 40000, &dev), PW_OK);
	assert_int_equal(dev.nmodels, 1);
	free(im);

	/* exception instead of the end marker, after models: end of chain */
	im = image_new();
	io = io_of(im);
	image_marker(im, 40000);
	a = image_model(im, 40002, 1, 66);
	a = image_model(im, a, 203, 105);
	assert_int_equal(sunspec_walk(&io, 40000, &dev), PW_OK);
	assert_int_equal(dev.nmodels, 2);
	free(im);

	/* exception at the first header: an error */
	im = image_new();
	io = io_of(im);
	image_marker(im, 40000);
	assert_int_equal(sunspec_walk(&io, 40000, &dev), PW_ERR_MODBUS_EXC);
	free(im);

	/* an empty chain */
	im = image_new();
	io = io_of(im);
	image_marker(im, 40000);
	image_end(im, 40002);
	assert_int_equal(sunspec_walk(&io, 40000, &dev), PW_ERR_CORRUPT);
	free(im);

	/* a timeout mid-walk is passed up */
	im = image_new();
	io = io_of(im);
	image_marker(im, 40000);
	a = image_model(im, 40002, 1, 66);
	image_end(im, a);
	im->fail_after = 1;
	assert_int_equal(sunspec_walk(&io, 40000, &dev), PW_ERR_TIMEOUT);
	free(im);
}

/* --- read plan ----------------------------------------------------------------- */

static void
check_plan(const struct sunspec_model_def *def, uint16_t len, int nrep, bool expect_sf_together)
{
	uint16_t starts[32], counts[32];
	uint16_t nregs = (uint16_t)(2 + len);
	int n = sunspec_plan(def, nregs, nrep, starts, counts, 32);
	uint32_t next = 0;

	assert_true(n >= 1);
	for (int i = 0; i < n; i++) {
		assert_int_equal(starts[i], next);
		assert_true(counts[i] >= 1 && counts[i] <= SUNSPEC_MAX_READ);
		next += counts[i];
		/* Each request ends on a point boundary. */
		bool boundary = next == nregs;
		for (uint16_t k = 0; k < def->nfixed && !boundary; k++)
			if (def->fixed[k].offset + def->fixed[k].size == (int)next)
				boundary = true;
		for (int r = 0; r < nrep && !boundary; r++)
			for (uint16_t k = 0; k < def->nrep; k++)
				if (2 + def->fixed_len + r * def->rep_len + def->rep[k].offset +
				        def->rep[k].size ==
				    (int)next)
					boundary = true;
		if (!boundary)
			fail_msg("model %u: request %d ends inside a point at %u", def->id, i,
			         next);
	}
	assert_int_equal(next, nregs);
	if (!expect_sf_together)
		return;
	for (uint16_t k = 0; k < def->nfixed; k++) {
		const struct sunspec_point *p = &def->fixed[k];
		if (p->sf < 0)
			continue;
		int rp = -1, rs = -1;
		for (int i = 0; i < n; i++) {
			if (p->offset >= starts[i] && p->offset < starts[i] + counts[i])
				rp = i;
			if (def->fixed[p->sf].offset >= starts[i] &&
			    def->fixed[p->sf].offset < starts[i] + counts[i])
				rs = i;
		}
		if (rp != rs)
			fail_msg("model %u: %s and its scale factor in different requests", def->id,
			         p->name);
	}
}

static void
test_plan_every_model(void **state)
{
	size_t n;
	const struct sunspec_model_def *defs = sunspec_model_all(&n);
	(void)state;

	assert_int_equal(n, 25); /* with 702 and 704 */
	for (size_t i = 0; i < n; i++) {
		check_plan(&defs[i], defs[i].fixed_len, 0, true);
		if (defs[i].rep != NULL) {
			check_plan(&defs[i], (uint16_t)(defs[i].fixed_len + 2 * defs[i].rep_len), 2,
			           true);
			/* 160 with many modules cannot keep all values with their SF: still valid.
			 */
			check_plan(&defs[i], (uint16_t)(defs[i].fixed_len + 20 * defs[i].rep_len),
			           20, false);
		}
	}
	/* The float meters (124 + 2 registers) need two requests, 701 (155) more. */
	uint16_t s[32], c[32];
	assert_int_equal(sunspec_plan(sunspec_model_find(213), 126, 0, s, c, 32), 2);
	assert_true(sunspec_plan(sunspec_model_find(701), 155, 0, s, c, 32) >= 2);
	assert_int_equal(sunspec_plan(sunspec_model_find(203), 107, 0, s, c, 32), 1);
	assert_int_equal(sunspec_plan(sunspec_model_find(701), 155, 0, s, c, 1), -1);
}

/* --- blocks, points and polls ----------------------------------------------------- */

struct dev_addrs {
	uint32_t common, inv, meter;
};

static struct image *
int_device(struct dev_addrs *ad)
{
	struct image *im = image_new();
	uint32_t a;

	image_marker(im, 40000);
	ad->common = 40002;
	a = image_model(im, ad->common, 1, 66);
	set_str(im, ad->common, 1, "Mn", "peerwatt");
	set_str(im, ad->common, 1, "Md", "sim-int");
	set_str(im, ad->common, 1, "Vr", "1.2.3");
	set_str(im, ad->common, 1, "SN", "PW0001");
	ad->inv = a;
	a = image_model(im, a, 103, 50);
	set_pt(im, ad->inv, 103, "W", 3210);
	set_pt(im, ad->inv, 103, "W_SF", 0);
	set_pt(im, ad->inv, 103, "WH", 1234567);
	set_pt(im, ad->inv, 103, "WH_SF", 1); /* 12345670 Wh */
	set_pt(im, ad->inv, 103, "St", 4);
	ad->meter = a;
	a = image_model(im, a, 203, 105);
	set_pt(im, ad->meter, 203, "W", (uint16_t)-15000);
	set_pt(im, ad->meter, 203, "W_SF", (uint16_t)-1); /* -1500.0 W */
	set_pt(im, ad->meter, 203, "TotWhExp", 4000000);
	set_pt(im, ad->meter, 203, "TotWhImp", 2500000);
	set_pt(im, ad->meter, 203, "TotWh_SF", 0);
	image_end(im, a);
	return im;
}

static void
test_poll_int_device(void **state)
{
	struct dev_addrs ad;
	struct image *im = int_device(&ad);
	struct sunspec_io io = io_of(im);
	struct sunspec_dev dev;
	struct sunspec_reading r;
	(void)state;

	assert_int_equal(sunspec_discover(&io, &dev, NULL), PW_OK);
	assert_int_equal(sunspec_poll(&io, &dev, &r), PW_OK);
	assert_true(im->max_count <= SUNSPEC_MAX_READ);
	assert_true(r.has_common);
	assert_string_equal(r.manufacturer, "peerwatt");
	assert_string_equal(r.model, "sim-int");
	assert_string_equal(r.version, "1.2.3");
	assert_string_equal(r.serial, "PW0001");
	assert_true(r.has_inverter);
	assert_int_equal(r.inverter_model, 103);
	assert_true(r.has_ac_power);
	assert_true(r.ac_power_w == 3210.0);
	assert_true(r.has_ac_energy);
	assert_int_equal(r.ac_energy_wh, 12345670);
	assert_true(r.has_status);
	assert_int_equal(r.status, 4);
	assert_string_equal(r.status_name, "MPPT");
	assert_true(r.has_meter);
	assert_int_equal(r.meter_model, 203);
	assert_true(r.has_meter_power);
	assert_true(fabs(r.meter_power_w + 1500.0) < 1e-9);
	assert_true(r.has_export && r.has_import);
	assert_int_equal(r.export_wh, 4000000);
	assert_int_equal(r.import_wh, 2500000);
	assert_int_equal(r.acc_bits, 32);

	/* Sentinels: the point is absent from the reading, never zero. */
	set_pt(im, ad.inv, 103, "W", 0x8000);
	set_pt(im, ad.inv, 103, "WH", 0);
	set_pt(im, ad.meter, 203, "TotWh_SF", 0x8000);
	set_pt(im, ad.inv, 103, "St", 0xFFFF);
	assert_int_equal(sunspec_poll(&io, &dev, &r), PW_OK);
	assert_false(r.has_ac_power);
	assert_false(r.has_ac_energy);
	assert_false(r.has_status);
	assert_false(r.has_export);
	assert_false(r.has_import);
	assert_true(r.has_meter_power);

	/* Scale factors are re-read each poll and applied with their value. */
	set_pt(im, ad.inv, 103, "W", 321);
	set_pt(im, ad.inv, 103, "W_SF", 1);
	set_pt(im, ad.meter, 203, "TotWh_SF", 3); /* kWh counter */
	set_pt(im, ad.meter, 203, "TotWhExp", 4000);
	assert_int_equal(sunspec_poll(&io, &dev, &r), PW_OK);
	assert_true(r.ac_power_w == 3210.0);
	assert_int_equal(r.export_wh, 4000000);
	assert_int_equal(r.export_raw, 4000);
	assert_int_equal(r.export_sf, 3);

	/* A scale factor outside -10..10 is malformed: the value is dropped. */
	set_pt(im, ad.inv, 103, "W_SF", 11);
	assert_int_equal(sunspec_poll(&io, &dev, &r), PW_OK);
	assert_false(r.has_ac_power);

	/* Model moved under us (device reconfigured): the caller must rediscover. */
	im->regs[ad.meter] = 204;
	assert_int_equal(sunspec_poll(&io, &dev, &r), PW_ERR_STATE);
	im->regs[ad.meter] = 203;

	/* A transport error mid-poll is an error, not a partial reading. */
	im->nreads = 0;
	im->fail_after = 2;
	assert_int_equal(sunspec_poll(&io, &dev, &r), PW_ERR_TIMEOUT);
	free(im);
}

static void
test_poll_float_device(void **state)
{
	struct image *im = image_new();
	struct sunspec_io io = io_of(im);
	struct sunspec_dev dev;
	struct sunspec_reading r;
	uint32_t a, inv, met;
	(void)state;

	image_marker(im, 50000);
	a = image_model(im, 50002, 1, 65);
	set_str(im, 50002, 1, "Mn", "Acme \x01Solar   ");
	inv = a;
	a = image_model(im, a, 113, 60);
	set_f32(im, inv, 113, "W", 2500.25f);
	set_f32(im, inv, 113, "WH", 987654.75f);
	set_pt(im, inv, 113, "St", 2);
	met = a;
	a = image_model(im, a, 213, 124);
	set_f32(im, met, 213, "W", 800.0f);
	set_f32(im, met, 213, "TotWhExp", 100.9f);
	set_f32(im, met, 213, "TotWhImp", 250000.0f);
	image_end(im, a);
	assert_int_equal(sunspec_discover(&io, &dev, NULL), PW_OK);
	assert_int_equal(dev.base, 50000);
	im->max_count = 0;
	assert_int_equal(sunspec_poll(&io, &dev, &r), PW_OK);
	assert_true(im->max_count <= SUNSPEC_MAX_READ);
	assert_string_equal(r.manufacturer, "Acme ?Solar");
	assert_string_equal(r.model, ""); /* not implemented: all zero */
	assert_int_equal(r.inverter_model, 113);
	assert_true(r.ac_power_w == 2500.25);
	assert_int_equal(r.ac_energy_wh, 987654);
	assert_string_equal(r.status_name, "SLEEPING");
	assert_int_equal(r.meter_model, 213);
	assert_true(r.meter_power_w == 800.0);
	assert_int_equal(r.export_wh, 100);
	assert_int_equal(r.import_wh, 250000);
	assert_int_equal(r.acc_bits, 0);

	/* NaN is "not implemented"; a negative accumulator is implausible. */
	set_pt(im, met, 213, "W", 0x7FC00000);
	set_f32(im, met, 213, "TotWhImp", -5.0f);
	assert_int_equal(sunspec_poll(&io, &dev, &r), PW_OK);
	assert_false(r.has_meter_power);
	assert_false(r.has_import);
	assert_true(r.has_export);
	free(im);
}

static void
test_short_block_and_repeats(void **state)
{
	struct image *im = image_new();
	struct sunspec_io io = io_of(im);
	struct sunspec_dev dev;
	struct sunspec_block blk;
	double d;
	char s[40];
	uint32_t a, mp;
	(void)state;

	image_marker(im, 40000);
	a = image_model(im, 40002, 1, 65);
	/* 160 with 3 modules and a half (the half is ignored). */
	mp = a;
	a = image_model(im, a, 160, 8 + 3 * 20 + 10);
	set_pt(im, mp, 160, "DCW_SF", 0);
	set_pt(im, mp, 160, "N", 3);
	for (int m = 0; m < 3; m++) {
		uint32_t r0 = mp + 10 + (uint32_t)m * 20;
		im->regs[r0 + 0] = (uint16_t)(m + 1);          /* ID */
		im->regs[r0 + 11] = (uint16_t)(100 * (m + 1)); /* DCW */
	}
	/* a meter that reports a truncated block: points beyond it are absent */
	a = image_model(im, a, 203, 20);
	image_end(im, a);
	assert_int_equal(sunspec_discover(&io, &dev, NULL), PW_OK);
	assert_int_equal(dev.nmodels, 3);

	assert_int_equal(sunspec_read_block(&io, &dev.models[0], &blk), PW_OK);
	assert_int_equal(sunspec_get_string(&blk, "Pad", -1, s, sizeof(s)), PW_ERR_NOTFOUND);
	assert_int_equal(sunspec_get_string(&blk, "SN", -1, s, 10), PW_ERR_FULL);
	assert_int_equal(sunspec_get_number(&blk, "NoSuch", -1, &d), PW_ERR_NOTFOUND);

	assert_int_equal(sunspec_read_block(&io, &dev.models[1], &blk), PW_OK);
	assert_int_equal(blk.nrepeats, 3);
	for (int m = 0; m < 3; m++) {
		assert_int_equal(sunspec_get_number(&blk, "DCW", m, &d), PW_OK);
		assert_true(d == 100.0 * (m + 1));
	}
	assert_int_equal(sunspec_get_number(&blk, "DCW", 3, &d), PW_ERR_NOTFOUND);
	assert_int_equal(sunspec_get_number(&blk, "DCA", 0, &d), PW_ERR_NOT_IMPL); /* SF sentinel */

	assert_int_equal(sunspec_read_block(&io, &dev.models[2], &blk), PW_OK);
	assert_int_equal(sunspec_get_number(&blk, "TotWhExp", -1, &d), PW_ERR_NOTFOUND);

	struct sunspec_model_ref unknown = { 999, 4, 40100 };
	assert_int_equal(sunspec_read_block(&io, &unknown, &blk), PW_ERR_NOTFOUND);
	free(im);
}

/* Write the value 1 (strings: "AB") into a point's registers, in its type's encoding. */
static void
put_one(uint16_t *r, const struct sunspec_point *p)
{
	memset(r, 0, p->size * sizeof(uint16_t));
	switch (p->type) {
	case SUNSPEC_T_STRING:
		r[0] = 0x4142;
		break;
	case SUNSPEC_T_FLOAT32:
		r[0] = 0x3F80; /* 1.0f */
		break;
	case SUNSPEC_T_FLOAT64:
		r[0] = 0x3FF0; /* 1.0 */
		break;
	case SUNSPEC_T_SUNSSF:
		break; /* scale factors 0: values read as written */
	default:
		r[p->size - 1] = 1;
		break;
	}
}

/* Every point of every model: "not implemented" first, then a real value. */
static void
test_every_model_every_point(void **state)
{
	size_t n;
	const struct sunspec_model_def *defs = sunspec_model_all(&n);
	struct sunspec_block *blk = malloc(sizeof(*blk));
	(void)state;

	assert_non_null(blk);
	for (size_t m = 0; m < n; m++) {
		const struct sunspec_model_def *d = &defs[m];
		int nrep = d->rep != NULL ? 2 : 0;
		uint16_t len = (uint16_t)(d->fixed_len + nrep * d->rep_len);
		uint16_t regs[SUNSPEC_BLOCK_MAX];
		struct sunspec_model_ref ref = { d->id, len, 40002 };

		for (int pass = 0; pass < 2; pass++) {
			memset(regs, 0, sizeof(regs));
			regs[0] = d->id;
			regs[1] = len;
			for (int rep = -1; rep < nrep; rep++) {
				const struct sunspec_point *pts = rep < 0 ? d->fixed : d->rep;
				uint16_t np = rep < 0 ? d->nfixed : d->nrep;
				uint32_t base =
				    rep < 0 ? 0 : 2u + d->fixed_len + (uint32_t)rep * d->rep_len;
				for (uint16_t i = rep < 0 ? 2 : 0; i < np; i++) {
					uint16_t *r = &regs[base + pts[i].offset];
					if (pass == 0)
						sunspec_sentinel(pts[i].type, pts[i].size, r);
					else
						put_one(r, &pts[i]);
				}
			}
			assert_int_equal(sunspec_block_load(blk, &ref, regs, 2u + len), PW_OK);
			assert_int_equal(blk->nrepeats, nrep);
			for (int rep = -1; rep < nrep; rep++) {
				const struct sunspec_point *pts = rep < 0 ? d->fixed : d->rep;
				uint16_t np = rep < 0 ? d->nfixed : d->nrep;
				for (uint16_t i = rep < 0 ? 2 : 0; i < np; i++) {
					const struct sunspec_point *p = &pts[i];
					double v = -1;
					char str[400];
					pw_err rc;
					if (p->type == SUNSPEC_T_STRING) {
						rc = sunspec_get_string(blk, p->name, rep, str,
						                        sizeof(str));
						if (pass == 0)
							assert_int_equal(rc, PW_ERR_NOT_IMPL);
						else
							assert_string_equal(str, "AB");
						continue;
					}
					rc = sunspec_get_number(blk, p->name, rep, &v);
					if (p->type == SUNSPEC_T_PAD) {
						assert_int_not_equal(rc, PW_OK); /* never a value */
						continue;
					}
					if (pass == 0) {
						if (rc != PW_ERR_NOT_IMPL)
							fail_msg("model %u %s (%s): sentinel gave "
							         "%d (%f)",
							         d->id, p->name,
							         sunspec_type_name(p->type), rc, v);
						continue;
					}
					if (rc != PW_OK)
						fail_msg("model %u %s (%s): %d", d->id, p->name,
						         sunspec_type_name(p->type), rc);
					assert_true(v == (p->type == SUNSPEC_T_SUNSSF ? 0.0 : 1.0));
					if (p->type == SUNSPEC_T_ENUM16 ||
					    p->type == SUNSPEC_T_ENUM32) {
						uint32_t e;
						const char *sym;
						assert_int_equal(
						    sunspec_get_symbol(blk, p->name, rep, &e, &sym),
						    PW_OK);
						assert_int_equal(e, 1);
						for (uint16_t k = 0; k < p->nsyms; k++)
							if (p->syms[k].value == 1)
								assert_string_equal(
								    sym, p->syms[k].name);
					}
				}
			}
		}
	}
	free(blk);
}

static void
test_scale_wh(void **state)
{
	int64_t wh;
	(void)state;
	assert_int_equal(sunspec_scale_wh(1234, 0, &wh), PW_OK);
	assert_int_equal(wh, 1234);
	assert_int_equal(sunspec_scale_wh(1234, 3, &wh), PW_OK);
	assert_int_equal(wh, 1234000);
	assert_int_equal(sunspec_scale_wh(1299, -2, &wh), PW_OK);
	assert_int_equal(wh, 12);
	assert_int_equal(sunspec_scale_wh(INT64_MAX / 2, 10, &wh), PW_ERR_OVERFLOW);
	assert_int_equal(sunspec_scale_wh(5, 11, &wh), PW_ERR_RANGE);
	assert_int_equal(sunspec_scale_wh(-5, 0, &wh), PW_ERR_RANGE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_every_type),
		cmocka_unit_test(test_decode_floats_and_strings),
		cmocka_unit_test(test_discover_each_base),
		cmocka_unit_test(test_discover_no_marker),
		cmocka_unit_test(test_chain_guards),
		cmocka_unit_test(test_chain_warning_rated),
		cmocka_unit_test(test_walk_resume),
		cmocka_unit_test(test_plan_every_model),
		cmocka_unit_test(test_poll_int_device),
		cmocka_unit_test(test_poll_float_device),
		cmocka_unit_test(test_short_block_and_repeats),
		cmocka_unit_test(test_every_model_every_point),
		cmocka_unit_test(test_scale_wh),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
