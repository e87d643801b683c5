/* rep_links.c: for reps whose contact_url is "auto", their LINE WORKS contact link
 * (GET /users/{id}/link-url) is fetched through the notify bot's service account and
 * kept in rep_links: at start, then once a day. Invites read the kept link; until one
 * is fetched they fall back to the branch's or the company's contact. One request at a
 * time: LINE WORKS allows few. A reload may reorder, add or drop reps while a request is
 * out, so a round walks its own list of rep codes, taken when it starts, and each rep is
 * looked up again by code in the current snapshot: a link is never kept by a place in
 * the config's list. */
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
	char		**round;	/* owned: the codes of this round's reps */
	size_t		 nround, next;	/* next: the code to fetch next */
	char		*asked_user;	/* owned: the LINE WORKS id round[next] was asked for */
	int		 busy;
};

static void timer_cb(evutil_socket_t, short, void *);

static void
arm(struct rep_links *rl, int64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(rl->ev_timer, &tv);
}

static void
round_clear(struct rep_links *rl)
{
	for (size_t i = 0; i < rl->nround; i++)
		free(rl->round[i]);
	free(rl->round);
	free(rl->asked_user);
	rl->round = NULL;
	rl->asked_user = NULL;
	rl->nround = rl->next = 0;
}

/* A new round: every rep that wants its link fetched, by code. */
static void
round_start(struct rep_links *rl)
{
	const struct config *cf = rl->d->cfg;

	round_clear(rl);
	rl->round = xcalloc(cf->n_reps + 1, sizeof(*rl->round));
	for (size_t i = 0; i < cf->n_reps; i++)
		if (cf->reps[i].contact_auto && cf->reps[i].works_user_id != NULL)
			rl->round[rl->nround++] = xstrdup(cf->reps[i].code);
}

/* The rep called code in the current snapshot, if it still wants a link. */
static const struct config_rep *
current_rep(const struct rep_links *rl, const char *code)
{
	const struct config_rep *rep = config_rep(rl->d->cfg, code);

	return rep != NULL && rep->contact_auto && rep->works_user_id != NULL ? rep : NULL;
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
	round_clear(rl);
	free(rl);
}

static void fetch_next(struct rep_links *);

static void
fetched(int status, const char *body, size_t len, const char *error, void *arg)
{
	struct rep_links *rl = arg;
	json_t *root = status == 200 ? json_loadb(body, len, 0, NULL) : NULL;
	const char *url = json_string_value(json_object_get(root, "linkUrl"));
	const char *code = rl->round[rl->next];
	const struct config_rep *rep = current_rep(rl, code);

	rl->busy = 0;
	if (rep == NULL || strcmp(rep->works_user_id, rl->asked_user) != 0)
		log_info("msg=\"rep contact link dropped: the rep changed meanwhile\" rep=%s",
		    code);
	else if (url != NULL) {
		struct rep_link_job *job = xcalloc(1, sizeof(*job));

		job->rep_code = xstrdup(code);
		job->url = xstrdup(url);
		job->at = wall_ms();
		storage_post(rl->d->storage, storage_rep_link, job);	/* it logs */
	} else
		log_warnx("msg=\"rep contact link not fetched\" rep=%s status=%d "
		    "reason=\"%s\"", code, status, error ? error : "no linkUrl");
	json_decref(root);
	free(rl->asked_user);
	rl->asked_user = NULL;
	rl->next++;
	fetch_next(rl);
}

/* Asks for the next rep of the round that still wants a link; when none is left,
 * sleeps until the next round. */
static void
fetch_next(struct rep_links *rl)
{
	const struct config *cf = rl->d->cfg;

	if (cf->referral.notify_bot == NULL || rl->d->draining) {
		round_clear(rl);
		arm(rl, REFRESH_MS);
		return;
	}
	for (; rl->next < rl->nround; rl->next++) {
		const struct config_rep *rep = current_rep(rl, rl->round[rl->next]);

		if (rep != NULL) {
			rl->busy = 1;
			rl->asked_user = xstrdup(rep->works_user_id);
			works_api_lookup(rl->d, cf->referral.notify_bot, "link-url",
			    rep->works_user_id, fetched, rl);
			return;
		}
	}
	round_clear(rl);
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
	round_start(rl);
	fetch_next(rl);
}
