#!/usr/bin/env bash
# tests/bench/run.sh: `make bench`. Drives three servers' LINE endpoint on loopback with wrk,
# one after the other, with the same load, then runs tests/bench/outbox.py, and prints
# issue 11's targets as PASS/FAIL lines:
#   shokaid  the daemon (build/shokaid) as issue 11 asks: the example config's chat flows
#            (config/messages.yaml, richmenus.yaml, referral.yaml copied next to the bench
#            config: every auto-reply, postback and rich menu, the referral engine),
#            synchronous=full, its LINE API base URL a fresh simulator (build/shokaisim
#            serve, on wrk's core; rich menus deployed into it with shokaictl) that answers
#            the replies; outbox.line_rate raised to 100000 (LINE's pacing out of the way,
#            as in outbox.py: this measures the daemon, not the rate limit). It verifies,
#            parses, stores every event durably before answering, then its dispatcher runs
#            the handlers and its outbox sends the replies;
#   node     the reference: LINE's official Node.js SDK (@line/bot-sdk 11.0.0 middleware +
#            express 5, tests/bench/ref-server.js), verify + parse + answer, no storage;
#   bare     the ceiling (build/bench-bare, tests/bench/bare.c): evhttp + keyed HMAC +
#            json_loadb + answer 200 on the same C stack as shokaid, no storage;
# then prints a table and the ratios shokaid/node and shokaid/bare.
# Two rates per server:
#   acknowledged  what wrk sees: 2xx responses per second (x events per body = events/s);
#   processed     events per second that went all the way through. For shokaid: after every
#                 wrk run, /healthz is polled until inbox_backlog, outbox_backlog and
#                 outbox_in_flight are all 0, or BENCH_DRAIN_TIMEOUT s have passed (the
#                 backlog left is then reported), and the rate is the growth of
#                 events_done + events_failed + events_skipped over the time from the wrk
#                 run's start to the drain (or the end of the wait). node and bare do
#                 nothing after the answer, so theirs is acknowledged x events per body.
# The bodies (gen_bodies.py --mix replies, its docstring has the mix) are text messages
# hitting every keyword auto-reply, referral codes, free text for the fallback reply,
# follows and rich-menu postbacks, each event with a unique reply token. After each shokaid
# phase the outbox table says how many replies were sent, fell back to push, failed or are
# still pending, next to the simulator's count of delivered messages.
# And the CPU time each server spent per request answered ("CPU µs/req"): the growth of
# utime + stime of the server process (all its threads; /proc/PID/stat, in clock ticks)
# over the run, divided by its 2xx responses. For shokaid the span runs from just before
# wrk starts to its drained inbox and outbox, so the dispatcher's and the outbox's work
# for those requests counts too
# (the /healthz polls of the drain wait are included: a few dozen cheap requests). The
# report prints the ratio shokaid/bare of CPU per request (issue 11's target: <= 2x).
# The method is shared/docs/benchmarking.md:
#   - every request carries a body with unique webhookEventIds (pre-signed pools from
#     gen_bodies.py, a fresh pool for every wrk run, so nothing hits the dedupe path);
#   - server on core 1, wrk on core 0 (-t1 -c32); `sync` before every run; 1 s warm-up,
#     then 3 runs of 5 s; the median is reported; peak RSS is VmHWM;
#   - the non-2xx count must be 0, and shokaid's inbox must hold one row per event answered
#     (and every stored event must have been processed once its inbox drained).
# Each (server, events per body) pair gets a fresh server process (and a fresh database),
# so its peak RSS is its own.
#
# Usage: bash tests/bench/run.sh    (make bench builds build/shokaid and build/bench-bare)
# Environment (all optional):
#   SHOKAID=build/shokaid          the daemon binary
#   BENCH_BARE=build/bench-bare    the ceiling server's binary
#   BENCH_NODE_DIR=build/bench-node where npm installs the reference server's dependencies
#   BENCH_SERVERS="shokaid node bare" which servers to drive
#   BENCH_EVENTS="1 5"             events per body
#   BENCH_DURATION=5 BENCH_WARMUP=1 BENCH_REPS=3 BENCH_CONNECTIONS=32
#   BENCH_DRAIN_TIMEOUT=20         seconds shokaid's inbox and outbox may take to drain
#                                  after a run (what is left is reported as the backlog)
#   BENCH_OUTBOX=1                 also run outbox.py (0: skip; its targets print SKIP)
#   BENCH_FLOWS=1                  0: shokaid without the example's auto-replies, rich
#                                  menus and referral engine (not issue 11's setup: what
#                                  storing the events costs with few handlers to run)
#   BENCH_STRICT=1                 also exit 1 when shokaid misses a target
#   BENCH_KEEP=1                   keep the temporary folder (pools, configs, logs)
# Exit status: 0 when every run was valid (no non-2xx, no socket errors, no reused ids,
# inbox rows matching, every stored event processed once drained, no reply failed),
# 1 otherwise.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
BENCH=tests/bench
# shellcheck source=tests/bench/shokaid_dir.sh
. "$BENCH/shokaid_dir.sh"	# and listen_port.sh
SHOKAID=${SHOKAID:-build/shokaid}
SHOKAICTL=${SHOKAICTL:-build/shokaictl}
SHOKAISIM=${SHOKAISIM:-build/shokaisim}
NODE_DIR=${BENCH_NODE_DIR:-build/bench-node}
BARE=${BENCH_BARE:-build/bench-bare}
SERVERS=${BENCH_SERVERS:-shokaid node bare}
EVENTS=${BENCH_EVENTS:-1 5}
DUR=${BENCH_DURATION:-5}
WARM=${BENCH_WARMUP:-1}
REPS=${BENCH_REPS:-3}
CONNS=${BENCH_CONNECTIONS:-32}
DRAIN_TIMEOUT=${BENCH_DRAIN_TIMEOUT:-20}
PATH_LINE=/line/main
T0=$SECONDS

