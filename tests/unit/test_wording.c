/* test_wording.c: the built-in wording (daemon/config/default_wording.yaml, embedded at
 * build time): it loads with nothing else, every message a handler sends by name is in
 * it, its texts are the product's wording, and an operator's message of the same name
 * replaces a built-in one, with the usual errors at the operator's file and line. */
#include <ctype.h>
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../daemon/shokaid.h"
#include "testutil.h"

static char dir[256];

/* Messages a handler sends only when the operator defines them (the invite's, the
 * greetings): not built in. */
static const char *const operator_only[] = { "greeting", "greeting_again", "invite",
    "invite_no_rep", "invite_preview", "claim_text", NULL };

/* Loads TEST_CONFIG_HEAD and extra as dir/shokai.yaml; *errors gets every error line,
 * paths relative to dir. */
static struct config *
load(const char *extra, char **errors)
{
	char path[512], *text = xasprintf("%s%s", TEST_CONFIG_HEAD, extra);
	struct config_errors errs = { 0 };
	struct config *cf;

	test_write_file(dir, "shokai.yaml", text, 0644);
	free(text);
	snprintf(path, sizeof(path), "%s/shokai.yaml", dir);
	cf = config_load(path, &errs);
	*errors = xstrdup("");
	for (size_t i = 0; i < errs.n; i++) {
		const char *line = errs.lines[i];
		char *more;

		if (strncmp(line, dir, strlen(dir)) == 0)
			line += strlen(dir) + 1;
		more = xasprintf("%s%s\n", *errors, line);
		free(*errors);
		*errors = more;
	}
	config_errors_clear(&errs);
	return cf;
}

/* The message's first text, rendered for platform with vars. */
static char *
render(const struct config *cf, const char *name, enum platform platform,
    const struct msg_vars *vars)
{
	const struct config_message *m = config_message(cf, name);
	json_t *r;
	char *text;

	assert_non_null(m);
	r = msg_template_render(platform == PLATFORM_WORKS ? m->works : m->line, vars);
	assert_non_null(json_string_value(json_object_get(json_array_get(r, 0), "text")));
	text = xstrdup(json_string_value(json_object_get(json_array_get(r, 0), "text")));
	json_decref(r);
	return text;
}

static void
assert_renders(const struct config *cf, const char *name, enum platform platform,
    const struct msg_vars *vars, const char *want)
{
	char *got = render(cf, name, platform, vars);

	if (strcmp(got, want) != 0)
		fail_msg("%s: got\n%s\nwant\n%s", name, got, want);
	free(got);
}

static void
test_builtin_alone_loads(void **state)
{
	char *errors;
	struct config *cf = load("", &errors);
	enum ref_state s;
	char *norm;

	(void)state;
	assert_string_equal(errors, "");
	assert_non_null(cf);
	assert_true(cf->n_messages >= 20);
	for (size_t i = 0; i < cf->n_messages; i++)
		assert_true(cf->messages[i].builtin);
	assert_string_equal(cf->wording.display_name, "お客様");
	assert_string_equal(cf->referral.sender_name_fallback, "お客様");
	assert_string_equal(cf->wording.friend_name, "お友だち");
	assert_string_equal(cf->wording.unknown_name, "（名前未取得）");
	/* The labels reps read, once in C, now the config's. */
	{
		static const char *const labels[REF_STATE_COUNT] = { "確認待ち", "新規",
		    "対応開始", "面談設定", "成約", "失注", "不正の疑い", "対象外" };

		for (int i = 0; i < REF_STATE_COUNT; i++)
			assert_string_equal(config_state_label(cf, (enum ref_state)i), labels[i]);
	}
	/* A rep's words, compared normalised: full-width and case do not matter. */
	assert_int_equal(config_state_from_word(cf, "成約", &s), 0);
	assert_int_equal(s, REF_WON);
	norm = text_normalize("ＷＯＮ");
	assert_int_equal(config_state_from_word(cf, norm, &s), 0);
	assert_int_equal(s, REF_WON);
	free(norm);
	assert_int_equal(config_state_from_word(cf, "対応開始", &s), 0);
	assert_int_equal(s, REF_CONTACTED);
	assert_int_equal(config_state_from_word(cf, "連絡済み", &s), 0);
	assert_int_equal(s, REF_CONTACTED);
	assert_int_equal(config_state_from_word(cf, "不正の疑い", &s), 0);
	assert_int_equal(s, REF_SUSPICIOUS);
	assert_int_equal(config_state_from_word(cf, "meeting", &s), 0);
	assert_int_equal(s, REF_MEETING);
	assert_int_equal(config_state_from_word(cf, "保留", &s), -1);
	assert_int_equal(config_state_from_word(cf, "新規", &s), -1);	/* no word */
	assert_true(config_words_has(cf->wording.rep_list_words, "一覧"));
	assert_true(config_words_has(cf->wording.rep_list_words, "list"));
	assert_true(config_words_has(cf->wording.rep_stats_words, "実績"));
	assert_true(config_words_has(cf->wording.rep_stats_words, "stats"));
	assert_false(config_words_has(cf->wording.rep_stats_words, "一覧"));
	assert_string_equal(cf->wording.rep_link_word, "担当者コード");
	assert_true(config_words_has(cf->wording.rep_link_words, "担当"));
	assert_true(config_words_has(cf->wording.rep_link_words, "rep"));
	free(errors);
	config_unref(cf);
}

