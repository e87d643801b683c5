/* config_reps.c: who sells: branches (with their managers) and reps, given as a YAML
 * list or as a CSV file the YAML names. A rep's unknown branch, a manager who is no
 * rep, a code used twice: each is a load error at its file and line. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "config_yaml.h"

#define CSV_FIELDS_MAX	16
#define CSV_LINE_MAX	4096

/* Rep codes are typed by customers into a prefilled message: letters, digits, '-'. */
static int
valid_code(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++, n++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
			return 0;
	return n > 0 && n <= 32;
}

/* A list of rep codes (managers, on_duty), checked against reps once they are read. */
static void
rep_codes(struct cfg *c, struct cnode m, const char *what, const char *key, char ***out,
    size_t *n)
{
	struct cnode v;

	if (!cfg_map_get(m, key, &v))
		return;
	if (v.node->type != YAML_SEQUENCE_NODE) {
		cfg_err(c, v, "%s.%s: expected a list of rep codes", what, key);
		return;
	}
	*out = xcalloc(cfg_list_len(v) + 1, sizeof(**out));
	for (size_t i = 0; i < cfg_list_len(v); i++) {
		struct cnode item = cfg_list_item(v, i);

		if (item.node->type != YAML_SCALAR_NODE)
			cfg_err(c, item, "%s.%s[%zu]: expected a rep code", what, key, i);
		else
			(*out)[(*n)++] = xstrdup(cfg_scalar(item));
	}
}

static void
parse_branch(struct cfg *c, struct cnode m, const char *what, struct config_branch *b)
{
	static const char *const allowed[] = { "code", "name", "contact_url", "managers",
	    "monthly_target", "on_duty", NULL };
	static const char *const required[] = { "code", "name", NULL };
	struct cnode v;

	if (cfg_check_mapping(c, m, what, allowed, required) == -1)
		return;
	if (cfg_get_str(c, m, what, "code", &b->code) == 1 && !cfg_valid_id(b->code)) {
		cfg_map_get(m, "code", &v);
		cfg_err(c, v, "%s.code: '%s' may use only a-z, 0-9, '-' and '_'", what, b->code);
	}
	cfg_get_str(c, m, what, "name", &b->name);
	cfg_get_int(c, m, what, "monthly_target", 0, 1000000, &b->monthly_target);
	if (cfg_map_get(m, "contact_url", &v))
		cfg_get_url(c, m, what, "contact_url", &b->contact_url);
	rep_codes(c, m, what, "managers", &b->managers, &b->n_managers);
	rep_codes(c, m, what, "on_duty", &b->on_duty, &b->n_on_duty);
}

/* Every field of a rep, from YAML or CSV alike, is operator text that reaches customers'
 * messages, CSV exports and terminals: well-formed UTF-8, no control characters, at most
 * REP_FIELD_MAX bytes, and nothing a spreadsheet would run. 0, or -1 with the error
 * added (the value is not echoed: it may hold the very bytes refused). */
#define REP_FIELD_MAX	1024

static int
rep_field_ok(struct cfg *c, const char *file, size_t line, size_t col, const char *code,
    const char *field, const char *v)
{
	char why[WHY_MAX], what[96];

	if (v == NULL)
		return 0;
	if (field == NULL)
		snprintf(what, sizeof(what), "rep code");
	else
		snprintf(what, sizeof(what), "rep %s: %s", code, field);
	if (cell_check(v, strlen(v), why, sizeof(why)) == -1)
		config_errors_add(c->errs, file, line, col, "%s: %s", what, why);
	else if (strlen(v) > REP_FIELD_MAX)
		config_errors_add(c->errs, file, line, col, "%s: longer than %d bytes", what,
		    REP_FIELD_MAX);
	else if (cell_formula_like(v))
		config_errors_add(c->errs, file, line, col, "%s '%s' starts with '%c', which a "
		    "spreadsheet reads as a formula", what, v, v[0]);
	else
		return 0;
	return -1;
}

