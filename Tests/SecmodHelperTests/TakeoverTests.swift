import Foundation
import SecmodBase
import SecmodClient
import SecmodCrypto
import SecmodSystem
import SecmodWire
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// An operator stops Taler's C helpers and starts ours on the same files (wire.md §9.6):
/// the same keys must be announced with byte-identical AVAIL messages, and nothing the
/// helper does not understand is deleted.
@Suite(.serialized) struct TakeoverTests {
    @Test(arguments: HelperTransport.allCases)
    func eddsaKeyDirectoryWrittenByLibgnunetutil(transport: HelperTransport) throws {
        let helper = try HelperProcess(.eddsa, transport: transport)
        let keys = helper.keyDirectory
        try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
        // The module key and two signing keys, written as Taler's helper writes them.
        #expect(try GnunetReferee.check(["sm-key", helper.securityModuleKeyPath]).status == 0)
        let now = Clock.wallMicroseconds() / 1_000_000
        let anchors = [now - 10, now + 49]
        for a in anchors {
            #expect(try GnunetReferee.check(["key-file", keys + "/\(a)"]).status == 0)
        }
        try FileSystem.changeMode(keys + "/\(anchors[1])", 0o644)  // loose: refused, it may have been read
        try FileSystem.changeMode(keys, 0o750)  // as Taler's helper leaves it (umask 0027)
        // Things a helper must skip and leave alone.
        try Data(repeating: 1, count: 31).write(to: URL(fileURLWithPath: keys + "/\(now + 100)"))  // wrong size
        try Data(repeating: 1, count: 32).write(to: URL(fileURLWithPath: keys + "/not-an-anchor"))
        try FileManager.default.createSymbolicLink(atPath: keys + "/\(now + 200)", withDestinationPath: keys + "/\(anchors[0])")
        try FileManager.default.createDirectory(atPath: keys + "/\(now + 300)", withIntermediateDirectories: false)

        // A key file others could read: the operator is told, and nothing is touched until
        // then. The 0750 directory alone would be tightened by the helper itself.
        #expect(try helper.runExpectingExit() == 4)
        #expect(helper.log.contains("chmod 0400 ") && helper.log.contains("/\(anchors[1])"), "\(helper.log)")
        #expect(try FileSystem.status(keys + "/\(anchors[1])").permissions == 0o644)
        #expect(try FileSystem.status(keys).permissions == 0o750)
        try FileSystem.changeMode(keys + "/\(anchors[1])", 0o400)

        try helper.start()
        let initType: UInt16 = 14
        let dump: [[UInt8]]
        switch transport {
        case .datagram: dump = try RawClient().handshake(socketPath: helper.socketPath, initType: initType)
        case .stream: dump = try RawStream(path: helper.socketPath).messages(until: [0, 4, 0, 19])
        }
        for a in anchors {
            let expected = try GnunetReferee.check(["eddsa-avail", helper.securityModuleKeyPath, keys + "/\(a)", String(a), "60000000"])
            #expect(expected.status == 0)
            #expect(dump.contains { hexString($0) == expected.output }, "no byte-identical AVAIL for the key at \(a)")
        }
        #expect(try FileSystem.status(keys + "/\(anchors[1])").permissions == 0o400)
        #expect(try FileSystem.status(keys).permissions == 0o700)
        for leftover in ["\(now + 100)", "not-an-anchor", "\(now + 200)", "\(now + 300)"] {
            #expect(FileSystem.exists(keys + "/" + leftover), "\(leftover) was deleted")
        }
        #expect(helper.log.contains("skipping"))
        #expect(helper.stop() == 0)
    }

