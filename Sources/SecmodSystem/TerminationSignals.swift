internal import CSecmodShim
#if canImport(Glibc)
import Glibc
import SecmodBase
#endif

/// SIGTERM, SIGINT and SIGHUP delivered as readable data on a signalfd, so the event loop
/// handles shutdown (and SIGHUP's log reopening) in its own turn instead of in an
/// async-signal handler. SIGHUP's default action would end the process without a word.
///
/// Create it on the main thread before any other thread starts: threads inherit the
/// blocked-signal mask, so no worker ever takes the signal itself.
public struct TerminationSignals: ~Copyable, @unchecked Sendable {
    public let descriptor: FileDescriptor

    public init() throws(SecmodError) {
        if secmod_ignore_sigpipe() != 0 { throw Errno.current.error("ignoring SIGPIPE") }
        let signals: [Int32] = [SIGTERM, SIGINT, SIGHUP]
        let fd = signals.withUnsafeBufferPointer { secmod_signalfd_block($0.baseAddress, Int32($0.count)) }
        if fd < 0 { throw Errno.current.error("signalfd") }
        descriptor = FileDescriptor(adopting: fd)
    }

    public var rawValue: Int32 { descriptor.rawValue }

    /// The pending signal's number, or nil if none is pending.
    public func next() -> Int32? {
        let signo = secmod_signalfd_read(descriptor.rawValue)
        return signo > 0 ? signo : nil
    }
}

/// Ignores SIGPIPE for the whole process; clients call this so that writing to a helper that
/// went away is an error code, not a crash.
public func ignoreBrokenPipeSignal() {
    _ = secmod_ignore_sigpipe()
}
