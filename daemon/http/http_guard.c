/* http_guard.c: the connection limits libevent 2.1's evhttp does not have. It caps
 * open connections (accepts pause at the cap), gives each request a whole-request
 * deadline (a client trickling one byte at a time is cut off), and backs off when
 * accept() fails for lack of descriptors instead of spinning at 100% CPU.
 *
 * How, with evhttp's public hooks only: evhttp asks us for each new connection's
 * bufferevent (evhttp_set_bevcb); we make a plain socket one, exactly as evhttp would,
 * and keep a record beside it. Right after the accept, once evhttp has wired the
 * connection up, we register a close callback on it (evhttp_connection_set_closecb), so
 * the record lives exactly as long as the connection. A callback on the input buffer sees
 * the first byte of each request, which starts the deadline; http.c tells us when the
 * request was read whole, which stops it.
 *
 * It also knows each connection's request from the moment it is routed until its answer
 * is written whole (evhttp_request_set_on_complete_cb) or the connection dies, which is
 * what an exact SIGTERM drain needs: idle connections are closed at once, busy ones end
 * with their answer (`Connection: close`), and a request whose connection dies while it
 * waits for the storage side is forgotten (http_wait.c) before evhttp frees it.
 *
 * The same input callback keeps a copy of each request head as it arrives and checks it
 * with http_head_check before evhttp reads it (and a chunked body's framing with
 * http_chunked_check): evhttp reads a head line by line as its LF arrives, and our
 * callback runs before evhttp's read callback, so a line we refuse is never parsed. A
 * head starts with the connection's first byte and, on a keep-alive connection, right
 * after the previous request was read whole (evhttp reads one request at a time and
 * drains exactly its bytes). A refused request is answered by evhttp itself: we replace
 * the unread input with a line its parser rejects, so evhttp answers 400 with
 * Connection: close at exactly the point of the stream where the bad request began
 * (after any earlier request on the connection is answered) and then closes. In a
 * chunked body the same line makes evhttp answer 413 (its one answer for a corrupt body)
 * with Connection: close.
 *
 * With server.tls on, the bufferevent we make is an OpenSSL one (base/tls.c) that
 * accepts the handshake: its input buffer holds the decrypted bytes, so everything
 * above sees plain HTTP. A handshake that fails is counted and logged on close. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/resource.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "../base/tls.h"
#include "../shokaid.h"

#define EMFILE_BACKOFF_MS	250
/* Room for the request line and line ends, which evhttp's max_headers does not count. */
#define HEAD_SLACK		4096
/* Neither a request line nor a header field: evhttp's parser refuses it in either state
 * (no space, no colon) and answers 400 with Connection: close. */
#define HEAD_POISON		"X\r\n"

enum head_state {
	HEAD_READING,		/* copying and checking a request head */
	HEAD_CHUNKED,		/* the head was good; checking its chunked body */
	HEAD_PASSED,		/* the request was good; evhttp reads the rest */
	HEAD_REFUSED		/* evhttp will answer 400 (or 413) and close */
};

struct conn {
	LIST_ENTRY(conn)		 entry;
	struct http_guard		*g;
	struct bufferevent		*bev;		/* owned by evhttp */
	struct evhttp_connection	*evcon;		/* set once attached */
	struct evbuffer_cb_entry	*input_cb;
	int				 fd;
	int				 reading;	/* bytes of a request seen, not done */
	struct evhttp_request		*req;		/* routed, answer not yet written
							   whole; owned by evhttp */
	int64_t				 routed_us;	/* when req was routed */
	enum head_state			 head;
	char				*head_buf;	/* the current request head so far */
	size_t				 head_len, head_cap;
	struct http_head_state		 head_state;	/* http_head_check's progress */
	struct http_chunked		 chunked;
	int				 poisoning;	/* our own change to the input */
	struct event			*attach;
	struct event			*deadline;
};

struct http_guard {
	struct daemon		*d;
	struct evconnlistener	*listener;
	LIST_HEAD(, conn)	 conns;
	struct conn		**by_fd;	/* index: fd; to find a request's connection */
	size_t			 by_fd_len;
	int			 reading;
	int			 max_conns;
	int			 read_timeout_ms;
	size_t			 head_max;	/* longest request head we copy */
	int			 accepting;	/* 0 after stop_accepting */
	int			 draining;	/* no new request is read */
	int			 paused;	/* listener disabled (cap or EMFILE) */
	struct event		*resume;
	struct ssl_ctx_st	*tls;		/* new connections' context; NULL: plain */
	struct log_ratelimit	 rl_emfile, rl_deadline, rl_head, rl_tls;
};

