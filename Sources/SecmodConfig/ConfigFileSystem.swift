import Foundation
import SecmodBase
import SecmodSystem

/// The few POSIX calls the loader needs, wrapped so that every failure becomes a
/// `SecmodError(.system)` carrying errno and its text. Foundation's `FileManager` would
/// hide errno behind `CocoaError`, and operators need "Permission denied" versus
/// "No such file or directory" to fix a deployment.
enum ConfigFileSystem {
    static func errnoText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    /// Reads a whole file. The error names the path, because the caller may be several
    /// `@INLINE@` levels away from anything the operator typed.
    static func readFile(_ path: String) throws(SecmodError) -> [UInt8] {
        do throws(Errno) {
            // SecmodSystem's open adds O_CLOEXEC and retries EINTR.
            let fd = try FileDescriptor.open(path, O_RDONLY)
            var bytes: [UInt8] = []
            while true {
                let chunk = try fd.read(upTo: 65536)
                if chunk.isEmpty { return bytes }
                bytes += chunk
            }
        } catch {
            throw SecmodError(.system, "cannot read configuration file '\(path)': \(error)", errno: error.rawValue)
        }
    }

    static func isReadable(_ path: String) -> Bool {
        access(path, R_OK) == 0
    }

    /// `realpath(3)`, or nil when the path does not resolve (e.g. text loaded under a
    /// label that is not a real file).
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func currentDirectory() throws(SecmodError) -> String {
        var size = 4096
        while size <= 4 * 1024 * 1024 {
            var buffer = [CChar](repeating: 0, count: size)
            let found = buffer.withUnsafeMutableBufferPointer { getcwd($0.baseAddress, size) != nil }
            if found {
                let length = buffer.firstIndex(of: 0) ?? buffer.count
                return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            let code = errno
            if code != ERANGE {
                throw SecmodError(.system, "cannot determine the current directory: \(errnoText(code))", errno: code)
            }
            size *= 2
        }
        throw SecmodError(.system, "cannot determine the current directory: path too long", errno: ERANGE)
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
            if error.rawValue == ENOENT || error.rawValue == ENOTDIR { return nil }
            throw SecmodError(.system, "cannot read configuration directory '\(path)': \(error)", errno: error.rawValue)
        }
    }

    /// `glob(3)` for `@INLINE-MATCHING@`; no match is an empty list, not an error.
    static func matchingPaths(_ pattern: String) throws(SecmodError) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        let status = glob(pattern, 0, nil, &result)
        if status == GLOB_NOMATCH { return [] }
        if status != 0 {
            throw SecmodError(.system, "cannot expand configuration glob '\(pattern)' (glob error \(status))")
        }
        var paths: [String] = []
        for index in 0..<Int(result.gl_pathc) {
            if let path = result.gl_pathv[index] {
                paths.append(String(cString: path))
            }
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
