/* test_handlers.c: the real handlers, driven through handler_table as dispatch.c drives
 * them (each event in its own transaction, handlers tried in order until one does not
 * answer "not mine"), on a real SQLite store in a temp folder, a config loaded from YAML
 * text and a fixed clock. What they did is read back from the database: referrals,
 * referral_events, customers, rewards, coupons and the outbox rows with their JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "handler_world.h"



#define NOT_ACCEPTED \
	"ご連絡ありがとうございます。恐れ入りますが、このご紹介コードはご利用いただけません" \
	"でした。"
#define UNKNOWN_CODE \
	"ご紹介コードが見つかりませんでした。お手数ですが、届いたメッセージのコードをもう一度" \
	"ご確認ください。"
#define HELD "ご連絡ありがとうございます。担当者が確認してからご案内します。少しお待ちください。"
#define THANKS_REFEREE	"ご連絡ありがとうございます。担当者よりご案内します。"


/* The config: one LINE channel, the LINE WORKS bot "sales" that notifies reps, a branch
 * with a manager, three reps, a keyword that hands the customer to a person (office
 * hours on weekdays) and the campaign "winter" whose rules and reward each test gives
 * (the two %s). */
static const char *const config_text =
    TEST_CONFIG_HEAD
    "lineworks:\n"
    "  bots:\n"
    "    - { id: sales, bot_id: \"2000001\", bot_secret_file: secret, client_id: cid,\n"
    "        client_secret_file: secret, service_account: a.serviceaccount@example.com,\n"
    "        private_key_file: key.pem, auth_url: \"http://127.0.0.1:9/token\",\n"
    "        api_base: \"http://127.0.0.1:9/v1.0\" }\n"
    "company_name: 株式会社テスト\n"
    "messages:\n"
    "  invite: \"{sender_name}さんからのご紹介です。担当: {rep_name} {rep_contact_url} "
    "紹介コード{code} {invite_url}\"\n"
    "  invite_preview:\n"
    "    - template: { type: buttons, text: 友だちに送る, actions: [{ type: uri, label: 送る,"
    " uri: \"{share_url}\" }] }\n"
    "  claim_thanks_referrer: \"{friend_name}さんが登録されました(#{referral_id})\"\n"
    "  reward_referrer: \"ご紹介特典です: {coupon_code}\"\n"
    "  reward_referee: \"ご成約特典です: {coupon_code}\"\n"
    "  contact_rep: 担当者におつなぎします。\n"
    "auto_replies:\n"
    "  - { match: { exact: 担当者 }, reply: contact_rep, handoff: true }\n"
    "handoff: { quiet_for: 3d, escalate_after: 1h, operators_channel: ops-room }\n"
    "business_hours: { days: mon-fri, from: \"09:00\", to: \"18:00\" }\n"
    "admin: { public_url: \"https://console.example.jp\" }\n"
    "postbacks:\n"
    "  refer: referral.invite\n"
    "branches:\n"
    "  - { code: shinjuku, name: 新宿支店, managers: [R009] }\n"
    "reps:\n"
    "  - { code: R001, name: 高橋 美咲, branch: shinjuku, lineworks_user_id: " REP ",\n"
    "      contact_url: \"https://works.do/R0a1b2c\" }\n"
    "  - { code: R012, name: 佐藤 健, lineworks_user_id: sato }\n"
    "  - { code: R009, name: 部長, branch: shinjuku, lineworks_user_id: boss }\n"
    "referral: { notify_bot: sales }\n"
    "campaigns:\n"
    "  - id: winter\n"
    "    name: 冬のご紹介キャンペーン\n"
    "    starts: 2027-01-01\n"
    "    ends: 2027-01-31\n"
    "    rules: %s\n"
    "    reward: %s\n";

/* Loads the config with the campaign's rules and reward (YAML flow mappings). */
static void
load(struct world *w, const char *rules, const char *reward)
{
	char *text = xasprintf(config_text, rules, reward);

	world_load(w, text);
	free(text);
}

/* The rejected and held events after the issued ones: type, reason, referee. */
static const char *
verdicts(struct world *w)
{
	return q(w, "SELECT type, coalesce(reason, '-'), referee_id FROM referral_events "
	    "WHERE type IN ('claimed', 'rejected', 'held') ORDER BY id");
}

/* The text of the last answer to user on LINE. */
static const char *
last_answer(struct world *w, const char *user)
{
	return q(w, "SELECT json_extract(body, '$.messages[0].text') FROM outbox WHERE "
	    "platform = 'line' AND target = '%s' ORDER BY id DESC LIMIT 1", user);
}

/* The rewards tick (reward_tick.c) at now: each due reward advanced in one transaction;
 * what each step was, as "id:step " in order. */
static const char *
tick(struct world *w, int64_t now)
{
	static const char *const names[] = { "none", "issued", "pool_empty", "failed" };
	static char out[256];
	struct reward_row *rows;
	size_t n, at = 0;

	out[0] = '\0';
	assert_int_equal(store_rewards_work(w->store, now, 16, &rows, &n), 0);
	assert_int_equal(store_begin(w->store), 0);
	for (size_t i = 0; i < n; i++) {
		struct handler_ctx hc = { .cfg = w->cfg, .store = w->store, .salt = world_salt,
		    .now_ms = now };
		enum reward_step step = reward_advance(&hc, &rows[i]);

		at += (size_t)snprintf(out + at, sizeof(out) - at, "%lld:%s ",
		    (long long)rows[i].id, names[step]);
		reward_row_clear(&rows[i]);
	}
	free(rows);
	assert_int_equal(store_commit(w->store), 0);
	return out;
}

