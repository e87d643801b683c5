/* store.h: the SQLite database behind functions; nothing outside store/ knows SQL. The
 * one public header of daemon/store/, in sections named after the file that owns them. */
#ifndef SHOKAI_STORE_H
#define SHOKAI_STORE_H

#include <stdatomic.h>

#include "../base/base.h"
#include "../model/model.h"

/* store.c: owns the sqlite3 handle and every prepared statement. */
struct store;
/* NULL with why saying what was wrong (the file, a pragma, the schema). */
struct store *store_open(const char *path, int synchronous_full, int busy_timeout_ms,
    char *why, size_t whylen);
/* A read-only connection beside the writer (reader.c). */
struct store *store_open_reader(const char *path, int busy_timeout_ms, char *why,
    size_t whylen);
void store_close(struct store *);
void store_set_busy_timeout(struct store *, int ms);
/* The connection's page cache, in MiB (SQLite's default is 2). The console's reader
 * wants 64: a branch's friends (store_friends) look up 170,000 users in an index of
 * 60 MiB on the scale database, 0.37 s read through the kernel, 0.20 s from SQLite's
 * own cache once warm. 0, or -1. */
int store_set_cache_mb(struct store *, int mb);
/* store_clicks.c: clicks counted per local day as they are written (click_counts):
 * count those not yet counted (0, or -1); 1 when every event's are, in this process's
 * time zone, 0 when not (the figures scan instead), -1 on error. */
int store_clicks_count_new(struct store *);
int store_clicks_counted(struct store *);
int store_begin(struct store *);
int store_commit(struct store *);
/* A unit inside the open transaction (a savepoint): store_unit_end keeps its writes, or
 * with keep 0 undoes them and leaves the rest of the transaction as it was. */
int store_unit_begin(struct store *);
int store_unit_end(struct store *, int keep);
void store_rollback(struct store *);
/* A transaction whose commit skips the fsync; only for writes a replay repairs. */
int store_begin_unsynced(struct store *);
/* The live connection's PRAGMA synchronous (2: FULL, 1: NORMAL), or -1. */
int store_synchronous(struct store *);
/* The last database error, or why the store refuses writes (store_health). */
const char *store_errmsg(struct store *);
int store_meta_salt(struct store *, unsigned char out[SALT_LEN]);
/* n (at most STORE_RANDOM_BUF) random bytes for the rows this connection writes (an
 * outbox row's retry key), from a buffer OpenSSL refills STORE_RANDOM_BUF at a time:
 * each RAND_bytes call asks the kernel for the process id (its fork check), a system
 * call per row otherwise. The connection's thread only; shokaid never forks. */
#define STORE_RANDOM_BUF	256
void store_random(struct store *, void *out, size_t n);

/* store_health.c: is the storage what the daemon needs? A database that cannot record
 * what happens must not half-work: while it cannot be written every transaction is
 * refused (store_begin fails: webhooks get 503, the outbox sends nothing), until a
 * write goes through again. */
/* Checks, before anything opens them, that the database's folder can be written and
 * that the database, its -wal and its -shm, where they exist, are regular files owned
 * by this user that it can read and write. 0, or -1 with why naming the file and what
 * is wrong. */
int store_check_files(const char *path, char *why, size_t whylen);
/* Proves the open store can be written (a committed write to meta), remembers which
 * files it uses and turns on health tracking. 0, or -1 with why. */
int store_watch_start(struct store *, const char *path, char *why, size_t whylen);
/* Looks again (a timer on the loop, every half second): the files still checkable and
 * the same ones; when unhealthy, a write probe, and healthy again if it goes through.
 * Logs each change of state. */
#define STORE_WATCH_MS	500
void store_watch(struct store *);
/* NULL while the database takes writes; else why not, for /healthz and logs. */
const char *store_health(const struct store *);

/* store_inbox.c: the inbox and the quarantine. */
/* Inserts a request's events; duplicates are ignored. On return *inserted is the number
 * of new inbox rows. Must be inside store_begin/commit. */
int store_inbox_put(struct store *, enum platform, const char *channel,
    struct event_list *, int *inserted);
int store_quarantine_put(struct store *, enum platform, const char *channel,
    const char *reason, const char *body, size_t len);
/* Appends up to max pending inbox rows with ids above after_id to out, oldest first. */
int store_inbox_pending(struct store *, int64_t after_id, size_t max,
    struct event_list *out);
/* PRAGMA data_version: changes when another connection (shokaictl, the console) commits,
 * so rows read earlier may be stale; -1 on error. */
int64_t store_inbox_version(struct store *);
int store_inbox_mark(struct store *, int64_t id, const char *state, const char *error);
int64_t store_inbox_backlog(struct store *);
/* store_metrics.c: {inbox_backlog, outbox_backlog, coupon_pools: [{pool, free}] (pools
 * with a free code), inbox_oldest_wait_ms, outbox: [{platform, state, n}], referrals:
 * [{state, n}]} (the last two empty unless full), or NULL when a query failed. */
struct json_t *store_metrics_read(struct store *, int64_t now_ms, int full);

