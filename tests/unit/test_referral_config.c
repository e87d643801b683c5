/* test_referral_config.c: branches, reps (YAML and CSV), campaigns and the referral
 * settings as loaded, and their errors with file and line. */
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

static char dir[256];

static const char *const base =
    TEST_CONFIG_HEAD
    "messages:\n"
    "  reward_referrer: \"ご紹介特典です: {coupon_code}\"\n"
    "  reward_bad: \"{rep_name}より\"\n"
    "  invite: \"{sender_name}さんからのご紹介です。担当: {rep_name} {rep_contact_url} "
    "{invite_url}\"\n"
    "  invite_preview:\n"
    "    - template: { type: buttons, text: 友だちに送る, actions: [{ type: uri, label: 送る,"
    " uri: \"{share_url}\" }] }\n";

static const char *const good =
    "branches:\n"
    "  - code: shinjuku\n"
    "    name: 新宿支店\n"
    "    contact_url: https://example.co.jp/shinjuku\n"
    "    managers: [R001]\n"
    "reps:\n"
    "  - { code: R001, name: 高橋 美咲, branch: shinjuku,\n"
    "      lineworks_user_id: takahashi@example.co.jp, contact_url: auto }\n"
    "  - { code: R012, name: 佐藤 健, branch: shinjuku, contact_url: \"https://works.do/x\" }\n"
    "campaigns:\n"
    "  - id: winter-2026\n"
    "    name: 冬のご紹介キャンペーン\n"
    "    starts: 2026-12-01\n"
    "    ends: 2027-02-28\n"
    "    rules:\n"
    "      attribution: first_touch\n"
    "      exclude_existing_friends: false\n"
    "      max_claims_per_referrer: { count: 10, per: month }\n"
    "      velocity: { claims: 5, within: 10m, then: review }\n"
    "    reward:\n"
    "      due_on: won\n"
    "      approval: manual\n"
    "      hold: 60d\n"
    "      referrer: { pool: quo-1000, message: reward_referrer }\n"
    "  - { id: spring, name: 春, starts: 2027-03-01, ends: 2027-05-31 }\n";

