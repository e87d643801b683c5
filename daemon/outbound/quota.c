/* quota.c: LINE's monthly message quota, read before an announcement is sent: GET
 * /v2/bot/message/quota (the allowance, or "none") then /quota/consumption (what this
 * month used). shokaictl reads it to refuse at once; in shokaid the storage side asks
 * the loop (quota_fetch) before it starts a scheduled announcement, and the answer
 * comes back to it as a letter. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../shokaid.h"

struct quota_call {
	struct daemon	*d;
	char		*channel;
	struct quota	 q;
	quota_cb	 done;
	void		*arg;
};

static void
finish(struct quota_call *c)
{
	c->done(&c->q, c->arg);
	free(c->channel);
	free(c);
}

/* An answer's JSON, or NULL with the call's error said. */
static json_t *
answer_json(struct quota_call *c, int status, const char *body, size_t len,
    const char *error, const char *what)
{
	json_t *j;

	c->q.status = status;
	if (status != 200) {
		snprintf(c->q.error, sizeof(c->q.error), "%s: %s", what, error ? error :
		    "no answer");
		return NULL;
	}
	if ((j = json_loadb(body, len, 0, NULL)) == NULL || !json_is_object(j)) {
		json_decref(j);
		c->q.status = 0;
		snprintf(c->q.error, sizeof(c->q.error), "%s: the answer is not a JSON object",
		    what);
		return NULL;
	}
	return j;
}

static void
on_consumption(int status, const char *body, size_t len, const char *error, void *arg)
{
	struct quota_call *c = arg;
	json_t *j = answer_json(c, status, body, len, error, "quota/consumption");
	json_t *used = j ? json_object_get(j, "totalUsage") : NULL;

	if (j != NULL && !json_is_integer(used)) {
		c->q.status = 0;
		snprintf(c->q.error, sizeof(c->q.error), "quota/consumption: no totalUsage");
	} else if (j != NULL)
		c->q.used = json_integer_value(used);
	json_decref(j);
	finish(c);
}

static void
on_quota(int status, const char *body, size_t len, const char *error, void *arg)
{
	struct quota_call *c = arg;
	json_t *j = answer_json(c, status, body, len, error, "quota");
	const char *type = j ? json_string_value(json_object_get(j, "type")) : NULL;
	json_t *value = j ? json_object_get(j, "value") : NULL;

	if (j == NULL) {
		finish(c);
		return;
	}
	if (type != NULL && strcmp(type, "none") == 0)
		c->q.limit = -1;
	else if (type != NULL && strcmp(type, "limited") == 0 && json_is_integer(value))
		c->q.limit = json_integer_value(value);
	else {
		c->q.status = 0;
		snprintf(c->q.error, sizeof(c->q.error), "quota: neither type none nor limited "
		    "with a value");
		json_decref(j);
		finish(c);
		return;
	}
	json_decref(j);
	line_api_call(c->d, c->channel, LINE_HOST_API, "GET",
	    "/v2/bot/message/quota/consumption", NULL, NULL, 0, on_consumption, c);
}

void
quota_read(struct daemon *d, const char *channel, quota_cb done, void *arg)
{
	struct quota_call *c = xcalloc(1, sizeof(*c));

	c->d = d;
	c->channel = xstrdup(channel);
	c->done = done;
	c->arg = arg;
	line_api_call(d, channel, LINE_HOST_API, "GET", "/v2/bot/message/quota", NULL, NULL,
	    0, on_quota, c);
}

int64_t
quota_remaining(const struct quota *q)
{
	if (q->limit < 0)
		return -1;
	return q->limit > q->used ? q->limit - q->used : 0;
}

int
quota_allows(const struct quota *q, int64_t recipients, char *why, size_t whylen)
{
	int64_t left = quota_remaining(q);

	if (left < 0 || recipients <= left)
		return 1;
	snprintf(why, whylen, "LINE's message quota has %lld messages left this month "
	    "(limit %lld, used %lld); the segment has %lld recipients", (long long)left,
	    (long long)q->limit, (long long)q->used, (long long)recipients);
	return 0;
}

static void
fetched_for_storage(const struct quota *q, void *arg)
{
	struct quota_job *job = arg;

	job->q = *q;
	storage_post(job->daemon->storage, storage_announce_quota, job);
}

void
quota_fetch(void *ctx, void *arg)
{
	struct daemon *d = ctx;
	struct quota_job *job = arg;

	job->daemon = d;
	if (d->storage == NULL) {	/* stopped: nobody waits for it */
		free(job->channel);
		free(job);
		return;
	}
	if (d->draining) {		/* no new requests: the storage side asks again later */
		job->q.status = 0;
		snprintf(job->q.error, sizeof(job->q.error), "draining");
		storage_post(d->storage, storage_announce_quota, job);
		return;
	}
	quota_read(d, job->channel, fetched_for_storage, job);
}