/* Fields of one rep, from YAML or CSV alike; errors go to (file, line). */
static void
rep_fill(struct cfg *c, const char *file, size_t line, size_t col, struct config_rep *r,
    const char *code, const char *name, const char *branch, const char *works_user,
    const char *contact)
{
	int bad = 0;

	/* The code first and alone: the other errors name the rep by it. */
	if (code != NULL && rep_field_ok(c, file, line, col, NULL, NULL, code) == -1)
		code = NULL;
	else if (code == NULL || !valid_code(code))
		config_errors_add(c->errs, file, line, col, "rep code '%s': expected 1-32 "
		    "letters, digits, '-' or '_'", code ? code : "");
	bad |= rep_field_ok(c, file, line, col, code ? code : "?", "name", name);
	bad |= rep_field_ok(c, file, line, col, code ? code : "?", "branch", branch);
	bad |= rep_field_ok(c, file, line, col, code ? code : "?", "lineworks_user_id",
	    works_user);
	bad |= rep_field_ok(c, file, line, col, code ? code : "?", "contact_url", contact);
	if (bad)
		name = branch = works_user = contact = NULL;
	else if (name == NULL || *name == '\0')
		config_errors_add(c->errs, file, line, col, "rep %s: missing name",
		    code ? code : "?");
	r->code = xstrdup(code ? code : "");
	r->name = xstrdup(name ? name : "");
	if (branch != NULL && *branch != '\0' &&
	    (r->branch = config_branch(c->out, branch)) == NULL)
		config_errors_add(c->errs, file, line, col, "rep %s: no branch '%s' under "
		    "branches", r->code, branch);
	if (works_user != NULL && *works_user != '\0')
		r->works_user_id = xstrdup(works_user);
	if (contact != NULL && strcmp(contact, "auto") == 0) {
		r->contact_auto = 1;
		if (r->works_user_id == NULL)
			config_errors_add(c->errs, file, line, col, "rep %s: contact_url auto "
			    "needs lineworks_user_id", r->code);
	} else if (contact != NULL && *contact != '\0') {
		if (!cfg_valid_http_url(contact))
			config_errors_add(c->errs, file, line, col, "rep %s: contact_url '%s' is "
			    "not an http:// or https:// URL", r->code, contact);
		r->contact_url = xstrdup(contact);
	}
}

/* 1 when r was filled (with errors reported if any), 0 when m was no mapping. */
static int
parse_rep(struct cfg *c, struct cnode m, const char *what, struct config_rep *r)
{
	static const char *const allowed[] = { "code", "name", "branch", "lineworks_user_id",
	    "contact_url", NULL };
	static const char *const required[] = { "code", "name", NULL };
	char *code = NULL, *name = NULL, *branch = NULL, *works = NULL, *contact = NULL;

	if (cfg_check_mapping(c, m, what, allowed, required) == -1)
		return 0;
	cfg_get_str(c, m, what, "code", &code);
	cfg_get_str(c, m, what, "name", &name);
	cfg_get_str(c, m, what, "branch", &branch);
	cfg_get_str(c, m, what, "lineworks_user_id", &works);
	cfg_get_str(c, m, what, "contact_url", &contact);
	rep_fill(c, m.file->path, m.node->start_mark.line + 1, m.node->start_mark.column + 1,
	    r, code, name, branch, works, contact);
	free(code);
	free(name);
	free(branch);
	free(works);
	free(contact);
	return 1;
}

/* reps_csv: a header line naming the columns (code, name, branch, lineworks_user_id,
 * contact_url; any order), then one rep a line. */
