import Foundation
import SecmodBase
import SecmodClient
import SecmodCrypto
import SecmodKeys
import SecmodSystem
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 6, point 4: crash safety. The helper is killed with SIGKILL at random moments while
/// a client signs, keys are created on schedule (short durations: a new key every second)
/// and revoked keys are replaced; sometimes it is killed again while it restarts. After each
/// restart the key store and what the helper announces are checked against everything a
/// client saw before the kills.
///
/// Set SECMOD_CRASH_SEED to replay a run: every failure message names the seed and the kill.
@Suite struct CrashLoopTests {
    static let seed: UInt64 = ProcessInfo.processInfo.environment["SECMOD_CRASH_SEED"].flatMap { UInt64($0) }
        ?? UInt64.random(in: 0...UInt64.max)

    @Test func eddsaHelperSurvivesSigkillWhileSigningCreatingAndRevoking() throws {
        // DURATION 2 s, OVERLAP 1 s: a key every second, 62 of them for a minute's lookahead.
        let helper = try HelperProcess(.eddsa, duration: "2 s", overlap: "1 s", lookahead: "1 minute")
        let loop = CrashLoop(helper: helper, seed: Self.seed, durations: ["": 2_000_000], revokeOdds: 2)
        try loop.run(iterations: 20, budget: 30)
    }

    @Test func rsaHelperSurvivesSigkillWhileSigningCreatingAndRevoking() throws {
        // Three denominations, one of them 2048 bits (about half a second per key on CI), so
        // that the maintenance thread is generating most of the time.
        let denominations = [(section: "coin_a", duration: "2 s", bits: 1024), (section: "coin_b", duration: "3 s", bits: 1024),
                             (section: "coin_c", duration: "4 s", bits: 2048)]
        let helper = try HelperProcess(.rsa(denominations: denominations), overlap: "1 s", lookahead: "10 s")
        let loop = CrashLoop(helper: helper, seed: Self.seed &+ 1,
                             durations: ["coin_a": 2_000_000, "coin_b": 3_000_000, "coin_c": 4_000_000], revokeOdds: 4)
        try loop.run(iterations: 20, budget: 30)
    }

    @Test func csHelperSurvivesSigkillWhileSigningCreatingAndRevoking() throws {
        let denominations = [(section: "coin_a", duration: "2 s"), (section: "coin_b", duration: "3 s")]
        let helper = try HelperProcess(.cs(denominations: denominations), overlap: "1 s", lookahead: "10 s", keyStore: .file)
        let loop = CrashLoop(helper: helper, seed: Self.seed &+ 2, durations: ["coin_a": 2_000_000, "coin_b": 3_000_000], revokeOdds: 3)
        try loop.run(iterations: 20, budget: 30)
    }
}

/// One crash loop: the helper, what a client has seen of it, and what the kills left.
final class CrashLoop {
    let helper: HelperProcess
    let seed: UInt64
    let family: HelperFamily
    /// Key lifetime per section ("" for EdDSA), µs.
    let durations: [String: UInt64]
    /// A revocation on about one in `revokeOdds` turns of the 15 ms client loop.
    let revokeOdds: UInt64
    private var rng: SeededGenerator
    private let files: KeyFileReader

    private struct Seen {
        let key: SeenKey
        let iteration: Int
    }

    /// Every key a client saw announced, and in which iteration first.
    private var announced: [[UInt8]: Seen] = [:]
    /// Keys a client saw purged (revoked or expired), by iteration.
    private var purged: [[UInt8]: Int] = [:]
    /// Keys the client sent a REVOKE for, by iteration.
    private var revokeSent: [[UInt8]: Int] = [:]
    /// Temporary files found right after a kill: the restart's scan must remove them.
    private var temporaryFilesLeftByKills: [String: String] = [:]
    private var liveEvents: [SeenEvent] = []
    private var moduleFile = Data()
    private var modulePublicKey: [UInt8] = []
    private var iteration = 0

    struct Stats {
        var kills = 0, killsDuringStart = 0, temporaryFilesAfterKills = 0, revocationsSent = 0, revocationsSeenPurged = 0
        var signatures = 0, restarts = 0, keysRequiredAfterRestarts = 0, filesChecked = 0
        var secondsStarting = 0.0, secondsVerifying = 0.0
    }

