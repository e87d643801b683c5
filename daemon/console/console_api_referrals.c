/* console_api_referrals.c: 紹介 and 審査: referral lists and pages, the moves an
 * operator makes (through the state machine, handlers/referral_operator.c), notes, and
 * the held claims waiting for a decision with their deadline and default outcome. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../handlers/handler.h"
#include "console_api.h"
#include "console_rows.h"

static const struct console_csv_col referral_cols[] = {
	{ "id", "id" }, { "state", "state_label" }, { "campaign", "campaign" },
	{ "code", "code" }, { "referrer", "referrer" }, { "partner", "partner" },
	{ "referee", "referee" }, { "rep", "rep" }, { "branch", "branch" },
	{ "claimed_at", "claimed_at" }, { "updated_at", "updated_at" },
};

static json_t *
referral_items(struct console_req *r, json_t *rows)
{
	json_t *items = json_array(), *row;
	size_t i;

	json_array_foreach(rows, i, row)
		json_array_append_new(items, console_referral_json(&r->scope, r->cf, row));
	return items;
}

void
console_api_referrals(struct console_req *r)
{
	struct console_filter f;
	struct console_list_query q;
	enum ref_state st;
	json_t *rows = NULL;
	int64_t total = 0;
	char *reps, *like = NULL;

	if (console_filter_parse(r, &f) == -1)
		return;
	if (f.state != NULL && ref_state_parse(f.state, &st) == -1) {
		console_answer_error(r, 400, "bad_state", "no such referral state");
		return;
	}
	memset(&q, 0, sizeof(q));
	reps = console_scope_reps(&r->scope, r->cf, &f);
	if (f.q != NULL)
		like = xasprintf("%%%s%%", f.q);
	q.state = f.state;
	q.campaign = f.campaign;
	q.reps_json = reps;
	q.like = like;
	q.partner = f.partner;
	console_list_window(r, &f, &q);
	if (store_console_referrals(r->c->store, &q, &rows, &total) == -1)
		console_answer_error(r, 503, "storage", "the referrals could not be read");
	else
		console_answer_list(r, referral_items(r, rows), total, referral_cols,
		    sizeof(referral_cols) / sizeof(referral_cols[0]), "referrals");
	json_decref(rows);
	free(reps);
	free(like);
}

/* Who acted, as people read it: the stored actor (friend, customer, system,
 * rep:CODE, a console login, shokaictl:USER) with the rep's name. */
static json_t *
actor_json(const struct config *cf, const char *actor)
{
	const char *kind, *name = NULL;

	if (actor == NULL || strcmp(actor, "system") == 0 || strncmp(actor, "system:", 7) == 0)
		kind = "system";	/* system:review_deadline: a default outcome */
	else if (strcmp(actor, "friend") == 0)
		kind = "friend";
	else if (strcmp(actor, "customer") == 0)
		kind = "customer";
	else if (strncmp(actor, "rep:", 4) == 0) {
		const struct config_rep *rep = config_rep(cf, actor + 4);

		kind = "rep";
		name = rep ? rep->name : actor + 4;
	} else {
		kind = "operator";
		name = strncmp(actor, "operator:", 9) == 0 ? actor + 9 :
		    strcmp(actor, "operator") == 0 ? NULL : actor;
	}
	return json_pack("{s:s, s:s?}", "kind", kind, "name", name);
}

/* The referral, 404 / 403 answered when it is not there or not the caller's. */
static json_t *
referral_row(struct console_req *r, int64_t id)
{
	json_t *row = NULL;
	int rc = store_console_referral(r->c->store, id, &row);

	if (rc == -1)
		console_answer_error(r, 503, "storage", "the referral could not be read");
	else if (rc == 0)
		console_answer_error(r, 404, "not_found", "no such referral");
	else if (!console_rep_in_scope(&r->scope, r->cf, json_string_value(json_object_get(row,
	    "rep_code")))) {
		console_answer_error(r, 403, "out_of_scope", "that referral is not in your "
		    "branches");
		json_decref(row);
		return NULL;
	}
	return rc == 1 ? row : NULL;
}

