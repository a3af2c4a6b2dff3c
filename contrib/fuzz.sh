#!/usr/bin/env bash
# Fuzzes the decoders of untrusted input: builds secmod-fuzz with libFuzzer and
# AddressSanitizer, then runs each target for SECONDS (default 60), starting from its seeds
# in Tests/FuzzCorpus/<target>/ and the saved crashers in Tests/FuzzCrashers/<target>/.
# Exits non-zero if any target crashed, after saying where the input is and how to replay it.
# Usage: contrib/fuzz.sh [SECONDS]
# Environment: SECMOD_FUZZ_SCRATCH, the build directory (default .build/fuzz);
# SECMOD_FUZZ_TARGETS, the targets to run (default: all, as `secmod-fuzz --list` names them).
set -euo pipefail
cd "$(dirname "$0")/.."
source contrib/deps.sh
secmod_install_deps

seconds=${1:-60}
scratch=${SECMOD_FUZZ_SCRATCH:-.build/fuzz}
export SWIFT_BACKTRACE=enable=no

# -sanitize=fuzzer also links libFuzzer's main(); SwiftPM's --defsym main=… keeps ours, which
# calls LLVMFuzzerRunDriver (Sources/CFuzzDriver). lld, because gold warns about every
# AddressSanitizer symbol it cannot export.
build_flags=(-c release --product secmod-fuzz --scratch-path "$scratch"
             -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld)
swift build "${build_flags[@]}"
fuzzer="$(swift build "${build_flags[@]}" --show-bin-path)/secmod-fuzz"

work=$(mktemp -d "${TMPDIR:-/tmp}/secmod-fuzz.XXXXXX")
keep_work=no
trap '[ "$keep_work" = yes ] || rm -rf "$work"' EXIT

targets=$("$fuzzer" --list)
failed=()
ran=0
while read -r target max_len _; do
    if [ -n "${SECMOD_FUZZ_TARGETS:-}" ] && ! [[ " $SECMOD_FUZZ_TARGETS " == *" $target "* ]]; then
        continue
    fi
    ran=$((ran + 1))
    mkdir -p "$work/$target/corpus" "$work/$target/artifacts"
    dictionary=()
    [ -f "Tests/FuzzCorpus/$target.dict" ] && dictionary=(-dict="Tests/FuzzCorpus/$target.dict")
    echo "== $target: ${seconds}s, inputs up to $max_len bytes" >&2
    status=0
    # New inputs go to the first directory; the seeds and the saved crashers are only read.
    "$fuzzer" "$target" "$work/$target/corpus" "Tests/FuzzCorpus/$target" "Tests/FuzzCrashers/$target" \
        -max_total_time="$seconds" -max_len="$max_len" -timeout=30 -rss_limit_mb=4096 \
        -artifact_prefix="$work/$target/artifacts/" -print_final_stats=1 "${dictionary[@]}" \
        </dev/null >"$work/$target/log" 2>&1 || status=$?
    # libFuzzer's last status line and its final statistics: executions, speed, coverage.
    grep -E '^#[0-9]+[[:space:]]+DONE|^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' \
        "$work/$target/log" | sed "s/^/   $target: /" >&2 || true
    artifacts=$(find "$work/$target/artifacts" -type f | sort)
    if [ "$status" -ne 0 ] || [ -n "$artifacts" ]; then
        failed+=("$target")
        keep_work=yes
        echo "!! $target failed (exit status $status); the log is $work/$target/log" >&2
        grep -E 'Fatal error|ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|SUMMARY' "$work/$target/log" | head -5 >&2 || true
        for artifact in $artifacts; do
            echo "   input: $artifact" >&2
            echo "   replay: $fuzzer $target $artifact" >&2
            echo "      or: swift run secmod-fuzz $target $artifact   (plain build, for a debugger)" >&2
            echo "   keep it as a test: cp $artifact Tests/FuzzCrashers/$target/<what-it-is>" >&2
        done
    fi
done <<<"$targets"

if [ "$ran" -eq 0 ]; then
    echo "no fuzz target matches SECMOD_FUZZ_TARGETS='${SECMOD_FUZZ_TARGETS:-}'; the targets are:" >&2
    echo "$targets" >&2
    exit 2
fi

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzzing found problems in: ${failed[*]} (inputs and logs kept in $work)" >&2
    exit 1
fi
echo "fuzzing: no crashes" >&2
