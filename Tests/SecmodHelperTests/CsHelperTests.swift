import Foundation
import SecmodBase
import SecmodClient
import SecmodCrypto
import SecmodKeys
import SecmodOffline
import SecmodSystem
import SecmodWire
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The Clause-Schnorr helper as a process: announcements, R derivation and blind signing
/// checked by libgnunetutil from the key files themselves, Taler's refusal codes, both
/// SIGNATURE layouts, batches whole and broken, revocation and restart.
@Suite(.serialized) struct CsHelperTests {
    static let coin = [(section: "coin_cs", duration: "1 minute")]

    static func cs(_ arguments: [String]) throws -> String {
        let out = try GnunetReferee.check(tool: "gnunet-cs-check", arguments)
        try #require(out.status == 0, "gnunet-cs-check \(arguments.first ?? ""): \(out.output)")
        return out.output
    }

    /// The key file of `key`, as hex: what Taler's helper would read.
    static func scalar(_ helper: HelperProcess, _ key: CsDenominationKey) throws -> String {
        try scalar(helper, section: key.section, anchor: key.anchor)
    }

    static func scalar(_ helper: HelperProcess, section: String, anchor: Timestamp) throws -> String {
        let path = helper.keyDirectory + "/\(section)/\(anchor.seconds)"
        let bytes = try #require(FileManager.default.contents(atPath: path))
        #expect(bytes.count == 32)
        #expect(try FileSystem.status(path).permissions == 0o400)
        return Hex.encode(Array(bytes))
    }

    @Test func announcementsAreTalersBytesSignedByTheModule() throws {
        let helper = try HelperProcess(.cs(denominations: Self.coin + [("coin_cs2", "2 minutes")]))
        try helper.start()
        let dump = try RawClient().handshake(socketPath: helper.socketPath, initType: 3, syncedType: 15)
        #expect(dump.last == [0, 4, 0, 15])
        let module = try SecurityModuleKey.load(path: helper.securityModuleKeyPath, token: nil).publicKey
        let avails = try dump.dropLast().map { try CsKeyAvailable.decode($0) }
        #expect(avails.filter { $0.section == "coin_cs" }.count == 6)
        #expect(avails.filter { $0.section == "coin_cs2" }.count == 3)
        for (bytes, a) in zip(dump, avails) {
            #expect(bytes.count == 152 + a.section.utf8.count + 1)
            // Taler's htons() in a 32-bit field: the length big-endian, then two zeros.
            #expect(Array(bytes[4..<8]) == [0, UInt8(a.section.utf8.count + 1), 0, 0])
            let signed = SignaturePurpose.denominationKeyAnnouncement(
                purpose: 1252, denominationHash: SHA512.hash(a.publicKey),
                sectionNameHash: SHA512.hash(Array(a.section.utf8) + [0]), anchor: a.anchor, duration: a.durationWithdraw)
            #expect(Ed25519.verify(signature: a.securityModuleSignature, message: signed, publicKey: module))
            // The public key is the key file's scalar times B, as libgnunetutil computes it.
            #expect(try Self.cs(["public", try Self.scalar(helper, section: a.section, anchor: a.anchor)]) == Hex.encode(a.publicKey))
        }
        // A restart announces the same bytes.
        #expect(helper.stop() == 0)
        try helper.start()
        #expect(try RawClient().handshake(socketPath: helper.socketPath, initType: 3, syncedType: 15) == dump)
        #expect(helper.stop() == 0)
    }

