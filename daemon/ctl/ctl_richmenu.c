/* ctl_richmenu.c: shokaictl richmenu deploy and works-menu deploy. A deploy makes what
 * LINE holds match the config: each menu LINE has is named "shokai:ID:HASH" (HASH of
 * its object and image), so a menu that has not changed is found and kept, never made
 * again (LINE allows 100 creates an hour). New menus are made and given their image
 * first; aliases and the default then move to them; only then are the menus this tool
 * made earlier and the config no longer has deleted, so nobody sees a menu vanish. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"

#define NAME_PREFIX	"shokai:"

/* What is live on one channel. */
struct live {
	json_t	*menus;		/* GET /v2/bot/richmenu/list: richmenus[] */
	json_t	*aliases;	/* GET /v2/bot/richmenu/alias/list: aliases[] */
	char	*default_id;
};

static void
live_clear(struct live *l)
{
	json_decref(l->menus);
	json_decref(l->aliases);
	free(l->default_id);
	memset(l, 0, sizeof(*l));
}

static int
live_read(struct daemon *d, const char *channel, struct live *l)
{
	json_t *deflt = NULL;

	memset(l, 0, sizeof(*l));
	if (ctl_line_call(d, channel, LINE_HOST_API, "GET", "/v2/bot/richmenu/list", NULL, NULL,
	    0, &l->menus) == -1 || ctl_line_call(d, channel, LINE_HOST_API, "GET",
	    "/v2/bot/richmenu/alias/list", NULL, NULL, 0, &l->aliases) == -1 ||
	    ctl_line_call(d, channel, LINE_HOST_API, "GET", "/v2/bot/user/all/richmenu", NULL,
	    NULL, 0, &deflt) == -1)
		return -1;
	if (json_string_value(json_object_get(deflt, "richMenuId")) != NULL)
		l->default_id = xstrdup(json_string_value(json_object_get(deflt, "richMenuId")));
	json_decref(deflt);
	return 0;
}

/* In LINE's list (an array of objects), the want field of the object whose key field is
 * value; NULL if none. */
static const char *
live_find(const json_t *list, const char *key, const char *value, const char *want)
{
	json_t *o;
	size_t i;

	json_array_foreach(list, i, o) {
		const char *v = json_string_value(json_object_get(o, key));

		if (v != NULL && strcmp(v, value) == 0)
			return json_string_value(json_object_get(o, want));
	}
	return NULL;
}

static const char *
live_menu_named(const struct live *l, const char *name)
{
	return live_find(json_object_get(l->menus, "richmenus"), "name", name, "richMenuId");
}

static const char *
live_alias_target(const struct live *l, const char *alias)
{
	return live_find(json_object_get(l->aliases, "aliases"), "richMenuAliasId", alias,
	    "richMenuId");
}

/* A call without a body on path_prefix + id: deletes, and setting the default. */
static int
line_plain(struct daemon *d, const char *channel, const char *method,
    const char *path_prefix, const char *id)
{
	char *path = xasprintf("%s%s", path_prefix, id);
	int rc = ctl_line_call(d, channel, LINE_HOST_API, method, path, NULL, NULL, 0, NULL);

	free(path);
	return rc;
}

/* Makes one menu: validate (does not use the hourly budget), create, upload the image.
 * Returns LINE's new id (caller frees) or NULL. */
static char *
create_menu(struct daemon *d, const char *channel, const struct config_richmenu *rm,
    const char *name)
{
	json_t *obj = json_deep_copy(rm->object), *answer = NULL;
	char *body, *path, *id = NULL;

	json_object_set_new(obj, "name", json_string(name));
	body = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (ctl_line_call(d, channel, LINE_HOST_API, "POST", "/v2/bot/richmenu/validate",
	    "application/json", body, strlen(body), NULL) == -1 ||
	    ctl_line_call(d, channel, LINE_HOST_API, "POST", "/v2/bot/richmenu",
	    "application/json", body, strlen(body), &answer) == -1)
		goto done;
	if (json_string_value(json_object_get(answer, "richMenuId")) == NULL) {
		fprintf(stderr, "shokaictl: creating %s: LINE's answer has no richMenuId\n",
		    rm->id);
		goto done;
	}
	id = xstrdup(json_string_value(json_object_get(answer, "richMenuId")));
	path = xasprintf("/v2/bot/richmenu/%s/content", id);
	if (ctl_line_call(d, channel, LINE_HOST_DATA, "POST", path, rm->image_type, rm->image,
	    rm->image_len, NULL) == -1) {
		/* A menu without its image is useless and cannot get one later: drop it. */
		line_plain(d, channel, "DELETE", "/v2/bot/richmenu/", id);
		free(id);
		id = NULL;
	}
	free(path);
done:
	json_decref(answer);
	free(body);
	return id;
}

