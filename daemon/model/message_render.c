/* message_render.c: a compiled template filled in for one send: a copy of its JSON
 * with each slot's string built from the values (percent-encoded in URLs, bytes that
 * are not UTF-8 replaced), cut to its field's limit, and a text's emojis kept in step
 * with the cut. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "message_internal.h"

void
msg_vars_set(struct msg_vars *v, const char *name, const char *value)
{
	for (size_t i = 0; i < v->n; i++) {
		if (strcmp(v->name[i], name) == 0) {
			v->value[i] = value;
			return;
		}
	}
	if (v->n >= MSG_VARS_MAX)
		return;
	v->name[v->n] = name;
	v->value[v->n] = value;
	v->n++;
}

/* Appends a placeholder's value, percent-encoded for a URL if asked, with bytes that
 * are not UTF-8 replaced (jansson refuses them). Stops once the buffer holds more than
 * cap bytes: past that the cut removes the rest anyway, so a huge value costs nothing. */
static void
buf_add_value(struct buf *b, const char *v, int encode, size_t cap)
{
	const unsigned char *s = (const unsigned char *)v;
	size_t n = strlen(v), i = 0, k, j;
	const unsigned char *c;
	char rep[4];
	size_t nrep = utf8_encode(UTF8_REPLACEMENT_CP, rep);
	uint32_t cp;

	while (i < n && b->len < cap) {
		k = utf8_next(s + i, n - i, &cp);
		c = s + i;
		i += k;
		if (cp == UTF8_REPLACEMENT_CP && k == 1) {	/* a byte that is not UTF-8 */
			c = (const unsigned char *)rep;
			k = nrep;
		}
		if (!encode) {
			msg_buf_add(b, c, k);
			continue;
		}
		for (j = 0; j < k; j++) {
			char esc[3];

			msg_buf_add(b, esc, url_encode_byte(c[j], esc));
		}
	}
}

static json_t *
path_get(json_t *root, const struct step *path, size_t n)
{
	for (size_t i = 0; i < n && root != NULL; i++)
		root = path[i].key != NULL ? json_object_get(root, path[i].key) :
		    json_array_get(root, path[i].index);
	if (root == NULL)
		fatalx("%s: the rendered message lost its shape", __func__);
	return root;
}

/* After a cut, an emoji whose $ is gone must go too, or LINE refuses the message. */
static void
emojis_fix(const struct slot *s, const size_t *segu, size_t kept, json_t *out)
{
	json_t *arr = path_get(out, s->epath, s->nepath);
	size_t k, pos;

	for (k = s->nemoji; k-- > 0;) {
		pos = segu[s->emoji[k].seg] + s->emoji[k].off;
		if (pos >= kept)
			json_array_remove(arr, k);
		else
			json_object_set_new(json_array_get(arr, k), "index",
			    json_integer((json_int_t)pos));
	}
	if (json_array_size(arr) == 0)
		json_object_del(path_get(out, s->epath, s->nepath - 1),
		    s->epath[s->nepath - 1].key);
}

static void
slot_render(const struct slot *s, const char *const *values, json_t *out)
{
	struct buf b = { NULL, 0, 0 };
	size_t cap = s->f.limit > 0 ? 4 * s->f.limit + 8 : SIZE_MAX;
	size_t *segu = NULL, units = 0, before, kept;
	const struct step *last = &s->path[s->npath - 1];
	json_t *parent, *node;

	if (s->nemoji > 0)
		segu = xcalloc(s->nseg, sizeof(*segu));
	msg_buf_add(&b, "", 0);
	for (size_t k = 0; k < s->nseg; k++) {
		const struct seg *g = &s->seg[k];

		before = b.len;
		if (g->var == -1)
			msg_buf_add(&b, s->src + g->off, g->len);
		else
			buf_add_value(&b, values[g->var], s->f.url && !g->raw, cap);
		if (segu != NULL) {
			segu[k] = units;
			units += utf8_count(b.p + before, b.len - before, 1);
		}
	}
	kept = msg_buf_cut(&b, &s->f);
	if ((node = json_stringn(b.p, b.len)) == NULL)
		fatalx("%s: rendered text is not UTF-8", __func__);
	parent = path_get(out, s->path, s->npath - 1);
	if (last->key != NULL)
		json_object_set_new(parent, last->key, node);
	else
		json_array_set_new(parent, last->index, node);
	if (segu != NULL)
		emojis_fix(s, segu, kept, out);
	free(segu);
	free(b.p);
}

json_t *
msg_template_render(const struct msg_template *t, const struct msg_vars *vars)
{
	const char **values = xcalloc(t->nnames + 1, sizeof(*values));
	json_t *out = json_deep_copy(t->msgs);

	for (size_t i = 0; i < t->nnames; i++) {
		values[i] = "";
		for (size_t j = 0; vars != NULL && j < vars->n; j++)
			if (strcmp(vars->name[j], t->names[i]) == 0 && vars->value[j] != NULL)
				values[i] = vars->value[j];
	}
	for (size_t i = 0; i < t->nslots; i++)
		slot_render(t->slots[i], values, out);
	free(values);
	return out;
}
