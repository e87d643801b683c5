/* fault.c: named fault points for crash and recovery tests. Compiled to nothing in
 * release builds; in test builds SHOKAI_FAULT names the point that fires. */
#include <stdlib.h>
#include <string.h>

#include "base.h"

int
fault_enabled(const char *point)
{
#ifdef SHOKAI_FAULT_HOOKS
	const char *env = getenv("SHOKAI_FAULT");

	return env != NULL && strcmp(env, point) == 0;
#else
	(void)point;
	return 0;
#endif
}
