import SecmodBase
import SecmodWire

/// What a key may sign (`PURPOSES`), decided by parsing what is to be signed: no other agent
/// can say "this key logs in to SSH servers and signs files in namespace `file`, and
/// nothing else".
public enum AgentPurpose: Hashable, Sendable, CustomStringConvertible {
    /// An SSH `publickey` user-authentication request for this very key.
    case sshAuth
    /// An SSHSIG blob (`ssh-keygen -Y sign -n NAMESPACE`) with exactly this namespace.
    case sshsig(namespace: String)
    /// The onion-service blinding extensions only (`tor-hs-blind-sign@swift-secmod`).
    case torHS
    /// Any SIGN_REQUEST, whatever the data: for clients whose data has no structure the
    /// agent knows. Not the blinding extensions, which need `tor-hs`.
    case any

    public var description: String {
        switch self {
        case .sshAuth: "ssh-auth"
        case let .sshsig(namespace): "sshsig:\(namespace)"
        case .torHS: "tor-hs"
        case .any: "any"
        }
    }

    /// Parses one word of `PURPOSES`.
    public init?(_ word: Substring) {
        switch word {
        case "ssh-auth": self = .sshAuth
        case "tor-hs": self = .torHS
        case "any": self = .any
        default:
            guard word.hasPrefix("sshsig:") else { return nil }
            let namespace = word.dropFirst("sshsig:".count)
            guard !namespace.isEmpty, namespace.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
            self = .sshsig(namespace: String(namespace))
        }
    }

    /// Parses `PURPOSES`: words separated by spaces or commas, at least one.
    public static func parse(_ text: String, section: String) throws(SecmodError) -> Set<AgentPurpose> {
        var result = Set<AgentPurpose>()
        for word in text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" }) {
            guard let purpose = AgentPurpose(word) else {
                throw SecmodError(.configValue, "[\(section)] PURPOSES: '\(word)' is not ssh-auth, sshsig:NAMESPACE, tor-hs or any")
            }
            result.insert(purpose)
        }
        guard !result.isEmpty else { throw SecmodError(.configValue, "[\(section)] PURPOSES names no purpose") }
        return result
    }

    /// A file-name-safe label for the purpose's audit counter.
    var auditLabel: String {
        String(description.map { $0 == ":" || $0 == "/" ? "_" : $0 })
    }
}

/// What the data of a SIGN_REQUEST is, as far as purposes are concerned.
public enum SignedContent: Equatable, Sendable {
    case userAuth(SSHSignedData.UserAuthRequest)
    case sshsig(SSHSignedData.SSHSig)
    case other

    public init(_ data: [UInt8]) {
        if let sig = try? SSHSignedData.sshsig(data) {
            self = .sshsig(sig)
        } else if let request = try? SSHSignedData.userAuthRequest(data) {
            self = .userAuth(request)
        } else {
            self = .other
        }
    }
}

/// Why a request was refused, for the log line and for tests (stable codes).
public enum AgentRefusal: String, Error, Sendable, Equatable {
    case locked
    case unknownKey = "unknown-key"
    case callerNotAllowed = "caller-not-allowed"
    case purpose
    case sha1NotAllowed = "sha1-not-allowed"
    case sessionMismatch = "session-mismatch"
    case unsupported
    case malformed
    case signingFailed = "signing-failed"
    case timeout
    case notBlindable = "not-blindable"
    case backoff
    case badPassphrase = "bad-passphrase"
}

/// The purpose under which a key may sign `content`, or why not. The session rules
/// (`AgentConnectionState.userAuthRefusal`) are checked before, for every key.
func purposeAllowing(_ content: SignedContent, keyBlob: [UInt8], purposes: Set<AgentPurpose>) -> Result<AgentPurpose, AgentRefusal> {
    switch content {
    case let .userAuth(request) where purposes.contains(.sshAuth):
        if request.keyBlob == keyBlob { return .success(.sshAuth) }
    case let .sshsig(sig):
        let purpose = AgentPurpose.sshsig(namespace: sig.namespace)
        if purposes.contains(purpose) { return .success(purpose) }
    default:
        break
    }
    return purposes.contains(.any) ? .success(.any) : .failure(.purpose)
}
