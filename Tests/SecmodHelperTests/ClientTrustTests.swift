import Foundation
import SecmodBase
import SecmodClient
import SecmodCrypto
import SecmodSystem
import SecmodWire
import Testing

/// The client library accepts nothing it cannot tie to the helper it trusts: a session
/// answered by another uid than the socket file's owner, a signature under a key the
/// helper never announced, or an RSA signature that is not one. Each case is a fake
/// helper that speaks the transport correctly and lies in exactly one way.
@Suite struct ClientTrustTests {
    static let module = try! Ed25519PrivateKey(seed: Ed25519PrivateKey.generateSeed())
    static let purpose = EddsaSignRequest.purposeBytes(purpose: 1234, body: [1, 2, 3])

    /// A correctly signed EdDSA AVAIL for `key`, then SYNCED.
    static func eddsaDump(announcing key: Ed25519PrivateKey) -> [[UInt8]] {
        let anchor = Timestamp(microseconds: Clock.wallMicroseconds() / 1_000_000 * 1_000_000)
        let duration = RelativeTime(microseconds: 3600 * 1_000_000)
        let unsigned = EddsaKeyAvailable(anchor: anchor, duration: duration, securityModulePublicKey: module.publicKey,
                                         securityModuleSignature: [UInt8](repeating: 0, count: 64), exchangePublicKey: key.publicKey)
        let avail = EddsaKeyAvailable(anchor: anchor, duration: duration, securityModulePublicKey: module.publicKey,
                                      securityModuleSignature: module.sign(unsigned.signedBytes), exchangePublicKey: key.publicKey)
        return [avail.encode(), MessageHeader.bare(type: EddsaMessageType.synced)]
    }

    static func newKey() -> Ed25519PrivateKey { try! Ed25519PrivateKey(seed: Ed25519PrivateKey.generateSeed()) }

    /// Control: the fake, honest, is accepted, so the refusals below are the lies' doing.
    @Test(arguments: [HelperTransport.datagram, .stream])
    func anHonestFakeIsServed(transport: HelperTransport) throws {
        let key = Self.newKey()
        let fake = try FakeHelper(transport: transport, dump: Self.eddsaDump(announcing: key)) { request in
            let purpose = Array(request[8...])
            return [EddsaSignature(publicKey: key.publicKey, signature: key.sign(purpose)).encode()]
        }
        defer { fake.stop() }
        let client = EddsaHelperClient(socketPath: fake.socketPath, transport: transport)
        let signed = try client.sign(purposeBytes: Self.purpose, timeout: .seconds(10))
        #expect(signed.publicKey == key.publicKey)
        // A deadline too far to represent means no deadline (a Double one used to trap).
        for never in [Duration.seconds(Int64.max), .seconds(1e15)] {
            #expect(try client.sign(purposeBytes: Self.purpose, timeout: never).publicKey == key.publicKey)
        }
    }

