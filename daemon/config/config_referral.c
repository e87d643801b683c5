/* config_referral.c: the campaigns with their rules and rewards, the referral
 * settings, and the invite that customers share; who sells (branches and reps) is
 * config_reps.c's. A reward message that cannot show its coupon, an invite too long
 * for LINE's share link: each is a load error at its file and line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config_yaml.h"

/* What the invite and its preview may show. */
#define INVITE_VARS	"display_name", "company_name", "sender_name", "sender_short_name", \
    "rep_name", "rep_short_name", "rep_contact_url", "rep_link_url", "branch_name", "code", \
    "code_display", "invite_url"
static const char *const invite_placeholders[] = { INVITE_VARS, NULL };
static const char *const preview_placeholders[] = { INVITE_VARS, "share_url", "invite_text",
    NULL };
/* What the friend's prefilled claim may show. */
static const char *const claim_placeholders[] = { "code", "company_name", NULL };
/* What a reward message may show. */
static const char *const reward_placeholders[] = { "display_name", "company_name",
    "coupon_code", "friend_name", NULL };

/* 1 when the reward stage r (a mapping) names message `name` on a side. */
static int
stage_names_message(struct cnode r, const char *name)
{
	static const char *const sides[] = { "referrer", "referee" };
	struct cnode side, msg;

	if (r.node->type != YAML_MAPPING_NODE)
		return 0;
	for (size_t k = 0; k < 2; k++)
		if (cfg_map_get(r, sides[k], &side) && side.node->type == YAML_MAPPING_NODE &&
		    cfg_map_get(side, "message", &msg) && msg.node->type == YAML_SCALAR_NODE &&
		    strcmp(cfg_scalar(msg), name) == 0)
			return 1;
	return 0;
}

/* 1 when a campaign's reward (reward:, or a stage of rewards:) names message `name`
 * (read from the YAML: messages are read before campaigns). */
static int
reward_message(struct cfg *c, const char *name)
{
	struct cnode list, item, r;

	if (!cfg_root_get(c, "campaigns", &list) || list.node->type != YAML_SEQUENCE_NODE)
		return 0;
	for (size_t i = 0; i < cfg_list_len(list); i++) {
		item = cfg_list_item(list, i);
		if (item.node->type != YAML_MAPPING_NODE)
			continue;
		if (cfg_map_get(item, "reward", &r) && stage_names_message(r, name))
			return 1;
		if (!cfg_map_get(item, "rewards", &r) || r.node->type != YAML_SEQUENCE_NODE)
			continue;
		for (size_t g = 0; g < cfg_list_len(r); g++)
			if (stage_names_message(cfg_list_item(r, g), name))
				return 1;
	}
	return 0;
}

/* What the referral messages may show, known from their names before they are read:
 * the invite's, and a campaign's reward messages (whatever else uses one of these
 * may show less, never more). Their placeholders are checked against these when the
 * message is read (config_chat.c), so an error lists only what that message may use.
 * NULL for other names. */
const char *const *
cfg_referral_placeholders(struct cfg *c, const char *name)
{
	if (reward_message(c, name))
		return reward_placeholders;
	if (strcmp(name, "invite") == 0 || strcmp(name, "invite_no_rep") == 0)
		return invite_placeholders;
	if (strcmp(name, "invite_preview") == 0)
		return preview_placeholders;
	if (strcmp(name, "claim_text") == 0)
		return claim_placeholders;
	return NULL;
}
#define SHARE_PREFIX		"https://line.me/R/share?text="
#define URI_MAX			1000	/* LINE's limit on a uri action */
#define DISPLAY_NAME_MAX	20	/* LINE's limit on a display name */


/* A day that exists: 2027-02-29 would never come, so a campaign ending then would
 * silently end on the 28th. */
static int
valid_date(const char *s)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d, leap;
	char tail;

	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 ||
	    y < 2000 || y > 2100 || m < 1 || m > 12 || d < 1)
		return 0;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return d <= days[m - 1] + (m == 2 && leap);
}

static void
get_date(struct cfg *c, struct cnode m, const char *what, const char *key, char out[11])
{
	char *s = NULL;
	struct cnode v;

	if (cfg_get_str(c, m, what, key, &s) != 1)
		return;
	cfg_map_get(m, key, &v);
	if (!valid_date(s))
		cfg_err(c, v, "%s.%s: expected a date that exists, such as 2026-12-01", what,
		    key);
	else
		memcpy(out, s, 11);
	free(s);
}

