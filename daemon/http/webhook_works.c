/* webhook_works.c: turns a verified LINE WORKS callback body (one event, no id) into a
 * normalised event keyed on sha256(bot id, body). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "../shokaid.h"

static const char *const works_types[] = { "message", "postback", "join", "leave",
    "joined", "left", "begin", "end", NULL };

static int
known_type(const char *type)
{
	for (const char *const *t = works_types; *t != NULL; t++)
		if (strcmp(*t, type) == 0)
			return 1;
	return 0;
}

/* "2025-03-14T01:02:03.456Z" or without milliseconds; 0 when unreadable. */
static int64_t
parse_issued_time(const char *s)
{
	struct tm tm;
	int ms = 0, n = 0;
	time_t t;

	if (s == NULL)
		return 0;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	    &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return 0;
	if (s[n] == '.')
		sscanf(s + n + 1, "%3d", &ms);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	if ((t = timegm(&tm)) == (time_t)-1)
		return 0;
	return (int64_t)t * 1000 + ms;
}

int
webhook_works_parse(const char *bot, const char *bot_id, const char *body, size_t len,
    struct event_list *out, char *why, size_t whylen)
{
	json_error_t jerr;
	json_t *root, *source, *content;
	struct event *ev;
	char key[65];
	char *issued;

	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		/* Not jansson's text: it quotes the body near the error, and the reason
		 * goes to the log. Where it went wrong is enough to find it in the
		 * quarantined row. */
		snprintf(why, whylen, "body is not valid JSON (error %d at line %d, column %d)",
		    (int)json_error_code(&jerr), jerr.line, jerr.column);
		return -1;
	}
	if (!json_is_object(root) || !json_is_string(json_object_get(root, "type"))) {
		snprintf(why, whylen, "body is not a JSON object with a string type");
		json_decref(root);
		return -1;
	}
	source = json_object_get(root, "source");
	content = json_object_get(root, "content");
	{
		/* The bot id and a separator, so equal bodies to two bots never collide. */
		char *prefix = xasprintf("%s\n", bot_id);

		sha256_hex(prefix, strlen(prefix), body, len, key);
		free(prefix);
	}
	ev = event_list_add(out);
	ev->platform = PLATFORM_WORKS;
	ev->channel = xstrdup(bot);
	ev->event_key = xstrdup(key);
	ev->type = event_json_str(root, "type");
	ev->known = known_type(ev->type);
	ev->user_id = event_json_str(source, "userId");
	ev->group_id = event_json_str(source, "channelId");
	ev->source_type = xstrdup(ev->group_id != NULL ? "channel" : "user");
	issued = event_json_str(root, "issuedTime");
	ev->timestamp_ms = parse_issued_time(issued);
	free(issued);
	if (json_is_object(content)) {
		ev->message_type = event_json_str(content, "type");
		ev->text = event_json_str(content, "text");
		ev->postback_data = event_json_str(content, "postback");
	}
	if (ev->postback_data == NULL)
		ev->postback_data = event_json_str(root, "data");
	json_decref(root);
	return 0;
}
