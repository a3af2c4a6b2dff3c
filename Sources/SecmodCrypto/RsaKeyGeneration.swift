internal import CGcrypt
import SecmodBase
import SecmodSystem

/// New keys come from libgcrypt's `gcry_pk_genkey`, exactly as `GNUNET_CRYPTO_rsa_private_key_create`
/// makes them for the C helper: same prime generation, e = 65537, p < q, u = p^-1 mod q.
enum RsaKeyGeneration {
    static func generate(bits: Int) throws(SecmodError) -> RsaKeyMaterial {
        guard RsaKeyMaterial.supportedBits.contains(bits) else {
            throw SecmodError(.crypto, "RSA keys of \(bits) bits are not supported; use \(RsaKeyMaterial.supportedBits.lowerBound) to \(RsaKeyMaterial.supportedBits.upperBound)")
        }
        try Gcrypt.initialize()
        let specification = Array("(genkey(rsa(nbits \(String(bits).utf8.count):\(bits))))".utf8)
        var parameters: gcry_sexp_t? = nil
        guard specification.withUnsafeBytes({ gcry_sexp_new(&parameters, $0.baseAddress, $0.count, 1) }) == 0 else {
            throw SecmodError(.crypto, "libgcrypt rejected the key generation parameters")
        }
        defer { gcry_sexp_release(parameters) }
        var generated: gcry_sexp_t? = nil
        let rc = gcry_pk_genkey(&generated, parameters)
        defer { gcry_sexp_release(generated) }  // the secret parts sit in secure memory, wiped on release
        guard rc == 0, let privateKey = gcry_sexp_find_token(generated, "private-key", 0) else {
            throw SecmodError(.crypto, "libgcrypt could not generate a \(bits)-bit RSA key (gcry_pk_genkey: \(rc))")
        }
        defer { gcry_sexp_release(privateKey) }

        func integer(_ name: String) throws(SecmodError) -> GcryptInteger {
            guard let list = gcry_sexp_find_token(privateKey, name, 0) else {
                throw SecmodError(.crypto, "libgcrypt's new key lacks \(name)")
            }
            defer { gcry_sexp_release(list) }
            return try GcryptInteger.adopt(gcry_sexp_nth_mpi(list, 1, Int32(GCRYMPI_FMT_USG.rawValue)))
        }
        let material: RsaKeyMaterial
        do {
            material = try RsaKeyMaterial(n: try integer("n"), e: try integer("e"), d: try integer("d"),
                                          p: try integer("p"), q: try integer("q"), u: try integer("u"))
        } catch {
            throw SecmodError(.crypto, "libgcrypt generated an inconsistent RSA key: \(error.message)")
        }
        let publicKey = material.publicKey
        guard publicKey.bits == bits, publicKey.exponent == [0x01, 0x00, 0x01] else {
            throw SecmodError(.crypto, "libgcrypt generated a \(publicKey.bits)-bit key for \(bits) bits, or e != 65537")
        }
        return material
    }
}
