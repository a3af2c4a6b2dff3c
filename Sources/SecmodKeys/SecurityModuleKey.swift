import SecmodBase
import SecmodCrypto
import SecmodPkcs11
import SecmodSystem
#if canImport(Glibc)
import Glibc
#endif

/// The helper's own long-term Ed25519 key (`SM_PRIV_KEY`), with which it signs every key it
/// announces. Clients and the offline signer pin its public key on first use, so it must
/// never change: it is created once, and an existing file that looks wrong stops the helper
/// instead of being replaced.
public enum SecurityModuleKey {
    /// Loads the key at `path`, creating it if no file is there: in `token` when one is
    /// given (`SM_KEY_STORE = pkcs11`; the file is then its reference), else as a seed file
    /// (mode 0400, parents 0700). Whichever the file holds is loaded, whatever
    /// `SM_KEY_STORE` says now: the key never changes. Returns the key and whether it was
    /// created now.
    public static func loadOrCreate(path: String, token: Pkcs11Token? = nil, createInToken: Bool = false,
                                    label: String = "") throws(SecmodError) -> (key: any Ed25519Signer, created: Bool) {
        if !FileSystem.exists(path), createInToken, let token {
            let directory = FileSystem.directoryName(of: path)
            try FileSystem.createDirectories(directory, mode: 0o700)
            let id = randomBytes(TokenKeyStore.idByteCount)
            let publicKey = try token.generateEd25519(id: id, label: label)
            let reference = KeyReference(token: token.label, id: id, algorithm: .ed25519, publicKey: publicKey)
            do throws(SecmodError) {
                let key = TokenEd25519Key(token: token, id: id, publicKey: publicKey)
                try key.selfTest()
                try reference.encoded().withUnsafeBytes { bytes in
                    Result { () throws(SecmodError) in
                        try FileSystem.writeAtomically(directory: directory, name: FileSystem.baseName(of: path), mode: 0o400,
                                                       existing: .refuse, contents: bytes)
                    }
                }.get()
                return (key, true)
            } catch {
                try? token.destroyPrivateKey(id: id)
                guard error.code == .keyFile && error.errno == EEXIST else { throw error }
            }
        } else if !FileSystem.exists(path) {
            let directory = FileSystem.directoryName(of: path)
            try FileSystem.createDirectories(directory, mode: 0o700)
            let seed = Ed25519PrivateKey.generateSeed()
            let key = try Ed25519PrivateKey(seed: seed)
            do throws(SecmodError) {
                try seed.withUnsafeBytes { (bytes) throws(SecmodError) in
                    try FileSystem.writeAtomically(directory: directory, name: FileSystem.baseName(of: path), mode: 0o400,
                                                   existing: .refuse, contents: bytes)
                }
                return (key, true)
            } catch where error.code == .keyFile && error.errno == EEXIST {
                // Another process created it between our check and our rename: use theirs.
            }
        }
        return (try load(path: path, token: token), false)
    }

    /// Loads an existing key, refusing files that another user owns or others can read.
    public static func load(path: String, token: Pkcs11Token?) throws(SecmodError) -> any Ed25519Signer {
        let st: FileStatus
        do throws(Errno) { st = try FileSystem.status(path, followLinks: false) } catch {
            throw error.error("security module key \(path)", code: .keyFile)
        }
        guard st.isRegularFile else {
            throw SecmodError(.keyFile, "security module key \(path) is not a regular file; remove it only if you are sure it holds no key")
        }
        try PrivateStorage.check(path, what: "SM_PRIV_KEY")
        if KeyReference.isPlausibleSize(st.size) {
            let contents = try KeyDirectory.readEntry(path: path, maximumSize: KeyReference.maximumSize)
            if let reference = try KeyReference.read(from: contents, path: path) {
                guard reference.algorithm == .ed25519 else {
                    throw SecmodError(.keyFile, "security module key \(path) names an \(reference.algorithm) key, not Ed25519")
                }
                guard let token, token.label == reference.token else {
                    throw SecmodError(.configMissing, "security module key \(path) is in PKCS#11 token '\(reference.token)', which is not configured (PKCS11_MODULE, PKCS11_TOKEN)")
                }
                let key = TokenEd25519Key(token: token, id: reference.id, publicKey: reference.publicKey)
                try key.selfTest()
                return key
            }
        }
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
