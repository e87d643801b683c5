/* storage_ingest.c: the storage side of the group commit. The loop posts the verified
 * requests of each of its turns as a batch (http/ingest.c); every batch that arrived
 * while the last commit was being written goes into the next transaction, while the
 * loop keeps reading. The commit's fsync runs behind it on the syncer's thread
 * (storage_sync.c), so the next transaction can start meanwhile; one fsync covers every
 * commit written before it. Each batch goes back to the loop once a sync covered its
 * commit (ok), or at once when the commit failed, and only then are its requests
 * answered. */
#include <stdlib.h>

#include <event2/event.h>

#include "storage_internal.h"

static void commit_cb(evutil_socket_t, short, void *);

void
storage_ingest_init(struct storage *st)
{
	st->ev_commit = event_new(st->base, -1, 0, commit_cb, st);
	if (st->ev_commit == NULL)
		fatalx("%s: event_new failed", __func__);
}

void
storage_ingest(void *ctx, void *arg)
{
	struct storage *st = ctx;
	struct ingest_batch *b = arg;

	b->next = NULL;
	if (st->queue_tail != NULL)
		st->queue_tail->next = b;
	else
		st->queue = b;
	st->queue_tail = b;
	/* After the letters of this wakeup, so that they all share the commit. */
	event_active(st->ev_commit, 0, 0);
}

static int
store_item(struct store *s, struct ingest_item *it)
{
	if (it->quarantine_reason != NULL)
		return store_quarantine_put(s, it->platform, it->channel,
		    it->quarantine_reason, it->body, it->len);
	if (it->events.n == 0)		/* a verification request: nothing to keep */
		return 0;
	return store_inbox_put(s, it->platform, it->channel, &it->events, &it->inserted);
}

void
storage_ingest_flush(struct storage *st)
{
	struct store *s = st->store;
	struct ingest_batch *b;
	size_t requests = 0;
	uint64_t seq = 0;
	int ok, stored = 0;

	if (st->queue == NULL)
		return;
	ok = storage_begin_deferred(st) == 0;
	for (b = st->queue; b != NULL; b = b->next) {
		for (size_t i = 0; ok && i < b->n; i++) {
			ok = store_item(s, &b->items[i]) == 0;
			stored += b->items[i].inserted;
		}
		requests += b->n;
	}
#ifdef SHOKAI_FAULT_HOOKS
	if (ok && fault_enabled("crash_before_commit"))
		abort();
#endif
	if (ok)
		ok = store_commit(s) == 0;
	if (ok)
		seq = storage_committed(st);
	if (!ok) {
		unsigned long suppressed;

		/* A full disk fails every commit; db_errors in /healthz counts them all. */
		st->d->stats.db_errors++;
		if (log_ratelimit_ok(&st->rl_commit, &suppressed))
			log_warnx("msg=\"inbox commit failed; answering 503\" requests=%zu "
			    "detail=\"%s\" suppressed=%lu", requests, store_errmsg(s),
			    suppressed);
		store_rollback(s);
		storage_publish_health(st);
		for (b = st->queue; b != NULL; b = b->next)
			for (size_t i = 0; i < b->n; i++)
				b->items[i].inserted = 0;
	}
	for (b = st->queue; b != NULL; b = b->next)
		b->ok = ok;
	storage_answer_when_synced(st, st->queue, seq);
	st->queue = st->queue_tail = NULL;
	if (ok && stored > 0)
		storage_dispatch_stored(st, stored);
}

static void
commit_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	storage_dispatch_catch_up(arg);
	storage_ingest_flush(arg);
}
