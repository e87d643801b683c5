# shellcheck shell=bash
# tests/bench/listen_port.sh: sourced by scale.sh and shokaid_dir.sh (run.sh, instr.sh).
# listen_port PID LOG TRIES: prints the loopback port that shokaid or shokaisim (PID)
# logged as `msg=listening addr=127.0.0.1:PORT` in LOG, polling every 0.1 s at most
# TRIES times; prints nothing (and shows the log's tail) if PID died or never said it.
listen_port() {
	logged_port "$1" "$2" "$3" 's/.*msg=listening .*addr=127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p'
}

# admin_port PID LOG TRIES: likewise, the port of shokaid's admin listener (its console,
# /healthz, /readyz and /metrics), from `msg="console listening" listen=127.0.0.1:PORT`.
admin_port() {
	logged_port "$1" "$2" "$3" 's/.*msg="console listening" listen=127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p'
}

# logged_port PID LOG TRIES SED: the port the sed script takes out of LOG.
logged_port() {
	local pid=$1 log=$2 tries=$3 script=$4 port
	for _ in $(seq "$tries"); do
		port=$(sed -n "$script" "$log" | head -n 1)
		if [ -n "$port" ]; then
			printf '%s\n' "$port"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 20 "$log" >&2
	return 1
}
