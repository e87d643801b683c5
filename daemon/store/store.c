/* store.c: the SQLite handle. Opens and closes the database, keeps the one cache of
 * prepared statements (each store file's SQL, prepared at first use, finalized at
 * close), the helpers that run them, transactions, and the database's own secret. */
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
	[ST_SAVEPOINT] = "SAVEPOINT unit",
	[ST_RELEASE] = "RELEASE unit",
	[ST_ROLLBACK_TO] = "ROLLBACK TO unit",
};

const char *
store_errmsg(struct store *s)
{
	return s->health[0] != '\0' ? s->health : sqlite3_errmsg(s->db);
}

int
store_exec(sqlite3 *db, const char *sql, char *why, size_t whylen)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(why, whylen, "%s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int
store_log_ok(struct store *s, unsigned long *suppressed)
{
	return log_ratelimit_ok(&s->rl_err, suppressed);
}

sqlite3_stmt *
store_stmt(struct store *s, enum stmt_id id, const char *const sql[ST_COUNT])
{
	if (sql[id] == NULL)
		fatalx("%s: statement %d has no SQL", __func__, (int)id);
	if (s->st[id] == NULL && sqlite3_prepare_v3(s->db, sql[id], -1,
	    SQLITE_PREPARE_PERSISTENT, &s->st[id], NULL) != SQLITE_OK) {
		unsigned long suppressed;

		if (store_log_ok(s, &suppressed))
			log_warnx("msg=\"cannot prepare a statement\" id=%d detail=\"%s\" "
			    "suppressed=%lu", (int)id, sqlite3_errmsg(s->db), suppressed);
		return NULL;
	}
	return s->st[id];
}

/* How a connection waits for a lock another connection holds. SQLite's own handler
 * (sqlite3_busy_timeout) sleeps 1, 2, 5, 10, 15, 20, 25 ... ms between tries, so a
 * writer lock a checkpoint held for 2 ms cost the commit behind it 8 ms, and every
 * webhook in that commit waited as long for its answer. This one tries again every
 * BUSY_FINE_US for the first BUSY_FINE_TRIES tries (the checkpointer's and the backup's
 * short holds), then every millisecond (a shokaictl import's long one), until the
 * connection's timeout. */
#define BUSY_FINE_US	100
#define BUSY_FINE_TRIES	30

static int
on_busy(void *arg, int count)
{
	const struct store *s = arg;
	int fine = count < BUSY_FINE_TRIES ? count : BUSY_FINE_TRIES;	/* tries so far */
	int64_t waited_us = (int64_t)fine * BUSY_FINE_US + (int64_t)(count - fine) * 1000;
	struct timespec pause = { 0, (count < BUSY_FINE_TRIES ? BUSY_FINE_US : 1000) * 1000L };

	if (waited_us >= (int64_t)s->busy_timeout_ms * 1000)
		return 0;
	nanosleep(&pause, NULL);
	return 1;
}

void
store_set_busy_timeout(struct store *s, int ms)
{
	s->busy_timeout_ms = ms;
	sqlite3_busy_handler(s->db, ms > 0 ? on_busy : NULL, s);
}

struct store *
store_open(const char *path, int synchronous_full, int busy_timeout_ms, char *why,
    size_t whylen)
{
	struct store *s = xcalloc(1, sizeof(*s));
	char *pragmas;

	/* Without memory statistics SQLite's allocations take no process-wide mutex, which
	 * the storage, reader and checkpointer threads would otherwise contend for. Only
	 * possible before the library's first use (the first open, before any thread):
	 * later calls are refused and change nothing. */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (synchronous_full)
		s->walbuf = store_walbuf_new();
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, s->walbuf ? store_walbuf_name(s->walbuf) : NULL) !=
	    SQLITE_OK) {
		snprintf(why, whylen, "cannot open %s: %s", path,
		    s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	store_set_busy_timeout(s, busy_timeout_ms);
	(void)store_no_readahead(path);
	s->synchronous_full = synchronous_full;
	/* Checkpoints run on the checkpointer's connection, never inside a commit here.
	 * When the WAL starts over after one, this connection's next commit cuts the file
	 * back to journal_size_limit (SQLite does that on the writing connection). */
	/* A 4 MiB page cache (SQLite's default is 2 MiB): with a year of data (make
	 * bench-scale: 2 million inbox rows, 1 million users) webhooks were 7-12 % slower
	 * than on an empty database with the default, within 5 % with 4 MiB (most likely
	 * the big indexes' pages no longer read again from the OS for every batch).
	 * Temporary tables and statement journals in memory: under webhook load SQLite
	 * made a file in /var/tmp (open, unlink, write, close) about 50 times a second. */
	pragmas = xasprintf("PRAGMA journal_mode = WAL; PRAGMA synchronous = %s; "
	    "PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = %lld; "
	    "PRAGMA foreign_keys = ON; PRAGMA cache_size = -4096; "
	    "PRAGMA temp_store = MEMORY;",
	    synchronous_full ? "FULL" : "NORMAL", (long long)STORE_WAL_LIMIT);
	if (store_exec(s->db, pragmas, why, whylen) == -1) {
		char detail[WHY_MAX];

		snprintf(detail, sizeof(detail), "%s", why);
		snprintf(why, whylen, "%s: %s", path, detail);
		free(pragmas);
		goto fail;
	}
	free(pragmas);
	if (store_clicks_register(s->db) == -1 ||
	    store_schema_migrate(s->db, why, whylen) == -1)
		goto fail;
	/* Clicks written by others (a generator, an older shokaid) or in another time
	 * zone are counted now, not on a webhook's time. */
	if (store_clicks_count_new(s) == -1) {
		snprintf(why, whylen, "cannot count clicks: %s", sqlite3_errmsg(s->db));
		goto fail;
	}
	/* The transaction statements are made now, so that a rollback never depends on a
	 * prepare that could fail; every other statement at its first use. */
	for (int i = ST_BEGIN; i <= ST_ROLLBACK_TO; i++) {
		if (store_stmt(s, (enum stmt_id)i, stmt_sql) == NULL) {
			snprintf(why, whylen, "cannot prepare statement %d: %s", i,
			    sqlite3_errmsg(s->db));
			goto fail;
		}
	}
	return s;
fail:
	store_close(s);
	return NULL;
}

/* A read-only connection for questions asked beside the writer (in WAL mode a reader
 * never waits for a commit, nor holds one up). No schema work: the writer did it. */
struct store *
store_open_reader(const char *path, int busy_timeout_ms, char *why, size_t whylen)
{
	struct store *s = xcalloc(1, sizeof(*s));

	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
	    NULL) != SQLITE_OK) {
		snprintf(why, whylen, "cannot open %s for reading: %s", path,
		    s->db ? sqlite3_errmsg(s->db) : "out of memory");
		store_close(s);
		return NULL;
	}
	sqlite3_extended_result_codes(s->db, 1);
	store_set_busy_timeout(s, busy_timeout_ms);
	(void)store_no_readahead(path);
	s->reader = 1;
	return s;
}

