/* sim_ctl.c: the control API under /_sim/ (no authentication; loopback only): read
 * the recorded requests and counters, reset, queue fault rules, set user profiles,
 * revoke LINE WORKS tokens. Also owns the fault rules themselves. */
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "sim.h"

static const char *mode_names[] = {
	[FAULT_STATUS] = "status",
	[FAULT_SLEEP] = "sleep",
	[FAULT_DROP] = "drop",
	[FAULT_ACCEPT_THEN_STATUS] = "accept_then_500",
	[FAULT_ACCEPT_THEN_DROP] = "accept_then_drop",
};

const char *
ctl_fault_mode_name(enum fault_mode m)
{
	return mode_names[m];
}

void
ctl_fault_free(struct sim_fault *f)
{
	if (f == NULL)
		return;
	free(f->path);
	free(f->method);
	json_decref(f->headers);
	free(f->body);
	free(f);
}

void
ctl_faults_clear(struct sim *s)
{
	while (s->faults != NULL) {
		struct sim_fault *f = s->faults;

		s->faults = f->next;
		ctl_fault_free(f);
	}
	s->nfaults = 0;
}

static struct sim_fault *
fault_copy(const struct sim_fault *f)
{
	struct sim_fault *c = xcalloc(1, sizeof(*c));

	*c = *f;
	c->path = xstrdup(f->path);
	c->method = f->method ? xstrdup(f->method) : NULL;
	c->headers = json_incref(f->headers);
	c->body = f->body ? xstrdup(f->body) : NULL;
	c->next = NULL;
	return c;
}

struct sim_fault *
ctl_fault_take(struct sim *s, const char *method, const char *path)
{
	struct sim_fault **pp, *f, *hit;

	for (pp = &s->faults; (f = *pp) != NULL; pp = &f->next) {
		if (strncmp(path, f->path, strlen(f->path)) != 0)
			continue;
		if (f->method != NULL && strcmp(f->method, method) != 0)
			continue;
		hit = fault_copy(f);
		if (f->count > 0 && --f->count == 0) {
			*pp = f->next;
			ctl_fault_free(f);
			s->nfaults--;
		}
		return hit;
	}
	return NULL;
}

static json_t *
fault_json(const struct sim_fault *f)
{
	json_t *j = json_pack("{s:s, s:s, s:I}", "path", f->path, "mode",
	    mode_names[f->mode], "count", (json_int_t)f->count);

	if (f->method != NULL)
		json_object_set_new(j, "method", json_string(f->method));
	if (f->mode != FAULT_SLEEP && f->mode != FAULT_DROP && f->mode !=
	    FAULT_ACCEPT_THEN_DROP)
		json_object_set_new(j, "status", json_integer(f->status));
	if (f->mode == FAULT_SLEEP)
		json_object_set_new(j, "ms", json_integer(f->ms));
	if (f->headers != NULL)
		json_object_set(j, "headers", f->headers);
	if (f->body != NULL)
		json_object_set_new(j, "body", json_string(f->body));
	return j;
}

/* An integer member within [lo, hi], or def when absent. */
static int
int_member(json_t *o, const char *key, long def, long lo, long hi, long *out,
    const char **why)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL) {
		*out = def;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		*why = key;
		return -1;
	}
	*out = (long)json_integer_value(v);
	return 0;
}

