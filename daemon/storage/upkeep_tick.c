/* upkeep_tick.c: the daily upkeep, on the storage thread.
 *
 * Retention: every hour, each kind of old row (store_retention.c; conversation text by
 * conversations.retention, the rest by retention:) is deleted in chunks, one transaction
 * each, one chunk per turn of the storage thread's loop, so that the webhooks' commits
 * waiting meanwhile go between two chunks. A chunk is sized to take about
 * RETENTION_CHUNK_US (on a database of a year, cold, a chunk of 500 rows took 20-50 ms,
 * and 12 of them a second put 230 ms on the webhooks' p99: make bench-scale, part e),
 * and a tick spends at most RETENTION_TICK_US on them: a backlog of a year (a database
 * from before retention:, or a shorter period set) goes over minutes to hours, never
 * over the webhooks' latency. Old rows coming back after a power cut are deleted again,
 * so the chunks commit without a sync.
 *
 * Backup: once a day at backup.at (the config's local time), a thread of its own copies
 * the database (store_backup_to: a read snapshot, never the write lock) into
 * backup.dir as shokai-YYYYmmdd-HHMMSS.db, checks it, and keeps the newest backup.keep
 * of that name. The storage thread only starts it and, once it is over, joins it; the
 * outcome reaches /healthz and /metrics through the daemon's atomic counters. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "storage_internal.h"

#define TICK_MS			1000
#define RETENTION_EVERY_MS	(3600LL * 1000)
#define RETENTION_ROWS_MAX	500	/* rows a chunk, at most */
#define RETENTION_ROWS_MIN	10
#define RETENTION_CHUNK_US	2000	/* what a chunk should take */
#define RETENTION_TICK_US	20000	/* chunks a tick: 2 % of the storage thread */
#define RETENTION_RETRY_MS	60000
#define BACKUP_PREFIX		"shokai-"
#define BACKUP_SUFFIX		".db"

struct backup_job {
	struct daemon	*d;
	char		*db_path;
	char		*dir;
	int		 keep;
};

struct upkeep_tick {
	struct storage	*st;
	struct event	*ev_tick;
	int64_t		 retention_next_ms;	/* 0: at the first tick */
	struct event	*ev_chunk;		/* the next chunk, after what waits */
	int		 retention_kind;	/* the kind the next chunk deletes */
	int		 retention_rows;	/* its size, as the last chunks ran */
	int64_t		 retention_spent_us;	/* in this tick */
	int64_t		 retention_now;		/* this round's "now" (wall ms) */
	int64_t		 retention_deleted;	/* rows of this kind, this round */
	int		 backup_day;		/* yday*10000+year of the last one started */
	pthread_t	 backup_thread;
	int		 backup_started;
	atomic_int	 backup_done;		/* set by the backup thread as it ends */
	struct backup_job *job;
};

static int64_t
keep_ms(const struct config *cf, enum retention_kind k)
{
	switch (k) {
	case RETENTION_INBOX_DONE:
		return cf->retention.inbox_done_ms;
	case RETENTION_QUARANTINE:
		return cf->retention.quarantine_ms;
	case RETENTION_OUTBOX_SENT:
		return cf->retention.outbox_sent_ms;
	case RETENTION_CLICK_HASH:
		return cf->retention.click_hash_ms;
	default:
		return cf->conversations.retention_ms;
	}
}

int64_t
upkeep_retention_before(const struct config *cf, enum retention_kind k, int64_t now)
{
	int64_t ms = keep_ms(cf, k);

	return ms > 0 ? now - ms : 0;
}

static void
retention_log(struct upkeep_tick *ut)
{
	if (ut->retention_deleted > 0)
		log_info("msg=\"old rows deleted\" kind=%s rows=%lld",
		    store_retention_name((enum retention_kind)ut->retention_kind),
		    (long long)ut->retention_deleted);
	ut->retention_deleted = 0;
}

/* The next kind with a period set; RETENTION_KINDS when this round is over. */
static void
retention_next_kind(struct upkeep_tick *ut)
{
	retention_log(ut);
	while (++ut->retention_kind < RETENTION_KINDS &&
	    upkeep_retention_before(ut->st->cfg, (enum retention_kind)ut->retention_kind,
	    ut->retention_now) == 0)
		;
}

