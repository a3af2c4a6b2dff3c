internal import CGcrypt
import SecmodBase
import SecmodSystem

/// libgcrypt initialisation: RSA key generation and the key-file format use it.
/// Secure memory is reserved at start so private keys never land in swappable pages.
public enum Gcrypt {
    private static let version: String? = secmod_gcry_initialize(1 << 20).map { String(cString: $0) }

    /// Initialises libgcrypt once; returns its version.
    @discardableResult
    public static func initialize() throws(SecmodError) -> String {
        guard let version else { throw SecmodError(.crypto, "libgcrypt is older than 1.8.0") }
        return version
    }
}
