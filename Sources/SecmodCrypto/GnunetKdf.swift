internal import CSodium

/// GNUnet's key derivation function, `GNUNET_CRYPTO_kdf`: HKDF (RFC 5869) that extracts with
/// HMAC-SHA512 (the salt as the key, the key material as the message) and expands with
/// HMAC-SHA256 keyed with the 64-byte pseudorandom key. Clause-Schnorr derives its nonces'
/// secrets and the signer's choice bit with it, so it must match libgnunetutil byte for byte
/// (`ClauseSchnorrInteropTests` checks it against the library).
///
/// The pseudorandom key, the HMAC states and the blocks are secret: they live in
/// `withSecretScratch` and are wiped before return.
enum GnunetKdf {
    /// Fills `output` (at most 255 × 32 bytes) from `salt`, the secret `keyMaterial` and the
    /// context bytes.
    static func derive(into output: UnsafeMutableRawBufferPointer, salt: UnsafeRawBufferPointer, keyMaterial: UnsafeRawBufferPointer,
                       context: UnsafeRawBufferPointer) {
        precondition(output.count <= 255 * 32, "HKDF-SHA256 gives at most 8160 bytes")
        precondition(!salt.isEmpty && !keyMaterial.isEmpty && !context.isEmpty, "every Clause-Schnorr derivation has a salt, a key and a context")
        Sodium.initialize()
        let stateSize = max(MemoryLayout<crypto_auth_hmacsha512_state>.size, MemoryLayout<crypto_auth_hmacsha256_state>.size)
        withSecretScratch(byteCount: stateSize + 64 + 32) { scratch in
            let state = scratch.baseAddress!
            let prk = (scratch.baseAddress! + stateSize).assumingMemoryBound(to: UInt8.self)
            let block = prk + 64
            let s512 = state.assumingMemoryBound(to: crypto_auth_hmacsha512_state.self)
            _ = crypto_auth_hmacsha512_init(s512, salt.baseAddress!.assumingMemoryBound(to: UInt8.self), salt.count)
            _ = crypto_auth_hmacsha512_update(s512, keyMaterial.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(keyMaterial.count))
            _ = crypto_auth_hmacsha512_final(s512, prk)

            let s256 = state.assumingMemoryBound(to: crypto_auth_hmacsha256_state.self)
            var produced = 0
            var counter: UInt8 = 1
            while produced < output.count {
                _ = crypto_auth_hmacsha256_init(s256, prk, 64)
                if counter > 1 { _ = crypto_auth_hmacsha256_update(s256, block, 32) }
                _ = crypto_auth_hmacsha256_update(s256, context.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(context.count))
                _ = crypto_auth_hmacsha256_update(s256, &counter, 1)
                _ = crypto_auth_hmacsha256_final(s256, block)
                let n = min(32, output.count - produced)
                (output.baseAddress! + produced).copyMemory(from: block, byteCount: n)
                produced += n
                counter &+= 1
            }
        }
    }
}