say() { printf '%s\n' "$*"; }
notice() { printf '\n*** NOTICE: %s ***\n\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

for tool in wrk python3 openssl; do
	command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install $tool)"
done

# Core pinning: load generator on core 0, server on core 1.
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	PIN_WRK=(taskset -c 0)
	PIN_SRV=(taskset -c 1)
else
	notice "fewer than 2 cores (or no taskset): wrk and the servers share the CPU; numbers are not comparable"
	PIN_WRK=()
	PIN_SRV=()
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/shokai-bench.XXXXXX")
SERVER_PIDS=()
GEN_PIDS=()
STATUS_FILE=$TMP/failed
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	local rc=$?
	local pid
	for pid in "${GEN_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	if [ -n "${POLLER_PID:-}" ]; then kill -TERM "$POLLER_PID" 2>/dev/null || true; fi
	for pid in "${SERVER_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${SERVER_PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		say "bench: everything kept in $TMP" >&2
	elif [ "$rc" -ne 0 ]; then
		rm -f "$TMP"/pool-*.tsv*
		say "bench: logs and configs kept in $TMP (pools removed)" >&2
	else
		rm -rf "$TMP"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- the reference server
want() { case " $SERVERS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

if want node; then
	if grep -qs '"version": "11.0.0"' "$NODE_DIR/node_modules/@line/bot-sdk/package.json" &&
		grep -qs '"version": "5\.' "$NODE_DIR/node_modules/express/package.json"; then
		say "reference server: dependencies present in $NODE_DIR"
	elif ! command -v npm >/dev/null || ! command -v node >/dev/null; then
		notice "npm/node not found: the Node.js reference server (@line/bot-sdk) is SKIPPED and no ratio is printed"
		SERVERS=${SERVERS//node/}
	else
		say "reference server: npm install --prefix $NODE_DIR @line/bot-sdk@11.0.0 express@5"
		mkdir -p "$NODE_DIR"
		if ! timeout 180 npm install --prefix "$NODE_DIR" --no-audit --no-fund --save-exact \
			@line/bot-sdk@11.0.0 express@5 >"$TMP/npm.log" 2>&1; then
			tail -n 20 "$TMP/npm.log" >&2
			notice "npm install failed: the Node.js reference server is SKIPPED and no ratio is printed"
			SERVERS=${SERVERS//node/}
		fi
	fi
fi
if want shokaid && [ ! -x "$SHOKAID" ]; then
	die "$SHOKAID not found: build it first (make build/shokaid), or set SHOKAID=path"
fi
if want shokaid && { [ ! -x "$SHOKAISIM" ] || [ ! -x "$SHOKAICTL" ]; }; then
	die "$SHOKAISIM or $SHOKAICTL not found: make build/shokaisim build/shokaictl"
fi
if want bare && [ ! -x "$BARE" ]; then
	die "$BARE not found: build it first (make build/bench-bare), or set BENCH_BARE=path"
fi
[ -n "${SERVERS// /}" ] || die "no server to drive"

# ---------------------------------------------------------------- secrets and configs
umask 077
make_secrets "$TMP/secrets"

# ---------------------------------------------------------------- body pools
# Every wrk run gets its own pool file, so webhookEventIds are never reused inside one
# benchmark. Pool ids carry a 6-character prefix: 3 random characters for this benchmark,
# the events per body, and a sequence number, so separate runs do not collide either.
CROCK=0123456789ABCDEFGHJKMNPQRSTVWXYZ
RUNTAG=
for _ in 1 2 3; do RUNTAG+=${CROCK:$((RANDOM % 32)):1}; done
POOL_SEQ=0
declare -A POOL_FILE=() POOL_COUNT=()

# gen_pool EVENTS COUNT OUT: two generator processes (both cores, nothing else runs now).
gen_pool() {
	local ev=$1 count=$2 out=$3 half pids=() i
	half=$(((count + 1) / 2))
	for i in 0 1; do
		local pfx=$RUNTAG$ev${CROCK:$((POOL_SEQ / 32 % 32)):1}${CROCK:$((POOL_SEQ % 32)):1}
		POOL_SEQ=$((POOL_SEQ + 1))
		timeout 120 python3 "$BENCH/gen_bodies.py" --secret-file "$TMP/secrets/line-secret" \
			--events-per-body "$ev" --count "$half" --seed "$RANDOM$RANDOM$i" --prefix "$pfx" \
			"$out.$i" &
		pids+=($!)
		GEN_PIDS+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || die "gen_bodies.py failed"; done
	GEN_PIDS=()
	cat "$out.0" "$out.1" >"$out"
	rm -f "$out.0" "$out.1"
}

# pool EVENTS SLOT COUNT: prints the path of pool SLOT ("warm", "1", "2", ...) holding at
# least COUNT bodies; later servers reuse the pools of earlier ones when they are big enough.
pool() {
	local ev=$1 slot=$2 need=$3 key="$1/$2"
	if [ -n "${POOL_FILE[$key]:-}" ] && [ "${POOL_COUNT[$key]}" -ge "$need" ]; then
		return 0
	fi
	local out=$TMP/pool-$ev-$slot.tsv
	local t=$SECONDS
	gen_pool "$ev" "$need" "$out"
	POOL_FILE[$key]=$out
	POOL_COUNT[$key]=$need
	say "  pool $ev-event/$slot: $need bodies ($((SECONDS - t)) s)"
}

# ---------------------------------------------------------------- servers
SRV_PID=
SRV_PORT=
SRV_ADMIN_PORT=	# /healthz: the admin listener's
SRV_LOG=
start_shokaid() {
	local d=$1
	SRV_LOG=$d/shokaid.log
	"${PIN_SRV[@]}" "$SHOKAID" -c "$d/shokai.yaml" 2>"$d/shokaid.log" &
	SRV_PID=$!
	SERVER_PIDS+=("$SRV_PID")
	SRV_PORT=$(listen_port "$SRV_PID" "$d/shokaid.log" 100) ||
		die "shokaid did not log msg=listening addr=127.0.0.1:PORT (log: $d/shokaid.log)"
	SRV_ADMIN_PORT=$(admin_port "$SRV_PID" "$d/shokaid.log" 100) ||
		die "shokaid did not log its admin listener (log: $d/shokaid.log)"
}
# start_sim DIR: a fresh platform simulator for one shokaid phase (reply tokens are
# accepted once per simulator; its records are bounded at 100,000 requests), on wrk's core.
SIM_PID=
SIM_PORT=
start_sim() {
	local d=$1
	"${PIN_WRK[@]}" "$SHOKAISIM" serve --no-records --listen 127.0.0.1:0 2>"$d/sim.log" &
	SIM_PID=$!
	SERVER_PIDS+=("$SIM_PID")
	SIM_PORT=$(listen_port "$SIM_PID" "$d/sim.log" 100) ||
		die "shokaisim did not log msg=listening addr=127.0.0.1:PORT (log: $d/sim.log)"
}
# wait_listening WHAT LOG: the port a server that prints "listening PORT" is on.
wait_listening() {
	local what=$1 log=$2
	SRV_PORT=
	for _ in $(seq 100); do
		SRV_PORT=$(sed -n 's/^listening \([0-9][0-9]*\)$/\1/p' "$log" | head -n 1)
		[ -n "$SRV_PORT" ] && return 0
		kill -0 "$SRV_PID" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 20 "$log" >&2
	die "$what did not print 'listening PORT' (log: $log)"
}
start_node() {
	local log=$1
	SRV_LOG=$log
	LINE_CHANNEL_SECRET_FILE=$TMP/secrets/line-secret BENCH_NODE_DIR=$NODE_DIR \
		"${PIN_SRV[@]}" node "$BENCH/ref-server.js" 0 >"$log" 2>&1 &
	SRV_PID=$!
	SERVER_PIDS+=("$SRV_PID")
	wait_listening "the reference server" "$log"
}
start_bare() {
	local log=$1
	SRV_LOG=$log
	"${PIN_SRV[@]}" "$BARE" 0 "$TMP/secrets/line-secret" >"$log" 2>&1 &
	SRV_PID=$!
	SERVER_PIDS+=("$SRV_PID")
	wait_listening "the bare server ($BARE)" "$log"
}
stop_server() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then
		say "  (pid $pid still running 15 s after SIGTERM: killed)"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}
# Percentage of the CPU time that was not idle over half a second: the benchmark wants an
# otherwise idle machine.
cpu_busy() {
	local a b
	a=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat)
	sleep 0.5
	b=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ");
		busy = y[1] - x[1]; idle = y[2] - x[2];
		printf "%d\n", (busy + idle) ? 100 * busy / (busy + idle) : 0 }'
}
# CPU accounting around a wrk run, to notice other processes competing for the two cores:
# machine-wide user+nice+system ticks less kernel threads' (softirq, writeback and journal
# work done for the benchmark itself), the server's ticks, and this shell's children's
# (wrk's) CPU seconds. Ticks are USER_HZ (100 per second) in /proc.
cpu_snapshot() {
	local t ch
	t=$(python3 -c '
import os
k = 0
for p in os.listdir("/proc"):
    if p.isdigit():
        try:
            s = open("/proc/%s/stat" % p).read()
        except OSError:
            continue
        f = s[s.rindex(")") + 2:].split()
        if int(f[6]) & 0x200000:  # PF_KTHREAD
            k += int(f[11]) + int(f[12])
c = open("/proc/stat").readline().split()
print(int(c[1]) + int(c[2]) + int(c[3]) - k)')
	times >"$TMP/times" # in this shell: a subshell would only see its own children
	ch=$(sed -n 2p "$TMP/times" | awk '{ n = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/);
		n += a[1] * 60 + a[2] }; printf "%d", n * 100 }')
	CPU_SNAP="$t $(srv_ticks) $ch $(date +%s%N)"
}
# The server process's utime + stime so far, all threads, in clock ticks (CLK_TCK).
srv_ticks() { awk '{print $14 + $15}' "/proc/$SRV_PID/stat" 2>/dev/null || echo 0; }
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)
other_cpu() {
	awk -v a="$1" -v b="$2" -v ncpu="$(nproc)" 'BEGIN { split(a, x, " "); split(b, y, " ");
		other = (y[1] - x[1]) - (y[2] - x[2]) - (y[3] - x[3]);
		cap = (y[4] - x[4]) / 1e7 * ncpu; # ticks available on all cores
		pct = cap > 0 ? 100 * other / cap : 0; if (pct < 0) pct = 0;
		printf "%d", pct }'
}
vmhwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# ---------------------------------------------------------------- shokaid's dispatcher
# start_poller SECS: starts, on wrk's core, a /healthz poller for the wrk run about to
# begin (SECS long) and returns once the poller has taken its snapshot of the counters and
# waits for SIGUSR1 (Python takes up to a second to start on a busy machine: that must not
# count as drain time). On SIGUSR1, sent the moment wrk exits, it polls /healthz until
# inbox_backlog, outbox_backlog and outbox_in_flight are 0 (every 0.1 s while more than
# 5,000 rows wait, every 20 ms after) or BENCH_DRAIN_TIMEOUT s have passed, and writes to
# $TMP/poller.out
#   processed=N stored=M drained_at=EPOCH_S drain_s=S polls=K inbox_left=I outbox_left=O
#   timed_out=0|1
# N being the growth of events_done + events_failed + events_skipped since the snapshot, M
# that of events_stored, drained_at the moment of the drain (or of the wait's end),
# drain_s the time from the signal, I and O the backlog then (0 when drained).
POLLER_PID=
start_poller() {
	local secs=$1
	: >"$TMP/poller.out"
	"${PIN_WRK[@]}" python3 - "$SRV_ADMIN_PORT" "$DRAIN_TIMEOUT" "$((secs + 120))" \
		>"$TMP/poller.out" 2>"$TMP/poller.err" <<'EOF' &
import json, signal, sys, time, urllib.error, urllib.request

url = "http://127.0.0.1:%s/healthz" % sys.argv[1]
timeout, wait_max = float(sys.argv[2]), float(sys.argv[3])


def get():
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:  # 503 while degraded: the counters are still there
        return json.load(e)


def processed(h):
    return h["events_done"] + h["events_failed"] + h["events_skipped"]


signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
h = get()
p0, s0 = processed(h), h["events_stored"]
print("ready", flush=True)
if signal.sigtimedwait({signal.SIGUSR1}, wait_max) is None:
    print("no signal from run.sh", flush=True)
    sys.exit(4)
t0 = time.time()
polls = 0
while True:
    h = get()
    now = time.time()
    polls += 1
    inbox_left = h["inbox_backlog"]
    outbox_left = h["outbox_backlog"] + h["outbox_in_flight"]
    timed_out = int(now - t0 > timeout)
    if (inbox_left == 0 and outbox_left == 0) or timed_out:
        break
    time.sleep(0.1 if inbox_left + outbox_left > 5000 else 0.02)
print("processed=%d stored=%d drained_at=%.6f drain_s=%.3f polls=%d inbox_left=%d "
      "outbox_left=%d timed_out=%d" % (processed(h) - p0, h["events_stored"] - s0, now,
                                       now - t0, polls, inbox_left, outbox_left, timed_out),
      flush=True)
EOF
	POLLER_PID=$!
	for _ in $(seq 300); do
		grep -qx ready "$TMP/poller.out" && return 0
		kill -0 "$POLLER_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$TMP/poller.err" >&2
	die "the /healthz poller did not start (GET /healthz failed?; log: $SRV_LOG)"
}
# finish_poller: waits for the poller (signalled already) and sets POLLER_LINE to its
# result line.
POLLER_LINE=
finish_poller() {
	local rc=0
	wait "$POLLER_PID" || rc=$?
	POLLER_PID=
	POLLER_LINE=$(tail -n 1 "$TMP/poller.out")
	if [ "$rc" -ne 0 ]; then
		cat "$TMP/poller.err" >&2
		die "the /healthz poller failed: $POLLER_LINE; log: $SRV_LOG"
	fi
}
now_s() { printf '%s\n' "${EPOCHREALTIME/,/.}"; }

