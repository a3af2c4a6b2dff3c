internal import CSodium
import SecmodBase

/// A Clause-Schnorr denomination key, as GNUnet implements the scheme and Taler uses it for
/// `CIPHER = CS` (libgnunetutil's `GNUNET_CRYPTO_cs_*`): a scalar x of Ed25519's group, the
/// public key X = x·B. For a client's nonce the signer derives two secret nonces r₀, r₁ and
/// shows R₀ = r₀·B, R₁ = r₁·B; the client blinds and sends two challenges c₀, c₁; the signer
/// answers one of them, b, chosen from (x, nonce), with s = r_b + c_b·x mod l.
///
/// Everything is libsodium's scalar and point arithmetic plus GNUnet's KDF (`GnunetKdf`).
/// The scalar and the nonces' secrets stay in locked memory. A class, as
/// `Ed25519PrivateKey`, so the key store and the workers share one copy of the secret.
public final class ClauseSchnorrKey: Sendable {
    public static let scalarByteCount = 32
    public static let publicKeyByteCount = 32
    public static let nonceByteCount = 32

    /// What the signature is for: Taler derives different nonce secrets for a withdrawal
    /// and for a melt (`for_melt`), from the seeds "rw" and "rm".
    public enum Use: Sendable {
        case withdraw, melt
        var seed: StaticString { self == .melt ? "rm" : "rw" }
    }

    private let scalar: SecureBytes
    public let publicKey: [UInt8]
    /// SHA-512 of the scalar when it was loaded and checked against X: a scalar changed in
    /// memory since (a fault, a stray write) is caught before it signs.
    private let scalarDigest: [UInt8]

