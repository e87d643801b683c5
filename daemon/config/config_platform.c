/* config_platform.c: the platform sections: LINE channels (line.channels) and LINE
 * WORKS bots (lineworks.bots), with their secrets read from files or the environment
 * (never from the config file itself) and checked at load: a secret file others can
 * read, or a private key OpenSSL cannot, is a load error, not a failed send later. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <jansson.h>

#include "config_yaml.h"

#define SECRET_MAX	(64 * 1024)

/* Reads a secret named by key_file (path) or key_env (variable); exactly one must be
 * given when required. Trailing newlines are dropped: operators write them with echo.
 * A file readable by group or others is refused, so a leaked mode is caught early. */
int
cfg_get_secret(struct cfg *c, struct cnode m, const char *what, const char *key, int required,
    char **out)
{
	char *file_key = xasprintf("%s_file", key), *env_key = xasprintf("%s_env", key);
	char *path = NULL, *value = NULL;
	struct cnode fv, ev;
	int has_file = cfg_map_get(m, file_key, &fv), has_env = cfg_map_get(m, env_key, &ev);
	int rc = -1, fd = -1;
	struct stat st;
	char why[64];
	ssize_t n;

	if (has_file && has_env) {
		cfg_err(c, ev, "%s: give either %s or %s, not both", what, file_key, env_key);
		goto done;
	}
	if (!has_file && !has_env) {
		struct cnode inline_v;

		/* The secret written inline is reported by cfg_check_mapping, with the fix. */
		if (required && !cfg_map_get(m, key, &inline_v))
			cfg_err(c, m, "%s: missing required key '%s' (or '%s')", what, file_key,
			    env_key);
		rc = required ? -1 : 0;
		goto done;
	}
	if (has_env) {
		const char *env;

		if (cfg_get_str(c, m, what, env_key, &path) != 1)
			goto done;
		env = getenv(path);
		if (env == NULL || *env == '\0') {
			cfg_err(c, ev, "%s.%s: environment variable %s is not set", what, env_key,
			    path);
			goto done;
		}
		value = xstrdup(env);
	} else {
		char *rel = NULL;

		if (cfg_get_str(c, m, what, file_key, &rel) != 1)
			goto done;
		path = cfg_resolve_path(fv.file->path, rel);
		free(rel);
		if ((fd = cfg_open_regular(path, &st, why, sizeof(why))) == -1) {
			cfg_err(c, fv, "%s.%s: cannot open %s: %s", what, file_key, path, why);
			goto done;
		}
		if ((st.st_mode & 077) != 0) {
			cfg_err(c, fv, "%s.%s: %s is readable by group or others (mode %04o); "
			    "run chmod 600 on it", what, file_key, path,
			    (unsigned)(st.st_mode & 07777));
			goto done;
		}
		if (st.st_size > SECRET_MAX) {
			cfg_err(c, fv, "%s.%s: %s is larger than %d bytes", what, file_key, path,
			    SECRET_MAX);
			goto done;
		}
		value = xmalloc((size_t)st.st_size + 1);
		n = read(fd, value, (size_t)st.st_size);
		if (n < 0) {
			cfg_err(c, fv, "%s.%s: cannot read %s: %s", what, file_key, path,
			    strerror(errno));
			goto done;
		}
		value[n] = '\0';
	}
	for (size_t len = strlen(value); len > 0 &&
	    (value[len - 1] == '\n' || value[len - 1] == '\r'); len--)
		value[len - 1] = '\0';
	if (*value == '\0') {
		cfg_err(c, has_file ? fv : ev, "%s.%s: the secret is empty", what,
		    has_file ? file_key : env_key);
		goto done;
	}
	free(*out);
	*out = value;
	value = NULL;
	rc = 1;
done:
	if (fd != -1)
		close(fd);
	if (value != NULL) {
		OPENSSL_cleanse(value, strlen(value));
		free(value);
	}
	free(path);
	free(file_key);
	free(env_key);
	return rc;
}

static void
get_id(struct cfg *c, struct cnode m, const char *what, char **out)
{
	struct cnode v;

	if (cfg_get_str(c, m, what, "id", out) == 1 && !cfg_valid_id(*out)) {
		cfg_map_get(m, "id", &v);
		cfg_err(c, v, "%s.id: '%s' may use only a-z, 0-9, '-' and '_' (at most 64)",
		    what, *out);
	}
}

static void
parse_line_channel(struct cfg *c, struct cnode m, const char *what,
    struct config_line_channel *ch)
{
	static const char *const allowed[] = { "id", "basic_id", "channel_secret_file",
	    "channel_secret_env", "access_token_file", "access_token_env", "bot_user_id",
	    "api_base", "api_data_base", "reply_fallback_to_push", NULL };
	static const char *const required[] = { "id", "basic_id", "api_base",
	    "api_data_base", NULL };
	struct cnode v;

