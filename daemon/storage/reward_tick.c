/* reward_tick.c: moves rewards along on their own, once a second: each due reward goes
 * to handlers/reward_issue.c (approve, take a coupon, issue, queue the thanks) inside one
 * transaction per batch. An empty pool leaves the reward approved, nothing lost, and
 * raises an alert (a log line a minute per pool); every tick also counts, from the
 * database, the approved rewards whose pool has no free code: /healthz's
 * coupon_pool_empty, a gauge that falls back to 0 once codes are imported.
 * Once a minute it also gives held claims past their campaign's review deadline the
 * campaign's default outcome (handlers/referral_operator.c). Storage thread only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "storage_internal.h"
#include "../../handlers/handler.h"

#define TICK_MS		1000
#define BATCH		64
#define ALERT_EVERY_MS	60000
#define REVIEW_EVERY_MS	60000
#define REVIEW_PAGES	16	/* pages of held claims a minute: 1,024 */

struct reward_tick {
	struct storage	*st;
	struct event	*ev_tick;
	int64_t		 last_alert_ms;
	int64_t		 last_review_ms;
	int64_t		 review_after;	/* the held claims' cursor: the last id read */
};

static void tick_cb(evutil_socket_t, short, void *);

struct reward_tick *
reward_tick_new(struct storage *st)
{
	struct reward_tick *rw = xcalloc(1, sizeof(*rw));
	struct timeval tv = { 0, TICK_MS * 1000 };

	rw->st = st;
	rw->ev_tick = event_new(st->base, -1, EV_PERSIST, tick_cb, rw);
	evtimer_add(rw->ev_tick, &tv);
	return rw;
}

void
reward_tick_free(struct reward_tick *rw)
{
	if (rw == NULL)
		return;
	event_free(rw->ev_tick);
	free(rw);
}

/* Held claims past their deadline, a page (one transaction) at a time through the
 * whole queue: claims that wait for a person (default none, or not due yet) never hide
 * the ones behind them. A long queue goes on from the cursor the next minute; a store
 * error retries that page then. */
static int
review_page(struct reward_tick *rw, int64_t now)
{
	struct storage *st = rw->st;
	struct referral_row *rows = NULL;
	size_t n = 0;
	int ok = 1, moved = 0, more = 0;

	if (store_referrals_held(st->store, rw->review_after, BATCH, &rows, &n) == -1)
		goto done;
	if (n == 0 || store_begin(st->store) == -1) {
		rw->review_after = n == 0 ? 0 : rw->review_after;
		goto done;
	}
	for (size_t i = 0; ok && i < n; i++) {
		struct handler_ctx hc = { .cfg = st->cfg, .store = st->store,
		    .salt = st->d->salt, .now_ms = now };
		int rc = referral_review_expired(&hc, &rows[i]);

		ok = rc != -1;
		moved += rc == 1;
	}
	if (!ok || store_commit(st->store) == -1) {
		store_rollback(st->store);
		st->d->stats.db_errors++;
		log_warnx("msg=\"held claims past their deadline could not be decided; retrying\"");
		goto done;
	}
	if (moved > 0)
		storage_outbox_kick(st);
	/* A full page: more may follow; else the next minute starts over. */
	more = n == BATCH;
	rw->review_after = more ? rows[n - 1].id : 0;
done:
	for (size_t i = 0; i < n; i++)
		referral_row_clear(&rows[i]);
	free(rows);
	return more;
}

static void
review_deadlines(struct reward_tick *rw, int64_t now)
{
	rw->last_review_ms = now;
	for (int page = 0; page < REVIEW_PAGES && review_page(rw, now); page++)
		continue;
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct reward_tick *rw = arg;
	struct storage *st = rw->st;
	struct daemon *d = st->d;
	struct reward_row *rows = NULL;
	size_t n = 0;
	int64_t now = wall_ms();
	int ok = 1, sent = 0;
	const char *empty_pool = NULL;

	(void)fd;
	(void)what;
	if (!d->draining && now - rw->last_review_ms >= REVIEW_EVERY_MS)
		review_deadlines(rw, now);
	if (!d->draining) {
		int64_t waiting = store_rewards_waiting_pool(st->store);

		if (waiting >= 0)	/* an error keeps the last figure; db_errors tells */
			d->stats.coupon_pool_empty = (unsigned long long)waiting;
	}
	if (d->draining || store_rewards_work(st->store, now, BATCH, &rows, &n) == -1 || n == 0)
		goto done;
	if (store_begin(st->store) == -1)
		goto done;
	for (size_t i = 0; ok && i < n; i++) {
		struct handler_ctx hc = { .cfg = st->cfg, .store = st->store, .salt = d->salt,
		    .now_ms = now };

		switch (reward_advance(&hc, &rows[i])) {
		case REWARD_STEP_ISSUED:
			sent++;
			break;
		case REWARD_STEP_POOL_EMPTY:
			empty_pool = rows[i].pool;
			break;
		case REWARD_STEP_FAILED:
			ok = 0;
			log_warnx("msg=\"reward not moved\" reward_id=%lld detail=\"%s\"",
			    (long long)rows[i].id, hc.error ? hc.error : "-");
			break;
		case REWARD_STEP_NONE:
			break;
		}
	}
	if (!ok || store_commit(st->store) == -1) {
		store_rollback(st->store);
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
		storage_outbox_kick(st);
done:
	for (size_t i = 0; i < n; i++)
		reward_row_clear(&rows[i]);
	free(rows);
}
