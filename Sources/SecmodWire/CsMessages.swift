import SecmodBase
import SecmodSystem

/// Message types of the Clause-Schnorr helper (wire.md §6.1).
public enum CsMessageType {
    public static let purge: UInt16 = 1
    public static let avail: UInt16 = 2
    public static let initialize: UInt16 = 3
    public static let batchSign: UInt16 = 4
    public static let sign: UInt16 = 5
    public static let revoke: UInt16 = 6
    public static let batchDerive: UInt16 = 7
    public static let derive: UInt16 = 8
    public static let signature: UInt16 = 9
    public static let signFailure: UInt16 = 10
    public static let batchSignFailure: UInt16 = 11
    public static let deriveResponse: UInt16 = 12
    public static let deriveFailure: UInt16 = 13
    public static let batchDeriveFailure: UInt16 = 14
    public static let synced: UInt16 = 15
}

/// Which SIGNATURE layout a CS helper speaks (`CS_WIRE`, wire.md §6.5): Taler 0.14's
/// (`current`, 40 bytes, b big-endian) or Taler 0.9's (44 bytes, a reserved word, then b
/// in the host's byte order, which is little-endian on every host Taler runs on).
public enum CsWireVersion: String, Sendable, CaseIterable {
    case current
    case v0_9 = "0.9"
}

/// AVAIL: a CS denomination key with its section and the module's signature (wire.md §6.2).
public struct CsKeyAvailable: Sendable, Equatable {
    public static let fixedByteCount = 152
    public let anchor: Timestamp
    public let durationWithdraw: RelativeTime
    public let securityModulePublicKey: [UInt8]
    public let securityModuleSignature: [UInt8]
    /// The 32-byte CS public key.
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

    /// The name length field as Taler writes it: `htons(length)` stored in a 32-bit field
    /// on a little-endian host, so the bytes are the length big-endian, then two zeros
    /// (wire.md §6.2). Taler's client reads it back with `ntohs` and so agrees.
    static func nameLengthField(_ length: Int) -> [UInt8] {
        [UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), 0, 0]
    }

    public func encode() -> [UInt8] {
        let name = Array(section.utf8) + [0]
        var w = ByteWriter(capacity: Self.fixedByteCount + name.count)
        w.header(type: CsMessageType.avail)
        w.append(Self.nameLengthField(name.count))
        w.u64(anchor.microseconds)
        w.u64(durationWithdraw.microseconds)
        w.append(securityModulePublicKey)
        w.append(securityModuleSignature)
        w.append(publicKey)
        w.append(name)
        return w.finish()
    }

    /// Decodes with the checks Taler's client makes (crypto_helper_cs.c): sizes add up, the
    /// name is non-empty and NUL-terminated.
    public static func decode(_ bytes: [UInt8]) throws(SecmodError) -> CsKeyAvailable {
        let h = try MessageHeader.ofDatagram(bytes)
        guard h.type == CsMessageType.avail, bytes.count > fixedByteCount else {
            throw SecmodError(.malformed, "CS AVAIL must be more than \(fixedByteCount) bytes of type 2")
        }
        let nameSize = Int(bytes[4]) << 8 | Int(bytes[5])
        guard bytes[6] == 0, bytes[7] == 0, bytes.count == fixedByteCount + nameSize, nameSize > 0, bytes.last == 0 else {
            throw SecmodError(.malformed, "CS AVAIL sizes do not add up or the section name is not NUL-terminated")
        }
        var r = ByteReader(bytes, offset: 8)
        let anchor = Timestamp(microseconds: try r.u64())
        let duration = RelativeTime(microseconds: try r.u64())
        let smPub = try r.take(32, "secm_pub")
        let smSig = try r.take(64, "secm_sig")
        let pub = try r.take(32, "CS public key")
        let name = try r.take(nameSize - 1, "section name")
        guard !name.contains(0) else { throw SecmodError(.malformed, "CS AVAIL section name contains a NUL") }
        guard let section = String(validating: name, as: UTF8.self) else {
            throw SecmodError(.malformed, "CS AVAIL section name is not valid UTF-8")
        }
        return CsKeyAvailable(anchor: anchor, durationWithdraw: duration, securityModulePublicKey: smPub,
                              securityModuleSignature: smSig, publicKey: pub, section: section)
    }
}

/// PURGE and REVOKE: header, reserved, `h_cs` (wire.md §6.2), 72 bytes, as the RSA helper's.
public enum CsKeyMessage {
    public static let byteCount = 72

    public static func encode(type: UInt16, hash: [UInt8]) -> [UInt8] {
        RsaKeyMessage.encode(type: type, hash: hash)
    }

    public static func decodeHash(_ bytes: [UInt8]) throws(SecmodError) -> [UInt8] {
        guard bytes.count == byteCount else {
            throw SecmodError(.malformed, "CS PURGE/REVOKE must be \(byteCount) bytes, got \(bytes.count)")
        }
        return Array(bytes[8..<72])
    }
}

