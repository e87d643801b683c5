/* log_event.c: the catch-all handler for documented event types: records that the
 * event was seen. Later handlers (chat flows, referrals) come before it in the table. */
#include "handler.h"

static enum handler_result
handle(struct handler_ctx *hc, const struct event *ev)
{
	(void)hc;
	if (!ev->known)
		return HANDLER_NOT_MINE;
	return HANDLER_DONE;
}

const struct handler handler_log_event = { "log_event", handle };
