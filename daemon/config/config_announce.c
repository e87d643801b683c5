/* config_announce.c: the messages operators may announce (announcements:), each with
 * the console's title, the LINE channel it goes out on and the segments offered. An
 * announcement is multicast: one body to up to 500 people, so its message may show
 * nothing personal; only {company_name} is allowed, checked at load. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config_yaml.h"

static const char *const announce_placeholders[] = { "company_name", NULL };

static void
parse_segments(struct cfg *c, struct cnode list, const char *what, unsigned *out)
{
	*out = 0;
	if (list.node->type != YAML_SEQUENCE_NODE || cfg_list_len(list) == 0) {
		cfg_err(c, list, "%s.segments: expected a list of segment kinds (all, branch, "
		    "rep, not_referred, referred, tag)", what);
		return;
	}
	for (size_t i = 0; i < cfg_list_len(list); i++) {
		struct cnode item = cfg_list_item(list, i);
		const char *name = item.node->type == YAML_SCALAR_NODE ? cfg_scalar(item) : "";
		enum seg_kind k;

		if (seg_kind_parse(name, strlen(name), &k) == -1)
			cfg_err(c, item, "%s.segments[%zu]: unknown segment kind '%s' (known: all, "
			    "branch, rep, not_referred, referred, tag)", what, i, name);
		else
			*out |= 1u << k;
	}
}

static void
parse_announcement(struct cfg *c, struct cnode m, const char *what,
    struct config_announcement *a)
{
	static const char *const allowed[] = { "id", "title", "message", "channel",
	    "segments", NULL };
	static const char *const required[] = { "id", "title", "message", NULL };
	struct config *cf = c->out;
	struct cnode v;

	a->segments = (1u << SEG_KIND_COUNT) - 1;
	if (cfg_check_mapping(c, m, what, allowed, required) == -1)
		return;
	if (cfg_get_str(c, m, what, "id", &a->id) == 1 && !cfg_valid_id(a->id)) {
		cfg_map_get(m, "id", &v);
		cfg_err(c, v, "%s.id: '%s' may use only a-z, 0-9, '-' and '_'", what, a->id);
	}
	if (cfg_get_str(c, m, what, "title", &a->title) == 1) {
		char why[WHY_MAX];

		cfg_map_get(m, "title", &v);
		if (cell_check(a->title, strlen(a->title), why, sizeof(why)) == -1)
			cfg_err(c, v, "%s.title: %s", what, why);
		else if (a->title[0] == '\0' || strlen(a->title) > 200)
			cfg_err(c, v, "%s.title: expected 1-200 bytes", what);
	}
	if (cfg_get_str(c, m, what, "channel", &a->channel) == 1 &&
	    config_line_channel(cf, a->channel) == NULL) {
		cfg_map_get(m, "channel", &v);
		cfg_err(c, v, "%s.channel: no LINE channel '%s' under line.channels", what,
		    a->channel);
	} else if (a->channel == NULL && cf->n_line_channels > 0)
		a->channel = xstrdup(cf->line_channels[0].id);
	if (cfg_get_str(c, m, what, "message", &a->message_name) == 1) {
		cfg_map_get(m, "message", &v);
		a->message = cfg_use_message(c, v, what, a->message_name, PLATFORM_LINE,
		    announce_placeholders);
	}
	if (cfg_map_get(m, "segments", &v))
		parse_segments(c, v, what, &a->segments);
}

/* After the chat sections (an announcement names a message) and the referral ones (a
 * segment names branches and reps, checked when one is chosen). */
void
cfg_parse_announce(struct cfg *c)
{
	struct config *cf = c->out;
	struct cnode sec;

	if (!cfg_root_get(c, "announcements", &sec))
		return;
	if (sec.node->type != YAML_SEQUENCE_NODE) {
		cfg_err(c, sec, "announcements: expected a list, got %s", cfg_node_kind(sec.node));
		return;
	}
	cf->announcements = xcalloc(cfg_list_len(sec) + 1, sizeof(*cf->announcements));
	for (size_t i = 0; i < cfg_list_len(sec); i++) {
		char *what = xasprintf("announcements[%zu]", i);
		struct config_announcement *a = &cf->announcements[cf->n_announcements++];

		parse_announcement(c, cfg_list_item(sec, i), what, a);
		for (size_t j = 0; a->id != NULL && j + 1 < cf->n_announcements; j++)
			if (cf->announcements[j].id != NULL &&
			    strcmp(cf->announcements[j].id, a->id) == 0)
				cfg_err(c, cfg_list_item(sec, i), "%s: id '%s' is used twice", what,
				    a->id);
		free(what);
	}
}

void
cfg_free_announce(struct config *cf)
{
	for (size_t i = 0; i < cf->n_announcements; i++) {
		free(cf->announcements[i].id);
		free(cf->announcements[i].title);
		free(cf->announcements[i].message_name);
		free(cf->announcements[i].channel);
	}
	free(cf->announcements);
}

const struct config_announcement *
config_announcement(const struct config *cf, const char *id)
{
	for (size_t i = 0; i < cf->n_announcements; i++)
		if (cf->announcements[i].id != NULL && strcmp(cf->announcements[i].id, id) == 0)
			return &cf->announcements[i];
	return NULL;
}

int
config_announce_target(const struct config *cf, const struct config_announcement *a,
    const struct segment *sg, char **reps_json, char *why, size_t whylen)
{
	json_t *codes;

	*reps_json = NULL;
	if ((a->segments & (1u << sg->kind)) == 0) {
		snprintf(why, whylen, "announcement %s is not offered to segment %s (its "
		    "segments: in the config)", a->id, seg_kind_name(sg->kind));
		return -1;
	}
	if (sg->kind == SEG_BRANCH) {
		const struct config_branch *b = config_branch(cf, sg->arg);

		if (b == NULL) {
			snprintf(why, whylen, "no branch '%s' under branches", sg->arg);
			return -1;
		}
		codes = json_array();
		for (size_t i = 0; i < cf->n_reps; i++)
			if (cf->reps[i].branch == b)
				json_array_append_new(codes, json_string(cf->reps[i].code));
	} else if (sg->kind == SEG_REP) {
		if (config_rep(cf, sg->arg) == NULL) {
			snprintf(why, whylen, "no rep '%s' under reps", sg->arg);
			return -1;
		}
		codes = json_pack("[s]", sg->arg);
	} else
		return 0;
	*reps_json = json_dumps(codes, JSON_COMPACT);
	json_decref(codes);
	return 0;
}

json_t *
config_announce_messages(const struct config *cf, const struct config_announcement *a)
{
	struct msg_vars vars;

	memset(&vars, 0, sizeof(vars));
	msg_vars_set(&vars, "company_name", cf->company_name ? cf->company_name : "");
	return msg_template_render(a->message->line, &vars);
}
