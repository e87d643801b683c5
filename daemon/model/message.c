/* message.c: message templates. An operator's message spec is checked once at load
 * against the platform's vocabulary and limits and turned into the finished JSON the
 * platform takes; the strings that hold {placeholders} are kept aside as slots (a path
 * into that JSON and the pieces of the string), so a render is one copy of the JSON and
 * one string built per slot, cut to the field's limit. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "model.h"

#define SPEC_PATH_LEN	256
#define MSG_ITEMS_MAX	5		/* messages in one LINE reply or push */
#define QUICK_REPLY_MAX	13
#define EMOJIS_MAX	20
#define LINE_BUTTONS_MAX 4
#define WORKS_BUTTONS_MAX 10
#define FLEX_BUBBLE_MAX	30000		/* LINE says 30 KB; kept below either reading */
#define FLEX_CAROUSEL_MAX 50000
#define FLEX_BUBBLES_MAX 12
#define ELLIPSIS	"\xe2\x80\xa6"	/* U+2026: one UTF-16 unit, one character */
#define REPLACEMENT	"\xef\xbf\xbd"	/* U+FFFD, for bytes that are not UTF-8 */

/* How a field's length is counted: LINE counts message text in UTF-16 units and most
 * other strings in grapheme clusters, for which code points are a safe upper bound. */
enum unit { UNIT_NONE, UNIT_UTF16, UNIT_CHARS };
enum scheme { SCHEME_NONE, SCHEME_LINK, SCHEME_HTTPS };

struct field {
	enum unit	unit;
	size_t		limit;		/* 0: none */
	int		url;		/* placeholder values are percent-encoded */
	enum scheme	scheme;		/* checked at load */
};

static const struct field f_plain = { UNIT_NONE, 0, 0, SCHEME_NONE };
static const struct field f_line_text = { UNIT_UTF16, 5000, 0, SCHEME_NONE };
static const struct field f_works_text = { UNIT_UTF16, 2000, 0, SCHEME_NONE };
static const struct field f_works_content = { UNIT_UTF16, 1000, 0, SCHEME_NONE };
static const struct field f_alt = { UNIT_CHARS, 400, 0, SCHEME_NONE };
static const struct field f_title = { UNIT_CHARS, 40, 0, SCHEME_NONE };
static const struct field f_buttons_text = { UNIT_CHARS, 160, 0, SCHEME_NONE };
static const struct field f_buttons_text_image = { UNIT_CHARS, 60, 0, SCHEME_NONE };
static const struct field f_confirm_text = { UNIT_CHARS, 240, 0, SCHEME_NONE };
static const struct field f_label = { UNIT_CHARS, 20, 0, SCHEME_NONE };
static const struct field f_alias = { UNIT_CHARS, 32, 0, SCHEME_NONE };
static const struct field f_300 = { UNIT_CHARS, 300, 0, SCHEME_NONE };
static const struct field f_uri = { UNIT_CHARS, 1000, 1, SCHEME_LINK };
static const struct field f_line_image = { UNIT_CHARS, 2000, 1, SCHEME_HTTPS };
static const struct field f_works_image = { UNIT_CHARS, 1000, 1, SCHEME_HTTPS };
static const struct field f_flex_uri = { UNIT_CHARS, 1000, 1, SCHEME_NONE };
static const struct field f_flex_url = { UNIT_CHARS, 2000, 1, SCHEME_NONE };

/* One step of a path into the rendered JSON: an object key, or an array index. */
struct step {
	char		*key;		/* NULL: index */
	size_t		 index;
};

/* A piece of a string as written: literal bytes, or a placeholder. */
struct seg {
	size_t		 off, len;	/* in the slot's src */
	int		 var;		/* -1: literal; else index into names */
	int		 raw;		/* a URL placeholder at the start: a URL itself */
};

/* An emoji of a text message: its $ sits off UTF-16 units into a literal seg. */
struct emoji_ref {
	size_t		 seg;
	size_t		 off;
};

struct slot {
	struct step	*path;		/* where the string goes */
	size_t		 npath;
	struct step	*epath;		/* the "emojis" array whose indexes follow the text */
	size_t		 nepath;
	char		*src;
	struct seg	*seg;
	size_t		 nseg;
	size_t		 nvars;
	struct field	 f;
	struct emoji_ref *emoji;
	size_t		 nemoji;
	json_t		*node;		/* at load only: the string node, to find its path */
	json_t		*enode;
};

