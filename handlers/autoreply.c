/* autoreply.c: keyword auto-replies. A text message (LINE from a user, or a LINE WORKS
 * member writing to the bot) is normalised (full/half width, case) and tried against
 * the config's rules in file order; the first rule that matches decides: it answers
 * with its message (handing the customer off to a person when it says so) or runs its
 * postback action, or stays quiet while cooling down. While a person has the
 * customer's conversation (an open handoff), no rule answers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handlers.h"

static int
words_match(const struct config_rule *r, const char *text)
{
	for (size_t i = 0; i < r->nwords; i++) {
		const char *w = r->words[i];

		switch (r->kind) {
		case MATCH_EXACT:
			if (strcmp(text, w) == 0)
				return 1;
			break;
		case MATCH_PREFIX:
			if (strncmp(text, w, strlen(w)) == 0)
				return 1;
			break;
		case MATCH_CONTAINS:
			if (strstr(text, w) != NULL)
				return 1;
			break;
		default:
			break;
		}
	}
	return 0;
}

/* The first rule that applies to this text, here and now; NULL when none does. */
const struct config_rule *
autoreply_match(const struct config *cf, enum platform platform, const char *channel,
    const char *normalised, time_t now)
{
	for (size_t i = 0; i < cf->n_rules; i++) {
		const struct config_rule *r = &cf->rules[i];

		if (!(r->platforms & (1u << platform)))
			continue;
		if (r->channel != NULL && strcmp(r->channel, channel) != 0)
			continue;
		if (!config_hours_open(&r->hours, (int64_t)now * 1000))
			continue;
		if (r->kind == MATCH_ANY ||
		    (r->kind == MATCH_REGEX && r->regex != NULL &&
		    regexec(r->regex, normalised, 0, NULL, 0) == 0) ||
		    (r->kind != MATCH_REGEX && words_match(r, normalised)))
			return r;
	}
	return NULL;
}

static enum handler_result
handle(struct handler_ctx *hc, const struct event *ev)
{
	const struct config_rule *r;
	struct msg_vars vars;
	char *text, *name = NULL, rule[32], user[16];
	enum handler_result res = HANDLER_DONE;
	int64_t now = hc->now_ms;
	int rc = 0;

	if (strcmp(ev->type, "message") != 0 || ev->text == NULL || ev->user_id == NULL ||
	    (ev->message_type != NULL && strcmp(ev->message_type, "text") != 0))
		return HANDLER_NOT_MINE;
	/* In LINE groups the account listens but does not chime in. */
	if (ev->platform == PLATFORM_LINE && ev->source_type != NULL &&
	    strcmp(ev->source_type, "user") != 0)
		return HANDLER_NOT_MINE;
	/* A person has the conversation: the bot does not talk over them. */
	if ((rc = handoff_quiet(hc, ev)) != 0) {
		if (rc == 1) {
			log_user(ev->user_id, user);
			log_info("msg=\"bot quiet: a person has the conversation\" channel=%s "
			    "user=%s", ev->channel, user);
		}
		return rc == 1 ? HANDLER_DONE : HANDLER_FAILED;
	}
	text = text_normalize(ev->text);
	r = autoreply_match(hc->cfg, ev->platform, ev->channel, text, (time_t)(now / 1000));
	free(text);
	if (r == NULL)
		return HANDLER_DONE;
	snprintf(rule, sizeof(rule), "auto_replies[%zu]", r->index);
	if (r->cooldown_ms > 0) {
		rc = store_cooldown_take(hc->store, ev->channel, ev->user_id, rule, now,
		    r->cooldown_ms);
		if (rc == -1) {
			hc->error = "cannot read the reply cooldown";
			return HANDLER_FAILED;
		}
		if (rc == 0) {
			log_user(ev->user_id, user);
			log_info("msg=\"auto-reply cooling down\" channel=%s user=%s rule=%s",
			    ev->channel, user, rule);
			return HANDLER_DONE;
		}
	}
	if (r->action != NULL) {
		struct postback pb;

		memset(&pb, 0, sizeof(pb));
		pb.action = r->action;
		return postback_run(hc, ev, &pb);
	}
	if (r->handoff && handoff_start(hc, ev, rule) == -1)
		return HANDLER_FAILED;
	chat_vars(hc, ev, &vars, &name);
	if (chat_reply(hc, ev, r->reply, &vars) == -1)
		res = HANDLER_FAILED;
	free(name);
	return res;
}

const struct handler handler_autoreply = { "autoreply", handle };
