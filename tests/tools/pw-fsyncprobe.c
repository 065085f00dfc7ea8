/* pw-fsyncprobe: how long this disk takes to make a small write durable.
 *
 *   pw-fsyncprobe DIR [MS [GAP_US]]
 *
 * Overwrites 4 KiB of a 1 MiB scratch file in DIR (written and synced
 * first, as a WAL is once it starts again from its beginning) and calls
 * fdatasync(), the next 4 KiB each time, for MS milliseconds (default
 * 2000), as a WAL COMMIT does; then removes the file and prints
 *   "fdatasync n N p50 X ms p99 Y ms max Z ms".
 * With GAP_US (1..1000000), it sleeps that long after each fdatasync, as
 * an exchange below its peak does between COMMITs: on the usual VM the
 * p99 was 0.2-1.1 ms back to back and 1.0-3.4 ms with 1 ms between
 * flushes (docs/performance-ingest.md).
 * bench_ingest.sh prints it beside ack_p99_ms: an ACK is sent only after
 * its batch's COMMIT, so no ACK tail can be shorter than the disk's own
 * (docs/performance.md).  Exit 0, or 1 with a message when DIR is not
 * writable. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES 200000
#define FILE_PAGES  256

static int64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	char path[4096], page[4096];
	long ms = 2000, gap_us = 0;
	int64_t *lat;
	size_t n = 0;

	if (argc < 2 || argc > 4 ||
	    (argc >= 3 && ((ms = strtol(argv[2], NULL, 10)) < 1 || ms > 600000)) ||
	    (argc == 4 && ((gap_us = strtol(argv[3], NULL, 10)) < 1 || gap_us > 1000000))) {
		fprintf(stderr, "usage: pw-fsyncprobe DIR [MS 1..600000 [GAP_US 1..1000000]]\n");
		return 64;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/fsyncprobe.%ld", argv[1], (long)getpid()) >=
	    sizeof(path)) {
		fprintf(stderr, "pw-fsyncprobe: directory name too long\n");
		return 64;
	}
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		fprintf(stderr, "pw-fsyncprobe: %s: %s\n", path, strerror(errno));
		return 1;
	}
	lat = malloc(MAX_SAMPLES * sizeof(*lat));
	memset(page, 'w', sizeof(page));
	int ok = lat != NULL;
	for (size_t i = 0; ok && i < FILE_PAGES; i++)
		ok = pwrite(fd, page, sizeof(page), (off_t)(i * sizeof(page))) ==
		     (ssize_t)sizeof(page);
	ok = ok && fsync(fd) == 0;
	int64_t end = now_ns() + (int64_t)ms * 1000000;
	while (ok && n < MAX_SAMPLES && now_ns() < end) {
		int64_t t = now_ns();
		ok = pwrite(fd, page, sizeof(page), (off_t)((n % FILE_PAGES) * sizeof(page))) ==
		         (ssize_t)sizeof(page) &&
		     fdatasync(fd) == 0;
		lat[n++] = now_ns() - t;
		if (gap_us > 0) {
			struct timespec gap = { gap_us / 1000000, (gap_us % 1000000) * 1000 };
			nanosleep(&gap, NULL);
		}
	}
	if (!ok)
		fprintf(stderr, "pw-fsyncprobe: %s: %s\n", path,
		        lat ? strerror(errno) : "no memory");
	close(fd);
	unlink(path);
	if (!ok || n == 0) {
		free(lat);
		return 1;
	}
	qsort(lat, n, sizeof(*lat), cmp_i64);
	printf("fdatasync n %zu p50 %.3f ms p99 %.3f ms max %.3f ms\n", n, (double)lat[n / 2] / 1e6,
	       (double)lat[(n * 99) / 100] / 1e6, (double)lat[n - 1] / 1e6);
	free(lat);
	return 0;
}
