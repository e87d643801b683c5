/* referral_followup.c: what customers hear from shokai by itself, each once (a nudges
 * row taken in the transaction that queues the message): one reminder of an invite
 * nobody opened, and the ask after a win (do you know someone else?), both counted
 * against the campaign's monthly limit per person. The follow-up tick
 * (daemon/storage/followup_tick.c) asks when; these say what. What branch managers
 * hear is referral_manager.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"

/* How late a reminder may still go: a daemon stopped longer skips the older codes (a
 * reminder days late is no reminder), and the scan stays a short index range. */
#define REMIND_LOOKBACK_MS	(2LL * 86400 * 1000)

void
referral_remind_window(const struct config_campaign *cp, int64_t now, int64_t *lo,
    int64_t *hi)
{
	*hi = now - cp->remind_unshared_ms + 1;
	*lo = *hi - REMIND_LOOKBACK_MS;
}

/* Local midnight starting the month that holds now. */
static int
month_start(int64_t now, int64_t *ms)
{
	char date[11];

	local_date(now, date);
	memcpy(date + 8, "01", 2);
	return local_midnight(date, 0, ms);
}

/* Takes the follow-up for a customer, counted against the campaign's monthly limit:
 * 1 to send, 0 not (already taken; or over the limit, or blocked: taken unsent; or a
 * person has the conversation: not taken, a reminder is tried again at the next scan
 * and the ask after a win is left out), -1 an error. */
static int
take_for_person(struct handler_ctx *hc, const struct config_campaign *cp,
    const char *kind, const char *subject, const char *channel, const char *person)
{
	struct nudge n = { .kind = kind, .subject = subject, .channel = channel,
	    .person = person, .sent = 1, .at = hc->now_ms };
	int64_t since, sent;
	int quiet;

	/* The bot does not talk over a person answering the customer. */
	if ((quiet = store_handoff_quiet(hc->store, channel, person, hc->now_ms)) != 0) {
		if (quiet == -1)
			hc->error = "cannot read the customer's handoff";
		return quiet == 1 ? 0 : -1;
	}

	if ((n.sent = store_nudge_reachable(hc->store, channel, person)) == -1) {
		hc->error = "cannot read whether the person is a friend";
		return -1;
	}
	if (n.sent && cp->reminders_per_month > 0) {
		if (month_start(hc->now_ms, &since) == -1 ||
		    (sent = store_nudges_sent_since(hc->store, channel, person, since)) < 0) {
			hc->error = "cannot count the person's reminders this month";
			return -1;
		}
		n.sent = sent < cp->reminders_per_month;
	}
	switch (store_nudge_take(hc->store, &n)) {
	case -1:
		hc->error = "cannot record the follow-up";
		return -1;
	case 0:
		return 0;
	default:
		if (!n.sent)
			log_info("msg=\"follow-up not sent: the person blocked the account or "
			    "reached the monthly limit\" kind=%s subject=%s limit=%d", kind,
			    subject, cp->reminders_per_month);
		return n.sent;
	}
}

int
referral_remind_unshared(struct handler_ctx *hc, const struct config_campaign *cp,
    const struct nudge_code *c)
{
	const struct config_rep *rep;
	struct event ev = { .platform = PLATFORM_LINE, .channel = c->channel,
	    .user_id = c->user_id };
	struct msg_vars vars;
	struct invite_texts t;
	int rc;

	if ((rc = take_for_person(hc, cp, "remind", c->code, c->channel, c->user_id)) != 1)
		return rc;
	rc = -1;
	/* The same invite the customer was given (referral_invite.c). */
	if (referral_invite_vars(hc, &ev, c->code, &vars, &rep, &t) == -1)
		goto done;
	if (chat_push_named(hc, c->channel, c->user_id, "referral_reminder", &vars) == -1)
		goto done;
	rc = 1;
done:
	invite_texts_clear(&t);
	return rc;
}

int
referral_ask_after_won(struct handler_ctx *hc, const struct referral_row *r)
{
	const struct config_campaign *cp = config_campaign(hc->cfg, r->campaign);
	const struct config_rep *rep;
	struct event ev = { .platform = PLATFORM_LINE, .channel = r->channel,
	    .user_id = r->referee_id };
	struct msg_vars vars;
	char id[24], *name = NULL, *contact = NULL;
	int rc;

	if (cp == NULL || !cp->ask_after_won)
		return 0;
	snprintf(id, sizeof(id), "%lld", (long long)r->id);
	if ((rc = take_for_person(hc, cp, "ask", id, r->channel, r->referee_id)) != 1)
		return rc;
	chat_vars(hc, &ev, &vars, &name);
	referral_rep_vars(hc, &ev, &vars, &rep, &contact);
	rc = chat_push_named_as(hc, r->channel, r->referee_id, "referral_ask_after_won", &vars,
	    referee_sender(cp, rep));
	free(contact);
	free(name);
	return rc == -1 ? -1 : 1;
}
