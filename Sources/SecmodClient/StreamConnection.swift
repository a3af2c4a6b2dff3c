import SecmodBase
import SecmodSystem
import SecmodWire
#if canImport(Glibc)
import Glibc
#endif

/// Which transport a client speaks: the helpers' datagram sessions (the default), or
/// SOCK_STREAM as taler-exchange 0.9.2 and its helpers do (`SOCKET_TYPE = stream`).
public enum HelperTransport: String, Sendable, CaseIterable {
    case datagram = "dgram"
    case stream
}

/// What the family clients need from a transport.
protocol HelperLink: AnyObject {
    var isConnected: Bool { get }
    func close()
    /// Connects; returns the first message of the key dump.
    func handshake(deadline: Deadline?) throws(SecmodError) -> [UInt8]
    func send(_ message: [UInt8]) throws(SecmodError)
    /// The next whole message; nil if `deadline` passes or, with `nonBlocking`, if none is
    /// complete yet.
    func receive(deadline: Deadline?, nonBlocking: Bool) throws(SecmodError) -> [UInt8]?
}

extension HelperConnection: HelperLink {}

/// A client's SOCK_STREAM connection (wire.md §2, §8, §12): connect, and the helper sends
/// every AVAIL and SYNCED at once; messages are reassembled from the byte stream.
///
/// The peer must be the socket file's owner (`SO_PEERCRED`). Only the helper that accepted
/// the connection holds its other end. (No `SO_PASSCRED` here: on a stream socket it would
/// autobind an abstract name at `connect`.)
final class StreamConnection: HelperLink {
    let socketPath: String
    private var handle: SocketHandle?
    private var buffer = [UInt8](repeating: 0, count: 4 * (MessageHeader.maximumMessageSize + 1))
    /// Unread bytes are `buffer[start..<fill]`. Messages are taken by moving `start`; the
    /// rest moves to the front once per read, not once per message (a dump of many keys
    /// arrives in few reads).
    private var start = 0
    private var fill = 0

    init(socketPath: String) {
        self.socketPath = socketPath
        ignoreBrokenPipeSignal()
    }

    var isConnected: Bool { handle != nil }

    func close() {
        handle = nil
        start = 0
        fill = 0
    }

    func handshake(deadline: Deadline?) throws(SecmodError) -> [UInt8] {
        close()
        let address = try UnixAddress(path: socketPath)
        let owner = try HelperSocketTrust.owner(of: socketPath)
        let socket = try UnixSocket(.stream)
        do throws(Errno) { try socket.connect(to: address) } catch {
            throw SecmodError(.unavailable, "cannot reach helper at \(socketPath): \(error)", errno: error.rawValue)
        }
        let peer = try? socket.peerCredentials()
        guard let peer, peer.uid == owner else {
            throw HelperSocketTrust.impostor(peer, expected: owner, socketPath: socketPath)
        }
        handle = SocketHandle(socket)
        guard let first = try receive(deadline: deadline, nonBlocking: false) else {
            close()
            throw SecmodError(.timeout, "no answer from helper at \(socketPath) before the deadline (is it running, and does its CLIENT_USERS/CLIENT_GROUPS admit this user?)")
        }
        return first
    }

    func send(_ message: [UInt8]) throws(SecmodError) {
        guard let handle else { throw SecmodError(.unavailable, "not connected") }
        var offset = 0
        while offset < message.count {
            do throws(Errno) {
                let n = try handle.socket.writeSome(message, from: offset)
                if n == 0 { try waitWritable(handle) }
                offset += n
            } catch {
                close()
                throw SecmodError(.unavailable, "helper connection is gone: \(error)", errno: error.rawValue)
            }
        }
    }

    func receive(deadline: Deadline?, nonBlocking: Bool) throws(SecmodError) -> [UInt8]? {
        guard let handle else { throw SecmodError(.unavailable, "not connected") }
        while true {
            if let message = try takeMessage() { return message }
            if !nonBlocking, let deadline {
                if deadline.hasPassed { return nil }
                var polls = PollSet()
                polls.add(handle.socket.rawValue, .readable)
                do throws(Errno) {
                    if try polls.wait(timeoutMilliseconds: deadline.remainingMilliseconds(cap: 1000)) == 0 { continue }
                } catch {
                    throw error.error("poll")
                }
            }
            compact()
            let read: (count: Int, credentials: PeerCredentials?)?
            do throws(Errno) { read = try handle.socket.readSome(into: &buffer, at: fill, blocking: !nonBlocking && deadline == nil) } catch {
                close()
                throw SecmodError(.unavailable, "helper connection is gone: \(error)", errno: error.rawValue)
            }
            guard let (count, _) = read else { if nonBlocking { return nil }; continue }
            guard count > 0 else {
                close()
                throw SecmodError(.unavailable, "the helper closed the connection")
            }
            fill += count
        }
    }

    /// Cuts the first whole message off the buffer. A size below a header's is a framing
    /// error after which nothing on the stream can be trusted: the connection ends.
    private func takeMessage() throws(SecmodError) -> [UInt8]? {
        guard fill - start >= MessageHeader.byteCount, let header = MessageHeader.peek(buffer, at: start) else { return nil }
        guard header.size >= MessageHeader.byteCount else {
            close()
            throw SecmodError(.malformed, "the helper sent a message of size \(header.size), less than a header; the connection was closed")
        }
        guard fill - start >= header.size else { return nil }
        let message = Array(buffer[start..<start + header.size])
        start += header.size
        if start == fill { start = 0; fill = 0 }
        return message
    }

    /// Moves the unread bytes to the front, so that the next read has room for at least
    /// one whole message behind a partial one.
    private func compact() {
        guard start > 0 else { return }
        let rest = fill - start
        buffer.withUnsafeMutableBytes { b in _ = memmove(b.baseAddress!, b.baseAddress! + start, rest) }
        start = 0
        fill = rest
    }

    private func waitWritable(_ handle: SocketHandle) throws(Errno) {
        var polls = PollSet()
        polls.add(handle.socket.rawValue, .writable)
        _ = try polls.wait(timeoutMilliseconds: 1000)
    }
}
