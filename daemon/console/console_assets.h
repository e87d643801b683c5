/* console_assets.h: the console's files, built into the binary (scripts/embed-dir.sh
 * makes build/gen/console_assets.c from console/web/ and console/openapi.yaml). */
#ifndef SHOKAI_CONSOLE_ASSETS_H
#define SHOKAI_CONSOLE_ASSETS_H

#include <stddef.h>

struct console_asset {
	const char		*name;		/* the path below console/web/ */
	const char		*type;		/* Content-Type */
	const unsigned char	*bytes;		/* NUL-terminated */
	size_t			 len;		/* without the NUL */
};
/* Ends with a row whose name is NULL. */
extern const struct console_asset console_assets[];

#endif
