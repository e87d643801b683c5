/* test_postback.c: postback data as operators write it and LINE returns it, and each
 * way it can be malformed; after an error the struct holds nothing (ASan's leak check
 * covers the frees). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../daemon/shokaid.h"
#include "testutil.h"

static void
assert_cleared(const struct postback *pb)
{
	assert_null(pb->action);
	assert_int_equal(pb->n, 0);
	for (size_t i = 0; i < POSTBACK_PARAMS_MAX; i++) {
		assert_null(pb->key[i]);
		assert_null(pb->value[i]);
	}
}

/* Parses data that must fail, with a struct full of garbage first: the parser may not
 * trust what it is given, and must leave it cleared. */
static void
check_error(const char *data, const char *want_why)
{
	struct postback pb;
	char why[128] = "";

	memset(&pb, 0xa5, sizeof(pb));
	if (postback_parse(data, &pb, why, sizeof(why)) != -1)
		fail_msg("postback_parse(\"%s\") succeeded", data);
	assert_string_equal(why, want_why);
	assert_cleared(&pb);
}

static void
test_plain(void **state)
{
	struct postback pb;
	char why[128] = "";

	(void)state;
	assert_int_equal(postback_parse("action=referral&step=show", &pb, why, sizeof(why)), 0);
	assert_string_equal(pb.action, "referral");
	assert_int_equal(pb.n, 1);
	assert_string_equal(pb.key[0], "step");
	assert_string_equal(pb.value[0], "show");
	assert_string_equal(postback_get(&pb, "step"), "show");
	assert_string_equal(postback_get(&pb, "action"), "referral");
	assert_null(postback_get(&pb, "missing"));
	assert_null(postback_get(&pb, "STEP"));
	postback_clear(&pb);
	assert_cleared(&pb);
	/* Clearing twice is harmless. */
	postback_clear(&pb);
	assert_cleared(&pb);
}

static void
test_encoded(void **state)
{
	struct postback pb;
	char why[128] = "";

	(void)state;
	assert_int_equal(postback_parse("action=refer&campaign=winter%202026&x=a+b", &pb, why,
	    sizeof(why)), 0);
	assert_string_equal(pb.action, "refer");
	assert_int_equal(pb.n, 2);
	assert_string_equal(postback_get(&pb, "campaign"), "winter 2026");
	assert_string_equal(postback_get(&pb, "x"), "a b");
	postback_clear(&pb);

	/* Keys are decoded too; escapes in either case; UTF-8 by escape and as is. */
	assert_int_equal(postback_parse("%61ction=%E7%B4%B9%E4%BB%8B&my+key=%2b%26%3D%25&"
	    "t=友だち", &pb, why, sizeof(why)), 0);
	assert_string_equal(pb.action, "紹介");
	assert_string_equal(postback_get(&pb, "my key"), "+&=%");
	assert_string_equal(postback_get(&pb, "t"), "友だち");
	postback_clear(&pb);

	/* Only the first '=' splits. */
	assert_int_equal(postback_parse("q=a=b&action=x==", &pb, why, sizeof(why)), 0);
	assert_string_equal(postback_get(&pb, "q"), "a=b");
	assert_string_equal(pb.action, "x==");
	postback_clear(&pb);
}

static void
test_missing_action(void **state)
{
	struct postback pb;
	char why[128] = "";

	(void)state;
	/* A rich menu tab switch carries only its own data. */
	assert_int_equal(postback_parse("tab=invite", &pb, why, sizeof(why)), 0);
	assert_null(pb.action);
	assert_null(postback_get(&pb, "action"));
	assert_string_equal(postback_get(&pb, "tab"), "invite");
	postback_clear(&pb);

	assert_int_equal(postback_parse("", &pb, why, sizeof(why)), 0);
	assert_null(pb.action);
	assert_int_equal(pb.n, 0);
	postback_clear(&pb);

	/* "Action" is another key: keys are case-sensitive. */
	assert_int_equal(postback_parse("Action=x", &pb, why, sizeof(why)), 0);
	assert_null(pb.action);
	assert_string_equal(postback_get(&pb, "Action"), "x");
	postback_clear(&pb);
}

static void
test_empty_values_and_parts(void **state)
{
	struct postback pb;
	char why[128] = "";

	(void)state;
	/* A part without '=' is a key with an empty value; empty parts are skipped. */
	assert_int_equal(postback_parse("action=&flag&&x=&", &pb, why, sizeof(why)), 0);
	assert_string_equal(pb.action, "");
	assert_int_equal(pb.n, 2);
	assert_string_equal(pb.key[0], "flag");
	assert_string_equal(pb.value[0], "");
	assert_string_equal(pb.key[1], "x");
	assert_string_equal(pb.value[1], "");
	postback_clear(&pb);

	assert_int_equal(postback_parse("&&&", &pb, why, sizeof(why)), 0);
	assert_int_equal(pb.n, 0);
	postback_clear(&pb);

	assert_int_equal(postback_parse("action", &pb, why, sizeof(why)), 0);
	assert_string_equal(pb.action, "");
	postback_clear(&pb);
}

