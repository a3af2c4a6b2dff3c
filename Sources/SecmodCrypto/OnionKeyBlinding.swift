internal import CSodium
import SecmodBase

/// tor's v3 onion-service key blinding (rend-spec-v3 A.2, as tor and arti implement it):
/// from an identity key (a, RH; A) and a time period, the blinded key (a', RH'; A') that
/// signs that period's descriptor, so that descriptors of different periods cannot be
/// linked to each other or to the identity key.
///
///     h   = SHA3-256("Derive temporary signing key" ‖ 0x00 ‖ A ‖ s ‖ B ‖ N)
///     N   = "key-blind" ‖ INT_8(period number) ‖ INT_8(period length in minutes)
///     a'  = clamp(h)·a mod l          A' = clamp(h)·A
///     RH' = SHA-512("Derive temporary signing key hash input" ‖ RH)[0..32]
///
/// B is the base point as tor writes it in ASCII, s an optional secret (empty for tor's
/// descriptors). Signatures with (a', RH') are ordinary Ed25519 signatures under A'.
/// Everything is libsodium's scalar and point arithmetic; only SHA3-256 is OpenSSL's.
public enum OnionKeyBlinding {
    /// tor's `ED25519_BASEPOINT` string, hashed as is.
    static let basePointText = "(15112221349535400772501151409588531511454012693041857206046113283949847762202, 46316835694926478169428394003475163141307993866256225615783033603165251855960)"

    /// The blinding parameter h of `identityKey` for one time period (32 bytes).
    public static func parameter(identityKey: [UInt8], periodNumber: UInt64, periodLengthMinutes: UInt64,
                                 secret: [UInt8] = []) -> [UInt8] {
        var input = Array("Derive temporary signing key".utf8) + [0]
        input += identityKey + secret + Array(basePointText.utf8)
        input += Array("key-blind".utf8) + bigEndian(periodNumber) + bigEndian(periodLengthMinutes)
        return Digest.sha3_256.hash(input)
    }

    /// A' = clamp(h)·A. Throws for a public key that is not a valid point of the prime-order
    /// group (libsodium refuses small-order and non-canonical encodings).
    public static func blindedPublicKey(_ publicKey: [UInt8], parameter: [UInt8]) throws(SecmodError) -> [UInt8] {
        guard publicKey.count == 32, parameter.count == 32 else {
            throw SecmodError(.crypto, "key blinding needs a 32-byte public key and a 32-byte parameter")
        }
        Sodium.initialize()
        let h = reducedParameter(parameter)
        var out = [UInt8](repeating: 0, count: 32)
        let rc = out.withUnsafeMutableBufferPointer { o in
            h.withUnsafeBufferPointer { s in
                publicKey.withUnsafeBufferPointer { p in
                    crypto_scalarmult_ed25519_noclamp(o.baseAddress!, s.baseAddress!, p.baseAddress!)
                }
            }
        }
        guard rc == 0 else { throw SecmodError(.crypto, "the public key cannot be blinded: not a valid Ed25519 point") }
        return out
    }

    /// clamp(h) (low 3 bits cleared, top bit cleared, bit 254 set), reduced mod l.
    static func reducedParameter(_ parameter: [UInt8]) -> [UInt8] {
        var wide = parameter + [UInt8](repeating: 0, count: 32)
        wide[0] &= 248
        wide[31] &= 63
        wide[31] |= 64
        var out = [UInt8](repeating: 0, count: 32)
        out.withUnsafeMutableBufferPointer { o in
            wide.withUnsafeBufferPointer { w in crypto_core_ed25519_scalar_reduce(o.baseAddress!, w.baseAddress!) }
        }
        return out
    }

    static let hashInputPrefix = Array("Derive temporary signing key hash input".utf8)

    private static func bigEndian(_ v: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: v >> UInt64(56 - 8 * $0)) }
    }
}

/// A blinded Ed25519 key (a', RH'; A'), in locked memory and wiped when it goes: made for
/// one request and dropped after it.
public struct BlindedEd25519Key: ~Copyable {
    /// a' (32 bytes, reduced mod l) ‖ RH' (32 bytes).
    private var secret: SecureBytes
    public let publicKey: [UInt8]

