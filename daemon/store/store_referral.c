/* store_referral.c: the referral tables: customers and their reps, referral codes, and
 * the referral_events log. Statements are prepared at first use and kept. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "store_internal.h"

enum ref_stmt {
	R_CODE_GET, R_CODE_PUT, R_CODE_LOOKUP,
	R_CUSTOMER_REP, R_CUSTOMER_ASSIGN,
	R_EVENT_PUT,
	R_REFERRAL_OF_REFEREE, R_REFERRAL_PAIR, R_REFERRALS_SINCE, R_CODE_CLAIMS_SINCE,
	R_REFERRAL_PUT, R_USER_GET,
	R_REFERRAL_GET, R_REFERRAL_SET_STATE, R_REFERRALS_OF_REP, R_REP_STATS,
	R_REWARD_CREATE, R_REWARDS_WORK, R_REWARD_SET, R_COUPON_TAKE, R_COUPON_PUT,
	R_REWARD_GET, R_REFERRER_STATS, R_REP_LINK_GET, R_REP_LINK_PUT, R_WRONG_CODES,
	R_COUNT
};

static const char *const ref_sql[R_COUNT] = {
	[R_CODE_GET] = "SELECT code FROM referral_codes WHERE channel = ? AND user_id = ? AND "
	    "campaign = ?",
	[R_CODE_PUT] = "INSERT OR IGNORE INTO referral_codes(code, channel, user_id, campaign, "
	    "issued_at) VALUES (?, ?, ?, ?, ?)",
	[R_CODE_LOOKUP] = "SELECT channel, user_id, campaign, issued_at FROM referral_codes "
	    "WHERE code = ?",
	[R_CUSTOMER_REP] = "SELECT rep_code FROM customers WHERE channel = ? AND user_id = ?",
	[R_CUSTOMER_ASSIGN] = "INSERT INTO customers(channel, user_id, rep_code, rep_source, "
	    "assigned_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(channel, user_id) DO UPDATE "
	    "SET rep_code = ?3, rep_source = ?4, assigned_at = ?5",
	[R_EVENT_PUT] = "INSERT INTO referral_events(at, type, channel, campaign, code, "
	    "referral_id, referrer_id, referee_id, rep_code, branch, reason, actor, "
	    "client_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[R_REFERRAL_OF_REFEREE] = "SELECT id FROM referrals WHERE channel = ? AND "
	    "referee_id = ?",
	[R_REFERRAL_PAIR] = "SELECT id FROM referrals WHERE channel = ? AND referrer_id = ? "
	    "AND referee_id = ?",
	[R_REFERRALS_SINCE] = "SELECT count(*) FROM referrals WHERE channel = ? AND "
	    "referrer_id = ? AND claimed_at >= ?",
	[R_CODE_CLAIMS_SINCE] = "SELECT count(*) FROM referral_events WHERE code = ? AND "
	    "type IN ('claimed', 'held') AND at >= ?",
	[R_REFERRAL_PUT] = "INSERT INTO referrals(channel, campaign, code, referrer_id, "
	    "referee_id, rep_code, state, claimed_at, updated_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[R_USER_GET] = "SELECT first_seen_at, follows, unfollowed_at FROM users WHERE "
	    "channel = ? AND user_id = ?",
	[R_REFERRAL_GET] = "SELECT id, channel, campaign, code, referrer_id, referee_id, "
	    "rep_code, state, claimed_at FROM referrals WHERE id = ?",
	[R_REFERRAL_SET_STATE] = "UPDATE referrals SET state = ?, updated_at = ? WHERE id = ? "
	    "AND state = ?",
	[R_REFERRALS_OF_REP] = "SELECT id, channel, campaign, code, referrer_id, referee_id, "
	    "rep_code, state, claimed_at FROM referrals WHERE rep_code = ? AND state IN "
	    "('claimed', 'contacted', 'meeting') ORDER BY id LIMIT ?",
	[R_REP_STATS] = "SELECT count(*), coalesce(sum(state = 'won'), 0), "
	    "coalesce(sum(state = 'lost'), 0) FROM referrals WHERE rep_code = ? AND "
	    "claimed_at >= ?",
	[R_REWARD_CREATE] = "INSERT OR IGNORE INTO rewards(referral_id, side, user_id, "
	    "campaign, pool, state, due_at, approve_after) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
	/* What the rewards tick may move: held long enough, or approved and waiting. */
	[R_REWARDS_WORK] = "SELECT w.id, w.referral_id, w.side, w.user_id, w.campaign, w.pool, "
	    "w.state, r.channel, r.referrer_id, r.referee_id, w.coupon_code, r.rep_code "
	    "FROM rewards w JOIN referrals r ON r.id = w.referral_id "
	    "WHERE w.state IN ('pending', 'approved') AND "
	    "(w.state = 'approved' OR w.approve_after <= ?) ORDER BY w.id LIMIT ?",
	[R_REWARD_SET] = "UPDATE rewards SET state = ?2, coupon_code = coalesce(?3, coupon_code), "
	    "issued_at = CASE WHEN ?2 = 'issued' THEN ?4 ELSE issued_at END, "
	    "note = coalesce(?5, note) WHERE id = ?1 AND state = ?6",
	/* One free code of the pool, given to this reward and no other (UNIQUE reward_id). */
	[R_COUPON_TAKE] = "UPDATE coupons SET reward_id = ?1 WHERE rowid = (SELECT rowid FROM "
	    "coupons WHERE pool = ?2 AND reward_id IS NULL ORDER BY imported_at, code LIMIT 1) "
	    "RETURNING code",
	[R_COUPON_PUT] = "INSERT OR IGNORE INTO coupons(pool, code, imported_at) VALUES (?, ?, ?)",
	[R_REWARD_GET] = "SELECT w.id, w.referral_id, w.side, w.user_id, w.campaign, w.pool, "
	    "w.state, r.channel, r.referrer_id, r.referee_id, w.coupon_code, r.rep_code "
	    "FROM rewards w JOIN referrals r ON r.id = w.referral_id WHERE w.id = ?",
	[R_REFERRER_STATS] = "SELECT "
	    "(SELECT count(*) FROM referral_codes WHERE channel = ?1 AND user_id = ?2), "
	    "(SELECT count(*) FROM referrals WHERE channel = ?1 AND referrer_id = ?2 AND "
	    "state NOT IN ('held', 'rejected')), "
	    "(SELECT count(*) FROM referrals WHERE channel = ?1 AND referrer_id = ?2 AND "
	    "state = 'won'), "
	    "(SELECT count(*) FROM rewards w JOIN referrals r ON r.id = w.referral_id WHERE "
	    "r.channel = ?1 AND w.user_id = ?2 AND w.state = 'issued')",
	[R_REP_LINK_GET] = "SELECT url, fetched_at FROM rep_links WHERE rep_code = ?",
	[R_WRONG_CODES] = "SELECT count(*) FROM referral_events WHERE type = 'rejected' AND "
	    "reason IN ('unknown_code', 'too_many_wrong_codes') AND channel = ? AND "
	    "referee_id = ? AND at >= ?",
	[R_REP_LINK_PUT] = "INSERT OR REPLACE INTO rep_links(rep_code, url, fetched_at) "
	    "VALUES (?, ?, ?)",
};

