/* message_compile.c: the load-time machinery every message form uses: the path into
 * the spec that errors name, reading the operator's keys and text, and turning one
 * string into JSON with its {placeholders} checked and kept as a slot. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "message_internal.h"

/* Length of the {name} placeholder at s, or 0 when s does not start one. */
static size_t
placeholder_len(const char *s)
{
	size_t i = 1;

	if (s[0] != '{' || !((s[1] >= 'a' && s[1] <= 'z') || s[1] == '_'))
		return 0;
	while ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_')
		i++;
	return s[i] == '}' ? i + 1 : 0;
}

void
msg_path_push_key(struct cc *c, const char *key)
{
	if (c->pathlen >= sizeof(c->path) - 1)
		return;
	snprintf(c->path + c->pathlen, sizeof(c->path) - c->pathlen, "%s%s",
	    c->pathlen > 0 ? "." : "", key);
	c->pathlen = strlen(c->path);
}

void
msg_path_push_index(struct cc *c, size_t i)
{
	if (c->pathlen >= sizeof(c->path) - 1)
		return;
	snprintf(c->path + c->pathlen, sizeof(c->path) - c->pathlen, "[%zu]", i);
	c->pathlen = strlen(c->path);
}

void
msg_path_pop(struct cc *c, size_t len)
{
	c->pathlen = len;
	c->path[len] = '\0';
}

/* Writes "PATH: what" (or only "what" for the spec as a whole); returns -1. */
int
msg_fail(struct cc *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->err == NULL || c->errlen == 0)
		return -1;
	if (c->pathlen > 0)
		snprintf(c->err, c->errlen, "%s: %s", c->path, msg);
	else
		snprintf(c->err, c->errlen, "%s", msg);
	return -1;
}

int
msg_in_list(const char *const *list, const char *s)
{
	for (; list != NULL && *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

static int
allowed_has(const char *const *list, const char *name, size_t len)
{
	for (; list != NULL && *list != NULL; list++)
		if (strlen(*list) == len && memcmp(*list, name, len) == 0)
			return 1;
	return 0;
}

int
msg_check_keys(struct cc *c, json_t *obj, const char *const *known)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		if (!msg_in_list(known, key)) {
			msg_path_push_key(c, key);
			return msg_fail(c, "unknown key");
		}
	}
	return 0;
}

/* Reads a text value. YAML's plain scalars arrive as JSON integers and booleans; a
 * label of 1 or a sticker id of 446 is still text, so they are turned into strings in
 * the spec copy. The path must already name the key. */
int
msg_spec_str(struct cc *c, json_t *obj, const char *key, int required, const char **out)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL)
		return required ? msg_fail(c, "required") : 0;
	if (json_is_integer(v) || json_is_boolean(v)) {
		json_t *s = json_is_integer(v) ?
		    json_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v)) :
		    json_string(json_is_true(v) ? "true" : "false");

		json_object_set_new(obj, key, s);
		v = s;
	}
	if (!json_is_string(v))
		return msg_fail(c, "must be text");
	*out = json_string_value(v);
	if (required && **out == '\0')
		return msg_fail(c, "must not be empty");
	return 0;
}

static size_t
name_index(struct msg_template *t, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < t->nnames; i++)
		if (strlen(t->names[i]) == len && memcmp(t->names[i], name, len) == 0)
			return i;
	t->names = xrealloc(t->names, (t->nnames + 2) * sizeof(*t->names));
	t->names[t->nnames] = xstrndup(name, len);
	t->names[++t->nnames] = NULL;
	return i;
}

static int
unknown_placeholder(struct cc *c, const char *name, size_t len)
{
	char list[512] = "";
	size_t n = 0;

	for (const char *const *a = c->allowed; a != NULL && *a != NULL; a++) {
		if (n > 0 && n < sizeof(list))
			n += (size_t)snprintf(list + n, sizeof(list) - n, ", ");
		if (n < sizeof(list))
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s", *a);
	}
	if (n == 0)
		return msg_fail(c, "unknown placeholder {%.*s}; this message takes none",
		    (int)len, name);
	return msg_fail(c, "unknown placeholder {%.*s}; allowed: %s", (int)len, name, list);
}

static int
scheme_ok(const char *s, enum scheme scheme)
{
	static const char *const link[] = { "http", "https", "line", "tel", NULL };
	size_t n = strcspn(s, ":/?#");
	char name[8];

	if (scheme == SCHEME_HTTPS)
		return strncasecmp(s, "https://", 8) == 0;
	if (s[n] != ':' || n >= sizeof(name))
		return 0;
	for (size_t i = 0; i < n; i++)
		name[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
	name[n] = '\0';
	return msg_in_list(link, name);
}

void
msg_slot_free(struct slot *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->npath; i++)
		free(s->path[i].key);
	for (size_t i = 0; i < s->nepath; i++)
		free(s->epath[i].key);
	free(s->path);
	free(s->epath);
	free(s->src);
	free(s->seg);
	free(s->emoji);
	free(s);
}

