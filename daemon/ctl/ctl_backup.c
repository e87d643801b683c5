/* ctl_backup.c: `backup FILE` (a checked online copy while shokaid runs), `restore FILE`
 * (with shokaid stopped: the database it replaces is kept beside it) and `purge
 * [--dry-run]` (the retention the daemon runs each hour, now, with the counts). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

/* backup [--force] FILE */
int
backup_cmd(struct config *cf, int argc, char **argv)
{
	struct store_backup_info info;
	char why[WHY_MAX];
	int force = argc == 2 && strcmp(argv[0], "--force") == 0;

	if (argc != 1 + force)
		return 2;
	if (store_backup_to(cf->sqlite_path, argv[force], force, &info, why,
	    sizeof(why)) == -1) {
		fprintf(stderr, "shokaictl: backup: %s\n", why);
		return 1;
	}
	printf("backup %s: %lld bytes, schema version %d, integrity ok, %lld ms\n",
	    argv[force], (long long)info.bytes, info.schema_version, (long long)info.ms);
	return 0;
}

/* restore FILE */
int
restore_cmd(struct config *cf, int argc, char **argv)
{
	struct store_backup_info info;
	char why[WHY_MAX], kept[4096];
	int lock = -1, rc = 1;

	if (argc != 1)
		return 2;
	if (store_lock_instance(cf->sqlite_path, &lock, why, sizeof(why)) == -1) {
		fprintf(stderr, "shokaictl: restore: %s: stop it first (systemctl stop "
		    "shokaid)\n", why);
		return 1;
	}
	if (store_restore_from(argv[0], cf->sqlite_path, kept, sizeof(kept), &info, why,
	    sizeof(why)) == -1)
		fprintf(stderr, "shokaictl: restore: %s (the database was not changed)\n", why);
	else {
		printf("restored %s into %s: %lld bytes, schema version %d%s\n", argv[0],
		    cf->sqlite_path, (long long)info.bytes, info.schema_version,
		    info.schema_version < store_schema_latest() ?
		    " (shokaid migrates it forward at its next start)" : "");
		if (kept[0] != '\0')
			printf("the database it replaced is kept as %s; to undo, stop shokaid "
			    "and restore that file\n", kept);
		rc = 0;
	}
	close(lock);
	return rc;
}

/* purge [--dry-run] */
int
purge_cmd(struct config *cf, int argc, char **argv)
{
	int dry = argc == 1 && strcmp(argv[0], "--dry-run") == 0, rc = 0;
	struct store *s;
	int64_t now = wall_ms();

	if (argc != dry)
		return 2;
	if ((s = ctl_open_store(cf)) == NULL)
		return 1;
	printf("%-20s %12s  %s\n", "KIND", dry ? "WOULD GO" : "REMOVED", "OLDER THAN");
	for (int k = 0; k < RETENTION_KINDS && rc == 0; k++) {
		int64_t before = upkeep_retention_before(cf, (enum retention_kind)k, now), n = 0,
		    total = 0;
		char when[32] = "kept (off)";

		if (before > 0) {
			time_t t = (time_t)(before / 1000);
			struct tm tm;

			localtime_r(&t, &tm);
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
			if (dry)
				total = store_retention_count(s, (enum retention_kind)k, before);
			/* The daemon's chunks: each a short transaction of its own. */
			else do {
				if (store_begin(s) == -1 || (n = store_retention_chunk(s,
				    (enum retention_kind)k, before, 500)) == -1 ||
				    store_commit(s) == -1) {
					store_rollback(s);
					total = -1;
					break;
				}
				total += n;
			} while (n == 500);
			if (total < 0) {
				fprintf(stderr, "shokaictl: purge: %s: %s\n",
				    store_retention_name((enum retention_kind)k), store_errmsg(s));
				rc = 1;
				break;
			}
		}
		printf("%-20s %12lld  %s\n", store_retention_name((enum retention_kind)k),
		    (long long)total, when);
	}
	store_close(s);
	return rc;
}
