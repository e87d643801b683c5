/* config_chat.c: the chat sections of the config: messages, keyword auto-replies and
 * postback actions, and the order all chat sections are read in (the menus themselves
 * are config_menu.c's). Everything a rule or postback names must exist: a typo is a
 * load error with its file:line:column, never a silent no-reply in a customer's chat. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config_yaml.h"

/* Every placeholder any message may use; where a message is used decides which of them
 * it may really use (see cfg_use_message). */
static const char *const all_placeholders[] = { "display_name", "company_name",
    "sender_name", "rep_name", "rep_contact_url", "branch_name", "code", "invite_url",
    "share_url", "friend_name", "referral_id", "referrer_name", "claimed_at",
    "coupon_code", "date", "time", "datetime", "invites", "claims", "wins", "rewards",
    "losses", "state", "reason", "count", "list", "customer_name", "opened_at",
    "last_messages", "console_url", "waiting_since", "from", "to", "invites_prev",
    "claims_prev", "wins_prev", "rewards_prev", "month_wins", "target", "reps", "open",
    "waiting", "oldest_hours", "sender_short_name", "rep_short_name", "rep_link_url",
    "code_display", "invite_text", "to_state", "age_days", NULL };
/* What greetings, auto-replies and postback replies provide. */
const char *const cfg_chat_placeholders_line[] = { "display_name", "company_name", NULL };
/* Postback replies also have what a date/time picker chose. */
static const char *const postback_placeholders[] = { "display_name", "company_name", "date",
    "time", "datetime", NULL };
const char *const cfg_chat_placeholders_works[] = { "company_name", NULL };

/* The messages shokai sends by name, where each is sent and what it may show there. The
 * built-in wording (default_wording.yaml) has every one marked builtin, and an
 * operator's message of the same name replaces it; the others are sent only when the
 * operator has them. The invite's messages are config_referral.c's: they are checked
 * with the longest names the config can give. */
