import Foundation
import SecmodClient
import SecmodSystem
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What the helpers do for the service manager and against their own exposure.
@Suite(.serialized) struct ServiceTests {
    /// `Type=notify`: READY=1 once the socket is up, STOPPING=1 on SIGTERM, over
    /// `$NOTIFY_SOCKET` (a path here; systemd also uses abstract names, '@…').
    @Test func notifiesReadinessAndStopping() throws {
        let helper = try HelperProcess(.eddsa)
        let notifyPath = helper.root + "/notify.sock"
        let listener = try UnixSocket(.datagram)
        try listener.bind(to: UnixAddress(path: notifyPath))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: HelperProcess.binary("taler-exchange-secmod-eddsa"))
        p.arguments = ["-c", helper.configPath, "-l", helper.logPath] + HelperProcess.rootFlag
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = notifyPath
        p.environment = environment
        try p.run()
        defer { if p.isRunning { p.terminate(); p.waitUntilExit() } }
        func next() throws -> String? {
            var polls = PollSet()
            polls.add(listener.rawValue, .readable)
            guard try polls.wait(timeoutMilliseconds: 10_000) > 0 else { return nil }
            return try listener.receive(capacity: 4096).map { String(decoding: $0.bytes, as: UTF8.self) }
        }
        let ready = try #require(try next())
        #expect(ready.split(separator: "\n").contains("READY=1"))
        #expect(FileManager.default.fileExists(atPath: helper.socketPath), "READY=1 before the socket was up")
        kill(p.processIdentifier, SIGTERM)
        #expect(try next() == "STOPPING=1")
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
    }

    /// No core dumps: a crash must not write key material to disk.
    @Test func coreDumpsAreOff() throws {
        let helper = try HelperProcess(.eddsa)
        try helper.start()
        let limits = try String(contentsOfFile: "/proc/\(helper.pid)/limits", encoding: .utf8)
        let line = try #require(limits.split(separator: "\n").first { $0.hasPrefix("Max core file size") })
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        #expect(fields.count >= 6 && fields[4] == "0" && fields[5] == "0", "\(line)")
        #expect(helper.stop() == 0)
    }

    /// `PrivateNetwork=yes` in the units: in a network namespace of its own the helper still
    /// serves clients outside it, on both transports, since it reaches them only through
    /// its socket file and the socket pairs they pass it (no abstract name is involved).
    @Test(.enabled(if: geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare"),
                   "needs root and unshare(1) for a network namespace"),
          arguments: [HelperTransport.datagram, .stream])
    func servesClientsFromANetworkNamespaceOfItsOwn(transport: HelperTransport) throws {
        let helper = try HelperProcess(.eddsa, transport: transport)
        try helper.start(wrapper: ["/usr/bin/unshare", "--net"])
        // unshare(1) without --fork execs the helper in place: the process is the helper.
        let helperNamespace = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(helper.pid)/ns/net")
        let testNamespace = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/net")
        #expect(helperNamespace != testNamespace, "the helper is not in a network namespace of its own")
        let client = try helper.client()
        for i in 0..<3 { _ = try client.sign(purpose: 1234, body: [UInt8(i)]) }
        #expect(helper.stop() == 0)
    }
}

