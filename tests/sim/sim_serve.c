/* sim_serve.c: `shokaisim serve`. Owns the evhttp listener and the request lifecycle:
 * read the request, record it, apply a fault rule, hand it to the LINE, LINE WORKS or
 * control handler, then send (or hold back, or drop) the answer. Every response goes
 * out through serve_send(). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/evp.h>

#include "sim.h"

struct serve_opts {
	const char	*listen;
	const char	*record;
	const char	*works_key;
	int		 verbose;
	int		 no_records;
};

static const char *
method_name(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	case EVHTTP_REQ_PATCH: return "PATCH";
	default: return "OTHER";
	}
}

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Status";
	}
}

static enum sim_platform
platform_of(const char *path)
{
	if (strncmp(path, "/_sim/", 6) == 0)
		return PLAT_NONE;
	if (strncmp(path, "/oauth2/", 8) == 0)
		return PLAT_WORKS_AUTH;
	if (strncmp(path, "/v1.0/", 6) == 0)
		return PLAT_WORKS;
	return PLAT_LINE;	/* /v2/... and anything unknown answer LINE-style */
}

/* ------------------------------------------------------------------ answers */

void
serve_json(struct sim_req *rq, int status, json_t *body)
{
	rq->status = status;
	free(rq->resp);
	rq->resp = NULL;
	if (body != NULL) {
		rq->resp = json_dumps(body, JSON_COMPACT);
		json_decref(body);
		if (rq->resp == NULL)
			rq->resp = xstrdup("{}");
	}
}

void
serve_header(struct sim_req *rq, const char *name, const char *value)
{
	/* evhttp refuses CR/LF in values; such a header is simply not sent. */
	(void)evhttp_add_header(evhttp_request_get_output_headers(rq->req), name, value);
}

static const char *
works_code(int status)
{
	switch (status) {
	case 400: return "BAD_REQUEST";
	case 401: return "UNAUTHORIZED";
	case 403: return "FORBIDDEN";
	case 404: return "NOT_FOUND";
	case 409: return "CONFLICT";
	case 429: return "TOO_MANY_REQUESTS";
	case 503: return "SERVICE_UNAVAILABLE";
	default: return status >= 500 ? "INTERNAL_SERVER_ERROR" : "BAD_REQUEST";
	}
}

static const char *
oauth_code(int status)
{
	switch (status) {
	case 400: return "invalid_request";
	case 401: return "invalid_client";
	case 429: return "temporarily_unavailable";
	default: return status >= 500 ? "server_error" : "invalid_request";
	}
}

/* LINE's wording for the statuses a fault rule may ask for. */
static const char *
line_message(struct sim_req *rq, int status)
{
	switch (status) {
	case 400:
		/* The daemon tells a dead reply token by this text: keep it for faults. */
		return strcmp(rq->path, "/v2/bot/message/reply") == 0 ?
		    "Invalid reply token" : "The request body has 1 error(s)";
	case 401:
		return "Authentication failed. Confirm that the access token in the "
		    "authorization header is valid.";
	case 403: return "Access to this API is not available for your account";
	case 404: return "Not found";
	case 409: return "The retry key is already accepted";
	case 413: return "Request Entity Too Large";
	case 429: return "The API rate limit has been exceeded. Try again later.";
	default: return status >= 500 ? "Internal server error" : "Error";
	}
}

void
serve_error(struct sim_req *rq, int status, const char *message)
{
	json_t *body;

	switch (rq->platform) {
	case PLAT_WORKS:
		body = json_pack("{s:s, s:s}", "code", works_code(status), "description",
		    message != NULL ? message : reason(status));
		break;
	case PLAT_WORKS_AUTH:
		body = json_pack("{s:s, s:s}", "error", oauth_code(status),
		    "error_description", message != NULL ? message : reason(status));
		break;
	case PLAT_LINE:
		body = json_pack("{s:s}", "message",
		    message != NULL ? message : line_message(rq, status));
		break;
	default:
		body = json_pack("{s:s}", "error", message != NULL ? message : reason(status));
		break;
	}
	serve_json(rq, status, body);
}

