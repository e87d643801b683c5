/* console.c: the console's thread, listener and routes. The thread owns an event base,
 * an evhttp server on admin.listen and a database connection of its own, so nothing it
 * does (a slow query, a login's scrypt) ever holds up a webhook. Pages are files built
 * into the binary; the API's routes are one table with who may call each. */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "../base/tls.h"
#include "../shokaid.h"
#include "../storage/storage.h"
#include "console_api.h"
#include "console_assets.h"
#include "console_internal.h"

#define API_PREFIX	"/admin/api/v1/"
#define STATIC_PREFIX	"/admin/static/"
#define MAX_BODY	(8 << 20)	/* a coupon file of some 100,000 codes */

static const struct route {
	int		 method;	/* EVHTTP_REQ_* */
	const char	*pattern;	/* below API_PREFIX; '*' matches one path part */
	enum console_need need;
	console_api_fn	 fn;
} routes[] = {
	{ EVHTTP_REQ_GET, "meta", NEED_READ, console_api_meta },
	{ EVHTTP_REQ_GET, "dashboard", NEED_READ, console_api_dashboard },
	{ EVHTTP_REQ_GET, "funnel/*", NEED_READ, console_api_funnel },
	{ EVHTTP_REQ_GET, "referrals", NEED_READ, console_api_referrals },
	{ EVHTTP_REQ_GET, "referrals/*", NEED_READ, console_api_referral },
	{ EVHTTP_REQ_POST, "referrals/*/state", NEED_ACT, console_api_referral_move },
	{ EVHTTP_REQ_POST, "referrals/*/notes", NEED_ACT, console_api_referral_note },
	{ EVHTTP_REQ_GET, "review", NEED_READ, console_api_review },
	{ EVHTTP_REQ_GET, "review/typed", NEED_READ, console_api_review_typed },
	{ EVHTTP_REQ_POST, "review/typed/*/*", NEED_ACT, console_api_review_typed_decide },
	{ EVHTTP_REQ_POST, "review/*", NEED_ACT, console_api_review_decide },
	{ EVHTTP_REQ_GET, "rewards", NEED_READ, console_api_rewards },
	{ EVHTTP_REQ_POST, "rewards/approve", NEED_ACT, console_api_rewards_approve },
	{ EVHTTP_REQ_POST, "rewards/void", NEED_ACT, console_api_rewards_void },
	{ EVHTTP_REQ_GET, "coupons", NEED_READ, console_api_coupons },
	{ EVHTTP_REQ_POST, "coupons/*", NEED_ADMIN, console_api_coupons_import },
	{ EVHTTP_REQ_GET, "customers", NEED_READ, console_api_customers },
	{ EVHTTP_REQ_GET, "customers/*/*", NEED_READ, console_api_customer },
	{ EVHTTP_REQ_GET, "conversations", NEED_READ, console_api_conversations },
	{ EVHTTP_REQ_GET, "conversations/*/*", NEED_READ, console_api_conversation },
	{ EVHTTP_REQ_POST, "conversations/*/*/messages", NEED_ACT,
	    console_api_conversation_reply },
	{ EVHTTP_REQ_POST, "conversations/*/*/resolve", NEED_ACT,
	    console_api_conversation_resolve },
	{ EVHTTP_REQ_POST, "conversations/*/*/seen", NEED_ACT, console_api_conversation_seen },
	{ EVHTTP_REQ_GET, "reps", NEED_READ, console_api_reps },
	{ EVHTTP_REQ_GET, "ops", NEED_ADMIN, console_api_ops },
	{ EVHTTP_REQ_POST, "outbox/*/retry", NEED_ADMIN, console_api_outbox_retry },
	{ EVHTTP_REQ_GET, "richmenus/*/*/image", NEED_ADMIN, console_api_richmenu_image },
	{ EVHTTP_REQ_GET, "audit", NEED_ADMIN, console_api_audit },
	{ EVHTTP_REQ_GET, "users", NEED_ADMIN, console_api_users },
	{ EVHTTP_REQ_GET, "announcements", NEED_READ, console_api_announcements },
	{ EVHTTP_REQ_GET, "announcements/*", NEED_READ, console_api_announcement },
	{ EVHTTP_REQ_POST, "announcements/preview", NEED_READ, console_api_announce_preview },
	{ EVHTTP_REQ_POST, "announcements/test", NEED_ACT, console_api_announce_test },
	{ EVHTTP_REQ_POST, "announcements", NEED_ACT, console_api_announce_create },
	{ EVHTTP_REQ_POST, "announcements/*/cancel", NEED_ACT, console_api_announce_cancel },
};

/* Matches path (below the prefix, no query) against pattern; the parts '*' matched
 * go to args, copied into *buf. */