static void
answer_detail(struct console_req *r, int64_t id)
{
	json_t *row = referral_row(r, id), *events = NULL, *notes = NULL, *rewards = NULL;
	json_t *moves, *list, *e;
	struct console_list_query q;
	enum ref_state from;
	int64_t total;
	size_t i;

	if (row == NULL)
		return;
	memset(&q, 0, sizeof(q));
	q.id = id;
	if (store_console_timeline(r->c->store, id, &events) == -1 ||
	    store_console_notes(r->c->store, id, &notes) == -1 ||
	    store_console_rewards(r->c->store, &q, &rewards, &total) == -1) {
		console_answer_error(r, 503, "storage", "the referral could not be read");
		goto done;
	}
	moves = json_array();
	if (r->scope.role != ROLE_VIEWER &&
	    ref_state_parse(json_string_value(json_object_get(row, "state")), &from) == 0)
		for (int to = 0; to < REF_STATE_COUNT; to++) {
			char why[128];

			if (ref_transition_check(from, (enum ref_state)to, ACTOR_OPERATOR, why,
			    sizeof(why)) == 0)
				json_array_append_new(moves, json_pack("{s:s, s:s}", "to",
				    ref_state_name((enum ref_state)to), "label",
				    config_state_label(r->cf, (enum ref_state)to)));
		}
	list = json_array();
	json_array_foreach(events, i, e) {
		json_t *reason = json_object_get(e, "reason");

		json_array_append_new(list, json_pack("{s:O, s:O, s:O, s:o}", "at",
		    json_object_get(e, "at"), "type", json_object_get(e, "type"), "reason",
		    reason ? reason : json_null(), "actor", actor_json(r->cf,
		    json_string_value(json_object_get(e, "actor")))));
	}
	{
		json_t *rw = json_array();

		json_array_foreach(rewards, i, e)
			json_array_append_new(rw, console_reward_json(&r->scope, r->cf, e));
		console_answer_json(r, 200, json_pack("{s:o, s:o, s:o, s:o, s:O}", "referral",
		    console_referral_json(&r->scope, r->cf, row), "events", list, "moves",
		    moves, "rewards", rw, "notes", notes));
	}
done:
	json_decref(row);
	json_decref(events);
	json_decref(notes);
	json_decref(rewards);
}

void
console_api_referral(struct console_req *r)
{
	int64_t id = console_arg_id(r, 0);

	if (id > 0)
		answer_detail(r, id);
}

static int
add_note(struct console_req *r, int64_t id, const char *text)
{
	struct store_arg a[] = { SARG_INT(id), SARG_INT(r->now_ms), SARG_TEXT(r->acct.login),
	    SARG_TEXT(text) };

	return store_run(r->ws, "INSERT INTO referral_notes(referral_id, at, author, "
	    "text) VALUES (?1, ?2, ?3, ?4)", a, 4) == 1 ? 0 : -1;
}

static const char *
note_of(struct console_req *r, int *bad)
{
	json_t *n = json_object_get(r->body, "note");

	*bad = 0;
	if (n == NULL || json_is_null(n))
		return NULL;
	if (!json_is_string(n) || json_string_length(n) > 1000 ||
	    !utf8_valid(json_string_value(n), json_string_length(n))) {
		*bad = 1;
		return NULL;
	}
	return json_string_length(n) > 0 ? json_string_value(n) : NULL;
}

struct move_job {
	int64_t		 id;
	enum ref_state	 to;
	const char	*action, *note, *target, *detail;
	char		 why[WHY_MAX];
};

static int
move_tx(struct console_req *r, void *arg)
{
	struct move_job *j = arg;
	struct console_operator who;
	struct handler_ctx hc;
	int rc;

	console_operator_ctx(r, &who, &hc);
	rc = referral_operator_move(&hc, j->id, j->to, j->why, sizeof(j->why));
	if (rc == 1 && ((j->note != NULL && add_note(r, j->id, j->note) == -1) ||
	    console_audit(r, j->action, j->target, j->detail) == -1))
		rc = -1;
	return rc;
}

/* One move in one transaction with its audit row and note; answers the new page. */
static void
move(struct console_req *r, int64_t id, enum ref_state to, const char *action)
{
	json_t *row = referral_row(r, id);
	struct move_job j = { .id = id, .to = to, .action = action };
	char target[32], why[WHY_MAX], *detail;
	const char *note;
	int bad, rc;

	if (row == NULL)
		return;
	json_decref(row);
	note = note_of(r, &bad);
	if (bad) {
		console_answer_error(r, 400, "bad_note", "a note is text of at most 1000 "
		    "characters");
		return;
	}
	snprintf(target, sizeof(target), "referral:%lld", (long long)id);
	j.note = note;
	j.target = target;
	detail = store_audit_detail(json_pack("{s:s,s:b}", "to", ref_state_name(to), "note",
	    note != NULL));
	j.detail = detail;
	rc = console_write_tx(r, move_tx, &j, why, sizeof(why));
	free(detail);
	if (rc == 1)
		answer_detail(r, id);
	else if (rc == -2)
		console_answer_error(r, 409, "refused", j.why);
	else if (rc == 0)
		console_answer_error(r, 409, "changed", j.why);
	else
		console_answer_error(r, 503, "storage", j.why[0] ? j.why : why);
}

