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
public final class EddsaHelperClient {
    private let connection: HelperConnection
    /// The module key pinned on first use, or given up front.
    public private(set) var securityModulePublicKey: [UInt8]?
    /// The announced keys, oldest anchor first.
    public private(set) var keys: [EddsaSigningKey] = []
    private var synced = false
    /// Called for every AVAIL and PURGE, on the calling thread, while a call waits.
    public var onKeyEvent: ((EddsaKeyEvent) -> Void)?
    /// Default for calls that pass no deadline; nil waits as long as it takes.
    public var defaultTimeout: Double?

    public init(socketPath: String, pinnedSecurityModuleKey: [UInt8]? = nil) {
        connection = HelperConnection(socketPath: socketPath, initType: EddsaMessageType.initialize)
        securityModulePublicKey = pinnedSecurityModuleKey
    }

    /// Handshakes and waits for SYNCED.
    public func connect(timeout: Double? = nil) throws(SecmodError) {
        let deadline = (timeout ?? defaultTimeout).map { Deadline.after(seconds: $0) }
        try reconnect(deadline: deadline)
    }

    private func reconnect(deadline: Deadline?) throws(SecmodError) {
        keys.removeAll()
        synced = false
        var message = try connection.handshake(deadline: deadline)
        while true {
            try process(message)
            if synced { return }
            guard let next = try connection.receive(deadline: deadline) else {
                connection.close()
                throw SecmodError(.timeout, "helper did not finish announcing its keys before the deadline")
            }
            message = next
        }
    }

    /// Signs `purposeBytes` (a purpose header and the data it covers) with the helper's
    /// current key. Returns the key that signed and the signature, already verified.
    public func sign(purposeBytes: [UInt8], timeout: Double? = nil) throws(SecmodError) -> (publicKey: [UInt8], signature: [UInt8]) {
        guard purposeBytes.count >= 8, purposeBytes.count <= EddsaSignRequest.maximumPurposeByteCount else {
            throw SecmodError(.malformed, "purpose of \(purposeBytes.count) bytes: it must have 8 to \(EddsaSignRequest.maximumPurposeByteCount)")
        }
        let reply = try request(EddsaSignRequest.encode(purposeBytes: purposeBytes), timeout: timeout)
        guard let header = MessageHeader.peek(reply) else { throw SecmodError(.malformed, "empty reply") }
        switch header.type {
        case EddsaMessageType.signature:
            let result = try EddsaSignature.decode(reply)
            guard Ed25519.verify(signature: result.signature, message: purposeBytes, publicKey: result.publicKey) else {
                throw SecmodError(.crypto, "the helper returned a signature that does not verify")
            }
            return (result.publicKey, result.signature)
        default:
            let code = try SignFailure.decodeCode(reply)
            throw SecmodError(.helperRefused, "the helper refused to sign: \(TalerErrorCode.describe(code))", talerCode: code)
        }
    }

    /// Signs `body` under `purpose`, building the 8-byte purpose header.
    public func sign(purpose: UInt32, body: [UInt8], timeout: Double? = nil) throws(SecmodError) -> (publicKey: [UInt8], signature: [UInt8]) {
        try sign(purposeBytes: EddsaSignRequest.purposeBytes(purpose: purpose, body: body), timeout: timeout)
    }

    /// Asks the helper to revoke a key. There is no reply: the PURGE and the successor's
    /// AVAIL arrive as key events.
    public func revoke(publicKey: [UInt8]) throws(SecmodError) {
        guard publicKey.count == 32 else { throw SecmodError(.malformed, "an EdDSA public key has 32 bytes") }
        let message = EddsaKeyMessage.encode(type: EddsaMessageType.revoke, publicKey: publicKey)
        do throws(SecmodError) {
            if !connection.isConnected { try reconnect(deadline: nil) }
            try connection.send(message)
        } catch where error.code == .unavailable {
            try reconnect(deadline: nil)
            try connection.send(message)
        }
    }

    /// Handles pushes that have already arrived, without blocking.
    public func poll() throws(SecmodError) {
        if !connection.isConnected { return }
        while let message = try connection.receive(deadline: nil, nonBlocking: true) {
            try process(message)
        }
    }

    /// Waits up to `seconds` for pushes (tests use this to see a PURGE arrive).
    public func waitForEvents(seconds: Double) throws(SecmodError) {
        let deadline = Deadline.after(seconds: seconds)
        if !connection.isConnected { try reconnect(deadline: deadline) }
        while let message = try connection.receive(deadline: deadline) {
            try process(message)
        }
    }

    public func disconnect() { connection.close() }

    /// Sends a request and returns its reply, handling pushes meanwhile. If the session is
    /// gone (the helper restarted), it handshakes again and resends: signing twice is harmless.
    private func request(_ message: [UInt8], timeout: Double?) throws(SecmodError) -> [UInt8] {
        let deadline = (timeout ?? defaultTimeout).map { Deadline.after(seconds: $0) }
        var attempts = 0
        while true {
            attempts += 1
            do throws(SecmodError) {
                if !connection.isConnected { try reconnect(deadline: deadline) }
                try connection.send(message)
                while true {
                    guard let reply = try connection.receive(deadline: deadline) else {
                        connection.close()  // a late reply must not be taken for the next request's
                        throw SecmodError(.timeout, "no reply from the helper before the deadline")
                    }
                    if let header = MessageHeader.peek(reply),
                       header.type == EddsaMessageType.signature || header.type == EddsaMessageType.signFailure {
                        return reply
                    }
                    try process(reply)
                }
            } catch where error.code == .unavailable && attempts < 3 {
                continue
            }
        }
    }

    private func process(_ message: [UInt8]) throws(SecmodError) {
        let header = try MessageHeader.ofDatagram(message)
        switch header.type {
        case EddsaMessageType.avail:
            let avail = try EddsaKeyAvailable.decode(message)
            try checkModuleSignature(avail)
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
        case EddsaMessageType.synced:
            synced = true
        default:
            connection.close()
            throw SecmodError(.malformed, "unexpected message type \(header.type) from the helper")
        }
    }

    private func checkModuleSignature(_ avail: EddsaKeyAvailable) throws(SecmodError) {
        if let pinned = securityModulePublicKey, pinned != avail.securityModulePublicKey {
            connection.close()
            throw SecmodError(.crypto, "the helper's security module key changed from \(CrockfordBase32.encode(pinned)) to \(CrockfordBase32.encode(avail.securityModulePublicKey)); refusing its keys")
        }
        guard Ed25519.verify(signature: avail.securityModuleSignature, message: avail.signedBytes,
                             publicKey: avail.securityModulePublicKey) else {
            connection.close()
            throw SecmodError(.crypto, "key \(CrockfordBase32.encode(avail.exchangePublicKey)) carries an invalid security module signature")
        }
        securityModulePublicKey = avail.securityModulePublicKey
    }
}
