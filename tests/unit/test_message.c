/* test_message.c: message templates: every form the operator may write renders to the
 * JSON the platform documents, every limit is refused at load with its path, and
 * rendered values are escaped, percent-encoded and cut where they must be. */
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

#define ERRLEN 512

static const char *const names[] = { "display_name", "company_name", "share_url",
    "invite_url", "code", "body", "image_url", NULL };

/* n copies of unit, in a string the caller frees. */
static char *
repeat(const char *unit, size_t n)
{
	size_t len = strlen(unit);
	char *s = malloc(len * n + 1);

	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * len, unit, len);
	s[len * n] = '\0';
	return s;
}

/* n copies of unit, then tail. */
static char *
repeat_then(const char *unit, size_t n, const char *tail)
{
	char *head = repeat(unit, n), *s = NULL;

	if (asprintf(&s, "%s%s", head, tail) < 0)
		fail();
	free(head);
	return s;
}

static json_t *
parse(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &je);

	if (j == NULL)
		fail_msg("bad test JSON: %s (line %d, column %d): %s", je.text, je.line,
		    je.column, text);
	return j;
}

/* Loads spec (stolen), renders with vars and compares with the expected JSON. */
static void
render_eq_json(json_t *spec, enum platform p, const struct msg_vars *vars,
    const char *expected)
{
	char err[ERRLEN];
	struct msg_template *t = msg_template_new(spec, p, names, err, sizeof(err));
	json_t *got, *want = parse(expected);

	json_decref(spec);
	if (t == NULL)
		fail_msg("load failed: %s", err);
	got = msg_template_render(t, vars);
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);

		fail_msg("rendered %s\nwanted   %s", g, expected);
	}
	json_decref(got);
	json_decref(want);
	msg_template_free(t);
}

static void
render_eq(const char *spec, enum platform p, const struct msg_vars *vars,
    const char *expected)
{
	render_eq_json(parse(spec), p, vars, expected);
}

/* Loads spec (stolen), which must load, and returns its rendering. */
static json_t *
render_one(json_t *spec, enum platform p, const struct msg_vars *vars)
{
	char err[ERRLEN];
	struct msg_template *t = msg_template_new(spec, p, names, err, sizeof(err));
	json_t *out;

	json_decref(spec);
	if (t == NULL)
		fail_msg("load failed: %s", err);
	out = msg_template_render(t, vars);
	msg_template_free(t);
	return out;
}

static void
loads(json_t *spec, enum platform p)
{
	json_decref(render_one(spec, p, NULL));
}

/* Loads spec (stolen) and expects exactly this error. */
static void
error_eq_json(json_t *spec, enum platform p, const char *want)
{
	char err[ERRLEN] = "";
	struct msg_template *t = msg_template_new(spec, p, names, err, sizeof(err));

	json_decref(spec);
	if (t != NULL) {
		msg_template_free(t);
		fail_msg("loaded, wanted the error \"%s\"", want);
	}
	assert_string_equal(err, want);
}

static void
error_eq(const char *spec, enum platform p, const char *want)
{
	error_eq_json(parse(spec), p, want);
}

