/* http_server.c: the public listener's HTTP/1.1 server (webhooks and invite links).
 *
 * Why our own and not libevent's evhttp: evhttp turned reading and writing on and off
 * for every request (three epoll_ctl), asked FIONREAD before every read and read with
 * readv, six system calls per request beside the accept; and it lacked the limits a
 * public port needs (a connection cap, a whole-request deadline, EMFILE back-off) and
 * framed requests leniently, which a guard around it had to patch from the outside. Here
 * a connection has one persistent read event for its whole life, a request is framed
 * once and strictly (http_head.c) and split into its fields in place, and an answer
 * goes out with one send as soon as it is ready: a recv and a send per request.
 *
 * One request at a time per connection. The bytes of a pipelined next request wait in
 * the input buffer until this one's answer is queued, so answers keep their order and a
 * bad head is refused exactly where it begins. The request's head and body live in the
 * connection's input buffer (the request keeps offsets, as the buffer grows while a body
 * arrives). While it waits for another thread (the commit that holds its events), the
 * connection reads only into the buffer's spare room, so the strings handed out stay
 * where they are; with no room left it stops reading until the answer.
 *
 * Deadlines: a connection with no request under way closes after server.idle_timeout
 * (so does a TLS handshake that stalls); a request must arrive whole within
 * server.read_timeout of its first byte; a request waiting for its answer has none; an
 * answer the client does not read closes the connection after idle_timeout. A refused
 * request (400, 413) and any answer that ends the connection say `Connection: close`;
 * the server then stops writing and reads what the client still sends for a moment
 * (a lingering close) so the kernel does not reset the connection under the answer.
 *
 * TLS: OpenSSL runs on the socket itself (SSL_set_fd); the handshake happens inside the
 * first reads. Loop thread only. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "../base/tls.h"
#include "../shokaid.h"

#define EMFILE_BACKOFF_MS	250
/* Room for the request line and line ends, which server.max_headers does not count. */
#define HEAD_SLACK		4096
#define IN_FIRST_CAP		4096
/* Beyond a request's head and body: what one read may bring of the next request. */
#define IN_SLACK		16384
/* An idle connection keeps no more input buffer than this. */
#define IN_KEEP_CAP		16384
#define LINGER_MS		1000

/* Offsets into the connection's input buffer, which may move while a body arrives. */
struct http_field {
	size_t	 name, value;
};

struct http_req {
	struct conn		*conn;
	size_t			 method, path;	/* offsets; path 0: "/" */
	struct http_field	*fields;
	size_t			 nfields, fields_cap;
	int			 http10, keep_alive, head_only;
	int64_t			 routed_us;
	char			*hdrs;		/* the answer's extra header lines */
	size_t			 hdrs_len, hdrs_cap;
};

enum parse { PARSE_MORE, PARSE_REQUEST, PARSE_REFUSE };

struct conn {
	LIST_ENTRY(conn)	 entry;
	struct http_server	*s;
	int			 fd;
	SSL			*ssl;		/* NULL: plain */
	struct event		*rev, *wev, *timer;
	char			 peer[INET6_ADDRSTRLEN];
	char			*in;
	size_t			 in_len, in_cap;
	char			*out;
	size_t			 out_len, out_off, out_cap;
	/* The request being read, from the front of in. */
	int			 head_done;
	size_t			 head_len;
	struct http_head_state	 hs;
	int			 chunked;
	struct http_chunked	 ck;
	uint64_t		 content_length;
	size_t			 body_len;	/* chunked: decoded so far, in place */
	struct http_req	 req;
	int			 routed;	/* req waits for its answer */
	int			 reading;	/* rev is added */
	int			 writing;	/* wev is added */
	int			 eof;		/* the client sends nothing more */
	int			 close_after;	/* the connection ends once out is written */
	int			 lingering;	/* written and shut: reading to discard */
	int			 processing;	/* inside conn_process */
	int			 read_wants_write, write_wants_read;	/* TLS */
	int64_t			 due_us;	/* 0: no deadline */
	int64_t			 timer_at_us;	/* when the timer fires, if pending */
};

