/* invite_link.c: GET /r/{code}, the link in every invite. It records a `clicked` event
 * (with a salted hash of the client's address, never the address or the user agent)
 * and sends the friend on to the account's chat with the claim text and the code
 * prefilled, so that adding the account and sending is all that is left. An unknown or
 * expired code gets a friendly page in Japanese; a client that asks too often is slowed
 * down. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>

#include "../shokaid.h"

#define CLIENTS_MAX		4096	/* rate-limit slots; a full table forgets the oldest */
#define WINDOW_MS		60000
#define CLAIM_TEXT_DEFAULT	"紹介コード {code} で問い合わせます"

struct client_slot {
	char	 hash[17];
	int64_t	 window_start;
	int	 count;
};

struct invite_links {
	struct client_slot	 slots[CLIENTS_MAX];
};

struct invite_links *
invite_links_new(void)
{
	return xcalloc(1, sizeof(struct invite_links));
}

void
invite_links_free(struct invite_links *il)
{
	free(il);
}

/* 1 when the client may go on. Slots are found by the hash; an old window is reused. */
static int
rate_ok(struct invite_links *il, const char hash[17], int per_min, int64_t now)
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

static void
page(struct daemon *d, struct evhttp_request *req, int code, const char *reason,
    const char *title, const char *text, int64_t start_us, const char *why)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *b = evhttp_request_get_output_buffer(req);
	char extra[96];

	evhttp_add_header(h, "Content-Type", "text/html; charset=utf-8");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evbuffer_add_printf(b, "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
	    "<title>");
	html_escape(b, title);
	evbuffer_add_printf(b, "</title></head><body style=\"font-family:sans-serif;"
	    "max-width:32em;margin:3em auto;padding:0 1em;line-height:1.7\"><h1 "
	    "style=\"font-size:1.3em\">");
	html_escape(b, title);
	evbuffer_add_printf(b, "</h1><p>");
	html_escape(b, text);
	evbuffer_add_printf(b, "</p><p style=\"color:#666\">");
	html_escape(b, d->cfg->company_name);
	evbuffer_add_printf(b, "</p></body></html>\n");
	snprintf(extra, sizeof(extra), "reason=\"%s\"", why);
	http_log_request(req, code, NULL, start_us, extra);
	evhttp_send_reply(req, code, reason, NULL);
}

/* The claim text, prefilled in the friend's chat with the account. */
static char *
claim_url(const struct config *cf, const struct config_line_channel *ch, const char *code)
{
	const struct config_message *m = config_message(cf, "claim_text");
	struct msg_vars vars = { 0 };
	json_t *r = NULL;
	const char *text;
	char *enc, *url, *dflt = NULL;

	msg_vars_set(&vars, "code", code);
	if (m != NULL) {
		r = msg_template_render(m->line, &vars);
		text = json_string_value(json_object_get(json_array_get(r, 0), "text"));
	} else {
		char *p = strstr(CLAIM_TEXT_DEFAULT, "{code}");

		dflt = xasprintf("%.*s%s%s", (int)(p - CLAIM_TEXT_DEFAULT), CLAIM_TEXT_DEFAULT,
		    code, p + 6);
		text = dflt;
	}
	enc = url_encode(text ? text : code);
	/* The basic id's '@' is percent-encoded, as LINE's URL scheme asks. */
	url = xasprintf("https://line.me/R/oaMessage/%%40%s/?%s", ch->basic_id + 1, enc);
	free(enc);
	free(dflt);
	json_decref(r);
	return url;
}

void
invite_link_handle(struct daemon *d, struct evhttp_request *req, const char *code_in,
    int64_t start_us)
{
	const struct config *cf = d->cfg;
	struct evhttp_connection *con = evhttp_request_get_connection(req);
	char *addr = NULL;
	ev_uint16_t port;
	char hash[65], code[REFCODE_LEN + 1];
	struct refcode_owner owner;
	const struct config_line_channel *ch;
	const struct config_campaign *cp;
	char *url, today[11];
	int rc;

	if (con != NULL)
		evhttp_connection_get_peer(con, &addr, &port);	/* addr: evhttp's */
	/* Keyed with the database's secret salt: the same client always looks the same
	 * here, and nobody can turn it back into an address. */
	sha256_hex(d->salt, sizeof(d->salt), addr ? addr : "", addr ? strlen(addr) : 0, hash);
	hash[16] = '\0';
	if (!rate_ok(d->invite_links, hash, cf->referral.invite_rate_per_min, clock_ms())) {
		page(d, req, 429, "Too Many Requests", "しばらくお待ちください",
		    "短い時間にたくさんのアクセスがありました。少し時間をおいてからもう一度お試し"
		    "ください。", start_us, "rate limited");
		return;
	}
	if (refcode_valid(code_in, code) == -1 ||
	    (rc = store_refcode_lookup(d->store, code, &owner)) == 0) {
		page(d, req, 404, "Not Found", "ご紹介リンクが見つかりません",
		    "このリンクは正しくないようです。ご紹介くださった方に、届いたメッセージをもう"
		    "一度ご確認いただくようお伝えください。", start_us, "unknown code");
		return;
	}
	if (rc == -1) {
		page(d, req, 503, "Service Unavailable", "ただいま混み合っています",
		    "少し時間をおいてからもう一度お試しください。", start_us, "database error");
		return;
	}
	ch = config_line_channel(cf, owner.channel);
	cp = config_campaign(cf, owner.campaign);
	local_date(today);
	if (ch == NULL || cp == NULL || !config_campaign_running(cp, today)) {
		page(d, req, 410, "Gone", "このご紹介キャンペーンは終了しました",
		    "ご紹介リンクの有効期限が切れています。最新のキャンペーンは公式アカウントで"
		    "ご案内しています。", start_us, "campaign over");
		refcode_owner_clear(&owner);
		return;
	}
	{
		char *rep_code = NULL;
		const struct config_rep *rep = store_customer_rep(d->store, owner.channel,
		    owner.user_id, &rep_code) == 1 ? config_rep(cf, rep_code) : NULL;
		/* Counted under the referrer's rep and branch, like the rest of the funnel. */
		struct ref_event e = { .type = "clicked", .channel = owner.channel,
		    .campaign = owner.campaign, .code = code, .referrer_id = owner.user_id,
		    .rep_code = rep ? rep->code : NULL,
		    .branch = rep && rep->branch ? rep->branch->code : NULL,
		    .client_hash = hash, .actor = "friend" };

		free(rep_code);

		/* Clicks are counts for the funnel: they need not wait for the disk. */
		if (store_begin_unsynced(d->store) == -1 || store_ref_event(d->store, &e) == -1 ||
		    store_commit(d->store) == -1) {
			store_rollback(d->store);
			log_warnx("msg=\"cannot record a click\" code=%s", code);
		}
	}
	url = claim_url(cf, ch, code);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Location", url);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
	http_log_request(req, 302, owner.channel, start_us, NULL);
	evhttp_send_reply(req, 302, "Found", NULL);
	free(url);
	refcode_owner_clear(&owner);
}
