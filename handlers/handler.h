/* handler.h: the handler interface, what dispatch.c sees of handlers/. A handler gets
 * one stored event and a narrow context: the config snapshot, the store (inside the
 * event's transaction), the database's salt and the time. It cannot reach the network,
 * the HTTP server or the daemon: what it sends, it writes to the outbox (outmsg.h), and
 * a unit test drives it with a fixed clock. */
#ifndef SHOKAI_HANDLER_H
#define SHOKAI_HANDLER_H

#include "../daemon/base/base.h"
#include "../daemon/model/model.h"
#include "../daemon/config/config.h"
#include "../daemon/store/store.h"
#include "../daemon/outbound/outmsg.h"

enum handler_result { HANDLER_DONE, HANDLER_NOT_MINE, HANDLER_FAILED };

struct handler_ctx {
	const struct config	*cfg;		/* the snapshot current when the event ran */
	struct store		*store;		/* inside the event's transaction */
	const unsigned char	*salt;		/* 16 bytes: the database's secret */
	int64_t			 now_ms;	/* wall clock: what "now" is for this event */
	const char		*error;		/* set with HANDLER_FAILED: why */
	const char		*operator_name;	/* who acts as ACTOR_OPERATOR (a console
						   login, shokaictl:USER); NULL: "operator" */
};

struct handler {
	const char	*name;
	enum handler_result (*handle)(struct handler_ctx *, const struct event *);
};

/* table.c: the handlers dispatch tries, in order. */
extern const struct handler *const handler_table[];

/* referral_click.c: the one behaviour on the request path, for GET /r/{code} and
 * GET /r/{code}/rep (to_rep: the rep's contact, http_invite.c). Runs inside the
 * caller's transaction; CLICK_GO fills out. */
enum click_result {
	CLICK_GO,		/* redirect to out->url (hc->error: the click was
				 * not recorded, roll back) */
	CLICK_UNKNOWN,		/* no such code */
	CLICK_OVER,		/* the campaign (or its channel) is over */
	CLICK_ERROR,		/* the code could not be looked up: hc->error */
};
struct click_answer {
	char		*url;		/* owned by the caller */
	const char	*channel;	/* the snapshot's: valid while hc->cfg is */
};
enum click_result referral_click(struct handler_ctx *, const char *code, int to_rep,
    const char *client_hash, struct click_answer *out);

/* referral_rules.c: the claim rules, one table that the claim handler, the store and
 * the report read. Rules with a check are tried in table order against a found code. */
enum claim_reason {
	CLAIM_CAMPAIGN_CLOSED,
	CLAIM_SELF_REFERRAL,
	CLAIM_ALREADY_REFERRED,
	CLAIM_MUTUAL_REFERRAL,
	CLAIM_RE_ADDED_AFTER_BLOCK,
	CLAIM_EXISTING_FRIEND,
	CLAIM_REFERRER_CAP,
	CLAIM_UNKNOWN_CODE,
	CLAIM_TOO_MANY_WRONG_CODES,
	CLAIM_REASON_COUNT
};
struct claim_facts {
	const struct event		*ev;		/* the friend's message */
	const struct refcode_owner	*owner;		/* the code's referrer */
	const struct config_campaign	*campaign;	/* NULL: no longer configured */
	/* Filled by the rules as they go, so two rules never read the same row twice. */
	int				 known_before;	/* 0 not yet read, else 1 + kind */
};
struct claim_rule {
	const char	*reason;	/* referral_events.reason of the rejection */
	const char	*report_column;	/* rules may share a column */
	/* 1 when the claim breaks the rule; NULL for rules decided elsewhere. */
	int		(*check)(struct handler_ctx *, struct claim_facts *);
	int		 wrong_code;	/* counts toward the sender's wrong codes a day */
};
extern const struct claim_rule claim_rules[CLAIM_REASON_COUNT];
/* The first rule the claim breaks, or NULL. */
const struct claim_rule *claim_broken_rule(struct handler_ctx *, struct claim_facts *);
/* 1 when a claim that broke no rule waits for an operator (the campaign's velocity).
 * The rules and this only read: shokaictl rules replay runs them on recorded claims. */
