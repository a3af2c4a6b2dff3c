import Foundation
import SecmodClient
import SecmodCrypto
import SecmodSystem
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 6, point 4: disk faults while the helper writes a key. ENOSPC (a full tmpfs) and
/// EACCES (a key directory made read-only under a helper that runs as a test user) are
/// real; EIO comes from Tests/Probes/failing-io.c, an LD_PRELOAD library that fails
/// fsync/write of files in KEY_DIR while a flag file exists.
///
/// In every case: the write fails and the log names the errno; no partial or temporary file
/// is left; existing keys go on signing; once the fault is gone the key is written and
/// announced. Each test first proves that the fault really happened (the log line with the
/// errno text, or the preload's own count of injected failures).
///
/// The schedule (DURATION 30 s, OVERLAP 28 s, LOOKAHEAD 10 s) makes a key every 2 s and lets
/// none expire during a test, so that nothing frees space or changes the key set but the
/// fault and its end.
@Suite struct DiskFaultTests {
    static let duration = "30 s", overlap = "28 s", lookahead = "10 s"
    /// The helper promises a retry after 10 s; give it that and some.
    static let recoverySeconds = 16.0

    static func preloadLibrary() throws -> String {
        try Probes.binary("failing-io", flags: "-shared -fPIC -ldl", suffix: ".so").get()
    }

    /// Where the injected fault is switched (the flag file: EIO while it exists) and counted.
    struct InjectedFault {
        let flag: String
        let count: String
    }

