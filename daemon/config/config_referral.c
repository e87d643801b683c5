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
static const char *const invite_placeholders[] = { "display_name", "company_name", "sender_name",
    "rep_name", "rep_contact_url", "branch_name", "code", "invite_url", NULL };
static const char *const preview_placeholders[] = { "display_name", "company_name",
    "sender_name", "rep_name", "rep_contact_url", "branch_name", "code", "invite_url",
    "share_url", NULL };
/* What the friend's prefilled claim may show. */
static const char *const claim_placeholders[] = { "code", "company_name", NULL };
#define SHARE_PREFIX		"https://line.me/R/share?text="
#define URI_MAX			1000	/* LINE's limit on a uri action */
#define DISPLAY_NAME_MAX	20	/* LINE's limit on a display name */

/* What a reward message may show. */
static const char *const reward_placeholders[] = { "display_name", "company_name",
    "coupon_code", "friend_name", NULL };

static int
valid_date(const char *s)
{
	int y, m, d;
	char tail;

	return strlen(s) == 10 && sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3 &&
	    y >= 2000 && y <= 2100 && m >= 1 && m <= 12 && d >= 1 && d <= 31;
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
		cfg_err(c, v, "%s.%s: expected a date such as 2026-12-01", what, key);
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
	    "max_claims_per_referrer", "velocity", "show_friend_name_to_referrer", "review",
	    NULL };
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

		s = NULL;
		sub = xasprintf("%s.review", what);
		if (cfg_check_mapping(c, v, sub, keys, NULL) == 1) {
			cfg_get_duration(c, v, sub, "within", 60000, 90LL * 86400 * 1000,
			    &cp->review_within_ms);
			if (cfg_get_str(c, v, sub, "default", &s) == 1) {
				struct cnode t;

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

static void
parse_campaign(struct cfg *c, struct cnode m, const char *what, struct config_campaign *cp)
{
	static const char *const allowed[] = { "id", "name", "starts", "ends", "rules",
	    "reward", "reminders", NULL };
	static const char *const required[] = { "id", "name", "starts", "ends", NULL };
	static const char *const reward_keys[] = { "due_on", "approval", "hold", "referrer",
	    "referee", NULL };
	struct cnode v, r;
	char *s = NULL, *sub;

	cp->exclude_existing_friends = 1;
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
	if (!cfg_map_get(m, "reward", &r))
		return;
	sub = xasprintf("%s.reward", what);
	if (cfg_check_mapping(c, r, sub, reward_keys, NULL) != -1) {
		if (cfg_get_str(c, r, sub, "due_on", &s) == 1) {
			cfg_map_get(r, "due_on", &v);
			if (strcmp(s, "won") == 0)
				cp->due_on_won = 1;
			else if (strcmp(s, "claim") != 0)
				cfg_err(c, v, "%s.due_on: expected claim or won", sub);
		}
		free(s);
		s = NULL;
		if (cfg_get_str(c, r, sub, "approval", &s) == 1) {
			cfg_map_get(r, "approval", &v);
			if (strcmp(s, "auto") == 0)
				cp->approval_auto = 1;
			else if (strcmp(s, "manual") != 0)
				cfg_err(c, v, "%s.approval: expected auto or manual", sub);
		}
		free(s);
		cfg_get_duration(c, r, sub, "hold", 0, 366LL * 86400 * 1000, &cp->hold_ms);
		if (cfg_map_get(r, "referrer", &v)) {
			char *side = xasprintf("%s.referrer", sub);

			parse_reward_side(c, v, side, &cp->referrer);
			free(side);
		}
		if (cfg_map_get(r, "referee", &v)) {
			char *side = xasprintf("%s.referee", sub);

			parse_reward_side(c, v, side, &cp->referee);
			free(side);
		}
	}
	free(sub);
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
	char *sender, *rep, *branch, *url, *invite_url, code[REFCODE_LEN + 1];

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
	invite_url = xasprintf("%s/r/%s", cf->public_url ? cf->public_url : "", code);
	msg_vars_set(&vars, "display_name", sender);
	msg_vars_set(&vars, "sender_name", sender);
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
		free(cf->campaigns[i].referrer.pool);
		free(cf->campaigns[i].referee.pool);
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

const struct config_campaign *
config_campaign_on(const struct config *cf, const char *date)
{
	for (size_t i = 0; i < cf->n_campaigns; i++)
		if (config_campaign_running(&cf->campaigns[i], date))
			return &cf->campaigns[i];
	return NULL;
}

const struct config_campaign *
config_campaign(const struct config *cf, const char *id)
{
	for (size_t i = 0; i < cf->n_campaigns; i++)
		if (cf->campaigns[i].id != NULL && strcmp(cf->campaigns[i].id, id) == 0)
			return &cf->campaigns[i];
	return NULL;
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
