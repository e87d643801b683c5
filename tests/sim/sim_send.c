/* sim_send.c: `shokaisim send line|works`: builds one realistic webhook body, signs it
 * the way the platform does (base64 HMAC-SHA256 of the exact bytes), POSTs it with
 * evhttp's client and reports the daemon's HTTP status. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "sim.h"

#define DEFAULT_LINE_USER	"U36b3216fdaeeb975729fae923d5a4fd1"
#define DEFAULT_DESTINATION	"Ua4c123b1612dd272d1371c17149d4395"
#define DEFAULT_TEXT		"こんにちは"
#define DEFAULT_POSTBACK	"action=test"
#define DEFAULT_DOMAIN_ID	40029600
#define DEFAULT_TIMEOUT_S	10
#define MAX_TIMEOUT_S		600
#define MAX_SHOWN_BODY		(64u << 10)	/* response bytes kept for messages */

struct send_opts {
	int		 works;
	const char	*url;
	const char	*secret_file;
	const char	*type;
	const char	*user;
	const char	*text;
	const char	*data;		/* line postback data */
	const char	*postback;	/* works postback */
	const char	*destination;
	const char	*event_id;
	const char	*reply_token;
	const char	*bot_id;
	const char	*channel;
	long		 domain_id;
	long		 timeout_s;
	int		 unblocked;
	int		 redelivery;
	int		 verbose;
};

struct post_ctx {
	struct event_base	*base;
	int			 status;
	const char		*error;
	char			*body;	/* the response body, NUL-terminated, capped */
};

/* ------------------------------------------------------------------ bodies */

static json_t *
line_body(const struct send_opts *o)
{
	json_t *ev, *root;
	char ulid[27], token[33], msgid[19], quote[22];

	if (o->event_id == NULL)
		util_ulid(ulid);
	ev = json_pack("{s:s, s:s, s:I, s:{s:s, s:s}, s:s, s:{s:b}}",
	    "type", o->type, "mode", "active", "timestamp", (json_int_t)wall_ms(),
	    "source", "type", "user", "userId", o->user,
	    "webhookEventId", o->event_id ? o->event_id : ulid,
	    "deliveryContext", "isRedelivery", o->redelivery);
	if (ev == NULL)
		return NULL;
	if (strcmp(o->type, "unfollow") != 0) {
		util_random_hex(token, 32);
		json_object_set_new(ev, "replyToken", json_string(o->reply_token ?
		    o->reply_token : token));
	}
	if (strcmp(o->type, "message") == 0) {
		util_digits(msgid, 18);
		quote[0] = 'q';
		util_base62(quote + 1, 20);
		json_object_set_new(ev, "message", json_pack("{s:s, s:s, s:s, s:s}", "id", msgid,
		    "type", "text", "quoteToken", quote, "text", o->text ? o->text :
		    DEFAULT_TEXT));
	} else if (strcmp(o->type, "postback") == 0) {
		json_object_set_new(ev, "postback", json_pack("{s:s}", "data", o->data ?
		    o->data : DEFAULT_POSTBACK));
	} else if (strcmp(o->type, "follow") == 0) {
		json_object_set_new(ev, "follow", json_pack("{s:b}", "isUnblocked",
		    o->unblocked));
	}
	root = json_pack("{s:s, s:[o]}", "destination", o->destination ? o->destination :
	    DEFAULT_DESTINATION, "events", ev);
	return root;
}

static json_t *
works_body(const struct send_opts *o)
{
	json_t *source, *root;
	char when[32];

	util_iso_time(when);
	source = json_pack("{s:s}", "userId", o->user);
	if (o->channel != NULL)
		json_object_set_new(source, "channelId", json_string(o->channel));
	json_object_set_new(source, "domainId", json_integer(o->domain_id));
	if (o->postback != NULL && o->text == NULL) {
		/* A postback action: its own event type with "data". */
		root = json_pack("{s:s, s:o, s:s, s:s}", "type", "postback", "source", source,
		    "issuedTime", when, "data", o->postback);
	} else {
		/* Typed text, or a message action carrying a postback string. */
		json_t *content = json_pack("{s:s, s:s}", "type", "text", "text",
		    o->text ? o->text : DEFAULT_TEXT);

		if (o->postback != NULL)
			json_object_set_new(content, "postback", json_string(o->postback));
		root = json_pack("{s:s, s:o, s:s, s:o}", "type", "message", "source", source,
		    "issuedTime", when, "content", content);
	}
	return root;
}

