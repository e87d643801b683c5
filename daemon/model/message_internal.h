/* message_internal.h: what the message compiler's files share, private to
 * daemon/model/message*.c: the compiled template, its slots and fields, the load-time
 * state, and the helpers each file offers the others. model.h has the public API. */
#ifndef SHOKAI_MESSAGE_INTERNAL_H
#define SHOKAI_MESSAGE_INTERNAL_H

#include <jansson.h>

#include "model.h"

#define SPEC_PATH_LEN	256

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

/* message_limit.c: each string field of a message and its limit on each platform. */
extern const struct field msg_f_plain;
extern const struct field msg_f_line_text;
extern const struct field msg_f_works_text;
extern const struct field msg_f_works_content;
extern const struct field msg_f_alt;
extern const struct field msg_f_title;
extern const struct field msg_f_buttons_text;
extern const struct field msg_f_buttons_text_image;
extern const struct field msg_f_confirm_text;
extern const struct field msg_f_label;
extern const struct field msg_f_alias;
extern const struct field msg_f_300;
extern const struct field msg_f_1000;
extern const struct field msg_f_uri;
extern const struct field msg_f_line_image;
extern const struct field msg_f_works_image;
extern const struct field msg_f_flex_uri;
extern const struct field msg_f_flex_url;

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

/* A growing string, always NUL-terminated. */
struct buf {
	char		*p;
	size_t		 len, cap;
};

/* message_limit.c */
/* Appends n bytes of p. */
void msg_buf_add(struct buf *, const void *p, size_t n);
/* Cuts b to the field's limit, ending with "…" (a URL is cut bare, and never inside a
 * %XX escape); never inside a UTF-8 sequence. Returns the units kept before any "…". */
size_t msg_buf_cut(struct buf *, const struct field *);

/* message_compile.c: the load-time helpers every message form uses. */
/* Writes "PATH: what" (or only "what" for the spec as a whole) into c->err; -1. */
int msg_fail(struct cc *, const char *, ...) __attribute__((format(printf, 2, 3)));
void msg_path_push_key(struct cc *, const char *key);
void msg_path_push_index(struct cc *, size_t);
void msg_path_pop(struct cc *, size_t len);
int msg_in_list(const char *const *list, const char *s);
/* -1 (after msg_fail) when obj has a key not in known. */
int msg_check_keys(struct cc *, json_t *obj, const char *const *known);
/* Reads obj[key] as text (plain YAML numbers and booleans turned into strings); the
 * path must already name the key. */
int msg_spec_str(struct cc *, json_t *obj, const char *key, int required,
    const char **out);
/* Splits s into literal pieces and placeholders, checked against the allowed names and
 * the field; the caller keeps the slot (msg_slot_keep) when it has vars. */
int msg_str_compile(struct cc *, const char *s, const struct field *, int lenient,
    struct slot **out);
void msg_slot_keep(struct cc *, struct slot *, json_t *node);
void msg_slot_free(struct slot *);
/* Sets out[okey] to the string s, as a slot when it holds placeholders. */
int msg_put_str(struct cc *, json_t *out, const char *okey, const char *s,
    const struct field *, int lenient);
/* out[okey] from the operator's spec[skey]; *val (if asked) is the text or NULL. */
int msg_field_put(struct cc *, json_t *out, const char *okey, json_t *spec,
    const char *skey, const struct field *, int required, const char **val);
/* Checks spec[skey] as msg_field_put would, without putting it anywhere. */
int msg_field_check(struct cc *, json_t *spec, const char *skey, const struct field *,
    int required, const char **val);

/* message_action.c: a list of min..max actions (buttons or, with quick, quick reply
 * items); NULL after msg_fail. */
json_t *msg_actions_new(struct cc *, json_t *spec, size_t min, size_t max,
    const char *what, int quick);

/* message_item.c: one message of a spec, appended to out; -1 after msg_fail. */
int msg_item_add(struct cc *, json_t *item, json_t *out);

/* message_flex.c: a flex message (LINE only); NULL after msg_fail. */
json_t *msg_flex_new(struct cc *, json_t *spec);

#endif
