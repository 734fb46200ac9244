#!/bin/sh
# tests/docs.sh - the manual pages stay true to the code:
#   1. mandoc -T lint finds nothing at warning level or above in either page;
#   2. every key of src/config.c's config_keys[] is a documented item (".It Ic key") of
#      vtund-ng.conf(5), and every item there is a real key;
#   3. every example configuration in vtund-ng.conf(5) passes `vtund-ng -t`;
#   4. every option that `vtund-ng -h` lists is in the SYNOPSIS of vtund-ng(8), and every option
#      of that SYNOPSIS is in `vtund-ng -h`;
#   5. a build configured without --sysconfdir (the README's ./configure) reads the
#      configuration file where the README tells the user to write it.
# Needs no root. Environment (set by `make check`): top_srcdir, VTUND (the built binary).
# Prints "ok - ..." or "not ok - ..." per check, and as many whatever happens: 2 + 3 + one per
# example configuration (counted first) + 2. A tool that is missing makes its checks "# SKIP"
# with the reason, except under CI (CI=true), where deps.sh installs it: there they fail.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
VTUND=${VTUND:-$top_srcdir/vtund-ng}
. "$top_srcdir/tests/netns/lib.sh"
trap cleanup EXIT
man8=$top_srcdir/man/vtund-ng.8
man5=$top_srcdir/man/vtund-ng.conf.5
config_c=$top_srcdir/src/config.c
tmp=$TMP

# The example configurations of vtund-ng.conf(5): every literal block of its EXAMPLES section
# that sets "peers", one file each, counted before any check runs.
awk -v dir="$tmp" '
	/^\.Sh / { on = ($0 ~ /^\.Sh EXAMPLES/) }
	on && /^\.Ed/ { inb = 0; close(f) }
	on && inb { print > f }
	on && /^\.Bd -literal/ { inb = 1; f = dir "/block" (++n) ".conf" }
' "$man5"
nex=0
for f in "$tmp"/block*.conf; do
	[ -e "$f" ] && grep -q '^peers' "$f" || continue
	nex=$((nex + 1))
	mv "$f" "$tmp/example$nex.conf"
done
# mandoc lint of two pages; the keys (3); the examples (one check saying there are none if so);
# the options (2); the default configuration file (1)
plan $((2 + 3 + (nex > 0 ? nex : 1) + 2 + 1))

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
else
	cannot_run "mandoc is not installed" "mandoc -T lint: vtund-ng.8 is clean" \
	    "mandoc -T lint: vtund-ng.conf.5 is clean"
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

if [ ! -r "$config_c" ] || ! extract_keys > "$tmp/keys" || [ ! -s "$tmp/keys" ]; then
	not_ok "config_keys[] found in src/config.c"
	not_ok "every config key is documented in vtund-ng.conf(5) (no key list)"
	not_ok "vtund-ng.conf(5) documents no key that the parser lacks (no key list)"
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
# Every example configuration (found above) must pass `vtund-ng -t`, with its key file paths
# pointed at a key made here.
[ -x "$VTUND" ] && (umask 077 && "$VTUND" genkey > "$tmp/example.key") || rm -f "$tmp/example.key"
[ "$nex" -gt 0 ] || not_ok "vtund-ng.conf(5) has example configurations (none in its EXAMPLES)"
i=0
while [ "$i" -lt "$nex" ]; do
	i=$((i + 1))
	f=$tmp/example$i.conf
	what="vtund-ng.conf(5) example \"$(head -n 1 "$f")\" passes vtund-ng -t"
	if [ ! -x "$VTUND" ]; then
		cannot_run "no built vtund-ng" "$what"
	elif [ ! -s "$tmp/example.key" ]; then
		not_ok "$what (vtund-ng genkey made no key)"
	else
		sed -i "s|\"/etc/vtund-ng/[^\"]*\"|\"$tmp/example.key\"|g" "$f"
		if out=$("$VTUND" -t -f "$f" 2>&1); then
			ok "$what"
		else
			printf '%s\n' "$out" | sed 's/^/#   /'
			not_ok "$what"
		fi
	fi
done

# ---- 3. options: SYNOPSIS of vtund-ng(8) against `vtund-ng -h` -----------------------------
# Render the SYNOPSIS and collect every "-x" (letters of "-nv" counted one by one); collect
# the option letters of the "  -x ..." lines printed by -h.
opt1="every option of vtund-ng -h is in the SYNOPSIS of vtund-ng(8)"
opt2="every option in the SYNOPSIS of vtund-ng(8) is in vtund-ng -h"
if ! command -v mandoc >/dev/null 2>&1; then
	cannot_run "mandoc is not installed" "$opt1" "$opt2"
elif [ ! -x "$VTUND" ]; then
	cannot_run "no built vtund-ng" "$opt1" "$opt2"
elif ! "$VTUND" -h > "$tmp/usage" 2>&1 || ! grep -Eq '^  +-[A-Za-z]' "$tmp/usage"; then
	not_ok "$opt1 (-h prints no \"  -x ...\" line per option)"
	not_ok "$opt2 (-h prints no \"  -x ...\" line per option)"
else
	mandoc -T ascii "$man8" | sed 's/.\x08//g' |
	    awk '/^SYNOPSIS/ { on = 1; next } /^[A-Z]/ { on = 0 } on' > "$tmp/synopsis"
	grep -oE '(^|[][ |])-[A-Za-z]+' "$tmp/synopsis" | sed 's/^[][ |]*-//' |
	    fold -w1 | sort -u > "$tmp/man-opts"
	sed -n 's/^ \{1,\}-\([A-Za-z]\).*/\1/p' "$tmp/usage" | sort -u > "$tmp/usage-opts"
	undocumented=$(comm -13 "$tmp/man-opts" "$tmp/usage-opts" | tr '\n' ' ')
	if [ -z "$undocumented" ]; then
		ok "$opt1"
	else
		not_ok "$opt1; missing: $undocumented"
	fi
	# Options of subcommands (status -S) may be listed by -h anywhere, not only as "  -x".
	unknown=
	for o in $(cat "$tmp/man-opts"); do
		grep -Eq "(^|[][ |,])-$o([^A-Za-z]|\$)" "$tmp/usage" || unknown="$unknown -$o"
	done
	if [ -z "$unknown" ]; then
		ok "$opt2"
	else
		not_ok "$opt2; unknown:$unknown"
	fi
fi

# 5. The README writes /etc/vtund-ng/vtund-ng.conf; ./configure with no --sysconfdir must lead
# there (not to /usr/local/etc).
cfgd="the daemon's default configuration file is the README's /etc/vtund-ng/vtund-ng.conf"
status=${top_builddir:-.}/config.status
if ! grep -q '/etc/vtund-ng/vtund-ng.conf' "$top_srcdir/README.md"; then
	not_ok "$cfgd (the README names another file)"
elif [ ! -x "$VTUND" ] || [ ! -f "$status" ]; then
	skip "$cfgd: no configured build here"
elif "$status" --config | grep -q -- "--sysconfdir"; then
	skip "$cfgd: this build was configured with its own --sysconfdir"
elif grep -q "(default /etc/vtund-ng/vtund-ng.conf)" "$tmp/usage"; then
	ok "$cfgd"
else
	not_ok "$cfgd; -h says: $(grep -o '(default [^)]*)' "$tmp/usage" | head -1)"
fi

finish