    /// Clause-Schnorr keys as Taler's C helper writes them (libgnunetutil's key generation,
    /// a raw 32-byte scalar, mode 0400, named by the anchor): served unchanged, with AVAILs
    /// libgnunetutil accepts.
    @Test func csKeyDirectoryWrittenByLibgnunetutil() throws {
        let helper = try HelperProcess(.cs(denominations: [("coin_cs", "1 minute")]))
        let keys = helper.keyDirectory + "/coin_cs"
        try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
        try FileSystem.changeMode(helper.keyDirectory, 0o700)
        try FileSystem.changeMode(keys, 0o700)
        #expect(try GnunetReferee.check(["sm-key", helper.securityModuleKeyPath]).status == 0)
        let now = Clock.wallMicroseconds() / 1_000_000
        var written: [UInt64: String] = [:]
        for a in [now - 10, now + 49] {
            let made = try GnunetReferee.check(tool: "gnunet-cs-check", ["create", keys + "/\(a)"])
            #expect(made.status == 0, "\(made.output)")
            written[a] = made.output
        }
        try helper.start()
        let dump = try RawClient().handshake(socketPath: helper.socketPath, initType: 3, syncedType: 15)
        let avails = try dump.dropLast().map { try CsKeyAvailable.decode($0) }
        for (anchor, publicKey) in written {
            let avail = try #require(avails.first { $0.anchor.seconds == anchor }, "no AVAIL for the key at \(anchor)")
            #expect(Hex.encode(avail.publicKey) == publicKey)
            let signed = SignaturePurpose.denominationKeyAnnouncement(
                purpose: 1252, denominationHash: SHA512.hash(avail.publicKey),
                sectionNameHash: SHA512.hash(Array("coin_cs".utf8) + [0]), anchor: avail.anchor, duration: avail.durationWithdraw)
            let referee = try GnunetReferee.check(["eddsa-verify", "1252", hexString(signed), CrockfordBase32.encode(avail.securityModulePublicKey),
                                                   CrockfordBase32.encode(avail.securityModuleSignature)])
            #expect(referee.status == 0, "\(referee.output)")
        }
        // Not rewritten: the files libgnunetutil wrote, still 0400.
        for anchor in written.keys { #expect(try FileSystem.status(keys + "/\(anchor)").permissions == 0o400) }
        #expect(helper.stop() == 0)
    }

    /// `secmod takeover` runs the helpers' own inspection ahead of the first start: it names
    /// every problem, says what the helper will tighten itself, changes nothing, and exits 4;
    /// once the problems are fixed it exits 0 and the helper starts.
    @Test func takeoverCheckRunsAheadOfTheFirstStart() throws {
        let helper = try HelperProcess(.eddsa)
        try helper.start()
        helper.stop()
        let me = UserDatabase.describe(uid: UInt32(geteuid()))
        let keyFile = try #require(try FileManager.default.contentsOfDirectory(atPath: helper.keyDirectory)
            .first { $0.allSatisfy(\.isNumber) })
        try FileSystem.changeMode(helper.keyDirectory, 0o750)
        try FileSystem.changeMode(helper.keyDirectory + "/" + keyFile, 0o640)
        let arguments = ["takeover", "-c", helper.configPath, "--eddsa-user", me, "--rsa-user", me, "--cs-user", me]
        let before = try OfflineRun.run(HelperProcess.binary("secmod"), arguments)
        #expect(before.status == 4, "\(before.output) \(before.stderr)")
        let lines = before.output.split(separator: "\n")
        #expect(lines.contains { $0.contains("fix:") && $0.contains(keyFile) && $0.contains("0640") }, "\(before.output)")
        #expect(lines.contains { $0.contains(FileSystem.tidyPath(helper.keyDirectory)) && $0.contains("0750") && $0.contains("0700") })
        #expect(try FileSystem.status(helper.keyDirectory).permissions == 0o750, "the check changed a mode")
        #expect(try FileSystem.status(helper.keyDirectory + "/" + keyFile).permissions == 0o640)

        try FileSystem.changeMode(helper.keyDirectory + "/" + keyFile, 0o400)
        let after = try OfflineRun.run(HelperProcess.binary("secmod"), arguments)
        #expect(after.status == 0, "\(after.output) \(after.stderr)")
        try helper.start()
        #expect(try FileSystem.status(helper.keyDirectory).permissions == 0o700)
        #expect(helper.stop() == 0)
    }