/* store_outbox.c: the transactional outbox. */
/* One outbound message, as the outbox table holds it. */
struct outbox_msg {
	int64_t		 id;
	enum platform	 platform;
	char		*channel;
	char		*kind;		/* "reply", "push", "multicast", "works_user", ... */
	char		*target;
	char		*body;		/* request body, sent as is */
	char		*fallback_to;	/* reply only: push here if the token is refused */
	char		*retry_key;
	char		*dedupe_key;
	int		 attempts;
	int		 ambiguous;	/* an earlier try may have been delivered */
	int64_t		 created_at;
	int64_t		 next_attempt_at;	/* 0: now */
};
void outbox_msg_clear(struct outbox_msg *);	/* store_outbox.c */
/* A new row (m->id set when inserted; a dedupe_key already there inserts nothing). */
int store_outbox_put(struct store *, struct outbox_msg *, int *inserted);
/* Rows this connection has inserted into the outbox for p since it opened (a rolled
 * back one counts too): the outbox's book looks for due rows of p only when it moved. */
uint64_t store_outbox_puts(const struct store *, enum platform p);
int store_outbox_due(struct store *, enum platform, int64_t now, size_t max,
    struct outbox_msg **out, size_t *n);
int store_outbox_recover(struct store *);
int store_outbox_trying(struct store *, int64_t id);
int store_outbox_untry(struct store *, int64_t id);
int store_outbox_result(struct store *, const struct outbox_msg *, const char *state,
    int64_t next_attempt_at, int status, const char *error);
int64_t store_outbox_backlog(struct store *);
int store_outbox_requeue(struct store *, int64_t id);

/* store_chat.c: chat state: profiles, friends, reply cooldowns, deployed rich menus. */
/* A LINE user's profile as cached. */
struct profile {
	char	*display_name;
	char	*picture_url;
	char	*language;
	int	 found;		/* 0: LINE answered 404 (blocked, unknown) */
	int64_t	 fetched_at;	/* unix ms */
};
void profile_clear(struct profile *);
/* 1 and out filled when cached, 0 when not, -1 on a database error. */
int store_profile_get(struct store *, const char *channel, const char *user_id,
    struct profile *out);
int store_profile_put(struct store *, const char *channel, const char *user_id,
    const struct profile *);
struct user_record {
	int64_t	 first_seen_at;
	int	 follows;
	int64_t	 unfollowed_at;		/* 0: never blocked */
};
int store_user_follow(struct store *, const char *channel, const char *user_id, int64_t at,
    int *follows);
int store_user_unfollow(struct store *, const char *channel, const char *user_id,
    int64_t at);
int store_user_seen(struct store *, const char *channel, const char *user_id, int64_t at);
int store_user_get(struct store *, const char *channel, const char *user_id,
    struct user_record *);
int store_cooldown_take(struct store *, const char *channel, const char *user_id,
    const char *rule, int64_t now, int64_t cooldown_ms);
int store_richmenu_get(struct store *, const char *channel, const char *menu_id,
    char **line_id, char **hash);
int store_richmenu_put(struct store *, const char *channel, const char *menu_id,
    const char *hash, const char *line_id);

/* store_referral.c: referral state. */
struct refcode_owner {
	char	*channel;
	char	*user_id;
	char	*campaign;
	int64_t	 issued_at;
};
/* One row of referral_events: what happened, to whom, by whom and why. */
struct ref_event {
	int64_t		 at;		/* 0: now */
	const char	*type;		/* issued, clicked, claimed, rejected, held, state, ... */
	const char	*channel, *campaign, *code;
	int64_t		 referral_id;
	const char	*referrer_id, *referee_id, *rep_code, *branch;
	const char	*reason, *actor, *client_hash;
};
/* The customer's stable code for the campaign; *issued is 1 when made just now. */
int store_refcode_issue(struct store *, const char *channel, const char *user_id,
    const char *campaign, int64_t at, char code[REFCODE_LEN + 1], int *issued);
/* 1 with the code's owner, 0 for an unknown code, -1 on error. */
int store_refcode_lookup(struct store *, const char *code, struct refcode_owner *);
void refcode_owner_clear(struct refcode_owner *);
/* 1 with the assigned rep's code (caller frees), 0 when the customer has none. */
int store_customer_rep(struct store *, const char *channel, const char *user_id,
    char **rep);
int store_customer_assign(struct store *, const char *channel, const char *user_id,
    const char *rep, const char *source, int64_t at);
/* 1 when the customer is a partner (tagged partner), 0 when not, -1. */
int store_customer_partner(struct store *, const char *channel, const char *user_id);
int store_ref_event(struct store *, const struct ref_event *);
struct referral {
	const char	*channel, *campaign, *code, *referrer_id, *referee_id, *rep_code;
	enum ref_state	 state;
	int64_t		 claimed_at;
};
int store_referral_of_referee(struct store *, const char *channel, const char *referee,
    int64_t *id);
int store_referral_pair(struct store *, const char *channel, const char *referrer,
    const char *referee, int64_t *id);
int64_t store_referrals_since(struct store *, const char *channel, const char *referrer,
    int64_t since);
int64_t store_code_claims_since(struct store *, const char *code, int64_t since);
/* Clicks on the code's rep link (GET /r/{code}/rep) since then. */
int64_t store_code_rep_clicks_since(struct store *, const char *code, int64_t since);
int store_referral_put(struct store *, const struct referral *, int64_t *id);
/* A referral as stored; the strings belong to it (referral_row_clear). */
struct referral_row {
	int64_t		 id;
	char		*channel, *campaign, *code, *referrer_id, *referee_id, *rep_code;
	enum ref_state	 state;
	int64_t		 claimed_at;
};
void referral_row_clear(struct referral_row *);
int store_referral_get(struct store *, int64_t id, struct referral_row *);
int store_referral_set_state(struct store *, int64_t id, enum ref_state from,
    enum ref_state to, int64_t at);
