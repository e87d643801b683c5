/* rep_links.c: what the LINE WORKS directory says of each rep, fetched through the
 * notify bot's service account at start, then once a day:
 * - for reps whose contact_url is "auto", their contact link (GET /users/{id}/link-url),
 *   kept in rep_links. Invites read the kept link; until one is fetched they fall back
 *   to the branch's or the company's contact;
 * - for reps listed by login e-mail, their member id (GET /users/{email}), kept in
 *   rep_members: callbacks carry the member id, and referral_rep.c knows the rep by it.
 * One request at a time: LINE WORKS allows few. A reload may reorder, add or drop reps
 * while a request is out, so a round walks its own list of (rep code, what), taken when
 * it starts, and each rep is looked up again by code in the current snapshot: nothing
 * is ever kept by a place in the config's list. */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "../shokaid.h"

#define FIRST_DELAY_MS	1000
#define REFRESH_MS	(24LL * 3600 * 1000)
#define RETRY_MS	(10LL * 60 * 1000)

enum ask { ASK_LINK, ASK_MEMBER };
struct ask_item {
	char		*code;		/* owned: the rep's code */
	enum ask	 what;
};
struct rep_links {
	struct daemon	*d;
	struct event	*ev_timer;
	struct ask_item	*round;		/* owned: this round's questions */
	size_t		 nround, next;	/* next: the question to ask next */
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
		free(rl->round[i].code);
	free(rl->round);
	free(rl->asked_user);
	rl->round = NULL;
	rl->asked_user = NULL;
	rl->nround = rl->next = 0;
}

/* Whether rep wants the answer to what: a link when its contact is "auto", a member
 * id when it is listed by login e-mail. */
static int
wants(const struct config_rep *rep, enum ask what)
{
	if (rep == NULL || rep->works_user_id == NULL)
		return 0;
	return what == ASK_LINK ? rep->contact_auto : strchr(rep->works_user_id, '@') != NULL;
}

/* A new round: every question some rep wants answered, by code. */
static void
round_start(struct rep_links *rl)
{
	const struct config *cf = rl->d->cfg;

	round_clear(rl);
	rl->round = xcalloc(2 * cf->n_reps + 1, sizeof(*rl->round));
	for (size_t i = 0; i < cf->n_reps; i++)
		for (enum ask what = ASK_LINK; what <= ASK_MEMBER; what++)
			if (wants(&cf->reps[i], what))
				rl->round[rl->nround++] = (struct ask_item){
				    xstrdup(cf->reps[i].code), what };
}

/* The rep of a question in the current snapshot, if it still wants the answer. */
static const struct config_rep *
current_rep(const struct rep_links *rl, const struct ask_item *q)
{
	const struct config_rep *rep = config_rep(rl->d->cfg, q->code);

	return wants(rep, q->what) ? rep : NULL;
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
keep_link(struct rep_links *rl, const char *code, json_t *root, int status,
    const char *error)
{
	const char *url = json_string_value(json_object_get(root, "linkUrl"));
	struct rep_link_job *job;

	if (url == NULL) {
		log_warnx("msg=\"rep contact link not fetched\" rep=%s status=%d "
		    "reason=\"%s\"", code, status, error ? error : "no linkUrl");
		return;
	}
	job = xcalloc(1, sizeof(*job));
	job->rep_code = xstrdup(code);
	job->url = xstrdup(url);
	job->at = wall_ms();
	storage_post(rl->d->storage, storage_rep_link, job);	/* it logs */
}

static void
keep_member(struct rep_links *rl, const char *code, json_t *root, int status,
    const char *error)
{
	const char *id = json_string_value(json_object_get(root, "userId"));
	struct rep_member_job *job;

	if (id == NULL) {
		log_warnx("msg=\"rep member id not resolved: callbacks from this rep will not "
		    "be recognised\" rep=%s login=%s status=%d reason=\"%s\"", code,
		    rl->asked_user, status, error ? error : "no userId");
		return;
	}
	job = xcalloc(1, sizeof(*job));
	job->login = xstrdup(rl->asked_user);
	job->member_id = xstrdup(id);
	job->at = wall_ms();
	storage_post(rl->d->storage, storage_rep_member, job);	/* it logs */
}

static void
fetched(int status, const char *body, size_t len, const char *error, void *arg)
{
	struct rep_links *rl = arg;
	json_t *root = status == 200 ? json_loadb(body, len, 0, NULL) : NULL;
	const struct ask_item *q = &rl->round[rl->next];
	const struct config_rep *rep = current_rep(rl, q);

	rl->busy = 0;
	if (rep == NULL || strcmp(rep->works_user_id, rl->asked_user) != 0)
		log_info("msg=\"LINE WORKS answer for a rep dropped: the rep changed "
		    "meanwhile\" rep=%s", q->code);
	else if (q->what == ASK_LINK)
		keep_link(rl, q->code, root, status, error);
	else
		keep_member(rl, q->code, root, status, error);
	json_decref(root);
	free(rl->asked_user);
	rl->asked_user = NULL;
	rl->next++;
	fetch_next(rl);
}

/* Asks the round's next question that some rep still wants answered; when none is
 * left, sleeps until the next round. */
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
		const struct ask_item *q = &rl->round[rl->next];
		const struct config_rep *rep = current_rep(rl, q);

		if (rep != NULL) {
			rl->busy = 1;
			rl->asked_user = xstrdup(rep->works_user_id);
			works_api_lookup(rl->d, cf->referral.notify_bot,
			    q->what == ASK_LINK ? "link-url" : "user", rep->works_user_id,
			    fetched, rl);
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
