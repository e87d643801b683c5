/* sim.h: the one internal header of shokaisim, the local LINE / LINE WORKS platform
 * simulator; prototypes are grouped by the file that owns them. */
#ifndef SIM_H
#define SIM_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

/* Allocation, HMAC signing, SHA-256 and clocks are the daemon's own (xmalloc.c,
 * sig.c, clock.c), linked in, so the simulator signs exactly as LINE and shokaid do. */
#include "../../daemon/base/base.h"

struct event;
struct event_base;
struct evhttp;
struct evhttp_request;
struct evkeyvalq;
struct evp_pkey_st;

/* Every limit in one place. */
#define SIM_MAX_BODY		(4u << 20)	/* request bodies; evhttp answers 413 above */
#define SIM_MAX_HEADERS		(64u << 10)	/* request header block */
#define SIM_IDLE_TIMEOUT_S	60		/* idle keep-alive connections are closed */
#define SIM_MAX_RECORDS		100000		/* recorded requests kept; the oldest go first */
#define SIM_MAX_RECORD_BYTES	(256u << 20)	/* recorded body bytes kept, the same way */
#define SIM_MAX_STATE_BODY	(64u << 10)	/* a body the simulator keeps: a rich menu,
						   persistent menu, profile or fault rule */
#define SIM_MAX_FAULTS		256		/* queued fault rules */
#define SIM_MAX_FAULT_COUNT	1000000		/* "count" of one rule (-1 = until reset) */
#define SIM_MAX_SLEEP_MS	600000		/* "ms" of a sleep fault */
#define SIM_MAX_KEYS		100000		/* reply tokens, retry keys, links, tokens:
						   the oldest entry is forgotten beyond this */
#define SIM_MAX_PROFILES	10000		/* users set through /_sim/profile */
#define SIM_MAX_MENUS		1000		/* rich menus per channel (LINE's own limit) */
#define SIM_MAX_ALIASES		1000		/* rich menu aliases (LINE's own limit) */
#define SIM_MAX_MENU_IMAGE	(1u << 20)	/* rich menu image bytes (LINE's own limit) */
#define SIM_MAX_BOTS		1000		/* LINE WORKS persistent menus kept */
#define SIM_SEG_MAX		256		/* one decoded path segment */
#define SIM_MAX_SECRET		4096		/* bytes of a secret file */
#define SIM_MAX_ARG		4096		/* bytes of one command-line value */

/* sim_util.c: allocation that dies on failure, logging, ids, encodings, paths. */
/* One logfmt line on stderr: "ts=... level=LEVEL <msg>". */
void util_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Now as "YYYY-MM-DDThh:mm:ss.SSSZ" (UTC), the LINE WORKS issuedTime format. */
void util_iso_time(char out[32]);
/* Random bytes from OpenSSL; dies if the generator fails (nothing sane to do). */
void util_random(void *, size_t);
void util_random_hex(char *out, size_t nhex);	/* nhex chars + NUL */
void util_uuid(char out[37]);			/* random version-4 UUID */
void util_ulid(char out[27]);			/* 26-char Crockford base32, time first */
void util_digits(char *out, size_t ndigits);	/* decimal, no leading zero */
void util_base62(char *out, size_t n);
/* base64 (standard alphabet, padded) of len bytes: returns a malloc'd string. */
char *util_base64(const void *, size_t len);
/* Decodes unpadded base64url; returns the byte count or -1 (bad char or too long). */
long util_base64url_decode(const char *in, size_t inlen, unsigned char *out, size_t cap);
/* base64 HMAC-SHA256 of body under key (44 chars + NUL); -1 if OpenSSL fails. */
/* Hex SHA-256 of data. */
/* UTF-16 code units of a UTF-8 string (LINE counts text lengths that way). */
size_t util_utf16_len(const char *);
size_t util_codepoints(const char *);
/* A JSON string of bytes that may not be UTF-8: invalid bytes become U+FFFD. */
json_t *util_json_text(const char *, size_t);
/* Matches a raw request path against pattern, where each '*' matches one segment;
 * the n-th '*' segment, percent-decoded, lands in caps[n]. Returns 1 on a match. */
int util_path_match(const char *path, const char *pattern, char caps[][SIM_SEG_MAX],
    int ncaps);
/* Inserts key into a bounded map, forgetting the oldest entry when it is full. Steals
 * val. Returns 1 if an old entry was forgotten. */
int util_map_put(json_t *map, const char *key, json_t *val, size_t max);

/* sim_serve.c: `shokaisim serve`; the listener, the router, recording, faults, and
 * every response. */
enum sim_platform { PLAT_NONE, PLAT_LINE, PLAT_WORKS, PLAT_WORKS_AUTH };

struct sim_fault;
struct sim_req;

