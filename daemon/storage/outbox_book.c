/* outbox_book.c: the storage side of the outbox. It takes due rows, writes down that a
 * try of each starts (the mark a crash leaves behind), and posts them to the loop,
 * which sends them (outbound/outbox.c) and posts each outcome back; outcomes are
 * written here, many per transaction, together with the next rows' marks. Concurrency
 * per platform and the pace of requests (a token bucket) are kept here, where the rows
 * are chosen. Storage thread only. */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "storage_internal.h"

#define SCAN_INTERVAL_MS	250
/* Rows per letter to the loop: starting a request costs the loop some microseconds,
 * and it takes a few letters per turn. */
#define ROWS_PER_LETTER		16
#define RETRY_STORE_MS		200

struct outbox_book {
	struct storage		*st;
	struct event		*ev_pump;	/* write results, then take due rows */
	struct event		*ev_scan;	/* rows come due by time, or by shokaictl */
	size_t			 inflight[2];	/* rows posted to the loop, per platform */
	struct outbox_results	**results;	/* letters from the loop, not yet written */
	size_t			 nresults, cap;
	double			 tokens[2];	/* requests we may start now, per platform */
	/* Whether the due query of a platform can find anything: rows inserted on our
	 * connection since it last ran (store_outbox_puts: every row the daemon queues,
	 * whichever handler, tick or console action), the scan (rows that came due by
	 * time, or from shokaictl), a try that goes back to pending, or the last query
	 * filling all the room it had. Most pumps only write outcomes. */
	int			 maybe_due[2];
	uint64_t		 puts_seen[2];
	int64_t			 refilled_us[2];
	int			 recovered;	/* crash leftovers marked ambiguous */
	struct log_ratelimit	 rl_store;	/* store failure lines: one a second */
};

static void pump_cb(evutil_socket_t, short, void *);
static void scan_cb(evutil_socket_t, short, void *);

struct outbox_book *
outbox_book_new(struct storage *st)
{
	struct outbox_book *ob = xcalloc(1, sizeof(*ob));
	struct timeval tv = { 0, SCAN_INTERVAL_MS * 1000 };

	ob->st = st;
	ob->maybe_due[0] = ob->maybe_due[1] = 1;
	ob->ev_pump = event_new(st->base, -1, 0, pump_cb, ob);
	ob->ev_scan = event_new(st->base, -1, EV_PERSIST, scan_cb, ob);
	evtimer_add(ob->ev_scan, &tv);
	return ob;
}

void
outbox_results_free(struct outbox_results *rs)
{
	if (rs == NULL)
		return;
	for (size_t i = 0; i < rs->n; i++) {
		outbox_msg_clear(&rs->v[i].msg);
		free(rs->v[i].error);
	}
	free(rs->v);
	free(rs);
}

void
outbox_book_free(struct outbox_book *ob)
{
	if (ob == NULL)
		return;
	for (size_t i = 0; i < ob->nresults; i++)
		outbox_results_free(ob->results[i]);
	free(ob->results);
	event_free(ob->ev_pump);
	event_free(ob->ev_scan);
	free(ob);
}

void
storage_outbox_kick(struct storage *st)
{
	event_active(st->book->ev_pump, 0, 0);
}

void
storage_outbox_results(void *ctx, void *arg)
{
	struct storage *st = ctx;
	struct outbox_book *ob = st->book;

	if (ob->nresults == ob->cap) {
		ob->cap = ob->cap ? ob->cap * 2 : 64;
		ob->results = xrealloc(ob->results, ob->cap * sizeof(*ob->results));
	}
	ob->results[ob->nresults++] = arg;
	event_active(ob->ev_pump, 0, 0);
}

static int
max_inflight(const struct outbox_book *ob, enum platform p)
{
	const struct config *cf = ob->st->cfg;

	return p == PLATFORM_LINE ? cf->outbox_line_concurrency : cf->outbox_works_concurrency;
}

/* Paces requests below the platform's rate limit (LINE 2,000/s per endpoint, LINE WORKS
 * 240/min per API on paid plans), so a backlog after an outage does not turn into 429s:
 * a token bucket holding at most one second of requests. */
static int
take_tokens(struct outbox_book *ob, enum platform p, int want)
{
	const struct config *cf = ob->st->cfg;
	double rate = p == PLATFORM_LINE ? cf->outbox_line_rate : cf->outbox_works_rate;
	int64_t now = clock_us();
	int n;

	if (ob->refilled_us[p] == 0)
		ob->tokens[p] = rate;
	else
		ob->tokens[p] += rate * (double)(now - ob->refilled_us[p]) / 1e6;
	if (ob->tokens[p] > rate)
		ob->tokens[p] = rate;
	ob->refilled_us[p] = now;
	n = ob->tokens[p] >= want ? want : (int)ob->tokens[p];
	ob->tokens[p] -= n;
	return n;
}

/* Writes the outcomes the loop sent back; inside the pump's transaction. */
static int
write_results(struct outbox_book *ob)
{
	struct store *s = ob->st->store;

	for (size_t i = 0; i < ob->nresults; i++) {
		for (size_t j = 0; j < ob->results[i]->n; j++) {
			struct outbox_result *r = &ob->results[i]->v[j];
			int rc = r->state == NULL ? store_outbox_untry(s, r->msg.id) :
			    store_outbox_result(s, &r->msg, r->state, r->next_attempt_at,
			    r->status, r->error);

			if (rc == -1)
				return -1;
		}
	}
	return 0;
}

/* Outcomes that put a row back to pending (untried, or to be tried again) make its
 * platform worth a look: the row may be due now. */
