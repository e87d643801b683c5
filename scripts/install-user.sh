#!/bin/sh
# install-user.sh: on this machine, as root, creates the system user shokai (no shell, home
# /var/lib/shokai), its state directory (0700) and /etc/shokai/secrets (0750, group
# shokai, for secret files of mode 0600 owned by shokai). Safe to run again. `make install`
# runs it only without DESTDIR; the Debian package's postinst does the same itself.
set -eu
if [ "$(id -u)" -ne 0 ]; then
	echo "install-user: not root: create the user shokai and /var/lib/shokai yourself" >&2
	exit 0
fi
if ! getent passwd shokai >/dev/null; then
	if command -v adduser >/dev/null 2>&1; then
		adduser --system --group --home /var/lib/shokai --no-create-home \
		    --shell /usr/sbin/nologin --gecos "shokai daemon" shokai
	else
		useradd --system --user-group --home-dir /var/lib/shokai --no-create-home \
		    --shell /usr/sbin/nologin --comment "shokai daemon" shokai
	fi
	echo "install-user: created the system user shokai"
fi
install -d -m 700 -o shokai -g shokai /var/lib/shokai
install -d -m 750 -o root -g shokai /etc/shokai/secrets
