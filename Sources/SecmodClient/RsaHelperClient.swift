import SecmodBase
import SecmodCrypto
import SecmodSystem
import SecmodWire

/// A denomination key as the RSA helper announced it, its module signature checked.
public struct RsaDenominationKey: Sendable, Equatable {
    public let section: String
    public let anchor: Timestamp
    public let durationWithdraw: RelativeTime
    /// The wire.md §3.4 encoding of the public key.
    public let publicKey: [UInt8]
    /// `h_rsa`: how requests name the key.
    public let hash: [UInt8]
    public let securityModulePublicKey: [UInt8]
    public let securityModuleSignature: [UInt8]
}

public enum RsaKeyEvent: Sendable, Equatable {
    case available(RsaDenominationKey)
    case purged(hash: [UInt8])
}

/// One blind-signing request: which key, and the blinded message.
public struct RsaSignRequestItem: Sendable {
    public let hash: [UInt8]
    public let blindedMessage: [UInt8]
    public init(hash: [UInt8], blindedMessage: [UInt8]) {
        self.hash = hash
        self.blindedMessage = blindedMessage
    }
}

/// The exchange's blocking client for `taler-exchange-secmod-rsa`. One client per thread.
public final class RsaHelperClient: HelperClientFamily {
    let core: HelperClientCore
    private var pin: ModuleKeyPin
    public var securityModulePublicKey: [UInt8]? { pin.publicKey }
    /// The announced keys, by section and anchor.
    public private(set) var keys: [RsaDenominationKey] = []
    /// The announced keys by `h_rsa`, parsed once, to check every signature.
    private var verifiers: [WireKeyID: RsaVerifier] = [:]
    public var onKeyEvent: ((RsaKeyEvent) -> Void)?
    public var defaultTimeout: Duration? {
        get { core.defaultTimeout }
        set { core.defaultTimeout = newValue }
    }

    static let replyTypes: Set<UInt16> = [RsaMessageType.signature, RsaMessageType.signFailure, RsaMessageType.batchFailure]
    static let syncedType = RsaMessageType.synced

    /// `transport` must match the helper's `SOCKET_TYPE`.
    public init(socketPath: String, transport: HelperTransport = .datagram, pinnedSecurityModuleKey: [UInt8]? = nil) {
        core = HelperClientCore(socketPath: socketPath, initType: RsaMessageType.initialize, transport: transport)
        pin = ModuleKeyPin(publicKey: pinnedSecurityModuleKey)
    }

    public func connect(timeout: Duration? = nil) throws(SecmodError) {
        try reconnect(deadline: core.deadline(timeout))
    }

    /// Blind-signs one message. Throws `.helperRefused` with the helper's Taler code (1005
    /// unknown key, 1702 too early, 60 failed) when it refuses.
    public func sign(hash: [UInt8], blindedMessage: [UInt8], timeout: Duration? = nil) throws(SecmodError) -> [UInt8] {
        guard hash.count == 64, !blindedMessage.isEmpty,
              blindedMessage.count <= MessageHeader.maximumMessageSize - RsaSignRequest.headerByteCount else {
            throw SecmodError(.malformed, "a sign request needs a 64-byte key hash and a non-empty blinded message that fits a message")
        }
        let reply = try exchange([RsaSignRequest.encode(hash: hash, blindedMessage: blindedMessage)], timeout: timeout) { $0.count == 1 }[0]
        return try checkedSignature(from: reply, hash: hash, blindedMessage: blindedMessage).get()
    }

    /// Blind-signs many messages. Requests are packed into BATCH_SIGN messages of at most
    /// 256 sub-requests and under 65535 bytes each, as Taler's client splits them; the
    /// results come back in request order, each a signature or the helper's refusal.
    public func batchSign(_ items: [RsaSignRequestItem], timeout: Duration? = nil) throws(SecmodError) -> [Result<[UInt8], SecmodError>] {
        var results: [Result<[UInt8], SecmodError>] = []
        for chunk in Self.chunks(items) {
            let message = RsaBatchSignRequest.encode(chunk.map { RsaSignRequest.encode(hash: $0.hash, blindedMessage: $0.blindedMessage) })
            // Each reply is checked as it arrives, while the helper still signs the rest of the
            // batch: checked only at the end, the checks would leave the helper idle.
            var checked: [Result<[UInt8], SecmodError>] = []
            let replies = try exchange([message], timeout: timeout) { replies in
                if replies.count < checked.count { checked.removeAll() }  // a retry started over
                while checked.count < min(replies.count, chunk.count) {
                    let item = chunk[checked.count]
                    checked.append(checkedSignature(from: replies[checked.count], hash: item.hash, blindedMessage: item.blindedMessage))
                }
                return replies.count == chunk.count || replies.last.flatMap { MessageHeader.peek($0) }?.type == RsaMessageType.batchFailure
            }
            guard replies.count == chunk.count, checked.count == chunk.count else {
                throw SecmodError(.malformed, "the helper could not parse a batch the client built")
            }
            results += checked
        }
        return results
    }

