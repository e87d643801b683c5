/* config.c: reads the operator's YAML files (libyaml) into one immutable, fully
 * validated snapshot. Every problem is reported as "file:line:column: message"; a file
 * with any problem yields no snapshot at all, so a bad reload can never half-apply. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <jansson.h>

#include "config_yaml.h"

#define SECRET_MAX	(64 * 1024)

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

/* libyaml marks are 0-based; editors count from 1. */
void
cfg_err(struct cfg *c, struct cnode n, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	config_errors_add(c->errs, n.file->path, n.node->start_mark.line + 1,
	    n.node->start_mark.column + 1, "%s", msg);
	free(msg);
}

const char *
node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

struct cnode
cnode_at(struct cnode parent, int index)
{
	struct cnode n = { parent.file, yaml_document_get_node(&parent.file->doc, index) };

	return n;
}

const char *
scalar(const struct cnode n)
{
	return (const char *)n.node->data.scalar.value;
}

int
is_null_scalar(const struct cnode n)
{
	const char *s;

	if (n.node->type != YAML_SCALAR_NODE)
		return 0;
	if (n.node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	s = scalar(n);
	return *s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0;
}

/* Looks key up in mapping m; returns 1 and the value when present. */
int
map_get(struct cnode m, const char *key, struct cnode *val)
{
	yaml_node_pair_t *p;

	if (m.node->type != YAML_MAPPING_NODE)
		return 0;
	for (p = m.node->data.mapping.pairs.start; p < m.node->data.mapping.pairs.top; p++) {
		struct cnode k = cnode_at(m, p->key);

		if (k.node->type == YAML_SCALAR_NODE && strcmp(scalar(k), key) == 0) {
			*val = cnode_at(m, p->value);
			return 1;
		}
	}
	return 0;
}

int
name_in(const char *name, const char *const *list)
{
	for (; list != NULL && *list != NULL; list++)
		if (strcmp(name, *list) == 0)
			return 1;
	return 0;
}

/* Checks that m is a mapping whose keys are all known, none twice, and that every
 * required key is there. what names the mapping in messages ("server"). Returns 1 when
 * all is well, 0 after reporting problems, -1 when m is no mapping at all (nothing in it
 * can be read). */
int
check_mapping(struct cfg *c, struct cnode m, const char *what, const char *const *allowed,
    const char *const *required)
{
	yaml_node_pair_t *p, *q;
	int ok = 1;

	if (m.node->type != YAML_MAPPING_NODE) {
		cfg_err(c, m, "%s: expected a mapping, got %s", what, node_kind(m.node));
		return -1;
	}
	for (p = m.node->data.mapping.pairs.start; p < m.node->data.mapping.pairs.top; p++) {
		struct cnode k = cnode_at(m, p->key);

		if (k.node->type != YAML_SCALAR_NODE) {
			cfg_err(c, k, "%s: keys must be plain words", what);
			ok = 0;
			continue;
		}
		for (q = m.node->data.mapping.pairs.start; q < p; q++) {
			struct cnode k2 = cnode_at(m, q->key);

			if (k2.node->type == YAML_SCALAR_NODE &&
			    strcmp(scalar(k2), scalar(k)) == 0) {
				cfg_err(c, k, "%s: key '%s' appears twice", what, scalar(k));
				ok = 0;
			}
		}
		if (!name_in(scalar(k), allowed)) {
			size_t klen = strlen(scalar(k));

			if (klen > 0 && !name_in(scalar(k), required)) {
				char *file_key = xasprintf("%s_file", scalar(k));

				if (name_in(file_key, allowed))
					cfg_err(c, k, "%s.%s: secrets never sit in the config file; "
					    "name a file with '%s_file' or a variable with '%s_env'",
					    what, scalar(k), scalar(k), scalar(k));
				else
					cfg_err(c, k, "%s: unknown key '%s'", what, scalar(k));
				free(file_key);
			}
			ok = 0;
		}
	}
	for (; required != NULL && *required != NULL; required++) {
		struct cnode v;

		if (!map_get(m, *required, &v)) {
			cfg_err(c, m, "%s: missing required key '%s'", what, *required);
			ok = 0;
		}
	}
	return ok;
}

/* Typed getters: each returns 1 when the key was present and valid, 0 when absent
 * (out untouched: the caller's default stands) and -1 after reporting an error. */

int
get_str(struct cfg *c, struct cnode m, const char *what, const char *key, char **out)
{
	struct cnode v;

	if (!map_get(m, key, &v))
		return 0;
	if (v.node->type != YAML_SCALAR_NODE || is_null_scalar(v)) {
		cfg_err(c, v, "%s.%s: expected a string, got %s", what, key,
		    v.node->type == YAML_SCALAR_NODE ? "nothing" : node_kind(v.node));
		return -1;
	}
	free(*out);
	*out = xstrdup(scalar(v));
	return 1;
}

int
get_bool(struct cfg *c, struct cnode m, const char *what, const char *key, int *out)
{
	struct cnode v;
	const char *s;

	if (!map_get(m, key, &v))
		return 0;
	if (v.node->type == YAML_SCALAR_NODE) {
		s = scalar(v);
		if (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0) {
			*out = 1;
			return 1;
		}
		if (strcmp(s, "false") == 0 || strcmp(s, "no") == 0) {
			*out = 0;
			return 1;
		}
	}
	cfg_err(c, v, "%s.%s: expected true or false", what, key);
	return -1;
}

int
get_int(struct cfg *c, struct cnode m, const char *what, const char *key, long min,
    long max, int *out)
{
	struct cnode v;
	char *end;
	long n;

	if (!map_get(m, key, &v))
		return 0;
	if (v.node->type == YAML_SCALAR_NODE) {
		errno = 0;
		n = strtol(scalar(v), &end, 10);
		if (*scalar(v) != '\0' && *end == '\0' && errno == 0) {
			if (n < min || n > max) {
				cfg_err(c, v, "%s.%s: %ld is out of range (%ld to %ld)", what, key,
				    n, min, max);
				return -1;
			}
			*out = (int)n;
			return 1;
		}
	}
	cfg_err(c, v, "%s.%s: expected a whole number", what, key);
	return -1;
}

int
get_duration(struct cfg *c, struct cnode m, const char *what, const char *key,
    int64_t min_ms, int64_t max_ms, int64_t *out_ms)
{
	struct cnode v;
	int64_t ms;

	if (!map_get(m, key, &v))
		return 0;
	if (v.node->type != YAML_SCALAR_NODE ||
	    (ms = config_parse_duration_ms(scalar(v))) < 0) {
		cfg_err(c, v, "%s.%s: expected a duration such as 500ms, 10s, 5m, 1h or 14d",
		    what, key);
		return -1;
	}
	if (ms < min_ms || ms > max_ms) {
		cfg_err(c, v, "%s.%s: %s is out of range (%lldms to %lldms)", what, key,
		    scalar(v), (long long)min_ms, (long long)max_ms);
		return -1;
	}
	*out_ms = ms;
	return 1;
}

static int
get_size(struct cfg *c, struct cnode m, const char *what, const char *key, int64_t min,
    int64_t max, size_t *out)
{
	struct cnode v;
	int64_t n;

	if (!map_get(m, key, &v))
		return 0;
	if (v.node->type != YAML_SCALAR_NODE || (n = config_parse_size(scalar(v))) < 0) {
		cfg_err(c, v, "%s.%s: expected a size such as 4096, 16KiB or 1MiB", what, key);
		return -1;
	}
	if (n < min || n > max) {
		cfg_err(c, v, "%s.%s: %s is out of range (%lld to %lld bytes)", what, key,
		    scalar(v), (long long)min, (long long)max);
		return -1;
	}
	*out = (size_t)n;
	return 1;
}

int64_t
config_parse_duration_ms(const char *s)
{
	static const struct { const char *unit; int64_t ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
		{ "d", 86400000 },
	};
	char *end;
	long long n;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || n > 100000000LL)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].unit) == 0)
			return n * units[i].ms;
	return -1;
}

