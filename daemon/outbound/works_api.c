/* works_api.c: the LINE WORKS Bot API. Service-account auth (an RS256 JWT signed with
 * the bot's private key, exchanged at the token endpoint; one token per bot, cached,
 * fetched by one request at a time, renewed five minutes before it expires and once
 * when the API says 401), and sending an outbox row to a user or a channel. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "../shokaid.h"

#define TOKEN_MARGIN_MS		(5 * 60 * 1000)
#define JWT_LIFETIME_S		3600
#define WORKS_SCOPE		"bot user.read"

/* One API call (a send or a lookup), waiting for its bot's token or in flight. */
struct works_call {
	struct daemon		*d;
	char			*bot;		/* config id */
	const char		*method;	/* static string */
	char			*path;		/* after api_base, already encoded */
	char			*body;		/* NULL: none */
	/* how the answer is delivered: to the outbox, or to a lookup's caller */
	void			(*answer)(struct works_call *, const struct http_response *);
	send_done_cb		 send_done;
	works_lookup_cb		 lookup_done;
	void			*arg;
	int			 renewed;	/* already retried once with a new token */
	int64_t			 start_us;
	struct works_call	*next;
};

struct works_token {
	char			*bot;		/* config id */
	char			*client_id;	/* a reload with other credentials drops it */
	char			*token;
	int64_t			 expires_ms;	/* wall clock */
	int			 fetching;
	struct works_call	*waiting;
	struct works_token	*next;
};

struct works_tokens {
	struct works_token	*list;
};

static void call_send(struct works_call *, struct works_token *);

static struct works_token *
token_for(struct daemon *d, const struct config_works_bot *bot)
{
	struct works_tokens *wt = d->works_tokens;
	struct works_token *t;

	if (wt == NULL)
		wt = d->works_tokens = xcalloc(1, sizeof(*wt));
	for (t = wt->list; t != NULL; t = t->next) {
		if (strcmp(t->bot, bot->id) == 0) {
			if (strcmp(t->client_id, bot->client_id) != 0) {
				free(t->token);
				t->token = NULL;
				free(t->client_id);
				t->client_id = xstrdup(bot->client_id);
			}
			return t;
		}
	}
	t = xcalloc(1, sizeof(*t));
	t->bot = xstrdup(bot->id);
	t->client_id = xstrdup(bot->client_id);
	t->next = wt->list;
	wt->list = t;
	return t;
}

void
works_tokens_free(struct works_tokens *wt)
{
	if (wt == NULL)
		return;
	while (wt->list != NULL) {
		struct works_token *t = wt->list;

		wt->list = t->next;
		while (t->waiting != NULL) {
			struct works_call *c = t->waiting;

			t->waiting = c->next;
			free(c->bot);
			free(c->path);
			free(c->body);
			free(c);
		}
		free(t->bot);
		free(t->client_id);
		free(t->token);
		free(t);
	}
	free(wt);
}

static char *
b64url(const unsigned char *in, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);
	int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);

	for (int i = 0; i < n; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	return out;
}

/* header.claims.signature, RS256 over the first two parts. */
char *
works_jwt(const char *client_id, const char *service_account, const char *pem,
    time_t now, char *err, size_t errlen)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	EVP_MD_CTX *md = NULL;
	json_t *claims = NULL;
	char *claims_text = NULL, *h = NULL, *c = NULL, *s = NULL, *input = NULL, *jwt = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	static const char header[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";

	if (key == NULL) {
		snprintf(err, errlen, "private key is not a PEM private key");
		goto done;
	}
	claims = json_pack("{s:s, s:s, s:I, s:I}", "iss", client_id, "sub", service_account,
	    "iat", (json_int_t)now, "exp", (json_int_t)(now + JWT_LIFETIME_S));
	claims_text = claims ? json_dumps(claims, JSON_COMPACT) : NULL;
	if (claims_text == NULL) {
		snprintf(err, errlen, "cannot build the JWT claims");
		goto done;
	}
	h = b64url((const unsigned char *)header, strlen(header));
	c = b64url((const unsigned char *)claims_text, strlen(claims_text));
	input = xasprintf("%s.%s", h, c);
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)input, strlen(input)) != 1) {
		snprintf(err, errlen, "cannot sign the JWT");
		goto done;
	}
	sig = xmalloc(siglen);
	if (EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input, strlen(input)) != 1) {
		snprintf(err, errlen, "cannot sign the JWT");
		goto done;
	}
	s = b64url(sig, siglen);
	jwt = xasprintf("%s.%s", input, s);
done:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	BIO_free(bio);
	json_decref(claims);
	free(claims_text);
	free(h);
	free(c);
	free(s);
	free(input);
	free(sig);
	return jwt;
}

static void
call_free(struct works_call *call)
{
	free(call->bot);
	free(call->path);
	free(call->body);
	free(call);
}

/* Answers a call that never got a response (no token, no bot, no request). */
static void
finish_without_answer(struct works_call *call, const char *why)
{
	struct http_response r;

	memset(&r, 0, sizeof(r));
	r.status = 0;
	r.body = "";
	r.headers = "";
	r.error = why;
	call->answer(call, &r);
	call_free(call);
}

/* LINE WORKS errors: {"code": "...", "description": "..."}. */
static void
platform_error(const struct http_response *r, char *out, size_t outlen)
{
	json_t *root = json_loadb(r->body, r->body_len, 0, NULL);
	const char *code = json_string_value(json_object_get(root, "code"));
	const char *desc = json_string_value(json_object_get(root, "description"));

	if (code != NULL)
		snprintf(out, outlen, "%d %s%s%s", r->status, code, desc ? ": " : "",
		    desc ? desc : "");
	else
		snprintf(out, outlen, "%d %.*s", r->status, (int)(r->body_len > 120 ? 120 :
		    r->body_len), r->body);
	json_decref(root);
}

/* The token entry itself, not its bot's config: a reload may drop the bot while the
 * request is out, and the calls waiting on it must still get their answer. */
struct token_fetch {
	struct daemon		*d;
	struct works_token	*t;
};

static void
on_token(const struct http_response *r, void *arg)
{
	struct token_fetch *tf = arg;
	struct works_token *t = tf->t;
	struct works_call *waiting;
	json_t *root = NULL, *exp;
	char why[WHY_MAX] = "";
	int64_t expires_s = 0;

	t->fetching = 0;
	if (config_works_bot(tf->d->cfg, t->bot) == NULL)
		snprintf(why, sizeof(why), "bot is no longer in the config");
	else if (r->status == 200)
		root = json_loadb(r->body, r->body_len, 0, NULL);
	exp = json_object_get(root, "expires_in");
	/* The endpoint has sent expires_in both as a number and as a string. */
	if (json_is_integer(exp))
		expires_s = json_integer_value(exp);
	else if (json_is_string(exp))
		expires_s = strtoll(json_string_value(exp), NULL, 10);
	if (why[0] != '\0') {
		/* the bot is gone: nothing to store */
	} else if (root != NULL && json_is_string(json_object_get(root, "access_token")) &&
	    expires_s > 0) {
		free(t->token);
		t->token = xstrdup(json_string_value(json_object_get(root, "access_token")));
		t->expires_ms = wall_ms() + expires_s * 1000;
		log_info("msg=\"LINE WORKS token fetched\" bot=%s expires_in_s=%lld", t->bot,
		    (long long)expires_s);
	} else if (r->status == 0) {
		snprintf(why, sizeof(why), "token endpoint: %s", r->error);
	} else {
		json_t *e = json_loadb(r->body, r->body_len, 0, NULL);
		const char *code = json_string_value(json_object_get(e, "error"));
		const char *desc = json_string_value(json_object_get(e, "error_description"));

		snprintf(why, sizeof(why), "token endpoint: %d %s%s%s", r->status,
		    code ? code : "unexpected answer", desc ? ": " : "", desc ? desc : "");
		json_decref(e);
	}
	if (why[0] != '\0')
		log_warnx("msg=\"LINE WORKS token request failed\" bot=%s reason=\"%s\"", t->bot,
		    why);
	waiting = t->waiting;
	t->waiting = NULL;
	while (waiting != NULL) {
		struct works_call *c = waiting;

		waiting = c->next;
		c->next = NULL;
		if (why[0] != '\0')
			finish_without_answer(c, why);
		else
			call_send(c, t);
	}
	json_decref(root);
	free(tf);
}

