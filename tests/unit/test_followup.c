/* test_followup.c: the follow-ups (handlers/referral_followup.c, referral_manager.c,
 * store_nudge.c), driven as the follow-up tick (daemon/storage/followup_tick.c) drives
 * them and asking its questions of when each is due, on a real SQLite
 * store with a fixed clock: one reminder of an invite nobody opened and none of one
 * that was clicked, the ask after a win, the monthly limit per person, the escalation
 * after business hours, once, the weekly digest counted by store_figures, once, and
 * the config's checks of the new keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "handler_world.h"

#define BOSS	"boss"
#define BOB	"Ubob"
#define REMINDER \
	"先日はご紹介のお申し出ありがとうございます。紹介メッセージはまだ送られていないよ" \
	"うです。よろしければ下のボタンから、ご家族やご友人にお送りください。"
#define ASK \
	"このたびはご成約ありがとうございます。ほかにもお役に立てそうなご家族やご友人はい" \
	"らっしゃいますか？"


#define REFERRAL "digest: { day: mon, at: \"08:30\" }, escalate_unacted_after: 4h"


/* The config: one LINE channel, the LINE WORKS bot "sales", the branch shinjuku with
 * its manager R009, reps, and the campaign "winter" whose reminders each test gives
 * (the %s); the digest on Mondays at 08:30, escalation after 4 business hours of
 * mon-fri 09:00-18:00. */
static const char *const config_text =
    TEST_CONFIG_HEAD
    "lineworks:\n"
    "  bots:\n"
    "    - { id: sales, bot_id: \"2000001\", bot_secret_file: secret, client_id: cid,\n"
    "        client_secret_file: secret, service_account: a.serviceaccount@example.com,\n"
    "        private_key_file: key.pem, auth_url: \"http://127.0.0.1:9/token\",\n"
    "        api_base: \"http://127.0.0.1:9/v1.0\" }\n"
    "admin: { public_url: \"https://console.example.jp\" }\n"
    "company_name: 株式会社テスト\n"
    "business_hours: { days: mon-fri, from: \"09:00\", to: \"18:00\" }\n"
    "messages:\n"
    "  invite: \"{sender_name}さんからのご紹介です。紹介コード{code} {invite_url}\"\n"
    "  invite_preview:\n"
    "    - template: { type: buttons, text: 友だちに送る, actions: [{ type: uri, label: 送る,"
    " uri: \"{share_url}\" }] }\n"
    "postbacks:\n"
    "  refer: referral.invite\n"
    "branches:\n"
    "  - { code: shinjuku, name: 新宿支店, managers: [R009], monthly_target: 8 }\n"
    "reps:\n"
    "  - { code: R001, name: 高橋 美咲, branch: shinjuku, lineworks_user_id: " REP ",\n"
    "      contact_url: \"https://works.do/R0a1b2c\" }\n"
    "  - { code: R009, name: 部長, branch: shinjuku, lineworks_user_id: boss }\n"
    "referral: { notify_bot: sales, %s }\n"
    "campaigns:\n"
    "  - id: winter\n"
    "    name: 冬のご紹介キャンペーン\n"
    "    starts: 2027-01-01\n"
    "    ends: 2027-01-31\n"
    "    reminders: %s\n";

/* Loads the config with the campaign's reminders (a YAML flow mapping). */
static void
load(struct world *w, const char *reminders)
{
	char *text = xasprintf(config_text, REFERRAL, reminders);

	world_load(w, text);
	free(text);
}

/* The reminder scan of followup_tick.c at now: how many reminders went out. */
static int
remind_scan(struct world *w, int64_t now)
{
	const struct config_campaign *cp = config_campaign(w->cfg, "winter");
	struct nudge_code *codes;
	int64_t lo, hi;
	size_t n;
	int sent = 0;

	referral_remind_window(cp, now, &lo, &hi);
	assert_int_equal(store_codes_unshared(w->store, "winter", lo, hi, 64, &codes, &n), 0);
	assert_int_equal(store_begin(w->store), 0);
	for (size_t i = 0; i < n; i++) {
		struct handler_ctx hc = { .cfg = w->cfg, .store = w->store, .salt = world_salt,
		    .now_ms = now };
		int rc = referral_remind_unshared(&hc, cp, &codes[i]);

		assert_int_not_equal(rc, -1);
		sent += rc;
	}
	assert_int_equal(store_commit(w->store), 0);
	nudge_codes_free(codes, n);
	return sent;
}