static uint64_t
sql_hash(const char *sql)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	for (; *sql != '\0'; sql++)
		h = (h ^ (unsigned char)*sql) * 1099511628211ULL;
	return h;
}

sqlite3_stmt *
store_oneoff(struct store *s, const char *sql)
{
	uint64_t h = sql_hash(sql);
	struct oneoff *o, *victim = &s->oneoff[0];

	for (int i = 0; i < ONEOFF_CACHE; i++) {
		o = &s->oneoff[i];
		if (o->st != NULL && o->hash == h && strcmp(sqlite3_sql(o->st), sql) == 0) {
			o->used = ++s->oneoff_clock;
			return o->st;
		}
		if (o->st == NULL || (victim->st != NULL && o->used < victim->used))
			victim = o;
	}
	sqlite3_finalize(victim->st);
	*victim = (struct oneoff){ .hash = h, .used = ++s->oneoff_clock };
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &victim->st,
	    NULL) != SQLITE_OK) {
		sqlite3_finalize(victim->st);
		victim->st = NULL;
		return NULL;
	}
	return victim->st;
}

void
store_oneoff_release(sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

void
store_random(struct store *s, void *out, size_t n)
{
	if (n > sizeof(s->random))
		fatalx("%s: %zu bytes asked, %zu at most", __func__, n, sizeof(s->random));
	if (n > s->random_left) {
		if (RAND_bytes(s->random, sizeof(s->random)) != 1)
			fatalx("%s: no randomness", __func__);
		s->random_left = sizeof(s->random);
	}
	/* Taken from the end of what is left: no byte is handed out twice. */
	s->random_left -= n;
	memcpy(out, s->random + s->random_left, n);
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	for (int i = 0; i < ONEOFF_CACHE; i++)
		sqlite3_finalize(s->oneoff[i].st);
	if (s->db != NULL && s->reader)
		sqlite3_close(s->db);
	else if (s->db != NULL) {
		/* Fold the WAL back into the database for the next start and for backups;
		 * PASSIVE, so a concurrent reader (shokaictl) never makes us wait. */
		sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		if (sqlite3_close(s->db) != SQLITE_OK)
			s->walbuf = NULL;	/* still the open connection's VFS: kept */
	}
	store_walbuf_free(s->walbuf);
	free(s->path);
	free(s->wal_path);
	free(s);
}

int
store_set_cache_mb(struct store *s, int mb)
{
	char sql[64], why[WHY_MAX];

	snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d", mb * 1024);
	return store_exec(s->db, sql, why, sizeof(why));
}

/* Runs a statement that returns no rows and resets it. */
int
store_step(struct store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		unsigned long suppressed;

		store_note_error(s, rc);
		if (store_log_ok(s, &suppressed))
			log_warnx("msg=\"database statement failed\" sql=\"%.40s\" "
			    "detail=\"%s\" suppressed=%lu", sqlite3_sql(st),
			    sqlite3_errmsg(s->db), suppressed);
		return -1;
	}
	return 0;
}

