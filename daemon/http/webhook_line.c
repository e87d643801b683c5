/* webhook_line.c: turns a verified LINE webhook body into normalised events. Lenient
 * where LINE is (the SDKs' own fixtures lack webhookEventId, deliveryContext and mode);
 * strict about the shape that matters (an object with an events array of objects that
 * each have a type), so anything else is quarantined rather than half-read. */
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <jansson.h>

#include "../shokaid.h"

static const char *const line_types[] = { "message", "unsend", "follow", "unfollow",
    "join", "leave", "memberJoined", "memberLeft", "postback", "videoPlayComplete",
    "beacon", "accountLink", "membership", "things", "delivery", "module", "activated",
    "deactivated", "botSuspended", "botResumed", "messageEdited", NULL };

static int
known_type(const char *type)
{
	for (const char *const *t = line_types; *t != NULL; t++)
		if (strcmp(*t, type) == 0)
			return 1;
	return 0;
}

/* cJSON allocates every node, key and string of a tree apart and frees them one by one:
 * for a webhook that was half of its parse and free (make bench-instr, 1 event per body:
 * 19 k + 17.5 k instructions). While a thread parses a body, what cJSON asks for comes
 * from a buffer on that thread's stack instead (struct json_arena, set in
 * webhook_line_parse for the parse's length), and cJSON_Delete's frees of it cost nothing;
 * what does not fit, and whatever cJSON allocates when no parse of ours is under way,
 * comes from malloc as before. cJSON's hooks are process-wide, set once. */
#define JSON_ARENA_SIZE		(32 * 1024)
/* ASan builds (make check, the fuzzers) leave every allocation to malloc, where ASan
 * sees each one's bounds and lifetime. */
#ifdef __SANITIZE_ADDRESS__
#define JSON_ARENA_ON		0
#else
#define JSON_ARENA_ON		1
#endif

struct json_arena {
	unsigned char	*buf;
	size_t		 used;
};

static _Thread_local struct json_arena *parsing;

static void *
arena_malloc(size_t n)
{
	struct json_arena *a = parsing;
	size_t room = a != NULL ? JSON_ARENA_SIZE - a->used : 0;
	size_t take = (n + (_Alignof(max_align_t) - 1)) & ~(size_t)(_Alignof(max_align_t) - 1);

	if (take < n || take > room)
		return malloc(n);
	a->used += take;
	return a->buf + a->used - take;
}

static void
arena_free(void *p)
{
	struct json_arena *a = parsing;
	uintptr_t at = (uintptr_t)p;

	if (a != NULL && at >= (uintptr_t)a->buf && at < (uintptr_t)a->buf + JSON_ARENA_SIZE)
		return;
	free(p);
}

static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

static void
arena_hooks_install(void)
{
	cJSON_Hooks hooks = { .malloc_fn = arena_malloc, .free_fn = arena_free };

	cJSON_InitHooks(&hooks);
}

/* A member of an object, NULL when obj is not an object or has no such key. */
static const cJSON *
member(const cJSON *obj, const char *key)
{
	return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

static char *
member_str(const cJSON *obj, const char *key)
{
	const cJSON *v = member(obj, key);

	return cJSON_IsString(v) ? xstrdup(v->valuestring) : NULL;
}

/* cJSON keeps every number as a double; this is the integer it spells, if it is one
 * that an int64_t holds (a cast of anything else is undefined). */
static int
whole_number(const cJSON *v, int64_t *out)
{
	double d;

	if (!cJSON_IsNumber(v))
		return 0;
	d = v->valuedouble;
	if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0) || d != (double)(int64_t)d)
		return 0;
	*out = (int64_t)d;
	return 1;
}

/* jansson's reading of a cJSON value, for the few parts kept as JSON text (a message's
 * meta, a postback's params): jansson writes them, with sorted keys, as before. */
