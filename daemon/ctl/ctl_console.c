/* ctl_console.c: the console's accounts, API tokens and audit log from the shell:
 *   user add LOGIN --role R [--branch B]... [--name NAME] [--password-file F]
 *   user list | user disable LOGIN | user enable LOGIN | user passwd LOGIN [--password-file F]
 *   token add NAME --role R [--branch B]... | token list | token revoke NAME
 *   audit [--limit N] [--format table|csv|json]
 * A password is read from --password-file (its first line) or from standard input
 * (asked twice on a terminal, echo off); it is never an argument, which other users
 * could read in ps. Every change is an audit row with the Unix user as actor. */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "ctl.h"
#include "../console/console_wording.h"

#define PASSWORD_MIN	10
#define PASSWORD_MAX	256

struct account_opts {
	const char	*role;
	const char	*name;
	const char	*password_file;
	char		 branches[512];	/* comma-separated */
};

static const char *
ctl_actor(char *buf, size_t len)
{
	struct passwd *pw = getpwuid(getuid());

	snprintf(buf, len, "shokaictl:%s", pw != NULL ? pw->pw_name : "?");
	return buf;
}

static int
audit(struct store *s, const char *action, const char *target, const char *detail)
{
	char actor[96];

	return store_audit(s, wall_ms(), ctl_actor(actor, sizeof(actor)), action, target,
	    detail, NULL);
}

/* The audit row of an account or token made with role (facts the console words). */
static int
audit_role(struct store *s, const char *action, const char *target, const char *role)
{
	char *detail = store_audit_detail(json_pack("{s:s}", "role", role));
	int rc = audit(s, action, target, detail);

	free(detail);
	return rc;
}

static int
role_ok(const char *r)
{
	return r != NULL && (strcmp(r, "admin") == 0 || strcmp(r, "manager") == 0 ||
	    strcmp(r, "viewer") == 0);
}

/* --role, --branch (repeatable, each a configured branch), --name, --password-file. */
static int
parse_opts(const struct config *cf, int argc, char **argv, struct account_opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 0; i < argc; i += 2) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v == NULL) {
			fprintf(stderr, "shokaictl: %s needs a value\n", argv[i]);
			return -1;
		}
		if (strcmp(argv[i], "--role") == 0)
			o->role = v;
		else if (strcmp(argv[i], "--name") == 0)
			o->name = v;
		else if (strcmp(argv[i], "--password-file") == 0)
			o->password_file = v;
		else if (strcmp(argv[i], "--branch") == 0) {
			if (config_branch(cf, v) == NULL) {
				fprintf(stderr, "shokaictl: no branch '%s' in the config\n", v);
				return -1;
			}
			if (strlen(o->branches) + strlen(v) + 2 > sizeof(o->branches)) {
				fprintf(stderr, "shokaictl: too many branches\n");
				return -1;
			}
			if (o->branches[0] != '\0')
				strcat(o->branches, ",");
			strcat(o->branches, v);
		} else {
			fprintf(stderr, "shokaictl: unknown option %s\n", argv[i]);
			return -1;
		}
	}
	if (o->role != NULL && !role_ok(o->role)) {
		fprintf(stderr, "shokaictl: --role must be admin, manager or viewer, not '%s'\n",
		    o->role);
		return -1;
	}
	if (o->role != NULL && strcmp(o->role, "manager") == 0 && o->branches[0] == '\0') {
		fprintf(stderr, "shokaictl: a manager needs at least one --branch\n");
		return -1;
	}
	if (o->role != NULL && strcmp(o->role, "manager") != 0 && o->branches[0] != '\0') {
		fprintf(stderr, "shokaictl: only managers are limited to branches\n");
		return -1;
	}
	return 0;
}

static int
read_line(FILE *fp, char *buf, size_t len)
{
	size_t n;

	if (fgets(buf, (int)len, fp) == NULL)
		return -1;
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	else if (n == len - 1)
		return -1;		/* longer than we take */
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	return 0;
}

static int
prompt_hidden(const char *prompt, char *buf, size_t len)
{
	struct termios old, quiet;
	int rc;

	fputs(prompt, stderr);
	if (tcgetattr(STDIN_FILENO, &old) == -1)
		return read_line(stdin, buf, len);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	rc = read_line(stdin, buf, len);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fputc('\n', stderr);
	return rc;
}

