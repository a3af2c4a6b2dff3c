#!/usr/bin/env bash
# Installs what the tests need, then runs the whole suite: unit tests and tests that start
# the real helpers as processes. Usage: contrib/test.sh [extra swift test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
source contrib/deps.sh
secmod_install_deps --with-tests
export SWIFT_BACKTRACE=enable=no
swift build --build-tests
swift test --skip-build "$@"
if [ $# -eq 0 ]; then
    # The helpers' process tests (signing, batches, revocation, expiry, restart, the crash
    # loop, libgnunetutil's checks of RSA blind signatures) once more with every helper's
    # keys in a SoftHSM token of its own (Tests/SecmodHelperTests/SoftHSM.swift).
    SECMOD_TEST_KEY_STORE=pkcs11 swift test --skip-build \
        --filter 'EddsaHelperTests|RsaHelperTests|RsaHelperInteropTests|CrashLoopTests'
fi
