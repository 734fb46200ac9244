#!/bin/sh
# tests/summary.sh - count the tests of one or more builds once each, and say what ran where.
#
# What is a test:
#   - a cmocka unit test: each "[ RUN      ]" of tests/unit/*.log. It passed if "[       OK ]"
#     follows; one that failed, errored or crashed before its result failed; one that
#     "[==========] Running N test(s)." announced but never started failed as well.
#   - a check of a shell test (tests/netns/*.sh, tests/docs.sh, and any script automake runs):
#     each "ok - " / "not ok - " line, "ok - ... # SKIP" skipped. A script promises its number
#     of checks with "1..N" (lib.sh's plan); those it promised but never printed (it died before
#     lib.sh's finish could report them) failed.
#   - a test program that printed no test at all counts as one test by its automake result; one
#     that failed (.trs FAIL or ERROR) without a failing test counts one failure more.
# A test is named by its log and its place in it (the 5th check of tests/netns/tunnel.log), so
# the same test in two builds is one test: it passed if it passed in every build it ran in,
# failed if it failed in any, skipped if it ran in none.
#   - the fuzz step (--fuzz LOG): each "ok - " / "not ok - " line of its log is a test.
#   - CI steps (--steps DIR, one log per step holding its "ok - NAME" / "not ok - NAME" line):
#     a failing step counts one failure, a passing one is not a test and is not counted. The
#     step NAME-check is build NAME's `make check`: if it failed while no test of that build
#     failed, that counts one failure.
# Per build the block says what ran (unit tests and suites, namespace checks and scripts, other
# scripts' checks by name) and how it ended; the last line is "N passed, N failed[, N skipped]"
# over the distinct tests. New suites and scripts are counted without editing this file.
#
# Usage: tests/summary.sh [--steps DIR] [--fuzz LOG] [--coverage FILE] [NAME=]BUILDDIR...
#   BUILDDIR is a build directory after `make check` (its tests/**/*.trs and *.log); NAME (default
#   its base name) labels it. FILE holds the coverage figure line (scripts/coverage.sh).
# Exits 1 if any test failed.
set -u
steps=""
fuzzlog=""
covfile=""
builds=""
while [ $# -gt 0 ]; do
	case $1 in
	--steps) steps=$2; shift 2 ;;
	--fuzz) fuzzlog=$2; shift 2 ;;
	--coverage) covfile=$2; shift 2 ;;
	*=*) builds="$builds $1"; shift ;;
	*) builds="$builds ${1##*/}=$1"; shift ;;
	esac
done

tab=$(printf '\t')
recs=$(mktemp "${TMPDIR:-/tmp}/vtsummary.XXXXXX") || exit 1
trap 'rm -f "$recs"' EXIT

# parse BUILD CATEGORY ID-PREFIX LOG [TRS]: one record per test of one log:
#   BUILD <tab> ID <tab> pass|fail|skip <tab> CATEGORY <tab> FILE <tab> DESCRIPTION
parse() {
	_res=""
	[ -n "${5:-}" ] && [ -f "$5" ] && _res=$(sed -n 's/^:test-result: //p' "$5" | head -n 1)
	awk -v build="$1" -v cat="$2" -v file="$3" -v res="$_res" '
	function rec(id, st, d) {
		printf "%s\t%s#%s\t%s\t%s\t%s\t%s\n", build, file, id, st, cat, file, d
		n++
		if (st == "fail")
			nfail++
	}
	function close_run(st, why) {
		if (pending != "")
			rec(k, st, pending why)
		pending = ""
	}
	/^\[==========\] (.*: )?Running [0-9]+ test/ {
		s = $0
		sub(/.*Running /, "", s)
		cplan += s + 0
		next
	}
	/^\[ RUN      \] / {
		close_run("fail", " (no result: it crashed or hung)")
		k++
		pending = substr($0, 14)
		next
	}
	/^\[       OK \] / && pending != "" { close_run("pass"); next }
	/^\[  SKIPPED \] / && pending != "" { close_run("skip"); next }
	/^\[  FAILED  \] / && pending != "" { close_run("fail"); next }
	/^1\.\.[0-9]+$/ { tplan = substr($0, 4) + 0; next }
	/^ok - / {
		t++
		rec(t, $0 ~ /# SKIP/ ? "skip" : "pass", substr($0, 6))
		next
	}
	/^not ok - / { t++; rec(t, "fail", substr($0, 10)); next }
	END {
		close_run("fail", " (no result: it crashed or hung)")
		while (k < cplan)
			rec(++k, "fail", "announced by cmocka but never run")
		if (res == "SKIP" && n == 0 && tplan > 0) {
			while (t < tplan)
				rec(++t, "skip", "skipped with the whole script")
		}
		while (t < tplan)
			rec(++t, "fail", "promised by 1.." tplan " but never printed (the script died)")
		if (n == 0 && res == "PASS")
			rec("exit", "pass", "exit status 0 (it printed no test)")
		else if (n == 0 && res == "SKIP")
			rec("exit", "skip", "skipped as a whole (exit 77)")
		else if (nfail == 0 && (res == "FAIL" || res == "ERROR"))
			rec("exit", "fail", "automake says " res " but no test failed (see the log)")
	}' "$4"
}

# What built a directory, from its configure flags: "ASan+UBSan", "coverage".
flavour() {
	_f=$(sed -n "s/^ac_cs_config='\(.*\)'$/\1/p" "$1/config.status" 2>/dev/null)
	_s=""
	case $_f in *--enable-asan*) _s="ASan" ;; esac
	case $_f in *--enable-ubsan*) _s="${_s:+$_s+}UBSan" ;; esac
	_w=""
	[ -n "$_s" ] && _w=" under $_s"
	case $_f in *--enable-coverage*) _w="$_w with coverage" ;; esac
	echo "$_w"
}

