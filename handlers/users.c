/* users.c: notes every LINE user the account hears from (a message, a tap) in `users`,
 * before any other handler runs, then lets them decide: "first seen" is what the
 * referral rules compare with a code's issue time, and a friend of long standing who
 * never followed while shokai ran is seen here first. Follows and blocks are recorded
 * by follow.c. */
#include <string.h>

#include "handlers.h"

static enum handler_result
handle(struct handler_ctx *hc, const struct event *ev)
{
	if (ev->platform != PLATFORM_LINE || ev->user_id == NULL ||
	    strcmp(ev->type, "follow") == 0 || strcmp(ev->type, "unfollow") == 0)
		return HANDLER_NOT_MINE;
	if (store_user_seen(hc->store, ev->channel, ev->user_id, hc->now_ms) == -1) {
		hc->error = "cannot record the user";
		return HANDLER_FAILED;
	}
	return HANDLER_NOT_MINE;	/* noted; the handlers below decide */
}

const struct handler handler_users = { "users", handle };
