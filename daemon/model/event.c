/* event.c: the normalised event that both webhook parsers produce and every handler
 * reads, and the small list that carries a request's events. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "model.h"

const char *
platform_name(enum platform p)
{
	return p == PLATFORM_LINE ? "line" : "works";
}

void
event_clear(struct event *ev)
{
	free(ev->channel);
	free(ev->event_key);
	free(ev->type);
	free(ev->mode);
	free(ev->source_type);
	free(ev->user_id);
	free(ev->group_id);
	free(ev->reply_token);
	free(ev->message_id);
	free(ev->message_type);
	free(ev->text);
	free(ev->postback_data);
	free(ev->postback_params);
	free(ev->message_meta);
	memset(ev, 0, sizeof(*ev));
}

void
event_list_free(struct event_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		event_clear(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

struct event *
event_list_add(struct event_list *l)
{
	struct event *ev;

	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	ev = &l->v[l->n++];
	memset(ev, 0, sizeof(*ev));
	return ev;
}

void
event_list_drop_front(struct event_list *l, size_t k)
{
	if (k > l->n)
		k = l->n;
	if (k == 0)
		return;		/* also an empty list, whose v is NULL */
	for (size_t i = 0; i < k; i++)
		event_clear(&l->v[i]);
	memmove(l->v, l->v + k, (l->n - k) * sizeof(*l->v));
	l->n -= k;
}

char *
event_json_str(json_t *obj, const char *key)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	if (!json_is_string(v))
		return NULL;
	return xstrndup(json_string_value(v), json_string_length(v));
}