    /// Starts the helper with failing-io.c preloaded: `ops` ("fsync", "write", "dirfsync") in
    /// KEY_DIR fail with EIO while the flag file exists, at most `limit` times if given.
    @discardableResult
    static func startWithEIO(_ helper: HelperProcess, ops: String, limit: Int? = nil, armed: Bool = false) throws -> InjectedFault {
        let fault = InjectedFault(flag: helper.root + "/fault-on", count: helper.root + "/fault-count")
        if armed { #expect(FileManager.default.createFile(atPath: fault.flag, contents: nil)) }
        var environment = [
            "LD_PRELOAD": try preloadLibrary(), "SECMOD_FAULT_ERRNO": "EIO", "SECMOD_FAULT_FLAG": fault.flag,
            "SECMOD_FAULT_DIR": helper.keyDirectory, "SECMOD_FAULT_OPS": ops, "SECMOD_FAULT_COUNT": fault.count,
        ]
        if let limit { environment["SECMOD_FAULT_LIMIT"] = String(limit) }
        try helper.start(environment: environment)
        return fault
    }

    static func rsaFixture() throws -> HelperProcess {
        try HelperProcess(.rsa(denominations: [(section: "coin_a", duration: duration, bits: 1024),
                                               (section: "coin_b", duration: duration, bits: 1024)]),
                          overlap: overlap, lookahead: lookahead)
    }

    // MARK: The faults

    @Test(.enabled(if: geteuid() == 0, "mounting a tmpfs to fill needs root"))
    func enospcOnAFullTmpfs() throws {
        let mountPoint = FileManager.default.temporaryDirectory.path + "/secmod-enospc-" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let keyDirectory = mountPoint + "/keys"
        let helper = try HelperProcess(config: "KEY_DIR = \(keyDirectory)", duration: Self.duration, overlap: Self.overlap,
                                       lookahead: Self.lookahead)
        // 16 pages: six key files of one page each, and room for the filler.
        let disk = try TinyTmpfs(at: mountPoint, bytes: 64 * 1024)
        defer {
            helper.stop()
            disk.unmount()
            try? FileManager.default.removeItem(atPath: mountPoint)
        }
        try helper.start()
        let filler = mountPoint + "/filler"
        try exercise(helper, Fault(
            name: "ENOSPC (real: a full 64 KiB tmpfs)", errnoText: "No space left on device", section: "", directory: keyDirectory,
            inject: {
                let stoppedBy = disk.fill(filler)
                #expect(stoppedBy == "No space left on device", "filling the tmpfs stopped with '\(stoppedBy)', not ENOSPC")
                #expect(disk.freeBytes == 0, "the tmpfs still has \(disk.freeBytes) bytes free")
            },
            clear: { try FileManager.default.removeItem(atPath: filler) }))
    }

    @Test(.enabled(if: TestUsers.canCreate, "needs root to create the test user that runs the helper"))
    func eaccesOnAReadOnlyKeyDirectory() throws {
        let helper = try HelperProcess(duration: Self.duration, overlap: Self.overlap, lookahead: Self.lookahead)
        try helper.start(as: TestUsers.helper)
        defer { chmod(helper.keyDirectory, 0o700); helper.stop() }
        let directory = helper.keyDirectory
        try exercise(helper, Fault(
            name: "EACCES (real: KEY_DIR chmod 0500 under a helper running as \(try TestUsers.helper.name))",
            errnoText: "Permission denied", section: "", directory: directory,
            inject: { #expect(chmod(directory, 0o500) == 0) },
            clear: { #expect(chmod(directory, 0o700) == 0) }))
    }

    @Test(.enabled(if: TestUsers.canCreate, "needs root to create the test user that runs the helper"))
    func eaccesOnAReadOnlyRsaSectionDirectory() throws {
        let helper = try Self.rsaFixture()
        try helper.start(as: TestUsers.helper)
        let directory = helper.keyDirectory + "/coin_b"
        defer { chmod(directory, 0o700); helper.stop() }
        try exercise(helper, Fault(
            name: "EACCES (real: KEY_DIR/coin_b chmod 0500 under a helper running as \(try TestUsers.helper.name))",
            errnoText: "Permission denied", section: "coin_b", directory: directory,
            inject: { #expect(chmod(directory, 0o500) == 0) },
            clear: { #expect(chmod(directory, 0o700) == 0) }))
        // The other denomination was never disturbed.
        let client = AnyHelperClient(helper)
        try client.connect(timeout: .seconds(20))
        #expect(throws: Never.self, "coin_a stopped signing") { try client.signOnce(timeout: .seconds(10), section: "coin_a") }
    }

    @Test func eioFromFsyncOfAKeyFile() throws {
        let helper = try HelperProcess(duration: Self.duration, overlap: Self.overlap, lookahead: Self.lookahead)
        let fault = try Self.startWithEIO(helper, ops: "fsync")
        defer { helper.stop() }
        try exercise(helper, Fault(
            name: "EIO (simulated: fsync of the temporary key file fails, LD_PRELOAD)", errnoText: "Input/output error", section: "",
            directory: helper.keyDirectory,
            inject: { #expect(FileManager.default.createFile(atPath: fault.flag, contents: nil)) },
            clear: { try FileManager.default.removeItem(atPath: fault.flag) }))
        let injected = (try? String(contentsOfFile: fault.count, encoding: .utf8)) ?? ""
        #expect(injected.contains("fsync \(helper.keyDirectory)/."), "the preload library never failed an fsync in KEY_DIR: '\(injected.prefix(500))'")
    }

    // MARK: Bugs these faults expose

    /// The log says "will retry in 10 s", but the schedule asks again at once: the anchor
    /// is neither served nor pending, so the next loop turn submits it again. Under a
    /// persistent fault that is a busy loop of key generation and log lines.
    @Test func failedKeyWritesAreRetriedAfterABackoffNotInABusyLoop() throws {
        let helper = try HelperProcess(duration: Self.duration, overlap: Self.overlap, lookahead: Self.lookahead)
        let fault = try Self.startWithEIO(helper, ops: "write")
        defer { helper.stop() }
        let log = LogCursor(path: helper.logPath, fromEnd: true)
        #expect(FileManager.default.createFile(atPath: fault.flag, contents: nil))
        let first = log.waitFor(seconds: 8) { $0.contains("creating key") && $0.contains("Input/output error") }
        #expect(first != nil, "the EIO fault never made a key write fail: \(helper.log.suffix(2000))")
        guard first != nil else { try? FileManager.default.removeItem(atPath: fault.flag); return }
        usleep(2_000_000)
        let attempts = log.newLines().filter { $0.contains("creating key") && $0.contains("failed") }
        try FileManager.default.removeItem(atPath: fault.flag)
        let injected = ((try? String(contentsOfFile: fault.count, encoding: .utf8)) ?? "").split(separator: "\n").count
        #expect(injected > 0, "the preload library never failed a write")
        #expect(attempts.count <= 2, """
            the helper tried the failed key write \(attempts.count) more times within 2 s (the preload failed \(injected) writes \
            in all), although it logs 'will retry in 10 s': \(first ?? "")
            """)
    }

    /// fsync of KEY_DIR fails after the rename: the file is in place, but the creation is
    /// reported failed, and every retry refuses to overwrite the file it left. The key is
    /// on disk and never announced (until a restart loads it).
    @Test func aFailedDirectorySyncDoesNotOrphanTheKeyFile() throws {
        let helper = try HelperProcess(duration: Self.duration, overlap: Self.overlap, lookahead: Self.lookahead)
        let fault = try Self.startWithEIO(helper, ops: "dirfsync")
        defer { helper.stop() }
        let client = AnyHelperClient(helper)
        try client.connect(timeout: .seconds(20))
        let events = EventRecorder(client)
        let log = LogCursor(path: helper.logPath, fromEnd: true)
        #expect(FileManager.default.createFile(atPath: fault.flag, contents: nil))
        let failure = log.waitFor(seconds: 8) { $0.contains("creating key") && $0.contains("syncing directory") && $0.contains("Input/output error") }
        try? FileManager.default.removeItem(atPath: fault.flag)  // one failed directory fsync is enough
        guard let failure, let anchor = Self.failingKey(in: failure) else {
            Issue.record("the directory fsync never failed: \(helper.log.suffix(2000))")
            return
        }
        let reader = KeyFileReader(family: .eddsa)
        // Give the promised retry its time: the anchor's key is announced, or its file is gone.
        let deadline = Date().addingTimeInterval(Self.recoverySeconds)
        var settled = false
        while !settled && Date() < deadline {
            try? client.waitForEvents(for: .seconds(0.3))
            let announced = events.announcedIDs(including: client)
            let onDisk = KeyFileReader.entries(helper.keyDirectory, section: "").first { $0.name == anchor }.map(reader.parse)
            switch onDisk {
            case nil, .vanished?: settled = true
            case let .key(id)?: settled = announced.contains(id)
            case .bad?: settled = false
            }
        }
        let refusals = log.newLines().filter { $0.contains("refusing to overwrite existing file") }.count
        #expect(settled, """
            key file \(anchor) was renamed into KEY_DIR before the directory fsync failed; \(Int(Self.recoverySeconds)) s after the fault \
            ended it is still on disk and its key is not announced (\(refusals) retries refused to overwrite it). First failure: \(failure)
            """)
    }

    /// At the first start six keys are asked for at once. If only the first write fails
    /// (a transient EIO), the five after it succeed; the failed anchor is then older than
    /// the newest one, and the retry, which only extends the chain after its newest anchor,
    /// never makes it: a hole in the key chain, during which no key may be valid.
    @Test func aKeyWriteThatFailsOnceIsRetriedEvenWhenLaterKeysExist() throws {
        let helper = try HelperProcess(duration: Self.duration, overlap: Self.overlap, lookahead: Self.lookahead)
        try Self.startWithEIO(helper, ops: "fsync", limit: 1, armed: true)
        defer { helper.stop() }
        let log = LogCursor(path: helper.logPath)
        let failure = log.waitFor(seconds: 5) { $0.contains("creating key") && $0.contains("Input/output error") }
        guard let failure, let anchor = Self.failingKey(in: failure).flatMap({ UInt64($0) }) else {
            Issue.record("the one injected EIO did not make a key write fail: \(helper.log.suffix(2000))")
            return
        }
        let client = AnyHelperClient(helper)
        try client.connect(timeout: .seconds(20))
        let events = EventRecorder(client)
        #expect(client.keys.contains { $0.anchorSeconds > anchor }, "no later key was made after the failed one; this test needs them")
        // What the hole means: until the next anchor, no key is valid (evidence, not a check:
        // it depends on how fast the helper started).
        let signedAtOnce: String
        do { try client.signOnce(timeout: .seconds(5)); signedAtOnce = "signing right after the start worked" } catch {
            signedAtOnce = "signing right after the start failed: \(error)"
        }
        let deadline = Date().addingTimeInterval(Self.recoverySeconds)
        while !events.announced.contains(where: { $0.anchorSeconds == anchor }) && Date() < deadline {
            try? client.waitForEvents(for: .seconds(0.3))
        }
        #expect(events.announced.contains { $0.anchorSeconds == anchor }, """
            key \(anchor) failed once with EIO at the first start and was never made again within \(Int(Self.recoverySeconds)) s, \
            while the keys after it were: the chain has a hole (announced: \(events.announced.map(\.anchorSeconds).sorted())); \(signedAtOnce)
            """)
    }

    /// A revocation whose successor cannot be written (KEY_DIR read-only): the helper sends
    /// the PURGE, and tries to delete the revoked key's file, which fails the same way. The
    /// retry then creates a *new* key at the anchor, which refuses to overwrite the revoked
    /// key's file, and nothing ever removes it: after a restart the revoked key is back.
    @Test(.enabled(if: TestUsers.canCreate, "needs root to create the test user that runs the helper"))
    func aRevokedKeyStaysRevokedWhenItsReplacementCannotBeWritten() throws {
        let helper = try HelperProcess(duration: Self.duration, overlap: Self.overlap, lookahead: Self.lookahead)
        let user = try TestUsers.helper
        try helper.start(as: user)
        defer { chmod(helper.keyDirectory, 0o700); helper.stop() }
        let client = AnyHelperClient(helper)
        try client.connect(timeout: .seconds(20))
        let events = EventRecorder(client)
        let keys = client.keys
        try #require(keys.count >= 3, "too few keys: \(keys.map(\.label))")
        let victim = keys[keys.count - 2]  // neither the signing key nor the newest
        let log = LogCursor(path: helper.logPath, fromEnd: true)

        #expect(chmod(helper.keyDirectory, 0o500) == 0)
        try client.revoke(victim.id)
        let failure = log.waitFor(seconds: 10) { $0.contains("replacing revoked key \(victim.anchorSeconds) (") && $0.contains(") failed") }
        #expect(failure?.contains("Permission denied") == true, "the replacement did not fail with EACCES: \(failure ?? helper.log.suffix(2000).description)")
        let purgeDeadline = Date().addingTimeInterval(5)
        while !events.purged.contains(victim.id) && Date() < purgeDeadline { try? client.waitForEvents(for: .seconds(0.2)) }
        #expect(events.purged.contains(victim.id), "no PURGE for the revoked key \(victim.label)")
        #expect(chmod(helper.keyDirectory, 0o700) == 0)

        // The promised retry: afterwards the revoked key must not be on disk any more.
        let reader = KeyFileReader(family: .eddsa)
        let path = helper.keyDirectory + "/\(victim.anchorSeconds)"
        func revokedKeyOnDisk() -> Bool {
            guard let entry = KeyFileReader.entries(helper.keyDirectory, section: "").first(where: { $0.path == path }) else { return false }
            if case let .key(id) = reader.parse(entry) { return id == victim.id }
            return false
        }
        let deadline = Date().addingTimeInterval(Self.recoverySeconds)
        while revokedKeyOnDisk() && Date() < deadline { try? client.waitForEvents(for: .seconds(0.3)) }
        #expect(!revokedKeyOnDisk(), """
            \(Int(Self.recoverySeconds)) s after KEY_DIR was writable again, \(victim.label) still holds the revoked key \
            (log since: \(log.newLines().filter { $0.contains("\(victim.anchorSeconds)") }.suffix(3)))
            """)
        client.disconnect()
        #expect(helper.stop() == 0)
        try helper.start(as: user)
        let after = AnyHelperClient(helper)
        try after.connect(timeout: .seconds(20))
        #expect(!after.keys.contains { $0.id == victim.id },
                "the revoked key \(victim.label) [\(victim.shortID)], whose PURGE clients saw, is announced again after a restart")
    }

    /// A restart while the successor still cannot be written: the revocation, recorded in
    /// the key's audit record before it was acted on, keeps the revoked key from being served
    /// from its old file; the successor follows once the directory is writable.
    @Test(.enabled(if: TestUsers.canCreate, "needs root to create the test user that runs the helper"))
    func aRevokedKeyIsNotServedAfterARestartBeforeItsSuccessorIsWritten() throws {
        let helper = try HelperProcess(duration: Self.duration, overlap: Self.overlap, lookahead: Self.lookahead)
        let user = try TestUsers.helper
        try helper.start(as: user)
        defer { chmod(helper.keyDirectory, 0o700); helper.stop() }
        let client = AnyHelperClient(helper)
        try client.connect(timeout: .seconds(20))
        let keys = client.keys
        try #require(keys.count >= 3, "too few keys: \(keys.map(\.label))")
        let victim = keys[keys.count - 2]
        let log = LogCursor(path: helper.logPath, fromEnd: true)
        #expect(chmod(helper.keyDirectory, 0o500) == 0)
        try client.revoke(victim.id)
        #expect(log.waitFor(seconds: 10) { $0.contains("replacing revoked key \(victim.anchorSeconds) (") && $0.contains(") failed") } != nil)
        client.disconnect()
        #expect(helper.stop() == 0)

        try helper.start(as: user)  // KEY_DIR still read-only: the old file is still there
        let after = AnyHelperClient(helper)
        try after.connect(timeout: .seconds(20))
        #expect(!after.keys.contains { $0.id == victim.id }, "the revoked key \(victim.label) is served again")
        #expect(helper.log.contains("its key was revoked (its audit record says so)"))
        #expect(chmod(helper.keyDirectory, 0o700) == 0)
        let events = EventRecorder(after)
        let deadline = Date().addingTimeInterval(Self.recoverySeconds)
        func successor() -> Bool {
            (after.keys + events.announced).contains { $0.anchorSeconds == victim.anchorSeconds && $0.id != victim.id }
        }
        while !successor() && Date() < deadline { try? after.waitForEvents(for: .seconds(0.3)) }
        #expect(successor(), "no successor at \(victim.label) after the directory became writable")
    }

    // MARK: The shared scenario

    struct Fault {
        let name: String
        /// strerror of the errno the helper must log.
        let errnoText: String
        /// "" for EdDSA; the denomination whose directory fails for RSA.
        let section: String
        /// The directory the fault hits.
        let directory: String
        let inject: () throws -> Void
        let clear: () throws -> Void
    }

    /// "123" or "coin_b/123" from "creating key … failed" / "replacing revoked key … failed".
    static func failingKey(in line: String) -> String? {
        for marker in ["creating key ", "replacing revoked key "] {
            guard let start = line.range(of: marker), let end = line.range(of: " failed", range: start.upperBound..<line.endIndex) else { continue }
            // "coin_b/1796507079 (2026-12-05T21:44:39Z)": the name, without the human time.
            let key = line[start.upperBound..<end.lowerBound]
            return String(key.split(separator: " ").first ?? key)
        }
        return nil
    }

    /// Injects the fault, waits for the failed write, checks signing and the directory under
    /// the fault, clears it and waits for the key to be written and announced.
    func exercise(_ helper: HelperProcess, _ fault: Fault) throws {
        let rsa: Bool = if case .rsa = helper.kind { true } else { false }
        let client = AnyHelperClient(helper)
        try client.connect(timeout: .seconds(20))
        let events = EventRecorder(client)
        let prefix = fault.section.isEmpty ? "" : fault.section + "/"
        let log = LogCursor(path: helper.logPath, fromEnd: true)
        let name = fault.name

        try fault.inject()
        let failure = log.waitFor(seconds: 8) { line in
            line.contains("creating key \(prefix)") && line.contains(" failed") && line.contains(fault.errnoText)
        }
        guard let failure, let failingKey = Self.failingKey(in: failure) else {
            Issue.record("\(name): no log line says a key write failed with '\(fault.errnoText)'; the fault did not happen or was not logged: \(helper.log.suffix(2000))")
            try? fault.clear()
            return
        }
        let anchor = failingKey.split(separator: "/").last.map(String.init) ?? failingKey
        #expect(failure.replacingOccurrences(of: "//", with: "/").contains(fault.directory + "/" + anchor),
                "\(name): the log line does not name the key file \(fault.directory)/\(anchor): \(failure)")

        // Under the fault: existing keys sign, nothing new appears, no partial file.
        try? client.poll()
        let sectionKeys = { events.announced.filter { $0.section == fault.section } }
        let baseline = sectionKeys().map(\.anchorSeconds).max() ?? 0
        for _ in 0..<5 {
            do { try client.signOnce(timeout: .seconds(10), section: rsa ? fault.section : nil) } catch {
                Issue.record("\(name): signing with an existing key failed under the fault: \(error)")
            }
            try? client.waitForEvents(for: .seconds(0.3))
        }
        #expect(!sectionKeys().contains { $0.anchorSeconds > baseline }, "\(name): a key was announced while the fault held")
        checkDirectory(helper, client: client, events: events, rsa: rsa, label: "\(name), under the fault")
        #expect(!FileManager.default.fileExists(atPath: fault.directory + "/" + anchor), "\(name): the failed key \(failingKey) has a file")

        // The fault ends: the key is written, announced and signs.
        try fault.clear()
        let deadline = Date().addingTimeInterval(Self.recoverySeconds)
        var recovered: SeenKey?
        while recovered == nil && Date() < deadline {
            try? client.waitForEvents(for: .seconds(0.2))
            recovered = sectionKeys().filter { $0.anchorSeconds > baseline }.min { $0.anchorSeconds < $1.anchorSeconds }
        }
        guard let recovered else {
            Issue.record("\(name): no new key within \(Int(Self.recoverySeconds)) s after the fault ended: \(helper.log.suffix(2000))")
            return
        }
        #expect(log.waitFor(seconds: 2) { $0.contains("key \(prefix)\(recovered.anchorSeconds) (\(CalendarTime.isoUTC(seconds: Int64(recovered.anchorSeconds)))) created") } != nil,
                "\(name): the log does not say that key \(recovered.label) was created")
        let reader = KeyFileReader(family: rsa ? .rsa : .eddsa)
        let file = KeyFileReader.entries(fault.directory, section: fault.section).first { $0.name == "\(recovered.anchorSeconds)" }
        if let file, case let .key(id) = reader.parse(file) {
            #expect(id == recovered.id, "\(name): \(file.label) does not hold the announced key")
            #expect(file.mode & 0o7777 == 0o400, "\(name): \(file.label) has mode \(String(file.mode & 0o7777, radix: 8))")
        } else {
            Issue.record("\(name): the key announced after the fault, \(recovered.label), has no complete file")
        }
        checkDirectory(helper, client: client, events: events, rsa: rsa, label: "\(name), after the fault")
        do { try client.signOnce(timeout: .seconds(10), section: rsa ? fault.section : nil) } catch {
            Issue.record("\(name): signing failed after the fault: \(error)")
        }
    }

    /// No temporary, partial or unannounced key file anywhere in KEY_DIR.
    func checkDirectory(_ helper: HelperProcess, client: AnyHelperClient, events: EventRecorder, rsa: Bool, label: String) {
        let reader = KeyFileReader(family: rsa ? .rsa : .eddsa)
        var unexplained: [(KeyFileEntry, [UInt8])] = []
        let keyDirectory = Self.configuredKeyDirectory(helper) ?? helper.keyDirectory
        for entry in reader.list(keyDirectory) {
            if entry.isTemporary {
                Issue.record("\(label): temporary file \(entry.label) left in KEY_DIR")
                continue
            }
            guard entry.anchorSeconds != nil else { continue }  // the ENOSPC filler lives next to KEY_DIR, not in it
            switch reader.parse(entry) {
            case .vanished: continue
            case let .bad(why): Issue.record("\(label): key file \(entry.label) is partial or corrupt: \(why)")
            case let .key(id): if !events.announcedIDs(including: client).contains(id) { unexplained.append((entry, id)) }
            }
        }
        if !unexplained.isEmpty { try? client.waitForEvents(for: .seconds(1)) }
        for (entry, id) in unexplained where !events.announcedIDs(including: client).contains(id) {
            Issue.record("\(label): key file \(entry.label) holds a key the helper does not announce")
        }
    }

    /// KEY_DIR when a test set it in the configuration (the ENOSPC test).
    static func configuredKeyDirectory(_ helper: HelperProcess) -> String? {
        guard let text = try? String(contentsOfFile: helper.configPath, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("KEY_DIR = ") {
            return String(line.dropFirst("KEY_DIR = ".count))
        }
        return nil
    }
}

/// Collects a client's AVAIL and PURGE events (the dump's too).
final class EventRecorder {
    private(set) var announced: [SeenKey] = []
    private(set) var purged: Set<[UInt8]> = []

    init(_ client: AnyHelperClient) {
        announced = client.keys
        client.onEvent = { event in  // strong: the client may outlive the recorder's last use

            switch event {
            case let .available(k): if !self.announced.contains(where: { $0.id == k.id }) { self.announced.append(k) }
            case let .purged(id): self.purged.insert(id)
            }
        }
    }

    /// Ids announced and not purged, and whatever the client currently holds.
    func announcedIDs(including client: AnyHelperClient) -> Set<[UInt8]> {
        Set(announced.map(\.id)).subtracting(purged).union(client.keys.map(\.id))
    }
}
