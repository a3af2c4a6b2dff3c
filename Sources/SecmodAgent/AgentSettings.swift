import SecmodBase
import SecmodConfig
import SecmodKeys
import SecmodServer
import SecmodSystem

/// `[secmod-agent]` (docs/spec/agent.md §3): where the agent listens and keeps its keys,
/// and the engine's usual bounds.
public struct AgentSettings: Sendable {
    public static let section = "secmod-agent"
    public static let keySectionPrefix = "secmod-agent-key-"

    public let unixPath: String
    public let keyDirectory: String
    public let auditDirectory: String
    public let auditBlock: UInt64
    public let workers: Int
    /// Who may connect at all, beyond the socket file's mode; each key narrows it further.
    public let callers: CallerPolicy
    /// Connections served at once; more are accepted and closed at once, logged.
    public let maxConnections: Int
    /// Connections of one uid served at once, so that one local user cannot take them all
    /// (`MAX_CONNECTIONS_PER_USER`, default 32, at most MAX_CONNECTIONS).
    public let maxConnectionsPerUser: Int
    /// µs, 0 for none (the default without a token; 10 s with one).
    public let requestTimeout: UInt64
    public let pkcs11: Pkcs11Settings?
    /// `ALLOW_ADD`: whether ADD_IDENTITY is served (added keys live in locked memory only).
    public let allowAdd: Bool
    public let keys: [AgentKeySettings]

    static let known: Set<String> = [
        "unixpath", "key_dir", "audit_dir", "audit_block", "workers", "client_users", "client_groups", "max_connections", "max_connections_per_user",
        "request_timeout", "pkcs11_module", "pkcs11_token", "pkcs11_pin_file", "allow_add",
    ]

    public init(configuration c: Configuration, workersOverride: Int? = nil) throws(SecmodError) {
        let section = Self.section
        guard c.hasSection(section) else {
            throw SecmodError(.configMissing, "the configuration has no [\(section)] section")
        }
        try Self.refuseUnknown(c, section: section, known: Self.known)
        unixPath = FileSystem.tidyPath(try c.require(c.filename(section: section, option: "UNIXPATH"), section: section, option: "UNIXPATH"))
        _ = try UnixAddress(path: unixPath)
        keyDirectory = FileSystem.tidyPath(try c.require(c.filename(section: section, option: "KEY_DIR"), section: section, option: "KEY_DIR"))
        auditDirectory = FileSystem.tidyPath(try c.require(c.filename(section: section, option: "AUDIT_DIR"), section: section, option: "AUDIT_DIR"))
        auditBlock = try c.number(section: section, option: "AUDIT_BLOCK") ?? 4096
        guard auditBlock >= 1, auditBlock <= 1 << 32 else {
            throw SecmodError(.configValue, "[\(section)] AUDIT_BLOCK must be from 1 to 2^32 signatures")
        }
        let configuredWorkers = try c.number(section: section, option: "WORKERS") ?? 0
        let configured = workersOverride.map(UInt64.init) ?? configuredWorkers
        workers = configured == 0 ? OSThread.availableProcessors : Int(min(configured, 1024))
        callers = try CallerPolicy(users: c.string(section: section, option: "CLIENT_USERS"),
                                   groups: c.string(section: section, option: "CLIENT_GROUPS"), section: section)
        maxConnections = Int(min(try c.number(section: section, option: "MAX_CONNECTIONS") ?? 256, 65536))
        guard maxConnections >= 1 else { throw SecmodError(.configValue, "[\(section)] MAX_CONNECTIONS must be at least 1") }
        maxConnectionsPerUser = min(Int(min(try c.number(section: section, option: "MAX_CONNECTIONS_PER_USER") ?? 32, 65536)), maxConnections)
        guard maxConnectionsPerUser >= 1 else { throw SecmodError(.configValue, "[\(section)] MAX_CONNECTIONS_PER_USER must be at least 1") }
        pkcs11 = try Pkcs11Settings(configuration: c, section: section)
        // At most a day: a longer wait is no timeout, and "forever" would overflow deadlines.
        requestTimeout = min((try c.time(section: section, option: "REQUEST_TIMEOUT")
            ?? RelativeTime(seconds: pkcs11 == nil ? 0 : 10)).microseconds, 86_400_000_000)
        allowAdd = try c.yesno(section: section, option: "ALLOW_ADD") ?? false
        var keys: [AgentKeySettings] = []
        for name in c.sectionNames.sorted() where name.asciiLowercased.hasPrefix(Self.keySectionPrefix) {
            keys.append(try AgentKeySettings(configuration: c, section: name))
        }
        for key in keys where key.store == .pkcs11 && pkcs11 == nil {
            throw SecmodError(.configMissing, "[\(key.section)] KEY_STORE is pkcs11, but [\(section)] does not set PKCS11_MODULE, PKCS11_TOKEN and PKCS11_PIN_FILE")
        }
        var seen = Set<String>()
        for key in keys where !seen.insert(key.name.asciiLowercased).inserted {
            throw SecmodError(.configValue, "key name '\(key.name)' is configured twice (names are compared without case)")
        }
        self.keys = keys
    }

