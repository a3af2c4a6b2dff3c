/// Builds a message in network byte order. GNUnet structs have no padding, so writing the
/// fields in order gives the exact C layout.
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func u16(_ v: UInt16) {
        bytes.append(UInt8(v >> 8)); bytes.append(UInt8(v & 0xff))
    }

    public mutating func u32(_ v: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8((v >> UInt32(shift)) & 0xff)) }
    }

    public mutating func u64(_ v: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((v >> UInt64(shift)) & 0xff)) }
    }

    public mutating func append<C: Collection>(_ data: C) where C.Element == UInt8 { bytes.append(contentsOf: data) }

    /// Writes a GNUnet message header whose size is patched by `finish()`.
    public mutating func header(type: UInt16) {
        u16(0); u16(type)
    }

    /// Patches the header's size field with the final length. Messages never exceed 65535 bytes.
    public mutating func finish() -> [UInt8] {
        precondition(bytes.count >= 4 && bytes.count <= Int(UInt16.max), "message of \(bytes.count) bytes")
        bytes[0] = UInt8(bytes.count >> 8)
        bytes[1] = UInt8(bytes.count & 0xff)
        return bytes
    }
}
