/* config_wording.c: the product's own wording, built in. daemon/config/default_wording.yaml
 * is embedded at build time (scripts/embed.sh, build/gen/default_wording.c) and read at
 * every load before the operator's files: here its names, the labels and words of the
 * referral states, the words of reps' commands and of reps' links, and their lookups.
 * Its messages are read by config_chat.c, with the operator's replacing them by name. A
 * mistake in the file is a load error at its line, like any in the operator's. */
#include <stdlib.h>
#include <string.h>

#include "config_yaml.h"

/* Loads the embedded file into c->builtin; a syntax error is reported at its line. */
static void
load_builtin(struct cfg *c)
{
	struct cfg_file *f = &c->builtin;
	yaml_parser_t parser;

	f->path = xstrdup(CFG_WORDING_PATH);
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, cfg_default_wording, cfg_default_wording_len);
	if (!yaml_parser_load(&parser, &f->doc)) {
		config_errors_add(c->errs, f->path, parser.problem_mark.line + 1,
		    parser.problem_mark.column + 1, "YAML syntax error: %s%s%s",
		    parser.problem ? parser.problem : "unknown",
		    parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		return;
	}
	yaml_parser_delete(&parser);
	if (yaml_document_get_root_node(&f->doc) == NULL) {
		config_errors_add(c->errs, f->path, 1, 1, "the file is empty");
		yaml_document_delete(&f->doc);
		return;
	}
	f->loaded = 1;
}

int
cfg_builtin_get(struct cfg *c, const char *key, struct cnode *out)
{
	struct cnode root;

	if (!c->builtin.loaded)
		return 0;
	root.file = &c->builtin;
	root.node = yaml_document_get_root_node(&c->builtin.doc);
	return cfg_map_get(root, key, out);
}

int
cfg_message_node(struct cfg *c, const char *name, struct cnode *out)
{
	struct cnode msgs;

	if (cfg_root_get(c, "messages", &msgs) && cfg_map_get(msgs, name, out))
		return 1;
	return cfg_builtin_get(c, "messages", &msgs) && cfg_map_get(msgs, name, out);
}

/* parent[key]: a list of words, each normalised, NULL-terminated (empty after an error).
 * one_word: a word a rep types among others ("成約 #12"), so without spaces. *first gets
 * the first word as written, when asked for. */
static char **
parse_words(struct cfg *c, struct cnode parent, const char *what, const char *key,
    int one_word, char **first)
{
	struct cnode list;
	char **words;
	size_t n = 0;

	if (!cfg_map_get(parent, key, &list)) {
		cfg_err(c, parent, "%s: missing required key '%s'", what, key);
		return xcalloc(1, sizeof(*words));
	}
	if (list.node->type != YAML_SEQUENCE_NODE || cfg_list_len(list) == 0) {
		cfg_err(c, list, "%s.%s: expected a list of words", what, key);
		return xcalloc(1, sizeof(*words));
	}
	words = xcalloc(cfg_list_len(list) + 1, sizeof(*words));
	for (size_t i = 0; i < cfg_list_len(list); i++) {
		struct cnode item = cfg_list_item(list, i);
		char *w;

		if (item.node->type != YAML_SCALAR_NODE || cfg_is_null_scalar(item)) {
			cfg_err(c, item, "%s.%s[%zu]: expected a word", what, key, i);
			continue;
		}
		w = text_normalize(cfg_scalar(item));
		if (*w == '\0' || (one_word && strchr(w, ' ') != NULL)) {
			cfg_err(c, item, "%s.%s[%zu]: expected one word, without spaces", what,
			    key, i);
			free(w);
			continue;
		}
		if (first != NULL && *first == NULL)
			*first = xstrdup(cfg_scalar(item));
		words[n++] = w;
	}
	return words;
}

