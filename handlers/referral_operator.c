/* referral_operator.c: an operator moves a referral from the console: an approved or
 * rejected held claim, a suspicious one settled, or any step an operator may take. The
 * state machine decides what is allowed, as it does for reps; the move is a `state`
 * event with the operator as actor. A held claim let through becomes what the claim
 * would have been at once: rewards due on the claim fall due, the friend is tied to the
 * referrer's rep, and the rep is told on LINE WORKS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "handlers.h"

/* The friend's name as the rep reads it (the rep works with the real name). */
static char *
friend_name(struct handler_ctx *hc, const struct referral_row *r)
{
	struct profile p;
	char *name = NULL;

	memset(&p, 0, sizeof(p));
	if (store_profile_get(hc->store, r->channel, r->referee_id, &p) == 1 &&
	    p.display_name != NULL)
		name = xstrdup(p.display_name);
	profile_clear(&p);
	return name;
}

static int
release_held(struct handler_ctx *hc, const struct referral_row *r,
    const struct config_rep *rep)
{
	struct event ev;
	char *own = NULL, *name;
	int rc = 0;

	if (rep != NULL && store_customer_rep(hc->store, r->channel, r->referee_id, &own) == 0)
		rc = store_customer_assign(hc->store, r->channel, r->referee_id, rep->code,
		    "referral", hc->now_ms);
	free(own);
	if (rc == -1)
		return -1;
	memset(&ev, 0, sizeof(ev));
	ev.platform = PLATFORM_LINE;
	ev.channel = r->channel;
	ev.user_id = r->referee_id;
	name = friend_name(hc, r);
	rc = referral_notify_rep(hc, &ev, rep, r->id, r->referrer_id, name);
	free(name);
	return rc;
}

int
referral_operator_move(struct handler_ctx *hc, int64_t id, enum ref_state to, char *why,
    size_t whylen)
{
	struct referral_row r;
	const struct config_rep *rep;
	int rc;

	why[0] = '\0';
	if ((rc = store_referral_get(hc->store, id, &r)) != 1) {
		snprintf(why, whylen, "%s", rc == 0 ? "no such referral" : store_errmsg(hc->store));
		return rc == 0 ? -2 : -1;
	}
	if (ref_transition_check(r.state, to, ACTOR_OPERATOR, why, whylen) == -1) {
		referral_row_clear(&r);
		return -2;
	}
	rep = r.rep_code ? config_rep(hc->cfg, r.rep_code) : NULL;
	rc = store_referral_set_state(hc->store, id, r.state, to, hc->now_ms);
	if (rc == 1) {
		struct ref_event e = { .type = "state", .channel = r.channel,
		    .campaign = r.campaign, .code = r.code, .referral_id = id,
		    .referrer_id = r.referrer_id, .referee_id = r.referee_id,
		    .rep_code = r.rep_code, .branch = rep && rep->branch ? rep->branch->code : NULL,
		    .reason = ref_state_name(to), .actor = hc->operator_name ?
		    hc->operator_name : "operator", .at = hc->now_ms };

		if (store_ref_event(hc->store, &e) == -1 || referral_reached(hc, &r, to) == -1 ||
		    (r.state == REF_HELD && to == REF_CLAIMED && release_held(hc, &r, rep) == -1))
			rc = -1;
	}
	if (rc == -1 && why[0] == '\0')
		snprintf(why, whylen, "%s", store_errmsg(hc->store));
	else if (rc == 0)
		snprintf(why, whylen, "referral %lld changed meanwhile", (long long)id);
	referral_row_clear(&r);
	return rc;
}

/* A held claim nobody decided by its campaign's deadline gets the campaign's default
 * (review: default): approved or rejected as an operator would, the actor saying it was
 * the deadline. 1 moved, 0 not due (or no default), -1 a store error. */
int
referral_review_expired(struct handler_ctx *hc, const struct referral_row *r)
{
	const struct config_campaign *cp = config_campaign(hc->cfg, r->campaign);
	const char *saved = hc->operator_name;
	char why[WHY_MAX];
	int rc;

	if (r->state != REF_HELD || cp == NULL || cp->review_default == REVIEW_NONE ||
	    hc->now_ms < r->claimed_at + cp->review_within_ms)
		return 0;
	/* A name the friend typed (referrer_ask.c) is no proof: a person decides it,
	 * never a deadline. */
	{
		struct store_arg a[] = { SARG_INT(r->id) };
		json_t *row = NULL;

		rc = store_query_one(hc->store, "SELECT 1 AS typed FROM referral_events WHERE "
		    "referral_id = ?1 AND type = 'held' AND reason = 'typed_name' LIMIT 1", a, 1,
		    &row);
		json_decref(row);
		if (rc != 0)
			return rc == -1 ? -1 : 0;
	}
	hc->operator_name = "system:review_deadline";
	rc = referral_operator_move(hc, r->id, cp->review_default == REVIEW_APPROVE ?
	    REF_CLAIMED : REF_REJECTED, why, sizeof(why));
	hc->operator_name = saved;
	if (rc == -2 || rc == 0)
		return 0;	/* moved meanwhile */
	if (rc == 1)
		log_notice("msg=\"held claim decided at its deadline\" referral_id=%lld outcome=%s",
		    (long long)r->id, cp->review_default == REVIEW_APPROVE ? "approve" : "reject");
	return rc;
}
