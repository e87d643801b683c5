/* handler_world.h: the handler tests' world (handler_world.c): a store, a config from
 * YAML text and a fixed clock; events run through handler_table as dispatch.c runs
 * them; what happened read back with SQL. */
#ifndef SHOKAI_HANDLER_WORLD_H
#define SHOKAI_HANDLER_WORLD_H

#include <sqlite3.h>

#include "../../handlers/handlers.h"
#include "testutil.h"

/* 2027-01-15 12:00 in Tokyo (03:00 UTC), a Friday. */
#define T	1799982000000LL
#define MIN	60000LL
#define HOUR	(60 * MIN)
#define DAY	(24 * HOUR)

#define ALICE	"Ualice"	/* the referrer: a customer of rep R001 */
#define FRIEND	"Ufriend"
#define REP	"takahashi@example.co.jp"	/* R001 on LINE WORKS */

extern const unsigned char world_salt[SALT_LEN];

struct world {
	char		 dir[256];
	struct store	*store;
	sqlite3		*db;		/* the test's own connection, to read what was done */
	struct config	*cfg;
	char		 rows[16384];	/* q()'s answer */
};

/* cmocka's group setup (the LINE WORKS key the configs name as key.pem) and each
 * test's setup (a temp folder with the key and a secret, the store) and teardown. */
int world_group_setup(void **);
int world_group_teardown(void **);
int world_setup(void **);
int world_teardown(void **);
/* Loads the config text (its shokai.yaml) into w->cfg; fails the test on an error. */
void world_load(struct world *, const char *text);
/* What a query returns: one line a row, columns joined by '|', NULL shown as '-'. */
const char *q(struct world *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Expected text with numbers in it (times): a buffer of its own, valid until the next
 * call. */
const char *fmt(const char *, ...) __attribute__((format(printf, 1, 2)));
/* The newest outbox row's id: rows after it are what came next. */
long long outbox_mark(struct world *);
struct event line_event(const char *type, const char *user, const char *text, int64_t now);
/* A LINE WORKS member's message to the bot "sales", with a button's postback or not. */
struct event works_event(const char *user, const char *text, const char *postback);
/* dispatch.c's run_handlers for one event, in one transaction: the handler that
 * decided must be want, and it must have answered "done". The event is cleared. */
void run(struct world *, struct event *, int64_t now, const char *want);
void line_says(struct world *, const char *user, const char *text, int64_t now,
    const char *want);
void claim(struct world *, const char *user, const char *code, int64_t now);
void rep_says(struct world *, const char *user, const char *text, const char *postback,
    int64_t now);
void follow(struct world *, const char *type, const char *user, int64_t now);
/* The customer taps "refer": their code for the campaign, issued at now. */
void issue_code(struct world *, const char *user, int64_t now,
    char code[REFCODE_LEN + 1]);
void profile(struct world *, const char *user, const char *name);
/* ALICE, named and tied to R001, gets her code an hour before T. */
void referrer(struct world *, char code[REFCODE_LEN + 1]);

#endif
