/* config.c: reads the operator's YAML files (libyaml) into one immutable, fully
 * validated snapshot. Every problem is reported as "file:line:column: message"; a file
 * with any problem yields no snapshot at all, so a bad reload can never half-apply.
 * Here: loading the main file and its includes, the order the sections are read in,
 * the server, storage, log and outbox sections, and freeing a snapshot. The other
 * sections are read by config_platform.c, config_chat.c (with config_menu.c),
 * config_reps.c and config_referral.c, all through the helpers in config_yaml.c; the
 * built-in wording they start from is config_wording.c's. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/tls.h"
#include "config_yaml.h"

void
config_errors_add(struct config_errors *errs, const char *file, size_t line, size_t col,
    const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	errs->lines = xrealloc(errs->lines, (errs->n + 1) * sizeof(*errs->lines));
	errs->lines[errs->n++] = xasprintf("%s:%zu:%zu: %s", file, line, col, msg);
	free(msg);
}

void
config_errors_clear(struct config_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		free(errs->lines[i]);
	free(errs->lines);
	errs->lines = NULL;
	errs->n = 0;
}

/* A host:port (server.listen, admin.listen): [::1]:8080 for IPv6. */
int
cfg_parse_listen(struct cfg *c, struct cnode m, const char *what, char **host_out,
    int *port_out)
{
	struct cnode v;
	char *s = NULL, *colon, *end;
	const char *host;
	long port;
	int rc = -1;

	if (cfg_get_str(c, m, what, "listen", &s) != 1)
		return -1;
	cfg_map_get(m, "listen", &v);
	colon = strrchr(s, ':');
	if (colon == NULL || colon == s) {
		cfg_err(c, v, "%s.listen: expected host:port, got '%s'", what, s);
		goto done;
	}
	*colon = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || port < 0 || port > 65535) {
		cfg_err(c, v, "%s.listen: port '%s' is not a number from 0 to 65535", what,
		    colon + 1);
		goto done;
	}
	host = s;
	if (host[0] == '[') {		/* [::1]:8080 */
		size_t hl = strlen(host);

		if (hl < 3 || host[hl - 1] != ']') {
			cfg_err(c, v, "%s.listen: bad IPv6 address '%s'", what, host);
			goto done;
		}
		*host_out = xstrndup(host + 1, hl - 2);
	} else
		*host_out = xstrdup(host);
	*port_out = (int)port;
	rc = 0;
done:
	free(s);
	return rc;
}

/* server.trusted_proxies: the reverse proxies whose X-Forwarded-For is believed. Only
 * exact addresses: a range would trust strangers by accident. Empty (the default)
 * believes no one. */
static void
parse_trusted_proxies(struct cfg *c, struct cnode m)
{
	struct config *cf = c->out;
	struct cnode list;
	size_t i, n;

	if (!cfg_map_get(m, "trusted_proxies", &list))
		return;
	if (list.node->type != YAML_SEQUENCE_NODE) {
		cfg_err(c, list, "server.trusted_proxies: expected a list of IP addresses, got %s",
		    cfg_node_kind(list.node));
		return;
	}
	n = cfg_list_len(list);
	cf->trusted_proxies = n ? xcalloc(n, sizeof(*cf->trusted_proxies)) : NULL;
	for (i = 0; i < n; i++) {
		struct cnode item = cfg_list_item(list, i);
		struct config_addr *a = &cf->trusted_proxies[cf->n_trusted_proxies];
		const char *s;

		if (item.node->type != YAML_SCALAR_NODE) {
			cfg_err(c, item, "server.trusted_proxies[%zu]: expected an IP address, "
			    "got %s", i, cfg_node_kind(item.node));
			continue;
		}
		s = cfg_scalar(item);
		if (inet_pton(AF_INET, s, a->bytes) == 1)
			a->family = AF_INET;
		else if (inet_pton(AF_INET6, s, a->bytes) == 1)
			a->family = AF_INET6;
		else {
			cfg_err(c, item, "server.trusted_proxies[%zu]: '%s' is not an IPv4 or "
			    "IPv6 address", i, s);
			continue;
		}
		cf->n_trusted_proxies++;
	}
}

