/* console_api_conversations.c: 会話: the customers waiting for a person (open handoffs,
 * how long each has waited, who was told, whether it went to the managers) and one
 * customer's conversation as a chat thread, where people who act answer (a push under
 * their name, through the outbox), mark it resolved, and record that they saw it.
 * Managers see the customers of their branches' reps only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_api.h"
#include "console_figures.h"
#include "console_rows.h"
#include "../../handlers/handler.h"

#define PAGE_MESSAGES	100
#define REPLY_MAX_UNITS	5000	/* LINE's limit for a text message, in UTF-16 units */

static json_t *
handoff_json(const struct config *cf, const json_t *row, int64_t now)
{
	const char *channel = json_string_value(json_object_get(row, "channel"));
	const char *rep = json_string_value(json_object_get(row, "rep_code"));
	const char *state = json_string_value(json_object_get(row, "state"));
	int64_t opened = json_integer_value(json_object_get(row, "opened_at"));
	int64_t closed = json_integer_value(json_object_get(row, "resolved_at"));
	json_t *out = json_object(), *v;
	static const char *const copied[] = { "id", "state", "reason", "notified",
	    "opened_at", "quiet_until", "escalate_at", "escalated_at", "seen_at", "seen_by",
	    "answered_at", "answered_by", "resolved_at", "resolved_by", "last_text",
	    "last_at" };

	for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++) {
		v = json_object_get(row, copied[i]);
		json_object_set(out, copied[i], v ? v : json_null());
	}
	json_object_set_new(out, "channel", json_string(channel));
	json_object_set_new(out, "person", console_person_named(cf, channel,
	    json_string_value(json_object_get(row, "user_id")),
	    json_string_value(json_object_get(row, "display_name")), 0));
	json_object_set_new(out, "rep", console_rep_json(cf, rep));
	json_object_set_new(out, "branch", console_branch_json(cf, rep));
	/* How long the customer has waited, or waited in all. */
	json_object_set_new(out, "waited_s", json_integer(((strcmp(state, "open") == 0 ||
	    closed == 0 ? now : closed) - opened) / 1000));
	return out;
}

void
console_api_conversations(struct console_req *r)
{
	const char *state = console_query(r, "state");
	struct console_filter f;
	json_t *rows = NULL, *items, *row;
	char *reps;
	size_t i;

	if (state != NULL && strcmp(state, "open") != 0 && strcmp(state, "closed") != 0) {
		console_answer_error(r, 400, "bad_state", "state is open or closed");
		return;
	}
	memset(&f, 0, sizeof(f));
	reps = console_scope_reps(&r->scope, r->cf, &f);
	if (store_console_handoffs(r->c->store, state == NULL || strcmp(state, "open") == 0,
	    reps, 200, &rows) == -1)
		console_answer_error(r, 503, "storage", "the handoffs could not be read");
	else {
		items = json_array();
		json_array_foreach(rows, i, row)
			json_array_append_new(items, handoff_json(r->cf, row, r->now_ms));
		console_answer_json(r, 200, json_pack("{s:o}", "items", items));
	}
	json_decref(rows);
	free(reps);
}

/* The customer of the path, known and in the caller's scope: 1, or answered and 0. */
static int
customer_in_scope(struct console_req *r, const char *channel, const char *user,
    json_t **customer)
{
	*customer = NULL;
	if (config_line_channel(r->cf, channel) == NULL) {
		console_answer_error(r, 404, "not_found", "no such LINE channel in the config");
		return 0;
	}
	if (store_console_customer(r->c->store, channel, user, customer) != 1) {
		console_answer_error(r, 503, "storage", "the customer could not be read");
		return 0;
	}
	if (json_integer_value(json_object_get(*customer, "known")) == 0) {
		console_answer_error(r, 404, "not_found", "no such customer");
		return 0;
	}
	if (!console_rep_in_scope(&r->scope, r->cf, json_string_value(json_object_get(
	    *customer, "rep_code")))) {
		console_answer_error(r, 403, "out_of_scope", "that customer is not in your "
		    "branches");
		return 0;
	}
	return 1;
}

/* A message of the log for the thread: the bot's and people's messages as LINE got
 * them (the page renders text, buttons and the invite), the customer's with what kind
 * they were. */
