#!/usr/bin/env bash
# Installs the Debian packages swift-secmod builds and tests against, if any are missing.
# Sourced by demo.sh and test.sh; safe to run again.
set -euo pipefail

# libgnunet-dev, libjansson-dev and openssl (the command) are for the tests only: openssl is
# the control of OpenSSLConfigTests; libgnunetutil and jansson (which
# taler-exchange-offline prints its documents with) are the independent referees.
# libp11-kit-dev: p11-kit's self-contained pkcs11.h, for the PKCS#11 key store's types (a
# token's library is opened at run time, nothing is linked). softhsm2 is the token the tests
# keep keys in, and opensc's pkcs11-tool the independent view of what is in it.
# openssh-client/-server and python3-paramiko (with python3-cryptography) are secmod-agent's
# independent clients: ssh-add, ssh-keygen -Y, ssh logging in to an sshd on loopback,
# paramiko's agent client, and pyca/cryptography verifying blinded onion-service signatures.
# libcurl4-openssl-dev: secmod download/upload speak HTTP(S) through FoundationNetworking,
# and linking it with the Swift runtime inside (--static-swift-stdlib) needs libcurl's
# development link; the installed program needs only libcurl4.
SECMOD_DEBIAN_PACKAGES=(pkg-config libsodium-dev libgcrypt20-dev libssl-dev nettle-dev libgmp-dev libcurl4-openssl-dev libp11-kit-dev)
SECMOD_TEST_PACKAGES=(libgnunet-dev libjansson-dev gcc systemd openssl softhsm2 opensc openssh-client openssh-server python3-paramiko python3-cryptography)

secmod_install_deps() {
    local missing=() wanted=("${SECMOD_DEBIAN_PACKAGES[@]}")
    [ "${1:-}" = "--with-tests" ] && wanted+=("${SECMOD_TEST_PACKAGES[@]}")
    for p in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing Debian packages: ${missing[*]}" >&2
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    command -v swift >/dev/null || export PATH="$PATH:/opt/swift/usr/bin"
    command -v swift >/dev/null || { echo "swift 6.1 or later is needed on PATH" >&2; exit 1; }
}