    @Test(arguments: [HelperTransport.datagram, .stream])
    func derivesAndSignsAsLibgnunetutilAndAWalletVerifies(transport: HelperTransport) throws {
        let helper = try HelperProcess(.cs(denominations: Self.coin), transport: transport)
        try helper.start()
        let client = try helper.csClient()
        let now = Timestamp(microseconds: Clock.wallMicroseconds())
        let current = try #require(client.keys.first { $0.anchor <= now })
        let scalar = try Self.scalar(helper, current)
        for forMelt in [false, true] {
            let nonce = randomBytes(32), blindingSeed = randomBytes(32), message = randomBytes(64)
            let r = try client.derive(hash: current.hash, nonce: nonce, forMelt: forMelt)
            #expect(try Self.cs(["rderive", scalar, Hex.encode(nonce), forMelt ? "rm" : "rw"]) == Hex.encode(r))
            let c = try #require(Hex.decode(Substring(try Self.cs(["blind", Hex.encode(current.publicKey), Hex.encode(r),
                                                                    Hex.encode(blindingSeed), Hex.encode(message)]))))
            let (b, s) = try client.sign(CsSignItem(hash: current.hash, nonce: nonce, challenges: c, publicNonces: r, forMelt: forMelt))
            #expect(try Self.cs(["sign", scalar, Hex.encode(nonce), forMelt ? "rm" : "rw", Hex.encode(c)]) == "\(b) \(Hex.encode(s))")
            #expect(try GnunetReferee.check(tool: "gnunet-cs-check", ["verify", Hex.encode(current.publicKey), Hex.encode(r),
                                                                      Hex.encode(blindingSeed), Hex.encode(message), "\(b)", Hex.encode(s)]).status == 0)
        }
        // Taler's codes: an unknown key 1005, a key not valid yet 1702, for both requests.
        let future = try #require(client.keys.first { $0.anchor > now })
        for hash in [randomBytes(64), future.hash] {
            let code: UInt32 = hash == future.hash ? 1702 : 1005
            #expect(throws: SecmodError.self) { _ = try client.derive(hash: hash, nonce: randomBytes(32)) }
            do { _ = try client.derive(hash: hash, nonce: randomBytes(32)) } catch { #expect(error.talerCode == code) }
            let item = CsSignItem(hash: hash, nonce: randomBytes(32), challenges: randomBytes(64), publicNonces: randomBytes(64))
            do { _ = try client.sign(item); Issue.record("signed with a key it should refuse") } catch { #expect(error.talerCode == code) }
        }
        #expect(helper.stop() == 0)
    }

    @Test(arguments: [CsWireVersion.current, .v0_9])
    func signatureLayoutsByteForByte(wire: CsWireVersion) throws {
        let helper = try HelperProcess(.cs(denominations: Self.coin), config: "CS_WIRE = \(wire.rawValue)")
        try helper.start()
        let client = try helper.csClient(wire: wire)
        let now = Timestamp(microseconds: Clock.wallMicroseconds())
        let current = try #require(client.keys.first { $0.anchor <= now })
        let scalar = try Self.scalar(helper, current)
        let raw = try RawClient()
        _ = try raw.handshake(socketPath: helper.socketPath, initType: 3, syncedType: 15)
        var seen = Set<UInt32>()
        for _ in 0..<24 where seen.count < 2 {
            let nonce = randomBytes(32), c = randomBytes(64)
            try raw.send(CsRequest(forMelt: false, hash: current.hash, challenges: c, nonce: nonce).encode())
            let reply = try #require(try raw.receive(seconds: 10)).bytes
            let expected = try Self.cs(["sign", scalar, Hex.encode(nonce), "rw", Hex.encode(c)]).split(separator: " ")
            let b = try #require(UInt32(expected[0])), s = try #require(Hex.decode(expected[1]))
            seen.insert(b)
            switch wire {
            case .current: #expect(reply == [0, 40, 0, 9, 0, 0, 0, UInt8(b)] + s)
            case .v0_9: #expect(reply == [0, 44, 0, 9, 0, 0, 0, 0, UInt8(b), 0, 0, 0] + s)
            }
        }
        #expect(seen == [0, 1])
        #expect(helper.stop() == 0)
    }

    @Test func revocationPurgesThenAnnouncesASuccessorAndTheOldKeyIsUnknown() throws {
        let helper = try HelperProcess(.cs(denominations: Self.coin))
        try helper.start()
        let client = try helper.csClient()
        var events: [CsKeyEvent] = []
        client.onKeyEvent = { events.append($0) }
        let victim = client.keys[0]
        try client.revoke(hash: victim.hash)
        let deadline = Clock.monotonicMicroseconds() + 20_000_000
        while events.count < 2 && Clock.monotonicMicroseconds() < deadline { try client.waitForEvents(for: .seconds(0.2)) }
        #expect(events.first == .purged(hash: victim.hash))
        guard case let .available(successor) = events.last else { Issue.record("no AVAIL after PURGE"); return }
        #expect(successor.anchor == victim.anchor && successor.section == victim.section && successor.hash != victim.hash)
        do { _ = try client.derive(hash: victim.hash, nonce: randomBytes(32)); Issue.record("a revoked key derived") } catch {
            #expect(error.talerCode == 1005)
        }
        // The successor's file replaced the victim's, under the same anchor.
        #expect(try Self.cs(["public", try Self.scalar(helper, successor)]) == Hex.encode(successor.publicKey))
        #expect(helper.stop() == 0)
        try helper.start()
        let after = try helper.csClient()
        #expect(!after.keys.contains { $0.hash == victim.hash })
        #expect(after.keys.contains { $0.hash == successor.hash })
        #expect(helper.stop() == 0)
    }

    @Test(.enabled(if: SoftHSMToken.available, "needs softhsm2 and opensc"))
    func aTokenKeyStoreIsRefusedClearly() throws {
        let helper = try HelperProcess(.cs(denominations: Self.coin), keyStore: .softHSM(moduleKey: false))
        #expect(try helper.runExpectingExit() == 6)
        #expect(helper.log.contains("PKCS#11 has no Clause-Schnorr mechanism"))
    }

    /// The helper reads a batch's items in place and looks a key up again only where an
    /// item names another one than the item before: each item must still be answered for
    /// its own key (two denominations, an unknown hash, a key not yet valid), and each
    /// signature verify under the key its item named (the client checks every one).
    @Test func aBatchNamingSeveralKeysAnswersEachItemForItsOwn() throws {
        let helper = try HelperProcess(.cs(denominations: [(section: "coin_cs_a", duration: "1 minute"),
                                                          (section: "coin_cs_b", duration: "1 minute")]))
        try helper.start()
        let client = try helper.csClient()
        let now = Timestamp(microseconds: Clock.wallMicroseconds())
        let a = try #require(client.keys.first { $0.section == "coin_cs_a" && $0.anchor <= now })
        let b = try #require(client.keys.first { $0.section == "coin_cs_b" && $0.anchor <= now })
        let future = client.keys.first { $0.anchor > now }
        let unknown = randomBytes(64)
        // nil: an unknown key (1005); a key not yet valid: 1702.
        var named: [(hash: [UInt8], code: TalerErrorCode?)] = [(a.hash, nil), (a.hash, nil), (unknown, .denominationKeyUnknown),
                                                               (a.hash, nil), (b.hash, nil), (b.hash, nil), (unknown, .denominationKeyUnknown),
                                                               (unknown, .denominationKeyUnknown), (b.hash, nil), (a.hash, nil)]
        if let future { named += [(future.hash, .denominationHelperTooEarly), (a.hash, nil)] }
        let nonces = named.map { _ in randomBytes(32) }
        let derived = try client.batchDerive(named.indices.map { (named[$0].hash, nonces[$0], $0 % 3 == 0) })
        var items: [CsSignItem] = []
        for (i, result) in derived.enumerated() {
            if let code = named[i].code {
                #expect(throws: SecmodError.self, "item \(i)") { _ = try result.get() }
                if case let .failure(error) = result { #expect(error.talerCode == code.rawValue, "item \(i)") }
                items.append(CsSignItem(hash: named[i].hash, nonce: nonces[i], challenges: randomBytes(64), publicNonces: randomBytes(64)))
            } else {
                items.append(CsSignItem(hash: named[i].hash, nonce: nonces[i], challenges: randomBytes(64), publicNonces: try result.get(),
                                        forMelt: i % 3 == 0))
            }
        }
        #expect(client.verifiesSignatures)
        for (i, result) in try client.batchSign(items).enumerated() {
            switch (result, named[i].code) {
            case (.success, nil): break
            case let (.failure(error), code?): #expect(error.talerCode == code.rawValue, "item \(i): \(error)")
            case let (result, code): Issue.record("item \(i): \(result), expected \(String(describing: code))")
            }
        }
        #expect(helper.stop() == 0)
    }

    @Test func batchesWholeAndBrokenPartWay() throws {
        let helper = try HelperProcess(.cs(denominations: Self.coin))
        try helper.start()
        let client = try helper.csClient()
        let now = Timestamp(microseconds: Clock.wallMicroseconds())
        let current = try #require(client.keys.first { $0.anchor <= now })
        for n in [1, 2, 256, 300] {
            let nonces = (0..<n).map { _ in randomBytes(32) }
            let derived = try client.batchDerive(nonces.enumerated().map { (current.hash, $0.element, $0.offset % 2 == 1) })
            let rs = try derived.map { try $0.get() }
            let items = nonces.indices.map { i in
                CsSignItem(hash: current.hash, nonce: nonces[i], challenges: randomBytes(64), publicNonces: rs[i], forMelt: i % 2 == 1)
            }
            let signed = try client.batchSign(items)
            #expect(signed.count == n)
            #expect(signed.allSatisfy { (try? $0.get()) != nil })  // each checked by the client: s·B = R_b + c_b·X
        }
        // A wallet's batch: each item blinded by libgnunetutil, derived and signed in two
        // batches, and each signature unblinded and verified by libgnunetutil, withdraw and melt.
        let seeds = (0..<6).map { _ in (nonce: randomBytes(32), blinding: randomBytes(32), message: randomBytes(64)) }
        let rs = try client.batchDerive(seeds.enumerated().map { (current.hash, $0.element.nonce, $0.offset % 2 == 1) }).map { try $0.get() }
        var items: [CsSignItem] = []
        for (i, seed) in seeds.enumerated() {
            let c = try #require(Hex.decode(Substring(try CsHelperTests.cs(["blind", Hex.encode(current.publicKey), Hex.encode(rs[i]),
                                                                             Hex.encode(seed.blinding), Hex.encode(seed.message)]))))
            items.append(CsSignItem(hash: current.hash, nonce: seed.nonce, challenges: c, publicNonces: rs[i], forMelt: i % 2 == 1))
        }
        for (i, result) in try client.batchSign(items).enumerated() {
            let (b, s) = try result.get()
            let verify = ["verify", Hex.encode(current.publicKey), Hex.encode(rs[i]), Hex.encode(seeds[i].blinding)]
            #expect(try GnunetReferee.check(tool: "gnunet-cs-check", verify + [Hex.encode(seeds[i].message), "\(b)", Hex.encode(s)]).status == 0)
            #expect(try GnunetReferee.check(tool: "gnunet-cs-check", verify + [Hex.encode(seeds[(i + 1) % 6].message), "\(b)", Hex.encode(s)]).status == 1)
        }
        // Two good items, then a truncated third: two answers, then one failure of the batch's type.
        let raw = try RawClient()
        _ = try raw.handshake(socketPath: helper.socketPath, initType: 3, syncedType: 15)
        for sign in [true, false] {
            let good = (0..<2).map { _ in CsRequest(forMelt: false, hash: current.hash, challenges: sign ? randomBytes(64) : [], nonce: randomBytes(32)) }
            var batch = CsBatchRequest.encode(good + [good[0]], sign: sign)
            batch.removeLast(5)
            batch[0] = UInt8(batch.count >> 8)
            batch[1] = UInt8(batch.count & 0xFF)
            try raw.send(batch)
            var replies: [[UInt8]] = []
            for _ in 0..<3 { replies.append(try #require(try raw.receive(seconds: 10)).bytes) }
            let answered: UInt16 = sign ? CsMessageType.signature : CsMessageType.deriveResponse
            #expect(replies[0..<2].allSatisfy { MessageHeader.peek($0)?.type == answered })
            #expect(replies[2] == SignFailure.encode(type: sign ? CsMessageType.batchSignFailure : CsMessageType.deriveFailure,
                                                     code: .genericInternalInvariantFailure))
        }
        #expect(helper.stop() == 0)
    }
}

