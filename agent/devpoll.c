/*
 * devpoll.c: the device thread and its mailbox (see devpoll.h).
 */
#include "agent/devpoll.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "peerwatt/log.h"

struct devpoll {
	/* the thread's own: never touched by the loop while it runs */
	struct dev *inv, *meter; /* meter NULL: inv is the meter */
	unsigned long rounds;
	bool have_serial;
	int64_t offset_ms;
	/* immutable after start */
	char inv_url[DEV_URL_MAX], meter_url[DEV_URL_MAX];
	char meter_source[DEV_SOURCE_MAX + 1];
	int efd;
	pthread_t th;
	/* shared: under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	uint32_t poll_ms;
	struct devpoll_sample q[DEVPOLL_QUEUE];
	size_t head, n;
	unsigned long dropped;
	struct ctl_cmd ctl;      /* the latest control asked for */
	bool ctl_pending;        /* ... and not carried out yet */
	bool ctl_busy;           /* one is being carried out (devpoll_stop waits for it) */
	struct stctl_cfg st_cfg; /* the latest battery setpoint asked for */
	struct stctl_cmd st;
	uint64_t st_gen;
	bool st_pending;
};

static int64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
wall_ms(const struct devpoll *d)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + d->offset_ms;
}

static bool
has_meter(const struct dev *m)
{
	const struct tmpl *t = dev_template(m);

	if (t != NULL)
		return (t->roles & TMPL_ROLE_METER) != 0;
	if (strcmp(dev_source(m), "sunspec") == 0)
		return dev_sunspec(m) != NULL && !dev_lacks_meter(m);
	return true; /* another backend is a meter reader */
}

/*
 * One round, as the loop used to do it: the meter's values every poll (one
 * request for a SunSpec meter model), everything every 8th poll and until
 * the meter's serial is known; a separate inverter every 4th for its PV.
 */
static void
poll_round(struct devpoll *d, struct devpoll_sample *s)
{
	struct dev *m = d->meter != NULL ? d->meter : d->inv;

	memset(s, 0, sizeof(*s));
	d->rounds++;
	if (d->meter != NULL && d->rounds % 4 == 1) {
		struct dev_reading r;
		s->inv_polled = true;
		s->inv_rc = dev_poll(d->inv, DEV_WANT_ALL, &r);
		s->inv_has_pv = s->inv_rc == PW_OK && r.has_ac_power;
		s->inv_pv_w = s->inv_has_pv ? r.ac_power_w : 0;
	}
	s->full = d->rounds % 8 == 1 || !d->have_serial;
	s->discovering = strcmp(dev_source(m), "sunspec") == 0 && dev_sunspec(m) == NULL;
	s->t_ms = wall_ms(d);
	s->rc = dev_poll(m, s->full ? DEV_WANT_ALL : DEV_WANT_METER, &s->rd);
	if (s->rc == PW_OK && s->rd.meter_serial[0] != '\0')
		d->have_serial = true;
	s->has_meter = has_meter(m);
	s->lacks_meter = dev_lacks_meter(m);
}

/* A control carried out while stopping: said in the log, as nobody reads
 * the sample any more. */
static void
stop_note(const struct ctl_cmd *cmd, const struct ctl_result *res)
{
	if (res->rc == PW_OK)
		log_info("curtailment: export limit %s at the stop (read back)",
		         cmd->limit ? "written" : "lifted");
	else
		log_warnx("curtailment: %s the export limit at the stop failed: %s; it lifts "
		          "itself at its revert timeout",
		          cmd->limit ? "writing" : "lifting", res->detail);
}

