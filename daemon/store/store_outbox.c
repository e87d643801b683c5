/* store_outbox.c: the transactional outbox: rows written in the transaction of the state
 * that caused them, the rows due to send, the mark that a try has started, each try's
 * outcome, and the operator's requeue of a failed row. */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

static const char *const stmt_sql[ST_COUNT] = {
	[ST_OUTBOX_PUT] = "INSERT OR IGNORE INTO outbox(platform, channel, kind, target, body, "
	    "fallback_to, retry_key, dedupe_key, next_attempt_at, created_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[ST_OUTBOX_DUE] = "SELECT id, channel, kind, target, body, fallback_to, retry_key, "
	    "attempts, ambiguous, created_at FROM outbox WHERE state = 'pending' AND "
	    "platform = ? AND next_attempt_at <= ? AND trying = 0 "
	    "ORDER BY next_attempt_at, id LIMIT ?",
	[ST_OUTBOX_TRYING] = "UPDATE outbox SET trying = 1 WHERE id = ?",
	[ST_OUTBOX_UNTRY] = "UPDATE outbox SET trying = 0 WHERE id = ?",
	/* Only a pending row is ever marked (the due query takes pending rows; an outcome
	 * clears the mark), so the pending ones are all a start has to look at: without
	 * outbox_due it read the whole outbox, most of a second on a million rows. */
	[ST_OUTBOX_RECOVER] = "UPDATE outbox SET ambiguous = 1, trying = 0 WHERE id IN "
	    "(SELECT id FROM outbox INDEXED BY outbox_due WHERE state = 'pending' AND "
	    "trying = 1)",
	[ST_OUTBOX_RESULT] = "UPDATE outbox SET state = ?, attempts = ?, ambiguous = ?, "
	    "next_attempt_at = ?, sent_at = ?, last_status = ?, last_error = ?, kind = ?, "
	    "body = ?, trying = 0 WHERE id = ?",
	[ST_OUTBOX_BACKLOG] = "SELECT count(*) FROM outbox WHERE state = 'pending'",
};

void
outbox_msg_clear(struct outbox_msg *m)
{
	free(m->channel);
	free(m->kind);
	free(m->target);
	free(m->body);
	free(m->fallback_to);
	free(m->retry_key);
	free(m->dedupe_key);
	memset(m, 0, sizeof(*m));
}

int
store_outbox_put(struct store *s, struct outbox_msg *m, int *inserted)
{
	sqlite3_stmt *st = store_stmt(s, ST_OUTBOX_PUT, stmt_sql);
	int64_t now = wall_ms();

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, platform_name(m->platform));
	store_bind_text(st, 2, m->channel);
	store_bind_text(st, 3, m->kind);
	store_bind_text(st, 4, m->target);
	store_bind_text(st, 5, m->body);
	store_bind_text(st, 6, m->fallback_to);
	store_bind_text(st, 7, m->retry_key);
	store_bind_text(st, 8, m->dedupe_key);
	sqlite3_bind_int64(st, 9, m->next_attempt_at ? m->next_attempt_at : now);
	sqlite3_bind_int64(st, 10, now);
	if (store_step(s, st) == -1)
		return -1;
	*inserted = sqlite3_changes(s->db) > 0;
	if (*inserted) {
		m->id = sqlite3_last_insert_rowid(s->db);
		s->outbox_puts[m->platform == PLATFORM_WORKS]++;
	}
	return 0;
}

uint64_t
store_outbox_puts(const struct store *s, enum platform p)
{
	return s->outbox_puts[p == PLATFORM_WORKS];
}

