/* test_thread_sched.c: what thread_sched.c asks of the kernel is what the kernel then
 * reports for the thread: SCHED_BATCH for a helper; for the loop the 0.1 ms slice on a
 * kernel with EEVDF's custom slices (6.12 and later, which report a fair thread's slice
 * as sched_runtime), a thread it starts afterwards back at the default slice, and on
 * every kernel the policy left SCHED_OTHER. */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../daemon/shokaid.h"

struct attr {	/* the kernel's struct sched_attr, first version */
	uint32_t size, policy;
	uint64_t flags;
	int32_t nice;
	uint32_t priority;
	uint64_t runtime, deadline, period;
};

static struct attr
attr_now(void)
{
	struct attr a;

	memset(&a, 0, sizeof(a));
	assert_int_equal(syscall(SYS_sched_getattr, 0, &a, (unsigned int)sizeof(a), 0U), 0);
	return a;
}

static int
custom_slices(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	assert_int_equal(uname(&u), 0);
	sscanf(u.release, "%d.%d", &major, &minor);
	return major > 6 || (major == 6 && minor >= 12);
}

static void *
child(void *arg)
{
	*(struct attr *)arg = attr_now();
	return NULL;
}

static void *
loop_thread(void *arg)
{
	struct attr *seen = arg;	/* [0] the loop's, [1] its child's */
	pthread_t t;

	thread_sched_short_slice();
	seen[0] = attr_now();
	assert_int_equal(pthread_create(&t, NULL, child, &seen[1]), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	return NULL;
}

static void
test_loop_gets_the_short_slice_and_its_children_do_not(void **state)
{
	struct attr seen[2];
	pthread_t t;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, loop_thread, seen), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(seen[0].policy, SCHED_OTHER);
	assert_int_equal(seen[1].policy, SCHED_OTHER);
	if (!custom_slices())
		skip();
	assert_int_equal(seen[0].runtime, 100000);
	assert_int_not_equal(seen[1].runtime, 100000);
}

static void *
helper_thread(void *arg)
{
	thread_sched_yield_to_loop();
	*(struct attr *)arg = attr_now();
	return NULL;
}

static void
test_helper_runs_batch(void **state)
{
	struct attr seen;
	pthread_t t;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, helper_thread, &seen), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(seen.policy, SCHED_BATCH);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loop_gets_the_short_slice_and_its_children_do_not),
		cmocka_unit_test(test_helper_runs_batch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
