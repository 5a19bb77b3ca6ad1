#!/bin/sh
# tests/fuzz/run-fuzz.sh BUILD_DIR NAME...: runs each libFuzzer harness
# BUILD_DIR/tests/fuzz/fuzz_NAME for FUZZ_SECONDS (default 60), one after
# another, on BUILD_DIR/corpus/NAME (seeded from tests/fuzz/corpus/NAME, so
# what the fuzzer finds stays out of the repository). Prints
# "fuzz_NAME_execs N" and "fuzz_NAME_execs_per_s N" per harness; a crash
# leaves its input in BUILD_DIR/crashes/ and its log in BUILD_DIR/logs/, is
# shown with its stack top, and makes the script fail after the others ran.
# Called by `make fuzz`.
set -u
dir=$1
shift
seconds=${FUZZ_SECONDS:-60}
mkdir -p "$dir/crashes" "$dir/logs"
failed=""
for name in "$@"; do
	bin="$dir/tests/fuzz/fuzz_$name"
	corpus="$dir/corpus/$name"
	log="$dir/logs/fuzz_$name.log"
	if [ ! -x "$bin" ]; then
		echo "fuzz_$name: no such harness ($bin)" >&2
		failed="$failed $name"
		continue
	fi
	mkdir -p "$corpus"
	if [ -d "tests/fuzz/corpus/$name" ]; then
		cp -n "tests/fuzz/corpus/$name"/* "$corpus"/ 2>/dev/null
	fi
	# stdin from /dev/null: an input may name a file to read (rules_file).
	"$bin" -max_total_time="$seconds" -print_final_stats=1 -timeout=25 \
		-artifact_prefix="$dir/crashes/fuzz_$name-" "$corpus" >"$log" 2>&1 </dev/null
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	echo "fuzz_${name}_execs ${execs:-0}"
	echo "fuzz_${name}_execs_per_s ${rate:-0}"
	if [ "$rc" -ne 0 ]; then
		failed="$failed $name"
		artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
		echo "fuzz_$name: FAILED (exit $rc), input ${artifact:-none}, log $log"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -n 3 | sed 's/^/    | /'
		grep -E '^ +#[0-9]+ ' "$log" | head -n 8 | sed 's/^/    | /'
	fi
done
if [ -n "$failed" ]; then
	echo "fuzz: failed:$failed"
	exit 1
fi
