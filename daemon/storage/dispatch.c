/* dispatch.c: takes pending inbox rows to handlers on the storage thread, in batches,
 * one transaction per batch: the handlers' state changes and the rows' new states
 * commit together, so a crash replays a batch whole or not at all. Rows are taken in
 * inbox order by one thread, so each user's events are handled in the order they
 * arrived. The display names handlers greet people with are asked of LINE by the loop
 * (a letter each way) before the batch runs; the answers are cached in the batch's own
 * transaction. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "storage_internal.h"
#include "../../handlers/handler.h"

#define DISPATCH_BATCH		128
/* A batch stops taking events after this much handler time, so that the commits of
 * webhooks waiting behind it are not held up for long. */
#define DISPATCH_BUDGET_US	4000
#define DISPATCH_RETRY_MS	1000
/* Past this many unhandled events the next webhook commit waits for a dispatch batch
 * first (storage_dispatch_catch_up): acknowledging faster than the handlers keep up
 * would only grow the backlog. */
#define DISPATCH_BACKLOG_BOUND	1024
/* Events wait this long so that one dispatch transaction (one fsync) covers the events
 * of many group commits instead of one each. */
#define DISPATCH_DELAY_US	2000

/* What one event came to, logged and counted once its batch is committed. */
struct outcome {
	const char	*handler;
	const char	*state;
	char		 why[WHY_MAX];
	int64_t		 latency_us;
};

struct dispatch {
	struct storage		*st;
	struct event		*ev_run;
	struct event		*ev_retry;
	int			 fetching;	/* profile answers the batch waits for */
	int			 fetched;	/* they came: run the batch as it is */
	struct profile_answer	**answers;	/* to cache in the next transaction */
	size_t			 nanswers, capanswers;
	struct log_ratelimit	 rl_retry;	/* "could not run" lines: one a second */
	int64_t			 backlog;	/* events stored and not yet handled, as far
						   as this thread knows */
	int64_t			 checked_upto;	/* inbox ids up to this one had their names
						   looked at already */
	/* Rows a batch read and did not run (its time budget ran out, or it waits for
	 * names): the next batch starts with them instead of reading them again, as long
	 * as no other connection wrote in between (carry_version). */
	struct event_list	 carry;
	int64_t			 carry_version;
	/* Each event in a unit (a savepoint) of its own: set when a handler failed in a
	 * batch run without them, until a batch runs with no handler failing. */
	int			 units;
	struct outcome		 out[DISPATCH_BATCH];	/* the running batch's, by index */
};

static void run_cb(evutil_socket_t, short, void *);

struct dispatch *
dispatch_new(struct storage *st)
{
	struct dispatch *ds = xcalloc(1, sizeof(*ds));

	ds->st = st;
	ds->ev_run = evtimer_new(st->base, run_cb, ds);
	ds->ev_retry = evtimer_new(st->base, run_cb, ds);
	return ds;
}

static void
answer_free(struct profile_answer *a)
{
	free(a->channel);
	free(a->user_id);
	profile_clear(&a->profile);
	free(a);
}

void
dispatch_free(struct dispatch *ds)
{
	if (ds == NULL)
		return;
	for (size_t i = 0; i < ds->nanswers; i++)
		answer_free(ds->answers[i]);
	free(ds->answers);
	event_list_free(&ds->carry);
	event_free(ds->ev_run);
	event_free(ds->ev_retry);
	free(ds);
}

void
storage_dispatch_stored(struct storage *st, int n)
{
	st->dispatch->backlog += n;
	storage_dispatch_kick(st);
}

void
storage_dispatch_catch_up(struct storage *st)
{
	struct dispatch *ds = st->dispatch;

	if (ds->backlog > DISPATCH_BACKLOG_BOUND && ds->fetching == 0)
		run_cb(-1, 0, ds);
}

void
storage_dispatch_kick(struct storage *st)
{
	struct dispatch *ds = st->dispatch;

#ifdef SHOKAI_FAULT_HOOKS
	if (fault_enabled("no_dispatch")) {
		st->d->stats.dispatch_fault_holds++;
		return;
	}
#endif
	if (!evtimer_pending(ds->ev_run, NULL)) {
		struct timeval tv = { 0, DISPATCH_DELAY_US };

		evtimer_add(ds->ev_run, &tv);
	}
}

