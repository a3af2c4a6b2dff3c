import Foundation
import SecmodBase
import SecmodClient
import SecmodCrypto
import SecmodKeys
import SecmodSystem
import SecmodWire
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The RSA helper as a process: denomination keys, blind signing, batches, revocation.
@Suite(.serialized) struct RsaHelperTests {
    static let coin = [(section: "coin_1", duration: "1 minute", bits: 1024)]

    /// A blinded message the key accepts: a random value below n.
    static func blindable(_ key: RsaDenominationKey) throws -> [UInt8] {
        let pub = try RsaPublicKey(encoded: key.publicKey)
        var m = randomBytes(pub.modulus.count)
        m[0] = m[0] % max(pub.modulus[0], 1)  // keeps m < n
        return m
    }

    @Test func announcementsAndModuleSignatures() throws {
        let helper = try HelperProcess(.rsa(denominations: Self.coin + [("coin_2", "2 minutes", 1024)]))
        try helper.start()
        let dump = try RawClient().handshake(socketPath: helper.socketPath, initType: 4, syncedType: 10)
        #expect(dump.last == [0, 4, 0, 10])
        let avails = try dump.dropLast().map { try RsaKeyAvailable.decode($0) }
        #expect(avails.filter { $0.section == "coin_1" }.count == 6)
        #expect(avails.filter { $0.section == "coin_2" }.count == 3)  // anchors 0, 119, 238 s
        let module = try SecurityModuleKey.load(path: helper.securityModuleKeyPath, token: nil).publicKey
        for (bytes, a) in zip(dump, avails) {
            #expect(bytes.count == 120 + a.publicKey.count + a.section.utf8.count + 1)
            #expect(a.publicKey.count == 4 + 128 + 3)  // 1024-bit n, e = 65537 (wire.md §3.4)
            let signed = SignaturePurpose.denominationKeyAnnouncement(
                purpose: 1250, denominationHash: SHA512.hash(a.publicKey),
                sectionNameHash: SHA512.hash(Array(a.section.utf8) + [0]), anchor: a.anchor, duration: a.durationWithdraw)
            #expect(Ed25519.verify(signature: a.securityModuleSignature, message: signed, publicKey: module))
        }
        #expect(try FileSystem.listDirectory(helper.keyDirectory + "/coin_1").count == 6)
        for name in try FileSystem.listDirectory(helper.keyDirectory + "/coin_1") {
            #expect(try FileSystem.status(helper.keyDirectory + "/coin_1/" + name).permissions == 0o400)
        }
        #expect(helper.stop() == 0)
    }

    @Test func signsAndRefusesWithTalerCodes() throws {
        let helper = try HelperProcess(.rsa(denominations: Self.coin))
        try helper.start()
        let client = try helper.rsaClient()
        let now = Timestamp(microseconds: Clock.wallMicroseconds())
        let current = try #require(client.keys.first { $0.anchor <= now })
        let future = try #require(client.keys.first { $0.anchor > now })
        let m = try Self.blindable(current)
        let s = try client.sign(hash: current.hash, blindedMessage: m)
        let pub = try RsaPublicKey(encoded: current.publicKey)
        #expect(pub.verifyRaw(signature: s, message: m))
        #expect(s.first != 0)  // minimal length
        // Leading zeros do not change the value.
        #expect(try client.sign(hash: current.hash, blindedMessage: [0, 0, 0] + m) == s)

        func code(_ body: () throws(SecmodError) -> Void) -> UInt32? {
            do throws(SecmodError) { try body(); return nil } catch { return error.talerCode }
        }
        #expect(code { () throws(SecmodError) in _ = try client.sign(hash: randomBytes(64), blindedMessage: m) } == 1005)
        #expect(code { () throws(SecmodError) in _ = try client.sign(hash: future.hash, blindedMessage: m) } == 1702)
        #expect(code { () throws(SecmodError) in _ = try client.sign(hash: current.hash, blindedMessage: pub.modulus) } == 60)
        #expect(code { () throws(SecmodError) in _ = try client.sign(hash: current.hash, blindedMessage: [0xff] + pub.modulus) } == 60)
        // An empty payload is malformed (26) on the datagram transport.
        let raw = try RawClient()
        _ = try raw.handshake(socketPath: helper.socketPath, initType: 4, syncedType: 10)
        try raw.send(RsaSignRequest.encode(hash: current.hash, blindedMessage: []))
        #expect(try raw.receive(seconds: 5)?.bytes == [0, 8, 0, 8, 0, 0, 0, 26])
        #expect(helper.stop() == 0)
    }

