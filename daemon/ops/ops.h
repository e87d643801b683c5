/* ops.h: what an operator does that both shokaictl and the console do (daemon/ops/):
 * one implementation, so a file uploaded in the console is checked and written exactly
 * as one imported from the shell. */
#ifndef SHOKAI_OPS_H
#define SHOKAI_OPS_H

#include <stdio.h>

#include "../base/base.h"
#include "../config/config.h"
#include "../store/store.h"
#include "../outbound/outbound.h"

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

/* announce.c: announcements, for shokaictl announce and the console. The writes
 * (schedule, test, cancel) run inside the caller's transaction. */
struct announce_plan {
	const struct config_announcement *a;
	struct segment	 sg;
	char		 segment[SEG_ARG_MAX + 16];	/* its written form */
	int64_t		 recipients, blocked, chunks;	/* friends now, blocked, calls */
};
/* Announcement id to segment (as written), checked against the config and counted.
 * 0, or -1 with why (an unknown announcement or segment, a database error). */
int announce_plan(const struct config *, struct store *, const char *id,
    const char *segment, struct announce_plan *, char *why, size_t whylen);
/* Writes the send, scheduled at at (ms). With q (LINE's quota, read by the caller; may
 * be NULL) too small for the recipients it is written refused instead: 1 with why
 * giving the numbers. 0 scheduled, -1 with why on a database error. */
int announce_schedule(struct store *, const struct announce_plan *, int64_t at,
    const char *created_by, const struct quota *q, int64_t *id, char *why, size_t whylen);
/* Queues a push of the announcement's messages to one LINE user. 0, or -1 with why. */
int announce_test(const struct config *, struct store *, const char *id, const char *to,
    char *why, size_t whylen);
/* A scheduled send canceled (by: who, for the reason). 0; 1 with why when it was not
 * scheduled (started, refused, canceled, or no such send); -1 with why. */
int announce_cancel(struct store *, int64_t id, const char *by, char *why, size_t whylen);
/* "YYYY-MM-DD HH:MM" or "YYYY-MM-DDTHH:MM" in the process's time zone, not before now
 * (a minute's grace), into ms. 0, or -1 with why. */
int announce_parse_time(const char *text, int64_t now, int64_t *out, char *why,
    size_t whylen);

#endif
