/* shokaid.h: the daemon context (what the running process owns, reachable from one
 * place), the loop's priorities and dispatch. Included by the
 * files that run the process; a layer below includes only its own header. */
#ifndef SHOKAID_H
#define SHOKAID_H

#include "base/base.h"
#include "model/model.h"
#include "config/config.h"
#include "store/store.h"
#include "http/http.h"
#include "outbound/outbound.h"
#include "outbound/outmsg.h"
#include "base/mailbox.h"
#include "storage/storage.h"
#include "console/console.h"

#include <stdatomic.h>

struct event_base;
struct sqlite3;
struct json_t;

/* The daemon context: everything the running process owns, reachable from one place.
 * Set up in main.c; each field's owner is the file named beside it. The loop thread
 * owns every field but these, which the storage threads use too: the counters (atomic),
 * draining and sends_queued (atomic), salt (written once before the threads start) and
 * the mailboxes (storage.h). */
struct http_server;
struct ingest;
struct http_waits;
struct event;
struct daemon_stats {
	atomic_ullong	sig_failures;
	atomic_ullong	tls_handshake_failures;	/* server.tls handshakes that failed */
	atomic_ullong	events_stored;
	atomic_ullong	events_duplicate;
	atomic_ullong	events_unknown;
	atomic_ullong	quarantined;
	atomic_ullong	db_errors;
	atomic_ullong	json_parse_calls;
	atomic_ullong	reloads;
	atomic_ullong	reload_failures;
	atomic_ullong	events_done;
	atomic_ullong	events_failed;
	atomic_ullong	events_skipped;
	atomic_ullong	coupon_pool_empty;	/* a gauge: approved rewards whose pool has no
						 * free code now (the rewards tick counts) */
	atomic_ullong	reward_batches;		/* rewards ticks that found work and committed */
	atomic_ullong	outbox_unknown;		/* replies that may or may not have arrived */
	atomic_ullong	dispatch_fault_holds;	/* kicks SHOKAI_FAULT=no_dispatch refused */
	atomic_llong	loop_max_stall_us;
	atomic_llong	loop_max_busy_us;	/* of a stall, the loop thread's own CPU */
	atomic_ullong	loop_long_stalls;	/* stalls of LOOP_LONG_STALL_US or more */
	atomic_int	last_reload_failed;	/* until a reload succeeds: /readyz */
	atomic_int	connections;		/* gauges the loop keeps for the console */
	atomic_int	outbox_sending;		/*   thread's /healthz and /metrics */
	atomic_ullong	outbox_retries;		/* tries that will be tried again */
	atomic_ullong	outbox_rate_limited;	/* 429 answers from a platform */
	atomic_ullong	backups_ok;		/* the daily backup (upkeep_tick.c) */
	atomic_ullong	backups_failed;
	atomic_llong	last_backup_unix;	/* 0: none yet */
	int64_t		started_wall_ms;	/* set before any thread starts */
	struct http_metrics webhooks;		/* http_metrics.c: answers of the public port */
};
/* A stall this long is felt by LINE's webhook client (it is five times the target). */
#define LOOP_LONG_STALL_US	10000
/* The loop's priorities. Background work is cut into slices of at most
 * BACKGROUND_SLICE_US, after which the loop looks for new I/O again, so a burst of
 * outbound completions or a commit queue cannot hold a webhook back for long. */
enum {
	PRIO_FIRST,		/* nothing now; it keeps PRIO_IO in the middle, libevent's
				   default for an event whose priority is not set */
	PRIO_IO,		/* webhooks and timers: libevent's default */
	PRIO_BACKGROUND,	/* group commit, dispatch, the outbox and its HTTP traffic */
	PRIO_COUNT
};
#define BACKGROUND_SLICE_US	500

struct daemon {
	struct event_base	*base;
	struct config		*cfg;		/* main.c: current snapshot; swapped on SIGHUP */
	char			*config_path;
	struct store		*store;		/* shokaictl's connection; shokaid hands its
						   own to the storage thread and keeps NULL */
	struct storage		*storage;	/* storage.c: owns the write connection */
	struct console		*console;	/* console.c: the operator console's thread;
						   it also serves /healthz, /readyz and
						   /metrics (console_health.c) */
	struct mailbox		*loop_mail;	/* letters for the loop (loop_post) */
	struct http_waits	*waits;		/* http_wait.c: requests waiting on a letter */
	struct store_checkpointer *checkpointer;
	struct http_server	*http;		/* http_server.c: the public listener */
	int			 tls_on;	/* the webhook listener started with
						   server.tls (a restart changes it) */
	struct ingest		*ingest;	/* ingest.c */
	struct http_client	*http_client;	/* http_client.c */
	struct outbox		*outbox;	/* outbox.c */
	struct works_tokens	*works_tokens;	/* works_api.c */
	struct http_invite	*http_invite;	/* http_invite.c: per-client rate limits */
	struct rep_links	*rep_links;	/* rep_links.c */
	unsigned char		 salt[SALT_LEN];	/* the database's secret: pseudonyms, hashes */
	struct event		*ev_signals[4];	/* main.c */
	struct event		*ev_flush;
	struct event		*ev_drain;
	struct event		*ev_stall;
	int64_t			 stall_due_us;
	int64_t			 stall_cpu_us;	/* the loop thread's CPU time then */
	int64_t			 stall_floor_us;
	atomic_int		 draining;
	atomic_size_t		 sends_queued;	/* outbox rows posted to the loop, not yet
						   received (outbox_book.c, outbox.c) */
	/* Threads of this process reading the database now (the console's requests,
	 * the daily backup): the checkpointer never holds the writer lock to wait for
	 * their snapshots (store_checkpoint.c). */
	atomic_int		 snapshot_readers;
	int64_t			 drain_deadline_ms;
	int64_t			 started_ms;
	struct daemon_stats	 stats;
	struct log_ratelimit	 rl_sig;	/* http.c: signature failure lines */
};

/* Any thread: fn runs on the loop with the daemon as ctx (mailbox.h). */
static inline void
loop_post(struct daemon *d, mail_fn fn, void *arg)
{
	mailbox_post(d->loop_mail, fn, arg);
}

/* The loop's letters from the storage side. */
/* http/ingest.c: a batch committed (or not): answers its requests. */
void ingest_committed(void *daemon, void *batch);
/* outbound/profile.c: asks LINE for a profile (struct profile_answer with channel and
 * user_id) and posts the answer back to the storage side. */
void profile_fetch(void *daemon, void *answer);
/* http/http_invite.c: a click recorded: answers its request. */
void http_invite_clicked(void *daemon, void *click_job);


#endif
