/* config_yaml.h: what the config readers share (config.c for the platform sections,
 * config_chat.c for messages, keyword rules, postbacks and menus). Private to them. */
#ifndef CONFIG_YAML_H
#define CONFIG_YAML_H

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
	struct config_errors	*errs;
	struct config		*out;
};

/* A node together with the file it came from, for error positions. */
struct cnode {
	struct cfg_file	*file;
	yaml_node_t	*node;
};

void cfg_err(struct cfg *, struct cnode, const char *, ...)
    __attribute__((format(printf, 3, 4)));
const char *node_kind(const yaml_node_t *);
struct cnode cnode_at(struct cnode parent, int index);
const char *scalar(const struct cnode);
int is_null_scalar(const struct cnode);
/* Looks key up in mapping m; returns 1 and the value when present. */
int map_get(struct cnode m, const char *key, struct cnode *val);
int name_in(const char *name, const char *const *list);
/* 1: a mapping with known keys and every required one; 0: problems reported;
 * -1: not a mapping at all. */
int check_mapping(struct cfg *, struct cnode m, const char *what,
    const char *const *allowed, const char *const *required);
/* Typed getters: 1 when present and valid, 0 when absent (out untouched), -1 after
 * reporting an error. */
int get_str(struct cfg *, struct cnode m, const char *what, const char *key, char **out);
int get_bool(struct cfg *, struct cnode m, const char *what, const char *key, int *out);
int get_int(struct cfg *, struct cnode m, const char *what, const char *key, long min,
    long max, int *out);
int get_duration(struct cfg *, struct cnode m, const char *what, const char *key,
    int64_t min_ms, int64_t max_ms, int64_t *out_ms);
char *resolve_path(const char *base_file, const char *path);
int valid_id(const char *);
int valid_http_url(const char *);
/* A URL (http or https) without its trailing '/'. */
void get_url(struct cfg *, struct cnode m, const char *what, const char *key, char **out);
size_t list_len(struct cnode list);
struct cnode list_item(struct cnode list, size_t i);

/* Finds a top-level key in the main file or any included one. */
int root_get(struct cfg *, const char *key, struct cnode *out);

/* config_chat.c: the chat sections, read after the platform sections. */
void parse_chat_sections(struct cfg *);
struct json_t *parse_persistent_menu(struct cfg *, struct cnode list, const char *what);
void free_chat(struct config *);
/* Checks that message name exists and uses only the placeholders provided. */
const struct config_message *use_message(struct cfg *, struct cnode at, const char *what,
    const char *name, enum platform, const char *const *provided);

/* config_referral.c: branches, reps, campaigns and the referral settings. */
void parse_referral_sections(struct cfg *);
void free_referral(struct config *);
extern const char *const chat_placeholders_line[];
extern const char *const chat_placeholders_works[];

#endif
