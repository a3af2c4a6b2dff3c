import Foundation
import SecmodClient
import SecmodCrypto
import SecmodKeys
import SecmodSystem
import SecmodWire
import Testing

/// libgnunetutil, Taler's own crypto library, as an independent judge of what our EdDSA
/// helper announces and signs, and of our base32.
@Suite(.serialized) struct GnunetInteropTests {
    @Test func base32MatchesLibgnunetutil() throws {
        for count in [1, 2, 5, 31, 32, 64, 263] {
            let data = randomBytes(count)
            let theirs = try GnunetReferee.check(["base32", hexString(data)])
            #expect(theirs.status == 0)
            #expect(theirs.output == CrockfordBase32.encode(data))
        }
    }

    @Test func helperAnnouncementsAndSignaturesVerifyWithLibgnunetutil() throws {
        let helper = try HelperProcess()
        try helper.start()
        let raw = try RawClient()
        let dump = try raw.handshake(socketPath: helper.socketPath)
        let avails = try dump.dropLast().map { try EddsaKeyAvailable.decode($0) }
        #expect(!avails.isEmpty)

        // The module key file is a seed that libgnunetutil turns into the announced key.
        let seed = try Data(contentsOf: URL(fileURLWithPath: helper.securityModuleKeyPath))
        let derived = try GnunetReferee.check(["eddsa-public", hexString([UInt8](seed))])
        #expect(derived.output == CrockfordBase32.encode(avails[0].securityModulePublicKey))

        for a in avails {
            let verdict = try GnunetReferee.check([
                "eddsa-verify", String(SignaturePurpose.smSigningKey), hexString(a.signedBytes),
                CrockfordBase32.encode(a.securityModulePublicKey), CrockfordBase32.encode(a.securityModuleSignature),
            ])
            #expect(verdict.status == 0, "module signature rejected by libgnunetutil: \(verdict.output)")
        }

        let client = try helper.client()
        for body in [[UInt8](), Array("hello taler".utf8), randomBytes(1000)] {
            let purpose = EddsaSignRequest.purposeBytes(purpose: 1032, body: body)
            let (pub, sig) = try client.sign(purposeBytes: purpose)
            let args = [hexString(purpose), CrockfordBase32.encode(pub), CrockfordBase32.encode(sig)]
            #expect(try GnunetReferee.check(["eddsa-verify", "1032"] + args).status == 0)
            // The referee can say no: a different purpose, or a flipped bit, must fail.
            #expect(try GnunetReferee.check(["eddsa-verify", "1033"] + args).status == 1)
            var tampered = sig
            tampered[10] ^= 1
            #expect(try GnunetReferee.check(["eddsa-verify", "1032", args[0], args[1], CrockfordBase32.encode(tampered)]).status == 1)
        }
        #expect(helper.stop() == 0)
    }
}
