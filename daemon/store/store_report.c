/* store_report.c: the referral funnel report behind shokaictl report: issued, clicked,
 * claimed, held, rejected (with a column per reason), won, lost and rewarded, counted
 * from referral_events per branch, rep, campaign or referrer. The rejection columns
 * name the reasons the claim rules write (handlers/referral_claim.c). */
#include <stdlib.h>

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

int
store_report(struct store *s, FILE *out, enum print_format format, enum report_by by,
    const char *from, const char *to)
{
	const char *args[] = { from, to };
	char *sql;
	int rc;

	sql = xasprintf("SELECT %s AS %s, "
	    "sum(type = 'issued') AS issued, sum(type = 'clicked') AS clicked, "
	    "sum(type = 'claimed') AS claimed, sum(type = 'held') AS held, "
	    "sum(type = 'rejected') AS rejected, "
	    "sum(type = 'rejected' AND reason = 'self_referral') AS rej_self, "
	    "sum(type = 'rejected' AND reason = 'already_referred') AS rej_already, "
	    "sum(type = 'rejected' AND reason = 'existing_friend') AS rej_existing, "
	    "sum(type = 'rejected' AND reason = 're_added_after_block') AS rej_readded, "
	    "sum(type = 'rejected' AND reason = 'mutual_referral') AS rej_mutual, "
	    "sum(type = 'rejected' AND reason = 'referrer_cap') AS rej_cap, "
	    "sum(type = 'rejected' AND reason = 'campaign_closed') AS rej_closed, "
	    "sum(type = 'rejected' AND reason IN ('unknown_code', 'too_many_wrong_codes')) "
	    "AS rej_unknown, "
	    "sum(type = 'state' AND reason = 'won') AS won, "
	    "sum(type = 'state' AND reason = 'lost') AS lost, "
	    "sum(type = 'reward' AND reason LIKE 'issued:%%') AS rewarded "
	    "FROM referral_events WHERE date(at / 1000, 'unixepoch', 'localtime') "
	    "BETWEEN ?1 AND ?2 GROUP BY 1 ORDER BY 1", groupings[by].column,
	    groupings[by].name);
	rc = store_print_query(s, out, format, sql, args, 2);
	free(sql);
	return rc;
}
