import Foundation
import SecmodBase
import SecmodClient
import SecmodKeys
import SecmodSystem
import SecmodWire
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 6, point 3: persistent per-key signature counts that never undercount.
@Suite struct AuditCounterTests {
    /// `secmod audit --json`, decoded.
    private func audit(_ helper: HelperProcess, _ extra: [String] = []) throws -> [[String: Any]] {
        let run = GnunetReferee.run(HelperProcess.binary("secmod"), ["audit", "-c", helper.configPath, "--json"] + extra)
        #expect(run.status == 0, "\(run.output)")
        let parsed = try JSONSerialization.jsonObject(with: Data(run.output.utf8))
        return try #require(parsed as? [[String: Any]], "\(run.output)")
    }

    private func row(_ rows: [[String: Any]], key: [UInt8]) -> [String: Any]? {
        rows.first { $0["key"] as? String == CrockfordBase32.encode(key) }
    }

    @Test func eddsaCountIsExactAfterACleanStop() throws {
        let helper = try HelperProcess(config: "AUDIT_BLOCK = 64")
        try helper.start()
        let client = try helper.client()
        var used: [UInt8] = []
        for i in 0..<300 {
            used = try client.sign(purpose: 0, body: [UInt8(i & 0xff)]).publicKey
        }
        // While it runs: the reservation, never less than what was signed, at most a block more.
        let running = try #require(row(try audit(helper), key: used))
        let reserved = try #require(running["signatures"] as? Int)
        #expect(reserved >= 300 && reserved <= 300 + 64, "\(running)")
        #expect(running["state"] as? String == "signing")
        #expect(running["section"] as? String == "taler-exchange-secmod-eddsa")

        client.disconnect()
        #expect(helper.stop() == 0)
        let stopped = try #require(row(try audit(helper, ["--helper", "eddsa"]), key: used))
        #expect(stopped["signatures"] as? Int == 300, "\(stopped)")
        #expect(stopped["overcount_bound"] as? Int == 0)
        #expect(stopped["state"] as? String == "closed")

        // A restart continues the count.
        try helper.start()
        let again = try helper.client()
        for _ in 0..<5 { _ = try again.sign(purpose: 0, body: [1]) }
        again.disconnect()
        #expect(helper.stop() == 0)
        #expect(row(try audit(helper), key: used)?["signatures"] as? Int == 305)
    }

    @Test func rsaCountsEverySignatureOfABatchPerKey() throws {
        let helper = try HelperProcess(.rsa(denominations: [("coin_a", "1 minute", 1024), ("coin_b", "1 minute", 1024)]),
                                       config: "AUDIT_BLOCK = 8")
        try helper.start()
        let client = try helper.rsaClient()
        let now = Clock.wallMicroseconds()
        let a = try #require(client.keys.first { $0.section == "coin_a" && $0.anchor.microseconds <= now })
        let b = try #require(client.keys.first { $0.section == "coin_b" && $0.anchor.microseconds <= now })
        let message = [UInt8](repeating: 0x42, count: 64)
        let batch = (0..<25).map { i in RsaSignRequestItem(hash: i % 5 == 0 ? b.hash : a.hash, blindedMessage: message) }
        let results = try client.batchSign(batch)
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        for _ in 0..<3 { _ = try client.sign(hash: b.hash, blindedMessage: message) }
        client.disconnect()
        #expect(helper.stop() == 0)
        let rows = try audit(helper, ["--helper", "rsa"])
        #expect(row(rows, key: a.hash)?["signatures"] as? Int == 20, "\(rows)")
        #expect(row(rows, key: b.hash)?["signatures"] as? Int == 8, "\(rows)")
        #expect(row(rows, key: b.hash)?["section"] as? String == "coin_b")
    }

