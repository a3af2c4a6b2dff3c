import SecmodBase
import SecmodSystem

/// The private-key operation in libgcrypt, by hand: blinded CRT over `gcry_mpi_powm`.
///
/// Not `gcry_pk_sign`: with `(flags raw)` its blinding costs a constant-time modular inverse
/// (about 2 ms at 2048 bits) on every signature, and it reports m >= n as a misleading
/// "Bad signature". The integers are loaded into secure memory per call rather than held:
/// libgcrypt's secure pool is small and shared and a helper may hold hundreds of keys, while
/// loading costs microseconds against milliseconds of exponentiation. Every secret
/// intermediate is a secure integer, so libgcrypt keeps it in locked memory and wipes it.
final class RsaGcryptEngine: RsaSigningEngine, Sendable {
    private let material: RsaKeyMaterial
    private let blinding = RsaGcryptBlinding()

    init(_ material: RsaKeyMaterial) throws(SecmodError) {
        try Gcrypt.initialize()
        self.material = material
    }

    func root(of message: [UInt8]) throws(SecmodError) -> [UInt8] {
        let n = try material.secretInteger(.n)
        let e = try material.secretInteger(.e)
        let p = try material.secretInteger(.p)
        let q = try material.secretInteger(.q)
        let dp = try material.secretInteger(.dp)
        let dq = try material.secretInteger(.dq)
        let u = try material.secretInteger(.u)
        let m = try GcryptInteger.plain(bigEndian: message[...])

        let factors = try blinding.take(n: n, e: e)
        let c = GcryptInteger.productModulo(m, factors.blind, n, secret: true)
        // s1 = c^dp mod p, s2 = c^dq mod q, then Garner with u = p^-1 mod q: s = s1 + p·(u·(s2 - s1) mod q).
        let s1 = GcryptInteger.powerModulo(GcryptInteger.remainder(c, p, secret: true), dp, p, secret: true)
        let s2 = GcryptInteger.powerModulo(GcryptInteger.remainder(c, q, secret: true), dq, q, secret: true)
        let h = GcryptInteger.productModulo(GcryptInteger.differenceModulo(s2, s1, q, secret: true), u, q, secret: true)
        let s = GcryptInteger.sum(s1, GcryptInteger.product(h, p, secret: true), secret: true)
        let signature = GcryptInteger.productModulo(s, factors.unblind, n, secret: false)
        return signature.bigEndian()
    }
}
