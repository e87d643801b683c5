/* referral_manager.c: what branch managers hear on LINE WORKS without asking, each once
 * (a nudges row taken in the transaction that queues the message): the escalation of
 * a referral its rep has not acted on within referral.escalate_unacted_after of
 * business hours, and the weekly digest (referral.digest) of the branch's figures,
 * counted by store_figures as the console counts them. The follow-up tick
 * (daemon/storage/followup_tick.c) asks when; these say what. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handlers.h"

#define DIGEST_WAITING_MAX	50	/* per rep: more shows as 50+ */

int
referral_digest_due(const struct config *cf, int64_t now, char today[11])
{
	time_t t = (time_t)(now / 1000);
	struct tm tm;

	if (cf->referral.digest_day < 0 || cf->referral.notify_bot == NULL)
		return 0;
	localtime_r(&t, &tm);
	if (tm.tm_wday != cf->referral.digest_day ||
	    tm.tm_hour * 60 + tm.tm_min < cf->referral.digest_at_min)
		return 0;
	local_date(now, today);
	return 1;
}

int
referral_escalate_due(const struct config *cf, int64_t since, int64_t now)
{
	return cf->referral.escalate_after_ms > 0 && config_hours_add(&cf->business_hours,
	    since, cf->referral.escalate_after_ms) <= now;
}

/* text to every manager of the branch who has a LINE WORKS id: how many got it, or -1.
 * what names the message in the log line of a branch whose managers have none. */
static int
to_managers(struct handler_ctx *hc, const struct config_branch *b, const char *text,
    const char *what)
{
	const struct config *cf = hc->cfg;
	int n = 0;

	for (size_t i = 0; i < b->n_managers; i++) {
		const struct config_rep *m = config_rep(cf, b->managers[i]);

		if (m == NULL || m->works_user_id == NULL)
			continue;
		if (outmsg_works(hc->store, cf->referral.notify_bot, WORKS_TO_USER,
		    m->works_user_id, outmsg_works_text(text)) == -1) {
			hc->error = "cannot queue the message to a manager";
			return -1;
		}
		n++;
	}
	if (n == 0)
		log_warnx("msg=\"no manager of the branch has a lineworks_user_id: %s not "
		    "sent\" branch=%s", what, b->code);
	return n;
}

int
referral_escalate(struct handler_ctx *hc, const struct figures_waiting *w)
{
	const struct config *cf = hc->cfg;
	const struct config_rep *rep = config_rep(cf, w->rep_code);
	const struct config_branch *b = rep ? rep->branch : NULL;
	struct nudge n = { .kind = "escalate", .at = hc->now_ms };
	struct msg_vars vars = { 0 };
	char id[24], since[32], page[48], *link = NULL, *text = NULL;
	time_t t = (time_t)(w->since / 1000);
	struct tm tm;
	int rc = -1;

	snprintf(id, sizeof(id), "%lld", (long long)w->referral_id);
	n.subject = id;
	n.sent = b != NULL && b->n_managers > 0 && cf->referral.notify_bot != NULL;
	if ((rc = store_nudge_take(hc->store, &n)) != 1) {
		if (rc == -1)
			hc->error = "cannot record the escalation";
		return rc;
	}
	if (!n.sent) {
		log_info("msg=\"referral waits for its rep; no branch manager to tell\" "
		    "referral_id=%s rep=%s", id, w->rep_code);
		return 0;
	}
	localtime_r(&t, &tm);
	strftime(since, sizeof(since), "%Y/%m/%d %H:%M", &tm);
	snprintf(page, sizeof(page), "/referrals/%s", id);
	link = config_console_link(cf, page);
	msg_vars_set(&vars, "company_name", cf->company_name ? cf->company_name : "");
	msg_vars_set(&vars, "referral_id", id);
	msg_vars_set(&vars, "rep_name", rep->name);
	msg_vars_set(&vars, "branch_name", b->name);
	msg_vars_set(&vars, "waiting_since", since);
	msg_vars_set(&vars, "console_url", link ? link : "");
	rc = -1;
	if ((text = chat_text_named(hc, "rep_escalation", PLATFORM_WORKS, &vars)) != NULL &&
	    to_managers(hc, b, text, "escalation") != -1)
		rc = 1;
	free(text);
	free(link);
	return rc;
}

