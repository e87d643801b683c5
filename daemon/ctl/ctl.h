/* ctl.h: what shokaictl's files share. */
#ifndef CTL_H
#define CTL_H

#include <jansson.h>

#include "../shokaid.h"
#include "../../handlers/handler.h"
#include "../ops/ops.h"

/* A completion callback's answer, for calls run to completion. */
struct ctl_call {
	int	 done;
	int	 status;
	char	*body;
	char	*error;
};

/* ctl.c */
struct store *ctl_open_store(const struct config *);
/* Takes --format F (or --format=F) out of argv wherever it is; -1 (said on stderr) for
 * a value other than table, csv or json. */
int ctl_take_format(int *argc, char **argv, enum print_format *);

/* ctl_commands.c. A command runs with argv[0] the word after its name (argc may be 0)
 * and returns 0 done, 1 failed, 2 wrong arguments (main prints its help). */
typedef int ctl_run_fn(struct config *, int argc, char **argv);
struct ctl_command {
	const char	*name;
	ctl_run_fn	*run;		/* NULL: help */
	const char	*reads;		/* forms that only read: "SUB ..." ("-": none, "*": all) */
	const char	*writes;	/* "SUB WORD": a form under a reading SUB that writes */
	const char	*synopsis;
	const char	*help;
};
const struct ctl_command *ctl_command(const char *name);
int ctl_reads_only(const struct ctl_command *, int argc, char **argv);
void ctl_print_usage(FILE *);
void ctl_print_help(FILE *, const struct ctl_command *);

/* ctl_boxes.c */
int inbox_cmd(struct config *, int argc, char **argv);
int quarantine_cmd(struct config *, int argc, char **argv);
int outbox_cmd(struct config *, int argc, char **argv);
int send_cmd(struct config *, int argc, char **argv);

/* ctl_backup.c */
int backup_cmd(struct config *, int argc, char **argv);
int restore_cmd(struct config *, int argc, char **argv);
int purge_cmd(struct config *, int argc, char **argv);

/* ctl_lookup.c */
int profile_cmd(struct config *, int argc, char **argv);
int works_link_cmd(struct config *, int argc, char **argv);
/* ctl_net.c: a small daemon context of shokaictl's own: a loop and an HTTP client. */
void ctl_net_open(struct daemon *, struct config *);
void ctl_net_wait(struct daemon *, const int *done);
void ctl_net_close(struct daemon *);
void ctl_call_done(int status, const char *body, size_t len, const char *error, void *arg);
int ctl_line_call(struct daemon *, const char *channel, enum line_host, const char *method,
    const char *path, const char *content_type, const void *body, size_t len, json_t **out);

/* ctl_richmenu.c */
int richmenu_deploy_cmd(struct config *, int argc, char **argv);
int richmenu_list_cmd(struct config *, const char *channel);
int works_menu_deploy_cmd(struct config *, const char *bot);

/* ctl_referral.c: 2 for a usage error. */
int referrals_cmd(struct config *, int argc, char **argv);
int rewards_cmd(struct config *, int argc, char **argv);
int import_cmd(struct config *, int argc, char **argv);
int report_cmd(struct config *, int argc, char **argv);
int rep_link_cmd(struct config *, int argc, char **argv);
int forget_cmd(struct config *, int argc, char **argv);
/* table, csv or json; -1 (said on stderr) for anything else. */
int ctl_parse_format(const char *, enum print_format *);

/* ctl_rules.c: 2 for a usage error. */
int rules_cmd(struct config *, int argc, char **argv);

/* ctl_referral.c: 2 for a usage error. */
int reset_cmd(struct config *, int argc, char **argv);

/* ctl_console.c: 2 for a usage error. */
int user_cmd(struct config *, int argc, char **argv);
int token_cmd(struct config *, int argc, char **argv);
int audit_cmd(struct config *, int argc, char **argv);

/* ctl_announce.c: 2 for a usage error. */
int announce_cmd(struct config *, int argc, char **argv);

#endif
