/* store_figures.c: the figures of console-sketch.md ("The figures"), one definition each,
 * counted from referral_events (what happened, with the branch and rep recorded at the
 * time), referrals (where each one stands today) and users (who was a friend). The
 * console's dashboard, funnel and rep pages read them here; shokaictl report
 * (store_report.c) counts its columns from the same fig_defs[] and the same click scan.
 *
 * A period is local dates from..to; the events counted are those whose `at` lies in
 * [local midnight of from, local midnight of the day after to), both computed here with
 * mktime: exact for any time zone (daylight saving included), answered by the indexes
 * on `at`, and no date() call per row. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "store_internal.h"

/* The figures counted from events: each a condition on one referral_events row. The
 * report sums the same conditions (store_report.c). */
const struct fig_def fig_defs[FIG_COUNT] = {
	[FIG_ISSUED] = { .name = "issued", .cond = "type = 'issued'" },
	/* An accepted claim: at once, or a held one an operator let through (its state
	 * event from held to claimed), counted when it was accepted. In cond the types come
	 * first so that the figures index (type, at, ...) is read for each over the period;
	 * as a bare OR SQLite read every event of the period (the dashboard went from 250
	 * to 600 ms on make bench-scale's year). Its parts are exact ranges of the figures
	 * index and of referral_events_states: cond reads every state event of the period
	 * too (a month's count 7 -> 3 ms on that year). */
	[FIG_CLAIMED] = { .name = "claimed",
	    .cond = "(type IN ('claimed', 'state') AND (type = 'claimed' OR "
	    "reason = 'claimed'))",
	    .part = { "type = 'claimed'", "type = 'state' AND reason = 'claimed'" } },
	[FIG_HELD] = { .name = "held", .cond = "type = 'held'" },
	[FIG_REJECTED] = { .name = "rejected", .cond = "type = 'rejected'" },
	[FIG_CONTACTED] = { .name = "contacted",
	    .cond = "type = 'state' AND reason = 'contacted'" },
	[FIG_MEETING] = { .name = "meeting", .cond = "type = 'state' AND reason = 'meeting'" },
	[FIG_WON] = { .name = "won", .cond = "type = 'state' AND reason = 'won'" },
	[FIG_LOST] = { .name = "lost", .cond = "type = 'state' AND reason = 'lost'" },
	/* A reward event's reason is its move and the reward's side (rewards.side, which
	 * the schema holds to these two): named in full, each is an exact range of
	 * referral_events_rewards (schema 25), where LIKE 'issued:%' read every reward
	 * event of the period. */
	[FIG_REWARDS_ISSUED] = { .name = "rewards_issued",
	    .cond = "type = 'reward' AND reason IN ('issued:referrer', 'issued:referee')" },
	[FIG_REWARDS_PENDING] = { .name = "rewards_pending",
	    .cond = "type = 'reward' AND reason IN ('pending:referrer', 'pending:referee')" },
	[FIG_REWARDS_APPROVED] = { .name = "rewards_approved",
	    .cond = "type = 'reward' AND reason IN ('approved:referrer', "
	    "'approved:referee')" },
	[FIG_REWARDS_VOIDED] = { .name = "rewards_voided",
	    .cond = "type = 'reward' AND reason IN ('voided:referrer', 'voided:referee')" },
};

/* The filters every event query ends with, on the alias e. */
#define EV_FILTER \
	" AND e.at >= :lo AND e.at < :hi" \
	" AND e.type != 'clicked'"	/* referral_events_figures' condition, said */ \
	" AND (:campaign IS NULL OR e.campaign = :campaign)" \
	" AND (:branches IS NULL OR e.branch IN (SELECT value FROM json_each(:branches)))" \
	TESTER_FILTER
/* Testers' rehearsals (config testers:) are not the campaign's: an event of a
 * tester's code is not counted. referrer_id is in referral_events_figures, so the
 * queries still read the index alone. */
#define TESTER_FILTER \
	" AND (:testers IS NULL OR coalesce(e.referrer_id, '') NOT IN (SELECT value FROM " \
	"json_each(:testers)))"
/* The same for clicks (answered by referral_events_clicks). */
#define CLICK_FILTER \
	" AND e.at >= :lo AND e.at < :hi" \
	" AND (:campaign IS NULL OR e.campaign = :campaign)" \
	" AND (:branches IS NULL OR e.branch IN (SELECT value FROM json_each(:branches)))" \
	" AND (:testers IS NULL OR e.code NOT IN (SELECT k.code FROM referral_codes k WHERE " \
	"k.user_id IN (SELECT value FROM json_each(:testers))))"
/* Referrals a rep works on now. */
#define OPEN_STATES "('claimed', 'contacted', 'meeting')"
/* The first move of a referral by its rep after its claim (an operator's does not
 * count), in ms after the claim event e, or NULL. */
#define FIRST_ACTION \
	"(SELECT min(a.at) FROM referral_events a WHERE a.referral_id = e.referral_id " \
	"AND a.type = 'state' AND a.at >= e.at AND substr(a.actor, 1, 4) = 'rep:') - e.at"

/* The number of figure id's events that meet EV_FILTER and more (SQL after it), as an
 * expression: one count, or the sum of its parts' counts. */
static char *
fig_count_sql(enum fig_id id, const char *more)
{
	const struct fig_def *f = &fig_defs[id];

	if (f->part[0] == NULL)
		return xasprintf("(SELECT count(*) FROM referral_events e WHERE %s" EV_FILTER
		    "%s)", f->cond, more);
	return xasprintf("((SELECT count(*) FROM referral_events e WHERE %s" EV_FILTER "%s) + "
	    "(SELECT count(*) FROM referral_events e WHERE %s" EV_FILTER "%s))", f->part[0],
	    more, f->part[1], more);
}

