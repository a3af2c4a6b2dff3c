import Logging
import SecmodBase
import SecmodCrypto
import SecmodKeys
import SecmodServer
import SecmodSystem
import SecmodWire

/// A key the agent serves: configured (`[secmod-agent-key-NAME]`), or added by a client
/// when `ALLOW_ADD = yes`. Immutable once made; shared by the loop and the workers.
public final class AgentKey: Sendable {
    public let name: String
    public let publicKey: SSHPublicKey
    public let blob: [UInt8]
    public let comment: String
    public let purposes: Set<AgentPurpose>
    public let callers: CallerPolicy
    public let allowSHA1: Bool
    let stored: StoredKey
    /// Whether signing may hang (a token): such keys sign on their own workers, so that a
    /// slow token never delays keys held in memory.
    let inToken: Bool
    /// For keys a client added: the uid that added it (only it may use or remove the key)
    /// and when the key goes (µs, monotonic), if the client set a lifetime.
    let addedBy: UInt32?
    let expiresAt: UInt64?
    /// One signature counter per purpose, made on first use.
    let audit: AgentAudit?

    init(name: String, stored: StoredKey, comment: String, purposes: Set<AgentPurpose>, callers: CallerPolicy, allowSHA1: Bool,
         inToken: Bool, addedBy: UInt32? = nil, expiresAt: UInt64? = nil, audit: AgentAudit?) {
        self.name = name
        self.stored = stored
        switch stored {
        case let .ed25519(signer): publicKey = .ed25519(signer.publicKey)
        case let .rsa(key):
            publicKey = .rsa(exponent: Array(key.publicKey.exponent.drop { $0 == 0 }), modulus: Array(key.publicKey.modulus.drop { $0 == 0 }))
        case let .clauseSchnorr(key):
            // Not an SSH key; ALGORITHM never names one (AgentKeySettings.algorithms).
            publicKey = .other(type: "cs25519@swift-secmod", blob: key.publicKey)
        }
        blob = publicKey.blob
        self.comment = comment
        self.purposes = purposes
        self.callers = callers
        self.allowSHA1 = allowSHA1
        self.inToken = inToken
        self.addedBy = addedBy
        self.expiresAt = expiresAt
        self.audit = audit
    }

    /// Whether `caller` may see and use the key.
    func admits(_ caller: PeerCredentials) -> Bool {
        if let addedBy { return caller.uid == addedBy }
        return callers.admits(caller)
    }

    /// The SSH signature scheme a SIGN_REQUEST's flags ask for on this key, or why not.
    func scheme(flags: AgentSignFlags) -> Result<SSHSignatureScheme, AgentRefusal> {
        switch stored {
        case .ed25519: return .success(.ed25519)
        case .rsa:
            // OpenSSH's order: SHA-256 if asked for, else SHA-512, else legacy SHA-1.
            if flags.contains(.rsaSHA256) { return .success(.rsaSHA256) }
            if flags.contains(.rsaSHA512) { return .success(.rsaSHA512) }
            return allowSHA1 ? .success(.rsaSHA1) : .failure(.sha1NotAllowed)
        case .clauseSchnorr: return .failure(.unsupported)
        }
    }

    /// Signs `data` (a worker's job; may block on a token). The signature is checked before
    /// it is returned, whatever holds the key.
    func sign(_ data: [UInt8], scheme: SSHSignatureScheme) throws(SecmodError) -> SSHSignature {
        switch (stored, scheme) {
        case let (.ed25519(signer), .ed25519):
            return SSHSignature(algorithm: scheme.algorithm, bytes: try signer.sign(data))
        case let (.rsa(key), _):
            return SSHSignature(algorithm: scheme.algorithm, bytes: try RsaPkcs1Signature.sign(data, digest: scheme.digest, key: key))
        default:
            throw SecmodError(.crypto, "key \(name) cannot make \(scheme.algorithm) signatures")
        }
    }

    /// The Ed25519 key itself, if it is held in this process (blinding needs its scalar).
    var blindable: Ed25519PrivateKey? {
        if case let .ed25519(signer) = stored { return signer as? Ed25519PrivateKey }
        return nil
    }
}

/// The SSH signature algorithms the agent makes.
enum SSHSignatureScheme: Sendable {
    case ed25519, rsaSHA256, rsaSHA512, rsaSHA1

    var algorithm: String {
        switch self {
        case .ed25519: "ssh-ed25519"
        case .rsaSHA256: "rsa-sha2-256"
        case .rsaSHA512: "rsa-sha2-512"
        case .rsaSHA1: "ssh-rsa"
        }
    }

    var digest: Digest {
        switch self {
        case .rsaSHA256: .sha256
        case .rsaSHA512: .sha512
        case .rsaSHA1: .sha1
        case .ed25519: .sha512
        }
    }
}

/// A configured key's signature counters, one per purpose it signed for (`AUDIT_DIR`,
/// `<NAME>.<purpose>.count`), each counted durably before its signature leaves.
final class AgentAudit: Sendable {
    private let directory: AuditDirectory
    private let section: String
    private let name: String
    private let block: UInt64
    private let logger: Logger
    private let counters = Locked<[AgentPurpose: AuditCounter]>([:])

    init(directory: AuditDirectory, section: String, name: String, block: UInt64, logger: Logger) {
        self.directory = directory
        self.section = section
        self.name = name
        self.block = block
        self.logger = logger
    }

    func counter(_ purpose: AgentPurpose) -> AuditCounter {
        counters.withLock { table in
            if let existing = table[purpose] { return existing }
            let counter = AuditCounter(directory: directory, section: section, anchor: 0, key: "\(name).\(purpose.auditLabel)",
                                       block: block, logger: logger)
            table[purpose] = counter
            return counter
        }
    }

    /// Signatures so far per purpose, for logs and tests.
    var counts: [AgentPurpose: UInt64] {
        counters.withLock { table in table.compactMapValues { $0.signatures?.count } }
    }

    func closeAll() {
        for counter in counters.withLock({ Array($0.values) }) { counter.close() }
    }
}