static void
parse_server(struct cfg *c, struct cnode m)
{
	static const char *const allowed[] = { "listen", "public_url", "max_body",
	    "max_headers", "read_timeout", "idle_timeout", "max_connections",
	    "drain_timeout", "trusted_proxies", "tls", NULL };
	static const char *const required[] = { "listen", "max_body", NULL };
	struct config *cf = c->out;

	if (cfg_check_mapping(c, m, "server", allowed, required) == -1)
		return;
	cfg_parse_listen(c, m, "server", &cf->listen_host, &cf->listen_port);
	cfg_get_url(c, m, "server", "public_url", &cf->public_url);
	cfg_get_size(c, m, "server", "max_body", 1024, 64 << 20, &cf->max_body);
	cfg_get_size(c, m, "server", "max_headers", 1024, 1 << 20, &cf->max_headers);
	cfg_get_duration(c, m, "server", "read_timeout", 100, 3600000, &cf->read_timeout_ms);
	cfg_get_duration(c, m, "server", "idle_timeout", 100, 3600000, &cf->idle_timeout_ms);
	cfg_get_int(c, m, "server", "max_connections", 1, 1000000, &cf->max_connections);
	cfg_get_duration(c, m, "server", "drain_timeout", 0, 600000, &cf->drain_timeout_ms);
	parse_trusted_proxies(c, m);
	cfg_parse_tls(c, m, "server", &cf->server_tls);
}

static void
parse_storage(struct cfg *c, struct cnode m)
{
	static const char *const allowed[] = { "sqlite", "synchronous", "busy_timeout", NULL };
	static const char *const required[] = { "sqlite", NULL };
	struct cnode v;
	char *s = NULL;

	if (cfg_check_mapping(c, m, "storage", allowed, required) == -1)
		return;
	if (cfg_get_str(c, m, "storage", "sqlite", &s) == 1) {
		cfg_map_get(m, "sqlite", &v);
		c->out->sqlite_path = cfg_resolve_path(v.file->path, s);
	}
	free(s);
	s = NULL;
	if (cfg_get_str(c, m, "storage", "synchronous", &s) == 1) {
		cfg_map_get(m, "synchronous", &v);
		if (strcmp(s, "full") == 0)
			c->out->synchronous_full = 1;
		else if (strcmp(s, "normal") == 0)
			c->out->synchronous_full = 0;
		else
			cfg_err(c, v, "storage.synchronous: expected full or normal, got '%s'", s);
	}
	free(s);
	cfg_get_duration(c, m, "storage", "busy_timeout", 0, 60000, &c->out->busy_timeout_ms);
}

static void
parse_log(struct cfg *c, struct cnode m)
{
	static const char *const allowed[] = { "level", "format", NULL };
	struct cnode v;
	char *s = NULL;

	if (cfg_check_mapping(c, m, "log", allowed, NULL) == -1)
		return;
	if (cfg_get_str(c, m, "log", "level", &s) == 1 &&
	    log_level_parse(s, &c->out->log_level) == -1) {
		cfg_map_get(m, "level", &v);
		cfg_err(c, v, "log.level: expected debug, info, warn or error, got '%s'", s);
	}
	free(s);
	s = NULL;
	if (cfg_get_str(c, m, "log", "format", &s) == 1) {
		if (strcmp(s, "logfmt") == 0)
			c->out->log_format = LOG_FORMAT_LOGFMT;
		else if (strcmp(s, "json") == 0)
			c->out->log_format = LOG_FORMAT_JSON;
		else {
			cfg_map_get(m, "format", &v);
			cfg_err(c, v, "log.format: expected logfmt or json, got '%s'", s);
		}
	}
	free(s);
}