_Static_assert(R_COUNT <= STORE_REF_STMTS, "raise STORE_REF_STMTS");

static sqlite3_stmt *
stmt(struct store *s, enum ref_stmt id)
{
	if (ref_sql[id] == NULL)
		fatalx("%s: statement %d has no SQL", __func__, (int)id);
	if (s->ref[id] == NULL && sqlite3_prepare_v3(s->db, ref_sql[id], -1,
	    SQLITE_PREPARE_PERSISTENT, &s->ref[id], NULL) != SQLITE_OK) {
		log_warnx("msg=\"cannot prepare a referral statement\" detail=\"%s\"",
		    sqlite3_errmsg(s->db));
		return NULL;
	}
	return s->ref[id];
}

/* Steps st once: 1 after read(st, out) for a row, 0 for none, -1 (logged) on error;
 * st is reset either way. */
static int
one_row(struct store *s, sqlite3_stmt *st, void (*read)(sqlite3_stmt *, void *), void *out)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		read(st, out);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		log_warnx("msg=\"database query failed\" detail=\"%s\"", sqlite3_errmsg(s->db));
		return -1;
	}
	return rc == SQLITE_ROW ? 1 : 0;
}

/* Up to max rows, each read into the next size-byte element of the array returned
 * (the caller frees it, after clearing each row); *rc is 0, or -1 on an error. */
