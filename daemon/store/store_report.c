/* store_report.c: the referral funnel report behind shokaictl report: issued, clicked,
 * claimed, held, rejected (with a column per reason), won, lost and rewarded, counted
 * from referral_events per branch, rep, campaign or referrer. The rejection columns
 * come from the caller: the claim rules' table (handlers/referral_rules.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* The rep an event counts for: the one it recorded, else (a code issued or clicked
 * before its customer had a rep) the rep its referral has now, else the code owner's
 * rep now, whom a referral made with the code inherits: so a rep's row holds every
 * step of the referrals they end with, and per-rep conversion adds up. Both lookups
 * are by primary key. */
#define FINAL_REP \
	"coalesce(e.rep_code, (SELECT r.rep_code FROM referrals r WHERE r.id = " \
	"e.referral_id), (SELECT c.rep_code FROM referral_codes k JOIN customers c ON " \
	"c.channel = k.channel AND c.user_id = k.user_id WHERE k.code = e.code))"

/* What a report row is grouped by: the column's name in the output, its value (on
 * referral_events e), and the name columns beside it (from temp.report_names). */
static const struct {
	const char	*name;
	const char	*column;
	const char	*names;
} groupings[] = {
	[REPORT_BY_BRANCH] = { "branch", "coalesce(e.branch, (SELECT branch FROM "
	    "temp.report_reps WHERE code = " FINAL_REP "), '-')",
	    "coalesce(n.name, '') AS branch_name, " },
	[REPORT_BY_REP] = { "rep", "coalesce(" FINAL_REP ", '-')",
	    "coalesce(n.name, '') AS rep_name, coalesce(n.branch, '-') AS branch, "
	    "coalesce(n.branch_name, '') AS branch_name, " },
	[REPORT_BY_CAMPAIGN] = { "campaign", "coalesce(e.campaign, '-')",
	    "coalesce(n.name, '') AS campaign_name, " },
	[REPORT_BY_REFERRER] = { "referrer", "coalesce(e.referrer_id, '-')", "" },
	/* Partners' referrals apart from customers': whether the referrer is tagged
	 * partner now (the tag is not kept per event). */
	[REPORT_BY_PARTNER] = { "referrer_kind", "CASE WHEN e.referrer_id IS NULL THEN '-' "
	    "WHEN (e.channel, e.referrer_id) IN (SELECT t.channel, t.user_id FROM "
	    "customer_tags t WHERE t.tag = 'partner') THEN 'partner' ELSE 'customer' END", "" },
};

/* The config's reps (for a branch of an event without one) and the names of the
 * rows into TEMP tables the report's query joins. */
static int
names_tables(struct store *s, const struct report_name *reps, size_t nreps,
    const struct report_name *names, size_t nnames)
{
	static const char *const ins[] = {
		"INSERT OR REPLACE INTO temp.report_reps(code, branch) VALUES (?1, ?3)",
		"INSERT OR REPLACE INTO temp.report_names(g, name, branch, branch_name) "
		"VALUES (?1, ?2, ?3, ?4)",
	};
	const struct report_name *list[] = { reps, names };
	size_t n[] = { nreps, nnames };
	sqlite3_stmt *st = NULL;
	char why[WHY_MAX];

	if (store_exec(s->db, "CREATE TEMP TABLE IF NOT EXISTS report_reps(code TEXT "
	    "PRIMARY KEY, branch TEXT); CREATE TEMP TABLE IF NOT EXISTS report_names(g TEXT "
	    "PRIMARY KEY, name TEXT, branch TEXT, branch_name TEXT); DELETE FROM "
	    "temp.report_reps; DELETE FROM temp.report_names", why, sizeof(why)) == -1) {
		log_warnx("msg=\"report query failed\" detail=\"%s\"", why);
		return -1;
	}
	for (size_t t = 0; t < 2; t++) {
		if (sqlite3_prepare_v2(s->db, ins[t], -1, &st, NULL) != SQLITE_OK)
			return -1;
		for (size_t i = 0; i < n[t]; i++) {
			sqlite3_bind_text(st, 1, list[t][i].code, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, list[t][i].name, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, list[t][i].branch, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 4, list[t][i].branch_name, -1, SQLITE_STATIC);
			if (sqlite3_step(st) != SQLITE_DONE) {
				sqlite3_finalize(st);
				return -1;
			}
			sqlite3_reset(st);
		}
		sqlite3_finalize(st);
	}
	return 0;
}

