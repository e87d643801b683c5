/* test_store_readahead.c: store_no_readahead finds every descriptor the process holds on
 * the database file (the write connection's among them) and turns readahead off for
 * it: 4 KiB reads through such a descriptor, even in order from the start (what the
 * kernel reads ahead for), bring those pages into the page cache and no others. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../daemon/shokaid.h"
#include "testutil.h"

#define FILE_PAGES	512	/* 2 MiB */

static size_t
resident_pages(const char *path)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t len = FILE_PAGES * (size_t)page, n = 0;
	unsigned char vec[FILE_PAGES];
	int fd = open(path, O_RDONLY);
	void *map;

	assert_true(fd >= 0);
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(map != MAP_FAILED);
	assert_int_equal(mincore(map, len, vec), 0);
	for (size_t i = 0; i < FILE_PAGES; i++)
		n += vec[i] & 1;
	munmap(map, len);
	close(fd);
	return n;
}

/* A file of FILE_PAGES pages on disk and none of them in the page cache. */
static void
cold_file(const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	memset(buf, 'x', sizeof(buf));
	for (int i = 0; i < FILE_PAGES; i++)
		assert_int_equal(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	assert_int_equal(fsync(fd), 0);
	assert_int_equal(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	close(fd);
}

static void
test_pages_read_are_the_pages_cached(void **state)
{
	char dir[] = "/tmp/shokai-readahead.XXXXXX", path[64], buf[4096];
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/data", dir);
	cold_file(path);
	if (resident_pages(path) != 0) {	/* a page cache that keeps even this: no test */
		test_rmdir(dir);
		skip();
	}
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(store_no_readahead(path), 1);
	for (int i = 0; i < 16; i++)
		assert_int_equal(pread(fd, buf, sizeof(buf), (off_t)i * 4096), (ssize_t)sizeof(buf));
	assert_int_equal(resident_pages(path), 16);	/* with readahead: 80 here */
	close(fd);
	test_rmdir(dir);
}

static void
test_the_write_connection_is_found(void **state)
{
	char dir[256], path[512];
	struct store *s;

	(void)state;
	s = test_store_fresh(dir, path, "readahead", 1);
	assert_non_null(s);
	assert_true(store_no_readahead(path) >= 1);
	store_close(s);
	assert_int_equal(store_no_readahead(path), 0);	/* nothing holds it now */
	assert_int_equal(test_rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pages_read_are_the_pages_cached),
		cmocka_unit_test(test_the_write_connection_is_found),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