static void *
many_rows(sqlite3_stmt *st, void (*read)(sqlite3_stmt *, void *), size_t size, size_t max,
    size_t *n, int *rc)
{
	char *rows = xcalloc(max + 1, size);
	int step = SQLITE_DONE;

	*n = 0;
	while (*n < max && (step = sqlite3_step(st)) == SQLITE_ROW)
		read(st, rows + size * (*n)++);
	*rc = step == SQLITE_ROW || step == SQLITE_DONE ? 0 : -1;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rows;
}

static void
read_text(sqlite3_stmt *st, void *out)
{
	*(char **)out = store_column_str(st, 0);
}

static void
read_int(sqlite3_stmt *st, void *out)
{
	*(int64_t *)out = sqlite3_column_int64(st, 0);
}

/* A one-row, one-text-column query: 1 with *out (caller frees), 0 if no row. */
static int
query_text(struct store *s, sqlite3_stmt *st, char **out)
{
	return one_row(s, st, read_text, out);
}

/* The customer's code for this campaign, made the first time it is asked for. A new
 * random code that happens to exist already is drawn again. */
int
store_refcode_issue(struct store *s, const char *channel, const char *user_id,
    const char *campaign, int64_t at, char code[REFCODE_LEN + 1], int *issued)
{
	sqlite3_stmt *st = stmt(s, R_CODE_GET);
	char *have = NULL;
	int rc;

	*issued = 0;
	if (st == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, user_id);
	store_bind_text(st, 3, campaign);
	if ((rc = query_text(s, st, &have)) != 0) {
		if (rc == 1) {
			snprintf(code, REFCODE_LEN + 1, "%s", have);
			free(have);
		}
		return rc == 1 ? 0 : -1;
	}
	for (int tries = 0; tries < 8; tries++) {
		if (refcode_new(code) == -1 || (st = stmt(s, R_CODE_PUT)) == NULL)
			return -1;
		store_bind_text(st, 1, code);
		store_bind_text(st, 2, channel);
		store_bind_text(st, 3, user_id);
		store_bind_text(st, 4, campaign);
		sqlite3_bind_int64(st, 5, at);
		if (store_step(s, st) == -1)
			return -1;
		if (sqlite3_changes(s->db) == 1) {
			*issued = 1;
			return 0;
		}
	}
	log_warnx("msg=\"no free referral code after 8 draws\"");
	return -1;
}

int
store_refcode_lookup(struct store *s, const char *code, struct refcode_owner *out)
{
	sqlite3_stmt *st = stmt(s, R_CODE_LOOKUP);
	int rc;

	memset(out, 0, sizeof(*out));
	if (st == NULL)
		return -1;
	store_bind_text(st, 1, code);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->channel = store_column_str(st, 0);
		out->user_id = store_column_str(st, 1);
		out->campaign = store_column_str(st, 2);
		out->issued_at = sqlite3_column_int64(st, 3);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	return rc == SQLITE_ROW ? 1 : 0;
}

