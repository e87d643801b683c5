/* store_chat.c: what the chat flows keep: LINE profiles as cached, who is a friend since
 * when, per-user reply cooldowns, and which LINE rich menu holds each configured menu. */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

static const char *const stmt_sql[ST_COUNT] = {
	[ST_PROFILE_GET] = "SELECT display_name, picture_url, language, found, fetched_at "
	    "FROM profiles WHERE channel = ? AND user_id = ?",
	[ST_PROFILE_PUT] = "INSERT OR REPLACE INTO profiles(channel, user_id, display_name, "
	    "picture_url, language, found, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
	[ST_USER_FOLLOW] = "INSERT INTO users(channel, user_id, first_seen_at, followed_at, "
	    "follows, is_friend) VALUES (?1, ?2, ?3, ?3, 1, 1) ON CONFLICT(channel, user_id) "
	    "DO UPDATE SET followed_at = ?3, follows = follows + 1, is_friend = 1 "
	    "RETURNING follows",
	[ST_USER_UNFOLLOW] = "INSERT INTO users(channel, user_id, first_seen_at, "
	    "unfollowed_at, is_friend) VALUES (?1, ?2, ?3, ?3, 0) "
	    "ON CONFLICT(channel, user_id) DO UPDATE SET unfollowed_at = ?3, is_friend = 0",
	[ST_USER_SEEN] = "INSERT OR IGNORE INTO users(channel, user_id, first_seen_at, "
	    "is_friend) VALUES (?, ?, ?, 1)",
	[ST_USER_GET] = "SELECT first_seen_at, follows, unfollowed_at FROM users WHERE "
	    "channel = ? AND user_id = ?",
	[ST_COOLDOWN_GET] = "SELECT last_at FROM reply_cooldowns WHERE channel = ? AND "
	    "user_id = ? AND rule = ?",
	[ST_COOLDOWN_PUT] = "INSERT OR REPLACE INTO reply_cooldowns(channel, user_id, rule, "
	    "last_at) VALUES (?, ?, ?, ?)",
	[ST_RICHMENU_GET] = "SELECT line_id, hash FROM richmenus WHERE channel = ? AND "
	    "menu_id = ?",
	[ST_RICHMENU_PUT] = "INSERT OR REPLACE INTO richmenus(channel, menu_id, hash, line_id, "
	    "deployed_at) VALUES (?, ?, ?, ?, ?)",
	[ST_RICHMENU_DELETE] = "DELETE FROM richmenus WHERE channel = ? AND menu_id = ?",
};

void
profile_clear(struct profile *p)
{
	free(p->display_name);
	free(p->picture_url);
	free(p->language);
	memset(p, 0, sizeof(*p));
}

static void
row_profile(sqlite3_stmt *st, void *out)
{
	struct profile *p = out;

	p->display_name = store_column_str(st, 0);
	p->picture_url = store_column_str(st, 1);
	p->language = store_column_str(st, 2);
	p->found = sqlite3_column_int(st, 3);
	p->fetched_at = sqlite3_column_int64(st, 4);
}

/* 1 and out filled when cached, 0 when not, -1 on a database error. */
int
store_profile_get(struct store *s, const char *channel, const char *user_id,
    struct profile *out)
{
	sqlite3_stmt *st = store_stmt(s, ST_PROFILE_GET, stmt_sql);

	memset(out, 0, sizeof(*out));
	if (st == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, user_id);
	return store_one_row(s, st, row_profile, out);
}

/* Its own short transaction: called from a completion callback, never inside one. */
int
store_profile_put(struct store *s, const char *channel, const char *user_id,
    const struct profile *p)
{
	sqlite3_stmt *st = store_stmt(s, ST_PROFILE_PUT, stmt_sql);

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, user_id);
	store_bind_text(st, 3, p->display_name);
	store_bind_text(st, 4, p->picture_url);
	store_bind_text(st, 5, p->language);
	sqlite3_bind_int(st, 6, p->found);
	sqlite3_bind_int64(st, 7, p->fetched_at);
	return store_step(s, st);
}

/* Records a follow; *follows is how many times this user has followed (1: the first). */
int
store_user_follow(struct store *s, const char *channel, const char *user_id, int64_t at,
    int *follows)
{
	sqlite3_stmt *st = store_stmt(s, ST_USER_FOLLOW, stmt_sql);
	int64_t n = 0;

	*follows = 0;
	if (st == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, user_id);
	sqlite3_bind_int64(st, 3, at);
	/* The insert or update is done by the first step, which returns its one row. */
	if (store_query_int(s, st, &n) == -1)
		return -1;
	*follows = (int)n;
	return 0;
}

