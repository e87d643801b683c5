/* console_answer.c: the one writer of the API's answers: JSON, errors, and lists as JSON
 * or as CSV that Excel opens (UTF-8 with a BOM; a cell that starts like a formula is
 * neutralised by cell_csv). Every answer carries the security headers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "console_internal.h"

static void
answer_send(struct console_req *r, int code, const char *type, struct evbuffer *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);

	console_security_headers(r->req, 1);
	evhttp_add_header(h, "Content-Type", type);
	evhttp_send_reply(r->req, code, NULL, body);
	r->answered = 1;
	if (code >= 500)
		log_warnx("msg=\"console request failed\" status=%d path=\"%s\"", code,
		    evhttp_request_get_uri(r->req));
}

void
console_answer_json(struct console_req *r, int code, json_t *body)
{
	struct evbuffer *out = evbuffer_new();
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

	if (text == NULL) {
		json_decref(body);
		evbuffer_free(out);
		console_answer_error(r, 500, "internal", "the answer could not be written");
		return;
	}
	evbuffer_add(out, text, strlen(text));
	answer_send(r, code, "application/json", out);
	evbuffer_free(out);
	free(text);
	json_decref(body);
}

void
console_answer_error(struct console_req *r, int code, const char *error, const char *detail)
{
	json_t *j = json_pack("{s:s}", "error", error);

	if (r->answered)
		return;
	if (detail != NULL)
		json_object_set_new(j, "detail", json_string(detail));
	console_answer_json(r, code, j);
}

/* A value at a path of '/'-separated keys; a Person or a {code, name} object at the
 * end stands for its name. */
static json_t *
lookup(json_t *item, const char *path)
{
	char key[64];
	const char *p = path;

	while (item != NULL && *p != '\0') {
		size_t n = strcspn(p, "/");

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		item = json_object_get(item, key);
		p += n;
		if (*p == '/')
			p++;
	}
	if (json_is_object(item) && json_object_get(item, "name") != NULL)
		item = json_object_get(item, "name");
	return item;
}

static int
is_time_column(const char *path)
{
	size_t n = strlen(path);

	return (n >= 3 && strcmp(path + n - 3, "_at") == 0) || strcmp(path, "at") == 0 ||
	    strcmp(path, "deadline") == 0 || strcmp(path, "since") == 0;
}

/* cell_csv writes to a FILE; a memory stream collects the file. */
static void
csv_cell(FILE *fp, const char *path, json_t *v)
{
	if (json_is_integer(v) && is_time_column(path)) {
		time_t t = (time_t)(json_integer_value(v) / 1000);
		struct tm tm;
		char when[32];

		localtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y/%m/%d %H:%M", &tm);
		fputs(when, fp);
	} else if (json_is_integer(v))
		fprintf(fp, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		fprintf(fp, "%g", json_real_value(v));
	else if (json_is_true(v) || json_is_false(v))
		fputs(json_is_true(v) ? "1" : "0", fp);
	else if (json_is_string(v))
		cell_csv(fp, json_string_value(v));
	else if (json_is_array(v))
		fprintf(fp, "%zu", json_array_size(v));
}

static void
answer_csv(struct console_req *r, json_t *items, const struct console_csv_col *cols,
    size_t ncols, const char *filename)
{
	char *text = NULL, disposition[160];
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	struct evbuffer *out;
	size_t i;
	json_t *item;

	if (fp == NULL) {
		console_answer_error(r, 500, "internal", "no memory for the CSV");
		return;
	}
	fputs("\xef\xbb\xbf", fp);
	for (size_t c = 0; c < ncols; c++) {
		const char *h = json_string_value(json_object_get(r->c->csv_headers,
		    cols[c].header));

		if (c)
			fputc(',', fp);
		cell_csv(fp, h ? h : cols[c].header);
	}
	fputs("\r\n", fp);
	json_array_foreach(items, i, item) {
		for (size_t c = 0; c < ncols; c++) {
			if (c)
				fputc(',', fp);
			csv_cell(fp, cols[c].path, lookup(item, cols[c].path));
		}
		fputs("\r\n", fp);
	}
	fclose(fp);
	out = evbuffer_new();
	evbuffer_add(out, text, len);
	snprintf(disposition, sizeof(disposition), "attachment; filename=\"%s.csv\"",
	    filename);
	evhttp_add_header(evhttp_request_get_output_headers(r->req), "Content-Disposition",
	    disposition);
	answer_send(r, 200, "text/csv; charset=utf-8", out);
	evbuffer_free(out);
	free(text);
}

void
console_answer_list(struct console_req *r, json_t *items, int64_t total,
    const struct console_csv_col *cols, size_t ncols, const char *filename)
{
	const char *format = console_query(r, "format");

	if (format != NULL && strcmp(format, "csv") == 0) {
		answer_csv(r, items, cols, ncols, filename);
		json_decref(items);
		return;
	}
	if (total >= 0)
		console_answer_json(r, 200, json_pack("{s:I, s:o}", "total", (json_int_t)total,
		    "items", items));
	else
		console_answer_json(r, 200, json_pack("{s:o}", "items", items));
}
