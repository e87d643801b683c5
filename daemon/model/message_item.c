/* message_item.c: one message of a spec: which form it is, and the text (with LINE
 * emojis), sticker, image and template (buttons, confirm; LINE WORKS's button template)
 * forms with their quick replies. Flex is message_flex.c's. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "message_internal.h"

#define QUICK_REPLY_MAX	13
#define EMOJIS_MAX	20
#define LINE_BUTTONS_MAX 4
#define WORKS_BUTTONS_MAX 10

/* Finds the literal $ at UTF-16 position idx of the text as written (placeholders
 * counted as their own letters); 0 with where it lies, or -1. */
static int
emoji_locate(const struct slot *sl, size_t idx, struct emoji_ref *ref)
{
	const unsigned char *p = (const unsigned char *)sl->src;
	size_t pos = 0, i, end, k, u;
	uint32_t cp;

	for (size_t g = 0; g < sl->nseg; g++) {
		const struct seg *s = &sl->seg[g];
		size_t start = pos;

		if (s->var != -1) {
			pos += s->len;		/* "{name}" is ASCII */
			if (idx < pos)
				return -1;
			continue;
		}
		for (i = s->off, end = s->off + s->len; i < end; i += k) {
			k = utf8_next(p + i, end - i, &cp);
			u = utf8_cp_units(cp, 1);
			if (pos == idx) {
				if (p[i] != '$')
					return -1;
				ref->seg = g;
				ref->off = pos - start;
				return 0;
			}
			if (idx < pos + u)
				return -1;
			pos += u;
		}
	}
	return -1;
}

static int
emojis_add(struct cc *c, struct slot *sl, json_t *msg, json_t *spec)
{
	static const char *const known[] = { "index", "product_id", "emoji_id", NULL };
	size_t i, n, saved = c->pathlen;
	struct emoji_ref ref;
	json_t *arr, *e, *out, *v;
	json_int_t idx;

	if (c->platform == PLATFORM_WORKS)
		return msg_fail(c, "not available on LINE WORKS");
	if (!json_is_array(spec))
		return msg_fail(c, "must be a list of {index, product_id, emoji_id}");
	if ((n = json_array_size(spec)) == 0 || n > EMOJIS_MAX)
		return msg_fail(c, "%zu emojis; a text takes 1 to %d", n, EMOJIS_MAX);
	arr = json_array();
	json_object_set_new(msg, "emojis", arr);
	json_array_foreach(spec, i, e) {
		msg_path_push_index(c, i);
		if (!json_is_object(e))
			return msg_fail(c, "must be a mapping with index, product_id and emoji_id");
		if (msg_check_keys(c, e, known) == -1)
			return -1;
		out = json_object();
		json_array_append_new(arr, out);
		if (msg_field_put(c, out, "productId", e, "product_id", &msg_f_plain, 1,
		    NULL) == -1 ||
		    msg_field_put(c, out, "emojiId", e, "emoji_id", &msg_f_plain, 1,
		    NULL) == -1)
			return -1;
		msg_path_push_key(c, "index");
		v = json_object_get(e, "index");
		if (v == NULL)
			return msg_fail(c, "required");
		if (!json_is_integer(v) || (idx = json_integer_value(v)) < 0)
			return msg_fail(c, "must be the position of a $ in text, counted from 0");
		if (emoji_locate(sl, (size_t)idx, &ref) == -1)
			return msg_fail(c, "%" JSON_INTEGER_FORMAT " is not the position of a $ in "
			    "text (counted in UTF-16 units from 0)", idx);
		for (size_t k = 0; k < sl->nemoji; k++)
			if (sl->emoji[k].seg == ref.seg && sl->emoji[k].off == ref.off)
				return msg_fail(c, "%" JSON_INTEGER_FORMAT " is used twice", idx);
		sl->emoji = xrealloc(sl->emoji, (sl->nemoji + 1) * sizeof(*sl->emoji));
		sl->emoji[sl->nemoji++] = ref;
		json_object_set_new(out, "index", json_integer(idx));
		msg_path_pop(c, saved);
	}
	sl->enode = arr;
	return 0;
}

/* A text message; item is NULL when the spec was the bare string. */
static json_t *
text_new(struct cc *c, json_t *item, const char *text)
{
	const struct field *f = c->platform == PLATFORM_LINE ? &msg_f_line_text :
	    &msg_f_works_text;
	json_t *msg = json_object(), *node, *emojis = json_object_get(item, "emojis");
	size_t saved = c->pathlen;
	struct slot *sl = NULL;

	json_object_set_new(msg, "type", json_string("text"));
	if (item != NULL)
		msg_path_push_key(c, "text");
	if (*text == '\0') {
		msg_fail(c, "must not be empty");
		goto err;
	}
	if (msg_str_compile(c, text, f, 0, &sl) == -1)
		goto err;
	if ((node = json_string(text)) == NULL)
		fatalx("%s: string is not UTF-8", __func__);
	json_object_set_new(msg, "text", node);
	msg_path_pop(c, saved);
	if (emojis != NULL) {
		msg_path_push_key(c, "emojis");
		if (emojis_add(c, sl, msg, emojis) == -1)
			goto err;
		msg_path_pop(c, saved);
	}
	if (sl->nvars > 0)
		msg_slot_keep(c, sl, node);
	else
		msg_slot_free(sl);
	return msg;
err:
	msg_slot_free(sl);
	json_decref(msg);
	return NULL;
}

