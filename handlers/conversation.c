/* conversation.c: writes what a customer wrote into their conversation log (the
 * console's chat thread), before any other handler runs, then lets them decide: a
 * message (its text, or what kind it was, with a sticker's ids or a file's name), a
 * tap as the customer's chat showed it (the config's words for its action, else the
 * action; never the rest of its data: a tap can be forged), a follow or a
 * block. Only one-to-one chats are conversations; the bot's side is written where every
 * message is queued (outmsg.c). */
#include <stdlib.h>
#include <string.h>

#include "handlers.h"

/* The action of a tap's data, when it has a well-formed one. */
static char *
tap_action(const struct event *ev)
{
	struct postback pb;
	char why[128], *action = NULL;

	if (ev->postback_data == NULL ||
	    postback_parse(ev->postback_data, &pb, why, sizeof(why)) == -1)
		return NULL;
	if (pb.action != NULL)
		action = xstrdup(pb.action);
	postback_clear(&pb);
	return action;
}

static enum handler_result
handle(struct handler_ctx *hc, const struct event *ev)
{
	struct conversation_row c = { .channel = ev->channel, .user_id = ev->user_id,
	    .inbox_id = ev->inbox_id };
	char *action = NULL;
	int rc;

	if (ev->platform != PLATFORM_LINE || ev->user_id == NULL ||
	    (ev->source_type != NULL && strcmp(ev->source_type, "user") != 0))
		return HANDLER_NOT_MINE;
	/* When it reached us, not LINE's timestamp: a redelivery after an outage is old,
	 * and the log is read (and its retention counted) in the order it was written. */
	c.at = hc->now_ms;
	if (strcmp(ev->type, "message") == 0) {
		c.kind = ev->message_type ? ev->message_type : "text";
		c.text = ev->text;
		c.body = ev->message_meta;
	} else if (strcmp(ev->type, "postback") == 0) {
		const struct config_postback *cp;

		/* The words the customer saw the tap say, where the config knows them. */
		c.kind = "postback";
		c.text = action = tap_action(ev);
		if (action != NULL && (cp = config_postback(hc->cfg, action)) != NULL &&
		    cp->shown != NULL)
			c.text = cp->shown;
	} else if (strcmp(ev->type, "follow") == 0 || strcmp(ev->type, "unfollow") == 0)
		c.kind = ev->type;
	else
		return HANDLER_NOT_MINE;
	rc = store_conversation_put(hc->store, &c);
	free(action);
	if (rc == -1) {
		hc->error = "cannot write the conversation log";
		return HANDLER_FAILED;
	}
	return HANDLER_NOT_MINE;	/* written; the handlers below decide */
}

const struct handler handler_conversation = { "conversation", handle };
