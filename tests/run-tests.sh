#!/bin/sh
# tests/run-tests.sh KIND BIN...: runs each test binary, prints a summary line
# per binary and a total, and fails if any failed. Each binary's output goes to
# build/.../NAME.log and is shown in full when it fails.
set -u
kind=$1
shift
pass=0
fail=0
failed=""
for t in "$@"; do
	log="$t.log"
	start=$(date +%s)
	if "$t" >"$log" 2>&1; then
		pass=$((pass + 1))
		summary=$(grep -E '^\[  PASSED  \]' "$log" | tr -s ' ' | head -n 1)
		printf '%-12s PASS %s (%ss) %s\n' "$kind" "$(basename "$t")" $(($(date +%s) - start)) "$summary"
	else
		fail=$((fail + 1))
		failed="$failed $(basename "$t")"
		printf '%-12s FAIL %s\n' "$kind" "$(basename "$t")"
		sed 's/^/    | /' "$log" | tail -n 80
	fi
done
echo "$kind: $pass passed, $fail failed$failed"
[ "$fail" -eq 0 ]
