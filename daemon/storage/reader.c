/* reader.c: a thread with a read-only connection of its own, for the loop's questions
 * (/healthz today, the console next): they never run on the loop, never wait for the
 * writer's commits and never hold them up. A question is a letter (reader_post) whose
 * function runs here with the reader's store as ctx and posts its answer back to the
 * loop. */
#include <pthread.h>
#include <stdlib.h>

#include <event2/event.h>

#include "storage_internal.h"

struct reader {
	struct event_base	*base;
	pthread_t		 thread;
	struct mailbox		*mail;
	struct store		*store;
	struct event		*ev_log;
};

static void *
thread_main(void *arg)
{
	struct reader *r = arg;

	storage_thread_yields();
	if (event_base_loop(r->base, EVLOOP_NO_EXIT_ON_EMPTY) == -1)
		log_errorx("msg=\"reader loop failed\"");
	log_flush();
	return NULL;
}

struct reader *
reader_start(struct daemon *d, const char *path, char *why, size_t whylen)
{
	struct reader *r = xcalloc(1, sizeof(*r));

	if ((r->store = store_open_reader(path, (int)d->cfg->busy_timeout_ms, why,
	    whylen)) == NULL) {
		free(r);
		return NULL;
	}
	if ((r->base = event_base_new()) == NULL)
		fatalx("%s: event_base_new failed", __func__);
	r->mail = mailbox_new(r->base, 0, r->store, 64);
	r->ev_log = storage_log_flusher(r->base);
	if (pthread_create(&r->thread, NULL, thread_main, r) != 0)
		fatalx("%s: pthread_create failed", __func__);
	return r;
}

void
reader_post(struct reader *r, mail_fn fn, void *arg)
{
	mailbox_post(r->mail, fn, arg);
}

static void
stop_letter(void *ctx, void *arg)
{
	(void)ctx;
	event_base_loopbreak(arg);
}

void
reader_stop(struct reader *r)
{
	if (r == NULL)
		return;
	reader_post(r, stop_letter, r->base);
	pthread_join(r->thread, NULL);
	mailbox_run_all(r->mail);	/* questions still waiting: answered, late */
	mailbox_free(r->mail);
	event_free(r->ev_log);
	event_base_free(r->base);
	store_close(r->store);
	free(r);
}