    /// A CS batch's replies are judged in the order they arrive among the key events: a
    /// signature sent after the PURGE of its key is refused, one sent before it stands
    /// (dgram-transport.md §6.6: the helper sends a PURGE after the replies to every request
    /// read before it). A client that judged the whole batch against the keys it had when it
    /// sent it accepted them all.
    @Test(arguments: [HelperTransport.datagram, .stream])
    func aCsSignatureSentAfterItsKeysPurgeIsRefused(transport: HelperTransport) throws {
        var scalar = ClauseSchnorrKey.generateScalar()
        _ = scalar.withUnsafeMutableBytes { $0.count }
        let key = try ClauseSchnorrKey(scalar: scalar)
        let hash = SHA512.hash(key.publicKey)
        let section = "coin_cs"
        let anchor = Timestamp(microseconds: Clock.wallMicroseconds() / 1_000_000 * 1_000_000 - 1_000_000)
        let duration = RelativeTime(microseconds: 3600 * 1_000_000)
        let signed = SignaturePurpose.denominationKeyAnnouncement(
            purpose: SignaturePurpose.smCsDenominationKey, denominationHash: hash,
            sectionNameHash: SHA512.hash(Array(section.utf8) + [0]), anchor: anchor, duration: duration)
        let avail = CsKeyAvailable(anchor: anchor, durationWithdraw: duration, securityModulePublicKey: Self.module.publicKey,
                                   securityModuleSignature: Self.module.sign(signed), publicKey: key.publicKey, section: section)
        let purgedAfter = 15
        let fake = try FakeHelper(transport: transport, dump: [avail.encode(), MessageHeader.bare(type: CsMessageType.synced)]) { request in
            guard let walk = try? CsBatchRequest.walk(request, sign: true) else { return [] }
            var replies: [[UInt8]] = []
            for (i, item) in walk.requests.enumerated() {
                if i == purgedAfter { replies.append(CsKeyMessage.encode(type: CsMessageType.purge, hash: hash)) }
                // Good signatures all: only their place after the PURGE is wrong.
                guard let (b, s) = try? key.sign(challenges: item.challenges, nonce: item.nonce, use: .withdraw) else { return [] }
                replies.append(CsSignature.encode(b: b, s: s, version: .current))
            }
            return replies
        }
        defer { fake.stop() }
        let client = CsHelperClient(socketPath: fake.socketPath, transport: transport)
        try client.connect(timeout: .seconds(10))
        let items = try (0..<40).map { _ in
            let nonce = randomBytes(32)
            return CsSignItem(hash: hash, nonce: nonce, challenges: randomBytes(64), publicNonces: try key.publicNonces(nonce: nonce, use: .withdraw))
        }
        let results = try client.batchSign(items, timeout: .seconds(10))
        #expect(results.count == 40)
        for (i, result) in results.enumerated() {
            switch result {
            case .success: #expect(i < purgedAfter, "reply \(i), after the PURGE, was accepted")
            case let .failure(error): #expect(i >= purgedAfter && error.code == .untrustedHelper, "reply \(i): \(error)")
            }
        }
        #expect(client.keys.isEmpty)
    }

    @Test(arguments: [HelperTransport.datagram, .stream])
    func aSignatureUnderAnUnannouncedKeyIsRefused(transport: HelperTransport) throws {
        let announced = Self.newKey(), other = Self.newKey()
        let fake = try FakeHelper(transport: transport, dump: Self.eddsaDump(announcing: announced)) { request in
            // A perfectly valid signature, by a key the helper never announced.
            [EddsaSignature(publicKey: other.publicKey, signature: other.sign(Array(request[8...]))).encode()]
        }
        defer { fake.stop() }
        for verifies in [true, false] {
            let client = EddsaHelperClient(socketPath: fake.socketPath, transport: transport)
            client.verifiesSignatures = verifies
            #expect(throws: SecmodError.self) { _ = try client.sign(purposeBytes: Self.purpose, timeout: .seconds(10)) }
            do { _ = try client.sign(purposeBytes: Self.purpose, timeout: .seconds(10)) } catch {
                #expect(error.code == .untrustedHelper)
            }
        }
    }

    @Test(arguments: [HelperTransport.datagram, .stream])
    func aForgedSignatureUnderTheAnnouncedKeyIsRefused(transport: HelperTransport) throws {
        let key = Self.newKey()
        let fake = try FakeHelper(transport: transport, dump: Self.eddsaDump(announcing: key)) { _ in
            [EddsaSignature(publicKey: key.publicKey, signature: [UInt8](repeating: 7, count: 64)).encode()]
        }
        defer { fake.stop() }
        let client = EddsaHelperClient(socketPath: fake.socketPath, transport: transport)
        do {
            _ = try client.sign(purposeBytes: Self.purpose, timeout: .seconds(10))
            Issue.record("a forged signature was returned as a result")
        } catch {
            #expect(error.code == .untrustedHelper)
        }
    }

