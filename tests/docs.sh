#!/bin/sh
# tests/docs.sh - the manual pages stay true to the code:
#   1. mandoc -T lint finds nothing at warning level or above in either page;
#   2. every key of src/config.c's config_keys[] is a documented item (".It Ic key") of
#      vtund-ng.conf(5), and every item there is a real key;
#   3. every example configuration in vtund-ng.conf(5) passes `vtund-ng -t`;
#   4. every option that `vtund-ng -h` lists is in the SYNOPSIS of vtund-ng(8), and every option
#      of that SYNOPSIS is in `vtund-ng -h`.
# Needs no root. Environment (set by `make check`): top_srcdir, VTUND (the built binary).
# Prints "ok - ..." or "not ok - ..." per check; exits 1 if any check failed.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
VTUND=${VTUND:-}
man8=$top_srcdir/man/vtund-ng.8
man5=$top_srcdir/man/vtund-ng.conf.5
config_c=$top_srcdir/src/config.c

passed=0
failed=0
skipped=0
ok() { echo "ok - $*"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $*"; failed=$((failed + 1)); }
skip() { echo "ok - $* # SKIP"; skipped=$((skipped + 1)); }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vtdocs.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# ---- 1. mandoc lint ----------------------------------------------------------------------
# "-W warning": style notes such as "referenced manual not found" depend on which other pages
# happen to be installed on the machine, so they are not counted.
if command -v mandoc >/dev/null 2>&1; then
	for page in "$man8" "$man5"; do
		if out=$(mandoc -T lint -W warning "$page" 2>&1) && [ -z "$out" ]; then
			ok "mandoc -T lint: ${page##*/} is clean"
		else
			printf '%s\n' "$out" | sed 's/^/#   /'
			not_ok "mandoc -T lint: ${page##*/} is clean"
		fi
	done
elif [ "${CI:-}" = true ]; then
	not_ok "mandoc is installed (apt-get install mandoc)"
else
	skip "mandoc -T lint (mandoc not installed)"
fi

# ---- 2. configuration keys ---------------------------------------------------------------
# config_keys[] is either a list of string literals or built from X-macros such as
#   #define PEER_KEYS(X) X(TYPE, "type", p_type, 0) ...
#   const char *const config_keys[] = { GLOBAL_KEYS(KEY_NAME) PEER_KEYS(KEY_NAME) NULL };
# Take the string literals of the initializer, plus the names of every X(ID, "name", ...) entry
# of each macro that the initializer expands.
extract_keys()
{
	awk '
	function strings(text,    out, m) {
		out = ""
		while (match(text, /"[^"]*"/)) {
			out = out substr(text, RSTART + 1, RLENGTH - 2) "\n"
			text = substr(text, RSTART + RLENGTH)
		}
		return out
	}
	# Collect the body of each "#define NAME(X) ..." macro, following backslash continuations.
	indef {
		body[indef] = body[indef] " " $0
		if ($0 !~ /\\$/)
			indef = ""
		next
	}
	/^#define[ \t]+[A-Za-z_][A-Za-z0-9_]*\(X\)/ {
		name = $2
		sub(/\(.*/, "", name)
		body[name] = $0
		if ($0 ~ /\\$/)
			indef = name
		next
	}
	/config_keys\[\][ \t]*=[ \t]*\{/ { intable = 1 }
	intable {
		table = table " " $0
		if ($0 ~ /NULL/) {
			intable = 0
			done = 1
		}
	}
	END {
		if (!done)
			exit 1
		sub(/.*config_keys\[\][ \t]*=[ \t]*\{/, "", table)
		sub(/NULL.*/, "", table)
		printf "%s", strings(table)
		rest = table
		while (match(rest, /[A-Za-z_][A-Za-z0-9_]*\(/)) {
			macro = substr(rest, RSTART, RLENGTH - 1)
			rest = substr(rest, RSTART + RLENGTH)
			if (!(macro in body))
				continue
			b = body[macro]
			while (match(b, /X\([A-Za-z0-9_]+,[ \t]*"[^"]*"/)) {
				entry = substr(b, RSTART, RLENGTH)
				b = substr(b, RSTART + RLENGTH)
				printf "%s", strings(entry)
			}
		}
	}' "$config_c"
}

if [ ! -r "$config_c" ]; then
	not_ok "src/config.c is readable"
elif ! extract_keys > "$tmp/keys" || [ ! -s "$tmp/keys" ]; then
	not_ok "config_keys[] found in src/config.c"
else
	ok "config_keys[] found in src/config.c ($(wc -l < "$tmp/keys") keys)"
	missing=
	for key in $(cat "$tmp/keys"); do
		grep -Eq "^\.It (Ic|Cm) $key( |\$)" "$man5" || missing="$missing $key"
	done
	if [ -z "$missing" ]; then
		ok "every config key is documented in vtund-ng.conf(5)"
	else
		not_ok "every config key is documented in vtund-ng.conf(5); missing:$missing"
	fi
	# The other way round: items of the GLOBAL SETTINGS and PEER SETTINGS sections.
	extra=
	for item in $(awk '
		/^\.Sh / { in_keys = ($0 ~ /^\.Sh (GLOBAL|PEER) SETTINGS/) }
		in_keys && /^\.It Ic / { print $3 }' "$man5"); do
		grep -qx -- "$item" "$tmp/keys" || extra="$extra $item"
	done
	if [ -z "$extra" ]; then
		ok "vtund-ng.conf(5) documents no key that the parser lacks"
	else
		not_ok "vtund-ng.conf(5) documents no key that the parser lacks; unknown:$extra"
	fi
fi

# ---- 2b. example configurations ------------------------------------------------------------
# Every literal block of the EXAMPLES section of vtund-ng.conf(5) that sets "peers" must pass
# `vtund-ng -t`, with its key file paths pointed at keys made here.
if [ -z "$VTUND" ] || [ ! -x "$VTUND" ]; then
	skip "examples of vtund-ng.conf(5) pass vtund-ng -t (no built vtund-ng)"
elif ! (umask 077 && "$VTUND" genkey > "$tmp/example.key"); then
	not_ok "vtund-ng genkey makes a key for the examples"
else
	awk -v dir="$tmp" '
		/^\.Sh / { on = ($0 ~ /^\.Sh EXAMPLES/) }
		on && /^\.Ed/ { inb = 0; close(f) }
		on && inb { print > f }
		on && /^\.Bd -literal/ { inb = 1; f = dir "/example" (++n) ".conf" }
	' "$man5"
	for f in "$tmp"/example*.conf; do
		[ -e "$f" ] || continue
		grep -q '^peers' "$f" || continue
		sed -i "s|\"/etc/vtund-ng/[^\"]*\"|\"$tmp/example.key\"|g" "$f"
		if out=$("$VTUND" -t -f "$f" 2>&1); then
			ok "vtund-ng.conf(5) example \"$(head -n 1 "$f")\" passes vtund-ng -t"
		else
			printf '%s\n' "$out" | sed 's/^/#   /'
			not_ok "vtund-ng.conf(5) example \"$(head -n 1 "$f")\" passes vtund-ng -t"
		fi
	done
fi

# ---- 3. options: SYNOPSIS of vtund-ng(8) against `vtund-ng -h` -----------------------------
# Render the SYNOPSIS and collect every "-x" (letters of "-nv" counted one by one); collect
# the option letters of the "  -x ..." lines printed by -h.
if ! command -v mandoc >/dev/null 2>&1; then
	skip "options of vtund-ng -h against the SYNOPSIS (mandoc not installed)"
elif [ -z "$VTUND" ] || [ ! -x "$VTUND" ]; then
	skip "options of vtund-ng -h against the SYNOPSIS (no built vtund-ng)"
elif ! "$VTUND" -h > "$tmp/usage" 2>&1 || ! grep -Eq '^  +-[A-Za-z]' "$tmp/usage"; then
	# TODO(main.c): remove this branch once `vtund-ng -h` prints one "  -x ..." line per option.
	skip "options of vtund-ng -h against the SYNOPSIS (-h prints no option table yet)"
else
	mandoc -T ascii "$man8" | sed 's/.\x08//g' |
	    awk '/^SYNOPSIS/ { on = 1; next } /^[A-Z]/ { on = 0 } on' > "$tmp/synopsis"
	grep -oE '(^|[][ |])-[A-Za-z]+' "$tmp/synopsis" | sed 's/^[][ |]*-//' |
	    fold -w1 | sort -u > "$tmp/man-opts"
	sed -n 's/^ \{1,\}-\([A-Za-z]\).*/\1/p' "$tmp/usage" | sort -u > "$tmp/usage-opts"
	undocumented=$(comm -13 "$tmp/man-opts" "$tmp/usage-opts" | tr '\n' ' ')
	if [ -z "$undocumented" ]; then
		ok "every option of vtund-ng -h is in the SYNOPSIS of vtund-ng(8)"
	else
		not_ok "every option of vtund-ng -h is in the SYNOPSIS of vtund-ng(8); missing: $undocumented"
	fi
	# Options of subcommands (status -S) may be listed by -h anywhere, not only as "  -x".
	unknown=
	for o in $(cat "$tmp/man-opts"); do
		grep -Eq "(^|[][ |,])-$o([^A-Za-z]|\$)" "$tmp/usage" || unknown="$unknown -$o"
	done
	if [ -z "$unknown" ]; then
		ok "every option in the SYNOPSIS of vtund-ng(8) is in vtund-ng -h"
	else
		not_ok "every option in the SYNOPSIS of vtund-ng(8) is in vtund-ng -h; unknown:$unknown"
	fi
fi

echo "docs: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