static void
guard_update_listener(struct http_guard *g)
{
	/* The daemon's gauge of open connections (the console reads it too). */
	int want = g->accepting && g->d->stats.connections < g->max_conns &&
	    !evtimer_pending(g->resume, NULL);

	if (want && g->paused) {
		evconnlistener_enable(g->listener);
		g->paused = 0;
	} else if (!want && !g->paused) {
		evconnlistener_disable(g->listener);
		g->paused = 1;
	}
}

static void
conn_stop_reading(struct conn *c)
{
	if (!c->reading)
		return;
	c->reading = 0;
	c->g->reading--;
	evtimer_del(c->deadline);
}

static void
conn_free(struct conn *c)
{
	struct http_guard *g = c->g;

	conn_stop_reading(c);
	if (c->input_cb != NULL)
		evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->input_cb);
	if (c->fd >= 0 && (size_t)c->fd < g->by_fd_len && g->by_fd[c->fd] == c)
		g->by_fd[c->fd] = NULL;
	event_free(c->deadline);
	event_free(c->attach);
	LIST_REMOVE(c, entry);
	free(c->head_buf);
	g->d->stats.connections--;
	free(c);
	guard_update_listener(g);
}

/* evhttp is freeing the connection: the bufferevent is still valid here, and so is a
 * request still waiting for its answer. evhttp frees that request right after this, or,
 * if the client went away, leaves it to its holder; either way whoever parked it
 * (http_wait.c) must let go of it now and never answer it. */
static void
on_close(struct evhttp_connection *evcon, void *arg)
{
	struct conn *c = arg;
	struct http_guard *g = c->g;
	unsigned long suppressed;
	char why[WHY_MAX];

	(void)evcon;
	if (g->tls != NULL && tls_handshake_failed(c->bev, why, sizeof(why))) {
		g->d->stats.tls_handshake_failures++;
		/* Scanners and old clients fail by the thousand: not an error, and one
		 * line a second at most. */
		if (log_ratelimit_ok(&g->rl_tls, &suppressed))
			log_info("msg=\"TLS handshake failed\" reason=\"%s\" suppressed=%lu",
			    why, suppressed);
	}
	if (c->req != NULL) {
		evhttp_request_set_on_complete_cb(c->req, NULL, NULL);
		http_wait_forget(c->g->d->waits, c->req);
		c->req = NULL;
	}
	conn_free(c);
}

/* The request's answer has been written whole. */
static void
on_complete(struct evhttp_request *req, void *arg)
{
	struct conn *c = arg;

	http_metrics_record(&c->g->d->stats.webhooks, req, clock_us() - c->routed_us);
	c->req = NULL;
}

/* The answer says `Connection: close`, and evhttp, which looks at the answer's headers
 * once it is written, closes the connection instead of reading another request. Safe
 * while the answer is being written too: only that last check reads the header then. */
static void
request_last_on_connection(struct evhttp_request *req)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);

	evhttp_remove_header(out, "Connection");
	evhttp_add_header(out, "Connection", "close");
	/* An HTTP/1.0 client's "Connection: keep-alive" would make evhttp add that header
	 * beside ours; without it evhttp treats the request as one that ends the
	 * connection, which it is. */
	evhttp_remove_header(evhttp_request_get_input_headers(req), "Connection");
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct bufferevent *bev = c->bev;
	unsigned long suppressed;

	(void)fd;
	(void)what;
	if (log_ratelimit_ok(&c->g->rl_deadline, &suppressed))
		log_warnx("msg=\"request not complete within read_timeout; connection closed\" "
		    "timeout_ms=%d suppressed=%lu", c->g->read_timeout_ms, suppressed);
	conn_stop_reading(c);
	/* evhttp closes the connection as for any read timeout, without a response; that
	 * runs on_close, which frees c: touch nothing after this. */
	bufferevent_trigger_event(bev, BEV_EVENT_READING | BEV_EVENT_TIMEOUT, 0);
}