static json_t *
to_jansson(const cJSON *v)
{
	json_t *out;
	int64_t whole;

	if (cJSON_IsString(v))
		return json_string(v->valuestring);
	if (whole_number(v, &whole))
		return json_integer((json_int_t)whole);
	if (cJSON_IsNumber(v))	/* jansson refuses infinities: they become null */
		return isfinite(v->valuedouble) ? json_real(v->valuedouble) : json_null();
	if (cJSON_IsBool(v))
		return json_boolean(cJSON_IsTrue(v));
	if (cJSON_IsArray(v)) {
		out = json_array();
		for (const cJSON *c = v->child; c != NULL; c = c->next)
			json_array_append_new(out, to_jansson(c));
		return out;
	}
	if (cJSON_IsObject(v)) {
		out = json_object();
		for (const cJSON *c = v->child; c != NULL; c = c->next)
			json_object_set_new(out, c->string, to_jansson(c));
		return out;
	}
	return json_null();
}

/* What the conversation log shows of a message beyond its text, and the token that
 * marks it read: a sticker's ids, a file's name, a location's title and address. The
 * rest (content, emojis, mentions) is not kept. NULL when the message has none. */
static char *
message_meta(const cJSON *msg)
{
	static const char *const keep[] = { "packageId", "stickerId", "fileName", "title",
	    "address", "markAsReadToken" };
	json_t *meta = NULL;
	char *out = NULL;

	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		const cJSON *v = member(msg, keep[i]);

		if (!cJSON_IsString(v) || strlen(v->valuestring) > 512)
			continue;
		if (meta == NULL)
			meta = json_object();
		json_object_set_new(meta, keep[i], json_string(v->valuestring));
	}
	if (meta != NULL)
		out = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(meta);
	return out;
}

static void
parse_event(const cJSON *je, struct event *ev)
{
	const cJSON *source = member(je, "source");
	const cJSON *msg = member(je, "message");
	const cJSON *pb = member(je, "postback");
	const cJSON *ts = member(je, "timestamp");
	const cJSON *unsend = member(je, "unsend");

	ev->known = known_type(ev->type);
	ev->mode = member_str(je, "mode");
	ev->redelivery = cJSON_IsTrue(member(member(je, "deliveryContext"), "isRedelivery"));
	ev->source_type = member_str(source, "type");
	ev->user_id = member_str(source, "userId");
	ev->group_id = member_str(source, "groupId");
	if (ev->group_id == NULL)
		ev->group_id = member_str(source, "roomId");
	ev->reply_token = member_str(je, "replyToken");
	/* Milliseconds since 1970 are exact in a double until the year 287,000. */
	if (!whole_number(ts, &ev->timestamp_ms))
		ev->timestamp_ms = 0;
	if (cJSON_IsObject(msg)) {
		ev->message_id = member_str(msg, "id");
		ev->message_type = member_str(msg, "type");
		ev->text = member_str(msg, "text");
		ev->message_meta = message_meta(msg);
	} else if (cJSON_IsObject(unsend))
		ev->message_id = member_str(unsend, "messageId");
	if (cJSON_IsObject(pb)) {
		const cJSON *params = member(pb, "params");

		ev->postback_data = member_str(pb, "data");
		if (cJSON_IsObject(params) && params->child != NULL) {
			json_t *jp = to_jansson(params);

			ev->postback_params = json_dumps(jp, JSON_COMPACT | JSON_SORT_KEYS);
			json_decref(jp);
		}
	}
	ev->unblocked = cJSON_IsTrue(member(member(je, "follow"), "isUnblocked"));
}

/* JSON's whitespace other than the space. */
static int
json_space(char c)
{
	return c == '\t' || c == '\r' || c == '\n';
}

/* Is any object in v holding the same key twice? Which of the two a reader takes is
 * up to the reader, so such a body is refused rather than read one way here and
 * another in the quarantine. Keys are compared as written (an escaped twin passes). */
static int
has_duplicate_key(const cJSON *v)
{
	for (const cJSON *c = v->child; c != NULL; c = c->next) {
		if (cJSON_IsObject(v))
			for (const cJSON *d = c->next; d != NULL; d = d->next)
				if (strcmp(c->string, d->string) == 0)
					return 1;
		if (c->child != NULL && has_duplicate_key(c))
			return 1;
	}
	return 0;
}

/* Parses body into *root. cJSON reads past what a strict reader refuses, so this
 * refuses it here: bytes that are not UTF-8 and raw control characters (cJSON copies
 * them), a byte order mark (cJSON skips it), anything after the value, and duplicate
 * keys. Only the loop thread parses webhooks: cJSON keeps its last parse error in one
 * process-wide record. */
