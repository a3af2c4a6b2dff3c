import SecmodCrypto

/// `RsaPublicKey(encoded:)` accepts only the minimal encoding, because the encoding is
/// hashed into the key's identity: an accepted encoding must be exactly the one the key
/// writes, or two spellings of one key would get two identities.
enum RsaPublicKeyChecks {
    static func check(_ bytes: [UInt8]) {
        guard let key = try? RsaPublicKey(encoded: bytes) else { return }
        invariant(key.encoded() == bytes, "RsaPublicKey accepted a non-minimal encoding")
        invariant(RsaPublicKey(modulus: [0, 0] + key.modulus, exponent: [0] + key.exponent) == key,
                  "leading zeros changed an RsaPublicKey")
        invariant(key.hash.count == 64 && key.bits > 0, "RsaPublicKey hash or size")
        // 1^e = 1 for every key; kept to small keys, whose exponentiation is cheap.
        if key.modulus.count <= 256 && key.exponent.count <= 8 {
            invariant(key.verifyRaw(signature: [1], message: [0, 1]), "RsaPublicKey cannot verify 1^e = 1")
        }
    }
}
