/* ingest.c: group commit for webhooks. A verified request waits here for the end of
 * the current loop turn; then one transaction stores the events (or quarantines the
 * body) of every request that arrived in that turn, and only after COMMIT returns is
 * each answered: 200, or 503 for all of them if the database failed. One fsync then
 * covers many requests, which is what makes synchronous=FULL affordable.
 *
 * A request's connection can die while it waits (the daemon closing every connection at
 * exit): http_guard.c's close hook calls ingest_forget, and the item is committed but
 * never answered. So an item holds everything it commits itself, and its req only for
 * the answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/http.h>

#include "../shokaid.h"

struct ingest_item {
	struct evhttp_request	*req;		/* answered by us, exactly once; NULL once
						   its connection closed */
	enum platform		 platform;
	char			*channel;
	char			*body;		/* a quarantined body's copy, else NULL */
	size_t			 len;
	struct event_list	 events;
	char			*quarantine_reason;	/* set: body goes to quarantine */
	int64_t			 start_us;
	int			 inserted;
};

struct ingest {
	struct daemon		*d;
	struct event		*ev_commit;
	struct ingest_item	*items;
	size_t			 n, cap;
	struct log_ratelimit	 rl_fail;	/* commit failure lines: one a second */
};

static void commit_cb(evutil_socket_t, short, void *);

struct ingest *
ingest_new(struct daemon *d)
{
	struct ingest *in = xcalloc(1, sizeof(*in));

	in->d = d;
	in->ev_commit = event_new(d->base, -1, 0, commit_cb, in);
	/* The commit runs after every read callback of the turn. */
	event_priority_set(in->ev_commit, PRIO_BACKGROUND);
	return in;
}

static void
item_clear(struct ingest_item *it)
{
	free(it->channel);
	free(it->body);
	free(it->quarantine_reason);
	event_list_free(&it->events);
}

void
ingest_free(struct ingest *in)
{
	if (in == NULL)
		return;
	for (size_t i = 0; i < in->n; i++)
		item_clear(&in->items[i]);
	free(in->items);
	event_free(in->ev_commit);
	free(in);
}

size_t
ingest_pending(const struct ingest *in)
{
	return in->n;
}

void
ingest_add(struct ingest *in, struct evhttp_request *req, enum platform platform,
    const char *channel, const char *body, size_t len, struct event_list *events,
    const char *quarantine_reason, int64_t start_us)
{
	struct ingest_item *it;

	if (in->n == in->cap) {
		in->cap = in->cap ? in->cap * 2 : 64;
		in->items = xrealloc(in->items, in->cap * sizeof(*in->items));
	}
	it = &in->items[in->n++];
	memset(it, 0, sizeof(*it));
	it->req = req;
	it->platform = platform;
	it->channel = xstrdup(channel);
	it->len = len;
	it->start_us = start_us;
	if (events != NULL) {
		it->events = *events;
		memset(events, 0, sizeof(*events));
	}
	if (quarantine_reason != NULL) {
		it->quarantine_reason = xstrdup(quarantine_reason);
		it->body = xmalloc(len + 1);	/* + 1: an empty body is still an allocation */
		memcpy(it->body, body, len);
	}
	if (in->n == 1)
		event_active(in->ev_commit, 0, 0);
}

void
ingest_forget(struct ingest *in, struct evhttp_request *req)
{
	for (size_t i = 0; i < in->n; i++) {
		if (in->items[i].req != req)
			continue;
		in->items[i].req = NULL;
		/* A client that went away makes evhttp detach the request it was waiting
		 * for and leave it to its holder instead of freeing it. */
		if (evhttp_request_get_connection(req) == NULL)
			evhttp_request_free(req);
		return;
	}
}

static int
store_item(struct daemon *d, struct ingest_item *it)
{
	if (it->quarantine_reason != NULL)
		return store_quarantine_put(d->store, it->platform, it->channel,
		    it->quarantine_reason, it->body, it->len);
	if (it->events.n == 0)		/* a verification request: nothing to keep */
		return 0;
	return store_inbox_put(d->store, it->platform, it->channel, &it->events,
	    &it->inserted);
}

static void
answer(struct daemon *d, struct ingest_item *it, int ok)
{
	struct http_answer a = { .code = 200, .channel = it->channel, .start_us = it->start_us };
	char extra[WHY_MAX + 64];

	if (ok && it->quarantine_reason != NULL) {
		d->stats.quarantined++;
		/* Quarantine is rare and needs an operator's eyes: warn, with the reason. */
		log_warnx("msg=quarantined platform=%s channel=%s bytes=%zu reason=\"%s\"",
		    platform_name(it->platform), it->channel, it->len, it->quarantine_reason);
		snprintf(extra, sizeof(extra), "quarantined=1");
	} else if (ok) {
		d->stats.events_stored += (uint64_t)it->inserted;
		d->stats.events_duplicate += (uint64_t)(it->events.n - (size_t)it->inserted);
		snprintf(extra, sizeof(extra), "events=%zu stored=%d", it->events.n, it->inserted);
	}
	if (it->req == NULL) {		/* ingest_forget: nobody to answer */
		log_info("msg=\"connection closed before the answer\" platform=%s channel=%s "
		    "committed=%d events=%zu", platform_name(it->platform), it->channel, ok,
		    it->events.n);
		return;
	}
	if (!ok) {
		a.code = 503;
		http_reply_error(it->req, &a, "temporarily unavailable", "database");
		return;
	}
	a.log_extra = extra;
	http_reply_json(it->req, &a, "{}");
}

static void
commit_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ingest_flush(arg);
}

void
ingest_flush(struct ingest *in)
{
	struct daemon *d = in->d;
	int ok, stored = 0;

	if (in->n == 0)
		return;
	ok = store_begin(d->store) == 0;
	for (size_t i = 0; ok && i < in->n; i++) {
		ok = store_item(d, &in->items[i]) == 0;
		stored += in->items[i].inserted;
	}
#ifdef SHOKAI_FAULT_HOOKS
	if (ok && fault_enabled("crash_before_commit"))
		abort();
#endif
	if (ok)
		ok = store_commit(d->store) == 0;
	if (!ok) {
		unsigned long suppressed;

		/* A full disk fails every commit; db_errors in /healthz counts them all. */
		d->stats.db_errors++;
		if (log_ratelimit_ok(&in->rl_fail, &suppressed))
			log_warnx("msg=\"inbox commit failed; answering 503\" requests=%zu "
			    "detail=\"%s\" suppressed=%lu", in->n, store_errmsg(d->store),
			    suppressed);
		store_rollback(d->store);
	}
	for (size_t i = 0; i < in->n; i++) {
		answer(d, &in->items[i], ok);
		item_clear(&in->items[i]);
	}
	in->n = 0;
	if (ok && stored > 0)
		dispatch_kick(d->dispatch);
}
