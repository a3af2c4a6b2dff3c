#!/usr/bin/env bash
# Installs the helpers and the secmod tool under a prefix, in the layout Taler's programs
# expect: <prefix>/bin/taler-exchange-secmod-{eddsa,rsa}, <prefix>/bin/secmod, and the
# default configuration in <prefix>/share/taler/config.d/, where the helpers (and Taler's
# own programs, through TALER_PREFIX) find it.
#
# Usage: contrib/install.sh [--prefix /usr/local] [--destdir DIR]
# Our defaults are installed as swift-secmod-*.conf so that they never overwrite Taler's
# own files; paths.conf is installed only where none exists.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=/usr/local
destdir=""
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="$2"; shift 2 ;;
        --destdir) destdir="$2"; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
source contrib/deps.sh
secmod_install_deps
swift build -c release --product taler-exchange-secmod-eddsa
swift build -c release --product taler-exchange-secmod-rsa
swift build -c release --product secmod
bin="$(swift build -c release --show-bin-path)"

root="$destdir$prefix"
install -d -m 0755 "$root/bin" "$root/share/taler/config.d"
for program in taler-exchange-secmod-eddsa taler-exchange-secmod-rsa secmod; do
    install -m 0755 "$bin/$program" "$root/bin/$program"
done
install -m 0644 etc/config.d/taler-exchange-secmod-eddsa.conf "$root/share/taler/config.d/swift-secmod-eddsa.conf"
install -m 0644 etc/config.d/taler-exchange-secmod-rsa.conf "$root/share/taler/config.d/swift-secmod-rsa.conf"
[ -e "$root/share/taler/config.d/paths.conf" ] || install -m 0644 etc/config.d/paths.conf "$root/share/taler/config.d/paths.conf"
echo "installed into $root"