static int
user_write(struct store *s, enum stmt_id id, const char *channel, const char *user_id,
    int64_t at)
{
	sqlite3_stmt *st = store_stmt(s, id, stmt_sql);

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, user_id);
	sqlite3_bind_int64(st, 3, at);
	return store_step(s, st);
}

int
store_user_unfollow(struct store *s, const char *channel, const char *user_id, int64_t at)
{
	return user_write(s, ST_USER_UNFOLLOW, channel, user_id, at);
}

/* A user who writes before any follow we saw (a friend from before shokai). Nearly
 * every event comes from someone already known: looking the user up costs a fraction of
 * the INSERT OR IGNORE, which builds the keys of all five of the table's indexes before
 * it finds the row there. */
int
store_user_seen(struct store *s, const char *channel, const char *user_id, int64_t at)
{
	struct user_record known;
	int rc = store_user_get(s, channel, user_id, &known);

	if (rc != 0)
		return rc == 1 ? 0 : -1;
	return user_write(s, ST_USER_SEEN, channel, user_id, at);
}

static void
row_user(sqlite3_stmt *st, void *out)
{
	struct user_record *u = out;

	u->first_seen_at = sqlite3_column_int64(st, 0);
	u->follows = sqlite3_column_int(st, 1);
	u->unfollowed_at = sqlite3_column_int64(st, 2);
}

/* 1 with what is known of a LINE user, 0 if never seen. */
int
store_user_get(struct store *s, const char *channel, const char *user_id,
    struct user_record *out)
{
	sqlite3_stmt *st = store_stmt(s, ST_USER_GET, stmt_sql);

	memset(out, 0, sizeof(*out));
	if (st == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, user_id);
	return store_one_row(s, st, row_user, out);
}

/* 1 and records now when the rule may answer this user; 0 while it is cooling down. */
int
store_cooldown_take(struct store *s, const char *channel, const char *user_id,
    const char *rule, int64_t now, int64_t cooldown_ms)
{
	sqlite3_stmt *st = store_stmt(s, ST_COOLDOWN_GET, stmt_sql);
	int64_t last_at = 0;
	int rc;

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, user_id);
	store_bind_text(st, 3, rule);
	if ((rc = store_query_int(s, st, &last_at)) == -1)
		return -1;
	if (rc == 1 && now - last_at < cooldown_ms)
		return 0;
	if ((st = store_stmt(s, ST_COOLDOWN_PUT, stmt_sql)) == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, user_id);
	store_bind_text(st, 3, rule);
	sqlite3_bind_int64(st, 4, now);
	return store_step(s, st) == 0 ? 1 : -1;
}

/* A deployed menu: its LINE id and hash. */
static void
row_richmenu(sqlite3_stmt *st, void *out)
{
	char **row = out;

	row[0] = store_column_str(st, 0);
	row[1] = store_column_str(st, 1);
}

/* The LINE id of a deployed menu: 1 with *line_id (caller frees), 0 if not deployed. */
int
store_richmenu_get(struct store *s, const char *channel, const char *menu_id,
    char **line_id, char **hash)
{
	sqlite3_stmt *st = store_stmt(s, ST_RICHMENU_GET, stmt_sql);
	char *row[2] = { NULL, NULL };
	int rc;

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, menu_id);
	if ((rc = store_one_row(s, st, row_richmenu, row)) == 1) {
		*line_id = row[0];
		if (hash != NULL)
			*hash = row[1];
		else
			free(row[1]);
	}
	return rc;
}

/* line_id NULL: forget the menu. */
int
store_richmenu_put(struct store *s, const char *channel, const char *menu_id,
    const char *hash, const char *line_id)
{
	sqlite3_stmt *st;

	if (line_id == NULL) {
		if ((st = store_stmt(s, ST_RICHMENU_DELETE, stmt_sql)) == NULL)
			return -1;
		store_bind_text(st, 1, channel);
		store_bind_text(st, 2, menu_id);
		return store_step(s, st);
	}
	if ((st = store_stmt(s, ST_RICHMENU_PUT, stmt_sql)) == NULL)
		return -1;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, menu_id);
	store_bind_text(st, 3, hash);
	store_bind_text(st, 4, line_id);
	sqlite3_bind_int64(st, 5, wall_ms());
	return store_step(s, st);
}
