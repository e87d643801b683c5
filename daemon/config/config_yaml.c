/* config_yaml.c: the YAML node helpers every config reader uses: error positions,
 * node kinds and scalars, mapping and list access, key checks, the typed getters with
 * their formats (durations, sizes, URLs, ids, paths), and YAML to JSON for the parts
 * handed on to LINE as they are. Nothing here knows a section. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "config_yaml.h"

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
cfg_node_kind(const yaml_node_t *n)
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
cfg_cnode_at(struct cnode parent, int index)
{
	struct cnode n = { parent.file, yaml_document_get_node(&parent.file->doc, index) };

	return n;
}

const char *
cfg_scalar(const struct cnode n)
{
	return (const char *)n.node->data.scalar.value;
}

int
cfg_is_null_scalar(const struct cnode n)
{
	const char *s;

	if (n.node->type != YAML_SCALAR_NODE)
		return 0;
	if (n.node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	s = cfg_scalar(n);
	return *s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0;
}

/* Looks key up in mapping m; returns 1 and the value when present. */
int
cfg_map_get(struct cnode m, const char *key, struct cnode *val)
{
	yaml_node_pair_t *p;

	if (m.node->type != YAML_MAPPING_NODE)
		return 0;
	for (p = m.node->data.mapping.pairs.start; p < m.node->data.mapping.pairs.top; p++) {
		struct cnode k = cfg_cnode_at(m, p->key);

		if (k.node->type == YAML_SCALAR_NODE && strcmp(cfg_scalar(k), key) == 0) {
			*val = cfg_cnode_at(m, p->value);
			return 1;
		}
	}
	return 0;
}

int
cfg_name_in(const char *name, const char *const *list)
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
cfg_check_mapping(struct cfg *c, struct cnode m, const char *what,
    const char *const *allowed, const char *const *required)
{
	yaml_node_pair_t *p, *q;
	int ok = 1;

	if (m.node->type != YAML_MAPPING_NODE) {
		cfg_err(c, m, "%s: expected a mapping, got %s", what, cfg_node_kind(m.node));
		return -1;
	}
	for (p = m.node->data.mapping.pairs.start; p < m.node->data.mapping.pairs.top; p++) {
		struct cnode k = cfg_cnode_at(m, p->key);

		if (k.node->type != YAML_SCALAR_NODE) {
			cfg_err(c, k, "%s: keys must be plain words", what);
			ok = 0;
			continue;
		}
		for (q = m.node->data.mapping.pairs.start; q < p; q++) {
			struct cnode k2 = cfg_cnode_at(m, q->key);

			if (k2.node->type == YAML_SCALAR_NODE &&
			    strcmp(cfg_scalar(k2), cfg_scalar(k)) == 0) {
				cfg_err(c, k, "%s: key '%s' appears twice", what, cfg_scalar(k));
				ok = 0;
			}
		}
		if (!cfg_name_in(cfg_scalar(k), allowed)) {
			size_t klen = strlen(cfg_scalar(k));

			if (klen > 0 && !cfg_name_in(cfg_scalar(k), required)) {
				char *file_key = xasprintf("%s_file", cfg_scalar(k));

				if (cfg_name_in(file_key, allowed))
					cfg_err(c, k, "%s.%s: secrets never sit in the config file; "
					    "name a file with '%s_file' or a variable with '%s_env'",
					    what, cfg_scalar(k), cfg_scalar(k), cfg_scalar(k));
				else
					cfg_err(c, k, "%s: unknown key '%s'", what, cfg_scalar(k));
				free(file_key);
			}
			ok = 0;
		}
	}
	for (; required != NULL && *required != NULL; required++) {
		struct cnode v;

		if (!cfg_map_get(m, *required, &v)) {
			cfg_err(c, m, "%s: missing required key '%s'", what, *required);
			ok = 0;
		}
	}
	return ok;
}

