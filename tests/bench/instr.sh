#!/usr/bin/env bash
# tests/bench/instr.sh: `make bench-instr`. Instructions and system calls per webhook, to
# compare builds of shokaid on a machine whose timings cannot (on this VM, CPU time per
# request swings 1.5x from run to run; instruction counts repeat within about 3 %).
# Instructions are user space, counted by callgrind; system calls by perf stat's
# syscalls:sys_enter_* tracepoints (skipped when perf cannot read them), in a second pair
# of runs at full speed, so batches gather as they do under load.
#
# For each binary: a fresh folder (shokaid_dir.sh: the bench config, every handler on), a
# simulator answering, the rich menus deployed; shokaid under valgrind --tool=callgrind;
# 100 warm-up webhooks over 8 connections, then COUNT over 32 (send_count.py), until the
# inbox and outbox drained; SIGTERM. Once more with COUNT = 0, and the difference divided
# by COUNT is what one webhook costs: verifying, storing, its handlers, its reply's send
# and outcome. The bodies are gen_bodies.py's reply mix with a fixed seed, the same for
# every binary. Prints two lines per binary (instructions; system calls, the busiest
# named) and, with INSTR_TOP=N, its N costliest functions (inclusive) from the COUNT run.
#
# Usage: tests/bench/instr.sh [SHOKAID ...]         (default: build/shokaid)
# Environment: INSTR_COUNT=1000  INSTR_EVENTS=1 (events per body)  INSTR_TOP=0
#              INSTR_USERS=events / 10 (distinct senders: gen_bodies.py --users)
#              INSTR_KEEP=1 (keep the folder, its callgrind files and logs)
#              BENCH_FLOWS=0 (shokaid without the example config's flows: run.sh)
#              SHOKAICTL=build/shokaictl: it creates the database (rich menu deploy), so
#              a binary of an older schema needs the shokaictl built with it
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
BENCH=tests/bench
# shellcheck source=tests/bench/shokaid_dir.sh
. "$BENCH/shokaid_dir.sh"	# and listen_port.sh
SHOKAICTL=${SHOKAICTL:-build/shokaictl}
SHOKAISIM=${SHOKAISIM:-build/shokaisim}
COUNT=${INSTR_COUNT:-1000}
EVENTS=${INSTR_EVENTS:-1}
TOP=${INSTR_TOP:-0}
# make bench's pools: 2,000 users in a 5-second run of about 20,000 events, a tenth of
# them someone's first (whose name is then fetched); the same tenth here.
USERS=${INSTR_USERS:-$(((COUNT + 100) * EVENTS / 10))}
[ $# -gt 0 ] || set -- build/shokaid
command -v valgrind >/dev/null || { echo "instr: valgrind is not installed" >&2; exit 1; }
for b in "$@" "$SHOKAICTL" "$SHOKAISIM"; do
	[ -x "$b" ] || { echo "instr: $b not found (make build/shokaid build/shokaictl build/shokaisim)" >&2; exit 1; }
done

TMP=$(mktemp -d /tmp/shokai-instr.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ "${INSTR_KEEP:-0}" = 1 ]; then echo "instr: kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
umask 077
make_secrets "$TMP/secrets"
python3 "$BENCH/gen_bodies.py" --secret-file "$TMP/secrets/line-secret" \
	--events-per-body "$EVENTS" --count $((COUNT + 100)) --seed 11 --users "$USERS" \
	"$TMP/pool.tsv" >/dev/null

# run TOOL BINARY N DIR: shokaid for 100 + N webhooks under TOOL (callgrind or perf); sets
# IR to its total instructions (callgrind) or SYSCALLS to "name count" lines (perf).
IR=
SYSCALLS=
run() {
	local tool=$1 bin=$2 n=$3 d=$4 sim shokaid port admin out
	"$SHOKAISIM" serve --no-records --listen 127.0.0.1:0 2>"$d.sim.log" &
	sim=$!
	PIDS+=("$sim")
	port=$(listen_port "$sim" "$d.sim.log" 100) || { echo "instr: no simulator" >&2; exit 1; }
	make_shokaid_dir "$d" "http://127.0.0.1:$port" "$TMP/secrets"
	! flows_on || timeout 60 "$SHOKAICTL" -c "$d/shokai.yaml" richmenu deploy >"$d/richmenu.log" 2>&1
	if [ "$tool" = callgrind ]; then
		valgrind --tool=callgrind --callgrind-out-file="$d/callgrind.out" \
			"$bin" -c "$d/shokai.yaml" 2>"$d/shokaid.log" &
	else
		perf stat -x, -e 'syscalls:sys_enter_*' -o "$d/perf.txt" -- \
			"$bin" -c "$d/shokai.yaml" 2>"$d/shokaid.log" &
	fi
	shokaid=$!
	PIDS+=("$shokaid")
	port=$(listen_port "$shokaid" "$d/shokaid.log" 900) &&
		admin=$(admin_port "$shokaid" "$d/shokaid.log" 900) ||
		{ echo "instr: shokaid did not start (log: $d/shokaid.log)" >&2; exit 1; }
	out=$(python3 "$BENCH/send_count.py" "$port" "$admin" "$TMP/pool.tsv" 0 100 8)
	if [ "$n" -gt 0 ]; then
		out=$(python3 "$BENCH/send_count.py" "$port" "$admin" "$TMP/pool.tsv" 100 "$n" 32)
	fi
	case $out in *non200=0*drained=1*) ;; *) echo "instr: $bin: $out" >&2; exit 1 ;; esac
	# perf stat waits for its child: the signal goes to shokaid itself.
	kill -TERM "$(pgrep -P "$shokaid" 2>/dev/null || echo "$shokaid")" 2>/dev/null || true
	wait "$shokaid" || true
	kill "$sim"
	wait "$sim" 2>/dev/null || true
	if [ "$tool" = callgrind ]; then
		IR=$(awk '/^totals:/ { print $2 }' "$d/callgrind.out")
	else
		SYSCALLS=$(awk -F, '/syscalls:sys_enter_/ && $1 + 0 > 0 {
			sub(/syscalls:sys_enter_/, "", $3); print $3, $1 }' "$d/perf.txt")
	fi
}

