import SecmodBase
import SecmodCrypto
import SecmodWire

/// An ADD_IDENTITY / ADD_ID_CONSTRAINED body (RFC 9987 §6.2), read only when `ALLOW_ADD =
/// yes`. Ed25519 keys only: the seed goes straight into locked memory. Constraints: a
/// lifetime is honoured; confirmation and any extension constraint are refused, since the
/// agent can honour neither (RFC 9987: a constraint not understood must fail the request).
struct AddedKeyRequest {
    let key: Ed25519PrivateKey
    let comment: String
    /// Seconds, if the client set a lifetime.
    let lifetime: UInt32?

    init(body: [UInt8], constrained: Bool) throws(SecmodError) {
        var r = SSHReader(body)
        let type = try r.name("key type")
        guard type == SSHPublicKey.ed25519Name else {
            throw SecmodError(.malformed, "only ssh-ed25519 keys can be added, not \(type)")
        }
        let publicKey = try r.string("public key", maximum: 32)
        var secret = try r.string("secret key", maximum: 64)
        guard publicKey.count == 32, secret.count == 64 else { throw SecmodError(.malformed, "ssh-ed25519 key of the wrong size") }
        var seed = SecureBytes(count: 32)
        seed.withUnsafeMutableBytes { $0.copyBytes(from: secret.prefix(32)) }
        secret.withUnsafeMutableBufferPointer { b in for i in b.indices { b[i] = 0 } }
        let key = try Ed25519PrivateKey(seed: seed)
        comment = String(decoding: try r.string("comment", maximum: 1024), as: UTF8.self)
        var lifetime: UInt32?
        if constrained {
            while !r.isAtEnd {
                switch try r.byte("constraint") {
                case 1: lifetime = try r.uint32("lifetime")
                case 2: throw SecmodError(.malformed, "the confirm constraint cannot be honoured (no one to ask)")
                case 255: throw SecmodError(.malformed, "extension constraint \(try r.name("constraint name")) is not supported")
                case let other: throw SecmodError(.malformed, "unknown constraint \(other)")
                }
            }
        } else {
            try r.end("ADD_IDENTITY")
        }
        // The key must be what it claims: a mismatched public half would list one key and sign with another.
        guard key.publicKey == publicKey else { throw SecmodError(.malformed, "the public key does not match the secret key") }
        self.key = key
        self.lifetime = lifetime
    }
}
