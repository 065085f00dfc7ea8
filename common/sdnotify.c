/*
 * sdnotify.c: sd_notify(3) readiness messages without libsystemd (see
 * include/peerwatt/sdnotify.h).  Called by the daemons' main loops at
 * readiness, reload and stop.  No state.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "peerwatt/sdnotify.h"

pw_err
pw_sd_notify(const char *state)
{
	if (state == NULL)
		return PW_ERR_ARG;
	const char *name = getenv("NOTIFY_SOCKET");
	if (name == NULL || name[0] == '\0')
		return PW_OK;

	struct sockaddr_un sa;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	size_t n = strlen(name);
	if ((name[0] != '/' && name[0] != '@') || n < 2 || n >= sizeof sa.sun_path)
		return PW_ERR_ARG;
	memcpy(sa.sun_path, name, n);
	if (name[0] == '@')
		sa.sun_path[0] = '\0'; /* Linux abstract namespace */
	socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);

	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return PW_ERR_IO;
	size_t len = strlen(state);
	ssize_t w;
	do
		w = sendto(fd, state, len, MSG_NOSIGNAL, (const struct sockaddr *)&sa, salen);
	while (w < 0 && errno == EINTR);
	int e = errno;
	close(fd);
	errno = e;
	return w == (ssize_t)len ? PW_OK : PW_ERR_IO;
}