    /// An RSA "signature" that is not s^e = m under the announced key: refused always.
    @Test(arguments: [HelperTransport.datagram, .stream])
    func aWrongRsaSignatureIsRefused(transport: HelperTransport) throws {
        // Any well-formed public key will do: the fake cannot sign under it.
        var modulus = [UInt8](repeating: 0, count: 128).map { _ in UInt8.random(in: 0...255) }
        modulus[0] |= 0x80
        modulus[127] |= 1
        let publicKey = RsaPublicKey(modulus: modulus, exponent: [1, 0, 1])
        let section = "coin_fake"
        let anchor = Timestamp(microseconds: Clock.wallMicroseconds() / 1_000_000 * 1_000_000)
        let duration = RelativeTime(microseconds: 3600 * 1_000_000)
        let signed = SignaturePurpose.denominationKeyAnnouncement(
            purpose: SignaturePurpose.smRsaDenominationKey, denominationHash: publicKey.hash,
            sectionNameHash: SHA512.hash(Array(section.utf8) + [0]), anchor: anchor, duration: duration)
        let avail = RsaKeyAvailable(anchor: anchor, durationWithdraw: duration, securityModulePublicKey: Self.module.publicKey,
                                    securityModuleSignature: Self.module.sign(signed), publicKey: publicKey.encoded(), section: section)
        let fake = try FakeHelper(transport: transport, dump: [avail.encode(), MessageHeader.bare(type: RsaMessageType.synced)]) { request in
            let h = MessageHeader.peek(request)
            if h?.type == RsaMessageType.batchSign {
                return (0..<Int(request[7])).map { _ in RsaSignature.encode((0..<127).map { _ in UInt8.random(in: 0...255) }) }
            }
            return [RsaSignature.encode((0..<127).map { _ in UInt8.random(in: 0...255) })]
        }
        defer { fake.stop() }
        let client = RsaHelperClient(socketPath: fake.socketPath, transport: transport)
        let blinded = [UInt8](repeating: 5, count: 100)
        do {
            _ = try client.sign(hash: publicKey.hash, blindedMessage: blinded, timeout: .seconds(10))
            Issue.record("a wrong RSA signature was returned as a result")
        } catch {
            #expect(error.code == .untrustedHelper)
        }
        let batch = try client.batchSign([RsaSignRequestItem(hash: publicKey.hash, blindedMessage: blinded),
                                          RsaSignRequestItem(hash: publicKey.hash, blindedMessage: blinded)], timeout: .seconds(10))
        #expect(batch.count == 2)
        for result in batch {
            if case let .failure(error) = result { #expect(error.code == .untrustedHelper) } else {
                Issue.record("a wrong RSA signature in a batch was returned as a result")
            }
        }
    }

    /// The socket file belongs to another uid than the one answering on it (the impostor
    /// who swapped a socket in): every message is refused, on both transports.
    @Test(.enabled(if: TestUsers.canCreate, "needs root to give the socket file to another user"),
          arguments: [HelperTransport.datagram, .stream])
    func answersFromAnotherUidThanTheSocketOwnerAreRefused(transport: HelperTransport) throws {
        let key = Self.newKey()
        let fake = try FakeHelper(transport: transport, dump: Self.eddsaDump(announcing: key),
                                  socketOwner: try TestUsers.helper.uid) { request in
            [EddsaSignature(publicKey: key.publicKey, signature: key.sign(Array(request[8...]))).encode()]
        }
        defer { fake.stop() }
        let client = EddsaHelperClient(socketPath: fake.socketPath, transport: transport)
        do {
            _ = try client.sign(purposeBytes: Self.purpose, timeout: .seconds(10))
            Issue.record("a reply from uid \(geteuid()) was accepted for a socket owned by another uid")
        } catch {
            #expect(error.code == .untrustedHelper)
        }
    }

    /// A module key given up front (as `[exchange-offline] SECM_ESIGN_PUBKEY`): a helper
    /// that announces another one is refused.
    @Test func aConfiguredModuleKeyRefusesAnotherOne() throws {
        let key = Self.newKey()
        let fake = try FakeHelper(transport: .datagram, dump: Self.eddsaDump(announcing: key)) { _ in [] }
        defer { fake.stop() }
        let client = EddsaHelperClient(socketPath: fake.socketPath, pinnedSecurityModuleKey: Self.newKey().publicKey)
        do {
            try client.connect(timeout: .seconds(10))
            Issue.record("a helper with another module key was accepted")
        } catch {
            #expect(error.code == .untrustedHelper)
        }
    }
}
