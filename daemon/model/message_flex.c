/* message_flex.c: flex messages (LINE only): a bubble or carousel written as YAML or
 * pasted as JSON from LINE's Flex Message Simulator, checked against LINE's size limits,
 * with {placeholders} allowed in any string (as URLs under "uri" and "url"). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "message_internal.h"

#define FLEX_BUBBLE_MAX	30000		/* LINE says 30 KB; kept below either reading */
#define FLEX_CAROUSEL_MAX 50000
#define FLEX_BUBBLES_MAX 12

/* Placeholders inside flex contents: any string; under "uri" or "url" a URL. */
static int
flex_walk(struct cc *c, json_t *node, const char *key)
{
	size_t saved = c->pathlen, i;
	const char *k;
	struct slot *sl;
	json_t *v;

	if (json_is_object(node)) {
		json_object_foreach(node, k, v) {
			msg_path_push_key(c, k);
			if (flex_walk(c, v, k) == -1)
				return -1;
			msg_path_pop(c, saved);
		}
	} else if (json_is_array(node)) {
		json_array_foreach(node, i, v) {
			msg_path_push_index(c, i);
			if (flex_walk(c, v, NULL) == -1)
				return -1;
			msg_path_pop(c, saved);
		}
	} else if (json_is_string(node)) {
		const struct field *f = key == NULL ? &msg_f_plain :
		    strcmp(key, "uri") == 0 ? &msg_f_flex_uri :
		    strcmp(key, "url") == 0 ? &msg_f_flex_url : &msg_f_plain;

		if (msg_str_compile(c, json_string_value(node), f, 0, &sl) == -1)
			return -1;
		if (sl->nvars > 0)
			msg_slot_keep(c, sl, node);
		else
			msg_slot_free(sl);
	}
	return 0;
}

json_t *
msg_flex_new(struct cc *c, json_t *spec)
{
	static const char *const known[] = { "alt_text", "contents", NULL };
	size_t saved = c->pathlen, len, max;
	json_t *msg = NULL, *contents = NULL, *v;
	json_error_t jerr;
	const char *type;
	char *dump;

	if (c->platform == PLATFORM_WORKS) {
		msg_fail(c, "not available on LINE WORKS");
		return NULL;
	}
	if (!json_is_object(spec)) {
		msg_fail(c, "must be a mapping with alt_text and contents");
		return NULL;
	}
	if (msg_check_keys(c, spec, known) == -1)
		return NULL;
	msg = json_object();
	json_object_set_new(msg, "type", json_string("flex"));
	if (msg_field_put(c, msg, "altText", spec, "alt_text", &msg_f_alt, 1, NULL) == -1)
		goto err;
	msg_path_push_key(c, "contents");
	v = json_object_get(spec, "contents");
	if (v == NULL) {
		msg_fail(c, "required");
		goto err;
	}
	if (json_is_string(v)) {
		/* JSON pasted from LINE's Flex Message Simulator. */
		contents = json_loads(json_string_value(v), JSON_REJECT_DUPLICATES, &jerr);
		if (contents == NULL) {
			msg_fail(c, "not valid JSON: %s (line %d, column %d)", jerr.text, jerr.line,
			    jerr.column);
			goto err;
		}
	} else if (json_is_object(v))
		contents = json_incref(v);
	else {
		msg_fail(c, "must be a bubble or a carousel: a mapping, or the JSON text from "
		    "the Flex Message Simulator");
		goto err;
	}
	type = json_string_value(json_object_get(contents, "type"));
	if (type != NULL && strcmp(type, "flex") == 0) {
		msg_fail(c, "give only the bubble or carousel inside, not the whole flex message");
		goto err;
	}
	if (type == NULL || (strcmp(type, "bubble") != 0 && strcmp(type, "carousel") != 0)) {
		msg_fail(c, "must be a bubble or a carousel (its type is %s%s%s)",
		    type != NULL ? "\"" : "", type != NULL ? type : "missing",
		    type != NULL ? "\"" : "");
		goto err;
	}
	if (strcmp(type, "carousel") == 0 &&
	    json_array_size(json_object_get(contents, "contents")) > FLEX_BUBBLES_MAX) {
		msg_fail(c, "%zu bubbles; a carousel takes at most %d",
		    json_array_size(json_object_get(contents, "contents")), FLEX_BUBBLES_MAX);
		goto err;
	}
	max = strcmp(type, "bubble") == 0 ? FLEX_BUBBLE_MAX : FLEX_CAROUSEL_MAX;
	if ((dump = json_dumps(contents, JSON_COMPACT)) == NULL)
		fatalx("%s: json_dumps failed", __func__);
	len = strlen(dump);
	free(dump);
	if (len > max) {
		msg_fail(c, "%zu bytes of JSON; LINE takes at most %zu for a %s", len, max, type);
		goto err;
	}
	if (flex_walk(c, contents, NULL) == -1)
		goto err;
	msg_path_pop(c, saved);
	json_object_set_new(msg, "contents", contents);
	return msg;
err:
	json_decref(contents);
	json_decref(msg);
	return NULL;
}