int64_t
config_parse_size(const char *s)
{
	static const struct { const char *unit; int64_t mult; } units[] = {
		{ "", 1 }, { "B", 1 }, { "KiB", 1024 }, { "MiB", 1024 * 1024 },
		{ "KB", 1000 }, { "MB", 1000 * 1000 },
	};
	char *end;
	long long n;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || n > (1LL << 40))
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].unit) == 0)
			return n * units[i].mult;
	return -1;
}

/* Relative paths in a file are relative to that file's folder. */
char *
resolve_path(const char *base_file, const char *path)
{
	const char *slash;

	if (path[0] == '/')
		return xstrdup(path);
	slash = strrchr(base_file, '/');
	if (slash == NULL)
		return xstrdup(path);
	return xasprintf("%.*s/%s", (int)(slash - base_file), base_file, path);
}

/* Reads a secret named by key_file (path) or key_env (variable); exactly one must be
 * given when required. Trailing newlines are dropped: operators write them with echo.
 * A file readable by group or others is refused, so a leaked mode is caught early. */
static int
get_secret(struct cfg *c, struct cnode m, const char *what, const char *key, int required,
    char **out)
{
	char *file_key = xasprintf("%s_file", key), *env_key = xasprintf("%s_env", key);
	char *path = NULL, *value = NULL;
	struct cnode fv, ev;
	int has_file = map_get(m, file_key, &fv), has_env = map_get(m, env_key, &ev);
	int rc = -1, fd = -1;
	struct stat st;
	ssize_t n;

	if (has_file && has_env) {
		cfg_err(c, ev, "%s: give either %s or %s, not both", what, file_key, env_key);
		goto done;
	}
	if (!has_file && !has_env) {
		struct cnode inline_v;

		/* The secret written inline is reported by check_mapping, with the fix. */
		if (required && !map_get(m, key, &inline_v))
			cfg_err(c, m, "%s: missing required key '%s' (or '%s')", what, file_key,
			    env_key);
		rc = required ? -1 : 0;
		goto done;
	}
	if (has_env) {
		const char *env;

		if (get_str(c, m, what, env_key, &path) != 1)
			goto done;
		env = getenv(path);
		if (env == NULL || *env == '\0') {
			cfg_err(c, ev, "%s.%s: environment variable %s is not set", what, env_key,
			    path);
			goto done;
		}
		value = xstrdup(env);
	} else {
		char *rel = NULL;

		if (get_str(c, m, what, file_key, &rel) != 1)
			goto done;
		path = resolve_path(fv.file->path, rel);
		free(rel);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
			cfg_err(c, fv, "%s.%s: cannot open %s: %s", what, file_key, path,
			    strerror(errno));
			goto done;
		}
		if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
			cfg_err(c, fv, "%s.%s: %s is not a regular file", what, file_key, path);
			goto done;
		}
		if ((st.st_mode & 077) != 0) {
			cfg_err(c, fv, "%s.%s: %s is readable by group or others (mode %04o); "
			    "run chmod 600 on it", what, file_key, path,
			    (unsigned)(st.st_mode & 07777));
			goto done;
		}
		if (st.st_size > SECRET_MAX) {
			cfg_err(c, fv, "%s.%s: %s is larger than %d bytes", what, file_key, path,
			    SECRET_MAX);
			goto done;
		}
		value = xmalloc((size_t)st.st_size + 1);
		n = read(fd, value, (size_t)st.st_size);
		if (n < 0) {
			cfg_err(c, fv, "%s.%s: cannot read %s: %s", what, file_key, path,
			    strerror(errno));
			goto done;
		}
		value[n] = '\0';
	}
	for (size_t len = strlen(value); len > 0 &&
	    (value[len - 1] == '\n' || value[len - 1] == '\r'); len--)
		value[len - 1] = '\0';
	if (*value == '\0') {
		cfg_err(c, has_file ? fv : ev, "%s.%s: the secret is empty", what,
		    has_file ? file_key : env_key);
		goto done;
	}
	free(*out);
	*out = value;
	value = NULL;
	rc = 1;
