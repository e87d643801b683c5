/* reward_issue.c: moves a reward along its state machine (referral_fsm.c decides which
 * moves an actor may make; every move here asks it). The rewards tick (daemon's
 * reward_tick.c) calls reward_advance for each due reward: a pending reward whose holding
 * period is over is approved when its campaign approves automatically (else an operator
 * does it with shokaictl, through reward_move); an approved reward gets a coupon from its
 * pool and is issued in the same transaction that takes the coupon, and the person is
 * pushed the thanks with it. An empty pool leaves the reward approved, nothing lost. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "handlers.h"

/* A `reward` event ("approved:referrer", ...), counted under the referral's rep and
 * branch. */
static int
reward_log(struct handler_ctx *hc, const struct reward_row *w, const char *what,
    const char *actor)
{
	const struct config_rep *rep = w->rep_code ? config_rep(hc->cfg, w->rep_code) : NULL;
	char reason[48];
	struct ref_event e = { .type = "reward", .channel = w->channel,
	    .campaign = w->campaign, .referral_id = w->referral_id,
	    .referrer_id = w->referrer_id, .referee_id = w->referee_id,
	    .rep_code = w->rep_code, .branch = rep && rep->branch ? rep->branch->code : NULL,
	    .reason = reason, .actor = actor, .at = hc->now_ms };

	snprintf(reason, sizeof(reason), "%s:%s", what, w->side);
	return store_ref_event(hc->store, &e);
}

static const char *
actor_name(const struct handler_ctx *hc, unsigned actor)
{
	if (actor == ACTOR_OPERATOR)
		return hc->operator_name != NULL ? hc->operator_name : "operator";
	return actor == ACTOR_REP ? "rep" : "system";
}

int
reward_move(struct handler_ctx *hc, const struct reward_row *w, enum reward_state to,
    unsigned actor, const char *coupon, const char *note, char *why, size_t whylen)
{
	int rc;

	if (reward_transition_check(w->state, to, actor, why, whylen) == -1)
		return -1;
	rc = store_reward_set(hc->store, w->id, w->state, to, coupon, note, hc->now_ms);
	if (rc == 1 && reward_log(hc, w, reward_state_name(to), actor_name(hc, actor)) == -1)
		rc = -1;
	if (rc == -1)
		snprintf(why, whylen, "%s", store_errmsg(hc->store));
	else if (rc == 0)
		snprintf(why, whylen, "reward %lld changed meanwhile", (long long)w->id);
	return rc;
}

/* The thank-you with the coupon, pushed to the person: the campaign side's message,
 * else reward_coupon. */
static int
send_coupon(struct handler_ctx *hc, const struct reward_row *w, const char *coupon)
{
	const struct config_reward_stage *sg = config_reward_stage(hc->cfg, w->campaign,
	    w->stage);
	const struct config_reward_side *side = sg == NULL ? NULL :
	    strcmp(w->side, "referrer") == 0 ? &sg->referrer : &sg->referee;
	struct msg_vars vars = { 0 };

	msg_vars_set(&vars, "coupon_code", coupon);
	msg_vars_set(&vars, "company_name", hc->cfg->company_name ? hc->cfg->company_name :
	    "");
	if (side != NULL && side->message != NULL)
		return outmsg_line_push(hc->store, w->channel, w->user_id,
		    msg_template_render(side->message->line, &vars));
	return chat_push_named(hc, w->channel, w->user_id, "reward_coupon", &vars);
}

static enum reward_step
issue(struct handler_ctx *hc, const struct reward_row *w)
{
	char *coupon = NULL, why[WHY_MAX];
	enum reward_step step = REWARD_STEP_FAILED;
	int rc;

	if ((rc = store_coupon_take(hc->store, w->pool, w->id, &coupon)) != 1) {
		hc->error = rc == 0 ? NULL : "cannot take a coupon";
		return rc == 0 ? REWARD_STEP_POOL_EMPTY : REWARD_STEP_FAILED;
	}
	rc = reward_move(hc, w, REWARD_ISSUED, ACTOR_SYSTEM, coupon, NULL, why, sizeof(why));
	if (rc == 1 && send_coupon(hc, w, coupon) == 0)
		step = REWARD_STEP_ISSUED;
	else
		hc->error = "cannot issue the reward";
	free(coupon);
	return step;
}

/* The row as it is inside the caller's transaction: the tick read it before, and an
 * operator may have moved it since (a coupon must not be taken for a voided reward). */
static int
still(struct handler_ctx *hc, const struct reward_row *w)
{
	struct reward_row now;
	int rc = store_reward_get(hc->store, w->id, &now);

	if (rc == 1) {
		rc = now.state == w->state;
		reward_row_clear(&now);
	}
	return rc;
}

enum reward_step
reward_advance(struct handler_ctx *hc, struct reward_row *w)
{
	const struct config_reward_stage *sg = config_reward_stage(hc->cfg, w->campaign,
	    w->stage);
	char why[WHY_MAX];
	int rc;

	if ((rc = still(hc, w)) != 1) {
		hc->error = rc == -1 ? "cannot read the reward" : NULL;
		return rc == -1 ? REWARD_STEP_FAILED : REWARD_STEP_NONE;
	}
	if (w->state == REWARD_PENDING) {
		if (sg == NULL || !sg->approval_auto)
			return REWARD_STEP_NONE;	/* an operator approves */
		rc = reward_move(hc, w, REWARD_APPROVED, ACTOR_SYSTEM, NULL, NULL, why,
		    sizeof(why));
		if (rc == -1) {
			hc->error = "cannot approve the reward";
			return REWARD_STEP_FAILED;
		}
		if (rc == 0)
			return REWARD_STEP_NONE;
		w->state = REWARD_APPROVED;
	}
	if (w->state != REWARD_APPROVED)
		return REWARD_STEP_NONE;
	return issue(hc, w);
}
