/* ctl_referral.c: the operators' referral commands: referrals list|show, rewards
 * list|approve|void, import customers|coupons, and the funnel report by branch, rep,
 * campaign or referrer. Reads and writes the daemon's database directly (WAL lets both
 * work at once); every change goes through the state machines and is logged in
 * referral_events with the operator as actor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

static int
valid_pool_name(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-_");

	return n > 0 && n <= 64 && s[n] == '\0';
}

static int
parse_format(const char *s, enum print_format *f)
{
	if (strcmp(s, "table") == 0)
		*f = PRINT_TABLE;
	else if (strcmp(s, "csv") == 0)
		*f = PRINT_CSV;
	else if (strcmp(s, "json") == 0)
		*f = PRINT_JSON;
	else {
		fprintf(stderr, "shokaictl: --format %s: expected table, csv or json\n", s);
		return -1;
	}
	return 0;
}

/* referrals list [--state S] [--format F] | referrals show ID */
int
referrals_cmd(struct config *cf, int argc, char **argv)
{
	static const char list_sql[] = "SELECT id, campaign, code, referrer_id AS referrer, "
	    "referee_id AS friend, coalesce(rep_code, '-') AS rep, state, "
	    "datetime(claimed_at / 1000, 'unixepoch', 'localtime') AS claimed FROM referrals "
	    "WHERE ?1 IS NULL OR state = ?1 ORDER BY id";
	static const char events_sql[] = "SELECT datetime(at / 1000, 'unixepoch', "
	    "'localtime') AS at, type, coalesce(reason, '') AS reason, coalesce(actor, '') AS "
	    "actor FROM referral_events WHERE referral_id = ?1 OR (type IN ('issued', "
	    "'clicked') AND code = (SELECT code FROM referrals WHERE id = ?1)) ORDER BY id";
	enum print_format format = PRINT_TABLE;
	const char *state = NULL;
	struct store *s;
	int rc = 1;

	if (argc >= 1 && strcmp(argv[0], "show") == 0 && argc == 2) {
		const char *args[] = { argv[1] };
		static const char one_sql[] = "SELECT id, campaign, code, referrer_id AS "
		    "referrer, referee_id AS friend, coalesce(rep_code, '-') AS rep, state FROM "
		    "referrals WHERE id = ?1";

		if ((s = ctl_open_store(cf)) == NULL)
			return 1;
		rc = store_print_query(s, stdout, PRINT_TABLE, one_sql, args, 1) == 0 &&
		    printf("\n") > 0 &&
		    store_print_query(s, stdout, PRINT_TABLE, events_sql, args, 1) == 0 ? 0 : 1;
		store_close(s);
		return rc;
	}
	if (argc < 1 || strcmp(argv[0], "list") != 0)
		return 2;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--state") == 0 && i + 1 < argc)
			state = argv[++i];
		else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
			if (parse_format(argv[++i], &format) == -1)
				return 2;
		} else
			return 2;
	}
	if ((s = ctl_open_store(cf)) == NULL)
		return 1;
	{
		const char *args[] = { state };

		rc = store_print_query(s, stdout, format, list_sql, args, 1) == 0 ? 0 : 1;
	}
	store_close(s);
	return rc;
}

/* An operator's move of one reward, checked by the reward state machine. */
static int
operator_reward_move(const struct config *cf, struct store *s, int64_t id,
    enum reward_state to, const char *note)
{
	struct reward_row w;
	char why[WHY_MAX] = "";
	int rc;

	if ((rc = store_reward_get(s, id, &w)) != 1) {
		fprintf(stderr, "shokaictl: %s\n", rc == 0 ? "no such reward" :
		    store_errmsg(s));
		return 1;
	}
	{
		unsigned char salt[SALT_LEN];
		struct handler_ctx hc = { .cfg = cf, .store = s, .salt = salt,
		    .now_ms = wall_ms() };

		rc = store_meta_salt(s, salt) == 0 && store_begin(s) == 0 &&
		    reward_move(&hc, &w, to, ACTOR_OPERATOR, NULL, note, why, sizeof(why)) == 1 &&
		    store_commit(s) == 0 ? 0 : 1;
	}
	if (rc != 0) {
		store_rollback(s);
		fprintf(stderr, "shokaictl: reward %lld was not changed: %s\n", (long long)id,
		    why[0] ? why : store_errmsg(s));
	} else
		printf("reward %lld: %s (the daemon issues approved rewards within seconds)\n",
		    (long long)id, reward_state_name(to));
	reward_row_clear(&w);
	return rc;
}