# ---------------------------------------------------------------- one wrk run
# run_wrk SERVER EVENTS LABEL SECONDS POOL: appends a result line to $TMP/results.tsv and
# sets LAST_RPS. For shokaid it then waits for the inbox to drain and adds the processed
# rate to the line (processed= stored= drained_at= drain_s= polls= proc_s= proc_eps=):
# proc_s runs from the run's start, duration_us (wrk's own clock, which starts once its Lua
# init has read the pool) before wrk exited, to drained_at.
LAST_RPS=0
run_wrk() {
	local srv=$1 ev=$2 label=$3 secs=$4 poolf=$5 out line
	out=$TMP/wrk-$srv-$ev-$label.txt
	if [ "$srv" = shokaid ]; then start_poller "$secs"; fi
	sync
	local wrk_rc=0 cpu0 cpu1 wrk_end
	cpu_snapshot
	cpu0=$CPU_SNAP
	timeout $((secs + 60)) "${PIN_WRK[@]}" wrk -t1 -c"$CONNS" -d"${secs}s" \
		-s "$BENCH/signed.lua" "http://127.0.0.1:$SRV_PORT$PATH_LINE" -- "$poolf" 1 \
		>"$out" 2>&1 || wrk_rc=$?
	wrk_end=$(now_s)
	if [ -n "$POLLER_PID" ]; then kill -USR1 "$POLLER_PID" 2>/dev/null || true; fi
	cpu_snapshot
	cpu1=$CPU_SNAP
	if ! kill -0 "$SRV_PID" 2>/dev/null; then
		local rc=0
		wait "$SRV_PID" 2>/dev/null || rc=$?
		tail -n 5 "$SRV_LOG" >&2
		die "$srv (pid $SRV_PID) died during the $label run, exit status $rc$( ((rc > 128)) &&
			echo " (signal $((rc - 128)))"); log: $SRV_LOG"
	fi
	if grep -q 'msg="stop signal' "$SRV_LOG" 2>/dev/null; then
		grep 'msg="stop signal' "$SRV_LOG" >&2
		die "$srv (pid $SRV_PID) got a stop signal that this benchmark did not send (another process killing shokaid by name?); results are void"
	fi
	if [ "$wrk_rc" -ne 0 ]; then
		cat "$out" >&2
		die "wrk failed, exit status $wrk_rc ($out)"
	fi
	line=$(grep '^BENCH ' "$out" | tail -n 1) || true
	[ -n "$line" ] || { cat "$out" >&2; die "wrk printed no BENCH line ($out)"; }
	line+=" other_cpu_pct=$(other_cpu "$cpu0" "$cpu1")"
	local srv_t0 srv_t1
	srv_t0=$(cut -d' ' -f2 <<<"$cpu0")
	srv_t1=$(cut -d' ' -f2 <<<"$cpu1")
	if [ "$srv" = shokaid ]; then
		local dur_us drained
		finish_poller
		srv_t1=$(srv_ticks) # the dispatcher's and outbox's work until drained counts too
		drained=$POLLER_LINE
		dur_us=$(sed -n 's/.* duration_us=\([0-9]*\).*/\1/p' <<<"$line")
		[ -n "$dur_us" ] || die "wrk's BENCH line has no duration_us ($out)"
		line+=" $drained $(awk -v e="$wrk_end" -v d="$dur_us" -v l="$drained" 'BEGIN {
			n = split(l, f, " "); for (i = 1; i <= n; i++) { split(f[i], kv, "="); v[kv[1]] = kv[2] }
			s = v["drained_at"] - (e - d / 1e6);
			printf "proc_s=%.3f proc_eps=%.1f", s, (s > 0 ? v["processed"] / s : 0) }')"
	fi
	line+=" cpu_ticks=$((srv_t1 - srv_t0)) clk_tck=$CLK_TCK"
	printf '%s\t%s\t%s\t%s\n' "$srv" "$ev" "$label" "$line" >>"$TMP/results.tsv"
	LAST_RPS=$(sed -n 's/.* rps=\([0-9]*\).*/\1/p' <<<"$line")
	python3 - "$line" "$srv" "$ev" "$label" <<'EOF'