/* Tries the handlers in table order; the first that does not say "not mine" decides. */
static const char *
run_handlers(struct storage *st, const struct event *ev, const char **state, char *why,
    size_t whylen)
{
	int64_t now_ms = wall_ms();	/* one "now" for every handler that sees ev */

	for (const struct handler *const *h = handler_table; *h != NULL; h++) {
		struct handler_ctx hc = { .cfg = st->cfg, .store = st->store,
		    .salt = st->d->salt, .now_ms = now_ms };

		switch ((*h)->handle(&hc, ev)) {
		case HANDLER_NOT_MINE:
			continue;
		case HANDLER_DONE:
			*state = "done";
			return (*h)->name;
		case HANDLER_FAILED:
			*state = "failed";
			snprintf(why, whylen, "%s: %s", (*h)->name, hc.error ? hc.error : "failed");
			return (*h)->name;
		}
	}
	*state = "skipped";
	snprintf(why, whylen, ev->known ? "no handler for event type '%s'" :
	    "unknown event type '%s'", ev->type);
	return "-";
}

static void
log_event(const struct event *ev, const struct outcome *o)
{
	char user[16];
	enum log_level level = strcmp(o->state, "failed") == 0 ? LOG_WARN : LOG_INFO;

	if (!log_enabled(level))
		return;
	log_user(ev->user_id, user);
	log_msg(level, "msg=event platform=%s channel=%s type=%.40s inbox_id=%lld user=%s "
	    "handler=%s outcome=%s latency_us=%lld%s%s%s", platform_name(ev->platform),
	    ev->channel, ev->type, (long long)ev->inbox_id, user, o->handler, o->state,
	    (long long)o->latency_us, o->why[0] ? " reason=\"" : "", o->why,
	    o->why[0] ? "\"" : "");
}

/* A letter from the loop: LINE's answer to one profile question. */
void
storage_profile_answer(void *ctx, void *arg)
{
	struct storage *st = ctx;
	struct dispatch *ds = st->dispatch;
	struct profile_answer *a = arg;

	if (a->status == 200 || a->status == 404) {
		if (ds->nanswers == ds->capanswers) {
			ds->capanswers = ds->capanswers ? ds->capanswers * 2 : 16;
			ds->answers = xrealloc(ds->answers, ds->capanswers * sizeof(*ds->answers));
		}
		ds->answers[ds->nanswers++] = a;
	} else {
		answer_free(a);		/* a stale name, if cached, serves */
	}
	if (ds->fetching > 0 && --ds->fetching == 0) {
		ds->fetched = 1;
		event_active(ds->ev_run, 0, 0);
	}
}

/* Caches the profiles LINE gave, inside the batch's transaction. */
static int
cache_answers(struct dispatch *ds)
{
	for (size_t i = 0; i < ds->nanswers; i++) {
		struct profile_answer *a = ds->answers[i];

		a->profile.found = a->status == 200;
		if (store_profile_put(ds->st->store, a->channel, a->user_id, &a->profile) == -1)
			return -1;
	}
	return 0;
}

static void
answers_clear(struct dispatch *ds)
{
	for (size_t i = 0; i < ds->nanswers; i++)
		answer_free(ds->answers[i]);
	ds->nanswers = 0;
}

static int
wants_profile(const struct config *cf, const struct event *ev)
{
	if (ev->platform != PLATFORM_LINE || ev->user_id == NULL || ev->reply_token == NULL)
		return 0;
	if (strcmp(ev->type, "follow") == 0)
		return 1;
	return cf->prefetch_display_names && (strcmp(ev->type, "message") == 0 ||
	    strcmp(ev->type, "postback") == 0);
}

/* A tap on the refer button: the customer waits for the invite, which waits for the
 * name, so LINE's loading animation shows meanwhile. */
static int
asks_for_invite(const struct config *cf, const struct event *ev)
{
	const struct config_postback *cp;
	struct postback pb;
	char why[WHY_MAX];
	int yes;

	if (strcmp(ev->type, "postback") != 0 || ev->postback_data == NULL ||
	    postback_parse(ev->postback_data, &pb, why, sizeof(why)) == -1)
		return 0;
	yes = pb.action != NULL && (cp = config_postback(cf, pb.action)) != NULL &&
	    cp->flow != NULL && strcmp(cp->flow, "referral.invite") == 0;
	postback_clear(&pb);
	return yes;
}

static int
asked_before(const struct event_list *batch, const unsigned char *asked, size_t upto,
    const struct event *ev)
{
	for (size_t j = 0; j < upto; j++) {
		const struct event *o = &batch->v[j];

		if (asked[j] && strcmp(o->user_id, ev->user_id) == 0 &&
		    strcmp(o->channel, ev->channel) == 0)
			return 1;
	}
	return 0;
}

