import SecmodBase

/// The ssh-agent protocol's framing (RFC 9987 §3): each message is a uint32 length and that
/// many bytes, the first of which is the message type.
public enum AgentFraming {
    /// The largest message the agent reads, as OpenSSH's `AGENT_MAX_LEN` (256 KiB): enough
    /// for any key and any signing request a client makes; more is an attack or a bug.
    public static let maximumMessageSize = 256 * 1024

    /// Frames `payload` (type byte first) for sending.
    public static func frame(_ payload: [UInt8]) -> [UInt8] {
        var w = SSHWriter()
        w.string(payload)
        return w.bytes
    }

    /// What the bytes received so far hold.
    public enum Next: Equatable, Sendable {
        /// A whole message: its payload (type byte first) and how many bytes it took.
        case message(ArraySlice<UInt8>, consumed: Int)
        /// More bytes are needed.
        case incomplete
        /// The length field is zero or above `maximumMessageSize`: the connection is closed,
        /// since nothing after it can be framed.
        case invalid(length: UInt32)
    }

    /// Looks for one message at the start of `buffer[start..<end]`.
    public static func next(in buffer: [UInt8], from start: Int, to end: Int) -> Next {
        guard end - start >= 4 else { return .incomplete }
        var length: UInt32 = 0
        for i in 0..<4 { length = length << 8 | UInt32(buffer[start + i]) }
        guard length >= 1, length <= UInt32(maximumMessageSize) else { return .invalid(length: length) }
        let total = 4 + Int(length)
        guard end - start >= total else { return .incomplete }
        return .message(buffer[(start + 4)..<(start + total)], consumed: total)
    }
}