void
refcode_owner_clear(struct refcode_owner *o)
{
	free(o->channel);
	free(o->user_id);
	free(o->campaign);
	memset(o, 0, sizeof(*o));
}

int
store_customer_rep(struct store *s, const char *channel, const char *user_id, char **rep)
{
	sqlite3_stmt *st = stmt(s, R_CUSTOMER_REP);
	int rc;

	*rep = NULL;
	if (st == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, user_id);
	rc = query_text(s, st, rep);
	if (rc == 1 && *rep == NULL)
		rc = 0;		/* a customer row without a rep */
	return rc;
}

int
store_customer_assign(struct store *s, const char *channel, const char *user_id,
    const char *rep, const char *source, int64_t at)
{
	sqlite3_stmt *st = stmt(s, R_CUSTOMER_ASSIGN);

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, user_id);
	store_bind_text(st, 3, rep);
	store_bind_text(st, 4, source);
	sqlite3_bind_int64(st, 5, at);
	return store_step(s, st);
}

int
store_ref_event(struct store *s, const struct ref_event *e)
{
	sqlite3_stmt *st = stmt(s, R_EVENT_PUT);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, e->at ? e->at : wall_ms());
	store_bind_text(st, 2, e->type);
	store_bind_text(st, 3, e->channel);
	store_bind_text(st, 4, e->campaign);
	store_bind_text(st, 5, e->code);
	if (e->referral_id > 0)
		sqlite3_bind_int64(st, 6, e->referral_id);
	store_bind_text(st, 7, e->referrer_id);
	store_bind_text(st, 8, e->referee_id);
	store_bind_text(st, 9, e->rep_code);
	store_bind_text(st, 10, e->branch);
	store_bind_text(st, 11, e->reason);
	store_bind_text(st, 12, e->actor);
	store_bind_text(st, 13, e->client_hash);
	return store_step(s, st);
}

/* A one-row, one-integer-column query: 1 with *out, 0 if no row. */
static int
query_int(struct store *s, sqlite3_stmt *st, int64_t *out)
{
	return one_row(s, st, read_int, out);
}

/* 1 with the id of the referral that already has this friend, 0 if none. */
int
store_referral_of_referee(struct store *s, const char *channel, const char *referee,
    int64_t *id)
{
	sqlite3_stmt *st = stmt(s, R_REFERRAL_OF_REFEREE);

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, referee);
	return query_int(s, st, id);
}

int
store_referral_pair(struct store *s, const char *channel, const char *referrer,
    const char *referee, int64_t *id)
{
	sqlite3_stmt *st = stmt(s, R_REFERRAL_PAIR);

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, referrer);
	store_bind_text(st, 3, referee);
	return query_int(s, st, id);
}

int64_t
store_referrals_since(struct store *s, const char *channel, const char *referrer,
    int64_t since)
{
	sqlite3_stmt *st = stmt(s, R_REFERRALS_SINCE);
	int64_t n = 0;

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, referrer);
	sqlite3_bind_int64(st, 3, since);
	return query_int(s, st, &n) == -1 ? -1 : n;
}

int64_t
store_code_claims_since(struct store *s, const char *code, int64_t since)
{
	sqlite3_stmt *st = stmt(s, R_CODE_CLAIMS_SINCE);
	int64_t n = 0;

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, code);
	sqlite3_bind_int64(st, 2, since);
	return query_int(s, st, &n) == -1 ? -1 : n;
}

