/* http_client.c: outbound HTTP/1.1 on the event loop, on connections of its own (a
 * non-blocking socket, OpenSSL on it for https). The only file that knows how: callers
 * see http_request, http_response and a completion.
 *
 * Each origin (scheme, host, port) keeps up to CONNS_PER_ORIGIN keep-alive connections,
 * each carrying one request at a time; requests beyond that wait in the origin's queue,
 * in order. A connection that failed in any way is never used again: it is closed at
 * once and freed at the next kick, and the next request opens a fresh one.
 *
 * Why not a library: libcurl's multi interface cost more CPU per request than the
 * webhook it answered, and its dependencies 4.3 MiB of resident pages (PROFILE.md);
 * libevent's evhttp client turned reading and writing on and off three times per
 * exchange and asked the kernel how much was readable before every read (six system
 * calls a request). Here a connected socket is always read (one persistent event: an
 * answer, or the peer closing an idle connection), a request is written at once and
 * waits for the socket only when the kernel's buffer is full: a send and a receive per
 * exchange. The response's framing is http_response.c's. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "../shokaid.h"

#define CONNECT_TIMEOUT_MS	3000
#define DEFAULT_TIMEOUT_MS	10000
#define CONNS_PER_ORIGIN	64
#define READ_CHUNK		16384

struct transfer;

enum conn_state {
	CONN_RESOLVING,		/* waiting for evdns */
	CONN_CONNECTING,	/* connect() in progress */
	CONN_HANDSHAKE,		/* TLS handshake in progress */
	CONN_READY,		/* requests may be written */
	CONN_CLOSED		/* dead: its socket is closed */
};

struct conn {
	struct http_client	*client;
	struct origin		*origin;
	enum conn_state		 state;
	evutil_socket_t		 fd;
	SSL			*ssl;		/* https */
	int			 tls_write_wants_read;
	struct event		*ev_read;	/* persistent once connected */
	struct event		*ev_write;	/* while connecting or the socket is full */
	struct evdns_getaddrinfo_request *dns;
	struct evutil_addrinfo	*addrs;		/* resolved; each tried in turn */
	struct evutil_addrinfo	*addr;		/* the one being tried */
	int			 connect_errno;	/* the last address's failure */
	struct transfer		*busy;		/* the request on it, or NULL */
	int			 dead;		/* failed or closed: never reused */
	unsigned		 answered;	/* requests it carried to the end */
	const char		*out;		/* the busy transfer's wire, while unwritten */
	size_t			 out_len, out_off;
	struct http_response_parser parser;
	struct conn		*next;		/* the origin's */
};

struct origin {
	char		*host;
	int		 port, https;
	struct conn	*conns;
	size_t		 nconns;
	struct transfer	*wait_head, *wait_tail;	/* waiting for a connection */
	struct origin	*next;
};

/* One request from send to callback: owns its bytes as they go on the wire, built once,
 * so it can be started again on a fresh connection. */
struct transfer {
	struct http_client	*client;
	struct origin		*origin;
	struct conn		*conn;		/* while on one */
	int			 head_only;
	char			*wire;		/* head and body */
	size_t			 wire_len;
	int64_t			 deadline_us;
	int			 timeout_ms;
	struct event		*timer;
	int			 written;	/* request bytes left for the peer */
	int			 retried;	/* once, after a reused connection died */
	http_done_cb		 done;
	void			*arg;
	struct transfer		*prev, *next;	/* the client's, in flight */
	struct transfer		*next_wait;
};

struct http_client {
	struct event_base	*base;
	struct evdns_base	*dns;
	SSL_CTX			*tls;		/* made at the first https origin */
	int			 priority;	/* of every event here; -1: default */
	size_t			 inflight;
	struct origin		*origins;
	struct transfer		*transfers;
	struct event		*kick;		/* starts waiting requests, frees dead conns */
	int			 closing;
};

static void on_io(evutil_socket_t, short, void *);
static void conn_connect(struct conn *);