int
cfg_check_list(struct cfg *c, struct cnode parent, const char *what, const char *key,
    struct cnode *list)
{
	if (!cfg_map_get(parent, key, list)) {
		cfg_err(c, parent, "%s: missing required key '%s'", what, key);
		return 0;
	}
	if (list->node->type != YAML_SEQUENCE_NODE) {
		cfg_err(c, *list, "%s.%s: expected a list, got %s", what, key,
		    cfg_node_kind(list->node));
		return 0;
	}
	if (list->node->data.sequence.items.top == list->node->data.sequence.items.start) {
		cfg_err(c, *list, "%s.%s: the list is empty", what, key);
		return 0;
	}
	return 1;
}

size_t
cfg_list_len(struct cnode list)
{
	return (size_t)(list.node->data.sequence.items.top - list.node->data.sequence.items.start);
}

struct cnode
cfg_list_item(struct cnode list, size_t i)
{
	return cfg_cnode_at(list, list.node->data.sequence.items.start[i]);
}

/* Typed getters: each returns 1 when the key was present and valid, 0 when absent
 * (out untouched: the caller's default stands) and -1 after reporting an error. */

int
cfg_get_str(struct cfg *c, struct cnode m, const char *what, const char *key, char **out)
{
	struct cnode v;

	if (!cfg_map_get(m, key, &v))
		return 0;
	if (v.node->type != YAML_SCALAR_NODE || cfg_is_null_scalar(v)) {
		cfg_err(c, v, "%s.%s: expected a string, got %s", what, key,
		    v.node->type == YAML_SCALAR_NODE ? "nothing" : cfg_node_kind(v.node));
		return -1;
	}
	free(*out);
	*out = xstrdup(cfg_scalar(v));
	return 1;
}

