/* test_error.c: every error code has its own message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "peerwatt/error.h"

static void
test_every_code_has_a_distinct_message(void **state)
{
	(void)state;
	for (int i = 0; i < PW_ERR__COUNT; i++) {
		const char *m = pw_strerror((pw_err)i);
		assert_non_null(m);
		assert_string_not_equal(m, "unknown error");
		for (int j = 0; j < i; j++)
			assert_string_not_equal(m, pw_strerror((pw_err)j));
	}
}

static void
test_out_of_range_is_unknown(void **state)
{
	(void)state;
	assert_string_equal(pw_strerror(PW_ERR__COUNT), "unknown error");
	assert_string_equal(pw_strerror((pw_err)-1), "unknown error");
	assert_string_equal(pw_strerror(PW_OK), "success");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_code_has_a_distinct_message),
		cmocka_unit_test(test_out_of_range_is_unknown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
