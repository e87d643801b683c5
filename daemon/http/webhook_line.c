/* webhook_line.c: turns a verified LINE webhook body into normalised events. Lenient
 * where LINE is (the SDKs' own fixtures lack webhookEventId, deliveryContext and mode);
 * strict about the shape that matters (an object with an events array of objects that
 * each have a type), so anything else is quarantined rather than half-read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* What the conversation log shows of a message beyond its text, and the token that
 * marks it read: a sticker's ids, a file's name, a location's title and address. The
 * rest (content, emojis, mentions) is not kept. NULL when the message has none. */
static char *
message_meta(json_t *msg)
{
	static const char *const keep[] = { "packageId", "stickerId", "fileName", "title",
	    "address", "markAsReadToken" };
	json_t *meta = json_object();
	char *out = NULL;

	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		json_t *v = json_object_get(msg, keep[i]);

		if (json_is_string(v) && json_string_length(v) <= 512)
			json_object_set(meta, keep[i], v);
	}
	if (json_object_size(meta) > 0)
		out = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(meta);
	return out;
}

static void
parse_event(json_t *je, struct event *ev)
{
	json_t *source = json_object_get(je, "source");
	json_t *msg = json_object_get(je, "message");
	json_t *pb = json_object_get(je, "postback");
	json_t *follow = json_object_get(je, "follow");
	json_t *dc = json_object_get(je, "deliveryContext");
	json_t *ts = json_object_get(je, "timestamp");
	json_t *unsend = json_object_get(je, "unsend");

	ev->known = known_type(ev->type);
	ev->mode = event_json_str(je, "mode");
	ev->redelivery = json_is_true(json_object_get(dc, "isRedelivery"));
	ev->source_type = event_json_str(source, "type");
	ev->user_id = event_json_str(source, "userId");
	ev->group_id = event_json_str(source, "groupId");
	if (ev->group_id == NULL)
		ev->group_id = event_json_str(source, "roomId");
	ev->reply_token = event_json_str(je, "replyToken");
	if (json_is_integer(ts))
		ev->timestamp_ms = json_integer_value(ts);
	if (json_is_object(msg)) {
		ev->message_id = event_json_str(msg, "id");
		ev->message_type = event_json_str(msg, "type");
		ev->text = event_json_str(msg, "text");
		ev->message_meta = message_meta(msg);
	} else if (json_is_object(unsend))
		ev->message_id = event_json_str(unsend, "messageId");
	if (json_is_object(pb)) {
		json_t *params = json_object_get(pb, "params");

		ev->postback_data = event_json_str(pb, "data");
		if (json_is_object(params) && json_object_size(params) > 0)
			ev->postback_params = json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS);
	}
	ev->unblocked = json_is_true(json_object_get(follow, "isUnblocked"));
}

int
webhook_line_parse(const char *channel, const char *body, size_t len,
    const char *expect_destination, struct event_list *out, char *why, size_t whylen)
{
	json_error_t jerr;
	json_t *root, *events, *je;
	const char *dest;
	char body_hash[65] = "";
	size_t i;
	int rc = -1;

	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		/* Not jansson's text: it quotes the body near the error, and the reason
		 * goes to the log. Where it went wrong is enough to find it in the
		 * quarantined row. */
		snprintf(why, whylen, "body is not valid JSON (error %d at line %d, column %d)",
		    (int)json_error_code(&jerr), jerr.line, jerr.column);
		return -1;
	}
	if (!json_is_object(root)) {
		snprintf(why, whylen, "body is not a JSON object");
		goto done;
	}
	events = json_object_get(root, "events");
	if (!json_is_array(events)) {
		snprintf(why, whylen, "body has no events array");
		goto done;
	}
	dest = json_string_value(json_object_get(root, "destination"));
	if (expect_destination != NULL && (dest == NULL || strcmp(dest, expect_destination))) {
		snprintf(why, whylen, "destination is not this channel's bot user id");
		goto done;
	}
	json_array_foreach(events, i, je) {
		if (!json_is_object(je) || !json_is_string(json_object_get(je, "type"))) {
			snprintf(why, whylen, "events[%zu] is not an object with a string type", i);
			goto done;
		}
	}
	json_array_foreach(events, i, je) {
		struct event *ev = event_list_add(out);

		ev->platform = PLATFORM_LINE;
		ev->channel = xstrdup(channel);
		ev->type = event_json_str(je, "type");
		ev->event_key = event_json_str(je, "webhookEventId");
		if (ev->event_key == NULL || *ev->event_key == '\0') {
			/* Old payloads carry no id: a byte-identical redelivery still dedupes. */
			free(ev->event_key);
			if (body_hash[0] == '\0')
				sha256_hex("", 0, body, len, body_hash);
			ev->event_key = xasprintf("h:%s:%zu", body_hash, i);
		}
		parse_event(je, ev);
	}
	rc = 0;
done:
	if (rc == -1)
		event_list_free(out);
	json_decref(root);
	return rc;
}
