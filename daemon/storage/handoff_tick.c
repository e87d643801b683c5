/* handoff_tick.c: handoffs and conversations over time, on the storage thread. Every
 * few seconds, open handoffs past their quiet time expire (the bot answers again) and
 * those nobody answered by their escalation time go to the branch's managers
 * (handlers/handoff.c decides both), in one transaction per batch. The conversations'
 * old text goes with the daily upkeep (upkeep_tick.c). Storage thread only. */
#include <event2/event.h>
#include <jansson.h>

#include "storage_internal.h"
#include "../../handlers/handler.h"

#define TICK_MS			1000
#define BATCH			64

struct handoff_tick {
	struct storage	*st;
	struct event	*ev_tick;
};

static void
due(struct handoff_tick *ht, int64_t now)
{
	struct storage *st = ht->st;
	json_t *rows = NULL, *row;
	size_t i;
	int ok = 1, moved = 0;

	if (store_handoffs_due(st->store, now, BATCH, &rows) == -1 ||
	    json_array_size(rows) == 0)
		goto done;
	if (store_begin(st->store) == -1)
		goto done;
	json_array_foreach(rows, i, row) {
		struct handler_ctx hc = { .cfg = st->cfg, .store = st->store,
		    .salt = st->d->salt, .now_ms = now };
		int rc = handoff_due(&hc, row);

		if (rc == -1) {
			ok = 0;
			break;
		}
		moved += rc;
	}
	if (!ok || store_commit(st->store) == -1) {
		store_rollback(st->store);
		st->d->stats.db_errors++;
		log_warnx("msg=\"handoffs could not be moved; retrying\"");
	} else if (moved > 0)
		storage_outbox_kick(st);
done:
	json_decref(rows);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct handoff_tick *ht = arg;
	int64_t now = wall_ms();

	(void)fd;
	(void)what;
	if (ht->st->d->draining)
		return;
	due(ht, now);
}

struct handoff_tick *
handoff_tick_new(struct storage *st)
{
	struct handoff_tick *ht = xcalloc(1, sizeof(*ht));
	struct timeval tv = { TICK_MS / 1000, (TICK_MS % 1000) * 1000 };

	ht->st = st;
	ht->ev_tick = event_new(st->base, -1, EV_PERSIST, tick_cb, ht);
	evtimer_add(ht->ev_tick, &tv);
	return ht;
}

void
handoff_tick_free(struct handoff_tick *ht)
{
	if (ht == NULL)
		return;
	event_free(ht->ev_tick);
	free(ht);
}
