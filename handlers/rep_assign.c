/* rep_assign.c: a customer who sends a rep's code through the link the rep shared
 * (https://line.me/R/oaMessage/@account/?担当者コード%20R001) is tied to that rep. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"

/* The words before a rep's code in the rep's shared link, as customers send them. */
static const char *const rep_link_words[] = { "担当者コード", "担当者", "担当", "rep", NULL };

/* "担当者コード R001": the rep's code after one of the words, and nothing else. */
static const struct config_rep *
rep_link(const struct config *cf, const char *text)
{
	char *norm = text_normalize(text);
	const struct config_rep *rep = NULL;

	for (const char *const *w = rep_link_words; *w != NULL && rep == NULL; w++) {
		char *lw = text_normalize(*w);
		size_t n = strlen(lw);

		if (strncmp(norm, lw, n) == 0) {
			const char *code = norm + n;

			while (*code == ' ' || *code == ':')
				code++;
			rep = config_rep(cf, code);
		}
		free(lw);
	}
	free(norm);
	return rep;
}

static enum handler_result
handle(struct handler_ctx *hc, const struct event *ev)
{
	const struct config_rep *rep;
	char *text;
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
	text = xasprintf("ありがとうございます。担当の%s%s%s%sがご案内します。", rep->name,
	    rep->branch ? "(" : "", rep->branch ? rep->branch->name : "",
	    rep->branch ? ")" : "");
	rc = chat_reply_text(hc, ev, text);
	free(text);
	return rc == 0 ? HANDLER_DONE : HANDLER_FAILED;
}

const struct handler handler_rep_link = { "rep_link", handle };
