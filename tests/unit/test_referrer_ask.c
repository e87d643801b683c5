/* test_referrer_ask.c: the question to a new friend who sent no code
 * (handlers/referrer_ask.c, store_asks.c), driven as the follow-up tick drives it, on a
 * real SQLite store with a fixed clock: asked once after referral.ask_referrer_after,
 * not while a person has the conversation, いない ends it, a typed name matching one
 * customer is a claim held for review (typed_name), none is kept for an operator; the
 * name as compared; the testers: list and shokaictl reset's store half; the config's
 * checks of the new keys. */
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

#include "handler_world.h"

#define BOB	"Ubob"
#define TESTER	"U77777777777777777777777777777777"

static const char *const config_text =
    TEST_CONFIG_HEAD
    "company_name: 株式会社テスト\n"
    "messages:\n"
    "  invite: \"{sender_name}さんからのご紹介です。紹介コード{code} {invite_url}\"\n"
    "  invite_preview:\n"
    "    - template: { type: buttons, text: 友だちに送る, actions: [{ type: uri, label: 送る,"
    " uri: \"{share_url}\" }] }\n"
    "postbacks:\n"
    "  refer: referral.invite\n"
    "branches:\n"
    "  - { code: shinjuku, name: 新宿支店 }\n"
    "reps:\n"
    "  - { code: R001, name: 高橋 美咲, branch: shinjuku }\n"
    "referral: { %s }\n"
    "testers: %s\n"
    "campaigns:\n"
    "  - id: winter\n"
    "    name: 冬のご紹介キャンペーン\n"
    "    starts: 2027-01-01\n"
    "    ends: 2027-01-31\n"
    "    rules: { review: { within: 1h, default: approve } }\n";

static void
load(struct world *w)
{
	char *text = xasprintf(config_text, "ask_referrer_after: 10m", "[" TESTER "]");

	world_load(w, text);
	free(text);
}

/* The tick's scan at now: how many friends were asked. */
static int
ask_scan(struct world *w, int64_t now)
{
	struct nudge_code *f;
	int64_t lo, hi;
	size_t n;
	int sent = 0;

	referral_ask_window(w->cfg, now, &lo, &hi);
	assert_int_equal(store_ask_due(w->store, lo, hi, 64, &f, &n), 0);
	assert_int_equal(store_begin(w->store), 0);
	for (size_t i = 0; i < n; i++) {
		struct handler_ctx hc = { .cfg = w->cfg, .store = w->store, .salt = world_salt,
		    .now_ms = now };
		int rc = referral_ask_referrer(&hc, &f[i]);

		assert_int_not_equal(rc, -1);
		sent += rc;
	}
	assert_int_equal(store_commit(w->store), 0);
	nudge_codes_free(f, n);
	return sent;
}

