/* http.c: the public listener. Binds it, gives the server (http_server.c) its limits,
 * routes requests, checks webhook signatures before anything parses the body and hands
 * verified requests to ingest. Responses are written by http_reply.c. */
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

#include "../shokaid.h"

#define LISTEN_BACKLOG 4096

/* Every error response of the routes: a generic body, the log line says why. */
static void
reply_error(struct http_req *req, int code, const char *error, const char *channel,
    int64_t start_us, const char *why)
{
	struct http_answer a = { .code = code, .channel = channel, .start_us = start_us };

	http_reply_error(req, &a, error, why);
}

static void
wrong_method(struct http_req *req, const char *allow, int64_t start_us)
{
	char error[32];

	http_req_add_header(req, "Allow", allow);
	snprintf(error, sizeof(error), "use %s", allow);
	reply_error(req, 405, error, NULL, start_us, NULL);
}

/* Finds a header that must appear at most once (two signatures could disagree). */
static int
header_once(struct http_req *req, const char *name, const char **value)
{
	int n;

	*value = http_req_header(req, name, &n);
	return n > 1 ? -1 : 0;
}

static void
sig_failed(struct daemon *d, struct http_req *req, const char *channel,
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
handle_line(struct daemon *d, struct http_req *req, const char *id, int64_t start_us)
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
	body = http_req_body(req, &len);
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
handle_works(struct daemon *d, struct http_req *req, const char *id, int64_t start_us)
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
	body = http_req_body(req, &len);
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
route(struct daemon *d, struct http_req *req)
{
	int64_t start_us = clock_us();
	const char *path = http_req_path(req), *method = http_req_method(req);

	/* Only what LINE, LINE WORKS and the invite's readers need: health and metrics
	 * are the admin listener's (console_health.c). */
	if (strncmp(path, "/line/", 6) == 0) {
		if (strcmp(method, "POST") != 0)
			wrong_method(req, "POST", start_us);
		else
			handle_line(d, req, path + 6, start_us);
	} else if (strncmp(path, "/works/", 7) == 0) {
		if (strcmp(method, "POST") != 0)
			wrong_method(req, "POST", start_us);
		else
			handle_works(d, req, path + 7, start_us);
	} else if (strncmp(path, "/r/", 3) == 0) {
		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
			wrong_method(req, "GET, HEAD", start_us);
		else
			http_invite_handle(d, req, path + 3, start_us);
	} else
		reply_error(req, 404, "not found", NULL, start_us, NULL);
}

/* The backlog is ours: libevent's usual 128 is too small for a burst of webhook
 * connections. */
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
	const struct config *cf = d->cfg;
	struct http_limits l = { .max_connections = cf->max_connections,
	    .read_timeout_ms = cf->read_timeout_ms, .idle_timeout_ms = cf->idle_timeout_ms,
	    .max_headers = cf->max_headers, .max_body = cf->max_body };

	http_server_apply(d->http, &l);
	/* A renewed certificate: new connections get it, open ones keep theirs. Turning
	 * TLS on or off takes a restart (main.c says so), so a plain listener stays so. */
	if (d->tls_on)
		http_server_set_tls(d->http, cf->server_tls);
}

int
http_start(struct daemon *d, char *why, size_t whylen)
{
	int fd;

	if ((fd = open_listener(d->cfg->listen_host, d->cfg->listen_port, why, whylen)) == -1)
		return -1;
	d->http = http_server_new(d, fd, route);
	d->tls_on = d->cfg->server_tls != NULL;
	http_apply_config(d);
	log_listening(fd, d->tls_on);
	return 0;
}

void
http_drain(struct daemon *d)
{
	if (d->http != NULL)
		http_server_drain(d->http);
}

/* Closes every connection left (after a drain timeout or a second signal): a request
 * still waiting in ingest is forgotten first, and its answer finds nobody. */
void
http_free(struct daemon *d)
{
	http_server_free(d->http);
	d->http = NULL;
}