/* The escalation scan of followup_tick.c at now: how many referrals were escalated. */
static int
escalate_scan(struct world *w, int64_t now)
{
	int64_t after = w->cfg->referral.escalate_after_ms;
	struct figures_waiting *wt;
	size_t n;
	int sent = 0;

	assert_int_equal(store_referrals_unacted(w->store, now - after, 64, &wt, &n), 0);
	assert_int_equal(store_begin(w->store), 0);
	for (size_t i = 0; i < n; i++) {
		struct handler_ctx hc = { .cfg = w->cfg, .store = w->store, .salt = world_salt,
		    .now_ms = now };
		int rc;

		if (!referral_escalate_due(w->cfg, wt[i].since, now))
			break;
		rc = referral_escalate(&hc, &wt[i]);
		assert_int_not_equal(rc, -1);
		sent += rc;
	}
	assert_int_equal(store_commit(w->store), 0);
	figures_waiting_free(wt, n);
	return sent;
}

static void
test_reminder_once_and_not_after_a_click(void **state)
{
	struct world *w = *state;
	char code[REFCODE_LEN + 1], bob_code[REFCODE_LEN + 1];
	struct ref_event click = { .type = "clicked", .channel = "main", .campaign = "winter",
	    .at = T };
	long long mark;

	load(w, "{ unshared_after: 3d }");
	referrer(w, code);
	issue_code(w, BOB, T - HOUR, bob_code);
	click.code = bob_code;
	click.referrer_id = BOB;
	assert_int_equal(store_ref_event(w->store, &click), 0);	/* Bob shared his */
	mark = outbox_mark(w);
	assert_int_equal(remind_scan(w, T + 2 * DAY), 0);		/* too early */
	assert_int_equal(remind_scan(w, T - HOUR + 3 * DAY), 1);
	assert_int_equal(remind_scan(w, T - HOUR + 3 * DAY + MIN), 0);	/* once */
	assert_int_equal(remind_scan(w, T + 4 * DAY), 0);
	assert_string_equal(q(w, "SELECT kind, target, json_extract(body, '$.messages[0].text'), "
	    "json_extract(body, '$.messages[1].template.actions[0].uri') LIKE "
	    "'https://line.me/R/share?text=%%', instr(json_extract(body, "
	    "'$.messages[1].template.actions[0].uri'), '%s') > 0 FROM outbox WHERE id > %lld",
	    code, mark), "push|" ALICE "|" REMINDER "|1|1\n");
	assert_string_equal(q(w, "SELECT kind, subject = '%s', period, person, sent FROM nudges",
	    code), "remind|1||" ALICE "|1\n");
}

/* While a person has the customer's conversation (an open handoff), no reminder talks
 * over them; it goes out at a scan after the handoff is resolved. */
static void
test_no_reminder_while_a_person_answers(void **state)
{
	struct world *w = *state;
	char code[REFCODE_LEN + 1];
	struct handoff_new h = { .channel = "main", .user_id = ALICE, .reason = "test",
	    .notified = "rep:R001", .opened_at = T, .quiet_until = T + 30 * DAY };
	int64_t id;

	load(w, "{ unshared_after: 1d }");
	referrer(w, code);
	assert_int_equal(store_handoff_open(w->store, &h, &id), 0);
	assert_int_equal(remind_scan(w, T + DAY), 0);
	assert_string_equal(q(w, "SELECT count(*) FROM nudges"), "0\n");
	assert_int_equal(store_handoff_update(w->store, id, HANDOFF_RESOLVED, T + DAY, "test"),
	    1);
	assert_int_equal(remind_scan(w, T + DAY + MIN), 1);
}

/* A customer who blocked the account is not reminded; the decision is kept. */
static void
test_no_reminder_to_a_blocked_customer(void **state)
{
	struct world *w = *state;
	char code[REFCODE_LEN + 1];
	long long mark;

	load(w, "{ unshared_after: 1d }");
	referrer(w, code);
	assert_int_equal(store_user_unfollow(w->store, "main", ALICE, T), 0);
	mark = outbox_mark(w);
	assert_int_equal(remind_scan(w, T + DAY), 0);
	assert_int_equal(remind_scan(w, T + DAY + MIN), 0);
	assert_string_equal(q(w, "SELECT count(*) FROM outbox WHERE id > %lld", mark), "0\n");
	assert_string_equal(q(w, "SELECT kind, person, sent FROM nudges"),
	    "remind|" ALICE "|0\n");
}

