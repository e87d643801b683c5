/* config.h: the immutable, validated configuration snapshot that config_load makes from
 * the operator's YAML files, and the lookups every layer uses.
 *
 * Lifetime: a snapshot never changes once loaded, and it is counted: the loop holds a
 * reference to the current one (struct daemon's cfg) and the storage thread one to its
 * own (storage.c), taken by letter in order with the events. A reload builds a new
 * snapshot, hands it to the storage side and drops the loop's old reference; the old
 * snapshot goes when its last holder lets go. Within a thread, no pointer into a
 * snapshot survives an asynchronous hop: a callback keeps ids (channel, bot, rep code,
 * menu id) and looks them up again in its thread's current snapshot after every hop;
 * NULL then means a reload removed it. */
#ifndef SHOKAI_CONFIG_H
#define SHOKAI_CONFIG_H

#include <regex.h>
#include <stdatomic.h>

#include "../base/base.h"
#include "../model/model.h"

/* The platform sections (config_platform.c). */
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
/* A message operators may announce (config_announce.c): multicast to a segment. */
struct config_announcement {
	char	*id;
	char	*title;			/* what the console shows */
	char	*message_name;
	const struct config_message *message;	/* uses {company_name} at most */
	char	*channel;		/* a LINE channel id (default: the first) */
	unsigned segments;		/* bits 1 << enum seg_kind offered */
};
/* Who sells (config_reps.c). */
struct config_branch {
	char	*code;
	char	*name;
	char	*contact_url;		/* for customers without a rep; may be NULL */
	char	**managers;		/* rep codes that may act on every referral here */
	size_t	 n_managers;
	char	**on_duty;		/* rep codes told of a handoff whose rep cannot be */
	size_t	 n_on_duty;
	int	 monthly_target;	/* won referrals a month; 0: none set */
};
struct config_rep {
	char	*code;			/* what customers send to be tied to the rep */
	char	*name;
	const struct config_branch *branch;
	char	*works_user_id;		/* LINE WORKS member: notifications go here */
	char	*contact_url;		/* NULL with contact_auto: fetched from LINE WORKS */
	int	 contact_auto;
};
/* The referral configuration (config_referral.c). */
enum campaign_period { PERIOD_DAY, PERIOD_WEEK, PERIOD_MONTH };
/* What becomes of a held claim nobody decided within review_within_ms. */
enum review_default { REVIEW_NONE, REVIEW_APPROVE, REVIEW_REJECT };
struct config_reward_side {
	char	*pool;			/* coupon pool; NULL: no reward for this side */
	const struct config_message *message;
};
/* Whose referrals earn a reward stage: the referrer is any customer, not a partner,
 * or a partner (a customer tagged partner: import tags, or import customers' partner
 * column). */
enum reward_audience { AUDIENCE_ALL, AUDIENCE_CUSTOMERS, AUDIENCE_PARTNERS };
#define REWARD_STAGES_MAX 8	/* stages of one campaign */
#define VOID_ON_BLOCK	0x1u	/* the friend blocks the account before approval */
#define VOID_ON_LOST	0x2u	/* the referral is lost */
struct config_reward_stage {
	enum ref_state	 due_on;	/* claimed, contacted, meeting or won: due when the
					 * referral reaches it or a later one of these */
	enum reward_audience audience;
	int		 approval_auto;
	int64_t		 hold_ms;	/* wait between due and approved */
	struct config_reward_side referrer, referee;
};
struct config_campaign {
	char	*id;
	char	*name;
	char	 starts[11], ends[11];	/* YYYY-MM-DD, local dates, both inclusive */
	int	 priority;		/* of overlapping campaigns, the higher is current */
	int	 exclude_existing_friends;
	int	 max_claims;		/* per referrer per period; 0: no cap */
	enum campaign_period max_claims_per;
	int	 velocity_claims;	/* more claims than this for one code ... */
	int64_t	 velocity_within_ms;	/* ... within this: held for review */
	int	 show_friend_name;	/* to the referrer; masked otherwise */
	int	 show_friend_name_to_rep;	/* in the rep's 一覧; masked otherwise */
	int	 referee_sender_rep;	/* the friend's messages come under the rep's name */
	char	*referee_sender_icon_url;	/* with this icon; NULL: the account's */
	int64_t	 review_within_ms;	/* a held claim's deadline */
	enum review_default review_default;
	/* Rewards: one stage per entry of rewards: (the single reward: is one stage). */
	struct config_reward_stage *stages;
	size_t	 n_stages;
	unsigned void_on;		/* VOID_ON_*: when pending rewards are voided */
	int	 partner_clients;	/* a partner's claim skips the existing-friend rules */
	/* Follow-ups (reminders:, config_followup.c); 0: off. */
	int64_t	 remind_unshared_ms;	/* an invite nobody clicked by then: one reminder */
	int	 ask_after_won;		/* the friend, at the win: do they know someone? */
	int	 reminders_per_month;	/* per person and local month, reminders and asks;
					 * 0: no limit */
};
struct config_referral {
	char	*notify_bot;		/* LINE WORKS bot id that notifies reps */
	char	*sender_name_fallback;	/* when LINE gives no profile */
	char	*contact_url;		/* the company's, for customers with no rep or branch */
	int	 invite_rate_per_min;	/* GET /r/{code} per client */
	int	 coupon_low_stock;	/* the console warns below this many free codes */
	/* Branch managers' follow-ups (config_followup.c). */
	int	 digest_day;		/* 0 Sunday ... 6 Saturday; -1: no digest */
	int	 digest_at_min;		/* minutes after local midnight */
	int64_t	 escalate_after_ms;	/* business hours a referral may wait for its
					 * rep's first move; 0: no escalation */
	int64_t	 ask_referrer_after_ms;	/* a new friend without a code is asked who
					 * referred them this long after following; 0:
					 * never */
};

