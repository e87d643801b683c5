/* store_conversation.c: the conversation log (every message a customer wrote or was
 * sent) and handoffs (a customer waiting for a person): the rows handlers, the handoff
 * tick and the console write, and the lists the console and the notices read. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "store_internal.h"

static const char *const stmt_sql[ST_COUNT] = {
	[ST_CONV_PUT] = "INSERT INTO conversation(channel, user_id, at, direction, kind, "
	    "text, body, inbox_id, outbox_id, author) VALUES (?,?,?,?,?,?,?,?,?,?)",
	[ST_HANDOFF_QUIET] = "SELECT 1 FROM handoffs WHERE channel = ? AND user_id = ? AND "
	    "state = 'open' AND quiet_until > ?",
};

int
store_conversation_put(struct store *s, const struct conversation_row *c)
{
	sqlite3_stmt *st = store_stmt(s, ST_CONV_PUT, stmt_sql);

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, c->channel);
	store_bind_text(st, 2, c->user_id);
	sqlite3_bind_int64(st, 3, c->at ? c->at : wall_ms());
	store_bind_text(st, 4, c->outbound ? "out" : "in");
	store_bind_text(st, 5, c->kind);
	store_bind_text(st, 6, c->text);
	store_bind_text(st, 7, c->body);
	if (c->inbox_id > 0)
		sqlite3_bind_int64(st, 8, c->inbox_id);
	else
		sqlite3_bind_null(st, 8);
	if (c->outbox_id > 0)
		sqlite3_bind_int64(st, 9, c->outbox_id);
	else
		sqlite3_bind_null(st, 9);
	store_bind_text(st, 10, c->author);
	return store_step(s, st);
}

int
store_handoff_quiet(struct store *s, const char *channel, const char *user_id, int64_t now)
{
	sqlite3_stmt *st = store_stmt(s, ST_HANDOFF_QUIET, stmt_sql);
	int rc;

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, user_id);
	sqlite3_bind_int64(st, 3, now);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	store_note_error(s, rc);
	log_warnx("msg=\"reading handoffs failed\" detail=\"%s\"", sqlite3_errmsg(s->db));
	return -1;
}

int
store_conversation_last_in(struct store *s, const char *channel, const char *user_id,
    int n, json_t **rows)
{
	const struct store_arg a[] = { SARG_TEXT(channel), SARG_TEXT(user_id), SARG_INT(n) };

	return store_query_json(s, "SELECT at, kind, text FROM (SELECT id, at, kind, text "
	    "FROM conversation WHERE channel = ? AND user_id = ? AND direction = 'in' AND "
	    "kind != 'follow' AND kind != 'unfollow' ORDER BY id DESC LIMIT ?) ORDER BY id",
	    a, 3, rows);
}

/* The columns a handoff answers with, for the tick and the console alike. */
#define HANDOFF_COLS "h.id, h.channel, h.user_id, h.state, h.reason, h.rep_code, " \
	"h.branch, h.notified, h.opened_at, h.quiet_until, h.escalate_at, h.escalated_at, " \
	"h.seen_at, h.seen_by, h.answered_at, h.answered_by, h.resolved_at, h.resolved_by"

int
store_handoff_get(struct store *s, const char *channel, const char *user_id, int open,
    json_t **row)
{
	const struct store_arg a[] = { SARG_TEXT(channel), SARG_TEXT(user_id),
	    SARG_INT(open) };

	return store_query_one(s, "SELECT " HANDOFF_COLS " FROM handoffs h WHERE "
	    "h.channel = ? AND h.user_id = ? AND (?3 = 0 OR h.state = 'open') "
	    "ORDER BY h.id DESC LIMIT 1", a, 3, row);
}

int
store_handoff_open(struct store *s, const struct handoff_new *h, int64_t *id)
{
	const struct store_arg a[] = { SARG_TEXT(h->channel), SARG_TEXT(h->user_id),
	    SARG_TEXT(h->reason), SARG_TEXT(h->rep_code), SARG_TEXT(h->branch),
	    SARG_TEXT(h->notified), SARG_INT(h->opened_at), SARG_INT(h->quiet_until),
	    SARG_INT(h->escalate_at) };

	if (store_run(s, "INSERT INTO handoffs(channel, user_id, state, reason, rep_code, "
	    "branch, notified, opened_at, quiet_until, escalate_at) VALUES (?, ?, 'open', ?, "
	    "?, ?, ?, ?, ?, nullif(?, 0))", a, 9) != 1)
		return -1;
	*id = store_last_id(s);
	return 0;
}

