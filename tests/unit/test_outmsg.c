/* test_outmsg.c: the retry key every outbox row is sent with (X-Line-Retry-Key): a UUID
 * version 7 in its canonical text form, its first 48 bits the time in milliseconds, so
 * keys made later sort after earlier ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../daemon/shokaid.h"
#include "../../daemon/outbound/outmsg.h"

static void
test_retry_key_is_a_uuid_v7_of_now(void **state)
{
	char a[37], b[37], stamp[13];
	int64_t before, after, ms;

	(void)state;
	before = wall_ms();
	outmsg_retry_key(a);
	after = wall_ms();
	assert_int_equal(strlen(a), 36);
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			assert_int_equal(a[i], '-');
		else
			assert_non_null(strchr("0123456789abcdef", a[i]));
	}
	assert_int_equal(a[14], '7');			/* version 7 */
	assert_non_null(strchr("89ab", a[19]));		/* RFC 9562 variant */
	memcpy(stamp, a, 8);
	memcpy(stamp + 8, a + 9, 4);
	stamp[12] = '\0';
	ms = (int64_t)strtoll(stamp, NULL, 16);
	assert_true(ms >= before && ms <= after);
	outmsg_retry_key(b);
	assert_string_not_equal(a, b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_key_is_a_uuid_v7_of_now),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