/* Conversations and handoffs (config_handoff.c). */
enum handoff_sender { SENDER_OPERATOR, SENDER_REP, SENDER_NONE };
struct config_handoff {
	int64_t	 quiet_ms;		/* the bot stays quiet this long, unless resolved */
	int64_t	 escalate_ms;		/* of business hours; 0: never escalated */
	char	*bot;			/* the LINE WORKS bot that tells people */
	char	*operators_channel;	/* its room for customers without a rep */
	int	 line_chat;		/* people answer in LINE's own chat, not the console */
	enum handoff_sender sender;	/* the name a person's reply carries */
	char	*sender_icon_url;	/* and the icon; NULL: the account's */
	int	 used;			/* some rule or postback hands off */
};
struct config_conversations {
	int64_t	 retention_ms;		/* message text is kept this long */
	int	 mark_as_read;		/* LINE's 既読 when a person opened it */
};

/* The product's wording beyond messages (config_wording.c, from the built-in
 * default_wording.yaml): names shown when none is known, what reps read for a state and
 * the words reps and customers type. Word lists are NULL-terminated and normalised
 * (text_normalize), as the text they are compared with is. */
struct config_state_text {
	char	*label;			/* what reps read: 成約 */
	char	**words;		/* what a rep may type for it; NULL: none */
};
struct config_wording {
	char	*display_name;		/* {display_name} when LINE gives none */
	char	*sender_name;		/* referral.sender_name_fallback's default */
	char	*friend_name;		/* a friend without a name, to the referrer */
	char	*unknown_name;		/* a name not known, to reps */
	char	*no_rep;		/* {rep_name} of a customer without one */
	struct config_state_text states[REF_STATE_COUNT];
	char	**rep_list_words;	/* a rep's "my open referrals" */
	char	**rep_stats_words;	/* a rep's "this month" */
	char	**rep_register_words;	/* a rep's "credit this contact to that code" */
	char	**rep_link_words;	/* before a rep's code, tying a customer to the rep */
	char	*rep_link_word;		/* the first of them as written: a rep's link */
	char	**referrer_yes_words;	/* "someone referred me", to ask_referrer */
	char	**referrer_no_words;	/* "nobody did": not asked again */
};

/* Opening hours (config_hours.c): a rule's hours, the company's business hours. */
struct config_hours {
	unsigned	 days;		/* bit 0 Sunday ... bit 6 Saturday */
	int		 from_min, to_min;	/* minutes after midnight; equal: all day */
	char		(*holidays)[11];	/* YYYY-MM-DD, closed all day */
	size_t		 n_holidays;
};
/* 1 when at (unix ms) is inside the hours, in local time. */
int config_hours_open(const struct config_hours *, int64_t at_ms);
/* The time at which open_ms of open time has passed since start_ms: "2 business hours"
 * from Friday 17:00 is Monday 10:00 with mon-fri 09:00-18:00. */
int64_t config_hours_add(const struct config_hours *, int64_t start_ms, int64_t open_ms);