done:
	if (fd != -1)
		close(fd);
	if (value != NULL) {
		OPENSSL_cleanse(value, strlen(value));
		free(value);
	}
	free(path);
	free(file_key);
	free(env_key);
	return rc;
}

int
valid_id(const char *s)
{
	if (*s == '\0' || strlen(s) > 64)
		return 0;
	for (; *s != '\0'; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '-' &&
		    *s != '_')
			return 0;
	return 1;
}

int
valid_http_url(const char *s)
{
	return (strncmp(s, "http://", 7) == 0 && s[7] != '\0') ||
	    (strncmp(s, "https://", 8) == 0 && s[8] != '\0');
}

/* Gets a required URL and drops a trailing '/', so "{base}/path" joins cleanly. */
void
get_url(struct cfg *c, struct cnode m, const char *what, const char *key, char **out)
{
	struct cnode v;
	size_t len;

	if (get_str(c, m, what, key, out) != 1)
		return;
	map_get(m, key, &v);
	if (!valid_http_url(*out)) {
		cfg_err(c, v, "%s.%s: '%s' is not an http:// or https:// URL", what, key, *out);
		return;
	}
	len = strlen(*out);
	while (len > 0 && (*out)[len - 1] == '/')
		(*out)[--len] = '\0';
}

static void
parse_listen(struct cfg *c, struct cnode m)
{
	struct cnode v;
	char *s = NULL, *colon, *end;
	const char *host;
	long port;

	if (get_str(c, m, "server", "listen", &s) != 1)
		return;
	map_get(m, "listen", &v);
	colon = strrchr(s, ':');
	if (colon == NULL || colon == s) {
		cfg_err(c, v, "server.listen: expected host:port, got '%s'", s);
		goto done;
	}
	*colon = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || port < 0 || port > 65535) {
		cfg_err(c, v, "server.listen: port '%s' is not a number from 0 to 65535",
		    colon + 1);
		goto done;
	}
	host = s;
	if (host[0] == '[') {		/* [::1]:8080 */
		size_t hl = strlen(host);

		if (hl < 3 || host[hl - 1] != ']') {
			cfg_err(c, v, "server.listen: bad IPv6 address '%s'", host);
			goto done;
		}
		c->out->listen_host = xstrndup(host + 1, hl - 2);
	} else
		c->out->listen_host = xstrdup(host);
	c->out->listen_port = (int)port;
