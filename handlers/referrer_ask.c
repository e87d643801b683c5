/* referrer_ask.c: a new friend who sent no referral code within
 * referral.ask_referrer_after is asked once whether someone referred them
 * (ask_referrer, with いる / いない as quick replies). いない ends it: they are not asked
 * again. いる asks for the referrer's name, and the next message is that name: exactly
 * one customer of the current campaign with that LINE name (compared normalised, spaces
 * and width aside) makes a claim on that customer's code, checked by the same rules as
 * a code and held for review (never automatic: a name is no proof); none or several
 * wait in the review queue with what the friend typed, for an operator to decide.
 * The follow-up tick (daemon/storage/followup_tick.c) asks when; this says what. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"

/* How late the question may still go: a daemon stopped longer skips older friends (a
 * question a day late is no longer about how they came). */
#define ASK_LOOKBACK_MS		(86400LL * 1000)
/* Customers of one campaign compared with a typed name: past this the name goes to an
 * operator as "several" rather than a slow scan on the event path. */
#define NAMES_MAX		200000
/* A name longer than this is not a name (a question, a paste): kept for the operator. */
#define TYPED_MAX		200

void
referral_ask_window(const struct config *cf, int64_t now, int64_t *lo, int64_t *hi)
{
	*hi = now - cf->referral.ask_referrer_after_ms + 1;
	*lo = *hi - ASK_LOOKBACK_MS;
}

int
referral_ask_referrer(struct handler_ctx *hc, const struct nudge_code *f)
{
	struct event ev = { .platform = PLATFORM_LINE, .channel = f->channel,
	    .user_id = f->user_id };
	struct msg_vars vars;
	char *name = NULL;
	int rc;

	/* The bot does not talk over a person answering the friend: not taken, so the
	 * next scan tries again while the follow is recent enough. */
	if ((rc = store_handoff_quiet(hc->store, f->channel, f->user_id, hc->now_ms)) != 0) {
		if (rc == -1)
			hc->error = "cannot read the friend's handoff";
		return rc == 1 ? 0 : -1;
	}
	if ((rc = store_ask_take(hc->store, f->channel, f->user_id, hc->now_ms)) != 1) {
		if (rc == -1)
			hc->error = "cannot record the question";
		return rc;
	}
	chat_vars(hc, &ev, &vars, &name);
	rc = chat_push_named(hc, f->channel, f->user_id, "ask_referrer", &vars);
	free(name);
	return rc == -1 ? -1 : 1;
}

/* A name as compared: normalised (width, case, spaces folded), then without spaces
 * ("山田 太郎" and "山田太郎" alike) and without a trailing honorific the friend may add
 * (山田さん). The caller frees. */
char *
referrer_name_key(const char *text)
{
	static const char *const honorifics[] = { "さん", "様", "さま", "ちゃん", "くん" };
	char *n = text_normalize(text), *w = n;
	size_t len;

	for (const char *r = n; *r != '\0'; r++)
		if (*r != ' ')
			*w++ = *r;
	*w = '\0';
	len = strlen(n);
	for (size_t i = 0; i < sizeof(honorifics) / sizeof(honorifics[0]); i++) {
		size_t h = strlen(honorifics[i]);

		if (len > h && strcmp(n + len - h, honorifics[i]) == 0) {
			n[len - h] = '\0';
			break;
		}
	}
	return n;
}

/* The one customer of the campaign whose LINE name is the typed one: 1 with *found
 * (an index into codes), or the number of distinct customers that matched (0 or
 * several). -1 on a store error. */
static int64_t
match_name(struct handler_ctx *hc, const char *channel, const char *campaign,
    const char *typed, struct named_code **codes, size_t *n, size_t *found)
{
	char *key = referrer_name_key(typed);
	int64_t matches = 0;

	if (store_named_codes(hc->store, channel, campaign, NAMES_MAX, codes, n) == -1) {
		free(key);
		return -1;
	}
	for (size_t i = 0; key[0] != '\0' && i < *n; i++) {
		char *k = referrer_name_key((*codes)[i].display_name);

		/* codes are unique per customer and campaign: one row, one customer */
		if (strcmp(k, key) == 0 && matches++ == 0)
			*found = i;
		free(k);
	}
	free(key);
	return matches;
}

