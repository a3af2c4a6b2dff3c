import SecmodBase
import SecmodConfig
import SecmodKeys
import SecmodSystem
import SecmodWire

/// Options every helper reads from its own section (wire.md §9.1, dgram-transport.md).
public struct HelperSettings: Sendable {
    public enum SocketType: String, Sendable { case dgram, stream }

    public let section: String
    public let unixPath: String
    public let keyDirectory: String
    public let securityModuleKeyPath: String
    public let overlap: RelativeTime
    public let lookahead: RelativeTime
    public let socketType: SocketType
    public let workers: Int
    public let sessionOutboxMessages: Int
    public let sessionOutboxBytes: Int
    public let sessionBlockedTimeout: UInt64
    public let sessionSendBuffer: Int
    /// Signatures one session may have queued or in progress; at the bound the helper stops
    /// reading that session until replies drain (backpressure, nothing dropped).
    public let sessionMaxInflight: Int
    public let sessionMaxInflightBytes: Int
    public let maxInflightBytes: Int
    /// How long a stop may spend sending replies that are ready, in µs.
    public let shutdownTimeout: UInt64
    /// Obsolete options the configuration sets: accepted, ignored, and warned about at start.
    public let obsoleteOptions: [String]
    public let maxSessions: Int
    public let callers: CallerPolicy
    public let auditDirectory: String
    public let auditBlock: UInt64
    /// `KEY_STORE`: where new keys are made (`file`, the default, or `pkcs11`).
    public let keyStore: KeyStores.Kind
    /// `SM_KEY_STORE`: where the security module key is made if it does not exist yet.
    public let securityModuleKeyStore: KeyStores.Kind
    /// `PKCS11_MODULE`, `PKCS11_TOKEN`, `PKCS11_PIN_FILE`; nil when no module is configured.
    public let pkcs11: Pkcs11Settings?
    /// `REQUEST_TIMEOUT` in µs, 0 for none: a request not answered in that time gets a
    /// failure reply (the helper-unavailable code) instead of waiting on a token call that
    /// hangs. Default 10 s when a PKCS#11 token is configured, none otherwise: signing in
    /// the helper's own memory cannot hang, and a large RSA-8192 batch may take seconds.
    public let requestTimeout: UInt64
    /// `METRICS_FILE`: a Prometheus text file replaced every `metricsInterval` µs; nil: none.
    public let metricsFile: String?
    public static let metricsInterval: UInt64 = 5_000_000
    /// `-T`: µs added to every wall-clock reading (GNUnet's time travel, for tests).
    public var clockOffset: Int64 = 0
    /// `-t`: the time the first key-schedule run takes as now (µs since the epoch).
    public var startTime: UInt64?

    /// The wall clock, moved by `clockOffset`: key anchors, expiry and request times.
    public func wallNow() -> UInt64 {
        let now = Clock.wallMicroseconds()
        return clockOffset >= 0 ? now &+ UInt64(clockOffset) : now &- min(now, clockOffset.magnitude)
    }

    /// Options of Taler's helpers that we accept and do not use: a Taler configuration must
    /// load unchanged.
    static let tolerated: Set<String> = ["client_dir", "anchor_round"]
    /// Options of earlier swift-secmod versions, accepted with a warning so that old
    /// configurations still load: datagram sessions need no liveness probe since version 2
    /// of the transport (dgram-transport.md).
    static let obsolete: Set<String> = ["session_check_interval"]
    static let known: Set<String> = [
        "unixpath", "key_dir", "sm_priv_key", "overlap_duration", "lookahead_sign", "socket_type", "workers",
        "session_outbox_messages", "session_outbox_bytes", "session_blocked_timeout", "session_sndbuf", "session_max_inflight", "session_max_inflight_bytes", "max_inflight_bytes", "shutdown_timeout",
        "max_sessions", "client_users", "client_groups", "audit_dir", "audit_block", "metrics_file",
        "key_store", "sm_key_store", "pkcs11_module", "pkcs11_token", "pkcs11_pin_file", "request_timeout",
    ]

