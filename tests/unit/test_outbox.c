/* test_outbox.c: numbering, durability across reopen and kill -9,
 * settle/resend bookkeeping and proof tracking of the agent's outbox. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/outbox.h"

struct fake {
	uint8_t type;
	uint64_t interval;
	int fail;
	uint64_t last_seq;
};

/* A stand-in signer: the frame spells out its number, so the test can
 * check that stored bytes belong to the stored number. */
static pw_err
fake_sign(void *ctx, uint64_t seq, uint8_t *frame, size_t cap, size_t *len, uint8_t *type,
          uint64_t *interval)
{
	struct fake *f = ctx;
	int n;
	if (f->fail)
		return PW_ERR_CRYPTO;
	n = snprintf((char *)frame, cap, "frame-%llu", (unsigned long long)seq);
	if (n < 0 || (size_t)n >= cap)
		return PW_ERR_FULL;
	*len = (size_t)n;
	*type = f->type;
	*interval = f->interval;
	f->last_seq = seq;
	return PW_OK;
}

static char tmpdir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_outbox.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
dbpath(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s.db", tmpdir, name);
}

static void
test_numbering_and_streams(void **state)
{
	struct outbox *ob = NULL;
	struct fake f = { PW_MSG_ORDER, 7, 0, 0 };
	struct outbox_item it;
	uint64_t seq, n;
	(void)state;
	assert_int_equal(outbox_open(&ob, ":memory:", 1000), PW_OK);
	assert_int_equal(outbox_add(ob, OUTBOX_ORDERS, fake_sign, &f, &seq), PW_OK);
	assert_int_equal(seq, 1000);
	assert_int_equal(outbox_add(ob, OUTBOX_ORDERS, fake_sign, &f, &seq), PW_OK);
	assert_int_equal(seq, 1001);
	f.type = PW_MSG_METER;
	assert_int_equal(outbox_add(ob, OUTBOX_METER, fake_sign, &f, &seq), PW_OK);
	assert_int_equal(seq, 1); /* readings count from 1 */
	/* a signer failure rolls back: the number is not consumed */
	f.fail = 1;
	assert_int_equal(outbox_add(ob, OUTBOX_METER, fake_sign, &f, &seq), PW_ERR_CRYPTO);
	f.fail = 0;
	assert_int_equal(outbox_add(ob, OUTBOX_METER, fake_sign, &f, &seq), PW_OK);
	assert_int_equal(seq, 2);

	assert_int_equal(outbox_next(ob, OUTBOX_ORDERS, &it), PW_OK);
	assert_int_equal(it.seq, 1000);
	assert_int_equal(it.type, PW_MSG_ORDER);
	assert_int_equal(it.interval, 7);
	assert_int_equal(it.len, strlen("frame-1000"));
	assert_memory_equal(it.frame, "frame-1000", it.len);
	assert_int_equal(it.state, OUTBOX_PENDING);
	assert_int_equal(it.log_index, OUTBOX_NO_INDEX);
	assert_int_equal(outbox_count(ob, OUTBOX_PENDING, &n), PW_OK);
	assert_int_equal(n, 4);
	outbox_close(&ob);
	assert_null(ob);
	assert_int_equal(outbox_open(&ob, ":memory:", 0), PW_ERR_RANGE);
}

/* COSIGN items: numbered by the tree size they cosign, one per size, sent
 * and answered like the others, and kept apart from the other streams. */
/* The upgrade's re-signer stand-in: "v2:" + the old frame after its first byte. */
static pw_err
upgrade_resign(void *ctx, uint64_t seq, const uint8_t *old, size_t old_len, uint8_t *frame,
               size_t cap, size_t *len)
{
	unsigned *calls = ctx;
	(void)seq;
	if (old_len + 2 > cap)
		return PW_ERR_FULL;
	frame[0] = 2;
	memcpy(frame + 1, "v2", 2);
	memcpy(frame + 3, old + 1, old_len - 1);
	*len = old_len + 2;
	(*calls)++;
	return PW_OK;
}

/* Protocol 2: the pending version-1 frames (first byte 1) re-signed under
 * their numbers, nothing else touched, once. */
