/* storage_internal.h: what the storage side's files share. Storage thread only. */
#ifndef SHOKAI_STORAGE_INTERNAL_H
#define SHOKAI_STORAGE_INTERNAL_H

#include <pthread.h>

#include "../shokaid.h"

struct dispatch;
struct reward_tick;
struct handoff_tick;
struct announce_tick;
struct followup_tick;

struct storage {
	struct daemon		*d;		/* for its counters and flags only */
	struct event_base	*base;		/* the storage thread's loop */
	pthread_t		 thread;
	int			 started;
	struct mailbox		*mail;
	struct store		*store;		/* the write connection */
	struct config		*cfg;		/* this side's reference */
	int			 synchronous;	/* read at start; never changes */
	struct dispatch		*dispatch;
	struct outbox_book	*book;
	struct reward_tick	*tick;
	struct handoff_tick	*handoffs;
	struct announce_tick	*announce;
	struct followup_tick	*followup;
	struct upkeep_tick	*upkeep;
	struct storage_sync	*sync;		/* what waits for the WAL's sync */
	struct event		*ev_watch;
	struct event		*ev_log;
	/* storage_ingest.c */
	struct event		*ev_commit;
	struct ingest_batch	*queue, *queue_tail;
	struct log_ratelimit	 rl_commit;
	/* what storage_health tells the loop */
	pthread_mutex_t		 health_lock;
	char			 health[WHY_MAX];
};

/* storage.c: a timer on base that writes out this thread's log lines. */
#define LOG_FLUSH_MS	100
struct event *storage_log_flusher(struct event_base *);
/* storage.c: copies the store's health for storage_health (after a watch or a failed
 * commit). */
void storage_publish_health(struct storage *);

/* storage_sync.c: commits whose fsync runs behind them, on the syncer's thread, and
 * what waits for it. storage_begin_deferred begins such a transaction (a plain one
 * when there is no syncer); storage_committed numbers it once COMMIT returned and asks
 * for its sync. The batches of one commit (a list by next, all ok or all not; numbered
 * seq) are answered, and a letter of sends posted, once a finished sync covers them
 * (every commit numbered so far, for the sends); failed ones at once.
 * storage_sync_finish syncs and lets go of everything, at stop. */
void storage_sync_init(struct storage *);
int storage_begin_deferred(struct storage *);
uint64_t storage_committed(struct storage *);
void storage_answer_when_synced(struct storage *, struct ingest_batch *batches,
    uint64_t seq);
void storage_send_when_synced(struct storage *, struct outbox_sends *);
void storage_sync_finish(struct storage *);

/* dispatch.c */
struct dispatch *dispatch_new(struct storage *);
void dispatch_free(struct dispatch *);

/* outbox_book.c */
struct outbox_book *outbox_book_new(struct storage *);
/* Writes the results still waiting (at stop). */
void outbox_book_flush(struct outbox_book *);
void outbox_book_free(struct outbox_book *);

/* reward_tick.c */
struct reward_tick *reward_tick_new(struct storage *);
void reward_tick_free(struct reward_tick *);

/* handoff_tick.c */
struct handoff_tick *handoff_tick_new(struct storage *);
void handoff_tick_free(struct handoff_tick *);
/* announce_tick.c */
struct announce_tick *announce_tick_new(struct storage *);
void announce_tick_free(struct announce_tick *);
/* followup_tick.c */
struct followup_tick *followup_tick_new(struct storage *);
void followup_tick_free(struct followup_tick *);

/* upkeep_tick.c: retention and the daily backup. */
struct upkeep_tick *upkeep_tick_new(struct storage *);
void upkeep_tick_free(struct upkeep_tick *);

/* storage_ingest.c */
void storage_ingest_init(struct storage *);
/* Commits what is queued now (at stop). */
void storage_ingest_flush(struct storage *);

#endif
