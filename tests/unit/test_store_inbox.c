/* test_store_inbox.c: what the dispatcher relies on when it carries rows from one batch
 * to the next. Pending rows are read in id order after a given id, appended to what the
 * list holds; the data version stays put across the connection's own commits and moves
 * when another connection commits (shokaictl, the console), which is when carried rows
 * may be stale. And the states' CHECKs (schema 26) refuse what they always did without
 * a temporary b-tree per row written. */
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
#include "testutil.h"

static char dir[256], path[512];
static struct store *s;

static int
setup(void **state)
{
	(void)state;
	s = test_store_fresh(dir, path, "inbox", 1);
	assert_non_null(s);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return test_store_gone(s, dir);
}

/* n text events from one user, stored in one commit. */
static void
store_events(int from, int n)
{
	struct event_list l = { 0 };
	int inserted = 0;

	for (int i = from; i < from + n; i++) {
		struct event *ev = event_list_add(&l);
		char key[32];

		snprintf(key, sizeof(key), "ev-%d", i);
		ev->event_key = xstrdup(key);
		ev->type = xstrdup("message");
		ev->source_type = xstrdup("user");
		ev->user_id = xstrdup("U0000000000000000000000000000000a");
		ev->message_type = xstrdup("text");
		ev->text = xstrdup(key);
		ev->timestamp_ms = 1700000000000 + i;
	}
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_inbox_put(s, PLATFORM_LINE, "main", &l, &inserted), 0);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(inserted, n);
	event_list_free(&l);
}

static void
test_pending_after_an_id_appends_in_order(void **state)
{
	struct event_list l = { 0 };
	int64_t third;

	(void)state;
	store_events(0, 5);
	assert_int_equal(store_inbox_pending(s, 0, 3, &l), 0);
	assert_int_equal(l.n, 3);
	third = l.v[2].inbox_id;
	assert_string_equal(l.v[0].text, "ev-0");
	/* The dispatcher ran the first two: the third stays at the front. */
	event_list_drop_front(&l, 2);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].text, "ev-2");
	assert_int_equal(store_inbox_pending(s, third, 10, &l), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[1].text, "ev-3");
	assert_string_equal(l.v[2].text, "ev-4");
	event_list_drop_front(&l, 10);	/* more than it holds: empty */
	assert_int_equal(l.n, 0);
	event_list_free(&l);
	event_list_drop_front(&l, 0);	/* an empty list (v NULL): nothing to move */
	assert_int_equal(l.n, 0);
}

static void
test_the_version_moves_only_with_another_connections_commit(void **state)
{
	sqlite3 *other;
	int64_t v0, v1, v2;

	(void)state;
	store_events(0, 1);
	assert_int_equal(store_begin(s), 0);
	v0 = store_inbox_version(s);
	assert_int_equal(store_commit(s), 0);
	assert_true(v0 >= 0);
	store_events(1, 2);		/* our own writes: rows we carry are still as read */
	assert_int_equal(store_begin(s), 0);
	v1 = store_inbox_version(s);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(v1, v0);
	assert_int_equal(sqlite3_open_v2(path, &other, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "UPDATE inbox SET state = 'skipped' WHERE id = 1",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);
	assert_int_equal(store_begin(s), 0);
	v2 = store_inbox_version(s);
	assert_int_equal(store_commit(s), 0);
	assert_true(v2 != v1);
}

/* How many temporary b-trees writing sql's row makes SQLite open. */
static int
ephemeral_tables(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int n = 0;
	char *explain = xasprintf("EXPLAIN %s", sql);

	assert_int_equal(sqlite3_prepare_v2(db, explain, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		n += strcmp((const char *)sqlite3_column_text(st, 1), "OpenEphemeral") == 0;
	sqlite3_finalize(st);
	free(explain);
	return n;
}

static void
test_state_checks_refuse_without_a_temporary_btree(void **state)
{
	static const char *const writes[] = {
		"UPDATE inbox SET state = ? WHERE id = 1",
		"UPDATE outbox SET state = ? WHERE id = 1",
		"UPDATE handoffs SET state = ? WHERE id = 1",
		"UPDATE referrer_asks SET state = ? WHERE user_id = 'U'",
	};
	sqlite3 *db;

	(void)state;
	store_events(0, 1);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++)
		assert_int_equal(ephemeral_tables(db, writes[i]), 0);
	assert_int_equal(sqlite3_exec(db, "UPDATE inbox SET state = 'bogus' WHERE id = 1",
	    NULL, NULL, NULL), SQLITE_CONSTRAINT);
	assert_int_equal(sqlite3_exec(db, "UPDATE inbox SET state = 'skipped' WHERE id = 1",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pending_after_an_id_appends_in_order,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_the_version_moves_only_with_another_connections_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_checks_refuse_without_a_temporary_btree,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
