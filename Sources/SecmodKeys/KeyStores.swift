import SecmodBase
import SecmodCrypto
import SecmodSystem

/// The stores a helper reads its keys from and the one it makes new keys in
/// (`KEY_STORE`). A key directory may hold key files and token references side by side —
/// a store being migrated into a token, or a helper switched to a token while its file
/// keys still have time to run — and each entry is read by the store that wrote it, told
/// apart by its contents. Key families never see which store holds a key.
public final class KeyStores: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case file
        case pkcs11
    }

    /// Where new keys are made.
    public let kind: Kind
    public let file: FileKeyStore
    /// Configured when `PKCS11_MODULE` is: needed for new keys under `KEY_STORE = pkcs11`
    /// and to serve references under either.
    public let token: TokenKeyStore?
    /// The `CKA_ID`s of every reference seen at load, and whether any entry could not be
    /// read (then no object is destroyed as unreferenced: it might be that entry's).
    private let seen = Locked<(ids: Set<[UInt8]>, unreadable: Bool)>(([], false))

    public init(kind: Kind, file: FileKeyStore, token: TokenKeyStore?) {
        precondition(kind == .file || token != nil, "KEY_STORE = pkcs11 without a token")
        self.kind = kind
        self.file = file
        self.token = token
    }

    /// Makes a key for `location` in the configured store and makes it durable there.
    /// `replacing`: the successor of a revoked key, atomically replacing its entry; if that
    /// entry was a token reference, its object is destroyed afterwards (a crash before
    /// leaves an unreferenced object, destroyed at the next start).
    public func create(_ algorithm: KeyAlgorithm, at location: KeyLocation, replacing: Bool) throws(SecmodError) -> StoredKey {
        let previous = replacing ? reference(at: location) : nil
        let key: StoredKey
        switch kind {
        case .file:
            key = try file.create(algorithm, at: location, replacing: replacing)
        case .pkcs11:
            let (made, reference) = try token!.create(algorithm, at: location, replacing: replacing)
            seen.withLock { _ = $0.ids.insert(reference.id) }
            key = made
        }
        if let previous, let token { try? token.destroy(previous) }
        return key
    }

    /// Reads the entry at `path` (a key file or a reference) as a key of `algorithm`.
    public func load(_ algorithm: KeyAlgorithm, path: String, maximumFileSize: Int) throws(SecmodError) -> StoredKey {
        let contents = try KeyDirectory.readEntry(path: path, maximumSize: max(maximumFileSize, KeyReference.maximumSize))
        let found: KeyReference?
        do throws(SecmodError) { found = try KeyReference.read(from: contents, path: path) } catch {
            seen.withLock { $0.unreadable = true }
            throw error
        }
        guard let reference = found else { return try file.load(algorithm, contents: contents) }
        seen.withLock { _ = $0.ids.insert(reference.id) }
        guard reference.algorithm == algorithm else {
            throw SecmodError(.keyFile, "key reference \(path) is for \(reference.algorithm), not \(algorithm)")
        }
        guard let token else {
            throw SecmodError(.configMissing, "\(path) names a key in PKCS#11 token '\(reference.token)', but no PKCS11_MODULE is configured")
        }
        return try token.open(reference, path: path)
    }

    /// Deletes an expired key: its token object first, then its entry. A crash between
    /// leaves a reference to nothing, which the next start deletes as expired.
    public func remove(directory: KeyDirectory, anchor: Timestamp) throws(SecmodError) {
        if let reference = reference(at: KeyLocation(directory: directory, anchor: anchor, label: "")) {
            guard let token else {
                throw SecmodError(.configMissing, "\(directory.filePath(anchor: anchor)) names a key in PKCS#11 token '\(reference.token)', but no PKCS11_MODULE is configured: kept")
            }
            try token.destroy(reference)
        }
        try directory.remove(anchor: anchor)
    }

    /// What `sweep` did.
    public struct Sweep: Sendable {
        /// Labels of objects destroyed.
        public var destroyed: [String] = []
        /// Objects left alone, with why.
        public var kept: [String] = []
    }

    /// After every key has been loaded: destroys the token objects this store made that
    /// no reference names (never announced: a crash came between the object and its
    /// reference). If some entry could not be read, nothing is destroyed, only reported.
    public func sweep() throws(SecmodError) -> Sweep {
        guard let token else { return Sweep() }
        let (ids, unreadable) = seen.withLock { ($0.ids, $0.unreadable) }
        var result = Sweep()
        for object in try token.unreferenced(ids) {
            let name = "'\(object.label)' (CKA_ID \(Hex.encode(object.id)))"
            if unreadable {
                result.kept.append("\(name): no reference names it, but some reference could not be read")
                continue
            }
            try token.token.destroyPrivateKey(id: object.id)
            result.destroyed.append(name)
        }
        return result
    }

    /// The reference at `location`, if its entry is one.
    private func reference(at location: KeyLocation) -> KeyReference? {
        let path = location.directory.filePath(anchor: location.anchor)
        guard let contents = try? KeyDirectory.readEntry(path: path, maximumSize: KeyReference.maximumSize) else { return nil }
        return (try? KeyReference.read(from: contents, path: path)) ?? nil
    }
}
