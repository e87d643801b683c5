/* import.c: coupon codes and customers' reps from a file, for shokaictl import and the
 * console's upload: the same checks and the same writes from both. An operator's file
 * is checked whole before anything is written: every line
 * well-formed UTF-8 without control characters and at most IMPORT_LINE_MAX bytes, every
 * field to its pattern. A bad line refuses the whole file (the first IMPORT_SHOWN bad
 * lines are listed with what is wrong). Then what was checked is written in short
 * transactions, so the daemon's webhooks never wait long for the write lock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "ops.h"

#define IMPORT_LINE_MAX		1024	/* bytes a line, without its line end */
#define IMPORT_CODE_MAX		256	/* bytes a coupon code */
#define IMPORT_FIELDS_MAX	16
/* A write transaction holds the lock about this long, its commit's fsync included: it
 * stops writing early by as long as the last commit took (on a busy disk an fsync took
 * 50 ms), but writes at least IMPORT_WORK_MIN_MS so that the import still moves. */
#define IMPORT_CHUNK_MS		40
#define IMPORT_WORK_MIN_MS	10
/* Then the lock stays free this long. A writer that found it taken (the daemon's
 * group commit) sleeps in SQLite's busy handler, 1, 2, 5 ... 25 ms at a time during
 * its first 128 ms; a gap as long as its longest sleep is sure to let it in. */
#define IMPORT_GAP_MS		25


static void
import_keep(struct import *im, const char *field)
{
	size_t n = strlen(field) + 1;

	if (im->len + n > im->cap) {
		im->cap = im->cap ? im->cap * 2 : 1 << 16;
		if (im->cap < im->len + n)
			im->cap = im->len + n;
		im->data = xrealloc(im->data, im->cap);
	}
	memcpy(im->data + im->len, field, n);
	im->len += n;
}

static void
import_bad(struct import *im, size_t lineno, const char *why)
{
	if (im->bad < IMPORT_SHOWN) {
		im->errors[im->bad].line = lineno;
		snprintf(im->errors[im->bad].why, sizeof(im->errors[im->bad].why), "%s", why);
	}
	im->bad++;
}

/* A coupon code reaches a customer inside a message and an operator's spreadsheet:
 * 1-256 printable ASCII characters without spaces, quotes, commas or backslashes, not
 * starting like a formula. */
static int
coupon_code_ok(const char *code, char *why, size_t whylen)
{
	size_t n = strlen(code);

	if (n == 0) {
		snprintf(why, whylen, "no code in the first column");
		return -1;
	}
	if (n > IMPORT_CODE_MAX) {
		snprintf(why, whylen, "a code of %zu bytes; at most %d", n, IMPORT_CODE_MAX);
		return -1;
	}
	if (cell_formula_like(code)) {
		snprintf(why, whylen, "the code starts with '%c', which a spreadsheet reads as "
		    "a formula", code[0]);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)code[i];

		if (c < 0x21 || c > 0x7e || strchr("\"',\\", c) != NULL) {
			snprintf(why, whylen, "character %zu of the code is not allowed: codes are "
			    "printable ASCII without spaces, quotes, commas or backslashes", i + 1);
			return -1;
		}
	}
	return 0;
}

/* A LINE user id: U and 32 lowercase hex digits. */
static int
line_user_id_ok(const char *s)
{
	return s[0] == 'U' && strlen(s) == 33 && strspn(s + 1, "0123456789abcdef") == 32;
}

/* Spaces around a field are the spreadsheet's, not the operator's. */
static char *
trim(char *s)
{
	size_t n;

	while (*s == ' ')
		s++;
	n = strlen(s);
	while (n > 0 && s[n - 1] == ' ')
		s[--n] = '\0';
	return s;
}

/* One line's fields, checked; kept when good. */
static void
import_check_fields(struct import *im, const struct config *cf, size_t lineno,
    char **f, int n)
{
	const struct config_line_channel *ch = &cf->line_channels[0];
	const struct config_rep *rep;
	char why[WHY_MAX];

	if (im->pool != NULL) {
		/* One code a line, or a CSV whose first column is the code (the other
		 * columns are not imported). */
		if (lineno == 1 && strcasecmp(f[0], "code") == 0)
			return;
		if (coupon_code_ok(f[0], why, sizeof(why)) == -1)
			import_bad(im, lineno, why);
		else {
			import_keep(im, f[0]);
			im->records++;
		}
		return;
	}
	if (lineno == 1 && strcmp(f[0], "user_id") == 0)
		return;
	if (im->tags) {
		if (n < 2 || n > 3)
			import_bad(im, lineno, "expected user_id,tag[,channel]");
		else if (!line_user_id_ok(f[0]))
			import_bad(im, lineno, "user_id: expected a LINE user id (U and 32 hex "
			    "digits)");
		else if (!seg_arg_valid(f[1]))
			import_bad(im, lineno, "tag: expected 1-64 letters, digits, '-' or '_'");
		else if (n == 3 && (ch = config_line_channel(cf, f[2])) == NULL)
			import_bad(im, lineno, "channel: no LINE channel with this id in the "
			    "config");
		else {
			import_keep(im, ch->id);
			import_keep(im, f[0]);
			import_keep(im, f[1]);
			im->records++;
		}
		return;
	}
	/* The fourth column says partner (tagged partner: the campaign's partner stages and
	 * rules); empty or customer: an ordinary customer. The channel may be left empty
	 * before it. */
	if (n < 2 || n > 4)
		import_bad(im, lineno, "expected user_id,rep_code[,channel[,partner]]");
	else if (!line_user_id_ok(f[0]))
		import_bad(im, lineno, "user_id: expected a LINE user id (U and 32 hex digits)");
	else if ((rep = config_rep(cf, f[1])) == NULL)
		import_bad(im, lineno, "rep_code: no rep with this code under reps");
	else if (n >= 3 && f[2][0] != '\0' && (ch = config_line_channel(cf, f[2])) == NULL)
		import_bad(im, lineno, "channel: no LINE channel with this id in the config");
	else if (n == 4 && f[3][0] != '\0' && strcmp(f[3], "partner") != 0 &&
	    strcmp(f[3], "customer") != 0)
		import_bad(im, lineno, "partner: expected partner, customer or nothing");
	else {
		import_keep(im, ch->id);
		import_keep(im, f[0]);
		import_keep(im, rep->code);
		import_keep(im, n == 4 && strcmp(f[3], "partner") == 0 ? "1" : "0");
		im->records++;
	}
}

