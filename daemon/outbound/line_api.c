/* line_api.c: the LINE Messaging API. Turns an outbox row into a request (reply, push,
 * multicast, per-user rich menu link and unlink) against the channel's configured base
 * URL, and LINE's answer into a send_result: what was delivered, what to retry, what
 * LINE refused and why. Push and multicast carry the row's X-Line-Retry-Key; replies
 * never do (LINE answers 400 if they do). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../shokaid.h"

struct line_call {
	struct daemon	*d;
	send_done_cb	 done;
	void		*arg;
	int		 with_retry_key;
	int		 is_reply;
	int64_t		 start_us;
};

int
line_api_fallback_enabled(struct daemon *d, const char *channel)
{
	const struct config_line_channel *ch = config_line_channel(d->cfg, channel);

	return ch != NULL && ch->reply_fallback_to_push;
}

/* LINE's error body: {"message": "...", "details": [{"message", "property"}]}. */
static void
platform_error(const struct http_response *r, char *out, size_t outlen)
{
	json_t *root = json_loadb(r->body, r->body_len, 0, NULL);
	const char *msg = json_string_value(json_object_get(root, "message"));
	json_t *details = json_object_get(root, "details"), *first;

	first = json_array_get(details, 0);
	if (msg != NULL && first != NULL)
		snprintf(out, outlen, "%d %s: %s (%s)", r->status, msg,
		    json_string_value(json_object_get(first, "message")) ?
		    json_string_value(json_object_get(first, "message")) : "",
		    json_string_value(json_object_get(first, "property")) ?
		    json_string_value(json_object_get(first, "property")) : "");
	else if (msg != NULL)
		snprintf(out, outlen, "%d %s", r->status, msg);
	else
		snprintf(out, outlen, "%d %.*s", r->status, (int)(r->body_len > 120 ? 120 :
		    r->body_len), r->body);
	json_decref(root);
}

/* Retry-After in seconds (LINE sends none today; honour it if it comes). */
static int64_t
retry_after_ms(const struct http_response *r)
{
	char v[32];
	long secs;

	if (http_response_header(r, "Retry-After", v, sizeof(v)) == NULL)
		return 0;
	secs = strtol(v, NULL, 10);
	return secs > 0 && secs < 86400 ? secs * 1000 : 0;
}

static void
on_response(const struct http_response *r, void *arg)
{
	struct line_call *call = arg;
	struct send_result res;

	if (send_result_common(&res, r, call->start_us)) {
		/* decided: sent, or no answer to retry */
	} else if (r->status == 409 && call->with_retry_key) {
		/* This retry key was accepted before: the message is out. */
		res.outcome = SEND_OK;
		platform_error(r, res.error, sizeof(res.error));
	} else if (r->status == 429 || r->status >= 500) {
		res.outcome = SEND_RETRY;
		res.ambiguous = r->status >= 500;
		res.retry_after_ms = retry_after_ms(r);
		platform_error(r, res.error, sizeof(res.error));
	} else if (r->status == 401 || r->status == 403) {
		/* The channel access token: an operator fixes it and reloads; keep the row. */
		res.outcome = SEND_RETRY;
		platform_error(r, res.error, sizeof(res.error));
	} else {
		platform_error(r, res.error, sizeof(res.error));
		res.outcome = call->is_reply && r->status == 400 &&
		    strstr(res.error, "reply token") != NULL ? SEND_REPLY_TOKEN_REFUSED :
		    SEND_PERMANENT;
	}
	call->done(&res, call->arg);
	free(call);
}

static void
fail_now(enum send_outcome outcome, send_done_cb done, void *arg, const char *why)
{
	struct send_result res;

	memset(&res, 0, sizeof(res));
	res.outcome = outcome;
	snprintf(res.error, sizeof(res.error), "%s", why);
	done(&res, arg);
}

