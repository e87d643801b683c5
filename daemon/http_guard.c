/* http_guard.c: the connection limits libevent 2.1's evhttp does not have. It caps
 * open connections (accepts pause at the cap), gives each request a whole-request
 * deadline (a client trickling one byte at a time is cut off), and backs off when
 * accept() fails for lack of descriptors instead of spinning at 100% CPU.
 *
 * How: evhttp asks us for each new connection's bufferevent (evhttp_set_bevcb). We hand
 * it a pass-through filter over a socket bufferevent; the filter's context is our
 * per-connection record, freed by libevent exactly when evhttp frees the connection.
 * The filter sees every byte read, which starts the deadline; http.c tells us when a
 * complete request was read, which stops it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "shokaid.h"

#define EMFILE_BACKOFF_MS 250

struct conn {
	struct http_guard	*g;
	struct bufferevent	*filter;	/* what evhttp sees; owns under */
	struct bufferevent	*under;		/* the socket; closes the fd when freed */
	int			 fd;		/* -1 until the first byte */
	int			 reading;	/* bytes of a request seen, request not done */
	struct event		*deadline;
	struct event		*flush;
};

struct http_guard {
	struct daemon		*d;
	struct evconnlistener	*listener;
	struct conn		**by_fd;	/* index: fd; to find a request's connection */
	size_t			 by_fd_len;
	int			 nconns;
	int			 reading;
	int			 max_conns;
	int			 read_timeout_ms;
	int			 accepting;	/* 0 after stop_accepting */
	int			 paused;	/* listener disabled (cap or EMFILE) */
	struct event		*resume;
	struct log_ratelimit	 rl_emfile, rl_deadline;
};

static int conn_released(struct conn *);

static void
guard_update_listener(struct http_guard *g)
{
	int want = g->accepting && g->nconns < g->max_conns && !evtimer_pending(g->resume, NULL);

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
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	unsigned long suppressed;

	(void)fd;
	(void)what;
	if (log_ratelimit_ok(&c->g->rl_deadline, &suppressed))
		log_warnx("msg=\"request not complete within read_timeout; connection closed\" "
		    "timeout_ms=%d suppressed=%lu", c->g->read_timeout_ms, suppressed);
	conn_stop_reading(c);
	if (conn_released(c))
		return;
	/* evhttp closes the connection as for any read timeout, without a response. */
	bufferevent_trigger_event(c->filter, BEV_EVENT_READING | BEV_EVENT_TIMEOUT, 0);
}

static enum bufferevent_filter_result
filter_in(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
    enum bufferevent_flush_mode mode, void *arg)
{
	struct conn *c = arg;
	struct http_guard *g = c->g;

	(void)limit;
	(void)mode;
	if (evbuffer_get_length(src) == 0)
		return BEV_OK;
	if (c->fd == -1) {
		c->fd = bufferevent_getfd(c->under);
		if (c->fd >= 0 && (size_t)c->fd < g->by_fd_len)
			g->by_fd[c->fd] = c;
	}
	if (!c->reading) {
		struct timeval tv = { g->read_timeout_ms / 1000,
		    (g->read_timeout_ms % 1000) * 1000 };

		c->reading = 1;
		g->reading++;
		evtimer_add(c->deadline, &tv);
	}
	evbuffer_add_buffer(dst, src);
	return BEV_OK;
}

/* Writes straight to the socket. evhttp takes "output filtered" as "response sent" and
 * may free the connection at once (Connection: close, 413): bytes left queued in the
 * socket bufferevent would then be lost. Only what the kernel does not take at once
 * (a client that stopped reading) waits there. */
static enum bufferevent_filter_result
filter_out(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
    enum bufferevent_flush_mode mode, void *arg)
{
	struct conn *c = arg;
	int fd = bufferevent_getfd(c->under);

	(void)limit;
	(void)mode;
	if (fd >= 0 && evbuffer_get_length(dst) == 0)
		(void)evbuffer_write(src, fd);
	evbuffer_add_buffer(dst, src);
	return BEV_OK;
}

/* evhttp has let go of the connection (bufferevent_free clears the callbacks) but
 * libevent has not destroyed it yet: touch nothing then. */
static int
conn_released(struct conn *c)
{
	bufferevent_event_cb eventcb = NULL;

	bufferevent_getcb(c->filter, NULL, NULL, &eventcb, NULL);
	return eventcb == NULL;
}

static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (!conn_released(c))
		bufferevent_flush(c->filter, EV_WRITE, BEV_NORMAL);
}

static void
output_added(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;

	(void)buf;
	if (info->n_added > 0)
		event_active(c->flush, 0, 0);
}

/* Called by libevent when evhttp frees the connection's bufferevent. */
static void
conn_free(void *arg)
{
	struct conn *c = arg;
	struct http_guard *g = c->g;

	conn_stop_reading(c);
	if (c->fd >= 0 && (size_t)c->fd < g->by_fd_len && g->by_fd[c->fd] == c)
		g->by_fd[c->fd] = NULL;
	event_free(c->deadline);
	event_free(c->flush);
	g->nconns--;
	free(c);
	guard_update_listener(g);
}

static struct bufferevent *
make_bev(struct event_base *base, void *arg)
{
	struct http_guard *g = arg;
	struct conn *c = xcalloc(1, sizeof(*c));

	c->g = g;
	c->fd = -1;
	/* evhttp leaves closing the fd to a bufferevent with BEV_OPT_CLOSE_ON_FREE; the
	 * filter frees the socket bufferevent, which closes the fd. */
	c->under = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (c->under == NULL)
		fatalx("%s: bufferevent_socket_new failed", __func__);
	c->filter = bufferevent_filter_new(c->under, filter_in, filter_out,
	    BEV_OPT_CLOSE_ON_FREE, conn_free, c);
	if (c->filter == NULL)
		fatalx("%s: bufferevent_filter_new failed", __func__);
	/* libevent 2.1's filter does not process output that was added before evhttp
	 * enabled writing (which is how evhttp sends every response): we notice the add
	 * and flush a moment later, in the same loop turn. */
	c->flush = event_new(base, -1, 0, flush_cb, c);
	evbuffer_add_cb(bufferevent_get_output(c->filter), output_added, c);
	c->deadline = evtimer_new(base, deadline_cb, c);
	g->nconns++;
	guard_update_listener(g);
	return c->filter;
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
		    "connections=%d backoff_ms=%d suppressed=%lu", strerror(err), g->nconns,
		    EMFILE_BACKOFF_MS, suppressed);
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
http_guard_apply(struct http_guard *g, int max_conns, int read_timeout_ms)
{
	g->max_conns = max_conns;
	g->read_timeout_ms = read_timeout_ms;
	guard_update_listener(g);
}

void
http_guard_request_read(struct http_guard *g, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	int fd = bev ? bufferevent_getfd(bev) : -1;

	if (fd >= 0 && (size_t)fd < g->by_fd_len && g->by_fd[fd] != NULL)
		conn_stop_reading(g->by_fd[fd]);
}

void
http_guard_stop_accepting(struct http_guard *g)
{
	g->accepting = 0;
	guard_update_listener(g);
}

int
http_guard_connections(const struct http_guard *g)
{
	return g->nconns;
}

int
http_guard_busy(const struct http_guard *g)
{
	return g->reading;
}

void
http_guard_free(struct http_guard *g)
{
	if (g == NULL)
		return;
	event_free(g->resume);
	if (accept_guard == g)
		accept_guard = NULL;
	free(g->by_fd);
	free(g);
}
