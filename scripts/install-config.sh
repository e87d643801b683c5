#!/bin/sh
# install-config.sh DIR: installs the production config (dist/shokai.yaml) and the example
# bot's messages, rich menus, referral program and announcements into DIR (make install
# passes $(DESTDIR)/etc/shokai). A file already there is the operator's: it is never
# overwritten, and the new version is left beside it as FILE.dist to compare.
set -eu
dir=${1:?usage: scripts/install-config.sh DIR}
top=$(cd "$(dirname "$0")/.." && pwd)

# put SRC DEST: installs SRC as DEST unless DEST exists.
put() {
	if [ -e "$2" ]; then
		if ! cmp -s "$1" "$2"; then
			install -m 644 "$1" "$2.dist"
			echo "install-config: kept $2 (the new version is $2.dist)"
		fi
	else
		install -m 644 "$1" "$2"
		echo "install-config: installed $2"
	fi
}

install -d -m 755 "$dir" "$dir/richmenu"
put "$top/dist/shokai.yaml" "$dir/shokai.yaml"
for f in messages.yaml richmenus.yaml referral.yaml announcements.yaml; do
	put "$top/config/$f" "$dir/$f"
done
for f in "$top"/config/richmenu/*.png; do
	put "$f" "$dir/richmenu/$(basename "$f")"
done
