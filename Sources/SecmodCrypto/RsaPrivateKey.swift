import SecmodBase
import SecmodSystem

/// An RSA private key held for blind signing (wire.md §3.6, §3.7).
///
/// The integers live once in locked memory, plus in the chosen engine's own form (OpenSSL
/// holds one copy per signer using the key at the same time, up to 8, in its ordinary
/// heap: `RsaOpenSSLEngine.Copies`); all are wiped when the last reference goes. The checks that protect the key do not
/// depend on the engine: m >= n is refused before the private operation, and every result
/// is verified with the public key before it leaves (a faulty CRT result would otherwise
/// reveal a factor of n to the client).
public final class RsaPrivateKey: Sendable {
    public let publicKey: RsaPublicKey
    /// The library that signs a key held in this process; nil for a key in a token.
    public let engine: RsaEngineKind?
    /// The private integers, for a key held in this process; nil for a key in a token.
    private let material: RsaKeyMaterial?
    private let signer: any RsaSigningEngine
    /// Names who signs in errors: "openssl", or the token's description.
    private let signerName: String

    private init(material: RsaKeyMaterial, engine: RsaEngineKind) throws(SecmodError) {
        self.material = material
        self.engine = engine
        publicKey = material.publicKey
        signer = try engine.makeEngine(material)
        signerName = engine.rawValue
        try selfTest()
    }

    /// A key held elsewhere (a PKCS#11 token), whose private operation `signer` performs.
    /// The same checks protect it as a key held here: m < n before the call, s^e = m after.
    public init(publicKey: RsaPublicKey, signer: any RsaSigningEngine, name: String) throws(SecmodError) {
        self.publicKey = publicKey
        self.signer = signer
        material = nil
        engine = nil
        signerName = name
        try selfTest()
    }

    /// One signature now turns an unusable key into a load-time error instead of a
    /// failure on every request later.
    private func selfTest() throws(SecmodError) {
        _ = try sign(blindedMessage: randomBytes(publicKey.modulus.count - 1))
    }

    /// A new key from libgcrypt, e = 65537, `bits` in 1024...8192. Takes from about 0.1 s
    /// (2048 bits) to several seconds (4096): call it off the event loop.
    public static func generate(bits: Int, engine: RsaEngineKind) throws(SecmodError) -> RsaPrivateKey {
        try RsaPrivateKey(material: try RsaKeyGeneration.generate(bits: bits), engine: engine)
    }

    /// Reads a wire.md §3.7 key file (GNUnet's layout, canonical form, or a bare `(private-key …)`)
    /// and checks that its integers form one key. A malformed or inconsistent file throws
    /// `.keyFile`; the message names what is wrong, never a value.
    public convenience init(keyFile: borrowing SecureBytes, engine: RsaEngineKind) throws(SecmodError) {
        try self.init(material: try RsaKeyFile.read(keyFile), engine: engine)
    }

    /// The key file exactly as `GNUNET_CRYPTO_rsa_private_key_encode` writes it, trailing NUL
    /// included, so the C helper can load it.
    public func keyFile() throws(SecmodError) -> SecureBytes {
        guard let material else { throw SecmodError(.keyFile, "an RSA key held by \(signerName) has no key file") }
        return RsaKeyFile.write(material)
    }

    /// The private numbers as PKCS#1 and PKCS#11 name them, to import the key into a token
    /// (`secmod keys import`). Ordinary memory: the caller wipes them (`wipe`) at once.
    public func privateNumbers() throws(SecmodError) -> RsaPrivateNumbers {
        guard let material else { throw SecmodError(.keyFile, "an RSA key held by \(signerName) has no private numbers here") }
        func bytes(_ part: RsaKeyMaterial.Part) -> [UInt8] { material.withBytes(part) { Array($0) } }
        // libgcrypt's u is p^-1 mod q; PKCS#1's coefficient is prime2^-1 mod prime1. With
        // libgcrypt's q as prime1 and p as prime2, u is exactly the coefficient.
        return RsaPrivateNumbers(modulus: bytes(.n), publicExponent: bytes(.e), privateExponent: bytes(.d),
                                 prime1: bytes(.q), prime2: bytes(.p), exponent1: bytes(.dq), exponent2: bytes(.dp),
                                 coefficient: bytes(.u))
    }

    /// The raw blind signature s = m^d mod n of the blinded message m, an unsigned big-endian
    /// integer of any length (leading zeros are ignored). Returns s big-endian without leading
    /// zeros, as `GNUNET_CRYPTO_rsa_signature_encode` does. Throws `.crypto` for m = 0 or
    /// m >= n, or if the result fails its check. Safe to call from several threads at once.
    public func sign(blindedMessage: [UInt8]) throws(SecmodError) -> [UInt8] {
        let m = RsaBigEndian.minimal(blindedMessage)
        // Zero would sign to the empty string, which no client can use; the protocol never sends it.
        guard !m.isEmpty else { throw SecmodError(.crypto, "the blinded message is zero") }
        guard RsaBigEndian.compare(m, publicKey.modulus[...]) < 0 else {
            throw SecmodError(.crypto, "the blinded message is not below the RSA modulus")
        }
        let signature = Array(RsaBigEndian.minimal(try signer.root(of: Array(m))))
        guard publicKey.verifyRaw(signature: signature, message: Array(m)) else {
            throw SecmodError(.crypto, "the \(signerName) RSA signature failed its check and was withheld")
        }
        return signature
    }
}

/// An RSA private key's numbers in PKCS#1 order, big-endian.
public struct RsaPrivateNumbers {
    public var modulus: [UInt8]
    public var publicExponent: [UInt8]
    public var privateExponent: [UInt8]
    public var prime1: [UInt8]
    public var prime2: [UInt8]
    public var exponent1: [UInt8]
    public var exponent2: [UInt8]
    public var coefficient: [UInt8]

    /// Zeroes the secret numbers in place.
    public mutating func wipe() {
        for path in [\Self.privateExponent, \Self.prime1, \Self.prime2, \Self.exponent1, \Self.exponent2, \Self.coefficient] as [WritableKeyPath<Self, [UInt8]>] {
            self[keyPath: path].withUnsafeMutableBufferPointer { buffer in
                for i in buffer.indices { buffer[i] = 0 }
            }
        }
    }
}