/* 1 with *id, 0 when the friend is taken already (the UNIQUE referee: first touch). */
int
store_referral_put(struct store *s, const struct referral *r, int64_t *id)
{
	sqlite3_stmt *st = stmt(s, R_REFERRAL_PUT);
	int rc;

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, r->channel);
	store_bind_text(st, 2, r->campaign);
	store_bind_text(st, 3, r->code);
	store_bind_text(st, 4, r->referrer_id);
	store_bind_text(st, 5, r->referee_id);
	store_bind_text(st, 6, r->rep_code);
	store_bind_text(st, 7, ref_state_name(r->state));
	sqlite3_bind_int64(st, 8, r->claimed_at);
	sqlite3_bind_int64(st, 9, r->claimed_at);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_DONE) {
		*id = sqlite3_last_insert_rowid(s->db);
		return 1;
	}
	if (rc == SQLITE_CONSTRAINT_UNIQUE)
		return 0;
	log_warnx("msg=\"cannot insert a referral\" detail=\"%s\"", sqlite3_errmsg(s->db));
	return -1;
}

/* 1 with what is known of a LINE user, 0 if never seen. */
int
store_user_get(struct store *s, const char *channel, const char *user_id,
    struct user_record *out)
{
	sqlite3_stmt *st = stmt(s, R_USER_GET);
	int rc;

	memset(out, 0, sizeof(*out));
	if (st == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, user_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->first_seen_at = sqlite3_column_int64(st, 0);
		out->follows = sqlite3_column_int(st, 1);
		out->unfollowed_at = sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	return rc == SQLITE_ROW ? 1 : 0;
}

static void
row_referral(sqlite3_stmt *st, void *out)
{
	struct referral_row *r = out;
	const char *state = (const char *)sqlite3_column_text(st, 7);

	r->id = sqlite3_column_int64(st, 0);
	r->channel = store_column_str(st, 1);
	r->campaign = store_column_str(st, 2);
	r->code = store_column_str(st, 3);
	r->referrer_id = store_column_str(st, 4);
	r->referee_id = store_column_str(st, 5);
	r->rep_code = store_column_str(st, 6);
	if (state == NULL || ref_state_parse(state, &r->state) == -1)
		r->state = REF_REJECTED;	/* unreadable: treat as final */
	r->claimed_at = sqlite3_column_int64(st, 8);
}

void
referral_row_clear(struct referral_row *r)
{
	free(r->channel);
	free(r->campaign);
	free(r->code);
	free(r->referrer_id);
	free(r->referee_id);
	free(r->rep_code);
	memset(r, 0, sizeof(*r));
}

int
store_referral_get(struct store *s, int64_t id, struct referral_row *out)
{
	sqlite3_stmt *st = stmt(s, R_REFERRAL_GET);

	memset(out, 0, sizeof(*out));
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return one_row(s, st, row_referral, out);
}

/* Moves a referral from one state to another; 0 when it was no longer in from. */
int
store_referral_set_state(struct store *s, int64_t id, enum ref_state from,
    enum ref_state to, int64_t at)
{
	sqlite3_stmt *st = stmt(s, R_REFERRAL_SET_STATE);

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, ref_state_name(to));
	sqlite3_bind_int64(st, 2, at);
	sqlite3_bind_int64(st, 3, id);
	store_bind_text(st, 4, ref_state_name(from));
	if (store_step(s, st) == -1)
		return -1;
	return sqlite3_changes(s->db) == 1 ? 1 : 0;
}

/* The rep's open referrals, oldest first; *n rows in *out (caller frees each). */
int
store_referrals_of_rep(struct store *s, const char *rep_code, size_t max,
    struct referral_row **out, size_t *n)
{
	sqlite3_stmt *st = stmt(s, R_REFERRALS_OF_REP);
	int rc;

	*out = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	store_bind_text(st, 1, rep_code);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	*out = many_rows(st, row_referral, sizeof(**out), max, n, &rc);
	return rc;
}