static void
row_outbox(sqlite3_stmt *st, void *out)
{
	struct outbox_msg *m = out;

	m->id = sqlite3_column_int64(st, 0);
	m->channel = store_column_str(st, 1);
	m->kind = store_column_str(st, 2);
	m->target = store_column_str(st, 3);
	m->body = store_column_str(st, 4);
	m->fallback_to = store_column_str(st, 5);
	m->retry_key = store_column_str(st, 6);
	m->attempts = sqlite3_column_int(st, 7);
	m->ambiguous = sqlite3_column_int(st, 8);
	m->created_at = sqlite3_column_int64(st, 9);
}

/* At start, before any send: a try that started and whose outcome was never written
 * (the process died) may have been delivered, exactly like a try that timed out. After
 * this, trying = 1 means a try of this process is in flight, and the due query skips
 * those rows. */
int
store_outbox_recover(struct store *s)
{
	sqlite3_stmt *st = store_stmt(s, ST_OUTBOX_RECOVER, stmt_sql);

	return st == NULL ? -1 : store_step(s, st);
}

/* Up to max rows of platform p due by now and not being tried, oldest first; *n rows in *out (the caller
 * clears each and frees *out, also after an error). */
int
store_outbox_due(struct store *s, enum platform p, int64_t now, size_t max,
    struct outbox_msg **out, size_t *n)
{
	sqlite3_stmt *st = store_stmt(s, ST_OUTBOX_DUE, stmt_sql);
	int rc;

	*out = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	store_bind_text(st, 1, platform_name(p));
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, (int64_t)max);
	*out = store_many_rows(st, row_outbox, sizeof(**out), max, n, &rc);
	for (size_t i = 0; i < *n; i++)
		(*out)[i].platform = p;
	if (rc == -1) {
		log_warnx("msg=\"reading the outbox failed\" detail=\"%s\"", sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

/* Runs one of the row-id updates below on row id. */
static int
step_row(struct store *s, enum stmt_id which, int64_t id)
{
	sqlite3_stmt *st = store_stmt(s, which, stmt_sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return store_step(s, st);
}

/* Writes down that a try of row id starts now, before the request leaves. */
int
store_outbox_trying(struct store *s, int64_t id)
{
	return step_row(s, ST_OUTBOX_TRYING, id);
}

/* A row marked trying whose send never started after all (the daemon stopping). */
int
store_outbox_untry(struct store *s, int64_t id)
{
	return step_row(s, ST_OUTBOX_UNTRY, id);
}

int
store_outbox_result(struct store *s, const struct outbox_msg *m, const char *state,
    int64_t next_attempt_at, int status, const char *error)
{
	sqlite3_stmt *st = store_stmt(s, ST_OUTBOX_RESULT, stmt_sql);

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, state);
	sqlite3_bind_int(st, 2, m->attempts);
	sqlite3_bind_int(st, 3, m->ambiguous);
	sqlite3_bind_int64(st, 4, next_attempt_at);
	if (strcmp(state, "sent") == 0)
		sqlite3_bind_int64(st, 5, wall_ms());
	else
		sqlite3_bind_null(st, 5);
	sqlite3_bind_int(st, 6, status);
	store_bind_text(st, 7, error);
	store_bind_text(st, 8, m->kind);
	store_bind_text(st, 9, m->body);
	sqlite3_bind_int64(st, 10, m->id);
	return store_step(s, st);
}

int64_t
store_outbox_backlog(struct store *s)
{
	return store_count(s, store_stmt(s, ST_OUTBOX_BACKLOG, stmt_sql));
}

/* Puts a failed row back in the queue, due now; its retry key stays the same. */
int
store_outbox_requeue(struct store *s, int64_t id)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(s->db, "UPDATE outbox SET state = 'pending', attempts = 0, "
	    "next_attempt_at = ? WHERE id = ? AND state = 'failed'", -1, &st, NULL) != SQLITE_OK)
		goto done;
	sqlite3_bind_int64(st, 1, wall_ms());
	sqlite3_bind_int64(st, 2, id);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = sqlite3_changes(s->db) == 1 ? 0 : 1;
done:
	sqlite3_finalize(st);
	return rc;
}
