#!/usr/bin/env bash
# CI check of contrib/systemd, with the installed systemd's own tools, on an installation
# that contrib/install.sh stages in a temporary directory (the real release binaries, the
# units with ExecStart= rewritten to /usr/local/bin, sysusers.d, tmpfiles.d, taler.conf):
#   1. systemd-analyze verify --root=STAGE on both units: any line it prints fails the check
#   1b. the directives an operator relies on: RestartPreventExitStatus= for the helpers'
#      configuration (6), permission (4) and argument (2) errors, PartOf= and WantedBy=
#      taler-exchange.target, LimitMEMLOCK= and LimitNOFILE=
#   2. systemd-analyze security --offline=yes --root=STAGE: exposure above 2.0 fails
#   3. systemd-sysusers --root=STAGE and systemd-tmpfiles --root=STAGE --create on our
#      files: they parse, create the users, group and directories the units name, and
#      running them again changes nothing (tmpfiles leaves an existing directory's owner)
#   4. the default configuration, resolved by GNUnet's own gnunet-config with the staged
#      taler.conf, puts KEY_DIR, SM_PRIV_KEY (and AUDIT_DIR) in the units' StateDirectory=
#      and UNIXPATH in their RuntimeDirectory=
#   5. no executable stack in the helpers or their libraries (MemoryDenyWriteExecute=yes)
#   6. the installed programs load only libraries from Debian packages, and the demo runs
#      them with the Swift toolchain hidden (a mount namespace, where unshare may be used)
# It starts, enables and reloads nothing, needs no running systemd (containers are fine)
# and writes only under the temporary directory, the Swift build directory and, through
# deps.sh, the Debian packages it installs.
#
# Usage: contrib/check-systemd.sh [--no-build]
#   --no-build  use the binaries of an earlier 'swift build -c release --static-swift-stdlib'
# SECMOD_SCRATCH, if set, is the Swift build's --scratch-path (as for install.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
install_args=(--prefix /usr/local --skip-deps)
while [ $# -gt 0 ]; do
    case "$1" in
        --no-build) install_args+=(--no-build); shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
source contrib/deps.sh
secmod_install_deps --with-tests   # systemd, and gnunet-config (libgnunet-dev)
echo "== $(systemd --version | head -n 1)"

stage="$(mktemp -d /tmp/secmod-systemd.XXXXXX)"
trap 'rm -rf "$stage"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
units=(taler-exchange-secmod-eddsa.service taler-exchange-secmod-rsa.service taler-exchange-secmod-cs.service)
# secmod-agent's unit: verified, scored and its user checked like the helpers'; the Taler
# checks (taler-exchange.target, Taler's paths) are for the helpers alone.
all_units=("${units[@]}" secmod-agent.service)

echo "== staging an installation in $stage"
# verify loads each unit with its default dependencies (sysinit.target, basic.target, ...):
# the host's own units provide them, as they would on the host. Ours are installed after.
mkdir -p "$stage/usr/lib/systemd/system"
cp -a /usr/lib/systemd/system/. "$stage/usr/lib/systemd/system/"
if [ -d /lib/systemd/system ] && ! [ /lib/systemd/system -ef /usr/lib/systemd/system ]; then
    cp -a /lib/systemd/system/. "$stage/usr/lib/systemd/system/"
fi
contrib/install.sh --destdir "$stage" "${install_args[@]}"
unitdir=/etc/systemd/system sysusers=/etc/sysusers.d/swift-secmod.conf tmpfiles=/etc/tmpfiles.d/swift-secmod.conf

# Directive values as systemd reads them (the last assignment wins for these).
directive() { sed -n "s/^$2=//p" "$stage$unitdir/$1" | tail -n 1; }

echo "== systemd-analyze verify --root"
for unit in "${all_units[@]}"; do
    # Parses every directive (unknown keys and bad values are printed, not fatal), builds
    # the start transaction, checks that ExecStart='s program exists in the stage and is
    # executable. Anything printed is a failure.
    if out="$(systemd-analyze verify --root="$stage" "$unit" 2>&1)"; then rc=0; else rc=$?; fi
    if [ "$rc" -ne 0 ] || [ -n "$out" ]; then
        fail "systemd-analyze verify $unit (exit $rc):"; printf '%s\n' "$out" >&2
    else
        echo "$unit: verified, ExecStart=$(directive "$unit" ExecStart)"
    fi