/* The new password, hashed; NULL (said why) when it cannot be read or is too short. */
static char *
new_password_hash(const char *file)
{
	char pw[PASSWORD_MAX + 2], again[PASSWORD_MAX + 2];
	char *hash = NULL;
	int rc;

	if (file != NULL) {
		FILE *fp = fopen(file, "r");

		if (fp == NULL) {
			fprintf(stderr, "shokaictl: %s: cannot open\n", file);
			return NULL;
		}
		rc = read_line(fp, pw, sizeof(pw));
		fclose(fp);
	} else if (isatty(STDIN_FILENO)) {
		rc = prompt_hidden("password: ", pw, sizeof(pw));
		if (rc == 0 && (prompt_hidden("again: ", again, sizeof(again)) == -1 ||
		    strcmp(pw, again) != 0)) {
			fprintf(stderr, "shokaictl: the two passwords differ\n");
			return NULL;
		}
	} else
		rc = read_line(stdin, pw, sizeof(pw));
	if (rc == -1)
		fprintf(stderr, "shokaictl: no password read (at most %d bytes, one line)\n",
		    PASSWORD_MAX);
	else if (strlen(pw) < PASSWORD_MIN)
		fprintf(stderr, "shokaictl: a password needs at least %d characters\n",
		    PASSWORD_MIN);
	else if ((hash = secret_password_hash(pw)) == NULL)
		fprintf(stderr, "shokaictl: the password could not be hashed (OpenSSL)\n");
	memset(pw, 0, sizeof(pw));
	memset(again, 0, sizeof(again));
	return hash;
}

static int
valid_login(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("._-@", *s) != NULL))
			return 0;
	return 1;
}

static int
user_add(const struct config *cf, struct store *s, const char *login, int argc, char **argv)
{
	struct account_opts o;
	char *hash;
	int64_t now = wall_ms();
	int rc = 1;

	if (!valid_login(login)) {
		fprintf(stderr, "shokaictl: a login is 1 to 64 of a-z A-Z 0-9 . _ - @\n");
		return 1;
	}
	if (parse_opts(cf, argc, argv, &o) == -1)
		return 1;
	if (o.role == NULL) {
		fprintf(stderr, "shokaictl: user add needs --role admin|manager|viewer\n");
		return 1;
	}
	if ((hash = new_password_hash(o.password_file)) == NULL)
		return 1;
	{
		struct store_arg args[] = { SARG_TEXT(login), SARG_TEXT(o.name ? o.name : login),
		    SARG_TEXT(o.role), SARG_TEXT(o.branches), SARG_TEXT(hash), SARG_INT(now) };

		if (store_begin(s) == 0 && store_run(s, "INSERT INTO console_users(login, name, "
		    "role, branches, password, created_at, password_changed_at) VALUES (?1, ?2, "
		    "?3, ?4, ?5, ?6, ?6) ON CONFLICT(login) DO NOTHING", args, 6) == 1 &&
		    audit_role(s, "user_add", login, o.role) == 0 && store_commit(s) == 0) {
			printf("user %s added (%s%s%s)\n", login, o.role, o.branches[0] ? ": " :
			    "", o.branches);
			rc = 0;
		} else {
			struct console_account a = { 0 };

			store_rollback(s);
			fprintf(stderr, "shokaictl: user %s was not added: %s\n", login,
			    store_account_get(s, login, &a) == 1 ? "that login exists" :
			    store_errmsg(s));
			console_account_clear(&a);
		}
	}
	free(hash);
	return rc;
}

/* disable / enable / passwd: one change and its audit row; a disabled account's or a
 * changed password's sessions end at once. */