int store_referrals_of_rep(struct store *, const char *rep_code, size_t max,
    struct referral_row **out, size_t *n);
/* Held claims by id after after_id (a cursor: the whole queue is read page by page). */
int store_referrals_held(struct store *, int64_t after_id, size_t max,
    struct referral_row **out, size_t *n);
/* Referrals claimed since: all, won, lost. */
int store_rep_stats(struct store *, const char *rep_code, int64_t since, int64_t counts[3]);
/* Codes issued, friends who came, wins, rewards issued. */
int store_referrer_stats(struct store *, const char *channel, const char *user_id,
    int64_t counts[4]);
/* Rejected claims this person made since a time whose reason is one of reasons. */
int64_t store_wrong_codes_since(struct store *, const char *channel, const char *user_id,
    int64_t since, const char *const *reasons, size_t nreasons);
int store_rep_link_get(struct store *, const char *rep_code, char **url,
    int64_t *fetched_at);
int store_rep_link_put(struct store *, const char *rep_code, const char *url, int64_t at);
/* A rep's login e-mail and the member id LINE WORKS callbacks carry for it. */
int store_rep_member_put(struct store *, const char *login, const char *member_id,
    int64_t at);
/* 1 with the login (caller frees) whose member id this is, 0 when none is known. */
int store_rep_login_of_member(struct store *, const char *member_id, char **login);

/* store_reward.c: rewards and coupon pools. */
/* A pending reward; 0 when that referral, side and stage (the campaign's rewards:
 * index) has one already. */
int store_reward_create(struct store *, int64_t referral_id, const char *side,
    const char *user_id, const char *campaign, const char *pool, int64_t due_at,
    int64_t approve_after, int stage);
/* A reward with its referral's channel and people (reward_row_clear frees). */
struct reward_row {
	int64_t			 id, referral_id;
	char			*side, *user_id, *campaign, *pool, *coupon_code;
	char			*channel, *referrer_id, *referee_id, *rep_code;
	enum reward_state	 state;
	int			 stage;		/* index in the campaign's rewards: */
};
void reward_row_clear(struct reward_row *);
/* The referral's pending rewards (to void them). */
int store_rewards_pending_of(struct store *, int64_t referral_id, size_t max,
    struct reward_row **out, size_t *n);
/* Approved rewards whose pool has no free code: how many wait for an import; -1. */
int64_t store_rewards_waiting_pool(struct store *);
/* Rewards the tick may move: pending past their hold, and approved ones. */
int store_rewards_work(struct store *, int64_t now, size_t max, struct reward_row **out,
    size_t *n);
int store_reward_get(struct store *, int64_t id, struct reward_row *);
int store_reward_set(struct store *, int64_t id, enum reward_state from,
    enum reward_state to, const char *coupon, const char *note, int64_t at);
int store_coupon_take(struct store *, const char *pool, int64_t reward_id, char **code);
int store_coupon_put(struct store *, const char *pool, const char *code, int64_t at);

/* store_conversation.c: the conversation log and handoffs. */
/* One message a customer wrote (in) or was sent (out). */
struct conversation_row {
	const char	*channel, *user_id;
	int64_t		 at;		/* 0: now */
	int		 outbound;
	const char	*kind;		/* in: text, sticker, image, ..., postback, follow,
					 * unfollow; out: message */
	const char	*text;		/* in: the text, or a tap's action; out: the texts */
	const char	*body;		/* in: message_meta; out: NULL (the outbox row's) */
	int64_t		 inbox_id, outbox_id;	/* 0: none */
	const char	*author;	/* out: NULL the bot, operator:LOGIN */
};
int store_conversation_put(struct store *, const struct conversation_row *);
/* The last n messages the customer wrote, oldest first ({at, kind, text}). */
int store_conversation_last_in(struct store *, const char *channel, const char *user_id,
    int n, struct json_t **rows);
/* The newest unread message with LINE's mark-as-read token: 1 with *upto (its id) and
 * *token (caller frees), 0 when none. Then store_conversation_read marks it and those
 * before it read. */
int store_conversation_unread(struct store *, const char *channel, const char *user_id,
    int64_t *upto, char **token);
int store_conversation_read(struct store *, const char *channel, const char *user_id,
    int64_t upto, int64_t at);
/* Retention: the text and bodies of up to max messages older than before (and of
 * their inbox rows and sent outbox rows) deleted; the rows stay. Rows changed, or -1. */
int store_conversation_forget_text(struct store *, int64_t before, int max);
/* 1 while the customer has an open handoff whose quiet time runs past now. */
int store_handoff_quiet(struct store *, const char *channel, const char *user_id,
    int64_t now);
struct handoff_new {
	const char	*channel, *user_id, *reason, *rep_code, *branch, *notified;
	int64_t		 opened_at, quiet_until;
	int64_t		 escalate_at;		/* 0: never */
};
int store_handoff_open(struct store *, const struct handoff_new *, int64_t *id);
/* A handoff as a JSON object (its columns): the customer's open one (open 1), or their
 * latest one (open 0): 1 with *row, 0 none, -1. */
int store_handoff_get(struct store *, const char *channel, const char *user_id, int open,
    struct json_t **row);
