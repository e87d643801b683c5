/* console_dashboard.c: the JSON of GET /dashboard, /funnel/{stage} and /reps
 * (console/openapi.yaml: Dashboard, Figures, LeaderRow, RepRow), from the figures of
 * store_figures.c, so every number here is the one shokaictl report prints. The scope
 * decides the branches counted: a manager's own (a branch filter outside them is 403),
 * everyone else's all or the one asked for. Branches map to reps through the config. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "../base/base.h"
#include "../store/store.h"
#include "../config/config.h"
#include "console.h"
#include "console_figures.h"

#define TOP_REFERRERS	10
#define WAITING_MAX	50	/* per rep on the reps page */
#define WEEKLY_AFTER	62	/* days: a longer period's trend is by week */
#define PERIOD_MAX	3660	/* days: store_figures' bound */
#define LIMIT_DEFAULT	100
#define LIMIT_MAX	500

/* ---- dates: civil day numbers (Howard Hinnant's algorithms), no time zone */

static int64_t
days_from_civil(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

/* A YYYY-MM-DD date as its day number: 0, or -1 when it is not a real date. */
static int
date_days(const char *s, int64_t *out)
{
	int y, m, d, y2, m2, d2;
	char tail;

	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 ||
	    s[4] != '-' || s[7] != '-' || y < 1970 || y > 9999)
		return -1;
	*out = days_from_civil(y, m, d);
	civil_from_days(*out, &y2, &m2, &d2);
	return y2 == y && m2 == m && d2 == d ? 0 : -1;
}

static void
days_date(int64_t z, char out[11])
{
	int y, m, d;

	civil_from_days(z, &y, &m, &d);
	/* unsigned and bounded: the compiler sees it fits (dates here are 1970..9999) */
	snprintf(out, 11, "%04u-%02u-%02u", (unsigned)y % 10000, (unsigned)m % 100,
	    (unsigned)d % 100);
}

/* The period asked for (this month without dates) and the one before it of the same
 * length: for whole calendar months, as many calendar months before. 0, or 400. */
struct period {
	char	 from[11], to[11], prev_from[11], prev_to[11];
	int64_t	 days;
	int	 months;		/* whole calendar months; 0: not */
};

/* A day's month as y * 12 + (m - 1). */
static int
civil_month(int64_t days)
{
	int y, m, d;

	civil_from_days(days, &y, &m, &d);
	return y * 12 + m - 1;
}

static int
period_make(const struct console_filter *f, int64_t now_ms, struct period *p, char *why,
    size_t whylen)
{
	int64_t a, b;
	int y, m, d, y2, m2, d2;

	memset(p, 0, sizeof(*p));
	if (f->from[0] == '\0' && f->to[0] == '\0') {
		char today[11];

		local_date(now_ms, today);
		if (date_days(today, &a) == -1)
			return 400;
		civil_from_days(a, &y, &m, &d);
		a = days_from_civil(y, m, 1);
		b = days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) - 1;
	} else if (date_days(f->from, &a) == -1 || date_days(f->to, &b) == -1) {
		snprintf(why, whylen, "from and to must both be dates (YYYY-MM-DD)");
		return 400;
	}
	if (b < a || b - a + 1 > PERIOD_MAX) {
		snprintf(why, whylen, "the period must run forward and be at most %d days",
		    PERIOD_MAX);
		return 400;
	}
	p->days = b - a + 1;
	days_date(a, p->from);
	days_date(b, p->to);
	civil_from_days(a, &y, &m, &d);
	civil_from_days(b + 1, &y2, &m2, &d2);
	if (d == 1 && d2 == 1) {
		int back;

		p->months = (y2 * 12 + m2) - (y * 12 + m);
		back = y * 12 + (m - 1) - p->months;
		days_date(days_from_civil(back / 12, back % 12 + 1, 1), p->prev_from);
		days_date(a - 1, p->prev_to);
	} else if (d == 1 && b - a < 31 && civil_month(b) == y * 12 + m - 1) {
		/* This month so far (12/01-12/05): last month's same days (11/01-11/05),
		 * as far as last month has them, the comparison operators make. */
		int py = m == 1 ? y - 1 : y, pm = m == 1 ? 12 : m - 1;
		int64_t pfirst = days_from_civil(py, pm, 1), plen = a - pfirst;

		days_date(pfirst, p->prev_from);
		days_date(pfirst + (b - a < plen ? b - a : plen - 1), p->prev_to);
	} else {
		days_date(a - p->days, p->prev_from);
		days_date(a - 1, p->prev_to);
	}
	return 0;
}

