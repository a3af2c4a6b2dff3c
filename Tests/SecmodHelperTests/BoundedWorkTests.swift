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
@Suite struct BoundedWorkTests {
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
            """)
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
        _ = try good.sign(hash: key.hash, blindedMessage: [4, 5, 6], timeout: 60)
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
}
