/* main.c: shokaid's entry point. Parses arguments, loads the configuration, opens the
 * database, runs the event loop, and owns the signals: SIGHUP reloads, SIGTERM and
 * SIGINT drain and exit. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "base/tls.h"
#include "shokaid.h"

#define FLUSH_INTERVAL_MS	100
#define DRAIN_POLL_MS		20
#define CHECKPOINT_INTERVAL_MS	100
#define STALL_PROBE_MS		2
/* Letters per loop wakeup: each may start up to 16 sends (about half a millisecond)
 * or answer a batch; two keep a wakeup well under the 2 ms stall target. */
#define LOOP_LETTERS_PER_TURN	2

static void
usage(FILE *out)
{
	fprintf(out, "usage: shokaid [-t] -c FILE\n"
	    "       shokaid -h | --help | -v | --version\n"
	    "  -c, --config FILE  the configuration file (YAML)\n"
	    "  -t, --test         check the configuration, print ok or every error, and exit\n"
	    "  -v, --version      print the version and exit\n"
	    "  -h, --help         this help\n"
	    "Signals: HUP reloads the configuration (and TLS certificates); TERM and INT\n"
	    "drain (stop accepting, answer what is in flight, finish the commit) and exit.\n"
	    "Exit status: 0 after a clean stop or a good check, 1 on failure, 2 usage error.\n");
}

/* Settings that only take effect at start; a reload that changes them says so. */
static void
warn_restart_only(const struct config *old, const struct config *new)
{
	if (strcmp(old->listen_host, new->listen_host) != 0 ||
	    old->listen_port != new->listen_port)
		log_warnx("msg=\"server.listen changed; it takes effect after a restart\"");
	if (strcmp(old->sqlite_path, new->sqlite_path) != 0)
		log_warnx("msg=\"storage.sqlite changed; it takes effect after a restart\"");
	if ((old->admin_host == NULL) != (new->admin_host == NULL) ||
	    (old->admin_host != NULL && (strcmp(old->admin_host, new->admin_host) != 0 ||
	    old->admin_port != new->admin_port)))
		log_warnx("msg=\"admin.listen changed; it takes effect after a restart\"");
	if ((old->server_tls == NULL) != (new->server_tls == NULL))
		log_warnx("msg=\"server.tls turned %s; it takes effect after a restart\"",
		    new->server_tls != NULL ? "on" : "off");
	if ((old->admin_tls == NULL) != (new->admin_tls == NULL))
		log_warnx("msg=\"admin.tls turned %s; it takes effect after a restart\"",
		    new->admin_tls != NULL ? "on" : "off");
}

/* Which certificates serve, and whether one is about to run out: at start and after
 * each reload (a renewal shows its new serial and notAfter here). */
static void
log_certificates(const struct config *cf)
{
	tls_log_cert(cf->server_tls, "server.tls");
	tls_log_cert(cf->admin_tls, "admin.tls");
}

/* Keyword rules' hours are in the configured zone (Asia/Tokyo by default), whatever
 * the host's zone is: the process takes it as its own. The environment is not safe to
 * change while the storage thread reads the local time, so a reload changes it only
 * * when the zone itself changed. */
static void
apply_timezone(const struct config *cf)
{
	const char *tz = getenv("TZ");

	if (tz != NULL && strcmp(tz, cf->timezone) == 0)
		return;
	setenv("TZ", cf->timezone, 1);
	tzset();
}

static void
reload(struct daemon *d)
{
	struct config_errors errs = { 0 };
	struct config *new = config_load(d->config_path, &errs);

	if (new == NULL) {
		d->stats.reload_failures++;
		d->stats.last_reload_failed = 1;
		for (size_t i = 0; i < errs.n; i++)
			log_errorx("msg=\"config error\" detail=\"%s\"", errs.lines[i]);
		log_errorx("msg=\"reload failed; the old config stays in force\" errors=%zu",
		    errs.n);
		console_config_failed(d->console, &errs, wall_ms());
		config_errors_clear(&errs);
		return;
	}
	warn_restart_only(d->cfg, new);
	/* Events handed over before this point run on the old snapshot, later ones on the
	 * new: the letter takes its place in the storage side's queue. */
	storage_set_config(d->storage, new);
	console_config_loaded(d->console, new, wall_ms());
	config_unref(d->cfg);
	d->cfg = new;
	apply_timezone(new);
	log_set_level(new->log_level);
	log_set_format(new->log_format);
	http_apply_config(d);
	log_certificates(new);
	d->stats.reloads++;
	d->stats.last_reload_failed = 0;
	log_notice("msg=\"config reloaded\" file=%s", d->config_path);
}

