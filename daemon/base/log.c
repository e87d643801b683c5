/* log.c: logfmt lines on stderr ("ts=... level=... msg=..."), or JSON ones (log.format),
 * journald's priorities when systemd reads stderr, pseudonyms for user ids,
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
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "base.h"

static struct {
	_Atomic unsigned level;	/* an enum log_level */
	_Atomic unsigned format;	/* an enum log_format */
	int		journal;	/* stderr is systemd's journal: see log_init */
	unsigned char	key[32];	/* pseudonym key; random until the store sets it */
	size_t		keylen;
	struct sig_key	*pseudonym;	/* key, prepared once the store set it */
	_Atomic unsigned key_gen;	/* bumped with the key: older pseudonyms are stale */
} logger = { .level = LOG_INFO, .key_gen = 1 };

/* Each thread remembers the pseudonyms it made lately: a user's events come in runs, and
 * an HMAC for every log line that names a user was 2.6 % of a webhook's instructions
 * (tests/bench/PROFILE.md). A slot made under an older key does not match. */
#define PSEUDONYM_SLOTS		128
#define PSEUDONYM_ID_MAX	48
struct pseudonym_slot {
	unsigned	gen;
	char		id[PSEUDONYM_ID_MAX];
	char		text[12];
};
static _Thread_local struct pseudonym_slot tl_pseudonyms[PSEUDONYM_SLOTS];

/* This thread's lines not yet written. */
static _Thread_local char tl_buf[1 << 15];
static _Thread_local size_t tl_used;

/* Each thread formats the date once a second for its own lines. */
static _Thread_local time_t ts_sec;		/* the second ts_text was formatted for */
static _Thread_local char ts_text[32];		/* "2026-11-24T16:30:00" */

static const char *level_names[] = { "debug", "info", "notice", "warn", "error" };

/* systemd sets JOURNAL_STREAM to "DEVICE:INODE" of the stream it connected to stderr:
 * when that is still our stderr, each line starts with its syslog priority ("<6>"),
 * which journald takes as the line's priority, and has no time of its own (journald
 * stamps every line). */
static int
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	uintmax_t dev, ino;
	struct stat st;

	return js != NULL && sscanf(js, "%ju:%ju", &dev, &ino) == 2 &&
	    fstat(STDERR_FILENO, &st) == 0 && (uintmax_t)st.st_dev == dev &&
	    (uintmax_t)st.st_ino == ino;
}

void
log_init(enum log_level level)
{
	logger.level = level;
	logger.journal = stderr_is_journal();
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

void
log_set_format(enum log_format format)
{
	logger.format = format;
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
	logger.key_gen++;
}

void
log_user(const char *user_id, char out[16])
{
	static const char hex[] = "0123456789abcdef";
	struct pseudonym_slot *slot = NULL;
	unsigned char mac[32];
	unsigned int maclen = 0;
	unsigned gen = logger.key_gen;
	size_t len;
	uint32_t h = 2166136261u;	/* FNV-1a: only picks the slot */

	if (user_id == NULL || *user_id == '\0') {
		snprintf(out, 16, "-");
		return;
	}
	len = strlen(user_id);
	if (len < PSEUDONYM_ID_MAX) {
		for (size_t i = 0; i < len; i++)
			h = (h ^ (unsigned char)user_id[i]) * 16777619u;
		slot = &tl_pseudonyms[h % PSEUDONYM_SLOTS];
		if (slot->gen == gen && strcmp(slot->id, user_id) == 0) {
			memcpy(out, slot->text, sizeof(slot->text));
			return;
		}
	}
	if (logger.pseudonym != NULL)
		sig_key_mac(logger.pseudonym, user_id, len, mac);
	else
		HMAC(EVP_sha256(), logger.key, (int)logger.keylen,
		    (const unsigned char *)user_id, len, mac, &maclen);
	out[0] = 'u';
	out[1] = ':';
	for (int i = 0; i < 4; i++) {
		out[2 + 2 * i] = hex[mac[i] >> 4];
		out[3 + 2 * i] = hex[mac[i] & 15];
	}
	out[10] = '\0';
	if (slot != NULL) {
		slot->gen = gen;
		memcpy(slot->id, user_id, len + 1);
		memcpy(slot->text, out, 11);
	}
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

/* One JSON string's characters: quotes, backslashes and controls escaped. */
static size_t
json_chars(char *out, size_t cap, const char *s, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 7 < cap; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\') {
			out[o++] = '\\';
			out[o++] = (char)ch;
		} else if (ch < 0x20 || ch == 0x7f)
			o += (size_t)snprintf(out + o, cap - o, "\\u%04x", ch);
		else
			out[o++] = (char)ch;
	}
	return o;
}

