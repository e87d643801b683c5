/* announce_tick.c: starts due announcements and marks finished ones sent, once a
 * second. Before a start, the loop reads LINE's message quota (outbound/quota.c; the
 * network never runs here); with its answer, one transaction freezes the segment's
 * friends as the recipients and writes every multicast outbox row of the send (up to
 * 500 people each, its own retry key, dedupe key announce:ID:CHUNK), or, when the
 * quota left is smaller than the recipients, refuses the send with both numbers. A
 * crash therefore leaves either no row or all of them, and the outbox's retry keys make
 * each chunk arrive once. The chunks are due CALLS_PER_S a second. Storage thread only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "storage_internal.h"
#include "../outbound/outmsg.h"

#define TICK_MS		1000
#define RETRY_MS	30000	/* after LINE's quota could not be read */
/* Multicast calls a second at most: half of LINE's 200 a second for the endpoint (as
 * outbox.works_rate takes half), so the replies and pushes that share outbox.line_rate
 * still go out meanwhile and a long send never meets a 429. */
#define CALLS_PER_S	100

struct announce_tick {
	struct storage	*st;
	struct event	*ev_tick;
	int		 asking;	/* a quota_job is with the loop */
	int64_t		 next_ask_ms;
};

static void tick_cb(evutil_socket_t, short, void *);

struct announce_tick *
announce_tick_new(struct storage *st)
{
	struct announce_tick *at = xcalloc(1, sizeof(*at));
	struct timeval tv = { 0, TICK_MS * 1000 };

	at->st = st;
	at->ev_tick = event_new(st->base, -1, EV_PERSIST, tick_cb, at);
	evtimer_add(at->ev_tick, &tv);
	return at;
}

void
announce_tick_free(struct announce_tick *at)
{
	if (at == NULL)
		return;
	event_free(at->ev_tick);
	free(at);
}

/* The row's announcement and segment against this thread's config: 0 with the target
 * (reps_json: caller frees), or -1 with why the send cannot go out. */
static int
resolve(struct storage *st, const struct announce_row *row, struct segment *sg,
    struct announce_target *t, char **reps_json, char *why, size_t whylen)
{
	const struct config_announcement *a = config_announcement(st->cfg, row->config_id);

	*reps_json = NULL;
	if (a == NULL || a->message == NULL) {
		snprintf(why, whylen, "announcement %s is no longer in the config",
		    row->config_id);
		return -1;
	}
	if (config_line_channel(st->cfg, row->channel) == NULL) {
		snprintf(why, whylen, "LINE channel %s is no longer in the config", row->channel);
		return -1;
	}
	if (seg_parse(row->segment, sg, why, whylen) == -1 ||
	    config_announce_target(st->cfg, a, sg, reps_json, why, whylen) == -1)
		return -1;
	memset(t, 0, sizeof(*t));
	t->channel = row->channel;
	t->kind = sg->kind;
	t->reps_json = *reps_json;
	t->tag = sg->kind == SEG_TAG ? sg->arg : NULL;
	return 0;
}

/* Refuses a scheduled announcement in a transaction of its own. */
static void
refuse(struct storage *st, int64_t id, const char *why, const struct announce_counts *c)
{
	if (store_begin(st->store) == -1)
		return;
	if (store_announce_close(st->store, id, "refused", why, c) == -1 ||
	    store_commit(st->store) == -1) {
		store_rollback(st->store);
		st->d->stats.db_errors++;
		return;
	}
	log_warnx("msg=\"announcement refused\" id=%lld reason=\"%s\"", (long long)id, why);
}

/* The chunks being gathered: each full one becomes an outbox row. */
struct chunker {
	struct store	*store;
	const char	*channel;
	int64_t		 id;
	int64_t		 start_ms;
	json_t		*messages;
	const char	*to[OUTMSG_MULTICAST_MAX];
	char		*held[OUTMSG_MULTICAST_MAX];
	size_t		 n;
	int64_t		 chunks;
};

static int
flush_chunk(struct chunker *ck)
{
	char key[64];
	int rc;

	if (ck->n == 0)
		return 0;
	snprintf(key, sizeof(key), "announce:%lld:%lld", (long long)ck->id,
	    (long long)ck->chunks);
	rc = outmsg_line_multicast_at(ck->store, ck->channel, ck->to, ck->n,
	    json_deep_copy(ck->messages), key, ck->start_ms + ck->chunks * 1000 / CALLS_PER_S);
	for (size_t i = 0; i < ck->n; i++)
		free(ck->held[i]);
	ck->n = 0;
	ck->chunks++;
	return rc;
}

static int
add_recipient(void *arg, const char *user_id)
{
	struct chunker *ck = arg;

	ck->held[ck->n] = xstrdup(user_id);
	ck->to[ck->n] = ck->held[ck->n];
	if (++ck->n == OUTMSG_MULTICAST_MAX)
		return flush_chunk(ck);
	return 0;
}

