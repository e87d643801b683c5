/* config_chat.c: the chat sections of the config: messages, keyword auto-replies,
 * postback actions, rich menus and per-user menu rules, and the LINE WORKS persistent
 * menu. Everything a rule or menu names must exist: a typo is a load error with its
 * file:line:column, never a silent no-reply in a customer's chat. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "config_yaml.h"

#define RICHMENU_IMAGE_MAX	(1024 * 1024)
#define RICHMENU_AREAS_MAX	20
#define PERSISTENT_MENU_MAX	4

/* Every placeholder any message may use; where a message is used decides which of them
 * it may really use (see check_placeholders). */
static const char *const all_placeholders[] = { "display_name", "company_name",
    "sender_name", "rep_name", "rep_contact_url", "branch_name", "code", "invite_url",
    "share_url", "friend_name", "referral_id", "referrer_name", "claimed_at",
    "coupon_code", "date", "time", "datetime", "invites", "claims", "wins", "rewards", NULL };
/* What greetings, auto-replies and postback replies provide. */
const char *const chat_placeholders_line[] = { "display_name", "company_name", NULL };
/* Postback replies also have what a date/time picker chose. */
static const char *const postback_placeholders[] = { "display_name", "company_name", "date",
    "time", "datetime", NULL };
const char *const chat_placeholders_works[] = { "company_name", NULL };

/* Built-in postback flows; the referral issue adds its own. */
static const char *const postback_flows[] = { "reply", "menu", "referral.invite",
    "referral.status", NULL };

static const char *const day_names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

/* YAML to JSON, for the parts handed on to LINE as they are: plain true/false become
 * booleans and plain whole numbers integers; everything quoted stays a string. */
