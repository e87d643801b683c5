/* test_referral_fsm.c: the referral and reward state machines: the moves a rep makes,
 * what only operators may do, final states, and the exact reasons for refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "../../daemon/shokaid.h"

static void
test_rep_works_a_referral_forward(void **state)
{
	char why[128];

	(void)state;
	assert_int_equal(ref_transition_check(REF_CLAIMED, REF_CONTACTED, ACTOR_REP, why,
	    sizeof(why)), 0);
	assert_int_equal(ref_transition_check(REF_CONTACTED, REF_MEETING, ACTOR_REP, why,
	    sizeof(why)), 0);
	assert_int_equal(ref_transition_check(REF_MEETING, REF_WON, ACTOR_REP, why,
	    sizeof(why)), 0);
	/* A friend can sign on the first call. */
	assert_int_equal(ref_transition_check(REF_CLAIMED, REF_WON, ACTOR_REP, why,
	    sizeof(why)), 0);
	assert_int_equal(ref_transition_check(REF_MEETING, REF_SUSPICIOUS, ACTOR_REP, why,
	    sizeof(why)), 0);
}

static void
test_refusals_say_why(void **state)
{
	char why[128];

	(void)state;
	assert_int_equal(ref_transition_check(REF_WON, REF_LOST, ACTOR_OPERATOR, why,
	    sizeof(why)), -1);
	assert_string_equal(why, "a referral cannot go from won to lost");
	assert_int_equal(ref_transition_check(REF_MEETING, REF_CONTACTED, ACTOR_REP, why,
	    sizeof(why)), -1);
	assert_string_equal(why, "a referral cannot go from meeting to contacted");
	assert_int_equal(ref_transition_check(REF_HELD, REF_CLAIMED, ACTOR_REP, why,
	    sizeof(why)), -1);
	assert_string_equal(why, "a rep cannot move a referral from held to claimed");
	assert_int_equal(ref_transition_check(REF_SUSPICIOUS, REF_REJECTED, ACTOR_REP, why,
	    sizeof(why)), -1);
	assert_int_equal(ref_transition_check(REF_WON, REF_WON, ACTOR_REP, why,
	    sizeof(why)), -1);
	assert_string_equal(why, "the referral is already won");
	assert_int_equal(ref_transition_check(REF_CLAIMED, REF_REJECTED, ACTOR_REP, why,
	    sizeof(why)), -1);
}

static void
test_final_states(void **state)
{
	(void)state;
	assert_true(ref_state_final(REF_WON));
	assert_true(ref_state_final(REF_LOST));
	assert_true(ref_state_final(REF_REJECTED));
	assert_false(ref_state_final(REF_CLAIMED));
	assert_false(ref_state_final(REF_HELD));
	assert_false(ref_state_final(REF_SUSPICIOUS));
	/* Nothing leaves a final state, whoever asks. */
	for (int to = 0; to < REF_STATE_COUNT; to++) {
		char why[128];

		assert_int_equal(ref_transition_check(REF_WON, (enum ref_state)to,
		    ACTOR_REP | ACTOR_OPERATOR | ACTOR_SYSTEM, why, sizeof(why)), -1);
	}
}

static void
test_rewards(void **state)
{
	char why[128];

	(void)state;
	assert_int_equal(reward_transition_check(REWARD_PENDING, REWARD_APPROVED,
	    ACTOR_SYSTEM, why, sizeof(why)), 0);
	assert_int_equal(reward_transition_check(REWARD_APPROVED, REWARD_ISSUED,
	    ACTOR_SYSTEM, why, sizeof(why)), 0);
	/* Issuing hands out a coupon: only shokai does it, inside that transaction. */
	assert_int_equal(reward_transition_check(REWARD_APPROVED, REWARD_ISSUED,
	    ACTOR_OPERATOR, why, sizeof(why)), -1);
	assert_string_equal(why, "an operator cannot move a reward from approved to issued");
	assert_int_equal(reward_transition_check(REWARD_ISSUED, REWARD_VOIDED,
	    ACTOR_OPERATOR, why, sizeof(why)), -1);
	assert_string_equal(why, "a reward cannot go from issued to voided");
	assert_int_equal(reward_transition_check(REWARD_PENDING, REWARD_ISSUED,
	    ACTOR_SYSTEM, why, sizeof(why)), -1);
}

static void
test_names_and_words(void **state)
{
	enum ref_state s;
	enum reward_state r;

	(void)state;
	for (int i = 0; i < REF_STATE_COUNT; i++) {
		assert_int_equal(ref_state_parse(ref_state_name((enum ref_state)i), &s), 0);
		assert_int_equal(s, i);
	}
	for (int i = 0; i < REWARD_STATE_COUNT; i++) {
		assert_int_equal(reward_state_parse(reward_state_name((enum reward_state)i), &r),
		    0);
		assert_int_equal(r, i);
	}
	assert_int_equal(ref_state_parse("closed", &s), -1);
	/* What reps read and type for a state is wording: test_wording.c. */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rep_works_a_referral_forward),
		cmocka_unit_test(test_refusals_say_why),
		cmocka_unit_test(test_final_states),
		cmocka_unit_test(test_rewards),
		cmocka_unit_test(test_names_and_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