/* ------------------------------------------------------------------ secret */

/* Reads the secret, without its trailing newline(s), as the daemon does. */
static int
read_secret(const char *path, char *out, size_t cap, size_t *len)
{
	FILE *f;
	size_t n;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "shokaisim: --secret-file: cannot open %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	n = fread(out, 1, cap, f);
	if (ferror(f)) {
		fprintf(stderr, "shokaisim: --secret-file: cannot read %s: %s\n", path,
		    strerror(errno));
		fclose(f);
		return -1;
	}
	fclose(f);
	if (n == cap) {
		fprintf(stderr, "shokaisim: --secret-file: %s is longer than %zu bytes\n",
		    path, cap - 1);
		return -1;
	}
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		n--;
	if (n == 0) {
		fprintf(stderr, "shokaisim: --secret-file: %s is empty\n", path);
		return -1;
	}
	out[n] = '\0';
	*len = n;
	return 0;
}

/* -------------------------------------------------------------------- HTTP */

static void
post_error(enum evhttp_request_error e, void *arg)
{
	struct post_ctx *c = arg;

	switch (e) {
	case EVREQ_HTTP_TIMEOUT: c->error = "timed out"; break;
	case EVREQ_HTTP_EOF: c->error = "connection refused or closed without an answer";
		break;
	case EVREQ_HTTP_INVALID_HEADER: c->error = "invalid response headers"; break;
	case EVREQ_HTTP_BUFFER_ERROR: c->error = "connection error"; break;
	case EVREQ_HTTP_DATA_TOO_LONG: c->error = "response too long"; break;
	default: c->error = "request failed"; break;
	}
}

static void
post_done(struct evhttp_request *req, void *arg)
{
	struct post_ctx *c = arg;
	struct evbuffer *in;
	size_t n;

	if (req != NULL && (c->status = evhttp_request_get_response_code(req)) > 0) {
		in = evhttp_request_get_input_buffer(req);
		n = evbuffer_get_length(in);
		if (n > MAX_SHOWN_BODY)
			n = MAX_SHOWN_BODY;
		c->body = xmalloc(n + 1);
		if (evbuffer_copyout(in, c->body, n) != (ev_ssize_t)n)
			n = 0;
		c->body[n] = '\0';
	}
	event_base_loopexit(c->base, NULL);
}

/* POSTs body to url with the given "Name", "value" header pairs. Returns the HTTP
 * status, or 0 (message printed) when there was no answer. */
