/* console_api_rewards.c: 特典: rewards by state, an operator's approve or void of one or
 * many (each its own transaction, through the reward state machine as shokaictl's),
 * coupon pools with their stock, and coupon files uploaded with shokaictl import's own
 * checks (daemon/ops/import.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "../../handlers/handler.h"
#include "../ops/ops.h"
#include "console_api.h"
#include "console_rows.h"

static const struct console_csv_col reward_cols[] = {
	{ "id", "id" }, { "referral_id", "referral_id" }, { "side", "side" },
	{ "person", "person" }, { "campaign", "campaign" }, { "pool", "pool" },
	{ "state", "state" }, { "branch", "branch" }, { "due_at", "due_at" },
	{ "approve_after", "approve_after" }, { "issued_at", "issued_at" },
	{ "note", "note" },
};

void
console_api_rewards(struct console_req *r)
{
	struct console_filter f;
	struct console_list_query q;
	enum reward_state st;
	json_t *rows = NULL, *items, *row;
	int64_t total = 0;
	char *reps;
	size_t i;

	if (console_filter_parse(r, &f) == -1)
		return;
	if (f.state != NULL && reward_state_parse(f.state, &st) == -1) {
		console_answer_error(r, 400, "bad_state", "no such reward state");
		return;
	}
	memset(&q, 0, sizeof(q));
	reps = console_scope_reps(&r->scope, r->cf, &f);
	q.state = f.state;
	q.campaign = f.campaign;
	q.reps_json = reps;
	console_list_window(r, &f, &q);
	if (store_console_rewards(r->c->store, &q, &rows, &total) == -1)
		console_answer_error(r, 503, "storage", "the rewards could not be read");
	else {
		items = json_array();
		json_array_foreach(rows, i, row)
			json_array_append_new(items, console_reward_json(&r->scope, r->cf, row));
		console_answer_list(r, items, total, reward_cols, sizeof(reward_cols) /
		    sizeof(reward_cols[0]), "rewards");
	}
	json_decref(rows);
	free(reps);
}

struct reward_job {
	int64_t			 id;
	enum reward_state	 to;
	const char		*note;
	char			 why[WHY_MAX];
};

static int
reward_tx(struct console_req *r, void *arg)
{
	struct reward_job *j = arg;
	struct console_operator who;
	struct handler_ctx hc;
	struct reward_row w;
	char target[32];
	int rc;

	if ((rc = store_reward_get(r->ws, j->id, &w)) != 1)
		return rc == 0 ? -3 : -1;
	console_operator_ctx(r, &who, &hc);
	snprintf(target, sizeof(target), "reward:%lld", (long long)j->id);
	if ((rc = reward_move(&hc, &w, j->to, ACTOR_OPERATOR, NULL, j->note, j->why,
	    sizeof(j->why))) == 1 && console_audit(r, j->to == REWARD_APPROVED ?
	    "reward_approve" : "reward_void", target, j->note) == -1)
		rc = -1;
	reward_row_clear(&w);
	return rc;
}

/* One reward's move with its audit row, in its own transaction: a bulk action whose
 * tenth reward changed meanwhile still makes the other nine. */
static json_t *
move_one(struct console_req *r, int64_t id, enum reward_state to, const char *note)
{
	struct reward_job j = { .id = id, .to = to, .note = note };
	json_t *refs = NULL;
	char failed[WHY_MAX] = "", *why = j.why;
	int rc;

	if (store_console_reward_refs(r->c->store, id, &refs) != 1)
		rc = -3;
	else if (!console_rep_in_scope(&r->scope, r->cf, json_string_value(json_object_get(refs,
	    "rep_code"))))
		rc = -4;
	else
		rc = console_write_tx(r, reward_tx, &j, failed, sizeof(failed));
	json_decref(refs);
	if (rc == 1)
		return json_pack("{s:I, s:b}", "id", (json_int_t)id, "ok", 1);
	return json_pack("{s:I, s:b, s:s, s:s}", "id", (json_int_t)id, "ok", 0, "error",
	    rc == -3 ? "not_found" : rc == -4 ? "out_of_scope" : rc == 0 ? "changed" :
	    why[0] ? "refused" : "storage", "detail", why[0] ? why : rc == -3 ?
	    "no such reward" : rc == -4 ? "that reward is not in your branches" :
	    failed);
}

static void
bulk(struct console_req *r, enum reward_state to)
{
	json_t *ids = json_object_get(r->body, "ids"), *note = json_object_get(r->body, "note");
	json_t *results, *v;
	size_t i;

	if (!json_is_array(ids) || json_array_size(ids) == 0 || json_array_size(ids) > 500) {
		console_answer_error(r, 400, "bad_ids", "send {\"ids\": [1 to 500 reward ids]}");
		return;
	}
	json_array_foreach(ids, i, v)
		if (!json_is_integer(v) || json_integer_value(v) <= 0) {
			console_answer_error(r, 400, "bad_ids", "every id is a positive number");
			return;
		}
	if (note != NULL && !json_is_null(note) && (!json_is_string(note) ||
	    json_string_length(note) > 1000)) {
		console_answer_error(r, 400, "bad_note", "a note is text of at most 1000 "
		    "characters");
		return;
	}
	results = json_array();
	json_array_foreach(ids, i, v)
		json_array_append_new(results, move_one(r, json_integer_value(v), to,
		    json_is_string(note) && json_string_length(note) > 0 ?
		    json_string_value(note) : NULL));
	console_answer_json(r, 200, json_pack("{s:o}", "results", results));
}