static void
set_priority(struct http_client *c, struct event *ev)
{
	if (c->priority >= 0)
		event_priority_set(ev, c->priority);
}

static void
kick(struct http_client *c)
{
	if (!c->closing)
		event_active(c->kick, EV_TIMEOUT, 0);
}

const char *
http_response_header(const struct http_response *r, const char *name, char *out,
    size_t outlen)
{
	size_t nlen = strlen(name);
	const char *p = r->headers;

	while (p != NULL && *p != '\0') {
		const char *eol = strstr(p, "\r\n"), *v;
		size_t linelen = eol ? (size_t)(eol - p) : strlen(p);

		if (linelen > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			size_t vlen;

			v = p + nlen + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			vlen = linelen - (size_t)(v - p);
			while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
				vlen--;
			if (vlen >= outlen)
				vlen = outlen - 1;
			memcpy(out, v, vlen);
			out[vlen] = '\0';
			return out;
		}
		p = eol ? eol + 2 : NULL;
	}
	return NULL;
}

static void
transfer_free(struct transfer *t)
{
	struct http_client *c = t->client;

	if (t->prev != NULL)
		t->prev->next = t->next;
	else if (c->transfers == t)
		c->transfers = t->next;
	if (t->next != NULL)
		t->next->prev = t->prev;
	if (t->timer != NULL)
		event_free(t->timer);
	free(t->wire);
	free(t);
}

/* The caller hears the outcome once; the transfer ends. */
static void
finish(struct transfer *t, struct http_response *r)
{
	struct http_client *c = t->client;

	c->inflight--;
	t->done(r, t->arg);
	transfer_free(t);
	kick(c);
}

static void
finish_error(struct transfer *t, const char *error, int timed_out, int ambiguous)
{
	struct http_response r;

	memset(&r, 0, sizeof(r));
	r.body = "";
	r.headers = "";
	r.error = error;
	r.timed_out = timed_out;
	r.ambiguous = ambiguous;
	finish(t, &r);
}

static void
queue_wait(struct origin *o, struct transfer *t, int first)
{
	if (first) {
		t->next_wait = o->wait_head;
		o->wait_head = t;
		if (o->wait_tail == NULL)
			o->wait_tail = t;
		return;
	}
	t->next_wait = NULL;
	if (o->wait_tail != NULL)
		o->wait_tail->next_wait = t;
	else
		o->wait_head = t;
	o->wait_tail = t;
}

static void
unqueue_wait(struct origin *o, struct transfer *t)
{
	struct transfer **p, *prev = NULL;

	for (p = &o->wait_head; *p != NULL; prev = *p, p = &(*p)->next_wait)
		if (*p == t) {
			*p = t->next_wait;
			if (o->wait_tail == t)
				o->wait_tail = prev;
			return;
		}
}

static void
arm(struct transfer *t, int64_t ms)
{
	int64_t left = (t->deadline_us - clock_us()) / 1000;
	struct timeval tv;

	if (ms > left)
		ms = left;
	if (ms < 0)
		ms = 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	evtimer_add(t->timer, &tv);
}

