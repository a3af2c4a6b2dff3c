#!/usr/bin/env bash
# Builds the helpers in release and runs the three on a demo configuration in a temporary
# directory: lists their keys, signs, verifies, revokes, stops them cleanly and prints the
# signature audit counters. Then secmod-agent, the key vault for other programs: its keys,
# an SSHSIG file signature ssh-keygen verifies, a namespace it refuses, a blinded
# onion-service key and signature.
#
# SECMOD_DEMO_BIN=DIR runs the programs already in DIR (an installation) and builds and
# installs nothing: contrib/check-systemd.sh runs the demo that way with the Swift
# toolchain hidden, to show that installed programs need only Debian's libraries.
#
# contrib/demo.sh --pkcs11 does the same with every key, module keys included, made inside
# a SoftHSMv2 token created for the demo (Debian's softhsm2 is installed if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
pkcs11=no
[ "${1:-}" != "--pkcs11" ] || pkcs11=yes
if [ -n "${SECMOD_DEMO_BIN:-}" ]; then
    bin="$SECMOD_DEMO_BIN"
else
    source contrib/deps.sh
    secmod_install_deps
    echo "== building (release, the Swift runtime linked in)"
    for program in taler-exchange-secmod-eddsa taler-exchange-secmod-rsa taler-exchange-secmod-cs secmod-agent secmod; do
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

conf=etc/demo.conf
if [ "$pkcs11" = yes ]; then
    if ! dpkg-query -W -f='${Status}' softhsm2 2>/dev/null | grep -q "install ok installed"; then
        sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get install -y -qq softhsm2 >/dev/null
    fi
    echo "== a SoftHSMv2 token 'secmod-demo' in $demo/token; the helpers make their keys in it"
    mkdir -p "$demo/token/tokens"
    printf 'directories.tokendir = %s/token/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$demo" > "$demo/token/softhsm2.conf"
    export SOFTHSM2_CONF="$demo/token/softhsm2.conf"
    softhsm2-util --init-token --free --label secmod-demo --pin 4321 --so-pin 87654321 >/dev/null
    printf '4321\n' > "$demo/token/pin"
    chmod 0400 "$demo/token/pin"
    conf="$demo/demo-pkcs11.conf"
    {
        echo "@INLINE@ $(pwd)/etc/demo.conf"
        for helper in eddsa rsa; do
            printf '[taler-exchange-secmod-%s]\nKEY_STORE = pkcs11\nSM_KEY_STORE = pkcs11\n' "$helper"
            printf 'PKCS11_MODULE = /usr/lib/softhsm/libsofthsm2.so\nPKCS11_TOKEN = secmod-demo\nPKCS11_PIN_FILE = %s/token/pin\n' "$demo"
        done
    } > "$conf"
fi

for helper in eddsa rsa cs; do
    echo "== starting taler-exchange-secmod-$helper -c $conf (files under $demo)"
    "$bin/taler-exchange-secmod-$helper" -c "$conf" -L MESSAGE -l "$demo/$helper.log" $allow_root &
    pids+=($!)
done
for helper in eddsa rsa cs; do
    for _ in $(seq 300); do
        "$secmod" keys --helper $helper -c "$conf" --timeout 1 >/dev/null 2>&1 && break
        sleep 0.1
    done
done

field() { awk -v f="$1" '$1==f {print $2}' "$2"; }

echo
echo "== EdDSA: secmod keys --helper eddsa"
"$secmod" keys --helper eddsa -c "$conf"
echo "== secmod sign --helper eddsa --purpose 0  <<< 'Hello, Taler'"
printf 'Hello, Taler' | "$secmod" sign --helper eddsa -c "$conf" --purpose 0 | tee "$demo/eddsa.sig"
pub=$(field public_key "$demo/eddsa.sig"); sig=$(field signature "$demo/eddsa.sig")
echo "== secmod verify"
printf 'Hello, Taler' | "$secmod" verify --purpose 0 --public-key "$pub" --signature "$sig"
if printf 'Hello, Tal3r' | "$secmod" verify --purpose 0 --public-key "$pub" --signature "$sig" 2>/dev/null; then
    echo "a tampered message verified: demo FAILED" >&2; exit 1
fi
echo "(a tampered message is rejected)"
echo "== secmod revoke --helper eddsa (the key that signed): PURGE, then a successor"
"$secmod" revoke --helper eddsa -c "$conf" --key "$pub"
printf 'Hello, Taler' | "$secmod" sign --helper eddsa -c "$conf" --purpose 0 | head -2 | tail -1

echo
echo "== RSA: secmod keys --helper rsa"
"$secmod" keys --helper rsa -c "$conf"
echo "== secmod sign --helper rsa  <<< 'Hello, Taler'  (the input is the blinded envelope, an integer below n)"
printf 'Hello, Taler' | "$secmod" sign --helper rsa -c "$conf" | tee "$demo/rsa.sig" | grep -v public_key
pub=$(field public_key "$demo/rsa.sig"); sig=$(field signature "$demo/rsa.sig"); hash=$(field h_rsa "$demo/rsa.sig")
echo "== secmod verify --helper rsa (s^e mod n = m)"
printf 'Hello, Taler' | "$secmod" verify --helper rsa --public-key "$pub" --signature "$sig"
if printf 'Hello, Tal3r' | "$secmod" verify --helper rsa --public-key "$pub" --signature "$sig" 2>/dev/null; then
    echo "a tampered envelope verified: demo FAILED" >&2; exit 1