/* SELECT cols of figure id's events that meet EV_FILTER and more: one statement, or the
 * UNION ALL of its parts' (in no particular order). */
static char *
fig_rows_sql(enum fig_id id, const char *cols, const char *more)
{
	const struct fig_def *f = &fig_defs[id];

	if (f->part[0] == NULL)
		return xasprintf("SELECT %s FROM referral_events e WHERE %s" EV_FILTER "%s",
		    cols, f->cond, more);
	return xasprintf("SELECT %s FROM referral_events e WHERE %s" EV_FILTER "%s UNION ALL "
	    "SELECT %s FROM referral_events e WHERE %s" EV_FILTER "%s", cols, f->part[0], more,
	    cols, f->part[1], more);
}

/* A query's bound values, by name; statements use the ones they name. */
struct fq {
	int64_t		 lo, hi, now, review_default, limit;
	const char	*campaign;
	const char	*branches, *reps, *reviews, *ids;	/* JSON, or NULL */
	const char	*testers;				/* JSON, or NULL */
	size_t		 n_branches;			/* in branches */
	char		*own[3];			/* what fq_clear frees */
};

/* The local day [*start, *end) that holds at. */
void
store_day_of(int64_t at, int64_t *start, int64_t *end)
{
	time_t t = (time_t)(at >= 0 ? at / 1000 : (at - 999) / 1000);
	struct tm tm;

	localtime_r(&t, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	*start = (int64_t)mktime(&tm) * 1000;
	tm.tm_mday++;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	*end = (int64_t)mktime(&tm) * 1000;
	if (*end <= at)		/* cannot happen; never loop on it */
		*end = at + 1;
}

static char *
json_list(const char *const *v, size_t n)
{
	json_t *a = json_array();
	char *s;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

static void
bind_named(sqlite3_stmt *st, const char *name, const char *text, int64_t v, int is_text)
{
	int i = sqlite3_bind_parameter_index(st, name);

	if (i == 0)
		return;
	if (is_text)
		store_bind_text(st, i, text);
	else
		sqlite3_bind_int64(st, i, v);
}

/* Runs sql with b's values, row(st, arg) for each row until it returns 1 (enough).
 * 0, or -1 (logged). */
static int
run(struct store *s, const char *sql, const struct fq *b, int (*row)(sqlite3_stmt *, void *),
    void *arg)
{
	sqlite3_stmt *st = NULL;
	int64_t t0 = clock_us();
	int rc;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_warnx("msg=\"figures query failed\" detail=\"%s\"", sqlite3_errmsg(s->db));
		return -1;
	}
	bind_named(st, ":lo", NULL, b->lo, 0);
	bind_named(st, ":hi", NULL, b->hi, 0);
	bind_named(st, ":now", NULL, b->now, 0);
	bind_named(st, ":review_default", NULL, b->review_default, 0);
	bind_named(st, ":limit", NULL, b->limit, 0);
	bind_named(st, ":campaign", b->campaign, 0, 1);
	bind_named(st, ":branches", b->branches, 0, 1);
	bind_named(st, ":reps", b->reps, 0, 1);
	bind_named(st, ":reviews", b->reviews, 0, 1);
	bind_named(st, ":ids", b->ids, 0, 1);
	bind_named(st, ":testers", b->testers, 0, 1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (row(st, arg) == 1) {
			rc = SQLITE_DONE;
			break;
		}
	if (rc != SQLITE_DONE) {
		store_note_error(s, rc);
		log_warnx("msg=\"figures query failed\" detail=\"%s\"", sqlite3_errmsg(s->db));
	}
	sqlite3_finalize(st);
	/* Each query's time, for make bench-scale's figures and a slow console page. */
	if (log_enabled(LOG_DEBUG))
		log_msg(LOG_DEBUG, "msg=\"figures query\" ms=%.1f sql=\"%.70s\"",
		    (double)(clock_us() - t0) / 1000.0, sql);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* The bound values of a query; fq_clear frees them. -1 when the dates are not dates or
 * from is after to. */
static int
fq_make(const struct figures_query *q, struct fq *b)
{
	memset(b, 0, sizeof(*b));
	if (local_midnight(q->from, 0, &b->lo) == -1 ||
	    local_midnight(q->to, 1, &b->hi) == -1 || b->hi <= b->lo)
		return -1;
	b->now = q->now_ms;
	b->review_default = q->review_default_ms;
	b->campaign = q->campaign;
	b->testers = q->testers_json;
	if (!q->all_branches) {
		b->branches = b->own[0] = json_list(q->branches, q->n_branches);
		b->n_branches = q->n_branches;
		b->reps = b->own[1] = json_list(q->reps, q->n_reps);
	}
	{
		json_t *a = json_array();

		for (size_t i = 0; i < q->n_reviews; i++)
			json_array_append_new(a, json_pack("[sI]", q->reviews[i].campaign,
			    (json_int_t)q->reviews[i].within_ms));
		b->reviews = b->own[2] = json_dumps(a, JSON_COMPACT);
		json_decref(a);
	}
	return 0;
}

static void
fq_clear(struct fq *b)
{
	for (size_t i = 0; i < sizeof(b->own) / sizeof(b->own[0]); i++)
		free(b->own[i]);
	memset(b, 0, sizeof(*b));
}

/* ---- clicks: once per code, client and local day */

/* The day's clients of each code seen so far are a strcount of "code|client" keys,
 * emptied when the scan (in time order) passes into the next day. */
struct click_scan {
	struct strcount	 set;
	int64_t		 day_start, day_end;
	void		(*counted)(void *, int64_t, const char *);
	void		*arg;
};

static int
click_row(sqlite3_stmt *st, void *arg)
{
	struct click_scan *cs = arg;
	int64_t at = sqlite3_column_int64(st, 0);
	const char *code = (const char *)sqlite3_column_text(st, 1);
	const char *client = (const char *)sqlite3_column_text(st, 2);
	char key[256];

	if (at < cs->day_start || at >= cs->day_end) {
		store_day_of(at, &cs->day_start, &cs->day_end);
		strcount_clear(&cs->set);
	}
	snprintf(key, sizeof(key), "%s|%s", code ? code : "", client ? client : "");
	if (strcount_add(&cs->set, key) == 1)
		cs->counted(cs->arg, at, (const char *)sqlite3_column_text(st, 3));
	return 0;
}

/* Why in C and not count(DISTINCT ...): SQLite's distinct is a b-tree insert per row,
 * 0.35 s for a month's 250,000 clicks on the scale database; a hash set over the rows
 * read in time order (the (type, at) index) is a fraction of that. */
int
store_clicks_scan(struct store *s, const char *group_sql, int64_t lo, int64_t hi,
    const char *campaign, const char *branches_json, const char *testers_json,
    void (*counted)(void *, int64_t at, const char *group), void *arg)
{
	struct fq b = { .lo = lo, .hi = hi, .campaign = campaign, .branches = branches_json,
	    .testers = testers_json };
	struct click_scan cs = { .counted = counted, .arg = arg, .day_start = 0,
	    .day_end = 0 };
	char *sql;
	int rc;

	sql = xasprintf("SELECT e.at, e.code, e.client_hash, %s FROM referral_events e "
	    "WHERE e.type = 'clicked'" CLICK_FILTER " ORDER BY e.at",
	    group_sql ? group_sql : "NULL");
	rc = run(s, sql, &b, click_row, &cs);
	strcount_free(&cs.set);
	free(sql);
	return rc;
}

/* ---- the period's figures */

/* Durations (ms) to take a median of. */
struct durations {
	int64_t	*v;
	size_t	 n, cap;
};

static void
durations_add(struct durations *d, int64_t ms)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 16;
		d->v = xrealloc(d->v, d->cap * sizeof(*d->v));
	}
	d->v[d->n++] = ms;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The median in whole seconds (the mean of the middle two for an even count), -1 for
 * none; frees d. */
static int64_t
durations_median_s(struct durations *d)
{
	int64_t m = -1;

	if (d->n > 0) {
		qsort(d->v, d->n, sizeof(*d->v), cmp_i64);
		m = d->n % 2 ? d->v[d->n / 2] : (d->v[d->n / 2 - 1] + d->v[d->n / 2]) / 2;
		m /= 1000;
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
	return m;
}

/* A leaderboard row while it is counted. */
struct acc {
	struct figures_group	 g;
	struct durations	 first;
};
struct accs {
	struct acc	*v;
	size_t		 n;
};

static int
same(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

static struct acc *
acc_get(struct accs *a, const char *code)
{
	for (size_t i = 0; i < a->n; i++)
		if (same(a->v[i].g.code, code))
			return &a->v[i];
	a->v = xrealloc(a->v, (a->n + 1) * sizeof(*a->v));
	memset(&a->v[a->n], 0, sizeof(a->v[a->n]));
	a->v[a->n].g.code = code ? xstrdup(code) : NULL;
	a->v[a->n].g.first_action_median_s = -1;
	return &a->v[a->n++];
}

/* Moves the rows out as figures_group[], medians taken. */
static struct figures_group *
accs_finish(struct accs *a, size_t *n)
{
	struct figures_group *out = a->n ? xcalloc(a->n, sizeof(*out)) : NULL;

	for (size_t i = 0; i < a->n; i++) {
		out[i] = a->v[i].g;
		out[i].first_action_median_s = durations_median_s(&a->v[i].first);
	}
	*n = a->n;
	free(a->v);
	memset(a, 0, sizeof(*a));
	return out;
}

static void
accs_free(struct accs *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].g.code);
		free(a->v[i].g.branch);
		free(a->v[i].first.v);
	}
	free(a->v);
	memset(a, 0, sizeof(*a));
}

struct work {
	struct figures		*f;
	struct figures_detail	*d;		/* NULL: totals only */
	struct accs		 branches, reps;
	struct durations	 first;
	int64_t			*day_start;	/* d->n_days + 1 boundaries */
};

/* The day of the period holding at (the rows come in any order: a binary search). */
static struct figures_day *
day_at(struct work *w, int64_t at)
{
	size_t lo = 0, hi = w->d->n_days;

	if (at < w->day_start[0] || at >= w->day_start[hi])
		return NULL;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (w->day_start[mid] <= at)
			lo = mid;
		else
			hi = mid;
	}
	return &w->d->days[lo];
}

