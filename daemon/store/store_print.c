/* store_print.c: what shokaictl prints from the database: a quarantined body, and any
 * query as an aligned table, CSV or JSON. One-off statements, prepared and finalized
 * here, never in the daemon's statement cache. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "store_internal.h"

/* A text column escaped for the terminal (cell.c), as a new string; "" for NULL. Every
 * stored string a listing prints comes through here: a display name, a code or a
 * platform's error message with an ESC in it must not drive the operator's terminal. */
static char *
col_term(sqlite3_stmt *st, int i)
{
	const char *v = (const char *)sqlite3_column_text(st, i);

	return cell_term_dup(v ? v : "", v ? (size_t)sqlite3_column_bytes(st, i) : 0, 0);
}

int
store_print_quarantine(struct store *s, FILE *out, int64_t id)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(s->db, "SELECT id, platform, channel, received_at, reason, "
	    "body FROM quarantine WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
		goto done;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		time_t t = (time_t)(sqlite3_column_int64(st, 3) / 1000);
		struct tm tm;
		char when[32], *platform = col_term(st, 1), *channel = col_term(st, 2),
		    *reason = col_term(st, 4);

		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		fprintf(out, "id: %lld\nreceived: %s\nplatform: %s\nchannel: %s\n"
		    "reason: %s\nbody:\n", (long long)sqlite3_column_int64(st, 0), when,
		    platform, channel, reason);
		/* The body as received, but a terminal's controls made visible: the line
		 * breaks and tabs of a JSON body stay. */
		cell_term(out, sqlite3_column_blob(st, 5), (size_t)sqlite3_column_bytes(st, 5),
		    CELL_TERM_KEEP_NL);
		fputc('\n', out);
		free(platform);
		free(channel);
		free(reason);
		rc = 0;
	} else {
		if (rc == SQLITE_DONE)
			fprintf(stderr, "shokaictl: no quarantined body with id %lld\n",
			    (long long)id);
		rc = -1;
	}
done:
	sqlite3_finalize(st);
	return rc;
}

struct text_fn {
	store_text_fn	 fn;
	void		*arg;
};

#define TEXT_FN_ARGS	4

static void
call_text_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const struct text_fn *f = sqlite3_user_data(ctx);
	const char *args[TEXT_FN_ARGS];
	char *out;

	for (int i = 0; i < argc; i++)
		args[i] = (const char *)sqlite3_value_text(argv[i]);
	if ((out = f->fn(f->arg, args, argc)) == NULL)
		sqlite3_result_null(ctx);
	else
		sqlite3_result_text(ctx, out, -1, free);
}

int
store_text_function(struct store *s, const char *name, int argc, store_text_fn fn, void *arg)
{
	struct text_fn *f;

	if (argc < 0 || argc > TEXT_FN_ARGS)
		return -1;
	f = xmalloc(sizeof(*f));
	f->fn = fn;
	f->arg = arg;
	/* SQLite frees f with the connection, or at once when it refuses it. */
	return sqlite3_create_function_v2(s->db, name, argc, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
	    f, call_text_fn, NULL, NULL, free) == SQLITE_OK ? 0 : -1;
}

/* The table: every cell padded to its column's widest, by columns on the screen, not
 * bytes, so a name in kanji lines up with one in letters. cells is nrows x ncol, each
 * freed here. */
static void
print_table(FILE *out, sqlite3_stmt *st, int ncol, char **cells, size_t nrows)
{
	size_t width[32] = { 0 }, n = nrows * (size_t)ncol;
	size_t *cw = xcalloc(n ? n : 1, sizeof(*cw));

	/* One pass for every cell: measuring sets up a locale, dear per call. */
	cell_widths((const char *const *)cells, n, cw);
	for (int c = 0; c < ncol; c++)
		width[c] = strlen(sqlite3_column_name(st, c));
	for (size_t i = 0; i < n; i++)
		if (cw[i] > width[i % (size_t)ncol])
			width[i % (size_t)ncol] = cw[i];
	for (int c = 0; c < ncol; c++)
		fprintf(out, "%-*s%s", c + 1 < ncol ? (int)width[c] : 0,
		    sqlite3_column_name(st, c), c + 1 < ncol ? "  " : "\n");
	for (size_t i = 0; i < n; i++) {
		size_t c = i % (size_t)ncol;

		fputs(cells[i], out);
		if (c + 1 < (size_t)ncol)
			fprintf(out, "%*s", (int)(width[c] - cw[i] + 2), "");
		else
			fputc('\n', out);
		free(cells[i]);
	}
	free(cw);
}

/* Prints what sql returns (text arguments bound in order) as an aligned table, CSV
 * with a header line, or a JSON array of objects: what operators read and what their
 * spreadsheets and scripts read. */
int
store_print_query(struct store *s, FILE *out, enum print_format format, const char *sql,
    const char *const *args, size_t nargs)
{
	sqlite3_stmt *st = NULL;
	json_t *rows = NULL;
	int rc = -1, ncol;
	char **cells = NULL;	/* the table's, row after row */
	size_t nrows = 0, cap = 0;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_warnx("msg=\"report query failed\" detail=\"%s\"", sqlite3_errmsg(s->db));
		return -1;
	}
	for (size_t i = 0; i < nargs; i++)
		store_bind_text(st, (int)i + 1, args[i]);
	ncol = sqlite3_column_count(st);
	if (ncol > 32)
		ncol = 32;
	if (format == PRINT_JSON)
		rows = json_array();
	if (format == PRINT_CSV)
		for (int c = 0; c < ncol; c++) {
			if (c)
				fputc(',', out);
			cell_csv(out, sqlite3_column_name(st, c));
		}
	if (format == PRINT_CSV)
		fputc('\n', out);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *obj = format == PRINT_JSON ? json_object() : NULL;

		if (format == PRINT_TABLE && nrows == cap) {
			cap = cap ? cap * 2 : 64;
			cells = xrealloc(cells, cap * (size_t)(ncol ? ncol : 1) * sizeof(*cells));
		}
		for (int c = 0; c < ncol; c++) {
			/* The type before the text: reading a number as text may convert it
			 * (and JSON reads the column afresh). */
			int type = sqlite3_column_type(st, c);
			const char *v = format == PRINT_JSON ? NULL :
			    (const char *)sqlite3_column_text(st, c);

			if (format == PRINT_JSON) {
				json_object_set_new(obj, sqlite3_column_name(st, c),
				    store_column_json(st, c));
			} else if (format == PRINT_CSV) {
				if (c)
					fputc(',', out);
				/* Numbers are the database's own ("-3" is no formula); text is
				 * neutralised. */
				if (type == SQLITE_INTEGER || type == SQLITE_FLOAT)
					fputs(v, out);
				else
					cell_csv(out, v ? v : "");
			} else
				cells[nrows * (size_t)ncol + (size_t)c] = v ? col_term(st, c) :
				    xstrdup("-");
		}
		if (format == PRINT_JSON)
			json_array_append_new(rows, obj);
		else if (format == PRINT_CSV)
			fputc('\n', out);
		nrows++;
	}
	rc = rc == SQLITE_DONE ? 0 : -1;
	if (format == PRINT_JSON) {
		char *text = json_dumps(rows, JSON_INDENT(2));

		fprintf(out, "%s\n", text);
		free(text);
		json_decref(rows);
	} else if (format == PRINT_TABLE)
		print_table(out, st, ncol, cells, nrows);
	free(cells);
	sqlite3_finalize(st);
	return rc;
}
