/* table.c: the handlers dispatch tries, in order; the first that does not answer
 * "not mine" decides what happens to an event. */
#include "handler.h"

extern const struct handler handler_users;
extern const struct handler handler_conversation;
extern const struct handler handler_follow;
extern const struct handler handler_postback;
extern const struct handler handler_referral_claim;
extern const struct handler handler_rep_link;
extern const struct handler handler_referrer_ask;
extern const struct handler handler_referral_rep;
extern const struct handler handler_autoreply;
extern const struct handler handler_log_event;

const struct handler *const handler_table[] = {
	&handler_users,		/* notes the user, never decides */
	&handler_conversation,	/* writes the customer's side of the chat, never decides */
	&handler_follow,
	&handler_postback,
	&handler_referral_claim,
	&handler_rep_link,
	&handler_referrer_ask,	/* after codes and reps' links: those say who it was */
	&handler_referral_rep,
	&handler_autoreply,
	&handler_log_event,
	NULL,
};