/* The logfmt pairs of kv ("key=value key=\"quoted value\"") as JSON members after
 * ts, level: each value a string, a quoted one with its quotes and escapes undone. */
static size_t
logfmt_to_json(char *out, size_t cap, const char *ts, const char *level, const char *kv)
{
	size_t o = (size_t)snprintf(out, cap, "{\"ts\":\"%s\",\"level\":\"%s\"", ts, level);
	const char *p = kv;

	while (*p != '\0' && o + 16 < cap) {
		const char *key = p, *eq, *v;
		char val[1024];
		size_t vlen = 0;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		key = p;
		while (*p != '\0' && *p != '=' && *p != ' ')
			p++;
		eq = p;
		if (*p == '=' && p[1] == '"') {
			for (v = p + 2; *v != '\0' && *v != '"'; v++) {
				if (*v == '\\' && v[1] != '\0')
					v++;
				if (vlen < sizeof(val))
					val[vlen++] = *v;
			}
			p = *v == '"' ? v + 1 : v;
		} else if (*p == '=') {
			for (v = p + 1; *v != '\0' && *v != ' '; v++)
				if (vlen < sizeof(val))
					val[vlen++] = *v;
			p = v;
		}
		out[o++] = ',';
		out[o++] = '"';
		o += json_chars(out + o, cap - o, key, (size_t)(eq - key));
		o += (size_t)snprintf(out + o, cap - o, "\":\"");
		o += json_chars(out + o, cap - o, val, vlen);
		if (o + 2 < cap)
			out[o++] = '"';
	}
	if (o + 2 < cap)
		out[o++] = '}';
	out[o] = '\0';
	return o;
}

static void vlog(enum log_level, const char *, const char *, va_list)
    __attribute__((format(printf, 3, 0)));

/* The caller formats "key=value" pairs itself (a value with spaces, quotes or '=' in
 * quotes); the line gets its time and level first, as logfmt or as JSON. */
static void
vlog(enum log_level level, const char *errstr, const char *fmt, va_list ap)
{
	static const char priority[] = { '7', '6', '5', '4', '3' };
	char kv[2048], line[4096], stamp[48];
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
	snprintf(stamp, sizeof(stamp), "%s.%03ldZ", ts_text, ts.tv_nsec / 1000000);
	n = logger.journal ? snprintf(line, sizeof(line), "<%c>", priority[level]) : 0;
	if (logger.format == LOG_FORMAT_JSON) {
		/* The pairs first, then taken apart into members. */
		m = vsnprintf(kv, sizeof(kv) - 64, fmt, ap);
		if (m < 0)
			m = 0;
		if ((size_t)m >= sizeof(kv) - 64)
			m = (int)sizeof(kv) - 65;
		if (errstr != NULL)
			snprintf(kv + m, sizeof(kv) - (size_t)m, " error=\"%s\"", errstr);
		n += (int)logfmt_to_json(line + n, sizeof(line) - (size_t)n - 1, stamp,
		    level_names[level], kv);
	} else {
		/* logfmt, as the caller wrote it, straight into the line (every request
		 * logs one: no second copy). */
		n += logger.journal ? snprintf(line + n, sizeof(line) - (size_t)n, "level=%s ",
		    level_names[level]) : snprintf(line + n, sizeof(line) - (size_t)n,
		    "ts=%s level=%s ", stamp, level_names[level]);
		m = vsnprintf(line + n, sizeof(line) - (size_t)n - 64, fmt, ap);
		if (m < 0)
			m = 0;
		n += m;
		if ((size_t)n >= sizeof(line) - 64)
			n = (int)sizeof(line) - 64;
		if (errstr != NULL)
			n += snprintf(line + n, sizeof(line) - (size_t)n - 1, " error=\"%s\"",
			    errstr);
	}
	if ((size_t)n >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
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