    @Test func batchesOfOneTwoAnd256() throws {
        let helper = try HelperProcess(.rsa(denominations: [("coin_1", "1 minute", 2048)]))
        try helper.start()
        let client = try helper.rsaClient()
        let now = Timestamp(microseconds: Clock.wallMicroseconds())
        let key = try #require(client.keys.first { $0.anchor <= now })
        let pub = try RsaPublicKey(encoded: key.publicKey)
        for n in [1, 2, 256] {
            let messages = try (0..<n).map { _ in try Self.blindable(key) }
            let results = try client.batchSign(messages.map { RsaSignRequestItem(hash: key.hash, blindedMessage: $0) })
            #expect(results.count == n)
            for (m, r) in zip(messages, results) {
                #expect(pub.verifyRaw(signature: try r.get(), message: m))
            }
        }
        // Mixed: each sub-request is judged on its own.
        let mixed = try client.batchSign([
            RsaSignRequestItem(hash: key.hash, blindedMessage: try Self.blindable(key)),
            RsaSignRequestItem(hash: randomBytes(64), blindedMessage: [1, 2, 3]),
            RsaSignRequestItem(hash: key.hash, blindedMessage: pub.modulus),
        ])
        #expect((try? mixed[0].get()) != nil)
        #expect(mixed[1].failureCode == 1005)
        #expect(mixed[2].failureCode == 60)
        #expect(helper.stop() == 0)
    }

    @Test func malformedBatchesBreakPartWayOrFailWhole() throws {
        let helper = try HelperProcess(.rsa(denominations: Self.coin))
        try helper.start()
        let client = try helper.rsaClient()
        let now = Timestamp(microseconds: Clock.wallMicroseconds())
        let key = try #require(client.keys.first { $0.anchor <= now })
        let raw = try RawClient()
        _ = try raw.handshake(socketPath: helper.socketPath, initType: 4, syncedType: 10)
        let good = RsaSignRequest.encode(hash: key.hash, blindedMessage: try Self.blindable(key))
        func batch(_ count: UInt32, _ body: [UInt8]) -> [UInt8] {
            var w = ByteWriter()
            w.header(type: 3)
            w.u32(count)
            w.append(body)
            return w.finish()
        }
        func replies(_ message: [UInt8]) throws -> [[UInt8]] {
            try raw.send(message)
            var out: [[UInt8]] = []
            while let r = try raw.receive(seconds: 0.5) { out.append(r.bytes) }
            return out
        }
        let failure26: [UInt8] = [0, 8, 0, 8, 0, 0, 0, 26]
        let batchFailure60: [UInt8] = [0, 8, 0, 9, 0, 0, 0, 60]
        // Whole-message faults: one SIGN_FAILURE 26.
        #expect(try replies(batch(0, good)) == [failure26])
        #expect(try replies(batch(257, good)) == [failure26])
        #expect(try replies([0, 8, 0, 3, 0, 0, 0, 1]) == [failure26])
        // Breaks part-way: what was parsed, then BATCH_FAILURE 60.
        let truncated = try replies(batch(2, good + Array(good.prefix(40))))
        #expect(truncated.count == 2 && truncated[0][3] == 7 && truncated[1] == batchFailure60)
        let tooFew = try replies(batch(3, good + good))
        #expect(tooFew.count == 3 && tooFew[2] == batchFailure60)
        let trailing = try replies(batch(1, good + [1, 2, 3]))
        #expect(trailing.count == 2 && trailing[0][3] == 7 && trailing[1] == batchFailure60)
        let tooMany = try replies(batch(1, good + good))
        #expect(tooMany.count == 2 && tooMany[1] == batchFailure60)
        // A sub-request with an empty payload gets its own 26; the walk goes on.
        let empty = RsaSignRequest.encode(hash: key.hash, blindedMessage: [])
        let withEmpty = try replies(batch(3, good + empty + good))
        #expect(withEmpty.count == 3 && withEmpty[1] == failure26 && withEmpty[0][3] == 7 && withEmpty[2][3] == 7)
        // A zero-size sub-request header (a reference-helper busy loop) breaks the walk.
        #expect(try replies(batch(2, good + [0, 0, 0, 5])).last == batchFailure60)
        #expect(helper.isRunning)
        #expect(helper.stop() == 0)
    }