    /// Reads and checks the section. `extraOptions` are the family's own options.
    public init(configuration c: Configuration, section: String, extraOptions: Set<String> = [], workersOverride: Int? = nil) throws(SecmodError) {
        self.section = section
        for option in c.optionNames(in: section) {
            let lower = option.asciiLowercased
            guard Self.known.contains(lower) || Self.tolerated.contains(lower) || Self.obsolete.contains(lower)
                    || extraOptions.contains(lower) else {
                let at = c.location(section: section, option: option).map { "\($0): " } ?? ""
                throw SecmodError(.configValue, "\(at)[\(section)] \(option): unknown option (a typo would otherwise be ignored silently)")
            }
        }
        unixPath = FileSystem.tidyPath(try c.require(c.filename(section: section, option: "UNIXPATH"), section: section, option: "UNIXPATH"))
        keyDirectory = FileSystem.tidyPath(try c.require(c.filename(section: section, option: "KEY_DIR"), section: section, option: "KEY_DIR"))
        securityModuleKeyPath = FileSystem.tidyPath(try c.require(c.filename(section: section, option: "SM_PRIV_KEY"), section: section, option: "SM_PRIV_KEY"))
        overlap = try c.require(c.time(section: section, option: "OVERLAP_DURATION"), section: section, option: "OVERLAP_DURATION")
        lookahead = try c.require(c.time(section: section, option: "LOOKAHEAD_SIGN"), section: section, option: "LOOKAHEAD_SIGN")
        let type = try c.choice(section: section, option: "SOCKET_TYPE", among: ["dgram", "stream"]) ?? "dgram"
        socketType = SocketType(rawValue: type)!
        let configuredWorkers = try c.number(section: section, option: "WORKERS") ?? 0
        let workerCount = workersOverride.map(UInt64.init) ?? configuredWorkers
        workers = workerCount == 0 ? OSThread.availableProcessors : Int(min(workerCount, 1024))
        sessionOutboxMessages = Int(try c.number(section: section, option: "SESSION_OUTBOX_MESSAGES") ?? 8192)
        sessionOutboxBytes = Int(try c.size(section: section, option: "SESSION_OUTBOX_BYTES") ?? 8 << 20)
        sessionBlockedTimeout = (try c.time(section: section, option: "SESSION_BLOCKED_TIMEOUT") ?? RelativeTime(seconds: 10)).microseconds
        sessionSendBuffer = Int(try c.size(section: section, option: "SESSION_SNDBUF") ?? 4 << 20)
        shutdownTimeout = min((try c.time(section: section, option: "SHUTDOWN_TIMEOUT") ?? RelativeTime(seconds: 5)).microseconds, 60_000_000)
        sessionMaxInflight = Int(min(try c.number(section: section, option: "SESSION_MAX_INFLIGHT") ?? 1024, 1 << 20))
        sessionMaxInflightBytes = Int(min(try c.size(section: section, option: "SESSION_MAX_INFLIGHT_BYTES") ?? 1 << 20, 1 << 30))
        maxInflightBytes = Int(min(try c.size(section: section, option: "MAX_INFLIGHT_BYTES") ?? 64 << 20, 1 << 40))
        obsoleteOptions = c.optionNames(in: section).filter { Self.obsolete.contains($0.asciiLowercased) }.map { $0.asciiUppercased }
        maxSessions = Int(try c.number(section: section, option: "MAX_SESSIONS") ?? 4096)
        guard maxSessions >= 1, sessionOutboxMessages >= 1, sessionOutboxBytes >= 65536, sessionMaxInflight >= 1,
              sessionMaxInflightBytes >= 65536, maxInflightBytes >= 65536 else {
            throw SecmodError(.configValue, "[\(section)] MAX_SESSIONS, SESSION_OUTBOX_MESSAGES and SESSION_MAX_INFLIGHT must be at least 1; SESSION_OUTBOX_BYTES, SESSION_MAX_INFLIGHT_BYTES and MAX_INFLIGHT_BYTES at least 64 KiB")
        }
        callers = try CallerPolicy(users: c.string(section: section, option: "CLIENT_USERS"),
                                   groups: c.string(section: section, option: "CLIENT_GROUPS"), section: section)
        auditDirectory = FileSystem.tidyPath(try c.require(c.filename(section: section, option: "AUDIT_DIR"), section: section, option: "AUDIT_DIR"))
        auditBlock = try c.number(section: section, option: "AUDIT_BLOCK") ?? 4096
        guard auditBlock >= 1, auditBlock <= 1 << 32 else {
            throw SecmodError(.configValue, "[\(section)] AUDIT_BLOCK must be from 1 to 2^32 signatures")
        }
        // Empty means none: expanded as a file name, "" would become the working directory.
        if let raw = try c.string(section: section, option: "METRICS_FILE"), !raw.isEmpty {
            metricsFile = try c.filename(section: section, option: "METRICS_FILE").map(FileSystem.tidyPath)
        } else {
            metricsFile = nil
        }
        _ = try UnixAddress(path: unixPath)  // refuses paths that do not fit sun_path
        let stores = KeyStores.Kind.allCases.map(\.rawValue)
        keyStore = KeyStores.Kind(rawValue: try c.choice(section: section, option: "KEY_STORE", among: stores) ?? "file")!
        securityModuleKeyStore = KeyStores.Kind(rawValue: try c.choice(section: section, option: "SM_KEY_STORE", among: stores) ?? "file")!
        pkcs11 = try Pkcs11Settings(configuration: c, section: section)
        requestTimeout = (try c.time(section: section, option: "REQUEST_TIMEOUT")
            ?? RelativeTime(seconds: pkcs11 == nil ? 0 : 10)).microseconds
        if pkcs11 == nil, keyStore == .pkcs11 || securityModuleKeyStore == .pkcs11 {
            throw SecmodError(.configMissing, "[\(section)] KEY_STORE or SM_KEY_STORE is pkcs11, but PKCS11_MODULE, PKCS11_TOKEN and PKCS11_PIN_FILE are not all set")
        }
    }

    /// Checks that `OVERLAP_DURATION` is shorter than a key duration from `[section] option`.
    public func schedule(duration: RelativeTime, section durationSection: String, option: String) throws(SecmodError) -> KeySchedule {
        guard overlap < duration else {
            throw SecmodError(.configValue, "[\(self.section)] OVERLAP_DURATION must be shorter than [\(durationSection)] \(option)")
        }
        return KeySchedule(duration: duration, overlap: overlap, lookahead: lookahead)
    }
}