/* Open handoffs due for escalation (nobody answered) or past their quiet time. */
int store_handoffs_due(struct store *, int64_t now, int limit, struct json_t **rows);
enum handoff_field {
	HANDOFF_ESCALATED,	/* by: who was told, appended to notified */
	HANDOFF_SEEN, HANDOFF_ANSWERED, HANDOFF_RESOLVED, HANDOFF_EXPIRED
};
/* Rows changed (0: it had been already, or is no longer open), or -1. */
int store_handoff_update(struct store *, int64_t id, enum handoff_field, int64_t at,
    const char *by);

/* The console's lists: handoffs (open ones oldest first, else the closed ones newest
 * first; reps_json: a scope), and a page of a conversation (older than before; 0: the
 * newest), oldest first, outbound messages with their outbox state. */
int store_console_handoffs(struct store *, int open, const char *reps_json, int limit,
    struct json_t **rows);
int store_console_conversation(struct store *, const char *channel, const char *user_id,
    int64_t before, int limit, struct json_t **rows);
/* The announcements the customer was sent that started within [from, to], oldest
 * first ({id, config_id, title, started_at, state}). */
int store_console_announced(struct store *, const char *channel, const char *user_id,
    int64_t from, int64_t to, struct json_t **rows);

/* store_forget.c */
/* A person's personal data removed, their id replaced by pseudonym where counted. */
int64_t store_forget_user(struct store *, const char *user_id, const char *pseudonym);
/* A tester's referral state (codes, referrals and their events, rewards, follow-ups,
 * questions, rep, handoffs, conversation, friendship) deleted in one transaction, so
 * they can rehearse the flow again: rows deleted, or -1. The caller checks they are a
 * tester. */
int64_t store_reset_tester(struct store *, const char *user_id);

/* store_print.c: shokaictl's views. */
enum print_format { PRINT_TABLE, PRINT_CSV, PRINT_JSON };
int store_print_query(struct store *, FILE *, enum print_format, const char *sql,
    const char *const *args, size_t nargs);
int store_print_quarantine(struct store *, FILE *, int64_t id);
/* A function of text for this connection's queries, so a view can word what it prints
 * (shokaictl audit): fn gets its arguments as text (NULL for SQL NULL) and returns a new
 * string, or NULL for SQL NULL. arg must outlive the connection. */
typedef char *(*store_text_fn)(void *arg, const char *const *argv, int argc);
int store_text_function(struct store *, const char *name, int argc, store_text_fn fn,
    void *arg);

/* store_report.c: the referral funnel, grouped by one of these. */
enum report_by {
	REPORT_BY_BRANCH, REPORT_BY_REP, REPORT_BY_CAMPAIGN, REPORT_BY_REFERRER,
	REPORT_BY_PARTNER
};
/* A column of rejected claims: those whose reason is one of the rules' reasons that
 * name this column (the caller's rules table; several reasons may share a column). */
struct report_rejection {
	const char	*reason;
	const char	*column;	/* [a-z0-9_] */
};
/* A name shown beside a code: a rep's (with the rep's branch), a branch's or a
 * campaign's, from the config. */
struct report_name {
	const char	*code, *name, *branch, *branch_name;
};
/* Prints the funnel (issued, clicked, claimed, held, rejected and a column per
 * rejection column, won, lost, rewarded, claimed_won, then the console's click, claim
 * and win rates in percent) per by, counted from referral_events over the local dates
 * from..to (YYYY-MM-DD, both inclusive), as store_print_query does. reps: every rep
 * with its branch (an event without a rep counts for its referral's final rep, and
 * that rep's branch); names: the names beside the codes of the rows; testers_json:
 * config.testers_json, whose events are left out (NULL: none). 0, or -1. */
int store_report(struct store *, FILE *, enum print_format, enum report_by,
    const char *from, const char *to, const struct report_rejection *, size_t n,
    const struct report_name *reps, size_t nreps, const struct report_name *names,
    size_t nnames, const char *testers_json);

/* store_replay.c: `shokaictl rules replay` on a read-only connection. open makes TEMP
 * tables hide referrals and referral_events (the rules then read what the replay
 * decided); claims calls fn for every recorded claim since `since` in order (rejected
 * ones only for the reasons given); record adds a claim the replay lets through;
 * flip and print keep and show the changed decisions; rewards counts a referral's
 * rewards not voided. 0 (or the count), or -1. */
struct replay_claim {
	int64_t		 event_id, at, referral_id;	/* referral_id 0: none (rejected) */
	const char	*type, *reason, *channel, *campaign, *code, *referrer, *referee;
};
int store_replay_open(struct store *, int64_t since);
int store_replay_claims(struct store *, int64_t since, const char *const *reasons,
    size_t nreasons, int (*fn)(void *, const struct replay_claim *), void *arg);
int store_replay_record(struct store *, const struct replay_claim *, int held);
int store_replay_flip(struct store *, const struct replay_claim *, const char *was,
    const char *would_be, int64_t rewards);
int64_t store_replay_rewards(struct store *, int64_t referral_id);
int store_replay_print(struct store *, FILE *, enum print_format);

/* store_figures.c: the console's figures (console-sketch.md, "The figures"), one
 * definition each, for a period, a campaign and a set of branches. shokaictl report
 * counts from the same definitions (store_report.c). */
/* What a figure is counted over. Dates are local (the process's TZ), both inclusive;
 * the events counted are those whose `at` is in [local midnight of from, local
 * midnight of the day after to). */
