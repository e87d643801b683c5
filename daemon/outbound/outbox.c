/* outbox.c: the loop's side of the transactional outbox. Handlers write rows (in the
 * transaction of the state that caused them); the storage side (storage/outbox_book.c)
 * takes due rows, writes down that a try of each starts, and posts them here. This file
 * sends them through line_api / works_api and decides what each answer means: sent,
 * retried later with exponential backoff and jitter, or failed with the platform's
 * reason; the outcome goes back to the storage side, which writes it. A row's retry key
 * is fixed before the first try, so a push sent again after a crash is recognised by
 * LINE (409) instead of delivered twice. A reply has no retry key: each try is written
 * down before it starts, so a reply found mid-try after a crash counts as possibly
 * delivered, and if LINE then refuses its used token it ends "unknown" rather than being
 * pushed a second time. Loop thread only. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/rand.h>

#include "../shokaid.h"
#include "outmsg.h"
#include "../storage/storage.h"

#define BACKOFF_BASE_MS		1000
#define BACKOFF_CAP_MS		300000
#define RETRY_KEY_MAX_AGE_MS	(23LL * 3600 * 1000)	/* LINE honours a key for 24 h */

struct outbox {
	struct daemon		*d;
	struct outbox_results	*done;		/* outcomes of this loop turn */
	struct event		*ev_hand;	/* hands them over at the turn's end */
};

struct send_ctx {
	struct outbox		*ob;
	struct outbox_msg	 msg;
};

static void hand_over_cb(evutil_socket_t, short, void *);

struct outbox *
outbox_new(struct daemon *d)
{
	struct outbox *ob = xcalloc(1, sizeof(*ob));

	ob->d = d;
	ob->ev_hand = event_new(d->base, -1, 0, hand_over_cb, ob);
	event_priority_set(ob->ev_hand, PRIO_BACKGROUND);
	return ob;
}

/* Outcomes still here could not be handed over (the storage side had stopped): their
 * rows stay marked as tried, which the next start reads as "may have been delivered". */
void
outbox_free(struct outbox *ob)
{
	if (ob == NULL)
		return;
	outbox_results_free(ob->done);
	if (ob->ev_hand != NULL)
		event_free(ob->ev_hand);
	free(ob);
}

/* One letter per loop turn carries every outcome of the turn: the storage side then
 * writes them in one transaction, and is woken once instead of once per answer. */
static void
hand_over(struct outbox *ob)
{
	struct outbox_results *rs = ob->done;

	if (rs == NULL || ob->d->storage == NULL)
		return;
	ob->done = NULL;
	storage_post(ob->d->storage, storage_outbox_results, rs);
}

static void
hand_over_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	hand_over(arg);
}

void
outbox_hand_over(struct outbox *ob)
{
	hand_over(ob);
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

/* Queues the row and its outcome (state NULL: never started) for the storage side. */
static void
post_result(struct outbox *ob, struct outbox_msg *msg, const char *state, int64_t next,
    int status, const char *error)
{
	struct outbox_results *rs = ob->done;
	struct outbox_result *r;

	if (rs == NULL) {
		rs = ob->done = xcalloc(1, sizeof(*rs));
		event_active(ob->ev_hand, 0, 0);
	}
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 16;
		rs->v = xrealloc(rs->v, rs->cap * sizeof(*rs->v));
	}
	r = &rs->v[rs->n++];
	r->msg = *msg;
	memset(msg, 0, sizeof(*msg));
	r->state = state;
	r->next_attempt_at = next;
	r->status = status;
	r->error = error ? xstrdup(error) : NULL;
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
		break;
	case SEND_PERMANENT:
		state = "failed";
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
		} else if (m->platform == PLATFORM_LINE && strcmp(m->kind, "reply") != 0 &&
		    next - m->created_at >= RETRY_KEY_MAX_AGE_MS) {
			state = "failed";
			snprintf(error, sizeof(error), "retry key would be older than 23 h: %s",
			    res->error);
		} else {
			state = "pending";
		}
		break;
	}
	if (strcmp(state, "pending") == 0)
		ob->d->stats.outbox_retries++;
	if (res->status == 429)
		ob->d->stats.outbox_rate_limited++;
	log_outcome(m, state, res, next - now);
	post_result(ob, m, state, next, res->status, error[0] ? error : NULL);
	ob->d->stats.outbox_sending--;
	free(ctx);
}

void
outbox_send(void *ctx, void *arg)
{
	struct daemon *d = ctx;
	struct outbox *ob = d->outbox;
	struct outbox_sends *s = arg;

	d->sends_queued -= s->n;
	for (size_t i = 0; i < s->n; i++) {
		struct send_ctx *sc;

		/* Stopping: the row is not tried now; it waits for the restart. */
		if (d->draining) {
			post_result(ob, &s->rows[i], NULL, 0, 0, NULL);
			continue;
		}
		sc = xcalloc(1, sizeof(*sc));
		sc->ob = ob;
		sc->msg = s->rows[i];
		ob->d->stats.outbox_sending++;
		if (s->platform == PLATFORM_LINE)
			line_api_send(d, &sc->msg, on_sent, sc);
		else
			works_api_send(d, &sc->msg, on_sent, sc);
	}
	free(s->rows);
	free(s);
}
