import SecmodBase
import SecmodSystem

/// Message types of the EdDSA helper (wire.md §5.1).
public enum EddsaMessageType {
    public static let purge: UInt16 = 11
    public static let avail: UInt16 = 12
    public static let initialize: UInt16 = 14
    public static let sign: UInt16 = 15
    public static let revoke: UInt16 = 16
    public static let signature: UInt16 = 17
    public static let signFailure: UInt16 = 18
    public static let synced: UInt16 = 19
}

/// AVAIL: an online signing key, with the security module's signature over it (wire.md §5.2).
public struct EddsaKeyAvailable: Sendable, Equatable {
    public static let byteCount = 152
    public let anchor: Timestamp
    public let duration: RelativeTime
    public let securityModulePublicKey: [UInt8]
    public let securityModuleSignature: [UInt8]
    public let exchangePublicKey: [UInt8]

    public init(anchor: Timestamp, duration: RelativeTime, securityModulePublicKey: [UInt8],
                securityModuleSignature: [UInt8], exchangePublicKey: [UInt8]) {
        self.anchor = anchor
        self.duration = duration
        self.securityModulePublicKey = securityModulePublicKey
        self.securityModuleSignature = securityModuleSignature
        self.exchangePublicKey = exchangePublicKey
    }

    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: Self.byteCount)
        w.header(type: EddsaMessageType.avail)
        w.u32(0)
        w.u64(anchor.microseconds)
        w.u64(duration.microseconds)
        w.append(securityModulePublicKey)
        w.append(securityModuleSignature)
        w.append(exchangePublicKey)
        return w.finish()
    }

    public static func decode(_ bytes: [UInt8]) throws(SecmodError) -> EddsaKeyAvailable {
        let h = try MessageHeader.ofDatagram(bytes)
        guard h.type == EddsaMessageType.avail, h.size == byteCount else {
            throw SecmodError(.malformed, "EdDSA AVAIL must be \(byteCount) bytes of type 12, got \(h.size) of type \(h.type)")
        }
        var r = ByteReader(bytes, offset: 8)
        return EddsaKeyAvailable(anchor: Timestamp(microseconds: try r.u64()),
                                 duration: RelativeTime(microseconds: try r.u64()),
                                 securityModulePublicKey: try r.take(32, "secm_pub"),
                                 securityModuleSignature: try r.take(64, "secm_sig"),
                                 exchangePublicKey: try r.take(32, "exchange_pub"))
    }

    /// The bytes the security module signed (purpose 1251).
    public var signedBytes: [UInt8] {
        SignaturePurpose.signingKeyAnnouncement(exchangePublicKey: exchangePublicKey, anchor: anchor, duration: duration)
    }
}

/// PURGE and REVOKE share a layout: header, reserved, the exchange public key (wire.md §5.6).
public enum EddsaKeyMessage {
    public static let byteCount = 40

    public static func encode(type: UInt16, publicKey: [UInt8]) -> [UInt8] {
        precondition(publicKey.count == 32)
        var w = ByteWriter(capacity: byteCount)
        w.header(type: type)
        w.u32(0)
        w.append(publicKey)
        return w.finish()
    }

    /// The public key of a PURGE or REVOKE; the size must be exact.
    public static func decodePublicKey(_ bytes: [UInt8]) throws(SecmodError) -> [UInt8] {
        guard bytes.count == byteCount else {
            throw SecmodError(.malformed, "EdDSA PURGE/REVOKE must be \(byteCount) bytes, got \(bytes.count)")
        }
        return Array(bytes[8..<40])
    }
}

/// SIGN request: header, reserved, then the signed data starting with its purpose (wire.md §5.3).
public enum EddsaSignRequest {
    public static let minimumByteCount = 16
    /// Largest purpose a client may send: the client library's bound (`P < 65535 − 16`).
    public static let maximumPurposeByteCount = Int(UInt16.max) - 16 - 1

    public static func encode(purposeBytes: [UInt8]) -> [UInt8] {
        var w = ByteWriter(capacity: 8 + purposeBytes.count)
        w.header(type: EddsaMessageType.sign)
        w.u32(0)
        w.append(purposeBytes)
        return w.finish()
    }

    /// Validates a SIGN message; returns the range of bytes to sign. Throws `.malformed`
    /// for a size mismatch, which the helper answers with code 26.
    public static func purposeRange(_ bytes: [UInt8]) throws(SecmodError) -> Range<Int> {
        guard bytes.count >= minimumByteCount else {
            throw SecmodError(.malformed, "EdDSA SIGN of \(bytes.count) bytes is shorter than \(minimumByteCount)")
        }
        var r = ByteReader(bytes, offset: 8)
        let purposeSize = Int(try r.u32())
        guard purposeSize == bytes.count - 8 else {
            throw SecmodError(.malformed, "purpose size \(purposeSize) does not match the \(bytes.count - 8) bytes sent")
        }
        return 8..<bytes.count
    }

    /// Builds the purpose bytes for a body: {size, purpose} then the body.
    public static func purposeBytes(purpose: UInt32, body: [UInt8]) -> [UInt8] {
        var w = ByteWriter(capacity: 8 + body.count)
        w.u32(UInt32(8 + body.count))
        w.u32(purpose)
        w.append(body)
        return w.bytes
    }
}

/// SIGNATURE reply: the key that was used and its signature (wire.md §5.4), 104 bytes.
public struct EddsaSignature: Sendable, Equatable {
    public static let byteCount = 104
    public let publicKey: [UInt8]
    public let signature: [UInt8]

    public init(publicKey: [UInt8], signature: [UInt8]) {
        self.publicKey = publicKey
        self.signature = signature
    }

    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: Self.byteCount)
        w.header(type: EddsaMessageType.signature)
        w.u32(0)
        w.append(publicKey)
        w.append(signature)
        return w.finish()
    }

    public static func decode(_ bytes: [UInt8]) throws(SecmodError) -> EddsaSignature {
        guard bytes.count == byteCount else {
            throw SecmodError(.malformed, "EdDSA SIGNATURE must be \(byteCount) bytes, got \(bytes.count)")
        }
        return EddsaSignature(publicKey: Array(bytes[8..<40]), signature: Array(bytes[40..<104]))
    }
}

/// SIGN_FAILURE (and the RSA helper's BATCH_FAILURE): header and a Taler error code, 8 bytes.
public enum SignFailure {
    public static let byteCount = 8

    public static func encode(type: UInt16, code: TalerErrorCode) -> [UInt8] {
        var w = ByteWriter(capacity: byteCount)
        w.header(type: type)
        w.u32(code.rawValue)
        return w.finish()
    }

    public static func decodeCode(_ bytes: [UInt8]) throws(SecmodError) -> UInt32 {
        guard bytes.count == byteCount else {
            throw SecmodError(.malformed, "SIGN_FAILURE must be \(byteCount) bytes, got \(bytes.count)")
        }
        var r = ByteReader(bytes, offset: 4)
        return try r.u32()
    }
}