static void
test_ask_after_won_and_monthly_limit(void **state)
{
	struct world *w = *state;
	char code[REFCODE_LEN + 1], friend_code[REFCODE_LEN + 1];
	struct referral_row r;
	struct handler_ctx hc;
	long long mark;

	load(w, "{ unshared_after: 1d, ask_after_won: true, per_person_per_month: 1 }");
	referrer(w, code);
	claim(w, FRIEND, code, T);
	mark = outbox_mark(w);
	rep_says(w, REP, "成約 #1", NULL, T + HOUR);
	assert_string_equal(q(w, "SELECT kind, target, json_extract(body, '$.messages[0].text'), "
	    "json_extract(body, '$.messages[1].template.actions[0].type'), json_extract(body, "
	    "'$.messages[1].template.actions[0].data') FROM outbox WHERE id > %lld AND "
	    "platform = 'line'", mark), "push|" FRIEND "|" ASK "|postback|action=refer\n");
	/* Asked once, whoever moves it again. */
	assert_int_equal(store_referral_get(w->store, 1, &r), 1);
	hc = (struct handler_ctx){ .cfg = w->cfg, .store = w->store, .salt = world_salt,
	    .now_ms = T + 2 * HOUR };
	assert_int_equal(store_begin(w->store), 0);
	assert_int_equal(referral_ask_after_won(&hc, &r), 0);
	assert_int_equal(store_commit(w->store), 0);
	referral_row_clear(&r);
	/* The friend's own invite, unopened: the ask was this month's one follow-up. */
	issue_code(w, FRIEND, T + 2 * HOUR, friend_code);
	mark = outbox_mark(w);
	assert_int_equal(remind_scan(w, T + 2 * HOUR + DAY), 0);
	assert_string_equal(q(w, "SELECT count(*) FROM outbox WHERE id > %lld", mark), "0\n");
	assert_string_equal(q(w, "SELECT kind, person, sent FROM nudges ORDER BY kind"),
	    "ask|" FRIEND "|1\nremind|" FRIEND "|0\n");
	/* Alice's code was claimed: shared, no reminder. */
	assert_string_equal(q(w, "SELECT count(*) FROM nudges WHERE subject = '%s'", code),
	    "0\n");
}

/* An operator's 成約 (the console) asks as a rep's does: one place for every actor. */
static void
test_ask_after_an_operators_win(void **state)
{
	struct world *w = *state;
	char code[REFCODE_LEN + 1], why[WHY_MAX];
	struct handler_ctx hc;

	load(w, "{ ask_after_won: true }");
	referrer(w, code);
	claim(w, FRIEND, code, T);
	hc = (struct handler_ctx){ .cfg = w->cfg, .store = w->store, .salt = world_salt,
	    .now_ms = T + HOUR };
	assert_int_equal(store_begin(w->store), 0);
	assert_int_equal(referral_operator_move(&hc, 1, REF_WON, why, sizeof(why)), 1);
	assert_int_equal(store_commit(w->store), 0);
	assert_string_equal(q(w, "SELECT target, json_extract(body, '$.messages[0].text') FROM "
	    "outbox WHERE kind = 'push' AND target = '" FRIEND "'"), FRIEND "|" ASK "\n");
}

static void
test_escalation_after_business_hours_once(void **state)
{
	struct world *w = *state;
	char code[REFCODE_LEN + 1];
	long long mark;

	load(w, "{}");
	referrer(w, code);
	claim(w, FRIEND, code, T);			/* Friday 12:00: due 16:00 */
	claim(w, BOB, code, T + 5 * HOUR);		/* Friday 17:00: due Monday 12:00 */
	mark = outbox_mark(w);
	assert_int_equal(escalate_scan(w, T + 4 * HOUR - MIN), 0);
	assert_int_equal(escalate_scan(w, T + 4 * HOUR), 1);
	assert_int_equal(escalate_scan(w, T + 5 * HOUR), 0);
	assert_string_equal(q(w, "SELECT kind, target, json_extract(body, "
	    "'$.content.text') FROM outbox WHERE id > %lld", mark), "works_user|" BOSS "|"
	    "紹介 #1 は2027/01/15 12:00から担当の高橋 美咲さんの対応を待っています。\n"
	    "https://console.example.jp/admin/#/referrals/1\n");
	assert_int_equal(escalate_scan(w, T + 3 * DAY - MIN), 0);	/* the weekend */
	assert_int_equal(escalate_scan(w, T + 3 * DAY), 1);
	assert_int_equal(escalate_scan(w, T + 4 * DAY), 0);
	assert_string_equal(q(w, "SELECT kind, subject, sent FROM nudges ORDER BY subject"),
	    "escalate|1|1\nescalate|2|1\n");
}

