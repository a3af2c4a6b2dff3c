import SecmodBase
import SecmodSystem

/// The few file-system lookups the loader needs (through SecmodSystem), each failure a
/// `SecmodError(.system)` carrying errno and its text. Foundation's `FileManager` would
/// hide errno behind `CocoaError`, and operators need "Permission denied" versus
/// "No such file or directory" to fix a deployment.
enum ConfigFileSystem {
    /// Reads a whole file. The error names the path, because the caller may be several
    /// `@INLINE@` levels away from anything the operator typed.
    static func readFile(_ path: String) throws(SecmodError) -> [UInt8] {
        do throws(Errno) {
            // SecmodSystem's open adds O_CLOEXEC and retries EINTR.
            let fd = try FileDescriptor.openForReading(path)
            var bytes: [UInt8] = []
            while true {
                let chunk = try fd.read(upTo: 65536)
                if chunk.isEmpty { return bytes }
                bytes += chunk
            }
        } catch {
            throw SecmodError(.configMissing, "cannot read configuration file '\(path)': \(error)", errno: error.rawValue)
        }
    }

    static func isReadable(_ path: String) -> Bool { FileSystem.isReadable(path) }

    /// `realpath(3)`, or nil when the path does not resolve (e.g. text loaded under a
    /// label that is not a real file).
    static func realPath(_ path: String) -> String? { FileSystem.canonicalPath(path) }

    static func currentDirectory() throws(SecmodError) -> String {
        do throws(Errno) { return try FileSystem.currentDirectory() } catch {
            throw SecmodError(.system, "cannot determine the current directory: \(error)", errno: error.rawValue)
        }
    }

    /// The directory part of a path (everything before the last `/`), as GNUnet computes
    /// it for `@INLINE@`: `"/a/b.conf"` → `"/a"`, `"/b.conf"` → `""`.
    static func directoryPart(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return String(path[..<slash])
    }

    /// Names in a directory (without `.` and `..`), or nil when the directory does not exist.
    static func directoryEntries(_ path: String) throws(SecmodError) -> [String]? {
        do throws(Errno) { return try FileSystem.listDirectory(path) } catch {
            if error == .noEntry || error == .notADirectory { return nil }
            throw SecmodError(.system, "cannot read configuration directory '\(path)': \(error)", errno: error.rawValue)
        }
    }

    /// `glob(3)` for `@INLINE-MATCHING@`; no match is an empty list, not an error.
    static func matchingPaths(_ pattern: String) throws(SecmodError) -> [String] {
        let (paths, failure) = FileSystem.matchingPaths(pattern)
        if let failure {
            throw SecmodError(.system, "cannot expand configuration glob '\(pattern)' (glob error \(failure))")
        }
        return paths
    }

    /// Byte-wise order, the order of C's `strcmp`, which GNUnet uses to sort `config.d`
    /// and glob results. Swift's `String` `<` compares Unicode scalars, which agrees for
    /// UTF-8 but spelling it out keeps the intent visible.
    static func strcmpLess(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}
