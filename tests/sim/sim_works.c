/* sim_works.c: the LINE WORKS Bot API as the simulator plays it: the service-account
 * token endpoint (form fields and the JWT assertion checked, optionally its RS256
 * signature), bearer tokens that can be revoked, sending to users and channels, user
 * records, the external-talk link URL and the persistent menu. Errors use WORKS'
 * {"code", "description"} shape, OAuth's {"error", "error_description"} on the token
 * endpoint. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "sim.h"

#define JWT_GRANT		"urn:ietf:params:oauth:grant-type:jwt-bearer"
#define DEFAULT_SCOPE		"bot user.read"
#define TOKEN_LIFETIME		"86400"		/* a string, as the real endpoint sends it */
#define MAX_JWT			8192
#define MAX_JWT_LIFETIME_S	3600
#define CLOCK_SKEW_S		300
#define MAX_TEXT		2000
#define MAX_MENU_ACTIONS	4

typedef void (*works_handler)(struct sim_req *, char caps[][SIM_SEG_MAX]);

static void
works_error(struct sim_req *rq, int status, const char *code, const char *desc)
{
	serve_json(rq, status, json_pack("{s:s, s:s}", "code", code, "description", desc));
}

static void
oauth_error(struct sim_req *rq, int status, const char *code, const char *desc)
{
	serve_json(rq, status, json_pack("{s:s, s:s}", "error", code, "error_description",
	    desc));
}

/* ------------------------------------------------------------------ the key */

struct evp_pkey_st *
works_load_key(const char *path, char *err, size_t errlen)
{
	BIO *bio;
	EVP_PKEY *key;

	if ((bio = BIO_new_file(path, "r")) == NULL) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	/* A public key, or the private key itself (what the daemon's config names). */
	if ((key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) == NULL &&
	    BIO_reset(bio) == 0)
		key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (key == NULL) {
		snprintf(err, errlen, "%s: not a PEM public or private key", path);
		return NULL;
	}
	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
		snprintf(err, errlen, "%s: not an RSA key (LINE WORKS signs with RS256)", path);
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

/* --------------------------------------------------------------- the token */

/* Decodes one base64url JWT part into JSON; NULL if it is not. */
static json_t *
jwt_part(const char *p, size_t len)
{
	unsigned char buf[4096];
	long n = util_base64url_decode(p, len, buf, sizeof(buf));

	return n <= 0 ? NULL : json_loadb((const char *)buf, (size_t)n, 0, NULL);
}

/* Checks the assertion the way the real endpoint is known to fail: returns NULL, or
 * why it would be refused. */
static const char *
jwt_check(struct sim *s, const char *jwt, const char *client_id)
{
	const char *dot1, *dot2, *why = NULL;
	json_t *head = NULL, *claims = NULL, *iat, *exp;
	unsigned char sig[1024];
	long siglen;
	time_t now = time(NULL);

	if (strlen(jwt) > MAX_JWT)
		return "assertion is too long";
	if ((dot1 = strchr(jwt, '.')) == NULL || (dot2 = strchr(dot1 + 1, '.')) == NULL ||
	    strchr(dot2 + 1, '.') != NULL || dot1 == jwt || dot2 == dot1 + 1 ||
	    dot2[1] == '\0')
		return "assertion must be three base64url parts joined by '.'";
	if (strpbrk(jwt, "+/=") != NULL)
		return "assertion must use base64url without padding (found '+', '/' or '=')";
	if ((head = jwt_part(jwt, (size_t)(dot1 - jwt))) == NULL ||
	    (claims = jwt_part(dot1 + 1, (size_t)(dot2 - dot1 - 1))) == NULL) {
		why = "assertion header or claims are not base64url JSON";
		goto done;
	}
	if (strcmp(json_string_value(json_object_get(head, "alg")) ?
	    json_string_value(json_object_get(head, "alg")) : "", "RS256") != 0) {
		why = "assertion header must say \"alg\": \"RS256\"";
		goto done;
	}
	iat = json_object_get(claims, "iat");
	exp = json_object_get(claims, "exp");
	if (!json_is_string(json_object_get(claims, "iss")) ||
	    strcmp(json_string_value(json_object_get(claims, "iss")), client_id) != 0)
		why = "assertion \"iss\" must be the client_id";
	else if (!json_is_string(json_object_get(claims, "sub")) ||
	    json_string_value(json_object_get(claims, "sub"))[0] == '\0')
		why = "assertion \"sub\" must be the service account";
	else if (!json_is_integer(iat) || !json_is_integer(exp))
		why = "assertion \"iat\" and \"exp\" must be integer seconds";
	else if (json_integer_value(iat) > now + CLOCK_SKEW_S)
		why = "assertion \"iat\" is in the future (milliseconds instead of seconds?)";
	else if (json_integer_value(exp) <= now - CLOCK_SKEW_S)
		why = "assertion has expired";
	else if (json_integer_value(exp) <= json_integer_value(iat) ||
	    json_integer_value(exp) - json_integer_value(iat) > MAX_JWT_LIFETIME_S)
		why = "assertion \"exp\" must be after \"iat\" and at most 3600 s later";
	if (why != NULL)
		goto done;
	siglen = util_base64url_decode(dot2 + 1, strlen(dot2 + 1), sig, sizeof(sig));
	if (siglen < 64) {
		why = "assertion signature is missing or too short for RS256";
		goto done;
	}
	if (s->works_key != NULL) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();

		if (ctx == NULL || EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL,
		    s->works_key) != 1 || EVP_DigestVerify(ctx, sig, (size_t)siglen,
		    (const unsigned char *)jwt, (size_t)(dot2 - jwt)) != 1)
			why = "assertion signature does not verify with the --works-key key";
		EVP_MD_CTX_free(ctx);
		ERR_clear_error();
	}
