#!/bin/sh
# tests/summary.sh - count every test in the logs of one or more test runs and print one closing
# line "N passed, N failed[, N skipped]". Counts:
#   - cmocka unit tests: each "[       OK ]" / "[  FAILED  ]" line of tests/unit/*.log;
#   - shell tests (namespace, docs, CI steps): each "ok - " / "not ok - " line, "# SKIP" as skipped;
#   - a test program whose .trs says FAIL or ERROR but printed no failing line counts one failure,
#     and one that SKIPped as a whole (exit 77) counts one skipped.
# Usage: tests/summary.sh DIR...   (each DIR a build directory after `make check`, or a
# directory of *.log files written by scripts/test.sh)
set -u
passed=0
failed=0
skipped=0
for dir in "$@"; do
	for log in $(find "$dir" -name '*.log' \( -path '*/tests/*' -o -path '*/ci-steps/*' \) \
	    ! -name 'test-suite.log' 2>/dev/null | sort); do
		trs=${log%.log}.trs
		# cmocka: "[ RUN      ]" starts a test, "[       OK ]" ends a passing one; a test that
		# started and did not pass (failed, errored or crashed) is a failure
		p=$(grep -c -E '^\[       OK \]' "$log")
		f=$(($(grep -c -E '^\[ RUN      \]' "$log") - p))
		# shell tests: TAP-like lines
		sp=$(grep -c -E '^ok - ' "$log")
		s=$(grep -c -E '^ok - .*# SKIP' "$log")
		sf=$(grep -c -E '^not ok - ' "$log")
		p=$((p + sp - s))
		f=$((f + sf))
		res=""
		[ -f "$trs" ] && res=$(sed -n 's/^:test-result: //p' "$trs" | head -1)
		case "$res" in
		FAIL|ERROR) [ "$f" -eq 0 ] && f=1 ;;
		SKIP) [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && s=$((s + 1)) ;;
		esac
		[ "$f" -gt 0 ] && echo "FAILED in $log"
		passed=$((passed + p))
		failed=$((failed + f))
		skipped=$((skipped + s))
	done
done
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