/* A trusted proxy's address, as inet_pton wrote it (4 or 16 bytes used). */
struct config_addr {
	int		 family;	/* AF_INET or AF_INET6 */
	unsigned char	 bytes[16];
};

/* The snapshot (config.c reads the server, storage, log and outbox sections). */
/* retention: how long old rows are kept; 0: forever (config_upkeep.c). */
struct config_retention {
	int64_t	 inbox_done_ms;
	int64_t	 quarantine_ms;
	int64_t	 outbox_sent_ms;
	int64_t	 click_hash_ms;
};
/* backup: the daemon's daily copy of the database. */
struct config_backup {
	char	*dir;			/* NULL: no daily backup */
	int	 at_min;		/* local time of day, minutes after midnight */
	int	 keep;			/* the newest this many are kept */
};

struct config {
	atomic_int refs;		/* config_ref / config_unref */
	char	*path;			/* the main file, as given */
	char	*listen_host;
	int	 listen_port;
	char	*admin_host;		/* admin.listen: the console; NULL: no console */
	int	 admin_port;
	int64_t	 admin_session_idle_ms;
	int64_t	 admin_session_max_ms;
	int	 admin_login_failures;	/* per account, within admin_login_window_ms */
	int	 admin_client_failures;	/* per client address, likewise */
	int64_t	 admin_login_window_ms;
	int	 admin_secure_cookie;	/* Secure on the session cookie (behind TLS) */
	struct ssl_ctx_st *admin_tls;	/* admin.tls; NULL: plain HTTP (base/tls.h) */
	struct ssl_ctx_st *server_tls;	/* server.tls; NULL: plain HTTP (base/tls.h) */
	char	*admin_metrics_token;	/* admin.metrics_token_*: /metrics needs it */
	int	 admin_ready_max_backlog;	/* /readyz: more events waiting is not ready */
	char	*admin_public_url;	/* the console as people reach it; NULL: no console */
	char	*public_url;
	size_t	 max_body;
	size_t	 max_headers;
	int64_t read_timeout_ms;
	int64_t idle_timeout_ms;
	int	 max_connections;
	int64_t drain_timeout_ms;
	struct config_addr *trusted_proxies;	/* X-Forwarded-For is believed from these */
	size_t	 n_trusted_proxies;
	char	*sqlite_path;		/* resolved against the config file's folder */
	int	 synchronous_full;
	int64_t busy_timeout_ms;
	enum log_level log_level;
	enum log_format log_format;
	struct config_retention retention;
	struct config_backup backup;	/* log.format: logfmt (default) or json */
	int	 outbox_line_concurrency;
	int	 outbox_works_concurrency;
	int	 outbox_max_attempts;
	int64_t outbox_request_timeout_ms;
	int	 outbox_line_rate;		/* requests per second */
	int	 outbox_works_rate;
	char	*timezone;
	char	*company_name;
	/* Testers (config_referral.c): LINE user ids whose referral state shokaictl reset
	 * may clear and whose events no report or figure counts. NULL-terminated. */
	char	**testers;
	size_t	 n_testers;
	char	*testers_json;		/* the same as a JSON array, bound by the figures
					 * and the report; NULL when there are none */
	struct config_hours business_hours;	/* every day, all day when not set */
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
	int	 prefetch_display_names;	/* dispatch fetches LINE names before a
						 * batch: some message other than a greeting
						 * shows one, or a handoff notice names the
						 * customer */
	struct config_branch *branches;
	size_t	 n_branches;
	struct config_rep *reps;
	size_t	 n_reps;
	struct config_campaign *campaigns;
	size_t	 n_campaigns;
	struct config_referral referral;
	struct config_wording wording;
	struct config_handoff handoff;
	struct config_conversations conversations;
	struct config_announcement *announcements;
	size_t	 n_announcements;
};
/* The chat configuration (config_chat.c; menus in config_menu.c): what customers and
 * reps see. */
