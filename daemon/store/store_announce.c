/* store_announce.c: announcements: who is in a segment, the row of each send, its
 * recipients frozen at the start, and its results (deliveries from the outbox rows of
 * its chunks, and what the recipients did in the 14 days after: invites issued, clicks
 * on their codes, claims by their codes). Each query reads through an index: a
 * segment through users' primary key, users_by_rep, customers' primary key with
 * referrals_by_referrer, or customer_tags; what followed through referral_events' type
 * and time and the recipients' primary key. Statements are prepared where they run:
 * the tick's two reads run once a second and the rest when an operator acts, so a
 * prepare (microseconds) costs nothing that matters, and the store's statement cache
 * stays as it is. */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* Each segment as (user_id, is_friend) rows of the channel ?1; ?2 the rep codes
 * (a JSON array) of a branch or rep segment, ?2 the tag of a tag segment. The index
 * and join order are given: without statistics SQLite read every user of the channel
 * (a million on the scale database) for a branch's or a tag's few. */
static const char *const segment_sql[SEG_KIND_COUNT] = {
	[SEG_ALL] = "SELECT user_id, is_friend FROM users WHERE channel = ?1",
	[SEG_BRANCH] = ("SELECT user_id, is_friend FROM users INDEXED BY users_by_rep WHERE "
	    "rep_code IN (SELECT value FROM json_each(?2)) AND channel = ?1"),
	[SEG_REP] = ("SELECT user_id, is_friend FROM users INDEXED BY users_by_rep WHERE "
	    "rep_code IN (SELECT value FROM json_each(?2)) AND channel = ?1"),
	[SEG_NOT_REFERRED] = ("SELECT u.user_id, u.is_friend FROM customers c CROSS JOIN users u "
	    "ON u.channel = c.channel AND u.user_id = c.user_id WHERE c.channel = ?1 AND NOT "
	    "EXISTS (SELECT 1 FROM referrals r WHERE r.channel = c.channel AND "
	    "r.referrer_id = c.user_id)"),
	[SEG_REFERRED] = ("SELECT u.user_id, u.is_friend FROM (SELECT DISTINCT referrer_id "
	    "AS id FROM referrals WHERE channel = ?1) r JOIN users u ON u.channel = ?1 AND "
	    "u.user_id = r.id"),
	[SEG_TAG] = ("SELECT u.user_id, u.is_friend FROM customer_tags t CROSS JOIN users u ON "
	    "u.channel = t.channel AND u.user_id = t.user_id WHERE t.channel = ?1 AND "
	    "t.tag = ?2"),
};

static sqlite3_stmt *
prepare(struct store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_warnx("msg=\"announcement statement not prepared\" detail=\"%s\"",
		    sqlite3_errmsg(s->db));
		return NULL;
	}
	return st;
}

static void
bind_target(sqlite3_stmt *st, const struct announce_target *t)
{
	store_bind_text(st, 1, t->channel);
	if (t->kind == SEG_TAG)
		store_bind_text(st, 2, t->tag);
	else if (t->kind == SEG_BRANCH || t->kind == SEG_REP)
		store_bind_text(st, 2, t->reps_json ? t->reps_json : "[]");
}

int
store_announce_count(struct store *s, const struct announce_target *t, int64_t *friends,
    int64_t *blocked)
{
	char *sql;
	sqlite3_stmt *st;
	int rc = -1;

	*friends = *blocked = 0;
	if (t->kind >= SEG_KIND_COUNT)
		return -1;
	sql = xasprintf("SELECT coalesce(sum(is_friend != 0), 0), coalesce(sum(is_friend = "
	    "0), 0) FROM (%s)", segment_sql[t->kind]);
	if ((st = prepare(s, sql)) != NULL) {
		bind_target(st, t);
		if (sqlite3_step(st) == SQLITE_ROW) {
			*friends = sqlite3_column_int64(st, 0);
			*blocked = sqlite3_column_int64(st, 1);
			rc = 0;
		} else
			store_note_error(s, sqlite3_errcode(s->db));
		sqlite3_finalize(st);
	}
	free(sql);
	return rc;
}

