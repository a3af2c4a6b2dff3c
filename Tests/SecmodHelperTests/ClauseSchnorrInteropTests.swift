import SecmodBase
import SecmodCrypto
import Testing

/// Our Clause-Schnorr arithmetic against libgnunetutil's (`Tests/Interop/gnunet-cs-check.c`),
/// the library Taler's C helper, exchange and wallets use: the same public keys, the same
/// R₀, R₁ for a nonce, the same b and s; a wallet's blinding with the library, our
/// signature, the library's unblinding and verification.
@Suite struct ClauseSchnorrInteropTests {
    static func key() throws -> (ClauseSchnorrKey, String) {
        let scalar = ClauseSchnorrKey.generateScalar()
        let hex = scalar.withUnsafeBytes { Hex.encode($0) }
        return (try ClauseSchnorrKey(scalar: scalar), hex)
    }

    static func cs(_ arguments: [String]) throws -> String {
        let out = try GnunetReferee.check(tool: "gnunet-cs-check", arguments)
        try #require(out.status == 0, "gnunet-cs-check \(arguments.first ?? ""): \(out.output)")
        return out.output
    }

    @Test(arguments: [ClauseSchnorrKey.Use.withdraw, .melt])
    func derivesAndSignsAsLibgnunetutil(use: ClauseSchnorrKey.Use) throws {
        let seed = use == .melt ? "rm" : "rw"
        for _ in 0..<8 {
            let (key, scalar) = try Self.key()
            #expect(try Self.cs(["public", scalar]) == Hex.encode(key.publicKey))
            let nonce = randomBytes(32)
            let r = try key.publicNonces(nonce: nonce, use: use)
            #expect(try Self.cs(["rderive", scalar, Hex.encode(nonce), seed]) == Hex.encode(r))
            let c = randomBytes(64)
            let (b, s) = try key.sign(challenges: c, nonce: nonce, use: use)
            #expect(try Self.cs(["sign", scalar, Hex.encode(nonce), seed, Hex.encode(c)]) == "\(b) \(Hex.encode(s))")
        }
    }

    @Test func aWalletUnblindsAndVerifiesOurSignaturesWithLibgnunetutil() throws {
        var choices = Set<UInt32>()
        for round in 0..<16 {
            let use: ClauseSchnorrKey.Use = round % 2 == 0 ? .withdraw : .melt
            let (key, _) = try Self.key()
            let nonce = randomBytes(32), blindingSeed = randomBytes(32), message = randomBytes(64)
            let r = try key.publicNonces(nonce: nonce, use: use)
            let c = try #require(Hex.decode(Substring(try Self.cs(["blind", Hex.encode(key.publicKey), Hex.encode(r),
                                                                    Hex.encode(blindingSeed), Hex.encode(message)]))))
            let (b, s) = try key.sign(challenges: c, nonce: nonce, use: use)
            choices.insert(b)
            let common = ["verify", Hex.encode(key.publicKey), Hex.encode(r), Hex.encode(blindingSeed)]
            #expect(try GnunetReferee.check(tool: "gnunet-cs-check", common + [Hex.encode(message), "\(b)", Hex.encode(s)]).status == 0)
            // Tampered: another message, the other b, a changed s.
            var other = message
            other[0] ^= 1
            #expect(try GnunetReferee.check(tool: "gnunet-cs-check", common + [Hex.encode(other), "\(b)", Hex.encode(s)]).status == 1)
            #expect(try GnunetReferee.check(tool: "gnunet-cs-check", common + [Hex.encode(message), "\(1 - b)", Hex.encode(s)]).status == 1)
            var bad = s
            bad[5] ^= 0x10
            #expect(try GnunetReferee.check(tool: "gnunet-cs-check", common + [Hex.encode(message), "\(b)", Hex.encode(bad)]).status == 1)
        }
        // b is one bit of a hash: over 16 rounds both values occur but for a 2^-15 chance.
        #expect(choices == [0, 1])
    }
}
