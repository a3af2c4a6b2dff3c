import SecmodBase
import SecmodCrypto
import SecmodSystem
import SecmodWire

/// A Clause-Schnorr denomination key as the CS helper announced it, its module signature checked.
public struct CsDenominationKey: Sendable, Equatable {
    public let section: String
    public let anchor: Timestamp
    public let durationWithdraw: RelativeTime
    /// The 32-byte CS public key.
    public let publicKey: [UInt8]
    /// `h_cs`: how requests name the key.
    public let hash: [UInt8]
    public let securityModulePublicKey: [UInt8]
    public let securityModuleSignature: [UInt8]
}

public enum CsKeyEvent: Sendable, Equatable {
    case available(CsDenominationKey)
    case purged(hash: [UInt8])
}

/// One request of a batch: which key, the client's nonce, and for signing its blinded
/// challenges c₀ ‖ c₁ with the R₀ ‖ R₁ the helper derived for that nonce.
public struct CsSignItem: Sendable {
    public let hash: [UInt8]
    public let nonce: [UInt8]
    public let challenges: [UInt8]
    public let publicNonces: [UInt8]
    public let forMelt: Bool
    public init(hash: [UInt8], nonce: [UInt8], challenges: [UInt8], publicNonces: [UInt8], forMelt: Bool = false) {
        self.hash = hash
        self.nonce = nonce
        self.challenges = challenges
        self.publicNonces = publicNonces
        self.forMelt = forMelt
    }
}

/// The exchange's blocking client for `taler-exchange-secmod-cs`. One client per thread.
/// `wire` must match the helper's `CS_WIRE` (the SIGNATURE layout).
public final class CsHelperClient: HelperClientFamily {
    let core: HelperClientCore
    private var pin: ModuleKeyPin
    public let wire: CsWireVersion
    public var securityModulePublicKey: [UInt8]? { pin.publicKey }
    /// The announced keys, by section and anchor.
    public private(set) var keys: [CsDenominationKey] = []
    /// The announced public keys by `h_cs`. `keyGeneration` counts every change, so that a
    /// batch's per-hash lookup memo knows when to look again.
    private var publicKeys: [WireKeyID: [UInt8]] = [:] { didSet { keyGeneration &+= 1 } }
    private var keyGeneration: UInt64 = 0
    public var onKeyEvent: ((CsKeyEvent) -> Void)?
    /// Whether every signature is checked (s·B = R_b + c_b·X under the announced key the
    /// request named). On by default; it costs the client about what signing costs the
    /// helper, so an exchange may turn it off, as Taler's own client never checks (the
    /// wallet does, after unblinding). A signature under a key the helper never announced is
    /// refused either way.
    public var verifiesSignatures = true
    public var defaultTimeout: Duration? {
        get { core.defaultTimeout }
        set { core.defaultTimeout = newValue }
    }

    static let replyTypes: Set<UInt16> = [CsMessageType.signature, CsMessageType.signFailure, CsMessageType.batchSignFailure,
                                          CsMessageType.deriveResponse, CsMessageType.deriveFailure, CsMessageType.batchDeriveFailure]
    static let syncedType = CsMessageType.synced

    public init(socketPath: String, transport: HelperTransport = .datagram, wire: CsWireVersion = .current,
                pinnedSecurityModuleKey: [UInt8]? = nil) {
        core = HelperClientCore(socketPath: socketPath, initType: CsMessageType.initialize, transport: transport)
        pin = ModuleKeyPin(publicKey: pinnedSecurityModuleKey)
        self.wire = wire
    }

    public func connect(timeout: Duration? = nil) throws(SecmodError) {
        try reconnect(deadline: core.deadline(timeout))
    }

    /// R₀ ‖ R₁ for `nonce` under the key `hash`. Throws `.helperRefused` with Taler's code
    /// (1005 unknown key, 1702 too early) when the helper refuses.
    public func derive(hash: [UInt8], nonce: [UInt8], forMelt: Bool = false, timeout: Duration? = nil) throws(SecmodError) -> [UInt8] {
        try batchDerive([(hash, nonce, forMelt)], timeout: timeout)[0].get()
    }