static void
parse_outbox(struct cfg *c, struct cnode m)
{
	static const char *const allowed[] = { "line_concurrency", "works_concurrency",
	    "max_attempts", "request_timeout", "line_rate", "works_rate", NULL };

	if (cfg_check_mapping(c, m, "outbox", allowed, NULL) == -1)
		return;
	cfg_get_int(c, m, "outbox", "line_concurrency", 1, 1024,
	    &c->out->outbox_line_concurrency);
	cfg_get_int(c, m, "outbox", "works_concurrency", 1, 64,
	    &c->out->outbox_works_concurrency);
	cfg_get_int(c, m, "outbox", "max_attempts", 1, 100, &c->out->outbox_max_attempts);
	cfg_get_duration(c, m, "outbox", "request_timeout", 100, 120000,
	    &c->out->outbox_request_timeout_ms);
	cfg_get_int(c, m, "outbox", "line_rate", 1, 100000, &c->out->outbox_line_rate);
	cfg_get_int(c, m, "outbox", "works_rate", 1, 1000, &c->out->outbox_works_rate);
}

static void
parse_toplevel_strings(struct cfg *c, struct cnode root)
{
	struct cnode v;

	if (cfg_get_str(c, root, "config", "timezone", &c->out->timezone) == 1) {
		char *zone = xasprintf("/usr/share/zoneinfo/%s", c->out->timezone);

		cfg_map_get(root, "timezone", &v);
		if (strstr(c->out->timezone, "..") != NULL ||
		    (access("/usr/share/zoneinfo", F_OK) == 0 && access(zone, R_OK) != 0))
			cfg_err(c, v, "timezone: unknown time zone '%s'", c->out->timezone);
		free(zone);
	}
	cfg_get_str(c, root, "config", "company_name", &c->out->company_name);
}

/* Loads one file into c->files[c->nfiles]; reports syntax errors with their position. */
static struct cfg_file *
load_file(struct cfg *c, const char *path, struct cnode *from)
{
	struct cfg_file *f = &c->files[c->nfiles];
	yaml_parser_t parser;
	FILE *fp;
	struct stat st;
	char why[64];

	if ((fp = cfg_fopen_regular(path, "rb", &st, why, sizeof(why))) == NULL) {
		if (from != NULL)
			cfg_err(c, *from, "include: cannot open %s: %s", path, why);
		else
			config_errors_add(c->errs, path, 0, 0, "cannot open: %s", why);
		return NULL;
	}
	f->path = xstrdup(path);
	c->nfiles++;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, fp);
	if (!yaml_parser_load(&parser, &f->doc)) {
		config_errors_add(c->errs, path, parser.problem_mark.line + 1,
		    parser.problem_mark.column + 1, "YAML syntax error: %s%s%s",
		    parser.problem ? parser.problem : "unknown",
		    parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		fclose(fp);
		return NULL;
	}
	yaml_parser_delete(&parser);
	fclose(fp);
	/* Only a file with a root counts as loaded: every walk over the files reads it. */
	if (yaml_document_get_root_node(&f->doc) == NULL) {
		config_errors_add(c->errs, path, 1, 1, "the file is empty");
		yaml_document_delete(&f->doc);
		return NULL;
	}
	f->loaded = 1;
	return f;
}

/* Included files hold further top-level keys; they are merged into the main mapping's
 * view by copying nothing: lookups walk every root in turn. For this first version an
 * included file may only hold keys the main file does not. */
static const char *const toplevel_keys[] = { "server", "storage", "log", "timezone",
    "company_name", "include", "line", "lineworks", "outbox", "messages", "auto_replies",
    "postbacks", "rich_menus", "rich_menu_rules", "branches", "reps", "reps_csv", "campaigns",
    "referral", "admin", "business_hours", "handoff", "conversations", "announcements",
    "testers", "retention", "backup", NULL };

int
cfg_root_get(struct cfg *c, const char *key, struct cnode *out)
{
	for (size_t i = 0; i < c->nfiles; i++) {
		struct cnode r;

		if (!c->files[i].loaded)
			continue;
		r.file = &c->files[i];
		r.node = yaml_document_get_root_node(&c->files[i].doc);
		if (cfg_map_get(r, key, out))
			return 1;
	}
	return 0;
}