int
store_handoffs_due(struct store *s, int64_t now, int limit, json_t **rows)
{
	const struct store_arg a[] = { SARG_INT(now), SARG_INT(now), SARG_INT(limit) };

	/* Both are read through handoffs_by_state's open range: few rows at any time. */
	return store_query_json(s, "SELECT " HANDOFF_COLS " FROM handoffs h WHERE "
	    "h.state = 'open' AND ((h.escalate_at <= ? AND h.answered_at IS NULL) OR "
	    "h.quiet_until <= ?) ORDER BY h.opened_at LIMIT ?", a, 3, rows);
}

int
store_handoff_update(struct store *s, int64_t id, enum handoff_field f, int64_t at,
    const char *by)
{
	static const char *const sql[] = {
		[HANDOFF_ESCALATED] = "UPDATE handoffs SET escalated_at = ?, escalate_at = "
		    "NULL, notified = notified || ',' || ? WHERE id = ? AND state = 'open'",
		[HANDOFF_SEEN] = "UPDATE handoffs SET seen_at = ?, seen_by = ? WHERE id = ? "
		    "AND seen_at IS NULL",
		[HANDOFF_ANSWERED] = "UPDATE handoffs SET answered_at = ?, answered_by = ? "
		    "WHERE id = ? AND answered_at IS NULL",
		[HANDOFF_RESOLVED] = "UPDATE handoffs SET state = 'resolved', resolved_at = ?, "
		    "resolved_by = ? WHERE id = ? AND state = 'open'",
		[HANDOFF_EXPIRED] = "UPDATE handoffs SET state = 'expired', resolved_at = ?, "
		    "resolved_by = ? WHERE id = ? AND state = 'open'",
	};
	const struct store_arg a[] = { SARG_INT(at), SARG_TEXT(by ? by : "system"),
	    SARG_INT(id) };

	return (int)store_run(s, sql[f], a, 3);
}

int
store_conversation_unread(struct store *s, const char *channel, const char *user_id,
    int64_t *upto, char **token)
{
	const struct store_arg a[] = { SARG_TEXT(channel), SARG_TEXT(user_id) };
	json_t *row = NULL;
	int rc;

	/* The newest message carrying a token: marking it read marks those before it. */
	*token = NULL;
	rc = store_query_one(s, "SELECT id, json_extract(body, '$.markAsReadToken') AS token "
	    "FROM conversation WHERE channel = ? AND user_id = ? AND direction = 'in' AND "
	    "read_at IS NULL AND json_valid(body) AND json_extract(body, "
	    "'$.markAsReadToken') IS NOT NULL ORDER BY id DESC LIMIT 1", a, 2, &row);
	if (rc == 1) {
		*upto = json_integer_value(json_object_get(row, "id"));
		*token = xstrdup(json_string_value(json_object_get(row, "token")));
	}
	json_decref(row);
	return rc;
}

int
store_conversation_read(struct store *s, const char *channel, const char *user_id,
    int64_t upto, int64_t at)
{
	const struct store_arg a[] = { SARG_INT(at), SARG_TEXT(channel), SARG_TEXT(user_id),
	    SARG_INT(upto) };

	return store_run(s, "UPDATE conversation SET read_at = ? WHERE channel = ? AND "
	    "user_id = ? AND direction = 'in' AND id <= ? AND read_at IS NULL", a, 4) == -1 ?
	    -1 : 0;
}

