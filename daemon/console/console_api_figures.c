/* console_api_figures.c: ダッシュボード and 担当者: the figures, each defined once
 * (store_figures.c, shared with shokaictl report), as the API answers them
 * (console_dashboard.c); the funnel's lists and the reps' page export as CSV. */
#include <string.h>

#include "console_api.h"
#include "console_figures.h"
#include "console_internal.h"

static const char *
error_code(int status)
{
	return status == 403 ? "out_of_scope" : status == 400 ? "bad_parameter" : "storage";
}

/* Answers j (or its error); with cols, a CSV export of j's items is allowed. */
static void
answer(struct console_req *r, json_t *j, int status, const char *why,
    const struct console_csv_col *cols, size_t ncols, const char *filename)
{
	if (j == NULL)
		console_answer_error(r, status >= 400 ? status : 500, error_code(status), why);
	else if (cols != NULL) {
		json_t *items = json_incref(json_object_get(j, "items"));

		if (console_query(r, "format") != NULL &&
		    strcmp(console_query(r, "format"), "csv") == 0) {
			console_answer_list(r, items, -1, cols, ncols, filename);
			json_decref(j);
		} else {
			json_decref(items);
			console_answer_json(r, 200, j);
		}
	} else
		console_answer_json(r, 200, j);
}

void
console_api_dashboard(struct console_req *r)
{
	struct console_filter f;
	char why[WHY_MAX] = "";
	int status = 0;
	json_t *j;

	if (console_filter_parse(r, &f) == -1)
		return;
	j = console_dashboard(r->c->store, r->cf, &r->scope, &f, &status, why, sizeof(why));
	answer(r, j, status, why, NULL, 0, NULL);
}

static const struct console_csv_col funnel_cols[] = {
	{ "person", "person" }, { "code", "code" }, { "at", "at" },
	{ "referral_id", "referral_id" }, { "rep", "rep" },
};

void
console_api_funnel(struct console_req *r)
{
	struct console_filter f;
	char why[WHY_MAX] = "";
	int status = 0;
	json_t *j;

	if (console_filter_parse(r, &f) == -1)
		return;
	j = console_funnel_list(r->c->store, r->cf, &r->scope, &f, r->args[0], &status, why,
	    sizeof(why));
	answer(r, j, status, why, funnel_cols, sizeof(funnel_cols) / sizeof(funnel_cols[0]),
	    "funnel");
}

static const struct console_csv_col rep_cols[] = {
	{ "rep", "name" }, { "branch", "branch" }, { "open", "open" },
	{ "waiting", "waiting" }, { "claimed", "claimed" }, { "won", "won" },
	{ "first_action_median_s", "first_action_median_s" },
};

void
console_api_reps(struct console_req *r)
{
	struct console_filter f;
	char why[WHY_MAX] = "";
	int status = 0;
	json_t *j;

	if (console_filter_parse(r, &f) == -1)
		return;
	j = console_reps(r->c->store, r->cf, &r->scope, &f, &status, why, sizeof(why));
	answer(r, j, status, why, rep_cols, sizeof(rep_cols) / sizeof(rep_cols[0]), "reps");
}