import sys
kv = dict(f.split("=", 1) for f in sys.argv[1].split()[1:])
ok2xx = int(kv["ok2xx"])
cpu_us = int(kv["cpu_ticks"]) * 1e6 / int(kv["clk_tck"]) / ok2xx if ok2xx else 0
print("  %-7s %d-event %-6s %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms  2xx %d  non-2xx %s"
      "  CPU %.1f µs/req%s%s" % (
    sys.argv[2], int(sys.argv[3]), sys.argv[4], float(kv["rps"]), int(kv["p50_us"]) / 1000,
    int(kv["p99_us"]) / 1000, ok2xx, kv["non2xx"], cpu_us,
    "  socket errors %s" % kv["sock_errors"] if kv["sock_errors"] != "0" else "",
    "  POOL WRAPPED %s times: ids reused" % kv["wrapped"] if kv["wrapped"] != "0" else "")
    + ("  BUSY MACHINE: other processes used %s%% of the CPU" % kv["other_cpu_pct"]
       if int(kv["other_cpu_pct"]) >= 5 else ""))
if "proc_eps" in kv:
    print("  %-7s %d-event %-6s %9.0f events/s processed: %s events in %.2f s from the run's "
          "start, %s %.2f s after wrk%s" % (
              sys.argv[2], int(sys.argv[3]), sys.argv[4], float(kv["proc_eps"]),
              kv["processed"], float(kv["proc_s"]),
              "NOT DRAINED (backlog left: inbox %s, outbox %s) when the wait ended"
              % (kv["inbox_left"], kv["outbox_left"]) if kv["timed_out"] == "1" else
              "inbox and outbox drained", float(kv["drain_s"]),
              "" if kv["processed"] == kv["stored"] or kv["timed_out"] == "1" else
              "  MISMATCH: %s events stored" % kv["stored"]))
