/* http_client.c: outbound HTTP on the event loop, on libevent's own HTTP client (evhttp
 * connections on the loop's bufferevents; OpenSSL bufferevents for https). The only
 * file that knows how: callers see http_request, http_response and a completion.
 *
 * Each origin (scheme, host, port) keeps up to CONNS_PER_ORIGIN keep-alive connections,
 * each carrying one request at a time; requests beyond that wait in the origin's queue,
 * in order. A connection that failed in any way is never used again (a TLS session
 * cannot be reconnected in place): it is freed after the callback that found it, and
 * the next request opens a fresh one.
 *
 * libcurl did this before: its multi interface cost more CPU per request than the
 * webhook it answered (PROFILE.md) and its dependencies (GnuTLS through librtmp,
 * Kerberos, LDAP, SSH) 4.3 MiB of resident pages in a daemon that speaks HTTP/1.1 and
 * TLS to two hosts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "../shokaid.h"

#define RESPONSE_MAX		(1024 * 1024)	/* larger answers are cut off: an error */
#define HEADERS_MAX		(32 * 1024)
#define CONNECT_TIMEOUT_MS	3000
#define DEFAULT_TIMEOUT_MS	10000
#define CONNS_PER_ORIGIN	64

struct transfer;

struct conn {
	struct http_client		*client;
	struct origin			*origin;
	struct evhttp_connection	*evcon;
	struct bufferevent		*bev;		/* evcon's; freed with it */
	struct transfer			*busy;		/* the request on it, or NULL */
	int				 dead;		/* failed or closed: never reused */
	unsigned			 answered;	/* requests it carried to the end */
	struct conn			*next;		/* the origin's */
};

struct origin {
	char		*host;
	int		 port, https;
	struct conn	*conns;
	size_t		 nconns;
	struct transfer	*wait_head, *wait_tail;	/* waiting for a connection */
	struct origin	*next;
};

/* One request from send to callback: owns a copy of everything the request needs, so
 * it can be started again on a fresh connection. */
