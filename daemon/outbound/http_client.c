/* http_client.c: outbound HTTP on the event loop. The only file that touches libcurl:
 * a curl multi handle driven by libevent (one persistent event per socket, one timer),
 * connection reuse through the multi handle's cache, per-request timeouts, and a
 * completion callback with status, headers and body. Callers never see CURL *. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "../shokaid.h"

#define RESPONSE_MAX		(1024 * 1024)	/* larger answers are cut off: an error */
#define HEADERS_MAX		(32 * 1024)
#define CONNECT_TIMEOUT_MS	3000
/* Finished easy handles kept for the next transfers: making one costs more than
 * resetting it, and the outbox starts thousands a second. */
#define SPARE_MAX		64

struct transfer;

struct http_client {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	int			 priority;	/* of every event here; -1: default */
	size_t			 inflight;
	struct transfer		*transfers;	/* in flight, for cleanup at exit */
	CURL			*spare[SPARE_MAX];
	size_t			 nspare;
};

/* One transfer: owns the easy handle, the request headers and what comes back. */
struct transfer {
	struct http_client	*client;
	CURL			*easy;
	struct curl_slist	*req_headers;
	char			*req_body;
	char			*body;
	size_t			 body_len, body_cap;
	char			*headers;	/* raw "Name: value\r\n" lines */
	size_t			 headers_len;
	int			 too_large;
	char			 errbuf[CURL_ERROR_SIZE];
	http_done_cb		 done;
	void			*arg;
	struct transfer		*prev, *next;
};

/* Per-socket state handed to curl with curl_multi_assign. */
struct sock {
	struct event	*ev;
};

static void check_done(struct http_client *);

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct transfer *t = arg;
	size_t n = size * nmemb;

	if (t->body_len + n > RESPONSE_MAX) {
		t->too_large = 1;
		return 0;	/* makes curl fail the transfer */
	}
	if (t->body_len + n + 1 > t->body_cap) {
		t->body_cap = (t->body_len + n + 1) * 2;
		t->body = xrealloc(t->body, t->body_cap);
	}
	memcpy(t->body + t->body_len, data, n);
	t->body_len += n;
	t->body[t->body_len] = '\0';
	return n;
}

static size_t
on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct transfer *t = arg;
	size_t n = size * nmemb;

	/* A redirect or 100-continue starts a new header block: keep only the last. */
	if (n > 5 && strncmp(data, "HTTP/", 5) == 0)
		t->headers_len = 0;
	if (t->headers_len + n + 1 > HEADERS_MAX)
		return n;	/* ignore the excess, keep the transfer */
	t->headers = xrealloc(t->headers, t->headers_len + n + 1);
	memcpy(t->headers + t->headers_len, data, n);
	t->headers_len += n;
	t->headers[t->headers_len] = '\0';
	return n;
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
	if (t->easy != NULL && c->nspare < SPARE_MAX) {
		curl_easy_reset(t->easy);
		c->spare[c->nspare++] = t->easy;
	} else {
		curl_easy_cleanup(t->easy);
	}
	curl_slist_free_all(t->req_headers);
	free(t->req_body);
	free(t->body);
	free(t->headers);
	free(t);
}

static void
sock_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_client *c = arg;
	int action = ((what & EV_READ) ? CURL_CSELECT_IN : 0) |
	    ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0), running;

	curl_multi_socket_action(c->multi, fd, action, &running);
	check_done(c);
}

static void
timer_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_client *c = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(c);
}

/* curl tells us which sockets to watch; we keep one persistent event per socket. */
static int
on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct http_client *c = userp;
	struct sock *sk = socketp;
	short events;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (sk != NULL) {
			event_free(sk->ev);
			free(sk);
			curl_multi_assign(c->multi, s, NULL);
		}
		return 0;
	}
	events = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
	    ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (sk == NULL) {
		sk = xcalloc(1, sizeof(*sk));
		sk->ev = event_new(c->base, s, events, sock_event_cb, c);
		curl_multi_assign(c->multi, s, sk);
	} else {
		event_del(sk->ev);
		event_assign(sk->ev, c->base, s, events, sock_event_cb, c);
	}
	if (c->priority >= 0)
		event_priority_set(sk->ev, c->priority);
	event_add(sk->ev, NULL);
	return 0;
}