EOF
}

# Pool size for a run: 2.5 times the fastest rate seen in this phase, plus slack (1.5 times
# wrapped on a machine shared with other work, where runs of one phase differ 2-3x).
run_size() { echo $(((${1:-0} * DUR * 5 + 1) / 2 + 3000)); }

# ---------------------------------------------------------------- the phases
: >"$TMP/results.tsv"
: >"$TMP/phases.tsv"
for srv in shokaid node bare; do
	want "$srv" || continue
	for ev in $EVENTS; do
		say ""
		say "== $srv, $ev event(s) per body: warm-up ${WARM}s, ${REPS} x ${DUR}s, -t1 -c$CONNS"
		# Warm-up pool: above this stack's ceiling with room to spare (the bare server
		# gave 39,000 one-event req/s on one machine and 58,000 on a faster one, where a
		# pool of 60,000 wrapped during its warm-up second and voided the whole bench).
		pool "$ev" warm $((WARM * (ev == 1 ? 120000 : 50000)))
		busy=$(cpu_busy)
		if [ "$busy" -gt 10 ]; then
			notice "the machine is ${busy}% busy before this phase (other processes): numbers will be low and noisy"
		fi
		case $srv in
		shokaid)
			d=$TMP/shokaid-$ev
			mkdir -p "$d"
			start_sim "$d"
			make_shokaid_dir "$d" "http://127.0.0.1:$SIM_PORT" "$TMP/secrets"
			# the rich menus (and their aliases) the postbacks switch between
			flows="rich menus deployed"
			if flows_on; then
				timeout 60 "$SHOKAICTL" -c "$d/shokai.yaml" richmenu deploy >"$d/richmenu.log" 2>&1 ||
					{ cat "$d/richmenu.log" >&2; die "shokaictl richmenu deploy failed"; }
			else
				flows="BENCH_FLOWS=0: no auto-replies, rich menus or referral engine, not issue 11's setup"
			fi
			start_shokaid "$d"
			say "  simulator pid $SIM_PID on 127.0.0.1:$SIM_PORT ($flows)"
			;;
		node) start_node "$TMP/node-$ev.log" ;;
		bare) start_bare "$TMP/bare-$ev.log" ;;
		esac
		say "  $srv pid $SRV_PID listening on 127.0.0.1:$SRV_PORT"
		run_wrk "$srv" "$ev" warmup "$WARM" "${POOL_FILE[$ev/warm]}"
		# The first run's pool is sized from the warm-up, which can be far slower than the
		# steady state (Node's JIT); later ones from the fastest run so far.
		est=$((LAST_RPS * 2))
		max_rps=0
		for rep in $(seq "$REPS"); do
			pool "$ev" "$rep" "$(run_size "$est")"
			run_wrk "$srv" "$ev" "run$rep" "$DUR" "${POOL_FILE[$ev/$rep]}"
			if [ "$LAST_RPS" -gt "$max_rps" ]; then max_rps=$LAST_RPS; fi
			est=$max_rps
		done
		sleep 0.5 # let the last in-flight requests finish
		hwm=$(vmhwm_kib "$SRV_PID")
		pid=$SRV_PID
		stop_server "$pid"
		rows=-1
		outbox=-
		if [ "$srv" = shokaid ]; then
			rows=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from inbox").fetchone()[0])' \
				"$d/shokai.db") || rows=-2
			# What the outbox did with the replies (a refused reply token turns the row
			# into a push to fallback_to), and what the simulator says it delivered.
			outbox=$(python3 - "$d/shokai.db" "$SIM_PORT" <<'EOF'
import json, sqlite3, sys, urllib.request
db = sqlite3.connect(sys.argv[1])
q = lambda sql: db.execute(sql).fetchone()[0]
with urllib.request.urlopen("http://127.0.0.1:%s/_sim/stats" % sys.argv[2], timeout=10) as r:
    st = json.load(r)
print("replies_sent=%d push_fallbacks=%d fallbacks_sent=%d failed=%d unknown=%d pending=%d "
      "links_sent=%d rows=%d sim_delivered=%d sim_requests=%d sim_records_dropped=%d" % (
    q("select count(*) from outbox where kind='reply' and state='sent'"),
    q("select count(*) from outbox where kind='push' and fallback_to is not null"),
    q("select count(*) from outbox where kind='push' and fallback_to is not null and state='sent'"),
    q("select count(*) from outbox where state='failed'"),
    q("select count(*) from outbox where state='unknown'"),
    q("select count(*) from outbox where state='pending'"),
    q("select count(*) from outbox where kind like 'richmenu%' and state='sent'"),
    q("select count(*) from outbox"),
    st["line_delivered"], st["requests"], st["records_dropped"]))
EOF
			) || outbox=-
			stop_server "$SIM_PID"
		fi
		printf '%s\t%s\t%s\t%s\t%s\n' "$srv" "$ev" "$hwm" "$rows" "$outbox" >>"$TMP/phases.tsv"
	done