/* Runs a one-off statement without rows; the bindings are made by the caller. */
static int
run(struct store *s, sqlite3_stmt *st)
{
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		store_note_error(s, rc);
		log_warnx("msg=\"announcement statement failed\" sql=\"%.40s\" detail=\"%s\"",
		    sqlite3_sql(st), sqlite3_errmsg(s->db));
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_announce_create(struct store *s, const struct announce_new *a, int64_t *id)
{
	sqlite3_stmt *st = prepare(s, "INSERT INTO announcements(config_id, title, message, "
	    "channel, segment, state, scheduled_at, created_by, created_at, reason, "
	    "recipients, blocked, quota_limit, quota_used) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
	    "?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, a->config_id);
	store_bind_text(st, 2, a->title);
	store_bind_text(st, 3, a->message);
	store_bind_text(st, 4, a->channel);
	store_bind_text(st, 5, a->segment);
	store_bind_text(st, 6, a->refused ? "refused" : "scheduled");
	sqlite3_bind_int64(st, 7, a->scheduled_at);
	store_bind_text(st, 8, a->created_by);
	sqlite3_bind_int64(st, 9, wall_ms());
	store_bind_text(st, 10, a->reason);
	if (a->refused) {
		sqlite3_bind_int64(st, 11, a->recipients);
		sqlite3_bind_int64(st, 12, a->blocked);
		if (a->quota_limit >= 0)
			sqlite3_bind_int64(st, 13, a->quota_limit);
		sqlite3_bind_int64(st, 14, a->quota_used);
	}
	if (run(s, st) == -1)
		return -1;
	*id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

#define ROW_COLS "id, config_id, title, message, channel, segment, state, scheduled_at, " \
	"created_by, created_at, started_at, finished_at, recipients, blocked, chunks, " \
	"quota_limit, quota_used, reason"

static void
row_announce(sqlite3_stmt *st, void *out)
{
	struct announce_row *r = out;

	r->id = sqlite3_column_int64(st, 0);
	r->config_id = store_column_str(st, 1);
	r->title = store_column_str(st, 2);
	r->message = store_column_str(st, 3);
	r->channel = store_column_str(st, 4);
	r->segment = store_column_str(st, 5);
	r->state = store_column_str(st, 6);
	r->scheduled_at = sqlite3_column_int64(st, 7);
	r->created_by = store_column_str(st, 8);
	r->created_at = sqlite3_column_int64(st, 9);
	r->started_at = sqlite3_column_int64(st, 10);
	r->finished_at = sqlite3_column_int64(st, 11);
	r->recipients = sqlite3_column_int64(st, 12);
	r->blocked = sqlite3_column_int64(st, 13);
	r->chunks = sqlite3_column_int64(st, 14);
	r->quota_limit = sqlite3_column_type(st, 15) == SQLITE_NULL ? -1 :
	    sqlite3_column_int64(st, 15);
	r->quota_used = sqlite3_column_int64(st, 16);
	r->reason = store_column_str(st, 17);
}

void
announce_row_clear(struct announce_row *r)
{
	free(r->config_id);
	free(r->title);
	free(r->message);
	free(r->channel);
	free(r->segment);
	free(r->state);
	free(r->created_by);
	free(r->reason);
	memset(r, 0, sizeof(*r));
}

int
store_announce_get(struct store *s, int64_t id, struct announce_row *out)
{
	sqlite3_stmt *st = prepare(s, "SELECT " ROW_COLS " FROM announcements WHERE id = ?1");
	int rc;

	memset(out, 0, sizeof(*out));
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = store_one_row(s, st, row_announce, out);
	sqlite3_finalize(st);
	return rc;
}

int
store_announce_list(struct store *s, size_t max, struct announce_row **out, size_t *n)
{
	sqlite3_stmt *st = prepare(s, "SELECT " ROW_COLS " FROM announcements ORDER BY id "
	    "DESC LIMIT ?1");
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)max);
	*out = store_many_rows(st, row_announce, sizeof(**out), max, n, &rc);
	sqlite3_finalize(st);
	return rc;
}

int
store_announce_due(struct store *s, int64_t now, struct announce_row *out)
{
	sqlite3_stmt *st = prepare(s, "SELECT " ROW_COLS " FROM announcements WHERE state "
	    "IN ('scheduled', 'sending') AND scheduled_at <= ?1 AND state = 'scheduled' "
	    "ORDER BY scheduled_at LIMIT 1");
	int rc;

	memset(out, 0, sizeof(*out));
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	rc = store_one_row(s, st, row_announce, out);
	sqlite3_finalize(st);
	return rc;
}

int
store_announce_close(struct store *s, int64_t id, const char *state, const char *reason,
    const struct announce_counts *c)
{
	sqlite3_stmt *st = prepare(s, "UPDATE announcements SET state = ?2, reason = ?3, "
	    "finished_at = ?4, recipients = ?5, blocked = ?6, quota_limit = ?7, quota_used = "
	    "?8 WHERE id = ?1 AND state = 'scheduled'");

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	store_bind_text(st, 2, state);
	store_bind_text(st, 3, reason);
	sqlite3_bind_int64(st, 4, wall_ms());
	if (c != NULL) {
		sqlite3_bind_int64(st, 5, c->recipients);
		sqlite3_bind_int64(st, 6, c->blocked);
		if (c->quota_limit >= 0)
			sqlite3_bind_int64(st, 7, c->quota_limit);
		sqlite3_bind_int64(st, 8, c->quota_used);
	}
	if (run(s, st) == -1)
		return -1;
	return sqlite3_changes(s->db) == 1 ? 1 : 0;
}

int
store_announce_freeze(struct store *s, int64_t id, const struct announce_target *t,
    int64_t *recipients)
{
	char *sql = xasprintf("INSERT INTO announce_recipients(announcement_id, user_id) "
	    "SELECT ?3, user_id FROM (%s) WHERE is_friend != 0", segment_sql[t->kind]);
	sqlite3_stmt *st = prepare(s, sql);

	free(sql);
	if (st == NULL)
		return -1;
	bind_target(st, t);
	sqlite3_bind_int64(st, 3, id);
	if (run(s, st) == -1)
		return -1;
	*recipients = sqlite3_changes(s->db);
	return 0;
}

int
store_announce_recipients(struct store *s, int64_t id,
    int (*each)(void *arg, const char *user_id), void *arg)
{
	sqlite3_stmt *st = prepare(s, "SELECT user_id FROM announce_recipients WHERE "
	    "announcement_id = ?1 ORDER BY user_id");
	int rc = SQLITE_DONE, stop = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW)
		stop = each(arg, (const char *)sqlite3_column_text(st, 0)) == -1;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		store_note_error(s, rc);
	sqlite3_finalize(st);
	return stop || (rc != SQLITE_ROW && rc != SQLITE_DONE) ? -1 : 0;
}

