/* referral_reward.c: rewards fall due when a referral reaches a stage's state (the
 * claim, the rep's first contact, the meeting or the win; a later one of these counts
 * too, so a referral won without a recorded meeting still pays the meeting's stage):
 * one pending reward per stage and side that has a pool, with the stage's holding
 * period before it may be approved. A stage for partners pays only when the referrer is
 * a partner (for customers: only when not). Approval and issue (with a coupon, inside
 * one transaction) follow from there. Pending rewards are voided, with the reason, when
 * the referral is lost or its friend blocks the account, where the campaign says so
 * (void_on). A win also asks the friend for another referral (referral_followup.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"

#define VOID_MAX	(REWARD_STAGES_MAX * 2)	/* every stage and side of one referral */

static int
reward_event(struct handler_ctx *hc, const struct referral_row *r, const char *what,
    const char *side)
{
	const struct config_rep *rep = r->rep_code ? config_rep(hc->cfg, r->rep_code) : NULL;
	char reason[48];
	struct ref_event e = { .type = "reward", .channel = r->channel,
	    .campaign = r->campaign, .code = r->code, .referral_id = r->id,
	    .referrer_id = r->referrer_id, .referee_id = r->referee_id,
	    .rep_code = r->rep_code, .branch = rep && rep->branch ? rep->branch->code : NULL,
	    .reason = reason, .actor = "system", .at = hc->now_ms };

	snprintf(reason, sizeof(reason), "%s:%s", what, side);
	return store_ref_event(hc->store, &e);
}

/* Every pending reward of the referral voided, the note saying why (lost, blocked). */
static int
void_pending(struct handler_ctx *hc, int64_t referral_id, const char *note)
{
	struct reward_row *rows = NULL;
	size_t n = 0;
	int rc = store_rewards_pending_of(hc->store, referral_id, VOID_MAX, &rows, &n);
	char why[WHY_MAX];

	for (size_t i = 0; rc != -1 && i < n; i++)
		if (reward_move(hc, &rows[i], REWARD_VOIDED, ACTOR_SYSTEM, NULL, note, why,
		    sizeof(why)) == -1)
			rc = -1;
	for (size_t i = 0; i < n; i++)
		reward_row_clear(&rows[i]);
	free(rows);
	return rc == -1 ? -1 : 0;
}

int
referral_reached(struct handler_ctx *hc, const struct referral_row *r, enum ref_state to)
{
	const struct config_campaign *cp;
	int64_t now = hc->now_ms;
	int partner = -1;	/* read once, only when a stage asks */

	/* Every actor's win passes here: the one place for the ask after a win. */
	if (to == REF_WON && referral_ask_after_won(hc, r) == -1)
		return -1;
	cp = config_campaign(hc->cfg, r->campaign);
	if (cp == NULL)
		return 0;
	if (to == REF_LOST && (cp->void_on & VOID_ON_LOST))
		return void_pending(hc, r->id, "referral_lost");
	if (to < REF_CLAIMED || to > REF_WON)
		return 0;
	for (size_t g = 0; g < cp->n_stages; g++) {
		const struct config_reward_stage *sg = &cp->stages[g];

		if (sg->due_on > to)
			continue;
		if (sg->audience != AUDIENCE_ALL && partner == -1 &&
		    (partner = store_customer_partner(hc->store, r->channel,
		    r->referrer_id)) == -1)
			return -1;
		if ((sg->audience == AUDIENCE_PARTNERS && !partner) ||
		    (sg->audience == AUDIENCE_CUSTOMERS && partner))
			continue;
		for (int i = 0; i < 2; i++) {
			const struct config_reward_side *side = i == 0 ? &sg->referrer :
			    &sg->referee;
			const char *name = i == 0 ? "referrer" : "referee";
			int rc;

			/* A friend a rep registered has no LINE chat to receive a coupon in. */
			if (side->pool == NULL || (i == 1 && !referee_on_line(r->referee_id)))
				continue;
			rc = store_reward_create(hc->store, r->id, name, i == 0 ?
			    r->referrer_id : r->referee_id, r->campaign, side->pool, now,
			    now + sg->hold_ms, (int)g);
			if (rc == -1 || (rc == 1 && reward_event(hc, r, "pending", name) == -1))
				return -1;
		}
	}
	return 0;
}

/* The friend blocked the account: a referral whose campaign voids on a block loses its
 * pending rewards (approved ones were decided by a person and stay). */
int
referral_blocked(struct handler_ctx *hc, const char *channel, const char *user_id)
{
	struct referral_row r;
	const struct config_campaign *cp;
	int64_t id;
	int rc = store_referral_of_referee(hc->store, channel, user_id, &id);

	if (rc != 1)
		return rc;
	if ((rc = store_referral_get(hc->store, id, &r)) != 1)
		return rc;
	cp = config_campaign(hc->cfg, r.campaign);
	rc = cp != NULL && (cp->void_on & VOID_ON_BLOCK) ?
	    void_pending(hc, r.id, "referee_blocked") : 0;
	referral_row_clear(&r);
	return rc;
}