done

# ---------------------------------------------------------------- the outbox
# outbox.py: pushes/s through the outbox to the simulator and the worst loop stall.
: >"$TMP/outbox.txt"
if want shokaid && [ "${BENCH_OUTBOX:-1}" = 1 ]; then
	say ""
	say "== outbox: 30,000 pushes queued while shokaid is down, then sent to the simulator"
	sync
	SHOKAID="$SHOKAID" timeout 200 python3 "$BENCH/outbox.py" --count 30000 | tee "$TMP/outbox.txt" ||
		say "  outbox.py FAILED (exit status ${PIPESTATUS[0]})"
fi

# ---------------------------------------------------------------- the report
say ""
python3 - "$TMP/results.tsv" "$TMP/phases.tsv" "$CONNS" "$REPS" "$DUR" "$STATUS_FILE" \
	"$TMP/outbox.txt" <<'EOF'
import re, statistics, sys
results, phases, conns, reps, dur, status_file, outbox_txt = sys.argv[1:8]
runs = {}
for ln in open(results, encoding="utf-8"):
    srv, ev, label, bench = ln.rstrip("\n").split("\t")
    kv = dict(f.split("=", 1) for f in bench.split()[1:])
    runs.setdefault((srv, int(ev)), []).append((label, kv))
ok = True
rows = []
summary = {}
outboxes = {}
for ln in open(phases, encoding="utf-8"):
    srv, ev, hwm, inbox, outbox = ln.rstrip("\n").split("\t")
    ev, hwm, inbox = int(ev), int(hwm), int(inbox)
    all_runs = runs[(srv, ev)]
    measured = [kv for label, kv in all_runs if label != "warmup"]
    med = lambda k: statistics.median(float(kv[k]) for kv in measured)
    # CPU time (utime + stime) per 2xx response, median over the measured runs
    cpu_us = statistics.median(int(kv["cpu_ticks"]) * 1e6 / int(kv["clk_tck"])
                               / max(int(kv["ok2xx"]), 1) for kv in measured)
    tot = lambda k: sum(int(kv[k]) for _, kv in all_runs)
    non2xx, ok2xx, issued = tot("non2xx"), tot("ok2xx"), tot("issued")
    sockerr, wrapped = tot("sock_errors"), tot("wrapped")
    rps, p50, p99 = med("rps"), med("p50_us") / 1000, med("p99_us") / 1000
    backlog = "-"
    if srv == "shokaid":
        # shokaid's dispatcher rate, measured until its inbox and outbox drained (or the
        # bounded wait ended) after each run
        proc = med("proc_eps")
        # the backlog at the end of the wait after the last measured run
        last = measured[-1]
        backlog = "%s+%s" % (last["inbox_left"], last["outbox_left"])
    else:
        # node and bare do nothing after the answer: processed = acknowledged
        proc = rps * ev
    summary[(srv, ev)] = (rps, p99, hwm / 1024, proc, cpu_us)
    busy = max(int(kv.get("other_cpu_pct", 0)) for kv in measured)
    rows.append((srv, ev, rps, proc, p50, p99, hwm / 1024, non2xx, sockerr, wrapped, busy,
                 cpu_us, backlog))
    if non2xx or sockerr or wrapped or not ok2xx:
        ok = False
    if srv == "shokaid":
        want = ok2xx * ev
        most = issued * ev
        if inbox == want:
            verdict = "equal"
        elif want < inbox <= most:
            verdict = ("equal up to %d event(s) of requests still in flight when wrk stopped"
                       % (inbox - want))
        else:
            verdict = "MISMATCH"
            ok = False
        print("inbox check, shokaid %d-event: inbox rows %d, 2xx responses x %d = %d "
              "(requests sent x %d = %d): %s" % (ev, inbox, ev, want, ev, most, verdict))
        processed = tot("processed")
        stored = tot("stored")
        undrained = sum(kv["timed_out"] == "1" for _, kv in all_runs)
        if undrained:
            verdict = ("not checked: %d run(s) of %d did not drain within the wait"
                       % (undrained, len(all_runs)))
        elif processed == stored:
            verdict = "equal"
        else:
            verdict = "MISMATCH"
            ok = False
        print("processed check, shokaid %d-event: events processed by the end of each wait %d, "
              "events stored %d: %s" % (ev, processed, stored, verdict))
        if outbox == "-":
            print("replies, shokaid %d-event: the outbox table or the simulator could not be read"
                  % ev)
            ok = False
        else:
            o = {k: int(v) for k, v in (f.split("=") for f in outbox.split())}
            o["stored"] = stored
            outboxes[ev] = o
            print("replies, shokaid %d-event: %d replies sent, %d push fallbacks (reply token "
                  "refused; %d of them sent), %d failed, %d unknown, %d still pending; %d rich "
                  "menu links sent; %d outbox rows for %d events stored; the simulator "
                  "delivered %d messages (reply + push) in %d API requests%s" % (
                      ev, o["replies_sent"], o["push_fallbacks"], o["fallbacks_sent"],
                      o["failed"], o["unknown"], o["pending"], o["links_sent"], o["rows"],
                      stored, o["sim_delivered"], o["sim_requests"],
                      ", %d records dropped" % o["sim_records_dropped"]
                      if o["sim_records_dropped"] else ""))
            if o["push_fallbacks"] or o["failed"] or o["unknown"]:
                print("  REPLIES NOT ACCEPTED AS REPLIES: see the outbox table in the kept folder")
                ok = False
            if o["sim_delivered"] != o["replies_sent"] + o["fallbacks_sent"]:
                print("  MISMATCH: the simulator delivered %d, the outbox says %d"
                      % (o["sim_delivered"], o["replies_sent"] + o["fallbacks_sent"]))
                ok = False