    private(set) var stats = Stats()

    init(helper: HelperProcess, seed: UInt64, durations: [String: UInt64], revokeOdds: UInt64) {
        self.helper = helper
        self.seed = seed
        family = HelperFamily(helper.kind)
        self.durations = durations
        self.revokeOdds = revokeOdds
        rng = SeededGenerator(seed: seed)
        files = KeyFileReader(family: family)
    }

    static let minimumKills = 5

    func run(iterations: Int, budget: Double) throws {
        let started = Date()
        let name = switch family { case .eddsa: "EdDSA"; case .rsa: "RSA"; case .cs: "CS" }
        try helper.start()
        moduleFile = try Data(contentsOf: URL(fileURLWithPath: helper.securityModuleKeyPath))
        modulePublicKey = try SecurityModuleKey.load(path: helper.securityModuleKeyPath, token: nil).publicKey
        guard var client = verifyRestart(label: "\(name) seed \(seed), first start") else { return }
        // The budget ends the loop only after the kills the test needs: under a sanitizer on a
        // busy machine one RSA iteration can take 20 s, and the loop must still do its job.
        while iteration < iterations
            && (Date().timeIntervalSince(started) < budget || (iteration < Self.minimumKills && Date().timeIntervalSince(started) < 6 * budget)) {
            iteration += 1
            let delay = Int.random(in: 10...400, using: &rng)
            var label = "\(name) seed \(seed), kill #\(iteration) (SIGKILL \(delay) ms into signing and revoking)"
            workThenKill(client, milliseconds: delay, label: label)
            inspectAfterKill(label: label)
            // Not with keys in SoftHSM: its token files are not crash-safe, and a kill while
            // the helper opens the token can leave it unlabelled (CI once: "no token labelled
            // 'secmod-test' (present: '')"), which is SoftHSM's loss, not the helper's.
            if Int.random(in: 0..<4, using: &rng) == 0, helper.token == nil {
                // Again, while it loads its keys and makes the ones that came due meanwhile.
                let early = Int.random(in: 0...150, using: &rng)
                label += ", then SIGKILL \(early) ms into the restart"
                do { try helper.start(waitForKeys: false) } catch {
                    Issue.record("\(label): the helper could not be started: \(error)")
                    return
                }
                usleep(UInt32(early) * 1000)
                let status = killHelper()
                #expect(status == 128 + SIGKILL, "\(label): the helper had exited before the kill (status \(status)): \(helper.log.suffix(2000))")
                stats.killsDuringStart += 1
                inspectAfterKill(label: label)
            }
            let restartedAt = Date()
            do { try helper.start() } catch {
                Issue.record("\(label): the helper did not come back after the kill: \(error)")
                return
            }
            stats.secondsStarting += Date().timeIntervalSince(restartedAt)
            let verifiedAt = Date()
            guard let next = verifyRestart(label: label) else { return }
            stats.secondsVerifying += Date().timeIntervalSince(verifiedAt)
            client = next
        }
        client.disconnect()
        #expect(helper.stop() == 0, "\(name) seed \(seed): the helper did not stop cleanly after the loop")
        let s = stats
        print("CrashLoop \(name) seed \(seed): \(s.kills) kills (\(s.killsDuringStart) during a restart) in \(Int(Date().timeIntervalSince(started))) s; "
            + "\(s.temporaryFilesAfterKills) temporary files left by kills; \(s.revocationsSent) revocations sent, \(s.revocationsSeenPurged) seen purged; "
            + "\(s.signatures) signatures during the workload; \(s.keysRequiredAfterRestarts) key checks after restarts; \(s.filesChecked) files checked; "
            + "\(String(format: "%.1f", s.secondsStarting)) s restarting, \(String(format: "%.1f", s.secondsVerifying)) s checking")
        // The loop must have done its job: enough kills, with real work under way.
        #expect(s.kills >= Self.minimumKills, "\(name) seed \(seed): only \(s.kills) kills within the time budget")
        #expect(s.revocationsSeenPurged > 0, "\(name) seed \(seed): no revocation completed during the loop")
        #expect(s.signatures > 0, "\(name) seed \(seed): no signature during the loop")
    }

