/*
 * engine_commit.c: the batch's COMMIT on a thread of its own.
 *
 * A COMMIT waits for the fsync of the WAL (and, every few hundred WAL
 * pages, for the checkpoint that copies them into the database file).
 * While it waits, the main thread receives the requests that arrive and
 * checks their signatures itself (the pool's threads only for more than
 * two), so the next batch is ready to apply when the COMMIT returns
 * instead of starting its checks then (docs/exchange.md "The request
 * path").  Nothing else touches the store
 * while a COMMIT runs here, and no reply of the batch is sent before it
 * returned.
 */
#include "exchange/engine_int.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct engine_committer {
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct store *store; /* of the COMMIT asked for (under mu) */
	int go, busy, stop;  /* under mu */
	pw_err rc;           /* of the last COMMIT (under mu) */
	int efd;             /* eventfd: readable once a COMMIT returned */
};

static void *
committer_main(void *arg)
{
	struct engine_committer *c = arg;
	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->go && !c->stop)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->stop)
			break;
		c->go = 0;
		struct store *st = c->store;
		pthread_mutex_unlock(&c->mu);
		pw_err rc = store_commit(st);
		pthread_mutex_lock(&c->mu);
		c->rc = rc;
		c->busy = 0;
		uint64_t one = 1;
		while (write(c->efd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

struct engine_committer *
engine_committer_new(void)
{
	struct engine_committer *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->efd < 0) {
		free(c);
		return NULL;
	}
	if (pthread_mutex_init(&c->mu, NULL) != 0)
		goto fail_fd;
	if (pthread_cond_init(&c->cv, NULL) != 0)
		goto fail_mu;
	if (pthread_create(&c->tid, NULL, committer_main, c) != 0)
		goto fail_cv;
	return c;
fail_cv:
	pthread_cond_destroy(&c->cv);
fail_mu:
	pthread_mutex_destroy(&c->mu);
fail_fd:
	close(c->efd);
	free(c);
	return NULL;
}

void
engine_committer_free(struct engine_committer **cp)
{
	struct engine_committer *c = *cp;
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->tid, NULL);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	close(c->efd);
	free(c);
	*cp = NULL;
}

int
engine_committer_fd(const struct engine_committer *c)
{
	return c->efd;
}

void
engine_committer_start(struct engine_committer *c, struct store *st)
{
	pthread_mutex_lock(&c->mu);
	c->store = st;
	c->go = 1;
	c->busy = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

int
engine_committer_done(struct engine_committer *c, pw_err *rc)
{
	uint64_t v;
	int busy;
	pthread_mutex_lock(&c->mu);
	busy = c->busy;
	*rc = c->rc;
	pthread_mutex_unlock(&c->mu);
	if (!busy) /* the wake-up of this COMMIT is consumed */
		while (read(c->efd, &v, sizeof(v)) < 0 && errno == EINTR)
			;
	return !busy;
}