    init(secret: consuming SecureBytes, publicKey: [UInt8]) {
        self.secret = secret
        self.publicKey = publicKey
    }

    /// An Ed25519 signature of `message` under `publicKey` (RFC 8032 §5.1.6 with the
    /// expanded key given), R = r·B, S = r + H(R ‖ A' ‖ M)·a' mod l, with the nonce
    /// r = H(RH' ‖ A' ‖ M). Checked with libsodium's verifier before it is returned.
    ///
    /// Why A' is in the nonce, where tor's r = H(RH' ‖ M) has none: RH' is the same for
    /// every period, so tor's nonce for one message is the same under every blinded key, and
    /// two signatures of one message for two periods give S₁ − S₂ = a·(k₁h₁ − k₂h₂), which
    /// reveals the identity scalar a. tor never signs one message for two periods; a vault
    /// cannot rely on its caller doing the same. The signature is still an ordinary Ed25519
    /// signature under A' (deterministic, verified by any Ed25519), and a', RH' and A' are
    /// tor's (its vectors hold).
    public func sign(_ message: [UInt8]) throws(SecmodError) -> [UInt8] {
        Sodium.initialize()
        var signature = [UInt8](repeating: 0, count: 64)
        var nonce = SecureBytes(count: 64)
        var r = SecureBytes(count: 32)
        let ok: Bool = secret.withUnsafeBytes { s in
            let a = s.baseAddress!.assumingMemoryBound(to: UInt8.self)
            return nonce.withUnsafeMutableBytes { n in
                r.withUnsafeMutableBytes { rb in
                    let nonceBytes = n.baseAddress!.assumingMemoryBound(to: UInt8.self)
                    let rBytes = rb.baseAddress!.assumingMemoryBound(to: UInt8.self)
                    var state = crypto_hash_sha512_state()
                    crypto_hash_sha512_init(&state)
                    crypto_hash_sha512_update(&state, a + 32, 32)
                    publicKey.withUnsafeBufferPointer { p in _ = crypto_hash_sha512_update(&state, p.baseAddress!, 32) }
                    message.withUnsafeBufferPointer { m in _ = crypto_hash_sha512_update(&state, m.baseAddress ?? emptyInput, UInt64(m.count)) }
                    crypto_hash_sha512_final(&state, nonceBytes)
                    sodium_memzero(&state, MemoryLayout<crypto_hash_sha512_state>.size)
                    crypto_core_ed25519_scalar_reduce(rBytes, nonceBytes)
                    return signature.withUnsafeMutableBufferPointer { sig -> Bool in
                        let out = sig.baseAddress!
                        // R = r·B into the first half of the signature.
                        guard crypto_scalarmult_ed25519_base_noclamp(out, rBytes) == 0 else { return false }
                        var k = [UInt8](repeating: 0, count: 64)
                        var kReduced = [UInt8](repeating: 0, count: 32)
                        crypto_hash_sha512_init(&state)
                        crypto_hash_sha512_update(&state, out, 32)
                        publicKey.withUnsafeBufferPointer { p in _ = crypto_hash_sha512_update(&state, p.baseAddress!, 32) }
                        message.withUnsafeBufferPointer { m in _ = crypto_hash_sha512_update(&state, m.baseAddress ?? emptyInput, UInt64(m.count)) }
                        crypto_hash_sha512_final(&state, &k)
                        crypto_core_ed25519_scalar_reduce(&kReduced, k)
                        // S = r + k·a' into the second half.
                        var ka = [UInt8](repeating: 0, count: 32)
                        crypto_core_ed25519_scalar_mul(&ka, kReduced, a)
                        crypto_core_ed25519_scalar_add(out + 32, rBytes, ka)
                        sodium_memzero(&ka, 32)
                        return true
                    }
                }
            }
        }
        guard ok, Ed25519.verify(signature: signature, message: message, publicKey: publicKey) else {
            throw SecmodError(.crypto, "the blinded Ed25519 signature failed its check and was withheld")
        }
        return signature
    }