void
line_api_send(struct daemon *d, const struct outbox_msg *m, send_done_cb done, void *arg)
{
	const struct config_line_channel *ch = config_line_channel(d->cfg, m->channel);
	struct line_call *call;
	struct http_request req;
	const char *headers[3];
	char *url = NULL, *auth = NULL, *key = NULL;
	const char *method = "POST", *body = m->body;

	if (ch == NULL) {
		fail_now(SEND_PERMANENT, done, arg, "channel is no longer in the config");
		return;
	}
	call = xcalloc(1, sizeof(*call));
	call->d = d;
	call->done = done;
	call->arg = arg;
	call->start_us = clock_us();
	if (strcmp(m->kind, "reply") == 0) {
		url = xasprintf("%s/v2/bot/message/reply", ch->api_base);
		call->is_reply = 1;
	} else if (strcmp(m->kind, "push") == 0 || strcmp(m->kind, "multicast") == 0) {
		url = xasprintf("%s/v2/bot/message/%s", ch->api_base, m->kind);
		call->with_retry_key = 1;
	} else if (strcmp(m->kind, "mark_read") == 0) {
		url = xasprintf("%s/v2/bot/chat/markAsRead", ch->api_base);
	} else if (strcmp(m->kind, "richmenu_link") == 0) {
		/* body holds the rich menu id; the request itself has no body. */
		url = xasprintf("%s/v2/bot/user/%s/richmenu/%s", ch->api_base, m->target, m->body);
		body = NULL;
	} else if (strcmp(m->kind, "richmenu_unlink") == 0) {
		url = xasprintf("%s/v2/bot/user/%s/richmenu", ch->api_base, m->target);
		method = "DELETE";
		body = NULL;
	} else {
		free(call);
		fail_now(SEND_PERMANENT, done, arg, "unknown LINE message kind");
		return;
	}
	auth = xasprintf("Authorization: Bearer %s", ch->access_token);
	headers[0] = auth;
	headers[1] = "Content-Type: application/json";
	memset(&req, 0, sizeof(req));
	req.nheaders = 2;
	if (call->with_retry_key) {
		key = xasprintf("X-Line-Retry-Key: %s", m->retry_key);
		headers[req.nheaders++] = key;
	}
	req.method = method;
	req.url = url;
	req.headers = headers;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.timeout_ms = d->cfg->outbox_request_timeout_ms;
	if (http_client_send(d->http_client, &req, on_response, call) == -1) {
		free(call);
		fail_now(SEND_RETRY, done, arg, "cannot start the request");
	}
	free(url);
	free(auth);
	free(key);
}

struct profile_call {
	line_profile_cb	 done;
	void		*arg;
};

static void
on_profile(const struct http_response *r, void *arg)
{
	struct profile_call *call = arg;
	struct profile p;
	char error[WHY_MAX] = "";
	json_t *root = NULL;

	memset(&p, 0, sizeof(p));
	p.fetched_at = wall_ms();
	if (r->status == 200 && (root = json_loadb(r->body, r->body_len, 0, NULL)) != NULL &&
	    json_is_string(json_object_get(root, "displayName"))) {
		p.found = 1;
		p.display_name = event_json_str(root, "displayName");
		p.picture_url = event_json_str(root, "pictureUrl");
		p.language = event_json_str(root, "language");
	} else if (r->status == 0) {
		snprintf(error, sizeof(error), "%s", r->error);
	} else if (r->status != 404) {
		platform_error(r, error, sizeof(error));
	}
	call->done(r->status == 200 && !p.found ? 0 : r->status, &p,
	    error[0] ? error : NULL, call->arg);
	profile_clear(&p);
	json_decref(root);
	free(call);
}

void
line_api_get_profile(struct daemon *d, const char *channel, const char *user_id,
    line_profile_cb done, void *arg)
{
	const struct config_line_channel *ch = config_line_channel(d->cfg, channel);
	struct profile_call *call;
	struct http_request req;
	const char *headers[1];
	char *url, *auth, *e_user;

	if (ch == NULL) {
		done(0, NULL, "channel is no longer in the config", arg);
		return;
	}
	call = xcalloc(1, sizeof(*call));
	call->done = done;
	call->arg = arg;
	e_user = url_encode(user_id);
	url = xasprintf("%s/v2/bot/profile/%s", ch->api_base, e_user);
	auth = xasprintf("Authorization: Bearer %s", ch->access_token);
	headers[0] = auth;
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = url;
	req.headers = headers;
	req.nheaders = 1;
	req.timeout_ms = 5000;
	if (http_client_send(d->http_client, &req, on_profile, call) == -1) {
		free(call);
		done(0, NULL, "cannot start the request", arg);
	}
	free(url);
	free(auth);
	free(e_user);
}

