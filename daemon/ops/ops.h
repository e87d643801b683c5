/* ops.h: what an operator does that both shokaictl and the console do (daemon/ops/):
 * one implementation, so a file uploaded in the console is checked and written exactly
 * as one imported from the shell. */
#ifndef SHOKAI_OPS_H
#define SHOKAI_OPS_H

#include <stdio.h>

#include "../base/base.h"
#include "../config/config.h"
#include "../store/store.h"

/* import.c */
#define IMPORT_SHOWN		20	/* bad lines listed; the rest are counted */
/* The importer waits its turn as long as it takes: it is the daemon that must not wait.
 * With the config's busy_timeout (200 ms in tests) a busy daemon starved it midway. */
#define IMPORT_BUSY_MS		60000
/* The records the check pass accepted, each field NUL-terminated, one after another in
 * one buffer (2 million coupon codes are about 30 MB), so the write pass writes exactly
 * what was checked even if the file changes under us. */
struct import {
	const char	*pool;		/* coupons; NULL for customers or tags */
	int		 tags;		/* 1: tags (user_id,tag[,channel]) */
	char		*data;
	size_t		 len, cap;
	size_t		 records;
	size_t		 bad;		/* lines refused */
	struct {
		size_t	 line;
		char	 why[WHY_MAX];
	}		 errors[IMPORT_SHOWN];	/* the first bad lines */
};

struct import_result {
	size_t	 written;		/* records committed */
	size_t	 added, known;		/* new rows; rows that were there already */
	size_t	 chunks;		/* transactions */
	int64_t	 longest_us;		/* the longest, from BEGIN to the end of COMMIT */
	char	 why[WHY_MAX];		/* the database's error, when one stopped it */
};

/* The check pass: every line of fp, kept or refused (the first IMPORT_SHOWN refusals
 * in errors). 0, or -1 on a read error. im->pool set: coupon codes for that pool;
 * im->tags set: tags for announcements' tag segment (user_id,tag[,channel]); neither:
 * customers (user_id,rep_code[,channel]). */
int import_check(struct import *, const struct config *, FILE *fp);
/* The write pass: the checked records in short transactions (the daemon's webhooks
 * never wait long for the write lock). 0, or -1 with out->why. */
int import_write(struct store *, const struct import *, struct import_result *out);
int import_pool_name_ok(const char *);
void import_free(struct import *);

#endif
