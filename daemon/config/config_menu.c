/* config_menu.c: the menus customers tap: LINE rich menus (rich_menus: size, image,
 * areas and their actions, aliases for tab switches), the rules that link a menu to a
 * user (rich_menu_rules), and a LINE WORKS bot's persistent menu. Each rich menu gets a
 * hash of what LINE holds, so a deploy sends only what changed. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "config_yaml.h"

#define RICHMENU_IMAGE_MAX	(1024 * 1024)
#define RICHMENU_AREAS_MAX	20
#define PERSISTENT_MENU_MAX	4

/* A string field of an action: copied into out under LINE's name, length checked. */
static int
action_str(struct cfg *c, struct cnode m, const char *what, const char *key,
    const char *line_key, size_t max_chars, int required, json_t *out)
{
	char *s = NULL;
	struct cnode v;
	int rc = cfg_get_str(c, m, what, key, &s);

	if (rc == 0 && required) {
		cfg_err(c, m, "%s: missing required key '%s'", what, key);
		return -1;
	}
	if (rc != 1)
		return rc;
	cfg_map_get(m, key, &v);
	if (utf8_chars(s) > max_chars) {
		cfg_err(c, v, "%s.%s: longer than %zu characters", what, key, max_chars);
		rc = -1;
	} else
		json_object_set_new(out, line_key, json_string(s));
	free(s);
	return rc;
}

