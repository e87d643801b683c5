/* store_metrics.c: what /healthz, /readyz and /metrics read from the database, on the
 * console's connection: the backlogs, each coupon pool's free codes and how long the
 * oldest event has waited for its handler (each an index's count: probes poll them), and
 * for /metrics alone the outbox by platform and state and referrals by state (from
 * indexes: every entry of them, but no row of the tables). */
#include <jansson.h>

#include "store_internal.h"

/* Each row of sql as an object of its columns, appended to into. */
static int
rows_into(struct store *s, const char *sql, json_t *into)
{
	sqlite3_stmt *st = store_oneoff(s, sql);
	int rc;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *row = json_object();

		for (int i = 0; i < sqlite3_column_count(st); i++)
			json_object_set_new(row, sqlite3_column_name(st, i),
			    store_column_json(st, i));
		json_array_append_new(into, row);
	}
	store_oneoff_release(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* The outbox by platform and state, each part from an index of its own (schema 27): a
 * read of every row cost a scrape 0.8 s on a million rows. A row with a dedupe key (text,
 * never empty: ">= ''" is what lets SQLite read them from its unique index) is counted
 * in the first part only. */
#define OUTBOX_BY_STATE \
	"SELECT platform, state, sum(n) AS n FROM (" \
	"SELECT platform, state, count(*) AS n FROM outbox WHERE dedupe_key >= '' " \
	"GROUP BY 1, 2 UNION ALL " \
	"SELECT platform, 'pending', count(*) FROM outbox INDEXED BY outbox_due WHERE " \
	"state = 'pending' AND dedupe_key IS NULL GROUP BY 1 UNION ALL " \
	"SELECT platform, 'sent', count(*) FROM outbox INDEXED BY outbox_sent WHERE " \
	"state = 'sent' AND dedupe_key IS NULL GROUP BY 1 UNION ALL " \
	"SELECT platform, state, count(*) FROM outbox INDEXED BY outbox_stuck WHERE " \
	"(state = 'failed' OR state = 'unknown') AND dedupe_key IS NULL GROUP BY 1, 2) " \
	"GROUP BY 1, 2"

json_t *
store_metrics_read(struct store *s, int64_t now_ms, int full)
{
	json_t *m = json_object(), *outbox = json_array(), *referrals = json_array(),
	    *pools = json_array();
	sqlite3_stmt *st;
	int64_t oldest = -1;

	json_object_set_new(m, "inbox_backlog", json_integer(store_inbox_backlog(s)));
	json_object_set_new(m, "outbox_backlog", json_integer(store_outbox_backlog(s)));
	json_object_set_new(m, "outbox", outbox);
	json_object_set_new(m, "referrals", referrals);
	json_object_set_new(m, "coupon_pools", pools);
	if ((full && (rows_into(s, OUTBOX_BY_STATE, outbox) == -1 ||
	    rows_into(s, "SELECT state, count(*) AS n FROM referrals GROUP BY 1",
	    referrals) == -1)) ||
	    rows_into(s, "SELECT pool, count(*) AS free FROM coupons WHERE reward_id IS NULL "
	    "GROUP BY 1", pools) == -1)
		goto fail;
	/* The inbox_pending index gives the oldest waiting row first. */
	if ((st = store_oneoff(s, "SELECT received_at FROM inbox WHERE state = 'pending' "
	    "ORDER BY id LIMIT 1")) == NULL)
		goto fail;
	if (sqlite3_step(st) == SQLITE_ROW)
		oldest = sqlite3_column_int64(st, 0);
	store_oneoff_release(st);
	json_object_set_new(m, "inbox_oldest_wait_ms",
	    json_integer(oldest < 0 ? 0 : now_ms - oldest));
	return m;
fail:
	json_decref(m);
	return NULL;
}
