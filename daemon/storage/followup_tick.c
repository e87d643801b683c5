/* followup_tick.c: when the follow-ups go out (what they say is
 * handlers/referral_followup.c's and referral_manager.c's). Once a second it looks
 * whether a branch's weekly digest is due (the configured day, from the configured
 * time, on that day only); every
 * few seconds it looks for invites nobody opened after their campaign's
 * reminders.unshared_after (within business hours: nobody gets a reminder at night)
 * and for referrals that waited for their rep longer than
 * referral.escalate_unacted_after of business hours. One transaction per batch, and
 * the nudges row each follow-up takes in it makes a second tick or a restart send
 * nothing twice. Storage thread only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "storage_internal.h"
#include "../../handlers/handlers.h"

#define TICK_MS		1000
#define SCAN_EVERY_MS	5000
#define BATCH		64

struct followup_tick {
	struct storage	*st;
	struct event	*ev_tick;
	int64_t		 last_scan_ms;
};

static void tick_cb(evutil_socket_t, short, void *);

struct followup_tick *
followup_tick_new(struct storage *st)
{
	struct followup_tick *ft = xcalloc(1, sizeof(*ft));
	struct timeval tv = { 0, TICK_MS * 1000 };

	ft->st = st;
	ft->ev_tick = event_new(st->base, -1, EV_PERSIST, tick_cb, ft);
	evtimer_add(ft->ev_tick, &tv);
	return ft;
}

void
followup_tick_free(struct followup_tick *ft)
{
	if (ft == NULL)
		return;
	event_free(ft->ev_tick);
	free(ft);
}

static struct handler_ctx
ctx_of(struct storage *st, int64_t now)
{
	return (struct handler_ctx){ .cfg = st->cfg, .store = st->store, .salt = st->d->salt,
	    .now_ms = now };
}

/* Ends a batch's transaction: 1 committed, 0 rolled back (counted and logged). */
static int
finish(struct storage *st, int ok, const char *what)
{
	if (ok && store_commit(st->store) == 0)
		return 1;
	store_rollback(st->store);
	st->d->stats.db_errors++;
	log_warnx("msg=\"%s could not be sent; retrying\"", what);
	return 0;
}

/* Invites nobody opened, one campaign's batch. 1 when something was queued. */
static int
remind_campaign(struct storage *st, const struct config_campaign *cp, int64_t now)
{
	struct nudge_code *codes = NULL;
	size_t n = 0;
	int ok = 1, sent = 0;
	int64_t lo, hi;

	referral_remind_window(cp, now, &lo, &hi);
	if (store_codes_unshared(st->store, cp->id, lo, hi, BATCH, &codes, &n) == -1 || n == 0)
		goto done;
	if (store_begin(st->store) == -1)
		goto done;
	for (size_t i = 0; ok && i < n; i++) {
		struct handler_ctx hc = ctx_of(st, now);
		int rc = referral_remind_unshared(&hc, cp, &codes[i]);

		if (rc == -1)
			log_warnx("msg=\"reminder not sent\" code=%s detail=\"%s\"",
			    codes[i].code, hc.error ? hc.error : "-");
		ok = rc != -1;
		sent += rc == 1;
	}
	if (!finish(st, ok, "reminders"))
		sent = 0;
done:
	nudge_codes_free(codes, n);
	return sent > 0;
}

static int
remind(struct storage *st, int64_t now)
{
	const struct config *cf = st->cfg;
	char today[11];
	int kick = 0;

	if (!config_hours_open(&cf->business_hours, now))
		return 0;
	local_date(now, today);
	for (size_t i = 0; i < cf->n_campaigns; i++) {
		const struct config_campaign *cp = &cf->campaigns[i];

		if (cp->remind_unshared_ms > 0 && config_campaign_running(cp, today))
			kick |= remind_campaign(st, cp, now);
	}
	return kick;
}

/* New friends who sent no code since following, one batch: each asked once whether
 * someone referred them. Any time of day: they have just added the account. */