    private func record(_ event: SeenEvent) {
        switch event {
        case let .available(k):
            if announced[k.id] == nil { announced[k.id] = Seen(key: k, iteration: iteration) }
        case let .purged(id):
            if purged[id] == nil {
                purged[id] = iteration
                if revokeSent[id] != nil { stats.revocationsSeenPurged += 1 }
            }
        }
    }

    /// SIGKILL, then reap: returns the status as the fixture reports it (128 + signal).
    private func killHelper() -> Int32 {
        let pid = helper.pid
        if pid > 0 { kill(pid, SIGKILL) }
        stats.kills += 1
        return helper.stop()
    }

    /// A signer on its own thread and revocations from this one, until the kill.
    private func workThenKill(_ client: AnyHelperClient, milliseconds: Int, label: String) {
        let stop = Locked(false), signed = Locked(0)
        let path = helper.socketPath, family = self.family
        let signer = try? OSThread.start(name: "crash-signer") {
            // Short timeouts: after the kill, a request waits for a reply that never comes.
            let c = AnyHelperClient(family: family, socketPath: path)
            while !stop.withLock({ $0 }) {
                do {
                    if c.keys.isEmpty { try c.connect(timeout: .seconds(0.5)) }
                    try c.signOnce(timeout: .seconds(0.3))
                    signed.withLock { $0 += 1 }
                } catch {
                    usleep(2_000)  // a refusal (a revoked key) or the kill; go on until told
                }
            }
            c.disconnect()
        }
        let killAt = Date().addingTimeInterval(Double(milliseconds) / 1000)
        while true {
            let left = killAt.timeIntervalSinceNow
            if left <= 0 { break }
            if UInt64.random(in: 0..<revokeOdds, using: &rng) == 0 {
                let candidates = client.keys.filter { revokeSent[$0.id] == nil }
                if let victim = candidates.randomElement(using: &rng) {
                    revokeSent[victim.id] = iteration
                    stats.revocationsSent += 1
                    try? client.revoke(victim.id)
                }
            }
            try? client.waitForEvents(for: .seconds(min(left, 0.015)))
        }
        let status = killHelper()
        #expect(status == 128 + SIGKILL, "\(label): the helper was not killed by SIGKILL (status \(status))")
        stop.withLock { $0 = true }
        signer?.join()
        stats.signatures += signed.withLock { $0 }
        try? client.poll()  // what the helper sent before it died
        client.disconnect()
    }

    /// Right after a kill, before any restart: every key file is complete (the writes are
    /// atomic); temporary files of interrupted writes are noted for the restart to remove.
    private func inspectAfterKill(label: String) {
        for entry in files.list(helper.keyDirectory) {
            if entry.isTemporary {
                stats.temporaryFilesAfterKills += 1
                temporaryFilesLeftByKills[entry.path] = label
                continue
            }
            if case let .bad(why) = files.parse(entry) {
                Issue.record("\(label): key file \(entry.label) is partial or corrupt right after the kill: \(why)")
            }
        }
    }

