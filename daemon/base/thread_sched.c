/* thread_sched.c: what each of the daemon's threads asks of the kernel's scheduler. The
 * daemon is often pinned to one core (make bench does), so the loop, the storage thread,
 * the checkpointer and the console take turns on it: the loop must get the core as soon
 * as a socket or a letter wakes it, and the others must not take it from the loop. */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base.h"

/* The slice the loop asks for: the least the kernel takes (0.1 ms). */
#define LOOP_SLICE_NS	100000
/* Threads created by the loop later start with the default slice again. */
#ifndef SCHED_FLAG_RESET_ON_FORK
#define SCHED_FLAG_RESET_ON_FORK	0x01
#endif

/* The kernel's struct sched_attr as of its first version (48 bytes), which every kernel
 * since 3.14 takes: <linux/sched/types.h> cannot be included beside <sched.h> (both
 * define struct sched_param) and glibc 2.36 has no wrapper. */
struct sched_attr_v0 {
	uint32_t	size;
	uint32_t	sched_policy;
	uint64_t	sched_flags;
	int32_t		sched_nice;
	uint32_t	sched_priority;
	uint64_t	sched_runtime;
	uint64_t	sched_deadline;
	uint64_t	sched_period;
};

void
thread_sched_yield_to_loop(void)
{
	struct sched_param sp = { .sched_priority = 0 };

	if (pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp) != 0)
		log_info("msg=\"cannot make a helper thread SCHED_BATCH; running as is\"");
}

void
thread_sched_short_slice(void)
{
	struct sched_attr_v0 attr;

	memset(&attr, 0, sizeof(attr));
	if (syscall(SYS_sched_getattr, 0, &attr, (unsigned int)sizeof(attr), 0U) != 0 ||
	    attr.sched_policy != SCHED_OTHER)
		return;		/* an operator's chrt or an old kernel: left as it is */
	attr.size = sizeof(attr);
	attr.sched_flags = SCHED_FLAG_RESET_ON_FORK;
	attr.sched_runtime = LOOP_SLICE_NS;
	if (syscall(SYS_sched_setattr, 0, &attr, 0U) != 0)
		log_info("msg=\"cannot shorten the event loop's time slice; running as is\"");
}
