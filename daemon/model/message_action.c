/* message_action.c: actions, the buttons of a template message, quick replies and rich
 * menu areas: their types (postback, message, uri, datetimepicker, richmenuswitch),
 * their fields and limits, and how a LINE postback becomes a LINE WORKS message
 * action that carries the data. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "message_internal.h"

/* Matches s against pat, where '9' is a digit and 'T' is T or t (RFC 3339 as LINE's
 * date-time picker takes it). */
static int
pattern_match(const char *s, const char *pat)
{
	for (; *pat != '\0'; s++, pat++) {
		if (*pat == '9' ? !(*s >= '0' && *s <= '9') :
		    *pat == 'T' ? !(*s == 'T' || *s == 't') : *s != *pat)
			return 0;
	}
	return *s == '\0';
}

static const struct action_type {
	const char	*name;
	const char	*keys[6];	/* besides type and label */
} action_types[] = {
	{ "postback", { "data", "display_text", NULL } },
	{ "message", { "text", NULL } },
	{ "uri", { "uri", NULL } },
	{ "datetimepicker", { "data", "mode", "initial", "min", "max", NULL } },
	{ "richmenuswitch", { "alias", "data", NULL } },
	{ "clipboard", { "clipboard_text", NULL } },
};

static int
datetime_put(struct cc *c, json_t *a, json_t *spec, const char *key, const char *mode)
{
	const char *pat = strcmp(mode, "date") == 0 ? "9999-99-99" :
	    strcmp(mode, "time") == 0 ? "99:99" : "9999-99-99T99:99";
	const char *s;

	if (msg_field_put(c, a, key, spec, key, &msg_f_plain, 0, &s) == -1)
		return -1;
	if (s != NULL && strchr(s, '{') == NULL && !pattern_match(s, pat)) {
		msg_path_push_key(c, key);
		return msg_fail(c, "must look like %s for mode %s", strcmp(mode, "date") == 0 ?
		    "2026-12-01" : strcmp(mode, "time") == 0 ? "09:30" : "2026-12-01T09:30", mode);
	}
	return 0;
}

/* One action, in a template or a quick reply: both need a label. On LINE WORKS a
 * postback becomes a message action carrying the data as "postback", which button
 * templates take and which arrives as content.postback, as the daemon reads it. */