/// SIGN (168 bytes: header, `for_melt`, `h_cs`, c₀, c₁, nonce) and RDERIVE (104 bytes:
/// header, `for_melt`, `h_cs`, nonce): wire.md §6.2.
public struct CsRequest: Sendable, Equatable {
    public static let signByteCount = 168
    public static let deriveByteCount = 104

    public let forMelt: Bool
    public let hash: [UInt8]
    /// c₀ ‖ c₁; empty for RDERIVE.
    public let challenges: [UInt8]
    public let nonce: [UInt8]

    public init(forMelt: Bool, hash: [UInt8], challenges: [UInt8], nonce: [UInt8]) {
        self.forMelt = forMelt
        self.hash = hash
        self.challenges = challenges
        self.nonce = nonce
    }

    public var isSign: Bool { !challenges.isEmpty }

    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: isSign ? Self.signByteCount : Self.deriveByteCount)
        Self.write(into: &w, forMelt: forMelt, hash: hash, challenges: challenges, nonce: nonce)
        return w.bytes
    }

    /// Appends one SIGN (with `challenges`) or RDERIVE (`challenges` empty) to `w`, its size
    /// filled in: a client builds a batch of 256 in one buffer this way, without a request
    /// value and a message per item.
    public static func write(into w: inout ByteWriter, forMelt: Bool, hash: [UInt8], challenges: [UInt8], nonce: [UInt8]) {
        w.u16(UInt16(8 + hash.count + challenges.count + nonce.count))
        w.u16(challenges.isEmpty ? CsMessageType.derive : CsMessageType.sign)
        w.u32(forMelt ? 1 : 0)
        w.append(hash)
        w.append(challenges)
        w.append(nonce)
    }

    /// Parses one request of exactly its size at `bytes[range]` (a whole message or a batch
    /// item). `for_melt` is any non-zero value, as Taler reads it.
    public static func parse(_ bytes: [UInt8], range: Range<Int>, sign: Bool) throws(SecmodError) -> CsRequest {
        let size = sign ? signByteCount : deriveByteCount
        guard range.count == size else {
            throw SecmodError(.malformed, "CS \(sign ? "SIGN" : "RDERIVE") must be \(size) bytes, got \(range.count)")
        }
        let at = Fields(sign: sign, offset: range.lowerBound)
        return CsRequest(forMelt: at.forMelt(bytes), hash: Array(bytes[at.hash]),
                         challenges: sign ? Array(bytes[at.challenges]) : [], nonce: Array(bytes[at.nonce]))
    }

    /// Where the fields of a SIGN or RDERIVE lie in a message whose request starts at
    /// `offset` (a whole message, or an item of a batch): a helper reads them there, without
    /// copying 256 requests out of a batch. The size must have been checked (`parse`,
    /// `CsBatchRequest.layout`).
    public struct Fields: Sendable {
        public let isSign: Bool
        public let offset: Int

        public init(sign: Bool, offset: Int) {
            isSign = sign
            self.offset = offset
        }

        /// `for_melt` is any non-zero value, as Taler reads it.
        public func forMelt(_ bytes: [UInt8]) -> Bool {
            bytes[offset + 4] | bytes[offset + 5] | bytes[offset + 6] | bytes[offset + 7] != 0
        }

        public var hash: Range<Int> { offset + 8 ..< offset + 72 }
        /// c₀ ‖ c₁ (SIGN only).
        public var challenges: Range<Int> { offset + 72 ..< offset + 136 }
        public var nonce: Range<Int> { isSign ? offset + 136 ..< offset + 168 : offset + 72 ..< offset + 104 }
    }
}

/// BATCH_SIGN and BATCH_RDERIVE: header, `batch_size`, then that many complete requests
/// (wire.md §6.2).
public enum CsBatchRequest {
    /// `TALER_MAX_FRESH_COINS`.
    public static let maximumBatchSize = 256

    public static func encode(_ requests: [CsRequest], sign: Bool) -> [UInt8] {
        encode(count: requests.count, sign: sign) { w, i in
            let r = requests[i]
            CsRequest.write(into: &w, forMelt: r.forMelt, hash: r.hash, challenges: r.challenges, nonce: r.nonce)
        }
    }

    /// A batch of `count` items, each appended by `item` (with `CsRequest.write`) into the
    /// one buffer of the message.
    public static func encode(count: Int, sign: Bool, item: (inout ByteWriter, Int) -> Void) -> [UInt8] {
        var w = ByteWriter(capacity: 8 + count * (sign ? CsRequest.signByteCount : CsRequest.deriveByteCount))
        w.header(type: sign ? CsMessageType.batchSign : CsMessageType.batchDerive)
        w.u32(UInt32(count))
        for i in 0..<count { item(&w, i) }
        return w.finish()
    }