static void
parse_names(struct cfg *c, struct cnode m)
{
	static const char *const keys[] = { "display_name", "sender_name", "friend_name",
	    "unknown_name", "no_rep", NULL };
	struct config_wording *w = &c->out->wording;
	char **out[] = { &w->display_name, &w->sender_name, &w->friend_name,
	    &w->unknown_name, &w->no_rep };

	if (cfg_check_mapping(c, m, "names", keys, keys) == -1)
		return;
	for (size_t i = 0; keys[i] != NULL; i++)
		cfg_get_str(c, m, "names", keys[i], out[i]);
}

/* One state: its label and the words a rep may type for it. */
static void
parse_state(struct cfg *c, struct cnode m, const char *what, enum ref_state s)
{
	static const char *const allowed[] = { "label", "words", NULL };
	static const char *const required[] = { "label", NULL };
	struct config_state_text *st = &c->out->wording.states[s];
	struct cnode v;

	if (cfg_check_mapping(c, m, what, allowed, required) == -1)
		return;
	cfg_get_str(c, m, what, "label", &st->label);
	if (!cfg_map_get(m, "words", &v))
		return;
	st->words = parse_words(c, m, what, "words", 1, NULL);
	if (st->label != NULL) {
		char *norm = text_normalize(st->label);

		cfg_map_get(m, "label", &v);
		if (!config_words_has(st->words, norm))
			cfg_err(c, v, "%s.label: '%s' must be among the words (reps see it on "
			    "the notification's buttons and may type it)", what, st->label);
		free(norm);
	}
	for (int t = 0; t < REF_STATE_COUNT; t++)
		for (char **word = st->words; t != (int)s && *word != NULL; word++)
			if (config_words_has(c->out->wording.states[t].words, *word)) {
				cfg_map_get(m, "words", &v);
				cfg_err(c, v, "%s.words: '%s' is %s's word too", what, *word,
				    ref_state_name((enum ref_state)t));
			}
}

static void
parse_states(struct cfg *c, struct cnode m)
{
	int seen[REF_STATE_COUNT] = { 0 };

	if (m.node->type != YAML_MAPPING_NODE) {
		cfg_err(c, m, "referral.states: expected a mapping of states, got %s",
		    cfg_node_kind(m.node));
		return;
	}
	for (yaml_node_pair_t *p = m.node->data.mapping.pairs.start;
	    p < m.node->data.mapping.pairs.top; p++) {
		struct cnode k = cfg_cnode_at(m, p->key);
		enum ref_state s;
		char *what;

		if (k.node->type != YAML_SCALAR_NODE || ref_state_parse(cfg_scalar(k), &s) == -1) {
			cfg_err(c, k, "referral.states: unknown state '%s'",
			    k.node->type == YAML_SCALAR_NODE ? cfg_scalar(k) : "?");
			continue;
		}
		if (seen[s]++) {
			cfg_err(c, k, "referral.states: '%s' is defined twice", cfg_scalar(k));
			continue;
		}
		what = xasprintf("referral.states.%s", cfg_scalar(k));
		parse_state(c, cfg_cnode_at(m, p->value), what, s);
		free(what);
	}
	for (int s = 0; s < REF_STATE_COUNT; s++)
		if (!seen[s])
			cfg_err(c, m, "referral.states: missing state '%s'",
			    ref_state_name((enum ref_state)s));
}

