/* ctl_boxes.c: the daemon's in and out trays as operators see them: `inbox` (events per
 * state and recent failures), `quarantine` (signed bodies that could not be parsed),
 * `outbox` (messages that failed or may not have arrived; retry one) and `send` (queue
 * one text message). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* inbox [--format F] */
int
inbox_cmd(struct config *cf, int argc, char **argv)
{
	enum print_format format = PRINT_TABLE;
	struct store *s;
	int rc;

	if (ctl_take_format(&argc, argv, &format) == -1)
		return 2;
	if (argc != 0)
		return 2;
	if ((s = ctl_open_store(cf)) == NULL)
		return 1;
	rc = store_print_query(s, stdout, format, "SELECT platform, channel, state, count(*) "
	    "AS events FROM inbox GROUP BY 1, 2, 3 ORDER BY 1, 2, 3", NULL, 0);
	/* A person reading the table wants the reasons too; a script asks for them with
	 * SQL or the console's API. */
	if (rc == 0 && format == PRINT_TABLE) {
		printf("\nrecent failures:\n");
		rc = store_print_query(s, stdout, format, "SELECT id, platform, channel, type, "
		    "error FROM inbox WHERE state = 'failed' ORDER BY id DESC LIMIT 50", NULL, 0);
	}
	store_close(s);
	return rc == 0 ? 0 : 1;
}

/* quarantine [--format F] | quarantine show ID */
int
quarantine_cmd(struct config *cf, int argc, char **argv)
{
	enum print_format format = PRINT_TABLE;
	struct store *s;
	int64_t id = 0;
	int rc;

	if (ctl_take_format(&argc, argv, &format) == -1)
		return 2;
	if (argc == 2 && strcmp(argv[0], "show") == 0) {
		char *end;

		id = strtoll(argv[1], &end, 10);
		if (id <= 0 || *end != '\0') {
			fprintf(stderr, "shokaictl: quarantine show: '%s' is not an id\n", argv[1]);
			return 2;
		}
	} else if (argc != 0)
		return 2;
	if ((s = ctl_open_store(cf)) == NULL)
		return 1;
	if (id > 0)
		rc = store_print_quarantine(s, stdout, id);
	else
		rc = store_print_query(s, stdout, format, "SELECT id, strftime('%Y-%m-%dT%H:%M:%SZ', "
		    "received_at / 1000, 'unixepoch') AS received_utc, platform, channel, "
		    "length(body) AS bytes, reason FROM quarantine ORDER BY id DESC LIMIT 100",
		    NULL, 0);
	store_close(s);
	return rc == 0 ? 0 : 1;
}

/* outbox [all] [--format F] | outbox retry ID */
int
outbox_cmd(struct config *cf, int argc, char **argv)
{
	static const char list_sql[] = "SELECT id, platform, channel, kind, state, "
	    "attempts, coalesce(last_status, 0) AS status, coalesce(last_error, '') AS reason "
	    "FROM outbox WHERE ?1 = 'all' OR state IN ('failed', 'unknown') "
	    "ORDER BY id DESC LIMIT 100";
	enum print_format format = PRINT_TABLE;
	struct store *s;
	int64_t id = 0;
	int rc = 1;

	if (ctl_take_format(&argc, argv, &format) == -1)
		return 2;
	if (argc == 2 && strcmp(argv[0], "retry") == 0) {
		char *end;

		if ((id = strtoll(argv[1], &end, 10)) <= 0 || *end != '\0') {
			fprintf(stderr, "shokaictl: outbox retry: '%s' is not an id\n", argv[1]);
			return 2;
		}
	} else if (argc > 1 || (argc == 1 && strcmp(argv[0], "all") != 0))
		return 2;
	if ((s = ctl_open_store(cf)) == NULL)
		return 1;
	if (id > 0) {
		if (store_outbox_requeue(s, id) == 0) {
			printf("outbox %lld queued again\n", (long long)id);
			rc = 0;
		} else
			fprintf(stderr, "shokaictl: outbox retry: no failed message with id %lld\n",
			    (long long)id);
	} else {
		const char *args[] = { argc == 1 ? "all" : "problems" };

		rc = store_print_query(s, stdout, format, list_sql, args, 1) == 0 ? 0 : 1;
	}
	store_close(s);
	return rc;
}

/* send line CHANNEL TO TEXT | send works BOT USER TEXT: queues one text message; the
 * running daemon sends it within a scan interval. */
int
send_cmd(struct config *cf, int argc, char **argv)
{
	enum platform p;
	const char *channel, *to, *text;
	struct store *s = NULL;
	int rc;

	if (argc != 4 || (strcmp(argv[0], "line") != 0 && strcmp(argv[0], "works") != 0))
		return 2;
	p = strcmp(argv[0], "line") == 0 ? PLATFORM_LINE : PLATFORM_WORKS;
	channel = argv[1];
	to = argv[2];
	text = argv[3];
	if (p == PLATFORM_LINE && config_line_channel(cf, channel) == NULL) {
		fprintf(stderr, "shokaictl: send: no LINE channel '%s' in the config\n", channel);
		return 1;
	}
	if (p == PLATFORM_WORKS && config_works_bot(cf, channel) == NULL) {
		fprintf(stderr, "shokaictl: send: no LINE WORKS bot '%s' in the config\n",
		    channel);
		return 1;
	}
	if (utf8_valid(text, strlen(text)) == 0) {
		fprintf(stderr, "shokaictl: send: the text is not valid UTF-8\n");
		return 1;
	}
	if ((s = ctl_open_store(cf)) == NULL)
		return 1;
	/* The same path handlers take: the row gets its retry key there. */
	if (store_begin(s) == 0 && (p == PLATFORM_LINE ?
	    outmsg_line_push(s, channel, to, outmsg_line_text(text)) :
	    outmsg_works(s, channel, WORKS_TO_USER, to, outmsg_works_text(text))) == 0 &&
	    store_commit(s) == 0) {
		printf("queued\n");
		rc = 0;
	} else {
		fprintf(stderr, "shokaictl: send: %s\n", store_errmsg(s));
		store_rollback(s);
		rc = 1;
	}
	store_close(s);
	return rc;
}