struct http_server {
	struct daemon		*d;
	http_route_fn		 route;
	struct evconnlistener	*listener;
	int			 fd;
	LIST_HEAD(, conn)	 conns;
	int			 max_conns;
	int			 read_timeout_ms, idle_timeout_ms;
	size_t			 head_max, max_body;
	int			 accepting;	/* 0 after drain or free began */
	int			 draining;
	int			 paused;	/* listener disabled (cap or EMFILE) */
	struct event		*resume;
	SSL_CTX			*tls;		/* new connections' context; NULL: plain */
	time_t			 date_at;
	char			 date[40];	/* the Date header's value for date_at */
	struct log_ratelimit	 rl_emfile, rl_deadline, rl_head, rl_tls;
};

static void conn_process(struct conn *);
static int conn_flush(struct conn *);

static void
server_update_listener(struct http_server *s)
{
	int want = s->accepting && s->d->stats.connections < s->max_conns &&
	    !evtimer_pending(s->resume, NULL);

	if (want && s->paused) {
		evconnlistener_enable(s->listener);
		s->paused = 0;
	} else if (!want && !s->paused) {
		evconnlistener_disable(s->listener);
		s->paused = 1;
	}
}

/* Sets the connection's deadline. The timer is only moved earlier; when it fires before
 * the deadline (which moved later meanwhile) it is set again for the rest, so a request
 * on a kept connection costs no timer changes. */
static void
conn_deadline(struct conn *c, int64_t due_us)
{
	int64_t now;
	struct timeval tv;

	c->due_us = due_us;
	if (due_us == 0 || (evtimer_pending(c->timer, NULL) && c->timer_at_us <= due_us))
		return;
	now = clock_us();
	if (due_us < now)
		due_us = now;
	tv.tv_sec = (due_us - now) / 1000000;
	tv.tv_usec = (due_us - now) % 1000000;
	evtimer_add(c->timer, &tv);
	c->timer_at_us = due_us;
}

static int64_t
after_ms(int ms)
{
	return clock_us() + (int64_t)ms * 1000;
}

static void
conn_reading(struct conn *c, int on)
{
	if (on && !c->reading)
		event_add(c->rev, NULL);
	else if (!on && c->reading)
		event_del(c->rev);
	c->reading = on;
}

static void
conn_writing(struct conn *c, int on)
{
	if (on && !c->writing)
		event_add(c->wev, NULL);
	else if (!on && c->writing)
		event_del(c->wev);
	c->writing = on;
}

/* Frees the connection. A request waiting for its answer is forgotten first: whatever
 * it waits for still happens, but its answer finds nobody (http_wait.c). */
static void
conn_close(struct conn *c)
{
	struct http_server *s = c->s;

	if (c->routed)
		http_wait_forget(s->d->waits, &c->req);
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	event_free(c->rev);
	event_free(c->wev);
	event_free(c->timer);
	close(c->fd);
	LIST_REMOVE(c, entry);
	free(c->in);
	free(c->out);
	free(c->req.fields);
	free(c->req.hdrs);
	s->d->stats.connections--;
	free(c);
	server_update_listener(s);
}

/* A handshake that failed is counted and logged, at most a line a second: scanners and
 * old clients fail by the thousand, and it is not the server's error. */
static void
tls_failed(struct conn *c)
{
	unsigned long e = ERR_peek_error(), suppressed;
	char why[WHY_MAX];

	if (e == 0 || SSL_is_init_finished(c->ssl))
		return;
	c->s->d->stats.tls_handshake_failures++;
	ERR_error_string_n(e, why, sizeof(why));
	if (log_ratelimit_ok(&c->s->rl_tls, &suppressed))
		log_info("msg=\"TLS handshake failed\" reason=\"%s\" suppressed=%lu", why,
		    suppressed);
}

/* A plain socket's recv or send: its count, -1 for nothing now, -2 for a failure. */
static ssize_t
plain_result(ssize_t n)
{
	if (n >= 0)
		return n;
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -1 : -2;
}