static void
test_escalation_not_after_the_reps_move(void **state)
{
	struct world *w = *state;
	char code[REFCODE_LEN + 1];

	load(w, "{}");
	referrer(w, code);
	claim(w, FRIEND, code, T);
	rep_says(w, REP, "対応開始 #1", NULL, T + HOUR);
	assert_int_equal(escalate_scan(w, T + DAY), 0);
	assert_string_equal(q(w, "SELECT count(*) FROM nudges"), "0\n");
}

static void
test_digest_counts_the_week_once(void **state)
{
	struct world *w = *state;
	const struct config_branch *b;
	struct handler_ctx hc;
	char code[REFCODE_LEN + 1], *text;
	int64_t monday = T + 2 * DAY + 20 * HOUR + 30 * MIN;	/* 2027-01-18 08:30 */
	long long mark;

	load(w, "{}");
	referrer(w, code);
	claim(w, FRIEND, code, T);
	rep_says(w, REP, "成約 #1", NULL, T + HOUR);
	claim(w, BOB, code, T + 2 * HOUR);		/* still waiting on Monday */
	b = config_branch(w->cfg, "shinjuku");
	hc = (struct handler_ctx){ .cfg = w->cfg, .store = w->store, .salt = world_salt,
	    .now_ms = monday };
	text = referral_digest_text(&hc, b, "2027-01-18");
	assert_non_null(text);
	assert_string_equal(text, "新宿支店 週間レポート 2027-01-11〜2027-01-17\n"
	    "紹介依頼 1（前週 0）\n登録 2（前週 0）\n成約 1（前週 0）\n特典 0（前週 0）\n"
	    "今月の成約 1 / 目標 8\n担当者別 対応中の紹介：\n"
	    "高橋 美咲: 1件（未対応 1件、最長 66時間）\n部長: 0件（未対応 0件、最長 -時間）\n"
	    "https://console.example.jp/admin/#/");
	mark = outbox_mark(w);
	assert_int_equal(store_begin(w->store), 0);
	assert_int_equal(referral_digest_send(&hc, b, "2027-01-18", text), 1);
	assert_int_equal(referral_digest_send(&hc, b, "2027-01-18", text), 0);
	assert_int_equal(store_commit(w->store), 0);
	assert_int_equal(store_nudge_exists(w->store, "digest", "shinjuku", "2027-01-18"), 1);
	assert_int_equal(store_nudge_exists(w->store, "digest", "shinjuku", "2027-01-25"), 0);
	assert_string_equal(q(w, "SELECT kind, target FROM outbox WHERE id > %lld", mark),
	    "works_user|" BOSS "\n");
	free(text);
}

/* On its day from its time to the day's end (Tokyo time), and only then. */
static void
test_digest_due_on_its_day_from_its_time(void **state)
{
	struct world *w = *state;
	int64_t monday = T + 2 * DAY + 20 * HOUR;	/* 2027-01-18 08:00 */
	char today[11] = "";

	load(w, "{}");
	assert_int_equal(referral_digest_due(w->cfg, monday + 29 * MIN, today), 0);
	assert_int_equal(referral_digest_due(w->cfg, monday + 30 * MIN, today), 1);
	assert_string_equal(today, "2027-01-18");
	assert_int_equal(referral_digest_due(w->cfg, monday + 15 * HOUR + 59 * MIN, today), 1);
	assert_int_equal(referral_digest_due(w->cfg, monday + 16 * HOUR, today), 0); /* Tue */
	assert_int_equal(referral_digest_due(w->cfg, T, today), 0);		/* Friday */
	assert_int_equal(referral_digest_due(w->cfg, monday + 7 * DAY + HOUR, today), 1);
	assert_string_equal(today, "2027-01-25");
}

