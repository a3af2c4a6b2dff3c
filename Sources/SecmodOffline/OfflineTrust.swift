import SecmodBase
import SecmodCrypto
import SecmodKeys
import SecmodSystem
import SecmodWire
#if canImport(Glibc)
import Glibc
#endif

/// The offline master key (`[exchange-offline] MASTER_PRIV_FILE`): a 32-byte Ed25519 seed
/// in a file of mode 0400 (offline-documents.md §4.2, §9).
public enum MasterKey {
    /// Loads the key, refusing a missing file, anything but a regular file, a mode other
    /// than owner-read-only, or a size other than 32 bytes.
    public static func load(path: String) throws(SecmodError) -> Ed25519PrivateKey {
        let st: FileStatus
        do throws(Errno) { st = try FileSystem.status(path, followLinks: false) } catch {
            if error == .noEntry {
                throw SecmodError(.keyFile, "master key \(path) does not exist. On the offline machine, create it once with 'secmod setup -c FILE', or set [exchange-offline] MASTER_PRIV_FILE to where it is")
            }
            throw error.error("master key \(path)", code: .keyFile)
        }
        guard st.isRegularFile else {
            throw SecmodError(.keyFile, "master key \(path) is not a regular file (symbolic links are not followed)")
        }
        guard st.permissions & ~UInt32(0o400) == 0 else {
            let exposed = st.permissions & 0o077 != 0
            throw SecmodError(.permission, "master key \(path) has mode \(octalMode(st.permissions)); it must be 0400 (read-only, owner only). Run 'chmod 0400 \(path)'" + (exposed ? "; others could read it, so if this machine is not yours alone, treat the master key as compromised" : ""))
        }
        guard st.size == Int64(Ed25519PrivateKey.seedByteCount) else {
            throw SecmodError(.keyFile, "master key \(path) has \(st.size) bytes; a master key file holds exactly 32 (a raw Ed25519 seed)")
        }
        return try SeedFile.readKey(path: path, what: "master key")
    }

    /// Creates a new key (mode 0400, missing parent directories 0700); never replaces one.
    public static func create(path: String) throws(SecmodError) -> Ed25519PrivateKey {
        guard !FileSystem.exists(path) else {
            throw SecmodError(.keyFile, "master key \(path) already exists; refusing to replace it (a new master key would invalidate every signature the exchange has)")
        }
        let (directory, name) = offlineSplitPath(path)
        try FileSystem.createDirectories(directory, mode: 0o700)
        let seed = Ed25519PrivateKey.generateSeed()
        let key = try Ed25519PrivateKey(seed: seed)
        try seed.withUnsafeBytes { (bytes) throws(SecmodError) in
            try FileSystem.writeAtomically(directory: directory, name: name, mode: 0o400, existing: .refuse, contents: bytes)
        }
        return key
    }
}

/// Trust on first use of the helpers' security-module keys (offline-documents.md §5): a
/// 96-byte file RSA ‖ CS ‖ EdDSA, written once with mode 0400.
public enum ModuleKeyPins {
    public enum State: Equatable {
        /// The pin file exists and holds exactly these keys.
        case matches
        /// No pin file yet; the configuration pins that are set match. `pin` writes the file.
        case firstUse
    }

    /// Compares the document's module keys with the pin file, or on first use with the
    /// `SECM_*_PUBKEY` configuration pins. Writes nothing. A difference is an error naming
    /// which module key changed.
    public static func check(_ keys: SecurityModuleKeySet, file: String, configuredPins: [String: [UInt8]]) throws(SecmodError) -> State {
        if let pinned = try read(file) {
            var changes: [String] = []
            for (mine, theirs) in zip(pinned.members, keys.members) where mine.key != theirs.key {
                changes.append("the \(mine.name)'s module key changed: pinned \(describe(mine.key)), the document has \(describe(theirs.key))")
            }
            guard changes.isEmpty else {
                throw SecmodError(.crypto, "security module keys changed! " + changes.joined(separator: "; ") + ". A changed module key means the keys were not made by the helper you trusted. If the change is legitimate (a helper's SM_PRIV_KEY was deliberately replaced, or a CS helper was added), confirm the new key with the exchange operator out of band, then remove \(file) so the next run pins the new keys")
            }
            return .matches
        }
        for member in keys.members {
            guard let expected = configuredPins[member.pinOption] else { continue }
            guard expected == member.key else {
                throw SecmodError(.crypto, "the \(member.name)'s module key \(describe(member.key)) in the document does not match [\(OfflineSettings.section)] \(member.pinOption) = \(CrockfordBase32.encode(expected)) in the configuration: refusing to pin it")
            }
        }
        return .firstUse
    }

    /// Writes the pin file (first use): parent directories 0700, the file 0400, never
    /// replacing an existing one.
    public static func pin(_ keys: SecurityModuleKeySet, file: String) throws(SecmodError) {
        let (directory, name) = offlineSplitPath(file)
        try FileSystem.createDirectories(directory, mode: 0o700)
        do throws(SecmodError) {
            try offlineWithBytes(keys.bytes) { (bytes) throws(SecmodError) in
                try FileSystem.writeAtomically(directory: directory, name: name, mode: 0o400, existing: .refuse, contents: bytes)
            }
        } catch {
            throw SecmodError(error.code, "cannot write the module key pin file: \(error.message)", errno: error.errno)
        }
    }

    /// The pinned keys, or nil when there is no pin file. Refuses a file that is not a
    /// regular file, that others may write, or that is not exactly 96 bytes.
    public static func read(_ file: String) throws(SecmodError) -> SecurityModuleKeySet? {
        let st: FileStatus
        do throws(Errno) { st = try FileSystem.status(file, followLinks: false) } catch {
            if error == .noEntry { return nil }
            throw error.error("module key pin file \(file)", code: .keyFile)
        }
        guard st.isRegularFile else { throw SecmodError(.keyFile, "module key pin file \(file) is not a regular file") }
        guard st.permissions & 0o022 == 0 else {
            throw SecmodError(.permission, "module key pin file \(file) has mode \(octalMode(st.permissions)): others may change it, so it proves nothing. Check its contents against the helpers' module keys, then 'chmod 0400 \(file)'")
        }
        guard st.size == Int64(SecurityModuleKeySet.byteCount) else {
            throw SecmodError(.keyFile, "module key pin file \(file) is corrupt: it has \(st.size) bytes, not 96 (RSA, CS and EdDSA module keys of 32 bytes each). Restore it from a backup, or remove it to pin again on the next run")
        }
        var bytes = [UInt8](repeating: 0, count: SecurityModuleKeySet.byteCount)
        let n = try offlineWithMutableBytes(&bytes) { (buffer) throws(SecmodError) in
            try FileSystem.readRegularFile(file, maximumSize: SecurityModuleKeySet.byteCount, into: buffer)
        }
        guard n == SecurityModuleKeySet.byteCount else {
            throw SecmodError(.keyFile, "module key pin file \(file) is corrupt: read \(n) of 96 bytes")
        }
        return try SecurityModuleKeySet(bytes: bytes)
    }

    public static func describe(_ key: [UInt8]) -> String {
        key.allSatisfy({ $0 == 0 }) ? "none (all zero: no such helper)" : CrockfordBase32.encode(key)
    }
}

public func offlineSplitPath(_ path: String) -> (directory: String, name: String) {
    guard let slash = path.lastIndex(of: "/") else { return (".", path) }
    let directory = String(path[..<slash])
    return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
}