/* ---- scope: the branches counted and their reps */

struct scope_set {
	int		 all;		/* every branch, and events with none */
	const char	**branches;
	size_t		 n_branches;
	const char	**reps;
	size_t		 n_reps;
};

static int
in_list(const char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

/* Why not console_scope_has(): it lives with the lead's console.c, and this file must
 * build and be tested without it; the rule is the same (a manager: own branches). */
static int
scope_make(const struct config *cf, const struct console_scope *sc, const char *branch,
    struct scope_set *ss, char *why, size_t whylen)
{
	memset(ss, 0, sizeof(*ss));
	if (branch != NULL && *branch == '\0')
		branch = NULL;
	if (branch != NULL && !console_scope_has(sc, branch)) {
		snprintf(why, whylen, "branch %s is not one of this account's", branch);
		return 403;
	}
	if (branch != NULL && config_branch(cf, branch) == NULL) {
		snprintf(why, whylen, "no branch %s in the config", branch);
		return 400;
	}
	ss->branches = xcalloc(cf->n_branches + 1, sizeof(*ss->branches));
	ss->reps = xcalloc(cf->n_reps + 1, sizeof(*ss->reps));
	if (branch == NULL && sc->role != ROLE_MANAGER) {
		ss->all = 1;
		for (size_t i = 0; i < cf->n_branches; i++)
			ss->branches[ss->n_branches++] = cf->branches[i].code;
	} else
		for (size_t i = 0; i < cf->n_branches; i++) {
			const char *code = cf->branches[i].code;

			if (branch != NULL ? strcmp(code, branch) == 0 :
			    console_scope_has(sc, code))
				ss->branches[ss->n_branches++] = code;
		}
	for (size_t i = 0; i < cf->n_reps; i++) {
		const struct config_branch *b = cf->reps[i].branch;

		if (ss->all || (b != NULL && in_list(ss->branches, ss->n_branches, b->code)))
			ss->reps[ss->n_reps++] = cf->reps[i].code;
	}
	return 0;
}

static void
scope_clear(struct scope_set *ss)
{
	free(ss->branches);
	free(ss->reps);
	memset(ss, 0, sizeof(*ss));
}

static void
query_make(const struct config *cf, const struct scope_set *ss, const char *campaign,
    const char *from, const char *to, int64_t now_ms, struct figures_review *reviews,
    struct figures_query *q)
{
	memset(q, 0, sizeof(*q));
	snprintf(q->from, sizeof(q->from), "%s", from);
	snprintf(q->to, sizeof(q->to), "%s", to);
	q->campaign = campaign != NULL && *campaign != '\0' ? campaign : NULL;
	q->all_branches = ss->all;
	q->branches = ss->branches;
	q->n_branches = ss->n_branches;
	q->reps = ss->reps;
	q->n_reps = ss->n_reps;
	for (size_t i = 0; i < cf->n_campaigns; i++)
		reviews[i] = (struct figures_review){ cf->campaigns[i].id,
		    cf->campaigns[i].review_within_ms };
	q->reviews = reviews;
	q->n_reviews = cf->n_campaigns;
	q->review_default_ms = 3LL * 86400 * 1000;	/* config_referral.c's default */
	q->now_ms = now_ms;
	q->testers_json = cf->testers_json;
}

/* ---- JSON */

static json_t *
rate(int64_t num, int64_t den)
{
	return json_pack("{s:I, s:I}", "num", (json_int_t)num, "den", (json_int_t)den);
}

static json_t *
int_or_null(int64_t v)
{
	return v < 0 ? json_null() : json_integer((json_int_t)v);
}

/* The summed monthly targets of the branches counted, for the period: times the
 * months of a whole-month period, else pro rata by days (a month: 30.44 days). -1:
 * no target set. */
static int64_t
period_target(const struct config *cf, const struct scope_set *ss, const char *only,
    const struct period *p)
{
	int64_t sum = 0;

	for (size_t i = 0; i < cf->n_branches; i++) {
		const struct config_branch *b = &cf->branches[i];

		if (only != NULL ? strcmp(b->code, only) == 0 :
		    in_list(ss->branches, ss->n_branches, b->code))
			sum += b->monthly_target;
	}
	if (sum <= 0)
		return -1;
	/* rounded: days * 12 / 365.25 months, in whole numbers */
	return p->months > 0 ? sum * p->months : (sum * p->days * 1200 + 36525 / 2) / 36525;
}

static json_t *
figures_json(const struct figures *f, int64_t target)
{
	json_t *o = json_object(), *by = json_object();

	for (size_t i = 0; i < f->n_rejected_by; i++)
		json_object_set_new(by, f->rejected_by[i].reason,
		    json_integer((json_int_t)f->rejected_by[i].n));
	json_object_set_new(o, "issued", json_integer(f->issued));
	json_object_set_new(o, "referrers", json_integer(f->referrers));
	json_object_set_new(o, "friends", json_integer(f->friends));
	json_object_set_new(o, "clicks", json_integer(f->clicks));
	json_object_set_new(o, "claimed", json_integer(f->claimed));
	json_object_set_new(o, "held", json_integer(f->held));
	json_object_set_new(o, "held_overdue", json_integer(f->held_overdue));
	json_object_set_new(o, "rejected", json_integer(f->rejected));
	json_object_set_new(o, "rejected_by_reason", by);
	json_object_set_new(o, "contacted", json_integer(f->contacted));
	json_object_set_new(o, "meeting", json_integer(f->meeting));
	json_object_set_new(o, "won", json_integer(f->won));
	json_object_set_new(o, "lost", json_integer(f->lost));
	json_object_set_new(o, "rewards_issued", json_integer(f->rewards_issued));
	json_object_set_new(o, "rewards_pending", json_integer(f->rewards_pending));
	json_object_set_new(o, "rewards_approved", json_integer(f->rewards_approved));
	json_object_set_new(o, "rewards_voided", json_integer(f->rewards_voided));
	json_object_set_new(o, "referrer_rate", rate(f->referrers, f->friends));
	json_object_set_new(o, "click_rate", rate(f->clicks, f->issued));
	json_object_set_new(o, "claim_rate", rate(f->claimed, f->clicks));
	/* of the period's claims, those won by today */
	json_object_set_new(o, "win_rate", rate(f->claimed_won, f->claimed));
	json_object_set_new(o, "first_action_median_s", int_or_null(f->first_action_median_s));
	json_object_set_new(o, "target", int_or_null(target));
	if (target > 0)
		json_object_set_new(o, "target_rate", rate(f->won, target));
	return o;
}

static const struct figures_group *
group_of(const struct figures_group *g, size_t n, const char *code)
{
	for (size_t i = 0; i < n; i++)
		if (code == NULL ? g[i].code == NULL : g[i].code != NULL &&
		    strcmp(g[i].code, code) == 0)
			return &g[i];
	return NULL;
}

static int64_t
open_of(const struct figures_detail *d, const char *rep)
{
	for (size_t i = 0; i < d->n_open; i++)
		if (rep == NULL ? d->open[i].rep_code == NULL : d->open[i].rep_code != NULL &&
		    strcmp(d->open[i].rep_code, rep) == 0)
			return d->open[i].n;
	return 0;
}

/* Open referrals of a branch: those of its reps now (NULL: of reps with no branch, of
 * reps the config no longer has, and of none). */
static int64_t
branch_open(const struct config *cf, const struct figures_detail *d, const char *branch)
{
	int64_t n = 0;

	for (size_t i = 0; i < d->n_open; i++) {
		const struct config_rep *r = d->open[i].rep_code ?
		    config_rep(cf, d->open[i].rep_code) : NULL;
		const char *b = r != NULL && r->branch != NULL ? r->branch->code : NULL;

		if (branch == NULL ? b == NULL : b != NULL && strcmp(b, branch) == 0)
			n += d->open[i].n;
	}
	return n;
}

static json_t *
leader_row(const char *code, const char *name, const char *branch,
    const struct figures_group *g, int64_t open, int64_t target, int with_target)
{
	json_t *o = json_object();

	json_object_set_new(o, "code", json_string(code));
	json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, "branch", branch ? json_string(branch) : json_null());
	json_object_set_new(o, "claimed", json_integer(g ? g->claimed : 0));
	json_object_set_new(o, "won", json_integer(g ? g->won : 0));
	json_object_set_new(o, "win_rate", rate(g ? g->claimed_won : 0, g ? g->claimed : 0));
	json_object_set_new(o, "open", json_integer(open));
	json_object_set_new(o, "first_action_median_s",
	    int_or_null(g ? g->first_action_median_s : -1));
	if (with_target) {
		json_object_set_new(o, "target", int_or_null(target));
		if (target > 0)
			json_object_set_new(o, "target_rate", rate(g ? g->won : 0, target));
	}
	return o;
}