/* The head is refused: the unread input becomes HEAD_POISON (see the top of the file).
 * Only the front of the input buffer changes: a socket bufferevent freezes its end. */
static void
head_refuse(struct conn *c, struct evbuffer *in, const char *why)
{
	unsigned long suppressed;

	if (log_ratelimit_ok(&c->g->rl_head, &suppressed))
		log_warnx("msg=\"request refused: strict framing; answering 4xx and closing\" "
		    "reason=\"%s\" suppressed=%lu", why, suppressed);
	c->head = HEAD_REFUSED;
	free(c->head_buf);
	c->head_buf = NULL;
	c->head_len = c->head_cap = 0;
	c->poisoning = 1;
	if (evbuffer_drain(in, evbuffer_get_length(in)) == -1 ||
	    evbuffer_prepend(in, HEAD_POISON, strlen(HEAD_POISON)) == -1) {
		struct timeval now = { 0, 0 };

		/* Not expected (only the end of a socket bufferevent's input is frozen);
		 * the deadline closes the connection at once, from the loop rather than
		 * from inside evhttp's callbacks. */
		log_warnx("msg=\"cannot rewrite a refused request's input; closing\"");
		evtimer_add(c->deadline, &now);
	}
	c->poisoning = 0;
}

/* Checks a chunked body's bytes from offset from to the end of the input. */
static void
chunked_feed(struct conn *c, struct evbuffer *in, size_t from)
{
	size_t len = evbuffer_get_length(in), n, used;
	struct evbuffer_ptr ptr;
	enum http_head r;
	char slice[4096], why[WHY_MAX];

	while (c->head == HEAD_CHUNKED && from < len) {
		n = len - from < sizeof(slice) ? len - from : sizeof(slice);
		if (evbuffer_ptr_set(in, &ptr, from, EVBUFFER_PTR_SET) == -1 ||
		    evbuffer_copyout_from(in, &ptr, slice, n) != (ev_ssize_t)n)
			fatalx("%s: cannot copy the input buffer", __func__);
		r = http_chunked_check(&c->chunked, slice, n, &used, why, sizeof(why));
		if (r == HTTP_HEAD_BAD)
			head_refuse(c, in, why);
		else if (r == HTTP_HEAD_COMPLETE)
			c->head = HEAD_PASSED;
		from += n;
	}
}

/* Copies the input's bytes from offset from on into the head being read and checks it
 * when a line has ended. */
static void
head_feed(struct conn *c, struct evbuffer *in, size_t from)
{
	size_t len = evbuffer_get_length(in), n, room, head_len = 0, old_len = c->head_len;
	struct evbuffer_ptr ptr;
	enum http_head r;
	char why[WHY_MAX];
	int line_ended, chunked = 0;

	if (c->head != HEAD_READING || from >= len)
		return;
	/* A reload may have lowered head_max below what this head already holds. */
	room = c->head_len < c->g->head_max ? c->g->head_max - c->head_len : 0;
	n = len - from < room ? len - from : room;
	line_ended = 0;
	if (n > 0) {
		if (c->head_len + n > c->head_cap) {
			size_t cap = c->head_cap ? c->head_cap : 512;

			while (cap < c->head_len + n)
				cap *= 2;
			c->head_buf = xrealloc(c->head_buf, cap);
			c->head_cap = cap;
		}
		if (evbuffer_ptr_set(in, &ptr, from, EVBUFFER_PTR_SET) == -1 ||
		    evbuffer_copyout_from(in, &ptr, c->head_buf + c->head_len, n) !=
		    (ev_ssize_t)n)
			fatalx("%s: cannot copy the input buffer", __func__);
		line_ended = memchr(c->head_buf + c->head_len, '\n', n) != NULL;
		c->head_len += n;
	}
	/* Only a whole line can change the verdict (evhttp too waits for the LF). */
	r = line_ended ? http_head_check(c->head_buf, c->head_len, &c->head_state, &head_len,
	    &chunked, why, sizeof(why)) : HTTP_HEAD_INCOMPLETE;
	if (r == HTTP_HEAD_INCOMPLETE && c->head_len >= c->g->head_max) {
		snprintf(why, sizeof(why), "request head longer than server.max_headers");
		r = HTTP_HEAD_BAD;
	}
	if (r == HTTP_HEAD_BAD)
		head_refuse(c, in, why);
	else if (r == HTTP_HEAD_COMPLETE) {
		c->head = chunked ? HEAD_CHUNKED : HEAD_PASSED;
		free(c->head_buf);	/* idle keep-alive connections hold no copy */
		c->head_buf = NULL;
		c->head_len = c->head_cap = 0;
		memset(&c->chunked, 0, sizeof(c->chunked));
		/* The body starts right after the head: input offset from held byte
		 * old_len of the request. */
		chunked_feed(c, in, from + (head_len - old_len));
	}
}