static void
click_counted(void *arg, int64_t at, const char *group)
{
	struct work *w = arg;
	struct figures_day *day;

	(void)group;
	w->f->clicks++;
	if (w->d != NULL && (day = day_at(w, at)) != NULL)
		day->clicks++;
}

/* Columns: one count per fig_defs[] entry. */
static int
totals_row(sqlite3_stmt *st, void *arg)
{
	struct figures *f = arg;
	int64_t *total[FIG_COUNT] = {
		[FIG_ISSUED] = &f->issued, [FIG_CLAIMED] = &f->claimed,
		[FIG_HELD] = &f->held, [FIG_REJECTED] = &f->rejected,
		[FIG_CONTACTED] = &f->contacted, [FIG_MEETING] = &f->meeting,
		[FIG_WON] = &f->won, [FIG_LOST] = &f->lost,
		[FIG_REWARDS_ISSUED] = &f->rewards_issued,
		[FIG_REWARDS_PENDING] = &f->rewards_pending,
		[FIG_REWARDS_APPROVED] = &f->rewards_approved,
		[FIG_REWARDS_VOIDED] = &f->rewards_voided,
	};

	for (int i = 0; i < FIG_COUNT; i++)
		*total[i] = sqlite3_column_int64(st, i);
	return 1;
}