	ch->reply_fallback_to_push = 1;
	if (cfg_check_mapping(c, m, what, allowed, required) == -1)
		return;
	get_id(c, m, what, &ch->id);
	if (cfg_get_str(c, m, what, "basic_id", &ch->basic_id) == 1 && ch->basic_id[0] != '@') {
		cfg_map_get(m, "basic_id", &v);
		cfg_err(c, v, "%s.basic_id: '%s' should start with '@' (as in @123abcde)", what,
		    ch->basic_id);
	}
	if (cfg_get_secret(c, m, what, "channel_secret", 1, &ch->channel_secret) == 1)
		ch->secret_key = sig_key_new(ch->channel_secret, strlen(ch->channel_secret));
	cfg_get_secret(c, m, what, "access_token", 1, &ch->access_token);
	if (cfg_get_str(c, m, what, "bot_user_id", &ch->bot_user_id) == 1 &&
	    (ch->bot_user_id[0] != 'U' || strlen(ch->bot_user_id) != 33)) {
		cfg_map_get(m, "bot_user_id", &v);
		cfg_err(c, v, "%s.bot_user_id: expected U followed by 32 hex digits", what);
	}
	cfg_get_url(c, m, what, "api_base", &ch->api_base);
	cfg_get_url(c, m, what, "api_data_base", &ch->api_data_base);
	cfg_get_bool(c, m, what, "reply_fallback_to_push", &ch->reply_fallback_to_push);
}

/* The private key must be a PEM private key OpenSSL can read: finding out at the first
 * LINE WORKS send would be too late. */
static void
check_private_key(struct cfg *c, struct cnode m, const char *what, const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	struct cnode v;

	if (key == NULL || EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
		if (!cfg_map_get(m, "private_key_file", &v))
			cfg_map_get(m, "private_key_env", &v);
		cfg_err(c, v, "%s.private_key: not a PEM RSA private key", what);
	}
	EVP_PKEY_free(key);
	BIO_free(bio);
}

static void
parse_works_bot(struct cfg *c, struct cnode m, const char *what, struct config_works_bot *b)
{
	static const char *const allowed[] = { "id", "bot_id", "bot_secret_file",
	    "bot_secret_env", "client_id", "client_secret_file", "client_secret_env",
	    "service_account", "private_key_file", "private_key_env", "auth_url", "api_base",
	    "persistent_menu", NULL };
	static const char *const required[] = { "id", "bot_id", "client_id",
	    "service_account", "auth_url", "api_base", NULL };
	struct cnode v;

	if (cfg_check_mapping(c, m, what, allowed, required) == -1)
		return;
	get_id(c, m, what, &b->id);
	if (cfg_get_str(c, m, what, "bot_id", &b->bot_id) == 1) {
		const char *p = b->bot_id;

		while (isdigit((unsigned char)*p))
			p++;
		if (*p != '\0' || p == b->bot_id) {
			cfg_map_get(m, "bot_id", &v);
			cfg_err(c, v, "%s.bot_id: expected the numeric bot ID, got '%s'", what,
			    b->bot_id);
		}
	}
	if (cfg_get_secret(c, m, what, "bot_secret", 1, &b->bot_secret) == 1)
		b->secret_key = sig_key_new(b->bot_secret, strlen(b->bot_secret));
	cfg_get_str(c, m, what, "client_id", &b->client_id);
	cfg_get_secret(c, m, what, "client_secret", 1, &b->client_secret);
	cfg_get_str(c, m, what, "service_account", &b->service_account);
	if (cfg_get_secret(c, m, what, "private_key", 1, &b->private_key_pem) == 1)
		check_private_key(c, m, what, b->private_key_pem);
	cfg_get_url(c, m, what, "auth_url", &b->auth_url);
	cfg_get_url(c, m, what, "api_base", &b->api_base);
	if (cfg_map_get(m, "persistent_menu", &v)) {
		char *menu_what = xasprintf("%s.persistent_menu", what);

		b->persistent_menu = cfg_parse_persistent_menu(c, v, menu_what);
		free(menu_what);
	}
}

