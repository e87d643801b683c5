/* shokaid.h: the one internal header of shokai; prototypes are grouped by the file
 * that owns them. */
#ifndef SHOKAID_H
#define SHOKAID_H

#include <regex.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

struct event_base;
struct evhttp_request;
struct sqlite3;
struct json_t;

#define SHOKAI_VERSION "0.1.0"

/* xmalloc.c: allocation that dies on failure, so callers never check. */
void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xrealloc(void *, size_t);
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
char *xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *, va_list) __attribute__((format(printf, 1, 0)));

/* log.c: logfmt lines on stderr. log_warn() appends strerror(errno). */
/* notice: lifecycle lines (listening, started, reloaded) that show at warn level too. */
enum log_level { LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARN, LOG_ERROR };
void log_init(enum log_level);
void log_set_level(enum log_level);
int log_level_parse(const char *, enum log_level *);
int log_enabled(enum log_level);
void log_set_pseudonym_key(const unsigned char *, size_t);
void log_msg(enum log_level, const char *, ...) __attribute__((format(printf, 2, 3)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_errorx(const char *, ...) __attribute__((format(printf, 1, 2)));
void fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void log_flush(void);
/* Writes a stable pseudonym for a platform user id ("u:1a2b3c4d") into out. */
void log_user(const char *user_id, char out[16]);
/* Returns 1 when a message of this kind may be logged now (at most one per second),
 * 0 when it must be dropped; *suppressed counts the dropped ones since the last. */
struct log_ratelimit {
	int64_t		last_sec;
	unsigned long	suppressed;
};
int log_ratelimit_ok(struct log_ratelimit *, unsigned long *suppressed);

/* sig.c: webhook signatures. */
#define SIG_MAC_LEN 32
/* Verifies a base64 HMAC-SHA256 header value over body with key, in constant time.
 * Returns 0 when it matches, -1 otherwise with *why set to a static reason. */
int sig_verify(const char *key, size_t keylen, const void *body, size_t bodylen,
    const char *header_b64, const char **why);
/* The same with a key prepared once (sig_key_new), as channels do. */
struct sig_key;
struct sig_key *sig_key_new(const char *key, size_t keylen);
void sig_key_free(struct sig_key *);
int sig_verify_key(const struct sig_key *, const void *body, size_t bodylen,
    const char *header_b64, const char **why);
/* Writes the base64 HMAC-SHA256 of body (44 chars + NUL) into out. */
void sig_sign(const char *key, size_t keylen, const void *body, size_t bodylen, char out[45]);
/* Hex SHA-256 of prefix followed by data (prefix may be empty). */
void sha256_hex(const void *prefix, size_t prefixlen, const void *data, size_t len,
    char out[65]);

/* config.c: the immutable, validated configuration snapshot. */
struct config_line_channel {
	char	*id;
	char	*basic_id;
	char	*channel_secret;	/* secret: never logged */
	struct sig_key *secret_key;	/* channel_secret, ready for HMAC */
	char	*access_token;		/* secret: never logged */
	char	*bot_user_id;		/* optional: expected webhook "destination" */
	char	*api_base;
	char	*api_data_base;
	int	 reply_fallback_to_push;
};
struct config_works_bot {
	char	*id;
	char	*bot_id;
	char	*bot_secret;		/* secret */
	struct sig_key *secret_key;	/* bot_secret, ready for HMAC */
	char	*client_id;
	char	*client_secret;		/* secret */
	char	*service_account;
	char	*private_key_pem;	/* secret */
	char	*auth_url;
	char	*api_base;
	struct json_t *persistent_menu;	/* {"content":{"actions":[...]}}, or NULL */
};
/* The referral configuration (config_referral.c). */
struct config_branch {
	char	*code;
	char	*name;
	char	*contact_url;		/* for customers without a rep; may be NULL */
	char	**managers;		/* rep codes that may act on every referral here */
	size_t	 n_managers;
};
struct config_rep {
	char	*code;			/* what customers send to be tied to the rep */
	char	*name;
	const struct config_branch *branch;
	char	*works_user_id;		/* LINE WORKS member: notifications go here */
	char	*contact_url;		/* NULL with contact_auto: fetched from LINE WORKS */
	int	 contact_auto;
};
enum campaign_period { PERIOD_DAY, PERIOD_WEEK, PERIOD_MONTH };
struct config_reward_side {
	char	*pool;			/* coupon pool; NULL: no reward for this side */
	const struct config_message *message;
};
struct config_campaign {
	char	*id;
	char	*name;
	char	 starts[11], ends[11];	/* YYYY-MM-DD, local dates, both inclusive */
	int	 exclude_existing_friends;
	int	 max_claims;		/* per referrer per period; 0: no cap */
	enum campaign_period max_claims_per;
	int	 velocity_claims;	/* more claims than this for one code ... */
	int64_t	 velocity_within_ms;	/* ... within this: held for review */
	int	 show_friend_name;	/* to the referrer; masked otherwise */
	int	 due_on_won;		/* reward due on the rep's "won"; else on claim */
	int	 approval_auto;
	int64_t	 hold_ms;		/* wait between due and approved */
	struct config_reward_side referrer, referee;
};
struct config_referral {
	char	*notify_bot;		/* LINE WORKS bot id that notifies reps */
	char	*sender_name_fallback;	/* when LINE gives no profile */
	char	*contact_url;		/* the company's, for customers with no rep or branch */
	int	 invite_rate_per_min;	/* GET /r/{code} per client */
};

struct config {
	char	*path;			/* the main file, as given */
	char	*listen_host;
	int	 listen_port;
	char	*public_url;
	size_t	 max_body;
	size_t	 max_headers;
	int64_t read_timeout_ms;
	int64_t idle_timeout_ms;
	int	 max_connections;
	int64_t drain_timeout_ms;
	char	*sqlite_path;		/* resolved against the config file's folder */
	int	 synchronous_full;
	int64_t busy_timeout_ms;
	enum log_level log_level;
	int	 outbox_line_concurrency;
	int	 outbox_works_concurrency;
	int	 outbox_max_attempts;
	int64_t outbox_request_timeout_ms;
	int	 outbox_line_rate;		/* requests per second */
	int	 outbox_works_rate;
	char	*timezone;
	char	*company_name;
	struct config_line_channel *line_channels;
	size_t	 n_line_channels;
	struct config_works_bot *works_bots;
	size_t	 n_works_bots;
	struct config_message *messages;
	size_t	 n_messages;
	struct config_rule *rules;
	size_t	 n_rules;
	struct config_postback *postbacks;
	size_t	 n_postbacks;
	struct config_richmenu *richmenus;
	size_t	 n_richmenus;
	struct config_menu_rule *menu_rules;
	size_t	 n_menu_rules;
	int	 replies_use_display_name;	/* some message other than a greeting shows
						 * it ({display_name}, {sender_name}) */
	struct config_branch *branches;
	size_t	 n_branches;
	struct config_rep *reps;
	size_t	 n_reps;
	struct config_campaign *campaigns;
	size_t	 n_campaigns;
	struct config_referral referral;
};
/* The chat configuration (config_chat.c): what customers and reps see. */
struct config_message {
	char			*name;
	struct msg_template	*line;
	struct msg_template	*works;		/* NULL when the spec uses LINE-only parts */
	char			*works_error;	/* why works is NULL */
};
enum match_kind { MATCH_EXACT, MATCH_PREFIX, MATCH_CONTAINS, MATCH_REGEX, MATCH_ANY };
struct config_rule {
	size_t		 index;		/* position in auto_replies: names it in logs and
					 * cooldowns */
	enum match_kind	 kind;		/* MATCH_ANY: the fallback */
	char		**words;	/* normalised (text_normalize) */
	size_t		 nwords;
	regex_t		*regex;		/* REG_EXTENDED, on normalised text */
	unsigned	 platforms;	/* bits: 1 << PLATFORM_LINE, 1 << PLATFORM_WORKS */
	char		*channel;	/* a channel or bot id; NULL: any */
	unsigned	 days;		/* bit 0 Sunday ... bit 6 Saturday */
	int		 from_min, to_min;	/* minutes after midnight; equal: all day */
	int64_t		 cooldown_ms;	/* per user; 0: none */
	const struct config_message *reply;
	char		*action;	/* or a postback action to run, as if tapped */
};
struct config_postback {
	char		*action;	/* the action=NAME it answers */
	char		*flow;		/* a built-in flow ("reply", "menu", ...) */
	const struct config_message *reply;
	const struct config_richmenu *menu;	/* for "menu" */
};
struct config_richmenu {
	char		*id;
	char		*alias;		/* richMenuAliasId, or NULL */
	int		 is_default;
	struct json_t	*object;	/* LINE's rich menu object, without its name */
	char		*image_path;
	unsigned char	*image;
	size_t		 image_len;
	const char	*image_type;	/* its Content-Type */
	char		 hash[17];	/* of object and image: a deploy sends what changed */
};
/* Per-user menus: who gets which menu linked, beyond the default. */
struct config_menu_rule {
	char		*when;		/* "follow" */
	const struct config_richmenu *menu;
};

/* Errors are collected as "file:line:column: message" lines. */
struct config_errors {
	char	**lines;
	size_t	  n;
};
void config_errors_add(struct config_errors *, const char *file, size_t line, size_t col,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void config_errors_clear(struct config_errors *);
/* Loads and fully validates path. Returns a snapshot with one reference, or NULL with
 * every problem in errs. */
struct config *config_load(const char *path, struct config_errors *errs);
/* config_load, then each error printed as a line on out (shokaid -t, shokaictl). */
struct config *config_load_print(const char *path, FILE *out);
void config_free(struct config *);
const struct config_line_channel *config_line_channel(const struct config *, const char *id);
const struct config_works_bot *config_works_bot(const struct config *, const char *id);
const struct config_message *config_message(const struct config *, const char *name);
const struct config_postback *config_postback(const struct config *, const char *action);
const struct config_richmenu *config_richmenu(const struct config *, const char *id);
const struct config_branch *config_branch(const struct config *, const char *code);
const struct config_rep *config_rep(const struct config *, const char *code);
/* The campaign running on a local date (YYYY-MM-DD): the first in file order whose
 * window holds it; NULL when none does. */
const struct config_campaign *config_campaign_on(const struct config *, const char *date);
const struct config_campaign *config_campaign(const struct config *, const char *id);
/* 1 when the campaign's window holds the local date. */
int config_campaign_running(const struct config_campaign *, const char *date);
/* Parses "10s", "500ms", "2m", "1h", "14d" into milliseconds; -1 if malformed. */
int64_t config_parse_duration_ms(const char *);
/* Parses "256KiB", "1MiB", "4096" into bytes; -1 if malformed. */
int64_t config_parse_size(const char *);

/* event.c: the one normalised event handlers see, whichever platform sent it. */
enum platform { PLATFORM_LINE, PLATFORM_WORKS };
struct event {
	int64_t	 inbox_id;		/* 0 until stored */
	enum platform platform;
	char	*channel;		/* config id of the LINE channel or LINE WORKS bot */
	char	*event_key;		/* dedupe key: webhookEventId, or a content hash */
	char	*type;			/* "message", "follow", ... as the platform names it */
	int	 known;			/* 1 when the type is one the platform documents */
	char	*mode;			/* LINE "active" | "standby"; NULL for LINE WORKS */
	int	 redelivery;
	char	*source_type;		/* "user", "group", "room" (LINE); "user", "channel" (WORKS) */
	char	*user_id;
	char	*group_id;		/* groupId/roomId (LINE) or channelId (WORKS) */
	char	*reply_token;
	int64_t	 timestamp_ms;
	char	*message_id;
	char	*message_type;		/* "text", "sticker", "image", ... */
	char	*text;
	char	*postback_data;
	char	*postback_params;	/* JSON text of LINE postback.params */
	int	 unblocked;		/* LINE follow.isUnblocked */
};
struct event_list {
	struct event	*v;
	size_t		 n;
};
const char *platform_name(enum platform);
void event_clear(struct event *);
void event_list_free(struct event_list *);
struct event *event_list_add(struct event_list *);
/* Copies a JSON string member (or NULL when absent or not a string). */
char *event_json_str(struct json_t *obj, const char *key);

/* webhook_line.c / webhook_works.c: raw bytes to normalised events. Both return 0 and
 * fill out, or -1 with why saying what was wrong (the body then goes to quarantine).
 * An empty list is a verification request. */
#define MSG_VARS_MAX	32
#define WHY_MAX 256
int webhook_line_parse(const char *channel, const char *body, size_t len,
    const char *expect_destination, struct event_list *out, char why[WHY_MAX]);
int webhook_works_parse(const char *bot, const char *bot_id, const char *body, size_t len,
    struct event_list *out, char why[WHY_MAX]);

/* store.c: owns the sqlite3 handle and every prepared statement. */
struct store;
struct store *store_open(const char *path, int synchronous_full, int busy_timeout_ms,
    char **err);
void store_close(struct store *);
void store_set_busy_timeout(struct store *, int ms);
int store_begin(struct store *);
int store_commit(struct store *);
void store_rollback(struct store *);
/* A transaction whose commit skips the fsync; only for writes a replay repairs. */
int store_begin_unsynced(struct store *);
/* The live connection's PRAGMA synchronous (2: FULL, 1: NORMAL), or -1. */
int store_synchronous(struct store *);
/* Inserts a request's events; duplicates are ignored. On return *inserted is the number
 * of new inbox rows. Must be inside store_begin/commit. */
int store_inbox_put(struct store *, enum platform, const char *channel,
    struct event_list *, int *inserted);
int store_quarantine_put(struct store *, enum platform, const char *channel,
    const char *reason, const char *body, size_t len);
/* Reads up to max pending inbox rows, oldest first. */
int store_inbox_pending(struct store *, size_t max, struct event_list *out);
int store_inbox_mark(struct store *, int64_t id, const char *state, const char *error);
int64_t store_inbox_backlog(struct store *);
const char *store_errmsg(struct store *);
int store_meta_salt(struct store *, unsigned char out[16]);
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
	int		 ambiguous;
	int64_t		 created_at;
	int64_t		 next_attempt_at;	/* 0: now */
};
void outbox_msg_clear(struct outbox_msg *);
int store_outbox_put(struct store *, const struct outbox_msg *, int *inserted);
int store_outbox_due(struct store *, enum platform, int64_t now, size_t max,
    struct outbox_msg **out, size_t *n);
int store_outbox_result(struct store *, const struct outbox_msg *, const char *state,
    int64_t next_attempt_at, int status, const char *error);
int64_t store_outbox_backlog(struct store *);
/* Chat state (store.c): friends, reply cooldowns, deployed rich menus. */
int store_user_follow(struct store *, const char *channel, const char *user_id, int64_t at,
    int *follows);
int store_user_unfollow(struct store *, const char *channel, const char *user_id,
    int64_t at);
int store_user_seen(struct store *, const char *channel, const char *user_id, int64_t at);
int store_cooldown_take(struct store *, const char *channel, const char *user_id,
    const char *rule, int64_t now, int64_t cooldown_ms);
int store_richmenu_get(struct store *, const char *channel, const char *menu_id,
    char **line_id, char **hash);
int store_richmenu_put(struct store *, const char *channel, const char *menu_id,
    const char *hash, const char *line_id);
/* referral_fsm.c: the referral and reward state machines. */
enum ref_state { REF_HELD, REF_CLAIMED, REF_CONTACTED, REF_MEETING, REF_WON, REF_LOST,
	REF_SUSPICIOUS, REF_REJECTED, REF_STATE_COUNT };
enum reward_state { REWARD_PENDING, REWARD_APPROVED, REWARD_ISSUED, REWARD_VOIDED,
	REWARD_STATE_COUNT };
enum { ACTOR_SYSTEM = 1, ACTOR_REP = 2, ACTOR_OPERATOR = 4 };
/* 0 when actor may make the move; -1 with why ("a rep cannot move ...") otherwise. */
int ref_transition_check(enum ref_state from, enum ref_state to, unsigned actor, char *why,
    size_t whylen);
int reward_transition_check(enum reward_state from, enum reward_state to, unsigned actor,
    char *why, size_t whylen);
int ref_state_final(enum ref_state);
const char *ref_state_name(enum ref_state);
const char *ref_state_label(enum ref_state);	/* in Japanese, for people */
const char *reward_state_name(enum reward_state);
int ref_state_parse(const char *name, enum ref_state *);
int reward_state_parse(const char *name, enum reward_state *);
/* A rep's word (対応開始, 成約, won, ...) for the state it means; -1 if none. */
int ref_state_from_word(const char *word, enum ref_state *);

/* refcode.c: referral codes: 8 Crockford base32 characters (40 random bits) and a
 * check character. */
#define REFCODE_LEN	9
int refcode_new(char out[REFCODE_LEN + 1]);
/* 0 with the canonical (upper case) form in out when code is a well-formed code. */
int refcode_valid(const char *code, char out[REFCODE_LEN + 1]);
/* Well-formed codes found in a customer's text (any width, case, spaced), at most max. */
size_t refcode_find(const char *text, char out[][REFCODE_LEN + 1], size_t max);

/* Referral state (store_referral.c). */
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
int store_ref_event(struct store *, const struct ref_event *);
struct referral {
	const char	*channel, *campaign, *code, *referrer_id, *referee_id, *rep_code;
	enum ref_state	 state;
	int64_t		 claimed_at;
};
struct user_record {
	int64_t	 first_seen_at;
	int	 follows;
	int64_t	 unfollowed_at;		/* 0: never blocked */
};
int store_referral_of_referee(struct store *, const char *channel, const char *referee,
    int64_t *id);
int store_referral_pair(struct store *, const char *channel, const char *referrer,
    const char *referee, int64_t *id);
int64_t store_referrals_since(struct store *, const char *channel, const char *referrer,
    int64_t since);
int64_t store_code_claims_since(struct store *, const char *code, int64_t since);
int store_referral_put(struct store *, const struct referral *, int64_t *id);
int store_user_get(struct store *, const char *channel, const char *user_id,
    struct user_record *);
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
/* Referrals claimed since: all, won, lost. */
int store_rep_stats(struct store *, const char *rep_code, int64_t since, int64_t counts[3]);
/* A pending reward; 0 when that referral and side has one already. */
int store_reward_create(struct store *, int64_t referral_id, const char *side,
    const char *user_id, const char *campaign, const char *pool, int64_t due_at,
    int64_t approve_after);
/* A reward with its referral's channel and people (reward_row_clear frees). */
struct reward_row {
	int64_t			 id, referral_id;
	char			*side, *user_id, *campaign, *pool, *coupon_code;
	char			*channel, *referrer_id, *referee_id, *rep_code;
	enum reward_state	 state;
};
void reward_row_clear(struct reward_row *);
/* Rewards the tick may move: pending past their hold, and approved ones. */
int store_rewards_work(struct store *, int64_t now, size_t max, struct reward_row **out,
    size_t *n);
int store_reward_get(struct store *, int64_t id, struct reward_row *);
int store_reward_set(struct store *, int64_t id, enum reward_state from,
    enum reward_state to, const char *coupon, const char *note, int64_t at);
int store_coupon_take(struct store *, const char *pool, int64_t reward_id, char **code);
int store_coupon_put(struct store *, const char *pool, const char *code, int64_t at);
/* Codes issued, friends who came, wins, rewards issued. */
int store_referrer_stats(struct store *, const char *channel, const char *user_id,
    int64_t counts[4]);
/* A person's personal data removed, their id replaced by pseudonym where counted. */
int64_t store_forget_user(struct store *, const char *user_id, const char *pseudonym);
int64_t store_wrong_codes_since(struct store *, const char *channel, const char *user_id,
    int64_t since);
int store_rep_link_get(struct store *, const char *rep_code, char **url,
    int64_t *fetched_at);
int store_rep_link_put(struct store *, const char *rep_code, const char *url, int64_t at);
enum print_format { PRINT_TABLE, PRINT_CSV, PRINT_JSON };
int store_print_query(struct store *, FILE *, enum print_format, const char *sql,
    const char *const *args, size_t nargs);
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
int store_print_outbox(struct store *, FILE *, int all);
int store_outbox_requeue(struct store *, int64_t id);
int store_print_inbox_summary(struct store *, FILE *);
int store_print_quarantine(struct store *, FILE *, int64_t id);
/* Runs a PASSIVE WAL checkpoint on a private connection, off the event loop. */
struct store_checkpointer;
struct store_checkpointer *store_checkpointer_start(const char *path, int interval_ms);
void store_checkpointer_stop(struct store_checkpointer *);

/* The daemon context: everything the running process owns, reachable from one place.
 * Set up in main.c; each field's owner is the file named beside it. */
struct http_guard;
struct ingest;
struct dispatch;
struct evhttp;
struct event;
struct daemon_stats {
	uint64_t	requests;
	uint64_t	sig_failures;
	uint64_t	events_stored;
	uint64_t	events_duplicate;
	uint64_t	events_unknown;
	uint64_t	quarantined;
	uint64_t	db_errors;
	uint64_t	json_parse_calls;
	uint64_t	reloads;
	uint64_t	reload_failures;
	uint64_t	events_done;
	uint64_t	events_failed;
	uint64_t	events_skipped;
	uint64_t	coupon_pool_empty;	/* rewards that found their pool empty */
	uint64_t	reward_batches;		/* rewards ticks that found work and committed */
	uint64_t	dispatch_fault_holds;	/* kicks SHOKAI_FAULT=no_dispatch refused */
	int64_t		loop_max_stall_us;
};
/* The loop's priorities. Background work is cut into slices of at most
 * BACKGROUND_SLICE_US, after which the loop looks for new I/O again, so a burst of
 * outbound completions or a commit queue cannot hold a webhook back for long. */
enum {
	PRIO_FIRST,		/* attaching new connections to their guards */
	PRIO_IO,		/* webhooks and timers: libevent's default */
	PRIO_BACKGROUND,	/* group commit, dispatch, the outbox and its HTTP traffic */
	PRIO_COUNT
};
#define BACKGROUND_SLICE_US	500

struct daemon {
	struct event_base	*base;
	struct config		*cfg;		/* main.c: current snapshot; swapped on SIGHUP */
	char			*config_path;
	struct store		*store;		/* store.c */
	struct store_checkpointer *checkpointer;
	struct evhttp		*http;		/* http.c */
	struct http_guard	*guard;		/* http_guard.c */
	struct ingest		*ingest;	/* ingest.c */
	struct dispatch		*dispatch;	/* dispatch.c */
	struct http_client	*http_client;	/* http_client.c */
	struct outbox		*outbox;	/* outbox.c */
	struct works_tokens	*works_tokens;	/* works_api.c */
	struct invite_links	*invite_links;	/* invite_link.c: per-client rate limits */
	struct rewards		*rewards;	/* rewards.c */
	struct rep_links	*rep_links;	/* rep_links.c */
	unsigned char		 salt[16];	/* the database's secret: pseudonyms, hashes */
	struct event		*ev_signals[4];	/* main.c */
	struct event		*ev_flush;
	struct event		*ev_drain;
	struct event		*ev_stall;
	int64_t			 stall_due_us;
	int64_t			 stall_floor_us;
	int			 draining;
	int64_t			 drain_deadline_ms;
	int64_t			 started_ms;
	struct daemon_stats	 stats;
	struct log_ratelimit	 rl_sig;	/* http.c: signature failure lines */
};
int64_t clock_ms(void);		/* monotonic */
int64_t clock_us(void);		/* monotonic */
int64_t wall_ms(void);
/* Today, YYYY-MM-DD, in the config's time zone. */
void local_date(char out[11]);

/* http.c: the evhttp server, its routes and every error response. */
int http_start(struct daemon *, char **err);
void http_apply_config(struct daemon *);
void http_stop_accepting(struct daemon *);
void http_free(struct daemon *);
void http_reply(struct evhttp_request *, int code, const char *json_body);
void http_log_request(struct evhttp_request *, int code, const char *channel,
    int64_t start_us, const char *extra);

/* rewards.c: approves and issues rewards on a timer. */
struct rewards;
struct rewards *rewards_new(struct daemon *);
void rewards_free(struct rewards *);
/* Gives an approved reward a coupon and sends it, inside the caller's transaction:
 * 1 issued, 0 not (*empty: the pool is empty), -1 on error. */
int rewards_issue(struct daemon *, const struct reward_row *, int *empty);
/* A `reward` event ("approved:referrer", ...) under the referral's rep and branch. */
int rewards_log(const struct config *, struct store *, const struct reward_row *,
    const char *what, const char *actor);

/* rep_links.c: reps' LINE WORKS contact links, fetched and kept. */
struct rep_links;
struct rep_links *rep_links_new(struct daemon *);
void rep_links_free(struct rep_links *);

/* invite_link.c: GET /r/{code}. */
struct invite_links;
struct invite_links *invite_links_new(void);
void invite_links_free(struct invite_links *);
void invite_link_handle(struct daemon *, struct evhttp_request *, const char *code,
    int64_t start_us);

/* http_guard.c: connection cap, whole-request deadline, EMFILE back-off: the limits
 * that libevent 2.1's evhttp lacks. */
struct evconnlistener;
struct http_guard *http_guard_new(struct daemon *, struct evhttp *, struct evconnlistener *);
void http_guard_apply(struct http_guard *, int max_conns, int read_timeout_ms);
void http_guard_request_read(struct http_guard *, struct evhttp_request *);
void http_guard_stop_accepting(struct http_guard *);
int http_guard_connections(const struct http_guard *);
int http_guard_busy(const struct http_guard *);	/* connections mid-request */
void http_guard_free(struct http_guard *);

/* ingest.c: group commit. Verified requests wait here until the end of the loop turn,
 * then all their events are committed in one transaction and each request answered. */
struct ingest *ingest_new(struct daemon *);
void ingest_free(struct ingest *);
/* Takes ownership of events; body must stay valid until req is answered. */
void ingest_add(struct ingest *, struct evhttp_request *, enum platform, const char *channel,
    const char *body, size_t len, struct event_list *events, const char *quarantine_reason,
    int64_t start_us);
size_t ingest_pending(const struct ingest *);

/* dispatch.c: takes pending inbox rows to handlers, off the request path. */
struct dispatch *dispatch_new(struct daemon *);
void dispatch_kick(struct dispatch *);
void dispatch_free(struct dispatch *);

/* handlers/table.c: the handlers dispatch tries in order. */
enum handler_result { HANDLER_DONE, HANDLER_NOT_MINE, HANDLER_FAILED };
struct handler_ctx {
	struct daemon	*d;
	const char	*error;		/* set with HANDLER_FAILED: why */
};
struct handler {
	const char	*name;
	enum handler_result (*handle)(struct handler_ctx *, const struct event *);
};
extern const struct handler *const handler_table[];

/* http_client.c: outbound HTTP on the loop (curl multi). */
struct http_client;
struct http_request {
	const char	 *method;		/* "GET", "POST", "DELETE" */
	const char	 *url;
	const char	**headers;		/* "Name: value" */
	size_t		  nheaders;
	const void	 *body;			/* NULL: none */
	size_t		  body_len;
	int		  timeout_ms;		/* whole transfer; 0: 10 s */
};
struct http_response {
	int		 status;		/* 0: no answer (error says why) */
	const char	*body;			/* NUL-terminated; valid during the callback */
	size_t		 body_len;
	const char	*headers;		/* raw header block */
	const char	*error;
	int		 timed_out;
	int		 ambiguous;		/* failed after the request may have arrived */
};
typedef void (*http_done_cb)(const struct http_response *, void *arg);
/* priority: for the client's events, or -1 for the base's default. */
struct http_client *http_client_new(struct event_base *, int priority);
/* Starts a request; done runs exactly once, later, from the loop. */
int http_client_send(struct http_client *, const struct http_request *, http_done_cb,
    void *arg);
/* Percent-encodes s for a URL path segment or form value; caller frees. */
char *http_client_urlencode(const char *s);
void http_client_free(struct http_client *);
/* Copies a response header's value (case-insensitive name) into out; NULL if absent. */
const char *http_response_header(const struct http_response *, const char *name,
    char *out, size_t outlen);

/* outbox.c: sends outbox rows, records outcomes, retries with backoff. */
enum send_outcome {
	SEND_OK,			/* delivered (or accepted earlier: 409 on a retry key) */
	SEND_RETRY,			/* transport error, 5xx, 429, auth to renew: try later */
	SEND_PERMANENT,			/* the platform refused the message itself */
	SEND_REPLY_TOKEN_REFUSED,	/* LINE reply token used or expired */
};
struct send_result {
	enum send_outcome outcome;
	int		 status;		/* HTTP status, 0 if none */
	int		 ambiguous;		/* may have been delivered */
	int64_t		 retry_after_ms;	/* from Retry-After / rateLimit-reset */
	int64_t		 latency_us;
	char		 error[WHY_MAX];	/* the platform's message or the transport's */
};
typedef void (*send_done_cb)(const struct send_result *, void *arg);
/* Fills res for what both platforms treat alike (no answer: retry; 2xx: sent) and
 * returns 1; returns 0 when the platform's own rules must decide. */
int send_result_common(struct send_result *, const struct http_response *,
    int64_t start_us);
struct outbox;
struct outbox *outbox_new(struct daemon *);
void outbox_free(struct outbox *);
void outbox_kick(struct outbox *);
size_t outbox_inflight(const struct outbox *);
void outbox_uuid4(char out[37]);
/* Adds a row inside the caller's transaction (fills retry_key if NULL); the caller
 * commits, then kicks the daemon's outbox. A row whose dedupe_key exists already is not
 * added again. */
int outbox_put(struct store *, struct outbox_msg *);
/* Queues a LINE push of messages (a JSON array, taken) to one user, group or room. */
int outbox_push_line(struct store *, const char *channel, const char *to,
    struct json_t *messages);

/* line_api.c / works_api.c: one outbox row to one platform request, and the answer
 * back to a send_result. done runs exactly once, from the loop. */
void line_api_send(struct daemon *, const struct outbox_msg *, send_done_cb, void *arg);
int line_api_fallback_enabled(struct daemon *, const char *channel);
void works_api_send(struct daemon *, const struct outbox_msg *, send_done_cb, void *arg);
/* LINE WORKS lookups: what is "user" (GET /users/{id}) or "link-url" (the user's
 * external-contact link). done gets the HTTP status (0: no answer) and the body. */
typedef void (*works_lookup_cb)(int status, const char *body, size_t len, const char *error,
    void *arg);
void works_api_lookup(struct daemon *, const char *bot, const char *what,
    const char *user_id, works_lookup_cb, void *arg);
void works_api_call(struct daemon *, const char *bot, const char *method, const char *path,
    const char *body, works_lookup_cb, void *arg);
struct works_tokens;
void works_tokens_free(struct works_tokens *);
/* An RS256 JWT for the token endpoint; NULL with err on a bad key. Caller frees. */
char *works_jwt(const char *client_id, const char *service_account, const char *pem,
    time_t now, char *err, size_t errlen);

/* profile.c: display names for handlers, from the cache or LINE's profile API. cb runs
 * exactly once: at once from a fresh cache entry, else when LINE answers; p is NULL
 * when no name can be had (404, or LINE unreachable with nothing cached). */
typedef void (*profile_cb)(const struct profile *p, void *arg);
void profile_lookup(struct daemon *, const char *channel, const char *user_id, profile_cb,
    void *arg);
/* line_api.c: GET /v2/bot/profile/{userId}; status 0 on transport failure. */
typedef void (*line_profile_cb)(int status, const struct profile *, const char *error,
    void *arg);
void line_api_get_profile(struct daemon *, const char *channel, const char *user_id,
    line_profile_cb, void *arg);

/* line_api.c: a management call (rich menus and their aliases) on either LINE host;
 * done gets the status (0: no answer), the body and LINE's error message. */
enum line_host { LINE_HOST_API, LINE_HOST_DATA };
typedef void (*line_call_cb)(int status, const char *body, size_t len, const char *error,
    void *arg);
void line_api_call(struct daemon *, const char *channel, enum line_host, const char *method,
    const char *path, const char *content_type, const void *body, size_t len,
    line_call_cb, void *arg);

/* message.c: message templates. An operator's message spec (YAML turned into JSON by
 * config.c, keys as written) is checked once at load and rendered for each send.
 * Placeholders are {name} ([a-z_][a-z0-9_]*); a template may use only the names it is
 * given at load. */
struct msg_template;
struct msg_vars {
	const char	*name[MSG_VARS_MAX];
	const char	*value[MSG_VARS_MAX];	/* NULL or absent: rendered as "" */
	size_t		 n;
};
/* spec is borrowed. allowed is NULL-terminated. On error returns NULL with err set to
 * "PATH: what is wrong", PATH relative to the spec ("[1].template.actions[0].label"). */
struct msg_template *msg_template_new(const struct json_t *spec, enum platform,
    const char *const *allowed, char *err, size_t errlen);
void msg_template_free(struct msg_template *);
/* A rich menu area's action, checked like a template's and allowing richmenuswitch;
 * NULL with err set to "PATH: what is wrong". */
struct json_t *msg_menu_action_new(const struct json_t *spec, char *err, size_t errlen);
/* A new JSON array of message objects as the platform takes them (LINE: 1-5 message
 * objects for one reply or push; LINE WORKS: one "content" object per element, each
 * sent as its own message). Rendered texts are cut to the platform's limits. */
struct json_t *msg_template_render(const struct msg_template *, const struct msg_vars *);
/* LINE's share-picker link carrying an invite message (one text, as config_referral.c
 * checks at load) rendered with vars; NULL if it is not one text. Caller frees. */
char *invite_share_url(const struct config_message *, const struct msg_vars *);
/* Placeholder names the template uses, for config checks; NULL-terminated, borrowed. */
const char *const *msg_template_placeholders(const struct msg_template *);
void msg_vars_set(struct msg_vars *, const char *name, const char *value);
/* Length of UTF-8 text in UTF-16 code units, as LINE counts text. */
size_t utf16_units(const char *utf8);
/* Length in characters (code points), as LINE counts labels. */
size_t utf8_chars(const char *utf8);

/* textmatch.c: what keyword rules compare. */
/* Folds full-width ASCII and space to half-width, half-width katakana to full-width
 * (joining voiced marks), ASCII to lower case, and trims and collapses white space.
 * Returns a new string the caller frees. Invalid UTF-8 bytes are kept as they are. */
char *text_normalize(const char *utf8);

/* postback.c: LINE postback data "action=NAME&key=value" (URL-encoded). */
#define POSTBACK_PARAMS_MAX	16
struct postback {
	char	*action;			/* NULL when data has no action */
	char	*key[POSTBACK_PARAMS_MAX];
	char	*value[POSTBACK_PARAMS_MAX];
	size_t	 n;
};
/* 0, or -1 with why set (bad escape, too many parameters, empty key). */
int postback_parse(const char *data, struct postback *, char *why, size_t whylen);
const char *postback_get(const struct postback *, const char *key);
void postback_clear(struct postback *);

/* image.c: rich menu images. */
enum image_type { IMAGE_UNKNOWN, IMAGE_PNG, IMAGE_JPEG };
/* Reads the type and pixel size from a PNG or JPEG header. 0, or -1 with why. */
int image_probe(const unsigned char *data, size_t len, enum image_type *,
    unsigned *width, unsigned *height, char *why, size_t whylen);
const char *image_content_type(enum image_type);

/* fault.c: named crash points for tests (built only with -DSHOKAI_FAULT_HOOKS). */
int fault_enabled(const char *point);

#endif