    /// SIGKILL at random moments while a client signs: the count on disk is never below
    /// what the client received, and above it by at most one block per kill (plus the one
    /// request in flight), as the file's overcount_bound says.
    @Test func neverUndercountsAcrossKills() throws {
        let block = 32
        let helper = try HelperProcess(config: "AUDIT_BLOCK = \(block)")
        var generator = SystemRandomNumberGenerator()
        let seed = UInt64.random(in: 0...UInt64.max, using: &generator)
        var rng = SeededGenerator(seed: seed)
        var delivered = 0, kills = 0
        let path = helper.socketPath
        for iteration in 0..<8 {
            try helper.start()
            let signed = Locked(0)
            // Signs one request at a time until the helper dies, so at most one signature
            // per kill was made but never delivered.
            let signer = try OSThread.start(name: "signer") {
                let client = EddsaHelperClient(socketPath: path)
                guard (try? client.connect(timeout: .seconds(5))) != nil else { return }
                while (try? client.sign(purpose: 0, body: [7], timeout: .seconds(0.5))) != nil { signed.withLock { $0 += 1 } }
                client.disconnect()
            }
            usleep(useconds_t(Int.random(in: 20_000...250_000, using: &rng)))
            kill(helper.pid, SIGKILL)
            helper.stop()
            signer.join()
            kills += 1
            delivered += signed.withLock { $0 }
            let records = try AuditDirectory(path: helper.auditDirectory).readAll()
            #expect(records.problems.isEmpty)
            guard let record = records.records.first else {
                #expect(delivered == 0, "seed \(seed) iteration \(iteration): signatures but no counter file")
                continue
            }
            #expect(records.records.count == 1)
            let count = Int(record.signatures), bound = Int(record.overcountBound)
            #expect(count >= delivered, "seed \(seed) kill \(iteration): count \(count) < \(delivered) signatures received")
            #expect(count - bound <= delivered + kills, "seed \(seed) kill \(iteration): overcount_bound \(bound) too small for \(count) vs \(delivered)")
            #expect(bound <= kills * (block + 1), "seed \(seed): bound \(bound) after \(kills) kills")
        }
        #expect(delivered > 0, "no signature was made: the kills proved nothing")
        // A clean stop keeps the bound and makes the record closed.
        try helper.start()
        #expect(helper.stop() == 0)
        let final = try #require(try AuditDirectory(path: helper.auditDirectory).readAll().records.first)
        #expect(final.state == .closed)
        #expect(Int(final.signatures) >= delivered && Int(final.signatures) - Int(final.overcountBound) <= delivered + kills)
    }

    /// A counter file that does not parse is evidence: the helper keeps it and refuses to
    /// sign with that key instead of counting from zero.
    @Test func anUnreadableCounterStopsThatKeyNotTheHelper() throws {
        let helper = try HelperProcess()
        try helper.start()
        let client = try helper.client()
        let key = try client.sign(purpose: 0, body: [1]).publicKey
        client.disconnect()
        #expect(helper.stop() == 0)
        let file = helper.auditDirectory + "/" + AuditRecord.fileName(key: CrockfordBase32.encode(key))
        chmod(file, 0o600)
        try "garbage".write(toFile: file, atomically: false, encoding: .utf8)

        try helper.start()
        let again = try helper.client()
        do {
            _ = try again.sign(purpose: 0, body: [2])
            Issue.record("signed with a key whose audit counter is unreadable")
        } catch {
            #expect(error.talerCode == TalerErrorCode.signkeyHelperUnavailable.rawValue, "\(error)")
        }
        #expect(helper.log.contains("audit counter for key \(CrockfordBase32.encode(key)) is unreadable"))
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "garbage")
        #expect(helper.isRunning)
    }

    /// A counter that cannot be written (here: its directory made read-only under a helper
    /// that is not root) refuses signatures until it can be written again.
    @Test(.enabled(if: TestUsers.canCreate, "needs a non-root helper: root ignores directory modes"))
    func anUnwritableCounterRefusesSignaturesUntilFixed() throws {
        let helper = try HelperProcess(config: "AUDIT_BLOCK = 4")
        try helper.start(as: TestUsers.helper)
        let client = try helper.client()
        _ = try client.sign(purpose: 0, body: [1])  // creates the counter, reserving 5
        #expect(chmod(helper.auditDirectory, 0o500) == 0)
        var refused: SecmodError?
        for _ in 0..<6 {
            do { _ = try client.sign(purpose: 0, body: [1]) } catch { refused = error; break }
        }
        #expect(refused?.talerCode == TalerErrorCode.signkeyHelperUnavailable.rawValue, "\(String(describing: refused))")
        #expect(helper.waitForLog("refusing to sign with it until the audit counter can be written"))
        #expect(chmod(helper.auditDirectory, 0o700) == 0)
        _ = try client.sign(purpose: 0, body: [1])
        client.disconnect()
        #expect(helper.stop() == 0)
        let record = try #require(try AuditDirectory(path: helper.auditDirectory).readAll().records.first)
        #expect(record.signatures == 6 && record.state == .closed, "\(record)")
    }
}
