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

/* Days from 1970-01-01 to the proleptic Gregorian date y-m-d (Howard Hinnant's
 * days_from_civil). */
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

/* Unix ms of UTC midnight of a YYYY-MM-DD date plus shift days; dflt when s is not such a
 * date (the report's open ends, 0000-00-00 and 9999-99-99, or anything else). */
static int64_t
date_ms(const char *s, int shift, int64_t dflt)
{
	int v[3] = { 0, 0, 0 };
	static const int len[3] = { 4, 2, 2 };
	const char *p = s;

	for (int f = 0; f < 3; f++) {
		for (int i = 0; i < len[f]; i++, p++) {
			if (*p < '0' || *p > '9')
				return dflt;
			v[f] = v[f] * 10 + (*p - '0');
		}
		if (*p++ != (f < 2 ? '-' : '\0'))
			return dflt;
	}
	if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31)
		return dflt;
	return (days_from_civil(v[0], v[1], v[2]) + shift) * 86400000LL;
}

/* The rejection columns' SQL, in the order the columns are first named, with every
 * reason a bound parameter (numbered from 3: 1 and 2 are the dates). */
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
			args[2 + k] = rej[k].reason;
			next = xasprintf("%s%s?%zu", in, in[0] ? ", " : "", k + 3);
			free(in);
			in = next;
		}
		next = xasprintf("%ssum(CASE WHEN type = 'rejected' AND reason IN (%s) THEN n "
		    "ELSE 0 END) AS %s, ", sql, in, rej[i].column);
		free(in);
		free(sql);
		sql = next;
	}
	return sql;
}

int
store_report(struct store *s, FILE *out, enum print_format format, enum report_by by,
    const char *from, const char *to, const struct report_rejection *rej, size_t nrej)
{
	const char **args = xcalloc(nrej + 2, sizeof(*args));
	char *sql, *rejected;
	int64_t lo, hi;
	int rc;

	for (size_t i = 0; i < nrej; i++)
		for (const char *c = rej[i].column; *c != '\0'; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
				fatalx("%s: bad column name %s", __func__, rej[i].column);
	args[0] = from;
	args[1] = to;
	rejected = rejection_columns(rej, nrej, args);
	/* The dates are local; the range on `at` (which the index referral_events_by_at
	 * answers) is a day wider on each side than any UTC offset can move a local date
	 * (-12 h to +14 h), so only the exact date() test decides which events count. */
	lo = date_ms(from, -1, INT64_MIN);
	hi = date_ms(to, 2, INT64_MAX);
	/* Events are counted per group, type and reason first, and the columns summed from
	 * those few rows: 17 sums per event took 40 % of the time at 400,000 events. */
	sql = xasprintf("SELECT g AS %s, "
	    "sum(CASE WHEN type = 'issued' THEN n ELSE 0 END) AS issued, "
	    "sum(CASE WHEN type = 'clicked' THEN n ELSE 0 END) AS clicked, "
	    "sum(CASE WHEN type = 'claimed' THEN n ELSE 0 END) AS claimed, "
	    "sum(CASE WHEN type = 'held' THEN n ELSE 0 END) AS held, "
	    "sum(CASE WHEN type = 'rejected' THEN n ELSE 0 END) AS rejected, %s"
	    "sum(CASE WHEN type = 'state' AND reason = 'won' THEN n ELSE 0 END) AS won, "
	    "sum(CASE WHEN type = 'state' AND reason = 'lost' THEN n ELSE 0 END) AS lost, "
	    "sum(CASE WHEN type = 'reward' AND reason LIKE 'issued:%%' THEN n ELSE 0 END) "
	    "AS rewarded FROM (SELECT %s AS g, type, reason, count(*) AS n "
	    "FROM referral_events WHERE at >= %lld AND at < %lld AND "
	    "date(at / 1000, 'unixepoch', 'localtime') BETWEEN ?1 AND ?2 "
	    "GROUP BY 1, 2, 3) GROUP BY 1 ORDER BY 1", groupings[by].name, rejected,
	    groupings[by].column, (long long)lo, (long long)hi);
	rc = store_print_query(s, out, format, sql, args, nrej + 2);
	free(sql);
	free(rejected);
	free(args);
	return rc;
}