const char *
serve_input_header(struct sim_req *rq, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(rq->req), name);
}

json_t *
serve_body_json(struct sim_req *rq, size_t max)
{
	json_error_t e;
	json_t *j;
	char msg[256];

	if (rq->body_len > max) {
		snprintf(msg, sizeof(msg), "The request body is larger than %zu bytes", max);
		serve_error(rq, 413, msg);
		return NULL;
	}
	if (rq->body_len == 0) {
		serve_error(rq, 400, rq->platform == PLAT_LINE ?
		    "The request body could not be parsed as JSON (line: 1, column: 0)" :
		    "request body is empty");
		return NULL;
	}
	if ((j = json_loadb(rq->body, rq->body_len, 0, &e)) == NULL) {
		if (rq->platform == PLAT_LINE)
			snprintf(msg, sizeof(msg), "The request body could not be parsed as JSON "
			    "(line: %d, column: %d)", e.line, e.column);
		else
			snprintf(msg, sizeof(msg), "request body is not JSON: %.160s", e.text);
		serve_error(rq, 400, msg);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		serve_error(rq, 400, rq->platform == PLAT_LINE ?
		    "The request body could not be parsed as JSON (line: 1, column: 1)" :
		    "request body must be a JSON object");
		return NULL;
	}
	return j;
}

/* ---------------------------------------------------------------- recording */


/* Drops the oldest records until one more of `adding` body bytes fits, and a tenth of
 * the log besides: rebuilding the array is O(n), so it is done once per tenth, not per
 * request (shifting the array per request made a full simulator slow down the daemon's
 * benchmarks). */
static void
drop_oldest(struct sim *s, size_t adding)
{
	size_t n = json_array_size(s->records), drop = 0, bytes = s->record_bytes;
	json_t *kept;

	while (drop < n && (n - drop >= SIM_MAX_RECORDS || bytes + adding > SIM_MAX_RECORD_BYTES ||
	    drop < n / 10)) {
		bytes -= (size_t)json_integer_value(json_object_get(json_array_get(s->records,
		    drop), "body_len"));
		drop++;
	}
	kept = json_array();
	for (size_t i = drop; i < n; i++)
		json_array_append(kept, json_array_get(s->records, i));
	json_decref(s->records);
	s->records = kept;
	s->record_bytes = bytes;
	s->records_dropped += drop;
}

static json_t *
record_new(struct sim_req *rq)
{
	struct sim *s = rq->sim;
	struct evkeyvalq *in = evhttp_request_get_input_headers(rq->req);
	struct evkeyval *kv;
	json_t *r, *headers = json_object(), *body;

	TAILQ_FOREACH(kv, in, next) {
		char name[128];
		size_t i;
		json_t *old;

		for (i = 0; kv->key[i] != '\0' && i < sizeof(name) - 1; i++)
			name[i] = (char)((kv->key[i] >= 'A' && kv->key[i] <= 'Z') ?
			    kv->key[i] - 'A' + 'a' : kv->key[i]);
		name[i] = '\0';
		if ((old = json_object_get(headers, name)) != NULL) {
			/* A repeated header: join the values the way HTTP allows. */
			char *joined = xasprintf("%s, %s", json_string_value(old), kv->value);

			json_object_set_new(headers, name, util_json_text(joined, strlen(joined)));
			free(joined);
		} else {
			json_object_set_new(headers, name, util_json_text(kv->value,
			    strlen(kv->value)));
		}
	}
	r = json_pack("{s:I, s:s, s:s, s:o, s:n, s:I}", "seq", (json_int_t)++s->seq,
	    "method", rq->method_name, "path", "", "headers", headers, "status",
	    "at_ms", (json_int_t)wall_ms());
	json_object_set_new(r, "path", util_json_text(rq->path, strlen(rq->path)));
	if (rq->query != NULL)
		json_object_set_new(r, "query", util_json_text(rq->query, strlen(rq->query)));
	/* The body as text when it is UTF-8 (JSON, forms); images go as base64. */
	if ((body = json_stringn(rq->body, rq->body_len)) != NULL) {
		json_object_set_new(r, "body", body);
	} else {
		char *b64 = util_base64(rq->body, rq->body_len);

		json_object_set_new(r, "body", json_null());
		json_object_set_new(r, "body_base64", json_string(b64));
		free(b64);
	}
	json_object_set_new(r, "body_len", json_integer((json_int_t)rq->body_len));
	if (json_array_size(s->records) > 0 &&
	    (json_array_size(s->records) >= SIM_MAX_RECORDS ||
	    s->record_bytes + rq->body_len > SIM_MAX_RECORD_BYTES))
		drop_oldest(s, rq->body_len);
	s->record_bytes += rq->body_len;
	json_array_append(s->records, r);
	return r;	/* the request keeps this reference until it is answered */
}