/* The drain is over when the last connection is gone (http_drain closed the idle ones,
 * and the server closes each other one only once the answer to its last request is
 * written whole, so no answer is left behind and no request can still arrive), the
 * storage side has handed back every batch, and no send is in flight or on its way to
 * the loop. */
static void
drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tv = { 0, DRAIN_POLL_MS * 1000 };
	int conns = (int)d->stats.connections, queued = (int)ingest_pending(d->ingest);
	int sending = (int)(d->stats.outbox_sending + d->sends_queued);

	(void)fd;
	(void)what;
	if (conns == 0 && queued == 0 && sending == 0) {
		log_notice("msg=\"drained; exiting\"");
		event_base_loopexit(d->base, NULL);
		return;
	}
	if (clock_ms() >= d->drain_deadline_ms) {
		log_warnx("msg=\"drain timeout; exiting with requests unfinished\" "
		    "connections=%d queued=%d sending=%d", conns, queued, sending);
		event_base_loopexit(d->base, NULL);
		return;
	}
	evtimer_add(d->ev_drain, &tv);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	(void)what;
	if (sig == SIGHUP) {
		log_notice("msg=\"SIGHUP: reloading config\"");
		reload(d);
		return;
	}
	if (d->draining) {
		log_warnx("msg=\"second stop signal; exiting now\"");
		event_base_loopexit(d->base, NULL);
		return;
	}
	d->draining = 1;
	d->drain_deadline_ms = clock_ms() + d->cfg->drain_timeout_ms;
	log_notice("msg=\"stop signal: no new connections or requests; finishing in-flight "
	    "requests\" signal=%s drain_timeout_ms=%lld", sig == SIGTERM ? "TERM" : "INT",
	    (long long)d->cfg->drain_timeout_ms);
	http_drain(d);
	drain_cb(-1, 0, d);
}

/* Measures how late a 2 ms timer fires: the longest time the loop was busy with
 * something else, reported in /healthz as loop_max_stall_us. Every stall of 2 ms or
 * more (the target) overlaps a due time and is seen; shorter ones only sometimes. The
 * base uses precise (timerfd) timers: with epoll's whole milliseconds the figure reads
 * 6 ms where the loop is not busy at all. They cost 10-15 % of peak webhook throughput
 * (a timerfd re-arm per loop turn), far above any real account's load. A timer is
 * always a little late on its own: the least lateness seen is that floor, and only
 * what goes beyond it counts as a stall. The worst stall alone cannot tell a loop
 * that waits for every commit from one descheduled once on a busy machine; the count
 * of long stalls can (hundreds against a few).
 *
 * Nor can it tell the loop's own work from a thread that was not running: on a
 * virtual machine an idle process sleeping 1 ms wakes up to 10-30 ms late when the
 * hypervisor runs something else (make bench prints that floor). So each stall is
 * also bounded by the CPU time the loop thread used since the probe last fired
 * (loop_max_busy_us): at most what shokaid's own work held it; the rest of the stall
 * was the machine, or the storage thread on a shared core. */
static void
stall_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tv = { 0, STALL_PROBE_MS * 1000 };
	int64_t now = clock_us(), late = now - d->stall_due_us, cpu = clock_thread_cpu_us();

	(void)fd;
	(void)what;
	if (d->stall_due_us != 0) {
		int64_t stall, busy;

		if (d->stall_floor_us < 0 || late < d->stall_floor_us)
			d->stall_floor_us = late;
		stall = late - d->stall_floor_us;
		busy = cpu - d->stall_cpu_us < stall ? cpu - d->stall_cpu_us : stall;
		if (stall > d->stats.loop_max_stall_us)
			d->stats.loop_max_stall_us = stall;
		if (busy > d->stats.loop_max_busy_us)
			d->stats.loop_max_busy_us = busy;
		if (stall >= LOOP_LONG_STALL_US)
			d->stats.loop_long_stalls++;
	}
	d->stall_due_us = now + STALL_PROBE_MS * 1000;
	d->stall_cpu_us = cpu;
	/* The timer counts from the base's cached time, taken when this loop turn began:
	 * after callbacks that ran before this one it fires that much before stall_due_us,
	 * and the least lateness (the floor) went negative by it, adding it to every stall
	 * seen afterwards. */
	event_base_update_cache_time(d->base);
	evtimer_add(d->ev_stall, &tv);
}

static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	log_flush();
}

