internal import COpenSSL
import SecmodBase
import SecmodSystem

/// The private-key operation in OpenSSL 3: `EVP_PKEY`s built per key (one per signer that
/// signs with it at the same time, `Copies`), raw (`RSA_NO_PADDING`) signing through a
/// fresh `EVP_PKEY_CTX` per call.
///
/// OpenSSL's RSA blinds every private operation (RSA_FLAG_BLINDING is on by default, the
/// blinding factor is refreshed every 32 uses and shared between threads under a lock) and
/// always exponentiates with BN_FLG_CONSTTIME over p, q, dmp1 and dmq1, whatever flags the
/// imported numbers carried. The key object is read-only after import, which is what makes
/// concurrent signing on one `EVP_PKEY` safe.
final class RsaOpenSSLEngine: RsaSigningEngine, @unchecked Sendable {
    /// Copies of the key object, each lent to one signer at a time (`borrow`). OpenSSL takes
    /// a write lock of the RSA object on every private operation (to pick its blinding):
    /// two workers signing with one object slept on that lock whenever the holder was
    /// preempted (a woken client took its CPU), and the other CPU idled meanwhile; perf
    /// showed these waits as most of the workers' sleeps in RSA batches.
    ///
    /// A copy is made only when a signer finds every copy lent, so a key has as many as
    /// signers ever used it at once (one, for most denominations), at most `maxCopies`:
    /// each holds the private numbers once more, in OpenSSL's heap.
    private struct Copies {
        var all: [OpaquePointer]
        var idle: [OpaquePointer]
        /// The next copy to share when there may be no more (round robin).
        var shared = 0
    }

    private let copies: Locked<Copies>
    /// Kept to import more copies on demand; the numbers stay in its locked memory.
    private let material: RsaKeyMaterial
    private let modulusByteCount: Int

    /// Beyond this many signers on one key at once they share copies: the lock is no
    /// longer what limits them, and memory would grow with keys × CPUs.
    static let maxCopies = 8

    /// OpenSSL names its first prime p and wants iqmp = q^-1 mod p; libgcrypt's u is
    /// p^-1 mod q. Handing OpenSSL libgcrypt's q as its first prime makes u exactly iqmp.
    /// The names must outlive the parameter builder, which keeps the pointers: static strings.
    private static let parameters: [(StaticString, RsaKeyMaterial.Part)] = [
        ("n", .n), ("e", .e), ("d", .d),
        ("rsa-factor1", .q), ("rsa-factor2", .p),
        ("rsa-exponent1", .dq), ("rsa-exponent2", .dp),
        ("rsa-coefficient1", .u),
    ]

    init(_ material: RsaKeyMaterial) throws(SecmodError) {
        let first = try Self.importKey(material)
        copies = Locked(Copies(all: [first], idle: [first]))
        self.material = material
        modulusByteCount = material.withBytes(.n) { $0.count }
    }

    deinit {
        // RSA_free clear-frees the private numbers.
        copies.withLock { $0.all.forEach { EVP_PKEY_free($0) } }
    }

    /// One OpenSSL key object holding `material`.
    private static func importKey(_ material: RsaKeyMaterial) throws(SecmodError) -> OpaquePointer {
        func fail(_ step: String) -> SecmodError {
            ERR_clear_error()
            return SecmodError(.crypto, "OpenSSL could not import the RSA key: \(step) failed")
        }
        guard let builder = OSSL_PARAM_BLD_new() else { throw fail("OSSL_PARAM_BLD_new") }
        defer { OSSL_PARAM_BLD_free(builder) }
        var numbers: [OpaquePointer] = []
        // BN_clear_free wipes; secure BIGNUMs also send the builder's copy to its clear-freed block.
        defer { numbers.forEach { BN_clear_free($0) } }
        for (name, part) in parameters {
            guard let number = BN_secure_new() else { throw fail("BN_secure_new") }
            numbers.append(number)
            BN_set_flags(number, BN_FLG_CONSTTIME)
            let loaded = material.withBytes(part) { BN_bin2bn($0.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32($0.count), number) }
            let cName = UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self)
            guard loaded != nil, OSSL_PARAM_BLD_push_BN(builder, cName, number) == 1 else { throw fail("loading \(name)") }
        }
        guard let params = OSSL_PARAM_BLD_to_param(builder) else { throw fail("OSSL_PARAM_BLD_to_param") }
        defer { OSSL_PARAM_free(params) }
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "RSA", nil) else { throw fail("EVP_PKEY_CTX_new_from_name") }
        defer { EVP_PKEY_CTX_free(context) }
        // EVP_PKEY_KEYPAIR, which Swift does not import.
        let keyPair = OSSL_KEYMGMT_SELECT_PRIVATE_KEY | OSSL_KEYMGMT_SELECT_PUBLIC_KEY
            | OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS | OSSL_KEYMGMT_SELECT_OTHER_PARAMETERS
        var key: OpaquePointer? = nil
        guard EVP_PKEY_fromdata_init(context) == 1,
              EVP_PKEY_fromdata(context, &key, Int32(keyPair), params) == 1, let key else {
            throw fail("EVP_PKEY_fromdata")
        }
        return key
    }

    /// A copy no other signer holds (a new one if all are lent and there may be more), or
    /// one to share; `lent` says whether it must be given back.
    private func borrow() -> (key: OpaquePointer, lent: Bool) {
        copies.withLock { c in
            if let key = c.idle.popLast() { return (key, true) }
            // Rare (once per copy), and only this key's signers wait meanwhile.
            if c.all.count < Self.maxCopies, let key = try? Self.importKey(material) {
                c.all.append(key)
                return (key, true)
            }
            c.shared = (c.shared + 1) % c.all.count
            return (c.all[c.shared], false)
        }
    }

    /// How many copies exist: for tests.
    var copyCount: Int { copies.withLock { $0.all.count } }

    func root(of message: [UInt8]) throws(SecmodError) -> [UInt8] {
        func fail(_ step: String) -> SecmodError {
            ERR_clear_error()
            return SecmodError(.crypto, "OpenSSL RSA signing failed in \(step)")
        }
        precondition(message.count <= modulusByteCount)
        // A shared copy (more signers than `maxCopies`) is safe: OpenSSL's own locks guard it.
        let (key, lent) = borrow()
        defer { if lent { copies.withLock { $0.idle.append(key) } } }
        guard let context = EVP_PKEY_CTX_new_from_pkey(nil, key, nil) else { throw fail("EVP_PKEY_CTX_new_from_pkey") }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_sign_init(context) == 1, EVP_PKEY_CTX_set_rsa_padding(context, RSA_NO_PADDING) == 1 else {
            throw fail("EVP_PKEY_sign_init")
        }
        // Raw RSA wants exactly the modulus length on input.
        var input = [UInt8](repeating: 0, count: modulusByteCount)
        input.replaceSubrange(modulusByteCount - message.count ..< modulusByteCount, with: message)
        var output = [UInt8](repeating: 0, count: modulusByteCount)
        var outputLength = output.count
        let rc = EVP_PKEY_sign(context, &output, &outputLength, input, input.count)
        guard rc == 1, outputLength <= output.count else { throw fail("EVP_PKEY_sign") }
        return Array(output.prefix(outputLength))
    }
}