done

echo "== what an operator relies on (issue: restart storms, taler-exchange.target, locked memory)"
for unit in "${units[@]}"; do
    # A configuration, permission or argument error must fail the unit at once instead of
    # restarting into the start limit; the helpers exit 6, 4 and 2 for them.
    for status in 2 4 6; do
        directive "$unit" RestartPreventExitStatus | tr ' ' '\n' | grep -qx "$status" \
            || fail "$unit: RestartPreventExitStatus= lacks $status"
    done
    directive "$unit" PartOf | tr ' ' '\n' | grep -qx taler-exchange.target || fail "$unit: not PartOf=taler-exchange.target"
    directive "$unit" WantedBy | tr ' ' '\n' | grep -qx taler-exchange.target || fail "$unit: not WantedBy=taler-exchange.target"
done
for unit in "${all_units[@]}"; do
    for status in 2 4 6; do
        directive "$unit" RestartPreventExitStatus | tr ' ' '\n' | grep -qx "$status" \
            || fail "$unit: RestartPreventExitStatus= lacks $status"
    done
    [ -n "$(directive "$unit" LimitMEMLOCK)" ] || fail "$unit: no LimitMEMLOCK="
    [ -n "$(directive "$unit" LimitNOFILE)" ] || fail "$unit: no LimitNOFILE="
done

echo "== manual pages and completions"
for page in man1/secmod.1 man8/taler-exchange-secmod-eddsa.8 man8/taler-exchange-secmod-rsa.8 man8/taler-exchange-secmod-cs.8 man8/secmod-agent.8; do
    if [ -s "$stage/usr/local/share/man/$page" ]; then echo "$page installed"; else fail "$page is not installed"; fi
done
for script in bash-completion/completions/secmod zsh/site-functions/_secmod fish/vendor_completions.d/secmod.fish; do
    grep -q takeover "$stage/usr/local/share/$script" 2>/dev/null && echo "$script installed" || fail "$script is missing or incomplete"
done

echo "== systemd-analyze security --offline=yes --root (limit 2.0)"
for unit in "${all_units[@]}"; do
    # --threshold is on systemd's internal 0-100 scale: 20 is the 2.0 it prints.
    if out="$(systemd-analyze security --offline=yes --root="$stage" --threshold=20 "$unit" 2>&1)"; then rc=0; else rc=$?; fi
    score="$(printf '%s\n' "$out" | sed -n "s/.*Overall exposure level for $unit: \([0-9.]*\).*/\1/p")"
    if [ -z "$score" ]; then
        fail "no exposure level for $unit (exit $rc):"; printf '%s\n' "$out" >&2
    elif [ "$rc" -ne 0 ] || awk -v s="$score" 'BEGIN { exit !(s > 2.0) }'; then
        fail "$unit: exposure $score (exit $rc), above 2.0:"; printf '%s\n' "$out" | grep -v '^✓' >&2
    else
        echo "$unit: exposure $score"
        printf '%s\n' "$out" | grep '^✗' | sed 's/^/    /' || true
    fi
done

echo "== systemd-sysusers --root"
# An explicit file argument is read from the host's path; --root names whose passwd is used.
if out="$(systemd-sysusers --root="$stage" "$stage$sysusers" 2>&1)"; then
    printf '%s\n' "$out" | sed 's/^/    /'
else
    fail "systemd-sysusers $sysusers:"; printf '%s\n' "$out" >&2
fi
if out="$(systemd-sysusers --root="$stage" "$stage$sysusers" 2>&1)" && [ -z "$out" ]; then
    echo "second run: nothing to do"
else
    fail "systemd-sysusers run again was not a no-op:"; printf '%s\n' "$out" >&2
