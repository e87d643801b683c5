/* ctl_announce.c: shokaictl announce: the configured announcements and the sends, a
 * segment's preview with LINE's quota, a test push, a send now or at a time, a cancel,
 * and one send's progress and results. Sends are refused here at once when the quota
 * is too small; the daemon reads it again before it starts one.
 *   announce list
 *   announce preview ID --segment S
 *   announce test ID --to USER
 *   announce send ID --segment S
 *   announce schedule ID --segment S --at "YYYY-MM-DD HH:MM"
 *   announce cancel N
 *   announce show N */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

#define LIST_MAX	50

static const char *
actor(char *buf, size_t len)
{
	struct passwd *pw = getpwuid(getuid());

	snprintf(buf, len, "shokaictl:%s", pw != NULL ? pw->pw_name : "?");
	return buf;
}

static void
local_time(int64_t ms, char out[20])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || localtime_r(&t, &tm) == NULL)
		snprintf(out, 20, "-");
	else
		strftime(out, 20, "%Y-%m-%d %H:%M", &tm);
}

static void
term(const char *s)
{
	cell_term(stdout, s ? s : "-", strlen(s ? s : "-"), 0);
}

/* --segment S, --to U, --at T: each option's value, or NULL; 2 on anything else. */
static int
options(int argc, char **argv, const char **segment, const char **to, const char **at)
{
	*segment = *to = *at = NULL;
	for (int i = 0; i < argc; i++) {
		const char **v = strcmp(argv[i], "--segment") == 0 ? segment :
		    strcmp(argv[i], "--to") == 0 ? to : strcmp(argv[i], "--at") == 0 ? at : NULL;

		if (v == NULL || i + 1 >= argc) {
			fprintf(stderr, "shokaictl: announce: %s %s\n", argv[i], v == NULL ?
			    "is not an option here" : "needs a value");
			return 2;
		}
		*v = argv[++i];
	}
	return 0;
}

struct ctl_quota {
	int		 done;
	struct quota	 q;
};

static void
quota_done(const struct quota *q, void *arg)
{
	struct ctl_quota *c = arg;

	c->q = *q;
	c->done = 1;
}

/* LINE's quota for the channel, run to completion. 0, or -1 after saying why. */
static int
read_quota(struct config *cf, const char *channel, struct quota *out)
{
	struct daemon d;
	struct ctl_quota c = { 0 };

	ctl_net_open(&d, cf);
	quota_read(&d, channel, quota_done, &c);
	ctl_net_wait(&d, &c.done);
	ctl_net_close(&d);
	*out = c.q;
	if (c.q.status != 200) {
		fprintf(stderr, "shokaictl: announce: LINE's message quota could not be read "
		    "(%s); nothing was sent\n", c.q.error[0] ? c.q.error : "no answer");
		return -1;
	}
	return 0;
}

static void
print_quota(const struct quota *q)
{
	if (q->limit < 0)
		printf("quota: no limit (used %lld this month)\n", (long long)q->used);
	else
		printf("quota: %lld left this month (limit %lld, used %lld)\n",
		    (long long)quota_remaining(q), (long long)q->limit, (long long)q->used);
}

static void
print_plan(const struct announce_plan *p)
{
	printf("announcement: %s (", p->a->id);
	term(p->a->title);
	printf(")\nsegment: %s\nrecipients: %lld (in %lld multicast call(s))\n"
	    "blocked, skipped: %lld\n", p->segment, (long long)p->recipients,
	    (long long)p->chunks, (long long)p->blocked);
}

static int
list(struct config *cf, struct store *s)
{
	struct announce_row *rows = NULL;
	size_t n = 0;
	char when[20];
	int rc;

	printf("configured:\n");
	for (size_t i = 0; i < cf->n_announcements; i++) {
		const struct config_announcement *a = &cf->announcements[i];

		printf("  %s  ", a->id);
		term(a->title);
		printf("  message=%s channel=%s segments=", a->message_name, a->channel);
		for (int k = 0, first = 1; k < SEG_KIND_COUNT; k++)
			if (a->segments & (1u << k)) {
				printf("%s%s", first ? "" : ",", seg_kind_name((enum seg_kind)k));
				first = 0;
			}
		putchar('\n');
	}
	if (cf->n_announcements == 0)
		printf("  (none: see announcements: in the config)\n");
	if ((rc = store_announce_list(s, LIST_MAX, &rows, &n)) == 0) {
		printf("sends (latest %d):\n", LIST_MAX);
		for (size_t i = 0; i < n; i++) {
			local_time(rows[i].scheduled_at, when);
			printf("  #%lld  %s  %s  %s  %s", (long long)rows[i].id,
			    rows[i].config_id, rows[i].segment, rows[i].state, when);
			/* Counted when it started, or when it was refused for the quota. */
			if (rows[i].started_at > 0 || rows[i].quota_used > 0 ||
			    rows[i].recipients > 0)
				printf("  recipients=%lld blocked=%lld", (long long)rows[i].recipients,
				    (long long)rows[i].blocked);
			putchar('\n');
		}
		if (n == 0)
			printf("  (none)\n");
	}
	for (size_t i = 0; i < n; i++)
		announce_row_clear(&rows[i]);
	free(rows);
	return rc == 0 ? 0 : 1;
}