/* ---- the weekly digest */

struct digest_figs {
	struct figures		 week, prev, month;
	struct figures_detail	 detail;
	struct figures_waiting	*waiting;
	size_t			 n_waiting;
};

static void
digest_figs_clear(struct digest_figs *f)
{
	figures_clear(&f->week);
	figures_clear(&f->prev);
	figures_clear(&f->month);
	figures_detail_clear(&f->detail);
	figures_waiting_free(f->waiting, f->n_waiting);
	memset(f, 0, sizeof(*f));
}

/* The local date shift days from date. */
static int
date_shift(const char *date, int shift, char out[11])
{
	int64_t ms;

	if (local_midnight(date, shift, &ms) == -1)
		return -1;
	local_date(ms, out);
	return 0;
}

static void
query_of(const struct config_branch *b, const char **codes,
    size_t n_reps, const char *from, const char *to, int64_t now,
    struct figures_query *q)
{
	memset(q, 0, sizeof(*q));
	snprintf(q->from, sizeof(q->from), "%s", from);
	snprintf(q->to, sizeof(q->to), "%s", to);
	q->branches = (const char *const *)&b->code;
	q->n_branches = 1;
	q->reps = codes;
	q->n_reps = n_reps;
	q->review_default_ms = 3LL * 86400 * 1000;
	q->now_ms = now;
}

static void
set_num(struct msg_vars *vars, char *buf, size_t len, const char *name, int64_t v)
{
	snprintf(buf, len, "%lld", (long long)v);
	msg_vars_set(vars, name, buf);
}

/* One rep_digest_rep line per rep of the branch, in config order; the caller frees. */
static char *
rep_lines(struct handler_ctx *hc, const struct digest_figs *f, const char **codes,
    size_t n_reps)
{
	const struct config *cf = hc->cfg;
	char *out = xstrdup("");

	for (size_t i = 0; i < n_reps; i++) {
		const struct config_rep *rep = config_rep(cf, codes[i]);
		struct msg_vars vars = { 0 };
		char open[24], waiting[24], hours[24], *line, *more;
		int64_t n_open = 0, n_wait = 0, oldest = -1;

		for (size_t k = 0; k < f->detail.n_open; k++)
			if (f->detail.open[k].rep_code != NULL &&
			    strcmp(f->detail.open[k].rep_code, codes[i]) == 0)
				n_open = f->detail.open[k].n;
		for (size_t k = 0; k < f->n_waiting; k++)
			if (strcmp(f->waiting[k].rep_code, codes[i]) == 0 && n_wait++ == 0)
				oldest = f->waiting[k].since;	/* oldest first */
		snprintf(open, sizeof(open), "%lld", (long long)n_open);
		snprintf(waiting, sizeof(waiting), "%lld%s", (long long)n_wait,
		    n_wait >= DIGEST_WAITING_MAX ? "+" : "");
		if (oldest < 0)
			snprintf(hours, sizeof(hours), "-");
		else
			snprintf(hours, sizeof(hours), "%lld",
			    (long long)((hc->now_ms - oldest) / 3600000));
		msg_vars_set(&vars, "company_name", cf->company_name ? cf->company_name : "");
		msg_vars_set(&vars, "rep_name", rep->name);
		msg_vars_set(&vars, "open", open);
		msg_vars_set(&vars, "waiting", waiting);
		msg_vars_set(&vars, "oldest_hours", hours);
		if ((line = chat_text_named(hc, "rep_digest_rep", PLATFORM_WORKS, &vars)) == NULL) {
			free(out);
			return NULL;
		}
		more = xasprintf("%s%s%s", out, *out ? "\n" : "", line);
		free(line);
		free(out);
		out = more;
	}
	return out;
}