/* One chunk of the current kind; then the next one is queued behind whatever the loop
 * has ready, until the tick's share is spent (the next tick goes on from there) or
 * every kind is done (the next round is in an hour). */
static void
chunk_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upkeep_tick *ut = arg;
	struct storage *st = ut->st;
	enum retention_kind k = (enum retention_kind)ut->retention_kind;
	int64_t began = clock_us(), took, n;

	(void)fd;
	(void)what;
	if (k >= RETENTION_KINDS || st->d->draining)
		return;
	if (store_begin_unsynced(st->store) == -1 ||
	    (n = store_retention_chunk(st->store, k, upkeep_retention_before(st->cfg, k,
	    ut->retention_now), ut->retention_rows)) == -1 || store_commit(st->store) == -1) {
		store_rollback(st->store);
		st->d->stats.db_errors++;
		log_warnx("msg=\"old rows could not be deleted; retrying in a minute\" kind=%s",
		    store_retention_name(k));
		retention_log(ut);
		ut->retention_kind = RETENTION_KINDS;
		ut->retention_next_ms = wall_ms() + RETENTION_RETRY_MS;
		return;
	}
	ut->retention_deleted += n;
	took = clock_us() - began;
	ut->retention_spent_us += took;
	/* The next chunk's size: what would have taken RETENTION_CHUNK_US at this pace,
	 * at most twice this one's. */
	if (n == ut->retention_rows) {
		int64_t rows = took > 0 ? (int64_t)n * RETENTION_CHUNK_US / took : 2 * n;

		rows = rows > 2 * n ? 2 * n : rows;
		ut->retention_rows = (int)(rows < RETENTION_ROWS_MIN ? RETENTION_ROWS_MIN :
		    rows > RETENTION_ROWS_MAX ? RETENTION_ROWS_MAX : rows);
	} else
		retention_next_kind(ut);	/* a short chunk took what was left */
	if (ut->retention_kind >= RETENTION_KINDS) {
		ut->retention_next_ms = ut->retention_now + RETENTION_EVERY_MS;
		return;
	}
	if (ut->retention_spent_us < RETENTION_TICK_US)
		event_active(ut->ev_chunk, 0, 0);
}

/* Each tick: a new round when one is due, else more of the one under way. */
static void
retention_tick(struct upkeep_tick *ut, int64_t now)
{
	ut->retention_spent_us = 0;
	if (ut->retention_kind >= RETENTION_KINDS) {
		if (now < ut->retention_next_ms)
			return;
		ut->retention_now = now;
		ut->retention_kind = -1;
		ut->retention_deleted = 0;
		retention_next_kind(ut);
		if (ut->retention_kind >= RETENTION_KINDS) {
			ut->retention_next_ms = now + RETENTION_EVERY_MS;
			return;
		}
	}
	event_active(ut->ev_chunk, 0, 0);	/* once, if it already was */
}

/* The newest keep backups of our name stay; older ones go. */
static void
prune(const char *dir, int keep)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, NULL, alphasort), ours = 0;

	for (int i = n - 1; i >= 0; i--) {
		const char *name = names[i]->d_name;
		size_t len = strlen(name);

		/* shokai-YYYYmmdd-HHMMSS.db: the names sort by time. */
		if (len == strlen(BACKUP_PREFIX) + 15 + strlen(BACKUP_SUFFIX) &&
		    strncmp(name, BACKUP_PREFIX, strlen(BACKUP_PREFIX)) == 0 &&
		    strcmp(name + len - strlen(BACKUP_SUFFIX), BACKUP_SUFFIX) == 0 &&
		    ++ours > keep) {
			char *path = xasprintf("%s/%s", dir, name);

			if (unlink(path) == 0)
				log_info("msg=\"old backup removed\" file=%s", path);
			free(path);
		}
		free(names[i]);
	}
	free(names);
}

/* The copy holds one read snapshot from start to end: counted as one of the daemon's
 * readers, so the checkpointer does not hold commits waiting for it. */
static int
backup_reading(struct backup_job *job, const char *dest, struct store_backup_info *info,
    char *why, size_t whylen)
{
	int rc;

	atomic_fetch_add(&job->d->snapshot_readers, 1);
	rc = store_backup_to(job->db_path, dest, 0, info, why, whylen);
	atomic_fetch_sub(&job->d->snapshot_readers, 1);
	return rc;
}

