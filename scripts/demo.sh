#!/usr/bin/env bash
# demo.sh: gives `make run` something to look at. Run by `make run` once shokaid is up:
#
#   1. console accounts, each made only when its login does not exist yet:
#        demo           admin, デモ 運用者          password shokai-demo-2026
#        demo-shinjuku  manager of shinjuku, 新宿 店長  password shokai-demo-2026
#   2. only when the database has no referral yet, a referral program played for real
#      through the simulator, so that every row is written by shokaid itself: customers
#      follow the account and are tied to reps by the rep link's text, tap 友だちに紹介,
#      their invite links are clicked, friends follow and send the code; some claims
#      break a rule (their own code, an existing friend, an unknown code, a friend
#      already referred) and a burst on one code is held for review; reps move
#      referrals on LINE WORKS; coupons are imported and some rewards approved.
#   3. THE TIMES ARE SHIFTED FOR THE DEMO. A program played in a minute puts every event
#      on today, so scripts/demo-shift.sql moves each referrer's whole chain (code,
#      clicks, claims, moves, rewards, the people's follow times) back by one random
#      number of whole days, over the last 6 weeks but never before the campaign began.
#      A chain keeps its order; chains waiting for review stay within a day of today
#      so that their 3-day review deadline has not passed. The inbox and outbox (what
#      shokaid received and sent, and when) are not shifted: they show today's play.
#   4. prints the console's URL, the logins and what the demo holds.
#
# The password is published here and in the README: the accounts are for a local demo
# (the console listens on 127.0.0.1); disable them (shokaictl user disable demo) on any
# database that matters.
#
# A second run reuses the accounts and the data (a database with referrals is never
# played into). To start over: stop `make run`, `rm -f var/shokai.db*`, run it again.
# Every wait is bounded; the script starts no process that outlives it.
#
# Environment (defaults are the example config's): SHOKAI_CONFIG, SHOKAI_URL (webhooks),
# SHOKAI_SIM_URL, SHOKAI_CONSOLE_URL, SHOKAI_PID (the daemon: stop waiting if it dies),
# SHOKAI_CONFIG_DIR (where the campaigns are, when SHOKAI_CONFIG is a copy elsewhere).
set -euo pipefail

