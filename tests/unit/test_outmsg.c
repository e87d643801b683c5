/* test_outmsg.c: the retry key every outbox row is sent with (X-Line-Retry-Key): a UUID
 * version 7 in its canonical text form, its first 48 bits the time in milliseconds, so
 * keys made later sort after earlier ones; its random bits from the connection's
 * buffer (store_random). */
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
#include "testutil.h"

/* RFC 9562's version 7 layout: the time, the version, random bits, the variant. */
static void
test_retry_key_is_a_uuid_v7(void **state)
{
	const unsigned char ones[RETRY_KEY_RANDOM] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	const unsigned char zeros[RETRY_KEY_RANDOM] = { 0 };
	char key[37];

	(void)state;
	/* 2026-12-06T00:00:00.123Z */
	outmsg_retry_key(1796515200123LL, zeros, key);
	assert_string_equal(key, "01a248a6-7c7b-7000-8000-000000000000");
	outmsg_retry_key(1796515200123LL, ones, key);
	assert_string_equal(key, "01a248a6-7c7b-7fff-bfff-ffffffffffff");
}

/* The bytes a connection hands out for keys differ call to call, also across a refill
 * of its buffer. */
static void
test_store_random_never_repeats(void **state)
{
	char dir[256], path[512];
	struct store *s = test_store_fresh(dir, path, "random", 1);
	unsigned char seen[64][RETRY_KEY_RANDOM];

	(void)state;
	assert_non_null(s);
	for (int i = 0; i < 64; i++) {	/* 640 bytes: two refills of 256 */
		store_random(s, seen[i], RETRY_KEY_RANDOM);
		for (int j = 0; j < i; j++)
			assert_memory_not_equal(seen[i], seen[j], RETRY_KEY_RANDOM);
	}
	store_close(s);
	assert_int_equal(test_rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_key_is_a_uuid_v7),
		cmocka_unit_test(test_store_random_never_repeats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