int
store_conversation_forget_text(struct store *s, int64_t before, int max)
{
	const struct store_arg a[] = { SARG_INT(before), SARG_INT(max) };
	int64_t n;

	/* The inbox row and the sent outbox row keep the same text: it goes with them. */
	if (store_run(s, "UPDATE inbox SET text = NULL, postback_data = NULL, "
	    "postback_params = NULL, message_meta = NULL WHERE id IN (SELECT inbox_id FROM "
	    "conversation WHERE at < ? AND (text IS NOT NULL OR body IS NOT NULL) AND "
	    "inbox_id IS NOT NULL ORDER BY at LIMIT ?)", a, 2) == -1 ||
	    store_run(s, "UPDATE outbox SET body = '{}' WHERE state != 'pending' AND id IN "
	    "(SELECT outbox_id FROM conversation WHERE at < ? AND (text IS NOT NULL OR body IS "
	    "NOT NULL) AND outbox_id IS NOT NULL ORDER BY at LIMIT ?)", a, 2) == -1)
		return -1;
	n = store_run(s, "UPDATE conversation SET text = NULL, body = NULL WHERE id IN "
	    "(SELECT id FROM conversation WHERE at < ? AND (text IS NOT NULL OR body IS NOT "
	    "NULL) ORDER BY at LIMIT ?)", a, 2);
	return (int)n;
}

int
store_console_handoffs(struct store *s, int open, const char *reps_json, int limit,
    json_t **rows)
{
	/* Each with the customer's name and their last message, for the list. A scope
	 * (a manager's reps) keeps handoffs whose rep is one of them. */
	const struct store_arg a[] = { SARG_TEXT(open ? "open" : NULL),
	    SARG_TEXT(open ? NULL : "open"), SARG_TEXT(reps_json), SARG_TEXT(reps_json),
	    SARG_INT(limit) };

	return store_query_json(s, "SELECT " HANDOFF_COLS ", p.display_name, "
	    "(SELECT c.text FROM conversation c WHERE c.channel = h.channel AND c.user_id = "
	    "h.user_id AND c.direction = 'in' ORDER BY c.id DESC LIMIT 1) AS last_text, "
	    "(SELECT c.at FROM conversation c WHERE c.channel = h.channel AND c.user_id = "
	    "h.user_id AND c.direction = 'in' ORDER BY c.id DESC LIMIT 1) AS last_at "
	    "FROM handoffs h LEFT JOIN profiles p ON p.channel = h.channel AND "
	    "p.user_id = h.user_id WHERE (h.state = ?1 OR (?1 IS NULL AND h.state != ?2)) "
	    "AND (?3 IS NULL OR h.rep_code IN (SELECT value FROM json_each(?4))) "
	    "ORDER BY CASE WHEN h.state = 'open' THEN h.opened_at END ASC, h.id DESC "
	    "LIMIT ?5", a, 5, rows);
}

int
store_console_conversation(struct store *s, const char *channel, const char *user_id,
    int64_t before, int limit, json_t **rows)
{
	const struct store_arg a[] = { SARG_TEXT(channel), SARG_TEXT(user_id),
	    SARG_INT(before > 0 ? before : INT64_MAX), SARG_INT(limit) };

	/* The newest page, oldest first; an outbound message with its outbox row's state
	 * and messages (NULL once retention emptied the row). */
	return store_query_json(s, "SELECT * FROM (SELECT c.id, c.at, c.direction, c.kind, "
	    "c.text, CASE WHEN c.direction = 'out' AND json_valid(o.body) THEN json_extract("
	    "o.body, '$.messages') ELSE c.body END AS body, c.author, u.name AS author_name, "
	    "c.read_at, o.state AS send_state, o.last_error AS send_error FROM "
	    "conversation c LEFT JOIN outbox o ON "
	    "o.id = c.outbox_id LEFT JOIN console_users u ON c.author = 'operator:' || "
	    "u.login WHERE c.channel = ? AND c.user_id = ? AND c.id < ? ORDER BY c.id DESC "
	    "LIMIT ?) ORDER BY id", a, 4, rows);
}

int
store_console_announced(struct store *s, const char *channel, const char *user_id,
    int64_t from, int64_t to, json_t **rows)
{
	const struct store_arg a[] = { SARG_TEXT(user_id), SARG_TEXT(channel), SARG_INT(from),
	    SARG_INT(to) };

	/* Announcements are one multicast for many: the log keeps no row per person; the
	 * frozen recipients say who got one. */
	return store_query_json(s, "SELECT a.id, a.config_id, a.title, a.started_at, a.state "
	    "FROM announce_recipients r JOIN announcements a ON a.id = r.announcement_id "
	    "WHERE r.user_id = ? AND a.channel = ? AND a.started_at >= ? AND a.started_at <= ? "
	    "ORDER BY a.started_at", a, 4, rows);
}
