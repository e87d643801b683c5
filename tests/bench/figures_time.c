/* figures_time.c: the console's figures queries timed on a database (the scale one of
 * make bench-scale): each store_figures.c query and each whole API answer
 * (console_dashboard, console_funnel_list for every stage, console_reps), as an admin
 * and as the manager of one branch, on the reader connection the console uses. Each is
 * run RUNS times after one warm-up; the best, the median and the worst are printed
 * (the machine is shared: the best is the one least disturbed).
 *
 *   build/figures-time CONFIG FROM TO [BRANCH]
 *
 * Built by `make build/figures-time`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../daemon/shokaid.h"
#include "../../daemon/console/console.h"
#include "../../daemon/console/console_figures.h"

#define RUNS	5

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

struct job {
	const char		*name;
	struct store		*s;
	const struct config	*cf;
	const struct console_scope *sc;
	const struct console_filter *flt;
	const char		*stage;
	int			 which;	/* 0 dashboard, 1 funnel, 2 reps */
};

static int
once(const struct job *j)
{
	char why[WHY_MAX] = "";
	int status = 0;
	json_t *o = j->which == 0 ? console_dashboard(j->s, j->cf, j->sc, j->flt, &status,
	    why, sizeof(why)) : j->which == 1 ? console_funnel_list(j->s, j->cf, j->sc, j->flt,
	    j->stage, &status, why, sizeof(why)) : console_reps(j->s, j->cf, j->sc, j->flt,
	    &status, why, sizeof(why));

	if (o == NULL) {
		fprintf(stderr, "%s: %d %s\n", j->name, status, why);
		return -1;
	}
	/* FIGURES_DUMP=DIR: each answer kept, to check against console/openapi.yaml */
	if (getenv("FIGURES_DUMP") != NULL) {
		char path[512], *n;

		n = xasprintf("%s%s", j->sc->role == ROLE_ADMIN ? "admin" : "manager", j->name);
		for (char *c = n; *c != '\0'; c++)
			if (*c == '/' || *c == ' ')
				*c = '_';
		snprintf(path, sizeof(path), "%s/%s.json", getenv("FIGURES_DUMP"), n);
		json_dump_file(o, path, JSON_INDENT(1));
		free(n);
	}
	json_decref(o);
	return 0;
}

static int
timed(const struct job *j)
{
	int64_t t[RUNS];

	if (once(j) == -1)
		return -1;
	for (int i = 0; i < RUNS; i++) {
		int64_t t0 = clock_us();

		if (once(j) == -1)
			return -1;
		t[i] = clock_us() - t0;
	}
	qsort(t, RUNS, sizeof(t[0]), cmp_i64);
	printf("  %-28s best %6.1f ms  median %6.1f ms  worst %6.1f ms\n", j->name,
	    (double)t[0] / 1000.0, (double)t[RUNS / 2] / 1000.0, (double)t[RUNS - 1] / 1000.0);
	return 0;
}

int
main(int argc, char **argv)
{
	static const char *const stages[] = { "issued", "clicked", "claimed", "contacted",
	    "won" };
	struct config_errors errs = { 0 };
	struct config *cf;
	struct store *s;
	char why[WHY_MAX], *mb[1];
	struct console_scope admin = { ROLE_ADMIN, NULL, 0 }, manager = { ROLE_MANAGER, mb, 1 };
	struct console_filter flt;
	int rc = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: figures-time CONFIG FROM TO [BRANCH]\n");
		return 2;
	}
	log_init(getenv("FIGURES_DEBUG") ? LOG_DEBUG : LOG_WARN);
	if ((cf = config_load(argv[1], &errs)) == NULL) {
		fprintf(stderr, "config: %s\n", errs.n ? errs.lines[0] : "?");
		return 1;
	}
	setenv("TZ", cf->timezone, 1);
	tzset();
	if ((s = store_open_reader(cf->sqlite_path, 2000, why, sizeof(why))) == NULL) {
		fprintf(stderr, "%s\n", why);
		return 1;
	}
	/* as the console's reader should (store.h) */
	if (store_set_cache_mb(s, 64) == -1)
		return 1;
	mb[0] = argc > 4 ? argv[4] : cf->branches[0].code;
	memset(&flt, 0, sizeof(flt));
	snprintf(flt.from, sizeof(flt.from), "%s", argv[2]);
	snprintf(flt.to, sizeof(flt.to), "%s", argv[3]);
	for (int who = 0; who < 2; who++) {
		const struct console_scope *sc = who ? &manager : &admin;
		char name[64];

		printf("%s\n", who ? "manager of one branch" : "admin");
		rc |= timed(&(struct job){ "GET /dashboard", s, cf, sc, &flt, NULL, 0 });
		for (size_t i = 0; i < sizeof(stages) / sizeof(stages[0]); i++) {
			snprintf(name, sizeof(name), "GET /funnel/%s", stages[i]);
			rc |= timed(&(struct job){ name, s, cf, sc, &flt, stages[i], 1 });
		}
		rc |= timed(&(struct job){ "GET /reps", s, cf, sc, &flt, NULL, 2 });
	}
	store_close(s);
	config_unref(cf);
	return rc ? 1 : 0;
}
