/* console_api_announce.c: お知らせ: the announcements the config offers, the sends
 * with their progress and results, and an operator's preview (the segment counted), test
 * push, send (now or at a time) and cancel, each through daemon/ops/announce.c as
 * shokaictl announce does, and audited. A manager may announce only to a segment of
 * their branches (branch:CODE, rep:CODE of theirs) and sees only those sends. LINE's
 * quota is not read here (the console makes no platform calls): the daemon reads it
 * before it starts a send, and a refusal shows on the send with the numbers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "../ops/ops.h"
#include "console_api.h"
#include "console_rows.h"

#define SENDS_MAX	100

/* 1 when the caller may see and act on a send to the segment. */
static int
segment_in_scope(const struct console_req *r, const char *segment)
{
	struct segment sg;
	char why[WHY_MAX];

	if (r->scope.role != ROLE_MANAGER)
		return 1;
	if (seg_parse(segment, &sg, why, sizeof(why)) == -1)
		return 0;
	if (sg.kind == SEG_BRANCH)
		return console_scope_has(&r->scope, sg.arg);
	if (sg.kind == SEG_REP)
		return config_rep(r->cf, sg.arg) != NULL &&
		    console_rep_in_scope(&r->scope, r->cf, sg.arg);
	return 0;
}

static json_t *
int_or_null(int64_t v, int known)
{
	return known ? json_integer(v) : json_null();
}

static json_t *
send_json(const struct announce_row *w)
{
	int started = w->started_at > 0, counted = started || strcmp(w->state, "refused") == 0;

	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:o, s:o, s:o, s:o, "
	    "s:o, s:o, s:o, s:o}",
	    "id", (json_int_t)w->id, "announcement", w->config_id, "title", w->title,
	    "channel", w->channel, "segment", w->segment, "state", w->state,
	    "scheduled_at", (json_int_t)w->scheduled_at, "created_by", w->created_by,
	    "created_at", (json_int_t)w->created_at,
	    "started_at", int_or_null(w->started_at, started),
	    "finished_at", int_or_null(w->finished_at, w->finished_at > 0),
	    "recipients", int_or_null(w->recipients, counted),
	    "blocked", int_or_null(w->blocked, counted),
	    "chunks", int_or_null(w->chunks, started),
	    "quota_limit", int_or_null(w->quota_limit, counted && w->quota_limit >= 0),
	    "quota_used", int_or_null(w->quota_used, counted),
	    "reason", w->reason ? json_string(w->reason) : json_null());
}

static json_t *
configured_json(const struct console_req *r, const struct config_announcement *a)
{
	json_t *segs = json_array(), *messages = config_announce_messages(r->cf, a);

	for (int k = 0; k < SEG_KIND_COUNT; k++)
		if (a->segments & (1u << k))
			json_array_append_new(segs, json_string(seg_kind_name((enum seg_kind)k)));
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "id", a->id, "title", a->title,
	    "message", a->message_name, "channel", a->channel, "segments", segs, "messages",
	    messages ? messages : json_array());
}

void
console_api_announcements(struct console_req *r)
{
	struct announce_row *rows = NULL;
	size_t n = 0;
	json_t *configured = json_array(), *sends = json_array();

	for (size_t i = 0; i < r->cf->n_announcements; i++)
		json_array_append_new(configured, configured_json(r, &r->cf->announcements[i]));
	if (store_announce_list(r->c->store, SENDS_MAX, &rows, &n) == -1) {
		json_decref(configured);
		json_decref(sends);
		console_answer_error(r, 503, "storage", "the announcements could not be read");
		goto done;
	}
	for (size_t i = 0; i < n; i++)
		if (segment_in_scope(r, rows[i].segment))
			json_array_append_new(sends, send_json(&rows[i]));
	console_answer_json(r, 200, json_pack("{s:o, s:o}", "configured", configured, "items",
	    sends));
done:
	for (size_t i = 0; i < n; i++)
		announce_row_clear(&rows[i]);
	free(rows);
}

void
console_api_announcement(struct console_req *r)
{
	struct announce_row w;
	struct announce_results res;
	int64_t id = console_arg_id(r, 0);
	json_t *out, *results = json_null();
	int found;

	if (id < 0)
		return;
	if ((found = store_announce_get(r->c->store, id, &w)) != 1 ||
	    !segment_in_scope(r, w.segment)) {
		console_answer_error(r, found == -1 ? 503 : 404, found == -1 ? "storage" :
		    "not_found", "no such announcement send in your scope");
		if (found == 1)
			announce_row_clear(&w);
		return;
	}
	if (w.started_at > 0) {
		if (store_announce_results(r->c->store, w.id, w.started_at, &res) == -1) {
			console_answer_error(r, 503, "storage", "the results could not be read");
			announce_row_clear(&w);
			return;
		}
		results = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		    "delivered", (json_int_t)res.delivered, "failed", (json_int_t)res.failed,
		    "pending", (json_int_t)res.pending, "chunks_written",
		    (json_int_t)res.chunks_written, "chunks_sent", (json_int_t)res.chunks_sent,
		    "follow_until", (json_int_t)res.follow_until, "invites",
		    (json_int_t)res.invites, "clicks", (json_int_t)res.clicks, "claims",
		    (json_int_t)res.claims);
	}
	out = send_json(&w);
	json_object_set_new(out, "results", results);
	console_answer_json(r, 200, out);
	announce_row_clear(&w);
}

/* The body's announcement and segment, planned and in the caller's scope: 0, or
 * answered and -1. */
