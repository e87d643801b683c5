/* referral_reward.c: rewards fall due when a referral reaches the campaign's point
 * (the claim, or the rep's "won"): one pending reward per side that has a pool, with
 * the campaign's holding period before it may be approved. Approval and issue (with a
 * coupon, inside one transaction) follow from there. A win also asks the friend for
 * another referral (referral_followup.c). */
#include <stdio.h>
#include <string.h>

#include "handlers.h"

int
referral_reached(struct handler_ctx *hc, const struct referral_row *r, enum ref_state to)
{
	const struct config *cf = hc->cfg;
	const struct config_campaign *cp;
	int64_t now = hc->now_ms;
	const struct {
		const char			*side;
		const struct config_reward_side	*cfg;
		const char			*user;
	} sides[] = {
		{ "referrer", NULL, r->referrer_id },
		{ "referee", NULL, r->referee_id },
	};

	/* Every actor's win passes here: the one place for the ask after a win. */
	if (to == REF_WON && referral_ask_after_won(hc, r) == -1)
		return -1;
	cp = config_campaign(cf, r->campaign);
	if (cp == NULL || (cp->due_on_won ? to != REF_WON : to != REF_CLAIMED))
		return 0;
	for (size_t i = 0; i < 2; i++) {
		const struct config_reward_side *side = i == 0 ? &cp->referrer : &cp->referee;
		char reason[32];
		int rc;

		/* A friend a rep registered has no LINE chat to receive a coupon in. */
		if (side->pool == NULL || !referee_on_line(sides[i].user))
			continue;
		rc = store_reward_create(hc->store, r->id, sides[i].side, sides[i].user,
		    r->campaign, side->pool, now, now + cp->hold_ms);
		if (rc == -1)
			return -1;
		if (rc == 1) {
			const struct config_rep *rep = r->rep_code ? config_rep(cf, r->rep_code) :
			    NULL;
			struct ref_event e = { .type = "reward", .channel = r->channel,
			    .campaign = r->campaign, .code = r->code, .referral_id = r->id,
			    .referrer_id = r->referrer_id, .referee_id = r->referee_id,
			    .rep_code = r->rep_code,
			    .branch = rep && rep->branch ? rep->branch->code : NULL,
			    .reason = reason, .actor = "system", .at = hc->now_ms };

			snprintf(reason, sizeof(reason), "pending:%s", sides[i].side);
			if (store_ref_event(hc->store, &e) == -1)
				return -1;
		}
	}
	return 0;
}
