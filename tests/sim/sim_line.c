/* sim_line.c: the LINE Messaging API as the simulator plays it: bearer auth, reply
 * (single-use tokens), push and multicast (X-Line-Retry-Key, 409 on reuse), profiles,
 * and rich menus with their content, default, per-user links and aliases, all kept in
 * memory. Errors use LINE's {"message", "details"} shape. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>

#include "sim.h"

#define MAX_BODY		(2u << 20)	/* LINE answers 413 above 2 MB */
#define MAX_MESSAGES		5
#define MAX_TEXT_UTF16		5000
#define MAX_MULTICAST_TO	500
#define DEFAULT_DISPLAY_NAME	"テストユーザー"

typedef void (*line_handler)(struct sim_req *, char caps[][SIM_SEG_MAX]);

/* --------------------------------------------------------------- validation */

/* Appends one {"message", "property"} to details; the property is base, or
 * "base[i]" / "base[i].field" when i >= 0. */
static void
detail(json_t *details, const char *message, const char *base, long i, const char *field)
{
	char prop[96];

	if (i < 0)
		snprintf(prop, sizeof(prop), "%s", base);
	else
		snprintf(prop, sizeof(prop), "%s[%ld]%s%s", base, i, field ? "." : "",
		    field ? field : "");
	json_array_append_new(details, json_pack("{s:s, s:s}", "message", message,
	    "property", prop));
}

/* Answers 400 with details if there are any; returns -1 then. */
static int
details_reply(struct sim_req *rq, json_t *details)
{
	char msg[64];

	if (json_array_size(details) == 0) {
		json_decref(details);
		return 0;
	}
	snprintf(msg, sizeof(msg), "The request body has %zu error(s)",
	    json_array_size(details));
	serve_json(rq, 400, json_pack("{s:s, s:o}", "message", msg, "details", details));
	return -1;
}

static void
check_messages(json_t *msgs, json_t *details)
{
	static const char *types[] = { "text", "textV2", "sticker", "image", "video",
	    "audio", "location", "imagemap", "template", "flex", NULL };
	json_t *m;
	size_t i;

	if (!json_is_array(msgs) || json_array_size(msgs) < 1 ||
	    json_array_size(msgs) > MAX_MESSAGES) {
		detail(details, "Size must be between 1 and 5", "messages", -1, NULL);
		return;
	}
	json_array_foreach(msgs, i, m) {
		const char *type = json_string_value(json_object_get(m, "type"));
		const char *text = json_string_value(json_object_get(m, "text"));
		int known = 0;

		if (!json_is_object(m)) {
			detail(details, "Must be an object", "messages", (long)i, NULL);
			continue;
		}
		for (int t = 0; type != NULL && types[t] != NULL; t++)
			known |= strcmp(type, types[t]) == 0;
		if (!known) {
			detail(details, "Must be one of the following values: [text, textV2, "
			    "sticker, image, video, audio, location, imagemap, template, flex]",
			    "messages", (long)i, "type");
			continue;
		}
		if (strcmp(type, "text") != 0 && strcmp(type, "textV2") != 0)
			continue;
		if (text == NULL || text[0] == '\0')
			detail(details, "May not be empty", "messages", (long)i, "text");
		else if (util_utf16_len(text) > MAX_TEXT_UTF16)
			detail(details, "Length must be between 0 and 5000", "messages",
			    (long)i, "text");
	}
}

/* "to" of a push: a user, group or room id. */
static int
good_target(const char *to, int users_only)
{
	if (to == NULL || to[0] == '\0' || strlen(to) > 64)
		return 0;
	return to[0] == 'U' || (!users_only && (to[0] == 'C' || to[0] == 'R'));
}

/* The UUID hex form LINE requires for X-Line-Retry-Key. */
static int
good_retry_key(const char *k)
{
	size_t i;

	if (strlen(k) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? k[i] != '-' : strchr("0123456789abcdefABCDEF", k[i]) == NULL)
			return 0;
	}
	return 1;
}

static json_t *
sent_messages(size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		char id[19], qt[22];

		util_digits(id, 18);
		qt[0] = 'q';
		util_base62(qt + 1, 20);
		json_array_append_new(a, json_pack("{s:s, s:s}", "id", id, "quoteToken", qt));
	}
	return a;
}