static int
route_match(const char *pattern, const char *path, const char *args[3], char **buf)
{
	char *p = xstrdup(path), *save = NULL, *part;
	const char *pat = pattern;
	int n = 0;

	for (part = strtok_r(p, "/", &save); part != NULL; part = strtok_r(NULL, "/", &save)) {
		size_t len = strcspn(pat, "/");

		if (len == 0)
			goto no;
		if (len == 1 && pat[0] == '*') {
			if (n == 3)
				goto no;
			args[n++] = part;
		} else if (strlen(part) != len || strncmp(part, pat, len) != 0)
			goto no;
		pat += len;
		if (*pat == '/')
			pat++;
	}
	if (*pat != '\0')
		goto no;
	*buf = p;
	return 1;
no:
	free(p);
	return 0;
}

void
console_security_headers(struct evhttp_request *req, int api)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Security-Policy", "default-src 'none'; script-src "
	    "'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
	    "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "Cross-Origin-Opener-Policy", "same-origin");
	evhttp_add_header(h, "Cross-Origin-Resource-Policy", "same-origin");
	evhttp_add_header(h, "Permissions-Policy", "camera=(), microphone=(), geolocation=()");
	if (api)
		evhttp_add_header(h, "Cache-Control", "no-store");
}

static const struct console_asset *
asset(const char *name)
{
	for (const struct console_asset *a = console_assets; a->name != NULL; a++)
		if (strcmp(a->name, name) == 0)
			return a;
	return NULL;
}

/* The pages' files: built into this binary, so they change only with it. */
static void
serve_asset(struct evhttp_request *req, const char *name)
{
	const struct console_asset *a = asset(name);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evhttp_request_get_output_buffer(req);

	console_security_headers(req, 0);
	if (a == NULL) {
		evhttp_add_header(h, "Content-Type", "text/plain; charset=utf-8");
		evbuffer_add_printf(out, "not found\n");
		evhttp_send_reply(req, 404, "Not Found", NULL);
		return;
	}
	evhttp_add_header(h, "Content-Type", a->type);
	evhttp_add_header(h, "Cache-Control", "no-cache");
	if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD)
		evbuffer_add_reference(out, a->bytes, a->len, NULL, NULL);
	evhttp_send_reply(req, 200, "OK", NULL);
}

static void
request_free(struct console_req *r)
{
	console_account_clear(&r->acct);
	console_scope_clear(&r->scope);
	free(r->csrf);
	free(r->argbuf);
	evhttp_clear_headers(&r->query);
	json_decref(r->body);
}

/* A JSON body for POST routes that take one; others (a CSV upload) read the buffer. */
static int
read_body(struct console_req *r)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
	const char *type = evhttp_find_header(evhttp_request_get_input_headers(r->req),
	    "Content-Type");
	size_t len = evbuffer_get_length(in);
	json_error_t err;

	if (len == 0 || type == NULL || strncasecmp(type, "application/json", 16) != 0)
		return 0;
	r->body = json_loadb((const char *)evbuffer_pullup(in, -1), len, 0, &err);
	if (r->body == NULL || !json_is_object(r->body)) {
		char detail[400];

		snprintf(detail, sizeof(detail), "the body is not a JSON object: %s (line %d, "
		    "column %d)", r->body ? "not an object" : err.text, err.line, err.column);
		console_answer_error(r, 400, "bad_json", detail);
		return -1;
	}
	return 0;
}

static int
allowed(struct console_req *r, enum console_need need)
{
	if (need == NEED_READ)
		return 1;
	if (need == NEED_ADMIN)
		return r->scope.role == ROLE_ADMIN;
	return r->scope.role != ROLE_VIEWER;
}

static void
serve_api(struct console *c, struct evhttp_request *req, const char *path)
{
	struct console_req r;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *query = evhttp_uri_get_query(uri);
	int method = evhttp_request_get_command(req), path_known = 0;
	char *host = NULL;
	ev_uint16_t port = 0;

	memset(&r, 0, sizeof(r));
	r.c = c;
	r.req = req;
	r.cf = c->cf;
	r.now_ms = wall_ms();
	TAILQ_INIT(&r.query);
	evhttp_connection_get_peer(evhttp_request_get_connection(req), &host, &port);
	snprintf(r.client, sizeof(r.client), "%s", host ? host : "-");
	if (query != NULL && evhttp_parse_query_str(query, &r.query) == -1) {
		console_answer_error(&r, 400, "bad_query", "the query string could not be read");
		goto done;
	}
	if (strcmp(path, "session") == 0) {
		if (read_body(&r) == 0)
			console_api_session(&r);
		goto done;
	}
	if (strcmp(path, "openapi.yaml") == 0 && method == EVHTTP_REQ_GET) {
		serve_asset(req, "openapi.yaml");
		r.answered = 1;
		goto done;
	}
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!route_match(routes[i].pattern, path, r.args, &r.argbuf))
			continue;
		path_known = 1;
		if (routes[i].method != method) {
			free(r.argbuf);
			r.argbuf = NULL;
			memset(r.args, 0, sizeof(r.args));
			continue;
		}
		if (console_identify(&r) != 1)
			goto done;
		if (!allowed(&r, routes[i].need)) {
			console_answer_error(&r, 403, "forbidden", "this role may not do that");
			goto done;
		}
		if (method != EVHTTP_REQ_GET && (!console_csrf_ok(&r) || read_body(&r) == -1))
			goto done;
		routes[i].fn(&r);
		if (!r.answered)
			console_answer_error(&r, 500, "internal", "the handler gave no answer");
		goto done;
	}
	if (path_known)
		console_answer_error(&r, 405, "method", "that method is not allowed here");
	else
		console_answer_error(&r, 404, "not_found", "no such API path");