/* One instance per database: a second would interleave writes and double-send. */
static int
lock_instance(const char *sqlite_path, int *lock_fd)
{
	char why[WHY_MAX];

	if (store_lock_instance(sqlite_path, lock_fd, why, sizeof(why)) == -1) {
		log_errorx("msg=\"cannot lock the database\" detail=\"%s\"", why);
		return -1;
	}
	return 0;
}

/* What is left when the loop has stopped, in order: connections closed (their waiting
 * requests forgotten), the last gathered requests handed over, sends cancelled (their
 * rows handed back), then the storage side finishes: every letter it was sent, the
 * commit they bring, the outbox's last outcomes; then its answers are taken (nobody is
 * left to answer) and the threads are gone. */
static void
shutdown_sides(struct daemon *d)
{
	d->draining = 1;
	http_free(d);
	if (d->base != NULL)	/* let libevent run the connection finalizers */
		event_base_loop(d->base, EVLOOP_NONBLOCK);
	if (d->ingest != NULL && d->storage != NULL)
		ingest_flush(d->ingest);
	http_client_free(d->http_client);	/* before the base: it owns events on it */
	d->http_client = NULL;
	if (d->loop_mail != NULL)
		mailbox_run_all(d->loop_mail);	/* rows on their way back, untried */
	if (d->outbox != NULL)
		outbox_hand_over(d->outbox);	/* with the outcomes of the last turn */
	console_stop(d->console);	/* its last requests answered */
	d->console = NULL;
	storage_stop(d->storage);
	d->storage = NULL;
	if (d->loop_mail != NULL)
		mailbox_run_all(d->loop_mail);	/* the last batches, committed or not */
}

static int
run(struct daemon *d)
{
	static const int signals[] = { SIGHUP, SIGTERM, SIGINT };
	struct timeval flush_tv = { 0, FLUSH_INTERVAL_MS * 1000 };
	struct timeval slice = { 0, BACKGROUND_SLICE_US };
	struct event_config *ec;
	struct store *store;
	char why[WHY_MAX];
	int lock_fd = -1, rc = 1;

	/* Storage that cannot be written is refused here, with the file and what is
	 * wrong, rather than found out by the first webhook (or a SIGBUS). */
	if (store_check_files(d->cfg->sqlite_path, why, sizeof(why)) == -1) {
		log_errorx("msg=\"storage not usable\" detail=\"%s\"", why);
		return 1;
	}
	if (lock_instance(d->cfg->sqlite_path, &lock_fd) == -1)
		return 1;
	store = store_open(d->cfg->sqlite_path, d->cfg->synchronous_full,
	    (int)d->cfg->busy_timeout_ms, why, sizeof(why));
	if (store == NULL) {
		log_errorx("msg=\"cannot open the database\" detail=\"%s\"", why);
		goto done;
	}
	if (store_watch_start(store, d->cfg->sqlite_path, why, sizeof(why)) == -1) {
		log_errorx("msg=\"storage not usable\" detail=\"%s\"", why);
		store_close(store);
		goto done;
	}
	/* The database's secret keys log pseudonyms, client hashes and the signatures on
	 * reps' buttons: without it the daemon does not run. */
	if (store_meta_salt(store, d->salt) == -1) {
		log_errorx("msg=\"cannot read the database's secret\"");
		store_close(store);
		goto done;
	}
	log_set_pseudonym_key(d->salt, sizeof(d->salt));
	d->checkpointer = store_checkpointer_start(d->cfg->sqlite_path, CHECKPOINT_INTERVAL_MS,
	    &d->snapshot_readers);

	/* The loop and the storage threads wake each other with event_active. */
	if (evthread_use_pthreads() == -1)
		fatalx("%s: evthread_use_pthreads failed", __func__);
	if ((ec = event_config_new()) == NULL)
		fatalx("%s: event_config_new failed", __func__);
	event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER);
	event_config_set_max_dispatch_interval(ec, &slice, -1, PRIO_BACKGROUND);
	d->base = event_base_new_with_config(ec);
	event_config_free(ec);
	if (d->base == NULL)
		fatalx("%s: event_base_new failed", __func__);
	event_base_priority_init(d->base, PRIO_COUNT);
	/* Letters from the storage side: answers first, then the next I/O. */
	d->loop_mail = mailbox_new(d->base, PRIO_IO, d, LOOP_LETTERS_PER_TURN);
	d->waits = http_waits_new();
	d->ingest = ingest_new(d);
	d->http_client = http_client_new(d->base, PRIO_BACKGROUND);
	d->outbox = outbox_new(d);
	d->http_invite = http_invite_new();
	d->rep_links = rep_links_new(d);
	{
		int64_t backlog = store_inbox_backlog(store);

		log_notice("msg=started version=%s config=%s database=%s synchronous=%s "
		    "inbox_backlog=%lld", SHOKAI_VERSION, d->config_path, d->cfg->sqlite_path,
		    d->cfg->synchronous_full ? "full" : "normal", (long long)backlog);
	}
	d->started_ms = clock_ms();
	d->stats.started_wall_ms = wall_ms();
	/* From here on the storage thread owns the write connection. */
	d->storage = storage_start(d, store, d->cfg);
	if ((d->console = console_start(d, d->cfg, d->salt, why, sizeof(why))) == NULL &&
	    why[0] != '\0') {
		log_errorx("msg=\"cannot start the console\" detail=\"%s\"", why);
		goto done;
	}
	if (http_start(d, why, sizeof(why)) == -1) {
		log_errorx("msg=\"cannot listen\" detail=\"%s\"", why);
		goto done;
	}
	log_certificates(d->cfg);
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		d->ev_signals[i] = evsignal_new(d->base, signals[i], signal_cb, d);
		evsignal_add(d->ev_signals[i], NULL);
	}
	d->ev_flush = event_new(d->base, -1, EV_PERSIST, flush_cb, d);
	evtimer_add(d->ev_flush, &flush_tv);
	d->ev_drain = evtimer_new(d->base, drain_cb, d);
	d->ev_stall = evtimer_new(d->base, stall_cb, d);
	d->stall_floor_us = -1;
	stall_cb(-1, 0, d);
	thread_sched_short_slice();	/* after the other threads started: not inherited */
	if (event_base_dispatch(d->base) == -1)
		log_errorx("msg=\"event loop failed\"");
	else
		rc = 0;
	log_notice("msg=stopped");
