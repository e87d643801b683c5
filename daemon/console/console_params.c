/* console_params.c: what a request asks for: query parameters, the period and filters
 * of a list (checked against the config and the caller's scope), and path ids. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>

#include "console_internal.h"

const char *
console_query(struct console_req *r, const char *name)
{
	const char *v = evhttp_find_header(&r->query, name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* A real local date (2027-02-30 is none): the one reader the figures use too. */
static int
valid_date(const char *s)
{
	int64_t ms;

	return local_midnight(s, 0, &ms) == 0;
}

/* This month, in local dates. */
static void
this_month(char from[11], char to[11])
{
	time_t now = time(NULL);
	struct tm tm;
	int days;

	localtime_r(&now, &tm);
	strftime(from, 11, "%Y-%m-01", &tm);
	tm.tm_mon++;
	tm.tm_mday = 0;		/* the last day of this month */
	tm.tm_isdst = -1;
	mktime(&tm);
	days = tm.tm_mday;
	snprintf(to, 11, "%.7s-%02d", from, days);
}

static int
bounded_int(struct console_req *r, const char *name, int dflt, int min, int max, int *out)
{
	const char *v = console_query(r, name);
	char *end;
	long n;

	*out = dflt;
	if (v == NULL)
		return 0;
	n = strtol(v, &end, 10);
	if (*end != '\0' || n < min || n > max) {
		char detail[120];

		snprintf(detail, sizeof(detail), "%s must be a number from %d to %d", name, min,
		    max);
		console_answer_error(r, 400, "bad_parameter", detail);
		return -1;
	}
	*out = (int)n;
	return 0;
}

int
console_filter_parse(struct console_req *r, struct console_filter *f)
{
	const char *from = console_query(r, "from"), *to = console_query(r, "to"), *s;
	const struct config *cf = r->cf;

	memset(f, 0, sizeof(*f));
	this_month(f->from, f->to);
	if ((from != NULL && !valid_date(from)) || (to != NULL && !valid_date(to))) {
		console_answer_error(r, 400, "bad_date", "from and to are YYYY-MM-DD");
		return -1;
	}
	if (from != NULL)
		snprintf(f->from, sizeof(f->from), "%s", from);
	if (to != NULL)
		snprintf(f->to, sizeof(f->to), "%s", to);
	if (strcmp(f->from, f->to) > 0) {
		console_answer_error(r, 400, "bad_date", "from is after to");
		return -1;
	}
	f->campaign = console_query(r, "campaign");
	f->branch = console_query(r, "branch");
	f->rep = console_query(r, "rep");
	f->state = console_query(r, "state");
	f->q = console_query(r, "q");
	/* partner=1: partners' referrals apart from customers' (partner=0). */
	if ((s = console_query(r, "partner")) != NULL) {
		if (strcmp(s, "1") != 0 && strcmp(s, "0") != 0) {
			console_answer_error(r, 400, "bad_partner", "partner is 1 or 0");
			return -1;
		}
		f->partner = s[0] == '1' ? 1 : 2;
	}
	if (f->campaign != NULL && config_campaign(cf, f->campaign) == NULL) {
		console_answer_error(r, 400, "unknown_campaign", "no such campaign in the config");
		return -1;
	}
	if (f->branch != NULL && config_branch(cf, f->branch) == NULL) {
		console_answer_error(r, 400, "unknown_branch", "no such branch in the config");
		return -1;
	}
	if (f->branch != NULL && !console_scope_has(&r->scope, f->branch)) {
		console_answer_error(r, 403, "out_of_scope", "that branch is not yours");
		return -1;
	}
	if (f->rep != NULL) {
		const struct config_rep *rep = config_rep(cf, f->rep);

		if (rep == NULL) {
			console_answer_error(r, 400, "unknown_rep", "no such rep in the config");
			return -1;
		}
		if (!console_scope_has(&r->scope, rep->branch ? rep->branch->code : NULL)) {
			console_answer_error(r, 403, "out_of_scope", "that rep is not in your "
			    "branches");
			return -1;
		}
	}
	if (bounded_int(r, "limit", 100, 1, 500, &f->limit) == -1 ||
	    bounded_int(r, "offset", 0, 0, 100000000, &f->offset) == -1)
		return -1;
	return 0;
}

int64_t
console_arg_id(struct console_req *r, int i)
{
	const char *s = r->args[i];
	char *end;
	long long id = s ? strtoll(s, &end, 10) : 0;

	if (s == NULL || *end != '\0' || id <= 0) {
		console_answer_error(r, 400, "bad_id", "the id in the path is not a number");
		return -1;
	}
	return id;
}

int
console_scope_has(const struct console_scope *scope, const char *branch)
{
	if (scope->role != ROLE_MANAGER)
		return 1;
	if (branch == NULL)
		return 0;
	for (size_t i = 0; i < scope->n_branches; i++)
		if (strcmp(scope->branches[i], branch) == 0)
			return 1;
	return 0;
}
