/* rep_links.c: for reps whose contact_url is "auto", their LINE WORKS contact link
 * (GET /users/{id}/link-url) is fetched through the notify bot's service account and
 * kept in rep_links: at start, then once a day. Invites read the kept link; until one
 * is fetched they fall back to the branch's or the company's contact. One request at a
 * time: LINE WORKS allows few. */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "../shokaid.h"

#define FIRST_DELAY_MS	1000
#define REFRESH_MS	(24LL * 3600 * 1000)
#define RETRY_MS	(10LL * 60 * 1000)

struct rep_links {
	struct daemon	*d;
	struct event	*ev_timer;
	size_t		 next;		/* the rep to fetch next in this round */
	int		 busy;
};

static void timer_cb(evutil_socket_t, short, void *);

static void
arm(struct rep_links *rl, int64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(rl->ev_timer, &tv);
}

struct rep_links *
rep_links_new(struct daemon *d)
{
	struct rep_links *rl = xcalloc(1, sizeof(*rl));

	rl->d = d;
	rl->ev_timer = evtimer_new(d->base, timer_cb, rl);
	event_priority_set(rl->ev_timer, PRIO_BACKGROUND);
	arm(rl, FIRST_DELAY_MS);
	return rl;
}

void
rep_links_free(struct rep_links *rl)
{
	if (rl == NULL)
		return;
	event_free(rl->ev_timer);
	free(rl);
}

static void fetch_next(struct rep_links *);

static void
fetched(int status, const char *body, size_t len, const char *error, void *arg)
{
	struct rep_links *rl = arg;
	const struct config *cf = rl->d->cfg;
	json_t *root = status == 200 ? json_loadb(body, len, 0, NULL) : NULL;
	const char *url = json_string_value(json_object_get(root, "linkUrl"));

	rl->busy = 0;
	if (rl->next < cf->n_reps) {
		const struct config_rep *rep = &cf->reps[rl->next];

		if (url != NULL && store_rep_link_put(rl->d->store, rep->code, url, wall_ms()) == 0)
			log_info("msg=\"rep contact link fetched\" rep=%s", rep->code);
		else
			log_warnx("msg=\"rep contact link not fetched\" rep=%s status=%d "
			    "reason=\"%s\"", rep->code, status, error ? error : "no linkUrl");
	}
	json_decref(root);
	rl->next++;
	fetch_next(rl);
}

/* Asks for the next rep of the round that wants a link; when none is left, sleeps. */
static void
fetch_next(struct rep_links *rl)
{
	const struct config *cf = rl->d->cfg;

	if (cf->referral.notify_bot == NULL || rl->d->draining) {
		rl->next = 0;
		arm(rl, REFRESH_MS);
		return;
	}
	for (; rl->next < cf->n_reps; rl->next++) {
		const struct config_rep *rep = &cf->reps[rl->next];

		if (rep->contact_auto && rep->works_user_id != NULL) {
			rl->busy = 1;
			works_api_lookup(rl->d, cf->referral.notify_bot, "link-url",
			    rep->works_user_id, fetched, rl);
			return;
		}
	}
	rl->next = 0;
	arm(rl, REFRESH_MS);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rep_links *rl = arg;

	(void)fd;
	(void)what;
	if (rl->busy) {
		arm(rl, RETRY_MS);
		return;
	}
	rl->next = 0;
	fetch_next(rl);
}