void
console_api_referral_move(struct console_req *r)
{
	int64_t id = console_arg_id(r, 0);
	const char *to = json_string_value(json_object_get(r->body, "to"));
	enum ref_state st;

	if (id <= 0)
		return;
	if (to == NULL || ref_state_parse(to, &st) == -1) {
		console_answer_error(r, 400, "bad_state", "send {\"to\": STATE} with a "
		    "referral state");
		return;
	}
	move(r, id, st, "referral_state");
}

static int
note_tx(struct console_req *r, void *arg)
{
	struct move_job *j = arg;

	return add_note(r, j->id, j->note) == 0 &&
	    console_audit(r, "referral_note", j->target, NULL) == 0 ? 1 : -1;
}

void
console_api_referral_note(struct console_req *r)
{
	int64_t id = console_arg_id(r, 0);
	json_t *row, *t = json_object_get(r->body, "text");
	struct move_job j = { 0 };
	char target[32], why[WHY_MAX];

	if (id <= 0)
		return;
	if (!json_is_string(t) || json_string_length(t) == 0 ||
	    json_string_length(t) > 1000 || !utf8_valid(json_string_value(t),
	    json_string_length(t))) {
		console_answer_error(r, 400, "bad_note", "send {\"text\"}: 1 to 1000 "
		    "characters");
		return;
	}
	if ((row = referral_row(r, id)) == NULL)
		return;
	json_decref(row);
	snprintf(target, sizeof(target), "referral:%lld", (long long)id);
	j.id = id;
	j.note = json_string_value(t);
	j.target = target;
	if (console_write_tx(r, note_tx, &j, why, sizeof(why)) != 1) {
		console_answer_error(r, 503, "storage", "the note was not kept");
		return;
	}
	console_answer_json(r, 201, json_pack("{s:I, s:s, s:O}", "at", (json_int_t)r->now_ms,
	    "author", r->acct.login, "text", t));
}

static const char *
default_outcome(const struct config_campaign *cp)
{
	if (cp == NULL)
		return "none";
	return cp->review_default == REVIEW_APPROVE ? "approve" :
	    cp->review_default == REVIEW_REJECT ? "reject" : "none";
}

static const struct console_csv_col review_cols[] = {
	{ "id", "referral/id" }, { "reason", "reason" }, { "code", "referral/code" },
	{ "referrer", "referral/referrer" }, { "referee", "referral/referee" },
	{ "rep", "referral/rep" }, { "held_at", "held_at" }, { "deadline", "deadline" },
	{ "default_outcome", "default_outcome" },
};

/* Held claims (velocity) and referrals a rep flagged suspicious, oldest first. Only a
 * held claim has a deadline and a default outcome (the rewards tick applies it); a
 * flagged one waits for an operator. */
void
console_api_review(struct console_req *r)
{
	struct console_filter f;
	json_t *rows = NULL, *items, *row;
	char *reps;
	size_t i;

	if (console_filter_parse(r, &f) == -1)
		return;
	reps = console_scope_reps(&r->scope, r->cf, &f);
	if (store_console_review(r->c->store, f.campaign, reps, &rows) == -1) {
		console_answer_error(r, 503, "storage", "the review queue could not be read");
		goto done;
	}
	items = json_array();
	json_array_foreach(rows, i, row) {
		const struct config_campaign *cp = config_campaign(r->cf,
		    json_string_value(json_object_get(row, "campaign")));
		int held = strcmp(json_string_value(json_object_get(row, "state")), "held") == 0;
		json_t *at = json_object_get(row, "review_at");
		int64_t since = json_is_integer(at) ? json_integer_value(at) :
		    json_integer_value(json_object_get(row, "claimed_at"));
		const char *reason = held ? json_string_value(json_object_get(row,
		    "held_reason")) : "flagged_by_rep";

		/* A typed name waits for a person: no deadline decides it
		 * (referral_review_expired). */
		if (held && reason != NULL && strcmp(reason, "typed_name") == 0)
			held = 0;

		json_array_append_new(items, json_pack("{s:o, s:s, s:I, s:o, s:s}", "referral",
		    console_referral_json(&r->scope, r->cf, row), "reason", reason ? reason :
		    "review", "held_at", (json_int_t)since, "deadline", held && cp ?
		    json_integer(since + cp->review_within_ms) : json_null(), "default_outcome",
		    held ? default_outcome(cp) : "none"));
	}
	console_answer_list(r, items, -1, review_cols, sizeof(review_cols) /
	    sizeof(review_cols[0]), "review");
done:
	json_decref(rows);
	free(reps);
}

