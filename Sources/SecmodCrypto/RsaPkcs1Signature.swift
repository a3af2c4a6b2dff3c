import SecmodBase

/// RSASSA-PKCS1-v1_5 (RFC 8017 §8.2) on top of the raw private operation, as SSH uses it
/// (`rsa-sha2-256`, `rsa-sha2-512`, legacy `ssh-rsa`): the encoded message is built here
/// and raised to d by the key's engine — in this process or in a token (`CKM_RSA_X_509`) —
/// with the same checks as every other RSA signature (m < n, s^e = m before it leaves).
public enum RsaPkcs1Signature {
    /// The DER `DigestInfo` prefix of each hash (RFC 8017 §9.2, note 1).
    static func digestInfoPrefix(_ digest: Digest) -> [UInt8] {
        switch digest {
        case .sha1: [0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A, 0x05, 0x00, 0x04, 0x14]
        case .sha256: [0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20]
        case .sha512: [0x30, 0x51, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40]
        case .sha3_256: preconditionFailure("SHA3-256 is not an SSH RSA signature hash")
        }
    }

    /// EMSA-PKCS1-v1_5: `00 01 FF…FF 00 DigestInfo`, `length` bytes (the modulus's).
    public static func encode(_ message: [UInt8], digest: Digest, length: Int) throws(SecmodError) -> [UInt8] {
        let t = digestInfoPrefix(digest) + digest.hash(message)
        guard length >= t.count + 11 else {
            throw SecmodError(.crypto, "an RSA modulus of \(length) bytes is too short for a \(digest) signature")
        }
        return [0x00, 0x01] + [UInt8](repeating: 0xFF, count: length - t.count - 3) + [0x00] + t
    }

    /// Signs `message`; the signature has exactly the modulus's length, as SSH wants it.
    public static func sign(_ message: [UInt8], digest: Digest, key: RsaPrivateKey) throws(SecmodError) -> [UInt8] {
        let k = key.publicKey.modulus.drop { $0 == 0 }.count
        let em = try encode(message, digest: digest, length: k)
        let s = try key.sign(blindedMessage: em)
        return [UInt8](repeating: 0, count: k - s.count) + s
    }

    /// Verifies a signature made by `sign` (or by anyone else) under `publicKey`.
    public static func verify(signature: [UInt8], message: [UInt8], digest: Digest, publicKey: RsaPublicKey) -> Bool {
        let k = publicKey.modulus.drop { $0 == 0 }.count
        guard signature.count <= k, let em = try? encode(message, digest: digest, length: k) else { return false }
        return publicKey.verifyRaw(signature: signature, message: em)
    }
}
