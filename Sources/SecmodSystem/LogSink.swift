#if canImport(Glibc)
import Glibc
import SecmodBase
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
    /// The file's path, for `reopen`; nil for a standard stream.
    public let path: String?

    private init(file: consuming FileDescriptor?, standardStream: Int32, path: String?) {
        descriptor = file?.rawValue ?? standardStream
        self.file = file
        self.path = path
    }

    public static let standardError = LogSink(file: nil, standardStream: STDERR_FILENO, path: nil)
    public static let standardOutput = LogSink(file: nil, standardStream: STDOUT_FILENO, path: nil)

    /// Appends to `path`, creating it 0640 (before the umask).
    public static func appending(to path: String) throws(Errno) -> LogSink {
        LogSink(file: try FileDescriptor.open(path, O_WRONLY | O_CREAT | O_APPEND, mode: 0o640), standardStream: -1, path: path)
    }

    /// Opens the path again and puts the new file under the same descriptor number
    /// (`dup2`, atomic): after logrotate renamed the old file, lines go to the new one, and
    /// a thread writing meanwhile writes whole lines to one or the other. No-op for a
    /// standard stream.
    public func reopen() throws(Errno) {
        guard let path else { return }
        let fresh = try FileDescriptor.open(path, O_WRONLY | O_CREAT | O_APPEND, mode: 0o640)
        if dup2(fresh.rawValue, descriptor) < 0 { throw Errno.current }
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)  // dup2 clears it; helpers start no programs
    }

    /// True when standard error is the systemd journal's stream: `JOURNAL_STREAM` names its
    /// device and inode (systemd.exec(5)). The journal then timestamps each line and reads a
    /// `<N>` priority prefix (sd-daemon(3)).
    public static func standardErrorIsJournal(environment: [String: String] = ProcessEnvironment.current) -> Bool {
        guard let value = environment["JOURNAL_STREAM"] else { return false }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var st = stat()
        guard fstat(STDERR_FILENO, &st) == 0 else { return false }
        return UInt64(st.st_dev) == device && UInt64(st.st_ino) == inode
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
