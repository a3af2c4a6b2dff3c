import SecmodSystem
import SecmodWire
#if canImport(Glibc)
import Glibc
#endif

/// A client's datagram session with one helper (dgram-transport.md): INIT to the main
/// socket, then a socket connected to the helper's session socket.
///
/// Not thread-safe: give each thread its own connection, as each exchange thread has its
/// own. It blocks the calling thread and never spawns one.
final class HelperConnection {
    let socketPath: String
    let initType: UInt16

    private var handle: SocketHandle?
    private var session: UnixAddress?
    private var buffer = [UInt8](repeating: 0, count: MessageHeader.maximumMessageSize + 1)

    /// How long to wait for any datagram before checking that the session still exists.
    static let livenessInterval: Int32 = 1000
    /// How long to wait for the first datagram after INIT before sending INIT again.
    static let initRetryInterval: Int32 = 5000

    init(socketPath: String, initType: UInt16) {
        self.socketPath = socketPath
        self.initType = initType
        ignoreBrokenPipeSignal()
    }

    var isConnected: Bool { handle != nil && session != nil }

    func close() {
        handle = nil
        session = nil
    }

    /// Opens a fresh socket and sends INIT. Returns the first message of the key dump,
    /// which the caller processes like any other; the rest arrive through `receive`.
    func handshake(deadline: Deadline?) throws(SecmodError) -> [UInt8] {
        close()
        let address = try UnixAddress(path: socketPath)
        let owner: UInt32
        do throws(Errno) { owner = try FileSystem.status(socketPath).uid } catch {
            throw SecmodError(.unavailable, "helper socket \(socketPath): \(error)", errno: error.rawValue)
        }
        let fresh = try UnixSocket(.datagram)
        do throws(Errno) {
            try fresh.setPassCredentials()  // autobinds to an abstract address the helper can answer
        } catch {
            throw error.error("SO_PASSCRED")
        }
        while true {
            do throws(Errno) {
                _ = try fresh.send(MessageHeader.bare(type: initType), to: address)
            } catch {
                throw SecmodError(.unavailable, "cannot reach helper at \(socketPath): \(error)", errno: error.rawValue)
            }
            let waitUntil = Deadline.after(seconds: Double(Self.initRetryInterval) / 1000)
            while !waitUntil.hasPassed {
                if let deadline, deadline.hasPassed {
                    throw SecmodError(.timeout, "no answer from helper at \(socketPath) before the deadline (is it running, and does its CLIENT_USERS/CLIENT_GROUPS admit this user?)")
                }
                let cap = min(waitUntil.remainingMilliseconds(cap: Self.initRetryInterval),
                              deadline?.remainingMilliseconds(cap: Self.initRetryInterval) ?? Self.initRetryInterval)
                guard try wait(fresh, milliseconds: cap) else { continue }
                let received: (length: Int, sender: UnixAddress, credentials: PeerCredentials?)?
                do throws(Errno) { received = try fresh.receive(into: &buffer) } catch {
                    throw SecmodError(.unavailable, "receiving from helper: \(error)", errno: error.rawValue)
                }
                guard let (length, sender, credentials) = received else { continue }
                // Only the helper's uid may open our session: until we connect, anyone who
                // can find our abstract address could send to it.
                guard let credentials, credentials.uid == owner, !sender.isUnnamed else { continue }
                do throws(Errno) {
                    try fresh.connect(to: sender)
                    try fresh.setReceiveTimeout(milliseconds: Int(Self.livenessInterval))
                } catch {
                    throw SecmodError(.unavailable, "connecting to helper session: \(error)", errno: error.rawValue)
                }
                handle = SocketHandle(fresh)
                session = sender
                if isOneMessage(length: length) { return Array(buffer[0..<length]) }
                guard let first = try receive(deadline: deadline) else {
                    throw SecmodError(.timeout, "no message from helper at \(socketPath) before the deadline")
                }
                return first
            }
        }
    }

    /// One message per datagram (dgram-transport.md): a datagram whose header disagrees
    /// with its length is not a message, whatever its type says, and is ignored; the
    /// message decoders check only the length.
    private func isOneMessage(length: Int) -> Bool {
        guard length >= MessageHeader.byteCount, length <= buffer.count, let header = MessageHeader.peek(buffer) else { return false }
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

    /// Receives the next message from the session. Every second without traffic it checks
    /// that the session still exists. Returns nil if `deadline` passes first; with
    /// `nonBlocking`, returns nil at once when nothing is queued.
    func receive(deadline: Deadline?, nonBlocking: Bool = false) throws(SecmodError) -> [UInt8]? {
        guard let handle, let session else { throw SecmodError(.unavailable, "not connected") }
        while true {
            // Without a deadline, a blocking receive that times out after the liveness
            // interval saves a poll(2) per message; with one, poll bounds the wait.
            var blocking = false
            if !nonBlocking {
                if let deadline {
                    if deadline.hasPassed { return nil }
                    let cap = deadline.remainingMilliseconds(cap: Self.livenessInterval)
                    if try !wait(handle.socket, milliseconds: cap) {
                        try checkSessionAlive(handle, session)
                        continue
                    }
                } else {
                    blocking = true
                }
            }
            let received: (length: Int, sender: UnixAddress, credentials: PeerCredentials?)?
            do throws(Errno) { received = try handle.socket.receive(into: &buffer, blocking: blocking) } catch {
                close()
                throw SecmodError(.unavailable, "helper session is gone: \(error)", errno: error.rawValue)
            }
            guard let (length, sender, _) = received else {
                if nonBlocking { return nil }
                if blocking { try checkSessionAlive(handle, session) }  // quiet for a whole interval
                continue
            }
            guard sender == session else { continue }  // queued before we connected
            guard length <= MessageHeader.maximumMessageSize else { continue }
            guard isOneMessage(length: length) else { continue }
            return Array(buffer[0..<length])
        }
    }

    /// A quiet session may be gone (the helper restarted): a fresh connect() says so.
    private func checkSessionAlive(_ handle: SocketHandle, _ session: UnixAddress) throws(SecmodError) {
        do throws(Errno) { try handle.socket.connect(to: session) } catch {
            close()
            throw SecmodError(.unavailable, "helper session is gone: \(error)", errno: error.rawValue)
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