/* The simulator's whole state; one per process, reset by POST /_sim/reset. */
struct sim {
	struct event_base	*base;
	struct evhttp		*http;
	FILE			*record_file;
	int			 verbose;
	int			 no_records;	/* --no-records: /_sim/requests stays empty */
	struct evp_pkey_st	*works_key;	/* verifies JWT assertions when set */

	json_t			*records;	/* array of recorded requests */
	uint64_t		 seq;		/* last recorded seq */
	uint64_t		 records_dropped;
	size_t			 record_bytes;	/* body bytes held by records */
	struct sim_fault	*faults;	/* applied first to last */
	int			 nfaults;
	struct sim_req		*pending;	/* replies held back by a sleep fault */

	/* LINE Messaging API */
	json_t			*reply_tokens;	/* used token -> true */
	json_t			*retry_keys;	/* key -> {request_id, kind, sentMessages} */
	json_t			*profiles;	/* userId -> {displayName?, missing?} */
	json_t			*menus;		/* richMenuId -> {menu, image} */
	json_t			*aliases;	/* aliasId -> richMenuId */
	json_t			*user_menus;	/* userId -> richMenuId */
	char			*default_menu;
	uint64_t		 line_delivered; /* accepted reply, push and multicast */
	int64_t			 quota_limit;	/* monthly message quota; -1: "none" */
	uint64_t		 quota_used;	/* recipients of accepted push and multicast */
	uint64_t		 keys_forgotten;

	/* LINE WORKS */
	json_t			*tokens;	/* access token -> {revoked} */
	json_t			*refresh_tokens; /* refresh token -> client_id */
	json_t			*persistent_menus; /* botId -> menu */
	uint64_t		 token_seq;	/* never reset: old tokens stay unknown */
	uint64_t		 tokens_issued;
	uint64_t		 works_delivered;
};

/* One API or control request, from arrival until its answer is sent. */
struct sim_req {
	struct sim		*sim;
	struct evhttp_request	*req;
	enum sim_platform	 platform;
	int			 method;	/* enum evhttp_cmd_type */
	const char		*method_name;
	char			*path;		/* raw, without the query */
	char			*query;		/* raw, or NULL */
	char			*body;		/* NUL-terminated copy */
	size_t			 body_len;
	char			 request_id[37];

	int			 status;	/* the answer, set by the handler */
	char			*resp;		/* its body (malloc'd) or NULL */

	json_t			*record;	/* own reference; NULL for control requests */
	struct sim_fault	*fault;		/* copy of the rule that hit, or NULL */
	struct event		*timer;		/* sleep fault */
	struct sim_req		*next;		/* sim->pending */
};

int serve_main(int argc, char **argv);
/* The answer: status and a JSON body (stolen; NULL for none). The router sends it. */
void serve_json(struct sim_req *, int status, json_t *body);
void serve_header(struct sim_req *, const char *name, const char *value);
/* The platform's error body for status: {"message"} on LINE, {"code","description"}
 * on LINE WORKS, {"error","error_description"} on the WORKS token endpoint. */
void serve_error(struct sim_req *, int status, const char *message);
const char *serve_input_header(struct sim_req *, const char *name);
/* The request body as a JSON object of at most max bytes; otherwise answers 400 (or
 * 413) in the platform's shape and returns NULL. */
json_t *serve_body_json(struct sim_req *, size_t max);
/* Clears state, records and faults (POST /_sim/reset). */
void serve_reset(struct sim *);

/* sim_line.c: the LINE Messaging API. */
void line_route(struct sim_req *);

/* sim_works.c: the LINE WORKS Bot API and its token endpoint. */
void works_route(struct sim_req *);
/* Loads the PEM public (or private) key that verifies JWT assertions. */
struct evp_pkey_st *works_load_key(const char *path, char *err, size_t errlen);

/* sim_ctl.c: the control API under /_sim/ for tests. */
void ctl_route(struct sim_req *);
/* Takes the fault rule that matches this request, if any (a copy the caller frees). */
struct sim_fault *ctl_fault_take(struct sim *, const char *method, const char *path);
void ctl_fault_free(struct sim_fault *);
void ctl_faults_clear(struct sim *);
enum fault_mode { FAULT_STATUS, FAULT_SLEEP, FAULT_DROP, FAULT_ACCEPT_THEN_STATUS,
    FAULT_ACCEPT_THEN_DROP };
struct sim_fault {
	char			*path;		/* prefix */
	char			*method;	/* or NULL for any */
	enum fault_mode		 mode;
	int			 status;
	int			 ms;
	long			 count;		/* -1 = until reset */
	json_t			*headers;	/* extra response headers, or NULL */
	char			*body;		/* response body override, or NULL */
	struct sim_fault	*next;
};
const char *ctl_fault_mode_name(enum fault_mode);

/* sim_send.c: `shokaisim send line|works`: signed webhooks to a running shokaid. */
int send_main(int argc, char **argv);

/* sim_main.c */
void usage(FILE *);

#endif
