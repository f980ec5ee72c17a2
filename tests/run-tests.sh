#!/usr/bin/env bash
# Runs unit test binaries (cmocka) and integration test scripts, keeps each one's log under
# $BUILD/test-logs/, and ends with the line "N passed, N failed, N skipped".
#
# Counting: a cmocka binary contributes its test cases; an integration script contributes
# its "ok - ..." / "not ok - ..." / "skip - ..." lines. A program that exits non-zero with
# no failure line of its own counts as one failure, so a crash is never a pass.
set -u
BUILD=${BUILD:-build}
logdir=$BUILD/test-logs
mkdir -p "$logdir"

total_pass=0
total_fail=0
total_skip=0
failed_names=()

for t in "$@"; do
	name=$(basename "$t")
	log=$logdir/$name.log
	start=$(date +%s.%N)
	if [[ $t == *.sh ]]; then
		BUILD=$BUILD timeout --kill-after=10 600 bash "$t" >"$log" 2>&1
	else
		timeout --kill-after=10 600 "$t" >"$log" 2>&1
	fi
	rc=$?
	secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')

	if [[ $t == *.sh ]]; then
		pass=$(grep -c '^ok - ' "$log")
		fail=$(grep -c '^not ok - ' "$log")
		skip=$(grep -c '^skip - ' "$log")
	else
		pass=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
		fail=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
		skip=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
	fi
	if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
		fail=1
	fi
	if [ "$pass" -eq 0 ] && [ "$fail" -eq 0 ] && [ "$skip" -eq 0 ]; then
		fail=1 # ran nothing: that is not a pass
		echo "run-tests: $name reported no test results" >>"$log"
	fi
	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	total_skip=$((total_skip + skip))

	if [ "$fail" -gt 0 ]; then
		printf 'FAIL  %-40s %3d passed, %d failed (%.1fs)\n' "$name" "$pass" "$fail" "$secs"
		failed_names+=("$name")
		echo "---- last lines of $log"
		tail -n 40 "$log" | sed 's/^/    /'
		echo "----"
	else
		printf 'PASS  %-40s %3d passed, %d skipped (%.1fs)\n' "$name" "$pass" "$skip" "$secs"
		grep '^skip - ' "$log" | sed 's/^/      /'
	fi
done

echo
if [ ${#failed_names[@]} -gt 0 ]; then
	echo "failed: ${failed_names[*]} (logs in $logdir/)"
fi
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
