#if canImport(Glibc)
import Glibc
#endif

/// Where a process's log lines and messages go: standard error or output, or a file opened
/// for appending.
///
/// Each `write` is one `write(2)`, so that lines from several threads never interleave.
/// Shared by reference: a log handler is copied freely, the descriptor it writes to must not be.
public final class LogSink: Sendable {
    /// A file this sink owns, closed with it; nil for a standard stream, which it does not own.
    private let file: FileDescriptor?
    private let descriptor: Int32

    private init(file: consuming FileDescriptor?, standardStream: Int32) {
        descriptor = file?.rawValue ?? standardStream
        self.file = file
    }

    public static let standardError = LogSink(file: nil, standardStream: STDERR_FILENO)
    public static let standardOutput = LogSink(file: nil, standardStream: STDOUT_FILENO)

    /// Appends to `path`, creating it 0640 (before the umask).
    public static func appending(to path: String) throws(Errno) -> LogSink {
        LogSink(file: try FileDescriptor.open(path, O_WRONLY | O_CREAT | O_APPEND, mode: 0o640), standardStream: -1)
    }

    /// Writes `bytes`, in one call unless the kernel takes less (a full pipe). A log that
    /// cannot be written is not an error the caller could act on.
    public func write(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                retryingInterrupts { Glibc.write(descriptor, raw.baseAddress! + offset, raw.count - offset) }
            }
            if n <= 0 { return }
            offset += n
        }
    }
}
