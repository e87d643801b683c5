/* storage.h: the storage side. One thread owns the database's write connection and
 * runs everything that writes it: the group commit of webhooks (storage_ingest.c),
 * dispatch to the handlers (dispatch.c), the outbox's bookkeeping (outbox_book.c), the
 * rewards tick (reward_tick.c) and the storage watch; the console's thread reads on a
 * connection of its own (console/). The event loop reads,
 * verifies, parses, talks to LINE and answers; it never runs SQL.
 *
 * The two sides share nothing mutable but the mailboxes (base/mailbox.h: a letter's
 * argument belongs to whoever runs it), the daemon's counters (atomic) and the flags
 * named below. The config snapshot is shared by reference count: each side holds its
 * own reference, and the storage side takes a new snapshot by letter, in order with
 * the events, so every event runs against one whole snapshot. */
#ifndef SHOKAI_STORAGE_H
#define SHOKAI_STORAGE_H

#include "../base/base.h"
#include "../base/mailbox.h"
#include "../model/model.h"
#include "../store/store.h"
#include "../outbound/outbound.h"

struct daemon;
struct config;
struct storage;

/* Opens nothing: takes the open store (its thread owns it from now on) and a reference
 * to cfg, and starts the thread. */
struct storage *storage_start(struct daemon *, struct store *, struct config *cfg);
/* Runs every letter already posted, commits what they brought, writes the outbox's
 * last results, then stops the thread and closes the store. */
void storage_stop(struct storage *);
/* Any thread; fn runs on the storage thread with the struct storage * as ctx. */
void storage_post(struct storage *, mail_fn fn, void *arg);
/* Loop thread: the snapshot from now on (the storage side takes its own reference). */
void storage_set_config(struct storage *, struct config *);
/* Any thread: why the database takes no writes now (copied into buf; the length is
 * returned), or 0 while it is healthy. */
int storage_health(struct storage *, char *buf, size_t len);
/* Any thread: the write connection's PRAGMA synchronous (2: FULL, 1: NORMAL). */
int storage_synchronous(const struct storage *);
/* Any thread while the storage side runs: the WAL's fsyncs made behind the commits,
 * and how many failed (both 0 without a syncer: synchronous = NORMAL). */
void storage_wal_syncs(struct storage *, uint64_t *syncs, uint64_t *failures);

/* storage_ingest.c: one verified request as the loop hands it over. The loop fills
 * everything but inserted; the storage side sets inserted, then hands the batch back
 * whole (ok says whether it was committed). */
struct ingest_item {
	uint64_t		 ticket;	/* http_wait.c: the loop's; opaque here */
	enum platform		 platform;
	char			*channel;
	char			*body;		/* a quarantined body's copy, else NULL */
	size_t			 len;
	struct event_list	 events;
	char			*quarantine_reason;	/* set: body goes to quarantine */
	int64_t			 start_us;
	int			 inserted;
};
struct ingest_batch {
	struct ingest_item	*items;
	size_t			 n;
	int			 ok;
	struct ingest_batch	*next;		/* the storage side's queues */
	uint64_t		 sync_seq;	/* its commit's number (storage_sync.c) */
};
/* A letter: commits batch with every other batch waiting (one transaction, one
 * fsync), then posts it back to the loop (ingest_committed). */
void storage_ingest(void *storage, void *batch);

/* The storage thread's side of the outbox (outbox_book.c). */
struct outbox_book;
/* One try's outcome, or (state NULL) a row the loop did not start after all. */
struct outbox_result {
	struct outbox_msg	 msg;		/* owned: kind/body may have changed */
	const char		*state;		/* a string literal, or NULL */
	int64_t			 next_attempt_at;
	int			 status;
	char			*error;
};
/* A letter from the loop: the outcomes of one loop turn. */
struct outbox_results {
	struct outbox_result	*v;
	size_t			 n, cap;
};
void storage_outbox_results(void *storage, void *results);
/* Any thread: frees the outcomes and their rows. */
void outbox_results_free(struct outbox_results *);
/* Storage thread: look for due rows now (handlers queued some). The rows were inserted
 * on the storage thread's connection, which counts them per platform: only a platform
 * that got rows is looked at. */
void storage_outbox_kick(struct storage *);

/* dispatch.c: a LINE profile the storage side asked the loop for, as a letter back. */
struct profile_answer {
	struct daemon	*daemon;	/* the loop's, while it asks */
	char		*channel, *user_id;
	int		 status;	/* 200, 404, or anything else: not known */
	struct profile	 profile;
	int		 loading;	/* the customer waits for an invite meanwhile */
};
void storage_profile_answer(void *storage, void *answer);
void storage_dispatch_kick(struct storage *);
/* n events were stored: handle them soon. */
void storage_dispatch_stored(struct storage *, int n);
/* Before a webhook commit: when the handlers are far behind, one batch of them first,
 * so that acknowledgement slows to the pace of processing and the backlog stays
 * bounded. */
void storage_dispatch_catch_up(struct storage *);

/* storage_jobs.c: small writes and reads the loop asks for. */
/* A click on /r/{code}: recorded (unsynced), and the answer posted back to the loop
 * (http_invite_clicked) with the same struct. */
struct click_job {
	uint64_t	 ticket;
	int64_t		 start_us;
	char		*code;
	int		 to_rep;	/* /r/{code}/rep: the rep's contact */
	char		 client_hash[17];
	int		 result;	/* enum click_result, set by the storage side */
	char		*url;		/* set with CLICK_GO */
	char		*channel;
	char		*error;		/* the click could not be recorded */
};
void storage_click(void *storage, void *job);
/* A rep's LINE WORKS contact link, fetched by the loop (rep_links.c). */
struct rep_link_job {
	char	*rep_code, *url;
	int64_t	 at;
};
void storage_rep_link(void *storage, void *job);
/* A rep's member id, resolved from the login e-mail the config lists (rep_links.c). */
struct rep_member_job {
	char	*login, *member_id;
	int64_t	 at;
};
void storage_rep_member(void *storage, void *job);

/* A write of another thread's (the console's) run on the write connection, between the
 * storage thread's transactions: the caller blocks until fn returned and gets its result.
 * The exception to the mailbox's rule: arg stays the caller's, lent to fn while the
 * caller waits (the mutex hands it over and back). fn gets the store and the storage
 * side's snapshot; it must not block on the calling thread. Any thread but the storage
 * thread, and only while the storage side runs (the console stops first). */
typedef int (*storage_call_fn)(struct store *, const struct config *, void *arg);
int storage_call(struct storage *, storage_call_fn fn, void *arg);

/* announce_tick.c: LINE's quota for a due announcement, asked of the loop
 * (outbound/quota.c's quota_fetch) and posted back with q filled in. */
struct quota_job {
	struct daemon	*daemon;	/* the loop's, while it asks */
	int64_t		 announcement_id;
	char		*channel;
	struct quota	 q;
};
void storage_announce_quota(void *storage, void *job);

/* upkeep_tick.c: the time before which rows of kind k go under cf's retention;
 * 0 when they are kept forever (shokaictl purge uses the same rule). */
int64_t upkeep_retention_before(const struct config *, enum retention_kind, int64_t now);

#endif
