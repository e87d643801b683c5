/* mailbox.c: a FIFO of letters under a mutex, and an event on the receiver's base
 * that runs them (see mailbox.h for who owns what). */
#include <pthread.h>
#include <stdlib.h>

#include <event2/event.h>

#include "base.h"
#include "mailbox.h"

struct letter {
	struct letter	*next;
	mail_fn		 fn;
	void		*arg;
};

struct mailbox {
	pthread_mutex_t	 lock;		/* head, tail, woken */
	struct letter	*head, *tail;
	int		 woken;		/* the event is active: no need to wake it again */
	struct event	*ev;
	void		*ctx;
	size_t		 per_turn;
};

static void deliver_cb(evutil_socket_t, short, void *);

struct mailbox *
mailbox_new(struct event_base *receiver, int priority, void *ctx, size_t per_turn)
{
	struct mailbox *mb = xcalloc(1, sizeof(*mb));

	if (pthread_mutex_init(&mb->lock, NULL) != 0)
		fatalx("%s: pthread_mutex_init failed", __func__);
	mb->ctx = ctx;
	mb->per_turn = per_turn > 0 ? per_turn : 1;
	mb->ev = event_new(receiver, -1, 0, deliver_cb, mb);
	if (mb->ev == NULL)
		fatalx("%s: event_new failed", __func__);
	event_priority_set(mb->ev, priority);
	return mb;
}

void
mailbox_post(struct mailbox *mb, mail_fn fn, void *arg)
{
	struct letter *l = xmalloc(sizeof(*l));
	int wake;

	l->next = NULL;
	l->fn = fn;
	l->arg = arg;
	pthread_mutex_lock(&mb->lock);
	if (mb->tail != NULL)
		mb->tail->next = l;
	else
		mb->head = l;
	mb->tail = l;
	wake = !mb->woken;
	mb->woken = 1;
	pthread_mutex_unlock(&mb->lock);
	if (wake)
		event_active(mb->ev, 0, 0);
}

/* Unlinks up to max letters, oldest first; *more says whether any are left. */
static struct letter *
take(struct mailbox *mb, size_t max, int *more)
{
	struct letter *first, *last;
	size_t n = 1;

	pthread_mutex_lock(&mb->lock);
	first = last = mb->head;
	if (first != NULL) {
		while (n < max && last->next != NULL) {
			last = last->next;
			n++;
		}
		mb->head = last->next;
		if (mb->head == NULL)
			mb->tail = NULL;
		last->next = NULL;
	}
	*more = mb->head != NULL;
	if (!*more)
		mb->woken = 0;
	pthread_mutex_unlock(&mb->lock);
	return first;
}

static size_t
run(struct mailbox *mb, struct letter *l)
{
	size_t n = 0;

	while (l != NULL) {
		struct letter *next = l->next;

		l->fn(mb->ctx, l->arg);
		free(l);
		l = next;
		n++;
	}
	return n;
}

static void
deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mailbox *mb = arg;
	int more;

	(void)fd;
	(void)what;
	run(mb, take(mb, mb->per_turn, &more));
	/* The rest waits for the next turn, so new I/O is looked at in between. */
	if (more)
		event_active(mb->ev, 0, 0);
}

size_t
mailbox_run_all(struct mailbox *mb)
{
	size_t n = 0;
	int more = 1;

	while (more)
		n += run(mb, take(mb, (size_t)-1, &more));
	return n;
}

void
mailbox_free(struct mailbox *mb)
{
	int more = 1;

	if (mb == NULL)
		return;
	while (more) {
		struct letter *l = take(mb, (size_t)-1, &more);

		while (l != NULL) {
			struct letter *next = l->next;

			free(l);
			l = next;
		}
	}
	event_free(mb->ev);
	pthread_mutex_destroy(&mb->lock);
	free(mb);
}
