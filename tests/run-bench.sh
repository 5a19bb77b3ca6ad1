#!/bin/sh
# tests/run-bench.sh BIN...: runs each benchmark binary and prints its figures,
# one line each (`name value unit`), after a header (date, nproc, commit, the
# disk under test); lines starting with # are comments. Each binary's notes
# (stderr) go to BIN.log, shown in full when it fails. Exits non-zero only when
# a binary fails, never because a figure is slow. $BENCH_DIR (default /tmp)
# is where the benches put their databases.
set -u
BENCH_DIR=${BENCH_DIR:-/tmp}
export BENCH_DIR

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && ! git diff --quiet HEAD 2>/dev/null; then
	commit="$commit+dirty"
fi
fs=$(df -PT "$BENCH_DIR" 2>/dev/null | awk 'NR == 2 { print $2 " on " $1 }')
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
echo "# careline bench $(date '+%Y-%m-%d %H:%M:%S %z'), nproc $(nproc), commit $commit"
echo "# cpu: ${cpu:-unknown}"
echo "# databases in $BENCH_DIR (${fs:-unknown fs})"

fail=0
failed=""
all=""
for b in "$@"; do
	name=$(basename "$b")
	log="$b.log"
	out="$b.out"
	start=$(date +%s)
	# Figures are printed as they come; the exit status is kept aside.
	("$b" 2>"$log"; echo $? >"$b.rc") | tee "$out"
	rc=$(cat "$b.rc" 2>/dev/null || echo 1)
	rm -f "$b.rc"
	all="$all $out"
	if [ "$rc" -eq 0 ]; then
		echo "# $name: $(($(date +%s) - start)) s, notes in $log"
	else
		fail=$((fail + 1))
		failed="$failed $name"
		echo "# $name FAILED (exit $rc):"
		sed 's/^/#    | /' "$log" | tail -n 80
	fi
done

# The daemon's peak RSS over all runs (each bench prints its own daemon's).
if [ -n "$all" ]; then
	# shellcheck disable=SC2086
	cat $all 2>/dev/null | awk '
		/^daemon_peak_rss_mb_/ { if ($2 + 0 > max) max = $2 + 0; seen = 1 }
		/^sqlite_raw_rps / { raw = $2 + 0 }
		/^mqtt_ingest_rps / { mqtt = $2 + 0 }
		END {
			if (seen) printf "daemon_peak_rss_mb %.1f MB\n", max
			# MQTT ingest beside the SQLite one-row-per-transaction rate of this run.
			if (raw > 0 && mqtt > 0) printf "mqtt_vs_sqlite_raw_ratio %.2f ratio\n", mqtt / raw
		}'
fi

if [ "$fail" -ne 0 ]; then
	echo "bench: $fail failed:$failed"
	exit 1
fi
