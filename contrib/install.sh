#!/usr/bin/env bash
# Installs the helpers and the secmod tool under a prefix, in the layout Taler's programs
# expect: <prefix>/bin/taler-exchange-secmod-{eddsa,rsa}, <prefix>/bin/secmod, and the
# default configuration in <prefix>/share/taler/config.d/, where the helpers (and Taler's
# own programs, through TALER_PREFIX) find it. Then the systemd files of contrib/systemd:
#   units      /etc/systemd/system/ (/usr/lib/systemd/system/ when the prefix is /usr),
#              with ExecStart= pointing at <prefix>/bin
#   sysusers.d /etc/sysusers.d/swift-secmod.conf (/usr/lib/sysusers.d/ for /usr)
#   tmpfiles.d /etc/tmpfiles.d/swift-secmod.conf (/usr/lib/tmpfiles.d/ for /usr)
#   /etc/taler/taler.conf, only if there is none (an existing one is never touched)
# and the manual pages (<prefix>/share/man) and secmod's bash, zsh and fish completions.
#
# Usage: contrib/install.sh [--prefix /usr/local] [--destdir DIR] [--no-build] [--skip-deps] [--package]
#   --destdir DIR  stage everything under DIR (packaging, CI); nothing on the host changes
#   --package      the Debian package's layout (debian/rules; needs --destdir), made to sit
#                  beside Taler's own taler-exchange package without sharing a file with it:
#                  the helpers in <prefix>/lib/swift-secmod/bin/, the units named
#                  swift-secmod-{eddsa,rsa}.service with Alias=taler-exchange-secmod-*.service
#                  (enabling them takes over Taler's unit names: docs/debian.md), no paths.conf
#                  and no /etc/taler/taler.conf (an example goes to share/doc/swift-secmod/)
#   --no-build     install the binaries an earlier 'swift build -c release --static-swift-stdlib' left
#   --skip-deps    do not check for (or install) the Debian build dependencies
# SECMOD_SCRATCH, if set, is passed to swift build as --scratch-path.
#
# Without --destdir, run as root, it also creates the users and group (systemd-sysusers, or
# groupadd/useradd where there is none), runs systemd-tmpfiles --create on its file, and
# systemctl daemon-reload if systemd is running. It never starts or enables a service: it
# prints the command for that. Running it again changes nothing but the installed files.
#
# Our defaults are installed as swift-secmod-*.conf so that they never overwrite Taler's
# own files; paths.conf is installed only where none exists.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=/usr/local
destdir=""
build=yes
deps=yes
package=no
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
        --prefix=*) prefix="${1#*=}"; shift ;;
        --destdir) destdir="${2:?--destdir needs a directory}"; shift 2 ;;
        --destdir=*) destdir="${1#*=}"; shift ;;
        --no-build) build=no; shift ;;
        --skip-deps) deps=no; shift ;;
        --package) package=yes; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
