internal import CNettle
internal import CSodium
import SecmodBase
import SecmodSystem

/// The private-key operation in Nettle: `rsa_compute_root_tr`, which blinds with a fresh
/// random factor on every call, runs side-channel silent `mpn_sec_*` code, and checks the
/// CRT result itself before unblinding.
///
/// The key structs are read-only after `rsa_*_key_prepare`, so threads share them; the only
/// per-call state is Nettle's scratch and the random source, which is libsodium's CSPRNG
/// (thread-safe, no context), so no lock is needed.
final class RsaNettleEngine: RsaSigningEngine, @unchecked Sendable {
    private let publicKey: UnsafeMutablePointer<rsa_public_key>
    private let privateKey: UnsafeMutablePointer<rsa_private_key>

    init(_ material: RsaKeyMaterial) throws(SecmodError) {
        Sodium.initialize()
        publicKey = .allocate(capacity: 1)
        privateKey = .allocate(capacity: 1)
        nettle_rsa_public_key_init(publicKey)
        nettle_rsa_private_key_init(privateKey)
        let pub = UnsafeMutableRawPointer(publicKey)
        let priv = UnsafeMutableRawPointer(privateKey)
        func field<T>(_ base: UnsafeMutableRawPointer, _ path: PartialKeyPath<T>) -> UnsafeMutablePointer<__mpz_struct> {
            (base + MemoryLayout<T>.offset(of: path)!).assumingMemoryBound(to: __mpz_struct.self)
        }
        // Nettle's c is q^-1 mod p; libgcrypt's u is p^-1 mod q: swap the primes (and their
        // exponents) so that u serves as c unchanged. Nettle signs without d (it only fills
        // it in at key generation), so d stays out of GMP's unlocked heap.
        let fields: [(UnsafeMutablePointer<__mpz_struct>, RsaKeyMaterial.Part)] = [
            (field(pub, \rsa_public_key.n), .n), (field(pub, \rsa_public_key.e), .e),
            (field(priv, \rsa_private_key.p), .q), (field(priv, \rsa_private_key.q), .p),
            (field(priv, \rsa_private_key.a), .dq), (field(priv, \rsa_private_key.b), .dp),
            (field(priv, \rsa_private_key.c), .u),
        ]
        for (z, part) in fields {
            material.withBytes(part) { GmpInteger.set(z, bigEndian: $0) }
        }
        guard nettle_rsa_public_key_prepare(publicKey) == 1, nettle_rsa_private_key_prepare(privateKey) == 1 else {
            throw SecmodError(.crypto, "Nettle rejected the RSA key (rsa_*_key_prepare)")
        }
    }

    deinit {
        let priv = UnsafeMutableRawPointer(privateKey)
        for path: PartialKeyPath<rsa_private_key> in [\.p, \.q, \.a, \.b, \.c] {
            GmpInteger.wipe((priv + MemoryLayout<rsa_private_key>.offset(of: path)!).assumingMemoryBound(to: __mpz_struct.self))
        }
        nettle_rsa_private_key_clear(privateKey)
        nettle_rsa_public_key_clear(publicKey)
        privateKey.deallocate()
        publicKey.deallocate()
    }

    func root(of message: [UInt8]) throws(SecmodError) -> [UInt8] {
        let m = GmpInteger(bigEndian: message[...])
        let x = GmpInteger()
        let ok = nettle_rsa_compute_root_tr(publicKey, privateKey, nil, { _, length, destination in
            randombytes_buf(destination!, length)
        }, x.pointer, m.pointer)
        guard ok == 1 else { throw SecmodError(.crypto, "Nettle RSA signing failed its internal check") }
        return GmpInteger.bigEndian(x.pointer)
    }
}