static void
parse_reps_csv(struct cfg *c, struct cnode v)
{
	static const char *const columns[] = { "code", "name", "branch", "lineworks_user_id",
	    "contact_url", NULL };
	char *path = cfg_resolve_path(v.file->path, cfg_scalar(v)), line[CSV_LINE_MAX];
	char *fields[CSV_FIELDS_MAX];
	int col_of[5] = { -1, -1, -1, -1, -1 }, nhead = 0;
	size_t lineno = 0, cap = 0, len;
	FILE *fp;
	struct config *cf = c->out;
	struct stat st;
	char why[64];
	int r;

	if ((fp = cfg_fopen_regular(path, "r", &st, why, sizeof(why))) == NULL) {
		cfg_err(c, v, "reps_csv: cannot open %s: %s", path, why);
		free(path);
		return;
	}
	while ((r = cell_getline(fp, line, sizeof(line), &len)) == 1) {
		char bad[WHY_MAX];
		int n;

		lineno++;
		if (len >= sizeof(line)) {
			config_errors_add(c->errs, path, lineno, 1, "a line of %zu bytes; at most "
			    "%zu", len, sizeof(line) - 1);
			continue;
		}
		if (lineno == 1 && strncmp(line, "\xEF\xBB\xBF", 3) == 0) {	/* Excel's BOM */
			len -= 3;
			memmove(line, line + 3, len + 1);
		}
		/* Before the split: a NUL would end a field early and hide the rest. */
		if (cell_check(line, len, bad, sizeof(bad)) == -1) {
			config_errors_add(c->errs, path, lineno, 1, "%s", bad);
			continue;
		}
		if (line[0] == '\0')
			continue;
		if ((n = cell_split(line, fields, CSV_FIELDS_MAX)) < 0) {
			config_errors_add(c->errs, path, lineno, 1, "cannot read this line as CSV "
			    "(a quote left open, or more than %d columns)", CSV_FIELDS_MAX);
			continue;
		}
		if (nhead == 0) {
			for (int i = 0; i < n; i++) {
				int k = -1;

				for (int j = 0; columns[j] != NULL; j++)
					if (strcmp(fields[i], columns[j]) == 0)
						k = j;
				if (k < 0)
					config_errors_add(c->errs, path, lineno, 1, "unknown column "
					    "'%s' (known: code, name, branch, lineworks_user_id, "
					    "contact_url)", fields[i]);
				else
					col_of[k] = i;
			}
			nhead = n;
			if (col_of[0] < 0 || col_of[1] < 0)
				config_errors_add(c->errs, path, lineno, 1, "the header needs the "
				    "columns code and name");
			continue;
		}
		if (n != nhead) {
			config_errors_add(c->errs, path, lineno, 1, "%d columns; the header has %d",
			    n, nhead);
			continue;
		}
		if (cf->n_reps == cap) {
			cap = cap ? cap * 2 : 16;
			cf->reps = xrealloc(cf->reps, cap * sizeof(*cf->reps));
		}
		memset(&cf->reps[cf->n_reps], 0, sizeof(cf->reps[0]));
#define FIELD(k)	(col_of[k] >= 0 ? fields[col_of[k]] : NULL)
		rep_fill(c, path, lineno, 1, &cf->reps[cf->n_reps++], FIELD(0), FIELD(1),
		    FIELD(2), FIELD(3), FIELD(4));
#undef FIELD
	}
	if (r == -1)
		cfg_err(c, v, "reps_csv: cannot read %s", path);
	fclose(fp);
	free(path);
}

static void
check_reps(struct cfg *c, struct cnode at)
{
	struct config *cf = c->out;

	/* A code refused at its line is empty here and was reported there. */
	for (size_t i = 0; i < cf->n_reps; i++)
		for (size_t j = 0; j < i; j++)
			if (cf->reps[i].code[0] != '\0' &&
			    strcasecmp(cf->reps[i].code, cf->reps[j].code) == 0)
				cfg_err(c, at, "reps: code '%s' is used twice", cf->reps[i].code);
	for (size_t i = 0; i < cf->n_branches; i++) {
		for (size_t k = 0; k < cf->branches[i].n_managers; k++)
			if (config_rep(cf, cf->branches[i].managers[k]) == NULL)
				cfg_err(c, at, "branches[%zu].managers: no rep '%s' under reps", i,
				    cf->branches[i].managers[k]);
		for (size_t k = 0; k < cf->branches[i].n_on_duty; k++)
			if (config_rep(cf, cf->branches[i].on_duty[k]) == NULL)
				cfg_err(c, at, "branches[%zu].on_duty: no rep '%s' under reps", i,
				    cf->branches[i].on_duty[k]);
	}
}