prefix="${prefix%/}"
case "$prefix" in
    /*) ;;
    *) echo "--prefix must be an absolute path, not '$prefix'" >&2; exit 2 ;;
esac
# The prefix ends up in ExecStart= and in a sed replacement.
if [[ "$prefix" =~ [^A-Za-z0-9/._+-] ]]; then
    echo "--prefix '$prefix' has characters a unit's ExecStart= would need quoted; use a plain path" >&2
    exit 2
fi
if [ "$package" = yes ] && [ -z "$destdir" ]; then
    echo "--package stages files for dpkg: it needs --destdir" >&2
    exit 2
fi
if [ -n "$destdir" ]; then
    mkdir -p "$destdir"
    destdir="$(cd "$destdir" && pwd)"
    [ "$destdir" != / ] || destdir=""
fi

if [ "$deps" = yes ]; then
    source contrib/deps.sh
    secmod_install_deps
fi
command -v swift >/dev/null || export PATH="$PATH:/opt/swift/usr/bin"
# The Swift runtime goes inside each binary, so that the installed programs run on a host
# without the toolchain and need only Debian's libraries (contrib/check-systemd.sh checks).
scratch=(--static-swift-stdlib)
[ -z "${SECMOD_SCRATCH:-}" ] || scratch+=(--scratch-path "$SECMOD_SCRATCH")
programs=(taler-exchange-secmod-eddsa taler-exchange-secmod-rsa taler-exchange-secmod-cs secmod secmod-agent)
if [ "$build" = yes ]; then
    for program in "${programs[@]}"; do
        swift build -c release "${scratch[@]}" --product "$program"
    done
fi
bin="$(swift build -c release "${scratch[@]}" --show-bin-path)"
for program in "${programs[@]}"; do
    [ -x "$bin/$program" ] || { echo "$bin/$program is missing: build it (swift build -c release --static-swift-stdlib) or drop --no-build" >&2; exit 1; }
done

root="$destdir$prefix"
# Where the helpers go: Taler's package has /usr/bin/taler-exchange-secmod-*, so ours keep
# their names (Taler's tests and tools know them) in a directory of their own. They find the
# defaults in <prefix>/share/taler/config.d from there too (TalerConfiguration).
helperbin="$prefix/bin"
[ "$package" = no ] || helperbin="$prefix/lib/swift-secmod/bin"
install -d -m 0755 "$root/bin" "$destdir$helperbin" "$root/share/taler/config.d"
for program in "${programs[@]}"; do
    case "$program" in
        secmod|secmod-agent) install -m 0755 "$bin/$program" "$root/bin/$program" ;;
        *) install -m 0755 "$bin/$program" "$destdir$helperbin/$program" ;;
    esac
done
# Installed next to a Taler exchange, the helpers serve the transport Taler's exchange speaks
# (stream; it fails with "Protocol wrong type for socket" on a datagram socket). The bare
# binaries and the repository's defaults keep dgram (docs/spec/dgram-transport.md);
# secmod reads the same SOCKET_TYPE, so it follows. Set SOCKET_TYPE = dgram in
# /etc/taler/taler.conf for clients that speak the datagram transport.
for helper in eddsa rsa cs; do
    sed -e 's/^SOCKET_TYPE = dgram$/# Installed by contrib\/install.sh: stream, as Taler'"'"'s exchange connects.\nSOCKET_TYPE = stream/' \
        "etc/config.d/taler-exchange-secmod-$helper.conf" > "$root/share/taler/config.d/swift-secmod-$helper.conf.tmp"
    grep -qx 'SOCKET_TYPE = stream' "$root/share/taler/config.d/swift-secmod-$helper.conf.tmp" \
        || { echo "etc/config.d/taler-exchange-secmod-$helper.conf: no SOCKET_TYPE = dgram to rewrite" >&2; exit 1; }
    chmod 0644 "$root/share/taler/config.d/swift-secmod-$helper.conf.tmp"
    mv -f "$root/share/taler/config.d/swift-secmod-$helper.conf.tmp" "$root/share/taler/config.d/swift-secmod-$helper.conf"
done
# paths.conf is Taler's own file name; the package leaves it to Taler (the helpers carry a
# compiled-in copy).
[ "$package" = yes ] || [ -e "$root/share/taler/config.d/paths.conf" ] \
    || install -m 0644 etc/config.d/paths.conf "$root/share/taler/config.d/paths.conf"
# Manual pages and shell completions (secmod prints its own completion scripts).
install -d -m 0755 "$root/share/man/man1" "$root/share/man/man8" "$root/share/bash-completion/completions" \
    "$root/share/zsh/site-functions" "$root/share/fish/vendor_completions.d"
install -m 0644 docs/man/secmod.1 "$root/share/man/man1/secmod.1"
install -m 0644 docs/man/taler-exchange-secmod-eddsa.8 docs/man/taler-exchange-secmod-rsa.8 docs/man/taler-exchange-secmod-cs.8 docs/man/secmod-agent.8 "$root/share/man/man8/"
"$bin/secmod" --generate-completion-script bash > "$root/share/bash-completion/completions/secmod"
"$bin/secmod" --generate-completion-script zsh > "$root/share/zsh/site-functions/_secmod"
"$bin/secmod" --generate-completion-script fish > "$root/share/fish/vendor_completions.d/secmod.fish"
echo "installed the programs into $root/bin and $destdir$helperbin, the defaults into $root/share/taler/config.d, manual pages and completions"

# systemd: a distribution's prefix (/usr) gets the vendor directories, anything else the
# administrator's, which also take precedence over a Taler package's units of the same name.
if [ "$package" = yes ]; then
    # Debian 12's debhelper (13.11) looks for a package's units in /lib/systemd/system only.
    unitdir=/lib/systemd/system sysusersdir=/usr/lib/sysusers.d tmpfilesdir=/usr/lib/tmpfiles.d
elif [ "$prefix" = /usr ]; then
    unitdir=/usr/lib/systemd/system sysusersdir=/usr/lib/sysusers.d tmpfilesdir=/usr/lib/tmpfiles.d
else
    unitdir=/etc/systemd/system sysusersdir=/etc/sysusers.d tmpfilesdir=/etc/tmpfiles.d
fi
install -d -m 0755 "$destdir$unitdir" "$destdir$sysusersdir" "$destdir$tmpfilesdir"
[ "$package" = yes ] || install -d -m 0755 "$destdir/etc/taler"
units=()
for helper in eddsa rsa cs; do
    source_unit="taler-exchange-secmod-$helper.service" unit="taler-exchange-secmod-$helper.service"
    [ "$package" = no ] || unit="swift-secmod-$helper.service"
    sed -E "s#^ExecStart=[^ ]*/bin/(taler-exchange-secmod-$helper)( |\$)#ExecStart=$helperbin/\1\2#" \
        "contrib/systemd/$source_unit" > "$destdir$unitdir/$unit.tmp"
    grep -q "^ExecStart=$helperbin/taler-exchange-secmod-$helper " "$destdir$unitdir/$unit.tmp" \
        || { echo "contrib/systemd/$source_unit: no ExecStart= to rewrite" >&2; rm -f "$destdir$unitdir/$unit.tmp"; exit 1; }
    if [ "$package" = yes ]; then
        # Enabled, the unit also answers to Taler's name: the alias symlink in
        # /etc/systemd/system shadows Taler's unit in /usr/lib, so taler-exchange.target and
        # the exchange's Requires= start ours. Disabling it hands the name back.
        printf '%s\n' "# Enabling this unit takes over Taler's unit name (docs/debian.md); disabling it gives it back." \
            "Alias=$source_unit" >> "$destdir$unitdir/$unit.tmp"
    fi
    chmod 0644 "$destdir$unitdir/$unit.tmp"
    mv -f "$destdir$unitdir/$unit.tmp" "$destdir$unitdir/$unit"
    units+=("$unit")