static void
note_requeued(struct outbox_book *ob)
{
	for (size_t i = 0; i < ob->nresults; i++)
		for (size_t j = 0; j < ob->results[i]->n; j++) {
			const struct outbox_result *r = &ob->results[i]->v[j];

			if (r->state == NULL || strcmp(r->state, "pending") == 0)
				ob->maybe_due[r->msg.platform == PLATFORM_WORKS] = 1;
		}
}

/* 0 when no row of p can have come due since the due query last ran. */
static int
might_be_due(const struct outbox_book *ob, enum platform p)
{
	int k = p == PLATFORM_WORKS;

	return ob->maybe_due[k] || store_outbox_puts(ob->st->store, p) != ob->puts_seen[k];
}

/* Takes up to room due rows of p and marks each as being tried. */
static int
take_due(struct outbox_book *ob, enum platform p, int64_t now, int room,
    struct outbox_msg **rows, size_t *n)
{
	struct store *s = ob->st->store;
	int k = p == PLATFORM_WORKS;
	uint64_t puts = store_outbox_puts(s, p);

	if (store_outbox_due(s, p, now, (size_t)room, rows, n) == -1)
		return -1;
	for (size_t i = 0; i < *n; i++)
		if (store_outbox_trying(s, (*rows)[i].id) == -1)
			return -1;
	ob->puts_seen[k] = puts;
	ob->maybe_due[k] = *n >= (size_t)room;	/* room ran out: more may wait */
	return 0;
}

static void
rows_free(struct outbox_msg *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		outbox_msg_clear(&rows[i]);
	free(rows);
}

/* Hands the marked rows to the loop, ROWS_PER_LETTER at a time. */
static void
post_sends(struct outbox_book *ob, enum platform p, struct outbox_msg *rows, size_t n)
{
	for (size_t i = 0; i < n; i += ROWS_PER_LETTER) {
		struct outbox_sends *s = xcalloc(1, sizeof(*s));

		s->platform = p;
		s->n = n - i < ROWS_PER_LETTER ? n - i : ROWS_PER_LETTER;
		s->rows = xcalloc(s->n, sizeof(*s->rows));
		memcpy(s->rows, rows + i, s->n * sizeof(*s->rows));
		ob->inflight[p] += s->n;
		ob->st->d->sends_queued += s->n;
		storage_send_when_synced(ob->st, s);
	}
	free(rows);		/* the strings went with the letters */
}

/* One transaction (unsynced: store_begin_unsynced says why that is safe here): the
 * outcomes that came back, then the marks of the rows that start now. The rows go to
 * the loop only after it committed. */
static void
pump(struct outbox_book *ob)
{
	struct storage *st = ob->st;
	struct store *s = st->store;
	struct outbox_msg *rows[2] = { NULL, NULL };
	size_t n[2] = { 0, 0 };
	int room[2] = { 0, 0 }, ok, sending;
	int64_t now = wall_ms();

#ifdef SHOKAI_FAULT_HOOKS
	if (fault_enabled("no_outbox"))
		return;
#endif
	/* Finish what is in flight; the rest waits for the restart. A send whose outcome
	 * the database could not record must not start. */
	sending = !st->d->draining && store_health(s) == NULL;
	note_requeued(ob);
	for (int p = 0; sending && p < 2; p++) {
		if (!might_be_due(ob, (enum platform)p))
			continue;
		room[p] = max_inflight(ob, (enum platform)p) - (int)ob->inflight[p];
		if (room[p] > 0)
			room[p] = take_tokens(ob, (enum platform)p, room[p]);
	}
	if (ob->nresults == 0 && room[0] <= 0 && room[1] <= 0)
		return;
	ok = store_begin_unsynced(s) == 0;
	if (ok && !ob->recovered)
		ok = store_outbox_recover(s) == 0;
	if (ok)
		ok = write_results(ob) == 0;
	for (int p = 0; ok && p < 2; p++)
		if (room[p] > 0)
			ok = take_due(ob, (enum platform)p, now, room[p], &rows[p], &n[p]) == 0;
	if (ok)
		ok = store_commit(s) == 0;
	if (!ok) {
		unsigned long suppressed;

		store_rollback(s);
		st->d->stats.db_errors++;
		if (log_ratelimit_ok(&ob->rl_store, &suppressed))
			log_warnx("msg=\"writing the outbox failed; retrying\" results=%zu "
			    "suppressed=%lu", ob->nresults, suppressed);
		for (int p = 0; p < 2; p++) {
			rows_free(rows[p], n[p]);
			ob->tokens[p] += room[p] > 0 ? room[p] : 0;	/* nothing started */
			ob->maybe_due[p] = 1;		/* the marks were rolled back */
		}
		/* The results stay queued and are written at the next pump; if we die
		 * first, the rows are sent again with the same retry key. */
		{
			struct timeval tv = { 0, RETRY_STORE_MS * 1000 };

			evtimer_add(ob->ev_pump, &tv);
		}
		return;
	}
	ob->recovered = 1;
	for (size_t i = 0; i < ob->nresults; i++) {
		for (size_t j = 0; j < ob->results[i]->n; j++)
			ob->inflight[ob->results[i]->v[j].msg.platform]--;
		outbox_results_free(ob->results[i]);
	}
	ob->nresults = 0;
	for (int p = 0; p < 2; p++) {
		if (room[p] > (int)n[p])
			ob->tokens[p] += room[p] - (int)n[p];	/* fewer were due */
		post_sends(ob, (enum platform)p, rows[p], n[p]);
	}
}

static void
pump_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pump(arg);
}

static void
scan_cb(evutil_socket_t fd, short what, void *arg)
{
	struct outbox_book *ob = arg;

	(void)fd;
	(void)what;
	ob->maybe_due[0] = ob->maybe_due[1] = 1;
	pump(ob);
}

void
outbox_book_flush(struct outbox_book *ob)
{
	if (ob->nresults > 0)
		pump(ob);
}
