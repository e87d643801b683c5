/* http.c: the evhttp server. Binds the listener, sets every limit explicitly (libevent
 * 2.1's defaults are unlimited), routes requests, checks webhook signatures before
 * anything parses the body and hands verified requests to ingest. Responses are written
 * by http_reply.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "../shokaid.h"

#define LISTEN_BACKLOG 4096

/* Every error response of the routes: a generic body, the log line says why. */
static void
reply_error(struct evhttp_request *req, int code, const char *error, const char *channel,
    int64_t start_us, const char *why)
{
	struct http_answer a = { .code = code, .channel = channel, .start_us = start_us };

	http_reply_error(req, &a, error, why);
}

static void
wrong_method(struct evhttp_request *req, const char *allow, int64_t start_us)
{
	char error[32];

	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
	snprintf(error, sizeof(error), "use %s", allow);
	reply_error(req, 405, error, NULL, start_us, NULL);
}

/* Finds a header that must appear exactly once (two signatures could disagree). */
static int
header_once(struct evhttp_request *req, const char *name, const char **value)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	struct evkeyval *kv;
	int n = 0;

	*value = NULL;
	TAILQ_FOREACH(kv, h, next) {
		if (strcasecmp(kv->key, name) == 0) {
			*value = kv->value;
			n++;
		}
	}
	return n > 1 ? -1 : 0;
}

static const char *
request_body(struct evhttp_request *req, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);

	*len = evbuffer_get_length(in);
	if (*len == 0)
		return "";
	return (const char *)evbuffer_pullup(in, -1);
}

static void
sig_failed(struct daemon *d, struct evhttp_request *req, const char *channel,
    int64_t start_us, const char *why)
{
	struct http_answer a = { .code = 401, .channel = channel, .start_us = start_us };
	unsigned long suppressed;
	char extra[WHY_MAX + 64];

	d->stats.sig_failures++;
	/* Forged traffic must not be able to flood the log: one line a second at most. */
	a.unlogged = !log_ratelimit_ok(&d->rl_sig, &suppressed);
	if (!a.unlogged) {
		snprintf(extra, sizeof(extra), "reason=\"%s\" suppressed=%lu", why, suppressed);
		a.log_extra = extra;
	}
	http_reply_error(req, &a, "unauthorized", why);
}

static void
handle_line(struct daemon *d, struct evhttp_request *req, const char *id, int64_t start_us)
{
	const struct config_line_channel *ch = config_line_channel(d->cfg, id);
	struct event_list events = { 0 };
	const char *sig, *body;
	char why[WHY_MAX];
	size_t len;

	if (ch == NULL) {
		reply_error(req, 404, "not found", NULL, start_us, "unknown channel");
		return;
	}
	body = request_body(req, &len);
	if (header_once(req, "X-Line-Signature", &sig) == -1) {
		sig_failed(d, req, ch->id, start_us, "X-Line-Signature header sent twice");
		return;
	}
	if (sig_verify_key(ch->secret_key, body, len, sig, why, sizeof(why)) == -1) {
		sig_failed(d, req, ch->id, start_us, why);
		return;
	}
	d->stats.json_parse_calls++;
	if (webhook_line_parse(ch->id, body, len, ch->bot_user_id, &events, why,
	    sizeof(why)) == -1) {
		ingest_add(d->ingest, req, PLATFORM_LINE, ch->id, body, len, NULL, why,
		    start_us);
		return;
	}
	ingest_add(d->ingest, req, PLATFORM_LINE, ch->id, body, len, &events, NULL, start_us);
}

static void
handle_works(struct daemon *d, struct evhttp_request *req, const char *id, int64_t start_us)
{
	const struct config_works_bot *bot = config_works_bot(d->cfg, id);
	struct event_list events = { 0 };
	const char *sig, *bot_hdr, *body;
	char why[WHY_MAX];
	size_t len;

	if (bot == NULL) {
		reply_error(req, 404, "not found", NULL, start_us, "unknown bot");
		return;
	}
	if (header_once(req, "X-WORKS-BotId", &bot_hdr) == -1) {
		sig_failed(d, req, bot->id, start_us, "X-WORKS-BotId header sent twice");
		return;
	}
	if (bot_hdr == NULL || strcmp(bot_hdr, bot->bot_id) != 0) {
		sig_failed(d, req, bot->id, start_us, bot_hdr == NULL ?
		    "X-WORKS-BotId header missing" : "X-WORKS-BotId is not this bot's id");
		return;
	}
	body = request_body(req, &len);
	if (header_once(req, "X-WORKS-Signature", &sig) == -1) {
		sig_failed(d, req, bot->id, start_us, "X-WORKS-Signature header sent twice");
		return;
	}
	if (sig_verify_key(bot->secret_key, body, len, sig, why, sizeof(why)) == -1) {
		sig_failed(d, req, bot->id, start_us, why);
		return;
	}
	d->stats.json_parse_calls++;
	if (webhook_works_parse(bot->id, bot->bot_id, body, len, &events, why,
	    sizeof(why)) == -1) {
		ingest_add(d->ingest, req, PLATFORM_WORKS, bot->id, body, len, NULL, why,
		    start_us);
		return;
	}
	ingest_add(d->ingest, req, PLATFORM_WORKS, bot->id, body, len, &events, NULL, start_us);
}