static int
http_post(const struct send_opts *o, const char *const *headers, size_t nheaders,
    const char *body, size_t len)
{
	struct evhttp_uri *uri = NULL;
	struct evhttp_connection *conn = NULL;
	struct evhttp_request *req;
	struct post_ctx c;
	struct evkeyvalq *out;
	const char *scheme, *host, *path, *query;
	char *target = NULL, *hosthdr = NULL, lenstr[24];
	int port;

	memset(&c, 0, sizeof(c));
	if ((uri = evhttp_uri_parse(o->url)) == NULL ||
	    (scheme = evhttp_uri_get_scheme(uri)) == NULL ||
	    (host = evhttp_uri_get_host(uri)) == NULL || host[0] == '\0') {
		fprintf(stderr, "shokaisim: --url: cannot parse %s (expected "
		    "http://HOST:PORT/PATH)\n", o->url);
		goto done;
	}
	if (strcasecmp(scheme, "http") != 0) {
		fprintf(stderr, "shokaisim: --url: only http:// is supported (send to the "
		    "daemon's own listener, not to a TLS proxy): %s\n", o->url);
		goto done;
	}
	port = evhttp_uri_get_port(uri) > 0 ? evhttp_uri_get_port(uri) : 80;
	path = evhttp_uri_get_path(uri);
	query = evhttp_uri_get_query(uri);
	target = xasprintf("%s%s%s", path && path[0] ? path : "/", query ? "?" : "",
	    query ? query : "");
	hosthdr = port == 80 ? xstrdup(host) : xasprintf("%s:%d", host, port);
	if ((c.base = event_base_new()) == NULL ||
	    (conn = evhttp_connection_base_new(c.base, NULL, host,
	    (ev_uint16_t)port)) == NULL || (req = evhttp_request_new(post_done, &c)) == NULL) {
		fprintf(stderr, "shokaisim: send: cannot set up libevent\n");
		goto done;
	}
	evhttp_connection_set_timeout(conn, (int)o->timeout_s);
	evhttp_connection_set_retries(conn, 0);
	evhttp_request_set_error_cb(req, post_error);
	out = evhttp_request_get_output_headers(req);
	snprintf(lenstr, sizeof(lenstr), "%zu", len);
	evhttp_add_header(out, "Host", hosthdr);
	evhttp_add_header(out, "Content-Length", lenstr);
	evhttp_add_header(out, "Connection", "close");
	for (size_t i = 0; i < nheaders; i++)
		evhttp_add_header(out, headers[2 * i], headers[2 * i + 1]);
	evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
	if (o->verbose)
		fprintf(stderr, "shokaisim: send: POST %s (%zu bytes): %s\n", o->url, len, body);
	if (evhttp_make_request(conn, req, EVHTTP_REQ_POST, target) != 0) {
		fprintf(stderr, "shokaisim: send: POST %s: cannot start the request\n", o->url);
		goto done;
	}
	event_base_dispatch(c.base);
	if (c.status == 0)
		fprintf(stderr, "shokaisim: send: POST %s: %s\n", o->url,
		    c.error ? c.error : "no answer (connection refused, closed or timed out)");
	else if (o->verbose || c.status < 200 || c.status > 299)
		fprintf(stderr, "shokaisim: send: POST %s: HTTP %d%s%s\n", o->url, c.status,
		    c.body && c.body[0] ? ": " : "", c.body ? c.body : "");
done:
	if (conn != NULL)
		evhttp_connection_free(conn);
	if (c.base != NULL)
		event_base_free(c.base);
	if (uri != NULL)
		evhttp_uri_free(uri);
	free(target);
	free(hosthdr);
	free(c.body);
	return c.status;
}

/* ----------------------------------------------------------------- options */

/* A command-line value that goes into JSON: UTF-8, no control characters. */
static int
check_text(const char *opt, const char *v, int allow_newline)
{
	json_t *j;

	if (strlen(v) > SIM_MAX_ARG) {
		fprintf(stderr, "shokaisim: %s: longer than %d bytes\n", opt, SIM_MAX_ARG);
		return -1;
	}
	if ((j = json_string(v)) == NULL) {
		fprintf(stderr, "shokaisim: %s: not valid UTF-8\n", opt);
		return -1;
	}
	json_decref(j);
	for (const unsigned char *p = (const unsigned char *)v; *p != '\0'; p++) {
		if (*p < 0x20 && !(allow_newline && *p == '\n')) {
			fprintf(stderr, "shokaisim: %s: contains a control character\n", opt);
			return -1;
		}
	}
	return 0;
}

static int
parse_long(const char *opt, const char *v, long lo, long hi, long *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (v[0] == '\0' || *end != '\0' || errno != 0 || n < lo || n > hi) {
		fprintf(stderr, "shokaisim: %s: expected a number from %ld to %ld, got '%s'\n",
		    opt, lo, hi, v);
		return -1;
	}
	*out = n;
	return 0;
}