static void
parse_reward_side(struct cfg *c, struct cnode m, const char *what,
    struct config_reward_side *side)
{
	static const char *const allowed[] = { "pool", "message", NULL };
	char *message = NULL;
	struct cnode v;

	if (cfg_check_mapping(c, m, what, allowed, allowed) != 1)
		return;
	if (cfg_get_str(c, m, what, "pool", &side->pool) == 1 && !cfg_valid_id(side->pool)) {
		cfg_map_get(m, "pool", &v);
		cfg_err(c, v, "%s.pool: '%s' may use only a-z, 0-9, '-' and '_'", what,
		    side->pool);
	}
	if (cfg_get_str(c, m, what, "message", &message) == 1 && cfg_map_get(m, "message", &v))
		side->message = cfg_use_message(c, v, what, message, PLATFORM_LINE,
		    reward_placeholders);
	free(message);
}

static void
parse_rules(struct cfg *c, struct cnode m, const char *what, struct config_campaign *cp)
{
	static const char *const allowed[] = { "attribution", "exclude_existing_friends",
	    "max_claims_per_referrer", "velocity", "show_friend_name_to_referrer",
	    "show_friend_name_to_rep", "review", "partner_clients", NULL };
	struct cnode v;
	char *s = NULL, *sub = NULL;

	if (cfg_check_mapping(c, m, what, allowed, NULL) == -1)
		return;
	if (cfg_get_str(c, m, what, "attribution", &s) == 1 && strcmp(s, "first_touch") != 0) {
		cfg_map_get(m, "attribution", &v);
		cfg_err(c, v, "%s.attribution: only first_touch (the first valid claim wins)",
		    what);
	}
	free(s);
	s = NULL;
	cfg_get_bool(c, m, what, "exclude_existing_friends", &cp->exclude_existing_friends);
	cfg_get_bool(c, m, what, "show_friend_name_to_referrer", &cp->show_friend_name);
	cfg_get_bool(c, m, what, "show_friend_name_to_rep", &cp->show_friend_name_to_rep);
	cfg_get_bool(c, m, what, "partner_clients", &cp->partner_clients);
	if (cfg_map_get(m, "max_claims_per_referrer", &v)) {
		static const char *const keys[] = { "count", "per", NULL };

		sub = xasprintf("%s.max_claims_per_referrer", what);
		if (cfg_check_mapping(c, v, sub, keys, keys) == 1) {
			cfg_get_int(c, v, sub, "count", 1, 100000, &cp->max_claims);
			if (cfg_get_str(c, v, sub, "per", &s) == 1) {
				struct cnode p;

				cfg_map_get(v, "per", &p);
				if (strcmp(s, "day") == 0)
					cp->max_claims_per = PERIOD_DAY;
				else if (strcmp(s, "week") == 0)
					cp->max_claims_per = PERIOD_WEEK;
				else if (strcmp(s, "month") == 0)
					cp->max_claims_per = PERIOD_MONTH;
				else
					cfg_err(c, p, "%s.per: expected day, week or month", sub);
			}
			free(s);
			s = NULL;
		}
		free(sub);
	}
	if (cfg_map_get(m, "velocity", &v)) {
		static const char *const keys[] = { "claims", "within", "then", NULL };

		sub = xasprintf("%s.velocity", what);
		if (cfg_check_mapping(c, v, sub, keys, (const char *const[]){ "claims", "within",
		    NULL }) == 1) {
			cfg_get_int(c, v, sub, "claims", 1, 100000, &cp->velocity_claims);
			cfg_get_duration(c, v, sub, "within", 1000, 30LL * 86400 * 1000,
			    &cp->velocity_within_ms);
			if (cfg_get_str(c, v, sub, "then", &s) == 1 && strcmp(s, "review") != 0) {
				struct cnode t;

				cfg_map_get(v, "then", &t);
				cfg_err(c, t, "%s.then: only review (held for an operator); claims "
				    "are never dropped silently", sub);
			}
			free(s);
		}
		free(sub);
	}
	if (cfg_map_get(m, "review", &v)) {
		static const char *const keys[] = { "within", "default", NULL };
		struct cnode t;
		int good;

		s = NULL;
		sub = xasprintf("%s.review", what);
		good = cfg_check_mapping(c, v, sub, keys, NULL) == 1;
		/* The outcome is said, never implied: a deadline without one would leave
		 * held claims waiting for ever while the config looks as if it decided. */
		if (good && !cfg_map_get(v, "default", &t))
			cfg_err(c, v, "%s: default is needed: approve, reject or none (what "
			    "happens to a held claim nobody decided by the deadline)", sub);
		if (good) {
			cfg_get_duration(c, v, sub, "within", 60000, 90LL * 86400 * 1000,
			    &cp->review_within_ms);
			if (cfg_get_str(c, v, sub, "default", &s) == 1) {
				cfg_map_get(v, "default", &t);
				if (strcmp(s, "approve") == 0)
					cp->review_default = REVIEW_APPROVE;
				else if (strcmp(s, "reject") == 0)
					cp->review_default = REVIEW_REJECT;
				else if (strcmp(s, "none") == 0)
					cp->review_default = REVIEW_NONE;
				else
					cfg_err(c, t, "%s.default: expected approve, reject or none "
					    "(what happens to a held claim nobody decided by the "
					    "deadline)", sub);
			}
			free(s);
		}
		free(sub);
	}
}

