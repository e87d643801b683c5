/* config_followup.c: when shokai follows up by itself: a campaign's reminders (one
 * reminder of an invite nobody clicked, the ask after a win, a monthly limit per
 * person) and, under referral:, the branch managers' Monday digest and the escalation
 * of a referral no rep acted on within some business hours. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_yaml.h"

#define REMIND_MIN_MS	1000LL			/* seconds: integration tests use them */
#define REMIND_MAX_MS	(90LL * 86400 * 1000)
#define ASK_MAX_MS	(86400LL * 1000)
#define ESCALATE_MAX_MS	(30LL * 86400 * 1000)	/* of open time */

void
cfg_parse_reminders(struct cfg *c, struct cnode m, const char *what,
    struct config_campaign *cp)
{
	static const char *const allowed[] = { "unshared_after", "ask_after_won",
	    "per_person_per_month", NULL };

	if (cfg_check_mapping(c, m, what, allowed, NULL) != 1)
		return;
	cfg_get_duration(c, m, what, "unshared_after", REMIND_MIN_MS, REMIND_MAX_MS,
	    &cp->remind_unshared_ms);
	cfg_get_bool(c, m, what, "ask_after_won", &cp->ask_after_won);
	cfg_get_int(c, m, what, "per_person_per_month", 1, 100, &cp->reminders_per_month);
}

/* "08:30" into minutes after midnight; -1 if it is not a time of day. */
static int
parse_at(const char *s, int *minutes)
{
	int h, m;
	char tail;

	if (strlen(s) != 5 || sscanf(s, "%2d:%2d%c", &h, &m, &tail) != 2 || s[2] != ':' ||
	    h < 0 || h > 23 || m < 0 || m > 59)
		return -1;
	*minutes = h * 60 + m;
	return 0;
}

static void
parse_digest(struct cfg *c, struct cnode m, struct config_referral *r)
{
	static const char *const keys[] = { "day", "at", NULL };
	static const char *const days[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };
	char *day = NULL, *at = NULL;
	struct cnode v;

	if (cfg_check_mapping(c, m, "referral.digest", keys, keys) != 1)
		return;
	if (cfg_get_str(c, m, "referral.digest", "day", &day) == 1) {
		for (int i = 0; i < 7; i++)
			if (strcmp(day, days[i]) == 0)
				r->digest_day = i;
		if (r->digest_day == -1) {
			cfg_map_get(m, "day", &v);
			cfg_err(c, v, "referral.digest.day: expected one of sun mon tue wed thu "
			    "fri sat, not '%s'", day);
		}
	}
	if (cfg_get_str(c, m, "referral.digest", "at", &at) == 1 &&
	    parse_at(at, &r->digest_at_min) == -1) {
		r->digest_day = -1;
		cfg_map_get(m, "at", &v);
		cfg_err(c, v, "referral.digest.at: expected a time such as \"08:30\"");
	}
	free(day);
	free(at);
}

/* Both go to branch managers on LINE WORKS, through referral.notify_bot. */
void
cfg_parse_followup(struct cfg *c, struct cnode m)
{
	struct config_referral *r = &c->out->referral;
	struct cnode v;

	if (cfg_map_get(m, "digest", &v)) {
		parse_digest(c, v, r);
		if (r->notify_bot == NULL)
			cfg_err(c, v, "referral.digest: needs referral.notify_bot (the LINE WORKS "
			    "bot that writes to branch managers)");
	}
	if (cfg_get_duration(c, m, "referral", "escalate_unacted_after", 1000, ESCALATE_MAX_MS,
	    &r->escalate_after_ms) == 1 && r->notify_bot == NULL) {
		cfg_map_get(m, "escalate_unacted_after", &v);
		cfg_err(c, v, "referral.escalate_unacted_after: needs referral.notify_bot (the "
		    "LINE WORKS bot that writes to branch managers)");
	}
	/* Seconds for the integration tests; a day at most: a question days after the
	 * follow is no longer about how they came. */
	cfg_get_duration(c, m, "referral", "ask_referrer_after", 1000, ASK_MAX_MS,
	    &r->ask_referrer_after_ms);
}
