/* log.c: logfmt lines on stderr ("ts=... level=... msg=..."), pseudonyms for user ids,
 * and rate limits for messages an attacker could otherwise flood.
 *
 * The logger is the one piece of process-wide state outside the daemon context: like
 * stderr itself it is used from every file and every thread, and threading a handle
 * through every call would buy nothing. It is set once at start and on reload. Each
 * thread batches its own lines (no lock per line) and writes them out whole on its
 * log_flush (every loop turn or tenth of a second), when its buffer is full, and at once
 * for warnings; lines of different threads may so appear up to a flush apart. The level
 * is atomic because the loop changes it on reload while the storage thread reads it. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "base.h"

static struct {
	_Atomic unsigned level;	/* an enum log_level */
	unsigned char	key[32];	/* pseudonym key; random until the store sets it */
	size_t		keylen;
	struct sig_key	*pseudonym;	/* key, prepared once the store set it */
} logger = { .level = LOG_INFO };

/* This thread's lines not yet written. */
static _Thread_local char tl_buf[1 << 15];
static _Thread_local size_t tl_used;

/* Each thread formats the date once a second for its own lines. */
static _Thread_local time_t ts_sec;		/* the second ts_text was formatted for */
static _Thread_local char ts_text[32];		/* "2026-11-24T16:30:00" */

static const char *level_names[] = { "debug", "info", "notice", "warn", "error" };

void
log_init(enum log_level level)
{
	logger.level = level;
	/* Until the database's secret is known, pseudonyms use a random key of their own;
	 * the same source every other random value here comes from. */
	if (logger.keylen == 0 && RAND_bytes(logger.key, 16) == 1)
		logger.keylen = 16;
}

void
log_set_level(enum log_level level)
{
	logger.level = level;
}

int
log_enabled(enum log_level level)
{
	return level >= logger.level;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void
log_set_pseudonym_key(const unsigned char *key, size_t len)
{
	if (len > sizeof(logger.key))
		len = sizeof(logger.key);
	memcpy(logger.key, key, len);
	logger.keylen = len;
	sig_key_free(logger.pseudonym);
	logger.pseudonym = sig_key_new((const char *)logger.key, logger.keylen);
}

void
log_user(const char *user_id, char out[16])
{
	unsigned char mac[32];
	unsigned int maclen = 0;

	if (user_id == NULL || *user_id == '\0') {
		snprintf(out, 16, "-");
		return;
	}
	if (logger.pseudonym != NULL)
		sig_key_mac(logger.pseudonym, user_id, strlen(user_id), mac);
	else
		HMAC(EVP_sha256(), logger.key, (int)logger.keylen,
		    (const unsigned char *)user_id, strlen(user_id), mac, &maclen);
	snprintf(out, 16, "u:%02x%02x%02x%02x", mac[0], mac[1], mac[2], mac[3]);
}

/* One fwrite per batch: stdio's own lock keeps batches of different threads whole. */
void
log_flush(void)
{
	if (tl_used > 0) {
		fwrite(tl_buf, 1, tl_used, stderr);
		tl_used = 0;
	}
	fflush(stderr);
}

/* A value needs quotes when it holds spaces, quotes or '='; bare otherwise. The caller
 * formats "key=value" pairs itself; msg is always quoted when needed. */
static void vlog(enum log_level, const char *, const char *, va_list)
    __attribute__((format(printf, 3, 0)));

static void
vlog(enum log_level level, const char *errstr, const char *fmt, va_list ap)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	int n, m;

	/* Lifecycle lines show unless only errors are wanted. */
	if (level < logger.level && !(level == LOG_NOTICE && logger.level < LOG_ERROR))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != ts_sec) {	/* busy logs format the date once a second */
		gmtime_r(&ts.tv_sec, &tm);
		strftime(ts_text, sizeof(ts_text), "%Y-%m-%dT%H:%M:%S", &tm);
		ts_sec = ts.tv_sec;
	}
	n = snprintf(line, sizeof(line), "ts=%s.%03ldZ level=%s ", ts_text,
	    ts.tv_nsec / 1000000, level_names[level]);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n >= sizeof(line) - 64)
		n = (int)sizeof(line) - 64;
	if (errstr != NULL)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " error=\"%s\"", errstr);
	line[n++] = '\n';
	if (tl_used + (size_t)n > sizeof(tl_buf))
		log_flush();
	memcpy(tl_buf + tl_used, line, (size_t)n);
	tl_used += (size_t)n;
	/* Warnings and errors are rare and must survive a crash that follows them. */
	if (level >= LOG_WARN)
		log_flush();
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, NULL, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, NULL, fmt, ap);
	va_end(ap);
}

void
log_notice(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_NOTICE, NULL, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARN, NULL, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vlog(LOG_WARN, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_errorx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERROR, NULL, fmt, ap);
	va_end(ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERROR, NULL, fmt, ap);
	va_end(ap);
	log_flush();
	exit(1);
}

int
log_ratelimit_ok(struct log_ratelimit *rl, unsigned long *suppressed)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (ts.tv_sec == rl->last_sec) {
		rl->suppressed++;
		return 0;
	}
	rl->last_sec = ts.tv_sec;
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return 1;
}