static int
deploy_channel(struct daemon *d, const char *channel, int dry_run)
{
	const struct config *cf = d->cfg;
	struct live l;
	char **ids = xcalloc(cf->n_richmenus + 1, sizeof(*ids));
	const char *want_default = NULL;
	json_t *m;
	size_t i;
	int rc = -1, creates = 0, changes = 0;

	if (live_read(d, channel, &l) == -1)
		goto done;
	printf("channel %s:\n", channel);
	/* 1. Menus: keep what is there, make what is not. */
	for (i = 0; i < cf->n_richmenus; i++) {
		const struct config_richmenu *rm = &cf->richmenus[i];
		char *name = xasprintf(NAME_PREFIX "%s:%s", rm->id, rm->hash);
		const char *live_id = live_menu_named(&l, name);

		if (live_id != NULL) {
			ids[i] = xstrdup(live_id);
			printf("  keep    menu %s (%s)\n", rm->id, live_id);
		} else if (dry_run) {
			printf("  create  menu %s (%s, image %s, %zu bytes)\n", rm->id, name,
			    rm->image_path, rm->image_len);
			creates++;
		} else if ((ids[i] = create_menu(d, channel, rm, name)) != NULL) {
			printf("  created menu %s (%s)\n", rm->id, ids[i]);
			creates++;
		} else {
			free(name);
			goto done;
		}
		free(name);
		if (rm->is_default)
			want_default = ids[i] ? ids[i] : "(new)";
	}
	/* 2. Aliases point at this config's menus. */
	for (i = 0; i < cf->n_richmenus; i++) {
		const struct config_richmenu *rm = &cf->richmenus[i];
		const char *now;
		char *path, *body;
		int exists;

		if (rm->alias == NULL)
			continue;
		now = live_alias_target(&l, rm->alias);
		exists = now != NULL;
		if (exists && ids[i] != NULL && strcmp(now, ids[i]) == 0)
			continue;
		changes++;
		printf("  %s alias %s -> menu %s\n", exists ? "update " : "create ", rm->alias,
		    rm->id);
		if (dry_run)
			continue;
		path = exists ? xasprintf("/v2/bot/richmenu/alias/%s", rm->alias) :
		    xstrdup("/v2/bot/richmenu/alias");
		body = exists ? xasprintf("{\"richMenuId\":\"%s\"}", ids[i]) :
		    xasprintf("{\"richMenuAliasId\":\"%s\",\"richMenuId\":\"%s\"}", rm->alias,
		    ids[i]);
		rc = ctl_line_call(d, channel, LINE_HOST_API, "POST", path, "application/json",
		    body, strlen(body), NULL);
		free(path);
		free(body);
		if (rc == -1)
			goto done;
		rc = -1;
	}
	/* 3. The default: the config's, or none if LINE's default is a menu of ours the
	 * config no longer names as default. */
	if (want_default != NULL && (l.default_id == NULL ||
	    strcmp(l.default_id, want_default) != 0)) {
		changes++;
		printf("  default -> %s\n", want_default);
		if (!dry_run && line_plain(d, channel, "POST", "/v2/bot/user/all/richmenu/",
		    want_default) == -1)
			goto done;
	}
	/* 4. Menus this tool made that the config no longer has, and their aliases. */
	json_array_foreach(json_object_get(l.menus, "richmenus"), i, m) {
		const char *name = json_string_value(json_object_get(m, "name"));
		const char *id = json_string_value(json_object_get(m, "richMenuId"));
		int wanted = 0;
		json_t *a;
		size_t k;

		if (name == NULL || id == NULL || strncmp(name, NAME_PREFIX, strlen(NAME_PREFIX)))
			continue;
		for (size_t j = 0; j < cf->n_richmenus; j++)
			wanted |= ids[j] != NULL && strcmp(ids[j], id) == 0;
		if (wanted)
			continue;
		json_array_foreach(json_object_get(l.aliases, "aliases"), k, a) {
			const char *alias = json_string_value(json_object_get(a, "richMenuAliasId"));
			const char *to = json_string_value(json_object_get(a, "richMenuId"));
			int ours = 0;

			if (alias == NULL || to == NULL || strcmp(to, id) != 0)
				continue;
			for (size_t j = 0; j < cf->n_richmenus; j++)
				ours |= cf->richmenus[j].alias != NULL &&
				    strcmp(cf->richmenus[j].alias, alias) == 0;
			if (ours)
				continue;	/* re-pointed above */
			changes++;
			printf("  delete  alias %s\n", alias);
			if (!dry_run)
				line_plain(d, channel, "DELETE", "/v2/bot/richmenu/alias/", alias);
		}
		changes++;
		printf("  delete  menu %s (%s)\n", id, name);
		if (!dry_run && line_plain(d, channel, "DELETE", "/v2/bot/richmenu/", id) == -1)
			goto done;
	}
	/* 5. What the daemon links per user. */
	for (i = 0; !dry_run && i < cf->n_richmenus; i++)
		if (store_richmenu_put(d->store, channel, cf->richmenus[i].id,
		    cf->richmenus[i].hash, ids[i]) == -1) {
			fprintf(stderr, "shokaictl: cannot record the deployed menus: %s\n",
			    store_errmsg(d->store));
			goto done;
		}
	printf("  %s: %d menu(s) to create, %d other change(s)\n", dry_run ? "plan" : "done",
	    creates, changes);
	rc = 0;
done:
	for (i = 0; i < cf->n_richmenus; i++)
		free(ids[i]);
	free(ids);
	live_clear(&l);
	return rc;
}

