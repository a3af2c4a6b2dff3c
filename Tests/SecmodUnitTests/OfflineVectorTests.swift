import SecmodBase
import SecmodCrypto
import SecmodOffline
import SecmodSystem
import SecmodTestVectors
import SecmodWire
import Testing

/// The offline-documents.md's offline-documents.md §10 test vectors, made by taler-exchange v0.9.2's
/// libtalerutil and its real `taler-exchange-offline sign`: every layout, hash and master
/// signature must come out byte for byte.
@Suite struct OfflineVectorTests {
    static let document = OfflineVectors.inputDocument

    func keys() throws -> FutureKeys {
        try FutureKeys(arguments: try OfflineOperation.unwrapInputKeys(try JSONValue.parse(Self.document)), currency: "KUDOS")
    }

    @Test func derivedPublicKeys() throws {
        let master = try OfflineVectors.key(seed: (0..<32).map { UInt8($0) })
        #expect(offlineHex(master.publicKey) == "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8")
        #expect(CrockfordBase32.encode(master.publicKey) == "0EGGFFZKSR8BW7BGVMCEEJY0K5KY9NHGKEJGTQRXVJ3684JN66W0")
        #expect(CrockfordBase32.encode(try OfflineVectors.key(seed: [UInt8](repeating: 1, count: 32)).publicKey)
                == "HA4E7QBM17RSBZAJVCPKSEJXEB56E2DZ3PA146ZKEJ403D0FDXE0")
        #expect(CrockfordBase32.encode(try OfflineVectors.key(seed: [UInt8](repeating: 2, count: 32)).publicKey)
                == "G4WQE3N8FMBNYNN3AHKC6K3YSK5RV2MHPKQ3F8JXYR7NQ3Y9PEA0")
        let exchange = try OfflineVectors.key(seed: [UInt8](repeating: 3, count: 32)).publicKey
        #expect(offlineHex(exchange) == "ed4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac8737d1")
    }

    @Test func parsedDocument() throws {
        let k = try keys()
        #expect(k.denominations.count == 1 && k.signingKeys.count == 1)
        let d = k.denominations[0]
        #expect(d.sectionName == "coin_kudos_5")
        #expect(d.value.description == "KUDOS:5")
        #expect(d.fees.all.map(\.amount.description) == ["KUDOS:0.01", "KUDOS:0.02", "KUDOS:0.03", "KUDOS:0.04"])
        #expect(d.stampStart == Timestamp(seconds: 1_700_000_000))
        #expect(d.stampExpireWithdraw == Timestamp(seconds: 1_700_604_800))
        #expect(d.stampExpireDeposit == Timestamp(seconds: 1_763_676_800))
        #expect(d.stampExpireLegal == Timestamp(seconds: 1_952_892_800))
        #expect(d.publicKey.cipher == .rsa && d.publicKey.ageMask == 0 && d.publicKey.keyBytes.count == 263)
        #expect(offlineHex(Array(d.publicKey.keyBytes.prefix(8))) == "01000003cdb9dec5")
        #expect(offlineHex(Array(d.publicKey.keyBytes.suffix(3))) == "010001")
        #expect(k.securityModuleKeys.cs == [UInt8](repeating: 0, count: 32))
        // The pin file of offline-documents.md §10: rsa ‖ 32 zero bytes ‖ eddsa.
        let pin = offlineHex(k.securityModuleKeys.bytes)
        #expect(pin.hasPrefix("8a88e3dd") && pin.contains("6f5c" + String(repeating: "0", count: 64) + "8139770e") && pin.hasSuffix("b394"))
    }

    @Test func hashes() throws {
        let d = try keys().denominations[0]
        #expect(offlineHex(SHA512.hash(d.publicKey.keyBytes)) == "fb96218ed13a0ea4bc2cb4bbbd66f93156962a8beeed1617359374db2a8d852e77862e3be0ec471b8b84294bb5b3a4265aabe521590871b594fea63537e19907")
        #expect(offlineHex(SHA512.hash(d.sectionNameBytesWithNul)) == "03982fd5a4f5705e1827a31844e490346019a65488b8d4b5e0a457c9346887d4a7c43b90190c3746c8c2ac4a62a569b93588e32720f712d5f8d27423f5f048d5")
        let plain = SHA512.hash(MasterSignatures.denominationHashInput(ageMask: 0, publicKey: d.publicKey))
        #expect(CrockfordBase32.encode(plain) == "262SA7918FFF3RT264YES1V3CZEXX7PDB5JQ2NHJPHCDYB3KTRCBPHAPBVQWYNJHZ12G1YNRMH0G7YHPD51C4HS4HJ3EJ234RGFV898")
        #expect(offlineHex(plain) == "1185951d2143def1e342313cec876367ddde9ecd5965715632b458df2c73d618bb45565eefcf5651f84500fab8a44103fa366942c247248c86e90864c41fb425")
        let mask = try AgeMask.parse(groups: AgeMask.defaultGroups)
        #expect(mask == 0x255501)
        let aged = SHA512.hash(MasterSignatures.denominationHashInput(ageMask: mask, publicKey: d.publicKey))
        #expect(CrockfordBase32.encode(aged) == "QQS2SWXAPVSYEWEH046N9KMDVENRX0NZ9MKRG869354YM9KJKF3N7JDTKXD17J6F61MVJE0HAZ6VESP83JFBW6D123J9KJD1Z267ZDR")
    }

    @Test func moduleSignaturesVerify() throws {
        let k = try keys()
        let s = k.signingKeys[0]
        #expect(Ed25519.verify(signature: s.secmodSignature, message: s.secmodSignedBytes, publicKey: k.securityModuleKeys.eddsa))
        let d = k.denominations[0]
        let signed = d.secmodSignedBytes(keyHash: SHA512.hash(d.publicKey.keyBytes), sectionNameHash: SHA512.hash(d.sectionNameBytesWithNul))
        #expect(signed.count == 152)
        #expect(Ed25519.verify(signature: d.secmodSignature, message: signed, publicKey: k.securityModuleKeys.rsa))
        // Not with the other helper's key, and not for another section.
        #expect(!Ed25519.verify(signature: d.secmodSignature, message: signed, publicKey: k.securityModuleKeys.eddsa))
        let other = d.secmodSignedBytes(keyHash: SHA512.hash(d.publicKey.keyBytes), sectionNameHash: SHA512.hash(Array("coin_kudos_6".utf8) + [0]))
        #expect(!Ed25519.verify(signature: d.secmodSignature, message: other, publicKey: k.securityModuleKeys.rsa))
    }

    @Test func signingKeyMasterSignature() throws {
        let s = try keys().signingKeys[0]
        let signed = s.masterSignedBytes
        #expect(offlineHex(signed) == "00000040" + "00000400" + "00060a24181e4000" + "00060ab0e901e000" + "0006440e0129a000"
                + "ed4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac8737d1")
        let sig = try OfflineVectors.master().sign(signed)
        #expect(offlineHex(sig) == "c93f308d6749d5c4288941c2ec322b65f116dd9ea1120e045bc5373c89ed6f227b8dedc02707cbb661b9cfe533b25f92dbc43c23fe0973e64d68ea7efaeb260d")
        #expect(CrockfordBase32.encode(sig) == "S4ZK13B797AW8A49871ERCHBCQRHDQCYM490W12VRMVKS2FDDWH7Q3FDR0KGFJXPC6WWZS9KP9FS5PY47GHZW2BKWS6PHTKYZBNJC38")
    }

    @Test func denominationMasterSignature() throws {
        let d = try keys().denominations[0]
        let master = try OfflineVectors.master()
        let h = SHA512.hash(MasterSignatures.denominationHashInput(ageMask: 0, publicKey: d.publicKey))
        let signed = d.masterSignedBytes(masterPublicKey: master.publicKey, denominationHash: h)
        #expect(signed.count == 256)
        let kudos = "4b55444f5300000000000000"
        #expect(offlineHex(signed) == "00000100" + "00000401"
                + "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
                + "00060a24181e4000" + "00060ab0e901e000" + "0006440e0129a000" + "0006f02549a0e000"
                + "0000000000000005" + "00000000" + kudos
                + "0000000000000000" + "000f4240" + kudos
                + "0000000000000000" + "001e8480" + kudos
                + "0000000000000000" + "002dc6c0" + kudos
                + "0000000000000000" + "003d0900" + kudos
                + "1185951d2143def1e342313cec876367ddde9ecd5965715632b458df2c73d618bb45565eefcf5651f84500fab8a44103fa366942c247248c86e90864c41fb425")
        let sig = master.sign(signed)
        #expect(offlineHex(sig) == "65ec79a9b0588e6f38dc3385d31025d640c85c42ee3cd65c9128f40deea0ea234fe1470fd5d966b20dfb0a8833f062c31430ac792c79dac7de1c67cb40883606")
        #expect(CrockfordBase32.encode(sig) == "CQP7KADGB276YE6W6E2X6415TS0CGQ22XRYDCQ4H53T0VVN0X8HMZRA71ZAXJSNJ1QXGN21KY1HC651GNHWJRYETRZF1RSYB8243C1G")
    }

    @Test func amountNetworkForm() throws {
        #expect(offlineHex(try Amount(parsing: "KUDOS:0.01").networkBytes) == "0000000000000000" + "000f4240" + "4b55444f5300000000000000")
        // taler-exchange 0.9.2 (F) upper-cases the currency: kudos:1.5 signs as KUDOS.
        #expect(offlineHex(try Amount(parsing: "kudos:1.5").networkBytes) == "0000000000000001" + "02faf080" + "4b55444f5300000000000000")
        #expect(try Amount(parsing: "kudos:1.5").description == "KUDOS:1.5")
    }

    /// The `sign` output of offline-documents.md §10, and the POST body of §8.
    @Test func uploadDocument() throws {
        let k = try keys()
        let master = try OfflineVectors.master()
        let d = k.denominations[0]
        let h = SHA512.hash(MasterSignatures.denominationHashInput(ageMask: 0, publicKey: d.publicKey))
        let sigs = UploadSignatures(
            denominations: [.init(denominationHash: h, masterSignature: master.sign(d.masterSignedBytes(masterPublicKey: master.publicKey, denominationHash: h)))],
            signingKeys: [.init(exchangePublicKey: k.signingKeys[0].key, masterSignature: master.sign(k.signingKeys[0].masterSignedBytes))])
        #expect(sigs.document.rendered(indent: 0) == OfflineVectors.signOutputCompact)
        #expect(sigs.arguments.rendered(indent: 0) == OfflineVectors.postBody)
        #expect(try UploadSignatures.operations(in: try JSONValue.parse(sigs.document.rendered())) == [sigs])
        #expect(try UploadSignatures(arguments: try JSONValue.parse(OfflineVectors.postBody)) == sigs)
    }

    /// `download` re-emits the exchange's reply unchanged (members in order) with jansson's
    /// two-space layout, and our own model emits the exchange's member order.
    @Test func documentRoundTrip() throws {
        let reply = try JSONValue.parse(OfflineVectors.getBody)
        let wrapped = OfflineOperation.wrapInputKeys(reply)
        #expect(try JSONValue.parse(wrapped.rendered(indent: 2)) == wrapped)
        #expect(try OfflineOperation.unwrapInputKeys(wrapped) == reply)
        let model = try FutureKeys(arguments: reply, currency: "KUDOS")
        #expect(model.json == reply)
        #expect(try FutureKeys(arguments: model.json, currency: nil) == model)
        #expect(JSONValue.object([JSONMember("a", .array([.integer(1), .object([])])), JSONMember("b", .array([]))]).rendered(indent: 2)
                == "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": []\n}")
    }
}

func offlineHex(_ bytes: [UInt8]) -> String {
    bytes.map { b in (b < 16 ? "0" : "") + String(b, radix: 16) }.joined()
}
