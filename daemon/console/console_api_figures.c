/* console_api_figures.c: ダッシュボード and 担当者: the figures, each defined once
 * (console_dashboard.c over store_figures.c), as the API answers them. */
#include "console_api.h"
#include "console_internal.h"

void
console_api_dashboard(struct console_req *r)
{
	console_answer_error(r, 501, "not_ready", "the figures are being built");
}

void
console_api_funnel(struct console_req *r)
{
	console_answer_error(r, 501, "not_ready", "the figures are being built");
}

void
console_api_reps(struct console_req *r)
{
	console_answer_error(r, 501, "not_ready", "the figures are being built");
}
