/* store.c: the SQLite database. Owns the sqlite3 handle and every prepared statement,
 * the schema and its forward migrations, the inbox, the quarantine, and a checkpoint
 * thread that keeps WAL checkpoints off the event loop. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>
#include <sqlite3.h>

#include "store_internal.h"

static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_INBOX_PUT] = "INSERT OR IGNORE INTO inbox(platform, channel, event_key, "
	    "event_index, type, known, mode, redelivery, source_type, user_id, "
	    "group_id, reply_token, ts, message_id, message_type, text, postback_data, "
	    "postback_params, unblocked, received_at) "
	    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[ST_QUARANTINE_PUT] = "INSERT INTO quarantine(platform, channel, received_at, "
	    "reason, body) VALUES (?, ?, ?, ?, ?)",
	[ST_INBOX_PENDING] = "SELECT id, platform, channel, event_key, type, known, mode, "
	    "redelivery, source_type, user_id, group_id, reply_token, ts, message_id, "
	    "message_type, text, postback_data, postback_params, unblocked "
	    "FROM inbox WHERE state = 'pending' ORDER BY id LIMIT ?",
	[ST_INBOX_MARK] = "UPDATE inbox SET state = ?, error = ?, processed_at = ?, "
	    "attempts = attempts + 1 WHERE id = ?",
	[ST_INBOX_BACKLOG] = "SELECT count(*) FROM inbox WHERE state = 'pending'",
	[ST_OUTBOX_PUT] = "INSERT OR IGNORE INTO outbox(platform, channel, kind, target, body, "
	    "fallback_to, retry_key, dedupe_key, next_attempt_at, created_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[ST_OUTBOX_DUE] = "SELECT id, channel, kind, target, body, fallback_to, retry_key, "
	    "attempts, ambiguous, created_at FROM outbox WHERE state = 'pending' AND "
	    "platform = ? AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
	[ST_OUTBOX_RESULT] = "UPDATE outbox SET state = ?, attempts = ?, ambiguous = ?, "
	    "next_attempt_at = ?, sent_at = ?, last_status = ?, last_error = ?, kind = ?, "
	    "body = ? WHERE id = ?",
	[ST_OUTBOX_BACKLOG] = "SELECT count(*) FROM outbox WHERE state = 'pending'",
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

/* Forward migrations: entry i takes user_version i to i + 1, inside one transaction. */
static const char *const migrations[] = {
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY,"
	"  value BLOB NOT NULL);"
	"CREATE TABLE inbox ("
	"  id INTEGER PRIMARY KEY,"
	"  platform TEXT NOT NULL CHECK (platform IN ('line', 'works')),"
	"  channel TEXT NOT NULL,"
	"  event_key TEXT NOT NULL,"
	"  event_index INTEGER NOT NULL DEFAULT 0,"
	"  type TEXT NOT NULL,"
	"  known INTEGER NOT NULL DEFAULT 1,"
	"  mode TEXT,"
	"  redelivery INTEGER NOT NULL DEFAULT 0,"
	"  source_type TEXT,"
	"  user_id TEXT,"
	"  group_id TEXT,"
	"  reply_token TEXT,"
	"  ts INTEGER,"
	"  message_id TEXT,"
	"  message_type TEXT,"
	"  text TEXT,"
	"  postback_data TEXT,"
	"  postback_params TEXT,"
	"  unblocked INTEGER NOT NULL DEFAULT 0,"
	"  state TEXT NOT NULL DEFAULT 'pending'"
	"    CHECK (state IN ('pending', 'done', 'failed', 'skipped')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  error TEXT,"
	"  received_at INTEGER NOT NULL,"		/* unix ms, UTC, as every time here */
	"  processed_at INTEGER,"
	"  UNIQUE (platform, channel, event_key));"
	"CREATE INDEX inbox_pending ON inbox(id) WHERE state = 'pending';"
	"CREATE TABLE quarantine ("			/* signed bodies that did not parse */
	"  id INTEGER PRIMARY KEY,"
	"  platform TEXT NOT NULL,"
	"  channel TEXT NOT NULL,"
	"  received_at INTEGER NOT NULL,"
	"  reason TEXT NOT NULL,"
	"  body BLOB NOT NULL);",

	/* 2: the transactional outbox. A row is written in the same transaction as the
	 * state that caused it; the sender only ever updates it. */
	"CREATE TABLE outbox ("
	"  id INTEGER PRIMARY KEY,"
	"  platform TEXT NOT NULL CHECK (platform IN ('line', 'works')),"
	"  channel TEXT NOT NULL,"			/* config id of the channel or bot */
	"  kind TEXT NOT NULL,"				/* reply, push, multicast, ... */
	"  target TEXT,"				/* user, group or room id */
	"  body TEXT NOT NULL,"				/* the request body, as it is sent */
	"  fallback_to TEXT,"				/* reply: user to push to instead */
	"  retry_key TEXT NOT NULL UNIQUE,"		/* UUIDv4, fixed before the first try */
	"  dedupe_key TEXT UNIQUE,"			/* a message that must exist once */
	"  state TEXT NOT NULL DEFAULT 'pending'"
	"    CHECK (state IN ('pending', 'sent', 'failed')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  ambiguous INTEGER NOT NULL DEFAULT 0,"	/* a try may have been delivered */
	"  next_attempt_at INTEGER NOT NULL,"		/* unix ms */
	"  created_at INTEGER NOT NULL,"
	"  sent_at INTEGER,"
	"  last_status INTEGER,"
	"  last_error TEXT);"
	"CREATE INDEX outbox_due ON outbox(platform, next_attempt_at) WHERE state = 'pending';",

	/* 3: LINE profiles, cached with the time they were fetched. */
	"CREATE TABLE profiles ("
	"  channel TEXT NOT NULL,"
	"  user_id TEXT NOT NULL,"
	"  display_name TEXT,"
	"  picture_url TEXT,"
	"  language TEXT,"
	"  found INTEGER NOT NULL,"			/* 0: LINE said 404 (unfollowed, unknown) */
	"  fetched_at INTEGER NOT NULL,"
	"  PRIMARY KEY (channel, user_id));",

	/* 4: chat flows: who is a friend since when, per-user reply cooldowns, and which
	 * LINE rich menu holds each configured menu (written by shokaictl richmenu
	 * deploy, read to link per-user menus). */
	"CREATE TABLE users ("
	"  channel TEXT NOT NULL,"
	"  user_id TEXT NOT NULL,"
	"  first_seen_at INTEGER NOT NULL,"
	"  followed_at INTEGER,"			/* the latest follow */
	"  unfollowed_at INTEGER,"			/* the latest block */
	"  follows INTEGER NOT NULL DEFAULT 0,"		/* 2 or more: came back after a block */
	"  is_friend INTEGER NOT NULL DEFAULT 1,"
	"  PRIMARY KEY (channel, user_id));"
	"CREATE TABLE reply_cooldowns ("
	"  channel TEXT NOT NULL,"
	"  user_id TEXT NOT NULL,"
	"  rule TEXT NOT NULL,"
	"  last_at INTEGER NOT NULL,"
	"  PRIMARY KEY (channel, user_id, rule));"
	"CREATE TABLE richmenus ("
	"  channel TEXT NOT NULL,"
	"  menu_id TEXT NOT NULL,"			/* the config's id */
	"  hash TEXT NOT NULL,"				/* of the object and image deployed */
	"  line_id TEXT NOT NULL,"			/* richmenu-... */
	"  deployed_at INTEGER NOT NULL,"
	"  PRIMARY KEY (channel, menu_id));",

	/* 5: referrals. Every step is a referral_events row; the other tables hold the
	 * current state, and their constraints make the rules that must never break
	 * impossible to break: one code per customer and campaign, one referral per
	 * referee (first touch wins), one reward per referral and side, one reward per
	 * coupon. */
	"CREATE TABLE customers ("
	"  channel TEXT NOT NULL,"
	"  user_id TEXT NOT NULL,"
	"  rep_code TEXT,"				/* the assigned rep */
	"  rep_source TEXT,"				/* rep_link, import, referral */
	"  assigned_at INTEGER,"
	"  PRIMARY KEY (channel, user_id));"
	"CREATE TABLE referral_codes ("
	"  code TEXT PRIMARY KEY,"
	"  channel TEXT NOT NULL,"
	"  user_id TEXT NOT NULL,"			/* the referrer */
	"  campaign TEXT NOT NULL,"
	"  issued_at INTEGER NOT NULL,"
	"  UNIQUE (channel, user_id, campaign));"
	"CREATE TABLE referrals ("
	"  id INTEGER PRIMARY KEY,"
	"  channel TEXT NOT NULL,"
	"  campaign TEXT NOT NULL,"
	"  code TEXT NOT NULL REFERENCES referral_codes(code),"
	"  referrer_id TEXT NOT NULL,"
	"  referee_id TEXT NOT NULL,"
	"  rep_code TEXT,"
	"  state TEXT NOT NULL,"
	"  claimed_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  UNIQUE (channel, referee_id));"
	"CREATE INDEX referrals_by_referrer ON referrals(channel, referrer_id, claimed_at);"
	"CREATE TABLE referral_events ("
	"  id INTEGER PRIMARY KEY,"
	"  at INTEGER NOT NULL,"
	"  type TEXT NOT NULL,"		/* issued clicked claimed rejected held state reward */
	"  channel TEXT,"
	"  campaign TEXT,"
	"  code TEXT,"
	"  referral_id INTEGER,"
	"  referrer_id TEXT,"
	"  referee_id TEXT,"
	"  rep_code TEXT,"
	"  branch TEXT,"
	"  reason TEXT,"		/* why rejected or held; the new state */
	"  actor TEXT,"			/* system, rep:CODE, operator */
	"  client_hash TEXT);"		/* clicks: a salted hash, never the address */
	"CREATE INDEX referral_events_by_type ON referral_events(type, at);"
	"CREATE INDEX referral_events_by_code ON referral_events(code, type, at);"
	"CREATE TABLE rewards ("
	"  id INTEGER PRIMARY KEY,"
	"  referral_id INTEGER NOT NULL REFERENCES referrals(id),"
	"  side TEXT NOT NULL CHECK (side IN ('referrer', 'referee')),"
	"  user_id TEXT NOT NULL,"
	"  campaign TEXT NOT NULL,"
	"  pool TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  due_at INTEGER NOT NULL,"
	"  approve_after INTEGER NOT NULL,"		/* due_at + the campaign's hold */
	"  coupon_code TEXT,"
	"  issued_at INTEGER,"
	"  note TEXT,"
	"  UNIQUE (referral_id, side));"
	"CREATE TABLE coupons ("
	"  pool TEXT NOT NULL,"
	"  code TEXT NOT NULL,"
	"  reward_id INTEGER UNIQUE REFERENCES rewards(id),"
	"  imported_at INTEGER NOT NULL,"
	"  PRIMARY KEY (pool, code));"
	"CREATE INDEX coupons_free ON coupons(pool) WHERE reward_id IS NULL;",

	/* 6: reps' LINE WORKS contact links (contact_url: auto), fetched and kept. */
	"CREATE TABLE rep_links ("
	"  rep_code TEXT PRIMARY KEY,"
	"  url TEXT NOT NULL,"
	"  fetched_at INTEGER NOT NULL);",

	/* 7: the rewards tick looks every second for rewards still to move; issued and
	 * voided ones, nearly all of them in time, are not read. */
	"CREATE INDEX rewards_open ON rewards(state) WHERE state IN ('pending', 'approved');",
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))