/* A rich menu area's action: message_action.c checks it as it checks a template's. */
static json_t *
parse_menu_action(struct cfg *c, struct cnode m, const char *what)
{
	json_t *spec = cfg_yaml_to_json(m), *a;
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

		if (m.node->type == YAML_SEQUENCE_NODE && cfg_list_len(m) == 4)
			n = cfg_list_item(m, (size_t)i);
		else if (m.node->type != YAML_MAPPING_NODE || !cfg_map_get(m, keys[i], &n)) {
			cfg_err(c, m, "%s: expected [x, y, width, height] or a mapping of them",
			    what);
			return NULL;
		}
		errno = 0;
		if (n.node->type != YAML_SCALAR_NODE ||
		    (v[i] = strtol(cfg_scalar(n), &end, 10), *end != '\0' ||
		    *cfg_scalar(n) == '\0') ||
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
	char ewhy[64];

	rm->image_path = cfg_resolve_path(v.file->path, cfg_scalar(v));
	if ((fp = cfg_fopen_regular(rm->image_path, "rb", &st, ewhy, sizeof(ewhy))) == NULL) {
		cfg_err(c, v, "%s.image: cannot open %s: %s", what, rm->image_path, ewhy);
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

	if (cfg_check_mapping(c, m, what, allowed, required) == -1)
		return;
	if (cfg_get_str(c, m, what, "id", &rm->id) == 1 && !cfg_valid_id(rm->id)) {
		cfg_map_get(m, "id", &v);
		cfg_err(c, v, "%s.id: '%s' may use only a-z, 0-9, '-' and '_'", what, rm->id);
	}
	cfg_get_bool(c, m, what, "default", &rm->is_default);
	cfg_get_bool(c, m, what, "selected", &selected);
	if (cfg_get_str(c, m, what, "alias", &rm->alias) == 1) {
		const char *p = rm->alias;

		while (islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_' ||
		    *p == '-')
			p++;
		if (*p != '\0' || p == rm->alias || p - rm->alias > 32) {
			cfg_map_get(m, "alias", &v);
			cfg_err(c, v, "%s.alias: LINE takes 1-32 of a-z, 0-9, '_' and '-'", what);
		}
	}
	size_what = xasprintf("%s.size", what);
	if (cfg_map_get(m, "size", &v) && cfg_check_mapping(c, v, size_what, size_keys,
	    size_keys) == 1) {
		cfg_get_int(c, v, size_what, "width", 800, 2500, &width);
		cfg_get_int(c, v, size_what, "height", 250, 2500, &height);
		if (width > 0 && height > 0 && width * 100 < height * 145)
			cfg_err(c, v, "%s: width / height must be at least 1.45 (LINE's rule)",
			    size_what);
	}
	free(size_what);
	if (cfg_get_str(c, m, what, "chat_bar_text", &chat_bar) == 1 &&
	    utf8_chars(chat_bar) > 14) {
		cfg_map_get(m, "chat_bar_text", &v);
		cfg_err(c, v, "%s.chat_bar_text: longer than 14 characters", what);
	}
	if (width == 0 || height == 0 || chat_bar == NULL) {
		free(chat_bar);
		return;
	}
	if (cfg_map_get(m, "image", &v) && v.node->type == YAML_SCALAR_NODE)
		load_menu_image(c, v, what, rm, width, height);
	jareas = json_array();
	if (!cfg_map_get(m, "areas", &areas))
		;	/* cfg_check_mapping said so */
	else if (areas.node->type != YAML_SEQUENCE_NODE || cfg_list_len(areas) == 0 ||
	    cfg_list_len(areas) > RICHMENU_AREAS_MAX)
		cfg_err(c, areas, "%s.areas: expected a list of 1 to %d areas", what,
		    RICHMENU_AREAS_MAX);
	else {
		for (size_t i = 0; i < cfg_list_len(areas); i++) {
			static const char *const area_keys[] = { "bounds", "action", NULL };
			char *awhat = xasprintf("%s.areas[%zu]", what, i);
			struct cnode area = cfg_list_item(areas, i), b, a;
			json_t *jb = NULL, *ja = NULL;

			if (cfg_check_mapping(c, area, awhat, area_keys, area_keys) == 1 &&
			    cfg_map_get(area, "bounds", &b) && cfg_map_get(area, "action", &a)) {
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

void
cfg_parse_rich_menus(struct cfg *c, struct cnode list)
{
	struct config *cf = c->out;
	int defaults = 0;

	if (list.node->type != YAML_SEQUENCE_NODE || cfg_list_len(list) == 0) {
		cfg_err(c, list, "rich_menus: expected a list of menus, got %s",
		    cfg_node_kind(list.node));
		return;
	}
	cf->richmenus = xcalloc(cfg_list_len(list), sizeof(*cf->richmenus));
	for (size_t i = 0; i < cfg_list_len(list); i++) {
		char *what = xasprintf("rich_menus[%zu]", i);
		struct cnode item = cfg_list_item(list, i);
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
				cfg_err(c, cfg_list_item(list, i), "rich_menus[%zu].areas[%zu]."
				    "action.alias: no menu here has the alias '%s'", i, k, alias);
		}
	}
}

void
cfg_parse_menu_rules(struct cfg *c, struct cnode list)
{
	static const char *const allowed[] = { "when", "menu", NULL };
	static const char *const conditions[] = { "follow", NULL };
	struct config *cf = c->out;

	if (list.node->type != YAML_SEQUENCE_NODE) {
		cfg_err(c, list, "rich_menu_rules: expected a list, got %s",
		    cfg_node_kind(list.node));
		return;
	}
	cf->menu_rules = xcalloc(cfg_list_len(list) + 1, sizeof(*cf->menu_rules));
	for (size_t i = 0; i < cfg_list_len(list); i++) {
		char *what = xasprintf("rich_menu_rules[%zu]", i), *menu = NULL;
		struct cnode item = cfg_list_item(list, i), v;
		struct config_menu_rule *r = &cf->menu_rules[cf->n_menu_rules++];

		if (cfg_check_mapping(c, item, what, allowed, allowed) == 1) {
			if (cfg_get_str(c, item, what, "when", &r->when) == 1 &&
			    !cfg_name_in(r->when, conditions)) {
				cfg_map_get(item, "when", &v);
				cfg_err(c, v, "%s.when: unknown condition '%s' (known: follow)", what,
				    r->when);
			}
			if (cfg_get_str(c, item, what, "menu", &menu) == 1 &&
			    (r->menu = config_richmenu(cf, menu)) == NULL) {
				cfg_map_get(item, "menu", &v);
				cfg_err(c, v, "%s.menu: no rich menu '%s' under rich_menus", what, menu);
			}
		}
		free(menu);
		free(what);
	}
}

/* lineworks.bots[].persistent_menu: up to 4 message, uri or copy actions. */
json_t *
cfg_parse_persistent_menu(struct cfg *c, struct cnode list, const char *what)
{
	static const char *const allowed[] = { "type", "label", "text", "postback", "uri",
	    "copy_text", NULL };
	json_t *actions = json_array();
	int ok = 1;

	if (list.node->type != YAML_SEQUENCE_NODE || cfg_list_len(list) == 0 ||
	    cfg_list_len(list) > PERSISTENT_MENU_MAX) {
		cfg_err(c, list, "%s: expected a list of 1 to %d actions", what,
		    PERSISTENT_MENU_MAX);
		json_decref(actions);
		return NULL;
	}
	for (size_t i = 0; i < cfg_list_len(list); i++) {
		char *awhat = xasprintf("%s[%zu]", what, i), *type = NULL;
		struct cnode item = cfg_list_item(list, i), v;
		json_t *a = json_object();

		if (cfg_check_mapping(c, item, awhat, allowed, (const char *const[]){ "type",
		    "label", NULL }) == 1 && cfg_get_str(c, item, awhat, "type", &type) == 1) {
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
				cfg_map_get(item, "type", &v);
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

void
cfg_free_menus(struct config *cf)
{
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

const struct config_richmenu *
config_richmenu(const struct config *cf, const char *id)
{
	for (size_t i = 0; i < cf->n_richmenus; i++)
		if (cf->richmenus[i].id != NULL && strcmp(cf->richmenus[i].id, id) == 0)
			return &cf->richmenus[i];
	return NULL;
}