/* Steps st once: 1 after read(st, out) for a row, 0 for none, -1 (logged) on error;
 * st is reset either way. */
int
store_one_row(struct store *s, sqlite3_stmt *st, void (*read)(sqlite3_stmt *, void *),
    void *out)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		read(st, out);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		unsigned long suppressed;

		store_note_error(s, rc);
		if (store_log_ok(s, &suppressed))
			log_warnx("msg=\"database query failed\" detail=\"%s\" suppressed=%lu",
			    sqlite3_errmsg(s->db), suppressed);
		return -1;
	}
	return rc == SQLITE_ROW ? 1 : 0;
}

/* Up to max rows, each read into the next size-byte element of the array returned
 * (zeroed before it is read into; the caller frees it, after clearing each row); *rc is
 * 0, or -1 on an error. The array grows with the rows: callers ask for up to a few
 * hundred and most often get one or two (an array of max rows zeroed at every outbox
 * due query was 8 k instructions). */
void *
store_many_rows(sqlite3_stmt *st, void (*read)(sqlite3_stmt *, void *), size_t size,
    size_t max, size_t *n, int *rc)
{
	size_t cap = max < 4 ? max + 1 : 4;
	char *rows = xcalloc(cap, size);
	int step = SQLITE_DONE;

	*n = 0;
	while (*n < max && (step = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {	/* then cap < max */
			size_t grown = cap * 2 < max ? cap * 2 : max;

			rows = xrealloc(rows, grown * size);
			memset(rows + size * cap, 0, size * (grown - cap));
			cap = grown;
		}
		read(st, rows + size * (*n)++);
	}
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
int
store_query_text(struct store *s, sqlite3_stmt *st, char **out)
{
	return store_one_row(s, st, read_text, out);
}

/* A one-row, one-integer-column query: 1 with *out, 0 if no row. */
int
store_query_int(struct store *s, sqlite3_stmt *st, int64_t *out)
{
	return store_one_row(s, st, read_int, out);
}

int64_t
store_count(struct store *s, sqlite3_stmt *st)
{
	int64_t n = -1;

	return st != NULL && store_query_int(s, st, &n) == 1 ? n : -1;
}

/* Refused while the storage is unhealthy (store_health.c): a transaction that cannot
 * be recorded must not start, nor what would follow it (an answer, a send). */
int
store_begin(struct store *s)
{
	if (s->health[0] != '\0')
		return -1;
	return store_step(s, s->st[ST_BEGIN]);
}

static void end_unsynced(struct store *);

/* PRAGMA synchronous takes effect when it is prepared, not when it runs: a statement
 * kept prepared and stepped again changes nothing. So it is run from its text. */
static int
set_synchronous(struct store *s, const char *level)
{
	char sql[40];

	snprintf(sql, sizeof(sql), "PRAGMA synchronous = %s", level);
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* For writes a replay makes good again (the outbox's outcomes: a lost "sent" is sent
 * again with the same retry key and LINE answers 409), for those that guard against the
 * process dying (the outbox's marks that a try started), and for the commits whose
 * fsync the syncer makes behind them (storage_sync.c: what depends on them waits for
 * it). In WAL mode a NORMAL commit survives a crash of the process; only a power loss
 * can take it, and the next fsync of the WAL makes it durable too. It keeps a 1-5 ms
 * fsync off the thread that commits. */
int
store_begin_unsynced(struct store *s)
{
	if (s->health[0] != '\0')
		return -1;
	if (s->synchronous_full) {
		s->unsynced = 1;
		/* The VFS skips the commit's fsync; without it (SQLite's own VFS, when ours
		 * could not be registered) the setting is switched. */
		if (s->walbuf != NULL)
			store_walbuf_unsynced(s->walbuf, 1);
		else if (set_synchronous(s, "NORMAL") == -1) {
			end_unsynced(s);
			return -1;
		}
	}
	if (store_begin(s) == -1) {
		end_unsynced(s);
		return -1;
	}
	return 0;
}

/* Puts back the configured setting, so every other commit is as durable as asked. */
static void
end_unsynced(struct store *s)
{
	if (!s->unsynced)
		return;
	s->unsynced = 0;
	if (s->walbuf != NULL)
		store_walbuf_unsynced(s->walbuf, 0);
	else if (set_synchronous(s, "FULL") == -1)
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

/* A commit into a WAL that was deleted under us would be gone at the next start: it
 * counts as failed (a webhook gets 503 and is redelivered), and the store is broken. */
int
store_commit(struct store *s)
{
	int rc;

#ifdef SHOKAI_FAULT_HOOKS
	if (fault_enabled("slow_commit")) {	/* a slow disk: every commit takes 20 ms more */
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
#endif
	rc = store_step(s, s->st[ST_COMMIT]);

	end_unsynced(s);
	if (rc == 0 && !store_wal_intact(s))
		rc = -1;
	return rc;
}

void
store_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		store_step(s, s->st[ST_ROLLBACK]);
	end_unsynced(s);
}

int
store_unit_begin(struct store *s)
{
	return store_step(s, s->st[ST_SAVEPOINT]);
}

int
store_unit_end(struct store *s, int keep)
{
	if (!keep && store_step(s, s->st[ST_ROLLBACK_TO]) == -1)
		return -1;
	return store_step(s, s->st[ST_RELEASE]);
}

void
store_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

char *
store_column_str(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	return v == NULL ? NULL : xstrdup((const char *)v);
}

/* The pseudonym key for logs lives in the database, so a user's pseudonym stays the
 * same across restarts without another secret file to manage. */
int
store_meta_salt(struct store *s, unsigned char out[SALT_LEN])
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
