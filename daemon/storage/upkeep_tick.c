/* upkeep_tick.c: the daily upkeep, on the storage thread.
 *
 * Retention: every hour, each kind of old row (store_retention.c; conversation text by
 * conversations.retention, the rest by retention:) is deleted in chunks of a few
 * hundred rows, one transaction each, a few chunks a tick (a second apart): a commit of
 * webhooks waits for one chunk at most, never for the whole purge.
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
#define RETENTION_CHUNK		500	/* rows a transaction: the write lock stays short */
#define RETENTION_CHUNKS	4	/* a tick's share; the rest waits for the next one */
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

/* A few chunks of each kind; 1 while something is left for the next tick. */
static int
retention(struct upkeep_tick *ut, int64_t now)
{
	struct storage *st = ut->st;
	int more = 0;

	for (int k = 0; k < RETENTION_KINDS; k++) {
		int64_t before = upkeep_retention_before(st->cfg, (enum retention_kind)k, now),
		    total = 0, n = RETENTION_CHUNK;

		if (before == 0)
			continue;
		for (int chunk = 0; chunk < RETENTION_CHUNKS && n == RETENTION_CHUNK; chunk++) {
			if (store_begin(st->store) == -1 ||
			    (n = store_retention_chunk(st->store, (enum retention_kind)k, before,
			    RETENTION_CHUNK)) == -1 || store_commit(st->store) == -1) {
				store_rollback(st->store);
				st->d->stats.db_errors++;
				log_warnx("msg=\"old rows could not be deleted; retrying in a "
				    "minute\" kind=%s", store_retention_name((enum retention_kind)k));
				ut->retention_next_ms = now + RETENTION_RETRY_MS;
				return 0;
			}
			total += n;
		}
		if (n == RETENTION_CHUNK)
			more = 1;
		if (total > 0)
			log_info("msg=\"old rows deleted\" kind=%s rows=%lld",
			    store_retention_name((enum retention_kind)k), (long long)total);
	}
	return more;
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
	} else if (store_backup_to(job->db_path, dest, 0, &info, why, sizeof(why)) == -1) {
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
	if (now >= ut->retention_next_ms)
		ut->retention_next_ms = retention(ut, now) ? now :
		    ut->retention_next_ms > now ? ut->retention_next_ms :
		    now + RETENTION_EVERY_MS;
}

struct upkeep_tick *
upkeep_tick_new(struct storage *st)
{
	struct upkeep_tick *ut = xcalloc(1, sizeof(*ut));
	struct timeval tv = { TICK_MS / 1000, (TICK_MS % 1000) * 1000 };

	ut->st = st;
	ut->ev_tick = event_new(st->base, -1, EV_PERSIST, tick_cb, ut);
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
	backup_join(ut);
	free(ut);
}