/* Fills f from a fault rule; returns NULL or the name of the bad member. */
static const char *
fault_parse(json_t *j, struct sim_fault *f)
{
	const char *path = json_string_value(json_object_get(j, "path"));
	const char *mode = json_string_value(json_object_get(j, "mode"));
	const char *method = json_string_value(json_object_get(j, "method"));
	const char *body = json_string_value(json_object_get(j, "body"));
	json_t *headers = json_object_get(j, "headers"), *v;
	const char *k, *why = NULL;
	long status = 0, count = 0, ms = 0;

	if (path == NULL || path[0] != '/' || strlen(path) > 512 ||
	    strncmp(path, "/_sim/", 6) == 0)
		return "path";
	if (mode == NULL || strcmp(mode, "status") == 0)
		f->mode = FAULT_STATUS;
	else if (strcmp(mode, "sleep") == 0)
		f->mode = FAULT_SLEEP;
	else if (strcmp(mode, "drop") == 0)
		f->mode = FAULT_DROP;
	else if (strcmp(mode, "accept_then_500") == 0)
		f->mode = FAULT_ACCEPT_THEN_STATUS;
	else if (strcmp(mode, "accept_then_drop") == 0)
		f->mode = FAULT_ACCEPT_THEN_DROP;
	else
		return "mode";
	if (int_member(j, "status", 500, 100, 599, &status, &why) == -1 ||
	    int_member(j, "count", 1, -1, SIM_MAX_FAULT_COUNT, &count, &why) == -1 ||
	    int_member(j, "ms", 0, 0, SIM_MAX_SLEEP_MS, &ms, &why) == -1)
		return why;
	if (f->mode == FAULT_STATUS && json_object_get(j, "status") == NULL)
		return "status";
	if (f->mode == FAULT_SLEEP && json_object_get(j, "ms") == NULL)
		return "ms";
	if (count == 0)
		return "count";
	if ((json_object_get(j, "method") != NULL && method == NULL))
		return "method";
	if ((json_object_get(j, "body") != NULL && body == NULL))
		return "body";
	if (headers != NULL && !json_is_object(headers))
		return "headers";
	json_object_foreach(headers, k, v) {
		const char *val = json_string_value(v);

		if (val == NULL || strpbrk(val, "\r\n") != NULL || k[0] == '\0' ||
		    strpbrk(k, " :\r\n") != NULL)
			return "headers";
	}
	f->path = xstrdup(path);
	f->method = method ? xstrdup(method) : NULL;
	f->status = (int)status;
	f->count = count;
	f->ms = (int)ms;
	f->headers = json_incref(headers);
	f->body = body ? xstrdup(body) : NULL;
	return NULL;
}

/* POST /_sim/fault {"path", "status"|"mode", "count", "ms", "headers", "body",
 * "method"}: appended after the rules already queued. */