#define CUSTOMER_VARS	"display_name", "company_name"
#define REP_VARS	"company_name", "rep_name"
static const struct {
	const char	*name;
	int		 builtin;
	enum platform	 platform;
	const char	*provided[20];
} sent_by_name[] = {
	{ "greeting", 0, PLATFORM_LINE, { CUSTOMER_VARS, NULL } },
	{ "greeting_again", 0, PLATFORM_LINE, { CUSTOMER_VARS, NULL } },
	{ "postback_unknown", 1, PLATFORM_LINE, { CUSTOMER_VARS, NULL } },
	{ "referral_status", 1, PLATFORM_LINE, { CUSTOMER_VARS, "invites", "claims", "wins",
	    "rewards", NULL } },
	{ "referral_no_campaign", 1, PLATFORM_LINE, { CUSTOMER_VARS, NULL } },
	{ "claim_not_accepted", 1, PLATFORM_LINE, { CUSTOMER_VARS, NULL } },
	{ "claim_unknown_code", 1, PLATFORM_LINE, { CUSTOMER_VARS, NULL } },
	{ "claim_held", 1, PLATFORM_LINE, { CUSTOMER_VARS, NULL } },
	{ "claim_thanks_referee", 1, PLATFORM_LINE, { CUSTOMER_VARS, "rep_name", "branch_name",
	    "rep_contact_url", NULL } },
	/* Pushed to the referrer: the display name at hand is the friend's. */
	{ "claim_thanks_referrer", 1, PLATFORM_LINE, { "company_name", "friend_name",
	    "referral_id", "rep_name", "branch_name", "rep_contact_url", NULL } },
	{ "rep_link_thanks", 1, PLATFORM_LINE, { CUSTOMER_VARS, "rep_name", "branch_name",
	    NULL } },
	{ "rep_link_thanks_no_branch", 1, PLATFORM_LINE, { CUSTOMER_VARS, "rep_name", NULL } },
	{ "reward_coupon", 1, PLATFORM_LINE, { "company_name", "coupon_code", NULL } },
	{ "referral_reminder", 1, PLATFORM_LINE, { "company_name", "rep_name", "branch_name",
	    "code", "code_display", "invite_url", "share_url", "invite_text", NULL } },
	{ "referral_ask_after_won", 1, PLATFORM_LINE, { "company_name", "rep_name",
	    "branch_name", NULL } },
	{ "ask_referrer", 1, PLATFORM_LINE, { CUSTOMER_VARS, NULL } },
	{ "ask_referrer_name", 1, PLATFORM_LINE, { CUSTOMER_VARS, NULL } },
	{ "ask_referrer_none", 1, PLATFORM_LINE, { CUSTOMER_VARS, NULL } },
	{ "ask_referrer_thanks", 1, PLATFORM_LINE, { CUSTOMER_VARS, NULL } },
	{ "rep_escalation", 1, PLATFORM_WORKS, { "company_name", "referral_id", "rep_name",
	    "branch_name", "waiting_since", "console_url", NULL } },
	{ "rep_digest", 1, PLATFORM_WORKS, { "company_name", "branch_name", "from", "to",
	    "invites", "invites_prev", "claims", "claims_prev", "wins", "wins_prev", "rewards",
	    "rewards_prev", "month_wins", "target", "reps", "console_url", NULL } },
	{ "rep_digest_rep", 1, PLATFORM_WORKS, { "company_name", "rep_name", "open",
	    "waiting", "oldest_hours", NULL } },
	{ "rep_notify", 1, PLATFORM_WORKS, { "referral_id", "referrer_name", "friend_name",
	    "claimed_at", "rep_name", "company_name", NULL } },
	{ "handoff_notice", 1, PLATFORM_WORKS, { "company_name", "customer_name", "rep_name",
	    "opened_at", "last_messages", "console_url", NULL } },
	{ "handoff_escalation", 1, PLATFORM_WORKS, { "company_name", "customer_name",
	    "rep_name", "opened_at", "last_messages", "console_url", NULL } },
	{ "rep_referral_not_found", 1, PLATFORM_WORKS, { REP_VARS, "referral_id", NULL } },
	{ "rep_list_item", 1, PLATFORM_WORKS, { REP_VARS, "referral_id", "friend_name",
	    "state", "claimed_at", "age_days", NULL } },
	{ "rep_unknown_member", 1, PLATFORM_WORKS, { "company_name", NULL } },
	{ "rep_contact_opened", 1, PLATFORM_WORKS, { REP_VARS, "referrer_name", "code",
	    "code_display", NULL } },
	{ "rep_registered", 1, PLATFORM_WORKS, { REP_VARS, "referral_id", "referrer_name",
	    "friend_name", "code_display", NULL } },
	{ "rep_registered_held", 1, PLATFORM_WORKS, { REP_VARS, "referral_id",
	    "referrer_name", "friend_name", "code_display", NULL } },
	{ "rep_register_refused", 1, PLATFORM_WORKS, { REP_VARS, "code_display",
	    "friend_name", NULL } },
	{ "rep_register_unknown_code", 1, PLATFORM_WORKS, { REP_VARS, "code_display", NULL } },
	{ "rep_register_usage", 1, PLATFORM_WORKS, { REP_VARS, NULL } },
	{ "rep_referral_not_yours", 1, PLATFORM_WORKS, { REP_VARS, "referral_id", NULL } },
	{ "rep_referral_refused", 1, PLATFORM_WORKS, { REP_VARS, "referral_id", "state",
	    "to_state", NULL } },
	{ "rep_referral_moved", 1, PLATFORM_WORKS, { REP_VARS, "referral_id", "state", NULL } },
	{ "rep_list_empty", 1, PLATFORM_WORKS, { REP_VARS, NULL } },
	{ "rep_list", 1, PLATFORM_WORKS, { REP_VARS, "count", "list", NULL } },
	{ "rep_stats", 1, PLATFORM_WORKS, { REP_VARS, "claims", "wins", "losses", NULL } },
	{ "rep_button_unreadable", 1, PLATFORM_WORKS, { REP_VARS, NULL } },
	{ "rep_button_invalid", 1, PLATFORM_WORKS, { REP_VARS, NULL } },
	/* The pages a friend sees when an invite link cannot send them on (http_invite.c):
	 * the first text is the heading, the others are paragraphs. */
	{ "invite_page_unknown", 1, PLATFORM_LINE, { "company_name", NULL } },
	{ "invite_page_over", 1, PLATFORM_LINE, { "company_name", NULL } },
	{ "invite_page_busy", 1, PLATFORM_LINE, { "company_name", NULL } },
	{ "invite_page_error", 1, PLATFORM_LINE, { "company_name", NULL } },
};

