import SecmodBase
import SecmodCrypto
import SecmodPkcs11
import SecmodSystem

/// Keys generated and kept inside a PKCS#11 token; the key directory holds a reference per
/// key (`KeyReference`) under the key's anchor.
///
/// Each object's `CKA_ID` is 16 bytes: 8 that name this key store (`storeID`) and 8 random
/// ones. They are chosen before the key is made, because a key's wire identity is known
/// only after, and some tokens cannot change an attribute once an object exists. The
/// store's 8 bytes let the helper recognise its own objects that no reference names (a
/// crash between making a key and writing its reference) and destroy them, while never
/// touching another program's keys in the same token.
public final class TokenKeyStore: Sendable {
    public let token: Pkcs11Token
    public let storeID: [UInt8]

    public static let storeIDByteCount = 8
    public static let idByteCount = 16

    /// `storeID`: derived by the caller from what identifies the helper (its section and
    /// its security module's public key), so that it is the same at every start.
    public init(token: Pkcs11Token, storeID: [UInt8]) {
        precondition(storeID.count == Self.storeIDByteCount)
        self.token = token
        self.storeID = storeID
    }

    /// The store id of a helper: the first 8 bytes of SHA-512 over a fixed label, the
    /// helper's section and its security module public key.
    public static func storeID(section: String, securityModulePublicKey: [UInt8]) -> [UInt8] {
        Array(SHA512.hash(Array("swift-secmod pkcs11 key store\0".utf8) + Array(section.utf8) + [0] + securityModulePublicKey)
            .prefix(storeIDByteCount))
    }

    func owns(id: [UInt8]) -> Bool { id.count == Self.idByteCount && id.starts(with: storeID) }

    /// Makes a key in the token and writes its reference; the reference is durable before
    /// the key is returned. If the reference cannot be written the new object is destroyed.
    public func create(_ algorithm: KeyAlgorithm, at location: KeyLocation, replacing: Bool) throws(SecmodError) -> (StoredKey, KeyReference) {
        let id = storeID + randomBytes(Self.idByteCount - Self.storeIDByteCount)
        let reference: KeyReference
        switch algorithm {
        case .ed25519:
            let publicKey = try token.generateEd25519(id: id, label: location.label)
            reference = KeyReference(token: token.label, id: id, algorithm: algorithm, publicKey: publicKey)
        case let .rsa(bits):
            let (modulus, exponent) = try token.generateRsa(bits: bits, id: id, label: location.label)
            reference = KeyReference(token: token.label, id: id, algorithm: algorithm,
                                     publicKey: RsaPublicKey(modulus: modulus, exponent: exponent).encoded())
        case .clauseSchnorr:
            throw Self.noClauseSchnorr
        }
        do throws(SecmodError) {
            let key = try open(reference, path: location.directory.filePath(anchor: location.anchor))
            try location.directory.store(anchor: location.anchor, public: reference.encoded(), replacing: replacing)
            return (key, reference)
        } catch {
            try? token.destroyPrivateKey(id: id)
            throw error
        }
    }

    /// The key a reference names, checked with one signature: a reference whose object is
    /// gone fails here, at load, and not on every request.
    public func open(_ reference: KeyReference, path: String) throws(SecmodError) -> StoredKey {
        guard reference.token == token.label else {
            throw SecmodError(.keyFile, "key reference \(path) names token '\(reference.token)', but PKCS11_TOKEN is '\(token.label)'")
        }
        switch reference.algorithm {
        case .ed25519:
            let key = TokenEd25519Key(token: token, id: reference.id, publicKey: reference.publicKey)
            try key.selfTest()
            return .ed25519(key)
        case .rsa:
            let publicKey = try RsaPublicKey(encoded: reference.publicKey)
            let engine = TokenRsaEngine(token: token, id: reference.id, modulusLength: publicKey.modulus.count)
            return .rsa(try RsaPrivateKey(publicKey: publicKey, signer: engine, name: "token '\(token.label)'"))
        case .clauseSchnorr:
            throw Self.noClauseSchnorr
        }
    }

    /// PKCS#11 defines no Clause-Schnorr mechanism, and signing needs the scalar itself.
    package static let noClauseSchnorr = SecmodError(.configValue, "Clause-Schnorr keys cannot live in a PKCS#11 token: PKCS#11 has no Clause-Schnorr mechanism (use KEY_STORE = file)")

    /// Destroys the object a reference names (gone already is fine).
    func destroy(_ reference: KeyReference) throws(SecmodError) {
        try token.destroyPrivateKey(id: reference.id)
    }

    /// The private keys in the token that this store made and that `referenced` does not
    /// name.
    func unreferenced(_ referenced: Set<[UInt8]>) throws(SecmodError) -> [Pkcs11Token.PrivateKeyObject] {
        try token.privateKeys().filter { owns(id: $0.id) && !referenced.contains($0.id) }
    }
}