struct msg_template {
	enum platform	 platform;
	json_t		*msgs;		/* the finished array, placeholders still in it */
	struct slot	**slots;
	size_t		 nslots;
	char		**names;	/* NULL-terminated */
	size_t		 nnames;
};

/* The load-time state: where in the spec we are, for error messages. */
struct cc {
	struct msg_template *t;
	enum platform	 platform;
	int		 richmenu;	/* an area's action: richmenuswitch, no label needed */
	const char *const *allowed;
	char		 path[SPEC_PATH_LEN];
	size_t		 pathlen;
	char		*err;
	size_t		 errlen;
};

struct buf {
	char		*p;
	size_t		 len, cap;
};

static int fail(struct cc *, const char *, ...) __attribute__((format(printf, 2, 3)));

static size_t
cp_units(uint32_t cp, enum unit unit)
{
	return unit == UNIT_UTF16 && cp >= 0x10000 ? 2 : 1;
}

static size_t
count_units(const char *s, size_t n, enum unit unit)
{
	return utf8_count(s, n, unit == UNIT_UTF16);
}

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

static void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap = b->cap == 0 ? 64 : b->cap * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
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
	uint32_t cp;

	while (i < n && b->len < cap) {
		k = utf8_next(s + i, n - i, &cp);
		c = s + i;
		i += k;
		if (cp == 0xfffd && k == 1) {
			c = (const unsigned char *)REPLACEMENT;
			k = 3;
		}
		if (!encode) {
			buf_add(b, c, k);
			continue;
		}
		for (j = 0; j < k; j++) {
			char esc[3];

			buf_add(b, esc, url_encode_byte(c[j], esc));
		}
	}
}

static int
hex_byte(const char *p)
{
	int v = 0;

	for (int i = 0; i < 2; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else
			return -1;
	}
	return v;
}

/* Where to cut a URL at or before i: not inside a %XX escape, and not inside the
 * escapes of one UTF-8 character, which would decode to garbage at the far end. */
static size_t
url_cut_point(const char *p, size_t i)
{
	size_t j, k = 0;
	int v, need;

	if (i >= 1 && p[i - 1] == '%')
		i -= 1;
	else if (i >= 2 && p[i - 2] == '%')
		i -= 2;
	for (j = i; k < 3 && j >= 3 && p[j - 3] == '%' && (v = hex_byte(p + j - 2)) >= 0x80 &&
	    v <= 0xbf; j -= 3)
		k++;
	if (j >= 3 && p[j - 3] == '%' && (v = hex_byte(p + j - 2)) >= 0xc0) {
		need = v >= 0xf0 ? 4 : v >= 0xe0 ? 3 : 2;
		if (k + 1 < (size_t)need)
			i = j - 3;
	}
	return i;
}

/* Cuts b to the field's limit, ending with "…" (a URL is cut bare, and never inside a
 * %XX escape); never inside a UTF-8 sequence, so never inside a surrogate pair.
 * Returns the units kept before any "…". */
static size_t
buf_cut(struct buf *b, const struct field *f)
{
	const unsigned char *p = (const unsigned char *)b->p;
	size_t total, keep, i = 0, acc = 0, k, u;
	uint32_t cp;

	total = count_units(b->p, b->len, f->unit);
	if (f->limit == 0 || total <= f->limit)
		return total;
	keep = f->url ? f->limit : f->limit - 1;
	while (i < b->len) {
		k = utf8_next(p + i, b->len - i, &cp);
		u = cp_units(cp, f->unit);
		if (acc + u > keep)
			break;
		acc += u;
		i += k;
	}
	if (f->url) {
		k = url_cut_point(b->p, i);
		acc -= i - k;		/* what goes back is ASCII */
		i = k;
	}
	b->len = i;
	b->p[i] = '\0';
	if (!f->url)
		buf_add(b, ELLIPSIS, sizeof(ELLIPSIS) - 1);
	return acc;
}

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

static void
path_push_key(struct cc *c, const char *key)
{
	if (c->pathlen >= sizeof(c->path) - 1)
		return;
	snprintf(c->path + c->pathlen, sizeof(c->path) - c->pathlen, "%s%s",
	    c->pathlen > 0 ? "." : "", key);
	c->pathlen = strlen(c->path);
}

static void
path_push_index(struct cc *c, size_t i)
{
	if (c->pathlen >= sizeof(c->path) - 1)
		return;
	snprintf(c->path + c->pathlen, sizeof(c->path) - c->pathlen, "[%zu]", i);
	c->pathlen = strlen(c->path);
}

static void
path_pop(struct cc *c, size_t len)
{
	c->pathlen = len;
	c->path[len] = '\0';
}

