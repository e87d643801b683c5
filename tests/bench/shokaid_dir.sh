# shellcheck shell=bash
# tests/bench/shokaid_dir.sh: sourced by run.sh and instr.sh (run from the repository's
# root). The secrets and the config folder shokaid is benchmarked with, and (sourced from
# here) listen_port.sh's helpers to find the ports shokaid and shokaisim listen on.

# shellcheck source=tests/bench/listen_port.sh
. "$(dirname "${BASH_SOURCE[0]}")/listen_port.sh"

# make_secrets DIR: a LINE channel secret (32 hex digits) and token, the LINE WORKS bot's
# secrets and its service account's RSA key, one file each.
make_secrets() {
	local d=$1
	mkdir -p "$d"
	openssl rand -hex 16 >"$d/line-secret"
	openssl rand -hex 24 >"$d/line-token"
	openssl rand -hex 16 >"$d/works-secret"
	openssl rand -hex 16 >"$d/works-client-secret"
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
		-out "$d/works-key.pem" 2>/dev/null
}

# flows_on: the example config's flows go into shokaid's folder (BENCH_FLOWS, default 1;
# 0 is not issue 11's setup: what storing the events costs with few handlers to run).
flows_on() {
	[ "${BENCH_FLOWS:-1}" = 1 ]
}

# make_shokaid_dir DIR API SECRETS: a folder with the config, its secrets (copied from
# the folder SECRETS, mode 0600), the example config's includes (config/messages.yaml,
# richmenus.yaml with its images, referral.yaml: every chat flow and the referral engine)
# and, once shokaid ran, its database; without flows_on, no includes: what is left is
# storing the events, the built-in flows (a follow's greeting, the wording's fallback
# answer) and their replies. API is the simulator's base URL: the LINE channel's
# api_base and the LINE WORKS bot's endpoints.
# As config/shokai.yaml, but: loopback port 0, the database here, outbox.line_rate and
# the LINE WORKS pace and concurrency out of the way (LINE's pacing would cap the
# replies at 1,000/s; LINE WORKS's 2/s and 4 in flight, the handoff notices the
# fallback sends: each of the pool's 2,000 users who writes free text opens one).
make_shokaid_dir() {
	local d=$1 api=$2 secrets=$3
	mkdir -p "$d"
	cp "$secrets"/* "$d/"
	chmod 600 "$d"/*
	local include="[]"
	if flows_on; then
		include="[messages.yaml, richmenus.yaml, referral.yaml]"
		cp config/messages.yaml config/richmenus.yaml config/referral.yaml "$d/"
		mkdir -p "$d/richmenu"
		cp config/richmenu/*.png "$d/richmenu/"
	fi
	cat >"$d/shokai.yaml" <<EOF
server: {listen: 127.0.0.1:0, public_url: http://127.0.0.1, max_body: 256KiB, max_headers: 16KiB, read_timeout: 10s, idle_timeout: 5s, max_connections: 2048, drain_timeout: 10s}
storage: {sqlite: shokai.db, synchronous: full, busy_timeout: 2s}
log: {level: info}
admin: {listen: "127.0.0.1:0"}
timezone: Asia/Tokyo
company_name: 株式会社サンプル
include: $include
outbox: {line_rate: 100000, works_rate: 1000, works_concurrency: 64}
handoff: {operators_channel: ops-room}
line:
  channels:
    - {id: main, basic_id: "@123abcde", channel_secret_file: line-secret, access_token_file: line-token, api_base: "$api", api_data_base: "$api", reply_fallback_to_push: true}
lineworks:
  bots:
    - {id: sales, bot_id: "2000001", bot_secret_file: works-secret, client_id: cid, client_secret_file: works-client-secret, service_account: a.serviceaccount@example.com, private_key_file: works-key.pem, auth_url: "$api/oauth2/v2.0/token", api_base: "$api/v1.0"}
EOF
}
