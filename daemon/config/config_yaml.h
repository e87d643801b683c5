/* config_yaml.h: what the config readers share, private to daemon/config/: the load
 * state, the YAML node helpers (config_yaml.c, all named cfg_*), and each section
 * reader's entry point, called by config.c in the order the sections depend on. */
#ifndef CONFIG_YAML_H
#define CONFIG_YAML_H

#include <stdio.h>

#include <yaml.h>

#include "config.h"

#define MAX_INCLUDES	16

/* One parsed YAML file; includes add more. */
struct cfg_file {
	char		*path;
	yaml_document_t	 doc;
	int		 loaded;
};

/* Validation state: where we are and where errors go. */
struct cfg {
	struct cfg_file		 files[1 + MAX_INCLUDES];
	size_t			 nfiles;
	struct cfg_file		 builtin;	/* default_wording.yaml: never in files[], so
						 * cfg_root_get sees only the operator's */
	struct config_errors	*errs;
	struct config		*out;
};

/* A node together with the file it came from, for error positions. */
struct cnode {
	struct cfg_file	*file;
	yaml_node_t	*node;
};

/* config_yaml.c: the node helpers. */
void cfg_err(struct cfg *, struct cnode, const char *, ...)
    __attribute__((format(printf, 3, 4)));
const char *cfg_node_kind(const yaml_node_t *);
struct cnode cfg_cnode_at(struct cnode parent, int index);
const char *cfg_scalar(const struct cnode);
int cfg_is_null_scalar(const struct cnode);
/* Looks key up in mapping m; returns 1 and the value when present. */
int cfg_map_get(struct cnode m, const char *key, struct cnode *val);
int cfg_name_in(const char *name, const char *const *list);
/* 1: a mapping with known keys and every required one; 0: problems reported;
 * -1: not a mapping at all. */
int cfg_check_mapping(struct cfg *, struct cnode m, const char *what,
    const char *const *allowed, const char *const *required);
/* 1 when parent[key] is a non-empty list (in *list); 0 after reporting why not. */
int cfg_check_list(struct cfg *, struct cnode parent, const char *what, const char *key,
    struct cnode *list);
size_t cfg_list_len(struct cnode list);
struct cnode cfg_list_item(struct cnode list, size_t i);
/* Typed getters: 1 when present and valid, 0 when absent (out untouched), -1 after
 * reporting an error. */
int cfg_get_str(struct cfg *, struct cnode m, const char *what, const char *key,
    char **out);
int cfg_get_bool(struct cfg *, struct cnode m, const char *what, const char *key,
    int *out);
int cfg_get_int(struct cfg *, struct cnode m, const char *what, const char *key, long min,
    long max, int *out);
int cfg_get_duration(struct cfg *, struct cnode m, const char *what, const char *key,
    int64_t min_ms, int64_t max_ms, int64_t *out_ms);
int cfg_get_size(struct cfg *, struct cnode m, const char *what, const char *key,
    int64_t min, int64_t max, size_t *out);
/* A URL (http or https) without its trailing '/'. */
void cfg_get_url(struct cfg *, struct cnode m, const char *what, const char *key,
    char **out);
int cfg_valid_id(const char *);
int cfg_valid_http_url(const char *);
char *cfg_resolve_path(const char *base_file, const char *path);
/* Opens a file the config names (the config and its includes, secrets, CSV, images)
 * for reading: never blocks (a FIFO or a device would freeze the loop on SIGHUP), never
 * leaks into children, and refuses anything but a regular file. The descriptor (its
 * stat in st), or -1 with why saying what was wrong. */
struct stat;
int cfg_open_regular(const char *path, struct stat *st, char *why, size_t whylen);
/* The same as a stdio stream (mode "r" or "rb"): NULL with why on failure. */
FILE *cfg_fopen_regular(const char *path, const char *mode, struct stat *st, char *why,
    size_t whylen);
/* The node as JSON: plain true/false and whole numbers typed, anything quoted a string. */
struct json_t *cfg_yaml_to_json(struct cnode);

/* config.c: finds a top-level key in the main file or any included one. */
int cfg_root_get(struct cfg *, const char *key, struct cnode *out);

/* config_wording.c: the built-in wording (daemon/config/default_wording.yaml, embedded
 * at build time as build/gen/default_wording.c), read before the operator's sections:
 * its names, state labels and words into the snapshot's wording; its messages are
 * config_chat.c's, read before the operator's, which replace them by name. */