done:
	free(s);
}

static void
parse_server(struct cfg *c, struct cnode m)
{
	static const char *const allowed[] = { "listen", "public_url", "max_body",
	    "max_headers", "read_timeout", "idle_timeout", "max_connections",
	    "drain_timeout", NULL };
	static const char *const required[] = { "listen", "max_body", NULL };
	struct config *cf = c->out;

	if (check_mapping(c, m, "server", allowed, required) == -1)
		return;
	parse_listen(c, m);
	get_url(c, m, "server", "public_url", &cf->public_url);
	get_size(c, m, "server", "max_body", 1024, 64 << 20, &cf->max_body);
	get_size(c, m, "server", "max_headers", 1024, 1 << 20, &cf->max_headers);
	get_duration(c, m, "server", "read_timeout", 100, 3600000, &cf->read_timeout_ms);
	get_duration(c, m, "server", "idle_timeout", 100, 3600000, &cf->idle_timeout_ms);
	get_int(c, m, "server", "max_connections", 1, 1000000, &cf->max_connections);
	get_duration(c, m, "server", "drain_timeout", 0, 600000, &cf->drain_timeout_ms);
}

static void
parse_storage(struct cfg *c, struct cnode m)
{
	static const char *const allowed[] = { "sqlite", "synchronous", "busy_timeout", NULL };
	static const char *const required[] = { "sqlite", NULL };
	struct cnode v;
	char *s = NULL;

	if (check_mapping(c, m, "storage", allowed, required) == -1)
		return;
	if (get_str(c, m, "storage", "sqlite", &s) == 1) {
		map_get(m, "sqlite", &v);
		c->out->sqlite_path = resolve_path(v.file->path, s);
	}
	free(s);
	s = NULL;
	if (get_str(c, m, "storage", "synchronous", &s) == 1) {
		map_get(m, "synchronous", &v);
		if (strcmp(s, "full") == 0)
			c->out->synchronous_full = 1;
		else if (strcmp(s, "normal") == 0)
			c->out->synchronous_full = 0;
		else
			cfg_err(c, v, "storage.synchronous: expected full or normal, got '%s'", s);
	}
	free(s);
	get_duration(c, m, "storage", "busy_timeout", 0, 60000, &c->out->busy_timeout_ms);
}

static void
parse_log(struct cfg *c, struct cnode m)
{
	static const char *const allowed[] = { "level", NULL };
	struct cnode v;
	char *s = NULL;

	if (check_mapping(c, m, "log", allowed, NULL) == -1)
		return;
	if (get_str(c, m, "log", "level", &s) == 1 &&
	    log_level_parse(s, &c->out->log_level) == -1) {
		map_get(m, "level", &v);
		cfg_err(c, v, "log.level: expected debug, info, warn or error, got '%s'", s);
	}
	free(s);
}

