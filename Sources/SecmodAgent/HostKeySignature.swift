import SecmodBase
import SecmodCrypto
import SecmodWire

/// Checks a server host key's signature over an SSH session identifier, as
/// `session-bind@openssh.com` carries it: proof that the client's SSH connection with that
/// session identifier is with the holder of that host key.
enum HostKeySignature {
    static func verify(hostKey: [UInt8], signature: [UInt8], sessionID: [UInt8]) -> Bool {
        guard let key = try? SSHPublicKey(blob: hostKey), let sig = try? SSHSignature(encoded: signature) else { return false }
        switch key {
        case let .ed25519(publicKey):
            return sig.algorithm == SSHPublicKey.ed25519Name
                && Ed25519.verify(signature: sig.bytes, message: sessionID, publicKey: publicKey)
        case let .rsa(exponent, modulus):
            // Host keys sign with SHA-2 since OpenSSH 7.2; a SHA-1 binding proves less and is refused.
            let digest: Digest
            switch sig.algorithm {
            case "rsa-sha2-256": digest = .sha256
            case "rsa-sha2-512": digest = .sha512
            default: return false
            }
            guard modulus.count >= 256 else { return false }  // 2048 bits at least
            return RsaPkcs1Signature.verify(signature: sig.bytes, message: sessionID, digest: digest,
                                            publicKey: RsaPublicKey(modulus: modulus, exponent: exponent))
        case let .other(type, _):
            guard let curve = EcdsaCurve(sshKeyType: type), sig.algorithm == type else { return false }
            return EcdsaVerifier.verify(hostKeyBlob: hostKey, curve: curve, signatureBlob: sig.bytes, message: sessionID)
        }
    }
}