static int
user_change(const struct config *cf, struct store *s, const char *what, const char *login,
    int argc, char **argv)
{
	struct console_account a = { 0 };
	struct account_opts o;
	char *hash = NULL;
	int rc = 1, found;

	if (parse_opts(cf, argc, argv, &o) == -1)
		return 1;
	if ((found = store_account_get(s, login, &a)) != 1) {
		fprintf(stderr, "shokaictl: %s\n", found == 0 ? "no such user" : store_errmsg(s));
		return 1;
	}
	if (strcmp(what, "passwd") == 0 && (hash = new_password_hash(o.password_file)) == NULL)
		goto done;
	{
		struct store_arg args[] = { SARG_INT(a.id), SARG_TEXT(hash), SARG_INT(wall_ms()) };
		const char *sql = strcmp(what, "disable") == 0 ?
		    "UPDATE console_users SET disabled = 1 WHERE id = ?1" :
		    strcmp(what, "enable") == 0 ?
		    "UPDATE console_users SET disabled = 0 WHERE id = ?1" :
		    "UPDATE console_users SET password = ?2, password_changed_at = ?3 "
		    "WHERE id = ?1";

		if (store_begin(s) == 0 && store_run(s, sql, args, 3) == 1 &&
		    (strcmp(what, "enable") == 0 || store_run(s, "DELETE FROM console_sessions "
		    "WHERE user_id = ?1", args, 1) >= 0) &&
		    audit(s, strcmp(what, "passwd") == 0 ? "user_password" :
		    strcmp(what, "disable") == 0 ? "user_disable" : "user_enable", login,
		    NULL) == 0 && store_commit(s) == 0) {
			printf("user %s: %s\n", login, strcmp(what, "passwd") == 0 ?
			    "password changed; their sessions ended" : strcmp(what, "disable") == 0 ?
			    "disabled; their sessions ended" : "enabled");
			rc = 0;
		} else {
			store_rollback(s);
			fprintf(stderr, "shokaictl: user %s was not changed: %s\n", login,
			    store_errmsg(s));
		}
	}
done:
	free(hash);
	console_account_clear(&a);
	return rc;
}

int
user_cmd(struct config *cf, int argc, char **argv)
{
	enum print_format format = PRINT_TABLE;
	struct store *s;
	int rc;

	if (ctl_take_format(&argc, argv, &format) == -1 || argc < 1)
		return 2;
	if ((s = ctl_open_store(cf)) == NULL)
		return 1;
	if (strcmp(argv[0], "list") == 0 && argc == 1)
		rc = store_print_query(s, stdout, format, "SELECT login, name, role, "
		    "branches, CASE disabled WHEN 1 THEN 'disabled' ELSE 'active' END AS state, "
		    "coalesce(datetime(last_login_at / 1000, 'unixepoch', 'localtime'), '-') AS "
		    "last_login FROM console_users ORDER BY login", NULL, 0) == 0 ? 0 : 1;
	else if (strcmp(argv[0], "add") == 0 && argc >= 2)
		rc = user_add(cf, s, argv[1], argc - 2, argv + 2);
	else if ((strcmp(argv[0], "disable") == 0 || strcmp(argv[0], "enable") == 0 ||
	    strcmp(argv[0], "passwd") == 0) && argc >= 2)
		rc = user_change(cf, s, argv[0], argv[1], argc - 2, argv + 2);
	else
		rc = 2;
	store_close(s);
	return rc;
}

/* token add NAME --role R [--branch B]: prints the token once; only its hash is kept. */
static int
token_add(const struct config *cf, struct store *s, const char *name, int argc, char **argv)
{
	struct account_opts o;
	char token[SECRET_TOKEN_LEN + 1], full[SECRET_TOKEN_LEN + 8], hash[65];

	if (!valid_login(name)) {
		fprintf(stderr, "shokaictl: a token's name is 1 to 64 of a-z A-Z 0-9 . _ - @\n");
		return 1;
	}
	if (parse_opts(cf, argc, argv, &o) == -1)
		return 1;
	if (o.role == NULL) {
		fprintf(stderr, "shokaictl: token add needs --role admin|manager|viewer\n");
		return 1;
	}
	if (secret_token(token) == -1)
		return 1;
	snprintf(full, sizeof(full), "shk_%s", token);
	sha256_hex("", 0, full, strlen(full), hash);
	{
		struct store_arg args[] = { SARG_TEXT(name), SARG_TEXT(hash), SARG_TEXT(o.role),
		    SARG_TEXT(o.branches), SARG_INT(wall_ms()) };

		if (store_begin(s) == 0 && store_run(s, "INSERT INTO console_tokens(name, "
		    "token_hash, role, branches, created_at) VALUES (?1, ?2, ?3, ?4, ?5) "
		    "ON CONFLICT(name) DO NOTHING", args, 5) == 1 &&
		    audit_role(s, "token_add", name, o.role) == 0 && store_commit(s) == 0) {
			printf("%s\n", full);
			fprintf(stderr, "token %s (%s) made; it is shown this once: send it as "
			    "'Authorization: Bearer TOKEN'\n", name, o.role);
			return 0;
		}
	}
	store_rollback(s);
	fprintf(stderr, "shokaictl: token %s was not made (the name may be taken): %s\n", name,
	    store_errmsg(s));
	return 1;
}

