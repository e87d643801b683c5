/* http_invite.c: GET /r/{code} and /r/{code}/rep, the links in every invite: the HTTP
 * side only. It slows
 * down a client that asks too often (known by a salted hash of its address, never the
 * address itself), asks handlers/referral_click.c where the friend goes, and answers
 * with the redirect or a page whose words are the operator's (messages.invite_page_*:
 * the first text is the heading, the others are paragraphs). */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "../shokaid.h"
#include "../../handlers/handler.h"

#define CLIENTS_MAX	4096	/* clients remembered; far above real clicks a minute */
#define BUCKETS		4096	/* chain heads, indexed by the client hash */
#define WINDOW_MS	60000
#define NONE		(-1)

/* One client's window. Found by exact match on its hash, so a different client can
 * never land on it and reset its count; every entry is also on a list from most to
 * least recently seen, which says whom to forget when the table is full. */
struct client {
	uint64_t key;		/* the salted hash's first 64 bits */
	int64_t	 window_start;
	int	 count;
	int	 next;		/* in its bucket's chain */
	int	 newer, older;	/* on the recently-seen list */
};

struct http_invite {
	struct client	 clients[CLIENTS_MAX];
	int		 bucket[BUCKETS];
	int		 newest, oldest;
	int		 n_used;
};

struct http_invite *
http_invite_new(void)
{
	struct http_invite *il = xcalloc(1, sizeof(struct http_invite));
	size_t i;

	for (i = 0; i < BUCKETS; i++)
		il->bucket[i] = NONE;
	il->newest = il->oldest = NONE;
	return il;
}

void
http_invite_free(struct http_invite *il)
{
	free(il);
}

static void
lru_unlink(struct http_invite *il, int i)
{
	struct client *c = &il->clients[i];

	if (c->newer != NONE)
		il->clients[c->newer].older = c->older;
	else
		il->newest = c->older;
	if (c->older != NONE)
		il->clients[c->older].newer = c->newer;
	else
		il->oldest = c->newer;
}

static void
lru_push_newest(struct http_invite *il, int i)
{
	struct client *c = &il->clients[i];

	c->newer = NONE;
	c->older = il->newest;
	if (il->newest != NONE)
		il->clients[il->newest].newer = i;
	il->newest = i;
	if (il->oldest == NONE)
		il->oldest = i;
}

static void
bucket_unlink(struct http_invite *il, int i)
{
	int *p = &il->bucket[il->clients[i].key % BUCKETS];

	while (*p != i)
		p = &il->clients[*p].next;
	*p = il->clients[i].next;
}

/* The client's entry, made when it is new. A full table forgets the least recently
 * seen client, whose window then starts again. That is the choice that cannot be
 * turned against others: refusing new clients when full would let one party with
 * 4096 addresses lock every friend out, while forgetting the oldest only helps a
 * client that has been quiet while 4096 others clicked, more distinct clients in a
 * minute than a campaign sees, and a client still clicking stays recently seen. */
static struct client *
client_get(struct http_invite *il, uint64_t key, int64_t now)
{
	int i;

	for (i = il->bucket[key % BUCKETS]; i != NONE; i = il->clients[i].next)
		if (il->clients[i].key == key)
			break;
	if (i != NONE)
		lru_unlink(il, i);
	else {
		if (il->n_used < CLIENTS_MAX)
			i = il->n_used++;
		else {
			i = il->oldest;
			lru_unlink(il, i);
			bucket_unlink(il, i);
		}
		il->clients[i] = (struct client){ .key = key, .window_start = now };
		il->clients[i].next = il->bucket[key % BUCKETS];
		il->bucket[key % BUCKETS] = i;
	}
	lru_push_newest(il, i);
	return &il->clients[i];
}

/* 1 when the client may go on; 0 with *retry_s, the seconds until its window ends. */
static int
rate_ok(struct http_invite *il, const char hash[17], int per_min, int64_t now,
    int *retry_s)
{
	struct client *c = client_get(il, strtoull(hash, NULL, 16), now);
	int64_t left;

	if (now - c->window_start >= WINDOW_MS) {
		c->window_start = now;
		c->count = 0;
	}
	if (c->count < per_min) {
		c->count++;
		return 1;
	}
	left = c->window_start + WINDOW_MS - now;
	*retry_s = (int)((left + 999) / 1000);
	if (*retry_s < 1)
		*retry_s = 1;
	return 0;
}

