/* console_wording.c: the audit log in the words of the console's text file
 * (text/ja.json), for its pages and its CSV alike. shokaid records an action's facts as
 * JSON ({"why":"wrong_password"}, {"to":"won","note":true}); an operator reads them
 * through "audit_detail.<action>" with each fact named: a state by the config's label, a
 * role, a refusal's reason and an announcement's segment by the text file's words, a
 * branch or rep by its name. The words live in the text file; this file only puts them
 * together, so a page, an export and shokaictl audit say the same. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_internal.h"
#include "console_figures.h"

/* The text file's string at section.name ("audit", "login"), or NULL. */
static const char *
text_of(const json_t *text, const char *section, const char *name)
{
	return json_string_value(json_object_get(json_object_get(text, section), name));
}

/* tmpl with each {name} replaced by words' string of that name (left as it is when
 * words has none), as text.js's t() does. A new string. */
static char *
fill(const char *tmpl, const json_t *words)
{
	char *out = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&out, &len);

	if (fp == NULL)
		fatalx("%s: no memory", __func__);
	for (const char *p = tmpl; *p != '\0'; p++) {
		size_t n = *p == '{' ? strspn(p + 1, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") : 0;
		char name[64];
		const char *w;

		if (n > 0 && n < sizeof(name) && p[n + 1] == '}') {
			memcpy(name, p + 1, n);
			name[n] = '\0';
			if ((w = json_string_value(json_object_get(words, name))) != NULL) {
				fputs(w, fp);
				p += n + 1;
				continue;
			}
		}
		fputc(*p, fp);
	}
	fclose(fp);
	return out;
}

/* "branch:B01" as "支店: 新宿支店", "all" as "友だち全員". */
static char *
segment_words(const struct config *cf, const json_t *text, const char *segment)
{
	const char *colon = strchr(segment, ':'), *arg = colon ? colon + 1 : "", *name = arg;
	const struct config_branch *b;
	const struct config_rep *rep;
	char kind[32];
	const char *tmpl;
	json_t *words;
	char *out;

	snprintf(kind, sizeof(kind), "seg_%.*s",
	    colon ? (int)(colon - segment) : (int)strlen(segment), segment);
	if ((tmpl = text_of(text, "announce", kind)) == NULL)
		return xstrdup(segment);
	if (strncmp(segment, "branch:", 7) == 0 && (b = config_branch(cf, arg)) != NULL)
		name = b->name;
	else if (strncmp(segment, "rep:", 4) == 0 && (rep = config_rep(cf, arg)) != NULL)
		name = rep->name;
	words = json_pack("{s:s}", "name", name);
	out = fill(tmpl, words);
	json_decref(words);
	return out;
}

/* One fact as an operator reads it. A new JSON string, or NULL to leave it out. */
static json_t *
fact_words(const struct config *cf, const json_t *text, const char *key, const json_t *v)
{
	const char *s = json_string_value(v), *w = NULL;
	enum ref_state st;
	char num[32];

	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		return json_string(num);
	}
	if (s == NULL)
		return NULL;
	if (strcmp(key, "to") == 0 && ref_state_parse(s, &st) == 0)
		w = config_state_label(cf, st);
	else if (strcmp(key, "role") == 0)
		w = text_of(text, "role", s);
	else if (strcmp(key, "why") == 0)
		w = text_of(text, "audit_why", s);
	else if (strcmp(key, "segment") == 0) {
		char *seg = segment_words(cf, text, s);
		json_t *out = json_string(seg);

		free(seg);
		return out;
	}
	return json_string(w ? w : s);
}

const char *
console_text_words(const json_t *text, const char *section, const char *name)
{
	const char *w = name ? text_of(text, section, name) : NULL;

	return w ? w : name;
}

const char *
console_audit_action_words(const json_t *text, const char *action)
{
	return console_text_words(text, "audit", action);
}

char *
console_audit_detail_words(const json_t *text, const struct config *cf,
    const char *action, const char *detail)
{
	const char *tmpl = action ? text_of(text, "audit_detail", action) : NULL;
	json_t *facts, *words, *v;
	const char *key;
	char *out;

	if (detail == NULL)
		return xstrdup("");
	/* An operator's note or a code is free text; rows from before the facts were JSON
	 * are shown as they were. */
	if (detail[0] != '{' || tmpl == NULL ||
	    (facts = json_loads(detail, 0, NULL)) == NULL)
		return xstrdup(detail);
	if (!json_is_object(facts)) {
		json_decref(facts);
		return xstrdup(detail);
	}
	words = json_object();
	json_object_foreach(facts, key, v) {
		json_t *w = fact_words(cf, text, key, v);

		if (w != NULL)
			json_object_set_new(words, key, w);
	}
	key = json_is_true(json_object_get(facts, "note")) ?
	    text_of(text, "audit_detail", "with_note") : NULL;
	json_object_set_new(words, "note", json_string(key ? key : ""));
	out = fill(tmpl, words);
	json_decref(words);
	json_decref(facts);
	return out;
}

char *
console_audit_target_words(const json_t *text, const struct config *cf, const char *target,
    const char *display_name, json_t **person)
{
	const char *colon = target ? strchr(target, ':') : NULL, *slash, *tmpl;
	char kind[32], *out;
	json_t *words;

	if (person != NULL)
		*person = NULL;
	if (colon == NULL || colon - target >= (ptrdiff_t)sizeof(kind))
		return xstrdup(target ? target : "");
	snprintf(kind, sizeof(kind), "%.*s", (int)(colon - target), target);
	if ((strcmp(kind, "customer") == 0 || strcmp(kind, "typed") == 0) &&
	    (slash = strchr(colon, '/')) != NULL) {
		char *channel = xstrndup(colon + 1, (size_t)(slash - colon - 1));
		json_t *p = console_person_named(cf, channel, slash + 1, display_name, 0);

		/* Through the Person, so a forgotten person shows as their pseudonym. */
		out = xstrdup(json_string_value(json_object_get(p, "name")));
		free(channel);
		if (person != NULL)
			*person = p;
		else
			json_decref(p);
		return out;
	}
	if ((tmpl = text_of(text, "audit_target", kind)) == NULL)
		return xstrdup(target);
	words = json_pack("{s:s}", "id", colon + 1);
	out = words ? fill(tmpl, words) : xstrdup(target);
	json_decref(words);
	return out;
}