static void
parse_referral_words(struct cfg *c, struct cnode m)
{
	static const char *const keys[] = { "states", "rep_commands", "rep_link_words",
	    "referrer_answers", NULL };
	static const char *const answers[] = { "yes", "no", NULL };
	static const char *const commands[] = { "list", "stats", "register", NULL };
	struct config_wording *w = &c->out->wording;
	struct cnode v;

	if (cfg_check_mapping(c, m, "referral", keys, keys) == -1)
		return;
	if (cfg_map_get(m, "states", &v))
		parse_states(c, v);
	if (cfg_map_get(m, "rep_commands", &v) &&
	    cfg_check_mapping(c, v, "referral.rep_commands", commands, commands) != -1) {
		w->rep_list_words = parse_words(c, v, "referral.rep_commands", "list", 0, NULL);
		w->rep_stats_words = parse_words(c, v, "referral.rep_commands", "stats", 0,
		    NULL);
		w->rep_register_words = parse_words(c, v, "referral.rep_commands", "register",
		    0, NULL);
	}
	if (cfg_map_get(m, "rep_link_words", &v))
		w->rep_link_words = parse_words(c, m, "referral", "rep_link_words", 0,
		    &w->rep_link_word);
	if (cfg_map_get(m, "referrer_answers", &v) &&
	    cfg_check_mapping(c, v, "referral.referrer_answers", answers, answers) != -1) {
		w->referrer_yes_words = parse_words(c, v, "referral.referrer_answers", "yes", 0,
		    NULL);
		w->referrer_no_words = parse_words(c, v, "referral.referrer_answers", "no", 0,
		    NULL);
	}
}

/* After an error the load fails; until then nothing may be NULL. */
static void
fill_missing(struct config_wording *w)
{
	char **strings[] = { &w->display_name, &w->sender_name, &w->friend_name,
	    &w->unknown_name, &w->no_rep, &w->rep_link_word };
	char ***lists[] = { &w->rep_list_words, &w->rep_stats_words, &w->rep_register_words,
	    &w->rep_link_words, &w->referrer_yes_words, &w->referrer_no_words };

	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		if (*strings[i] == NULL)
			*strings[i] = xstrdup("");
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if (*lists[i] == NULL)
			*lists[i] = xcalloc(1, sizeof(char *));
	for (int s = 0; s < REF_STATE_COUNT; s++)
		if (w->states[s].label == NULL)
			w->states[s].label = xstrdup("");
}

void
cfg_parse_wording(struct cfg *c)
{
	static const char *const sections[] = { "messages", "names", "referral", NULL };
	struct cnode root, v;

	load_builtin(c);
	if (c->builtin.loaded) {
		root.file = &c->builtin;
		root.node = yaml_document_get_root_node(&c->builtin.doc);
		if (cfg_check_mapping(c, root, "built-in wording", sections, sections) != -1) {
			if (cfg_map_get(root, "names", &v))
				parse_names(c, v);
			if (cfg_map_get(root, "referral", &v))
				parse_referral_words(c, v);
		}
	}
	fill_missing(&c->out->wording);
}

static void
free_words(char **words)
{
	for (char **w = words; w != NULL && *w != NULL; w++)
		free(*w);
	free(words);
}

void
cfg_free_wording(struct config *cf)
{
	struct config_wording *w = &cf->wording;

	free(w->display_name);
	free(w->sender_name);
	free(w->friend_name);
	free(w->unknown_name);
	free(w->no_rep);
	for (int s = 0; s < REF_STATE_COUNT; s++) {
		free(w->states[s].label);
		free_words(w->states[s].words);
	}
	free_words(w->rep_list_words);
	free_words(w->rep_stats_words);
	free_words(w->rep_register_words);
	free_words(w->rep_link_words);
	free(w->rep_link_word);
	free_words(w->referrer_yes_words);
	free_words(w->referrer_no_words);
}

const char *
config_state_label(const struct config *cf, enum ref_state s)
{
	return cf->wording.states[s].label;
}

const char *
config_state_words(const struct config *cf, const char *name)
{
	enum ref_state s;

	return ref_state_parse(name, &s) == 0 ? config_state_label(cf, s) : name;
}

int
config_state_from_word(const struct config *cf, const char *word, enum ref_state *out)
{
	for (int s = 0; s < REF_STATE_COUNT; s++)
		if (config_words_has(cf->wording.states[s].words, word)) {
			*out = (enum ref_state)s;
			return 0;
		}
	return -1;
}

int
config_words_has(char *const *words, const char *text)
{
	for (; words != NULL && *words != NULL; words++)
		if (strcmp(*words, text) == 0)
			return 1;
	return 0;
}
