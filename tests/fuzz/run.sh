#!/bin/bash
# run.sh TARGET...: runs each libFuzzer target for FUZZ_SECONDS (default 30) on its
# checked-in seeds (tests/fuzz/corpus/NAME) plus the SDK fixtures for the webhook one,
# prints each target's runs and executions per second, and exits 1 if any target found
# a crash (its report is printed; the input is saved as build/fuzz/crash-*).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${FUZZ_SECONDS:-30}
failed=0
for t in "$@"; do
	name=$(basename "$t" | sed 's/^fuzz_//')
	corpus=$top/build/fuzz/corpus/$name	# grows; the checked-in seeds stay as they are
	log=$top/build/fuzz/$name.log
	mkdir -p "$corpus"
	seeds=("$top/tests/fuzz/corpus/$name")
	if [ "$name" = webhook ] && [ -d "$top/../shared/line-sdk-fixtures" ]; then
		seeds+=("$top/../shared/line-sdk-fixtures/java-line-bot-webhook")
	fi
	if [ "$name" = config ]; then
		seeds+=("$top/config")
	fi
	echo "== fuzzing $name for ${secs}s"
	if "$t" -max_total_time="$secs" -max_len=65536 -artifact_prefix="$top/build/fuzz/" \
	    "$corpus" "${seeds[@]}" >"$log" 2>&1; then
		runs=$(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$log" | tail -1)
		rate=$(grep -o 'exec/s: [0-9]*' "$log" | tail -1)
		echo "   $runs (${rate:-exec/s: ?}); log: $log"
	else
		echo "FAIL $name: the fuzzer found a problem; log: $log"
		grep -A40 -m1 'ERROR\|Test unit written\|deadly signal' "$log" | head -60
		failed=1
	fi
done
exit $failed