static void
fetch_token(struct daemon *d, const struct config_works_bot *bot, struct works_token *t)
{
	char err[WHY_MAX], *jwt, *form, *e_assert, *e_client, *e_secret, *e_scope;
	const char *headers[] = { "Content-Type: application/x-www-form-urlencoded" };
	struct http_request req;
	struct token_fetch *tf;

	t->fetching = 1;
	jwt = works_jwt(bot->client_id, bot->service_account, bot->private_key_pem,
	    (time_t)(wall_ms() / 1000), err, sizeof(err));
	tf = xcalloc(1, sizeof(*tf));
	tf->d = d;
	tf->t = t;
	if (jwt == NULL) {
		struct http_response r = { .status = 0, .body = "", .headers = "", .error = err };

		on_token(&r, tf);
		return;
	}
	e_assert = url_encode(jwt);
	e_client = url_encode(bot->client_id);
	e_secret = url_encode(bot->client_secret);
	e_scope = url_encode(WORKS_SCOPE);
	form = xasprintf("assertion=%s&grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3A"
	    "grant-type%%3Ajwt-bearer&client_id=%s&client_secret=%s&scope=%s", e_assert,
	    e_client, e_secret, e_scope);
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = bot->auth_url;
	req.headers = headers;
	req.nheaders = 1;
	req.body = form;
	req.body_len = strlen(form);
	req.timeout_ms = d->cfg->outbox_request_timeout_ms;
	if (http_client_send(d->http_client, &req, on_token, tf) == -1) {
		struct http_response r = { .status = 0, .body = "", .headers = "",
		    .error = "cannot start the token request" };

		on_token(&r, tf);
	}
	free(jwt);
	free(e_assert);
	free(e_client);
	free(e_secret);
	free(e_scope);
	free(form);
}

/* Queues the call behind its bot's token, fetching one if none is valid. */
static void
with_token(struct works_call *call)
{
	struct daemon *d = call->d;
	const struct config_works_bot *bot = config_works_bot(d->cfg, call->bot);
	struct works_token *t;

	if (bot == NULL) {
		finish_without_answer(call, "bot is no longer in the config");
		return;
	}
	t = token_for(d, bot);
	if (t->token != NULL && t->expires_ms - TOKEN_MARGIN_MS > wall_ms()) {
		call_send(call, t);
		return;
	}
	call->next = t->waiting;
	t->waiting = call;
	if (!t->fetching)
		fetch_token(d, bot, t);
}

static void
on_response(const struct http_response *r, void *arg)
{
	struct works_call *call = arg;

	if ((r->status == 401 || (r->status == 403 && r->body != NULL &&
	    strstr(r->body, "UNAUTHORIZED") != NULL)) && !call->renewed) {
		/* The token was revoked or expired early: renew once and resend. */
		const struct config_works_bot *bot = config_works_bot(call->d->cfg, call->bot);

		if (bot != NULL) {
			struct works_token *t = token_for(call->d, bot);

			free(t->token);
			t->token = NULL;
		}
		call->renewed = 1;
		with_token(call);
		return;
	}
	call->answer(call, r);
	call_free(call);
}

/* An outbox row's answer. */
static void
answer_send(struct works_call *call, const struct http_response *r)
{
	struct send_result res;
	char v[32];

	if (!send_result_common(&res, r, call->start_us)) {
		platform_error(r, res.error, sizeof(res.error));
		if (r->status == 429 || r->status >= 500 || r->status == 401) {
			res.outcome = SEND_RETRY;
			res.ambiguous = r->status >= 500;
			if (http_response_header(r, "rateLimit-reset", v, sizeof(v)) != NULL)
				res.retry_after_ms = strtoll(v, NULL, 10) * 1000;
		} else
			res.outcome = SEND_PERMANENT;
	}
	call->send_done(&res, call->arg);
}

