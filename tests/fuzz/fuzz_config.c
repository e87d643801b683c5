/* fuzz_config.c: libFuzzer target for the YAML config loader: any bytes must give a
 * snapshot or errors, never a crash or a leak. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../daemon/shokaid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/shokai-fuzz-config-XXXXXX";
	struct config_errors errs = { 0 };
	struct config *cf;
	int fd = mkstemp(path);

	if (fd == -1)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		unlink(path);
		return 0;
	}
	close(fd);
	cf = config_load(path, &errs);
	config_unref(cf);
	config_errors_clear(&errs);
	unlink(path);
	return 0;
}
