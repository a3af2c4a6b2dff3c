#if canImport(Glibc)
import Glibc
#endif

/// An owned file descriptor: closed exactly once, when its owner lets go of it.
///
/// Non-copyable so that two owners can never close the same number, which after reuse
/// would close somebody else's socket.
public struct FileDescriptor: ~Copyable, @unchecked Sendable {
    public let rawValue: Int32

    public init(adopting rawValue: Int32) { self.rawValue = rawValue }

    deinit { _ = Glibc.close(rawValue) }

    /// Reads up to `count` bytes. Returns an empty array at end of file.
    public func read(upTo count: Int) throws(Errno) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        let n = buffer.withUnsafeMutableBytes { raw in
            retryingInterrupts { Glibc.read(rawValue, raw.baseAddress, count) }
        }
        if n < 0 { throw Errno.current }
        buffer.removeLast(count - n)
        return buffer
    }

    /// Writes all of `bytes`, looping over short writes.
    public func writeAll(_ bytes: [UInt8]) throws(Errno) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                retryingInterrupts { Glibc.write(rawValue, raw.baseAddress! + offset, bytes.count - offset) }
            }
            if n < 0 { throw Errno.current }
            offset += n
        }
    }

    public func sync() throws(Errno) {
        if retryingInterrupts({ fsync(rawValue) }) != 0 { throw Errno.current }
    }

    public func status() throws(Errno) -> FileStatus {
        var st = stat()
        if fstat(rawValue, &st) != 0 { throw Errno.current }
        return FileStatus(st)
    }

    public func setMode(_ mode: UInt32) throws(Errno) {
        if fchmod(rawValue, mode_t(mode)) != 0 { throw Errno.current }
    }

    public func setNonBlocking() throws(Errno) {
        let flags = fcntl(rawValue, F_GETFL)
        if flags < 0 || fcntl(rawValue, F_SETFL, flags | O_NONBLOCK) < 0 { throw Errno.current }
    }

    /// Opens a file read-only (`O_CLOEXEC`).
    public static func openForReading(_ path: String) throws(Errno) -> FileDescriptor {
        try open(path, O_RDONLY)
    }

    /// Opens a file. `O_CLOEXEC` is always added, so no helper secret leaks into a child.
    public static func open(_ path: String, _ flags: Int32, mode: UInt32 = 0) throws(Errno) -> FileDescriptor {
        let fd = retryingInterrupts { Glibc.open(path, flags | O_CLOEXEC, mode_t(mode)) }
        if fd < 0 { throw Errno.current }
        return FileDescriptor(adopting: fd)
    }
}

/// The parts of `struct stat` that the helpers check.
public struct FileStatus: Sendable, Equatable {
    public let mode: UInt32
    public let uid: UInt32
    public let gid: UInt32
    public let size: Int64

    init(_ st: stat) {
        mode = UInt32(st.st_mode)
        uid = st.st_uid
        gid = st.st_gid
        size = Int64(st.st_size)
    }

    public var permissions: UInt32 { mode & 0o7777 }
    public var isRegularFile: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFREG) }
    public var isDirectory: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFDIR) }
    public var isSocket: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFSOCK) }
    public var isSymbolicLink: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFLNK) }
}

/// A file mode as operators write it: `0640`.
public func octalMode(_ mode: UInt32) -> String {
    let digits = String(mode & 0o7777, radix: 8)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}