    /// Taler's test programs start helpers with `-c <relative> -L <level>` from their own
    /// directory (wire.md §13.1).
    @Test func relativeConfigPathAndTalerLogLevel() throws {
        let helper = try HelperProcess(.eddsa, transport: .stream)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: HelperProcess.binary("taler-exchange-secmod-eddsa"))
        p.arguments = ["-c", "helper.conf", "-L", "WARNING"] + HelperProcess.rootFlag
        p.currentDirectoryURL = URL(fileURLWithPath: helper.root)
        try p.run()
        defer { if p.isRunning { p.terminate(); p.waitUntilExit() } }
        let client = EddsaHelperClient(socketPath: helper.socketPath, transport: .stream)
        var connected = false
        for _ in 0..<200 where !connected {
            connected = (try? client.connect(timeout: .seconds(1))) != nil
            if !connected { usleep(20_000) }
        }
        #expect(connected)
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0 && p.terminationReason == .exit)
    }

    /// The socket is up within a second or two, before slow key generation finishes; clients
    /// that connect meanwhile get the dump once the first keys exist.
    @Test func socketIsUpBeforeKeyGenerationFinishes() throws {
        let helper = try HelperProcess(.rsa(denominations: [("coin_big", "1 minute", 4096)]), transport: .stream,
                                       lookahead: "3 minutes")
        try helper.start(waitForKeys: false)
        let start = Date()
        // The socket file appears at bind(), a moment before listen(): a connection refused
        // in between is retried, as Taler's client retries.
        var connected: RawStream?
        while connected == nil && Date().timeIntervalSince(start) < 60 {
            connected = try? RawStream(path: helper.socketPath)
            if connected == nil { usleep(10_000) }
        }
        // Up before the keys: the helper has not yet logged that its first keys exist.
        let raw = try #require(connected)  // accepted at once, answered when ready
        #expect(!helper.log.contains("keys ready"), "key generation finished too fast for this test to mean anything")
        let dump = try raw.messagesPatiently(until: [0, 4, 0, 10], seconds: 60)
        #expect(dump.count >= 2)
        // The line the negative check above looks for does exist: it was not reworded away.
        #expect(helper.waitForLog("keys ready"))
        #expect(helper.stop() == 0)
    }
}

/// Installed as `<prefix>/bin/<helper>`, a helper reads `<prefix>/share/taler/config.d/`
/// (wire.md §13.1), as Taler's test programs expect when they start it from there.
@Suite(.serialized) struct InstalledLayoutTests {
    @Test func helperFindsConfigDNextToItsBinDirectory() throws {
        let helper = try HelperProcess(.eddsa, transport: .stream)
        let prefix = helper.root + "/prefix"
        try FileManager.default.createDirectory(atPath: prefix + "/bin", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: prefix + "/share/taler/config.d", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: HelperProcess.binary("taler-exchange-secmod-eddsa"),
                                         toPath: prefix + "/bin/taler-exchange-secmod-eddsa")
        // A default only this installation has: the socket moves to a new place.
        let moved = helper.root + "/run/from-config-d.sock"
        try "[taler-exchange-secmod-eddsa]\nUNIXPATH = \(moved)\n".write(toFile: prefix + "/share/taler/config.d/site.conf",
                                                                       atomically: true, encoding: .utf8)
        // The test configuration names no UNIXPATH of its own.
        let config = try String(contentsOfFile: helper.configPath, encoding: .utf8)
        #expect(!config.contains("UNIXPATH"))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: prefix + "/bin/taler-exchange-secmod-eddsa")
        p.arguments = ["-c", helper.configPath, "-l", helper.logPath] + HelperProcess.rootFlag
        var environment = ProcessInfo.processInfo.environment
        environment["TALER_PREFIX"] = nil
        environment["TALER_BASE_CONFIG"] = nil
        p.environment = environment
        try p.run()
        defer { if p.isRunning { p.terminate(); p.waitUntilExit() } }
        let start = Date()
        while !FileManager.default.fileExists(atPath: moved) && Date().timeIntervalSince(start) < 10 { usleep(20_000) }
        #expect(FileManager.default.fileExists(atPath: moved), "log: \(helper.log)")
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
    }
}