static SSL *
tls_client_ssl(struct http_client *c, const char *host)
{
	char name[256];
	SSL *ssl;

	if (c->tls == NULL) {
		if ((c->tls = SSL_CTX_new(TLS_client_method())) == NULL)
			return NULL;
		SSL_CTX_set_min_proto_version(c->tls, TLS1_2_VERSION);
		SSL_CTX_set_default_verify_paths(c->tls);
		SSL_CTX_set_verify(c->tls, SSL_VERIFY_PEER, NULL);
		/* a write that waited is retried with what is left, from a buffer that may
		 * have moved (conn_write) */
		SSL_CTX_set_mode(c->tls, SSL_MODE_ENABLE_PARTIAL_WRITE |
		    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	}
	if ((ssl = SSL_new(c->tls)) == NULL)
		return NULL;
	/* The certificate must name the host: an address literal among its IP names, a
	 * name among its DNS names (and sent as SNI). */
	if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1)
		return ssl;
	snprintf(name, sizeof(name), "%s", host);	/* the SNI macro takes it non-const */
	if (SSL_set_tlsext_host_name(ssl, name) != 1 || SSL_set1_host(ssl, host) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

/* The socket and everything on it go now; the struct stays until the next kick, as the
 * callback that found the failure may still hold it. */
static void
conn_close(struct conn *k)
{
	k->dead = 1;
	k->state = CONN_CLOSED;
	if (k->dns != NULL) {
		/* its callback still comes, with EVUTIL_EAI_CANCEL, and touches nothing */
		evdns_getaddrinfo_cancel(k->dns);
		k->dns = NULL;
	}
	if (k->ev_read != NULL)
		event_free(k->ev_read);
	if (k->ev_write != NULL)
		event_free(k->ev_write);
	k->ev_read = k->ev_write = NULL;
	if (k->ssl != NULL)
		SSL_free(k->ssl);
	k->ssl = NULL;
	if (k->fd != -1)
		evutil_closesocket(k->fd);
	k->fd = -1;
	if (k->addrs != NULL)
		evutil_freeaddrinfo(k->addrs);
	k->addrs = k->addr = NULL;
	k->out = NULL;
	k->out_len = k->out_off = 0;
}

static void
conn_free(struct conn *k)
{
	conn_close(k);
	http_response_parser_free(&k->parser);
	free(k);
}

/* Off its connection; the connection is closed unless keep says so. */
static void
detach(struct transfer *t, int keep)
{
	struct conn *k = t->conn;

	evtimer_del(t->timer);
	if (k != NULL) {
		k->busy = NULL;
		if (!keep) {
			conn_close(k);
			kick(t->client);
		}
	}
	t->conn = NULL;
}

/* What went wrong with OpenSSL's last call, in words for the outbox's last_error. */
static void
tls_error(struct conn *k, char *buf, size_t len)
{
	long verify = k->ssl != NULL ? SSL_get_verify_result(k->ssl) : X509_V_OK;
	unsigned long e = ERR_peek_last_error();

	if (verify != X509_V_OK)
		snprintf(buf, len, "certificate verify failed (%s)",
		    X509_verify_cert_error_string(verify));
	else if (e != 0)
		snprintf(buf, len, "%s", ERR_reason_error_string(e) ?
		    ERR_reason_error_string(e) : "error");
	else if (k->connect_errno != 0)
		snprintf(buf, len, "%s", strerror(k->connect_errno));
	else
		snprintf(buf, len, "the peer closed the connection");
	ERR_clear_error();
}

/* The connection failed: its request learns why, or goes once more on a fresh
 * connection when a kept one had been closed by the peer before a byte of the answer
 * (as curl would: the peer closed it while idle, and our request crossed the close). */
static void
conn_fail(struct conn *k, int tls, int err)
{
	struct transfer *t = k->busy;
	int idle_closed = k->answered > 0 && k->parser.received == 0 && k->state == CONN_READY;
	char why[WHY_MAX], detail[160];

	if (tls)
		tls_error(k, detail, sizeof(detail));
	else
		snprintf(detail, sizeof(detail), "%s", err != 0 ? strerror(err) :
		    "the peer closed the connection");
	if (t == NULL) {
		conn_close(k);
		kick(k->client);
		return;
	}
	if (k->state == CONN_HANDSHAKE)
		snprintf(why, sizeof(why), "TLS handshake with %s:%d failed: %s",
		    t->origin->host, t->origin->port, detail);
	else if (k->state != CONN_READY)
		snprintf(why, sizeof(why), "could not connect to %s:%d: %s", t->origin->host,
		    t->origin->port, detail);
	else
		snprintf(why, sizeof(why), "the connection to %s:%d closed before a whole "
		    "answer (%s)", t->origin->host, t->origin->port, detail);
	detach(t, 0);
	if (idle_closed && !t->retried) {
		t->retried = 1;
		t->written = 0;
		arm(t, t->timeout_ms);	/* its deadline holds while it waits again */
		queue_wait(t->origin, t, 1);
		kick(t->client);
		return;
	}
	finish_error(t, why, 0, t->written);
}

/* Writes what is left of the request; waits for the socket only when it is full. */
static void
conn_write(struct conn *k)
{
	struct transfer *t = k->busy;

	k->tls_write_wants_read = 0;
	while (k->out_off < k->out_len) {
		size_t left = k->out_len - k->out_off;
		ssize_t n;

		if (k->ssl != NULL) {
			int w = SSL_write(k->ssl, k->out + k->out_off,
			    left > INT32_MAX ? INT32_MAX : (int)left);

			if (w <= 0) {
				switch (SSL_get_error(k->ssl, w)) {
				case SSL_ERROR_WANT_WRITE:
					event_add(k->ev_write, NULL);
					return;
				case SSL_ERROR_WANT_READ:
					k->tls_write_wants_read = 1;
					return;
				default:
					conn_fail(k, 1, 0);
					return;
				}
			}
			n = w;
		} else if ((n = send(k->fd, k->out + k->out_off, left, MSG_NOSIGNAL)) == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
				event_add(k->ev_write, NULL);
				return;
			}
			conn_fail(k, 0, errno);
			return;
		}
		k->out_off += (size_t)n;
		if (t != NULL && !t->written) {
			t->written = 1;
			/* connected: the connect timeout no longer applies */
			arm(t, t->timeout_ms);
		}
	}
	k->out = NULL;
	k->out_len = k->out_off = 0;
}

/* The answer is whole: the caller hears it, and the connection waits for the next
 * request unless the answer or leftover bytes say it cannot. */
static void
conn_answered(struct conn *k, size_t leftover)
{
	struct transfer *t = k->busy;
	struct http_response_parser *p = &k->parser;
	struct http_response r;
	int keep = p->keep_alive && leftover == 0 && k->out == NULL;

	k->answered++;
	memset(&r, 0, sizeof(r));
	r.status = p->status;
	r.body = p->body != NULL ? p->body : "";
	r.body_len = p->body_len;
	r.headers = p->headers != NULL ? p->headers : "";
	detach(t, keep);
	/* The buffers are the parser's: the caller reads them during its callback, and
	 * no next answer can begin on this connection before it returns. */
	finish(t, &r);
	http_response_parser_reset(p);
}

static void
conn_feed(struct conn *k, const char *buf, size_t n)
{
	struct transfer *t = k->busy;
	size_t used = 0;

	if (t == NULL) {
		/* bytes nobody asked for: the connection's framing is lost */
		conn_close(k);
		kick(k->client);
		return;
	}
	switch (http_response_feed(&k->parser, buf, n, &used)) {
	case HTTP_PARSE_MORE:
		return;
	case HTTP_PARSE_DONE:
		conn_answered(k, n - used);
		return;
	case HTTP_PARSE_TOO_LONG:
		detach(t, 0);
		finish_error(t, "response larger than 1 MiB (or its head than 32 KiB)", 0, 1);
		return;
	case HTTP_PARSE_BAD:
		detach(t, 0);
		finish_error(t, "the answer's head or framing was not HTTP/1.1", 0, 1);
		return;
	}
}

/* The peer closed: the end of an answer framed by the close, else a failure. */
static void
conn_eof(struct conn *k)
{
	if (k->busy != NULL && k->parser.received > 0 &&
	    http_response_eof(&k->parser) == HTTP_PARSE_DONE) {
		k->parser.keep_alive = 0;
		conn_answered(k, 0);
		return;
	}
	conn_fail(k, 0, 0);
}

static void
conn_read(struct conn *k)
{
	char buf[READ_CHUNK];

	if (k->ssl == NULL) {
		ssize_t n = recv(k->fd, buf, sizeof(buf), 0);

		if (n > 0)
			conn_feed(k, buf, (size_t)n);
		else if (n == 0)
			conn_eof(k);
		else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn_fail(k, 0, errno);
		return;
	}
	/* TLS: read every record OpenSSL has whole, as the socket will not say so again */
	while (k->state == CONN_READY && k->ssl != NULL) {
		int n = SSL_read(k->ssl, buf, sizeof(buf));

		if (n > 0) {
			conn_feed(k, buf, (size_t)n);
			continue;
		}
		switch (SSL_get_error(k->ssl, n)) {
		case SSL_ERROR_WANT_READ:
			return;
		case SSL_ERROR_WANT_WRITE:
			event_add(k->ev_write, NULL);
			return;
		case SSL_ERROR_ZERO_RETURN:
			conn_eof(k);
			return;
		case SSL_ERROR_SYSCALL:
			/* Servers often close without TLS's close_notify: an answer is whole
			 * by its length, not by that alert. */
			ERR_clear_error();
			if (errno == 0 || errno == ECONNRESET || errno == EPIPE)
				conn_eof(k);
			else
				conn_fail(k, 0, errno);
			return;
		default:
			conn_fail(k, 1, 0);
			return;
		}
	}
}

static void
conn_ready(struct conn *k)
{
	k->state = CONN_READY;
	event_add(k->ev_read, NULL);
	if (k->out != NULL)
		conn_write(k);
}

static void
tls_handshake(struct conn *k)
{
	int rc = SSL_connect(k->ssl);

	if (rc == 1) {
		conn_ready(k);
		return;
	}
	switch (SSL_get_error(k->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		event_add(k->ev_read, NULL);
		return;
	case SSL_ERROR_WANT_WRITE:
		event_add(k->ev_write, NULL);
		return;
	default:
		conn_fail(k, 1, 0);
		return;
	}
}

static void
connected(struct conn *k)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		/* the next address, if there is one */
		k->connect_errno = err;
		event_free(k->ev_read);
		event_free(k->ev_write);
		k->ev_read = k->ev_write = NULL;
		evutil_closesocket(k->fd);
		k->fd = -1;
		k->addr = k->addr->ai_next;
		conn_connect(k);
		return;
	}
	if (!k->origin->https) {
		conn_ready(k);
		return;
	}
	if ((k->ssl = tls_client_ssl(k->client, k->origin->host)) == NULL ||
	    SSL_set_fd(k->ssl, k->fd) != 1) {
		conn_fail(k, 1, 0);
		return;
	}
	k->state = CONN_HANDSHAKE;
	tls_handshake(k);
}