/* The string literals of the argument that holds a call's first literal (a ternary
 * gives two). p is just past the call's '('. */
static size_t
call_names(const char *p, char names[][64], size_t max)
{
	int depth = 0, in_arg_with_literal = 0;
	size_t n = 0;

	for (; *p != '\0'; p++) {
		if (*p == '"') {
			const char *end = strchr(p + 1, '"');

			if (end == NULL)
				break;
			if (n < max && (size_t)(end - p - 1) < 64) {
				snprintf(names[n], 64, "%.*s", (int)(end - p - 1), p + 1);
				n++;
			}
			in_arg_with_literal = 1;
			p = end;
		} else if (*p == '(')
			depth++;
		else if (*p == ')' && depth-- == 0)
			break;
		else if (*p == ',' && depth == 0 && in_arg_with_literal)
			break;
		else if (*p == ';')
			break;
	}
	return n;
}

/* Every message name a handler passes to the functions that send by name (chat.c's,
 * and the handlers' own wrappers: referral_rep.c's say, referral_claim.c's answer; a
 * new wrapper goes in this list). */
static size_t
handler_message_names(char names[][64], size_t max)
{
	static const char *const senders[] = { "chat_reply_named(", "chat_push_named(",
	    "chat_text_named(", "config_message(", "say(", "answer(", NULL };
	DIR *d = opendir("handlers");
	struct dirent *e;
	size_t n = 0, files = 0;

	assert_non_null(d);	/* the tests run from the repository's top */
	while ((e = readdir(d)) != NULL) {
		char path[300], *src;
		size_t len, nl = strlen(e->d_name);

		if (nl < 3 || strcmp(e->d_name + nl - 2, ".c") != 0)
			continue;
		snprintf(path, sizeof(path), "handlers/%s", e->d_name);
		assert_non_null(src = test_read_file(path, &len));
		files++;
		for (const char *const *s = senders; *s != NULL; s++)
			for (const char *p = strstr(src, *s); p != NULL; p = strstr(p + 1, *s)) {
				if (p > src && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
					continue;	/* another function's name ends so */
				n += call_names(p + strlen(*s), names + n, max - n);
			}
		free(src);
	}
	closedir(d);
	assert_true(files >= 10);
	return n;
}

static void
test_every_message_a_handler_names_is_built_in(void **state)
{
	char names[128][64], *errors;
	size_t n = handler_message_names(names, 128);
	struct config *cf = load("", &errors);

	(void)state;
	assert_non_null(cf);
	assert_true(n >= 28);	/* the scan sees the calls */
	for (size_t i = 0; i < n; i++) {
		const struct config_message *m = config_message(cf, names[i]);
		int optional = 0;

		for (const char *const *o = operator_only; *o != NULL; o++)
			optional |= strcmp(*o, names[i]) == 0;
		if (optional)
			continue;
		if (m == NULL || !m->builtin)
			fail_msg("handlers send '%s', which default_wording.yaml does not have",
			    names[i]);
	}
	/* And each rep answer can go on LINE WORKS. */
	for (size_t i = 0; i < cf->n_messages; i++)
		if (strncmp(cf->messages[i].name, "rep_", 4) == 0)
			assert_non_null(cf->messages[i].works);
	free(errors);
	config_unref(cf);
}

/* The built-in texts are the wording that was in C, word for word. */
static void
test_builtin_texts(void **state)
{
	char *errors;
	struct config *cf = load("", &errors);
	struct msg_vars v = { 0 };

	(void)state;
	assert_non_null(cf);
	assert_renders(cf, "claim_not_accepted", PLATFORM_LINE, &v, "ご連絡ありがとうございます。"
	    "恐れ入りますが、このご紹介コードはご利用いただけませんでした。");
	assert_renders(cf, "postback_unknown", PLATFORM_LINE, &v, "申し訳ありません。この操作"
	    "にはお答えできませんでした。メニューからもう一度お試しください。");
	msg_vars_set(&v, "rep_name", "高橋 美咲");
	msg_vars_set(&v, "branch_name", "新宿支店");
	assert_renders(cf, "rep_link_thanks", PLATFORM_LINE, &v,
	    "ありがとうございます。担当の高橋 美咲(新宿支店)がご案内します。");
	assert_renders(cf, "rep_link_thanks_no_branch", PLATFORM_LINE, &v,
	    "ありがとうございます。担当の高橋 美咲がご案内します。");
	msg_vars_set(&v, "invites", "1");
	msg_vars_set(&v, "claims", "2");
	msg_vars_set(&v, "wins", "3");
	msg_vars_set(&v, "rewards", "4");
	msg_vars_set(&v, "losses", "5");
	assert_renders(cf, "referral_status", PLATFORM_LINE, &v, "ご紹介の状況\n紹介コードの"
	    "発行：1回\nご登録いただいたお友だち：2人\nご成約：3件\nお届けした特典：4件");
	assert_renders(cf, "rep_stats", PLATFORM_WORKS, &v,
	    "今月の実績：ご紹介 2件、成約 3件、失注 5件");
	msg_vars_set(&v, "count", "2");
	msg_vars_set(&v, "list", "#1 05/14 新規\n#2 05/15 成約\n");
	assert_renders(cf, "rep_list", PLATFORM_WORKS, &v, "対応中のご紹介（2件）：\n#1 05/14 "
	    "新規\n#2 05/15 成約\n「成約 #番号」のように送ると状態を変えられます。");
	msg_vars_set(&v, "referral_id", "12");
	msg_vars_set(&v, "state", config_state_label(cf, REF_WON));
	msg_vars_set(&v, "friend_name", "鈴木 一郎");
	msg_vars_set(&v, "claimed_at", "05/14");
	msg_vars_set(&v, "age_days", "3");
	assert_renders(cf, "rep_list_item", PLATFORM_WORKS, &v,
	    "#12 鈴木 一郎 様 成約 05/14（3日経過）");
	msg_vars_set(&v, "to_state", config_state_label(cf, REF_LOST));
	assert_renders(cf, "rep_referral_moved", PLATFORM_WORKS, &v,
	    "紹介 #12 を「成約」にしました。");
	assert_renders(cf, "rep_referral_refused", PLATFORM_WORKS, &v,
	    "紹介 #12 は「成約」のため「失注」には変更できません。");
	msg_vars_set(&v, "referrer_name", "山田 花子");
	msg_vars_set(&v, "friend_name", cf->wording.unknown_name);
	msg_vars_set(&v, "claimed_at", "2026-12-01 10:00");
	assert_renders(cf, "rep_notify", PLATFORM_WORKS, &v, "新しいご紹介 #12\n紹介者："
	    "山田 花子 様\nお友だち：（名前未取得） 様\n2026-12-01 10:00");
	msg_vars_set(&v, "coupon_code", "QUO-1");
	assert_renders(cf, "reward_coupon", PLATFORM_LINE, &v,
	    "ご紹介特典をお届けします。クーポンコード：QUO-1");
	free(errors);
	config_unref(cf);
}

/* An operator's message of the same name replaces the built-in one; the others stay,
 * and names shokai does not send are allowed as before. */
static void
test_operator_message_overrides_by_name(void **state)
{
	char *errors;
	struct config *cf, *plain;
	struct msg_vars v = { 0 };

	(void)state;
	plain = load("", &errors);
	free(errors);
	assert_non_null(plain);
	cf = load("company_name: 株式会社テスト\n"
	    "messages:\n"
	    "  claim_not_accepted:\n"
	    "    - text: \"{company_name}です。このコードはお使いいただけません。\"\n"
	    "    - sticker: { package_id: \"446\", sticker_id: \"1989\" }\n"
	    "  rep_list_empty: 今はありません。\n"
	    "  my_own_words: こんにちは\n", &errors);
	assert_string_equal(errors, "");
	assert_non_null(cf);
	assert_int_equal(cf->n_messages, plain->n_messages + 1);
	assert_false(config_message(cf, "claim_not_accepted")->builtin);
	assert_false(config_message(cf, "rep_list_empty")->builtin);
	assert_true(config_message(cf, "claim_held")->builtin);
	assert_false(config_message(cf, "my_own_words")->builtin);
	msg_vars_set(&v, "company_name", cf->company_name);
	assert_renders(cf, "claim_not_accepted", PLATFORM_LINE, &v,
	    "株式会社テストです。このコードはお使いいただけません。");
	assert_renders(cf, "rep_list_empty", PLATFORM_WORKS, &v, "今はありません。");
	assert_renders(cf, "claim_held", PLATFORM_LINE, &v, "ご連絡ありがとうございます。"
	    "担当者が確認してからご案内します。少しお待ちください。");
	free(errors);
	config_unref(cf);
	config_unref(plain);
}

/* An override is checked as any message is: errors at the operator's file and line. */
static void
test_override_errors_say_where(void **state)
{
	static const struct {
		const char	*yaml;
		const char	*expect;
	} cases[] = {
		/* Each lists what that message may use, not every placeholder there is. */
		{ "messages:\n  claim_not_accepted: \"{nosuch}さん\"\n",
		    "shokai.yaml:10:23: messages.claim_not_accepted: unknown placeholder "
		    "{nosuch}; allowed: display_name, company_name\n" },
		{ "messages:\n  claim_not_accepted: \"{coupon_code}をどうぞ\"\n",
		    "shokai.yaml:10:23: messages.claim_not_accepted: unknown placeholder "
		    "{coupon_code}; allowed: display_name, company_name\n" },
		{ "messages:\n  rep_stats: \"{claims}件 {display_name}\"\n",
		    "shokai.yaml:10:14: messages.rep_stats: unknown placeholder {display_name}; "
		    "allowed: company_name, rep_name, claims, wins, losses\n" },
		{ "messages:\n  claim_held: 一度目\n  claim_held: 二度目\n",
		    "shokai.yaml:11:3: messages: 'claim_held' is defined twice\n" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *errors;
		struct config *cf = load(cases[i].yaml, &errors);

		if (cf != NULL || strcmp(errors, cases[i].expect) != 0)
			fail_msg("case %zu: got\n%s\nwant\n%s", i, errors, cases[i].expect);
		free(errors);
	}
}

/* A rep's answer must be sendable on LINE WORKS; one with LINE-only parts is refused. */
static void
test_rep_override_must_fit_line_works(void **state)
{
	char *errors;
	struct config *cf = load("messages:\n  rep_button_invalid:\n"
	    "    - template: { type: confirm, text: もう一度?, actions: [\n"
	    "        { type: message, label: はい, text: はい },\n"
	    "        { type: message, label: いいえ, text: いいえ }] }\n", &errors);

	(void)state;
	assert_null(cf);
	assert_string_equal(errors, "shokai.yaml:11:5: messages.rep_button_invalid: message "
	    "'rep_button_invalid' cannot be sent on LINE WORKS: [0].template.type: confirm is "
	    "not available on LINE WORKS; use buttons\n");
	free(errors);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/shokai-test-wording-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return test_write_file(dir, "secret", "s3cret\n", 0600);
}

static int
teardown(void **state)
{
	(void)state;
	return test_rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin_alone_loads),
		cmocka_unit_test(test_every_message_a_handler_names_is_built_in),
		cmocka_unit_test(test_builtin_texts),
		cmocka_unit_test(test_operator_message_overrides_by_name),
		cmocka_unit_test(test_override_errors_say_where),
		cmocka_unit_test(test_rep_override_must_fit_line_works),
	};

	log_init(LOG_ERROR);
	return cmocka_run_group_tests(tests, setup, teardown);
}