print()
print("results: median of %s runs of %ss, wrk -t1 -c%s, server on core 1, wrk on core 0"
      % (reps, dur, conns))
hdr = ("server", "events/body", "ack req/s", "ack events/s", "processed ev/s", "backlog",
       "p50 ms", "p99 ms", "peak RSS MiB", "non-2xx", "CPU µs/req")
fmt = "%-8s %11s %10s %13s %15s %11s %7s %7s %13s %8s %11s"
print(fmt % hdr)
noisy = False
order = {"shokaid": 0, "node": 1, "bare": 2}
rows.sort(key=lambda r: (r[1], order.get(r[0], 9), r[0]))
for srv, ev, rps, proc, p50, p99, rss, non2xx, sockerr, wrapped, busy, cpu_us, backlog in rows:
    extra = ""
    if busy >= 5:
        extra += "  NOISY: other processes took up to %d%% of the CPU" % busy
        noisy = True
    if sockerr:
        extra += "  socket errors: %d" % sockerr
    if wrapped:
        extra += "  POOL WRAPPED (ids reused): %d" % wrapped
    if any(kv.get("timed_out") == "1" for _, kv in runs[(srv, ev)]):
        extra += "  NOT DRAINED in a run: its processed rate and CPU cover the bounded wait only"
    print(fmt % (srv, ev, "%.0f" % rps, "%.0f" % (rps * ev), "%.0f" % proc, backlog, "%.2f" % p50,
                 "%.2f" % p99, "%.1f" % rss, non2xx, "%.1f" % cpu_us) + extra)
print("ack = acknowledged (2xx responses seen by wrk). processed ev/s: shokaid's events done,\n"
      "failed or skipped by its dispatcher from the start of a run until its inbox and outbox\n"
      "drained (or the bounded wait ended); node and bare store and process nothing, so\n"
      "theirs is ack req/s x events/body. backlog: shokaid's inbox+outbox rows left when the\n"
      "wait after the last run ended (0+0: drained). CPU µs/req: the server process's utime +\n"
      "stime (all threads) per 2xx response; for shokaid from the run's start until drained\n"
      "(the dispatcher's and the outbox's work included).")
if noisy:
    print("NOTICE: something else ran on this machine during the benchmark; rerun on an idle machine")
print()
for ev in sorted({ev for _, ev in summary}):
    for other in ("node", "bare"):
        if ("shokaid", ev) in summary and (other, ev) in summary:
            s, o = summary[("shokaid", ev)], summary[(other, ev)]
            print("ratio shokaid/%-4s %d-event bodies: acknowledged req/s %.2fx, "
                  "processed events/s %.2fx" % (other, ev, s[0] / o[0], s[3] / o[3]))
    if ("shokaid", ev) in summary and ("bare", ev) in summary and summary[("bare", ev)][4] > 0:
        # issue 11's target: at most 2x
        print("ratio shokaid/bare CPU per request %d-event: %.2fx"
              % (ev, summary[("shokaid", ev)][4] / summary[("bare", ev)][4]))
ob = None
for ln in open(outbox_txt, encoding="utf-8"):
    m = re.search(r"= (\d+) pushes/s.*worst loop stall ([\d.]+) ms \(the loop's own CPU in it "
                  r"at most ([\d.]+) ms; an idle sleeper on its core meanwhile ([\d.na]+) ms "
                  r"late\); peak RSS ([\d.]+) MiB; CPU ([\d.]+) µs per push", ln)
    if m:
        ob = (int(m.group(1)), float(m.group(2)), float(m.group(5)), float(m.group(3)),
              float(m.group(4)), float(m.group(6)))