cd "$(dirname "$0")/.."
CONFIG=${SHOKAI_CONFIG:-config/shokai.yaml}
URL=${SHOKAI_URL:-http://127.0.0.1:8080}
SIM=${SHOKAI_SIM_URL:-http://127.0.0.1:8091}
CONSOLE=${SHOKAI_CONSOLE_URL:-http://127.0.0.1:8081/admin/}
ADMIN=${SHOKAI_ADMIN_URL:-http://127.0.0.1:8081}	# /healthz
DAEMON_PID=${SHOKAI_PID:-}
PASSWORD=shokai-demo-2026
CHANNEL=main
LINE_SECRET=config/secrets/line-channel-secret
WORKS_SECRET=config/secrets/works-bot-secret
WORKS_BOT_ID=2000001
WAIT_S=30

CTL=(build/shokaictl -c "$CONFIG")
SIMBIN=build/shokaisim

say() { printf 'demo: %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

# The database, as the config names it (relative to the config's folder).
cfg_dir=$(dirname "$CONFIG")
DB=$(sed -n 's/^[[:space:]]*sqlite:[[:space:]]*\([^[:space:]#]*\).*/\1/p' "$CONFIG" | head -n 1)
[ -n "$DB" ] || die "no storage.sqlite in $CONFIG"
case $DB in /*) ;; *) DB=$(realpath -m --relative-to=. "$cfg_dir/$DB") ;; esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

daemon_alive() { [ -z "$DAEMON_PID" ] || kill -0 "$DAEMON_PID" 2>/dev/null; }

# wait_for WHAT CMD...: runs CMD every 0.2 s until it succeeds, for at most WAIT_S.
wait_for() {
	local what=$1 deadline=$((SECONDS + WAIT_S))
	shift
	until "$@"; do
		daemon_alive || die "shokaid stopped while waiting for $what"
		[ "$SECONDS" -lt "$deadline" ] || die "gave up after ${WAIT_S}s waiting for $what"
		sleep 0.2
	done
}

healthz() { curl -fsS --max-time 2 "$ADMIN/healthz" 2>/dev/null; }
listening() { healthz >/dev/null; }
# Everything received is handled and everything queued is sent (or failed for good).
idle() {
	local h
	h=$(healthz) || return 1
	case $h in *'"inbox_backlog":0,'*) ;; *) return 1 ;; esac
	case $h in *'"outbox_backlog":0,'*) ;; *) return 1 ;; esac
	case $h in *'"outbox_in_flight":0,'*) return 0 ;; *) return 1 ;; esac
}
settle() { wait_for "shokaid to handle what it received" idle; }

sql() { sqlite3 -batch -noheader -separator ' ' -cmd '.timeout 5000' "$DB" "$@"; }

profile() {	# USER NAME: the LINE display name the simulator gives shokaid
	curl -fsS --max-time 5 -o /dev/null -H 'Content-Type: application/json' \
	    -d "{\"userId\":\"$1\",\"displayName\":\"$2\"}" "$SIM/_sim/profile"
}
line() {	# TYPE USER [--text T | --data D]: a signed LINE webhook
	local type=$1 user=$2
	shift 2
	"$SIMBIN" send line --url "$URL/line/$CHANNEL" --secret-file "$LINE_SECRET" \
	    --type "$type" --user "$user" --timeout 5 "$@" >/dev/null
}
works() {	# WORKS_USER TEXT: a rep types on LINE WORKS
	"$SIMBIN" send works --url "$URL/works/sales" --bot-id "$WORKS_BOT_ID" \
	    --secret-file "$WORKS_SECRET" --user "$1" --text "$2" --timeout 5 >/dev/null
}
click() {	# CODE [/rep]: someone opens the invite link (302 to LINE), or its rep link
	local st
	st=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$URL/r/$1${2:-}") || st=000
	[ "$st" = 302 ] || say "warning: the invite link /r/$1${2:-} answered $st"
}

# --- customers: LINE user ids (U + 32 hex digits) and Japanese names ---------------
uid() { printf 'Ude%030x' "$1"; }
declare -A NAME
person() { NAME[$(uid "$1")]=$2; }
customer() {	# N NAME REP: follows, then sends the rep link's text
	local u
	u=$(uid "$1")
	person "$1" "$2"
	profile "$u" "$2"
	line follow "$u"
	line message "$u" --text "担当者コード $3"
}
friend() {	# N NAME: follows (after opening an invite link)
	local u
	u=$(uid "$1")
	person "$1" "$2"
	profile "$u" "$2"
	line follow "$u"
}
invite() {	# N: the customer taps 友だちに紹介; prints the code shokaid issued
	local u code
	u=$(uid "$1")
	line postback "$u" --data "action=refer"
	settle
	code=$(sql "SELECT code FROM referral_codes WHERE channel = '$CHANNEL' AND user_id = '$u'")
	[ -n "$code" ] || die "no referral code was issued to ${NAME[$u]} (does a campaign" \
	    "of config/referral.yaml run today?)"
	printf '%s\n' "$code"
}
claim() {	# N CODE: sends the text the invite link prefills
	line message "$(uid "$1")" --text "紹介コード $2 で問い合わせます"
}
ref_id() {	# N: the referral whose friend this is
	sql "SELECT id FROM referrals WHERE channel = '$CHANNEL' AND referee_id = '$(uid "$1")'"
}

# Reps' LINE WORKS member ids (config/referral.yaml).
R001=takahashi@example.co.jp
R012=sato@example.co.jp
Y003=ito@example.co.jp
move() {	# REP_WORKS_ID WORD N...: the rep types "WORD #ID" for each friend's referral
	local rep=$1 word=$2 n id
	shift 2
	for n in "$@"; do
		id=$(ref_id "$n")
		[ -n "$id" ] || die "no referral for ${NAME[$(uid "$n")]}"
		works "$rep" "$word #$id"
		settle
	done
}

# --- 0. the daemon is up ------------------------------------------------------------
wait_for "shokaid to listen on $URL" listening
wait_for "the simulator on $SIM" curl -fsS --max-time 2 -o /dev/null "$SIM/_sim/stats"

# --- 1. console accounts ------------------------------------------------------------
umask 077
printf '%s\n' "$PASSWORD" >"$tmp/password"
account() {	# LOGIN ARGS...: made once; an existing account is left as it is
	local login=$1
	shift
	if [ -n "$(sql "SELECT 1 FROM console_users WHERE login = '$login'")" ]; then
		say "console account $login exists: left as it is"
	else
		"${CTL[@]}" user add "$login" "$@" --password-file "$tmp/password" >/dev/null
		say "console account $login made"
	fi
}
account demo --role admin --name "デモ 運用者"
account demo-shinjuku --role manager --branch shinjuku --name "新宿 店長"

# --- 2. the referral program, played once -------------------------------------------
if [ "$(sql "SELECT count(*) FROM referrals")" != 0 ]; then
	say "the database has referrals already: no demo played into it"
	# The demo's first customer without the shift's mark in meta: an earlier run was
	# stopped midway, which is not resumed.
	if [ -n "$(sql "SELECT 1 FROM referral_codes WHERE user_id = '$(uid 1)'")" ] &&
	    [ -z "$(sql "SELECT 1 FROM meta WHERE key = 'demo_times_shifted'")" ]; then
		say "an earlier demo was stopped midway; to play it again, stop make run and"
		say "remove the database: rm -f $DB $DB-wal $DB-shm"
	fi
else
	say "playing a referral program through the simulator (about 20 seconds)"

	# Customers who follow the account and are tied to a rep by the rep's link.
	customer 20 "森 美穂" Y003		# a friend of long standing; never refers anyone
	customer 1 "山田 花子" R001
	customer 2 "中村 大輔" R001
	customer 3 "小林 さくら" R012
	customer 4 "加藤 翔太" R012
	customer 5 "吉田 真由美" Y003
	customer 6 "山本 拓也" Y003
	customer 7 "斎藤 誠" R012
	settle

	# 山田 花子: two friends.
	c=$(invite 1)
	click "$c"; friend 101 "鈴木 一郎"; claim 101 "$c"
	click "$c"; friend 102 "田中 美紀"; claim 102 "$c"
	settle
	# 中村 大輔: one friend, and he tries his own code (self_referral); 鈴木 一郎, already
	# 山田 花子's friend, sends this code too (already_referred).
	c=$(invite 2)
	click "$c"; friend 103 "渡辺 健太"; claim 103 "$c"
	claim 2 "$c"
	claim 101 "$c"
	settle
	# 小林 さくら: a link opened three times, two friends.
	c=$(invite 3)
	click "$c"; click "$c"; friend 104 "伊藤 彩"; claim 104 "$c"
	click "$c"; friend 105 "松本 蓮"; claim 105 "$c"
	settle
	# 加藤 翔太: one friend; 森 美穂, a friend since before his code, sends it too
	# (existing_friend).
	c=$(invite 4)
	click "$c"; friend 106 "井上 陽菜"; claim 106 "$c"
	claim 20 "$c"
	settle
	# 吉田 真由美: two friends, and a third who opens the invite's rep link and writes
	# to her rep on LINE WORKS; the rep credits 吉田 真由美 with 紹介登録.
	c=$(invite 5)
	click "$c"; friend 107 "木村 悠斗"; claim 107 "$c"
	click "$c"; friend 108 "林 結衣"; claim 108 "$c"
	click "$c" /rep
	settle
	works "$Y003" "紹介登録 ${c:0:4}-${c:4} 小川 恵"
	settle
	# 山本 拓也: one friend, whom the rep will flag as suspicious.
	c=$(invite 6)
	click "$c"; friend 109 "清水 颯"; claim 109 "$c"
	settle
	# 斎藤 誠: six friends within minutes. The campaign's velocity rule (5 claims in
	# 10 minutes) holds the sixth for an operator.
	c=$(invite 7)
	n=110
	for name in "佐々木 翼" "山口 葵" "阿部 湊" "池田 凛" "橋本 陸" "石川 紬"; do
		click "$c"; friend "$n" "$name"; claim "$n" "$c"
		settle	# one at a time, so the sixth is the one held
		n=$((n + 1))
	done
	# Someone types a code nobody was given (unknown_code).
	friend 21 "藤田 悠"
	line message "$(uid 21)" --text "紹介コード QWERTY23J です"
	settle

	# Reps move their referrals on LINE WORKS.
	move "$R001" 対応開始 101 102 103
	move "$R001" 面談設定 101 103
	move "$R001" 成約 101 103
	move "$R012" 対応開始 104 106 110
	move "$R012" 面談設定 106
	move "$R012" 失注 104
	move "$Y003" 対応開始 107 108
	move "$Y003" 面談設定 107
	move "$Y003" 成約 107
	move "$Y003" 不正の疑い 109

	# Coupons for the rewards (quo-1000 for referrers, gift-500 for friends). gift-500
	# gets few codes, so the console shows its low-stock warning (coupon_low_stock 20).
	for i in $(seq 1 40); do printf 'DEMO-QUO-%04d\n' "$i"; done >"$tmp/quo-1000.txt"
	for i in $(seq 1 12); do printf 'DEMO-GIFT-%04d\n' "$i"; done >"$tmp/gift-500.txt"
	"${CTL[@]}" import coupons quo-1000 "$tmp/quo-1000.txt" >/dev/null
	"${CTL[@]}" import coupons gift-500 "$tmp/gift-500.txt" >/dev/null

	# Approve the rewards of 鈴木 一郎's and 木村 悠斗's referrals (both sides); 渡辺
	# 健太's stay pending for an operator to approve in the console.
	for n in 101 107; do
		for w in $(sql "SELECT id FROM rewards WHERE referral_id = $(ref_id "$n") ORDER BY id"); do
			"${CTL[@]}" rewards approve "$w" >/dev/null
		done
	done
	issued() { [ "$(sql "SELECT count(*) FROM rewards WHERE state = 'issued'")" = 4 ]; }
	wait_for "the approved rewards to be issued" issued
	settle

	# Customers who ask for a person (handoff: true in config/messages.yaml): 中村 大輔
	# (R001's) asks for an estimate and writes on while waiting (the bot stays quiet),
	# 森 美穂 (Y003's) asks for her rep, 佐々木 光 (no rep) writes something no rule
	# answers. Their reps and the operators' room hear on LINE WORKS; the console's 会話
	# lists all three, waiting.
	line message "$(uid 2)" --text "見積もりをお願いしたいです"
	settle
	line message "$(uid 2)" --text "来週の火曜日の午後なら伺えます。駐車場はありますか?"
	line message "$(uid 20)" --text "担当者"
	friend 30 "佐々木 光"
	line message "$(uid 30)" --text "土曜日も相談できますか"
	settle

	# Spread the program over the last weeks (see the header).
	campaign=$(sql "SELECT campaign FROM referral_codes ORDER BY issued_at LIMIT 1")
	tz=$(sed -n 's/^timezone:[[:space:]]*\([^[:space:]#]*\).*/\1/p' "$CONFIG" | head -n 1)
	starts=$(cat "${SHOKAI_CONFIG_DIR:-$cfg_dir}"/*.yaml | awk -v id="$campaign" '
		$0 ~ "^[[:space:]]*-[[:space:]]*id:[[:space:]]*\"?" id "\"?[[:space:]]*(#.*)?$" { found = 1; next }
		found && /^[[:space:]]*-[[:space:]]*id:/ { exit }
		found && /^[[:space:]]*starts:/ { sub(/^[[:space:]]*starts:[[:space:]]*/, ""); sub(/[[:space:]#].*/, ""); print; exit }')
	start_ms=0
	if [ -n "$starts" ]; then
		start_ms=$(($(TZ=${tz:-Asia/Tokyo} date -d "$starts" +%s) * 1000))
	fi
	TZ=${tz:-Asia/Tokyo} sqlite3 -batch -bail -cmd '.timeout 10000' \
	    -cmd ".parameter set @start_ms $start_ms" -cmd ".parameter set @max_days 42" \
	    "$DB" <scripts/demo-shift.sql >&2 || die "the demo's times could not be shifted"
	say "times shifted for the demo: the program now spans $(sql "SELECT (max(at) - min(at)) / 86400000 FROM referral_events") days"
fi

# --- 3. what there is to see --------------------------------------------------------
counts=$(sql "SELECT
  (SELECT count(*) FROM customers),
  (SELECT count(*) FROM referral_codes),
  (SELECT count(*) FROM referral_events WHERE type = 'clicked'),
  (SELECT count(*) FROM referrals),
  (SELECT count(*) FROM referrals WHERE state IN ('held', 'suspicious')),
  (SELECT count(*) FROM referrals WHERE state = 'won'),
  (SELECT count(*) FROM referral_events WHERE type = 'rejected'),
  (SELECT count(*) FROM rewards WHERE state = 'pending'),
  (SELECT count(*) FROM rewards WHERE state = 'issued'),
  (SELECT count(*) FROM users WHERE is_friend),
  (SELECT count(*) FROM handoffs WHERE state = 'open')")
read -r n_customers n_codes n_clicks n_refs n_review n_won n_rejected n_pending n_issued \
    n_friends n_waiting <<<"$counts"
states=$(sql "SELECT group_concat(state || ' ' || n, ', ') FROM (SELECT state, count(*) AS n
  FROM referrals GROUP BY state ORDER BY n DESC, state)")
reasons=$(sql "SELECT group_concat(reason || ' ' || n, ', ') FROM (SELECT reason, count(*) AS n
  FROM referral_events WHERE type = 'rejected' GROUP BY reason ORDER BY reason)")
pools=$(sql "SELECT group_concat(pool || ' ' || n, ', ') FROM (SELECT pool, count(*) AS n
  FROM coupons WHERE reward_id IS NULL GROUP BY pool ORDER BY pool)")

cat <<EOF

  The console: $CONSOLE
    demo           / $PASSWORD   admin (デモ 運用者): everything
    demo-shinjuku  / $PASSWORD   manager of 新宿支店 (新宿 店長): shinjuku only

  In the database ($DB):
    $n_friends LINE friends, $n_customers of them customers with a rep
    $n_codes referral codes, $n_clicks invite-link clicks
    $n_refs referrals: ${states:-none}
    $n_review waiting for review (held or flagged), $n_won won
    $n_waiting customers waiting for a person (会話)
    $n_rejected claims rejected: ${reasons:-none}
    rewards: $n_pending pending approval, $n_issued issued; free coupons: ${pools:-none}
  The demo's times are shifted back over the last weeks (scripts/demo-shift.sql);
  the inbox and outbox show when they were really played.

EOF
