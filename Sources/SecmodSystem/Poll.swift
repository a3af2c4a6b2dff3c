#if canImport(Glibc)
import Glibc
#endif

/// Readiness of one descriptor, as `poll(2)` reports it.
public struct PollEvents: OptionSet, Sendable {
    public let rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }
    public static let readable = PollEvents(rawValue: Int16(POLLIN))
    public static let writable = PollEvents(rawValue: Int16(POLLOUT))
    public static let error = PollEvents(rawValue: Int16(POLLERR))
    public static let hangUp = PollEvents(rawValue: Int16(POLLHUP))
    public static let invalid = PollEvents(rawValue: Int16(POLLNVAL))
}

/// A reusable `poll(2)` set: the event loop rebuilds it each turn without reallocating.
public struct PollSet: Sendable {
    private var fds: [pollfd] = []

    public init() {}

    public mutating func removeAll() { fds.removeAll(keepingCapacity: true) }

    /// Adds a descriptor; returns its index for `events(at:)`.
    @discardableResult
    public mutating func add(_ fd: Int32, _ events: PollEvents) -> Int {
        fds.append(pollfd(fd: fd, events: events.rawValue, revents: 0))
        return fds.count - 1
    }

    public var count: Int { fds.count }

    /// Waits up to `timeoutMilliseconds` (−1: forever). Returns the number of ready descriptors.
    public mutating func wait(timeoutMilliseconds: Int32) throws(Errno) -> Int {
        let n = fds.withUnsafeMutableBufferPointer { Glibc.poll($0.baseAddress, nfds_t($0.count), timeoutMilliseconds) }
        if n < 0 {
            if errno == EINTR { return 0 }
            throw Errno.current
        }
        return Int(n)
    }

    public func events(at index: Int) -> PollEvents { PollEvents(rawValue: fds[index].revents) }
    public func descriptor(at index: Int) -> Int32 { fds[index].fd }
}