static int
show(struct store *s, const char *arg)
{
	struct announce_row row;
	struct announce_results res;
	char when[20];
	int64_t id = strtoll(arg, NULL, 10);
	int found;

	if (id <= 0 || (found = store_announce_get(s, id, &row)) == 0) {
		fprintf(stderr, "shokaictl: announce: no announcement send #%s\n", arg);
		return 1;
	}
	if (found == -1)
		return 1;
	printf("#%lld %s (", (long long)row.id, row.config_id);
	term(row.title);
	printf(")\nstate: %s\nsegment: %s\nchannel: %s\nmessage: %s\ncreated by: ",
	    row.state, row.segment, row.channel, row.message);
	term(row.created_by);
	local_time(row.scheduled_at, when);
	printf("\nscheduled: %s\n", when);
	local_time(row.started_at, when);
	printf("started: %s\n", when);
	local_time(row.finished_at, when);
	printf("finished: %s\n", when);
	if (row.reason != NULL) {
		printf("reason: ");
		term(row.reason);
		putchar('\n');
	}
	if (strcmp(row.state, "scheduled") == 0)
		printf("recipients: counted when it starts (announce preview counts now)\n");
	else
		printf("recipients: %lld\nblocked, skipped: %lld\n", (long long)row.recipients,
		    (long long)row.blocked);
	if (strcmp(row.state, "sending") == 0 || strcmp(row.state, "sent") == 0) {
		if (store_announce_results(s, row.id, row.started_at, &res) == -1) {
			announce_row_clear(&row);
			return 1;
		}
		local_time(res.follow_until, when);
		printf("multicast calls: %lld written, %lld delivered\n"
		    "delivered: %lld\nfailed: %lld\npending: %lld\n"
		    "what followed, until %s:\n  invites issued: %lld\n  clicks: %lld\n"
		    "  claims: %lld\n", (long long)res.chunks_written, (long long)res.chunks_sent,
		    (long long)res.delivered, (long long)res.failed, (long long)res.pending, when,
		    (long long)res.invites, (long long)res.clicks, (long long)res.claims);
	}
	announce_row_clear(&row);
	return 0;
}

/* preview, send, schedule: the plan, the quota, then (send, schedule) the row. */
static int
plan_and_send(struct config *cf, struct store *s, const char *cmd, const char *id,
    const char *segment, const char *at)
{
	struct announce_plan p;
	struct quota q;
	char why[WHY_MAX] = "", who[96];
	int64_t when = wall_ms(), row_id;
	int rc;

	if (segment == NULL) {
		fprintf(stderr, "shokaictl: announce %s: --segment is needed (all, branch:CODE, "
		    "rep:CODE, not_referred, referred, tag:TAG)\n", cmd);
		return 1;
	}
	if (strcmp(cmd, "schedule") == 0 && at == NULL) {
		fprintf(stderr, "shokaictl: announce schedule: --at \"YYYY-MM-DD HH:MM\" is "
		    "needed\n");
		return 1;
	}
	if (at != NULL && announce_parse_time(at, when, &when, why, sizeof(why)) == -1) {
		fprintf(stderr, "shokaictl: announce %s: %s\n", cmd, why);
		return 1;
	}
	if (announce_plan(cf, s, id, segment, &p, why, sizeof(why)) == -1) {
		fprintf(stderr, "shokaictl: announce %s: %s\n", cmd, why);
		return 1;
	}
	print_plan(&p);
	if (read_quota(cf, p.a->channel, &q) == -1)
		return 1;
	print_quota(&q);
	if (strcmp(cmd, "preview") == 0) {
		if (!quota_allows(&q, p.recipients, why, sizeof(why)))
			printf("a send now would be refused: %s\n", why);
		return 0;
	}
	if (store_begin(s) == -1)
		rc = -1;
	else if ((rc = announce_schedule(s, &p, when, actor(who, sizeof(who)), &q, &row_id,
	    why, sizeof(why))) != -1 && store_commit(s) == -1) {
		snprintf(why, sizeof(why), "%s", store_errmsg(s));
		rc = -1;
	}
	if (rc == -1) {
		if (why[0] == '\0')
			snprintf(why, sizeof(why), "%s", store_errmsg(s));
		store_rollback(s);
		fprintf(stderr, "shokaictl: announce %s: %s\n", cmd, why);
		return 1;
	}
	if (rc == 1) {
		fprintf(stderr, "shokaictl: announce %s: refused (#%lld): %s\n", cmd,
		    (long long)row_id, why);
		return 1;
	}
	printf("#%lld scheduled for %s; the daemon reads the quota again and sends it "
	    "(shokaictl announce show %lld)\n", (long long)row_id, at ? at : "now",
	    (long long)row_id);
	return 0;
}