/* Built-in postback flows; the referral issue adds its own. */
static const char *const postback_flows[] = { "reply", "menu", "referral.invite",
    "referral.status", NULL };


/* What a message may show, known from its name when shokai sends it by that name
 * (then an unknown placeholder's error lists only what that message may use); an
 * operator's own message may use any, checked again where it is used. */
static const char *const *
placeholders_of(struct cfg *c, const char *name)
{
	const char *const *p = cfg_referral_placeholders(c, name);

	for (size_t i = 0; p == NULL && i < sizeof(sent_by_name) / sizeof(sent_by_name[0]);
	    i++)
		if (strcmp(sent_by_name[i].name, name) == 0)
			p = sent_by_name[i].provided;
	return p != NULL ? p : all_placeholders;
}

static struct config_message *
find_message(struct config *cf, const char *name)
{
	for (size_t i = 0; i < cf->n_messages; i++)
		if (strcmp(cf->messages[i].name, name) == 0)
			return &cf->messages[i];
	return NULL;
}

static size_t
mapping_len(struct cnode m)
{
	return m.node->type != YAML_MAPPING_NODE ? 0 : (size_t)(m.node->data.mapping.pairs.top -
	    m.node->data.mapping.pairs.start);
}

/* One file's messages: the built-in ones first, then the operator's, each of which
 * replaces a built-in one of the same name (in place: nothing points into the list
 * yet, and its room was counted before). */
static void
add_messages(struct cfg *c, struct cnode m, int builtin)
{
	struct config *cf = c->out;
	char err[512];

	if (m.node->type != YAML_MAPPING_NODE) {
		cfg_err(c, m, "messages: expected a mapping of names to messages, got %s",
		    cfg_node_kind(m.node));
		return;
	}
	for (yaml_node_pair_t *p = m.node->data.mapping.pairs.start;
	    p < m.node->data.mapping.pairs.top; p++) {
		struct cnode k = cfg_cnode_at(m, p->key), v = cfg_cnode_at(m, p->value);
		struct config_message *msg, *prev;
		struct msg_template *line, *works;
		json_t *spec;

		if (k.node->type != YAML_SCALAR_NODE || !cfg_valid_id(cfg_scalar(k))) {
			cfg_err(c, k, "messages: a message name may use only a-z, 0-9, '-' and "
			    "'_'");
			continue;
		}
		prev = find_message(cf, cfg_scalar(k));
		if (prev != NULL && (builtin || !prev->builtin)) {
			cfg_err(c, k, "messages: '%s' is defined twice", cfg_scalar(k));
			continue;
		}
		spec = cfg_yaml_to_json(v);
		line = msg_template_new(spec, PLATFORM_LINE, placeholders_of(c, cfg_scalar(k)), err,
		    sizeof(err));
		if (line == NULL) {
			cfg_err(c, v, "messages.%s%s%s", cfg_scalar(k), err[0] == '[' ? "" : ": ",
			    err);
			json_decref(spec);
			continue;
		}
		works = msg_template_new(spec, PLATFORM_WORKS, placeholders_of(c, cfg_scalar(k)),
		    err, sizeof(err));
		json_decref(spec);
		if (prev != NULL) {		/* the operator's replaces the built-in one */
			msg = prev;
			msg_template_free(msg->line);
			msg_template_free(msg->works);
			free(msg->works_error);
		} else {
			msg = &cf->messages[cf->n_messages++];
			msg->name = xstrdup(cfg_scalar(k));
		}
		msg->line = line;
		msg->works = works;
		msg->works_error = works == NULL ? xstrdup(err) : NULL;
		msg->builtin = builtin;
	}
}

/* The built-in messages, then the operator's. */
static void
parse_messages(struct cfg *c)
{
	struct cnode builtin, own;
	int have_builtin = cfg_builtin_get(c, "messages", &builtin);
	int have_own = cfg_root_get(c, "messages", &own);

	c->out->messages = xcalloc((have_builtin ? mapping_len(builtin) : 0) +
	    (have_own ? mapping_len(own) : 0) + 1, sizeof(*c->out->messages));
	if (have_builtin)
		add_messages(c, builtin, 1);
	if (have_own)
		add_messages(c, own, 0);
}

/* Each message sent by name may show only what its moment provides, and a built-in
 * one must exist. Errors point at the operator's message, else at the built-in one. */
