/* store_console.c: what the console keeps: accounts, sessions, API tokens, the audit
 * log and notes on referrals; and the one-off query runner its lists (and handlers'
 * rarer statements) use: rows as JSON objects keyed by column name, the statements
 * kept prepared by store_oneoff (store.c). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "store_internal.h"

static sqlite3_stmt *
prepare_bound(struct store *s, const char *sql, const struct store_arg *args, size_t nargs)
{
	sqlite3_stmt *st = store_oneoff(s, sql);

	if (st == NULL) {
		log_warnx("msg=\"console query failed\" detail=\"%s\"", sqlite3_errmsg(s->db));
		return NULL;
	}
	for (size_t i = 0; i < nargs; i++) {
		if (args[i].is_num)
			sqlite3_bind_int64(st, (int)i + 1, args[i].num);
		else
			store_bind_text(st, (int)i + 1, args[i].text);
	}
	return st;
}

/* A column as JSON: integers and reals as numbers, NULL as null, text as a string
 * (text that is not UTF-8 becomes its terminal-escaped form rather than vanishing). */
json_t *
store_column_json(sqlite3_stmt *st, int c)
{
	int type = sqlite3_column_type(st, c);
	const char *v;
	json_t *j;

	if (type == SQLITE_INTEGER)
		return json_integer(sqlite3_column_int64(st, c));
	if (type == SQLITE_FLOAT)
		return json_real(sqlite3_column_double(st, c));
	if (type == SQLITE_NULL)
		return json_null();
	v = (const char *)sqlite3_column_text(st, c);
	if ((j = json_stringn(v, (size_t)sqlite3_column_bytes(st, c))) == NULL) {
		char *e = cell_term_dup(v, (size_t)sqlite3_column_bytes(st, c), 0);

		j = json_string(e);
		free(e);
	}
	return j;
}

int
store_query_json(struct store *s, const char *sql, const struct store_arg *args,
    size_t nargs, json_t **rows_out)
{
	sqlite3_stmt *st = prepare_bound(s, sql, args, nargs);
	json_t *rows;
	int rc, ncol;

	*rows_out = NULL;
	if (st == NULL)
		return -1;
	rows = json_array();
	ncol = sqlite3_column_count(st);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *obj = json_object();

		for (int c = 0; c < ncol; c++)
			json_object_set_new(obj, sqlite3_column_name(st, c), store_column_json(st, c));
		json_array_append_new(rows, obj);
	}
	if (rc != SQLITE_DONE) {
		log_warnx("msg=\"console query failed\" detail=\"%s\"", sqlite3_errmsg(s->db));
		json_decref(rows);
		rows = NULL;
	}
	store_oneoff_release(st);
	*rows_out = rows;
	return rows != NULL ? 0 : -1;
}

int
store_query_one(struct store *s, const char *sql, const struct store_arg *args,
    size_t nargs, json_t **row_out)
{
	json_t *rows;

	*row_out = NULL;
	if (store_query_json(s, sql, args, nargs, &rows) == -1)
		return -1;
	if (json_array_size(rows) > 0)
		*row_out = json_incref(json_array_get(rows, 0));
	json_decref(rows);
	return *row_out != NULL ? 1 : 0;
}

int64_t
store_run(struct store *s, const char *sql, const struct store_arg *args, size_t nargs)
{
	sqlite3_stmt *st = prepare_bound(s, sql, args, nargs);
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		log_warnx("msg=\"console write failed\" detail=\"%s\"", sqlite3_errmsg(s->db));
		store_note_error(s, rc);
	}
	store_oneoff_release(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? sqlite3_changes(s->db) : -1;
}

int64_t
store_last_id(struct store *s)
{
	return sqlite3_last_insert_rowid(s->db);
}

/* Accounts. */

static void
account_from_row(const json_t *row, struct console_account *a)
{
	memset(a, 0, sizeof(*a));
	a->id = json_integer_value(json_object_get(row, "id"));
	a->login = xstrdup(json_string_value(json_object_get(row, "login")));
	a->name = xstrdup(json_string_value(json_object_get(row, "name")));
	a->role = xstrdup(json_string_value(json_object_get(row, "role")));
	a->branches = xstrdup(json_string_value(json_object_get(row, "branches")));
	a->password = xstrdup(json_string_value(json_object_get(row, "password")));
	a->disabled = (int)json_integer_value(json_object_get(row, "disabled"));
	a->seen_at = json_integer_value(json_object_get(row, "seen_at"));
}

