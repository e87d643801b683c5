/* console_auth.c: who is asking. A person logs in with a password (scrypt, checked on
 * this thread: a login never delays a webhook) and gets a session cookie (HttpOnly,
 * SameSite=Strict, Secure behind TLS) whose SHA-256 is the session's key in the
 * database, and a CSRF token every state-changing request sends back. Sessions end
 * after admin.session_idle without a request, or admin.session_max after login. A BI
 * tool sends an API token instead (shokaictl token add). Failed logins are audit rows;
 * past admin.login_failures_per_account for a login, or _per_client for an address,
 * within admin.login_window, logins are refused before any password is checked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>

#include "../../handlers/handler.h"
#include "console_internal.h"

#define COOKIE		"shokai_session"
#define TOUCH_EVERY_MS	60000	/* a session's last_seen_at is written at most this often */

void
console_scope_clear(struct console_scope *s)
{
	for (size_t i = 0; i < s->n_branches; i++)
		free(s->branches[i]);
	free(s->branches);
	memset(s, 0, sizeof(*s));
}

static void
scope_of(const struct console_account *a, struct console_scope *s)
{
	char *list = xstrdup(a->branches ? a->branches : ""), *save = NULL, *b;

	memset(s, 0, sizeof(*s));
	s->role = strcmp(a->role, "admin") == 0 ? ROLE_ADMIN :
	    strcmp(a->role, "manager") == 0 ? ROLE_MANAGER : ROLE_VIEWER;
	for (b = strtok_r(list, ",", &save); b != NULL; b = strtok_r(NULL, ",", &save)) {
		s->branches = xrealloc(s->branches, (s->n_branches + 1) * sizeof(char *));
		s->branches[s->n_branches++] = xstrdup(b);
	}
	free(list);
}

static void
token_hash(const char *token, char out[65])
{
	sha256_hex("", 0, token, strlen(token), out);
}

/* The session cookie's value, copied into out; 0 when there is none. */
static int
session_cookie(struct console_req *r, char *out, size_t len)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Cookie");
	const char *p = h;

	while (p != NULL && *p != '\0') {
		size_t n;

		p += strspn(p, " ;");
		n = strcspn(p, ";");
		if (n > strlen(COOKIE) + 1 && strncmp(p, COOKIE "=", strlen(COOKIE) + 1) == 0) {
			size_t vlen = n - strlen(COOKIE) - 1;

			if (vlen >= len)
				return 0;
			memcpy(out, p + strlen(COOKIE) + 1, vlen);
			out[vlen] = '\0';
			return 1;
		}
		p += n;
	}
	return 0;
}

static void
set_cookie(struct console_req *r, const char *value, int64_t max_age_s)
{
	char cookie[256];
	/* Served over admin.tls, or behind a TLS proxy the operator named. */
	int secure = r->cf->admin_secure_cookie || r->c->tls != NULL;

	snprintf(cookie, sizeof(cookie), COOKIE "=%s; Path=/admin; HttpOnly; SameSite=Strict; "
	    "Max-Age=%lld%s", value, (long long)max_age_s, secure ? "; Secure" : "");
	evhttp_add_header(evhttp_request_get_output_headers(r->req), "Set-Cookie", cookie);
}

static void
unauthorized(struct console_req *r, const char *error, const char *detail)
{
	console_answer_error(r, 401, error, detail);
}

/* A session found by its cookie: still within its idle and absolute limits? */
static int
identify_session(struct console_req *r, const char *cookie)
{
	char hash[65];
	int64_t created, seen;
	int rc;

	token_hash(cookie, hash);
	rc = store_session_get(r->c->store, hash, &r->acct, &r->csrf, &created, &seen);
	if (rc == -1) {
		console_answer_error(r, 503, "storage", "the session could not be read");
		return 0;
	}
	if (rc == 0) {
		unauthorized(r, "no_session", "log in first");
		return 0;
	}
	if (r->now_ms - seen > r->cf->admin_session_idle_ms ||
	    r->now_ms - created > r->cf->admin_session_max_ms) {
		struct store_arg arg = SARG_TEXT(hash);

		console_write_run(r, "DELETE FROM console_sessions WHERE token_hash = ?1", &arg,
		    1);
		set_cookie(r, "", 0);
		unauthorized(r, "session_expired", "the session ended; log in again");
		return 0;
	}
	if (r->now_ms - seen > TOUCH_EVERY_MS) {
		struct store_arg args[] = { SARG_TEXT(hash), SARG_INT(r->now_ms) };

		console_write_run(r, "UPDATE console_sessions SET last_seen_at = ?2 "
		    "WHERE token_hash = ?1", args, 2);
	}
	return 1;
}

