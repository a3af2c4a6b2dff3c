internal import CSecmodShim
#if canImport(Glibc)
import Glibc
import SecmodBase
#endif

/// An eventfd: how worker threads wake the event loop. Writes add up, one read drains them,
/// so many completions cost the loop one wake-up.
public struct EventCounter: ~Copyable, @unchecked Sendable {
    public let descriptor: FileDescriptor

    public init() throws(SecmodError) {
        let fd = secmod_eventfd(0, 1)
        if fd < 0 { throw Errno.current.error("eventfd") }
        descriptor = FileDescriptor(adopting: fd)
    }

    public var rawValue: Int32 { descriptor.rawValue }

    /// Adds one. Never blocks: the counter would need 2^64 − 1 unread signals to fill.
    public func signal() {
        var one: UInt64 = 1
        _ = retryingInterrupts { Glibc.write(descriptor.rawValue, &one, 8) }
    }

    /// Resets the counter; returns how many signals had arrived (0 if none).
    @discardableResult
    public func drain() -> UInt64 {
        var value: UInt64 = 0
        let n = retryingInterrupts { Glibc.read(descriptor.rawValue, &value, 8) }
        return n == 8 ? value : 0
    }
}
