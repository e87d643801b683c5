/* storage_jobs.c: the small writes the loop asks the storage side for: a click on an
 * invite link (decided by handlers/referral_click.c, answered back to the loop) and a
 * rep's contact link fetched from LINE WORKS. Storage thread only. */
#include <stdlib.h>

#include "storage_internal.h"
#include "../../handlers/handler.h"

/* Clicks are counts for the funnel: they need not wait for the disk. */
void
storage_click(void *ctx, void *arg)
{
	struct storage *st = ctx;
	struct click_job *job = arg;
	struct handler_ctx hc = { .cfg = st->cfg, .store = st->store, .salt = st->d->salt,
	    .now_ms = wall_ms() };
	struct click_answer to = { 0 };

	if (store_begin_unsynced(st->store) == -1) {
		job->result = CLICK_ERROR;
		job->error = xstrdup(store_errmsg(st->store));
		goto answer;
	}
	job->result = referral_click(&hc, job->code, job->to_rep, job->client_hash, &to);
	if (hc.error != NULL || store_commit(st->store) == -1) {
		job->error = xstrdup(hc.error ? hc.error : store_errmsg(st->store));
		store_rollback(st->store);
	}
	job->url = to.url;
	/* The snapshot's string: the loop may hold another snapshot by the time it reads
	 * this. */
	job->channel = to.channel != NULL ? xstrdup(to.channel) : NULL;
answer:
	loop_post(st->d, http_invite_clicked, job);
}

void
storage_rep_link(void *ctx, void *arg)
{
	struct storage *st = ctx;
	struct rep_link_job *job = arg;

	if (store_rep_link_put(st->store, job->rep_code, job->url, job->at) == 0)
		log_info("msg=\"rep contact link fetched\" rep=%s", job->rep_code);
	else
		log_warnx("msg=\"rep contact link not stored\" rep=%s detail=\"%s\"",
		    job->rep_code, store_errmsg(st->store));
	free(job->rep_code);
	free(job->url);
	free(job);
}

void
storage_rep_member(void *ctx, void *arg)
{
	struct storage *st = ctx;
	struct rep_member_job *job = arg;

	if (store_rep_member_put(st->store, job->login, job->member_id, job->at) == 0)
		log_info("msg=\"rep member id resolved\" login=%s", job->login);
	else
		log_warnx("msg=\"rep member id not stored\" login=%s detail=\"%s\"",
		    job->login, store_errmsg(st->store));
	free(job->login);
	free(job->member_id);
	free(job);
}

/* A call lent to the storage thread: the caller waits on cv for done. */
struct storage_call {
	storage_call_fn	 fn;
	void		*arg;
	int		 rc, done;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
};

static void
call_letter(void *ctx, void *arg)
{
	struct storage *st = ctx;
	struct storage_call *call = arg;
	int rc = call->fn(st->store, st->cfg, call->arg);

	pthread_mutex_lock(&call->mu);
	call->rc = rc;
	call->done = 1;
	pthread_cond_signal(&call->cv);
	pthread_mutex_unlock(&call->mu);
}

int
storage_call(struct storage *st, storage_call_fn fn, void *arg)
{
	struct storage_call call = { .fn = fn, .arg = arg };

	pthread_mutex_init(&call.mu, NULL);
	pthread_cond_init(&call.cv, NULL);
	storage_post(st, call_letter, &call);
	pthread_mutex_lock(&call.mu);
	while (!call.done)
		pthread_cond_wait(&call.cv, &call.mu);
	pthread_mutex_unlock(&call.mu);
	pthread_cond_destroy(&call.cv);
	pthread_mutex_destroy(&call.mu);
	return call.rc;
}
