/* store_forget.c: shokaictl forget: a person's personal data removed from every table in
 * one transaction, their LINE user id replaced by a pseudonym where it is counted. */
#include "store_internal.h"

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
	};
	int64_t changed = 0;

	if (store_begin(s) == -1)
		return -1;
	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		sqlite3_stmt *st = NULL;
		int rc;

		if (sqlite3_prepare_v2(s->db, sql[i], -1, &st, NULL) != SQLITE_OK) {
			log_warnx("msg=\"forget failed\" detail=\"%s\"", sqlite3_errmsg(s->db));
			store_rollback(s);
			return -1;
		}
		store_bind_text(st, 1, user_id);
		store_bind_text(st, 2, pseudonym);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE) {
			log_warnx("msg=\"forget failed\" detail=\"%s\"", sqlite3_errmsg(s->db));
			store_rollback(s);
			return -1;
		}
		changed += sqlite3_changes(s->db);
	}
	return store_commit(s) == 0 ? changed : -1;
}
