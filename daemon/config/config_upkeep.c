/* config_upkeep.c: the daily upkeep: how long old rows are kept (retention:) and the
 * daemon's own daily backup (backup:). Both sections are optional: without retention:
 * the defaults below hold; without backup: the daemon takes none (shokaictl backup
 * from cron does the same job). */
#include <stdio.h>
#include <string.h>

#include "config_yaml.h"

#define DAY	(86400LL * 1000)

/* A duration, or off (0: kept forever). */
static void
keep_for(struct cfg *c, struct cnode m, const char *key, int64_t *out)
{
	struct cnode v;

	if (cfg_map_get(m, key, &v) && v.node->type == YAML_SCALAR_NODE &&
	    strcmp(cfg_scalar(v), "off") == 0)
		*out = 0;
	else
		cfg_get_duration(c, m, "retention", key, 3600LL * 1000, 3660 * DAY, out);
}

static void
parse_retention(struct cfg *c)
{
	static const char *const allowed[] = { "inbox_done", "quarantine", "outbox_sent",
	    "click_client_hash", NULL };
	struct config_retention *r = &c->out->retention;
	struct cnode m;

	r->inbox_done_ms = 30 * DAY;
	r->quarantine_ms = 90 * DAY;
	/* The conversation threads show what the bot sent from the outbox rows: they go
	 * no sooner than the threads' own text by default. */
	r->outbox_sent_ms = c->out->conversations.retention_ms > 30 * DAY ?
	    c->out->conversations.retention_ms : 30 * DAY;
	r->click_hash_ms = 30 * DAY;
	if (!cfg_root_get(c, "retention", &m))
		return;
	if (cfg_check_mapping(c, m, "retention", allowed, NULL) == -1)
		return;
	keep_for(c, m, "inbox_done", &r->inbox_done_ms);
	keep_for(c, m, "quarantine", &r->quarantine_ms);
	keep_for(c, m, "outbox_sent", &r->outbox_sent_ms);
	keep_for(c, m, "click_client_hash", &r->click_hash_ms);
}

static void
parse_backup(struct cfg *c)
{
	static const char *const allowed[] = { "dir", "at", "keep", NULL };
	static const char *const required[] = { "dir", NULL };
	struct config_backup *b = &c->out->backup;
	struct cnode m, v;
	char *dir = NULL, *at = NULL;
	int hh, mm, n = 0;

	b->at_min = 3 * 60 + 30;
	b->keep = 7;
	if (!cfg_root_get(c, "backup", &m))
		return;
	if (cfg_check_mapping(c, m, "backup", allowed, required) == -1)
		return;
	if (cfg_get_str(c, m, "backup", "dir", &dir) == 1) {
		cfg_map_get(m, "dir", &v);
		b->dir = cfg_resolve_path(v.file->path, dir);
	}
	free(dir);
	if (cfg_get_str(c, m, "backup", "at", &at) == 1) {
		cfg_map_get(m, "at", &v);
		if (sscanf(at, "%d:%d%n", &hh, &mm, &n) != 2 || at[n] != '\0' || hh < 0 ||
		    hh > 23 || mm < 0 || mm > 59)
			cfg_err(c, v, "backup.at: expected a time of day HH:MM, got '%s'", at);
		else
			b->at_min = hh * 60 + mm;
	}
	free(at);
	cfg_get_int(c, m, "backup", "keep", 1, 3650, &b->keep);
}

void
cfg_parse_upkeep(struct cfg *c)
{
	parse_retention(c);
	parse_backup(c);
}
