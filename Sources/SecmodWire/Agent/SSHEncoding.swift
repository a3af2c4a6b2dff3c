import SecmodBase

/// Reads the SSH wire types of RFC 4251 §5 (`byte`, `boolean`, `uint32`, `uint64`,
/// `string`, `mpint`) from bytes a peer sent, bounds-checked: a short or inconsistent field
/// is a `.malformed` error, never an out-of-bounds read or a huge allocation.
public struct SSHReader: Sendable {
    private var reader: ByteReader

    public init(_ bytes: [UInt8]) { reader = ByteReader(bytes) }
    public init(_ bytes: ArraySlice<UInt8>) { reader = ByteReader(Array(bytes)) }

    public var remaining: Int { reader.remaining }
    public var isAtEnd: Bool { reader.remaining == 0 }

    public mutating func byte(_ what: String) throws(SecmodError) -> UInt8 { try reader.take(1, what)[0] }

    /// RFC 4251: any nonzero byte is true; a peer that sends other than 0 or 1 is refused,
    /// since what it signs must have one reading only.
    public mutating func bool(_ what: String) throws(SecmodError) -> Bool {
        switch try byte(what) {
        case 0: return false
        case 1: return true
        case let other: throw SecmodError(.malformed, "\(what): boolean \(other) is neither 0 nor 1")
        }
    }

    public mutating func uint32(_ what: String) throws(SecmodError) -> UInt32 { try reader.u32(what) }
    public mutating func uint64(_ what: String) throws(SecmodError) -> UInt64 { try reader.u64(what) }

    /// A `string`: a uint32 length and that many bytes, at most `maximum`.
    public mutating func string(_ what: String, maximum: Int = Int(UInt32.max)) throws(SecmodError) -> [UInt8] {
        let length = Int(try reader.u32("\(what) length"))
        guard length <= maximum else {
            throw SecmodError(.malformed, "\(what): \(length) bytes, more than the \(maximum) allowed")
        }
        return try reader.take(length, what)
    }

    /// A `string` that must be printable US-ASCII (names of algorithms, extensions, namespaces).
    public mutating func name(_ what: String, maximum: Int = 256) throws(SecmodError) -> String {
        let bytes = try string(what, maximum: maximum)
        guard bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw SecmodError(.malformed, "\(what): not a printable ASCII name")
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A non-negative `mpint`, returned big-endian without leading zeros. A negative value or
    /// a non-minimal encoding (RFC 4251 forbids unnecessary leading bytes) is refused.
    public mutating func positiveMpint(_ what: String, maximum: Int = 2049) throws(SecmodError) -> [UInt8] {
        let bytes = try string(what, maximum: maximum)
        guard let first = bytes.first else { return [] }
        guard first & 0x80 == 0 else { throw SecmodError(.malformed, "\(what): negative mpint") }
        if first == 0 {
            guard bytes.count > 1, bytes[1] & 0x80 != 0 else {
                throw SecmodError(.malformed, "\(what): mpint with an unnecessary leading zero")
            }
            return Array(bytes.dropFirst())
        }
        return bytes
    }

    /// The rest, unread.
    public mutating func rest() throws(SecmodError) -> [UInt8] { try reader.take(reader.remaining, "rest") }

    /// Nothing may follow the last field: trailing bytes would give one message two readings.
    public func end(_ what: String) throws(SecmodError) {
        guard isAtEnd else { throw SecmodError(.malformed, "\(what): \(remaining) unexpected bytes at the end") }
    }
}

/// Writes the SSH wire types of RFC 4251 §5.
public struct SSHWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func byte(_ v: UInt8) { bytes.append(v) }
    public mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }

    public mutating func uint32(_ v: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(shift))) }
    }

    public mutating func uint64(_ v: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(shift))) }
    }

    public mutating func string<C: Collection>(_ data: C) where C.Element == UInt8 {
        uint32(UInt32(data.count))
        bytes.append(contentsOf: data)
    }

    public mutating func string(_ text: String) { string(Array(text.utf8)) }

    /// A non-negative integer given big-endian: leading zeros dropped, one zero byte put back
    /// when the top bit is set (RFC 4251 `mpint`).
    public mutating func positiveMpint(_ bigEndian: [UInt8]) {
        let digits = bigEndian.drop { $0 == 0 }
        if let first = digits.first, first & 0x80 != 0 {
            string([0] + digits)
        } else {
            string(digits)
        }
    }

    public mutating func raw<C: Collection>(_ data: C) where C.Element == UInt8 { bytes.append(contentsOf: data) }
}
