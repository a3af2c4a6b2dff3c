import Foundation
import SecmodClient
import SecmodSystem
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What an operator watching a helper relies on: logrotate's SIGHUP, journald's priorities,
/// and a word when secrets cannot be locked in memory.
@Suite struct OperatorLoggingTests {
    private static func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? -1
    }

    private static func waitUntil(seconds: Double = 10, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    /// logrotate renames the file and sends SIGHUP: the helper keeps serving and writes its
    /// next lines to a new file at the configured path, none to the renamed one.
    @Test func sighupReopensTheLogFile() throws {
        let helper = try HelperProcess(.eddsa)
        try helper.start()
        let rotated = helper.logPath + ".1"
        try FileManager.default.moveItem(atPath: helper.logPath, toPath: rotated)
        kill(helper.pid, SIGHUP)
        #expect(Self.waitUntil { Self.size(helper.logPath) > 0 }, "no new log file after SIGHUP")
        let rotatedSize = Self.size(rotated)
        let freshSize = Self.size(helper.logPath)
        // A session that opens, signs and closes logs at INFO (the tests run -L INFO).
        let client = try helper.client()
        _ = try client.sign(purpose: 1234, body: [7])
        client.disconnect()
        #expect(Self.waitUntil { Self.size(helper.logPath) > freshSize }, "nothing logged to the new file")
        #expect(Self.size(rotated) == rotatedSize, "lines still went to the rotated file")
        #expect(helper.isRunning)
        #expect(helper.stop() == 0)
    }

    /// Runs the helper with standard error on `stderrPath` and JOURNAL_STREAM set to
    /// `journalStream`, and returns its lines once it has logged that it listens.
    private func linesWithJournalStream(_ journalStream: (String) -> String) throws -> [String] {
        let helper = try HelperProcess(.eddsa)
        let stderrPath = helper.root + "/stderr"
        #expect(FileManager.default.createFile(atPath: stderrPath, contents: nil))
        var st = stat()
        #expect(stat(stderrPath, &st) == 0)
        let value = journalStream("\(st.st_dev):\(st.st_ino)")
        let p = try ChildProcess.spawn("/bin/sh", arguments: ["-c", "exec \"$@\" 2>>'\(stderrPath)'", "sh",
                                                              HelperProcess.binary("taler-exchange-secmod-eddsa"),
                                                              "-c", helper.configPath, "-L", "INFO"] + HelperProcess.rootFlag,
                                       overriding: ["JOURNAL_STREAM": value], discardOutput: true)
        defer { p.signal(SIGTERM); p.wait() }
        let socket = FileSystem.tidyPath(helper.socketPath)
        #expect(Self.waitUntil(seconds: 20) { FileManager.default.fileExists(atPath: socket) })
        #expect(Self.waitUntil { (try? String(contentsOfFile: stderrPath, encoding: .utf8))?.contains(socket) ?? false })
        return ((try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Standard error is the journal: every line is `<N>message` with N the syslog priority
    /// (5 for MESSAGE, 6 for INFO), and carries no timestamp of its own.
    @Test func journalLinesCarryPriorities() throws {
        let lines = try linesWithJournalStream { $0 }
        #expect(!lines.isEmpty)
        for line in lines where !line.hasPrefix("Warning: using insecure memory") {
            #expect(line.range(of: "^<[0-7]>", options: .regularExpression) != nil, "\(line)")
            #expect(line.range(of: "^<[0-7]>[0-9]{4}-", options: .regularExpression) == nil, "\(line)")
        }
        #expect(lines.contains { $0.hasPrefix("<5>") })  // the listening line is MESSAGE
    }

    /// JOURNAL_STREAM naming another file (inherited by a child of a journal-logged service,
    /// its standard error redirected): the usual timestamped lines.
    @Test func anotherStreamIsNotTheJournal() throws {
        let lines = try linesWithJournalStream { "\($0)1" }
        #expect(!lines.isEmpty)
        #expect(lines.allSatisfy { !$0.hasPrefix("<") })
        #expect(lines.contains { $0.range(of: "^[0-9]{4}-[0-9]{2}-[0-9]{2}T", options: .regularExpression) != nil })
    }

    /// No CAP_IPC_LOCK and RLIMIT_MEMLOCK 0: the helper serves (libsodium and libgcrypt fall
    /// back to unlocked memory) and warns, naming the unit setting to raise.
    @Test(.disabled(if: ProcessInfo.processInfo.environment["SECMOD_SANITIZER"] != nil,
                    "the sanitizers' runtimes turn mlock into a no-op, so locking never fails"))
    func unlockableMemoryIsNamed() throws {
        let helper = try HelperProcess(.eddsa)
        try helper.start(wrapper: ["/usr/bin/setpriv", "--bounding-set=-ipc_lock", "/usr/bin/prlimit", "--memlock=0:0", "--"])
        #expect(helper.log.split(separator: "\n").contains { $0.contains(" WARNING ") && $0.contains("LimitMEMLOCK") })
        #expect(helper.stop() == 0)

        let normal = try HelperProcess(.eddsa)
        try normal.start()
        #expect(!normal.log.contains("LimitMEMLOCK"))
        #expect(normal.stop() == 0)
    }

    /// Key rotation shows at Taler's default level: at `-L MESSAGE` the first key's creation
    /// and its expiry are logged, each naming its anchor as a UTC ISO 8601 time.
    @Test func keyRotationIsLoggedAtMessageLevel() throws {
        let helper = try HelperProcess(.eddsa, duration: "2 s", overlap: "1 s", lookahead: "6 s")
        try helper.start(arguments: ["-L", "MESSAGE"])
        let first = try #require(try helper.client().keys.first)
        let iso = CalendarTime.isoUTC(seconds: Int64(first.anchor.seconds))
        let mentions = { helper.log.split(separator: "\n").filter { $0.contains(" MESSAGE ") && $0.contains(iso) }.count }
        #expect(Self.waitUntil(seconds: 15) { mentions() >= 2 }, "created and expired lines for \(iso): \(helper.log)")
        #expect(!helper.log.contains(" INFO "))
        #expect(helper.stop() == 0)
    }
}
