/* tests/bench/bare.c: the ceiling server for `make bench`.
 *
 * The least a correct LINE webhook receiver must do for each request, on the same stack as
 * shokaid (libevent evhttp, OpenSSL, jansson) and nothing else: read the body, check
 * X-Line-Signature = base64(HMAC-SHA256(channel secret, body)) with one keyed HMAC context
 * re-initialised per request and CRYPTO_memcmp, parse the body with json_loadb, check that
 * it has an "events" array, and answer 200 with an empty body (401 on a bad or missing
 * signature, 400 on a body that is not such JSON). It stores nothing and runs no handler,
 * so shokaid's ratio to it is the price of durability and of the bot's work.
 *
 *   build/bench-bare PORT [SECRET_FILE]     PORT 0: any free port
 *   (or LINE_CHANNEL_SECRET_FILE=path, or LINE_CHANNEL_SECRET=secret, as ref-server.js)
 *
 * Listens on 127.0.0.1 with the limits of run.sh's shokaid config (256 KiB bodies, 16 KiB
 * of headers, 5 s idle timeout, listen backlog 4096 as shokaid's own listener), serves
 * POST /line/main, prints "listening PORT" on stdout once it accepts connections, and
 * exits 0 on SIGTERM or SIGINT.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#define PATH_LINE	"/line/main"
#define MAX_BODY	(256 * 1024)
#define MAX_HEADERS	(16 * 1024)
#define IDLE_TIMEOUT_S	5
#define LISTEN_BACKLOG	4096
#define MAC_LEN		32
#define SIG_B64_LEN	44	/* base64 of 32 bytes, padded */
#define SECRET_MAX	1024

struct bare {
	EVP_MAC_CTX	*mac;	/* keyed once; EVP_MAC_init(NULL key) per request */
};

static _Noreturn void
fail(const char *what)
{
	fprintf(stderr, "bench-bare: %s\n", what);
	exit(1);
}

static void
line_cb(struct evhttp_request *req, void *arg)
{
	struct bare *b = arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	const unsigned char *body = (const unsigned char *)"";
	const char *sig;
	unsigned char mac[MAC_LEN];
	char want[SIG_B64_LEN + 1];
	size_t len = evbuffer_get_length(in), maclen = 0;
	json_t *root;
	int ok;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
		evhttp_send_reply(req, 405, "Method Not Allowed", NULL);
		return;
	}
	if (len > 0 && (body = evbuffer_pullup(in, -1)) == NULL) {
		evhttp_send_reply(req, 500, "Internal Server Error", NULL);
		return;
	}
	sig = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Line-Signature");
	if (EVP_MAC_init(b->mac, NULL, 0, NULL) != 1 || EVP_MAC_update(b->mac, body, len) != 1 ||
	    EVP_MAC_final(b->mac, mac, &maclen, sizeof(mac)) != 1 || maclen != MAC_LEN) {
		evhttp_send_reply(req, 500, "Internal Server Error", NULL);
		return;
	}
	EVP_EncodeBlock((unsigned char *)want, mac, MAC_LEN);
	if (sig == NULL || strlen(sig) != SIG_B64_LEN ||
	    CRYPTO_memcmp(want, sig, SIG_B64_LEN) != 0) {
		evhttp_send_reply(req, 401, "Unauthorized", NULL);
		return;
	}
	root = json_loadb((const char *)body, len, 0, NULL);
	ok = root != NULL && json_is_array(json_object_get(root, "events"));
	json_decref(root);
	if (ok)
		evhttp_send_reply(req, 200, "OK", NULL);
	else
		evhttp_send_reply(req, 400, "Bad Request", NULL);
}

static void
stop_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopexit(arg, NULL);
}

/* The channel secret as run.sh's config gives it to shokaid: the file's text without the
 * surrounding whitespace. */
