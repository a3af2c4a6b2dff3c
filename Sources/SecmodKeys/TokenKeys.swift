import SecmodBase
import SecmodCrypto
import SecmodPkcs11

/// An Ed25519 key in a PKCS#11 token, signing with `CKM_EDDSA`. Every signature is
/// verified with the public key from the key's reference before it is returned, as the
/// RSA path does: a token that answers with the wrong key, or garbage, is caught here and
/// not by a client.
final class TokenEd25519Key: Ed25519Signer {
    let token: Pkcs11Token
    let id: [UInt8]
    let publicKey: [UInt8]
    var signsInProcess: Bool { false }

    init(token: Pkcs11Token, id: [UInt8], publicKey: [UInt8]) {
        self.token = token
        self.id = id
        self.publicKey = publicKey
    }

    func sign(_ message: [UInt8], range: Range<Int>) throws(SecmodError) -> [UInt8] {
        let signature = try message.withUnsafeBytes { bytes in
            Result { () throws(SecmodError) in
                try token.sign(id: id, mechanism: .eddsa, data: UnsafeRawBufferPointer(rebasing: bytes[range]),
                               maximumLength: Ed25519PrivateKey.signatureByteCount)
            }
        }.get()
        guard Ed25519.verify(signature: signature, message: Array(message[range]), publicKey: publicKey) else {
            throw SecmodError(.crypto, "token '\(token.label)': the Ed25519 signature of key \(Hex.encode(id)) failed its check and was withheld")
        }
        return signature
    }

    /// One signature at load, so that a reference whose object is gone or is another key
    /// fails at start and not at every request.
    func selfTest() throws(SecmodError) {
        _ = try sign(Array("swift-secmod token self-test".utf8))
    }
}

/// The raw RSA operation of a key in a PKCS#11 token (`CKM_RSA_X_509`): the blinded
/// message, left-padded to the modulus length as the mechanism wants it, to the power d.
/// `RsaPrivateKey` checks m < n before and s^e = m after.
struct TokenRsaEngine: RsaSigningEngine {
    let token: Pkcs11Token
    let id: [UInt8]
    let modulusLength: Int

    func root(of message: [UInt8]) throws(SecmodError) -> [UInt8] {
        precondition(message.count <= modulusLength)
        let block = [UInt8](repeating: 0, count: modulusLength - message.count) + message
        return try block.withUnsafeBytes { bytes in
            Result { () throws(SecmodError) in
                try token.sign(id: id, mechanism: .rsaRaw, data: bytes, maximumLength: modulusLength)
            }
        }.get()
    }
}