    /// A fresh scalar, uniform in [1, l): what `GNUNET_CRYPTO_cs_private_key_generate` makes.
    /// The caller stores it, then makes the key with `init(scalar:)`.
    public static func generateScalar() -> SecureBytes {
        var s = SecureBytes(count: scalarByteCount)
        s.withUnsafeMutableBytes { crypto_core_ed25519_scalar_random($0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
        return s
    }

    /// The key of a stored scalar. Refuses one that is not a canonical, non-zero scalar (a
    /// damaged key file), since X = x·B would not identify it.
    public init(scalar source: borrowing SecureBytes) throws(SecmodError) {
        guard source.count == Self.scalarByteCount else {
            throw SecmodError(.keyFile, "a Clause-Schnorr key is a 32-byte scalar, not \(source.count) bytes")
        }
        Sodium.initialize()
        var x = SecureBytes(count: Self.scalarByteCount)
        var reduced = SecureBytes(count: Self.scalarByteCount)
        source.withUnsafeBytes { s in x.withUnsafeMutableBytes { $0.copyMemory(from: s) } }
        x.withUnsafeBytes { s in
            reduced.withUnsafeMutableBytes { r in
                var wide = [UInt8](repeating: 0, count: 64)
                wide.withUnsafeMutableBytes { w in
                    w.copyMemory(from: s)
                    crypto_core_ed25519_scalar_reduce(r.baseAddress!.assumingMemoryBound(to: UInt8.self), w.baseAddress!.assumingMemoryBound(to: UInt8.self))
                    sodium_memzero(w.baseAddress!, w.count)
                }
            }
        }
        guard x.isEqual(to: reduced) else { throw SecmodError(.keyFile, "a Clause-Schnorr key's scalar is not below the group order") }
        var pk = [UInt8](repeating: 0, count: Self.publicKeyByteCount)
        let rc = x.withUnsafeBytes { s in
            pk.withUnsafeMutableBufferPointer { crypto_scalarmult_ed25519_base_noclamp($0.baseAddress!, s.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
        }
        guard rc == 0 else { throw SecmodError(.keyFile, "a Clause-Schnorr key's scalar is zero") }
        scalarDigest = x.withUnsafeBytes { Self.digest($0) }
        scalar = x
        publicKey = pk
    }

    /// The scalar, for writing the key file; never copied out of locked memory here.
    public func withScalar<R: ~Copyable, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try scalar.withUnsafeBytes(body)
    }

    /// R₀ ‖ R₁ (64 bytes) for a client's 32-byte nonce: `GNUNET_CRYPTO_cs_r_derive`, then
    /// `cs_r_get_public` of each.
    public func publicNonces(nonce: [UInt8], use: Use) throws(SecmodError) -> [UInt8] {
        try publicNonces(in: nonce, nonce: 0..<nonce.count, use: use)
    }

    /// `publicNonces(nonce:use:)` for the nonce at `message[nonce]`, without copying it out of
    /// a received request.
    public func publicNonces(in message: [UInt8], nonce: Range<Int>, use: Use) throws(SecmodError) -> [UInt8] {
        guard nonce.lowerBound >= 0, nonce.upperBound <= message.count else { throw Self.outside(message) }
        return try message.withUnsafeBytes { m in
            Result { () throws(SecmodError) in try publicNonces(nonce: UnsafeRawBufferPointer(rebasing: m[nonce]), use: use) }
        }.get()
    }

    private func publicNonces(nonce: UnsafeRawBufferPointer, use: Use) throws(SecmodError) -> [UInt8] {
        try withSecretNonces(nonce: nonce, use: use) { (r) throws(SecmodError) -> [UInt8] in
            var out = [UInt8](repeating: 0, count: 64)
            let ok = out.withUnsafeMutableBufferPointer { o in
                crypto_scalarmult_ed25519_base_noclamp(o.baseAddress!, r) == 0
                    && crypto_scalarmult_ed25519_base_noclamp(o.baseAddress! + 32, r + 32) == 0
            }
            guard ok else { throw SecmodError(.crypto, "a Clause-Schnorr nonce derived to zero") }
            return out
        }
    }

    /// The blind signature over the challenges c₀ ‖ c₁ (64 bytes) for `nonce`:
    /// `GNUNET_CRYPTO_cs_sign_derive`. Returns b and s (32 bytes).
    ///
    /// Checked before it leaves, because the nonce is deterministic: a faulty s and a good
    /// one for the same nonce and challenges would give away x (s − s' = c_b·(x − x') and
    /// the like). The check is scalar arithmetic, not the point equation s·B = R_b + c_b·X
    /// (three point multiplications, five times the signature's own cost): the scalar is
    /// the one loaded and checked against X (its SHA-512 is unchanged), and s − r_b is
    /// recomputed as x·c_b by another path (subtraction, the product's operands swapped).
    public func sign(challenges c: [UInt8], nonce: [UInt8], use: Use) throws(SecmodError) -> (b: UInt32, s: [UInt8]) {
        try c.withUnsafeBytes { c in
            nonce.withUnsafeBytes { n in Result { () throws(SecmodError) in try sign(challenges: c, nonce: n, use: use) } }
        }.get()
    }

    /// `sign(challenges:nonce:use:)` for the challenges at `message[challenges]` and the nonce
    /// at `message[nonce]`: a helper signs straight from the request it received, and
    /// allocates nothing but s.
    public func sign(in message: [UInt8], challenges: Range<Int>, nonce: Range<Int>, use: Use) throws(SecmodError) -> (b: UInt32, s: [UInt8]) {
        guard challenges.lowerBound >= 0, challenges.upperBound <= message.count, nonce.lowerBound >= 0, nonce.upperBound <= message.count else {
            throw Self.outside(message)
        }
        return try message.withUnsafeBytes { m in
            Result { () throws(SecmodError) in
                try sign(challenges: UnsafeRawBufferPointer(rebasing: m[challenges]), nonce: UnsafeRawBufferPointer(rebasing: m[nonce]), use: use)
            }
        }.get()
    }

    private static func outside(_ message: [UInt8]) -> SecmodError {
        SecmodError(.malformed, "Clause-Schnorr request fields lie outside the \(message.count)-byte message")
    }

    private func sign(challenges c: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, use: Use) throws(SecmodError) -> (b: UInt32, s: [UInt8]) {
        guard c.count == 64 else { throw SecmodError(.malformed, "Clause-Schnorr challenges are 2 × 32 bytes") }
        guard nonce.count == Self.nonceByteCount else { throw SecmodError(.malformed, "a Clause-Schnorr nonce has 32 bytes") }
        // b: the low bit of a 32-bit integer from the KDF (salt "b", key material x,
        // context the nonce), read in the host's order as GNUnet does on little-endian hosts.
        var bits: UInt32 = 0
        scalar.withUnsafeBytes { x in
            withUnsafeMutableBytes(of: &bits) { out in
                Self.choiceSalt.withUTF8Buffer { GnunetKdf.derive(into: out, salt: UnsafeRawBufferPointer($0), keyMaterial: x, context: nonce) }
            }
        }
        let b = Int(UInt32(littleEndian: bits) & 1)
        let cb = c.baseAddress!.assumingMemoryBound(to: UInt8.self) + b * 32
        var s = [UInt8](repeating: 0, count: 32)
        let consistent = try withSecretNonces(nonce: nonce, use: use) { (r) throws(SecmodError) -> Bool in
            withSecretScratch(byteCount: 96) { scratch in
                let p = scratch.baseAddress!.assumingMemoryBound(to: UInt8.self)
                let again = p + 32, difference = p + 64
                let rb = r + b * 32
                return scalar.withUnsafeBytes { xb in
                    let x = xb.baseAddress!.assumingMemoryBound(to: UInt8.self)
                    crypto_core_ed25519_scalar_mul(p, cb, x)
                    s.withUnsafeMutableBufferPointer { crypto_core_ed25519_scalar_add($0.baseAddress!, rb, p) }
                    // The check: s − r_b = x·c_b, by the other path.
                    crypto_core_ed25519_scalar_mul(again, x, cb)
                    s.withUnsafeBufferPointer { crypto_core_ed25519_scalar_sub(difference, $0.baseAddress!, rb) }
                    return crypto_verify_32(again, difference) == 0
                }
            }
        }
        guard consistent, isIntact else {
            throw SecmodError(.crypto, "a Clause-Schnorr signature failed its own check (a fault, or the key changed in memory)")
        }
        return (UInt32(b), s)
    }

    /// The scalar still hashes to what it hashed to when it was loaded and checked against X.
    private var isIntact: Bool {
        withUnsafeTemporaryAllocation(byteCount: 64, alignment: 16) { now in
            let p = now.baseAddress!.assumingMemoryBound(to: UInt8.self)
            scalar.withUnsafeBytes { x in _ = crypto_hash_sha512(p, x.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(x.count)) }
            return scalarDigest.withUnsafeBytes { crypto_verify_64(p, $0.baseAddress!.assumingMemoryBound(to: UInt8.self)) == 0 }
        }
    }

    static let choiceSalt: StaticString = "b"

    /// SHA-512 of a secret, hashed where it lies (no copy in ordinary memory).
    private static func digest(_ secret: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 64)
        _ = crypto_hash_sha512(&out, secret.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(secret.count))
        return out
    }

    /// s·B = R + c·X: the blind signature's equation, which the signer checks before
    /// answering (a client checks the unblinded one).
    public static func verifyBlind(s: [UInt8], challenge c: [UInt8], r: [UInt8], publicKey: [UInt8]) -> Bool {
        guard s.count == 32, c.count == 32, r.count == 32, publicKey.count == 32 else { return false }
        Sodium.initialize()
        var left = [UInt8](repeating: 0, count: 32)
        var cx = [UInt8](repeating: 0, count: 32)
        var right = [UInt8](repeating: 0, count: 32)
        guard crypto_scalarmult_ed25519_base_noclamp(&left, s) == 0 else { return false }
        // c comes from the client and may be any 32 bytes: reduce it first (libsodium's
        // point multiplication ignores a scalar's top bit; the scalar product does not).
        var wide = c + [UInt8](repeating: 0, count: 32)
        var reduced = [UInt8](repeating: 0, count: 32)
        crypto_core_ed25519_scalar_reduce(&reduced, &wide)
        // c·X is the identity only for c ≡ 0 mod l; then s·B must be R itself.
        if crypto_scalarmult_ed25519_noclamp(&cx, reduced, publicKey) != 0 { return left == r }
        guard crypto_core_ed25519_add(&right, r, cx) == 0 else { return false }
        return left == right
    }

    /// r₀ ‖ r₁: 64 bytes of GNUnet's KDF (salt the use's seed, key material x, context the
    /// nonce), each half clamped into the prime-order subgroup's scalars as GNUnet does; in
    /// wiped scratch for the duration of `body`.
    private func withSecretNonces<R>(nonce: UnsafeRawBufferPointer, use: Use, _ body: (UnsafePointer<UInt8>) throws(SecmodError) -> R) throws(SecmodError) -> R {
        guard nonce.count == Self.nonceByteCount else { throw SecmodError(.malformed, "a Clause-Schnorr nonce has 32 bytes") }
        return try withSecretScratch(byteCount: 64) { (out) throws(SecmodError) -> R in
            scalar.withUnsafeBytes { x in
                use.seed.withUTF8Buffer { GnunetKdf.derive(into: out, salt: UnsafeRawBufferPointer($0), keyMaterial: x, context: nonce) }
            }
            for half in stride(from: 0, through: 32, by: 32) {
                out[half] &= 248
                out[half + 31] &= 127
                out[half + 31] |= 64
            }
            return try body(UnsafePointer(out.baseAddress!.assumingMemoryBound(to: UInt8.self)))
        }
    }
}
