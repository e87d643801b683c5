/* store_syncer.c: the WAL's fsync, on a thread of its own. The webhooks' and the
 * dispatcher's commits are written without one (store_begin_unsynced) and numbered by
 * the storage thread; this thread calls fdatasync on the WAL file for everything
 * written up to the number it was asked for, while the storage thread goes on: the
 * next batch's inserts and the handlers' SQL run during the disk's wait, where before
 * the core sat idle (a quarter of the time at full load, tests/bench/PROFILE.md). What
 * waits for the sync is what the outside world is told: a webhook's 200 and a
 * message's send (storage_sync.c). One fdatasync covers every commit written before it
 * started, so commits that arrive while one runs share the next one.
 *
 * Why an fsync of our own descriptor is enough: fdatasync flushes the file's data
 * whichever descriptor names it, and a commit's frames were written (pwrite, by the
 * VFS at the commit) before its number was handed over. The WAL's frames carry
 * cumulative checksums, so the frames a sync makes durable are valid at recovery
 * together with every frame before them, which that sync flushed too. The file is
 * opened once, at the first sync, and kept: SQLite never replaces the WAL while its
 * connections are open, and if someone deletes it, SQLite's descriptor and ours still
 * name the same file, whose commits the checkpointer folds into the database (a
 * descriptor opened again by name would sync a different file, or none).
 *
 * Shared: `requested` and the answers, under the mutex; the storage thread reads the
 * answers with store_syncer_progress. The callback runs on this thread and must only
 * wake the storage thread (event_active). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store_internal.h"

struct store_syncer {
	pthread_t	 thread;
	pthread_mutex_t	 lock;
	pthread_cond_t	 wake;		/* a new request, or stop */
	pthread_cond_t	 done;		/* an answer (store_syncer_wait) */
	char		*wal_path;
	int		 fd;		/* the WAL, opened by name when first needed */
	void		(*synced)(void *);
	void		*arg;
	int		 stop;
	uint64_t	 requested;	/* the highest number asked for */
	uint64_t	 covered;	/* the highest number a finished fdatasync covered */
	uint64_t	 failures;	/* fdatasync calls that failed, since start */
	uint64_t	 syncs;
};

/* The WAL's descriptor (-1 with errno when it cannot be opened). */
static int
wal_fd(struct store_syncer *sy)
{
	if (sy->fd == -1)
		sy->fd = open(sy->wal_path, O_RDONLY | O_CLOEXEC);
	return sy->fd;
}

static int
sync_wal(struct store_syncer *sy)
{
#ifdef SHOKAI_FAULT_HOOKS
	if (fault_enabled("slow_sync")) {	/* a disk whose fsync takes 300 ms */
		struct timespec ts = { 0, 300 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	if (fault_enabled("sync_fails")) {	/* a disk that reports a write error */
		errno = EIO;
		return -1;
	}
#endif
	return wal_fd(sy) == -1 ? -1 : fdatasync(sy->fd);
}

static void *
syncer_main(void *arg)
{
	struct store_syncer *sy = arg;

	pthread_mutex_lock(&sy->lock);
	for (;;) {
		uint64_t target;
		int rc, err = 0;

		while (!sy->stop && sy->requested == sy->covered)
			pthread_cond_wait(&sy->wake, &sy->lock);
		if (sy->requested == sy->covered)
			break;		/* stopping, and nothing is waiting */
		target = sy->requested;
		pthread_mutex_unlock(&sy->lock);
		rc = sync_wal(sy);
		if (rc == -1)
			err = errno;
		pthread_mutex_lock(&sy->lock);
		sy->covered = target;
		sy->syncs++;
		sy->failures += rc == -1;
		pthread_cond_broadcast(&sy->done);
		pthread_mutex_unlock(&sy->lock);
		if (rc == -1)
			log_errorx("msg=\"fsync of the WAL failed: the commits it covered are "
			    "answered as failed\" path=%s error=\"%s\"", sy->wal_path,
			    strerror(err));
		sy->synced(sy->arg);
		pthread_mutex_lock(&sy->lock);
	}
	pthread_mutex_unlock(&sy->lock);
	log_flush();
	return NULL;
}

struct store_syncer *
store_syncer_start(const struct store *s, void (*synced)(void *), void *arg)
{
	struct store_syncer *sy;

	if (!s->synchronous_full || s->wal_path == NULL)
		return NULL;	/* nothing is synced at a commit: nothing to do apart */
	sy = xcalloc(1, sizeof(*sy));
	sy->wal_path = xstrdup(s->wal_path);
	sy->fd = -1;
	sy->synced = synced;
	sy->arg = arg;
	if (pthread_mutex_init(&sy->lock, NULL) != 0 || pthread_cond_init(&sy->wake, NULL) != 0 ||
	    pthread_cond_init(&sy->done, NULL) != 0)
		fatalx("%s: cannot make the syncer's lock", __func__);
	if (pthread_create(&sy->thread, NULL, syncer_main, sy) != 0)
		fatalx("%s: cannot start the syncer thread", __func__);
	return sy;
}

/* With the lock held. */
static void
ask_locked(struct store_syncer *sy, uint64_t upto)
{
	if (upto > sy->requested) {
		sy->requested = upto;
		pthread_cond_signal(&sy->wake);
	}
}

void
store_syncer_request(struct store_syncer *sy, uint64_t upto)
{
	pthread_mutex_lock(&sy->lock);
	ask_locked(sy, upto);
	pthread_mutex_unlock(&sy->lock);
}

void
store_syncer_progress(struct store_syncer *sy, struct store_sync_progress *out)
{
	pthread_mutex_lock(&sy->lock);
	out->covered = sy->covered;
	out->syncs = sy->syncs;
	out->failures = sy->failures;
	pthread_mutex_unlock(&sy->lock);
}

void
store_syncer_wait(struct store_syncer *sy, uint64_t upto)
{
	pthread_mutex_lock(&sy->lock);
	ask_locked(sy, upto);
	while (sy->covered < upto)
		pthread_cond_wait(&sy->done, &sy->lock);
	pthread_mutex_unlock(&sy->lock);
}

void
store_syncer_stop(struct store_syncer *sy)
{
	if (sy == NULL)
		return;
	pthread_mutex_lock(&sy->lock);
	sy->stop = 1;
	pthread_cond_signal(&sy->wake);
	pthread_mutex_unlock(&sy->lock);
	pthread_join(sy->thread, NULL);
	if (sy->fd != -1)
		close(sy->fd);
	pthread_mutex_destroy(&sy->lock);
	pthread_cond_destroy(&sy->wake);
	pthread_cond_destroy(&sy->done);
	free(sy->wal_path);
	free(sy);
}
