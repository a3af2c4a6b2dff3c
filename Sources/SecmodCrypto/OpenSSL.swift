internal import COpenSSL
import SecmodBase

/// OpenSSL initialisation, done once, before any other OpenSSL call in the process.
///
/// - No configuration file: OpenSSL's default start reads `openssl.cnf`, or whatever file
///   `OPENSSL_CONF` in the helper's environment names, and such a file can load engines and
///   providers (shared objects) into the process that holds the private keys. The helpers
///   use OpenSSL for one thing, the raw RSA private-key operation of the built-in default
///   provider, and need no configuration for it.
/// - No error strings: nothing reads them (failures are reported with our own codes), and
///   loading them maps in about a megabyte of libcrypto's read-only data.
public enum OpenSSL {
    private static let initialized: Bool = OPENSSL_init_crypto(
        UInt64(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS), nil) == 1

    /// Initialises OpenSSL once without configuration file or error strings.
    public static func initialize() throws(SecmodError) {
        guard initialized else { throw SecmodError(.crypto, "OpenSSL could not be initialised") }
    }
}
