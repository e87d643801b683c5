/* store_walbuf.c: the write connection's VFS. It is SQLite's own (unix) VFS with one
 * change: the frames a commit appends to the WAL are gathered in memory and written
 * when the commit syncs, 64 KiB a write, instead of two writes per page (SQLite writes
 * each frame's header and its page apart). Under webhook load that was 10 of the ~30
 * system calls per request, and system calls are dear on virtual machines.
 *
 * Why it is safe: nothing reads a frame before its commit is visible in the WAL index,
 * and with synchronous = FULL SQLite syncs the WAL (xSync: we write first) before it
 * updates the index. A config with synchronous = NORMAL never syncs at a commit: it
 * does not use this VFS (store.c). The commits that need no
 * sync of a FULL connection (store_begin_unsynced) keep gathering: their xSync writes
 * the frames and skips only the fsync, which is what NORMAL would do, without switching
 * PRAGMA synchronous (a statement parsed twice per transaction) back and forth.
 * Anything else that looks at the file (a read, its size, a truncate, a file control,
 * close) writes what was gathered first, so the file is never seen without it. A write
 * that fails is reported by the call that wrote it, and the commit fails as it would. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

#define GATHER_MAX	(128 * 1024)	/* a commit larger than this is written in parts */
/* The unix VFS takes at most 128 KiB - 1 in one write (it masks the length with
 * 0x1ffff: SQLite never writes more than a 64 KiB page at once), so what was gathered
 * goes down in writes of 64 KiB. */
#define WRITE_MAX	(64 * 1024)

struct walbuf_file;

struct store_walbuf {
	sqlite3_vfs		 vfs;		/* first: SQLite hands us this pointer */
	sqlite3_vfs		*real;
	char			 name[48];
	int			 unsynced;	/* the WAL's xSync writes but does not sync */
	unsigned long		 wal_syncs;	/* fsyncs of the WAL done (tests read it) */
	struct walbuf_file	*wal;		/* the open WAL, NULL when none */
};

struct walbuf_file {
	sqlite3_file		 base;		/* first: SQLite's view of the file */
	struct store_walbuf	*wb;
	int			 is_wal;
	unsigned char		*buf;		/* gathered bytes, for the file at off */
	size_t			 len;
	sqlite3_int64		 off;
	sqlite3_file		*real;		/* the unix VFS's file, right after us */
};

static int
flush(struct walbuf_file *f)
{
	int rc = SQLITE_OK;

	for (size_t done = 0; rc == SQLITE_OK && done < f->len; done += WRITE_MAX) {
		size_t n = f->len - done < WRITE_MAX ? f->len - done : WRITE_MAX;

		rc = f->real->pMethods->xWrite(f->real, f->buf + done, (int)n,
		    f->off + (sqlite3_int64)done);
	}
	f->len = 0;
	return rc;
}

static int
wb_close(sqlite3_file *file)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = flush(f), rc2;

	if (f->is_wal && f->wb->wal == f)
		f->wb->wal = NULL;
	rc2 = f->real->pMethods->xClose(f->real);
	free(f->buf);
	return rc != SQLITE_OK ? rc : rc2;
}

static int
wb_read(sqlite3_file *file, void *p, int amt, sqlite3_int64 ofs)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, p, amt, ofs);
}

static int
wb_write(sqlite3_file *file, const void *p, int amt, sqlite3_int64 ofs)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc;

	if (!f->is_wal || amt <= 0) {
		rc = flush(f);
		return rc != SQLITE_OK ? rc : f->real->pMethods->xWrite(f->real, p, amt, ofs);
	}
	/* Only a run of bytes that continues the gathered ones joins them. */
	if (f->len > 0 && (ofs != f->off + (sqlite3_int64)f->len ||
	    f->len + (size_t)amt > GATHER_MAX)) {
		if ((rc = flush(f)) != SQLITE_OK)
			return rc;
	}
	if ((size_t)amt > WRITE_MAX)
		return f->real->pMethods->xWrite(f->real, p, amt, ofs);
	if (f->len == 0)
		f->off = ofs;
	memcpy(f->buf + f->len, p, (size_t)amt);
	f->len += (size_t)amt;
	return SQLITE_OK;
}

