/* store_asks.c: the friends asked whether someone referred them (referrer_asks), and
 * the customers whose LINE names a friend's answer is compared with. A row is taken in
 * the transaction that queues the question: that is what makes it once. */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* Its statements run per tick or per answer: kept prepared (store_oneoff). */
static sqlite3_stmt *
prepare(struct store *s, const char *sql)
{
	sqlite3_stmt *st = store_oneoff(s, sql);

	if (st == NULL)
		log_warnx("%s: %s", __func__, sqlite3_errmsg(s->db));
	return st;
}

static void
friend_row(sqlite3_stmt *st, void *out)
{
	struct nudge_code *c = out;

	c->code = NULL;
	c->channel = store_column_str(st, 0);
	c->user_id = store_column_str(st, 1);
	c->issued_at = sqlite3_column_int64(st, 2);
}

/* New friends (first follow) in [lo, hi), still friends, never asked, who sent no code
 * (no referral, no claim recorded, held or rejected) and have no rep of their own (a
 * rep's link or an import says who brought them). users_followed reads the range. */
int
store_ask_due(struct store *s, int64_t lo, int64_t hi, size_t max,
    struct nudge_code **out, size_t *n)
{
	sqlite3_stmt *st = prepare(s, "SELECT u.channel, u.user_id, u.followed_at FROM users "
	    "u WHERE u.followed_at >= ?1 AND u.followed_at < ?2 AND u.is_friend = 1 AND "
	    "u.follows = 1 AND NOT EXISTS (SELECT 1 FROM referrer_asks a WHERE a.channel = "
	    "u.channel AND a.user_id = u.user_id) AND NOT EXISTS (SELECT 1 FROM referrals r "
	    "WHERE r.channel = u.channel AND r.referee_id = u.user_id) AND NOT EXISTS (SELECT "
	    "1 FROM referral_events e WHERE e.referee_id = u.user_id AND e.type IN "
	    "('claimed', 'held', 'rejected')) AND NOT EXISTS (SELECT 1 FROM customers c WHERE "
	    "c.channel = u.channel AND c.user_id = u.user_id AND c.rep_code IS NOT NULL) "
	    "ORDER BY u.followed_at LIMIT ?3");
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, lo);
	sqlite3_bind_int64(st, 2, hi);
	sqlite3_bind_int64(st, 3, (int64_t)max);
	*out = store_many_rows(st, friend_row, sizeof(**out), max, n, &rc);
	store_oneoff_release(st);
	return rc;
}

int
store_ask_take(struct store *s, const char *channel, const char *user_id, int64_t at)
{
	sqlite3_stmt *st = prepare(s, "INSERT OR IGNORE INTO referrer_asks (channel, user_id, "
	    "state, asked_at) VALUES (?1, ?2, 'asked', ?3)");
	int rc;

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, user_id);
	sqlite3_bind_int64(st, 3, at);
	rc = store_step(s, st);
	if (rc == 0)
		rc = sqlite3_changes(s->db) > 0 ? 1 : 0;
	store_oneoff_release(st);
	return rc;
}

int
store_ask_state(struct store *s, const char *channel, const char *user_id, char **state)
{
	sqlite3_stmt *st = prepare(s, "SELECT state FROM referrer_asks WHERE channel = ?1 AND "
	    "user_id = ?2");
	int rc;

	*state = NULL;
	if (st == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, user_id);
	rc = store_query_text(s, st, state);
	store_oneoff_release(st);
	return rc;
}

int
store_ask_answer(struct store *s, const char *channel, const char *user_id,
    const struct ask_answer *a)
{
	/* What was typed and what it matched stay when it is decided later. */
	sqlite3_stmt *st = prepare(s, "UPDATE referrer_asks SET state = ?3, typed = "
	    "coalesce(?4, typed), typed_at = coalesce(?5, typed_at), matches = coalesce(?6, "
	    "matches), referral_id = coalesce(?7, referral_id) WHERE channel = ?1 AND "
	    "user_id = ?2");
	int rc;

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, user_id);
	store_bind_text(st, 3, a->state);
	store_bind_text(st, 4, a->typed);
	if (a->typed != NULL) {
		sqlite3_bind_int64(st, 5, a->at);
		sqlite3_bind_int64(st, 6, a->matches);
	}
	if (a->referral_id > 0)
		sqlite3_bind_int64(st, 7, a->referral_id);
	rc = store_step(s, st);
	store_oneoff_release(st);
	return rc;
}

static void
named_row(sqlite3_stmt *st, void *out)
{
	struct named_code *c = out;

	c->code = store_column_str(st, 0);
	c->user_id = store_column_str(st, 1);
	c->campaign = store_column_str(st, 2);
	c->display_name = store_column_str(st, 3);
}

/* Customers issued a code in the campaign on the channel, with their LINE name: the
 * caller compares the names normalised, which SQL cannot. */
int
store_named_codes(struct store *s, const char *channel, const char *campaign,
    size_t max, struct named_code **out, size_t *n)
{
	sqlite3_stmt *st = prepare(s, "SELECT k.code, k.user_id, k.campaign, p.display_name "
	    "FROM referral_codes k JOIN profiles p ON p.channel = k.channel AND p.user_id = "
	    "k.user_id WHERE k.channel = ?1 AND k.campaign = ?2 AND p.display_name IS NOT "
	    "NULL LIMIT ?3");
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, campaign);
	sqlite3_bind_int64(st, 3, (int64_t)max);
	*out = store_many_rows(st, named_row, sizeof(**out), max, n, &rc);
	store_oneoff_release(st);
	return rc;
}

void
named_codes_free(struct named_code *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].code);
		free(v[i].user_id);
		free(v[i].campaign);
		free(v[i].display_name);
	}
	free(v);
}

/* Typed names that matched no customer or several, oldest first, for the review queue:
 * an operator decides whom they meant. */
int
store_asks_typed(struct store *s, struct json_t **rows)
{
	return store_query_json(s, "SELECT a.channel, a.user_id, a.typed, a.typed_at, "
	    "a.matches, p.display_name FROM referrer_asks a LEFT JOIN profiles p ON "
	    "p.channel = a.channel AND p.user_id = a.user_id WHERE a.state = 'typed' AND "
	    "a.referral_id IS NULL ORDER BY a.typed_at", NULL, 0, rows);
}
