/* test_store_outbox.c: what the outbox's books rely on when they take due rows. The due
 * query returns pending rows of one platform that are due and not being tried, oldest
 * first, up to the number asked for, however many that is (the array grows with the
 * rows), each with the fields it does not read left empty; a row marked as being tried
 * leaves it and an untried one comes back; and it reads them from outbox_due without
 * passing over the rows in flight (schema 28). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "../../daemon/shokaid.h"
#include "../../daemon/store/store_internal.h"
#include "testutil.h"

static char dir[256], path[512];
static struct store *s;

static int
setup(void **state)
{
	(void)state;
	s = test_store_fresh(dir, path, "outbox", 1);
	assert_non_null(s);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return test_store_gone(s, dir);
}

/* Row i: a push of p due at due, its id returned. */
static int64_t
put(enum platform p, int i, int64_t due)
{
	struct outbox_msg m = { .platform = p, .next_attempt_at = due };
	char key[32], body[64];
	int inserted = 0;

	snprintf(key, sizeof(key), "push:%d:%d", (int)p, i);
	snprintf(body, sizeof(body), "{\"n\":%d}", i);
	m.channel = xstrdup("main");
	m.kind = xstrdup("push");
	m.target = xstrdup("U0000000000000000000000000000000a");
	m.body = xstrdup(body);
	m.retry_key = xstrdup(key);
	assert_int_equal(store_outbox_put(s, &m, &inserted), 0);
	assert_int_equal(inserted, 1);
	{
		int64_t id = m.id;

		outbox_msg_clear(&m);
		return id;
	}
}

static void
due(enum platform p, int64_t now, size_t max, int64_t *ids, size_t *n)
{
	struct outbox_msg *rows = NULL;

	assert_int_equal(store_outbox_due(s, p, now, max, &rows, n), 0);
	for (size_t i = 0; i < *n; i++) {
		assert_int_equal(rows[i].platform, p);
		assert_null(rows[i].dedupe_key);	/* not read: left empty */
		assert_int_equal(rows[i].next_attempt_at, 0);
		ids[i] = rows[i].id;
		outbox_msg_clear(&rows[i]);
	}
	free(rows);
}

static void
test_due_rows_come_oldest_first_up_to_max_and_not_in_flight(void **state)
{
	int64_t id[40], got[64];
	size_t n = 0;

	(void)state;
	/* 40 LINE rows due at 1039 down to 1000 (inserted newest first), 5 LINE WORKS rows,
	 * and one LINE row not due yet. */
	for (int i = 0; i < 40; i++)
		id[i] = put(PLATFORM_LINE, i, 1039 - i);
	for (int i = 0; i < 5; i++)
		(void)put(PLATFORM_WORKS, i, 1000);
	(void)put(PLATFORM_LINE, 99, 5000);

	due(PLATFORM_LINE, 2000, 64, got, &n);
	assert_int_equal(n, 40);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(got[i], id[39 - i]);	/* by due time */
	due(PLATFORM_LINE, 2000, 7, got, &n);
	assert_int_equal(n, 7);
	assert_int_equal(got[6], id[33]);
	due(PLATFORM_LINE, 2000, 1, got, &n);
	assert_int_equal(n, 1);
	due(PLATFORM_WORKS, 2000, 64, got, &n);
	assert_int_equal(n, 5);
	due(PLATFORM_LINE, 999, 64, got, &n);
	assert_int_equal(n, 0);

	/* The 30 oldest in flight: the rest come, in order; one untried comes back. */
	for (int i = 10; i < 40; i++)
		assert_int_equal(store_outbox_trying(s, id[i]), 0);
	due(PLATFORM_LINE, 2000, 64, got, &n);
	assert_int_equal(n, 10);
	assert_int_equal(got[0], id[9]);
	assert_int_equal(got[9], id[0]);
	assert_int_equal(store_outbox_untry(s, id[20]), 0);
	due(PLATFORM_LINE, 2000, 64, got, &n);
	assert_int_equal(n, 11);
	assert_int_equal(got[0], id[20]);
}

/* The rows being tried are not read at all: the plan of the due query the store runs
 * (its cached statement's own text) searches outbox_due by platform, the mark and the
 * time, with no sorting of its own. */
static void
test_due_query_reads_only_what_it_returns(void **state)
{
	sqlite3_stmt *st = NULL;
	char plan[512] = "", *explain;
	size_t used = 0, n = 0;
	int64_t got[1];

	(void)state;
	due(PLATFORM_LINE, 2000, 1, got, &n);	/* prepares and caches the statement */
	assert_non_null(s->st[ST_OUTBOX_DUE]);
	explain = xasprintf("EXPLAIN QUERY PLAN %s", sqlite3_sql(s->st[ST_OUTBOX_DUE]));
	assert_int_equal(sqlite3_prepare_v2(s->db, explain, -1, &st, NULL), SQLITE_OK);
	free(explain);
	while (sqlite3_step(st) == SQLITE_ROW && used < sizeof(plan) - 1)
		used += (size_t)snprintf(plan + used, sizeof(plan) - used, "%s;",
		    (const char *)sqlite3_column_text(st, 3));
	sqlite3_finalize(st);
	assert_non_null(strstr(plan, "USING INDEX outbox_due (platform=? AND trying=? AND "
	    "next_attempt_at<?)"));
	assert_null(strstr(plan, "TEMP B-TREE"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_due_rows_come_oldest_first_up_to_max_and_not_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_due_query_reads_only_what_it_returns,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
