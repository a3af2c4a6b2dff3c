#if canImport(Glibc)
import Glibc
import SecmodBase
#endif

/// A POSIX error number with its text, as swift-system's `Errno` but only what we need.
public struct Errno: Error, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's current `errno`.
    public static var current: Errno { Errno(Glibc.errno) }

    public var description: String { String(cString: strerror(rawValue)) }

    public static let again = Errno(EAGAIN)
    public static let connectionRefused = Errno(ECONNREFUSED)
    public static let noEntry = Errno(ENOENT)
    public static let notADirectory = Errno(ENOTDIR)
    public static let exists = Errno(EEXIST)

    /// Wraps this errno in the project's error, prefixed with what we were doing.
    public func error(_ what: String, code: SecmodError.Code = .system) -> SecmodError {
        SecmodError(code, "\(what): \(description)", errno: rawValue)
    }
}

/// Retries a system call while it fails with EINTR, the one failure that is never an answer.
@inline(__always)
func retryingInterrupts<T: BinaryInteger>(_ call: () -> T) -> T {
    while true {
        let result = call()
        if result >= 0 || Glibc.errno != EINTR { return result }
    }
}