    /// The requests parsed before anything went wrong, and whether something did.
    public struct Walk: Sendable {
        public var requests: [CsRequest] = []
        public var brokePartWay = false
    }

    /// Validates the batch header (more than 8 bytes; `batch_size` from 1 to 256, else
    /// `.malformed`), then walks the items strictly: an item of the wrong type or size, or
    /// bytes left over, break the batch where they are.
    public static func walk(_ bytes: [UInt8], sign: Bool) throws(SecmodError) -> Walk {
        let layout = try layout(bytes, sign: sign)
        let size = sign ? CsRequest.signByteCount : CsRequest.deriveByteCount
        var walk = Walk(requests: [], brokePartWay: layout.brokePartWay)
        walk.requests.reserveCapacity(layout.items)
        for i in 0..<layout.items {
            walk.requests.append(try CsRequest.parse(bytes, range: 8 + i * size ..< 8 + (i + 1) * size, sign: sign))
        }
        return walk
    }

    /// What `walk` checks, without parsing: how many whole items lead the batch (item i is
    /// the request at 8 + i × its size), and whether the batch broke after them.
    public static func layout(_ bytes: [UInt8], sign: Bool) throws(SecmodError) -> (items: Int, brokePartWay: Bool) {
        let name = sign ? "BATCH_SIGN" : "BATCH_RDERIVE"
        guard bytes.count > 8 else { throw SecmodError(.malformed, "CS \(name) of \(bytes.count) bytes has no item") }
        var r = ByteReader(bytes, offset: 4)
        let count = Int(try r.u32())
        guard count >= 1, count <= maximumBatchSize else {
            throw SecmodError(.malformed, "CS \(name) batch_size \(count) is not between 1 and \(maximumBatchSize)")
        }
        let size = sign ? CsRequest.signByteCount : CsRequest.deriveByteCount
        let type = sign ? CsMessageType.sign : CsMessageType.derive
        var items = 0
        var offset = 8
        while items < count {
            guard let h = MessageHeader.peek(bytes, at: offset), h.size == size, h.type == type, size <= bytes.count - offset else {
                return (items, true)
            }
            items += 1
            offset += size
        }
        return (items, offset != bytes.count)
    }
}

/// SIGNATURE: b and the blinded s (wire.md §6.5), in the layout of `CsWireVersion`.
public enum CsSignature {
    public static func byteCount(_ version: CsWireVersion) -> Int { version == .current ? 40 : 44 }

    public static func encode(b: UInt32, s: [UInt8], version: CsWireVersion) -> [UInt8] {
        precondition(s.count == 32 && b <= 1)
        var w = ByteWriter(capacity: byteCount(version))
        w.header(type: CsMessageType.signature)
        switch version {
        case .current:
            w.u32(b)
        case .v0_9:
            w.u32(0)
            w.append([UInt8(b), 0, 0, 0])  // `unsigned int b`, little-endian host order
        }
        w.append(s)
        return w.finish()
    }

    public static func decode(_ bytes: [UInt8], version: CsWireVersion) throws(SecmodError) -> (b: UInt32, s: [UInt8]) {
        let h = try MessageHeader.ofDatagram(bytes)
        guard h.type == CsMessageType.signature, bytes.count == byteCount(version) else {
            throw SecmodError(.malformed, "CS SIGNATURE (\(version.rawValue) layout) must be \(byteCount(version)) bytes of type 9")
        }
        var r = ByteReader(bytes, offset: 4)
        let b: UInt32
        switch version {
        case .current:
            b = try r.u32()
        case .v0_9:
            _ = try r.u32()
            let raw = try r.take(4, "b")
            b = UInt32(raw[0]) | UInt32(raw[1]) << 8 | UInt32(raw[2]) << 16 | UInt32(raw[3]) << 24
        }
        guard b <= 1 else { throw SecmodError(.malformed, "CS SIGNATURE with b = \(b)") }
        return (b, try r.take(32, "s"))
    }
}

/// RDERIVE's answer: header, reserved, R₀ ‖ R₁ (wire.md §6.2), 72 bytes.
public enum CsDeriveResponse {
    public static let byteCount = 72

    public static func encode(_ r: [UInt8]) -> [UInt8] {
        precondition(r.count == 64)
        var w = ByteWriter(capacity: byteCount)
        w.header(type: CsMessageType.deriveResponse)
        w.u32(0)
        w.append(r)
        return w.finish()
    }

    public static func decode(_ bytes: [UInt8]) throws(SecmodError) -> [UInt8] {
        let h = try MessageHeader.ofDatagram(bytes)
        guard h.type == CsMessageType.deriveResponse, bytes.count == byteCount else {
            throw SecmodError(.malformed, "CS RDERIVE response must be \(byteCount) bytes of type 12")
        }
        return Array(bytes[8..<72])
    }
}