static void
test_repeated_keys(void **state)
{
	struct postback pb;
	char why[128] = "";

	(void)state;
	assert_int_equal(postback_parse("action=a&k=1&action=b&k=2&j=3", &pb, why,
	    sizeof(why)), 0);
	/* The first action counts; a later one is kept as an ordinary parameter. */
	assert_string_equal(pb.action, "a");
	assert_int_equal(pb.n, 4);
	assert_string_equal(pb.key[0], "k");
	assert_string_equal(pb.value[0], "1");
	assert_string_equal(pb.key[1], "action");
	assert_string_equal(pb.value[1], "b");
	assert_string_equal(pb.key[2], "k");
	assert_string_equal(pb.value[2], "2");
	assert_string_equal(pb.key[3], "j");
	assert_string_equal(postback_get(&pb, "k"), "1");
	assert_string_equal(postback_get(&pb, "action"), "a");
	postback_clear(&pb);
}

static void
test_errors(void **state)
{
	(void)state;
	check_error("action=%zz", "bad %-escape at offset 7");
	check_error("action=x%4", "bad %-escape at offset 8");
	check_error("action=x%", "bad %-escape at offset 8");
	check_error("a=1&b=%g0", "bad %-escape at offset 6");
	check_error("a=1&b=%0g", "bad %-escape at offset 6");
	/* An escape may not reach across '&' into the next part. */
	check_error("a=%4&1=x", "bad %-escape at offset 2");
	check_error("k%=v", "bad %-escape at offset 1");
	/* The error comes after earlier parts were stored: they must be freed. */
	check_error("action=go&a=1&b=2&c=%", "bad %-escape at offset 20");
	check_error("=x", "empty key at offset 0");
	check_error("action=go&=x", "empty key at offset 10");
	check_error("action=go&a=1&=", "empty key at offset 14");
	check_error("a=%00", "decoded NUL byte at offset 2");
	check_error("action=go&k%00=1", "decoded NUL byte at offset 11");
}

static void
test_too_many(void **state)
{
	struct postback pb;
	char data[512], why[128] = "";
	size_t off;

	(void)state;
	/* Exactly POSTBACK_PARAMS_MAX parameters beside the action is fine. */
	off = (size_t)snprintf(data, sizeof(data), "action=x");
	for (int i = 0; i < POSTBACK_PARAMS_MAX; i++)
		off += (size_t)snprintf(data + off, sizeof(data) - off, "&k%d=%d", i, i);
	assert_int_equal(postback_parse(data, &pb, why, sizeof(why)), 0);
	assert_string_equal(pb.action, "x");
	assert_int_equal(pb.n, POSTBACK_PARAMS_MAX);
	assert_string_equal(postback_get(&pb, "k15"), "15");
	postback_clear(&pb);

	snprintf(data + off, sizeof(data) - off, "&last=1");
	check_error(data, "more than 16 parameters");
	/* Without an action, the 17th parameter is one too many as well. */
	check_error("a&b&c&d&e&f&g&h&i&j&k&l&m&n&o&p&q", "more than 16 parameters");
}

static void
test_length_limit(void **state)
{
	struct postback pb;
	char data[400], why[128] = "";

	(void)state;
	memset(data, 'v', sizeof(data));
	memcpy(data, "action=", 7);
	data[300] = '\0';
	assert_int_equal(postback_parse(data, &pb, why, sizeof(why)), 0);
	assert_int_equal(strlen(pb.action), 293);
	postback_clear(&pb);
	data[300] = 'v';
	data[301] = '\0';
	check_error(data, "data is 301 bytes; LINE sends at most 300");
}

/* A short or absent why buffer is still safe to pass. */
static void
test_small_why(void **state)
{
	struct postback pb;
	char why[8];

	(void)state;
	assert_int_equal(postback_parse("=x", &pb, why, sizeof(why)), -1);
	assert_string_equal(why, "empty k");
	assert_int_equal(postback_parse("=x", &pb, NULL, 0), -1);
	assert_cleared(&pb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_encoded),
		cmocka_unit_test(test_missing_action),
		cmocka_unit_test(test_empty_values_and_parts),
		cmocka_unit_test(test_repeated_keys),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_length_limit),
		cmocka_unit_test(test_small_why),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