/* Renders a one-message template and returns the dumped message (caller frees). */
static char *
render_dump(const char *spec, const struct msg_vars *vars)
{
	char err[ERRLEN];
	json_t *j = parse(spec), *out;
	struct msg_template *t = msg_template_new(j, PLATFORM_LINE, names, err, sizeof(err));
	char *s;

	json_decref(j);
	if (t == NULL)
		fail_msg("load failed: %s", err);
	out = msg_template_render(t, vars);
	s = json_dumps(json_array_get(out, 0), JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(out);
	msg_template_free(t);
	return s;
}

static void
test_text(void **state)
{
	struct msg_vars v = { .n = 0 };

	(void)state;
	render_eq("\"こんにちは\"", PLATFORM_LINE, NULL,
	    "[{\"type\":\"text\",\"text\":\"こんにちは\"}]");
	render_eq("{\"text\":\"hello\"}", PLATFORM_LINE, NULL,
	    "[{\"type\":\"text\",\"text\":\"hello\"}]");
	/* A plain YAML integer is still text. */
	render_eq("{\"text\":100}", PLATFORM_LINE, NULL,
	    "[{\"type\":\"text\",\"text\":\"100\"}]");
	msg_vars_set(&v, "display_name", "花子");
	msg_vars_set(&v, "company_name", "株式会社サンプル");
	render_eq("[{\"text\":\"{display_name}さん、{company_name}です。{code}!\"}]",
	    PLATFORM_LINE, &v,
	    "[{\"type\":\"text\",\"text\":\"花子さん、株式会社サンプルです。!\"}]");
	/* Not placeholders: stay as written. */
	render_eq("\"{ not a placeholder} {123} {Code} {{code}} {code\"", PLATFORM_LINE, NULL,
	    "[{\"type\":\"text\",\"text\":\"{ not a placeholder} {123} {Code} {} {code\"}]");
}

static void
test_emojis(void **state)
{
	struct msg_vars v = { .n = 0 };
	char *body;
	json_t *spec;

	(void)state;
	render_eq("{\"text\":\"$ LINE emoji $\",\"emojis\":["
	    "{\"index\":0,\"product_id\":\"5ac1bfd5040ab15980c9b435\",\"emoji_id\":\"001\"},"
	    "{\"index\":13,\"product_id\":\"5ac1bfd5040ab15980c9b435\",\"emoji_id\":2}]}",
	    PLATFORM_LINE, NULL,
	    "[{\"type\":\"text\",\"text\":\"$ LINE emoji $\",\"emojis\":["
	    "{\"index\":0,\"productId\":\"5ac1bfd5040ab15980c9b435\",\"emojiId\":\"001\"},"
	    "{\"index\":13,\"productId\":\"5ac1bfd5040ab15980c9b435\",\"emojiId\":\"2\"}]}]");
	/* The index follows the $ when a placeholder before it changes length. */
	msg_vars_set(&v, "display_name", "😀花子");
	render_eq("{\"text\":\"{display_name}さん$\",\"emojis\":"
	    "[{\"index\":16,\"product_id\":\"p\",\"emoji_id\":\"e\"}]}", PLATFORM_LINE, &v,
	    "[{\"type\":\"text\",\"text\":\"😀花子さん$\",\"emojis\":"
	    "[{\"index\":6,\"productId\":\"p\",\"emojiId\":\"e\"}]}]");
	/* A $ the cut removes takes its emoji with it. */
	body = repeat("a", 6000);
	msg_vars_set(&v, "body", body);
	spec = json_pack("{s:s,s:[{s:i,s:s,s:s},{s:i,s:s,s:s}]}",
	    "text", "$ {body} $", "emojis",
	    "index", 0, "product_id", "p", "emoji_id", "e",
	    "index", 9, "product_id", "p", "emoji_id", "f");
	{
		char err[ERRLEN];
		struct msg_template *t = msg_template_new(spec, PLATFORM_LINE, names, err,
		    sizeof(err));
		json_t *out, *m;

		assert_non_null(t);
		out = msg_template_render(t, &v);
		m = json_array_get(out, 0);
		assert_int_equal(utf16_units(json_string_value(json_object_get(m, "text"))),
		    5000);
		assert_int_equal(json_array_size(json_object_get(m, "emojis")), 1);
		assert_string_equal(json_string_value(json_object_get(json_array_get(
		    json_object_get(m, "emojis"), 0), "emojiId")), "e");
		json_decref(out);
		msg_vars_set(&v, "body", "x");
		out = msg_template_render(t, &v);
		m = json_array_get(out, 0);
		assert_string_equal(json_string_value(json_object_get(m, "text")), "$ x $");
		assert_int_equal(json_integer_value(json_object_get(json_array_get(
		    json_object_get(m, "emojis"), 1), "index")), 4);
		json_decref(out);
		msg_template_free(t);
	}
	json_decref(spec);
	free(body);
	/* With the only $ cut away, the emojis key goes. */
	body = repeat("b", 6000);
	msg_vars_set(&v, "body", body);
	{
		json_t *out = render_one(json_pack("{s:s,s:[{s:i,s:s,s:s}]}", "text",
		    "{body}$", "emojis", "index", 6, "product_id", "p", "emoji_id", "e"),
		    PLATFORM_LINE, &v);
		json_t *m = json_array_get(out, 0);

		assert_null(json_object_get(m, "emojis"));
		assert_int_equal(utf16_units(json_string_value(json_object_get(m, "text"))),
		    5000);
		json_decref(out);
	}
	free(body);
}

static void
test_sticker_image(void **state)
{
	struct msg_vars v = { .n = 0 };

	(void)state;
	render_eq("{\"sticker\":{\"package_id\":446,\"sticker_id\":\"1988\"}}", PLATFORM_LINE,
	    NULL, "[{\"type\":\"sticker\",\"packageId\":\"446\",\"stickerId\":\"1988\"}]");
	render_eq("{\"image\":{\"url\":\"https://example.jp/a.jpg\"}}", PLATFORM_LINE, NULL,
	    "[{\"type\":\"image\",\"originalContentUrl\":\"https://example.jp/a.jpg\","
	    "\"previewImageUrl\":\"https://example.jp/a.jpg\"}]");
	render_eq("{\"image\":{\"url\":\"https://example.jp/a.jpg\","
	    "\"preview_url\":\"https://example.jp/p.jpg\"}}", PLATFORM_LINE, NULL,
	    "[{\"type\":\"image\",\"originalContentUrl\":\"https://example.jp/a.jpg\","
	    "\"previewImageUrl\":\"https://example.jp/p.jpg\"}]");
	msg_vars_set(&v, "image_url", "https://cdn.example.jp/x y.png");
	render_eq("{\"image\":{\"url\":\"{image_url}\"}}", PLATFORM_LINE, &v,
	    "[{\"type\":\"image\",\"originalContentUrl\":\"https://cdn.example.jp/x y.png\","
	    "\"previewImageUrl\":\"https://cdn.example.jp/x y.png\"}]");
	error_eq("{\"image\":{\"url\":\"http://example.jp/a.jpg\"}}", PLATFORM_LINE,
	    "image.url: must start with https://");
	error_eq("{\"sticker\":{\"package_id\":446}}", PLATFORM_LINE,
	    "sticker.sticker_id: required");
}

static void
test_templates(void **state)
{
	struct msg_vars v = { .n = 0 };

	(void)state;
	render_eq("{\"template\":{\"type\":\"buttons\",\"title\":\"ご紹介\","
	    "\"text\":\"紹介メッセージを送る\",\"thumbnail_url\":\"https://example.jp/t.jpg\","
	    "\"actions\":["
	    "{\"type\":\"uri\",\"label\":\"友だちに送る\",\"uri\":\"{share_url}\"},"
	    "{\"type\":\"postback\",\"label\":\"状況\",\"data\":\"action=status\","
	    "\"display_text\":\"紹介状況\"},"
	    "{\"type\":\"message\",\"label\":\"担当\",\"text\":\"担当者\"},"
	    "{\"type\":\"datetimepicker\",\"label\":\"日時\",\"data\":\"action=date\","
	    "\"mode\":\"datetime\",\"initial\":\"2026-12-01T10:00\",\"min\":\"2026-12-01t09:00\","
	    "\"max\":\"2027-02-28T18:00\"}]}}", PLATFORM_LINE, NULL,
	    "[{\"type\":\"template\",\"altText\":\"紹介メッセージを送る\",\"template\":{"
	    "\"type\":\"buttons\",\"title\":\"ご紹介\",\"text\":\"紹介メッセージを送る\","
	    "\"thumbnailImageUrl\":\"https://example.jp/t.jpg\",\"actions\":["
	    "{\"type\":\"uri\",\"label\":\"友だちに送る\",\"uri\":\"\"},"
	    "{\"type\":\"postback\",\"label\":\"状況\",\"data\":\"action=status\","
	    "\"displayText\":\"紹介状況\"},"
	    "{\"type\":\"message\",\"label\":\"担当\",\"text\":\"担当者\"},"
	    "{\"type\":\"datetimepicker\",\"label\":\"日時\",\"data\":\"action=date\","
	    "\"mode\":\"datetime\",\"initial\":\"2026-12-01T10:00\",\"min\":\"2026-12-01t09:00\","
	    "\"max\":\"2027-02-28T18:00\"}]}}]");
	msg_vars_set(&v, "display_name", "花子");
	render_eq("{\"template\":{\"type\":\"confirm\",\"alt_text\":\"{display_name}さんへの確認\","
	    "\"text\":\"{display_name}さん、よろしいですか?\",\"actions\":["
	    "{\"type\":\"message\",\"label\":\"はい\",\"text\":\"はい\"},"
	    "{\"type\":\"message\",\"label\":\"いいえ\",\"text\":\"いいえ\"}]}}",
	    PLATFORM_LINE, &v,
	    "[{\"type\":\"template\",\"altText\":\"花子さんへの確認\",\"template\":{"
	    "\"type\":\"confirm\",\"text\":\"花子さん、よろしいですか?\",\"actions\":["
	    "{\"type\":\"message\",\"label\":\"はい\",\"text\":\"はい\"},"
	    "{\"type\":\"message\",\"label\":\"いいえ\",\"text\":\"いいえ\"}]}}]");
	/* The invite's copy button: the text goes to the clipboard as it is. */
	render_eq("{\"template\":{\"type\":\"buttons\",\"text\":\"紹介\",\"actions\":["
	    "{\"type\":\"clipboard\",\"label\":\"文面をコピー\","
	    "\"clipboard_text\":\"{display_name}です。\"}]}}", PLATFORM_LINE, &v,
	    "[{\"type\":\"template\",\"altText\":\"紹介\",\"template\":{"
	    "\"type\":\"buttons\",\"text\":\"紹介\",\"actions\":["
	    "{\"type\":\"clipboard\",\"label\":\"文面をコピー\","
	    "\"clipboardText\":\"花子です。\"}]}}]");
	/* The default alt text follows the rendered text. */
	render_eq("{\"template\":{\"type\":\"confirm\",\"text\":\"{display_name}さん?\","
	    "\"actions\":[{\"type\":\"message\",\"label\":\"はい\",\"text\":\"はい\"},"
	    "{\"type\":\"postback\",\"label\":\"いいえ\",\"data\":\"a=no\"}]}}",
	    PLATFORM_LINE, &v,
	    "[{\"type\":\"template\",\"altText\":\"花子さん?\",\"template\":{"
	    "\"type\":\"confirm\",\"text\":\"花子さん?\",\"actions\":["
	    "{\"type\":\"message\",\"label\":\"はい\",\"text\":\"はい\"},"
	    "{\"type\":\"postback\",\"label\":\"いいえ\",\"data\":\"a=no\"}]}}]");
}

static void
test_flex(void **state)
{
	struct msg_vars v = { .n = 0 };
	static const char bubble[] =
	    "{\"type\":\"bubble\",\"body\":{\"type\":\"box\",\"layout\":\"vertical\","
	    "\"contents\":[{\"type\":\"text\",\"text\":\"{display_name}さんへ\"},"
	    "{\"type\":\"button\",\"action\":{\"type\":\"uri\",\"label\":\"送る\","
	    "\"uri\":\"https://line.me/R/share?text={code}\"}}]}}";
	json_t *spec;
	const char *want;

	(void)state;
	msg_vars_set(&v, "display_name", "花子");
	msg_vars_set(&v, "code", "R7K 2/Q9");
	want = "[{\"type\":\"flex\",\"altText\":\"ご紹介\",\"contents\":"
	    "{\"type\":\"bubble\",\"body\":{\"type\":\"box\",\"layout\":\"vertical\","
	    "\"contents\":[{\"type\":\"text\",\"text\":\"花子さんへ\"},"
	    "{\"type\":\"button\",\"action\":{\"type\":\"uri\",\"label\":\"送る\","
	    "\"uri\":\"https://line.me/R/share?text=R7K%202%2FQ9\"}}]}}}]";
	/* As pasted from the Flex Message Simulator, and as a YAML mapping. */
	spec = json_pack("{s:{s:s,s:s}}", "flex", "alt_text", "ご紹介", "contents", bubble);
	render_eq_json(spec, PLATFORM_LINE, &v, want);
	spec = json_pack("{s:{s:s,s:o}}", "flex", "alt_text", "ご紹介", "contents",
	    parse(bubble));
	render_eq_json(spec, PLATFORM_LINE, &v, want);

	spec = json_pack("{s:{s:s,s:s}}", "flex", "alt_text", "x", "contents",
	    "{\"type\":\"bubble\",\n\"body\": {\"type\":\"box\",}}");
	error_eq_json(spec, PLATFORM_LINE, "flex.contents: not valid JSON: "
	    "string or '}' expected near '}' (line 2, column 23)");
	spec = json_pack("{s:{s:s,s:s}}", "flex", "alt_text", "x", "contents",
	    "{\"type\":\"bubble\",\"body\":{\"type\":\"text\",\"text\":\"{nope}\"}}");
	error_eq_json(spec, PLATFORM_LINE, "flex.contents.body.text: unknown placeholder "
	    "{nope}; allowed: display_name, company_name, share_url, invite_url, code, body, "
	    "image_url");
	spec = json_pack("{s:{s:s,s:s}}", "flex", "alt_text", "x", "contents",
	    "{\"type\":\"flex\",\"altText\":\"x\",\"contents\":{}}");
	error_eq_json(spec, PLATFORM_LINE, "flex.contents: give only the bubble or carousel "
	    "inside, not the whole flex message");
	error_eq("{\"flex\":{\"contents\":{\"type\":\"bubble\"}}}", PLATFORM_LINE,
	    "flex.alt_text: required");
}

static void
test_quick_replies(void **state)
{
	json_t *spec, *items;

	(void)state;
	render_eq("{\"text\":\"どうぞ\",\"quick_replies\":["
	    "{\"type\":\"message\",\"label\":\"料金\",\"text\":\"料金\"},"
	    "{\"type\":\"postback\",\"label\":\"紹介\",\"data\":\"action=refer\","
	    "\"display_text\":\"紹介する\"}]}", PLATFORM_LINE, NULL,
	    "[{\"type\":\"text\",\"text\":\"どうぞ\",\"quickReply\":{\"items\":["
	    "{\"type\":\"action\",\"action\":{\"type\":\"message\",\"label\":\"料金\","
	    "\"text\":\"料金\"}},"
	    "{\"type\":\"action\",\"action\":{\"type\":\"postback\",\"label\":\"紹介\","
	    "\"data\":\"action=refer\",\"displayText\":\"紹介する\"}}]}}]");
	error_eq("{\"text\":\"x\",\"quick_replies\":[{\"type\":\"richmenuswitch\","
	    "\"label\":\"a\",\"alias\":\"info\",\"data\":\"x\"}]}", PLATFORM_LINE,
	    "quick_replies[0].type: richmenuswitch works only in rich menus");
	error_eq("{\"text\":\"x\",\"quick_replies\":[{\"type\":\"message\",\"text\":\"a\"}]}",
	    PLATFORM_LINE, "quick_replies[0].label: required");
	items = json_array();
	for (int i = 0; i < 14; i++)
		json_array_append_new(items, json_pack("{s:s,s:s,s:s}", "type", "message",
		    "label", "a", "text", "a"));
	spec = json_pack("[s,{s:s,s:o}]", "first", "text", "x", "quick_replies", items);
	error_eq_json(spec, PLATFORM_LINE,
	    "[1].quick_replies: 14 actions; quick replies take 1 to 13");
}

static void
test_several_messages(void **state)
{
	struct msg_vars v = { .n = 0 };

	(void)state;
	msg_vars_set(&v, "share_url", "https://line.me/R/share?text=%E3%81%82");
	render_eq("[{\"text\":\"ご紹介ありがとうございます。\"},"
	    "{\"sticker\":{\"package_id\":\"446\",\"sticker_id\":\"1988\"}},"
	    "{\"template\":{\"type\":\"buttons\",\"text\":\"紹介メッセージを送る\","
	    "\"actions\":[{\"type\":\"uri\",\"label\":\"友だちに送る\",\"uri\":\"{share_url}\"}]}},"
	    "\"最後\"]", PLATFORM_LINE, &v,
	    "[{\"type\":\"text\",\"text\":\"ご紹介ありがとうございます。\"},"
	    "{\"type\":\"sticker\",\"packageId\":\"446\",\"stickerId\":\"1988\"},"
	    "{\"type\":\"template\",\"altText\":\"紹介メッセージを送る\",\"template\":{"
	    "\"type\":\"buttons\",\"text\":\"紹介メッセージを送る\",\"actions\":["
	    "{\"type\":\"uri\",\"label\":\"友だちに送る\","
	    "\"uri\":\"https://line.me/R/share?text=%E3%81%82\"}]}},"
	    "{\"type\":\"text\",\"text\":\"最後\"}]");
	error_eq("[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\"]", PLATFORM_LINE,
	    "6 messages; one reply or push takes 1 to 5");
	error_eq("[]", PLATFORM_LINE, "0 messages; one reply or push takes 1 to 5");
	error_eq("[\"a\",{\"text\":\"b\",\"image\":{\"url\":\"https://x\"}}]", PLATFORM_LINE,
	    "[1]: has both text and image; one message holds one of them");
	error_eq("[\"a\",{\"quick_replies\":[]}]", PLATFORM_LINE,
	    "[1]: needs one of text, sticker, image, template, flex");
	error_eq("42", PLATFORM_LINE, "must be text, a mapping, or a list of 1 to 5 messages");
}

static void
test_errors(void **state)
{
	(void)state;
	error_eq("[{\"text\":\"{nmae}さん\"}]", PLATFORM_LINE,
	    "[0].text: unknown placeholder {nmae}; allowed: display_name, company_name, "
	    "share_url, invite_url, code, body, image_url");
	{
		static const char *const none[] = { NULL };
		char err[ERRLEN];
		json_t *spec = parse("\"{x}\"");

		assert_null(msg_template_new(spec, PLATFORM_LINE, none, err, sizeof(err)));
		assert_string_equal(err, "unknown placeholder {x}; this message takes none");
		assert_null(msg_template_new(spec, PLATFORM_LINE, NULL, err, sizeof(err)));
		json_decref(spec);
	}
	error_eq("[{\"template\":{\"type\":\"buttons\",\"text\":\"a\",\"actons\":[]}}]",
	    PLATFORM_LINE, "[0].template.actons: unknown key");
	error_eq("{\"txt\":\"a\"}", PLATFORM_LINE, "txt: unknown key");
	error_eq("{\"template\":{\"type\":\"carousel\",\"text\":\"a\",\"actions\":[]}}",
	    PLATFORM_LINE, "template.type: must be buttons or confirm");
	error_eq("{\"template\":{\"type\":\"confirm\",\"title\":\"t\",\"text\":\"a\","
	    "\"actions\":[]}}", PLATFORM_LINE, "template.title: not used by a confirm template");
	error_eq("{\"template\":{\"type\":\"buttons\",\"text\":\"a\",\"actions\":["
	    "{\"type\":\"uri\",\"label\":\"a\",\"uri\":\"https://x\",\"data\":\"d\"}]}}",
	    PLATFORM_LINE, "template.actions[0].data: not used by a uri action");
	error_eq("{\"template\":{\"type\":\"buttons\",\"text\":\"a\",\"actions\":["
	    "{\"type\":\"call\",\"label\":\"a\"}]}}", PLATFORM_LINE,
	    "template.actions[0].type: unknown action type \"call\"; use postback, message, "
	    "uri, datetimepicker or clipboard");
	error_eq("{\"template\":{\"type\":\"buttons\",\"text\":\"a\",\"actions\":["
	    "{\"type\":\"datetimepicker\",\"label\":\"a\",\"data\":\"d\",\"mode\":\"date\","
	    "\"min\":\"2026/12/01\"}]}}", PLATFORM_LINE,
	    "template.actions[0].min: must look like 2026-12-01 for mode date");
	error_eq("{\"text\":\"a\",\"emojis\":[{\"index\":0,\"product_id\":\"p\","
	    "\"emoji_id\":\"e\"}]}", PLATFORM_LINE,
	    "emojis[0].index: 0 is not the position of a $ in text (counted in UTF-16 units "
	    "from 0)");
	error_eq("{\"text\":\"\"}", PLATFORM_LINE, "text: must not be empty");
	error_eq("{\"text\":[1]}", PLATFORM_LINE, "text: must be text");
}

/* One buttons template with an action whose field key is set to value. */
static json_t *
buttons_with(const char *type, const char *key, const char *value)
{
	json_t *a = json_pack("{s:s,s:s}", "type", type, "label", "a");

	if (strcmp(type, "postback") == 0)
		json_object_set_new(a, "data", json_string("d"));
	if (strcmp(type, "message") == 0)
		json_object_set_new(a, "text", json_string("t"));
	if (strcmp(type, "uri") == 0)
		json_object_set_new(a, "uri", json_string("https://x"));
	json_object_set_new(a, key, json_string(value));
	return json_pack("[{s:{s:s,s:s,s:[o]}}]", "template", "type", "buttons", "text", "a",
	    "actions", a);
}

static void
test_limits(void **state)
{
	char *s, *t;
	json_t *acts;

	(void)state;
	s = repeat("a", 5001);
	error_eq_json(json_pack("[s,{s:s}]", "x", "text", s), PLATFORM_LINE,
	    "[1].text: too long: 5001 UTF-16 units, at most 5000");
	free(s);
	/* An emoji counts 2. */
	s = repeat("😀", 2500);
	loads(json_pack("{s:s}", "text", s), PLATFORM_LINE);
	free(s);
	s = repeat("😀", 2501);
	error_eq_json(json_pack("{s:s}", "text", s), PLATFORM_LINE,
	    "text: too long: 5002 UTF-16 units, at most 5000");
	free(s);
	s = repeat_then("あ", 5001, "{display_name}");
	error_eq_json(json_pack("{s:s}", "text", s), PLATFORM_LINE,
	    "text: too long even without its placeholders: 5001 UTF-16 units, at most 5000");
	free(s);
	s = repeat("あ", 401);
	error_eq_json(json_pack("{s:{s:s,s:s,s:s,s:[{s:s,s:s,s:s}]}}", "template",
	    "type", "buttons", "alt_text", s, "text", "a", "actions",
	    "type", "message", "label", "a", "text", "a"), PLATFORM_LINE,
	    "template.alt_text: too long: 401 characters, at most 400");
	free(s);
	s = repeat("あ", 161);
	error_eq_json(json_pack("{s:{s:s,s:s,s:[{s:s,s:s,s:s}]}}", "template",
	    "type", "buttons", "text", s, "actions",
	    "type", "message", "label", "a", "text", "a"), PLATFORM_LINE,
	    "template.text: too long: 161 characters, at most 160");
	free(s);
	s = repeat("あ", 61);
	error_eq_json(json_pack("{s:{s:s,s:s,s:s,s:[{s:s,s:s,s:s}]}}", "template",
	    "type", "buttons", "title", "t", "text", s, "actions",
	    "type", "message", "label", "a", "text", "a"), PLATFORM_LINE,
	    "template.text: too long: 61 characters, at most 60");
	error_eq_json(json_pack("{s:{s:s,s:s,s:s,s:[{s:s,s:s,s:s}]}}", "template",
	    "type", "buttons", "thumbnail_url", "https://x/t.jpg", "text", s, "actions",
	    "type", "message", "label", "a", "text", "a"), PLATFORM_LINE,
	    "template.text: too long: 61 characters, at most 60");
	free(s);
	s = repeat("あ", 41);
	error_eq_json(json_pack("{s:{s:s,s:s,s:s,s:[{s:s,s:s,s:s}]}}", "template",
	    "type", "buttons", "title", s, "text", "a", "actions",
	    "type", "message", "label", "a", "text", "a"), PLATFORM_LINE,
	    "template.title: too long: 41 characters, at most 40");
	free(s);
	s = repeat("あ", 241);
	error_eq_json(json_pack("{s:{s:s,s:s,s:[{s:s,s:s,s:s},{s:s,s:s,s:s}]}}", "template",
	    "type", "confirm", "text", s, "actions",
	    "type", "message", "label", "a", "text", "a",
	    "type", "message", "label", "b", "text", "b"), PLATFORM_LINE,
	    "template.text: too long: 241 characters, at most 240");
	free(s);

	acts = json_array();
	for (int i = 0; i < 5; i++)
		json_array_append_new(acts, json_pack("{s:s,s:s,s:s}", "type", "message",
		    "label", "a", "text", "a"));
	error_eq_json(json_pack("[{s:{s:s,s:s,s:O}}]", "template", "type", "buttons",
	    "text", "a", "actions", acts), PLATFORM_LINE,
	    "[0].template.actions: 5 actions; buttons take 1 to 4");
	error_eq_json(json_pack("[{s:{s:s,s:s,s:O}}]", "template", "type", "confirm",
	    "text", "a", "actions", acts), PLATFORM_LINE,
	    "[0].template.actions: 5 actions; confirm takes exactly 2");
	json_decref(acts);
	error_eq("[{\"template\":{\"type\":\"buttons\",\"text\":\"a\",\"actions\":[]}}]",
	    PLATFORM_LINE, "[0].template.actions: 0 actions; buttons take 1 to 4");

	s = repeat("あ", 21);
	error_eq_json(buttons_with("message", "label", s), PLATFORM_LINE,
	    "[0].template.actions[0].label: too long: 21 characters, at most 20");
	free(s);
	s = repeat("😀", 20);		/* labels count characters, not UTF-16 units */
	loads(buttons_with("message", "label", s), PLATFORM_LINE);
	free(s);
	s = repeat("d", 301);
	error_eq_json(buttons_with("postback", "data", s), PLATFORM_LINE,
	    "[0].template.actions[0].data: too long: 301 characters, at most 300");
	error_eq_json(buttons_with("postback", "display_text", s), PLATFORM_LINE,
	    "[0].template.actions[0].display_text: too long: 301 characters, at most 300");
	error_eq_json(buttons_with("message", "text", s), PLATFORM_LINE,
	    "[0].template.actions[0].text: too long: 301 characters, at most 300");
	free(s);
	t = repeat("u", 1001 - strlen("https://x/"));
	s = NULL;
	if (asprintf(&s, "https://x/%s", t) < 0)
		fail();
	error_eq_json(buttons_with("uri", "uri", s), PLATFORM_LINE,
	    "[0].template.actions[0].uri: too long: 1001 characters, at most 1000");
	free(t);
	free(s);
	error_eq_json(buttons_with("uri", "uri", "ftp://x/y"), PLATFORM_LINE,
	    "[0].template.actions[0].uri: must start with http://, https://, line:// or tel:");
	error_eq_json(buttons_with("uri", "uri", "/relative"), PLATFORM_LINE,
	    "[0].template.actions[0].uri: must start with http://, https://, line:// or tel:");
	loads(buttons_with("uri", "uri", "tel:0312345678"), PLATFORM_LINE);
	loads(buttons_with("uri", "uri", "{invite_url}"), PLATFORM_LINE);
}

static void
test_escaping(void **state)
{
	struct msg_vars v = { .n = 0 };
	char *s;

	(void)state;
	msg_vars_set(&v, "display_name", "a\"b\\c\nd</script>");
	s = render_dump("{\"text\":\"say \\\"{display_name}\\\"\\n\"}", &v);
	assert_string_equal(s,
	    "{\"text\":\"say \\\"a\\\"b\\\\c\\nd</script>\\\"\\n\",\"type\":\"text\"}");
	free(s);
	/* Bytes that are not UTF-8 become U+FFFD rather than breaking the message. */
	msg_vars_set(&v, "display_name", "x\xff\xc3y");
	s = render_dump("\"{display_name}\"", &v);
	assert_string_equal(s, "{\"text\":\"x\xef\xbf\xbd\xef\xbf\xbdy\",\"type\":\"text\"}");
	free(s);
}

static void
test_percent_encoding(void **state)
{
	struct msg_vars v = { .n = 0 };
	const char *spec = "{\"template\":{\"type\":\"buttons\",\"text\":\"送る\",\"actions\":["
	    "{\"type\":\"uri\",\"label\":\"a\",\"uri\":\"https://line.me/R/share?text={code}\"},"
	    "{\"type\":\"uri\",\"label\":\"b\",\"uri\":\"{share_url}\"},"
	    "{\"type\":\"uri\",\"label\":\"c\",\"uri\":\"{invite_url}/r/{code}\"},"
	    "{\"type\":\"message\",\"label\":\"d\",\"text\":\"{code}\"}]}}";
	json_t *out, *acts, *spec_j = parse(spec);
	char err[ERRLEN];
	struct msg_template *t;

	(void)state;
	msg_vars_set(&v, "code", "紹介 A&B/c~d_e.f-g");
	msg_vars_set(&v, "share_url", "https://line.me/R/share?text=%E3%81%82&x=1");
	msg_vars_set(&v, "invite_url", "https://bot.example.jp");
	t = msg_template_new(spec_j, PLATFORM_LINE, names, err, sizeof(err));
	json_decref(spec_j);
	if (t == NULL)
		fail_msg("%s", err);
	out = msg_template_render(t, &v);
	acts = json_object_get(json_object_get(json_array_get(out, 0), "template"), "actions");
	assert_string_equal(json_string_value(json_object_get(json_array_get(acts, 0), "uri")),
	    "https://line.me/R/share?text=%E7%B4%B9%E4%BB%8B%20A%26B%2Fc~d_e.f-g");
	assert_string_equal(json_string_value(json_object_get(json_array_get(acts, 1), "uri")),
	    "https://line.me/R/share?text=%E3%81%82&x=1");
	assert_string_equal(json_string_value(json_object_get(json_array_get(acts, 2), "uri")),
	    "https://bot.example.jp/r/%E7%B4%B9%E4%BB%8B%20A%26B%2Fc~d_e.f-g");
	assert_string_equal(json_string_value(json_object_get(json_array_get(acts, 3),
	    "text")), "紹介 A&B/c~d_e.f-g");
	json_decref(out);
	msg_template_free(t);
}

static void
test_cut(void **state)
{
	struct msg_vars v = { .n = 0 };
	json_t *spec = parse("[{\"text\":\"{body}\"},{\"template\":{\"type\":\"buttons\","
	    "\"text\":\"{body}\",\"actions\":[{\"type\":\"uri\",\"label\":\"{body}\","
	    "\"uri\":\"https://x/?q={body}\"}]}}]");
	char err[ERRLEN], *body, *want;
	struct msg_template *t = msg_template_new(spec, PLATFORM_LINE, names, err, sizeof(err));
	json_t *out, *tm, *act;
	const char *text;

	(void)state;
	json_decref(spec);
	if (t == NULL)
		fail_msg("%s", err);

	/* 4998 + 2 + 3 units: the emoji does not fit before the "…". */
	body = repeat_then("a", 4998, "😀zzz");
	msg_vars_set(&v, "body", body);
	out = msg_template_render(t, &v);
	text = json_string_value(json_object_get(json_array_get(out, 0), "text"));
	want = repeat_then("a", 4998, "…");
	assert_string_equal(text, want);
	assert_int_equal(utf16_units(text), 4999);
	tm = json_object_get(json_array_get(out, 1), "template");
	act = json_array_get(json_object_get(tm, "actions"), 0);
	assert_int_equal(utf16_units(json_string_value(json_object_get(tm, "text"))), 160);
	assert_int_equal(utf16_units(json_string_value(json_object_get(act, "label"))), 20);
	assert_string_equal(json_string_value(json_object_get(json_array_get(out, 1),
	    "altText")) + 396, "aaa…");
	assert_int_equal(strlen(json_string_value(json_object_get(act, "uri"))), 1000);
	json_decref(out);
	free(want);
	free(body);

	/* 4997 + 2 fits: the emoji stays whole, then the "…". */
	body = repeat_then("a", 4997, "😀zzz");
	msg_vars_set(&v, "body", body);
	out = msg_template_render(t, &v);
	text = json_string_value(json_object_get(json_array_get(out, 0), "text"));
	assert_int_equal(utf16_units(text), 5000);
	assert_string_equal(text + 4997, "😀…");
	json_decref(out);
	free(body);

	/* A URL is cut bare and never inside a %XX escape. */
	body = repeat("あ", 400);
	msg_vars_set(&v, "body", body);
	out = msg_template_render(t, &v);
	act = json_array_get(json_object_get(json_object_get(json_array_get(out, 1),
	    "template"), "actions"), 0);
	text = json_string_value(json_object_get(act, "uri"));
	assert_true(strlen(text) <= 1000);
	assert_true(strlen(text) > 990);
	assert_int_equal((strlen(text) - strlen("https://x/?q=")) % 9, 0);
	json_decref(out);
	free(body);

	/* Exactly at the limit: untouched. */
	body = repeat("😀", 2500);
	msg_vars_set(&v, "body", body);
	out = msg_template_render(t, &v);
	assert_string_equal(json_string_value(json_object_get(json_array_get(out, 0), "text")),
	    body);
	json_decref(out);
	free(body);
	msg_template_free(t);
}

static void
test_works(void **state)
{
	struct msg_vars v = { .n = 0 };

	(void)state;
	msg_vars_set(&v, "code", "R7K2Q9");
	render_eq("\"新しいご紹介 #{code}\"", PLATFORM_WORKS, &v,
	    "[{\"type\":\"text\",\"text\":\"新しいご紹介 #R7K2Q9\"}]");
	render_eq("{\"template\":{\"type\":\"buttons\",\"alt_text\":\"unused\","
	    "\"text\":\"新しい紹介が届きました。\\n紹介ID: {code}\",\"actions\":["
	    "{\"type\":\"postback\",\"label\":\"成約\",\"data\":\"a=won&ref={code}\","
	    "\"display_text\":\"成約 {code}\"},"
	    "{\"type\":\"postback\",\"label\":\"失注\",\"data\":\"a=lost&ref={code}\"},"
	    "{\"type\":\"message\",\"label\":\"対応開始\",\"text\":\"対応開始\"},"
	    "{\"type\":\"uri\",\"label\":\"詳細を開く\","
	    "\"uri\":\"https://shokai.example.jp/admin/referrals/{code}\"},"
	    "{\"type\":\"message\",\"label\":\"5\",\"text\":\"5\"}]},"
	    "\"quick_replies\":[{\"type\":\"postback\",\"label\":\"一覧\",\"data\":\"cmd=list\"}]}",
	    PLATFORM_WORKS, &v,
	    "[{\"type\":\"button_template\","
	    "\"contentText\":\"新しい紹介が届きました。\\n紹介ID: R7K2Q9\",\"actions\":["
	    "{\"type\":\"message\",\"label\":\"成約\",\"text\":\"成約 R7K2Q9\","
	    "\"postback\":\"a=won&ref=R7K2Q9\"},"
	    "{\"type\":\"message\",\"label\":\"失注\",\"text\":\"失注\","
	    "\"postback\":\"a=lost&ref=R7K2Q9\"},"
	    "{\"type\":\"message\",\"label\":\"対応開始\",\"text\":\"対応開始\"},"
	    "{\"type\":\"uri\",\"label\":\"詳細を開く\","
	    "\"uri\":\"https://shokai.example.jp/admin/referrals/R7K2Q9\"},"
	    "{\"type\":\"message\",\"label\":\"5\",\"text\":\"5\"}],"
	    "\"quickReply\":{\"items\":[{\"action\":{\"type\":\"message\",\"label\":\"一覧\","
	    "\"text\":\"一覧\",\"postback\":\"cmd=list\"}}]}}]");
	render_eq("[{\"image\":{\"url\":\"https://x/a.png\"}},"
	    "{\"sticker\":{\"package_id\":11537,\"sticker_id\":52002734}}]", PLATFORM_WORKS,
	    NULL, "[{\"type\":\"image\",\"originalContentUrl\":\"https://x/a.png\","
	    "\"previewImageUrl\":\"https://x/a.png\"},"
	    "{\"type\":\"sticker\",\"packageId\":\"11537\",\"stickerId\":\"52002734\"}]");
	error_eq("[\"a\",{\"flex\":{\"alt_text\":\"a\",\"contents\":{\"type\":\"bubble\"}}}]",
	    PLATFORM_WORKS, "[1].flex: not available on LINE WORKS");
	error_eq("{\"template\":{\"type\":\"confirm\",\"text\":\"a\",\"actions\":[]}}",
	    PLATFORM_WORKS, "template.type: confirm is not available on LINE WORKS; use buttons");
	error_eq("{\"text\":\"$\",\"emojis\":[{\"index\":0,\"product_id\":\"p\","
	    "\"emoji_id\":\"e\"}]}", PLATFORM_WORKS, "emojis: not available on LINE WORKS");
	error_eq("{\"template\":{\"type\":\"buttons\",\"thumbnail_url\":\"https://x/t.jpg\","
	    "\"text\":\"a\",\"actions\":[]}}", PLATFORM_WORKS,
	    "template.thumbnail_url: not available on LINE WORKS");
	/* No title on LINE WORKS: it becomes the first line. */
	render_eq("{\"template\":{\"type\":\"buttons\",\"title\":\"料金プラン #{code}\","
	    "\"text\":\"料金は{code}\",\"actions\":[{\"type\":\"uri\",\"label\":\"開く\","
	    "\"uri\":\"https://example.co.jp/price\"}]}}", PLATFORM_WORKS, &v,
	    "[{\"type\":\"button_template\",\"contentText\":\"料金プラン #R7K2Q9\\n料金はR7K2Q9\","
	    "\"actions\":[{\"type\":\"uri\",\"label\":\"開く\","
	    "\"uri\":\"https://example.co.jp/price\"}]}]");
	error_eq("{\"template\":{\"type\":\"buttons\",\"title\":\"{nope}\",\"text\":\"a\","
	    "\"actions\":[{\"type\":\"message\",\"label\":\"a\",\"text\":\"a\"}]}}",
	    PLATFORM_WORKS, "template.title: unknown placeholder {nope}; allowed: display_name, "
	    "company_name, share_url, invite_url, code, body, image_url");
	error_eq("{\"text\":\"a\",\"quick_replies\":[{\"type\":\"datetimepicker\","
	    "\"label\":\"a\",\"data\":\"d\",\"mode\":\"date\"}]}", PLATFORM_WORKS,
	    "quick_replies[0].type: datetimepicker is not available on LINE WORKS");
	error_eq("{\"text\":\"a\",\"quick_replies\":[{\"type\":\"clipboard\","
	    "\"label\":\"a\",\"clipboard_text\":\"b\"}]}", PLATFORM_WORKS,
	    "quick_replies[0].type: clipboard is not available on LINE WORKS");
	{
		char *s = repeat("あ", 2001);

		error_eq_json(json_pack("{s:s}", "text", s), PLATFORM_WORKS,
		    "text: too long: 2001 UTF-16 units, at most 2000");
		free(s);
	}
}

static void
test_placeholders_and_vars(void **state)
{
	struct msg_vars v = { .n = 0 };
	const char *const *p;
	char err[ERRLEN];
	json_t *spec = parse("[\"{code} {display_name}\",{\"text\":\"{code}{code}\","
	    "\"quick_replies\":[{\"type\":\"uri\",\"label\":\"{company_name}\","
	    "\"uri\":\"{invite_url}\"}]}]");
	struct msg_template *t = msg_template_new(spec, PLATFORM_LINE, names, err, sizeof(err));
	char name[16];
	size_t n = 0;

	(void)state;
	json_decref(spec);
	assert_non_null(t);
	for (p = msg_template_placeholders(t); *p != NULL; p++)
		n++;
	assert_int_equal(n, 4);
	p = msg_template_placeholders(t);
	assert_string_equal(p[0], "code");
	assert_string_equal(p[1], "display_name");
	assert_string_equal(p[2], "company_name");
	assert_string_equal(p[3], "invite_url");
	msg_template_free(t);

	msg_vars_set(&v, "a", "1");
	msg_vars_set(&v, "b", "2");
	msg_vars_set(&v, "a", "3");
	assert_int_equal(v.n, 2);
	assert_string_equal(v.value[0], "3");
	for (int i = 0; i < MSG_VARS_MAX + 5; i++) {
		static char store[MSG_VARS_MAX + 5][16];

		snprintf(store[i], sizeof(store[i]), "v%d", i);
		msg_vars_set(&v, store[i], "x");
	}
	assert_int_equal(v.n, MSG_VARS_MAX);
	snprintf(name, sizeof(name), "v%d", MSG_VARS_MAX);
	for (size_t i = 0; i < v.n; i++)
		assert_string_not_equal(v.name[i], name);
	/* NULL values render as "". */
	msg_vars_set(&v, "b", NULL);
	assert_null(v.value[1]);
}

static void
test_utf16_units(void **state)
{
	(void)state;
	assert_int_equal(utf16_units(""), 0);
	assert_int_equal(utf16_units(NULL), 0);
	assert_int_equal(utf16_units("hello"), 5);
	assert_int_equal(utf16_units("こんにちは"), 5);
	assert_int_equal(utf16_units("😀"), 2);
	assert_int_equal(utf16_units("a😀あ🍎"), 6);
	assert_int_equal(utf16_units("é"), 1);
	/* Invalid bytes count one each, as the U+FFFD they render as. */
	assert_int_equal(utf16_units("a\xff\xc3"), 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_emojis),
		cmocka_unit_test(test_sticker_image),
		cmocka_unit_test(test_templates),
		cmocka_unit_test(test_flex),
		cmocka_unit_test(test_quick_replies),
		cmocka_unit_test(test_several_messages),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_percent_encoding),
		cmocka_unit_test(test_cut),
		cmocka_unit_test(test_works),
		cmocka_unit_test(test_placeholders_and_vars),
		cmocka_unit_test(test_utf16_units),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
