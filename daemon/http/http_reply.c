/* http_reply.c: the one writer of HTTP responses and request log lines. Every route
 * answers through here, so the common headers, the status reason phrases, the error
 * body (generic, never echoing input) and the log line's shape are decided once. */
#include <stdio.h>
#include <string.h>

#include "http.h"

/* Any token is a method to the framing: log only the ones a client of ours sends. */
static const char *
method_name(const char *m)
{
	static const char *const known[] = { "GET", "POST", "HEAD", "PUT", "DELETE",
	    "OPTIONS", "TRACE", "CONNECT", "PATCH" };

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(m, known[i]) == 0)
			return known[i];
	return "OTHER";
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
log_request(struct http_req *req, int code, const char *channel, int64_t start_us,
    const char *extra)
{
	char path[72];
	enum log_level level = code >= 500 ? LOG_WARN : LOG_INFO;

	if (!log_enabled(level))
		return;
	safe_path(http_req_path(req), path);
	log_msg(level, "msg=request method=%s path=%s status=%d channel=%s latency_us=%lld%s%s",
	    method_name(http_req_method(req)), path, code,
	    channel ? channel : "-", (long long)(clock_us() - start_us),
	    extra ? " " : "", extra ? extra : "");
}

static void
answer(struct http_req *req, const struct http_answer *a, const char *content_type,
    const char *body, size_t len)
{
	http_req_add_header(req, "Cache-Control", "no-store");
	if (a->retry_after_s > 0) {
		char s[16];

		snprintf(s, sizeof(s), "%d", a->retry_after_s);
		http_req_add_header(req, "Retry-After", s);
	}
	if (!a->unlogged)
		log_request(req, a->code, a->channel, a->start_us, a->log_extra);
	http_respond(req, a->code, content_type, body, len);
}

void
http_reply_json(struct http_req *req, const struct http_answer *a, const char *json)
{
	answer(req, a, "application/json", json, json != NULL ? strlen(json) : 0);
}

void
http_reply_error(struct http_req *req, const struct http_answer *a, const char *error,
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
http_reply_page(struct http_req *req, const struct http_answer *a, const char *html,
    size_t len)
{
	answer(req, a, "text/html; charset=utf-8", html, len);
}

void
http_reply_redirect(struct http_req *req, const struct http_answer *a,
    const char *location)
{
	http_req_add_header(req, "Location", location);
	answer(req, a, NULL, NULL, 0);
}