/* richmenu deploy [--dry-run] [CHANNEL] */
int
richmenu_deploy_cmd(struct config *cf, int argc, char **argv)
{
	struct daemon d;
	const char *only = NULL;
	int dry_run = 0, rc = 0;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0)
			dry_run = 1;
		else if (only == NULL && argv[i][0] != '-')
			only = argv[i];
		else {
			fprintf(stderr, "shokaictl: richmenu deploy: unexpected '%s'\n", argv[i]);
			return 2;
		}
	}
	if (only != NULL && config_line_channel(cf, only) == NULL) {
		fprintf(stderr, "shokaictl: no LINE channel '%s' in the config\n", only);
		return 1;
	}
	if (cf->n_richmenus == 0) {
		fprintf(stderr, "shokaictl: the config has no rich_menus\n");
		return 1;
	}
	ctl_net_open(&d, cf);
	if (!dry_run && (d.store = ctl_open_store(cf)) == NULL) {
		ctl_net_close(&d);
		return 1;
	}
	for (size_t i = 0; i < cf->n_line_channels && rc == 0; i++)
		if (only == NULL || strcmp(only, cf->line_channels[i].id) == 0)
			rc = deploy_channel(&d, cf->line_channels[i].id, dry_run) == 0 ? 0 : 1;
	ctl_net_close(&d);
	return rc;
}

/* works-menu deploy [BOT]: POST /bots/{botId}/persistentmenu for each bot that has
 * one in the config. Setting it again with the same content changes nothing. */
int
works_menu_deploy_cmd(struct config *cf, const char *only)
{
	struct daemon d;
	int rc = 0, any = 0;

	ctl_net_open(&d, cf);
	for (size_t i = 0; i < cf->n_works_bots && rc == 0; i++) {
		const struct config_works_bot *b = &cf->works_bots[i];
		struct ctl_call c = { 0 };
		char *path, *body;

		if ((only != NULL && strcmp(only, b->id) != 0) || b->persistent_menu == NULL)
			continue;
		any = 1;
		path = xasprintf("/bots/%s/persistentmenu", b->bot_id);
		body = json_dumps(b->persistent_menu, JSON_COMPACT);
		works_api_call(&d, b->id, "POST", path, body, ctl_call_done, &c);
		ctl_net_wait(&d, &c.done);
		if (c.status >= 200 && c.status < 300)
			printf("bot %s: persistent menu set (%zu actions)\n", b->id,
			    json_array_size(json_object_get(json_object_get(b->persistent_menu,
			    "content"), "actions")));
		else {
			fprintf(stderr, "shokaictl: bot %s: %s\n", b->id, c.error ? c.error :
			    "failed");
			rc = 1;
		}
		free(c.body);
		free(c.error);
		free(body);
		free(path);
	}
	if (!any && rc == 0) {
		fprintf(stderr, "shokaictl: no LINE WORKS bot%s%s has a persistent_menu\n",
		    only ? " " : "", only ? only : "");
		rc = 1;
	}
	ctl_net_close(&d);
	return rc;
}

