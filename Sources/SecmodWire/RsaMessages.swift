import SecmodBase
import SecmodSystem

/// Message types of the RSA helper (wire.md §4.1).
public enum RsaMessageType {
    public static let purge: UInt16 = 1
    public static let avail: UInt16 = 2
    public static let batchSign: UInt16 = 3
    public static let initialize: UInt16 = 4
    public static let sign: UInt16 = 5
    public static let revoke: UInt16 = 6
    public static let signature: UInt16 = 7
    public static let signFailure: UInt16 = 8
    public static let batchFailure: UInt16 = 9
    public static let synced: UInt16 = 10
}

/// AVAIL: a denomination key with its section and the module's signature (wire.md §4.2).
public struct RsaKeyAvailable: Sendable, Equatable {
    public static let fixedByteCount = 120
    public let anchor: Timestamp
    public let durationWithdraw: RelativeTime
    public let securityModulePublicKey: [UInt8]
    public let securityModuleSignature: [UInt8]
    /// The wire.md §3.4 encoding of the RSA public key.
    public let publicKey: [UInt8]
    /// The configuration section, without its terminating NUL.
    public let section: String

    public init(anchor: Timestamp, durationWithdraw: RelativeTime, securityModulePublicKey: [UInt8],
                securityModuleSignature: [UInt8], publicKey: [UInt8], section: String) {
        self.anchor = anchor
        self.durationWithdraw = durationWithdraw
        self.securityModulePublicKey = securityModulePublicKey
        self.securityModuleSignature = securityModuleSignature
        self.publicKey = publicKey
        self.section = section
    }

    public var sectionBytesWithNul: [UInt8] { Array(section.utf8) + [0] }

    public func encode() -> [UInt8] {
        let name = sectionBytesWithNul
        var w = ByteWriter(capacity: Self.fixedByteCount + publicKey.count + name.count)
        w.header(type: RsaMessageType.avail)
        w.u16(UInt16(publicKey.count))
        w.u16(UInt16(name.count))
        w.u64(anchor.microseconds)
        w.u64(durationWithdraw.microseconds)
        w.append(securityModulePublicKey)
        w.append(securityModuleSignature)
        w.append(publicKey)
        w.append(name)
        return w.finish()
    }

    /// Decodes with the checks Taler's client makes (crypto_helper_rsa.c): sizes add up, the
    /// name is non-empty and NUL-terminated.
    public static func decode(_ bytes: [UInt8]) throws(SecmodError) -> RsaKeyAvailable {
        let h = try MessageHeader.ofDatagram(bytes)
        guard h.type == RsaMessageType.avail, bytes.count >= fixedByteCount else {
            throw SecmodError(.malformed, "RSA AVAIL must be at least \(fixedByteCount) bytes of type 2")
        }
        var r = ByteReader(bytes, offset: 4)
        let pubSize = Int(try r.u16())
        let nameSize = Int(try r.u16())
        guard bytes.count == fixedByteCount + pubSize + nameSize, nameSize > 0, bytes.last == 0 else {
            throw SecmodError(.malformed, "RSA AVAIL sizes do not add up or the section name is not NUL-terminated")
        }
        let anchor = Timestamp(microseconds: try r.u64())
        let duration = RelativeTime(microseconds: try r.u64())
        let smPub = try r.take(32, "secm_pub")
        let smSig = try r.take(64, "secm_sig")
        let pub = try r.take(pubSize, "RSA public key")
        let name = try r.take(nameSize - 1, "section name")
        guard !name.contains(0) else { throw SecmodError(.malformed, "RSA AVAIL section name contains a NUL") }
        // Decoding with replacement characters would change the bytes the module signed.
        guard let section = String(validating: name, as: UTF8.self) else {
            throw SecmodError(.malformed, "RSA AVAIL section name is not valid UTF-8")
        }
        return RsaKeyAvailable(anchor: anchor, durationWithdraw: duration, securityModulePublicKey: smPub,
                               securityModuleSignature: smSig, publicKey: pub, section: section)
    }
}

/// PURGE and REVOKE share a layout: header, reserved, `h_rsa` (wire.md §4.5, §4.8), 72 bytes.
public enum RsaKeyMessage {
    public static let byteCount = 72

    public static func encode(type: UInt16, hash: [UInt8]) -> [UInt8] {
        precondition(hash.count == 64)
        var w = ByteWriter(capacity: byteCount)
        w.header(type: type)
        w.u32(0)
        w.append(hash)
        return w.finish()
    }

