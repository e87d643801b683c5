/* handler_world.c: the world the handler tests run in (test_handlers.c,
 * test_followup.c): a real SQLite store in a temp folder, a config loaded from the
 * test's YAML, a LINE WORKS key made once, events built as the webhooks give them and
 * run through handler_table as dispatch.c runs them, one transaction each, and what
 * they did read back with SQL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sqlite3.h>

#include "handler_world.h"

const unsigned char world_salt[SALT_LEN] = { 0x5a, 0x11, 0x7e, 0x42, 0x09, 0xc3, 0x88,
    0x1f, 0x60, 0xd4, 0x2b, 0x97, 0x3e, 0xa5, 0x70, 0x0c };
static char *key_pem;		/* the LINE WORKS bot's key: made once, checked at load */

int
world_group_setup(void **state)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long n;

	(void)state;
	if (pkey == NULL || bio == NULL ||
	    PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) != 1)
		return -1;
	n = BIO_get_mem_data(bio, &data);
	key_pem = xasprintf("%.*s", (int)n, data);
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return 0;
}

int
world_group_teardown(void **state)
{
	(void)state;
	free(key_pem);
	return 0;
}

int
world_setup(void **state)
{
	struct world *w = xcalloc(1, sizeof(*w));
	char path[512], why[WHY_MAX];

	snprintf(w->dir, sizeof(w->dir), "/tmp/shokai-test-world-XXXXXX");
	if (mkdtemp(w->dir) == NULL || test_write_file(w->dir, "secret", "s3cret\n", 0600) ||
	    test_write_file(w->dir, "key.pem", key_pem, 0600))
		return -1;
	snprintf(path, sizeof(path), "%s/shokai.db", w->dir);
	if ((w->store = store_open(path, 0, 1000, why, sizeof(why))) == NULL ||
	    sqlite3_open(path, &w->db) != SQLITE_OK)
		return -1;
	*state = w;
	return 0;
}

int
world_teardown(void **state)
{
	struct world *w = *state;
	int rc;

	config_unref(w->cfg);
	sqlite3_close(w->db);
	store_close(w->store);
	rc = test_rmdir(w->dir);
	free(w);
	return rc;
}

void
world_load(struct world *w, const char *text)
{
	char path[512];
	struct config_errors errs = { 0 };

	test_write_file(w->dir, "shokai.yaml", text, 0644);
	snprintf(path, sizeof(path), "%s/shokai.yaml", w->dir);
	w->cfg = config_load(path, &errs);
	if (w->cfg == NULL)
		fail_msg("config: %s", errs.n > 0 ? errs.lines[0] : "?");
	config_errors_clear(&errs);
}

