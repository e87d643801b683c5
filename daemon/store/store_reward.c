/* store_reward.c: rewards and coupons: a pending reward per referral and side, the
 * rewards the tick may move, each move, and the coupon pools their codes come from. */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

static const char *const stmt_sql[ST_COUNT] = {
	[ST_REWARD_CREATE] = "INSERT OR IGNORE INTO rewards(referral_id, side, user_id, "
	    "campaign, pool, state, due_at, approve_after, stage) "
	    "VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
	/* What the rewards tick may move: held long enough, or approved and waiting. */
	[ST_REWARDS_WORK] = "SELECT w.id, w.referral_id, w.side, w.user_id, w.campaign, w.pool, "
	    "w.state, r.channel, r.referrer_id, r.referee_id, w.coupon_code, r.rep_code, w.stage "
	    "FROM rewards w JOIN referrals r ON r.id = w.referral_id "
	    "WHERE w.state IN ('pending', 'approved') AND "
	    "(w.state = 'approved' OR w.approve_after <= ?) ORDER BY w.id LIMIT ?",
	[ST_REWARD_SET] = "UPDATE rewards SET state = ?2, "
	    "coupon_code = coalesce(?3, coupon_code), "
	    "issued_at = CASE WHEN ?2 = 'issued' THEN ?4 ELSE issued_at END, "
	    "note = coalesce(?5, note) WHERE id = ?1 AND state = ?6",
	/* One free code of the pool, given to this reward and no other (UNIQUE reward_id). */
	[ST_COUPON_TAKE] = "UPDATE coupons SET reward_id = ?1 WHERE rowid = (SELECT rowid FROM "
	    "coupons WHERE pool = ?2 AND reward_id IS NULL ORDER BY imported_at, code LIMIT 1) "
	    "RETURNING code",
	[ST_COUPON_PUT] = "INSERT OR IGNORE INTO coupons(pool, code, imported_at) "
	    "VALUES (?, ?, ?)",
	[ST_REWARD_GET] = "SELECT w.id, w.referral_id, w.side, w.user_id, w.campaign, w.pool, "
	    "w.state, r.channel, r.referrer_id, r.referee_id, w.coupon_code, r.rep_code, w.stage "
	    "FROM rewards w JOIN referrals r ON r.id = w.referral_id WHERE w.id = ?",
	/* Pending rewards of a referral, to void when it is lost or its friend blocks. */
	[ST_REWARDS_PENDING_OF] = "SELECT w.id, w.referral_id, w.side, w.user_id, w.campaign, "
	    "w.pool, w.state, r.channel, r.referrer_id, r.referee_id, w.coupon_code, "
	    "r.rep_code, w.stage FROM rewards w JOIN referrals r ON r.id = w.referral_id "
	    "WHERE w.referral_id = ? AND w.state = 'pending' ORDER BY w.id",
	/* The gauge: approved rewards whose pool has no free code now, every second. SQLite
	 * takes a partial index only where the WHERE repeats its condition (state IN ...),
	 * and without statistics it looks for free codes through coupons' reward_id index
	 * (every free code of every pool): a year's 150,000 rewards were read each second. */
	[ST_REWARDS_WAITING_POOL] = "SELECT count(*) FROM rewards w INDEXED BY rewards_open "
	    "WHERE w.state IN ('pending', 'approved') AND w.state = 'approved' AND NOT EXISTS "
	    "(SELECT 1 FROM coupons c INDEXED BY coupons_free WHERE c.pool = w.pool AND "
	    "c.reward_id IS NULL)",
};

int
store_reward_create(struct store *s, int64_t referral_id, const char *side,
    const char *user_id, const char *campaign, const char *pool, int64_t due_at,
    int64_t approve_after, int stage)
{
	sqlite3_stmt *st = store_stmt(s, ST_REWARD_CREATE, stmt_sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, referral_id);
	store_bind_text(st, 2, side);
	store_bind_text(st, 3, user_id);
	store_bind_text(st, 4, campaign);
	store_bind_text(st, 5, pool);
	sqlite3_bind_int64(st, 6, due_at);
	sqlite3_bind_int64(st, 7, approve_after);
	sqlite3_bind_int(st, 8, stage);
	if (store_step(s, st) == -1)
		return -1;
	return sqlite3_changes(s->db) == 1 ? 1 : 0;
}

