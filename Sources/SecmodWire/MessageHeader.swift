import SecmodBase
import SecmodSystem

/// The 4-byte GNUnet message header: total size including the header, then the type,
/// both big-endian (wire.md §2.1).
public struct MessageHeader: Sendable, Equatable {
    public static let byteCount = 4
    /// The 16-bit size field caps every message.
    public static let maximumMessageSize = Int(UInt16.max)

    public let size: Int
    public let type: UInt16

    public init(size: Int, type: UInt16) {
        self.size = size
        self.type = type
    }

    /// Reads the header at the start of `bytes`; nil when fewer than 4 bytes are present.
    public static func peek(_ bytes: [UInt8], at offset: Int = 0) -> MessageHeader? {
        guard bytes.count - offset >= byteCount else { return nil }
        return MessageHeader(size: Int(bytes[offset]) << 8 | Int(bytes[offset + 1]),
                             type: UInt16(bytes[offset + 2]) << 8 | UInt16(bytes[offset + 3]))
    }

    /// The header of one datagram, which must hold exactly one message.
    public static func ofDatagram(_ bytes: [UInt8]) throws(SecmodError) -> MessageHeader {
        guard let header = peek(bytes) else {
            throw SecmodError(.malformed, "datagram of \(bytes.count) bytes is shorter than a message header")
        }
        guard header.size == bytes.count else {
            throw SecmodError(.malformed, "header says \(header.size) bytes but the datagram has \(bytes.count)")
        }
        return header
    }

    /// A message that is only a header (INIT, SYNCED).
    public static func bare(type: UInt16) -> [UInt8] {
        [0, 4, UInt8(type >> 8), UInt8(type & 0xff)]
    }
}
