/* console_api_figures.c: ダッシュボード and 担当者: the figures, each defined once
 * (store_figures.c, shared with shokaictl report), as the API answers them
 * (console_dashboard.c); the funnel's lists and the reps page export as CSV. */
#include <string.h>

#include "console_api.h"
#include "console_figures.h"
#include "console_internal.h"

/* One of console_figures.h's builders, with the request's path part where it takes
 * one (the funnel's stage). */
typedef json_t *(*figures_fn)(struct console_req *, const struct console_filter *,
    int *status, char *why, size_t whylen);

/* Parses the period and filters, builds, and answers the object (or, with cols and
 * format=csv, its items as CSV) or the builder's error. */
static void
serve(struct console_req *r, figures_fn build, const struct console_csv_col *cols,
    size_t ncols, const char *filename)
{
	struct console_filter f;
	char why[WHY_MAX] = "";
	int status = 0;
	const char *format = console_query(r, "format");
	json_t *j;

	if (console_filter_parse(r, &f) == -1)
		return;
	if ((j = build(r, &f, &status, why, sizeof(why))) == NULL)
		console_answer_error(r, status >= 400 ? status : 500, status == 403 ?
		    "out_of_scope" : status == 400 ? "bad_parameter" : "storage", why);
	else if (cols != NULL && format != NULL && strcmp(format, "csv") == 0) {
		console_answer_list(r, json_incref(json_object_get(j, "items")), -1, cols, ncols,
		    filename);
		json_decref(j);
	} else
		console_answer_json(r, 200, j);
}

static json_t *
dashboard(struct console_req *r, const struct console_filter *f, int *status, char *why,
    size_t whylen)
{
	return console_dashboard(r->c->store, r->cf, &r->scope, f, status, why, whylen);
}

static json_t *
funnel(struct console_req *r, const struct console_filter *f, int *status, char *why,
    size_t whylen)
{
	return console_funnel_list(r->c->store, r->cf, &r->scope, f, r->args[0], status, why,
	    whylen);
}

static json_t *
reps(struct console_req *r, const struct console_filter *f, int *status, char *why,
    size_t whylen)
{
	return console_reps(r->c->store, r->cf, &r->scope, f, status, why, whylen);
}

static const struct console_csv_col funnel_cols[] = {
	{ "person", "person" }, { "code", "code" }, { "at", "at" },
	{ "referral_id", "referral_id" }, { "rep", "rep" },
};
static const struct console_csv_col rep_cols[] = {
	{ "rep", "name" }, { "branch", "branch" }, { "open", "open" },
	{ "waiting", "waiting" }, { "claimed", "claimed" }, { "won", "won" },
	{ "first_action_median_s", "first_action_median_s" },
};

void
console_api_dashboard(struct console_req *r)
{
	serve(r, dashboard, NULL, 0, NULL);
}

void
console_api_funnel(struct console_req *r)
{
	serve(r, funnel, funnel_cols, sizeof(funnel_cols) / sizeof(funnel_cols[0]), "funnel");
}

void
console_api_reps(struct console_req *r)
{
	serve(r, reps, rep_cols, sizeof(rep_cols) / sizeof(rep_cols[0]), "reps");
}