/* Sets the final status of the record and appends it to --record FILE. */
static void
record_done(struct sim_req *rq, int status)
{
	struct sim *s = rq->sim;
	char *line;

	if (rq->record == NULL)
		return;
	json_object_set_new(rq->record, "status", json_integer(status));
	if (rq->fault != NULL)
		json_object_set_new(rq->record, "fault",
		    json_string(ctl_fault_mode_name(rq->fault->mode)));
	if (s->verbose)
		util_log("info", "msg=request seq=%lld method=%s path=%s status=%d%s%s",
		    (long long)json_integer_value(json_object_get(rq->record, "seq")),
		    rq->method_name, json_string_value(json_object_get(rq->record, "path")),
		    status, rq->fault ? " fault=" : "",
		    rq->fault ? ctl_fault_mode_name(rq->fault->mode) : "");
	if (s->record_file == NULL)
		return;
	if ((line = json_dumps(rq->record, JSON_COMPACT)) == NULL)
		return;
	if (fprintf(s->record_file, "%s\n", line) < 0 || fflush(s->record_file) != 0)
		util_log("warn", "msg=\"cannot write the record file\" error=\"%s\"",
		    strerror(errno));
	free(line);
}

/* ------------------------------------------------------------------ lifecycle */

static void
req_free(struct sim_req *rq)
{
	if (rq->timer != NULL)
		event_free(rq->timer);
	json_decref(rq->record);
	ctl_fault_free(rq->fault);
	free(rq->path);
	free(rq->query);
	free(rq->body);
	free(rq->resp);
	free(rq);
}

static void
serve_send(struct sim_req *rq)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(rq->req);

	if (rq->platform == PLAT_LINE)
		evhttp_add_header(out, "X-Line-Request-Id", rq->request_id);
	if (rq->resp != NULL && rq->status != 204) {
		evhttp_add_header(out, "Content-Type", "application/json");
		evbuffer_add(evhttp_request_get_output_buffer(rq->req), rq->resp,
		    strlen(rq->resp));
	}
	record_done(rq, rq->status);
	evhttp_send_reply(rq->req, rq->status, reason(rq->status), NULL);
	req_free(rq);
}

/* Closes the connection without an answer. Only called from inside evhttp's request
 * callback, where nothing below us touches the connection after we return (the
 * bufferevent holds its own reference); freeing it also frees the request. */
static void
serve_drop(struct sim_req *rq)
{
	record_done(rq, 0);
	evhttp_connection_free(evhttp_request_get_connection(rq->req));
	req_free(rq);
}

static void
pending_remove(struct sim_req *rq)
{
	struct sim_req **pp;

	for (pp = &rq->sim->pending; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == rq) {
			*pp = rq->next;
			break;
		}
	}
}