/* ------------------------------------------------------------------ sending */

static void
reply(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	struct sim *s = rq->sim;
	json_t *j, *details = json_array();
	const char *token;

	(void)caps;
	if (serve_input_header(rq, "X-Line-Retry-Key") != NULL) {
		json_decref(details);
		serve_error(rq, 400, "The retry key is not supported by this API");
		return;
	}
	if ((j = serve_body_json(rq, SIM_MAX_BODY)) == NULL) {
		json_decref(details);
		return;
	}
	token = json_string_value(json_object_get(j, "replyToken"));
	if (token == NULL || token[0] == '\0' || strlen(token) > 256)
		detail(details, "May not be empty", "replyToken", -1, NULL);
	check_messages(json_object_get(j, "messages"), details);
	if (details_reply(rq, details) == -1)
		goto done;
	if (json_object_get(s->reply_tokens, token) != NULL) {
		serve_error(rq, 400, "Invalid reply token");
		goto done;
	}
	s->keys_forgotten += (uint64_t)util_map_put(s->reply_tokens, token, json_true(),
	    SIM_MAX_KEYS);
	s->line_delivered++;
	serve_json(rq, 200, json_pack("{s:o}", "sentMessages",
	    sent_messages(json_array_size(json_object_get(j, "messages")))));
done:
	json_decref(j);
}

/* push and multicast: the same retry-key rules; only push returns sentMessages. */
static void
send_keyed(struct sim_req *rq, int multicast)
{
	struct sim *s = rq->sim;
	const char *key = serve_input_header(rq, "X-Line-Retry-Key");
	json_t *j, *prev, *to, *sent, *details;
	size_t i;

	if (key != NULL && !good_retry_key(key)) {
		serve_error(rq, 400, "The value of the X-Line-Retry-Key header must be a UUID "
		    "in hex form");
		return;
	}
	if (key != NULL && (prev = json_object_get(s->retry_keys, key)) != NULL) {
		json_t *body = json_pack("{s:s}", "message", "The retry key is already accepted");

		if (json_object_get(prev, "sentMessages") != NULL)
			json_object_set(body, "sentMessages", json_object_get(prev,
			    "sentMessages"));
		serve_header(rq, "X-Line-Accepted-Request-Id", json_string_value(
		    json_object_get(prev, "request_id")));
		serve_json(rq, 409, body);
		return;
	}
	if ((j = serve_body_json(rq, SIM_MAX_BODY)) == NULL)
		return;
	details = json_array();
	to = json_object_get(j, "to");
	if (multicast) {
		if (!json_is_array(to) || json_array_size(to) < 1 ||
		    json_array_size(to) > MAX_MULTICAST_TO) {
			detail(details, "Size must be between 1 and 500", "to", -1, NULL);
		} else {
			json_t *u;

			json_array_foreach(to, i, u)
				if (!good_target(json_string_value(u), 1))
					detail(details, "Invalid user ID", "to", (long)i, NULL);
		}
	} else if (!good_target(json_string_value(to), 0)) {
		detail(details, "The property, 'to', in the request body is invalid", "to", -1,
		    NULL);
	}
	check_messages(json_object_get(j, "messages"), details);
	if (details_reply(rq, details) == -1)
		goto done;
	s->line_delivered++;
	/* LINE counts the allowance per recipient; replies are free. */
	s->quota_used += multicast ? json_array_size(to) : 1;
	sent = multicast ? NULL : sent_messages(json_array_size(json_object_get(j,
	    "messages")));
	if (key != NULL) {
		json_t *entry = json_pack("{s:s, s:s}", "request_id", rq->request_id, "kind",
		    multicast ? "multicast" : "push");

		if (sent != NULL)
			json_object_set(entry, "sentMessages", sent);
		s->keys_forgotten += (uint64_t)util_map_put(s->retry_keys, key, entry,
		    SIM_MAX_KEYS);
	}
	serve_json(rq, 200, sent != NULL ? json_pack("{s:o}", "sentMessages", sent) :
	    json_object());
done:
	json_decref(j);
}

static void
push(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	(void)caps;
	send_keyed(rq, 0);
}

static void
multicast(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	(void)caps;
	send_keyed(rq, 1);
}