/* Each bad value is a load error at its file, line and column. */
static void
test_config_errors(void **state)
{
	struct world *w = *state;
	static const struct {
		const char	*referral, *reminders, *expect;
	} cases[] = {
		{ REFERRAL, "{ unshared_after: 0s }",
		    "shokai.yaml:36:34: campaigns[0].reminders.unshared_after: 0s is out of range" },
		{ REFERRAL, "{ unshared_after: soon }", "reminders.unshared_after" },
		{ REFERRAL, "{ per_person_per_month: 0 }", "reminders.per_person_per_month" },
		{ REFERRAL, "{ ask_after_won: maybe }", "reminders.ask_after_won" },
		{ REFERRAL, "{ remind_after: 1d }", "remind_after" },
		{ "digest: { day: monday, at: \"08:30\" }", "{}",
		    "referral.digest.day: expected one of sun mon" },
		{ "digest: { day: mon, at: \"25:00\" }", "{}",
		    "referral.digest.at: expected a time such as" },
		{ "digest: { day: mon }", "{}", "referral.digest" },
		{ "escalate_unacted_after: never", "{}", "referral.escalate_unacted_after" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[512], *text = xasprintf(config_text, cases[i].referral,
		    cases[i].reminders);
		struct config_errors errs = { 0 };
		struct config *cf;

		test_write_file(w->dir, "shokai.yaml", text, 0644);
		free(text);
		snprintf(path, sizeof(path), "%s/shokai.yaml", w->dir);
		cf = config_load(path, &errs);
		if (cf != NULL || errs.n != 1 || strstr(errs.lines[0], cases[i].expect) == NULL ||
		    strstr(errs.lines[0], "shokai.yaml:") == NULL)
			fail_msg("case %zu: got %zu errors: %s", i, errs.n,
			    errs.n ? errs.lines[0] : "-");
		config_unref(cf);
		config_errors_clear(&errs);
	}
	/* Without a bot to write with, neither can be asked for. */
	{
		char path[512], *text = xasprintf(config_text, REFERRAL, "{}");
		struct config_errors errs = { 0 };
		char *p = strstr(text, "notify_bot: sales, ");
		struct config *cf;

		memmove(p, p + strlen("notify_bot: sales, "), strlen(p) -
		    strlen("notify_bot: sales, ") + 1);
		test_write_file(w->dir, "shokai.yaml", text, 0644);
		free(text);
		snprintf(path, sizeof(path), "%s/shokai.yaml", w->dir);
		cf = config_load(path, &errs);
		assert_null(cf);
		assert_int_equal(errs.n, 2);
		assert_non_null(strstr(errs.lines[0], "referral.digest: needs referral.notify_bot"));
		assert_non_null(strstr(errs.lines[1],
		    "referral.escalate_unacted_after: needs referral.notify_bot"));
		config_errors_clear(&errs);
	}
	/* And the example's values read as meant. */
	load(w, "{ unshared_after: 3d, ask_after_won: true, per_person_per_month: 2 }");
	assert_int_equal(w->cfg->campaigns[0].remind_unshared_ms, 3 * DAY);
	assert_int_equal(w->cfg->campaigns[0].ask_after_won, 1);
	assert_int_equal(w->cfg->campaigns[0].reminders_per_month, 2);
	assert_int_equal(w->cfg->referral.digest_day, 1);
	assert_int_equal(w->cfg->referral.digest_at_min, 8 * 60 + 30);
	assert_int_equal(w->cfg->referral.escalate_after_ms, 4 * HOUR);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reminder_once_and_not_after_a_click, world_setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_no_reminder_while_a_person_answers,
		    world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_no_reminder_to_a_blocked_customer, world_setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_ask_after_won_and_monthly_limit, world_setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_ask_after_an_operators_win, world_setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_escalation_after_business_hours_once, world_setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_escalation_not_after_the_reps_move, world_setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_digest_counts_the_week_once, world_setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_digest_due_on_its_day_from_its_time, world_setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_config_errors, world_setup, world_teardown),
	};

	/* Dates are the operator's: main.c makes the config's timezone the process's. */
	setenv("TZ", "Asia/Tokyo", 1);
	tzset();
	log_init(LOG_ERROR);
	return cmocka_run_group_tests(tests, world_group_setup, world_group_teardown);
}
