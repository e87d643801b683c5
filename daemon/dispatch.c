/* dispatch.c: takes pending inbox rows to handlers, in small batches at the lowest
 * priority so the loop keeps answering webhooks. Each batch is one transaction: the
 * handlers' state changes and the rows' new states commit together, so a crash
 * replays a batch whole or not at all. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "shokaid.h"
#include "../handlers/handler.h"

#define DISPATCH_BATCH		256
#define DISPATCH_RETRY_MS	1000
/* Events wait this long so that one dispatch transaction (one fsync) covers the events
 * of many group commits instead of one each. */
#define DISPATCH_DELAY_US	5000

struct dispatch {
	struct daemon	*d;
	struct event	*ev_run;
	struct event	*ev_retry;
	int		 fetching;	/* profile lookups the batch waits for */
	struct log_ratelimit rl_retry;	/* "could not run" lines: one a second */
	int		 fetched;	/* the batch's lookups are done: run it as it is */
};

static void run_cb(evutil_socket_t, short, void *);

struct dispatch *
dispatch_new(struct daemon *d)
{
	struct dispatch *ds = xcalloc(1, sizeof(*ds));

	ds->d = d;
	ds->ev_run = evtimer_new(d->base, run_cb, ds);
	event_priority_set(ds->ev_run, PRIO_BACKGROUND);
	ds->ev_retry = evtimer_new(d->base, run_cb, ds);
	return ds;
}

void
dispatch_free(struct dispatch *ds)
{
	if (ds == NULL)
		return;
	event_free(ds->ev_run);
	event_free(ds->ev_retry);
	free(ds);
}

void
dispatch_kick(struct dispatch *ds)
{
#ifdef SHOKAI_FAULT_HOOKS
	if (fault_enabled("no_dispatch")) {
		ds->d->stats.dispatch_fault_holds++;
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
run_handlers(struct daemon *d, const struct event *ev, const char **state, char *why,
    size_t whylen)
{
	int64_t now_ms = wall_ms();	/* one "now" for every handler that sees ev */

	for (const struct handler *const *h = handler_table; *h != NULL; h++) {
		struct handler_ctx hc = { .cfg = d->cfg, .store = d->store, .salt = d->salt,
		    .now_ms = now_ms };

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
log_event(const struct event *ev, const char *handler, const char *state, const char *why,
    int64_t start_us)
{
	char user[16];
	enum log_level level = strcmp(state, "failed") == 0 ? LOG_WARN : LOG_INFO;

	if (!log_enabled(level))
		return;
	log_user(ev->user_id, user);
	log_msg(level, "msg=event platform=%s channel=%s type=%.40s inbox_id=%lld user=%s "
	    "handler=%s outcome=%s latency_us=%lld%s%s%s", platform_name(ev->platform),
	    ev->channel, ev->type, (long long)ev->inbox_id, user, handler, state,
	    (long long)(clock_us() - start_us), why[0] ? " reason=\"" : "", why,
	    why[0] ? "\"" : "");
}

static void
prefetched(const struct profile *p, void *arg)
{
	struct dispatch *ds = arg;

	(void)p;
	if (--ds->fetching == 0) {
		ds->fetched = 1;
		event_active(ds->ev_run, 0, 0);
	}
}

/* Handlers run inside one transaction and cannot wait for LINE; the display names they
 * greet people with are fetched first. Returns 1 when the batch must wait for answers.
 * A name LINE cannot give is not waited for twice: the batch then runs without it. */
static int
prefetch_profiles(struct dispatch *ds, const struct event_list *batch)
{
	if (ds->fetched) {
		ds->fetched = 0;
		return 0;
	}
	ds->fetching = 1;	/* fresh answers call back at once: hold the count up */
	for (size_t i = 0; i < batch->n; i++) {
		const struct event *ev = &batch->v[i];

		if (ev->platform != PLATFORM_LINE || ev->user_id == NULL ||
		    ev->reply_token == NULL)
			continue;
		if (strcmp(ev->type, "follow") != 0 && (!ds->d->cfg->replies_use_display_name ||
		    (strcmp(ev->type, "message") != 0 && strcmp(ev->type, "postback") != 0)))
			continue;
		ds->fetching++;
		profile_lookup(ds->d, ev->channel, ev->user_id, prefetched, ds);
	}
	if (--ds->fetching == 0)
		return 0;
	return 1;
}

static void
run_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dispatch *ds = arg;
	struct daemon *d = ds->d;
	struct event_list batch = { 0 };
	int ok;

	(void)fd;
	(void)what;
	if (store_inbox_pending(d->store, DISPATCH_BATCH, &batch) == -1)
		goto retry;
	if (batch.n == 0 || ds->fetching > 0)
		goto out;
	if (prefetch_profiles(ds, &batch))
		goto out;
	if (store_begin(d->store) == -1)
		goto retry;
	ok = 1;
	for (size_t i = 0; ok && i < batch.n; i++) {
		const struct event *ev = &batch.v[i];
		const char *state;
		char why[WHY_MAX] = "";
		int64_t start_us = clock_us();
		const char *handler;

		/* An event's writes stand or fall together: a handler that fails halfway
		 * leaves nothing behind but the failure on its inbox row. */
		if (store_unit_begin(d->store) == -1) {
			ok = 0;
			break;
		}
		handler = run_handlers(d, ev, &state, why, sizeof(why));
		ok = store_unit_end(d->store, strcmp(state, "failed") != 0) == 0 &&
		    store_inbox_mark(d->store, ev->inbox_id, state, why[0] ? why : NULL) == 0;
#ifdef SHOKAI_FAULT_HOOKS
		/* The first event's handlers ran; nothing of the batch is committed yet. */
		if (fault_enabled("crash_in_dispatch"))
			raise(SIGKILL);
#endif
		if (ok) {
			log_event(ev, handler, state, why, start_us);
			if (strcmp(state, "done") == 0)
				d->stats.events_done++;
			else if (strcmp(state, "failed") == 0)
				d->stats.events_failed++;
			else
				d->stats.events_skipped++;
			if (!ev->known)
				d->stats.events_unknown++;
		}
	}
	if (!ok || store_commit(d->store) == -1) {
		store_rollback(d->store);
		goto retry;
	}
	outbox_kick(d->outbox);		/* handlers may have queued messages */
	if (batch.n == DISPATCH_BATCH)
		dispatch_kick(ds);
out:
	event_list_free(&batch);
	return;
retry:
	/* The database is busy or failing: the rows stay pending; try again shortly. */
	event_list_free(&batch);
	d->stats.db_errors++;
	{
		unsigned long suppressed;

		if (log_ratelimit_ok(&ds->rl_retry, &suppressed))
			log_warnx("msg=\"dispatch could not run; retrying\" retry_ms=%d "
			    "detail=\"%s\" suppressed=%lu", DISPATCH_RETRY_MS,
			    store_errmsg(d->store), suppressed);
	}
	{
		struct timeval tv = { DISPATCH_RETRY_MS / 1000, 0 };

		evtimer_add(ds->ev_retry, &tv);
	}
}
