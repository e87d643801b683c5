/* test_webhook.c: LINE and LINE WORKS bodies to normalised events: every fixture of the
 * official SDKs (many lack webhookEventId, deliveryContext and mode), every event type
 * of the digest, and the bodies that must go to quarantine. */
#include <dirent.h>
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

static int
parse_line(const char *body, struct event_list *out)
{
	char why[WHY_MAX];

	memset(out, 0, sizeof(*out));
	return webhook_line_parse("main", body, strlen(body), NULL, out, why, sizeof(why));
}


/* Every SDK fixture parses, and every event gets a type and a dedupe key. */
static void
test_sdk_fixtures(void **state)
{
	char path[1024];
	DIR *d;
	struct dirent *de;
	int files = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/line-sdk-fixtures/java-line-bot-webhook", test_shared_dir());
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		struct event_list l;
		char *body, full[1400];
		size_t len;

		if (strstr(de->d_name, ".json") == NULL)
			continue;
		snprintf(full, sizeof(full), "%s/%s", path, de->d_name);
		body = test_read_file(full, &len);
		assert_non_null(body);
		if (parse_line(body, &l) != 0)
			fail_msg("%s did not parse", de->d_name);
		assert_true(l.n >= 1);
		for (size_t i = 0; i < l.n; i++) {
			assert_non_null(l.v[i].type);
			assert_non_null(l.v[i].event_key);
			assert_int_equal(l.v[i].platform, PLATFORM_LINE);
		}
		event_list_free(&l);
		free(body);
		files++;
	}
	closedir(d);
	assert_true(files >= 25);
}

static void
test_text_message(void **state)
{
	struct event_list l;
	const char *body =
	    "{\"destination\":\"Ua4c123b1612dd272d1371c17149d4395\",\"events\":[{\"type\":\"message\","
	    "\"mode\":\"active\",\"timestamp\":1767225600000,\"source\":{\"type\":\"user\","
	    "\"userId\":\"U36b3216fdaeeb975729fae923d5a4fd1\"},\"webhookEventId\":"
	    "\"01JCNDY0YP57RCYBVN5SXS5AA8\",\"deliveryContext\":{\"isRedelivery\":false},"
	    "\"replyToken\":\"04e4fb440034d6608697a8d41bed440e\",\"message\":{\"id\":"
	    "\"5311109023301835666\",\"type\":\"text\",\"quoteToken\":\"q3\",\"text\":"
	    "\"紹介コード ABC123\"}}]}";

	(void)state;
	assert_int_equal(parse_line(body, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].type, "message");
	assert_true(l.v[0].known);
	assert_string_equal(l.v[0].mode, "active");
	assert_string_equal(l.v[0].event_key, "01JCNDY0YP57RCYBVN5SXS5AA8");
	assert_string_equal(l.v[0].user_id, "U36b3216fdaeeb975729fae923d5a4fd1");
	assert_string_equal(l.v[0].source_type, "user");
	assert_string_equal(l.v[0].reply_token, "04e4fb440034d6608697a8d41bed440e");
	assert_string_equal(l.v[0].message_type, "text");
	assert_string_equal(l.v[0].message_id, "5311109023301835666");
	assert_string_equal(l.v[0].text, "紹介コード ABC123");
	assert_int_equal(l.v[0].timestamp_ms, 1767225600000LL);
	assert_int_equal(l.v[0].redelivery, 0);
	event_list_free(&l);
}

/* A body whose tree does not fit the parser's stack buffer (the rest of it comes from
 * malloc) reads the same as a small one, and so does the next small one. */
