/* http.h: the listener side: the HTTP server and its limits, webhook parsing, group
 * commit and the invite link. */
#ifndef SHOKAI_HTTP_H
#define SHOKAI_HTTP_H

#include <stdatomic.h>
#include <stdbool.h>

#include "../base/base.h"
#include "../model/model.h"

struct daemon;
struct http_req;

/* webhook_line.c / webhook_works.c: raw bytes to normalised events. Both return 0 and
 * fill out, or -1 with why saying what was wrong (the body then goes to quarantine).
 * An empty list is a verification request. */
int webhook_line_parse(const char *channel, const char *body, size_t len,
    const char *expect_destination, struct event_list *out, char *why, size_t whylen);
int webhook_works_parse(const char *bot, const char *bot_id, const char *body, size_t len,
    struct event_list *out, char *why, size_t whylen);


/* http.c: the public listener and its routes. */
int http_start(struct daemon *, char *why, size_t whylen);
void http_apply_config(struct daemon *);
/* SIGTERM: no new connection is accepted and no new request is read; idle connections
 * close now, every other one after the answer to the request it carries, which says
 * `Connection: close`. */
void http_drain(struct daemon *);
void http_free(struct daemon *);

/* http_reply.c: the one writer of responses and request log lines. Each function sends
 * the response (headers, status, body) and writes the request's log line. */
struct http_answer {
	int		 code;
	const char	*channel;	/* the channel or bot the request was for, or NULL */
	int64_t		 start_us;	/* when the request was routed (clock_us) */
	const char	*log_extra;	/* more key=value pairs for the log line, or NULL */
	bool		 unlogged;	/* the caller rate-limits this line and skips it */
	int		 retry_after_s;	/* > 0: a Retry-After header, in seconds */
};
void http_reply_json(struct http_req *, const struct http_answer *, const char *json);
/* The status line's words for code ("Not Found"). */
const char *http_reason_phrase(int code);
/* A generic body {"error": error} that never echoes input; the log line says why
 * (or error when why is NULL) unless log_extra is set. */
void http_reply_error(struct http_req *, const struct http_answer *,
    const char *error, const char *why);
void http_reply_page(struct http_req *, const struct http_answer *, const char *html,
    size_t len);
void http_reply_redirect(struct http_req *, const struct http_answer *,
    const char *location);


/* http_invite.c: GET /r/{code}, the HTTP side (referral_click.c decides). */
struct http_invite;
struct http_invite *http_invite_new(void);
void http_invite_free(struct http_invite *);
void http_invite_handle(struct daemon *, struct http_req *, const char *path,
    int64_t start_us);

/* http_head.c: the strict check of a request's framing, on which http_server.c frames it. buf holds
 * the bytes of one request from its first byte on (more may follow the head); st, zeroed
 * for a new head, carries what the lines checked so far said, so each line is read once.
 * COMPLETE sets *head_len to the head's length with its empty line and *chunked to 1 for
 * a chunked body; BAD says why (never quoting the request); INCOMPLETE wants more
 * bytes. */
enum http_head {
	HTTP_HEAD_INCOMPLETE,
	HTTP_HEAD_COMPLETE,
	HTTP_HEAD_BAD
};
struct http_head_state {
	size_t	 pos;			/* where checking resumes: whole lines before it
					   were good */
	int	 http10, no_body;	/* from the request line */
	int	 content_length;	/* how many Content-Length fields */
	int	 transfer_encoding;
	int	 host;
	int	 body;			/* a Content-Length above 0, or chunked */
};
enum http_head http_head_check(const char *buf, size_t len, struct http_head_state *st,
    size_t *head_len, int *chunked, char *why, size_t whylen);
/* A chunked body's framing, fed in pieces from the first byte after the head (zero c to
 * start). COMPLETE sets *used to the body's bytes in this piece (what follows is the next
 * request); INCOMPLETE took the whole piece; BAD says why. With data, the chunks' data
 * in this piece is copied there (it may be p itself: the data moves down in place) and
 * *data_len says how much. */
struct http_chunked {
	int		 state;
	int		 digits;
	uint64_t	 left;
};
enum http_head http_chunked_check(struct http_chunked *c, const char *p, size_t n,
    size_t *used, char *data, size_t *data_len, char *why, size_t whylen);

/* http_server.c: the HTTP/1.1 server of the public listener, with the limits a public
 * port needs: a connection cap (accepts pause at it), a whole-request deadline, an idle
 * timeout, EMFILE back-off, the strict framing of http_head.c, body and head size
 * limits, optional TLS; and the drain. */
