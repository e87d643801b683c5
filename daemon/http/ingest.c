/* ingest.c: the loop's side of the group commit. A verified request waits here for the
 * end of the current loop turn; then the requests gathered go to the storage thread as
 * one batch (storage/storage_ingest.c), and the loop goes on reading while it commits.
 * One batch is with the storage side at a time: the next one gathers meanwhile and goes
 * as soon as the last one comes back, so each commit (each fsync) covers everything that
 * arrived while the one before it synced, and each costs one letter each way however
 * fast requests come. When the batch comes back, each request is answered: 200, or 503
 * for all of them if the database failed. Nothing is answered before the commit that
 * holds it.
 *
 * Only a ticket for the request crosses to the storage side (http_wait.c): if its
 * connection dies meanwhile (the daemon closing every connection at exit), the events
 * are still committed and counted, and nobody is answered. Loop thread only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "../shokaid.h"
#include "../storage/storage.h"

struct ingest {
	struct daemon		*d;
	struct event		*ev_commit;
	struct ingest_batch	*gathering;	/* this turn's requests */
	size_t			 cap;
	size_t			 in_flight;	/* requests the storage side holds */
	int			 batch_out;	/* a batch is with the storage side */
};

static void turn_end_cb(evutil_socket_t, short, void *);
static void hand_over(struct ingest *);

struct ingest *
ingest_new(struct daemon *d)
{
	struct ingest *in = xcalloc(1, sizeof(*in));

	in->d = d;
	in->ev_commit = event_new(d->base, -1, 0, turn_end_cb, in);
	/* The hand-over runs after every read callback of the turn. */
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

static void
batch_free(struct ingest_batch *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n; i++)
		item_clear(&b->items[i]);
	free(b->items);
	free(b);
}

void
ingest_free(struct ingest *in)
{
	if (in == NULL)
		return;
	batch_free(in->gathering);
	event_free(in->ev_commit);
	free(in);
}

size_t
ingest_pending(const struct ingest *in)
{
	return (in->gathering != NULL ? in->gathering->n : 0) + in->in_flight;
}

void
ingest_add(struct ingest *in, struct http_req *req, enum platform platform,
    const char *channel, const char *body, size_t len, struct event_list *events,
    const char *quarantine_reason, int64_t start_us)
{
	struct ingest_batch *b = in->gathering;
	struct ingest_item *it;

	if (b == NULL) {
		b = in->gathering = xcalloc(1, sizeof(*b));
		in->cap = 0;
		event_active(in->ev_commit, 0, 0);
	}
	if (b->n == in->cap) {
		in->cap = in->cap ? in->cap * 2 : 64;
		b->items = xrealloc(b->items, in->cap * sizeof(*b->items));
	}
	it = &b->items[b->n++];
	memset(it, 0, sizeof(*it));
	it->ticket = http_wait_park(in->d->waits, req);
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
}

static void
answer(struct daemon *d, struct ingest_item *it, int ok)
{
	struct http_answer a = { .code = 200, .channel = it->channel, .start_us = it->start_us };
	struct http_req *req = http_wait_take(d->waits, it->ticket);
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
	if (req == NULL) {		/* its connection closed: nobody to answer */
		log_info("msg=\"connection closed before the answer\" platform=%s channel=%s "
		    "committed=%d events=%zu", platform_name(it->platform), it->channel, ok,
		    it->events.n);
		return;
	}
	if (!ok) {
		a.code = 503;
		http_reply_error(req, &a, "temporarily unavailable", "database");
		return;
	}
	a.log_extra = extra;
	http_reply_json(req, &a, "{}");
}

/* A letter from the storage side: the batch was committed (or not). */
void
ingest_committed(void *ctx, void *arg)
{
	struct daemon *d = ctx;
	struct ingest_batch *b = arg;

	for (size_t i = 0; i < b->n; i++)
		answer(d, &b->items[i], b->ok);
	d->ingest->in_flight -= b->n;
	d->ingest->batch_out = 0;
	batch_free(b);
	if (d->ingest->gathering != NULL)
		hand_over(d->ingest);
}

static void
hand_over(struct ingest *in)
{
	struct ingest_batch *b = in->gathering;

	in->gathering = NULL;
	in->in_flight += b->n;
	in->batch_out = 1;
	storage_post(in->d->storage, storage_ingest, b);
}

static void
turn_end_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ingest *in = arg;

	(void)fd;
	(void)what;
	if (in->gathering != NULL && !in->batch_out)
		hand_over(in);
}

void
ingest_flush(struct ingest *in)
{
	if (in->gathering != NULL)
		hand_over(in);
}
