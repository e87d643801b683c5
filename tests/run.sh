#!/bin/bash
# run.sh FLAVOUR_DIR: runs every unit test binary of a build flavour (cmocka), then the
# integration suite against that flavour's shokaid, then the soak suite (SOAK=0 skips it),
# and prints one closing summary line "N passed, N failed" over all. Exits non-zero if
# anything failed.
set -u
flavour=${1:?usage: tests/run.sh build/fault}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
export SHOKAI_SHARED=${SHOKAI_SHARED:-$top/../shared}
export SHOKAID=$top/$flavour/shokaid
export SHOKAICTL=$top/$flavour/shokaictl
export SHOKAISIM=$top/build/shokaisim
passed=0
failed=0
logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT

echo "== unit tests ($flavour)"
for t in "$flavour"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	"$t" >"$logdir/$name.log" 2>&1
	rc=$?
	p=$(grep -o '\[  PASSED  \] [0-9]* test' "$logdir/$name.log" | grep -o '[0-9]*' | head -1)
	f=$(grep -o '\[  FAILED  \] [0-9]* test' "$logdir/$name.log" | grep -o '[0-9]*' | head -1)
	p=${p:-0}
	f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1	# crashed before cmocka could count
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -ne 0 ]; then
		echo "FAIL $name ($p passed, $f failed)"
		cat "$logdir/$name.log"
	else
		echo "PASS $name ($p tests)"
	fi
done

echo "== release build has no fault hooks"
if [ -x build/shokaid ] && ! strings build/shokaid | grep -q SHOKAI_FAULT; then
	echo "PASS release shokaid carries no SHOKAI_FAULT hooks"
	passed=$((passed + 1))
else
	echo "FAIL build/shokaid is missing or carries SHOKAI_FAULT hooks"
	failed=$((failed + 1))
fi

# add_summary LOG WHAT: adds a suite's closing "N passed, N failed" line to the totals, or
# counts the suite as one failure when it never printed one.
add_summary() {
	local line
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
	if [ -n "$line" ]; then
		passed=$((passed + $(echo "$line" | awk '{print $1}')))
		failed=$((failed + $(echo "$line" | awk '{print $3}')))
	else
		echo "FAIL $2 did not finish"
		failed=$((failed + 1))
	fi
}

echo "== integration tests ($flavour)"
python3 tests/integration/run.py 2>&1 | tee "$logdir/integration.log"
add_summary "$logdir/integration.log" "integration suite"

if [ "${SOAK:-1}" != 0 ]; then
	echo "== soak tests ($flavour; SOAK=0 skips them)"
	SHOKAI_TEST_TIMEOUT=${SHOKAI_SOAK_TIMEOUT:-300} python3 tests/integration/run.py --soak 2>&1 |
		tee "$logdir/soak.log"
	add_summary "$logdir/soak.log" "soak suite"
fi

echo "== contract tooling self-test (Prism + message validator)"
bash tests/contract/selftest.sh >"$logdir/contract.log" 2>&1
rc=$?
tail -3 "$logdir/contract.log"
if [ "$rc" -eq 3 ] || grep -q 'contract: SKIPPED' "$logdir/contract.log"; then
	echo "NOTICE contract tests skipped (node or npm unavailable)"
else
	add_summary "$logdir/contract.log" "contract self-test"
fi

echo
echo "== summary ($flavour)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
