#!/bin/sh
# scripts/deps.sh - install, from Debian's archive, everything vtund-ng needs to build, test and
# run its demo. Safe to run again; does nothing for packages already present.
set -eu
pkgs="build-essential autoconf automake pkg-config libevent-dev libssl-dev liblz4-dev
libconfig-dev libcmocka-dev clang iproute2 iputils-ping procps psmisc kmod mandoc tcpdump
iperf3 netcat-openbsd nftables ethtool systemd python3 lcov debhelper devscripts lintian fakeroot dh-exec"
[ "${1:-}" = "--bench" ] && pkgs="$pkgs openvpn wireguard-go wireguard-tools sysstat"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