struct figures_review {
	const char	*campaign;
	int64_t		 within_ms;	/* the campaign's review_within_ms */
};
struct figures_query {
	char			 from[11], to[11];
	const char		*campaign;	/* NULL: every campaign */
	/* all_branches 1: no branch filter (events without a branch too); else the
	 * events recorded with one of these branches, the customers and referrals of
	 * one of these reps (the caller's config maps branches to reps). */
	int			 all_branches;
	const char *const	*branches;
	size_t			 n_branches;
	const char *const	*reps;
	size_t			 n_reps;
	/* held_overdue: a held claim older than its campaign's deadline at now_ms */
	const struct figures_review *reviews;
	size_t			 n_reviews;
	int64_t			 review_default_ms;	/* a campaign not in reviews */
	int64_t			 now_ms;
	/* config.testers_json: events of a tester's code (referrer_id) are not counted;
	 * NULL: no testers. */
	const char		*testers_json;
	/* 1 (with a detail): only what the leaderboards read (detail's groups, open
	 * referrals, days without clicks); the totals stay 0 but claimed_won and the
	 * first-action median. */
	int			 leaders_only;
};
struct figures_reason {
	char	*reason;
	int64_t	 n;
};
/* One period's figures. */
struct figures {
	int64_t	 issued, referrers, friends, clicks, claimed, held, held_overdue;
	int64_t	 rejected, contacted, meeting, won, lost;
	int64_t	 rewards_issued, rewards_pending, rewards_approved, rewards_voided;
	int64_t	 claimed_won;		/* of the period's claims, those won today */
	int64_t	 funnel_contacted;	/* referrals moved to contacted, meeting or won */
	int64_t	 first_action_median_s;	/* -1: no claim of the period acted on yet */
	struct figures_reason *rejected_by;	/* by reason, in reason order */
	size_t	 n_rejected_by;
};
/* A leaderboard row: the period's claims and wins recorded with a branch or a rep. */
struct figures_group {
	char	*code;			/* NULL: events without a branch / rep */
	char	*branch;		/* rep rows: the branch of the rep's events */
	int64_t	 claimed, won, claimed_won;
	int64_t	 first_action_median_s;	/* -1: none */
};
/* Referrals open now (claimed, contacted, meeting) per rep, campaign-filtered. */
struct figures_open {
	char	*rep_code;		/* NULL: no rep */
	int64_t	 n;
};
struct figures_day {
	char	 date[11];
	int64_t	 clicks, claimed, won;
};
struct figures_detail {
	struct figures_group	*branches, *reps;
	size_t			 n_branches, n_reps;
	struct figures_open	*open;
	size_t			 n_open;
	struct figures_day	*days;		/* every day of the period, in order */
	size_t			 n_days;
};
/* 0 with *out but its friends (store_friends) (and *detail when not NULL:
 * leaderboards, open referrals, the days),
 * -1 on a database error or dates that are not YYYY-MM-DD (from after to included).
 * The caller clears both, also after an error. */
int store_figures(struct store *, const struct figures_query *, struct figures *out,
    struct figures_detail *detail);
/* figures.friends of n periods (the same branches) in one pass: with branches it is a
 * join of their customers with users, the dearest figure (0.3 s for a branch of
 * 170,000 customers), so a dashboard's two periods share it. 0, or -1. */
int store_friends(struct store *, const struct figures_query *const *, size_t n,
    int64_t *out);
void figures_clear(struct figures *);
void figures_detail_clear(struct figures_detail *);
/* The referrers with the most claims in the period (with their wins), most first. */
struct figures_referrer {
	char	*channel, *user_id;
	int64_t	 claimed, won;
};
int store_top_referrers(struct store *, const struct figures_query *, size_t limit,
    struct figures_referrer **out, size_t *n);
void figures_referrers_free(struct figures_referrer *, size_t n);
/* The people who reached a funnel stage (issued, clicked, claimed, contacted, won) in
 * the period and went no further, newest first: for issued and clicked the referrer
 * (whose code was not clicked / not claimed), for the others the friend as the
 * referral names them now (a forgotten friend's pseudonym). */
struct funnel_item {
	char	*channel, *user_id, *code, *rep_code;	/* rep_code may be NULL */
	char	*campaign;			/* may be NULL */
	int64_t	 at;				/* when the stage was reached */
	int64_t	 referral_id;			/* 0: none (issued, clicked) */
};
int store_funnel_list(struct store *, const struct figures_query *, const char *stage,
    size_t limit, struct funnel_item **out, size_t *n);
void funnel_items_free(struct funnel_item *, size_t n);
/* Claimed referrals no one has moved yet (waiting for the rep's first action), oldest
 * first, at most per_rep for each of the query's reps (all reps with all_branches);
 * since is when they became claimed. The campaign filter applies, not the period. */
struct figures_waiting {
	char	*rep_code;
	int64_t	 referral_id, since;
};
int store_rep_waiting(struct store *, const struct figures_query *, size_t per_rep,
    struct figures_waiting **out, size_t *n);
void figures_waiting_free(struct figures_waiting *, size_t n);

/* store_readahead.c: every descriptor this process holds on the database file at path
 * reads without readahead (POSIX_FADV_RANDOM); returns how many. Called after each
 * connection to it is opened. */
int store_no_readahead(const char *path);

