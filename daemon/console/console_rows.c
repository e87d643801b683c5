/* console_rows.c: database rows into the API's objects (console/openapi.yaml): people
 * by name (a forgotten person by pseudonym, a friend masked for everyone but admins
 * where the campaign says so), referrals, rewards; and a caller's scope as the rep codes
 * the store's queries filter on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_figures.h"
#include "console_rows.h"

static const char *
str(const json_t *row, const char *key)
{
	return json_string_value(json_object_get(row, key));
}

json_t *
console_rep_json(const struct config *cf, const char *code)
{
	const struct config_rep *rep = code ? config_rep(cf, code) : NULL;

	if (code == NULL)
		return json_null();
	return json_pack("{s:s, s:s}", "code", code, "name", rep ? rep->name : code);
}

json_t *
console_branch_json(const struct config *cf, const char *rep_code)
{
	const struct config_rep *rep = rep_code ? config_rep(cf, rep_code) : NULL;

	if (rep == NULL || rep->branch == NULL)
		return json_null();
	return json_pack("{s:s, s:s}", "code", rep->branch->code, "name", rep->branch->name);
}

json_t *
console_referral_json(const struct console_scope *scope, const struct config *cf,
    const json_t *row)
{
	const char *state = str(row, "state"), *channel = str(row, "channel");

	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:b, s:o, s:o, s:o, s:I, s:I}",
	    "id", (json_int_t)json_integer_value(json_object_get(row, "id")),
	    "state", state, "state_label", config_state_words(cf, state),
	    "campaign", str(row, "campaign"), "code", str(row, "code"),
	    "referrer", console_person_named(cf, channel, str(row, "referrer_id"),
	    str(row, "referrer_name"), 0),
	    /* the referrer is a partner (tagged partner): shown and filtered apart */
	    "partner", json_integer_value(json_object_get(row, "referrer_partner")) != 0,
	    "referee", console_person_named(cf, channel, str(row, "referee_id"),
	    str(row, "referee_name"), console_friend_masked(scope, cf, str(row, "campaign"))),
	    "rep", console_rep_json(cf, str(row, "rep_code")),
	    "branch", console_branch_json(cf, str(row, "rep_code")),
	    "claimed_at", (json_int_t)json_integer_value(json_object_get(row, "claimed_at")),
	    "updated_at", (json_int_t)json_integer_value(json_object_get(row, "updated_at")));
}

json_t *
console_reward_json(const struct console_scope *scope, const struct config *cf,
    const json_t *row)
{
	const char *side = str(row, "side");
	json_t *issued = json_object_get(row, "issued_at"), *note = json_object_get(row, "note");

	return json_pack("{s:I, s:I, s:s, s:o, s:s, s:s, s:s, s:I, s:I, s:O, s:O, s:o}",
	    "id", (json_int_t)json_integer_value(json_object_get(row, "id")),
	    "referral_id", (json_int_t)json_integer_value(json_object_get(row, "referral_id")),
	    "side", side,
	    "person", console_person_named(cf, str(row, "channel"), str(row, "user_id"),
	    str(row, "display_name"), strcmp(side, "referee") == 0 &&
	    console_friend_masked(scope, cf, str(row, "campaign"))),
	    "campaign", str(row, "campaign"), "pool", str(row, "pool"),
	    "state", str(row, "state"),
	    "due_at", (json_int_t)json_integer_value(json_object_get(row, "due_at")),
	    "approve_after", (json_int_t)json_integer_value(json_object_get(row,
	    "approve_after")),
	    "issued_at", issued ? issued : json_null(), "note", note ? note : json_null(),
	    "branch", console_branch_json(cf, str(row, "rep_code")));
}

/* Rep codes as a JSON array text for the store's json_each, or NULL for no limit. */
char *
console_scope_reps(const struct console_scope *scope, const struct config *cf,
    const struct console_filter *f)
{
	json_t *list;
	char *text;

	if (f != NULL && f->rep != NULL) {
		list = json_pack("[s]", f->rep);
		text = json_dumps(list, JSON_COMPACT);
		json_decref(list);
		return text;
	}
	if ((f == NULL || f->branch == NULL) && scope->role != ROLE_MANAGER)
		return NULL;
	list = json_array();
	for (size_t i = 0; i < cf->n_reps; i++) {
		const char *b = cf->reps[i].branch ? cf->reps[i].branch->code : NULL;

		if (f != NULL && f->branch != NULL && (b == NULL || strcmp(b, f->branch) != 0))
			continue;
		if (!console_scope_has(scope, b))
			continue;
		json_array_append_new(list, json_string(cf->reps[i].code));
	}
	text = json_dumps(list, JSON_COMPACT);
	json_decref(list);
	return text;
}

int
console_rep_in_scope(const struct console_scope *scope, const struct config *cf,
    const char *rep_code)
{
	const struct config_rep *rep = rep_code ? config_rep(cf, rep_code) : NULL;

	return console_scope_has(scope, rep && rep->branch ? rep->branch->code : NULL);
}

/* A list's period (only when the request named one: lists default to everything), and
 * its page; an export takes every row. */
void
console_list_window(struct console_req *r, const struct console_filter *f,
    struct console_list_query *q)
{
	/* The dates passed console_filter_parse, which read them so. */
	if ((console_query(r, "from") != NULL || console_query(r, "to") != NULL) &&
	    (local_midnight(f->from, 0, &q->from_ms) == -1 ||
	    local_midnight(f->to, 1, &q->to_ms) == -1))
		q->from_ms = q->to_ms = 0;
	q->limit = console_query(r, "format") != NULL ? 100000 : f->limit;
	q->offset = f->offset;
}