void
console_api_review_decide(struct console_req *r)
{
	int64_t id = console_arg_id(r, 0);
	const char *d = json_string_value(json_object_get(r->body, "decision"));

	if (id <= 0)
		return;
	if (d == NULL || (strcmp(d, "approve") != 0 && strcmp(d, "reject") != 0)) {
		console_answer_error(r, 400, "bad_decision", "send {\"decision\": \"approve\" "
		    "or \"reject\"}");
		return;
	}
	move(r, id, strcmp(d, "approve") == 0 ? REF_CLAIMED : REF_REJECTED,
	    strcmp(d, "approve") == 0 ? "review_approve" : "review_reject");
}

static const struct console_csv_col typed_cols[] = {
	{ "channel", "channel" }, { "user_id", "user_id" }, { "name", "display_name" },
	{ "typed", "typed" }, { "typed_at", "typed_at" }, { "matches", "matches" },
};

/* Friends asked who referred them (handlers/referrer_ask.c) whose typed name matched
 * no customer of the campaign, or several: an operator decides whom they meant. One
 * match is a held claim and is in the review queue above. No rep is known yet, so
 * only whole-company roles see them. */
void
console_api_review_typed(struct console_req *r)
{
	json_t *rows = NULL;

	if (r->scope.role == ROLE_MANAGER) {
		console_answer_list(r, json_array(), 0, typed_cols, sizeof(typed_cols) /
		    sizeof(typed_cols[0]), "review-typed");
		return;
	}
	if (store_asks_typed(r->c->store, &rows) == -1) {
		console_answer_error(r, 503, "storage", "the typed names could not be read");
		return;
	}
	console_answer_list(r, rows, -1, typed_cols, sizeof(typed_cols) /
	    sizeof(typed_cols[0]), "review-typed");
}

struct typed_job {
	const char	*channel, *user, *code, *target;
	char		 why[WHY_MAX];
};

static int
typed_tx(struct console_req *r, void *arg)
{
	struct typed_job *j = arg;
	struct console_operator who;
	struct handler_ctx hc;
	int rc;

	console_operator_ctx(r, &who, &hc);
	rc = referrer_ask_decide(&hc, j->channel, j->user, j->code, j->why, sizeof(j->why));
	if (rc == 1 && console_audit(r, j->code ? "review_typed_code" :
	    "review_typed_dismiss", j->target, j->code) == -1)
		rc = -1;
	return rc;
}

/* {"code": CODE}: the operator found the referrer; a claim on the code by the claim
 * rules, let through at once. {"decision": "dismiss"}: nobody is credited. */
void
console_api_review_typed_decide(struct console_req *r)
{
	const char *channel = r->args[0], *user = r->args[1];
	const char *code = json_string_value(json_object_get(r->body, "code"));
	const char *d = json_string_value(json_object_get(r->body, "decision"));
	struct typed_job j = { .channel = channel, .user = user, .code = code };
	char why[WHY_MAX], target[160];
	int rc;

	if (r->scope.role == ROLE_MANAGER) {
		console_answer_error(r, 403, "out_of_scope", "a typed name has no branch yet: an "
		    "admin decides it");
		return;
	}
	if ((code == NULL) == (d == NULL || strcmp(d, "dismiss") != 0)) {
		console_answer_error(r, 400, "bad_decision", "send {\"code\": CODE} (the "
		    "referrer's code) or {\"decision\": \"dismiss\"}");
		return;
	}
	if (config_line_channel(r->cf, channel) == NULL) {
		console_answer_error(r, 404, "not_found", "no such LINE channel in the config");
		return;
	}
	snprintf(target, sizeof(target), "typed:%s/%s", channel, user);
	j.target = target;
	rc = console_write_tx(r, typed_tx, &j, why, sizeof(why));
	if (rc == 1)
		console_answer_json(r, 200, json_pack("{s:s}", "state", "decided"));
	else if (rc == -2)
		console_answer_error(r, 409, "refused", j.why);
	else
		console_answer_error(r, 503, "storage", j.why[0] ? j.why : why);
}