/* Asks the loop for the names the batch's handlers will greet people with and that
 * the cache does not have fresh. Returns 1 when the batch must wait for answers. A name
 * LINE cannot give is not waited for twice: the batch then runs without it. */
static int
prefetch_profiles(struct dispatch *ds, const struct event_list *batch)
{
	struct storage *st = ds->st;
	int64_t now = wall_ms();
	unsigned char *asked;

	if (ds->fetched) {
		ds->fetched = 0;
		return 0;
	}
	asked = xcalloc(batch->n, 1);
	for (size_t i = 0; i < batch->n; i++) {
		const struct event *ev = &batch->v[i];
		struct profile cached;
		int have;

		/* A batch cut short by its time budget comes back: its rest was seen. */
		if (ev->inbox_id <= ds->checked_upto || !wants_profile(st->cfg, ev) ||
		    asked_before(batch, asked, i, ev))
			continue;
		have = store_profile_get(st->store, ev->channel, ev->user_id, &cached);
		if (have == 1 && profile_fresh(&cached, now)) {
			profile_clear(&cached);
			continue;
		}
		profile_clear(&cached);
		if (have == -1)
			continue;
		{
			struct profile_answer *q = xcalloc(1, sizeof(*q));

			q->channel = xstrdup(ev->channel);
			q->user_id = xstrdup(ev->user_id);
			q->loading = asks_for_invite(st->cfg, ev);
			asked[i] = 1;
			ds->fetching++;
			loop_post(st->d, profile_fetch, q);
		}
	}
	free(asked);
	if (ds->fetching == 0 && batch->n > 0)
		ds->checked_upto = batch->v[batch->n - 1].inbox_id;
	return ds->fetching > 0;
}

static void
count_outcome(struct storage *st, const struct event *ev, const char *state)
{
	if (strcmp(state, "done") == 0)
		st->d->stats.events_done++;
	else if (strcmp(state, "failed") == 0)
		st->d->stats.events_failed++;
	else
		st->d->stats.events_skipped++;
	if (!ev->known)
		st->d->stats.events_unknown++;
}

/* The batch's events in order, each with its inbox mark, until the time budget;
 * ds->out[i] says what event i came to and *ran counts those handled. An event's writes
 * stand or fall together: a handler that fails halfway leaves nothing behind but the
 * failure on its inbox row. With units, each event runs inside a savepoint that a
 * failure rolls back. Without (ds->units == 0, the usual case), no savepoint is opened:
 * SQLite copies every page an event touches into the savepoint's journal first, about
 * 4 % of a webhook's instructions (make bench-instr), for failures that seldom come; a
 * failure then returns 1 and the caller runs the batch again with units. -1 on a store
 * error (the caller rolls back). */
static int
handle_batch(struct dispatch *ds, const struct event_list *batch, int64_t began_us,
    size_t *ran)
{
	struct storage *st = ds->st;
	struct store *s = st->store;

	*ran = 0;
	for (size_t i = 0; i < batch->n && i < DISPATCH_BATCH; i++) {
		const struct event *ev = &batch->v[i];
		struct outcome *o = &ds->out[i];
		int64_t start_us = clock_us();

		if (i > 0 && start_us - began_us > DISPATCH_BUDGET_US)
			break;	/* the rest in the next batch, in the same order */
		if (ds->units && store_unit_begin(s) == -1)
			return -1;
		o->why[0] = '\0';
		o->handler = run_handlers(st, ev, &o->state, o->why, sizeof(o->why));
		if (!ds->units && strcmp(o->state, "failed") == 0)
			return 1;
		if ((ds->units && store_unit_end(s, strcmp(o->state, "failed") != 0) == -1) ||
		    store_inbox_mark(s, ev->inbox_id, o->state, o->why[0] ? o->why : NULL) == -1)
			return -1;
		o->latency_us = clock_us() - start_us;
		(*ran)++;
#ifdef SHOKAI_FAULT_HOOKS
		if (fault_enabled("crash_in_dispatch"))
			raise(SIGKILL);
#endif
	}
	return 0;
}

/* A handler failed in a batch run without units: everything the batch wrote is rolled
 * back and it runs again, each event in a unit, in a transaction of its own. Handlers'
 * own log lines from the first run stay in the log; the line said here tells why they
 * come twice. 0 when the batch ran, 1 when another connection changed the inbox in
 * between (the batch is read again), -1 on a store error. */
