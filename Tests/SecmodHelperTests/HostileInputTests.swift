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

/// Bad input, vanished and stalled clients: the helper answers what it can, drops the
/// rest, and keeps serving everyone else.
@Suite(.serialized) struct HostileInputTests {
    static let okPurpose: [UInt8] = [0, 0, 0, 8, 0, 0, 0, 0]

    /// Sends `request` on a session and returns the reply (nil if none within `seconds`).
    func reply(_ raw: RawClient, to request: [UInt8], seconds: Double = 1) throws -> [UInt8]? {
        try raw.send(request)
        return try raw.receive(seconds: seconds)?.bytes
    }

    @Test func malformedRequestsGetCode26OrAreDropped() throws {
        let helper = try HelperProcess()
        try helper.start()
        let raw = try RawClient()
        _ = try raw.handshake(socketPath: helper.socketPath)
        let failure26: [UInt8] = [0, 8, 0, 18, 0, 0, 0, 26]
        // Wrong fixed size: SIGN shorter than 16 bytes, REVOKE not 40 bytes.
        #expect(try reply(raw, to: [0, 12, 0, 15, 0, 0, 0, 0, 0, 0, 0, 8]) == failure26)
        #expect(try reply(raw, to: [0, 8, 0, 16, 0, 0, 0, 0]) == failure26)
        // Purpose size disagreeing with the message (wire.md §5.3).
        #expect(try reply(raw, to: [0, 16, 0, 15, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0]) == failure26)
        // Dropped, no reply: size mismatch, truncated header, unknown type, helper-bound types, INIT on a session.
        for bad: [UInt8] in [[0, 99, 0, 15, 0, 0, 0, 0], [0, 4], [0, 4, 0x12, 0x34], [0, 4, 0, 19],
                             Array(repeating: 0, count: 152).enumerated().map { $0.offset == 1 ? 152 : $0.offset == 3 ? 12 : $0.element },
                             [0, 4, 0, 14]] {
            #expect(try reply(raw, to: bad, seconds: 0.2) == nil, "expected no reply to \(bad.prefix(4))")
        }
        // 65535 bytes of garbage, and an oversize datagram.
        #expect(try reply(raw, to: [UInt8](repeating: 0xff, count: 65535), seconds: 0.2) == nil)
        #expect(try reply(raw, to: [UInt8](repeating: 0x41, count: 100_000), seconds: 0.2) == nil)
        // Still serving, on the same session.
        let sign = EddsaSignRequest.encode(purposeBytes: Self.okPurpose)
        let good = try #require(try reply(raw, to: sign, seconds: 5))
        #expect(good.count == 104 && good[3] == 17)
        #expect(helper.isRunning)
        #expect(helper.log.contains("dropped"))
        #expect(helper.stop() == 0)
    }

    @Test func randomDatagramsNeverStopTheHelper() throws {
        let helper = try HelperProcess()
        try helper.start()
        let raw = try RawClient()
        _ = try raw.handshake(socketPath: helper.socketPath)
        var generator = SystemRandomNumberGenerator()
        for i in 0..<4000 {
            var bytes = randomBytes(Int.random(in: 0...300, using: &generator))
            // Half of them get a plausible header, so decoding gets exercised past the length check.
            if i % 2 == 0, bytes.count >= 4 {
                bytes[0] = UInt8(bytes.count >> 8); bytes[1] = UInt8(bytes.count & 0xff)
                bytes[2] = 0; bytes[3] = UInt8.random(in: 10...20, using: &generator)
                if bytes[3] == 16 { bytes[3] = 17 }  // no random revocations of real keys
            }
            try raw.send(bytes)
            while try raw.receive(seconds: 0) != nil {}
        }
        // Also at the main socket, which takes only INIT.
        let other = try RawClient()
        for _ in 0..<200 { try other.send(randomBytes(Int.random(in: 0...64)), to: helper.socketPath) }
        #expect(helper.isRunning)
        let client = try helper.client()
        _ = try client.sign(purposeBytes: Self.okPurpose)
        #expect(helper.stop() == 0)
    }