/* A leaderboard row of each kind for an event's branch and rep. */
static void
accs_pair(struct work *w, sqlite3_stmt *st, int col, struct acc **b, struct acc **r)
{
	const char *branch = (const char *)sqlite3_column_text(st, col);

	*b = acc_get(&w->branches, branch);
	*r = acc_get(&w->reps, (const char *)sqlite3_column_text(st, col + 1));
	if ((*r)->g.branch == NULL && branch != NULL)
		(*r)->g.branch = xstrdup(branch);
}

static int
rejected_row(sqlite3_stmt *st, void *arg)
{
	struct figures *f = arg;
	const char *reason = (const char *)sqlite3_column_text(st, 0);

	f->rejected_by = xrealloc(f->rejected_by, (f->n_rejected_by + 1) *
	    sizeof(*f->rejected_by));
	f->rejected_by[f->n_rejected_by].reason = xstrdup(reason ? reason : "");
	f->rejected_by[f->n_rejected_by++].n = sqlite3_column_int64(st, 1);
	return 0;
}

static int
int_row(sqlite3_stmt *st, void *arg)
{
	*(int64_t *)arg = sqlite3_column_int64(st, 0);
	return 1;
}

/* Column 0 into a set of distinct values (NULL is not a value, as in count(DISTINCT)). */
static int
distinct_row(sqlite3_stmt *st, void *arg)
{
	const char *v = (const char *)sqlite3_column_text(st, 0);

	if (v != NULL)
		strcount_add(arg, v);
	return 0;
}

struct friends_out {
	int64_t	*v;
	size_t	 n;
};

static int
friends_row(sqlite3_stmt *st, void *arg)
{
	struct friends_out *fo = arg;

	for (size_t i = 0; i < fo->n; i++)
		fo->v[i] = sqlite3_column_int64(st, (int)i);
	return 1;
}

/* Columns: at, branch, rep_code, won today, first action (ms, NULL): a claim. */
static int
cohort_row(sqlite3_stmt *st, void *arg)
{
	struct work *w = arg;
	int won = sqlite3_column_int(st, 3);
	int acted = sqlite3_column_type(st, 4) != SQLITE_NULL;
	int64_t first = sqlite3_column_int64(st, 4);

	w->f->claimed_won += won;
	if (acted)
		durations_add(&w->first, first);
	if (w->d != NULL) {
		struct figures_day *day = day_at(w, sqlite3_column_int64(st, 0));
		struct acc *b, *r;

		accs_pair(w, st, 1, &b, &r);
		b->g.claimed++;
		r->g.claimed++;
		b->g.claimed_won += won;
		r->g.claimed_won += won;
		if (acted) {
			durations_add(&b->first, first);
			durations_add(&r->first, first);
		}
		if (day != NULL)
			day->claimed++;
	}
	return 0;
}

static int
won_row(sqlite3_stmt *st, void *arg)
{
	struct work *w = arg;
	struct figures_day *day = day_at(w, sqlite3_column_int64(st, 0));
	struct acc *b, *r;

	accs_pair(w, st, 1, &b, &r);
	b->g.won++;
	r->g.won++;
	if (day != NULL)
		day->won++;
	return 0;
}

/* Columns: state, rep_code, count; summed per rep over the open states. */
static int
open_row(sqlite3_stmt *st, void *arg)
{
	struct figures_detail *d = arg;
	const char *rep = (const char *)sqlite3_column_text(st, 1);
	size_t i;

	for (i = 0; i < d->n_open && !same(d->open[i].rep_code, rep); i++)
		continue;
	if (i == d->n_open) {
		d->open = xrealloc(d->open, (d->n_open + 1) * sizeof(*d->open));
		d->open[d->n_open].rep_code = rep ? xstrdup(rep) : NULL;
		d->open[d->n_open++].n = 0;
	}
	d->open[i].n += sqlite3_column_int64(st, 2);
	return 0;
}