/* store_checkpoint.c: WAL checkpoints on a private connection and thread, off the event
 * loop: PASSIVE every interval_ms, RESTART when the WAL has taken STORE_WAL_LIMIT since
 * it last started over, TRUNCATE (to zero bytes) when nothing was written for 0.5 s. */
#define STORE_WAL_LIMIT		(16LL * 1024 * 1024)
struct store_checkpointer;
/* readers: how many threads of this process read the database now (NULL: unknown);
 * a RESTART or TRUNCATE gives up at once while there are any, rather than hold every
 * commit while it waits for them. */
struct store_checkpointer *store_checkpointer_start(const char *path, int interval_ms,
    const atomic_int *readers);
void store_checkpointer_stop(struct store_checkpointer *);
/* What the checkpointer saw, for /healthz; all zero without a checkpointer. */
struct store_checkpoint_stats {
	int64_t		wal_bytes;	/* the -wal file's size at the last tick */
	int64_t		wal_max_bytes;	/* the largest size seen since start */
	uint64_t	truncates;	/* idle TRUNCATE checkpoints */
	uint64_t	restarts;	/* RESTART checkpoints (the WAL passed its bound) */
	uint64_t	blocked;	/* RESTART/TRUNCATE put off: a reader held a snapshot */
};
void store_checkpointer_stats(const struct store_checkpointer *,
    struct store_checkpoint_stats *);

/* store_syncer.c: the WAL's fsync on a thread of its own, for commits made with
 * store_begin_unsynced whose effects are announced only once synced (storage_sync.c).
 * The caller numbers its commits (1, 2, ...) and asks for everything up to a number;
 * synced(arg) runs on the syncer's thread after each fdatasync, to wake the caller.
 * NULL (nothing to do apart) unless the store syncs at commits (FULL) and is the
 * daemon's watched store. */
struct store_syncer;
struct store_syncer *store_syncer_start(const struct store *, void (*synced)(void *),
    void *arg);
/* Syncs, soon, every commit numbered up to upto (written before this call). */
void store_syncer_request(struct store_syncer *, uint64_t upto);
struct store_sync_progress {
	uint64_t	covered;	/* the highest number a finished fdatasync covered */
	uint64_t	syncs;		/* fdatasync calls made */
	uint64_t	failures;	/*   of which failed */
};
void store_syncer_progress(struct store_syncer *, struct store_sync_progress *);
/* Requests upto and waits until a finished fdatasync covered it (at stop). */
void store_syncer_wait(struct store_syncer *, uint64_t upto);
/* Finishes what was requested, then stops the thread. NULL is fine. */
void store_syncer_stop(struct store_syncer *);

/* store_console.c: the console's accounts, sessions, tokens, audit log and the one-off
 * query runner its lists use. */
struct json_t;
/* An argument of a one-off statement: text (NULL binds NULL) or an integer. */
struct store_arg {
	const char	*text;
	int64_t		 num;
	int		 is_num;
};
#define SARG_TEXT(s)	((struct store_arg){ .text = (s) })
#define SARG_INT(n)	((struct store_arg){ .num = (n), .is_num = 1 })
/* Every row sql returns as a JSON object keyed by column name, in *rows (an array the
 * caller owns). 0, or -1 (logged). */
int store_query_json(struct store *, const char *sql, const struct store_arg *,
    size_t nargs, struct json_t **rows);
/* The first row only: 1 with *row set, 0 when none, -1. */
int store_query_one(struct store *, const char *sql, const struct store_arg *,
    size_t nargs, struct json_t **row);
/* Runs a statement: rows changed, or -1 (logged). */
int64_t store_run(struct store *, const char *sql, const struct store_arg *, size_t nargs);
int64_t store_last_id(struct store *);
struct console_account {
	int64_t	 id;
	char	*login, *name, *role, *branches, *password;
	int	 disabled;
	int64_t	 seen_at;		/* a token's last use */
};
void console_account_clear(struct console_account *);
/* 1 found, 0 not, -1. */
int store_account_get(struct store *, const char *login, struct console_account *);
int store_session_get(struct store *, const char *token_hash, struct console_account *,
    char **csrf, int64_t *created_at, int64_t *last_seen_at);
int store_token_get(struct store *, const char *token_hash, struct console_account *);
/* detail is free text (an operator's note) or, from store_audit_detail, a JSON object
 * of codes and numbers that the console words in Japanese (its text/ja.json
 * "audit_detail"). */
int store_audit(struct store *, int64_t at, const char *actor, const char *action,
    const char *target, const char *detail, const char *client);
/* An audit detail from facts (stolen, may be NULL): compact JSON to free, or NULL. */
char *store_audit_detail(struct json_t *facts);
/* Failed logins since a time, for one login and for one client address. */
int store_failed_logins(struct store *, const char *login, const char *client,
    int64_t since, int64_t *by_login, int64_t *by_client);

/* store_console_lists.c: the console's lists (rows as JSON objects). A filter left
 * NULL or 0 is not applied; reps_json is a JSON array of rep codes (a scope). */
struct console_list_query {
	const char	*state, *campaign, *reps_json, *like, *code, *user_id;
	int64_t		 from_ms, to_ms, id;
	int		 limit, offset;
	int		 partner;	/* referrals: 0 all, 1 partners', 2 customers' */
};
int store_console_referrals(struct store *, const struct console_list_query *,
    struct json_t **rows, int64_t *total);