static void *
backup_main(void *arg)
{
	struct upkeep_tick *ut = arg;
	struct backup_job *job = ut->job;
	struct store_backup_info info;
	char stamp[32], why[WHY_MAX], *dest;
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	dest = xasprintf("%s/" BACKUP_PREFIX "%s" BACKUP_SUFFIX, job->dir, stamp);
	if (mkdir(job->dir, 0700) == -1 && errno != EEXIST) {
		job->d->stats.backups_failed++;
		log_errorx("msg=\"daily backup failed\" dir=%s detail=\"%s\"", job->dir,
		    strerror(errno));
	} else if (backup_reading(job, dest, &info, why, sizeof(why)) == -1) {
		job->d->stats.backups_failed++;
		log_errorx("msg=\"daily backup failed\" file=%s detail=\"%s\"", dest, why);
	} else {
		job->d->stats.backups_ok++;
		job->d->stats.last_backup_unix = (long long)now;
		log_notice("msg=\"daily backup\" file=%s bytes=%lld ms=%lld schema=%d", dest,
		    (long long)info.bytes, (long long)info.ms, info.schema_version);
		prune(job->dir, job->keep);
	}
	free(dest);
	log_flush();
	ut->backup_done = 1;
	return NULL;
}

static void
backup_join(struct upkeep_tick *ut)
{
	if (!ut->backup_started)
		return;
	pthread_join(ut->backup_thread, NULL);
	ut->backup_started = 0;
	free(ut->job->db_path);
	free(ut->job->dir);
	free(ut->job);
	ut->job = NULL;
}

/* At backup.at each day (or at once with the test hook), when none runs. */
static void
backup_maybe(struct upkeep_tick *ut)
{
	const struct config *cf = ut->st->cfg;
	time_t now = time(NULL);
	struct tm tm;
	int day, due;

	if (ut->backup_started && ut->backup_done)
		backup_join(ut);
	if (cf->backup.dir == NULL || ut->backup_started)
		return;
	localtime_r(&now, &tm);
	day = tm.tm_year * 1000 + tm.tm_yday;
	due = day != ut->backup_day && tm.tm_hour * 60 + tm.tm_min >= cf->backup.at_min;
#ifdef SHOKAI_FAULT_HOOKS
	if (fault_enabled("backup_now") && ut->backup_day == 0)
		due = 1;
#endif
	if (!due)
		return;
	ut->backup_day = day;
	ut->job = xcalloc(1, sizeof(*ut->job));
	ut->job->d = ut->st->d;
	ut->job->db_path = xstrdup(cf->sqlite_path);
	ut->job->dir = xstrdup(cf->backup.dir);
	ut->job->keep = cf->backup.keep;
	ut->backup_done = 0;
	if (pthread_create(&ut->backup_thread, NULL, backup_main, ut) != 0) {
		log_errorx("msg=\"daily backup not started: no thread\"");
		free(ut->job->db_path);
		free(ut->job->dir);
		free(ut->job);
		ut->job = NULL;
		return;
	}
	ut->backup_started = 1;
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upkeep_tick *ut = arg;
	int64_t now = wall_ms();

	(void)fd;
	(void)what;
	if (ut->st->d->draining)
		return;
	backup_maybe(ut);
	retention_tick(ut, now);
}

struct upkeep_tick *
upkeep_tick_new(struct storage *st)
{
	struct upkeep_tick *ut = xcalloc(1, sizeof(*ut));
	struct timeval tv = { TICK_MS / 1000, (TICK_MS % 1000) * 1000 };

	ut->st = st;
	ut->ev_tick = event_new(st->base, -1, EV_PERSIST, tick_cb, ut);
	ut->ev_chunk = event_new(st->base, -1, 0, chunk_cb, ut);
	ut->retention_kind = RETENTION_KINDS;	/* no round under way */
	ut->retention_rows = 100;
	evtimer_add(ut->ev_tick, &tv);
	return ut;
}

/* A backup running at stop is finished, not cut short: a half copy is never named. */
void
upkeep_tick_free(struct upkeep_tick *ut)
{
	if (ut == NULL)
		return;
	event_free(ut->ev_tick);
	event_free(ut->ev_chunk);
	backup_join(ut);
	free(ut);
}