static void
load_includes(struct cfg *c, struct cnode root)
{
	struct cnode list;

	if (!cfg_map_get(root, "include", &list))
		return;
	if (list.node->type != YAML_SEQUENCE_NODE) {
		cfg_err(c, list, "include: expected a list of file names, got %s",
		    cfg_node_kind(list.node));
		return;
	}
	for (size_t i = 0; i < cfg_list_len(list); i++) {
		struct cnode item = cfg_list_item(list, i);
		struct cfg_file *f;
		struct cnode inc_root;
		char *path;

		if (item.node->type != YAML_SCALAR_NODE) {
			cfg_err(c, item, "include[%zu]: expected a file name", i);
			continue;
		}
		if (c->nfiles >= sizeof(c->files) / sizeof(c->files[0])) {
			cfg_err(c, item, "include: at most %d files", MAX_INCLUDES);
			return;
		}
		path = cfg_resolve_path(root.file->path, cfg_scalar(item));
		f = load_file(c, path, &item);
		free(path);
		if (f == NULL)
			continue;
		inc_root.file = f;
		inc_root.node = yaml_document_get_root_node(&f->doc);
		if (cfg_check_mapping(c, inc_root, "included file", toplevel_keys, NULL) == -1)
			continue;
		for (yaml_node_pair_t *p = inc_root.node->data.mapping.pairs.start;
		    p < inc_root.node->data.mapping.pairs.top; p++) {
			struct cnode k = cfg_cnode_at(inc_root, p->key), prev;

			if (strcmp(cfg_scalar(k), "include") == 0)
				cfg_err(c, k, "include: included files cannot include others");
			else if (cfg_root_get(c, cfg_scalar(k), &prev) && prev.file != f)
				cfg_err(c, k, "'%s' is already set in %s:%zu", cfg_scalar(k),
				    prev.file->path, prev.node->start_mark.line + 1);
		}
	}
}

struct config *
config_ref(struct config *cf)
{
	atomic_fetch_add(&cf->refs, 1);
	return cf;
}

static void config_free(struct config *);

void
config_unref(struct config *cf)
{
	if (cf != NULL && atomic_fetch_sub(&cf->refs, 1) == 1)
		config_free(cf);
}

static void
config_free(struct config *cf)
{
	if (cf == NULL)
		return;
	free(cf->path);
	free(cf->listen_host);
	free(cf->admin_host);
	free(cf->admin_public_url);
	free(cf->admin_metrics_token);
	free(cf->backup.dir);
	free(cf->public_url);
	free(cf->trusted_proxies);
	tls_ctx_unref(cf->server_tls);
	tls_ctx_unref(cf->admin_tls);
	free(cf->sqlite_path);
	free(cf->timezone);
	free(cf->company_name);
	config_hours_clear(&cf->business_hours);
	cfg_free_platform(cf);
	cfg_free_chat(cf);
	cfg_free_referral(cf);
	cfg_free_handoff(cf);
	cfg_free_announce(cf);
	cfg_free_wording(cf);
	free(cf);
}

/* A snapshot with every default set and nothing loaded yet. */
static struct config *
config_new(const char *path)
{
	struct config *cf = xcalloc(1, sizeof(*cf));

	atomic_init(&cf->refs, 1);
	cf->path = xstrdup(path);
	cf->max_headers = 16 * 1024;
	cf->read_timeout_ms = 10000;
	cf->idle_timeout_ms = 5000;
	cf->max_connections = 2048;
	cf->drain_timeout_ms = 10000;
	cf->synchronous_full = 1;
	cf->busy_timeout_ms = 2000;
	cf->log_level = LOG_INFO;
	cf->outbox_line_concurrency = 64;
	cf->outbox_works_concurrency = 4;
	cf->outbox_max_attempts = 12;
	cf->outbox_request_timeout_ms = 10000;
	cf->outbox_line_rate = 1000;
	cf->outbox_works_rate = 2;
	cf->timezone = xstrdup("Asia/Tokyo");
	return cf;
}

/* The parsed documents are only needed while the snapshot is built. The snapshot is
 * returned when nothing was added to errs since nerr_before, freed otherwise. */