/* Writes "PATH: what" (or only "what" for the spec as a whole); returns -1. */
static int
fail(struct cc *c, const char *fmt, ...)
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

static int
in_list(const char *const *list, const char *s)
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

static int
check_keys(struct cc *c, json_t *obj, const char *const *known)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		if (!in_list(known, key)) {
			path_push_key(c, key);
			return fail(c, "unknown key");
		}
	}
	return 0;
}

/* Reads a text value. YAML's plain scalars arrive as JSON integers and booleans; a
 * label of 1 or a sticker id of 446 is still text, so they are turned into strings in
 * the spec copy. The path must already name the key. */
static int
spec_str(struct cc *c, json_t *obj, const char *key, int required, const char **out)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL)
		return required ? fail(c, "required") : 0;
	if (json_is_integer(v) || json_is_boolean(v)) {
		json_t *s = json_is_integer(v) ?
		    json_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v)) :
		    json_string(json_is_true(v) ? "true" : "false");

		json_object_set_new(obj, key, s);
		v = s;
	}
	if (!json_is_string(v))
		return fail(c, "must be text");
	*out = json_string_value(v);
	if (required && **out == '\0')
		return fail(c, "must not be empty");
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
	char list[256] = "";
	size_t n = 0;

	for (const char *const *a = c->allowed; a != NULL && *a != NULL; a++) {
		if (n > 0 && n < sizeof(list))
			n += (size_t)snprintf(list + n, sizeof(list) - n, ", ");
		if (n < sizeof(list))
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s", *a);
	}
	if (n == 0)
		return fail(c, "unknown placeholder {%.*s}; this message takes none",
		    (int)len, name);
	return fail(c, "unknown placeholder {%.*s}; allowed: %s", (int)len, name, list);
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
	return in_list(link, name);
}

static void
slot_free(struct slot *s)
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
static int
str_compile(struct cc *c, const char *s, const struct field *f, int lenient,
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
			fixed += count_units(s + sl->seg[k].off, sl->seg[k].len, f->unit);
	if (!lenient && f->limit > 0 && fixed > f->limit) {
		fail(c, "too long%s: %zu %s, at most %zu",
		    sl->nvars > 0 ? " even without its placeholders" : "", fixed,
		    f->unit == UNIT_UTF16 ? "UTF-16 units" : "characters", f->limit);
		goto err;
	}
	if (f->scheme != SCHEME_NONE && placeholder_len(s) == 0 && !scheme_ok(s, f->scheme)) {
		fail(c, f->scheme == SCHEME_HTTPS ? "must start with https://" :
		    "must start with http://, https://, line:// or tel:");
		goto err;
	}
	*out = sl;
	return 0;
unknown:
	unknown_placeholder(c, s + i + 1, n - 2);
err:
	slot_free(sl);
	return -1;
}

static void
slot_keep(struct cc *c, struct slot *sl, json_t *node)
{
	struct msg_template *t = c->t;

	t->slots = xrealloc(t->slots, (t->nslots + 1) * sizeof(*t->slots));
	t->slots[t->nslots++] = sl;
	sl->node = node;
}

/* Sets out[okey] to the string s, as a slot when it holds placeholders. */
static int
put_str(struct cc *c, json_t *out, const char *okey, const char *s, const struct field *f,
    int lenient)
{
	struct slot *sl;
	struct buf b = { NULL, 0, 0 };
	json_t *node;

	if (str_compile(c, s, f, lenient, &sl) == -1)
		return -1;
	if (sl->nvars == 0 && lenient) {
		buf_add(&b, s, strlen(s));
		buf_cut(&b, f);
		node = json_stringn(b.p, b.len);
		free(b.p);
	} else
		node = json_string(s);
	if (node == NULL)
		fatalx("%s: string is not UTF-8", __func__);
	json_object_set_new(out, okey, node);
	if (sl->nvars > 0)
		slot_keep(c, sl, node);
	else
		slot_free(sl);
	return 0;
}

/* out[okey] from the operator's spec[skey]; *val (if asked) is the text or NULL. */
static int
field_put(struct cc *c, json_t *out, const char *okey, json_t *spec, const char *skey,
    const struct field *f, int required, const char **val)
{
	size_t saved = c->pathlen;
	const char *s;

	path_push_key(c, skey);
	if (spec_str(c, spec, skey, required, &s) == -1)
		return -1;
	if (s != NULL && put_str(c, out, okey, s, f, 0) == -1)
		return -1;
	path_pop(c, saved);
	if (val != NULL)
		*val = s;
	return 0;
}

