/* store_internal.h: what the store's files share (store.c: the schema, inbox, outbox
 * and chat state; store_referral.c: the referral tables). Nothing else includes it. */
#ifndef STORE_INTERNAL_H
#define STORE_INTERNAL_H

#include <sqlite3.h>

#include "store.h"

/* store.c's prepared statements, made at open. */
enum stmt_id {
	ST_BEGIN, ST_COMMIT, ST_ROLLBACK,
	ST_INBOX_PUT, ST_QUARANTINE_PUT,
	ST_INBOX_PENDING, ST_INBOX_MARK, ST_INBOX_BACKLOG,
	ST_OUTBOX_PUT, ST_OUTBOX_DUE, ST_OUTBOX_RESULT, ST_OUTBOX_BACKLOG,
	ST_PROFILE_GET, ST_PROFILE_PUT,
	ST_USER_FOLLOW, ST_USER_UNFOLLOW, ST_USER_SEEN,
	ST_COOLDOWN_GET, ST_COOLDOWN_PUT,
	ST_RICHMENU_GET, ST_RICHMENU_PUT, ST_RICHMENU_DELETE,
	ST_COUNT
};

/* store_referral.c's, prepared at first use. */
#define STORE_REF_STMTS	32

struct store {
	sqlite3		*db;
	sqlite3_stmt	*st[ST_COUNT];
	sqlite3_stmt	*ref[STORE_REF_STMTS];
	int		 synchronous_full;	/* what the config asked for */
	int		 unsynced;		/* this transaction commits without fsync */
};

/* Runs a statement that returns no rows and resets it; -1 (logged) on failure. */
int store_step(struct store *, sqlite3_stmt *);
void store_bind_text(sqlite3_stmt *, int i, const char *v);
/* A text column as a new string, or NULL. */
char *store_column_str(sqlite3_stmt *, int i);

#endif
