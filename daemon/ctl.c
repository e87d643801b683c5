/* ctl.c: shokaictl, the operator's tool: check a config, and look at what the daemon
 * stored (inbox states, quarantined bodies). Later issues add rich menus, imports,
 * referrals, rewards and reports here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shokaid.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: shokaictl [-c FILE] COMMAND\n"
	    "  check                 validate the config; print ok or every error\n"
	    "  inbox                 events per platform, channel and state; recent failures\n"
	    "  quarantine            signed bodies that could not be parsed\n"
	    "  quarantine show ID    one quarantined body, byte for byte\n"
	    "  -c FILE               config file (default /etc/shokai/shokai.yaml)\n");
	exit(2);
}

static struct store *
open_store(const struct config *cf)
{
	char *err = NULL;
	struct store *s = store_open(cf->sqlite_path, cf->synchronous_full,
	    cf->busy_timeout_ms, &err);

	if (s == NULL) {
		fprintf(stderr, "shokaictl: %s\n", err);
		free(err);
	}
	return s;
}

int
main(int argc, char **argv)
{
	const char *path = "/etc/shokai/shokai.yaml", *cmd;
	struct config *cf;
	struct store *s = NULL;
	int ch, rc = 1;

	while ((ch = getopt(argc, argv, "c:h")) != -1) {
		if (ch == 'c')
			path = optarg;
		else
			usage();
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	cmd = argv[0];
	log_init(LOG_WARN);
	if ((cf = config_load_print(path, stderr)) == NULL)
		return 1;
	if (strcmp(cmd, "check") == 0 && argc == 1) {
		printf("ok\n");
		rc = 0;
	} else if (strcmp(cmd, "inbox") == 0 && argc == 1) {
		if ((s = open_store(cf)) != NULL)
			rc = store_print_inbox_summary(s, stdout) == 0 ? 0 : 1;
	} else if (strcmp(cmd, "quarantine") == 0 && (argc == 1 ||
	    (argc == 3 && strcmp(argv[1], "show") == 0))) {
		int64_t id = argc == 3 ? strtoll(argv[2], NULL, 10) : 0;

		if (argc == 3 && id <= 0) {
			fprintf(stderr, "shokaictl: quarantine show: '%s' is not an id\n", argv[2]);
		} else if ((s = open_store(cf)) != NULL)
			rc = store_print_quarantine(s, stdout, id) == 0 ? 0 : 1;
	} else
		usage();
	store_close(s);
	config_unref(cf);
	log_flush();
	return rc;
}
