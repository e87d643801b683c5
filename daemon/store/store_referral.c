/* store_referral.c: the referral tables: customers and their reps, referral codes, the
 * referrals and the referral_events log, what a referrer and a rep are shown of them,
 * and the reps' fetched contact links. */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

static const char *const stmt_sql[ST_COUNT] = {
	[ST_CODE_GET] = "SELECT code FROM referral_codes WHERE channel = ? AND user_id = ? AND "
	    "campaign = ?",
	[ST_CODE_PUT] = "INSERT OR IGNORE INTO referral_codes(code, channel, user_id, campaign, "
	    "issued_at) VALUES (?, ?, ?, ?, ?)",
	[ST_CODE_LOOKUP] = "SELECT channel, user_id, campaign, issued_at FROM referral_codes "
	    "WHERE code = ?",
	[ST_CUSTOMER_REP] = "SELECT rep_code FROM customers WHERE channel = ? AND user_id = ?",
	[ST_CUSTOMER_ASSIGN] = "INSERT INTO customers(channel, user_id, rep_code, rep_source, "
	    "assigned_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(channel, user_id) DO UPDATE "
	    "SET rep_code = ?3, rep_source = ?4, assigned_at = ?5",
	/* A partner is a customer with the tag partner (import tags, or the partner column
	 * of import customers): one lookup of customer_tags' primary key. */
	[ST_CUSTOMER_PARTNER] = "SELECT count(*) FROM customer_tags WHERE channel = ? AND "
	    "tag = 'partner' AND user_id = ?",
	[ST_EVENT_PUT] = "INSERT INTO referral_events(at, type, channel, campaign, code, "
	    "referral_id, referrer_id, referee_id, rep_code, branch, reason, actor, "
	    "client_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[ST_REFERRAL_OF_REFEREE] = "SELECT id FROM referrals WHERE channel = ? AND "
	    "referee_id = ?",
	[ST_REFERRAL_PAIR] = "SELECT id FROM referrals WHERE channel = ? AND referrer_id = ? "
	    "AND referee_id = ?",
	[ST_REFERRALS_SINCE] = "SELECT count(*) FROM referrals WHERE channel = ? AND "
	    "referrer_id = ? AND claimed_at >= ?",
	[ST_CODE_CLAIMS_SINCE] = "SELECT count(*) FROM referral_events WHERE code = ? AND "
	    "type IN ('claimed', 'held') AND at >= ?",
	[ST_CODE_REP_CLICKS_SINCE] = "SELECT count(*) FROM referral_events WHERE code = ? AND "
	    "type = 'clicked' AND reason = 'rep' AND at >= ?",
	[ST_REFERRAL_PUT] = "INSERT INTO referrals(channel, campaign, code, referrer_id, "
	    "referee_id, rep_code, state, claimed_at, updated_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[ST_REFERRAL_GET] = "SELECT id, channel, campaign, code, referrer_id, referee_id, "
	    "rep_code, state, claimed_at FROM referrals WHERE id = ?",
	[ST_REFERRAL_SET_STATE] = "UPDATE referrals SET state = ?, updated_at = ? WHERE id = ? "
	    "AND state = ?",
	[ST_REFERRALS_OF_REP] = "SELECT id, channel, campaign, code, referrer_id, referee_id, "
	    "rep_code, state, claimed_at FROM referrals WHERE rep_code = ? AND state IN "
	    "('claimed', 'contacted', 'meeting') ORDER BY id LIMIT ?",
	[ST_REP_STATS] = "SELECT count(*), coalesce(sum(state = 'won'), 0), "
	    "coalesce(sum(state = 'lost'), 0) FROM referrals WHERE rep_code = ? AND "
	    "claimed_at >= ?",
	[ST_REFERRER_STATS] = "SELECT "
	    "(SELECT count(*) FROM referral_codes WHERE channel = ?1 AND user_id = ?2), "
	    "(SELECT count(*) FROM referrals WHERE channel = ?1 AND referrer_id = ?2 AND "
	    "state NOT IN ('held', 'rejected')), "
	    "(SELECT count(*) FROM referrals WHERE channel = ?1 AND referrer_id = ?2 AND "
	    "state = 'won'), "
	    "(SELECT count(*) FROM rewards w JOIN referrals r ON r.id = w.referral_id WHERE "
	    "r.channel = ?1 AND w.user_id = ?2 AND w.state = 'issued')",
	[ST_REP_MEMBER_PUT] = "INSERT OR REPLACE INTO rep_members(login, member_id, fetched_at) "
	    "VALUES (?, ?, ?)",
	[ST_REP_LOGIN_OF_MEMBER] = "SELECT login FROM rep_members WHERE member_id = ? ORDER "
	    "BY fetched_at DESC LIMIT 1",
	[ST_REP_LINK_GET] = "SELECT url, fetched_at FROM rep_links WHERE rep_code = ?",
	[ST_REP_LINK_PUT] = "INSERT OR REPLACE INTO rep_links(rep_code, url, fetched_at) "
	    "VALUES (?, ?, ?)",
};

