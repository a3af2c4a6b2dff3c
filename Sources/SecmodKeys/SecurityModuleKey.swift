import SecmodBase
import SecmodCrypto
import SecmodSystem
#if canImport(Glibc)
import Glibc
#endif

/// The helper's own long-term Ed25519 key (`SM_PRIV_KEY`), with which it signs every key it
/// announces. Clients and the offline signer pin its public key on first use, so it must
/// never change: it is created once, and an existing file that looks wrong stops the helper
/// instead of being replaced.
public enum SecurityModuleKey {
    /// Loads the key at `path`, creating it (mode 0400, parents 0700) if no file is there.
    /// Returns the key and whether it was created now.
    public static func loadOrCreate(path: String) throws(SecmodError) -> (key: Ed25519PrivateKey, created: Bool) {
        if !FileSystem.exists(path) {
            let directory = parentDirectory(of: path)
            try FileSystem.createDirectories(directory, mode: 0o700)
            let seed = Ed25519PrivateKey.generateSeed()
            let key = try Ed25519PrivateKey(seed: seed)
            do throws(SecmodError) {
                try seed.withUnsafeBytes { (bytes) throws(SecmodError) in
                    try FileSystem.writeAtomically(directory: directory, name: baseName(of: path), mode: 0o400,
                                                   existing: .refuse, contents: bytes)
                }
                return (key, true)
            } catch where error.code == .keyFile && error.errno == EEXIST {
                // Another process created it between our check and our rename: use theirs.
            }
        }
        return (try load(path: path), false)
    }

    /// Loads an existing key, refusing files that another user owns or others can read.
    public static func load(path: String) throws(SecmodError) -> Ed25519PrivateKey {
        let st: FileStatus
        do throws(Errno) { st = try FileSystem.status(path, followLinks: false) } catch {
            throw error.error("security module key \(path)", code: .keyFile)
        }
        guard st.isRegularFile else {
            throw SecmodError(.keyFile, "security module key \(path) is not a regular file; remove it only if you are sure it holds no key")
        }
        try PrivateStorage.check(path, what: "SM_PRIV_KEY")
        guard st.size == Int64(Ed25519PrivateKey.seedByteCount) else {
            throw SecmodError(.keyFile, "security module key \(path) has \(st.size) bytes, not 32: refusing to use or replace it")
        }
        return try SeedFile.readKey(path: path, what: "security module key")
    }
}

/// A file holding one raw 32-byte Ed25519 seed: the security module key, Taler's EdDSA key
/// files, the offline master key. Callers check owner, type and mode their own way first.
public enum SeedFile {
    /// Reads the seed into secure memory and derives the key; the seed never lands in an
    /// ordinary buffer.
    public static func readKey(path: String, what: String) throws(SecmodError) -> Ed25519PrivateKey {
        var seed = SecureBytes(count: Ed25519PrivateKey.seedByteCount)
        let n = try seed.withUnsafeMutableBytes { (buffer) throws(SecmodError) in
            try FileSystem.readRegularFile(path, maximumSize: Ed25519PrivateKey.seedByteCount, into: buffer)
        }
        guard n == Ed25519PrivateKey.seedByteCount else {
            throw SecmodError(.keyFile, "\(what) \(path): read \(n) of 32 bytes")
        }
        return try Ed25519PrivateKey(seed: seed)
    }
}

func parentDirectory(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    let parent = String(path[..<slash])
    return parent.isEmpty ? "/" : parent
}

func baseName(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return path }
    return String(path[path.index(after: slash)...])
}