# The system calls of a loaded run less an idle one's, per webhook: "total; name n, ...".
syscalls_per_webhook() {
	awk -v n="$3" 'FNR == NR { idle[$1] = $2; next } { d = ($2 - idle[$1]) / n;
		if (d > 0) { all += d; if (d >= 0.05) { per[$1] = d; left++ } } }
		END { printf "%.1f;", all; k = 0
		while (left > 0) { best = ""; for (c in per) if (best == "" || per[c] > per[best]) best = c
			printf "%s %s %.2f", (k++ ? "," : ""), best, per[best]; delete per[best]; left-- }
		printf "\n" }' <(printf '%s\n' "$1") <(printf '%s\n' "$2")
}

PERF=0
if command -v perf >/dev/null &&
	perf stat -x, -e 'syscalls:sys_enter_getpid' -o /dev/null -- true 2>/dev/null; then
	PERF=1
fi

i=0
for bin in "$@"; do
	i=$((i + 1))
	run callgrind "$bin" 0 "$TMP/b$i-idle"
	base=$IR
	run callgrind "$bin" "$COUNT" "$TMP/b$i-load"
	full=$IR
	awk -v b="$bin" -v f="$full" -v z="$base" -v n="$COUNT" -v e="$EVENTS" 'BEGIN {
		printf "%s: %.0f instructions per webhook (%d events per body; %d webhooks: %.3f G, startup and warm-up: %.3f G)\n",
			b, (f - z) / n, e, n, f / 1e9, z / 1e9 }'
	if [ "$PERF" = 1 ]; then
		run perf "$bin" 0 "$TMP/b$i-perf-idle"
		idle=$SYSCALLS
		run perf "$bin" "$COUNT" "$TMP/b$i-perf-load"
		IFS=';' read -r total named < <(syscalls_per_webhook "$idle" "$SYSCALLS" "$COUNT")
		echo "$bin: $total system calls per webhook:$named"
	else
		echo "$bin: system calls not counted (perf cannot read syscalls:sys_enter_* here)"
	fi
	if [ "$TOP" -gt 0 ]; then
		callgrind_annotate --inclusive=yes "$TMP/b$i-load/callgrind.out" 2>/dev/null |
			grep -E '^ *[0-9,]+ \(.* \[' | grep -v ' \?\?\?:0x' | sed -n "2,$((TOP + 1))p"
	fi
done