static void
click_counted(void *arg, int64_t at, const char *group)
{
	(void)at;
	strcount_add(arg, group != NULL ? group : "-");
}

/* The clicks per group into temp.report_clicks, which the report's query reads as
 * pre-counted 'clicked' rows. */
static int
clicks_table(struct store *s, const char *group_sql, int64_t lo, int64_t hi,
    const char *testers_json)
{
	struct strcount gc = { 0 };
	sqlite3_stmt *st = NULL;
	char why[WHY_MAX];
	int rc = -1;

	if (store_exec(s->db, "CREATE TEMP TABLE IF NOT EXISTS report_clicks(g TEXT, "
	    "n INTEGER NOT NULL); DELETE FROM temp.report_clicks", why, sizeof(why)) == -1) {
		log_warnx("msg=\"report query failed\" detail=\"%s\"", why);
		return -1;
	}
	if (store_clicks_scan(s, group_sql, lo, hi, NULL, NULL, testers_json, click_counted,
	    &gc) == -1)
		goto done;
	if (sqlite3_prepare_v2(s->db, "INSERT INTO temp.report_clicks(g, n) VALUES (?, ?)",
	    -1, &st, NULL) != SQLITE_OK)
		goto done;
	for (size_t i = 0; i < gc.cap; i++) {
		if (gc.keys[i] == NULL)
			continue;
		sqlite3_bind_text(st, 1, gc.keys[i], -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, gc.n[i]);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto done;
		sqlite3_reset(st);
	}
	rc = 0;
done:
	if (rc == -1)
		log_warnx("msg=\"report query failed\" detail=\"%s\"", sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	strcount_free(&gc);
	return rc;
}

/* The rejection columns' SQL, in the order the columns are first named, with every
 * reason a bound parameter (numbered from 1); *picked: the same columns of t. */
static char *
rejection_columns(const struct report_rejection *rej, size_t n, const char **args,
    char **picked)
{
	char *sql = xstrdup(""), *next;

	*picked = xstrdup("");
	for (size_t i = 0; i < n; i++) {
		char *in;
		size_t k;

		for (k = 0; k < i; k++)
			if (strcmp(rej[k].column, rej[i].column) == 0)
				break;
		if (k < i)
			continue;	/* counted with the first reason of its column */
		in = xstrdup("");
		for (k = i; k < n; k++) {
			if (strcmp(rej[k].column, rej[i].column) != 0)
				continue;
			args[k] = rej[k].reason;
			next = xasprintf("%s%s?%zu", in, in[0] ? ", " : "", k + 1);
			free(in);
			in = next;
		}
		next = xasprintf("%ssum(CASE WHEN %s AND reason IN (%s) THEN n "
		    "ELSE 0 END) AS %s, ", sql, fig_defs[FIG_REJECTED].cond, in, rej[i].column);
		free(in);
		free(sql);
		sql = next;
		next = xasprintf("%st.%s, ", *picked, rej[i].column);
		free(*picked);
		*picked = next;
	}
	return sql;
}

/* The columns are figures of store_figures.c (fig_defs[], the click scan, the win of a
 * claim as FIG_WON_NOW says): the console's dashboard and this report count the same
 * events the same way, and the rates are the console's (console-sketch.md): click rate
 * clicked / issued, claim rate claimed / clicked, win rate claimed_won / claimed (the
 * period's claims whose referral is won today), in percent, empty for a zero
 * denominator. */
int
store_report(struct store *s, FILE *out, enum print_format format, enum report_by by,
    const char *from, const char *to, const struct report_rejection *rej, size_t nrej,
    const struct report_name *reps, size_t nreps, const struct report_name *names,
    size_t nnames, const char *testers_json)
{
	const char **args = xcalloc(nrej + 2, sizeof(*args));
	char *sql, *rejected, *picked;
	int64_t lo, hi;
	int rc;

	for (size_t i = 0; i < nrej; i++)
		for (const char *c = rej[i].column; *c != '\0'; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
				fatalx("%s: bad column name %s", __func__, rej[i].column);
	rejected = rejection_columns(rej, nrej, args, &picked);
	/* Testers' rehearsals are not counted (store_figures.c's TESTER_FILTER). */
	args[nrej] = testers_json;
	/* Local dates as the exact range of `at` between their midnights (an open end,
	 * 0000-00-00 or 9999-99-99 or anything not a date, is no bound: the caller
	 * refuses what an operator typed wrong). */
	if (local_midnight(from, 0, &lo) == -1)
		lo = INT64_MIN;
	if (local_midnight(to, 1, &hi) == -1)
		hi = INT64_MAX;
	if (names_tables(s, reps, nreps, names, nnames) == -1 ||
	    clicks_table(s, groupings[by].column, lo, hi, testers_json) == -1) {
		free(picked);
		free(rejected);
		free(args);
		return -1;
	}
	/* Events are counted per group, type, reason (and a claim's win) first, and the
	 * columns summed from those few rows: 17 sums per event took 40 % of the time at
	 * 400,000 events. The clicks come counted (once per code, client and day) from
	 * temp.report_clicks. */
	sql = xasprintf("SELECT t.g AS %s, %st.issued, t.clicked, t.claimed, t.held, "
	    "t.rejected, %st.won, t.lost, t.rewarded, t.claimed_won, CASE WHEN t.issued > 0 THEN round(100.0 * t.clicked / t.issued, "
	    "1) END AS click_rate, CASE WHEN t.clicked > 0 THEN round(100.0 * t.claimed / "
	    "t.clicked, 1) END AS claim_rate, CASE WHEN t.claimed > 0 THEN round(100.0 * "
	    "t.claimed_won / t.claimed, 1) END AS win_rate FROM (SELECT g, "
	    "sum(CASE WHEN %s THEN n ELSE 0 END) AS issued, "
	    "sum(CASE WHEN type = 'clicked' THEN n ELSE 0 END) AS clicked, "
	    "sum(CASE WHEN %s THEN n ELSE 0 END) AS claimed, "
	    "sum(CASE WHEN %s THEN n ELSE 0 END) AS held, "
	    "sum(CASE WHEN %s THEN n ELSE 0 END) AS rejected, %s"
	    "sum(CASE WHEN %s THEN n ELSE 0 END) AS won, "
	    "sum(CASE WHEN %s THEN n ELSE 0 END) AS lost, "
	    "sum(CASE WHEN %s THEN n ELSE 0 END) AS rewarded, "
	    "sum(CASE WHEN w THEN n ELSE 0 END) AS claimed_won "
	    "FROM (SELECT %s AS g, type, reason, CASE WHEN %s THEN " FIG_WON_NOW " ELSE 0 END "
	    "AS w, count(*) AS n FROM referral_events e WHERE at >= %lld AND at < %lld AND "
	    "type != 'clicked' AND (?%zu IS NULL OR coalesce(e.referrer_id, '') NOT IN "
	    "(SELECT value FROM json_each(?%zu))) GROUP BY 1, 2, 3, 4 UNION ALL SELECT g, "
	    "'clicked', NULL, 0, n FROM temp.report_clicks) GROUP BY 1) t LEFT JOIN "
	    "temp.report_names n ON n.g = t.g ORDER BY 1", groupings[by].name,
	    groupings[by].names, picked,
	    fig_defs[FIG_ISSUED].cond, fig_defs[FIG_CLAIMED].cond, fig_defs[FIG_HELD].cond,
	    fig_defs[FIG_REJECTED].cond, rejected, fig_defs[FIG_WON].cond,
	    fig_defs[FIG_LOST].cond, fig_defs[FIG_REWARDS_ISSUED].cond, groupings[by].column,
	    fig_defs[FIG_CLAIMED].cond, (long long)lo, (long long)hi, nrej + 1, nrej + 1);
	rc = store_print_query(s, out, format, sql, args, nrej + 1);
	free(sql);
	free(picked);
	free(rejected);
	free(args);
	return rc;
}