/* Messages to the friend (the thanks after a claim, the ask after a win) may come
 * under the rep's name and an icon, as LINE's sender: the friend meets the person. */
static void
parse_referee_sender(struct cfg *c, struct cnode m, const char *what,
    struct config_campaign *cp)
{
	struct cnode v;
	char *s = NULL;

	if (cfg_get_str(c, m, what, "referee_sender", &s) == 1) {
		cfg_map_get(m, "referee_sender", &v);
		if (strcmp(s, "rep") == 0)
			cp->referee_sender_rep = 1;
		else if (strcmp(s, "none") != 0)
			cfg_err(c, v, "%s.referee_sender: expected rep or none", what);
	}
	free(s);
	if (cfg_map_get(m, "referee_sender_icon_url", &v)) {
		cfg_get_url(c, m, what, "referee_sender_icon_url", &cp->referee_sender_icon_url);
		if (cp->referee_sender_icon_url != NULL &&
		    strncmp(cp->referee_sender_icon_url, "https://", 8) != 0)
			cfg_err(c, v, "%s.referee_sender_icon_url: LINE takes only https:// "
			    "icons", what);
	}
}

/* The referral states a reward may fall due at, as the config names them. */
static const struct {
	const char	*name;
	enum ref_state	 state;
} due_names[] = {
	{ "claim", REF_CLAIMED }, { "contacted", REF_CONTACTED }, { "meeting", REF_MEETING },
	{ "won", REF_WON },
};

/* One reward stage: when it falls due, for whom, how it is approved, what each side
 * gets. */
static void
parse_stage(struct cfg *c, struct cnode r, const char *sub, struct config_reward_stage *sg)
{
	static const char *const keys[] = { "due_on", "audience", "approval", "hold",
	    "referrer", "referee", NULL };
	struct cnode v;
	char *s = NULL;

	sg->due_on = REF_CLAIMED;
	if (cfg_check_mapping(c, r, sub, keys, NULL) == -1)
		return;
	if (cfg_get_str(c, r, sub, "due_on", &s) == 1) {
		size_t i;

		cfg_map_get(r, "due_on", &v);
		for (i = 0; i < sizeof(due_names) / sizeof(due_names[0]); i++)
			if (strcmp(s, due_names[i].name) == 0)
				break;
		if (i < sizeof(due_names) / sizeof(due_names[0]))
			sg->due_on = due_names[i].state;
		else
			cfg_err(c, v, "%s.due_on: expected claim, contacted, meeting or won", sub);
	}
	free(s);
	s = NULL;
	if (cfg_get_str(c, r, sub, "audience", &s) == 1) {
		cfg_map_get(r, "audience", &v);
		if (strcmp(s, "partners") == 0)
			sg->audience = AUDIENCE_PARTNERS;
		else if (strcmp(s, "customers") == 0)
			sg->audience = AUDIENCE_CUSTOMERS;
		else if (strcmp(s, "all") != 0)
			cfg_err(c, v, "%s.audience: expected all, customers or partners (whose "
			    "referrals earn this stage)", sub);
	}
	free(s);
	s = NULL;
	if (cfg_get_str(c, r, sub, "approval", &s) == 1) {
		cfg_map_get(r, "approval", &v);
		if (strcmp(s, "auto") == 0)
			sg->approval_auto = 1;
		else if (strcmp(s, "manual") != 0)
			cfg_err(c, v, "%s.approval: expected auto or manual", sub);
	}
	free(s);
	cfg_get_duration(c, r, sub, "hold", 0, 366LL * 86400 * 1000, &sg->hold_ms);
	if (cfg_map_get(r, "referrer", &v)) {
		char *side = xasprintf("%s.referrer", sub);

		parse_reward_side(c, v, side, &sg->referrer);
		free(side);
	}
	if (cfg_map_get(r, "referee", &v)) {
		char *side = xasprintf("%s.referee", sub);

		parse_reward_side(c, v, side, &sg->referee);
		free(side);
	}
}

