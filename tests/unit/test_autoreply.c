/* test_autoreply.c: keyword rules as loaded from YAML: each match kind, normalisation
 * of the customer's text, file order (first match wins), platform and channel scope,
 * hours (with a window past midnight), the fallback, and the per-user cooldown in a
 * real SQLite file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#include "../../handlers/handlers.h"

static char dir[256];

static void
write_file(const char *name, const char *text, mode_t mode)
{
	assert_int_equal(test_write_file(dir, name, text, mode), 0);
}

static const char *const yaml =
    TEST_CONFIG_HEAD
    "    - { id: other, basic_id: \"@2\", channel_secret_file: secret,\n"
    "        access_token_file: secret, api_base: \"http://127.0.0.1:9\",\n"
    "        api_data_base: \"http://127.0.0.1:9\" }\n"
    "messages: { a: A, b: B, c: C, d: D, e: E, f: F, g: G, h: H, z: Z }\n"
    "auto_replies:\n"
    "  - { match: { exact: [ＡＢＣ, xyz] }, reply: a }\n"		/* 0 */
    "  - { match: { prefix: 料金 }, reply: b }\n"			/* 1 */
    "  - { match: { contains: [ｶﾞｲﾄﾞ, 案内] }, reply: c }\n"		/* 2 */
    "  - { match: { regex: \"^[0-9]{3}-[0-9]{4}$\" }, reply: d }\n"	/* 3 */
    "  - { match: { contains: 料金 }, reply: e }\n"			/* 4: after 1 */
    "  - { match: { contains: 夜 }, reply: f,\n"				/* 5 */
    "      hours: { days: fri, from: \"22:00\", to: \"06:00\" } }\n"
    "  - { match: { contains: 支店 }, reply: g, channel: other }\n"	/* 6 */
    "  - { match: { contains: 営業 }, reply: h,\n"			/* 7 */
    "      hours: { days: mon-fri, from: \"09:00\", to: \"18:00\" } }\n"
    "  - { fallback: z }\n";						/* 8 */

static struct config *cf;

static int
setup(void **state)
{
	char path[512];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/shokai-test-autoreply-XXXXXX");
	assert_non_null(mkdtemp(dir));
	write_file("secret", "s3cret\n", 0600);
	write_file("shokai.yaml", yaml, 0644);
	snprintf(path, sizeof(path), "%s/shokai.yaml", dir);
	setenv("TZ", "Asia/Tokyo", 1);
	tzset();
	cf = config_load_print(path, stderr);
	assert_non_null(cf);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	config_unref(cf);
	return test_rmdir(dir);
}

/* A local (Asia/Tokyo) time: 2026-11-27 is a Friday. */
static time_t
at(int mday, int hour, int min)
{
	struct tm tm = { 0 };

	tm.tm_year = 2026 - 1900;
	tm.tm_mon = 10;
	tm.tm_mday = mday;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

/* Which message answers raw text on channel main at when; "-" for none. */
static const char *
answer(const char *channel, const char *raw, time_t when)
{
	char *text = text_normalize(raw);
	const struct config_rule *r = autoreply_match(cf, PLATFORM_LINE, channel, text, when);

	free(text);
	return r == NULL ? "-" : r->reply->name;
}

static void
test_kinds_and_normalisation(void **state)
{
	time_t fri_noon = at(27, 12, 0);

	(void)state;
	assert_string_equal(answer("main", "abc", fri_noon), "a");	/* rule word full-width */
	assert_string_equal(answer("main", " ＸＹＺ ", fri_noon), "a");	/* trimmed, folded */
	assert_string_equal(answer("main", "abcd", fri_noon), "z");	/* exact is exact */
	assert_string_equal(answer("main", "料金表", fri_noon), "b");
	assert_string_equal(answer("main", "ガイドをください", fri_noon), "c");
	assert_string_equal(answer("main", "ご案内", fri_noon), "c");
	assert_string_equal(answer("main", "１６０-００２３", fri_noon), "d");	/* full-width */
	assert_string_equal(answer("main", "160-00234", fri_noon), "z");
}

static void
test_first_match_wins(void **state)
{
	(void)state;
	/* Rule 1 (prefix 料金) comes before rule 4 (contains 料金). */
	assert_string_equal(answer("main", "料金は", at(27, 12, 0)), "b");
	assert_string_equal(answer("main", "その料金は", at(27, 12, 0)), "e");
}

static void
test_channel_scope(void **state)
{
	(void)state;
	assert_string_equal(answer("other", "新宿支店", at(27, 12, 0)), "g");
	assert_string_equal(answer("main", "新宿支店", at(27, 12, 0)), "z");
}

static void
test_hours(void **state)
{
	(void)state;
	assert_string_equal(answer("main", "営業", at(27, 9, 0)), "h");	/* Fri 09:00 */
	assert_string_equal(answer("main", "営業", at(27, 17, 59)), "h");
	assert_string_equal(answer("main", "営業", at(27, 18, 0)), "z");	/* to is exclusive */
	assert_string_equal(answer("main", "営業", at(28, 12, 0)), "z");	/* Saturday */
	/* Friday 22:00 to 06:00 belongs to Friday, so Saturday 01:00 is in it... */
	assert_string_equal(answer("main", "夜", at(27, 23, 0)), "f");
	assert_string_equal(answer("main", "夜", at(28, 1, 0)), "f");
	/* ...but Friday 01:00 belongs to Thursday's night. */
	assert_string_equal(answer("main", "夜", at(27, 1, 0)), "z");
	assert_string_equal(answer("main", "夜", at(28, 23, 0)), "z");
}

static void
test_platform_scope(void **state)
{
	char *text = text_normalize("abc");

	(void)state;
	/* Every rule here is for LINE: the reps' bot gets nothing from them. */
	assert_null(autoreply_match(cf, PLATFORM_WORKS, "sales", text, at(27, 12, 0)));
	free(text);
}

static void
test_cooldown_per_user_and_rule(void **state)
{
	char path[512], why[WHY_MAX];
	struct store *s;
	int64_t t = 1767225600000;

	(void)state;
	snprintf(path, sizeof(path), "%s/cooldown.db", dir);
	s = store_open(path, 0, 1000, why, sizeof(why));
	assert_non_null(s);
	assert_int_equal(store_cooldown_take(s, "main", "U1", "auto_replies[3]", t, 3600000), 1);
	assert_int_equal(store_cooldown_take(s, "main", "U1", "auto_replies[3]", t + 1000,
	    3600000), 0);
	/* Another user, another rule: not affected. */
	assert_int_equal(store_cooldown_take(s, "main", "U2", "auto_replies[3]", t + 1000,
	    3600000), 1);
	assert_int_equal(store_cooldown_take(s, "main", "U1", "auto_replies[4]", t + 1000,
	    3600000), 1);
	/* After the hour, the rule answers again. */
	assert_int_equal(store_cooldown_take(s, "main", "U1", "auto_replies[3]", t + 3600000,
	    3600000), 1);
	store_close(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds_and_normalisation),
		cmocka_unit_test(test_first_match_wins),
		cmocka_unit_test(test_channel_scope),
		cmocka_unit_test(test_hours),
		cmocka_unit_test(test_platform_scope),
		cmocka_unit_test(test_cooldown_per_user_and_rule),
	};

	log_init(LOG_ERROR);
	return cmocka_run_group_tests(tests, setup, teardown);
}