/* Checks spec[skey] as field_put would, without putting it anywhere. */
static int
field_check(struct cc *c, json_t *spec, const char *skey, const struct field *f,
    int required, const char **val)
{
	size_t saved = c->pathlen;
	struct slot *sl;

	path_push_key(c, skey);
	if (spec_str(c, spec, skey, required, val) == -1)
		return -1;
	if (*val != NULL) {
		if (str_compile(c, *val, f, 0, &sl) == -1)
			return -1;
		slot_free(sl);
	}
	path_pop(c, saved);
	return 0;
}

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
};

static int
datetime_put(struct cc *c, json_t *a, json_t *spec, const char *key, const char *mode)
{
	const char *pat = strcmp(mode, "date") == 0 ? "9999-99-99" :
	    strcmp(mode, "time") == 0 ? "99:99" : "9999-99-99T99:99";
	const char *s;

	if (field_put(c, a, key, spec, key, &f_plain, 0, &s) == -1)
		return -1;
	if (s != NULL && strchr(s, '{') == NULL && !pattern_match(s, pat)) {
		path_push_key(c, key);
		return fail(c, "must look like %s for mode %s", strcmp(mode, "date") == 0 ?
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
	    "uri", "alias", "mode", "initial", "min", "max", NULL };
	const struct action_type *at = NULL;
	const char *type, *key, *label, *display, *mode;
	size_t saved = c->pathlen, i;
	json_t *a = NULL, *v;

	if (!json_is_object(spec)) {
		fail(c, "must be a mapping such as {type: message, label: ..., text: ...}");
		return NULL;
	}
	if (check_keys(c, spec, known) == -1)
		return NULL;
	path_push_key(c, "type");
	if (spec_str(c, spec, "type", 1, &type) == -1)
		return NULL;
	for (i = 0; i < sizeof(action_types) / sizeof(action_types[0]); i++)
		if (strcmp(action_types[i].name, type) == 0)
			at = &action_types[i];
	if (at == NULL) {
		fail(c, "unknown action type \"%s\"; use postback, message, uri or "
		    "datetimepicker", type);
		return NULL;
	}
	if (strcmp(type, "richmenuswitch") == 0 && !c->richmenu) {
		fail(c, "richmenuswitch works only in rich menus");
		return NULL;
	}
	if (c->platform == PLATFORM_WORKS && strcmp(type, "datetimepicker") == 0) {
		fail(c, "datetimepicker is not available on LINE WORKS");
		return NULL;
	}
	path_pop(c, saved);
	json_object_foreach(spec, key, v) {
		if (strcmp(key, "type") != 0 && strcmp(key, "label") != 0 &&
		    !in_list(at->keys, key)) {
			path_push_key(c, key);
			fail(c, "not used by a %s action", type);
			return NULL;
		}
	}

	a = json_object();
	json_object_set_new(a, "type", json_string(type));
	/* Rich menus read the label aloud for accessibility only: it may be left out. */
	if (field_put(c, a, "label", spec, "label", &f_label, !c->richmenu, &label) == -1)
		goto err;
	if (strcmp(type, "postback") == 0 && c->platform == PLATFORM_WORKS) {
		json_object_set_new(a, "type", json_string("message"));
		if (field_put(c, a, "postback", spec, "data", &f_300, 1, NULL) == -1 ||
		    field_put(c, a, "text", spec, "display_text", &f_300, 0, &display) == -1)
			goto err;
		if (display == NULL) {
			path_push_key(c, "label");
			if (put_str(c, a, "text", label, &f_300, 0) == -1)
				goto err;
			path_pop(c, saved);
		}
	} else if (strcmp(type, "postback") == 0) {
		if (field_put(c, a, "data", spec, "data", &f_300, 1, NULL) == -1 ||
		    field_put(c, a, "displayText", spec, "display_text", &f_300, 0, NULL) == -1)
			goto err;
	} else if (strcmp(type, "message") == 0) {
		if (field_put(c, a, "text", spec, "text", &f_300, 1, NULL) == -1)
			goto err;
	} else if (strcmp(type, "uri") == 0) {
		if (field_put(c, a, "uri", spec, "uri", &f_uri, 1, NULL) == -1)
			goto err;
	} else if (strcmp(type, "richmenuswitch") == 0) {
		if (field_put(c, a, "richMenuAliasId", spec, "alias", &f_alias, 1, NULL) == -1 ||
		    field_put(c, a, "data", spec, "data", &f_300, 1, NULL) == -1)
			goto err;
	} else {
		if (field_put(c, a, "data", spec, "data", &f_300, 1, NULL) == -1)
			goto err;
		path_push_key(c, "mode");
		if (spec_str(c, spec, "mode", 1, &mode) == -1)
			goto err;
		if (strcmp(mode, "date") != 0 && strcmp(mode, "time") != 0 &&
		    strcmp(mode, "datetime") != 0) {
			fail(c, "must be date, time or datetime");
			goto err;
		}
		path_pop(c, saved);
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
static json_t *
actions_new(struct cc *c, json_t *spec, size_t min, size_t max, const char *what,
    int quick)
{
	json_t *arr, *v, *a;
	size_t i, n, saved = c->pathlen;

	if (!json_is_array(spec)) {
		fail(c, "must be a list of actions");
		return NULL;
	}
	n = json_array_size(spec);
	if (n < min || n > max) {
		if (min == max)
			fail(c, "%zu actions; %s takes exactly %zu", n, what, min);
		else
			fail(c, "%zu actions; %s take %zu to %zu", n, what, min, max);
		return NULL;
	}
	arr = json_array();
	json_array_foreach(spec, i, v) {
		path_push_index(c, i);
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
		path_pop(c, saved);
	}
	return arr;
}

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
			u = cp_units(cp, UNIT_UTF16);
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
		return fail(c, "not available on LINE WORKS");
	if (!json_is_array(spec))
		return fail(c, "must be a list of {index, product_id, emoji_id}");
	if ((n = json_array_size(spec)) == 0 || n > EMOJIS_MAX)
		return fail(c, "%zu emojis; a text takes 1 to %d", n, EMOJIS_MAX);
	arr = json_array();
	json_object_set_new(msg, "emojis", arr);
	json_array_foreach(spec, i, e) {
		path_push_index(c, i);
		if (!json_is_object(e))
			return fail(c, "must be a mapping with index, product_id and emoji_id");
		if (check_keys(c, e, known) == -1)
			return -1;
		out = json_object();
		json_array_append_new(arr, out);
		if (field_put(c, out, "productId", e, "product_id", &f_plain, 1, NULL) == -1 ||
		    field_put(c, out, "emojiId", e, "emoji_id", &f_plain, 1, NULL) == -1)
			return -1;
		path_push_key(c, "index");
		v = json_object_get(e, "index");
		if (v == NULL)
			return fail(c, "required");
		if (!json_is_integer(v) || (idx = json_integer_value(v)) < 0)
			return fail(c, "must be the position of a $ in text, counted from 0");
		if (emoji_locate(sl, (size_t)idx, &ref) == -1)
			return fail(c, "%" JSON_INTEGER_FORMAT " is not the position of a $ in "
			    "text (counted in UTF-16 units from 0)", idx);
		for (size_t k = 0; k < sl->nemoji; k++)
			if (sl->emoji[k].seg == ref.seg && sl->emoji[k].off == ref.off)
				return fail(c, "%" JSON_INTEGER_FORMAT " is used twice", idx);
		sl->emoji = xrealloc(sl->emoji, (sl->nemoji + 1) * sizeof(*sl->emoji));
		sl->emoji[sl->nemoji++] = ref;
		json_object_set_new(out, "index", json_integer(idx));
		path_pop(c, saved);
	}
	sl->enode = arr;
	return 0;
}

/* A text message; item is NULL when the spec was the bare string. */
static json_t *
text_new(struct cc *c, json_t *item, const char *text)
{
	const struct field *f = c->platform == PLATFORM_LINE ? &f_line_text : &f_works_text;
	json_t *msg = json_object(), *node, *emojis = json_object_get(item, "emojis");
	size_t saved = c->pathlen;
	struct slot *sl = NULL;

	json_object_set_new(msg, "type", json_string("text"));
	if (item != NULL)
		path_push_key(c, "text");
	if (*text == '\0') {
		fail(c, "must not be empty");
		goto err;
	}
	if (str_compile(c, text, f, 0, &sl) == -1)
		goto err;
	if ((node = json_string(text)) == NULL)
		fatalx("%s: string is not UTF-8", __func__);
	json_object_set_new(msg, "text", node);
	path_pop(c, saved);
	if (emojis != NULL) {
		path_push_key(c, "emojis");
		if (emojis_add(c, sl, msg, emojis) == -1)
			goto err;
		path_pop(c, saved);
	}
	if (sl->nvars > 0)
		slot_keep(c, sl, node);
	else
		slot_free(sl);
	return msg;
err:
	slot_free(sl);
	json_decref(msg);
	return NULL;
}

static json_t *
sticker_new(struct cc *c, json_t *spec)
{
	static const char *const known[] = { "package_id", "sticker_id", NULL };
	json_t *msg;

	if (!json_is_object(spec)) {
		fail(c, "must be a mapping with package_id and sticker_id");
		return NULL;
	}
	if (check_keys(c, spec, known) == -1)
		return NULL;
	msg = json_object();
	json_object_set_new(msg, "type", json_string("sticker"));
	if (field_put(c, msg, "packageId", spec, "package_id", &f_plain, 1, NULL) == -1 ||
	    field_put(c, msg, "stickerId", spec, "sticker_id", &f_plain, 1, NULL) == -1) {
		json_decref(msg);
		return NULL;
	}
	return msg;
}

static json_t *
image_new(struct cc *c, json_t *spec)
{
	static const char *const known[] = { "url", "preview_url", NULL };
	const struct field *f = c->platform == PLATFORM_LINE ? &f_line_image : &f_works_image;
	const char *url, *preview;
	size_t saved = c->pathlen;
	json_t *msg;

	if (!json_is_object(spec)) {
		fail(c, "must be a mapping with url (and preview_url)");
		return NULL;
	}
	if (check_keys(c, spec, known) == -1)
		return NULL;
	msg = json_object();
	json_object_set_new(msg, "type", json_string("image"));
	if (field_put(c, msg, "originalContentUrl", spec, "url", f, 1, &url) == -1 ||
	    field_put(c, msg, "previewImageUrl", spec, "preview_url", f, 0, &preview) == -1)
		goto err;
	if (preview == NULL) {
		path_push_key(c, "url");
		if (put_str(c, msg, "previewImageUrl", url, f, 0) == -1)
			goto err;
		path_pop(c, saved);
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
		fail(c, "must be a mapping with type, text and actions");
		return NULL;
	}
	if (check_keys(c, spec, known) == -1)
		return NULL;
	path_push_key(c, "type");
	if (spec_str(c, spec, "type", 1, &type) == -1)
		return NULL;
	if (strcmp(type, "buttons") != 0 && strcmp(type, "confirm") != 0) {
		fail(c, "must be buttons or confirm");
		return NULL;
	}
	confirm = strcmp(type, "confirm") == 0;
	if (confirm && c->platform == PLATFORM_WORKS) {
		fail(c, "confirm is not available on LINE WORKS; use buttons");
		return NULL;
	}
	path_pop(c, saved);
	if (confirm || c->platform == PLATFORM_WORKS) {
		static const char *const no[] = { "thumbnail_url", "title", NULL };

		/* LINE WORKS's button template has no title: it becomes the first line. */
		for (const char *const *k = no; *k != NULL; k++) {
			if (!confirm && strcmp(*k, "title") == 0)
				continue;
			if (json_object_get(spec, *k) != NULL) {
				path_push_key(c, *k);
				fail(c, confirm ? "not used by a confirm template" :
				    "not available on LINE WORKS");
				return NULL;
			}
		}
	}

	path_push_key(c, "actions");
	if (json_object_get(spec, "actions") == NULL) {
		fail(c, "required");
		return NULL;
	}
	if (c->platform == PLATFORM_WORKS)
		actions = actions_new(c, json_object_get(spec, "actions"), 1,
		    WORKS_BUTTONS_MAX, "buttons", 0);
	else if (confirm)
		actions = actions_new(c, json_object_get(spec, "actions"), 2, 2,
		    "confirm", 0);
	else
		actions = actions_new(c, json_object_get(spec, "actions"), 1,
		    LINE_BUTTONS_MAX, "buttons", 0);
	if (actions == NULL)
		return NULL;
	path_pop(c, saved);

	if (c->platform == PLATFORM_WORKS) {
		/* LINE WORKS has no alt text; it is read only so a mistyped one still
		 * fails. */
		msg = json_object();
		json_object_set_new(msg, "type", json_string("button_template"));
		path_push_key(c, "alt_text");
		if (spec_str(c, spec, "alt_text", 0, &alt) == -1)
			goto err;
		path_pop(c, saved);
		if (field_check(c, spec, "title", &f_title, 0, &title) == -1)
			goto err;
		if (title == NULL) {
			if (field_put(c, msg, "contentText", spec, "text", &f_works_content, 1,
			    NULL) == -1)
				goto err;
		} else {
			char *both;
			int rc;

			if (field_check(c, spec, "text", &f_works_content, 1, &text) == -1)
				goto err;
			both = xasprintf("%s\n%s", title, text);
			path_push_key(c, "text");
			rc = put_str(c, msg, "contentText", both, &f_works_content, 0);
			free(both);
			if (rc == -1)
				goto err;
			path_pop(c, saved);
		}
		json_object_set_new(msg, "actions", actions);
		return msg;
	}

	msg = json_object();
	tmpl = json_object();
	json_object_set_new(msg, "type", json_string("template"));
	json_object_set_new(tmpl, "type", json_string(type));
	if (field_put(c, tmpl, "title", spec, "title", &f_title, 0, &title) == -1 ||
	    field_put(c, tmpl, "thumbnailImageUrl", spec, "thumbnail_url", &f_line_image, 0,
	    &thumb) == -1)
		goto err;
	tf = confirm ? &f_confirm_text :
	    title != NULL || thumb != NULL ? &f_buttons_text_image : &f_buttons_text;
	if (field_put(c, tmpl, "text", spec, "text", tf, 1, &text) == -1)
		goto err;
	json_object_set_new(tmpl, "actions", actions);
	actions = NULL;
	path_push_key(c, "alt_text");
	if (spec_str(c, spec, "alt_text", 0, &alt) == -1)
		goto err;
	if (alt != NULL && *alt == '\0') {
		fail(c, "must not be empty");
		goto err;
	}
	if (put_str(c, msg, "altText", alt != NULL ? alt : text, &f_alt, alt == NULL) == -1)
		goto err;
	path_pop(c, saved);
	json_object_set_new(msg, "template", tmpl);
	return msg;
err:
	json_decref(actions);
	json_decref(tmpl);
	json_decref(msg);
	return NULL;
}

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
			path_push_key(c, k);
			if (flex_walk(c, v, k) == -1)
				return -1;
			path_pop(c, saved);
		}
	} else if (json_is_array(node)) {
		json_array_foreach(node, i, v) {
			path_push_index(c, i);
			if (flex_walk(c, v, NULL) == -1)
				return -1;
			path_pop(c, saved);
		}
	} else if (json_is_string(node)) {
		const struct field *f = key == NULL ? &f_plain :
		    strcmp(key, "uri") == 0 ? &f_flex_uri :
		    strcmp(key, "url") == 0 ? &f_flex_url : &f_plain;

		if (str_compile(c, json_string_value(node), f, 0, &sl) == -1)
			return -1;
		if (sl->nvars > 0)
			slot_keep(c, sl, node);
		else
			slot_free(sl);
	}
	return 0;
}