static bool
is_trusted(const struct config *cf, const char *addr)
{
	unsigned char b[16];
	int family;
	size_t i;

	if (inet_pton(AF_INET, addr, b) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, addr, b) == 1) {
		family = AF_INET6;
		/* An IPv4 peer on an IPv6 socket is ::ffff:a.b.c.d; compare it as IPv4. */
		if (memcmp(b, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
			memmove(b, b + 12, 4);
			family = AF_INET;
		}
	} else
		return false;
	for (i = 0; i < cf->n_trusted_proxies; i++)
		if (cf->trusted_proxies[i].family == family &&
		    memcmp(cf->trusted_proxies[i].bytes, b,
		    family == AF_INET ? 4 : 16) == 0)
			return true;
	return false;
}

/* Who the client is, into out. The peer, unless the peer is a trusted proxy: then the
 * right-most X-Forwarded-For entry that is not a trusted proxy, the one the nearest
 * proxy we trust saw (entries left of it are whatever the client chose to send). */
static void
client_address(const struct config *cf, struct http_req *req, const char *peer,
    char *out, size_t outlen)
{
	const char *name, *p;

	snprintf(out, outlen, "%s", peer ? peer : "");
	if (peer == NULL || cf->n_trusted_proxies == 0 || !is_trusted(cf, peer))
		return;
	/* Several X-Forwarded-For lines are one list, in order. */
	for (size_t i = 0; (p = http_req_field(req, i, &name)) != NULL; i++) {
		if (strcasecmp(name, "X-Forwarded-For") != 0)
			continue;
		while (*p != '\0') {
			char one[64];
			size_t n;

			p += strspn(p, " \t,");
			n = strcspn(p, ",");
			if (n == 0)
				break;
			snprintf(one, sizeof(one), "%.*s", (int)n, p);
			one[strcspn(one, " \t")] = '\0';
			if (one[0] != '\0' && !is_trusted(cf, one))
				snprintf(out, outlen, "%s", one);
			p += n;
		}
	}
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
page(struct daemon *d, struct http_req *req, int code, const char *name,
    int64_t start_us, const char *why, int retry_after_s)
{
	const struct config_message *m = config_message(d->cfg, name);
	struct evbuffer *b = evbuffer_new();
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
	if (title == NULL)	/* the built-in words always exist; a render can fail */
		title = http_reason_phrase(code);
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
	    .log_extra = extra, .retry_after_s = retry_after_s },
	    (const char *)evbuffer_pullup(b, -1), evbuffer_get_length(b));
	evbuffer_free(b);
}

void
http_invite_handle(struct daemon *d, struct http_req *req, const char *path,
    int64_t start_us)
{
	size_t code_len = strcspn(path, "/");
	struct click_job *job;
	char client[64], hash[65];
	int retry_s = 0;

	if (path[code_len] != '\0' && strcmp(path + code_len, "/rep") != 0) {
		page(d, req, 404, "invite_page_unknown", start_us, "unknown path", 0);
		return;
	}
	client_address(d->cfg, req, http_req_peer(req), client, sizeof(client));
	/* Keyed with the database's secret salt: the same client always looks the same
	 * here, and nobody can turn it back into an address. */
	sha256_hex(d->salt, SALT_LEN, client, strlen(client), hash);
	hash[16] = '\0';
	if (!rate_ok(d->http_invite, hash, d->cfg->referral.invite_rate_per_min, clock_ms(),
	    &retry_s)) {
		page(d, req, 429, "invite_page_busy", start_us, "rate limited", retry_s);
		return;
	}
	/* handlers/referral_click.c decides and records, on the storage side. */
	job = xcalloc(1, sizeof(*job));
	job->ticket = http_wait_park(d->waits, req);
	job->start_us = start_us;
	job->code = xstrndup(path, code_len);
	job->to_rep = strcmp(path + code_len, "/rep") == 0;
	memcpy(job->client_hash, hash, sizeof(job->client_hash));
	storage_post(d->storage, storage_click, job);
}

void
http_invite_clicked(void *ctx, void *arg)
{
	struct daemon *d = ctx;
	struct click_job *job = arg;
	struct http_req *req = http_wait_take(d->waits, job->ticket);

	if (job->error != NULL)
		log_warnx("msg=\"cannot record a click\" detail=\"%s\"", job->error);
	if (req == NULL)
		goto done;		/* the client went away */
	switch ((enum click_result)job->result) {
	case CLICK_GO:
		http_reply_redirect(req, &(struct http_answer){ .code = 302,
		    .channel = job->channel, .start_us = job->start_us }, job->url);
		break;
	case CLICK_UNKNOWN:
		page(d, req, 404, "invite_page_unknown", job->start_us, "unknown code", 0);
		break;
	case CLICK_OVER:
		page(d, req, 410, "invite_page_over", job->start_us, "campaign over", 0);
		break;
	case CLICK_ERROR:
		page(d, req, 503, "invite_page_error", job->start_us, "database error", 0);
		break;
	}
done:
	free(job->code);
	free(job->url);
	free(job->channel);
	free(job->error);
	free(job);
}
