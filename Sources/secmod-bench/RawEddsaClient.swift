import SecmodBase
import SecmodSystem
import SecmodWire
#if canImport(Glibc)
import Glibc
#endif

/// A bare-bones EdDSA helper client for diagnosis only: the same handshake and SIGN
/// datagrams as `EddsaHelperClient`, but no signature verification, no poll before each
/// receive and no per-request allocation.
///
/// Comparing its rate with the real client's separates what the helper costs from what the
/// client library costs, since both share the same two cores. Never use it to sign for real:
/// it trusts whatever comes back.
final class RawEddsaClient {
    private let socket: SocketHandle
    private let request: [UInt8]
    private var buffer = [UInt8](repeating: 0, count: MessageHeader.maximumMessageSize + 1)

    /// Handshakes (INIT carrying one end of a socket pair, then AVAIL… SYNCED on the other)
    /// and prepares one request.
    init(socketPath: String, purposeBytes: [UInt8]) throws(SecmodError) {
        request = EddsaSignRequest.encode(purposeBytes: purposeBytes)
        let pair = try UnixSocket.pair(.seqpacket)
        let initSocket = try UnixSocket(.datagram)
        let helper = try UnixAddress(path: socketPath)
        do throws(Errno) {
            try initSocket.send(MessageHeader.bare(type: EddsaMessageType.initialize), to: helper, passing: pair.passed)
            while true {
                guard let (length, _, _) = try pair.kept.receive(into: &buffer, blocking: true) else { continue }
                guard length > 0 else { throw Errno(ECONNRESET) }
                if length >= 4, MessageHeader.peek(buffer)?.type == EddsaMessageType.synced { break }
            }
        } catch {
            throw error.error("raw handshake with \(socketPath)")
        }
        socket = SocketHandle(pair.kept)
    }

    /// One SIGN round trip with blocking send and receive.
    func sign() throws(SecmodError) {
        let fd = socket.socket.rawValue
        let sent = request.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
        guard sent == request.count else { throw Errno.current.error("raw send") }
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Errno.current.error("raw receive")
            }
            if n == 0 { throw SecmodError(.unavailable, "the helper closed the session") }
            guard n >= 4, let header = MessageHeader.peek(buffer) else { continue }
            if header.type == EddsaMessageType.signature { return }
            if header.type == EddsaMessageType.signFailure { throw SecmodError(.helperRefused, "the helper refused to sign") }
            // AVAIL or PURGE pushed meanwhile: not this benchmark's business.
        }
    }
}
