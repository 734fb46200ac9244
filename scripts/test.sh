#!/bin/sh
# scripts/test.sh - install what is missing, build vtund-ng and run every test. This is the
# README's test command and what CI runs. Steps:
#   1. build with warnings as errors and gcov; make check (cmocka unit tests, namespace tests,
#      docs), then the line coverage of src/ per file (scripts/coverage.sh --report)
#   2. build with AddressSanitizer + UndefinedBehaviorSanitizer; make check again
#   3. build the libFuzzer targets with clang; check that a sanitizer report halts them (the
#      fuzz_canary self-test), then run each for FUZZ_SECONDS (default 60) from its seeds
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
FUZZ_SECONDS=${FUZZ_SECONDS:-60}

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

# The fuzz step: the self-test, then each libFuzzer target for FUZZ_SECONDS from its seeds. One
# "ok"/"not ok" line per check. A target fails if it exits non-zero or if its output holds a
# sanitizer report at all (the fuzz build halts on the first one; this catches a build that
# stopped doing so). The table gives each target's -max_len: its largest valid input and some
# margin (libFuzzer's default of 4096 bytes is below most of them).
fuzz_targets() {
	# target       max_len  largest valid input
	cat <<-'EOF'
	wire           12288    a datagram up to the UDP receive buffer (BUF_CAP - BUF_HEADROOM = 9181)
	session_decap  12288    a mode byte and such a datagram, or the 9149-byte payload it carries
	noise          70000    a Noise message of NOISE_MAX_MSG (65535)
	config         1049600  a configuration file of FILE_MAX (1 MiB, src/config.c)
	compress       12288    an LZ4 block for COMPRESS_MAX_IN (9018): COMPRESS_BOUND, 9069
	stream         70000    a TCP frame of any 16-bit length (65535 + 2) and what follows it
	engine         70000    operations of up to 65535 bytes each on the engine's descriptors
	offload        70000    a mode byte, a vnet header and a frame of OFF_FRAME_MAX (65593)
	vtun_import    262144   a VTun vtund.conf (the largest of tests/data/vtun: 176 KiB)
	frame          12288    a mode, an MTU and a frame of BUF_MAX_FRAME (9018)
	privchan       8192     a channel message of the largest type (a peer: 5672 bytes)
	EOF
}

fuzz_report='runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer|==ERROR'

# Run a fuzz binary with sanitizers that stop at the first report (and look for leaks).
fuzz_exec() {
	env ASAN_OPTIONS=abort_on_error=1:halt_on_error=1:detect_leaks=1 \
	    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$@"
}

# The self-test: fuzz_canary must halt with the named report on each planted bug, as libFuzzer
# does when it reproduces a crash from a file, and run clean on a harmless input.
fuzz_selftest() {
	bin=$dir/tests/fuzz/fuzz_canary
	rc=0
	for c in "signed-overflow:runtime error: signed integer overflow" \
	    "heap-overflow:ERROR: AddressSanitizer: heap-buffer-overflow" "harmless:"; do
		input=${c%%:*}
		want=${c#*:}
		log=$dir/fuzz_canary-$input.out
		fuzz_exec "$bin" -artifact_prefix="$dir/fuzz_canary-" \
		    "$top/tests/fuzz/canary/$input" > "$log" 2>&1
		status=$?
		if [ -z "$want" ]; then
			if [ "$status" -eq 0 ] && ! grep -q -E "$fuzz_report" "$log"; then
				echo "ok - fuzz_canary: $input input runs clean"
				continue
			fi
			echo "not ok - fuzz_canary: $input input fails (exit $status)"
		elif [ "$status" -ne 0 ] && grep -q -F "$want" "$log"; then
			echo "ok - fuzz_canary: $input halts with \"$want\" (exit $status)"
			continue
		else
			echo "not ok - fuzz_canary: the fuzz build does not halt on a sanitizer report" \
			    "($input: exit $status, \"$want\" $(grep -q -F "$want" "$log" ||
			    printf 'not ')printed)"
		fi
		sed 's/^/# /' "$log" | tail -n 20
		rc=1
	done
	return $rc
}

fuzz() {
	dir=$out/fuzz
	t0=$(date +%s)
	if [ ! -x "$dir/tests/fuzz/fuzz_canary" ]; then
		echo "not ok - fuzz: no fuzz build in $dir"
		return 1
	fi
	fuzz_selftest
	rc=$?
	while read -r f max_len _; do
		corpus=$top/tests/fuzz/corpus/$f
		work=$dir/corpus-$f
		log=$dir/fuzz_$f.out
		mkdir -p "$work"
		[ -d "$corpus" ] && cp "$corpus"/* "$work"/ 2>/dev/null
		dict=""
		[ -f "$top/tests/fuzz/$f.dict" ] && dict="-dict=$top/tests/fuzz/$f.dict"
		start=$(date +%s)
		# shellcheck disable=SC2086
		fuzz_exec "$dir/tests/fuzz/fuzz_$f" -max_total_time="$FUZZ_SECONDS" \
		    -max_len="$max_len" -timeout=20 -rss_limit_mb=1024 -print_final_stats=1 \
		    -artifact_prefix="$dir/fuzz_$f-" $dict "$work" > "$log" 2>&1
		status=$?
		secs=$(($(date +%s) - start))
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
		last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1)
		cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
		ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
		corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
		if [ "$status" -eq 0 ] && ! grep -q -E "$fuzz_report" "$log"; then
			echo "ok - fuzz_$f: $secs s, ${runs:-?} runs, cov ${cov:-?}," \
			    "ft ${ft:-?}, corpus ${corp:-?}, max_len $max_len"
		else
			reports=$(grep -c -E "$fuzz_report" "$log")
			echo "not ok - fuzz_$f: exit $status after $secs s, ${runs:-?} runs," \
			    "$reports sanitizer report lines (log: $log)"
			grep -E "$fuzz_report|^SUMMARY|Test unit written" "$log" | awk '!seen[$0]++' |
			    head -n 10 | sed 's/^/# /'
			sed 's/^/# /' "$log" | tail -n 30
			rc=1
		fi
	done <<-EOF
	$(fuzz_targets)
	EOF
	echo "# fuzz step: $(($(date +%s) - t0)) s"
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
