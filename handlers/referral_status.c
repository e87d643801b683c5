/* referral_status.c: "My referrals" (the referral.status postback) answers with the
 * customer's counts: invites, friends who came, wins, rewards; friends are never
 * named. */
#include <stdio.h>
#include <stdlib.h>

#include "handlers.h"

enum handler_result
referral_status(struct handler_ctx *hc, const struct event *ev)
{
	struct msg_vars vars;
	int64_t counts[4];
	char text[4][24], *name = NULL;
	static const char *const names[] = { "invites", "claims", "wins", "rewards" };
	int rc;

	if (store_referrer_stats(hc->store, ev->channel, ev->user_id, counts) == -1) {
		hc->error = "cannot count the referrals";
		return HANDLER_FAILED;
	}
	chat_vars(hc, ev, &vars, &name);
	for (int i = 0; i < 4; i++) {
		snprintf(text[i], sizeof(text[i]), "%lld", (long long)counts[i]);
		msg_vars_set(&vars, names[i], text[i]);
	}
	rc = chat_reply_named(hc, ev, "referral_status", &vars);
	free(name);
	return rc == 0 ? HANDLER_DONE : HANDLER_FAILED;
}