    /// Revokes a key; the PURGE and the successor's AVAIL arrive as key events.
    public func revoke(hash: [UInt8]) throws(SecmodError) {
        guard hash.count == 64 else { throw SecmodError(.malformed, "h_rsa has 64 bytes") }
        try sendWithoutReply(RsaKeyMessage.encode(type: RsaMessageType.revoke, hash: hash))
    }

    public func poll() throws(SecmodError) { try pollPushes() }
    public func waitForEvents(for duration: Duration) throws(SecmodError) { try waitForPushes(for: duration) }
    public func disconnect() { core.connection.close() }

    static func chunks(_ items: [RsaSignRequestItem]) -> [[RsaSignRequestItem]] {
        var chunks: [[RsaSignRequestItem]] = []
        var current: [RsaSignRequestItem] = []
        var size = 8
        for item in items {
            let itemSize = RsaSignRequest.headerByteCount + item.blindedMessage.count
            if !current.isEmpty && (current.count == RsaBatchSignRequest.maximumBatchSize || size + itemSize >= MessageHeader.maximumMessageSize) {
                chunks.append(current)
                current = []
                size = 8
            }
            current.append(item)
            size += itemSize
        }
        if !current.isEmpty { chunks.append(current) }
        return chunks
    }

    /// A reply as a signature or the helper's refusal. A signature counts only if it is
    /// one: `s^e mod n = m` under the announced key the request named. That costs a few
    /// percent of the helper's signing time and turns a faulty or forged answer into an
    /// error instead of a coin nobody can spend.
    func checkedSignature(from reply: [UInt8], hash: [UInt8], blindedMessage: [UInt8]) -> Result<[UInt8], SecmodError> {
        if MessageHeader.peek(reply)?.type == RsaMessageType.signature {
            let signature: [UInt8]
            do throws(SecmodError) { signature = try RsaSignature.decode(reply) } catch { return .failure(error) }
            guard let key = verifiers[WireKeyID(hash)] else {
                return .failure(SecmodError(.untrustedHelper, "the helper signed with a key it has not announced or has purged"))
            }
            guard key.verify(signature: signature, message: blindedMessage) else {
                return .failure(SecmodError(.untrustedHelper, "the helper returned a signature that does not verify under the key the request named"))
            }
            return .success(signature)
        }
        guard let code = try? SignFailure.decodeCode(reply) else {
            return .failure(SecmodError(.malformed, "malformed reply from the helper"))
        }
        return .failure(SecmodError(.helperRefused, "the helper refused to sign: \(TalerErrorCode.describe(code))", talerCode: code))
    }

    func resetKeys() {
        keys.removeAll()
        verifiers.removeAll()
    }

    func processPush(_ message: [UInt8]) throws(SecmodError) {
        switch MessageHeader.peek(message)?.type {
        case RsaMessageType.avail:
            let avail = try RsaKeyAvailable.decode(message)
            let hash = SHA512.hash(avail.publicKey)
            let signed = SignaturePurpose.denominationKeyAnnouncement(
                purpose: SignaturePurpose.smRsaDenominationKey, denominationHash: hash,
                sectionNameHash: SHA512.hash(avail.sectionBytesWithNul), anchor: avail.anchor, duration: avail.durationWithdraw)
            try pin.check(moduleKey: avail.securityModulePublicKey, signature: avail.securityModuleSignature,
                          signed: signed, what: "denomination key of [\(avail.section)] at \(avail.anchor.seconds)")
            let key = RsaDenominationKey(section: avail.section, anchor: avail.anchor, durationWithdraw: avail.durationWithdraw,
                                         publicKey: avail.publicKey, hash: hash,
                                         securityModulePublicKey: avail.securityModulePublicKey,
                                         securityModuleSignature: avail.securityModuleSignature)
            if !keys.contains(where: { $0.hash == hash }) {
                verifiers[WireKeyID(hash)] = RsaVerifier(try RsaPublicKey(encoded: avail.publicKey))
                keys.append(key)
                keys.sort { ($0.section, $0.anchor.microseconds) < ($1.section, $1.anchor.microseconds) }
            }
            onKeyEvent?(.available(key))
        case RsaMessageType.purge:
            let hash = try RsaKeyMessage.decodeHash(message)
            keys.removeAll { $0.hash == hash }
            verifiers[WireKeyID(hash)] = nil
            onKeyEvent?(.purged(hash: hash))
        default:
            throw SecmodError(.malformed, "unexpected message type \(MessageHeader.peek(message)?.type ?? 0) from the helper")
        }
    }
}