/* One match: a claim on the customer's code, through the claim rules, held for an
 * operator with the reason typed_name. A broken rule is a rejected event as for a
 * code (the friend is not told which). Returns the referral held, 0 if none, -1. */
static int64_t
claim_typed(struct handler_ctx *hc, const struct event *ev, const char *code)
{
	const struct config *cf = hc->cfg;
	const struct config_rep *rep = NULL;
	const struct claim_rule *rule;
	struct refcode_owner o;
	struct referral r;
	char *rep_code = NULL;
	int64_t id = 0;
	int rc;

	memset(&o, 0, sizeof(o));
	if ((rc = store_refcode_lookup(hc->store, code, &o)) != 1)
		return rc == 0 ? 0 : -1;
	if (store_customer_rep(hc->store, ev->channel, o.user_id, &rep_code) == 1)
		rep = config_rep(cf, rep_code);
	rule = claim_broken_rule(hc, &(struct claim_facts){ .ev = ev, .owner = &o,
	    .campaign = config_campaign(cf, o.campaign) });
	{
		struct ref_event e = { .type = rule ? "rejected" : "held", .channel = ev->channel,
		    .campaign = o.campaign, .code = code, .referrer_id = o.user_id,
		    .referee_id = ev->user_id, .rep_code = rep ? rep->code : NULL,
		    .branch = rep && rep->branch ? rep->branch->code : NULL,
		    .reason = rule ? rule->reason : "typed_name", .actor = "friend",
		    .at = hc->now_ms };

		if (rule == NULL) {
			memset(&r, 0, sizeof(r));
			r.channel = ev->channel;
			r.campaign = o.campaign;
			r.code = code;
			r.referrer_id = o.user_id;
			r.referee_id = ev->user_id;
			r.rep_code = rep ? rep->code : NULL;
			r.state = REF_HELD;
			r.claimed_at = hc->now_ms;
			/* 0: taken meanwhile by a code; nothing more to hold. */
			if ((rc = store_referral_put(hc->store, &r, &id)) != 1) {
				id = rc == 0 ? 0 : -1;
				goto done;
			}
			e.referral_id = id;
		}
		if (store_ref_event(hc->store, &e) == -1)
			id = -1;
	}
done:
	free(rep_code);
	refcode_owner_clear(&o);
	return id;
}

/* What the friend typed after saying いる. */
static int
typed_name(struct handler_ctx *hc, const struct event *ev)
{
	const struct config *cf = hc->cfg;
	const struct config_campaign *cp;
	struct named_code *codes = NULL;
	struct ask_answer a = { .state = "typed", .typed = ev->text, .at = hc->now_ms };
	size_t n = 0, found = 0;
	char today[11];
	int rc = -1;

	local_date(hc->now_ms, today);
	cp = config_campaign_on(cf, today);
	if (strlen(ev->text) <= TYPED_MAX && cp != NULL &&
	    (a.matches = match_name(hc, ev->channel, cp->id, ev->text, &codes, &n,
	    &found)) == -1)
		goto done;
	if (a.matches == 1) {
		if ((a.referral_id = claim_typed(hc, ev, codes[found].code)) == -1)
			goto done;
		/* A rule refused it (recorded as a rejection): nothing left to review. */
		if (a.referral_id == 0)
			a.state = "decided";
		log_info("msg=\"typed referrer name matched one customer\" referral_id=%lld",
		    (long long)a.referral_id);
	}
	if (store_ask_answer(hc->store, ev->channel, ev->user_id, &a) == -1)
		goto done;
	rc = 0;
done:
	named_codes_free(codes, n);
	return rc;
}

