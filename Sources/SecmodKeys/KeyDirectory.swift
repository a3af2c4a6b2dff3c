import SecmodBase
import SecmodCrypto
import SecmodSystem
import SecmodWire
#if canImport(Glibc)
import Glibc
#endif

/// One directory of private key files named by their anchor in decimal seconds, as Taler's
/// helpers lay them out (`KEY_DIR/<anchor>` for EdDSA, `KEY_DIR/<section>/<anchor>` for RSA).
///
/// Every write is atomic and durable, a new key never overwrites an existing file, and a
/// scan never deletes anything it does not understand.
public struct KeyDirectory: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// The lock file that keeps a second helper off the store (`FileLock`); scans pass it by.
    public static let lockFileName = ".secmod-lock"

    /// Creates the directory (mode 0700) if needed.
    public func create() throws(SecmodError) {
        try FileSystem.createDirectories(path, mode: 0o700)
    }

    public func filePath(anchor: Timestamp) -> String { path + "/" + String(anchor.seconds) }

    /// A key file found by `scan`, or why one was passed over.
    public enum Entry: Sendable {
        case key(anchor: Timestamp, path: String)
        case skipped(name: String, reason: String)
    }

    /// Lists the key files. Entries that are not regular files, have names that are not an
    /// anchor, or have an implausible size are reported as skipped and left alone. Key files
    /// with looser modes than 0400 are tightened, as Taler's helpers do. Leftover temporary
    /// files of an interrupted write are removed: they were never announced.
    public func scan(plausibleSize: (Int64) -> Bool) throws(SecmodError) -> [Entry] {
        let names: [String]
        do throws(Errno) { names = try FileSystem.listDirectory(path) } catch {
            if error == .noEntry { return [] }
            throw error.error("listing key directory \(path)")
        }
        var entries: [Entry] = []
        for name in names.sorted() where name != Self.lockFileName {
            let full = path + "/" + name
            if FileSystem.isTemporaryName(name) {
                try? FileSystem.remove(full)
                entries.append(.skipped(name: name, reason: "removed the temporary file of an interrupted write"))
                continue
            }
            guard let seconds = Self.anchorSeconds(name) else {
                entries.append(.skipped(name: name, reason: "name is not an anchor in decimal seconds"))
                continue
            }
            let st: FileStatus
            do throws(Errno) { st = try FileSystem.status(full, followLinks: false) } catch {
                entries.append(.skipped(name: name, reason: "cannot stat: \(error)"))
                continue
            }
            guard st.isRegularFile else {
                entries.append(.skipped(name: name, reason: st.isSymbolicLink ? "is a symbolic link" : "is not a regular file"))
                continue
            }
            guard plausibleSize(st.size) else {
                entries.append(.skipped(name: name, reason: "has an implausible size of \(st.size) bytes"))
                continue
            }
            if st.permissions != 0o400 {
                do throws(Errno) { try FileSystem.changeMode(full, 0o400) } catch {
                    entries.append(.skipped(name: name, reason: "mode \(octalMode(st.permissions)) and chmod 0400 failed: \(error)"))
                    continue
                }
            }
            entries.append(.key(anchor: Timestamp(seconds: seconds), path: full))
        }
        return entries
    }

    /// Parses a file name the way Taler does (`%llu` with nothing after it), rejecting values
    /// whose microseconds would overflow.
    public static func anchorSeconds(_ name: String) -> UInt64? {
        guard !name.isEmpty, name.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let value = UInt64(name), value <= UInt64.max / 1_000_000 else { return nil }
        return value
    }

    /// Reads a key file into secure memory.
    public func read(path: String, maximumSize: Int) throws(SecmodError) -> SecureBytes {
        try Self.readEntry(path: path, maximumSize: maximumSize)
    }

    /// Reads a key file or a token key's reference into secure memory.
    public static func readEntry(path: String, maximumSize: Int) throws(SecmodError) -> SecureBytes {
        var buffer = SecureBytes(count: maximumSize)
        let n = try buffer.withUnsafeMutableBytes { (b) throws(SecmodError) in
            try FileSystem.readRegularFile(path, maximumSize: maximumSize, into: b)
        }
        if n == maximumSize { return buffer }
        var exact = SecureBytes(count: n)
        buffer.withUnsafeBytes { src in
            exact.withUnsafeMutableBytes { dst in dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src.prefix(n))) }
        }
        return exact
    }

    /// Stores a new key; fails rather than overwrite an existing file.
    public func storeNew(anchor: Timestamp, contents: borrowing SecureBytes) throws(SecmodError) {
        try store(anchor: anchor, contents: contents, existing: .refuse)
    }

    /// Replaces a revoked key with its successor in one atomic rename.
    public func storeReplacement(anchor: Timestamp, contents: borrowing SecureBytes) throws(SecmodError) {
        try store(anchor: anchor, contents: contents, existing: .replace)
    }

    /// `storeReplacement` or `storeNew`.
    public func store(anchor: Timestamp, contents: borrowing SecureBytes, replacing: Bool) throws(SecmodError) {
        try store(anchor: anchor, contents: contents, existing: replacing ? .replace : .refuse)
    }

    /// Stores bytes that are not secret (a token key's reference) with the same care.
    public func store(anchor: Timestamp, public contents: [UInt8], replacing: Bool) throws(SecmodError) {
        try create()
        try contents.withUnsafeBytes { bytes in
            Result { () throws(SecmodError) in
                try FileSystem.writeAtomically(directory: path, name: String(anchor.seconds), mode: 0o400,
                                               existing: replacing ? .replace : .refuse, contents: bytes)
            }
        }.get()
    }

    private func store(anchor: Timestamp, contents: borrowing SecureBytes, existing: FileSystem.Existing) throws(SecmodError) {
        try create()
        try contents.withUnsafeBytes { (bytes) throws(SecmodError) in
            try FileSystem.writeAtomically(directory: path, name: String(anchor.seconds), mode: 0o400,
                                           existing: existing, contents: bytes)
        }
    }

    /// Deletes an expired key's file durably. A file that is already gone is fine.
    public func remove(anchor: Timestamp) throws(SecmodError) {
        do throws(Errno) { try FileSystem.removeDurably(filePath(anchor: anchor), directory: path) } catch {
            throw error.error("removing \(filePath(anchor: anchor))")
        }
    }
}
