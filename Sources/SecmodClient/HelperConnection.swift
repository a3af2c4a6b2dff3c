import SecmodBase
import SecmodSystem
import SecmodWire
#if canImport(Glibc)
import Glibc
#endif

/// A client's datagram session with one helper (dgram-transport.md, version 2): the client
/// makes a `SOCK_SEQPACKET` socket pair, passes one end to the helper inside its INIT, and
/// keeps the other. The pair has no name, so nobody else can reach either end, and when
/// either side goes away the other sees end of file at once.
///
/// Not thread-safe: give each thread its own connection, as each exchange thread has its
/// own. It blocks the calling thread and never spawns one.
final class HelperConnection {
    let socketPath: String
    let initType: UInt16

    private var handle: SocketHandle?
    /// The socket file's owner: every message on the session must come from this uid.
    private var helperUID: UInt32 = 0
    private var buffer = [UInt8](repeating: 0, count: MessageHeader.maximumMessageSize + 1)

    /// How long to wait for the first message after INIT before sending INIT again.
    static let initRetryInterval: Int32 = 5000
    /// Waits between INITs that the helper closed unanswered (not running yet, or refusing
    /// this user): doubles from the first to the last, so a refused client does not spin.
    static let refusedBackoff: (first: UInt32, last: UInt32) = (100_000, 2_000_000)

    init(socketPath: String, initType: UInt16) {
        self.socketPath = socketPath
        self.initType = initType
        ignoreBrokenPipeSignal()
    }

    var isConnected: Bool { handle != nil }

    func close() { handle = nil }

    /// Sends INIT with a fresh socket pair until the helper answers on it. Returns the first
    /// message of the key dump, which the caller processes like any other; the rest arrive
    /// through `receive`.
    func handshake(deadline: Deadline?) throws(SecmodError) -> [UInt8] {
        close()
        let address = try UnixAddress(path: socketPath)
        var backoff = Self.refusedBackoff.first
        while true {
            if let deadline, deadline.hasPassed {
                throw SecmodError(.timeout, "no answer from helper at \(socketPath) before the deadline (is it running, and does its CLIENT_USERS/CLIENT_GROUPS admit this user?)")
            }
            helperUID = try HelperSocketTrust.owner(of: socketPath)
            handle = SocketHandle(try sendInit(to: address))
            let firstWait = Deadline.after(.milliseconds(Self.initRetryInterval))
            do throws(SecmodError) {
                if let first = try receive(deadline: Deadline.earlier(firstWait, deadline), nonBlocking: false) { return first }
                close()  // nothing yet: INIT again from a fresh pair, as the transport asks
            } catch where error.code == .unavailable {
                // The helper closed our session unanswered. Wait a little, then try again.
                usleep(UInt32(min(UInt64(backoff), deadline?.remainingMicroseconds ?? UInt64(backoff))))
                backoff = min(backoff * 2, Self.refusedBackoff.last)
            }
        }
    }

    /// INIT: a datagram to the helper's socket carrying one end of a new pair. Returns the
    /// end we keep; the passed end and the datagram socket close when this returns, so the
    /// helper holds the only other reference.
    private func sendInit(to address: UnixAddress) throws(SecmodError) -> UnixSocket {
        let pair = try UnixSocket.pair(.seqpacket)
        let initSocket = try UnixSocket(.datagram)  // unbound, and without SO_PASSCRED: no name at all
        do throws(Errno) {
            try pair.kept.setPassCredentials()
            try initSocket.send(MessageHeader.bare(type: initType), to: address, passing: pair.passed)
        } catch {
            throw SecmodError(.unavailable, "cannot reach helper at \(socketPath): \(error)", errno: error.rawValue)
        }
        return pair.kept
    }

    /// One message per packet (dgram-transport.md): a packet whose header disagrees with
    /// its length is not a message, whatever its type says, and is ignored; the message
    /// decoders check only the length.
    private func isOneMessage(length: Int) -> Bool {
        guard length >= MessageHeader.byteCount, length <= MessageHeader.maximumMessageSize,
              let header = MessageHeader.peek(buffer) else { return false }
        return header.size == length
    }

    /// Sends a request on the session. Throws `.unavailable` when the session is gone
    /// (the helper restarted or dropped us); the caller then handshakes again.
    func send(_ message: [UInt8]) throws(SecmodError) {
        guard let handle else { throw SecmodError(.unavailable, "not connected") }
        do throws(Errno) { _ = try handle.socket.send(message) } catch {
            close()
            throw SecmodError(.unavailable, "helper session is gone: \(error)", errno: error.rawValue)
        }
    }

    /// Receives the next message from the session. Returns nil if `deadline` passes first;
    /// with `nonBlocking`, returns nil at once when nothing is queued. Throws `.unavailable`
    /// at end of file (the helper restarted or closed the session) and `.untrustedHelper`
    /// for a message from another uid than the socket's owner; either closes the session.
    func receive(deadline: Deadline?, nonBlocking: Bool = false) throws(SecmodError) -> [UInt8]? {
        guard let handle else { throw SecmodError(.unavailable, "not connected") }
        while true {
            // What is queued already is taken without a poll first: a batch's replies arrive
            // in runs, and a poll per reply doubled the client's syscalls.
            let received: (length: Int, credentials: PeerCredentials?)?
            do throws(Errno) {
                received = try handle.socket.receiveFromPeer(into: &buffer, blocking: !nonBlocking && deadline == nil)
            } catch {
                close()
                throw SecmodError(.unavailable, "helper session is gone: \(error)", errno: error.rawValue)
            }
            guard let (length, credentials) = received else {
                guard !nonBlocking, let deadline, !deadline.hasPassed else { return nil }
                _ = try wait(handle.socket, milliseconds: deadline.remainingMilliseconds(cap: 1000))
                continue
            }
            guard length > 0 else {
                close()
                throw SecmodError(.unavailable, "the helper closed the session")
            }
            guard let credentials, credentials.uid == helperUID else {
                close()
                throw HelperSocketTrust.impostor(credentials, expected: helperUID, socketPath: socketPath)
            }
            guard isOneMessage(length: length) else { continue }
            return Array(buffer[0..<length])
        }
    }

    private func wait(_ socket: borrowing UnixSocket, milliseconds: Int32) throws(SecmodError) -> Bool {
        var polls = PollSet()
        polls.add(socket.rawValue, .readable)
        do throws(Errno) { return try polls.wait(timeoutMilliseconds: milliseconds) > 0 } catch {
            throw error.error("poll")
        }
    }
}