static void
row_reward(sqlite3_stmt *st, void *out)
{
	struct reward_row *w = out;
	const char *state = (const char *)sqlite3_column_text(st, 6);

	w->id = sqlite3_column_int64(st, 0);
	w->referral_id = sqlite3_column_int64(st, 1);
	w->side = store_column_str(st, 2);
	w->user_id = store_column_str(st, 3);
	w->campaign = store_column_str(st, 4);
	w->pool = store_column_str(st, 5);
	if (state == NULL || reward_state_parse(state, &w->state) == -1)
		w->state = REWARD_VOIDED;
	w->channel = store_column_str(st, 7);
	w->referrer_id = store_column_str(st, 8);
	w->referee_id = store_column_str(st, 9);
	w->coupon_code = store_column_str(st, 10);
	w->rep_code = store_column_str(st, 11);
	w->stage = sqlite3_column_int(st, 12);
}

void
reward_row_clear(struct reward_row *w)
{
	free(w->side);
	free(w->user_id);
	free(w->campaign);
	free(w->pool);
	free(w->channel);
	free(w->referrer_id);
	free(w->referee_id);
	free(w->coupon_code);
	free(w->rep_code);
	memset(w, 0, sizeof(*w));
}

int
store_rewards_work(struct store *s, int64_t now, size_t max, struct reward_row **out,
    size_t *n)
{
	sqlite3_stmt *st = store_stmt(s, ST_REWARDS_WORK, stmt_sql);
	int rc;

	*out = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	*out = store_many_rows(st, row_reward, sizeof(**out), max, n, &rc);
	return rc;
}

int
store_reward_get(struct store *s, int64_t id, struct reward_row *out)
{
	sqlite3_stmt *st = store_stmt(s, ST_REWARD_GET, stmt_sql);

	memset(out, 0, sizeof(*out));
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return store_one_row(s, st, row_reward, out);
}

/* 1 when the reward was in from and is now in to; 0 when something moved it first. */
int
store_reward_set(struct store *s, int64_t id, enum reward_state from, enum reward_state to,
    const char *coupon, const char *note, int64_t at)
{
	sqlite3_stmt *st = store_stmt(s, ST_REWARD_SET, stmt_sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	store_bind_text(st, 2, reward_state_name(to));
	store_bind_text(st, 3, coupon);
	sqlite3_bind_int64(st, 4, at);
	store_bind_text(st, 5, note);
	store_bind_text(st, 6, reward_state_name(from));
	if (store_step(s, st) == -1)
		return -1;
	return sqlite3_changes(s->db) == 1 ? 1 : 0;
}

/* 1 with a coupon code now given to the reward (caller frees), 0 when the pool is
 * empty. Must run in the transaction that marks the reward issued. */
int
store_coupon_take(struct store *s, const char *pool, int64_t reward_id, char **code)
{
	sqlite3_stmt *st = store_stmt(s, ST_COUPON_TAKE, stmt_sql);

	*code = NULL;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, reward_id);
	store_bind_text(st, 2, pool);
	return store_query_text(s, st, code);
}

/* 1 when the code is new to the pool, 0 when it was there already. */
int
store_coupon_put(struct store *s, const char *pool, const char *code, int64_t at)
{
	sqlite3_stmt *st = store_stmt(s, ST_COUPON_PUT, stmt_sql);

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, pool);
	store_bind_text(st, 2, code);
	sqlite3_bind_int64(st, 3, at);
	if (store_step(s, st) == -1)
		return -1;
	return sqlite3_changes(s->db) == 1 ? 1 : 0;
}

int
store_rewards_pending_of(struct store *s, int64_t referral_id, size_t max,
    struct reward_row **out, size_t *n)
{
	sqlite3_stmt *st = store_stmt(s, ST_REWARDS_PENDING_OF, stmt_sql);
	int rc;

	*out = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, referral_id);
	*out = store_many_rows(st, row_reward, sizeof(**out), max, n, &rc);
	return rc;
}

int64_t
store_rewards_waiting_pool(struct store *s)
{
	sqlite3_stmt *st = store_stmt(s, ST_REWARDS_WAITING_POOL, stmt_sql);
	int64_t n = 0;

	if (st == NULL || store_query_int(s, st, &n) == -1)
		return -1;
	return n;
}
