internal import CSecmodShim
#if canImport(Glibc)
import Glibc
import SecmodBase
#endif

/// An epoll instance: the event loop's interest list, kept by the kernel.
///
/// With `poll(2)` the loop rebuilt and passed every session's descriptor each turn, so
/// 4,000 idle sessions cost every request 4,000 entries. Here a session costs
/// nothing until it is ready or its interest changes.
///
/// Level-triggered, on purpose: the loop reads one message per ready session per turn, so
/// that a pipelining client gets no more than its share; level triggering reports the
/// session again next turn while more is queued, where edge triggering would need the loop
/// to read to `EAGAIN` or to keep a ready list of its own.
public struct Epoll: ~Copyable, @unchecked Sendable {
    public let descriptor: FileDescriptor

    // epoll_ctl's operations (<sys/epoll.h>, not exported by Swift's Glibc module).
    private static let addOperation: Int32 = 1, removeOperation: Int32 = 2, modifyOperation: Int32 = 3

    public init() throws(SecmodError) {
        let fd = secmod_epoll_create()
        if fd < 0 { throw Errno.current.error("epoll_create1") }
        descriptor = FileDescriptor(adopting: fd)
    }

    /// Starts watching `fd` for `events`; `token` comes back with its readiness.
    public func add(_ fd: Int32, _ events: PollEvents, token: UInt64) throws(Errno) {
        try control(Self.addOperation, fd, events, token)
    }

    /// Changes what `fd` is watched for (empty: only errors and hang-ups, which epoll
    /// always reports).
    public func modify(_ fd: Int32, _ events: PollEvents, token: UInt64) throws(Errno) {
        try control(Self.modifyOperation, fd, events, token)
    }

    /// Stops watching `fd`. Needed before a close that may not be the last reference: epoll
    /// forgets a descriptor only when its open file is closed by everyone.
    public func remove(_ fd: Int32) {
        _ = secmod_epoll_control(descriptor.rawValue, Self.removeOperation, fd, 0, 0)
    }

    private func control(_ op: Int32, _ fd: Int32, _ events: PollEvents, _ token: UInt64) throws(Errno) {
        let mask = UInt32(UInt16(bitPattern: events.rawValue))
        if secmod_epoll_control(descriptor.rawValue, op, fd, mask, token) != 0 { throw Errno.current }
    }

    /// Waits up to `timeoutMilliseconds` (−1: forever) and fills `ready` with what is ready.
    /// An interrupted wait returns nothing.
    public func wait(into ready: inout EpollReadySet, timeoutMilliseconds: Int32) throws(Errno) {
        let n = ready.entries.withUnsafeMutableBufferPointer { buffer in
            secmod_epoll_wait(descriptor.rawValue, buffer.baseAddress, Int32(buffer.count), timeoutMilliseconds)
        }
        if n < 0 {
            ready.count = 0
            if errno == EINTR { return }
            throw Errno.current
        }
        ready.count = Int(n)
    }
}

/// What one `epoll_wait` returned, reused from turn to turn without allocating.
public struct EpollReadySet: Sendable {
    fileprivate var entries: [secmod_epoll_ready]
    public fileprivate(set) var count = 0

    /// At most `capacity` descriptors per wait; the rest are reported by the next wait.
    public init(capacity: Int = 256) {
        entries = Array(repeating: secmod_epoll_ready(), count: capacity)
    }

    public subscript(index: Int) -> (token: UInt64, events: PollEvents) {
        let e = entries[index]
        return (e.token, PollEvents(rawValue: Int16(truncatingIfNeeded: e.events)))
    }
}