/* The customer's code for this campaign, made the first time it is asked for. A new
 * random code that happens to exist already is drawn again. */
int
store_refcode_issue(struct store *s, const char *channel, const char *user_id,
    const char *campaign, int64_t at, char code[REFCODE_LEN + 1], int *issued)
{
	sqlite3_stmt *st = store_stmt(s, ST_CODE_GET, stmt_sql);
	char *have = NULL;
	int rc;

	*issued = 0;
	if (st == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, user_id);
	store_bind_text(st, 3, campaign);
	if ((rc = store_query_text(s, st, &have)) != 0) {
		if (rc == 1) {
			snprintf(code, REFCODE_LEN + 1, "%s", have);
			free(have);
		}
		return rc == 1 ? 0 : -1;
	}
	for (int tries = 0; tries < 8; tries++) {
		unsigned char rnd[REFCODE_RANDOM];

		store_random(s, rnd, sizeof(rnd));
		refcode_make(rnd, code);
		if ((st = store_stmt(s, ST_CODE_PUT, stmt_sql)) == NULL)
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

static void
row_owner(sqlite3_stmt *st, void *out)
{
	struct refcode_owner *o = out;

	o->channel = store_column_str(st, 0);
	o->user_id = store_column_str(st, 1);
	o->campaign = store_column_str(st, 2);
	o->issued_at = sqlite3_column_int64(st, 3);
}

int
store_refcode_lookup(struct store *s, const char *code, struct refcode_owner *out)
{
	sqlite3_stmt *st = store_stmt(s, ST_CODE_LOOKUP, stmt_sql);

	memset(out, 0, sizeof(*out));
	if (st == NULL)
		return -1;
	store_bind_text(st, 1, code);
	return store_one_row(s, st, row_owner, out);
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
	sqlite3_stmt *st = store_stmt(s, ST_CUSTOMER_REP, stmt_sql);
	int rc;

	*rep = NULL;
	if (st == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, user_id);
	rc = store_query_text(s, st, rep);
	if (rc == 1 && *rep == NULL)
		rc = 0;		/* a customer row without a rep */
	return rc;
}

int
store_customer_assign(struct store *s, const char *channel, const char *user_id,
    const char *rep, const char *source, int64_t at)
{
	sqlite3_stmt *st = store_stmt(s, ST_CUSTOMER_ASSIGN, stmt_sql);

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
store_customer_partner(struct store *s, const char *channel, const char *user_id)
{
	sqlite3_stmt *st = store_stmt(s, ST_CUSTOMER_PARTNER, stmt_sql);
	int64_t partner = 0;
	int rc;

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, user_id);
	rc = store_query_int(s, st, &partner);
	return rc == -1 ? -1 : rc == 1 && partner > 0;
}

int
store_ref_event(struct store *s, const struct ref_event *e)
{
	sqlite3_stmt *st = store_stmt(s, ST_EVENT_PUT, stmt_sql);

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
	if (store_step(s, st) == -1)
		return -1;
	/* A click is counted in the same transaction: click_counts stays whole
	 * (store_clicks.c). Other events leave it alone: a claim pays nothing for it. */
	return e->type != NULL && strcmp(e->type, "clicked") == 0 ?
	    store_clicks_count_new(s) : 0;
}

/* 1 with the id of the referral that already has this friend, 0 if none. */
int
store_referral_of_referee(struct store *s, const char *channel, const char *referee,
    int64_t *id)
{
	sqlite3_stmt *st = store_stmt(s, ST_REFERRAL_OF_REFEREE, stmt_sql);

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, referee);
	return store_query_int(s, st, id);
}

int
store_referral_pair(struct store *s, const char *channel, const char *referrer,
    const char *referee, int64_t *id)
{
	sqlite3_stmt *st = store_stmt(s, ST_REFERRAL_PAIR, stmt_sql);

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, referrer);
	store_bind_text(st, 3, referee);
	return store_query_int(s, st, id);
}