done:
	if (!r.answered)
		console_answer_error(&r, 500, "internal", "no answer");
	request_free(&r);
}

static void
route(struct evhttp_request *req, void *arg)
{
	struct console *c = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	int method = evhttp_request_get_command(req);
	char *decoded = NULL;
	size_t len = 0;

	/* Every answer may read the database: the checkpointer does not wait for us. */
	atomic_fetch_add(&c->d->snapshot_readers, 1);
	/* A %00 would cut the path short where the C strings end. */
	if (path == NULL || (decoded = evhttp_uridecode(path, 0, &len)) == NULL ||
	    len != strlen(decoded) || strstr(decoded, "..") != NULL) {
		console_security_headers(req, 0);
		evhttp_send_reply(req, 400, "Bad Request", NULL);
	} else if (console_health_route(c, req, decoded))
		;
	else if (strncmp(decoded, API_PREFIX, strlen(API_PREFIX)) == 0)
		serve_api(c, req, decoded + strlen(API_PREFIX));
	else if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
		console_security_headers(req, 0);
		evhttp_send_reply(req, 405, "Method Not Allowed", NULL);
	} else if (strcmp(decoded, "/") == 0 || strcmp(decoded, "/admin") == 0) {
		console_security_headers(req, 0);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Location", "/admin/");
		evhttp_send_reply(req, 302, "Found", NULL);
	} else if (strcmp(decoded, "/admin/") == 0)
		serve_asset(req, "index.html");
	else if (strncmp(decoded, STATIC_PREFIX, strlen(STATIC_PREFIX)) == 0)
		serve_asset(req, decoded + strlen(STATIC_PREFIX));
	else
		serve_asset(req, "");	/* 404 */
	free(decoded);
	atomic_fetch_sub(&c->d->snapshot_readers, 1);
	log_flush();	/* this thread's lines: a request is rare enough to flush each */
}

static void *
thread_main(void *arg)
{
	struct console *c = arg;
	struct sched_param sp = { .sched_priority = 0 };

	/* A dashboard over a million customers is most of a second of CPU: it runs only
	 * when the loop and the storage thread have nothing to do, so a manager clicking
	 * through the console never slows a webhook (make bench-scale, part e). */
	if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) != 0)
		thread_sched_yield_to_loop();
	if (event_base_loop(c->base, EVLOOP_NO_EXIT_ON_EMPTY) == -1)
		log_errorx("msg=\"console loop failed\"");
	log_flush();
	return NULL;
}

/* evhttp's bufferevent for each connection with admin.tls on. */
static struct bufferevent *
tls_bev(struct event_base *base, void *arg)
{
	struct console *c = arg;

	return tls_bev_new(base, c->tls);
}

json_t *
console_text_load(const char *name)
{
	const struct console_asset *a = asset(name);
	json_t *j = a ? json_loadb((const char *)a->bytes, a->len, 0, NULL) : NULL;

	return j != NULL ? j : json_object();
}

