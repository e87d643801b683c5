/* outbox.c: the sender side of the transactional outbox. Handlers write rows (in the
 * transaction of the state that caused them); this file takes due rows, sends them
 * through line_api / works_api with bounded concurrency per platform, and records each
 * outcome: sent, retried later with exponential backoff and jitter, or failed with the
 * platform's reason. A row's retry key is fixed before the first try, so a push sent
 * again after a crash is recognised by LINE (409) instead of delivered twice. A reply has
 * no retry key: each try is written down before it starts, so a reply found mid-try
 * after a crash counts as possibly delivered, and if LINE then refuses its used token it
 * ends "unknown" rather than being pushed a second time. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/rand.h>

#include "../shokaid.h"
#include "outmsg.h"

#define SCAN_INTERVAL_MS	250
/* Requests started per loop turn: starting 64 at once would hold the loop for a few
 * milliseconds; the rest start in the turns that follow. */
#define SENDS_PER_TURN		16
#define BACKOFF_BASE_MS		1000
#define BACKOFF_CAP_MS		300000
#define RETRY_KEY_MAX_AGE_MS	(23LL * 3600 * 1000)	/* LINE honours a key for 24 h */

struct result {
	struct outbox_msg	 msg;		/* owned: kind/body may have changed */
	const char		*state;
	int64_t			 next_attempt_at;
	int			 status;
	char			*error;
};

struct outbox {
	struct daemon	*d;
	struct event	*ev_scan;
	struct event	*ev_flush;
	int64_t		*inflight[2];	/* ids being sent or with unwritten results */
	size_t		 ninflight[2];
	struct result	*results;
	size_t		 nresults, cap;
	uint64_t	 sent, failed, retried;
	struct log_ratelimit rl_store;	/* store failure lines: one a second */
	double		 tokens[2];	/* requests we may start now, per platform */
	int64_t		 refilled_us[2];
};

struct send_ctx {
	struct outbox		*ob;
	struct outbox_msg	 msg;
};

static void scan_cb(evutil_socket_t, short, void *);
static void flush_cb(evutil_socket_t, short, void *);

struct outbox *
outbox_new(struct daemon *d)
{
	struct outbox *ob = xcalloc(1, sizeof(*ob));

	ob->d = d;
	ob->ev_scan = evtimer_new(d->base, scan_cb, ob);
	event_priority_set(ob->ev_scan, PRIO_BACKGROUND);
	ob->ev_flush = event_new(d->base, -1, 0, flush_cb, ob);
	event_priority_set(ob->ev_flush, PRIO_BACKGROUND);
	for (int p = 0; p < 2; p++)
		ob->inflight[p] = xcalloc(1024, sizeof(int64_t));
	return ob;
}

void
outbox_free(struct outbox *ob)
{
	if (ob == NULL)
		return;
	for (size_t i = 0; i < ob->nresults; i++) {
		outbox_msg_clear(&ob->results[i].msg);
		free(ob->results[i].error);
	}
	free(ob->results);
	event_free(ob->ev_scan);
	event_free(ob->ev_flush);
	free(ob->inflight[0]);
	free(ob->inflight[1]);
	free(ob);
}

static int
max_inflight(const struct outbox *ob, enum platform p)
{
	const struct config *cf = ob->d->cfg;
	int n = p == PLATFORM_LINE ? cf->outbox_line_concurrency : cf->outbox_works_concurrency;

	return n > 1024 ? 1024 : n;
}

static int
is_inflight(const struct outbox *ob, enum platform p, int64_t id)
{
	for (size_t i = 0; i < ob->ninflight[p]; i++)
		if (ob->inflight[p][i] == id)
			return 1;
	return 0;
}

static void
inflight_remove(struct outbox *ob, enum platform p, int64_t id)
{
	for (size_t i = 0; i < ob->ninflight[p]; i++) {
		if (ob->inflight[p][i] == id) {
			ob->inflight[p][i] = ob->inflight[p][--ob->ninflight[p]];
			return;
		}
	}
}

void
outbox_kick(struct outbox *ob)
{
	struct timeval now = { 0, 0 };

	evtimer_add(ob->ev_scan, &now);
}

/* 1 s, 2 s, 4 s ... capped at 5 minutes, each ±20 % so that a burst of failures does
 * not come back as a burst of retries. */
static int64_t
backoff_ms(int attempts)
{
	int shift = attempts < 1 ? 0 : (attempts > 20 ? 19 : attempts - 1);
	double ms = (double)BACKOFF_BASE_MS * (double)(1LL << shift);
	uint32_t r = 0;

	if (ms > BACKOFF_CAP_MS)
		ms = BACKOFF_CAP_MS;
	RAND_bytes((unsigned char *)&r, sizeof(r));
	return (int64_t)(ms * (0.8 + 0.4 * (r / 4294967295.0)));
}