/// `secmod keys|sign|verify|revoke --helper cs` against the CS helper.
@Suite struct CsCLITests {
    static func json(_ run: OfflineRun) throws -> [JSONMember] {
        guard case let .object(fields) = try JSONValue.parse(run.stdout) else { throw HelperTestError("not an object: \(run.output)") }
        return fields
    }

    static func string(_ fields: [JSONMember], _ name: String) -> String? {
        if case let .string(s)? = fields.first(where: { $0.name == name })?.value { return s }
        if case let .number(s)? = fields.first(where: { $0.name == name })?.value { return s }
        return nil
    }

    @Test func keysSignVerifyAndRevokeThroughTheCLI() throws {
        let helper = try HelperProcess(.cs(denominations: CsHelperTests.coin), config: "CS_WIRE = 0.9")
        try helper.start()
        let secmod = HelperProcess.binary("secmod")
        let keys = try OfflineRun.run(secmod, ["keys", "--helper", "cs", "-c", helper.configPath])
        #expect(keys.status == 0, "\(keys.output)")
        #expect(keys.output.contains("H_CS") && keys.output.contains("coin_cs"), "\(keys.output)")
        let input = Array("Hello, Taler".utf8)
        for melt in [false, true] {
            let signed = try OfflineRun.run(secmod, ["sign", "--helper", "cs", "-c", helper.configPath, "--json"] + (melt ? ["--melt"] : []), stdin: input)
            #expect(signed.status == 0, "\(signed.output)")
            let fields = try Self.json(signed)
            let pub = try #require(Self.string(fields, "public_key")), sig = try #require(Self.string(fields, "signature"))
            let r = try #require(Self.string(fields, "r")), b = try #require(Self.string(fields, "b"))
            let verify = ["verify", "--helper", "cs", "--public-key", pub, "--signature", sig, "--r", r, "--b"]
            #expect(try OfflineRun.run(secmod, verify + [b], stdin: input).status == 0)
            #expect(try OfflineRun.run(secmod, verify + [b], stdin: Array("Hello, Tal3r".utf8)).status == 1)
            #expect(try OfflineRun.run(secmod, verify + [b == "0" ? "1" : "0"], stdin: input).status == 1)
        }
        let victim = try #require(try helper.csClient(wire: .v0_9).keys.first)
        let revoked = try OfflineRun.run(secmod, ["revoke", "--helper", "cs", "-c", helper.configPath, "--key", CrockfordBase32.encode(victim.hash)])
        #expect(revoked.status == 0, "\(revoked.output)")
        #expect(!(try helper.csClient(wire: .v0_9).keys.contains { $0.hash == victim.hash }))
        #expect(helper.stop() == 0)
    }
}

