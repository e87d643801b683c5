/* store_inbox.c: the inbox, where every webhook event is written before it is answered
 * and read back by the dispatcher, and the quarantine of signed bodies that did not
 * parse. */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

static const char *const stmt_sql[ST_COUNT] = {
	[ST_INBOX_PUT] = "INSERT OR IGNORE INTO inbox(platform, channel, event_key, "
	    "event_index, type, known, mode, redelivery, source_type, user_id, "
	    "group_id, reply_token, ts, message_id, message_type, text, postback_data, "
	    "postback_params, unblocked, received_at, message_meta) "
	    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[ST_QUARANTINE_PUT] = "INSERT INTO quarantine(platform, channel, received_at, "
	    "reason, body) VALUES (?, ?, ?, ?, ?)",
	[ST_INBOX_PENDING] = "SELECT id, platform, channel, event_key, type, known, mode, "
	    "redelivery, source_type, user_id, group_id, reply_token, ts, message_id, "
	    "message_type, text, postback_data, postback_params, unblocked, message_meta "
	    "FROM inbox WHERE state = 'pending' AND id > ? ORDER BY id LIMIT ?",
	[ST_INBOX_MARK] = "UPDATE inbox SET state = ?, error = ?, processed_at = ?, "
	    "attempts = attempts + 1 WHERE id = ?",
	[ST_INBOX_BACKLOG] = "SELECT count(*) FROM inbox WHERE state = 'pending'",
	[ST_INBOX_VERSION] = "PRAGMA data_version",
};

/* Only the normalised events are kept, not the raw body: it would double the bytes
 * every webhook writes and keep message text nobody reads. Bodies that do not parse are
 * kept whole, in quarantine. */
int
store_inbox_put(struct store *s, enum platform p, const char *channel,
    struct event_list *events, int *inserted)
{
	sqlite3_stmt *st = store_stmt(s, ST_INBOX_PUT, stmt_sql);
	int64_t now = wall_ms();

	*inserted = 0;
	if (st == NULL)
		return -1;
	for (size_t i = 0; i < events->n; i++) {
		struct event *ev = &events->v[i];

		store_bind_text(st, 1, platform_name(p));
		store_bind_text(st, 2, channel);
		store_bind_text(st, 3, ev->event_key);
		sqlite3_bind_int64(st, 4, (int64_t)i);
		store_bind_text(st, 5, ev->type);
		sqlite3_bind_int(st, 6, ev->known);
		store_bind_text(st, 7, ev->mode);
		sqlite3_bind_int(st, 8, ev->redelivery);
		store_bind_text(st, 9, ev->source_type);
		store_bind_text(st, 10, ev->user_id);
		store_bind_text(st, 11, ev->group_id);
		store_bind_text(st, 12, ev->reply_token);
		sqlite3_bind_int64(st, 13, ev->timestamp_ms);
		store_bind_text(st, 14, ev->message_id);
		store_bind_text(st, 15, ev->message_type);
		store_bind_text(st, 16, ev->text);
		store_bind_text(st, 17, ev->postback_data);
		store_bind_text(st, 18, ev->postback_params);
		sqlite3_bind_int(st, 19, ev->unblocked);
		sqlite3_bind_int64(st, 20, now);
		store_bind_text(st, 21, ev->message_meta);
		if (store_step(s, st) == -1)
			return -1;
		if (sqlite3_changes(s->db) > 0) {
			ev->inbox_id = sqlite3_last_insert_rowid(s->db);
			(*inserted)++;
		}
	}
	return 0;
}

int
store_quarantine_put(struct store *s, enum platform p, const char *channel,
    const char *reason, const char *body, size_t len)
{
	sqlite3_stmt *st = store_stmt(s, ST_QUARANTINE_PUT, stmt_sql);

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, platform_name(p));
	store_bind_text(st, 2, channel);
	sqlite3_bind_int64(st, 3, wall_ms());
	store_bind_text(st, 4, reason);
	sqlite3_bind_blob(st, 5, body, (int)len, SQLITE_STATIC);
	return store_step(s, st);
}

int
store_inbox_pending(struct store *s, int64_t after_id, size_t max, struct event_list *out)
{
	sqlite3_stmt *st = store_stmt(s, ST_INBOX_PENDING, stmt_sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, after_id);
	sqlite3_bind_int64(st, 2, (int64_t)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct event *ev = event_list_add(out);
		const char *platform = (const char *)sqlite3_column_text(st, 1);

		ev->inbox_id = sqlite3_column_int64(st, 0);
		ev->platform = strcmp(platform, "works") == 0 ? PLATFORM_WORKS : PLATFORM_LINE;
		ev->channel = store_column_str(st, 2);
		ev->event_key = store_column_str(st, 3);
		ev->type = store_column_str(st, 4);
		ev->known = sqlite3_column_int(st, 5);
		ev->mode = store_column_str(st, 6);
		ev->redelivery = sqlite3_column_int(st, 7);
		ev->source_type = store_column_str(st, 8);
		ev->user_id = store_column_str(st, 9);
		ev->group_id = store_column_str(st, 10);
		ev->reply_token = store_column_str(st, 11);
		ev->timestamp_ms = sqlite3_column_int64(st, 12);
		ev->message_id = store_column_str(st, 13);
		ev->message_type = store_column_str(st, 14);
		ev->text = store_column_str(st, 15);
		ev->postback_data = store_column_str(st, 16);
		ev->postback_params = store_column_str(st, 17);
		ev->unblocked = sqlite3_column_int(st, 18);
		ev->message_meta = store_column_str(st, 19);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		unsigned long suppressed;

		if (store_log_ok(s, &suppressed))
			log_warnx("msg=\"reading the inbox failed\" detail=\"%s\" suppressed=%lu",
			    sqlite3_errmsg(s->db), suppressed);
		return -1;
	}
	return 0;
}

int
store_inbox_mark(struct store *s, int64_t id, const char *state, const char *error)
{
	sqlite3_stmt *st = store_stmt(s, ST_INBOX_MARK, stmt_sql);

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, state);
	store_bind_text(st, 2, error);
	sqlite3_bind_int64(st, 3, wall_ms());
	sqlite3_bind_int64(st, 4, id);
	return store_step(s, st);
}

int64_t
store_inbox_backlog(struct store *s)
{
	return store_count(s, store_stmt(s, ST_INBOX_BACKLOG, stmt_sql));
}


int64_t
store_inbox_version(struct store *s)
{
	return store_count(s, store_stmt(s, ST_INBOX_VERSION, stmt_sql));
}