static int
wb_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int
wb_sync(sqlite3_file *file, int flags)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = flush(f);

	if (rc != SQLITE_OK || (f->is_wal && f->wb->unsynced))
		return rc;
	if (f->is_wal)
		f->wb->wal_syncs++;
	return f->real->pMethods->xSync(f->real, flags);
}

static int
wb_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int
wb_lock(sqlite3_file *file, int level)
{
	struct walbuf_file *f = (struct walbuf_file *)file;

	return f->real->pMethods->xLock(f->real, level);
}

static int
wb_unlock(sqlite3_file *file, int level)
{
	struct walbuf_file *f = (struct walbuf_file *)file;

	return f->real->pMethods->xUnlock(f->real, level);
}

static int
wb_check_reserved(sqlite3_file *file, int *out)
{
	struct walbuf_file *f = (struct walbuf_file *)file;

	return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int
wb_file_control(sqlite3_file *file, int op, void *arg)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

static int
wb_sector_size(sqlite3_file *file)
{
	struct walbuf_file *f = (struct walbuf_file *)file;

	return f->real->pMethods->xSectorSize(f->real);
}

static int
wb_device_characteristics(sqlite3_file *file)
{
	struct walbuf_file *f = (struct walbuf_file *)file;

	return f->real->pMethods->xDeviceCharacteristics(f->real);
}

static int
wb_shm_map(sqlite3_file *file, int pg, int pgsz, int extend, void volatile **pp)
{
	struct walbuf_file *f = (struct walbuf_file *)file;

	return f->real->pMethods->xShmMap(f->real, pg, pgsz, extend, pp);
}

static int
wb_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
	struct walbuf_file *f = (struct walbuf_file *)file;

	return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void
wb_shm_barrier(sqlite3_file *file)
{
	struct walbuf_file *f = (struct walbuf_file *)file;

	f->real->pMethods->xShmBarrier(f->real);
}

static int
wb_shm_unmap(sqlite3_file *file, int delete_flag)
{
	struct walbuf_file *f = (struct walbuf_file *)file;

	return f->real->pMethods->xShmUnmap(f->real, delete_flag);
}

static int
wb_fetch(sqlite3_file *file, sqlite3_int64 ofs, int amt, void **pp)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xFetch(f->real, ofs, amt, pp);
}

static int
wb_unfetch(sqlite3_file *file, sqlite3_int64 ofs, void *p)
{
	struct walbuf_file *f = (struct walbuf_file *)file;

	return f->real->pMethods->xUnfetch(f->real, ofs, p);
}

static const sqlite3_io_methods wb_methods = {
	.iVersion = 3,
	.xClose = wb_close,
	.xRead = wb_read,
	.xWrite = wb_write,
	.xTruncate = wb_truncate,
	.xSync = wb_sync,
	.xFileSize = wb_file_size,
	.xLock = wb_lock,
	.xUnlock = wb_unlock,
	.xCheckReservedLock = wb_check_reserved,
	.xFileControl = wb_file_control,
	.xSectorSize = wb_sector_size,
	.xDeviceCharacteristics = wb_device_characteristics,
	.xShmMap = wb_shm_map,
	.xShmLock = wb_shm_lock,
	.xShmBarrier = wb_shm_barrier,
	.xShmUnmap = wb_shm_unmap,
	.xFetch = wb_fetch,
	.xUnfetch = wb_unfetch,
};

