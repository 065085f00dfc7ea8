/* test_sdnotify.c: readiness datagrams reach a socket named by $NOTIFY_SOCKET. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "peerwatt/sdnotify.h"

static int
bind_dgram(const char *name, int abstract)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	size_t n = strlen(name);
	memcpy(sa.sun_path, name, n);
	if (abstract)
		sa.sun_path[0] = '\0';
	assert_int_equal(bind(fd, (struct sockaddr *)&sa,
	                      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)),
	                 0);
	return fd;
}

static void
expect(int fd, const char *want)
{
	char buf[256];
	ssize_t n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
	assert_true(n >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void
test_path_socket(void **state)
{
	(void)state;
	char dir[] = "/tmp/pwsdXXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof path, "%s/notify", dir);
	int fd = bind_dgram(path, 0);
	assert_int_equal(setenv("NOTIFY_SOCKET", path, 1), 0);
	assert_int_equal(pw_sd_notify("READY=1\nSTATUS=serving"), PW_OK);
	expect(fd, "READY=1\nSTATUS=serving");
	assert_int_equal(pw_sd_notify("STOPPING=1"), PW_OK);
	expect(fd, "STOPPING=1");
	close(fd);
	unlink(path);
	/* nobody listening any more: an error, not a crash */
	assert_int_equal(pw_sd_notify("READY=1"), PW_ERR_IO);
	rmdir(dir);
	unsetenv("NOTIFY_SOCKET");
}

static void
test_abstract_socket(void **state)
{
	(void)state;
	char name[64];
	snprintf(name, sizeof name, "@peerwatt-test-%ld", (long)getpid());
	int fd = bind_dgram(name, 1);
	assert_int_equal(setenv("NOTIFY_SOCKET", name, 1), 0);
	assert_int_equal(pw_sd_notify("RELOADING=1"), PW_OK);
	expect(fd, "RELOADING=1");
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

static void
test_unset_and_malformed(void **state)
{
	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(pw_sd_notify("READY=1"), PW_OK); /* not under systemd */
	assert_int_equal(setenv("NOTIFY_SOCKET", "", 1), 0);
	assert_int_equal(pw_sd_notify("READY=1"), PW_OK);
	static const char *const bad[] = { "relative/path", "@", "x" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(setenv("NOTIFY_SOCKET", bad[i], 1), 0);
		assert_int_equal(pw_sd_notify("READY=1"), PW_ERR_ARG);
	}
	char longname[200];
	memset(longname, 'a', sizeof longname - 1);
	longname[0] = '/';
	longname[sizeof longname - 1] = '\0';
	assert_int_equal(setenv("NOTIFY_SOCKET", longname, 1), 0);
	assert_int_equal(pw_sd_notify("READY=1"), PW_ERR_ARG);
	assert_int_equal(pw_sd_notify(NULL), PW_ERR_ARG);
	unsetenv("NOTIFY_SOCKET");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_socket),
		cmocka_unit_test(test_abstract_socket),
		cmocka_unit_test(test_unset_and_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
