internal import CSecmodShim
#if canImport(Glibc)
import Glibc
import SecmodBase
#endif

/// One datagram as received: its true length (which may exceed the buffer), the sender
/// and, when `SO_PASSCRED` is set, the sender's kernel-attested credentials.
public struct ReceivedDatagram: Sendable {
    public var bytes: [UInt8]
    public let trueLength: Int
    public let sender: UnixAddress
    public let credentials: PeerCredentials?
    public var isTruncated: Bool { trueLength > bytes.count }
}

/// Outcome of a non-blocking send.
public enum SendResult: Sendable, Equatable {
    case sent
    /// The kernel buffer or the peer's queue is full: try again on POLLOUT.
    case wouldBlock
}

/// An AF_UNIX socket (datagram or stream), owned and closed once.
public struct UnixSocket: ~Copyable, @unchecked Sendable {
    public let descriptor: FileDescriptor
    public var rawValue: Int32 { descriptor.rawValue }

    public enum Kind: Sendable {
        case datagram, stream, seqpacket

        var rawType: Int32 {
            switch self {
            case .datagram: Int32(SOCK_DGRAM.rawValue)
            case .stream: Int32(SOCK_STREAM.rawValue)
            case .seqpacket: Int32(SOCK_SEQPACKET.rawValue)
            }
        }
    }

    public init(_ kind: Kind, nonBlocking: Bool = false) throws(SecmodError) {
        var type = kind.rawType | Int32(SOCK_CLOEXEC.rawValue)
        if nonBlocking { type |= Int32(SOCK_NONBLOCK.rawValue) }
        let fd = socket(AF_UNIX, type, 0)
        if fd < 0 { throw Errno.current.error("socket(AF_UNIX)") }
        descriptor = FileDescriptor(adopting: fd)
    }

    public init(adopting fd: consuming FileDescriptor) { descriptor = fd }

    /// A connected pair with no name (`socketpair(2)`): nobody but the holders of its two
    /// ends can send to, connect to or read from it. The datagram transport's sessions are
    /// such pairs of `.seqpacket` sockets.
    public static func pair(_ kind: Kind) throws(SecmodError) -> SocketPair {
        var fds: [Int32] = [-1, -1]
        if fds.withUnsafeMutableBufferPointer({ secmod_socketpair(kind.rawType, $0.baseAddress) }) != 0 {
            throw Errno.current.error("socketpair(AF_UNIX)")
        }
        return SocketPair(kept: UnixSocket(adopting: FileDescriptor(adopting: fds[0])),
                          passed: UnixSocket(adopting: FileDescriptor(adopting: fds[1])))
    }

    /// Sends one message carrying `passed` (SCM_RIGHTS), to `address` or the connected peer.
    /// Blocks until the receiver's queue takes it. Never raises SIGPIPE.
    public func send(_ bytes: [UInt8], to address: UnixAddress?, passing passed: borrowing UnixSocket) throws(Errno) {
        let fd = passed.rawValue
        let n: Int
        if let address {
            var raw = address.raw
            n = bytes.withUnsafeBytes { buf in retryingInterrupts { secmod_send_descriptor(rawValue, buf.baseAddress, buf.count, &raw, fd, 0) } }
        } else {
            n = bytes.withUnsafeBytes { buf in retryingInterrupts { secmod_send_descriptor(rawValue, buf.baseAddress, buf.count, nil, fd, 0) } }
        }
        if n < 0 { throw Errno.current }
    }