/* Options that belong to the other platform are refused by name. */
static int
wrong_platform(const struct send_opts *o, int c, const struct option *longopts)
{
	static const char line_only[] = "tdDerbR";
	static const char works_only[] = "BpcM";
	const char *name = "?";

	if ((o->works || strchr(works_only, c) == NULL) &&
	    (!o->works || strchr(line_only, c) == NULL))
		return 0;
	for (int i = 0; longopts[i].name != NULL; i++)
		if (longopts[i].val == c)
			name = longopts[i].name;
	fprintf(stderr, "shokaisim: send %s: --%s is for `send %s`\n",
	    o->works ? "works" : "line", name, o->works ? "line" : "works");
	return 1;
}

static int
parse_opts(int argc, char **argv, struct send_opts *o)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "secret-file", required_argument, NULL, 's' },
		{ "user", required_argument, NULL, 'U' },
		{ "text", required_argument, NULL, 'x' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		/* line */
		{ "type", required_argument, NULL, 't' },
		{ "data", required_argument, NULL, 'd' },
		{ "destination", required_argument, NULL, 'D' },
		{ "event-id", required_argument, NULL, 'e' },
		{ "reply-token", required_argument, NULL, 'r' },
		{ "unblocked", no_argument, NULL, 'b' },
		{ "redelivery", no_argument, NULL, 'R' },
		/* works */
		{ "bot-id", required_argument, NULL, 'B' },
		{ "postback", required_argument, NULL, 'p' },
		{ "channel", required_argument, NULL, 'c' },
		{ "domain-id", required_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 }
	};
	const char *cmd = o->works ? "send works" : "send line";
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":u:s:U:x:T:vht:d:D:e:r:bRB:p:c:M:", longopts,
	    NULL)) != -1) {
		if (c != '?' && c != ':' && wrong_platform(o, c, longopts))
			return -1;
		switch (c) {
		case 'u': o->url = optarg; break;
		case 's': o->secret_file = optarg; break;
		case 'U': o->user = optarg; break;
		case 'x': o->text = optarg; break;
		case 'T':
			if (parse_long("--timeout", optarg, 1, MAX_TIMEOUT_S, &o->timeout_s) == -1)
				return -1;
			break;
		case 'v': o->verbose = 1; break;
		case 'h':
			usage(stdout);
			exit(0);
		case 't': o->type = optarg; break;
		case 'd': o->data = optarg; break;
		case 'D': o->destination = optarg; break;
		case 'e': o->event_id = optarg; break;
		case 'r': o->reply_token = optarg; break;
		case 'b': o->unblocked = 1; break;
		case 'R': o->redelivery = 1; break;
		case 'B': o->bot_id = optarg; break;
		case 'p': o->postback = optarg; break;
		case 'c': o->channel = optarg; break;
		case 'M':
			if (parse_long("--domain-id", optarg, 0, 999999999999L, &o->domain_id) == -1)
				return -1;
			break;
		case ':':
			fprintf(stderr, "shokaisim: %s: %s needs a value\n", cmd, argv[optind - 1]);
			return -1;
		default:
			fprintf(stderr, "shokaisim: %s: unknown option %s (see shokaisim --help)\n",
			    cmd, argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "shokaisim: %s: unexpected argument %s\n", cmd, argv[optind]);
		return -1;
	}
	if (o->url == NULL || o->secret_file == NULL) {
		fprintf(stderr, "shokaisim: %s: --url and --secret-file are required\n", cmd);
		return -1;
	}
	return 0;
}

