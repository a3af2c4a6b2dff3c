import SecmodBase

/// What a client asks an agent to sign, read the two ways a key's purposes allow: an SSH
/// user-authentication request and an SSHSIG blob. The agent signs only data that parses
/// completely as what the key may sign; nothing is guessed.
public enum SSHSignedData {
    /// RFC 4252 §7: the data a client signs for `publickey` authentication.
    public struct UserAuthRequest: Equatable, Sendable {
        public let sessionID: [UInt8]
        public let user: String
        public let service: String
        public let algorithm: String
        public let keyBlob: [UInt8]
    }

    /// `SSH_MSG_USERAUTH_REQUEST`.
    public static let userAuthRequestType: UInt8 = 50

    /// Parses `string session id, byte 50, string user, string service, string "publickey",
    /// boolean TRUE, string algorithm, string key blob` with nothing after it (OpenSSH adds
    /// the host key for `publickey-hostbound-v00@openssh.com`, which is parsed too).
    public static func userAuthRequest(_ data: [UInt8]) throws(SecmodError) -> UserAuthRequest {
        var r = SSHReader(data)
        // SHA-1 to SHA-512 exchange hashes; OpenSSH's agent allows up to 64 bytes too.
        let session = try r.string("session identifier", maximum: 64)
        guard !session.isEmpty else { throw SecmodError(.malformed, "userauth request: empty session identifier") }
        guard try r.byte("message type") == userAuthRequestType else {
            throw SecmodError(.malformed, "not an SSH_MSG_USERAUTH_REQUEST")
        }
        let user = try r.string("user name", maximum: 1024)
        let service = try r.name("service")
        let method = try r.name("method")
        guard method == "publickey" || method == "publickey-hostbound-v00@openssh.com" else {
            throw SecmodError(.malformed, "userauth request for method \(method), not publickey")
        }
        guard try r.bool("has signature") else { throw SecmodError(.malformed, "userauth query without signature") }
        let algorithm = try r.name("public key algorithm")
        let blob = try r.string("public key", maximum: AgentRequest.maximumKeyBlob)
        if method != "publickey" { _ = try r.string("server host key", maximum: AgentRequest.maximumKeyBlob) }
        try r.end("userauth request")
        return UserAuthRequest(sessionID: session, user: String(decoding: user, as: UTF8.self), service: service,
                               algorithm: algorithm, keyBlob: blob)
    }

    /// OpenSSH's PROTOCOL.sshsig: the blob `ssh-keygen -Y sign` asks to be signed.
    public struct SSHSig: Equatable, Sendable {
        public let namespace: String
        public let hashAlgorithm: String
        public let messageHash: [UInt8]
    }

    public static let sshsigMagic = Array("SSHSIG".utf8)

    /// Parses `"SSHSIG", string namespace, string reserved, string hash algorithm, string
    /// H(message)` with nothing after it; the hash must be SHA-256 or SHA-512 of its length.
    public static func sshsig(_ data: [UInt8]) throws(SecmodError) -> SSHSig {
        guard data.starts(with: sshsigMagic) else { throw SecmodError(.malformed, "not an SSHSIG blob") }
        var r = SSHReader(Array(data.dropFirst(sshsigMagic.count)))
        let namespace = try r.name("namespace")
        _ = try r.string("reserved", maximum: 1024)
        let hash = try r.name("hash algorithm")
        let digest = try r.string("message hash", maximum: 64)
        try r.end("SSHSIG blob")
        let expected = ["sha256": 32, "sha512": 64][hash]
        guard let expected, digest.count == expected else {
            throw SecmodError(.malformed, "SSHSIG: hash algorithm \(hash) with a \(digest.count)-byte hash")
        }
        return SSHSig(namespace: namespace, hashAlgorithm: hash, messageHash: digest)
    }
}

/// OpenSSH's `session-bind@openssh.com` extension (PROTOCOL.agent §1): the host key of the
/// server this connection's client talks to, the session identifier of that SSH connection
/// and the host key's signature over it, and whether the agent is being forwarded.
public struct SessionBind: Equatable, Sendable {
    public static let extensionName = "session-bind@openssh.com"

    public let hostKey: [UInt8]
    public let sessionID: [UInt8]
    public let signature: [UInt8]
    public let isForwarding: Bool

    public init(contents: [UInt8]) throws(SecmodError) {
        var r = SSHReader(contents)
        hostKey = try r.string("host key", maximum: AgentRequest.maximumKeyBlob)
        sessionID = try r.string("session identifier", maximum: 64)  // as in user authentication data
        signature = try r.string("host key signature", maximum: 4096)
        isForwarding = try r.bool("forwarding")
        try r.end("session-bind")
        guard !sessionID.isEmpty else { throw SecmodError(.malformed, "session-bind: empty session identifier") }
    }
}

/// swift-secmod's agent extensions for tor's v3 onion services (docs/spec/agent.md §6):
/// key blinding per time period (rend-spec-v3 A.2).
public enum OnionBlindingExtension {
    public static let blindedKeyName = "tor-hs-blinded-key@swift-secmod"
    public static let blindSignName = "tor-hs-blind-sign@swift-secmod"

    public struct Request: Equatable, Sendable {
        public let keyBlob: [UInt8]
        public let periodNumber: UInt64
        public let periodLengthMinutes: UInt64
        /// For blind-sign only.
        public let data: [UInt8]?
    }

    /// `string key blob, uint64 period number, uint64 period length [, string data]`.
    public static func request(_ contents: [UInt8], signing: Bool) throws(SecmodError) -> Request {
        var r = SSHReader(contents)
        let blob = try r.string("key blob", maximum: AgentRequest.maximumKeyBlob)
        let period = try r.uint64("period number")
        let length = try r.uint64("period length")
        guard length >= 1 else { throw SecmodError(.malformed, "the period length is zero") }
        let data = signing ? try r.string("data to sign", maximum: AgentFraming.maximumMessageSize) : nil
        try r.end(signing ? blindSignName : blindedKeyName)
        return Request(keyBlob: blob, periodNumber: period, periodLengthMinutes: length, data: data)
    }

    /// The response (after EXTENSION_RESPONSE and the name): `string blinded key [, string signature]`.
    public static func reply(blindedKey: [UInt8], signature: [UInt8]?) -> [UInt8] {
        var w = SSHWriter()
        w.string(blindedKey)
        if let signature { w.string(signature) }
        return w.bytes
    }
}

/// The `query` extension (RFC 9987 §6.8.1): the reply lists the extensions the agent serves.
public enum QueryExtension {
    public static let name = "query"

    public static func reply(_ names: [String]) -> [UInt8] {
        var w = SSHWriter()
        for name in names { w.string(name) }
        return w.bytes
    }

    /// The names in a reply (after SUCCESS).
    public static func parseReply(_ contents: [UInt8]) throws(SecmodError) -> [String] {
        var r = SSHReader(contents)
        var names: [String] = []
        while !r.isAtEnd { names.append(try r.name("extension name")) }
        return names
    }
}