/* rewards list [STATE] | rewards approve ID | rewards void ID [REASON] */
int
rewards_cmd(struct config *cf, int argc, char **argv)
{
	static const char list_sql[] = "SELECT w.id, w.referral_id AS referral, w.side, "
	    "w.user_id AS person, w.pool, w.state, coalesce(w.coupon_code, '-') AS coupon, "
	    "datetime(w.approve_after / 1000, 'unixepoch', 'localtime') AS approve_after, "
	    "coalesce(w.note, '') AS note FROM rewards w WHERE ?1 IS NULL OR w.state = ?1 "
	    "ORDER BY w.id";
	struct store *s;
	int rc;

	if (argc < 1)
		return 2;
	if ((s = ctl_open_store(cf)) == NULL)
		return 1;
	if (strcmp(argv[0], "list") == 0 && argc <= 2) {
		const char *args[] = { argc == 2 ? argv[1] : NULL };

		rc = store_print_query(s, stdout, PRINT_TABLE, list_sql, args, 1) == 0 ? 0 : 1;
	} else if (strcmp(argv[0], "approve") == 0 && argc == 2)
		rc = operator_reward_move(cf, s, strtoll(argv[1], NULL, 10), REWARD_APPROVED, NULL);
	else if (strcmp(argv[0], "void") == 0 && (argc == 2 || argc == 3))
		rc = operator_reward_move(cf, s, strtoll(argv[1], NULL, 10), REWARD_VOIDED,
		    argc == 3 ? argv[2] : "voided by an operator");
	else
		rc = 2;
	store_close(s);
	return rc;
}

/* Imports. An operator's file is checked whole before anything is written: every line
 * well-formed UTF-8 without control characters and at most IMPORT_LINE_MAX bytes, every
 * field to its pattern. A bad line refuses the whole file (the first IMPORT_SHOWN bad
 * lines are listed with what is wrong). Then what was checked is written in short
 * transactions, so the daemon's webhooks never wait long for the write lock. */
#define IMPORT_LINE_MAX		1024	/* bytes a line, without its line end */
#define IMPORT_CODE_MAX		256	/* bytes a coupon code */
#define IMPORT_FIELDS_MAX	16
#define IMPORT_SHOWN		20	/* bad lines listed; the rest are counted */
/* A write transaction holds the lock about this long, its commit's fsync included: it
 * stops writing early by as long as the last commit took (on a busy disk an fsync took
 * 50 ms), but writes at least IMPORT_WORK_MIN_MS so that the import still moves. */
#define IMPORT_CHUNK_MS		40
#define IMPORT_WORK_MIN_MS	10
/* Then the lock stays free this long. A writer that found it taken (the daemon's
 * group commit) sleeps in SQLite's busy handler, 1, 2, 5 ... 25 ms at a time during
 * its first 128 ms; a gap as long as its longest sleep is sure to let it in. */
#define IMPORT_GAP_MS		25
/* The importer waits its turn as long as it takes: it is the daemon that must not wait.
 * With the config's busy_timeout (200 ms in tests) a busy daemon starved it midway. */
#define IMPORT_BUSY_MS		60000

/* The records the check pass accepted, each field NUL-terminated, one after another in
 * one buffer (2 million coupon codes are about 30 MB), so the write pass writes exactly
 * what was checked even if the file changes under us. */