static int
identify_token(struct console_req *r, const char *token)
{
	char hash[65];
	int rc;

	token_hash(token, hash);
	if ((rc = store_token_get(r->c->store, hash, &r->acct)) != 1) {
		if (rc == -1)
			console_answer_error(r, 503, "storage", "the token could not be read");
		else
			unauthorized(r, "bad_token", "no such token, or it was revoked");
		return 0;
	}
	if (r->now_ms - r->acct.seen_at > TOUCH_EVERY_MS) {
		struct store_arg args[] = { SARG_TEXT(hash), SARG_INT(r->now_ms) };

		console_write_run(r, "UPDATE console_tokens SET last_used_at = ?2 "
		    "WHERE token_hash = ?1", args, 2);
	}
	r->via_token = 1;
	return 1;
}

int
console_identify(struct console_req *r)
{
	const char *auth = evhttp_find_header(evhttp_request_get_input_headers(r->req),
	    "Authorization");
	char cookie[128];
	int rc;

	if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0)
		rc = identify_token(r, auth + 7);
	else if (session_cookie(r, cookie, sizeof(cookie)))
		rc = identify_session(r, cookie);
	else {
		unauthorized(r, "no_session", "log in first, or send an API token");
		rc = 0;
	}
	if (rc == 1)
		scope_of(&r->acct, &r->scope);
	return rc;
}

int
console_csrf_ok(struct console_req *r)
{
	const char *sent = evhttp_find_header(evhttp_request_get_input_headers(r->req),
	    "X-CSRF-Token");

	if (r->via_token)
		return 1;
	if (sent == NULL || r->csrf == NULL || !secret_equal(r->csrf, sent)) {
		console_answer_error(r, 403, "csrf", "the request lacks this session's "
		    "X-CSRF-Token");
		return 0;
	}
	return 1;
}

struct audit_job {
	const char	*login, *action, *target, *detail;
};

static int
audit_tx(struct console_req *r, void *arg)
{
	struct audit_job *j = arg;

	return store_audit(r->ws, r->now_ms, j->login, j->action, j->target, j->detail,
	    r->client);
}

/* Inside a console_write, in its transaction; else a write of its own. */
int
console_audit(struct console_req *r, const char *action, const char *target,
    const char *detail)
{
	struct audit_job j = { r->acct.login ? r->acct.login : "-", action, target, detail };

	return r->ws != NULL ? audit_tx(r, &j) : console_write(r, audit_tx, &j);
}

static json_t *
account_json(const struct console_account *a, const struct console_scope *s)
{
	json_t *branches = json_array();

	for (size_t i = 0; i < s->n_branches; i++)
		json_array_append_new(branches, json_string(s->branches[i]));
	return json_pack("{s:s, s:s, s:s, s:o, s:b}", "login", a->login, "name", a->name,
	    "role", a->role, "branches", branches, "disabled", a->disabled);
}

static void
answer_session(struct console_req *r)
{
	console_answer_json(r, 200, json_pack("{s:o, s:s, s:I}", "user",
	    account_json(&r->acct, &r->scope), "csrf", r->csrf ? r->csrf : "",
	    "idle_timeout_s", (json_int_t)(r->cf->admin_session_idle_ms / 1000)));
}

/* Refused before any password is checked: too many failures lately. */
static int
rate_limited(struct console_req *r, const char *login)
{
	int64_t by_login = 0, by_client = 0;
	const struct config *cf = r->cf;

	if (store_failed_logins(r->c->store, login, r->client, r->now_ms -
	    cf->admin_login_window_ms, &by_login, &by_client) == -1) {
		console_answer_error(r, 503, "storage", "the login could not be checked");
		return 1;
	}
	if (by_login >= cf->admin_login_failures || by_client >= cf->admin_client_failures) {
		json_t *j = json_pack("{s:s, s:s, s:I}", "error", "rate_limited", "detail",
		    by_login >= cf->admin_login_failures ? "too many failed logins for this "
		    "account; wait" : "too many failed logins from this address; wait",
		    "retry_after", (json_int_t)(cf->admin_login_window_ms / 1000));
		char after[24];

		snprintf(after, sizeof(after), "%lld", (long long)(cf->admin_login_window_ms /
		    1000));
		evhttp_add_header(evhttp_request_get_output_headers(r->req), "Retry-After", after);
		log_notice("msg=\"console login refused\" login=\"%s\" client=%s failures=%lld/%lld",
		    login, r->client, (long long)by_login, (long long)by_client);
		console_answer_json(r, 429, j);
		return 1;
	}
	return 0;
}

/* A well-formed hash of no password: an unknown login costs the same scrypt as a
 * known one, so timing does not tell which logins exist. */
static const char decoy_hash[] = "$scrypt$ln=15,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

struct session_job {
	const char	*hash, *csrf;
};

/* A new session, the account's last login, its sessions idle for a month gone, and
 * the audit row: one transaction. */