order=""
flavours=""
for b in $builds; do
	name=${b%%=*}
	dir=${b#*=}
	order="$order $name"
	for trs in $(find "$dir/tests" -name '*.trs' 2>/dev/null | sort); do
		log=${trs%.trs}.log
		rel=${log#"$dir"/}
		rel=${rel%.log}
		d=${rel%/*}
		case $d in
		tests/unit) cat=unit ;;
		tests/netns) cat=netns ;;
		tests) cat=${rel##*/} ;;
		*) cat=${d##*/} ;;
		esac
		parse "$name" "$cat" "$rel" "$log" "$trs" >> "$recs"
	done
	flavours="$flavours|$name=$(flavour "$dir")"
done
[ -n "$fuzzlog" ] && [ -f "$fuzzlog" ] && parse fuzz fuzz fuzz "$fuzzlog" >> "$recs"
if [ -n "$steps" ]; then
	# in the order they ran (oldest log first)
	# shellcheck disable=SC2012 # the step names are plain words
	for log in $(ls -tr "$steps"/*.log 2>/dev/null); do
		[ -f "$log" ] && [ "$log" != "$fuzzlog" ] || continue
		s=$(basename "$log" .log)
		st=ok
		grep -q '^ok - ' "$log" || st=fail
		printf 'step\tstep:%s\t%s\tstep\t%s\t%s\n' "$s" "$st" "$s" "$(head -n 1 "$log")" \
		    >> "$recs"
	done
fi

# One line per build, the fuzz step and the CI steps, the failures, then (below) the coverage
# figure and the closing line.
report=$(awk -F "$tab" -v order="$order" -v flavours="$flavours" '
function plural(n, one, many) { return n " " (n == 1 ? one : many) }
function label(c, n) {
	if (c == "unit") return plural(n, "unit test", "unit tests")
	if (c == "netns") return plural(n, "namespace check", "namespace checks")
	return plural(n, c " check", c " checks")
}
function tally(p, f, s) { return (p + 0) " passed, " (f + 0) " failed" (s > 0 ? ", " s " skipped" : "") }
BEGIN {
	nb = split(order, names, " ")
	nf = split(flavours, fl, "|")
	for (i = 2; i <= nf; i++) {
		j = index(fl[i], "=")
		flav[substr(fl[i], 1, j - 1)] = substr(fl[i], j + 1)
	}
}
{
	b = $1; id = $2; st = $3; c = $4; f = $5; d = $6
	if (b == "step") {
		steporder[++nsteps] = f
		stepst[f] = st
		next
	}
	key = b SUBSEP id
	if (key in seen)
		next
	seen[key] = 1
	ids[b] = ids[b] " " id
	cnt[b, st]++
	percat[b, c]++
	if (!((b, c, f) in files)) {
		files[b, c, f] = 1
		nfiles[b, c]++
	}
	if (!((b, c) in hascat)) {
		hascat[b, c] = 1
		cats[b] = cats[b] " " c
	}
	if (st == "fail" && b == "fuzz")
		failures[++nfailures] = "fuzz step: " d
	else if (st == "fail")
		failures[++nfailures] = b ": " f " #" substr(id, length(f) + 2) ": " d
	if (!(id in all)) {
		all[id] = st
		idorder[++nids] = id
	} else if (st == "fail" || all[id] == "skip") {
		all[id] = st
	}
}
END {
	# A build whose make check failed with no failing test (the step NAME-check).
	for (i = 1; i <= nb; i++) {
		b = names[i]
		s = b "-check"
		if ((s in stepst) && stepst[s] == "fail" && cnt[b, "fail"] == 0) {
			id = "check:" b
			all[id] = "fail"
			idorder[++nids] = id
			cnt[b, "fail"]++
			failures[++nfailures] = b ": make check failed, but no test failed (see the " s " log)"
		}
	}
	first = ""
	for (i = 1; i <= nb; i++) {
		b = names[i]
		tot = cnt[b, "pass"] + cnt[b, "fail"] + cnt[b, "skip"]
		how = (b in flav) ? flav[b] : ""
		if (b == "fuzz")
			continue
		if (tot == 0) {
			printf "%-13s%s\n", b " build:", "no test ran" how
			continue
		}
		if (first != "" && ids[b] == ids[first]) {
			what = "the same " tot " tests" how
		} else {
			what = ""
			# unit tests first, then namespace checks, then the others as found
			m = split(cats[b], cl, " ")
			k = 0
			for (j = 1; j <= m; j++)
				if (cl[j] == "unit")
					co[++k] = cl[j]
			for (j = 1; j <= m; j++)
				if (cl[j] == "netns")
					co[++k] = cl[j]
			for (j = 1; j <= m; j++)
				if (cl[j] != "unit" && cl[j] != "netns")
					co[++k] = cl[j]
			for (j = 1; j <= k; j++) {
				c = co[j]
				part = label(c, percat[b, c])
				if (c == "unit")
					part = part " (" plural(nfiles[b, c], "suite", "suites") ")"
				else if (nfiles[b, c] > 1)
					part = part " (" plural(nfiles[b, c], "script", "scripts") ")"
				what = what (what == "" ? "" : ", ") part
			}
			what = what (how == "" ? "" : ",") how
		}
		if (first == "")
			first = b
		printf "%-13s%s: %s\n", b " build:", what, tally(cnt[b, "pass"], cnt[b, "fail"], cnt[b, "skip"])
	}
	tot = cnt["fuzz", "pass"] + cnt["fuzz", "fail"] + cnt["fuzz", "skip"]
	if (tot > 0)
		printf "%-13s%s: %s\n", "fuzz:", plural(tot, "check", "checks") " of the fuzz step",
		    tally(cnt["fuzz", "pass"], cnt["fuzz", "fail"], cnt["fuzz", "skip"])
	line = ""
	for (i = 1; i <= nsteps; i++) {
		s = steporder[i]
		# a build'"'"'s make check is reported by its tests, not as a step
		chk = 0
		for (j = 1; j <= nb; j++)
			if (s == names[j] "-check")
				chk = 1
		if (chk)
			continue
		line = line (line == "" ? "" : ", ") s " " (stepst[s] == "ok" ? "ok" : "FAILED")
		if (stepst[s] == "fail") {
			id = "step:" s
			all[id] = "fail"
			idorder[++nids] = id
			failures[++nfailures] = "ci step " s " failed"
		}
	}
	if (line != "")
		printf "%-13s%s\n", "ci steps:", line
	for (i = 1; i <= nfailures && i <= 40; i++)
		print "FAILED       " failures[i]
	if (nfailures > 40)
		print "FAILED       ... and " (nfailures - 40) " more (see the logs)"
	for (i = 1; i <= nids; i++)
		total[all[idorder[i]]]++
	print tally(total["pass"] + 0, total["fail"] + 0, total["skip"] + 0)
}' "$recs")
printf '%s\n' "$report" | sed '$d'
if [ -n "$covfile" ]; then
	if [ -s "$covfile" ]; then
		printf '%-13s%s\n' "coverage:" "$(head -n 1 "$covfile")"
	else
		printf '%-13s%s\n' "coverage:" "not measured ($covfile is missing or empty)"
	fi
fi
last=$(printf '%s\n' "$report" | tail -n 1)
echo "$last"
case $last in *" 0 failed"*) exit 0 ;; esac
exit 1
