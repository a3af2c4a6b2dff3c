import SecmodBase
import SecmodSystem
#if canImport(Glibc)
import Glibc
#endif

/// A way for one thread to wake another: the primitives a request crosses inside the helper.
///
/// Side 0 is the measuring thread, side 1 the echo thread. Thread `side` calls `wake(side)`
/// to make the other thread's `wait(1 - side)` return, and `wait(side)` to sleep until woken.
protocol HandOff: Sendable {
    func wake(_ side: Int)
    func wait(_ side: Int)
}

/// An AF_UNIX SOCK_DGRAM socketpair carrying a 104-byte datagram, the size of a SIGNATURE
/// reply. Blocking send and recv, as the client does, without poll.
final class DatagramHandOff: HandOff {
    static let messageSize = 104
    private let sockets: [SocketHandle]

    init() throws(SecmodError) {
        var fds: [Int32] = [-1, -1]
        let type = Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        if socketpair(AF_UNIX, type, 0, &fds) != 0 { throw Errno.current.error("socketpair") }
        sockets = fds.map { SocketHandle(UnixSocket(adopting: FileDescriptor(adopting: $0))) }
    }

    func wake(_ side: Int) {
        // A datagram sent on our end arrives on the other thread's end.
        var message = [UInt8](repeating: 0x5a, count: Self.messageSize)
        _ = message.withUnsafeMutableBytes { Glibc.send(sockets[side].socket.rawValue, $0.baseAddress, $0.count, 0) }
    }

    func wait(_ side: Int) {
        var buffer = [UInt8](repeating: 0, count: 256)
        while buffer.withUnsafeMutableBytes({ recv(sockets[side].socket.rawValue, $0.baseAddress, $0.count, 0) }) < 0
            && errno == EINTR {}
    }
}

/// Two non-blocking eventfds, each waited for with poll and then drained: how the helper's
/// event loop learns that a worker finished (Mailbox).
final class EventfdHandOff: HandOff {
    private let counters: [EventCounterBox]

    init() throws(SecmodError) {
        counters = [try EventCounterBox(), try EventCounterBox()]
    }

    func wake(_ side: Int) { counters[1 - side].counter.signal() }

    func wait(_ side: Int) {
        let box = counters[side]
        while box.counter.drain() == 0 {
            var polls = PollSet()
            polls.add(box.counter.rawValue, .readable)
            _ = try? polls.wait(timeoutMilliseconds: -1)
        }
    }

    private final class EventCounterBox: Sendable {
        let counter: EventCounter
        init() throws(SecmodError) { counter = try EventCounter() }
    }
}

/// Two POSIX semaphores: how the helper's event loop hands a job to a worker (WorkerPool).
final class SemaphoreHandOff: HandOff {
    private let semaphores = [CountingSemaphore(), CountingSemaphore()]
    func wake(_ side: Int) { semaphores[1 - side].post() }
    func wait(_ side: Int) { semaphores[side].wait() }
}