const char *
store_errmsg(struct store *s)
{
	return sqlite3_errmsg(s->db);
}

static int
exec_sql(sqlite3 *db, const char *sql, char **err)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		*err = xasprintf("%s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int
user_version(sqlite3 *db, int *version)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* Each migration and its version bump commit together, or not at all. */
static int
migrate(sqlite3 *db, char **err)
{
	int version;

	if (user_version(db, &version) == -1) {
		*err = xasprintf("cannot read schema version: %s", sqlite3_errmsg(db));
		return -1;
	}
	if (version > SCHEMA_VERSION) {
		*err = xasprintf("database schema version %d is newer than this shokaid (%d)",
		    version, SCHEMA_VERSION);
		return -1;
	}
	for (; version < SCHEMA_VERSION; version++) {
		char *bump = xasprintf("PRAGMA user_version = %d", version + 1);
		int rc = 0;

		if (exec_sql(db, "BEGIN IMMEDIATE", err) == -1)
			rc = -1;
		else if (exec_sql(db, migrations[version], err) == -1 ||
		    exec_sql(db, bump, err) == -1 || exec_sql(db, "COMMIT", err) == -1) {
			char *ignored = NULL;

			exec_sql(db, "ROLLBACK", &ignored);
			free(ignored);
			rc = -1;
		}
		free(bump);
		if (rc == -1)
			return -1;
		log_notice("msg=\"database migrated\" version=%d", version + 1);
	}
	return 0;
}

struct store *
store_open(const char *path, int synchronous_full, int busy_timeout_ms, char **err)
{
	struct store *s = xcalloc(1, sizeof(*s));
	char *pragmas;

	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		*err = xasprintf("cannot open %s: %s", path,
		    s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, busy_timeout_ms);
	s->synchronous_full = synchronous_full;
	/* Checkpoints run on the checkpointer's connection, never inside a commit here. */
	pragmas = xasprintf("PRAGMA journal_mode = WAL; PRAGMA synchronous = %s; "
	    "PRAGMA wal_autocheckpoint = 0; PRAGMA foreign_keys = ON;",
	    synchronous_full ? "FULL" : "NORMAL");
	if (exec_sql(s->db, pragmas, err) == -1) {
		char *e = *err;

		*err = xasprintf("%s: %s", path, e);
		free(e);
		free(pragmas);
		goto fail;
	}
	free(pragmas);
	if (migrate(s->db, err) == -1)
		goto fail;
	for (int i = 0; i < ST_COUNT; i++) {
		if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		    &s->st[i], NULL) != SQLITE_OK) {
			*err = xasprintf("cannot prepare statement %d: %s", i,
			    sqlite3_errmsg(s->db));
			goto fail;
		}
	}
	return s;
