#!/bin/bash
# selftest.sh: checks the contract tooling itself.
#  * check.sh on tests/contract/samples/ must exit 0 with a PASS line for every file;
#  * check.sh on tests/contract/samples-bad/ must exit 1 with a FAIL line for every file, and
#    that line must contain the reason listed for the file in samples-bad/EXPECT (so a bad
#    sample cannot "fail" for an unrelated reason and hide a gap).
# Prints one PASS/FAIL line per sample and "N passed, N failed". Exit 0 all good, 1 otherwise,
# 3 when check.sh was skipped (no node/npm or the install failed), 2 on infrastructure errors.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
passed=0
failed=0
ok() {
	echo "PASS $*"
	passed=$((passed + 1))
}
bad() {
	echo "FAIL $*"
	failed=$((failed + 1))
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/contract-selftest.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

# run_check DIR OUT: runs check.sh, keeps its output, returns its exit code.
run_check() {
	local t0=$SECONDS rc
	"$here/check.sh" "$1" >"$2" 2>"$2.err"
	rc=$?
	echo "== check.sh $(basename "$1"): exit $rc in $((SECONDS - t0))s" >&2
	if [ $rc -eq 3 ]; then
		grep -h '^contract: SKIPPED' "$2" "$2.err" | head -1
		exit 3
	fi
	if [ $rc -ge 2 ]; then
		cat "$2" "$2.err" >&2
		echo "contract: check.sh failed to run on $1 (exit $rc)" >&2
		exit 2
	fi
	return $rc
}

# line_for OUT NAME: the PASS/FAIL line check.sh printed for request NAME.
line_for() {
	grep -E "^(PASS|FAIL) $(printf '%s' "$2" | sed 's/[][\.*^$]/\\&/g')( |:|$)" "$1" | head -1
}

# 1. Valid samples: all must pass.
run_check "$here/samples" "$tmp/good.out"
rc=$?
[ $rc -eq 0 ] || bad "check.sh samples exited $rc, expected 0"
for f in "$here"/samples/*.json; do
	n=$(basename "$f")
	l=$(line_for "$tmp/good.out" "$n")
	case $l in
	"PASS $n"*) ok "samples/$n passes" ;;
	"") bad "samples/$n: no result line from check.sh" ;;
	*) bad "samples/$n should pass: ${l#FAIL "$n": }" ;;
	esac
done

# 2. Invalid samples: each must fail, for the expected reason.
run_check "$here/samples-bad" "$tmp/bad.out"
rc=$?
[ $rc -eq 1 ] || bad "check.sh samples-bad exited $rc, expected 1"
expect=$here/samples-bad/EXPECT
for f in "$here"/samples-bad/*.json; do
	n=$(basename "$f")
	want=$(awk -v n="$n" '!/^#/ && $1 == n { sub(/^[^ \t]+[ \t]+/, ""); print; exit }' "$expect")
	l=$(line_for "$tmp/bad.out" "$n")
	if [ -z "$want" ]; then
		bad "samples-bad/$n: no expected reason in samples-bad/EXPECT"
	elif [ -z "$l" ]; then
		bad "samples-bad/$n: no result line from check.sh"
	elif [ "${l#PASS }" != "$l" ]; then
		bad "samples-bad/$n passed but must fail ($want)"
	elif [ "${l#*"$want"}" = "$l" ]; then
		bad "samples-bad/$n failed, but not with \"$want\": ${l#FAIL "$n": }"
	else
		ok "samples-bad/$n fails: $want"
	fi
done
# Entries in EXPECT whose file is gone.
while read -r n _; do
	case $n in '' | '#'*) continue ;; esac
	[ -f "$here/samples-bad/$n" ] || bad "samples-bad/EXPECT lists $n, which does not exist"
done <"$expect"

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
