/* sim_main.c: shokaisim's entry point and help text; picks `serve` or `send`. */
#include <stdio.h>
#include <string.h>

#include "sim.h"

void
usage(FILE *f)
{
	fputs(
"usage: shokaisim serve [--listen 127.0.0.1:8091] [--record FILE] [--works-key PEM]\n"
"                       [--verbose] [--no-records]\n"
"       shokaisim send line --url URL --secret-file FILE [--type message|follow|\n"
"                       unfollow|postback] [--user Uxxx] [--text TEXT] [--data DATA]\n"
"                       [--unblocked] [--destination Uxxx] [--event-id ID]\n"
"                       [--reply-token T] [--redelivery] [--timeout S] [--verbose]\n"
"       shokaisim send works --url URL --bot-id ID --secret-file FILE --user USERID\n"
"                       [--text TEXT] [--postback DATA] [--channel CHANNELID]\n"
"                       [--domain-id N] [--timeout S] [--verbose]\n"
"\n"
"shokaisim plays the LINE Messaging API and the LINE WORKS Bot API on one loopback\n"
"port, so shokaid can run without a real channel, and sends signed webhooks to it.\n"
"\n"
"serve: runs in the foreground until SIGTERM/SIGINT (exit 0). Logs\n"
"  \"msg=listening addr=HOST:PORT\" on stderr once bound (port 0 = any free port).\n"
"  --record FILE   also append each answered API request to FILE as a JSON line\n"
"  --works-key PEM verify the RS256 signature of LINE WORKS JWT assertions with\n"
"                  this public key (or the private key itself)\n"
"  --verbose       log one line per API request on stderr\n"
"  --no-records    keep no record of API requests (benchmarks; counters still count)\n"
"  LINE: /v2/bot/message/{reply,push,multicast}, /v2/bot/message/quota[/consumption],\n"
"    /v2/bot/profile/{userId},\n"
"    /v2/bot/richmenu[...], /v2/bot/user/{all|userId}/richmenu[...]; any non-empty\n"
"    Bearer token; reply tokens work once; a reused X-Line-Retry-Key gets 409.\n"
"  LINE WORKS: POST /oauth2/v2.0/token (JWT-bearer or refresh_token grant),\n"
"    /v1.0/bots/{botId}/{users|channels}/{id}/messages, /v1.0/users/{userId}[/link-url],\n"
"    /v1.0/bots/{botId}/persistentmenu; tokens must be issued here and not revoked.\n"
"  Control API (no auth):\n"
"    GET  /_sim/requests[?since=SEQ]  recorded API requests, oldest first\n"
"    GET  /_sim/stats                 delivered_by_key, tokens_issued, requests, ...\n"
"    GET  /_sim/faults                fault rules still queued\n"
"    POST /_sim/reset                 forget records, faults and all state\n"
"    POST /_sim/quota {\"value\":N|null,\"used\":N}  the quota LINE reports\n"
"    POST /_sim/fault  {\"path\": PREFIX, \"status\": 500, \"count\": 2}\n"
"                      {\"path\": ..., \"status\": 429, \"headers\": {\"Retry-After\": \"1\"}}\n"
"                      {\"path\": ..., \"mode\": \"sleep\", \"ms\": 3000}\n"
"                      {\"path\": ..., \"mode\": \"drop\"}  (close without answering)\n"
"                      {\"path\": ..., \"mode\": \"accept_then_500\"}  (do it, answer 500)\n"
"                      {\"path\": ..., \"mode\": \"accept_then_drop\"}\n"
"                      optional: \"method\", \"body\" (raw answer), \"count\" -1 = until\n"
"                      reset; rules match by path prefix, first queued first\n"
"    POST /_sim/profile {\"userId\": ..., \"displayName\": ...} or {..., \"missing\": true}\n"
"    POST /_sim/revoke-tokens         LINE WORKS tokens issued so far stop working\n"
"\n"
"send: builds one webhook (LINE: destination + one event; LINE WORKS: one callback\n"
"  event), signs it with the secret from --secret-file (trailing newline dropped),\n"
"  POSTs it and prints the HTTP status. Exit 0 on 2xx, 1 otherwise, 2 on bad usage.\n"
"  send works --postback DATA alone sends a postback event; with --text it sends a\n"
"  text message whose content carries the postback string (a message action).\n",
	    f);
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "serve") == 0)
		return serve_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "send") == 0)
		return send_main(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc >= 2)
		fprintf(stderr, "shokaisim: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