static json_t *
message_json(const json_t *row)
{
	json_t *out = json_object(), *v;
	const char *body = json_string_value(json_object_get(row, "body"));
	static const char *const copied[] = { "id", "at", "direction", "kind", "text",
	    "author", "author_name", "read_at", "send_state", "send_error" };

	for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++) {
		v = json_object_get(row, copied[i]);
		json_object_set(out, copied[i], v ? v : json_null());
	}
	v = body != NULL ? json_loads(body, 0, NULL) : NULL;
	if (v != NULL)
		json_object_del(v, "markAsReadToken");	/* LINE's, not the page's */
	json_object_set_new(out, strcmp(json_string_value(json_object_get(row, "direction")),
	    "out") == 0 ? "messages" : "meta", v ? v : json_null());
	return out;
}

/* An announcement the customer was sent, as a message of the thread: its messages as
 * the config has them now (null when it left the config). */
static json_t *
announced_json(const struct config *cf, const json_t *row)
{
	const struct config_announcement *an = config_announcement(cf,
	    json_string_value(json_object_get(row, "config_id")));
	json_t *msgs = an != NULL ? config_announce_messages(cf, an) : NULL;

	return json_pack("{s:i, s:O, s:s, s:s, s:O, s:n, s:n, s:n, s:O, s:n, s:o, s:O}",
	    "id", 0, "at", json_object_get(row, "started_at"), "direction", "out",
	    "kind", "announcement", "text", json_object_get(row, "title"), "author",
	    "author_name", "read_at", "send_state", json_object_get(row, "state"),
	    "send_error", "messages", msgs ? msgs : json_null(), "announcement_id",
	    json_object_get(row, "id"));
}

/* The page's messages with the announcements sent within its time span between them
 * (the newest page reaches to now). */
static json_t *
thread(struct console_req *r, const char *channel, const char *user, json_t *rows,
    int more, int newest)
{
	json_t *out = json_array(), *sent = NULL, *row;
	size_t i, next = 0, from = more ? 1 : 0;
	int64_t lo = 0, hi = INT64_MAX;

	if (json_array_size(rows) > from)
		lo = more ? json_integer_value(json_object_get(json_array_get(rows, from), "at")) :
		    0;
	if (!newest && json_array_size(rows) > 0)
		hi = json_integer_value(json_object_get(json_array_get(rows,
		    json_array_size(rows) - 1), "at"));
	if (store_console_announced(r->c->store, channel, user, lo, hi, &sent) == -1)
		sent = json_array();	/* the thread without them beats no thread */
	for (i = from; i < json_array_size(rows); i++) {
		row = json_array_get(rows, i);
		while (next < json_array_size(sent) && json_integer_value(json_object_get(
		    json_array_get(sent, next), "started_at")) < json_integer_value(
		    json_object_get(row, "at")))
			json_array_append_new(out, announced_json(r->cf, json_array_get(sent,
			    next++)));
		json_array_append_new(out, message_json(row));
	}
	while (next < json_array_size(sent))
		json_array_append_new(out, announced_json(r->cf, json_array_get(sent, next++)));
	json_decref(sent);
	return out;
}

static void
answer_conversation(struct console_req *r, const char *channel, const char *user,
    json_t *customer, int64_t before)
{
	const char *rep = json_string_value(json_object_get(customer, "rep_code"));
	json_t *rows = NULL, *handoff = NULL, *messages;
	int can_reply;

	if (store_console_conversation(r->c->store, channel, user, before, PAGE_MESSAGES + 1,
	    &rows) == -1 || store_handoff_get(r->c->store, channel, user, 0, &handoff) == -1) {
		console_answer_error(r, 503, "storage", "the conversation could not be read");
		goto done;
	}
	/* One row more than a page was read: when it came, there are older ones. */
	messages = thread(r, channel, user, rows, json_array_size(rows) > PAGE_MESSAGES,
	    before == 0);
	can_reply = r->scope.role != ROLE_VIEWER && !r->via_token && !r->cf->handoff.line_chat;
	console_answer_json(r, 200, json_pack("{s:o, s:s, s:o, s:o, s:o, s:o, s:b, s:b, s:b}",
	    "person", console_person_named(r->cf, channel, user, json_string_value(
	    json_object_get(customer, "display_name")), 0), "channel", channel,
	    "rep", console_rep_json(r->cf, rep), "branch", console_branch_json(r->cf, rep),
	    "handoff", handoff ? handoff_json(r->cf, handoff, r->now_ms) : json_null(),
	    "messages", messages,
	    "more", json_array_size(rows) > PAGE_MESSAGES, "can_reply", can_reply,
	    "line_chat", r->cf->handoff.line_chat));
done:
	json_decref(rows);
	json_decref(handoff);
}

