#!/bin/sh
# scripts/coverage.sh - line coverage of src/ by the unit and namespace tests together: one line
# per source file, the total, and the figure against the targets (90 % of all lines; 80 % of
# each of src/priv.c, src/tun.c, src/netlink.c, src/transport_*.c and src/engine.c). The
# targets are not a gate yet: the script fails only if it cannot measure.
#
# Usage:
#   scripts/coverage.sh [BUILDDIR]
#       configure BUILDDIR (default build-coverage) with --enable-coverage unless it is a
#       coverage build already, build it, clear its old counts, run `make check` (as root, so
#       that the namespace tests run), then report. Root's processes and the engines that run
#       as nobody all add to the same counts (Makefile.am's coverage-writable); the engine
#       child and the root parent end through exit(), where gcov writes them.
#   scripts/coverage.sh --report BUILDDIR [FIGURE]
#       only the report, on the counts that a `make check` in BUILDDIR left (scripts/test.sh),
#       and the one-line figure into the file FIGURE for tests/summary.sh.
# Needs lcov (scripts/deps.sh installs it).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)

report_only=no
if [ "${1:-}" = --report ]; then
	report_only=yes
	shift
fi
dir=${1:-$top/build-coverage}
figure=${2:-}

command -v lcov >/dev/null 2>&1 || { echo "coverage.sh: lcov is missing (scripts/deps.sh)" >&2; exit 1; }

if [ "$report_only" = no ]; then
	mkdir -p "$dir" || exit 1
	dir=$(cd "$dir" && pwd)
	if ! grep -q -- '--enable-coverage' "$dir/config.status" 2>/dev/null; then
		[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi) || exit 1
		(cd "$dir" && "$top/configure" -q --enable-werror --enable-coverage) || exit 1
	fi
	(cd "$dir" && make -j"$(nproc 2>/dev/null || echo 2)") || exit 1
	find "$dir" -name '*.gcda' -delete
	(cd "$dir" && make -j"$(nproc 2>/dev/null || echo 2)" check) ||
	    echo "coverage.sh: make check failed; the counts are those of the tests that ran"
fi
dir=$(cd "$dir" && pwd) || exit 1
grep -q -- '--enable-coverage' "$dir/config.status" 2>/dev/null ||
    { echo "coverage.sh: $dir is not a coverage build (--enable-coverage)" >&2; exit 1; }

# Objects that nothing ran keep the empty .gcda of coverage-writable: gcov would call them
# corrupt. Without a .gcda they count as not run, from the baseline of every .gcno.
find "$dir" -name '*.gcda' -empty -delete
work=$dir/coverage
mkdir -p "$work"
lcov -q --capture --initial --directory "$dir" --output-file "$work/base.info" 2> "$work/lcov.err" &&
    lcov -q --capture --directory "$dir" --output-file "$work/run.info" 2>> "$work/lcov.err" &&
    lcov -q --add-tracefile "$work/base.info" --add-tracefile "$work/run.info" \
        --output-file "$work/all.info" 2>> "$work/lcov.err" ||
    { echo "coverage.sh: lcov failed:" >&2; cat "$work/lcov.err" >&2; exit 1; }

# Per file of src/: SF names the file, LF its instrumented lines, LH those that ran. One file
# can appear in several records (one per object that includes it): the counts of a line are
# summed over them first (DA:line,count).
awk -v src="$top/src/" -v figure="$work/figure" '
/^SF:/ { f = substr($0, 4); keep = (index(f, src) == 1); if (keep) f = substr(f, length(src) + 1) }
keep && /^DA:/ {
	split(substr($0, 4), a, ",")
	if (!((f, a[1]) in seen)) {
		seen[f, a[1]] = 1
		lines[f]++
		files[f] = 1
	}
	if (a[2] > 0 && !((f, a[1]) in hit)) {
		hit[f, a[1]] = 1
		run[f]++
	}
}
function pct(h, n) { return n > 0 ? 100 * h / n : 100 }
END {
	n = 0
	for (f in files)
		names[++n] = f
	# sort by name (insertion sort: a few dozen files)
	for (i = 2; i <= n; i++) {
		v = names[i]
		for (j = i - 1; j > 0 && names[j] > v; j--)
			names[j + 1] = names[j]
		names[j + 1] = v
	}
	printf "%-22s %7s %7s %7s\n", "file (src/)", "lines", "run", "cover"
	for (i = 1; i <= n; i++) {
		f = names[i]
		printf "%-22s %7d %7d %6.1f %%\n", f, lines[f], run[f], pct(run[f], lines[f])
		tl += lines[f]
		tr += run[f]
	}
	printf "%-22s %7d %7d %6.1f %%\n", "total", tl, tr, pct(tr, tl)
	# The summary figure: the total and the files with their own target.
	line = sprintf("lines %.1f %% of %d", pct(tr, tl), tl)
	short = ""
	reached = pct(tr, tl) >= 90
	for (i = 1; i <= n; i++) {
		f = names[i]
		if (f !~ /^(priv|tun|netlink|engine|transport_[a-z]+)\.c$/)
			continue
		b = f
		sub(/\.c$/, "", b)
		short = short (short == "" ? "" : ", ") sprintf("%s %.0f %%", b, pct(run[f], lines[f]))
		if (pct(run[f], lines[f]) < 80)
			reached = 0
	}
	line = line " (" short "); targets 90 % overall, 80 % each of these: "
	line = line (reached ? "reached" : "not yet reached")
	print line > figure
}' "$work/all.info" > "$work/table" || exit 1
cat "$work/table"
echo "coverage: $(cat "$work/figure")"
[ -z "$figure" ] || cp "$work/figure" "$figure"
