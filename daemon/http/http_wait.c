/* http_wait.c: requests waiting for an answer from another thread (the storage side
 * commits a webhook's events, records a click, reads the health figures). The loop
 * parks the request and gets a ticket; only the ticket crosses to the other thread, and
 * the answer comes back with it. If the connection closes first (http_server.c), the
 * request is forgotten: the answer then finds nobody and is dropped, and the request is
 * never touched after its connection is freed. Loop thread only. */
#include <stdlib.h>

#include "../shokaid.h"

struct slot {
	struct http_req	*req;		/* NULL: free, or forgotten */
	uint32_t		 gen;		/* bumped when the slot is reused */
	int			 used;
};

struct http_waits {
	struct slot	*slots;
	uint32_t	*free_idx;	/* a stack of free slots */
	size_t		 cap, nfree, nused;
};

struct http_waits *
http_waits_new(void)
{
	return xcalloc(1, sizeof(struct http_waits));
}

void
http_waits_free(struct http_waits *w)
{
	if (w == NULL)
		return;
	free(w->slots);
	free(w->free_idx);
	free(w);
}

uint64_t
http_wait_park(struct http_waits *w, struct http_req *req)
{
	uint32_t idx;

	if (w->nfree == 0) {
		size_t cap = w->cap ? w->cap * 2 : 256;

		w->slots = xrealloc(w->slots, cap * sizeof(*w->slots));
		w->free_idx = xrealloc(w->free_idx, cap * sizeof(*w->free_idx));
		for (size_t i = cap; i > w->cap; i--) {
			w->slots[i - 1] = (struct slot){ 0 };
			w->free_idx[w->nfree++] = (uint32_t)(i - 1);
		}
		w->cap = cap;
	}
	idx = w->free_idx[--w->nfree];
	w->slots[idx].req = req;
	w->slots[idx].used = 1;
	w->nused++;
	return (uint64_t)w->slots[idx].gen << 32 | idx;
}

struct http_req *
http_wait_take(struct http_waits *w, uint64_t ticket)
{
	uint32_t idx = (uint32_t)ticket, gen = (uint32_t)(ticket >> 32);
	struct http_req *req;

	if (idx >= w->cap || !w->slots[idx].used || w->slots[idx].gen != gen)
		return NULL;
	req = w->slots[idx].req;
	w->slots[idx].req = NULL;
	w->slots[idx].used = 0;
	w->slots[idx].gen++;
	w->free_idx[w->nfree++] = idx;
	w->nused--;
	return req;
}

void
http_wait_forget(struct http_waits *w, struct http_req *req)
{
	for (size_t i = 0; i < w->cap; i++) {
		if (!w->slots[i].used || w->slots[i].req != req)
			continue;
		w->slots[i].req = NULL;		/* the ticket stays out until its answer */
		return;
	}
}

size_t
http_wait_count(const struct http_waits *w)
{
	return w->nused;
}
