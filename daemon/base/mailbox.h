/* mailbox.h: how the daemon's threads hand work to each other. A mailbox belongs to
 * the thread whose event base it wakes; any thread may post to it. A letter is a
 * function and its argument: posting hands the argument to the receiving thread, which
 * runs the function on its own loop, in the order the letters were posted, and the
 * function then owns the argument (frees it or passes it on). Nothing else is shared:
 * the sender must not touch the argument after posting.
 *
 * The lock is held only to link or unlink letters, never while one runs or across I/O;
 * the receiver is woken with event_active (libevent's pthreads locking must be on:
 * evthread_use_pthreads before the bases are made). */
#ifndef SHOKAI_MAILBOX_H
#define SHOKAI_MAILBOX_H

#include <stddef.h>

struct event_base;
struct mailbox;
typedef void (*mail_fn)(void *ctx, void *arg);

/* ctx is passed to every letter's function (the receiving side's own state). At most
 * per_turn letters run per wakeup before the loop looks at its other events again. */
struct mailbox *mailbox_new(struct event_base *receiver, int priority, void *ctx,
    size_t per_turn);
/* Any thread. */
void mailbox_post(struct mailbox *, mail_fn, void *arg);
/* The receiving thread: runs every letter waiting now (and those they post to this
 * same mailbox), for the last turn before a thread stops. Returns how many ran. */
size_t mailbox_run_all(struct mailbox *);
/* Letters still waiting are dropped without running: the caller ran mailbox_run_all
 * first if they matter. */
void mailbox_free(struct mailbox *);

#endif
