internal import CSecmodShim
#if canImport(Glibc)
import Glibc
import SecmodBase
#endif

/// File operations with the durability and permission rules of a key store.
public enum FileSystem {
    /// Sets the process umask; returns the previous one.
    @discardableResult
    public static func setUmask(_ mask: UInt32) -> UInt32 { UInt32(umask(mode_t(mask))) }

    public static func status(_ path: String, followLinks: Bool = true) throws(Errno) -> FileStatus {
        var st = stat()
        let rc = followLinks ? stat(path, &st) : lstat(path, &st)
        if rc != 0 { throw Errno.current }
        return FileStatus(st)
    }

    /// The last component of a path, as `basename(1)`: "/a/b" and "/a/b/" give "b".
    public static func baseName(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/"), trimmed.count > 1 else { return String(trimmed) }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    /// The directory part of a path, as `dirname(1)`: "/a/b" gives "/a", "/a" gives "/",
    /// and "b" gives ".".
    public static func directoryName(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        var head = trimmed[..<slash]
        while head.count > 1, head.hasSuffix("/") { head = head.dropLast() }
        return head.isEmpty ? "/" : String(head)
    }

    /// `realpath(3)`: the absolute path with every symlink resolved, or nil (errno says why).
    public static func resolvedPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// Creates `path` and any missing parents. Directories this call creates get exactly
    /// `mode`, whatever the umask; existing ones are left as they are.
    public static func createDirectories(_ path: String, mode: UInt32) throws(SecmodError) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            current += "/" + part
            if mkdir(current, mode_t(mode)) == 0 {
                if chmod(current, mode_t(mode)) != 0 { throw Errno.current.error("chmod \(current)") }
                continue
            }
            let e = Errno.current
            guard e == .exists else { throw e.error("creating directory \(current)") }
            guard let st = try? status(current), st.isDirectory else {
                throw SecmodError(.permission, "\(current) exists but is not a directory")
            }
        }
    }

    /// Names in a directory, without `.` and `..`.
    public static func listDirectory(_ path: String) throws(Errno) -> [String] {
        guard let dir = opendir(path) else { throw Errno.current }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// fsyncs a directory, which makes the creation, rename or removal of its entries durable.
    public static func syncDirectory(_ path: String) throws(Errno) {
        let fd = try FileDescriptor.open(path, O_RDONLY | O_DIRECTORY)
        try fd.sync()
    }

    /// Removes a file and makes the removal durable.
    public static func removeDurably(_ path: String, directory: String) throws(Errno) {
        if unlink(path) != 0 {
            let e = Errno.current
            if e != .noEntry { throw e }
        }
        try syncDirectory(directory)
    }

    public static func remove(_ path: String) throws(Errno) {
        if unlink(path) != 0 { throw Errno.current }
    }

    public static func changeMode(_ path: String, _ mode: UInt32) throws(Errno) {
        if chmod(path, mode_t(mode)) != 0 { throw Errno.current }
    }

    /// How an atomic write treats an existing file of the same name.
    public enum Existing: Sendable {
        /// Fail with EEXIST: a new key never silently replaces another.
        case refuse
        /// Replace it in one step (revocation: the old key is gone exactly when the new one is there).
        case replace
    }

    /// The temporary file `writeAtomically` writes before renaming it to `name`:
    /// `.<name>.tmp-<hex>`. Hidden, and never a valid key or record name.
    static func temporaryName(for name: String, suffix: UInt64) -> String {
        "." + name + ".tmp-" + String(suffix, radix: 16)
    }

    /// True for a temporary file of `writeAtomically`, which a crash may leave behind: the
    /// next scan of the directory removes it.
    public static func isTemporaryName(_ name: String) -> Bool {
        name.hasPrefix(".") && name.containsBytes(".tmp-")
    }

    /// Writes a file so that a crash leaves either no file or the whole file, never a part:
    /// write a temporary file, fsync it, rename it into place, fsync the directory.
    /// The temporary file is created with `mode` already set, so the contents are never
    /// readable more widely than the final file.
    public static func writeAtomically(directory: String, name: String, mode: UInt32, existing: Existing,
                                       contents: UnsafeRawBufferPointer) throws(SecmodError) {
        let target = directory + "/" + name
        let temporary = directory + "/" + temporaryName(for: name, suffix: secmod_random_u64())
        do throws(Errno) {
            let fd = try FileDescriptor.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: mode)
            try fd.setMode(mode)
            var offset = 0
            while offset < contents.count {
                let n = retryingInterrupts { write(fd.rawValue, contents.baseAddress! + offset, contents.count - offset) }
                if n < 0 { throw Errno.current }
                offset += n
            }
            try fd.sync()
        } catch {
            unlink(temporary)
            throw error.error("writing \(target)")
        }
        let rc = existing == .refuse ? secmod_rename_noreplace(temporary, target) : rename(temporary, target)
        if rc != 0 {
            let e = Errno.current
            unlink(temporary)
            if e == .exists {
                throw SecmodError(.keyFile, "refusing to overwrite existing file \(target)", errno: e.rawValue)
            }
            throw e.error("renaming into \(target)")
        }
        do throws(Errno) { try syncDirectory(directory) } catch {
            // The file is in place but its name may not survive a power cut. A caller told
            // "failed" will retry; for a new file it must find no file then, or it could
            // never store it (RENAME_NOREPLACE) and a key could be on disk but never served.
            if existing == .refuse { unlink(target) }
            throw error.error("syncing directory \(directory)")
        }
    }

    private static func openForReading(_ path: String) throws(SecmodError) -> FileDescriptor {
        do throws(Errno) { return try FileDescriptor.open(path, O_RDONLY | O_NOFOLLOW) } catch {
            throw error.error("opening \(path)", code: error == .noEntry ? .system : .keyFile)
        }
    }

    /// Reads a whole file of at most `maximumSize` bytes into `destination` through an
    /// already-open, non-following descriptor, so the checks and the read see the same file.
    /// Returns the number of bytes read.
    public static func readRegularFile(_ path: String, maximumSize: Int,
                                       into destination: UnsafeMutableRawBufferPointer) throws(SecmodError) -> Int {
        let fd = try openForReading(path)
        let st: FileStatus
        do throws(Errno) { st = try fd.status() } catch { throw error.error("stat \(path)") }
        guard st.isRegularFile else { throw SecmodError(.keyFile, "\(path) is not a regular file") }
        guard st.size <= Int64(maximumSize), Int(st.size) <= destination.count else {
            throw SecmodError(.keyFile, "\(path) has \(st.size) bytes, more than the \(maximumSize) a key file may have")
        }
        var offset = 0
        while offset < destination.count {
            let n = retryingInterrupts { read(fd.rawValue, destination.baseAddress! + offset, destination.count - offset) }
            if n < 0 { throw Errno.current.error("reading \(path)") }
            if n == 0 { break }
            offset += n
        }
        return offset
    }
}
