import SecmodBase
import SecmodSystem

/// Reads network-byte-order fields from a received message, bounds-checked: a short
/// message is an error, never an out-of-bounds read.
public struct ByteReader: Sendable {
    public let bytes: [UInt8]
    public private(set) var offset: Int
    public let end: Int

    public init(_ bytes: [UInt8], offset: Int = 0, end: Int? = nil) {
        self.bytes = bytes
        self.offset = offset
        self.end = end ?? bytes.count
    }

    public var remaining: Int { end - offset }

    private mutating func need(_ n: Int, _ what: String) throws(SecmodError) {
        guard remaining >= n else {
            throw SecmodError(.malformed, "message too short for \(what): \(remaining) bytes left, \(n) needed")
        }
    }

    public mutating func u16(_ what: String = "uint16") throws(SecmodError) -> UInt16 {
        try need(2, what)
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    public mutating func u32(_ what: String = "uint32") throws(SecmodError) -> UInt32 {
        try need(4, what)
        var v: UInt32 = 0
        for i in 0..<4 { v = v << 8 | UInt32(bytes[offset + i]) }
        offset += 4
        return v
    }

    public mutating func u64(_ what: String = "uint64") throws(SecmodError) -> UInt64 {
        try need(8, what)
        var v: UInt64 = 0
        for i in 0..<8 { v = v << 8 | UInt64(bytes[offset + i]) }
        offset += 8
        return v
    }

    public mutating func take(_ n: Int, _ what: String) throws(SecmodError) -> [UInt8] {
        try need(n, what)
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }
}
