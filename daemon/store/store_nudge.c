/* store_nudge.c: the follow-ups shokai sends once (the nudges table, schema 16): a
 * reminder of an invite nobody clicked, the ask after a win, a branch's Monday digest
 * and the escalation of a referral no rep acted on. Taking a row is what makes a
 * follow-up happen once: the caller takes it in the transaction that queues the
 * message, so a rollback forgets both and a second tick finds the row. */
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

int
store_nudge_take(struct store *s, const struct nudge *n)
{
	sqlite3_stmt *st = prepare(s, "INSERT OR IGNORE INTO nudges (kind, subject, period, "
	    "channel, person, sent, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
	int rc;

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, n->kind);
	store_bind_text(st, 2, n->subject);
	store_bind_text(st, 3, n->period ? n->period : "");
	store_bind_text(st, 4, n->channel);
	store_bind_text(st, 5, n->person);
	sqlite3_bind_int(st, 6, n->sent);
	sqlite3_bind_int64(st, 7, n->at);
	rc = store_step(s, st);
	if (rc == 0)
		rc = sqlite3_changes(s->db) > 0 ? 1 : 0;
	store_oneoff_release(st);
	return rc;
}

int
store_nudge_exists(struct store *s, const char *kind, const char *subject,
    const char *period)
{
	sqlite3_stmt *st = prepare(s, "SELECT count(*) FROM nudges WHERE kind = ?1 AND "
	    "subject = ?2 AND period = ?3");
	int64_t n;

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, kind);
	store_bind_text(st, 2, subject);
	store_bind_text(st, 3, period ? period : "");
	n = store_count(s, st);
	store_oneoff_release(st);
	return n < 0 ? -1 : n > 0;
}

int64_t
store_nudges_sent_since(struct store *s, const char *channel, const char *person,
    int64_t since)
{
	sqlite3_stmt *st = prepare(s, "SELECT count(*) FROM nudges WHERE channel = ?1 AND "
	    "person = ?2 AND at >= ?3 AND sent = 1");
	int64_t n;

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, person);
	sqlite3_bind_int64(st, 3, since);
	n = store_count(s, st);
	store_oneoff_release(st);
	return n;
}

/* A person who blocked the account is not pushed to (LINE would refuse it, and a
 * follow-up is no reason to try); one never seen as a users row is taken as a friend. */
int
store_nudge_reachable(struct store *s, const char *channel, const char *person)
{
	sqlite3_stmt *st = prepare(s, "SELECT count(*) FROM users WHERE channel = ?1 AND "
	    "user_id = ?2 AND is_friend = 0");
	int64_t n;

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, person);
	n = store_count(s, st);
	store_oneoff_release(st);
	return n < 0 ? -1 : n == 0;
}

static void
code_row(sqlite3_stmt *st, void *out)
{
	struct nudge_code *c = out;

	c->code = store_column_str(st, 0);
	c->channel = store_column_str(st, 1);
	c->user_id = store_column_str(st, 2);
	c->issued_at = sqlite3_column_int64(st, 3);
}

/* Any later event on the code (a click, a claim, held or rejected, the referral's
 * moves) means it was shared. */
int
store_codes_unshared(struct store *s, const char *campaign, int64_t lo, int64_t hi,
    size_t max, struct nudge_code **out, size_t *n)
{
	sqlite3_stmt *st = prepare(s, "SELECT e.code, e.channel, e.referrer_id, e.at FROM "
	    "referral_events e WHERE e.type = 'issued' AND e.campaign = ?1 AND e.at >= ?2 "
	    "AND e.at < ?3 AND NOT EXISTS (SELECT 1 FROM referral_events c WHERE c.code = "
	    "e.code AND c.type <> 'issued') AND NOT EXISTS (SELECT 1 FROM nudges d WHERE "
	    "d.kind = 'remind' AND d.subject = e.code AND d.period = '') ORDER BY e.at "
	    "LIMIT ?4");
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	store_bind_text(st, 1, campaign);
	sqlite3_bind_int64(st, 2, lo);
	sqlite3_bind_int64(st, 3, hi);
	sqlite3_bind_int64(st, 4, (int64_t)max);
	*out = store_many_rows(st, code_row, sizeof(**out), max, n, &rc);
	store_oneoff_release(st);
	return rc;
}

void
nudge_codes_free(struct nudge_code *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].code);
		free(v[i].channel);
		free(v[i].user_id);
	}
	free(v);
}

static void
wait_row(sqlite3_stmt *st, void *out)
{
	struct figures_waiting *w = out;

	w->referral_id = sqlite3_column_int64(st, 0);
	w->rep_code = store_column_str(st, 1);
	w->since = sqlite3_column_int64(st, 2);
}

/* Waiting as store_rep_waiting counts it: claimed, since updated_at (an operator who
 * sends a referral back to claimed starts the wait again). */
int
store_referrals_unacted(struct store *s, int64_t before, size_t max,
    struct figures_waiting **out, size_t *n)
{
	sqlite3_stmt *st = prepare(s, "SELECT r.id, r.rep_code, r.updated_at FROM referrals r "
	    "WHERE r.state = 'claimed' AND r.rep_code IS NOT NULL AND r.updated_at <= ?1 AND "
	    "NOT EXISTS (SELECT 1 FROM nudges d WHERE d.kind = 'escalate' AND d.subject = "
	    "CAST(r.id AS TEXT) AND d.period = '') ORDER BY r.updated_at, r.id LIMIT ?2");
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, before);
	sqlite3_bind_int64(st, 2, (int64_t)max);
	*out = store_many_rows(st, wait_row, sizeof(**out), max, n, &rc);
	store_oneoff_release(st);
	return rc;
}