static int
has_activity(const struct figures_group *g, int64_t open)
{
	return open > 0 || (g != NULL && (g->claimed > 0 || g->won > 0));
}

/* Branches: the configured ones counted, then what the events name beyond them (a
 * branch since removed; "" for none, admins and viewers only). */
static json_t *
branch_rows(const struct config *cf, const struct scope_set *ss,
    const struct figures_detail *d, const struct period *p)
{
	json_t *a = json_array();

	for (size_t i = 0; i < ss->n_branches; i++) {
		const struct config_branch *b = config_branch(cf, ss->branches[i]);

		json_array_append_new(a, leader_row(b->code, b->name, b->code,
		    group_of(d->branches, d->n_branches, b->code), branch_open(cf, d, b->code),
		    period_target(cf, ss, b->code, p), 1));
	}
	if (!ss->all)
		return a;
	for (size_t i = 0; i < d->n_branches; i++) {
		const struct figures_group *g = &d->branches[i];

		if (g->code != NULL && config_branch(cf, g->code) == NULL)
			json_array_append_new(a, leader_row(g->code, g->code, g->code, g,
			    0, -1, 1));
	}
	if (has_activity(group_of(d->branches, d->n_branches, NULL), branch_open(cf, d, NULL)))
		json_array_append_new(a, leader_row("", cf->wording.unknown_name, NULL,
		    group_of(d->branches, d->n_branches, NULL), branch_open(cf, d, NULL), -1,
		    1));
	return a;
}