static void
on_io(evutil_socket_t fd, short what, void *arg)
{
	struct conn *k = arg;

	(void)fd;
	switch (k->state) {
	case CONN_CONNECTING:
		connected(k);
		return;
	case CONN_HANDSHAKE:
		tls_handshake(k);
		return;
	case CONN_READY:
		if ((what & EV_WRITE) || ((what & EV_READ) && k->tls_write_wants_read))
			conn_write(k);
		if ((what & EV_READ) && k->state == CONN_READY)
			conn_read(k);
		return;
	default:
		return;
	}
}

/* Tries the addresses from k->addr on; the request fails when none is left. */
static void
conn_connect(struct conn *k)
{
	struct http_client *c = k->client;

	for (; k->addr != NULL; k->addr = k->addr->ai_next) {
		struct evutil_addrinfo *a = k->addr;
		int one = 1;

		k->fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (k->fd == -1) {
			k->connect_errno = errno;
			continue;
		}
		(void)setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(k->fd, a->ai_addr, a->ai_addrlen) == -1 && errno != EINPROGRESS) {
			k->connect_errno = errno;
			evutil_closesocket(k->fd);
			k->fd = -1;
			continue;
		}
		k->ev_read = event_new(c->base, k->fd, EV_READ | EV_PERSIST, on_io, k);
		k->ev_write = event_new(c->base, k->fd, EV_WRITE, on_io, k);
		if (k->ev_read == NULL || k->ev_write == NULL)
			fatalx("%s: event_new failed", __func__);
		set_priority(c, k->ev_read);
		set_priority(c, k->ev_write);
		k->state = CONN_CONNECTING;
		/* writable when connected or refused */
		event_add(k->ev_write, NULL);
		return;
	}
	conn_fail(k, 0, k->connect_errno);
}