static json_t *
action_new(struct cc *c, json_t *spec)
{
	static const char *const known[] = { "type", "label", "data", "display_text", "text",
	    "uri", "alias", "mode", "initial", "min", "max", "clipboard_text", NULL };
	const struct action_type *at = NULL;
	const char *type, *key, *label, *display, *mode;
	size_t saved = c->pathlen, i;
	json_t *a = NULL, *v;

	if (!json_is_object(spec)) {
		msg_fail(c, "must be a mapping such as {type: message, label: ..., text: ...}");
		return NULL;
	}
	if (msg_check_keys(c, spec, known) == -1)
		return NULL;
	msg_path_push_key(c, "type");
	if (msg_spec_str(c, spec, "type", 1, &type) == -1)
		return NULL;
	for (i = 0; i < sizeof(action_types) / sizeof(action_types[0]); i++)
		if (strcmp(action_types[i].name, type) == 0)
			at = &action_types[i];
	if (at == NULL) {
		msg_fail(c, "unknown action type \"%s\"; use postback, message, uri, "
		    "datetimepicker or clipboard", type);
		return NULL;
	}
	if (strcmp(type, "richmenuswitch") == 0 && !c->richmenu) {
		msg_fail(c, "richmenuswitch works only in rich menus");
		return NULL;
	}
	if (c->platform == PLATFORM_WORKS && (strcmp(type, "datetimepicker") == 0 ||
	    strcmp(type, "clipboard") == 0)) {
		msg_fail(c, "%s is not available on LINE WORKS", type);
		return NULL;
	}
	msg_path_pop(c, saved);
	json_object_foreach(spec, key, v) {
		if (strcmp(key, "type") != 0 && strcmp(key, "label") != 0 &&
		    !msg_in_list(at->keys, key)) {
			msg_path_push_key(c, key);
			msg_fail(c, "not used by a %s action", type);
			return NULL;
		}
	}

	a = json_object();
	json_object_set_new(a, "type", json_string(type));
	/* Rich menus read the label aloud for accessibility only: it may be left out. */
	if (msg_field_put(c, a, "label", spec, "label", &msg_f_label, !c->richmenu,
	    &label) == -1)
		goto err;
	if (strcmp(type, "postback") == 0 && c->platform == PLATFORM_WORKS) {
		json_object_set_new(a, "type", json_string("message"));
		if (msg_field_put(c, a, "postback", spec, "data", &msg_f_300, 1, NULL) == -1 ||
		    msg_field_put(c, a, "text", spec, "display_text", &msg_f_300, 0,
		    &display) == -1)
			goto err;
		if (display == NULL) {
			msg_path_push_key(c, "label");
			if (msg_put_str(c, a, "text", label, &msg_f_300, 0) == -1)
				goto err;
			msg_path_pop(c, saved);
		}
	} else if (strcmp(type, "postback") == 0) {
		if (msg_field_put(c, a, "data", spec, "data", &msg_f_300, 1, NULL) == -1 ||
		    msg_field_put(c, a, "displayText", spec, "display_text", &msg_f_300, 0,
		    NULL) == -1)
			goto err;
	} else if (strcmp(type, "message") == 0) {
		if (msg_field_put(c, a, "text", spec, "text", &msg_f_300, 1, NULL) == -1)
			goto err;
	} else if (strcmp(type, "uri") == 0) {
		if (msg_field_put(c, a, "uri", spec, "uri", &msg_f_uri, 1, NULL) == -1)
			goto err;
	} else if (strcmp(type, "clipboard") == 0) {
		if (msg_field_put(c, a, "clipboardText", spec, "clipboard_text", &msg_f_1000, 1,
		    NULL) == -1)
			goto err;
	} else if (strcmp(type, "richmenuswitch") == 0) {
		if (msg_field_put(c, a, "richMenuAliasId", spec, "alias", &msg_f_alias, 1,
		    NULL) == -1 ||
		    msg_field_put(c, a, "data", spec, "data", &msg_f_300, 1, NULL) == -1)
			goto err;
	} else {
		if (msg_field_put(c, a, "data", spec, "data", &msg_f_300, 1, NULL) == -1)
			goto err;
		msg_path_push_key(c, "mode");
		if (msg_spec_str(c, spec, "mode", 1, &mode) == -1)
			goto err;
		if (strcmp(mode, "date") != 0 && strcmp(mode, "time") != 0 &&
		    strcmp(mode, "datetime") != 0) {
			msg_fail(c, "must be date, time or datetime");
			goto err;
		}
		msg_path_pop(c, saved);
		json_object_set_new(a, "mode", json_string(mode));
		if (datetime_put(c, a, spec, "initial", mode) == -1 ||
		    datetime_put(c, a, spec, "min", mode) == -1 ||
		    datetime_put(c, a, spec, "max", mode) == -1)
			goto err;
	}
	return a;
err:
	json_decref(a);
	return NULL;
}

/* A list of actions of min..max entries, each through action_new; wrap puts each
 * in a quick reply item. */
json_t *
msg_actions_new(struct cc *c, json_t *spec, size_t min, size_t max, const char *what,
    int quick)
{
	json_t *arr, *v, *a;
	size_t i, n, saved = c->pathlen;

	if (!json_is_array(spec)) {
		msg_fail(c, "must be a list of actions");
		return NULL;
	}
	n = json_array_size(spec);
	if (n < min || n > max) {
		if (min == max)
			msg_fail(c, "%zu actions; %s takes exactly %zu", n, what, min);
		else
			msg_fail(c, "%zu actions; %s take %zu to %zu", n, what, min, max);
		return NULL;
	}
	arr = json_array();
	json_array_foreach(spec, i, v) {
		msg_path_push_index(c, i);
		if ((a = action_new(c, v)) == NULL) {
			json_decref(arr);
			return NULL;
		}
		if (quick) {
			json_t *item = json_object();

			if (c->platform == PLATFORM_LINE)
				json_object_set_new(item, "type", json_string("action"));
			json_object_set_new(item, "action", a);
			a = item;
		}
		json_array_append_new(arr, a);
		msg_path_pop(c, saved);
	}
	return arr;
}

/* A rich menu area's action: the same words and checks as a template's, plus
 * richmenuswitch, and no placeholders (a menu is the same for everyone). */
json_t *
msg_menu_action_new(const json_t *spec, char *err, size_t errlen)
{
	static const char *const none[] = { NULL };
	struct cc c;
	json_t *copy = json_deep_copy(spec), *a;

	memset(&c, 0, sizeof(c));
	c.t = xcalloc(1, sizeof(*c.t));
	c.t->names = xcalloc(1, sizeof(*c.t->names));
	c.platform = PLATFORM_LINE;
	c.richmenu = 1;
	c.allowed = none;
	c.err = err;
	c.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	a = action_new(&c, copy);
	json_decref(copy);
	msg_template_free(c.t);
	return a;
}