/* void_on: [block, lost]: when a pending reward of the campaign is voided. */
static void
parse_void_on(struct cfg *c, struct cnode v, const char *sub, struct config_campaign *cp)
{
	if (v.node->type != YAML_SEQUENCE_NODE) {
		cfg_err(c, v, "%s: expected a list of block and lost, got %s", sub,
		    cfg_node_kind(v.node));
		return;
	}
	for (size_t i = 0; i < cfg_list_len(v); i++) {
		struct cnode it = cfg_list_item(v, i);
		const char *s = it.node->type == YAML_SCALAR_NODE ? cfg_scalar(it) : "";

		if (strcmp(s, "block") == 0)
			cp->void_on |= VOID_ON_BLOCK;
		else if (strcmp(s, "lost") == 0)
			cp->void_on |= VOID_ON_LOST;
		else
			cfg_err(c, it, "%s[%zu]: expected block (the friend blocks the account "
			    "before approval) or lost (the referral is lost)", sub, i);
	}
}

static void
parse_campaign(struct cfg *c, struct cnode m, const char *what, struct config_campaign *cp)
{
	static const char *const allowed[] = { "id", "name", "starts", "ends", "priority",
	    "rules", "reward", "rewards", "void_on", "reminders", "referee_sender",
	    "referee_sender_icon_url", NULL };
	static const char *const required[] = { "id", "name", "starts", "ends", NULL };
	struct cnode v, r;
	char *sub;

	cp->exclude_existing_friends = 1;
	cp->show_friend_name_to_rep = 1;	/* reps work with real names */
	cp->review_within_ms = 3LL * 86400 * 1000;
	if (cfg_check_mapping(c, m, what, allowed, required) == -1)
		return;
	if (cfg_get_str(c, m, what, "id", &cp->id) == 1 && !cfg_valid_id(cp->id)) {
		cfg_map_get(m, "id", &v);
		cfg_err(c, v, "%s.id: '%s' may use only a-z, 0-9, '-' and '_'", what, cp->id);
	}
	cfg_get_str(c, m, what, "name", &cp->name);
	get_date(c, m, what, "starts", cp->starts);
	get_date(c, m, what, "ends", cp->ends);
	if (cp->starts[0] && cp->ends[0] && strcmp(cp->starts, cp->ends) > 0) {
		cfg_map_get(m, "ends", &v);
		cfg_err(c, v, "%s: ends (%s) is before starts (%s)", what, cp->ends, cp->starts);
	}
	parse_referee_sender(c, m, what, cp);
	cfg_get_int(c, m, what, "priority", -1000, 1000, &cp->priority);
	if (cfg_map_get(m, "rules", &v)) {
		sub = xasprintf("%s.rules", what);
		parse_rules(c, v, sub, cp);
		free(sub);
	}
	if (cfg_map_get(m, "reminders", &v)) {
		sub = xasprintf("%s.reminders", what);
		cfg_parse_reminders(c, v, sub, cp);
		free(sub);
	}
	if (cfg_map_get(m, "void_on", &v)) {
		sub = xasprintf("%s.void_on", what);
		parse_void_on(c, v, sub, cp);
		free(sub);
	}
	if (cfg_map_get(m, "reward", &r) && cfg_map_get(m, "rewards", &v))
		cfg_err(c, v, "%s: reward (one stage) or rewards (a list of stages), not both",
		    what);
	else if (cfg_map_get(m, "reward", &r)) {
		cp->stages = xcalloc(1, sizeof(*cp->stages));
		cp->n_stages = 1;
		sub = xasprintf("%s.reward", what);
		parse_stage(c, r, sub, &cp->stages[0]);
		free(sub);
	} else if (cfg_map_get(m, "rewards", &r)) {
		if (r.node->type != YAML_SEQUENCE_NODE) {
			cfg_err(c, r, "%s.rewards: expected a list of stages, got %s", what,
			    cfg_node_kind(r.node));
			return;
		}
		/* A referral's pending rewards are voided in one read of them
		 * (referral_reward.c): stages x sides stay within it. */
		if (cfg_list_len(r) > REWARD_STAGES_MAX) {
			cfg_err(c, r, "%s.rewards: %zu stages; at most %d", what,
			    cfg_list_len(r), REWARD_STAGES_MAX);
			return;
		}
		cp->stages = xcalloc(cfg_list_len(r) + 1, sizeof(*cp->stages));
		for (size_t i = 0; i < cfg_list_len(r); i++) {
			sub = xasprintf("%s.rewards[%zu]", what, i);
			parse_stage(c, cfg_list_item(r, i), sub, &cp->stages[cp->n_stages++]);
			free(sub);
		}
	}
}

