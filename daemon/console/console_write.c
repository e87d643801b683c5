/* console_write.c: how the console writes: every write runs on the storage thread's
 * connection (console_internal.h says why), lent the request while this thread waits. */
#include <stdio.h>

#include "../shokaid.h"
#include "console_internal.h"

struct write_call {
	struct console_req	*r;
	console_write_fn	 fn;
	void			*arg;
};

static int
on_storage_thread(struct store *s, const struct config *cf, void *arg)
{
	struct write_call *w = arg;
	int rc;

	(void)cf;	/* the request's own snapshot (r->cf) decides, as for its reads */
	w->r->ws = s;
	rc = w->fn(w->r, w->arg);
	w->r->ws = NULL;
	return rc;
}

int
console_write(struct console_req *r, console_write_fn fn, void *arg)
{
	struct write_call w = { .r = r, .fn = fn, .arg = arg };

	return storage_call(r->c->d->storage, on_storage_thread, &w);
}

struct run_job {
	const char		*sql;
	const struct store_arg	*args;
	size_t			 nargs;
};

static int
run_one(struct console_req *r, void *arg)
{
	struct run_job *j = arg;

	int64_t n = store_run(r->ws, j->sql, j->args, j->nargs);

	return n < 0 ? -1 : n > 1 ? 1 : (int)n;
}

int
console_write_run(struct console_req *r, const char *sql, const struct store_arg *args,
    size_t nargs)
{
	struct run_job j = { .sql = sql, .args = args, .nargs = nargs };

	return console_write(r, run_one, &j);
}

struct tx_call {
	console_write_fn	 fn;
	void			*arg;
	char			*why;
	size_t			 whylen;
};

static int
in_transaction(struct console_req *r, void *arg)
{
	struct tx_call *t = arg;
	int rc;

	if (store_begin(r->ws) == -1) {
		snprintf(t->why, t->whylen, "%s", store_errmsg(r->ws));
		return -1;
	}
	if ((rc = t->fn(r, t->arg)) == 1 && store_commit(r->ws) == 0)
		return 1;
	if (rc == 1)
		rc = -1;
	if (rc == -1 && t->why[0] == '\0')
		snprintf(t->why, t->whylen, "%s", store_errmsg(r->ws));
	store_rollback(r->ws);
	return rc;
}

int
console_write_tx(struct console_req *r, console_write_fn fn, void *arg, char *why,
    size_t whylen)
{
	struct tx_call t = { .fn = fn, .arg = arg, .why = why, .whylen = whylen };

	why[0] = '\0';
	return console_write(r, in_transaction, &t);
}
