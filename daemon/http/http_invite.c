/* http_invite.c: GET /r/{code}, the link in every invite: the HTTP side only. It slows
 * down a client that asks too often (known by a salted hash of its address, never the
 * address itself), asks handlers/referral_click.c where the friend goes, and answers
 * with the redirect or a page whose words are the operator's (messages.invite_page_*:
 * the first text is the heading, the others are paragraphs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>

#include "../shokaid.h"
#include "../../handlers/handler.h"

#define CLIENTS_MAX	4096	/* rate-limit slots; a full table forgets the oldest */
#define WINDOW_MS	60000

struct client_slot {
	char	 hash[17];
	int64_t	 window_start;
	int	 count;
};

struct http_invite {
	struct client_slot	 slots[CLIENTS_MAX];
};

struct http_invite *
http_invite_new(void)
{
	return xcalloc(1, sizeof(struct http_invite));
}

void
http_invite_free(struct http_invite *il)
{
	free(il);
}

/* 1 when the client may go on. Slots are found by the hash; an old window is reused. */
static int
rate_ok(struct http_invite *il, const char hash[17], int per_min, int64_t now)
{
	size_t i = strtoul(hash + 8, NULL, 16) % CLIENTS_MAX;
	struct client_slot *s = &il->slots[i];

	if (strcmp(s->hash, hash) != 0 || now - s->window_start >= WINDOW_MS) {
		memcpy(s->hash, hash, sizeof(s->hash));
		s->window_start = now;
		s->count = 0;
	}
	return ++s->count <= per_min;
}

static void
html_escape(struct evbuffer *b, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		switch (*s) {
		case '<': evbuffer_add_printf(b, "&lt;"); break;
		case '>': evbuffer_add_printf(b, "&gt;"); break;
		case '&': evbuffer_add_printf(b, "&amp;"); break;
		case '"': evbuffer_add_printf(b, "&quot;"); break;
		default: evbuffer_add(b, s, 1);
		}
	}
}

/* The friend's page for an outcome: the configured message called name, rendered as a
 * heading and paragraphs. Without one, the status line's words are all there is. */
static void
page(struct daemon *d, struct evhttp_request *req, int code, const char *name,
    int64_t start_us, const char *why)
{
	const struct config_message *m = config_message(d->cfg, name);
	struct evbuffer *b = evhttp_request_get_output_buffer(req);
	struct msg_vars vars = { 0 };
	json_t *texts = NULL, *item;
	const char *title = NULL;
	char extra[96];
	size_t i;

	msg_vars_set(&vars, "company_name", d->cfg->company_name ? d->cfg->company_name : "");
	if (m != NULL) {
		texts = msg_template_render(m->line, &vars);
		title = json_string_value(json_object_get(json_array_get(texts, 0), "text"));
	}
	if (title == NULL)
		title = code == 404 ? "Not Found" : code == 410 ? "Gone" :
		    code == 429 ? "Too Many Requests" : "Service Unavailable";
	evbuffer_add_printf(b, "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
	    "<title>");
	html_escape(b, title);
	evbuffer_add_printf(b, "</title></head><body style=\"font-family:sans-serif;"
	    "max-width:32em;margin:3em auto;padding:0 1em;line-height:1.7\"><h1 "
	    "style=\"font-size:1.3em\">");
	html_escape(b, title);
	evbuffer_add_printf(b, "</h1>");
	json_array_foreach(texts, i, item) {
		if (i == 0)
			continue;
		evbuffer_add_printf(b, "<p>");
		html_escape(b, json_string_value(json_object_get(item, "text")));
		evbuffer_add_printf(b, "</p>");
	}
	evbuffer_add_printf(b, "<p style=\"color:#666\">");
	html_escape(b, d->cfg->company_name);
	evbuffer_add_printf(b, "</p></body></html>\n");
	json_decref(texts);
	snprintf(extra, sizeof(extra), "reason=\"%s\"", why);
	http_reply_page(req, &(struct http_answer){ .code = code, .start_us = start_us,
	    .log_extra = extra });
}

void
http_invite_handle(struct daemon *d, struct evhttp_request *req, const char *code,
    int64_t start_us)
{
	struct evhttp_connection *con = evhttp_request_get_connection(req);
	struct handler_ctx hc = { .cfg = d->cfg, .store = d->store, .salt = d->salt,
	    .now_ms = wall_ms() };
	struct click_answer to = { 0 };
	char *addr = NULL, hash[65];
	ev_uint16_t port;
	enum click_result res;

	if (con != NULL)
		evhttp_connection_get_peer(con, &addr, &port);	/* addr: evhttp's */
	/* Keyed with the database's secret salt: the same client always looks the same
	 * here, and nobody can turn it back into an address. */
	sha256_hex(d->salt, SALT_LEN, addr ? addr : "", addr ? strlen(addr) : 0, hash);
	hash[16] = '\0';
	if (!rate_ok(d->http_invite, hash, d->cfg->referral.invite_rate_per_min, clock_ms())) {
		page(d, req, 429, "invite_page_busy", start_us, "rate limited");
		return;
	}
	/* Clicks are counts for the funnel: they need not wait for the disk. */
	if (store_begin_unsynced(d->store) == -1) {
		page(d, req, 503, "invite_page_error", start_us, "database error");
		return;
	}
	res = referral_click(&hc, code, hash, &to);
	if (hc.error != NULL || store_commit(d->store) == -1) {
		store_rollback(d->store);
		log_warnx("msg=\"cannot record a click\" detail=\"%s\"",
		    hc.error ? hc.error : store_errmsg(d->store));
	}
	switch (res) {
	case CLICK_GO:
		http_reply_redirect(req, &(struct http_answer){ .code = 302,
		    .channel = to.channel, .start_us = start_us }, to.url);
		break;
	case CLICK_UNKNOWN:
		page(d, req, 404, "invite_page_unknown", start_us, "unknown code");
		break;
	case CLICK_OVER:
		page(d, req, 410, "invite_page_over", start_us, "campaign over");
		break;
	case CLICK_ERROR:
		page(d, req, 503, "invite_page_error", start_us, "database error");
		break;
	}
	free(to.url);
}
