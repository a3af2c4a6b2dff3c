import Foundation
import SecmodClient
import SecmodSystem
import SecmodWire
#if canImport(Glibc)
import Glibc
#endif

/// A scripted impostor on a helper socket, to prove what the client refuses. It speaks
/// the transport correctly (version 2 handshake, or a stream) and sends whatever key dump
/// and replies a test gives it, from the test process's own uid. One session at a time;
/// when the client closes one, the next handshake is served the same way.
final class FakeHelper: @unchecked Sendable {
    let directory: String
    let socketPath: String
    let transport: HelperTransport
    private let listener: SocketHandle
    private let dump: [[UInt8]]
    private let answer: @Sendable ([UInt8]) -> [[UInt8]]
    private let stopped = Locked(false)
    private let done = DispatchSemaphore(value: 0)

    /// `dump`: what a new session gets (AVAILs, then SYNCED). `answer`: the replies to one
    /// request. `socketOwner`: chown the socket file to this uid (root only), so that the
    /// fake answers from another uid than the file's owner.
    init(transport: HelperTransport, dump: [[UInt8]], socketOwner: UInt32? = nil,
         answer: @escaping @Sendable ([UInt8]) -> [[UInt8]]) throws {
        self.transport = transport
        self.dump = dump
        self.answer = answer
        directory = FileManager.default.temporaryDirectory.path + "/secmod-fake-" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o755])
        socketPath = directory + "/server.sock"
        let socket = try UnixSocket(transport == .stream ? .stream : .datagram, nonBlocking: true)
        try socket.bind(to: UnixAddress(path: socketPath))
        try FileSystem.changeMode(socketPath, 0o666)
        if transport == .stream { try socket.listen(backlog: 8) }
        if let socketOwner, chown(socketPath, socketOwner, gid_t(getegid())) != 0 { throw Errno.current }
        listener = SocketHandle(socket)
        let thread = Thread { [self] in serve(); done.signal() }
        thread.start()
    }

    func stop() {
        stopped.withLock { $0 = true }
        done.wait()
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func serve() {
        var buffer = [UInt8](repeating: 0, count: 70000)
        while !stopped.withLock({ $0 }) {
            var polls = PollSet()
            polls.add(listener.socket.rawValue, .readable)
            guard (try? polls.wait(timeoutMilliseconds: 50)) ?? 0 > 0 else { continue }
            if transport == .stream {
                guard let accepted = try? listener.socket.accept() else { continue }
                serveSession(SocketHandle(accepted), &buffer)
            } else {
                guard var handover = try? listener.socket.receiveHandover(into: &buffer),
                      let descriptor = handover.descriptor.take() else { continue }
                serveSession(SocketHandle(UnixSocket(adopting: descriptor)), &buffer)
            }
        }
    }

    /// Sends the dump, then answers requests until the client closes the session.
    private func serveSession(_ session: SocketHandle, _ buffer: inout [UInt8]) {
        for message in dump { _ = try? session.socket.send(message) }
        while !stopped.withLock({ $0 }) {
            var polls = PollSet()
            polls.add(session.socket.rawValue, .readable)
            guard (try? polls.wait(timeoutMilliseconds: 50)) ?? 0 > 0 else { continue }
            let length: Int
            if transport == .stream {
                guard let read = (try? session.socket.readSome(into: &buffer, at: 0)) ?? nil else { continue }
                length = read.count
            } else {
                guard let received = (try? session.socket.receive(into: &buffer, blocking: false)) ?? nil else { continue }
                length = received.length
            }
            guard length > 0 else { return }
            // A stream may carry several requests in one read; the tests send one at a time.
            for reply in answer(Array(buffer[0..<min(length, buffer.count)])) { _ = try? session.socket.send(reply) }
        }
    }
}