    /// Receives one message that may carry a descriptor (a datagram INIT). The first passed
    /// descriptor is handed over owned; any others are closed before this returns. Returns
    /// nil when a non-blocking receive finds nothing.
    public func receiveHandover(into buffer: inout [UInt8]) throws(Errno) -> Handover? {
        var raw = secmod_handover()
        let n = buffer.withUnsafeMutableBytes { buf in
            retryingInterrupts { secmod_recv_handover(rawValue, buf.baseAddress, buf.count, &raw, Int32(MSG_DONTWAIT)) }
        }
        if n < 0 {
            let e = Errno.current
            if e == .again { return nil }
            throw e
        }
        return Handover(length: n, credentials: PeerCredentials(raw.credentials),
                        descriptorCount: Int(raw.descriptor_count), controlTruncated: raw.control_truncated != 0,
                        descriptorIdentity: raw.descriptor >= 0 ? SocketIdentity(of: raw.descriptor) : nil,
                        descriptor: raw.descriptor >= 0 ? FileDescriptor(adopting: raw.descriptor) : nil)
    }

    public func bind(to address: UnixAddress) throws(Errno) {
        var raw = address.raw
        if secmod_bind(rawValue, &raw) != 0 { throw Errno.current }
    }

    public func connect(to address: UnixAddress) throws(Errno) {
        var raw = address.raw
        if retryingInterrupts({ secmod_connect(rawValue, &raw) }) != 0 { throw Errno.current }
    }

    /// Dissolves the association made by `connect`.
    public func disconnect() throws(Errno) {
        if secmod_disconnect(rawValue) != 0 { throw Errno.current }
    }

    /// Asks the kernel to attach the sender's credentials to every datagram received.
    /// On an unbound socket this also autobinds it to an abstract address.
    public func setPassCredentials() throws(Errno) {
        if secmod_set_int_option(rawValue, SOL_SOCKET, SO_PASSCRED, 1) != 0 { throw Errno.current }
    }

    /// Raises the send buffer; the kernel caps the request at `net.core.wmem_max`.
    public func setSendBufferSize(_ bytes: Int) throws(Errno) {
        if secmod_set_int_option(rawValue, SOL_SOCKET, SO_SNDBUF, Int32(clamping: bytes)) != 0 { throw Errno.current }
    }

    /// Makes blocking receives give up with EAGAIN after `milliseconds`, so a blocking
    /// client can wait without a poll(2) per message and still look up every so often.
    public func setReceiveTimeout(milliseconds: Int) throws(Errno) {
        if secmod_set_receive_timeout(rawValue, Int32(milliseconds)) != 0 { throw Errno.current }
    }

    /// Sends one datagram, to `address` or to the connected peer. Never raises SIGPIPE.
    public func send(_ bytes: [UInt8], to address: UnixAddress? = nil, blocking: Bool = true) throws(Errno) -> SendResult {
        let flags = blocking ? Int32(0) : Int32(MSG_DONTWAIT)
        let n: Int
        if let address {
            var raw = address.raw
            n = bytes.withUnsafeBytes { buf in retryingInterrupts { secmod_sendto(rawValue, buf.baseAddress, buf.count, &raw, flags) } }
        } else {
            n = bytes.withUnsafeBytes { buf in retryingInterrupts { secmod_sendto(rawValue, buf.baseAddress, buf.count, nil, flags) } }
        }
        if n >= 0 { return .sent }
        let e = Errno.current
        if e == .again { return .wouldBlock }
        throw e
    }

    /// Receives one datagram into a buffer of `capacity` bytes, reporting its true length.
    /// Returns nil when a non-blocking receive finds nothing.
    public func receive(capacity: Int, blocking: Bool = true) throws(Errno) -> ReceivedDatagram? {
        var buffer = [UInt8](repeating: 0, count: capacity)
        guard let (length, sender, credentials) = try receive(into: &buffer, blocking: blocking) else { return nil }
        buffer.removeLast(capacity - min(length, capacity))
        return ReceivedDatagram(bytes: buffer, trueLength: length, sender: sender, credentials: credentials)
    }

