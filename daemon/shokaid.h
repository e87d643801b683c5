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

struct event_base;
struct sqlite3;
struct json_t;

/* The daemon context: everything the running process owns, reachable from one place.
 * Set up in main.c; each field's owner is the file named beside it. */
struct http_guard;
struct ingest;
struct dispatch;
struct evhttp;
struct event;
struct daemon_stats {
	uint64_t	requests;
	uint64_t	sig_failures;
	uint64_t	events_stored;
	uint64_t	events_duplicate;
	uint64_t	events_unknown;
	uint64_t	quarantined;
	uint64_t	db_errors;
	uint64_t	json_parse_calls;
	uint64_t	reloads;
	uint64_t	reload_failures;
	uint64_t	events_done;
	uint64_t	events_failed;
	uint64_t	events_skipped;
	uint64_t	coupon_pool_empty;	/* rewards that found their pool empty */
	uint64_t	reward_batches;		/* rewards ticks that found work and committed */
	uint64_t	outbox_unknown;		/* replies that may or may not have arrived */
	uint64_t	dispatch_fault_holds;	/* kicks SHOKAI_FAULT=no_dispatch refused */
	int64_t		loop_max_stall_us;
};
/* The loop's priorities. Background work is cut into slices of at most
 * BACKGROUND_SLICE_US, after which the loop looks for new I/O again, so a burst of
 * outbound completions or a commit queue cannot hold a webhook back for long. */
enum {
	PRIO_FIRST,		/* attaching new connections to their guards */
	PRIO_IO,		/* webhooks and timers: libevent's default */
	PRIO_BACKGROUND,	/* group commit, dispatch, the outbox and its HTTP traffic */
	PRIO_COUNT
};
#define BACKGROUND_SLICE_US	500

struct daemon {
	struct event_base	*base;
	struct config		*cfg;		/* main.c: current snapshot; swapped on SIGHUP */
	char			*config_path;
	struct store		*store;		/* store.c */
	struct store_checkpointer *checkpointer;
	struct evhttp		*http;		/* http.c */
	struct http_guard	*guard;		/* http_guard.c */
	struct ingest		*ingest;	/* ingest.c */
	struct dispatch		*dispatch;	/* dispatch.c */
	struct http_client	*http_client;	/* http_client.c */
	struct outbox		*outbox;	/* outbox.c */
	struct works_tokens	*works_tokens;	/* works_api.c */
	struct http_invite	*http_invite;	/* http_invite.c: per-client rate limits */
	struct reward_tick	*reward_tick;	/* reward_tick.c */
	struct rep_links	*rep_links;	/* rep_links.c */
	unsigned char		 salt[SALT_LEN];	/* the database's secret: pseudonyms, hashes */
	struct event		*ev_signals[4];	/* main.c */
	struct event		*ev_flush;
	struct event		*ev_drain;
	struct event		*ev_storage;	/* main.c: store_watch */
	struct event		*ev_stall;
	int64_t			 stall_due_us;
	int64_t			 stall_floor_us;
	int			 draining;
	int64_t			 drain_deadline_ms;
	int64_t			 started_ms;
	struct daemon_stats	 stats;
	struct log_ratelimit	 rl_sig;	/* http.c: signature failure lines */
};

/* reward_tick.c: approves and issues due rewards on a timer (handlers decide). */
struct reward_tick;
struct reward_tick *reward_tick_new(struct daemon *);
void reward_tick_free(struct reward_tick *);

/* dispatch.c: takes pending inbox rows to handlers, off the request path. */
struct dispatch *dispatch_new(struct daemon *);
void dispatch_kick(struct dispatch *);
void dispatch_free(struct dispatch *);


#endif
