/* reply.c: what every chat handler does last: render a configured message for the
 * person who wrote and queue it in the outbox (same transaction as the handler's state
 * changes), or link a per-user rich menu. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "handlers.h"

/* The values every chat message may use. *name_owned is what the caller frees. */
void
chat_vars(struct handler_ctx *hc, const struct event *ev, struct msg_vars *vars,
    char **name_owned)
{
	const struct config *cf = hc->d->cfg;
	struct profile p;

	memset(vars, 0, sizeof(*vars));
	*name_owned = NULL;
	msg_vars_set(vars, "company_name", cf->company_name ? cf->company_name : "");
	if (ev->platform != PLATFORM_LINE || ev->user_id == NULL)
		return;
	/* The dispatcher fetched it before the batch; a stale or missing name is fine. */
	if (store_profile_get(hc->d->store, ev->channel, ev->user_id, &p) == 1 && p.found) {
		*name_owned = p.display_name;
		p.display_name = NULL;
	}
	profile_clear(&p);
	msg_vars_set(vars, "display_name", *name_owned ? *name_owned : DISPLAY_NAME_FALLBACK);
}

static int
queue(struct handler_ctx *hc, struct outbox_msg *m, json_t *body)
{
	char *json = json_dumps(body, JSON_COMPACT);
	int rc;

	json_decref(body);
	m->body = json;
	rc = outbox_put(hc->d->store, m);
	outbox_msg_clear(m);
	if (rc == -1)
		hc->error = "cannot queue the reply";
	return rc;
}

static int
chat_push(struct handler_ctx *hc, const char *channel, const char *to, json_t *messages)
{
	int rc = outbox_push_line(hc->d->store, channel, to, messages);

	if (rc == -1)
		hc->error = "cannot queue the message";
	return rc;
}

/* LINE: a reply while the token is good (pushed instead if LINE refuses it), a push
 * when there is none. Groups and rooms are answered where the message was written. */
static int
queue_line(struct handler_ctx *hc, const struct event *ev, json_t *messages)
{
	const char *to = ev->group_id ? ev->group_id : ev->user_id ? ev->user_id : "";
	struct outbox_msg m;

	if (ev->reply_token == NULL)
		return chat_push(hc, ev->channel, to, messages);
	memset(&m, 0, sizeof(m));
	m.platform = PLATFORM_LINE;
	m.channel = xstrdup(ev->channel);
	m.target = xstrdup(to);
	m.kind = xstrdup("reply");
	m.fallback_to = xstrdup(to);
	return queue(hc, &m, json_pack("{s:s,s:o}", "replyToken", ev->reply_token, "messages",
	    messages));
}

/* LINE WORKS has no reply: a message to the room or the member who wrote. */
static void
works_msg(const struct event *ev, struct outbox_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->platform = PLATFORM_WORKS;
	m->channel = xstrdup(ev->channel);
	m->kind = xstrdup(ev->group_id ? "works_channel" : "works_user");
	m->target = xstrdup(ev->group_id ? ev->group_id : ev->user_id ? ev->user_id : "");
}

int
chat_reply(struct handler_ctx *hc, const struct event *ev, const struct config_message *msg,
    const struct msg_vars *vars)
{
	json_t *messages, *item;
	struct outbox_msg m;
	size_t i;
	int rc = 0;

	if (ev->platform == PLATFORM_LINE)
		return queue_line(hc, ev, msg_template_render(msg->line, vars));
	/* LINE WORKS has no reply: one message per content, to the room or the member. */
	messages = msg_template_render(msg->works, vars);
	json_array_foreach(messages, i, item) {
		works_msg(ev, &m);
		if (queue(hc, &m, json_pack("{s:O}", "content", item)) == -1) {
			rc = -1;
			break;
		}
	}
	json_decref(messages);
	return rc;
}

int
chat_reply_text(struct handler_ctx *hc, const struct event *ev, const char *text)
{
	struct outbox_msg m;

	if (ev->platform == PLATFORM_LINE)
		return queue_line(hc, ev, json_pack("[{s:s,s:s}]", "type", "text", "text",
		    text));
	works_msg(ev, &m);
	return queue(hc, &m, json_pack("{s:{s:s,s:s}}", "content", "type", "text", "text",
	    text));
}

/* Links the LINE menu that `shokaictl richmenu deploy` made for menu; 0 when the menu
 * is not deployed yet (logged: the operator has a deploy to run). */
int
chat_link_menu(struct handler_ctx *hc, const struct event *ev,
    const struct config_richmenu *menu)
{
	struct outbox_msg m;
	char *line_id = NULL;
	int rc;

	if (ev->platform != PLATFORM_LINE || ev->user_id == NULL)
		return 0;
	rc = store_richmenu_get(hc->d->store, ev->channel, menu->id, &line_id, NULL);
	if (rc != 1) {
		if (rc == 0)
			log_warnx("msg=\"rich menu not deployed; run shokaictl richmenu deploy\" "
			    "channel=%s menu=%s", ev->channel, menu->id);
		else
			hc->error = "cannot read the deployed rich menus";
		return rc;
	}
	memset(&m, 0, sizeof(m));
	m.platform = PLATFORM_LINE;
	m.channel = xstrdup(ev->channel);
	m.kind = xstrdup("richmenu_link");
	m.target = xstrdup(ev->user_id);
	m.body = line_id;
	rc = outbox_put(hc->d->store, &m);
	outbox_msg_clear(&m);
	if (rc == -1)
		hc->error = "cannot queue the rich menu link";
	return rc;
}

/* The configured message called name, or fallback text where the config has none. */
int
chat_reply_named(struct handler_ctx *hc, const struct event *ev, const char *name,
    const char *fallback, const struct msg_vars *vars)
{
	const struct config_message *m = config_message(hc->d->cfg, name);

	return m != NULL ? chat_reply(hc, ev, m, vars) : chat_reply_text(hc, ev, fallback);
}

/* The same, pushed on LINE to someone who is not the one who just wrote. */
int
chat_push_named(struct handler_ctx *hc, const char *channel, const char *to,
    const char *name, const char *fallback, const struct msg_vars *vars)
{
	const struct config_message *m = config_message(hc->d->cfg, name);

	return chat_push(hc, channel, to, m != NULL ? msg_template_render(m->line, vars) :
	    json_pack("[{s:s,s:s}]", "type", "text", "text", fallback));
}