    @Test func revokePurgesAndReplacesAndTheOldKeyIsUnknown() throws {
        let helper = try HelperProcess(.rsa(denominations: Self.coin))
        try helper.start()
        let client = try helper.rsaClient()
        var events: [RsaKeyEvent] = []
        client.onKeyEvent = { events.append($0) }
        let victim = client.keys[0]
        try client.revoke(hash: victim.hash)
        let deadline = Date().addingTimeInterval(20)
        while events.count < 2 && Date() < deadline { try client.waitForEvents(for: .seconds(0.2)) }
        #expect(events.first == .purged(hash: victim.hash))
        guard case let .available(successor) = events.last else { Issue.record("no AVAIL after PURGE"); return }
        #expect(successor.anchor == victim.anchor && successor.section == victim.section)
        #expect(successor.hash != victim.hash)
        do throws(SecmodError) {
            _ = try client.sign(hash: victim.hash, blindedMessage: [1, 2, 3])
            Issue.record("a revoked key signed")
        } catch {
            #expect(error.talerCode == 1005)
        }
        #expect(helper.stop() == 0)
        try helper.start()
        let after = try helper.rsaClient()
        #expect(!after.keys.contains { $0.hash == victim.hash })
        #expect(after.keys.contains { $0.hash == successor.hash })
        #expect(helper.stop() == 0)
    }

