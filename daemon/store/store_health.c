/* store_health.c: whether the storage can be written. The files are checked before the
 * database opens, a write proves it at start, and a watch on the loop notices files
 * made unwritable, deleted or replaced under the running daemon. While the store is
 * unhealthy every transaction is refused (store_begin), so nothing half-works: webhooks
 * get 503 (LINE redelivers) and the outbox sends nothing whose outcome it could not
 * record. A probe write lets transactions through again once the storage is fixed;
 * a deleted or replaced file needs a restart. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_internal.h"

/* While unhealthy, the state is logged again this often (the transitions always). */
#define REMIND_MS	60000

/* The reason as /healthz (JSON) and log lines (logfmt, quoted) can carry it as is: a
 * path with a quote, a backslash or a control character in it is shown with '?'. */
static void set_reason(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_reason(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	for (char *p = why; *p != '\0'; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
			*p = '?';
}

/* What errno says, with the likely cause where strerror alone misleads. */
static const char *
why_unwritable(int err)
{
	switch (err) {
	case EPERM:
		return "operation not permitted (an immutable file? see lsattr)";
	case EACCES:
		return "permission denied (file mode or owner)";
	case EROFS:
		return "read-only file system";
	default:
		return strerror(err);
	}
}

/* One of the database's files: absent is fine (SQLite makes it); present, it must be a
 * regular file of ours that we can read and write. */
static int
check_file(const char *path, const char *what, char *why, size_t whylen)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		set_reason(why, whylen, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		set_reason(why, whylen, "%s %s is not a regular file", what, path);
		return -1;
	}
	/* A file of another user works for root today, and then the files SQLite makes
	 * beside it are root's, which the service user cannot open at the next start. */
	if (st.st_uid != geteuid()) {
		set_reason(why, whylen, "%s %s is owned by uid %lu, shokaid runs as uid %lu "
		    "(chown it, or run shokaid as its owner)", what, path,
		    (unsigned long)st.st_uid, (unsigned long)geteuid());
		return -1;
	}
	if (access(path, R_OK | W_OK) == -1) {
		set_reason(why, whylen, "%s %s cannot be written: %s", what, path,
		    why_unwritable(errno));
		return -1;
	}
	return 0;
}

int
store_check_files(const char *path, char *why, size_t whylen)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash == NULL ? xstrdup(".") :
	    xasprintf("%.*s", slash == path ? 1 : (int)(slash - path), path);
	char *wal = xasprintf("%s-wal", path), *shm = xasprintf("%s-shm", path);
	struct stat st;
	int rc = -1;

	/* SQLite makes the -wal and -shm beside the database when it opens it. */
	if (stat(dir, &st) == -1) {
		set_reason(why, whylen, "the database's folder %s: %s", dir, strerror(errno));
		goto done;
	}
	if (!S_ISDIR(st.st_mode)) {
		set_reason(why, whylen, "the database's folder %s is not a folder", dir);
		goto done;
	}
	if (access(dir, W_OK | X_OK) == -1) {
		set_reason(why, whylen, "the database's folder %s cannot be written (the -wal "
		    "and -shm files are made there): %s", dir, why_unwritable(errno));
		goto done;
	}
	if (check_file(path, "the database", why, whylen) == -1 ||
	    check_file(wal, "the WAL", why, whylen) == -1 ||
	    check_file(shm, "the shared-memory file", why, whylen) == -1)
		goto done;
	rc = 0;
done:
	free(dir);
	free(wal);
	free(shm);
	return rc;
}

/* A committed write: it needs the write lock (in the -shm), a WAL frame and its sync,
 * which is everything a webhook's commit needs. */
static int
probe_write(struct store *s, char *why, size_t whylen)
{
	char *sql = xasprintf("BEGIN IMMEDIATE; INSERT OR REPLACE INTO meta(key, value) "
	    "VALUES ('write_probe', %lld); COMMIT;", (long long)wall_ms());
	int rc = store_exec(s->db, sql, why, whylen);

	if (rc == -1 && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	free(sql);
	return rc;
}

static int
file_id(const char *path, struct store_file_id *out)
{
	struct stat st;

	if (stat(path, &st) == -1)
		return -1;
	out->dev = st.st_dev;
	out->ino = st.st_ino;
	return 0;
}

static int
same_file(const char *path, const struct store_file_id *id)
{
	struct store_file_id now;

	return file_id(path, &now) == 0 && now.dev == id->dev && now.ino == id->ino;
}

/* SQLite maps the -shm file and writes it as memory. When it cannot be written any more
 * (made immutable, its file system remounted read-only) the kernel answers the next
 * write to it with SIGBUS: there is no error to return, and it comes on reads too. The
 * handler says so and exits as a crash would (whatever was answered 200 is in the
 * WAL); any other SIGBUS keeps its default action and its core dump. The path is the
 * one value a signal handler can reach: process-wide, set once at start. */
static char sigbus_shm_path[PATH_MAX];

static void
say(const char *text)
{
	ssize_t n = write(STDERR_FILENO, text, strlen(text));

	(void)n;	/* nothing to do if stderr is gone */
}

static void
sigbus_handler(int sig)
{
	if (sigbus_shm_path[0] != '\0' && access(sigbus_shm_path, W_OK) == -1) {
		say("level=error msg=\"SIGBUS: the database's shared-memory file cannot be "
		    "written any more (immutable? a read-only file system?); exiting: restart "
		    "shokaid once it is fixed\" path=");
		say(sigbus_shm_path);
		say("\n");
		_exit(1);
	}
	signal(sig, SIG_DFL);	/* returning re-runs the access: default action, core */
}

static void
guard_sigbus(const char *path)
{
	struct sigaction sa;

	if ((size_t)snprintf(sigbus_shm_path, sizeof(sigbus_shm_path), "%s-shm", path) >=
	    sizeof(sigbus_shm_path))
		sigbus_shm_path[0] = '\0';
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sigbus_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) == -1)
		log_warn("%s: sigaction SIGBUS", __func__);
}

