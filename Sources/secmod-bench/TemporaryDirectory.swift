import SecmodBase
import SecmodSystem
#if canImport(Glibc)
import Glibc
#endif

/// A fresh private directory for one helper run, removed with everything in it afterwards:
/// the helper writes key files, its security-module key and its socket there.
struct TemporaryDirectory: Sendable {
    let path: String

    /// Creates `$TMPDIR/secmod-bench-XXXXXX` (or under /tmp), mode 0700.
    init() throws(SecmodError) {
        var base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        if base.isEmpty { base = "/tmp" }
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        var template = Array("\(base)/secmod-bench-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw Errno.current.error("creating a temporary directory under \(base)")
        }
        path = String(cString: made)
    }

    /// Removes the directory tree; files are removed whatever their mode (key files are 0400).
    func remove() throws(SecmodError) {
        try Self.removeTree(path)
    }

    private static func removeTree(_ path: String) throws(SecmodError) {
        let status: FileStatus
        do throws(Errno) { status = try FileSystem.status(path, followLinks: false) } catch {
            if error == .noEntry { return }
            throw error.error("stat \(path)")
        }
        if status.isDirectory {
            let names: [String]
            do throws(Errno) { names = try FileSystem.listDirectory(path) } catch { throw error.error("listing \(path)") }
            for name in names { try removeTree(path + "/" + name) }
            if rmdir(path) != 0 { throw Errno.current.error("removing directory \(path)") }
        } else {
            do throws(Errno) { try FileSystem.remove(path) } catch { throw error.error("removing \(path)") }
        }
    }
}