    /// wire.md §8.5 and §8.2: PURGE(old) comes right before AVAIL(successor), so a client that waits
    /// for the PURGE (as Taler's test does) already has a key to sign with; and a client that
    /// connected after the revocation never saw the key and gets no PURGE for it.
    @Test func purgeArrivesWithItsSuccessorAndOnlyWhereTheKeyWasSeen() throws {
        let helper = try HelperProcess(.rsa(denominations: [("coin_1", "1 minute", 3072)]), lookahead: "2 minutes")
        try helper.start()
        let early = try RawClient()
        let dump = try early.handshake(socketPath: helper.socketPath, initType: 4, syncedType: 10)
        let victim = try RsaKeyAvailable.decode(dump[0])
        let victimHash = SHA512.hash(victim.publicKey)
        try early.send(RsaKeyMessage.encode(type: RsaMessageType.revoke, hash: victimHash))
        #expect(helper.waitForLog("revoked by session"))  // the revocation is done; generation is not
        // Connected while the successor is being generated (RSA-3072 takes about a second).
        let late = try RawClient()
        let lateDump = try late.handshake(socketPath: helper.socketPath, initType: 4, syncedType: 10)
        #expect(!lateDump.contains(dump[0]), "the revoked key was announced to a new client")
        let purge = try #require(try early.receive(seconds: 30), "no PURGE")
        #expect(purge.bytes == RsaKeyMessage.encode(type: RsaMessageType.purge, hash: victimHash))
        let successor = try RsaKeyAvailable.decode(try #require(try early.receive(seconds: 0.2), "no AVAIL right after the PURGE").bytes)
        #expect(successor.anchor == victim.anchor)
        // The late client gets the successor, and no PURGE of a key it never saw.
        var lateMessages: [[UInt8]] = []
        while let m = try late.receive(seconds: 1) { lateMessages.append(m.bytes) }
        // (If generation was quick, the successor was already in its dump.)
        #expect(lateMessages.contains { $0 == successor.encode() } || lateDump.contains(successor.encode()))
        #expect(!lateMessages.contains { MessageHeader.peek($0)?.type == RsaMessageType.purge })
        #expect(helper.stop() == 0)
    }

    @Test func restartAnnouncesIdenticalBytes() throws {
        let helper = try HelperProcess(.rsa(denominations: Self.coin))
        try helper.start()
        let before = try RawClient().handshake(socketPath: helper.socketPath, initType: 4, syncedType: 10)
        #expect(helper.stop() == 0)
        try helper.start()
        let after = try RawClient().handshake(socketPath: helper.socketPath, initType: 4, syncedType: 10)
        #expect(before == after)
        #expect(helper.stop() == 0)
    }

    /// RSA-4096 generation runs on the maintenance thread: signing with existing keys goes
    /// on meanwhile.
    @Test func keyGenerationNeverStallsSigning() throws {
        let helper = try HelperProcess(.rsa(denominations: [("coin_small", "1 minute", 1024), ("coin_big", "1 minute", 4096)]),
                                       lookahead: "2 minutes")
        try helper.start()
        let client = try helper.rsaClient()
        let now = Timestamp(microseconds: Clock.wallMicroseconds())
        let small = try #require(client.keys.first { $0.section == "coin_small" && $0.anchor <= now })
        let revoked = client.keys.filter { $0.section == "coin_big" }
        var successors = 0
        client.onKeyEvent = { event in
            if case let .available(key) = event, key.section == "coin_big" { successors += 1 }
        }
        for big in revoked { try client.revoke(hash: big.hash) }
        // Until the first RSA-4096 successor is announced, the maintenance thread is generating:
        // signatures made meanwhile show that generation does not hold signing up.
        var signedWhileGenerating = 0, slowest = 0.0
        let deadline = Date().addingTimeInterval(120)
        while successors == 0 && Date() < deadline {
            let start = Date()
            _ = try client.sign(hash: small.hash, blindedMessage: try Self.blindable(small), timeout: .seconds(10))
            slowest = max(slowest, Date().timeIntervalSince(start))
            if successors == 0 { signedWhileGenerating += 1 }
        }
        #expect(successors > 0, "no successor of the revoked RSA-4096 keys within 120 s")
        #expect(signedWhileGenerating >= 20, "only \(signedWhileGenerating) signatures while an RSA-4096 key was generated")
        #expect(slowest < 5, "signing stalled for \(slowest) s during key generation")
        #expect(helper.log.contains("revoked"))
        #expect(helper.stop() == 0)
    }

    @Test func denominationConfigurationErrors() throws {
        let noCipher = try HelperProcess(.rsa(denominations: []), config: "")
        try "[coin_x]\nDURATION_WITHDRAW = 1 minute\nRSA_KEYSIZE = 1024\n".appendTo(noCipher.configPath)
        #expect(try noCipher.runExpectingExit() == 6)
        #expect(noCipher.log.contains("CIPHER"))
        let badSize = try HelperProcess(.rsa(denominations: [("coin_1", "1 minute", 512)]))
        #expect(try badSize.runExpectingExit() == 6)
        #expect(badSize.log.contains("RSA_KEYSIZE"))
    }
}

extension Result where Failure == SecmodError {
    var failureCode: UInt32? {
        if case let .failure(e) = self { return e.talerCode }
        return nil
    }
}

extension String {
    func appendTo(_ path: String) throws {
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        h.seekToEndOfFile()
        h.write(Data(utf8))
        try h.close()
    }
}