int
store_rep_stats(struct store *s, const char *rep_code, int64_t since, int64_t counts[3])
{
	sqlite3_stmt *st = stmt(s, R_REP_STATS);
	int rc;

	counts[0] = counts[1] = counts[2] = 0;
	if (st == NULL)
		return -1;
	store_bind_text(st, 1, rep_code);
	sqlite3_bind_int64(st, 2, since);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		for (int i = 0; i < 3; i++)
			counts[i] = sqlite3_column_int64(st, i);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

int
store_reward_create(struct store *s, int64_t referral_id, const char *side,
    const char *user_id, const char *campaign, const char *pool, int64_t due_at,
    int64_t approve_after)
{
	sqlite3_stmt *st = stmt(s, R_REWARD_CREATE);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, referral_id);
	store_bind_text(st, 2, side);
	store_bind_text(st, 3, user_id);
	store_bind_text(st, 4, campaign);
	store_bind_text(st, 5, pool);
	sqlite3_bind_int64(st, 6, due_at);
	sqlite3_bind_int64(st, 7, approve_after);
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
	sqlite3_stmt *st = stmt(s, R_REWARDS_WORK);
	int rc;

	*out = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	*out = many_rows(st, row_reward, sizeof(**out), max, n, &rc);
	return rc;
}

int
store_reward_get(struct store *s, int64_t id, struct reward_row *out)
{
	sqlite3_stmt *st = stmt(s, R_REWARD_GET);

	memset(out, 0, sizeof(*out));
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return one_row(s, st, row_reward, out);
}

/* 1 when the reward was in from and is now in to; 0 when something moved it first. */
int
store_reward_set(struct store *s, int64_t id, enum reward_state from, enum reward_state to,
    const char *coupon, const char *note, int64_t at)
{
	sqlite3_stmt *st = stmt(s, R_REWARD_SET);

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
	sqlite3_stmt *st = stmt(s, R_COUPON_TAKE);

	*code = NULL;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, reward_id);
	store_bind_text(st, 2, pool);
	return query_text(s, st, code);
}

/* 1 when the code is new to the pool, 0 when it was there already. */
int
store_coupon_put(struct store *s, const char *pool, const char *code, int64_t at)
{
	sqlite3_stmt *st = stmt(s, R_COUPON_PUT);

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, pool);
	store_bind_text(st, 2, code);
	sqlite3_bind_int64(st, 3, at);
	if (store_step(s, st) == -1)
		return -1;
	return sqlite3_changes(s->db) == 1 ? 1 : 0;
}

static void
csv_field(FILE *out, const char *v)
{
	if (strpbrk(v, ",\"\r\n") == NULL) {
		fputs(v, out);
		return;
	}
	fputc('"', out);
	for (; *v != '\0'; v++) {
		if (*v == '"')
			fputc('"', out);
		fputc(*v, out);
	}
	fputc('"', out);
}

/* Prints what sql returns (text arguments bound in order) as an aligned table, CSV
 * with a header line, or a JSON array of objects: what operators read and what their
 * spreadsheets and scripts read. */
