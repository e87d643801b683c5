/* console_health.c: the admin listener's answers for machines, without a login (they
 * hold no personal data): GET /healthz (liveness: the process serves; the figures
 * operators and tests read), GET /readyz (readiness: the storage takes writes, the
 * config on disk loaded, the backlog is under admin.ready_max_backlog, not draining;
 * with the reasons when not) and GET /metrics (Prometheus text format 0.0.4; with
 * admin.metrics_token_* set, only with that bearer token). The public webhook port
 * serves none of them.
 *
 * They run on the console thread: the daemon's counters are atomics, the storage's
 * health is published under a lock (store_health.c), the checkpointer's figures are
 * its own (store_checkpoint.c), and the database is read on the console's connection,
 * so nothing here waits for the loop or holds up a commit. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "console_internal.h"
#include "../shokaid.h"

/* Everything one answer reports, read once. */
struct health {
	json_t		*db;		/* store_metrics_read; NULL: the query failed */
	int		 storage_bad;	/* the storage takes no writes */
	char		 storage_why[WHY_MAX];
	int		 draining;
	int		 reload_failed;
	json_t		*warnings;	/* strings */
	struct store_checkpoint_stats wal;
	uint64_t	 wal_syncs, wal_sync_failures;	/* the syncer's */
};

static int64_t
db_int(const struct health *h, const char *key)
{
	json_t *v = h->db ? json_object_get(h->db, key) : NULL;

	return v ? json_integer_value(v) : -1;
}

/* full: also what only /metrics shows (the outbox and referrals by state). */
/* The coupon pools the campaigns' rewards name, each once. */
static json_t *
campaign_pools(const struct config *cf)
{
	json_t *names = json_array(), *v;
	size_t n;

	for (size_t i = 0; i < cf->n_campaigns; i++)
		for (size_t j = 0; j < cf->campaigns[i].n_stages; j++) {
			const struct config_reward_stage *sg = &cf->campaigns[i].stages[j];
			const char *pool[2] = { sg->referrer.pool, sg->referee.pool };

			for (int k = 0; k < 2; k++) {
				if (pool[k] == NULL)
					continue;
				json_array_foreach(names, n, v)
					if (strcmp(json_string_value(v), pool[k]) == 0)
						break;
				if (n == json_array_size(names))
					json_array_append_new(names, json_string(pool[k]));
			}
		}
	return names;
}

/* A pool's free codes as the database counted them (0: none, or never imported). */
static int64_t
pool_free(const struct health *h, const char *pool)
{
	json_t *pools = h->db ? json_object_get(h->db, "coupon_pools") : NULL, *p;
	size_t i;

	json_array_foreach(pools, i, p)
		if (strcmp(json_string_value(json_object_get(p, "pool")), pool) == 0)
			return json_integer_value(json_object_get(p, "free"));
	return 0;
}

static void
health_read(struct console *c, struct health *h, int full)
{
	struct daemon *d = c->d;
	json_t *pools, *name;
	size_t i;

	memset(h, 0, sizeof(*h));
	h->db = store_metrics_read(c->store, wall_ms(), full);
	h->storage_bad = storage_health(d->storage, h->storage_why,
	    sizeof(h->storage_why)) > 0;
	h->draining = d->draining;
	h->reload_failed = d->stats.last_reload_failed;
	store_checkpointer_stats(d->checkpointer, &h->wal);
	storage_wal_syncs(d->storage, &h->wal_syncs, &h->wal_sync_failures);
	h->warnings = json_array();
	/* A campaign's pool with no free code: its rewards wait once approved. */
	pools = campaign_pools(c->cf);
	json_array_foreach(pools, i, name)
		if (pool_free(h, json_string_value(name)) == 0)
			json_array_append_new(h->warnings, json_sprintf("coupon pool %s has no "
			    "free code", json_string_value(name)));
	json_decref(pools);
	/* Linux reports a failed write-back once: the data it covered may be gone. */
	if (h->wal_sync_failures > 0)
		json_array_append_new(h->warnings, json_sprintf("%llu fsyncs of the WAL failed "
		    "since start (their webhooks were answered 503): check the disk",
		    (unsigned long long)h->wal_sync_failures));
	if (d->stats.coupon_pool_empty > 0)
		json_array_append_new(h->warnings, json_sprintf("%llu approved rewards wait for "
		    "coupon codes", (unsigned long long)d->stats.coupon_pool_empty));
}

static void
health_clear(struct health *h)
{
	json_decref(h->db);
	json_decref(h->warnings);
}