int
referrer_ask_decide(struct handler_ctx *hc, const char *channel, const char *user_id,
    const char *code_text, char *why, size_t whylen)
{
	/* The friend's side of the claim: the rules read who and where. */
	char type[] = "message", source[] = "user", *ch = xstrdup(channel),
	    *user = xstrdup(user_id);
	struct event ev = { .platform = PLATFORM_LINE, .type = type, .channel = ch,
	    .user_id = user, .source_type = source };
	struct ask_answer a = { .state = "decided" };
	char codes[1][REFCODE_LEN + 1], *state = NULL;
	int rc;

	why[0] = '\0';
	if ((rc = store_ask_state(hc->store, channel, user_id, &state)) == 1 &&
	    strcmp(state, "typed") != 0)
		rc = 0;
	free(state);
	if (rc != 1) {
		snprintf(why, whylen, "%s", rc == 0 ? "no typed name of this friend waits for a "
		    "decision" : "cannot read the question");
		rc = rc == 0 ? -2 : -1;
		goto done;
	}
	if (code_text != NULL) {
		if (refcode_find(code_text, codes, 1) != 1) {
			snprintf(why, whylen, "'%s' is not a referral code", code_text);
			rc = -2;
			goto done;
		}
		/* The claim the friend would have made with the code, by the same rules,
		 * then let through by the operator as a held claim is. */
		rc = -1;
		if ((a.referral_id = claim_typed(hc, &ev, codes[0])) == -1)
			goto done;
		if (a.referral_id == 0) {
			snprintf(why, whylen, "the claim on %s is refused by the campaign's rules "
			    "(or the code is unknown); see the referral events", codes[0]);
			rc = -2;
			goto done;
		}
		if ((rc = referral_operator_move(hc, a.referral_id, REF_CLAIMED, why,
		    whylen)) != 1) {
			rc = rc == 0 ? -2 : rc;
			goto done;
		}
	}
	rc = store_ask_answer(hc->store, channel, user_id, &a) == -1 ? -1 : 1;
done:
	free(ch);
	free(user);
	return rc;
}

static enum handler_result
handle(struct handler_ctx *hc, const struct event *ev)
{
	const struct config_wording *w = &hc->cfg->wording;
	struct msg_vars vars;
	char *state = NULL, *norm = NULL, *name = NULL;
	const char *reply = NULL;
	int rc;

	if (ev->platform != PLATFORM_LINE || strcmp(ev->type, "message") != 0 ||
	    ev->text == NULL || ev->user_id == NULL || (ev->source_type != NULL &&
	    strcmp(ev->source_type, "user") != 0))
		return HANDLER_NOT_MINE;
	if ((rc = store_ask_state(hc->store, ev->channel, ev->user_id, &state)) != 1) {
		if (rc == -1) {
			hc->error = "cannot read the referrer question";
			return HANDLER_FAILED;
		}
		return HANDLER_NOT_MINE;
	}
	norm = text_normalize(ev->text);
	rc = 0;
	if (strcmp(state, "asked") == 0 || strcmp(state, "yes") == 0) {
		if (config_words_has(w->referrer_no_words, norm)) {
			rc = store_ask_answer(hc->store, ev->channel, ev->user_id,
			    &(struct ask_answer){ .state = "no" });
			reply = "ask_referrer_none";
		} else if (config_words_has(w->referrer_yes_words, norm)) {
			rc = store_ask_answer(hc->store, ev->channel, ev->user_id,
			    &(struct ask_answer){ .state = "yes" });
			reply = "ask_referrer_name";
		} else if (strcmp(state, "yes") == 0) {
			int64_t id;

			/* A code sent meanwhile settled it: this text is not a name. */
			if ((rc = store_referral_of_referee(hc->store, ev->channel, ev->user_id,
			    &id)) == 1)
				rc = store_ask_answer(hc->store, ev->channel, ev->user_id,
				    &(struct ask_answer){ .state = "decided" });
			else if (rc == 0) {
				rc = typed_name(hc, ev);
				reply = "ask_referrer_thanks";
			}
		}
		/* Asked, and something else ("料金"): the other handlers answer it. */
	}
	if (rc == 0 && reply != NULL) {
		chat_vars(hc, ev, &vars, &name);
		rc = chat_reply_named(hc, ev, reply, &vars);
	}
	free(name);
	free(norm);
	free(state);
	if (rc == -1) {
		if (hc->error == NULL)
			hc->error = "cannot answer the referrer question";
		return HANDLER_FAILED;
	}
	return reply != NULL ? HANDLER_DONE : HANDLER_NOT_MINE;
}

const struct handler handler_referrer_ask = { "referrer_ask", handle };
