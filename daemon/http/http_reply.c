/* http_reply.c: the one writer of HTTP responses and request log lines. Every route
 * answers through here, so the common headers, the status reason phrases, the error
 * body (generic, never echoing input) and the log line's shape are decided once. */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "http.h"

static const char *
method_name(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	case EVHTTP_REQ_TRACE: return "TRACE";
	case EVHTTP_REQ_CONNECT: return "CONNECT";
	case EVHTTP_REQ_PATCH: return "PATCH";
	default: return "OTHER";
	}
}

const char *
http_reason_phrase(int code)
{
	switch (code) {
	case 200: return "OK";
	case 302: return "Found";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 410: return "Gone";
	case 413: return "Payload Too Large";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

/* Request paths are attacker-chosen: log only a safe, short rendering. */
static void
safe_path(const char *path, char out[72])
{
	size_t i, o = 0;

	for (i = 0; path != NULL && path[i] != '\0' && o < 64; i++) {
		char ch = path[i];

		out[o++] = ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '/' || ch == '-' || ch == '_' ||
		    ch == '.') ? ch : '?';
	}
	if (path != NULL && path[i] != '\0')
		out[o++] = '~';
	out[o] = '\0';
	if (o == 0)
		strcpy(out, "-");
}

static void
log_request(struct evhttp_request *req, int code, const char *channel, int64_t start_us,
    const char *extra)
{
	char path[72];
	enum log_level level = code >= 500 ? LOG_WARN : LOG_INFO;

	if (!log_enabled(level))
		return;
	safe_path(evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req)), path);
	log_msg(level, "msg=request method=%s path=%s status=%d channel=%s latency_us=%lld%s%s",
	    method_name(evhttp_request_get_command(req)), path, code,
	    channel ? channel : "-", (long long)(clock_us() - start_us),
	    extra ? " " : "", extra ? extra : "");
}

static void
answer(struct evhttp_request *req, const struct http_answer *a, const char *content_type)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	if (content_type != NULL)
		evhttp_add_header(h, "Content-Type", content_type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (a->retry_after_s > 0) {
		char s[16];

		snprintf(s, sizeof(s), "%d", a->retry_after_s);
		evhttp_add_header(h, "Retry-After", s);
	}
	if (!a->unlogged)
		log_request(req, a->code, a->channel, a->start_us, a->log_extra);
	evhttp_send_reply(req, a->code, http_reason_phrase(a->code), NULL);
}

void
http_reply_json(struct evhttp_request *req, const struct http_answer *a, const char *json)
{
	if (json != NULL)
		evbuffer_add(evhttp_request_get_output_buffer(req), json, strlen(json));
	answer(req, a, "application/json");
}

void
http_reply_error(struct evhttp_request *req, const struct http_answer *a, const char *error,
    const char *why)
{
	char body[96], extra[WHY_MAX + 16];
	struct http_answer logged = *a;

	snprintf(body, sizeof(body), "{\"error\":\"%s\"}", error);
	if (logged.log_extra == NULL) {
		snprintf(extra, sizeof(extra), "reason=\"%s\"", why ? why : error);
		logged.log_extra = extra;
	}
	http_reply_json(req, &logged, body);
}

void
http_reply_page(struct evhttp_request *req, const struct http_answer *a)
{
	answer(req, a, "text/html; charset=utf-8");
}

void
http_reply_redirect(struct evhttp_request *req, const struct http_answer *a,
    const char *location)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Location", location);
	answer(req, a, NULL);
}