struct config_message {
	char			*name;
	struct msg_template	*line;
	struct msg_template	*works;		/* NULL when the spec uses LINE-only parts */
	char			*works_error;	/* why works is NULL */
	int			 builtin;	/* 1: default_wording.yaml's, not replaced */
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
	struct config_hours hours;	/* when the rule applies */
	int64_t		 cooldown_ms;	/* per user; 0: none */
	const struct config_message *reply;
	char		*action;	/* or a postback action to run, as if tapped */
	int		 handoff;	/* and the customer waits for a person */
};
struct config_postback {
	char		*action;	/* the action=NAME it answers */
	char		*flow;		/* a built-in flow ("reply", "menu", ...) */
	const struct config_message *reply;
	const struct config_richmenu *menu;	/* for "menu" */
	int		 handoff;	/* "reply", and the customer waits for a person */
	char		*shown;		/* what the customer's chat shows for the tap: the
					 * first rich menu button's display text or label */
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
/* Loads and fully validates path. Returns a new snapshot, which the caller owns until
 * config_unref (it holds one reference), or NULL with every problem in errs. */
struct config *config_load(const char *path, struct config_errors *errs);
/* Only storage.* and timezone from the main file, for shokaictl's commands that only
 * read the database: they keep working while the rest of the config is broken. */
struct config *config_load_storage(const char *path, struct config_errors *errs);
/* config_load, then each error printed as a line on out (shokaid -t, shokaictl). */
struct config *config_load_print(const char *path, FILE *out);
/* Any thread. */
struct config *config_ref(struct config *);
/* Any thread; the last reference frees the snapshot. */
void config_unref(struct config *);
/* Lookups by id: NULL when the current snapshot has no such thing. */
/* config_platform.c */
const struct config_line_channel *config_line_channel(const struct config *, const char *id);
const struct config_works_bot *config_works_bot(const struct config *, const char *id);
/* config_chat.c, config_menu.c */
const struct config_message *config_message(const struct config *, const char *name);
const struct config_postback *config_postback(const struct config *, const char *action);
const struct config_richmenu *config_richmenu(const struct config *, const char *id);
/* config_reps.c */
const struct config_branch *config_branch(const struct config *, const char *code);
const struct config_rep *config_rep(const struct config *, const char *code);
/* config_referral.c */
/* The campaign running on a local date (YYYY-MM-DD): the first in file order whose
 * window holds it; NULL when none does. */
const struct config_campaign *config_campaign_on(const struct config *, const char *date);
const struct config_campaign *config_campaign(const struct config *, const char *id);
/* The stage a reward row names, NULL when the config no longer has it. */
const struct config_reward_stage *config_reward_stage(const struct config *,
    const char *campaign, int stage);
/* 1 when some campaign's reward names the coupon pool. */
int config_pool_named(const struct config *, const char *pool);
/* 1 when the campaign's window holds the local date. */
/* 1 when user_id is listed under testers. */
int config_is_tester(const struct config *, const char *user_id);
/* A friend's name masked for the referrer (山田 → 山*); the caller frees. */
char *config_mask_name(const struct config *, const char *name);
int config_campaign_running(const struct config_campaign *, const char *date);
/* config_admin.c: a link to a console page ("/customers/main/U..."), for notices on
 * LINE WORKS; NULL without a console. The caller frees. */
char *config_console_link(const struct config *, const char *page);
/* config_announce.c */
const struct config_announcement *config_announcement(const struct config *, const char *id);
/* Whether the announcement may go to the segment (offered, its branch or rep known); 0
 * with *reps_json (caller frees) the rep codes a branch or rep segment covers as a JSON
 * array, NULL for the others; -1 with why. */
int config_announce_target(const struct config *, const struct config_announcement *,
    const struct segment *, char **reps_json, char *why, size_t whylen);
/* The LINE messages every recipient gets (the same for all: {company_name} only). */
struct json_t *config_announce_messages(const struct config *,
    const struct config_announcement *);
/* config_wording.c */
/* What reps read for a state (成約). */
const char *config_state_label(const struct config *, enum ref_state);
/* The label of the state named name ("won"), or name itself when no state is so named. */
const char *config_state_words(const struct config *, const char *name);
/* The state a rep's word means (成約, won: normalised, as text_normalize gives it);
 * 0, or -1 when the word means none. */
int config_state_from_word(const struct config *, const char *word, enum ref_state *);
/* 1 when the normalised text is one of words (a NULL-terminated list). */
int config_words_has(char *const *words, const char *text);
/* config_yaml.c: the duration and size formats the getters read. */
/* Parses "10s", "500ms", "2m", "1h", "14d" into milliseconds; -1 if malformed. */
int64_t config_parse_duration_ms(const char *);
/* Parses "256KiB", "1MiB", "4096" into bytes; -1 if malformed. */
int64_t config_parse_size(const char *);

/* config_referral.c: LINE's share-picker link carrying an invite message (one text, as
 * checked at load) rendered with vars; NULL if it is not one text. Caller frees. */
char *invite_share_url(const struct config_message *, const struct msg_vars *);

#endif