    static func refuseUnknown(_ c: Configuration, section: String, known: Set<String>) throws(SecmodError) {
        for option in c.optionNames(in: section) where !known.contains(option.asciiLowercased) {
            let at = c.location(section: section, option: option).map { "\($0): " } ?? ""
            throw SecmodError(.configValue, "\(at)[\(section)] \(option): unknown option (a typo would otherwise be ignored silently)")
        }
    }
}

/// One `[secmod-agent-key-NAME]` section: a key the agent holds and who may use it for what.
public struct AgentKeySettings: Sendable {
    public let section: String
    /// NAME: the key's directory under KEY_DIR and, by default, its comment.
    public let name: String
    public let algorithm: KeyAlgorithm
    public let store: KeyStores.Kind
    /// Who may see and use the key; nil lists: everyone the agent admits.
    public let callers: CallerPolicy
    public let purposes: Set<AgentPurpose>
    public let comment: String
    /// `ALLOW_SHA1`: SIGN_REQUEST flags 0 on an RSA key gets a SHA-1 `ssh-rsa` signature
    /// (OpenSSH's `ssh-add -T`, old servers). Off by default: SHA-1 signatures are forgeable
    /// by chosen-prefix collisions.
    public let allowSHA1: Bool

    static let known: Set<String> = ["algorithm", "key_store", "client_users", "client_groups", "purposes", "comment", "allow_sha1"]
    /// What ALGORITHM may say: SSH keys of today, nothing weaker.
    public static let algorithms = ["ed25519", "rsa-3072", "rsa-4096"]

    init(configuration c: Configuration, section: String) throws(SecmodError) {
        try AgentSettings.refuseUnknown(c, section: section, known: Self.known)
        self.section = section
        name = String(section.dropFirst(AgentSettings.keySectionPrefix.count))
        guard !name.isEmpty, name.count <= 64, name.utf8.allSatisfy({ c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D || c == 0x5F || c == 0x2E
        }), !name.hasPrefix(".") else {
            throw SecmodError(.configValue, "[\(section)]: a key name has 1 to 64 letters, digits, '-', '_' or '.', and does not start with '.'")
        }
        let text = try c.require(c.choice(section: section, option: "ALGORITHM", among: Self.algorithms), section: section, option: "ALGORITHM")
        algorithm = KeyAlgorithm(Substring(text))!
        store = KeyStores.Kind(rawValue: try c.choice(section: section, option: "KEY_STORE", among: KeyStores.Kind.allCases.map(\.rawValue)) ?? "file")!
        callers = try CallerPolicy(users: c.string(section: section, option: "CLIENT_USERS"),
                                   groups: c.string(section: section, option: "CLIENT_GROUPS"), section: section)
        purposes = try AgentPurpose.parse(try c.require(c.string(section: section, option: "PURPOSES"), section: section, option: "PURPOSES"),
                                          section: section)
        comment = try c.string(section: section, option: "COMMENT") ?? name
        allowSHA1 = try c.yesno(section: section, option: "ALLOW_SHA1") ?? false
        if allowSHA1, algorithm == .ed25519 {
            throw SecmodError(.configValue, "[\(section)] ALLOW_SHA1 is for RSA keys only")
        }
        if purposes.contains(.torHS), algorithm != .ed25519 || store != .file {
            throw SecmodError(.configValue, "[\(section)] PURPOSES tor-hs needs an Ed25519 key in the file store: blinding needs the secret scalar, which no PKCS#11 mechanism gives")
        }
    }
}