static json_t *
sticker_new(struct cc *c, json_t *spec)
{
	static const char *const known[] = { "package_id", "sticker_id", NULL };
	json_t *msg;

	if (!json_is_object(spec)) {
		msg_fail(c, "must be a mapping with package_id and sticker_id");
		return NULL;
	}
	if (msg_check_keys(c, spec, known) == -1)
		return NULL;
	msg = json_object();
	json_object_set_new(msg, "type", json_string("sticker"));
	if (msg_field_put(c, msg, "packageId", spec, "package_id", &msg_f_plain, 1,
	    NULL) == -1 ||
	    msg_field_put(c, msg, "stickerId", spec, "sticker_id", &msg_f_plain, 1,
	    NULL) == -1) {
		json_decref(msg);
		return NULL;
	}
	return msg;
}

static json_t *
image_new(struct cc *c, json_t *spec)
{
	static const char *const known[] = { "url", "preview_url", NULL };
	const struct field *f = c->platform == PLATFORM_LINE ? &msg_f_line_image :
	    &msg_f_works_image;
	const char *url, *preview;
	size_t saved = c->pathlen;
	json_t *msg;

	if (!json_is_object(spec)) {
		msg_fail(c, "must be a mapping with url (and preview_url)");
		return NULL;
	}
	if (msg_check_keys(c, spec, known) == -1)
		return NULL;
	msg = json_object();
	json_object_set_new(msg, "type", json_string("image"));
	if (msg_field_put(c, msg, "originalContentUrl", spec, "url", f, 1, &url) == -1 ||
	    msg_field_put(c, msg, "previewImageUrl", spec, "preview_url", f, 0, &preview) == -1)
		goto err;
	if (preview == NULL) {
		msg_path_push_key(c, "url");
		if (msg_put_str(c, msg, "previewImageUrl", url, f, 0) == -1)
			goto err;
		msg_path_pop(c, saved);
	}
	return msg;
err:
	json_decref(msg);
	return NULL;
}

static json_t *
template_new(struct cc *c, json_t *spec)
{
	static const char *const known[] = { "type", "alt_text", "title", "text",
	    "thumbnail_url", "actions", NULL };
	const char *type, *title = NULL, *thumb = NULL, *text, *alt;
	const struct field *tf;
	size_t saved = c->pathlen;
	json_t *msg = NULL, *tmpl = NULL, *actions = NULL;
	int confirm;

	if (!json_is_object(spec)) {
		msg_fail(c, "must be a mapping with type, text and actions");
		return NULL;
	}
	if (msg_check_keys(c, spec, known) == -1)
		return NULL;
	msg_path_push_key(c, "type");
	if (msg_spec_str(c, spec, "type", 1, &type) == -1)
		return NULL;
	if (strcmp(type, "buttons") != 0 && strcmp(type, "confirm") != 0) {
		msg_fail(c, "must be buttons or confirm");
		return NULL;
	}
	confirm = strcmp(type, "confirm") == 0;
	if (confirm && c->platform == PLATFORM_WORKS) {
		msg_fail(c, "confirm is not available on LINE WORKS; use buttons");
		return NULL;
	}
	msg_path_pop(c, saved);
	if (confirm || c->platform == PLATFORM_WORKS) {
		static const char *const no[] = { "thumbnail_url", "title", NULL };

		/* LINE WORKS's button template has no title: it becomes the first line. */
		for (const char *const *k = no; *k != NULL; k++) {
			if (!confirm && strcmp(*k, "title") == 0)
				continue;
			if (json_object_get(spec, *k) != NULL) {
				msg_path_push_key(c, *k);
				msg_fail(c, confirm ? "not used by a confirm template" :
				    "not available on LINE WORKS");
				return NULL;
			}
		}
	}

	msg_path_push_key(c, "actions");
	if (json_object_get(spec, "actions") == NULL) {
		msg_fail(c, "required");
		return NULL;
	}
	if (c->platform == PLATFORM_WORKS)
		actions = msg_actions_new(c, json_object_get(spec, "actions"), 1,
		    WORKS_BUTTONS_MAX, "buttons", 0);
	else if (confirm)
		actions = msg_actions_new(c, json_object_get(spec, "actions"), 2, 2,
		    "confirm", 0);
	else
		actions = msg_actions_new(c, json_object_get(spec, "actions"), 1,
		    LINE_BUTTONS_MAX, "buttons", 0);
	if (actions == NULL)
		return NULL;
	msg_path_pop(c, saved);

	if (c->platform == PLATFORM_WORKS) {
		/* LINE WORKS has no alt text; it is read only so a mistyped one still
		 * fails. */
		msg = json_object();
		json_object_set_new(msg, "type", json_string("button_template"));
		msg_path_push_key(c, "alt_text");
		if (msg_spec_str(c, spec, "alt_text", 0, &alt) == -1)
			goto err;
		msg_path_pop(c, saved);
		if (msg_field_check(c, spec, "title", &msg_f_title, 0, &title) == -1)
			goto err;
		if (title == NULL) {
			if (msg_field_put(c, msg, "contentText", spec, "text",
			    &msg_f_works_content, 1, NULL) == -1)
				goto err;
		} else {
			char *both;
			int rc;

			if (msg_field_check(c, spec, "text", &msg_f_works_content, 1, &text) == -1)
				goto err;
			both = xasprintf("%s\n%s", title, text);
			msg_path_push_key(c, "text");
			rc = msg_put_str(c, msg, "contentText", both, &msg_f_works_content, 0);
			free(both);
			if (rc == -1)
				goto err;
			msg_path_pop(c, saved);
		}
		json_object_set_new(msg, "actions", actions);
		return msg;
	}

	msg = json_object();
	tmpl = json_object();
	json_object_set_new(msg, "type", json_string("template"));
	json_object_set_new(tmpl, "type", json_string(type));
	if (msg_field_put(c, tmpl, "title", spec, "title", &msg_f_title, 0, &title) == -1 ||
	    msg_field_put(c, tmpl, "thumbnailImageUrl", spec, "thumbnail_url",
	    &msg_f_line_image, 0, &thumb) == -1)
		goto err;
	tf = confirm ? &msg_f_confirm_text :
	    title != NULL || thumb != NULL ? &msg_f_buttons_text_image : &msg_f_buttons_text;
	if (msg_field_put(c, tmpl, "text", spec, "text", tf, 1, &text) == -1)
		goto err;
	json_object_set_new(tmpl, "actions", actions);
	actions = NULL;
	msg_path_push_key(c, "alt_text");
	if (msg_spec_str(c, spec, "alt_text", 0, &alt) == -1)
		goto err;
	if (alt != NULL && *alt == '\0') {
		msg_fail(c, "must not be empty");
		goto err;
	}
	if (msg_put_str(c, msg, "altText", alt != NULL ? alt : text, &msg_f_alt,
	    alt == NULL) == -1)
		goto err;
	msg_path_pop(c, saved);
	json_object_set_new(msg, "template", tmpl);
	return msg;
err:
	json_decref(actions);
	json_decref(tmpl);
	json_decref(msg);
	return NULL;
}