static void
parse_referral(struct cfg *c, struct cnode m)
{
	static const char *const allowed[] = { "notify_bot", "sender_name_fallback",
	    "contact_url", "invite_rate_per_min", "coupon_low_stock", "digest",
	    "escalate_unacted_after", "ask_referrer_after", NULL };
	struct config_referral *r = &c->out->referral;
	struct cnode v;

	if (cfg_check_mapping(c, m, "referral", allowed, NULL) == -1)
		return;
	if (cfg_get_str(c, m, "referral", "notify_bot", &r->notify_bot) == 1 &&
	    config_works_bot(c->out, r->notify_bot) == NULL) {
		cfg_map_get(m, "notify_bot", &v);
		cfg_err(c, v, "referral.notify_bot: no LINE WORKS bot '%s' under lineworks.bots",
		    r->notify_bot);
	}
	cfg_get_str(c, m, "referral", "sender_name_fallback", &r->sender_name_fallback);
	if (cfg_map_get(m, "contact_url", &v))
		cfg_get_url(c, m, "referral", "contact_url", &r->contact_url);
	cfg_get_int(c, m, "referral", "invite_rate_per_min", 1, 100000, &r->invite_rate_per_min);
	cfg_get_int(c, m, "referral", "coupon_low_stock", 0, 10000000, &r->coupon_low_stock);
	cfg_parse_followup(c, m);
}

