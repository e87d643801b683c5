/* test_announce.c: announcements: segment names, the announcements: section and its
 * errors with file and line, and the store's segments, frozen recipients and results. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "../../daemon/shokaid.h"
#include "testutil.h"

static char dir[256];

static const char *const head =
    TEST_CONFIG_HEAD
    "company_name: 株式会社テスト\n"
    "messages:\n"
    "  news: \"{company_name}からのお知らせ\"\n"
    "  personal: \"{display_name}さんへ\"\n"
    "branches: [{ code: shinjuku, name: 新宿支店 }, { code: yokohama, name: 横浜支店 }]\n"
    "reps: [{ code: R001, name: 高橋, branch: shinjuku },\n"
    "       { code: R012, name: 佐藤, branch: shinjuku },\n"
    "       { code: Y003, name: 鈴木, branch: yokohama }]\n";

static struct config *
load(const char *extra, char **errors)
{
	char path[512], *text = xasprintf("%s%s", head, extra);
	struct config_errors errs = { 0 };
	struct config *cf;

	test_write_file(dir, "shokai.yaml", text, 0644);
	free(text);
	snprintf(path, sizeof(path), "%s/shokai.yaml", dir);
	cf = config_load(path, &errs);
	*errors = xstrdup("");
	for (size_t i = 0; i < errs.n; i++) {
		char *more = xasprintf("%s%s\n", *errors, errs.lines[i] + strlen(dir) + 1);

		free(*errors);
		*errors = more;
	}
	config_errors_clear(&errs);
	return cf;
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/shokai-test-announce-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return test_write_file(dir, "secret", "s3cret\n", 0600);
}

static int
teardown(void **state)
{
	(void)state;
	return test_rmdir(dir);
}

static void
test_segment_names(void **state)
{
	struct segment sg;
	char why[WHY_MAX], out[96];

	(void)state;
	assert_int_equal(seg_parse("branch:shinjuku", &sg, why, sizeof(why)), 0);
	assert_int_equal(sg.kind, SEG_BRANCH);
	assert_string_equal(sg.arg, "shinjuku");
	seg_format(&sg, out, sizeof(out));
	assert_string_equal(out, "branch:shinjuku");
	assert_int_equal(seg_parse("not_referred", &sg, why, sizeof(why)), 0);
	assert_int_equal(sg.kind, SEG_NOT_REFERRED);
	assert_string_equal(sg.arg, "");
	assert_int_equal(seg_parse("everyone", &sg, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "unknown segment 'everyone'"));
	assert_int_equal(seg_parse("rep", &sg, why, sizeof(why)), -1);
	assert_string_equal(why, "segment rep needs its code: rep:CODE");
	assert_int_equal(seg_parse("all:x", &sg, why, sizeof(why)), -1);
	assert_string_equal(why, "segment all takes nothing after it");
	assert_int_equal(seg_parse("tag:パートナー", &sg, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "is not 1-64 letters"));
	assert_int_equal(seg_parse("tag:", &sg, why, sizeof(why)), -1);
}

static void
test_config_good(void **state)
{
	char *errors, why[WHY_MAX], *reps = NULL;
	struct config *cf = load("announcements:\n"
	    "  - { id: news, title: お知らせ, message: news }\n"
	    "  - { id: branch-news, title: 支店, message: news, channel: main,\n"
	    "      segments: [branch, rep] }\n", &errors);
	const struct config_announcement *a;
	struct segment sg;
	json_t *m;

	(void)state;
	assert_string_equal(errors, "");
	assert_non_null(cf);
	assert_int_equal(cf->n_announcements, 2);
	a = config_announcement(cf, "news");
	assert_non_null(a);
	assert_string_equal(a->channel, "main");	/* the first channel by default */
	assert_int_equal(a->segments, (1u << SEG_KIND_COUNT) - 1);
	m = config_announce_messages(cf, a);
	assert_string_equal(json_string_value(json_object_get(json_array_get(m, 0), "text")),
	    "株式会社テストからのお知らせ");
	json_decref(m);

	a = config_announcement(cf, "branch-news");
	assert_int_equal(a->segments, (1u << SEG_BRANCH) | (1u << SEG_REP));
	assert_int_equal(seg_parse("branch:shinjuku", &sg, why, sizeof(why)), 0);
	assert_int_equal(config_announce_target(cf, a, &sg, &reps, why, sizeof(why)), 0);
	assert_string_equal(reps, "[\"R001\",\"R012\"]");
	free(reps);
	assert_int_equal(seg_parse("branch:osaka", &sg, why, sizeof(why)), 0);
	assert_int_equal(config_announce_target(cf, a, &sg, &reps, why, sizeof(why)), -1);
	assert_string_equal(why, "no branch 'osaka' under branches");
	assert_int_equal(seg_parse("rep:Z9", &sg, why, sizeof(why)), 0);
	assert_int_equal(config_announce_target(cf, a, &sg, &reps, why, sizeof(why)), -1);
	assert_string_equal(why, "no rep 'Z9' under reps");
	assert_int_equal(seg_parse("all", &sg, why, sizeof(why)), 0);
	assert_int_equal(config_announce_target(cf, a, &sg, &reps, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "not offered to segment all"));
	assert_null(config_announcement(cf, "nope"));
	free(errors);
	config_unref(cf);
}