int
store_print_query(struct store *s, FILE *out, enum print_format format, const char *sql,
    const char *const *args, size_t nargs)
{
	sqlite3_stmt *st = NULL;
	json_t *rows = NULL;
	int rc = -1, ncol;
	size_t width[32] = { 0 };
	char ***cells = NULL;
	size_t nrows = 0, cap = 0;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_warnx("msg=\"report query failed\" detail=\"%s\"", sqlite3_errmsg(s->db));
		return -1;
	}
	for (size_t i = 0; i < nargs; i++)
		store_bind_text(st, (int)i + 1, args[i]);
	ncol = sqlite3_column_count(st);
	if (ncol > 32)
		ncol = 32;
	if (format == PRINT_JSON)
		rows = json_array();
	if (format == PRINT_CSV)
		for (int c = 0; c < ncol; c++) {
			if (c)
				fputc(',', out);
			csv_field(out, sqlite3_column_name(st, c));
		}
	if (format == PRINT_CSV)
		fputc('\n', out);
	for (int c = 0; c < ncol; c++)
		width[c] = strlen(sqlite3_column_name(st, c));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *obj = format == PRINT_JSON ? json_object() : NULL;

		if (format == PRINT_TABLE && nrows == cap) {
			cap = cap ? cap * 2 : 64;
			cells = xrealloc(cells, cap * sizeof(*cells));
		}
		if (format == PRINT_TABLE)
			cells[nrows] = xcalloc((size_t)ncol, sizeof(char *));
		for (int c = 0; c < ncol; c++) {
			const char *v = (const char *)sqlite3_column_text(st, c);

			if (format == PRINT_JSON) {
				int type = sqlite3_column_type(st, c);

				json_object_set_new(obj, sqlite3_column_name(st, c),
				    type == SQLITE_INTEGER ? json_integer(sqlite3_column_int64(st, c)) :
				    v == NULL ? json_null() : json_string(v));
			} else if (format == PRINT_CSV) {
				if (c)
					fputc(',', out);
				csv_field(out, v ? v : "");
			} else {
				cells[nrows][c] = xstrdup(v ? v : "-");
				if (strlen(cells[nrows][c]) > width[c])
					width[c] = strlen(cells[nrows][c]);
			}
		}
		if (format == PRINT_JSON)
			json_array_append_new(rows, obj);
		else if (format == PRINT_CSV)
			fputc('\n', out);
		nrows++;
	}
	rc = rc == SQLITE_DONE ? 0 : -1;
	if (format == PRINT_JSON) {
		char *text = json_dumps(rows, JSON_INDENT(2));

		fprintf(out, "%s\n", text);
		free(text);
		json_decref(rows);
	} else if (format == PRINT_TABLE) {
		for (int c = 0; c < ncol; c++)
			fprintf(out, "%-*s%s", (int)width[c], sqlite3_column_name(st, c),
			    c + 1 < ncol ? "  " : "\n");
		for (size_t r = 0; r < nrows; r++) {
			for (int c = 0; c < ncol; c++) {
				/* Pad by bytes: Japanese columns may not line up exactly. */
				fprintf(out, "%-*s%s", (int)width[c], cells[r][c],
				    c + 1 < ncol ? "  " : "\n");
				free(cells[r][c]);
			}
			free(cells[r]);
		}
		free(cells);
	}
	sqlite3_finalize(st);
	return rc;
}

/* What a customer sees of their referrals: codes, friends who came, wins, rewards. */
int
store_referrer_stats(struct store *s, const char *channel, const char *user_id,
    int64_t counts[4])
{
	sqlite3_stmt *st = stmt(s, R_REFERRER_STATS);
	int rc;

	memset(counts, 0, 4 * sizeof(*counts));
	if (st == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, user_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		for (int i = 0; i < 4; i++)
			counts[i] = sqlite3_column_int64(st, i);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW ? 0 : -1;
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

/* 1 with the rep's fetched contact link (caller frees) and when it was fetched. */
int
store_rep_link_get(struct store *s, const char *rep_code, char **url, int64_t *fetched_at)
{
	sqlite3_stmt *st = stmt(s, R_REP_LINK_GET);
	int rc;

	*url = NULL;
	*fetched_at = 0;
	if (st == NULL)
		return -1;
	store_bind_text(st, 1, rep_code);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*url = store_column_str(st, 0);
		*fetched_at = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	return rc == SQLITE_ROW && *url != NULL ? 1 : 0;
}

int
store_rep_link_put(struct store *s, const char *rep_code, const char *url, int64_t at)
{
	sqlite3_stmt *st = stmt(s, R_REP_LINK_PUT);

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, rep_code);
	store_bind_text(st, 2, url);
	sqlite3_bind_int64(st, 3, at);
	return store_step(s, st);
}

/* How many codes this person sent that were nobody's, since a time. */
int64_t
store_wrong_codes_since(struct store *s, const char *channel, const char *user_id,
    int64_t since)
{
	sqlite3_stmt *st = stmt(s, R_WRONG_CODES);
	int64_t n = 0;

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, user_id);
	sqlite3_bind_int64(st, 3, since);
	return query_int(s, st, &n) == -1 ? -1 : n;
}