static json_t *
flex_new(struct cc *c, json_t *spec)
{
	static const char *const known[] = { "alt_text", "contents", NULL };
	size_t saved = c->pathlen, len, max;
	json_t *msg = NULL, *contents = NULL, *v;
	json_error_t jerr;
	const char *type;
	char *dump;

	if (c->platform == PLATFORM_WORKS) {
		fail(c, "not available on LINE WORKS");
		return NULL;
	}
	if (!json_is_object(spec)) {
		fail(c, "must be a mapping with alt_text and contents");
		return NULL;
	}
	if (check_keys(c, spec, known) == -1)
		return NULL;
	msg = json_object();
	json_object_set_new(msg, "type", json_string("flex"));
	if (field_put(c, msg, "altText", spec, "alt_text", &f_alt, 1, NULL) == -1)
		goto err;
	path_push_key(c, "contents");
	v = json_object_get(spec, "contents");
	if (v == NULL) {
		fail(c, "required");
		goto err;
	}
	if (json_is_string(v)) {
		/* JSON pasted from LINE's Flex Message Simulator. */
		contents = json_loads(json_string_value(v), JSON_REJECT_DUPLICATES, &jerr);
		if (contents == NULL) {
			fail(c, "not valid JSON: %s (line %d, column %d)", jerr.text, jerr.line,
			    jerr.column);
			goto err;
		}
	} else if (json_is_object(v))
		contents = json_incref(v);
	else {
		fail(c, "must be a bubble or a carousel: a mapping, or the JSON text from "
		    "the Flex Message Simulator");
		goto err;
	}
	type = json_string_value(json_object_get(contents, "type"));
	if (type != NULL && strcmp(type, "flex") == 0) {
		fail(c, "give only the bubble or carousel inside, not the whole flex message");
		goto err;
	}
	if (type == NULL || (strcmp(type, "bubble") != 0 && strcmp(type, "carousel") != 0)) {
		fail(c, "must be a bubble or a carousel (its type is %s%s%s)",
		    type != NULL ? "\"" : "", type != NULL ? type : "missing",
		    type != NULL ? "\"" : "");
		goto err;
	}
	if (strcmp(type, "carousel") == 0 &&
	    json_array_size(json_object_get(contents, "contents")) > FLEX_BUBBLES_MAX) {
		fail(c, "%zu bubbles; a carousel takes at most %d",
		    json_array_size(json_object_get(contents, "contents")), FLEX_BUBBLES_MAX);
		goto err;
	}
	max = strcmp(type, "bubble") == 0 ? FLEX_BUBBLE_MAX : FLEX_CAROUSEL_MAX;
	if ((dump = json_dumps(contents, JSON_COMPACT)) == NULL)
		fatalx("%s: json_dumps failed", __func__);
	len = strlen(dump);
	free(dump);
	if (len > max) {
		fail(c, "%zu bytes of JSON; LINE takes at most %zu for a %s", len, max, type);
		goto err;
	}
	if (flex_walk(c, contents, NULL) == -1)
		goto err;
	path_pop(c, saved);
	json_object_set_new(msg, "contents", contents);
	return msg;
err:
	json_decref(contents);
	json_decref(msg);
	return NULL;
}