    /// Receives one datagram into a reusable buffer (no allocation on the hot path). Returns
    /// nil when a non-blocking receive finds nothing; `length` may exceed the buffer.
    public func receive(into buffer: inout [UInt8], blocking: Bool = false) throws(Errno)
        -> (length: Int, sender: UnixAddress, credentials: PeerCredentials?)? {
        var sender = secmod_unix_address()
        guard let (n, credentials) = try receive(into: &buffer, blocking: blocking, sender: &sender) else { return nil }
        return (n, UnixAddress(sender), credentials)
    }

    /// Receives one message on a connected socket (a session's `SOCK_SEQPACKET` end) into a
    /// reusable buffer: as `receive(into:blocking:)`, without asking the kernel for a sender
    /// address that a connected pair does not have (a copy to user space per message).
    public func receiveFromPeer(into buffer: inout [UInt8], blocking: Bool = false) throws(Errno)
        -> (length: Int, credentials: PeerCredentials?)? {
        try receive(into: &buffer, blocking: blocking, sender: nil)
    }

    private func receive(into buffer: inout [UInt8], blocking: Bool, sender: UnsafeMutablePointer<secmod_unix_address>?) throws(Errno)
        -> (length: Int, credentials: PeerCredentials?)? {
        var creds = secmod_credentials()
        let flags = Int32(MSG_TRUNC) | (blocking ? Int32(0) : Int32(MSG_DONTWAIT))
        let n = buffer.withUnsafeMutableBytes { buf in
            retryingInterrupts { secmod_recvmsg(rawValue, buf.baseAddress, buf.count, sender, &creds, flags) }
        }
        if n < 0 {
            let e = Errno.current
            if e == .again { return nil }
            throw e
        }
        return (n, PeerCredentials(creds))
    }

    /// Starts listening (stream sockets).
    public func listen(backlog: Int32) throws(Errno) {
        if Glibc.listen(rawValue, backlog) != 0 { throw Errno.current }
    }

    /// Accepts one connection as a non-blocking socket; nil when none is waiting.
    public func accept() throws(Errno) -> UnixSocket? {
        let fd = retryingInterrupts { secmod_accept(rawValue) }
        if fd < 0 {
            let e = Errno.current
            if e == .again || e.rawValue == ECONNABORTED { return nil }
            throw e
        }
        return UnixSocket(adopting: FileDescriptor(adopting: fd))
    }

    /// Writes what the kernel takes of `bytes[offset...]` without blocking (stream sockets);
    /// returns how many bytes it took, 0 when it would block. Never raises SIGPIPE.
    public func writeSome(_ bytes: [UInt8], from offset: Int) throws(Errno) -> Int {
        let n = bytes.withUnsafeBytes { buf in
            retryingInterrupts { secmod_sendto(rawValue, buf.baseAddress! + offset, buf.count - offset, nil, Int32(MSG_DONTWAIT)) }
        }
        if n >= 0 { return n }
        let e = Errno.current
        if e == .again { return 0 }
        throw e
    }

    /// The most packets `sendPackets` sends in one call.
    public static let maximumPacketsPerSend = Int(SECMOD_MAX_PACKETS)

    /// Sends packets laid end to end in `joined` (packet i is `lengths[i]` bytes) in one
    /// `sendmmsg`, without blocking: each is its own message on a connected datagram or
    /// SOCK_SEQPACKET socket. Returns how many the kernel took, at most
    /// `maximumPacketsPerSend`; 0 when it took none (its buffer is full). An error after
    /// some went out is reported by the next call.
    public func sendPackets(_ joined: [UInt8], lengths: [Int]) throws(Errno) -> Int {
        precondition(lengths.reduce(0, +) <= joined.count, "packet lengths exceed the buffer")
        let n = joined.withUnsafeBufferPointer { bytes in
            lengths.withUnsafeBufferPointer { sizes in
                retryingInterrupts { Int(secmod_send_packets(rawValue, bytes.baseAddress, sizes.baseAddress, sizes.count)) }
            }
        }
        if n >= 0 { return n }
        let e = Errno.current
        if e == .again { return 0 }
        throw e
    }