static void
test_large_body(void **state)
{
	enum { EVENTS = 300 };
	size_t cap = 512 * EVENTS + 64, len;
	char *body = malloc(cap);
	char want[64];
	struct event_list l;

	(void)state;
	assert_non_null(body);
	len = (size_t)snprintf(body, cap, "{\"destination\":\"Ub\",\"events\":[");
	for (int i = 0; i < EVENTS; i++)
		len += (size_t)snprintf(body + len, cap - len, "%s{\"type\":\"message\",\"timestamp\":"
		    "%d,\"source\":{\"type\":\"user\",\"userId\":\"U%031d\"},\"webhookEventId\":"
		    "\"E%025d\",\"replyToken\":\"r%d\",\"message\":{\"id\":\"%d\",\"type\":"
		    "\"text\",\"text\":\"紹介コード %06d の件です\"}}", i ? "," : "", i + 1, i, i, i,
		    i, i);
	snprintf(body + len, cap - len, "]}");
	assert_int_equal(parse_line(body, &l), 0);
	assert_int_equal(l.n, EVENTS);
	for (int i = 0; i < EVENTS; i++) {
		snprintf(want, sizeof(want), "U%031d", i);
		assert_string_equal(l.v[i].user_id, want);
		snprintf(want, sizeof(want), "紹介コード %06d の件です", i);
		assert_string_equal(l.v[i].text, want);
		assert_int_equal(l.v[i].timestamp_ms, i + 1);
	}
	event_list_free(&l);
	/* the last event's message given the key "text" twice: the whole body is refused */
	for (char *at = body, *next; (next = strstr(at, "\"type\":\"text\"")) != NULL; at = next + 1)
		len = (size_t)(next - body);
	memcpy(body + len, "\"text\"", 6);
	assert_int_equal(parse_line(body, &l), -1);
	assert_int_equal(l.n, 0);
	free(body);
	assert_int_equal(parse_line("{\"events\":[{\"type\":\"follow\",\"source\":{\"type\":"
	    "\"user\",\"userId\":\"Ua\"}}]}", &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].user_id, "Ua");
	event_list_free(&l);
}

static void
test_follow_postback_group(void **state)
{
	struct event_list l;
	const char *body =
	    "{\"events\":["
	    "{\"type\":\"follow\",\"timestamp\":1,\"source\":{\"type\":\"user\",\"userId\":\"Ua\"},"
	    "\"replyToken\":\"r1\",\"follow\":{\"isUnblocked\":true}},"
	    "{\"type\":\"postback\",\"timestamp\":2,\"source\":{\"type\":\"user\",\"userId\":\"Ub\"},"
	    "\"replyToken\":\"r2\",\"postback\":{\"data\":\"action=refer\",\"params\":{\"date\":"
	    "\"2026-12-01\"}}},"
	    "{\"type\":\"message\",\"timestamp\":3,\"deliveryContext\":{\"isRedelivery\":true},"
	    "\"source\":{\"type\":\"group\",\"groupId\":\"Cg\",\"userId\":\"Uc\"},"
	    "\"message\":{\"id\":\"1\",\"type\":\"sticker\"}},"
	    "{\"type\":\"unsend\",\"timestamp\":4,\"source\":{\"type\":\"room\",\"roomId\":\"Rr\"},"
	    "\"unsend\":{\"messageId\":\"325708\"}}]}";

	(void)state;
	assert_int_equal(parse_line(body, &l), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.v[0].type, "follow");
	assert_int_equal(l.v[0].unblocked, 1);
	assert_string_equal(l.v[1].postback_data, "action=refer");
	assert_string_equal(l.v[1].postback_params, "{\"date\":\"2026-12-01\"}");
	assert_string_equal(l.v[2].group_id, "Cg");
	assert_string_equal(l.v[2].source_type, "group");
	assert_int_equal(l.v[2].redelivery, 1);
	assert_null(l.v[2].text);
	assert_string_equal(l.v[3].group_id, "Rr");
	assert_string_equal(l.v[3].message_id, "325708");
	/* No webhookEventId: keyed on the body hash and the index, distinct per event. */
	assert_true(strncmp(l.v[0].event_key, "h:", 2) == 0);
	assert_string_not_equal(l.v[0].event_key, l.v[1].event_key);
	event_list_free(&l);
}

static void
test_unknown_type_kept(void **state)
{
	struct event_list l;

	(void)state;
	assert_int_equal(parse_line("{\"events\":[{\"type\":\"greatNewFeature\","
	    "\"webhookEventId\":\"X\"}]}", &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].type, "greatNewFeature");
	assert_false(l.v[0].known);
	event_list_free(&l);
}

static void
test_verification_body(void **state)
{
	struct event_list l;

	(void)state;
	assert_int_equal(parse_line("{\"destination\":\"Ua4c123b1612dd272d1371c17149d4395\","
	    "\"events\":[]}", &l), 0);
	assert_int_equal(l.n, 0);
}

