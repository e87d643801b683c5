/* referral_claim.c: a friend sends a message with a referral code in it (the text the
 * invite link prefilled, or the code typed by hand). The code is checked against every
 * rule; a claim that breaks one is a `rejected` event with the rule as its reason, a
 * burst on one code is `held` for an operator, and a good claim is a referral: the
 * friend gets the referrer's rep, both are thanked, and the rep hears of it on LINE
 * WORKS. The friend is never told which rule a claim broke. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "handlers.h"

#define CODES_MAX	4
/* Wrong codes a person may send in a day before their codes are not looked up at all:
 * guessing is slowed to nothing, and every try is still recorded. */
#define WRONG_CODES_PER_DAY	5

static enum handler_result
claim(struct handler_ctx *hc, const struct event *ev, const char *code,
    struct refcode_owner *o)
{
	const struct config *cf = hc->cfg;
	const struct config_campaign *cp;
	const struct config_rep *rep = NULL;
	struct msg_vars vars;
	char *name = NULL, *rep_code = NULL, *masked = NULL, id_text[24];
	char *contact = NULL;
	const struct claim_rule *rule;
	int64_t now = hc->now_ms, id = 0;
	int rc = 0, held = 0;
	struct referral r;

	cp = config_campaign(cf, o->campaign);
	if (store_customer_rep(hc->store, ev->channel, o->user_id, &rep_code) == 1)
		rep = config_rep(cf, rep_code);
	chat_vars(hc, ev, &vars, &name);
	if ((rule = claim_broken_rule(hc, &(struct claim_facts){ .ev = ev, .owner = o,
	    .campaign = cp })) != NULL) {
		struct ref_event e = { .type = "rejected", .channel = ev->channel,
		    .campaign = o->campaign, .code = code, .referrer_id = o->user_id,
		    .referee_id = ev->user_id, .rep_code = rep ? rep->code : NULL,
		    .branch = rep && rep->branch ? rep->branch->code : NULL,
		    .reason = rule->reason, .actor = "system", .at = hc->now_ms };

		rc = store_ref_event(hc->store, &e);
		if (rc == 0)
			rc = chat_reply_named(hc, ev, "claim_not_accepted", &vars);
		goto done;
	}
	/* Many claims on one code in a short time: held, never dropped. */
	held = claim_velocity_held(hc, cp, code);
	memset(&r, 0, sizeof(r));
	r.channel = ev->channel;
	r.campaign = o->campaign;
	r.code = code;
	r.referrer_id = o->user_id;
	r.referee_id = ev->user_id;
	r.rep_code = rep ? rep->code : NULL;
	r.state = held ? REF_HELD : REF_CLAIMED;
	r.claimed_at = now;
	if ((rc = store_referral_put(hc->store, &r, &id)) != 1) {
		/* The friend was taken between the check and now: same as already referred. */
		rc = rc == 0 ? chat_reply_named(hc, ev, "claim_not_accepted", &vars) : -1;
		goto done;
	}
	{
		struct ref_event e = { .type = held ? "held" : "claimed", .channel = ev->channel,
		    .campaign = o->campaign, .code = code, .referral_id = id,
		    .referrer_id = o->user_id, .referee_id = ev->user_id,
		    .rep_code = rep ? rep->code : NULL,
		    .branch = rep && rep->branch ? rep->branch->code : NULL,
		    .reason = held ? "velocity" : NULL, .actor = "friend",
		    .at = hc->now_ms };

		if ((rc = store_ref_event(hc->store, &e)) == -1)
			goto done;
	}
	if (held) {
		rc = chat_reply_named(hc, ev, "claim_held", &vars);
		goto done;
	}
	{
		struct referral_row row;

		if ((rc = store_referral_get(hc->store, id, &row)) != 1) {
			rc = -1;
			goto done;
		}
		rc = referral_reached(hc, &row, REF_CLAIMED);
		referral_row_clear(&row);
		if (rc == -1)
			goto done;
	}
	/* The friend inherits the referrer's rep, unless they have one of their own. */
	{
		char *own = NULL;

		if (rep != NULL && store_customer_rep(hc->store, ev->channel, ev->user_id,
		    &own) == 0)
			rc = store_customer_assign(hc->store, ev->channel, ev->user_id, rep->code,
			    "referral", now);
		free(own);
		if (rc == -1)
			goto done;
	}
	{
		const struct config_rep *ignored;

		referral_rep_vars(hc, ev, &vars, &ignored, &contact);
	}
	if (rep != NULL) {
		msg_vars_set(&vars, "rep_name", rep->name);
		msg_vars_set(&vars, "branch_name", rep->branch ? rep->branch->name : "");
	}
	if ((rc = chat_reply_named_as(hc, ev, "claim_thanks_referee", &vars,
	    referee_sender(cp, rep))) == -1)
		goto done;
	masked = cp->show_friend_name ? xstrdup(name ? name : cf->wording.friend_name) :
	    config_mask_name(cf, name);
	msg_vars_set(&vars, "friend_name", masked);
	snprintf(id_text, sizeof(id_text), "%lld", (long long)id);
	msg_vars_set(&vars, "referral_id", id_text);
	/* The referrer is told by push: their chat with the account is not this one. */
	if ((rc = chat_push_named(hc, ev->channel, o->user_id, "claim_thanks_referrer",
	    &vars)) == -1)
		goto done;
	rc = referral_notify_rep(hc, ev, rep, id, o->user_id, name);
done:
	free(contact);
	free(masked);
	free(rep_code);
	free(name);
	if (rc == -1 && hc->error == NULL)
		hc->error = "cannot record the claim";
	return rc == -1 ? HANDLER_FAILED : HANDLER_DONE;
}