static void
check_sent_by_name(struct cfg *c)
{
	for (size_t i = 0; i < sizeof(sent_by_name) / sizeof(sent_by_name[0]); i++) {
		struct cnode at;
		char *what;

		if (!cfg_message_node(c, sent_by_name[i].name, &at) &&
		    (!sent_by_name[i].builtin || !cfg_builtin_get(c, "messages", &at)))
			continue;	/* optional, or the built-in file is broken */
		what = xasprintf("messages.%s", sent_by_name[i].name);
		cfg_use_message(c, at, what, sent_by_name[i].name, sent_by_name[i].platform,
		    sent_by_name[i].provided);
		free(what);
	}
}

/* A message used where only some placeholders have values: anything else would reach
 * a customer as an empty gap, so it is refused here. */
const struct config_message *
cfg_use_message(struct cfg *c, struct cnode at, const char *what, const char *name,
    enum platform platform, const char *const *provided)
{
	const struct config_message *msg = config_message(c->out, name);
	const char *const *used;

	if (msg == NULL) {
		struct cnode own;

		/* One defined but refused was said at its own line; once is enough. */
		if (!cfg_message_node(c, name, &own))
			cfg_err(c, at, "%s: no message named '%s' under messages", what, name);
		return NULL;
	}
	if (platform == PLATFORM_WORKS && msg->works == NULL) {
		cfg_err(c, at, "%s: message '%s' cannot be sent on LINE WORKS: %s", what, name,
		    msg->works_error);
		return NULL;
	}
	used = msg_template_placeholders(msg->line);
	for (; used != NULL && *used != NULL; used++) {
		if (!cfg_name_in(*used, provided)) {
			char list[256] = "";

			for (const char *const *p = provided; *p != NULL; p++)
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s{%s}",
				    p == provided ? "" : ", ", *p);
			cfg_err(c, at, "%s: message '%s' uses {%s}, which is not known here "
			    "(known: %s)", what, name, *used, list);
			return NULL;
		}
	}
	return msg;
}

/* match: { exact|prefix|contains: word or [words], or regex: pattern } */
static void
parse_match(struct cfg *c, struct cnode m, const char *what, struct config_rule *r)
{
	static const char *const kinds[] = { "exact", "prefix", "contains", "regex", NULL };
	struct cnode v;
	int found = 0;

	if (cfg_check_mapping(c, m, what, kinds, NULL) == -1)
		return;
	for (int k = 0; kinds[k] != NULL; k++) {
		if (!cfg_map_get(m, kinds[k], &v))
			continue;
		if (found++) {
			cfg_err(c, v, "%s: give one of exact, prefix, contains or regex", what);
			return;
		}
		r->kind = (enum match_kind)k;
		if (r->kind == MATCH_REGEX) {
			int rc;

			if (v.node->type != YAML_SCALAR_NODE) {
				cfg_err(c, v, "%s.regex: expected one pattern", what);
				return;
			}
			/* Text is normalised (half-width, lower case) before matching. The
			 * pattern is not: folding it would turn \S into \s. Write it
			 * half-width; case does not matter. */
			r->regex = xcalloc(1, sizeof(*r->regex));
			if ((rc = regcomp(r->regex, cfg_scalar(v), REG_EXTENDED | REG_ICASE |
			    REG_NOSUB)) != 0) {
				char why[128];

				regerror(rc, r->regex, why, sizeof(why));
				cfg_err(c, v, "%s.regex: invalid regular expression: %s", what, why);
				free(r->regex);
				r->regex = NULL;
			}
			return;
		}
		if (v.node->type == YAML_SCALAR_NODE && !cfg_is_null_scalar(v)) {
			r->words = xcalloc(1, sizeof(*r->words));
			r->words[r->nwords++] = text_normalize(cfg_scalar(v));
		} else if (v.node->type == YAML_SEQUENCE_NODE && cfg_list_len(v) > 0) {
			r->words = xcalloc(cfg_list_len(v), sizeof(*r->words));
			for (size_t i = 0; i < cfg_list_len(v); i++) {
				struct cnode w = cfg_list_item(v, i);

				if (w.node->type != YAML_SCALAR_NODE || *cfg_scalar(w) == '\0') {
					cfg_err(c, w, "%s.%s[%zu]: expected a word", what, kinds[k], i);
					continue;
				}
				r->words[r->nwords++] = text_normalize(cfg_scalar(w));
			}
		} else
			cfg_err(c, v, "%s.%s: expected a word or a list of words", what, kinds[k]);
	}
	if (!found)
		cfg_err(c, m, "%s: give one of exact, prefix, contains or regex", what);
}