static int
body_plan(struct console_req *r, struct announce_plan *p)
{
	const char *id = json_string_value(json_object_get(r->body, "announcement"));
	const char *seg = json_string_value(json_object_get(r->body, "segment"));
	char why[WHY_MAX];

	if (id == NULL || seg == NULL) {
		console_answer_error(r, 400, "bad_request", "send {\"announcement\": ID, "
		    "\"segment\": \"all|branch:CODE|rep:CODE|not_referred|referred|tag:TAG\"}");
		return -1;
	}
	if (announce_plan(r->cf, r->c->store, id, seg, p, why, sizeof(why)) == -1) {
		console_answer_error(r, 400, strncmp(why, "no announcement", 15) == 0 ?
		    "unknown_announcement" : "bad_segment", why);
		return -1;
	}
	if (!segment_in_scope(r, p->segment)) {
		console_answer_error(r, 403, "out_of_scope", "a manager announces to a branch or "
		    "rep of their own only");
		return -1;
	}
	return 0;
}

void
console_api_announce_preview(struct console_req *r)
{
	struct announce_plan p;

	if (body_plan(r, &p) == -1)
		return;
	console_answer_json(r, 200, json_pack("{s:s, s:s, s:I, s:I, s:I}", "announcement",
	    p.a->id, "segment", p.segment, "recipients", (json_int_t)p.recipients, "blocked",
	    (json_int_t)p.blocked, "chunks", (json_int_t)p.chunks));
}

void
console_api_announce_test(struct console_req *r)
{
	const char *id = json_string_value(json_object_get(r->body, "announcement"));
	const char *to = json_string_value(json_object_get(r->body, "to"));
	char why[WHY_MAX];

	if (id == NULL || config_announcement(r->cf, id) == NULL) {
		console_answer_error(r, 400, "unknown_announcement", "no such announcement in "
		    "the config");
		return;
	}
	if (to == NULL || store_begin(r->c->store) == -1) {
		console_answer_error(r, to == NULL ? 400 : 503, to == NULL ? "bad_user_id" :
		    "storage", to == NULL ? "send {\"to\": \"U...\"}" : store_errmsg(r->c->store));
		return;
	}
	if (announce_test(r->cf, r->c->store, id, to, why, sizeof(why)) == -1) {
		store_rollback(r->c->store);
		console_answer_error(r, 400, "bad_user_id", why);
		return;
	}
	if (console_audit(r, "announce_test", id, to) == -1 ||
	    store_commit(r->c->store) == -1) {
		store_rollback(r->c->store);
		console_answer_error(r, 503, "storage", store_errmsg(r->c->store));
		return;
	}
	console_answer_json(r, 200, json_pack("{s:b}", "ok", 1));
}

void
console_api_announce_create(struct console_req *r)
{
	struct announce_plan p;
	json_t *at = json_object_get(r->body, "at");
	char why[WHY_MAX] = "", by[96], target[48], detail[160];
	int64_t when = r->now_ms, id;

	if (body_plan(r, &p) == -1)
		return;
	if (at != NULL && !json_is_null(at) && (!json_is_string(at) ||
	    announce_parse_time(json_string_value(at), r->now_ms, &when, why,
	    sizeof(why)) == -1)) {
		console_answer_error(r, 400, "bad_time", json_is_string(at) ? why :
		    "at is \"YYYY-MM-DDTHH:MM\" (local time) or null for now");
		return;
	}
	snprintf(by, sizeof(by), "%s", r->acct.login);
	/* The quota is the daemon's to read (no platform call from this thread). */
	if (store_begin(r->c->store) == -1 ||
	    announce_schedule(r->c->store, &p, when, by, NULL, &id, why, sizeof(why)) == -1)
		goto err;
	snprintf(target, sizeof(target), "announcement:%lld", (long long)id);
	snprintf(detail, sizeof(detail), "%s to %s (%lld recipients)", p.a->id, p.segment,
	    (long long)p.recipients);
	if (console_audit(r, "announce_create", target, detail) == -1 ||
	    store_commit(r->c->store) == -1)
		goto err;
	console_answer_json(r, 200, json_pack("{s:I, s:I}", "id", (json_int_t)id,
	    "scheduled_at", (json_int_t)when));
	return;
err:
	store_rollback(r->c->store);
	console_answer_error(r, 503, "storage", store_errmsg(r->c->store));
}

void
console_api_announce_cancel(struct console_req *r)
{
	struct announce_row w;
	int64_t id = console_arg_id(r, 0);
	char why[WHY_MAX], target[48];
	int found, rc;

	if (id < 0)
		return;
	if ((found = store_announce_get(r->c->store, id, &w)) != 1 ||
	    !segment_in_scope(r, w.segment)) {
		console_answer_error(r, found == -1 ? 503 : 404, found == -1 ? "storage" :
		    "not_found", "no such announcement send in your scope");
		if (found == 1)
			announce_row_clear(&w);
		return;
	}
	announce_row_clear(&w);
	if (store_begin(r->c->store) == -1) {
		console_answer_error(r, 503, "storage", store_errmsg(r->c->store));
		return;
	}
	if ((rc = announce_cancel(r->c->store, id, r->acct.login, why, sizeof(why))) != 0) {
		store_rollback(r->c->store);
		console_answer_error(r, rc == 1 ? 409 : 503, rc == 1 ? "not_scheduled" :
		    "storage", why);
		return;
	}
	snprintf(target, sizeof(target), "announcement:%lld", (long long)id);
	if (console_audit(r, "announce_cancel", target, NULL) == -1 ||
	    store_commit(r->c->store) == -1) {
		store_rollback(r->c->store);
		console_answer_error(r, 503, "storage", store_errmsg(r->c->store));
		return;
	}
	console_answer_json(r, 200, json_pack("{s:b}", "ok", 1));
}
