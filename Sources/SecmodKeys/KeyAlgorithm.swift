import SecmodBase
import SecmodCrypto

/// The kind of key a key family asks a store for.
public enum KeyAlgorithm: Sendable, Equatable, CustomStringConvertible {
    case ed25519
    case rsa(bits: Int)
    /// A Clause-Schnorr scalar (the CS helper's denomination keys): files only, since no
    /// PKCS#11 token has a Clause-Schnorr mechanism.
    case clauseSchnorr

    /// As key references spell it: `ed25519`, `rsa-2048`, `cs25519`.
    public var description: String {
        switch self {
        case .ed25519: "ed25519"
        case let .rsa(bits): "rsa-\(bits)"
        case .clauseSchnorr: "cs25519"
        }
    }

    public init?(_ text: Substring) {
        if text == "ed25519" { self = .ed25519; return }
        if text == "cs25519" { self = .clauseSchnorr; return }
        guard text.hasPrefix("rsa-"), let bits = Int(text.dropFirst(4)), (1024...8192).contains(bits) else { return nil }
        self = .rsa(bits: bits)
    }
}

/// A private key a store holds, ready to sign, wherever it lives.
public enum StoredKey: Sendable {
    case ed25519(any Ed25519Signer)
    case rsa(RsaPrivateKey)
    case clauseSchnorr(ClauseSchnorrKey)

    public var algorithmName: String {
        switch self {
        case .ed25519: "ed25519"
        case let .rsa(key): "rsa-\(key.publicKey.bits)"
        case .clauseSchnorr: "cs25519"
        }
    }
}
