/* test_store_commit.c: the write connection's commits, synced and not. An unsynced
 * transaction really commits without a sync (and the next one syncs again), counted by
 * the VFS at the WAL's fsyncs. The
 * connection's VFS (store_walbuf.c) gathers a commit's WAL frames and writes them when
 * the commit syncs; what must hold: another connection reading right after a commit
 * sees all of it, whether the commit synced or not (an unsynced one is written straight
 * through); commits larger than what is gathered at once (and than the unix VFS takes
 * in one write) come out whole; the WAL file holds a commit's frames as soon as the
 * commit returned. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "../../daemon/shokaid.h"
#include "../../daemon/store/store_internal.h"
#include "testutil.h"

static char dir[256], path[512], wal[520];
static struct store *s;

static int
setup(void **state)
{
	(void)state;
	s = test_store_fresh(dir, path, "walbuf", 1);	/* synchronous = FULL */
	assert_non_null(s);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	assert_true(store_run(s, "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT UNIQUE, "
	    "v TEXT)", NULL, 0) >= 0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return test_store_gone(s, dir);
}

/* n rows of about 1.2 KiB each, with random keys (pages all over the index). */
static void
insert_rows(int n)
{
	for (int i = 0; i < n; i++)
		assert_int_equal(store_run(s, "INSERT INTO t(k, v) VALUES "
		    "(hex(randomblob(16)), hex(randomblob(600)))", NULL, 0), 1);
}

/* One transaction of n such rows, synced or not. */
static void
commit_rows(int n, int synced)
{
	assert_int_equal(synced ? store_begin(s) : store_begin_unsynced(s), 0);
	insert_rows(n);
	assert_int_equal(store_commit(s), 0);
}

/* What a second connection, on SQLite's default VFS, finds: rows and their bytes. */
static void
read_beside(int64_t *rows, int64_t *bytes)
{
	sqlite3 *db;
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*), total(length(v)) FROM t",
	    -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	*rows = sqlite3_column_int64(st, 0);
	*bytes = (int64_t)sqlite3_column_double(st, 1);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static int64_t
wal_size(void)
{
	struct stat sb;

	assert_int_equal(stat(wal, &sb), 0);
	return (int64_t)sb.st_size;
}

/* A synced commit fsyncs the WAL, an unsynced one does not, and neither touches the
 * connection's setting (FULL), so every other commit stays as durable as configured. */
static void
test_unsynced_transactions_commit_without_a_sync(void **state)
{
	unsigned long syncs;

	(void)state;
	assert_non_null(s->walbuf);
	assert_int_equal(store_synchronous(s), 2);	/* FULL */
	syncs = store_walbuf_syncs(s->walbuf);
	commit_rows(1, 1);
	assert_true(store_walbuf_syncs(s->walbuf) > syncs);
	syncs = store_walbuf_syncs(s->walbuf);
	assert_int_equal(store_begin_unsynced(s), 0);
	assert_int_equal(store_synchronous(s), 2);
	insert_rows(1);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_walbuf_syncs(s->walbuf), syncs);
	commit_rows(1, 1);
	assert_true(store_walbuf_syncs(s->walbuf) > syncs);
	syncs = store_walbuf_syncs(s->walbuf);
	assert_int_equal(store_begin_unsynced(s), 0);
	store_rollback(s);
	commit_rows(1, 1);
	assert_true(store_walbuf_syncs(s->walbuf) > syncs);
	assert_int_equal(store_synchronous(s), 2);
}

static void
test_a_synced_commit_is_on_disk_and_read_beside(void **state)
{
	int64_t rows, bytes, before = wal_size();

	(void)state;
	commit_rows(20, 1);
	/* 20 rows of 1.2 KiB: at least 6 pages of frames are in the file now. */
	assert_true(wal_size() >= before + 6 * 4096);
	read_beside(&rows, &bytes);
	assert_int_equal(rows, 20);
	assert_int_equal(bytes, 20 * 1200);
}

static void
test_a_commit_larger_than_one_gathering_comes_out_whole(void **state)
{
	int64_t rows, bytes;

	(void)state;
	/* About 1.5 MiB of rows and their index: many times the gathered 128 KiB and
	 * the unix VFS's largest single write. */
	commit_rows(1200, 1);
	read_beside(&rows, &bytes);
	assert_int_equal(rows, 1200);
	assert_int_equal(bytes, 1200 * 1200);
}

static void
test_an_unsynced_commit_is_not_left_in_memory(void **state)
{
	int64_t rows, bytes, before;

	(void)state;
	commit_rows(5, 1);
	before = wal_size();
	/* No sync at this commit: its frames must be in the file when it returns, or
	 * a reader would take the index's word for frames that are not there. */
	commit_rows(30, 0);
	assert_true(wal_size() >= before + 10 * 4096);
	read_beside(&rows, &bytes);
	assert_int_equal(rows, 35);
	assert_int_equal(bytes, 35 * 1200);
	/* And the next synced commit is read whole too. */
	commit_rows(10, 1);
	read_beside(&rows, &bytes);
	assert_int_equal(rows, 45);
}

static void
test_a_checkpoint_beside_keeps_everything(void **state)
{
	int64_t rows, bytes;
	sqlite3 *db;

	(void)state;
	for (int i = 0; i < 20; i++)
		commit_rows(25, 1);
	/* The checkpointer's connection copies the frames into the database and the
	 * WAL starts over; the writer's next commits write from its start again. */
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
	    NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	for (int i = 0; i < 5; i++)
		commit_rows(25, 1);
	read_beside(&rows, &bytes);
	assert_int_equal(rows, 625);
	assert_int_equal(bytes, 625 * 1200);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unsynced_transactions_commit_without_a_sync,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_synced_commit_is_on_disk_and_read_beside,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_commit_larger_than_one_gathering_comes_out_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_an_unsynced_commit_is_not_left_in_memory,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_checkpoint_beside_keeps_everything,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
