import SecmodBase

/// Message numbers of the ssh-agent protocol (RFC 9987 §6.1).
public enum AgentMessageType {
    public static let failure: UInt8 = 5
    public static let success: UInt8 = 6
    public static let requestIdentities: UInt8 = 11
    public static let identitiesAnswer: UInt8 = 12
    public static let signRequest: UInt8 = 13
    public static let signResponse: UInt8 = 14
    public static let addIdentity: UInt8 = 17
    public static let removeIdentity: UInt8 = 18
    public static let removeAllIdentities: UInt8 = 19
    public static let addSmartcardKey: UInt8 = 20
    public static let removeSmartcardKey: UInt8 = 21
    public static let lock: UInt8 = 22
    public static let unlock: UInt8 = 23
    public static let addIdentityConstrained: UInt8 = 25
    public static let addSmartcardKeyConstrained: UInt8 = 26
    public static let `extension`: UInt8 = 27
    public static let extensionFailure: UInt8 = 28
    public static let extensionResponse: UInt8 = 29
}

/// SIGN_REQUEST flags (RFC 9987 §6.6.1).
public struct AgentSignFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let rsaSHA256 = AgentSignFlags(rawValue: 2)
    public static let rsaSHA512 = AgentSignFlags(rawValue: 4)
}

/// A request a client sent, decoded. Everything in it came from the client and is only as
/// trustworthy as the client: the agent checks it against the key's purposes before acting.
public enum AgentRequest: Equatable, Sendable {
    case requestIdentities
    case sign(keyBlob: [UInt8], data: [UInt8], flags: AgentSignFlags)
    /// ADD_IDENTITY or ADD_ID_CONSTRAINED: the key and constraints, decoded by the agent
    /// only when adding is allowed at all (`AgentAddedKey`).
    case addIdentity(body: [UInt8], constrained: Bool)
    case removeIdentity(keyBlob: [UInt8])
    case removeAllIdentities
    case lock(passphrase: [UInt8])
    case unlock(passphrase: [UInt8])
    case `extension`(name: String, contents: [UInt8])
    /// A message this agent knows and does not serve (smartcard keys).
    case unsupported(type: UInt8)
    case unknown(type: UInt8)

    /// The largest key blob and the largest data to sign: both far above any real key or
    /// request, and below the framing's bound anyway.
    public static let maximumKeyBlob = 16 * 1024

    /// Decodes one message's payload (type byte first). A known type whose body does not
    /// parse throws `.malformed`; the agent answers FAILURE.
    public static func decode(_ payload: ArraySlice<UInt8>) throws(SecmodError) -> AgentRequest {
        guard let type = payload.first else { throw SecmodError(.malformed, "empty agent message") }
        var r = SSHReader(payload.dropFirst())
        switch type {
        case AgentMessageType.requestIdentities:
            try r.end("REQUEST_IDENTITIES")
            return .requestIdentities
        case AgentMessageType.signRequest:
            let blob = try r.string("key blob", maximum: maximumKeyBlob)
            let data = try r.string("data to sign", maximum: AgentFraming.maximumMessageSize)
            let flags = AgentSignFlags(rawValue: try r.uint32("flags"))
            try r.end("SIGN_REQUEST")
            return .sign(keyBlob: blob, data: data, flags: flags)
        case AgentMessageType.addIdentity, AgentMessageType.addIdentityConstrained:
            return .addIdentity(body: try r.rest(), constrained: type == AgentMessageType.addIdentityConstrained)
        case AgentMessageType.removeIdentity:
            let blob = try r.string("key blob", maximum: maximumKeyBlob)
            try r.end("REMOVE_IDENTITY")
            return .removeIdentity(keyBlob: blob)
        case AgentMessageType.removeAllIdentities:
            try r.end("REMOVE_ALL_IDENTITIES")
            return .removeAllIdentities
        case AgentMessageType.lock, AgentMessageType.unlock:
            let passphrase = try r.string("passphrase", maximum: 4096)
            try r.end(type == AgentMessageType.lock ? "LOCK" : "UNLOCK")
            return type == AgentMessageType.lock ? .lock(passphrase: passphrase) : .unlock(passphrase: passphrase)
        case AgentMessageType.extension:
            let name = try r.name("extension name")
            return .extension(name: name, contents: try r.rest())
        case AgentMessageType.addSmartcardKey, AgentMessageType.removeSmartcardKey, AgentMessageType.addSmartcardKeyConstrained:
            return .unsupported(type: type)
        default:
            return .unknown(type: type)
        }
    }
}

/// What the agent answers, encoded.
public enum AgentReply {
    public static var failure: [UInt8] { [AgentMessageType.failure] }
    public static var success: [UInt8] { [AgentMessageType.success] }
    public static var extensionFailure: [UInt8] { [AgentMessageType.extensionFailure] }

    /// IDENTITIES_ANSWER: each key's blob and comment.
    public static func identities(_ keys: [(blob: [UInt8], comment: String)]) -> [UInt8] {
        var w = SSHWriter()
        w.byte(AgentMessageType.identitiesAnswer)
        w.uint32(UInt32(keys.count))
        for key in keys {
            w.string(key.blob)
            w.string(key.comment)
        }
        return w.bytes
    }

    /// SIGN_RESPONSE around a signature blob (`SSHSignature.encoded`).
    public static func signature(_ blob: [UInt8]) -> [UInt8] {
        var w = SSHWriter()
        w.byte(AgentMessageType.signResponse)
        w.string(blob)
        return w.bytes
    }

    /// EXTENSION_RESPONSE (RFC 9987 §6.8): the extension's name, then its own contents.
    public static func extensionResponse(_ name: String, _ contents: [UInt8]) -> [UInt8] {
        var w = SSHWriter()
        w.byte(AgentMessageType.extensionResponse)
        w.string(name)
        w.raw(contents)
        return w.bytes
    }

    /// The contents of an extension's answer: after EXTENSION_RESPONSE and the name (RFC
    /// 9987), or after SUCCESS (drafts up to -13, and agents that still answer so). Nil for
    /// FAILURE, EXTENSION_FAILURE or a response to another extension.
    public static func extensionContents(_ reply: [UInt8], name: String) -> [UInt8]? {
        switch reply.first {
        case AgentMessageType.success:
            return Array(reply.dropFirst())
        case AgentMessageType.extensionResponse:
            var r = SSHReader(reply.dropFirst())
            guard let echoed = try? r.name("extension name"), echoed == name, let rest = try? r.rest() else { return nil }
            return rest
        default:
            return nil
        }
    }
}
