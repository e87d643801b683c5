/* storage.c: the storage thread: its loop, its mailbox, the write connection it owns,
 * the config snapshot it runs on, the storage watch, and its orderly stop. See
 * storage.h for what the loop and this thread share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "storage_internal.h"

/* Letters run together per wakeup: each only queues work or writes a little. */
#define LETTERS_PER_TURN	1024

void
storage_post(struct storage *st, mail_fn fn, void *arg)
{
	mailbox_post(st->mail, fn, arg);
}

void
storage_publish_health(struct storage *st)
{
	const char *why = store_health(st->store);

	pthread_mutex_lock(&st->health_lock);
	snprintf(st->health, sizeof(st->health), "%s", why != NULL ? why : "");
	pthread_mutex_unlock(&st->health_lock);
}

int
storage_synchronous(const struct storage *st)
{
	return st->synchronous;
}

int
storage_health(struct storage *st, char *buf, size_t len)
{
	int n;

	pthread_mutex_lock(&st->health_lock);
	n = snprintf(buf, len, "%s", st->health);
	pthread_mutex_unlock(&st->health_lock);
	return n;
}

/* Storage that stopped being writable (or was deleted) under the running daemon: see
 * store_health.c. */
static void
watch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct storage *st = arg;

	(void)fd;
	(void)what;
	store_watch(st->store);
	storage_publish_health(st);
}

static void
config_letter(void *ctx, void *arg)
{
	struct storage *st = ctx;
	struct config *cf = arg;

	config_unref(st->cfg);
	st->cfg = cf;
	store_set_busy_timeout(st->store, (int)cf->busy_timeout_ms);
}

void
storage_set_config(struct storage *st, struct config *cf)
{
	storage_post(st, config_letter, config_ref(cf));
}

/* This thread's log lines (log.c batches them per thread). */
static void
log_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	log_flush();
}

struct event *
storage_log_flusher(struct event_base *base)
{
	struct timeval tv = { 0, LOG_FLUSH_MS * 1000 };
	struct event *ev = event_new(base, -1, EV_PERSIST, log_flush_cb, NULL);

	if (ev == NULL || evtimer_add(ev, &tv) == -1)
		fatalx("%s: cannot arm the log flush timer", __func__);
	return ev;
}

static void *
thread_main(void *arg)
{
	struct storage *st = arg;

	thread_sched_yield_to_loop();
	/* Stored events not yet processed go first; so do outbound messages that were
	 * due or in flight before a crash or stop. */
	storage_dispatch_kick(st);
	storage_outbox_kick(st);
	if (event_base_loop(st->base, EVLOOP_NO_EXIT_ON_EMPTY) == -1)
		log_errorx("msg=\"storage loop failed\"");
	log_flush();
	return NULL;
}

struct storage *
storage_start(struct daemon *d, struct store *s, struct config *cfg)
{
	struct storage *st = xcalloc(1, sizeof(*st));
	struct timeval watch_tv = { 0, STORE_WATCH_MS * 1000 };

	st->d = d;
	st->store = s;
	st->cfg = config_ref(cfg);
	st->synchronous = store_synchronous(s);
	if (pthread_mutex_init(&st->health_lock, NULL) != 0)
		fatalx("%s: pthread_mutex_init failed", __func__);
	if ((st->base = event_base_new()) == NULL)
		fatalx("%s: event_base_new failed", __func__);
	/* One priority: letters, commits, dispatch and the outbox run in the order they
	 * became due, so none can starve another under a steady load. */
	st->mail = mailbox_new(st->base, 0, st, LETTERS_PER_TURN);
	storage_ingest_init(st);
	storage_sync_init(st);
	st->dispatch = dispatch_new(st);
	st->book = outbox_book_new(st);
	st->tick = reward_tick_new(st);
	st->handoffs = handoff_tick_new(st);
	st->announce = announce_tick_new(st);
	st->followup = followup_tick_new(st);
	st->upkeep = upkeep_tick_new(st);
	st->ev_log = storage_log_flusher(st->base);
	st->ev_watch = event_new(st->base, -1, EV_PERSIST, watch_cb, st);
	evtimer_add(st->ev_watch, &watch_tv);
	storage_publish_health(st);
	if (pthread_create(&st->thread, NULL, thread_main, st) != 0)
		fatalx("%s: pthread_create failed", __func__);
	st->started = 1;
	return st;
}

/* Every letter posted before this one has run; what they queued is committed by
 * storage_stop once the thread is gone. */
static void
stop_letter(void *ctx, void *arg)
{
	struct storage *st = ctx;

	(void)arg;
	event_base_loopbreak(st->base);
}

void
storage_stop(struct storage *st)
{
	if (st == NULL)
		return;
	if (st->started) {
		storage_post(st, stop_letter, NULL);
		pthread_join(st->thread, NULL);
	}
	/* The thread is gone: what is left runs here, on the same connection, and what
	 * the letters queued is committed now, not left to a turn that will not come. */
	mailbox_run_all(st->mail);
	storage_ingest_flush(st);
	outbox_book_flush(st->book);
	storage_sync_finish(st);
	reward_tick_free(st->tick);
	handoff_tick_free(st->handoffs);
	announce_tick_free(st->announce);
	followup_tick_free(st->followup);
	upkeep_tick_free(st->upkeep);
	outbox_book_free(st->book);
	dispatch_free(st->dispatch);
	event_free(st->ev_watch);
	event_free(st->ev_log);
	event_free(st->ev_commit);
	mailbox_free(st->mail);
	event_base_free(st->base);
	store_close(st->store);
	config_unref(st->cfg);
	pthread_mutex_destroy(&st->health_lock);
	free(st);
}