char *
referral_digest_text(struct handler_ctx *hc, const struct config_branch *b,
    const char *today)
{
	const struct config *cf = hc->cfg;
	struct digest_figs f;
	struct figures_query qw, qp, qm;
	const char **codes = xcalloc(cf->n_reps + 1, sizeof(*codes));
	size_t n_reps = 0;
	char from[11], to[11], pfrom[11], pto[11], mfrom[11];
	char nums[10][24], target[24], *reps = NULL, *link = NULL, *text = NULL;
	struct msg_vars vars = { 0 };

	memset(&f, 0, sizeof(f));
	for (size_t i = 0; i < cf->n_reps; i++)
		if (cf->reps[i].branch == b)
			codes[n_reps++] = cf->reps[i].code;
	if (date_shift(today, -7, from) == -1 || date_shift(today, -1, to) == -1 ||
	    date_shift(today, -14, pfrom) == -1 || date_shift(today, -8, pto) == -1) {
		hc->error = "not a date";
		goto done;
	}
	/* This month so far: the month of the week's last day, to that day. */
	memcpy(mfrom, to, sizeof(mfrom));
	memcpy(mfrom + 8, "01", 2);
	query_of(b, codes, n_reps, from, to, hc->now_ms, &qw);
	query_of(b, codes, n_reps, pfrom, pto, hc->now_ms, &qp);
	query_of(b, codes, n_reps, mfrom, to, hc->now_ms, &qm);
	qw.testers_json = qp.testers_json = qm.testers_json = hc->cfg->testers_json;
	if (store_figures(hc->store, &qw, &f.week, &f.detail) == -1 ||
	    store_figures(hc->store, &qp, &f.prev, NULL) == -1 ||
	    store_figures(hc->store, &qm, &f.month, NULL) == -1 ||
	    store_rep_waiting(hc->store, &qw, DIGEST_WAITING_MAX, &f.waiting,
	    &f.n_waiting) == -1) {
		hc->error = "cannot count the branch's figures";
		goto done;
	}
	if ((reps = rep_lines(hc, &f, codes, n_reps)) == NULL)
		goto done;
	link = config_console_link(cf, "/");
	msg_vars_set(&vars, "company_name", cf->company_name ? cf->company_name : "");
	msg_vars_set(&vars, "branch_name", b->name);
	msg_vars_set(&vars, "from", from);
	msg_vars_set(&vars, "to", to);
	set_num(&vars, nums[0], sizeof(nums[0]), "invites", f.week.issued);
	set_num(&vars, nums[1], sizeof(nums[1]), "invites_prev", f.prev.issued);
	set_num(&vars, nums[2], sizeof(nums[2]), "claims", f.week.claimed);
	set_num(&vars, nums[3], sizeof(nums[3]), "claims_prev", f.prev.claimed);
	set_num(&vars, nums[4], sizeof(nums[4]), "wins", f.week.won);
	set_num(&vars, nums[5], sizeof(nums[5]), "wins_prev", f.prev.won);
	set_num(&vars, nums[6], sizeof(nums[6]), "rewards", f.week.rewards_issued);
	set_num(&vars, nums[7], sizeof(nums[7]), "rewards_prev", f.prev.rewards_issued);
	set_num(&vars, nums[8], sizeof(nums[8]), "month_wins", f.month.won);
	if (b->monthly_target > 0)
		snprintf(target, sizeof(target), "%d", b->monthly_target);
	else
		snprintf(target, sizeof(target), "-");
	msg_vars_set(&vars, "target", target);
	msg_vars_set(&vars, "reps", reps);
	msg_vars_set(&vars, "console_url", link ? link : "");
	text = chat_text_named(hc, "rep_digest", PLATFORM_WORKS, &vars);
done:
	free(link);
	free(reps);
	free(codes);
	digest_figs_clear(&f);
	return text;
}

int
referral_digest_send(struct handler_ctx *hc, const struct config_branch *b,
    const char *today, const char *text)
{
	struct nudge n = { .kind = "digest", .subject = b->code, .period = today, .sent = 1,
	    .at = hc->now_ms };
	int rc;

	if ((rc = store_nudge_take(hc->store, &n)) != 1) {
		if (rc == -1)
			hc->error = "cannot record the digest";
		return rc;
	}
	return to_managers(hc, b, text, "digest") == -1 ? -1 : 1;
}