static void
on_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
	struct conn *k = arg;

	if (result == EVUTIL_EAI_CANCEL)
		return;		/* k may be gone: conn_close cancelled us */
	k->dns = NULL;
	if (result != 0) {
		char why[WHY_MAX];
		struct transfer *t = k->busy;

		if (res != NULL)
			evutil_freeaddrinfo(res);
		if (t == NULL) {
			conn_close(k);
			kick(k->client);
			return;
		}
		snprintf(why, sizeof(why), "could not resolve %s: %s", t->origin->host,
		    evutil_gai_strerror(result));
		detach(t, 0);
		finish_error(t, why, 0, 0);
		return;
	}
	k->addrs = k->addr = res;
	conn_connect(k);
}

/* A connection for the origin; the request already on it (busy) starts when it is
 * ready. Numeric hosts need no resolver; names go to evdns (never a blocking
 * getaddrinfo on the loop), whose answer may come before this returns. */
static void
conn_open(struct conn *k)
{
	struct origin *o = k->origin;
	struct evutil_addrinfo hints;
	char port[8];

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	snprintf(port, sizeof(port), "%d", o->port);
	k->state = CONN_RESOLVING;
	hints.ai_flags = EVUTIL_AI_NUMERICHOST | EVUTIL_AI_NUMERICSERV;
	if (evutil_getaddrinfo(o->host, port, &hints, &k->addrs) == 0) {
		k->addr = k->addrs;
		conn_connect(k);
		return;
	}
	hints.ai_flags = EVUTIL_AI_NUMERICSERV;
	k->dns = evdns_getaddrinfo(k->client->dns, o->host, port, &hints, on_resolved, k);
}