static void
route(struct evhttp_request *req, void *arg)
{
	struct daemon *d = arg;
	int64_t start_us = clock_us();
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	enum evhttp_cmd_type method = evhttp_request_get_command(req);

	/* First, for every request: the guard stops its deadline and checks the next
	 * request's head on this connection from here. */
	http_guard_request_read(d->guard, req, start_us);
	if (path == NULL)
		path = "";
	/* Only what LINE, LINE WORKS and the invite's readers need: health and metrics
	 * are the admin listener's (console_health.c). */
	if (strncmp(path, "/line/", 6) == 0) {
		if (method != EVHTTP_REQ_POST)
			wrong_method(req, "POST", start_us);
		else
			handle_line(d, req, path + 6, start_us);
	} else if (strncmp(path, "/works/", 7) == 0) {
		if (method != EVHTTP_REQ_POST)
			wrong_method(req, "POST", start_us);
		else
			handle_works(d, req, path + 7, start_us);
	} else if (strncmp(path, "/r/", 3) == 0) {
		if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD)
			wrong_method(req, "GET, HEAD", start_us);
		else
			http_invite_handle(d, req, path + 3, start_us);
	} else
		reply_error(req, 404, "not found", NULL, start_us, NULL);
}

/* We open the socket ourselves: evhttp's own bind uses a backlog of 128, too small for
 * a burst of webhook connections. */
static int
open_listener(const char *host, int port, char *why, size_t whylen)
{
	struct addrinfo hints, *res = NULL;
	char portstr[16];
	int fd = -1, one = 1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((rc = getaddrinfo(host, portstr, &hints, &res)) != 0) {
		snprintf(why, whylen, "server.listen %s:%d: %s", host, port, gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) == -1 || listen(fd, LISTEN_BACKLOG) == -1) {
		snprintf(why, whylen, "server.listen %s:%d: %s", host, port, strerror(errno));
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static void
log_listening(int fd, int tls)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[NI_MAXHOST], port[NI_MAXSERV];

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port, sizeof(port),
	    NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		log_notice("msg=listening addr=%s%s%s:%s tls=%s",
		    ss.ss_family == AF_INET6 ? "[" : "", host,
		    ss.ss_family == AF_INET6 ? "]" : "", port, tls ? "on" : "off");
}

void
http_apply_config(struct daemon *d)
{
	struct timeval idle = { d->cfg->idle_timeout_ms / 1000,
	    (d->cfg->idle_timeout_ms % 1000) * 1000 };

	evhttp_set_max_body_size(d->http, (ev_ssize_t)d->cfg->max_body);
	evhttp_set_max_headers_size(d->http, (ev_ssize_t)d->cfg->max_headers);
	evhttp_set_timeout_tv(d->http, &idle);
	http_guard_apply(d->guard, d->cfg->max_connections, d->cfg->read_timeout_ms,
	    d->cfg->max_headers);
	/* A renewed certificate: new connections get it, open ones keep theirs. Turning
	 * TLS on or off takes a restart (main.c says so), so a plain listener stays so. */
	if (d->tls_on)
		http_guard_set_tls(d->guard, d->cfg->server_tls);
}

int
http_start(struct daemon *d, char *why, size_t whylen)
{
	struct evhttp_bound_socket *bound;
	int fd;

	if ((fd = open_listener(d->cfg->listen_host, d->cfg->listen_port, why, whylen)) == -1)
		return -1;
	if ((d->http = evhttp_new(d->base)) == NULL)
		fatalx("%s: evhttp_new failed", __func__);
	/* Accept every method so that a wrong one gets our 405, not evhttp's 501. */
	evhttp_set_allowed_methods(d->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
	    EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(d->http, route, d);
	if ((bound = evhttp_accept_socket_with_handle(d->http, fd)) == NULL) {
		snprintf(why, whylen, "server.listen: cannot accept on the socket");
		close(fd);
		return -1;
	}
	d->guard = http_guard_new(d, d->http, evhttp_bound_socket_get_listener(bound));
	d->tls_on = d->cfg->server_tls != NULL;
	http_apply_config(d);
	log_listening(fd, d->tls_on);
	return 0;
}

void
http_drain(struct daemon *d)
{
	if (d->guard != NULL)
		http_guard_drain(d->guard);
}

/* Closes every connection left (after a drain timeout or a second signal): a request
 * still waiting in ingest is forgotten by the guard's close hook before evhttp frees it. */
void
http_free(struct daemon *d)
{
	/* evhttp_free frees the listener before the connections, whose close hooks must
	 * then find it paused already. */
	if (d->guard != NULL)
		http_guard_stop_accepting(d->guard);
	if (d->http != NULL)
		evhttp_free(d->http);
	d->http = NULL;
}
