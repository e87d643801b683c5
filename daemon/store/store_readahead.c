/* store_readahead.c: the database file is read without readahead.
 *
 * SQLite reads the database a page (4 KiB) at a time, mostly at scattered places. The
 * kernel's readahead still turns such reads, and above all sequential ones (a backup, a
 * console query that scans a table), into bigger page-cache folios: on Linux 6.18 with
 * ext4 a 4 KiB page written later into a 64 KiB or larger folio dirties the whole folio,
 * and the dirty-page throttling and writeback count all of it. make bench-scale measured
 * 150-490 KiB "written" per webhook on a big database read that way, against 25 KiB read
 * page by page, and 26-37 % fewer webhooks a second (tests/bench/PROFILE.md).
 *
 * POSIX_FADV_RANDOM turns readahead off for one open file description, and SQLite does
 * not hand out its descriptors: so every descriptor this process holds on the database
 * file gets the advice, found in /proc/self/fd by device and inode. A descriptor that
 * another thread closes or reuses meanwhile is checked by fstat first and skipped when
 * it is no longer the database. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

int
store_no_readahead(const char *path)
{
	struct stat db, st;
	struct dirent *de;
	DIR *dir;
	int advised = 0;

	if (stat(path, &db) == -1 || (dir = opendir("/proc/self/fd")) == NULL)
		return 0;
	while ((de = readdir(dir)) != NULL) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);

		if (*end != '\0' || end == de->d_name || fd == dirfd(dir))
			continue;
		if (fstat((int)fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_dev == db.st_dev &&
		    st.st_ino == db.st_ino &&
		    posix_fadvise((int)fd, 0, 0, POSIX_FADV_RANDOM) == 0)
			advised++;
	}
	closedir(dir);
	return advised;
}
