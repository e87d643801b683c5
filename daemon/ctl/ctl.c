/* ctl.c: shokaictl's entry point: the global options, loading the config (or, for a
 * command that only reads the database, its storage section when the rest is broken),
 * and handing the command its arguments. The commands themselves are listed, with
 * their help, in ctl_commands.c. Exit status: 0 done, 1 failed, 2 usage error. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

struct store *
ctl_open_store(const struct config *cf)
{
	char why[WHY_MAX];
	struct store *s = store_open(cf->sqlite_path, cf->synchronous_full,
	    cf->busy_timeout_ms, why, sizeof(why));

	if (s == NULL)
		fprintf(stderr, "shokaictl: %s\n", why);
	return s;
}

int
ctl_take_format(int *argc, char **argv, enum print_format *format)
{
	int out = 0;

	for (int i = 0; i < *argc; i++) {
		const char *value = NULL;

		if (strcmp(argv[i], "--format") == 0) {
			if (i + 1 == *argc) {
				fprintf(stderr, "shokaictl: --format needs table, csv or json\n");
				return -1;
			}
			value = argv[++i];
		} else if (strncmp(argv[i], "--format=", 9) == 0)
			value = argv[i] + 9;
		else {
			argv[out++] = argv[i];
			continue;
		}
		if (ctl_parse_format(value, format) == -1)
			return -1;
	}
	*argc = out;
	return 0;
}

static int
wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	return 0;
}

static int
usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "shokaictl: %s '%s'\nshokaictl --help lists the commands\n", what,
	    arg);
	return 2;
}

/* The whole config, or for a command that only reads, its storage section with a
 * warning: an operator whose edit broke a file can still see the rewards. */
static struct config *
load_config(const char *path, int reads_only)
{
	struct config_errors errs = { 0 };
	struct config *cf = config_load(path, &errs);

	if (cf == NULL && reads_only) {
		struct config_errors storage_errs = { 0 };

		cf = config_load_storage(path, &storage_errs);
		if (cf != NULL)
			fprintf(stderr, "shokaictl: warning: %s has %zu error%s (`shokaictl check` "
			    "lists them); reading the database its storage section names\n", path,
			    errs.n, errs.n == 1 ? "" : "s");
		config_errors_clear(&storage_errs);
	}
	if (cf == NULL)
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.lines[i]);
	config_errors_clear(&errs);
	return cf;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = "/etc/shokai/shokai.yaml";
	const struct ctl_command *cmd;
	struct config *cf;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "+c:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			ctl_print_usage(stdout);
			return 0;
		case 'V':
			printf("shokaictl %s\n", SHOKAI_VERSION);
			return 0;
		default:
			fprintf(stderr, "shokaictl --help lists the commands and options\n");
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		ctl_print_usage(stderr);
		return 2;
	}
	if ((cmd = ctl_command(argv[0])) == NULL)
		return usage_error("unknown command", argv[0]);
	if (wants_help(argc - 1, argv + 1)) {
		ctl_print_help(stdout, cmd);
		return 0;
	}
	if (cmd->run == NULL) {		/* help [COMMAND] */
		const struct ctl_command *about = argc > 1 ? ctl_command(argv[1]) : NULL;

		if (argc > 2 || (argc == 2 && about == NULL))
			return usage_error("help: no command", argv[1]);
		if (about != NULL)
			ctl_print_help(stdout, about);
		else
			ctl_print_usage(stdout);
		return 0;
	}
	log_init(LOG_WARN);
	if ((cf = load_config(path, ctl_reads_only(cmd, argc - 1, argv + 1))) == NULL)
		return 1;
	/* Dates in reports and listings are the config's local dates. */
	setenv("TZ", cf->timezone, 1);
	tzset();
	rc = cmd->run(cf, argc - 1, argv + 1);
	if (rc == 2) {
		fprintf(stderr, "shokaictl: %s: wrong arguments\n", cmd->name);
		ctl_print_help(stderr, cmd);
	}
	config_unref(cf);
	log_flush();
	return rc;
}