void
console_api_conversation(struct console_req *r)
{
	const char *before = console_query(r, "before");
	json_t *customer;
	char *end;
	long long b = before ? strtoll(before, &end, 10) : 0;

	if (before != NULL && (*end != '\0' || b <= 0)) {
		console_answer_error(r, 400, "bad_before", "before is a message id");
		return;
	}
	if (customer_in_scope(r, r->args[0], r->args[1], &customer))
		answer_conversation(r, r->args[0], r->args[1], customer, b);
	json_decref(customer);
}

/* A person's action on a conversation, as the handlers run it. */
enum act { ACT_REPLY, ACT_RESOLVE, ACT_SEEN };
struct act_job {
	enum act	 what;
	const char	*text;		/* ACT_REPLY */
	char		 why[WHY_MAX];
};

/* In one transaction with its audit row: 1 done (committed), 0 nothing to do (the
 * customer was not waiting), -1. ACT_SEEN is audited when it changed something: every
 * look would bury the log. */
static int
act_tx(struct console_req *r, void *arg)
{
	struct act_job *j = arg;
	struct console_operator who;
	struct handler_ctx hc;
	const char *channel = r->args[0], *user = r->args[1], *action = NULL;
	char target[160];
	int rc = -1;

	console_operator_ctx(r, &who, &hc);
	switch (j->what) {
	case ACT_REPLY:
		rc = handoff_reply(&hc, channel, user, j->text, r->acct.login, r->acct.name);
		action = "conversation_reply";
		break;
	case ACT_RESOLVE:
		if ((rc = handoff_close(&hc, channel, user, hc.operator_name)) == 0)
			return 0;
		action = "handoff_resolve";
		break;
	case ACT_SEEN:
		rc = handoff_seen(&hc, channel, user, hc.operator_name);
		action = rc == 1 ? "conversation_seen" : NULL;
		break;
	}
	if (hc.error != NULL)
		snprintf(j->why, sizeof(j->why), "%s", hc.error);
	snprintf(target, sizeof(target), "customer:%s/%s", channel, user);
	if (rc == -1 || (action != NULL && console_audit(r, action, target, NULL) == -1))
		return -1;
	return 1;
}

/* The action on a customer in scope; answers the conversation as it is now. */
static void
act(struct console_req *r, struct act_job *j)
{
	json_t *customer = NULL;
	char why[WHY_MAX];
	int rc;

	if (!customer_in_scope(r, r->args[0], r->args[1], &customer))
		goto done;
	rc = console_write_tx(r, act_tx, j, why, sizeof(why));
	if (rc == 1)
		answer_conversation(r, r->args[0], r->args[1], customer, 0);
	else if (rc == 0)
		console_answer_error(r, 409, "not_waiting", "the customer is not waiting for "
		    "a person");
	else
		console_answer_error(r, 503, "storage", j->why[0] ? j->why : why);
done:
	json_decref(customer);
}

void
console_api_conversation_reply(struct console_req *r)
{
	json_t *t = json_object_get(r->body, "text");
	struct act_job j = { .what = ACT_REPLY, .text = json_string_value(t) };
	size_t units;

	if (j.text == NULL || !utf8_valid(j.text, json_string_length(t)) ||
	    strlen(j.text) != json_string_length(t) || (units = utf16_units(j.text)) == 0 ||
	    units > REPLY_MAX_UNITS) {
		console_answer_error(r, 400, "bad_text", "send {\"text\": TEXT}: 1 to 5000 "
		    "characters");
		return;
	}
	if (r->cf->handoff.line_chat) {
		console_answer_error(r, 409, "line_chat", "handoff.line_chat: people answer in "
		    "LINE Official Account Manager's chat");
		return;
	}
	act(r, &j);
}

void
console_api_conversation_resolve(struct console_req *r)
{
	struct act_job j = { .what = ACT_RESOLVE };

	act(r, &j);
}

void
console_api_conversation_seen(struct console_req *r)
{
	struct act_job j = { .what = ACT_SEEN };

	act(r, &j);
}