static void
queue_result(struct outbox *ob, struct outbox_msg *msg, const char *state, int64_t next,
    int status, const char *error)
{
	struct result *r;

	if (ob->nresults == ob->cap) {
		ob->cap = ob->cap ? ob->cap * 2 : 64;
		ob->results = xrealloc(ob->results, ob->cap * sizeof(*ob->results));
	}
	r = &ob->results[ob->nresults++];
	r->msg = *msg;
	memset(msg, 0, sizeof(*msg));
	r->state = state;
	r->next_attempt_at = next;
	r->status = status;
	r->error = error ? xstrdup(error) : NULL;
	if (ob->nresults == 1)
		event_active(ob->ev_flush, 0, 0);
}

static void
log_outcome(const struct outbox_msg *m, const char *state, const struct send_result *res,
    int64_t next_in_ms)
{
	enum log_level level = strcmp(state, "failed") == 0 || strcmp(state, "unknown") == 0 ?
	    LOG_WARN : LOG_INFO;

	if (!log_enabled(level))
		return;
	log_msg(level, "msg=outbound platform=%s channel=%s kind=%s outbox_id=%lld attempt=%d "
	    "status=%d outcome=%s latency_us=%lld%s%lld%s%s%s", platform_name(m->platform),
	    m->channel, m->kind, (long long)m->id, m->attempts, res->status,
	    strcmp(state, "pending") == 0 ? "retry" : state, (long long)res->latency_us,
	    strcmp(state, "pending") == 0 ? " retry_in_ms=" : "",
	    strcmp(state, "pending") == 0 ? (long long)next_in_ms : 0LL,
	    res->error[0] ? " reason=\"" : "", res->error, res->error[0] ? "\"" : "");
}

/* Decides what happens to a row after one try. */
static void
on_sent(const struct send_result *res, void *arg)
{
	struct send_ctx *ctx = arg;
	struct outbox *ob = ctx->ob;
	struct outbox_msg *m = &ctx->msg;
	int64_t now = wall_ms(), next = now, wait;
	const char *state;
	char error[WHY_MAX + 64];

#ifdef SHOKAI_FAULT_HOOKS
	/* The platform has the message; we die before we can write that down. */
	if (fault_enabled("after_outbox_send_before_mark"))
		raise(SIGKILL);
#endif
	m->attempts++;
	snprintf(error, sizeof(error), "%s", res->error);
	switch (res->outcome) {
	case SEND_OK:
		state = "sent";
		ob->sent++;
		break;
	case SEND_REPLY_TOKEN_REFUSED:
		/* Push the same messages instead, unless an earlier try may already have
		 * been delivered (then a push would say it twice, and the token was most
		 * likely refused because that try used it): nobody can tell whether the
		 * customer has it, so the row says so for the operator. */
		if (m->ambiguous) {
			state = "unknown";
			snprintf(error, sizeof(error), "%s (an earlier try may have been "
			    "delivered; not pushed)", res->error);
			ob->d->stats.outbox_unknown++;
			break;
		}
		if (line_api_fallback_enabled(ob->d, m->channel) &&
		    outmsg_reply_to_push(m) == 0) {
			state = "pending";
			snprintf(error, sizeof(error), "reply token refused; pushing instead");
			break;
		}
		state = "failed";
		ob->failed++;
		break;
	case SEND_PERMANENT:
		state = "failed";
		ob->failed++;
		break;
	case SEND_RETRY:
	default:
		if (res->ambiguous)
			m->ambiguous = 1;
		wait = backoff_ms(m->attempts);
		if (res->retry_after_ms > wait)
			wait = res->retry_after_ms;
		next = now + wait;
		if (m->attempts >= ob->d->cfg->outbox_max_attempts) {
			state = "failed";
			snprintf(error, sizeof(error), "gave up after %d attempts: %s", m->attempts,
			    res->error);
			ob->failed++;
		} else if (m->platform == PLATFORM_LINE && strcmp(m->kind, "reply") != 0 &&
		    next - m->created_at >= RETRY_KEY_MAX_AGE_MS) {
			state = "failed";
			snprintf(error, sizeof(error), "retry key would be older than 23 h: %s",
			    res->error);
			ob->failed++;
		} else {
			state = "pending";
			ob->retried++;
		}
		break;
	}
	log_outcome(m, state, res, next - now);
	queue_result(ob, m, state, next, res->status, error[0] ? error : NULL);
	free(ctx);
}

/* A failed outbox transaction: undone, counted, and logged at most once a second (a
 * full disk fails every one). */
static void
txn_failed(struct outbox *ob, const char *what, size_t rows)
{
	unsigned long suppressed;

	store_rollback(ob->d->store);
	ob->d->stats.db_errors++;
	if (log_ratelimit_ok(&ob->rl_store, &suppressed))
		log_warnx("msg=\"%s\" rows=%zu suppressed=%lu", what, rows, suppressed);
}

/* Writes every queued outcome in one transaction, then lets the rows go. The commit
 * does not wait for the disk: store_begin_unsynced says why that is safe here. */
