/*
 * smdev.c: p1: and sml: as device backends (see smdev.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/smdev.h"
#include "agent/smeter.h"
#include "peerwatt/log.h"

struct smdev {
	struct smeter *s;
	bool have_last;
	struct smeter_reading last;
};

static pw_err
smdev_open(const char *url, const struct dev_cfg *cfg, void **state, char *err, size_t errlen)
{
	struct smeter_cfg sc;
	struct smdev *d;
	pw_err rc;

	*state = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return PW_ERR_NOMEM;
	smeter_cfg_defaults(&sc);
	sc.stall_ms = cfg->timeout_ms != 0 ? cfg->timeout_ms : SMDEV_STALL_MS;
	sc.defer_open = true;
	if ((rc = smeter_open(url, &sc, &d->s)) != PW_OK) {
		snprintf(err, errlen,
		         rc == PW_ERR_PARSE ? "%s: not a smart-meter URL (sml:/dev/X[:BAUD] or "
		                              "p1:/dev/X[:BAUD], BAUD 300..115200)"
		         : rc == PW_ERR_RANGE
		             ? "%s: timeout_ms (the stall limit) must be 100..3600000"
		             : "%s: %s",
		         url, pw_strerror(rc));
		free(d);
		return rc;
	}
	*state = d;
	return PW_OK;
}

static void
fill(const struct smeter_reading *m, struct dev_reading *r)
{
	r->has_meter = true;
	r->meter_model = 0;
	r->has_meter_power = m->has_power;
	r->meter_power_w = (double)m->power_w;
	r->has_export = m->has_export;
	r->export_wh = m->export_wh;
	r->export_raw = m->exp.raw;
	r->export_sf = m->exp.sf;
	r->export_bits = 0;
	r->has_import = m->has_import;
	r->import_wh = m->import_wh;
	r->import_raw = m->imp.raw;
	r->import_sf = m->imp.sf;
	r->import_bits = 0;
	snprintf(r->meter_serial, sizeof(r->meter_serial), "%.32s", m->serial);
}

static pw_err
smdev_poll(void *state, unsigned want, struct dev_reading *r)
{
	struct smdev *d = state;
	struct smeter_reading m;
	pw_err rc;

	(void)want; /* a telegram carries everything at once */
	rc = smeter_read(d->s, 0, &m);
	if (rc == PW_OK) {
		d->last = m;
		d->have_last = true;
	} else if (rc == PW_ERR_IO) {
		d->have_last = false;
		return PW_ERR_UNAVAILABLE;
	}
	if (!d->have_last || smeter_stalled(d->s)) {
		d->have_last = false;
		return PW_ERR_TIMEOUT;
	}
	fill(&d->last, r);
	return PW_OK;
}

static void
smdev_close(void *state)
{
	struct smdev *d = state;

	if (d == NULL)
		return;
	smeter_destroy(&d->s);
	free(d);
}

const struct dev_backend smdev_p1_backend = {
	"p1:", "p1", smdev_open, smdev_poll, smdev_close, NULL
};
const struct dev_backend smdev_sml_backend = { "sml:",     "sml",       smdev_open,
	                                       smdev_poll, smdev_close, NULL };