static json_t *
yaml_to_json(struct cnode n)
{
	json_t *out;

	switch (n.node->type) {
	case YAML_SCALAR_NODE: {
		const char *s = scalar(n);
		char *end;
		long long v;

		if (n.node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
			return json_string(s);
		if (strcmp(s, "true") == 0)
			return json_true();
		if (strcmp(s, "false") == 0)
			return json_false();
		if (is_null_scalar(n))
			return json_null();
		errno = 0;
		v = strtoll(s, &end, 10);
		if (*s != '\0' && *end == '\0' && errno == 0)
			return json_integer(v);
		return json_string(s);
	}
	case YAML_SEQUENCE_NODE:
		out = json_array();
		for (size_t i = 0; i < list_len(n); i++)
			json_array_append_new(out, yaml_to_json(list_item(n, i)));
		return out;
	case YAML_MAPPING_NODE:
		out = json_object();
		for (yaml_node_pair_t *p = n.node->data.mapping.pairs.start;
		    p < n.node->data.mapping.pairs.top; p++) {
			struct cnode k = cnode_at(n, p->key);

			if (k.node->type == YAML_SCALAR_NODE)
				json_object_set_new(out, scalar(k), yaml_to_json(cnode_at(n,
				    p->value)));
		}
		return out;
	default:
		return json_null();
	}
}

static void
parse_messages(struct cfg *c, struct cnode m)
{
	struct config *cf = c->out;
	size_t n = 0;
	char err[512];

	if (m.node->type != YAML_MAPPING_NODE) {
		cfg_err(c, m, "messages: expected a mapping of names to messages, got %s",
		    node_kind(m.node));
		return;
	}
	cf->messages = xcalloc((size_t)(m.node->data.mapping.pairs.top -
	    m.node->data.mapping.pairs.start) + 1, sizeof(*cf->messages));
	for (yaml_node_pair_t *p = m.node->data.mapping.pairs.start;
	    p < m.node->data.mapping.pairs.top; p++) {
		struct cnode k = cnode_at(m, p->key), v = cnode_at(m, p->value);
		struct config_message *msg;
		json_t *spec;

		if (k.node->type != YAML_SCALAR_NODE || !valid_id(scalar(k))) {
			cfg_err(c, k, "messages: a message name may use only a-z, 0-9, '-' and "
			    "'_'");
			continue;
		}
		if (config_message(cf, scalar(k)) != NULL) {
			cfg_err(c, k, "messages: '%s' is defined twice", scalar(k));
			continue;
		}
		spec = yaml_to_json(v);
		msg = &cf->messages[n];
		msg->line = msg_template_new(spec, PLATFORM_LINE, all_placeholders, err,
		    sizeof(err));
		if (msg->line == NULL) {
			cfg_err(c, v, "messages.%s%s%s", scalar(k), err[0] == '[' ? "" : ": ",
			    err);
			json_decref(spec);
			continue;
		}
		msg->works = msg_template_new(spec, PLATFORM_WORKS, all_placeholders, err,
		    sizeof(err));
		if (msg->works == NULL)
			msg->works_error = xstrdup(err);
		json_decref(spec);
		msg->name = xstrdup(scalar(k));
		cf->n_messages = ++n;
	}
}

/* A message used where only some placeholders have values: anything else would reach
 * a customer as an empty gap, so it is refused here. */
const struct config_message *
use_message(struct cfg *c, struct cnode at, const char *what, const char *name,
    enum platform platform, const char *const *provided)
{
	const struct config_message *msg = config_message(c->out, name);
	const char *const *used;

	if (msg == NULL) {
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
		if (!name_in(*used, provided)) {
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

/* "mon-fri", "sat,sun", [mon, wed], "every day". */
static int
parse_days(const char *s, unsigned *days)
{
	char buf[128], *save = NULL, *tok;

	*days = 0;
	if (strcmp(s, "every day") == 0 || strcmp(s, "all") == 0) {
		*days = 0x7f;
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ", ", &save); tok != NULL; tok = strtok_r(NULL, ", ", &save)) {
		char *dash = strchr(tok, '-');
		int from = -1, to = -1;

		if (dash != NULL)
			*dash = '\0';
		for (int i = 0; i < 7; i++) {
			if (strcmp(tok, day_names[i]) == 0)
				from = i;
			if (dash != NULL && strcmp(dash + 1, day_names[i]) == 0)
				to = i;
		}
		if (from < 0 || (dash != NULL && to < 0))
			return -1;
		if (dash == NULL)
			to = from;
		for (int d = from;; d = (d + 1) % 7) {	/* fri-mon wraps over the weekend */
			*days |= 1u << d;
			if (d == to)
				break;
		}
	}
	return *days == 0 ? -1 : 0;
}

static int
parse_clock(const char *s, int *minutes)
{
	int h, m;
	char tail;

	if (sscanf(s, "%d:%d%c", &h, &m, &tail) != 2 || h < 0 || h > 24 || m < 0 || m > 59 ||
	    (h == 24 && m != 0))
		return -1;
	*minutes = h * 60 + m;
	return 0;
}

static void
parse_hours(struct cfg *c, struct cnode m, const char *what, struct config_rule *r)
{
	static const char *const allowed[] = { "days", "from", "to", NULL };
	struct cnode v;
	char *from = NULL, *to = NULL;

	r->days = 0x7f;
	if (check_mapping(c, m, what, allowed, NULL) == -1)
		return;
	if (map_get(m, "days", &v)) {
		char buf[128] = "";

		if (v.node->type == YAML_SEQUENCE_NODE) {
			for (size_t i = 0; i < list_len(v); i++)
				if (list_item(v, i).node->type == YAML_SCALAR_NODE)
					snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s",
					    i ? "," : "", scalar(list_item(v, i)));
		} else if (v.node->type == YAML_SCALAR_NODE)
			snprintf(buf, sizeof(buf), "%s", scalar(v));
		if (parse_days(buf, &r->days) == -1)
			cfg_err(c, v, "%s.days: expected days such as mon-fri, sat,sun or "
			    "[mon, wed] (sun mon tue wed thu fri sat)", what);
	}
	if (get_str(c, m, what, "from", &from) == 1 && parse_clock(from, &r->from_min) == -1) {
		map_get(m, "from", &v);
		cfg_err(c, v, "%s.from: expected a time such as \"09:00\"", what);
	}
	if (get_str(c, m, what, "to", &to) == 1 && parse_clock(to, &r->to_min) == -1) {
		map_get(m, "to", &v);
		cfg_err(c, v, "%s.to: expected a time such as \"18:00\"", what);
	}
	if ((from == NULL) != (to == NULL))
		cfg_err(c, m, "%s: give both from and to, or neither", what);
	free(from);
	free(to);
}

/* match: { exact|prefix|contains: word or [words], or regex: pattern } */
static void
parse_match(struct cfg *c, struct cnode m, const char *what, struct config_rule *r)
{
	static const char *const kinds[] = { "exact", "prefix", "contains", "regex", NULL };
	struct cnode v;
	int found = 0;

	if (check_mapping(c, m, what, kinds, NULL) == -1)
		return;
	for (int k = 0; kinds[k] != NULL; k++) {
		if (!map_get(m, kinds[k], &v))
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
			if ((rc = regcomp(r->regex, scalar(v), REG_EXTENDED | REG_ICASE |
			    REG_NOSUB)) != 0) {
				char why[128];

				regerror(rc, r->regex, why, sizeof(why));
				cfg_err(c, v, "%s.regex: invalid regular expression: %s", what, why);
				free(r->regex);
				r->regex = NULL;
			}
			return;
		}
		if (v.node->type == YAML_SCALAR_NODE && !is_null_scalar(v)) {
			r->words = xcalloc(1, sizeof(*r->words));
			r->words[r->nwords++] = text_normalize(scalar(v));
		} else if (v.node->type == YAML_SEQUENCE_NODE && list_len(v) > 0) {
			r->words = xcalloc(list_len(v), sizeof(*r->words));
			for (size_t i = 0; i < list_len(v); i++) {
				struct cnode w = list_item(v, i);

				if (w.node->type != YAML_SCALAR_NODE || *scalar(w) == '\0') {
					cfg_err(c, w, "%s.%s[%zu]: expected a word", what, kinds[k], i);
					continue;
				}
				r->words[r->nwords++] = text_normalize(scalar(w));
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
	    "channel", "platform", "hours", "cooldown", NULL };
	struct cnode v, at;
	char *s = NULL;
	const char *const *provided;

	r->platforms = 1u << PLATFORM_LINE;
	r->days = 0x7f;
	if (check_mapping(c, m, what, allowed, NULL) == -1)
		return;
	if (get_str(c, m, what, "platform", &s) == 1) {
		map_get(m, "platform", &v);
		if (strcmp(s, "line") == 0)
			r->platforms = 1u << PLATFORM_LINE;
		else if (strcmp(s, "works") == 0)
			r->platforms = 1u << PLATFORM_WORKS;
		else
			cfg_err(c, v, "%s.platform: expected line or works", what);
	}
	free(s);
	s = NULL;
	if (get_str(c, m, what, "channel", &r->channel) == 1) {
		map_get(m, "channel", &v);
		if (r->platforms & (1u << PLATFORM_WORKS) ? config_works_bot(c->out,
		    r->channel) == NULL : config_line_channel(c->out, r->channel) == NULL)
			cfg_err(c, v, "%s.channel: no %s '%s'", what, r->platforms &
			    (1u << PLATFORM_WORKS) ? "LINE WORKS bot" : "LINE channel",
			    r->channel);
	}
	provided = r->platforms & (1u << PLATFORM_WORKS) ? chat_placeholders_works :
	    chat_placeholders_line;
	if (map_get(m, "match", &v)) {
		if (map_get(m, "fallback", &at))
			cfg_err(c, at, "%s: a rule has match or fallback, not both", what);
		parse_match(c, v, what, r);
		if (get_str(c, m, what, "reply", &s) == 1 && map_get(m, "reply", &at))
			r->reply = use_message(c, at, what, s, r->platforms & (1u <<
			    PLATFORM_WORKS) ? PLATFORM_WORKS : PLATFORM_LINE, provided);
		free(s);
		s = NULL;
		if (get_str(c, m, what, "action", &r->action) == 1 &&
		    config_postback(c->out, r->action) == NULL) {
			map_get(m, "action", &at);
			cfg_err(c, at, "%s.action: no postback action '%s' under postbacks",
			    what, r->action);
		}
		if (map_get(m, "reply", &at) && map_get(m, "action", &at))
			cfg_err(c, at, "%s: give reply or action, not both", what);
		else if (!map_get(m, "reply", &at) && !map_get(m, "action", &at))
			cfg_err(c, m, "%s: give reply (a message) or action (a postback action)",
			    what);
	} else if (get_str(c, m, what, "fallback", &s) == 1) {
		r->kind = MATCH_ANY;
		map_get(m, "fallback", &at);
		r->reply = use_message(c, at, what, s, r->platforms & (1u << PLATFORM_WORKS) ?
		    PLATFORM_WORKS : PLATFORM_LINE, provided);
		free(s);
		s = NULL;
		if (map_get(m, "reply", &at) || map_get(m, "action", &at))
			cfg_err(c, at, "%s: the fallback names its message itself", what);
	} else if (!map_get(m, "fallback", &at))
		cfg_err(c, m, "%s: give match (with reply or action) or fallback", what);
	if (map_get(m, "hours", &v)) {
		char *hours_what = xasprintf("%s.hours", what);

		parse_hours(c, v, hours_what, r);
		free(hours_what);
	}
	get_duration(c, m, what, "cooldown", 1000, 366LL * 86400 * 1000, &r->cooldown_ms);
}

static void
parse_auto_replies(struct cfg *c, struct cnode list)
{
	struct config *cf = c->out;

	if (list.node->type != YAML_SEQUENCE_NODE) {
		cfg_err(c, list, "auto_replies: expected a list of rules, got %s",
		    node_kind(list.node));
		return;
	}
	cf->rules = xcalloc(list_len(list) + 1, sizeof(*cf->rules));
	for (size_t i = 0; i < list_len(list); i++) {
		char *what = xasprintf("auto_replies[%zu]", i);
		struct config_rule *r = &cf->rules[cf->n_rules++];

		r->index = i;
		parse_rule(c, list_item(list, i), what, r);
		free(what);
	}
}

static void
parse_postbacks(struct cfg *c, struct cnode m)
{
	struct config *cf = c->out;

	if (m.node->type != YAML_MAPPING_NODE) {
		cfg_err(c, m, "postbacks: expected a mapping of action names to flows, got %s",
		    node_kind(m.node));
		return;
	}
	cf->postbacks = xcalloc((size_t)(m.node->data.mapping.pairs.top -
	    m.node->data.mapping.pairs.start) + 1, sizeof(*cf->postbacks));
	for (yaml_node_pair_t *p = m.node->data.mapping.pairs.start;
	    p < m.node->data.mapping.pairs.top; p++) {
		static const char *const allowed[] = { "reply", "menu", NULL };
		struct cnode k = cnode_at(m, p->key), v = cnode_at(m, p->value), at;
		struct config_postback *pb;
		char *what, *s = NULL;

		if (k.node->type != YAML_SCALAR_NODE || !valid_id(scalar(k))) {
			cfg_err(c, k, "postbacks: an action name may use only a-z, 0-9, '-' and "
			    "'_'");
			continue;
		}
		if (config_postback(cf, scalar(k)) != NULL) {
			cfg_err(c, k, "postbacks: '%s' is defined twice", scalar(k));
			continue;
		}
		pb = &cf->postbacks[cf->n_postbacks++];
		pb->action = xstrdup(scalar(k));
		what = xasprintf("postbacks.%s", scalar(k));
		if (v.node->type == YAML_SCALAR_NODE) {
			/* A flow by name: "menu" links the menu the data's "to" names. */
			pb->flow = xstrdup(scalar(v));
			if (!name_in(pb->flow, postback_flows) || strcmp(pb->flow, "reply") == 0)
				cfg_err(c, v, "%s: unknown flow '%s' (known: menu, "
				    "referral.invite, referral.status; or give {reply: MESSAGE} or "
				    "{menu: ID})", what, pb->flow);
		} else if (check_mapping(c, v, what, allowed, NULL) == 1) {
			if (get_str(c, v, what, "reply", &s) == 1 && map_get(v, "reply", &at)) {
				pb->flow = xstrdup("reply");
				pb->reply = use_message(c, at, what, s, PLATFORM_LINE,
				    postback_placeholders);
			}
			free(s);
			s = NULL;
			if (get_str(c, v, what, "menu", &s) == 1 && map_get(v, "menu", &at)) {
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
		}
		free(what);
	}
}

/* A string field of an action: copied into out under LINE's name, length checked. */
static int
action_str(struct cfg *c, struct cnode m, const char *what, const char *key,
    const char *line_key, size_t max_chars, int required, json_t *out)
{
	char *s = NULL;
	struct cnode v;
	int rc = get_str(c, m, what, key, &s);

	if (rc == 0 && required) {
		cfg_err(c, m, "%s: missing required key '%s'", what, key);
		return -1;
	}
	if (rc != 1)
		return rc;
	map_get(m, key, &v);
	if (utf8_chars(s) > max_chars) {
		cfg_err(c, v, "%s.%s: longer than %zu characters", what, key, max_chars);
		rc = -1;
	} else
		json_object_set_new(out, line_key, json_string(s));
	free(s);
	return rc;
}

/* A rich menu area's action: message.c checks it as it checks a template's. */
static json_t *
parse_menu_action(struct cfg *c, struct cnode m, const char *what)
{
	json_t *spec = yaml_to_json(m), *a;
	char err[256];

	a = msg_menu_action_new(spec, err, sizeof(err));
	json_decref(spec);
	if (a == NULL)
		cfg_err(c, m, "%s%s%s", what, err[0] == '[' ? "" : ".", err);
	return a;
}

/* [x, y, width, height] or {x, y, width, height}, inside the menu. */
static json_t *
parse_bounds(struct cfg *c, struct cnode m, const char *what, int width, int height)
{
	static const char *const keys[] = { "x", "y", "width", "height", NULL };
	long v[4];

	for (int i = 0; i < 4; i++) {
		struct cnode n;
		char *end;

		if (m.node->type == YAML_SEQUENCE_NODE && list_len(m) == 4)
			n = list_item(m, (size_t)i);
		else if (m.node->type != YAML_MAPPING_NODE || !map_get(m, keys[i], &n)) {
			cfg_err(c, m, "%s: expected [x, y, width, height] or a mapping of them",
			    what);
			return NULL;
		}
		errno = 0;
		if (n.node->type != YAML_SCALAR_NODE ||
		    (v[i] = strtol(scalar(n), &end, 10), *end != '\0' || *scalar(n) == '\0') ||
		    errno != 0 || v[i] < 0 || v[i] > 2500) {
			cfg_err(c, n, "%s.%s: expected a whole number of pixels (0 to 2500)", what,
			    keys[i]);
			return NULL;
		}
	}
	if (v[2] == 0 || v[3] == 0 || v[0] + v[2] > width || v[1] + v[3] > height) {
		cfg_err(c, m, "%s: the area [%ld, %ld, %ld, %ld] does not fit in the %dx%d menu",
		    what, v[0], v[1], v[2], v[3], width, height);
		return NULL;
	}
	return json_pack("{s:I,s:I,s:I,s:I}", "x", (json_int_t)v[0], "y", (json_int_t)v[1],
	    "width", (json_int_t)v[2], "height", (json_int_t)v[3]);
}

/* Reads and checks the image against LINE's rules and the menu's own size. */
static void
load_menu_image(struct cfg *c, struct cnode v, const char *what, struct config_richmenu *rm,
    int width, int height)
{
	enum image_type type;
	unsigned w, h;
	char why[128];
	FILE *fp;
	struct stat st;

	rm->image_path = resolve_path(v.file->path, scalar(v));
	if ((fp = fopen(rm->image_path, "rb")) == NULL || fstat(fileno(fp), &st) == -1) {
		cfg_err(c, v, "%s.image: cannot open %s: %s", what, rm->image_path,
		    strerror(errno));
		if (fp != NULL)
			fclose(fp);
		return;
	}
	if (st.st_size > RICHMENU_IMAGE_MAX) {
		cfg_err(c, v, "%s.image: %s is %lld bytes; LINE takes at most 1 MB", what,
		    rm->image_path, (long long)st.st_size);
		fclose(fp);
		return;
	}
	rm->image = xmalloc((size_t)st.st_size + 1);
	rm->image_len = fread(rm->image, 1, (size_t)st.st_size, fp);
	fclose(fp);
	if (image_probe(rm->image, rm->image_len, &type, &w, &h, why, sizeof(why)) == -1) {
		cfg_err(c, v, "%s.image: %s: %s (LINE takes PNG or JPEG)", what, rm->image_path,
		    why);
		return;
	}
	rm->image_type = image_content_type(type);
	if ((int)w != width || (int)h != height)
		cfg_err(c, v, "%s.image: %s is %ux%u pixels but the menu's size is %dx%d", what,
		    rm->image_path, w, h, width, height);
}

static void
parse_richmenu(struct cfg *c, struct cnode m, const char *what, struct config_richmenu *rm)
{
	static const char *const allowed[] = { "id", "default", "image", "size", "selected",
	    "chat_bar_text", "alias", "areas", NULL };
	static const char *const required[] = { "id", "image", "size", "chat_bar_text",
	    "areas", NULL };
	static const char *const size_keys[] = { "width", "height", NULL };
	struct cnode v, areas;
	char *chat_bar = NULL, *text, *size_what;
	int width = 0, height = 0, selected = 0;
	json_t *jareas;

	if (check_mapping(c, m, what, allowed, required) == -1)
		return;
	if (get_str(c, m, what, "id", &rm->id) == 1 && !valid_id(rm->id)) {
		map_get(m, "id", &v);
		cfg_err(c, v, "%s.id: '%s' may use only a-z, 0-9, '-' and '_'", what, rm->id);
	}
	get_bool(c, m, what, "default", &rm->is_default);
	get_bool(c, m, what, "selected", &selected);
	if (get_str(c, m, what, "alias", &rm->alias) == 1) {
		const char *p = rm->alias;

		while (islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_' ||
		    *p == '-')
			p++;
		if (*p != '\0' || p == rm->alias || p - rm->alias > 32) {
			map_get(m, "alias", &v);
			cfg_err(c, v, "%s.alias: LINE takes 1-32 of a-z, 0-9, '_' and '-'", what);
		}
	}
	size_what = xasprintf("%s.size", what);
	if (map_get(m, "size", &v) && check_mapping(c, v, size_what, size_keys,
	    size_keys) == 1) {
		get_int(c, v, size_what, "width", 800, 2500, &width);
		get_int(c, v, size_what, "height", 250, 2500, &height);
		if (width > 0 && height > 0 && width * 100 < height * 145)
			cfg_err(c, v, "%s: width / height must be at least 1.45 (LINE's rule)",
			    size_what);
	}
	free(size_what);
	if (get_str(c, m, what, "chat_bar_text", &chat_bar) == 1 && utf8_chars(chat_bar) > 14) {
		map_get(m, "chat_bar_text", &v);
		cfg_err(c, v, "%s.chat_bar_text: longer than 14 characters", what);
	}
	if (width == 0 || height == 0 || chat_bar == NULL) {
		free(chat_bar);
		return;
	}
	if (map_get(m, "image", &v) && v.node->type == YAML_SCALAR_NODE)
		load_menu_image(c, v, what, rm, width, height);
	jareas = json_array();
	if (!map_get(m, "areas", &areas))
		;	/* check_mapping said so */
	else if (areas.node->type != YAML_SEQUENCE_NODE || list_len(areas) == 0 ||
	    list_len(areas) > RICHMENU_AREAS_MAX)
		cfg_err(c, areas, "%s.areas: expected a list of 1 to %d areas", what,
		    RICHMENU_AREAS_MAX);
	else {
		for (size_t i = 0; i < list_len(areas); i++) {
			static const char *const area_keys[] = { "bounds", "action", NULL };
			char *awhat = xasprintf("%s.areas[%zu]", what, i);
			struct cnode area = list_item(areas, i), b, a;
			json_t *jb = NULL, *ja = NULL;

			if (check_mapping(c, area, awhat, area_keys, area_keys) == 1 &&
			    map_get(area, "bounds", &b) && map_get(area, "action", &a)) {
				char *bwhat = xasprintf("%s.bounds", awhat);
				char *acwhat = xasprintf("%s.action", awhat);

				jb = parse_bounds(c, b, bwhat, width, height);
				ja = parse_menu_action(c, a, acwhat);
				free(bwhat);
				free(acwhat);
			}
			if (jb != NULL && ja != NULL)
				json_array_append_new(jareas, json_pack("{s:o,s:o}", "bounds", jb,
				    "action", ja));
			else {
				json_decref(jb);
				json_decref(ja);
			}
			free(awhat);
		}
	}
	rm->object = json_pack("{s:{s:i,s:i},s:b,s:s,s:o}", "size", "width", width, "height",
	    height, "selected", selected, "chatBarText", chat_bar, "areas", jareas);
	/* The hash names what LINE holds: a menu whose object and image are the same is
	 * not created again (LINE allows 100 creates an hour). An alias is re-pointed
	 * without a new menu, so it is not part of it. */
	text = json_dumps(rm->object, JSON_COMPACT | JSON_SORT_KEYS);
	{
		char hex[65];

		sha256_hex(text, strlen(text), rm->image, rm->image_len, hex);
		memcpy(rm->hash, hex, 16);
		rm->hash[16] = '\0';
	}
	free(text);
	free(chat_bar);
}

static void
parse_rich_menus(struct cfg *c, struct cnode list)
{
	struct config *cf = c->out;
	int defaults = 0;

	if (list.node->type != YAML_SEQUENCE_NODE || list_len(list) == 0) {
		cfg_err(c, list, "rich_menus: expected a list of menus, got %s",
		    node_kind(list.node));
		return;
	}
	cf->richmenus = xcalloc(list_len(list), sizeof(*cf->richmenus));
	for (size_t i = 0; i < list_len(list); i++) {
		char *what = xasprintf("rich_menus[%zu]", i);
		struct cnode item = list_item(list, i);
		struct config_richmenu *rm = &cf->richmenus[cf->n_richmenus];

		parse_richmenu(c, item, what, rm);
		cf->n_richmenus++;
		for (size_t j = 0; j + 1 < cf->n_richmenus; j++) {
			const struct config_richmenu *o = &cf->richmenus[j];

			if (rm->id != NULL && o->id != NULL && strcmp(rm->id, o->id) == 0)
				cfg_err(c, item, "%s: id '%s' is used twice", what, rm->id);
			if (rm->alias != NULL && o->alias != NULL && strcmp(rm->alias, o->alias) == 0)
				cfg_err(c, item, "%s: alias '%s' is used twice", what, rm->alias);
		}
		if (rm->is_default && defaults++)
			cfg_err(c, item, "%s: only one menu can be the default", what);
		free(what);
	}
	/* A tab switch must land on a menu this config deploys. */
	for (size_t i = 0; i < cf->n_richmenus; i++) {
		json_t *areas = json_object_get(cf->richmenus[i].object, "areas"), *area;
		size_t k;

		json_array_foreach(areas, k, area) {
			const char *alias = json_string_value(json_object_get(json_object_get(area,
			    "action"), "richMenuAliasId"));
			int found = 0;

			for (size_t j = 0; alias != NULL && j < cf->n_richmenus; j++)
				found |= cf->richmenus[j].alias != NULL &&
				    strcmp(cf->richmenus[j].alias, alias) == 0;
			if (alias != NULL && !found)
				cfg_err(c, list_item(list, i), "rich_menus[%zu].areas[%zu].action.alias: "
				    "no menu here has the alias '%s'", i, k, alias);
		}
	}
}

static void
parse_menu_rules(struct cfg *c, struct cnode list)
{
	static const char *const allowed[] = { "when", "menu", NULL };
	static const char *const conditions[] = { "follow", NULL };
	struct config *cf = c->out;

	if (list.node->type != YAML_SEQUENCE_NODE) {
		cfg_err(c, list, "rich_menu_rules: expected a list, got %s", node_kind(list.node));
		return;
	}
	cf->menu_rules = xcalloc(list_len(list) + 1, sizeof(*cf->menu_rules));
	for (size_t i = 0; i < list_len(list); i++) {
		char *what = xasprintf("rich_menu_rules[%zu]", i), *menu = NULL;
		struct cnode item = list_item(list, i), v;
		struct config_menu_rule *r = &cf->menu_rules[cf->n_menu_rules++];

		if (check_mapping(c, item, what, allowed, allowed) == 1) {
			if (get_str(c, item, what, "when", &r->when) == 1 &&
			    !name_in(r->when, conditions)) {
				map_get(item, "when", &v);
				cfg_err(c, v, "%s.when: unknown condition '%s' (known: follow)", what,
				    r->when);
			}
			if (get_str(c, item, what, "menu", &menu) == 1 &&
			    (r->menu = config_richmenu(cf, menu)) == NULL) {
				map_get(item, "menu", &v);
				cfg_err(c, v, "%s.menu: no rich menu '%s' under rich_menus", what, menu);
			}
		}
		free(menu);
		free(what);
	}
}

/* lineworks.bots[].persistent_menu: up to 4 message, uri or copy actions. */
json_t *
parse_persistent_menu(struct cfg *c, struct cnode list, const char *what)
{
	static const char *const allowed[] = { "type", "label", "text", "postback", "uri",
	    "copy_text", NULL };
	json_t *actions = json_array();
	int ok = 1;

	if (list.node->type != YAML_SEQUENCE_NODE || list_len(list) == 0 ||
	    list_len(list) > PERSISTENT_MENU_MAX) {
		cfg_err(c, list, "%s: expected a list of 1 to %d actions", what,
		    PERSISTENT_MENU_MAX);
		json_decref(actions);
		return NULL;
	}
	for (size_t i = 0; i < list_len(list); i++) {
		char *awhat = xasprintf("%s[%zu]", what, i), *type = NULL;
		struct cnode item = list_item(list, i), v;
		json_t *a = json_object();

		if (check_mapping(c, item, awhat, allowed, (const char *const[]){ "type",
		    "label", NULL }) == 1 && get_str(c, item, awhat, "type", &type) == 1) {
			json_object_set_new(a, "type", json_string(type));
			ok &= action_str(c, item, awhat, "label", "label", 1000, 1, a) == 1;
			if (strcmp(type, "message") == 0) {
				ok &= action_str(c, item, awhat, "text", "text", 1000, 1, a) == 1;
				ok &= action_str(c, item, awhat, "postback", "postback", 1000, 0,
				    a) != -1;
			} else if (strcmp(type, "uri") == 0) {
				ok &= action_str(c, item, awhat, "uri", "uri", 1000, 1, a) == 1;
			} else if (strcmp(type, "copy") == 0) {
				ok &= action_str(c, item, awhat, "copy_text", "copyText", 1000, 1,
				    a) == 1;
			} else {
				map_get(item, "type", &v);
				cfg_err(c, v, "%s.type: '%s' is not one of message, uri, copy", awhat,
				    type);
				ok = 0;
			}
		} else
			ok = 0;
		json_array_append_new(actions, a);
		free(type);
		free(awhat);
	}
	if (!ok) {
		json_decref(actions);
		return NULL;
	}
	return json_pack("{s:{s:o}}", "content", "actions", actions);
}

/* Order matters: rules name messages and postback actions, postbacks name messages
 * and menus, and each is looked up in every included file. */
void
parse_chat_sections(struct cfg *c)
{
	static const char *const status_placeholders[] = { "display_name", "company_name",
	    "invites", "claims", "wins", "rewards", NULL };
	struct cnode sec, at0;

	if (root_get(c, "messages", &sec))
		parse_messages(c, sec);
	if (root_get(c, "rich_menus", &sec))
		parse_rich_menus(c, sec);
	if (root_get(c, "postbacks", &sec))
		parse_postbacks(c, sec);
	if (root_get(c, "auto_replies", &sec))
		parse_auto_replies(c, sec);
	if (root_get(c, "rich_menu_rules", &sec))
		parse_menu_rules(c, sec);
	/* Display names are fetched before a batch only where some answer shows one. */
	for (size_t i = 0; i < c->out->n_messages; i++) {
		const struct config_message *m = &c->out->messages[i];

		if (strcmp(m->name, "greeting") != 0 && strcmp(m->name, "greeting_again") != 0 &&
		    (name_in("display_name", msg_template_placeholders(m->line)) ||
		    name_in("sender_name", msg_template_placeholders(m->line))))
			c->out->replies_use_display_name = 1;
	}
	if (root_get(c, "messages", &at0) && map_get(at0, "referral_status", &at0))
		use_message(c, at0, "messages", "referral_status", PLATFORM_LINE,
		    status_placeholders);
	/* Event messages by their fixed names: their placeholders are checked too. */
	for (size_t i = 0; i < c->out->n_messages; i++) {
		const struct config_message *m = &c->out->messages[i];
		struct cnode at;

		if (strcmp(m->name, "greeting") != 0 && strcmp(m->name, "greeting_again") != 0 &&
		    strcmp(m->name, "postback_unknown") != 0)
			continue;
		root_get(c, "messages", &at);
		map_get(at, m->name, &at);
		use_message(c, at, "messages", m->name, PLATFORM_LINE, chat_placeholders_line);
	}
}

void
free_chat(struct config *cf)
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
	}
	free(cf->rules);
	for (size_t i = 0; i < cf->n_postbacks; i++) {
		free(cf->postbacks[i].action);
		free(cf->postbacks[i].flow);
	}
	free(cf->postbacks);
	for (size_t i = 0; i < cf->n_richmenus; i++) {
		struct config_richmenu *rm = &cf->richmenus[i];

		free(rm->id);
		free(rm->alias);
		json_decref(rm->object);
		free(rm->image_path);
		free(rm->image);
	}
	free(cf->richmenus);
	for (size_t i = 0; i < cf->n_menu_rules; i++)
		free(cf->menu_rules[i].when);
	free(cf->menu_rules);
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

const struct config_richmenu *
config_richmenu(const struct config *cf, const char *id)
{
	for (size_t i = 0; i < cf->n_richmenus; i++)
		if (cf->richmenus[i].id != NULL && strcmp(cf->richmenus[i].id, id) == 0)
			return &cf->richmenus[i];
	return NULL;
}