static void
answer_text(struct evhttp_request *req, int code, const char *type, const char *body,
    size_t len)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);

	console_security_headers(req, 1);
	evhttp_add_header(out, "Content-Type", type);
	evhttp_add_header(out, "Cache-Control", "no-store");
	if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD)
		evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
	evhttp_send_reply(req, code, code == 200 ? "OK" : code == 401 ? "Unauthorized" :
	    code == 405 ? "Method Not Allowed" : "Service Unavailable", NULL);
}

static void
answer_json(struct evhttp_request *req, int code, json_t *body)
{
	char *text = json_dumps(body, JSON_PRESERVE_ORDER | JSON_COMPACT);

	answer_text(req, code, "application/json", text, strlen(text));
	free(text);
	json_decref(body);
}

#define SET_INT(o, k, v)	json_object_set_new((o), (k), json_integer((json_int_t)(v)))

static void
healthz(struct console *c, struct evhttp_request *req)
{
	struct daemon *d = c->d;
	struct health h;
	json_t *o = json_object();
	int64_t backlog;
	int code;

	health_read(c, &h, 0);
	backlog = db_int(&h, "inbox_backlog");
	code = h.storage_bad || h.db == NULL ? 503 : 200;
	json_object_set_new(o, "status", json_string(h.storage_bad ? "error" :
	    h.db == NULL ? "degraded" : h.draining ? "draining" : "ok"));
	json_object_set_new(o, "version", json_string(SHOKAI_VERSION));
	SET_INT(o, "uptime_s", (clock_ms() - d->started_ms) / 1000);
	json_object_set_new(o, "last_reload", json_string(h.reload_failed ? "failed" : "ok"));
	SET_INT(o, "inbox_backlog", backlog);
	SET_INT(o, "connections", d->stats.connections);
	SET_INT(o, "events_stored", d->stats.events_stored);
	SET_INT(o, "events_duplicate", d->stats.events_duplicate);
	SET_INT(o, "quarantined", d->stats.quarantined);
	SET_INT(o, "signature_failures", d->stats.sig_failures);
	SET_INT(o, "tls_handshake_failures", d->stats.tls_handshake_failures);
	SET_INT(o, "db_errors", d->stats.db_errors);
	SET_INT(o, "reloads", d->stats.reloads);
	SET_INT(o, "reload_failures", d->stats.reload_failures);
	SET_INT(o, "json_parse_calls", d->stats.json_parse_calls);
	SET_INT(o, "events_done", d->stats.events_done);
	SET_INT(o, "events_failed", d->stats.events_failed);
	SET_INT(o, "events_skipped", d->stats.events_skipped);
	SET_INT(o, "events_unknown", d->stats.events_unknown);
	SET_INT(o, "outbox_backlog", db_int(&h, "outbox_backlog"));
	SET_INT(o, "outbox_in_flight", d->stats.outbox_sending + (int64_t)d->sends_queued);
	SET_INT(o, "loop_max_stall_us", d->stats.loop_max_stall_us);
	SET_INT(o, "loop_max_busy_us", d->stats.loop_max_busy_us);
	SET_INT(o, "loop_long_stalls", d->stats.loop_long_stalls);
	SET_INT(o, "sqlite_synchronous", storage_synchronous(d->storage));
	SET_INT(o, "coupon_pool_empty", d->stats.coupon_pool_empty);
	SET_INT(o, "reward_batches", d->stats.reward_batches);
	SET_INT(o, "outbox_unknown", d->stats.outbox_unknown);
	SET_INT(o, "dispatch_fault_holds", d->stats.dispatch_fault_holds);
	SET_INT(o, "wal_bytes", h.wal.wal_bytes);
	SET_INT(o, "wal_max_bytes", h.wal.wal_max_bytes);
	SET_INT(o, "wal_restarts", h.wal.restarts);
	SET_INT(o, "wal_truncates", h.wal.truncates);
	SET_INT(o, "wal_checkpoints_blocked", h.wal.blocked);
	SET_INT(o, "wal_syncs", h.wal_syncs);
	SET_INT(o, "wal_sync_failures", h.wal_sync_failures);
	SET_INT(o, "backups_ok", d->stats.backups_ok);
	SET_INT(o, "backups_failed", d->stats.backups_failed);
	SET_INT(o, "last_backup_unix", d->stats.last_backup_unix);
	json_object_set(o, "warnings", h.warnings);
	if (h.storage_bad)
		json_object_set_new(o, "storage_error", json_string(h.storage_why));
	health_clear(&h);
	answer_json(req, code, o);
}