/* An operator's move (shokaictl rewards approve/void): 1, 0 or -1 with why. */
static int
operator_move(struct world *w, int64_t id, enum reward_state to, int64_t now, char *why,
    size_t whylen)
{
	struct handler_ctx hc = { .cfg = w->cfg, .store = w->store, .salt = world_salt,
	    .now_ms = now };
	struct reward_row r;
	int rc;

	assert_int_equal(store_reward_get(w->store, id, &r), 1);
	assert_int_equal(store_begin(w->store), 0);
	rc = reward_move(&hc, &r, to, ACTOR_OPERATOR, NULL, "test", why, whylen);
	assert_int_equal(store_commit(w->store), 0);
	reward_row_clear(&r);
	return rc;
}

/* A friend's good claim: the referral with its rep, the claimed event, the friend tied
 * to the rep, a reply to the friend, a push to the referrer (friend's name masked) and
 * the rep's notification on LINE WORKS with a signed button per next step. */
static void
test_claim_accepted(void **state)
{
	struct world *w = *state;
	char code[REFCODE_LEN + 1], sig[BUTTON_SIG_LEN + 1], *want;
	long long mark;

	load(w, "{}", "{}");
	referrer(w, code);
	assert_string_equal(q(w, "SELECT channel, user_id, campaign, issued_at FROM "
	    "referral_codes"), "main|" ALICE "|winter|1799978400000\n");
	assert_string_equal(q(w, "SELECT type, code = '%s', referrer_id, rep_code, branch, "
	    "actor, at FROM referral_events", code),
	    "issued|1|" ALICE "|R001|shinjuku|customer|1799978400000\n");
	/* The invite: a share link carrying the code and the rep's contact. */
	assert_string_equal(q(w, "SELECT kind, target, instr(json_extract(body, "
	    "'$.messages[0].template.actions[0].uri'), '%s') > 0, json_extract(body, "
	    "'$.messages[0].template.actions[0].uri') LIKE 'https://line.me/R/share?text=%%' "
	    "FROM outbox", code), "reply|" ALICE "|1|1\n");

	mark = outbox_mark(w);
	claim(w, FRIEND, code, T);
	assert_string_equal(q(w, "SELECT id, campaign, code = '%s', referrer_id, referee_id, "
	    "rep_code, state, claimed_at FROM referrals", code),
	    "1|winter|1|" ALICE "|" FRIEND "|R001|claimed|1799982000000\n");
	assert_string_equal(q(w, "SELECT type, referral_id, referrer_id, referee_id, rep_code, "
	    "branch, coalesce(reason, '-'), actor, at FROM referral_events WHERE id > 1"),
	    "claimed|1|" ALICE "|" FRIEND "|R001|shinjuku|-|friend|1799982000000\n");
	assert_string_equal(q(w, "SELECT user_id, rep_code, rep_source, assigned_at FROM "
	    "customers ORDER BY user_id"), ALICE "|R001|import|1\n"
	    FRIEND "|R001|referral|1799982000000\n");
	assert_string_equal(q(w, "SELECT first_seen_at FROM users WHERE user_id = '" FRIEND
	    "'"), "1799982000000\n");
	assert_string_equal(q(w, "SELECT platform, channel, kind, target, "
	    "json_extract(body, '$.replyToken') IS NOT NULL, json_extract(body, '$.to'), "
	    "json_extract(body, '$.messages[0].text'), json_extract(body, '$.content.type') "
	    "FROM outbox WHERE id > %lld ORDER BY id", mark),
	    "line|main|reply|" FRIEND "|1|-|" THANKS_REFEREE "|-\n"
	    "line|main|push|" ALICE "|0|" ALICE "|鈴*さんが登録されました(#1)|-\n"
	    "works|sales|works_user|" REP "|0|-|-|button_template\n");
	/* The rep's notification: who, whom, when (Tokyo time), and five signed buttons. */
	assert_string_equal(q(w, "SELECT json_extract(body, '$.content.contentText') FROM "
	    "outbox WHERE kind = 'works_user'"), "新しいご紹介 #1\n紹介者：山田 花子 様\n"
	    "お友だち：鈴木 一郎 様\n2027-01-15 12:00\n");
	assert_string_equal(q(w, "SELECT json_extract(a.value, '$.label'), "
	    "json_extract(a.value, '$.text') FROM outbox, json_each(json_extract(body, "
	    "'$.content.actions')) AS a WHERE kind = 'works_user' ORDER BY a.key"),
	    "対応開始|対応開始 #1\n面談設定|面談設定 #1\n成約|成約 #1\n失注|失注 #1\n"
	    "不正の疑い|不正の疑い #1\n");
	referral_button_sig(world_salt, 1, REF_WON, sig);
	want = xasprintf("ref=1&to=won&sig=%s\n", sig);
	assert_string_equal(q(w, "SELECT json_extract(body, '$.content.actions[2].postback') "
	    "FROM outbox WHERE kind = 'works_user'"), want);
	free(want);
	/* The full HMAC-SHA256 of "1:won" keyed by the world_salt (Python's hmac module agrees). */
	assert_string_equal(sig,
	    "8061285a83d528c706ee5c562763b5d03dd6e88e85865e1eeb25469c79f2291f");
}

/* Every rule a claim can break, each a `rejected` event with its reason, no referral,
 * and the same answer to the friend (never which rule). */
