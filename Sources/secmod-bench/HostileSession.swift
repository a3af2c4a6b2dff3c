import SecmodBase
import SecmodClient
import SecmodSystem
import SecmodWire
#if canImport(Glibc)
import Glibc
#endif

/// A session opened the way a hostile exchange opens one: the handshake of the transport,
/// then nothing is read. Used to hold thousands of idle sessions and to flood.
///
/// Diagnostic only, like `RawEddsaClient`: it never checks what comes back.
final class HostileSession {
    let socket: SocketHandle
    let transport: HelperTransport

    /// Datagram: INIT carrying one end of a socket pair, then reads the dump up to SYNCED on
    /// the other (so that the helper has adopted the session when this returns). Stream: a
    /// connection, whose dump is left unread.
    init(endpoint: HelperEndpoint, initType: UInt16, syncedType: UInt16) throws(SecmodError) {
        transport = endpoint.transport
        let helper = try UnixAddress(path: endpoint.path)
        switch endpoint.transport {
        case .datagram:
            let pair = try UnixSocket.pair(.seqpacket)
            let initSocket = try UnixSocket(.datagram)
            var buffer = [UInt8](repeating: 0, count: MessageHeader.maximumMessageSize + 1)
            do throws(Errno) {
                try pair.kept.setReceiveTimeout(milliseconds: 20_000)
                try initSocket.send(MessageHeader.bare(type: initType), to: helper, passing: pair.passed)
                while true {
                    guard let (length, _, _) = try pair.kept.receive(into: &buffer, blocking: true) else { throw Errno(ETIMEDOUT) }
                    guard length > 0 else { throw Errno(ECONNRESET) }
                    if length >= 4, MessageHeader.peek(buffer)?.type == syncedType { break }
                }
            } catch {
                throw error.error("hostile handshake with \(endpoint.path)")
            }
            socket = SocketHandle(pair.kept)
        case .stream:
            let connection = try UnixSocket(.stream)
            do throws(Errno) { try connection.connect(to: helper) } catch {
                throw error.error("hostile connect to \(endpoint.path)")
            }
            socket = SocketHandle(connection)
        }
    }

    /// Sends all of `message` unless `stop` is set first; waits for room in slices of
    /// 100 ms. False when the helper closed the session (it overflowed or was blocked too
    /// long: exactly what a flood provokes) or `stop` was set. `drain`: reads and discards
    /// whatever the helper sent while waiting, so that the session is never held back by
    /// its own unread replies (a flood that keeps the workers busy).
    func send(_ message: [UInt8], drain: Bool, stop: () -> Bool) -> Bool {
        var offset = 0
        while !stop() {
            do throws(Errno) {
                if drain { try discardReceived() }
                switch transport {
                case .datagram:
                    if try socket.socket.send(message, blocking: false) == .sent { return true }
                case .stream:
                    offset += try socket.socket.writeSome(message, from: offset)
                    if offset == message.count { return true }
                }
            } catch {
                return false
            }
            var polls = PollSet()
            polls.add(socket.socket.rawValue, drain ? [.writable, .readable] : .writable)
            _ = try? polls.wait(timeoutMilliseconds: 100)
            if polls.events(at: 0).contains(.hangUp) || polls.events(at: 0).contains(.error) { return false }
        }
        return false
    }

    private var discarded = [UInt8](repeating: 0, count: MessageHeader.maximumMessageSize + 1)

    /// Reads what is there without waiting; throws at end of file.
    private func discardReceived() throws(Errno) {
        switch transport {
        case .datagram:
            while let (length, _, _) = try socket.socket.receive(into: &discarded, blocking: false) {
                if length == 0 { throw Errno(ECONNRESET) }
            }
        case .stream:
            while let (count, _) = try socket.socket.readSome(into: &discarded, at: 0) {
                if count == 0 { throw Errno(ECONNRESET) }
            }
        }
    }
}

/// One thread that floods the helper from one session at a time: it pipelines `request`
/// and never reads (or, `draining`, reads and discards the replies). When the helper closes the session (its outbox overflowed, or it stayed
/// blocked past SESSION_BLOCKED_TIMEOUT), it opens a new one and goes on, as an attacker
/// who owns the exchange process would.
final class Flood: Sendable {
    private let stopFlag = Locked(false)
    private let counts = Locked((sent: 0, sessions: 0))
    private let failure = Locked<SecmodError?>(nil)
    private let thread: Locked<OSThread?> = Locked(nil)

    init(endpoint: HelperEndpoint, request: [UInt8], initType: UInt16, syncedType: UInt16, draining: Bool = false) throws(SecmodError) {
        let started = try OSThread.start(name: "flood") { [self] in
            while !stopFlag.withLock({ $0 }) {
                let session: HostileSession
                do throws(SecmodError) {
                    session = try HostileSession(endpoint: endpoint, initType: initType, syncedType: syncedType)
                } catch {
                    if !stopFlag.withLock({ $0 }) { failure.withLock { $0 = error } }
                    return
                }
                counts.withLock { $0.sessions += 1 }
                while session.send(request, drain: draining, stop: { stopFlag.withLock { $0 } }) {
                    counts.withLock { $0.sent += 1 }
                }
            }
        }
        thread.withLock { $0 = started }
    }

    /// Why the flood could not go on (it could not open a session), if it stopped early.
    var failed: SecmodError? { failure.withLock { $0 } }

    /// Stops and joins the thread; returns requests sent and sessions used. A failure to
    /// open a session after the helper stopped is expected and not reported here.
    func stop() -> (sent: Int, sessions: Int) {
        stopFlag.withLock { $0 = true }
        thread.withLock { $0 }?.join()
        return counts.withLock { $0 }
    }

    var sent: Int { counts.withLock { $0.sent } }
}