static int
item_add(struct cc *c, json_t *item, json_t *out)
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
		return fail(c, "must be text, or a mapping with one of text, sticker, image, "
		    "template, flex");
	if (check_keys(c, item, known) == -1)
		return -1;
	for (const char *const *f = forms; *f != NULL; f++) {
		if (json_object_get(item, *f) == NULL)
			continue;
		if (form != NULL)
			return fail(c, "has both %s and %s; one message holds one of them",
			    form, *f);
		form = *f;
	}
	if (form == NULL)
		return fail(c, "needs one of text, sticker, image, template, flex");
	if (strcmp(form, "text") != 0 && json_object_get(item, "emojis") != NULL) {
		path_push_key(c, "emojis");
		return fail(c, "go with text only");
	}
	if (strcmp(form, "text") == 0) {
		path_push_key(c, "text");
		if (spec_str(c, item, "text", 1, &text) == -1)
			return -1;
		path_pop(c, saved);
		msg = text_new(c, item, text);
	} else {
		path_push_key(c, form);
		v = json_object_get(item, form);
		if (strcmp(form, "sticker") == 0)
			msg = sticker_new(c, v);
		else if (strcmp(form, "image") == 0)
			msg = image_new(c, v);
		else if (strcmp(form, "template") == 0)
			msg = template_new(c, v);
		else
			msg = flex_new(c, v);
		path_pop(c, saved);
	}
	if (msg == NULL)
		return -1;
	if ((v = json_object_get(item, "quick_replies")) != NULL) {
		path_push_key(c, "quick_replies");
		if ((qr = actions_new(c, v, 1, QUICK_REPLY_MAX, "quick replies", 1)) == NULL) {
			json_decref(msg);
			return -1;
		}
		json_object_set_new(msg, "quickReply", json_pack("{s:o}", "items", qr));
		path_pop(c, saved);
	}
	json_array_append_new(out, msg);
	return 0;
}

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
		fail(&c, "no message given");
		goto err;
	}
	/* Our own copy: integers become strings in it, and flex contents are shared. */
	copy = json_deep_copy(spec);
	if (json_is_array(copy)) {
		n = json_array_size(copy);
		if (n == 0 || n > MSG_ITEMS_MAX) {
			fail(&c, "%zu messages; one reply or push takes 1 to %d", n,
			    MSG_ITEMS_MAX);
			goto err;
		}
		json_array_foreach(copy, i, item) {
			path_push_index(&c, i);
			if (item_add(&c, item, out) == -1)
				goto err;
			path_pop(&c, 0);
		}
	} else if (json_is_object(copy) || json_is_string(copy)) {
		if (item_add(&c, copy, out) == -1)
			goto err;
	} else {
		fail(&c, "must be text, a mapping, or a list of 1 to %d messages", MSG_ITEMS_MAX);
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

void
msg_template_free(struct msg_template *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nslots; i++)
		slot_free(t->slots[i]);
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
	buf_add(&b, "", 0);
	for (size_t k = 0; k < s->nseg; k++) {
		const struct seg *g = &s->seg[k];

		before = b.len;
		if (g->var == -1)
			buf_add(&b, s->src + g->off, g->len);
		else
			buf_add_value(&b, values[g->var], s->f.url && !g->raw, cap);
		if (segu != NULL) {
			segu[k] = units;
			units += count_units(b.p + before, b.len - before, UNIT_UTF16);
		}
	}
	kept = buf_cut(&b, &s->f);
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
