#!/bin/sh
# mkdeb.sh ROOT OUTDIR: turns the tree `make install` staged in ROOT (PREFIX=/usr) into
# OUTDIR/shokai_VERSION_ARCH.deb with dpkg-deb alone (no debhelper, no network): stripped
# binaries, man pages gzipped, the doc files, dist/deb's maintainer scripts, conffiles for
# everything under /etc, md5sums, and Depends from dpkg-shlibdeps (Debian 12's library
# packages when it is missing). Files are owned by root whoever builds it.
set -eu
root=${1:?usage: scripts/mkdeb.sh ROOT OUTDIR}
out=${2:?usage: scripts/mkdeb.sh ROOT OUTDIR}
top=$(cd "$(dirname "$0")/.." && pwd)
deb=$top/dist/deb
root=$(cd "$root" && pwd)

upstream=$(sed -n 's/^#define SHOKAI_VERSION "\(.*\)"$/\1/p' "$top/daemon/base/base.h")
[ -n "$upstream" ] || { echo "mkdeb: SHOKAI_VERSION not found in daemon/base/base.h" >&2; exit 1; }
version=$upstream-1
arch=$(dpkg --print-architecture)
# One date for the changelog and every file's time (dpkg-deb clamps to it): the last
# commit's, so the same tree makes the same package.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$top" log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH

strip --strip-unneeded --remove-section=.comment --remove-section=.note \
    "$root/usr/sbin/shokaid" "$root/usr/bin/shokaictl"
find "$root/usr/share/man" -type f ! -name '*.gz' -exec gzip -9n {} +

doc=$root/usr/share/doc/shokai
install -d -m 755 "$doc" "$root/usr/share/lintian/overrides"
install -m 644 "$deb/copyright" "$doc/copyright"
sed -e "s/@VERSION@/$version/" -e "s/@DATE@/$(date -R -u -d "@$SOURCE_DATE_EPOCH")/" \
    "$deb/changelog" | gzip -9n >"$doc/changelog.Debian.gz"
chmod 644 "$doc/changelog.Debian.gz"
install -m 644 "$deb/lintian-overrides" "$root/usr/share/lintian/overrides/shokai"

# dpkg-shlibdeps wants a debian/control around it; a scratch one is enough.
depends=""
if command -v dpkg-shlibdeps >/dev/null 2>&1; then
	scratch=$(mktemp -d)
	mkdir "$scratch/debian"
	printf 'Source: shokai\n\nPackage: shokai\nArchitecture: any\n' >"$scratch/debian/control"
	depends=$(cd "$scratch" && dpkg-shlibdeps -O "$root/usr/sbin/shokaid" \
	    "$root/usr/bin/shokaictl" 2>/dev/null | sed -n 's/^shlibs:Depends=//p') || depends=""
	rm -rf "$scratch"
fi
if [ -z "$depends" ]; then
	depends="libc6 (>= 2.36), libevent-2.1-7 (>= 2.1.12), \
libevent-pthreads-2.1-7 (>= 2.1.12), libevent-openssl-2.1-7 (>= 2.1.12), libjansson4 (>= 2.14), libcjson1 (>= 1.7.15), libsqlite3-0 (>= 3.40), \
libssl3 (>= 3.0), libyaml-0-2"
fi

install -d -m 755 "$root/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: shokai
Version: $version
Architecture: $arch
Maintainer: shokai developers <shokai@example.com>
Installed-Size: $size
Depends: $depends, adduser
Section: net
Priority: optional
Description: referral bot daemon for LINE and LINE WORKS
 shokaid receives LINE webhooks and LINE WORKS bot callbacks, verifies their
 signatures, stores every event in SQLite before answering and runs the
 referral program: invite links, claims, the reps' notices on LINE WORKS,
 rewards and announcements, with a web console for operators. shokaictl is
 the operator's command-line tool.
CONTROL
(cd "$root" && find etc -type f | sort | sed 's|^|/|') >"$root/DEBIAN/conffiles"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | sort |
    xargs md5sum) >"$root/DEBIAN/md5sums"
install -m 755 "$deb/postinst" "$deb/prerm" "$deb/postrm" "$root/DEBIAN/"
chmod 644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

mkdir -p "$out"
file=$out/shokai_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$file" >/dev/null
echo "mkdeb: $file"
