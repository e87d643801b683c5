/* console_internal.h: what the console's files share. Everything here belongs to the
 * console thread: nothing is touched from another thread except through its mailbox. */
#ifndef SHOKAI_CONSOLE_INTERNAL_H
#define SHOKAI_CONSOLE_INTERNAL_H

#include <jansson.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>

#include "../base/base.h"
#include "../base/mailbox.h"
#include "../config/config.h"
#include "../store/store.h"
#include "console.h"
#include "console_wording.h"

struct evhttp;
struct evhttp_request;
struct event_base;

struct daemon;

struct console {
	struct daemon		*d;		/* read only here: its atomic counters, the
						   storage's health and the checkpointer's
						   figures (console_health.c) */
	struct event_base	*base;
	struct mailbox		*mail;
	struct evhttp		*http;
	struct store		*store;		/* read-write, as shokaictl's */
	struct config		*cf;		/* the newest snapshot the loop sent */
	struct ssl_ctx_st	*tls;		/* admin.tls: new connections' context, a
						   reference of this thread's (base/tls.h);
						   NULL: plain HTTP */
	unsigned char		 salt[SALT_LEN];
	int64_t			 loaded_at_ms;
	json_t			*last_reload;	/* {at, ok, errors[]}, or NULL */
	json_t			*csv_headers;	/* console/web/text/csv.json */
	json_t			*text;		/* console/web/text/ja.json */
	int			 thread_started;
	pthread_t		 thread;
};

/* One API request while it is handled. */
struct console_req {
	struct console		*c;
	struct evhttp_request	*req;
	const struct config	*cf;
	struct console_account	 acct;		/* who asks (a token: its name and role) */
	struct console_scope	 scope;
	int			 via_token;
	char			*csrf;		/* the session's; NULL with a token */
	char			 client[64];	/* the peer's address */
	const char		*args[3];	/* the route's path parts ({id}, ...) */
	char			*argbuf;	/* owns args' text */
	struct evkeyvalq	 query;
	json_t			*body;		/* a JSON request body, or NULL */
	int64_t			 now_ms;
	int			 answered;
	struct store		*ws;		/* the write connection while a
						   console_write runs, else NULL */
};

/* console_write.c: the console's writes run on the storage thread's write connection
 * (storage_call), between its transactions: the console's own connection only reads.
 * The console thread runs at SCHED_IDLE; holding SQLite's one write lock there, it
 * would keep webhooks waiting for as long as a busy core kept it off, and waiting for
 * the lock it lost every race with a storage thread that commits continuously (a login
 * under load answered 503). fn runs on the storage thread with r->ws set: it may use
 * r's fields and r->ws, and must not answer (answers are this thread's). fn's result. */
typedef int (*console_write_fn)(struct console_req *, void *arg);
int console_write(struct console_req *, console_write_fn, void *arg);
/* fn inside one transaction: committed when fn returns 1, else rolled back. fn's
 * result (-1 also when the storage failed; why then says how, unless fn said). */
int console_write_tx(struct console_req *, console_write_fn, void *arg, char *why,
    size_t whylen);
/* One statement: -1, else 1 when it changed a row and 0 when none. */
int console_write_run(struct console_req *, const char *sql, const struct store_arg *args,
    size_t nargs);

/* console.c: the routes. */
typedef void (*console_api_fn)(struct console_req *);
/* Who may call a route: anyone logged in, those who act (admins; managers within
 * their branches), or admins only. */
enum console_need { NEED_READ, NEED_ACT, NEED_ADMIN };

/* console_health.c: /healthz, /readyz, /metrics; 0 when path is none of them. */
int console_health_route(struct console *, struct evhttp_request *, const char *path);

/* console_answer.c: the one writer of the API's answers. */
void console_answer_json(struct console_req *, int code, json_t *body_stolen);
/* {"error": error, "detail": detail}: error is a stable code (the console's text file
 * turns it into Japanese), detail English for developers. */
void console_answer_error(struct console_req *, int code, const char *error,
    const char *detail);
/* A list as JSON ({items[, total]}) or, when the query says format=csv, as CSV with a
 * BOM: one column per cols entry, a path into each item ("referrer/name"), headed by
 * the console's text file (csv.json) or the path. */
struct console_csv_col {
	const char	*header;	/* csv.json's key */
	const char	*path;
};
void console_answer_list(struct console_req *, json_t *items_stolen, int64_t total,
    const struct console_csv_col *cols, size_t ncols, const char *filename);
void console_security_headers(struct evhttp_request *, int api);


/* console_auth.c: sessions, tokens, logins. */
/* Who asks: 1 known (r->acct and r->scope set), 0 answered already (401). */
int console_identify(struct console_req *);
/* 1 when a state-changing request carries the session's CSRF token (tokens need
 * none), else answered 403. */
int console_csrf_ok(struct console_req *);
void console_api_session(struct console_req *);
void console_scope_clear(struct console_scope *);
/* The audit row of an action taken by r's caller (detail: see store_audit). */
int console_audit(struct console_req *, const char *action, const char *target,
    const char *detail);
/* A handler context for an action of r's caller (the snapshot, the store, now, and
 * "operator:LOGIN" as the actor), pointing into who, which must outlive it. */
struct console_operator {
	unsigned char	 salt[SALT_LEN];
	char		 actor[96];
};
struct handler_ctx;
void console_operator_ctx(struct console_req *, struct console_operator *who,
    struct handler_ctx *);

/* console_params.c: query and body parameters. */
const char *console_query(struct console_req *, const char *name);
/* The period and filters of a list (defaults: this month, limit 100): 0, or answered
 * 400 / 403 (a branch outside the caller's scope) and -1. */
int console_filter_parse(struct console_req *, struct console_filter *);
/* The path's {id}: > 0, or answered 400 and -1. */
int64_t console_arg_id(struct console_req *, int i);

#endif