void
console_account_clear(struct console_account *a)
{
	free(a->login);
	free(a->name);
	free(a->role);
	free(a->branches);
	free(a->password);
	memset(a, 0, sizeof(*a));
}

int
store_account_get(struct store *s, const char *login, struct console_account *a)
{
	struct store_arg arg = SARG_TEXT(login);
	json_t *row;
	int rc = store_query_one(s, "SELECT id, login, name, role, branches, password, "
	    "disabled FROM console_users WHERE login = ?1", &arg, 1, &row);

	if (rc == 1)
		account_from_row(row, a);
	json_decref(row);
	return rc;
}

/* A session by its cookie's hash, with its account (disabled accounts have none). */
int
store_session_get(struct store *s, const char *token_hash, struct console_account *a,
    char **csrf, int64_t *created_at, int64_t *last_seen_at)
{
	struct store_arg arg = SARG_TEXT(token_hash);
	json_t *row;
	int rc = store_query_one(s, "SELECT u.id, u.login, u.name, u.role, u.branches, "
	    "u.password, u.disabled, s.csrf, s.created_at, s.last_seen_at FROM "
	    "console_sessions s JOIN console_users u ON u.id = s.user_id "
	    "WHERE s.token_hash = ?1 AND u.disabled = 0", &arg, 1, &row);

	if (rc == 1) {
		account_from_row(row, a);
		*csrf = xstrdup(json_string_value(json_object_get(row, "csrf")));
		*created_at = json_integer_value(json_object_get(row, "created_at"));
		*last_seen_at = json_integer_value(json_object_get(row, "last_seen_at"));
	}
	json_decref(row);
	return rc;
}

/* An API token by its hash: its name, role and branches, as an account. */
int
store_token_get(struct store *s, const char *token_hash, struct console_account *a)
{
	struct store_arg arg = SARG_TEXT(token_hash);
	json_t *row;
	int rc = store_query_one(s, "SELECT id, 'token:' || name AS login, name, role, "
	    "branches, '' AS password, revoked_at IS NOT NULL AS disabled, "
	    "coalesce(last_used_at, 0) AS seen_at FROM console_tokens "
	    "WHERE token_hash = ?1 AND revoked_at IS NULL", &arg, 1, &row);

	if (rc == 1)
		account_from_row(row, a);
	json_decref(row);
	return rc;
}

int
store_audit(struct store *s, int64_t at, const char *actor, const char *action,
    const char *target, const char *detail, const char *client)
{
	struct store_arg args[] = { SARG_INT(at), SARG_TEXT(actor), SARG_TEXT(action),
	    SARG_TEXT(target), SARG_TEXT(detail), SARG_TEXT(client) };

	return store_run(s, "INSERT INTO audit_log(at, actor, action, target, detail, client) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)", args, 6) == 1 ? 0 : -1;
}

char *
store_audit_detail(json_t *facts)
{
	char *detail = facts != NULL ? json_dumps(facts, JSON_COMPACT) : NULL;

	json_decref(facts);
	return detail;
}

int
store_failed_logins(struct store *s, const char *login, const char *client, int64_t since,
    int64_t *by_login, int64_t *by_client)
{
	struct store_arg args[] = { SARG_TEXT(login), SARG_TEXT(client), SARG_INT(since) };
	json_t *row;
	int rc = store_query_one(s, "SELECT (SELECT count(*) FROM audit_log WHERE action = "
	    "'login_failed' AND target = ?1 AND at >= ?3) AS by_login, (SELECT count(*) FROM "
	    "audit_log WHERE action = 'login_failed' AND client = ?2 AND at >= ?3) AS "
	    "by_client", args, 3, &row);

	if (rc == 1) {
		*by_login = json_integer_value(json_object_get(row, "by_login"));
		*by_client = json_integer_value(json_object_get(row, "by_client"));
	}
	json_decref(row);
	return rc == 1 ? 0 : -1;
}
