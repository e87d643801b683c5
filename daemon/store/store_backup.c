/* store_backup.c: copies of the database taken while shokaid runs, and putting one back.
 *
 * A backup is SQLite's online backup API from a read-only connection of its own. The
 * database is in WAL mode, so one sqlite3_backup_step(-1) copies every page under one
 * read snapshot while the daemon keeps committing (a reader never blocks the writer);
 * stepping in chunks instead would let a commit in between restart the copy, which
 * under steady webhooks might never finish. The copy is written beside its final name
 * (NAME.tmp), synced, checked whole (PRAGMA integrity_check) and only then renamed, so
 * a file under the final name is always a whole, checked database.
 *
 * A restore is the same copy the other way, into a database no daemon holds (the
 * caller takes <db>.lock first: store_lock_instance): the current file is checkpointed
 * and kept beside as <db>.before-restore-TIME (nothing of its WAL is lost), then the
 * backup, checked first, is copied in. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_internal.h"

static int
fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* The folder a file is in, synced: the rename that made the file is then durable. */
static int
fsync_dir_of(const char *path)
{
	char *copy = xstrdup(path);
	int rc = fsync_path(dirname(copy));

	free(copy);
	return rc;
}

/* "ok", the schema version and the size of the database at path; -1 with why. */
static int
check_file(const char *path, struct store_backup_info *info, char *why, size_t whylen)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct stat sb;
	int rc = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(why, whylen, "%s: cannot open: %s", path, db ? sqlite3_errmsg(db) :
		    "out of memory");
		goto done;
	}
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		snprintf(why, whylen, "%s: not a database SQLite can read: %s", path,
		    sqlite3_errmsg(db));
		goto done;
	}
	if (strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
		snprintf(why, whylen, "%s: integrity_check: %s", path,
		    (const char *)sqlite3_column_text(st, 0));
		goto done;
	}
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		snprintf(why, whylen, "%s: no schema version: %s", path, sqlite3_errmsg(db));
		goto done;
	}
	info->schema_version = sqlite3_column_int(st, 0);
	if (info->schema_version == 0) {
		snprintf(why, whylen, "%s: not a shokai database (no schema)", path);
		goto done;
	}
	if (stat(path, &sb) == 0)
		info->bytes = sb.st_size;
	rc = 0;
done:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