/* The period's days, each with its local midnight; w->day_start[n] ends the last. */
static int
make_days(struct work *w, const struct figures_query *q)
{
	size_t n = 0, cap = 32;
	int64_t at;

	w->d->days = xcalloc(cap, sizeof(*w->d->days));
	w->day_start = xcalloc(cap + 1, sizeof(*w->day_start));
	for (;;) {
		char date[11];
		time_t t;
		struct tm tm;

		if (local_midnight(q->from, (int)n, &at) == -1)
			return -1;
		t = (time_t)(at / 1000);
		localtime_r(&t, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d", &tm);
		if (strcmp(date, q->to) > 0 || n > 3660)	/* ten years: enough */
			break;
		if (n == cap) {
			cap *= 2;
			w->d->days = xrealloc(w->d->days, cap * sizeof(*w->d->days));
			w->day_start = xrealloc(w->day_start, (cap + 1) * sizeof(*w->day_start));
		}
		memset(&w->d->days[n], 0, sizeof(w->d->days[n]));
		memcpy(w->d->days[n].date, date, sizeof(date));
		w->day_start[n++] = at;
	}
	w->day_start[n] = at;
	w->d->n_days = n;
	return 0;
}

static int
click_day_row(sqlite3_stmt *st, void *arg)
{
	struct work *w = arg;
	struct figures_day *day;
	int64_t n = sqlite3_column_int64(st, 1);

	w->f->clicks += n;
	if (w->d != NULL && (day = day_at(w, sqlite3_column_int64(st, 0))) != NULL)
		day->clicks += n;
	return 0;
}

/* The clicks: from click_counts (store_clicks.c) when it has them all in this time
 * zone and the question is all branches or one (its scopes), else by the scan. */
static int
figures_clicks(struct store *s, struct work *w, const struct fq *b)
{
	int counted;

	/* click_counts cannot tell a tester's clicks: with testers (a rehearsal, before
	 * launch) the clicks are scanned. */
	if ((b->branches != NULL && b->n_branches > 1) || b->testers != NULL)
		counted = 0;
	else if ((counted = store_clicks_counted(s)) == -1)
		return -1;
	if (!counted)
		return store_clicks_scan(s, NULL, b->lo, b->hi, b->campaign, b->branches,
		    b->testers, click_counted, w);
	return run(s, "SELECT day, sum(n) FROM click_counts WHERE scope = (:branches IS NOT "
	    "NULL) AND day >= :lo AND day < :hi AND (:campaign IS NULL OR campaign = "
	    ":campaign) AND (:branches IS NULL OR branch IN (SELECT value FROM "
	    "json_each(:branches))) GROUP BY 1", b, click_day_row, w);
}

/* The totals counted from events alone, friends and clicks: what the leaderboards do
 * not need. */
static int
figures_totals(struct store *s, struct work *w, const struct fq *b)
{
	/* A won referral was worked on even when its rep never said contacted: with wins
	 * the funnel's 対応開始 bar is never shorter than its 成約 bar. */
	static const enum fig_id reached[] = { FIG_CONTACTED, FIG_MEETING, FIG_WON };
	struct figures *out = w->f;
	struct strcount seen = { 0 };
	char *sql = xstrdup(""), *next;
	int rc = -1;

	/* A count per figure, each one or two ranges of an index read alone (the figures
	 * index by type and time, the states' and rewards' by reason and time): 15 ms for
	 * a month of the scale database, where grouping the month's events took 200 ms (a
	 * sort of 150,000 rows) and a sum per figure and event 100. */
	for (int i = 0; i < FIG_COUNT; i++) {
		char *count = fig_count_sql((enum fig_id)i, "");

		next = xasprintf("%s%s%s", sql, i ? ", " : "SELECT ", count);
		free(count);
		free(sql);
		sql = next;
	}
	if (run(s, sql, b, totals_row, out) == -1)
		goto done;
	free(sql);
	sql = xasprintf("SELECT e.reason, count(*) FROM referral_events e WHERE %s" EV_FILTER
	    " GROUP BY 1 ORDER BY 1", fig_defs[FIG_REJECTED].cond);
	if (run(s, sql, b, rejected_row, out) == -1)
		goto done;
	free(sql);
	/* The distinct counts are kept in C: SQLite's DISTINCT inserts each row into a
	 * temporary b-tree (25 ms for a month's 32,000 invites on the scale database,
	 * against 4 ms for the scan and a hash set). */
	sql = xasprintf("SELECT e.referrer_id FROM referral_events e WHERE %s" EV_FILTER,
	    fig_defs[FIG_ISSUED].cond);
	if (run(s, sql, b, distinct_row, &seen) == -1)
		goto done;
	out->referrers = (int64_t)seen.used;
	strcount_clear(&seen);
	/* Referrals moved to contacted, meeting or won: each figure's own rows into the one
	 * set, exact ranges (as one OR the planner read every state event of the period). */
	for (size_t i = 0; i < sizeof(reached) / sizeof(reached[0]); i++) {
		free(sql);
		sql = fig_rows_sql(reached[i], "e.referral_id", "");
		if (run(s, sql, b, distinct_row, &seen) == -1)
			goto done;
	}
	out->funnel_contacted = (int64_t)seen.used;
	free(sql);
	/* Held claims still held whose campaign's review deadline has passed. */
	sql = xasprintf("SELECT count(*) FROM referral_events e JOIN referrals r ON r.id = "
	    "e.referral_id WHERE %s" EV_FILTER " AND r.state = 'held' AND r.claimed_at + "
	    "coalesce((SELECT json_extract(j.value, '$[1]') FROM json_each(:reviews) j WHERE "
	    "json_extract(j.value, '$[0]') = r.campaign), :review_default) < :now",
	    fig_defs[FIG_HELD].cond);
	if (run(s, sql, b, int_row, &out->held_overdue) == -1)
		goto done;
	rc = figures_clicks(s, w, b);
done:
	strcount_free(&seen);
	free(sql);
	return rc;
}

int
store_friends(struct store *s, const struct figures_query *const *qs, size_t n,
    int64_t *out)
{
	struct fq *b = xcalloc(n + 1, sizeof(*b));
	char *sql = xstrdup(""), *next;
	int rc = -1;
	size_t made = 0;

	for (; made < n; made++)
		if (fq_make(qs[made], &b[made]) == -1)
			goto done;
	for (size_t i = 0; i < n; i++) {
		out[i] = 0;
		/* Who was a friend at some time in the period: followed by its end, and still
		 * a friend or blocked only after it began. Without branches: those followed
		 * by the end less those who left before the start. Those followed by the
		 * end are every user less those never followed and those followed after:
		 * count(*) of a whole index walks its pages, not its rows, and the two
		 * ranges are short (40 ms a period on the scale database as the range of
		 * everyone followed before the end, 15 ms for both periods so). */
		if (b[0].reps == NULL)
			next = xasprintf("%s%st.n - (SELECT count(*) FROM users WHERE followed_at "
			    ">= %lld) - (SELECT count(*) FROM users WHERE is_friend = 0 AND "
			    "unfollowed_at < %lld AND followed_at < %lld)", sql, i ? ", " : "",
			    (long long)b[i].hi, (long long)b[i].lo, (long long)b[i].hi);
		else
			next = xasprintf("%s%ssum(u.followed_at < %lld AND (u.is_friend OR "
			    "u.unfollowed_at >= %lld))", sql, i ? ", " : "", (long long)b[i].hi,
			    (long long)b[i].lo);
		free(sql);
		sql = next;
	}
	if (b[0].reps == NULL && n > 0) {
		struct friends_out fo = { out, n };

		next = xasprintf("SELECT %s FROM (SELECT (SELECT count(*) FROM users) - (SELECT "
		    "count(*) FROM users WHERE followed_at IS NULL) AS n) t", sql);
		free(sql);
		sql = next;
		if (run(s, sql, &b[0], friends_row, &fo) == -1)
			goto done;
	}
	/* With branches: the users whose customer's rep is one of theirs (users.rep_code,
	 * kept equal to customers.rep_code by triggers: schema 13), every period in one
	 * pass over users_by_rep alone. The bound on followed_at (the latest end) is what
	 * every period asks anyway. A join of customers to users answered the same in
	 * 0.34 s for a branch of the scale database, a seek per customer. */
	if (b[0].reps != NULL && n > 0) {
		struct friends_out fo = { out, n };
		int64_t hi = b[0].hi;

		for (size_t i = 1; i < n; i++)
			if (b[i].hi > hi)
				hi = b[i].hi;
		next = xasprintf("SELECT %s FROM users u WHERE u.rep_code IN (SELECT value "
		    "FROM json_each(:reps)) AND u.followed_at < %lld", sql, (long long)hi);
		free(sql);
		sql = next;
		if (run(s, sql, &b[0], friends_row, &fo) == -1)
			goto done;
	}
	rc = 0;
done:
	for (size_t i = 0; i < made; i++)
		fq_clear(&b[i]);
	free(b);
	free(sql);
	return rc;
}

/* The claims of the period followed to today: won now (the win rate) and the rep's
 * first move (the first-action time), in total and per branch and rep. */
static int
figures_claims(struct store *s, struct work *w, const struct fq *b)
{
	char *sql = fig_rows_sql(FIG_CLAIMED, "e.at, e.branch, e.rep_code, " FIG_WON_NOW ", "
	    FIRST_ACTION, "");
	int rc = run(s, sql, b, cohort_row, w);

	w->f->first_action_median_s = durations_median_s(&w->first);
	free(sql);
	return rc;
}

/* Wins by day, branch and rep, and the referrals open now by rep. */
static int
figures_detail(struct store *s, struct work *w, const struct fq *b)
{
	char *sql = xasprintf("SELECT e.at, e.branch, e.rep_code FROM referral_events e WHERE "
	    "%s" EV_FILTER, fig_defs[FIG_WON].cond);
	int rc = run(s, sql, b, won_row, w);

	if (rc == 0)
		/* Grouped by state and rep, the order of referrals_open, and summed per rep
		 * in C: grouped by rep alone SQLite sorted the open referrals in a
		 * temporary b-tree (77,000 on make bench-scale's year: 18 -> 7 ms). */
		rc = run(s, "SELECT state, rep_code, count(*) FROM referrals WHERE state IN "
		    OPEN_STATES " AND (:campaign IS NULL OR campaign = :campaign) AND "
		    "(:reps IS NULL OR rep_code IN (SELECT value FROM json_each(:reps))) "
		    "GROUP BY 1, 2", b, open_row, w->d);
	if (rc == 0) {
		w->d->branches = accs_finish(&w->branches, &w->d->n_branches);
		w->d->reps = accs_finish(&w->reps, &w->d->n_reps);
	}
	free(sql);
	return rc;
}

int
store_figures(struct store *s, const struct figures_query *q, struct figures *out,
    struct figures_detail *detail)
{
	struct work w = { .f = out, .d = detail };
	struct fq b;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->first_action_median_s = -1;
	if (detail != NULL)
		memset(detail, 0, sizeof(*detail));
	if (fq_make(q, &b) == -1 || (q->leaders_only && detail == NULL))
		goto done;
	if (detail != NULL && make_days(&w, q) == -1)
		goto done;
	if (!q->leaders_only && figures_totals(s, &w, &b) == -1)
		goto done;
	if (figures_claims(s, &w, &b) == -1)
		goto done;
	if (detail != NULL && figures_detail(s, &w, &b) == -1)
		goto done;
	rc = 0;
done:
	accs_free(&w.branches);
	accs_free(&w.reps);
	free(w.first.v);
	free(w.day_start);
	fq_clear(&b);
	return rc;
}

void
figures_clear(struct figures *f)
{
	for (size_t i = 0; i < f->n_rejected_by; i++)
		free(f->rejected_by[i].reason);
	free(f->rejected_by);
	memset(f, 0, sizeof(*f));
}

static void
groups_free(struct figures_group *g, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(g[i].code);
		free(g[i].branch);
	}
	free(g);
}

