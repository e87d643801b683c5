/* config_admin.c: the console's section: where it listens (never the webhook port), how
 * long a session lives, and how many failed logins an account or a client gets. Without
 * the section the console listens on 127.0.0.1:8081; `listen: off` turns it off. */
#include <string.h>

#include "config_yaml.h"

void
cfg_parse_admin(struct cfg *c)
{
	static const char *const allowed[] = { "listen", "session_idle", "session_max",
	    "login_failures_per_account", "login_failures_per_client", "login_window",
	    "secure_cookie", "public_url", "tls", "metrics_token_file", "metrics_token_env",
	    "ready_max_backlog", NULL };
	struct config *cf = c->out;
	struct cnode m, v;

	cf->admin_session_idle_ms = 30 * 60 * 1000;
	cf->admin_session_max_ms = 12 * 3600 * 1000;
	cf->admin_login_failures = 5;
	cf->admin_client_failures = 20;
	cf->admin_login_window_ms = 15 * 60 * 1000;
	cf->admin_ready_max_backlog = 10000;
	if (!cfg_root_get(c, "admin", &m)) {
		cf->admin_host = xstrdup("127.0.0.1");
		cf->admin_port = 8081;
		goto url;
	}
	if (cfg_check_mapping(c, m, "admin", allowed, NULL) == -1)
		return;
	if (cfg_map_get(m, "listen", &v) && v.node->type == YAML_SCALAR_NODE &&
	    strcmp(cfg_scalar(v), "off") == 0)
		;	/* no console */
	else if (!cfg_map_get(m, "listen", &v)) {
		cf->admin_host = xstrdup("127.0.0.1");
		cf->admin_port = 8081;
	} else
		cfg_parse_listen(c, m, "admin", &cf->admin_host, &cf->admin_port);
	cfg_get_duration(c, m, "admin", "session_idle", 1000, 7LL * 86400 * 1000,
	    &cf->admin_session_idle_ms);
	cfg_get_duration(c, m, "admin", "session_max", 1000, 30LL * 86400 * 1000,
	    &cf->admin_session_max_ms);
	cfg_get_int(c, m, "admin", "login_failures_per_account", 1, 1000,
	    &cf->admin_login_failures);
	cfg_get_int(c, m, "admin", "login_failures_per_client", 1, 100000,
	    &cf->admin_client_failures);
	cfg_get_duration(c, m, "admin", "login_window", 1000, 86400 * 1000,
	    &cf->admin_login_window_ms);
	cfg_get_bool(c, m, "admin", "secure_cookie", &cf->admin_secure_cookie);
	cfg_get_url(c, m, "admin", "public_url", &cf->admin_public_url);
	cfg_parse_tls(c, m, "admin", &cf->admin_tls);
	cfg_get_secret(c, m, "admin", "metrics_token", 0, &cf->admin_metrics_token);
	cfg_get_int(c, m, "admin", "ready_max_backlog", 1, 100000000,
	    &cf->admin_ready_max_backlog);
	if (cf->admin_host != NULL && cf->listen_host != NULL &&
	    cf->admin_port == cf->listen_port && cf->admin_port != 0) {
		cfg_map_get(m, "listen", &v);
		cfg_err(c, v, "admin.listen: the console never shares the webhook port %d",
		    cf->listen_port);
	}
url:
	/* Links in LINE WORKS notices open the console: where people reach it, which is
	 * its listener unless a proxy or a name stands in front. */
	if (cf->admin_public_url == NULL && cf->admin_host != NULL)
		cf->admin_public_url = xasprintf(strchr(cf->admin_host, ':') != NULL ?
		    "%s://[%s]:%d" : "%s://%s:%d", cf->admin_tls != NULL ? "https" : "http",
		    cf->admin_host, cf->admin_port);
}

char *
config_console_link(const struct config *cf, const char *page)
{
	if (cf->admin_public_url == NULL)
		return NULL;
	return xasprintf("%s/admin/#%s", cf->admin_public_url, page);
}
