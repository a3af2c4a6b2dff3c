import SecmodBase
import SecmodCrypto
import SecmodWire

/// Checks a server host key's signature over an SSH session identifier, as
/// `session-bind@openssh.com` carries it: proof that the client's SSH connection with that
/// session identifier is with the holder of that host key.
///
/// Runs on the agent's loop, so its cost is bounded: RSA moduli of 2048 to 8192 bits with
/// exponents below 2³², Ed25519, ECDSA P-256/384/521, and OpenSSH certificates of those
/// (checked with the certified key, as OpenSSH's agent does; the certificate's own
/// signature and validity are the client's business, which checked them against its
/// known hosts).
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
            guard (256...1024).contains(modulus.count), exponent.count <= 4, exponent.last.map({ $0 & 1 == 1 }) == true,
                  exponent != [1] else { return false }
            return RsaPkcs1Signature.verify(signature: sig.bytes, message: sessionID, digest: digest,
                                            publicKey: RsaPublicKey(modulus: modulus, exponent: exponent))
        case let .other(type, _):
            if let plain = certifiedKey(hostKey, type: type) {
                return verify(hostKey: plain, signature: signature, sessionID: sessionID)
            }
            guard let curve = EcdsaCurve(sshKeyType: type), sig.algorithm == type else { return false }
            return EcdsaVerifier.verify(hostKeyBlob: hostKey, curve: curve, signatureBlob: sig.bytes, message: sessionID)
        }
    }

    /// The plain key blob inside an OpenSSH host certificate (PROTOCOL.certkeys: type,
    /// nonce, then the key's own fields), or nil for anything else.
    static func certifiedKey(_ blob: [UInt8], type: String) -> [UInt8]? {
        let suffix = "-cert-v01@openssh.com"
        guard type.hasSuffix(suffix) else { return nil }
        let base = String(type.dropLast(suffix.count))
        var r = SSHReader(blob)
        guard (try? r.name("key type")) == type, (try? r.string("nonce", maximum: 1024)) != nil else { return nil }
        var w = SSHWriter()
        w.string(base)
        switch base {
        case SSHPublicKey.ed25519Name:
            guard let key = try? r.string("Ed25519 key", maximum: 32) else { return nil }
            w.string(key)
        case SSHPublicKey.rsaName:
            guard let e = try? r.string("RSA exponent", maximum: 64), let n = try? r.string("RSA modulus", maximum: 2049) else { return nil }
            w.string(e)
            w.string(n)
        case "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521":
            guard let curve = try? r.string("curve", maximum: 64), let point = try? r.string("point", maximum: 256) else { return nil }
            w.string(curve)
            w.string(point)
        default:
            return nil
        }
        return w.bytes
    }
}
