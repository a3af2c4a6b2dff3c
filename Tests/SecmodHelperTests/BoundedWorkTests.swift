import Foundation
import SecmodClient
import SecmodSystem
import SecmodWire
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// One session that pipelines requests cannot queue unbounded work ahead of everyone else:
/// at SESSION_MAX_INFLIGHT the helper stops reading it, its requests wait in its own socket
/// buffer, and another client is served meanwhile.
@Suite(.serialized) struct BoundedWorkTests {
    private func residentKiB(_ pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])!
    }

    /// 20 batches of 256 RSA-4096 signatures are several seconds of work for two workers.
    /// Unbounded, the helper would queue them all at once and a good client's signature would
    /// wait behind them; bounded, it waits behind at most two batches.
    @Test func aFloodingSessionDoesNotQueueAheadOfOthers() throws {
        let helper = try HelperProcess(.rsa(denominations: [("coin_f", "1 minute", 4096)]), config: """
            WORKERS = 2
            SESSION_MAX_INFLIGHT = 256
            SESSION_OUTBOX_MESSAGES = 32768
            SESSION_BLOCKED_TIMEOUT = 120 s
            """, lookahead: "30 s")  // RSA-4096 keys take seconds each: make few
        try helper.start()
        let good = try helper.rsaClient()
        let key = try #require(good.keys.first { $0.anchor.microseconds <= Clock.wallMicroseconds() })
        _ = try good.sign(hash: key.hash, blindedMessage: [1, 2, 3])
        let baseline = try residentKiB(helper.pid)

        let flood = try RawClient()
        _ = try flood.handshake(socketPath: helper.socketPath, initType: 4, syncedType: 10)
        let batch = RsaBatchSignRequest.encode(Array(repeating: RsaSignRequest.encode(hash: key.hash, blindedMessage: [UInt8](repeating: 9, count: 100)),
                                                     count: 256))
        let batches = 20
        let sender = try OSThread.start(name: "flood") {
            for _ in 0..<batches { try? flood.send(batch) }  // blocks while the helper does not read
        }
        // Once the first reply is out, the flood is being worked on: now the good client asks.
        _ = try #require(try flood.receive(seconds: 30), "no reply to the flood")
        let start = Date()
        _ = try good.sign(hash: key.hash, blindedMessage: [4, 5, 6], timeout: .seconds(60))
        let waited = Date().timeIntervalSince(start)
        #expect(waited < 5, "a good client waited \(waited) s behind one session's flood")
        #expect(try residentKiB(helper.pid) - baseline < 64 * 1024)
        // The flood is answered in full, in order.
        var answered = 1
        while answered < batches * 256, let reply = try flood.receive(seconds: 30) {
            if MessageHeader.peek(reply.bytes)?.type == RsaMessageType.signature { answered += 1 }
        }
        sender.join()
        #expect(answered == batches * 256)
        #expect(helper.stop() == 0)
    }

    /// SIGTERM with thousands of signatures queued: the helper drops them unsigned and
    /// exits at once instead of signing for seconds (systemd would kill it at 90 s and the
    /// clean-stop count would be lost), and the audit count is exactly what was made.
    @Test func stopDoesNotSignWhatIsQueued() throws {
        let helper = try HelperProcess(.rsa(denominations: [("coin_s", "1 minute", 4096)]), config: """
            WORKERS = 2
            SESSION_MAX_INFLIGHT = 100000
            SESSION_MAX_INFLIGHT_BYTES = 64 MiB
            SESSION_OUTBOX_MESSAGES = 32768
            """, lookahead: "30 s")
        try helper.start()
        let client = try helper.rsaClient()
        let key = try #require(client.keys.first { $0.anchor.microseconds <= Clock.wallMicroseconds() })
        let flood = try RawClient()
        _ = try flood.handshake(socketPath: helper.socketPath, initType: 4, syncedType: 10)
        let batch = RsaBatchSignRequest.encode(Array(repeating: RsaSignRequest.encode(hash: key.hash, blindedMessage: [UInt8](repeating: 9, count: 100)),
                                                     count: 256))
        for _ in 0..<30 { try flood.send(batch) }  // some 20 s of work for two workers
        _ = try #require(try flood.receive(seconds: 30), "no reply to the flood")
        let start = Date()
        #expect(helper.stop() == 0)
        let took = Date().timeIntervalSince(start)
        #expect(took < 8, "SIGTERM took \(took) s with work queued")
        var signed = 1
        // The end of the session: EOF, or ECONNRESET when the helper stopped with requests of
        // this session it had not read yet (the kernel resets a socket closed with unread
        // data; replies that leave as they are made bring the SIGTERM that early).
        func next() throws -> ReceivedDatagram? {
            do { return try flood.receive(seconds: 1) } catch let error as Errno where error.rawValue == ECONNRESET { return nil }
        }
        while let reply = try next(), !reply.bytes.isEmpty {
            if MessageHeader.peek(reply.bytes)?.type == RsaMessageType.signature { signed += 1 }
        }
        #expect(signed < 30 * 256, "everything was signed anyway")
        let run = GnunetReferee.run(HelperProcess.binary("secmod"), ["audit", "-c", helper.configPath, "--json"])
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [[String: Any]])
        let row = try #require(rows.first { $0["key"] as? String == CrockfordBase32.encode(key.hash) })
        // A clean stop writes the exact count of signatures made: all that went out, plus
        // any that were made but not sent (held behind a dropped reply of their batch, or
        // in the outbox of a client that did not read); never the dropped ones.
        let made = try #require(row["signatures"] as? Int)
        #expect(row["state"] as? String == "closed" && row["overcount_bound"] as? Int == 0, "\(row)")
        #expect(made >= signed && made < 30 * 256 / 2, "\(made) counted, \(signed) received")
    }
}