static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct outbox *ob = arg;
	struct store *s = ob->d->store;
	int ok;

	(void)fd;
	(void)what;
	if (ob->nresults == 0)
		return;
	ok = store_begin_unsynced(s) == 0;
	for (size_t i = 0; ok && i < ob->nresults; i++) {
		struct result *r = &ob->results[i];

		ok = store_outbox_result(s, &r->msg, r->state, r->next_attempt_at, r->status,
		    r->error) == 0;
	}
	if (ok)
		ok = store_commit(s) == 0;
	if (!ok) {
		/* The rows stay in flight here and are written at the next turn; if we die
		 * first, they are sent again with the same retry key. */
		txn_failed(ob, "writing outbox results failed; retrying", ob->nresults);
		{
			struct timeval tv = { 0, 200000 };

			event_base_once(ob->d->base, -1, EV_TIMEOUT, flush_cb, ob, &tv);
		}
		return;
	}
	for (size_t i = 0; i < ob->nresults; i++) {
		struct result *r = &ob->results[i];

		inflight_remove(ob, r->msg.platform, r->msg.id);
		outbox_msg_clear(&r->msg);
		free(r->error);
	}
	ob->nresults = 0;
	outbox_kick(ob);
}

/* Paces requests below the platform's rate limit (LINE 2,000/s per endpoint, LINE WORKS
 * 240/min per API on paid plans), so a backlog after an outage does not turn into 429s:
 * a token bucket holding at most one second of requests. */
static int
take_tokens(struct outbox *ob, enum platform p, int want)
{
	const struct config *cf = ob->d->cfg;
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

/* Writes down that a try of each of rows[0..n) starts, in one commit, before any request
 * leaves: a row still marked after a crash may have been delivered. The commit need not
 * wait for the disk (store_begin_unsynced): it is there against the process dying, and
 * the requests go out after it, so a process crash cannot lose it. */
static int
mark_trying(struct outbox *ob, const struct outbox_msg *rows, size_t n)
{
	struct store *s = ob->d->store;
	int ok;

	if (n == 0)
		return 0;
	ok = store_begin_unsynced(s) == 0;
	for (size_t i = 0; ok && i < n; i++)
		ok = store_outbox_trying(s, rows[i].id) == 0;
	if (ok)
		ok = store_commit(s) == 0;
	if (!ok) {
		txn_failed(ob, "marking outbox rows as tried failed; not sending them now", n);
		return -1;
	}
	return 0;
}

static void
send_due(struct outbox *ob, enum platform p, int64_t now)
{
	int room = max_inflight(ob, p) - (int)ob->ninflight[p];

	if (room > SENDS_PER_TURN)
		room = SENDS_PER_TURN;
	if (room > 0)
		room = take_tokens(ob, p, room);
	struct outbox_msg *rows = NULL;
	size_t n = 0;

	if (room <= 0)
		return;
	if (store_outbox_due(ob->d->store, p, now, (size_t)room + ob->ninflight[p], &rows,
	    &n) == -1) {
		for (size_t i = 0; i < n; i++)
			outbox_msg_clear(&rows[i]);
		free(rows);
		ob->tokens[p] += room;	/* nothing was started */
		return;
	}
	/* Keep the rows we start at the front, then mark them all before sending any. */
	size_t start = 0;

	for (size_t i = 0; i < n; i++) {
		if ((int)start >= room || is_inflight(ob, p, rows[i].id)) {
			outbox_msg_clear(&rows[i]);
			continue;
		}
		rows[start++] = rows[i];
	}
	if (mark_trying(ob, rows, start) == -1) {
		for (size_t i = 0; i < start; i++)
			outbox_msg_clear(&rows[i]);
		free(rows);
		ob->tokens[p] += room;	/* nothing was started */
		return;
	}
	for (size_t i = 0; i < start; i++) {
		struct send_ctx *ctx;

		ob->inflight[p][ob->ninflight[p]++] = rows[i].id;
		room--;
		ctx = xcalloc(1, sizeof(*ctx));
		ctx->ob = ob;
		ctx->msg = rows[i];
		if (p == PLATFORM_LINE)
			line_api_send(ob->d, &ctx->msg, on_sent, ctx);
		else
			works_api_send(ob->d, &ctx->msg, on_sent, ctx);
	}
	if (room > 0)
		ob->tokens[p] += room;	/* fewer rows were due than we could send */
	else if (n > 0 && (int)ob->ninflight[p] < max_inflight(ob, p))
		outbox_kick(ob);	/* more may be due: go on next turn */
	free(rows);
}

static void
scan_cb(evutil_socket_t fd, short what, void *arg)
{
	struct outbox *ob = arg;
	struct timeval tv = { 0, SCAN_INTERVAL_MS * 1000 };
	int64_t now = wall_ms();

	(void)fd;
	(void)what;
#ifdef SHOKAI_FAULT_HOOKS
	if (fault_enabled("no_outbox"))
		return;
#endif
	if (ob->d->draining)	/* finish what is in flight; the rest waits for the restart */
		return;
	/* A send whose outcome the database could not record must not start. */
	if (store_health(ob->d->store) == NULL) {
		send_due(ob, PLATFORM_LINE, now);
		send_due(ob, PLATFORM_WORKS, now);
	}
	/* Rows come due by time (retries) or are requeued by shokaictl: look again. */
	evtimer_add(ob->ev_scan, &tv);
}

size_t
outbox_inflight(const struct outbox *ob)
{
	return ob->ninflight[0] + ob->ninflight[1];
}
