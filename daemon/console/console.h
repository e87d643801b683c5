/* console.h: the operator console: a thread of its own with its own event base, HTTP
 * listener (admin.listen, never the webhook port) and database connection, serving the
 * pages (console/web/, built into the binary), the JSON API under /admin/api/v1/
 * (console/openapi.yaml), and /healthz, /readyz and /metrics (console_health.c). Reads never wait for the storage thread's commits (WAL); the
 * few writes (a login, an operator's action) are short transactions of their own, as
 * shokaictl's are. The loop and the console share nothing mutable: the loop hands each
 * new config snapshot over by letter.
 *
 * This header is what main.c and the API's files see; console_internal.h is the rest. */
#ifndef SHOKAI_CONSOLE_H
#define SHOKAI_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct console;
struct daemon;
struct config_errors;

/* Starts the thread and binds admin.listen (cf->admin_host NULL: returns NULL with why
 * empty: no console). NULL with why set when the listener or the database could not be
 * opened. cf is referenced, not copied. */
struct console *console_start(struct daemon *d, struct config *cf, const unsigned char *salt,
    char *why, size_t whylen);
/* The loop, after a reload: the new snapshot (referenced) or, when the reload failed,
 * its errors, for the operations page. */
void console_config_loaded(struct console *, struct config *cf, int64_t at_ms);
void console_config_failed(struct console *, const struct config_errors *, int64_t at_ms);
/* Closes the listener and joins the thread; requests in flight are answered first. */
void console_stop(struct console *);

/* Who asks, and what they may see. A manager sees the branches named on the account
 * only; the API leaves everything else out of lists and answers 403 when asked by id. */
enum console_role { ROLE_ADMIN, ROLE_MANAGER, ROLE_VIEWER };
struct console_scope {
	enum console_role	 role;
	char			**branches;	/* ROLE_MANAGER: branch codes */
	size_t			 n_branches;
};
/* 1 when the scope covers branch (NULL: a referral with no branch, admins and viewers
 * only). */
int console_scope_has(const struct console_scope *, const char *branch);

/* A period and the filters a page chose. Dates are YYYY-MM-DD, local (the config's time
 * zone, which is the process's TZ), both ends inclusive. */
struct console_filter {
	char		 from[11], to[11];
	const char	*campaign;	/* NULL: every campaign */
	const char	*branch;	/* NULL: every branch in scope */
	const char	*rep;
	const char	*state;
	const char	*q;		/* a name, display name or code, or part of one */
	int		 partner;	/* referrer: 0 any, 1 a partner, 2 a customer */
	int		 limit, offset;
};

#endif
