/* chat.c: what every chat handler does last: render a configured message for the
 * person who wrote and queue it in the outbox (same transaction as the handler's state
 * changes), or link a per-user rich menu. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "handlers.h"

/* The values every chat message may use. *name_owned is what the caller frees. */
void
chat_vars(struct handler_ctx *hc, const struct event *ev, struct msg_vars *vars,
    char **name_owned)
{
	const struct config *cf = hc->cfg;
	struct profile p;

	memset(vars, 0, sizeof(*vars));
	*name_owned = NULL;
	msg_vars_set(vars, "company_name", cf->company_name ? cf->company_name : "");
	if (ev->platform != PLATFORM_LINE || ev->user_id == NULL)
		return;
	/* The dispatcher fetched it before the batch; a stale or missing name is fine. */
	if (store_profile_get(hc->store, ev->channel, ev->user_id, &p) == 1 && p.found) {
		*name_owned = p.display_name;
		p.display_name = NULL;
	}
	profile_clear(&p);
	msg_vars_set(vars, "display_name", *name_owned ? *name_owned :
	    cf->wording.display_name);
}

/* A store error while queueing is the handler's failure: dispatch undoes everything
 * the event wrote and marks it failed. */
static int
queued(struct handler_ctx *hc, int rc)
{
	if (rc == -1)
		hc->error = "cannot queue the message";
	return rc;
}

/* Where an answer to ev goes: the group or room it was written in, else its writer. */
static const char *
answer_to(const struct event *ev)
{
	return ev->group_id ? ev->group_id : ev->user_id ? ev->user_id : "";
}

/* LINE: a reply while the token is good (pushed instead if LINE refuses it), a push
 * when there is none. LINE WORKS has no reply: one message per content. */
static int
queue_answer(struct handler_ctx *hc, const struct event *ev, json_t *line_messages,
    json_t *works_contents)
{
	json_t *item;
	size_t i;
	int rc = 0;

	if (ev->platform == PLATFORM_LINE) {
		json_decref(works_contents);
		if (ev->reply_token == NULL)
			return queued(hc, outmsg_line_push(hc->store, ev->channel, answer_to(ev),
			    line_messages));
		return queued(hc, outmsg_line_reply(hc->store, ev->channel, ev->reply_token,
		    answer_to(ev), line_messages));
	}
	json_decref(line_messages);
	json_array_foreach(works_contents, i, item) {
		rc = queued(hc, outmsg_works(hc->store, ev->channel, ev->group_id ?
		    WORKS_TO_CHANNEL : WORKS_TO_USER, answer_to(ev), json_incref(item)));
		if (rc == -1)
			break;
	}
	json_decref(works_contents);
	return rc;
}

#define SENDER_NAME_CHARS	20	/* LINE's limit for sender.name */

json_t *
chat_sender(const char *name, const char *icon_url)
{
	json_t *sender;
	size_t at;

	if (name == NULL)
		return NULL;
	for (const char *s = name; *s != '\0'; s++)
		if (strncasecmp(s, "line", 4) == 0)
			return NULL;
	if ((at = utf8_prefix(name, SENDER_NAME_CHARS)) == 0)
		return NULL;
	sender = json_pack("{s:s%}", "name", name, at);
	if (icon_url != NULL)
		json_object_set_new(sender, "iconUrl", json_string(icon_url));
	return sender;
}

json_t *
referee_sender(const struct config_campaign *cp, const struct config_rep *rep)
{
	if (cp == NULL || !cp->referee_sender_rep || rep == NULL)
		return NULL;
	return chat_sender(rep->name, cp->referee_sender_icon_url);
}

/* Every LINE message of msgs shown as from sender (consumed; NULL: as the account). */
static json_t *
as_sender(json_t *msgs, json_t *sender)
{
	json_t *m;
	size_t i;

	if (sender == NULL)
		return msgs;
	json_array_foreach(msgs, i, m)
		json_object_set(m, "sender", sender);
	json_decref(sender);
	return msgs;
}

