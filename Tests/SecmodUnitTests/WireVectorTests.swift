import SecmodBase
import SecmodCrypto
import SecmodSystem
import SecmodWire
import Testing

/// The wire spec's Appendix A vectors, produced by Taler's own libtalerutil: our purpose
/// layouts and libsodium signatures must reproduce them byte for byte.
@Suite struct WireVectorTests {
    static let anchor = Timestamp(seconds: 1_700_000_000)
    static let duration = RelativeTime(seconds: 60)

    func key(_ byte: UInt8) throws -> Ed25519PrivateKey {
        var seed = SecureBytes(count: 32)
        seed.withUnsafeMutableBytes { for i in 0..<32 { $0[i] = byte } }
        return try Ed25519PrivateKey(seed: seed)
    }

    @Test func securityModulePublicKey() throws {
        #expect(hex(try key(1).publicKey) == "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c")
        #expect(hex(try key(2).publicKey) == "8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394")
    }

    @Test func timeEncodings() {
        var w = ByteWriter()
        w.u64(Self.anchor.microseconds)
        w.u64(Self.duration.microseconds)
        #expect(hex(w.bytes) == "00060a24181e4000" + "0000000003938700")
        #expect(Timestamp.roundingDown(microseconds: 1_700_000_000_999_999) == Timestamp(seconds: 1_700_000_000))
    }

    @Test func signingKeyAnnouncement() throws {
        let signed = SignaturePurpose.signingKeyAnnouncement(exchangePublicKey: try key(2).publicKey,
                                                             anchor: Self.anchor, duration: Self.duration)
        #expect(hex(signed) == "00000038000004e3" + "8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394"
                + "00060a24181e4000" + "0000000003938700")
        let signature = try key(1).sign(signed)
        #expect(hex(signature) == "8b9f140aa9732fa41a927413dba62c98e037bf408b6a6dd3cea15393792bfc5263f5cbc6164773e95f614ab98014c576512209c6e83053bf1a4d04b8ce660608")
        #expect(Ed25519.verify(signature: signature, message: signed, publicKey: try key(1).publicKey))
    }

    @Test(arguments: [
        (SignaturePurpose.smRsaDenominationKey, "9a28f9418bccdc41cb5f5575c258516ccf6500444ac8d9190191f19000d8919dcab538b1601488d816ee2a8af401b7536400d3ccbc8b850d407dbe08ea26bd03"),
        (SignaturePurpose.smCsDenominationKey, "826666c1efb0bc57aa18e89d8392ea3f3f917dae957f25fc068a9a414c93dcdd92839ec4ea2a7db08fadeef62b51b98b4603acc798655198adff5e30bda20503"),
    ])
    func denominationKeyAnnouncement(purpose: UInt32, expected: String) throws {
        let section = SHA512.hash(Array("coin_1".utf8) + [0])
        #expect(hex(section) == "d69aec7d1363dabb75e8c0242322b02653e1281d45721876136b057e46551eaa1e94347a3b0decfbb04d22138842236c19b773d240d966b5769576ff53241a32")
        let signed = SignaturePurpose.denominationKeyAnnouncement(
            purpose: purpose, denominationHash: SHA512.hash(Array("test".utf8)), sectionNameHash: section,
            anchor: Self.anchor, duration: Self.duration)
        #expect(signed.count == 152)
        #expect(hex(try key(1).sign(signed)) == expected)
    }

    @Test func smallMessages() {
        #expect(MessageHeader.bare(type: EddsaMessageType.synced) == [0x00, 0x04, 0x00, 0x13])
        #expect(MessageHeader.bare(type: 10) == [0x00, 0x04, 0x00, 0x0a])
    }

    @Test func eddsaAvailRoundTrip() throws {
        let avail = EddsaKeyAvailable(anchor: Self.anchor, duration: Self.duration,
                                      securityModulePublicKey: try key(1).publicKey,
                                      securityModuleSignature: [UInt8](repeating: 7, count: 64),
                                      exchangePublicKey: try key(2).publicKey)
        let bytes = avail.encode()
        #expect(bytes.count == 152)
        #expect(Array(bytes[0..<8]) == [0x00, 0x98, 0x00, 0x0c, 0, 0, 0, 0])
        #expect(try EddsaKeyAvailable.decode(bytes) == avail)
        #expect(throws: SecmodError.self) { try EddsaKeyAvailable.decode(Array(bytes.dropLast())) }
    }

    @Test func signRequestValidation() throws {
        let purpose = EddsaSignRequest.purposeBytes(purpose: 0, body: [1, 2, 3])
        let request = EddsaSignRequest.encode(purposeBytes: purpose)
        #expect(hex(Array(request[0..<16])) == "0013000f00000000" + "0000000b00000000")
        #expect(try EddsaSignRequest.purposeRange(request) == 8..<19)
        var wrong = request
        wrong[11] = 12  // purpose.size no longer matches
        #expect(throws: SecmodError.self) { try EddsaSignRequest.purposeRange(wrong) }
        #expect(throws: SecmodError.self) { try EddsaSignRequest.purposeRange(Array(request[0..<15])) }
    }

    @Test func signatureAndFailureLayouts() throws {
        let reply = EddsaSignature(publicKey: [UInt8](repeating: 1, count: 32), signature: [UInt8](repeating: 2, count: 64))
        let bytes = reply.encode()
        #expect(Array(bytes[0..<4]) == [0x00, 0x68, 0x00, 0x11])
        #expect(try EddsaSignature.decode(bytes) == reply)
        let failure = SignFailure.encode(type: EddsaMessageType.signFailure, code: .keysMissing)
        #expect(failure == [0x00, 0x08, 0x00, 0x12, 0x00, 0x00, 0x03, 0xef])
        #expect(try SignFailure.decodeCode(failure) == 1007)
    }

    @Test func headerOfDatagramRejectsDisagreement() {
        #expect(throws: SecmodError.self) { try MessageHeader.ofDatagram([0, 5, 0, 1]) }
        #expect(throws: SecmodError.self) { try MessageHeader.ofDatagram([0, 4, 0]) }
        #expect(try! MessageHeader.ofDatagram([0, 4, 0, 1]) == MessageHeader(size: 4, type: 1))
    }
}

