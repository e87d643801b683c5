/* handlers.h: what the handlers share with each other (handler.h is what dispatch sees). */
#ifndef HANDLERS_H
#define HANDLERS_H

#include "handler.h"

/* {company_name}, and {display_name} on LINE (the config's names.display_name when
 * LINE gives no profile: blocked, or LINE is down). */
void chat_vars(struct handler_ctx *, const struct event *, struct msg_vars *,
    char **name_owned);
/* Renders msg and queues it: a reply (push if the token is refused) on LINE, one
 * message per content on LINE WORKS. 0, or -1 with hc->error set. */
int chat_reply(struct handler_ctx *, const struct event *, const struct config_message *,
    const struct msg_vars *);
/* The message called name, as chat_reply: the built-in one (default_wording.yaml) unless
 * the operator's config has its own. Every name a handler sends is in the built-in
 * file (tests/unit/test_wording.c checks it); a missing one is -1 with hc->error. */
int chat_reply_named(struct handler_ctx *, const struct event *, const char *name,
    const struct msg_vars *);
/* As chat_reply_named, pushed on LINE to another person (the referrer). */
int chat_push_named(struct handler_ctx *, const char *channel, const char *to,
    const char *name, const struct msg_vars *);
/* LINE's sender for messages shown as from a person: the name cut to LINE's 20
 * characters, and the icon. NULL when LINE would refuse the name (empty, or with
 * "LINE" in it): the message then comes from the account. */
struct json_t *chat_sender(const char *name, const char *icon_url);
/* The sender of messages to a referral's friend: the rep, where the campaign's
 * referee_sender says so; else NULL (the account). */
struct json_t *referee_sender(const struct config_campaign *, const struct config_rep *);
/* As chat_reply_named and chat_push_named, each LINE message shown as from sender
 * (consumed; NULL: from the account). */
int chat_reply_named_as(struct handler_ctx *, const struct event *, const char *name,
    const struct msg_vars *, struct json_t *sender);
int chat_push_named_as(struct handler_ctx *, const char *channel, const char *to,
    const char *name, const struct msg_vars *, struct json_t *sender);
/* The first text of the message called name, rendered for platform (a LINE WORKS
 * notification's text, under its buttons). The caller frees it; NULL with hc->error. */
char *chat_text_named(struct handler_ctx *, const char *name, enum platform,
    const struct msg_vars *);
int chat_link_menu(struct handler_ctx *, const struct event *,
    const struct config_richmenu *);
/* The first rule that applies to already normalised text (autoreply.c). */
const struct config_rule *autoreply_match(const struct config *, enum platform,
    const char *channel, const char *normalised, time_t now);
/* Runs a postback action as if tapped (postback.c); auto-replies use it too. */
enum handler_result postback_run(struct handler_ctx *, const struct event *,
    const struct postback *);

/* referral_invite.c */
enum handler_result referral_invite(struct handler_ctx *, const struct event *);
/* Everything an invite shows, owned; vars point into it until invite_texts_clear. */
struct invite_texts {
	char	*name, *contact, *sender_short, *rep_short;
	char	*invite_url, *rep_link_url, *invite_text, *share_url;
	char	 code_display[REFCODE_LEN + 2];
};
/* The customer's invite for code: {sender_name} {sender_short_name} {rep_short_name}
 * {code} {code_display} {invite_url} {rep_link_url}, the rep's (referral_rep_vars),
 * and the invite itself as {invite_text} and behind {share_url}. 0, or -1 with
 * hc->error (the config has no invite); t is cleared by the caller either way. */
int referral_invite_vars(struct handler_ctx *, const struct event *, const char *code,
    struct msg_vars *, const struct config_rep **rep, struct invite_texts *);
void invite_texts_clear(struct invite_texts *);
/* How a friend reaches rep: the rep's own link (or the one fetched from LINE WORKS, in
 * *owned for the caller to free), else the branch's, else the company's; "" if none. */