static size_t
read_secret(const char *file, char *out, size_t cap)
{
	const char *env = getenv("LINE_CHANNEL_SECRET");
	size_t n = 0, start = 0;

	if (file == NULL)
		file = getenv("LINE_CHANNEL_SECRET_FILE");
	if (file != NULL) {
		FILE *f = fopen(file, "rb");

		if (f == NULL) {
			fprintf(stderr, "bench-bare: %s: %s\n", file, strerror(errno));
			exit(1);
		}
		n = fread(out, 1, cap - 1, f);
		if (ferror(f) || !feof(f))
			fail("cannot read the secret file (or it is over 1 KiB)");
		fclose(f);
	} else if (env != NULL && strlen(env) < cap) {
		n = strlen(env);
		memcpy(out, env, n);
	} else
		fail("give the channel secret: SECRET_FILE, LINE_CHANNEL_SECRET_FILE or LINE_CHANNEL_SECRET");
	while (n > 0 && isspace((unsigned char)out[n - 1]))
		n--;
	while (start < n && isspace((unsigned char)out[start]))
		start++;
	memmove(out, out + start, n - start);
	n -= start;
	out[n] = '\0';
	if (n == 0)
		fail("the channel secret is empty");
	return n;
}

static int
open_listener(int port)
{
	struct sockaddr_in sa;
	int fd, one = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 || listen(fd, LISTEN_BACKLOG) == -1) {
		fprintf(stderr, "bench-bare: 127.0.0.1:%d: %s\n", port, strerror(errno));
		exit(1);
	}
	return fd;
}

int
main(int argc, char **argv)
{
	struct bare b = { 0 };
	struct event_base *base;
	struct evhttp *http;
	struct event *ev_term, *ev_int;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	char secret[SECRET_MAX], digest[] = "SHA256", *end;
	size_t secret_len;
	EVP_MAC *hmac;
	OSSL_PARAM params[2];
	long port;
	int fd;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: bench-bare PORT [SECRET_FILE]\n");
		return 2;
	}
	errno = 0;
	port = strtol(argv[1], &end, 10);
	if (errno != 0 || *end != '\0' || end == argv[1] || port < 0 || port > 65535)
		fail("PORT must be 0-65535");
	secret_len = read_secret(argc == 3 ? argv[2] : NULL, secret, sizeof(secret));

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (b.mac = EVP_MAC_CTX_new(hmac)) == NULL ||
	    EVP_MAC_init(b.mac, (const unsigned char *)secret, secret_len, params) != 1)
		fail("cannot set up HMAC-SHA256");
	EVP_MAC_free(hmac);
	OPENSSL_cleanse(secret, sizeof(secret));

	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL || (http = evhttp_new(base)) == NULL)
		fail("cannot set up libevent");
	evhttp_set_max_body_size(http, MAX_BODY);
	evhttp_set_max_headers_size(http, MAX_HEADERS);
	evhttp_set_timeout(http, IDLE_TIMEOUT_S);
	if (evhttp_set_cb(http, PATH_LINE, line_cb, &b) != 0)
		fail("cannot route " PATH_LINE);
	fd = open_listener((int)port);
	if (evhttp_accept_socket(http, fd) != 0)
		fail("evhttp_accept_socket failed");
	if ((ev_term = evsignal_new(base, SIGTERM, stop_cb, base)) == NULL ||
	    (ev_int = evsignal_new(base, SIGINT, stop_cb, base)) == NULL ||
	    event_add(ev_term, NULL) != 0 || event_add(ev_int, NULL) != 0)
		fail("cannot catch SIGTERM/SIGINT");
	if (getsockname(fd, (struct sockaddr *)&sa, &sl) != 0)
		fail("getsockname failed");
	printf("listening %u\n", (unsigned)ntohs(sa.sin_port));
	fflush(stdout);

	event_base_dispatch(base);

	event_free(ev_term);
	event_free(ev_int);
	evhttp_free(http);
	event_base_free(base);
	EVP_MAC_CTX_free(b.mac);
	return 0;
}