static void
test_name_key(void **state)
{
	static const char *const same[][2] = {
		{ "山田 花子", "山田花子" },
		{ "山田　花子さん", "山田花子" },	/* an ideographic space, an honorific */
		{ " ＹＡＭＡＤＡ  Hanako ", "yamadahanako" },
		{ "山田様", "山田" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		char *a = referrer_name_key(same[i][0]), *b = referrer_name_key(same[i][1]);

		if (strcmp(a, b) != 0)
			fail_msg("case %zu: '%s' and '%s'", i, a, b);
		free(a);
		free(b);
	}
	{
		char *a = referrer_name_key("さん");	/* nothing but an honorific stays */

		assert_string_equal(a, "さん");
		free(a);
	}
}

static void
test_asked_once_and_one_match_is_held(void **state)
{
	struct world *w = *state;
	char code[REFCODE_LEN + 1];
	long long mark;

	load(w);
	referrer(w, code);			/* ALICE, 山田 花子, with a code */
	follow(w, "follow", FRIEND, T);
	assert_int_equal(ask_scan(w, T + 9 * MIN), 0);		/* too early */
	mark = outbox_mark(w);
	assert_int_equal(ask_scan(w, T + 10 * MIN), 1);
	assert_int_equal(ask_scan(w, T + 11 * MIN), 0);		/* once */
	assert_string_equal(q(w, "SELECT kind, target, instr(json_extract(body, "
	    "'$.messages[0].text'), 'ご紹介者はいらっしゃいますか') > 0, json_extract(body, "
	    "'$.messages[0].quickReply.items[1].action.text') FROM outbox WHERE id > %lld",
	    mark), "push|" FRIEND "|1|いない\n");
	line_says(w, FRIEND, "いる", T + 12 * MIN, "referrer_ask");
	line_says(w, FRIEND, "山田花子さん", T + 13 * MIN, "referrer_ask");
	assert_string_equal(q(w, "SELECT code = '%s', referrer_id, state FROM referrals "
	    "WHERE referee_id = '" FRIEND "'", code), "1|" ALICE "|held\n");
	assert_string_equal(q(w, "SELECT type, reason, actor FROM referral_events WHERE "
	    "referee_id = '" FRIEND "'"), "held|typed_name|friend\n");
	assert_string_equal(q(w, "SELECT state, typed, matches, referral_id IS NOT NULL FROM "
	    "referrer_asks"), "typed|山田花子さん|1|1\n");
	/* The campaign's review default (approve after an hour) does not apply: a typed
	 * name waits for a person. */
	{
		struct handler_ctx hc = { .cfg = w->cfg, .store = w->store, .salt = world_salt,
		    .now_ms = T + DAY };
		struct referral_row r;
		int64_t id;

		assert_int_equal(store_referral_of_referee(w->store, "main", FRIEND, &id), 1);
		assert_int_equal(store_referral_get(w->store, id, &r), 1);
		assert_int_equal(referral_review_expired(&hc, &r), 0);
		referral_row_clear(&r);
		assert_string_equal(q(w, "SELECT state FROM referrals"), "held\n");
	}
}

static void
test_no_handoff_and_unmatched(void **state)
{
	struct world *w = *state;
	char code[REFCODE_LEN + 1];
	struct handoff_new h = { .channel = "main", .user_id = BOB, .reason = "test",
	    .notified = "operators", .opened_at = T, .quiet_until = T + DAY };
	int64_t id;

	load(w);
	referrer(w, code);
	follow(w, "follow", FRIEND, T);
	follow(w, "follow", BOB, T);
	assert_int_equal(store_handoff_open(w->store, &h, &id), 0);
	assert_int_equal(ask_scan(w, T + 10 * MIN), 1);		/* not Bob: a person answers */
	assert_int_equal(store_handoff_update(w->store, id, HANDOFF_RESOLVED, T + 20 * MIN,
	    "test"), 1);
	assert_int_equal(ask_scan(w, T + 21 * MIN), 1);		/* Bob now */
	line_says(w, FRIEND, "いない", T + 22 * MIN, "referrer_ask");
	line_says(w, BOB, "はい", T + 22 * MIN, "referrer_ask");
	line_says(w, BOB, "佐藤 次郎", T + 23 * MIN, "referrer_ask");
	assert_string_equal(q(w, "SELECT user_id, state, coalesce(typed, '-'), "
	    "coalesce(matches, '-') FROM referrer_asks ORDER BY user_id"),
	    BOB "|typed|佐藤 次郎|0\n" FRIEND "|no|-|-\n");
	assert_string_equal(q(w, "SELECT count(*) FROM referrals"), "0\n");
	{
		json_t *rows = NULL;

		assert_int_equal(store_asks_typed(w->store, &rows), 0);
		assert_int_equal(json_array_size(rows), 1);
		assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0),
		    "typed")), "佐藤 次郎");
		json_decref(rows);
	}
	/* An operator found the referrer: Alice's code, let through at once. A code that
	 * is none, or a friend with nothing waiting, is refused. */
	{
		struct handler_ctx hc = { .cfg = w->cfg, .store = w->store, .salt = world_salt,
		    .now_ms = T + HOUR, .operator_name = "operator:admin" };
		char why[256];

		assert_int_equal(store_begin(w->store), 0);
		assert_int_equal(referrer_ask_decide(&hc, "main", BOB, "nothing", why,
		    sizeof(why)), -2);
		assert_int_equal(referrer_ask_decide(&hc, "main", FRIEND, code, why,
		    sizeof(why)), -2);
		assert_int_equal(referrer_ask_decide(&hc, "main", BOB, code, why, sizeof(why)),
		    1);
		assert_int_equal(store_commit(w->store), 0);
		assert_string_equal(q(w, "SELECT referrer_id, referee_id, state FROM referrals"),
		    ALICE "|" BOB "|claimed\n");
		assert_string_equal(q(w, "SELECT state, typed, referral_id IS NOT NULL FROM "
		    "referrer_asks WHERE user_id = '" BOB "'"), "decided|佐藤 次郎|1\n");
	}
}