struct transfer {
	struct http_client	*client;
	struct origin		*origin;
	struct conn		*conn;		/* while on one */
	struct evhttp_request	*req;		/* evhttp's, while on a connection */
	enum evhttp_cmd_type	 method;
	char			*target;	/* path and query */
	char			**headers;	/* "Name: value", the caller's */
	size_t			 nheaders;
	char			*body;
	size_t			 body_len;
	int			 has_body;
	int64_t			 deadline_us;
	int			 timeout_ms;
	struct event		*timer;
	int			 written;	/* request bytes left for the peer */
	int			 err;		/* evhttp's error, -1 none */
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

static void on_done(struct evhttp_request *, void *);
static void on_error(enum evhttp_request_error, void *);

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
	for (size_t i = 0; i < t->nheaders; i++)
		free(t->headers[i]);
	free(t->headers);
	free(t->target);
	free(t->body);
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

/* The answer's headers as the raw "Name: value\r\n" block callers read. */
static char *
header_block(struct evkeyvalq *h)
{
	size_t len = 0, at = 0;
	struct evkeyval *kv;
	char *out;

	TAILQ_FOREACH(kv, h, next)
		len += strlen(kv->key) + strlen(kv->value) + 4;
	out = xmalloc(len + 1);
	TAILQ_FOREACH(kv, h, next) {
		if (at + strlen(kv->key) + strlen(kv->value) + 4 > HEADERS_MAX)
			break;
		at += (size_t)sprintf(out + at, "%s: %s\r\n", kv->key, kv->value);
	}
	out[at] = '\0';
	return out;
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

/* Off its connection; the connection is never used again unless keep says so. */
static void
detach(struct transfer *t, int keep)
{
	struct conn *k = t->conn;

	if (k != NULL) {
		k->busy = NULL;
		if (!keep)
			k->dead = 1;
	}
	t->conn = NULL;
	t->req = NULL;
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

/* The request's bytes leave the output buffer for the socket: from now on a failure
 * may come after the peer acted on it. A drain with no socket is evhttp clearing the
 * buffer of a connection it reset, not a write. */
static void
on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *k = arg;
	struct transfer *t = k->busy;

	(void)buf;
	if (info->n_deleted == 0 || t == NULL || t->written || bufferevent_getfd(k->bev) == -1)
		return;
	t->written = 1;
	arm(t, t->timeout_ms);	/* connected: the connect timeout no longer applies */
}

static void
on_close(struct evhttp_connection *evcon, void *arg)
{
	struct conn *k = arg;

	(void)evcon;
	k->dead = 1;
	kick(k->client);
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

static struct conn *
conn_new(struct http_client *c, struct origin *o)
{
	struct conn *k = xcalloc(1, sizeof(*k));
	struct bufferevent *bev = NULL;

	if (o->https) {
		SSL *ssl = tls_client_ssl(c, o->host);

		if (ssl == NULL || (bev = bufferevent_openssl_socket_new(c->base, -1, ssl,
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
			SSL_free(ssl);
			free(k);
			return NULL;
		}
		/* Servers often close without TLS's close_notify: the answer is whole by its
		 * length, not by that alert. */
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	}
	if ((k->evcon = evhttp_connection_base_bufferevent_new(c->base, c->dns, bev, o->host,
	    (unsigned short)o->port)) == NULL) {
		if (bev != NULL)
			bufferevent_free(bev);
		free(k);
		return NULL;
	}
	k->client = c;
	k->origin = o;
	k->bev = evhttp_connection_get_bufferevent(k->evcon);
	if (c->priority >= 0)
		bufferevent_priority_set(k->bev, c->priority);
	evhttp_connection_set_retries(k->evcon, 0);
	evhttp_connection_set_max_body_size(k->evcon, RESPONSE_MAX);
	evhttp_connection_set_max_headers_size(k->evcon, HEADERS_MAX);
	evhttp_connection_set_closecb(k->evcon, on_close, k);
	evbuffer_add_cb(bufferevent_get_output(k->bev), on_output, k);
	k->next = o->conns;
	o->conns = k;
	o->nconns++;
	return k;
}

static void
add_header(struct evkeyvalq *h, const char *line)
{
	const char *colon = strchr(line, ':'), *v;
	char name[128];
	size_t n;

	if (colon == NULL || (n = (size_t)(colon - line)) == 0 || n >= sizeof(name))
		return;
	memcpy(name, line, n);
	name[n] = '\0';
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		continue;
	evhttp_remove_header(h, name);
	evhttp_add_header(h, name, v);
}

/* Puts t on connection k. 0, or -1 when evhttp refused it (k is then dead). */
static int
start(struct conn *k, struct transfer *t)
{
	struct evhttp_request *req = evhttp_request_new(on_done, t);
	struct evkeyvalq *h;
	char host[300], len[24];

	if (req == NULL)
		return -1;
	evhttp_request_set_error_cb(req, on_error);
	h = evhttp_request_get_output_headers(req);
	if (t->origin->port == (t->origin->https ? 443 : 80))
		snprintf(host, sizeof(host), "%s", t->origin->host);
	else
		snprintf(host, sizeof(host), "%s:%d", t->origin->host, t->origin->port);
	evhttp_add_header(h, "Host", host);
	evhttp_add_header(h, "User-Agent", "shokai/" SHOKAI_VERSION);
	for (size_t i = 0; i < t->nheaders; i++)
		add_header(h, t->headers[i]);
	if (t->has_body) {
		snprintf(len, sizeof(len), "%zu", t->body_len);
		evhttp_remove_header(h, "Content-Length");
		evhttp_add_header(h, "Content-Length", len);
		evbuffer_add(evhttp_request_get_output_buffer(req), t->body, t->body_len);
	}
	t->conn = k;
	t->req = req;
	t->written = 0;
	t->err = -1;
	k->busy = t;
	/* A fresh connection has CONNECT_TIMEOUT_MS to take the request's first bytes. */
	arm(t, k->answered == 0 ? CONNECT_TIMEOUT_MS : t->timeout_ms);
	if (evhttp_make_request(k->evcon, req, t->method, t->target) == -1) {
		/* evhttp freed req */
		detach(t, 0);
		return -1;
	}
	return 0;
}

/* Starts what waits on every origin while connections are free or may be opened, and
 * frees the connections that died. */
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
				evhttp_connection_free(k->evcon);
				free(k);
			} else
				p = &k->next;
		}
		while (o->wait_head != NULL) {
			struct transfer *t = o->wait_head;
			struct conn *k;

			for (k = o->conns; k != NULL; k = k->next)
				if (!k->dead && k->busy == NULL)
					break;
			if (k == NULL && o->nconns >= CONNS_PER_ORIGIN)
				break;
			unqueue_wait(o, t);
			if (k == NULL && (k = conn_new(c, o)) == NULL) {
				finish_error(t, "cannot open a connection (out of memory or TLS "
				    "setup failed)", 0, 0);
				continue;
			}
			if (start(k, t) == -1)
				finish_error(t, "cannot start the request", 0, 0);
		}
	}
}

static void
on_error(enum evhttp_request_error err, void *arg)
{
	struct transfer *t = arg;

	t->err = (int)err;
}

static void
on_done(struct evhttp_request *req, void *arg)
{
	struct transfer *t = arg;
	struct conn *k = t->conn;
	int status = req != NULL ? evhttp_request_get_response_code(req) : 0;
	char why[WHY_MAX];

	evtimer_del(t->timer);
	if (status > 0 && t->err < 0) {
		struct evbuffer *in = evhttp_request_get_input_buffer(req);
		size_t n = evbuffer_get_length(in);
		struct http_response r;
		char *body = xmalloc(n + 1), *headers;

		evbuffer_remove(in, body, n);
		body[n] = '\0';
		headers = header_block(evhttp_request_get_input_headers(req));
		k->answered++;
		detach(t, 1);
		memset(&r, 0, sizeof(r));
		r.status = status;
		r.body = body;
		r.body_len = n;
		r.headers = headers;
		finish(t, &r);
		free(body);
		free(headers);
		return;
	}
	detach(t, 0);
	/* A kept connection the peer had closed while idle: not a byte of an answer came
	 * (evhttp calls back with the request and no status, and no error: the same as a
	 * refused connect), so the request goes once more on a fresh one, as curl would. */
	if (req != NULL && t->err < 0 && k != NULL && k->answered > 0 && !t->retried) {
		t->retried = 1;
		queue_wait(t->origin, t, 1);
		kick(t->client);
		return;
	}
	switch (t->err) {
	case EVREQ_HTTP_TIMEOUT:
		finish_error(t, "timed out waiting for the answer", 1, t->written);
		return;
	case EVREQ_HTTP_DATA_TOO_LONG:
		finish_error(t, "response larger than 1 MiB", 0, 1);
		return;
	case EVREQ_HTTP_INVALID_HEADER:
		finish_error(t, "the answer's head was not HTTP", 0, t->written);
		return;
	default:
		break;
	}
	if (t->written)
		snprintf(why, sizeof(why), "the connection to %s:%d closed before a whole answer",
		    t->origin->host, t->origin->port);
	else
		snprintf(why, sizeof(why), "could not connect to %s:%d%s", t->origin->host,
		    t->origin->port, t->origin->https ? " (or its TLS handshake failed)" : "");
	finish_error(t, why, 0, t->written);
}

/* The transfer's time is up: on a connection, evhttp drops the request (no callback
 * but on_error's) and the connection with it. */
static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct transfer *t = arg;
	int written = t->written, connecting = t->conn != NULL && !written &&
	    t->conn->answered == 0 && clock_us() < t->deadline_us;
	char why[WHY_MAX];