void
figures_detail_clear(struct figures_detail *d)
{
	groups_free(d->branches, d->n_branches);
	groups_free(d->reps, d->n_reps);
	for (size_t i = 0; i < d->n_open; i++)
		free(d->open[i].rep_code);
	free(d->open);
	free(d->days);
	memset(d, 0, sizeof(*d));
}

/* ---- top referrers */

struct referrers {
	struct figures_referrer	*v;
	size_t			 n;
};

static int
referrer_won_row(sqlite3_stmt *st, void *arg)
{
	struct referrers *r = arg;
	const char *channel = (const char *)sqlite3_column_text(st, 0);
	const char *user = (const char *)sqlite3_column_text(st, 1);

	for (size_t i = 0; i < r->n; i++)
		if (channel != NULL && user != NULL && strcmp(r->v[i].channel, channel) == 0 &&
		    strcmp(r->v[i].user_id, user) == 0)
			r->v[i].won = sqlite3_column_int64(st, 2);
	return 0;
}

/* Claims per referrer, keyed "channel<US>user". */
static int
claim_count_row(sqlite3_stmt *st, void *arg)
{
	const char *channel = (const char *)sqlite3_column_text(st, 0);
	const char *user = (const char *)sqlite3_column_text(st, 1);
	char *key = xasprintf("%s\x1f%s", channel ? channel : "", user ? user : "");

	strcount_add(arg, key);
	free(key);
	return 0;
}