    @Test func vanishedClientIsDropped() throws {
        let helper = try HelperProcess()
        try helper.start()
        do {
            let raw = try RawClient()
            _ = try raw.handshake(socketPath: helper.socketPath)
        }  // the client's end of the session closes here: the helper sees POLLHUP at once
        #expect(helper.waitForLog("closed: client closed its session"))
        _ = try helper.client().sign(purposeBytes: Self.okPurpose)
        #expect(helper.stop() == 0)
    }

    @Test func clientThatStopsReadingIsDroppedAndOthersAreServed() throws {
        let helper = try HelperProcess(config: """
            SESSION_OUTBOX_MESSAGES = 256
            SESSION_BLOCKED_TIMEOUT = 8 s
            SESSION_SNDBUF = 64 KiB
            """)
        try helper.start()
        let stalled = try RawClient()
        _ = try stalled.handshake(socketPath: helper.socketPath)
        let good: EddsaHelperClient
        do { good = try helper.client() } catch {
            Issue.record("second client failed: \(error); helper running: \(helper.isRunning); log:\n\(helper.log)")
            return
        }
        let sign = EddsaSignRequest.encode(purposeBytes: Self.okPurpose)
        // The stalled client floods requests and never reads a reply, while a good client
        // keeps signing; every one of its signatures must come back promptly.
        var slowest = 0.0
        for round in 0..<40 {
            for _ in 0..<50 { _ = try? stalled.sendNow(sign) }
            let start = Date()
            do { _ = try good.sign(purposeBytes: Self.okPurpose, timeout: .seconds(20)) } catch {
                Issue.record("round \(round): \(error); helper running: \(helper.isRunning); log:\n\(helper.log)")
                return
            }
            slowest = max(slowest, Date().timeIntervalSince(start))
            if round % 10 == 0 { usleep(50_000) }
        }
        // Held up until the stalled client's session closes, it would wait SESSION_BLOCKED_TIMEOUT.
        #expect(slowest < 5, "a stalled client delayed another one by \(slowest) s")
        #expect(helper.waitForLog("the client does not read"))
        // The dropped session's socket is really closed: the stalled client is told so
        // (EPIPE on a socket pair whose other end is gone).
        let closedErrors = [Errno(EPIPE), Errno(ECONNRESET)]
        var outcome: Errno?
        let deadline = Date().addingTimeInterval(5)
        while outcome.map(closedErrors.contains) != true && Date() < deadline {
            do { _ = try stalled.sendNow(sign) } catch let e as Errno { outcome = e }
            usleep(10_000)
        }
        #expect(outcome.map(closedErrors.contains) == true, "the dropped session's socket stayed open: \(String(describing: outcome))")
        #expect(helper.isRunning)
        #expect(helper.stop() == 0)
    }

    @Test func deadlinesTurnASilentHelperIntoATimeout() throws {
        // A socket that takes INIT but never answers.
        let dir = FileManager.default.temporaryDirectory.path + "/secmod-silent-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let silent = try UnixSocket(.datagram)
        try silent.bind(to: UnixAddress(path: dir + "/server.sock"))
        let client = EddsaHelperClient(socketPath: dir + "/server.sock")
        let start = Date()
        #expect(throws: SecmodError.self) { try client.connect(timeout: .seconds(0.5)) }
        #expect(Date().timeIntervalSince(start) < 5, "a 0.5 s deadline was not kept")
        // And a helper that is not there at all is "unavailable" at once.
        let absent = EddsaHelperClient(socketPath: dir + "/nothing.sock")
        do throws(SecmodError) { try absent.connect(timeout: .seconds(5)); Issue.record("connected to nothing") } catch {
            #expect(error.code == .unavailable)
        }
    }
}