struct import {
	const char	*path;
	const char	*pool;		/* coupons; NULL for customers */
	char		*data;
	size_t		 len, cap;
	size_t		 records;
	size_t		 bad;		/* lines refused */
};

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
	if (im->bad++ < IMPORT_SHOWN)
		fprintf(stderr, "shokaictl: %s: line %zu: %s\n", im->path, lineno, why);
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
	if (n < 2 || n > 3)
		import_bad(im, lineno, "expected user_id,rep_code[,channel]");
	else if (!line_user_id_ok(f[0]))
		import_bad(im, lineno, "user_id: expected a LINE user id (U and 32 hex digits)");
	else if ((rep = config_rep(cf, f[1])) == NULL)
		import_bad(im, lineno, "rep_code: no rep with this code under reps");
	else if (n == 3 && (ch = config_line_channel(cf, f[2])) == NULL)
		import_bad(im, lineno, "channel: no LINE channel with this id in the config");
	else {
		import_keep(im, ch->id);
		import_keep(im, f[0]);
		import_keep(im, rep->code);
		im->records++;
	}
}

/* The check pass: every line of fp, kept or refused. 0, or -1 on a read error. */
static int
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

struct import_result {
	size_t	 written;		/* records committed */
	size_t	 added, known;		/* new rows; rows that were there already */
	size_t	 chunks;		/* transactions */
	int64_t	 longest_us;		/* the longest, from BEGIN to the end of COMMIT */
	char	 why[WHY_MAX];		/* the database's error, when one stopped it */
};

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
static int
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
			r = store_customer_assign(s, channel, user, rep, "import", wall_ms()) == 0 ?
			    1 : -1;
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

/* import coupons POOL FILE (one code a line, or a CSV whose first column is the code
 * under a header "code"); import customers FILE (user_id,rep_code[,channel]). */
int
import_cmd(struct config *cf, int argc, char **argv)
{
	struct import im = { 0 };
	struct import_result res;
	struct store *s = NULL;
	FILE *fp = NULL;
	const char *what;
	int rc = 1, coupons;
	int64_t t0;

	if (argc < 2)
		return 2;
	coupons = strcmp(argv[0], "coupons") == 0;
	if (!(coupons && argc == 3) && !(strcmp(argv[0], "customers") == 0 && argc == 2))
		return 2;
	im.path = argv[coupons ? 2 : 1];
	im.pool = coupons ? argv[1] : NULL;
	what = coupons ? "coupon code(s)" : "customer(s)";
	if (coupons && !valid_pool_name(argv[1])) {
		fprintf(stderr, "shokaictl: pool '%s': use a-z, 0-9, '-' and '_'\n", argv[1]);
		return 1;
	}
	if ((fp = fopen(im.path, "r")) == NULL) {
		fprintf(stderr, "shokaictl: cannot open %s\n", im.path);
		return 1;
	}
	if (import_check(&im, cf, fp) == -1) {
		fprintf(stderr, "shokaictl: cannot read %s; nothing was imported\n", im.path);
		goto done;
	}
	if (im.bad > 0) {
		fprintf(stderr, "shokaictl: %s: %zu line(s) refused", im.path, im.bad);
		if (im.bad > IMPORT_SHOWN)
			fprintf(stderr, " (the first %d are listed)", IMPORT_SHOWN);
		fprintf(stderr, "; nothing was imported\n");
		goto done;
	}
	if ((s = ctl_open_store(cf)) == NULL)
		goto done;
	store_set_busy_timeout(s, IMPORT_BUSY_MS);
	t0 = clock_us();
	if (import_write(s, &im, &res) == -1) {
		fprintf(stderr, "shokaictl: %s: stopped by a database error (%s) after %zu of "
		    "%zu %s were written. The file is good: import it again to write the rest "
		    "(%s)\n", im.path, res.why, res.written, im.records, what, coupons ?
		    "codes already there are skipped" : "assigning the same rep again changes "
		    "nothing");
		goto done;
	}
	printf("%zu %s imported%s; %zu transaction(s) in %lld ms, the longest held the write "
	    "lock %lld ms\n", res.added, what, res.known ? " (the others were there already)" :
	    "", res.chunks, (long long)((clock_us() - t0) / 1000),
	    (long long)((res.longest_us + 999) / 1000));
	rc = 0;
done:
	if (fp != NULL)
		fclose(fp);
	store_close(s);
	free(im.data);
	return rc;
}