    /// R₀ ‖ R₁ for many nonces, in request order, each the values or the helper's refusal.
    public func batchDerive(_ items: [(hash: [UInt8], nonce: [UInt8], forMelt: Bool)], timeout: Duration? = nil) throws(SecmodError) -> [Result<[UInt8], SecmodError>] {
        for item in items where item.hash.count != 64 || item.nonce.count != 32 {
            throw SecmodError(.malformed, "a CS derive request needs a 64-byte key hash and a 32-byte nonce")
        }
        return try run(count: items.count, sign: false, timeout: timeout, item: { w, i in
            CsRequest.write(into: &w, forMelt: items[i].forMelt, hash: items[i].hash, challenges: [], nonce: items[i].nonce)
        }) { reply, _ in
            if MessageHeader.peek(reply)?.type == CsMessageType.deriveResponse {
                do throws(SecmodError) { return .success(try CsDeriveResponse.decode(reply)) } catch { return .failure(error) }
            }
            return Self.refusal(reply)
        }
    }

    /// The blind signature (b, s) over one item's challenges, checked: s·B = R_b + c_b·X
    /// under the announced key the item named.
    public func sign(_ item: CsSignItem, timeout: Duration? = nil) throws(SecmodError) -> (b: UInt32, s: [UInt8]) {
        try batchSign([item], timeout: timeout)[0].get()
    }

    public func batchSign(_ items: [CsSignItem], timeout: Duration? = nil) throws(SecmodError) -> [Result<(b: UInt32, s: [UInt8]), SecmodError>] {
        for item in items where item.hash.count != 64 || item.nonce.count != 32 || item.challenges.count != 64 || item.publicNonces.count != 64 {
            throw SecmodError(.malformed, "a CS sign request needs a 64-byte key hash, a 32-byte nonce, 64 bytes of challenges and of R values")
        }
        let verify = verifiesSignatures
        // A batch names one key, or a few, item after item: the key is looked up again only
        // where the hash changes (hashing 64 bytes per reply was a tenth of the client's time),
        // or where a key event arrived since (a PURGE between two replies counts for the later).
        var lastHash: [UInt8] = [], lastKey: [UInt8]?, lastGeneration = keyGeneration
        return try run(count: items.count, sign: true, timeout: timeout, item: { w, i in
            CsRequest.write(into: &w, forMelt: items[i].forMelt, hash: items[i].hash, challenges: items[i].challenges, nonce: items[i].nonce)
        }) { [wire] reply, index in
            guard MessageHeader.peek(reply)?.type == CsMessageType.signature else { return Self.refusal(reply) }
            let (b, s): (UInt32, [UInt8])
            do throws(SecmodError) { (b, s) = try CsSignature.decode(reply, version: wire) } catch { return .failure(error) }
            if items[index].hash != lastHash || keyGeneration != lastGeneration {
                lastHash = items[index].hash
                lastGeneration = keyGeneration
                lastKey = publicKeys[WireKeyID(lastHash)]
            }
            guard let publicKey = lastKey else {
                return .failure(SecmodError(.untrustedHelper, "the helper signed with a key it has not announced or has purged"))
            }
            let i = Int(b) * 32
            guard !verify || ClauseSchnorrKey.verifyBlind(s: s, challenge: Array(items[index].challenges[i..<i + 32]),
                                                          r: Array(items[index].publicNonces[i..<i + 32]), publicKey: publicKey) else {
                return .failure(SecmodError(.untrustedHelper, "the helper returned a signature that does not verify under the key the request named"))
            }
            return .success((b, s))
        }
    }

    /// Revokes a key; the PURGE and the successor's AVAIL arrive as key events.
    public func revoke(hash: [UInt8]) throws(SecmodError) {
        guard hash.count == 64 else { throw SecmodError(.malformed, "h_cs has 64 bytes") }
        try sendWithoutReply(CsKeyMessage.encode(type: CsMessageType.revoke, hash: hash))
    }

    public func poll() throws(SecmodError) { try pollPushes() }
    public func waitForEvents(for duration: Duration) throws(SecmodError) { try waitForPushes(for: duration) }
    public func disconnect() { core.connection.close() }