done:
	json_decref(head);
	json_decref(claims);
	return why;
}

static void
issue_token(struct sim_req *rq, const char *client_id, const char *scope,
    const char *refresh)
{
	struct sim *s = rq->sim;
	char token[48], fresh[48] = "sim-refresh-";

	snprintf(token, sizeof(token), "sim-token-%llu", (unsigned long long)++s->token_seq);
	s->tokens_issued++;
	s->keys_forgotten += (uint64_t)util_map_put(s->tokens, token, json_pack("{s:b, s:s}",
	    "revoked", 0, "client_id", client_id), SIM_MAX_KEYS);
	if (refresh == NULL) {
		util_random_hex(fresh + strlen(fresh), 32);
		s->keys_forgotten += (uint64_t)util_map_put(s->refresh_tokens, fresh,
		    json_string(client_id), SIM_MAX_KEYS);
		refresh = fresh;
	}
	serve_json(rq, 200, json_pack("{s:s, s:s, s:s, s:s, s:s}", "access_token", token,
	    "refresh_token", refresh, "scope", scope, "token_type", "Bearer",
	    "expires_in", TOKEN_LIFETIME));
}

/* POST /oauth2/v2.0/token, form-encoded: the JWT-bearer grant, or refresh_token. */
static void
token(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	struct evkeyvalq form;
	const char *ct = serve_input_header(rq, "Content-Type");
	const char *grant, *client_id, *secret, *assertion, *scope, *refresh, *why;
	json_t *owner;

	(void)caps;
	TAILQ_INIT(&form);
	if (ct == NULL || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
		oauth_error(rq, 400, "invalid_request",
		    "Content-Type must be application/x-www-form-urlencoded");
		return;
	}
	if (strlen(rq->body) != rq->body_len || evhttp_parse_query_str(rq->body, &form) != 0) {
		oauth_error(rq, 400, "invalid_request", "the form body cannot be parsed");
		goto done;
	}
	grant = evhttp_find_header(&form, "grant_type");
	client_id = evhttp_find_header(&form, "client_id");
	secret = evhttp_find_header(&form, "client_secret");
	assertion = evhttp_find_header(&form, "assertion");
	refresh = evhttp_find_header(&form, "refresh_token");
	scope = evhttp_find_header(&form, "scope");
	if (scope == NULL || scope[0] == '\0')
		scope = DEFAULT_SCOPE;
	if (grant == NULL || client_id == NULL || client_id[0] == '\0' || secret == NULL ||
	    secret[0] == '\0') {
		oauth_error(rq, 400, "invalid_request",
		    "grant_type, client_id and client_secret are required");
		goto done;
	}
	if (strcmp(grant, "refresh_token") == 0) {
		owner = refresh ? json_object_get(rq->sim->refresh_tokens, refresh) : NULL;
		if (owner == NULL || strcmp(json_string_value(owner), client_id) != 0)
			oauth_error(rq, 400, "invalid_grant", "unknown refresh_token");
		else
			issue_token(rq, client_id, scope, refresh);
		goto done;
	}
	if (strcmp(grant, JWT_GRANT) != 0) {
		oauth_error(rq, 400, "unsupported_grant_type", "grant_type must be "
		    JWT_GRANT " or refresh_token");
		goto done;
	}
	if (assertion == NULL || assertion[0] == '\0') {
		oauth_error(rq, 400, "invalid_request", "assertion is required");
		goto done;
	}
	if ((why = jwt_check(rq->sim, assertion, client_id)) != NULL) {
		oauth_error(rq, 400, "invalid_grant", why);
		goto done;
	}
	issue_token(rq, client_id, scope, NULL);
done:
	evhttp_clear_headers(&form);
}