static int
session_tx(struct console_req *r, void *arg)
{
	struct session_job *j = arg;
	struct store_arg args[] = { SARG_TEXT(j->hash), SARG_INT(r->acct.id),
	    SARG_TEXT(j->csrf), SARG_TEXT(r->client), SARG_INT(r->now_ms) };

	if (store_begin(r->ws) == -1 || store_run(r->ws, "INSERT INTO "
	    "console_sessions(token_hash, user_id, csrf, client, created_at, "
	    "last_seen_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)", args, 5) != 1 ||
	    store_run(r->ws, "UPDATE console_users SET last_login_at = ?5 WHERE "
	    "id = ?2", args, 5) != 1 ||
	    store_run(r->ws, "DELETE FROM console_sessions WHERE user_id = ?2 AND "
	    "last_seen_at < ?5 - 86400000 * 30", args, 5) < 0 ||
	    console_audit(r, "login", r->acct.login, NULL) == -1 ||
	    store_commit(r->ws) == -1) {
		store_rollback(r->ws);
		return -1;
	}
	return 0;
}

static void
login(struct console_req *r)
{
	const char *login = json_string_value(json_object_get(r->body, "login"));
	const char *password = json_string_value(json_object_get(r->body, "password"));
	char token[SECRET_TOKEN_LEN + 1], csrf[SECRET_TOKEN_LEN + 1], hash[65];
	int found, ok;

	if (login == NULL || password == NULL || strlen(login) > 64 || strlen(password) > 256) {
		console_answer_error(r, 400, "bad_request", "send {\"login\", \"password\"} as "
		    "JSON");
		return;
	}
	if (rate_limited(r, login))
		return;
	found = store_account_get(r->c->store, login, &r->acct);
	if (found == -1) {
		console_answer_error(r, 503, "storage", "the account could not be read");
		return;
	}
	ok = secret_password_verify(password, found == 1 ? r->acct.password : decoy_hash);
	if (!ok || found != 1 || r->acct.disabled) {
		char *detail = store_audit_detail(json_pack("{s:s}", "why", found != 1 ?
		    "unknown_login" : r->acct.disabled ? "disabled" : "wrong_password"));
		struct audit_job j = { login, "login_failed", login, detail };

		console_write(r, audit_tx, &j);
		free(detail);
		log_notice("msg=\"console login failed\" login=\"%s\" client=%s", login,
		    r->client);
		unauthorized(r, "bad_login", "wrong login or password");
		return;
	}
	if (secret_token(token) == -1 || secret_token(csrf) == -1) {
		console_answer_error(r, 500, "internal", "no random bytes");
		return;
	}
	token_hash(token, hash);
	{
		struct session_job j = { hash, csrf };

		if (console_write(r, session_tx, &j) == -1) {
			console_answer_error(r, 503, "storage", "the session could not be stored");
			return;
		}
	}
	log_notice("msg=\"console login\" login=\"%s\" client=%s", r->acct.login, r->client);
	scope_of(&r->acct, &r->scope);
	r->csrf = xstrdup(csrf);
	set_cookie(r, token, r->cf->admin_session_max_ms / 1000);
	answer_session(r);
}

static void
logout(struct console_req *r)
{
	char cookie[128], hash[65];

	if (r->via_token) {
		console_answer_error(r, 400, "no_session", "an API token has no session");
		return;
	}
	if (!session_cookie(r, cookie, sizeof(cookie)))
		return;
	token_hash(cookie, hash);
	{
		struct store_arg arg = SARG_TEXT(hash);

		console_write_run(r, "DELETE FROM console_sessions WHERE token_hash = ?1", &arg,
		    1);
	}
	console_audit(r, "logout", r->acct.login, NULL);
	set_cookie(r, "", 0);
	console_security_headers(r->req, 1);
	evhttp_send_reply(r->req, 204, "No Content", NULL);
	r->answered = 1;
}

/* POST: log in; GET: who am I (and the CSRF token, after a reload of the page);
 * DELETE: log out. */
void
console_api_session(struct console_req *r)
{
	int method = evhttp_request_get_command(r->req);

	if (method == EVHTTP_REQ_POST)
		login(r);
	else if (method == EVHTTP_REQ_GET) {
		if (console_identify(r) == 1)
			answer_session(r);
	} else if (method == EVHTTP_REQ_DELETE) {
		if (console_identify(r) == 1 && console_csrf_ok(r))
			logout(r);
	} else
		console_answer_error(r, 405, "method", "GET, POST or DELETE");
}

void
console_operator_ctx(struct console_req *r, struct console_operator *who,
    struct handler_ctx *hc)
{
	memcpy(who->salt, r->c->salt, sizeof(who->salt));
	snprintf(who->actor, sizeof(who->actor), "operator:%s", r->acct.login);
	memset(hc, 0, sizeof(*hc));
	hc->cfg = r->cf;
	hc->store = r->ws;	/* inside a console_write */
	hc->salt = who->salt;
	hc->now_ms = r->now_ms;
	hc->operator_name = who->actor;
}
