/* follow.c: a LINE user adds the account (or unblocks it) or blocks it. A follow is
 * recorded and answered with the greeting ("greeting_again" for someone coming back),
 * and per-user menu rules for new friends are applied. A block is recorded only: LINE
 * delivers nothing to a user who blocked the account. */
#include <stdlib.h>
#include <string.h>

#include "handlers.h"

static enum handler_result
on_follow(struct handler_ctx *hc, const struct event *ev)
{
	const struct config *cf = hc->cfg;
	const struct config_message *msg = NULL;
	struct msg_vars vars;
	char *name = NULL;
	int follows = 0, rc = 0;

	if (store_user_follow(hc->store, ev->channel, ev->user_id, ev->timestamp_ms ?
	    ev->timestamp_ms : hc->now_ms, &follows) == -1) {
		hc->error = "cannot record the follow";
		return HANDLER_FAILED;
	}
	/* isUnblocked is LINE's word for it; a second follow we saw ourselves counts too. */
	if (ev->unblocked || follows > 1)
		msg = config_message(cf, "greeting_again");
	if (msg == NULL)
		msg = config_message(cf, "greeting");
	if (msg != NULL) {
		chat_vars(hc, ev, &vars, &name);
		rc = chat_reply(hc, ev, msg, &vars);
		free(name);
	}
	for (size_t i = 0; rc == 0 && i < cf->n_menu_rules; i++)
		if (strcmp(cf->menu_rules[i].when, "follow") == 0)
			rc = chat_link_menu(hc, ev, cf->menu_rules[i].menu) == -1 ? -1 : 0;
	return rc == 0 ? HANDLER_DONE : HANDLER_FAILED;
}

static enum handler_result
handle(struct handler_ctx *hc, const struct event *ev)
{
	if (ev->platform != PLATFORM_LINE || ev->user_id == NULL)
		return HANDLER_NOT_MINE;
	if (strcmp(ev->type, "follow") == 0)
		return on_follow(hc, ev);
	if (strcmp(ev->type, "unfollow") == 0) {
		if (store_user_unfollow(hc->store, ev->channel, ev->user_id,
		    ev->timestamp_ms ? ev->timestamp_ms : hc->now_ms) == -1) {
			hc->error = "cannot record the unfollow";
			return HANDLER_FAILED;
		}
		if (referral_blocked(hc, ev->channel, ev->user_id) == -1) {
			hc->error = "cannot void the rewards of a blocked friend";
			return HANDLER_FAILED;
		}
		return HANDLER_DONE;
	}
	return HANDLER_NOT_MINE;
}

const struct handler handler_follow = { "follow", handle };
