#!/usr/bin/env bash
# Builds the helpers in release and runs both on a demo configuration in a temporary
# directory: lists their keys, signs, verifies, revokes, stops them cleanly and prints the
# signature audit counters.
#
# SECMOD_DEMO_BIN=DIR runs the programs already in DIR (an installation) and builds and
# installs nothing: contrib/check-systemd.sh runs the demo that way with the Swift
# toolchain hidden, to show that installed programs need only Debian's libraries.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${SECMOD_DEMO_BIN:-}" ]; then
    bin="$SECMOD_DEMO_BIN"
else
    source contrib/deps.sh
    secmod_install_deps
    echo "== building (release, the Swift runtime linked in)"
    for program in taler-exchange-secmod-eddsa taler-exchange-secmod-rsa secmod; do
        swift build -c release --static-swift-stdlib --product $program >/dev/null
    done
    bin="$(swift build -c release --static-swift-stdlib --show-bin-path)"
fi
secmod="$bin/secmod"

demo="$(mktemp -d /tmp/secmod-demo.XXXXXX)"
export TALER_TEST_HOME="$demo/home/" TMPDIR="$demo/run"
mkdir -p "$TMPDIR"
pids=()
# The helpers refuse root (their keys would be open to everything root runs). A demo in a
# root container says so on purpose; in production each helper has its own user.
allow_root=""
[ "$(id -u)" -ne 0 ] || allow_root="--allow-root"
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$demo"
}
trap cleanup EXIT

for helper in eddsa rsa; do
    echo "== starting taler-exchange-secmod-$helper -c etc/demo.conf (files under $demo)"
    "$bin/taler-exchange-secmod-$helper" -c etc/demo.conf -L MESSAGE -l "$demo/$helper.log" $allow_root &
    pids+=($!)
done
for helper in eddsa rsa; do
    for _ in $(seq 300); do
        "$secmod" keys --helper $helper -c etc/demo.conf --timeout 1 >/dev/null 2>&1 && break
        sleep 0.1
    done
done

field() { awk -v f="$1" '$1==f {print $2}' "$2"; }

echo
echo "== EdDSA: secmod keys --helper eddsa"
"$secmod" keys --helper eddsa -c etc/demo.conf
echo "== secmod sign --helper eddsa --purpose 0  <<< 'Hello, Taler'"
printf 'Hello, Taler' | "$secmod" sign --helper eddsa -c etc/demo.conf --purpose 0 | tee "$demo/eddsa.sig"
pub=$(field public_key "$demo/eddsa.sig"); sig=$(field signature "$demo/eddsa.sig")
echo "== secmod verify"
printf 'Hello, Taler' | "$secmod" verify --purpose 0 --public-key "$pub" --signature "$sig"
if printf 'Hello, Tal3r' | "$secmod" verify --purpose 0 --public-key "$pub" --signature "$sig" 2>/dev/null; then
    echo "a tampered message verified: demo FAILED" >&2; exit 1
fi
echo "(a tampered message is rejected)"
echo "== secmod revoke --helper eddsa (the key that signed): PURGE, then a successor"
"$secmod" revoke --helper eddsa -c etc/demo.conf --key "$pub"
printf 'Hello, Taler' | "$secmod" sign --helper eddsa -c etc/demo.conf --purpose 0 | head -2 | tail -1

echo
echo "== RSA: secmod keys --helper rsa"
"$secmod" keys --helper rsa -c etc/demo.conf
echo "== secmod sign --helper rsa  <<< 'Hello, Taler'  (the input is the blinded envelope, an integer below n)"
printf 'Hello, Taler' | "$secmod" sign --helper rsa -c etc/demo.conf | tee "$demo/rsa.sig" | grep -v public_key
pub=$(field public_key "$demo/rsa.sig"); sig=$(field signature "$demo/rsa.sig"); hash=$(field h_rsa "$demo/rsa.sig")
echo "== secmod verify --helper rsa (s^e mod n = m)"
printf 'Hello, Taler' | "$secmod" verify --helper rsa --public-key "$pub" --signature "$sig"
if printf 'Hello, Tal3r' | "$secmod" verify --helper rsa --public-key "$pub" --signature "$sig" 2>/dev/null; then
    echo "a tampered envelope verified: demo FAILED" >&2; exit 1
fi
echo "(a tampered envelope is rejected)"
echo "== secmod revoke --helper rsa (the key that signed)"
"$secmod" revoke --helper rsa -c etc/demo.conf --key "$hash"
if printf 'Hello, Taler' | "$secmod" sign --helper rsa -c etc/demo.conf --key "$hash" 2>&1; then
    echo "a revoked key signed: demo FAILED" >&2; exit 1
fi
echo "(the revoked key is no longer announced; a client that still names it gets code 1005)"

echo
echo "== stopping the helpers (SIGTERM)"
status=0
for i in "${!pids[@]}"; do
    kill -TERM "${pids[$i]}"
    s=0; wait "${pids[$i]}" || s=$?
    echo "helper ${pids[$i]} exited with status $s"
    [ "$s" -eq 0 ] || status=1
done
pids=()
echo
echo "== secmod audit: signatures per key, exact after the clean stop (revoked keys marked)"
"$secmod" audit -c etc/demo.conf
for helper in eddsa rsa; do
    echo "-- $helper log"
    cat "$demo/$helper.log"
done
exit $status