/* Beside what is live: each menu of the config, and whether LINE has it as it is now. */
static void
richmenu_compare(const struct config *cf, const json_t *menus)
{
	if (cf->n_richmenus > 0)
		printf("%-12s %s\n", "CONFIG MENU", "ON LINE");
	for (size_t i = 0; i < cf->n_richmenus; i++) {
		const struct config_richmenu *rm = &cf->richmenus[i];
		char *name = xasprintf("shokai:%s:%s", rm->id, rm->hash), *prefix =
		    xasprintf("shokai:%s:", rm->id);
		const char *state = "not deployed";
		json_t *m;
		size_t k;

		json_array_foreach(json_object_get(menus, "richmenus"), k, m) {
			const char *n = json_string_value(json_object_get(m, "name"));

			if (n != NULL && strcmp(n, name) == 0)
				state = json_string_value(json_object_get(m, "richMenuId"));
			else if (n != NULL && strncmp(n, prefix, strlen(prefix)) == 0 &&
			    strcmp(state, "not deployed") == 0)
				state = "changed since the last deploy";
		}
		printf("%-12s %s\n", rm->id, state);
		free(name);
		free(prefix);
	}
}

/* A string member of a LINE answer, escaped for the terminal (cell.c); "" when absent.
 * The caller frees it. */
static char *
json_term(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	const char *s = json_string_value(v);

	return cell_term_dup(s ? s : "", s ? json_string_length(v) : 0, 0);
}

int
richmenu_list_cmd(struct config *cf, const char *channel)
{
	struct daemon d;
	json_t *menus = NULL, *aliases = NULL, *deflt = NULL, *m;
	size_t i;
	int rc = 1;

	if (config_line_channel(cf, channel) == NULL) {
		fprintf(stderr, "shokaictl: no LINE channel '%s' in the config\n", channel);
		return 1;
	}
	ctl_net_open(&d, cf);
	if (ctl_line_call(&d, channel, LINE_HOST_API, "GET", "/v2/bot/richmenu/list", NULL, NULL, 0,
	    &menus) == 0 &&
	    ctl_line_call(&d, channel, LINE_HOST_API, "GET", "/v2/bot/richmenu/alias/list", NULL,
	    NULL, 0, &aliases) == 0 &&
	    ctl_line_call(&d, channel, LINE_HOST_API, "GET", "/v2/bot/user/all/richmenu", NULL,
	    NULL, 0, &deflt) == 0) {
		const char *def = json_string_value(json_object_get(deflt, "richMenuId"));

		printf("%-44s %-8s %-20s %s\n", "RICH MENU", "DEFAULT", "CHAT BAR", "NAME");
		/* Names and chat-bar texts may have been typed in LINE's own manager. */
		json_array_foreach(json_object_get(menus, "richmenus"), i, m) {
			const char *raw = json_string_value(json_object_get(m, "richMenuId"));
			char *id = json_term(m, "richMenuId"), *bar = json_term(m, "chatBarText"),
			    *name = json_term(m, "name");

			printf("%-44s %-8s %-20s %s\n", id[0] ? id : "?",
			    def && raw && strcmp(def, raw) == 0 ? "yes" : "", bar, name);
			free(id);
			free(bar);
			free(name);
		}
		json_array_foreach(json_object_get(aliases, "aliases"), i, m) {
			char *alias = json_term(m, "richMenuAliasId"), *id = json_term(m,
			    "richMenuId");

			printf("alias %s -> %s\n", alias, id);
			free(alias);
			free(id);
		}
		richmenu_compare(cf, menus);
		rc = 0;
	}
	json_decref(menus);
	json_decref(aliases);
	json_decref(deflt);
	ctl_net_close(&d);
	return rc;
}