/* GET /v2/bot/message/quota: the value POST /_sim/quota set, else "none". */
static void
quota(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	(void)caps;
	if (rq->sim->quota_limit < 0)
		serve_json(rq, 200, json_pack("{s:s}", "type", "none"));
	else
		serve_json(rq, 200, json_pack("{s:s, s:I}", "type", "limited", "value",
		    (json_int_t)rq->sim->quota_limit));
}

/* GET /v2/bot/message/quota/consumption: recipients of push and multicast so far. */
static void
quota_consumption(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	(void)caps;
	serve_json(rq, 200, json_pack("{s:I}", "totalUsage",
	    (json_int_t)rq->sim->quota_used));
}

static void
profile(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	json_t *p = json_object_get(rq->sim->profiles, caps[0]), *out;
	const char *name = json_string_value(json_object_get(p, "displayName"));
	char hash[65], *pic;
	static const char *extra[] = { "pictureUrl", "language", "statusMessage", NULL };

	if (json_is_true(json_object_get(p, "missing"))) {
		serve_error(rq, 404, "Not found");
		return;
	}
	sha256_hex("", 0, caps[0], strlen(caps[0]), hash);
	pic = xasprintf("https://profile.line-scdn.net/0h%.32s", hash);
	out = json_pack("{s:s, s:s, s:s, s:s}", "userId", caps[0], "displayName",
	    name != NULL ? name : DEFAULT_DISPLAY_NAME, "pictureUrl", pic, "language", "ja");
	for (int i = 0; extra[i] != NULL; i++)
		if (json_is_string(json_object_get(p, extra[i])))
			json_object_set(out, extra[i], json_object_get(p, extra[i]));
	free(pic);
	serve_json(rq, 200, out);
}

/* --------------------------------------------------------------- rich menus */

static int
int_in(json_t *o, const char *key, long lo, long hi, long *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return 0;
	*out = (long)json_integer_value(v);
	return 1;
}

/* Checks a rich menu object (LINE's rules, section 7.1 of the digest) into details. */
static void
menu_check(json_t *m, json_t *details)
{
	json_t *size = json_object_get(m, "size"), *areas = json_object_get(m, "areas"), *a;
	const char *name = json_string_value(json_object_get(m, "name"));
	const char *bar = json_string_value(json_object_get(m, "chatBarText"));
	long w = 0, h = 0;
	size_t i;

	if (!int_in(size, "width", 800, 2500, &w) || !int_in(size, "height", 250, 100000,
	    &h) || w * 100 < h * 145)
		detail(details, "width must be 800..2500, height at least 250, and "
		    "width/height at least 1.45", "size", -1, NULL);
	if (!json_is_boolean(json_object_get(m, "selected")))
		detail(details, "May not be empty", "selected", -1, NULL);
	if (name == NULL || name[0] == '\0' || util_codepoints(name) > 300)
		detail(details, "Length must be between 1 and 300", "name", -1, NULL);
	if (bar == NULL || bar[0] == '\0' || util_codepoints(bar) > 14)
		detail(details, "Length must be between 1 and 14", "chatBarText", -1, NULL);
	if (!json_is_array(areas) || json_array_size(areas) > 20) {
		detail(details, "Size must be between 0 and 20", "areas", -1, NULL);
		return;
	}
	json_array_foreach(areas, i, a) {
		json_t *b = json_object_get(a, "bounds"), *act = json_object_get(a, "action");
		long x, y, bw, bh;

		if (!int_in(b, "x", 0, 100000, &x) || !int_in(b, "y", 0, 100000, &y) ||
		    !int_in(b, "width", 1, 100000, &bw) || !int_in(b, "height", 1, 100000,
		    &bh) || (w > 0 && (x + bw > w || y + bh > h)))
			detail(details, "Bounds must lie inside the rich menu", "areas",
			    (long)i, "bounds");
		if (!json_is_string(json_object_get(act, "type")))
			detail(details, "May not be empty", "areas", (long)i, "action");
	}
}

