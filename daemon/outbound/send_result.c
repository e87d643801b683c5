/* send_result.c: what both platforms' answers mean alike. line_api.c and works_api.c
 * each classify their own platform's refusals; the transport failure and the 2xx are
 * decided here once. */
#include <stdio.h>
#include <string.h>

#include "../shokaid.h"

int
send_result_common(struct send_result *res, const struct http_response *r, int64_t start_us)
{
	memset(res, 0, sizeof(*res));
	res->status = r->status;
	res->latency_us = clock_us() - start_us;
	if (r->status == 0) {
		res->outcome = SEND_RETRY;
		res->ambiguous = r->ambiguous;
		snprintf(res->error, sizeof(res->error), "%s", r->error ? r->error : "no answer");
		return 1;
	}
	if (r->status >= 200 && r->status < 300) {
		res->outcome = SEND_OK;
		return 1;
	}
	return 0;
}
