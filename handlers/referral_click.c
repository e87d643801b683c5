/* referral_click.c: a friend opened an invite's link (GET /r/{code}). Decides where the
 * friend goes (on to the account's chat with the claim text and the code prefilled, so
 * that adding the account and sending is all that is left) and records a `clicked`
 * event for the funnel, counted under the referrer's rep and branch. The HTTP side
 * (rate limits, pages, the redirect) is daemon/http/http_invite.c. */
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

static int
record_click(struct handler_ctx *hc, const struct refcode_owner *owner, const char *code,
    const char *client_hash)
{
	char *rep_code = NULL;
	const struct config_rep *rep = store_customer_rep(hc->store, owner->channel,
	    owner->user_id, &rep_code) == 1 ? config_rep(hc->cfg, rep_code) : NULL;
	struct ref_event e = { .type = "clicked", .channel = owner->channel,
	    .campaign = owner->campaign, .code = code, .referrer_id = owner->user_id,
	    .rep_code = rep ? rep->code : NULL,
	    .branch = rep && rep->branch ? rep->branch->code : NULL,
	    .client_hash = client_hash, .actor = "friend", .at = hc->now_ms };
	int rc = store_ref_event(hc->store, &e);

	free(rep_code);
	if (rc == -1)
		hc->error = "cannot record the click";
	return rc;
}

enum click_result
referral_click(struct handler_ctx *hc, const char *code_in, const char *client_hash,
    struct click_answer *out)
{
	char code[REFCODE_LEN + 1], today[11];
	struct refcode_owner owner;
	const struct config_line_channel *ch;
	const struct config_campaign *cp;
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
	local_date(hc->now_ms, today);
	if (ch == NULL || cp == NULL || !config_campaign_running(cp, today))
		res = CLICK_OVER;
	else {
		/* A click that cannot be counted still sends the friend on: a lost count
		 * costs less than a lost friend. hc->error tells the caller to roll back. */
		record_click(hc, &owner, code, client_hash);
		out->url = claim_url(hc->cfg, ch, code);
		out->channel = ch->id;
		res = CLICK_GO;
	}
	refcode_owner_clear(&owner);
	return res;
}
