/* referral_fsm.c: the referral and reward state machines, each one table: which state
 * may follow which, and who may make the move. Everything that changes a referral or a
 * reward asks here first; an illegal move is refused with a reason and changes nothing.
 * The states' names here are the stored ones; what people read and type for them is
 * wording (default_wording.yaml, through config_state_label and config_state_from_word). */
#include <stdio.h>
#include <string.h>

#include "model.h"

static const char *const ref_names[REF_STATE_COUNT] = {
	[REF_HELD] = "held",			/* velocity: waits for an operator */
	[REF_CLAIMED] = "claimed",
	[REF_CONTACTED] = "contacted",
	[REF_MEETING] = "meeting",
	[REF_WON] = "won",
	[REF_LOST] = "lost",
	[REF_SUSPICIOUS] = "suspicious",	/* a rep flagged it: an operator decides */
	[REF_REJECTED] = "rejected",
};

#define REP	ACTOR_REP
#define OP	ACTOR_OPERATOR
#define SYS	ACTOR_SYSTEM

/* allowed[from][to]: the actors who may make that move; 0: nobody. A rep works a claimed
 * referral forward (and may skip steps: a friend can sign on the first call); won, lost
 * and rejected are final; held and suspicious are for operators to settle. */
static const unsigned ref_allowed[REF_STATE_COUNT][REF_STATE_COUNT] = {
	[REF_HELD] = {
		[REF_CLAIMED] = OP, [REF_REJECTED] = OP,
	},
	[REF_CLAIMED] = {
		[REF_CONTACTED] = REP | OP, [REF_MEETING] = REP | OP, [REF_WON] = REP | OP,
		[REF_LOST] = REP | OP, [REF_SUSPICIOUS] = REP | OP, [REF_REJECTED] = OP,
	},
	[REF_CONTACTED] = {
		[REF_MEETING] = REP | OP, [REF_WON] = REP | OP, [REF_LOST] = REP | OP,
		[REF_SUSPICIOUS] = REP | OP, [REF_REJECTED] = OP,
	},
	[REF_MEETING] = {
		[REF_WON] = REP | OP, [REF_LOST] = REP | OP, [REF_SUSPICIOUS] = REP | OP,
		[REF_REJECTED] = OP,
	},
	[REF_SUSPICIOUS] = {
		[REF_CLAIMED] = OP, [REF_REJECTED] = OP,
	},
};

static const char *const reward_names[REWARD_STATE_COUNT] = {
	[REWARD_PENDING] = "pending",		/* waits for its due event and holding period */
	[REWARD_APPROVED] = "approved",		/* waits for a coupon */
	[REWARD_ISSUED] = "issued",
	[REWARD_VOIDED] = "voided",
};

static const unsigned reward_allowed[REWARD_STATE_COUNT][REWARD_STATE_COUNT] = {
	[REWARD_PENDING] = { [REWARD_APPROVED] = SYS | OP, [REWARD_VOIDED] = SYS | OP },
	[REWARD_APPROVED] = { [REWARD_ISSUED] = SYS, [REWARD_VOIDED] = OP },
};

static const char *
actor_name(unsigned actor)
{
	return actor == ACTOR_REP ? "a rep" : actor == ACTOR_OPERATOR ? "an operator" :
	    "shokai itself";
}

static int
check(const unsigned *allowed_from, const char *const *names, int from, int to,
    unsigned actor, const char *what, char *why, size_t whylen)
{
	if (from == to) {
		snprintf(why, whylen, "the %s is already %s", what, names[from]);
		return -1;
	}
	if (allowed_from[to] == 0) {
		snprintf(why, whylen, "a %s cannot go from %s to %s", what, names[from],
		    names[to]);
		return -1;
	}
	if ((allowed_from[to] & actor) == 0) {
		snprintf(why, whylen, "%s cannot move a %s from %s to %s", actor_name(actor),
		    what, names[from], names[to]);
		return -1;
	}
	return 0;
}

int
ref_transition_check(enum ref_state from, enum ref_state to, unsigned actor, char *why,
    size_t whylen)
{
	return check(ref_allowed[from], ref_names, (int)from, (int)to, actor, "referral", why,
	    whylen);
}

int
reward_transition_check(enum reward_state from, enum reward_state to, unsigned actor,
    char *why, size_t whylen)
{
	return check(reward_allowed[from], reward_names, (int)from, (int)to, actor, "reward",
	    why, whylen);
}

int
ref_state_final(enum ref_state s)
{
	for (int to = 0; to < REF_STATE_COUNT; to++)
		if (ref_allowed[s][to] != 0)
			return 0;
	return 1;
}

const char *
ref_state_name(enum ref_state s)
{
	return ref_names[s];
}

const char *
reward_state_name(enum reward_state s)
{
	return reward_names[s];
}

static int
parse(const char *const *names, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

int
ref_state_parse(const char *name, enum ref_state *out)
{
	int i = parse(ref_names, REF_STATE_COUNT, name);

	if (i >= 0)
		*out = (enum ref_state)i;
	return i >= 0 ? 0 : -1;
}

int
reward_state_parse(const char *name, enum reward_state *out)
{
	int i = parse(reward_names, REWARD_STATE_COUNT, name);

	if (i >= 0)
		*out = (enum reward_state)i;
	return i >= 0 ? 0 : -1;
}