static void
test_claim_rejections(void **state)
{
	struct world *w = *state;
	char code[REFCODE_LEN + 1], friend_code[REFCODE_LEN + 1], unknown[REFCODE_LEN + 1];

	load(w, "{}", "{}");
	/* Uold wrote to the account before ALICE's code existed: an existing friend. */
	line_says(w, "Uold", "こんにちは", T - 2 * HOUR, "autoreply");
	/* Uback was a friend, blocked the account, and came back. */
	follow(w, "follow", "Uback", T - 3 * HOUR);
	follow(w, "unfollow", "Uback", T - 2 * HOUR);
	referrer(w, code);
	follow(w, "follow", "Uback", T);

	claim(w, ALICE, code, T + 1 * MIN);
	assert_string_equal(last_answer(w, ALICE), NOT_ACCEPTED "\n");
	claim(w, "Uold", code, T + 2 * MIN);
	assert_string_equal(last_answer(w, "Uold"), NOT_ACCEPTED "\n");
	claim(w, "Uback", code, T + 3 * MIN);
	assert_string_equal(last_answer(w, "Uback"), NOT_ACCEPTED "\n");
	claim(w, FRIEND, code, T + 4 * MIN);
	assert_string_equal(last_answer(w, FRIEND), THANKS_REFEREE "\n");
	/* The same friend again, lower case and with other words: first touch won. */
	for (char *p = code; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	{
		char *text = xasprintf("%s です", code);

		line_says(w, FRIEND, text, T + 5 * MIN, "referral_claim");
		free(text);
	}
	assert_string_equal(last_answer(w, FRIEND), NOT_ACCEPTED "\n");
	/* The referrer sends the code of the friend she referred. */
	issue_code(w, FRIEND, T + 6 * MIN, friend_code);
	claim(w, ALICE, friend_code, T + 7 * MIN);
	/* Well-formed, but nobody's. */
	do
		assert_int_equal(refcode_new(unknown), 0);
	while (strcmp(unknown, friend_code) == 0 || strcasecmp(unknown, code) == 0);
	claim(w, "Ustranger", unknown, T + 8 * MIN);
	assert_string_equal(last_answer(w, "Ustranger"), UNKNOWN_CODE "\n");

	assert_string_equal(verdicts(w),
	    "rejected|self_referral|" ALICE "\n"
	    "rejected|existing_friend|Uold\n"
	    "rejected|re_added_after_block|Uback\n"
	    "claimed|-|" FRIEND "\n"
	    "rejected|already_referred|" FRIEND "\n"
	    "rejected|mutual_referral|" ALICE "\n"
	    "rejected|unknown_code|Ustranger\n");
	assert_string_equal(q(w, "SELECT referee_id FROM referrals"), FRIEND "\n");
	/* What a rejection records: the code's owner and campaign, the rep, the time. */
	assert_string_equal(q(w, "SELECT campaign, referrer_id, rep_code, branch, actor, "
	    "referral_id, at FROM referral_events WHERE reason = 'existing_friend'"),
	    fmt("winter|" ALICE "|R001|shinjuku|system|-|%lld\n", T + 2 * MIN));
	assert_string_equal(q(w, "SELECT coalesce(campaign, '-'), coalesce(referrer_id, '-'), "
	    "code = '%s' FROM referral_events WHERE reason = 'unknown_code'", unknown),
	    "-|-|1\n");
}

/* The campaign's window is local dates (Asia/Tokyo): the last second of 01-31 in Tokyo
 * is in, the next is not, whatever the date is in UTC. */
static void
test_claim_campaign_window(void **state)
{
	struct world *w = *state;
	char code[REFCODE_LEN + 1];
	const int64_t last = 1801407599000LL;	/* 2027-01-31 23:59:59 JST */

	load(w, "{}", "{}");
	referrer(w, code);
	claim(w, "Ulate", code, last);
	claim(w, "Utoolate", code, last + 1000);
	assert_string_equal(verdicts(w), "claimed|-|Ulate\nrejected|campaign_closed|Utoolate\n");
	assert_string_equal(q(w, "SELECT referee_id, claimed_at FROM referrals"),
	    "Ulate|1801407599000\n");
	assert_string_equal(last_answer(w, "Utoolate"), NOT_ACCEPTED "\n");
}

/* max_claims_per_referrer per day: the day is Tokyo's, and the next day counts anew. */
static void
test_claim_referrer_cap_per_day(void **state)
{
	struct world *w = *state;
	char code[REFCODE_LEN + 1];
	const int64_t midnight = 1800025200000LL;	/* 2027-01-16 00:00 JST */

	load(w, "{ max_claims_per_referrer: { count: 1, per: day } }", "{}");
	referrer(w, code);
	claim(w, "Uone", code, T);
	claim(w, "Utwo", code, midnight - 1000);
	claim(w, "Uthree", code, midnight);
	assert_string_equal(verdicts(w), "claimed|-|Uone\nrejected|referrer_cap|Utwo\n"
	    "claimed|-|Uthree\n");
	assert_string_equal(q(w, "SELECT referee_id, state FROM referrals ORDER BY id"),
	    "Uone|claimed\nUthree|claimed\n");
}

/* velocity: more claims on one code than allowed within the window are held for an
 * operator; once the window has passed, claims go through again. The window is measured
 * with the clock the handlers are given. */
static void
test_claim_velocity_window(void **state)
{
	struct world *w = *state;
	char code[REFCODE_LEN + 1];

	load(w, "{ velocity: { claims: 1, within: 10m } }", "{}");
	referrer(w, code);
	claim(w, "Uone", code, T);
	claim(w, "Utwo", code, T + 9 * MIN);
	claim(w, "Uthree", code, T + 20 * MIN);
	assert_string_equal(verdicts(w), "claimed|-|Uone\nheld|velocity|Utwo\n"
	    "claimed|-|Uthree\n");
	assert_string_equal(q(w, "SELECT referee_id, state FROM referrals ORDER BY id"),
	    "Uone|claimed\nUtwo|held\nUthree|claimed\n");
	assert_string_equal(last_answer(w, "Utwo"), HELD "\n");
	/* A held claim tells nobody else: no push to the referrer, no rep notification. */
	assert_string_equal(q(w, "SELECT count(*) FROM outbox WHERE kind = 'push'"), "2\n");
	assert_string_equal(q(w, "SELECT count(*) FROM outbox WHERE kind = 'works_user'"),
	    "2\n");
}

/* Held claims past the campaign's review deadline, as the rewards tick decides them:
 * "names" of the held referrals moved, in order. */
static const char *
review_tick(struct world *w, int64_t now)
{
	static char out[256];
	struct referral_row *rows;
	size_t n, at = 0;

	out[0] = '\0';
	assert_int_equal(store_referrals_held(w->store, 0, 16, &rows, &n), 0);
	assert_int_equal(store_begin(w->store), 0);
	for (size_t i = 0; i < n; i++) {
		struct handler_ctx hc = { .cfg = w->cfg, .store = w->store, .salt = world_salt,
		    .now_ms = now };

		if (referral_review_expired(&hc, &rows[i]) == 1)
			at += (size_t)snprintf(out + at, sizeof(out) - at, "%lld ",
			    (long long)rows[i].id);
		referral_row_clear(&rows[i]);
	}
	free(rows);
	assert_int_equal(store_commit(w->store), 0);
	return out;
}

/* An operator lets a held claim through (the console's 審査): it becomes the claim it
 * would have been (rewards due on the claim, the friend tied to the rep, the rep told),
 * with the operator as the actor; what the state machine forbids changes nothing. A
 * held claim nobody decided gets the campaign's default at its deadline. */
static void
test_held_claims_decided_by_operator_or_deadline(void **state)
{
	struct world *w = *state;
	char code[REFCODE_LEN + 1], why[WHY_MAX];
	struct handler_ctx hc = { .salt = world_salt, .operator_name = "operator:alice" };

	load(w, "{ velocity: { claims: 1, within: 10m }, review: { within: 2d, default: reject } }",
	    "{ due_on: claim, approval: manual, hold: 0s, referrer: { pool: quo, message: reward_referrer } }");
	hc.cfg = w->cfg;
	hc.store = w->store;
	referrer(w, code);
	claim(w, "Uone", code, T);
	claim(w, "Utwo", code, T + MIN);
	claim(w, "Uthree", code, T + 2 * MIN);
	assert_string_equal(q(w, "SELECT id, state FROM referrals ORDER BY id"),
	    "1|claimed\n2|held\n3|held\n");
	hc.now_ms = T + HOUR;
	assert_int_equal(store_begin(w->store), 0);
	assert_int_equal(referral_operator_move(&hc, 2, REF_WON, why, sizeof(why)), -2);
	assert_string_equal(why, "a referral cannot go from held to won");
	assert_int_equal(referral_operator_move(&hc, 2, REF_CLAIMED, why, sizeof(why)), 1);
	assert_int_equal(store_commit(w->store), 0);
	assert_string_equal(q(w, "SELECT type, reason, actor FROM referral_events WHERE "
	    "referral_id = 2 ORDER BY id"), "held|velocity|friend\nstate|claimed|operator:alice\n"
	    "reward|pending:referrer|system\n");
	assert_string_equal(q(w, "SELECT rep_code, rep_source FROM customers WHERE user_id = "
	    "'Utwo'"), "R001|referral\n");
	assert_string_equal(q(w, "SELECT count(*) FROM outbox WHERE kind = 'works_user' AND "
	    "body LIKE '%%ref=2&%%'"), "1\n");
	/* The deadline: nothing before it; at it, the campaign's default (reject). */
	assert_string_equal(review_tick(w, T + 2 * MIN + 2 * DAY - 1), "");
	assert_string_equal(review_tick(w, T + 2 * MIN + 2 * DAY), "3 ");
	assert_string_equal(q(w, "SELECT state FROM referrals WHERE id = 3"), "rejected\n");
	assert_string_equal(q(w, "SELECT actor FROM referral_events WHERE referral_id = 3 AND "
	    "type = 'state'"), "system:review_deadline\n");
	assert_string_equal(review_tick(w, T + 3 * DAY), "");
}

/* Five wrong codes in a day and a person's codes are not looked up, even a right one,
 * until a day after the last try. */
static void
test_claim_wrong_codes_per_day(void **state)
{
	struct world *w = *state;
	char code[REFCODE_LEN + 1], wrong[REFCODE_LEN + 1];

	load(w, "{}", "{}");
	referrer(w, code);
	for (int i = 0; i < 6; i++) {
		do
			assert_int_equal(refcode_new(wrong), 0);
		while (strcmp(wrong, code) == 0);
		claim(w, FRIEND, wrong, T + i * MIN);
	}
	claim(w, FRIEND, code, T + 6 * MIN);
	assert_string_equal(last_answer(w, FRIEND), NOT_ACCEPTED "\n");
	claim(w, FRIEND, code, T + 6 * MIN + DAY + 1000);
	assert_string_equal(verdicts(w),
	    "rejected|unknown_code|" FRIEND "\n" "rejected|unknown_code|" FRIEND "\n"
	    "rejected|unknown_code|" FRIEND "\n" "rejected|unknown_code|" FRIEND "\n"
	    "rejected|unknown_code|" FRIEND "\n"
	    "rejected|too_many_wrong_codes|" FRIEND "\n"
	    "rejected|too_many_wrong_codes|" FRIEND "\n"
	    "claimed|-|" FRIEND "\n");
	assert_string_equal(q(w, "SELECT referee_id, claimed_at FROM referrals"),
	    fmt(FRIEND "|%lld\n", T + 6 * MIN + DAY + 1000));
}

/* The postback of the notification's button at index (0: 対応開始, 2: 成約). */
static char *
button(struct world *w, int index)
{
	const char *pb = q(w, "SELECT json_extract(body, '$.content.actions[%d].postback') "
	    "FROM outbox WHERE kind = 'works_user' ORDER BY id LIMIT 1", index);

	return xasprintf("%.*s", (int)strlen(pb) - 1, pb);
}

static const char *
rep_answer(struct world *w, const char *user)
{
	return q(w, "SELECT json_extract(body, '$.content.text') FROM outbox WHERE "
	    "kind = 'works_user' AND target = '%s' ORDER BY id DESC LIMIT 1", user);
}

/* The rep's buttons move the referral only with this database's signature for exactly
 * that referral and step; another rep may not; a final state stays final. Reaching won
 * makes the rewards due after their holding period, and manual approval keeps them
 * pending however late the tick comes. */
static void
test_rep_buttons(void **state)
{
	struct world *w = *state;
	char code[REFCODE_LEN + 1], *contacted, *won, *forged;

	load(w, "{}", "{ due_on: won, approval: manual, hold: 14d, referrer: { pool: quo, "
	    "message: reward_referrer }, referee: { pool: gift, message: reward_referee } }");
	referrer(w, code);
	claim(w, FRIEND, code, T);
	contacted = button(w, 0);
	won = button(w, 2);
	assert_true(strncmp(won, "ref=1&to=won&sig=", 17) == 0);

	/* A forged signature, a signature moved to another step, and to another referral. */
	forged = xasprintf("%.*s0000", (int)strlen(won) - 4, won);
	assert_string_not_equal(forged, won);
	rep_says(w, REP, "成約 #1", forged, T + HOUR);
	assert_string_equal(rep_answer(w, REP), "このボタンは使えません。\n");
	free(forged);
	forged = xasprintf("ref=1&to=won&sig=%s", strstr(contacted, "sig=") + 4);
	rep_says(w, REP, "成約 #1", forged, T + HOUR);
	assert_string_equal(rep_answer(w, REP), "このボタンは使えません。\n");
	free(forged);
	forged = xasprintf("ref=2&to=won&sig=%s", strstr(won, "sig=") + 4);
	rep_says(w, REP, "成約 #2", forged, T + HOUR);
	assert_string_equal(rep_answer(w, REP), "このボタンは使えません。\n");
	free(forged);
	/* A prefix of the real signature (the old 16-char buttons were one), the old
	 * world_salt||payload hash, and the real one with a byte more: the length is checked. */
	forged = xasprintf("%.*s", (int)strlen(won) - 48, won);
	rep_says(w, REP, "成約 #1", forged, T + HOUR);
	assert_string_equal(rep_answer(w, REP), "このボタンは使えません。\n");
	free(forged);
	rep_says(w, REP, "成約 #1", "ref=1&to=won&sig=d924604f1537a977", T + HOUR);
	assert_string_equal(rep_answer(w, REP), "このボタンは使えません。\n");
	forged = xasprintf("%s0", won);
	rep_says(w, REP, "成約 #1", forged, T + HOUR);
	assert_string_equal(rep_answer(w, REP), "このボタンは使えません。\n");
	free(forged);
	assert_string_equal(q(w, "SELECT state, claimed_at, updated_at FROM referrals"),
	    fmt("claimed|%lld|%lld\n", T, T));

	/* The real button. */
	rep_says(w, REP, "対応開始 #1", contacted, T + 2 * HOUR);
	assert_string_equal(rep_answer(w, REP), "紹介 #1 を「対応開始」にしました。\n");
	assert_string_equal(q(w, "SELECT state, updated_at FROM referrals"),
	    fmt("contacted|%lld\n", T + 2 * HOUR));
	/* Another rep, with a good button: not theirs. */
	rep_says(w, "sato", "成約 #1", won, T + 3 * HOUR);
	assert_string_equal(rep_answer(w, "sato"), "紹介 #1 は担当外のため変更できません。\n");
	assert_string_equal(q(w, "SELECT state FROM referrals"), "contacted\n");
	/* Won: the rewards fall due, held 14 days. */
	rep_says(w, REP, "成約 #1", won, T + 4 * HOUR);
	assert_string_equal(rep_answer(w, REP), "紹介 #1 を「成約」にしました。\n");
	assert_string_equal(q(w, "SELECT state, updated_at FROM referrals"),
	    fmt("won|%lld\n", T + 4 * HOUR));
	rep_says(w, REP, "lost 1", NULL, T + 5 * HOUR);
	assert_string_equal(rep_answer(w, REP), "紹介 #1 は「成約」のため「失注」には変更"
	    "できません。\n");
	assert_string_equal(q(w, "SELECT state FROM referrals"), "won\n");
	assert_string_equal(q(w, "SELECT type, reason, actor, at FROM referral_events WHERE "
	    "type IN ('state', 'reward') ORDER BY id"),
	    fmt("state|contacted|rep:R001|%lld\nstate|won|rep:R001|%lld\n"
	    "reward|pending:referrer|system|%lld\nreward|pending:referee|system|%lld\n",
	    T + 2 * HOUR, T + 4 * HOUR, T + 4 * HOUR, T + 4 * HOUR));
	assert_string_equal(q(w, "SELECT side, user_id, pool, state, due_at, approve_after "
	    "FROM rewards ORDER BY id"),
	    fmt("referrer|" ALICE "|quo|pending|%lld|%lld\n"
	    "referee|" FRIEND "|gift|pending|%lld|%lld\n", T + 4 * HOUR,
	    T + 4 * HOUR + 14 * DAY, T + 4 * HOUR, T + 4 * HOUR + 14 * DAY));

	/* Manual approval: due or not, the tick leaves them for an operator. */
	assert_int_equal(store_coupon_put(w->store, "quo", "QUO-0001", T), 1);
	assert_string_equal(tick(w, T + 4 * HOUR + 14 * DAY - 1), "");
	assert_string_equal(tick(w, T + 4 * HOUR + 14 * DAY), "1:none 2:none ");
	assert_string_equal(q(w, "SELECT state FROM rewards ORDER BY id"), "pending\npending\n");
	assert_string_equal(q(w, "SELECT count(*) FROM coupons WHERE reward_id IS NOT NULL"),
	    "0\n");
	free(contacted);
	free(won);
}

/* Automatic approval: after the hold, a reward with a coupon in its pool is issued (the
 * coupon given to it, the thanks pushed with the code); one whose pool is empty waits
 * approved and is issued when codes arrive. An issued reward can never be voided. */
static void
test_reward_issue_and_empty_pool(void **state)
{
	struct world *w = *state;
	char code[REFCODE_LEN + 1], why[WHY_MAX];
	const long long won_at = T + HOUR, due = won_at + 14 * DAY;
	long long mark;

	load(w, "{}", "{ due_on: won, approval: auto, hold: 14d, referrer: { pool: quo, "
	    "message: reward_referrer }, referee: { pool: gift, message: reward_referee } }");
	referrer(w, code);
	claim(w, FRIEND, code, T);
	assert_string_equal(q(w, "SELECT count(*) FROM rewards"), "0\n");	/* due on won */
	rep_says(w, REP, "成約 #1", NULL, won_at);		/* typed, not tapped */
	assert_string_equal(q(w, "SELECT state FROM referrals"), "won\n");
	assert_int_equal(store_coupon_put(w->store, "quo", "QUO-0001", T), 1);
	assert_int_equal(store_coupon_put(w->store, "quo", "QUO-0002", T + 1), 1);

	mark = outbox_mark(w);
	assert_string_equal(tick(w, due - 1), "");
	assert_string_equal(tick(w, due), "1:issued 2:pool_empty ");
	assert_string_equal(q(w, "SELECT id, side, state, coalesce(coupon_code, '-'), "
	    "coalesce(issued_at, '-') FROM rewards ORDER BY id"),
	    fmt("1|referrer|issued|QUO-0001|%lld\n2|referee|approved|-|-\n", due));
	assert_string_equal(q(w, "SELECT pool, code, coalesce(reward_id, '-') FROM coupons "
	    "ORDER BY code"), "quo|QUO-0001|1\nquo|QUO-0002|-\n");
	assert_string_equal(q(w, "SELECT kind, target, json_extract(body, '$.to'), "
	    "json_extract(body, '$.messages[0].text') FROM outbox WHERE id > %lld", mark),
	    "push|" ALICE "|" ALICE "|ご紹介特典です: QUO-0001\n");
	assert_string_equal(q(w, "SELECT reason, actor FROM referral_events WHERE type = "
	    "'reward' ORDER BY id"), "pending:referrer|system\npending:referee|system\n"
	    "approved:referrer|system\nissued:referrer|system\napproved:referee|system\n");

	/* The empty pool again: nothing moves, nothing is sent. */
	mark = outbox_mark(w);
	assert_string_equal(tick(w, due + MIN), "2:pool_empty ");
	assert_string_equal(q(w, "SELECT count(*) FROM outbox WHERE id > %lld", mark), "0\n");
	/* Only the tick issues: an operator cannot. */
	assert_int_equal(operator_move(w, 2, REWARD_ISSUED, due + MIN, why, sizeof(why)), -1);
	assert_string_equal(why, "an operator cannot move a reward from approved to issued");
	/* Codes arrive. */
	assert_int_equal(store_coupon_put(w->store, "gift", "GIFT-AAAA", due + 2 * MIN), 1);
	assert_string_equal(tick(w, due + 3 * MIN), "2:issued ");
	assert_string_equal(q(w, "SELECT state, coupon_code, issued_at FROM rewards WHERE "
	    "id = 2"), fmt("issued|GIFT-AAAA|%lld\n", due + 3 * MIN));
	assert_string_equal(q(w, "SELECT target, json_extract(body, '$.messages[0].text') "
	    "FROM outbox WHERE id > %lld", mark), FRIEND "|ご成約特典です: GIFT-AAAA\n");
	assert_string_equal(tick(w, due + 4 * MIN), "");

	/* issued -> voided is refused and changes nothing. */
	assert_int_equal(operator_move(w, 1, REWARD_VOIDED, due + 5 * MIN, why, sizeof(why)),
	    -1);
	assert_string_equal(why, "a reward cannot go from issued to voided");
	assert_string_equal(q(w, "SELECT state, coupon_code, coalesce(note, '-') FROM rewards "
	    "WHERE id = 1"), "issued|QUO-0001|-\n");
	assert_string_equal(q(w, "SELECT count(*) FROM referral_events WHERE reason LIKE "
	    "'voided%%'"), "0\n");
}

/* Loads the config with the campaign's rules and, in place of the one reward:, YAML
 * lines of the campaign's own (rewards:, void_on:). */
static void
load_campaign(struct world *w, const char *rules, const char *lines)
{
	static const char tail[] = "    reward: \n";
	char *head = xasprintf(config_text, rules, "");
	size_t n = strlen(head) - strlen(tail);
	char *text;

	assert_string_equal(head + n, tail);
	text = xasprintf("%.*s%s", (int)n, head, lines);
	world_load(w, text);
	free(head);
	free(text);
}

/* An operator's move of referral id to state to, at now. */
static void
referral_to(struct world *w, int64_t id, enum ref_state to, int64_t now)
{
	struct handler_ctx hc = { .cfg = w->cfg, .store = w->store, .salt = world_salt,
	    .now_ms = now, .operator_name = "operator:test" };
	char why[WHY_MAX];

	assert_int_equal(store_begin(w->store), 0);
	assert_int_equal(referral_operator_move(&hc, id, to, why, sizeof(why)), 1);
	assert_int_equal(store_commit(w->store), 0);
}

static const char *const stages =
    "    void_on: [block, lost]\n"
    "    rewards:\n"
    "      - { due_on: meeting, audience: partners, approval: auto, hold: 0s,\n"
    "          referrer: { pool: partner, message: reward_referrer } }\n"
    "      - { due_on: contacted, audience: customers, approval: manual, hold: 1d,\n"
    "          referrer: { pool: quo, message: reward_referrer } }\n"
    "      - { due_on: won, approval: manual, hold: 1d,\n"
    "          referee: { pool: gift, message: reward_referee } }\n";

/* A partner's referral: the partner's stage falls due at the meeting and is issued from
 * its pool; the customers' stage never; the contract's stage at the win, and the
 * friend's block voids it while it is pending (the issued one stays). */
static void
test_reward_stages_partner_meeting_and_block(void **state)
{
	struct world *w = *state;
	char code[REFCODE_LEN + 1];
	int inserted;
	long long mark;

	load_campaign(w, "{ partner_clients: true }", stages);
	referrer(w, code);
	assert_int_equal(store_tags_put(w->store, "main", "partner", ALICE, T - HOUR,
	    &inserted), 0);
	claim(w, FRIEND, code, T);
	assert_string_equal(q(w, "SELECT count(*) FROM rewards"), "0\n");
	referral_to(w, 1, REF_CONTACTED, T + MIN);
	assert_string_equal(q(w, "SELECT count(*) FROM rewards"), "0\n");	/* customers' */
	referral_to(w, 1, REF_MEETING, T + 2 * MIN);
	assert_string_equal(q(w, "SELECT side, pool, state, stage FROM rewards"),
	    "referrer|partner|pending|0\n");
	assert_int_equal(store_coupon_put(w->store, "partner", "P-0001", T), 1);
	mark = outbox_mark(w);
	assert_string_equal(tick(w, T + 3 * MIN), "1:issued ");
	assert_string_equal(q(w, "SELECT target, json_extract(body, '$.messages[0].text') "
	    "FROM outbox WHERE id > %lld", mark), ALICE "|ご紹介特典です: P-0001\n");
	referral_to(w, 1, REF_WON, T + HOUR);
	assert_string_equal(q(w, "SELECT id, side, pool, state, stage FROM rewards ORDER BY "
	    "id"), "1|referrer|partner|issued|0\n2|referee|gift|pending|2\n");
	follow(w, "unfollow", FRIEND, T + 2 * HOUR);
	assert_string_equal(q(w, "SELECT id, state, coalesce(note, '-') FROM rewards ORDER BY "
	    "id"), "1|issued|-\n2|voided|referee_blocked\n");
	assert_string_equal(q(w, "SELECT reason, actor FROM referral_events WHERE type = "
	    "'reward' AND reason LIKE 'voided%%'"), "voided:referee|system\n");
}

/* A customer's referral: the customers' stage at the first contact (a claim moved
 * straight to the meeting would pay it too), no partner stage; lost voids it. A
 * campaign without void_on keeps a lost referral's pending rewards. */
static void
test_reward_stages_customer_lost(void **state)
{
	struct world *w = *state;
	char code[REFCODE_LEN + 1];

	load_campaign(w, "{}", stages);
	referrer(w, code);
	claim(w, FRIEND, code, T);
	referral_to(w, 1, REF_MEETING, T + MIN);
	assert_string_equal(q(w, "SELECT side, pool, state, stage FROM rewards"),
	    "referrer|quo|pending|1\n");
	referral_to(w, 1, REF_LOST, T + HOUR);
	assert_string_equal(q(w, "SELECT state, note FROM rewards"), "voided|referral_lost\n");
}

/* A reward the tick read as approved (its pool was empty) but an operator voided before
 * the tick ran takes no coupon and sends nothing. */
static void
test_reward_voided_meanwhile(void **state)
{
	struct world *w = *state;
	char code[REFCODE_LEN + 1], why[WHY_MAX];
	struct reward_row *rows;
	size_t n;
	long long mark;

	load(w, "{}", "{ due_on: claim, approval: auto, hold: 0s, referrer: { pool: quo, "
	    "message: reward_referrer } }");
	referrer(w, code);
	claim(w, FRIEND, code, T);
	assert_string_equal(q(w, "SELECT side, state, due_at, approve_after FROM rewards"),
	    fmt("referrer|pending|%lld|%lld\n", T, T));
	assert_string_equal(tick(w, T + MIN), "1:pool_empty ");
	assert_int_equal(store_coupon_put(w->store, "quo", "QUO-0001", T + 2 * MIN), 1);
	assert_int_equal(store_rewards_work(w->store, T + 3 * MIN, 16, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].state, REWARD_APPROVED);
	assert_int_equal(operator_move(w, rows[0].id, REWARD_VOIDED, T + 3 * MIN, why,
	    sizeof(why)), 1);
	mark = outbox_mark(w);
	{
		struct handler_ctx hc = { .cfg = w->cfg, .store = w->store, .salt = world_salt,
		    .now_ms = T + 3 * MIN };

		assert_int_equal(store_begin(w->store), 0);
		assert_int_equal(reward_advance(&hc, &rows[0]), REWARD_STEP_NONE);
		assert_int_equal(store_commit(w->store), 0);
	}
	reward_row_clear(&rows[0]);
	free(rows);
	assert_string_equal(q(w, "SELECT state, coalesce(coupon_code, '-'), note FROM rewards"),
	    "voided|-|test\n");
	assert_string_equal(q(w, "SELECT code, coalesce(reward_id, '-') FROM coupons"),
	    "QUO-0001|-\n");
	assert_string_equal(q(w, "SELECT count(*) FROM outbox WHERE id > %lld", mark), "0\n");
	assert_string_equal(q(w, "SELECT reason, actor FROM referral_events WHERE type = "
	    "'reward' ORDER BY id"), "pending:referrer|system\napproved:referrer|system\n"
	    "voided:referrer|operator\n");
}


/* The handoff tick (handoff_tick.c) at now: each due handoff in one transaction; how
 * many moved. */
static int
handoff_tick(struct world *w, int64_t now)
{
	json_t *rows = NULL, *row;
	size_t i;
	int moved = 0;

	assert_int_equal(store_handoffs_due(w->store, now, 16, &rows), 0);
	assert_int_equal(store_begin(w->store), 0);
	json_array_foreach(rows, i, row) {
		struct handler_ctx hc = { .cfg = w->cfg, .store = w->store, .salt = world_salt,
		    .now_ms = now };
		int rc = handoff_due(&hc, row);

		assert_int_not_equal(rc, -1);
		moved += rc;
	}
	assert_int_equal(store_commit(w->store), 0);
	json_decref(rows);
	return moved;
}

/* A customer asks for a person on a Friday evening: the rep hears with her last words
 * and the console link, the bot stays quiet, asking again tells nobody twice; nobody
 * answering reaches the branch's manager once, after one business hour (Monday 09:30,
 * not Friday 18:30); the quiet time running out lets the bot answer again. */
static void
test_handoff(void **state)
{
	struct world *w = *state;
	int64_t fri_1730 = T + 5 * HOUR + 30 * MIN, mon_0930 = T + 3 * DAY - 150 * MIN;
	long long mark;

	load(w, "{}", "{}");
	profile(w, ALICE, "山田 花子");
	assert_int_equal(store_customer_assign(w->store, "main", ALICE, "R001", "import", 1),
	    0);
	line_says(w, ALICE, "見積もりの相談です", fri_1730 - MIN, "autoreply");
	mark = outbox_mark(w);
	line_says(w, ALICE, "担当者", fri_1730, "autoreply");
	assert_string_equal(last_answer(w, ALICE), "担当者におつなぎします。\n");
	assert_string_equal(q(w, "SELECT target, json_extract(body, '$.content.text') FROM "
	    "outbox WHERE platform = 'works' AND id > %lld", mark), fmt("%s|山田 花子 様が担当者"
	    "との会話を希望しています（担当：高橋 美咲）。\n> 見積もりの相談です\n> 担当者\n"
	    "▼会話を開いて返信する\nhttps://console.example.jp/admin/#/conversations/main/"
	    ALICE "\n", REP));
	assert_string_equal(q(w, "SELECT state, notified, escalate_at - %lld, quiet_until - "
	    "%lld FROM handoffs", (long long)fri_1730, (long long)fri_1730),
	    fmt("open|rep:R001|%lld|%lld\n", (long long)(mon_0930 - fri_1730), 3 * DAY));
	/* Quiet: no answer, no second notice; the conversation has it all. */
	mark = outbox_mark(w);
	line_says(w, ALICE, "担当者", fri_1730 + MIN, "autoreply");
	assert_string_equal(q(w, "SELECT count(*) FROM outbox WHERE id > %lld", mark), "0\n");
	assert_string_equal(q(w, "SELECT direction, text FROM conversation ORDER BY id"),
	    "in|見積もりの相談です\nin|担当者\nout|担当者におつなぎします。\nin|担当者\n");
	/* Escalation: not before Monday 09:30, then to the manager (R009) once. */
	assert_int_equal(handoff_tick(w, mon_0930 - MIN), 0);
	assert_int_equal(handoff_tick(w, mon_0930), 1);
	assert_string_equal(q(w, "SELECT target, substr(json_extract(body, '$.content.text'), "
	    "1, 6) FROM outbox WHERE platform = 'works' AND id > %lld", mark),
	    "boss|【未対応】山\n");
	assert_int_equal(handoff_tick(w, mon_0930 + HOUR), 0);
	assert_string_equal(q(w, "SELECT notified FROM handoffs"), "rep:R001,managers:shinjuku\n");
	/* The quiet time runs out: expired, and the bot answers (and hands off) again. */
	assert_int_equal(handoff_tick(w, fri_1730 + 3 * DAY), 1);
	line_says(w, ALICE, "担当者", fri_1730 + 3 * DAY + MIN, "autoreply");
	assert_string_equal(q(w, "SELECT state FROM handoffs ORDER BY id"), "expired\nopen\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_claim_accepted, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_claim_rejections, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_claim_campaign_window, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_claim_referrer_cap_per_day, world_setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_claim_velocity_window, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_held_claims_decided_by_operator_or_deadline,
		    world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_claim_wrong_codes_per_day, world_setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_rep_buttons, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_reward_issue_and_empty_pool, world_setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_reward_voided_meanwhile, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_reward_stages_partner_meeting_and_block,
		    world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_reward_stages_customer_lost, world_setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_handoff, world_setup, world_teardown),
	};

	/* Dates are the operator's: main.c makes the config's timezone the process's. */
	setenv("TZ", "Asia/Tokyo", 1);
	tzset();
	log_init(LOG_ERROR);
	return cmocka_run_group_tests(tests, world_group_setup, world_group_teardown);
}
