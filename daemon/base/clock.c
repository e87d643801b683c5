/* clock.c: the clocks: monotonic for latencies and timers, wall for stored times, and
 * today's date where the operator is (the config's timezone, which main.c makes the
 * process's). */
#include <string.h>
#include <time.h>

#include "base.h"

int64_t
clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
clock_thread_cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
local_date(int64_t at_wall_ms, char out[11])
{
	time_t now = (time_t)(at_wall_ms / 1000);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

int
local_midnight(const char *date, int shift, int64_t *ms)
{
	struct tm tm;
	int v[3] = { 0, 0, 0 };
	static const int len[3] = { 4, 2, 2 };
	const char *p = date;
	time_t t;

	for (int f = 0; f < 3; f++) {
		for (int i = 0; i < len[f]; i++, p++) {
			if (*p < '0' || *p > '9')
				return -1;
			v[f] = v[f] * 10 + (*p - '0');
		}
		if (*p++ != (f < 2 ? '-' : '\0'))
			return -1;
	}
	if (v[0] < 1900 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = v[0] - 1900;
	tm.tm_mon = v[1] - 1;
	tm.tm_mday = v[2];
	tm.tm_isdst = -1;	/* whichever is in force at that midnight */
	/* mktime would take 2027-02-30 for March 2nd: a date it moved is no date */
	if ((t = mktime(&tm)) == (time_t)-1 || tm.tm_mday != v[2] || tm.tm_mon != v[1] - 1)
		return -1;
	if (shift != 0) {
		tm.tm_mday += shift;
		tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		tm.tm_isdst = -1;
		if ((t = mktime(&tm)) == (time_t)-1)
			return -1;
	}
	*ms = (int64_t)t * 1000;
	return 0;
}