/* Why traffic should not come here now: empty when ready. */
static json_t *
not_ready_because(struct console *c, const struct health *h)
{
	json_t *reasons = json_array();
	int64_t backlog = db_int(h, "inbox_backlog");

	if (h->storage_bad)
		json_array_append_new(reasons, json_sprintf("storage takes no writes: %s",
		    h->storage_why));
	if (h->db == NULL)
		json_array_append_new(reasons, json_string("the database cannot be read"));
	if (h->reload_failed)
		json_array_append_new(reasons, json_sprintf("the last reload failed (%s): the "
		    "config on disk is not the one in force; `shokaid -t` says why",
		    c->d->config_path));
	if (backlog >= c->cf->admin_ready_max_backlog)
		json_array_append_new(reasons, json_sprintf("%lld events wait for their "
		    "handlers (admin.ready_max_backlog %d)", (long long)backlog,
		    c->cf->admin_ready_max_backlog));
	if (h->draining)
		json_array_append_new(reasons, json_string("draining: shokaid is stopping"));
	return reasons;
}

static void
readyz(struct console *c, struct evhttp_request *req)
{
	struct health h;
	json_t *o = json_object(), *reasons;
	int ready;

	health_read(c, &h, 0);
	reasons = not_ready_because(c, &h);
	ready = json_array_size(reasons) == 0;
	json_object_set_new(o, "ready", json_boolean(ready));
	json_object_set(o, "warnings", h.warnings);
	json_object_set_new(o, "reasons", reasons);
	health_clear(&h);
	answer_json(req, ready ? 200 : 503, o);
}

/* A Prometheus label value: backslash, quote and line feed escaped. */
static void
label(struct evbuffer *b, const char *v)
{
	for (; v != NULL && *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			evbuffer_add_printf(b, "\\%c", *v);
		else if (*v == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, v, 1);
	}
}