	(void)fd;
	(void)what;
	if (t->req != NULL) {
		struct evhttp_request *req = t->req;

		detach(t, 0);
		evhttp_cancel_request(req);
		kick(t->client);
	} else
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

static int
method_of(const char *m, enum evhttp_cmd_type *out)
{
	static const struct {
		const char		*name;
		enum evhttp_cmd_type	 type;
	} methods[] = {
		{ "GET", EVHTTP_REQ_GET }, { "POST", EVHTTP_REQ_POST },
		{ "PUT", EVHTTP_REQ_PUT }, { "DELETE", EVHTTP_REQ_DELETE },
		{ "PATCH", EVHTTP_REQ_PATCH }, { "HEAD", EVHTTP_REQ_HEAD },
	};

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(m, methods[i].name) == 0) {
			*out = methods[i].type;
			return 0;
		}
	return -1;
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
	enum evhttp_cmd_type method;
	int https, port, rc = -1;

	if (scheme == NULL || host == NULL || *host == '\0' ||
	    ((https = strcasecmp(scheme, "https") == 0) == 0 && strcasecmp(scheme, "http") != 0)) {
		log_warnx("msg=\"cannot start an outbound request\" detail=\"not an http(s) "
		    "URL\" url=\"%.200s\"", req->url);
		goto done;
	}
	if (method_of(req->method, &method) == -1) {
		log_warnx("msg=\"cannot start an outbound request\" detail=\"method %s\"",
		    req->method);
		goto done;
	}
	if ((port = evhttp_uri_get_port(uri)) == -1)
		port = https ? 443 : 80;
	t = xcalloc(1, sizeof(*t));
	t->client = c;
	t->origin = origin_get(c, host, port, https);
	t->method = method;
	t->target = xasprintf("%s%s%s", path != NULL && *path != '\0' ? path : "/",
	    query != NULL ? "?" : "", query != NULL ? query : "");
	t->headers = xcalloc(req->nheaders + 1, sizeof(*t->headers));
	for (size_t i = 0; i < req->nheaders; i++)
		t->headers[t->nheaders++] = xstrdup(req->headers[i]);
	if (req->body != NULL) {
		t->has_body = 1;
		t->body_len = req->body_len;
		t->body = xmalloc(req->body_len + 1);
		memcpy(t->body, req->body, req->body_len);
	}
	t->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : DEFAULT_TIMEOUT_MS;
	t->deadline_us = clock_us() + (int64_t)t->timeout_ms * 1000;
	t->timer = evtimer_new(c->base, on_timeout, t);
	set_priority(c, t->timer);
	t->err = -1;
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
			/* frees the request on it without its callback */
			evhttp_connection_free(k->evcon);
			free(k);
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