done
# secmod-agent's unit has one name everywhere (nothing of Taler's to take over); it is
# never enabled by installing.
sed -E "s#^ExecStart=[^ ]*/bin/secmod-agent( |\$)#ExecStart=$prefix/bin/secmod-agent\1#" \
    contrib/systemd/secmod-agent.service > "$destdir$unitdir/secmod-agent.service.tmp"
grep -q "^ExecStart=$prefix/bin/secmod-agent " "$destdir$unitdir/secmod-agent.service.tmp" \
    || { echo "contrib/systemd/secmod-agent.service: no ExecStart= to rewrite" >&2; exit 1; }
chmod 0644 "$destdir$unitdir/secmod-agent.service.tmp"
mv -f "$destdir$unitdir/secmod-agent.service.tmp" "$destdir$unitdir/secmod-agent.service"
units+=(secmod-agent.service)
sysusers="$sysusersdir/swift-secmod.conf" tmpfiles="$tmpfilesdir/swift-secmod.conf"
install -m 0644 contrib/systemd/swift-secmod.sysusers.conf "$destdir$sysusers"
install -m 0644 contrib/systemd/swift-secmod.tmpfiles.conf "$destdir$tmpfiles"
if [ "$package" = yes ]; then
    # /etc/taler/taler.conf belongs to Taler's package; ours ships the example.
    install -d -m 0755 "$root/share/doc/swift-secmod/examples"
    install -m 0644 contrib/systemd/taler.conf "$root/share/doc/swift-secmod/examples/taler.conf"
    install -m 0644 contrib/systemd/secmod-agent.conf "$root/share/doc/swift-secmod/examples/secmod-agent.conf"
elif [ -e "$destdir/etc/taler/taler.conf" ]; then
    echo "kept the existing $destdir/etc/taler/taler.conf: it must set TALER_RUNTIME_DIR = /run/taler/ and TALER_DATA_HOME = /var/lib/taler/ in [PATHS] (see contrib/systemd/taler.conf)"
else
    install -m 0644 contrib/systemd/taler.conf "$destdir/etc/taler/taler.conf"
    echo "wrote $destdir/etc/taler/taler.conf"
fi
if [ "$package" = no ]; then
    if [ -e "$destdir/etc/secmod/agent.conf" ]; then
        echo "kept the existing $destdir/etc/secmod/agent.conf"
    else
        install -d -m 0755 "$destdir/etc/secmod"
        install -m 0644 contrib/systemd/secmod-agent.conf "$destdir/etc/secmod/agent.conf"
        echo "wrote $destdir/etc/secmod/agent.conf (secmod-agent's, with no keys configured yet)"
    fi
fi
echo "installed the units into $destdir$unitdir, $destdir$sysusers and $destdir$tmpfiles"

if [ -n "$destdir" ]; then
    echo "staged under $destdir: create the users (systemd-sysusers $sysusers) and run systemd-tmpfiles --create $tmpfiles on the target"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "not root: create the users with 'systemd-sysusers $sysusers' and run 'systemd-tmpfiles --create $tmpfiles' as root" >&2
    exit 0
fi

# The users and the group, as the sysusers.d file describes them.
if command -v systemd-sysusers >/dev/null; then
    systemd-sysusers "$sysusers"
else
    group=taler-exchange-secmod
    nologin="$(command -v nologin || echo /usr/sbin/nologin)"
    getent group "$group" >/dev/null || groupadd --system "$group"
    for helper in eddsa rsa cs; do
        user="taler-exchange-secmod-$helper"
        getent passwd "$user" >/dev/null || useradd --system --gid "$group" --no-create-home \
            --home-dir "/var/lib/taler/exchange-secmod-$helper" --shell "$nologin" "$user"
    done
    exchange=taler-exchange-httpd
    getent passwd "$exchange" >/dev/null || useradd --system --user-group --no-create-home \
        --home-dir / --shell "$nologin" "$exchange"
    id -nG "$exchange" | tr ' ' '\n' | grep -qx "$group" || usermod --append --groups "$group" "$exchange"
fi
if command -v systemd-tmpfiles >/dev/null; then
    systemd-tmpfiles --create "$tmpfiles"
else
    install -d -m 0755 /run/taler /var/lib/taler
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    echo "to start the helpers now and at boot: systemctl enable --now ${units[*]}"
else
    echo "systemd is not running here; where it is: systemctl daemon-reload && systemctl enable --now ${units[*]}"
fi