/* A LINE user id: U and 32 lowercase hex digits (as webhooks carry them). */
static int
line_user_id_ok(const char *s)
{
	if (s[0] != 'U' || strlen(s) != 33)
		return 0;
	for (size_t i = 1; i < 33; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* testers: [Uxxxxxxxx, ...]: people who rehearse the flow on the real channel before
 * launch. A typo would reset or hide a real customer, so each must be a LINE user id,
 * once. */
static void
parse_testers(struct cfg *c, struct cnode list)
{
	struct config *cf = c->out;
	json_t *a;

	if (list.node->type != YAML_SEQUENCE_NODE) {
		cfg_err(c, list, "testers: expected a list of LINE user ids, got %s",
		    cfg_node_kind(list.node));
		return;
	}
	cf->testers = xcalloc(cfg_list_len(list) + 1, sizeof(*cf->testers));
	a = json_array();
	for (size_t i = 0; i < cfg_list_len(list); i++) {
		struct cnode item = cfg_list_item(list, i);
		const char *id = item.node->type == YAML_SCALAR_NODE ? cfg_scalar(item) : "";

		if (!line_user_id_ok(id)) {
			cfg_err(c, item, "testers[%zu]: expected a LINE user id (U and 32 "
			    "lowercase hex digits)", i);
			continue;
		}
		if (config_is_tester(cf, id)) {
			cfg_err(c, item, "testers[%zu]: %s is listed twice", i, id);
			continue;
		}
		cf->testers[cf->n_testers++] = xstrdup(id);
		json_array_append_new(a, json_string(id));
	}
	if (cf->n_testers > 0)
		cf->testers_json = json_dumps(a, JSON_COMPACT);
	json_decref(a);
}

int
config_is_tester(const struct config *cf, const char *user_id)
{
	for (size_t i = 0; user_id != NULL && i < cf->n_testers; i++)
		if (strcmp(cf->testers[i], user_id) == 0)
			return 1;
	return 0;
}

static size_t
longest(size_t have, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > have ? n : have;
}

/* A string of n three-byte characters: the worst case for percent-encoding. */
static char *
wide(size_t n)
{
	char *s = xmalloc(n * 3 + 1);

	for (size_t i = 0; i < n; i++)
		memcpy(s + i * 3, "\xE6\xBC\xA2", 3);	/* 漢 */
	s[n * 3] = '\0';
	return s;
}

char *
invite_share_url(const struct config_message *m, const struct msg_vars *vars)
{
	json_t *rendered = msg_template_render(m->line, vars);
	const char *text = json_string_value(json_object_get(json_array_get(rendered, 0),
	    "text"));
	char *enc, *url = NULL;

	if (json_array_size(rendered) == 1 && text != NULL) {
		enc = url_encode(text);
		url = xasprintf(SHARE_PREFIX "%s", enc);
		free(enc);
	}
	json_decref(rendered);
	return url;
}

/* One invite rendered with the worst-case values must make a share link LINE takes. */
static void
check_share(struct cfg *c, struct cnode at, const char *name,
    const struct config_message *m, const struct msg_vars *vars)
{
	char *url = invite_share_url(m, vars);

	if (url == NULL)
		cfg_err(c, at, "messages.%s: must be one text message (it is forwarded as it "
		    "is)", name);
	else if (strlen(url) > URI_MAX)
		cfg_err(c, at, "messages.%s: the share link can reach %zu characters with "
		    "the longest names and URLs here; LINE takes %d: shorten the text", name,
		    strlen(url), URI_MAX);
	free(url);
}

/* The invite is one text, forwarded through LINE's share picker as a uri of at most
 * 1,000 characters: rendered with the longest values it can get (a 20-character
 * display name, the longest rep, branch and contact URL), encoded, it must fit. */
static void
check_invite(struct cfg *c)
{
	const struct config *cf = c->out;
	struct cnode at, msgs, inv_at, pre_at;
	const struct config_message *inv, *pre;
	struct msg_vars vars = { 0 };
	size_t rep_name = 0, branch_name = 0, contact = 0;
	char *sender, *rep, *branch, *url, *invite_url, *rep_link_url, code[REFCODE_LEN + 1];
	char code_display[REFCODE_LEN + 2];

	/* Errors point at the message, or at campaigns when it is missing. */
	cfg_root_get(c, "campaigns", &at);
	inv_at = pre_at = at;
	if (cfg_root_get(c, "messages", &msgs)) {
		cfg_map_get(msgs, "invite", &inv_at);
		cfg_map_get(msgs, "invite_preview", &pre_at);
	}
	inv = cfg_use_message(c, inv_at, "messages.invite", "invite", PLATFORM_LINE,
	    invite_placeholders);
	pre = cfg_use_message(c, pre_at, "messages.invite_preview", "invite_preview",
	    PLATFORM_LINE, preview_placeholders);
	if (cfg_root_get(c, "messages", &msgs) && cfg_map_get(msgs, "claim_text", &at))
		cfg_use_message(c, at, "messages.claim_text", "claim_text", PLATFORM_LINE,
		    claim_placeholders);
	if (inv == NULL || pre == NULL)
		return;
	for (size_t i = 0; i < cf->n_reps; i++) {
		rep_name = longest(rep_name, cf->reps[i].name);
		contact = longest(contact, cf->reps[i].contact_url);
		if (cf->reps[i].contact_auto)
			contact = longest(contact, "https://works.do/R/ti/p/xxxxxxxxxxxxxxxxxxxxxxxxx");
	}
	for (size_t i = 0; i < cf->n_branches; i++) {
		branch_name = longest(branch_name, cf->branches[i].name);
		contact = longest(contact, cf->branches[i].contact_url);
	}
	contact = longest(contact, cf->referral.contact_url);
	sender = wide(DISPLAY_NAME_MAX);
	rep = wide(rep_name / 3 + 1);
	branch = wide(branch_name / 3 + 1);
	url = xmalloc(contact + 1);
	memset(url, 'x', contact);
	url[contact] = '\0';
	memset(code, 'X', REFCODE_LEN);
	code[REFCODE_LEN] = '\0';
	refcode_display(code, code_display);
	invite_url = xasprintf("%s/r/%s", cf->public_url ? cf->public_url : "", code);
	rep_link_url = xasprintf("%s/rep", invite_url);
	/* A name without a space is its own first word: the short names can be as long. */
	msg_vars_set(&vars, "display_name", sender);
	msg_vars_set(&vars, "sender_name", sender);
	msg_vars_set(&vars, "sender_short_name", sender);
	msg_vars_set(&vars, "rep_short_name", rep);
	msg_vars_set(&vars, "rep_link_url", rep_link_url);
	msg_vars_set(&vars, "code_display", code_display);
	msg_vars_set(&vars, "company_name", cf->company_name ? cf->company_name : "");
	msg_vars_set(&vars, "rep_name", rep);
	msg_vars_set(&vars, "branch_name", branch);
	msg_vars_set(&vars, "rep_contact_url", url);
	msg_vars_set(&vars, "code", code);
	msg_vars_set(&vars, "invite_url", invite_url);
	check_share(c, inv_at, "invite", inv, &vars);
	if (cfg_root_get(c, "messages", &msgs) && cfg_map_get(msgs, "invite_no_rep", &at) &&
	    (inv = cfg_use_message(c, at, "messages.invite_no_rep", "invite_no_rep",
	    PLATFORM_LINE, invite_placeholders)) != NULL)
		check_share(c, at, "invite_no_rep", inv, &vars);
	free(sender);
	free(rep);
	free(branch);
	free(url);
	free(invite_url);
	free(rep_link_url);
}

/* Days since 1970-01-01 of a valid YYYY-MM-DD (Howard Hinnant's days_from_civil): a
 * window that ends the day before another starts leaves no gap. */
static long
day_number(const char *date)
{
	int y, m, d;
	long era, yoe, doy;

	if (sscanf(date, "%4d-%2d-%2d", &y, &m, &d) != 3)
		return 0;
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153L * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static int
has_window(const struct config_campaign *cp)
{
	return cp->id != NULL && cp->starts[0] && cp->ends[0] &&
	    strcmp(cp->starts, cp->ends) <= 0;
}

/* Which campaign is current must never depend on the order of the list: overlapping
 * windows need different priorities, and a campaign whose every day is covered by
 * higher-priority ones would never be current (its codes never issued): both are
 * errors, at the later campaign. */
static void
check_windows(struct cfg *c, struct cnode sec)
{
	const struct config *cf = c->out;

	for (size_t i = 0; i < cf->n_campaigns; i++) {
		const struct config_campaign *a = &cf->campaigns[i];
		long day, end;
		int moved;

		if (!has_window(a))
			continue;
		for (size_t j = 0; j < i; j++) {
			const struct config_campaign *b = &cf->campaigns[j];

			if (has_window(b) && strcmp(a->starts, b->ends) <= 0 &&
			    strcmp(b->starts, a->ends) <= 0 && a->priority == b->priority)
				cfg_err(c, cfg_list_item(sec, i), "campaigns[%zu]: its dates (%s to "
				    "%s) overlap campaign '%s' (%s to %s) with the same priority "
				    "(%d): give the one that should win a higher priority: N",
				    i, a->starts, a->ends, b->id, b->starts, b->ends, a->priority);
		}
		/* Walk from its first day over the higher-priority windows covering it. */
		day = day_number(a->starts);
		end = day_number(a->ends);
		do {
			moved = 0;
			for (size_t j = 0; j < cf->n_campaigns && day <= end; j++) {
				const struct config_campaign *b = &cf->campaigns[j];

				if (j != i && has_window(b) && b->priority > a->priority &&
				    day_number(b->starts) <= day && day <= day_number(b->ends)) {
					day = day_number(b->ends) + 1;
					moved = 1;
				}
			}
		} while (moved && day <= end);
		if (day > end)
			cfg_err(c, cfg_list_item(sec, i), "campaigns[%zu]: '%s' can never be "
			    "current: every day of it (%s to %s) belongs to campaigns of higher "
			    "priority", i, a->id, a->starts, a->ends);
	}
}

/* Branches and reps (config_reps.c) before the referral settings and campaigns, which
 * name them; messages (config_chat.c) before campaigns (their rewards name messages);
 * the built-in wording (config_wording.c) before the fallback name. The other messages
 * the referral flow sends by name are checked with the chat's (config_chat.c). */
void
cfg_parse_referral(struct cfg *c)
{
	struct config *cf = c->out;
	struct cnode sec;

	cf->referral.invite_rate_per_min = 30;
	cf->referral.coupon_low_stock = 20;
	cf->referral.digest_day = -1;
	cf->referral.sender_name_fallback = xstrdup(cf->wording.sender_name);
	cfg_parse_reps(c);
	if (cfg_root_get(c, "referral", &sec))
		parse_referral(c, sec);
	if (cfg_root_get(c, "testers", &sec))
		parse_testers(c, sec);
	if (cfg_root_get(c, "campaigns", &sec) && sec.node->type == YAML_SEQUENCE_NODE &&
	    cfg_list_len(sec) > 0) {
		if (cf->public_url == NULL)
			cfg_err(c, sec, "campaigns: server.public_url is needed for invite links");
		check_invite(c);
	}
	if (cfg_root_get(c, "campaigns", &sec)) {
		if (sec.node->type != YAML_SEQUENCE_NODE)
			cfg_err(c, sec, "campaigns: expected a list, got %s",
			    cfg_node_kind(sec.node));
		else {
			cf->campaigns = xcalloc(cfg_list_len(sec) + 1, sizeof(*cf->campaigns));
			for (size_t i = 0; i < cfg_list_len(sec); i++) {
				char *what = xasprintf("campaigns[%zu]", i);
				struct config_campaign *cp = &cf->campaigns[cf->n_campaigns++];

				parse_campaign(c, cfg_list_item(sec, i), what, cp);
				for (size_t j = 0; cp->id != NULL && j + 1 < cf->n_campaigns; j++)
					if (cf->campaigns[j].id != NULL &&
					    strcmp(cf->campaigns[j].id, cp->id) == 0)
						cfg_err(c, cfg_list_item(sec, i), "%s: id '%s' is used "
						    "twice", what, cp->id);
				free(what);
			}
			check_windows(c, sec);
		}
	}
}

void
cfg_free_referral(struct config *cf)
{
	for (size_t i = 0; i < cf->n_testers; i++)
		free(cf->testers[i]);
	free(cf->testers);
	free(cf->testers_json);
	cfg_free_reps(cf);
	for (size_t i = 0; i < cf->n_campaigns; i++) {
		free(cf->campaigns[i].id);
		free(cf->campaigns[i].name);
		free(cf->campaigns[i].referee_sender_icon_url);
		for (size_t j = 0; j < cf->campaigns[i].n_stages; j++) {
			free(cf->campaigns[i].stages[j].referrer.pool);
			free(cf->campaigns[i].stages[j].referee.pool);
		}
		free(cf->campaigns[i].stages);
	}
	free(cf->campaigns);
	free(cf->referral.notify_bot);
	free(cf->referral.sender_name_fallback);
	free(cf->referral.contact_url);
}

int
config_campaign_running(const struct config_campaign *cp, const char *date)
{
	return strcmp(cp->starts, date) <= 0 && strcmp(date, cp->ends) <= 0;
}

/* The running campaign of the highest priority (the load refused ties). */
const struct config_campaign *
config_campaign_on(const struct config *cf, const char *date)
{
	const struct config_campaign *best = NULL;

	for (size_t i = 0; i < cf->n_campaigns; i++)
		if (config_campaign_running(&cf->campaigns[i], date) &&
		    (best == NULL || cf->campaigns[i].priority > best->priority))
			best = &cf->campaigns[i];
	return best;
}

const struct config_campaign *
config_campaign(const struct config *cf, const char *id)
{
	for (size_t i = 0; i < cf->n_campaigns; i++)
		if (cf->campaigns[i].id != NULL && strcmp(cf->campaigns[i].id, id) == 0)
			return &cf->campaigns[i];
	return NULL;
}

const struct config_reward_stage *
config_reward_stage(const struct config *cf, const char *campaign, int stage)
{
	const struct config_campaign *cp = config_campaign(cf, campaign);

	if (cp == NULL || stage < 0 || (size_t)stage >= cp->n_stages)
		return NULL;
	return &cp->stages[stage];
}

int
config_pool_named(const struct config *cf, const char *pool)
{
	for (size_t i = 0; i < cf->n_campaigns; i++)
		for (size_t j = 0; j < cf->campaigns[i].n_stages; j++) {
			const struct config_reward_stage *sg = &cf->campaigns[i].stages[j];

			if ((sg->referrer.pool && strcmp(sg->referrer.pool, pool) == 0) ||
			    (sg->referee.pool && strcmp(sg->referee.pool, pool) == 0))
				return 1;
		}
	return 0;
}

/* A friend's name as the referrer may see it: the first character, then '*'. Without a
 * name: the wording's friend_name. */
char *
config_mask_name(const struct config *cf, const char *name)
{
	size_t first = 1;

	if (name == NULL || *name == '\0')
		return xstrdup(cf->wording.friend_name);
	while (((unsigned char)name[first] & 0xC0) == 0x80)
		first++;
	return xasprintf("%.*s*", (int)first, name);
}