int
store_watch_start(struct store *s, const char *path, char *why, size_t whylen)
{
	char detail[WHY_MAX];
	char *wal = xasprintf("%s-wal", path);
	int rc = -1;

	guard_sigbus(path);	/* the probe is the first write to the -shm */
	if (probe_write(s, detail, sizeof(detail)) == -1) {
		set_reason(why, whylen, "cannot write to the database %s: %s", path, detail);
		goto done;
	}
	/* The probe's commit made the WAL if it was not there. */
	if (file_id(path, &s->db_id) == -1 || file_id(wal, &s->wal_id) == -1) {
		set_reason(why, whylen, "the database %s or its WAL vanished at start: %s",
		    path, strerror(errno));
		goto done;
	}
	s->path = xstrdup(path);
	s->wal_path = wal;
	wal = NULL;
	rc = 0;
done:
	free(wal);
	return rc;
}

const char *
store_health(const struct store *s)
{
	return s->health[0] != '\0' ? s->health : NULL;
}

/* Refuses transactions from now on, saying why; logs the change. */
static void
go_unhealthy(struct store *s, const char *reason)
{
	int was_healthy = s->health[0] == '\0';

	set_reason(s->health, sizeof(s->health), "%s", reason);
	if (!was_healthy)
		return;
	s->unhealthy_since_ms = s->reminded_ms = clock_ms();
	log_errorx("msg=\"storage cannot be written: webhooks get 503 and the outbox sends "
	    "nothing until it can\" reason=\"%s\"%s", s->health,
	    s->broken ? "" : " recovery=\"automatic, once a test write goes through\"");
}

void
store_note_error(struct store *s, int rc)
{
	char reason[WHY_MAX];

	if (s->path == NULL)		/* not the daemon's store: nothing watches it */
		return;
	switch (rc & 0xff) {
	case SQLITE_PERM:
	case SQLITE_READONLY:
	case SQLITE_IOERR:
	case SQLITE_CORRUPT:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
	case SQLITE_NOTADB:
		set_reason(reason, sizeof(reason), "database write failed: %s (SQLite code "
		    "%d)", sqlite3_errmsg(s->db), rc);
		go_unhealthy(s, reason);
		break;
	default:	/* busy, constraint, ...: about the statement, not the storage */
		break;
	}
}

/* A WAL deleted under us takes every commit since with it at the next start, while
 * SQLite goes on writing into the unlinked file without a word. Whatever is in it is
 * still folded into the database file by the checkpointer (its descriptor holds the old
 * file), so a restart loses nothing that was answered 200 before this was seen. */
static void
go_broken(struct store *s, const char *what, const char *path)
{
	char reason[WHY_MAX];

	s->broken = 1;
	s->health[0] = '\0';	/* log this one even if something else came first */
	set_reason(reason, sizeof(reason), "%s %s was deleted or replaced while shokaid "
	    "ran; restart shokaid", what, path);
	go_unhealthy(s, reason);
}

int
store_wal_intact(struct store *s)
{
	if (s->broken)
		return 0;
	if (s->path != NULL && !same_file(s->wal_path, &s->wal_id)) {
		go_broken(s, "the WAL", s->wal_path);
		return 0;
	}
	return 1;
}

void
store_watch(struct store *s)
{
	char why[WHY_MAX];
	int64_t now = clock_ms();

	if (s->path == NULL)
		return;
	if (!s->broken) {
		if (store_check_files(s->path, why, sizeof(why)) == -1)
			go_unhealthy(s, why);
		else if (!same_file(s->path, &s->db_id))
			go_broken(s, "the database", s->path);
		else if (store_wal_intact(s) && s->health[0] != '\0') {
			if (probe_write(s, why, sizeof(why)) == 0) {
				log_notice("msg=\"storage can be written again; webhooks and the "
				    "outbox resume\" unhealthy_ms=%lld",
				    (long long)(now - s->unhealthy_since_ms));
				s->health[0] = '\0';
				return;
			}
			/* A busy database says nothing about the storage: keep the reason. */
			if ((sqlite3_errcode(s->db) & 0xff) != SQLITE_BUSY) {
				char reason[WHY_MAX];

				set_reason(reason, sizeof(reason), "cannot write to the database: "
				    "%s", why);
				go_unhealthy(s, reason);
			}
		}
	}
	if (s->health[0] != '\0' && now - s->reminded_ms >= REMIND_MS) {
		s->reminded_ms = now;
		log_errorx("msg=\"storage still cannot be written\" reason=\"%s\" "
		    "unhealthy_ms=%lld", s->health, (long long)(now - s->unhealthy_since_ms));
	}
}