/* Reps: the configured ones counted, then reps the events name that the config does
 * not have, then "" for referrals with no rep (admins and viewers only). */
static json_t *
rep_rows(const struct config *cf, const struct scope_set *ss,
    const struct figures_detail *d)
{
	json_t *a = json_array();

	for (size_t i = 0; i < ss->n_reps; i++) {
		const struct config_rep *r = config_rep(cf, ss->reps[i]);

		json_array_append_new(a, leader_row(r->code, r->name,
		    r->branch ? r->branch->code : NULL, group_of(d->reps, d->n_reps, r->code),
		    open_of(d, r->code), -1, 0));
	}
	if (!ss->all)
		return a;
	for (size_t i = 0; i < d->n_reps; i++) {
		const struct figures_group *g = &d->reps[i];

		if (g->code != NULL && config_rep(cf, g->code) == NULL)
			json_array_append_new(a, leader_row(g->code, g->code, g->branch, g,
			    open_of(d, g->code), -1, 0));
	}
	if (has_activity(group_of(d->reps, d->n_reps, NULL), open_of(d, NULL)))
		json_array_append_new(a, leader_row("", cf->wording.unknown_name, NULL,
		    group_of(d->reps, d->n_reps, NULL), open_of(d, NULL), -1, 0));
	return a;
}

/* Day by day, or for a long period by week (Monday to Sunday, cut at the period's
 * ends; a week is named by its first day in the period). */
static json_t *
trend_json(const struct figures_detail *d)
{
	json_t *points = json_array(), *cur = NULL;
	int weekly = d->n_days > WEEKLY_AFTER;

	for (size_t i = 0; i < d->n_days; i++) {
		const struct figures_day *day = &d->days[i];
		int64_t z;

		if (date_days(day->date, &z) == -1)
			continue;
		/* 1970-01-01 (day 0) was a Thursday: Monday is (z + 3) % 7 == 0 */
		if (!weekly || cur == NULL || (z + 3) % 7 == 0) {
			cur = json_pack("{s:s, s:I, s:I, s:I}", "date", day->date, "clicks",
			    (json_int_t)0, "claimed", (json_int_t)0, "won", (json_int_t)0);
			json_array_append_new(points, cur);
		}
		json_object_set_new(cur, "clicks", json_integer(json_integer_value(
		    json_object_get(cur, "clicks")) + day->clicks));
		json_object_set_new(cur, "claimed", json_integer(json_integer_value(
		    json_object_get(cur, "claimed")) + day->claimed));
		json_object_set_new(cur, "won", json_integer(json_integer_value(
		    json_object_get(cur, "won")) + day->won));
	}
	return json_pack("{s:s, s:o}", "unit", weekly ? "week" : "day", "points", points);
}

