/* store_retention.c: what the daily upkeep deletes once it is old (retention: in the
 * config), one kind at a time and a few hundred rows a transaction, so the write lock
 * is never held long. Referral facts stay: referrals, their events, rewards, customers.
 *   inbox_done         handled inbox rows (done, skipped); failed ones stay for an operator
 *   quarantine         quarantined bodies
 *   outbox_sent        sent outbox rows (pending, failed and unknown stay, and so do an
 *                      announcement's multicast chunks, whose dedupe_key its results and
 *                      its once-only sending read: one row per 500 recipients)
 *   click_client_hash  the salted client hash of each invite-link click (the click stays)
 *   conversation_text  what customers wrote and were sent (conversations.retention); the
 *                      conversation rows stay, so counts remain */
#include <jansson.h>

#include "store_internal.h"

static const struct {
	const char	*name;
	const char	*chunk_sql;	/* ?1 before (unix ms), ?2 rows at most */
	const char	*count_sql;	/* ?1 before */
} kinds[RETENTION_KINDS] = {
	[RETENTION_INBOX_DONE] = { "inbox_done",
	    "DELETE FROM inbox WHERE id IN (SELECT id FROM inbox INDEXED BY inbox_handled "
	    "WHERE state IN ('done', 'skipped') AND received_at < ?1 ORDER BY received_at "
	    "LIMIT ?2)",
	    "SELECT count(*) AS n FROM inbox WHERE state IN ('done', 'skipped') AND "
	    "received_at < ?1" },
	[RETENTION_QUARANTINE] = { "quarantine",
	    "DELETE FROM quarantine WHERE id IN (SELECT id FROM quarantine WHERE received_at < "
	    "?1 ORDER BY id LIMIT ?2)",
	    "SELECT count(*) AS n FROM quarantine WHERE received_at < ?1" },
	[RETENTION_OUTBOX_SENT] = { "outbox_sent",
	    "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox INDEXED BY outbox_sent "
	    "WHERE state = 'sent' AND dedupe_key IS NULL AND coalesce(sent_at, created_at) < ?1 "
	    "ORDER BY coalesce(sent_at, created_at) LIMIT ?2)",
	    "SELECT count(*) AS n FROM outbox INDEXED BY outbox_sent WHERE state = 'sent' "
	    "AND dedupe_key IS NULL AND coalesce(sent_at, created_at) < ?1" },
	[RETENTION_CLICK_HASH] = { "click_client_hash",
	    "UPDATE referral_events SET client_hash = NULL WHERE rowid IN (SELECT rowid FROM "
	    "referral_events INDEXED BY referral_events_click_hash_kept WHERE type = "
	    "'clicked' AND client_hash IS NOT NULL AND at < ?1 ORDER BY at LIMIT ?2)",
	    "SELECT count(*) AS n FROM referral_events WHERE type = 'clicked' AND at < ?1 AND "
	    "client_hash IS NOT NULL" },
	[RETENTION_CONVERSATION_TEXT] = { "conversation_text", NULL,
	    "SELECT count(*) AS n FROM conversation WHERE at < ?1 AND (text IS NOT NULL OR body IS "
	    "NOT NULL)" },
};

const char *
store_retention_name(enum retention_kind k)
{
	return kinds[k].name;
}

int64_t
store_retention_chunk(struct store *s, enum retention_kind k, int64_t before, int max)
{
	const struct store_arg a[] = { SARG_INT(before), SARG_INT(max) };

	if (k == RETENTION_CONVERSATION_TEXT)
		return store_conversation_forget_text(s, before, max);
	return store_run(s, kinds[k].chunk_sql, a, 2);
}

int64_t
store_retention_count(struct store *s, enum retention_kind k, int64_t before)
{
	const struct store_arg a[] = { SARG_INT(before) };
	json_t *row = NULL;
	int64_t n = -1;

	if (store_query_one(s, kinds[k].count_sql, a, 1, &row) == 1)
		n = json_integer_value(json_object_get(row, "n"));
	json_decref(row);
	return n;
}
