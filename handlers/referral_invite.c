/* referral_invite.c: the rich menu's "refer" tap. The customer gets their invite: the
 * text a friend will receive (in the customer's own voice, since it goes out from their
 * phone: their name, their rep and an attributed link to the rep, their code and link),
 * behind a button that opens LINE's share picker with all of it prefilled, so
 * forwarding is one tap, and one that copies it for SMS or e-mail. The code is the customer's for the campaign,
 * the same every time they ask; the first time is an `issued` event. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "handlers.h"

const char *
referral_contact_url(struct handler_ctx *hc, const struct config_rep *rep, char **owned)
{
	const struct config *cf = hc->cfg;
	const char *contact = NULL;
	int64_t fetched_at;

	*owned = NULL;
	if (rep != NULL && rep->contact_url != NULL)
		contact = rep->contact_url;
	else if (rep != NULL && rep->contact_auto &&
	    store_rep_link_get(hc->store, rep->code, owned, &fetched_at) == 1)
		contact = *owned;	/* kept by rep_links.c */
	if (contact == NULL && rep != NULL && rep->branch != NULL)
		contact = rep->branch->contact_url;
	if (contact == NULL)
		contact = cf->referral.contact_url;
	return contact ? contact : "";
}

/* The customer's rep and the way to reach them. */
void
referral_rep_vars(struct handler_ctx *hc, const struct event *ev, struct msg_vars *vars,
    const struct config_rep **rep_out, char **owned)
{
	const struct config_rep *rep = NULL;
	char *code = NULL;

	if (store_customer_rep(hc->store, ev->channel, ev->user_id, &code) == 1)
		rep = config_rep(hc->cfg, code);
	free(code);
	msg_vars_set(vars, "rep_name", rep ? rep->name : "");
	msg_vars_set(vars, "branch_name", rep && rep->branch ? rep->branch->name : "");
	/* vars point into *owned: the caller frees it after rendering */
	msg_vars_set(vars, "rep_contact_url", referral_contact_url(hc, rep, owned));
	*rep_out = rep;
}

void
invite_texts_clear(struct invite_texts *t)
{
	free(t->name);
	free(t->contact);
	free(t->sender_short);
	free(t->rep_short);
	free(t->invite_url);
	free(t->rep_link_url);
	free(t->invite_text);
	free(t->share_url);
	memset(t, 0, sizeof(*t));
}

int
referral_invite_vars(struct handler_ctx *hc, const struct event *ev, const char *code,
    struct msg_vars *vars, const struct config_rep **rep, struct invite_texts *t)
{
	const struct config *cf = hc->cfg;
	const struct config_message *invite;
	const char *sender;
	json_t *rendered;

	memset(t, 0, sizeof(*t));
	chat_vars(hc, ev, vars, &t->name);
	referral_rep_vars(hc, ev, vars, rep, &t->contact);
	sender = t->name ? t->name : cf->referral.sender_name_fallback;
	t->sender_short = name_first_word(sender);
	t->rep_short = name_first_word(*rep ? (*rep)->name : "");
	refcode_display(code, t->code_display);
	t->invite_url = xasprintf("%s/r/%s", cf->public_url, code);
	t->rep_link_url = xasprintf("%s/r/%s/rep", cf->public_url, code);
	msg_vars_set(vars, "sender_name", sender);
	msg_vars_set(vars, "sender_short_name", t->sender_short);
	msg_vars_set(vars, "rep_short_name", t->rep_short);
	msg_vars_set(vars, "code", code);
	msg_vars_set(vars, "code_display", t->code_display);
	msg_vars_set(vars, "invite_url", t->invite_url);
	msg_vars_set(vars, "rep_link_url", t->rep_link_url);
	/* invite_no_rep, where the config has one, for a customer with no rep yet. */
	invite = config_message(cf, "invite_no_rep");
	if (*rep != NULL || invite == NULL)
		invite = config_message(cf, "invite");
	if (invite == NULL || (t->share_url = invite_share_url(invite, vars)) == NULL) {
		hc->error = "the config has no invite to share";
		return -1;
	}
	rendered = msg_template_render(invite->line, vars);
	t->invite_text = xstrdup(json_string_value(json_object_get(json_array_get(rendered,
	    0), "text")));
	json_decref(rendered);
	msg_vars_set(vars, "share_url", t->share_url);
	msg_vars_set(vars, "invite_text", t->invite_text);
	return 0;
}

enum handler_result
referral_invite(struct handler_ctx *hc, const struct event *ev)
{
	const struct config *cf = hc->cfg;
	const struct config_campaign *cp;
	const struct config_rep *rep;
	struct msg_vars vars;
	struct invite_texts t = { 0 };
	char today[11], code[REFCODE_LEN + 1], *name = NULL;
	int issued, rc = -1;

	if (ev->user_id == NULL)
		return HANDLER_DONE;
	local_date(hc->now_ms, today);
	if ((cp = config_campaign_on(cf, today)) == NULL) {
		chat_vars(hc, ev, &vars, &name);
		rc = chat_reply_named(hc, ev, "referral_no_campaign", &vars);
		goto done;
	}
	if (store_refcode_issue(hc->store, ev->channel, ev->user_id, cp->id, hc->now_ms,
	    code, &issued) == -1) {
		hc->error = "cannot issue a referral code";
		goto done;
	}
	if (referral_invite_vars(hc, ev, code, &vars, &rep, &t) == -1)
		goto done;
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
	/* The friend gets the invite text; the customer sees the preview with the
	 * buttons that share or copy it. */
	rc = chat_reply(hc, ev, config_message(cf, "invite_preview"), &vars);
done:
	invite_texts_clear(&t);
	free(name);
	return rc == 0 ? HANDLER_DONE : HANDLER_FAILED;
}
