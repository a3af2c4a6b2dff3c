import Foundation
import SecmodBase
import SecmodClient
import SecmodCrypto
import SecmodSystem
import SecmodWire
import Testing

/// The RSA helper, end to end, judged by libgnunetutil: it blinds a coin for our announced
/// key, our client sends the envelope to our helper, and it unblinds and verifies. Key
/// files cross between the two in both directions.
@Suite(.serialized) struct RsaHelperInteropTests {
    static let denominations = [(section: "coin_1", duration: "1 minute", bits: 2048)]

    static func unhex(_ s: Substring) -> [UInt8] { RsaInteropTests.unhex(s) }

    @Test func libgnunetutilBlindsOurHelperSignsLibgnunetutilVerifies() throws {
        let helper = try HelperProcess(.rsa(denominations: Self.denominations))
        try helper.start()
        let client = try helper.rsaClient()
        let now = Timestamp(microseconds: Clock.wallMicroseconds())
        let key = try #require(client.keys.first { $0.anchor <= now })
        for _ in 0..<5 {
            let blinded = try GnunetReferee.check(tool: "gnunet-rsa-check", ["blind", hexString(key.publicKey)])
            #expect(blinded.status == 0, "libgnunetutil could not decode our announced key: \(blinded.output)")
            let parts = blinded.output.split(separator: " ")
            try #require(parts.count == 3)
            let signature = try client.sign(hash: key.hash, blindedMessage: Self.unhex(parts[2]))
            let verdict = try GnunetReferee.check(tool: "gnunet-rsa-check",
                                                  ["verify", hexString(key.publicKey), String(parts[0]), String(parts[1]), hexString(signature)])
            #expect(verdict.status == 0, "libgnunetutil rejected the unblinded signature: \(verdict.output)")
            var tampered = signature
            tampered[tampered.count - 1] ^= 1
            let refused = try GnunetReferee.check(tool: "gnunet-rsa-check",
                                                  ["verify", hexString(key.publicKey), String(parts[0]), String(parts[1]), hexString(tampered)])
            #expect(refused.status == 1)
        }
        // Batches too: every unblinded signature verifies.
        var blinds: [(hash: String, bks: String, blinded: [UInt8])] = []
        for _ in 0..<16 {
            let parts = try GnunetReferee.check(tool: "gnunet-rsa-check", ["blind", hexString(key.publicKey)]).output.split(separator: " ")
            blinds.append((String(parts[0]), String(parts[1]), Self.unhex(parts[2])))
        }
        let results = try client.batchSign(blinds.map { RsaSignRequestItem(hash: key.hash, blindedMessage: $0.blinded) })
        for (b, r) in zip(blinds, results) {
            let verdict = try GnunetReferee.check(tool: "gnunet-rsa-check", ["verify", hexString(key.publicKey), b.hash, b.bks, hexString(try r.get())])
            #expect(verdict.status == 0)
        }
        #expect(helper.stop() == 0)
    }

    /// Key files only: a token's keys never leave it.
    @Test(.enabled(if: HelperProcess.defaultKeyStore.isFile))
    func keyDirectoriesCrossBetweenTheImplementations() throws {
        let helper = try HelperProcess(.rsa(denominations: Self.denominations))
        try helper.start()
        #expect(helper.stop() == 0)
        let directory = helper.keyDirectory + "/coin_1"
        // libgnunetutil reads every key file our helper wrote, to the same public key.
        let ours = try FileSystem.listDirectory(directory)
        #expect(!ours.isEmpty)
        for name in ours {
            let decoded = try GnunetReferee.check(tool: "gnunet-rsa-check", ["public", directory + "/" + name])
            #expect(decoded.status == 0, "libgnunetutil rejected \(name): \(decoded.output)")
        }
        // A key file written by libgnunetutil, dropped into the directory at a fresh
        // anchor, is loaded and announced by our helper.
        let newest = ours.compactMap { UInt64($0) }.max()!
        let anchor = newest - 1
        let created = try GnunetReferee.check(tool: "gnunet-rsa-check", ["create", "2048", directory + "/\(anchor)"])
        #expect(created.status == 0)
        try helper.start()
        let client = try helper.rsaClient()
        let theirs = try #require(client.keys.first { $0.anchor.seconds == anchor })
        #expect(hexString(theirs.publicKey) == created.output)
        #expect(try FileSystem.status(directory + "/\(anchor)").permissions == 0o400)
        #expect(helper.stop() == 0)
    }
}