int store_console_referral(struct store *, int64_t id, struct json_t **row);
int store_console_timeline(struct store *, int64_t id, struct json_t **rows);
int store_console_notes(struct store *, int64_t id, struct json_t **rows);
int store_console_review(struct store *, const char *campaign, const char *reps_json,
    struct json_t **rows);
int store_console_rewards(struct store *, const struct console_list_query *,
    struct json_t **rows, int64_t *total);
int store_console_reward_refs(struct store *, int64_t id, struct json_t **row);
int store_console_pools(struct store *, struct json_t **rows);
int store_console_customers(struct store *, const struct console_list_query *,
    struct json_t **rows, int64_t *total);
int store_console_customer(struct store *, const char *channel, const char *user_id,
    struct json_t **row);
int store_console_referrals_of(struct store *, const char *channel, const char *user_id,
    struct json_t **made, struct json_t **came_from);
int store_console_ops(struct store *, struct json_t **failed, struct json_t **quarantine);
int store_console_deployed_menus(struct store *, struct json_t **rows);
/* An audit row whose target is a person ("customer:CHANNEL/USER", "typed:CHANNEL/USER"),
 * and that person's LINE display name (NULL for any other target): SQL over audit_log's
 * target, so the console's listing and shokaictl audit name people alike and forgetting
 * a person finds their rows. */
#define STORE_AUDIT_PERSON_TARGET \
	"(target GLOB 'customer:*/*' OR target GLOB 'typed:*/*')"
#define STORE_AUDIT_TARGET_NAME \
	"(SELECT display_name FROM profiles WHERE " STORE_AUDIT_PERSON_TARGET " AND " \
	"channel = substr(target, instr(target, ':') + 1, " \
	"instr(target, '/') - instr(target, ':') - 1) AND " \
	"user_id = substr(target, instr(target, '/') + 1))"
/* Rows of audit_log, newest first, with target_name (STORE_AUDIT_TARGET_NAME). */
int store_console_audit(struct store *, int64_t before, int limit, struct json_t **rows);
int store_console_accounts(struct store *, struct json_t **rows);

/* store_announce.c: announcements, their frozen recipients, their results; tags for
 * the tag segment. */
/* A segment resolved against the config: the channel, and the branch's or rep's rep
 * codes (a JSON array) or the tag. */
struct announce_target {
	const char	*channel;
	enum seg_kind	 kind;
	const char	*reps_json;	/* SEG_BRANCH, SEG_REP */
	const char	*tag;		/* SEG_TAG */
};
/* Friends of the channel in the segment, and those in it who blocked the account. */
int store_announce_count(struct store *, const struct announce_target *, int64_t *friends,
    int64_t *blocked);
struct announce_new {
	const char	*config_id, *title, *message, *channel, *segment, *created_by;
	int64_t		 scheduled_at;
	int		 refused;	/* written refused (a quota too small), with: */
	const char	*reason;
	int64_t		 recipients, blocked, quota_limit, quota_used;	/* limit -1: none */
};
int store_announce_create(struct store *, const struct announce_new *, int64_t *id);
struct announce_row {
	int64_t	 id;
	char	*config_id, *title, *message, *channel, *segment, *state, *created_by, *reason;
	int64_t	 scheduled_at, created_at, started_at, finished_at;	/* 0: not yet */
	int64_t	 recipients, blocked, chunks, quota_limit, quota_used;	/* limit -1: none */
};
void announce_row_clear(struct announce_row *);
/* 1 with the row, 0 when there is none. */
int store_announce_get(struct store *, int64_t id, struct announce_row *);
/* The latest max, newest first (the caller clears and frees them). */
int store_announce_list(struct store *, size_t max, struct announce_row **out, size_t *n);
/* 1 with the scheduled announcement due first at now, 0 when none is due. */
int store_announce_due(struct store *, int64_t now, struct announce_row *);
struct announce_counts {
	int64_t	 recipients, blocked, quota_limit, quota_used;	/* limit -1: none */
};
/* A scheduled announcement ends without a send: state "refused" or "canceled", with
 * the reason and (c may be NULL) the numbers. 1 when it was scheduled, else 0. */
int store_announce_close(struct store *, int64_t id, const char *state, const char *reason,
    const struct announce_counts *);
/* Inside the caller's transaction: the segment's friends become the announcement's
 * recipients; their number. */
int store_announce_freeze(struct store *, int64_t id, const struct announce_target *,
    int64_t *recipients);
/* Each recipient in user id order; each returning -1 stops it (and returns -1). */
int store_announce_recipients(struct store *, int64_t id,
    int (*each)(void *arg, const char *user_id), void *arg);
/* Scheduled to sending (sent when there is nobody to send to) with its numbers. 1 when
 * it was scheduled, else 0. */
int store_announce_started(struct store *, int64_t id, const struct announce_counts *,
    int64_t chunks, int64_t at);
/* Sending announcements none of whose chunks waits any more become sent; how many. */
int store_announce_finish(struct store *, int64_t now);
struct announce_results {
	int64_t	 delivered, failed, pending;	/* people, by their chunk's outbox state */
	int64_t	 chunks_written, chunks_sent;
	int64_t	 follow_until;			/* started_at + 14 days */
	int64_t	 invites, clicks, claims;	/* by the recipients, until follow_until */
};
int store_announce_results(struct store *, int64_t id, int64_t started_at,
    struct announce_results *);