/* A lookup's answer, as it came. */
static void
answer_lookup(struct works_call *call, const struct http_response *r)
{
	char error[WHY_MAX] = "";

	if (r->status == 0)
		snprintf(error, sizeof(error), "%s", r->error ? r->error : "no answer");
	else if (r->status < 200 || r->status >= 300)
		platform_error(r, error, sizeof(error));
	call->lookup_done(r->status, r->status ? r->body : "", r->status ? r->body_len : 0,
	    error[0] ? error : NULL, call->arg);
}

static void
call_send(struct works_call *call, struct works_token *t)
{
	const struct config_works_bot *bot = config_works_bot(call->d->cfg, call->bot);
	struct http_request req;
	const char *headers[2];
	char *url, *auth;

	if (bot == NULL) {
		finish_without_answer(call, "bot is no longer in the config");
		return;
	}
	url = xasprintf("%s%s", bot->api_base, call->path);
	auth = xasprintf("Authorization: Bearer %s", t->token);
	headers[0] = auth;
	headers[1] = "Content-Type: application/json";
	memset(&req, 0, sizeof(req));
	req.method = call->method;
	req.url = url;
	req.headers = headers;
	req.nheaders = call->body ? 2 : 1;
	req.body = call->body;
	req.body_len = call->body ? strlen(call->body) : 0;
	req.timeout_ms = call->d->cfg->outbox_request_timeout_ms;
	if (http_client_send(call->d->http_client, &req, on_response, call) == -1)
		finish_without_answer(call, "cannot start the request");
	free(url);
	free(auth);
}

static struct works_call *
call_new(struct daemon *d, const char *bot, const char *method, char *path, const char *body)
{
	struct works_call *call = xcalloc(1, sizeof(*call));

	call->d = d;
	call->bot = xstrdup(bot);
	call->method = method;
	call->path = path;
	call->body = body ? xstrdup(body) : NULL;
	call->start_us = clock_us();
	return call;
}

void
works_api_send(struct daemon *d, const struct outbox_msg *m, send_done_cb done, void *arg)
{
	const struct config_works_bot *bot = config_works_bot(d->cfg, m->channel);
	struct works_call *call;
	char *e_target;

	if (bot == NULL) {
		struct send_result res;

		memset(&res, 0, sizeof(res));
		res.outcome = SEND_PERMANENT;
		snprintf(res.error, sizeof(res.error), "bot is no longer in the config");
		done(&res, arg);
		return;
	}
	e_target = url_encode(m->target ? m->target : "");
	call = call_new(d, m->channel, "POST", xasprintf("/bots/%s/%s/%s/messages", bot->bot_id,
	    strcmp(m->kind, "works_channel") == 0 ? "channels" : "users", e_target), m->body);
	free(e_target);
	call->answer = answer_send;
	call->send_done = done;
	call->arg = arg;
	with_token(call);
}

/* A management call (path under api_base, body JSON or NULL) with the bot's token. */
void
works_api_call(struct daemon *d, const char *bot, const char *method, const char *path,
    const char *body, works_lookup_cb done, void *arg)
{
	struct works_call *call = call_new(d, bot, method, xstrdup(path), body);

	call->answer = answer_lookup;
	call->lookup_done = done;
	call->arg = arg;
	with_token(call);
}

void
works_api_lookup(struct daemon *d, const char *bot, const char *what, const char *user_id,
    works_lookup_cb done, void *arg)
{
	char *e_user = url_encode(user_id);
	char *path = strcmp(what, "link-url") == 0 ? xasprintf("/users/%s/link-url", e_user) :
	    xasprintf("/users/%s", e_user);

	free(e_user);
	works_api_call(d, bot, "GET", path, NULL, done, arg);
	free(path);
}
