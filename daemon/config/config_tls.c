/* config_tls.c: a listener's `tls: { cert_file, key_file }` (server.tls, admin.tls),
 * read into a ready TLS context, so a certificate that cannot serve (unreadable, a key
 * that does not match it) is a config error like any other: shokaid -t reports it and
 * a reload keeps the old snapshot, and with it the old certificate. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/tls.h"
#include "config_yaml.h"

/* The path of m[key] resolved against its file; NULL after reporting why. */
static char *
tls_path(struct cfg *c, struct cnode m, const char *what, const char *key, int secret)
{
	struct cnode v;
	struct stat st;
	char *rel = NULL, *path, why[64];
	int fd;

	if (cfg_get_str(c, m, what, key, &rel) != 1)
		return NULL;
	cfg_map_get(m, key, &v);
	path = cfg_resolve_path(v.file->path, rel);
	free(rel);
	if ((fd = cfg_open_regular(path, &st, why, sizeof(why))) == -1) {
		cfg_err(c, v, "%s.%s: cannot open %s: %s", what, key, path, why);
		free(path);
		return NULL;
	}
	close(fd);
	/* The private key is a secret like the channel secrets: owner only. */
	if (secret && (st.st_mode & 077) != 0) {
		cfg_err(c, v, "%s.%s: %s is readable by group or others (mode %04o); run "
		    "chmod 600 on it", what, key, path, (unsigned)(st.st_mode & 07777));
		free(path);
		return NULL;
	}
	return path;
}

void
cfg_parse_tls(struct cfg *c, struct cnode section, const char *section_name,
    struct ssl_ctx_st **out)
{
	static const char *const keys[] = { "cert_file", "key_file", NULL };
	struct cnode m;
	char *what, *cert = NULL, *key = NULL, why[WHY_MAX];

	if (!cfg_map_get(section, "tls", &m))
		return;
	what = xasprintf("%s.tls", section_name);
	if (cfg_check_mapping(c, m, what, keys, keys) != 1)
		goto done;
	cert = tls_path(c, m, what, "cert_file", 0);
	key = tls_path(c, m, what, "key_file", 1);
	if (cert == NULL || key == NULL)
		goto done;
	if ((*out = tls_ctx_new(cert, key, why, sizeof(why))) == NULL)
		cfg_err(c, m, "%s: %s", what, why);
done:
	free(cert);
	free(key);
	free(what);
}