static void
parse_line(struct cfg *c, struct cnode m)
{
	static const char *const allowed[] = { "channels", NULL };
	struct cnode list;
	struct config *cf = c->out;

	if (cfg_check_mapping(c, m, "line", allowed, NULL) == -1)
		return;
	if (!cfg_check_list(c, m, "line", "channels", &list))
		return;
	cf->n_line_channels = cfg_list_len(list);
	cf->line_channels = xcalloc(cf->n_line_channels, sizeof(*cf->line_channels));
	for (size_t i = 0; i < cf->n_line_channels; i++) {
		char *what = xasprintf("line.channels[%zu]", i);
		struct cnode item = cfg_list_item(list, i);

		parse_line_channel(c, item, what, &cf->line_channels[i]);
		for (size_t j = 0; j < i; j++)
			if (cf->line_channels[i].id && cf->line_channels[j].id &&
			    strcmp(cf->line_channels[i].id, cf->line_channels[j].id) == 0)
				cfg_err(c, item, "%s: id '%s' is used twice", what,
				    cf->line_channels[i].id);
		free(what);
	}
}

static void
parse_lineworks(struct cfg *c, struct cnode m)
{
	static const char *const allowed[] = { "bots", NULL };
	struct cnode list;
	struct config *cf = c->out;

	if (cfg_check_mapping(c, m, "lineworks", allowed, NULL) == -1)
		return;
	if (!cfg_check_list(c, m, "lineworks", "bots", &list))
		return;
	cf->n_works_bots = cfg_list_len(list);
	cf->works_bots = xcalloc(cf->n_works_bots, sizeof(*cf->works_bots));
	for (size_t i = 0; i < cf->n_works_bots; i++) {
		char *what = xasprintf("lineworks.bots[%zu]", i);
		struct cnode item = cfg_list_item(list, i);
		struct config_works_bot *b = &cf->works_bots[i];

		parse_works_bot(c, item, what, b);
		for (size_t j = 0; j < i; j++) {
			if (b->id && cf->works_bots[j].id && strcmp(b->id, cf->works_bots[j].id) == 0)
				cfg_err(c, item, "%s: id '%s' is used twice", what, b->id);
			if (b->bot_id && cf->works_bots[j].bot_id &&
			    strcmp(b->bot_id, cf->works_bots[j].bot_id) == 0)
				cfg_err(c, item, "%s: bot_id '%s' is used twice", what, b->bot_id);
		}
		free(what);
	}
}

/* line, then lineworks; read before the chat and referral sections, which name
 * channels and bots. */
void
cfg_parse_platform(struct cfg *c)
{
	struct cnode sec;

	if (cfg_root_get(c, "line", &sec))
		parse_line(c, sec);
	if (cfg_root_get(c, "lineworks", &sec))
		parse_lineworks(c, sec);
}

static void
free_line_channel(struct config_line_channel *ch)
{
	free(ch->id);
	free(ch->basic_id);
	if (ch->channel_secret != NULL)
		OPENSSL_cleanse(ch->channel_secret, strlen(ch->channel_secret));
	free(ch->channel_secret);
	sig_key_free(ch->secret_key);
	if (ch->access_token != NULL)
		OPENSSL_cleanse(ch->access_token, strlen(ch->access_token));
	free(ch->access_token);
	free(ch->bot_user_id);
	free(ch->api_base);
	free(ch->api_data_base);
}

static void
free_works_bot(struct config_works_bot *b)
{
	free(b->id);
	free(b->bot_id);
	if (b->bot_secret != NULL)
		OPENSSL_cleanse(b->bot_secret, strlen(b->bot_secret));
	free(b->bot_secret);
	sig_key_free(b->secret_key);
	free(b->client_id);
	if (b->client_secret != NULL)
		OPENSSL_cleanse(b->client_secret, strlen(b->client_secret));
	free(b->client_secret);
	free(b->service_account);
	if (b->private_key_pem != NULL)
		OPENSSL_cleanse(b->private_key_pem, strlen(b->private_key_pem));
	free(b->private_key_pem);
	free(b->auth_url);
	free(b->api_base);
	json_decref(b->persistent_menu);
}

void
cfg_free_platform(struct config *cf)
{
	for (size_t i = 0; i < cf->n_line_channels; i++)
		free_line_channel(&cf->line_channels[i]);
	free(cf->line_channels);
	for (size_t i = 0; i < cf->n_works_bots; i++)
		free_works_bot(&cf->works_bots[i]);
	free(cf->works_bots);
}

const struct config_line_channel *
config_line_channel(const struct config *cf, const char *id)
{
	for (size_t i = 0; i < cf->n_line_channels; i++)
		if (cf->line_channels[i].id != NULL && strcmp(cf->line_channels[i].id, id) == 0)
			return &cf->line_channels[i];
	return NULL;
}

const struct config_works_bot *
config_works_bot(const struct config *cf, const char *id)
{
	for (size_t i = 0; i < cf->n_works_bots; i++)
		if (cf->works_bots[i].id != NULL && strcmp(cf->works_bots[i].id, id) == 0)
			return &cf->works_bots[i];
	return NULL;
}