struct http_server;
struct ssl_ctx_st;
struct http_limits {
	int	 max_connections;
	int	 read_timeout_ms;	/* a request whole within this of its first byte */
	int	 idle_timeout_ms;	/* a connection without a request under way */
	size_t	 max_headers;		/* the head's fields (line ends and the request
					   line have 4 KiB beside) */
	size_t	 max_body;
};
typedef void (*http_route_fn)(struct daemon *, struct http_req *);
/* Serves the listening socket fd (owned from now on): each request read whole goes to
 * route, which answers it with http_respond, at once or later. */
struct http_server *http_server_new(struct daemon *, int fd, http_route_fn route);
void http_server_apply(struct http_server *, const struct http_limits *);
/* Serves new connections over TLS with ctx from now on (the server takes its own
 * reference; open connections keep theirs). Set once at start to turn TLS on; later
 * calls (reloads) only swap the context. */
void http_server_set_tls(struct http_server *, struct ssl_ctx_st *ctx);
int http_server_port(const struct http_server *);
/* Stops accepting; closes idle connections now; a request in flight or arriving gets
 * `Connection: close` on its answer, so its connection ends with it. */
void http_server_drain(struct http_server *);
/* Closes every connection (their waiting requests are forgotten) and the listener. */
void http_server_free(struct http_server *);

/* A request read whole (an inbound one: outbound.h's http_request is one we send). It
 * lives in its connection: valid until it is answered or the
 * connection closes, which forgets it in http_wait.c first. The strings end with NUL. */
const char *http_req_method(const struct http_req *);
const char *http_req_path(const struct http_req *);	/* without the query */
/* The first value of the header name (any case), or NULL; *count, if count is not
 * NULL, says how many times it was sent. */
const char *http_req_header(const struct http_req *, const char *name,
    int *count);
/* The i-th header field's value (its name in *name), in the order sent; NULL past the
 * last. */
const char *http_req_field(const struct http_req *, size_t i, const char **name);
const char *http_req_body(const struct http_req *, size_t *len);
const char *http_req_peer(const struct http_req *);	/* numeric address */
/* A header line for the answer, beside the ones http_respond writes. */
void http_req_add_header(struct http_req *, const char *name, const char *value);
/* Answers the request (Date, Content-Type, Content-Length and Connection are written
 * here); the request is gone afterwards. */
void http_respond(struct http_req *, int code, const char *content_type,
    const char *body, size_t len);

/* What the public listener answered, by kind of path and status, and how long each
 * took from routing to the answer handed to the kernel: written by the loop only, read by the
 * console thread for /metrics (console_health.c). */
enum http_path_kind { PATH_LINE, PATH_WORKS, PATH_INVITE, PATH_OTHER, PATH_KINDS };
#define HTTP_METRIC_STATUSES	9	/* 200 302 400 401 404 405 413 503, then other */
#define HTTP_LATENCY_BUCKETS	12	/* 0.5 ms ... 2.5 s (http_metrics.c) */
struct http_metrics {
	atomic_ullong	answers[PATH_KINDS][HTTP_METRIC_STATUSES];
	atomic_ullong	latency[PATH_KINDS][HTTP_LATENCY_BUCKETS + 1];	/* last: +Inf */
	atomic_ullong	latency_sum_us[PATH_KINDS];
};

/* http_metrics.c: the public listener's answers, counted (loop only). */
void http_metrics_record(struct http_metrics *, const char *path, int code,
    int64_t latency_us);
const char *http_metrics_kind_name(enum http_path_kind);
int http_metrics_status(int column);		/* 0: any other status */
int64_t http_metrics_bucket_us(int bucket);

/* http_wait.c: requests waiting for another thread's answer, by ticket. */
struct http_waits;
struct http_waits *http_waits_new(void);
void http_waits_free(struct http_waits *);
uint64_t http_wait_park(struct http_waits *, struct http_req *);
/* The parked request, or NULL when its connection closed meanwhile; the ticket is
 * spent either way. */
struct http_req *http_wait_take(struct http_waits *, uint64_t ticket);
/* req's connection is closing (http_server.c): whatever it waits for still happens, but
 * req is never answered or touched again. */
void http_wait_forget(struct http_waits *, struct http_req *req);
size_t http_wait_count(const struct http_waits *);

/* ingest.c: group commit. Verified requests wait here until the end of the loop turn,
 * then go to the storage side as one batch; each is answered when it comes back. */
struct ingest *ingest_new(struct daemon *);
void ingest_free(struct ingest *);
/* Takes ownership of events and copies what it keeps of body (a quarantined body), so
 * req is used for nothing but its answer (parked in http_wait.c meanwhile). */
void ingest_add(struct ingest *, struct http_req *, enum platform, const char *channel,
    const char *body, size_t len, struct event_list *events, const char *quarantine_reason,
    int64_t start_us);
/* Hands what is waiting now to the storage side, as the end of the loop turn would. */
void ingest_flush(struct ingest *);
/* Requests gathering or with the storage side. */
size_t ingest_pending(const struct ingest *);


#endif