int64_t
store_referrals_since(struct store *s, const char *channel, const char *referrer,
    int64_t since)
{
	sqlite3_stmt *st = store_stmt(s, ST_REFERRALS_SINCE, stmt_sql);
	int64_t n = 0;

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, referrer);
	sqlite3_bind_int64(st, 3, since);
	return store_query_int(s, st, &n) == -1 ? -1 : n;
}

/* How many of one code's events a statement counts since a time. */
static int64_t
code_count_since(struct store *s, enum stmt_id which, const char *code, int64_t since)
{
	sqlite3_stmt *st = store_stmt(s, which, stmt_sql);
	int64_t n = 0;

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, code);
	sqlite3_bind_int64(st, 2, since);
	return store_query_int(s, st, &n) == -1 ? -1 : n;
}

int64_t
store_code_claims_since(struct store *s, const char *code, int64_t since)
{
	return code_count_since(s, ST_CODE_CLAIMS_SINCE, code, since);
}

int64_t
store_code_rep_clicks_since(struct store *s, const char *code, int64_t since)
{
	return code_count_since(s, ST_CODE_REP_CLICKS_SINCE, code, since);
}

/* 1 with *id, 0 when the friend is taken already (the UNIQUE referee: first touch). */
int
store_referral_put(struct store *s, const struct referral *r, int64_t *id)
{
	sqlite3_stmt *st = store_stmt(s, ST_REFERRAL_PUT, stmt_sql);
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
	sqlite3_stmt *st = store_stmt(s, ST_REFERRAL_GET, stmt_sql);

	memset(out, 0, sizeof(*out));
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return store_one_row(s, st, row_referral, out);
}

/* Moves a referral from one state to another; 0 when it was no longer in from. */
int
store_referral_set_state(struct store *s, int64_t id, enum ref_state from,
    enum ref_state to, int64_t at)
{
	sqlite3_stmt *st = store_stmt(s, ST_REFERRAL_SET_STATE, stmt_sql);

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
	sqlite3_stmt *st = store_stmt(s, ST_REFERRALS_OF_REP, stmt_sql);
	int rc;

	*out = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	store_bind_text(st, 1, rep_code);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	*out = store_many_rows(st, row_referral, sizeof(**out), max, n, &rc);
	return rc;
}

/* Held claims, oldest first: the review tick looks for those past their deadline.
 * Once a minute, so a one-off statement. */
int
store_referrals_held(struct store *s, int64_t after_id, size_t max,
    struct referral_row **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT id, channel, campaign, code, referrer_id, "
	    "referee_id, rep_code, state, claimed_at FROM referrals WHERE state = 'held' AND "
	    "id > ? ORDER BY id LIMIT ?", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, after_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	*out = store_many_rows(st, row_referral, sizeof(**out), max, n, &rc);
	sqlite3_finalize(st);
	return rc;
}

/* Every column of the row as an integer, into an array as long as the row. */
static void
row_counts(sqlite3_stmt *st, void *out)
{
	int64_t *counts = out;

	for (int i = 0; i < sqlite3_column_count(st); i++)
		counts[i] = sqlite3_column_int64(st, i);
}

int
store_rep_stats(struct store *s, const char *rep_code, int64_t since, int64_t counts[3])
{
	sqlite3_stmt *st = store_stmt(s, ST_REP_STATS, stmt_sql);

	counts[0] = counts[1] = counts[2] = 0;
	if (st == NULL)
		return -1;
	store_bind_text(st, 1, rep_code);
	sqlite3_bind_int64(st, 2, since);
	return store_one_row(s, st, row_counts, counts) == 1 ? 0 : -1;
}