int claim_velocity_held(struct handler_ctx *, const struct config_campaign *,
    const char *code);

/* reward_issue.c: a reward's moves, each asked of the state machine first. */
/* One move by actor (ACTOR_*), with the event that reports count: 1 moved, 0 the row
 * changed meanwhile, -1 refused or a store error (why says which). */
int reward_move(struct handler_ctx *, const struct reward_row *, enum reward_state to,
    unsigned actor, const char *coupon, const char *note, char *why, size_t whylen);
/* referral_operator.c: an operator's move of a referral (the console): asked of the
 * state machine, written as a `state` event with the operator as actor; rewards that
 * fall due follow, and a held claim let through is completed as a claim would have
 * been (the friend tied to the rep, the rep notified). 1 moved, 0 it changed meanwhile,
 * -1 a store error, -2 refused (no such referral, or the state machine said no); why
 * says what. */
int referral_operator_move(struct handler_ctx *, int64_t id, enum ref_state to,
    char *why, size_t whylen);
/* A held claim past its campaign's review deadline gets the campaign's default outcome
 * (the rewards tick asks once a minute). 1 moved, 0 not due, -1 a store error. */
int referral_review_expired(struct handler_ctx *, const struct referral_row *);
/* referrer_ask.c: an operator's decision on a typed name that matched no customer or
 * several: with a code (the referrer the operator found), a claim on it by the claim
 * rules, let through at once (the referral is claimed, rewards and the rep follow); without,
 * dismissed. 1 done, -2 refused (why says it), -1 a store error. In the caller's
 * transaction. */
int referrer_ask_decide(struct handler_ctx *, const char *channel, const char *user_id,
    const char *code, char *why, size_t whylen);

/* handoff.c: a customer waiting for a person. */
/* Opens a handoff for the event's customer and tells who answers (nothing new while one
 * is open). reason: what asked (auto_replies[3], postback:contact_rep). 0, or -1 with
 * hc->error. */
int handoff_start(struct handler_ctx *, const struct event *, const char *reason);
/* 1 while the bot stays quiet for the event's customer, 0, or -1 with hc->error. */
int handoff_quiet(struct handler_ctx *, const struct event *);
/* One of store_handoffs_due's rows (the handoff tick): expired, or escalated to the
 * branch's managers. 1 moved, 0 it changed meanwhile, -1 a store error. */
int handoff_due(struct handler_ctx *, const struct json_t *row);
/* The console, inside its transaction: a person's answer pushed under their name
 * (login: operator:LOGIN in the log), resolving, and having seen the conversation
 * (LINE's mark-as-read when conversations.mark_as_read). handoff_reply: 0, or -1 with
 * hc->error; handoff_close: 1 resolved, 0 none open, -1; handoff_seen: 1 when it
 * recorded something (the first look at an open handoff, a mark-as-read), 0, -1. */
int handoff_reply(struct handler_ctx *, const char *channel, const char *user,
    const char *text, const char *login, const char *name);
int handoff_close(struct handler_ctx *, const char *channel, const char *user,
    const char *by);
int handoff_seen(struct handler_ctx *, const char *channel, const char *user,
    const char *by);

/* What the rewards tick does with one due reward, inside its transaction. */
enum reward_step {
	REWARD_STEP_NONE,	/* waits: an operator approves, or it moved meanwhile */
	REWARD_STEP_ISSUED,	/* a coupon was taken and the thanks queued */
	REWARD_STEP_POOL_EMPTY,	/* approved, waiting for coupons */
	REWARD_STEP_FAILED,	/* a store error: hc->error; roll back */
};
enum reward_step reward_advance(struct handler_ctx *, struct reward_row *);

#endif