static void
parse_outbox(struct cfg *c, struct cnode m)
{
	static const char *const allowed[] = { "line_concurrency", "works_concurrency",
	    "max_attempts", "request_timeout", "line_rate", "works_rate", NULL };

	if (check_mapping(c, m, "outbox", allowed, NULL) == -1)
		return;
	get_int(c, m, "outbox", "line_concurrency", 1, 1024, &c->out->outbox_line_concurrency);
	get_int(c, m, "outbox", "works_concurrency", 1, 64, &c->out->outbox_works_concurrency);
	get_int(c, m, "outbox", "max_attempts", 1, 100, &c->out->outbox_max_attempts);
	get_duration(c, m, "outbox", "request_timeout", 100, 120000,
	    &c->out->outbox_request_timeout_ms);
	get_int(c, m, "outbox", "line_rate", 1, 100000, &c->out->outbox_line_rate);
	get_int(c, m, "outbox", "works_rate", 1, 1000, &c->out->outbox_works_rate);
}

static int
check_list(struct cfg *c, struct cnode parent, const char *what, const char *key,
    struct cnode *list)
{
	if (!map_get(parent, key, list)) {
		cfg_err(c, parent, "%s: missing required key '%s'", what, key);
		return 0;
	}
	if (list->node->type != YAML_SEQUENCE_NODE) {
		cfg_err(c, *list, "%s.%s: expected a list, got %s", what, key,
		    node_kind(list->node));
		return 0;
	}
	if (list->node->data.sequence.items.top == list->node->data.sequence.items.start) {
		cfg_err(c, *list, "%s.%s: the list is empty", what, key);
		return 0;
	}
	return 1;
}

size_t
list_len(struct cnode list)
{
	return (size_t)(list.node->data.sequence.items.top - list.node->data.sequence.items.start);
}

struct cnode
list_item(struct cnode list, size_t i)
{
	return cnode_at(list, list.node->data.sequence.items.start[i]);
}

static void
get_id(struct cfg *c, struct cnode m, const char *what, char **out)
{
	struct cnode v;

	if (get_str(c, m, what, "id", out) == 1 && !valid_id(*out)) {
		map_get(m, "id", &v);
		cfg_err(c, v, "%s.id: '%s' may use only a-z, 0-9, '-' and '_' (at most 64)",
		    what, *out);
	}
}

static void
parse_line_channel(struct cfg *c, struct cnode m, const char *what,
    struct config_line_channel *ch)
{
	static const char *const allowed[] = { "id", "basic_id", "channel_secret_file",
	    "channel_secret_env", "access_token_file", "access_token_env", "bot_user_id",
	    "api_base", "api_data_base", "reply_fallback_to_push", NULL };
	static const char *const required[] = { "id", "basic_id", "api_base",
	    "api_data_base", NULL };
	struct cnode v;

	ch->reply_fallback_to_push = 1;
	if (check_mapping(c, m, what, allowed, required) == -1)
		return;
	get_id(c, m, what, &ch->id);
	if (get_str(c, m, what, "basic_id", &ch->basic_id) == 1 && ch->basic_id[0] != '@') {
		map_get(m, "basic_id", &v);
		cfg_err(c, v, "%s.basic_id: '%s' should start with '@' (as in @123abcde)", what,
		    ch->basic_id);
	}
	if (get_secret(c, m, what, "channel_secret", 1, &ch->channel_secret) == 1)
		ch->secret_key = sig_key_new(ch->channel_secret, strlen(ch->channel_secret));
	get_secret(c, m, what, "access_token", 1, &ch->access_token);
	if (get_str(c, m, what, "bot_user_id", &ch->bot_user_id) == 1 &&
	    (ch->bot_user_id[0] != 'U' || strlen(ch->bot_user_id) != 33)) {
		map_get(m, "bot_user_id", &v);
		cfg_err(c, v, "%s.bot_user_id: expected U followed by 32 hex digits", what);
	}
	get_url(c, m, what, "api_base", &ch->api_base);
	get_url(c, m, what, "api_data_base", &ch->api_data_base);
	get_bool(c, m, what, "reply_fallback_to_push", &ch->reply_fallback_to_push);
}

/* The private key must be a PEM private key OpenSSL can read: finding out at the first
 * LINE WORKS send would be too late. */
static void
check_private_key(struct cfg *c, struct cnode m, const char *what, const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	struct cnode v;

	if (key == NULL || EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
		if (!map_get(m, "private_key_file", &v))
			map_get(m, "private_key_env", &v);
		cfg_err(c, v, "%s.private_key: not a PEM RSA private key", what);
	}
	EVP_PKEY_free(key);
	BIO_free(bio);
}