static void
test_config_errors(void **state)
{
	static const struct {
		const char	*yaml;
		const char	*expect;
	} cases[] = {
		{ "announcements:\n  - { id: a, title: A, message: personal }\n",
		    "shokai.yaml:18:33: announcements[0]: message 'personal' uses {display_name}, "
		    "which is not known here (known: {company_name})\n" },
		{ "announcements:\n  - { id: a, title: A, message: nope }\n",
		    "shokai.yaml:18:33: announcements[0]: no message named 'nope' under messages\n" },
		{ "announcements:\n  - { id: a, title: A, message: news, channel: other }\n",
		    "shokai.yaml:18:48: announcements[0].channel: no LINE channel 'other' under "
		    "line.channels\n" },
		{ "announcements:\n  - { id: a, title: A, message: news, segments: [all, vip] }\n",
		    "shokai.yaml:18:55: announcements[0].segments[1]: unknown segment kind 'vip' "
		    "(known: all, branch, rep, not_referred, referred, tag)\n" },
		{ "announcements:\n  - { id: a, title: A, message: news }\n"
		    "  - { id: a, title: B, message: news }\n",
		    "shokai.yaml:19:5: announcements[1]: id 'a' is used twice\n" },
		{ "announcements:\n  - { id: A!, title: A, message: news }\n",
		    "shokai.yaml:18:11: announcements[0].id: 'A!' may use only a-z, 0-9, '-' and "
		    "'_'\n" },
		{ "announcements:\n  - { id: a, message: news }\n",
		    "shokai.yaml:18:5: announcements[0]: missing required key 'title'\n" },
		{ "announcements: { id: a }\n",
		    "shokai.yaml:17:16: announcements: expected a list, got a mapping\n" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *errors;
		struct config *cf = load(cases[i].yaml, &errors);

		if (cf != NULL || strcmp(errors, cases[i].expect) != 0)
			fail_msg("case %zu: got\n%s", i, errors);
		free(errors);
	}
}

/* Rows as the webhook and referral paths write them, on a connection of the test's. */
static int
store_exec_for_test(struct store *s, const char *sql)
{
	char path[512];
	sqlite3 *db = NULL;
	int rc;

	(void)s;
	snprintf(path, sizeof(path), "%s/shokai.db", dir);
	if (sqlite3_open(path, &db) != SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db, 1000);
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
	if (rc == -1)
		print_error("%s\n", sqlite3_errmsg(db));
	sqlite3_close(db);
	return rc;
}

static void
user(struct store *s, const char *id, const char *rep, int friend)
{
	char *sql = xasprintf("INSERT INTO users(channel, user_id, first_seen_at, is_friend) "
	    "VALUES ('main', '%s', 1, %d);%s%s%s", id, friend, rep ? "INSERT INTO customers("
	    "channel, user_id, rep_code, rep_source, assigned_at) VALUES ('main', '" : "",
	    rep ? id : "", rep ? "', 'R001', 'import', 1);" : "");

	assert_int_equal(store_exec_for_test(s, sql), 0);
	free(sql);
}

static int
collect(void *arg, const char *user_id)
{
	json_array_append_new(arg, json_string(user_id));
	return 0;
}

static void
test_store_segments_freeze_and_results(void **state)
{
	char path[512], why[WHY_MAX];
	struct store *s;
	struct announce_target all = { .channel = "main", .kind = SEG_ALL };
	struct announce_target rep = { .channel = "main", .kind = SEG_REP,
	    .reps_json = "[\"R001\"]" };
	struct announce_target referred = { .channel = "main", .kind = SEG_REFERRED };
	struct announce_target fresh = { .channel = "main", .kind = SEG_NOT_REFERRED };
	struct announce_target tagged = { .channel = "main", .kind = SEG_TAG, .tag = "partner" };
	struct announce_new n = { .config_id = "news", .title = "T", .message = "news",
	    .channel = "main", .segment = "rep:R001", .created_by = "test", .scheduled_at = 5,
	    .quota_limit = -1 };
	struct announce_counts c = { .quota_limit = -1 };
	struct announce_results res;
	struct announce_row row;
	int64_t friends, blocked, id, recipients;
	json_t *got = json_array();
	int inserted;

	(void)state;
	snprintf(path, sizeof(path), "%s/shokai.db", dir);
	s = store_open(path, 0, 1000, why, sizeof(why));
	assert_non_null(s);
	user(s, "Ua", "R001", 1);
	user(s, "Ub", "R001", 1);
	user(s, "Uc", "R001", 0);		/* blocked */
	user(s, "Ud", NULL, 1);			/* a friend, no rep */
	assert_int_equal(store_exec_for_test(s, "INSERT INTO referral_codes VALUES ('C1', "
	    "'main', 'Ua', 'w', 1); INSERT INTO referrals(channel, campaign, code, referrer_id, "
	    "referee_id, state, claimed_at, updated_at) VALUES ('main', 'w', 'C1', 'Ua', 'Ud', "
	    "'claimed', 1, 1);"), 0);
	assert_int_equal(store_tags_put(s, "main", "partner", "Ub", 1, &inserted), 0);
	assert_int_equal(inserted, 1);
	assert_int_equal(store_tags_put(s, "main", "partner", "Ub", 2, &inserted), 0);
	assert_int_equal(inserted, 0);

	assert_int_equal(store_announce_count(s, &all, &friends, &blocked), 0);
	assert_true(friends == 3 && blocked == 1);
	assert_int_equal(store_announce_count(s, &rep, &friends, &blocked), 0);
	assert_true(friends == 2 && blocked == 1);
	assert_int_equal(store_announce_count(s, &referred, &friends, &blocked), 0);
	assert_true(friends == 1 && blocked == 0);
	assert_int_equal(store_announce_count(s, &fresh, &friends, &blocked), 0);
	assert_true(friends == 1 && blocked == 1);	/* Ub; Uc blocked; Ud no customer */
	assert_int_equal(store_announce_count(s, &tagged, &friends, &blocked), 0);
	assert_true(friends == 1 && blocked == 0);

	/* Frozen at the start: a friend who joins the rep later is not a recipient. */
	assert_int_equal(store_announce_create(s, &n, &id), 0);
	assert_int_equal(store_announce_due(s, 4, &row), 0);
	assert_int_equal(store_announce_due(s, 5, &row), 1);
	assert_int_equal(row.id, id);
	announce_row_clear(&row);
	/* As the tick does: the blocked counted first, the recipients frozen inside. */
	assert_int_equal(store_announce_count(s, &rep, &friends, &blocked), 0);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_announce_freeze(s, id, &rep, &recipients), 0);
	assert_int_equal(recipients, 2);
	c.recipients = recipients;
	c.blocked = blocked;
	assert_int_equal(outmsg_line_multicast(s, "main", (const char *[]){ "Ua", "Ub" }, 2,
	    json_pack("[{s:s,s:s}]", "type", "text", "text", "x"), "announce:1:0"), 0);
	assert_int_equal(store_announce_started(s, id, &c, 1, 1000), 1);
	assert_int_equal(store_commit(s), 0);
	user(s, "Ue", "R001", 1);
	assert_int_equal(store_announce_recipients(s, id, collect, got), 0);
	assert_int_equal(json_array_size(got), 2);
	assert_string_equal(json_string_value(json_array_get(got, 0)), "Ua");
	assert_string_equal(json_string_value(json_array_get(got, 1)), "Ub");
	/* A second row of the same chunk is not written (its dedupe key). */
	assert_int_equal(outmsg_line_multicast(s, "main", (const char *[]){ "Ua" }, 1,
	    json_pack("[{s:s,s:s}]", "type", "text", "text", "x"), "announce:1:0"), 0);
	assert_int_equal(store_announce_finish(s, 2000), 0);		/* still pending */
	assert_int_equal(store_announce_results(s, id, 1000, &res), 0);
	assert_true(res.pending == 2 && res.delivered == 0 && res.chunks_written == 1);
	assert_int_equal(store_exec_for_test(s, "UPDATE outbox SET state = 'sent';"
	    "INSERT INTO referral_events(at, type, code, referrer_id) VALUES "
	    "(1500, 'issued', 'C1', 'Ua'), (1600, 'clicked', 'C1', 'Ua'), "
	    "(1700, 'claimed', 'C1', 'Ua'), (999, 'claimed', 'C1', 'Ua'), "
	    "(1000 + 15 * 86400000, 'claimed', 'C1', 'Ua'), (1800, 'claimed', 'C9', 'Ue');"), 0);
	assert_int_equal(store_announce_finish(s, 2000), 1);
	assert_int_equal(store_announce_results(s, id, 1000, &res), 0);
	assert_true(res.delivered == 2 && res.failed == 0 && res.pending == 0);
	/* Only the recipients' own, within 14 days of the start. */
	assert_true(res.invites == 1 && res.clicks == 1 && res.claims == 1);
	assert_int_equal(store_announce_get(s, id, &row), 1);
	assert_string_equal(row.state, "sent");
	assert_true(row.recipients == 2 && row.blocked == 1 && row.chunks == 1);
	announce_row_clear(&row);
	/* Only a scheduled send can be canceled. */
	assert_int_equal(store_announce_close(s, id, "canceled", "x", NULL), 0);
	json_decref(got);
	store_close(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_segment_names),
		cmocka_unit_test(test_config_good),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_store_segments_freeze_and_results),
	};

	log_init(LOG_ERROR);
	return cmocka_run_group_tests(tests, setup, teardown);
}