    /// Reads what is available into `buffer[offset...]` (stream sockets). Returns the count
    /// read (0 at end of stream) and, when `SO_PASSCRED` is set, the credentials of the
    /// process that wrote those bytes: the kernel never joins bytes of two writers in one
    /// read. Nil when a non-blocking read finds nothing.
    public func readSome(into buffer: inout [UInt8], at offset: Int, blocking: Bool = false) throws(Errno)
        -> (count: Int, credentials: PeerCredentials?)? {
        var creds = secmod_credentials()
        let flags = blocking ? Int32(0) : Int32(MSG_DONTWAIT)
        let n = buffer.withUnsafeMutableBytes { buf in
            retryingInterrupts { secmod_recvmsg(rawValue, buf.baseAddress! + offset, buf.count - offset, nil, &creds, flags) }
        }
        if n >= 0 { return (n, PeerCredentials(creds)) }
        let e = Errno.current
        if e == .again { return nil }
        throw e
    }

    /// True when the peer has gone (`POLLHUP` now): tells end of file from an empty packet.
    public var hasHungUp: Bool {
        var polls = PollSet()
        polls.add(rawValue, [])
        return ((try? polls.wait(timeoutMilliseconds: 0)) ?? 0) > 0 && polls.events(at: 0).contains(.hangUp)
    }

    /// The credentials of a connected peer (`SO_PEERCRED`).
    public func peerCredentials() throws(Errno) -> PeerCredentials? {
        var creds = secmod_credentials()
        if secmod_peer_credentials(rawValue, &creds) != 0 { throw Errno.current }
        return PeerCredentials(creds)
    }
}

/// The two ends of `UnixSocket.pair`. Frozen so that callers can take one end and let the
/// other close.
@frozen
public struct SocketPair: ~Copyable {
    public var kept: UnixSocket
    public var passed: UnixSocket
}

/// A message received with `receiveHandover`: its true length, the sender's credentials and
/// what was passed beside it.
public struct Handover: ~Copyable {
    public let length: Int
    public let credentials: PeerCredentials?
    /// How many descriptors arrived in all; only the first is kept.
    public let descriptorCount: Int
    /// MSG_CTRUNC: the control data did not fit, so part of it was lost.
    public let controlTruncated: Bool
    /// What the first passed descriptor is; nil when none came.
    public let descriptorIdentity: SocketIdentity?
    public var descriptor: FileDescriptor?
}

/// What a descriptor is, as `getsockopt(SO_DOMAIN, SO_TYPE)` and `getpeername` say.
public struct SocketIdentity: Sendable, Equatable {
    /// `AF_*`, or nil when the descriptor is not a socket.
    public let domain: Int32?
    public let type: Int32?
    /// True when the socket has a peer.
    public let isConnected: Bool
    /// `SO_PEERCRED`: who connected it, or created the pair it belongs to.
    public let peer: PeerCredentials?

    /// A connected `AF_UNIX` `SOCK_SEQPACKET` socket: the only thing a session may be.
    public var isConnectedUnixSeqpacket: Bool {
        domain == AF_UNIX && type == Int32(SOCK_SEQPACKET.rawValue) && isConnected
    }
}

extension SocketIdentity {
    init(of fd: Int32) {
        var raw = secmod_socket_identity()
        secmod_socket_identify(fd, &raw)
        self.init(domain: raw.domain >= 0 ? raw.domain : nil, type: raw.type >= 0 ? raw.type : nil,
                  isConnected: raw.connected != 0, peer: PeerCredentials(raw.peer))
    }
}

/// A socket held by reference, for state that outlives one call (the helper's main socket,
/// a client's session). The descriptor closes when the last reference goes.
public final class SocketHandle: @unchecked Sendable {
    public let socket: UnixSocket
    public init(_ socket: consuming UnixSocket) { self.socket = socket }
}
