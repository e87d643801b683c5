/* model.h: the product's vocabulary, pure (no I/O, no daemon): the normalised event,
 * message templates, text matching, postback data, images, referral codes and the
 * referral and reward state machines. Unit-tested and fuzzed directly. */
#ifndef SHOKAI_MODEL_H
#define SHOKAI_MODEL_H

#include "../base/base.h"

struct json_t;

/* event.c: the one normalised event handlers see, whichever platform sent it. */
struct event {
	int64_t	 inbox_id;		/* 0 until stored */
	enum platform platform;
	char	*channel;		/* config id of the LINE channel or LINE WORKS bot */
	char	*event_key;		/* dedupe key: webhookEventId, or a content hash */
	char	*type;			/* "message", "follow", ... as the platform names it */
	int	 known;			/* 1 when the type is one the platform documents */
	char	*mode;			/* LINE "active" | "standby"; NULL for LINE WORKS */
	int	 redelivery;
	char	*source_type;		/* "user", "group", "room" (LINE); "user", "channel" (WORKS) */
	char	*user_id;
	char	*group_id;		/* groupId/roomId (LINE) or channelId (WORKS) */
	char	*reply_token;
	int64_t	 timestamp_ms;
	char	*message_id;
	char	*message_type;		/* "text", "sticker", "image", ... */
	char	*text;
	char	*postback_data;
	char	*postback_params;	/* JSON text of LINE postback.params */
	char	*message_meta;		/* JSON: a message's other fields the conversation
					 * log keeps (sticker ids, file name, markAsReadToken) */
	int	 unblocked;		/* LINE follow.isUnblocked */
};
struct event_list {
	struct event	*v;
	size_t		 n;
};
const char *platform_name(enum platform);
void event_clear(struct event *);
void event_list_free(struct event_list *);
struct event *event_list_add(struct event_list *);
/* Clears the first k events and moves the rest to the front. */
void event_list_drop_front(struct event_list *, size_t k);
/* Copies a JSON string member (or NULL when absent or not a string). */
char *event_json_str(struct json_t *obj, const char *key);


#define MSG_VARS_MAX	32
/* message.c (with message_*.c): message templates. An operator's message spec (YAML
 * turned into JSON by config_chat.c, keys as written) is checked once at load and
 * rendered for each send (message_render.c).
 * Placeholders are {name} ([a-z_][a-z0-9_]*); a template may use only the names it is
 * given at load. */
struct msg_template;
struct msg_vars {
	const char	*name[MSG_VARS_MAX];
	const char	*value[MSG_VARS_MAX];	/* NULL or absent: rendered as "" */
	size_t		 n;
};
/* spec is borrowed. allowed is NULL-terminated. On error returns NULL with err set to
 * "PATH: what is wrong", PATH relative to the spec ("[1].template.actions[0].label"). */
struct msg_template *msg_template_new(const struct json_t *spec, enum platform,
    const char *const *allowed, char *err, size_t errlen);
void msg_template_free(struct msg_template *);
/* A rich menu area's action, checked like a template's and allowing richmenuswitch;
 * NULL with err set to "PATH: what is wrong". */
struct json_t *msg_menu_action_new(const struct json_t *spec, char *err, size_t errlen);
/* A new JSON array of message objects as the platform takes them (LINE: 1-5 message
 * objects for one reply or push; LINE WORKS: one "content" object per element, each
 * sent as its own message). Rendered texts are cut to the platform's limits. */
struct json_t *msg_template_render(const struct msg_template *, const struct msg_vars *);
/* Placeholder names the template uses, for config checks; NULL-terminated, borrowed. */
const char *const *msg_template_placeholders(const struct msg_template *);
void msg_vars_set(struct msg_vars *, const char *name, const char *value);

/* json_text.c: json_dumps(v, JSON_COMPACT)'s bytes, written at a fraction of its
 * cost (every message body goes through it); NULL where jansson fails too. Freed by
 * the caller with free(). */
char *json_text(struct json_t *v);

/* textmatch.c: what keyword rules compare. */
/* Folds full-width ASCII and space to half-width, half-width katakana to full-width
 * (joining voiced marks), ASCII to lower case, and trims and collapses white space.
 * Returns a new string the caller frees. Invalid UTF-8 bytes are kept as they are. */
char *text_normalize(const char *utf8);