static void *
thread_main(void *arg)
{
	struct devpoll *d = arg;
	struct devpoll_sample s;
	const uint64_t one = 1;

	pthread_mutex_lock(&d->mu);
	while (!d->stop) {
		int64_t start = mono_ms(), next;
		struct ctl_cmd cmd = d->ctl;
		bool ctl = d->ctl_pending;
		struct stctl_cfg st_cfg = d->st_cfg;
		struct stctl_cmd st = d->st;
		uint64_t st_gen = d->st_gen;
		bool stp = d->st_pending;
		d->ctl_pending = false;
		d->ctl_busy = ctl;
		d->st_pending = false;
		pthread_mutex_unlock(&d->mu);
		poll_round(d, &s); /* the I/O, without the lock */
		if (ctl) {
			/* after the polls: a SunSpec device is discovered by then */
			s.ctl_done = true;
			if (dev_control(d->inv, &cmd, &s.ctl) != PW_OK)
				log_debug("devpoll: control: %s", s.ctl.detail);
		}
		if (stp) {
			s.st_done = true;
			s.st_gen = st_gen;
			if (dev_storage_control(d->inv, &st_cfg, &st, &s.st) != PW_OK)
				log_debug("devpoll: battery: %s", s.st.detail);
		}
		pthread_mutex_lock(&d->mu);
		d->ctl_busy = false;
		if (ctl && d->stop) /* the loop will not read this sample */
			stop_note(&cmd, &s.ctl);
		if (d->n == DEVPOLL_QUEUE) {
			d->head = (d->head + 1) % DEVPOLL_QUEUE;
			d->n--;
			d->dropped++;
		}
		d->q[(d->head + d->n) % DEVPOLL_QUEUE] = s;
		d->n++;
		/* wake the loop; a full counter (never) just stays readable */
		if (write(d->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_debug("devpoll: eventfd: %s", strerror(errno));
		next = start + d->poll_ms;
		while (!d->stop) {
			int64_t now = mono_ms();
			if (now >= next || d->ctl_pending || d->st_pending)
				break;
			struct timespec ts = { (time_t)(next / 1000),
				               (long)(next % 1000) * 1000000L };
			pthread_cond_timedwait(&d->cv, &d->mu, &ts);
		}
	}
	if (d->ctl_pending) {
		/* asked just before the stop (a limit lifted at a graceful stop):
		 * devpoll_stop left the link alone for it */
		struct ctl_cmd cmd = d->ctl;
		struct ctl_result res;
		d->ctl_pending = false;
		pthread_mutex_unlock(&d->mu);
		if (dev_control(d->inv, &cmd, &res) == PW_OK)
			log_info("curtailment: export limit %s at the stop (read back)",
			         cmd.limit ? "written" : "lifted");
		else
			log_warnx(
			    "curtailment: %s the export limit at the stop failed: %s; it lifts "
			    "itself at its revert timeout",
			    cmd.limit ? "writing" : "lifting", res.detail);
		pthread_mutex_lock(&d->mu);
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

pw_err
devpoll_start(struct dev **inv, struct dev **meter, uint32_t poll_ms, int64_t clock_offset_ms,
              struct devpoll **out)
{
	struct devpoll *d = calloc(1, sizeof(*d));
	pthread_condattr_t ca;

	*out = NULL;
	if (d == NULL) {
		dev_destroy(inv);
		dev_destroy(meter);
		return PW_ERR_NOMEM;
	}
	d->inv = *inv;
	d->meter = *meter;
	*inv = *meter = NULL;
	d->poll_ms = poll_ms;
	d->offset_ms = clock_offset_ms;
	snprintf(d->inv_url, sizeof(d->inv_url), "%s", dev_url(d->inv));
	snprintf(d->meter_url, sizeof(d->meter_url), "%s",
	         dev_url(d->meter != NULL ? d->meter : d->inv));
	snprintf(d->meter_source, sizeof(d->meter_source), "%s",
	         dev_source(d->meter != NULL ? d->meter : d->inv));
	d->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->efd < 0 || pthread_mutex_init(&d->mu, NULL) != 0) {
		if (d->efd >= 0)
			close(d->efd);
		dev_destroy(&d->inv);
		dev_destroy(&d->meter);
		free(d);
		return PW_ERR_IO;
	}
	/* the thread waits on the monotonic clock: a wall-clock step changes
	 * no poll period */
	if (pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&d->cv, &ca) != 0) {
		pthread_mutex_destroy(&d->mu);
		close(d->efd);
		dev_destroy(&d->inv);
		dev_destroy(&d->meter);
		free(d);
		return PW_ERR_IO;
	}
	pthread_condattr_destroy(&ca);
	if (pthread_create(&d->th, NULL, thread_main, d) != 0) {
		pthread_cond_destroy(&d->cv);
		pthread_mutex_destroy(&d->mu);
		close(d->efd);
		dev_destroy(&d->inv);
		dev_destroy(&d->meter);
		free(d);
		return PW_ERR_IO;
	}
	*out = d;
	return PW_OK;
}

void
devpoll_stop(struct devpoll **dp)
{
	struct devpoll *d;
	bool pending;

	if (dp == NULL || *dp == NULL)
		return;
	d = *dp;
	pthread_mutex_lock(&d->mu);
	d->stop = true;
	pending = d->ctl_pending || d->ctl_busy;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
	/* a transaction under way ends now rather than at its deadline; but a
	 * control asked last (lifting an export limit) is carried out first,
	 * within the link's deadlines */
	if (!pending) {
		dev_interrupt(d->inv);
		dev_interrupt(d->meter);
	}
	pthread_join(d->th, NULL);
	dev_destroy(&d->inv);
	dev_destroy(&d->meter);
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
	close(d->efd);
	free(d);
	*dp = NULL;
}

int
devpoll_fd(const struct devpoll *d)
{
	return d->efd;
}

size_t
devpoll_take(struct devpoll *d, struct devpoll_sample *out, size_t cap)
{
	size_t k = 0;
	uint64_t v;

	pthread_mutex_lock(&d->mu);
	while (k < cap && d->n > 0) {
		out[k++] = d->q[d->head];
		d->head = (d->head + 1) % DEVPOLL_QUEUE;
		d->n--;
	}
	/* reset under the lock: a sample queued later writes it again */
	if (d->n == 0 && read(d->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug("devpoll: eventfd: %s", strerror(errno));
	pthread_mutex_unlock(&d->mu);
	return k;
}

void
devpoll_set_period(struct devpoll *d, uint32_t poll_ms)
{
	pthread_mutex_lock(&d->mu);
	d->poll_ms = poll_ms;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

void
devpoll_set_control(struct devpoll *d, const struct ctl_cmd *cmd)
{
	pthread_mutex_lock(&d->mu);
	d->ctl = *cmd;
	d->ctl_pending = true;
	pthread_cond_signal(&d->cv); /* now rather than at the next period */
	pthread_mutex_unlock(&d->mu);
}

void
devpoll_set_storage(struct devpoll *d, const struct stctl_cfg *cfg, const struct stctl_cmd *cmd,
                    uint64_t gen)
{
	pthread_mutex_lock(&d->mu);
	d->st_cfg = *cfg;
	d->st = *cmd;
	d->st_gen = gen;
	d->st_pending = true;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

unsigned long
devpoll_dropped(struct devpoll *d)
{
	unsigned long v;
	pthread_mutex_lock(&d->mu);
	v = d->dropped;
	pthread_mutex_unlock(&d->mu);
	return v;
}

const char *
devpoll_meter_url(const struct devpoll *d)
{
	return d->meter_url;
}

const char *
devpoll_inv_url(const struct devpoll *d)
{
	return d->inv_url;
}

const char *
devpoll_meter_source(const struct devpoll *d)
{
	return d->meter_source;
}