/* A tag for the tag segment; *inserted 0 when the person had it already. */
int store_tags_put(struct store *, const char *channel, const char *tag, const char *user_id,
    int64_t at, int *inserted);
/* store_nudge.c: follow-ups sent once (reminders, the ask after a win, the Monday
 * digest, escalations). A row is taken in the transaction that queues its message. */
struct nudge {
	const char	*kind;		/* remind, ask, digest, escalate */
	const char	*subject;	/* the code, the referral id, the branch */
	const char	*period;	/* NULL or "": once ever; the digest: its date */
	const char	*channel, *person;	/* remind, ask: who got it; else NULL */
	int		 sent;		/* 0: decided and not sent (over the limit) */
	int64_t		 at;
};
/* 1 when taken now, 0 when it was already (nothing to send), -1 on an error. */
int store_nudge_take(struct store *, const struct nudge *);
/* 1 when (kind, subject, period) was taken, 0 when not, -1. */
int store_nudge_exists(struct store *, const char *kind, const char *subject,
    const char *period);
/* 1 unless the person blocked the account (users.is_friend 0), 0 if so, -1. */
int store_nudge_reachable(struct store *, const char *channel, const char *person);
/* Reminders and asks sent to the person at or after since; -1 on an error. */
int64_t store_nudges_sent_since(struct store *, const char *channel, const char *person,
    int64_t since);
/* Codes of the campaign issued in [lo, hi) on which nothing happened since (no click,
 * no claim) and that got no reminder yet, oldest first. */
struct nudge_code {
	char	*code, *channel, *user_id;
	int64_t	 issued_at;
};
int store_codes_unshared(struct store *, const char *campaign, int64_t lo, int64_t hi,
    size_t max, struct nudge_code **out, size_t *n);
void nudge_codes_free(struct nudge_code *, size_t n);
/* Referrals with a rep still waiting for the rep's first move (claimed) since at most
 * before, not yet escalated, longest waiting first (figures_waiting_free frees). */
int store_referrals_unacted(struct store *, int64_t before, size_t max,
    struct figures_waiting **out, size_t *n);

/* store_asks.c: new friends asked whether someone referred them (referrer_asks). */
/* New friends followed in [lo, hi) who sent no code, have no rep and were never
 * asked, oldest first (nudge_code with code NULL and issued_at the follow time). */
int store_ask_due(struct store *, int64_t lo, int64_t hi, size_t max,
    struct nudge_code **out, size_t *n);
/* 1 when the ask was taken now, 0 when the friend was asked before, -1. */
int store_ask_take(struct store *, const char *channel, const char *user_id, int64_t at);
/* 1 with the ask's state (caller frees), 0 when the friend was never asked, -1. */
int store_ask_state(struct store *, const char *channel, const char *user_id,
    char **state);
struct ask_answer {
	const char	*state;		/* yes, no, typed, decided */
	const char	*typed;		/* what the friend typed; NULL: nothing */
	int64_t		 at, matches, referral_id;	/* referral_id 0: none */
};
int store_ask_answer(struct store *, const char *channel, const char *user_id,
    const struct ask_answer *);
/* A customer issued a code, with their LINE name. */
struct named_code {
	char	*code, *user_id, *campaign, *display_name;
};
int store_named_codes(struct store *, const char *channel, const char *campaign,
    size_t max, struct named_code **out, size_t *n);
void named_codes_free(struct named_code *, size_t n);
/* Typed names no single customer matched, for the review queue. */
int store_asks_typed(struct store *, struct json_t **rows);


/* store_backup.c: online backups, restores, and the one-daemon-per-database lock. */
struct store_backup_info {
	int64_t	 bytes;
	int	 schema_version;
	int64_t	 ms;		/* how long the copy and its check took */
};
/* A checked copy of the database at db_path in dest (dest.tmp until checked); dest
 * must not exist unless overwrite. */
int store_backup_to(const char *db_path, const char *dest, int overwrite,
    struct store_backup_info *, char *why, size_t whylen);
/* path is a whole shokai database this version can open (integrity and schema). */
int store_backup_check(const char *path, struct store_backup_info *, char *why,
    size_t whylen);
/* backup in place of db_path, which no daemon may hold (store_lock_instance); the
 * database it replaces is kept as the path written to kept ("" when there was none). */
int store_restore_from(const char *backup, const char *db_path, char *kept, size_t keptlen,
    struct store_backup_info *, char *why, size_t whylen);
/* <db_path>.lock, held for as long as *fd is open: refused while a shokaid holds it. */
int store_lock_instance(const char *db_path, int *fd, char *why, size_t whylen);
/* store_schema.c: the schema version this build migrates to. */
int store_schema_latest(void);


/* store_retention.c: old rows deleted a chunk at a time (each chunk in the caller's
 * transaction). */
enum retention_kind { RETENTION_INBOX_DONE, RETENTION_QUARANTINE, RETENTION_OUTBOX_SENT,
    RETENTION_CLICK_HASH, RETENTION_CONVERSATION_TEXT, RETENTION_KINDS };
const char *store_retention_name(enum retention_kind);
/* Rows deleted (or cleared) older than before, at most max; -1 on an error. */
int64_t store_retention_chunk(struct store *, enum retention_kind, int64_t before, int max);
/* How many rows a purge would take now; -1 on an error. */
int64_t store_retention_count(struct store *, enum retention_kind, int64_t before);

#endif
