/* http_token.c: whether a header value that is a comma-separated list of tokens
 * (Connection: keep-alive, Upgrade) names one, in any case: the one reader of such lists
 * for the listener (http_server.c) and the client's answers (http_response.c). */
#include <string.h>
#include <strings.h>

#include "base.h"

int
http_token_in(const char *v, size_t n, const char *word)
{
	size_t wl = strlen(word);

	for (size_t i = 0; i + wl <= n; i++)
		if (strncasecmp(v + i, word, wl) == 0 &&
		    (i == 0 || v[i - 1] == ',' || v[i - 1] == ' ' || v[i - 1] == '\t') &&
		    (i + wl == n || v[i + wl] == ',' || v[i + wl] == ' ' || v[i + wl] == '\t'))
			return 1;
	return 0;
}