/* The menu as LINE returns it: richMenuId first, then the five fields. */
static json_t *
menu_public(const char *id, json_t *m)
{
	return json_pack("{s:s, s:O, s:O, s:O, s:O, s:O}", "richMenuId", id,
	    "size", json_object_get(m, "size"), "selected", json_object_get(m, "selected"),
	    "name", json_object_get(m, "name"), "chatBarText", json_object_get(m,
	    "chatBarText"), "areas", json_object_get(m, "areas"));
}

static void
menu_validate(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	json_t *j, *details;

	(void)caps;
	if ((j = serve_body_json(rq, SIM_MAX_STATE_BODY)) == NULL)
		return;
	details = json_array();
	menu_check(j, details);
	if (details_reply(rq, details) == 0)
		serve_json(rq, 200, json_object());
	json_decref(j);
}

static void
menu_create(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	struct sim *s = rq->sim;
	json_t *j, *details;
	char id[64] = "richmenu-";

	(void)caps;
	if ((j = serve_body_json(rq, SIM_MAX_STATE_BODY)) == NULL)
		return;
	details = json_array();
	menu_check(j, details);
	if (details_reply(rq, details) == -1)
		goto done;
	if (json_object_size(s->menus) >= SIM_MAX_MENUS) {
		serve_error(rq, 400, "The number of rich menus has reached the upper limit");
		goto done;
	}
	util_random_hex(id + strlen(id), 32);
	json_object_set_new(s->menus, id, json_pack("{s:o, s:n, s:i}", "menu",
	    menu_public(id, j), "image", "image_bytes", 0));
	serve_json(rq, 200, json_pack("{s:s}", "richMenuId", id));
done:
	json_decref(j);
}

static void
menu_list(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	json_t *a = json_array(), *v;
	const char *k;

	(void)caps;
	json_object_foreach(rq->sim->menus, k, v)
		json_array_append(a, json_object_get(v, "menu"));
	serve_json(rq, 200, json_pack("{s:o}", "richmenus", a));
}

static void
menu_get(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	json_t *e = json_object_get(rq->sim->menus, caps[0]);

	if (e == NULL)
		serve_error(rq, 404, "Not found");
	else
		serve_json(rq, 200, json_incref(json_object_get(e, "menu")));
}

static void
menu_delete(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	struct sim *s = rq->sim;
	const char *k;
	json_t *v;
	void *it;

	if (json_object_get(s->menus, caps[0]) == NULL) {
		serve_error(rq, 404, "Not found");
		return;
	}
	json_object_del(s->menus, caps[0]);
	if (s->default_menu != NULL && strcmp(s->default_menu, caps[0]) == 0) {
		free(s->default_menu);
		s->default_menu = NULL;
	}
	/* Users linked to it fall back to the default menu, as on LINE. */
	json_object_foreach_safe(s->user_menus, it, k, v) {
		if (strcmp(json_string_value(v), caps[0]) == 0)
			json_object_del(s->user_menus, k);
	}
	serve_json(rq, 200, json_object());
}

/* The content type without parameters ("image/png; x=y" -> "image/png"). */
static int
content_type_is(const char *ct, const char *want)
{
	size_t n = strlen(want);

	return ct != NULL && strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' ||
	    ct[n] == ';' || ct[n] == ' ');
}

static void
menu_content(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	json_t *e = json_object_get(rq->sim->menus, caps[0]);
	const char *ct = serve_input_header(rq, "Content-Type");
	const unsigned char *b = (const unsigned char *)rq->body;
	int png = content_type_is(ct, "image/png"), jpeg = content_type_is(ct, "image/jpeg");
	char msg[160];

	if (e == NULL) {
		serve_error(rq, 404, "Not found");
		return;
	}
	if (!png && !jpeg) {
		snprintf(msg, sizeof(msg), "The content type, '%.60s', is not supported",
		    ct != NULL ? ct : "");
		serve_error(rq, 415, msg);
		return;
	}
	if (rq->body_len > SIM_MAX_MENU_IMAGE) {
		serve_error(rq, 400, "The image size must be 1 MB or less");
		return;
	}
	if ((png && (rq->body_len < 24 || memcmp(b, "\x89PNG\r\n\x1a\n", 8) != 0)) ||
	    (jpeg && (rq->body_len < 3 || b[0] != 0xff || b[1] != 0xd8 || b[2] != 0xff))) {
		serve_error(rq, 400, "The image is not a valid PNG or JPEG file");
		return;
	}
	if (png) {
		/* PNG's IHDR holds the size right after the signature; JPEG's is not checked. */
		unsigned long w = (unsigned long)b[16] << 24 | (unsigned long)b[17] << 16 |
		    (unsigned long)b[18] << 8 | b[19];
		unsigned long h = (unsigned long)b[20] << 24 | (unsigned long)b[21] << 16 |
		    (unsigned long)b[22] << 8 | b[23];

		if (w < 800 || w > 2500 || h < 250 || w * 100 < h * 145) {
			serve_error(rq, 400, "The image size is not allowed for richmenu");
			return;
		}
	}
	if (!json_is_null(json_object_get(e, "image"))) {
		serve_error(rq, 400, "An image has already been uploaded to the richmenu");
		return;
	}
	json_object_set_new(e, "image", json_string(png ? "image/png" : "image/jpeg"));
	json_object_set_new(e, "image_bytes", json_integer((json_int_t)rq->body_len));
	serve_json(rq, 200, json_object());
}