/* The check pass: every line of fp, kept or refused. 0, or -1 on a read error. */
int
import_check(struct import *im, const struct config *cf, FILE *fp)
{
	char line[IMPORT_LINE_MAX + 1], why[WHY_MAX], *f[IMPORT_FIELDS_MAX], *p;
	size_t lineno = 0, len;
	int r, n;

	while ((r = cell_getline(fp, line, sizeof(line), &len)) == 1) {
		lineno++;
		p = line;
		if (len >= sizeof(line)) {
			/* Refused, never split into several codes. */
			snprintf(why, sizeof(why), "a line of %zu bytes; at most %d", len,
			    IMPORT_LINE_MAX);
			import_bad(im, lineno, why);
			continue;
		}
		if (lineno == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0) {	/* Excel's BOM */
			p += 3;
			len -= 3;
		}
		/* The whole line, before the split: a NUL would end a field early. */
		if (cell_check(p, len, why, sizeof(why)) == -1) {
			import_bad(im, lineno, why);
			continue;
		}
		if ((n = cell_split(p, f, IMPORT_FIELDS_MAX)) < 0) {
			snprintf(why, sizeof(why), "not a CSV line (a quote left open, text after "
			    "a closing quote, or more than %d columns)", IMPORT_FIELDS_MAX);
			import_bad(im, lineno, why);
			continue;
		}
		for (int i = 0; i < n; i++)
			f[i] = trim(f[i]);
		if (n == 1 && f[0][0] == '\0')
			continue;		/* a blank line */
		import_check_fields(im, cf, lineno, f, n);
	}
	return r;
}


static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1)
		continue;
}

/* The write pass: the checked records, in transactions of about IMPORT_CHUNK_MS. A
 * chunk that fails is rolled back; the chunks before it stay (out says how many
 * records). 0, or -1. */
int
import_write(struct store *s, const struct import *im, struct import_result *out)
{
	const char *p = im->data, *end = im->data + im->len;
	/* Test builds: commit after each record and die after the first commit, as an
	 * import killed midway would. */
	int crash = fault_enabled("import_after_first_chunk");
	size_t pending = 0;
	/* Before the first commit, guess 10 ms for it. */
	int64_t began = 0, commit_at, done_at, work_us = (IMPORT_CHUNK_MS - 10) * 1000;
	int in_txn = 0, r;

	memset(out, 0, sizeof(*out));
	while (p < end) {
		if (!in_txn) {
			if (store_begin(s) == -1)
				goto err;
			in_txn = 1;
			began = clock_us();
		}
		if (im->pool != NULL) {
			r = store_coupon_put(s, im->pool, p, wall_ms());
			p += strlen(p) + 1;
		} else {
			const char *channel = p, *user = channel + strlen(channel) + 1,
			    *rep = user + strlen(user) + 1;

			p = rep + strlen(rep) + 1;
			if (!im->tags && *p == '1') {
				int ignored;

				/* A partner: tagged, in the transaction of the rep. */
				if (store_tags_put(s, channel, "partner", user, wall_ms(),
				    &ignored) == -1)
					goto err;
			}
			if (!im->tags)
				p += strlen(p) + 1;	/* the partner field */
			if (im->tags) {
				int inserted;

				/* rep is the tag here: the same three fields. */
				r = store_tags_put(s, channel, rep, user, wall_ms(), &inserted) == 0 ?
				    inserted : -1;
			} else
				r = store_customer_assign(s, channel, user, rep, "import",
				    wall_ms()) == 0 ? 1 : -1;
		}
		if (r == -1)
			goto err;
		pending++;
		if (r == 1)
			out->added++;
		else
			out->known++;
		if (p < end && !crash && clock_us() - began < work_us)
			continue;
		commit_at = clock_us();
		if (store_commit(s) == -1)
			goto err;
		in_txn = 0;
		done_at = clock_us();
		/* The next chunk leaves room for a commit as long as this one. */
		work_us = IMPORT_CHUNK_MS * 1000 - (done_at - commit_at);
		if (work_us < IMPORT_WORK_MIN_MS * 1000)
			work_us = IMPORT_WORK_MIN_MS * 1000;
		if (done_at - began > out->longest_us)
			out->longest_us = done_at - began;
		out->chunks++;
		out->written += pending;
		pending = 0;
		if (crash)
			_exit(3);
		if (p < end)
			sleep_ms(IMPORT_GAP_MS);
	}
	return 0;
err:
	snprintf(out->why, sizeof(out->why), "%s", store_errmsg(s));
	store_rollback(s);
	return -1;
}


int
import_pool_name_ok(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-_");

	return n > 0 && n <= 64 && s[n] == '\0';
}

void
import_free(struct import *im)
{
	free(im->data);
	memset(im, 0, sizeof(*im));
}