static void
parse_works_bot(struct cfg *c, struct cnode m, const char *what, struct config_works_bot *b)
{
	static const char *const allowed[] = { "id", "bot_id", "bot_secret_file",
	    "bot_secret_env", "client_id", "client_secret_file", "client_secret_env",
	    "service_account", "private_key_file", "private_key_env", "auth_url", "api_base",
	    "persistent_menu", NULL };
	static const char *const required[] = { "id", "bot_id", "client_id",
	    "service_account", "auth_url", "api_base", NULL };
	struct cnode v;

	if (check_mapping(c, m, what, allowed, required) == -1)
		return;
	get_id(c, m, what, &b->id);
	if (get_str(c, m, what, "bot_id", &b->bot_id) == 1) {
		const char *p = b->bot_id;

		while (isdigit((unsigned char)*p))
			p++;
		if (*p != '\0' || p == b->bot_id) {
			map_get(m, "bot_id", &v);
			cfg_err(c, v, "%s.bot_id: expected the numeric bot ID, got '%s'", what,
			    b->bot_id);
		}
	}
	if (get_secret(c, m, what, "bot_secret", 1, &b->bot_secret) == 1)
		b->secret_key = sig_key_new(b->bot_secret, strlen(b->bot_secret));
	get_str(c, m, what, "client_id", &b->client_id);
	get_secret(c, m, what, "client_secret", 1, &b->client_secret);
	get_str(c, m, what, "service_account", &b->service_account);
	if (get_secret(c, m, what, "private_key", 1, &b->private_key_pem) == 1)
		check_private_key(c, m, what, b->private_key_pem);
	get_url(c, m, what, "auth_url", &b->auth_url);
	get_url(c, m, what, "api_base", &b->api_base);
	if (map_get(m, "persistent_menu", &v)) {
		char *menu_what = xasprintf("%s.persistent_menu", what);

		b->persistent_menu = parse_persistent_menu(c, v, menu_what);
		free(menu_what);
	}
}

static void
parse_line(struct cfg *c, struct cnode m)
{
	static const char *const allowed[] = { "channels", NULL };
	struct cnode list;
	struct config *cf = c->out;

	if (check_mapping(c, m, "line", allowed, NULL) == -1)
		return;
	if (!check_list(c, m, "line", "channels", &list))
		return;
	cf->n_line_channels = list_len(list);
	cf->line_channels = xcalloc(cf->n_line_channels, sizeof(*cf->line_channels));
	for (size_t i = 0; i < cf->n_line_channels; i++) {
		char *what = xasprintf("line.channels[%zu]", i);
		struct cnode item = list_item(list, i);

		parse_line_channel(c, item, what, &cf->line_channels[i]);
		for (size_t j = 0; j < i; j++)
			if (cf->line_channels[i].id && cf->line_channels[j].id &&
			    strcmp(cf->line_channels[i].id, cf->line_channels[j].id) == 0)
				cfg_err(c, item, "%s: id '%s' is used twice", what,
				    cf->line_channels[i].id);
		free(what);
	}
}

static void
parse_lineworks(struct cfg *c, struct cnode m)
{
	static const char *const allowed[] = { "bots", NULL };
	struct cnode list;
	struct config *cf = c->out;

	if (check_mapping(c, m, "lineworks", allowed, NULL) == -1)
		return;
	if (!check_list(c, m, "lineworks", "bots", &list))
		return;
	cf->n_works_bots = list_len(list);
	cf->works_bots = xcalloc(cf->n_works_bots, sizeof(*cf->works_bots));
	for (size_t i = 0; i < cf->n_works_bots; i++) {
		char *what = xasprintf("lineworks.bots[%zu]", i);
		struct cnode item = list_item(list, i);
		struct config_works_bot *b = &cf->works_bots[i];

		parse_works_bot(c, item, what, b);
		for (size_t j = 0; j < i; j++) {
			if (b->id && cf->works_bots[j].id && strcmp(b->id, cf->works_bots[j].id) == 0)
				cfg_err(c, item, "%s: id '%s' is used twice", what, b->id);
			if (b->bot_id && cf->works_bots[j].bot_id &&
			    strcmp(b->bot_id, cf->works_bots[j].bot_id) == 0)
				cfg_err(c, item, "%s: bot_id '%s' is used twice", what, b->bot_id);
		}
		free(what);
	}
}