/* With LINE's quota read: refuse, or freeze and write every chunk, in one transaction.
 * 0, or -1 when the database refused it (it stays scheduled). */
static int
start(struct storage *st, int64_t id, const struct quota *q)
{
	struct announce_row row;
	struct segment sg;
	struct announce_target t;
	struct announce_counts c = { .quota_limit = q->limit, .quota_used = q->used };
	struct chunker ck;
	char why[WHY_MAX], *reps_json = NULL;
	int64_t now = wall_ms(), t0, frozen_us = 0, friends;
	int rc = -1;

	memset(&ck, 0, sizeof(ck));
	if (store_announce_get(st->store, id, &row) != 1)
		return -1;
	rc = 0;
	if (strcmp(row.state, "scheduled") != 0)	/* canceled meanwhile */
		goto done;
	if (resolve(st, &row, &sg, &t, &reps_json, why, sizeof(why)) == -1) {
		refuse(st, id, why, NULL);
		goto done;
	}
	rc = -1;
	/* The blocked are counted before the transaction: a figure to show, not a list to
	 * keep, it need not hold the write lock (a second scan of the segment: 0.3 s for a
	 * million people). */
	if (store_announce_count(st->store, &t, &friends, &c.blocked) == -1)
		goto done;
	t0 = clock_us();
	if (store_begin(st->store) == -1)
		goto done;
	if (store_announce_freeze(st->store, id, &t, &c.recipients) == -1)
		goto rollback;
	frozen_us = clock_us();
	if (!quota_allows(q, c.recipients, why, sizeof(why))) {
		store_rollback(st->store);
		refuse(st, id, why, &c);
		rc = 0;
		goto done;
	}
	ck.store = st->store;
	ck.channel = row.channel;
	ck.id = id;
	ck.start_ms = now;
	if ((ck.messages = config_announce_messages(st->cfg,
	    config_announcement(st->cfg, row.config_id))) == NULL)
		goto rollback;
	if (store_announce_recipients(st->store, id, add_recipient, &ck) == -1 ||
	    flush_chunk(&ck) == -1)
		goto rollback;
	if (fault_enabled("announce_crash_before_commit"))
		abort();	/* a kill -9 with every row written but none committed */
	if (store_announce_started(st->store, id, &c, ck.chunks, now) != 1 ||
	    store_commit(st->store) == -1)
		goto rollback;
	log_notice("msg=\"announcement started\" id=%lld recipients=%lld blocked=%lld "
	    "chunks=%lld took_ms=%lld freeze_ms=%lld", (long long)id, (long long)c.recipients,
	    (long long)c.blocked, (long long)ck.chunks, (long long)((clock_us() - t0) / 1000),
	    (long long)((frozen_us - t0) / 1000));
	storage_outbox_kick(st);
	rc = 0;
	goto done;
rollback:
	store_rollback(st->store);
	st->d->stats.db_errors++;
	log_warnx("msg=\"announcement could not start; retrying\" id=%lld", (long long)id);
done:
	for (size_t i = 0; i < ck.n; i++)
		free(ck.held[i]);
	json_decref(ck.messages);
	free(reps_json);
	announce_row_clear(&row);
	return rc;
}

void
storage_announce_quota(void *ctx, void *arg)
{
	struct storage *st = ctx;
	struct quota_job *job = arg;
	struct announce_tick *at = st->announce;

	at->asking = 0;
	if (st->d->draining) {
		/* It stays scheduled: the next start asks again. */
	} else if (job->q.status != 200) {
		at->next_ask_ms = wall_ms() + RETRY_MS;
		log_warnx("msg=\"LINE's message quota could not be read; the announcement waits\" "
		    "id=%lld channel=%s status=%d reason=\"%s\"",
		    (long long)job->announcement_id, job->channel, job->q.status, job->q.error);
	} else if (start(st, job->announcement_id, &job->q) == -1)
		at->next_ask_ms = wall_ms() + RETRY_MS;
	free(job->channel);
	free(job);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct announce_tick *at = arg;
	struct storage *st = at->st;
	struct announce_row row;
	struct segment sg;
	struct announce_target t;
	struct quota_job *job;
	char why[WHY_MAX], *reps_json = NULL;
	int64_t now = wall_ms();
	int n;

	(void)fd;
	(void)what;
	if (st->d->draining)
		return;
	if ((n = store_announce_finish(st->store, now)) > 0)
		log_notice("msg=\"announcements sent\" count=%d", n);
	if (at->asking || now < at->next_ask_ms ||
	    store_announce_due(st->store, now, &row) != 1)
		return;
	if (resolve(st, &row, &sg, &t, &reps_json, why, sizeof(why)) == -1)
		refuse(st, row.id, why, NULL);
	else {
		job = xcalloc(1, sizeof(*job));
		job->announcement_id = row.id;
		job->channel = xstrdup(row.channel);
		at->asking = 1;
		loop_post(st->d, quota_fetch, job);
	}
	free(reps_json);
	announce_row_clear(&row);
}