static void
test_quarantined_bodies(void **state)
{
	static const char *const bad[] = {
		"", "not json", "{\"events\":[{\"type\":\"message\"}]", "[]", "null",
		"{\"events\":{}}", "{\"events\":\"x\"}", "{\"events\":null}", "{}",
		"{\"events\":[1]}", "{\"events\":[{\"type\":1}]}", "{\"events\":[{}]}",
		"{\"events\":[],\"events\":[]}", "{\"events\":[]} trailing",
		"{\"events\":[{\"type\":\"message\",\"webhookEventId\":\"a\",\"webhookEventId\":\"b\"}]}",
		"\xef\xbb\xbf{\"events\":[]}", "{\"events\":[{\"type\":\"a\xff\"}]}",
		/* a key twice deeper down, a raw control character, an overlong '/' */
		("{\"events\":[{\"type\":\"message\",\"source\":{\"userId\":\"Ua\","
		"\"userId\":\"Ub\"}}]}"),
		"{\"events\":[{\"type\":\"message\",\"x\":[{\"k\":1,\"k\":2}]}]}",
		"{\"events\":[{\"type\":\"mess\x01age\"}]}",
		"{\"events\":[{\"type\":\"\xc0\xaf\"}]}",
		"{\"events\":[{\"type\":\"message\"}]}}", "{\"events\":[{\"type\":tru}]}",
	};
	char why[WHY_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct event_list l = { 0 };

		if (webhook_line_parse("main", bad[i], strlen(bad[i]), NULL, &l, why, sizeof(why)) != -1)
			fail_msg("body %zu was accepted: %s", i, bad[i]);
		assert_int_equal(l.n, 0);
		assert_true(strlen(why) > 0);
	}
}

/* A NUL byte counts as a byte of the body, not as its end. */
static void
test_nul_byte_refused(void **state)
{
	static const char body[] = "{\"events\":[]}\0 ";
	struct event_list l = { 0 };
	char why[WHY_MAX];

	(void)state;
	assert_int_equal(webhook_line_parse("main", body, sizeof(body) - 1, NULL, &l, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "control character 0x00 at byte 13"));
	assert_int_equal(webhook_line_parse("main", body, 13, NULL, &l, why, sizeof(why)), 0);
}

/* Escapes decode to UTF-8 (a surrogate pair to one character); where a broken body
 * went wrong is said in lines and characters. */
static void
test_escapes_and_error_position(void **state)
{
	struct event_list l;
	char why[WHY_MAX];
	const char *broken = "{\"events\":[\n{\"type\":\"あ\" \"x\"}]}";

	(void)state;
	assert_int_equal(parse_line("{\"events\":[{\"type\":\"message\",\"webhookEventId\":"
	    "\"E\",\"message\":{\"type\":\"text\",\"id\":\"1\",\"text\":"
	    "\"\\u3042\\ud83d\\ude00\\\"\\\\\\n\"}}]}", &l), 0);
	assert_string_equal(l.v[0].text, "あ😀\"\\\n");
	event_list_free(&l);
	memset(&l, 0, sizeof(l));
	assert_int_equal(webhook_line_parse("main", broken, strlen(broken), NULL, &l, why,
	    sizeof(why)), -1);
	assert_string_equal(why, "body is not valid JSON (at line 2, column 13)");
}

/* Numbers an int64_t cannot hold are not cast (undefined behaviour): a timestamp that
 * is not a whole number of milliseconds is no timestamp, and a postback parameter keeps
 * its value as JSON can write it. */
static void
test_numbers_out_of_range(void **state)
{
	static const char *const ts[] = { "1e400", "-1e400", "1.5", "1e300", "\"1\"" };
	struct event_list l;
	char body[256];

	(void)state;
	for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		snprintf(body, sizeof(body), "{\"events\":[{\"type\":\"follow\","
		    "\"timestamp\":%s}]}", ts[i]);
		assert_int_equal(parse_line(body, &l), 0);
		assert_int_equal(l.v[0].timestamp_ms, 0);
		event_list_free(&l);
	}
	assert_int_equal(parse_line("{\"events\":[{\"type\":\"postback\",\"postback\":"
	    "{\"data\":\"a\",\"params\":{\"z\":1e400,\"y\":2.5,\"x\":-3,\"w\":[true,null]}}}]}",
	    &l), 0);
	assert_string_equal(l.v[0].postback_params, "{\"w\":[true,null],\"x\":-3,\"y\":2.5,"
	    "\"z\":null}");
	event_list_free(&l);
}

static void
test_destination_check(void **state)
{
	struct event_list l = { 0 };
	char why[WHY_MAX];
	const char *body = "{\"destination\":\"Uaaaa\",\"events\":[]}";

	(void)state;
	assert_int_equal(webhook_line_parse("main", body, strlen(body), "Ubbbb", &l, why, sizeof(why)), -1);
	assert_string_equal(why, "destination is not this channel's bot user id");
	assert_int_equal(webhook_line_parse("main", body, strlen(body), "Uaaaa", &l, why, sizeof(why)), 0);
}

