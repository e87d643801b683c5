/* store_clicks.c: the clicks of console-sketch.md (once per code, client and local day)
 * counted as they are written, per local day, campaign and branch, in click_counts
 * (schema 14), so the dashboard reads a few hundred rows where the scan of
 * store_clicks_scan read every click of both periods (85 ms each on the scale
 * database). The scan stays the definition: a reader uses click_counts only when it
 * covers every event (meta click_counts_upto) and was counted in the reader's time
 * zone (meta click_counts_tz), else it scans; tests compare the two.
 *
 * A click counts when no click of the same code and client, on the same local day, has
 * a smaller id (scope 0), and for its branch when none of that branch has (scope 1: a
 * branch's figures count its clicks once, as the scan filtered to the branch does). A
 * code belongs to one campaign (referral_codes), so its clicks all name the same one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_internal.h"

/* shokai_local_day(at, 0|1): the start or the end of the local day holding at, in ms,
 * computed as store_figures.c's scan does (mktime, this process's TZ). */
static void
local_day_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	int64_t at = sqlite3_value_int64(argv[0]), start, end;

	(void)argc;
	store_day_of(at, &start, &end);
	sqlite3_result_int64(ctx, sqlite3_value_int(argv[1]) ? end : start);
}

int
store_clicks_register(sqlite3 *db)
{
	return sqlite3_create_function(db, "shokai_local_day", 2, SQLITE_UTF8, NULL,
	    local_day_fn, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static const char *
tz_name(void)
{
	const char *tz = getenv("TZ");

	return tz ? tz : "";
}

/* The statements every click written runs, cached: the mark, the new clicks counted
 * in both scopes, the mark moved. A key's first click (smallest id) above the mark
 * counts; a key seen below it was counted then. Said to the planner, who otherwise
 * walks every click per event written: the new events by id (NOT INDEXED: a rowid
 * range), and the code's clicks of the day by referral_events_by_code. */
static const char *const stmt_sql[ST_COUNT] = {
	[ST_CLICKS_MARK] = "SELECT (SELECT value FROM meta WHERE key = 'click_counts_tz'), "
	    "(SELECT value FROM meta WHERE key = 'click_counts_upto'), "
	    "(SELECT max(id) FROM referral_events)",
	[ST_CLICKS_ADD_ALL] = "INSERT INTO click_counts(scope, day, campaign, branch, n) "
	    "SELECT 0, shokai_local_day(e.at, 0), coalesce(e.campaign, ''), '', count(*) FROM "
	    "referral_events e NOT INDEXED WHERE e.type = 'clicked' AND e.id > ?1 AND NOT "
	    "EXISTS (SELECT 1 FROM referral_events x INDEXED BY referral_events_by_code WHERE "
	    "x.code IS e.code AND x.type = 'clicked' AND x.at >= shokai_local_day(e.at, 0) AND "
	    "x.at < shokai_local_day(e.at, 1) AND coalesce(x.client_hash, '') = "
	    "coalesce(e.client_hash, '') AND x.id < e.id) GROUP BY 2, 3 "
	    "ON CONFLICT DO UPDATE SET n = n + excluded.n",
	[ST_CLICKS_ADD_BRANCH] = "INSERT INTO click_counts(scope, day, campaign, branch, n) "
	    "SELECT 1, shokai_local_day(e.at, 0), coalesce(e.campaign, ''), "
	    "coalesce(e.branch, ''), count(*) FROM referral_events e NOT INDEXED WHERE e.type "
	    "= 'clicked' AND e.id > ?1 AND NOT EXISTS (SELECT 1 FROM referral_events x "
	    "INDEXED BY referral_events_by_code WHERE x.code IS e.code AND x.type = 'clicked' "
	    "AND x.at >= shokai_local_day(e.at, 0) AND x.at < shokai_local_day(e.at, 1) AND "
	    "coalesce(x.client_hash, '') = coalesce(e.client_hash, '') AND x.branch IS "
	    "e.branch AND x.id < e.id) GROUP BY 2, 3, 4 ON CONFLICT DO UPDATE SET n = n + "
	    "excluded.n",
	[ST_CLICKS_SET_MARK] = "INSERT OR REPLACE INTO meta(key, value) VALUES "
	    "('click_counts_tz', ?1), ('click_counts_upto', ?2)",
};

/* Everything afresh: the day's distinct keys by grouping, a sort, where a probe per
 * click reads the table at random (the first open after the migration, or a new time
 * zone). Seldom: one-off statements. */
static const char *const count_all =
    "DELETE FROM click_counts;"
    "INSERT INTO click_counts(scope, day, campaign, branch, n) SELECT 0, d, c, '', "
    "count(*) FROM (SELECT shokai_local_day(at, 0) AS d, min(coalesce(campaign, '')) "
    "AS c FROM referral_events WHERE type = 'clicked' GROUP BY 1, code, "
    "coalesce(client_hash, '')) GROUP BY 2, 3;"
    "INSERT INTO click_counts(scope, day, campaign, branch, n) SELECT 1, d, c, b, "
    "count(*) FROM (SELECT shokai_local_day(at, 0) AS d, min(coalesce(campaign, '')) "
    "AS c, coalesce(branch, '') AS b FROM referral_events WHERE type = 'clicked' "
    "GROUP BY 1, code, coalesce(client_hash, ''), branch) GROUP BY 2, 3, 4;";

/* Counts the clicks with ids above meta click_counts_upto (all of them, counted
 * afresh, when the time zone changed) and moves the mark to the last event. On the
 * writer, inside the caller's transaction or alone. 0, or -1 (logged). */
int
store_clicks_count_new(struct store *s)
{
	sqlite3_stmt *st = store_stmt(s, ST_CLICKS_MARK, stmt_sql);
	int64_t upto = -1, last = 0;
	char *tz = NULL, why[WHY_MAX];
	int rc = -1, fresh;

	if (st == NULL)
		return -1;
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		goto done;
	}
	tz = store_column_str(st, 0);
	if (sqlite3_column_type(st, 1) != SQLITE_NULL)
		upto = sqlite3_column_int64(st, 1);
	last = sqlite3_column_int64(st, 2);
	sqlite3_reset(st);
	fresh = tz == NULL || strcmp(tz, tz_name()) != 0 || upto < 0;
	if (!fresh && upto >= last) {
		rc = 0;
		goto done;
	}
	if (fresh) {
		if (store_exec(s->db, count_all, why, sizeof(why)) == -1)
			goto done;
	} else
		for (enum stmt_id id = ST_CLICKS_ADD_ALL; id <= ST_CLICKS_ADD_BRANCH; id++) {
			if ((st = store_stmt(s, id, stmt_sql)) == NULL)
				goto done;
			sqlite3_bind_int64(st, 1, upto);
			if (store_step(s, st) == -1)
				goto done;
		}
	if ((st = store_stmt(s, ST_CLICKS_SET_MARK, stmt_sql)) == NULL)
		goto done;
	sqlite3_bind_text(st, 1, tz_name(), -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, last);
	rc = store_step(s, st);
done:
	if (rc == -1)
		log_warnx("msg=\"click counts failed\" detail=\"%s\"", sqlite3_errmsg(s->db));
	free(tz);
	return rc;
}

/* 1 when click_counts holds every click (none above the mark: other events do not
 * move it) counted in this process's time
 * zone, 0 when not (the caller scans), -1 on error. */
int
store_clicks_counted(struct store *s)
{
	sqlite3_stmt *st = NULL;
	int64_t upto = -1;
	int rc = -1, same_tz = 0;

	/* The mark first, then the events above it by rowid (NOT INDEXED): with the mark
	 * in a subquery the planner walked every click by type (0.44 s). */
	if (sqlite3_prepare_v2(s->db, "SELECT (SELECT value FROM meta WHERE key = "
	    "'click_counts_tz') = ?1, (SELECT value FROM meta WHERE key = "
	    "'click_counts_upto')", -1, &st, NULL) != SQLITE_OK)
		goto done;
	sqlite3_bind_text(st, 1, tz_name(), -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_ROW)
		goto done;
	same_tz = sqlite3_column_int(st, 0) == 1;
	if (sqlite3_column_type(st, 1) != SQLITE_NULL)
		upto = sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	st = NULL;
	if (!same_tz || upto < 0) {
		rc = 0;
		goto done;
	}
	if (sqlite3_prepare_v2(s->db, "SELECT NOT EXISTS (SELECT 1 FROM referral_events NOT "
	    "INDEXED WHERE id > ?1 AND type = 'clicked')", -1, &st, NULL) != SQLITE_OK)
		goto done;
	sqlite3_bind_int64(st, 1, upto);
	if (sqlite3_step(st) == SQLITE_ROW)
		rc = sqlite3_column_int(st, 0) == 1;
done:
	sqlite3_finalize(st);
	return rc;
}