/* A menu a user or alias may point to: it exists and has its image. Answers the
 * error and returns -1 otherwise. */
static int
menu_usable(struct sim_req *rq, const char *id, int not_found_status)
{
	json_t *e = json_object_get(rq->sim->menus, id);

	if (e == NULL) {
		serve_error(rq, not_found_status, not_found_status == 404 ? "Not found" :
		    "richmenu not found");
		return -1;
	}
	if (json_is_null(json_object_get(e, "image"))) {
		serve_error(rq, 400, "must upload richmenu image before applying it to user");
		return -1;
	}
	return 0;
}

static void
default_set(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	if (menu_usable(rq, caps[0], 404) == -1)
		return;
	free(rq->sim->default_menu);
	rq->sim->default_menu = xstrdup(caps[0]);
	serve_json(rq, 200, json_object());
}

static void
default_get(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	(void)caps;
	if (rq->sim->default_menu == NULL)
		serve_error(rq, 404, "no default richmenu");
	else
		serve_json(rq, 200, json_pack("{s:s}", "richMenuId", rq->sim->default_menu));
}

static void
default_clear(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	(void)caps;
	free(rq->sim->default_menu);
	rq->sim->default_menu = NULL;
	serve_json(rq, 200, json_object());
}

static void
user_link(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	struct sim *s = rq->sim;

	if (menu_usable(rq, caps[1], 404) == -1)
		return;
	s->keys_forgotten += (uint64_t)util_map_put(s->user_menus, caps[0],
	    json_string(caps[1]), SIM_MAX_KEYS);
	serve_json(rq, 200, json_object());
}

static void
user_get(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	json_t *v = json_object_get(rq->sim->user_menus, caps[0]);

	if (v == NULL)
		serve_error(rq, 404, "the user has no richmenu");
	else
		serve_json(rq, 200, json_pack("{s:O}", "richMenuId", v));
}

static void
user_unlink(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	json_object_del(rq->sim->user_menus, caps[0]);
	serve_json(rq, 200, json_object());
}