    public static func decodeHash(_ bytes: [UInt8]) throws(SecmodError) -> [UInt8] {
        guard bytes.count == byteCount else {
            throw SecmodError(.malformed, "RSA PURGE/REVOKE must be \(byteCount) bytes, got \(bytes.count)")
        }
        return Array(bytes[8..<72])
    }
}

/// SIGN request: header, reserved, `h_rsa`, then the blinded message (wire.md §4.3).
public enum RsaSignRequest {
    public static let headerByteCount = 72

    public static func encode(hash: [UInt8], blindedMessage: [UInt8]) -> [UInt8] {
        precondition(hash.count == 64)
        var w = ByteWriter(capacity: headerByteCount + blindedMessage.count)
        w.header(type: RsaMessageType.sign)
        w.u32(0)
        w.append(hash)
        w.append(blindedMessage)
        return w.finish()
    }

    /// The key hash and where the blinded message lies within `bytes[range]`, which holds
    /// one SIGN request (a whole datagram, or a sub-request of a batch).
    public struct Parsed: Sendable, Equatable {
        public let hash: [UInt8]
        public let message: Range<Int>
    }

    /// Throws `.malformed` if shorter than its header; an empty payload is reported as an
    /// empty `message` range for the caller to refuse.
    public static func parse(_ bytes: [UInt8], range: Range<Int>) throws(SecmodError) -> Parsed {
        guard range.count >= headerByteCount else {
            throw SecmodError(.malformed, "RSA SIGN of \(range.count) bytes is shorter than its \(headerByteCount)-byte header")
        }
        return Parsed(hash: Array(bytes[range.lowerBound + 8..<range.lowerBound + 72]),
                      message: range.lowerBound + 72..<range.upperBound)
    }
}

/// BATCH_SIGN: header, `batch_size`, then that many complete SIGN requests (wire.md §4.4).
public enum RsaBatchSignRequest {
    /// `TALER_MAX_FRESH_COINS`.
    public static let maximumBatchSize = 256

    public static func encode(_ requests: [[UInt8]]) -> [UInt8] {
        var w = ByteWriter(capacity: 8 + requests.reduce(0) { $0 + $1.count })
        w.header(type: RsaMessageType.batchSign)
        w.u32(UInt32(requests.count))
        for r in requests { w.append(r) }
        return w.finish()
    }

    /// The outcome of walking a batch, strictly (dgram-transport.md): the sub-requests
    /// parsed before anything went wrong, and whether something did.
    public struct Walk: Sendable {
        public var requests: [RsaSignRequest.Parsed?] = []  // nil: an empty payload (its own code 26)
        public var brokePartWay = false
    }

    /// Validates the batch header. Throws `.malformed` for a total of 8 bytes or less, or a
    /// `batch_size` of 0 or above 256: those get one SIGN_FAILURE 26, no walk.
    public static func walk(_ bytes: [UInt8]) throws(SecmodError) -> Walk {
        guard bytes.count > 8 else { throw SecmodError(.malformed, "RSA BATCH_SIGN of \(bytes.count) bytes has no sub-request") }
        var r = ByteReader(bytes, offset: 4)
        let count = Int(try r.u32())
        guard count >= 1, count <= maximumBatchSize else {
            throw SecmodError(.malformed, "RSA BATCH_SIGN batch_size \(count) is not between 1 and \(maximumBatchSize)")
        }
        var walk = Walk()
        var offset = 8
        while walk.requests.count < count {
            guard let h = MessageHeader.peek(bytes, at: offset), h.size >= RsaSignRequest.headerByteCount,
                  h.size <= bytes.count - offset else {
                walk.brokePartWay = true
                return walk
            }
            let parsed = try RsaSignRequest.parse(bytes, range: offset..<offset + h.size)
            walk.requests.append(parsed.message.isEmpty ? nil : parsed)
            offset += h.size
        }
        if offset != bytes.count { walk.brokePartWay = true }  // trailing bytes
        return walk
    }
}

/// SIGNATURE reply: header, reserved, the minimal big-endian signature (wire.md §4.6).
public enum RsaSignature {
    public static func encode(_ signature: [UInt8]) -> [UInt8] {
        var w = ByteWriter(capacity: 8 + signature.count)
        w.header(type: RsaMessageType.signature)
        w.u32(0)
        w.append(signature)
        return w.finish()
    }

    public static func decode(_ bytes: [UInt8]) throws(SecmodError) -> [UInt8] {
        let h = try MessageHeader.ofDatagram(bytes)
        guard h.type == RsaMessageType.signature, bytes.count > 8 else {
            throw SecmodError(.malformed, "RSA SIGNATURE must be longer than 8 bytes")
        }
        return Array(bytes[8...])
    }
}
