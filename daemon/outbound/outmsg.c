/* outmsg.c: every outbox row kind and every JSON key of the platforms' request bodies
 * (see outmsg.h). A row is only written here; outbox.c sends it. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "outmsg.h"

/* LINE WORKS counts contentText in characters. */
#define WORKS_CONTENT_TEXT_MAX	1000

void
outmsg_retry_key(int64_t ms, const unsigned char random[RETRY_KEY_RANDOM],
    char out[37])
{
	unsigned char b[16];

	/* UUID version 7 (RFC 9562): the first 48 bits are the time in milliseconds, so
	 * new keys sort after old ones and the outbox's unique index on them grows at its
	 * end (one page per commit) instead of taking a random page for every message. */
	for (int i = 0; i < 6; i++)
		b[i] = (unsigned char)((uint64_t)ms >> (40 - 8 * i));
	memcpy(b + 6, random, RETRY_KEY_RANDOM);
	b[6] = (b[6] & 0x0f) | 0x70;
	b[8] = (b[8] & 0x3f) | 0x80;
	/* By hand: snprintf with sixteen %02x took 6,000 instructions a key. */
	for (int i = 0, o = 0; i < 16; i++) {
		static const char hex[] = "0123456789abcdef";

		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 0x0f];
	}
	out[36] = '\0';
}

/* Writes the row (its body already set) with a fresh retry key; m's strings are freed.
 * Every row kind goes through here. *id: the new row's, 0 when none was written. */
static int
put_row(struct store *s, struct outbox_msg *m, int64_t *id)
{
	unsigned char random[RETRY_KEY_RANDOM];
	char key[37];
	int inserted = 0, rc = -1;

	*id = 0;
	if (fault_enabled("outbox_put_fails")) {
		/* A store error at an event's last write, after its others (tests only). */
		outbox_msg_clear(m);
		return -1;
	}
	store_random(s, random, sizeof(random));
	outmsg_retry_key(wall_ms(), random, key);
	m->retry_key = xstrdup(key);
	rc = store_outbox_put(s, m, &inserted);
	if (rc == 0 && inserted)
		*id = m->id;
	outbox_msg_clear(m);
	return rc;
}

/* What a person reads in messages, for the conversation log's text: each text, and a
 * template's or flex message's alternative text. */
static char *
messages_text(json_t *messages)
{
	json_t *item;
	size_t i;
	char *out = xstrdup(""), *next;

	json_array_foreach(messages, i, item) {
		const char *t = json_string_value(json_object_get(item, "text"));

		if (t == NULL)
			t = json_string_value(json_object_get(item, "altText"));
		if (t == NULL)
			continue;
		next = xasprintf("%s%s%s", out, out[0] ? "\n" : "", t);
		free(out);
		out = next;
	}
	return out;
}

/* A message to one LINE user (not a group or room) is part of their conversation. The
 * log keeps what a person reads of it; the messages themselves are the outbox row's,
 * read from there. */
static int
log_out(struct store *s, const char *channel, const char *to, json_t *messages,
    int64_t outbox_id, const char *author)
{
	struct conversation_row c = { .channel = channel, .user_id = to, .outbound = 1,
	    .kind = "message", .outbox_id = outbox_id, .author = author };
	char *text;
	int rc;

	if (to == NULL || to[0] != 'U' || outbox_id == 0 || !json_is_array(messages))
		return 0;
	text = messages_text(messages);
	c.text = text;
	rc = store_conversation_put(s, &c);
	free(text);
	return rc;
}

/* The row with a JSON body (taken). A body jansson could not build (text that is not
 * UTF-8) is refused here, once for all. log_to: the LINE user whose conversation the
 * body's messages join (NULL: none), with author (NULL: the bot). */
static int
put(struct store *s, struct outbox_msg *m, json_t *body, const char *log_to,
    const char *author)
{
	char *channel;
	int64_t id;
	int rc;

	if (body == NULL) {
		log_warnx("msg=\"outbound message not built\" kind=%s channel=%s "
		    "detail=\"text is not valid UTF-8\"", m->kind, m->channel);
		outbox_msg_clear(m);
		return -1;
	}
	m->body = json_text(body);
	if (m->body == NULL) {
		json_decref(body);
		outbox_msg_clear(m);
		return -1;
	}
	channel = xstrdup(m->channel);
	rc = put_row(s, m, &id);
	if (rc == 0 && log_to != NULL)
		rc = log_out(s, channel, log_to, json_object_get(body, "messages"), id, author);
	free(channel);
	json_decref(body);
	return rc;
}

static void
row(struct outbox_msg *m, enum platform platform, const char *channel, const char *kind,
    const char *target)
{
	memset(m, 0, sizeof(*m));
	m->platform = platform;
	m->channel = xstrdup(channel);
	m->kind = xstrdup(kind);
	m->target = target ? xstrdup(target) : NULL;
}