static void
on_loading(const struct http_response *r, void *arg)
{
	char error[WHY_MAX] = "";

	(void)arg;
	if (r->status == 200 || r->status == 202)
		return;
	if (r->status == 0)
		snprintf(error, sizeof(error), "%s", r->error ? r->error : "no answer");
	else
		platform_error(r, error, sizeof(error));
	log_info("msg=\"loading animation not shown\" status=%d reason=\"%s\"", r->status,
	    error);
}

void
line_api_loading_start(struct daemon *d, const char *channel, const char *user_id)
{
	const struct config_line_channel *ch = config_line_channel(d->cfg, channel);
	struct http_request req;
	const char *headers[2];
	char *url, *auth, *body;
	json_t *o;

	if (ch == NULL)
		return;
	url = xasprintf("%s/v2/bot/chat/loading/start", ch->api_base);
	auth = xasprintf("Authorization: Bearer %s", ch->access_token);
	/* 5 s, LINE's least: the reply ends it as soon as it arrives. */
	o = json_pack("{s:s,s:i}", "chatId", user_id, "loadingSeconds", 5);
	body = json_text(o);
	json_decref(o);
	headers[0] = auth;
	headers[1] = "Content-Type: application/json";
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = url;
	req.headers = headers;
	req.nheaders = 2;
	req.body = body;
	req.body_len = strlen(body);
	req.timeout_ms = 5000;
	if (http_client_send(d->http_client, &req, on_loading, NULL) == -1)
		log_info("msg=\"loading animation not shown\" reason=\"cannot start the "
		    "request\"");
	free(body);
	free(auth);
	free(url);
}

/* Management calls (rich menus, aliases, defaults) for shokaictl: any method and path on
 * either of the channel's hosts, the answer handed back as it came. */
struct plain_call {
	line_call_cb	 done;
	void		*arg;
};

static void
on_plain(const struct http_response *r, void *arg)
{
	struct plain_call *call = arg;
	char error[WHY_MAX] = "";

	if (r->status == 0)
		snprintf(error, sizeof(error), "%s", r->error ? r->error : "no answer");
	else if (r->status < 200 || r->status >= 300)
		platform_error(r, error, sizeof(error));
	call->done(r->status, r->status ? r->body : "", r->status ? r->body_len : 0,
	    error[0] ? error : NULL, call->arg);
	free(call);
}

void
line_api_call(struct daemon *d, const char *channel, enum line_host host, const char *method,
    const char *path, const char *content_type, const void *body, size_t len,
    line_call_cb done, void *arg)
{
	const struct config_line_channel *ch = config_line_channel(d->cfg, channel);
	struct plain_call *call;
	struct http_request req;
	const char *headers[2];
	char *url, *auth, *ctype = NULL;

	if (ch == NULL) {
		done(0, "", 0, "channel is not in the config", arg);
		return;
	}
	call = xcalloc(1, sizeof(*call));
	call->done = done;
	call->arg = arg;
	url = xasprintf("%s%s", host == LINE_HOST_DATA ? ch->api_data_base : ch->api_base, path);
	auth = xasprintf("Authorization: Bearer %s", ch->access_token);
	headers[0] = auth;
	memset(&req, 0, sizeof(req));
	req.nheaders = 1;
	if (content_type != NULL) {
		ctype = xasprintf("Content-Type: %s", content_type);
		headers[req.nheaders++] = ctype;
	}
	req.method = method;
	req.url = url;
	req.headers = headers;
	req.body = body;
	req.body_len = len;
	req.timeout_ms = d->cfg->outbox_request_timeout_ms;
	if (http_client_send(d->http_client, &req, on_plain, call) == -1) {
		free(call);
		done(0, "", 0, "cannot start the request", arg);
	}
	free(url);
	free(auth);
	free(ctype);
}
