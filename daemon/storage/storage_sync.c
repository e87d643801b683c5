/* storage_sync.c: what waits for the WAL's sync. The webhooks' group commits and the
 * dispatcher's commits are written without an fsync and numbered (storage_committed);
 * the syncer thread (store/store_syncer.c) syncs the WAL behind them while this thread
 * goes on with the next batch. Two things wait here until a finished sync covers them:
 *
 * - a webhook batch's answers: a 200 says the events are on disk, as before;
 * - the outbox's sends: a message goes out only once the commit that made its row (and
 *   marked its event done) is on disk, so a power loss cannot make an event that was
 *   answered to the customer pending again, to be handled and answered twice. A send
 *   waits for every commit numbered before it was taken, which includes its row's.
 *
 * Both lists are in number order, and are let go in that order by the syncer's own
 * thread, right after its fdatasync: the storage thread may be in the middle of a
 * dispatch batch (up to its 4 ms budget), and a 200 must not wait for that. If an
 * fsync failed, the batches let go with it are answered as failed (LINE sends them
 * again and the inbox's dedupe keeps one); sends go anyway, as after a crash (their
 * retry key). Without a syncer (synchronous = NORMAL, or a store that is not the
 * daemon's) every commit is final when it returns, and nothing waits.
 *
 * Threads: the storage thread numbers commits and adds to the lists; the syncer's
 * thread lets go of them (release, through synced). The lists are under `lock`, held
 * only to link and unlink; a letter posted to the loop is the loop's. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "storage_internal.h"

struct held_sends {
	struct outbox_sends	*sends;
	uint64_t		 upto;		/* the commits it waits for */
};

struct storage_sync {
	struct store_syncer	*syncer;	/* NULL: commits are final when they return */
	uint64_t		 committed;	/* commits numbered so far; storage thread */
	pthread_mutex_t		 lock;		/* the rest */
	uint64_t		 failures_seen;
	struct ingest_batch	*batches, *batches_tail;	/* each with its sync_seq */
	struct held_sends	*sends;
	size_t			 nsends, cap;
};

/* Lets go, in order, what the syncs so far covered. */
static void
release(struct storage *st, struct storage_sync *ss)
{
	struct store_sync_progress p;
	size_t k = 0;
	int ok;

	pthread_mutex_lock(&ss->lock);
	store_syncer_progress(ss->syncer, &p);
	ok = p.failures == ss->failures_seen;
	ss->failures_seen = p.failures;
	while (ss->batches != NULL && ss->batches->sync_seq <= p.covered) {
		struct ingest_batch *b = ss->batches;

		ss->batches = b->next;
		if (ss->batches == NULL)
			ss->batches_tail = NULL;
		b->next = NULL;
		b->ok = ok;
		if (!ok) {
			st->d->stats.db_errors++;
			for (size_t i = 0; i < b->n; i++)
				b->items[i].inserted = 0;
		}
		loop_post(st->d, ingest_committed, b);
	}
	/* Draining, the loop sends nothing more: the rows wait here, to be handed back
	 * at the end (untry_held_sends), not in a letter nobody may read. */
	while (!atomic_load(&st->d->draining) && k < ss->nsends &&
	    ss->sends[k].upto <= p.covered)
		loop_post(st->d, outbox_send, ss->sends[k++].sends);
	if (k > 0) {
		ss->nsends -= k;
		memmove(ss->sends, ss->sends + k, ss->nsends * sizeof(*ss->sends));
	}
	pthread_mutex_unlock(&ss->lock);
}

/* The syncer's thread, after each fdatasync. */
static void
synced(void *arg)
{
	struct storage *st = arg;

	release(st, st->sync);
}

void
storage_sync_init(struct storage *st)
{
	struct storage_sync *ss = xcalloc(1, sizeof(*ss));

	if (pthread_mutex_init(&ss->lock, NULL) != 0)
		fatalx("%s: pthread_mutex_init failed", __func__);
	st->sync = ss;
	ss->syncer = store_syncer_start(st->store, synced, st);
}

void
storage_wal_syncs(struct storage *st, uint64_t *syncs, uint64_t *failures)
{
	struct store_sync_progress p = { 0, 0, 0 };

	if (st != NULL && st->sync != NULL && st->sync->syncer != NULL)
		store_syncer_progress(st->sync->syncer, &p);
	*syncs = p.syncs;
	*failures = p.failures;
}

