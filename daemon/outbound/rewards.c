/* rewards.c: moves rewards along on their own: a pending reward whose holding period
 * is over is approved when its campaign approves automatically (else an operator does
 * it with shokaictl); an approved reward gets a coupon from its pool and is issued, in
 * the same transaction that takes the coupon, and the person is sent it through the
 * outbox. An empty pool leaves the reward approved, nothing lost, and raises an alert
 * (a log line a minute per pool and the coupon_pool_empty counter). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "../shokaid.h"

#define TICK_MS		1000
#define BATCH		64
#define ALERT_EVERY_MS	60000

struct rewards {
	struct daemon	*d;
	struct event	*ev_tick;
	int64_t		 last_alert_ms;
};

static void tick_cb(evutil_socket_t, short, void *);

struct rewards *
rewards_new(struct daemon *d)
{
	struct rewards *rw = xcalloc(1, sizeof(*rw));
	struct timeval tv = { 0, TICK_MS * 1000 };

	rw->d = d;
	rw->ev_tick = event_new(d->base, -1, EV_PERSIST, tick_cb, rw);
	event_priority_set(rw->ev_tick, PRIO_BACKGROUND);
	evtimer_add(rw->ev_tick, &tv);
	return rw;
}

void
rewards_free(struct rewards *rw)
{
	if (rw == NULL)
		return;
	event_free(rw->ev_tick);
	free(rw);
}

/* A reward event, counted in reports under the referral's rep and branch. */
int
rewards_log(const struct config *cf, struct store *s, const struct reward_row *w,
    const char *what, const char *actor)
{
	const struct config_rep *rep = w->rep_code ? config_rep(cf, w->rep_code) : NULL;
	char reason[48];
	struct ref_event e = { .type = "reward", .channel = w->channel,
	    .campaign = w->campaign, .referral_id = w->referral_id,
	    .referrer_id = w->referrer_id, .referee_id = w->referee_id,
	    .rep_code = w->rep_code, .branch = rep && rep->branch ? rep->branch->code : NULL,
	    .reason = reason, .actor = actor };

	snprintf(reason, sizeof(reason), "%s:%s", what, w->side);
	return store_ref_event(s, &e);
}

/* The thank-you with the coupon, pushed to the person. */
static int
send_coupon(struct daemon *d, const struct reward_row *w, const char *coupon)
{
	const struct config_campaign *cp = config_campaign(d->cfg, w->campaign);
	const struct config_reward_side *side = cp == NULL ? NULL :
	    strcmp(w->side, "referrer") == 0 ? &cp->referrer : &cp->referee;
	struct msg_vars vars = { 0 };
	json_t *messages;

	msg_vars_set(&vars, "coupon_code", coupon);
	msg_vars_set(&vars, "company_name", d->cfg->company_name ? d->cfg->company_name : "");
	if (side != NULL && side->message != NULL)
		messages = msg_template_render(side->message->line, &vars);
	else {
		char *text = xasprintf("ご紹介特典をお届けします。クーポンコード: %s", coupon);

		messages = json_pack("[{s:s,s:s}]", "type", "text", "text", text);
		free(text);
	}
	return outbox_push_line(d->store, w->channel, w->user_id, messages);
}

int
rewards_issue(struct daemon *d, const struct reward_row *w, int *empty)
{
	char *coupon = NULL;
	int rc;

	*empty = 0;
	if ((rc = store_coupon_take(d->store, w->pool, w->id, &coupon)) != 1) {
		*empty = rc == 0;
		return rc == 0 ? 0 : -1;
	}
	rc = store_reward_set(d->store, w->id, REWARD_APPROVED, REWARD_ISSUED, coupon, NULL,
	    wall_ms());
	if (rc == 1)
		rc = rewards_log(d->cfg, d->store, w, "issued", "system") == 0 &&
		    send_coupon(d, w, coupon) == 0 ? 1 : -1;
	free(coupon);
	return rc;
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rewards *rw = arg;
	struct daemon *d = rw->d;
	struct reward_row *rows = NULL;
	size_t n = 0;
	int64_t now = wall_ms();
	int ok = 1, sent = 0;
	const char *empty_pool = NULL;

	(void)fd;
	(void)what;
	if (d->draining || store_rewards_work(d->store, now, BATCH, &rows, &n) == -1 || n == 0)
		goto done;
	if (store_begin(d->store) == -1)
		goto done;
	for (size_t i = 0; ok && i < n; i++) {
		struct reward_row *w = &rows[i];
		const struct config_campaign *cp = config_campaign(d->cfg, w->campaign);
		int empty = 0, rc;

		if (w->state == REWARD_PENDING) {
			if (cp == NULL || !cp->approval_auto)
				continue;	/* an operator approves */
			rc = store_reward_set(d->store, w->id, REWARD_PENDING, REWARD_APPROVED,
			    NULL, NULL, now);
			ok = rc != -1 && (rc == 0 || rewards_log(d->cfg, d->store, w,
			    "approved", "system") == 0);
			if (rc != 1 || !ok)
				continue;
			w->state = REWARD_APPROVED;
		}
		rc = rewards_issue(d, w, &empty);
		ok = rc != -1;
		sent += rc == 1;
		if (empty) {
			d->stats.coupon_pool_empty++;
			empty_pool = w->pool;
		}
	}
	if (!ok || store_commit(d->store) == -1) {
		store_rollback(d->store);
		d->stats.db_errors++;
		log_warnx("msg=\"rewards could not be moved; retrying\"");
		goto done;
	}
	d->stats.reward_batches++;
	if (empty_pool != NULL && now - rw->last_alert_ms >= ALERT_EVERY_MS) {
		rw->last_alert_ms = now;
		log_warnx("msg=\"coupon pool empty: rewards wait approved\" pool=%s "
		    "hint=\"shokaictl import coupons %s FILE.csv\"", empty_pool, empty_pool);
	}
	if (sent > 0)
		outbox_kick(d->outbox);
done:
	for (size_t i = 0; i < n; i++)
		reward_row_clear(&rows[i]);
	free(rows);
}