/* What a customer sees of their referrals: codes, friends who came, wins, rewards. */
int
store_referrer_stats(struct store *s, const char *channel, const char *user_id,
    int64_t counts[4])
{
	sqlite3_stmt *st = store_stmt(s, ST_REFERRER_STATS, stmt_sql);

	memset(counts, 0, 4 * sizeof(*counts));
	if (st == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, user_id);
	return store_one_row(s, st, row_counts, counts) == 1 ? 0 : -1;
}

struct rep_link {
	char	*url;
	int64_t	 fetched_at;
};

static void
row_rep_link(sqlite3_stmt *st, void *out)
{
	struct rep_link *l = out;

	l->url = store_column_str(st, 0);
	l->fetched_at = sqlite3_column_int64(st, 1);
}

/* 1 with the rep's fetched contact link (caller frees) and when it was fetched. */
int
store_rep_link_get(struct store *s, const char *rep_code, char **url, int64_t *fetched_at)
{
	sqlite3_stmt *st = store_stmt(s, ST_REP_LINK_GET, stmt_sql);
	struct rep_link l = { NULL, 0 };
	int rc;

	*url = NULL;
	*fetched_at = 0;
	if (st == NULL)
		return -1;
	store_bind_text(st, 1, rep_code);
	if ((rc = store_one_row(s, st, row_rep_link, &l)) == -1)
		return -1;
	*url = l.url;
	*fetched_at = l.fetched_at;
	return rc == 1 && *url != NULL ? 1 : 0;
}

int
store_rep_link_put(struct store *s, const char *rep_code, const char *url, int64_t at)
{
	sqlite3_stmt *st = store_stmt(s, ST_REP_LINK_PUT, stmt_sql);

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, rep_code);
	store_bind_text(st, 2, url);
	sqlite3_bind_int64(st, 3, at);
	return store_step(s, st);
}

int
store_rep_member_put(struct store *s, const char *login, const char *member_id, int64_t at)
{
	sqlite3_stmt *st = store_stmt(s, ST_REP_MEMBER_PUT, stmt_sql);

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, login);
	store_bind_text(st, 2, member_id);
	sqlite3_bind_int64(st, 3, at);
	return store_step(s, st);
}

static void
row_login(sqlite3_stmt *st, void *out)
{
	*(char **)out = store_column_str(st, 0);
}

int
store_rep_login_of_member(struct store *s, const char *member_id, char **login)
{
	sqlite3_stmt *st = store_stmt(s, ST_REP_LOGIN_OF_MEMBER, stmt_sql);
	int rc;

	*login = NULL;
	if (st == NULL)
		return -1;
	store_bind_text(st, 1, member_id);
	if ((rc = store_one_row(s, st, row_login, login)) == -1)
		return -1;
	return rc == 1 && *login != NULL ? 1 : 0;
}

/* How many claims this person made since a time that were rejected for one of reasons
 * (the claim rules' wrong codes). The list is the caller's: prepared per call. */
int64_t
store_wrong_codes_since(struct store *s, const char *channel, const char *user_id,
    int64_t since, const char *const *reasons, size_t nreasons)
{
	sqlite3_stmt *st = NULL;
	char sql[512];
	size_t at;
	int64_t n = -1;

	at = (size_t)snprintf(sql, sizeof(sql), "SELECT count(*) FROM referral_events WHERE "
	    "type = 'rejected' AND channel = ?1 AND referee_id = ?2 AND at >= ?3 AND "
	    "reason IN (");
	for (size_t i = 0; i < nreasons && at < sizeof(sql); i++)
		at += (size_t)snprintf(sql + at, sizeof(sql) - at, "%s?%zu", i ? ", " : "",
		    i + 4);
	if (nreasons == 0 || at + 2 >= sizeof(sql))
		fatalx("%s: %zu reasons do not fit", __func__, nreasons);
	strcat(sql, ")");
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_warnx("msg=\"database query failed\" detail=\"%s\"", sqlite3_errmsg(s->db));
		return -1;
	}
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, user_id);
	sqlite3_bind_int64(st, 3, since);
	for (size_t i = 0; i < nreasons; i++)
		store_bind_text(st, (int)i + 4, reasons[i]);
	if (store_query_int(s, st, &n) == -1)
		n = -1;
	sqlite3_finalize(st);
	return n;
}
