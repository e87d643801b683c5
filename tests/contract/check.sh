#!/bin/bash
# check.sh DIR: contract check of every outbound LINE request that shokaid dumped into DIR
# (one JSON file per request, *.json, see tests/contract/README.md).
#
#  1. makes sure the tooling is installed (setup.sh; "contract: SKIPPED (...)" + exit 3 if not
#     possible);
#  2. starts Prism (`prism mock --errors` of <repo>/../shared/line-openapi/messaging-api.yml) on
#     a free loopback port and waits, bounded, for its "listening" line;
#  3. replays each request file against it and records the status (send-to-prism.js);
#  4. runs validate-messages.js over the same files (discriminator-aware schema check + the
#     digest's prose limits), merging Prism's verdicts;
#  5. prints "PASS name" / "FAIL name: reason" per request and "N passed, N failed".
#
# Exit: 0 all passed; 1 some request failed; 2 usage or infrastructure error (no spec, no
# request files, Prism did not start); 3 skipped (no node/npm, install failed).
#
# Environment: SHOKAI_SHARED (default <repo>/../shared), CONTRACT_NODE_DIR (default
# <repo>/build/contract-node), CONTRACT_PRISM_TIMEOUT (seconds to wait for Prism, default 60),
# CONTRACT_STRICT=1 (warnings fail), CONTRACT_COUNT=utf16, CONTRACT_KEEP_LOGS=1.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
SHARED=${SHOKAI_SHARED:-$top/../shared}
export SHOKAI_SHARED=$SHARED
NODE_DIR=${CONTRACT_NODE_DIR:-$top/build/contract-node}
export CONTRACT_NODE_DIR=$NODE_DIR
SPEC=$SHARED/line-openapi/messaging-api.yml
PRISM_TIMEOUT=${CONTRACT_PRISM_TIMEOUT:-60}

die() {
	echo "contract: ERROR: $*" >&2
	exit 2
}

[ $# -eq 1 ] || die "usage: tests/contract/check.sh DIR (a directory of request *.json files)"
dir=$1
[ -d "$dir" ] || die "not a directory: $dir"
dir=$(cd "$dir" && pwd)
[ -f "$SPEC" ] || die "OpenAPI spec not found: $SPEC (set SHOKAI_SHARED to the shared/ folder)"

shopt -s nullglob
files=("$dir"/*.json)
shopt -u nullglob
[ ${#files[@]} -gt 0 ] || die "no request files (*.json) in $dir"

# Tooling (idempotent; fast when already installed). Its SKIPPED line and exit 3 pass through.
setup_out=$("$here/setup.sh" 2>&1)
rc=$?
if [ $rc -ne 0 ]; then
	printf '%s\n' "$setup_out" | grep -v '^contract: SKIPPED' >&2
	printf '%s\n' "$setup_out" | grep '^contract: SKIPPED' || echo "contract: SKIPPED (setup.sh exited $rc)"
	exit 3
fi
PRISM=$NODE_DIR/node_modules/.bin/prism

work=$(mktemp -d "${TMPDIR:-/tmp}/contract.XXXXXX") || die "mktemp failed"
prism_pid=
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	if [ -n "$prism_pid" ] && kill -0 "$prism_pid" 2>/dev/null; then
		kill "$prism_pid" 2>/dev/null
		for _ in $(seq 1 50); do
			kill -0 "$prism_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$prism_pid" 2>/dev/null
		wait "$prism_pid" 2>/dev/null
	fi
	if [ "${CONTRACT_KEEP_LOGS:-0}" = 1 ]; then
		echo "contract: logs kept in $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
	node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();})'
}

# start_prism: starts Prism on a free port; returns 0 when it printed its listening line,
# 1 if it died (e.g. the port was taken meanwhile) and 2 on timeout.
start_prism() {
	port=$(free_port) || die "cannot find a free loopback port"
	: >"$work/prism.log"
	"$PRISM" mock --errors --host 127.0.0.1 --port "$port" "$SPEC" >"$work/prism.log" 2>&1 &
	prism_pid=$!
	local deadline=$((SECONDS + PRISM_TIMEOUT))
	while [ $SECONDS -lt $deadline ]; do
		if grep -q "Prism is listening on http://127.0.0.1:$port" "$work/prism.log"; then
			return 0
		fi
		if ! kill -0 "$prism_pid" 2>/dev/null; then
			wait "$prism_pid" 2>/dev/null
			prism_pid=
			return 1
		fi
		sleep 0.1
	done
	return 2
}

t0=$(date +%s.%N)
started=
for attempt in 1 2 3; do
	start_prism
	case $? in
	0)
		started=1
		break
		;;
	1) echo "contract: Prism exited during startup (attempt $attempt):" >&2
		tail -n 5 "$work/prism.log" >&2 ;;
	2) echo "contract: Prism printed no listening line within ${PRISM_TIMEOUT}s" >&2
		tail -n 5 "$work/prism.log" >&2
		break ;;
	esac
done
[ -n "$started" ] || die "Prism did not start (log: $work/prism.log; CONTRACT_KEEP_LOGS=1 keeps it)"
t1=$(date +%s.%N)
echo "contract: Prism $("$PRISM" --version 2>/dev/null) listening on 127.0.0.1:$port ($(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')s); ${#files[@]} request(s) from $dir"

node "$here/send-to-prism.js" "http://127.0.0.1:$port" "${files[@]}" >"$work/prism-results.jsonl" ||
	die "send-to-prism.js failed"
[ "$(wc -l <"$work/prism-results.jsonl")" -eq ${#files[@]} ] || die "Prism results incomplete ($work/prism-results.jsonl)"

node "$here/validate-messages.js" --prism-results "$work/prism-results.jsonl" "${files[@]}"
rc=$?
case $rc in
0 | 1) exit $rc ;;
3) exit 3 ;;
*) die "validate-messages.js exited $rc" ;;
esac