fail:
	store_close(s);
	return NULL;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	for (int i = 0; i < STORE_REF_STMTS; i++)
		sqlite3_finalize(s->ref[i]);
	if (s->db != NULL) {
		/* Fold the WAL back into the database for the next start and for backups;
		 * PASSIVE, so a concurrent reader (shokaictl) never makes us wait. */
		sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		sqlite3_close(s->db);
	}
	free(s);
}

void
store_set_busy_timeout(struct store *s, int ms)
{
	sqlite3_busy_timeout(s->db, ms);
}

/* Runs a statement that returns no rows and resets it. */
int
store_step(struct store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		log_warnx("msg=\"database statement failed\" sql=\"%.40s\" detail=\"%s\"",
		    sqlite3_sql(st), sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

int
store_begin(struct store *s)
{
	return store_step(s, s->st[ST_BEGIN]);
}

/* For writes a replay makes good again (the outbox's outcomes: a lost "sent" is sent
 * again with the same retry key and LINE answers 409). In WAL mode a NORMAL commit
 * survives a crash of the process; only a power loss can take it, and the next FULL
 * commit's fsync makes it durable too. It keeps a 1-5 ms fsync off the event loop. */
int
store_begin_unsynced(struct store *s)
{
	if (s->synchronous_full &&
	    sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK) {
		log_warnx("msg=\"sqlite error\" detail=\"%s\"", sqlite3_errmsg(s->db));
		return -1;
	}
	s->unsynced = s->synchronous_full;
	return store_begin(s);
}

/* Puts back the configured setting, so every other commit is as durable as asked. */
static void
end_unsynced(struct store *s)
{
	if (!s->unsynced)
		return;
	s->unsynced = 0;
	if (sqlite3_exec(s->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) != SQLITE_OK)
		fatalx("cannot restore synchronous = FULL: %s", sqlite3_errmsg(s->db));
}

int
store_synchronous(struct store *s)
{
	sqlite3_stmt *st = NULL;
	int v = -1;

	if (sqlite3_prepare_v2(s->db, "PRAGMA synchronous", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

int
store_commit(struct store *s)
{
	int rc = store_step(s, s->st[ST_COMMIT]);

	end_unsynced(s);
	return rc;
}

void
store_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		store_step(s, s->st[ST_ROLLBACK]);
	end_unsynced(s);
}

void
store_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

/* Only the normalised events are kept, not the raw body: it would double the bytes
 * every webhook writes and keep message text nobody reads. Bodies that do not parse are
 * kept whole, in quarantine. */
int
store_inbox_put(struct store *s, enum platform p, const char *channel,
    struct event_list *events, int *inserted)
{
	sqlite3_stmt *st = s->st[ST_INBOX_PUT];
	int64_t now = wall_ms();

	*inserted = 0;
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
	sqlite3_stmt *st = s->st[ST_QUARANTINE_PUT];

	store_bind_text(st, 1, platform_name(p));
	store_bind_text(st, 2, channel);
	sqlite3_bind_int64(st, 3, wall_ms());
	store_bind_text(st, 4, reason);
	sqlite3_bind_blob(st, 5, body, (int)len, SQLITE_STATIC);
	return store_step(s, st);
}

char *
store_column_str(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	return v == NULL ? NULL : xstrdup((const char *)v);
}

int
store_inbox_pending(struct store *s, size_t max, struct event_list *out)
{
	sqlite3_stmt *st = s->st[ST_INBOX_PENDING];
	int rc;

	sqlite3_bind_int64(st, 1, (int64_t)max);
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
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_warnx("msg=\"reading the inbox failed\" detail=\"%s\"", sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

int
store_inbox_mark(struct store *s, int64_t id, const char *state, const char *error)
{
	sqlite3_stmt *st = s->st[ST_INBOX_MARK];

	store_bind_text(st, 1, state);
	store_bind_text(st, 2, error);
	sqlite3_bind_int64(st, 3, wall_ms());
	sqlite3_bind_int64(st, 4, id);
	return store_step(s, st);
}

int64_t
store_inbox_backlog(struct store *s)
{
	sqlite3_stmt *st = s->st[ST_INBOX_BACKLOG];
	int64_t n = -1;

	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}

int
store_outbox_put(struct store *s, const struct outbox_msg *m, int *inserted)
{
	sqlite3_stmt *st = s->st[ST_OUTBOX_PUT];
	int64_t now = wall_ms();

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
	return 0;
}

int
store_outbox_due(struct store *s, enum platform p, int64_t now, size_t max,
    struct outbox_msg **out, size_t *n)
{
	sqlite3_stmt *st = s->st[ST_OUTBOX_DUE];
	int rc;

	*out = NULL;
	*n = 0;
	store_bind_text(st, 1, platform_name(p));
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, (int64_t)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct outbox_msg *m;

		*out = xrealloc(*out, (*n + 1) * sizeof(**out));
		m = &(*out)[(*n)++];
		memset(m, 0, sizeof(*m));
		m->id = sqlite3_column_int64(st, 0);
		m->platform = p;
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
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		log_warnx("msg=\"reading the outbox failed\" detail=\"%s\"", sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

int
store_outbox_result(struct store *s, const struct outbox_msg *m, const char *state,
    int64_t next_attempt_at, int status, const char *error)
{
	sqlite3_stmt *st = s->st[ST_OUTBOX_RESULT];

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

int
store_profile_get(struct store *s, const char *channel, const char *user_id,
    struct profile *out)
{
	sqlite3_stmt *st = s->st[ST_PROFILE_GET];
	int rc;

	memset(out, 0, sizeof(*out));
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, user_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->display_name = store_column_str(st, 0);
		out->picture_url = store_column_str(st, 1);
		out->language = store_column_str(st, 2);
		out->found = sqlite3_column_int(st, 3);
		out->fetched_at = sqlite3_column_int64(st, 4);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	return rc == SQLITE_ROW ? 1 : 0;
}

/* Its own short transaction: called from a completion callback, never inside one. */
int
store_profile_put(struct store *s, const char *channel, const char *user_id,
    const struct profile *p)
{
	sqlite3_stmt *st = s->st[ST_PROFILE_PUT];

	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, user_id);
	store_bind_text(st, 3, p->display_name);
	store_bind_text(st, 4, p->picture_url);
	store_bind_text(st, 5, p->language);
	sqlite3_bind_int(st, 6, p->found);
	sqlite3_bind_int64(st, 7, p->fetched_at);
	return store_step(s, st);
}

int64_t
store_outbox_backlog(struct store *s)
{
	sqlite3_stmt *st = s->st[ST_OUTBOX_BACKLOG];
	int64_t n = -1;

	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}

int
store_print_outbox(struct store *s, FILE *out, int all)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(s->db, all ?
	    "SELECT id, platform, channel, kind, state, attempts, last_status, last_error "
	    "FROM outbox ORDER BY id DESC LIMIT 100" :
	    "SELECT id, platform, channel, kind, state, attempts, last_status, last_error "
	    "FROM outbox WHERE state = 'failed' ORDER BY id DESC LIMIT 100", -1, &st,
	    NULL) != SQLITE_OK)
		goto done;
	fprintf(out, "%-6s %-6s %-10s %-10s %-8s %8s %6s  %s\n", "ID", "TO", "CHANNEL", "KIND",
	    "STATE", "ATTEMPTS", "STATUS", "REASON");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fprintf(out, "%-6lld %-6s %-10s %-10s %-8s %8d %6d  %s\n",
		    (long long)sqlite3_column_int64(st, 0), sqlite3_column_text(st, 1),
		    sqlite3_column_text(st, 2), sqlite3_column_text(st, 3),
		    sqlite3_column_text(st, 4), sqlite3_column_int(st, 5),
		    sqlite3_column_int(st, 6),
		    sqlite3_column_text(st, 7) ? (const char *)sqlite3_column_text(st, 7) : "");
	rc = rc == SQLITE_DONE ? 0 : -1;
done:
	sqlite3_finalize(st);
	return rc;
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

/* Operator views for shokaictl: plain text tables on out. */
int
store_print_inbox_summary(struct store *s, FILE *out)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(s->db, "SELECT platform, channel, state, count(*) FROM inbox "
	    "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3", -1, &st, NULL) != SQLITE_OK)
		goto done;
	fprintf(out, "%-8s %-16s %-8s %10s\n", "PLATFORM", "CHANNEL", "STATE", "EVENTS");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fprintf(out, "%-8s %-16s %-8s %10lld\n", sqlite3_column_text(st, 0),
		    sqlite3_column_text(st, 1), sqlite3_column_text(st, 2),
		    (long long)sqlite3_column_int64(st, 3));
	rc = rc == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	st = NULL;
	if (rc == -1 || sqlite3_prepare_v2(s->db, "SELECT id, platform, channel, type, "
	    "error FROM inbox WHERE state = 'failed' ORDER BY id DESC LIMIT 50", -1, &st,
	    NULL) != SQLITE_OK)
		goto done;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fprintf(out, "failed #%lld %s/%s %s: %s\n", (long long)sqlite3_column_int64(st, 0),
		    sqlite3_column_text(st, 1), sqlite3_column_text(st, 2),
		    sqlite3_column_text(st, 3), sqlite3_column_text(st, 4));
	rc = rc == SQLITE_DONE ? 0 : -1;
done:
	sqlite3_finalize(st);
	return rc;
}

int
store_print_quarantine(struct store *s, FILE *out, int64_t id)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, rows = 0;

	if (sqlite3_prepare_v2(s->db, id > 0 ?
	    "SELECT id, platform, channel, received_at, reason, body FROM quarantine "
	    "WHERE id = ?" :
	    "SELECT id, platform, channel, received_at, reason, length(body) FROM quarantine "
	    "ORDER BY id DESC LIMIT 100", -1, &st, NULL) != SQLITE_OK)
		goto done;
	if (id > 0)
		sqlite3_bind_int64(st, 1, id);
	else
		fprintf(out, "%-6s %-24s %-6s %-12s %8s  %s\n", "ID", "RECEIVED (UTC)",
		    "FROM", "CHANNEL", "BYTES", "REASON");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		time_t t = (time_t)(sqlite3_column_int64(st, 3) / 1000);
		struct tm tm;
		char when[32];

		rows++;
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (id > 0) {
			fprintf(out, "id: %lld\nreceived: %s\nplatform: %s\nchannel: %s\n"
			    "reason: %s\nbody:\n", (long long)sqlite3_column_int64(st, 0), when,
			    sqlite3_column_text(st, 1), sqlite3_column_text(st, 2),
			    sqlite3_column_text(st, 4));
			fwrite(sqlite3_column_blob(st, 5), 1, (size_t)sqlite3_column_bytes(st, 5),
			    out);
			fputc('\n', out);
		} else
			fprintf(out, "%-6lld %-24s %-6s %-12s %8lld  %s\n",
			    (long long)sqlite3_column_int64(st, 0), when,
			    sqlite3_column_text(st, 1), sqlite3_column_text(st, 2),
			    (long long)sqlite3_column_int64(st, 5), sqlite3_column_text(st, 4));
	}
	rc = rc == SQLITE_DONE ? 0 : -1;
	if (rc == 0 && id > 0 && rows == 0) {
		fprintf(stderr, "shokaictl: no quarantined body with id %lld\n", (long long)id);
		rc = -1;
	}
done:
	sqlite3_finalize(st);
	return rc;
}

/* The pseudonym key for logs lives in the database, so a user's pseudonym stays the
 * same across restarts without another secret file to manage. */
int
store_meta_salt(struct store *s, unsigned char out[16])
{
	unsigned char fresh[16];
	sqlite3_stmt *st = NULL;
	int rc = -1, step;

	if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = 'log_salt'", -1,
	    &st, NULL) != SQLITE_OK)
		goto done;
	step = sqlite3_step(st);
	if (step == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 16) {
		memcpy(out, sqlite3_column_blob(st, 0), 16);
		rc = 0;
		goto done;
	}
	/* Only a database that truly has none gets a new one: a busy or failing read
	 * must not replace the secret that signs rep buttons and keys pseudonyms. */
	if (step != SQLITE_DONE)
		goto done;
	sqlite3_finalize(st);
	st = NULL;
	if (RAND_bytes(fresh, sizeof(fresh)) != 1)
		goto done;
	if (sqlite3_prepare_v2(s->db, "INSERT INTO meta(key, value) VALUES ('log_salt', ?)",
	    -1, &st, NULL) != SQLITE_OK)
		goto done;
	sqlite3_bind_blob(st, 1, fresh, sizeof(fresh), SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_DONE) {
		memcpy(out, fresh, sizeof(fresh));
		rc = 0;
	}
done:
	if (rc == -1)
		log_warnx("msg=\"cannot read or make the database secret\" detail=\"%s\"",
		    sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	return rc;
}

/* The checkpointer: a thread with its own connection that runs PASSIVE checkpoints,
 * so the 3-5 ms a checkpoint takes never lands on a webhook's latency. */
struct store_checkpointer {
	pthread_t	thread;
	pthread_mutex_t	lock;
	pthread_cond_t	wake;
	int		stop;
	int		interval_ms;
	sqlite3		*db;
};

static void *
checkpointer_main(void *arg)
{
	struct store_checkpointer *cp = arg;
	struct timespec deadline;

	pthread_mutex_lock(&cp->lock);
	while (!cp->stop) {
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += cp->interval_ms / 1000;
		deadline.tv_nsec += (long)(cp->interval_ms % 1000) * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&cp->wake, &cp->lock, &deadline);
		if (cp->stop)
			break;
		pthread_mutex_unlock(&cp->lock);
		sqlite3_wal_checkpoint_v2(cp->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&cp->lock);
	}
	pthread_mutex_unlock(&cp->lock);
	return NULL;
}

struct store_checkpointer *
store_checkpointer_start(const char *path, int interval_ms)
{
	struct store_checkpointer *cp = xcalloc(1, sizeof(*cp));

	if (sqlite3_open_v2(path, &cp->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
	    NULL) != SQLITE_OK) {
		log_warnx("msg=\"checkpointer cannot open the database\" detail=\"%s\"",
		    cp->db ? sqlite3_errmsg(cp->db) : "out of memory");
		sqlite3_close(cp->db);
		free(cp);
		return NULL;
	}
	sqlite3_busy_timeout(cp->db, 1000);
	/* A connection that has not read the database yet does not know it is in WAL mode
	 * and would checkpoint nothing. */
	if (sqlite3_exec(cp->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK)
		log_warnx("msg=\"checkpointer cannot read the database\" detail=\"%s\"",
		    sqlite3_errmsg(cp->db));
	cp->interval_ms = interval_ms;
	pthread_mutex_init(&cp->lock, NULL);
	pthread_cond_init(&cp->wake, NULL);
	if (pthread_create(&cp->thread, NULL, checkpointer_main, cp) != 0) {
		log_warnx("msg=\"checkpointer thread did not start\"");
		sqlite3_close(cp->db);
		pthread_mutex_destroy(&cp->lock);
		pthread_cond_destroy(&cp->wake);
		free(cp);
		return NULL;
	}
	return cp;
}

void
store_checkpointer_stop(struct store_checkpointer *cp)
{
	if (cp == NULL)
		return;
	pthread_mutex_lock(&cp->lock);
	cp->stop = 1;
	pthread_cond_signal(&cp->wake);
	pthread_mutex_unlock(&cp->lock);
	pthread_join(cp->thread, NULL);
	sqlite3_close(cp->db);
	pthread_mutex_destroy(&cp->lock);
	pthread_cond_destroy(&cp->wake);
	free(cp);
}

/* Records a follow; *follows is how many times this user has followed (1: the first). */
int
store_user_follow(struct store *s, const char *channel, const char *user_id, int64_t at,
    int *follows)
{
	sqlite3_stmt *st = s->st[ST_USER_FOLLOW];
	int rc;

	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, user_id);
	sqlite3_bind_int64(st, 3, at);
	rc = sqlite3_step(st);
	*follows = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	if (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
user_write(struct store *s, sqlite3_stmt *st, const char *channel, const char *user_id,
    int64_t at)
{
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, user_id);
	sqlite3_bind_int64(st, 3, at);
	return store_step(s, st);
}

int
store_user_unfollow(struct store *s, const char *channel, const char *user_id, int64_t at)
{
	return user_write(s, s->st[ST_USER_UNFOLLOW], channel, user_id, at);
}

/* A user who writes before any follow we saw (a friend from before shokai). */
int
store_user_seen(struct store *s, const char *channel, const char *user_id, int64_t at)
{
	return user_write(s, s->st[ST_USER_SEEN], channel, user_id, at);
}

/* 1 and records now when the rule may answer this user; 0 while it is cooling down. */
int
store_cooldown_take(struct store *s, const char *channel, const char *user_id,
    const char *rule, int64_t now, int64_t cooldown_ms)
{
	sqlite3_stmt *st = s->st[ST_COOLDOWN_GET];
	int rc, cooling = 0;

	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, user_id);
	store_bind_text(st, 3, rule);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		cooling = now - sqlite3_column_int64(st, 0) < cooldown_ms;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	if (cooling)
		return 0;
	st = s->st[ST_COOLDOWN_PUT];
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, user_id);
	store_bind_text(st, 3, rule);
	sqlite3_bind_int64(st, 4, now);
	return store_step(s, st) == 0 ? 1 : -1;
}

/* The LINE id of a deployed menu: 1 with *line_id (caller frees), 0 if not deployed. */
int
store_richmenu_get(struct store *s, const char *channel, const char *menu_id,
    char **line_id, char **hash)
{
	sqlite3_stmt *st = s->st[ST_RICHMENU_GET];
	int rc;

	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, menu_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*line_id = store_column_str(st, 0);
		if (hash != NULL)
			*hash = store_column_str(st, 1);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	return rc == SQLITE_ROW ? 1 : 0;
}

/* line_id NULL: forget the menu. */
int
store_richmenu_put(struct store *s, const char *channel, const char *menu_id,
    const char *hash, const char *line_id)
{
	sqlite3_stmt *st;

	if (line_id == NULL) {
		st = s->st[ST_RICHMENU_DELETE];
		store_bind_text(st, 1, channel);
		store_bind_text(st, 2, menu_id);
		return store_step(s, st);
	}
	st = s->st[ST_RICHMENU_PUT];
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, menu_id);
	store_bind_text(st, 3, hash);
	store_bind_text(st, 4, line_id);
	sqlite3_bind_int64(st, 5, wall_ms());
	return store_step(s, st);
}