/* > 0 bytes read, 0 end of input, -1 nothing now, -2 the connection failed. */
static ssize_t
conn_recv(struct conn *c, char *buf, size_t n)
{
	int rc;

	if (c->ssl == NULL)
		return plain_result(recv(c->fd, buf, n, 0));
	ERR_clear_error();
	rc = SSL_read(c->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
	if (rc > 0)
		return rc;
	switch (SSL_get_error(c->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		return -1;
	case SSL_ERROR_WANT_WRITE:
		c->read_wants_write = 1;
		conn_writing(c, 1);
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		tls_failed(c);
		ERR_clear_error();
		return -2;
	}
}

/* > 0 bytes written, -1 not now, -2 the connection failed. */
static ssize_t
conn_send(struct conn *c, const char *buf, size_t n)
{
	int rc;

	if (c->ssl == NULL)
		return plain_result(send(c->fd, buf, n, MSG_NOSIGNAL));
	ERR_clear_error();
	rc = SSL_write(c->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
	if (rc > 0)
		return rc;
	switch (SSL_get_error(c->ssl, rc)) {
	case SSL_ERROR_WANT_WRITE:
		return -1;
	case SSL_ERROR_WANT_READ:
		c->write_wants_read = 1;
		return -1;
	default:
		ERR_clear_error();
		return -2;
	}
}

static void
out_append(struct conn *c, const void *p, size_t n)
{
	if (c->out_len + n > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 1024;

		while (cap < c->out_len + n)
			cap *= 2;
		c->out = xrealloc(c->out, cap);
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
}

static const char *
server_date(struct http_server *s)
{
	time_t now = time(NULL);
	struct tm tm;

	if (now != s->date_at && gmtime_r(&now, &tm) != NULL) {
		strftime(s->date, sizeof(s->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		s->date_at = now;
	}
	return s->date;
}

/* Queues an answer: status line, the common headers, extra (whole header lines), the
 * body (none for HEAD, though its length is said). */
static void
conn_queue_answer(struct conn *c, int code, const char *content_type, const char *extra,
    size_t extra_len, const char *body, size_t len, int head_only)
{
	char head[512];
	int n;

	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nDate: %s\r\n%s%s%s"
	    "Content-Length: %zu\r\n", code, http_reason_phrase(code), server_date(c->s),
	    content_type ? "Content-Type: " : "", content_type ? content_type : "",
	    content_type ? "\r\n" : "", len);
	if (n < 0 || (size_t)n >= sizeof(head))
		fatalx("%s: status line too long", __func__);
	out_append(c, head, (size_t)n);
	if (extra_len > 0)
		out_append(c, extra, extra_len);
	if (c->close_after)
		out_append(c, "Connection: close\r\n\r\n", 21);
	else if (c->req.http10)
		out_append(c, "Connection: keep-alive\r\n\r\n", 26);
	else
		out_append(c, "\r\n", 2);
	if (!head_only && len > 0)
		out_append(c, body, len);
}

/* The request just answered leaves the input buffer; what follows it is the next. */
static void
conn_next_request(struct conn *c)
{
	size_t used = c->head_len + c->body_len, rest = c->in_len - used;

	memmove(c->in, c->in + used, rest);
	c->in_len = rest;
	c->head_done = 0;
	c->head_len = c->body_len = 0;
	c->content_length = 0;
	c->chunked = 0;
	memset(&c->hs, 0, sizeof(c->hs));
	c->req.nfields = 0;
	c->req.hdrs_len = 0;
	c->routed = 0;
	if (rest == 0 && c->in_cap > IN_KEEP_CAP) {
		free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	}
	/* A pipelined request's bytes are here already: its deadline starts now. */
	conn_deadline(c, rest > 0 ? after_ms(c->s->read_timeout_ms) :
	    after_ms(c->s->idle_timeout_ms));
}

/* The request cannot be framed (400) or is too large (413): answered with
 * `Connection: close`, and nothing more is read from this connection. */
static void
conn_refuse(struct conn *c, int code, const char *why)
{
	unsigned long suppressed;
	const char *body = code == 413 ? "{\"error\":\"payload too large\"}" :
	    "{\"error\":\"bad request\"}";

	if (log_ratelimit_ok(&c->s->rl_head, &suppressed))
		log_warnx("msg=\"request refused: %s; answering %d and closing\" reason=\"%s\" "
		    "suppressed=%lu", code == 413 ? "too large" : "strict framing", code, why,
		    suppressed);
	c->close_after = 1;
	conn_queue_answer(c, code, "application/json", NULL, 0, body, strlen(body), 0);
	http_metrics_record(&c->s->d->stats.webhooks, c->head_done ?
	    http_req_path(&c->req) : NULL, code, 0);
}

/* Splits a head that http_head_check passed, in place: NULs end the method, the path,
 * each name and each value (trimmed of SP and HTAB). */
static void
conn_split_head(struct conn *c)
{
	struct http_req *r = &c->req;
	char *p = c->in, *end = c->in + c->head_len - 2, *le, *sp, *target, *v, *ve;
	const char *conn_hdr = "", *expect = NULL;
	size_t conn_len;

	le = memchr(p, '\r', (size_t)(end - p) + 1);
	sp = memchr(p, ' ', (size_t)(le - p));
	*sp = '\0';
	r->method = 0;
	target = sp + 1;
	sp = memchr(target, ' ', (size_t)(le - target));
	*sp = '\0';
	r->http10 = le[-1] == '0';
	*le = '\0';
	/* An absolute target (a proxy's form) names its path after the authority. */
	if (target[0] != '/' && (v = strstr(target, "://")) != NULL)
		target = strchr(v + 3, '/');
	if (target != NULL)
		target[strcspn(target, "?#")] = '\0';
	r->path = target != NULL ? (size_t)(target - c->in) : 0;
	r->nfields = 0;
	for (p = le + 2; p < end; p = le + 2) {
		le = memchr(p, '\r', (size_t)(end - p) + 1);
		v = memchr(p, ':', (size_t)(le - p));
		*v++ = '\0';
		v += strspn(v, " \t");
		for (ve = le; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
			;
		*ve = '\0';
		if (r->nfields == r->fields_cap) {
			r->fields_cap = r->fields_cap ? r->fields_cap * 2 : 16;
			r->fields = xrealloc(r->fields, r->fields_cap * sizeof(*r->fields));
		}
		r->fields[r->nfields].name = (size_t)(p - c->in);
		r->fields[r->nfields++].value = (size_t)(v - c->in);
		if (strcasecmp(p, "Content-Length") == 0)
			c->content_length = strtoull(v, NULL, 10);	/* 1 to 18 digits */
		else if (strcasecmp(p, "Connection") == 0)
			conn_hdr = v;
		else if (strcasecmp(p, "Expect") == 0)
			expect = v;
	}
	conn_len = strlen(conn_hdr);
	r->keep_alive = r->http10 ? http_token_in(conn_hdr, conn_len, "keep-alive") :
	    !http_token_in(conn_hdr, conn_len, "close");
	r->head_only = strcmp(c->in, "HEAD") == 0;
	/* A client that waits to be asked for its body (curl does, for large ones). */
	if (!r->http10 && expect != NULL && strcasecmp(expect, "100-continue") == 0 &&
	    c->content_length > 0 && c->content_length <= c->s->max_body &&
	    c->in_len - c->head_len < c->content_length)
		out_append(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
}

/* Frames the request at the front of the input: PARSE_REQUEST when it is whole. */
static enum parse
conn_parse(struct conn *c, int *code, char *why, size_t whylen)
{
	struct http_server *s = c->s;
	enum http_head r;

	*code = 400;
	if (!c->head_done) {
		size_t look = c->in_len < s->head_max ? c->in_len : s->head_max;
		int chunked = 0;

		if (look == 0)
			return PARSE_MORE;
		r = http_head_check(c->in, look, &c->hs, &c->head_len, &chunked, why, whylen);
		if (r == HTTP_HEAD_BAD)
			return PARSE_REFUSE;
		if (r == HTTP_HEAD_INCOMPLETE) {
			if (look < s->head_max)
				return PARSE_MORE;
			snprintf(why, whylen, "request head longer than server.max_headers");
			return PARSE_REFUSE;
		}
		c->head_done = 1;
		c->chunked = chunked;
		c->content_length = 0;
		memset(&c->ck, 0, sizeof(c->ck));
		conn_split_head(c);
		if (c->content_length > s->max_body) {
			*code = 413;
			snprintf(why, whylen, "Content-Length above server.max_body");
			return PARSE_REFUSE;
		}
	}
	if (c->chunked) {
		/* Decoded in place: the data moves down to follow what came before. */
		size_t at = c->head_len + c->body_len, used = 0, got = 0, rest;

		r = http_chunked_check(&c->ck, c->in + at, c->in_len - at, &used, c->in + at,
		    &got, why, whylen);
		if (r == HTTP_HEAD_BAD)
			return PARSE_REFUSE;
		c->body_len += got;
		rest = c->in_len - at - used;
		memmove(c->in + c->head_len + c->body_len, c->in + at + used, rest);
		c->in_len = c->head_len + c->body_len + rest;
		if (c->body_len > s->max_body) {
			*code = 413;
			snprintf(why, whylen, "chunked body above server.max_body");
			return PARSE_REFUSE;
		}
		if (r == HTTP_HEAD_INCOMPLETE)
			return PARSE_MORE;
	} else {
		if (c->in_len - c->head_len < c->content_length)
			return PARSE_MORE;
		c->body_len = (size_t)c->content_length;
	}
	return PARSE_REQUEST;
}

static size_t
in_max(const struct http_server *s)
{
	return s->head_max + s->max_body + IN_SLACK;
}

/* Routes every whole request in the input, one at a time, then writes what was
 * answered. May free c. */
static void
conn_process(struct conn *c)
{
	char why[WHY_MAX];
	int code;

	if (c->processing)
		return;
	c->processing = 1;
	while (!c->routed && !c->close_after) {
		enum parse p = conn_parse(c, &code, why, sizeof(why));

		if (p == PARSE_MORE) {
			/* Cannot happen within the limits; refused rather than spun on. */
			if (c->in_len == c->in_cap && c->in_cap >= in_max(c->s))
				conn_refuse(c, 413, "request larger than the input buffer");
			break;
		}
		if (p == PARSE_REFUSE) {
			conn_refuse(c, code, why);
			break;
		}
		c->routed = 1;
		c->due_us = 0;
		c->req.routed_us = clock_us();
		/* Answers sent from inside the route only queue their bytes (processing). */
		c->s->route(c->s->d, &c->req);
	}
	c->processing = 0;
	/* The client is done sending: a request it left unfinished never will be. */
	if (c->eof && !c->routed)
		c->close_after = 1;
	conn_flush(c);
}

/* The answer is written and the connection ends: close_notify for TLS, our half of the
 * connection shut, then what the client still sends is read and dropped until it closes
 * or LINGER_MS pass. */
static void
conn_finish(struct conn *c)
{
	if (c->ssl != NULL && SSL_is_init_finished(c->ssl)) {
		ERR_clear_error();
		(void)SSL_shutdown(c->ssl);
		ERR_clear_error();
	}
	if (c->eof || shutdown(c->fd, SHUT_WR) == -1) {
		conn_close(c);
		return;
	}
	c->lingering = 1;
	conn_writing(c, 0);
	conn_reading(c, 1);
	conn_deadline(c, after_ms(LINGER_MS));
}

/* Writes what is queued; 0, or -1 when c was freed. */
static int
conn_flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = conn_send(c, c->out + c->out_off, c->out_len - c->out_off);

		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n == -2) {
			conn_close(c);
			return -1;
		}
		if (!c->write_wants_read)
			conn_writing(c, 1);
		if (!c->routed)
			conn_deadline(c, after_ms(c->s->idle_timeout_ms));
		return 0;
	}
	c->out_off = c->out_len = 0;
	if (!c->read_wants_write)
		conn_writing(c, 0);
	if (c->close_after) {
		conn_finish(c);
		return -1;
	}
	return 0;
}

static void
conn_linger_read(struct conn *c)
{
	char sink[4096];

	for (;;) {
		ssize_t n = recv(c->fd, sink, sizeof(sink), 0);

		if (n > 0)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		conn_close(c);
		return;
	}
}

static int
conn_grow(struct conn *c)
{
	size_t cap, max = in_max(c->s);

	if (c->in_cap >= max)
		return 0;
	cap = c->in_cap ? c->in_cap * 2 : IN_FIRST_CAP;
	if (cap > max)
		cap = max;
	c->in = xrealloc(c->in, cap);
	c->in_cap = cap;
	return 1;
}

static void
conn_read(struct conn *c)
{
	for (;;) {
		size_t room = c->in_cap - c->in_len;
		ssize_t n;

		if (room == 0) {
			/* A routed request's bytes must stay where they are. */
			if (c->routed) {
				conn_reading(c, 0);
				break;
			}
			if (!conn_grow(c))
				break;
			room = c->in_cap - c->in_len;
		}
		n = conn_recv(c, c->in + c->in_len, room);
		if (n > 0) {
			/* The first byte of a request starts its deadline. */
			if (c->in_len == 0 && !c->routed)
				conn_deadline(c, after_ms(c->s->read_timeout_ms));
			c->in_len += (size_t)n;
			/* The socket was emptied (TLS may hold a record back). */
			if ((size_t)n < room && (c->ssl == NULL || !SSL_has_pending(c->ssl)))
				break;
			continue;
		}
		if (n == 0) {
			c->eof = 1;
			conn_reading(c, 0);
			break;
		}
		if (n == -2) {
			conn_close(c);
			return;
		}
		break;
	}
	conn_process(c);
}

static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->lingering) {
		conn_linger_read(c);
		return;
	}
	if (c->write_wants_read) {
		c->write_wants_read = 0;
		if (conn_flush(c) == -1)
			return;
	}
	/* The connection ends once its answer is written: nothing more is read. */
	if (c->close_after)
		conn_reading(c, 0);
	else
		conn_read(c);
}

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->read_wants_write) {
		c->read_wants_write = 0;
		if (c->out_len == 0)
			conn_writing(c, 0);
		conn_read(c);
		return;
	}
	conn_flush(c);
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	unsigned long suppressed;

	(void)fd;
	(void)what;
	if (c->due_us == 0)
		return;
	if (clock_us() < c->due_us) {
		int64_t due = c->due_us;

		conn_deadline(c, due);
		return;
	}
	if (c->in_len > 0 && !c->routed && !c->lingering && c->out_len == 0 &&
	    log_ratelimit_ok(&c->s->rl_deadline, &suppressed))
		log_warnx("msg=\"request not complete within read_timeout; connection closed\" "
		    "timeout_ms=%d suppressed=%lu", c->s->read_timeout_ms, suppressed);
	conn_close(c);
}

