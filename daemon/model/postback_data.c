/* postback_data.c: LINE postback data ("action=refer&campaign=winter%202026"), the string an
 * operator put into a rich menu area or button and LINE hands back on a tap. It is
 * parsed like an HTML form body because that is how operators write it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

#define POSTBACK_DATA_MAX	300	/* LINE's limit on an action's data */

/* Decodes data[from..to) into a new string. Offsets in errors count from the start
 * of the whole data, so an operator can find the spot in what they configured. */
static char *
decode(const char *data, size_t from, size_t to, char *why, size_t whylen)
{
	char *out = xmalloc(to - from + 1), *o = out;

	for (size_t i = from; i < to; i++) {
		int v;

		if (data[i] == '+') {
			*o++ = ' ';
			continue;
		}
		if (data[i] != '%') {
			*o++ = data[i];
			continue;
		}
		/* i + 2 < to also keeps the escape inside this part: "%4&1" is bad. */
		if (i + 2 >= to || (v = url_hex_byte(data + i + 1)) == -1) {
			snprintf(why, whylen, "bad %%-escape at offset %zu", i);
			goto err;
		}
		/* A NUL would cut the C string short and make two datas compare equal. */
		if (v == 0) {
			snprintf(why, whylen, "decoded NUL byte at offset %zu", i);
			goto err;
		}
		*o++ = (char)v;
		i += 2;
	}
	*o = '\0';
	return out;
err:
	free(out);
	return NULL;
}

/* Parts are split on '&' and each on its first '='. Empty parts ("a=1&&b=2", a
 * trailing '&') are skipped as HTML forms do. The first "action" is the action; a
 * repeated one stays an ordinary parameter rather than being dropped unseen. */
int
postback_parse(const char *data, struct postback *pb, char *why, size_t whylen)
{
	size_t len = strlen(data), start = 0;
	char *key = NULL, *value = NULL;

	memset(pb, 0, sizeof(*pb));
	if (len > POSTBACK_DATA_MAX) {
		snprintf(why, whylen, "data is %zu bytes; LINE sends at most %d", len,
		    POSTBACK_DATA_MAX);
		return -1;
	}
	while (start <= len) {
		const char *amp = memchr(data + start, '&', len - start);
		size_t end = amp != NULL ? (size_t)(amp - data) : len, eq;
		const char *eqp;

		if (end == start) {
			start = end + 1;
			continue;
		}
		eqp = memchr(data + start, '=', end - start);
		eq = eqp != NULL ? (size_t)(eqp - data) : end;
		if (eq == start) {
			snprintf(why, whylen, "empty key at offset %zu", start);
			goto err;
		}
		if ((key = decode(data, start, eq, why, whylen)) == NULL)
			goto err;
		if ((value = decode(data, eq < end ? eq + 1 : end, end, why, whylen)) == NULL)
			goto err;
		if (pb->action == NULL && strcmp(key, "action") == 0) {
			pb->action = value;
			free(key);
		} else {
			if (pb->n == POSTBACK_PARAMS_MAX) {
				snprintf(why, whylen, "more than %d parameters",
				    POSTBACK_PARAMS_MAX);
				goto err;
			}
			pb->key[pb->n] = key;
			pb->value[pb->n] = value;
			pb->n++;
		}
		key = value = NULL;
		start = end + 1;
	}
	return 0;
err:
	free(key);
	free(value);
	postback_clear(pb);
	return -1;
}

/* "action" is asked for like any key, so callers need not know where it is kept. */
const char *
postback_get(const struct postback *pb, const char *key)
{
	if (pb->action != NULL && strcmp(key, "action") == 0)
		return pb->action;
	for (size_t i = 0; i < pb->n; i++)
		if (strcmp(pb->key[i], key) == 0)
			return pb->value[i];
	return NULL;
}

void
postback_clear(struct postback *pb)
{
	free(pb->action);
	for (size_t i = 0; i < pb->n; i++) {
		free(pb->key[i]);
		free(pb->value[i]);
	}
	memset(pb, 0, sizeof(*pb));
}