/* 1 when (claimed, user, channel) ranks before r: more claims, then by user id, then
 * by channel. */
static int
ranks_before(int64_t claimed, const char *user, size_t channel_len, const char *channel,
    const struct figures_referrer *r)
{
	int c;

	if (claimed != r->claimed)
		return claimed > r->claimed;
	if ((c = strcmp(user, r->user_id)) != 0)
		return c < 0;
	c = strncmp(channel, r->channel, channel_len);
	return c < 0 || (c == 0 && r->channel[channel_len] != '\0');
}

/* The limit best of the counted referrers, best first, into r (empty). */
static void
referrers_best(const struct strcount *sc, size_t limit, struct referrers *r)
{
	r->v = limit ? xcalloc(limit, sizeof(*r->v)) : NULL;
	for (size_t i = 0; i < sc->cap; i++) {
		const char *channel = sc->keys[i], *us, *user;
		size_t at, len;

		if (channel == NULL || (us = strchr(channel, '\x1f')) == NULL)
			continue;
		user = us + 1;
		len = (size_t)(us - channel);
		for (at = r->n; at > 0 && ranks_before(sc->n[i], user, len, channel,
		    &r->v[at - 1]); at--)
			continue;
		if (at >= limit)
			continue;
		if (r->n == limit) {
			free(r->v[r->n - 1].channel);
			free(r->v[r->n - 1].user_id);
			r->n--;
		}
		memmove(&r->v[at + 1], &r->v[at], (r->n - at) * sizeof(*r->v));
		r->v[at] = (struct figures_referrer){ .channel = xstrndup(channel, len),
		    .user_id = xstrdup(user), .claimed = sc->n[i], .won = 0 };
		r->n++;
	}
}

/* The most claims first (ties by id, for a stable order), then the wins of those few.
 * The claims are counted in a hash table: SQLite's GROUP BY sorted the month's 19,000
 * claims of make bench-scale's year (20 ms of a dashboard's 240). */
int
store_top_referrers(struct store *s, const struct figures_query *q, size_t limit,
    struct figures_referrer **out, size_t *n)
{
	struct referrers r = { NULL, 0 };
	struct strcount counts = { 0 };
	struct fq b;
	json_t *ids = json_array();
	char *sql, *list = NULL;
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (fq_make(q, &b) == -1) {
		json_decref(ids);
		return -1;
	}
	sql = fig_rows_sql(FIG_CLAIMED, "e.channel, e.referrer_id",
	    " AND e.referrer_id IS NOT NULL");
	if (run(s, sql, &b, claim_count_row, &counts) == -1)
		goto done;
	referrers_best(&counts, limit, &r);
	for (size_t i = 0; i < r.n; i++)
		json_array_append_new(ids, json_string(r.v[i].user_id));
	list = json_dumps(ids, JSON_COMPACT);
	free(sql);
	sql = xasprintf("SELECT e.channel, e.referrer_id, count(*) FROM referral_events e "
	    "WHERE %s AND e.referrer_id IN (SELECT value FROM json_each(:ids))" EV_FILTER
	    " GROUP BY 1, 2", fig_defs[FIG_WON].cond);
	b.ids = list;
	rc = run(s, sql, &b, referrer_won_row, &r);
done:
	strcount_free(&counts);
	free(sql);
	free(list);
	json_decref(ids);
	fq_clear(&b);
	*out = r.v;
	*n = r.n;
	return rc;
}

void
figures_referrers_free(struct figures_referrer *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(r[i].channel);
		free(r[i].user_id);
	}
	free(r);
}

/* ---- the funnel's lists */

struct items {
	struct funnel_item	*v;
	size_t			 n, limit;
	int			 distinct_codes;	/* clicked: one row per code */
};

/* Columns: channel, user_id, code, rep_code, at, referral_id. */
static int
item_row(sqlite3_stmt *st, void *arg)
{
	struct items *it = arg;
	const char *code = (const char *)sqlite3_column_text(st, 2);

	if (it->distinct_codes)
		for (size_t i = 0; i < it->n; i++)
			if (code != NULL && strcmp(it->v[i].code, code) == 0)
				return 0;
	it->v = xrealloc(it->v, (it->n + 1) * sizeof(*it->v));
	it->v[it->n].channel = store_column_str(st, 0);
	it->v[it->n].user_id = store_column_str(st, 1);
	it->v[it->n].code = xstrdup(code ? code : "");
	it->v[it->n].rep_code = store_column_str(st, 3);
	it->v[it->n].at = sqlite3_column_int64(st, 4);
	it->v[it->n].campaign = store_column_str(st, 6);
	it->v[it->n++].referral_id = sqlite3_column_int64(st, 5);
	if (it->v[it->n - 1].channel == NULL)
		it->v[it->n - 1].channel = xstrdup("");
	if (it->v[it->n - 1].user_id == NULL)
		it->v[it->n - 1].user_id = xstrdup("");
	return it->n >= it->limit;
}