static void
accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct http_server *s = arg;
	struct event_base *base = evconnlistener_get_base(lev);
	struct conn *c = xcalloc(1, sizeof(*c));

	(void)salen;
	c->s = s;
	c->fd = fd;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, c->peer,
		    sizeof(c->peer));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, c->peer,
		    sizeof(c->peer));
	c->req.conn = c;
	c->rev = event_new(base, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
	c->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, conn_write_cb, c);
	c->timer = evtimer_new(base, conn_timer_cb, c);
	if (c->rev == NULL || c->wev == NULL || c->timer == NULL)
		fatalx("%s: event_new failed", __func__);
	if (s->tls != NULL) {
		if ((c->ssl = SSL_new(s->tls)) == NULL || SSL_set_fd(c->ssl, fd) != 1)
			fatalx("%s: SSL_new failed", __func__);
		SSL_set_accept_state(c->ssl);
		SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
		    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
		/* A client that closes without close_notify has still sent its request. */
		SSL_set_options(c->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
	}
	LIST_INSERT_HEAD(&s->conns, c, entry);
	s->d->stats.connections++;
	conn_reading(c, 1);
	conn_deadline(c, after_ms(s->idle_timeout_ms));
	server_update_listener(s);
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	server_update_listener(arg);
}

static void
accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct http_server *s = arg;
	struct timeval tv = { 0, EMFILE_BACKOFF_MS * 1000 };
	unsigned long suppressed;
	int err = EVUTIL_SOCKET_ERROR();

	(void)lev;
	if (log_ratelimit_ok(&s->rl_emfile, &suppressed))
		log_warnx("msg=\"accept failed; pausing accepts\" error=\"%s\" "
		    "connections=%d backoff_ms=%d suppressed=%lu", strerror(err),
		    (int)s->d->stats.connections, EMFILE_BACKOFF_MS, suppressed);
	/* The pending connection stays in the backlog, so a listener left enabled would be
	 * woken again at once: pause it and retry after a moment. */
	evtimer_add(s->resume, &tv);
	server_update_listener(s);
}