static int
parse_by(const char *s, enum report_by *by)
{
	if (strcmp(s, "branch") == 0)
		*by = REPORT_BY_BRANCH;
	else if (strcmp(s, "rep") == 0)
		*by = REPORT_BY_REP;
	else if (strcmp(s, "campaign") == 0)
		*by = REPORT_BY_CAMPAIGN;
	else if (strcmp(s, "referrer") == 0)
		*by = REPORT_BY_REFERRER;
	else {
		fprintf(stderr, "shokaictl: report --by %s: expected branch, rep, campaign or "
		    "referrer\n", s);
		return -1;
	}
	return 0;
}

/* report --by branch|rep|campaign|referrer [--from D] [--to D] [--format F]: the funnel
 * issued → clicked → claimed (rejected, with each reason) → won → rewarded over local
 * dates, both inclusive (store_report.c counts it). */
int
report_cmd(struct config *cf, int argc, char **argv)
{
	const char *by_name = "campaign", *from = "0000-00-00", *to = "9999-99-99";
	enum print_format format = PRINT_TABLE;
	enum report_by by;
	struct store *s;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--by") == 0 && i + 1 < argc)
			by_name = argv[++i];
		else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			from = argv[++i];
		else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
			to = argv[++i];
		else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
			if (parse_format(argv[++i], &format) == -1)
				return 2;
		} else
			return 2;
	}
	if (parse_by(by_name, &by) == -1)
		return 2;
	if ((s = ctl_open_store(cf)) == NULL)
		return 1;
	{
		struct report_rejection rej[CLAIM_REASON_COUNT];

		for (size_t i = 0; i < CLAIM_REASON_COUNT; i++)
			rej[i] = (struct report_rejection){ claim_rules[i].reason,
			    claim_rules[i].report_column };
		rc = store_report(s, stdout, format, by, from, to, rej,
		    CLAIM_REASON_COUNT) == 0 ? 0 : 1;
	}
	store_close(s);
	return rc;
}

/* rep-link REP [CHANNEL]: the link a rep shares; a customer who opens it and sends the
 * prefilled text is tied to the rep. */
int
rep_link_cmd(struct config *cf, int argc, char **argv)
{
	const struct config_rep *rep;
	const struct config_line_channel *ch;
	char *text, *enc;

	if (argc < 1 || argc > 2)
		return 2;
	if ((rep = config_rep(cf, argv[0])) == NULL) {
		fprintf(stderr, "shokaictl: no rep '%s' under reps\n", argv[0]);
		return 1;
	}
	ch = argc == 2 ? config_line_channel(cf, argv[1]) : &cf->line_channels[0];
	if (ch == NULL) {
		fprintf(stderr, "shokaictl: no LINE channel '%s'\n", argv[1]);
		return 1;
	}
	/* What rep_assign.c recognises: the first of the config's rep-link words. */
	text = xasprintf("%s %s", cf->wording.rep_link_word, rep->code);
	enc = url_encode(text);
	printf("https://line.me/R/oaMessage/%%40%s/?%s\n", ch->basic_id + 1, enc);
	free(enc);
	free(text);
	return 0;
}

/* forget USER: the person's personal data goes; anonymous counts stay. */
int
forget_cmd(struct config *cf, int argc, char **argv)
{
	unsigned char salt[SALT_LEN];
	char hex[65], pseudonym[32];
	struct store *s;
	int64_t n;

	if (argc != 1)
		return 2;
	if (argv[0][0] != 'U' || strlen(argv[0]) != 33) {
		fprintf(stderr, "shokaictl: forget: expected a LINE user id (U and 32 hex digits)\n");
		return 1;
	}
	if ((s = ctl_open_store(cf)) == NULL)
		return 1;
	if (store_meta_salt(s, salt) == -1) {
		store_close(s);
		return 1;
	}
	/* Keyed by the database's secret: the same person gets the same pseudonym, and
	 * nobody can get the id back from it. */
	sha256_hex(salt, sizeof(salt), argv[0], strlen(argv[0]), hex);
	snprintf(pseudonym, sizeof(pseudonym), "forgotten:%.12s", hex);
	n = store_forget_user(s, argv[0], pseudonym);
	if (n >= 0)
		printf("forgot %s: %lld row(s) changed; counts kept as %s\n", argv[0],
		    (long long)n, pseudonym);
	store_close(s);
	return n >= 0 ? 0 : 1;
}