int
store_funnel_list(struct store *s, const struct figures_query *q, const char *stage,
    size_t limit, struct funnel_item **out, size_t *n)
{
	struct items it = { NULL, 0, limit, 0 };
	struct fq b;
	char *sql = NULL;
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (limit == 0 || fq_make(q, &b) == -1)
		return -1;
	b.limit = (int64_t)limit;
	if (strcmp(stage, "issued") == 0)
		/* Codes of the period nobody clicked or claimed with since. */
		sql = xasprintf("SELECT e.channel, e.referrer_id, e.code, e.rep_code, e.at, 0, "
		    "e.campaign FROM referral_events e WHERE %s" EV_FILTER " AND NOT EXISTS (SELECT 1 "
		    "FROM referral_events x WHERE x.code = e.code AND x.type IN ('clicked', "
		    "'claimed', 'held')) ORDER BY e.at DESC LIMIT :limit",
		    fig_defs[FIG_ISSUED].cond);
	else if (strcmp(stage, "clicked") == 0) {
		/* Codes clicked in the period and not claimed with since the period began,
		 * newest click first, each once, with its first click of the period. */
		it.distinct_codes = 1;
		sql = xasprintf("SELECT e.channel, e.referrer_id, e.code, e.rep_code, "
		    "(SELECT min(c.at) FROM referral_events c WHERE c.code = e.code AND "
		    "c.type = 'clicked' AND c.at >= :lo AND c.at < :hi), 0, e.campaign FROM "
		    "referral_events e WHERE e.type = 'clicked'" CLICK_FILTER " AND NOT EXISTS "
		    "(SELECT 1 FROM referral_events x WHERE x.code = e.code AND x.type IN "
		    "('claimed', 'held') AND x.at >= :lo) ORDER BY e.at DESC");
	} else if (strcmp(stage, "claimed") == 0)
		/* Claims of the period no one has moved since. */
		sql = xasprintf("SELECT r.channel, r.referee_id, r.code, r.rep_code, e.at, "
		    "e.referral_id, r.campaign FROM referral_events e JOIN referrals r ON r.id = "
		    "e.referral_id WHERE %s" EV_FILTER " AND r.state = 'claimed' ORDER BY "
		    "e.at DESC LIMIT :limit", fig_defs[FIG_CLAIMED].cond);
	else if (strcmp(stage, "contacted") == 0)
		/* Referrals moved to contacted or meeting in the period, not won today. */
		sql = xasprintf("SELECT r.channel, r.referee_id, r.code, r.rep_code, "
		    "min(e.at) AS first, e.referral_id, r.campaign FROM referral_events e JOIN "
		    "referrals r "
		    "ON r.id = e.referral_id WHERE ((%s) OR (%s))" EV_FILTER " AND r.state != "
		    "'won' GROUP BY e.referral_id ORDER BY first DESC LIMIT :limit",
		    fig_defs[FIG_CONTACTED].cond, fig_defs[FIG_MEETING].cond);
	else if (strcmp(stage, "won") == 0)
		sql = xasprintf("SELECT r.channel, r.referee_id, r.code, r.rep_code, e.at, "
		    "e.referral_id, r.campaign FROM referral_events e JOIN referrals r ON r.id = "
		    "e.referral_id WHERE %s" EV_FILTER " ORDER BY e.at DESC LIMIT :limit",
		    fig_defs[FIG_WON].cond);
	if (sql != NULL)
		rc = run(s, sql, &b, item_row, &it);
	free(sql);
	fq_clear(&b);
	*out = it.v;
	*n = it.n;
	return rc;
}

void
funnel_items_free(struct funnel_item *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].channel);
		free(v[i].user_id);
		free(v[i].code);
		free(v[i].rep_code);
		free(v[i].campaign);
	}
	free(v);
}

/* ---- reps waiting */

struct waits {
	struct figures_waiting	*v;
	size_t			 n;
};

static int
wait_row(sqlite3_stmt *st, void *arg)
{
	struct waits *w = arg;

	w->v = xrealloc(w->v, (w->n + 1) * sizeof(*w->v));
	w->v[w->n].rep_code = store_column_str(st, 0);
	w->v[w->n].referral_id = sqlite3_column_int64(st, 1);
	w->v[w->n++].since = sqlite3_column_int64(st, 2);
	return 0;
}

int
store_rep_waiting(struct store *s, const struct figures_query *q, size_t per_rep,
    struct figures_waiting **out, size_t *n)
{
	struct waits w = { NULL, 0 };
	struct fq b;
	int rc;

	*out = NULL;
	*n = 0;
	/* The period does not matter here; only the filters do. */
	memset(&b, 0, sizeof(b));
	b.campaign = q->campaign;
	b.limit = (int64_t)per_rep;
	if (!q->all_branches)
		b.reps = b.own[0] = json_list(q->reps, q->n_reps);
	/* updated_at: a referral an operator sent back to claimed waits from then. */
	rc = run(s, "SELECT rep_code, id, updated_at FROM (SELECT rep_code, id, updated_at, "
	    "row_number() OVER (PARTITION BY rep_code ORDER BY updated_at, id) AS k FROM "
	    "referrals WHERE state = 'claimed' AND rep_code IS NOT NULL AND (:campaign IS "
	    "NULL OR campaign = :campaign) AND (:reps IS NULL OR rep_code IN (SELECT value "
	    "FROM json_each(:reps)))) WHERE k <= :limit ORDER BY rep_code, updated_at, id",
	    &b, wait_row, &w);
	fq_clear(&b);
	*out = w.v;
	*n = w.n;
	return rc;
}

void
figures_waiting_free(struct figures_waiting *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].rep_code);
	free(v);
}