int
storage_begin_deferred(struct storage *st)
{
	return st->sync->syncer != NULL ? store_begin_unsynced(st->store) :
	    store_begin(st->store);
}

uint64_t
storage_committed(struct storage *st)
{
	struct storage_sync *ss = st->sync;

	ss->committed++;
	if (ss->syncer != NULL)
		store_syncer_request(ss->syncer, ss->committed);
	return ss->committed;
}

void
storage_answer_when_synced(struct storage *st, struct ingest_batch *batches, uint64_t seq)
{
	struct storage_sync *ss = st->sync;
	struct ingest_batch *b, *next, *last = NULL;

	if (batches == NULL)
		return;
	if (ss->syncer == NULL || !batches->ok) {
		for (b = batches; b != NULL; b = next) {
			next = b->next;
			b->next = NULL;
			loop_post(st->d, ingest_committed, b);
		}
		return;
	}
	for (b = batches; b != NULL; b = b->next) {
		b->sync_seq = seq;
		last = b;
	}
	pthread_mutex_lock(&ss->lock);
	if (ss->batches_tail != NULL)
		ss->batches_tail->next = batches;
	else
		ss->batches = batches;
	ss->batches_tail = last;
	pthread_mutex_unlock(&ss->lock);
	/* a sync that finished between the commit and now has let go of nothing */
	release(st, ss);
}

void
storage_send_when_synced(struct storage *st, struct outbox_sends *sends)
{
	struct storage_sync *ss = st->sync;

	if (ss->syncer == NULL) {
		loop_post(st->d, outbox_send, sends);
		return;
	}
	pthread_mutex_lock(&ss->lock);
	if (ss->nsends == ss->cap) {
		ss->cap = ss->cap ? ss->cap * 2 : 16;
		ss->sends = xrealloc(ss->sends, ss->cap * sizeof(*ss->sends));
	}
	ss->sends[ss->nsends].sends = sends;
	ss->sends[ss->nsends++].upto = ss->committed;
	pthread_mutex_unlock(&ss->lock);
	release(st, ss);	/* at once when the syncs are already past it */
}

/* At stop: sends still waiting for a sync will not be made now (the loop is no
 * longer sending). Their rows go back to untried, as the loop hands back the rows it
 * did not start, so the next start sends them as new rather than as tries that may
 * have been delivered (a reply would then not fall back to a push). */
static void
untry_held_sends(struct storage *st, struct storage_sync *ss)
{
	struct store *s = st->store;
	struct held_sends *held;
	size_t n;
	int ok;

	pthread_mutex_lock(&ss->lock);	/* the syncer's thread may still let go of some */
	held = ss->sends;
	n = ss->nsends;
	ss->sends = NULL;
	ss->nsends = ss->cap = 0;
	pthread_mutex_unlock(&ss->lock);
	if (n == 0) {
		free(held);
		return;
	}
	ok = storage_begin_deferred(st) == 0;
	for (size_t i = 0; i < n; i++) {
		struct outbox_sends *o = held[i].sends;

		for (size_t j = 0; j < o->n; j++) {
			if (ok)
				ok = store_outbox_untry(s, o->rows[j].id) == 0;
			outbox_msg_clear(&o->rows[j]);
		}
		st->d->sends_queued -= o->n;
		free(o->rows);
		free(o);
	}
	free(held);
	if (ok && store_commit(s) == 0)
		(void)storage_committed(st);
	else {
		store_rollback(s);
		log_warnx("msg=\"rows not sent at stop stay marked as tried\" detail=\"%s\"",
		    store_errmsg(s));
	}
}

/* At stop, the thread gone: the held sends handed back, one last sync for everything
 * numbered, then the answers. */
void
storage_sync_finish(struct storage *st)
{
	struct storage_sync *ss = st->sync;

	if (ss == NULL)
		return;
	if (ss->syncer != NULL) {
		untry_held_sends(st, ss);
		store_syncer_wait(ss->syncer, ss->committed);
		release(st, ss);
		store_syncer_stop(ss->syncer);	/* joined: no more calls of synced */
		ss->syncer = NULL;
	}
	pthread_mutex_destroy(&ss->lock);
	free(ss->sends);
	free(ss);
	st->sync = NULL;
}
