/* outbound.h: everything that talks to LINE and LINE WORKS: the outbox sender, the
 * platform clients, outbound HTTP (libevent's client), profiles and reps' links. */
#ifndef SHOKAI_OUTBOUND_H
#define SHOKAI_OUTBOUND_H

#include "../base/base.h"
#include "../config/config.h"
#include "../store/store.h"

struct daemon;
struct event_base;
struct json_t;

/* rep_links.c: reps' LINE WORKS contact links, fetched and kept. */
struct rep_links;
struct rep_links *rep_links_new(struct daemon *);
void rep_links_free(struct rep_links *);


/* http_response.c: a response read from its bytes in any pieces (http_client.c's). */
#define HTTP_RESPONSE_HEAD_MAX	(32 * 1024)
#define HTTP_RESPONSE_BODY_MAX	(1024 * 1024)
enum http_parse {
	HTTP_PARSE_MORE,		/* every byte taken; the answer goes on */
	HTTP_PARSE_DONE,		/* whole: *used says where it ended */
	HTTP_PARSE_TOO_LONG,		/* head or body beyond its limit */
	HTTP_PARSE_BAD			/* not HTTP/1.x, or framing we refuse */
};
struct http_response_parser {
	int		 head_only;	/* the request was HEAD: no body follows */
	int		 state;
	int		 status, http11, keep_alive;
	char		*raw;		/* the head, then a chunk's framing line */
	size_t		 raw_len, raw_cap;
	char		*headers;	/* "Name: value\r\n" lines, NUL-terminated */
	size_t		 headers_len, headers_cap;
	char		*body;		/* decoded, NUL-terminated */
	size_t		 body_len, body_cap;
	uint64_t	 left;		/* of the body or of the chunk */
	size_t		 received;	/* bytes fed since the last reset */
};
void http_response_parser_init(struct http_response_parser *, int head_only);
/* For the connection's next answer; keeps buffers of a usual size. */
void http_response_parser_reset(struct http_response_parser *);
void http_response_parser_free(struct http_response_parser *);
enum http_parse http_response_feed(struct http_response_parser *, const char *data,
    size_t len, size_t *used);
/* The peer closed: DONE when the body was framed by the close, BAD when cut short. */
enum http_parse http_response_eof(struct http_response_parser *);

/* http_client.c: outbound HTTP/1.1 on the loop, keep-alive connections of its own. */
struct http_client;
struct http_request {
	const char	 *method;		/* "GET", "POST", "DELETE" */
	const char	 *url;
	const char	**headers;		/* "Name: value" */
	size_t		  nheaders;
	const void	 *body;			/* NULL: none */
	size_t		  body_len;
	int		  timeout_ms;		/* whole transfer; 0: 10 s */
};
struct http_response {
	int		 status;		/* 0: no answer (error says why) */
	const char	*body;			/* NUL-terminated; valid during the callback */
	size_t		 body_len;
	const char	*headers;		/* raw header block */
	const char	*error;
	int		 timed_out;
	int		 ambiguous;		/* failed after the request may have arrived */
};
typedef void (*http_done_cb)(const struct http_response *, void *arg);
/* priority: for the client's events, or -1 for the base's default. */
struct http_client *http_client_new(struct event_base *, int priority);
/* Starts a request; done runs exactly once, later, from the loop. */
int http_client_send(struct http_client *, const struct http_request *, http_done_cb,
    void *arg);
void http_client_free(struct http_client *);
/* Copies a response header's value (case-insensitive name) into out; NULL if absent. */
const char *http_response_header(const struct http_response *, const char *name,
    char *out, size_t outlen);

/* outbox.c: sends outbox rows, records outcomes, retries with backoff. */
enum send_outcome {
	SEND_OK,			/* delivered (or accepted earlier: 409 on a retry key) */
	SEND_RETRY,			/* transport error, 5xx, 429, auth to renew: try later */
	SEND_PERMANENT,			/* the platform refused the message itself */
	SEND_REPLY_TOKEN_REFUSED,	/* LINE reply token used or expired */
};
struct send_result {
	enum send_outcome outcome;
	int		 status;		/* HTTP status, 0 if none */
	int		 ambiguous;		/* may have been delivered */
	int64_t		 retry_after_ms;	/* from Retry-After / rateLimit-reset */
	int64_t		 latency_us;
	char		 error[WHY_MAX];	/* the platform's message or the transport's */
};
typedef void (*send_done_cb)(const struct send_result *, void *arg);
/* send_result.c: fills res for what both platforms treat alike (no answer: retry; 2xx: sent) and
 * returns 1; returns 0 when the platform's own rules must decide. */
