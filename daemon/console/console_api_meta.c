/* console_api_meta.c: what the pages' selectors offer (campaigns, the caller's
 * branches and reps, the state labels of the config's wording), the accounts and the
 * audit log (admins). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../handlers/handler.h"
#include "console_api.h"
#include "console_rows.h"

static json_t *
me_json(const struct console_req *r)
{
	json_t *branches = json_array();

	for (size_t i = 0; i < r->scope.n_branches; i++)
		json_array_append_new(branches, json_string(r->scope.branches[i]));
	return json_pack("{s:s, s:s, s:s, s:o, s:b}", "login", r->acct.login, "name",
	    r->acct.name, "role", r->acct.role, "branches", branches, "disabled", 0);
}

void
console_api_meta(struct console_req *r)
{
	const struct config *cf = r->cf;
	json_t *campaigns = json_array(), *branches = json_array(), *reps = json_array();
	json_t *states = json_array(), *rstates = json_array(), *reasons = json_array();
	time_t now = time(NULL);
	struct tm tm;
	char today[11];

	for (size_t i = 0; i < cf->n_campaigns; i++)
		json_array_append_new(campaigns, json_pack("{s:s, s:s, s:s, s:s}", "id",
		    cf->campaigns[i].id, "name", cf->campaigns[i].name ? cf->campaigns[i].name :
		    cf->campaigns[i].id, "starts", cf->campaigns[i].starts, "ends",
		    cf->campaigns[i].ends));
	for (size_t i = 0; i < cf->n_branches; i++)
		if (console_scope_has(&r->scope, cf->branches[i].code))
			json_array_append_new(branches, json_pack("{s:s, s:s, s:o}", "code",
			    cf->branches[i].code, "name", cf->branches[i].name, "monthly_target",
			    cf->branches[i].monthly_target > 0 ?
			    json_integer(cf->branches[i].monthly_target) : json_null()));
	for (size_t i = 0; i < cf->n_reps; i++) {
		const char *b = cf->reps[i].branch ? cf->reps[i].branch->code : NULL;

		if (console_scope_has(&r->scope, b))
			json_array_append_new(reps, json_pack("{s:s, s:s, s:s?}", "code",
			    cf->reps[i].code, "name", cf->reps[i].name, "branch", b));
	}
	for (int s = 0; s < REF_STATE_COUNT; s++)
		json_array_append_new(states, json_pack("{s:s, s:s}", "id",
		    ref_state_name((enum ref_state)s), "label",
		    config_state_label(cf, (enum ref_state)s)));
	for (int s = 0; s < REWARD_STATE_COUNT; s++)
		json_array_append_new(rstates, json_string(reward_state_name((enum reward_state)s)));
	for (size_t i = 0; i < CLAIM_REASON_COUNT; i++)
		json_array_append_new(reasons, json_string(claim_rules[i].reason));
	localtime_r(&now, &tm);
	strftime(today, sizeof(today), "%Y-%m-%d", &tm);
	console_answer_json(r, 200, json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, "
	    "s:o}", "company_name", cf->company_name ? cf->company_name : "", "timezone",
	    cf->timezone, "today", today, "user", me_json(r), "campaigns", campaigns,
	    "branches", branches, "reps", reps, "states", states, "reward_states", rstates,
	    "reasons", reasons));
}

void
console_api_users(struct console_req *r)
{
	json_t *rows = NULL, *items, *row;
	size_t i;

	if (store_console_accounts(r->c->store, &rows) == -1) {
		console_answer_error(r, 503, "storage", "the accounts could not be read");
		return;
	}
	items = json_array();
	json_array_foreach(rows, i, row) {
		json_t *branches = json_array();
		char *list = xstrdup(json_string_value(json_object_get(row, "branches"))),
		    *save = NULL, *b;

		for (b = strtok_r(list, ",", &save); b; b = strtok_r(NULL, ",", &save))
			json_array_append_new(branches, json_string(b));
		free(list);
		json_array_append_new(items, json_pack("{s:O, s:O, s:O, s:o, s:b, s:O}", "login",
		    json_object_get(row, "login"), "name", json_object_get(row, "name"), "role",
		    json_object_get(row, "role"), "branches", branches, "disabled",
		    (int)json_integer_value(json_object_get(row, "disabled")), "last_login_at",
		    json_object_get(row, "last_login_at")));
	}
	json_decref(rows);
	console_answer_json(r, 200, json_pack("{s:o}", "items", items));
}

/* The export as the page shows it: the action's label and the detail in words. */
static const struct console_csv_col audit_cols[] = {
	{ "id", "id" }, { "at", "at" }, { "actor", "actor" }, { "action", "action_words" },
	{ "target", "target_words" }, { "detail", "detail_words" }, { "client", "client" },
};

/* Each row also as an operator reads it (console_wording.c): the action, the target
 * (a person by name, with the Person for a link) and the detail. */
static void
add_words(const struct console_req *r, json_t *rows)
{
	size_t i;
	json_t *row;

	json_array_foreach(rows, i, row) {
		const char *action = json_string_value(json_object_get(row, "action"));
		char *detail = console_audit_detail_words(r->c->text, r->cf, action,
		    json_string_value(json_object_get(row, "detail")));
		json_t *person;
		char *target = console_audit_target_words(r->c->text, r->cf,
		    json_string_value(json_object_get(row, "target")),
		    json_string_value(json_object_get(row, "target_name")), &person);

		json_object_set_new(row, "action_words",
		    json_string(console_audit_action_words(r->c->text, action)));
		json_object_set_new(row, "detail_words", json_string(detail));
		json_object_set_new(row, "target_words", json_string(target));
		/* The name is in the words and the person; the bare column would only
		 * repeat it. */
		json_object_del(row, "target_name");
		if (person != NULL)
			json_object_set_new(row, "person", person);
		free(detail);
		free(target);
	}
}

void
console_api_audit(struct console_req *r)
{
	const char *before = console_query(r, "before"), *limit = console_query(r, "limit");
	int n = limit ? atoi(limit) : 100;
	json_t *rows = NULL;

	if (n < 1 || n > 500)
		n = console_query(r, "format") ? 100000 : 100;
	if (store_console_audit(r->c->store, before ? strtoll(before, NULL, 10) : 0, n,
	    &rows) == -1) {
		console_answer_error(r, 503, "storage", "the audit log could not be read");
		return;
	}
	add_words(r, rows);
	console_answer_list(r, rows, -1, audit_cols, sizeof(audit_cols) /
	    sizeof(audit_cols[0]), "audit");
}