static void
parse_toplevel_strings(struct cfg *c, struct cnode root)
{
	struct cnode v;

	if (get_str(c, root, "config", "timezone", &c->out->timezone) == 1) {
		char *zone = xasprintf("/usr/share/zoneinfo/%s", c->out->timezone);

		map_get(root, "timezone", &v);
		if (strstr(c->out->timezone, "..") != NULL ||
		    (access("/usr/share/zoneinfo", F_OK) == 0 && access(zone, R_OK) != 0))
			cfg_err(c, v, "timezone: unknown time zone '%s'", c->out->timezone);
		free(zone);
	}
	get_str(c, root, "config", "company_name", &c->out->company_name);
}

/* Loads one file into c->files[c->nfiles]; reports syntax errors with their position. */
static struct cfg_file *
load_file(struct cfg *c, const char *path, struct cnode *from)
{
	struct cfg_file *f = &c->files[c->nfiles];
	yaml_parser_t parser;
	FILE *fp;

	if ((fp = fopen(path, "rb")) == NULL) {
		if (from != NULL)
			cfg_err(c, *from, "include: cannot open %s: %s", path, strerror(errno));
		else
			config_errors_add(c->errs, path, 0, 0, "cannot open: %s", strerror(errno));
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
    "referral", NULL };

int
root_get(struct cfg *c, const char *key, struct cnode *out)
{
	for (size_t i = 0; i < c->nfiles; i++) {
		struct cnode r;

		if (!c->files[i].loaded)
			continue;
		r.file = &c->files[i];
		r.node = yaml_document_get_root_node(&c->files[i].doc);
		if (map_get(r, key, out))
			return 1;
	}
	return 0;
}

static void
load_includes(struct cfg *c, struct cnode root)
{
	struct cnode list;

	if (!map_get(root, "include", &list))
		return;
	if (list.node->type != YAML_SEQUENCE_NODE) {
		cfg_err(c, list, "include: expected a list of file names, got %s",
		    node_kind(list.node));
		return;
	}
	for (size_t i = 0; i < list_len(list); i++) {
		struct cnode item = list_item(list, i);
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
		path = resolve_path(root.file->path, scalar(item));
		f = load_file(c, path, &item);
		free(path);
		if (f == NULL)
			continue;
		inc_root.file = f;
		inc_root.node = yaml_document_get_root_node(&f->doc);
		if (check_mapping(c, inc_root, "included file", toplevel_keys, NULL) == -1)
			continue;
		for (yaml_node_pair_t *p = inc_root.node->data.mapping.pairs.start;
		    p < inc_root.node->data.mapping.pairs.top; p++) {
			struct cnode k = cnode_at(inc_root, p->key), prev;

			if (strcmp(scalar(k), "include") == 0)
				cfg_err(c, k, "include: included files cannot include others");
			else if (root_get(c, scalar(k), &prev) && prev.file != f)
				cfg_err(c, k, "'%s' is already set in %s:%zu", scalar(k),
				    prev.file->path, prev.node->start_mark.line + 1);
		}
	}
}

static void
free_line_channel(struct config_line_channel *ch)
{
	free(ch->id);
	free(ch->basic_id);
	if (ch->channel_secret != NULL)
		OPENSSL_cleanse(ch->channel_secret, strlen(ch->channel_secret));
	free(ch->channel_secret);
	sig_key_free(ch->secret_key);
	if (ch->access_token != NULL)
		OPENSSL_cleanse(ch->access_token, strlen(ch->access_token));
	free(ch->access_token);
	free(ch->bot_user_id);
	free(ch->api_base);
	free(ch->api_data_base);
}

static void
free_works_bot(struct config_works_bot *b)
{
	free(b->id);
	free(b->bot_id);
	if (b->bot_secret != NULL)
		OPENSSL_cleanse(b->bot_secret, strlen(b->bot_secret));
	free(b->bot_secret);
	sig_key_free(b->secret_key);
	free(b->client_id);
	if (b->client_secret != NULL)
		OPENSSL_cleanse(b->client_secret, strlen(b->client_secret));
	free(b->client_secret);
	free(b->service_account);
	if (b->private_key_pem != NULL)
		OPENSSL_cleanse(b->private_key_pem, strlen(b->private_key_pem));
	free(b->private_key_pem);
	free(b->auth_url);
	free(b->api_base);
	json_decref(b->persistent_menu);
}

void
config_free(struct config *cf)
{
	if (cf == NULL)
		return;
	free(cf->path);
	free(cf->listen_host);
	free(cf->public_url);
	free(cf->sqlite_path);
	free(cf->timezone);
	free(cf->company_name);
	for (size_t i = 0; i < cf->n_line_channels; i++)
		free_line_channel(&cf->line_channels[i]);
	free(cf->line_channels);
	for (size_t i = 0; i < cf->n_works_bots; i++)
		free_works_bot(&cf->works_bots[i]);
	free(cf->works_bots);
	free_chat(cf);
	free_referral(cf);
	free(cf);
}

struct config *
config_load(const char *path, struct config_errors *errs)
{
	struct cfg c;
	struct cfg_file *main_file;
	struct cnode root, sec;
	size_t nerr_before = errs->n;

	memset(&c, 0, sizeof(c));
	c.errs = errs;
	c.out = xcalloc(1, sizeof(*c.out));
	c.out->path = xstrdup(path);
	c.out->max_headers = 16 * 1024;
	c.out->read_timeout_ms = 10000;
	c.out->idle_timeout_ms = 5000;
	c.out->max_connections = 2048;
	c.out->drain_timeout_ms = 10000;
	c.out->synchronous_full = 1;
	c.out->busy_timeout_ms = 2000;
	c.out->log_level = LOG_INFO;
	c.out->outbox_line_concurrency = 64;
	c.out->outbox_works_concurrency = 4;
	c.out->outbox_max_attempts = 12;
	c.out->outbox_request_timeout_ms = 10000;
	c.out->outbox_line_rate = 1000;
	c.out->outbox_works_rate = 2;
	c.out->timezone = xstrdup("Asia/Tokyo");

	if ((main_file = load_file(&c, path, NULL)) == NULL)
		goto done;
	root.file = main_file;
	root.node = yaml_document_get_root_node(&main_file->doc);
	if (check_mapping(&c, root, "config", toplevel_keys, NULL) == -1)
		goto done;
	load_includes(&c, root);

	/* Each section once, from whichever file has it (a second one is already an
	 * error from load_includes; parsing it too would leak the first). */
	if (root_get(&c, "server", &sec))
		parse_server(&c, sec);
	if (root_get(&c, "storage", &sec))
		parse_storage(&c, sec);
	if (root_get(&c, "log", &sec))
		parse_log(&c, sec);
	if (root_get(&c, "outbox", &sec))
		parse_outbox(&c, sec);
	if (root_get(&c, "line", &sec))
		parse_line(&c, sec);
	if (root_get(&c, "lineworks", &sec))
		parse_lineworks(&c, sec);
	for (size_t i = 0; i < c.nfiles; i++) {
		struct cnode r;

		if (!c.files[i].loaded)
			continue;
		r.file = &c.files[i];
		r.node = yaml_document_get_root_node(&c.files[i].doc);
		if (r.node->type == YAML_MAPPING_NODE)
			parse_toplevel_strings(&c, r);
	}
	parse_chat_sections(&c);
	parse_referral_sections(&c);
	if (!root_get(&c, "server", &sec))
		cfg_err(&c, root, "missing required key 'server'");
	if (!root_get(&c, "storage", &sec))
		cfg_err(&c, root, "missing required key 'storage'");
	if (!root_get(&c, "line", &sec))
		cfg_err(&c, root, "missing required key 'line'");
done:
	for (size_t i = 0; i < c.nfiles; i++) {
		if (c.files[i].loaded)
			yaml_document_delete(&c.files[i].doc);
		free(c.files[i].path);
	}
	if (errs->n > nerr_before) {
		config_free(c.out);
		return NULL;
	}
	return c.out;
}


const struct config_line_channel *
config_line_channel(const struct config *cf, const char *id)
{
	for (size_t i = 0; i < cf->n_line_channels; i++)
		if (cf->line_channels[i].id != NULL && strcmp(cf->line_channels[i].id, id) == 0)
			return &cf->line_channels[i];
	return NULL;
}

const struct config_works_bot *
config_works_bot(const struct config *cf, const char *id)
{
	for (size_t i = 0; i < cf->n_works_bots; i++)
		if (cf->works_bots[i].id != NULL && strcmp(cf->works_bots[i].id, id) == 0)
			return &cf->works_bots[i];
	return NULL;
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