/* Branches before reps (reps name them), reps before branch managers are checked. */
void
cfg_parse_reps(struct cfg *c)
{
	struct config *cf = c->out;
	struct cnode sec, csv;
	int has_list, has_csv;

	if (cfg_root_get(c, "branches", &sec)) {
		if (sec.node->type != YAML_SEQUENCE_NODE)
			cfg_err(c, sec, "branches: expected a list, got %s",
			    cfg_node_kind(sec.node));
		else {
			cf->branches = xcalloc(cfg_list_len(sec) + 1, sizeof(*cf->branches));
			for (size_t i = 0; i < cfg_list_len(sec); i++) {
				char *what = xasprintf("branches[%zu]", i);
				struct config_branch *b = &cf->branches[cf->n_branches];

				parse_branch(c, cfg_list_item(sec, i), what, b);
				cf->n_branches++;
				if (b->code != NULL && config_branch(cf, b->code) != b)
					cfg_err(c, cfg_list_item(sec, i), "%s: code '%s' is used twice",
					    what, b->code);
				free(what);
			}
		}
	}
	has_list = cfg_root_get(c, "reps", &sec);
	has_csv = cfg_root_get(c, "reps_csv", &csv);
	if (has_list && has_csv)
		cfg_err(c, csv, "reps_csv: give reps or reps_csv, not both");
	else if (has_list && sec.node->type != YAML_SEQUENCE_NODE)
		cfg_err(c, sec, "reps: expected a list, got %s", cfg_node_kind(sec.node));
	else if (has_list) {
		cf->reps = xcalloc(cfg_list_len(sec) + 1, sizeof(*cf->reps));
		for (size_t i = 0; i < cfg_list_len(sec); i++) {
			char *what = xasprintf("reps[%zu]", i);

			cf->n_reps += (size_t)parse_rep(c, cfg_list_item(sec, i), what,
			    &cf->reps[cf->n_reps]);
			free(what);
		}
		check_reps(c, sec);
	} else if (has_csv && csv.node->type != YAML_SCALAR_NODE)
		cfg_err(c, csv, "reps_csv: expected a file name");
	else if (has_csv) {
		parse_reps_csv(c, csv);
		check_reps(c, csv);
	}
}

void
cfg_free_reps(struct config *cf)
{
	for (size_t i = 0; i < cf->n_branches; i++) {
		struct config_branch *b = &cf->branches[i];

		free(b->code);
		free(b->name);
		free(b->contact_url);
		for (size_t k = 0; k < b->n_managers; k++)
			free(b->managers[k]);
		free(b->managers);
		for (size_t k = 0; k < b->n_on_duty; k++)
			free(b->on_duty[k]);
		free(b->on_duty);
	}
	free(cf->branches);
	for (size_t i = 0; i < cf->n_reps; i++) {
		free(cf->reps[i].code);
		free(cf->reps[i].name);
		free(cf->reps[i].works_user_id);
		free(cf->reps[i].contact_url);
	}
	free(cf->reps);
}

const struct config_branch *
config_branch(const struct config *cf, const char *code)
{
	for (size_t i = 0; i < cf->n_branches; i++)
		if (cf->branches[i].code != NULL && strcmp(cf->branches[i].code, code) == 0)
			return &cf->branches[i];
	return NULL;
}

const struct config_rep *
config_rep(const struct config *cf, const char *code)
{
	for (size_t i = 0; i < cf->n_reps; i++)
		if (strcasecmp(cf->reps[i].code, code) == 0)
			return &cf->reps[i];
	return NULL;
}