static struct conn *
conn_new(struct http_client *c, struct origin *o)
{
	struct conn *k = xcalloc(1, sizeof(*k));

	k->client = c;
	k->origin = o;
	k->fd = -1;
	http_response_parser_init(&k->parser, 0);
	k->next = o->conns;
	o->conns = k;
	o->nconns++;
	return k;
}

/* line is the header "name: ...". */
static int
header_named(const char *line, const char *name)
{
	size_t n = strlen(name);

	return strncasecmp(line, name, n) == 0 && line[n] == ':';
}

/* A caller's header is sent unless it could break the request's framing, which is ours. */
static int
header_ok(const char *line)
{
	return strpbrk(line, "\r\n") == NULL && strchr(line, ':') != NULL &&
	    !header_named(line, "Content-Length") && !header_named(line, "Transfer-Encoding") &&
	    !header_named(line, "Connection");
}

static int
caller_has(const struct http_request *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (header_named(req->headers[i], name))
			return 1;
	return 0;
}

/* The request's bytes, head and body, as they go on the wire: built once, at the send. */
static void
request_bytes(struct transfer *t, const struct http_request *req, const char *target)
{
	const struct origin *o = t->origin;
	size_t cap = strlen(req->method) + strlen(target) + strlen(o->host) + 128 +
	    (req->body != NULL ? req->body_len : 0), at;
	char *b;

	for (size_t i = 0; i < req->nheaders; i++)
		cap += strlen(req->headers[i]) + 2;
	b = xmalloc(cap);
	at = (size_t)snprintf(b, cap, "%s %s HTTP/1.1\r\n", req->method, target);
	if (!caller_has(req, "Host")) {
		if (o->port == (o->https ? 443 : 80))
			at += (size_t)snprintf(b + at, cap - at, "Host: %s\r\n", o->host);
		else
			at += (size_t)snprintf(b + at, cap - at, "Host: %s:%d\r\n", o->host,
			    o->port);
	}
	if (!caller_has(req, "User-Agent"))
		at += (size_t)snprintf(b + at, cap - at, "User-Agent: shokai/%s\r\n",
		    SHOKAI_VERSION);
	for (size_t i = 0; i < req->nheaders; i++)
		if (header_ok(req->headers[i])) {
			size_t n = strlen(req->headers[i]);

			memcpy(b + at, req->headers[i], n);
			memcpy(b + at + n, "\r\n", 2);
			at += n + 2;
		}
	if (req->body != NULL)
		at += (size_t)snprintf(b + at, cap - at, "Content-Length: %zu\r\n",
		    req->body_len);
	memcpy(b + at, "\r\n", 2);
	at += 2;
	if (req->body != NULL) {
		memcpy(b + at, req->body, req->body_len);
		at += req->body_len;
	}
	t->wire = b;
	t->wire_len = at;
}