done:
	shutdown_sides(d);
	outbox_free(d->outbox);
	http_invite_free(d->http_invite);
	rep_links_free(d->rep_links);
	works_tokens_free(d->works_tokens);
	ingest_free(d->ingest);
	http_waits_free(d->waits);
	for (size_t i = 0; i < sizeof(d->ev_signals) / sizeof(d->ev_signals[0]); i++)
		if (d->ev_signals[i] != NULL)
			event_free(d->ev_signals[i]);
	if (d->ev_flush != NULL)
		event_free(d->ev_flush);
	if (d->ev_drain != NULL)
		event_free(d->ev_drain);
	if (d->ev_stall != NULL)
		event_free(d->ev_stall);
	mailbox_free(d->loop_mail);
	if (d->base != NULL)
		event_base_free(d->base);
	store_checkpointer_stop(d->checkpointer);
	if (lock_fd != -1)
		close(lock_fd);
	log_flush();
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "test", no_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct daemon d;
	const char *path = NULL;
	int ch, check_only = 0, rc;

	while ((ch = getopt_long(argc, argv, "c:tvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			check_only = 1;
			break;
		case 'v':
			printf("shokaid %s\n", SHOKAI_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (path == NULL || optind != argc) {
		fprintf(stderr, "shokaid: %s\n", path == NULL ? "-c FILE is required" :
		    "unexpected arguments");
		usage(stderr);
		return 2;
	}
	/* The database, its WAL and the lock file hold personal data: owner only. */
	umask(077);
	/* One malloc arena per thread (the loop, the storage side, the console, the
	 * checkpointer): with one for all, the loop and the storage thread took turns on its
	 * lock, 5-9 futex calls per 5-event webhook with both pinned to one core; four cut
	 * the CPU per 5-event webhook from 477-588 to 401-409 µs in alternating runs, at
	 * the same peak RSS (tests/bench/PROFILE.md). The syncer, a fifth thread, allocates
	 * only the letters that answer after its fsync and shares one. Free memory is kept
	 * up to 1 MiB instead of handed back at every turn. */
	mallopt(M_ARENA_MAX, 4);
	mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
	/* libevent writes without MSG_NOSIGNAL: a client that resets must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	log_init(LOG_INFO);

	memset(&d, 0, sizeof(d));
	if ((d.cfg = config_load_print(path, stderr)) == NULL)
		return 1;
	if (check_only) {
		printf("ok\n");
		config_unref(d.cfg);
		return 0;
	}
	log_set_level(d.cfg->log_level);
	log_set_format(d.cfg->log_format);
	apply_timezone(d.cfg);
	d.config_path = xstrdup(path);
	rc = run(&d);
	config_unref(d.cfg);
	free(d.config_path);
	return rc;
}
