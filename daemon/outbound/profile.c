/* profile.c: LINE display names. In shokaid the storage side decides which names a
 * batch needs and caches the answers (storage/dispatch.c); the loop only asks LINE
 * (profile_fetch). shokaictl profile uses profile_lookup: a fresh cached profile answers
 * at once; otherwise LINE's profile API is asked and the answer cached. A 404 (the user
 * blocked the account, or never was a friend) is cached too, for a shorter time, and
 * answered as "no name". */
#include <stdlib.h>
#include <string.h>

#include "../shokaid.h"

#define PROFILE_FRESH_MS	(24LL * 3600 * 1000)
#define NOT_FOUND_FRESH_MS	(3600LL * 1000)

struct lookup {
	struct daemon	*d;
	char		*channel;
	char		*user_id;
	struct profile	 stale;		/* served if LINE cannot be reached */
	int		 have_stale;
	profile_cb	 cb;
	void		*arg;
};

static void
on_fetched(int status, const struct profile *p, const char *error, void *arg)
{
	struct lookup *lk = arg;
	char user[16];

	log_user(lk->user_id, user);
	if (status == 200 || status == 404) {
		struct profile store_p = *p;

		store_p.found = status == 200;
		if (store_profile_put(lk->d->store, lk->channel, lk->user_id, &store_p) == -1)
			log_warnx("msg=\"cannot cache a profile\" user=%s", user);
		lk->cb(status == 200 ? p : NULL, lk->arg);
	} else {
		log_warnx("msg=\"profile lookup failed\" channel=%s user=%s status=%d "
		    "reason=\"%s\" stale=%d", lk->channel, user, status, error ? error : "-",
		    lk->have_stale);
		lk->cb(lk->have_stale && lk->stale.found ? &lk->stale : NULL, lk->arg);
	}
	profile_clear(&lk->stale);
	free(lk->channel);
	free(lk->user_id);
	free(lk);
}

int
profile_fresh(const struct profile *p, int64_t now)
{
	return now - p->fetched_at < (p->found ? PROFILE_FRESH_MS : NOT_FOUND_FRESH_MS);
}

void
profile_lookup(struct daemon *d, const char *channel, const char *user_id, profile_cb cb,
    void *arg)
{
	struct lookup *lk;
	struct profile cached;
	int have = store_profile_get(d->store, channel, user_id, &cached);

	if (have == 1 && profile_fresh(&cached, wall_ms())) {
		cb(cached.found ? &cached : NULL, arg);
		profile_clear(&cached);
		return;
	}
	lk = xcalloc(1, sizeof(*lk));
	lk->d = d;
	lk->channel = xstrdup(channel);
	lk->user_id = xstrdup(user_id);
	lk->cb = cb;
	lk->arg = arg;
	if (have == 1) {
		lk->stale = cached;
		lk->have_stale = 1;
	}
	line_api_get_profile(d, channel, user_id, on_fetched, lk);
}

static void
fetched_for_storage(int status, const struct profile *p, const char *error, void *arg)
{
	struct profile_answer *a = arg;
	struct daemon *d = a->daemon;

	a->status = status;
	/* When LINE answered: what makes the cached copy fresh or stale. */
	a->profile.fetched_at = p != NULL && p->fetched_at != 0 ? p->fetched_at : wall_ms();
	if (status == 200 && p != NULL) {
		a->profile.display_name = p->display_name ? xstrdup(p->display_name) : NULL;
		a->profile.picture_url = p->picture_url ? xstrdup(p->picture_url) : NULL;
		a->profile.language = p->language ? xstrdup(p->language) : NULL;
	} else if (status != 404) {
		char user[16];

		log_user(a->user_id, user);
		log_warnx("msg=\"profile lookup failed\" channel=%s user=%s status=%d "
		    "reason=\"%s\"", a->channel, user, status, error ? error : "-");
	}
	storage_post(d->storage, storage_profile_answer, a);
}

void
profile_fetch(void *ctx, void *arg)
{
	struct daemon *d = ctx;
	struct profile_answer *a = arg;

	a->daemon = d;
	if (d->storage == NULL) {	/* stopped: nobody waits for the name */
		free(a->channel);
		free(a->user_id);
		free(a);
		return;
	}
	if (d->draining) {		/* no new requests: the batch runs without it */
		a->status = 0;
		storage_post(d->storage, storage_profile_answer, a);
		return;
	}
	if (a->loading)
		line_api_loading_start(d, a->channel, a->user_id);
	line_api_get_profile(d, a->channel, a->user_id, fetched_for_storage, a);
}