/* What a query returns: one line a row, columns joined by '|', NULL shown as '-'. */
const char *
q(struct world *w, const char *fmt, ...)
{
	va_list ap;
	char *sql;
	sqlite3_stmt *st;
	size_t at = 0;

	va_start(ap, fmt);
	sql = xvasprintf(fmt, ap);
	va_end(ap);
	if (sqlite3_prepare_v2(w->db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(w->db));
	w->rows[0] = '\0';
	while (sqlite3_step(st) == SQLITE_ROW)
		for (int c = 0; c < sqlite3_column_count(st); c++) {
			const char *v = (const char *)sqlite3_column_text(st, c);

			at += (size_t)snprintf(w->rows + at, sizeof(w->rows) - at, "%s%s",
			    v ? v : "-", c + 1 < sqlite3_column_count(st) ? "|" : "\n");
			assert_true(at < sizeof(w->rows));
		}
	sqlite3_finalize(st);
	free(sql);
	return w->rows;
}

/* Expected text with numbers in it (times): a buffer of its own, valid until the next
 * call. */
const char *
fmt(const char *f, ...)
{
	static char out[4096];
	va_list ap;

	va_start(ap, f);
	vsnprintf(out, sizeof(out), f, ap);
	va_end(ap);
	return out;
}

/* The newest outbox row's id: rows after it are what came next. */
long long
outbox_mark(struct world *w)
{
	return atoll(q(w, "SELECT coalesce(max(id), 0) FROM outbox"));
}

struct event
line_event(const char *type, const char *user, const char *text, int64_t now)
{
	static int serial;
	struct event ev;
	char buf[48];

	memset(&ev, 0, sizeof(ev));
	ev.platform = PLATFORM_LINE;
	ev.channel = xstrdup("main");
	snprintf(buf, sizeof(buf), "event-%d", ++serial);
	ev.event_key = xstrdup(buf);
	ev.type = xstrdup(type);
	ev.known = 1;
	ev.mode = xstrdup("active");
	ev.source_type = xstrdup("user");
	ev.user_id = xstrdup(user);
	ev.timestamp_ms = now;
	if (strcmp(type, "unfollow") != 0) {
		snprintf(buf, sizeof(buf), "token-%d", serial);
		ev.reply_token = xstrdup(buf);
	}
	if (strcmp(type, "message") == 0) {
		ev.message_type = xstrdup("text");
		ev.text = xstrdup(text);
	} else if (strcmp(type, "postback") == 0)
		ev.postback_data = xstrdup(text);
	return ev;
}

/* A LINE WORKS member's message to the bot "sales", with a button's postback or not. */
struct event
works_event(const char *user, const char *text, const char *postback)
{
	struct event ev;

	memset(&ev, 0, sizeof(ev));
	ev.platform = PLATFORM_WORKS;
	ev.channel = xstrdup("sales");
	ev.event_key = xstrdup(text);
	ev.type = xstrdup("message");
	ev.known = 1;
	ev.source_type = xstrdup("user");
	ev.user_id = xstrdup(user);
	ev.message_type = xstrdup("text");
	ev.text = xstrdup(text);
	ev.postback_data = postback ? xstrdup(postback) : NULL;
	return ev;
}

/* dispatch.c's run_handlers for one event, in one transaction: the handler that decided
 * must be want, and it must have answered "done". The event is cleared. */
void
run(struct world *w, struct event *ev, int64_t now, const char *want)
{
	const char *decided = "-", *state = "skipped", *error = NULL;

	assert_int_equal(store_begin(w->store), 0);
	for (const struct handler *const *h = handler_table; *h != NULL; h++) {
		struct handler_ctx hc = { .cfg = w->cfg, .store = w->store, .salt = world_salt,
		    .now_ms = now };
		enum handler_result res = (*h)->handle(&hc, ev);

		if (res == HANDLER_NOT_MINE)
			continue;
		decided = (*h)->name;
		state = res == HANDLER_DONE ? "done" : "failed";
		error = hc.error;
		break;
	}
	assert_int_equal(store_commit(w->store), 0);
	if (strcmp(decided, want) != 0 || strcmp(state, "done") != 0)
		fail_msg("event %s '%s': %s %s (%s), want %s done", ev->type,
		    ev->text ? ev->text : "", decided, state, error ? error : "-", want);
	event_clear(ev);
}

void
line_says(struct world *w, const char *user, const char *text, int64_t now, const char *want)
{
	struct event ev = line_event("message", user, text, now);

	run(w, &ev, now, want);
}

void
claim(struct world *w, const char *user, const char *code, int64_t now)
{
	char *text = xasprintf("紹介コード %s で問い合わせます", code);

	line_says(w, user, text, now, "referral_claim");
	free(text);
}

void
rep_says(struct world *w, const char *user, const char *text, const char *postback,
    int64_t now)
{
	struct event ev = works_event(user, text, postback);

	run(w, &ev, now, "referral_rep");
}

void
follow(struct world *w, const char *type, const char *user, int64_t now)
{
	struct event ev = line_event(type, user, NULL, now);

	run(w, &ev, now, "follow");
}

/* The customer taps "refer": their code for the campaign, issued at now. */
void
issue_code(struct world *w, const char *user, int64_t now, char code[REFCODE_LEN + 1])
{
	struct event ev = line_event("postback", user, "action=refer", now);
	const char *got;

	run(w, &ev, now, "postback");
	got = q(w, "SELECT code FROM referral_codes WHERE user_id = '%s'", user);
	assert_int_equal(strlen(got), REFCODE_LEN + 1);
	snprintf(code, REFCODE_LEN + 1, "%s", got);
}

void
profile(struct world *w, const char *user, const char *name)
{
	struct profile p = { .display_name = xstrdup(name), .found = 1, .fetched_at = T };

	assert_int_equal(store_profile_put(w->store, "main", user, &p), 0);
	profile_clear(&p);
}

/* ALICE, named and tied to R001, gets her code an hour before T. */
void
referrer(struct world *w, char code[REFCODE_LEN + 1])
{
	profile(w, ALICE, "山田 花子");
	profile(w, FRIEND, "鈴木 一郎");
	assert_int_equal(store_customer_assign(w->store, "main", ALICE, "R001", "import", 1),
	    0);
	issue_code(w, ALICE, T - HOUR, code);
}