int
token_cmd(struct config *cf, int argc, char **argv)
{
	enum print_format format = PRINT_TABLE;
	struct store *s;
	int rc = 2;

	if (ctl_take_format(&argc, argv, &format) == -1 || argc < 1)
		return 2;
	if ((s = ctl_open_store(cf)) == NULL)
		return 1;
	if (strcmp(argv[0], "list") == 0 && argc == 1)
		rc = store_print_query(s, stdout, format, "SELECT name, role, branches, "
		    "datetime(created_at / 1000, 'unixepoch', 'localtime') AS created, "
		    "coalesce(datetime(last_used_at / 1000, 'unixepoch', 'localtime'), '-') AS "
		    "last_used, CASE WHEN revoked_at IS NULL THEN 'active' ELSE 'revoked' END AS "
		    "state FROM console_tokens ORDER BY name", NULL, 0) == 0 ? 0 : 1;
	else if (strcmp(argv[0], "add") == 0 && argc >= 2)
		rc = token_add(cf, s, argv[1], argc - 2, argv + 2);
	else if (strcmp(argv[0], "revoke") == 0 && argc == 2) {
		struct store_arg args[] = { SARG_TEXT(argv[1]), SARG_INT(wall_ms()) };

		if (store_begin(s) == 0 && store_run(s, "UPDATE console_tokens SET revoked_at = "
		    "?2 WHERE name = ?1 AND revoked_at IS NULL", args, 2) == 1 &&
		    audit(s, "token_revoke", argv[1], NULL) == 0 && store_commit(s) == 0) {
			printf("token %s revoked\n", argv[1]);
			rc = 0;
		} else {
			store_rollback(s);
			fprintf(stderr, "shokaictl: no active token '%s'\n", argv[1]);
			rc = 1;
		}
	}
	store_close(s);
	return rc;
}

/* The console's words for an action, its target and its facts (console_wording.c), so
 * the shell, the page and the CSV say the same. */
struct audit_wording {
	json_t		*text;		/* text/ja.json */
	struct config	*cf;
};

static char *
action_words(void *arg, const char *const *argv, int argc)
{
	const struct audit_wording *w = arg;

	(void)argc;
	return xstrdup(console_audit_action_words(w->text, argv[0] ? argv[0] : ""));
}

static char *
detail_words(void *arg, const char *const *argv, int argc)
{
	const struct audit_wording *w = arg;

	(void)argc;
	return console_audit_detail_words(w->text, w->cf, argv[0], argv[1]);
}

static char *
target_words(void *arg, const char *const *argv, int argc)
{
	const struct audit_wording *w = arg;

	(void)argc;
	return console_audit_target_words(w->text, w->cf, argv[0], argv[1], NULL);
}

int
audit_cmd(struct config *cf, int argc, char **argv)
{
	enum print_format format = PRINT_TABLE;
	char limit[16] = "100";
	const char *args[1];
	struct audit_wording words = { .cf = cf };
	struct store *s = NULL;
	int rc = 1;

	if (ctl_take_format(&argc, argv, &format) == -1)
		return 2;
	for (int i = 0; i < argc; i += 2) {
		if (i + 1 >= argc)
			return 2;
		if (strcmp(argv[i], "--limit") == 0 && atoi(argv[i + 1]) > 0)
			snprintf(limit, sizeof(limit), "%d", atoi(argv[i + 1]));
		else
			return 2;
	}
	args[0] = limit;
	words.text = console_text_load("text/ja.json");
	if ((s = ctl_open_store(cf)) == NULL ||
	    store_text_function(s, "action_words", 1, action_words, &words) == -1 ||
	    store_text_function(s, "detail_words", 2, detail_words, &words) == -1 ||
	    store_text_function(s, "target_words", 2, target_words, &words) == -1)
		goto done;
	/* The words to read first, the codes to search and script with last. */
	rc = store_print_query(s, stdout, format, "SELECT id, datetime(at / 1000, 'unixepoch', "
	    "'localtime') AS at, actor, action_words(action) AS action_words, "
	    "target_words(target, " STORE_AUDIT_TARGET_NAME ") AS target_words, "
	    "detail_words(action, detail) AS detail_words, coalesce(client, '') AS client, "
	    "action, coalesce(target, '') AS target, coalesce(detail, '') AS detail "
	    "FROM audit_log ORDER BY id DESC LIMIT ?1", args, 1) == 0 ? 0 : 1;
done:
	store_close(s);
	json_decref(words.text);
	return rc;
}