static void
slot_add_seg(struct slot *s, size_t off, size_t len, int var)
{
	s->seg = xrealloc(s->seg, (s->nseg + 1) * sizeof(*s->seg));
	s->seg[s->nseg].off = off;
	s->seg[s->nseg].len = len;
	s->seg[s->nseg].var = var;
	s->seg[s->nseg].raw = 0;
	s->nseg++;
}

/* Splits s into literal pieces and placeholders, checks every name against the
 * allowed ones and the length of what is fixed (placeholders counted as nothing)
 * against the field's limit; lenient skips the length check (a defaulted alt text is
 * cut, not refused). Returns the parsed slot; the caller keeps it when it has vars. */
int
msg_str_compile(struct cc *c, const char *s, const struct field *f, int lenient,
    struct slot **out)
{
	struct slot *sl = xcalloc(1, sizeof(*sl));
	size_t i = 0, lit = 0, n, fixed = 0;

	*out = NULL;
	sl->src = xstrdup(s);
	sl->f = *f;
	while (s[i] != '\0') {
		if ((n = placeholder_len(s + i)) == 0) {
			i++;
			continue;
		}
		if (!allowed_has(c->allowed, s + i + 1, n - 2))
			goto unknown;
		if (i > lit)
			slot_add_seg(sl, lit, i - lit, -1);
		slot_add_seg(sl, i, n, (int)name_index(c->t, s + i + 1, n - 2));
		/* A URL that starts with a placeholder takes the value as its base: the
		 * scheme and host cannot be percent-encoded. */
		if (f->url && i == 0)
			sl->seg[sl->nseg - 1].raw = 1;
		sl->nvars++;
		i += n;
		lit = i;
	}
	if (i > lit)
		slot_add_seg(sl, lit, i - lit, -1);
	for (size_t k = 0; k < sl->nseg; k++)
		if (sl->seg[k].var == -1)
			fixed += utf8_count(s + sl->seg[k].off, sl->seg[k].len,
			    f->unit == UNIT_UTF16);
	if (!lenient && f->limit > 0 && fixed > f->limit) {
		msg_fail(c, "too long%s: %zu %s, at most %zu",
		    sl->nvars > 0 ? " even without its placeholders" : "", fixed,
		    f->unit == UNIT_UTF16 ? "UTF-16 units" : "characters", f->limit);
		goto err;
	}
	if (f->scheme != SCHEME_NONE && placeholder_len(s) == 0 && !scheme_ok(s, f->scheme)) {
		msg_fail(c, f->scheme == SCHEME_HTTPS ? "must start with https://" :
		    "must start with http://, https://, line:// or tel:");
		goto err;
	}
	*out = sl;
	return 0;
unknown:
	unknown_placeholder(c, s + i + 1, n - 2);
err:
	msg_slot_free(sl);
	return -1;
}

void
msg_slot_keep(struct cc *c, struct slot *sl, json_t *node)
{
	struct msg_template *t = c->t;

	t->slots = xrealloc(t->slots, (t->nslots + 1) * sizeof(*t->slots));
	t->slots[t->nslots++] = sl;
	sl->node = node;
}

/* Sets out[okey] to the string s, as a slot when it holds placeholders. */
int
msg_put_str(struct cc *c, json_t *out, const char *okey, const char *s,
    const struct field *f, int lenient)
{
	struct slot *sl;
	struct buf b = { NULL, 0, 0 };
	json_t *node;

	if (msg_str_compile(c, s, f, lenient, &sl) == -1)
		return -1;
	if (sl->nvars == 0 && lenient) {
		msg_buf_add(&b, s, strlen(s));
		msg_buf_cut(&b, f);
		node = json_stringn(b.p, b.len);
		free(b.p);
	} else
		node = json_string(s);
	if (node == NULL)
		fatalx("%s: string is not UTF-8", __func__);
	json_object_set_new(out, okey, node);
	if (sl->nvars > 0)
		msg_slot_keep(c, sl, node);
	else
		msg_slot_free(sl);
	return 0;
}

/* out[okey] from the operator's spec[skey]; *val (if asked) is the text or NULL. */
int
msg_field_put(struct cc *c, json_t *out, const char *okey, json_t *spec, const char *skey,
    const struct field *f, int required, const char **val)
{
	size_t saved = c->pathlen;
	const char *s;

	msg_path_push_key(c, skey);
	if (msg_spec_str(c, spec, skey, required, &s) == -1)
		return -1;
	if (s != NULL && msg_put_str(c, out, okey, s, f, 0) == -1)
		return -1;
	msg_path_pop(c, saved);
	if (val != NULL)
		*val = s;
	return 0;
}

/* Checks spec[skey] as msg_field_put would, without putting it anywhere. */
int
msg_field_check(struct cc *c, json_t *spec, const char *skey, const struct field *f,
    int required, const char **val)
{
	size_t saved = c->pathlen;
	struct slot *sl;

	msg_path_push_key(c, skey);
	if (msg_spec_str(c, spec, skey, required, val) == -1)
		return -1;
	if (*val != NULL) {
		if (msg_str_compile(c, *val, f, 0, &sl) == -1)
			return -1;
		msg_slot_free(sl);
	}
	msg_path_pop(c, saved);
	return 0;
}