static void
parse_rule(struct cfg *c, struct cnode m, const char *what, struct config_rule *r)
{
	static const char *const allowed[] = { "match", "fallback", "reply", "action",
	    "channel", "platform", "hours", "cooldown", "handoff", NULL };
	struct cnode v, at;
	char *s = NULL;
	const char *const *provided;

	r->platforms = 1u << PLATFORM_LINE;
	r->hours.days = 0x7f;
	if (cfg_check_mapping(c, m, what, allowed, NULL) == -1)
		return;
	if (cfg_get_str(c, m, what, "platform", &s) == 1) {
		cfg_map_get(m, "platform", &v);
		if (strcmp(s, "line") == 0)
			r->platforms = 1u << PLATFORM_LINE;
		else if (strcmp(s, "works") == 0)
			r->platforms = 1u << PLATFORM_WORKS;
		else
			cfg_err(c, v, "%s.platform: expected line or works", what);
	}
	free(s);
	s = NULL;
	if (cfg_get_str(c, m, what, "channel", &r->channel) == 1) {
		cfg_map_get(m, "channel", &v);
		if (r->platforms & (1u << PLATFORM_WORKS) ? config_works_bot(c->out,
		    r->channel) == NULL : config_line_channel(c->out, r->channel) == NULL)
			cfg_err(c, v, "%s.channel: no %s '%s'", what, r->platforms &
			    (1u << PLATFORM_WORKS) ? "LINE WORKS bot" : "LINE channel",
			    r->channel);
	}
	provided = r->platforms & (1u << PLATFORM_WORKS) ? cfg_chat_placeholders_works :
	    cfg_chat_placeholders_line;
	if (cfg_map_get(m, "match", &v)) {
		if (cfg_map_get(m, "fallback", &at))
			cfg_err(c, at, "%s: a rule has match or fallback, not both", what);
		parse_match(c, v, what, r);
		if (cfg_get_str(c, m, what, "reply", &s) == 1 && cfg_map_get(m, "reply", &at))
			r->reply = cfg_use_message(c, at, what, s, r->platforms & (1u <<
			    PLATFORM_WORKS) ? PLATFORM_WORKS : PLATFORM_LINE, provided);
		free(s);
		s = NULL;
		if (cfg_get_str(c, m, what, "action", &r->action) == 1 &&
		    config_postback(c->out, r->action) == NULL) {
			cfg_map_get(m, "action", &at);
			cfg_err(c, at, "%s.action: no postback action '%s' under postbacks",
			    what, r->action);
		}
		if (cfg_map_get(m, "reply", &at) && cfg_map_get(m, "action", &at))
			cfg_err(c, at, "%s: give reply or action, not both", what);
		else if (!cfg_map_get(m, "reply", &at) && !cfg_map_get(m, "action", &at))
			cfg_err(c, m, "%s: give reply (a message) or action (a postback action)",
			    what);
	} else if (cfg_get_str(c, m, what, "fallback", &s) == 1) {
		r->kind = MATCH_ANY;
		cfg_map_get(m, "fallback", &at);
		r->reply = cfg_use_message(c, at, what, s, r->platforms & (1u << PLATFORM_WORKS) ?
		    PLATFORM_WORKS : PLATFORM_LINE, provided);
		free(s);
		s = NULL;
		if (cfg_map_get(m, "reply", &at) || cfg_map_get(m, "action", &at))
			cfg_err(c, at, "%s: the fallback names its message itself", what);
	} else if (!cfg_map_get(m, "fallback", &at))
		cfg_err(c, m, "%s: give match (with reply or action) or fallback", what);
	if (cfg_map_get(m, "hours", &v)) {
		char *hours_what = xasprintf("%s.hours", what);

		cfg_parse_hours(c, v, hours_what, &r->hours, 0);
		free(hours_what);
	}
	cfg_get_duration(c, m, what, "cooldown", 1000, 366LL * 86400 * 1000, &r->cooldown_ms);
	if (cfg_get_bool(c, m, what, "handoff", &r->handoff) == 1 && r->handoff) {
		cfg_map_get(m, "handoff", &v);
		if (r->platforms & (1u << PLATFORM_WORKS))
			cfg_err(c, v, "%s.handoff: reps on LINE WORKS are the people; only a "
			    "LINE rule hands a customer off", what);
		else if (r->action != NULL)
			cfg_err(c, v, "%s.handoff: the action '%s' decides; give handoff: true "
			    "under postbacks.%s instead", what, r->action, r->action);
		else
			c->out->handoff.used = 1;
	}
}

