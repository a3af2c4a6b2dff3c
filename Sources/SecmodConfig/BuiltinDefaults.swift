/// The files of `etc/config.d/`, compiled in, so that a helper run from a build tree or
/// installed without its data files still starts from Taler's defaults. A unit test checks
/// that this copy matches `etc/config.d/` byte for byte.
public enum BuiltinDefaults {
    public static let files: [(name: String, text: String)] = [
        ("paths.conf", #"""
# Base paths, as in GNU Taler's paths.conf (taler-exchange 0.9.2). Installed into
# <prefix>/share/taler/config.d/; Debian's taler.conf overrides TALER_RUNTIME_DIR and
# TALER_DATA_HOME to /run/taler and /var/lib/taler.
[PATHS]
TALER_HOME = ${TALER_TEST_HOME:-${HOME:-${USERPROFILE}}}
TALER_DATA_HOME = ${TALER_TEST_HOME:-${XDG_DATA_HOME:-${TALER_HOME}/.local/share/}/.local/share/}taler/
TALER_CONFIG_HOME = ${TALER_TEST_HOME:-${XDG_CONFIG_HOME:-${TALER_HOME}/.config/}/.config/}taler/
TALER_CACHE_HOME = ${TALER_TEST_HOME:-${XDG_CACHE_HOME:-${TALER_HOME}/.cache/}/.cache/}taler/
TALER_RUNTIME_DIR = ${TMPDIR:-${TMP:-/tmp}}/taler-system-runtime/
"""#),
        ("taler-exchange-secmod-eddsa.conf", #"""
# Defaults of taler-exchange-secmod-eddsa. Taler's own options keep Taler's defaults, so a
# Taler configuration resolves to the same files; the SESSION_* options, SOCKET_TYPE and
# WORKERS are swift-secmod's (see dgram-transport.md).
[taler-exchange-secmod-eddsa]
# How long consecutive online signing keys overlap.
OVERLAP_DURATION = 5m
# How far into the future signing keys are created.
LOOKAHEAD_SIGN = 1 year
# How long each online signing key is valid.
DURATION = 12 weeks
KEY_DIR = ${TALER_DATA_HOME}/exchange-secmod-eddsa/keys
UNIXPATH = $TALER_RUNTIME_DIR/exchange-secmod-eddsa/server.sock
SM_PRIV_KEY = ${TALER_DATA_HOME}/exchange-secmod-eddsa/secmod-private-key
# Unused: the DGRAM-era client directory of Taler. Clients need none here.
CLIENT_DIR = $TALER_RUNTIME_DIR/exchange-secmod-eddsa/clients
# dgram (default; dgram-transport.md) or stream (Taler 0.9.2 clients).
SOCKET_TYPE = dgram
# Signing threads; 0 means one per CPU.
WORKERS = 0
SESSION_OUTBOX_MESSAGES = 8192
SESSION_OUTBOX_BYTES = 8 MiB
SESSION_BLOCKED_TIMEOUT = 10 s
SESSION_SNDBUF = 4 MiB
SESSION_CHECK_INTERVAL = 30 s
MAX_SESSIONS = 4096
"""#),
    ]
}