struct http_server *
http_server_new(struct daemon *d, int fd, http_route_fn route)
{
	struct http_server *s = xcalloc(1, sizeof(*s));

	s->d = d;
	s->route = route;
	s->fd = fd;
	LIST_INIT(&s->conns);
	s->accepting = 1;
	s->max_conns = 1;
	s->resume = evtimer_new(d->base, resume_cb, s);
	/* Backlog -1: the socket listens already (http.c sets its own backlog). */
	s->listener = evconnlistener_new(d->base, accept_cb, s, LEV_OPT_CLOSE_ON_FREE |
	    LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (s->resume == NULL || s->listener == NULL)
		fatalx("%s: evconnlistener_new failed", __func__);
	evconnlistener_set_error_cb(s->listener, accept_error_cb);
	return s;
}

void
http_server_apply(struct http_server *s, const struct http_limits *l)
{
	s->max_conns = l->max_connections;
	s->read_timeout_ms = l->read_timeout_ms;
	s->idle_timeout_ms = l->idle_timeout_ms;
	s->head_max = l->max_headers + HEAD_SLACK;
	s->max_body = l->max_body;
	server_update_listener(s);
}

void
http_server_set_tls(struct http_server *s, struct ssl_ctx_st *ctx)
{
	if (ctx == NULL)
		return;
	tls_ctx_unref(s->tls);
	s->tls = tls_ctx_ref(ctx);
}

int
http_server_port(const struct http_server *s)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(s->fd, (struct sockaddr *)&ss, &sl) == -1)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* SIGTERM: no new connection; idle ones close now; the others end with the answer to
 * the request they carry or are receiving, which says `Connection: close`. */
