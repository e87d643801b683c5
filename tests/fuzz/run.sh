#!/bin/bash
# run.sh TARGET...: runs each libFuzzer target for FUZZ_SECONDS (default 30) on its
# checked-in seeds (tests/fuzz/corpus/NAME) plus the SDK fixtures for the webhook one.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${FUZZ_SECONDS:-30}
for t in "$@"; do
	name=$(basename "$t" | sed 's/^fuzz_//')
	corpus=$top/build/fuzz/corpus/$name	# grows; the checked-in seeds stay as they are
	mkdir -p "$corpus"
	seeds=("$top/tests/fuzz/corpus/$name")
	if [ "$name" = webhook ] && [ -d "$top/../shared/line-sdk-fixtures" ]; then
		seeds+=("$top/../shared/line-sdk-fixtures/java-line-bot-webhook")
	fi
	if [ "$name" = config ]; then
		seeds+=("$top/config")
	fi
	echo "== fuzzing $name for ${secs}s"
	"$t" -max_total_time="$secs" -max_len=65536 "$corpus" "${seeds[@]}" 2>&1 | tail -3
done
