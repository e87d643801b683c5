/* http_healthz.c: GET /healthz. The loop takes what only it knows (connections,
 * requests in flight, draining), the reader thread adds what the database says (the
 * backlogs, counted on its own connection) and formats the answer, and the loop sends
 * it. The counters are atomic and the storage health is published under a lock
 * (storage.c), so the reader may read them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "../shokaid.h"

struct healthz_job {
	struct daemon	*d;
	uint64_t	 ticket;
	int64_t		 start_us;
	int		 connections;
	size_t		 in_flight;
	int		 draining;
	int		 code;
	char		 body[2048];
};

/* Reader thread. */
static void
healthz_read(void *ctx, void *arg)
{
	struct store *s = ctx;
	struct healthz_job *job = arg;
	struct daemon *d = job->d;
	int64_t backlog = store_inbox_backlog(s), outbox = store_outbox_backlog(s);
	char storage[WHY_MAX];	/* no quotes: store_health.c */
	int unhealthy = storage_health(d->storage, storage, sizeof(storage)) > 0;
	struct store_checkpoint_stats wal;

	store_checkpointer_stats(d->checkpointer, &wal);
	job->code = unhealthy || backlog < 0 ? 503 : 200;
	snprintf(job->body, sizeof(job->body),
	    "{\"status\":\"%s\",\"version\":\"%s\",\"uptime_s\":%lld,\"inbox_backlog\":%lld,"
	    "\"connections\":%d,\"events_stored\":%llu,\"events_duplicate\":%llu,"
	    "\"quarantined\":%llu,\"signature_failures\":%llu,\"tls_handshake_failures\":%llu,\"db_errors\":%llu,"
	    "\"reloads\":%llu,\"reload_failures\":%llu,\"json_parse_calls\":%llu,"
	    "\"events_done\":%llu,\"events_failed\":%llu,\"events_skipped\":%llu,"
	    "\"events_unknown\":%llu,\"outbox_backlog\":%lld,"
	    "\"outbox_in_flight\":%zu,\"loop_max_stall_us\":%lld,\"loop_long_stalls\":%llu,\"sqlite_synchronous\":%d,"
	    "\"coupon_pool_empty\":%llu,\"reward_batches\":%llu,"
	    "\"outbox_unknown\":%llu,\"dispatch_fault_holds\":%llu,"
	    "\"wal_bytes\":%lld,\"wal_max_bytes\":%lld,\"wal_restarts\":%llu,"
	    "\"wal_truncates\":%llu,\"wal_checkpoints_blocked\":%llu%s%s%s}",
	    unhealthy ? "error" : backlog < 0 ? "degraded" :
	    (job->draining ? "draining" : "ok"), SHOKAI_VERSION,
	    (long long)((clock_ms() - d->started_ms) / 1000), (long long)backlog,
	    job->connections,
	    (unsigned long long)d->stats.events_stored,
	    (unsigned long long)d->stats.events_duplicate,
	    (unsigned long long)d->stats.quarantined,
	    (unsigned long long)d->stats.sig_failures,
	    (unsigned long long)d->stats.tls_handshake_failures,
	    (unsigned long long)d->stats.db_errors,
	    (unsigned long long)d->stats.reloads,
	    (unsigned long long)d->stats.reload_failures,
	    (unsigned long long)d->stats.json_parse_calls,
	    (unsigned long long)d->stats.events_done,
	    (unsigned long long)d->stats.events_failed,
	    (unsigned long long)d->stats.events_skipped,
	    (unsigned long long)d->stats.events_unknown,
	    (long long)outbox, job->in_flight,
	    (long long)d->stats.loop_max_stall_us,
	    (unsigned long long)d->stats.loop_long_stalls, storage_synchronous(d->storage),
	    (unsigned long long)d->stats.coupon_pool_empty,
	    (unsigned long long)d->stats.reward_batches,
	    (unsigned long long)d->stats.outbox_unknown,
	    (unsigned long long)d->stats.dispatch_fault_holds,
	    (long long)wal.wal_bytes, (long long)wal.wal_max_bytes,
	    (unsigned long long)wal.restarts, (unsigned long long)wal.truncates,
	    (unsigned long long)wal.blocked,
	    unhealthy ? ",\"storage_error\":\"" : "", unhealthy ? storage : "",
	    unhealthy ? "\"" : "");
	loop_post(d, http_healthz_answer, job);
}

void
http_healthz_handle(struct daemon *d, struct evhttp_request *req, int64_t start_us)
{
	struct healthz_job *job = xcalloc(1, sizeof(*job));

	job->d = d;
	job->ticket = http_wait_park(d->waits, req);
	job->start_us = start_us;
	job->connections = http_guard_connections(d->guard);
	job->in_flight = outbox_inflight(d->outbox) + d->sends_queued;
	job->draining = d->draining;
	reader_post(d->reader, healthz_read, job);
}

void
http_healthz_answer(void *ctx, void *arg)
{
	struct daemon *d = ctx;
	struct healthz_job *job = arg;
	struct evhttp_request *req = http_wait_take(d->waits, job->ticket);

	if (req != NULL)
		http_reply_json(req, &(struct http_answer){ .code = job->code,
		    .start_us = job->start_us }, job->body);
	free(job);
}
