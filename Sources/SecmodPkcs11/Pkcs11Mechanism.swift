internal import CPkcs11

/// The PKCS#11 mechanisms the helpers use, with the names the standard and the tokens'
/// documentation use for them.
public struct Pkcs11Mechanism: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt
    public let name: String

    public var description: String { name }

    /// RSA key pairs, generated inside the token.
    public static let rsaKeyPairGeneration = Pkcs11Mechanism(rawValue: UInt(CKM_RSA_PKCS_KEY_PAIR_GEN), name: "CKM_RSA_PKCS_KEY_PAIR_GEN")
    /// Raw RSA (s = m^d mod n with no padding): what a blind signature is.
    public static let rsaRaw = Pkcs11Mechanism(rawValue: UInt(CKM_RSA_X_509), name: "CKM_RSA_X_509")
    /// Ed25519 key pairs, generated inside the token.
    public static let edwardsKeyPairGeneration = Pkcs11Mechanism(rawValue: UInt(CKM_EC_EDWARDS_KEY_PAIR_GEN), name: "CKM_EC_EDWARDS_KEY_PAIR_GEN")
    /// Pure Ed25519 signatures (RFC 8032), as GNUnet's EdDSA.
    public static let eddsa = Pkcs11Mechanism(rawValue: UInt(CKM_EDDSA), name: "CKM_EDDSA")
}
