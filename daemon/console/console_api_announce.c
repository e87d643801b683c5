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

/* What an announcement action writes, with its audit row, in one transaction. */
struct announce_job {
	const char		*id, *to;	/* test */
	struct announce_plan	*plan;		/* create */
	int64_t			 when, created;
	int64_t			 send;		/* cancel */
	char			 why[WHY_MAX];
};

static int
test_tx(struct console_req *r, void *arg)
{
	struct announce_job *j = arg;

	if (announce_test(r->cf, r->ws, j->id, j->to, j->why, sizeof(j->why)) == -1)
		return -2;
	return console_audit(r, "announce_test", j->id, j->to) == 0 ? 1 : -1;
}

void
console_api_announce_test(struct console_req *r)
{
	struct announce_job j = { 0 };
	char why[WHY_MAX];
	int rc;

	j.id = json_string_value(json_object_get(r->body, "announcement"));
	j.to = json_string_value(json_object_get(r->body, "to"));
	if (j.id == NULL || config_announcement(r->cf, j.id) == NULL) {
		console_answer_error(r, 400, "unknown_announcement", "no such announcement in "
		    "the config");
		return;
	}
	if (j.to == NULL) {
		console_answer_error(r, 400, "bad_user_id", "send {\"to\": \"U...\"}");
		return;
	}
	if ((rc = console_write_tx(r, test_tx, &j, why, sizeof(why))) == 1)
		console_answer_json(r, 200, json_pack("{s:b}", "ok", 1));
	else if (rc == -2)
		console_answer_error(r, 400, "bad_user_id", j.why);
	else
		console_answer_error(r, 503, "storage", why);
}

static int
create_tx(struct console_req *r, void *arg)
{
	struct announce_job *j = arg;
	char target[48], *detail;
	int rc;

	/* The quota is the daemon's to read (no platform call from the console). */
	if (announce_schedule(r->ws, j->plan, j->when, r->acct.login, NULL, &j->created,
	    j->why, sizeof(j->why)) == -1)
		return -1;
	snprintf(target, sizeof(target), "announcement:%lld", (long long)j->created);
	detail = store_audit_detail(json_pack("{s:s,s:s,s:I}", "announcement",
	    j->plan->a->id, "segment", j->plan->segment, "recipients",
	    (json_int_t)j->plan->recipients));
	rc = console_audit(r, "announce_create", target, detail) == 0 ? 1 : -1;
	free(detail);
	return rc;
}

void
console_api_announce_create(struct console_req *r)
{
	struct announce_plan p;
	struct announce_job j = { .plan = &p, .when = r->now_ms };
	json_t *at = json_object_get(r->body, "at");
	char why[WHY_MAX] = "";

	if (body_plan(r, &p) == -1)
		return;
	if (at != NULL && !json_is_null(at) && (!json_is_string(at) ||
	    announce_parse_time(json_string_value(at), r->now_ms, &j.when, why,
	    sizeof(why)) == -1)) {
		console_answer_error(r, 400, "bad_time", json_is_string(at) ? why :
		    "at is \"YYYY-MM-DDTHH:MM\" (local time) or null for now");
		return;
	}
	if (console_write_tx(r, create_tx, &j, why, sizeof(why)) != 1) {
		console_answer_error(r, 503, "storage", j.why[0] ? j.why : why);
		return;
	}
	console_answer_json(r, 200, json_pack("{s:I, s:I}", "id", (json_int_t)j.created,
	    "scheduled_at", (json_int_t)j.when));
}

static int
cancel_tx(struct console_req *r, void *arg)
{
	struct announce_job *j = arg;
	char target[48];
	int rc;

	if ((rc = announce_cancel(r->ws, j->send, r->acct.login, j->why, sizeof(j->why))) != 0)
		return rc == 1 ? -2 : -1;
	snprintf(target, sizeof(target), "announcement:%lld", (long long)j->send);
	return console_audit(r, "announce_cancel", target, NULL) == 0 ? 1 : -1;
}

void
console_api_announce_cancel(struct console_req *r)
{
	struct announce_row w;
	struct announce_job j = { .send = console_arg_id(r, 0) };
	char why[WHY_MAX];
	int found, rc;

	if (j.send < 0)
		return;
	if ((found = store_announce_get(r->c->store, j.send, &w)) != 1 ||
	    !segment_in_scope(r, w.segment)) {
		console_answer_error(r, found == -1 ? 503 : 404, found == -1 ? "storage" :
		    "not_found", "no such announcement send in your scope");
		if (found == 1)
			announce_row_clear(&w);
		return;
	}
	announce_row_clear(&w);
	if ((rc = console_write_tx(r, cancel_tx, &j, why, sizeof(why))) == 1)
		console_answer_json(r, 200, json_pack("{s:b}", "ok", 1));
	else if (rc == -2)
		console_answer_error(r, 409, "not_scheduled", j.why);
	else
		console_answer_error(r, 503, "storage", j.why[0] ? j.why : why);
}