static void
family(struct evbuffer *b, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
one(struct evbuffer *b, const char *name, const char *type, const char *help, double v)
{
	family(b, name, type, help);
	evbuffer_add_printf(b, "%s %.17g\n", name, v);
}

/* Rows of the database's counts as one gauge with a label per column named. */
static void
rows_gauge(struct evbuffer *b, json_t *rows, const char *name, const char *help,
    const char *const *labels, const char *value)
{
	json_t *row;
	size_t i;

	family(b, name, "gauge", help);
	json_array_foreach(rows, i, row) {
		evbuffer_add_printf(b, "%s{", name);
		for (int k = 0; labels[k] != NULL; k++) {
			evbuffer_add_printf(b, "%s%s=\"", k ? "," : "", labels[k]);
			label(b, json_string_value(json_object_get(row, labels[k])));
			evbuffer_add(b, "\"", 1);
		}
		evbuffer_add_printf(b, "} %" JSON_INTEGER_FORMAT "\n",
		    json_integer_value(json_object_get(row, value)));
	}
}

static void
webhook_metrics(struct evbuffer *b, struct http_metrics *m)
{
	family(b, "shokai_http_requests_total", "counter",
	    "Requests the public listener answered, by path (line, works, invite, other) and "
	    "status (0: any other).");
	for (int k = 0; k < PATH_KINDS; k++)
		for (int s = 0; s < HTTP_METRIC_STATUSES; s++)
			evbuffer_add_printf(b, "shokai_http_requests_total{path=\"%s\","
			    "status=\"%d\"} %llu\n", http_metrics_kind_name(k),
			    http_metrics_status(s), (unsigned long long)m->answers[k][s]);
	family(b, "shokai_http_request_duration_seconds", "histogram",
	    "From routing a request to its answer written whole (a webhook: verified, "
	    "committed and answered).");
	for (int k = 0; k < PATH_KINDS; k++) {
		unsigned long long cum = 0;

		for (int i = 0; i <= HTTP_LATENCY_BUCKETS; i++) {
			cum += m->latency[k][i];
			if (i < HTTP_LATENCY_BUCKETS)
				evbuffer_add_printf(b, "shokai_http_request_duration_seconds_bucket"
				    "{path=\"%s\",le=\"%g\"} %llu\n", http_metrics_kind_name(k),
				    (double)http_metrics_bucket_us(i) / 1e6, cum);
			else
				evbuffer_add_printf(b, "shokai_http_request_duration_seconds_bucket"
				    "{path=\"%s\",le=\"+Inf\"} %llu\n", http_metrics_kind_name(k),
				    cum);
		}
		evbuffer_add_printf(b, "shokai_http_request_duration_seconds_sum{path=\"%s\"} "
		    "%.6f\nshokai_http_request_duration_seconds_count{path=\"%s\"} %llu\n",
		    http_metrics_kind_name(k), (double)m->latency_sum_us[k] / 1e6,
		    http_metrics_kind_name(k), cum);
	}
}

/* The token compared in constant time; without a configured token anyone may scrape
 * (the admin listener is 127.0.0.1 by default). */
static int
metrics_allowed(struct console *c, struct evhttp_request *req)
{
	const char *auth;

	if (c->cf->admin_metrics_token == NULL)
		return 1;
	auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	return auth != NULL && strncmp(auth, "Bearer ", 7) == 0 &&
	    secret_equal(auth + 7, c->cf->admin_metrics_token);
}

static void
metrics(struct console *c, struct evhttp_request *req)
{
	static const char *const outbox_labels[] = { "platform", "state", NULL };
	static const char *const state_labels[] = { "state", NULL };
	static const char *const pool_labels[] = { "pool", NULL };
	struct daemon *d = c->d;
	struct daemon_stats *st = &d->stats;
	json_t *reasons, *pools, *name;
	struct evbuffer *b;
	size_t i;
	struct health h;
	size_t len;

	if (!metrics_allowed(c, req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
		    "Bearer realm=\"shokai metrics\"");
		answer_text(req, 401, "text/plain; charset=utf-8", "unauthorized\n", 13);
		return;
	}
	health_read(c, &h, 1);
	b = evbuffer_new();
	family(b, "shokai_build_info", "gauge", "The running version.");
	evbuffer_add_printf(b, "shokai_build_info{version=\"%s\"} 1\n", SHOKAI_VERSION);
	one(b, "shokai_process_start_time_seconds", "gauge", "When shokaid started (unix "
	    "time).", (double)st->started_wall_ms / 1000.0);
	one(b, "shokai_up", "gauge", "1 while the storage takes writes and the database "
	    "reads.", !h.storage_bad && h.db != NULL);
	reasons = not_ready_because(c, &h);
	one(b, "shokai_ready", "gauge", "1 while /readyz answers 200.",
	    json_array_size(reasons) == 0);
	json_decref(reasons);
	webhook_metrics(b, &st->webhooks);
	one(b, "shokai_signature_failures_total", "counter", "Webhooks refused for their "
	    "signature.", (double)st->sig_failures);
	one(b, "shokai_tls_handshake_failures_total", "counter", "TLS handshakes that "
	    "failed on the webhook listener.", (double)st->tls_handshake_failures);
	one(b, "shokai_connections", "gauge", "Open connections to the webhook listener.",
	    st->connections);
	family(b, "shokai_events_total", "counter", "Events received, by what became of "
	    "them when stored.");
	evbuffer_add_printf(b, "shokai_events_total{result=\"stored\"} %llu\n"
	    "shokai_events_total{result=\"duplicate\"} %llu\n"
	    "shokai_events_total{result=\"quarantined\"} %llu\n",
	    (unsigned long long)st->events_stored, (unsigned long long)st->events_duplicate,
	    (unsigned long long)st->quarantined);
	family(b, "shokai_events_handled_total", "counter", "Events the handlers finished, "
	    "by outcome.");
	evbuffer_add_printf(b, "shokai_events_handled_total{outcome=\"done\"} %llu\n"
	    "shokai_events_handled_total{outcome=\"failed\"} %llu\n"
	    "shokai_events_handled_total{outcome=\"skipped\"} %llu\n",
	    (unsigned long long)st->events_done, (unsigned long long)st->events_failed,
	    (unsigned long long)st->events_skipped);
	one(b, "shokai_inbox_backlog", "gauge", "Events stored and not yet handled.",
	    (double)db_int(&h, "inbox_backlog"));
	one(b, "shokai_inbox_oldest_wait_seconds", "gauge", "How long the oldest event not "
	    "yet handled has waited (the dispatch latency now).",
	    (double)db_int(&h, "inbox_oldest_wait_ms") / 1000.0);
	if (h.db != NULL) {
		rows_gauge(b, json_object_get(h.db, "outbox"), "shokai_outbox_messages",
		    "Outbound messages by platform and state.", outbox_labels, "n");
		rows_gauge(b, json_object_get(h.db, "referrals"), "shokai_referrals",
		    "Referrals by state.", state_labels, "n");
		rows_gauge(b, json_object_get(h.db, "coupon_pools"), "shokai_coupon_free",
		    "Coupon codes not yet given, per pool.", pool_labels, "free");
		/* A campaign's pool with none is a 0, not a missing series: alerts see it. */
		pools = campaign_pools(c->cf);
		json_array_foreach(pools, i, name)
			if (pool_free(&h, json_string_value(name)) == 0) {
				evbuffer_add(b, "shokai_coupon_free{pool=\"", 25);
				label(b, json_string_value(name));
				evbuffer_add(b, "\"} 0\n", 5);
			}
		json_decref(pools);
	}
	one(b, "shokai_outbox_in_flight", "gauge", "Sends waiting for the platform's "
	    "answer.", (double)(st->outbox_sending + (int64_t)d->sends_queued));
	one(b, "shokai_outbox_retries_total", "counter", "Sends that failed and will be "
	    "tried again.", (double)st->outbox_retries);
	one(b, "shokai_outbox_rate_limited_total", "counter", "429 answers from LINE or "
	    "LINE WORKS.", (double)st->outbox_rate_limited);
	one(b, "shokai_outbox_unknown_total", "counter", "Replies whose delivery is "
	    "unknown.", (double)st->outbox_unknown);
	one(b, "shokai_rewards_waiting_for_coupons", "gauge", "Approved rewards whose "
	    "pool has no free code.", (double)st->coupon_pool_empty);
	family(b, "shokai_reloads_total", "counter", "Config reloads (SIGHUP) by result.");
	evbuffer_add_printf(b, "shokai_reloads_total{result=\"ok\"} %llu\n"
	    "shokai_reloads_total{result=\"failed\"} %llu\n",
	    (unsigned long long)st->reloads, (unsigned long long)st->reload_failures);
	one(b, "shokai_last_reload_failed", "gauge", "1 while the last reload failed.",
	    h.reload_failed);
	family(b, "shokai_backups_total", "counter", "Daily backups (backup:) by result.");
	evbuffer_add_printf(b, "shokai_backups_total{result=\"ok\"} %llu\n"
	    "shokai_backups_total{result=\"failed\"} %llu\n",
	    (unsigned long long)st->backups_ok, (unsigned long long)st->backups_failed);
	one(b, "shokai_last_backup_time_seconds", "gauge", "When the last daily backup was "
	    "taken (unix time; 0: none yet).", (double)st->last_backup_unix);
	one(b, "shokai_db_errors_total", "counter", "Database statements that failed.",
	    (double)st->db_errors);
	one(b, "shokai_wal_bytes", "gauge", "The WAL file's size.", (double)h.wal.wal_bytes);
	one(b, "shokai_wal_checkpoints_blocked_total", "counter", "Checkpoints a reader "
	    "held up.", (double)h.wal.blocked);
	family(b, "shokai_wal_syncs_total", "counter", "fsyncs of the WAL behind the commits "
	    "(the syncer thread) by result.");
	evbuffer_add_printf(b, "shokai_wal_syncs_total{result=\"ok\"} %llu\n"
	    "shokai_wal_syncs_total{result=\"failed\"} %llu\n",
	    (unsigned long long)(h.wal_syncs - h.wal_sync_failures),
	    (unsigned long long)h.wal_sync_failures);
	one(b, "shokai_loop_max_stall_seconds", "gauge", "The longest the event loop was "
	    "held since the start.", (double)st->loop_max_stall_us / 1e6);
	one(b, "shokai_loop_max_busy_seconds", "gauge", "Of the event loop's stalls, the "
	    "longest part its own thread spent on the CPU.", (double)st->loop_max_busy_us / 1e6);
	one(b, "shokai_loop_long_stalls_total", "counter", "Event loop stalls of 10 ms or "
	    "more.", (double)st->loop_long_stalls);
	health_clear(&h);
	len = evbuffer_get_length(b);
	answer_text(req, 200, "text/plain; version=0.0.4; charset=utf-8",
	    (const char *)evbuffer_pullup(b, -1), len);
	evbuffer_free(b);
}

int
console_health_route(struct console *c, struct evhttp_request *req, const char *path)
{
	void (*fn)(struct console *, struct evhttp_request *);
	int method = evhttp_request_get_command(req);

	if (strcmp(path, "/healthz") == 0)
		fn = healthz;
	else if (strcmp(path, "/readyz") == 0)
		fn = readyz;
	else if (strcmp(path, "/metrics") == 0)
		fn = metrics;
	else
		return 0;
	if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
		answer_text(req, 405, "text/plain; charset=utf-8", "", 0);
	} else
		fn(c, req);
	return 1;
}
