/* http_metrics.c: what the public listener answered, counted for /metrics: each
 * request by the kind of its path and its status, and its latency from routing to the
 * answer handed to the kernel, in a histogram. Loop only (http_server.c calls it for
 * each answer); relaxed atomic adds, because the console thread reads the counters. */
#include <string.h>

#include "../shokaid.h"

/* Upper bounds in microseconds; http_metrics_bucket_le says them in seconds. */
static const int64_t bucket_us[HTTP_LATENCY_BUCKETS] = { 500, 1000, 2500, 5000, 10000,
    25000, 50000, 100000, 250000, 500000, 1000000, 2500000 };
static const int statuses[HTTP_METRIC_STATUSES - 1] = { 200, 302, 400, 401, 404, 405, 413,
    503 };
static const char *const kind_names[PATH_KINDS] = { "line", "works", "invite", "other" };

static enum http_path_kind
path_kind(const char *path)
{
	if (path == NULL)
		return PATH_OTHER;
	if (strncmp(path, "/line/", 6) == 0)
		return PATH_LINE;
	if (strncmp(path, "/works/", 7) == 0)
		return PATH_WORKS;
	if (strncmp(path, "/r/", 3) == 0)
		return PATH_INVITE;
	return PATH_OTHER;
}

void
http_metrics_record(struct http_metrics *m, const char *path, int code, int64_t latency_us)
{
	enum http_path_kind k = path_kind(path);
	int s, b;

	for (s = 0; s < HTTP_METRIC_STATUSES - 1 && statuses[s] != code; s++)
		;
	for (b = 0; b < HTTP_LATENCY_BUCKETS && latency_us > bucket_us[b]; b++)
		;
	atomic_fetch_add_explicit(&m->answers[k][s], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->latency[k][b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->latency_sum_us[k], (unsigned long long)latency_us,
	    memory_order_relaxed);
}

const char *
http_metrics_kind_name(enum http_path_kind k)
{
	return kind_names[k];
}

/* The status a column counts; 0 for the last, "other". */
int
http_metrics_status(int i)
{
	return i < HTTP_METRIC_STATUSES - 1 ? statuses[i] : 0;
}

int64_t
http_metrics_bucket_us(int i)
{
	return bucket_us[i];
}