struct console *
console_start(struct daemon *d, struct config *cf, const unsigned char *salt, char *why,
    size_t whylen)
{
	struct console *c;
	struct evhttp_bound_socket *bound;
	struct timeval idle = { 30, 0 };

	why[0] = '\0';
	if (cf->admin_host == NULL)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->d = d;
	memcpy(c->salt, salt, SALT_LEN);
	/* Read-only: the console's writes go to the storage thread (console_write.c). */
	if ((c->store = store_open_reader(cf->sqlite_path, (int)cf->busy_timeout_ms, why,
	    whylen)) == NULL) {
		free(c);
		return NULL;
	}
	/* The dashboard reads a branch's friends across a million customers: a warm
	 * cache of its own keeps that at about 0.2 s (make bench-scale, part d). */
	store_set_cache_mb(c->store, 64);
	if ((c->base = event_base_new()) == NULL || (c->http = evhttp_new(c->base)) == NULL)
		fatalx("%s: event_base_new or evhttp_new failed", __func__);
	evhttp_set_max_body_size(c->http, MAX_BODY);
	evhttp_set_max_headers_size(c->http, 16 * 1024);
	evhttp_set_timeout_tv(c->http, &idle);
	evhttp_set_allowed_methods(c->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
	    EVHTTP_REQ_DELETE);
	evhttp_set_gencb(c->http, route, c);
	if (cf->admin_tls != NULL) {
		c->tls = tls_ctx_ref(cf->admin_tls);
		evhttp_set_bevcb(c->http, tls_bev, c);
	}
	if ((bound = evhttp_bind_socket_with_handle(c->http, cf->admin_host,
	    (ev_uint16_t)cf->admin_port)) == NULL) {
		snprintf(why, whylen, "console: cannot listen on %s:%d (admin.listen)",
		    cf->admin_host, cf->admin_port);
		evhttp_free(c->http);
		event_base_free(c->base);
		store_close(c->store);
		tls_ctx_unref(c->tls);
		free(c);
		return NULL;
	}
	{
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int port = cf->admin_port;

		if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss,
		    &sl) == 0)
			port = ntohs(ss.ss_family == AF_INET6 ?
			    ((struct sockaddr_in6 *)&ss)->sin6_port :
			    ((struct sockaddr_in *)&ss)->sin_port);
		log_notice("msg=\"console listening\" listen=%s:%d url=%s://%s:%d/admin/",
		    cf->admin_host, port, c->tls != NULL ? "https" : "http", cf->admin_host,
		    port);
	}
	c->cf = config_ref(cf);
	c->loaded_at_ms = wall_ms();
	c->csv_headers = console_text_load("text/csv.json");
	c->text = console_text_load("text/ja.json");
	c->mail = mailbox_new(c->base, 0, c, 16);
	if (pthread_create(&c->thread, NULL, thread_main, c) != 0)
		fatalx("%s: pthread_create failed", __func__);
	c->thread_started = 1;
	return c;
}

static void
config_letter(void *ctx, void *arg)
{
	struct console *c = ctx;

	config_unref(c->cf);
	c->cf = arg;
	/* A renewed certificate for new connections (open ones keep theirs); turning TLS
	 * on or off takes a restart. */
	if (c->tls != NULL && c->cf->admin_tls != NULL) {
		tls_ctx_unref(c->tls);
		c->tls = tls_ctx_ref(c->cf->admin_tls);
	}
	c->loaded_at_ms = wall_ms();
	json_decref(c->last_reload);
	c->last_reload = json_pack("{s:I, s:b, s:[]}", "at", (json_int_t)c->loaded_at_ms,
	    "ok", 1, "errors");
}

void
console_config_loaded(struct console *c, struct config *cf, int64_t at_ms)
{
	(void)at_ms;
	if (c != NULL)
		mailbox_post(c->mail, config_letter, config_ref(cf));
}

static void
failed_letter(void *ctx, void *arg)
{
	struct console *c = ctx;

	json_decref(c->last_reload);
	c->last_reload = arg;
}

/* The loader's lines are "file:line:column: message"; the console shows them split. */
void
console_config_failed(struct console *c, const struct config_errors *errs, int64_t at_ms)
{
	json_t *list, *j;

	if (c == NULL)
		return;
	list = json_array();
	for (size_t i = 0; i < errs->n; i++) {
		const char *l = errs->lines[i];
		char file[512] = "";
		int line = 0, col = 0, used = 0;

		if (sscanf(l, "%511[^:]:%d:%d: %n", file, &line, &col, &used) == 3 && used > 0)
			json_array_append_new(list, json_pack("{s:s, s:i, s:i, s:s}", "file", file,
			    "line", line, "column", col, "message", l + used));
		else
			json_array_append_new(list, json_pack("{s:s, s:i, s:i, s:s}", "file", "",
			    "line", 0, "column", 0, "message", l));
	}
	j = json_pack("{s:I, s:b, s:o}", "at", (json_int_t)at_ms, "ok", 0, "errors", list);
	mailbox_post(c->mail, failed_letter, j);
}

static void
stop_letter(void *ctx, void *arg)
{
	struct console *c = ctx;

	(void)arg;
	event_base_loopbreak(c->base);
}

void
console_stop(struct console *c)
{
	if (c == NULL)
		return;
	mailbox_post(c->mail, stop_letter, NULL);
	pthread_join(c->thread, NULL);
	mailbox_run_all(c->mail);
	mailbox_free(c->mail);
	evhttp_free(c->http);
	event_base_free(c->base);
	store_close(c->store);
	config_unref(c->cf);
	tls_ctx_unref(c->tls);
	json_decref(c->last_reload);
	json_decref(c->csv_headers);
	json_decref(c->text);
	free(c);
}
