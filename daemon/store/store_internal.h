/* store_internal.h: what the store's files share: the handle, the statement cache and
 * the helpers that run statements. Nothing outside daemon/store/ includes it but the
 * store's white-box unit tests. */
#ifndef STORE_INTERNAL_H
#define STORE_INTERNAL_H

#include <sys/types.h>

#include <sqlite3.h>

#include "store.h"

/* Every statement the daemon runs again and again, grouped by the file whose SQL table
 * (stmt_sql[], indexed by these ids) holds its text. Prepared at first use by
 * store_stmt, kept, finalized by store_close. One-off statements (migrations, the
 * operator's views and commands, the salt) are prepared and finalized where they run. */
enum stmt_id {
	/* store.c: made at open, so a rollback never waits on a prepare */
	ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_SAVEPOINT, ST_RELEASE, ST_ROLLBACK_TO,
	/* store_inbox.c */
	ST_INBOX_PUT, ST_QUARANTINE_PUT, ST_INBOX_PENDING, ST_INBOX_MARK, ST_INBOX_BACKLOG,
	ST_INBOX_VERSION,
	/* store_outbox.c */
	ST_OUTBOX_PUT, ST_OUTBOX_DUE, ST_OUTBOX_TRYING, ST_OUTBOX_UNTRY, ST_OUTBOX_RECOVER, ST_OUTBOX_RESULT, ST_OUTBOX_BACKLOG,
	/* store_chat.c */
	ST_PROFILE_GET, ST_PROFILE_PUT,
	ST_USER_FOLLOW, ST_USER_UNFOLLOW, ST_USER_SEEN, ST_USER_GET,
	ST_COOLDOWN_GET, ST_COOLDOWN_PUT,
	ST_RICHMENU_GET, ST_RICHMENU_PUT, ST_RICHMENU_DELETE,
	/* store_referral.c */
	ST_CODE_GET, ST_CODE_PUT, ST_CODE_LOOKUP,
	ST_CUSTOMER_REP, ST_CUSTOMER_ASSIGN,
	ST_EVENT_PUT,
	ST_REFERRAL_OF_REFEREE, ST_REFERRAL_PAIR, ST_REFERRALS_SINCE, ST_CODE_CLAIMS_SINCE,
	ST_CODE_REP_CLICKS_SINCE,
	ST_REFERRAL_PUT, ST_REFERRAL_GET, ST_REFERRAL_SET_STATE, ST_REFERRALS_OF_REP,
	ST_REP_STATS, ST_REFERRER_STATS, ST_REP_LINK_GET, ST_REP_LINK_PUT,
	ST_REP_MEMBER_PUT, ST_REP_LOGIN_OF_MEMBER,
	/* store_reward.c */
	ST_REWARD_CREATE, ST_REWARDS_WORK, ST_REWARD_SET, ST_REWARD_GET,
	ST_REWARDS_PENDING_OF, ST_REWARDS_WAITING_POOL, ST_CUSTOMER_PARTNER,
	ST_COUPON_TAKE, ST_COUPON_PUT,
	/* store_clicks.c: every click written runs these */
	ST_CLICKS_MARK, ST_CLICKS_ADD_ALL, ST_CLICKS_ADD_BRANCH, ST_CLICKS_SET_MARK,
	/* store_conversation.c */
	ST_CONV_PUT, ST_HANDOFF_QUIET,
	ST_COUNT
};

/* A file's identity, to notice it was deleted or replaced under the running daemon. */
struct store_file_id {
	dev_t		dev;
	ino_t		ino;
};

/* One-off statements (store_query_json, store_run) kept prepared between calls, the
 * least recently used given up first: handlers run the same few per event, and
 * preparing them each time was most of a handoff's cost. */
#define ONEOFF_CACHE	32
struct oneoff {
	sqlite3_stmt	*st;
	uint64_t	 hash;		/* of its SQL text */
	uint64_t	 used;		/* s->oneoff_clock when last taken */
};
struct store {
	int		 reader;	/* store_open_reader: no writes, no checkpoint at close */
	sqlite3		*db;
	sqlite3_stmt	*st[ST_COUNT];		/* the cache; NULL until first used */
	struct oneoff	 oneoff[ONEOFF_CACHE];
	uint64_t	 oneoff_clock;
	int		 busy_timeout_ms;	/* on_busy gives up after this long */
	int		 synchronous_full;	/* what the config asked for */
	int		 unsynced;		/* this transaction commits without fsync */
	struct store_walbuf *walbuf;		/* the writer's VFS when FULL; else NULL */
	struct log_ratelimit rl_err;		/* store_log_ok: error lines */
	unsigned char	 random[STORE_RANDOM_BUF];	/* store_random: the unused tail */
	size_t		 random_left;
	uint64_t	 outbox_puts[2];	/* rows inserted, per platform (store_outbox_puts) */
	/* Storage health (store_watch_start): set only for the daemon's store. */
	char		*path;			/* the database file; NULL: not watched */
	char		*wal_path;
	struct store_file_id db_id, wal_id;	/* as they were at start */
	char		 health[WHY_MAX];	/* why writes are refused; "" when healthy */
	int		 broken;		/* a file was replaced: only a restart helps */
	int64_t		 unhealthy_since_ms;
	int64_t		 reminded_ms;		/* the last "still unhealthy" line */
};

/* A statement for sql (a constant, or text built per call), kept prepared between
 * calls in s->oneoff, the least recently used given up first; NULL when it does not
 * prepare (sqlite3_errmsg says why). Given back, reset, with store_oneoff_release; two
 * uses of the same text must not overlap. */
sqlite3_stmt *store_oneoff(struct store *, const char *sql);
void store_oneoff_release(sqlite3_stmt *);