static int
parse_json(const char *body, size_t len, cJSON **root, char *why, size_t whylen)
{
	const char *end = NULL;
	size_t at, line = 1, col = 1;

	*root = NULL;
	if (!utf8_valid(body, len)) {
		snprintf(why, whylen, "body is not valid JSON (not UTF-8)");
		return -1;
	}
	for (at = 0; at < len; at++)
		if ((unsigned char)body[at] < 0x20 && !json_space(body[at])) {
			snprintf(why, whylen, "body is not valid JSON (control character 0x%02x "
			    "at byte %zu)", (unsigned)body[at], at);
			return -1;
		}
	if (len >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0) {
		snprintf(why, whylen, "body is not valid JSON (a byte order mark before it)");
		return -1;
	}
	*root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (*root != NULL) {
		while (end < body + len && (json_space(*end) || *end == ' '))
			end++;
		if (end == body + len) {
			if (!has_duplicate_key(*root))
				return 0;
			snprintf(why, whylen, "body is not valid JSON (an object has a key twice)");
			cJSON_Delete(*root);
			*root = NULL;
			return -1;
		}
		cJSON_Delete(*root);
		*root = NULL;
	}
	/* Where it went wrong is enough to find it in the quarantined row. */
	at = end != NULL && end >= body && end <= body + len ? (size_t)(end - body) : 0;
	for (size_t i = 0; i < at; i++) {
		if (body[i] == '\n') {
			line++;
			col = 1;
		} else if (((unsigned char)body[i] & 0xc0) != 0x80)
			col++;
	}
	snprintf(why, whylen, "body is not valid JSON (at line %zu, column %zu)", line, col);
	return -1;
}

int
webhook_line_parse(const char *channel, const char *body, size_t len,
    const char *expect_destination, struct event_list *out, char *why, size_t whylen)
{
	_Alignas(max_align_t) unsigned char arena_buf[JSON_ARENA_SIZE];
	struct json_arena arena = { .buf = arena_buf };
	cJSON *root;
	const cJSON *events, *je, *dest;
	char body_hash[65] = "";
	size_t i;
	int rc = -1;

	pthread_once(&hooks_once, arena_hooks_install);
	parsing = JSON_ARENA_ON ? &arena : NULL;
	if (parse_json(body, len, &root, why, whylen) == -1)
		goto done;	/* root is NULL */
	if (!cJSON_IsObject(root)) {
		snprintf(why, whylen, "body is not a JSON object");
		goto done;
	}
	events = member(root, "events");
	if (!cJSON_IsArray(events)) {
		snprintf(why, whylen, "body has no events array");
		goto done;
	}
	dest = member(root, "destination");
	if (expect_destination != NULL && (!cJSON_IsString(dest) ||
	    strcmp(dest->valuestring, expect_destination) != 0)) {
		snprintf(why, whylen, "destination is not this channel's bot user id");
		goto done;
	}
	i = 0;
	cJSON_ArrayForEach(je, events) {
		if (!cJSON_IsString(member(je, "type"))) {
			snprintf(why, whylen, "events[%zu] is not an object with a string type", i);
			goto done;
		}
		i++;
	}
	i = 0;
	cJSON_ArrayForEach(je, events) {
		struct event *ev = event_list_add(out);

		ev->platform = PLATFORM_LINE;
		ev->channel = xstrdup(channel);
		ev->type = member_str(je, "type");
		ev->event_key = member_str(je, "webhookEventId");
		if (ev->event_key == NULL || *ev->event_key == '\0') {
			/* Old payloads carry no id: a byte-identical redelivery still dedupes. */
			free(ev->event_key);
			if (body_hash[0] == '\0')
				sha256_hex("", 0, body, len, body_hash);
			ev->event_key = xasprintf("h:%s:%zu", body_hash, i);
		}
		parse_event(je, ev);
		i++;
	}
	rc = 0;
done:
	if (rc == -1)
		event_list_free(out);
	cJSON_Delete(root);
	parsing = NULL;
	return rc;
}
