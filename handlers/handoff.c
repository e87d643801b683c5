/* handoff.c: a customer who asked for a person. Opening a handoff marks the
 * conversation waiting, tells the people who answer on LINE WORKS (the customer's rep,
 * else the on-duty reps of the rep's branch, else the operators' room) with the last
 * messages and a link to the conversation in the console, and keeps the bot quiet for
 * that customer (keyword replies and the fallback; referral codes and menu taps still
 * work) until a person resolves it or handoff.quiet_for runs out. Nobody answering
 * within handoff.escalate_after, counted in business hours, tells the branch's
 * managers (else the operators' room), once. People answer from the console: a push
 * under the operator's (or the rep's) name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "handlers.h"

#define NOTICE_MESSAGES		5	/* the customer's last messages in a notice */
#define NOTICE_LINE_CHARS	80	/* each cut to this many characters */
#define NOTICE_MAX_PEOPLE	16

/* Who hears of a handoff: LINE WORKS members, or the operators' room. */
struct audience {
	const char	*members[NOTICE_MAX_PEOPLE];
	size_t		 n;
	const char	*room;
	char		 label[96];	/* handoffs.notified: rep:R001, on_duty:shinjuku */
};

static void
add_member(struct audience *a, const struct config_rep *r)
{
	if (r != NULL && r->works_user_id != NULL && a->n < NOTICE_MAX_PEOPLE)
		a->members[a->n++] = r->works_user_id;
}

static void
add_reps(const struct config *cf, struct audience *a, char *const *codes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		add_member(a, config_rep(cf, codes[i]));
}

/* A new handoff: the rep, else the rep's branch on duty, else the operators. An
 * escalation: the branch's managers, else the operators. */
static void
audience_for(const struct config *cf, const struct config_rep *rep, int escalation,
    struct audience *a)
{
	const struct config_branch *b = rep ? rep->branch : NULL;

	memset(a, 0, sizeof(*a));
	if (!escalation && rep != NULL) {
		add_member(a, rep);
		snprintf(a->label, sizeof(a->label), "rep:%s", rep->code);
	}
	if (a->n == 0 && b != NULL) {
		if (escalation)
			add_reps(cf, a, b->managers, b->n_managers);
		else
			add_reps(cf, a, b->on_duty, b->n_on_duty);
		snprintf(a->label, sizeof(a->label), "%s:%s", escalation ? "managers" :
		    "on_duty", b->code);
	}
	if (a->n == 0) {
		a->room = cf->handoff.operators_channel;
		snprintf(a->label, sizeof(a->label), "%s", a->room ? "operators" : "none");
	}
}

/* The customer's last texts, a quoted line each, cut to whole characters. */
static char *
last_messages(struct handler_ctx *hc, const char *channel, const char *user)
{
	json_t *rows = NULL, *row;
	size_t i;
	char *out = xstrdup(""), *next;

	if (store_conversation_last_in(hc->store, channel, user, NOTICE_MESSAGES,
	    &rows) == -1)
		return out;
	json_array_foreach(rows, i, row) {
		const char *t = json_string_value(json_object_get(row, "text"));
		size_t at;

		if (t == NULL || strcmp(json_string_value(json_object_get(row, "kind")),
		    "text") != 0)
			continue;
		at = utf8_prefix(t, NOTICE_LINE_CHARS);
		next = xasprintf("%s%s> %.*s%s", out, out[0] ? "\n" : "", (int)at, t,
		    t[at] != '\0' ? "…" : "");
		free(out);
		out = next;
	}
	json_decref(rows);
	return out;
}

/* Tells the audience: message (handoff_notice or handoff_escalation) rendered for the
 * customer. 0, or -1 with hc->error. */