static void
fault_add(struct sim_req *rq)
{
	struct sim *s = rq->sim;
	struct sim_fault *f, **pp;
	const char *why;
	json_t *j;
	char msg[256];

	if ((j = serve_body_json(rq, SIM_MAX_STATE_BODY)) == NULL)
		return;
	if (s->nfaults >= SIM_MAX_FAULTS) {
		snprintf(msg, sizeof(msg), "too many fault rules (limit %d); POST /_sim/reset",
		    SIM_MAX_FAULTS);
		serve_error(rq, 400, msg);
		goto done;
	}
	f = xcalloc(1, sizeof(*f));
	if ((why = fault_parse(j, f)) != NULL) {
		ctl_fault_free(f);
		snprintf(msg, sizeof(msg), "bad \"%s\": a rule is {\"path\": \"/v2/...\", "
		    "\"status\": 100..599} or {\"path\", \"mode\": sleep|drop|accept_then_500|"
		    "accept_then_drop}, with \"count\" 1..%d or -1, \"ms\" 0..%d, "
		    "\"headers\" {name: string}, \"body\" string, \"method\" string",
		    why, SIM_MAX_FAULT_COUNT, SIM_MAX_SLEEP_MS);
		serve_error(rq, 400, msg);
		goto done;
	}
	for (pp = &s->faults; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = f;
	s->nfaults++;
	serve_json(rq, 200, json_pack("{s:b, s:o, s:i}", "ok", 1, "fault", fault_json(f),
	    "faults", s->nfaults));
done:
	json_decref(j);
}

static void
faults_list(struct sim_req *rq)
{
	json_t *a = json_array();

	for (struct sim_fault *f = rq->sim->faults; f != NULL; f = f->next)
		json_array_append_new(a, fault_json(f));
	serve_json(rq, 200, a);
}

/* GET /_sim/requests[?since=N]: every recorded request after seq N, oldest first. */
static void
requests_list(struct sim_req *rq)
{
	json_t *out = json_array(), *r;
	long long since = 0;
	size_t i;

	if (rq->query != NULL && strncmp(rq->query, "since=", 6) == 0)
		since = strtoll(rq->query + 6, NULL, 10);
	json_array_foreach(rq->sim->records, i, r) {
		if (json_integer_value(json_object_get(r, "seq")) > since)
			json_array_append(out, r);
	}
	serve_json(rq, 200, out);
}

static void
stats(struct sim_req *rq)
{
	struct sim *s = rq->sim;
	json_t *by_key = json_object(), *v;
	const char *k;
	int pending = 0;

	json_object_foreach(s->retry_keys, k, v)
		json_object_set_new(by_key, k, json_integer(1));
	for (struct sim_req *p = s->pending; p != NULL; p = p->next)
		pending++;
	serve_json(rq, 200, json_pack("{s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:i, s:i, s:I}",
	    "delivered_by_key", by_key,
	    "tokens_issued", (json_int_t)s->tokens_issued,
	    "requests", (json_int_t)s->seq,
	    "line_delivered", (json_int_t)s->line_delivered,
	    "works_delivered", (json_int_t)s->works_delivered,
	    "records_dropped", (json_int_t)s->records_dropped,
	    "keys_forgotten", (json_int_t)s->keys_forgotten,
	    "faults", s->nfaults,
	    "pending", pending,
	    "menus", (json_int_t)json_object_size(s->menus)));
}

/* POST /_sim/profile {"userId", "displayName"?, "missing"?}. */
static void
profile_set(struct sim_req *rq)
{
	struct sim *s = rq->sim;
	json_t *j, *p;
	const char *user, *name;

	if ((j = serve_body_json(rq, SIM_MAX_STATE_BODY)) == NULL)
		return;
	user = json_string_value(json_object_get(j, "userId"));
	name = json_string_value(json_object_get(j, "displayName"));
	if (user == NULL || user[0] == '\0' || strlen(user) >= SIM_SEG_MAX ||
	    (json_object_get(j, "displayName") != NULL && name == NULL) ||
	    (json_object_get(j, "missing") != NULL &&
	    !json_is_boolean(json_object_get(j, "missing")))) {
		serve_error(rq, 400, "expected {\"userId\": \"U...\", \"displayName\": \"...\"} "
		    "or {\"userId\": \"U...\", \"missing\": true}");
		goto done;
	}
	if (json_object_get(s->profiles, user) == NULL &&
	    json_object_size(s->profiles) >= SIM_MAX_PROFILES) {
		serve_error(rq, 400, "too many profiles; POST /_sim/reset");
		goto done;
	}
	p = json_deep_copy(j);
	json_object_del(p, "userId");
	json_object_set_new(s->profiles, user, p);
	serve_json(rq, 200, json_pack("{s:b}", "ok", 1));
done:
	json_decref(j);
}

/* POST /_sim/quota {"value": N or null, "used": N?}: the monthly quota LINE reports
 * (null: "none") and, optionally, what was used of it so far. */
static void
quota_set(struct sim_req *rq)
{
	struct sim *s = rq->sim;
	json_t *j, *v, *u;

	if ((j = serve_body_json(rq, SIM_MAX_STATE_BODY)) == NULL)
		return;
	v = json_object_get(j, "value");
	u = json_object_get(j, "used");
	if (v == NULL || (!json_is_null(v) && (!json_is_integer(v) ||
	    json_integer_value(v) < 0)) || (u != NULL && (!json_is_integer(u) ||
	    json_integer_value(u) < 0))) {
		serve_error(rq, 400, "expected {\"value\": N or null, \"used\": N}");
		goto done;
	}
	s->quota_limit = json_is_null(v) ? -1 : (int64_t)json_integer_value(v);
	if (u != NULL)
		s->quota_used = (uint64_t)json_integer_value(u);
	serve_json(rq, 200, json_pack("{s:b}", "ok", 1));
done:
	json_decref(j);
}

static void
revoke_tokens(struct sim_req *rq)
{
	json_t *v;
	const char *k;
	int n = 0;

	json_object_foreach(rq->sim->tokens, k, v) {
		if (!json_is_true(json_object_get(v, "revoked"))) {
			json_object_set_new(v, "revoked", json_true());
			n++;
		}
	}
	serve_json(rq, 200, json_pack("{s:b, s:i}", "ok", 1, "revoked", n));
}

void
ctl_route(struct sim_req *rq)
{
	int get = rq->method == EVHTTP_REQ_GET, post = rq->method == EVHTTP_REQ_POST;

	if (get && strcmp(rq->path, "/_sim/requests") == 0)
		requests_list(rq);
	else if (get && strcmp(rq->path, "/_sim/stats") == 0)
		stats(rq);
	else if (get && strcmp(rq->path, "/_sim/faults") == 0)
		faults_list(rq);
	else if (post && strcmp(rq->path, "/_sim/reset") == 0) {
		serve_reset(rq->sim);
		serve_json(rq, 200, json_pack("{s:b}", "ok", 1));
	} else if (post && strcmp(rq->path, "/_sim/fault") == 0)
		fault_add(rq);
	else if (post && strcmp(rq->path, "/_sim/profile") == 0)
		profile_set(rq);
	else if (post && strcmp(rq->path, "/_sim/quota") == 0)
		quota_set(rq);
	else if (post && strcmp(rq->path, "/_sim/revoke-tokens") == 0)
		revoke_tokens(rq);
	else
		serve_error(rq, 404, "unknown control call; see shokaisim --help");
}