/* Copies the database at from into a new file at to (which must not exist). */
static int
copy_db(const char *from, int from_flags, const char *to, char *why, size_t whylen)
{
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_backup *b;
	int rc = -1, step;

	if (sqlite3_open_v2(from, &src, from_flags, NULL) != SQLITE_OK) {
		snprintf(why, whylen, "%s: cannot open: %s", from, src ? sqlite3_errmsg(src) :
		    "out of memory");
		goto done;
	}
	sqlite3_busy_timeout(src, 10000);
	if (sqlite3_open_v2(to, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		snprintf(why, whylen, "%s: cannot create: %s", to, dst ? sqlite3_errmsg(dst) :
		    "out of memory");
		goto done;
	}
	if ((b = sqlite3_backup_init(dst, "main", src, "main")) == NULL) {
		snprintf(why, whylen, "backup: %s", sqlite3_errmsg(dst));
		goto done;
	}
	/* One step: every page under one read snapshot (see the top of the file). */
	do {
		step = sqlite3_backup_step(b, -1);
		if (step == SQLITE_BUSY || step == SQLITE_LOCKED)
			sqlite3_sleep(50);
	} while (step == SQLITE_BUSY || step == SQLITE_LOCKED || step == SQLITE_OK);
	sqlite3_backup_finish(b);
	if (step != SQLITE_DONE) {
		snprintf(why, whylen, "backup: %s", sqlite3_errstr(step));
		goto done;
	}
	/* The copy is a database of its own: no WAL beside it to lose. */
	if (sqlite3_exec(dst, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(why, whylen, "%s: %s", to, sqlite3_errmsg(dst));
		goto done;
	}
	rc = 0;
done:
	sqlite3_close(src);
	if (dst != NULL && sqlite3_close(dst) != SQLITE_OK && rc == 0) {
		snprintf(why, whylen, "%s: cannot close", to);
		rc = -1;
	}
	return rc;
}

int
store_backup_to(const char *db_path, const char *dest, int overwrite,
    struct store_backup_info *info, char *why, size_t whylen)
{
	char *tmp = xasprintf("%s.tmp", dest);
	struct stat sb;
	int64_t t0 = clock_ms();
	int rc = -1;

	memset(info, 0, sizeof(*info));
	if (!overwrite && lstat(dest, &sb) == 0) {
		snprintf(why, whylen, "%s exists (--force replaces it)", dest);
		goto done;
	}
	if (unlink(tmp) == -1 && errno != ENOENT) {
		snprintf(why, whylen, "%s: %s", tmp, strerror(errno));
		goto done;
	}
	/* A backup holds everything the database holds: the owner's only. */
	close(open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
	if (copy_db(db_path, SQLITE_OPEN_READONLY, tmp, why, whylen) == -1 ||
	    check_file(tmp, info, why, whylen) == -1)
		goto done;
	if (fsync_path(tmp) == -1 || rename(tmp, dest) == -1 || fsync_dir_of(dest) == -1) {
		snprintf(why, whylen, "%s: %s", dest, strerror(errno));
		goto done;
	}
	info->ms = clock_ms() - t0;
	rc = 0;
done:
	if (rc == -1)
		unlink(tmp);
	free(tmp);
	return rc;
}

int
store_backup_check(const char *path, struct store_backup_info *info, char *why,
    size_t whylen)
{
	memset(info, 0, sizeof(*info));
	if (check_file(path, info, why, whylen) == -1)
		return -1;
	if (info->schema_version > store_schema_latest()) {
		snprintf(why, whylen, "%s: schema version %d is newer than this shokai's (%d): "
		    "restore it with the version that made it", path, info->schema_version,
		    store_schema_latest());
		return -1;
	}
	return 0;
}

int
store_restore_from(const char *backup, const char *db_path, char *kept, size_t keptlen,
    struct store_backup_info *info, char *why, size_t whylen)
{
	char stamp[32], *tmp = xasprintf("%s.restore-tmp", db_path);
	struct stat sb;
	time_t now = time(NULL);
	struct tm tm;
	int rc = -1;

	kept[0] = '\0';
	if (store_backup_check(backup, info, why, whylen) == -1)
		goto done;
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	unlink(tmp);
	close(open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
	if (copy_db(backup, SQLITE_OPEN_READONLY, tmp, why, whylen) == -1 ||
	    fsync_path(tmp) == -1)
		goto done;
	if (lstat(db_path, &sb) == 0) {
		sqlite3 *db = NULL;
		char *wal = xasprintf("%s-wal", db_path), *shm = xasprintf("%s-shm", db_path);

		/* Everything of the WAL into the file kept, so nothing is left behind it. */
		if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
		    sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) !=
		    SQLITE_OK) {
			snprintf(why, whylen, "%s: cannot checkpoint: %s", db_path,
			    db ? sqlite3_errmsg(db) : "out of memory");
			sqlite3_close(db);
			free(wal);
			free(shm);
			goto done;
		}
		sqlite3_close(db);
		snprintf(kept, keptlen, "%s.before-restore-%s", db_path, stamp);
		if (rename(db_path, kept) == -1) {
			snprintf(why, whylen, "%s: %s", db_path, strerror(errno));
			kept[0] = '\0';
			free(wal);
			free(shm);
			goto done;
		}
		unlink(wal);
		unlink(shm);
		free(wal);
		free(shm);
	}
	if (rename(tmp, db_path) == -1 || fsync_dir_of(db_path) == -1) {
		snprintf(why, whylen, "%s: %s", db_path, strerror(errno));
		goto done;
	}
	rc = 0;
done:
	if (rc == -1)
		unlink(tmp);
	free(tmp);
	return rc;
}

int
store_lock_instance(const char *db_path, int *fd_out, char *why, size_t whylen)
{
	char *path = xasprintf("%s.lock", db_path);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600), rc = -1;

	if (fd == -1) {
		snprintf(why, whylen, "cannot open the lock file %s: %s", path, strerror(errno));
		goto done;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		snprintf(why, whylen, "a shokaid runs on this database (%s is locked)", path);
		close(fd);
		goto done;
	}
	*fd_out = fd;
	rc = 0;
done:
	free(path);
	return rc;
}
