/* ctl_rules.c: `shokaictl rules replay --since DATE`: what the rules of the config given
 * (perhaps not yet loaded by the daemon) would have decided on the claims recorded
 * since DATE, and what that changes in rewards, before an operator reloads. The rules
 * are the claim handler's own (handlers/referral_rules.c), run on a read-only
 * connection whose TEMP tables stand in for the referrals (store_replay.c): nothing
 * is written to the database. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

struct replay {
	const struct config	*cf;
	struct store		*store;
	int64_t			 claims, flips, to_rejected, to_accepted, to_held;
	int64_t			 rewards_lost, rewards_waiting, rewards_gained;
};

/* Rewards due at the claim (each stage due on claim, for this referrer's audience,
 * each side with a pool); those due at later steps are not known yet. */
static int64_t
rewards_due_at_claim(const struct config_campaign *cp, int partner)
{
	int64_t n = 0;

	for (size_t g = 0; cp != NULL && g < cp->n_stages; g++) {
		const struct config_reward_stage *sg = &cp->stages[g];

		if (sg->due_on != REF_CLAIMED ||
		    (sg->audience == AUDIENCE_PARTNERS && partner != 1) ||
		    (sg->audience == AUDIENCE_CUSTOMERS && partner == 1))
			continue;
		n += (sg->referrer.pool != NULL) + (sg->referee.pool != NULL);
	}
	return n;
}

static int
replay_one(void *arg, const struct replay_claim *c)
{
	struct replay *r = arg;
	struct refcode_owner o;
	struct event ev;
	struct handler_ctx hc = { .cfg = r->cf, .store = r->store, .now_ms = c->at };
	const struct claim_rule *rule;
	const struct config_campaign *cp;
	char was[64], would[64];
	int held = 0, partner, rc;
	int64_t rewards = 0;

	if ((rc = store_refcode_lookup(r->store, c->code, &o)) != 1)
		return rc;	/* 0: the code is gone (not replayable); -1: error */
	memset(&ev, 0, sizeof(ev));
	ev.platform = PLATFORM_LINE;
	ev.channel = (char *)(uintptr_t)c->channel;
	ev.user_id = (char *)(uintptr_t)c->referee;
	cp = config_campaign(r->cf, o.campaign);
	rule = claim_broken_rule(&hc, &(struct claim_facts){ .ev = &ev, .owner = &o,
	    .campaign = cp });
	if (rule == NULL)
		held = claim_velocity_held(&hc, cp, c->code);
	partner = store_customer_partner(r->store, o.channel, o.user_id);
	refcode_owner_clear(&o);
	r->claims++;
	if (strcmp(c->type, "rejected") == 0)
		snprintf(was, sizeof(was), "rejected: %s", c->reason);
	else
		snprintf(was, sizeof(was), "%s", strcmp(c->type, "held") == 0 ? "held" :
		    "accepted");
	if (rule != NULL)
		snprintf(would, sizeof(would), "rejected: %s", rule->reason);
	else
		snprintf(would, sizeof(would), "%s", held ? "held" : "accepted");
	if (rule == NULL && store_replay_record(r->store, c, held) == -1)
		return -1;
	if (strcmp(was, would) == 0)
		return 0;
	/* What the new decision changes in rewards: those of a referral that would not
	 * be accepted are not given (or wait for review when held); a rejected claim that
	 * would be accepted brings the rewards due at a claim. */
	if (c->referral_id > 0 && rule != NULL) {
		if ((rewards = store_replay_rewards(r->store, c->referral_id)) == -1)
			return -1;
		r->rewards_lost += rewards;
		rewards = -rewards;
	} else if (c->referral_id > 0 && held && strcmp(c->type, "claimed") == 0) {
		if ((rewards = store_replay_rewards(r->store, c->referral_id)) == -1)
			return -1;
		r->rewards_waiting += rewards;
		rewards = -rewards;
	} else if (c->referral_id == 0 && rule == NULL && !held) {
		rewards = rewards_due_at_claim(cp, partner);
		r->rewards_gained += rewards;
	}
	r->flips++;
	if (rule != NULL)
		r->to_rejected++;
	else if (held)
		r->to_held++;
	else
		r->to_accepted++;
	return store_replay_flip(r->store, c, was, would, rewards);
}

/* rules replay --since DATE [--format F] */
int
rules_cmd(struct config *cf, int argc, char **argv)
{
	const char *reasons[CLAIM_REASON_COUNT], *since = NULL;
	enum print_format format = PRINT_TABLE;
	struct replay r = { .cf = cf };
	size_t nreasons = 0;
	char why[WHY_MAX];
	int64_t since_ms;
	int rc = 1;

	if (ctl_take_format(&argc, argv, &format) == -1)
		return 2;
	if (argc < 1 || strcmp(argv[0], "replay") != 0)
		return 2;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--since") == 0 && i + 1 < argc)
			since = argv[++i];
		else
			return 2;
	}
	if (since == NULL)
		return 2;
	if (local_midnight(since, 0, &since_ms) == -1) {
		fprintf(stderr, "shokaictl: rules replay --since %s: not a date (YYYY-MM-DD, "
		    "a real day)\n", since);
		return 1;
	}
	/* Only the rules checked against a found code are decisions to replay. */
	for (size_t i = 0; i < CLAIM_REASON_COUNT; i++)
		if (claim_rules[i].check != NULL)
			reasons[nreasons++] = claim_rules[i].reason;
	if ((r.store = store_open_reader(cf->sqlite_path, (int)cf->busy_timeout_ms, why,
	    sizeof(why))) == NULL) {
		fprintf(stderr, "shokaictl: %s\n", why);
		return 1;
	}
	if (store_replay_open(r.store, since_ms) == -1 ||
	    store_replay_claims(r.store, since_ms, reasons, nreasons, replay_one, &r) == -1) {
		fprintf(stderr, "shokaictl: rules replay: %s\n", store_errmsg(r.store));
		goto done;
	}
	/* A table says "nothing changes" in its summary; csv and json are for programs,
	 * which want their header or [] even then. */
	if ((r.flips > 0 || format != PRINT_TABLE) &&
	    store_replay_print(r.store, stdout, format) == -1)
		goto done;
	if (format == PRINT_TABLE)
		printf("%s%lld claim(s) since %s replayed with the rules of this config: %lld "
		    "would be decided otherwise (%lld accepted, %lld rejected, %lld held). "
		    "Rewards: %lld would not be given, %lld would wait for review, %lld more "
		    "would be due at the claim. Nothing was changed.\n", r.flips > 0 ? "\n" : "",
		    (long long)r.claims, since, (long long)r.flips, (long long)r.to_accepted,
		    (long long)r.to_rejected, (long long)r.to_held, (long long)r.rewards_lost,
		    (long long)r.rewards_waiting, (long long)r.rewards_gained);
	rc = 0;
done:
	store_close(r.store);
	return rc;
}