static int
tell(struct handler_ctx *hc, const char *message, const struct audience *a,
    const char *channel, const char *user, const struct config_rep *rep,
    int64_t opened_at)
{
	const struct config *cf = hc->cfg;
	struct msg_vars vars = { 0 };
	struct profile p;
	char *text, *lines, *page, *link, when[32];
	time_t t = (time_t)(opened_at / 1000);
	struct tm tm;
	int rc = 0;

	if (a->n == 0 && a->room == NULL) {
		log_warnx("msg=\"nobody to tell of a handoff\" channel=%s hint=\"set "
		    "handoff.operators_channel\"", channel);
		return 0;
	}
	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%m/%d %H:%M", &tm);
	memset(&p, 0, sizeof(p));
	store_profile_get(hc->store, channel, user, &p);
	lines = last_messages(hc, channel, user);
	page = xasprintf("/conversations/%s/%s", channel, user);
	link = config_console_link(cf, page);
	msg_vars_set(&vars, "company_name", cf->company_name ? cf->company_name : "");
	msg_vars_set(&vars, "customer_name", p.display_name ? p.display_name :
	    cf->wording.display_name);
	msg_vars_set(&vars, "rep_name", rep ? rep->name : cf->wording.no_rep);
	msg_vars_set(&vars, "opened_at", when);
	msg_vars_set(&vars, "last_messages", lines);
	msg_vars_set(&vars, "console_url", link ? link : "");
	text = chat_text_named(hc, message, PLATFORM_WORKS, &vars);
	if (text == NULL)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < a->n; i++)
		if (outmsg_works(hc->store, cf->handoff.bot, WORKS_TO_USER, a->members[i],
		    outmsg_works_text(text)) == -1)
			rc = -1;
	if (rc == 0 && a->room != NULL && outmsg_works(hc->store, cf->handoff.bot,
	    WORKS_TO_CHANNEL, a->room, outmsg_works_text(text)) == -1)
		rc = -1;
	if (rc == -1 && hc->error == NULL)
		hc->error = "cannot queue the handoff notice";
	free(text);
	free(lines);
	free(page);
	free(link);
	profile_clear(&p);
	return rc;
}

/* The customer's rep as the config knows them now; NULL for none. */
static const struct config_rep *
rep_of(struct handler_ctx *hc, const char *channel, const char *user, int *err)
{
	const struct config_rep *rep = NULL;
	char *code = NULL;
	int rc = store_customer_rep(hc->store, channel, user, &code);

	*err = rc == -1;
	if (rc == 1)
		rep = config_rep(hc->cfg, code);
	free(code);
	return rep;
}

int
handoff_start(struct handler_ctx *hc, const struct event *ev, const char *reason)
{
	const struct config *cf = hc->cfg;
	const struct config_rep *rep;
	struct handoff_new h = { .channel = ev->channel, .user_id = ev->user_id,
	    .reason = reason, .opened_at = hc->now_ms };
	struct audience a;
	json_t *open = NULL;
	int64_t id;
	char user[16];
	int rc, err;

	if (ev->platform != PLATFORM_LINE || ev->user_id == NULL)
		return 0;
	if ((rc = store_handoff_get(hc->store, ev->channel, ev->user_id, 1, &open)) == -1)
		goto fail;
	if (rc == 1) {
		int64_t quiet = json_integer_value(json_object_get(open, "quiet_until"));
		int64_t open_id = json_integer_value(json_object_get(open, "id"));

		json_decref(open);
		/* Asked again while people know: nothing new to tell them. */
		if (quiet > hc->now_ms)
			return 0;
		if (store_handoff_update(hc->store, open_id, HANDOFF_EXPIRED, hc->now_ms,
		    NULL) == -1)
			goto fail;
	}
	rep = rep_of(hc, ev->channel, ev->user_id, &err);
	if (err)
		goto fail;
	audience_for(cf, rep, 0, &a);
	h.rep_code = rep ? rep->code : NULL;
	h.branch = rep && rep->branch ? rep->branch->code : NULL;
	h.notified = a.label;
	h.quiet_until = hc->now_ms + cf->handoff.quiet_ms;
	h.escalate_at = cf->handoff.escalate_ms > 0 ? config_hours_add(&cf->business_hours,
	    hc->now_ms, cf->handoff.escalate_ms) : 0;
	if (store_handoff_open(hc->store, &h, &id) == -1)
		goto fail;
	if (tell(hc, "handoff_notice", &a, ev->channel, ev->user_id, rep, hc->now_ms) == -1)
		return -1;
	log_user(ev->user_id, user);
	log_info("msg=\"handoff opened\" handoff_id=%lld channel=%s user=%s reason=%s "
	    "notified=%s", (long long)id, ev->channel, user, reason, a.label);
	return 0;
fail:
	hc->error = "cannot record the handoff";
	return -1;
}

int
handoff_quiet(struct handler_ctx *hc, const struct event *ev)
{
	int rc;

	if (ev->platform != PLATFORM_LINE || ev->user_id == NULL)
		return 0;
	rc = store_handoff_quiet(hc->store, ev->channel, ev->user_id, hc->now_ms);
	if (rc == -1)
		hc->error = "cannot read the customer's handoff";
	return rc;
}