    /// After a (re)start: the module key, what is announced, what is on disk, and signing.
    /// Returns the client that watches the next iteration, or nil if it cannot connect.
    private func verifyRestart(label: String) -> AnyHelperClient? {
        stats.restarts += 1
        let moduleNow = try? Data(contentsOf: URL(fileURLWithPath: helper.securityModuleKeyPath))
        #expect(moduleNow == moduleFile, "\(label): the SM_PRIV_KEY file changed across the restart")
        for (path, by) in temporaryFilesLeftByKills.sorted(by: { $0.key < $1.key }) {
            #expect(!FileManager.default.fileExists(atPath: path), "\(label): temporary file \(path), left by \(by), survived the restart's scan")
        }
        temporaryFilesLeftByKills.removeAll()

        let client = AnyHelperClient(family: family, socketPath: helper.socketPath)
        do { try client.connect(timeout: .seconds(20)) } catch {
            Issue.record("\(label): no client could connect after the restart: \(error)\n\(helper.log.suffix(3000))")
            return nil
        }
        let dumpTime = wallMicroseconds()
        liveEvents.removeAll()
        client.onEvent = { [unowned self] in liveEvents.append($0) }
        let dump = client.keys
        let dumpIDs = Set(dump.map(\.id))
        #expect(!dump.isEmpty, "\(label): the restarted helper announces no key")

        for k in dump where k.moduleKey != modulePublicKey {
            Issue.record("\(label): key \(k.label) is announced under module key \(hexString(k.moduleKey)), not \(hexString(modulePublicKey))")
        }
        // Revoked (or expired) keys that a client saw purged stay gone.
        for k in dump {
            guard let when = purged[k.id] else { continue }
            if let sent = revokeSent[k.id] {
                Issue.record("\(label): key \(k.label) [\(k.shortID)] was revoked (REVOKE sent in iteration \(sent), PURGE seen in iteration \(when)) and is announced again after the restart")
            } else {
                Issue.record("\(label): key \(k.label) [\(k.shortID)] was purged in iteration \(when) (expired) and is announced again after the restart")
            }
        }
        // No key a client saw is lost, unless it was revoked or has expired since.
        for (id, seen) in announced.sorted(by: { $0.value.key.label < $1.value.key.label })
        where purged[id] == nil && revokeSent[id] == nil && seen.key.expiresAt > dumpTime + 300_000 {
            stats.keysRequiredAfterRestarts += 1
            if !dumpIDs.contains(id) {
                Issue.record("\(label): key \(seen.key.label) [\(seen.key.shortID)], announced in iteration \(seen.iteration), neither revoked nor expired (it expires in \((seen.key.expiresAt - dumpTime) / 1000) ms), is not announced after the restart")
            }
        }
        // A revocation the kill interrupted keeps the key's place in the chain: the old key
        // (the REVOKE never arrived) or its successor holds the anchor. The helper records a
        // revocation in the key's audit record before acting on it, so a revoked key whose
        // successor was not yet written is not served after the restart; the successor then
        // follows within moments.
        for (id, sent) in revokeSent.sorted(by: { $0.value < $1.value }) where purged[id] == nil {
            guard let seen = announced[id], seen.key.expiresAt > dumpTime + 300_000 else { continue }
            func covered() -> Bool {
                dump.contains { $0.section == seen.key.section && $0.anchorSeconds == seen.key.anchorSeconds }
                    || liveEvents.contains { event in
                        if case let .available(k) = event { return k.section == seen.key.section && k.anchorSeconds == seen.key.anchorSeconds }
                        return false
                    }
            }
            // Unless the slot's time runs out first: a successor is made for the rest of the
            // key's validity, and none is owed once it is over (a 2048-bit key takes seconds
            // to generate on a loaded machine, longer than a 4 s key's remaining life).
            func expired() -> Bool { wallMicroseconds() >= seen.key.expiresAt }
            let deadline = wallMicroseconds() + 15_000_000
            while !covered(), !expired(), wallMicroseconds() < deadline { try? client.waitForEvents(for: .seconds(0.2)) }
            if !covered(), !expired() {
                Issue.record("\(label): key \(seen.key.label) [\(seen.key.shortID)], whose revocation (sent in iteration \(sent)) had not completed, is gone and no successor holds its anchor")
            }
        }
        compareFilesWithAnnouncements(client, dump: dump, label: label)
        compareTokenWithReferences(label: label)
        do { try client.signOnce(timeout: .seconds(10)) } catch {
            Issue.record("\(label): signing after the restart failed: \(error)")
        }
        for k in dump { record(.available(k)) }
        for e in liveEvents { record(e) }
        liveEvents.removeAll()
        client.onEvent = { [unowned self] in record($0) }
        return client
    }