void
console_api_rewards_approve(struct console_req *r)
{
	bulk(r, REWARD_APPROVED);
}

void
console_api_rewards_void(struct console_req *r)
{
	bulk(r, REWARD_VOIDED);
}

void
console_api_coupons(struct console_req *r)
{
	json_t *rows = NULL, *pools, *row;
	int threshold = r->cf->referral.coupon_low_stock;
	size_t i;

	if (store_console_pools(r->c->store, &rows) == -1) {
		console_answer_error(r, 503, "storage", "the coupon pools could not be read");
		return;
	}
	/* Pools the config names but nobody filled yet are the most urgent of all. */
	for (size_t c = 0; c < r->cf->n_campaigns; c++)
	for (size_t g = 0; g < r->cf->campaigns[c].n_stages; g++) {
		const char *names[2] = { r->cf->campaigns[c].stages[g].referrer.pool,
		    r->cf->campaigns[c].stages[g].referee.pool };

		for (int k = 0; k < 2; k++) {
			int found = 0;

			if (names[k] == NULL)
				continue;
			json_array_foreach(rows, i, row)
				if (strcmp(json_string_value(json_object_get(row, "pool")),
				    names[k]) == 0)
					found = 1;
			if (!found)
				json_array_append_new(rows, json_pack("{s:s, s:i, s:i, s:i}", "pool",
				    names[k], "total", 0, "used", 0, "free", 0));
		}
	}
	pools = json_array();
	json_array_foreach(rows, i, row) {
		json_int_t free_codes = json_integer_value(json_object_get(row, "free"));

		json_array_append_new(pools, json_pack("{s:O, s:O, s:O, s:I, s:i, s:b}", "pool",
		    json_object_get(row, "pool"), "total", json_object_get(row, "total"), "used",
		    json_object_get(row, "used"), "free", free_codes, "low_stock", threshold,
		    "low", free_codes < threshold));
	}
	json_decref(rows);
	console_answer_json(r, 200, json_pack("{s:o}", "pools", pools));
}

static json_t *
import_errors(const struct import *im)
{
	json_t *list = json_array();
	size_t shown = im->bad < IMPORT_SHOWN ? im->bad : IMPORT_SHOWN;

	for (size_t i = 0; i < shown; i++)
		json_array_append_new(list, json_pack("{s:I, s:s}", "line",
		    (json_int_t)im->errors[i].line, "error", im->errors[i].why));
	return list;
}

struct import_job {
	struct import		*im;
	struct import_result	 res;
};

/* The codes (import_write's own transaction), then the audit row. */
static int
import_tx(struct console_req *r, void *arg)
{
	struct import_job *j = arg;
	char *detail;

	if (import_write(r->ws, j->im, &j->res) == -1)
		return -1;
	detail = store_audit_detail(json_pack("{s:I,s:I}", "added",
	    (json_int_t)j->res.added, "known", (json_int_t)j->res.known));
	console_audit(r, "coupons_import", j->im->pool, detail);
	free(detail);
	return 0;
}

void
console_api_coupons_import(struct console_req *r)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
	size_t len = evbuffer_get_length(in);
	struct import im = { 0 };
	struct import_job job = { 0 };
	FILE *fp;

	if (!import_pool_name_ok(r->args[0])) {
		console_answer_error(r, 400, "bad_pool", "a pool's name is a-z, 0-9, '-' and '_'");
		return;
	}
	/* As shokaictl import coupons: codes for a pool no reward draws from are a
	 * mistake (a pool for a campaign not written yet is shokaictl's --new-pool). */
	if (!config_pool_named(r->cf, r->args[0])) {
		console_answer_error(r, 400, "unknown_pool", "no campaign's reward names this pool");
		return;
	}
	if (len == 0) {
		console_answer_error(r, 400, "empty_file", "the file is empty");
		return;
	}
	if ((fp = fmemopen(evbuffer_pullup(in, -1), len, "r")) == NULL) {
		console_answer_error(r, 500, "internal", "the upload could not be read");
		return;
	}
	im.pool = r->args[0];
	if (import_check(&im, r->cf, fp) == -1 || im.bad > 0) {
		json_t *j = json_pack("{s:i, s:i, s:o}", "added", 0, "duplicates", 0, "errors",
		    import_errors(&im));

		if (im.bad == 0)
			json_array_append_new(json_object_get(j, "errors"), json_pack("{s:i, s:s}",
			    "line", 0, "error", "the file could not be read"));
		console_answer_json(r, 400, j);
		goto done;
	}
	job.im = &im;
	if (console_write(r, import_tx, &job) == -1) {
		console_answer_error(r, 503, "storage", job.res.why);
		goto done;
	}
	console_answer_json(r, 200, json_pack("{s:I, s:I, s:[]}", "added",
	    (json_int_t)job.res.added, "duplicates", (json_int_t)job.res.known, "errors"));
done:
	fclose(fp);
	import_free(&im);
}