static void
test_upgrade_v1_pending(void **state)
{
	struct outbox *ob = NULL;
	struct outbox_item it;
	unsigned n = 0, calls = 0;
	(void)state;
	assert_int_equal(outbox_open(&ob, ":memory:", 1000), PW_OK);
	assert_int_equal(outbox_put(ob, OUTBOX_METER, 1, 3, 7, (const uint8_t *)"\x01old-1", 6),
	                 PW_OK);
	assert_int_equal(outbox_put(ob, OUTBOX_METER, 2, 3, 8, (const uint8_t *)"\x01old-2", 6),
	                 PW_OK);
	assert_int_equal(outbox_put(ob, OUTBOX_METER, 3, 3, 9, (const uint8_t *)"\x02new-3", 6),
	                 PW_OK);
	/* item 1 was answered before the upgrade: its frame is the record */
	assert_int_equal(outbox_settle(ob, OUTBOX_METER, 1, OUTBOX_ACKED, 0, 5), PW_OK);
	assert_int_equal(outbox_upgrade(ob, upgrade_resign, &calls, &n), PW_OK);
	assert_int_equal(n, 1);
	assert_int_equal(calls, 1);
	assert_int_equal(outbox_get(ob, OUTBOX_METER, 2, &it), PW_OK);
	assert_int_equal(it.len, 8);
	assert_memory_equal(it.frame, "\x02v2old-2", 8);
	assert_int_equal(it.state, OUTBOX_PENDING);
	assert_int_equal(outbox_get(ob, OUTBOX_METER, 1, &it), PW_OK);
	assert_memory_equal(it.frame, "\x01old-1", 6);
	assert_int_equal(outbox_get(ob, OUTBOX_METER, 3, &it), PW_OK);
	assert_memory_equal(it.frame, "\x02new-3", 6);
	/* a second start finds nothing left to upgrade */
	assert_int_equal(outbox_upgrade(ob, upgrade_resign, &calls, &n), PW_OK);
	assert_int_equal(n, 0);
	assert_int_equal(calls, 1);
	outbox_close(&ob);
}

static void
test_cosign_stream(void **state)
{
	struct outbox *ob = NULL;
	struct outbox_item it;
	(void)state;
	assert_int_equal(outbox_open(&ob, ":memory:", 1000), PW_OK);
	assert_int_equal(outbox_next(ob, OUTBOX_COSIGN, &it), PW_ERR_NOTFOUND);
	assert_int_equal(
	    outbox_put(ob, OUTBOX_COSIGN, 42, PW_MSG_COSIGN, 0, (const uint8_t *)"cosign-42", 9),
	    PW_OK);
	assert_int_equal(
	    outbox_put(ob, OUTBOX_COSIGN, 42, PW_MSG_COSIGN, 0, (const uint8_t *)"other", 5),
	    PW_ERR_EXISTS);
	assert_int_equal(
	    outbox_put(ob, OUTBOX_COSIGN, 0, PW_MSG_COSIGN, 0, (const uint8_t *)"zero", 4),
	    PW_ERR_RANGE);
	assert_int_equal(
	    outbox_put(ob, OUTBOX_COSIGN, 7, PW_MSG_COSIGN, 0, (const uint8_t *)"cosign-7", 8),
	    PW_OK);
	assert_int_equal(outbox_next(ob, OUTBOX_COSIGN, &it), PW_OK);
	assert_int_equal(it.seq, 7);
	assert_int_equal(it.stream, OUTBOX_COSIGN);
	assert_int_equal(it.type, PW_MSG_COSIGN);
	assert_int_equal(outbox_next(ob, OUTBOX_ORDERS, &it), PW_ERR_NOTFOUND);
	assert_int_equal(outbox_last(ob, OUTBOX_COSIGN, &it), PW_OK);
	assert_int_equal(it.seq, 42);
	assert_memory_equal(it.frame, "cosign-42", 9);
	/* sent with a backoff; a re-connection sends it again at once */
	assert_int_equal(outbox_sent(ob, OUTBOX_COSIGN, 7, 5000), PW_OK);
	assert_int_equal(outbox_resend_now(ob, 100), PW_OK);
	assert_int_equal(outbox_get(ob, OUTBOX_COSIGN, 7, &it), PW_OK);
	assert_int_equal(it.next_ms, 100);
	assert_int_equal(outbox_settle(ob, OUTBOX_COSIGN, 7, OUTBOX_ACKED, 0, 99), PW_OK);
	assert_int_equal(outbox_next(ob, OUTBOX_COSIGN, &it), PW_OK);
	assert_int_equal(it.seq, 42);
	outbox_close(&ob);
}

