/* ctl_net.c: shokaictl talks to LINE and LINE WORKS directly for management calls and
 * lookups: a small daemon context of its own (a loop, an HTTP client, the database when
 * asked for) runs each call to completion. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "ctl.h"

void
ctl_net_open(struct daemon *d, struct config *cf)
{
	memset(d, 0, sizeof(*d));
	d->cfg = cf;
	/* OpenSSL writes to a TLS peer with write(): a peer that closed must give EPIPE,
	 * not end shokaictl */
	signal(SIGPIPE, SIG_IGN);
	if ((d->base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	d->http_client = http_client_new(d->base, -1);
}

void
ctl_net_wait(struct daemon *d, const int *done)
{
	while (!*done && event_base_loop(d->base, EVLOOP_ONCE) == 0)
		;
}

void
ctl_net_close(struct daemon *d)
{
	works_tokens_free(d->works_tokens);
	http_client_free(d->http_client);
	event_base_free(d->base);
	store_close(d->store);
}

void
ctl_call_done(int status, const char *body, size_t len, const char *error, void *arg)
{
	struct ctl_call *c = arg;

	c->done = 1;
	c->status = status;
	c->body = xstrndup(body, len);
	c->error = error ? xstrdup(error) : NULL;
}

/* One LINE management call run to completion; *out gets the JSON answer (NULL for an
 * empty one or a 404). 0, or -1 after saying what went wrong. */
int
ctl_line_call(struct daemon *d, const char *channel, enum line_host host, const char *method,
    const char *path, const char *content_type, const void *body, size_t len, json_t **out)
{
	struct ctl_call c = { 0 };
	int rc = -1;

	if (out != NULL)
		*out = NULL;
	line_api_call(d, channel, host, method, path, content_type, body, len, ctl_call_done,
	    &c);
	ctl_net_wait(d, &c.done);
	if (c.status >= 200 && c.status < 300) {
		rc = 0;
		if (out != NULL && c.body[0] != '\0' &&
		    (*out = json_loads(c.body, 0, NULL)) == NULL) {
			fprintf(stderr, "shokaictl: %s %s: the answer is not JSON\n", method, path);
			rc = -1;
		}
	} else if (c.status == 404 && strcmp(method, "GET") == 0) {
		rc = 0;		/* e.g. no default rich menu */
	} else
		fprintf(stderr, "shokaictl: %s %s: %s\n", method, path,
		    c.error ? c.error : "failed");
	free(c.body);
	free(c.error);
	return rc;
}