/// The hostile-client checks of the other helpers, for the CS helper: malformed requests
/// answered with code 26 on a datagram session or closing only their stream connection,
/// random bytes that never stop it, and a good client served throughout.
@Suite(.serialized) struct CsHostileInputTests {
    static func good(_ client: CsHelperClient) throws {
        let now = Timestamp(microseconds: Clock.wallMicroseconds())
        let key = try #require(client.keys.first { $0.anchor <= now })
        let nonce = randomBytes(32)
        let r = try client.derive(hash: key.hash, nonce: nonce)
        _ = try client.sign(CsSignItem(hash: key.hash, nonce: nonce, challenges: randomBytes(64), publicNonces: r))
    }

    /// Requests whose size is not their kind's, and batches whose header is impossible.
    static let malformed: [[UInt8]] = {
        func message(_ type: UInt16, _ size: Int) -> [UInt8] {
            var m = [UInt8](repeating: 0x5A, count: size)
            m[0] = UInt8(size >> 8); m[1] = UInt8(size & 0xFF); m[2] = UInt8(type >> 8); m[3] = UInt8(type & 0xFF)
            return m
        }
        var zeroBatch = message(CsMessageType.batchSign, 8)
        zeroBatch[4...] = [0, 0, 0, 0]
        var hugeBatch = message(CsMessageType.batchDerive, 8 + 104)
        hugeBatch[4..<8] = [0, 0, 1, 1]  // 257 items
        return [message(CsMessageType.sign, 167), message(CsMessageType.sign, 169), message(CsMessageType.derive, 103),
                message(CsMessageType.derive, 105), message(CsMessageType.revoke, 71), message(CsMessageType.batchSign, 8), hugeBatch]
    }()