    /// a' ‖ RH', for the tests that compare it with tor's vectors. Nothing else reads it.
    package func withUnsafeSecret<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        secret.withUnsafeBytes { body($0) }
    }
}

extension Ed25519PrivateKey {
    /// The blinded key for parameter h (`OnionKeyBlinding.parameter`). The expanded secret
    /// and the blinded one live in locked memory only.
    public func blinded(parameter: [UInt8]) throws(SecmodError) -> BlindedEd25519Key {
        guard parameter.count == 32 else { throw SecmodError(.crypto, "a blinding parameter has 32 bytes") }
        return try withSeed { seed throws(SecmodError) in
            var expanded = SecureBytes(count: 64)
            expanded.withUnsafeMutableBytes { e in
                let bytes = e.baseAddress!.assumingMemoryBound(to: UInt8.self)
                _ = crypto_hash_sha512(bytes, seed.baseAddress!.assumingMemoryBound(to: UInt8.self), 32)
                bytes[0] &= 248
                bytes[31] &= 127
                bytes[31] |= 64
            }
            return try BlindedEd25519Key(expanded: expanded, parameter: parameter)
        }
    }
}

extension BlindedEd25519Key {
    /// From an expanded secret key a ‖ RH (as tor keeps onion-service keys).
    init(expanded: borrowing SecureBytes, parameter: [UInt8]) throws(SecmodError) {
        Sodium.initialize()
        let h = OnionKeyBlinding.reducedParameter(parameter)
        var secret = SecureBytes(count: 64)
        var wide = SecureBytes(count: 64)
        var reduced = SecureBytes(count: 32)
        expanded.withUnsafeBytes { e in
            let a = e.baseAddress!.assumingMemoryBound(to: UInt8.self)
            wide.withUnsafeMutableBytes { w in
                reduced.withUnsafeMutableBytes { rd in
                    secret.withUnsafeMutableBytes { s in
                        let wBytes = w.baseAddress!.assumingMemoryBound(to: UInt8.self)
                        let rBytes = rd.baseAddress!.assumingMemoryBound(to: UInt8.self)
                        let out = s.baseAddress!.assumingMemoryBound(to: UInt8.self)
                        wBytes.update(from: a, count: 32)  // the rest stays zero
                        crypto_core_ed25519_scalar_reduce(rBytes, wBytes)
                        h.withUnsafeBufferPointer { crypto_core_ed25519_scalar_mul(out, $0.baseAddress!, rBytes) }
                        // RH' = SHA-512(prefix ‖ RH)[0..32], through the scratch buffer.
                        var state = crypto_hash_sha512_state()
                        crypto_hash_sha512_init(&state)
                        OnionKeyBlinding.hashInputPrefix.withUnsafeBufferPointer {
                            _ = crypto_hash_sha512_update(&state, $0.baseAddress!, UInt64($0.count))
                        }
                        crypto_hash_sha512_update(&state, a + 32, 32)
                        crypto_hash_sha512_final(&state, wBytes)
                        sodium_memzero(&state, MemoryLayout<crypto_hash_sha512_state>.size)
                        (out + 32).update(from: wBytes, count: 32)
                    }
                }
            }
        }
        var publicKey = [UInt8](repeating: 0, count: 32)
        let rc = secret.withUnsafeBytes { s in
            publicKey.withUnsafeMutableBufferPointer { p in
                crypto_scalarmult_ed25519_base_noclamp(p.baseAddress!, s.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        guard rc == 0 else { throw SecmodError(.crypto, "key blinding gave the neutral element") }
        self.init(secret: secret, publicKey: publicKey)
    }

    /// For tests: blinds an expanded secret key given as bytes (tor's vectors).
    package static func testing(expanded bytes: [UInt8], parameter: [UInt8]) throws(SecmodError) -> BlindedEd25519Key {
        var expanded = SecureBytes(count: 64)
        expanded.withUnsafeMutableBytes { $0.copyBytes(from: bytes) }
        return try BlindedEd25519Key(expanded: expanded, parameter: parameter)
    }
}