static struct config *
config_finish(struct cfg *c, size_t nerr_before)
{
	for (size_t i = 0; i < c->nfiles; i++) {
		if (c->files[i].loaded)
			yaml_document_delete(&c->files[i].doc);
		free(c->files[i].path);
	}
	if (c->builtin.loaded)
		yaml_document_delete(&c->builtin.doc);
	free(c->builtin.path);
	if (c->errs->n > nerr_before) {
		config_free(c->out);
		return NULL;
	}
	return c->out;
}

/* A snapshot of defaults in c, and the main file's root: -1 when it cannot be read. */
static int
load_main(struct cfg *c, const char *path, struct config_errors *errs, struct cnode *root)
{
	struct cfg_file *main_file;

	memset(c, 0, sizeof(*c));
	c->errs = errs;
	c->out = config_new(path);
	if ((main_file = load_file(c, path, NULL)) == NULL)
		return -1;
	root->file = main_file;
	root->node = yaml_document_get_root_node(&main_file->doc);
	return 0;
}

struct config *
config_load(const char *path, struct config_errors *errs)
{
	struct cfg c;
	struct cnode root, sec;
	size_t nerr_before = errs->n;

	if (load_main(&c, path, errs, &root) == -1)
		goto done;
	if (cfg_check_mapping(&c, root, "config", toplevel_keys, NULL) == -1)
		goto done;
	load_includes(&c, root);

	/* Each section once, from whichever file has it (a second one is already an
	 * error from load_includes; parsing it too would leak the first). */
	if (cfg_root_get(&c, "server", &sec))
		parse_server(&c, sec);
	if (cfg_root_get(&c, "storage", &sec))
		parse_storage(&c, sec);
	if (cfg_root_get(&c, "log", &sec))
		parse_log(&c, sec);
	if (cfg_root_get(&c, "outbox", &sec))
		parse_outbox(&c, sec);
	cfg_parse_admin(&c);
	cfg_parse_business_hours(&c);
	cfg_parse_platform(&c);
	for (size_t i = 0; i < c.nfiles; i++) {
		struct cnode r;

		if (!c.files[i].loaded)
			continue;
		r.file = &c.files[i];
		r.node = yaml_document_get_root_node(&c.files[i].doc);
		if (r.node->type == YAML_MAPPING_NODE)
			parse_toplevel_strings(&c, r);
	}
	cfg_parse_wording(&c);
	cfg_parse_chat(&c);
	cfg_parse_referral(&c);
	cfg_parse_handoff(&c);
	cfg_parse_upkeep(&c);
	cfg_parse_announce(&c);
	if (!cfg_root_get(&c, "server", &sec))
		cfg_err(&c, root, "missing required key 'server'");
	if (!cfg_root_get(&c, "storage", &sec))
		cfg_err(&c, root, "missing required key 'storage'");
	if (!cfg_root_get(&c, "line", &sec))
		cfg_err(&c, root, "missing required key 'line'");
done:
	return config_finish(&c, nerr_before);
}

/* Only the main file's storage section and time zone: what a command that reads the
 * database needs while the rest of the configuration is broken. */
struct config *
config_load_storage(const char *path, struct config_errors *errs)
{
	struct cfg c;
	struct cnode root, sec;
	size_t nerr_before = errs->n;

	if (load_main(&c, path, errs, &root) == -1)
		goto done;
	if (root.node->type != YAML_MAPPING_NODE || !cfg_map_get(root, "storage", &sec)) {
		cfg_err(&c, root, "missing required key 'storage'");
		goto done;
	}
	parse_storage(&c, sec);
	parse_toplevel_strings(&c, root);
done:
	return config_finish(&c, nerr_before);
}

struct config *
config_load_print(const char *path, FILE *out)
{
	struct config_errors errs = { 0 };
	struct config *cf = config_load(path, &errs);

	for (size_t i = 0; i < errs.n; i++)
		fprintf(out, "%s\n", errs.lines[i]);
	config_errors_clear(&errs);
	return cf;
}
