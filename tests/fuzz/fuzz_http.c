/* fuzz_http.c: libFuzzer target for the HTTP listener as a client sees it: raw bytes
 * into the real server (http_server.c and its head check, the routes, signature checks,
 * group commit and the store) on a real event loop over loopback TCP.
 *
 * LLVMFuzzerInitialize sets the daemon up as main.c does, in a temp folder, with one
 * LINE channel whose secret is "fuzz-secret" (so seeds may carry good signatures and
 * reach the store). The first byte of an input says how the rest is written on a fresh
 * connection: 0 in one go, n > 0 in pieces of n bytes with a loop turn between them (so
 * heads and bodies arrive split anywhere); then the connection is half-closed and the
 * loop runs until the server closes it. The server must close every
 * connection within CLOSE_WITHIN_S (a head it cannot frame gets 400, a partial request
 * meets EOF or read_timeout): a connection still held open then is reported as a crash,
 * as is any ASan or UBSan finding. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "../../daemon/shokaid.h"

#define CLOSE_WITHIN_S	5

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct daemon fz;
static int fz_port;
static char fz_dir[] = "/tmp/shokai-fuzz-http-XXXXXX";
static const char *const fz_files[] = { "line-secret", "line-token", "shokai.yaml",
    "shokai.db", "shokai.db-wal", "shokai.db-shm" };

/* One client connection's state while the loop runs. */
struct client {
	int		 fd;
	struct event	*ev_wr;
	const uint8_t	*data;
	size_t		 size, sent;
	size_t		 piece;		/* bytes per send; 0 for all at once */
	int		 closed;	/* the server closed (EOF or reset) */
	int		 timed_out;
};

static void
write_file(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fz_dir, name);
	if ((f = fopen(path, "w")) == NULL || fputs(text, f) == EOF || fclose(f) != 0) {
		fprintf(stderr, "fuzz_http: cannot write %s\n", path);
		abort();
	}
}

/* The temp folder goes when the fuzzer exits (the database stays open until then). */
static void
remove_dir(void)
{
	char path[512];

	for (size_t i = 0; i < sizeof(fz_files) / sizeof(fz_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", fz_dir, fz_files[i]);
		(void)unlink(path);
	}
	(void)rmdir(fz_dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char cfgpath[512], why[WHY_MAX];
	struct store *store;

	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	umask(077);
	log_init(LOG_ERROR);
	if (mkdtemp(fz_dir) == NULL)
		abort();
	atexit(remove_dir);
	write_file("line-secret", "fuzz-secret\n");
	write_file("line-token", "fuzz-token\n");
	write_file("shokai.yaml",
	    "server:\n"
	    "  listen: 127.0.0.1:0\n"
	    "  public_url: http://127.0.0.1\n"
	    "  max_body: 64KiB\n"
	    "  max_headers: 8KiB\n"
	    "  read_timeout: 1s\n"
	    "  idle_timeout: 1s\n"
	    "  max_connections: 64\n"
	    "storage:\n"
	    "  sqlite: shokai.db\n"
	    "  synchronous: normal\n"
	    "log:\n"
	    "  level: error\n"
	    "line:\n"
	    "  channels:\n"
	    "    - id: main\n"
	    "      basic_id: \"@fuzz\"\n"
	    "      channel_secret_file: line-secret\n"
	    "      access_token_file: line-token\n"
	    "      api_base: http://127.0.0.1:9\n"
	    "      api_data_base: http://127.0.0.1:9\n");
	snprintf(cfgpath, sizeof(cfgpath), "%s/shokai.yaml", fz_dir);
	if ((fz.cfg = config_load_print(cfgpath, stderr)) == NULL)
		abort();
	fz.config_path = xstrdup(cfgpath);
	store = store_open(fz.cfg->sqlite_path, 0, (int)fz.cfg->busy_timeout_ms, why, sizeof(why));
	if (store == NULL || store_meta_salt(store, fz.salt) == -1) {
		fprintf(stderr, "fuzz_http: store: %s\n", why);
		abort();
	}
	if (evthread_use_pthreads() == -1 || (fz.base = event_base_new()) == NULL ||
	    event_base_priority_init(fz.base, PRIO_COUNT) == -1)
		abort();
	/* As shokaid runs: the storage thread owns the store. */
	fz.loop_mail = mailbox_new(fz.base, PRIO_IO, &fz, 2);
	fz.waits = http_waits_new();
	fz.storage = storage_start(&fz, store, fz.cfg);
	fz.ingest = ingest_new(&fz);
	fz.http_client = http_client_new(fz.base, PRIO_BACKGROUND);
	fz.outbox = outbox_new(&fz);
	fz.http_invite = http_invite_new();
	fz.rep_links = rep_links_new(&fz);
	if (http_start(&fz, why, sizeof(why)) == -1) {
		fprintf(stderr, "fuzz_http: %s\n", why);
		abort();
	}
	fz.started_ms = clock_ms();
	fz_port = http_server_port(fz.http);
	if (fz_port <= 0)
		abort();
	return 0;
}

static void
client_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	char sink[16384];
	ssize_t n;

	if (what & EV_WRITE) {
		if (c->sent < c->size) {
			size_t k = c->size - c->sent;

			if (c->piece > 0 && k > c->piece)
				k = c->piece;
			n = send(fd, c->data + c->sent, k, MSG_NOSIGNAL);
			if (n > 0)
				c->sent += (size_t)n;
			else if (n == -1 && errno != EAGAIN && errno != EINTR)
				c->sent = c->size;	/* reset by the server: stop sending */
		}
		if (c->sent == c->size) {
			shutdown(fd, SHUT_WR);
			event_del(c->ev_wr);
		}
	}
	if (what & EV_READ) {
		/* Responses are read and dropped: the sanitizers judge, not the answer. */
		while ((n = recv(fd, sink, sizeof(sink), 0)) > 0)
			;
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
			c->closed = 1;
			/* A persistent event on a closed socket stays active: leave the loop. */
			event_base_loopbreak(fz.base);
		}
	}
}

static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	((struct client *)arg)->timed_out = 1;
	event_base_loopbreak(fz.base);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct client c = { .fd = -1 };
	struct sockaddr_in sin;
	struct timeval limit = { CLOSE_WITHIN_S, 0 };
	struct event *ev_rd, *ev_timeout;

	if (size < 1)
		return 0;
	c.piece = data[0];
	c.data = data + 1;
	c.size = size - 1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)fz_port);
	if ((c.fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(c.fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    evutil_make_socket_nonblocking(c.fd) == -1) {
		perror("fuzz_http: connect");
		abort();
	}
	ev_rd = event_new(fz.base, c.fd, EV_READ | EV_PERSIST, client_cb, &c);
	ev_timeout = evtimer_new(fz.base, timeout_cb, &c);
	event_add(ev_rd, NULL);
	evtimer_add(ev_timeout, &limit);
	c.ev_wr = event_new(fz.base, c.fd, EV_WRITE | EV_PERSIST, client_cb, &c);
	if (c.size == 0)
		shutdown(c.fd, SHUT_WR);
	else
		event_add(c.ev_wr, NULL);
	while (!c.closed && !c.timed_out)
		event_base_loop(fz.base, EVLOOP_ONCE);
	if (c.timed_out) {
		fprintf(stderr, "fuzz_http: the server held the connection for %d s\n",
		    CLOSE_WITHIN_S);
		abort();
	}
	/* Let the server finish its side of the connection. */
	event_base_loop(fz.base, EVLOOP_NONBLOCK);
	event_free(c.ev_wr);
	event_free(ev_rd);
	event_free(ev_timeout);
	close(c.fd);
	return 0;
}