int
chat_reply(struct handler_ctx *hc, const struct event *ev, const struct config_message *msg,
    const struct msg_vars *vars)
{
	if (ev->platform == PLATFORM_LINE)
		return queue_answer(hc, ev, msg_template_render(msg->line, vars), NULL);
	return queue_answer(hc, ev, NULL, msg_template_render(msg->works, vars));
}

/* Links the LINE menu that `shokaictl richmenu deploy` made for menu; 0 when the menu
 * is not deployed yet (logged: the operator has a deploy to run). */
int
chat_link_menu(struct handler_ctx *hc, const struct event *ev,
    const struct config_richmenu *menu)
{
	char *line_id = NULL;
	int rc;

	if (ev->platform != PLATFORM_LINE || ev->user_id == NULL)
		return 0;
	rc = store_richmenu_get(hc->store, ev->channel, menu->id, &line_id, NULL);
	if (rc != 1) {
		if (rc == 0)
			log_warnx("msg=\"rich menu not deployed; run shokaictl richmenu deploy\" "
			    "channel=%s menu=%s", ev->channel, menu->id);
		else
			hc->error = "cannot read the deployed rich menus";
		return rc;
	}
	rc = queued(hc, outmsg_line_richmenu_link(hc->store, ev->channel, ev->user_id,
	    line_id));
	free(line_id);
	return rc;
}

/* The message called name. The built-in wording has every name a handler sends, so a
 * missing one is a bug: the event fails (and is tried again) rather than go unanswered. */
static const struct config_message *
named(struct handler_ctx *hc, const char *name, enum platform platform)
{
	const struct config_message *m = config_message(hc->cfg, name);

	if (m == NULL || (platform == PLATFORM_WORKS && m->works == NULL)) {
		log_warnx("msg=\"no message to send\" name=%s platform=%s", name,
		    platform_name(platform));
		hc->error = "a message sent by name is missing";
		return NULL;
	}
	return m;
}

int
chat_reply_named(struct handler_ctx *hc, const struct event *ev, const char *name,
    const struct msg_vars *vars)
{
	return chat_reply_named_as(hc, ev, name, vars, NULL);
}

/* The same, pushed on LINE to someone who is not the one who just wrote. */
int
chat_push_named(struct handler_ctx *hc, const char *channel, const char *to,
    const char *name, const struct msg_vars *vars)
{
	return chat_push_named_as(hc, channel, to, name, vars, NULL);
}

int
chat_reply_named_as(struct handler_ctx *hc, const struct event *ev, const char *name,
    const struct msg_vars *vars, json_t *sender)
{
	const struct config_message *m = named(hc, name, ev->platform);

	if (m == NULL) {
		json_decref(sender);
		return -1;
	}
	if (ev->platform != PLATFORM_LINE) {
		json_decref(sender);
		return chat_reply(hc, ev, m, vars);
	}
	return queue_answer(hc, ev, as_sender(msg_template_render(m->line, vars), sender),
	    NULL);
}

int
chat_push_named_as(struct handler_ctx *hc, const char *channel, const char *to,
    const char *name, const struct msg_vars *vars, json_t *sender)
{
	const struct config_message *m = named(hc, name, PLATFORM_LINE);

	if (m == NULL || !referee_on_line(to)) {
		json_decref(sender);
		if (m == NULL)
			return -1;
		log_info("msg=\"not pushed: a friend a rep registered has no LINE chat\" "
		    "message=%s", name);
		return 0;
	}
	return queued(hc, outmsg_line_push(hc->store, channel, to,
	    as_sender(msg_template_render(m->line, vars), sender)));
}

char *
chat_text_named(struct handler_ctx *hc, const char *name, enum platform platform,
    const struct msg_vars *vars)
{
	const struct config_message *m = named(hc, name, platform);
	json_t *r;
	const char *text;
	char *out;

	if (m == NULL)
		return NULL;
	r = msg_template_render(platform == PLATFORM_WORKS ? m->works : m->line, vars);
	text = json_string_value(json_object_get(json_array_get(r, 0), "text"));
	out = xstrdup(text != NULL ? text : "");
	json_decref(r);
	return out;
}