/* The next request starts at the front of the input buffer. */
static void
head_restart(struct conn *c, struct evbuffer *in)
{
	c->head = HEAD_READING;
	c->head_len = 0;
	memset(&c->head_state, 0, sizeof(c->head_state));
	head_feed(c, in, 0);
}

/* Runs whenever bytes arrive (before evhttp's read callback sees them): the first of a
 * request starts its deadline, and the head is copied and checked. */
static void
input_added(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;
	struct timeval tv;

	if (info->n_added == 0 || c->evcon == NULL || c->poisoning)
		return;
	if (!c->reading) {
		tv.tv_sec = c->g->read_timeout_ms / 1000;
		tv.tv_usec = (c->g->read_timeout_ms % 1000) * 1000;
		c->reading = 1;
		c->g->reading++;
		evtimer_add(c->deadline, &tv);
	}
	/* The callback runs after each change, so the new bytes are the last ones. */
	if (c->head == HEAD_READING)
		head_feed(c, buf, evbuffer_get_length(buf) - info->n_added);
	else if (c->head == HEAD_CHUNKED)
		chunked_feed(c, buf, evbuffer_get_length(buf) - info->n_added);
}

/* Just after the accept: evhttp has set the bufferevent's callbacks, whose argument is
 * the connection. We held a reference, so the bufferevent is valid even if evhttp gave
 * up on the connection meanwhile (then its callbacks are cleared). */
static void
attach_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct bufferevent *bev = c->bev;
	bufferevent_data_cb readcb = NULL;
	void *cbarg = NULL;

	(void)fd;
	(void)what;
	bufferevent_getcb(c->bev, &readcb, NULL, NULL, &cbarg);
	if (readcb == NULL || cbarg == NULL) {
		c->input_cb = NULL;
		conn_free(c);
		bufferevent_decref(bev);
		return;
	}
	c->evcon = cbarg;
	c->fd = bufferevent_getfd(c->bev);
	if (c->fd >= 0 && (size_t)c->fd < c->g->by_fd_len)
		c->g->by_fd[c->fd] = c;
	evhttp_connection_set_closecb(c->evcon, on_close, c);
	c->input_cb = evbuffer_add_cb(bufferevent_get_input(c->bev), input_added, c);
	/* Bytes may have arrived with the connection: all of them are new. */
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0) {
		struct evbuffer *in = bufferevent_get_input(c->bev);
		struct evbuffer_cb_info info = { 0, evbuffer_get_length(in), 0 };

		input_added(in, &info, c);
	}
	/* Accepted just as the drain began, nothing sent yet: no request will be read. */
	if (c->g->draining && !c->reading)
		evhttp_connection_free(c->evcon);	/* runs on_close, which frees c */
	bufferevent_decref(bev);
}

static struct bufferevent *
make_bev(struct event_base *base, void *arg)
{
	struct http_guard *g = arg;
	struct conn *c = xcalloc(1, sizeof(*c));

	c->g = g;
	c->fd = -1;
	LIST_INSERT_HEAD(&g->conns, c, entry);
	/* As evhttp makes its own: no options; evhttp closes the fd after freeing it.
	 * A TLS one closes the fd itself (and frees its SSL). */
	if (g->tls != NULL)
		c->bev = tls_bev_new(base, g->tls);
	else
		c->bev = bufferevent_socket_new(base, -1, 0);
	if (c->bev == NULL)
		fatalx("%s: bufferevent_socket_new failed", __func__);
	bufferevent_incref(c->bev);	/* until attach_cb has looked at it */
	c->deadline = evtimer_new(base, deadline_cb, c);
	c->attach = event_new(base, -1, 0, attach_cb, c);
	event_priority_set(c->attach, PRIO_FIRST);
	event_active(c->attach, 0, 0);
	g->d->stats.connections++;
	guard_update_listener(g);
	return c->bev;
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	guard_update_listener(arg);
}