/* A tester's state goes; a customer's stays. */
static void
test_reset_tester(void **state)
{
	struct world *w = *state;
	char code[REFCODE_LEN + 1], tcode[REFCODE_LEN + 1];

	load(w);
	assert_int_equal(config_is_tester(w->cfg, TESTER), 1);
	assert_int_equal(config_is_tester(w->cfg, ALICE), 0);
	referrer(w, code);
	issue_code(w, TESTER, T, tcode);
	claim(w, FRIEND, tcode, T + MIN);
	/* The tester's code, its click and its claim are not counted; Alice's code is. */
	{
		struct ref_event click = { .type = "clicked", .channel = "main",
		    .campaign = "winter", .code = tcode, .referrer_id = TESTER,
		    .client_hash = "c1", .at = T + 30000 };

		assert_int_equal(store_ref_event(w->store, &click), 0);
	}
	{
		struct report_rejection rej[] = { { "self_referral", "rej_self" } };
		char buf[4096] = "";
		FILE *out;

		assert_non_null(out = fmemopen(buf, sizeof(buf) - 1, "w"));
		assert_int_equal(store_report(w->store, out, PRINT_CSV, REPORT_BY_CAMPAIGN,
		    "2000-01-01", "2999-12-31", rej, 1, NULL, 0, NULL, 0, w->cfg->testers_json),
		    0);
		fclose(out);
		assert_non_null(strstr(buf, "winter,,1,0,0,0,0,0,0,0,0,0,0.0,,\n"));
	}
	assert_true(store_reset_tester(w->store, TESTER) > 0);
	assert_string_equal(q(w, "SELECT count(*) FROM referral_codes WHERE user_id = '"
	    TESTER "'"), "0\n");
	assert_string_equal(q(w, "SELECT count(*) FROM referrals"), "0\n");
	assert_string_equal(q(w, "SELECT count(*) FROM referral_events WHERE code = '%s'",
	    tcode), "0\n");
	assert_string_equal(q(w, "SELECT count(*) FROM referral_codes WHERE user_id = '"
	    ALICE "'"), "1\n");
}

static void
test_config_errors(void **state)
{
	struct world *w = *state;
	static const struct {
		const char	*referral, *testers, *expect;
	} cases[] = {
		{ "ask_referrer_after: 0s", "[]", "referral.ask_referrer_after" },
		{ "ask_referrer_after: 2d", "[]", "referral.ask_referrer_after" },
		{ "ask_referrer_after: 1m", "[Ubob]", "testers[0]: expected a LINE user id" },
		{ "ask_referrer_after: 1m", "[" TESTER ", " TESTER "]", "is listed twice" },
		{ "ask_referrer_after: 1m", "U1", "testers: expected a list" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[512], *text = xasprintf(config_text, cases[i].referral,
		    cases[i].testers);
		struct config_errors errs = { 0 };
		struct config *cf;

		test_write_file(w->dir, "shokai.yaml", text, 0644);
		free(text);
		snprintf(path, sizeof(path), "%s/shokai.yaml", w->dir);
		cf = config_load(path, &errs);
		if (cf != NULL || errs.n != 1 || strstr(errs.lines[0], cases[i].expect) == NULL)
			fail_msg("case %zu: got %zu errors: %s", i, errs.n,
			    errs.n ? errs.lines[0] : "-");
		config_unref(cf);
		config_errors_clear(&errs);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_key),
		cmocka_unit_test_setup_teardown(test_asked_once_and_one_match_is_held, world_setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_no_handoff_and_unmatched, world_setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_reset_tester, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_config_errors, world_setup, world_teardown),
	};

	setenv("TZ", "Asia/Tokyo", 1);
	tzset();
	log_init(LOG_ERROR);
	return cmocka_run_group_tests(tests, world_group_setup, world_group_teardown);
}
