/* store_report.c: the referral funnel report behind shokaictl report: issued, clicked,
 * claimed, held, rejected (with a column per reason), won, lost and rewarded, counted
 * from referral_events per branch, rep, campaign or referrer. The rejection columns
 * come from the caller: the claim rules' table (handlers/referral_rules.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* What a report row is grouped by: the column's name in the output, and its value. */
static const struct {
	const char	*name;
	const char	*column;
} groupings[] = {
	[REPORT_BY_BRANCH] = { "branch", "coalesce(branch, '-')" },
	[REPORT_BY_REP] = { "rep", "coalesce(rep_code, '-')" },
	[REPORT_BY_CAMPAIGN] = { "campaign", "coalesce(campaign, '-')" },
	[REPORT_BY_REFERRER] = { "referrer", "coalesce(referrer_id, '-')" },
};

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
 * reason a bound parameter (numbered from 1). */
static char *
rejection_columns(const struct report_rejection *rej, size_t n, const char **args)
{
	char *sql = xstrdup(""), *next;

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
	}
	return sql;
}

/* The columns are figures of store_figures.c (fig_defs[], the click scan): the
 * console's dashboard and this report count the same events the same way. */
int
store_report(struct store *s, FILE *out, enum print_format format, enum report_by by,
    const char *from, const char *to, const struct report_rejection *rej, size_t nrej,
    const char *testers_json)
{
	const char **args = xcalloc(nrej + 2, sizeof(*args));
	char *sql, *rejected;
	int64_t lo, hi;
	int rc;

	for (size_t i = 0; i < nrej; i++)
		for (const char *c = rej[i].column; *c != '\0'; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
				fatalx("%s: bad column name %s", __func__, rej[i].column);
	rejected = rejection_columns(rej, nrej, args);
	/* Testers' rehearsals are not counted (store_figures.c's TESTER_FILTER). */
	args[nrej] = testers_json;
	/* Local dates as the exact range of `at` between their midnights (an open end,
	 * 0000-00-00 or 9999-99-99 or anything not a date, is no bound). */
	if (local_midnight(from, 0, &lo) == -1)
		lo = INT64_MIN;
	if (local_midnight(to, 1, &hi) == -1)
		hi = INT64_MAX;
	if (clicks_table(s, groupings[by].column, lo, hi, testers_json) == -1) {
		free(rejected);
		free(args);
		return -1;
	}
	/* Events are counted per group, type and reason first, and the columns summed from
	 * those few rows: 17 sums per event took 40 % of the time at 400,000 events. The
	 * clicks come counted (once per code, client and day) from temp.report_clicks. */
	sql = xasprintf("SELECT g AS %s, "
	    "sum(CASE WHEN %s THEN n ELSE 0 END) AS issued, "
	    "sum(CASE WHEN type = 'clicked' THEN n ELSE 0 END) AS clicked, "
	    "sum(CASE WHEN %s THEN n ELSE 0 END) AS claimed, "
	    "sum(CASE WHEN %s THEN n ELSE 0 END) AS held, "
	    "sum(CASE WHEN %s THEN n ELSE 0 END) AS rejected, %s"
	    "sum(CASE WHEN %s THEN n ELSE 0 END) AS won, "
	    "sum(CASE WHEN %s THEN n ELSE 0 END) AS lost, "
	    "sum(CASE WHEN %s THEN n ELSE 0 END) AS rewarded "
	    "FROM (SELECT %s AS g, type, reason, count(*) AS n "
	    "FROM referral_events WHERE at >= %lld AND at < %lld AND type != 'clicked' "
	    "AND (?%zu IS NULL OR coalesce(referrer_id, '') NOT IN (SELECT value FROM "
	    "json_each(?%zu))) GROUP BY 1, 2, 3 UNION ALL SELECT g, 'clicked', NULL, n FROM temp.report_clicks) "
	    "GROUP BY 1 ORDER BY 1", groupings[by].name, fig_defs[FIG_ISSUED].cond,
	    fig_defs[FIG_CLAIMED].cond, fig_defs[FIG_HELD].cond, fig_defs[FIG_REJECTED].cond,
	    rejected, fig_defs[FIG_WON].cond, fig_defs[FIG_LOST].cond,
	    fig_defs[FIG_REWARDS_ISSUED].cond, groupings[by].column, (long long)lo,
	    (long long)hi, nrej + 1, nrej + 1);
	rc = store_print_query(s, out, format, sql, args, nrej + 1);
	free(sql);
	free(rejected);
	free(args);
	return rc;
}