/* libevent hands the listener's error callback the listener's user data, which evhttp
 * owns (its struct evhttp), not ours; so the one guard of the process is found here.
 * This is the only such pointer, set once in http_guard_new. */
static struct http_guard *accept_guard;

static void
accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct http_guard *g = accept_guard;
	struct timeval tv = { 0, EMFILE_BACKOFF_MS * 1000 };
	unsigned long suppressed;
	int err = EVUTIL_SOCKET_ERROR();

	(void)lev;
	(void)arg;
	if (log_ratelimit_ok(&g->rl_emfile, &suppressed))
		log_warnx("msg=\"accept failed; pausing accepts\" error=\"%s\" "
		    "connections=%d backoff_ms=%d suppressed=%lu", strerror(err),
		    (int)g->d->stats.connections, EMFILE_BACKOFF_MS, suppressed);
	/* The pending connection stays in the backlog, so a listener left enabled would be
	 * woken again at once: pause it and retry after a moment. */
	evtimer_add(g->resume, &tv);
	guard_update_listener(g);
}

struct http_guard *
http_guard_new(struct daemon *d, struct evhttp *http, struct evconnlistener *listener)
{
	struct http_guard *g = xcalloc(1, sizeof(*g));
	struct rlimit rl;

	g->d = d;
	LIST_INIT(&g->conns);
	g->listener = listener;
	g->accepting = 1;
	g->by_fd_len = 65536;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < g->by_fd_len)
		g->by_fd_len = rl.rlim_cur;
	g->by_fd = xcalloc(g->by_fd_len, sizeof(*g->by_fd));
	g->resume = evtimer_new(d->base, resume_cb, g);
	evhttp_set_bevcb(http, make_bev, g);
	accept_guard = g;
	evconnlistener_set_error_cb(listener, accept_error_cb);
	return g;
}

void
http_guard_apply(struct http_guard *g, int max_conns, int read_timeout_ms,
    size_t max_headers)
{
	g->max_conns = max_conns;
	g->read_timeout_ms = read_timeout_ms;
	g->head_max = max_headers + HEAD_SLACK;
	guard_update_listener(g);
}

void
http_guard_set_tls(struct http_guard *g, struct ssl_ctx_st *ctx)
{
	if (ctx == NULL)
		return;
	tls_ctx_unref(g->tls);
	g->tls = tls_ctx_ref(ctx);
}

void
http_guard_request_read(struct http_guard *g, struct evhttp_request *req,
    int64_t routed_us)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	int fd = bev ? bufferevent_getfd(bev) : -1;
	struct conn *c;

	if (fd < 0 || (size_t)fd >= g->by_fd_len || g->by_fd[fd] == NULL ||
	    g->by_fd[fd]->evcon != evcon)
		return;
	c = g->by_fd[fd];
	conn_stop_reading(c);
	/* evhttp drained exactly this request: what is left begins the next one. */
	if (c->head != HEAD_REFUSED)
		head_restart(c, bufferevent_get_input(bev));
	c->req = req;
	c->routed_us = routed_us;
	evhttp_request_set_on_complete_cb(req, on_complete, c);
	if (g->draining)
		request_last_on_connection(req);
}

void
http_guard_stop_accepting(struct http_guard *g)
{
	g->accepting = 0;
	guard_update_listener(g);
}

void
http_guard_drain(struct http_guard *g)
{
	struct conn *c, *next;

	http_guard_stop_accepting(g);
	g->draining = 1;
	for (c = LIST_FIRST(&g->conns); c != NULL; c = next) {
		next = LIST_NEXT(c, entry);	/* closing c frees c, and only c */
		if (c->evcon == NULL)		/* attach_cb decides */
			continue;
		if (c->req != NULL)		/* ends with its answer */
			request_last_on_connection(c->req);
		else if (!c->reading)		/* idle: nothing to answer */
			evhttp_connection_free(c->evcon);
		/* else a request is arriving: it is read, routed and marked then */
	}
}

/* After evhttp_free, which closed every connection (and so freed every record). */
void
http_guard_free(struct http_guard *g)
{
	if (g == NULL)
		return;
	event_free(g->resume);
	tls_ctx_unref(g->tls);
	if (accept_guard == g)
		accept_guard = NULL;
	free(g->by_fd);
	free(g);
}