static int
handle_batch_in_units(struct dispatch *ds, const struct event_list *batch,
    int64_t began_us, size_t *ran)
{
	struct storage *st = ds->st;
	struct store *s = st->store;
	int64_t version;

	store_rollback(s);
	ds->units = 1;
	log_info("msg=\"a handler failed: the dispatch batch runs again, each event in a "
	    "savepoint\" events=%zu", batch->n);
	if (storage_begin_deferred(st) == -1 || (version = store_inbox_version(s)) == -1)
		return -1;
	if (version != ds->carry_version)
		return 1;
	if (cache_answers(ds) == -1)
		return -1;
	return handle_batch(ds, batch, began_us, ran);
}

/* Inside the batch's transaction: the rows carried over from the last batch, if still
 * valid, then pending rows after them, up to DISPATCH_BATCH in all. */
static int
read_batch(struct dispatch *ds, struct event_list *batch)
{
	struct store *s = ds->st->store;
	int64_t version = store_inbox_version(s), after = 0;

	if (version == -1) {
		event_list_free(&ds->carry);
		return -1;
	}
	if (ds->carry.n > 0 && version == ds->carry_version) {
		*batch = ds->carry;
		after = batch->v[batch->n - 1].inbox_id;
	} else
		event_list_free(&ds->carry);
	memset(&ds->carry, 0, sizeof(ds->carry));
	ds->carry_version = version;
	if (batch->n >= DISPATCH_BATCH)
		return 0;
	return store_inbox_pending(s, after, DISPATCH_BATCH - batch->n, batch);
}

/* The batch's rows from index from on stay pending: kept for the next batch. */
static void
carry_rest(struct dispatch *ds, struct event_list *batch, size_t from)
{
	event_list_drop_front(batch, from);
	ds->carry = *batch;
	memset(batch, 0, sizeof(*batch));
}

static void
run_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dispatch *ds = arg;
	struct storage *st = ds->st;
	struct store *s = st->store;
	struct event_list batch = { 0 };
	int64_t began_us = clock_us();
	size_t ran = 0;
	int rc;

	(void)fd;
	(void)what;
	if (ds->fetching > 0)
		return;		/* the last answer runs the batch */
	/* The batch's reads (its rows, the cached names) share its transaction: one read
	 * lock instead of one per statement. Nothing is written before the names are in. */
	if (storage_begin_deferred(st) == -1)
		goto retry;
	if (read_batch(ds, &batch) == -1) {
		store_rollback(s);
		goto retry;
	}
	if (batch.n == 0 || prefetch_profiles(ds, &batch)) {
		store_rollback(s);
		carry_rest(ds, &batch, 0);	/* nothing was written: all still pending */
		goto out;
	}
	rc = cache_answers(ds) == 0 ? handle_batch(ds, &batch, began_us, &ran) : -1;
	if (rc == 1)
		rc = handle_batch_in_units(ds, &batch, began_us, &ran);
	if (rc == 1) {
		store_rollback(s);
		event_active(ds->ev_run, 0, 0);	/* the next batch reads the rows afresh */
		goto out;
	}
	if (rc == -1 || store_commit(s) == -1) {
		store_rollback(s);
		goto retry;
	}
	(void)storage_committed(st);	/* its messages go out once it is synced */
	answers_clear(ds);
	ds->units = 0;
	for (size_t i = 0; i < ran; i++) {
		log_event(&batch.v[i], &ds->out[i]);
		count_outcome(st, &batch.v[i], ds->out[i].state);
		if (strcmp(ds->out[i].state, "failed") == 0)
			ds->units = 1;	/* failing again: stay in units for now */
	}
	/* A short batch took every pending row: the count is exact again. */
	ds->backlog = batch.n < DISPATCH_BATCH && ran == batch.n ? 0 :
	    (ds->backlog > (int64_t)ran ? ds->backlog - (int64_t)ran : (int64_t)(batch.n - ran));
	storage_outbox_kick(st);	/* handlers may have queued messages */
	if (ran < batch.n || batch.n == DISPATCH_BATCH)
		event_active(ds->ev_run, 0, 0);	/* more are waiting: after the commits */
	carry_rest(ds, &batch, ran);
out:
	event_list_free(&batch);
	return;
retry:
	/* The database is busy or failing: the rows stay pending; try again shortly. */
	event_list_free(&batch);
	st->d->stats.db_errors++;
	{
		unsigned long suppressed;

		if (log_ratelimit_ok(&ds->rl_retry, &suppressed))
			log_warnx("msg=\"dispatch could not run; retrying\" retry_ms=%d "
			    "detail=\"%s\" suppressed=%lu", DISPATCH_RETRY_MS, store_errmsg(s),
			    suppressed);
	}
	{
		struct timeval tv = { DISPATCH_RETRY_MS / 1000, 0 };

		evtimer_add(ds->ev_retry, &tv);
	}
}