/* postback_data.c: LINE postback data "action=NAME&key=value" (URL-encoded). */
#define POSTBACK_PARAMS_MAX	16
struct postback {
	char	*action;			/* NULL when data has no action */
	char	*key[POSTBACK_PARAMS_MAX];
	char	*value[POSTBACK_PARAMS_MAX];
	size_t	 n;
};
/* 0, or -1 with why set (bad escape, too many parameters, empty key). */
int postback_parse(const char *data, struct postback *, char *why, size_t whylen);
const char *postback_get(const struct postback *, const char *key);
void postback_clear(struct postback *);

/* image.c: rich menu images. */
enum image_type { IMAGE_UNKNOWN, IMAGE_PNG, IMAGE_JPEG };
/* Reads the type and pixel size from a PNG or JPEG header. 0, or -1 with why. */
int image_probe(const unsigned char *data, size_t len, enum image_type *,
    unsigned *width, unsigned *height, char *why, size_t whylen);
const char *image_content_type(enum image_type);


/* referral_fsm.c: the referral and reward state machines. */
enum ref_state { REF_HELD, REF_CLAIMED, REF_CONTACTED, REF_MEETING, REF_WON, REF_LOST,
	REF_SUSPICIOUS, REF_REJECTED, REF_STATE_COUNT };
enum reward_state { REWARD_PENDING, REWARD_APPROVED, REWARD_ISSUED, REWARD_VOIDED,
	REWARD_STATE_COUNT };
enum { ACTOR_SYSTEM = 1, ACTOR_REP = 2, ACTOR_OPERATOR = 4 };
/* 0 when actor may make the move; -1 with why ("a rep cannot move ...") otherwise. */
int ref_transition_check(enum ref_state from, enum ref_state to, unsigned actor, char *why,
    size_t whylen);
int reward_transition_check(enum reward_state from, enum reward_state to, unsigned actor,
    char *why, size_t whylen);
int ref_state_final(enum ref_state);
/* The stored names (claimed, won, ...); what people read and type for a state is
 * wording, in the config (config_state_label, config_state_from_word). */
const char *ref_state_name(enum ref_state);
const char *reward_state_name(enum reward_state);
int ref_state_parse(const char *name, enum ref_state *);
int reward_state_parse(const char *name, enum reward_state *);

/* refcode.c: referral codes: 8 Crockford base32 characters (40 random bits) and a
 * check character. */
#define REFCODE_LEN	9
#define REFCODE_RANDOM	5	/* bytes: 40 bits */
/* The code these random bytes make; refcode_new draws them from OpenSSL, the store from
 * its write connection's pool (store_random: no lock and fork check per code). */
void refcode_make(const unsigned char rnd[REFCODE_RANDOM], char out[REFCODE_LEN + 1]);
int refcode_new(char out[REFCODE_LEN + 1]);
/* 0 with the canonical (upper case) form in out when code is a well-formed code. */
int refcode_valid(const char *code, char out[REFCODE_LEN + 1]);
/* The code as people read it aloud and copy it, in two groups (ADYB-GHTA7); a friend
 * may type it so, refcode_find reads it back. */
void refcode_display(const char *code, char out[REFCODE_LEN + 2]);
/* A friend a rep registered from LINE WORKS (紹介登録) has no LINE user id: the
 * referral's referee is this prefix, the rep's code and a hash of the name given.
 * Nothing is ever sent to such a referee on LINE. */
#define REP_REGISTERED_PREFIX	"works:"
int referee_on_line(const char *referee_id);
/* Well-formed codes found in a customer's text (any width, case, spaced), at most max. */
size_t refcode_find(const char *text, char out[][REFCODE_LEN + 1], size_t max);

/* segment.c: who an announcement goes to, as written: "all", "branch:CODE",
 * "rep:CODE", "not_referred", "referred", "tag:TAG". */
enum seg_kind { SEG_ALL, SEG_BRANCH, SEG_REP, SEG_NOT_REFERRED, SEG_REFERRED, SEG_TAG,
	SEG_KIND_COUNT };
#define SEG_ARG_MAX	64
struct segment {
	enum seg_kind	 kind;
	char		 arg[SEG_ARG_MAX + 1];	/* branch or rep code, tag; "" for none */
};
const char *seg_kind_name(enum seg_kind);
/* 0 when name[0..len) is a kind's name. */
int seg_kind_parse(const char *name, size_t len, enum seg_kind *);
/* 1 when s may be a segment's code or tag: 1-64 letters, digits, '-' or '_'. */
int seg_arg_valid(const char *s);
/* 0, or -1 with why naming what is wrong. */
int seg_parse(const char *text, struct segment *, char *why, size_t whylen);
/* The written form back ("branch:shinjuku"). */
void seg_format(const struct segment *, char *out, size_t outlen);


#endif