extern const unsigned char cfg_default_wording[];
extern const size_t cfg_default_wording_len;
#define CFG_WORDING_PATH	"built-in daemon/config/default_wording.yaml"
void cfg_parse_wording(struct cfg *);
void cfg_free_wording(struct config *);
/* Finds a top-level key of the built-in file. */
int cfg_builtin_get(struct cfg *, const char *key, struct cnode *out);
/* Where message name is defined: the operator's messages, else the built-in ones. */
int cfg_message_node(struct cfg *, const char *name, struct cnode *out);

/* config_tls.c: section's `tls: { cert_file, key_file }`, when present, into *out (a TLS
 * context the snapshot owns); an error added when a file cannot serve. */
struct ssl_ctx_st;
void cfg_parse_tls(struct cfg *, struct cnode section, const char *section_name,
    struct ssl_ctx_st **out);

/* config.c: a section's listen: host:port into *host (the caller frees) and *port;
 * -1 (an error added) when missing or bad. */
int cfg_parse_listen(struct cfg *, struct cnode m, const char *what, char **host,
    int *port);

/* config_hours.c: a mapping {days, from, to[, holidays]} into h (holidays only where
 * allowed); the top-level business_hours:. */
void cfg_parse_hours(struct cfg *, struct cnode m, const char *what, struct config_hours *h,
    int holidays);
void cfg_parse_business_hours(struct cfg *);
void config_hours_clear(struct config_hours *);

/* config_handoff.c: conversations: and handoff:, after the chat and referral sections
 * (rules and postbacks say whether they hand off; referral.notify_bot is the default
 * bot). */
void cfg_parse_handoff(struct cfg *);
void cfg_free_handoff(struct config *);

/* config_admin.c: the console's section (admin:). */
void cfg_parse_admin(struct cfg *);
/* config_upkeep.c: retention: and backup: (after cfg_parse_handoff). */
void cfg_parse_upkeep(struct cfg *);
/* config_platform.c: KEY_file (a file of mode 0600 or stricter) or KEY_env into *out;
 * 1 read, 0 absent and not required, -1 an error (said). */
int cfg_get_secret(struct cfg *, struct cnode m, const char *what, const char *key,
    int required, char **out);

/* config_platform.c: line.channels and lineworks.bots, read first. */
void cfg_parse_platform(struct cfg *);
void cfg_free_platform(struct config *);

/* config_chat.c: messages, auto-replies, postbacks, and the order of all chat
 * sections, read after the platform sections. */
void cfg_parse_chat(struct cfg *);
void cfg_free_chat(struct config *);
/* Checks that message name exists and uses only the placeholders provided. */
const struct config_message *cfg_use_message(struct cfg *, struct cnode at,
    const char *what, const char *name, enum platform, const char *const *provided);
/* What greetings and auto-replies may show on each platform. */
extern const char *const cfg_chat_placeholders_line[];
extern const char *const cfg_chat_placeholders_works[];

/* config_menu.c: rich menus, rich menu rules and LINE WORKS persistent menus. */
void cfg_parse_rich_menus(struct cfg *, struct cnode list);
void cfg_parse_menu_rules(struct cfg *, struct cnode list);
struct json_t *cfg_parse_persistent_menu(struct cfg *, struct cnode list,
    const char *what);
void cfg_free_menus(struct config *);

/* config_reps.c: branches and reps (YAML or CSV); read first by cfg_parse_referral. */
void cfg_parse_reps(struct cfg *);
void cfg_free_reps(struct config *);

/* config_referral.c: branches and reps (through config_reps.c), the referral settings
 * and campaigns, read after the chat sections. */
void cfg_parse_referral(struct cfg *);
const char *const *cfg_referral_placeholders(struct cfg *, const char *name);
/* config_followup.c: a campaign's reminders: and the referral section's digest: and
 * escalate_unacted_after: (parts of config_referral.c's sections). */
void cfg_parse_reminders(struct cfg *, struct cnode m, const char *what,
    struct config_campaign *);
void cfg_parse_followup(struct cfg *, struct cnode referral);
void cfg_free_referral(struct config *);

/* config_announce.c: announcements, read after the referral sections. */
void cfg_parse_announce(struct cfg *);
void cfg_free_announce(struct config *);

#endif
