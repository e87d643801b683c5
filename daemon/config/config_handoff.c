/* config_handoff.c: conversations (how long message text is kept, whether LINE shows
 * 既読 only once a person opened a conversation) and handoffs (a customer who asked for
 * a person: how long the bot stays quiet, when nobody answering is escalated, who is
 * told on LINE WORKS, and whether people answer from the console or LINE's own chat). */
#include <string.h>

#include "config_yaml.h"

#define DAY_MS	(86400LL * 1000)

static void
parse_conversations(struct cfg *c)
{
	static const char *const allowed[] = { "retention", "mark_as_read", NULL };
	struct config_conversations *cv = &c->out->conversations;
	struct cnode m;

	cv->retention_ms = 180 * DAY_MS;
	if (!cfg_root_get(c, "conversations", &m) ||
	    cfg_check_mapping(c, m, "conversations", allowed, NULL) != 1)
		return;
	cfg_get_duration(c, m, "conversations", "retention", DAY_MS, 3660 * DAY_MS,
	    &cv->retention_ms);
	cfg_get_bool(c, m, "conversations", "mark_as_read", &cv->mark_as_read);
}

void
cfg_parse_handoff(struct cfg *c)
{
	static const char *const allowed[] = { "quiet_for", "escalate_after", "bot",
	    "operators_channel", "line_chat", "sender", "sender_icon_url", NULL };
	static const char *const senders[] = { "operator", "rep", "none", NULL };
	struct config *cf = c->out;
	struct config_handoff *h = &cf->handoff;
	struct cnode m, v, root;
	char *s = NULL;

	parse_conversations(c);
	h->quiet_ms = DAY_MS;
	h->escalate_ms = 30 * 60 * 1000;
	if (cfg_root_get(c, "handoff", &m) &&
	    cfg_check_mapping(c, m, "handoff", allowed, NULL) == 1) {
		cfg_get_duration(c, m, "handoff", "quiet_for", 1000, 30 * DAY_MS, &h->quiet_ms);
		if (cfg_map_get(m, "escalate_after", &v) && v.node->type == YAML_SCALAR_NODE &&
		    strcmp(cfg_scalar(v), "off") == 0)
			h->escalate_ms = 0;
		else
			cfg_get_duration(c, m, "handoff", "escalate_after", 1000, 30 * DAY_MS,
			    &h->escalate_ms);
		if (cfg_get_str(c, m, "handoff", "bot", &h->bot) == 1 &&
		    config_works_bot(cf, h->bot) == NULL) {
			cfg_map_get(m, "bot", &v);
			cfg_err(c, v, "handoff.bot: no LINE WORKS bot '%s' under lineworks.bots",
			    h->bot);
		}
		cfg_get_str(c, m, "handoff", "operators_channel", &h->operators_channel);
		cfg_get_bool(c, m, "handoff", "line_chat", &h->line_chat);
		if (cfg_get_str(c, m, "handoff", "sender", &s) == 1) {
			cfg_map_get(m, "sender", &v);
			if (!cfg_name_in(s, senders))
				cfg_err(c, v, "handoff.sender: expected operator, rep or none");
			else
				h->sender = strcmp(s, "rep") == 0 ? SENDER_REP :
				    strcmp(s, "none") == 0 ? SENDER_NONE : SENDER_OPERATOR;
		}
		free(s);
		if (cfg_map_get(m, "sender_icon_url", &v)) {
			cfg_get_url(c, m, "handoff", "sender_icon_url", &h->sender_icon_url);
			if (h->sender_icon_url != NULL &&
			    strncmp(h->sender_icon_url, "https://", 8) != 0)
				cfg_err(c, v, "handoff.sender_icon_url: LINE shows only an https:// "
				    "PNG icon");
		}
	}
	if (h->bot == NULL && cf->referral.notify_bot != NULL)
		h->bot = xstrdup(cf->referral.notify_bot);
	if (!h->used)
		return;
	/* The notice names the customer: their LINE name is fetched before a batch. */
	cf->prefetch_display_names = 1;
	/* A promise to the customer must reach someone. */
	if (!cfg_root_get(c, "handoff", &root)) {
		root.file = &c->files[0];
		root.node = yaml_document_get_root_node(&c->files[0].doc);
	}
	if (h->bot == NULL)
		cfg_err(c, root, "handoff: a rule or postback hands customers off, but no "
		    "LINE WORKS bot tells anyone (set handoff.bot or referral.notify_bot)");
	else if (h->operators_channel == NULL)
		cfg_err(c, root, "handoff.operators_channel: required when a rule or postback "
		    "hands customers off: customers without a rep are announced in this "
		    "LINE WORKS room");
}

void
cfg_free_handoff(struct config *cf)
{
	free(cf->handoff.bot);
	free(cf->handoff.operators_channel);
	free(cf->handoff.sender_icon_url);
}