    /// Sends single requests alone and the rest as batches of at most 256 (as Taler's client
    /// does), and reads the replies in order.
    /// `item(w, i)` appends request `i` (`CsRequest.write`); each batch is built in the one
    /// buffer of its message. Each reply is interpreted as it arrives, after the key events
    /// that came before it and before those that come after (a signature the helper made
    /// before a PURGE of its key is good; one sent after it is not), as the RSA client does.
    private func run<T>(count: Int, sign: Bool, timeout: Duration?, item: (inout ByteWriter, Int) -> Void,
                        _ interpret: ([UInt8], Int) -> Result<T, SecmodError>) throws(SecmodError) -> [Result<T, SecmodError>] {
        var results: [Result<T, SecmodError>] = []
        results.reserveCapacity(count)
        var start = 0
        while start < count {
            let chunk = min(CsBatchRequest.maximumBatchSize, count - start)
            let message: [UInt8]
            if chunk == 1 {
                var w = ByteWriter(capacity: sign ? CsRequest.signByteCount : CsRequest.deriveByteCount)
                item(&w, start)
                message = w.bytes
            } else {
                message = CsBatchRequest.encode(count: chunk, sign: sign) { w, i in item(&w, start + i) }
            }
            let failureType = sign ? CsMessageType.batchSignFailure : CsMessageType.deriveFailure
            var interpreted: [Result<T, SecmodError>] = []
            interpreted.reserveCapacity(chunk)
            let replies = try exchange([message], timeout: timeout) { replies in
                if replies.count < interpreted.count { interpreted.removeAll() }  // a retry started over
                while interpreted.count < min(replies.count, chunk) {
                    interpreted.append(interpret(replies[interpreted.count], start + interpreted.count))
                }
                return replies.count == chunk || (chunk > 1 && replies.count > chunk - 1
                    && MessageHeader.peek(replies.last!)?.type == failureType)
            }
            guard replies.count >= chunk, interpreted.count == chunk else {
                throw SecmodError(.malformed, "the helper could not parse a batch the client built")
            }
            results += interpreted
            start += chunk
        }
        return results
    }

    private static func refusal<T>(_ reply: [UInt8]) -> Result<T, SecmodError> {
        guard let code = try? SignFailure.decodeCode(reply) else {
            return .failure(SecmodError(.malformed, "malformed reply from the helper"))
        }
        return .failure(SecmodError(.helperRefused, "the helper refused: \(TalerErrorCode.describe(code))", talerCode: code))
    }

    func resetKeys() {
        keys.removeAll()
        publicKeys.removeAll()
    }

    func processPush(_ message: [UInt8]) throws(SecmodError) {
        switch MessageHeader.peek(message)?.type {
        case CsMessageType.avail:
            let avail = try CsKeyAvailable.decode(message)
            let hash = SHA512.hash(avail.publicKey)
            let signed = SignaturePurpose.denominationKeyAnnouncement(
                purpose: SignaturePurpose.smCsDenominationKey, denominationHash: hash,
                sectionNameHash: SHA512.hash(Array(avail.section.utf8) + [0]), anchor: avail.anchor, duration: avail.durationWithdraw)
            try pin.check(moduleKey: avail.securityModulePublicKey, signature: avail.securityModuleSignature,
                          signed: signed, what: "CS denomination key of [\(avail.section)] at \(avail.anchor.seconds)")
            let key = CsDenominationKey(section: avail.section, anchor: avail.anchor, durationWithdraw: avail.durationWithdraw,
                                        publicKey: avail.publicKey, hash: hash, securityModulePublicKey: avail.securityModulePublicKey,
                                        securityModuleSignature: avail.securityModuleSignature)
            if !keys.contains(where: { $0.hash == hash }) {
                publicKeys[WireKeyID(hash)] = avail.publicKey
                keys.append(key)
                keys.sort { ($0.section, $0.anchor.microseconds) < ($1.section, $1.anchor.microseconds) }
            }
            onKeyEvent?(.available(key))
        case CsMessageType.purge:
            let hash = try CsKeyMessage.decodeHash(message)
            keys.removeAll { $0.hash == hash }
            publicKeys[WireKeyID(hash)] = nil
            onKeyEvent?(.purged(hash: hash))
        default:
            throw SecmodError(.malformed, "unexpected message type \(MessageHeader.peek(message)?.type ?? 0) from the helper")
        }
    }
}
