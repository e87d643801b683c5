/* referral_invite.c: the rich menu's "refer" tap. The customer gets their invite: the
 * text a friend will receive (their name, their rep and how to reach the rep, their
 * code and link), behind a button that opens LINE's share picker with all of it
 * prefilled, so forwarding is one tap. The code is the customer's for the campaign,
 * the same every time they ask; the first time is an `issued` event. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"

/* The customer's rep and the way to reach them: the rep's own link, else the branch's,
 * else the company's. */
void
referral_rep_vars(struct handler_ctx *hc, const struct event *ev, struct msg_vars *vars,
    const struct config_rep **rep_out, char **owned)
{
	const struct config *cf = hc->cfg;
	const struct config_rep *rep = NULL;
	const char *contact = NULL;
	char *code = NULL, *fetched = NULL;
	int64_t fetched_at;

	if (store_customer_rep(hc->store, ev->channel, ev->user_id, &code) == 1)
		rep = config_rep(cf, code);
	free(code);
	if (rep != NULL && rep->contact_url != NULL)
		contact = rep->contact_url;
	else if (rep != NULL && rep->contact_auto &&
	    store_rep_link_get(hc->store, rep->code, &fetched, &fetched_at) == 1)
		contact = fetched;	/* kept by rep_links.c */
	if (contact == NULL && rep != NULL && rep->branch != NULL)
		contact = rep->branch->contact_url;
	if (contact == NULL)
		contact = cf->referral.contact_url;
	msg_vars_set(vars, "rep_name", rep ? rep->name : "");
	msg_vars_set(vars, "branch_name", rep && rep->branch ? rep->branch->name : "");
	msg_vars_set(vars, "rep_contact_url", contact ? contact : "");
	*rep_out = rep;
	*owned = fetched;	/* vars point into it: the caller frees it after rendering */
}

enum handler_result
referral_invite(struct handler_ctx *hc, const struct event *ev)
{
	const struct config *cf = hc->cfg;
	const struct config_campaign *cp;
	const struct config_rep *rep;
	struct msg_vars vars;
	char today[11], code[REFCODE_LEN + 1], *name = NULL, *invite_url = NULL;
	char *share_url = NULL, *contact = NULL;
	const struct config_message *invite;
	int issued, rc = -1;

	if (ev->user_id == NULL)
		return HANDLER_DONE;
	local_date(hc->now_ms, today);
	chat_vars(hc, ev, &vars, &name);
	if ((cp = config_campaign_on(cf, today)) == NULL) {
		rc = chat_reply_named(hc, ev, "referral_no_campaign", &vars);
		goto done;
	}
	if (store_refcode_issue(hc->store, ev->channel, ev->user_id, cp->id, hc->now_ms,
	    code, &issued) == -1) {
		hc->error = "cannot issue a referral code";
		goto done;
	}
	referral_rep_vars(hc, ev, &vars, &rep, &contact);
	if (issued) {
		struct ref_event e = { .type = "issued", .channel = ev->channel,
		    .campaign = cp->id, .code = code, .referrer_id = ev->user_id,
		    .rep_code = rep ? rep->code : NULL,
		    .branch = rep && rep->branch ? rep->branch->code : NULL,
		    .actor = "customer", .at = hc->now_ms };

		if (store_ref_event(hc->store, &e) == -1) {
			hc->error = "cannot record the issued code";
			goto done;
		}
	}
	invite_url = xasprintf("%s/r/%s", cf->public_url, code);
	msg_vars_set(&vars, "sender_name", name ? name : cf->referral.sender_name_fallback);
	msg_vars_set(&vars, "code", code);
	msg_vars_set(&vars, "invite_url", invite_url);
	/* The friend gets the invite text (invite_no_rep, where the config has one, for a
	 * customer with no rep yet); the customer sees the preview with the button. */
	invite = config_message(cf, "invite_no_rep");
	if (rep != NULL || invite == NULL)
		invite = config_message(cf, "invite");
	share_url = invite_share_url(invite, &vars);
	msg_vars_set(&vars, "share_url", share_url);
	rc = chat_reply(hc, ev, config_message(cf, "invite_preview"), &vars);
done:
	free(share_url);
	free(invite_url);
	free(contact);
	free(name);
	return rc == 0 ? HANDLER_DONE : HANDLER_FAILED;
}