static void
test_sent_settle(void **state)
{
	struct outbox *ob = NULL;
	struct fake f = { PW_MSG_ORDER, 9, 0, 0 };
	struct outbox_item it;
	uint64_t n;
	(void)state;
	assert_int_equal(outbox_open(&ob, ":memory:", 1), PW_OK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(outbox_add(ob, OUTBOX_ORDERS, fake_sign, &f, NULL), PW_OK);
	assert_int_equal(outbox_sent(ob, OUTBOX_ORDERS, 1, 5000), PW_OK);
	assert_int_equal(outbox_sent(ob, OUTBOX_ORDERS, 1, 9000), PW_OK);
	assert_int_equal(outbox_get(ob, OUTBOX_ORDERS, 1, &it), PW_OK);
	assert_int_equal(it.attempts, 2);
	assert_int_equal(it.next_ms, 9000);
	assert_int_equal(outbox_settle(ob, OUTBOX_ORDERS, 1, OUTBOX_ACKED, 0, 42), PW_OK);
	/* settled once: a second answer changes nothing */
	assert_int_equal(outbox_settle(ob, OUTBOX_ORDERS, 1, OUTBOX_REJECTED, 5, OUTBOX_NO_INDEX),
	                 PW_ERR_STATE);
	assert_int_equal(outbox_sent(ob, OUTBOX_ORDERS, 1, 1), PW_ERR_STATE);
	assert_int_equal(outbox_settle(ob, OUTBOX_ORDERS, 2, OUTBOX_REJECTED, 7, OUTBOX_NO_INDEX),
	                 PW_OK);
	assert_int_equal(outbox_settle(ob, OUTBOX_ORDERS, 3, OUTBOX_PENDING, 0, 0), PW_ERR_ARG);
	assert_int_equal(outbox_settle(ob, OUTBOX_ORDERS, 99, OUTBOX_ACKED, 0, 1), PW_ERR_STATE);
	assert_int_equal(outbox_next(ob, OUTBOX_ORDERS, &it), PW_OK);
	assert_int_equal(it.seq, 3);
	assert_int_equal(outbox_get(ob, OUTBOX_ORDERS, 1, &it), PW_OK);
	assert_int_equal(it.state, OUTBOX_ACKED);
	assert_int_equal(it.log_index, 42);
	assert_int_equal(outbox_get(ob, OUTBOX_ORDERS, 2, &it), PW_OK);
	assert_int_equal(it.state, OUTBOX_REJECTED);
	assert_int_equal(it.reason, 7);
	assert_int_equal(outbox_get(ob, OUTBOX_ORDERS, 4, &it), PW_ERR_NOTFOUND);
	assert_int_equal(outbox_count(ob, OUTBOX_ACKED, &n), PW_OK);
	assert_int_equal(n, 1);
	assert_int_equal(outbox_settle(ob, OUTBOX_ORDERS, 3, OUTBOX_DROPPED, 0, OUTBOX_NO_INDEX),
	                 PW_OK);
	assert_int_equal(outbox_next(ob, OUTBOX_ORDERS, &it), PW_ERR_NOTFOUND);
	outbox_close(&ob);
}

/* After the link was re-created (agentd relinked): every pending item is
 * due at once, its attempts kept (a later REJECT replay of it is then a
 * delivery), answered items untouched, order unchanged. */
static void
test_resend_now(void **state)
{
	struct outbox *ob = NULL;
	struct fake f = { PW_MSG_ORDER, 9, 0, 0 };
	struct outbox_item it;
	(void)state;
	assert_int_equal(outbox_open(&ob, ":memory:", 1), PW_OK);
	/* nothing pending: nothing to do, no error */
	assert_int_equal(outbox_resend_now(ob, 1000), PW_OK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(outbox_add(ob, OUTBOX_ORDERS, fake_sign, &f, NULL), PW_OK);
	f.type = PW_MSG_METER;
	assert_int_equal(outbox_add(ob, OUTBOX_METER, fake_sign, &f, NULL), PW_OK);
	assert_int_equal(outbox_sent(ob, OUTBOX_ORDERS, 1, 60000), PW_OK);
	assert_int_equal(outbox_settle(ob, OUTBOX_ORDERS, 1, OUTBOX_ACKED, 0, 3), PW_OK);
	assert_int_equal(outbox_sent(ob, OUTBOX_ORDERS, 2, 60000), PW_OK);
	assert_int_equal(outbox_sent(ob, OUTBOX_ORDERS, 2, 90000), PW_OK);
	assert_int_equal(outbox_sent(ob, OUTBOX_METER, 1, 70000), PW_OK);
	assert_int_equal(outbox_resend_now(ob, 1000), PW_OK);
	assert_int_equal(outbox_next(ob, OUTBOX_ORDERS, &it), PW_OK);
	assert_int_equal(it.seq, 2);
	assert_int_equal(it.next_ms, 1000);
	assert_int_equal(it.attempts, 2);
	assert_int_equal(outbox_get(ob, OUTBOX_ORDERS, 3, &it), PW_OK);
	assert_int_equal(it.next_ms, 0); /* never sent: not pushed later */
	assert_int_equal(it.attempts, 0);
	assert_int_equal(outbox_next(ob, OUTBOX_METER, &it), PW_OK);
	assert_int_equal(it.next_ms, 1000);
	assert_int_equal(it.attempts, 1);
	assert_int_equal(outbox_get(ob, OUTBOX_ORDERS, 1, &it), PW_OK);
	assert_int_equal(it.state, OUTBOX_ACKED);
	assert_int_equal(it.next_ms, 60000);
	outbox_close(&ob);
}

static void
test_proofs(void **state)
{
	struct outbox *ob = NULL;
	struct fake f = { PW_MSG_METER, 3, 0, 0 };
	struct outbox_item it;
	(void)state;
	assert_int_equal(outbox_open(&ob, ":memory:", 1), PW_OK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(outbox_add(ob, OUTBOX_METER, fake_sign, &f, NULL), PW_OK);
	assert_int_equal(outbox_settle(ob, OUTBOX_METER, 1, OUTBOX_ACKED, 0, 10), PW_OK);
	assert_int_equal(outbox_settle(ob, OUTBOX_METER, 2, OUTBOX_ACKED, 0, 20), PW_OK);
	assert_int_equal(outbox_settle(ob, OUTBOX_METER, 3, OUTBOX_ACKED, 0, OUTBOX_NO_INDEX),
	                 PW_OK);
	/* tree of 15 leaves covers index 10 only */
	assert_int_equal(outbox_unproven(ob, 15, 0, &it), PW_OK);
	assert_int_equal(it.log_index, 10);
	assert_int_equal(outbox_unproven(ob, 15, 11, &it), PW_ERR_NOTFOUND);
	assert_int_equal(outbox_unproven(ob, 21, 11, &it), PW_OK);
	assert_int_equal(it.seq, 2);
	assert_int_equal(outbox_set_proof(ob, OUTBOX_METER, 1, OUTBOX_PROOF_OK), PW_OK);
	assert_int_equal(outbox_set_proof(ob, OUTBOX_METER, 2, OUTBOX_PROOF_FAILED), PW_OK);
	assert_int_equal(outbox_unproven(ob, 1000, 0, &it), PW_ERR_NOTFOUND);
	assert_int_equal(outbox_get(ob, OUTBOX_METER, 2, &it), PW_OK);
	assert_int_equal(it.proof, OUTBOX_PROOF_FAILED);
	outbox_close(&ob);
}

static int
collect(void *ctx, const struct outbox_item *it)
{
	uint64_t *seen = ctx;
	seen[seen[0] + 1] = it->seq * 1000 + it->interval;
	seen[0]++;
	return seen[0] == 3; /* stop after three */
}

static void
test_foreach_and_last(void **state)
{
	struct outbox *ob = NULL;
	struct fake f = { PW_MSG_ORDER, 0, 0, 0 };
	struct outbox_item it;
	uint64_t seen[8] = { 0 };
	(void)state;
	assert_int_equal(outbox_open(&ob, ":memory:", 1), PW_OK);
	assert_int_equal(outbox_last(ob, OUTBOX_METER, &it), PW_ERR_NOTFOUND);
	for (uint64_t iv = 1; iv <= 6; iv++) {
		f.interval = iv;
		assert_int_equal(outbox_add(ob, OUTBOX_ORDERS, fake_sign, &f, NULL), PW_OK);
	}
	assert_int_equal(outbox_foreach(ob, OUTBOX_ORDERS, 3, collect, seen), PW_OK);
	assert_int_equal(seen[0], 3); /* stopped by the callback */
	assert_int_equal(seen[1], 3003);
	assert_int_equal(seen[2], 4004);
	assert_int_equal(seen[3], 5005);
	assert_int_equal(outbox_last(ob, OUTBOX_ORDERS, &it), PW_OK);
	assert_int_equal(it.seq, 6);
	outbox_close(&ob);
}

/* re-signer of the fake frames: "frame-N" again with the new number */
static pw_err
fake_resign(void *ctx, uint64_t new_seq, const uint8_t *old, size_t old_len, uint8_t *frame,
            size_t cap, size_t *len)
{
	int n;
	(void)ctx;
	assert_true(old_len > 6 && memcmp(old, "frame-", 6) == 0);
	n = snprintf((char *)frame, cap, "frame-%llu", (unsigned long long)new_seq);
	*len = (size_t)n;
	return PW_OK;
}

static void
test_resequence_after_reject(void **state)
{
	struct outbox *ob = NULL;
	struct fake f = { PW_MSG_METER, 1, 0, 0 };
	struct outbox_item it;
	uint64_t seq, n;
	(void)state;
	assert_int_equal(outbox_open(&ob, ":memory:", 1), PW_OK);
	for (int i = 0; i < 5; i++)
		assert_int_equal(outbox_add(ob, OUTBOX_METER, fake_sign, &f, NULL), PW_OK);
	assert_int_equal(outbox_settle(ob, OUTBOX_METER, 1, OUTBOX_ACKED, 0, 3), PW_OK);
	/* not refused: nothing to do */
	assert_int_equal(outbox_resequence(ob, OUTBOX_METER, 2, fake_resign, NULL), PW_ERR_STATE);
	assert_int_equal(outbox_sent(ob, OUTBOX_METER, 2, 0), PW_OK);
	assert_int_equal(outbox_settle(ob, OUTBOX_METER, 2, OUTBOX_REJECTED, 19, OUTBOX_NO_INDEX),
	                 PW_OK);
	assert_int_equal(outbox_resequence(ob, OUTBOX_METER, 2, fake_resign, NULL), PW_OK);
	/* 3, 4, 5 are now 2, 3, 4 with frames signed for their new numbers */
	for (uint64_t k = 2; k <= 4; k++) {
		char want[32];
		assert_int_equal(outbox_get(ob, OUTBOX_METER, k, &it), PW_OK);
		assert_int_equal(it.state, OUTBOX_PENDING);
		snprintf(want, sizeof(want), "frame-%llu", (unsigned long long)k);
		assert_int_equal(it.len, strlen(want));
		assert_memory_equal(it.frame, want, it.len);
	}
	assert_int_equal(outbox_get(ob, OUTBOX_METER, 5, &it), PW_ERR_NOTFOUND);
	assert_int_equal(outbox_add(ob, OUTBOX_METER, fake_sign, &f, &seq), PW_OK);
	assert_int_equal(seq, 5);
	/* the refused frame is kept, out of the stream */
	assert_int_equal(outbox_count(ob, OUTBOX_REJECTED, &n), PW_OK);
	assert_int_equal(n, 1);
	/* a later item already sent: refused, nothing changes */
	assert_int_equal(outbox_sent(ob, OUTBOX_METER, 3, 0), PW_OK);
	assert_int_equal(outbox_settle(ob, OUTBOX_METER, 2, OUTBOX_REJECTED, 19, OUTBOX_NO_INDEX),
	                 PW_OK);
	assert_int_equal(outbox_resequence(ob, OUTBOX_METER, 2, fake_resign, NULL), PW_ERR_STATE);
	assert_int_equal(outbox_get(ob, OUTBOX_METER, 3, &it), PW_OK);
	assert_memory_equal(it.frame, "frame-3", 7);
	outbox_close(&ob);
}

static void
test_reopen_keeps_numbers(void **state)
{
	char path[128];
	struct outbox *ob = NULL;
	struct fake f = { PW_MSG_ORDER, 1, 0, 0 };
	uint64_t seq;
	(void)state;
	dbpath(path, sizeof(path), "reopen");
	assert_int_equal(outbox_open(&ob, path, 500), PW_OK);
	assert_int_equal(outbox_add(ob, OUTBOX_ORDERS, fake_sign, &f, &seq), PW_OK);
	assert_int_equal(outbox_add(ob, OUTBOX_ORDERS, fake_sign, &f, &seq), PW_OK);
	assert_int_equal(seq, 501);
	outbox_close(&ob);
	/* first_order_seq applies to a new database only */
	assert_int_equal(outbox_open(&ob, path, 1), PW_OK);
	assert_int_equal(outbox_add(ob, OUTBOX_ORDERS, fake_sign, &f, &seq), PW_OK);
	assert_int_equal(seq, 502);
	outbox_close(&ob);
}

/* A child adds readings as fast as it can and is killed with SIGKILL; the
 * database then holds readings 1..n without a gap, each frame matches its
 * number, and the next number is n + 1. */
static void
test_kill9_no_gap_no_reuse(void **state)
{
	char path[128];
	struct outbox *ob = NULL;
	struct fake f = { PW_MSG_METER, 1, 0, 0 };
	struct outbox_item it;
	uint64_t seq, n = 0;
	pid_t pid;
	int status;
	(void)state;
	dbpath(path, sizeof(path), "kill9");
	assert_int_equal(outbox_open(&ob, path, 1), PW_OK);
	outbox_close(&ob);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct outbox *cob = NULL;
		if (outbox_open(&cob, path, 1) != PW_OK)
			_exit(2);
		for (;;)
			if (outbox_add(cob, OUTBOX_METER, fake_sign, &f, NULL) != PW_OK)
				_exit(3);
	}
	usleep(300 * 1000);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));

	assert_int_equal(outbox_open(&ob, path, 1), PW_OK);
	assert_int_equal(outbox_count(ob, OUTBOX_PENDING, &n), PW_OK);
	assert_true(n > 0);
	for (uint64_t s = 1; s <= n; s++) {
		char want[32];
		assert_int_equal(outbox_get(ob, OUTBOX_METER, s, &it), PW_OK);
		snprintf(want, sizeof(want), "frame-%llu", (unsigned long long)s);
		assert_int_equal(it.len, strlen(want));
		assert_memory_equal(it.frame, want, it.len);
	}
	assert_int_equal(outbox_add(ob, OUTBOX_METER, fake_sign, &f, &seq), PW_OK);
	assert_int_equal(seq, n + 1);
	printf("kill -9 after %llu stored readings: next is %llu\n", (unsigned long long)n,
	       (unsigned long long)seq);
	outbox_close(&ob);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbering_and_streams),
		cmocka_unit_test(test_cosign_stream),
		cmocka_unit_test(test_sent_settle),
		cmocka_unit_test(test_resend_now),
		cmocka_unit_test(test_proofs),
		cmocka_unit_test(test_foreach_and_last),
		cmocka_unit_test(test_resequence_after_reject),
		cmocka_unit_test(test_upgrade_v1_pending),
		cmocka_unit_test(test_reopen_keeps_numbers),
		cmocka_unit_test(test_kill9_no_gap_no_reuse),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
