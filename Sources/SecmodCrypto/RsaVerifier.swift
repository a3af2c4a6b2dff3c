internal import COpenSSL

/// Checks raw RSA signatures (s^e mod n = m) under one public key. The exchange's client
/// checks every blind signature the helper returns, on the same cores the helper signs on,
/// so the key is loaded once with its Montgomery context: a check then costs a few
/// microseconds, not two conversions of the key and a modular inverse per signature.
///
/// One verifier belongs to one client, and a client to one thread: the scratch context is
/// not shared.
public final class RsaVerifier: @unchecked Sendable {
    private let modulus: OpaquePointer
    private let exponent: OpaquePointer
    private let montgomery: OpaquePointer
    private let scratch: OpaquePointer
    private let s: OpaquePointer
    private let m: OpaquePointer
    private let r: OpaquePointer

    public init(_ key: RsaPublicKey) {
        func number(_ bytes: [UInt8]) -> OpaquePointer {
            bytes.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32($0.count), nil)! }
        }
        modulus = number(key.modulus)
        exponent = number(key.exponent)
        scratch = BN_CTX_new()!
        montgomery = BN_MONT_CTX_new()!
        _ = BN_MONT_CTX_set(montgomery, modulus, scratch)
        s = BN_new()!
        m = BN_new()!
        r = BN_new()!
    }

    deinit {
        [modulus, exponent, s, m, r].forEach { BN_free($0) }
        BN_MONT_CTX_free(montgomery)
        BN_CTX_free(scratch)
    }

    /// Whether `signature` is the raw RSA signature of `message` (both big-endian; leading
    /// zeros ignored). A signature or message not below n is refused: s and s + n would
    /// otherwise both pass for the same m.
    public func verify(signature: [UInt8], message: [UInt8]) -> Bool {
        guard signature.withUnsafeBufferPointer({ BN_bin2bn($0.baseAddress, Int32($0.count), s) }) != nil,
              message.withUnsafeBufferPointer({ BN_bin2bn($0.baseAddress, Int32($0.count), m) }) != nil,
              BN_cmp(s, modulus) < 0, BN_cmp(m, modulus) < 0,
              BN_mod_exp_mont(r, s, exponent, modulus, scratch, montgomery) == 1 else { return false }
        return BN_cmp(r, m) == 0
    }
}