int
cfg_get_bool(struct cfg *c, struct cnode m, const char *what, const char *key, int *out)
{
	struct cnode v;
	const char *s;

	if (!cfg_map_get(m, key, &v))
		return 0;
	if (v.node->type == YAML_SCALAR_NODE) {
		s = cfg_scalar(v);
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
cfg_get_int(struct cfg *c, struct cnode m, const char *what, const char *key, long min,
    long max, int *out)
{
	struct cnode v;
	char *end;
	long n;

	if (!cfg_map_get(m, key, &v))
		return 0;
	if (v.node->type == YAML_SCALAR_NODE) {
		errno = 0;
		n = strtol(cfg_scalar(v), &end, 10);
		if (*cfg_scalar(v) != '\0' && *end == '\0' && errno == 0) {
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
cfg_get_duration(struct cfg *c, struct cnode m, const char *what, const char *key,
    int64_t min_ms, int64_t max_ms, int64_t *out_ms)
{
	struct cnode v;
	int64_t ms;

	if (!cfg_map_get(m, key, &v))
		return 0;
	if (v.node->type != YAML_SCALAR_NODE ||
	    (ms = config_parse_duration_ms(cfg_scalar(v))) < 0) {
		cfg_err(c, v, "%s.%s: expected a duration such as 500ms, 10s, 5m, 1h or 14d",
		    what, key);
		return -1;
	}
	if (ms < min_ms || ms > max_ms) {
		cfg_err(c, v, "%s.%s: %s is out of range (%lldms to %lldms)", what, key,
		    cfg_scalar(v), (long long)min_ms, (long long)max_ms);
		return -1;
	}
	*out_ms = ms;
	return 1;
}

int
cfg_get_size(struct cfg *c, struct cnode m, const char *what, const char *key,
    int64_t min, int64_t max, size_t *out)
{
	struct cnode v;
	int64_t n;

	if (!cfg_map_get(m, key, &v))
		return 0;
	if (v.node->type != YAML_SCALAR_NODE || (n = config_parse_size(cfg_scalar(v))) < 0) {
		cfg_err(c, v, "%s.%s: expected a size such as 4096, 16KiB or 1MiB", what, key);
		return -1;
	}
	if (n < min || n > max) {
		cfg_err(c, v, "%s.%s: %s is out of range (%lld to %lld bytes)", what, key,
		    cfg_scalar(v), (long long)min, (long long)max);
		return -1;
	}
	*out = (size_t)n;
	return 1;
}

/* Gets a required URL and drops a trailing '/', so "{base}/path" joins cleanly. */
void
cfg_get_url(struct cfg *c, struct cnode m, const char *what, const char *key, char **out)
{
	struct cnode v;
	size_t len;

	if (cfg_get_str(c, m, what, key, out) != 1)
		return;
	cfg_map_get(m, key, &v);
	if (!cfg_valid_http_url(*out)) {
		cfg_err(c, v, "%s.%s: '%s' is not an http:// or https:// URL", what, key, *out);
		return;
	}
	len = strlen(*out);
	while (len > 0 && (*out)[len - 1] == '/')
		(*out)[--len] = '\0';
}

int
cfg_valid_id(const char *s)
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
cfg_valid_http_url(const char *s)
{
	return (strncmp(s, "http://", 7) == 0 && s[7] != '\0') ||
	    (strncmp(s, "https://", 8) == 0 && s[8] != '\0');
}

int
cfg_open_regular(const char *path, struct stat *st, char *why, size_t whylen)
{
	/* O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting;
	 * on a regular file it changes nothing. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd == -1) {
		snprintf(why, whylen, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, st) == -1) {
		snprintf(why, whylen, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		snprintf(why, whylen, "not a regular file");
		close(fd);
		return -1;
	}
	return fd;
}

FILE *
cfg_fopen_regular(const char *path, const char *mode, struct stat *st, char *why,
    size_t whylen)
{
	int fd = cfg_open_regular(path, st, why, whylen);
	FILE *fp;

	if (fd == -1)
		return NULL;
	if ((fp = fdopen(fd, mode)) == NULL) {
		snprintf(why, whylen, "%s", strerror(errno));
		close(fd);
	}
	return fp;
}

/* Relative paths in a file are relative to that file's folder. */
char *
cfg_resolve_path(const char *base_file, const char *path)
{
	const char *slash;

	if (path[0] == '/')
		return xstrdup(path);
	slash = strrchr(base_file, '/');
	if (slash == NULL)
		return xstrdup(path);
	return xasprintf("%.*s/%s", (int)(slash - base_file), base_file, path);
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

/* YAML to JSON, for the parts handed on to LINE as they are: plain true/false become
 * booleans and plain whole numbers integers; everything quoted stays a string. */
json_t *
cfg_yaml_to_json(struct cnode n)
{
	json_t *out;

	switch (n.node->type) {
	case YAML_SCALAR_NODE: {
		const char *s = cfg_scalar(n);
		char *end;
		long long v;

		if (n.node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
			return json_string(s);
		if (strcmp(s, "true") == 0)
			return json_true();
		if (strcmp(s, "false") == 0)
			return json_false();
		if (cfg_is_null_scalar(n))
			return json_null();
		errno = 0;
		v = strtoll(s, &end, 10);
		if (*s != '\0' && *end == '\0' && errno == 0)
			return json_integer(v);
		return json_string(s);
	}
	case YAML_SEQUENCE_NODE:
		out = json_array();
		for (size_t i = 0; i < cfg_list_len(n); i++)
			json_array_append_new(out, cfg_yaml_to_json(cfg_list_item(n, i)));
		return out;
	case YAML_MAPPING_NODE:
		out = json_object();
		for (yaml_node_pair_t *p = n.node->data.mapping.pairs.start;
		    p < n.node->data.mapping.pairs.top; p++) {
			struct cnode k = cfg_cnode_at(n, p->key);

			if (k.node->type == YAML_SCALAR_NODE)
				json_object_set_new(out, cfg_scalar(k),
				    cfg_yaml_to_json(cfg_cnode_at(n, p->value)));
		}
		return out;
	default:
		return json_null();
	}
}