static json_t *
funnel_json(const struct figures *f)
{
	return json_pack("[{s:s, s:I}, {s:s, s:I}, {s:s, s:I}, {s:s, s:I}, {s:s, s:I}]",
	    "stage", "issued", "count", (json_int_t)f->issued,
	    "stage", "clicked", "count", (json_int_t)f->clicks,
	    "stage", "claimed", "count", (json_int_t)f->claimed,
	    "stage", "contacted", "count", (json_int_t)f->funnel_contacted,
	    "stage", "won", "count", (json_int_t)f->won);
}

static json_t *
rep_ref(const struct config *cf, const char *code)
{
	const struct config_rep *r = code ? config_rep(cf, code) : NULL;

	if (code == NULL)
		return json_null();
	return json_pack("{s:s, s:s}", "code", code, "name", r ? r->name : code);
}

json_t *
console_dashboard(struct store *s, const struct config *cf, const struct console_scope *sc,
    const struct console_filter *flt, int *status, char *why, size_t whylen)
{
	struct figures_review *reviews = xcalloc(cf->n_campaigns + 1, sizeof(*reviews));
	struct figures cur, prev;
	struct figures_detail d;
	struct figures_referrer *top = NULL;
	struct figures_query q, pq;
	struct scope_set ss;
	struct period p;
	size_t ntop = 0;
	json_t *out = NULL, *tops;
	int64_t now = wall_ms(), friends[2];

	memset(&cur, 0, sizeof(cur));
	memset(&prev, 0, sizeof(prev));
	memset(&d, 0, sizeof(d));
	memset(&ss, 0, sizeof(ss));
	*status = 500;
	if ((*status = period_make(flt, now, &p, why, whylen)) != 0 ||
	    (*status = scope_make(cf, sc, flt->branch, &ss, why, whylen)) != 0)
		goto done;
	*status = 500;
	query_make(cf, &ss, flt->campaign, p.from, p.to, now, reviews, &q);
	query_make(cf, &ss, flt->campaign, p.prev_from, p.prev_to, now, reviews, &pq);
	if (store_figures(s, &q, &cur, &d) == -1 || store_figures(s, &pq, &prev, NULL) == -1 ||
	    store_friends(s, (const struct figures_query *const[]){ &q, &pq }, 2,
	    friends) == -1 ||
	    store_top_referrers(s, &q, TOP_REFERRERS, &top, &ntop) == -1) {
		snprintf(why, whylen, "database error: %s", store_errmsg(s));
		goto done;
	}
	cur.friends = friends[0];
	prev.friends = friends[1];
	tops = json_array();
	for (size_t i = 0; i < ntop; i++)
		json_array_append_new(tops, json_pack("{s:o, s:I, s:I}", "person",
		    console_person(s, cf, top[i].channel, top[i].user_id, 0), "claimed",
		    (json_int_t)top[i].claimed, "won", (json_int_t)top[i].won));
	out = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
	    "from", p.from, "to", p.to, "previous_from", p.prev_from, "previous_to", p.prev_to,
	    "figures", figures_json(&cur, period_target(cf, &ss, NULL, &p)),
	    "previous", figures_json(&prev, period_target(cf, &ss, NULL, &(struct period){
	    .days = p.days, .months = p.months })),
	    "trend", trend_json(&d), "funnel", funnel_json(&cur),
	    "branches", branch_rows(cf, &ss, &d, &p), "reps", rep_rows(cf, &ss, &d),
	    "top_referrers", tops);
	*status = 0;
done:
	figures_clear(&cur);
	figures_clear(&prev);
	figures_detail_clear(&d);
	figures_referrers_free(top, ntop);
	scope_clear(&ss);
	free(reviews);
	return out;
}