int
msg_item_add(struct cc *c, json_t *item, json_t *out)
{
	static const char *const known[] = { "text", "emojis", "sticker", "image", "template",
	    "flex", "quick_replies", NULL };
	static const char *const forms[] = { "text", "sticker", "image", "template", "flex",
	    NULL };
	const char *form = NULL, *text;
	size_t saved = c->pathlen;
	json_t *msg = NULL, *qr, *v;

	if (json_is_string(item)) {
		if ((msg = text_new(c, NULL, json_string_value(item))) == NULL)
			return -1;
		json_array_append_new(out, msg);
		return 0;
	}
	if (!json_is_object(item))
		return msg_fail(c, "must be text, or a mapping with one of text, sticker, image, "
		    "template, flex");
	if (msg_check_keys(c, item, known) == -1)
		return -1;
	for (const char *const *f = forms; *f != NULL; f++) {
		if (json_object_get(item, *f) == NULL)
			continue;
		if (form != NULL)
			return msg_fail(c, "has both %s and %s; one message holds one of them",
			    form, *f);
		form = *f;
	}
	if (form == NULL)
		return msg_fail(c, "needs one of text, sticker, image, template, flex");
	if (strcmp(form, "text") != 0 && json_object_get(item, "emojis") != NULL) {
		msg_path_push_key(c, "emojis");
		return msg_fail(c, "go with text only");
	}
	if (strcmp(form, "text") == 0) {
		msg_path_push_key(c, "text");
		if (msg_spec_str(c, item, "text", 1, &text) == -1)
			return -1;
		msg_path_pop(c, saved);
		msg = text_new(c, item, text);
	} else {
		msg_path_push_key(c, form);
		v = json_object_get(item, form);
		if (strcmp(form, "sticker") == 0)
			msg = sticker_new(c, v);
		else if (strcmp(form, "image") == 0)
			msg = image_new(c, v);
		else if (strcmp(form, "template") == 0)
			msg = template_new(c, v);
		else
			msg = msg_flex_new(c, v);
		msg_path_pop(c, saved);
	}
	if (msg == NULL)
		return -1;
	if ((v = json_object_get(item, "quick_replies")) != NULL) {
		msg_path_push_key(c, "quick_replies");
		if ((qr = msg_actions_new(c, v, 1, QUICK_REPLY_MAX, "quick replies", 1)) == NULL) {
			json_decref(msg);
			return -1;
		}
		json_object_set_new(msg, "quickReply", json_pack("{s:o}", "items", qr));
		msg_path_pop(c, saved);
	}
	json_array_append_new(out, msg);
	return 0;
}
