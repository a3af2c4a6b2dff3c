#!/usr/bin/env bash
# Builds the helpers in release, runs taler-exchange-secmod-eddsa on a demo configuration
# in a temporary directory, lists its keys, signs a message, verifies the signature,
# revokes a key, and stops the helper cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
source contrib/deps.sh
secmod_install_deps

echo "== building (release)"
swift build -c release --product taler-exchange-secmod-eddsa >/dev/null
swift build -c release --product secmod >/dev/null
bin="$(swift build -c release --show-bin-path)"

demo="$(mktemp -d /tmp/secmod-demo.XXXXXX)"
export TALER_TEST_HOME="$demo/home/" TMPDIR="$demo/run"
mkdir -p "$TMPDIR"
helper_pid=""
cleanup() {
    [ -n "$helper_pid" ] && kill "$helper_pid" 2>/dev/null || true
    rm -rf "$demo"
}
trap cleanup EXIT

echo "== starting taler-exchange-secmod-eddsa -c etc/demo.conf (files under $demo)"
"$bin/taler-exchange-secmod-eddsa" -c etc/demo.conf -L MESSAGE -l "$demo/helper.log" &
helper_pid=$!
for _ in $(seq 100); do
    "$bin/secmod" keys -c etc/demo.conf --timeout 1 >/dev/null 2>&1 && break
    sleep 0.1
done

echo "== secmod keys"
"$bin/secmod" keys -c etc/demo.conf

echo "== secmod sign --purpose 0 <<< 'Hello, Taler'"
printf 'Hello, Taler' | "$bin/secmod" sign -c etc/demo.conf --purpose 0 | tee "$demo/sig"
pub=$(awk '$1=="public_key"{print $2}' "$demo/sig")
sig=$(awk '$1=="signature"{print $2}' "$demo/sig")

echo "== secmod verify"
printf 'Hello, Taler' | "$bin/secmod" verify --purpose 0 --public-key "$pub" --signature "$sig"
if printf 'Hello, Tal3r' | "$bin/secmod" verify --purpose 0 --public-key "$pub" --signature "$sig" 2>/dev/null; then
    echo "a tampered message verified: demo FAILED" >&2; exit 1
fi
echo "(a tampered message is rejected)"

echo "== secmod revoke (the key that signed)"
"$bin/secmod" revoke -c etc/demo.conf --public-key "$pub"
printf 'Hello, Taler' | "$bin/secmod" sign -c etc/demo.conf --purpose 0 | head -1

echo "== stopping the helper (SIGTERM)"
kill -TERM "$helper_pid"
status=0; wait "$helper_pid" || status=$?
helper_pid=""
echo "helper exited with status $status; socket removed: $([ -e "$demo/run/taler-system-runtime/exchange-secmod-eddsa/server.sock" ] && echo no || echo yes)"
echo "== helper log"
cat "$demo/helper.log"
[ "$status" -eq 0 ]