@Suite struct CrockfordBase32Tests {
    /// GNUnet's base32 of a 32-byte key is 52 characters; 64 bytes give 103.
    @Test func roundTripsAndLengths() throws {
        for count in [1, 5, 31, 32, 64, 100] {
            let data = randomBytes(count)
            let text = CrockfordBase32.encode(data)
            #expect(text.count == (count * 8 + 4) / 5)
            #expect(try CrockfordBase32.decode(text, byteCount: count) == data)
            #expect(try CrockfordBase32.decode(text.lowercased(), byteCount: count) == data)
        }
    }

    @Test func knownValues() throws {
        #expect(CrockfordBase32.encode(Array("foobar".utf8)) == "CSQPYRK1E8")
        #expect(CrockfordBase32.encode([0xff]) == "ZW")
        #expect(try CrockfordBase32.decode("CSQPYRK1E8", byteCount: 6) == Array("foobar".utf8))
        #expect(try CrockfordBase32.decode("CSQPYRKIE8", byteCount: 6) == Array("foobar".utf8))  // I reads as 1
    }

    @Test func rejectsBadInput() {
        #expect(throws: SecmodError.self) { try CrockfordBase32.decode("CSQPYRK1E", byteCount: 6) }
        #expect(throws: SecmodError.self) { try CrockfordBase32.decode("CSQPYRK1E!", byteCount: 6) }
        #expect(throws: SecmodError.self) { try CrockfordBase32.decode("ZZ", byteCount: 1) }  // non-zero padding bits
    }
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { b in String(b, radix: 16).count == 1 ? "0" + String(b, radix: 16) : String(b, radix: 16) }.joined()
}
