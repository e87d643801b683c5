/* message.c: message templates. An operator's message spec is checked once at load
 * against the platform's vocabulary and limits and turned into the finished JSON the
 * platform takes; the strings that hold {placeholders} are kept aside as slots (a path
 * into that JSON and the pieces of the string), so a render is one copy of the JSON and
 * one string built per slot, cut to the field's limit.
 * Here: msg_template_new (the spec as a whole, then each slot's path in the finished
 * JSON), msg_template_free and the placeholder list. The messages themselves are
 * message_item.c's (text, sticker, image, template), message_flex.c's and
 * message_action.c's; the strings in them message_compile.c's and message_limit.c's;
 * message_render.c fills a template in for a send. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "message_internal.h"

#define MSG_ITEMS_MAX	5		/* messages in one LINE reply or push */

/* Load only: the path to each slot's node in the finished JSON. */
struct walk {
	struct {
		const char	*key;
		size_t		 index;
	}		*st;
	size_t		 n, cap;
};

static void
walk_save(const struct walk *w, struct step **path, size_t *npath)
{
	if (*path != NULL)
		fatalx("%s: a placeholder string sits twice in the message", __func__);
	*path = xcalloc(w->n, sizeof(**path));
	for (size_t i = 0; i < w->n; i++) {
		(*path)[i].key = w->st[i].key != NULL ? xstrdup(w->st[i].key) : NULL;
		(*path)[i].index = w->st[i].index;
	}
	*npath = w->n;
}

static void
walk_push(struct walk *w, const char *key, size_t index)
{
	if (w->n == w->cap) {
		w->cap = w->cap == 0 ? 16 : w->cap * 2;
		w->st = xrealloc(w->st, w->cap * sizeof(*w->st));
	}
	w->st[w->n].key = key;
	w->st[w->n].index = index;
	w->n++;
}

static void
walk_paths(struct msg_template *t, json_t *node, struct walk *w)
{
	const char *key;
	json_t *v;
	size_t i;

	for (i = 0; i < t->nslots; i++) {
		if (t->slots[i]->node == node)
			walk_save(w, &t->slots[i]->path, &t->slots[i]->npath);
		if (t->slots[i]->enode == node)
			walk_save(w, &t->slots[i]->epath, &t->slots[i]->nepath);
	}
	if (json_is_object(node)) {
		json_object_foreach(node, key, v) {
			walk_push(w, key, 0);
			walk_paths(t, v, w);
			w->n--;
		}
	} else if (json_is_array(node)) {
		json_array_foreach(node, i, v) {
			walk_push(w, NULL, i);
			walk_paths(t, v, w);
			w->n--;
		}
	}
}

struct msg_template *
msg_template_new(const struct json_t *spec, enum platform platform,
    const char *const *allowed, char *err, size_t errlen)
{
	struct cc c;
	struct walk w = { NULL, 0, 0 };
	json_t *copy = NULL, *out = json_array(), *item;
	size_t i, n;

	memset(&c, 0, sizeof(c));
	c.t = xcalloc(1, sizeof(*c.t));
	c.t->platform = platform;
	c.t->names = xcalloc(1, sizeof(*c.t->names));
	c.platform = platform;
	c.allowed = allowed;
	c.err = err;
	c.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (spec == NULL) {
		msg_fail(&c, "no message given");
		goto err;
	}
	/* Our own copy: integers become strings in it, and flex contents are shared. */
	copy = json_deep_copy(spec);
	if (json_is_array(copy)) {
		n = json_array_size(copy);
		if (n == 0 || n > MSG_ITEMS_MAX) {
			msg_fail(&c, "%zu messages; one reply or push takes 1 to %d", n,
			    MSG_ITEMS_MAX);
			goto err;
		}
		json_array_foreach(copy, i, item) {
			msg_path_push_index(&c, i);
			if (msg_item_add(&c, item, out) == -1)
				goto err;
			msg_path_pop(&c, 0);
		}
	} else if (json_is_object(copy) || json_is_string(copy)) {
		if (msg_item_add(&c, copy, out) == -1)
			goto err;
	} else {
		msg_fail(&c, "must be text, a mapping, or a list of 1 to %d messages",
		    MSG_ITEMS_MAX);
		goto err;
	}
	walk_paths(c.t, out, &w);
	free(w.st);
	for (i = 0; i < c.t->nslots; i++) {
		struct slot *sl = c.t->slots[i];

		if (sl->npath == 0 || (sl->nemoji > 0 && sl->nepath == 0))
			fatalx("%s: a placeholder string is not in the message", __func__);
		sl->node = sl->enode = NULL;
	}
	c.t->msgs = out;
	json_decref(copy);
	return c.t;
err:
	json_decref(copy);
	json_decref(out);
	msg_template_free(c.t);
	return NULL;
}

void
msg_template_free(struct msg_template *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nslots; i++)
		msg_slot_free(t->slots[i]);
	free(t->slots);
	for (size_t i = 0; i < t->nnames; i++)
		free(t->names[i]);
	free(t->names);
	json_decref(t->msgs);
	free(t);
}

const char *const *
msg_template_placeholders(const struct msg_template *t)
{
	return (const char *const *)t->names;
}