void
http_server_drain(struct http_server *s)
{
	struct conn *c, *next;

	s->accepting = 0;
	s->draining = 1;
	server_update_listener(s);
	for (c = LIST_FIRST(&s->conns); c != NULL; c = next) {
		next = LIST_NEXT(c, entry);	/* closing c frees c, and only c */
		if (c->in_len == 0 && !c->routed && c->out_len == 0)
			conn_close(c);
	}
}

void
http_server_free(struct http_server *s)
{
	if (s == NULL)
		return;
	s->accepting = 0;
	while (!LIST_EMPTY(&s->conns))
		conn_close(LIST_FIRST(&s->conns));
	evconnlistener_free(s->listener);
	event_free(s->resume);
	tls_ctx_unref(s->tls);
	free(s);
}

/* The request's side. */

const char *
http_req_method(const struct http_req *r)
{
	return r->conn->in + r->method;
}

const char *
http_req_path(const struct http_req *r)
{
	return r->path != 0 ? r->conn->in + r->path : "/";
}

const char *
http_req_header(const struct http_req *r, const char *name, int *count)
{
	const char *in = r->conn->in, *found = NULL;
	int n = 0;

	for (size_t i = 0; i < r->nfields; i++) {
		if (strcasecmp(in + r->fields[i].name, name) != 0)
			continue;
		if (found == NULL)
			found = in + r->fields[i].value;
		n++;
	}
	if (count != NULL)
		*count = n;
	return found;
}

