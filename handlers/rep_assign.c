/* rep_assign.c: a customer who sends a rep's code through the link the rep shared
 * (https://line.me/R/oaMessage/@account/?担当者コード%20R001) is tied to that rep and
 * thanked (rep_link_thanks). The words before the code are the config's
 * (referral.rep_link_words in the built-in default_wording.yaml). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"

/* "担当者コード R001": the rep's code after one of the words, and nothing else. The
 * words are normalised already, as the text is here. */
static const struct config_rep *
rep_link(const struct config *cf, const char *text)
{
	char *norm = text_normalize(text);
	const struct config_rep *rep = NULL;

	for (char **w = cf->wording.rep_link_words; *w != NULL && rep == NULL; w++) {
		size_t n = strlen(*w);

		if (strncmp(norm, *w, n) == 0) {
			const char *code = norm + n;

			while (*code == ' ' || *code == ':')
				code++;
			rep = config_rep(cf, code);
		}
	}
	free(norm);
	return rep;
}

static enum handler_result
handle(struct handler_ctx *hc, const struct event *ev)
{
	const struct config_rep *rep;
	struct msg_vars vars;
	char *name = NULL;
	int rc;

	if (ev->platform != PLATFORM_LINE || strcmp(ev->type, "message") != 0 ||
	    ev->text == NULL || ev->user_id == NULL || (ev->source_type != NULL &&
	    strcmp(ev->source_type, "user") != 0) || (rep = rep_link(hc->cfg,
	    ev->text)) == NULL)
		return HANDLER_NOT_MINE;
	if (store_customer_assign(hc->store, ev->channel, ev->user_id, rep->code,
	    "rep_link", hc->now_ms) == -1) {
		hc->error = "cannot assign the rep";
		return HANDLER_FAILED;
	}
	chat_vars(hc, ev, &vars, &name);
	msg_vars_set(&vars, "rep_name", rep->name);
	msg_vars_set(&vars, "branch_name", rep->branch ? rep->branch->name : "");
	rc = chat_reply_named(hc, ev, rep->branch ? "rep_link_thanks" :
	    "rep_link_thanks_no_branch", &vars);
	free(name);
	return rc == 0 ? HANDLER_DONE : HANDLER_FAILED;
}

const struct handler handler_rep_link = { "rep_link", handle };
