/* store_forget.c: shokaictl forget (a person's personal data removed from every table,
 * their LINE user id replaced by a pseudonym where it is counted) and shokaictl reset
 * (a tester's referral state deleted): each one transaction. */
#include "store_internal.h"

/* Each of sql with ?1 = user_id and ?2 = second (where used), all in one transaction:
 * the rows changed, or -1 with nothing changed. */
static int64_t
run_in_one(struct store *s, const char *what, const char *const *sql, size_t n,
    const char *user_id, const char *second)
{
	int64_t changed = 0;

	if (store_begin(s) == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *st = NULL;
		int rc = SQLITE_ERROR;

		if (sqlite3_prepare_v2(s->db, sql[i], -1, &st, NULL) == SQLITE_OK) {
			store_bind_text(st, 1, user_id);
			if (second != NULL)
				store_bind_text(st, 2, second);
			rc = sqlite3_step(st);
		}
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE) {
			log_warnx("msg=\"%s failed\" detail=\"%s\"", what, sqlite3_errmsg(s->db));
			store_rollback(s);
			return -1;
		}
		changed += sqlite3_changes(s->db);
	}
	return store_commit(s) == 0 ? changed : -1;
}

/* Removes a person's personal data: their profile, chat state and messages are
 * deleted; in the referral tables their LINE user id is replaced by a pseudonym, so
 * every count (the funnel, the reports) stays as it was. One transaction. Returns the
 * number of rows changed, or -1. */
int64_t
store_forget_user(struct store *s, const char *user_id, const char *pseudonym)
{
	static const char *const sql[] = {
		/* Messages sent to others that named them (a rep's notification): the
		 * record of the send stays, its text goes. Before the profile is gone. */
		("UPDATE outbox SET body = '{}' WHERE state != 'pending' AND (instr(body, ?1) OR "
		"instr(body, coalesce((SELECT display_name FROM profiles WHERE user_id = ?1 "
		"AND display_name != '' LIMIT 1), ?1)))"),
		"DELETE FROM profiles WHERE user_id = ?1",
		"DELETE FROM reply_cooldowns WHERE user_id = ?1",
		"DELETE FROM users WHERE user_id = ?1",
		"UPDATE customers SET user_id = ?2 WHERE user_id = ?1",
		"UPDATE referral_codes SET user_id = ?2 WHERE user_id = ?1",
		"UPDATE referrals SET referrer_id = ?2 WHERE referrer_id = ?1",
		"UPDATE referrals SET referee_id = ?2 WHERE referee_id = ?1",
		"UPDATE referral_events SET referrer_id = ?2 WHERE referrer_id = ?1",
		"UPDATE referral_events SET referee_id = ?2 WHERE referee_id = ?1",
		"UPDATE rewards SET user_id = ?2 WHERE user_id = ?1",
		/* An announcement's recipients stay counted; their tags go. */
		"UPDATE announce_recipients SET user_id = ?2 WHERE user_id = ?1",
		"DELETE FROM customer_tags WHERE user_id = ?1",
		/* What they wrote, and what was sent to them. */
		("UPDATE inbox SET user_id = ?2, text = NULL, postback_data = NULL, "
		"postback_params = NULL, reply_token = NULL WHERE user_id = ?1"),
		"DELETE FROM outbox WHERE target = ?1 OR fallback_to = ?1",
		/* What operators did to them stays on record, under the pseudonym. */
		("UPDATE audit_log SET target = substr(target, 1, length(target) - length(?1)) "
		"|| ?2 WHERE " STORE_AUDIT_PERSON_TARGET " AND "
		"substr(target, -length(?1) - 1) = '/' || ?1"),
	};

	return run_in_one(s, "forget", sql, sizeof(sql) / sizeof(sql[0]), user_id, pseudonym);
}

/* The referrals a tester is in: as referrer, as friend, or on one of their codes. */
#define TESTER_REFERRALS \
	"(SELECT id FROM referrals WHERE referrer_id = ?1 OR referee_id = ?1 OR code IN " \
	"(SELECT code FROM referral_codes WHERE user_id = ?1))"
#define TESTER_CODES	"(SELECT code FROM referral_codes WHERE user_id = ?1)"

/* shokaictl reset: a tester's referral state deleted, not pseudonymised (a rehearsal
 * is not the campaign's), so they can walk the flow again as a new friend. Children
 * before parents (coupons, rewards, notes, follow-ups, events, referrals, codes), then
 * their rep, questions, handoffs, conversation and friendship. A coupon a tester was
 * given is deleted, not returned: its code was sent. One transaction. Returns the
 * number of rows deleted, or -1. */
int64_t
store_reset_tester(struct store *s, const char *user_id)
{
	static const char *const sql[] = {
		("DELETE FROM coupons WHERE reward_id IN (SELECT id FROM rewards WHERE "
		"referral_id IN " TESTER_REFERRALS ")"),
		"DELETE FROM rewards WHERE referral_id IN " TESTER_REFERRALS,
		"DELETE FROM referral_notes WHERE referral_id IN " TESTER_REFERRALS,
		("DELETE FROM nudges WHERE person = ?1 OR (kind IN ('ask', 'escalate') AND "
		"subject IN (SELECT CAST(id AS TEXT) FROM " TESTER_REFERRALS ")) OR (kind = "
		"'remind' AND subject IN " TESTER_CODES ")"),
		("DELETE FROM referral_events WHERE referrer_id = ?1 OR referee_id = ?1 OR "
		"referral_id IN " TESTER_REFERRALS " OR code IN " TESTER_CODES),
		"DELETE FROM referrals WHERE id IN " TESTER_REFERRALS,
		"DELETE FROM referral_codes WHERE user_id = ?1",
		"DELETE FROM referrer_asks WHERE user_id = ?1",
		"DELETE FROM customers WHERE user_id = ?1",
		"DELETE FROM handoffs WHERE user_id = ?1",
		"DELETE FROM conversation WHERE user_id = ?1",
		"DELETE FROM reply_cooldowns WHERE user_id = ?1",
		"DELETE FROM profiles WHERE user_id = ?1",
		"DELETE FROM users WHERE user_id = ?1",
	};

	return run_in_one(s, "reset", sql, sizeof(sql) / sizeof(sql[0]), user_id, NULL);
}