static void
test_deep_nesting(void **state)
{
	size_t depth = 5000, n = 0;
	char *body = malloc(depth * 2 + 64), why[WHY_MAX];
	struct event_list l = { 0 };

	(void)state;
	n += (size_t)sprintf(body, "{\"events\":[{\"type\":\"message\",\"x\":");
	for (size_t i = 0; i < depth; i++)
		body[n++] = '[';
	for (size_t i = 0; i < depth; i++)
		body[n++] = ']';
	n += (size_t)sprintf(body + n, "}]}");
	assert_int_equal(webhook_line_parse("main", body, n, NULL, &l, why, sizeof(why)), -1);
	free(body);
}

static int
parse_works(const char *body, struct event_list *out)
{
	char why[WHY_MAX];

	memset(out, 0, sizeof(*out));
	return webhook_works_parse("sales", "2000001", body, strlen(body), out, why, sizeof(why));
}

static void
test_works_events(void **state)
{
	struct event_list a, b, c, p;
	const char *msg = "{\"type\":\"message\",\"source\":{\"userId\":\"8d2c\",\"domainId\":"
	    "40029600},\"issuedTime\":\"2025-03-14T01:02:03.456Z\",\"content\":{\"type\":\"text\","
	    "\"text\":\"一覧\",\"postback\":\"cmd=list\"}}";
	const char *msg2 = "{\"type\":\"message\",\"source\":{\"userId\":\"8d2c\",\"domainId\":"
	    "40029600},\"issuedTime\":\"2025-03-14T01:02:04Z\",\"content\":{\"type\":\"text\","
	    "\"text\":\"一覧\",\"postback\":\"cmd=list\"}}";
	const char *pb = "{\"type\":\"postback\",\"source\":{\"userId\":\"8d2c\",\"channelId\":"
	    "\"7b0e\",\"domainId\":40029600},\"issuedTime\":\"2025-03-14T01:07:30.000Z\","
	    "\"data\":\"a=won&ref=R7K2Q9\"}";

	(void)state;
	assert_int_equal(parse_works(msg, &a), 0);
	assert_int_equal(a.n, 1);
	assert_int_equal(a.v[0].platform, PLATFORM_WORKS);
	assert_string_equal(a.v[0].text, "一覧");
	assert_string_equal(a.v[0].postback_data, "cmd=list");
	assert_string_equal(a.v[0].user_id, "8d2c");
	assert_string_equal(a.v[0].source_type, "user");
	assert_int_equal(a.v[0].timestamp_ms, 1741914123456LL);
	assert_int_equal(strlen(a.v[0].event_key), 64);
	/* Same body again: same key; different issuedTime: different key. */
	assert_int_equal(parse_works(msg, &b), 0);
	assert_string_equal(a.v[0].event_key, b.v[0].event_key);
	assert_int_equal(parse_works(msg2, &c), 0);
	assert_string_not_equal(a.v[0].event_key, c.v[0].event_key);
	assert_int_equal(c.v[0].timestamp_ms, 1741914124000LL);
	assert_int_equal(parse_works(pb, &p), 0);
	assert_string_equal(p.v[0].type, "postback");
	assert_string_equal(p.v[0].postback_data, "a=won&ref=R7K2Q9");
	assert_string_equal(p.v[0].group_id, "7b0e");
	assert_string_equal(p.v[0].source_type, "channel");
	event_list_free(&a);
	event_list_free(&b);
	event_list_free(&c);
	event_list_free(&p);
	assert_int_equal(parse_works("{\"source\":{}}", &a), -1);
	assert_int_equal(parse_works("[]", &a), -1);
	assert_int_equal(parse_works("{\"type\":\"join\"", &a), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sdk_fixtures),
		cmocka_unit_test(test_text_message),
		cmocka_unit_test(test_large_body),
		cmocka_unit_test(test_follow_postback_group),
		cmocka_unit_test(test_unknown_type_kept),
		cmocka_unit_test(test_verification_body),
		cmocka_unit_test(test_quarantined_bodies),
		cmocka_unit_test(test_nul_byte_refused),
		cmocka_unit_test(test_escapes_and_error_position),
		cmocka_unit_test(test_numbers_out_of_range),
		cmocka_unit_test(test_destination_check),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_works_events),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