int
handoff_due(struct handler_ctx *hc, const json_t *row)
{
	const char *channel = json_string_value(json_object_get(row, "channel"));
	const char *user = json_string_value(json_object_get(row, "user_id"));
	int64_t id = json_integer_value(json_object_get(row, "id"));
	int64_t quiet = json_integer_value(json_object_get(row, "quiet_until"));
	const struct config_rep *rep;
	struct audience a;
	int rc, err;

	if (quiet <= hc->now_ms) {
		rc = store_handoff_update(hc->store, id, HANDOFF_EXPIRED, hc->now_ms, NULL);
		if (rc == 1)
			log_info("msg=\"handoff expired; the bot answers again\" handoff_id=%lld",
			    (long long)id);
		return rc;
	}
	/* The rep may have changed since: the managers of the rep's branch today. */
	rep = rep_of(hc, channel, user, &err);
	if (err)
		return -1;
	audience_for(hc->cfg, rep, 1, &a);
	if ((rc = store_handoff_update(hc->store, id, HANDOFF_ESCALATED, hc->now_ms,
	    a.label)) != 1)
		return rc;
	if (tell(hc, "handoff_escalation", &a, channel, user, rep,
	    json_integer_value(json_object_get(row, "opened_at"))) == -1)
		return -1;
	log_info("msg=\"handoff escalated: nobody answered\" handoff_id=%lld notified=%s",
	    (long long)id, a.label);
	return 1;
}

int
handoff_reply(struct handler_ctx *hc, const char *channel, const char *user,
    const char *text, const char *login, const char *name)
{
	const struct config *cf = hc->cfg;
	const struct config_rep *rep = NULL;
	json_t *msg, *open = NULL, *sender = NULL;
	char *author = xasprintf("operator:%s", login);
	int rc = -1, err = 0;

	if (cf->handoff.sender == SENDER_REP)
		rep = rep_of(hc, channel, user, &err);
	if (err)
		goto done;
	if (cf->handoff.sender != SENDER_NONE)
		sender = chat_sender(rep != NULL ? rep->name : name, cf->handoff.sender_icon_url);
	msg = json_pack("{s:s,s:s}", "type", "text", "text", text);
	if (sender != NULL)
		json_object_set_new(msg, "sender", sender);
	if (outmsg_line_push_by(hc->store, channel, user, json_pack("[o]", msg),
	    author) == -1)
		goto done;
	rc = store_handoff_get(hc->store, channel, user, 1, &open);
	if (rc == 1)
		rc = store_handoff_update(hc->store, json_integer_value(json_object_get(open,
		    "id")), HANDOFF_ANSWERED, hc->now_ms, author) == -1 ? -1 : 0;
done:
	if (rc == -1 && hc->error == NULL)
		hc->error = "cannot queue the reply";
	json_decref(open);
	free(author);
	return rc == -1 ? -1 : 0;
}

int
handoff_close(struct handler_ctx *hc, const char *channel, const char *user,
    const char *by)
{
	json_t *open = NULL;
	int rc = store_handoff_get(hc->store, channel, user, 1, &open);

	if (rc == 1)
		rc = store_handoff_update(hc->store, json_integer_value(json_object_get(open,
		    "id")), HANDOFF_RESOLVED, hc->now_ms, by);
	json_decref(open);
	if (rc == -1)
		hc->error = "cannot resolve the handoff";
	return rc;
}

int
handoff_seen(struct handler_ctx *hc, const char *channel, const char *user,
    const char *by)
{
	json_t *open = NULL;
	char *token = NULL;
	int64_t upto = 0;
	int rc, changed = 0;

	rc = store_handoff_get(hc->store, channel, user, 1, &open);
	if (rc == 1 && (rc = store_handoff_update(hc->store, json_integer_value(
	    json_object_get(open, "id")), HANDOFF_SEEN, hc->now_ms, by)) == 1)
		changed = 1;
	json_decref(open);
	/* LINE shows 既読 once a person has seen the messages, not when the bot got them. */
	if (rc != -1 && hc->cfg->conversations.mark_as_read &&
	    (rc = store_conversation_unread(hc->store, channel, user, &upto, &token)) == 1) {
		rc = outmsg_line_mark_read(hc->store, channel, user, token) == -1 ||
		    store_conversation_read(hc->store, channel, user, upto, hc->now_ms) == -1 ?
		    -1 : 0;
		changed = 1;
	}
	free(token);
	if (rc == -1) {
		hc->error = "cannot record that the conversation was seen";
		return -1;
	}
	return changed;
}
