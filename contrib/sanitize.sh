#!/usr/bin/env bash
# Runs the whole test suite under a sanitizer: contrib/sanitize.sh address|thread
# [extra swift test arguments]. Everything is built with it, including the helper
# processes the tests start, so ThreadSanitizer sees the real worker pool and event loop.
# Each sanitizer has its own scratch path (.build/asan, .build/tsan) next to the normal build.
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:?usage: contrib/sanitize.sh address|thread [swift test arguments]}"
shift
case "$kind" in
    address) scratch=.build/asan ;;
    thread) scratch=.build/tsan ;;
    *) echo "unknown sanitizer $kind (address or thread)" >&2; exit 2 ;;
esac
source contrib/deps.sh
secmod_install_deps --with-tests
export SWIFT_BACKTRACE=enable=no
# Tests that cannot hold under a sanitizer say so and are skipped (its runtime turns mlock
# into a no-op, so locked memory cannot be shown).
export SECMOD_SANITIZER="$kind"
# Make a sanitizer report fail the run instead of scrolling by: the helpers are separate
# processes, and a report there must end that helper with an error the tests notice.
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
# No LeakSanitizer: in the test runner it reports only allocations of XCTest and of
# Foundation's Process that live as long as the process (measured), which are not ours.
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
# lld: gold prints hundreds of "Cannot export local symbol" lines for the ASan runtime.
swift build --build-tests --sanitize="$kind" --scratch-path "$scratch" -Xswiftc -use-ld=lld
swift test --skip-build --sanitize="$kind" --scratch-path "$scratch" "$@"