    @Test func malformedRequestsGetCode26OnADatagramSession() throws {
        let helper = try HelperProcess(.cs(denominations: CsHelperTests.coin))
        try helper.start()
        let raw = try RawClient()
        _ = try raw.handshake(socketPath: helper.socketPath, initType: 3, syncedType: 15)
        for bad in Self.malformed {
            try raw.send(bad)
            #expect(try raw.receive(seconds: 5)?.bytes == SignFailure.encode(type: CsMessageType.signFailure, code: .genericParameterMalformed),
                    "\(bad.prefix(4))")
        }
        // Random datagrams, half with a plausible CS header (never REVOKE: real keys would go).
        for i in 0..<3000 {
            var bytes = randomBytes(Int.random(in: 0...400))
            if i % 2 == 0, bytes.count >= 4 {
                bytes[0] = UInt8(bytes.count >> 8); bytes[1] = UInt8(bytes.count & 0xFF)
                bytes[2] = 0; bytes[3] = [1, 2, 3, 4, 5, 7, 8, 9, 12, 15].randomElement()!
            }
            try raw.send(bytes)
            while try raw.receive(seconds: 0) != nil {}
        }
        #expect(helper.isRunning)
        try Self.good(try helper.csClient())
        #expect(helper.stop() == 0)
    }

    @Test func malformedRequestsCloseOnlyTheirStreamConnection() throws {
        let helper = try HelperProcess(.cs(denominations: CsHelperTests.coin), transport: .stream)
        try helper.start()
        let bystander = try helper.csClient()
        for bad in Self.malformed {
            let victim = try RawStream(path: helper.socketPath)
            _ = try victim.messages(until: MessageHeader.bare(type: CsMessageType.synced))
            try victim.write(bad)
            #expect(try victim.isClosed(), "connection survived \(bad.prefix(4))")
            try Self.good(bystander)
        }
        #expect(helper.stop() == 0)
    }
}