    /// Every file in KEY_DIR is a complete key that the helper announces (or an expired one
    /// waiting for deletion), with mode 0400; every announced key has its file.
    private func compareFilesWithAnnouncements(_ client: AnyHelperClient, dump: [SeenKey], label: String) {
        try? client.waitForEvents(for: .seconds(0.2))
        var announcedNow = Set(dump.map(\.id)), purgedNow = Set<[UInt8]>()
        func absorb() {
            for e in liveEvents {
                switch e {
                case let .available(k): announcedNow.insert(k.id)
                case let .purged(id): purgedNow.insert(id)
                }
            }
        }
        absorb()
        var fileOf: [[UInt8]: KeyFileEntry] = [:]
        var unexplained: [(KeyFileEntry, [UInt8])] = []
        for entry in files.list(helper.keyDirectory) {
            stats.filesChecked += 1
            if entry.isTemporary {
                // Only a write in progress right now may have one, and not for long.
                usleep(300_000)
                if FileManager.default.fileExists(atPath: entry.path) {
                    Issue.record("\(label): temporary file \(entry.label) stays in KEY_DIR after the restart")
                }
                continue
            }
            guard entry.anchorSeconds != nil, !family.sectioned || !entry.section.isEmpty else {
                Issue.record("\(label): unexpected entry \(entry.label) in KEY_DIR after the restart")
                continue
            }
            if entry.mode & 0o7777 != 0o400 {
                Issue.record("\(label): key file \(entry.label) has mode \(String(entry.mode & 0o7777, radix: 8)), not 0400")
            }
            switch files.parse(entry) {
            case .vanished: continue
            case let .bad(why): Issue.record("\(label): key file \(entry.label) is partial or corrupt after the restart: \(why)")
            case let .key(id):
                fileOf[id] = entry
                if !announcedNow.contains(id) { unexplained.append((entry, id)) }
            }
        }
        if !unexplained.isEmpty {
            // A key written just now is announced a moment later.
            try? client.waitForEvents(for: .seconds(1.5))
            absorb()
        }
        let now = wallMicroseconds()
        // A revoked key's file stays until its successor replaces it; it is not served.
        for (entry, id) in unexplained where !announcedNow.contains(id) && !purgedNow.contains(id) && revokeSent[id] == nil {
            let expiry = (entry.anchorSeconds ?? 0) * 1_000_000 + (durations[entry.section] ?? 0)
            if expiry <= now + 500_000 { continue }  // expired: its deletion is queued
            Issue.record("\(label): key file \(entry.label) holds a key [\(hexString(Array(id.prefix(6))))] that the restarted helper does not announce")
        }
        for k in dump where !purgedNow.contains(k.id) && k.expiresAt > now + 500_000 {
            guard let entry = fileOf[k.id] else {
                Issue.record("\(label): announced key \(k.label) [\(k.shortID)] has no key file holding it")
                continue
            }
            if entry.anchorSeconds != k.anchorSeconds || entry.section != k.section {
                Issue.record("\(label): key \(k.label) is stored as \(entry.label)")
            }
        }
    }

    /// With the keys in a token: after the restart, every reference names an object in the
    /// token and every object of the helper's has a reference (read with pkcs11-tool). A key
    /// being made, or an expired one being deleted, may be seen half-way: it must settle
    /// within a few seconds.
    private func compareTokenWithReferences(label: String) {
        guard let token = helper.token else { return }
        var problems: [String] = []
        let deadline = Date().addingTimeInterval(5)
        repeat {
            problems.removeAll()
            var referenced: [String: String] = [:]
            for entry in files.list(helper.keyDirectory) where !entry.isTemporary {
                guard case .key = files.parse(entry), let reference = files.references[entry.path] else { continue }
                referenced[Hex.encode(reference.id)] = entry.label
            }
            guard let objects = try? token.privateKeys() else {
                problems = ["pkcs11-tool could not list the token"]
                continue
            }
            let inToken = Set(objects.map(\.id))
            for (id, entry) in referenced where !inToken.contains(id) {
                problems.append("reference \(entry) names CKA_ID \(id), which the token does not hold")
            }
            for object in objects where referenced[object.id] == nil {
                problems.append("token object '\(object.label)' (CKA_ID \(object.id)) has no reference")
            }
            if problems.isEmpty { return }
            usleep(200_000)
        } while Date() < deadline
        for problem in problems { Issue.record("\(label): \(problem)") }
    }
}
