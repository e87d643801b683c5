/* referral_click.c: a friend opened one of an invite's links. GET /r/{code} goes on to
 * the account's chat with the claim text and the code prefilled, so that adding the
 * account and sending is all that is left; GET /r/{code}/rep goes to the referrer's
 * rep's LINE WORKS contact (or the branch's or company's contact), and the rep is told
 * which referral that contact comes from, so a friend who writes to the rep directly
 * is still credited (the rep's 紹介登録, referral_rep.c). Either is a `clicked` event
 * for the funnel (reason `rep` for the second), counted under the referrer's rep and
 * branch. The HTTP side (rate limits, pages, the redirect) is daemon/http/http_invite.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "handlers.h"

/* The claim text, prefilled in the friend's chat with the account. */
static char *
claim_url(const struct config *cf, const struct config_line_channel *ch, const char *code)
{
	const struct config_message *m = config_message(cf, "claim_text");
	struct msg_vars vars = { 0 };
	json_t *r = NULL;
	const char *text = NULL;
	char *enc, *url;

	msg_vars_set(&vars, "code", code);
	if (m != NULL) {
		r = msg_template_render(m->line, &vars);
		text = json_string_value(json_object_get(json_array_get(r, 0), "text"));
	}
	enc = url_encode(text ? text : code);
	/* The basic id's '@' is percent-encoded, as LINE's URL scheme asks. */
	url = xasprintf("https://line.me/R/oaMessage/%%40%s/?%s", ch->basic_id + 1, enc);
	free(enc);
	json_decref(r);
	return url;
}

/* A rep hears of the friends their contact link brings at most this often per code:
 * one invite forwarded to a group is opened by several friends within minutes. */
#define REP_TOLD_EVERY_MS	(60 * 60 * 1000)

static int
record_click(struct handler_ctx *hc, const struct refcode_owner *owner, const char *code,
    const struct config_rep *rep, int to_rep, const char *client_hash)
{
	struct ref_event e = { .type = "clicked", .channel = owner->channel,
	    .campaign = owner->campaign, .code = code, .referrer_id = owner->user_id,
	    .rep_code = rep ? rep->code : NULL,
	    .branch = rep && rep->branch ? rep->branch->code : NULL,
	    .reason = to_rep ? "rep" : NULL, .client_hash = client_hash, .actor = "friend",
	    .at = hc->now_ms };
	int rc = store_ref_event(hc->store, &e);

	if (rc == -1)
		hc->error = "cannot record the click";
	return rc;
}

/* The rep is told that someone holding this referrer's invite opened their contact:
 * when that person writes on LINE WORKS, 紹介登録 with the code credits the referrer. */
static int
tell_rep(struct handler_ctx *hc, const struct refcode_owner *owner, const char *code,
    const struct config_rep *rep)
{
	const struct config *cf = hc->cfg;
	struct msg_vars vars = { 0 };
	struct profile p;
	char shown[REFCODE_LEN + 2], *text;
	int64_t recent;
	int rc;

	if (rep == NULL || rep->works_user_id == NULL || cf->referral.notify_bot == NULL)
		return 0;
	if ((recent = store_code_rep_clicks_since(hc->store, code,
	    hc->now_ms - REP_TOLD_EVERY_MS)) != 0)
		return recent < 0 ? -1 : 0;
	memset(&p, 0, sizeof(p));
	store_profile_get(hc->store, owner->channel, owner->user_id, &p);
	refcode_display(code, shown);
	msg_vars_set(&vars, "company_name", cf->company_name ? cf->company_name : "");
	msg_vars_set(&vars, "rep_name", rep->name);
	msg_vars_set(&vars, "referrer_name", p.display_name ? p.display_name :
	    cf->wording.unknown_name);
	msg_vars_set(&vars, "code", code);
	msg_vars_set(&vars, "code_display", shown);
	text = chat_text_named(hc, "rep_contact_opened", PLATFORM_WORKS, &vars);
	profile_clear(&p);
	if (text == NULL)
		return -1;
	rc = outmsg_works(hc->store, cf->referral.notify_bot, WORKS_TO_USER,
	    rep->works_user_id, outmsg_works_text(text));
	free(text);
	return rc;
}

enum click_result
referral_click(struct handler_ctx *hc, const char *code_in, int to_rep,
    const char *client_hash, struct click_answer *out)
{
	char code[REFCODE_LEN + 1], today[11], *rep_code = NULL, *fetched = NULL;
	struct refcode_owner owner;
	const struct config_line_channel *ch;
	const struct config_campaign *cp;
	const struct config_rep *rep;
	const char *contact;
	enum click_result res;
	int rc;

	memset(out, 0, sizeof(*out));
	if (refcode_valid(code_in, code) == -1 ||
	    (rc = store_refcode_lookup(hc->store, code, &owner)) == 0)
		return CLICK_UNKNOWN;
	if (rc == -1) {
		hc->error = "cannot look the code up";
		return CLICK_ERROR;
	}
	ch = config_line_channel(hc->cfg, owner.channel);
	cp = config_campaign(hc->cfg, owner.campaign);
	rep = store_customer_rep(hc->store, owner.channel, owner.user_id, &rep_code) == 1 ?
	    config_rep(hc->cfg, rep_code) : NULL;
	local_date(hc->now_ms, today);
	if (ch == NULL || cp == NULL || !config_campaign_running(cp, today))
		res = CLICK_OVER;
	else {
		/* A click that cannot be counted still sends the friend on: a lost count
		 * costs less than a lost friend. hc->error tells the caller to roll back. */
		if (to_rep && tell_rep(hc, &owner, code, rep) == -1 && hc->error == NULL)
			hc->error = "cannot tell the rep of the click";
		if (hc->error == NULL)
			record_click(hc, &owner, code, rep, to_rep, client_hash);
		contact = to_rep ? referral_contact_url(hc, rep, &fetched) : "";
		out->url = contact[0] != '\0' ? xstrdup(contact) : claim_url(hc->cfg, ch, code);
		out->channel = ch->id;
		res = CLICK_GO;
	}
	free(fetched);
	free(rep_code);
	refcode_owner_clear(&owner);
	return res;
}
