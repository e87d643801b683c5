/* store_report.c: the referral funnel report behind shokaictl report: issued, clicked,
 * claimed, held, rejected (with a column per reason), won, lost and rewarded, counted
 * from referral_events per branch, rep, campaign or referrer. The rejection columns
 * come from the caller: the claim rules' table (handlers/referral_rules.c). */
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
		next = xasprintf("%ssum(type = 'rejected' AND reason IN (%s)) AS %s, ", sql, in,
		    rej[i].column);
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
	int rc;

	for (size_t i = 0; i < nrej; i++)
		for (const char *c = rej[i].column; *c != '\0'; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
				fatalx("%s: bad column name %s", __func__, rej[i].column);
	args[0] = from;
	args[1] = to;
	rejected = rejection_columns(rej, nrej, args);
	sql = xasprintf("SELECT %s AS %s, "
	    "sum(type = 'issued') AS issued, sum(type = 'clicked') AS clicked, "
	    "sum(type = 'claimed') AS claimed, sum(type = 'held') AS held, "
	    "sum(type = 'rejected') AS rejected, %s"
	    "sum(type = 'state' AND reason = 'won') AS won, "
	    "sum(type = 'state' AND reason = 'lost') AS lost, "
	    "sum(type = 'reward' AND reason LIKE 'issued:%%') AS rewarded "
	    "FROM referral_events WHERE date(at / 1000, 'unixepoch', 'localtime') "
	    "BETWEEN ?1 AND ?2 GROUP BY 1 ORDER BY 1", groupings[by].column,
	    groupings[by].name, rejected);
	rc = store_print_query(s, out, format, sql, args, nrej + 2);
	free(sql);
	free(rejected);
	free(args);
	return rc;
}