const char *
http_req_field(const struct http_req *r, size_t i, const char **name)
{
	if (i >= r->nfields)
		return NULL;
	*name = r->conn->in + r->fields[i].name;
	return r->conn->in + r->fields[i].value;
}

const char *
http_req_body(const struct http_req *r, size_t *len)
{
	*len = r->conn->body_len;
	return *len > 0 ? r->conn->in + r->conn->head_len : "";
}

const char *
http_req_peer(const struct http_req *r)
{
	return r->conn->peer;
}

void
http_req_add_header(struct http_req *r, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value), need = nl + vl + 4;

	if (r->hdrs_len + need > r->hdrs_cap) {
		size_t cap = r->hdrs_cap ? r->hdrs_cap : 256;

		while (cap < r->hdrs_len + need)
			cap *= 2;
		r->hdrs = xrealloc(r->hdrs, cap);
		r->hdrs_cap = cap;
	}
	memcpy(r->hdrs + r->hdrs_len, name, nl);
	memcpy(r->hdrs + r->hdrs_len + nl, ": ", 2);
	memcpy(r->hdrs + r->hdrs_len + nl + 2, value, vl);
	memcpy(r->hdrs + r->hdrs_len + nl + 2 + vl, "\r\n", 2);
	r->hdrs_len += need;
}

void
http_respond(struct http_req *r, int code, const char *content_type, const char *body,
    size_t len)
{
	struct conn *c = r->conn;

	if (!r->keep_alive || c->s->draining || c->eof)
		c->close_after = 1;
	conn_queue_answer(c, code, content_type, r->hdrs, r->hdrs_len, body, len,
	    r->head_only);
	http_metrics_record(&c->s->d->stats.webhooks, http_req_path(r), code,
	    clock_us() - r->routed_us);
	conn_next_request(c);
	/* From another thread's answer: read on, route what came meanwhile, write. */
	if (!c->processing) {
		if (!c->reading && !c->eof && !c->close_after) {
			conn_reading(c, 1);
			event_active(c->rev, EV_READ, 0);
		}
		conn_process(c);
	}
}
