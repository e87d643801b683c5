/* announce.c: what shokaictl announce and the console's announcements page do alike:
 * an announcement and a segment resolved and counted (the preview), a send written
 * scheduled (or refused when LINE's quota, read by the caller, is too small), a test
 * push to one person, a cancel, and the times operators write. The send itself starts
 * in the daemon (storage/announce_tick.c), which reads the quota again first. The
 * writes run in the caller's transaction, so the console's audit row commits with its
 * action. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ops.h"
#include "../outbound/outmsg.h"

int
announce_plan(const struct config *cf, struct store *s, const char *id,
    const char *segment, struct announce_plan *p, char *why, size_t whylen)
{
	struct announce_target t;
	char *reps_json = NULL;
	int rc = -1;

	memset(p, 0, sizeof(*p));
	if ((p->a = config_announcement(cf, id)) == NULL) {
		snprintf(why, whylen, "no announcement '%.64s' under announcements", id);
		return -1;
	}
	if (seg_parse(segment, &p->sg, why, whylen) == -1 ||
	    config_announce_target(cf, p->a, &p->sg, &reps_json, why, whylen) == -1)
		return -1;
	seg_format(&p->sg, p->segment, sizeof(p->segment));
	memset(&t, 0, sizeof(t));
	t.channel = p->a->channel;
	t.kind = p->sg.kind;
	t.reps_json = reps_json;
	t.tag = p->sg.kind == SEG_TAG ? p->sg.arg : NULL;
	if (store_announce_count(s, &t, &p->recipients, &p->blocked) == -1)
		snprintf(why, whylen, "the segment could not be counted: %s", store_errmsg(s));
	else {
		p->chunks = (p->recipients + OUTMSG_MULTICAST_MAX - 1) / OUTMSG_MULTICAST_MAX;
		rc = 0;
	}
	free(reps_json);
	return rc;
}

int
announce_schedule(struct store *s, const struct announce_plan *p, int64_t at,
    const char *created_by, const struct quota *q, int64_t *id, char *why, size_t whylen)
{
	struct announce_new n = { .config_id = p->a->id, .title = p->a->title,
	    .message = p->a->message_name, .channel = p->a->channel, .segment = p->segment,
	    .created_by = created_by, .scheduled_at = at, .quota_limit = -1 };
	int refused = q != NULL && !quota_allows(q, p->recipients, why, whylen);

	if (refused) {
		/* Kept, so the refusal and its numbers show in the list and the console. */
		n.refused = 1;
		n.reason = why;
		n.recipients = p->recipients;
		n.blocked = p->blocked;
		n.quota_limit = q->limit;
		n.quota_used = q->used;
	}
	if (store_announce_create(s, &n, id) == -1) {
		snprintf(why, whylen, "%s", store_errmsg(s));
		return -1;
	}
	return refused;
}

int
announce_test(const struct config *cf, struct store *s, const char *id, const char *to,
    char *why, size_t whylen)
{
	const struct config_announcement *a = config_announcement(cf, id);
	json_t *messages;

	if (a == NULL) {
		snprintf(why, whylen, "no announcement '%.64s' under announcements", id);
		return -1;
	}
	if (to == NULL || to[0] != 'U' || strlen(to) != 33 ||
	    strspn(to + 1, "0123456789abcdef") != 32) {
		snprintf(why, whylen, "expected a LINE user id (U and 32 hex digits) to send the "
		    "test to");
		return -1;
	}
	if ((messages = config_announce_messages(cf, a)) == NULL) {
		snprintf(why, whylen, "message %s could not be rendered", a->message_name);
		return -1;
	}
	/* A push of the very messages the multicast carries, through the outbox. */
	if (outmsg_line_push(s, a->channel, to, messages) == -1) {
		snprintf(why, whylen, "%s", store_errmsg(s));
		return -1;
	}
	return 0;
}

int
announce_cancel(struct store *s, int64_t id, const char *by, char *why, size_t whylen)
{
	char reason[128];
	int rc;

	snprintf(reason, sizeof(reason), "canceled by %s", by);
	if ((rc = store_announce_close(s, id, "canceled", reason, NULL)) == -1) {
		snprintf(why, whylen, "%s", store_errmsg(s));
		return -1;
	}
	if (rc == 1)
		return 0;
	snprintf(why, whylen, "announcement %lld is not scheduled (only a send not yet "
	    "started can be canceled)", (long long)id);
	return 1;
}

int
announce_parse_time(const char *text, int64_t now, int64_t *out, char *why, size_t whylen)
{
	struct tm tm;
	const char *end;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	/* "2026-12-05 10:00", or the browser's datetime-local "2026-12-05T10:00". */
	if (((end = strptime(text, "%Y-%m-%d %H:%M", &tm)) == NULL || *end != '\0') &&
	    ((end = strptime(text, "%Y-%m-%dT%H:%M", &tm)) == NULL || *end != '\0')) {
		snprintf(why, whylen, "time '%.32s': expected YYYY-MM-DD HH:MM (local time)",
		    text);
		return -1;
	}
	tm.tm_isdst = -1;
	if ((t = mktime(&tm)) == (time_t)-1) {
		snprintf(why, whylen, "time '%.32s' does not exist in the local time zone", text);
		return -1;
	}
	*out = (int64_t)t * 1000;
	if (*out < now - 60000) {
		snprintf(why, whylen, "time '%.32s' is in the past", text);
		return -1;
	}
	return 0;
}
