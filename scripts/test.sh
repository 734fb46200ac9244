#!/bin/sh
# scripts/test.sh - install what is missing, build vtund-ng and run every test. This is the
# README's test command and what CI runs. Steps:
#   1. build with warnings as errors and gcov; make check (cmocka unit tests, namespace tests,
#      docs), then the line coverage of src/ per file (scripts/coverage.sh --report)
#   2. build with AddressSanitizer + UndefinedBehaviorSanitizer; make check again
#   3. build the libFuzzer targets with clang and run each for FUZZ_SECONDS (default 20)
#   4. make distcheck
#   5. build the Debian package and run lintian
# Then tests/summary.sh says per build what ran and how it ended, the CI steps and the coverage
# figure; its last line, "N passed, N failed", counts each distinct test once (a test that ran in
# both builds passed only if it passed in both; a failed CI step is one failure, a passed one is
# not a test).
# Environment: FUZZ_SECONDS, SKIP_ASAN=1, SKIP_FUZZ=1, SKIP_DISTCHECK=1, SKIP_DEB=1,
# SKIP_COVERAGE=1 (for quick local runs; CI runs everything).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
jobs=$(nproc 2>/dev/null || echo 2)
out=$top/build-test
FUZZ_SECONDS=${FUZZ_SECONDS:-20}

"$top/scripts/deps.sh" || exit 1
rm -rf "$out"
mkdir -p "$out/ci-steps"

# Run one step; its log gets one "ok"/"not ok" line for tests/summary.sh (the step NAME-check is
# build NAME's make check: its tests are counted, not the step).
step() {
	name=$1
	shift
	log=$out/ci-steps/$name.log
	echo "== $name"
	start=$(date +%s)
	if "$@" > "$log.out" 2>&1; then
		echo "ok - $name ($(($(date +%s) - start)) s)" | tee "$log"
	else
		tail -n 40 "$log.out"
		echo "not ok - $name ($(($(date +%s) - start)) s, log: $log.out)" | tee "$log"
	fi
}

# make check, then show the per-test results (and every failing log) on the console.
check() {
	dir=$1
	(cd "$dir" && make -j"$jobs" check)
	rc=$?
	grep -h -E '^(PASS|FAIL|SKIP|ERROR|XFAIL|XPASS):' "$dir/test-suite.log" 2>/dev/null
	for f in $(find "$dir/tests" -name '*.trs' 2>/dev/null); do
		if grep -q -E '^:test-result: (FAIL|ERROR)' "$f"; then
			echo "---- ${f%.trs}.log"
			cat "${f%.trs}.log"
		fi
	done
	return $rc
}

build() {
	dir=$1
	shift
	mkdir -p "$dir" && cd "$dir" && "$top/configure" -q "$@" && make -j"$jobs"
	rc=$?
	cd "$top" || return 1
	return $rc
}

fuzz() {
	dir=$out/fuzz
	rc=0
	for f in wire session_decap noise config compress stream; do
		corpus=$top/tests/fuzz/corpus/$f
		work=$dir/corpus-$f
		mkdir -p "$work"
		[ -d "$corpus" ] && cp "$corpus"/* "$work"/ 2>/dev/null
		dict=""
		[ -f "$top/tests/fuzz/$f.dict" ] && dict="-dict=$top/tests/fuzz/$f.dict"
		if "$dir/tests/fuzz/fuzz_$f" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=1024 \
		    -print_final_stats=1 $dict "$work" > "$dir/fuzz_$f.out" 2>&1; then
			echo "ok - fuzz_$f: ${FUZZ_SECONDS} s, $(grep -o 'stat::number_of_executed_units: [0-9]*' "$dir/fuzz_$f.out" | cut -d' ' -f2) runs, no crash"
		else
			echo "not ok - fuzz_$f crashed:"
			tail -n 30 "$dir/fuzz_$f.out"
			rc=1
		fi
	done
	return $rc
}

autoreconf -fi > "$out/autoreconf.log" 2>&1 || { cat "$out/autoreconf.log"; exit 1; }

cov=--enable-coverage
[ "${SKIP_COVERAGE:-0}" = 1 ] && cov=""
step build build "$out/main" --enable-werror $cov
step main-check check "$out/main"
if [ -n "$cov" ]; then
	echo "== coverage"
	"$top/scripts/coverage.sh" --report "$out/main" "$out/coverage-figure" > "$out/coverage.txt" 2>&1
	cat "$out/coverage.txt"
fi
if [ "${SKIP_ASAN:-0}" != 1 ]; then
	step asan-build build "$out/asan" --enable-werror --enable-asan --enable-ubsan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    step asan-check check "$out/asan"
fi
if [ "${SKIP_FUZZ:-0}" != 1 ]; then
	step fuzz-build build "$out/fuzz" CC=clang --enable-fuzzing
	fuzz > "$out/ci-steps/fuzzers.log" 2>&1
	cat "$out/ci-steps/fuzzers.log"
fi
if [ "${SKIP_DISTCHECK:-0}" != 1 ]; then
	step distcheck sh -c "cd '$out/main' && make -j$jobs distcheck"
fi
if [ "${SKIP_DEB:-0}" != 1 ]; then
	step deb "$top/scripts/deb.sh"
fi

builds="main=$out/main"
[ -d "$out/asan" ] && builds="$builds asan=$out/asan"
echo "== summary"
# shellcheck disable=SC2086 # one word per build
exec "$top/tests/summary.sh" --steps "$out/ci-steps" --fuzz "$out/ci-steps/fuzzers.log" \
    ${cov:+--coverage "$out/coverage-figure"} $builds
