/* store_checkpoint.c: the WAL checkpointer. The daemon's connection never checkpoints
 * (wal_autocheckpoint = 0, store.c); this thread does it on its own connection and keeps
 * the WAL file bounded. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "store.h"

/* A WAL that has taken this much since it last started over is restarted: a PASSIVE
 * checkpoint alone never gets there under steady load (new frames arrive while it
 * copies), so the file grew without end (478 MiB in 20 s at full load). With the
 * journal_size_limit of the same size on the writing connection (store.c) the file is
 * cut back to it when the WAL starts over. */
#define RESTART_BYTES		STORE_WAL_LIMIT
/* The loop has written nothing for this long: the WAL is folded in and cut to zero. */
#define IDLE_MS			500
/* A RESTART or TRUNCATE that found a reader in the way is tried again after this, twice
 * as long after each refusal in a row up to the cap: soon after a short reader, seldom
 * while one holds a snapshot for minutes (each try holds the writer lock WAIT_MS). Past
 * twice the restart size the bound is at stake: every tick tries, however often it is
 * refused (under heavy load a few refusals in a row, spaced by the back-off, let the
 * WAL reach 83 MiB). */
#define RETRY_MIN_MS		100
#define RETRY_MAX_MS		2000
#define URGENT_BYTES		(2 * RESTART_BYTES)
/* How long a RESTART or TRUNCATE may wait for the writer lock and for readers. Waiting
 * for the lock costs the loop nothing; once it has it, the loop's next commit waits as
 * long as it waits for readers: keep it short and try again later instead. Under load
 * the storage thread holds the lock through each commit's writes (their fsync runs
 * behind it, on the syncer's thread: store_syncer.c).
 * While a thread of ours reads (a console page over a million customers holds its
 * snapshot for 0.1-0.3 s, a backup for the whole copy) there is no waiting at all: each
 * try held every commit for WAIT_MS, tried every tick once the WAL was past
 * URGENT_BYTES, and the webhooks' p99 rose by 30-60 ms while someone used the console
 * (make bench-scale, part e). */
#define WAIT_MS			20

/* The checkpointer: a thread with its own connection, so the 3-5 ms a checkpoint takes
 * never lands on a webhook's latency. */
struct store_checkpointer {
	pthread_t	thread;
	pthread_mutex_t	lock;
	pthread_cond_t	wake;
	int		stop;
	int		interval_ms;
	sqlite3		*db;
	const atomic_int *readers;	/* the daemon's count of threads reading now */
	char		*wal_path;
	int64_t		 frame_bytes;	/* a WAL frame: page size + 24-byte header */
	/* Written by the thread, read by the loop (store_checkpointer_stats). */
	_Atomic int64_t	 wal_bytes;	/* the -wal file's size at the last tick */
	_Atomic int64_t	 wal_max_bytes;	/* the largest size seen */
	_Atomic uint64_t truncates;	/* idle TRUNCATE checkpoints done */
	_Atomic uint64_t restarts;	/* RESTART checkpoints done */
	_Atomic uint64_t blocked;	/* RESTART/TRUNCATE refused by a reader or writer */
};

/* SQLite's busy handler for this connection: wait for the writer lock (or a reader in
 * another process) up to WAIT_MS, but never for a reader of ours. */
static int
on_busy(void *arg, int count)
{
	const struct store_checkpointer *cp = arg;
	struct timespec ms = { 0, 1000 * 1000 };

	if ((cp->readers != NULL && atomic_load(cp->readers) > 0) || count >= WAIT_MS)
		return 0;
	nanosleep(&ms, NULL);
	return 1;
}

static int64_t
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
}

/* Syncs the database file through this connection's own handle (SQLite's: a
 * descriptor of ours on the file, once closed, would drop SQLite's locks). A RESTART
 * syncs the database while it holds the writer lock, and every page the PASSIVE
 * checkpoints copied since the last sync was still to be written then: 2-22 ms during
 * which no commit could start, half of the webhooks' p99 (tests/bench/PROFILE.md).
 * Synced first, without the lock, the RESTART writes only what it copies itself. */
static void
sync_database(struct store_checkpointer *cp)
{
	sqlite3_file *f = NULL;

	if (sqlite3_file_control(cp->db, "main", SQLITE_FCNTL_FILE_POINTER, &f) == SQLITE_OK &&
	    f != NULL && f->pMethods != NULL)
		(void)f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
}

/* What one tick left behind, for the next. */
struct tick_state {
	int	last_frames;	/* frames in the WAL at the last tick */
	int64_t	changed_ms;	/* when that number last changed */
	int	restarted_at;	/* frames when a RESTART last went through */
	int64_t	retry_ms;	/* no RESTART/TRUNCATE before this */
	int64_t	backoff_ms;	/* the wait after the next refusal */
};

/* One tick: a PASSIVE checkpoint always; a TRUNCATE when the loop has been idle; else a
 * RESTART when the WAL has grown past its restart size. */
