/* referral_followup.c: what shokai says by itself after the fact, each once (a nudges
 * row taken in the transaction that queues the message): the reminder of an invite
 * nobody opened, the ask after a win (do you know someone else?), the escalation of a
 * referral no rep acted on to the branch's managers, and the branch managers' weekly
 * digest. Reminders and asks share the campaign's monthly limit per person. The
 * follow-up tick (daemon/storage/followup_tick.c) decides when; these decide what. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handlers.h"

#define DIGEST_WAITING_MAX	50	/* per rep: more shows as 50+ */
/* How late a reminder may still go: a daemon stopped longer skips the older codes (a
 * reminder days late is no reminder), and the scan stays a short index range. */
#define REMIND_LOOKBACK_MS	(2LL * 86400 * 1000)

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

void
referral_remind_window(const struct config_campaign *cp, int64_t now, int64_t *lo,
    int64_t *hi)
{
	*hi = now - cp->remind_unshared_ms + 1;
	*lo = *hi - REMIND_LOOKBACK_MS;
}

int
referral_escalate_due(const struct config *cf, int64_t since, int64_t now)
{
	return cf->referral.escalate_after_ms > 0 && config_hours_add(&cf->business_hours,
	    since, cf->referral.escalate_after_ms) <= now;
}

/* Local midnight starting the month that holds now. */
static int
month_start(int64_t now, int64_t *ms)
{
	char date[11];

	local_date(now, date);
	memcpy(date + 8, "01", 2);
	return local_midnight(date, 0, ms);
}

/* Takes the follow-up for a customer, counted against the campaign's monthly limit:
 * 1 to send, 0 not (already taken; or over the limit, or blocked: taken unsent), -1 an
 * error. */
static int
take_for_person(struct handler_ctx *hc, const struct config_campaign *cp,
    const char *kind, const char *subject, const char *channel, const char *person)
{
	struct nudge n = { .kind = kind, .subject = subject, .channel = channel,
	    .person = person, .sent = 1, .at = hc->now_ms };
	int64_t since, sent;

	if ((n.sent = store_nudge_reachable(hc->store, channel, person)) == -1) {
		hc->error = "cannot read whether the person is a friend";
		return -1;
	}
	if (n.sent && cp->reminders_per_month > 0) {
		if (month_start(hc->now_ms, &since) == -1 ||
		    (sent = store_nudges_sent_since(hc->store, channel, person, since)) < 0) {
			hc->error = "cannot count the person's reminders this month";
			return -1;
		}
		n.sent = sent < cp->reminders_per_month;
	}
	switch (store_nudge_take(hc->store, &n)) {
	case -1:
		hc->error = "cannot record the follow-up";
		return -1;
	case 0:
		return 0;
	default:
		if (!n.sent)
			log_info("msg=\"follow-up not sent: the person blocked the account or "
			    "reached the monthly limit\" kind=%s subject=%s limit=%d", kind,
			    subject, cp->reminders_per_month);
		return n.sent;
	}
}

int
referral_remind_unshared(struct handler_ctx *hc, const struct config_campaign *cp,
    const struct nudge_code *c)
{
	const struct config *cf = hc->cfg;
	const struct config_rep *rep;
	const struct config_message *invite;
	struct event ev = { .platform = PLATFORM_LINE, .channel = c->channel,
	    .user_id = c->user_id };
	struct msg_vars vars;
	char *name = NULL, *contact = NULL, *invite_url = NULL, *share_url = NULL;
	int rc;

	if ((rc = take_for_person(hc, cp, "remind", c->code, c->channel, c->user_id)) != 1)
		return rc;
	rc = -1;
	chat_vars(hc, &ev, &vars, &name);
	referral_rep_vars(hc, &ev, &vars, &rep, &contact);
	invite_url = xasprintf("%s/r/%s", cf->public_url, c->code);
	msg_vars_set(&vars, "sender_name", name ? name : cf->referral.sender_name_fallback);
	msg_vars_set(&vars, "code", c->code);
	msg_vars_set(&vars, "invite_url", invite_url);
	/* The same invite the customer was given (referral_invite.c). */
	invite = config_message(cf, "invite_no_rep");
	if (rep != NULL || invite == NULL)
		invite = config_message(cf, "invite");
	if (invite == NULL || (share_url = invite_share_url(invite, &vars)) == NULL) {
		hc->error = "the config has no invite to share";
		goto done;
	}
	msg_vars_set(&vars, "share_url", share_url);
	if (chat_push_named(hc, c->channel, c->user_id, "referral_reminder", &vars) == -1)
		goto done;
	rc = 1;
done:
	free(share_url);
	free(invite_url);
	free(contact);
	free(name);
	return rc;
}

int
referral_ask_after_won(struct handler_ctx *hc, const struct referral_row *r)
{
	const struct config_campaign *cp = config_campaign(hc->cfg, r->campaign);
	const struct config_rep *rep;
	struct event ev = { .platform = PLATFORM_LINE, .channel = r->channel,
	    .user_id = r->referee_id };
	struct msg_vars vars;
	char id[24], *name = NULL, *contact = NULL;
	int rc;

	if (cp == NULL || !cp->ask_after_won)
		return 0;
	snprintf(id, sizeof(id), "%lld", (long long)r->id);
	if ((rc = take_for_person(hc, cp, "ask", id, r->channel, r->referee_id)) != 1)
		return rc;
	chat_vars(hc, &ev, &vars, &name);
	referral_rep_vars(hc, &ev, &vars, &rep, &contact);
	rc = chat_push_named(hc, r->channel, r->referee_id, "referral_ask_after_won", &vars);
	free(contact);
	free(name);
	return rc == -1 ? -1 : 1;
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
