#!/bin/sh
# install-deps.sh: installs the Debian 12 packages shokai needs to build, run and test,
# and only those that are missing. Safe to run again. Needs root (or sudo) when
# something is missing.
set -eu

# build: compiler, make, pkg-config; libraries: libevent (the loop, the HTTP server and
# the outbound HTTP client), jansson (JSON), cJSON (reading webhook bodies), OpenSSL (HMAC, JWT, TLS), SQLite
# (storage), libyaml (config); tests: cmocka (unit), python3 (integration), sqlite3 CLI,
# openssl CLI (test keys), clang (sanitizer and fuzz builds), wrk (benchmark),
# nodejs and npm (contract tests, the benchmark's reference server, the console's browser
# test); chromium (the console's browser test drives Debian's build through puppeteer-core,
# which never downloads a browser) and fonts-noto-cjk (so its screenshots show Japanese
# rather than empty boxes).
PACKAGES="build-essential pkg-config libevent-dev libjansson-dev libcjson-dev \
libssl-dev libsqlite3-dev libyaml-dev libcmocka-dev python3 sqlite3 openssl curl \
clang libclang-rt-dev wrk nodejs npm ca-certificates chromium fonts-noto-cjk"
PACKAGES="$PACKAGES mandoc"  # t_package: mandoc -Tlint on the man pages
PACKAGES="$PACKAGES lintian"  # t_package: lintian on the .deb of make deb
PACKAGES="$PACKAGES prometheus"  # tests/integration/t_metrics.py: promtool check metrics
PACKAGES="$PACKAGES nginx-light"  # tests/integration/t_proxy.py: shokaid behind nginx (scripts/nginx-shokai.conf)
PACKAGES="$PACKAGES valgrind linux-perf"  # make bench-instr: callgrind's instructions, perf's system calls

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
# A node that came from elsewhere (not Debian's package) is fine too.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
	missing=$(echo "$missing" | sed 's/ nodejs//; s/ npm//')
fi

if [ -z "$(echo "$missing" | tr -d ' ')" ]; then
	echo "install-deps: everything is installed"
	exit 0
fi
echo "install-deps: installing$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