static void
delayed_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sim_req *rq = arg;

	(void)fd;
	(void)what;
	pending_remove(rq);
	/* If the client went away meanwhile, evhttp has detached the request; sending
	 * then only frees it. */
	serve_send(rq);
}

/* Applies what the fault rule says about the handler's answer, then sends it now or
 * after the sleep. */
static void
serve_finish(struct sim_req *rq)
{
	struct sim_fault *f = rq->fault;
	struct timeval tv;

	if (f != NULL && f->mode == FAULT_ACCEPT_THEN_DROP) {
		serve_drop(rq);
		return;
	}
	if (f != NULL && f->mode == FAULT_ACCEPT_THEN_STATUS) {
		/* The work is done (counted as delivered); only the answer is an error. */
		evhttp_clear_headers(evhttp_request_get_output_headers(rq->req));
		serve_error(rq, f->status, NULL);
	}
	if (f != NULL && (f->mode == FAULT_STATUS || f->mode == FAULT_ACCEPT_THEN_STATUS)) {
		const char *k;
		json_t *v;

		json_object_foreach(f->headers, k, v)
			serve_header(rq, k, json_string_value(v));
		if (f->body != NULL) {
			free(rq->resp);
			rq->resp = xstrdup(f->body);
		}
	}
	if (f != NULL && f->mode == FAULT_SLEEP && f->ms > 0) {
		tv.tv_sec = f->ms / 1000;
		tv.tv_usec = (f->ms % 1000) * 1000;
		if ((rq->timer = evtimer_new(rq->sim->base, delayed_cb, rq)) == NULL ||
		    evtimer_add(rq->timer, &tv) == -1) {
			util_log("warn", "msg=\"cannot arm a timer; answering now\"");
			serve_send(rq);
			return;
		}
		rq->next = rq->sim->pending;
		rq->sim->pending = rq;
		return;
	}
	serve_send(rq);
}

static void
route(struct evhttp_request *req, void *arg)
{
	struct sim *s = arg;
	struct sim_req *rq = xcalloc(1, sizeof(*rq));
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;

	rq->sim = s;
	rq->req = req;
	rq->method = evhttp_request_get_command(req);
	rq->method_name = method_name(evhttp_request_get_command(req));
	rq->path = xstrdup(path != NULL && *path != '\0' ? path : "/");
	rq->query = query != NULL ? xstrdup(query) : NULL;
	rq->body_len = evbuffer_get_length(in);	/* <= SIM_MAX_BODY: evhttp enforces it */
	rq->body = xmalloc(rq->body_len + 1);
	if (evbuffer_copyout(in, rq->body, rq->body_len) != (ev_ssize_t)rq->body_len)
		rq->body_len = 0;
	rq->body[rq->body_len] = '\0';
	rq->platform = platform_of(rq->path);
	rq->status = 500;
	util_uuid(rq->request_id);

	if (rq->platform == PLAT_NONE) {
		ctl_route(rq);
		serve_finish(rq);
		return;
	}
	/* A benchmark's simulator keeps no records: building and holding 100,000 of them
	 * made it slower than the daemon it answers (malloc on a 200 MiB heap). */
	if (!s->no_records)
		rq->record = record_new(rq);
	else
		s->seq++;	/* still counted: /_sim/stats' requests */
	rq->fault = ctl_fault_take(s, rq->method_name, rq->path);
	if (rq->fault != NULL && rq->fault->mode == FAULT_DROP) {
		serve_drop(rq);
		return;
	}
	if (rq->fault != NULL && rq->fault->mode == FAULT_STATUS)
		serve_error(rq, rq->fault->status, NULL);
	else if (rq->platform == PLAT_LINE)
		line_route(rq);
	else
		works_route(rq);
	serve_finish(rq);
}

/* ------------------------------------------------------------------ state */