/* ---------------------------------------------------------------- the API */

/* An issued, not revoked token; answers 401 otherwise. */
static int
authorized(struct sim_req *rq)
{
	const char *auth = serve_input_header(rq, "Authorization");
	json_t *t = NULL;

	if (auth != NULL && strncmp(auth, "Bearer ", 7) == 0)
		t = json_object_get(rq->sim->tokens, auth + 7);
	if (t != NULL && !json_is_true(json_object_get(t, "revoked")))
		return 1;
	serve_header(rq, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
	works_error(rq, 401, "UNAUTHORIZED", auth == NULL ? "Authorization header required" :
	    t == NULL ? "The access token is invalid" : "The access token has been revoked");
	return 0;
}

static void
message(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	static const char *types[] = { "text", "sticker", "image", "file", "video", "audio",
	    "location", "link", "button_template", "list_template", "carousel",
	    "image_carousel", "flex", NULL };
	json_t *j, *content;
	const char *type, *text;
	int known = 0;

	(void)caps;
	if ((j = serve_body_json(rq, SIM_MAX_BODY)) == NULL)
		return;
	content = json_object_get(j, "content");
	type = json_string_value(json_object_get(content, "type"));
	text = json_string_value(json_object_get(content, "text"));
	for (int i = 0; type != NULL && types[i] != NULL; i++)
		known |= strcmp(type, types[i]) == 0;
	if (!json_is_object(content) || !known)
		works_error(rq, 400, "INVALID_PARAMETER", "content.type is missing or unknown");
	else if (strcmp(type, "text") == 0 && (text == NULL || text[0] == '\0' ||
	    util_codepoints(text) > MAX_TEXT))
		works_error(rq, 400, "INVALID_PARAMETER",
		    "content.text must be 1 to 2000 characters");
	else {
		rq->sim->works_delivered++;
		serve_json(rq, 201, NULL);
	}
	json_decref(j);
}

/* A UUID-shaped resource id derived from any user key (email, externalKey:...). */
static void
resource_id(const char *key, char out[37])
{
	char h[65];

	sha256_hex("", 0, key, strlen(key), h);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

/* The user's /_sim/profile entry (or NULL) and resource id; -1 after answering 404
 * for a user set up as missing. */
static int
user_lookup(struct sim_req *rq, const char *key, json_t **profile, char id[37])
{
	*profile = json_object_get(rq->sim->profiles, key);
	if (json_is_true(json_object_get(*profile, "missing"))) {
		works_error(rq, 404, "NOT_FOUND", "The user does not exist");
		return -1;
	}
	if (strchr(key, '@') != NULL || strncmp(key, "externalKey:", 12) == 0)
		resource_id(key, id);
	else
		snprintf(id, 37, "%.36s", key);
	return 0;
}

static void
user(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	json_t *p, *out;
	const char *name, *space, *email;
	char id[37], h[65], *mail = NULL, *last, *first;

	if (user_lookup(rq, caps[0], &p, id) == -1)
		return;
	sha256_hex("", 0, caps[0], strlen(caps[0]), h);
	email = json_string_value(json_object_get(p, "email"));
	if (email == NULL && strchr(caps[0], '@') != NULL)
		email = caps[0];
	if (email == NULL)
		email = mail = xasprintf("user-%.8s@example.com", h);
	/* "山田 太郎" -> lastName 山田, firstName 太郎 (ASCII or ideographic space). */
	name = json_string_value(json_object_get(p, "displayName"));
	if (name == NULL)
		name = "テスト ユーザー";
	if ((space = strstr(name, "\xe3\x80\x80")) != NULL) {
		last = xstrndup(name, (size_t)(space - name));
		first = xstrdup(space + 3);
	} else if ((space = strchr(name, ' ')) != NULL) {
		last = xstrndup(name, (size_t)(space - name));
		first = xstrdup(space + 1);
	} else {
		last = xstrdup(name);
		first = xstrdup("");
	}
	out = json_pack("{s:s, s:s, s:{s:s, s:s}, s:[], s:[], s:n, s:n, s:i}", "userId", id,
	    "email", email, "userName", "lastName", last, "firstName", first, "i18nNames",
	    "organizations", "telephone", "cellPhone", "domainId", 40029600);
	json_object_set_new(out, "userExternalKey", strncmp(caps[0], "externalKey:", 12) ==
	    0 ? json_string(caps[0] + 12) : json_null());
	serve_json(rq, 200, out);
	free(mail);
	free(last);
	free(first);
}

static void
link_url(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	static const char set[] =
	    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	json_t *p;
	char id[37], h[65], code[8], *url;

	if (user_lookup(rq, caps[0], &p, id) == -1)
		return;
	/* Stable per user, like the real link until someone resets it. */
	sha256_hex("", 0, id, strlen(id), h);
	for (int i = 0; i < 7; i++) {
		unsigned int byte = 0;

		(void)sscanf(h + 2 * i, "%2x", &byte);
		code[i] = set[byte % 62];
	}
	code[7] = '\0';
	url = xasprintf("https://works.do/%s", code);
	serve_json(rq, 200, json_pack("{s:s, s:s}", "userId", id, "linkUrl", url));
	free(url);
}

static void
menu_set(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	struct sim *s = rq->sim;
	json_t *j, *actions, *a;
	size_t i;
	int fresh;

	if ((j = serve_body_json(rq, SIM_MAX_STATE_BODY)) == NULL)
		return;
	actions = json_object_get(json_object_get(j, "content"), "actions");
	if (!json_is_array(actions) || json_array_size(actions) < 1 ||
	    json_array_size(actions) > MAX_MENU_ACTIONS) {
		works_error(rq, 400, "INVALID_PARAMETER", "content.actions must hold 1 to 4 "
		    "actions");
		goto done;
	}
	json_array_foreach(actions, i, a) {
		const char *type = json_string_value(json_object_get(a, "type"));

		if (type == NULL || (strcmp(type, "message") != 0 && strcmp(type, "uri") != 0 &&
		    strcmp(type, "copy") != 0) || !json_is_string(json_object_get(a, "label"))) {
			works_error(rq, 400, "INVALID_PARAMETER", "each action needs \"type\" "
			    "message, uri or copy and a \"label\"");
			goto done;
		}
	}
	fresh = json_object_get(s->persistent_menus, caps[0]) == NULL;
	if (fresh && json_object_size(s->persistent_menus) >= SIM_MAX_BOTS) {
		works_error(rq, 400, "LIMIT_EXCEEDED", "too many bots; POST /_sim/reset");
		goto done;
	}
	json_object_set(s->persistent_menus, caps[0], j);
	serve_json(rq, fresh ? 201 : 200, json_incref(j));
done:
	json_decref(j);
}

static void
menu_get(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	json_t *m = json_object_get(rq->sim->persistent_menus, caps[0]);

	if (m == NULL)
		works_error(rq, 404, "NOT_FOUND", "The bot has no persistent menu");
	else
		serve_json(rq, 200, json_incref(m));
}

static void
menu_delete(struct sim_req *rq, char caps[][SIM_SEG_MAX])
{
	if (json_object_del(rq->sim->persistent_menus, caps[0]) == -1)
		works_error(rq, 404, "NOT_FOUND", "The bot has no persistent menu");
	else
		serve_json(rq, 204, NULL);
}

/* ------------------------------------------------------------------ routing */

static const struct {
	enum evhttp_cmd_type	 method;
	const char		*pattern;
	works_handler		 fn;
} routes[] = {
	{ EVHTTP_REQ_POST, "/v1.0/bots/*/users/*/messages", message },
	{ EVHTTP_REQ_POST, "/v1.0/bots/*/channels/*/messages", message },
	{ EVHTTP_REQ_GET, "/v1.0/users/*/link-url", link_url },
	{ EVHTTP_REQ_GET, "/v1.0/users/*", user },
	{ EVHTTP_REQ_POST, "/v1.0/bots/*/persistentmenu", menu_set },
	{ EVHTTP_REQ_GET, "/v1.0/bots/*/persistentmenu", menu_get },
	{ EVHTTP_REQ_DELETE, "/v1.0/bots/*/persistentmenu", menu_delete },
};

void
works_route(struct sim_req *rq)
{
	char caps[2][SIM_SEG_MAX];
	int path_known = 0;
	size_t i;

	if (rq->platform == PLAT_WORKS_AUTH) {
		if (strcmp(rq->path, "/oauth2/v2.0/token") != 0)
			oauth_error(rq, 404, "invalid_request", "unknown endpoint");
		else if (rq->method != EVHTTP_REQ_POST)
			oauth_error(rq, 405, "invalid_request", "use POST");
		else
			token(rq, caps);
		return;
	}
	if (!authorized(rq))
		return;
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!util_path_match(rq->path, routes[i].pattern, caps, 2))
			continue;
		path_known = 1;
		if (routes[i].method == (enum evhttp_cmd_type)rq->method) {
			routes[i].fn(rq, caps);
			return;
		}
	}
	if (path_known)
		works_error(rq, 405, "METHOD_NOT_ALLOWED", "Method Not Allowed");
	else
		works_error(rq, 404, "NOT_FOUND", "Not found");
}