static void
parse_auto_replies(struct cfg *c, struct cnode list)
{
	struct config *cf = c->out;

	if (list.node->type != YAML_SEQUENCE_NODE) {
		cfg_err(c, list, "auto_replies: expected a list of rules, got %s",
		    cfg_node_kind(list.node));
		return;
	}
	cf->rules = xcalloc(cfg_list_len(list) + 1, sizeof(*cf->rules));
	for (size_t i = 0; i < cfg_list_len(list); i++) {
		char *what = xasprintf("auto_replies[%zu]", i);
		struct config_rule *r = &cf->rules[cf->n_rules++];

		r->index = i;
		parse_rule(c, cfg_list_item(list, i), what, r);
		free(what);
	}
}

static void
parse_postbacks(struct cfg *c, struct cnode m)
{
	struct config *cf = c->out;

	if (m.node->type != YAML_MAPPING_NODE) {
		cfg_err(c, m, "postbacks: expected a mapping of action names to flows, got %s",
		    cfg_node_kind(m.node));
		return;
	}
	cf->postbacks = xcalloc((size_t)(m.node->data.mapping.pairs.top -
	    m.node->data.mapping.pairs.start) + 1, sizeof(*cf->postbacks));
	for (yaml_node_pair_t *p = m.node->data.mapping.pairs.start;
	    p < m.node->data.mapping.pairs.top; p++) {
		static const char *const allowed[] = { "reply", "menu", "handoff", NULL };
		struct cnode k = cfg_cnode_at(m, p->key), v = cfg_cnode_at(m, p->value), at;
		struct config_postback *pb;
		char *what, *s = NULL;

		if (k.node->type != YAML_SCALAR_NODE || !cfg_valid_id(cfg_scalar(k))) {
			cfg_err(c, k, "postbacks: an action name may use only a-z, 0-9, '-' and "
			    "'_'");
			continue;
		}
		if (config_postback(cf, cfg_scalar(k)) != NULL) {
			cfg_err(c, k, "postbacks: '%s' is defined twice", cfg_scalar(k));
			continue;
		}
		pb = &cf->postbacks[cf->n_postbacks++];
		pb->action = xstrdup(cfg_scalar(k));
		what = xasprintf("postbacks.%s", cfg_scalar(k));
		if (v.node->type == YAML_SCALAR_NODE) {
			/* A flow by name: "menu" links the menu the data's "to" names. */
			pb->flow = xstrdup(cfg_scalar(v));
			if (!cfg_name_in(pb->flow, postback_flows) || strcmp(pb->flow, "reply") == 0)
				cfg_err(c, v, "%s: unknown flow '%s' (known: menu, "
				    "referral.invite, referral.status; or give {reply: MESSAGE} or "
				    "{menu: ID})", what, pb->flow);
		} else if (cfg_check_mapping(c, v, what, allowed, NULL) == 1) {
			if (cfg_get_str(c, v, what, "reply", &s) == 1 &&
			    cfg_map_get(v, "reply", &at)) {
				pb->flow = xstrdup("reply");
				pb->reply = cfg_use_message(c, at, what, s, PLATFORM_LINE,
				    postback_placeholders);
			}
			free(s);
			s = NULL;
			if (cfg_get_str(c, v, what, "menu", &s) == 1 &&
			    cfg_map_get(v, "menu", &at)) {
				if (pb->flow != NULL)
					cfg_err(c, at, "%s: give reply or menu, not both", what);
				else
					pb->flow = xstrdup("menu");
				if ((pb->menu = config_richmenu(cf, s)) == NULL)
					cfg_err(c, at, "%s.menu: no rich menu '%s' under rich_menus",
					    what, s);
			}
			free(s);
			if (pb->flow == NULL)
				cfg_err(c, v, "%s: give reply (a message) or menu (a rich menu id)",
				    what);
			if (cfg_get_bool(c, v, what, "handoff", &pb->handoff) == 1 &&
			    pb->handoff) {
				cfg_map_get(v, "handoff", &at);
				if (pb->flow == NULL || strcmp(pb->flow, "reply") != 0)
					cfg_err(c, at, "%s.handoff: a handoff answers with a reply "
					    "(give reply: MESSAGE)", what);
				else
					c->out->handoff.used = 1;
			}
		}
		free(what);
	}
}

