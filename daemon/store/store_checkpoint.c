/* store_checkpoint.c: the WAL checkpointer. The daemon's connection never checkpoints
 * (wal_autocheckpoint = 0, store.c); this thread does it on its own connection. */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include <sqlite3.h>

#include "store.h"

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
