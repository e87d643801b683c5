/* console_api_ops.c: 運用 (admins): messages that failed or may not have arrived, with
 * a retry that keeps the retry key; quarantined bodies by reason; the config in force
 * and the last reload's errors; the rich menus with their images and tap areas, and
 * whether each is deployed as configured. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "console_api.h"
#include "console_figures.h"
#include "console_rows.h"

static json_t *
failed_items(const struct config *cf, json_t *rows)
{
	json_t *items = json_array(), *row;
	size_t i;

	json_array_foreach(rows, i, row) {
		const char *target = json_string_value(json_object_get(row, "target"));
		json_t *item = json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O}",
		    "id", json_object_get(row, "id"), "platform", json_object_get(row, "platform"),
		    "channel", json_object_get(row, "channel"), "kind", json_object_get(row,
		    "kind"), "state", json_object_get(row, "state"), "attempts",
		    json_object_get(row, "attempts"), "last_status", json_object_get(row,
		    "last_status"), "last_error", json_object_get(row, "last_error"),
		    "created_at", json_object_get(row, "created_at"));

		if (target != NULL && target[0] == 'U')
			json_object_set_new(item, "target", console_person_named(cf,
			    json_string_value(json_object_get(row, "channel")), target,
			    json_string_value(json_object_get(row, "display_name")), 0));
		json_array_append_new(items, item);
	}
	return items;
}

/* What a tap does, in a word the operator recognises: the action's label, else its
 * text, data or URL. */
static const char *
area_label(const json_t *area)
{
	const json_t *a = json_object_get(area, "action");
	static const char *const keys[] = { "label", "text", "data", "uri", "richMenuAliasId",
	    NULL };

	for (size_t i = 0; keys[i] != NULL; i++)
		if (json_is_string(json_object_get(a, keys[i])))
			return json_string_value(json_object_get(a, keys[i]));
	return "";
}

static json_t *
menus(const struct config *cf, json_t *deployed)
{
	json_t *list = json_array();

	for (size_t c = 0; c < cf->n_line_channels; c++)
		for (size_t m = 0; m < cf->n_richmenus; m++) {
			const struct config_richmenu *rm = &cf->richmenus[m];
			const json_t *size = json_object_get(rm->object, "size");
			json_t *areas = json_array(), *area, *row, *at = json_null();
			size_t i;
			int live = 0;

			json_array_foreach(json_object_get(rm->object, "areas"), i, area) {
				const json_t *b = json_object_get(area, "bounds");

				json_array_append_new(areas, json_pack("{s:O, s:O, s:O, s:O, s:s}",
				    "x", json_object_get(b, "x"), "y", json_object_get(b, "y"),
				    "width", json_object_get(b, "width"), "height",
				    json_object_get(b, "height"), "label", area_label(area)));
			}
			json_array_foreach(deployed, i, row)
				if (strcmp(json_string_value(json_object_get(row, "channel")),
				    cf->line_channels[c].id) == 0 &&
				    strcmp(json_string_value(json_object_get(row, "menu_id")),
				    rm->id) == 0 &&
				    strcmp(json_string_value(json_object_get(row, "hash")),
				    rm->hash) == 0) {
					live = 1;
					at = json_object_get(row, "deployed_at");
				}
			json_array_append_new(list, json_pack("{s:s, s:s, s:s?, s:O, s:O, s:o, "
			    "s:b, s:O}", "channel", cf->line_channels[c].id, "id", rm->id, "name",
			    json_string_value(json_object_get(rm->object, "name")), "width",
			    json_object_get(size, "width"), "height", json_object_get(size,
			    "height"), "areas", areas, "deployed", live, "deployed_at", at));
		}
	return list;
}

void
console_api_ops(struct console_req *r)
{
	json_t *failed = NULL, *quarantine = NULL, *deployed = NULL, *q, *row;
	json_int_t count = 0;
	size_t i;

	if (store_console_ops(r->c->store, &failed, &quarantine) == -1 ||
	    store_console_deployed_menus(r->c->store, &deployed) == -1) {
		console_answer_error(r, 503, "storage", "the operations page could not be read");
		goto done;
	}
	json_array_foreach(quarantine, i, row)
		count += json_integer_value(json_object_get(row, "count"));
	q = json_pack("{s:I, s:O}", "count", count, "by_reason", quarantine);
	console_answer_json(r, 200, json_pack("{s:o, s:o, s:{s:s, s:I, s:O}, s:o}",
	    "outbox_failed", failed_items(r->cf, failed), "quarantine", q, "config", "path",
	    r->cf->path, "loaded_at", (json_int_t)r->c->loaded_at_ms, "last_reload",
	    r->c->last_reload ? r->c->last_reload : json_null(), "richmenus",
	    menus(r->cf, deployed)));
done:
	json_decref(failed);
	json_decref(quarantine);
	json_decref(deployed);
}

struct retry_job {
	int64_t		 id;
	const char	*target;
	char		 why[WHY_MAX];
};

/* store_outbox_requeue's result: 0 queued again (and audited), 1 not failed, -1. */
static int
retry_tx(struct console_req *r, void *arg)
{
	struct retry_job *j = arg;
	int rc = store_outbox_requeue(r->ws, j->id);

	if (rc == 0)
		console_audit(r, "outbox_retry", j->target, NULL);
	else if (rc == -1)
		snprintf(j->why, sizeof(j->why), "%s", store_errmsg(r->ws));
	return rc;
}

void
console_api_outbox_retry(struct console_req *r)
{
	int64_t id = console_arg_id(r, 0);
	struct retry_job j = { 0 };
	char target[32];
	int rc;

	if (id <= 0)
		return;
	snprintf(target, sizeof(target), "outbox:%lld", (long long)id);
	j.id = id;
	j.target = target;
	rc = console_write(r, retry_tx, &j);
	if (rc == 0)
		console_answer_json(r, 200, json_pack("{s:I, s:s}", "id", (json_int_t)id, "state",
		    "pending"));
	else if (rc == 1)
		console_answer_error(r, 409, "not_failed", "no failed message with that id: only "
		    "a failed one is sent again");
	else
		console_answer_error(r, 503, "storage", j.why);
}

void
console_api_richmenu_image(struct console_req *r)
{
	const struct config_richmenu *rm = config_richmenu(r->cf, r->args[1]);
	struct evbuffer *out;

	if (config_line_channel(r->cf, r->args[0]) == NULL || rm == NULL || rm->image == NULL) {
		console_answer_error(r, 404, "not_found", "no such rich menu in the config");
		return;
	}
	out = evbuffer_new();
	evbuffer_add(out, rm->image, rm->image_len);
	console_security_headers(r->req, 1);
	evhttp_add_header(evhttp_request_get_output_headers(r->req), "Content-Type",
	    rm->image_type);
	evhttp_send_reply(r->req, 200, "OK", out);
	evbuffer_free(out);
	r->answered = 1;
}
