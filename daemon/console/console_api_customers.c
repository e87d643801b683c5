/* console_api_customers.c: 顧客: customers found by name, LINE display name or code,
 * and one customer's page: rep and branch and how they were tied, friend since and
 * blocked on, the referrals they made and the one they came from, their rewards. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_api.h"
#include "console_figures.h"
#include "console_rows.h"

static const struct console_csv_col customer_cols[] = {
	{ "person", "person" }, { "code", "code" }, { "rep", "rep" }, { "branch", "branch" },
	{ "friend", "friend" }, { "followed_at", "followed_at" },
	{ "unfollowed_at", "unfollowed_at" }, { "referrals_made", "referrals_made" },
};

static json_t *
customer_json(const struct config *cf, const json_t *row)
{
	const char *channel = json_string_value(json_object_get(row, "channel"));
	const char *rep = json_string_value(json_object_get(row, "rep_code"));
	json_t *code = json_object_get(row, "code"), *fol = json_object_get(row, "followed_at");
	json_t *unf = json_object_get(row, "unfollowed_at"), *src = json_object_get(row,
	    "rep_source");

	return json_pack("{s:o, s:O, s:b, s:O, s:O, s:o, s:o, s:O, s:I}",
	    "person", console_person_named(cf, channel, json_string_value(json_object_get(row,
	    "user_id")), json_string_value(json_object_get(row, "display_name")), 0),
	    "code", code ? code : json_null(),
	    "friend", json_integer_value(json_object_get(row, "is_friend")) == 1,
	    "followed_at", fol ? fol : json_null(), "unfollowed_at", unf ? unf : json_null(),
	    "rep", console_rep_json(cf, rep), "branch", console_branch_json(cf, rep),
	    "rep_source", src ? src : json_null(),
	    "referrals_made", (json_int_t)json_integer_value(json_object_get(row,
	    "referrals_made")));
}

void
console_api_customers(struct console_req *r)
{
	struct console_filter f;
	struct console_list_query q;
	json_t *rows = NULL, *items, *row;
	int64_t total = 0;
	char *reps, *like = NULL;
	size_t i;

	if (console_filter_parse(r, &f) == -1)
		return;
	memset(&q, 0, sizeof(q));
	reps = console_scope_reps(&r->scope, r->cf, &f);
	if (f.q != NULL)
		like = xasprintf("%%%s%%", f.q);
	q.reps_json = reps;
	q.like = like;
	q.code = f.q;
	console_list_window(r, &f, &q);
	if (store_console_customers(r->c->store, &q, &rows, &total) == -1)
		console_answer_error(r, 503, "storage", "the customers could not be read");
	else {
		items = json_array();
		json_array_foreach(rows, i, row)
			json_array_append_new(items, customer_json(r->cf, row));
		console_answer_list(r, items, total, customer_cols, sizeof(customer_cols) /
		    sizeof(customer_cols[0]), "customers");
	}
	json_decref(rows);
	free(reps);
	free(like);
}

void
console_api_customer(struct console_req *r)
{
	const char *channel = r->args[0], *user = r->args[1];
	json_t *row = NULL, *made = NULL, *from = NULL, *rewards = NULL, *list, *rw, *v;
	struct console_list_query q;
	int64_t total;
	size_t i;

	if (config_line_channel(r->cf, channel) == NULL) {
		console_answer_error(r, 404, "not_found", "no such LINE channel in the config");
		return;
	}
	if (store_console_customer(r->c->store, channel, user, &row) != 1) {
		console_answer_error(r, 503, "storage", "the customer could not be read");
		return;
	}
	if (json_integer_value(json_object_get(row, "known")) == 0) {
		console_answer_error(r, 404, "not_found", "no such customer");
		goto done;
	}
	if (!console_rep_in_scope(&r->scope, r->cf, json_string_value(json_object_get(row,
	    "rep_code")))) {
		console_answer_error(r, 403, "out_of_scope", "that customer is not in your "
		    "branches");
		goto done;
	}
	memset(&q, 0, sizeof(q));
	q.user_id = user;
	q.limit = 200;
	if (store_console_referrals_of(r->c->store, channel, user, &made, &from) == -1 ||
	    store_console_rewards(r->c->store, &q, &rewards, &total) == -1) {
		console_answer_error(r, 503, "storage", "the customer could not be read");
		goto done;
	}
	list = json_array();
	json_array_foreach(made, i, v)
		json_array_append_new(list, console_referral_json(&r->scope, r->cf, v));
	rw = json_array();
	json_array_foreach(rewards, i, v)
		json_array_append_new(rw, console_reward_json(&r->scope, r->cf, v));
	console_answer_json(r, 200, json_pack("{s:o, s:o, s:o, s:o}", "customer",
	    customer_json(r->cf, row), "referrals_made", list, "referred_by", from ?
	    console_referral_json(&r->scope, r->cf, from) : json_null(), "rewards", rw));
done:
	json_decref(row);
	json_decref(made);
	json_decref(from);
	json_decref(rewards);
}
