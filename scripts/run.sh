#!/usr/bin/env bash
# run.sh: what `make run` and `make demo` start: the platform simulator, shokaid on the
# example config, and then, beside them,
#   run   scripts/demo.sh: demo accounts and a referral program played into var/shokai.db
#         (once), to look at in the console;
#   demo  scripts/journey.py: one referral journey told step by step as the customer,
#         the friend, the rep and the operator see it, on a fresh database of its own
#         (var/demo/), whose result the console then shows.
# Both keep the servers running until Ctrl-C (the daemon drains); with DEMO_EXIT=1 the
# demo stops them after the journey and exits with its status (CI).
#
# Ports: PORT (webhooks, 8080), ADMIN_PORT (console, 8081), SIM_PORT (simulator, 8091).
# A port another program holds stops everything before anything starts, naming it. With
# other ports than the example's, or for the demo, the config is a copy of
# config/shokai.yaml under var/ with those ports (and the demo's database) put in: edit
# config/, not the copy.
set -euo pipefail

cd "$(dirname "$0")/.."
mode=${1:-run}
PORT=${PORT:-8080}
ADMIN_PORT=${ADMIN_PORT:-8081}
SIM_PORT=${SIM_PORT:-8091}
DEMO_DIR=${DEMO_DIR:-var/demo}

die() { printf 'make %s: %s\n' "$mode" "$*" >&2; exit 1; }

for p in "$PORT" "$ADMIN_PORT" "$SIM_PORT"; do
	case $p in '' | *[!0-9]*) die "'$p' is not a port number" ;; esac
	[ "$p" -ge 1 ] && [ "$p" -le 65535 ] || die "'$p' is not a port number"
done
[ "$PORT" != "$ADMIN_PORT" ] && [ "$PORT" != "$SIM_PORT" ] && [ "$ADMIN_PORT" != "$SIM_PORT" ] ||
	die "PORT, ADMIN_PORT and SIM_PORT must differ"
# A connection that succeeds means another program listens there.
taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for pair in "PORT $PORT" "ADMIN_PORT $ADMIN_PORT" "SIM_PORT $SIM_PORT"; do
	set -- $pair
	if taken "$2"; then
		who=$(ss -Hltnp "sport = :$2" 2>/dev/null | sed -n 's/.*users:((\("[^"]*"\).*/ (\1)/p' | head -n 1)
		die "port $2 is taken by another program$who; stop it, or choose another: make $mode $1=NNNN"
	fi
done

chmod 600 config/secrets/*
mkdir -p var
config=config/shokai.yaml
if [ "$mode" = demo ] || [ "$PORT$ADMIN_PORT$SIM_PORT" != 808080818091 ]; then
	# The copy lives one folder down from the repository like config/ does, so that
	# its relative paths (includes, secrets) need only "../config/" in front.
	dir=var
	db=../var/shokai.db
	up=$(realpath --relative-to="$dir" config)
	if [ "$mode" = demo ]; then
		# A copy of every file, its campaign running from a month ago to three months
		# ahead whatever today is: the journey needs a campaign that runs today.
		dir=$DEMO_DIR
		rm -rf "$dir/config"
		mkdir -p "$dir"
		cp -r config "$dir/config"
		rm -f "$dir"/shokai.db "$dir"/shokai.db-wal "$dir"/shokai.db-shm
		sed -i -e "s|^\([[:space:]]*starts:[[:space:]]*\)[0-9-]*|\1$(date -d '-30 days' +%F)|" \
		    -e "s|^\([[:space:]]*ends:[[:space:]]*\)[0-9-]*|\1$(date -d '+90 days' +%F)|" \
		    "$dir/config/referral.yaml"
		db=$(realpath -m "$dir/shokai.db")
		up=config
	fi
	config=$dir/shokai-$mode.yaml
	sed -e "s|127\.0\.0\.1:8080|127.0.0.1:$PORT|g" \
	    -e "s|127\.0\.0\.1:8081|127.0.0.1:$ADMIN_PORT|g" \
	    -e "s|127\.0\.0\.1:8091|127.0.0.1:$SIM_PORT|g" \
	    -e "s|^\([[:space:]]*sqlite:[[:space:]]*\)[^[:space:]#]*|\1$db|" \
	    -e "s|^\([[:space:]]*-[[:space:]]*\)\([a-z_]*\.yaml\)|\1$up/\2|" \
	    -e "s|^\([[:space:]]*[a-z_]*_file:[[:space:]]*\)secrets/|\1$up/secrets/|" \
	    config/shokai.yaml >"$config.tmp"
	{ printf '# Made by make %s from config/shokai.yaml: edit that file, not this copy.\n' "$mode"
	  cat "$config.tmp"; } >"$config"
	rm -f "$config.tmp"
fi

sim=
daemon=
stop_all() {
	[ -z "$daemon" ] || kill "$daemon" 2>/dev/null || true
	[ -z "$sim" ] || kill "$sim" 2>/dev/null || true
}
trap 'stop_all' EXIT

if [ "$mode" = demo ]; then
	build/shokaisim serve --listen "127.0.0.1:$SIM_PORT" 2>"$(dirname "$config")/shokaisim.log" & sim=$!
else
	build/shokaisim serve --listen "127.0.0.1:$SIM_PORT" & sim=$!
fi
# The simulator answers once it listens; one that could not bind has exited.
for _ in $(seq 1 50); do
	kill -0 "$sim" 2>/dev/null || die "the simulator could not start on port $SIM_PORT (see above)"
	curl -fsS --max-time 1 -o /dev/null "http://127.0.0.1:$SIM_PORT/_sim/stats" && break
	sleep 0.1
done
if [ "$mode" = demo ]; then
	# The journey's story is the output; the daemon's log goes to a file beside it.
	log=$(dirname "$config")/shokaid.log
	build/shokaid -c "$config" 2>"$log" & daemon=$!
	printf 'make demo: shokaid logs to %s\n' "$log"
else
	build/shokaid -c "$config" & daemon=$!
fi

export SHOKAI_CONFIG=$config SHOKAI_CONFIG_DIR=${up:+$(dirname "$config")/$up} SHOKAI_PID=$daemon
export SHOKAI_URL=http://127.0.0.1:$PORT SHOKAI_SIM_URL=http://127.0.0.1:$SIM_PORT
export SHOKAI_CONSOLE_URL=http://127.0.0.1:$ADMIN_PORT/admin/
export SHOKAI_ADMIN_URL=http://127.0.0.1:$ADMIN_PORT
# Ctrl-C reaches every process of the terminal's group (the daemon drains; a script
# stops where it is), so INT only keeps this shell waiting for the drain; a TERM (from
# make, which passes it on) stops both servers.
trap ':' INT
trap 'stop_all' TERM
if [ "$mode" = demo ]; then
	rc=0
	python3 scripts/journey.py || rc=$?
	if [ "${DEMO_EXIT:-0}" = 1 ] || [ "$rc" -ne 0 ]; then
		[ "$rc" -eq 0 ] || printf 'make demo: the journey stopped (see above)\n' >&2
		kill "$daemon" 2>/dev/null || true
		wait "$daemon" || true
		daemon=
		exit "$rc"
	fi
	printf 'make demo: shokaid runs on; Ctrl-C stops it\n' >&2
else
	scripts/demo.sh || [ $? -gt 128 ] || echo "make run: no demo (see above); shokaid runs on" >&2
fi
rc=0
wait "$daemon" || rc=$?
while kill -0 "$daemon" 2>/dev/null; do wait "$daemon" || rc=$?; done
daemon=
exit "$rc"
