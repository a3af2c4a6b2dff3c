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
