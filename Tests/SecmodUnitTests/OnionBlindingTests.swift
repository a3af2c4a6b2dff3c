import SecmodBase
import SecmodCrypto
import SecmodTestVectors
import Testing

/// rend-spec-v3 A.2 key blinding against tor's `ed25519_vectors.inc` (the same ten vectors
/// are in arti's tor-llcrypto) and arti's end-to-end vector (tor-hscrypto, period 1234 of
/// 1440 minutes). The blinded signatures are checked by an independent Ed25519 in
/// `AgentBlindingInteropTests`.
@Suite struct OnionBlindingTests {
    static func bytes(_ hex: String) -> [UInt8] { Hex.decode(Substring(hex))! }

    static func seedKey(_ hex: String) throws -> Ed25519PrivateKey {
        var seed = SecureBytes(count: 32)
        seed.withUnsafeMutableBytes { $0.copyBytes(from: bytes(hex)) }
        return try Ed25519PrivateKey(seed: seed)
    }

    @Test(arguments: 0..<10)
    func torVectorFromItsSeed(index: Int) throws {
        let key = try Self.seedKey(OnionBlindingVectors.secretKeySeeds[index])
        #expect(key.publicKey == Self.bytes(OnionBlindingVectors.publicKeys[index]))
        let parameter = Self.bytes(OnionBlindingVectors.blindingParams[index])
        let blinded = try key.blinded(parameter: parameter)
        #expect(Hex.encode(blinded.publicKey) == OnionBlindingVectors.blindedPublicKeys[index])
        let secret = blinded.withUnsafeSecret { Hex.encode($0) }
        #expect(secret == OnionBlindingVectors.blindedSecretKeys[index])
        // The public key alone blinds to the same A' (what tor's clients compute).
        #expect(try OnionKeyBlinding.blindedPublicKey(key.publicKey, parameter: parameter) == blinded.publicKey)
    }

    @Test(arguments: 0..<10)
    func torVectorFromItsExpandedKey(index: Int) throws {
        let blinded = try BlindedEd25519Key.testing(expanded: Self.bytes(OnionBlindingVectors.expandedSecretKeys[index]),
                                                    parameter: Self.bytes(OnionBlindingVectors.blindingParams[index]))
        #expect(Hex.encode(blinded.publicKey) == OnionBlindingVectors.blindedPublicKeys[index])
        #expect(blinded.withUnsafeSecret { Hex.encode($0) } == OnionBlindingVectors.blindedSecretKeys[index])
    }

    @Test func artiEndToEndVector() throws {
        let v = OnionBlindingVectors.endToEnd
        let h = OnionKeyBlinding.parameter(identityKey: Self.bytes(v.identityPublicKey), periodNumber: v.periodNumber,
                                           periodLengthMinutes: v.periodLengthMinutes, secret: Self.bytes(v.secret))
        #expect(Hex.encode(h) == v.blindingFactor)
        #expect(Hex.encode(try OnionKeyBlinding.blindedPublicKey(Self.bytes(v.identityPublicKey), parameter: h)) == v.blindedPublicKey)
        let blinded = try BlindedEd25519Key.testing(expanded: Self.bytes(v.identityExpandedSecretKey), parameter: h)
        #expect(Hex.encode(blinded.publicKey) == v.blindedPublicKey)
        #expect(blinded.withUnsafeSecret { Hex.encode($0) } == v.blindedExpandedSecretKey)
    }

    @Test func blindedSignaturesVerifyUnderTheBlindedKeyOnly() throws {
        let key = try Self.seedKey(OnionBlindingVectors.secretKeySeeds[3])
        let h = OnionKeyBlinding.parameter(identityKey: key.publicKey, periodNumber: 20_000, periodLengthMinutes: 1440)
        let blinded = try key.blinded(parameter: h)
        let message = Array("descriptor signing key certificate".utf8)
        let signature = try blinded.sign(message)
        #expect(Ed25519.verify(signature: signature, message: message, publicKey: blinded.publicKey))
        #expect(!Ed25519.verify(signature: signature, message: message, publicKey: key.publicKey))
        #expect(!Ed25519.verify(signature: signature, message: message + [0], publicKey: blinded.publicKey))
        // Deterministic, as Ed25519 is.
        #expect(try blinded.sign(message) == signature)
        // Another period gives another, unlinkable key.
        let next = try key.blinded(parameter: OnionKeyBlinding.parameter(identityKey: key.publicKey, periodNumber: 20_001, periodLengthMinutes: 1440))
        #expect(next.publicKey != blinded.publicKey)
        // The same message for two periods never shares a nonce: equal R's would give away
        // the identity scalar (S₁ − S₂ = a·(k₁h₁ − k₂h₂)), as tor's own nonce would here.
        let again = try next.sign(message)
        #expect(Ed25519.verify(signature: again, message: message, publicKey: next.publicKey))
        #expect(again.prefix(32) != signature.prefix(32))
    }

    @Test func invalidPointsAreRefused() {
        // The identity point and a small-order point cannot be blinded.
        let identity = [UInt8(1)] + [UInt8](repeating: 0, count: 31)
        #expect(throws: SecmodError.self) { try OnionKeyBlinding.blindedPublicKey(identity, parameter: [UInt8](repeating: 7, count: 32)) }
        #expect(throws: SecmodError.self) { try OnionKeyBlinding.blindedPublicKey([1, 2, 3], parameter: [UInt8](repeating: 7, count: 32)) }
    }
}
