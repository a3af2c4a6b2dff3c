#!/usr/bin/env bash
# CI check of the Debian package (debian/, docs/debian.md), on a fresh Debian 12 tree that
# has never seen Swift:
#   1. dpkg-buildpackage -b builds swift-secmod and swift-secmod-tools (Swift from PATH or
#      /opt/swift, the only build dependency that is not a Debian package)
#   2. debootstrap makes a minimal bookworm tree (systemd, dbus); a stand-in for Taler's own
#      taler-exchange package is installed there first: every path Taler 0.9's package
#      ships that could meet ours (its helpers in /usr/bin, their units, its config.d with
#      paths.conf, its manual pages, /etc/taler/taler.conf), with helpers that only sleep
#   3. apt-get installs our two .debs into the tree, pulling their dependencies from
#      Debian's archive: dpkg refuses any file another package owns, so this is the clash
#      check; the tree must then hold no Swift runtime
#   4. the tree is booted with systemd-nspawn -b; a unit in it runs check-debian-boot.sh
#      (beside this script): nothing of ours enabled or running after installation, the
#      documented takeover step, Taler's unit names served by our helpers, the stand-in
#      exchange (Requires= on those names) running, secmod signing with both helpers over
#      Taler's stream transport as the exchange's user, then the documented step back, and
#      removal of the package handing the names back too. It writes PASS/FAIL lines.
# Everything happens under one temporary directory, except the .debs that dpkg-buildpackage
# writes next to the source tree (moved into the temporary directory at once).
#
# Usage: contrib/check-debian.sh
# SECMOD_SCRATCH, if set, is the Swift build directory to reuse (as for install.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source contrib/deps.sh
secmod_install_deps
need=()
for p in debhelper debootstrap systemd-container dpkg-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

work="$(mktemp -d /var/tmp/secmod-debian.XXXXXX)"
# SECMOD_KEEP=1 keeps the tree and the logs for a look afterwards.
trap '[ -n "${SECMOD_KEEP:-}" ] && echo "kept $work" || rm -rf "$work"' EXIT
version="$(dpkg-parsechangelog -S Version)"
arch="$(dpkg --print-architecture)"

echo "== 1. dpkg-buildpackage -b"
export SECMOD_SCRATCH="${SECMOD_SCRATCH:-$PWD/.build}"
dpkg-buildpackage -b -us -uc > "$work/build.log" 2>&1 || { tail -n 40 "$work/build.log"; exit 1; }
for f in "swift-secmod_${version}_$arch.deb" "swift-secmod-tools_${version}_$arch.deb" \
         "swift-secmod_${version}_$arch.buildinfo" "swift-secmod_${version}_$arch.changes"; do
    mv "../$f" "$work/"