int
outmsg_line_reply(struct store *s, const char *channel, const char *reply_token,
    const char *fallback_to, json_t *messages)
{
	struct outbox_msg m;

	row(&m, PLATFORM_LINE, channel, "reply", fallback_to);
	m.fallback_to = xstrdup(fallback_to);
	return put(s, &m, json_pack("{s:s,s:o}", "replyToken", reply_token, "messages",
	    messages), fallback_to, NULL);
}

int
outmsg_line_push(struct store *s, const char *channel, const char *to, json_t *messages)
{
	return outmsg_line_push_by(s, channel, to, messages, NULL);
}

int
outmsg_line_push_by(struct store *s, const char *channel, const char *to,
    json_t *messages, const char *author)
{
	struct outbox_msg m;

	row(&m, PLATFORM_LINE, channel, "push", to);
	return put(s, &m, json_pack("{s:s,s:o}", "to", to, "messages", messages), to, author);
}

int
outmsg_line_mark_read(struct store *s, const char *channel, const char *user_id,
    const char *token)
{
	struct outbox_msg m;

	row(&m, PLATFORM_LINE, channel, "mark_read", user_id);
	return put(s, &m, json_pack("{s:s}", "markAsReadToken", token), NULL, NULL);
}

int
outmsg_line_multicast(struct store *s, const char *channel, const char *const *to, size_t n,
    json_t *messages, const char *dedupe_key)
{
	return outmsg_line_multicast_at(s, channel, to, n, messages, dedupe_key, 0);
}

int
outmsg_line_multicast_at(struct store *s, const char *channel, const char *const *to,
    size_t n, json_t *messages, const char *dedupe_key, int64_t not_before_ms)
{
	struct outbox_msg m;
	json_t *ids;

	if (n == 0 || n > OUTMSG_MULTICAST_MAX) {
		log_warnx("msg=\"multicast not built\" channel=%s recipients=%zu "
		    "detail=\"1-%d recipients a call\"", channel, n, OUTMSG_MULTICAST_MAX);
		json_decref(messages);
		return -1;
	}
	ids = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(ids, json_string(to[i]));
	/* No single target: the people are the body's "to". */
	row(&m, PLATFORM_LINE, channel, "multicast", NULL);
	m.dedupe_key = dedupe_key ? xstrdup(dedupe_key) : NULL;
	m.next_attempt_at = not_before_ms;
	return put(s, &m, json_pack("{s:o,s:o}", "to", ids, "messages", messages), NULL, NULL);
}

int
outmsg_line_richmenu_link(struct store *s, const char *channel, const char *user_id,
    const char *line_menu_id)
{
	struct outbox_msg m;

	/* The body is LINE's menu id as is: the request itself has none. */
	row(&m, PLATFORM_LINE, channel, "richmenu_link", user_id);
	int64_t id;

	m.body = xstrdup(line_menu_id);
	return put_row(s, &m, &id);
}

int
outmsg_works(struct store *s, const char *bot, enum works_to to, const char *target,
    json_t *content)
{
	struct outbox_msg m;

	row(&m, PLATFORM_WORKS, bot, to == WORKS_TO_CHANNEL ? "works_channel" : "works_user",
	    target);
	return put(s, &m, json_pack("{s:o}", "content", content), NULL, NULL);
}

json_t *
outmsg_line_text(const char *text)
{
	return json_pack("[{s:s,s:s}]", "type", "text", "text", text);
}

json_t *
outmsg_works_text(const char *text)
{
	return json_pack("{s:s,s:s}", "type", "text", "text", text);
}

json_t *
outmsg_works_buttons(const char *text, json_t *actions)
{
	char *cut;
	json_t *content;

	/* Operators' text may be longer than the platform takes: cut whole characters. */
	cut = xasprintf("%.*s", (int)utf8_prefix(text, WORKS_CONTENT_TEXT_MAX), text);
	content = json_pack("{s:s,s:s,s:o}", "type", "button_template", "contentText", cut,
	    "actions", actions);
	free(cut);
	return content;
}

json_t *
outmsg_works_button(const char *label, const char *text, const char *postback)
{
	return json_pack("{s:s,s:s,s:s,s:s}", "type", "message", "label", label, "text", text,
	    "postback", postback);
}

int
outmsg_reply_to_push(struct outbox_msg *m)
{
	json_t *body, *push;
	char *text;

	if (m->fallback_to == NULL)
		return -1;
	if ((body = json_loads(m->body, 0, NULL)) == NULL)
		return -1;
	push = json_pack("{s:s, s:O}", "to", m->fallback_to, "messages",
	    json_object_get(body, "messages"));
	json_decref(body);
	if (push == NULL)
		return -1;
	text = json_text(push);
	json_decref(push);
	if (text == NULL)
		return -1;
	free(m->body);
	m->body = xstrdup(text);
	free(text);
	free(m->kind);
	m->kind = xstrdup("push");
	free(m->target);
	m->target = xstrdup(m->fallback_to);
	return 0;
}
