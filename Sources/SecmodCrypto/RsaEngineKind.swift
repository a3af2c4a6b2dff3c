import SecmodBase
import SecmodSystem

/// Which library computes the private-key operation of an `RsaPrivateKey`.
///
/// Three, because they differ in speed by a factor of four and in how they defend against
/// side channels, and an operator may trust one more than another; all three produce
/// identical signatures (RSA signing is deterministic), so the choice never shows on the wire.
public enum RsaEngineKind: String, Sendable, CaseIterable {
    /// OpenSSL 3 (libcrypto): CRT, constant-time exponentiation, cached base blinding. Fastest.
    case openssl
    /// Nettle's `rsa_compute_root_tr`: side-channel silent mpn code, fresh blinding per call.
    case nettle
    /// libgcrypt, the library GNUnet and the C helpers use: our CRT over `gcry_mpi_powm` with
    /// secret exponents in secure memory and cached base blinding.
    case gcrypt

    func makeEngine(_ material: RsaKeyMaterial) throws(SecmodError) -> any RsaSigningEngine {
        switch self {
        case .openssl: try RsaOpenSSLEngine(material)
        case .nettle: try RsaNettleEngine(material)
        case .gcrypt: try RsaGcryptEngine(material)
        }
    }
}

/// The private-key operation of one key, in one library's representation built once.
///
/// `RsaPrivateKey` does the checks that must not depend on the library: it rejects m >= n
/// before calling, and verifies s^e = m before releasing the result.
public protocol RsaSigningEngine: Sendable {
    /// m^d mod n for 0 < m < n (m minimal big-endian). The result is big-endian and may
    /// carry leading zeros. Safe to call from several threads at once.
    func root(of message: [UInt8]) throws(SecmodError) -> [UInt8]
}