/* Ends the transaction an ops call ran in (rc its result): committed when it went
 * through (0), else rolled back. The call's rc, or -1 with why when the commit failed. */
static int
in_txn(struct store *s, int rc, char *why, size_t whylen)
{
	if (rc == 0 && store_commit(s) == 0)
		return 0;
	if (rc == 0) {
		snprintf(why, whylen, "%s", store_errmsg(s));
		rc = -1;
	}
	store_rollback(s);
	return rc;
}

int
announce_cmd(struct config *cf, int argc, char **argv)
{
	const char *segment, *to, *at, *sub;
	enum print_format format = PRINT_TABLE;
	struct store *s = NULL;
	char why[WHY_MAX], who[96];
	int rc = 1;

	if (ctl_take_format(&argc, argv, &format) == -1)
		return 2;
	if (argc < 2 && !(argc == 1 && strcmp(argv[0], "list") == 0))
		return 2;
	sub = argv[0];
	if (strcmp(sub, "list") == 0 && argc == 1) {
		if ((s = ctl_open_store(cf)) == NULL)
			;
		else if (format == PRINT_TABLE)
			rc = list(cf, s);
		else
			/* A script wants the sends; the configured ones are in the YAML. */
			rc = store_print_query(s, stdout, format, "SELECT id, config_id, title, "
			    "message, channel, segment, state, datetime(scheduled_at / 1000, "
			    "'unixepoch', 'localtime') AS scheduled, recipients, blocked, chunks, "
			    "coalesce(reason, '') AS reason FROM announcements ORDER BY id DESC "
			    "LIMIT 100", NULL, 0) == 0 ? 0 : 1;
	} else if ((strcmp(sub, "show") == 0 || strcmp(sub, "cancel") == 0) && argc == 2) {
		int64_t id = strtoll(argv[1], NULL, 10);

		if ((s = ctl_open_store(cf)) == NULL)
			;
		else if (strcmp(sub, "show") == 0)
			rc = show(s, argv[1]);
		else if (id <= 0)
			fprintf(stderr, "shokaictl: announce cancel: '%s' is not a send's number\n",
			    argv[1]);
		else if (store_begin(s) == -1)
			fprintf(stderr, "shokaictl: announce cancel: %s\n", store_errmsg(s));
		else if (in_txn(s, announce_cancel(s, id, actor(who, sizeof(who)), why,
		    sizeof(why)), why, sizeof(why)) != 0)
			fprintf(stderr, "shokaictl: announce cancel: %s\n", why);
		else {
			printf("#%lld canceled\n", (long long)id);
			rc = 0;
		}
	} else if (strcmp(sub, "test") == 0 || strcmp(sub, "preview") == 0 ||
	    strcmp(sub, "send") == 0 || strcmp(sub, "schedule") == 0) {
		if (options(argc - 2, argv + 2, &segment, &to, &at) == 2)
			return 2;
		if ((s = ctl_open_store(cf)) == NULL)
			;
		else if (strcmp(sub, "test") != 0)
			rc = plan_and_send(cf, s, sub, argv[1], segment, at);
		else if (store_begin(s) == -1)
			fprintf(stderr, "shokaictl: announce test: %s\n", store_errmsg(s));
		else if (in_txn(s, announce_test(cf, s, argv[1], to, why, sizeof(why)), why,
		    sizeof(why)) == -1)
			fprintf(stderr, "shokaictl: announce test: %s\n", why);
		else {
			printf("test queued to %s\n", to);
			rc = 0;
		}
	} else
		return 2;
	store_close(s);
	return rc;
}