static int
good_alias_id(const char *a)
{
	size_t n = strlen(a);

	return n >= 1 && n <= 32 && strspn(a, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static void
alias_create(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	struct sim *s = rq->sim;
	json_t *j, *details;
	const char *alias, *menu;

	(void)caps;
	if ((j = serve_body_json(rq, SIM_MAX_STATE_BODY)) == NULL)
		return;
	details = json_array();
	alias = json_string_value(json_object_get(j, "richMenuAliasId"));
	menu = json_string_value(json_object_get(j, "richMenuId"));
	if (alias == NULL || !good_alias_id(alias))
		detail(details, "must match ^[a-z0-9_-]{1,32}$", "richMenuAliasId", -1, NULL);
	if (menu == NULL)
		detail(details, "May not be empty", "richMenuId", -1, NULL);
	if (details_reply(rq, details) == -1 || menu_usable(rq, menu, 400) == -1)
		goto done;
	if (json_object_get(s->aliases, alias) != NULL) {
		serve_error(rq, 400, "conflict richmenu alias id");
		goto done;
	}
	if (json_object_size(s->aliases) >= SIM_MAX_ALIASES) {
		serve_error(rq, 400, "The number of richmenu aliases has reached the upper limit");
		goto done;
	}
	json_object_set_new(s->aliases, alias, json_string(menu));
	serve_json(rq, 200, json_object());
done:
	json_decref(j);
}

static void
alias_update(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	struct sim *s = rq->sim;
	json_t *j;
	const char *menu;

	if (json_object_get(s->aliases, caps[0]) == NULL) {
		serve_error(rq, 404, "richmenu alias not found");
		return;
	}
	if ((j = serve_body_json(rq, SIM_MAX_STATE_BODY)) == NULL)
		return;
	menu = json_string_value(json_object_get(j, "richMenuId"));
	if (menu == NULL) {
		json_t *details = json_array();

		detail(details, "May not be empty", "richMenuId", -1, NULL);
		details_reply(rq, details);
	} else if (menu_usable(rq, menu, 400) == 0) {
		json_object_set_new(s->aliases, caps[0], json_string(menu));
		serve_json(rq, 200, json_object());
	}
	json_decref(j);
}

static void
alias_list(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	json_t *a = json_array(), *v;
	const char *k;

	(void)caps;
	json_object_foreach(rq->sim->aliases, k, v)
		json_array_append_new(a, json_pack("{s:s, s:O}", "richMenuAliasId", k,
		    "richMenuId", v));
	serve_json(rq, 200, json_pack("{s:o}", "aliases", a));
}

static void
alias_get(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	json_t *v = json_object_get(rq->sim->aliases, caps[0]);

	if (v == NULL)
		serve_error(rq, 404, "richmenu alias not found");
	else
		serve_json(rq, 200, json_pack("{s:s, s:O}", "richMenuAliasId", caps[0],
		    "richMenuId", v));
}

static void
alias_delete(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	if (json_object_get(rq->sim->aliases, caps[0]) == NULL) {
		serve_error(rq, 404, "richmenu alias not found");
		return;
	}
	json_object_del(rq->sim->aliases, caps[0]);
	serve_json(rq, 200, json_object());
}

/* ------------------------------------------------------------------ chat */

/* Mark as read: LINE takes the token a message event carried (markAsReadMode manual). */
static void
mark_read(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	json_t *j;
	const char *token;

	(void)caps;
	if ((j = serve_body_json(rq, SIM_MAX_BODY)) == NULL)
		return;
	token = json_string_value(json_object_get(j, "markAsReadToken"));
	if (token == NULL || token[0] == '\0')
		serve_error(rq, 400, "An invalid markAsReadToken is specified.");
	else
		serve_json(rq, 200, json_object());
	json_decref(j);
}

/* The loading animation: a user id as chatId and 5 to 60 seconds in steps of 5. */
static void
loading_start(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	json_t *j;
	const char *chat;
	json_int_t secs = 20;
	json_t *v;

	(void)caps;
	if ((j = serve_body_json(rq, SIM_MAX_BODY)) == NULL)
		return;
	chat = json_string_value(json_object_get(j, "chatId"));
	if ((v = json_object_get(j, "loadingSeconds")) != NULL)
		secs = json_is_integer(v) ? json_integer_value(v) : -1;
	if (chat == NULL || chat[0] != 'U')
		serve_error(rq, 400, "The property, 'chatId', in the request body is invalid");
	else if (secs < 5 || secs > 60 || secs % 5 != 0)
		serve_error(rq, 400, "The property, 'loadingSeconds', in the request body is "
		    "invalid");
	else
		serve_json(rq, 202, json_object());
	json_decref(j);
}

/* ------------------------------------------------------------------ routing */

static const struct {
	enum evhttp_cmd_type	 method;
	const char		*pattern;
	int			 json_body;	/* needs Content-Type: application/json */
	line_handler		 fn;
} routes[] = {
	/* Fixed paths before the patterns they would also match. */
	{ EVHTTP_REQ_POST, "/v2/bot/message/reply", 1, reply },
	{ EVHTTP_REQ_POST, "/v2/bot/message/push", 1, push },
	{ EVHTTP_REQ_POST, "/v2/bot/message/multicast", 1, multicast },
	{ EVHTTP_REQ_POST, "/v2/bot/chat/markAsRead", 1, mark_read },
	{ EVHTTP_REQ_POST, "/v2/bot/chat/loading/start", 1, loading_start },
	{ EVHTTP_REQ_GET, "/v2/bot/message/quota", 0, quota },
	{ EVHTTP_REQ_GET, "/v2/bot/message/quota/consumption", 0, quota_consumption },
	{ EVHTTP_REQ_GET, "/v2/bot/profile/*", 0, profile },
	{ EVHTTP_REQ_POST, "/v2/bot/richmenu", 1, menu_create },
	{ EVHTTP_REQ_POST, "/v2/bot/richmenu/validate", 1, menu_validate },
	{ EVHTTP_REQ_GET, "/v2/bot/richmenu/list", 0, menu_list },
	{ EVHTTP_REQ_POST, "/v2/bot/richmenu/alias", 1, alias_create },
	{ EVHTTP_REQ_GET, "/v2/bot/richmenu/alias/list", 0, alias_list },
	{ EVHTTP_REQ_GET, "/v2/bot/richmenu/alias/*", 0, alias_get },
	{ EVHTTP_REQ_POST, "/v2/bot/richmenu/alias/*", 1, alias_update },
	{ EVHTTP_REQ_DELETE, "/v2/bot/richmenu/alias/*", 0, alias_delete },
	{ EVHTTP_REQ_POST, "/v2/bot/richmenu/*/content", 0, menu_content },
	{ EVHTTP_REQ_GET, "/v2/bot/richmenu/*", 0, menu_get },
	{ EVHTTP_REQ_DELETE, "/v2/bot/richmenu/*", 0, menu_delete },
	{ EVHTTP_REQ_POST, "/v2/bot/user/all/richmenu/*", 0, default_set },
	{ EVHTTP_REQ_GET, "/v2/bot/user/all/richmenu", 0, default_get },
	{ EVHTTP_REQ_DELETE, "/v2/bot/user/all/richmenu", 0, default_clear },
	{ EVHTTP_REQ_POST, "/v2/bot/user/*/richmenu/*", 0, user_link },
	{ EVHTTP_REQ_GET, "/v2/bot/user/*/richmenu", 0, user_get },
	{ EVHTTP_REQ_DELETE, "/v2/bot/user/*/richmenu", 0, user_unlink },
};

/* Bearer auth as LINE answers it; any non-empty token passes. */
static int
authorized(struct sim_req *rq)
{
	const char *auth = serve_input_header(rq, "Authorization");

	/* evhttp trims trailing blanks: "Bearer " arrives as "Bearer". */
	if (auth == NULL || strncmp(auth, "Bearer", 6) != 0 || (auth[6] != ' ' &&
	    auth[6] != '\0')) {
		serve_error(rq, 401, "Authorization header required. Must follow the scheme, "
		    "'Authorization: Bearer <ACCESS TOKEN>'");
		return 0;
	}
	if (auth[6] == '\0' || auth[7] == '\0' || strchr(auth + 7, ' ') != NULL) {
		serve_error(rq, 401, NULL);
		return 0;
	}
	return 1;
}

void
line_route(struct sim_req *rq)
{
	char caps[2][SIM_SEG_MAX];
	int path_known = 0;
	size_t i;

	if (strncmp(rq->path, "/v2/", 4) != 0) {
		serve_error(rq, 404, "Not found");
		return;
	}
	if (!authorized(rq))
		return;
	if (rq->body_len > MAX_BODY) {
		serve_error(rq, 413, NULL);
		return;
	}
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!util_path_match(rq->path, routes[i].pattern, caps, 2))
			continue;
		path_known = 1;
		if (routes[i].method != (enum evhttp_cmd_type)rq->method)
			continue;
		if (routes[i].json_body && !content_type_is(serve_input_header(rq,
		    "Content-Type"), "application/json")) {
			char msg[160];

			snprintf(msg, sizeof(msg), "The content type, '%.60s', is not supported",
			    serve_input_header(rq, "Content-Type") ?
			    serve_input_header(rq, "Content-Type") : "");
			serve_error(rq, 415, msg);
			return;
		}
		routes[i].fn(rq, caps);
		return;
	}
	if (path_known)
		serve_error(rq, 405, "Method Not Allowed");
	else
		serve_error(rq, 404, "Not found");
}