/* curl asks for a timeout; no curl call here, the timer event makes it. */
static int
on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct http_client *c = userp;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(c->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(c->timer, &tv);
	return 0;
}

static void
finish(struct http_client *c, struct transfer *t, CURLcode result)
{
	struct http_response r;
	long status = 0;

	memset(&r, 0, sizeof(r));
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	r.body = t->body ? t->body : "";
	r.body_len = t->body_len;
	r.headers = t->headers ? t->headers : "";
	if (result == CURLE_OK) {
		r.status = (int)status;
	} else {
		/* No usable answer: the caller treats status 0 as a transport failure. */
		r.status = 0;
		r.timed_out = result == CURLE_OPERATION_TIMEDOUT;
		r.error = t->too_large ? "response larger than 1 MiB" :
		    (t->errbuf[0] ? t->errbuf : curl_easy_strerror(result));
		/* A timeout after the request was sent may have been acted on. */
		r.ambiguous = result == CURLE_OPERATION_TIMEDOUT || result == CURLE_RECV_ERROR ||
		    result == CURLE_GOT_NOTHING || result == CURLE_PARTIAL_FILE;
	}
	c->inflight--;
	t->done(&r, t->arg);
	transfer_free(t);
}

/* Outside any curl callback: safe to remove handles and to start new transfers. */
static void
check_done(struct http_client *c)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
		struct transfer *t = NULL;
		CURL *easy = msg->easy_handle;
		CURLcode result = msg->data.result;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
		curl_multi_remove_handle(c->multi, easy);
		finish(c, t, result);
	}
}

struct http_client *
http_client_new(struct event_base *base, int priority)
{
	struct http_client *c = xcalloc(1, sizeof(*c));

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		fatalx("%s: curl_global_init failed", __func__);
	c->base = base;
	if ((c->multi = curl_multi_init()) == NULL)
		fatalx("%s: curl_multi_init failed", __func__);
	c->priority = priority;
	c->timer = evtimer_new(base, timer_event_cb, c);
	if (priority >= 0)
		event_priority_set(c->timer, priority);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 64L);
	curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, 128L);
	return c;
}

int
http_client_send(struct http_client *c, const struct http_request *req, http_done_cb done,
    void *arg)
{
	struct transfer *t = xcalloc(1, sizeof(*t));
	CURL *e;

	if (c->nspare > 0)
		e = t->easy = c->spare[--c->nspare];
	else if ((e = t->easy = curl_easy_init()) == NULL)
		fatalx("%s: curl_easy_init failed", __func__);
	t->client = c;
	t->done = done;
	t->arg = arg;
	for (size_t i = 0; i < req->nheaders; i++)
		t->req_headers = curl_slist_append(t->req_headers, req->headers[i]);
	/* No "Expect: 100-continue" round trip on larger bodies. */
	t->req_headers = curl_slist_append(t->req_headers, "Expect:");
	curl_easy_setopt(e, CURLOPT_URL, req->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, t);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->req_headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(req->timeout_ms > 0 ? req->timeout_ms :
	    10000));
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "shokai/" SHOKAI_VERSION);
	/* Request bodies are a few KiB: the smallest upload buffer (16 KiB, not 64) keeps
	 * 64 transfers in flight within the resident-size budget. */
	curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, 16384L);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
	if (req->body != NULL) {
		t->req_body = xmalloc(req->body_len + 1);
		memcpy(t->req_body, req->body, req->body_len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->req_body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
	} else if (strcmp(req->method, "GET") == 0) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	}
	if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
		log_warnx("msg=\"cannot start an outbound request\"");
		transfer_free(t);
		return -1;
	}
	t->next = c->transfers;
	if (c->transfers != NULL)
		c->transfers->prev = t;
	c->transfers = t;
	c->inflight++;
	return 0;
}

/* Pending transfers are abandoned without their callbacks: the outbox keeps their
 * rows and sends them again at the next start. */
void
http_client_free(struct http_client *c)
{
	if (c == NULL)
		return;
	while (c->transfers != NULL) {
		struct transfer *t = c->transfers;

		curl_multi_remove_handle(c->multi, t->easy);
		transfer_free(t);
	}
	while (c->nspare > 0)
		curl_easy_cleanup(c->spare[--c->nspare]);
	curl_multi_cleanup(c->multi);
	event_free(c->timer);
	curl_global_cleanup();
	free(c);
}
