internal import CSodium
import SecmodBase
import SecmodSystem

/// One blinding pair (A, Ai) = (r^e, r^-1) mod n: (m·A)^d · Ai = m^d, while the
/// exponentiation only ever sees the random-looking m·A.
struct RsaBlindingFactors: ~Copyable {
    let blind: GcryptInteger
    let unblind: GcryptInteger
}

/// Base blinding for the gcrypt engine.
///
/// A fresh pair needs a modular inverse, which libgcrypt computes in constant time at about
/// 2 ms for 2048 bits, more than the signature itself. So, as OpenSSL does, the pair is
/// cached per key and squared after each use ((r^2)^e and (r^2)^-1 are again a pair), and
/// replaced by a fresh one every `usesPerPair` signatures.
final class RsaGcryptBlinding: Sendable {
    static let usesPerPair = 32

    /// The cached pair lives in secure memory; it is only touched under the lock.
    private final class Cache: @unchecked Sendable {
        let factors: RsaBlindingFactors
        var uses = 0
        init(_ factors: consuming RsaBlindingFactors) { self.factors = factors }
    }

    private let cached = Locked<Cache?>(nil)

    /// A pair for one signature: a copy of the cached one (which then advances), or a fresh
    /// one whose square becomes the new cache. No pair is ever handed out twice.
    func take(n: borrowing GcryptInteger, e: borrowing GcryptInteger) throws(SecmodError) -> RsaBlindingFactors {
        var taken: RsaBlindingFactors? = nil
        cached.withLock { cache in
            guard let current = cache, current.uses < Self.usesPerPair else { return }
            taken = RsaBlindingFactors(blind: current.factors.blind.copy(), unblind: current.factors.unblind.copy())
            current.factors.blind.squareInPlace(modulo: n)
            current.factors.unblind.squareInPlace(modulo: n)
            current.uses += 1
        }
        if taken != nil { return taken.take()! }

        // The slow path runs outside the lock so that other threads keep signing meanwhile.
        let fresh = try Self.freshFactors(n: n, e: e)
        let next = Cache(RsaBlindingFactors(blind: GcryptInteger.productModulo(fresh.blind, fresh.blind, n, secret: true),
                                            unblind: GcryptInteger.productModulo(fresh.unblind, fresh.unblind, n, secret: true)))
        cached.withLock { $0 = next }
        return fresh
    }

    private static func freshFactors(n: borrowing GcryptInteger, e: borrowing GcryptInteger) throws(SecmodError) -> RsaBlindingFactors {
        // 64 extra random bits make the bias of the reduction mod n negligible.
        var randomBytes = SecureBytes(count: n.byteCount + 8)
        for _ in 0 ..< 8 {
            randomBytes.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, $0.count) }
            var wide: GcryptInteger? = nil
            try randomBytes.withUnsafeBytes { (b) throws(SecmodError) in wide = try GcryptInteger.secret(bigEndian: b) }
            let r = GcryptInteger.remainder(wide.take()!, n, secret: true)
            if r.compare(1) > 0, let unblind = GcryptInteger.inverse(r, modulo: n) {
                return RsaBlindingFactors(blind: GcryptInteger.powerModulo(r, e, n, secret: true), unblind: unblind)
            }
        }
        throw SecmodError(.crypto, "no invertible blinding factor found: n is not a valid modulus")
    }
}