static void
state_init(struct sim *s)
{
	s->records = json_array();
	s->quota_limit = -1;		/* LINE's "none" until POST /_sim/quota */
	s->quota_used = 0;
	s->reply_tokens = json_object();
	s->retry_keys = json_object();
	s->profiles = json_object();
	s->menus = json_object();
	s->aliases = json_object();
	s->user_menus = json_object();
	s->tokens = json_object();
	s->refresh_tokens = json_object();
	s->persistent_menus = json_object();
}

static void
state_free(struct sim *s)
{
	json_decref(s->records);
	json_decref(s->reply_tokens);
	json_decref(s->retry_keys);
	json_decref(s->profiles);
	json_decref(s->menus);
	json_decref(s->aliases);
	json_decref(s->user_menus);
	json_decref(s->tokens);
	json_decref(s->refresh_tokens);
	json_decref(s->persistent_menus);
	free(s->default_menu);
	s->default_menu = NULL;
}

void
serve_reset(struct sim *s)
{
	state_free(s);
	state_init(s);
	ctl_faults_clear(s);
	s->seq = 0;
	s->records_dropped = 0;
	s->record_bytes = 0;
	s->line_delivered = 0;
	s->keys_forgotten = 0;
	s->tokens_issued = 0;
	s->works_delivered = 0;
	/* token_seq stays: a token from before the reset must not come back valid. */
}

/* ------------------------------------------------------------------ startup */

/* "127.0.0.1:8091" or "[::1]:8091" into host and port; loopback only, because the
 * control API has no authentication. */
static int
parse_listen(const char *arg, char *host, size_t hostlen, int *port, const char **why)
{
	const char *colon;
	char *end;
	size_t n;
	long p;
	unsigned char addr[sizeof(struct in6_addr)];

	if (arg[0] == '[') {
		const char *close = strchr(arg, ']');

		if (close == NULL || close[1] != ':') {
			*why = "expected [IPv6]:PORT";
			return -1;
		}
		n = (size_t)(close - arg - 1);
		colon = close + 1;
		arg++;
	} else {
		if ((colon = strrchr(arg, ':')) == NULL) {
			*why = "expected HOST:PORT";
			return -1;
		}
		n = (size_t)(colon - arg);
	}
	if (n == 0 || n >= hostlen) {
		*why = "bad host";
		return -1;
	}
	memcpy(host, arg, n);
	host[n] = '\0';
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || p < 0 || p > 65535) {
		*why = "port must be 0..65535 (0 = any free port)";
		return -1;
	}
	*port = (int)p;
	if (inet_pton(AF_INET, host, addr) == 1) {
		if (addr[0] != 127) {
			*why = "not a loopback address (the control API has no authentication)";
			return -1;
		}
	} else if (inet_pton(AF_INET6, host, addr) == 1) {
		if (memcmp(addr, &in6addr_loopback, sizeof(in6addr_loopback)) != 0) {
			*why = "not a loopback address (the control API has no authentication)";
			return -1;
		}
	} else {
		*why = "host must be a numeric loopback address such as 127.0.0.1";
		return -1;
	}
	return 0;
}

static void
log_listening(evutil_socket_t fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
			port = ntohs(s6->sin6_port);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
			port = ntohs(s4->sin_port);
		}
	}
	util_log("notice", "msg=listening addr=%s%s%s:%d", ss.ss_family == AF_INET6 ? "[" :
	    "", host, ss.ss_family == AF_INET6 ? "]" : "", port);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct sim *s = arg;

	(void)what;
	util_log("notice", "msg=stopping signal=%d", (int)sig);
	event_base_loopexit(s->base, NULL);
}

static int
parse_opts(int argc, char **argv, struct serve_opts *o)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "record", required_argument, NULL, 'r' },
		{ "works-key", required_argument, NULL, 'k' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "no-records", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	o->listen = "127.0.0.1:8091";
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":l:r:k:vnh", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': o->listen = optarg; break;
		case 'r': o->record = optarg; break;
		case 'k': o->works_key = optarg; break;
		case 'v': o->verbose = 1; break;
		case 'n': o->no_records = 1; break;
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			fprintf(stderr, "shokaisim: serve: %s needs a value\n", argv[optind - 1]);
			return -1;
		default:
			fprintf(stderr, "shokaisim: serve: unknown option %s (see shokaisim "
			    "--help)\n", argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "shokaisim: serve: unexpected argument %s\n", argv[optind]);
		return -1;
	}
	return 0;
}

