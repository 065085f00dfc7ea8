/* pw-freeport: prints a TCP port on 127.0.0.1 that is free right now, for
 * integration tests.  The port is drawn at random below the kernel's
 * ephemeral range (/proc/sys/net/ipv4/ip_local_port_range) and checked by
 * binding it: a port of that range, as bind(port 0) hands out, can be taken
 * as the source port of any outgoing connection (a load generator's
 * hundreds) between this check and the daemon's own bind, and the daemon
 * then fails to start.  Falls back to port 0 when no such port is free. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LOWEST 10000

/* 1 when `port` (0: any) could be bound on loopback; *got the port bound. */
static int
try_bind(unsigned port, unsigned *got)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	if (fd < 0)
		return 0;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	     getsockname(fd, (struct sockaddr *)&sa, &len) == 0;
	if (ok)
		*got = ntohs(sa.sin_port);
	close(fd);
	return ok;
}

int
main(void)
{
	unsigned lo = 32768, hi = 60999, got = 0;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	struct timespec ts;

	if (f) {
		if (fscanf(f, "%u %u", &lo, &hi) != 2)
			lo = 32768;
		fclose(f);
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	unsigned long r = (unsigned long)ts.tv_nsec ^ ((unsigned long)getpid() << 16);
	for (int i = 0; lo > LOWEST + 1000 && lo <= 65536 && i < 200; i++) {
		r = r * 6364136223846793005ul + 1442695040888963407ul;
		unsigned port = LOWEST + (unsigned)((r >> 33) % (lo - LOWEST));
		if (try_bind(port, &got)) {
			printf("%u\n", got);
			return 0;
		}
	}
	if (!try_bind(0, &got))
		return 1;
	printf("%u\n", got);
	return 0;
}