fi
echo "(a tampered envelope is rejected)"
echo "== secmod revoke --helper rsa (the key that signed)"
"$secmod" revoke --helper rsa -c "$conf" --key "$hash"
if printf 'Hello, Taler' | "$secmod" sign --helper rsa -c "$conf" --key "$hash" 2>&1; then
    echo "a revoked key signed: demo FAILED" >&2; exit 1
fi
echo "(the revoked key is no longer announced; a client that still names it gets code 1005)"

echo
echo "== Clause-Schnorr: secmod keys --helper cs"
"$secmod" keys --helper cs -c "$conf"
echo "== secmod sign --helper cs  <<< 'Hello, Taler'  (R0, R1 for a fresh nonce; then the blind signature of c0||c1 = SHA-512(input))"
printf 'Hello, Taler' | "$secmod" sign --helper cs -c "$conf" | tee "$demo/cs.sig" | grep -v public_key
pub=$(field public_key "$demo/cs.sig"); sig=$(field signature "$demo/cs.sig"); r=$(field r "$demo/cs.sig"); b=$(field b "$demo/cs.sig"); hash=$(field h_cs "$demo/cs.sig")
echo "== secmod verify --helper cs (s·B = R_b + c_b·X)"
printf 'Hello, Taler' | "$secmod" verify --helper cs --public-key "$pub" --signature "$sig" --r "$r" --b "$b"
if printf 'Hello, Tal3r' | "$secmod" verify --helper cs --public-key "$pub" --signature "$sig" --r "$r" --b "$b" 2>/dev/null; then
    echo "a tampered input verified: demo FAILED" >&2; exit 1
fi
echo "(a tampered input is rejected)"
echo "== secmod revoke --helper cs (the key that signed)"
"$secmod" revoke --helper cs -c "$conf" --key "$hash"

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
"$secmod" audit -c "$conf"
for helper in eddsa rsa cs; do
    echo "-- $helper log"
    cat "$demo/$helper.log"
done

echo
echo "== secmod-agent: keys configured with what each may sign (README, \"A key vault for tor and other programs\")"
mkdir -p "$demo/agent"
cat > "$demo/agent.conf" <<CONF
[secmod-agent]
UNIXPATH = $demo/run/agent.sock
KEY_DIR = $demo/agent/keys
AUDIT_DIR = $demo/agent/audit

[secmod-agent-key-deploy]
ALGORITHM = ed25519
PURPOSES = ssh-auth sshsig:file
COMMENT = deploy@demo

[secmod-agent-key-onion]
ALGORITHM = ed25519
PURPOSES = tor-hs
CONF
cat "$demo/agent.conf"
"$bin/secmod-agent" -c "$demo/agent.conf" -L MESSAGE -l "$demo/agent.log" $allow_root &
pids+=($!)
for _ in $(seq 300); do
    "$secmod" agent keys -c "$demo/agent.conf" --timeout 1 >/dev/null 2>&1 && break
    sleep 0.1
done
echo "== secmod agent keys"
"$secmod" agent keys -c "$demo/agent.conf"
echo "== secmod agent sign --key deploy@demo --namespace file  <<< 'Hello, agent'  (ssh-keygen -Y sign's format)"
printf 'Hello, agent' | "$secmod" agent sign -c "$demo/agent.conf" --key deploy@demo --namespace file | tee "$demo/hello.sig"
if command -v ssh-keygen >/dev/null; then
    export SSH_AUTH_SOCK="$demo/run/agent.sock"
    echo "== OpenSSH's own tools: SSH_AUTH_SOCK=$SSH_AUTH_SOCK ssh-add -L; ssh-keygen -Y verify"
    ssh-add -L
    echo "deploy@demo $(ssh-add -L | grep deploy@demo | cut -d' ' -f1-2)" > "$demo/allowed_signers"
    printf 'Hello, agent' | ssh-keygen -Y verify -f "$demo/allowed_signers" -I deploy@demo -n file -s "$demo/hello.sig"
fi
if printf 'Hello, agent' | "$secmod" agent sign -c "$demo/agent.conf" --key deploy@demo --namespace git 2>&1; then
    echo "a namespace outside the key's purposes was signed: demo FAILED" >&2; exit 1
fi
echo "(namespace git is refused: the key's PURPOSES are ssh-auth and sshsig:file)"
echo "== secmod agent blind --key onion --period 20000 --sign  <<< 'descriptor'  (tor's v3 key blinding)"
printf 'descriptor' | "$secmod" agent blind -c "$demo/agent.conf" --key onion --period 20000 --sign
echo "== stopping secmod-agent"
kill -TERM "${pids[0]}"
s=0; wait "${pids[0]}" || s=$?
pids=()
echo "secmod-agent exited with status $s"
[ "$s" -eq 0 ] || status=1
echo "-- agent log"
cat "$demo/agent.log"
exit $status
