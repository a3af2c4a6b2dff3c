import SecmodBase
import SecmodCrypto
import SecmodSystem
import SecmodWire

/// An online signing key as the EdDSA helper announced it, its module signature checked.
public struct EddsaSigningKey: Sendable, Equatable {
    public let publicKey: [UInt8]
    public let anchor: Timestamp
    public let duration: RelativeTime
    public let securityModulePublicKey: [UInt8]
    public let securityModuleSignature: [UInt8]
}

/// A change in the helper's key set.
public enum EddsaKeyEvent: Sendable, Equatable {
    case available(EddsaSigningKey)
    case purged(publicKey: [UInt8])
}

/// The exchange's blocking client for `taler-exchange-secmod-eddsa`.
///
/// Every announcement is checked against the security module's signature, and the module's
/// public key is pinned on first use: a helper that later presents another module key is
/// refused, as Taler's exchange refuses it. Use one client per thread.
public final class EddsaHelperClient: HelperClientFamily {
    let core: HelperClientCore
    private var pin: ModuleKeyPin
    /// The module key pinned on first use, or given up front.
    public var securityModulePublicKey: [UInt8]? { pin.publicKey }
    /// The announced keys, oldest anchor first.
    public private(set) var keys: [EddsaSigningKey] = []
    /// Called for every AVAIL and PURGE, on the calling thread, while a call waits.
    public var onKeyEvent: ((EddsaKeyEvent) -> Void)?
    /// Checks every returned signature before handing it out (on by default). A check costs
    /// about twice the helper's signing time (some 65 µs); an exchange that trusts the
    /// helper's own integrity may turn it off, as Taler's C client never checks. Whether the
    /// signing key was announced is checked either way.
    public var verifiesSignatures = true
    /// Default for calls that pass no timeout; nil waits as long as it takes.
    public var defaultTimeout: Duration? {
        get { core.defaultTimeout }
        set { core.defaultTimeout = newValue }
    }

    static let replyTypes: Set<UInt16> = [EddsaMessageType.signature, EddsaMessageType.signFailure]
    static let syncedType = EddsaMessageType.synced

    /// `transport` must match the helper's `SOCKET_TYPE`.
    public init(socketPath: String, transport: HelperTransport = .datagram, pinnedSecurityModuleKey: [UInt8]? = nil) {
        core = HelperClientCore(socketPath: socketPath, initType: EddsaMessageType.initialize, transport: transport)
        pin = ModuleKeyPin(publicKey: pinnedSecurityModuleKey)
    }

    /// Handshakes and waits for SYNCED.
    public func connect(timeout: Duration? = nil) throws(SecmodError) {
        try reconnect(deadline: core.deadline(timeout))
    }

    /// Signs `purposeBytes` (a purpose header and the data it covers) with the helper's
    /// current key. Returns the key that signed and the signature. The key must be one the
    /// helper announced and has not purged (always checked); the signature itself is
    /// verified unless `verifiesSignatures` is off.
    public func sign(purposeBytes: [UInt8], timeout: Duration? = nil) throws(SecmodError) -> (publicKey: [UInt8], signature: [UInt8]) {
        guard purposeBytes.count >= 8, purposeBytes.count <= EddsaSignRequest.maximumPurposeByteCount else {
            throw SecmodError(.malformed, "purpose of \(purposeBytes.count) bytes: it must have 8 to \(EddsaSignRequest.maximumPurposeByteCount)")
        }
        let reply = try exchange([EddsaSignRequest.encode(purposeBytes: purposeBytes)], timeout: timeout) { $0.count == 1 }[0]
        guard MessageHeader.peek(reply)?.type == EddsaMessageType.signature else {
            let code = try SignFailure.decodeCode(reply)
            throw SecmodError(.helperRefused, "the helper refused to sign: \(TalerErrorCode.describe(code))", talerCode: code)
        }
        let result = try EddsaSignature.decode(reply)
        // Always: a signature under a key the helper never announced (or purged) is no
        // signature of this helper's, whatever it verifies under.
        guard keys.contains(where: { $0.publicKey == result.publicKey }) else {
            throw SecmodError(.untrustedHelper, "the helper signed with key \(CrockfordBase32.encode(result.publicKey)), which it has not announced or has purged")
        }
        guard !verifiesSignatures || Ed25519.verify(signature: result.signature, message: purposeBytes, publicKey: result.publicKey) else {
            throw SecmodError(.untrustedHelper, "the helper returned a signature that does not verify")
        }
        return (result.publicKey, result.signature)
    }

    /// Signs `body` under `purpose`, building the 8-byte purpose header.
    public func sign(purpose: UInt32, body: [UInt8], timeout: Duration? = nil) throws(SecmodError) -> (publicKey: [UInt8], signature: [UInt8]) {
        try sign(purposeBytes: EddsaSignRequest.purposeBytes(purpose: purpose, body: body), timeout: timeout)
    }

    /// Asks the helper to revoke a key. There is no reply: the PURGE and the successor's
    /// AVAIL arrive as key events.
    public func revoke(publicKey: [UInt8]) throws(SecmodError) {
        guard publicKey.count == 32 else { throw SecmodError(.malformed, "an EdDSA public key has 32 bytes") }
        try sendWithoutReply(EddsaKeyMessage.encode(type: EddsaMessageType.revoke, publicKey: publicKey))
    }

    /// Handles pushes that have already arrived, without blocking.
    public func poll() throws(SecmodError) { try pollPushes() }

    /// Waits up to `seconds` for pushes (a PURGE after a revocation, say).
    public func waitForEvents(for duration: Duration) throws(SecmodError) { try waitForPushes(for: duration) }

    public func disconnect() { core.connection.close() }

    func resetKeys() { keys.removeAll() }

    func processPush(_ message: [UInt8]) throws(SecmodError) {
        switch MessageHeader.peek(message)?.type {
        case EddsaMessageType.avail:
            let avail = try EddsaKeyAvailable.decode(message)
            try pin.check(moduleKey: avail.securityModulePublicKey, signature: avail.securityModuleSignature,
                          signed: avail.signedBytes, what: "key \(CrockfordBase32.encode(avail.exchangePublicKey))")
            let key = EddsaSigningKey(publicKey: avail.exchangePublicKey, anchor: avail.anchor, duration: avail.duration,
                                      securityModulePublicKey: avail.securityModulePublicKey,
                                      securityModuleSignature: avail.securityModuleSignature)
            if !keys.contains(where: { $0.publicKey == key.publicKey }) {
                keys.append(key)
                keys.sort { $0.anchor < $1.anchor }
            }
            onKeyEvent?(.available(key))
        case EddsaMessageType.purge:
            let publicKey = try EddsaKeyMessage.decodePublicKey(message)
            keys.removeAll { $0.publicKey == publicKey }
            onKeyEvent?(.purged(publicKey: publicKey))
        default:
            throw SecmodError(.malformed, "unexpected message type \(MessageHeader.peek(message)?.type ?? 0) from the helper")
        }
    }
}
