/* referral_rules.c: the claim rules, one table. Each rule has the reason a rejected claim
 * is recorded with, the report column that counts it and, for the rules checked against
 * a found code, the check itself, tried in table order (the first rule broken is the
 * reason). The claim handler, the store (which reasons are wrong codes) and the report
 * (its rejection columns) all read this table: a new fraud rule is a new row here, its
 * config key and its test. */
#include <string.h>
#include <time.h>

#include "handlers.h"

/* Start of the current cap period (local day, week from Monday, or month), unix ms. */
static int64_t
period_start(enum campaign_period per, time_t now)
{
	struct tm tm;

	localtime_r(&now, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	if (per == PERIOD_WEEK)
		tm.tm_mday -= (tm.tm_wday + 6) % 7;
	else if (per == PERIOD_MONTH)
		tm.tm_mday = 1;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm) * 1000;
}

static int
campaign_closed(struct handler_ctx *hc, struct claim_facts *f)
{
	char today[11];

	local_date(hc->now_ms, today);
	return f->campaign == NULL || !config_campaign_running(f->campaign, today);
}

static int
self_referral(struct handler_ctx *hc, struct claim_facts *f)
{
	(void)hc;
	return strcmp(f->owner->user_id, f->ev->user_id) == 0;
}

/* A store error counts as broken: a claim is refused rather than paid twice. */
static int
already_referred(struct handler_ctx *hc, struct claim_facts *f)
{
	int64_t id;

	return store_referral_of_referee(hc->store, f->ev->channel, f->ev->user_id, &id) != 0;
}

static int
mutual_referral(struct handler_ctx *hc, struct claim_facts *f)
{
	int64_t id;

	return store_referral_pair(hc->store, f->ev->channel, f->ev->user_id,
	    f->owner->user_id, &id) != 0;
}

/* A friend who was on the account before the code was issued: 1 if they blocked it and
 * came back (then unfollowed_at says so), 2 if they never left, 0 if new. Read once per
 * claim: two rules ask. */
static int
known_before(struct handler_ctx *hc, struct claim_facts *f)
{
	struct user_record u;

	if (f->known_before == 0)
		f->known_before = 1 + (store_user_get(hc->store, f->ev->channel, f->ev->user_id,
		    &u) != 1 || u.first_seen_at >= f->owner->issued_at ? 0 :
		    u.unfollowed_at != 0 ? 1 : 2);
	return f->known_before - 1;
}

/* A partner registers their own clients, who may well follow the account already: with
 * the campaign's partner_clients the two rules about earlier friendship do not hold for a
 * partner's code. A customer's code keeps them; nobody may refer themselves. A store error
 * counts as no partner (the stricter rules). */
static int
partner_client(struct handler_ctx *hc, struct claim_facts *f)
{
	return f->campaign->partner_clients &&
	    store_customer_partner(hc->store, f->owner->channel, f->owner->user_id) == 1;
}

static int
re_added_after_block(struct handler_ctx *hc, struct claim_facts *f)
{
	return known_before(hc, f) == 1 && !partner_client(hc, f);
}

static int
existing_friend(struct handler_ctx *hc, struct claim_facts *f)
{
	return f->campaign->exclude_existing_friends && known_before(hc, f) == 2 &&
	    !partner_client(hc, f);
}

static int
referrer_cap(struct handler_ctx *hc, struct claim_facts *f)
{
	const struct config_campaign *cp = f->campaign;
	int64_t n;

	if (cp->max_claims <= 0)
		return 0;
	n = store_referrals_since(hc->store, f->ev->channel, f->owner->user_id,
	    period_start(cp->max_claims_per, (time_t)(hc->now_ms / 1000)));
	return n < 0 || n >= cp->max_claims;
}

#define RULE(r, col, fn)	{ .reason = r, .report_column = col, .check = fn }
#define WRONG_CODE(r, col)	{ .reason = r, .report_column = col, .wrong_code = 1 }

const struct claim_rule claim_rules[CLAIM_REASON_COUNT] = {
	[CLAIM_CAMPAIGN_CLOSED] = RULE("campaign_closed", "rej_closed", campaign_closed),
	[CLAIM_SELF_REFERRAL] = RULE("self_referral", "rej_self", self_referral),
	[CLAIM_ALREADY_REFERRED] = RULE("already_referred", "rej_already", already_referred),
	[CLAIM_MUTUAL_REFERRAL] = RULE("mutual_referral", "rej_mutual", mutual_referral),
	[CLAIM_RE_ADDED_AFTER_BLOCK] = RULE("re_added_after_block", "rej_readded",
	    re_added_after_block),
	[CLAIM_EXISTING_FRIEND] = RULE("existing_friend", "rej_existing", existing_friend),
	[CLAIM_REFERRER_CAP] = RULE("referrer_cap", "rej_cap", referrer_cap),
	/* Decided before a code is found: the code is not one of ours, or the sender has
	 * sent too many such codes today. Both are wrong codes. */
	[CLAIM_UNKNOWN_CODE] = WRONG_CODE("unknown_code", "rej_unknown"),
	[CLAIM_TOO_MANY_WRONG_CODES] = WRONG_CODE("too_many_wrong_codes", "rej_unknown"),
};

const struct claim_rule *
claim_broken_rule(struct handler_ctx *hc, struct claim_facts *f)
{
	for (size_t i = 0; i < CLAIM_REASON_COUNT; i++)
		if (claim_rules[i].check != NULL && claim_rules[i].check(hc, f))
			return &claim_rules[i];
	return NULL;
}

/* Many claims on one code in a short time: real, perhaps, but an operator looks first.
 * A store error holds the claim too. */
int
claim_velocity_held(struct handler_ctx *hc, const struct config_campaign *cp,
    const char *code)
{
	int64_t recent;

	if (cp == NULL || cp->velocity_claims <= 0)
		return 0;
	recent = store_code_claims_since(hc->store, code, hc->now_ms - cp->velocity_within_ms);
	return recent < 0 || recent >= cp->velocity_claims;
}