/// Start-up problems are clear errors with GNUnet exit codes; nothing is replaced.
@Suite(.serialized) struct StartupErrorTests {
    @Test func corruptModuleKeyIsRefusedNotReplaced() throws {
        let helper = try HelperProcess()
        try FileManager.default.createDirectory(atPath: (helper.securityModuleKeyPath as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try Data(repeating: 7, count: 31).write(to: URL(fileURLWithPath: helper.securityModuleKeyPath))
        try FileSystem.changeMode(helper.securityModuleKeyPath, 0o400)
        #expect(try helper.runExpectingExit() == 1)
        #expect(helper.log.contains("has 31 bytes"))
        #expect(try FileSystem.status(helper.securityModuleKeyPath).size == 31)
    }

    @Test func looseModuleKeyPermissionsAreRefused() throws {
        let helper = try HelperProcess()
        try helper.start()
        #expect(helper.stop() == 0)
        try FileSystem.changeMode(helper.securityModuleKeyPath, 0o644)
        #expect(try helper.runExpectingExit() == 4)
        #expect(helper.log.contains("chmod 0400"))
    }

    @Test func unknownOptionNamesFileLineAndOption() throws {
        let helper = try HelperProcess(config: "LOOKAHEAD_SIGNN = 1 year")
        #expect(try helper.runExpectingExit() == 6)
        #expect(helper.log.contains("helper.conf:"))
        #expect(helper.log.contains("LOOKAHEAD_SIGNN"))
    }

    @Test func badlyTypedValueNamesFileLineAndOption() throws {
        let helper = try HelperProcess(duration: "5 parsecs")
        #expect(try helper.runExpectingExit() == 6)
        #expect(helper.log.contains("helper.conf:"))
        #expect(helper.log.contains("DURATION"))
    }

    @Test func overlongSocketPathIsRefused() throws {
        let helper = try HelperProcess(config: "UNIXPATH = /tmp/" + String(repeating: "x", count: 120))
        #expect(try helper.runExpectingExit() == 6)
        #expect(helper.log.contains("at most 107"))
    }

    @Test func secondHelperOnTheSameSocketIsRefused() throws {
        let helper = try HelperProcess()
        try helper.start()
        // A second helper with its own key store (else its lock stops it first) on the same socket.
        let second = try HelperProcess(config: "UNIXPATH = \(helper.socketPath)")
        #expect(try second.runExpectingExit() == 1)
        #expect(second.log.contains("another process is serving"))
        #expect(helper.isRunning)
        _ = try helper.client().sign(purposeBytes: [0, 0, 0, 8, 0, 0, 0, 0])
        #expect(helper.stop() == 0)
    }

    @Test func badArgumentsExitTwo() throws {
        let helper = try HelperProcess()
        #expect(try helper.runExpectingExit(arguments: ["--bogus"]) == 2)
        #expect(try helper.runExpectingExit(arguments: ["-w", "many"]) == 2)
    }
}

/// Replies to one client leave in the order of its requests, even though two workers sign
/// them and may finish out of order.
@Suite(.serialized) struct ReplyOrderTests {
    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let helper = try HelperProcess(config: "WORKERS = 4")
        try helper.start()
        let raw = try RawClient()
        _ = try raw.handshake(socketPath: helper.socketPath)
        let purposes = (0..<200).map { i in EddsaSignRequest.purposeBytes(purpose: 0, body: randomBytes(i * 37 % 500)) }
        for p in purposes { try raw.send(EddsaSignRequest.encode(purposeBytes: p)) }
        for (i, p) in purposes.enumerated() {
            let reply = try #require(try raw.receive(seconds: 5), "reply \(i) missing")
            let sig = try EddsaSignature.decode(reply.bytes)
            #expect(Ed25519.verify(signature: sig.signature, message: p, publicKey: sig.publicKey), "reply \(i) out of order")
        }
        #expect(helper.stop() == 0)
    }
}
