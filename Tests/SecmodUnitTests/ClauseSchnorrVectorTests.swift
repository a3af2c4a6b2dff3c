import SecmodBase
import SecmodCrypto
import Testing

/// wire.md Appendix A.5: one Clause-Schnorr key, nonce and pair of challenges, with the
/// values libgnunetutil 0.19.3 computes for them (Tests/Interop/gnunet-cs-check.c); ours must
/// be the same bytes. `ClauseSchnorrInteropTests` compares with the library on random
/// inputs too.
@Suite struct ClauseSchnorrVectorTests {
    static let scalar = "f4377fc04977b56cb1d18994348692ddab23fa89feb8ab58b65dadaf27495203"
    static let nonce = "0a956168b53d271d14f873045f4ba7470138852b9c181ba9ba9f189a14110dd4"
    static let challenges = "122c597083bd438b7f6d72af75d025948899647711b806bdd2cd82fa69713d03d0f631ca1ddba8db3bcfcb9e057cdc98d0379f1bee00e75a545147a27dadd902"

    static func bytes(_ hex: String) -> [UInt8] { Hex.decode(Substring(hex))! }

    static func key() throws -> ClauseSchnorrKey {
        var s = SecureBytes(count: 32)
        s.withUnsafeMutableBytes { $0.copyBytes(from: bytes(scalar)) }
        return try ClauseSchnorrKey(scalar: s)
    }

    @Test func libgnunetutilsValues() throws {
        let key = try Self.key()
        #expect(Hex.encode(key.publicKey) == "9feddae8ffba2170ce40369227ab713900769de16c232d497dcfd537bd1c8f00")
        #expect(Hex.encode(SHA512.hash(key.publicKey)) == "f0337d19e0087b7c16b293dcb6cc36aa5928928ca41f6055b6d854afd18b5b9fbf02c0644b983ddca94cfd2ba4de9a7bf3dfd4d46af98d5f934b6146d1e2772d")
        #expect(Hex.encode(try key.publicNonces(nonce: Self.bytes(Self.nonce), use: .withdraw))
                == "f747a4a276abce6c3edfafa2e1ec8aab9c0647955379df3ef2895bcbb9ed833f5aadda4cf5e1c6584ee042273dae96f4e1d213139715bc987dbaaf31aa05c2a8")
        #expect(Hex.encode(try key.publicNonces(nonce: Self.bytes(Self.nonce), use: .melt))
                == "7dbda50ee88edbb635b788ad82b6009fd2509ad5090e4e5dc7f921fade6e50cbd0282cf5ed231281b7a02365873e9d9164448f2d3d39da882b12214ab312e9c4")
        let withdraw = try key.sign(challenges: Self.bytes(Self.challenges), nonce: Self.bytes(Self.nonce), use: .withdraw)
        #expect(withdraw.b == 0 && Hex.encode(withdraw.s) == "efcea77bb2af12ee5d7ac1242fa77d9f45c6497ae1c592d84f8fac60d42bd301")
        let melt = try key.sign(challenges: Self.bytes(Self.challenges), nonce: Self.bytes(Self.nonce), use: .melt)
        #expect(melt.b == 0 && Hex.encode(melt.s) == "2ce03dfdc552e7b52c0117b2fe3369675bbecb9059d579f9f9b240591e07ca06")
    }

    @Test func damagedKeyFilesAreRefused() {
        for bad in [[UInt8](repeating: 0, count: 32), [UInt8](repeating: 0xFF, count: 32), [UInt8](repeating: 1, count: 31)] {
            var s = SecureBytes(count: bad.count)
            s.withUnsafeMutableBytes { $0.copyBytes(from: bad) }
            #expect(throws: SecmodError.self) { _ = try ClauseSchnorrKey(scalar: s) }
        }
    }
}