# issue 11's targets. shokaid's rate is its processed events/s (what kept up with the
# load, as the issue asks when processing lags acknowledgement), compared with node's and
# bare's events/s (acknowledged = processed for them).
print()
print("targets (issue 11; shokaid's rate = processed events/s, node's and bare's = ack events/s)")
missed = []
def target(name, ok_, figures):
    if ok_ is None:
        print("SKIP %s: %s" % (name, figures))
        return
    print("%s %s: %s" % ("PASS" if ok_ else "FAIL", name, figures))
    if not ok_:
        missed.append(name)
def ratio_target(ev, other, want):
    s_, o_ = summary.get(("shokaid", ev)), summary.get((other, ev))
    name = "%d-event >= %gx %s" % (ev, want, other)
    if s_ is None or o_ is None:
        target(name, None, "not measured")
        return
    r = s_[3] / o_[3] if o_[3] else 0
    target(name, r >= want, "%.2fx (shokaid %.0f ev/s processed, %.0f acknowledged; %s %.0f ev/s)"
           % (r, s_[3], s_[0] * ev, other, o_[3]))
for ev in sorted({ev for _, ev in summary}):
    s_, b_ = summary.get(("shokaid", ev)), summary.get(("bare", ev))
    name = "%d-event CPU per request <= 2x bare" % ev
    if s_ is None or b_ is None or not b_[4]:
        target(name, None, "not measured")
    else:
        target(name, s_[4] <= 2 * b_[4], "%.2fx (shokaid %.1f µs/req, bare %.1f µs/req)"
               % (s_[4] / b_[4], s_[4], b_[4]))
    if ev == 1:
        ratio_target(1, "node", 4)
        ratio_target(1, "bare", 0.5)
    elif ev == 5:
        ratio_target(5, "node", 2.5)
        ratio_target(5, "bare", 0.5)
    if s_ is not None:
        lim = 5 if ev == 1 else 10
        target("%d-event p99 <= %d ms" % (ev, lim), s_[1] <= lim, "%.2f ms" % s_[1])
for ev in sorted(outboxes):
    o = outboxes[ev]
    # not one of the issue's numbers, but what "processing keeps up" means
    target("%d-event backlog bounded (drained within the wait after every run)" % ev,
           all(kv["timed_out"] == "0" for _, kv in runs[("shokaid", ev)]),
           "inbox+outbox left after the last run: %s"
           % [r for r in rows if r[0] == "shokaid" and r[1] == ev][0][12])
if ob is None:
    target("outbox >= 20000 pushes/s with worst loop stall <= 2 ms", None,
           "outbox.py did not run or printed no result")
else:
    # The stall is wall time; beside it, the part the loop's thread was on the CPU and
    # the machine's own floor (an idle sleeper on the core), so a VM's descheduling is
    # not read as shokaid's work, nor hidden: the target stays the wall figure.
    target("outbox >= 20000 pushes/s with worst loop stall <= 2 ms",
           ob[0] >= 20000 and ob[1] <= 2, "%d pushes/s, worst loop stall %.2f ms (loop's "
           "own CPU in it <= %.2f ms; idle sleeper on its core %.2f ms late)"
           % (ob[0], ob[1], ob[3], ob[4]))
rss = [(ev, v[2]) for (srv, ev), v in sorted(summary.items()) if srv == "shokaid"]
if ob is not None:
    rss.append(("outbox", ob[2]))
if rss:
    target("peak RSS <= 20 MiB", all(r <= 20 for _, r in rss),
           ", ".join("%s %.1f MiB" % ("%d-event" % k if k != "outbox" else k, r)
                     for k, r in rss))
# What the rate targets leave shokaid to spend. The server is pinned to one core, so
# a rate of R requests/s allows at most 1e6 / R µs of CPU per request; bare's CPU per
# request in this run is the least a correct receiver spends (verify, parse, answer),
# and the API calls the outbox made (replies, their push fallbacks and rich-menu links:
# about 0.4 per event in this mix, as cooldowns and handed-off customers get no answer)
# each cost about what a push costs shokaid (outbox.py's CPU per push). When the budget
# left after bare's work is below what the API calls alone cost, the target cannot be
# met on this machine by any design that keeps the events durable and answers them.
budgets = []
for ev, want in ((1, 4), (5, 2.5)):
    n_, b_ = summary.get(("node", ev)), summary.get(("bare", ev))
    if n_ is None or b_ is None or not n_[3]:
        continue
    req_s = want * n_[3] / ev
    budget = 1e6 / req_s
    o = outboxes.get(ev)
    # outbound API calls per request: replies (or their push fallbacks) and rich-menu links
    calls = (o["replies_sent"] + o["fallbacks_sent"] + o["links_sent"]) / o["stored"] * ev \
        if o and o["stored"] else None
    line = ("%d-event >= %gx node = %.0f req/s on one core: at most %.1f µs of CPU per "
            "request; bare's own work %.1f µs, leaving %.1f µs to store %d event(s), run "
            "the handlers and send the replies" % (ev, want, req_s, budget, b_[4],
                                                   budget - b_[4], ev))
    if ob is not None and calls is not None:
        line += "; its API calls alone (%.2f per request x %.1f µs per push) %.1f µs" % (
            calls, ob[5], calls * ob[5])
    budgets.append(line)
if budgets:
    print()
    print("what the rate targets leave (this run's node and bare, one core)")
    for line in budgets:
        print("  " + line)
if not ok:
    print("\nINVALID: see non-2xx, socket errors, wrapped pools, the inbox check or the "
          "processed check above")
    open(status_file, "w").write("invalid\n")
if missed:
    open(status_file + ".targets", "w").write("missed\n")
EOF
say ""
say "bench: done in $((SECONDS - T0)) s"
[ ! -e "$STATUS_FILE" ] || exit 1
if [ "${BENCH_STRICT:-0}" = 1 ] && [ -e "$STATUS_FILE.targets" ]; then exit 1; fi
exit 0