/* Loads text as dir/shokai.yaml; *errors gets every error line, paths relative. */
static struct config *
load_text(const char *text, char **errors)
{
	char path[512];
	struct config_errors errs = { 0 };
	struct config *cf;

	test_write_file(dir, "shokai.yaml", text, 0644);
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

static struct config *
load(const char *extra, char **errors)
{
	char *text = xasprintf("%s%s", base, extra);
	struct config *cf = load_text(text, errors);

	free(text);
	return cf;
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/shokai-test-refcfg-XXXXXX");
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
test_good(void **state)
{
	char *errors;
	struct config *cf = load(good, &errors);
	const struct config_campaign *cp;
	const struct config_rep *r;

	(void)state;
	assert_string_equal(errors, "");
	assert_non_null(cf);
	assert_int_equal(cf->n_branches, 1);
	assert_int_equal(cf->n_reps, 2);
	r = config_rep(cf, "r001");		/* customers type codes in any case */
	assert_non_null(r);
	assert_string_equal(r->name, "高橋 美咲");
	assert_ptr_equal(r->branch, &cf->branches[0]);
	assert_true(r->contact_auto);
	assert_string_equal(config_rep(cf, "R012")->contact_url, "https://works.do/x");
	cp = config_campaign_on(cf, "2026-12-01");
	assert_non_null(cp);
	assert_string_equal(cp->id, "winter-2026");
	assert_false(cp->exclude_existing_friends);
	assert_int_equal(cp->max_claims, 10);
	assert_int_equal(cp->max_claims_per, PERIOD_MONTH);
	assert_int_equal(cp->velocity_claims, 5);
	assert_int_equal(cp->velocity_within_ms, 600000);
	/* The single reward: is one stage. */
	assert_int_equal(cp->n_stages, 1);
	assert_int_equal(cp->stages[0].due_on, REF_WON);
	assert_int_equal(cp->stages[0].audience, AUDIENCE_ALL);
	assert_false(cp->stages[0].approval_auto);
	assert_true(cp->stages[0].hold_ms == 60LL * 86400 * 1000);	/* past 2^31 ms */
	assert_string_equal(cp->stages[0].referrer.pool, "quo-1000");
	assert_string_equal(cp->stages[0].referrer.message->name, "reward_referrer");
	assert_null(cp->stages[0].referee.pool);
	assert_int_equal(cp->void_on, 0);		/* nothing voided unless said */
	assert_true(config_pool_named(cf, "quo-1000"));
	assert_false(config_pool_named(cf, "quo"));
	assert_string_equal(config_campaign_on(cf, "2027-02-28")->id, "winter-2026");
	assert_string_equal(config_campaign_on(cf, "2027-03-01")->id, "spring");
	assert_null(config_campaign_on(cf, "2026-11-30"));
	assert_true(config_campaign_on(cf, "2027-06-01") == NULL);
	assert_true(cf->campaigns[1].exclude_existing_friends);	/* the default */
	assert_string_equal(cf->referral.sender_name_fallback, "お客様");
	free(errors);
	config_unref(cf);
}

/* rewards: a list of stages, each due on its own state and for its own audience; a
 * partner's meeting stage beside the contract's; void_on. */
static void
test_reward_stages(void **state)
{
	char *errors;
	struct config *cf = load(
	    "campaigns:\n"
	    "  - id: partners\n"
	    "    name: パートナー\n"
	    "    starts: 2026-12-01\n"
	    "    ends: 2027-02-28\n"
	    "    rules: { partner_clients: true, review: { within: 2d, default: approve } }\n"
	    "    void_on: [block, lost]\n"
	    "    rewards:\n"
	    "      - { due_on: meeting, audience: partners, approval: auto, hold: 0s,\n"
	    "          referrer: { pool: partner-meeting, message: reward_referrer } }\n"
	    "      - { due_on: won, referrer: { pool: quo, message: reward_referrer },\n"
	    "          referee: { pool: gift, message: reward_referrer } }\n"
	    "      - { due_on: contacted, audience: customers,\n"
	    "          referee: { pool: gift, message: reward_referrer } }\n",
	    &errors);
	const struct config_campaign *cp;

	(void)state;
	assert_string_equal(errors, "");
	assert_non_null(cf);
	cp = config_campaign(cf, "partners");
	assert_int_equal(cp->n_stages, 3);
	assert_int_equal(cp->stages[0].due_on, REF_MEETING);
	assert_int_equal(cp->stages[0].audience, AUDIENCE_PARTNERS);
	assert_true(cp->stages[0].approval_auto);
	assert_string_equal(cp->stages[0].referrer.pool, "partner-meeting");
	assert_int_equal(cp->stages[1].due_on, REF_WON);
	assert_false(cp->stages[1].approval_auto);		/* manual unless said */
	assert_string_equal(cp->stages[1].referee.pool, "gift");
	assert_int_equal(cp->stages[2].due_on, REF_CONTACTED);
	assert_int_equal(cp->stages[2].audience, AUDIENCE_CUSTOMERS);
	assert_int_equal(cp->void_on, VOID_ON_BLOCK | VOID_ON_LOST);
	assert_true(cp->partner_clients);
	assert_int_equal(cp->review_default, REVIEW_APPROVE);
	assert_true(config_reward_stage(cf, "partners", 1) == &cp->stages[1]);
	assert_null(config_reward_stage(cf, "partners", 3));	/* a stage since removed */
	assert_null(config_reward_stage(cf, "nosuch", 0));
	assert_true(config_pool_named(cf, "partner-meeting"));
	assert_true(config_pool_named(cf, "gift"));
	assert_false(config_pool_named(cf, "quo-1000"));
	free(errors);
	config_unref(cf);
}

/* A short campaign inside a long one wins its days by priority, whatever the order. */
static void
test_priority(void **state)
{
	char *errors;
	struct config *cf = load("campaigns:\n"
	    "  - { id: flash, name: F, starts: 2026-12-24, ends: 2026-12-26, priority: 5 }\n"
	    "  - { id: winter, name: W, starts: 2026-12-01, ends: 2027-02-28 }\n", &errors);

	(void)state;
	assert_string_equal(errors, "");
	assert_non_null(cf);
	assert_string_equal(config_campaign_on(cf, "2026-12-23")->id, "winter");
	assert_string_equal(config_campaign_on(cf, "2026-12-24")->id, "flash");
	assert_string_equal(config_campaign_on(cf, "2026-12-26")->id, "flash");
	assert_string_equal(config_campaign_on(cf, "2026-12-27")->id, "winter");
	free(errors);
	config_unref(cf);
}

static void
test_reps_from_csv(void **state)
{
	char *errors;
	struct config *cf;

	(void)state;
	test_write_file(dir, "reps.csv",
	    "\xEF\xBB\xBF" "code,name,branch,lineworks_user_id,contact_url\r\n"
	    "R001,\"高橋, 美咲\",shinjuku,takahashi@example.co.jp,auto\r\n"
	    "R012,\"佐藤 \"\"健\"\"\",,,https://works.do/x\r\n", 0644);
	cf = load("branches: [{ code: shinjuku, name: 新宿支店 }]\nreps_csv: reps.csv\n",
	    &errors);
	assert_string_equal(errors, "");
	assert_non_null(cf);
	assert_int_equal(cf->n_reps, 2);
	assert_string_equal(cf->reps[0].name, "高橋, 美咲");
	assert_string_equal(cf->reps[1].name, "佐藤 \"健\"");
	assert_null(cf->reps[1].branch);
	free(errors);
	config_unref(cf);
}

static void
test_errors(void **state)
{
	static const struct {
		const char	*yaml;
		const char	*csv;
		const char	*expect;
	} cases[] = {
		{ "branches: [{ code: a, name: A }]\nreps: [{ code: R1, name: X, branch: b }]\n",
		    NULL, "shokai.yaml:16:8: rep R1: no branch 'b' under branches\n" },
		{ "branches: [{ code: a, name: A, managers: [R9] }]\n"
		    "reps: [{ code: R1, name: X }]\n",
		    NULL, "shokai.yaml:16:7: branches[0].managers: no rep 'R9' under reps\n" },
		{ "reps: [{ code: R1, name: X }, { code: r1, name: Y }]\n", NULL,
		    "shokai.yaml:15:7: reps: code 'r1' is used twice\n" },
		{ "campaigns: [{ id: c, name: C, starts: 2026-12-01, ends: 2026-11-01 }]\n", NULL,
		    "shokai.yaml:15:57: campaigns[0]: ends (2026-11-01) is before starts "
		    "(2026-12-01)\n" },
		/* Overlapping windows need different priorities; a campaign covered by
		 * higher-priority ones (two, back to back) is never current. */
		{ "campaigns: [{ id: a, name: A, starts: 2026-12-01, ends: 2027-01-31 },\n"
		    "  { id: b, name: B, starts: 2027-01-31, ends: 2027-03-31 }]\n", NULL,
		    "shokai.yaml:16:3: campaigns[1]: its dates (2027-01-31 to 2027-03-31) overlap "
		    "campaign 'a' (2026-12-01 to 2027-01-31) with the same priority (0): give the "
		    "one that should win a higher priority: N\n" },
		{ "campaigns: [{ id: a, name: A, starts: 2026-12-01, ends: 2026-12-31, "
		    "priority: 2 },\n"
		    "  { id: b, name: B, starts: 2027-01-01, ends: 2027-01-31, priority: 1 },\n"
		    "  { id: c, name: C, starts: 2026-12-10, ends: 2027-01-20 }]\n", NULL,
		    "shokai.yaml:17:3: campaigns[2]: 'c' can never be current: every day of it "
		    "(2026-12-10 to 2027-01-20) belongs to campaigns of higher priority\n" },
		{ "campaigns: [{ id: c, name: C, starts: 12/01, ends: 2026-11-01 }]\n", NULL,
		    "shokai.yaml:15:39: campaigns[0].starts: expected a date that exists, such as "
		    "2026-12-01\n" },
		{ "campaigns: [{ id: c, name: C, starts: 2026-12-01, ends: 2027-02-29 }]\n", NULL,
		    "shokai.yaml:15:57: campaigns[0].ends: expected a date that exists, such as "
		    "2026-12-01\n" },
		{ "campaigns: [{ id: c, name: C, starts: 2026-12-01, ends: 2027-01-01,\n"
		    "  rules: { velocity: { claims: 3, within: 1m, then: drop } } }]\n", NULL,
		    "shokai.yaml:16:53: campaigns[0].rules.velocity.then: only review (held for "
		    "an operator); claims are never dropped silently\n" },
		{ "campaigns: [{ id: c, name: C, starts: 2026-12-01, ends: 2027-01-01,\n"
		    "  reward: { referee: { pool: p, message: reward_bad } } }]\n", NULL,
		    "shokai.yaml:11:15: messages.reward_bad: unknown placeholder {rep_name}; "
		    "allowed: display_name, company_name, coupon_code, friend_name\n" },
		{ "campaigns: [{ id: c, name: C, starts: 2026-12-01, ends: 2027-01-01 }]\n"
		    "reps: [{ code: R1, name: \"漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢漢\" }]\n", NULL,
		    "shokai.yaml:12:11: messages.invite: the share link can reach 1381 characters "
		    "with the longest names and URLs here; LINE takes 1000: shorten the text\n" },
		{ "campaigns: [{ id: c, name: C, starts: 2026-12-01, ends: 2027-01-01,\n"
		    "  reward: { due_on: lost } }]\n", NULL,
		    "shokai.yaml:16:21: campaigns[0].reward.due_on: expected claim, contacted, "
		    "meeting or won\n" },
		{ "campaigns: [{ id: c, name: C, starts: 2026-12-01, ends: 2027-01-01,\n"
		    "  rewards: [{ due_on: won }, { audience: friends }] }]\n", NULL,
		    "shokai.yaml:16:42: campaigns[0].rewards[1].audience: expected all, "
		    "customers or partners (whose referrals earn this stage)\n" },
		{ "campaigns: [{ id: c, name: C, starts: 2026-12-01, ends: 2027-01-01,\n"
		    "  reward: { due_on: won }, rewards: [] }]\n", NULL,
		    "shokai.yaml:16:37: campaigns[0]: reward (one stage) or rewards (a list of "
		    "stages), not both\n" },
		{ "campaigns: [{ id: c, name: C, starts: 2026-12-01, ends: 2027-01-01,\n"
		    "  void_on: [block, refund] }]\n", NULL,
		    "shokai.yaml:16:20: campaigns[0].void_on[1]: expected block (the friend "
		    "blocks the account before approval) or lost (the referral is lost)\n" },
		{ "campaigns: [{ id: c, name: C, starts: 2026-12-01, ends: 2027-01-01,\n"
		    "  rules: { review: { within: 2d } } }]\n", NULL,
		    "shokai.yaml:16:20: campaigns[0].rules.review: default is needed: approve, "
		    "reject or none (what happens to a held claim nobody decided by the "
		    "deadline)\n" },
		{ "referral: { notify_bot: nosuch }\n", NULL,
		    "shokai.yaml:15:25: referral.notify_bot: no LINE WORKS bot 'nosuch' under "
		    "lineworks.bots\n" },
		{ "reps_csv: reps.csv\n", "code,nom\nR1,X\n",
		    "reps.csv:1:1: unknown column 'nom' (known: code, name, branch, "
		    "lineworks_user_id, contact_url)\n"
		    "reps.csv:1:1: the header needs the columns code and name\n"
		    "reps.csv:2:1: rep R1: missing name\n" },
		{ "reps_csv: reps.csv\n", "code,name\nR1,\"X\nR2,Y,Z\n",
		    "reps.csv:2:1: cannot read this line as CSV (a quote left open, or more than "
		    "16 columns)\n"
		    "reps.csv:3:1: 3 columns; the header has 2\n" },
		/* Formula-like fields, controls and bad UTF-8: a reps CSV is opened in
		 * spreadsheets and its names reach customers' messages. */
		{ "reps_csv: reps.csv\n", "code,name,lineworks_user_id\n=1+2,X,\n-R2,Y,\n"
		    "R3,@SUM(A1),\nR4,\"+cmd|' /C calc'!A0\",\nR5,Z,=a@example.com\n",
		    "reps.csv:2:1: rep code '=1+2' starts with '=', which a spreadsheet reads as "
		    "a formula\n"
		    "reps.csv:3:1: rep code '-R2' starts with '-', which a spreadsheet reads as "
		    "a formula\n"
		    "reps.csv:4:1: rep R3: name '@SUM(A1)' starts with '@', which a spreadsheet "
		    "reads as a formula\n"
		    "reps.csv:5:1: rep R4: name '+cmd|' /C calc'!A0' starts with '+', which a "
		    "spreadsheet reads as a formula\n"
		    "reps.csv:6:1: rep R5: lineworks_user_id '=a@example.com' starts with '=', "
		    "which a spreadsheet reads as a formula\n" },
		{ "reps_csv: reps.csv\n", "code,name\nR1,A\x1b" "[31mB\nR2,\"A\tB\"\n"
		    "R3,A\rB\nR4,\xff" "X\n",
		    "reps.csv:2:1: control character U+001B (ESC) at byte 5\n"
		    "reps.csv:3:1: control character U+0009 (tab) at byte 6\n"
		    "reps.csv:4:1: control character U+000D (CR) at byte 5\n"
		    "reps.csv:5:1: invalid UTF-8 at byte 4\n" },
		{ "reps: [{ code: R1, name: \"=cmd\" }, { code: R2, name: \"A\\eB\" }]\n",
		    NULL,
		    "shokai.yaml:15:8: rep R1: name '=cmd' starts with '=', which a spreadsheet "
		    "reads as a formula\n"
		    "shokai.yaml:15:36: rep R2: name: control character U+001B (ESC) at byte 2\n" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *errors;
		struct config *cf;

		if (cases[i].csv != NULL)
			test_write_file(dir, "reps.csv", cases[i].csv, 0644);
		cf = load(cases[i].yaml, &errors);
		if (cf != NULL || strcmp(errors, cases[i].expect) != 0)
			fail_msg("case %zu: got\n%s\nwant\n%s", i, errors, cases[i].expect);
		free(errors);
	}
}

/* The referral flow's other messages may use only what their moment provides, and the
 * error lists that, not every placeholder of every message. */
static void
test_named_message_placeholders(void **state)
{
	char *text, *errors;
	struct config *cf;
	const char *insert = "messages:\n  claim_thanks_referrer: \"{coupon_code}を贈ります\"\n";
	const char *at = strstr(base, "messages:\n");

	(void)state;
	text = xasprintf("%.*s%s%s%s", (int)(at - base), base, insert,
	    at + strlen("messages:\n"), good);
	cf = load_text(text, &errors);
	assert_null(cf);
	assert_non_null(strstr(errors, "messages.claim_thanks_referrer: unknown placeholder "
	    "{coupon_code}; allowed: company_name, friend_name, referral_id, rep_name, "
	    "branch_name, rep_contact_url\n"));
	free(errors);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_reward_stages),
		cmocka_unit_test(test_priority),
		cmocka_unit_test(test_reps_from_csv),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_named_message_placeholders),
	};

	log_init(LOG_ERROR);
	return cmocka_run_group_tests(tests, setup, teardown);
}