static int
ask_referrers(struct storage *st, int64_t now)
{
	struct nudge_code *f = NULL;
	size_t n = 0;
	int ok = 1, sent = 0;
	int64_t lo, hi;
	char today[11];

	/* Without a campaign running there is nobody a friend could be credited to. */
	local_date(now, today);
	if (st->cfg->referral.ask_referrer_after_ms <= 0 ||
	    config_campaign_on(st->cfg, today) == NULL)
		return 0;
	referral_ask_window(st->cfg, now, &lo, &hi);
	if (store_ask_due(st->store, lo, hi, BATCH, &f, &n) == -1 || n == 0)
		goto done;
	if (store_begin(st->store) == -1)
		goto done;
	for (size_t i = 0; ok && i < n; i++) {
		struct handler_ctx hc = ctx_of(st, now);
		int rc = referral_ask_referrer(&hc, &f[i]);

		if (rc == -1)
			log_warnx("msg=\"referrer question not sent\" detail=\"%s\"",
			    hc.error ? hc.error : "-");
		ok = rc != -1;
		sent += rc == 1;
	}
	if (!finish(st, ok, "referrer questions"))
		sent = 0;
done:
	nudge_codes_free(f, n);
	return sent > 0;
}

/* Referrals past their deadline, oldest first: the deadline grows with the start of
 * the wait, so the first one not yet due ends the batch. */
static int
escalate(struct storage *st, int64_t now)
{
	const struct config *cf = st->cfg;
	struct figures_waiting *w = NULL;
	size_t n = 0;
	int ok = 1, sent = 0, begun = 0;
	int64_t after = cf->referral.escalate_after_ms;

	if (after <= 0 || store_referrals_unacted(st->store, now - after, BATCH, &w, &n) == -1)
		goto done;
	for (size_t i = 0; ok && i < n; i++) {
		struct handler_ctx hc = ctx_of(st, now);
		int rc;

		if (!referral_escalate_due(cf, w[i].since, now))
			break;
		if (!begun) {
			if (store_begin(st->store) == -1)
				goto done;
			begun = 1;
		}
		if ((rc = referral_escalate(&hc, &w[i])) == -1)
			log_warnx("msg=\"escalation not sent\" referral_id=%lld detail=\"%s\"",
			    (long long)w[i].referral_id, hc.error ? hc.error : "-");
		ok = rc != -1;
		sent += rc == 1;
	}
	if (begun && !finish(st, ok, "escalations"))
		sent = 0;
done:
	figures_waiting_free(w, n);
	return sent > 0;
}

/* The digest's day from its time to the day's end; each branch with managers once. */
static int
digest(struct storage *st, int64_t now)
{
	const struct config *cf = st->cfg;
	char today[11];
	int kick = 0;

	if (!referral_digest_due(cf, now, today))
		return 0;
	for (size_t i = 0; i < cf->n_branches; i++) {
		const struct config_branch *b = &cf->branches[i];
		struct handler_ctx hc = ctx_of(st, now);
		char *text;
		int rc;

		if (b->n_managers == 0 ||
		    store_nudge_exists(st->store, "digest", b->code, today) != 0)
			continue;
		/* Counted before the transaction: the figures are reads, and the webhooks'
		 * writes wait for no one's report. */
		if ((text = referral_digest_text(&hc, b, today)) == NULL) {
			log_warnx("msg=\"digest not made\" branch=%s detail=\"%s\"", b->code,
			    hc.error ? hc.error : "-");
			continue;
		}
		if (store_begin(st->store) == 0) {
			rc = referral_digest_send(&hc, b, today, text);
			if (finish(st, rc != -1, "a digest") && rc == 1) {
				log_info("msg=\"digest sent\" branch=%s date=%s", b->code, today);
				kick = 1;
			}
		}
		free(text);
	}
	return kick;
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct followup_tick *ft = arg;
	struct storage *st = ft->st;
	int64_t now = wall_ms();
	int kick = 0;

	(void)fd;
	(void)what;
	if (st->d->draining)
		return;
	kick |= digest(st, now);
	if (now - ft->last_scan_ms >= SCAN_EVERY_MS) {
		ft->last_scan_ms = now;
		kick |= remind(st, now);
		kick |= escalate(st, now);
		kick |= ask_referrers(st, now);
	}
	if (kick)
		storage_outbox_kick(st);
}