/* Puts t on connection k and writes it if k is ready. */
static void
start(struct conn *k, struct transfer *t)
{
	t->conn = k;
	t->written = 0;
	k->busy = t;
	k->parser.head_only = t->head_only;
	k->out = t->wire;
	k->out_len = t->wire_len;
	k->out_off = 0;
	/* A fresh connection has CONNECT_TIMEOUT_MS to take the request's first bytes. */
	arm(t, k->answered == 0 ? CONNECT_TIMEOUT_MS : t->timeout_ms);
	if (k->state == CONN_READY)
		conn_write(k);
}

/* Starts what waits on every origin while connections are free or may be opened, and
 * frees the connections that died: one walk over the connections, so a kick costs no
 * more with 64 of them busy than with one. */
static void
on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct http_client *c = arg;

	(void)fd;
	(void)what;
	for (struct origin *o = c->origins; o != NULL; o = o->next) {
		struct conn **p = &o->conns;

		while (*p != NULL) {
			struct conn *k = *p;

			if (k->dead && k->busy == NULL) {
				*p = k->next;
				o->nconns--;
				conn_free(k);
				continue;
			}
			if (!k->dead && k->busy == NULL && o->wait_head != NULL) {
				struct transfer *t = o->wait_head;

				unqueue_wait(o, t);
				start(k, t);
			}
			p = &k->next;
		}
		while (o->wait_head != NULL && o->nconns < CONNS_PER_ORIGIN) {
			struct transfer *t = o->wait_head;
			struct conn *k = conn_new(c, o);

			unqueue_wait(o, t);
			start(k, t);
			conn_open(k);
		}
	}
}

/* The transfer's time is up: its connection, if it has one, closes with it. */
static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct transfer *t = arg;
	int written = t->written, connecting = t->conn != NULL && !written &&
	    t->conn->answered == 0 && clock_us() < t->deadline_us;
	char why[WHY_MAX];

	(void)fd;
	(void)what;
	if (t->conn != NULL)
		detach(t, 0);
	else
		unqueue_wait(t->origin, t);
	if (connecting)
		snprintf(why, sizeof(why), "connect to %s:%d timed out after %d ms",
		    t->origin->host, t->origin->port, CONNECT_TIMEOUT_MS);
	else
		snprintf(why, sizeof(why), "timed out after %d ms", t->timeout_ms);
	finish_error(t, why, 1, written);
}

static struct origin *
origin_get(struct http_client *c, const char *host, int port, int https)
{
	struct origin *o;

	for (o = c->origins; o != NULL; o = o->next)
		if (o->port == port && o->https == https && strcasecmp(o->host, host) == 0)
			return o;
	o = xcalloc(1, sizeof(*o));
	o->host = xstrdup(host);
	o->port = port;
	o->https = https;
	o->next = c->origins;
	c->origins = o;
	return o;
}

