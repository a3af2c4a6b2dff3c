#if canImport(Glibc)
import Glibc
import SecmodBase
#endif

/// An exclusive `flock(2)` on a lock file, held for as long as this value lives (the
/// kernel drops it when the descriptor closes, also when the process dies, so a crash
/// never leaves a stale lock). The holder writes its pid into the file, so that a second
/// process can say who holds it.
public struct FileLock: ~Copyable {
    private let descriptor: FileDescriptor

    /// Takes the lock without waiting. Throws `.alreadyRunning` naming the holder's pid
    /// when another process holds it.
    public init(path: String, what: String) throws(SecmodError) {
        let fd = try Self.open(path, what: what)
        if retryingInterrupts({ flock(fd.rawValue, LOCK_EX | LOCK_NB) }) != 0 {
            let e = Errno.current
            guard e.rawValue == EWOULDBLOCK else { throw e.error("locking \(path)") }
            let holder = (try? fd.read(upTo: 32)).flatMap { String(decoding: $0, as: UTF8.self).split(separator: "\n").first }
            let who = holder.flatMap { Int32($0) }.map { "process \($0)" } ?? "another process"
            throw SecmodError(.alreadyRunning, "\(what) is in use: \(who) holds the lock \(path). Two helpers on one key store would each count only their own signatures; stop the other one first")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd.rawValue, 0)
        _ = pid.withUnsafeBytes { pwrite(fd.rawValue, $0.baseAddress, $0.count, 0) }
        descriptor = fd
    }

    private static func open(_ path: String, what: String) throws(SecmodError) -> FileDescriptor {
        do throws(Errno) { return try FileDescriptor.open(path, O_RDWR | O_CREAT | O_NOFOLLOW, mode: 0o600) } catch {
            throw error.error("opening the lock file \(path) of \(what)", code: .permission)
        }
    }
}