done
debian/rules clean >/dev/null 2>&1 || true
ls -l "$work"/*.deb

echo "== 2. debootstrap bookworm, and a stand-in for Taler's taler-exchange package"
root="$work/root"
debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus bookworm "$root" http://deb.debian.org/debian \
    > "$work/debootstrap.log" 2>&1 || { tail -n 20 "$work/debootstrap.log"; exit 1; }
taler="$work/taler-exchange-standin"
mkdir -p "$taler/DEBIAN" "$taler/usr/bin" "$taler/lib/systemd/system" "$taler/usr/share/taler/config.d" \
    "$taler/usr/share/man/man1" "$taler/etc/taler"
cat > "$taler/DEBIAN/control" <<EOF
Package: taler-exchange
Version: 0.9.2-0standin
Architecture: all
Maintainer: swift-secmod CI <ci@localhost>
Description: stand-in for Taler's taler-exchange package (its file names only)
EOF
echo /etc/taler/taler.conf > "$taler/DEBIAN/conffiles"
for helper in cs eddsa rsa; do
    printf '#!/bin/sh\n# stand-in for Taler'"'"'s C helper\nexec sleep infinity\n' > "$taler/usr/bin/taler-exchange-secmod-$helper"
    chmod 0755 "$taler/usr/bin/taler-exchange-secmod-$helper"
    printf '[Unit]\nDescription=stand-in Taler %s helper\nPartOf=taler-exchange.target\n[Service]\nExecStart=/usr/bin/taler-exchange-secmod-%s\n' \
        "$helper" "$helper" > "$taler/lib/systemd/system/taler-exchange-secmod-$helper.service"
    printf '[taler-exchange-secmod-%s]\n' "$helper" > "$taler/usr/share/taler/config.d/taler-exchange-secmod-$helper.conf"
    echo ".TH stand-in 1" > "$taler/usr/share/man/man1/taler-exchange-secmod-$helper.1"
done
printf '#!/bin/sh\nexec sleep infinity\n' > "$taler/usr/bin/taler-exchange-httpd"
chmod 0755 "$taler/usr/bin/taler-exchange-httpd"
cat > "$taler/lib/systemd/system/taler-exchange-httpd.service" <<'EOF'
[Unit]
Description=stand-in Taler exchange (Requires= the helpers by Taler's names, as Taler's unit)
Requires=taler-exchange-secmod-rsa.service taler-exchange-secmod-eddsa.service
After=taler-exchange-secmod-rsa.service taler-exchange-secmod-eddsa.service
PartOf=taler-exchange.target
[Service]
ExecStart=/usr/bin/taler-exchange-httpd
EOF
cat > "$taler/lib/systemd/system/taler-exchange.target" <<'EOF'
[Unit]
Description=stand-in GNU Taler exchange
Wants=taler-exchange-httpd.service
[Install]
WantedBy=multi-user.target
EOF
printf '[PATHS]\nTALER_HOME = /var/lib/taler/\n' > "$taler/usr/share/taler/config.d/paths.conf"
# Taler's /etc/taler/taler.conf with Debian's paths, a currency, one RSA and one CS denomination.
{
    cat contrib/systemd/taler.conf
    printf '\n[taler]\nCURRENCY = KUDOS\n\n[coin_kudos_1]\nCIPHER = RSA\nVALUE = KUDOS:1\nDURATION_WITHDRAW = 7 days\nRSA_KEYSIZE = 2048\n'
    printf '\n[coin_kudos_cs]\nCIPHER = CS\nVALUE = KUDOS:2\nDURATION_WITHDRAW = 7 days\n'
    # A day of keys ahead, not a year's: the helper is ready once they exist.
    printf '\n[taler-exchange-secmod-rsa]\nLOOKAHEAD_SIGN = 1 day\n'
    printf '\n[taler-exchange-secmod-cs]\nLOOKAHEAD_SIGN = 1 day\n'
} > "$taler/etc/taler/taler.conf"
dpkg-deb --root-owner-group --build "$taler" "$work/taler-exchange-standin.deb" >/dev/null
cp "$work/taler-exchange-standin.deb" "$work"/swift-secmod*.deb "$root/tmp/"
chroot "$root" dpkg -i /tmp/taler-exchange-standin.deb > /dev/null
ln -sf /lib/systemd/system/taler-exchange.target "$root/etc/systemd/system/multi-user.target.wants/taler-exchange.target"

echo "== 3. apt-get install the .debs (dependencies from Debian's archive)"
# The exchange's user joins the helpers' group through our sysusers.d file.
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    "/tmp/swift-secmod_${version}_$arch.deb" "/tmp/swift-secmod-tools_${version}_$arch.deb" > "$work/apt.log" 2>&1 \
    || { tail -n 30 "$work/apt.log"; exit 1; }
grep -E "^(Setting up|Unpacking) " "$work/apt.log" | sed 's/^/   /'
if find "$root" -xdev \( -name 'libswift*' -o -name 'libFoundation*' -o -path '*/opt/swift' \) | grep -q .; then
    echo "FAIL: the tree holds a Swift runtime"; exit 1
fi
echo "   no Swift runtime in the tree"

echo "== 4. boot it (systemd-nspawn -b) and run the checks"
install -m 0755 contrib/check-debian-boot.sh "$root/root/check-debian-boot.sh"
cat > "$root/etc/systemd/system/secmod-check.service" <<'EOF'
[Unit]
Description=swift-secmod package check
After=multi-user.target
[Service]
Type=oneshot
TimeoutStartSec=300
ExecStart=/bin/sh -c '/root/check-debian-boot.sh > /root/check.out 2>&1; echo "exit $?" >> /root/check.out'
ExecStartPost=/bin/systemctl --no-block poweroff
[Install]
WantedBy=multi-user.target
EOF
ln -sf /etc/systemd/system/secmod-check.service "$root/etc/systemd/system/multi-user.target.wants/secmod-check.service"
started=$(date +%s)
timeout 420 systemd-nspawn -q --register=no --keep-unit -D "$root" -b > "$work/boot.log" 2>&1 || true
echo "   booted and powered off in $(( $(date +%s) - started )) s"
[ -s "$root/root/check.out" ] || { tail -n 40 "$work/boot.log"; echo "FAIL: the check did not run"; exit 1; }
sed 's/^/   /' "$root/root/check.out"
if grep -q '^FAIL' "$root/root/check.out" || ! grep -qx 'exit 0' "$root/root/check.out"; then
    tail -n 40 "$work/boot.log"
    echo "FAIL: the package check in the booted tree failed"; exit 1
fi
echo "== the Debian package is fine"