static int
check_opts(struct send_opts *o)
{
	if (o->works) {
		if (o->bot_id == NULL || o->user == NULL) {
			fprintf(stderr, "shokaisim: send works: --bot-id and --user are required\n");
			return -1;
		}
		if (o->bot_id[0] == '\0' || strlen(o->bot_id) > 20 ||
		    strspn(o->bot_id, "0123456789") != strlen(o->bot_id)) {
			fprintf(stderr, "shokaisim: --bot-id: expected the numeric bot ID, got "
			    "'%s'\n", o->bot_id);
			return -1;
		}
	} else {
		if (o->type == NULL)
			o->type = "message";
		if (strcmp(o->type, "message") != 0 && strcmp(o->type, "follow") != 0 &&
		    strcmp(o->type, "unfollow") != 0 && strcmp(o->type, "postback") != 0) {
			fprintf(stderr, "shokaisim: --type: expected message, follow, unfollow or "
			    "postback, got '%s'\n", o->type);
			return -1;
		}
		if (o->user == NULL)
			o->user = DEFAULT_LINE_USER;
		if ((o->text != NULL && strcmp(o->type, "message") != 0) ||
		    (o->data != NULL && strcmp(o->type, "postback") != 0) ||
		    (o->unblocked && strcmp(o->type, "follow") != 0)) {
			fprintf(stderr, "shokaisim: send line: --text goes with --type message, "
			    "--data with postback, --unblocked with follow\n");
			return -1;
		}
	}
	if (o->user[0] == '\0') {
		fprintf(stderr, "shokaisim: --user: must not be empty\n");
		return -1;
	}
	if (check_text("--user", o->user, 0) == -1 ||
	    (o->text && check_text("--text", o->text, 1) == -1) ||
	    (o->data && check_text("--data", o->data, 0) == -1) ||
	    (o->postback && check_text("--postback", o->postback, 0) == -1) ||
	    (o->destination && check_text("--destination", o->destination, 0) == -1) ||
	    (o->event_id && check_text("--event-id", o->event_id, 0) == -1) ||
	    (o->reply_token && check_text("--reply-token", o->reply_token, 0) == -1) ||
	    (o->channel && check_text("--channel", o->channel, 0) == -1))
		return -1;
	return 0;
}

int
send_main(int argc, char **argv)
{
	struct send_opts o;
	char secret[SIM_MAX_SECRET + 1], sig[45], *body = NULL;
	const char *headers[6];
	size_t secret_len = 0, nheaders = 0;
	json_t *root = NULL;
	int status, rc = 2;

	memset(&o, 0, sizeof(o));
	o.domain_id = DEFAULT_DOMAIN_ID;
	o.timeout_s = DEFAULT_TIMEOUT_S;
	if (argc < 2 || (strcmp(argv[1], "line") != 0 && strcmp(argv[1], "works") != 0)) {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
			usage(stdout);
			return 0;
		}
		fprintf(stderr, "shokaisim: send: expected `send line` or `send works` (see "
		    "shokaisim --help)\n");
		return 2;
	}
	o.works = strcmp(argv[1], "works") == 0;
	if (parse_opts(argc - 1, argv + 1, &o) == -1 || check_opts(&o) == -1 ||
	    read_secret(o.secret_file, secret, sizeof(secret), &secret_len) == -1)
		goto done;
	if ((root = o.works ? works_body(&o) : line_body(&o)) == NULL ||
	    (body = json_dumps(root, JSON_COMPACT)) == NULL) {
		fprintf(stderr, "shokaisim: send: cannot build the body\n");
		goto done;
	}
	sig_sign(secret, secret_len, body, strlen(body), sig);
	if (o.works) {
		headers[nheaders++] = "Content-Type";
		headers[nheaders++] = "application/json; charset=UTF-8";
		headers[nheaders++] = "X-WORKS-BotId";
		headers[nheaders++] = o.bot_id;
		headers[nheaders++] = "X-WORKS-Signature";
		headers[nheaders++] = sig;
	} else {
		headers[nheaders++] = "Content-Type";
		headers[nheaders++] = "application/json; charset=utf-8";
		headers[nheaders++] = "X-Line-Signature";
		headers[nheaders++] = sig;
		headers[nheaders++] = "User-Agent";
		headers[nheaders++] = "LineBotWebhook/2.0";
	}
	status = http_post(&o, headers, nheaders / 2, body, strlen(body));
	if (status > 0)
		printf("%d\n", status);
	rc = status >= 200 && status <= 299 ? 0 : 1;
done:
	explicit_bzero(secret, sizeof(secret));
	json_decref(root);
	free(body);
	return rc;
}