int send_result_common(struct send_result *, const struct http_response *,
    int64_t start_us);
struct outbox;
struct outbox *outbox_new(struct daemon *);
void outbox_free(struct outbox *);
/* Hands the outcomes gathered so far to the storage side now (at stop), as the end of
 * the loop turn would. */
void outbox_hand_over(struct outbox *);
/* What the storage side (storage/outbox_book.c) posts: rows already marked as being
 * tried, for the loop to send. */
struct outbox_sends {
	enum platform		 platform;
	struct outbox_msg	*rows;
	size_t			 n;
};
/* A letter (ctx: the daemon): starts each row's request, or while draining, hands the
 * rows straight back untried. */
void outbox_send(void *daemon, void *sends);

/* line_api.c / works_api.c: one outbox row to one platform request, and the answer
 * back to a send_result. done runs exactly once, from the loop. */
void line_api_send(struct daemon *, const struct outbox_msg *, send_done_cb, void *arg);
int line_api_fallback_enabled(struct daemon *, const char *channel);
void works_api_send(struct daemon *, const struct outbox_msg *, send_done_cb, void *arg);
/* LINE WORKS lookups: what is "user" (GET /users/{id}) or "link-url" (the user's
 * external-contact link). done gets the HTTP status (0: no answer) and the body. */
typedef void (*works_lookup_cb)(int status, const char *body, size_t len, const char *error,
    void *arg);
void works_api_lookup(struct daemon *, const char *bot, const char *what,
    const char *user_id, works_lookup_cb, void *arg);
void works_api_call(struct daemon *, const char *bot, const char *method, const char *path,
    const char *body, works_lookup_cb, void *arg);
struct works_tokens;
void works_tokens_free(struct works_tokens *);
/* An RS256 JWT for the token endpoint; NULL with err on a bad key. Caller frees. */
char *works_jwt(const char *client_id, const char *service_account, const char *pem,
    time_t now, char *err, size_t errlen);

/* profile.c: display names for handlers, from the cache or LINE's profile API. cb runs
 * exactly once: at once from a fresh cache entry, else when LINE answers; p is NULL
 * when no name can be had (404, or LINE unreachable with nothing cached). */
typedef void (*profile_cb)(const struct profile *p, void *arg);
/* A cached profile young enough to use as it is (a day; an hour for "not found"). */
int profile_fresh(const struct profile *, int64_t now);
void profile_lookup(struct daemon *, const char *channel, const char *user_id, profile_cb,
    void *arg);
/* line_api.c: GET /v2/bot/profile/{userId}; status 0 on transport failure. */
typedef void (*line_profile_cb)(int status, const struct profile *, const char *error,
    void *arg);
/* LINE's loading animation in the user's chat while the bot prepares an answer that
 * waits for a network call; fire and forget (a failure is logged at info). */
void line_api_loading_start(struct daemon *, const char *channel, const char *user_id);
void line_api_get_profile(struct daemon *, const char *channel, const char *user_id,
    line_profile_cb, void *arg);

/* line_api.c: a management call (rich menus and their aliases) on either LINE host;
 * done gets the status (0: no answer), the body and LINE's error message. */
enum line_host { LINE_HOST_API, LINE_HOST_DATA };
typedef void (*line_call_cb)(int status, const char *body, size_t len, const char *error,
    void *arg);
void line_api_call(struct daemon *, const char *channel, enum line_host, const char *method,
    const char *path, const char *content_type, const void *body, size_t len,
    line_call_cb, void *arg);

/* quota.c: LINE's monthly message quota. status is 200 when both calls answered (then
 * limit, -1 for "none", and used are LINE's), else 0 or LINE's status with error. */
struct quota {
	int	 status;
	int64_t	 limit;
	int64_t	 used;
	char	 error[WHY_MAX];
};
typedef void (*quota_cb)(const struct quota *, void *arg);
/* done runs exactly once, from the loop. */
void quota_read(struct daemon *, const char *channel, quota_cb done, void *arg);
/* What is left this month; -1 when there is no limit. */
int64_t quota_remaining(const struct quota *);
/* 1 when recipients fit in what is left; else 0 with why giving both numbers. */
int quota_allows(const struct quota *, int64_t recipients, char *why, size_t whylen);
/* A letter to the loop (ctx: the daemon, arg: a struct quota_job from storage.h): reads
 * the quota and posts the job back to the storage side (storage_announce_quota). */
void quota_fetch(void *daemon, void *job);

#endif