static void
tick(struct store_checkpointer *cp, struct tick_state *ts)
{
	int frames = 0, copied = 0, mode = -1, rc;
	int64_t now = clock_ms(), size, wal_bytes;

	sqlite3_wal_checkpoint_v2(cp->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied);
	size = file_size(cp->wal_path);
	wal_bytes = (int64_t)frames * cp->frame_bytes;
	if (frames != ts->last_frames) {
		ts->last_frames = frames;
		ts->changed_ms = now;
	}
	/* A RESTART only lets the next commit start the WAL over: until one comes, the
	 * WAL still counts its frames, and another RESTART would do nothing. */
	if (now >= ts->retry_ms || wal_bytes >= URGENT_BYTES) {
		if (size > 0 && now - ts->changed_ms >= IDLE_MS)
			mode = SQLITE_CHECKPOINT_TRUNCATE;
		else if (wal_bytes >= RESTART_BYTES && frames != ts->restarted_at)
			mode = SQLITE_CHECKPOINT_RESTART;
	}
	if (mode != -1) {
		sync_database(cp);
		rc = sqlite3_wal_checkpoint_v2(cp->db, NULL, mode, &frames, &copied);
		if (rc == SQLITE_OK) {
			if (mode == SQLITE_CHECKPOINT_RESTART) {
				cp->restarts++;
				ts->restarted_at = frames;
			} else
				cp->truncates++;
			ts->backoff_ms = RETRY_MIN_MS;
		} else {
			/* A reader (shokaictl) holds an old snapshot, or the loop held the
			 * writer lock longer than WAIT_MS: not now. */
			cp->blocked++;
			ts->retry_ms = now + ts->backoff_ms;
			if (ts->backoff_ms < RETRY_MAX_MS)
				ts->backoff_ms *= 2;
		}
		size = file_size(cp->wal_path);
	}
	cp->wal_bytes = size;
	if (size > cp->wal_max_bytes)
		cp->wal_max_bytes = size;
}

static void *
checkpointer_main(void *arg)
{
	struct store_checkpointer *cp = arg;
	struct tick_state ts = { .last_frames = -1, .changed_ms = clock_ms(),
	    .restarted_at = -1, .backoff_ms = RETRY_MIN_MS };
	struct timespec deadline;

	thread_sched_yield_to_loop();	/* a checkpoint's copying waits for the loop */
	pthread_mutex_lock(&cp->lock);
	while (!cp->stop) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
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
		tick(cp, &ts);
		pthread_mutex_lock(&cp->lock);
	}
	pthread_mutex_unlock(&cp->lock);
	return NULL;
}

static void
checkpointer_free(struct store_checkpointer *cp)
{
	sqlite3_close(cp->db);
	free(cp->wal_path);
	free(cp);
}

struct store_checkpointer *
store_checkpointer_start(const char *path, int interval_ms, const atomic_int *readers)
{
	struct store_checkpointer *cp = xcalloc(1, sizeof(*cp));
	sqlite3_stmt *st = NULL;
	pthread_condattr_t ca;

	cp->wal_path = xasprintf("%s-wal", path);
	if (sqlite3_open_v2(path, &cp->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
	    NULL) != SQLITE_OK) {
		log_warnx("msg=\"checkpointer cannot open the database\" detail=\"%s\"",
		    cp->db ? sqlite3_errmsg(cp->db) : "out of memory");
		checkpointer_free(cp);
		return NULL;
	}
	(void)store_no_readahead(path);
	cp->readers = readers;
	sqlite3_busy_handler(cp->db, on_busy, cp);
	/* A connection that has not read the database yet does not know it is in WAL mode
	 * and would checkpoint nothing. */
	if (sqlite3_exec(cp->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK)
		log_warnx("msg=\"checkpointer cannot read the database\" detail=\"%s\"",
		    sqlite3_errmsg(cp->db));
	cp->frame_bytes = 4096 + 24;
	if (sqlite3_prepare_v2(cp->db, "PRAGMA page_size", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		cp->frame_bytes = sqlite3_column_int64(st, 0) + 24;
	sqlite3_finalize(st);
	cp->interval_ms = interval_ms;
	pthread_mutex_init(&cp->lock, NULL);
	/* The wait's deadline is on the monotonic clock: a wall clock stepped back (NTP)
	 * would otherwise hold the checkpoints, and let the WAL grow, for as long. */
	if (pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&cp->wake, &ca) != 0)
		fatalx("%s: cannot make a monotonic condition variable", __func__);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&cp->thread, NULL, checkpointer_main, cp) != 0) {
		log_warnx("msg=\"checkpointer thread did not start\"");
		pthread_mutex_destroy(&cp->lock);
		pthread_cond_destroy(&cp->wake);
		checkpointer_free(cp);
		return NULL;
	}
	return cp;
}

void
store_checkpointer_stats(const struct store_checkpointer *cp,
    struct store_checkpoint_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (cp == NULL)
		return;
	out->wal_bytes = cp->wal_bytes;
	out->wal_max_bytes = cp->wal_max_bytes;
	out->truncates = cp->truncates;
	out->restarts = cp->restarts;
	out->blocked = cp->blocked;
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
	pthread_mutex_destroy(&cp->lock);
	pthread_cond_destroy(&cp->wake);
	checkpointer_free(cp);
}