struct http_client *
http_client_new(struct event_base *base, int priority)
{
	struct http_client *c = xcalloc(1, sizeof(*c));

	c->base = base;
	c->priority = priority;
	/* Names are resolved on the loop, never by a blocking getaddrinfo; a machine
	 * without resolv.conf still reaches numeric addresses and /etc/hosts. */
	if ((c->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS)) == NULL &&
	    (c->dns = evdns_base_new(base, 0)) == NULL)
		fatalx("%s: evdns_base_new failed", __func__);
	c->kick = event_new(base, -1, 0, on_kick, c);
	set_priority(c, c->kick);
	return c;
}

static int
method_known(const char *m, int *head_only)
{
	static const char *const methods[] = {
		"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"
	};

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(m, methods[i]) == 0) {
			*head_only = strcmp(m, "HEAD") == 0;
			return 1;
		}
	return 0;
}

int
http_client_send(struct http_client *c, const struct http_request *req, http_done_cb done,
    void *arg)
{
	struct evhttp_uri *uri = evhttp_uri_parse(req->url);
	const char *scheme = uri ? evhttp_uri_get_scheme(uri) : NULL;
	const char *host = uri ? evhttp_uri_get_host(uri) : NULL;
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	struct transfer *t = NULL;
	char *target;
	int https, port, head_only, rc = -1;

	if (scheme == NULL || host == NULL || *host == '\0' ||
	    ((https = strcasecmp(scheme, "https") == 0) == 0 && strcasecmp(scheme, "http") != 0)) {
		log_warnx("msg=\"cannot start an outbound request\" detail=\"not an http(s) "
		    "URL\" url=\"%.200s\"", req->url);
		goto done;
	}
	if (!method_known(req->method, &head_only)) {
		log_warnx("msg=\"cannot start an outbound request\" detail=\"method %s\"",
		    req->method);
		goto done;
	}
	if ((port = evhttp_uri_get_port(uri)) == -1)
		port = https ? 443 : 80;
	t = xcalloc(1, sizeof(*t));
	t->client = c;
	t->origin = origin_get(c, host, port, https);
	t->head_only = head_only;
	target = xasprintf("%s%s%s", path != NULL && *path != '\0' ? path : "/",
	    query != NULL ? "?" : "", query != NULL ? query : "");
	request_bytes(t, req, target);
	free(target);
	t->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : DEFAULT_TIMEOUT_MS;
	t->deadline_us = clock_us() + (int64_t)t->timeout_ms * 1000;
	t->timer = evtimer_new(c->base, on_timeout, t);
	set_priority(c, t->timer);
	t->done = done;
	t->arg = arg;
	t->next = c->transfers;
	if (c->transfers != NULL)
		c->transfers->prev = t;
	c->transfers = t;
	c->inflight++;
	/* Started from the kick, never from inside the caller (which may be an answer's
	 * callback on the connection that would carry it). */
	arm(t, t->timeout_ms);
	queue_wait(t->origin, t, 0);
	kick(c);
	rc = 0;
done:
	if (uri != NULL)
		evhttp_uri_free(uri);
	return rc;
}

/* Pending transfers are abandoned without their callbacks: the outbox keeps their
 * rows and sends them again at the next start. */
void
http_client_free(struct http_client *c)
{
	if (c == NULL)
		return;
	c->closing = 1;
	while (c->origins != NULL) {
		struct origin *o = c->origins;

		while (o->conns != NULL) {
			struct conn *k = o->conns;

			o->conns = k->next;
			conn_free(k);
		}
		c->origins = o->next;
		free(o->host);
		free(o);
	}
	while (c->transfers != NULL)
		transfer_free(c->transfers);
	event_free(c->kick);
	evdns_base_free(c->dns, 0);
	if (c->tls != NULL)
		SSL_CTX_free(c->tls);
	free(c);
}