fi
passwd_field() { awk -F: -v n="$1" -v f="$2" '$1 == n { print $f }' "$stage/etc/passwd"; }
group_field() { awk -F: -v n="$1" -v f="$2" '$1 == n { print $f }' "$stage/etc/group"; }
for unit in "${units[@]}"; do
    user="$(directive "$unit" User)" group="$(directive "$unit" Group)"
    gid="$(group_field "$group" 3)"
    if [ -z "$(passwd_field "$user" 1)" ]; then
        fail "$unit: User=$user is not created by $sysusers"
    elif [ -z "$gid" ]; then
        fail "$unit: Group=$group is not created by $sysusers"
    elif [ "$(passwd_field "$user" 4)" != "$gid" ]; then
        fail "$unit: $user's primary group is not $group"
    elif ! group_field "$group" 4 | tr ',' '\n' | grep -qx taler-exchange-httpd; then
        fail "taler-exchange-httpd is not a member of $group, so it cannot reach $unit's socket"
    else
        echo "$unit: User=$user, Group=$group (gid $gid), taler-exchange-httpd a member; shell $(passwd_field "$user" 7)"
    fi
done
unit=secmod-agent.service user="$(directive secmod-agent.service User)" group="$(directive secmod-agent.service Group)"
if [ -z "$(passwd_field "$user" 1)" ] || [ "$(passwd_field "$user" 4)" != "$(group_field "$group" 3)" ]; then
    fail "$unit: User=$user with primary group $group is not created by $sysusers"
else
    echo "$unit: User=$user, Group=$group (gid $(group_field "$group" 3)); shell $(passwd_field "$user" 7)"
fi

echo "== systemd-tmpfiles --root --create"
if out="$(systemd-tmpfiles --root="$stage" --create "$stage$tmpfiles" 2>&1)" && [ -z "$out" ]; then
    for d in /run/taler /var/lib/taler; do
        if [ -d "$stage$d" ]; then echo "$d: $(stat -c '%A %U:%G' "$stage$d")"; else fail "tmpfiles did not create $d"; fi
    done
    # An existing parent made by a Taler package keeps its owner and mode.
    chown 65534:65534 "$stage/var/lib/taler" && chmod 0711 "$stage/var/lib/taler"
    systemd-tmpfiles --root="$stage" --create "$stage$tmpfiles"
    if [ "$(stat -c '%a %u' "$stage/var/lib/taler")" = "711 65534" ]; then
        echo "run again on an existing /var/lib/taler of another owner: left as it was"
    else
        fail "systemd-tmpfiles changed an existing /var/lib/taler to $(stat -c '%a %U:%G' "$stage/var/lib/taler")"
    fi
else
    fail "systemd-tmpfiles --create $tmpfiles:"; printf '%s\n' "$out" >&2
fi