const char *referral_contact_url(struct handler_ctx *, const struct config_rep *rep,
    char **owned);
/* {rep_name}, {branch_name}, {rep_contact_url} for the customer; *rep may be NULL.
 * *owned holds a string vars point into: free it after rendering. */
void referral_rep_vars(struct handler_ctx *, const struct event *, struct msg_vars *,
    const struct config_rep **rep, char **owned);

/* referral_status.c: the referral.status postback flow. */
enum handler_result referral_status(struct handler_ctx *, const struct event *);

/* referral_notify.c */
int referral_notify_rep(struct handler_ctx *, const struct event *,
    const struct config_rep *, int64_t referral_id, const char *referrer_id,
    const char *friend_name);
/* A button's signature: HMAC-SHA256 keyed by the salt, 64 hex chars + NUL. */
#define BUTTON_SIG_LEN 64
void referral_button_sig(const unsigned char *salt, int64_t id, enum ref_state to,
    char out[BUTTON_SIG_LEN + 1]);

/* referral_reward.c: a referral reached state to: rewards that fall due now. */
int referral_reached(struct handler_ctx *, const struct referral_row *, enum ref_state to);
/* The user blocked the account: their referral's pending rewards voided where the
 * campaign says void_on: [block]. 0 (also when there is nothing to void), -1. */
int referral_blocked(struct handler_ctx *, const char *channel, const char *user_id);

/* referral_followup.c and referral_manager.c: follow-ups, each once (a nudges row in
 * the caller's transaction). Each returns 1 when it queued a message, 0 when nothing
 * was to be sent (taken before; over the person's monthly limit or blocked; nobody to
 * tell), -1 with hc->error. When each is due is asked of them too, by the follow-up
 * tick and by tests with a fixed clock. */
/* referral_followup.c: customers. */
/* The issue times [lo, hi) of codes whose reminder is due at now (at most two days
 * late). */
void referral_remind_window(const struct config_campaign *, int64_t now, int64_t *lo,
    int64_t *hi);
/* One reminder of an invite nobody opened: the invite again, behind a share button. */
int referral_remind_unshared(struct handler_ctx *, const struct config_campaign *,
    const struct nudge_code *);
/* A referral was won: its friend is asked whether they know someone else (when the
 * campaign's reminders.ask_after_won is on). */
int referral_ask_after_won(struct handler_ctx *, const struct referral_row *);
/* referrer_ask.c: a new friend without a code is asked who referred them. */
/* The follow times [lo, hi) of friends whose question is due at now (at most a day
 * late). */
void referral_ask_window(const struct config *, int64_t now, int64_t *lo, int64_t *hi);
/* Asks the friend once (f: channel, user_id): 1 asked, 0 not now (asked before, or a
 * person has the conversation), -1 with hc->error. */
int referral_ask_referrer(struct handler_ctx *, const struct nudge_code *f);
/* A typed name as it is compared with customers' LINE names; the caller frees. */
char *referrer_name_key(const char *text);
/* referral_manager.c: branch managers. */
/* 1 with today (the local date) when the weekly digest is due at now: its day, from its
 * time to the day's end. */
int referral_digest_due(const struct config *, int64_t now, char today[11]);
/* 1 when a referral waiting since then is past its escalation deadline at now (open
 * time of business_hours). */
int referral_escalate_due(const struct config *, int64_t since, int64_t now);
/* A referral waited for its rep past the deadline: its branch's managers are told. */
int referral_escalate(struct handler_ctx *, const struct figures_waiting *);
/* The branch's weekly digest on the local date today (the 7 days before it beside the
 * 7 before those), counted by store_figures; read-only, so the caller may run it
 * outside its transaction. The caller frees; NULL with hc->error. */
char *referral_digest_text(struct handler_ctx *, const struct config_branch *,
    const char *today);
/* Sends text to the branch's managers once for today. */
int referral_digest_send(struct handler_ctx *, const struct config_branch *,
    const char *today, const char *text);

#endif