int
store_announce_started(struct store *s, int64_t id, const struct announce_counts *c,
    int64_t chunks, int64_t at)
{
	sqlite3_stmt *st = prepare(s, "UPDATE announcements SET state = CASE WHEN ?4 = 0 "
	    "THEN 'sent' ELSE 'sending' END, started_at = ?5, finished_at = CASE WHEN ?4 = 0 "
	    "THEN ?5 END, recipients = ?2, blocked = ?3, chunks = ?4, quota_limit = ?6, "
	    "quota_used = ?7 WHERE id = ?1 AND state = 'scheduled'");

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, c->recipients);
	sqlite3_bind_int64(st, 3, c->blocked);
	sqlite3_bind_int64(st, 4, chunks);
	sqlite3_bind_int64(st, 5, at);
	if (c->quota_limit >= 0)
		sqlite3_bind_int64(st, 6, c->quota_limit);
	sqlite3_bind_int64(st, 7, c->quota_used);
	if (run(s, st) == -1)
		return -1;
	return sqlite3_changes(s->db) == 1 ? 1 : 0;
}

/* The outbox rows of announcement ?1: its dedupe keys, one range of their index. */
#define CHUNK_ROWS "outbox WHERE dedupe_key >= 'announce:' || ?1 || ':' AND dedupe_key < " \
	"'announce:' || ?1 || ';'"