echo "== default paths (gnunet-config, with the staged taler.conf) against the units' directories"
config="$stage/resolved.conf"
# config.d in name order, then taler.conf: the order in which the helpers load them.
cat $(printf '%s\n' "$stage"/usr/local/share/taler/config.d/*.conf | LC_ALL=C sort) "$stage/etc/taler/taler.conf" > "$config"
for helper in eddsa rsa cs; do
    unit="taler-exchange-secmod-$helper.service" section="taler-exchange-secmod-$helper"
    state="/var/lib/$(directive "$unit" StateDirectory)" runtime="/run/$(directive "$unit" RuntimeDirectory)"
    resolve() { gnunet-config -c "$config" -s "$section" -o "$1" -f | sed -e 's|//*|/|g' -e 's|/$||'; }
    options=(KEY_DIR SM_PRIV_KEY)
    if grep -q '^AUDIT_DIR' "$stage/usr/local/share/taler/config.d/swift-secmod-$helper.conf"; then
        options+=(AUDIT_DIR)
    else
        echo "($section: no AUDIT_DIR in the defaults; not checked)"
    fi
    for option in "${options[@]}"; do
        path="$(resolve "$option")"
        case "$path" in
            "$state"/*) echo "$section $option = $path (in StateDirectory $state)" ;;
            *) fail "$section $option = '$path' is outside the unit's StateDirectory $state, which is the only place it may write" ;;
        esac
    done
    # Next to a Taler exchange the helpers must speak its transport out of the box.
    type="$(gnunet-config -c "$config" -s "$section" -o SOCKET_TYPE)"
    if [ "$type" = stream ]; then echo "$section SOCKET_TYPE = stream (Taler's exchange connects by stream)"
    else fail "$section SOCKET_TYPE = '$type' as installed; Taler's exchange speaks stream"; fi
    socket="$(resolve UNIXPATH)"
    if [ "$(dirname "$socket")" != "$runtime" ]; then
        fail "$section UNIXPATH = '$socket' is not in the unit's RuntimeDirectory $runtime"
    elif [ "${#socket}" -ge 108 ]; then
        fail "$section UNIXPATH = '$socket' is 108 bytes or longer"
    else
        echo "$section UNIXPATH = $socket (in RuntimeDirectory $runtime)"
    fi
done

echo "== executable stacks (MemoryDenyWriteExecute=yes)"
if command -v readelf >/dev/null; then
    for helper in eddsa rsa cs; do
        program="$stage/usr/local/bin/taler-exchange-secmod-$helper"
        libraries=($(ldd "$program" | awk '/=> \// { print $3 }'))
        for file in "$program" "${libraries[@]}"; do
            flags="$(readelf -lW "$file" | awk '$1 == "GNU_STACK" { print $7 }')"
            case "$flags" in
                *E*) fail "$file asks for an executable stack (GNU_STACK $flags), which MemoryDenyWriteExecute=yes refuses" ;;
            esac
        done
        echo "taler-exchange-secmod-$helper and its ${#libraries[@]} libraries: no executable stack"
    done
else
    echo "(readelf is missing: not checked)"
fi

echo "== only Debian's libraries, and no Swift toolchain needed"
# Every library the installed programs load must come from a Debian package (the Swift
# runtime is linked in: install.sh builds with --static-swift-stdlib). Then the demo runs
# the staged programs in a mount namespace where the toolchain's directory is empty.
from_debian() {
    local lib="$1"
    dpkg -S "$lib" >/dev/null 2>&1 || dpkg -S "/usr$lib" >/dev/null 2>&1 || dpkg -S "$(readlink -f "$lib")" >/dev/null 2>&1
}
for program in taler-exchange-secmod-eddsa taler-exchange-secmod-rsa taler-exchange-secmod-cs secmod secmod-agent; do
    file="$stage/usr/local/bin/$program"
    if ldd "$file" | grep -q 'not found'; then fail "$program: $(ldd "$file" | grep 'not found' | tr -s ' \t' ' ')"; fi
    libraries=($(ldd "$file" | awk '/=> \// { print $3 }'))
    foreign=()
    for lib in "${libraries[@]}"; do from_debian "$lib" || foreign+=("$lib"); done
    if [ ${#foreign[@]} -gt 0 ]; then
        fail "$program loads libraries no Debian package installed: ${foreign[*]}"
    else
        echo "$program: ${#libraries[@]} libraries, all from Debian packages"
    fi
done
# No regular-expression engine in the key holders: one String.contains(String) links
# _StringProcessing and _RegexParser (0.8 MB of code) into a binary (docs/performance.md).
for program in taler-exchange-secmod-eddsa taler-exchange-secmod-rsa taler-exchange-secmod-cs secmod-agent; do
    if nm "$stage/usr/local/bin/$program" 2>/dev/null | grep -q -E '_StringProcessing|_RegexParser'; then
        fail "$program links _StringProcessing (a String.contains(String) or a Regex crept in: use containsBytes)"
    fi
done
toolchain="$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")"
if unshare --mount --propagation private true 2>/dev/null; then
    log="$stage/demo-without-swift.log"
    # Inside: the toolchain's directory becomes an empty tmpfs, PATH loses it, and the demo
    # runs the staged binaries (SECMOD_DEMO_BIN builds nothing).
    if unshare --mount --propagation private bash -c '
        set -e
        mount -t tmpfs -o size=1m,mode=0755 secmod-no-swift "$1"
        [ -z "$(ls -A "$1")" ]
        ! PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v swift >/dev/null
        PATH=/usr/sbin:/usr/bin:/sbin:/bin SECMOD_DEMO_BIN="$2" bash contrib/demo.sh
    ' check "$toolchain" "$stage/usr/local/bin" > "$log" 2>&1; then
        echo "contrib/demo.sh with the staged binaries and $toolchain hidden: passed ($(grep -c . "$log") lines of output)"
    else
        fail "contrib/demo.sh with $toolchain hidden failed:"; tail -n 40 "$log" >&2
    fi
else
    echo "(unshare --mount is not permitted here: the run without the toolchain was skipped)"
fi

if [ "$failures" -ne 0 ]; then
    echo "== $failures check(s) failed" >&2
    exit 1
fi
echo "== all systemd checks passed"
