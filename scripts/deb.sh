#!/bin/sh
# Build the Debian package from a clean clone of the committed tree and check it with lintian.
# Usage: scripts/deb.sh [REPO]   (REPO: a git repository or path, default: this checkout)
# Needs: dpkg-dev, debhelper, lintian and the Build-Depends of debian/control.
# Exit status: non-zero if the build fails or lintian reports an error (E:).
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
repo=${1:-$here}
for tool in git dpkg-buildpackage dh lintian; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "deb.sh: $tool is missing (apt-get install git dpkg-dev debhelper lintian)" >&2
		exit 1
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vtund-ng-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

git clone -q "$repo" "$tmp/src"
cd "$tmp/src"
dpkg-buildpackage -us -uc -b

cd "$tmp"
ls -l ./*.deb
# Only the package itself: the -dbgsym package has nothing of ours to check.
lintian --info --display-info ./vtund-ng_*.deb ./*.changes | tee "$tmp/lintian.out"
if grep -q '^E:' "$tmp/lintian.out"; then
	echo "deb.sh: lintian reported errors" >&2
	exit 1
fi
echo "deb.sh: package built and lintian found no errors"