int
store_announce_finish(struct store *s, int64_t now)
{
	sqlite3_stmt *st = prepare(s, "SELECT count(*) FROM announcements WHERE state IN "
	    "('scheduled', 'sending') AND state = 'sending'");
	int64_t sending = 0;

	/* Read first: an UPDATE that changes nothing still takes the write lock, every
	 * second, from imports and shokaictl. */
	if (st == NULL)
		return -1;
	if (store_query_int(s, st, &sending) == -1)
		sending = -1;
	sqlite3_finalize(st);
	if (sending <= 0)
		return sending == 0 ? 0 : -1;
	st = prepare(s, "UPDATE announcements SET state = 'sent', finished_at "
	    "= ?1 WHERE state IN ('scheduled', 'sending') AND state = 'sending' AND NOT EXISTS "
	    "(SELECT 1 FROM outbox WHERE dedupe_key >= 'announce:' || announcements.id || ':' "
	    "AND dedupe_key < 'announce:' || announcements.id || ';' AND state = 'pending')");

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	if (run(s, st) == -1)
		return -1;
	return (int)sqlite3_changes(s->db);
}

#define FOLLOW_MS	(14LL * 24 * 3600 * 1000)

static int
count_into(struct store *s, const char *sql, int64_t id, int64_t from, int64_t to,
    int64_t *out)
{
	sqlite3_stmt *st = prepare(s, sql);
	int rc;

	*out = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, to);
	rc = store_query_int(s, st, out);
	sqlite3_finalize(st);
	return rc == -1 ? -1 : 0;
}

int
store_announce_results(struct store *s, int64_t id, int64_t started_at,
    struct announce_results *r)
{
	/* A chunk's people: the length of its body's "to". */
	static const char deliveries[] = "SELECT coalesce(sum(CASE WHEN state = 'sent' THEN "
	    "json_array_length(body, '$.to') END), 0), coalesce(sum(CASE WHEN state IN "
	    "('failed', 'unknown') THEN json_array_length(body, '$.to') END), 0), "
	    "coalesce(sum(CASE WHEN state = 'pending' THEN json_array_length(body, '$.to') "
	    "END), 0), count(*), coalesce(sum(state = 'sent'), 0) FROM " CHUNK_ROWS;
	static const char issued[] = "SELECT count(*) FROM referral_events e WHERE e.type = "
	    "'issued' AND e.at >= ?2 AND e.at < ?3 AND EXISTS (SELECT 1 FROM "
	    "announce_recipients r WHERE r.announcement_id = ?1 AND r.user_id = e.referrer_id)";
	static const char claimed[] = "SELECT count(*) FROM referral_events e WHERE e.type = "
	    "'claimed' AND e.at >= ?2 AND e.at < ?3 AND EXISTS (SELECT 1 FROM "
	    "announce_recipients r WHERE r.announcement_id = ?1 AND r.user_id = e.referrer_id)";
	static const char clicked[] = "SELECT count(*) FROM referral_events e INDEXED BY "
	    "referral_events_clicks JOIN referral_codes c ON c.code = e.code WHERE e.type = "
	    "'clicked' AND e.at >= ?2 AND e.at < ?3 AND EXISTS (SELECT 1 FROM "
	    "announce_recipients r WHERE r.announcement_id = ?1 AND r.user_id = c.user_id)";
	sqlite3_stmt *st = prepare(s, deliveries);
	int64_t to = started_at + FOLLOW_MS;
	int rc;

	memset(r, 0, sizeof(*r));
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		r->delivered = sqlite3_column_int64(st, 0);
		r->failed = sqlite3_column_int64(st, 1);
		r->pending = sqlite3_column_int64(st, 2);
		r->chunks_written = sqlite3_column_int64(st, 3);
		r->chunks_sent = sqlite3_column_int64(st, 4);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return -1;
	if (started_at <= 0)
		return 0;
	r->follow_until = to;
	if (count_into(s, issued, id, started_at, to, &r->invites) == -1 ||
	    count_into(s, clicked, id, started_at, to, &r->clicks) == -1 ||
	    count_into(s, claimed, id, started_at, to, &r->claims) == -1)
		return -1;
	return 0;
}

int
store_tags_put(struct store *s, const char *channel, const char *tag, const char *user_id,
    int64_t at, int *inserted)
{
	sqlite3_stmt *st = prepare(s, "INSERT OR IGNORE INTO customer_tags(channel, tag, "
	    "user_id, imported_at) VALUES (?1, ?2, ?3, ?4)");

	*inserted = 0;
	if (st == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, tag);
	store_bind_text(st, 3, user_id);
	sqlite3_bind_int64(st, 4, at);
	if (run(s, st) == -1)
		return -1;
	*inserted = sqlite3_changes(s->db) > 0;
	return 0;
}