/* The message called name, to the friend who sent the code. */
static int
answer(struct handler_ctx *hc, const struct event *ev, const char *name)
{
	struct msg_vars vars;
	char *display = NULL;
	int rc;

	chat_vars(hc, ev, &vars, &display);
	rc = chat_reply_named(hc, ev, name, &vars);
	free(display);
	return rc;
}

static enum handler_result
handle(struct handler_ctx *hc, const struct event *ev)
{
	const char *wrong_code_reasons[CLAIM_REASON_COUNT];
	size_t wrong_code_n = 0;
	char codes[CODES_MAX][REFCODE_LEN + 1];
	size_t n;
	int64_t wrong;
	enum handler_result res = HANDLER_NOT_MINE;

	if (ev->platform != PLATFORM_LINE || strcmp(ev->type, "message") != 0 ||
	    ev->text == NULL || ev->user_id == NULL || (ev->source_type != NULL &&
	    strcmp(ev->source_type, "user") != 0))
		return HANDLER_NOT_MINE;
	if ((n = refcode_find(ev->text, codes, CODES_MAX)) == 0)
		return HANDLER_NOT_MINE;
	for (size_t i = 0; i < CLAIM_REASON_COUNT; i++)
		if (claim_rules[i].wrong_code)
			wrong_code_reasons[wrong_code_n++] = claim_rules[i].reason;
	wrong = store_wrong_codes_since(hc->store, ev->channel, ev->user_id,
	    hc->now_ms - 86400000LL, wrong_code_reasons, wrong_code_n);
	if (wrong >= WRONG_CODES_PER_DAY) {
		struct ref_event e = { .type = "rejected", .channel = ev->channel,
		    .code = codes[0], .referee_id = ev->user_id,
		    .reason = claim_rules[CLAIM_TOO_MANY_WRONG_CODES].reason,
		    .actor = "system", .at = hc->now_ms };

		if (store_ref_event(hc->store, &e) == -1 ||
		    answer(hc, ev, "claim_not_accepted") == -1) {
			hc->error = "cannot answer a claim";
			return HANDLER_FAILED;
		}
		return HANDLER_DONE;
	}
	for (size_t i = 0; i < n && res == HANDLER_NOT_MINE; i++) {
		struct refcode_owner o;
		int rc = store_refcode_lookup(hc->store, codes[i], &o);

		if (rc == -1) {
			hc->error = "cannot look the code up";
			return HANDLER_FAILED;
		}
		if (rc == 1)
			res = claim(hc, ev, codes[i], &o);
		refcode_owner_clear(&o);
	}
	if (res == HANDLER_NOT_MINE) {
		/* Well-formed but unknown: a code from another account, or made up. */
		struct ref_event e = { .type = "rejected", .channel = ev->channel,
		    .code = codes[0], .referee_id = ev->user_id,
		    .reason = claim_rules[CLAIM_UNKNOWN_CODE].reason, .actor = "system",
		    .at = hc->now_ms };

		if (store_ref_event(hc->store, &e) == -1 ||
		    answer(hc, ev, "claim_unknown_code") == -1) {
			hc->error = "cannot answer an unknown code";
			return HANDLER_FAILED;
		}
		res = HANDLER_DONE;
	}
	return res;
}

const struct handler handler_referral_claim = { "referral_claim", handle };
