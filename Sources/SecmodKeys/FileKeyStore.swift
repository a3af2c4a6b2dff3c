import SecmodBase
import SecmodCrypto

/// Keys in files, as Taler's helpers keep them: a 32-byte seed (Ed25519), GNUnet's RSA key
/// file, or a 32-byte scalar (Clause-Schnorr), named by the key's anchor in its key directory.
public struct FileKeyStore: Sendable {
    /// The library that signs with RSA keys loaded from files (`RSA_ENGINE`).
    public let rsaEngine: RsaEngineKind

    public init(rsaEngine: RsaEngineKind = .openssl) {
        self.rsaEngine = rsaEngine
    }

    /// Makes a key and writes its file before returning it: no key is announced before it
    /// is on disk. `replacing`: atomically replaces a revoked key's file.
    func create(_ algorithm: KeyAlgorithm, at location: KeyLocation, replacing: Bool) throws(SecmodError) -> StoredKey {
        switch algorithm {
        case .ed25519:
            let seed = Ed25519PrivateKey.generateSeed()
            try location.directory.store(anchor: location.anchor, contents: seed, replacing: replacing)
            return .ed25519(try Ed25519PrivateKey(seed: seed))
        case let .rsa(bits):
            let key = try RsaPrivateKey.generate(bits: bits, engine: rsaEngine)
            try location.directory.store(anchor: location.anchor, contents: try key.keyFile(), replacing: replacing)
            return .rsa(key)
        case .clauseSchnorr:
            let scalar = ClauseSchnorrKey.generateScalar()
            try location.directory.store(anchor: location.anchor, contents: scalar, replacing: replacing)
            return .clauseSchnorr(try ClauseSchnorrKey(scalar: scalar))
        }
    }

    public func load(_ algorithm: KeyAlgorithm, contents: borrowing SecureBytes) throws(SecmodError) -> StoredKey {
        switch algorithm {
        case .ed25519: .ed25519(try Ed25519PrivateKey(seed: contents))
        case .rsa: .rsa(try RsaPrivateKey(keyFile: contents, engine: rsaEngine))
        case .clauseSchnorr: .clauseSchnorr(try ClauseSchnorrKey(scalar: contents))
        }
    }
}

/// Where a key goes: its directory, its anchor, and a name for people (the token label).
public struct KeyLocation: Sendable {
    public let directory: KeyDirectory
    public let anchor: Timestamp
    /// `taler-exchange-secmod-rsa/coin_eur_1/1796506369`.
    public let label: String

    public init(directory: KeyDirectory, anchor: Timestamp, label: String) {
        self.directory = directory
        self.anchor = anchor
        self.label = label
    }
}