/* Order matters: messages (the built-in ones, then the operator's) first, as rules
 * name messages and postback actions, postbacks name messages and menus, and each is
 * looked up in every included file. */
/* Each postback action's words as the customer's chat shows them after a tap, for the
 * conversation log: the first rich menu button that sends it. */
static void
name_taps(struct config *cf)
{
	for (size_t i = 0; i < cf->n_richmenus; i++) {
		json_t *area;
		size_t j;

		json_array_foreach(json_object_get(cf->richmenus[i].object, "areas"), j, area) {
			json_t *a = json_object_get(area, "action");
			const char *data = json_string_value(json_object_get(a, "data"));
			const char *shown = json_string_value(json_object_get(a, "displayText"));
			struct postback pb;
			char why[WHY_MAX];

			if (shown == NULL)
				shown = json_string_value(json_object_get(a, "label"));
			if (data == NULL || shown == NULL ||
			    postback_parse(data, &pb, why, sizeof(why)) == -1)
				continue;
			for (size_t k = 0; k < cf->n_postbacks && pb.action != NULL; k++)
				if (strcmp(cf->postbacks[k].action, pb.action) == 0 &&
				    cf->postbacks[k].shown == NULL)
					cf->postbacks[k].shown = xstrdup(shown);
			postback_clear(&pb);
		}
	}
}

void
cfg_parse_chat(struct cfg *c)
{
	struct cnode sec;

	parse_messages(c);
	if (cfg_root_get(c, "rich_menus", &sec))
		cfg_parse_rich_menus(c, sec);
	if (cfg_root_get(c, "postbacks", &sec))
		parse_postbacks(c, sec);
	if (cfg_root_get(c, "auto_replies", &sec))
		parse_auto_replies(c, sec);
	if (cfg_root_get(c, "rich_menu_rules", &sec))
		cfg_parse_menu_rules(c, sec);
	name_taps(c->out);
	/* Display names are fetched before a batch only where some answer shows one. */
	for (size_t i = 0; i < c->out->n_messages; i++) {
		const struct config_message *m = &c->out->messages[i];

		if (strcmp(m->name, "greeting") != 0 && strcmp(m->name, "greeting_again") != 0 &&
		    (cfg_name_in("display_name", msg_template_placeholders(m->line)) ||
		    cfg_name_in("sender_name", msg_template_placeholders(m->line)) ||
		    cfg_name_in("sender_short_name", msg_template_placeholders(m->line))))
			c->out->prefetch_display_names = 1;
	}
	check_sent_by_name(c);
}

void
cfg_free_chat(struct config *cf)
{
	for (size_t i = 0; i < cf->n_messages; i++) {
		free(cf->messages[i].name);
		msg_template_free(cf->messages[i].line);
		msg_template_free(cf->messages[i].works);
		free(cf->messages[i].works_error);
	}
	free(cf->messages);
	for (size_t i = 0; i < cf->n_rules; i++) {
		struct config_rule *r = &cf->rules[i];

		for (size_t j = 0; j < r->nwords; j++)
			free(r->words[j]);
		free(r->words);
		if (r->regex != NULL)
			regfree(r->regex);
		free(r->regex);
		free(r->channel);
		free(r->action);
		config_hours_clear(&r->hours);
	}
	free(cf->rules);
	for (size_t i = 0; i < cf->n_postbacks; i++) {
		free(cf->postbacks[i].action);
		free(cf->postbacks[i].shown);
		free(cf->postbacks[i].flow);
	}
	free(cf->postbacks);
	cfg_free_menus(cf);
}

const struct config_message *
config_message(const struct config *cf, const char *name)
{
	for (size_t i = 0; i < cf->n_messages; i++)
		if (cf->messages[i].name != NULL && strcmp(cf->messages[i].name, name) == 0)
			return &cf->messages[i];
	return NULL;
}

const struct config_postback *
config_postback(const struct config *cf, const char *action)
{
	for (size_t i = 0; i < cf->n_postbacks; i++)
		if (strcmp(cf->postbacks[i].action, action) == 0)
			return &cf->postbacks[i];
	return NULL;
}