int
serve_main(int argc, char **argv)
{
	struct serve_opts o;
	struct sim s;
	struct evhttp_bound_socket *bound;
	struct event *sigterm = NULL, *sigint = NULL;
	char host[INET6_ADDRSTRLEN], err[256];
	const char *why = NULL;
	int port, rc = 1;

	memset(&o, 0, sizeof(o));
	memset(&s, 0, sizeof(s));
	if (parse_opts(argc, argv, &o) == -1)
		return 2;
	if (parse_listen(o.listen, host, sizeof(host), &port, &why) == -1) {
		fprintf(stderr, "shokaisim: --listen: %s: %s\n", o.listen, why);
		return 2;
	}
	if (o.works_key != NULL && (s.works_key = works_load_key(o.works_key, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "shokaisim: --works-key: %s\n", err);
		return 2;
	}
	if (o.record != NULL && (s.record_file = fopen(o.record, "a")) == NULL) {
		fprintf(stderr, "shokaisim: --record: cannot open %s: %s\n", o.record,
		    strerror(errno));
		goto done;
	}
	s.verbose = o.verbose;
	s.no_records = o.no_records;
	state_init(&s);
	/* A client that hangs up must not kill us through a write. */
	signal(SIGPIPE, SIG_IGN);
	if ((s.base = event_base_new()) == NULL || (s.http = evhttp_new(s.base)) == NULL) {
		fprintf(stderr, "shokaisim: serve: cannot set up libevent\n");
		goto done;
	}
	evhttp_set_max_body_size(s.http, SIM_MAX_BODY);
	evhttp_set_max_headers_size(s.http, SIM_MAX_HEADERS);
	evhttp_set_timeout(s.http, SIM_IDLE_TIMEOUT_S);
	evhttp_set_allowed_methods(s.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
	    EVHTTP_REQ_PATCH);
	evhttp_set_gencb(s.http, route, &s);
	if ((bound = evhttp_bind_socket_with_handle(s.http, host, (ev_uint16_t)port)) ==
	    NULL) {
		fprintf(stderr, "shokaisim: --listen: cannot listen on %s: %s\n", o.listen,
		    strerror(errno));
		goto done;
	}
	if ((sigterm = evsignal_new(s.base, SIGTERM, on_signal, &s)) == NULL ||
	    (sigint = evsignal_new(s.base, SIGINT, on_signal, &s)) == NULL ||
	    evsignal_add(sigterm, NULL) == -1 || evsignal_add(sigint, NULL) == -1) {
		fprintf(stderr, "shokaisim: serve: cannot catch signals\n");
		goto done;
	}
	log_listening(evhttp_bound_socket_get_fd(bound));
	if (event_base_dispatch(s.base) == -1) {
		fprintf(stderr, "shokaisim: serve: event loop failed\n");
		goto done;
	}
	rc = 0;
done:
	/* Held-back answers go out now; evhttp_free then closes their connections. */
	while (s.pending != NULL) {
		struct sim_req *rq = s.pending;

		s.pending = rq->next;
		serve_send(rq);
	}
	if (s.http != NULL)
		evhttp_free(s.http);
	if (sigterm != NULL)
		event_free(sigterm);
	if (sigint != NULL)
		event_free(sigint);
	if (s.base != NULL)
		event_base_free(s.base);
	ctl_faults_clear(&s);
	state_free(&s);
	if (s.record_file != NULL)
		fclose(s.record_file);
	EVP_PKEY_free(s.works_key);
	return rc;
}