static int
wb_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags,
    int *out_flags)
{
	struct store_walbuf *wb = (struct store_walbuf *)vfs;
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc;

	memset(f, 0, sizeof(*f));
	f->wb = wb;
	f->real = (sqlite3_file *)(f + 1);
	rc = wb->real->xOpen(wb->real, name, f->real, flags, out_flags);
	if (rc != SQLITE_OK) {
		/* SQLite calls no method of a file whose open failed. */
		f->base.pMethods = NULL;
		return rc;
	}
	if ((flags & SQLITE_OPEN_WAL) != 0) {
		if ((f->buf = malloc(GATHER_MAX)) == NULL) {
			f->real->pMethods->xClose(f->real);
			f->base.pMethods = NULL;
			return SQLITE_NOMEM;
		}
		f->is_wal = 1;
		wb->wal = f;
	}
	f->base.pMethods = &wb_methods;
	return SQLITE_OK;
}

static int
wb_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	struct store_walbuf *wb = (struct store_walbuf *)vfs;

	return wb->real->xDelete(wb->real, name, sync_dir);
}

static int
wb_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	struct store_walbuf *wb = (struct store_walbuf *)vfs;

	return wb->real->xAccess(wb->real, name, flags, out);
}

static int
wb_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	struct store_walbuf *wb = (struct store_walbuf *)vfs;

	return wb->real->xFullPathname(wb->real, name, n, out);
}

static int
wb_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	struct store_walbuf *wb = (struct store_walbuf *)vfs;

	return wb->real->xRandomness(wb->real, n, out);
}

static int
wb_sleep(sqlite3_vfs *vfs, int us)
{
	struct store_walbuf *wb = (struct store_walbuf *)vfs;

	return wb->real->xSleep(wb->real, us);
}

static int
wb_current_time(sqlite3_vfs *vfs, double *out)
{
	struct store_walbuf *wb = (struct store_walbuf *)vfs;

	return wb->real->xCurrentTime(wb->real, out);
}

static int
wb_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	struct store_walbuf *wb = (struct store_walbuf *)vfs;

	return wb->real->xCurrentTimeInt64(wb->real, out);
}

static int
wb_get_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	struct store_walbuf *wb = (struct store_walbuf *)vfs;

	return wb->real->xGetLastError(wb->real, n, out);
}

struct store_walbuf *
store_walbuf_new(void)
{
	struct store_walbuf *wb;
	sqlite3_vfs *real = sqlite3_vfs_find(NULL);

	if (real == NULL || real->iVersion < 2 || real->xCurrentTimeInt64 == NULL)
		return NULL;
	wb = xcalloc(1, sizeof(*wb));
	wb->real = real;
	/* Registered by a name of its own: one write connection, one instance. */
	snprintf(wb->name, sizeof(wb->name), "shokai-walbuf-%p", (void *)wb);
	wb->vfs.iVersion = 2;
	wb->vfs.szOsFile = (int)sizeof(struct walbuf_file) + real->szOsFile;
	wb->vfs.mxPathname = real->mxPathname;
	wb->vfs.zName = wb->name;
	wb->vfs.xOpen = wb_open;
	wb->vfs.xDelete = wb_delete;
	wb->vfs.xAccess = wb_access;
	wb->vfs.xFullPathname = wb_full_pathname;
	wb->vfs.xRandomness = wb_randomness;
	wb->vfs.xSleep = wb_sleep;
	wb->vfs.xCurrentTime = wb_current_time;
	wb->vfs.xGetLastError = wb_get_last_error;
	wb->vfs.xCurrentTimeInt64 = wb_current_time_int64;
	if (sqlite3_vfs_register(&wb->vfs, 0) != SQLITE_OK) {
		free(wb);
		return NULL;
	}
	return wb;
}

const char *
store_walbuf_name(const struct store_walbuf *wb)
{
	return wb->name;
}

void
store_walbuf_unsynced(struct store_walbuf *wb, int on)
{
	wb->unsynced = on;
}

unsigned long
store_walbuf_syncs(const struct store_walbuf *wb)
{
	return wb->wal_syncs;
}

/* After the connection that used it was closed. */
void
store_walbuf_free(struct store_walbuf *wb)
{
	if (wb == NULL)
		return;
	sqlite3_vfs_unregister(&wb->vfs);
	free(wb);
}