json_t *
console_funnel_list(struct store *s, const struct config *cf,
    const struct console_scope *sc, const struct console_filter *flt, const char *stage,
    int *status, char *why, size_t whylen)
{
	static const char *const stages[] = { "issued", "clicked", "claimed", "contacted",
	    "won" };
	struct figures_review *reviews = xcalloc(cf->n_campaigns + 1, sizeof(*reviews));
	struct funnel_item *it = NULL;
	struct figures_query q;
	struct scope_set ss;
	struct period p;
	size_t n = 0, limit = flt->limit > 0 ? (size_t)flt->limit : LIMIT_DEFAULT;
	json_t *out = NULL, *items;
	int64_t now = wall_ms();

	memset(&ss, 0, sizeof(ss));
	if (stage == NULL || !in_list(stages, sizeof(stages) / sizeof(stages[0]), stage) ||
	    limit > LIMIT_MAX) {
		*status = 400;
		snprintf(why, whylen, "the stage must be issued, clicked, claimed, contacted or "
		    "won, and limit at most %d", LIMIT_MAX);
		goto done;
	}
	if ((*status = period_make(flt, now, &p, why, whylen)) != 0 ||
	    (*status = scope_make(cf, sc, flt->branch, &ss, why, whylen)) != 0)
		goto done;
	*status = 500;
	query_make(cf, &ss, flt->campaign, p.from, p.to, now, reviews, &q);
	if (store_funnel_list(s, &q, stage, limit, &it, &n) == -1) {
		snprintf(why, whylen, "database error: %s", store_errmsg(s));
		goto done;
	}
	items = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(items, json_pack("{s:o, s:s, s:I, s:o, s:o}", "person",
		    console_person(s, cf, it[i].channel, it[i].user_id, it[i].referral_id > 0 &&
		    console_friend_masked(sc, cf, it[i].campaign)), "code", it[i].code,
		    "at", (json_int_t)it[i].at, "referral_id", it[i].referral_id > 0 ?
		    json_integer(it[i].referral_id) : json_null(), "rep",
		    rep_ref(cf, it[i].rep_code)));
	out = json_pack("{s:s, s:o}", "stage", stage, "items", items);
	*status = 0;
done:
	funnel_items_free(it, n);
	scope_clear(&ss);
	free(reviews);
	return out;
}

json_t *
console_reps(struct store *s, const struct config *cf, const struct console_scope *sc,
    const struct console_filter *flt, int *status, char *why, size_t whylen)
{
	struct figures_review *reviews = xcalloc(cf->n_campaigns + 1, sizeof(*reviews));
	struct figures_waiting *wait = NULL;
	struct console_filter month;
	struct figures f;
	struct figures_detail d;
	struct figures_query q;
	struct scope_set ss;
	struct period p;
	size_t nwait = 0;
	json_t *out = NULL, *items;
	int64_t now = wall_ms();

	memset(&f, 0, sizeof(f));
	memset(&d, 0, sizeof(d));
	memset(&ss, 0, sizeof(ss));
	/* this month, whatever dates came */
	month = *flt;
	month.from[0] = month.to[0] = '\0';
	if ((*status = period_make(&month, now, &p, why, whylen)) != 0 ||
	    (*status = scope_make(cf, sc, flt->branch, &ss, why, whylen)) != 0)
		goto done;
	*status = 500;
	query_make(cf, &ss, flt->campaign, p.from, p.to, now, reviews, &q);
	q.leaders_only = 1;
	if (store_figures(s, &q, &f, &d) == -1 ||
	    store_rep_waiting(s, &q, WAITING_MAX, &wait, &nwait) == -1) {
		snprintf(why, whylen, "database error: %s", store_errmsg(s));
		goto done;
	}
	items = json_array();
	for (size_t i = 0; i < ss.n_reps; i++) {
		const struct config_rep *r = config_rep(cf, ss.reps[i]);
		const struct figures_group *g = group_of(d.reps, d.n_reps, r->code);
		json_t *waiting = json_array();

		for (size_t k = 0; k < nwait; k++)
			if (wait[k].rep_code != NULL && strcmp(wait[k].rep_code, r->code) == 0)
				json_array_append_new(waiting, json_pack("{s:I, s:I}",
				    "referral_id", (json_int_t)wait[k].referral_id, "since",
				    (json_int_t)wait[k].since));
		json_array_append_new(items, json_pack("{s:s, s:s, s:o, s:I, s:o, s:I, s:I, "
		    "s:o, s:o}", "code", r->code, "name", r->name, "branch", r->branch ?
		    json_pack("{s:s, s:s}", "code", r->branch->code, "name", r->branch->name) :
		    json_null(), "open", (json_int_t)open_of(&d, r->code), "waiting", waiting,
		    "claimed", (json_int_t)(g ? g->claimed : 0), "won",
		    (json_int_t)(g ? g->won : 0), "win_rate", rate(g ? g->claimed_won : 0,
		    g ? g->claimed : 0), "first_action_median_s",
		    int_or_null(g ? g->first_action_median_s : -1)));
	}
	out = json_pack("{s:o}", "items", items);
	*status = 0;
done:
	figures_clear(&f);
	figures_detail_clear(&d);
	figures_waiting_free(wait, nwait);
	scope_clear(&ss);
	free(reviews);
	return out;
}
