#!/bin/sh
# Runs inside the Debian 12 tree that contrib/check-debian.sh booted with systemd-nspawn,
# with our .debs and a stand-in for Taler's taler-exchange package installed. Prints one
# PASS or FAIL line per check and exits 1 if any failed. The takeover and hand-back steps
# are the ones docs/debian.md documents, word for word.
set -u
failures=0
check() {
    what="$1"; shift
    if "$@"; then echo "PASS $what"; else echo "FAIL $what"; failures=$((failures + 1)); fi
}
equals() { [ "$1" = "$2" ] || { echo "     got '$1', expected '$2'"; return 1; }; }
fragment() { systemctl show -P FragmentPath "$1"; }
main_exe() { readlink "/proc/$(systemctl show -P MainPID "$1")/exe"; }
sign() {  # sign HELPER USER: secmod signs a few bytes through the helper, as USER
    purpose=""
    [ "$1" != eddsa ] || purpose="--purpose 0"
    # shellcheck disable=SC2086
    printf '\001\002\003\004' | runuser -u "$2" -- secmod helper sign --helper "$1" $purpose -c /etc/taler/taler.conf --json \
        > /tmp/sign.out 2>&1
}
signed() { sign "$@" && grep -q '"signature"' /tmp/sign.out || { echo "     $(cat /tmp/sign.out)"; return 1; }; }
refused() {  # refused HELPER USER: secmod fails for USER, with a JSON error that is not a usage error
    if sign "$@"; then echo "     signed: $(cat /tmp/sign.out)"; return 1; fi
    grep -q '"code"' /tmp/sign.out && ! grep -q '"usage"' /tmp/sign.out || { echo "     $(cat /tmp/sign.out)"; return 1; }
}
unix_socket_type() {  # UNIT PATH: the type in the unit's /proc/net/unix (PrivateNetwork=yes): 0001 stream
    awk -v path="$2" '$8 == path { print $5 }' "/proc/$(systemctl show -P MainPID "$1")/net/unix" | head -n 1
}

# (Not is-system-running --wait: the boot is not over until this unit, part of it, ends.)
echo "     $(systemd --version | head -n 1)"

# Installed, nothing of ours is enabled or running; Taler's helpers keep their names.
for helper in eddsa rsa cs; do
    check "swift-secmod-$helper.service is not enabled after installation" \
        equals "$(systemctl is-enabled swift-secmod-$helper.service 2>&1)" disabled
    check "swift-secmod-$helper.service is not running after installation" \
        equals "$(systemctl is-active swift-secmod-$helper.service)" inactive
    check "taler-exchange-secmod-$helper.service is still Taler's" \
        equals "$(fragment taler-exchange-secmod-$helper.service)" /lib/systemd/system/taler-exchange-secmod-$helper.service
done
check "the stand-in exchange runs" equals "$(systemctl is-active taler-exchange-httpd.service)" active
check "the helpers' users and group exist, the exchange's user is in the group" \
    sh -c 'id taler-exchange-secmod-eddsa && id taler-exchange-secmod-rsa && id taler-exchange-secmod-cs && id -nG taler-exchange-httpd | grep -qw taler-exchange-secmod' > /dev/null

# The takeover (docs/debian.md).
systemctl stop taler-exchange-secmod-eddsa.service taler-exchange-secmod-rsa.service taler-exchange-secmod-cs.service \
  && systemctl enable swift-secmod-eddsa.service swift-secmod-rsa.service swift-secmod-cs.service \
  && systemctl restart taler-exchange.target
check "the takeover step succeeds" equals "$?" 0
for helper in eddsa rsa cs; do
    check "taler-exchange-secmod-$helper.service is now ours" \
        equals "$(systemctl show -P Id taler-exchange-secmod-$helper.service)" swift-secmod-$helper.service
    check "swift-secmod-$helper.service is running" equals "$(systemctl is-active swift-secmod-$helper.service)" active
    check "its process is our helper" equals "$(main_exe swift-secmod-$helper.service)" /usr/lib/swift-secmod/bin/taler-exchange-secmod-$helper
    check "its socket speaks Taler's stream transport" \
        equals "$(unix_socket_type swift-secmod-$helper.service /run/taler/exchange-secmod-$helper/server.sock)" 0001
    check "secmod signs through the $helper helper as the exchange's user" signed $helper taler-exchange-httpd
    check "nobody cannot sign through the $helper helper" refused $helper nobody
done
check "the exchange runs on our helpers" equals "$(systemctl is-active taler-exchange-httpd.service)" active
check "the journal has the helpers' start at notice priority" \
    sh -c 'journalctl -q -b -u swift-secmod-eddsa.service -p notice -o cat | grep -q .'

# Back to Taler's helpers (docs/debian.md).
systemctl stop swift-secmod-eddsa.service swift-secmod-rsa.service swift-secmod-cs.service \
  && systemctl disable swift-secmod-eddsa.service swift-secmod-rsa.service swift-secmod-cs.service \
  && systemctl restart taler-exchange.target
check "the hand-back step succeeds" equals "$?" 0
for helper in eddsa rsa cs; do
    check "taler-exchange-secmod-$helper.service is Taler's again" \
        equals "$(fragment taler-exchange-secmod-$helper.service)" /lib/systemd/system/taler-exchange-secmod-$helper.service
done
# The stand-in exchange requires the EdDSA and RSA helpers (as Taler 0.9.2's unit does).
for helper in eddsa rsa; do
    check "Taler's $helper helper runs again" equals "$(systemctl is-active taler-exchange-secmod-$helper.service)" active
done

# Taken over, then the package removed: the names go back to Taler.
systemctl stop taler-exchange-secmod-eddsa.service taler-exchange-secmod-rsa.service taler-exchange-secmod-cs.service \
  && systemctl enable swift-secmod-eddsa.service swift-secmod-rsa.service swift-secmod-cs.service \
  && systemctl restart taler-exchange.target
DEBIAN_FRONTEND=noninteractive apt-get remove -y -q swift-secmod > /tmp/remove.out 2>&1
check "apt-get remove swift-secmod succeeds" equals "$?" 0
check "no alias is left behind" sh -c '! test -L /etc/systemd/system/taler-exchange-secmod-rsa.service && ! test -L /etc/systemd/system/taler-exchange-secmod-eddsa.service && ! test -L /etc/systemd/system/taler-exchange-secmod-cs.service'
systemctl restart taler-exchange.target
for helper in eddsa rsa; do
    check "after removal, Taler's $helper helper serves its name and runs" \
        sh -c "[ \"\$(systemctl show -P FragmentPath taler-exchange-secmod-$helper.service)\" = /lib/systemd/system/taler-exchange-secmod-$helper.service ] && systemctl -q is-active taler-exchange-secmod-$helper.service"
done
check "the stand-in exchange runs on Taler's helpers" equals "$(systemctl is-active taler-exchange-httpd.service)" active

[ "$failures" -eq 0 ]