/* store_walbuf.c: the write connection's VFS, which gathers a commit's WAL frames into
 * one write at its sync. Only for connections that call xSync at every commit
 * (synchronous = FULL); an unsynced transaction still does, and the VFS skips the fsync. */
struct store_walbuf *store_walbuf_new(void);	/* NULL: use SQLite's default VFS */
const char *store_walbuf_name(const struct store_walbuf *);
/* While on, the WAL's syncs write what was gathered and skip the fsync (an unsynced
 * transaction of a FULL connection); store_walbuf_syncs counts the fsyncs done. */
void store_walbuf_unsynced(struct store_walbuf *, int on);
unsigned long store_walbuf_syncs(const struct store_walbuf *);
void store_walbuf_free(struct store_walbuf *);

/* store_health.c */
/* A statement failed with rc: an error of the storage (read-only, I/O, full, corrupt)
 * makes the store unhealthy; others (busy, constraints) are the statement's own. */
void store_note_error(struct store *, int rc);
/* 1 while the WAL is the file the store started with; else 0, and the store is broken
 * for good (a restart is needed). Cheap: one stat(). */
int store_wal_intact(struct store *);

/* store_schema.c: brings the database up to the newest schema; *err on failure. */
int store_schema_migrate(sqlite3 *, char *why, size_t whylen);

/* store_figures.c: the figures' definitions, shared with store_report.c. */
enum fig_id {
	FIG_ISSUED, FIG_CLAIMED, FIG_HELD, FIG_REJECTED, FIG_CONTACTED, FIG_MEETING,
	FIG_WON, FIG_LOST, FIG_REWARDS_ISSUED, FIG_REWARDS_PENDING, FIG_REWARDS_APPROVED,
	FIG_REWARDS_VOIDED, FIG_COUNT
};
/* A figure counted from events: the referral_events rows whose columns (unqualified:
 * type, reason) meet cond. Where no one index range answers cond, part[] says the same
 * rows as two disjoint conditions that each one range does: a count is the sum of the
 * parts' counts, a list the UNION ALL of their rows. */
struct fig_def {
	const char	*name;
	const char	*cond;
	const char	*part[2];	/* NULL: cond is one range */
};
extern const struct fig_def fig_defs[FIG_COUNT];
/* A claim event e whose referral is won today: the win rate's numerator (the period's
 * claims followed to today), for the console's figures and the report alike. */
#define FIG_WON_NOW \
	"coalesce((SELECT r.state = 'won' FROM referrals r WHERE r.id = e.referral_id), 0)"
/* Clicks: one per code, client and local day. Reads the clicks in [lo, hi) (lo, hi:
 * unix ms, any range) of the campaign (NULL: all) and branches (a JSON array; NULL:
 * all) in time order, and calls counted(arg, at, group) for each click that counts,
 * group being the value of the SQL expression group_sql over the event (alias e; NULL:
 * none). 0, or -1 (logged). */
int store_clicks_scan(struct store *, const char *group_sql, int64_t lo, int64_t hi,
    const char *campaign, const char *branches_json, const char *testers_json,
    void (*counted)(void *arg, int64_t at, const char *group), void *arg);

/* The local day [*start, *end) (ms) holding at, in this process's time zone. */
void store_day_of(int64_t at, int64_t *start, int64_t *end);

/* store_clicks.c: clicks counted per local day, campaign and branch as they are
 * written (click_counts). */
int store_clicks_register(sqlite3 *);

/* store.c */
/* A database error line may be written now: one a second, the others counted into
 * *suppressed for the next one. A full disk fails every write of every event, and a
 * line per failure buried the log (4,493 lines for 1,493 failures). */
int store_log_ok(struct store *, unsigned long *suppressed);
/* Runs SQL text (one or more statements, no results); *err (caller frees) on failure. */
int store_exec(sqlite3 *, const char *sql, char *why, size_t whylen);
/* The cached statement id, prepared from sql[id] at its first use; NULL (logged) if it
 * cannot be prepared. sql is the calling file's table; an id it has no text for is a
 * programming error (fatalx). */
sqlite3_stmt *store_stmt(struct store *, enum stmt_id, const char *const sql[ST_COUNT]);
/* Runs a statement that returns no rows and resets it; -1 (logged) on failure. */
int store_step(struct store *, sqlite3_stmt *);
/* Steps st once: 1 after read(st, out) for a row, 0 for none, -1 (logged) on error;
 * st is reset and its bindings cleared either way. */
int store_one_row(struct store *, sqlite3_stmt *, void (*read)(sqlite3_stmt *, void *),
    void *out);
/* Up to max rows, each read into the next size-byte element of the array returned
 * (the caller frees it, after clearing each row, also on an error); *rc is 0, or -1 on
 * an error. */
void *store_many_rows(sqlite3_stmt *, void (*read)(sqlite3_stmt *, void *), size_t size,
    size_t max, size_t *n, int *rc);
/* One-row, one-column queries: 1 with *out (a text: caller frees), 0 if no row. */
int store_query_text(struct store *, sqlite3_stmt *, char **out);
int store_query_int(struct store *, sqlite3_stmt *, int64_t *out);
/* A count(*) statement's answer, or -1 when st is NULL or the query fails. */
int64_t store_count(struct store *, sqlite3_stmt *st);
void store_bind_text(sqlite3_stmt *, int i, const char *v);
/* A text column as a new string, or NULL. */
char *store_column_str(sqlite3_stmt *, int i);
/* A column as JSON (store_console.c): numbers as numbers, NULL as null, text that is
 * not UTF-8 as its terminal-escaped form rather than missing. */
struct json_t *store_column_json(sqlite3_stmt *, int i);

#endif
